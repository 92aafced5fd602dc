//! mstsc / MsTscAx `discReason` (IMsTscAxEvents::OnDisconnected, DisconnectReasonCode in the
//! MsTscAx type library). mstsc shows it as "Error code: 0x…"; the client event 1026
//! (Microsoft-Windows-TerminalServices-RDPClient/Operational) records it in decimal.
//!
//! Do not describe unknown values with a "low byte = category" pattern: documented codes
//! contradict it (0x106/0x206/0x306 are all out-of-memory, 0x208/0x308/0x508 host/IP/DNS).

use crate::{code, CodeEntry, Family};

const SRC: &str = "IMsTscAxEvents::OnDisconnected (win32 docs); MsTscAx.h DisconnectReasonCode";
const SRC_1026: &str = "seen in RDPClient event 1026 only; no primary source";
const SRC_LIST: &str = "seen in third-party code lists only; no primary source";

const fn d(value: u32, name: &'static str, meaning: &'static str) -> CodeEntry {
    CodeEntry::new(Family::Disconnect, value, name, meaning, SRC)
}

const fn undocumented(value: u32, source: &'static str, note: &'static str) -> CodeEntry {
    CodeEntry {
        documented: false,
        note,
        ..CodeEntry::new(
            Family::Disconnect,
            value,
            "",
            "Undocumented: no Microsoft source gives a name or meaning for this value.",
            source,
        )
    }
}

