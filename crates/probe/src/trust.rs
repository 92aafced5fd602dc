//! Whether the server's identity is proven before credentials are delegated.
//!
//! The probes handshake at OpenSSL security level 0 without verification, so that broken and old
//! servers can be described. That is fine for reading facts and wrong for sending a password: a
//! password goes out only over a channel whose server identity is proven. This module judges the
//! certificate chain a TLS handshake saw: it verifies against the system trust store for the
//! probed name (what mstsc calls a trusted certificate), or matches a pin the user gave
//! (`--cert-sha256 [leaf:|ca:|spki:]HEX`, several allowed), or is the TLS terminator the admin
//! expects (`--expect-terminator`), or the user said `--trust-any-cert`.

use openssl::hash::MessageDigest;
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509Ref, X509StoreContext, X509};
use rdpdoctor_observations::{CertPin, ChainIdentity, IdentityProof, PinKind};
use std::net::IpAddr;

/// What the user told rdpdoctor to trust.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// `--cert-sha256`: the leaf certificates, issuing CAs or public keys that prove the server.
    pub pins: Vec<CertPin>,
    /// `--expect-terminator`: the TLS terminator the admin runs in front of the server on
    /// purpose (a PAM proxy, a bastion); it is accepted in the server's place.
    pub terminators: Vec<CertPin>,
    /// `--trust-any-cert`: delegate even when nothing proves who the server is.
    pub any: bool,
    /// The certificate remembered for this target (`--known-certs`), with the other nodes of a
    /// farm: another key on the logon connection withholds the NTLM AUTHENTICATE.
    pub remembered: Option<rdpdoctor_observations::KnownCertificate>,
    /// Signs of interception gathered before the logon connection: filled in by the check
    /// itself (whatever is given here is replaced).
    pub signs: Vec<String>,
    /// The leaf the TLS probes saw (its SHA-256) and what its chain proved: filled in by the
    /// check, so that the logon connection, which sees only its leaf, knows the same leaf's chain
    /// verified or matched a CA pin.
    pub probed: Option<(String, ChainIdentity)>,
    /// The server's NTLM CHALLENGE read before the logon (filled in by the check): a negotiated
    /// logon maps `DOMAIN\user` to a realm with it, as the readiness checks do.
    pub challenge: Option<rdpdoctor_observations::NtlmInfo>,
}

impl Trust {
    /// Parses a leaf fingerprint as the report shows it: 64 hex digits, with or without `:` or
    /// spaces between the bytes.
    pub fn parse_sha256(text: &str) -> Result<Vec<u8>, String> {
        let pin = CertPin::parse(text)?;
        hex::decode(&pin.sha256_hex).map_err(|e| e.to_string())
    }

    /// Judges the chain a TLS handshake presented (leaf first) for the probed `name` (a host
    /// name, or `None` when the target was an address) at `ip`.
    pub(crate) fn judge(&self, chain: &[X509], name: Option<&str>, ip: IpAddr) -> IdentityProof {
        if chain.is_empty() {
            return self.unproven("the server presented no certificate".to_string());
        }
        let identity = self.identify(chain, name, ip);
        if !self.pins.is_empty() {
            // A pin that does not match is never overridden by --trust-any-cert: the user said
            // which certificate is the server's, and this is another one.
            return match identity.matched_pin {
                Some(_) => IdentityProof::PinnedCertificate,
                None => IdentityProof::Unproven {
                    reason: rdpdoctor_observations::sign::not_pinned(
                        &leaf_sha256(chain).unwrap_or_default(),
                        &list(&self.pins),
                    ),
                },
            };
        }
        if identity.matched_terminator.is_some() {
            return IdentityProof::PinnedCertificate;
        }
        match (identity.verified_for_target, identity.verify_error) {
            (true, _) => IdentityProof::TrustedCertificate,
            (false, reason) => self.unproven(reason.unwrap_or_default()),
        }
    }

    /// What `chain` proves: verified for the target, the pin and the terminator it matches.
    pub(crate) fn identify(&self, chain: &[X509], name: Option<&str>, ip: IpAddr) -> ChainIdentity {
        let (verified_for_target, verify_error) = match verify(chain, name, ip) {
            Ok(()) => (true, None),
            Err(e) => (false, Some(e)),
        };
        ChainIdentity {
            verified_for_target,
            verify_error,
            matched_pin: self.pins.iter().find(|p| chain_matches(p, chain)).cloned(),
            matched_terminator: self
                .terminators
                .iter()
                .find(|p| chain_matches(p, chain))
                .cloned(),
        }
    }

