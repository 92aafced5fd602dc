//! FreeRDP, for Linux / macOS users of `xfreerdp` / `sdl-freerdp`. Two tables under one family,
//! told apart by `group` and by their names:
//!
//! * connect error codes (`ERRCONNECT_*`, FreeRDP `include/freerdp/error.h`), which FreeRDP logs
//!   as class 2 of its error numbering: `0x0002xxxx` (e.g. `ERRCONNECT_CONNECT_TRANSPORT_FAILED
//!   [0x0002000D]`). The `FREERDP_ERROR_*` macro names are aliases.
//! * the `xfreerdp` process exit codes (`XF_EXIT_*`, `client/X11/xfreerdp.h`), 0–255.
//!
//! Set Error Info codes appear in FreeRDP's log as class 1, `0x0001xxxx`: `explain` decodes those
//! through the ERRINFO table.

use crate::{CodeEntry, CodeRef, Family};

const SRC_CONNECT: &str = "FreeRDP include/freerdp/error.h, libfreerdp/core/errconnect.c";
const SRC_EXIT: &str = "FreeRDP client/X11/xfreerdp.h (enum XF_EXIT_CODE)";

pub const GROUP_CONNECT: &str = "connect error (0x0002xxxx)";
pub const GROUP_EXIT: &str = "xfreerdp exit code";

const C: u32 = 0x0002_0000;

const fn c(
    low: u32,
    name: &'static str,
    alias: &'static [&'static str],
    meaning: &'static str,
) -> CodeEntry {
    CodeEntry {
        aliases: alias,
        group: GROUP_CONNECT,
        ..CodeEntry::new(Family::Freerdp, C | low, name, meaning, SRC_CONNECT)
    }
}

const fn x(value: u32, name: &'static str, meaning: &'static str) -> CodeEntry {
    CodeEntry {
        group: GROUP_EXIT,
        ..CodeEntry::new(Family::Freerdp, value, name, meaning, SRC_EXIT)
    }
}

const fn xe(
    value: u32,
    name: &'static str,
    meaning: &'static str,
    errinfo: &'static [CodeRef],
) -> CodeEntry {
    CodeEntry {
        see_also: errinfo,
        ..x(value, name, meaning)
    }
}

/// The Set Error Info code (or, for 8, the extended reason) an exit code stands for.
const fn ei(v: u32) -> &'static [CodeRef] {
    match super::errinfo_ref(v) {
        [] => super::extended_ref(v),
        found => found,
    }
}

