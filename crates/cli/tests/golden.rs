//! The golden corpus: observation files recorded from every lab server with `check --save`
//! (scripts/record-golden.sh), each with the verdict and finding ids it must give, replayed
//! through `diagnose` offline. A rule change that alters any diagnosis shows here without a lab.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{ids, run_json, workspace_root};
use serde_json::Value;

#[test]
fn every_recorded_lab_server_diagnoses_as_recorded() {
    let dir = workspace_root().join("crates/cli/tests/golden");
    let mut checked = 0;
    let entries = common::golden_observations();
    for obs in entries {
        let expect_path = obs.with_extension("expect.json");
        let expect: Value = serde_json::from_str(
            &std::fs::read_to_string(&expect_path)
                .unwrap_or_else(|e| panic!("{}: {e}", expect_path.display())),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", expect_path.display()));
        let at = expect["at"].as_str().expect("at");
        let path = obs.to_string_lossy().to_string();
        let (code, v) = run_json(&["diagnose", &path, "--json", "--at", at]);
        let name = obs.file_name().map(|n| n.to_string_lossy().to_string());
        assert_eq!(v["verdict"]["status"], expect["status"], "{name:?}");
        assert_eq!(v["verdict"]["finding"], expect["finding"], "{name:?}");
        let want: Vec<String> = expect["ids"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(ids(&v), want, "{name:?}");
        assert_eq!(
            i64::from(code),
            expect["exit"].as_i64().unwrap_or(-1),
            "{name:?}"
        );
        checked += 1;
    }
    assert!(
        checked >= 20,
        "only {checked} golden files in {}",
        dir.display()
    );
}
