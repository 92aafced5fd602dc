//! rdp-security-only, encryption-level-low, encryption-fips-required, encryption-mismatch,
//! weak-server-key, and the MCS facts added to legacy-negotiation: what the MCS Connect Response
//! says a Standard RDP Security server enforces (MS-RDPBCGR 2.2.1.4.3, 5.3).

use super::{finding, Vars};
use crate::model::{Finding, RdpSecurityFacts, Severity};
use crate::FindingId;
use rdpdoctor_observations::encryption::{level_name, method_names, version_name};
use rdpdoctor_observations::{
    encryption, protocol, NegotiationOutcome, Observations, OpenFailure, RdpSecurityAttempt,
    RdpSecurityOutcome, ServerCertificateFacts, ServerSecurity, Transport,
};

const LEVEL_NONE: u32 = 0;
const LEVEL_LOW: u32 = 1;
const LEVEL_FIPS: u32 = 4;
/// RSA keys under this many bits are factorable (weak-server-key): 512-bit RSA was factored
/// publicly in 1999, and the proprietary certificate of Standard RDP Security often carries one.
const MIN_KEY_BITS: u32 = 1024;

pub(super) fn check(obs: &Observations, vars: &Vars, out: &mut Vec<Finding>) {
    let Some(rdp) = &obs.rdp_security else {
        return;
    };
    // Answers that do not decode, or hold values no server can mean, prove nothing about the
    // server's encryption settings: mcs-response-malformed (rules/trust.rs) reports them, and
    // no encryption finding is drawn from them.
    let sound: Vec<&RdpSecurityAttempt> = rdp
        .attempts
        .iter()
        .filter(|a| super::trust::malformed(a).is_none())
        .collect();
    let accepted: Vec<(&RdpSecurityAttempt, &ServerSecurity)> = sound
        .iter()
        .filter_map(|a| match &a.outcome {
            RdpSecurityOutcome::Accepted(s) => Some((*a, s)),
            _ => None,
        })
        .collect();
    let all = sound.iter().copied().find(|a| a.offered == encryption::ALL);
    // What a client offering every method gets, else any answer.
    let main = all
        .and_then(|a| match &a.outcome {
            RdpSecurityOutcome::Accepted(s) => Some(s),
            _ => None,
        })
        .or(accepted.first().map(|(_, s)| *s));

    // A server that also selects TLS or CredSSP protects every client that asks for them (every
    // current one does): its Standard RDP Security settings then matter only to clients that
    // cannot do TLS, which nla-not-enforced already reports. The facts stay in the observations.
    let tls_selected = obs.negotiation.iter().any(|a| {
        matches!(a.outcome, NegotiationOutcome::Selected { protocol: p, .. } if p != protocol::RDP)
    });
    if let Some(s) = main {
        let summary = summary(s);
        if !tls_selected {
            rdp_security_only(obs, &summary, vars, out);
        }
        add_mcs_facts_to_legacy_negotiation(s, &summary, out);
    }

    if tls_selected {
        return;
    }
    encryption_level_low(main, &accepted, vars, out);
    encryption_fips_required(&rdp.attempts, main, &accepted, vars, out);
    encryption_mismatch(&sound, &accepted, vars, out);
    weak_server_key(main, vars, out);
}

/// rdp-security-only: no request for TLS or CredSSP was accepted.
fn rdp_security_only(obs: &Observations, summary: &str, vars: &Vars, out: &mut Vec<Finding>) {
    let mut ev = vec![format!(
        "no request for TLS or CredSSP was accepted; the MCS probe got {summary}"
    )];
    ev.extend(
        obs.negotiation
            .iter()
            .filter(|a| a.requested != protocol::RDP)
            .map(|a| {
                format!(
                    "request {} got {}",
                    protocol::names(a.requested),
                    super::describe_negotiation(&a.outcome)
                )
            }),
    );
    out.push(finding(FindingId::RdpSecurityOnly, vars, ev));
}