    /// What is known of a leaf seen on another connection than the TLS probes': the leaf and key
    /// pins it matches on its own, and the chain facts of the TLS probes when it is the same leaf.
    pub(crate) fn identity_of_leaf(
        &self,
        leaf: &rdpdoctor_observations::Certificate,
    ) -> ChainIdentity {
        if let Some((sha, identity)) = &self.probed {
            if sha.eq_ignore_ascii_case(&leaf.sha256_hex) {
                return identity.clone();
            }
        }
        ChainIdentity {
            matched_pin: self.pins.iter().find(|p| p.matches_leaf(leaf)).cloned(),
            matched_terminator: self
                .terminators
                .iter()
                .find(|p| p.matches_leaf(leaf))
                .cloned(),
            ..ChainIdentity::default()
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

/// The pins, as the user gave them.
pub(crate) fn list(pins: &[CertPin]) -> String {
    pins.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn sha256(c: &X509Ref) -> Option<String> {
    c.digest(MessageDigest::sha256())
        .ok()
        .map(|d| hex::encode(&*d))
}

fn leaf_sha256(chain: &[X509]) -> Option<String> {
    chain.first().and_then(|l| sha256(l))
}

/// Whether `chain` (leaf first) matches `pin`. A CA pin matches only when the leaf chains up to
/// that CA by signature (a server could send any CA certificate beside its leaf); dates are not
/// weighed here, they have findings of their own.
pub(crate) fn chain_matches(pin: &CertPin, chain: &[X509]) -> bool {
    let Some(leaf) = chain.first() else {
        return false;
    };
    match pin.kind {
        PinKind::Leaf => sha256(leaf).is_some_and(|d| d == pin.sha256_hex),
        PinKind::Spki => leaf
            .public_key()
            .and_then(|k| k.public_key_to_der())
            .is_ok_and(|der| hex::encode(openssl::sha::sha256(&der)) == pin.sha256_hex),
        PinKind::Ca => chain
            .iter()
            .skip(1)
            .filter(|c| sha256(c).is_some_and(|d| d == pin.sha256_hex))
            .any(|ca| issued_by(leaf, ca, chain).unwrap_or(false)),
    }
}

/// Whether `leaf` chains up to `ca` by signature, with the rest of `chain` as intermediates.
fn issued_by(
    leaf: &X509Ref,
    ca: &X509Ref,
    chain: &[X509],
) -> Result<bool, openssl::error::ErrorStack> {
    let mut store = X509StoreBuilder::new()?;
    store.add_cert(ca.to_owned())?;
    let mut param = X509VerifyParam::new()?;
    param.set_flags(X509VerifyFlags::PARTIAL_CHAIN | X509VerifyFlags::NO_CHECK_TIME)?;
    store.set_param(&param)?;
    verify_in(store, leaf, chain)
}

/// Whether `leaf` verifies against `store`, with the rest of `chain` (after the leaf) as
/// untrusted intermediates. The server's and the RD Gateway's checks build their stores.
pub(crate) fn verify_in(
    store: X509StoreBuilder,
    leaf: &X509Ref,
    chain: &[X509],
) -> Result<bool, openssl::error::ErrorStack> {
    let store = store.build();
    let mut untrusted = Stack::new()?;
    for c in chain.iter().skip(1) {
        untrusted.push(c.clone())?;
    }
    let mut ctx = X509StoreContext::new()?;
    ctx.init(&store, leaf, &untrusted, |c| c.verify_cert())
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
    fn pins_name_a_leaf_a_ca_or_a_key() {
        let hex64 = "ab".repeat(32);
        let p = |t: &str| CertPin::parse(t).map(|p| p.kind);
        assert_eq!(p(&hex64), Ok(PinKind::Leaf));
        assert_eq!(p(&format!("leaf:{hex64}")), Ok(PinKind::Leaf));
        assert_eq!(
            p(&format!("CA:{}", vec!["AB"; 32].join(":"))),
            Ok(PinKind::Ca)
        );
        assert_eq!(p(&format!("spki:{hex64}")), Ok(PinKind::Spki));
        assert!(p(&format!("issuer:{hex64}")).is_err());
        assert!(p("ca:abcd").is_err());
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
