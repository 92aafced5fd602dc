//! One profile's connection, step by step, decided from the observations: the X.224 answer to
//! the protocols it requests, the TLS version both sides share (the highest, RFC 8446 4.2.1 /
//! RFC 5246 E.1: the server answers with the highest version it has up to the client's), a cipher
//! suite at that version (the server's first choice when it imposes its order, else the
//! client's), a key-exchange group, the DH and certificate key sizes, the certificate's trust,
//! and CredSSP's oracle policy. A step that was not observed is never claimed: the outcome is
//! then `unknown` with what is missing.

use super::{CertPolicy, ClientProfile, CodeList, OraclePolicy, RdpSecuritySupport, PROFILES};
use crate::model::{ClientError, ClientOutcome, CodeRef, Outcome, Step};
use rdpdoctor_observations::{
    protocol, CipherScan, NegFailureCode, NegotiationOutcome, Observations, SessionOutcome,
    SessionPhase, TlsObservation, TlsOutcome, TlsVersion, VersionScan,
};

/// The clients' simulation, run once per diagnosis: every profile when the cipher suites were
/// enumerated (`check --clients`), and, always, what the observations decide for the chosen
/// client (`--client`), which the rules read for their severities.
#[derive(Clone, Debug)]
pub struct Simulation {
    /// Every profile against the observations; empty when the cipher suites were not enumerated.
    pub rows: Vec<ClientOutcome>,
    pub chosen: Chosen,
}

/// The chosen client's steps the observations decide even without the cipher scan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Chosen {
    /// Its TLS step fails for want of a version: it speaks none of the versions the server
    /// completes (false when no TLS handshake was observed).
    pub no_common_tls_version: bool,
    /// Its certificate step fails on a certificate it cannot verify (rather than a dialog).
    pub refuses_unverified_certificate: bool,
}

/// Simulates every profile (with the cipher scan) and the chosen client against `obs`.
pub fn simulate(obs: &Observations, chosen: &ClientProfile) -> Simulation {
    let rows = match &obs.ciphers {
        Some(scan) => PROFILES.iter().map(|p| one(p, obs, scan)).collect(),
        None => Vec::new(),
    };
    // The chosen client is one of the profiles (`--client` names one).
    let chosen = PROFILES.iter().find(|p| p.id == chosen.id);
    Simulation {
        rows,
        chosen: chosen.map_or(Chosen::default(), |p| Chosen {
            no_common_tls_version: obs.tls.as_ref().is_some_and(|tls| {
                tls.attempts
                    .iter()
                    .any(|a| matches!(a.outcome, TlsOutcome::Completed { .. }))
                    && common_version(p, tls).is_err()
            }),
            refuses_unverified_certificate: unverified_certificate(p, String::new(), "").outcome
                == Outcome::Fails,
        }),
    }
}

/// Whether `p` speaks one of `versions` (the TLS step's first question).
pub fn shares_tls_version(p: &ClientProfile, versions: &[TlsVersion]) -> bool {
    versions.iter().any(|v| p.supports(*v))
}

struct Verdict {
    outcome: Outcome,
    step: Option<Step>,
    reason: String,
    codes: Option<&'static CodeList>,
}

fn ok(outcome: Outcome, step: Option<Step>, reason: String) -> Verdict {
    Verdict {
        outcome,
        step,
        reason,
        codes: None,
    }
}

fn fail(step: Step, reason: String, codes: &'static CodeList) -> Verdict {
    Verdict {
        outcome: Outcome::Fails,
        step: Some(step),
        reason,
        codes: Some(codes),
    }
}

fn unknown(step: Step, reason: String) -> Verdict {
    ok(Outcome::Unknown, Some(step), reason)
}

fn one(p: &'static ClientProfile, obs: &Observations, scan: &CipherScan) -> ClientOutcome {
    let v = decide(p, obs, scan);
    let client_error = v
        .codes
        .filter(|c| !c.codes.is_empty() || !c.text.is_empty())
        .map(|c| ClientError {
            codes: c.codes.iter().map(|(f, n)| code_ref(*f, *n)).collect(),
            text: c.text.to_string(),
            likely: true,
        });
    ClientOutcome {
        id: p.id.to_string(),
        name: p.name.to_string(),
        outcome: v.outcome,
        step: v.step,
        reason: v.reason,
        client_error,
        source: p.sources.join("; "),
    }
}

