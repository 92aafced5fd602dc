//! The running Kerberos lab (lab/kerberos/start.sh writes lab/kerberos/state/kerberos.json), for
//! the tests that use it (kerberos_lab.rs with real Kerberos clients, kerberos_readiness.rs with
//! rdpdoctor). Tests fail, never skip, when it is not running.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test
#![allow(dead_code)]

use crate::common::workspace_root;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Stdio};

pub struct KrbLab {
    pub doc: Value,
}

impl KrbLab {
    pub fn get() -> KrbLab {
        let path = std::env::var_os("RDPDOCTOR_KERBEROS_LAB_STATE")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("lab/kerberos/state/kerberos.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "the Kerberos lab is not running ({}: {e}). Start it as root with `lab/start.sh && lab/kerberos/start.sh` (./test.sh does this for you)",
                path.display()
            )
        });
        KrbLab {
            doc: serde_json::from_str(&text).expect("kerberos.json is JSON"),
        }
    }

    /// The string at `pointer` in kerberos.json.
    pub fn s(&self, pointer: &str) -> String {
        self.doc
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("kerberos.json has no string at {pointer}"))
            .to_string()
    }

    /// The namespace `which` ("client", "vpn", ...).
    pub fn ns(&self, which: &str) -> String {
        let ns = self.s(&format!("/namespaces/{which}"));
        assert!(
            ns.starts_with("rdpd-krb-"),
            "Kerberos lab namespaces are rdpd-krb-*, got {ns}"
        );
        ns
    }

    pub fn conf(&self, which: &str) -> String {
        self.s(&format!("/krb5_conf/{which}"))
    }
}

/// How a check runs: in which namespace, with a skewed clock (`faketime`), trusting the lab CA.
#[derive(Clone, Copy, Default)]
pub struct How<'a> {
    pub skew: Option<&'a str>,
    pub ca: bool,
}

/// The real binary in namespace WHICH (`ip netns exec`, bounded by 60 s).
pub fn in_ns(lab: &KrbLab, which: &str, how: How<'_>) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", &lab.ns(which), "timeout", "60"]);
    if let Some(offset) = how.skew {
        c.args(["faketime", "-f", offset]);
    }
    c.arg(env!("CARGO_BIN_EXE_rdpdoctor"))
        .env("RDPDOCTOR_NO_KNOWN_CERTS", "1")
        .env_remove("RDPDOCTOR_PASSWORD")
        .env_remove("SSL_CERT_FILE")
        .stdin(Stdio::null());
    if how.ca {
        c.env("SSL_CERT_FILE", lab.s("/ca"));
    }
    c
}
