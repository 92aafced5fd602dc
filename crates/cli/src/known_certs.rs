//! Remembered certificates (`--known-certs`), as mstsc and ssh remember what a server showed: one
//! certificate per target (`host:port`), kept in a JSON file in the user's data directory. The
//! comparison itself is diagnosis (cert-changed, interception-suspected); this module only reads
//! and writes the file.
//!
//! The file is untrusted input: it is read with a size bound, a corrupt or foreign file is
//! reported and left alone (never overwritten, never a panic), and it is written atomically
//! (a temporary file in the same directory, then a rename) with a bounded number of entries.

use rdpdoctor_diagnose::{Diagnosis, FindingId};
use rdpdoctor_observations::{
    Certificate, CertificateExpectation, KnownCertificate, Observations, Target, TlsVersion,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

const SCHEMA: &str = "rdpdoctor.known-certs/1";
/// A file larger than this is not read (a few hundred bytes an entry: room for every target).
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Entries kept; the least recently seen go first.
const MAX_ENTRIES: usize = 5000;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct KnownCertsArgs {
    /// Remember each target's certificate in FILE and report cert-changed when another one shows
    /// up later (default: $XDG_DATA_HOME/rdpdoctor/known-certs.json, else
    /// ~/.local/share/rdpdoctor/known-certs.json)
    #[arg(long, value_name = "FILE", conflicts_with = "no_known_certs")]
    pub known_certs: Option<PathBuf>,
    /// Neither read nor write remembered certificates (also RDPDOCTOR_NO_KNOWN_CERTS=1)
    #[arg(long)]
    pub no_known_certs: bool,
    /// Replace the remembered certificate by the one presented now (after a renewal you checked)
    #[arg(long)]
    pub accept_changed_cert: bool,
}

#[derive(Serialize, Deserialize)]
struct File {
    schema: String,
    #[serde(default)]
    targets: BTreeMap<String, KnownCertificate>,
}

/// The open file.
pub struct KnownCerts {
    path: PathBuf,
    targets: BTreeMap<String, KnownCertificate>,
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

impl KnownCerts {
    /// Opens the file the arguments name (`None`: disabled, or no location known).
    pub fn open(args: &KnownCertsArgs) -> Option<KnownCerts> {
        let env_off = std::env::var_os("RDPDOCTOR_NO_KNOWN_CERTS").is_some_and(|v| v == "1");
        if args.no_known_certs || (env_off && args.known_certs.is_none()) {
            return None;
        }
        let path = args.known_certs.clone().or_else(default_path)?;
        let (targets, problem) = match read(&path) {
            Ok(t) => (t, None),
            Err(e) => (BTreeMap::new(), Some(e)),
        };
        Some(KnownCerts {
            path,
            targets,
            problem,
            accept_changed: args.accept_changed_cert,
        })
    }

    #[cfg(test)]
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    pub fn get(&self, key: &str) -> Option<&KnownCertificate> {
        self.targets.get(key)
    }

    /// The expectation recorded in the observations for `key`.
    pub fn expectation(&self, key: &str) -> CertificateExpectation {
        CertificateExpectation {
            pinned_sha256: None,
            remembered: self.get(key).cloned(),
            known_certs_file: Some(self.path.display().to_string()),
            known_certs_problem: self.problem.clone(),
        }
    }

    /// Records what a check saw for `key`: a first certificate is remembered (unless the check
    /// suspects interception: what is remembered must be the server's), the same one is marked
    /// seen, another one replaces the remembered one only with `--accept-changed-cert`. Returns
    /// a line for stderr when something needs saying.
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
    fn flush_if_changed(&self, (changed, note): (bool, Option<String>)) -> Option<String> {
        if !changed {
            return note;
        }
        if let Err(e) = self.flush() {
            return Some(e);
        }
        note
    }

    /// Like [`KnownCerts::record`] without writing the file (a fleet scan writes it once, at the
    /// end, with [`KnownCerts::flush`]); says whether anything changed.
    pub fn remember(
        &mut self,
        key: &str,
        obs: &Observations,
        diagnosis: &Diagnosis,
        now: jiff::Timestamp,
    ) -> (bool, Option<String>) {
        let Some(tls) = &obs.tls else {
            return (false, None);
        };
        let Some(seen) = &tls.certificate else {
            return (false, None);
        };
        let suspected = diagnosis
            .findings
            .iter()
            .any(|f| f.id == FindingId::InterceptionSuspected);
        self.remember_certificate(key, seen, tls.newest_completed(), suspected, now)
    }

    /// The certificate `seen` for `key`, with the newest TLS version that completed; `suspected`
    /// when the check suspects interception (a first certificate is then not remembered).
    fn remember_certificate(
        &mut self,
        key: &str,
        seen: &Certificate,
        newest_tls: Option<TlsVersion>,
        suspected: bool,
        now: jiff::Timestamp,
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
        let note = match self.targets.get_mut(key) {
            Some(k) if k.same_certificate(seen) => {
                // The same certificate proves the same server: what its TLS offers now is the
                // baseline (a server whose TLS 1.3 was turned off is no sign of anything).
                k.last_seen = now;
                if newest_tls.is_some() {
                    k.newest_tls = newest_tls;
                }
                None
            }
            Some(_) if self.accept_changed => {
                self.targets
                    .insert(key.to_string(), KnownCertificate::from_certificate(seen, newest_tls, now));
                Some(format!(
                    "rdpdoctor: remembered the new certificate of {key} (SHA-256 {}) in {}",
                    seen.sha256_hex,
                    self.path.display()
                ))
            }
            Some(_) => {
                return (false, Some(format!(
                    "rdpdoctor: the certificate of {key} differs from the one remembered in {}; the remembered one is kept (after checking it is a renewal: --accept-changed-cert)",
                    self.path.display()
                )))
            }
            None if suspected => {
                return (false, Some(format!(
                    "rdpdoctor: the certificate of {key} was not remembered: the check suspects interception"
                )))
            }
            None => {
                self.targets
                    .insert(key.to_string(), KnownCertificate::from_certificate(seen, newest_tls, now));
                None
            }
        };
        self.trim();
        (true, note)
    }

    /// Writes the file; the error is a line for stderr.
    pub fn flush(&self) -> Result<(), String> {
        self.save().map_err(|e| format!(
            "rdpdoctor: cannot write the known certificates file {}: {e}; use --known-certs FILE with a writable path, or --no-known-certs",
            self.path.display()
        ))
    }

    /// Keeps the most recently seen entries within the bound.
    fn trim(&mut self) {
        if self.targets.len() <= MAX_ENTRIES {
            return;
        }
        let mut by_age: Vec<(jiff::Timestamp, String)> = self
            .targets
            .iter()
            .map(|(k, v)| (v.last_seen, k.clone()))
            .collect();
        by_age.sort();
        let excess = self.targets.len() - MAX_ENTRIES;
        for (_, k) in by_age.into_iter().take(excess) {
            self.targets.remove(&k);
        }
    }

    /// Writes the file atomically: a temporary file beside it, then a rename.
    fn save(&self) -> Result<(), String> {
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let doc = File {
            schema: SCHEMA.to_string(),
            targets: self.targets.clone(),
        };
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "known-certs.json".to_string());
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!(
                "cannot rename {} to {}: {e}",
                tmp.display(),
                self.path.display()
            )
        })
    }
}

