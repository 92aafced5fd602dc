//! What the client expected the server's certificate to be (pins given on the command line, the
//! TLS terminator the admin expects, or the certificates remembered for this target from earlier
//! checks), how a certificate seen now compares with the remembered ones (the same, a renewal,
//! another node of a farm, or a change), and the comparisons of names that several readers need.
//! Filled in by the command line before diagnosis; the probe reads the same facts to decide
//! whether an NTLM response may be sent, so that both judge a certificate the same way.

use crate::{Certificate, NtlmInfo, TlsVersion};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// The longest subject, issuer, name or computer name kept in a remembered entry, in bytes: a
/// server controls these strings, and one entry must never crowd out the others (issue 21).
pub const MAX_REMEMBERED_TEXT: usize = 256;
/// The most certificate names kept per remembered entry.
pub const MAX_REMEMBERED_NAMES: usize = 8;
/// The most nodes (certificate and NTLM computer name) remembered behind one target.
pub const MAX_NODES: usize = 8;
/// A remembered certificate this close to its notAfter (or past it) is due for renewal.
const RENEWAL_WINDOW: SignedDuration = SignedDuration::from_hours(30 * 24);

/// What the certificate was expected to be before this check.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CertificateExpectation {
    /// The first `--cert-sha256` that names a leaf, as 64 lower-case hex digits (kept for readers
    /// of older documents; `pins` has every pin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_sha256: Option<String>,
    /// Every `--cert-sha256` pin: a leaf certificate, an issuing CA or a public key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pins: Vec<CertPin>,
    /// `--expect-terminator`: the TLS terminator (a PAM proxy, a bastion) the admin runs in front
    /// of the server on purpose.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terminators: Vec<CertPin>,
    /// The certificate remembered for this target (`--known-certs`), with the other nodes of a
    /// farm behind it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remembered: Option<KnownCertificate>,
    /// The file the remembered certificates are kept in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_certs_file: Option<String>,
    /// Why that file could not be read (corrupt, too large...): reported, never fatal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_certs_problem: Option<String>,
}

impl CertificateExpectation {
    /// Whether any pin was given (a pin decides alone: the remembered certificate is not
    /// compared for signs).
    pub fn pinned(&self) -> bool {
        !self.pins.is_empty() || self.pinned_sha256.is_some()
    }
}

/// What a pin names (`--cert-sha256 [leaf:|ca:|spki:]HEX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PinKind {
    /// The SHA-256 of the server's own certificate (DER).
    Leaf,
    /// The SHA-256 of an issuing CA certificate (DER) the server sends in its chain, which the
    /// leaf must chain up to by signature: every certificate that CA issued is accepted.
    Ca,
    /// The SHA-256 of the leaf's DER SubjectPublicKeyInfo: survives a renewal that keeps the key.
    Spki,
}

/// One pin: what it names and the SHA-256 (64 lower-case hex digits).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertPin {
    pub kind: PinKind,
    pub sha256_hex: String,
}

impl CertPin {
    /// Parses `[leaf:|ca:|spki:]HEX`: 64 hex digits, with or without `:`, spaces or `-` between
    /// the bytes (as reports and Windows show them). Without a prefix, a leaf.
    pub fn parse(text: &str) -> Result<CertPin, String> {
        let trimmed = text.trim();
        let (kind, rest) = match trimmed.split_once(':') {
            Some((p, rest)) if p.eq_ignore_ascii_case("leaf") => (PinKind::Leaf, rest),
            Some((p, rest)) if p.eq_ignore_ascii_case("ca") => (PinKind::Ca, rest),
            Some((p, rest)) if p.eq_ignore_ascii_case("spki") => (PinKind::Spki, rest),
            _ => (PinKind::Leaf, trimmed),
        };
        let clean: String = rest
            .chars()
            .filter(|c| !matches!(c, ':' | ' ' | '-'))
            .collect();
        if clean.len() != 64 || !clean.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "{text:?} is not a SHA-256 pin: give [leaf:|ca:|spki:] and the 64 hex digits the report shows (leaf: the certificate's \"SHA-256\", spki: its public_key_sha256 in check --json, ca: the SHA-256 of the issuing CA certificate)"
            ));
        }
        Ok(CertPin {
            kind,
            sha256_hex: clean.to_ascii_lowercase(),
        })
    }

    /// Whether the leaf `c` matches this pin on its own (a CA pin needs the chain: the probe
    /// decides those).
    pub fn matches_leaf(&self, c: &Certificate) -> bool {
        match self.kind {
            PinKind::Leaf => self.sha256_hex.eq_ignore_ascii_case(&c.sha256_hex),
            PinKind::Spki => c
                .public_key_sha256
                .as_deref()
                .is_some_and(|k| self.sha256_hex.eq_ignore_ascii_case(k)),
            PinKind::Ca => false,
        }
    }
}