fn code_ref(family: rdpdoctor_codes::Family, value: u32) -> CodeRef {
    CodeRef {
        family,
        value,
        hex: format!("0x{value:X}"),
        name: rdpdoctor_codes::lookup(family, value)
            .map(|e| e.name.to_string())
            .unwrap_or_else(|| "undocumented".to_string()),
    }
}

fn decide(p: &'static ClientProfile, obs: &Observations, scan: &CipherScan) -> Verdict {
    // X.224: the answer to exactly this client's request.
    let Some(answer) = obs.negotiation.iter().find(|a| a.requested == p.requested) else {
        return unknown(
            Step::Negotiation,
            format!(
                "no X.224 request for {} was observed",
                protocol::names(p.requested)
            ),
        );
    };
    let selected = match &answer.outcome {
        NegotiationOutcome::Selected { protocol: s, .. } => *s,
        NegotiationOutcome::NoNegotiationData => protocol::RDP,
        // SSL_NOT_ALLOWED_BY_SERVER: the client starts over with Standard RDP Security, as
        // mstsc and FreeRDP do (MS-RDPBCGR 3.3.5.3.2 leaves the retry to the client).
        NegotiationOutcome::Failure {
            code: NegFailureCode::SslNotAllowedByServer,
            ..
        } if p.standard_rdp_security.is_some() => protocol::RDP,
        NegotiationOutcome::Failure { code, .. } => {
            return fail(
                Step::Negotiation,
                format!(
                    "the server refuses its request for {} with RDP_NEG_FAILURE {}",
                    protocol::names(p.requested),
                    neg_failure_name(code.as_u32())
                ),
                &p.nego_errors,
            )
        }
        // The request was sent and never answered with a Connection Confirm: this client stops
        // there too.
        other => {
            return fail(
                Step::Negotiation,
                format!(
                    "no X.224 Connection Confirm for its request: {}",
                    crate::describe::describe_negotiation(other)
                ),
                &p.nego_errors,
            )
        }
    };
    if selected == protocol::RDP {
        return standard_rdp_security(p, obs);
    }
    if !protocol::is_tls_based(selected) {
        return unknown(
            Step::Negotiation,
            format!(
                "the server selected {}, which this simulation does not model",
                protocol::names(selected)
            ),
        );
    }
    let tls = tls_step(p, obs, scan);
    if tls.outcome != Outcome::Connects {
        return tls;
    }
    let handshake = tls.reason;
    if let Some(c) = obs.tls.as_ref().and_then(|t| t.certificate.as_ref()) {
        let digest = c.signature_digest.as_deref();
        if let Some(why) = key_limits(p, &c.key_type, c.key_bits, digest, c.self_signed) {
            return fail(
                Step::Certificate,
                format!("{handshake}, but {why}"),
                &p.tls_errors,
            );
        }
    }
    // CredSSP through GSSAPI's Kerberos mechanism alone (rdesktop): no NTLM to fall back to.
    if selected & protocol::NLA != 0 && p.credssp_kerberos_only() {
        return fail(
            Step::Nla,
            format!("{handshake}, then CredSSP (NLA): this client authenticates with Kerberos only (GSSAPI), so it fails unless this machine holds a Kerberos ticket for the server's TERMSRV principal (kinit); it has no NTLM"),
            &p.cert_errors,
        );
    }
    // CredSSP (MS-CSSP): an updated client refuses a server without the CVE-2018-0886 fix.
    if selected & protocol::NLA != 0 {
        if let Some(version) = obs.nla.as_ref().and_then(|n| n.ts_request_version) {
            if version < 5 && p.credssp.oracle != OraclePolicy::NotEnforced {
                return fail(
                    Step::Nla,
                    format!("the server's CredSSP is version {version}, without the CVE-2018-0886 fix; this client's Encryption Oracle Remediation policy refuses it (\"This could be due to CredSSP encryption oracle remediation\")"),
                    &p.oracle_errors,
                );
            }
        }
    }
    certificate_step(p, scan, handshake)
}

