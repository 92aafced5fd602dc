//! Set Error Info PDU `errorInfo` codes (MS-RDPBCGR 2.2.5.1 / 2.2.5.1.1, 3.2.5.7.1). The server
//! sends one just before it disconnects; the client keeps it to report the disconnect reason.
//! FreeRDP logs them as `ERRINFO_… [0x0001xxxx]` (class 1 in its error numbering) and uses longer,
//! underscored names for several protocol codes: those are listed as aliases.

use crate::{code, CodeEntry, Family};

const SRC: &str = "MS-RDPBCGR 2.2.5.1.1";
const SRC_FREERDP: &str = "FreeRDP include/freerdp/error.h (FreeRDP-internal, not in MS-RDPBCGR)";

const G_INDEP: &str = "protocol-independent";
const G_LICENSE: &str = "licensing";
const G_CB: &str = "connection broker";
const G_PROTO: &str = "RDP protocol";

const fn base(
    group: &'static str,
    value: u32,
    name: &'static str,
    meaning: &'static str,
) -> CodeEntry {
    CodeEntry {
        group,
        ..CodeEntry::new(Family::Errinfo, value, name, meaning, SRC)
    }
}

const fn i(value: u32, name: &'static str, meaning: &'static str) -> CodeEntry {
    base(G_INDEP, value, name, meaning)
}

const fn lic(value: u32, name: &'static str, meaning: &'static str) -> CodeEntry {
    base(G_LICENSE, value, name, meaning)
}

const fn cb(value: u32, name: &'static str, meaning: &'static str) -> CodeEntry {
    base(G_CB, value, name, meaning)
}

const fn p(value: u32, name: &'static str, meaning: &'static str) -> CodeEntry {
    base(G_PROTO, value, name, meaning)
}

/// A protocol code whose FreeRDP name differs from the spec name.
const fn pa(
    value: u32,
    name: &'static str,
    aliases: &'static [&'static str],
    meaning: &'static str,
) -> CodeEntry {
    CodeEntry {
        aliases,
        ..p(value, name, meaning)
    }
}

