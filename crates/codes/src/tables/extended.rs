//! mstsc `ExtendedDisconnectReason` (ExtendedDisconnectReasonCode enum, win32 docs and the
//! MsTscAx type library). mstsc shows it as "Extended error code: 0x…".
//!
//! Values 1–12, 25, 26, 256–266 and 4096+ carry the same numbers as the server's Set Error Info
//! codes (MS-RDPBCGR 2.2.5.1.1). Values with no extended-reason name of their own are looked up in
//! the ERRINFO table instead (see `crate::lookup`).

use crate::{CodeEntry, CodeRef, Family};

const SRC: &str = "ExtendedDisconnectReasonCode (win32 docs); MsTscAx.h";
const SRC_TYPELIB: &str = "MsTscAx.dll type library (MsTscAx.h) only; not in the docs";

const fn x(value: u32, name: &'static str, meaning: &'static str) -> CodeEntry {
    CodeEntry::new(Family::Extended, value, name, meaning, SRC)
}

const fn twin(value: u32, name: &'static str, meaning: &'static str) -> CodeEntry {
    CodeEntry {
        see_also: errinfo_twin(value),
        ..x(value, name, meaning)
    }
}

/// The Set Error Info code with the same number.
const fn errinfo_twin(value: u32) -> &'static [CodeRef] {
    super::errinfo_ref(value)
}

pub const TABLE: &[CodeEntry] = &[
    twin(
        0,
        "exDiscReasonNoInfo",
        "No extra information is available.",
    ),
    twin(
        1,
        "exDiscReasonAPIInitiatedDisconnect",
        "An application (an admin tool) disconnected the session.",
    ),
    twin(
        2,
        "exDiscReasonAPIInitiatedLogoff",
        "An application (an admin tool) logged the session off.",
    ),
    twin(
        3,
        "exDiscReasonServerIdleTimeout",
        "The idle-session time limit elapsed.",
    ),
    twin(
        4,
        "exDiscReasonServerLogonTimeout",
        "The active-session (connection) time limit elapsed.",
    ),
    twin(
        5,
        "exDiscReasonReplacedByOtherConnection",
        "Another connection took over the session.",
    ),
    twin(
        6,
        "exDiscReasonOutOfMemory",
        "The server ran out of memory.",
    ),
    CodeEntry {
        note: "The server reported that it denied the connection; the protocol carries no reason. \
               Same number as ERRINFO_SERVER_DENIED_CONNECTION, so it most likely came from a Set \
               Error Info PDU (inference: Microsoft does not state that mstsc sets it only from \
               the wire). Not Win32 error 7, and not the licensing STATUS_VALID_CLIENT (0x7).",
        ..twin(
            7,
            "exDiscReasonServerDeniedConnection",
            "The server denied the connection.",
        )
    },
    // ExtendedDisconnectReasonCode documents 8 and 9 with the same sentence; FIPS and
    // privileges come from the names only, so they stay in the notes.
    CodeEntry {
        note: "Has no Set Error Info twin: MS-RDPBCGR defines no errorInfo 0x8. The documentation \
               gives it the same text as 9; only the name says FIPS.",
        ..x(
            8,
            "exDiscReasonServerDeniedConnectionFips",
            "The server denied the connection for security reasons.",
        )
    },
    CodeEntry {
        note: "The documentation gives it the same text as 8; the name and its Set Error Info \
               twin ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES say the user lacks the privileges.",
        ..twin(
            9,
            "exDiscReasonServerInsufficientPrivileges",
            "The server denied the connection for security reasons.",
        )
    },
    twin(
        10,
        "exDiscReasonServerFreshCredsRequired",
        "Fresh credentials are required: saved credentials were not accepted.",
    ),
    twin(
        11,
        "exDiscReasonRpcInitiatedDisconnectByUser",
        "Activity by the user (an admin tool in the user's own session) disconnected the session.",
    ),
    CodeEntry {
        note: "The stored win32 docs markdown shows the value 2 (a typo); the live docs and the \
               type library say 12.",
        ..twin(12, "exDiscReasonLogoffByUser", "The user logged off.")
    },
    CodeEntry {
        source: SRC_TYPELIB,
        ..twin(25, "exDiscReasonShutdown", "The server is shutting down.")
    },
    CodeEntry {
        source: SRC_TYPELIB,
        ..twin(26, "exDiscReasonReboot", "The server is rebooting.")
    },
    twin(
        0x100,
        "exDiscReasonLicenseInternal",
        "Licensing: internal error in the licensing component.",
    ),
    twin(
        0x101,
        "exDiscReasonLicenseNoLicenseServer",
        "Licensing: no RD License Server was found.",
    ),
    twin(
        0x102,
        "exDiscReasonLicenseNoLicense",
        "Licensing: no client access licenses are available.",
    ),
    twin(
        0x103,
        "exDiscReasonLicenseErrClientMsg",
        "Licensing: the client sent an invalid licensing message.",
    ),
    twin(
        0x104,
        "exDiscReasonLicenseHwidDoesntMatchLicense",
        "Licensing: the client's stored license was modified (hardware ID mismatch).",
    ),
    twin(
        0x105,
        "exDiscReasonLicenseErrClientLicense",
        "Licensing: the client's stored license is malformed.",
    ),
    twin(
        0x106,
        "exDiscReasonLicenseCantFinishProtocol",
        "Licensing: a network problem interrupted the licensing protocol.",
    ),
    twin(
        0x107,
        "exDiscReasonLicenseClientEndedProtocol",
        "Licensing: the client ended the licensing protocol early.",
    ),
    twin(
        0x108,
        "exDiscReasonLicenseErrClientEncryption",
        "Licensing: a licensing message was wrongly encrypted.",
    ),
    twin(
        0x109,
        "exDiscReasonLicenseCantUpgradeLicense",
        "Licensing: the client's license could not be upgraded or renewed.",
    ),
    twin(
        0x10A,
        "exDiscReasonLicenseNoRemoteConnections",
        "Licensing: the server is not licensed to accept remote connections.",
    ),
    CodeEntry {
        note: "Raised on the client: access was denied while creating the license-store registry \
               key. No Set Error Info twin.",
        ..x(
            0x10B,
            "exDiscReasonLicenseCreatingLicStoreAccDenied",
            "Licensing: the client was denied access when creating its license store.",
        )
    },
    x(
        0x300,
        "exDiscReasonRdpEncInvalidCredentials",
        "The credentials are invalid.",
    ),
    CodeEntry {
        note: "Start of the range 4096–32767 of internal protocol errors; the specific values are \
               the Set Error Info protocol codes (0x10C9…). The docs say to check the server's \
               event log.",
        ..x(
            0x1000,
            "exDiscReasonProtocolRangeStart",
            "Start of the range of internal protocol errors detected by the server.",
        )
    },
    CodeEntry {
        note: "End of the range 4096–32767 of internal protocol errors.",
        ..x(
            0x7FFF,
            "exDiscReasonProtocolRangeEnd",
            "End of the range of internal protocol errors detected by the server.",
        )
    },
];
