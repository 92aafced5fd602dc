//! Helpers of the tests that remember certificates and go through pyrdp-mitm (intercept.rs,
//! enterprise.rs): run a check as JSON, read findings and their evidence, move an entry of a
//! known-certs file, read what pyrdp-mitm captured.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test
#![allow(dead_code)]

use crate::common::{self, bin};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// pyrdp-mitm is single-threaded and takes seconds per connection: one check through it at a
/// time, with a generous per-phase deadline and two connections.
pub static SERIAL: Mutex<()> = Mutex::new(());
pub const SLOW: &[&str] = &["--timeout", "20", "--connections", "2"];

/// A canary account unique to this run, so that what earlier runs (or other tools) left in
/// pyrdp-mitm's logs cannot be mistaken for it.
pub fn canary(tag: &str) -> (String, String) {
    let n = std::process::id();
    (
        format!("canary-{tag}-{n}"),
        format!("Canary-Pw-{n}-9c41e7!"),
    )
}

/// The lab's NLA account.
pub const LAB_USER: &str = "labuser";
pub const LAB_PASSWORD: &str = "LabPass-2026!";

/// A fresh path in a directory of this test process (`tag` keeps test binaries apart).
pub fn temp_file(tag: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rdpdoctor-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

/// What a check printed and how it ended.
pub struct Checked {
    pub code: i32,
    pub json: Value,
    pub stderr: String,
}

/// Runs `rdpdoctor check ... --json` through `cmd` (the binary, or a wrapper that execs it).
pub fn run_check(mut cmd: Command, args: &[&str], password: Option<&str>) -> Checked {
    cmd.arg("check").args(args).arg("--json");
    if let Some(p) = password {
        cmd.env("RDPDOCTOR_PASSWORD", p);
    }
    let out = cmd.output().expect("rdpdoctor runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {stdout:?}, stderr {stderr:?}"));
    Checked {
        code: out.status.code().unwrap_or(-1),
        json,
        stderr,
    }
}

/// Runs `rdpdoctor check ... --json` and returns (exit code, JSON, stderr).
pub fn check(args: &[&str], password: Option<&str>) -> (i32, Value, String) {
    let c = run_check(bin(), args, password);
    (c.code, c.json, c.stderr)
}

pub fn finding<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no finding {id} in {:#}", v["findings"]))
}

pub fn evidence(f: &Value) -> String {
    f["evidence"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// Moves the entry remembered for `from` to `to` in a known-certs file: what a client would have
/// remembered for the address that another server (a renewed one, an interceptor) now answers.
pub fn move_entry(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("known-certs file written");
    let mut v: Value = serde_json::from_str(&text).expect("known-certs is JSON");
    let entry = v["targets"][from].take();
    assert!(entry.is_object(), "no entry for {from} in {text}");
    v["targets"][to] = entry;
    if let Some(m) = v["targets"].as_object_mut() {
        m.remove(from);
    }
    std::fs::write(file, serde_json::to_string_pretty(&v).expect("json")).expect("write");
}

/// The known-certs entry of `key`.
pub fn entry(file: &Path, key: &str) -> Value {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(file).expect("read")).expect("json");
    v["targets"][key].clone()
}

pub fn remembered_sha256(file: &Path, key: &str) -> String {
    entry(file, key)["sha256_hex"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The SHA-256 of the certificate `addr` presents now (a check without known certificates).
pub fn presented_sha256(addr: &str, extra: &[&str]) -> String {
    let mut args = vec![addr];
    args.extend_from_slice(extra);
    let (_, v, _) = check(&args, None);
    v["observations"]["tls"]["certificate"]["sha256_hex"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Every file pyrdp-mitm wrote for the lab server `name`, as text.
pub fn pyrdp_output(name: &str) -> String {
    fn walk(dir: &Path, out: &mut String) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    let state = common::workspace_root().join("lab/state");
    let mut out = std::fs::read_to_string(state.join(format!("{name}.log"))).unwrap_or_default();
    walk(&state.join(name), &mut out);
    out
}