impl std::fmt::Display for CertPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            PinKind::Leaf => "leaf",
            PinKind::Ca => "ca",
            PinKind::Spki => "spki",
        };
        write!(f, "{kind}:{}", self.sha256_hex)
    }
}

/// What the chain a TLS probe saw proves about the far end, judged by the probe (it holds the
/// chain; a saved document keeps the verdict).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChainIdentity {
    /// The chain verifies against this machine's trust store for the name (or address) the user
    /// typed, as mstsc's "trusted certificate".
    pub verified_for_target: bool,
    /// Why it does not, in OpenSSL's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_error: Option<String>,
    /// The `--cert-sha256` pin the chain matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_pin: Option<CertPin>,
    /// The `--expect-terminator` the chain matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_terminator: Option<CertPin>,
}

/// A certificate remembered for one target (`host:port`). Only what the comparison needs, each
/// string bounded ([`MAX_REMEMBERED_TEXT`]): a hostile server cannot grow the file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnownCertificate {
    pub sha256_hex: String,
    /// The SHA-1 thumbprint, what Windows shows (absent in files written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1_hex: Option<String>,
    /// SHA-256 of the DER SubjectPublicKeyInfo: the same key survives a renewal that reuses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_sha256: Option<String>,
    pub subject: String,
    pub issuer: String,
    /// The host names the certificate is issued for (SAN DNS names and subject CNs), lower-case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    /// When this certificate was first seen for the target.
    pub first_seen: Timestamp,
    /// When it was last seen.
    pub last_seen: Timestamp,
    /// The newest TLS version whose handshake completed when this certificate was last seen
    /// (absent in files written before it was kept). An interceptor that presents another
    /// certificate often runs an older TLS stack than the server behind it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_tls: Option<TlsVersion>,
    /// The computer name the server gave in its NTLM CHALLENGE with this certificate (NetBIOS,
    /// upper-case): tells the nodes of a farm apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ntlm_computer: Option<String>,
    /// The other nodes of a farm seen behind the same target (a load balancer, DNS round robin),
    /// each with its own certificate and computer name; at most [`MAX_NODES`] in all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_nodes: Vec<KnownCertificate>,
}

/// `text` as a remembered entry keeps it: control characters replaced (they are never part of a
/// real name and would only be escaped later), cut to [`MAX_REMEMBERED_TEXT`] bytes on a
/// character boundary, with "…" when cut.
pub fn bounded(text: &str) -> String {
    let mut out = String::new();
    for ch in text.chars() {
        let ch = if ch.is_control() { '\u{fffd}' } else { ch };
        if out.len() + ch.len_utf8() > MAX_REMEMBERED_TEXT {
            out.push('…');
            return out;
        }
        out.push(ch);
    }
    out
}

/// The NetBIOS computer name of a CHALLENGE (else the first label of its DNS name), upper-case.
pub fn ntlm_computer(info: &NtlmInfo) -> Option<String> {
    let name = info
        .netbios_computer
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| {
            info.dns_computer
                .as_deref()
                .map(|d| first_label(d).to_string())
                .filter(|n| !n.trim().is_empty())
        })?;
    Some(bounded(&name.to_uppercase()))
}