/// Reads the file: a missing file is an empty one; anything else that is not ours is a problem.
fn read(path: &Path) -> Result<BTreeMap<String, KnownCertificate>, String> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("cannot open it: {e}")),
    };
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("it is larger than {MAX_FILE_BYTES} bytes"));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| "it is not UTF-8 text".to_string())?;
    let doc: File = serde_json::from_str(text.strip_prefix('\u{feff}').unwrap_or(text))
        .map_err(|e| format!("it is not a known certificates file: {e}"))?;
    if doc.schema != SCHEMA {
        return Err(format!(
            "schema {:?}, this version reads {SCHEMA}",
            doc.schema
        ));
    }
    Ok(doc.targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `record` does for one certificate: remember it, write the file if it changed.
    fn rec(
        k: &mut KnownCerts,
        key: &str,
        seen: &Certificate,
        newest_tls: Option<TlsVersion>,
        suspected: bool,
        now: jiff::Timestamp,
    ) -> Option<String> {
        let remembered = k.remember_certificate(key, seen, newest_tls, suspected, now);
        k.flush_if_changed(remembered)
    }

    #[test]
    fn the_same_certificate_updates_the_newest_tls_version() {
        let dir = std::env::temp_dir().join(format!("rdpdoctor-kc-tls-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("k.json");
        let _ = std::fs::remove_file(&path);
        let args = KnownCertsArgs {
            known_certs: Some(path.clone()),
            ..KnownCertsArgs::default()
        };
        let mut k = KnownCerts::open(&args).unwrap_or_else(|| panic!("opens"));
        let now = jiff::Timestamp::UNIX_EPOCH;
        let tls13 = Some(TlsVersion::Tls13);
        k.remember_certificate("h:3389", &cert("aa"), tls13, false, now);
        assert_eq!(k.targets["h:3389"].newest_tls, tls13);
        // The same certificate, TLS 1.3 turned off on the server: the new baseline.
        k.remember_certificate("h:3389", &cert("aa"), Some(TlsVersion::Tls12), false, now);
        assert_eq!(k.targets["h:3389"].newest_tls, Some(TlsVersion::Tls12));
        // Another certificate does not touch the remembered entry.
        k.remember_certificate("h:3389", &cert("bb"), Some(TlsVersion::Tls10), false, now);
        assert_eq!(k.targets["h:3389"].newest_tls, Some(TlsVersion::Tls12));
        let _ = std::fs::remove_dir_all(&dir);
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

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "rdpdoctor-known-certs-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn remembers_keeps_and_replaces_only_when_told() {
        let d = dir();
        let path = d.join("sub").join("k.json");
        let args = KnownCertsArgs {
            known_certs: Some(path.clone()),
            ..KnownCertsArgs::default()
        };
        let now = jiff::Timestamp::now();
        let mut k = KnownCerts::open(&args).unwrap_or_else(|| unreachable!());
        assert!(rec(&mut k, "h:3389", &cert("aa"), None, false, now).is_none());
        let mut k = KnownCerts::open(&args).unwrap_or_else(|| unreachable!());
        assert_eq!(k.get("h:3389").map(|c| c.sha256_hex.as_str()), Some("aa"));
        assert!(rec(&mut k, "h:3389", &cert("bb"), None, false, now).is_some());
        let k2 = KnownCerts::open(&args).unwrap_or_else(|| unreachable!());
        assert_eq!(k2.get("h:3389").map(|c| c.sha256_hex.as_str()), Some("aa"));
        let mut accept = KnownCerts::open(&KnownCertsArgs {
            accept_changed_cert: true,
            ..args.clone()
        })
        .unwrap_or_else(|| unreachable!());
        assert!(rec(&mut accept, "h:3389", &cert("bb"), None, false, now).is_some());
        let k3 = KnownCerts::open(&args).unwrap_or_else(|| unreachable!());
        assert_eq!(k3.get("h:3389").map(|c| c.sha256_hex.as_str()), Some("bb"));
        // Nothing is remembered at first sight of a suspected interceptor.
        k.accept_changed = false;
        assert!(rec(&mut k, "other:1", &cert("cc"), None, true, now).is_some());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_corrupt_or_huge_file_is_reported_and_left_alone() {
        let d = dir();
        std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
        let path = d.join("k.json");
        std::fs::write(&path, b"{not json\x00\xff").unwrap_or_else(|e| panic!("{e}"));
        let args = KnownCertsArgs {
            known_certs: Some(path.clone()),
            ..KnownCertsArgs::default()
        };
        let mut k = KnownCerts::open(&args).unwrap_or_else(|| unreachable!());
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
        let big = vec![b' '; (MAX_FILE_BYTES + 10) as usize];
        std::fs::write(&path, big).unwrap_or_else(|e| panic!("{e}"));
        let k = KnownCerts::open(&args).unwrap_or_else(|| unreachable!());
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
}