fn neg_failure_name(code: u32) -> String {
    match rdpdoctor_codes::lookup(rdpdoctor_codes::Family::NegFailure, code) {
        Some(e) => format!("{} ({code})", e.name),
        None => format!("code {code}"),
    }
}

fn standard_rdp_security(p: &'static ClientProfile, obs: &Observations) -> Verdict {
    let Some(rdp) = p.standard_rdp_security else {
        return fail(
            Step::Negotiation,
            "the server offers only Standard RDP Security, which this client does not implement"
                .to_string(),
            &p.nego_errors,
        );
    };
    if let Some(chosen) = method_outside(rdp.offered, obs) {
        return fail(
            Step::RdpSecurity,
            format!(
                "Standard RDP Security: offered {}, the server answers with {} anyway, which this client does not implement",
                rdp.methods.join(", "),
                method_name(chosen)
            ),
            &p.nego_errors,
        );
    }
    if p.unverified_certificate == CertPolicy::Refuse {
        return fail(
            Step::RdpSecurity,
            "the server offers only Standard RDP Security, which cannot prove the server's identity, and this client refuses servers it cannot authenticate".to_string(),
            &p.cert_errors,
        );
    }
    let proven = match proven_by_full(rdp, obs) {
        Proof::Fails(step, why, codes) => return fail(step, why, codes),
        Proof::SessionUp(how) => format!("; {how}"),
        Proof::Unknown => String::new(),
    };
    match p.unverified_certificate {
        CertPolicy::Prompt => ok(
            Outcome::Prompts,
            Some(Step::RdpSecurity),
            format!(
                "Standard RDP Security ({}): the identity of the server cannot be verified{proven}",
                rdp.methods.join(", ")
            ),
        ),
        _ => ok(
            Outcome::Connects,
            None,
            format!("Standard RDP Security{proven}"),
        ),
    }
}

/// What a FreeRDP client shows when the server ends its session with a Disconnect Provider
/// Ultimatum (rn-user-requested): FreeRDP names that ERRINFO_LOGOFF_BY_USER.
const LOGGED_OFF: CodeList = CodeList {
    codes: &[(rdpdoctor_codes::Family::Errinfo, 0xC)],
    text: "the session closes during licensing, logged as",
};

/// The server ended the session for every client: no client-specific code.
const SERVER_ENDED: CodeList = CodeList {
    codes: &[],
    text: "the server's own code, as --full recorded it (see the session facts)",
};