/// legacy-negotiation keeps its id and meaning; the MCS facts tell what the server is.
fn add_mcs_facts_to_legacy_negotiation(s: &ServerSecurity, summary: &str, out: &mut [Finding]) {
    for f in out
        .iter_mut()
        .filter(|f| f.id == FindingId::LegacyNegotiation)
    {
        f.evidence.push(format!("the MCS probe got {summary}"));
        f.evidence.push(match s.rdp_version {
            Some(0x0008_0001) => {
                "the server reports RDP 4.0: a server older than RDP 5.2 (Windows 2000 or NT 4.0 TSE)"
                    .to_string()
            }
            // The 8-byte Server Core Data of RDP 5.0/5.1 (2.2.1.4.2): the server predates
            // clientRequestedProtocols. A middlebox that strips the negotiation cannot take
            // the field out of the server's own MCS answer, so a modern server behind one
            // still sends the 12-byte block.
            Some(v) if s.client_requested_protocols.is_none() => format!(
                "the server reports {} in an 8-byte Server Core Data block without clientRequestedProtocols: a server that predates security negotiation (Windows 2000, Windows XP or XP Embedded), not a proxy or load balancer",
                version_name(v)
            ),
            Some(v) => format!(
                "the server reports {}, which negotiates security since RDP 5.2: a proxy, load balancer or stand-in between is the likely reason the negotiation data is missing",
                version_name(v)
            ),
            None => "the server reports no RDP version".to_string(),
        });
    }
}

/// Accepted offers with the server's answer to each.
type Accepted<'a> = [(&'a RdpSecurityAttempt, &'a ServerSecurity)];

/// encryption-level-low: level None or Low, or a 40/56-bit method chosen for any offer.
fn encryption_level_low(
    main: Option<&ServerSecurity>,
    accepted: &Accepted,
    vars: &Vars,
    out: &mut Vec<Finding>,
) {
    let mut ev: Vec<String> = Vec::new();
    if let Some(s) = main {
        if matches!(s.encryption_level, LEVEL_NONE | LEVEL_LOW) {
            ev.push(format!(
                "encryption level {}{}",
                level_name(s.encryption_level),
                if s.encryption_level == LEVEL_NONE {
                    ": nothing is encrypted"
                } else {
                    ": only client-to-server traffic is encrypted"
                }
            ));
        }
    }
    for (a, s) in accepted {
        if s.encryption_method & (encryption::BIT_40 | encryption::BIT_56) != 0 {
            ev.push(format!(
                "{} chose {}",
                offer(a.offered),
                method_names(s.encryption_method)
            ));
        }
    }
    if !ev.is_empty() {
        out.push(finding(FindingId::EncryptionLevelLow, vars, ev));
    }
}

/// encryption-fips-required: level FIPS, or FIPS chosen whatever was offered.
fn encryption_fips_required(
    attempts: &[RdpSecurityAttempt],
    main: Option<&ServerSecurity>,
    accepted: &Accepted,
    vars: &Vars,
    out: &mut Vec<Finding>,
) {
    let fips_for_others = accepted
        .iter()
        .any(|(a, s)| a.offered & encryption::FIPS == 0 && s.encryption_method == encryption::FIPS);
    let level_fips = main.is_some_and(|s| s.encryption_level == LEVEL_FIPS);
    let only_fips_accepted = !accepted.is_empty()
        && attempts.iter().all(|a| {
            let ok = matches!(&a.outcome, RdpSecurityOutcome::Accepted(s) if s.encryption_method & a.offered != 0);
            ok == (a.offered & encryption::FIPS != 0)
        });
    if level_fips || fips_for_others || only_fips_accepted {
        let mut ev = Vec::new();
        if let Some(s) = main.filter(|_| level_fips) {
            ev.push(format!(
                "encryption level {}",
                level_name(s.encryption_level)
            ));
        }
        ev.extend(
            attempts
                .iter()
                .filter(|a| a.offered != encryption::ALL)
                .map(line),
        );
        out.push(finding(FindingId::EncryptionFipsRequired, vars, ev));
    }
}

