//! Reads the facts out of the server's X.509 certificate (RFC 5280).

use jiff::Timestamp;
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::Id;
use openssl::x509::{X509NameRef, X509Ref, X509VerifyResult};
use rdpdoctor_observations::Certificate;
use std::net::IpAddr;

/// Extracts the facts of `leaf`; `chain_len` is how many certificates the server sent.
pub(crate) fn describe(leaf: &X509Ref, chain_len: usize) -> Result<Certificate, String> {
    let subject = name_text(leaf.subject_name());
    let issuer = name_text(leaf.issuer_name());
    let subject_cn = leaf
        .subject_name()
        .entries_by_nid(Nid::COMMONNAME)
        .filter_map(|e| e.data().to_string().ok())
        .collect();
    let mut san_dns = Vec::new();
    let mut san_ip = Vec::new();
    if let Some(names) = leaf.subject_alt_names() {
        for n in names.iter() {
            if let Some(d) = n.dnsname() {
                san_dns.push(d.to_string());
            } else if let Some(ip) = n.ipaddress() {
                if let Some(ip) = ip_from_bytes(ip) {
                    san_ip.push(ip);
                }
            }
        }
    }
    let serial_hex = leaf
        .serial_number()
        .to_bn()
        .and_then(|bn| bn.to_hex_str().map(|s| s.to_string()))
        .map_err(|e| format!("serial number: {e}"))?;
    let sha256_hex = leaf
        .digest(MessageDigest::sha256())
        .map(|d| hex::encode(&*d))
        .map_err(|e| format!("fingerprint: {e}"))?;
    let sha1_hex = leaf
        .digest(MessageDigest::sha1())
        .map(|d| hex::encode_upper(&*d))
        .map_err(|e| format!("thumbprint: {e}"))?;
    let public_key_sha256 = leaf
        .public_key()
        .and_then(|k| k.public_key_to_der())
        .ok()
        .map(|der| hex::encode(openssl::sha::sha256(&der)));
    let not_before = timestamp(leaf.not_before())?;
    let not_after = timestamp(leaf.not_after())?;
    let never_expires = is_no_expiry(leaf.not_after());
    let (key_type, key_bits, self_verifies) = match leaf.public_key() {
        Ok(key) => {
            let kind = match key.id() {
                Id::RSA | Id::RSA_PSS => "RSA",
                Id::EC => "EC",
                Id::DSA => "DSA",
                Id::ED25519 => "Ed25519",
                Id::ED448 => "Ed448",
                _ => "other",
            };
            let verifies = leaf.verify(&key).unwrap_or(false);
            // A failed verification (the usual answer for a CA-signed leaf) returns 0 and leaves
            // its errors on OpenSSL's per-thread error queue; a later SSL_read on this thread
            // would then report WANT_READ as a fatal SSL error and end a healthy connection.
            drop(openssl::error::ErrorStack::get());
            (kind.to_string(), key.bits(), verifies)
        }
        Err(_) => ("unreadable".to_string(), 0, false),
    };
    let sig_nid = leaf.signature_algorithm().object().nid();
    let signature_algorithm = sig_nid
        .long_name()
        .map(str::to_string)
        .unwrap_or_else(|_| leaf.signature_algorithm().object().to_string());
    let signature_digest = sig_nid
        .signature_algorithms()
        .and_then(|a| a.digest.short_name().ok().map(|s| s.to_ascii_uppercase()));
    let self_signed = leaf.issued(leaf) == X509VerifyResult::OK && self_verifies;
    Ok(Certificate {
        subject,
        subject_cn,
        issuer,
        san_dns,
        san_ip,
        serial_hex,
        sha256_hex,
        public_key_sha256,
        sha1_hex,
        not_before,
        not_after,
        never_expires,
        self_signed,
        key_type,
        key_bits,
        signature_algorithm,
        signature_digest,
        chain_len,
    })
}

