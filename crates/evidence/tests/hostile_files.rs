//! Damaged or hostile exports must give partial results or a clear error, never a panic:
//! real samples cut and corrupted at random places, and random text after each file header.
//! Deterministic (fixed xorshift seed), so a failure reproduces.

use rdpdoctor_evidence::{read_bytes, ReadOptions};
use std::path::PathBuf;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn samples() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/samples/evtx"
    ))
}

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

fn read(name: &str, bytes: Vec<u8>) {
    let _ = read_bytes(name, bytes, &ReadOptions::default());
}

#[test]
fn cut_and_corrupted_event_logs_never_panic() {
    let path = samples().join("velociraptor__RDPAuth_RemoteConnectionManager.evtx");
    let original = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (../shared must sit beside the checkout)",
            path.display()
        )
    });
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for _ in 0..60 {
        let mut b = original.clone();
        let cut = 8 + (rng.next() as usize) % (b.len() - 8);
        b.truncate(cut);
        for _ in 0..16 {
            let i = (rng.next() as usize) % b.len();
            b[i] = rng.next() as u8;
        }
        read("corrupt.evtx", b);
    }
}

#[test]
fn cut_and_corrupted_xml_and_reg_exports_never_panic() {
    let mut rng = Rng(0x94D0_49BB_1331_11EB);
    for name in [
        "system-machinekeys.xml",
        "rdpclient-utf16.xml",
        "ts-default.reg",
        "ts-broken-regedit4.reg",
        "schannel-tls-disabled.reg",
    ] {
        let original = std::fs::read(fixtures().join(name)).expect("fixture");
        for _ in 0..300 {
            let mut b = original.clone();
            let cut = 1 + (rng.next() as usize) % b.len();
            b.truncate(cut);
            for _ in 0..(rng.next() % 6) {
                let i = (rng.next() as usize) % b.len();
                let nasty = b"<>/\"=\\,:[]\n\0";
                b[i] = nasty[(rng.next() as usize) % nasty.len()];
            }
            read(name, b);
        }
    }
}

#[test]
fn random_bodies_behind_each_header_never_panic() {
    let mut rng = Rng(0xBF58_476D_1CE4_E5B9);
    for header in [
        &b"ElfFile\0"[..],
        b"Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\X]\r\n",
        b"REGEDIT4\n",
        b"<Events><Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>",
    ] {
        for _ in 0..300 {
            let mut b = header.to_vec();
            let len = (rng.next() % 400) as usize;
            b.extend((0..len).map(|_| rng.next() as u8));
            read("random", b);
        }
    }
}