/// What a `--full` connection over Standard RDP Security proved for a client that signs as `rdp`.
enum Proof {
    /// Nothing: no full connection over Standard RDP Security.
    Unknown,
    /// The session came up over it, as this client would sign (in words).
    SessionUp(String),
    /// This client would fail at this step (in words), showing these codes.
    Fails(Step, String, &'static CodeList),
}

fn proven_by_full(rdp: RdpSecuritySupport, obs: &Observations) -> Proof {
    let Some(s) = obs
        .session
        .as_ref()
        .filter(|s| s.selected == Some(protocol::RDP))
    else {
        return Proof::Unknown;
    };
    let trial = s.encryption.as_ref().and_then(|e| e.salted_trial.as_ref());
    if let (true, Some(t)) = (rdp.salted_mac, trial) {
        if !t.accepted() {
            return Proof::Fails(
                Step::RdpSecurity,
                format!(
                    "it signs with salted MACs (SEC_SECURE_CHECKSUM, MS-RDPBCGR 5.3.6.1.1) and the server verifies plain MACs only, as xrdp does: --full signed one connection that way and the server ended it in {} ({}), where the same sequence with plain MACs reached the session; xfreerdp is logged off there (ERRINFO_LOGOFF_BY_USER)",
                    t.phase.label(),
                    crate::describe::trial_end(t)
                ),
                &LOGGED_OFF,
            );
        }
    }
    match &s.outcome {
        SessionOutcome::SessionUp => {
            let mac = match (s.encryption.is_some(), rdp.salted_mac, trial) {
                (false, _, _) => "unencrypted",
                (true, false, _) => "with plain MACs, as this client signs",
                (true, true, Some(_)) => "with plain MACs, and a second connection with salted MACs, as this client signs, did too",
                (true, true, None) => "with the FIPS MAC, which has no salted form",
            };
            Proof::SessionUp(format!("--full reached the session over it ({mac})"))
        }
        SessionOutcome::Ultimatum { .. } if s.phase >= SessionPhase::Licensing => {
            Proof::Fails(
                Step::Session,
                format!(
                    "--full over Standard RDP Security was ended by the server in {}: every client meets the same end",
                    s.phase.label()
                ),
                &SERVER_ENDED,
            )
        }
        _ => Proof::Unknown,
    }
}

/// The method the server chose when offered only methods this client has, when every such
/// observed offer got a method outside them (MS-RDPBCGR 5.3.2 says the server picks among the
/// offered ones; xrdp at its FIPS level answers FIPS to anything). `None` when one was accepted
/// or nothing of the kind was observed.
fn method_outside(client: u32, obs: &Observations) -> Option<u32> {
    use rdpdoctor_observations::RdpSecurityOutcome;
    let mut outside = None;
    for attempt in obs.rdp_security.iter().flat_map(|r| &r.attempts) {
        if attempt.offered == 0 || attempt.offered & !client != 0 {
            continue;
        }
        if let RdpSecurityOutcome::Accepted(s) = &attempt.outcome {
            if s.encryption_method == 0 || s.encryption_method & client != 0 {
                return None;
            }
            outside = Some(s.encryption_method);
        }
    }
    outside
}

fn method_name(method: u32) -> String {
    match method {
        0x01 => "40-bit RC4".into(),
        0x08 => "56-bit RC4".into(),
        0x02 => "128-bit RC4".into(),
        0x10 => "FIPS (3DES/SHA-1)".into(),
        other => format!("method 0x{other:08X}"),
    }
}

/// Whether a suite exists at `version` (TLS 1.3 suites only there; AEAD and SHA-2 MAC suites
/// from TLS 1.2 on, RFC 5246 A.5 / RFC 5288 / RFC 5289).
fn suite_at(suite: &str, version: TlsVersion) -> bool {
    let tls13 = suite.starts_with("TLS_AES_") || suite.starts_with("TLS_CHACHA20_");
    if version == TlsVersion::Tls13 {
        return tls13;
    }
    if tls13 {
        return false;
    }
    let tls12_only = suite.contains("GCM")
        || suite.contains("CHACHA20")
        || suite.ends_with("_SHA256")
        || suite.ends_with("_SHA384");
    version == TlsVersion::Tls12 || !tls12_only
}

fn versions(list: &[TlsVersion]) -> String {
    list.iter()
        .map(|v| v.label())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The TLS handshake; on success the reason holds the handshake in words.
fn tls_step(p: &'static ClientProfile, obs: &Observations, scan: &CipherScan) -> Verdict {
    let Some(tls) = &obs.tls else {
        return unknown(Step::Tls, "no TLS handshake was observed".to_string());
    };
    let handshake = common_version(p, tls).and_then(|version| {
        let Some(vs) = scan.version(version) else {
            return Err(unknown(
                Step::Tls,
                format!(
                    "the cipher suites of {} were not enumerated",
                    version.label()
                ),
            ));
        };
        let chosen = common_suite(p, version, vs)?;
        let group = key_exchange_group(p, version, vs, chosen)?;
        diffie_hellman_strong_enough(p, vs, chosen)?;
        let mut handshake = format!("{} {chosen}", version.label());
        if let Some(g) = group {
            handshake.push_str(&format!(" ({g})"));
        }
        Ok(handshake)
    });
    match handshake {
        Ok(handshake) => ok(Outcome::Connects, None, handshake),
        Err(verdict) => verdict,
    }
}

/// The newest TLS version the server completes and the client speaks.
fn common_version(p: &'static ClientProfile, tls: &TlsObservation) -> Result<TlsVersion, Verdict> {
    let mut completed: Vec<TlsVersion> = tls
        .attempts
        .iter()
        .filter(|a| matches!(a.outcome, TlsOutcome::Completed { .. }))
        .map(|a| a.version)
        .collect();
    completed.sort();
    completed
        .iter()
        .rev()
        .find(|v| p.supports(**v))
        .copied()
        .ok_or_else(|| {
            fail(
                Step::Tls,
                format!(
                    "no TLS version in common: the server completes only {}, {} speaks {}",
                    if completed.is_empty() {
                        "none".to_string()
                    } else {
                        versions(&completed)
                    },
                    p.stack,
                    versions(p.tls_versions)
                ),
                &p.tls_errors,
            )
        })
}

/// The cipher suite the handshake would use at `version`: the server's first in the client's
/// offer when it enforces its own order, else the client's first the server accepts.
fn common_suite<'a>(
    p: &'static ClientProfile,
    version: TlsVersion,
    vs: &'a VersionScan,
) -> Result<&'a str, Verdict> {
    let offered: Vec<&str> = p
        .cipher_suites
        .iter()
        .copied()
        .filter(|s| suite_at(s, version))
        .collect();
    let common: Vec<&String> = vs
        .accepted
        .iter()
        .filter(|s| offered.contains(&s.as_str()))
        .collect();
    let chosen = if vs.server_order == Some(true) {
        common.first().map(|s| s.as_str())
    } else {
        offered
            .iter()
            .copied()
            .find(|s| vs.accepted.iter().any(|a| a == s))
    };
    let Some(chosen) = chosen else {
        if !vs.complete {
            return Err(unknown(
                Step::Tls,
                format!(
                    "none of the {} suites seen so far is one this client offers, and the enumeration stopped early ({})",
                    version.label(),
                    vs.stopped.as_deref().unwrap_or("unknown reason")
                ),
            ));
        }
        let only = if vs.accepted.len() == 1 { "only " } else { "" };
        return Err(fail(
            Step::Tls,
            format!(
                "no cipher suite in common at {}: the server offers {only}{}, which {} does not {}",
                version.label(),
                vs.accepted.join(", "),
                p.stack,
                if p.stack == "rustls" {
                    "implement"
                } else {
                    "offer"
                }
            ),
            &p.cipher_errors,
        ));
    };
    Ok(chosen)
}

