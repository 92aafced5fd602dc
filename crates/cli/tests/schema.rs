//! The JSON contract in docs/schema (check --json, scan lines, observations) against real
//! output: every golden observation (recorded from the lab's servers), the diagnoses `diagnose`,
//! `logs` and `host` print offline, and, with the lab, a whole scan of it with `--clients` and a
//! full connection with a logon. Each document must validate, and every key it has in a part the
//! schema documents field by field must be one the schema names: an undocumented key fails here
//! (objects marked `"additionalProperties": true`, tagged outcomes, list no variant fields).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{run_json, workspace_root};
use serde_json::Value;
use std::path::PathBuf;

const BASE: &str = "https://rdpdoctor.invalid/schema/";

struct Contract {
    schemas: boon::Schemas,
    /// (file name, schema, its index in `schemas`)
    docs: Vec<(String, Value, boon::SchemaIndex)>,
}

impl Contract {
    fn load() -> Contract {
        let mut compiler = boon::Compiler::new();
        let mut files = Vec::new();
        for name in ["check", "scan-line", "observations"] {
            let file = format!("{name}.schema.json");
            let path = workspace_root().join("docs/schema").join(&file);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let v: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(v["$id"], format!("{BASE}{file}"), "{file}: $id");
            compiler
                .add_resource(&format!("{BASE}{file}"), v.clone())
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            files.push((file, v));
        }
        let mut schemas = boon::Schemas::new();
        let docs = files
            .into_iter()
            .map(|(file, v)| {
                let idx = compiler
                    .compile(&format!("{BASE}{file}"), &mut schemas)
                    .unwrap_or_else(|e| panic!("{file}: {e:#}"));
                (file, v, idx)
            })
            .collect();
        Contract { schemas, docs }
    }

    fn entry(&self, file: &str) -> &(String, Value, boon::SchemaIndex) {
        self.docs
            .iter()
            .find(|(f, ..)| f == file)
            .unwrap_or_else(|| panic!("no schema file {file}"))
    }

    fn index(&self, file: &str) -> boon::SchemaIndex {
        self.entry(file).2
    }

    /// The document validates against `file`, or the test fails with every error.
    fn validates(&self, file: &str, what: &str, doc: &Value) {
        let idx = self.index(file);
        if let Err(e) = self.schemas.validate(doc, idx) {
            panic!("{what} does not match docs/schema/{file}:\n{e:#}");
        }
        self.keys_documented(file, what, doc);
    }

    /// `doc` does not validate against `file` (the schema is not vacuous).
    fn rejects(&self, file: &str, what: &str, doc: &Value) {
        assert!(
            self.schemas.validate(doc, self.index(file)).is_err(),
            "docs/schema/{file} accepts {what}"
        );
    }

    fn schema(&self, file: &str) -> &Value {
        &self.entry(file).1
    }

