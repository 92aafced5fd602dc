//! The server key of Standard RDP Security: keys that cannot carry a client random are refused,
//! and the X.509 form (MS-RDPBCGR 5.3.3.2) is read from a chain made here with OpenSSL and checked
//! by decrypting with OpenSSL's private key. (Random and mutated input: tests/hostile_bytes.rs.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

use rdpdoctor_wire::rdp_crypto::{Method, ServerPublicKey, SessionKeys};

/// A proprietary certificate (Windows 2000's, tests/rdp_crypto_windows.rs).
fn w2000_certificate() -> Vec<u8> {
    hex::decode(
        concat!(
            "010000000100000001000000 0600 5c00 52534131 48000000 00020000 3f000000 01000100",
            "83765b098fc174121bd34e72724dbece551d293d0eed2809506632fa1dd2cc42de5b4e3c35f6735b",
            "0c0db0a64d76bac0885fc4670bb8a323a6c779bd80d1a875 0000000000000000 0800 0800",
            "0000000000000000"
        )
        .replace(' ', ""),
    )
    .unwrap()
}

#[test]
fn keys_that_cannot_carry_a_client_random_are_refused() {
    // A proprietary certificate whose modulus is all zeros.
    let mut cert = w2000_certificate();
    for b in &mut cert[36..100] {
        *b = 0;
    }
    let err = ServerPublicKey::from_certificate(&cert).unwrap_err();
    assert!(err.to_string().contains("cannot carry"), "{err}");
    assert!(SessionKeys::derive(Method::Rc4Bit128, &[0; 31], &[0; 32]).is_err());
}

#[test]
fn the_key_of_an_x509_chain_is_its_last_certificate() {
    use openssl::{asn1::Asn1Time, bn::BigNum, hash::MessageDigest, pkey::PKey, rsa::Rsa};
    let make = |bits: u32| {
        let rsa = Rsa::generate(bits).unwrap();
        let n = rsa.n().to_vec();
        let key = PKey::from_rsa(rsa).unwrap();
        let mut b = openssl::x509::X509::builder().unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
            .unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        (b.build().to_der().unwrap(), n, key)
    };
    let (issuer, _, _) = make(1024);
    let (leaf, modulus_be, key) = make(2048);
    // CERT_CHAIN_VERSION_2: NumCertBlobs, then (cbCert, abCert) each, leaf last (2.2.1.4.3.1).
    let mut chain = 2u32.to_le_bytes().to_vec();
    chain.extend_from_slice(&2u32.to_le_bytes());
    for der in [&issuer, &leaf] {
        chain.extend_from_slice(&(der.len() as u32).to_le_bytes());
        chain.extend_from_slice(der);
    }
    chain.extend_from_slice(&[0; 16]);
    let public = ServerPublicKey::from_certificate(&chain).unwrap();
    assert_eq!(public.bits(), 2048);
    // Textbook RSA: decrypting with OpenSSL's private key (no padding, big-endian) gives back
    // the client random that was encrypted little-endian.
    let random: [u8; 32] = std::array::from_fn(|i| i as u8 + 1);
    let encrypted = public.encrypt_client_random(&random);
    assert_eq!(encrypted.len(), modulus_be.len() + 8);
    assert!(encrypted[modulus_be.len()..].iter().all(|b| *b == 0));
    let mut be: Vec<u8> = encrypted[..modulus_be.len()].to_vec();
    be.reverse();
    let rsa = key.rsa().unwrap();
    let mut out = vec![0u8; modulus_be.len()];
    let n = rsa
        .private_decrypt(&be, &mut out, openssl::rsa::Padding::NONE)
        .unwrap();
    let mut le = out[..n].to_vec();
    le.reverse();
    assert_eq!(&le[..32], &random);
    assert!(le[32..].iter().all(|b| *b == 0));
}