pub const TABLE: &[CodeEntry] = &[
    d(0x0, "disconnectReasonNoInfo", "No information is available."),
    d(0x1, "disconnectReasonLocalNotError", "The local user disconnected; not an error."),
    d(0x2, "disconnectReasonRemoteByUser", "The remote user disconnected; not an error."),
    CodeEntry {
        note: "The server ended the connection without giving a reason. Read the extended code: \
               with extended 0x0 there is no information in the code at all, only server logs help.",
        ..d(0x3, "disconnectReasonByServer", "The server disconnected; not an error in itself.")
    },
    d(0x104, "disconnectReasonDNSLookupFailed", "The host name could not be resolved (DNS)."),
    d(0x106, "disconnectReasonOutOfMemory", "The client ran out of memory."),
    d(0x108, "disconnectReasonConnectionTimedOut", "The connection attempt timed out."),
    CodeEntry {
        note: "TCP never got through: firewall or network profile, RDP disabled or the listener \
               down, wrong host or port, host off.",
        ..d(0x204, "disconnectReasonSocketConnectFailed", "The TCP connection could not be opened (Winsock connect() failed).")
    },
    d(0x206, "disconnectReasonOutOfMemory2", "The client ran out of memory."),
    d(0x208, "disconnectReasonHostNotFound", "The host was not found."),
    d(0x304, "disconnectReasonWinsockSendFailed", "Sending on the socket failed (Winsock send())."),
    d(0x306, "disconnectReasonOutOfMemory3", "The client ran out of memory."),
    d(0x308, "disconnectReasonInvalidIPAddr", "The IP address is not valid."),
    d(0x404, "disconnectReasonSocketRecvFailed", "Receiving on the socket failed (Winsock recv())."),
    d(0x406, "disconnectReasonInvalidSecurityData", "The security data is not valid."),
    CodeEntry {
        note: "\"An internal error has occurred\" is also the text mstsc shows for codes it has no \
               text for, so the message alone is not a diagnosis.",
        ..d(0x408, "disconnectReasonInternalError", "An internal error occurred in the client.")
    },
    d(0x506, "disconnectReasonInvalidEncryption", "The encryption method is not valid."),
    d(0x508, "disconnectReasonDNSLookupFailed2", "The host name could not be resolved (DNS)."),
    d(0x604, "disconnectReasonGetHostByNameFailed", "Name resolution failed (gethostbyname)."),
    d(0x606, "disconnectReasonInvalidServerSecurityInfo", "The server's security data is not valid."),
    d(0x608, "disconnectReasonTimerError", "An internal timer error occurred."),
    d(0x704, "disconnectReasonTimeoutOccurred", "A time-out occurred."),
    d(0x706, "disconnectReasonServerCertificateUnpackErr", "The server certificate could not be unpacked."),
    d(0x804, "disconnectReasonInvalidIP", "The IP address is bad."),
    CodeEntry {
        see_also: &[code(Family::Ntstatus, 0xC000_006D), code(Family::Ntstatus, 0xC000_006A)],
        ..d(0x807, "SSL_ERR_LOGON_FAILURE", "The logon failed (wrong user name or password).")
    },
    CodeEntry {
        see_also: &[code(Family::Errinfo, 0x100)],
        ..d(0x808, "disconnectReasonLicensingFailed", "License negotiation failed.")
    },
    CodeEntry {
        note: "Documented only as \"socket closed\": the TCP stream ended under the client. That \
               the server closed it is an inference; a firewall, IPS, load balancer, tunnel or \
               gateway that closes or resets the connection raises the same code.",
        ..d(0x904, "disconnectReasonAtClientWinsockFDCLOSE", "The socket was closed (Winsock FD_CLOSE): the connection ended from the far side.")
    },
    d(0x906, "disconnectReasonInternalSecurityError", "An internal security error occurred."),
    d(0x908, "disconnectReasonLicensingTimeout", "License negotiation timed out."),
    d(0xA06, "disconnectReasonInternalSecurityError2", "An internal security error occurred."),
    CodeEntry {
        see_also: &[code(Family::Ntstatus, 0xC000_0064)],
        ..d(0xA07, "SSL_ERR_NO_SUCH_USER", "The user has no account.")
    },
    d(0xB06, "disconnectReasonEncryptionError", "An encryption error occurred."),
    CodeEntry {
        see_also: &[code(Family::Ntstatus, 0xC000_0072)],
        ..d(0xB07, "SSL_ERR_ACCOUNT_DISABLED", "The account is disabled.")
    },
    d(0xC06, "disconnectReasonDecryptionError", "A decryption error occurred."),
    CodeEntry {
        note: "Documented as \"The account is restricted.\"; logon hours have their own NTSTATUS \
               (0xC000006F).",
        see_also: &[code(Family::Ntstatus, 0xC000_006E)],
        ..d(0xC07, "SSL_ERR_ACCOUNT_RESTRICTION", "The account is restricted.")
    },
    d(0xC08, "disconnectReasonClientDecompressionError", "The client failed to decompress data."),
    CodeEntry {
        see_also: &[code(Family::Ntstatus, 0xC000_0234)],
        ..d(0xD07, "SSL_ERR_ACCOUNT_LOCKED_OUT", "The account is locked out.")
    },
    CodeEntry {
        see_also: &[code(Family::Ntstatus, 0xC000_0193)],
        ..d(0xE07, "SSL_ERR_ACCOUNT_EXPIRED", "The account has expired.")
    },
    CodeEntry {
        see_also: &[code(Family::Ntstatus, 0xC000_0071)],
        ..d(0xF07, "SSL_ERR_PASSWORD_EXPIRED", "The password has expired.")
    },
    CodeEntry {
        see_also: &[code(Family::Ntstatus, 0xC000_0224)],
        ..d(0x1207, "SSL_ERR_PASSWORD_MUST_CHANGE", "The password must be changed before the first logon.")
    },
    d(0x1607, "SSL_ERR_DELEGATION_POLICY", "Policy does not allow credentials to be delegated to this server."),
    d(0x1707, "SSL_ERR_POLICY_NTLM_ONLY", "Policy does not allow delegation without mutual authentication (only NTLM was available)."),
    CodeEntry {
        see_also: &[code(Family::Ntstatus, 0xC000_005E), code(Family::Ntstatus, 0xC000_018D)],
        ..d(0x1807, "SSL_ERR_NO_AUTHENTICATING_AUTHORITY", "No authority (domain controller / KDC) could be reached to authenticate, or a trust failed.")
    },
    d(0x1B07, "SSL_ERR_CERT_EXPIRED", "The received certificate has expired."),
    d(0x1C07, "SSL_ERR_SMARTCARD_WRONG_PIN", "The smart-card PIN is wrong."),
    CodeEntry {
        see_also: &[code(Family::Errinfo, 0xA)],
        ..d(0x2107, "SSL_ERR_FRESH_CRED_REQUIRED_BY_SERVER", "The server does not accept saved credentials; they must be typed.")
    },
    d(0x2207, "SSL_ERR_SMARTCARD_CARD_BLOCKED", "The smart card is blocked."),
    // Values seen in the wild without a primary source.
    undocumented(0x907, SRC_1026, "Seen as Reason=2311 in client event 1026. Quote the event's own \
        `Name` text, which is Windows' description of it."),
    undocumented(0xA04, SRC_LIST, "Listed in third-party disconnect-code lists without a meaning."),
    undocumented(0xB04, SRC_LIST, "Listed in third-party disconnect-code lists without a meaning."),
    undocumented(0xB08, SRC_LIST, "Listed in third-party disconnect-code lists without a meaning."),
    undocumented(0xB09, SRC_1026, "Seen as Reason=2825 in client event 1026; secondary notes tie it \
        to an NLA / security-layer mismatch (unverified). Quote the event's own `Name` text."),
    undocumented(0xC04, SRC_LIST, "Listed in third-party disconnect-code lists without a meaning."),
    undocumented(0xE06, SRC_1026, "Seen as Reason=3590 in client event 1026; secondary notes tie it \
        to a FIPS-only encryption level on the server (unverified). Quote the event's own `Name` text."),
    undocumented(0x1D07, SRC_1026, "Seen as Reason=7431 in client event 1026 near certificate errors \
        (unverified). Quote the event's own `Name` text."),
];
