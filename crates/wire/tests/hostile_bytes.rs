//! Every decoder that reads server bytes, fed random and mutated input: none may panic, whatever
//! arrives. Deterministic (a fixed xorshift seed), so a failure reproduces.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

use rdpdoctor_wire::{credssp, mcs, ntlm, session, tpkt, x224};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
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
            let mut b = seed.clone();
            for _ in 0..1 + rng.next() % 4 {
                if b.is_empty() {
                    break;
                }
                let i = (rng.next() as usize) % b.len();
                match rng.next() % 3 {
                    0 => b[i] = rng.next() as u8,
                    1 => b.truncate(i),
                    _ => b.insert(i, rng.next() as u8),
                }
            }
            feed(&b);
        }
    }
}