    /// Follows `$ref` (in the same file or another schema file) and `allOf` to the node that
    /// describes an object's keys, if any.
    fn resolve<'a>(&'a self, file: &'a str, node: &'a Value) -> (&'a str, &'a Value) {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            let (f, pointer) = match r.split_once('#') {
                Some(("", p)) => (file, p),
                Some((f, p)) => (self.file_name(f), p),
                None => (self.file_name(r), ""),
            };
            let target = self
                .schema(f)
                .pointer(pointer)
                .expect("a $ref that resolves");
            return self.resolve(f, target);
        }
        if let Some(all) = node.get("allOf").and_then(Value::as_array) {
            if let Some(first) = all.first() {
                if node.get("properties").is_none() {
                    return self.resolve(file, first);
                }
            }
        }
        (file, node)
    }

    fn file_name<'a>(&'a self, r: &'a str) -> &'a str {
        self.entry(r).0.as_str()
    }

    /// Every key of every object the schema describes field by field is named in its
    /// `properties`; objects described only as a whole are not looked into.
    fn keys_documented(&self, file: &str, what: &str, doc: &Value) {
        let mut path = String::new();
        self.walk(file, self.schema(file), doc, what, &mut path);
    }

    fn walk(&self, file: &str, node: &Value, doc: &Value, what: &str, path: &mut String) {
        let (file, node) = self.resolve(file, node);
        // A choice (x or null): the branch that is an object or array schema.
        if let Some(branches) = node.get("oneOf").and_then(Value::as_array) {
            for b in branches {
                let (f, n) = self.resolve(file, b);
                if n.get("properties").is_some() || n.get("items").is_some() {
                    return self.walk(f, n, doc, what, path);
                }
            }
            return;
        }
        match doc {
            Value::Object(map) => {
                // `"additionalProperties": true` marks an object whose fields vary (a tagged
                // outcome): its description says so, and its other keys are not listed.
                if node.get("additionalProperties") == Some(&Value::Bool(true)) {
                    return;
                }
                let Some(props) = node.get("properties").and_then(Value::as_object) else {
                    return;
                };
                for (k, v) in map {
                    let len = path.len();
                    path.push('.');
                    path.push_str(k);
                    let Some(child) = props.get(k) else {
                        panic!("{what}: {path} is not documented in docs/schema/{file}");
                    };
                    self.walk(file, child, v, what, path);
                    path.truncate(len);
                }
            }
            Value::Array(items) => {
                if let Some(item) = node.get("items") {
                    for v in items {
                        let len = path.len();
                        path.push_str("[]");
                        self.walk(file, item, v, what, path);
                        path.truncate(len);
                    }
                }
            }
            _ => {}
        }
    }
}

fn golden_files() -> Vec<PathBuf> {
    let files = common::golden_observations();
    assert!(files.len() >= 20, "only {} golden files", files.len());
    files
}

fn fixture(path: &str) -> String {
    workspace_root().join(path).display().to_string()
}

#[test]
fn golden_observations_and_their_diagnoses_match_the_schemas() {
    let c = Contract::load();
    for path in golden_files() {
        let name = path.display().to_string();
        let obs: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        c.validates("observations.schema.json", &name, &obs);
        let (_, check) = run_json(&["diagnose", &name, "--json"]);
        c.validates("check.schema.json", &format!("diagnose {name}"), &check);
        // A scan line is the same object with its target.
        c.validates("scan-line.schema.json", &format!("diagnose {name}"), &check);
    }
}

#[test]
fn offline_diagnoses_match_the_schema_with_target_null() {
    let c = Contract::load();
    let runs: [Vec<String>; 3] = [
        vec![
            "logs".into(),
            fixture("crates/evidence/tests/fixtures/system-machinekeys.xml"),
            fixture("crates/evidence/tests/fixtures/rdpclient.xml"),
            fixture("crates/evidence/tests/fixtures/lsm-session.xml"),
        ],
        vec![
            "host".into(),
            fixture("crates/evidence/tests/fixtures/ts-default.reg"),
            fixture("crates/evidence/tests/fixtures/schannel-tls-disabled.reg"),
        ],
        vec![
            "diagnose".into(),
            fixture("crates/cli/tests/fixtures/path-slow-link.json"),
        ],
    ];
    for args in runs {
        let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
        a.push("--json");
        let (_, v) = run_json(&a);
        c.validates("check.schema.json", &args.join(" "), &v);
        if args[0] != "diagnose" {
            assert!(v["target"].is_null(), "{}: target {}", args[0], v["target"]);
            c.rejects("scan-line.schema.json", "a line without a target", &v);
        }
        // Absent values are null, never missing keys.
        assert!(v["verdict"].get("step").is_some(), "{}", v["verdict"]);
        for f in v["findings"].as_array().expect("findings") {
            assert!(f.get("client_error").is_some(), "{f}");
        }
    }
}