fn name_text(name: &X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().unwrap_or_else(|_| "?".to_string());
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// 9999-12-31T23:59:59Z, the GeneralizedTime RFC 5280 4.1.2.5 reserves for "no well-defined
/// expiration date".
pub(crate) const NO_EXPIRY_UNIX: i64 = 253_402_300_799;

/// A certificate time as a timestamp. jiff's range ends a day before 9999-12-31T23:59:59Z, so
/// RFC 5280's "no expiry" value (and anything past the range) is clamped to the range's end
/// rather than dropping the whole certificate; `Certificate::never_expires` keeps the meaning.
fn timestamp(t: &Asn1TimeRef) -> Result<Timestamp, String> {
    let epoch = Asn1Time::from_unix(0).map_err(|e| e.to_string())?;
    let diff = epoch.diff(t).map_err(|e| e.to_string())?;
    let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    Ok(Timestamp::from_second(secs).unwrap_or(if secs > 0 {
        Timestamp::MAX
    } else {
        Timestamp::MIN
    }))
}

/// Whether `t` is RFC 5280's "no well-defined expiration date" (or later).
fn is_no_expiry(t: &Asn1TimeRef) -> bool {
    Asn1Time::from_unix(0)
        .and_then(|epoch| epoch.diff(t))
        .map(|d| i64::from(d.days) * 86_400 + i64::from(d.secs) >= NO_EXPIRY_UNIX)
        .unwrap_or(false)
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(IpAddr::from),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::{X509NameBuilder, X509};

    fn cert(not_after: &str) -> X509 {
        signed_by(not_after, None)
    }

    /// A certificate signed by its own key, or by `issuer_key` (a CA-signed leaf).
    fn signed_by(not_after: &str, issuer_key: Option<&PKey<openssl::pkey::Private>>) -> X509 {
        let key = Rsa::generate(2048)
            .and_then(PKey::from_rsa)
            .unwrap_or_else(|e| panic!("key: {e}"));
        let mut name = X509NameBuilder::new().unwrap_or_else(|e| panic!("{e}"));
        name.append_entry_by_text("CN", "forever.example")
            .unwrap_or_else(|e| panic!("{e}"));
        let name = name.build();
        let mut b = X509::builder().unwrap_or_else(|e| panic!("{e}"));
        b.set_version(2).unwrap_or_else(|e| panic!("{e}"));
        b.set_subject_name(&name).unwrap_or_else(|e| panic!("{e}"));
        b.set_issuer_name(&name).unwrap_or_else(|e| panic!("{e}"));
        b.set_pubkey(&key).unwrap_or_else(|e| panic!("{e}"));
        let from = Asn1Time::from_str("20240101000000Z").unwrap_or_else(|e| panic!("{e}"));
        let to = Asn1Time::from_str(not_after).unwrap_or_else(|e| panic!("{e}"));
        b.set_not_before(&from).unwrap_or_else(|e| panic!("{e}"));
        b.set_not_after(&to).unwrap_or_else(|e| panic!("{e}"));
        b.sign(issuer_key.unwrap_or(&key), MessageDigest::sha256())
            .unwrap_or_else(|e| panic!("{e}"));
        b.build()
    }

    #[test]
    fn describing_a_ca_signed_leaf_leaves_no_error_on_the_openssl_queue() {
        // A stale error there turns the next SSL_read's WANT_READ on this thread into a fatal
        // error: a held session was "dropped" the instant it had nothing to read.
        let ca = Rsa::generate(2048)
            .and_then(PKey::from_rsa)
            .unwrap_or_else(|e| panic!("key: {e}"));
        let leaf = signed_by("20350101000000Z", Some(&ca));
        drop(openssl::error::ErrorStack::get());
        let c = describe(&leaf, 2).unwrap_or_else(|e| panic!("{e}"));
        assert!(!c.self_signed);
        assert!(
            openssl::error::ErrorStack::get().errors().is_empty(),
            "describe left errors on the queue"
        );
    }

    #[test]
    fn rfc5280_no_expiry_is_kept_and_marked() {
        let c = describe(&cert("99991231235959Z"), 1)
            .unwrap_or_else(|e| panic!("the certificate vanished: {e}"));
        assert!(c.never_expires);
        assert_eq!(c.not_after, Timestamp::MAX);
        let c = describe(&cert("20350101000000Z"), 1).unwrap_or_else(|e| panic!("{e}"));
        assert!(!c.never_expires);
    }
}