/// encryption-mismatch: an offer refused, or answered with a method not offered.
fn encryption_mismatch(
    sound: &[&RdpSecurityAttempt],
    accepted: &Accepted,
    vars: &Vars,
    out: &mut Vec<Finding>,
) {
    let bad = |a: &RdpSecurityAttempt| match &a.outcome {
        RdpSecurityOutcome::Accepted(s) => {
            // Level None with method None is the valid answer "no encryption" (2.2.1.4.3).
            !(s.encryption_level == LEVEL_NONE && s.encryption_method == encryption::NONE)
                && s.encryption_method & a.offered == 0
        }
        // A refusal, or a close right after the offer (xrdp's way of refusing one), is an answer
        // about the offer. Silence is not (rules/trust.rs calls it a timeout), and a response
        // that does not decode never reaches here (mcs-response-malformed).
        RdpSecurityOutcome::McsRefused { .. }
        | RdpSecurityOutcome::Disconnected { .. }
        | RdpSecurityOutcome::Transport(Transport::Closed { .. } | Transport::Reset { .. }) => true,
        RdpSecurityOutcome::Transport(Transport::TimedOut { .. })
        | RdpSecurityOutcome::NotResponse { .. }
        | RdpSecurityOutcome::Open(_)
        | RdpSecurityOutcome::Error { .. } => false,
    };
    let mismatched: Vec<&RdpSecurityAttempt> = sound.iter().copied().filter(|a| bad(a)).collect();
    if !mismatched.is_empty() {
        let mut f = finding(
            FindingId::EncryptionMismatch,
            vars,
            mismatched.iter().map(|a| line(a)).collect(),
        );
        if mismatched.iter().any(|a| a.offered == encryption::ALL) {
            f.severity = Severity::Blocking;
        } else if accepted
            .iter()
            .any(|(a, s)| a.offered != encryption::ALL && s.encryption_method & a.offered == 0)
        {
            f.evidence.push(
                "the server answered offers with a method they did not contain, instead of refusing them (MS-RDPBCGR 2.2.1.4.3); xrdp does this with its crypt_level"
                    .to_string(),
            );
        }
        out.push(f);
    }
}

/// weak-server-key: the server certificate's RSA key is under 1024 bits.
fn weak_server_key(main: Option<&ServerSecurity>, vars: &Vars, out: &mut Vec<Finding>) {
    let mut ev: Vec<String> = Vec::new();
    if let Some(s) = main {
        match &s.certificate {
            Some(ServerCertificateFacts::Proprietary { key_bits, .. })
                if *key_bits < MIN_KEY_BITS =>
            {
                ev.push(format!(
                    "proprietary server certificate with an RSA key of {key_bits} bits"
                ));
            }
            Some(ServerCertificateFacts::X509 { leaf: Some(c), .. })
                if c.key_type == "RSA" && c.key_bits < MIN_KEY_BITS =>
            {
                ev.push(format!(
                    "X.509 server certificate {} with an RSA key of {} bits",
                    c.subject, c.key_bits
                ));
            }
            _ => {}
        }
    }
    if !ev.is_empty() {
        out.push(finding(FindingId::WeakServerKey, vars, ev));
    }
}

/// The facts shown in the details and JSON `facts`, whether or not the server also offers TLS:
/// what an offer of every method got (else the first accepted offer), and every method chosen.
pub(crate) fn facts(obs: &Observations) -> Option<RdpSecurityFacts> {
    let rdp = obs.rdp_security.as_ref()?;
    let accepted = |a: &RdpSecurityAttempt| match &a.outcome {
        RdpSecurityOutcome::Accepted(s) => Some(s.clone()),
        _ => None,
    };
    let main = rdp
        .attempts
        .iter()
        .filter(|a| a.offered == encryption::ALL)
        .find_map(accepted)
        .or_else(|| rdp.attempts.iter().find_map(accepted))?;
    let mut methods: Vec<String> = Vec::new();
    for s in rdp.attempts.iter().filter_map(accepted) {
        let name = method_names(s.encryption_method);
        if !methods.contains(&name) {
            methods.push(name);
        }
    }
    let server_key = main.certificate.as_ref().map(server_key);
    let level = level_name(main.encryption_level);
    let method = method_names(main.encryption_method);
    let summary = match &server_key {
        Some(key) => format!("{level}, {method}, {key}"),
        None => format!("{level}, {method}, no server certificate"),
    };
    Some(RdpSecurityFacts {
        summary,
        level,
        method,
        methods,
        server_key,
        rdp_version: main.rdp_version.map(version_name),
        offers: if rdp.attempts.len() > 1 {
            rdp.attempts.iter().map(line).collect()
        } else {
            Vec::new()
        },
    })
}