#[test]
fn the_schemas_reject_what_is_not_the_contract() {
    let c = Contract::load();
    let golden = workspace_root().join("crates/cli/tests/golden/xrdp-expired.json");
    let (_, good) = run_json(&["diagnose", golden.to_str().expect("utf-8"), "--json"]);
    c.validates("check.schema.json", "the base document", &good);
    type Change = fn(&mut Value);
    let broken: [(&str, Change); 7] = [
        ("a status outside the four", |v| {
            v["verdict"]["status"] = "sideways".into()
        }),
        ("no verdict", |v| {
            v.as_object_mut().expect("object").remove("verdict");
        }),
        ("a finding id that is not kebab-case", |v| {
            v["findings"][0]["id"] = "Cert Expired".into()
        }),
        ("days_left as text", |v| {
            v["facts"]["certificate"]["days_left"] = "-2".into()
        }),
        ("an unknown severity", |v| {
            v["findings"][0]["severity"] = "fatal".into()
        }),
        ("another observations schema", |v| {
            v["observations"]["schema"] = "rdpdoctor.observations/2".into()
        }),
        ("no rdpdoctor version", |v| {
            v.as_object_mut().expect("object").remove("rdpdoctor");
        }),
    ];
    for (what, change) in broken {
        let mut v = good.clone();
        change(&mut v);
        c.rejects("check.schema.json", what, &v);
    }
}

/// A whole scan of the lab with --clients, and a full connection with a logon to the NLA
/// server: real output of every server kind matches the schemas.
#[cfg(feature = "lab")]
#[test]
fn a_scan_of_the_lab_and_a_full_logon_match_the_schemas() {
    let c = Contract::load();
    let lab = common::Lab::get();
    let state = workspace_root().join("lab/state/servers.json");
    let servers: Value =
        serde_json::from_str(&std::fs::read_to_string(&state).expect("servers.json"))
            .expect("json");
    let dir = std::env::temp_dir().join(format!("rdpdoctor-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let list = dir.join("lab.txt");
    // Every server but the interceptors (seconds per connection; their output has the same
    // shape as the servers they stand in front of).
    let targets: Vec<String> = servers["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .filter(|n| !n.starts_with("pyrdp"))
        .map(|n| lab.addr(n))
        .collect();
    std::fs::write(&list, targets.join("\n")).expect("write");
    let out = dir.join("scan.jsonl");
    let r = common::bin()
        .args(["scan", "--clients", "--quiet", "--timeout", "3", "-i"])
        .arg(&list)
        .arg("--output")
        .arg(&out)
        .output()
        .expect("runs");
    assert!(matches!(r.status.code(), Some(0 | 1)), "{r:?}");
    let text = std::fs::read_to_string(&out).expect("scan output");
    let mut lines = 0;
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).expect("a JSON line");
        c.validates("scan-line.schema.json", &format!("scan line {}", i + 1), &v);
        lines += 1;
    }
    assert_eq!(lines, targets.len());
    let password = servers["credentials"]["freerdp-nla"]["password"]
        .as_str()
        .expect("the lab password");
    let r = common::bin()
        .args([
            "check",
            &lab.addr("freerdp-nla"),
            "--full",
            "--user",
            "labuser",
            "--json",
        ])
        .env("RDPDOCTOR_PASSWORD", password)
        .output()
        .expect("runs");
    let v: Value = serde_json::from_slice(&r.stdout).expect("json");
    c.validates("check.schema.json", "check --full --user", &v);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `check --udp` against the lab's RDPEUDP responder (an answer) and the real xrdp's closed UDP
/// port (no answer): `facts.udp` and `observations.udp` as the schemas document them.
#[cfg(feature = "lab")]
#[test]
fn a_udp_probe_matches_the_schemas() {
    let c = Contract::load();
    let lab = common::Lab::get();
    let udp: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("lab/state/udp.json")).expect("udp.json"),
    )
    .expect("json");
    let answer = udp["responders"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["mode"] == "answer"))
        .map(|r| r["port"].to_string())
        .expect("the answer responder");
    let xrdp = lab.addr("xrdp-negotiate");
    for extra in [vec!["--udp-port", answer.as_str()], vec![]] {
        let mut args = vec!["check", xrdp.as_str(), "--udp", "--timeout", "2", "--json"];
        args.extend(extra);
        let (_, v) = run_json(&args);
        assert!(v["facts"]["udp"].is_object(), "{}", v["facts"]);
        c.validates("check.schema.json", &format!("{args:?}"), &v);
        c.validates(
            "observations.schema.json",
            &format!("{args:?} observations"),
            &v["observations"],
        );
    }
}
