//! `rdpdoctor compare A B`: two checks of what should be the same server (directly and through
//! a tunnel, a load balancer, a gateway), side by side, in connection order, so the first
//! difference is the first place the routes part.
//!
//! Some differences prove the route is not transparent: a plain TCP relay (a port forward, a
//! load balancer in TCP mode, a VPN) passes the server's bytes unchanged, so the selected
//! protocol, the TLS versions and cipher, the certificate and its key, the NTLM identity and the
//! Standard RDP Security server key are the server's own on both routes. When one of them
//! differs, something on one route answers in the server's place (an interceptor, a TLS-
//! terminating gateway, or a route to another server). Timing differs on every route and never
//! changes the result by itself.

use crate::model::Diagnosis;
use crate::rules::{describe_negotiation, describe_tls};
use rdpdoctor_observations::{
    protocol, ConnectOutcome, NegotiationOutcome, Observations, TlsOutcome, TlsVersion, Transport,
};
use serde::Serialize;

/// How a field's difference counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Differs when the values differ; a difference means the route is not transparent.
    Identity,
    /// Differs when the values differ; the routes disagree.
    Matters,
    /// Shown when clearly apart; never changes the exit status.
    Timing,
}

/// One compared field.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub field: String,
    pub a: String,
    pub b: String,
    pub differs: bool,
    /// Whether this difference counts against the routes agreeing (timing does not).
    pub matters: bool,
    /// Whether this difference means one route is not transparent (something answers in the
    /// server's place).
    pub not_transparent: bool,
}

/// The comparison of two checks.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// No difference that matters.
    pub agree: bool,
    /// At least one difference that a transparent route cannot cause.
    pub not_transparent: bool,
    /// The rows that differ, first difference first.
    pub differences: Vec<Row>,
    /// Every row compared (for `--all`).
    #[serde(skip)]
    pub rows: Vec<Row>,
}

impl Comparison {
    /// 0 when the routes agree on everything that matters, 1 when they differ.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.agree)
    }
}

/// The value shown for a fact a check does not have.
const NONE: &str = "-";

/// A timing difference is shown when it exceeds this many milliseconds and half the smaller
/// value (loopback and LAN jitter stay below both).
const TIMING_MIN_MS: f64 = 20.0;

struct Rows(Vec<Row>);

impl Rows {
    fn push(&mut self, field: impl Into<String>, a: Option<String>, b: Option<String>, kind: Kind) {
        if a.is_none() && b.is_none() {
            return;
        }
        // A fact missing on one side is a difference, never proof of interception.
        let both = a.is_some() && b.is_some();
        let a = a.unwrap_or_else(|| NONE.to_string());
        let b = b.unwrap_or_else(|| NONE.to_string());
        let differs = a != b;
        self.0.push(Row {
            field: field.into(),
            a,
            b,
            differs,
            matters: differs && kind != Kind::Timing,
            not_transparent: differs && both && kind == Kind::Identity,
        });
    }

    fn timing(&mut self, field: &str, a: Option<f64>, b: Option<f64>) {
        if a.is_none() && b.is_none() {
            return;
        }
        let differs = match (a, b) {
            (Some(x), Some(y)) => (x - y).abs() > TIMING_MIN_MS.max(x.min(y) * 0.5),
            _ => false,
        };
        let show = |v: Option<f64>| v.map_or(NONE.to_string(), |ms| format!("{ms:.1} ms"));
        self.0.push(Row {
            field: field.to_string(),
            a: show(a),
            b: show(b),
            differs,
            matters: false,
            not_transparent: false,
        });
    }
}

/// Compares two checks of the same server by two routes. Pure: observations and diagnoses in.
/// Rows come in connection order, so the first difference is the first place the routes part.
pub fn compare(a: (&Observations, &Diagnosis), b: (&Observations, &Diagnosis)) -> Comparison {
    let (oa, da) = a;
    let (ob, db) = b;
    let mut rows = Rows(Vec::new());
    rows.push(
        "reachability",
        Some(reach(oa)),
        Some(reach(ob)),
        Kind::Matters,
    );
    negotiation_rows(&mut rows, oa, ob);
    tls_rows(&mut rows, oa, ob);
    certificate_rows(&mut rows, oa, ob);
    nla_rows(&mut rows, da, db);
    rdp_security_rows(&mut rows, da, db);
    session_rows(&mut rows, da, db);
    verdict_rows(&mut rows, da, db);
    timing_rows(&mut rows, a, b);

    let rows = rows.0;
    let differences: Vec<Row> = rows.iter().filter(|r| r.differs).cloned().collect();
    Comparison {
        agree: !differences.iter().any(|r| r.matters),
        not_transparent: differences.iter().any(|r| r.not_transparent),
        differences,
        rows,
    }
}