/// `RSA 2048 proprietary key`, `RSA 2048 X.509 certificate CN=host (chain of 4)`.
fn server_key(c: &ServerCertificateFacts) -> String {
    match c {
        ServerCertificateFacts::Proprietary {
            key_bits,
            temporary,
            ..
        } => format!(
            "RSA {key_bits} proprietary key{}",
            if *temporary { " (temporary)" } else { "" }
        ),
        ServerCertificateFacts::X509 {
            chain_len,
            leaf: Some(c),
            ..
        } => format!(
            "{} {} X.509 certificate {} (chain of {chain_len})",
            c.key_type, c.key_bits, c.subject
        ),
        ServerCertificateFacts::X509 {
            chain_len, error, ..
        } => format!(
            "X.509 chain of {chain_len}, unreadable ({})",
            error.as_deref().unwrap_or("no leaf certificate")
        ),
        ServerCertificateFacts::Unreadable { reason, .. } => {
            format!("an unreadable certificate ({reason})")
        }
    }
}

fn offer(offered: u32) -> String {
    if offered == encryption::ALL {
        "the offer of every method".to_string()
    } else {
        format!("an offer of {} only", method_names(offered))
    }
}

/// `RDP 5.0 to 8.1 (0x00080004), level High, 128-bit RC4, proprietary certificate RSA 2048 bits`.
pub(crate) fn summary(s: &ServerSecurity) -> String {
    let version = s
        .rdp_version
        .map_or_else(|| "no RDP version".to_string(), version_name);
    let cert = match &s.certificate {
        None => "no certificate".to_string(),
        Some(ServerCertificateFacts::Proprietary { key_bits, .. }) => {
            format!("proprietary certificate RSA {key_bits} bits")
        }
        Some(ServerCertificateFacts::X509 {
            chain_len, leaf, ..
        }) => match leaf {
            Some(c) => format!(
                "X.509 chain of {chain_len}, server certificate {} ({} {} bits)",
                c.subject, c.key_type, c.key_bits
            ),
            None => format!("X.509 chain of {chain_len} (unreadable)"),
        },
        Some(ServerCertificateFacts::Unreadable { reason, .. }) => {
            format!("an unreadable certificate ({reason})")
        }
    };
    format!(
        "{version}, encryption level {}, method {}, {cert}",
        level_name(s.encryption_level),
        method_names(s.encryption_method)
    )
}

