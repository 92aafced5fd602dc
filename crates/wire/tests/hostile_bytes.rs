//! Every decoder that reads server bytes, fed random and mutated input: none may panic, whatever
//! arrives. Deterministic (a fixed xorshift seed), so a failure reproduces.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

use rdpdoctor_wire::rdp_crypto::exchange::{open_server_frame, server_security_data};
use rdpdoctor_wire::rdp_crypto::{ClientSecurity, Method, ServerPublicKey, SessionKeys};
use rdpdoctor_wire::{credssp, mcs, ntlm, session, tpkt, x224};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// `seed` with one to four bytes changed, cut or inserted.
    fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut b = seed.to_vec();
        for _ in 0..1 + self.next() % 4 {
            if b.is_empty() {
                break;
            }
            let i = (self.next() as usize) % b.len();
            match self.next() % 3 {
                0 => b[i] = self.next() as u8,
                1 => b.truncate(i),
                _ => b.insert(i, self.next() as u8),
            }
        }
        b
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = (self.next() as usize) % (max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Valid messages recorded from the lab servers (lab/OBSERVED.md), to mutate.
fn seeds() -> Vec<Vec<u8>> {
    let hex = |h: &str| {
        (0..h.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
            .collect::<Vec<u8>>()
    };
    vec![
        hex("030000130ed00000123400020108000100000000"),
        hex("030000130ed00000000000030008000500000000"),
        hex("0300000b06d00000123400"),
        hex("0300000902f0802180"),
        ntlm::negotiate_message(),
    ]
}

fn feed(b: &[u8]) {
    let _ = tpkt::frame(b);
    let _ = x224::decode_connection_confirm(b);
    let _ = mcs::decode_connect_response(b);
    let _ = mcs::server_certificate(b);
    let _ = ntlm::parse_challenge(b);
    let _ = credssp::frame(b);
    let _ = credssp::decode(b);
    let _ = credssp::decode_early_user_auth(b);
    let _ = credssp::subject_public_key(b);
    let _ = session::frame_len(b);
    let _ = session::inspect(b);
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        feed(&rng.bytes(300));
    }
}

#[test]
fn mutated_real_messages_never_panic() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for seed in seeds() {
        for _ in 0..5_000 {
            let b = rng.mutate(&seed);
            feed(&b);
        }
    }
}

/// Standard RDP Security (rdp_crypto) under every method: server keys, Connect Responses and
/// encrypted PDUs, random and mutated (an encrypted Synchronize PDU, a proprietary certificate,
/// a fast-path header with the encrypted flag), never panic.
#[test]
fn rdp_crypto_never_panics() {
    let mut sessions: Vec<ClientSecurity> = [
        Method::Rc4Bit40,
        Method::Rc4Bit56,
        Method::Rc4Bit128,
        Method::Fips,
    ]
    .into_iter()
    .map(|m| ClientSecurity::new(&SessionKeys::derive(m, &[1; 32], &[2; 32]).unwrap(), false))
    .collect();
    let mut feed = |b: &[u8]| {
        let _ = ServerPublicKey::from_certificate(b);
        let _ = ServerPublicKey::from_x509_der(b);
        let _ = server_security_data(b);
        for s in sessions.iter_mut() {
            let _ = s.open_slow_path(b);
            let _ = s.open_fast_path(b);
            let _ = open_server_frame(s, b);
        }
    };
    let hex = |h: &str| hex::decode(h.replace(' ', "")).unwrap();
    let seeds = [
        hex("0300003002f08068000103eb7022 0800 0000 6eccc0a0212d6fdc 7daf5e6bafd8ae9eb8df485e5dfe05b8ba278f2b446f"),
        hex(concat!(
            "010000000100000001000000 0600 5c00 52534131 48000000 00020000 3f000000 01000100",
            "83765b098fc174121bd34e72724dbece551d293d0eed2809506632fa1dd2cc42de5b4e3c35f6735b",
            "0c0db0a64d76bac0885fc4670bb8a323a6c779bd80d1a875 0000000000000000 0800 0800",
            "0000000000000000"
        )),
        hex("8020 1000 0100 0000 0000000000000000 0000000000000000 0000000000000000"),
    ];
    let mut rng = Rng(0x5EED_0DD5_1234_5678);
    for _ in 0..5_000 {
        feed(&rng.bytes(300));
    }
    for seed in &seeds {
        for _ in 0..3_000 {
            let b = rng.mutate(seed);
            feed(&b);
        }
    }
}
