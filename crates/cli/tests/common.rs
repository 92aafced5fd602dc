//! Shared helpers of the integration tests: run the real binary, find the lab.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test
#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rdpdoctor"));
    // The lab regenerates its certificates on every start: certificates remembered in the
    // user's data directory by an earlier run would show up as cert-changed. Tests that remember
    // certificates pass --known-certs FILE explicitly.
    c.env("RDPDOCTOR_NO_KNOWN_CERTS", "1");
    c
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs rdpdoctor with `args`.
pub fn run(args: &[&str]) -> Output {
    bin()
        .args(args)
        .output()
        .expect("the rdpdoctor binary runs")
}

/// Runs rdpdoctor with `args` and parses stdout as one JSON object.
pub fn run_json(args: &[&str]) -> (i32, Value) {
    let out = run(args);
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "rdpdoctor {args:?} did not print JSON ({e}); stdout {text:?}, stderr {:?}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

/// The JSON object a run printed on stdout (what failed, with stderr, when it is not one).
pub fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The observation files of the golden corpus (crates/cli/tests/golden), sorted; the
/// `.expect.json` files beside them are not observations.
pub fn golden_observations() -> Vec<PathBuf> {
    let dir = workspace_root().join("crates/cli/tests/golden");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && !p.to_string_lossy().ends_with(".expect.json")
        })
        .collect();
    files.sort();
    files
}

/// The ids of a JSON diagnosis's findings, sorted.
pub fn ids(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// The running lab (lab/start.sh writes lab/state/servers.json). Tests that need it fail, never
/// skip, when it is not running.
pub struct Lab {
    servers: Value,
}

impl Lab {
    pub fn get() -> Lab {
        let path = std::env::var_os("RDPDOCTOR_LAB_STATE")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("lab/state/servers.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "the lab is not running ({}: {e}). Start it with `lab/start.sh` (./test.sh does this for you)",
                path.display()
            )
        });
        Lab {
            servers: serde_json::from_str(&text).expect("servers.json is JSON"),
        }
    }

    /// The whole servers.json document (xvfb, ca, credentials, servers).
    pub fn state(&self) -> &Value {
        &self.servers
    }

    /// The lab CA's certificate file (what `SSL_CERT_FILE` points at when a test trusts the lab).
    pub fn ca_path(&self) -> String {
        workspace_root()
            .join(self.servers["ca"].as_str().expect("lab CA path"))
            .to_string_lossy()
            .into_owned()
    }

    /// The lab account's password (labuser, on freerdp-nla and the gateways).
    pub fn account_password(&self) -> String {
        self.servers["credentials"]["freerdp-nla"]["password"]
            .as_str()
            .expect("lab password")
            .to_string()
    }

    /// The log file of the lab server `name`, as text.
    pub fn log_text(&self, name: &str) -> String {
        let path = workspace_root().join(self.server(name)["log"].as_str().expect("log path"));
        String::from_utf8_lossy(&std::fs::read(path).expect("server log")).into_owned()
    }

    /// The servers.json entry of the lab server `name`.
    pub fn server(&self, name: &str) -> &Value {
        self.servers["servers"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["name"] == name))
            .unwrap_or_else(|| panic!("lab server {name} is missing from servers.json"))
    }

    /// `127.0.0.1:PORT` of the lab server `name`.
    pub fn addr(&self, name: &str) -> String {
        let s = self.server(name);
        let host = s["host"].as_str().expect("host");
        assert!(
            host.starts_with("127."),
            "lab servers must be on loopback, {name} is on {host}"
        );
        format!("{host}:{}", s["port"])
    }

    /// The lab's Xvfb display (`:N`), where the real clients run.
    pub fn display(&self) -> String {
        self.servers["xvfb"]["display"]
            .as_str()
            .expect("Xvfb display")
            .to_string()
    }

    /// (name, `127.0.0.1:PORT`) of every real RDP server of the lab (xrdp and
    /// freerdp-shadow-cli), the ones real clients are held against.
    pub fn real_servers(&self) -> Vec<(String, String)> {
        let servers: Vec<(String, String)> = self.servers["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .filter(|s| matches!(s["kind"].as_str(), Some("xrdp" | "freerdp-shadow")))
            .map(|s| {
                let name = s["name"].as_str().unwrap_or_default().to_string();
                let addr = self.addr(&name);
                (name, addr)
            })
            .collect();
        assert!(servers.len() >= 15, "{servers:?}");
        servers
    }

    pub fn port(&self, name: &str) -> String {
        self.addr(name)
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_string()
    }
}

/// `f` over `items`, `per_thread` items to a thread (in order within it), the results in the order
/// of `items`: how the real-client comparisons spread the lab's servers.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    per_thread: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let chunk = per_thread.max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| scope.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    })
}

/// A scratch directory of one test process, removed when dropped (also when the test fails), so
/// the hostile inputs tests write (files of tens of MB) do not pile up in the temporary directory.
pub struct TempDir(PathBuf);

impl TempDir {
    /// `$TMPDIR/rdpdoctor-KIND-PID-NAME`, emptied first.
    pub fn new(kind: &str, name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("rdpdoctor-{kind}-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl std::ops::Deref for TempDir {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl AsRef<std::path::Path> for TempDir {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The port `rdpdoctor serve --listen 127.0.0.1:0` reports in its startup line
/// ("... http://127.0.0.1:PORT ...").
pub fn serve_port(startup_line: &str) -> u16 {
    startup_line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {startup_line:?}"))
}

/// `GET path` from 127.0.0.1:`port`, returning the status code and body.
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connects");
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut response = String::new();
    s.read_to_string(&mut response).expect("response");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The evidence of a finding (JSON), one line each.
pub fn evidence_text(f: &Value) -> String {
    f["evidence"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}