pub const TABLE: &[CodeEntry] = &[
    CodeEntry {
        aliases: &["ERRINFO_SUCCESS"],
        note: "FreeRDP names this value ERRINFO_SUCCESS and uses ERRINFO_NONE for 0xFFFFFFFF (\"no \
               error recorded\"): the spec's names are the other way round.",
        see_also: &[code(Family::Extended, 0)],
        ..i(0x0, "ERRINFO_NONE", "No error; the client ignores it.")
    },
    i(0x1, "ERRINFO_RPC_INITIATED_DISCONNECT", "An administrative tool on the server, in another session, disconnected the session."),
    i(0x2, "ERRINFO_RPC_INITIATED_LOGOFF", "An administrative tool on the server, in another session, logged the session off."),
    i(0x3, "ERRINFO_IDLE_TIMEOUT", "The idle-session time limit elapsed."),
    i(0x4, "ERRINFO_LOGON_TIMEOUT", "The active-session time limit elapsed."),
    CodeEntry {
        aliases: &["ERRINFO_DISCONNECTED_BY_OTHER_CONNECTION"],
        ..i(0x5, "ERRINFO_DISCONNECTED_BY_OTHERCONNECTION", "Another user connected to the session, which disconnected this connection.")
    },
    i(0x6, "ERRINFO_OUT_OF_MEMORY", "The server ran out of memory."),
    CodeEntry {
        note: "The spec gives no further detail and no server condition that triggers it. \
               IronRDP's server sends it when the Client Info PDU carries wrong credentials with \
               NLA off. Not the licensing STATUS_VALID_CLIENT (also 0x7), which means success.",
        see_also: &[code(Family::Extended, 7), code(Family::Freerdp, 7)],
        ..i(0x7, "ERRINFO_SERVER_DENIED_CONNECTION", "The server denied the connection.")
    },
    i(0x9, "ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES", "The user does not have the privileges needed to connect."),
    CodeEntry {
        see_also: &[code(Family::Disconnect, 0x2107)],
        ..i(0xA, "ERRINFO_SERVER_FRESH_CREDENTIALS_REQUIRED", "The server did not accept saved credentials; the user must type them.")
    },
    CodeEntry {
        aliases: &["ERRINFO_RPC_INITIATED_DISCONNECT_BY_USER"],
        ..i(0xB, "ERRINFO_RPC_INITIATED_DISCONNECT_BYUSER", "An administrative tool in the user's own session disconnected it.")
    },
    i(0xC, "ERRINFO_LOGOFF_BY_USER", "The user logged off."),
    i(0xF, "ERRINFO_CLOSE_STACK_ON_DRIVER_NOT_READY", "The display driver in the session did not report its status in time at startup."),
    i(0x10, "ERRINFO_SERVER_DWM_CRASH", "The Desktop Window Manager in the session terminated."),
    CodeEntry {
        note: "Not a UDP or NAT time-out: the spec names the display driver.",
        ..i(0x11, "ERRINFO_CLOSE_STACK_ON_DRIVER_FAILURE", "The display driver in the session failed its startup tasks.")
    },
    i(0x12, "ERRINFO_CLOSE_STACK_ON_DRIVER_IFACE_FAILURE", "The display driver started but the remoting stack could not use it."),
    i(0x17, "ERRINFO_SERVER_WINLOGON_CRASH", "Winlogon in the session terminated."),
    i(0x18, "ERRINFO_SERVER_CSRSS_CRASH", "CSRSS in the session terminated."),
    CodeEntry {
        note: "FreeRDP 3.x and IronRDP do not know this value (their tables stop at 0x18).",
        see_also: &[code(Family::Extended, 25)],
        ..i(0x19, "ERRINFO_SERVER_SHUTDOWN", "The server is shutting down.")
    },
    CodeEntry {
        note: "FreeRDP 3.x and IronRDP do not know this value (their tables stop at 0x18).",
        see_also: &[code(Family::Extended, 26)],
        ..i(0x1A, "ERRINFO_SERVER_REBOOT", "The server is rebooting.")
    },
    // Licensing.
    CodeEntry { aliases: &["LICENSE_INTERNAL"], ..lic(0x100, "ERRINFO_LICENSE_INTERNAL", "Internal error in the server's licensing component.") },
    CodeEntry { aliases: &["LICENSE_NO_LICENSE_SERVER"], ..lic(0x101, "ERRINFO_LICENSE_NO_LICENSE_SERVER", "No RD License Server could be found to issue a license.") },
    CodeEntry { aliases: &["LICENSE_NO_LICENSE"], ..lic(0x102, "ERRINFO_LICENSE_NO_LICENSE", "No client access licenses are available.") },
    CodeEntry { aliases: &["LICENSE_BAD_CLIENT_MSG"], ..lic(0x103, "ERRINFO_LICENSE_BAD_CLIENT_MSG", "The client sent an invalid licensing message.") },
    CodeEntry { aliases: &["LICENSE_HWID_DOESNT_MATCH_LICENSE"], ..lic(0x104, "ERRINFO_LICENSE_HWID_DOESNT_MATCH_LICENSE", "The client's stored license was modified.") },
    CodeEntry { aliases: &["LICENSE_BAD_CLIENT_LICENSE"], ..lic(0x105, "ERRINFO_LICENSE_BAD_CLIENT_LICENSE", "The client's stored license is malformed.") },
    CodeEntry { aliases: &["LICENSE_CANT_FINISH_PROTOCOL"], ..lic(0x106, "ERRINFO_LICENSE_CANT_FINISH_PROTOCOL", "A network problem stopped the licensing protocol from finishing.") },
    CodeEntry { aliases: &["LICENSE_CLIENT_ENDED_PROTOCOL"], ..lic(0x107, "ERRINFO_LICENSE_CLIENT_ENDED_PROTOCOL", "The client ended the licensing protocol before it finished.") },
    CodeEntry { aliases: &["LICENSE_BAD_CLIENT_ENCRYPTION"], ..lic(0x108, "ERRINFO_LICENSE_BAD_CLIENT_ENCRYPTION", "A licensing message from the client was not encrypted correctly.") },
    CodeEntry { aliases: &["LICENSE_CANT_UPGRADE_LICENSE"], ..lic(0x109, "ERRINFO_LICENSE_CANT_UPGRADE_LICENSE", "The client's license could not be upgraded or renewed.") },
    CodeEntry { aliases: &["LICENSE_NO_REMOTE_CONNECTIONS"], ..lic(0x10A, "ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS", "The server is not licensed to accept remote connections.") },
    // Connection broker.
    CodeEntry { aliases: &["CB_DESTINATION_NOT_FOUND"], ..cb(0x400, "ERRINFO_CB_DESTINATION_NOT_FOUND", "The target endpoint could not be found.") },
    CodeEntry { aliases: &["CB_LOADING_DESTINATION"], ..cb(0x402, "ERRINFO_CB_LOADING_DESTINATION", "The target endpoint is disconnecting from the connection broker.") },
    CodeEntry { aliases: &["CB_REDIRECTING_TO_DESTINATION"], ..cb(0x404, "ERRINFO_CB_REDIRECTING_TO_DESTINATION", "An error occurred while the connection was being redirected to the target endpoint.") },
    CodeEntry { aliases: &["CB_SESSION_ONLINE_VM_WAKE"], ..cb(0x405, "ERRINFO_CB_SESSION_ONLINE_VM_WAKE", "An error occurred while waking the target virtual machine.") },
    CodeEntry { aliases: &["CB_SESSION_ONLINE_VM_BOOT"], ..cb(0x406, "ERRINFO_CB_SESSION_ONLINE_VM_BOOT", "An error occurred while starting the target virtual machine.") },
    CodeEntry { aliases: &["CB_SESSION_ONLINE_VM_NO_DNS"], ..cb(0x407, "ERRINFO_CB_SESSION_ONLINE_VM_NO_DNS", "The IP address of the target virtual machine could not be determined.") },
    CodeEntry { aliases: &["CB_DESTINATION_POOL_NOT_FREE"], ..cb(0x408, "ERRINFO_CB_DESTINATION_POOL_NOT_FREE", "No free endpoint is left in the pool.") },
    CodeEntry { aliases: &["CB_CONNECTION_CANCELLED"], ..cb(0x409, "ERRINFO_CB_CONNECTION_CANCELLED", "The connection was cancelled.") },
    CodeEntry { aliases: &["CB_CONNECTION_ERROR_INVALID_SETTINGS"], ..cb(0x410, "ERRINFO_CB_CONNECTION_ERROR_INVALID_SETTINGS", "The settings in the routing token could not be validated.") },
    CodeEntry { aliases: &["CB_SESSION_ONLINE_VM_BOOT_TIMEOUT"], ..cb(0x411, "ERRINFO_CB_SESSION_ONLINE_VM_BOOT_TIMEOUT", "Starting the target virtual machine timed out.") },
    CodeEntry { aliases: &["CB_SESSION_ONLINE_VM_SESSMON_FAILED"], ..cb(0x412, "ERRINFO_CB_SESSION_ONLINE_VM_SESSMON_FAILED", "Session monitoring on the target virtual machine failed.") },
    // RDP protocol errors (the server detected a malformed or unexpected PDU).
    pa(0x10C9, "ERRINFO_UNKNOWNPDUTYPE2", &["ERRINFO_UNKNOWN_DATA_PDU_TYPE"], "A data PDU carried an unknown pduType2 in its Share Data Header."),
    pa(0x10CA, "ERRINFO_UNKNOWNPDUTYPE", &["ERRINFO_UNKNOWN_PDU_TYPE"], "A PDU carried an unknown pduType in its Share Control Header."),
    pa(0x10CB, "ERRINFO_DATAPDUSEQUENCE", &["ERRINFO_DATA_PDU_SEQUENCE"], "A slow-path data PDU arrived out of sequence."),
    pa(0x10CD, "ERRINFO_CONTROLPDUSEQUENCE", &["ERRINFO_CONTROL_PDU_SEQUENCE"], "A slow-path non-data PDU arrived out of sequence."),
    pa(0x10CE, "ERRINFO_INVALIDCONTROLPDUACTION", &["ERRINFO_INVALID_CONTROL_PDU_ACTION"], "A Control PDU carried an invalid action."),
    pa(0x10CF, "ERRINFO_INVALIDINPUTPDUTYPE", &["ERRINFO_INVALID_INPUT_PDU_TYPE"], "An input event had an invalid slow-path messageType or fast-path eventCode."),
    pa(0x10D0, "ERRINFO_INVALIDINPUTPDUMOUSE", &["ERRINFO_INVALID_INPUT_PDU_MOUSE"], "A mouse event had invalid pointerFlags."),
    pa(0x10D1, "ERRINFO_INVALIDREFRESHRECTPDU", &["ERRINFO_INVALID_REFRESH_RECT_PDU"], "A Refresh Rect PDU was invalid."),
    pa(0x10D2, "ERRINFO_CREATEUSERDATAFAILED", &["ERRINFO_CREATE_USER_DATA_FAILED"], "The server could not build the GCC Conference Create Response user data."),
    pa(0x10D3, "ERRINFO_CONNECTFAILED", &["ERRINFO_CONNECT_FAILED"], "The Channel Connection phase of the connection sequence failed."),
    pa(0x10D4, "ERRINFO_CONFIRMACTIVEWRONGSHAREID", &["ERRINFO_CONFIRM_ACTIVE_HAS_WRONG_SHAREID"], "A Confirm Active PDU carried the wrong shareId."),
    pa(0x10D5, "ERRINFO_CONFIRMACTIVEWRONGORIGINATOR", &["ERRINFO_CONFIRM_ACTIVE_HAS_WRONG_ORIGINATOR"], "A Confirm Active PDU carried the wrong originatorId."),
    pa(0x10DA, "ERRINFO_PERSISTENTKEYPDUBADLENGTH", &["ERRINFO_PERSISTENT_KEY_PDU_BAD_LENGTH"], "A Persistent Key List PDU was too short."),
    pa(0x10DB, "ERRINFO_PERSISTENTKEYPDUILLEGALFIRST", &["ERRINFO_PERSISTENT_KEY_PDU_ILLEGAL_FIRST"], "A second Persistent Key List PDU was marked as the first."),
    pa(0x10DC, "ERRINFO_PERSISTENTKEYPDUTOOMANYTOTALKEYS", &["ERRINFO_PERSISTENT_KEY_PDU_TOO_MANY_TOTAL_KEYS"], "The Persistent Key List announced more than 262,144 cache entries in total."),
    pa(0x10DD, "ERRINFO_PERSISTENTKEYPDUTOOMANYCACHEKEYS", &["ERRINFO_PERSISTENT_KEY_PDU_TOO_MANY_CACHE_KEYS"], "The Persistent Key List announced more keys than a cache holds."),
    pa(0x10DE, "ERRINFO_INPUTPDUBADLENGTH", &["ERRINFO_INPUT_PDU_BAD_LENGTH"], "An input PDU was too short."),
    pa(0x10DF, "ERRINFO_BITMAPCACHEERRORPDUBADLENGTH", &["ERRINFO_BITMAP_CACHE_ERROR_PDU_BAD_LENGTH"], "A Bitmap Cache Error PDU was too short."),
    pa(0x10E0, "ERRINFO_SECURITYDATATOOSHORT", &["ERRINFO_SECURITY_DATA_TOO_SHORT"], "Fast-path input was too short for its dataSignature or fipsInformation fields."),
    pa(0x10E1, "ERRINFO_VCHANNELDATATOOSHORT", &["ERRINFO_VCHANNEL_DATA_TOO_SHORT"], "Client network data or a channel PDU header was too short."),
    pa(0x10E2, "ERRINFO_SHAREDATATOOSHORT", &["ERRINFO_SHARE_DATA_TOO_SHORT"], "Control, Share or Font List data was too short."),
    pa(0x10E3, "ERRINFO_BADSUPRESSOUTPUTPDU", &["ERRINFO_BAD_SUPPRESS_OUTPUT_PDU"], "A Suppress Output PDU was invalid."),
    pa(0x10E5, "ERRINFO_CONFIRMACTIVEPDUTOOSHORT", &["ERRINFO_CONFIRM_ACTIVE_PDU_TOO_SHORT"], "A Confirm Active PDU was too short."),
    pa(0x10E7, "ERRINFO_CAPABILITYSETTOOSMALL", &["ERRINFO_CAPABILITY_SET_TOO_SMALL"], "A capability set header was truncated."),
    pa(0x10E8, "ERRINFO_CAPABILITYSETTOOLARGE", &["ERRINFO_CAPABILITY_SET_TOO_LARGE"], "A capability set claimed more bytes than were present."),
    pa(0x10E9, "ERRINFO_NOCURSORCACHE", &["ERRINFO_NO_CURSOR_CACHE"], "Both pointer cache sizes in the capabilities were zero."),
    pa(0x10EA, "ERRINFO_BADCAPABILITIES", &["ERRINFO_BAD_CAPABILITIES"], "The server rejected the client's capabilities."),
    pa(0x10EC, "ERRINFO_VIRTUALCHANNELDECOMPRESSIONERR", &["ERRINFO_VIRTUAL_CHANNEL_DECOMPRESSION"], "Bulk decompression of virtual channel data failed."),
    pa(0x10ED, "ERRINFO_INVALIDVCCOMPRESSIONTYPE", &["ERRINFO_INVALID_VC_COMPRESSION_TYPE"], "Virtual channel data used an invalid compression type."),
    pa(0x10EF, "ERRINFO_INVALIDCHANNELID", &["ERRINFO_INVALID_CHANNEL_ID"], "Data arrived on an invalid MCS channel id."),
    pa(0x10F0, "ERRINFO_VCHANNELSTOOMANY", &["ERRINFO_VCHANNELS_TOO_MANY"], "The client asked for more than 31 static virtual channels."),
    pa(0x10F3, "ERRINFO_REMOTEAPPSNOTENABLED", &["ERRINFO_REMOTEAPP_NOT_ENABLED"], "The server only hosts RemoteApp programs, but the client did not ask for RemoteApp (INFO_RAIL)."),
    pa(0x10F4, "ERRINFO_CACHECAPNOTSET", &["ERRINFO_CACHE_CAP_NOT_SET"], "A Persistent Key List arrived without the Revision 2 bitmap cache capability."),
    pa(0x10F5, "ERRINFO_BITMAPCACHEERRORPDUBADLENGTH2", &["ERRINFO_BITMAP_CACHE_ERROR_PDU_BAD_LENGTH2"], "A Bitmap Cache Error PDU's NumInfoBlocks did not match its length."),
    pa(0x10F6, "ERRINFO_OFFSCRCACHEERRORPDUBADLENGTH", &["ERRINFO_OFFSCREEN_CACHE_ERROR_PDU_BAD_LENGTH"], "An Offscreen Bitmap Cache Error PDU was too short."),
    pa(0x10F7, "ERRINFO_DNGCACHEERRORPDUBADLENGTH", &["ERRINFO_DRAWNINEGRID_CACHE_ERROR_PDU_BAD_LENGTH"], "A DrawNineGrid Cache Error PDU was too short."),
    pa(0x10F8, "ERRINFO_GDIPLUSPDUBADLENGTH", &["ERRINFO_GDIPLUS_PDU_BAD_LENGTH"], "A GDI+ Error PDU was too short."),
    pa(0x1111, "ERRINFO_SECURITYDATATOOSHORT2", &["ERRINFO_SECURITY_DATA_TOO_SHORT2"], "Too little data for a Basic Security Header."),
    pa(0x1112, "ERRINFO_SECURITYDATATOOSHORT3", &["ERRINFO_SECURITY_DATA_TOO_SHORT3"], "Too little data for a Non-FIPS or FIPS Security Header."),
    pa(0x1113, "ERRINFO_SECURITYDATATOOSHORT4", &["ERRINFO_SECURITY_DATA_TOO_SHORT4"], "Too little data for the header and length of the Security Exchange PDU."),
    pa(0x1114, "ERRINFO_SECURITYDATATOOSHORT5", &["ERRINFO_SECURITY_DATA_TOO_SHORT5"], "Too little data for the fixed and variable fields of the Info Packet."),
    pa(0x1115, "ERRINFO_SECURITYDATATOOSHORT6", &["ERRINFO_SECURITY_DATA_TOO_SHORT6"], "Too little data for the fixed-length fields of the Info Packet."),
    pa(0x1116, "ERRINFO_SECURITYDATATOOSHORT7", &["ERRINFO_SECURITY_DATA_TOO_SHORT7"], "Extended Info Packet: too little data for the client address family and length."),
    pa(0x1117, "ERRINFO_SECURITYDATATOOSHORT8", &["ERRINFO_SECURITY_DATA_TOO_SHORT8"], "Extended Info Packet: too little data for the client address."),
    pa(0x1118, "ERRINFO_SECURITYDATATOOSHORT9", &["ERRINFO_SECURITY_DATA_TOO_SHORT9"], "Extended Info Packet: too little data for the client directory length."),
    pa(0x1119, "ERRINFO_SECURITYDATATOOSHORT10", &["ERRINFO_SECURITY_DATA_TOO_SHORT10"], "Extended Info Packet: too little data for the client directory."),
    pa(0x111A, "ERRINFO_SECURITYDATATOOSHORT11", &["ERRINFO_SECURITY_DATA_TOO_SHORT11"], "Extended Info Packet: too little data for the client time zone."),
    pa(0x111B, "ERRINFO_SECURITYDATATOOSHORT12", &["ERRINFO_SECURITY_DATA_TOO_SHORT12"], "Extended Info Packet: too little data for the client session id."),
    pa(0x111C, "ERRINFO_SECURITYDATATOOSHORT13", &["ERRINFO_SECURITY_DATA_TOO_SHORT13"], "Extended Info Packet: too little data for the performance flags."),
    pa(0x111D, "ERRINFO_SECURITYDATATOOSHORT14", &["ERRINFO_SECURITY_DATA_TOO_SHORT14"], "Extended Info Packet: too little data for the auto-reconnect cookie length."),
    pa(0x111E, "ERRINFO_SECURITYDATATOOSHORT15", &["ERRINFO_SECURITY_DATA_TOO_SHORT15"], "Extended Info Packet: too little data for the auto-reconnect cookie."),
    pa(0x111F, "ERRINFO_SECURITYDATATOOSHORT16", &["ERRINFO_SECURITY_DATA_TOO_SHORT16"], "Extended Info Packet: the auto-reconnect cookie length exceeds 128 bytes."),
    pa(0x1120, "ERRINFO_SECURITYDATATOOSHORT17", &["ERRINFO_SECURITY_DATA_TOO_SHORT17"], "Extended Info Packet: too little data for the client address family and length (second check)."),
    pa(0x1121, "ERRINFO_SECURITYDATATOOSHORT18", &["ERRINFO_SECURITY_DATA_TOO_SHORT18"], "Extended Info Packet: too little data for the client address (second check)."),
    pa(0x1122, "ERRINFO_SECURITYDATATOOSHORT19", &["ERRINFO_SECURITY_DATA_TOO_SHORT19"], "Extended Info Packet: too little data for the client directory length (second check)."),
    pa(0x1123, "ERRINFO_SECURITYDATATOOSHORT20", &["ERRINFO_SECURITY_DATA_TOO_SHORT20"], "Extended Info Packet: too little data for the client directory (second check)."),
    pa(0x1124, "ERRINFO_SECURITYDATATOOSHORT21", &["ERRINFO_SECURITY_DATA_TOO_SHORT21"], "Extended Info Packet: too little data for the client time zone (second check)."),
    pa(0x1125, "ERRINFO_SECURITYDATATOOSHORT22", &["ERRINFO_SECURITY_DATA_TOO_SHORT22"], "Extended Info Packet: too little data for the client session id (second check)."),
    pa(0x1126, "ERRINFO_SECURITYDATATOOSHORT23", &["ERRINFO_SECURITY_DATA_TOO_SHORT23"], "Too little data for the Client Info PDU."),
    pa(0x1129, "ERRINFO_BADMONITORDATA", &["ERRINFO_BAD_MONITOR_DATA"], "The Client Monitor Data held fewer monitor definitions than monitorCount announced."),
    pa(0x112A, "ERRINFO_VCDECOMPRESSEDREASSEMBLEFAILED", &["ERRINFO_VC_DECOMPRESSED_REASSEMBLE_FAILED"], "Decompressed virtual channel data exceeded the chunk size."),
    pa(0x112B, "ERRINFO_VCDATATOOLONG", &["ERRINFO_VC_DATA_TOO_LONG"], "A virtual channel PDU exceeded the chunk size."),
    p(0x112C, "ERRINFO_BAD_FRAME_ACK_DATA", "A Frame Acknowledge PDU was too short."),
    pa(0x112D, "ERRINFO_GRAPHICSMODENOTSUPPORTED", &["ERRINFO_GRAPHICS_MODE_NOT_SUPPORTED"], "The requested graphics mode is not supported by the server."),
    pa(0x112E, "ERRINFO_GRAPHICSSUBSYSTEMRESETFAILED", &["ERRINFO_GRAPHICS_SUBSYSTEM_RESET_FAILED"], "The server's graphics subsystem could not be reset."),
    CodeEntry {
        note: "Reports tie it to memory pressure, many monitors or very large resolutions; that \
               matches the spec reasonably well.",
        ..pa(0x112F, "ERRINFO_GRAPHICSSUBSYSTEMFAILED", &["ERRINFO_GRAPHICS_SUBSYSTEM_FAILED"], "The server's graphics subsystem is in an error state.")
    },
    pa(0x1130, "ERRINFO_TIMEZONEKEYNAMELENGTHTOOSHORT", &["ERRINFO_TIMEZONE_KEY_NAME_LENGTH_TOO_SHORT"], "Extended Info Packet: too little data for the dynamic DST time-zone key name length."),
    pa(0x1131, "ERRINFO_TIMEZONEKEYNAMELENGTHTOOLONG", &["ERRINFO_TIMEZONE_KEY_NAME_LENGTH_TOO_LONG"], "Extended Info Packet: the dynamic DST time-zone key name length is too large."),
    pa(0x1132, "ERRINFO_DYNAMICDSTDISABLEDFIELDMISSING", &["ERRINFO_DYNAMIC_DST_DISABLED_FIELD_MISSING"], "Extended Info Packet: the dynamicDaylightTimeDisabled field is missing."),
    pa(0x1133, "ERRINFO_VCDECODINGERROR", &["ERRINFO_VC_DECODING_ERROR"], "Data on a dynamic virtual channel could not be decoded."),
    p(0x1134, "ERRINFO_VIRTUALDESKTOPTOOLARGE", "The monitor layout makes the virtual desktop larger than 32766 pixels."),
    p(0x1135, "ERRINFO_MONITORGEOMETRYVALIDATIONFAILED", "The monitor geometry in the Client Monitor Data is invalid."),
    p(0x1136, "ERRINFO_INVALIDMONITORCOUNT", "monitorCount in the Client Monitor Data is too large."),
    pa(0x1191, "ERRINFO_UPDATESESSIONKEYFAILED", &["ERRINFO_UPDATE_SESSION_KEY_FAILED"], "Standard RDP Security: updating the session keys failed."),
    p(0x1192, "ERRINFO_DECRYPTFAILED", "Standard RDP Security: decryption failed, or the session keys could not be created."),
    p(0x1193, "ERRINFO_ENCRYPTFAILED", "Standard RDP Security: encryption failed."),
    CodeEntry {
        see_also: &[code(Family::Disconnect, 0x506)],
        ..pa(0x1194, "ERRINFO_ENCPKGMISMATCH", &["ERRINFO_ENCRYPTION_PACKAGE_MISMATCH"], "Standard RDP Security: none of the client's encryption methods is acceptable to the server.")
    },
    p(0x1195, "ERRINFO_DECRYPTFAILED2", "Standard RDP Security: unencrypted data arrived where encryption is required."),
    CodeEntry {
        documented: false,
        source: SRC_FREERDP,
        note: "FreeRDP-internal: FreeRDP records it when the peer connection is lost. A Windows \
               server never sends it.",
        ..p(0x1196, "ERRINFO_PEER_DISCONNECTED", "FreeRDP only: the connection to the peer was lost.")
    },
];