pub const TABLE: &[CodeEntry] = &[
    // Connect error codes, class 2.
    c(0x01, "ERRCONNECT_PRE_CONNECT_FAILED", &["FREERDP_ERROR_PRE_CONNECT_FAILED"], "The client's pre-connect step failed (settings or channel set-up, before any network traffic)."),
    c(0x02, "ERRCONNECT_CONNECT_UNDEFINED", &["FREERDP_ERROR_CONNECT_UNDEFINED"], "The connection failed for an unspecified reason."),
    c(0x03, "ERRCONNECT_POST_CONNECT_FAILED", &["FREERDP_ERROR_POST_CONNECT_FAILED"], "The client's post-connect step failed (after the connection was set up)."),
    c(0x04, "ERRCONNECT_DNS_ERROR", &["FREERDP_ERROR_DNS_ERROR"], "Name resolution failed."),
    c(0x05, "ERRCONNECT_DNS_NAME_NOT_FOUND", &["FREERDP_ERROR_DNS_NAME_NOT_FOUND"], "The host name does not exist in DNS."),
    c(0x06, "ERRCONNECT_CONNECT_FAILED", &["FREERDP_ERROR_CONNECT_FAILED"], "The TCP connection could not be opened."),
    c(0x07, "ERRCONNECT_MCS_CONNECT_INITIAL_ERROR", &["FREERDP_ERROR_MCS_CONNECT_INITIAL_ERROR"], "The server rejected or did not answer the MCS Connect Initial."),
    c(0x08, "ERRCONNECT_TLS_CONNECT_FAILED", &["FREERDP_ERROR_TLS_CONNECT_FAILED"], "The TLS handshake failed (also used for RDP_NEG_FAILURE SSL_CERT_NOT_ON_SERVER)."),
    c(0x09, "ERRCONNECT_AUTHENTICATION_FAILED", &["FREERDP_ERROR_AUTHENTICATION_FAILED"], "Authentication failed (the catch-all for NTSTATUS values FreeRDP does not map)."),
    c(0x0A, "ERRCONNECT_INSUFFICIENT_PRIVILEGES", &["FREERDP_ERROR_INSUFFICIENT_PRIVILEGES"], "The user lacks the privileges to connect."),
    c(0x0B, "ERRCONNECT_CONNECT_CANCELLED", &["FREERDP_ERROR_CONNECT_CANCELLED"], "The connection was cancelled."),
    c(0x0C, "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED", &["FREERDP_ERROR_SECURITY_NEGO_CONNECT_FAILED"], "Security protocol negotiation failed (no protocol both sides accept)."),
    c(0x0D, "ERRCONNECT_CONNECT_TRANSPORT_FAILED", &["FREERDP_ERROR_CONNECT_TRANSPORT_FAILED"], "The transport (TCP, TLS or gateway) failed during the connection."),
    c(0x0E, "ERRCONNECT_PASSWORD_EXPIRED", &["FREERDP_ERROR_CONNECT_PASSWORD_EXPIRED"], "The password has expired."),
    c(0x0F, "ERRCONNECT_PASSWORD_CERTAINLY_EXPIRED", &["FREERDP_ERROR_CONNECT_PASSWORD_CERTAINLY_EXPIRED"], "The password has expired (confirmed by the server)."),
    c(0x10, "ERRCONNECT_CLIENT_REVOKED", &["FREERDP_ERROR_CONNECT_CLIENT_REVOKED"], "The client's credentials were revoked."),
    c(0x11, "ERRCONNECT_KDC_UNREACHABLE", &["FREERDP_ERROR_CONNECT_KDC_UNREACHABLE"], "No Kerberos KDC could be reached."),
    c(0x12, "ERRCONNECT_ACCOUNT_DISABLED", &["FREERDP_ERROR_CONNECT_ACCOUNT_DISABLED"], "The account is disabled."),
    c(0x13, "ERRCONNECT_PASSWORD_MUST_CHANGE", &["FREERDP_ERROR_CONNECT_PASSWORD_MUST_CHANGE"], "The password must be changed before logging on."),
    c(0x14, "ERRCONNECT_LOGON_FAILURE", &["FREERDP_ERROR_CONNECT_LOGON_FAILURE"], "The logon failed (unknown user or bad password)."),
    c(0x15, "ERRCONNECT_WRONG_PASSWORD", &["FREERDP_ERROR_CONNECT_WRONG_PASSWORD"], "The password is wrong."),
    c(0x16, "ERRCONNECT_ACCESS_DENIED", &["FREERDP_ERROR_CONNECT_ACCESS_DENIED"], "Access was denied (also the Early User Authorization Result ACCESS_DENIED)."),
    c(0x17, "ERRCONNECT_ACCOUNT_RESTRICTION", &["FREERDP_ERROR_CONNECT_ACCOUNT_RESTRICTION"], "An account restriction prevents the logon."),
    c(0x18, "ERRCONNECT_ACCOUNT_LOCKED_OUT", &["FREERDP_ERROR_CONNECT_ACCOUNT_LOCKED_OUT"], "The account is locked out."),
    c(0x19, "ERRCONNECT_ACCOUNT_EXPIRED", &["FREERDP_ERROR_CONNECT_ACCOUNT_EXPIRED"], "The account has expired."),
    c(0x1A, "ERRCONNECT_LOGON_TYPE_NOT_GRANTED", &["FREERDP_ERROR_CONNECT_LOGON_TYPE_NOT_GRANTED"], "The account lacks the right to log on through Remote Desktop Services."),
    c(0x1B, "ERRCONNECT_NO_OR_MISSING_CREDENTIALS", &["FREERDP_ERROR_CONNECT_NO_OR_MISSING_CREDENTIALS"], "No credentials were given, or some were missing."),
    c(0x1C, "ERRCONNECT_ACTIVATION_TIMEOUT", &["FREERDP_ERROR_CONNECT_ACTIVATION_TIMEOUT"], "The connection was not activated in time (server did not finish the connection sequence)."),
    c(0x1D, "ERRCONNECT_TARGET_BOOTING", &["FREERDP_ERROR_CONNECT_TARGET_BOOTING"], "The target (for example a pooled VM) is still booting."),
    c(0x1E, "ERRCONNECT_HYBRID_REQUIRED_BY_SERVER", &["FREERDP_ERROR_CONNECT_HYBRID_REQUIRED_BY_SERVER"], "The server requires NLA, but NLA is disabled in the client."),
    CodeEntry {
        aliases: &["ERRINFO_NONE", "ERRCONNECT_NONE", "ERRBASE_NONE"],
        group: GROUP_CONNECT,
        note: "FreeRDP's ERRINFO_NONE is 0xFFFFFFFF; the spec's ERRINFO_NONE is 0 (FreeRDP calls 0 \
               ERRINFO_SUCCESS).",
        ..CodeEntry::new(Family::Freerdp, 0xFFFF_FFFF, "FREERDP_ERROR_NONE", "FreeRDP: no error code was recorded.", SRC_CONNECT)
    },
    // xfreerdp process exit codes.
    x(0, "XF_EXIT_SUCCESS", "xfreerdp exited normally."),
    xe(1, "XF_EXIT_DISCONNECT", "Exit: an administrative tool disconnected the session (ERRINFO 0x1).", ei(1)),
    xe(2, "XF_EXIT_LOGOFF", "Exit: an administrative tool logged the session off (ERRINFO 0x2).", ei(2)),
    xe(3, "XF_EXIT_IDLE_TIMEOUT", "Exit: idle time limit (ERRINFO 0x3).", ei(3)),
    xe(4, "XF_EXIT_LOGON_TIMEOUT", "Exit: active-session time limit (ERRINFO 0x4).", ei(4)),
    xe(5, "XF_EXIT_CONN_REPLACED", "Exit: another connection took over the session (ERRINFO 0x5).", ei(5)),
    xe(6, "XF_EXIT_OUT_OF_MEMORY", "Exit: the server ran out of memory (ERRINFO 0x6).", ei(6)),
    CodeEntry {
        note: "Measured in the lab (lab/OBSERVED.md): xfreerdp 2.11 logs ERRINFO_SERVER_DENIED_CONNECTION \
               [0x00010007] for this refusal but exits with 131 (XF_EXIT_CONN_FAILED); exit code 7 is \
               what FreeRDP 3's xfreerdp.h defines.",
        ..xe(7, "XF_EXIT_CONN_DENIED", "Exit: the server denied the connection (ERRINFO 0x7, the 0x904 / 0x7 case).", ei(7))
    },
    xe(8, "XF_EXIT_CONN_DENIED_FIPS", "Exit: the server denied the connection, FIPS required (extended reason 8).", ei(8)),
    xe(9, "XF_EXIT_USER_PRIVILEGES", "Exit: the user lacks the privileges to connect (ERRINFO 0x9).", ei(9)),
    xe(10, "XF_EXIT_FRESH_CREDENTIALS_REQUIRED", "Exit: fresh credentials required (ERRINFO 0xA).", ei(10)),
    xe(11, "XF_EXIT_DISCONNECT_BY_USER", "Exit: disconnected by the user's own session (ERRINFO 0xB).", ei(11)),
    xe(16, "XF_EXIT_LICENSE_INTERNAL", "Exit: licensing internal error (ERRINFO 0x100).", ei(0x100)),
    xe(17, "XF_EXIT_LICENSE_NO_LICENSE_SERVER", "Exit: no license server (ERRINFO 0x101).", ei(0x101)),
    xe(18, "XF_EXIT_LICENSE_NO_LICENSE", "Exit: no license available (ERRINFO 0x102).", ei(0x102)),
    xe(19, "XF_EXIT_LICENSE_BAD_CLIENT_MSG", "Exit: invalid licensing message from the client (ERRINFO 0x103).", ei(0x103)),
    xe(20, "XF_EXIT_LICENSE_HWID_DOESNT_MATCH", "Exit: stored license modified (ERRINFO 0x104).", ei(0x104)),
    xe(21, "XF_EXIT_LICENSE_BAD_CLIENT", "Exit: stored license malformed (ERRINFO 0x105).", ei(0x105)),
    xe(22, "XF_EXIT_LICENSE_CANT_FINISH_PROTOCOL", "Exit: licensing interrupted by a network problem (ERRINFO 0x106).", ei(0x106)),
    xe(23, "XF_EXIT_LICENSE_CLIENT_ENDED_PROTOCOL", "Exit: the client ended licensing early (ERRINFO 0x107).", ei(0x107)),
    xe(24, "XF_EXIT_LICENSE_BAD_CLIENT_ENCRYPTION", "Exit: licensing message wrongly encrypted (ERRINFO 0x108).", ei(0x108)),
    xe(25, "XF_EXIT_LICENSE_CANT_UPGRADE", "Exit: license cannot be upgraded or renewed (ERRINFO 0x109).", ei(0x109)),
    xe(26, "XF_EXIT_LICENSE_NO_REMOTE_CONNECTIONS", "Exit: server not licensed for remote connections (ERRINFO 0x10A).", ei(0x10A)),
    CodeEntry {
        note: "xfreerdp collapses every RDP-protocol Set Error Info code (0x10C9 and up) into this \
               one exit code: read FreeRDP's log for the ERRINFO name.",
        ..x(32, "XF_EXIT_RDP", "Exit: the server sent an RDP-protocol error (one of the ERRINFO 0x10C9… codes).")
    },
    x(128, "XF_EXIT_PARSE_ARGUMENTS", "Exit: the command line could not be parsed."),
    x(129, "XF_EXIT_MEMORY", "Exit: the client ran out of memory."),
    x(130, "XF_EXIT_PROTOCOL", "Exit: a protocol error occurred."),
    x(131, "XF_EXIT_CONN_FAILED", "Exit: the connection failed."),
    x(132, "XF_EXIT_AUTH_FAILURE", "Exit: authentication failed."),
    x(133, "XF_EXIT_NEGO_FAILURE", "Exit: security negotiation failed."),
    x(134, "XF_EXIT_LOGON_FAILURE", "Exit: the logon failed."),
    x(135, "XF_EXIT_ACCOUNT_LOCKED_OUT", "Exit: the account is locked out."),
    x(136, "XF_EXIT_PRE_CONNECT_FAILED", "Exit: the pre-connect step failed."),
    x(137, "XF_EXIT_CONNECT_UNDEFINED", "Exit: the connection failed for an unspecified reason."),
    x(138, "XF_EXIT_POST_CONNECT_FAILED", "Exit: the post-connect step failed."),
    x(139, "XF_EXIT_DNS_ERROR", "Exit: name resolution failed."),
    x(140, "XF_EXIT_DNS_NAME_NOT_FOUND", "Exit: the host name does not exist."),
    x(141, "XF_EXIT_CONNECT_FAILED", "Exit: the TCP connection could not be opened."),
    x(142, "XF_EXIT_MCS_CONNECT_INITIAL_ERROR", "Exit: the MCS Connect Initial failed."),
    x(143, "XF_EXIT_TLS_CONNECT_FAILED", "Exit: the TLS handshake failed."),
    x(144, "XF_EXIT_INSUFFICIENT_PRIVILEGES", "Exit: insufficient privileges."),
    x(145, "XF_EXIT_CONNECT_CANCELLED", "Exit: the connection was cancelled."),
    x(147, "XF_EXIT_CONNECT_TRANSPORT_FAILED", "Exit: the transport failed during the connection."),
    x(148, "XF_EXIT_CONNECT_PASSWORD_EXPIRED", "Exit: the password has expired."),
    x(149, "XF_EXIT_CONNECT_PASSWORD_MUST_CHANGE", "Exit: the password must be changed."),
    x(150, "XF_EXIT_CONNECT_KDC_UNREACHABLE", "Exit: no Kerberos KDC could be reached."),
    x(151, "XF_EXIT_CONNECT_ACCOUNT_DISABLED", "Exit: the account is disabled."),
    x(152, "XF_EXIT_CONNECT_PASSWORD_CERTAINLY_EXPIRED", "Exit: the password has expired (confirmed)."),
    x(153, "XF_EXIT_CONNECT_CLIENT_REVOKED", "Exit: the client's credentials were revoked."),
    x(154, "XF_EXIT_CONNECT_WRONG_PASSWORD", "Exit: the password is wrong."),
    x(155, "XF_EXIT_CONNECT_ACCESS_DENIED", "Exit: access was denied."),
    x(156, "XF_EXIT_CONNECT_ACCOUNT_RESTRICTION", "Exit: an account restriction prevents the logon."),
    x(157, "XF_EXIT_CONNECT_ACCOUNT_EXPIRED", "Exit: the account has expired."),
    x(158, "XF_EXIT_CONNECT_LOGON_TYPE_NOT_GRANTED", "Exit: the account lacks the Remote Desktop logon right."),
    x(159, "XF_EXIT_CONNECT_NO_OR_MISSING_CREDENTIALS", "Exit: credentials missing."),
    x(160, "XF_EXIT_CONNECT_TARGET_BOOTING", "Exit: the target is still booting."),
    x(161, "XF_EXIT_CONNECT_HYBRID_REQUIRED_BY_SERVER", "Exit: the server requires NLA, but it is disabled in the client."),
    x(255, "XF_EXIT_UNKNOWN", "Exit: unknown error."),
];