/// The selected protocol per request, in the order the check sent them.
fn negotiation_rows(rows: &mut Rows, oa: &Observations, ob: &Observations) {
    let mut requests: Vec<u32> = oa.negotiation.iter().map(|n| n.requested).collect();
    for n in &ob.negotiation {
        if !requests.contains(&n.requested) {
            requests.push(n.requested);
        }
    }
    for r in requests {
        let find = |o: &Observations| {
            o.negotiation
                .iter()
                .find(|n| n.requested == r)
                .map(|n| n.outcome.clone())
        };
        let (na, nb) = (find(oa), find(ob));
        // Only two real answers that disagree show a protocol change; a reset on one side is a
        // difference of reachability, not of the server.
        let protocol_change = matches!(
            (&na, &nb),
            (Some(x), Some(y)) if answered(x) && answered(y) && x != y
        );
        rows.push(
            format!("negotiation {}", protocol::names(r)),
            na.as_ref().map(describe_negotiation),
            nb.as_ref().map(describe_negotiation),
            if protocol_change {
                Kind::Identity
            } else {
                Kind::Matters
            },
        );
    }
}

/// TLS versions (a relay cannot change what the server accepts).
fn tls_rows(rows: &mut Rows, oa: &Observations, ob: &Observations) {
    let mut versions: Vec<TlsVersion> = Vec::new();
    for o in [oa, ob] {
        for t in o.tls.iter().flat_map(|t| t.attempts.iter()) {
            if !versions.contains(&t.version) {
                versions.push(t.version);
            }
        }
    }
    versions.sort();
    for v in versions {
        let find = |o: &Observations| {
            o.tls
                .as_ref()
                .and_then(|t| t.attempts.iter().find(|x| x.version == v))
                .map(|x| x.outcome.clone())
        };
        let (ta, tb) = (find(oa), find(ob));
        let both_answered =
            matches!((&ta, &tb), (Some(x), Some(y)) if tls_answered(x) && tls_answered(y));
        rows.push(
            v.label().to_string(),
            ta.as_ref().map(describe_tls),
            tb.as_ref().map(describe_tls),
            if both_answered {
                Kind::Identity
            } else {
                Kind::Matters
            },
        );
    }
}

/// The certificate the server presents, and its key.
fn certificate_rows(rows: &mut Rows, oa: &Observations, ob: &Observations) {
    let ca = oa.tls.as_ref().and_then(|t| t.certificate.as_ref());
    let cb = ob.tls.as_ref().and_then(|t| t.certificate.as_ref());
    if ca.is_some() || cb.is_some() {
        rows.push(
            "certificate SHA-256",
            ca.map(|c| c.sha256_hex.clone()),
            cb.map(|c| c.sha256_hex.clone()),
            Kind::Identity,
        );
        let key = |c: &rdpdoctor_observations::Certificate| {
            format!(
                "{} {} bits{}",
                c.key_type,
                c.key_bits,
                c.public_key_sha256
                    .as_deref()
                    .map(|h| format!(", SPKI SHA-256 {}", h.get(..16).unwrap_or(h)))
                    .unwrap_or_default()
            )
        };
        rows.push("certificate key", ca.map(key), cb.map(key), Kind::Identity);
        rows.push(
            "certificate subject",
            ca.map(|c| c.subject.clone()),
            cb.map(|c| c.subject.clone()),
            Kind::Identity,
        );
        rows.push(
            "certificate issuer",
            ca.map(|c| c.issuer.clone()),
            cb.map(|c| c.issuer.clone()),
            Kind::Identity,
        );
        let validity = |c: &rdpdoctor_observations::Certificate| {
            format!("{} to {}", c.not_before, c.not_after)
        };
        rows.push(
            "certificate validity",
            ca.map(validity),
            cb.map(validity),
            Kind::Identity,
        );
    }
}