impl KnownCertificate {
    /// The entry to remember for a certificate seen at `now`.
    pub fn from_certificate(
        c: &Certificate,
        newest_tls: Option<TlsVersion>,
        now: Timestamp,
    ) -> KnownCertificate {
        KnownCertificate::from_seen(c, newest_tls, None, now)
    }

    /// The entry to remember for a certificate seen at `now` with the CHALLENGE `ntlm`.
    pub fn from_seen(
        c: &Certificate,
        newest_tls: Option<TlsVersion>,
        ntlm: Option<&NtlmInfo>,
        now: Timestamp,
    ) -> KnownCertificate {
        let mut names: Vec<String> = certificate_host_names(c)
            .iter()
            .map(|n| bounded(n))
            .collect();
        names.truncate(MAX_REMEMBERED_NAMES);
        KnownCertificate {
            sha256_hex: bounded(&c.sha256_hex.to_ascii_lowercase()),
            sha1_hex: Some(bounded(&c.sha1_hex.to_ascii_uppercase())),
            public_key_sha256: c.public_key_sha256.as_deref().map(bounded),
            subject: bounded(&c.subject),
            issuer: bounded(&c.issuer),
            names,
            not_before: c.not_before,
            not_after: c.not_after,
            first_seen: now,
            last_seen: now,
            newest_tls,
            ntlm_computer: ntlm.and_then(ntlm_computer),
            other_nodes: Vec::new(),
        }
    }

    /// Bounds every string of an entry read from a file (older versions kept them whole).
    pub fn bound(&mut self) {
        for s in [&mut self.sha256_hex, &mut self.subject, &mut self.issuer] {
            *s = bounded(s);
        }
        for s in self
            .sha1_hex
            .iter_mut()
            .chain(self.public_key_sha256.iter_mut())
            .chain(self.ntlm_computer.iter_mut())
            .chain(self.names.iter_mut())
        {
            *s = bounded(s);
        }
        self.names.truncate(MAX_REMEMBERED_NAMES);
        self.other_nodes.truncate(MAX_NODES.saturating_sub(1));
        for n in &mut self.other_nodes {
            n.other_nodes.clear();
            n.bound();
        }
    }

    /// This entry and the other nodes remembered with it.
    pub fn nodes(&self) -> impl Iterator<Item = &KnownCertificate> {
        std::iter::once(self).chain(self.other_nodes.iter())
    }

    /// Whether `c` is this certificate.
    pub fn same_certificate(&self, c: &Certificate) -> bool {
        self.sha256_hex.eq_ignore_ascii_case(&c.sha256_hex)
    }

    /// Whether `c` carries another public key than this one (unknown counts as changed when
    /// the certificates differ).
    pub fn key_changed(&self, c: &Certificate) -> bool {
        if self.same_certificate(c) {
            return false;
        }
        match (&self.public_key_sha256, &c.public_key_sha256) {
            (Some(a), Some(b)) => !a.eq_ignore_ascii_case(b),
            _ => true,
        }
    }

    /// The marks of a clone (what pyrdp-mitm and its kind present): another key, with the same
    /// subject and the same notBefore as this certificate. A renewal or another node has a
    /// newer or other notBefore.
    pub fn cloned_by(&self, c: &Certificate) -> bool {
        self.key_changed(c)
            && self.subject == bounded(&c.subject)
            && self.not_before == c.not_before
    }

    /// Whether `c` has the same subject, issuer and names as this certificate.
    fn same_identity(&self, c: &Certificate) -> bool {
        let mut names: Vec<String> = certificate_host_names(c)
            .iter()
            .map(|n| bounded(n))
            .collect();
        names.truncate(MAX_REMEMBERED_NAMES);
        // Entries written before names were kept compare by subject and issuer alone.
        let names_agree = self.names.is_empty() && self.sha1_hex.is_none() || self.names == names;
        self.subject == bounded(&c.subject) && self.issuer == bounded(&c.issuer) && names_agree
    }
}

