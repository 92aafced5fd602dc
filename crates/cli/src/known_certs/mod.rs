//! Remembered certificates (`--known-certs`), as mstsc and ssh remember what a server showed: per
//! target (`host:port`), the certificate and the NTLM computer name it came with, and the other
//! nodes of a farm behind the same target, kept in a JSON file in the user's data directory. The
//! comparison itself is diagnosis (cert-changed, cert-renewed, farm-node-changed,
//! interception-suspected); this module only decides what to remember and keeps the file.
//!
//! The file is untrusted input and shared by concurrent writers (file.rs): read with the input
//! rules, a corrupt or foreign file is reported and left alone (never overwritten, never a
//! panic); every string in an entry is bounded, so one server cannot crowd out the others; and
//! each write re-reads the file under a lock and applies only this process's changes (merge.rs).
//!
//! The default file does not remember loopback targets: `ssh -L` and `az network bastion tunnel`
//! reuse 127.0.0.1:PORT for different machines. An explicit `--known-certs FILE` does.

mod file;
mod merge;

use merge::{Op, Targets};
use rdpdoctor_diagnose::{Diagnosis, FindingId};
use rdpdoctor_observations::{
    classify, ntlm_computer, CertChange, CertPin, CertificateExpectation, KnownCertificate,
    NlaOutcome, NtlmInfo, Observations, PinKind, Seen, Target,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

const SCHEMA: &str = "rdpdoctor.known-certs/1";
/// Targets kept; the least recently seen go first.
const MAX_ENTRIES: usize = 5000;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct KnownCertsArgs {
    /// Remember each target's certificate in FILE and report cert-changed when another one shows
    /// up later (default: $XDG_DATA_HOME/rdpdoctor/known-certs.json, else
    /// ~/.local/share/rdpdoctor/known-certs.json; the default file skips loopback targets, which
    /// tunnels reuse for different machines)
    #[arg(long, value_name = "FILE", conflicts_with = "no_known_certs")]
    pub known_certs: Option<PathBuf>,
    /// Neither read nor write remembered certificates (also RDPDOCTOR_NO_KNOWN_CERTS=1)
    #[arg(long)]
    pub no_known_certs: bool,
    /// Replace the remembered certificate by the one presented now (after a change you checked)
    #[arg(long)]
    pub accept_changed_cert: bool,
}

#[derive(Serialize, Deserialize)]
struct File {
    schema: String,
    #[serde(default)]
    targets: Targets,
}

/// The open file.
pub struct KnownCerts {
    path: PathBuf,
    /// Given with --known-certs (then loopback targets are remembered too).
    explicit: bool,
    targets: Targets,
    /// What this process changed since the last write, applied again to the file as it is then.
    journal: Vec<(String, Op)>,
    /// Why the file could not be read; such a file is never written.
    problem: Option<String>,
    accept_changed: bool,
}

/// The default location, if a home or data directory is known.
fn default_path() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        let d = PathBuf::from(d);
        if d.is_absolute() {
            return Some(d.join("rdpdoctor").join("known-certs.json"));
        }
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(
        PathBuf::from(home)
            .join(".local")
            .join("share")
            .join("rdpdoctor")
            .join("known-certs.json"),
    )
}

/// The key of a target: `host:port`, the host in lower case, IPv6 in brackets.
pub fn key(target: &Target) -> String {
    let host = target.host.trim_end_matches('.').to_ascii_lowercase();
    if host.contains(':') {
        format!("[{host}]:{}", target.port)
    } else {
        format!("{host}:{}", target.port)
    }
}