/// The NTLM identity the server gives in its CHALLENGE, and the CredSSP version.
fn nla_rows(rows: &mut Rows, da: &Diagnosis, db: &Diagnosis) {
    let na = da.facts.nla.as_ref();
    let nb = db.facts.nla.as_ref();
    if na.is_some() || nb.is_some() {
        let joined = |parts: [&Option<String>; 3]| {
            let v: Vec<String> = parts
                .into_iter()
                .filter_map(|x| x.clone())
                .filter(|x| !x.is_empty())
                .collect();
            (!v.is_empty()).then(|| v.join(" / "))
        };
        let computer =
            |n: &crate::model::NlaFacts| joined([&n.netbios_computer, &n.dns_computer, &None]);
        rows.push(
            "NTLM computer",
            na.and_then(computer),
            nb.and_then(computer),
            Kind::Identity,
        );
        let domain = |n: &crate::model::NlaFacts| joined([&n.netbios_domain, &n.domain, &n.forest]);
        rows.push(
            "NTLM domain",
            na.and_then(domain),
            nb.and_then(domain),
            Kind::Identity,
        );
        rows.push(
            "NTLM OS version",
            na.and_then(|n| n.os.clone()),
            nb.and_then(|n| n.os.clone()),
            Kind::Identity,
        );
        rows.push(
            "CredSSP version",
            na.and_then(|n| n.ts_request_version.map(|v| v.to_string())),
            nb.and_then(|n| n.ts_request_version.map(|v| v.to_string())),
            Kind::Identity,
        );
        rows.push(
            "logon",
            na.and_then(|n| n.logon.clone()),
            nb.and_then(|n| n.logon.clone()),
            Kind::Matters,
        );
    }
}

/// Standard RDP Security.
fn rdp_security_rows(rows: &mut Rows, da: &Diagnosis, db: &Diagnosis) {
    let ra = da.facts.rdp_security.as_ref();
    let rb = db.facts.rdp_security.as_ref();
    if ra.is_some() || rb.is_some() {
        rows.push(
            "RDP Security level",
            ra.map(|r| r.level.clone()),
            rb.map(|r| r.level.clone()),
            Kind::Identity,
        );
        rows.push(
            "RDP Security method",
            ra.map(|r| r.method.clone()),
            rb.map(|r| r.method.clone()),
            Kind::Identity,
        );
        rows.push(
            "RDP Security server key",
            ra.and_then(|r| r.server_key.clone()),
            rb.and_then(|r| r.server_key.clone()),
            Kind::Identity,
        );
        rows.push(
            "RDP version",
            ra.and_then(|r| r.rdp_version.clone()),
            rb.and_then(|r| r.rdp_version.clone()),
            Kind::Identity,
        );
    }
}

/// The full connection and the held session.
fn session_rows(rows: &mut Rows, da: &Diagnosis, db: &Diagnosis) {
    let sa = da.facts.session.as_ref();
    let sb = db.facts.session.as_ref();
    if sa.is_some() || sb.is_some() {
        rows.push(
            "session phase reached",
            sa.map(|s| s.phase_label.clone()),
            sb.map(|s| s.phase_label.clone()),
            Kind::Matters,
        );
        rows.push(
            "session ended with",
            sa.map(|s| s.ended.clone()),
            sb.map(|s| s.ended.clone()),
            Kind::Matters,
        );
        rows.push(
            "held session",
            sa.and_then(|s| s.hold.as_ref().map(|h| h.ending.clone())),
            sb.and_then(|s| s.hold.as_ref().map(|h| h.ending.clone())),
            Kind::Matters,
        );
    }
}