/// One line per offer: what came back.
fn line(a: &RdpSecurityAttempt) -> String {
    let what = match &a.outcome {
        RdpSecurityOutcome::Accepted(s) if s.encryption_method & a.offered != 0 => {
            format!("chose {}", method_names(s.encryption_method))
        }
        RdpSecurityOutcome::Accepted(s) => format!(
            "answered with {}, which was not offered",
            method_names(s.encryption_method)
        ),
        RdpSecurityOutcome::McsRefused { result } => {
            format!(
                "was refused with MCS result {result}{}",
                if *result == 14 {
                    " (rt-unspecified-failure)"
                } else {
                    ""
                }
            )
        }
        RdpSecurityOutcome::Disconnected { reason } => {
            format!("was answered with an MCS Disconnect Provider Ultimatum (reason {reason})")
        }
        RdpSecurityOutcome::Transport(t) => match t {
            Transport::Closed { bytes, .. } => {
                format!("made the server close the connection ({bytes} bytes of an answer)")
            }
            Transport::Reset { bytes, .. } => {
                format!("made the server reset the connection ({bytes} bytes of an answer)")
            }
            Transport::TimedOut { bytes, .. } => {
                format!("got no answer before the deadline ({bytes} bytes)")
            }
        },
        RdpSecurityOutcome::NotResponse {
            reason,
            excerpt_hex,
        } => {
            format!("got an invalid answer ({reason}): {excerpt_hex}")
        }
        RdpSecurityOutcome::Open(OpenFailure::Negotiation(outcome)) => {
            format!(
                "was not reached: X.224 got {}",
                super::describe_negotiation(outcome)
            )
        }
        RdpSecurityOutcome::Open(OpenFailure::Route(r)) => {
            format!("was not reached: {}", super::describe_route(r))
        }
        // No TLS under Standard RDP Security: the probe never records this.
        RdpSecurityOutcome::Open(OpenFailure::Tls(outcome)) => {
            format!("was not reached: TLS {}", super::describe_tls(outcome))
        }
        RdpSecurityOutcome::Error { reason } => format!("failed: {reason}"),
    };
    format!("{} {what}", capitalize(&offer(a.offered)))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Context;
    use crate::diagnose;
    use rdpdoctor_observations::{NegotiationAttempt, RdpSecurityObservation};

    fn sec(method: u32, level: u32, key_bits: Option<u32>) -> RdpSecurityOutcome {
        RdpSecurityOutcome::Accepted(ServerSecurity {
            rdp_version: Some(0x0008_0004),
            client_requested_protocols: Some(0),
            encryption_method: method,
            encryption_level: level,
            server_random_len: (level != 0).then_some(32),
            certificate: key_bits.map(|key_bits| ServerCertificateFacts::Proprietary {
                temporary: false,
                key_bits,
                public_exponent: 0x10001,
                signature_len: 72,
            }),
            decoder_note: None,
        })
    }

    /// Observations of a server that selects RDP for every request and answers `answer(offer)`.
    fn obs(answer: impl Fn(u32) -> RdpSecurityOutcome, neg: NegotiationOutcome) -> Observations {
        let mut o = Observations::new(None);
        o.negotiation = [0x0b, 0x03, 0x01, 0x00]
            .iter()
            .map(|&requested| NegotiationAttempt {
                requested,
                elapsed_ms: 1.0,
                outcome: neg.clone(),
                implied_by: None,
            })
            .collect();
        o.rdp_security = Some(RdpSecurityObservation {
            attempts: [encryption::ALL, 0x01, 0x08, 0x02, 0x10]
                .iter()
                .map(|&offered| RdpSecurityAttempt {
                    offered,
                    elapsed_ms: 1.0,
                    outcome: answer(offered),
                })
                .collect(),
        });
        o
    }

    fn ids(o: &Observations) -> Vec<(String, Severity)> {
        let d = diagnose(o, &Context::new(jiff::Timestamp::UNIX_EPOCH));
        let mut v: Vec<(String, Severity)> =
            d.findings.into_iter().map(|f| (f.id, f.severity)).collect();
        v.sort();
        v
    }

    const RDP: NegotiationOutcome = NegotiationOutcome::Selected {
        protocol: 0,
        flags: 1,
    };

    #[test]
    fn xrdp_high_overrides_narrow_offers() {
        let found = ids(&obs(|_| sec(encryption::BIT_128, 3, Some(2048)), RDP));
        let names: Vec<&str> = found.iter().map(|(i, _)| i.as_str()).collect();
        assert!(names.contains(&"rdp-security-only"));
        assert!(names.contains(&"encryption-mismatch"));
        assert!(!names.contains(&"encryption-level-low"));
        assert!(!names.contains(&"weak-server-key"));
        assert!(found.contains(&("encryption-mismatch".to_string(), Severity::Warning)));
    }

    #[test]
    fn fips_low_none_and_weak_keys() {
        let fips = ids(&obs(|_| sec(encryption::FIPS, 4, Some(2048)), RDP));
        assert!(fips.iter().any(|(i, _)| i == "encryption-fips-required"));
        let low = ids(&obs(|_| sec(encryption::BIT_40, 1, Some(512)), RDP));
        assert!(low.iter().any(|(i, _)| i == "encryption-level-low"));
        assert!(low.iter().any(|(i, _)| i == "weak-server-key"));
        // Level None with method None: no mismatch, but no encryption either.
        let none = ids(&obs(|_| sec(0, 0, None), RDP));
        assert!(none.iter().any(|(i, _)| i == "encryption-level-low"));
        assert!(!none.iter().any(|(i, _)| i == "encryption-mismatch"));
        // Client Compatible picks what is offered: a 40-bit choice is weak, nothing mismatches.
        let compatible = ids(&obs(
            |m| sec(if m == encryption::ALL { 2 } else { m }, 2, Some(2048)),
            RDP,
        ));
        assert!(compatible.iter().any(|(i, _)| i == "encryption-level-low"));
        assert!(!compatible.iter().any(|(i, _)| i == "encryption-mismatch"));
        assert!(!compatible
            .iter()
            .any(|(i, _)| i == "encryption-fips-required"));
    }

    #[test]
    fn servers_that_also_offer_tls_keep_their_findings() {
        let tls = NegotiationOutcome::Selected {
            protocol: 1,
            flags: 1,
        };
        let found = ids(&obs(|_| sec(encryption::BIT_40, 1, Some(512)), tls));
        assert!(
            !found.iter().any(|(i, _)| i.starts_with("encryption-")
                || i == "weak-server-key"
                || i == "rdp-security-only"),
            "{found:?}"
        );
    }

    /// What the MCS probe of a server that sends a bare Connection Confirm adds to
    /// legacy-negotiation, by Server Core Data: the 8-byte block of Windows 2000 and XP
    /// (redemption dump_w2000_mem3blt.hpp and dump_xp_mem3blt.hpp at 19700d8a4: version
    /// 0x00080004, no clientRequestedProtocols), and the 12-byte block a middlebox leaves.
    #[test]
    fn old_servers_are_told_from_middleboxes() {
        let evidence = |requested: Option<u32>| {
            let mut o = obs(
                |_| match sec(encryption::BIT_40, 2, Some(512)) {
                    RdpSecurityOutcome::Accepted(mut s) => {
                        s.client_requested_protocols = requested;
                        RdpSecurityOutcome::Accepted(s)
                    }
                    other => other,
                },
                NegotiationOutcome::NoNegotiationData,
            );
            if let Some(r) = o.rdp_security.as_mut() {
                r.attempts.truncate(1);
            }
            let d = diagnose(&o, &Context::new(jiff::Timestamp::UNIX_EPOCH));
            d.findings
                .into_iter()
                .find(|f| f.id == "legacy-negotiation")
                .map(|f| f.evidence.join("\n"))
                .unwrap_or_default()
        };
        let old = evidence(None);
        assert!(old.contains("8-byte Server Core Data"), "{old}");
        assert!(
            old.contains("Windows 2000, Windows XP or XP Embedded"),
            "{old}"
        );
        assert!(!old.contains("likely reason"), "{old}");
        let middlebox = evidence(Some(0));
        assert!(
            middlebox.contains("a proxy, load balancer or stand-in between is the likely reason"),
            "{middlebox}"
        );
    }

    /// xrdp-negotiate in the lab: TLS and Standard RDP Security, High, 128-bit RC4 whatever
    /// is offered, a 2048-bit proprietary key. No finding mentions it; the facts do.
    #[test]
    fn negotiate_servers_show_their_rdp_security_facts() {
        let tls = NegotiationOutcome::Selected {
            protocol: 1,
            flags: 1,
        };
        let o = obs(|_| sec(encryption::BIT_128, 3, Some(2048)), tls);
        let d = diagnose(&o, &Context::new(jiff::Timestamp::UNIX_EPOCH));
        let f = d.facts.rdp_security.clone().expect("rdp_security facts");
        assert_eq!(f.summary, "High, 128-bit RC4, RSA 2048 proprietary key");
        assert_eq!(f.level, "High");
        assert_eq!(f.method, "128-bit RC4");
        assert_eq!(f.methods, vec!["128-bit RC4".to_string()]);
        assert_eq!(f.server_key.as_deref(), Some("RSA 2048 proprietary key"));
        assert_eq!(
            f.rdp_version.as_deref(),
            Some("RDP 5.0 to 8.1 (0x00080004)")
        );
        assert_eq!(f.offers.len(), 5);
        assert!(
            f.offers[1].contains("answered with 128-bit RC4, which was not offered"),
            "{:?}",
            f.offers
        );
        let json = serde_json::to_value(&d.facts).expect("json");
        assert_eq!(
            json["rdp_security"]["summary"],
            "High, 128-bit RC4, RSA 2048 proprietary key"
        );
        // No Standard RDP Security answer: no facts.
        let refused = obs(|_| RdpSecurityOutcome::McsRefused { result: 14 }, RDP);
        let d = diagnose(&refused, &Context::new(jiff::Timestamp::UNIX_EPOCH));
        assert!(d.facts.rdp_security.is_none());
    }

    #[test]
    fn refusing_the_full_offer_blocks() {
        let found = ids(&obs(|_| RdpSecurityOutcome::McsRefused { result: 14 }, RDP));
        assert!(found.contains(&("encryption-mismatch".to_string(), Severity::Blocking)));
        assert!(!found.iter().any(|(i, _)| i == "rdp-security-only"));
    }
}