/// Whether the target of `key` is this machine (127.0.0.0/8, ::1, localhost): a tunnel's end.
fn loopback_key(key: &str) -> bool {
    let host = key.rsplit_once(':').map_or(key, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The pins and expected terminators of a check, as the observations record them.
pub struct Pins {
    pins: Vec<CertPin>,
    terminators: Vec<CertPin>,
}

impl Pins {
    pub fn of(trust: &rdpdoctor_probe::Trust) -> Pins {
        Pins {
            pins: trust.pins.clone(),
            terminators: trust.terminators.clone(),
        }
    }

    /// Records the pins in `expectation` (the first leaf pin also where older readers look).
    pub fn fill(&self, expectation: &mut CertificateExpectation) {
        expectation.pinned_sha256 = self
            .pins
            .iter()
            .find(|p| p.kind == PinKind::Leaf)
            .map(|p| p.sha256_hex.clone());
        expectation.pins.clone_from(&self.pins);
        expectation.terminators.clone_from(&self.terminators);
    }
}

fn challenge(obs: &Observations) -> Option<&NtlmInfo> {
    match obs.nla.as_ref().map(|n| &n.outcome) {
        Some(NlaOutcome::Challenge { info }) => Some(info),
        _ => None,
    }
}

impl KnownCerts {
    /// Opens the file the arguments name (`None`: disabled, or no location known).
    pub fn open(args: &KnownCertsArgs) -> Option<KnownCerts> {
        let env_off = std::env::var_os("RDPDOCTOR_NO_KNOWN_CERTS").is_some_and(|v| v == "1");
        if args.no_known_certs || (env_off && args.known_certs.is_none()) {
            return None;
        }
        let explicit = args.known_certs.is_some();
        let path = args.known_certs.clone().or_else(default_path)?;
        let (targets, problem) = match read(&path) {
            Ok(t) => (t, None),
            Err(e) => (Targets::new(), Some(e)),
        };
        Some(KnownCerts {
            path,
            explicit,
            targets,
            journal: Vec::new(),
            problem,
            accept_changed: args.accept_changed_cert,
        })
    }

    #[cfg(test)]
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// Whether `key` is remembered in this file (the default file skips loopback targets).
    fn applies(&self, key: &str) -> bool {
        self.explicit || !loopback_key(key)
    }

    pub fn get(&self, key: &str) -> Option<&KnownCertificate> {
        self.targets.get(key).filter(|_| self.applies(key))
    }

    /// The expectation recorded in the observations for `key`.
    pub fn expectation(&self, key: &str) -> CertificateExpectation {
        CertificateExpectation {
            remembered: self.get(key).cloned(),
            known_certs_file: Some(self.path.display().to_string()),
            known_certs_problem: self.problem.clone(),
            ..CertificateExpectation::default()
        }
    }

    /// Records what a check saw for `key` (see [`KnownCerts::remember`]) and writes the file
    /// when that changed anything. Returns a line for stderr when something needs saying.
    pub fn record(
        &mut self,
        key: &str,
        obs: &Observations,
        diagnosis: &Diagnosis,
        now: jiff::Timestamp,
    ) -> Option<String> {
        let remembered = self.remember(key, obs, diagnosis, now);
        self.flush_if_changed(remembered)
    }

    /// Writes the file after a change; the note of the change, or the write error.
    fn flush_if_changed(&mut self, (changed, note): (bool, Option<String>)) -> Option<String> {
        if !changed {
            return note;
        }
        if let Err(e) = self.flush() {
            return Some(e);
        }
        note
    }

    /// Records what a check saw for `key` without writing the file (a fleet scan writes it once,
    /// at the end, with [`KnownCerts::flush`]); says whether anything changed. A first
    /// certificate is remembered (unless the check suspects interception: what is remembered
    /// must be the server's), the same one is marked seen, a renewal replaces the one it renews,
    /// another node of a farm is added beside the others, and any other change replaces the
    /// remembered one only with `--accept-changed-cert`.
    pub fn remember(
        &mut self,
        key: &str,
        obs: &Observations,
        diagnosis: &Diagnosis,
        now: jiff::Timestamp,
    ) -> (bool, Option<String>) {
        if !self.applies(key) {
            return (false, None);
        }
        let Some(tls) = &obs.tls else {
            return (false, None);
        };
        let Some(c) = &tls.certificate else {
            return (false, None);
        };
        let suspected = diagnosis
            .findings
            .iter()
            .any(|f| f.id == FindingId::InterceptionSuspected);
        let identity = tls.identity.clone().unwrap_or_default();
        let seen = Seen {
            certificate: c,
            ntlm: challenge(obs),
            verified: identity.verified_for_target || identity.matched_pin.is_some(),
            now,
        };
        let entry = KnownCertificate::from_seen(c, tls.newest_completed(), seen.ntlm, now);
        self.decide(key, &seen, entry, suspected)
    }

    /// What to remember of `seen` (whose entry would be `entry`) for `key`.
    fn decide(
        &mut self,
        key: &str,
        seen: &Seen<'_>,
        entry: KnownCertificate,
        suspected: bool,
    ) -> (bool, Option<String>) {
        if let Some(p) = &self.problem {
            return (
                false,
                Some(format!(
                    "rdpdoctor: the known certificates file {} was not read ({p}); it is left as it is and nothing was remembered: repair or delete it",
                    self.path.display()
                )),
            );
        }
        let path = self.path.display().to_string();
        let not_remembered = || {
            format!("rdpdoctor: the certificate of {key} was not remembered: the check suspects interception")
        };
        let (op, note) = match self.targets.get(key).map(|k| classify(k, seen)) {
            // Seen again within the hour with nothing new: not worth a write (serve sees each
            // target at every scrape).
            Some(CertChange::Same(node)) if fresh(node, &entry, seen) => return (false, None),
            Some(CertChange::Same(_)) => (
                Op::Touch {
                    sha256: entry.sha256_hex.clone(),
                    newest_tls: entry.newest_tls,
                    ntlm_computer: seen.ntlm.and_then(ntlm_computer),
                    now: seen.now,
                },
                None,
            ),
            None if suspected => return (false, Some(not_remembered())),
            None => (Op::Insert(entry), None),
            Some(CertChange::Changed { previous, .. }) if self.accept_changed => {
                let note = format!(
                    "rdpdoctor: remembered the new certificate of {key} (SHA-256 {}) in {path}",
                    entry.sha256_hex
                );
                let old = previous.sha256_hex.clone();
                (Op::Replace { old, new: entry, explicit: true }, Some(note))
            }
            Some(CertChange::Changed { .. }) => {
                return (false, Some(format!(
                    "rdpdoctor: the certificate of {key} differs from the one remembered in {path}; the remembered one is kept (after checking it is the server's: --accept-changed-cert)"
                )))
            }
            Some(_) if suspected => return (false, Some(not_remembered())),
            Some(CertChange::Renewed { previous, .. }) => {
                let note = format!(
                    "rdpdoctor: remembered the renewed certificate of {key} (SHA-256 {}) in {path}",
                    entry.sha256_hex
                );
                let old = previous.sha256_hex.clone();
                (Op::Replace { old, new: entry, explicit: false }, Some(note))
            }
            Some(CertChange::OtherNode { computer }) => {
                let note = format!(
                    "rdpdoctor: remembered another node of {key}, {computer} (SHA-256 {}), in {path}",
                    entry.sha256_hex
                );
                (Op::AddNode(entry), Some(note))
            }
        };
        merge::apply(&mut self.targets, key, &op);
        self.journal.push((key.to_string(), op));
        (true, note)
    }

    /// Writes this process's changes into the file: under the lock, re-read it, apply them to
    /// what is there now, keep it within its bounds, replace it atomically. The error is a line
    /// for stderr.
    pub fn flush(&mut self) -> Result<(), String> {
        if self.journal.is_empty() {
            return Ok(());
        }
        self.save().map_err(|e| format!(
            "rdpdoctor: cannot write the known certificates file {}: {e}; use --known-certs FILE with a writable path, or --no-known-certs",
            self.path.display()
        ))
    }

    fn save(&mut self) -> Result<(), String> {
        let _lock = file::lock(&self.path)?;
        let mut targets = read(&self.path).map_err(|e| {
            format!("it changed since it was read and is not a known certificates file now ({e}); it is left as it is")
        })?;
        for (key, op) in &self.journal {
            merge::apply(&mut targets, key, op);
        }
        let touched: Vec<&str> = self.journal.iter().map(|(k, _)| k.as_str()).collect();
        let text = fit(&mut targets, &touched)?;
        file::write_atomically(&self.path, text.as_bytes())?;
        self.targets = targets;
        self.journal.clear();
        Ok(())
    }
}

/// Whether `node`, seen again now as `entry`, was seen within the last hour with the same TLS
/// version and computer name.
fn fresh(node: &KnownCertificate, entry: &KnownCertificate, seen: &Seen<'_>) -> bool {
    let recent = node
        .last_seen
        .saturating_add(jiff::SignedDuration::from_hours(1))
        .is_ok_and(|t| t > seen.now);
    recent
        && (entry.newest_tls.is_none() || node.newest_tls == entry.newest_tls)
        && (entry.ntlm_computer.is_none() || node.ntlm_computer.is_some())
}

/// The file's text for `targets`, within [`MAX_ENTRIES`] and the read limit: the least recently
/// seen targets go first, the ones this process just touched last.
fn fit(targets: &mut Targets, touched: &[&str]) -> Result<String, String> {
    let mut by_age: Vec<(bool, jiff::Timestamp, String)> = targets
        .iter()
        .map(|(k, v)| {
            (
                touched.contains(&k.as_str()),
                merge::last_seen(v),
                k.clone(),
            )
        })
        .collect();
    by_age.sort();
    let mut evict = by_age.into_iter().map(|(_, _, k)| k);
    while targets.len() > MAX_ENTRIES {
        match evict.next() {
            Some(k) => targets.remove(&k),
            None => break,
        };
    }
    loop {
        let doc = File {
            schema: SCHEMA.to_string(),
            targets: std::mem::take(targets),
        };
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        *targets = doc.targets;
        if text.len() as u64 <= file::MAX_FILE_BYTES {
            return Ok(text);
        }
        // Entries are bounded, so this takes a few at most; it keeps the file readable.
        match evict.next() {
            Some(k) => targets.remove(&k),
            None => return Err("the entries do not fit in the file's size limit".to_string()),
        };
    }
}

/// Reads the file: a missing file is an empty one; anything else that is not ours is a problem.
fn read(path: &std::path::Path) -> Result<Targets, String> {
    let Some(bytes) = file::read_bytes(path)? else {
        return Ok(Targets::new());
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| "it is not UTF-8 text".to_string())?;
    let doc: File = serde_json::from_str(text.strip_prefix('\u{feff}').unwrap_or(text))
        .map_err(|e| format!("it is not a known certificates file: {e}"))?;
    if doc.schema != SCHEMA {
        return Err(format!(
            "schema {:?}, this version reads {SCHEMA}",
            doc.schema
        ));
    }
    let mut targets = doc.targets;
    for entry in targets.values_mut() {
        // A file written by an older version (or edited by hand) holds no more than is kept.
        entry.bound();
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdpdoctor_observations::{Certificate, TlsVersion};

    /// What `record` does for one certificate: remember it, write the file if it changed.
    fn rec(
        k: &mut KnownCerts,
        key: &str,
        c: &Certificate,
        newest_tls: Option<TlsVersion>,
        suspected: bool,
        now: jiff::Timestamp,
    ) -> Option<String> {
        let seen = Seen {
            certificate: c,
            ntlm: None,
            verified: false,
            now,
        };
        let entry = KnownCertificate::from_seen(c, newest_tls, None, now);
        let remembered = k.decide(key, &seen, entry, suspected);
        k.flush_if_changed(remembered)
    }

    fn open(path: &std::path::Path) -> KnownCerts {
        KnownCerts::open(&KnownCertsArgs {
            known_certs: Some(path.to_path_buf()),
            ..KnownCertsArgs::default()
        })
        .unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn the_same_certificate_updates_the_newest_tls_version() {
        let d = dir("tls");
        let path = d.join("k.json");
        let mut k = open(&path);
        let now = jiff::Timestamp::UNIX_EPOCH;
        let tls13 = Some(TlsVersion::Tls13);
        rec(&mut k, "h:3389", &cert("aa"), tls13, false, now);
        assert_eq!(k.targets["h:3389"].newest_tls, tls13);
        // The same certificate, TLS 1.3 turned off on the server: the new baseline.
        rec(
            &mut k,
            "h:3389",
            &cert("aa"),
            Some(TlsVersion::Tls12),
            false,
            now,
        );
        assert_eq!(k.targets["h:3389"].newest_tls, Some(TlsVersion::Tls12));
        // Another certificate does not touch the remembered entry.
        rec(
            &mut k,
            "h:3389",
            &cert("bb"),
            Some(TlsVersion::Tls10),
            false,
            now,
        );
        assert_eq!(k.targets["h:3389"].newest_tls, Some(TlsVersion::Tls12));
        let _ = std::fs::remove_dir_all(&d);
    }

    fn cert(sha: &str) -> Certificate {
        serde_json::from_value(serde_json::json!({
            "subject": "CN=a", "issuer": "CN=ca", "serial_hex": "01", "sha256_hex": sha,
            "sha1_hex": "00", "not_before": "2026-01-01T00:00:00Z", "not_after": "2027-01-01T00:00:00Z",
            "self_signed": false, "key_type": "RSA", "key_bits": 2048,
            "signature_algorithm": "sha256WithRSAEncryption", "chain_len": 1
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "rdpdoctor-known-certs-{name}-{}",
            std::process::id(),
        ));
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::create_dir_all(&d);
        d
    }

    #[test]
    fn remembers_keeps_and_replaces_only_when_told() {
        let d = dir("replace");
        let path = d.join("sub").join("k.json");
        let args = KnownCertsArgs {
            known_certs: Some(path.clone()),
            ..KnownCertsArgs::default()
        };
        let now = jiff::Timestamp::now();
        let mut k = open(&path);
        assert!(rec(&mut k, "h:3389", &cert("aa"), None, false, now).is_none());
        let mut k = open(&path);
        assert_eq!(k.get("h:3389").map(|c| c.sha256_hex.as_str()), Some("aa"));
        assert!(rec(&mut k, "h:3389", &cert("bb"), None, false, now).is_some());
        let k2 = open(&path);
        assert_eq!(k2.get("h:3389").map(|c| c.sha256_hex.as_str()), Some("aa"));
        let mut accept = KnownCerts::open(&KnownCertsArgs {
            accept_changed_cert: true,
            ..args.clone()
        })
        .unwrap_or_else(|| unreachable!());
        assert!(rec(&mut accept, "h:3389", &cert("bb"), None, false, now).is_some());
        let k3 = open(&path);
        assert_eq!(k3.get("h:3389").map(|c| c.sha256_hex.as_str()), Some("bb"));
        // Nothing is remembered at first sight of a suspected interceptor.
        k.accept_changed = false;
        assert!(rec(&mut k, "other:1", &cert("cc"), None, true, now).is_some());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_corrupt_or_huge_file_is_reported_and_left_alone() {
        let d = dir("corrupt");
        let path = d.join("k.json");
        std::fs::write(&path, b"{not json\x00\xff").unwrap_or_else(|e| panic!("{e}"));
        let mut k = open(&path);
        assert!(k.problem().is_some());
        assert!(rec(
            &mut k,
            "h:1",
            &cert("aa"),
            None,
            false,
            jiff::Timestamp::now()
        )
        .is_some());
        assert_eq!(
            std::fs::read(&path).unwrap_or_default(),
            b"{not json\x00\xff".to_vec()
        );
        let big = vec![b' '; (file::MAX_FILE_BYTES + 10) as usize];
        std::fs::write(&path, big).unwrap_or_else(|e| panic!("{e}"));
        let k = open(&path);
        assert!(k.problem().is_some_and(|p| p.contains("larger")));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn disabled_means_none() {
        let args = KnownCertsArgs {
            no_known_certs: true,
            ..KnownCertsArgs::default()
        };
        assert!(KnownCerts::open(&args).is_none());
    }

    #[test]
    fn the_default_file_skips_loopback_targets() {
        for k in [
            "127.0.0.1:3389",
            "127.9.9.9:1",
            "[::1]:3389",
            "localhost:3389",
            "a.localhost:1",
        ] {
            assert!(loopback_key(k), "{k}");
        }
        for k in [
            "10.0.0.1:3389",
            "[fe80::1]:3389",
            "rdp.example:3389",
            "localhost.example:1",
        ] {
            assert!(!loopback_key(k), "{k}");
        }
        let d = dir("loopback");
        let mut k = open(&d.join("k.json"));
        k.explicit = false;
        assert!(!k.applies("127.0.0.1:3389"));
        assert!(k.applies("rdp.example:3389"));
        k.explicit = true;
        assert!(k.applies("127.0.0.1:3389"));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn writers_merge_rather_than_overwrite() {
        let d = dir("merge");
        let path = d.join("k.json");
        let now = jiff::Timestamp::now();
        // Two processes open the same (empty) file, each remembers its own target.
        let mut a = open(&path);
        let mut b = open(&path);
        assert!(rec(&mut a, "a:1", &cert("aa"), None, false, now).is_none());
        assert!(rec(&mut b, "b:1", &cert("bb"), None, false, now).is_none());
        let k = open(&path);
        assert!(k.get("a:1").is_some() && k.get("b:1").is_some());
        // One accepts a changed certificate; the other, which still holds the old one, only
        // touches what it saw and never puts the old one back.
        let mut accept = open(&path);
        accept.accept_changed = true;
        rec(&mut accept, "a:1", &cert("a2"), None, false, now);
        rec(&mut b, "a:1", &cert("aa"), None, false, now);
        let k = open(&path);
        assert_eq!(k.get("a:1").map(|c| c.sha256_hex.as_str()), Some("a2"));
        let _ = std::fs::remove_dir_all(&d);
    }
}