/// The key-exchange group, for ECDHE suites and TLS 1.3, when the server's groups are known.
fn key_exchange_group(
    p: &'static ClientProfile,
    version: TlsVersion,
    vs: &VersionScan,
    chosen: &str,
) -> Result<Option<String>, Verdict> {
    let kx_group = chosen.contains("_ECDHE_") || version == TlsVersion::Tls13;
    let mut group = None;
    if kx_group && !vs.groups.is_empty() {
        group = vs
            .groups
            .iter()
            .find(|g| p.groups.contains(&g.as_str()))
            .cloned();
        if group.is_none() {
            if vs.groups_complete {
                return Err(fail(
                    Step::Tls,
                    format!(
                        "no key-exchange group in common at {}: the server accepts {}, {} offers {}",
                        version.label(),
                        vs.groups.join(", "),
                        p.stack,
                        p.groups.join(", ")
                    ),
                    &p.cipher_errors,
                ));
            }
            return Err(unknown(
                Step::Tls,
                format!(
                    "the server's groups at {} were not fully enumerated",
                    version.label()
                ),
            ));
        }
    }
    Ok(group)
}

/// A DHE suite fails when the server's Diffie-Hellman group is smaller than the client accepts.
fn diffie_hellman_strong_enough(
    p: &'static ClientProfile,
    vs: &VersionScan,
    chosen: &str,
) -> Result<(), Verdict> {
    if chosen.contains("_DHE_") {
        if let Some(bits) = vs.dh_bits.filter(|b| *b < p.min_dh_bits) {
            return Err(fail(
                Step::Tls,
                format!(
                    "the server's Diffie-Hellman group has {bits} bits; {} requires at least {}",
                    p.stack, p.min_dh_bits
                ),
                &p.cipher_errors,
            ));
        }
    }
    Ok(())
}

