//! What the gateway's certificate says, beyond whether it verifies: whether its chain leads to
//! a trusted root at all, and whether it names the gateway. A certificate that fails
//! verification fails for one of three reasons a user fixes differently (gateway-cert-untrusted,
//! gateway-cert-name-mismatch, gateway-cert-expired): each is tested alone here, with the other
//! checks switched off.

use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::X509;
use std::net::IpAddr;

/// `(chain_trusted, name_matches)` for `chain` (leaf first) and the gateway's `name` (or `ip`
/// when it was given as an address). `None` when OpenSSL could not run the check.
pub(super) fn facts(
    chain: &[X509],
    name: Option<&str>,
    ip: IpAddr,
) -> (Option<bool>, Option<bool>) {
    let trusted = chain_trusted(chain).ok();
    let named = names_gateway(chain, name, ip).ok();
    // A failed verification leaves errors on OpenSSL's per-thread queue, which would turn the
    // next SSL_read's WANT_READ on this thread into a fatal error (see certificate.rs).
    drop(openssl::error::ErrorStack::get());
    (trusted, named)
}

/// The chain verifies against the system trust store, dates not checked and no name asked.
fn chain_trusted(chain: &[X509]) -> Result<bool, openssl::error::ErrorStack> {
    let Some(leaf) = chain.first() else {
        return Ok(false);
    };
    let mut store = X509StoreBuilder::new()?;
    store.set_default_paths()?;
    let mut param = X509VerifyParam::new()?;
    param.set_flags(X509VerifyFlags::NO_CHECK_TIME)?;
    store.set_param(&param)?;
    crate::trust::verify_in(store, leaf, chain)
}

/// The leaf names `name` (or `ip`): the leaf is made its own trust anchor, so only the name
/// check can fail.
fn names_gateway(
    chain: &[X509],
    name: Option<&str>,
    ip: IpAddr,
) -> Result<bool, openssl::error::ErrorStack> {
    let Some(leaf) = chain.first() else {
        return Ok(false);
    };
    let mut store = X509StoreBuilder::new()?;
    store.add_cert(leaf.clone())?;
    let mut param = X509VerifyParam::new()?;
    param.set_flags(X509VerifyFlags::PARTIAL_CHAIN | X509VerifyFlags::NO_CHECK_TIME)?;
    match name {
        Some(n) => param.set_host(n)?,
        None => param.set_ip(ip)?,
    }
    store.set_param(&param)?;
    crate::trust::verify_in(store, leaf, &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::asn1::Asn1Time;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::extension::SubjectAlternativeName;
    use openssl::x509::X509NameBuilder;

    fn self_signed(dns: &str, expired: bool) -> X509 {
        let key = Rsa::generate(2048)
            .and_then(PKey::from_rsa)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut name = X509NameBuilder::new().unwrap_or_else(|e| panic!("{e}"));
        name.append_entry_by_text("CN", dns)
            .unwrap_or_else(|e| panic!("{e}"));
        let name = name.build();
        let mut b = X509::builder().unwrap_or_else(|e| panic!("{e}"));
        b.set_version(2).unwrap_or_else(|e| panic!("{e}"));
        b.set_subject_name(&name).unwrap_or_else(|e| panic!("{e}"));
        b.set_issuer_name(&name).unwrap_or_else(|e| panic!("{e}"));
        b.set_pubkey(&key).unwrap_or_else(|e| panic!("{e}"));
        let san = SubjectAlternativeName::new()
            .dns(dns)
            .build(&b.x509v3_context(None, None))
            .unwrap_or_else(|e| panic!("{e}"));
        b.append_extension(san).unwrap_or_else(|e| panic!("{e}"));
        let (from, to) = if expired {
            ("20200101000000Z", "20210101000000Z")
        } else {
            ("20240101000000Z", "20990101000000Z")
        };
        b.set_not_before(&Asn1Time::from_str(from).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
        b.set_not_after(&Asn1Time::from_str(to).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
        b.sign(&key, MessageDigest::sha256())
            .unwrap_or_else(|e| panic!("{e}"));
        b.build()
    }

    #[test]
    fn the_name_check_ignores_trust_and_dates() {
        let ip: IpAddr = [127, 0, 0, 1].into();
        let gw = self_signed("gw.corp.example", true);
        let (trusted, named) = facts(std::slice::from_ref(&gw), Some("gw.corp.example"), ip);
        // Self-signed and expired, yet it names the gateway; no trust store has it.
        assert_eq!((trusted, named), (Some(false), Some(true)));
        let (_, named) = facts(std::slice::from_ref(&gw), Some("rdg.corp.example"), ip);
        assert_eq!(named, Some(false));
        let (_, named) = facts(std::slice::from_ref(&gw), None, ip);
        assert_eq!(named, Some(false), "no IP address entry");
        assert!(openssl::error::ErrorStack::get().errors().is_empty());
        assert_eq!(facts(&[], Some("x"), ip), (Some(false), Some(false)));
    }
}
