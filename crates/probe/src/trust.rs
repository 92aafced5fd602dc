//! Whether the server's identity is proven before credentials are delegated.
//!
//! The probes handshake at OpenSSL security level 0 without verification, so that broken and old
//! servers can be described. That is fine for reading facts and wrong for sending a password: a
//! password goes out only over a channel whose server identity is proven. This module judges the
//! certificate a TLS handshake saw: it verifies against the system trust store for the probed
//! name (what mstsc calls a trusted certificate), or matches the SHA-256 fingerprint the user
//! pinned, or the user said `--trust-any-cert`.

use openssl::hash::MessageDigest;
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509StoreContext, X509};
use rdpdoctor_observations::IdentityProof;
use std::net::IpAddr;

/// What the user told rdpdoctor to trust.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// `--cert-sha256`: the leaf certificate's SHA-256 fingerprint (32 bytes).
    pub pinned_sha256: Option<Vec<u8>>,
    /// `--trust-any-cert`: delegate even when nothing proves who the server is.
    pub any: bool,
    /// The certificate remembered for this target (`--known-certs`): another key on the logon
    /// connection withholds the NTLM AUTHENTICATE.
    pub remembered: Option<rdpdoctor_observations::KnownCertificate>,
    /// Signs of interception gathered before the logon connection: filled in by the check
    /// itself (whatever is given here is replaced).
    pub signs: Vec<String>,
}

impl Trust {
    /// Parses a fingerprint as the report shows it: 64 hex digits, with or without `:` or
    /// spaces between the bytes.
    pub fn parse_sha256(text: &str) -> Result<Vec<u8>, String> {
        let clean: String = text
            .chars()
            .filter(|c| !matches!(c, ':' | ' ' | '-'))
            .collect();
        match hex::decode(&clean) {
            Ok(bytes) if bytes.len() == 32 => Ok(bytes),
            _ => Err(format!(
                "--cert-sha256 {text:?} is not a SHA-256 fingerprint: give the 64 hex digits the report shows under \"SHA-256\""
            )),
        }
    }

    /// Judges the chain a TLS handshake presented (leaf first) for the probed `name` (a host
    /// name, or `None` when the target was an address) at `ip`.
    pub(crate) fn judge(&self, chain: &[X509], name: Option<&str>, ip: IpAddr) -> IdentityProof {
        let Some(leaf) = chain.first() else {
            return self.unproven("the server presented no certificate".to_string());
        };
        if let Some(pin) = &self.pinned_sha256 {
            return match leaf.digest(MessageDigest::sha256()) {
                Ok(d) if d.as_ref() == pin.as_slice() => IdentityProof::PinnedCertificate,
                Ok(d) => IdentityProof::Unproven {
                    // A pin that does not match is never overridden by --trust-any-cert: the user
                    // said which certificate is the server's, and this is another one.
                    reason: format!(
                        "the certificate's SHA-256 {} is not the pinned {}",
                        hex::encode_upper(d),
                        hex::encode_upper(pin)
                    ),
                },
                Err(e) => self.unproven(format!("cannot hash the certificate: {e}")),
            };
        }
        match verify(chain, name, ip) {
            Ok(()) => IdentityProof::TrustedCertificate,
            Err(reason) => self.unproven(reason),
        }
    }

    fn unproven(&self, reason: String) -> IdentityProof {
        if self.any {
            IdentityProof::TrustAnyCert
        } else {
            IdentityProof::Unproven { reason }
        }
    }
}

/// Verifies `chain` against the system trust store (OpenSSL's default paths, which honour
/// SSL_CERT_FILE and SSL_CERT_DIR) for `name`, or for `ip` when the target was an address.
fn verify(chain: &[X509], name: Option<&str>, ip: IpAddr) -> Result<(), String> {
    let leaf = chain.first().ok_or("no certificate")?;
    let mut store = X509StoreBuilder::new().map_err(|e| e.to_string())?;
    store
        .set_default_paths()
        .map_err(|e| format!("cannot load the system trust store: {e}"))?;
    let mut param = X509VerifyParam::new().map_err(|e| e.to_string())?;
    match name {
        Some(n) => param.set_host(n).map_err(|e| e.to_string())?,
        None => param.set_ip(ip).map_err(|e| e.to_string())?,
    }
    store.set_param(&param).map_err(|e| e.to_string())?;
    let store = store.build();
    let mut untrusted = Stack::new().map_err(|e| e.to_string())?;
    for c in chain.iter().skip(1) {
        untrusted.push(c.clone()).map_err(|e| e.to_string())?;
    }
    let mut ctx = X509StoreContext::new().map_err(|e| e.to_string())?;
    let (ok, error) = ctx
        .init(&store, leaf, &untrusted, |c| {
            let ok = c.verify_cert()?;
            Ok((ok, c.error()))
        })
        .map_err(|e| e.to_string())?;
    if ok {
        Ok(())
    } else {
        let what = name.map_or_else(|| ip.to_string(), str::to_string);
        Err(format!(
            "the certificate does not verify for {what} against the system trust store ({})",
            error.error_string()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fingerprints_as_reports_show_them() {
        let hex64 = "AB".repeat(32);
        assert_eq!(Trust::parse_sha256(&hex64).map(|b| b.len()), Ok(32));
        let colons = vec!["ab"; 32].join(":");
        assert_eq!(Trust::parse_sha256(&colons).map(|b| b.len()), Ok(32));
        assert!(Trust::parse_sha256("abcd").is_err());
        assert!(Trust::parse_sha256(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn no_certificate_is_never_proof() {
        let t = Trust::default();
        let ip: IpAddr = [127, 0, 0, 1].into();
        assert!(matches!(
            t.judge(&[], Some("x"), ip),
            IdentityProof::Unproven { .. }
        ));
    }
}