/// The verdict and the set of finding ids.
fn verdict_rows(rows: &mut Rows, da: &Diagnosis, db: &Diagnosis) {
    rows.push(
        "verdict",
        Some(format!("{:?}", da.verdict.status).to_lowercase()),
        Some(format!("{:?}", db.verdict.status).to_lowercase()),
        Kind::Matters,
    );
    let ids = |d: &Diagnosis| {
        let mut v: Vec<&str> = d.findings.iter().map(|f| f.id.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    rows.push("findings", Some(ids(da)), Some(ids(db)), Kind::Matters);
}

/// Timing, per step (shown when clearly apart; never a difference that matters).
fn timing_rows(
    rows: &mut Rows,
    (oa, da): (&Observations, &Diagnosis),
    (ob, db): (&Observations, &Diagnosis),
) {
    rows.timing(
        "connect round trip (median)",
        da.facts.connect_ms_median,
        db.facts.connect_ms_median,
    );
    let first_answer = |o: &Observations| o.negotiation.first().map(|n| n.elapsed_ms);
    rows.timing(
        "X.224 answer (first request)",
        first_answer(oa),
        first_answer(ob),
    );
    let newest_tls = |o: &Observations| {
        o.tls.as_ref().and_then(|t| {
            t.attempts
                .iter()
                .filter(|x| matches!(x.outcome, TlsOutcome::Completed { .. }))
                .max_by_key(|x| x.version)
                .map(|x| x.elapsed_ms)
        })
    };
    rows.timing(
        "TLS handshake (newest version)",
        newest_tls(oa),
        newest_tls(ob),
    );
    let nla = |o: &Observations| o.nla.as_ref().map(|n| n.elapsed_ms);
    rows.timing("NLA exchange", nla(oa), nla(ob));
    let full = |o: &Observations| o.session.as_ref().map(|s| s.elapsed_ms);
    rows.timing("full connection", full(oa), full(ob));
    rows.timing("whole check", oa.duration_ms, ob.duration_ms);
}

fn reach(o: &Observations) -> String {
    match &o.tcp {
        Some(t) if t.address.is_some() => "TCP connected".to_string(),
        Some(t) => match t.attempts.last().map(|a| &a.outcome) {
            Some(ConnectOutcome::Refused) => "TCP refused".to_string(),
            Some(ConnectOutcome::TimedOut) => "TCP timed out".to_string(),
            Some(ConnectOutcome::Unreachable { error, .. }) => format!("TCP unreachable ({error})"),
            Some(ConnectOutcome::Error { error }) => format!("TCP error ({error})"),
            Some(ConnectOutcome::Connected) | None => "not connected".to_string(),
        },
        None => "not resolved".to_string(),
    }
}

/// Whether the server answered the X.224 request with a Connection Confirm.
fn answered(o: &NegotiationOutcome) -> bool {
    matches!(
        o,
        NegotiationOutcome::Selected { .. }
            | NegotiationOutcome::Failure { .. }
            | NegotiationOutcome::NoNegotiationData
    )
}

/// Whether the TLS attempt got the server's own answer to the version (completed, an alert, a
/// version it would not speak, a close), as opposed to a deadline or no TLS at all.
fn tls_answered(o: &TlsOutcome) -> bool {
    matches!(
        o,
        TlsOutcome::Completed { .. }
            | TlsOutcome::AlertReceived { .. }
            | TlsOutcome::ClientAborted { .. }
            | TlsOutcome::Transport(Transport::Closed { .. } | Transport::Reset { .. })
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{diagnose, Context};
    use rdpdoctor_observations::{
        Certificate, NegotiationAttempt, TcpAttempt, TcpObservation, TlsAttempt, TlsObservation,
    };

    fn cert(sha: &str, key: &str) -> Certificate {
        let t: jiff::Timestamp = "2026-01-01T00:00:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        Certificate {
            subject: "CN=localhost".into(),
            subject_cn: vec!["localhost".into()],
            issuer: "CN=lab CA".into(),
            san_dns: vec!["localhost".into()],
            san_ip: Vec::new(),
            serial_hex: "1000".into(),
            sha256_hex: sha.into(),
            sha1_hex: "AA".into(),
            public_key_sha256: Some(key.into()),
            not_before: t,
            not_after: t + jiff::SignedDuration::from_hours(24 * 700),
            never_expires: false,
            self_signed: false,
            key_type: "RSA".into(),
            key_bits: 2048,
            signature_algorithm: "sha256WithRSAEncryption".into(),
            signature_digest: Some("SHA256".into()),
            chain_len: 2,
        }
    }

    fn obs(selected: u32, rtt: f64, c: Certificate) -> Observations {
        let mut o = Observations::new(None);
        let addr = "127.0.0.1:3389".parse().unwrap_or_else(|e| panic!("{e}"));
        o.tcp = Some(TcpObservation {
            attempts: vec![TcpAttempt {
                address: addr,
                elapsed_ms: rtt,
                outcome: ConnectOutcome::Connected,
            }],
            address: Some(addr),
            samples_ms: vec![rtt],
        });
        o.negotiation = vec![NegotiationAttempt {
            requested: protocol::SSL | protocol::HYBRID | protocol::HYBRID_EX,
            elapsed_ms: rtt,
            outcome: NegotiationOutcome::Selected {
                protocol: selected,
                flags: 0,
            },
            implied_by: None,
        }];
        o.tls = Some(TlsObservation {
            attempts: vec![TlsAttempt {
                version: TlsVersion::Tls12,
                requested: protocol::SSL,
                elapsed_ms: 2.0 * rtt,
                outcome: TlsOutcome::Completed {
                    cipher: "ECDHE-RSA-AES256-GCM-SHA384".into(),
                },
            }],
            certificate: Some(c),
            ..TlsObservation::default()
        });
        o
    }

    fn run(a: &Observations, b: &Observations) -> Comparison {
        let now: jiff::Timestamp = "2026-06-01T00:00:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let ctx = Context::new(now);
        let (da, db) = (diagnose(a, &ctx), diagnose(b, &ctx));
        compare((a, &da), (b, &db))
    }

    #[test]
    fn the_same_server_twice_agrees_whatever_the_timing() {
        let a = obs(protocol::HYBRID_EX, 0.2, cert("aa", "k1"));
        let b = obs(protocol::HYBRID_EX, 0.5, cert("aa", "k1"));
        let c = run(&a, &b);
        assert!(c.agree, "{:?}", c.differences);
        assert!(!c.not_transparent);
        assert_eq!(c.exit_code(), 0);
        assert!(c.rows.len() > 5);
        // A slow route is shown, but does not make them disagree.
        let slow = obs(protocol::HYBRID_EX, 150.0, cert("aa", "k1"));
        let c = run(&a, &slow);
        assert!(c.agree);
        assert!(c
            .differences
            .iter()
            .any(|r| r.field == "connect round trip (median)" && !r.matters));
    }

    #[test]
    fn another_key_and_protocol_are_named_not_transparent_first_difference_first() {
        let a = obs(protocol::HYBRID_EX, 0.2, cert("aa", "k1"));
        let b = obs(protocol::SSL, 0.2, cert("bb", "k2"));
        let c = run(&a, &b);
        assert!(!c.agree);
        assert!(c.not_transparent);
        assert_eq!(c.exit_code(), 1);
        let first = &c.differences[0];
        assert_eq!(first.field, "negotiation SSL|HYBRID|HYBRID_EX");
        assert!(first.not_transparent);
        let key = c
            .differences
            .iter()
            .find(|r| r.field == "certificate key")
            .unwrap_or_else(|| panic!("{:?}", c.differences));
        assert!(key.not_transparent && key.a.contains("k1") && key.b.contains("k2"));
    }

    #[test]
    fn a_renewed_certificate_with_the_same_key_is_a_difference_of_the_certificate_only() {
        let a = obs(protocol::HYBRID_EX, 0.2, cert("aa", "k1"));
        let b = obs(protocol::HYBRID_EX, 0.2, cert("bb", "k1"));
        let c = run(&a, &b);
        assert!(!c.agree);
        assert!(c.differences.iter().all(|r| r.field != "certificate key"));
        assert!(c
            .differences
            .iter()
            .any(|r| r.field == "certificate SHA-256" && r.not_transparent));
    }

    #[test]
    fn an_unreachable_route_differs_in_reachability_first() {
        let a = obs(protocol::HYBRID_EX, 0.2, cert("aa", "k1"));
        let mut b = Observations::new(None);
        let addr = "127.0.0.1:3390".parse().unwrap_or_else(|e| panic!("{e}"));
        b.tcp = Some(TcpObservation {
            attempts: vec![TcpAttempt {
                address: addr,
                elapsed_ms: 0.1,
                outcome: ConnectOutcome::Refused,
            }],
            address: None,
            samples_ms: Vec::new(),
        });
        let c = run(&a, &b);
        assert_eq!(c.differences[0].field, "reachability");
        assert_eq!(c.differences[0].b, "TCP refused");
        // Missing facts on one side are differences, not proof of interception.
        assert!(!c.not_transparent, "{:?}", c.differences);
    }
}
