//! RDP_NEG_FAILURE `failureCode` (MS-RDPBCGR 2.2.1.2.2): the server's answer to the X.224
//! Connection Request when it cannot accept any requested security protocol. The server then
//! closes the connection (3.3.5.3.2). The spec, Microsoft's test suite, FreeRDP and IronRDP's
//! `nego.rs` agree on 1–6 (no source defines a 7); any other value is raw and undocumented.

use crate::{CodeEntry, Family};

const SRC: &str = "MS-RDPBCGR 2.2.1.2.2";

const fn n(value: u32, name: &'static str, meaning: &'static str) -> CodeEntry {
    CodeEntry::new(Family::NegFailure, value, name, meaning, SRC)
}

pub const TABLE: &[CodeEntry] = &[
    CodeEntry {
        note: "FreeRDP reacts by retrying with TLS only.",
        ..n(1, "SSL_REQUIRED_BY_SERVER", "The server requires Enhanced RDP Security (TLS or CredSSP); if the client asked only for CredSSP, the server supports TLS only.")
    },
    CodeEntry {
        note: "FreeRDP reacts by retrying with Standard RDP Security.",
        ..n(2, "SSL_NOT_ALLOWED_BY_SERVER", "The server is configured for Standard RDP Security only and accepts no external security protocol.")
    },
    CodeEntry {
        note: "Fatal for FreeRDP (reported as a TLS connect failure). On Windows it points at the \
               RDP certificate or its private key (see Schannel 36870, RemoteConnectionManager \
               1057/1058).",
        ..n(3, "SSL_CERT_NOT_ON_SERVER", "The server has no usable authentication certificate, so it cannot start TLS or CredSSP.")
    },
    n(4, "INCONSISTENT_FLAGS", "The requested protocols do not agree with the protocol already in use (only with the Direct Approach, when TLS is already running)."),
    CodeEntry {
        note: "FreeRDP retries with NLA only; if NLA is disabled it reports \
               ERRCONNECT_HYBRID_REQUIRED_BY_SERVER.",
        ..n(5, "HYBRID_REQUIRED_BY_SERVER", "The server requires CredSSP (Network Level Authentication).")
    },
    n(6, "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER", "The server requires TLS with client-certificate authentication."),
];
