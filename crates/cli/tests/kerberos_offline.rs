//! Kerberos readiness observations replayed without a network (`rdpdoctor diagnose FILE`): a
//! document saved by `check --save` in the Kerberos lab (rdp-alias.lab.test, whose SPN nobody
//! holds), with the KDC's e-text replaced by what a hostile KDC could send. The findings come
//! back from the saved facts alone, the hostile text is escaped, and a document saved before the
//! `kerberos` field existed still reads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{ids, run, run_json, workspace_root};
use serde_json::Value;

fn fixture() -> String {
    workspace_root()
        .join("crates/cli/tests/fixtures/kerberos/spn-missing.json")
        .display()
        .to_string()
}

#[test]
fn saved_kerberos_facts_give_the_same_findings_offline() {
    let (code, v) = run_json(&["diagnose", &fixture(), "--json"]);
    assert_eq!(code, 1, "a warning: exit 1");
    assert!(
        ids(&v).contains(&"kerberos-spn-missing".to_string()),
        "{:?}",
        ids(&v)
    );
    let k = &v["observations"]["kerberos"];
    assert_eq!(k["package"]["reason"], "spn-missing");
    assert_eq!(k["spn"], "TERMSRV/rdp-alias.lab.test");
}

#[test]
fn a_kdcs_text_is_escaped_before_it_reaches_the_terminal() {
    let out = run(&["diagnose", &fixture()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("KDC_ERR_S_PRINCIPAL_UNKNOWN (0x7) \"\\x1B]0;pwned"),
        "{text}"
    );
    for raw in ['\u{1b}', '\u{7}', '\r', '\u{202e}'] {
        assert!(!text.contains(raw), "raw {raw:?} in the report");
    }
    assert!(
        !text.contains("\nHEALTHY"),
        "a KDC's text started a line of its own"
    );
}

#[test]
fn a_document_without_kerberos_facts_still_reads() {
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture()).unwrap()).unwrap();
    doc.as_object_mut().unwrap().remove("kerberos");
    let path = std::env::temp_dir().join(format!("rdpdoctor-krb-old-{}.json", std::process::id()));
    std::fs::write(&path, doc.to_string()).unwrap();
    let (_, v) = run_json(&["diagnose", &path.display().to_string(), "--json"]);
    let _ = std::fs::remove_file(&path);
    assert!(
        ids(&v).iter().all(|i| !i.starts_with("kerberos-")),
        "{:?}",
        ids(&v)
    );
    assert!(v["observations"].get("kerberos").is_none());
}
