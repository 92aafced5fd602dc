//! TLS alert descriptions (RFC 5246 7.2, RFC 8446 6), as Schannel logs them in System events
//! 36887 (alert received) and 36888 (alert generated and sent). `see_also` holds the
//! SECURITY_STATUS Schannel maps each alert to (Schannel error-code table). Alerts Schannel does
//! not list (0, 86, 109, 112–116, 120) pass through raw.

use crate::{CodeEntry, CodeRef, Family};

const SRC: &str =
    "RFC 5246 7.2 / RFC 8446 6; Schannel error codes for TLS and SSL alerts (win32 docs)";
const SRC_RFC: &str = "RFC 8446 6 (not in Schannel's alert table)";

const fn a(
    value: u32,
    name: &'static str,
    meaning: &'static str,
    see_also: &'static [CodeRef],
) -> CodeEntry {
    CodeEntry::new(Family::TlsAlert, value, name, meaning, SRC).with_see_also(see_also)
}

const fn r(value: u32, name: &'static str, meaning: &'static str) -> CodeEntry {
    CodeEntry::new(Family::TlsAlert, value, name, meaning, SRC_RFC)
}

const fn hr(v: u32) -> &'static [CodeRef] {
    match v {
        0x8009_0326 => &[CodeRef {
            family: Family::Hresult,
            value: 0x8009_0326,
        }],
        0x8009_030F => &[CodeRef {
            family: Family::Hresult,
            value: 0x8009_030F,
        }],
        0x8009_0330 => &[CodeRef {
            family: Family::Hresult,
            value: 0x8009_0330,
        }],
        0x8009_0327 => &[CodeRef {
            family: Family::Hresult,
            value: 0x8009_0327,
        }],
        0x8009_2010 => &[CodeRef {
            family: Family::Hresult,
            value: 0x8009_2010,
        }],
        0x8009_0328 => &[CodeRef {
            family: Family::Hresult,
            value: 0x8009_0328,
        }],
        0x8009_0325 => &[CodeRef {
            family: Family::Hresult,
            value: 0x8009_0325,
        }],
        0x8009_030C => &[CodeRef {
            family: Family::Hresult,
            value: 0x8009_030C,
        }],
        0x8009_0302 => &[CodeRef {
            family: Family::Hresult,
            value: 0x8009_0302,
        }],
        0x8009_0331 => &[CodeRef {
            family: Family::Hresult,
            value: 0x8009_0331,
        }],
        0x8009_0304 => &[CodeRef {
            family: Family::Hresult,
            value: 0x8009_0304,
        }],
        0x8009_0333 => &[CodeRef {
            family: Family::Hresult,
            value: 0x8009_0333,
        }],
        _ => &[],
    }
}

pub const TABLE: &[CodeEntry] = &[
    r(0, "close_notify", "The sender is closing the connection normally (not an error)."),
    a(10, "unexpected_message", "An inappropriate message was received.", hr(0x8009_0326)),
    a(20, "bad_record_mac", "A record failed its integrity check.", hr(0x8009_030F)),
    CodeEntry { aliases: &["decryption_failed_RESERVED"], ..a(21, "decryption_failed", "A record could not be decrypted (obsolete since TLS 1.2).", hr(0x8009_0330)) },
    a(22, "record_overflow", "A record was longer than allowed.", hr(0x8009_0326)),
    CodeEntry { aliases: &["decompression_failure_RESERVED"], ..a(30, "decompression_failure", "Decompression failed (obsolete).", hr(0x8009_030F)) },
    CodeEntry {
        note: "On an RDP server (36888 with alert 40) this usually means no protocol version or \
               cipher suite in common, or a server credential (certificate/key) it cannot use.",
        ..a(40, "handshake_failure", "No acceptable set of security parameters could be negotiated.", hr(0x8009_0326))
    },
    a(42, "bad_certificate", "A certificate was corrupt or its signature did not verify.", hr(0x8009_0327)),
    a(43, "unsupported_certificate", "A certificate was of an unsupported type.", hr(0x8009_0327)),
    a(44, "certificate_revoked", "A certificate was revoked by its signer.", hr(0x8009_2010)),
    a(45, "certificate_expired", "A certificate has expired or is not yet valid.", hr(0x8009_0328)),
    a(46, "certificate_unknown", "Some other problem with a certificate made it unacceptable.", hr(0x8009_0327)),
    a(47, "illegal_parameter", "A handshake field was out of range or inconsistent.", hr(0x8009_0326)),
    a(48, "unknown_ca", "The certificate chain does not lead to a trusted CA.", hr(0x8009_0325)),
    a(49, "access_denied", "A valid certificate was received, but access control refused the handshake.", hr(0x8009_030C)),
    a(50, "decode_error", "A message could not be decoded.", hr(0x8009_0326)),
    a(51, "decrypt_error", "A cryptographic operation in the handshake failed (signature, key exchange or Finished check).", hr(0x8009_0330)),
    CodeEntry { aliases: &["export_restriction_RESERVED"], ..a(60, "export_restriction", "An export-restricted parameter was refused (obsolete).", hr(0x8009_0326)) },
    CodeEntry {
        note: "Typical when one side has the other's TLS versions disabled (for example TLS 1.0 \
               turned off on a server that cannot do TLS 1.2).",
        ..a(70, "protocol_version", "The protocol version offered is recognised but not supported.", hr(0x8009_0302))
    },
    a(71, "insufficient_security", "The server requires cipher suites stronger than the client offers.", hr(0x8009_0331)),
    CodeEntry {
        note: "On an RDP server often a credential or private-key problem (compare Schannel 36870).",
        ..a(80, "internal_error", "An internal error unrelated to the peer made the handshake impossible.", hr(0x8009_0304))
    },
    r(86, "inappropriate_fallback", "The client retried with a lower version although the server supports a higher one."),
    a(90, "user_canceled", "The handshake was cancelled for a reason unrelated to a protocol failure.", hr(0x8009_0333)),
    CodeEntry { aliases: &["no_renegotiation_RESERVED"], ..a(100, "no_renegotiation", "Renegotiation was refused.", hr(0x8009_0326)) },
    r(109, "missing_extension", "A required extension was missing (TLS 1.3)."),
    a(110, "unsupported_extension", "An extension was received that was not offered or not allowed.", hr(0x8009_0326)),
    r(112, "unrecognized_name", "The server does not recognise the name sent in the SNI extension."),
    r(113, "bad_certificate_status_response", "An invalid or unacceptable OCSP response was received."),
    r(115, "unknown_psk_identity", "No acceptable pre-shared key identity was offered."),
    r(116, "certificate_required", "The server requires a client certificate and none was sent (TLS 1.3)."),
    r(120, "no_application_protocol", "No application protocol (ALPN) in common."),
];