fn certificate_step(p: &'static ClientProfile, scan: &CipherScan, handshake: String) -> Verdict {
    match scan.certificate_verified {
        Some(true) => ok(Outcome::Connects, None, handshake),
        None => unknown(
            Step::Certificate,
            format!("{handshake}; the certificate was not seen"),
        ),
        Some(false) => {
            let why = scan
                .certificate_problem
                .clone()
                .unwrap_or_else(|| "the certificate does not verify".to_string());
            unverified_certificate(p, handshake, &why)
        }
    }
}

/// What `p` does with a certificate it cannot verify (`why`), after `handshake`.
fn unverified_certificate(p: &'static ClientProfile, handshake: String, why: &str) -> Verdict {
    match p.unverified_certificate {
        CertPolicy::Prompt => ok(
            Outcome::Prompts,
            Some(Step::Certificate),
            format!("{handshake}; certificate dialog: {why}"),
        ),
        CertPolicy::Refuse => fail(
            Step::Certificate,
            format!("{handshake}, but this client refuses servers it cannot authenticate: {why}"),
            &p.cert_errors,
        ),
        CertPolicy::Accept => ok(
            Outcome::Connects,
            None,
            format!("{handshake}; the certificate is not checked"),
        ),
    }
}

/// The certificate key-size and signature limits of the client's TLS stack, which end the
/// handshake whatever the certificate policy.
fn key_limits(
    p: &ClientProfile,
    key_type: &str,
    key_bits: u32,
    digest: Option<&str>,
    self_signed: bool,
) -> Option<String> {
    if key_type.eq_ignore_ascii_case("RSA") && key_bits < p.min_rsa_bits {
        return Some(format!(
            "the certificate's RSA key has {key_bits} bits; {} requires at least {}",
            p.stack, p.min_rsa_bits
        ));
    }
    // OpenSSL does not check the signature of a self-signed leaf (nothing signed it but itself).
    let sha1 = digest.is_some_and(|d| d.eq_ignore_ascii_case("SHA1"));
    if sha1 && !p.sha1_signatures && !self_signed {
        return Some(format!(
            "the certificate is signed with SHA-1, which {} refuses",
            p.stack
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdpdoctor_observations::{NegotiationAttempt, TlsAttempt, TlsObservation, VersionScan};

    /// A server that selects TLS for every request and completes only `versions`, accepting
    /// `suites` at each.
    fn server(versions: &[TlsVersion], suites: &[&str], complete: bool) -> Observations {
        let mut obs = Observations::new(None);
        for requested in [protocol::MSTSC_DEFAULT, protocol::SSL | protocol::HYBRID] {
            obs.negotiation.push(NegotiationAttempt {
                requested,
                elapsed_ms: 1.0,
                outcome: NegotiationOutcome::Selected {
                    protocol: protocol::SSL,
                    flags: 0,
                },
                implied_by: None,
            });
        }
        obs.tls = Some(TlsObservation {
            attempts: versions
                .iter()
                .map(|v| TlsAttempt {
                    version: *v,
                    requested: protocol::SSL,
                    elapsed_ms: 1.0,
                    outcome: TlsOutcome::Completed {
                        cipher: String::new(),
                    },
                })
                .collect(),
            certificate: None,
            ..TlsObservation::default()
        });
        obs.ciphers = Some(CipherScan {
            versions: versions
                .iter()
                .map(|v| VersionScan {
                    version: *v,
                    accepted: suites.iter().map(|s| s.to_string()).collect(),
                    server_order: None,
                    groups: vec!["x25519".to_string()],
                    groups_complete: true,
                    signature: None,
                    dh_bits: None,
                    complete,
                    stopped: (!complete).then(|| "budget".to_string()),
                })
                .collect(),
            certificate_verified: Some(true),
            ..CipherScan::default()
        });
        obs
    }

    fn outcome(obs: &Observations, id: &str) -> ClientOutcome {
        simulate(obs, &ClientProfile::default())
            .rows
            .into_iter()
            .find(|r| r.id == id)
            .expect("profile")
    }

    #[test]
    fn rustls_has_no_rsa_key_exchange() {
        let obs = server(
            &[TlsVersion::Tls12],
            &["TLS_RSA_WITH_AES_256_CBC_SHA"],
            true,
        );
        let r = outcome(&obs, "ironrdp");
        assert_eq!(r.outcome, Outcome::Fails);
        assert_eq!(r.step, Some(Step::Tls));
        assert_eq!(r.reason, "no cipher suite in common at TLS 1.2: the server offers only TLS_RSA_WITH_AES_256_CBC_SHA, which rustls does not implement");
        assert_eq!(outcome(&obs, "mstsc-win10").outcome, Outcome::Connects);
    }

    #[test]
    fn an_oracle_refusal_shows_the_authentication_error_not_the_identity_dialog() {
        let mut obs = server(
            &[TlsVersion::Tls12],
            &["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"],
            true,
        );
        for n in &mut obs.negotiation {
            n.outcome = NegotiationOutcome::Selected {
                protocol: protocol::HYBRID,
                flags: 0,
            };
        }
        // A CredSSP without the CVE-2018-0886 fix (TSRequest version 3).
        obs.nla = serde_json::from_value(serde_json::json!({
            "requested": 11, "selected": 2, "ts_request_version": 3, "elapsed_ms": 1.0,
            "outcome": {"kind": "error-code", "code": 0}
        }))
        .ok();
        assert!(obs.nla.is_some());
        let r = outcome(&obs, "mstsc-win10");
        assert_eq!((r.outcome, r.step), (Outcome::Fails, Some(Step::Nla)));
        let e = r.client_error.expect("a client error");
        assert!(
            e.text.contains(
                "An authentication error has occurred. The function requested is not supported"
            ),
            "{}",
            e.text
        );
        assert!(
            e.text.contains("encryption oracle remediation"),
            "{}",
            e.text
        );
        assert!(!e.text.contains("identity"), "{}", e.text);
        assert_eq!(e.codes.first().map(|c| c.value), Some(0x8009_0302));
        // FreeRDP has no such policy: it goes on.
        assert_ne!(outcome(&obs, "freerdp2-openssl3").step, Some(Step::Nla));
    }

    #[test]
    fn windows_defaults_follow_microsofts_per_version_lists() {
        let has = |id: &str, suite: &str| {
            ClientProfile::by_name(id)
                .map(|p| p.cipher_suites.contains(&suite))
                .unwrap_or_else(|| panic!("no profile {id}"))
        };
        let dhe_gcm = "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384";
        let dhe_cbc = "TLS_DHE_RSA_WITH_AES_256_CBC_SHA";
        // 22H2 dropped finite-field DHE; Server 2022 (like Windows 11 21H2) and 2019 kept it.
        assert!(!has("mstsc-win10", dhe_gcm) && !has("mstsc-win11", dhe_gcm));
        assert!(has("mstsc-server2022", dhe_gcm) && has("mstsc-server2019", dhe_gcm));
        assert!(!has("mstsc-win10", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"));
        // Windows 7, 8.1 and Server 2016 still have DHE with AES-CBC.
        for id in ["mstsc-win7", "mstsc-win81", "mstsc-server2016"] {
            assert!(
                has(id, dhe_cbc) && has(id, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"),
                "{id}"
            );
        }
        assert!(!has("mstsc-server2019", dhe_cbc));
        // The number of suites each Microsoft page lists as enabled by default (NULL suites,
        // used only on an application's explicit request, left out).
        for (id, n) in [
            ("mstsc-win10", 18),
            ("mstsc-win11", 20),
            ("mstsc-server2022", 23),
            ("mstsc-server2019", 21),
            ("mstsc-server2016", 30),
        ] {
            let p = ClientProfile::by_name(id).expect("profile");
            assert_eq!(p.cipher_suites.len(), n, "{id}");
        }
        let server2022 = ClientProfile::by_name("mstsc-server2022").expect("profile");
        assert!(server2022.supports(TlsVersion::Tls13));
    }

    #[test]
    fn the_hardened_description_agrees_with_the_profiles_it_names() {
        let hardened = ClientProfile::by_name("hardened").expect("profile");
        assert_eq!(hardened.unverified_certificate, CertPolicy::Refuse);
        for id in ["freerdp3-openssl3", "windows-app-macos"] {
            let p = ClientProfile::by_name(id).expect("profile");
            assert_eq!(p.unverified_certificate, CertPolicy::Prompt, "{id}");
        }
        assert!(
            hardened.description.contains("ask the user"),
            "{}",
            hardened.description
        );
        assert!(!hardened
            .description
            .contains("FreeRDP 3 and macOS Windows App at their default"));
    }

    #[test]
    fn an_incomplete_enumeration_is_not_a_failure() {
        let obs = server(
            &[TlsVersion::Tls12],
            &["TLS_RSA_WITH_AES_256_CBC_SHA"],
            false,
        );
        assert_eq!(outcome(&obs, "ironrdp").outcome, Outcome::Unknown);
    }

    #[test]
    fn the_highest_common_version_decides() {
        // TLS 1.2 has only a suite Windows 7 lacks; TLS 1.0 has one it has: Schannel still ends
        // up at TLS 1.2 (the server picks the highest version) and fails.
        let mut obs = server(
            &[TlsVersion::Tls10, TlsVersion::Tls12],
            &["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
            true,
        );
        if let Some(scan) = obs.ciphers.as_mut() {
            scan.versions[0].accepted = vec!["TLS_RSA_WITH_AES_128_CBC_SHA".to_string()];
        }
        assert_eq!(
            outcome(&obs, "mstsc-win7-kb3080079").outcome,
            Outcome::Fails
        );
        assert_eq!(outcome(&obs, "mstsc-win7").outcome, Outcome::Connects);
    }

    #[test]
    fn no_group_in_common_fails() {
        let mut obs = server(
            &[TlsVersion::Tls12],
            &["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"],
            true,
        );
        if let Some(scan) = obs.ciphers.as_mut() {
            scan.versions[0].groups = vec!["x25519".to_string()];
        }
        let r = outcome(&obs, "mstsc-win81");
        assert_eq!(r.outcome, Outcome::Fails);
        assert!(
            r.reason.starts_with("no key-exchange group in common"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn without_a_scan_there_is_no_matrix() {
        let mut obs = server(&[TlsVersion::Tls12], &[], true);
        obs.ciphers = None;
        assert!(simulate(&obs, &ClientProfile::default()).rows.is_empty());
        // Documents written before --clients existed still load.
        let old = r#"{"schema":"rdpdoctor.observations/1"}"#;
        assert!(Observations::from_json(old).is_ok_and(|o| o.ciphers.is_none()));
    }

    #[test]
    fn every_profile_cites_a_source_and_aliases_resolve() {
        for p in PROFILES {
            assert!(
                !p.sources.is_empty() && p.sources.iter().all(|s| !s.is_empty()),
                "{}",
                p.id
            );
            assert_eq!(ClientProfile::by_name(p.id).map(|x| x.id), Some(p.id));
        }
        assert_eq!(
            ClientProfile::by_name("windows").map(|p| p.id),
            Some("mstsc-win11")
        );
        assert_eq!(
            ClientProfile::by_name("windows10").map(|p| p.id),
            Some("mstsc-win10")
        );
        assert_eq!(
            ClientProfile::by_name("hardened").map(|p| p.id),
            Some("mstsc-hardened")
        );
        assert_eq!(ClientProfile::default().id, "mstsc-win11");
    }

    #[test]
    fn suites_exist_only_at_their_versions() {
        assert!(suite_at("TLS_AES_128_GCM_SHA256", TlsVersion::Tls13));
        assert!(!suite_at("TLS_AES_128_GCM_SHA256", TlsVersion::Tls12));
        assert!(!suite_at(
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            TlsVersion::Tls10
        ));
        assert!(suite_at(
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            TlsVersion::Tls10
        ));
        assert!(!suite_at(
            "TLS_RSA_WITH_AES_128_CBC_SHA256",
            TlsVersion::Tls11
        ));
        assert!(suite_at(
            "TLS_RSA_WITH_AES_128_CBC_SHA256",
            TlsVersion::Tls12
        ));
    }
}