/// How a certificate seen now relates to what was remembered for the target.
#[derive(Clone, Debug, PartialEq)]
pub enum CertChange<'a> {
    /// One of the remembered certificates.
    Same(&'a KnownCertificate),
    /// A renewal of `previous`: the same subject, names and issuer, a strictly newer notBefore,
    /// and the previous one expired or due (or the new chain verifies for the typed name).
    Renewed {
        previous: &'a KnownCertificate,
        why: String,
    },
    /// Another node of a farm: a new key with a new NTLM computer name that the certificate
    /// agrees with, and no clone marks.
    OtherNode { computer: String },
    /// Anything else: compared with `previous` (the node the same computer name was remembered
    /// with, else the entry itself).
    Changed {
        previous: &'a KnownCertificate,
        /// The clone marks: another key, the same subject and notBefore.
        cloned: bool,
    },
}

/// What a check saw that the comparison weighs.
pub struct Seen<'a> {
    pub certificate: &'a Certificate,
    pub ntlm: Option<&'a NtlmInfo>,
    /// The chain verifies for the typed name, or matched a pin.
    pub verified: bool,
    pub now: Timestamp,
}

/// Compares `seen` with the certificates remembered in `known`.
pub fn classify<'a>(known: &'a KnownCertificate, seen: &Seen<'_>) -> CertChange<'a> {
    let c = seen.certificate;
    if let Some(same) = known.nodes().find(|k| k.same_certificate(c)) {
        return CertChange::Same(same);
    }
    let computer = seen.ntlm.and_then(ntlm_computer);
    let same_node = computer.as_deref().and_then(|n| {
        known
            .nodes()
            .find(|k| k.ntlm_computer.as_deref() == Some(n))
    });
    let previous = same_node.unwrap_or(known);
    if let Some(why) = renewal(previous, seen) {
        return CertChange::Renewed { previous, why };
    }
    let cloned = known.nodes().any(|k| k.cloned_by(c));
    if let (Some(n), None) = (&computer, same_node) {
        let names_agree = seen
            .ntlm
            .is_none_or(|info| ntlm_names_disagree(c, info).is_none());
        // Only when the node seen before had told its name: without it, a new name says nothing.
        if previous.ntlm_computer.is_some() && !cloned && (names_agree || seen.verified) {
            return CertChange::OtherNode {
                computer: n.clone(),
            };
        }
    }
    CertChange::Changed { previous, cloned }
}

/// Why `seen` is a renewal of `previous`, if it is one.
fn renewal(previous: &KnownCertificate, seen: &Seen<'_>) -> Option<String> {
    let c = seen.certificate;
    if !previous.same_identity(c) || c.not_before <= previous.not_before {
        return None;
    }
    let due = previous.not_after <= seen.now.saturating_add(RENEWAL_WINDOW).ok()?;
    let because = if previous.not_after <= seen.now {
        "the remembered one has expired"
    } else if due {
        "the remembered one expires within 30 days"
    } else if seen.verified {
        "the new certificate verifies for the name typed"
    } else {
        return None;
    };
    let key = if previous.key_changed(c) {
        "a new key"
    } else {
        "the same key"
    };
    Some(format!(
        "the same subject, names and issuer, valid from a later date, {key}; {because}"
    ))
}

