//! HRESULT / SECURITY_STATUS values seen in RDP failures: SSPI (SEC_E_*) from CredSSP and TLS,
//! CryptoAPI (NTE_*, CRYPT_E_*) from Schannel event 36870, and a few others from RDP events.
//! Values from winerror.h; the TLS-alert mapping from the Schannel error-code table.

use crate::{code, CodeEntry, CodeRef, Family};

const SRC: &str = "winerror.h";
/// Only for values the Schannel alert table lists (those linked to a TLS alert).
const SRC_ALERT: &str = "winerror.h; Schannel error codes for TLS and SSL alerts (win32 docs)";

const fn h(
    value: u32,
    name: &'static str,
    meaning: &'static str,
    see_also: &'static [CodeRef],
) -> CodeEntry {
    let src = if links_alert(see_also) {
        SRC_ALERT
    } else {
        SRC
    };
    CodeEntry::new(Family::Hresult, value, name, meaning, src).with_see_also(see_also)
}

const fn links_alert(see_also: &[CodeRef]) -> bool {
    let mut i = 0;
    while i < see_also.len() {
        if matches!(see_also[i].family, Family::TlsAlert) {
            return true;
        }
        i += 1;
    }
    false
}

const fn t(n: u32) -> CodeRef {
    code(Family::TlsAlert, n)
}

pub const TABLE: &[CodeEntry] = &[
    CodeEntry {
        note: "Seen with RdpCoreTS event 226 (state-machine error). It wraps a Win32 error (64), \
               not an SSPI status.",
        ..h(
            0x8007_0040,
            "HRESULT_FROM_WIN32(ERROR_NETNAME_DELETED)",
            "The network name is no longer available: the connection went away under the server.",
            &[],
        )
    },
    CodeEntry {
        note: "Reported by mRemoteNG users after the January 2026 updates (KB5074109); not an \
               RDP protocol code.",
        ..h(
            0x8008_0005,
            "CO_E_SERVER_EXEC_FAILURE",
            "A COM server could not be started.",
            &[],
        )
    },
    CodeEntry {
        note: "Schannel 36870 with this code: the RDP certificate's key container is gone or \
               unreadable (MachineKeys).",
        ..h(
            0x8009_0016,
            "NTE_BAD_KEYSET",
            "The key set does not exist.",
            &[],
        )
    },
    CodeEntry {
        note: "mstsc's \"The function requested is not supported\" after typing credentials; with \
               the CredSSP oracle text it is the CVE-2018-0886 policy mismatch. Schannel also \
               maps TLS alert 70 (protocol_version) to it.",
        ..h(
            0x8009_0302,
            "SEC_E_UNSUPPORTED_FUNCTION",
            "The function requested is not supported.",
            &[t(70)],
        )
    },
    h(
        0x8009_0303,
        "SEC_E_TARGET_UNKNOWN",
        "The specified target is unknown or unreachable.",
        &[],
    ),
    h(
        0x8009_0304,
        "SEC_E_INTERNAL_ERROR",
        "The Local Security Authority cannot be contacted, or an internal error occurred.",
        &[t(80)],
    ),
    h(
        0x8009_0308,
        "SEC_E_INVALID_TOKEN",
        "The token supplied to the function is invalid.",
        &[],
    ),
    h(
        0x8009_030C,
        "SEC_E_LOGON_DENIED",
        "The logon attempt failed.",
        &[t(49)],
    ),
    CodeEntry {
        note: "Schannel 36870 with this code (internal state 10001) is the usual sign that the \
               RDP certificate's private key cannot be opened.",
        ..h(
            0x8009_030D,
            "SEC_E_UNKNOWN_CREDENTIALS",
            "The credentials supplied to the package were not recognized.",
            &[],
        )
    },
    h(
        0x8009_030E,
        "SEC_E_NO_CREDENTIALS",
        "No credentials are available in the security package.",
        &[],
    ),
    h(
        0x8009_030F,
        "SEC_E_MESSAGE_ALTERED",
        "The message or signature supplied for verification has been altered.",
        &[t(20), t(30)],
    ),
    h(
        0x8009_0311,
        "SEC_E_NO_AUTHENTICATING_AUTHORITY",
        "No authority could be contacted for authentication.",
        &[code(Family::Disconnect, 0x1807)],
    ),
    h(
        0x8009_0317,
        "SEC_E_CONTEXT_EXPIRED",
        "The context has expired and can no longer be used.",
        &[],
    ),
    h(
        0x8009_0318,
        "SEC_E_INCOMPLETE_MESSAGE",
        "The supplied message is incomplete.",
        &[],
    ),
    h(
        0x8009_0322,
        "SEC_E_WRONG_PRINCIPAL",
        "The target principal name is incorrect (Kerberos service name mismatch).",
        &[],
    ),
    h(
        0x8009_0324,
        "SEC_E_TIME_SKEW",
        "The clocks on the client and server machines are skewed.",
        &[code(Family::Ntstatus, 0xC000_0133)],
    ),
    h(
        0x8009_0325,
        "SEC_E_UNTRUSTED_ROOT",
        "The certificate chain was issued by an authority that is not trusted.",
        &[t(48)],
    ),
    h(
        0x8009_0326,
        "SEC_E_ILLEGAL_MESSAGE",
        "The message received was unexpected or badly formatted.",
        &[t(10), t(22), t(40), t(47), t(50), t(60), t(100), t(110)],
    ),
    h(
        0x8009_0327,
        "SEC_E_CERT_UNKNOWN",
        "An unknown error occurred while processing the certificate.",
        &[t(42), t(43), t(46)],
    ),
    h(
        0x8009_0328,
        "SEC_E_CERT_EXPIRED",
        "The received certificate has expired.",
        &[t(45)],
    ),
    h(
        0x8009_0330,
        "SEC_E_DECRYPT_FAILURE",
        "The specified data could not be decrypted.",
        &[t(21), t(51)],
    ),
    h(
        0x8009_0331,
        "SEC_E_ALGORITHM_MISMATCH",
        "The client and server cannot communicate because they have no common algorithm.",
        &[t(71)],
    ),
    h(
        0x8009_0333,
        "SEC_E_UNFINISHED_CONTEXT_DELETED",
        "A security context was deleted before it was completed.",
        &[t(90)],
    ),
    h(
        0x8009_0350,
        "SEC_E_DOWNGRADE_DETECTED",
        "The system detected a possible attempt to compromise security.",
        &[],
    ),
    h(
        0x8009_2010,
        "CRYPT_E_REVOKED",
        "The certificate has been revoked by its issuer.",
        &[t(44)],
    ),
    CodeEntry {
        note:
            "HRESULT_FROM_WIN32(ERROR_NTLM_BLOCKED): how Windows applications and mstsc report a \
               logon refused by a \"Restrict NTLM\" policy.",
        ..h(
            0x8007_0791,
            "HRESULT_FROM_WIN32(ERROR_NTLM_BLOCKED)",
            "NTLM authentication has been blocked by policy.",
            &[
                code(Family::Win32, 1937),
                code(Family::Ntstatus, 0xC000_0418),
            ],
        )
    },
    h(
        0x8009_0342,
        "SEC_E_KDC_UNKNOWN_ETYPE",
        "The encryption type requested is not supported by the KDC.",
        &[
            code(Family::Kerberos, 14),
            code(Family::Ntstatus, 0xC000_02FD),
        ],
    ),
    h(
        0x8009_0343,
        "SEC_E_UNSUPPORTED_PREAUTH",
        "An unsupported pre-authentication mechanism was presented to the Kerberos package.",
        &[],
    ),
];
