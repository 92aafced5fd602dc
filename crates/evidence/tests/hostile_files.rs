//! Damaged or hostile exports must give partial results or a clear error, never a panic:
//! real samples cut and corrupted at random places, and random text after each file header.
//! Deterministic (fixed xorshift seed), so a failure reproduces.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

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
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/evtx"))
}

/// A small, clean public sample (11 records, 68 KiB): cut, corrupted and read whole below.
const SMALL: &str = "mdecrevoisier__1149_rdp_success.evtx";

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

fn read(name: &str, bytes: Vec<u8>) {
    let _ = read_bytes(name, bytes, &ReadOptions::default());
}

#[test]
fn cut_and_corrupted_event_logs_never_panic() {
    let path = samples().join(SMALL);
    let original = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
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

fn temp(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("rdpdoctor-evidence-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs `f` on another thread and fails if it has not returned within 10 s: a read that blocks
/// on a FIFO or reads a device forever is a failure, not a stalled test.
fn within_deadline<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("the read returned within 10 s")
}

#[test]
fn only_regular_files_are_read_and_nothing_blocks() {
    use rdpdoctor_evidence::{read_path, EvidenceError};
    let dir = temp("not-regular");
    let fifo = dir.join("System.evtx");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    for (path, what) in [
        (fifo, "a FIFO (named pipe)"),
        (PathBuf::from("/dev/zero"), "a character device"),
        (dir.clone(), "a directory"),
    ] {
        let p = path.clone();
        let got = within_deadline(move || read_path(&p, &ReadOptions::default()));
        match got {
            Err(EvidenceError::NotRegular { what: w, .. }) => assert_eq!(w, what),
            other => panic!("{}: {other:?}", path.display()),
        }
    }
}

#[test]
fn an_event_log_without_a_readable_record_is_an_error_like_xml_without_events() {
    use rdpdoctor_evidence::{read_path, EvidenceError};
    let dir = temp("no-events");
    let real = std::fs::read(samples().join(SMALL)).expect("sample");
    let header = real.get(..4096).expect("file header").to_vec();
    let mut empty_chunk = header.clone();
    empty_chunk.extend(std::iter::repeat_n(0u8, 65536));
    for (name, bytes) in [
        ("header-only.evtx", header),
        ("empty-chunk.evtx", empty_chunk),
        (
            "no-event.xml",
            b"<Events><Event xmlns='x'/></Events>".to_vec(),
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        match read_path(&path, &ReadOptions::default()) {
            Err(e @ EvidenceError::NoEvents { .. }) => {
                assert!(e.to_string().contains("holds no readable event"), "{e}")
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // The whole sample still reads, streamed from the file.
    let ev = read_path(&samples().join(SMALL), &ReadOptions::default()).expect("sample reads");
    assert_eq!(ev.sources[0].records, 11);
}

#[test]
fn one_decoder_for_every_text_encoding_windows_writes() {
    use rdpdoctor_evidence::decode_text_owned;
    let text = "{\"schema\": \"é€\"}";
    let utf16 = |le: bool, bom: bool| -> Vec<u8> {
        let mut b = match (bom, le) {
            (false, _) => vec![],
            (true, true) => vec![0xFF, 0xFE],
            (true, false) => vec![0xFE, 0xFF],
        };
        for u in text.encode_utf16() {
            b.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        b
    };
    let mut bom8 = vec![0xEF, 0xBB, 0xBF];
    bom8.extend(text.as_bytes());
    for bytes in [
        text.as_bytes().to_vec(),
        bom8,
        utf16(true, true),
        utf16(false, true),
        utf16(true, false),
        utf16(false, false),
    ] {
        assert_eq!(decode_text_owned(bytes.clone()), text, "{bytes:02x?}");
    }
    assert_eq!(decode_text_owned(b"a\xffb".to_vec()), "a\u{fffd}b");
}