/// The host names a certificate is issued for (SAN DNS names and subject CNs), lower-case,
/// without "localhost" (every machine) and address literals (they name no machine).
pub fn certificate_host_names(c: &Certificate) -> Vec<String> {
    let mut names: Vec<String> = c
        .san_dns
        .iter()
        .chain(c.subject_cn.iter())
        .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
        .filter(|n| !n.is_empty() && n != "localhost" && n.parse::<std::net::IpAddr>().is_err())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// When the computer names a server gave in its NTLM CHALLENGE (MS-NLMP 2.2.2.1 AV_PAIRs) match
/// none of the host names its certificate is issued for, a description of both; `None` when they
/// agree or when either side names nothing comparable.
pub fn ntlm_names_disagree(c: &Certificate, info: &NtlmInfo) -> Option<String> {
    let cert = certificate_host_names(c);
    let mut ntlm: Vec<String> = Vec::new();
    if let Some(n) = &info.netbios_computer {
        ntlm.push(n.to_ascii_lowercase());
    }
    if let Some(n) = &info.dns_computer {
        let n = n.trim_end_matches('.').to_ascii_lowercase();
        ntlm.push(first_label(&n).to_string());
        ntlm.push(n);
    }
    ntlm.retain(|n| !n.is_empty() && n != "localhost");
    if cert.is_empty() || ntlm.is_empty() {
        return None;
    }
    let agrees = cert.iter().any(|c| {
        let wildcard_domain = c.strip_prefix("*.");
        ntlm.iter().any(|n| {
            n == c
                || first_label(c) == n.as_str()
                || wildcard_domain.is_some_and(|d| {
                    n.strip_suffix(d)
                        .is_some_and(|h| h.ends_with('.') && !h[..h.len() - 1].contains('.'))
                })
        })
    });
    if agrees {
        return None;
    }
    let said = [&info.netbios_computer, &info.dns_computer]
        .iter()
        .filter_map(|n| n.as_deref())
        .collect::<Vec<_>>()
        .join(" / ");
    Some(format!(
        "the NTLM CHALLENGE names the computer {said}, the certificate is issued for {}",
        cert.join(", ")
    ))
}

fn first_label(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(names: &[&str]) -> Certificate {
        Certificate {
            subject: "CN=x".into(),
            subject_cn: vec![],
            issuer: "CN=ca".into(),
            san_dns: names.iter().map(|s| s.to_string()).collect(),
            san_ip: vec![],
            serial_hex: "01".into(),
            sha256_hex: "aa".repeat(32),
            sha1_hex: "BB".repeat(20),
            public_key_sha256: Some("cc".repeat(32)),
            not_before: Timestamp::UNIX_EPOCH,
            not_after: Timestamp::UNIX_EPOCH,
            never_expires: false,
            self_signed: false,
            key_type: "RSA".into(),
            key_bits: 2048,
            signature_algorithm: "sha256WithRSAEncryption".into(),
            signature_digest: None,
            chain_len: 1,
        }
    }

    fn ntlm(netbios: &str, dns: Option<&str>) -> NtlmInfo {
        NtlmInfo {
            netbios_computer: Some(netbios.into()),
            dns_computer: dns.map(str::to_string),
            ..NtlmInfo::default()
        }
    }

    #[test]
    fn names_agree_by_full_name_first_label_or_wildcard() {
        let c = cert(&["rds01.corp.example"]);
        assert_eq!(
            ntlm_names_disagree(&c, &ntlm("RDS01", Some("rds01.corp.example"))),
            None
        );
        assert_eq!(ntlm_names_disagree(&c, &ntlm("RDS01", None)), None);
        let w = cert(&["*.corp.example"]);
        assert_eq!(
            ntlm_names_disagree(&w, &ntlm("X", Some("rds07.corp.example"))),
            None
        );
    }

    #[test]
    fn names_disagree_when_another_machine_answers() {
        let c = cert(&["rds01.corp.example"]);
        let why = ntlm_names_disagree(&c, &ntlm("ATTACKER-PC", Some("attacker-pc.lan")));
        assert!(why.is_some_and(|w| w.contains("ATTACKER-PC") && w.contains("rds01.corp.example")));
    }

    #[test]
    fn localhost_and_addresses_name_no_machine() {
        let c = cert(&["localhost", "127.0.0.1"]);
        assert_eq!(ntlm_names_disagree(&c, &ntlm("LABHOST", None)), None);
    }

    #[test]
    fn a_renewal_with_the_same_key_is_not_a_key_change() {
        let old = cert(&["a"]);
        let known = KnownCertificate::from_certificate(&old, None, Timestamp::UNIX_EPOCH);
        let mut renewed = old.clone();
        renewed.sha256_hex = "dd".repeat(32);
        assert!(!known.same_certificate(&renewed));
        assert!(!known.key_changed(&renewed));
        renewed.public_key_sha256 = Some("ee".repeat(32));
        assert!(known.key_changed(&renewed));
    }

    fn at(days: i64) -> Timestamp {
        Timestamp::UNIX_EPOCH
            .saturating_add(SignedDuration::from_hours(24 * (20_000 + days)))
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// A certificate for rds01.corp.example valid from day `from` to day `to`, with key `key`.
    fn dated(sha: &str, key: &str, from: i64, to: i64) -> Certificate {
        let mut c = cert(&["rds01.corp.example"]);
        c.subject = "CN=rds01.corp.example".into();
        c.sha256_hex = sha.repeat(32);
        c.public_key_sha256 = Some(key.repeat(32));
        c.not_before = at(from);
        c.not_after = at(to);
        c
    }

    fn seen<'a>(c: &'a Certificate, ntlm: Option<&'a NtlmInfo>, verified: bool) -> Seen<'a> {
        Seen {
            certificate: c,
            ntlm,
            verified,
            now: at(0),
        }
    }

    #[test]
    fn a_renewal_needs_a_newer_date_and_a_due_or_verified_certificate() {
        let old = KnownCertificate::from_certificate(&dated("aa", "11", -170, 10), None, at(-100));
        let renewed = dated("bb", "22", -1, 180);
        assert!(matches!(
            classify(&old, &seen(&renewed, None, false)),
            CertChange::Renewed { .. }
        ));
        // Not due and not verified: a change for the admin to confirm.
        let fresh = KnownCertificate::from_certificate(&dated("aa", "11", -10, 170), None, at(-5));
        assert!(matches!(
            classify(&fresh, &seen(&renewed, None, false)),
            CertChange::Changed { cloned: false, .. }
        ));
        assert!(matches!(
            classify(&fresh, &seen(&renewed, None, true)),
            CertChange::Renewed { .. }
        ));
        // A clone keeps the notBefore: never a renewal, and its marks are named.
        let clone = dated("cc", "33", -170, 10);
        assert!(matches!(
            classify(&old, &seen(&clone, None, true)),
            CertChange::Changed { cloned: true, .. }
        ));
        // Another issuer is no renewal.
        let mut other = renewed.clone();
        other.issuer = "CN=elsewhere".into();
        assert!(matches!(
            classify(&old, &seen(&other, None, false)),
            CertChange::Changed { .. }
        ));
    }

    #[test]
    fn another_node_needs_a_new_name_that_the_certificate_agrees_with_and_no_clone_marks() {
        let a = dated("aa", "11", -30, 150);
        let known = KnownCertificate::from_seen(&a, None, Some(&ntlm("RDS01", None)), at(-1));
        let mut b = dated("bb", "22", -20, 160);
        b.subject = "CN=rds02.corp.example".into();
        b.san_dns = vec!["rds02.corp.example".into()];
        let rds02 = ntlm("RDS02", Some("rds02.corp.example"));
        assert_eq!(
            classify(&known, &seen(&b, Some(&rds02), false)),
            CertChange::OtherNode {
                computer: "RDS02".into()
            }
        );
        // The same certificate under another name is an interceptor's name, not a node.
        let winnt = ntlm("WINNT", None);
        let clone = dated("cc", "33", -30, 150);
        assert!(matches!(
            classify(&known, &seen(&clone, Some(&winnt), false)),
            CertChange::Changed { cloned: true, .. }
        ));
        // A name the certificate does not agree with is no node either.
        assert!(matches!(
            classify(&known, &seen(&b, Some(&winnt), false)),
            CertChange::Changed { .. }
        ));
        // Without the name the first node gave, a new name proves nothing.
        let nameless = KnownCertificate::from_certificate(&a, None, at(-1));
        assert!(matches!(
            classify(&nameless, &seen(&b, Some(&rds02), false)),
            CertChange::Changed { .. }
        ));
        // A node remembered before is the same again.
        let mut both = known.clone();
        both.other_nodes
            .push(KnownCertificate::from_seen(&b, None, Some(&rds02), at(-1)));
        assert!(matches!(
            classify(&both, &seen(&b, Some(&rds02), false)),
            CertChange::Same(_)
        ));
    }

    #[test]
    fn an_entry_is_bounded_whatever_the_certificate_says() {
        let mut c = cert(&[]);
        c.subject = "\u{1}".repeat(44_000);
        c.issuer = "é".repeat(10_000);
        c.san_dns = (0..1000)
            .map(|i| format!("{}{i}.example", "n".repeat(300)))
            .collect();
        let k = KnownCertificate::from_seen(&c, None, None, Timestamp::UNIX_EPOCH);
        let json = serde_json::to_string(&k).unwrap_or_default();
        assert!(json.len() < 4 * 1024, "{} bytes", json.len());
        assert!(!k.subject.chars().any(char::is_control));
        assert!(k.issuer.ends_with('…') && k.issuer.len() <= MAX_REMEMBERED_TEXT + 3);
        // The comparison bounds the certificate the same way: it is still the same subject.
        assert!(k.same_identity(&c));
    }
}

/// The signs of interception in words: the probe withholds a logon on them (`LogonOutcome::
/// Withheld`) and the diagnosis cites them (`interception-suspected`), in the same sentences.
pub mod sign {
    use crate::{protocol, Certificate, KnownCertificate, NegotiationAttempt, NegotiationOutcome};

    /// The answers that selected a known protocol the request did not offer (MS-RDPBCGR
    /// 2.2.1.2.1: the server selects among the requested protocols), as one sign: several
    /// requests answered the same wrong way are one.
    pub fn protocol_violations(negotiation: &[NegotiationAttempt]) -> Option<String> {
        let mut violations = negotiation.iter().filter_map(|a| match a.outcome {
            NegotiationOutcome::Selected { protocol: p, .. }
                if protocol::is_known_selection(p)
                    && protocol::violates_request(a.requested, p) =>
            {
                Some((a.requested, p))
            }
            _ => None,
        });
        let (requested, selected) = violations.next()?;
        let more = violations.count();
        let several = if more > 0 {
            format!(
                " ({} requests were answered outside their request)",
                more + 1
            )
        } else {
            String::new()
        };
        Some(format!(
            "the request for {} was answered with {}, which was not requested (MS-RDPBCGR 2.2.1.2.1){several}",
            protocol::names(requested),
            protocol::names(selected)
        ))
    }

    /// A certificate (SHA-256 `sha256_hex`) that matches none of the pins the user gave.
    pub fn not_pinned(sha256_hex: &str, pins: &str) -> String {
        format!("the certificate (SHA-256 {sha256_hex}) is not the pinned one ({pins})")
    }

    /// A TLS terminator other than the one the admin expects.
    pub fn not_the_terminator(c: &Certificate, expected: &str) -> String {
        format!(
            "the TLS terminator (SHA-256 {}, issued by {}) is not the expected one ({expected})",
            c.sha256_hex, c.issuer
        )
    }

    /// Another key than the one remembered for the target; `cloned`: with the same subject and
    /// notBefore.
    pub fn another_key(c: &Certificate, remembered: &KnownCertificate, cloned: bool) -> String {
        format!(
            "the certificate (SHA-256 {}, issued by {}) carries another key than the one remembered for this target (SHA-256 {}, issued by {}, first seen {}){}",
            c.sha256_hex,
            c.issuer,
            remembered.sha256_hex,
            remembered.issuer,
            remembered.first_seen.strftime("%Y-%m-%d"),
            if cloned {
                ", with the same subject and notBefore: the marks of a clone"
            } else {
                ""
            }
        )
    }
}
