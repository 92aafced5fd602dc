//! The RD Gateway leg (`Observations::gateway`, MS-TSGU): gateway-unreachable,
//! gateway-tls-failed, gateway-cert-expired, gateway-cert-name-mismatch, gateway-cert-untrusted,
//! gateway-not-a-gateway, gateway-websocket-refused, gateway-auth-required, gateway-auth-failed,
//! gateway-auth-method-unsupported, gateway-policy-denied (which policy: CAP or RAP),
//! gateway-busy, gateway-target-unreachable, gateway-tunnel-failed, and credentials-not-delegated
//! when the gateway's certificate proved nothing. Each reads what the gateway client recorded;
//! the gateway's status codes are named from the codes crate (MS-TSGU 2.2.6).

use super::certificate::cert_names;
use super::{describe_tls, finding, Vars};
use crate::context::Context;
use crate::model::Finding;
use crate::FindingId;
use rdpdoctor_codes::Family;
use rdpdoctor_observations::{
    ConnectOutcome, DnsOutcome, GatewayObservation, GatewayOutcome, GatewayPhase, GatewayTransport,
    Observations, Transport, WebSocketUpgrade,
};

const DAY: i64 = 86_400;

// MS-TSGU 2.2.6 codes with a finding of their own, as full HRESULTs; `code_part` compares the
// HRESULT_CODE, so the bare forms some gateways send (0x59E6) match too.
const RAP_ACCESSDENIED: u32 = 0x59DA;
const NAP_ACCESSDENIED: u32 = 0x59DB;
const TS_CONNECTFAILED: u32 = 0x59DD;
const MAXCONNECTIONSREACHED: u32 = 0x59E6;
const QUARANTINE_ACCESSDENIED: u32 = 0x59ED;
const COOKIE_BADPACKET: u32 = 0x59F7;
const COOKIE_AUTHENTICATION_ACCESS_DENIED: u32 = 0x59F8;
const UNSUPPORTED_AUTHENTICATION_METHOD: u32 = 0x59F9;

pub(super) fn check(obs: &Observations, ctx: &Context, vars: &Vars, out: &mut Vec<Finding>) {
    let Some(gw) = &obs.gateway else {
        return;
    };
    certificates(gw, ctx, vars, out);
    websocket(gw, vars, out);
    if let Some(f) = outcome(gw, vars) {
        out.push(f);
    }
}

fn at(gw: &GatewayObservation) -> String {
    format!("RD Gateway {}:{}", gw.gateway, gw.port)
}

/// The code's name from MS-TSGU's table (`0x800759DA E_PROXY_RAP_ACCESSDENIED`).
fn code_name(status: u32) -> String {
    match rdpdoctor_codes::lookup(Family::Tsgu, status) {
        Some(e) => format!("{} (0x{status:08X})", e.name),
        None => format!("0x{status:08X} (not an E_PROXY code of MS-TSGU 2.2.6)"),
    }
}

fn code_part(status: u32) -> u32 {
    status & 0xFFFF
}

/// gateway-cert-expired, gateway-cert-name-mismatch, gateway-cert-untrusted: once per
/// certificate (the IN channel's connection usually shows the same one).
fn certificates(gw: &GatewayObservation, ctx: &Context, vars: &Vars, out: &mut Vec<Finding>) {
    let mut seen: Vec<&str> = Vec::new();
    for tls in &gw.tls {
        let Some(cert) = &tls.certificate else {
            continue;
        };
        if seen.contains(&cert.sha256_hex.as_str()) {
            continue;
        }
        seen.push(&cert.sha256_hex);
        let who = format!(
            "{}: certificate {} (SHA-1 thumbprint {}, issuer {})",
            at(gw),
            cert.subject,
            cert.sha1_hex,
            cert.issuer
        );
        let now = ctx.now.as_second();
        let (before, after) = (cert.not_before.as_second(), cert.not_after.as_second());
        if after < now || before > now {
            let when = if after < now {
                format!(
                    "notAfter {} is {} days ago",
                    cert.not_after.strftime("%Y-%m-%d %H:%M UTC"),
                    (now - after) / DAY
                )
            } else {
                format!(
                    "notBefore {} is ahead of this machine's clock",
                    cert.not_before.strftime("%Y-%m-%d %H:%M UTC")
                )
            };
            out.push(finding(
                FindingId::GatewayCertExpired,
                vars,
                vec![format!("{who}: {when}")],
            ));
        }
        if tls.name_matches == Some(false) {
            out.push(finding(
                FindingId::GatewayCertNameMismatch,
                vars,
                vec![format!(
                    "{who}: the gateway was asked for as {:?}; the certificate names {}",
                    gw.gateway,
                    cert_names(cert).join(", ")
                )],
            ));
        }
        if tls.chain_trusted == Some(false) {
            let mut evidence = vec![format!(
                "{who}: the chain does not lead to a root this machine trusts{}",
                if cert.self_signed {
                    " (the certificate is self-signed)"
                } else {
                    ""
                }
            )];
            if let Some(pin) = tls.identity.as_ref().and_then(|i| i.matched_pin.as_ref()) {
                evidence.push(format!(
                    "it matches the pin {pin} given with --gateway-cert-sha256, so rdpdoctor went on; Windows clients refuse such a gateway outright"
                ));
            }
            out.push(finding(FindingId::GatewayCertUntrusted, vars, evidence));
        }
    }
}

/// gateway-websocket-refused: the upgrade was refused and the tunnel fell back to (or would
/// fall back to) the two HTTP channels.
fn websocket(gw: &GatewayObservation, vars: &Vars, out: &mut Vec<Finding>) {
    let why = match &gw.websocket {
        Some(WebSocketUpgrade::Refused { status: 200 }) => {
            "answered the WebSocket upgrade with 200, as a gateway without WebSocket support does"
                .to_string()
        }
        Some(WebSocketUpgrade::Refused { status }) => format!(
            "answered the WebSocket upgrade with {status} (something in front of it may refuse upgrades), and the same request without it as a gateway"
        ),
        Some(WebSocketUpgrade::BadAccept { accept }) => format!(
            "answered the WebSocket upgrade with a 101 whose Sec-WebSocket-Accept ({}) is not the RFC 6455 hash of the key",
            accept.as_deref().unwrap_or("none")
        ),
        _ => return,
    };
    let fallback = match (gw.transport, &gw.outcome) {
        (Some(GatewayTransport::HttpChannels), GatewayOutcome::Open) => {
            "the tunnel ran over the two HTTP channels (RDG_OUT_DATA, RDG_IN_DATA) and the channel to the target opened".to_string()
        }
        (Some(GatewayTransport::HttpChannels), _) => format!(
            "the tunnel ran over the two HTTP channels (RDG_OUT_DATA, RDG_IN_DATA) as far as {}",
            gw.reached().label()
        ),
        _ => "the fallback to the two HTTP channels was not tried on this connection".to_string(),
    };
    out.push(finding(
        FindingId::GatewayWebsocketRefused,
        vars,
        vec![format!("{} {why}", at(gw)), fallback],
    ));
}

/// The finding for how the set-up ended (`None`: the channel opened).
fn outcome(gw: &GatewayObservation, vars: &Vars) -> Option<Finding> {
    outcome_parts(gw).map(|(id, evidence)| finding(id, vars, evidence))
}

/// How the set-up ended, in words: the finding it is and its evidence (`None`: the channel
/// opened). Other rules that name the gateway's refusal (an .rdp file's gateway line) quote it.
pub(super) fn outcome_parts(gw: &GatewayObservation) -> Option<(FindingId, Vec<String>)> {
    let at = at(gw);
    Some(match &gw.outcome {
        GatewayOutcome::Open => return None,
        GatewayOutcome::Unreachable { phase } => (FindingId::GatewayUnreachable, unreachable(gw, *phase)),
        GatewayOutcome::TlsFailed => (
            FindingId::GatewayTlsFailed,
            vec![format!(
                "{at}: the TLS handshake {}",
                gw.tls.last().map_or_else(|| "did not run".to_string(), |t| describe_tls(&t.outcome))
            )],
        ),
        GatewayOutcome::NotAGateway { reason } => (FindingId::GatewayNotAGateway, vec![format!("{at}: {reason}")]),
        GatewayOutcome::AuthRequired => (
            FindingId::GatewayAuthRequired,
            vec![
                format!("{at} answered RDG_OUT_DATA with 401; it offers: {}", offered(gw)),
                "no --user was given, so the logon, the gateway's policies and the session host behind it were not tried".to_string(),
            ],
        ),
        GatewayOutcome::CredentialsWithheld { reason } => (
            FindingId::CredentialsNotDelegated,
            vec![format!("{at}: {reason}"), "the gateway's logon, its policies and the session host behind it were not tried".to_string()],
        ),
        GatewayOutcome::AuthFailed { method, reason } => (
            FindingId::GatewayAuthFailed,
            vec![format!(
                "{at}: {} logon{} failed after {} request(s): {reason}",
                method.scheme(),
                gw.logon.as_ref().and_then(|l| l.user.as_ref()).map(|u| format!(" of {u:?}")).unwrap_or_default(),
                gw.logon.as_ref().map_or(0, |l| l.legs)
            )],
        ),
        GatewayOutcome::AuthMethodUnsupported { reason } => (FindingId::GatewayAuthMethodUnsupported, vec![format!("{at}: {reason}")]),
        GatewayOutcome::Refused { phase, status } | GatewayOutcome::ChannelClosed { phase, status } => refused(gw, *phase, *status),
        GatewayOutcome::HttpStatus { phase, status, reason } if matches!(status, 401 | 403) && *phase >= GatewayPhase::Logon => (
            FindingId::GatewayAuthFailed,
            vec![format!("{at} answered {} with {status} {reason} after the logon", phase.label())],
        ),
        GatewayOutcome::HttpStatus { phase, status, reason } => (
            FindingId::GatewayTunnelFailed,
            vec![format!("{at} answered {} with HTTP {status} {reason}", phase.label())],
        ),
        GatewayOutcome::Malformed { phase, reason } => (
            FindingId::GatewayTunnelFailed,
            vec![format!("{at}: unreadable answer in {}: {reason}", phase.label())],
        ),
        GatewayOutcome::OutOfTime { phase } => (
            FindingId::GatewayTunnelFailed,
            vec![format!("{at}: the check's overall deadline passed before {}; the steps before it took {:.0} ms", phase.label(), gw.elapsed_ms)],
        ),
        GatewayOutcome::Transport(t) => (FindingId::GatewayTunnelFailed, vec![broken(&at, t)]),
    })
}

fn offered(gw: &GatewayObservation) -> String {
    match gw.http.first() {
        Some(h) if !h.challenges.is_empty() => h.challenges.join(", "),
        _ if !gw.offered_methods.is_empty() => gw.offered_methods.join(", "),
        _ => "no method at all".to_string(),
    }
}

fn unreachable(gw: &GatewayObservation, phase: GatewayPhase) -> Vec<String> {
    let name = format!("{}:{}", gw.gateway, gw.port);
    if phase == GatewayPhase::Dns {
        let what = match gw.dns.as_ref().map(|d| &d.outcome) {
            Some(DnsOutcome::Failed { error }) => format!("the resolver answered: {error}"),
            Some(DnsOutcome::TimedOut) => {
                "the resolver did not answer before the deadline".to_string()
            }
            _ => "no address".to_string(),
        };
        return vec![format!(
            "the RD Gateway's name {:?} does not resolve: {what}",
            gw.gateway
        )];
    }
    gw.connects
        .iter()
        .map(|a| {
            let how = match &a.outcome {
                ConnectOutcome::Refused => "refused (nothing listens there: a wrong port, or the gateway's web site is stopped)".to_string(),
                ConnectOutcome::TimedOut => format!("no answer within {:.0} ms (dropped by a firewall, or no host)", a.elapsed_ms),
                ConnectOutcome::Unreachable { error, .. } => format!("unreachable: {error}"),
                ConnectOutcome::Error { error } => error.clone(),
                ConnectOutcome::Connected => "connected".to_string(),
            };
            format!("RD Gateway {name}: TCP connect to {} {how}", a.address)
        })
        .collect()
}

fn broken(
    at: &str,
    t: &Transport<GatewayPhase, rdpdoctor_observations::InPhase<GatewayPhase>>,
) -> String {
    match t {
        Transport::TimedOut { phase, bytes } => format!(
            "{at}: no complete answer in {} before the deadline ({bytes} bytes came)",
            phase.label()
        ),
        Transport::Reset { at: p, bytes } => format!(
            "{at} reset the connection in {} ({bytes} bytes of the answer came)",
            p.phase.label()
        ),
        Transport::Closed { at: p, bytes } => format!(
            "{at} closed the connection in {} ({bytes} bytes of the answer came)",
            p.phase.label()
        ),
    }
}

/// A failure status (or a close channel during set-up): the finding its code names.
fn refused(gw: &GatewayObservation, phase: GatewayPhase, status: u32) -> (FindingId, Vec<String>) {
    let said = format!(
        "{} answered {} with {}",
        at(gw),
        if phase == GatewayPhase::ChannelCreate {
            format!("the channel create to {}:{}", gw.target, gw.target_port)
        } else {
            phase.label().to_string()
        },
        code_name(status)
    );
    let client = gw
        .authorization
        .as_ref()
        .map(|a| a.client_name.as_str())
        .unwrap_or("");
    let user = gw
        .logon
        .as_ref()
        .and_then(|l| l.user.as_deref())
        .unwrap_or("(anonymous)");
    match code_part(status) {
        RAP_ACCESSDENIED => (
            FindingId::GatewayPolicyDenied,
            vec![said, format!("the resource authorization policy (RD RAP) refused {user:?} access to {:?} (gateway event 301 or 308); the connection authorization policy (CAP) had admitted the user", gw.target)],
        ),
        NAP_ACCESSDENIED | QUARANTINE_ACCESSDENIED => (
            FindingId::GatewayPolicyDenied,
            vec![said, format!("the connection authorization policy (RD CAP) refused {user:?} from client {client:?} (gateway event 201): the user, the client computer or the logon method is not in any CAP")],
        ),
        MAXCONNECTIONSREACHED => (FindingId::GatewayBusy, vec![said, "the gateway's connection limit is reached (gateway event 203)".to_string()]),
        TS_CONNECTFAILED => (
            FindingId::GatewayTargetUnreachable,
            vec![said, format!("both policies admitted the connection; the gateway could not connect to {}:{} (gateway event 304)", gw.target, gw.target_port)],
        ),
        UNSUPPORTED_AUTHENTICATION_METHOD | COOKIE_BADPACKET => (
            FindingId::GatewayAuthMethodUnsupported,
            vec![said, match gw.handshake.as_ref().map(|h| h.asked_extended_auth) {
                Some(0) => "the gateway expects pluggable authentication (a PAA cookie from RD Web or an identity provider); no cookie was given (gateway event 305)".to_string(),
                _ => "the gateway does not take the authentication the client asked for (gateway event 305)".to_string(),
            }],
        ),
        COOKIE_AUTHENTICATION_ACCESS_DENIED => (
            FindingId::GatewayAuthFailed,
            vec![said, "the gateway rejected the pluggable-authentication cookie: it expired, was issued for another user or resource, or by a source the gateway does not trust".to_string()],
        ),
        _ => (FindingId::GatewayTunnelFailed, vec![said]),
    }
}

#[cfg(test)]
mod tests {
    use crate::{diagnose, Context, Severity};
    use jiff::Timestamp;
    use rdpdoctor_observations::{
        Certificate, ChainIdentity, ConnectOutcome, GatewayLogon, GatewayObservation,
        GatewayOutcome, GatewayPhase, GatewayTls, GatewayTransport, HandshakeAnswer, IdentityProof,
        LogonMethod, Observations, PhaseTime, Target, TcpAttempt, TlsOutcome, Transport,
        WebSocketUpgrade,
    };

    fn now() -> Timestamp {
        "2026-12-07T12:00:00Z".parse().unwrap()
    }

    fn cert(not_after: &str, self_signed: bool) -> Certificate {
        Certificate {
            subject: "CN=rdg.corp.example".to_string(),
            subject_cn: vec!["rdg.corp.example".to_string()],
            issuer: "CN=Corp CA".to_string(),
            san_dns: vec!["rdg.corp.example".to_string()],
            san_ip: vec![],
            serial_hex: "01".to_string(),
            sha256_hex: "ab".repeat(32),
            public_key_sha256: None,
            sha1_hex: "CD".repeat(20),
            not_before: "2025-01-01T00:00:00Z".parse().unwrap(),
            not_after: not_after.parse().unwrap(),
            never_expires: false,
            self_signed,
            key_type: "RSA".to_string(),
            key_bits: 2048,
            signature_algorithm: "sha256WithRSAEncryption".to_string(),
            signature_digest: Some("SHA256".to_string()),
            chain_len: 2,
        }
    }

    fn tls(cert: Certificate, trusted: bool, named: bool, proof: IdentityProof) -> GatewayTls {
        GatewayTls {
            connection: 1,
            elapsed_ms: 3.0,
            outcome: TlsOutcome::Completed {
                cipher: "TLS_AES_256_GCM_SHA384".to_string(),
            },
            certificate: Some(cert),
            chain_trusted: Some(trusted),
            name_matches: Some(named),
            identity: Some(ChainIdentity::default()),
            proof: Some(proof),
        }
    }

    /// A gateway leg that got as far as `outcome` says, with a healthy certificate.
    fn leg(outcome: GatewayOutcome) -> GatewayObservation {
        let mut gw = GatewayObservation::new("rdg.corp.example", 443, "rdsh01.corp.example", 3389);
        gw.tls.push(tls(
            cert("2027-06-01T00:00:00Z", false),
            true,
            true,
            IdentityProof::TrustedCertificate,
        ));
        gw.offered_methods = vec!["Negotiate".into(), "NTLM".into()];
        gw.websocket = Some(WebSocketUpgrade::Accepted);
        gw.transport = Some(GatewayTransport::Websocket);
        gw.logon = Some(GatewayLogon {
            method: LogonMethod::Negotiate,
            user: Some("CORP\\alice".into()),
            legs: 2,
            accepted: true,
            mutual: Some(true),
        });
        gw.handshake = Some(HandshakeAnswer {
            asked_extended_auth: 0,
            status: 0,
            version: (1, 0),
            extended_auth: 0,
            elapsed_ms: 1.0,
        });
        gw.phases.push(PhaseTime {
            phase: outcome.phase().unwrap_or(GatewayPhase::ChannelCreate),
            elapsed_ms: 1.0,
        });
        gw.outcome = outcome;
        gw
    }

    /// Every finding id for `gw`, and the whole diagnosis's findings.
    fn ids(gw: GatewayObservation) -> Vec<(String, Severity, Vec<String>)> {
        let mut obs = Observations::new(Some(Target::parse("rdsh01.corp.example", 3389).unwrap()));
        obs.gateway = Some(gw);
        diagnose(&obs, &Context::new(now()))
            .findings
            .into_iter()
            .map(|f| (f.id, f.severity, f.evidence))
            .collect()
    }

    fn only(gw: GatewayObservation) -> (String, Vec<String>) {
        let mut all = ids(gw);
        assert_eq!(all.len(), 1, "{all:#?}");
        let (id, _, evidence) = all.remove(0);
        (id, evidence)
    }

    #[test]
    fn a_healthy_gateway_leg_raises_nothing() {
        assert!(ids(leg(GatewayOutcome::Open)).is_empty());
    }

    #[test]
    fn each_gateway_code_raises_its_finding() {
        for (phase, status, want, words) in [
            (
                GatewayPhase::ChannelCreate,
                0x8007_59DA,
                "gateway-policy-denied",
                "resource authorization policy (RD RAP)",
            ),
            (
                GatewayPhase::TunnelAuth,
                0x8007_59DB,
                "gateway-policy-denied",
                "connection authorization policy (RD CAP)",
            ),
            (
                GatewayPhase::TunnelCreate,
                0x8007_59E6,
                "gateway-busy",
                "E_PROXY_MAXCONNECTIONSREACHED",
            ),
            (
                GatewayPhase::TunnelCreate,
                0x0000_59E6,
                "gateway-busy",
                "connection limit",
            ),
            (
                GatewayPhase::ChannelCreate,
                0x8007_59DD,
                "gateway-target-unreachable",
                "rdsh01.corp.example:3389",
            ),
            (
                GatewayPhase::Handshake,
                0x8007_59F9,
                "gateway-auth-method-unsupported",
                "PAA cookie",
            ),
            (
                GatewayPhase::TunnelCreate,
                0x8007_59F8,
                "gateway-auth-failed",
                "cookie",
            ),
            (
                GatewayPhase::TunnelCreate,
                0x8007_59D8,
                "gateway-tunnel-failed",
                "E_PROXY_INTERNALERROR (0x800759D8)",
            ),
            (
                GatewayPhase::TunnelCreate,
                0x8000_4005,
                "gateway-tunnel-failed",
                "not an E_PROXY code",
            ),
        ] {
            let (id, evidence) = only(leg(GatewayOutcome::Refused { phase, status }));
            assert_eq!(id, want, "0x{status:X}");
            assert!(
                evidence.iter().any(|e| e.contains(words)),
                "0x{status:X}: {evidence:#?}"
            );
        }
    }

    #[test]
    fn logon_outcomes_are_told_apart() {
        let (id, ev) = only(leg(GatewayOutcome::AuthRequired));
        assert_eq!(id, "gateway-auth-required");
        assert!(ev[0].contains("Negotiate, NTLM"), "{ev:?}");
        let (id, ev) = only(leg(GatewayOutcome::AuthFailed {
            method: LogonMethod::Ntlm,
            reason: "rejected".into(),
        }));
        assert_eq!(id, "gateway-auth-failed");
        assert!(
            ev[0].contains("NTLM logon of \"CORP\\\\alice\" failed after 2"),
            "{ev:?}"
        );
        let (id, _) = only(leg(GatewayOutcome::AuthMethodUnsupported {
            reason: "Kerberos only".into(),
        }));
        assert_eq!(id, "gateway-auth-method-unsupported");
        let (id, _) = only(leg(GatewayOutcome::HttpStatus {
            phase: GatewayPhase::InChannel,
            status: 403,
            reason: "Forbidden".into(),
        }));
        assert_eq!(id, "gateway-auth-failed");
    }

    #[test]
    fn bad_certificates_are_named_each_for_its_cause() {
        let withheld = GatewayOutcome::CredentialsWithheld {
            reason: "nothing proves it".into(),
        };
        let mut expired = leg(withheld.clone());
        expired.tls[0] = tls(
            cert("2026-12-05T14:43:11Z", false),
            true,
            true,
            IdentityProof::Unproven {
                reason: "expired".into(),
            },
        );
        let found = ids(expired);
        let names: Vec<&str> = found.iter().map(|(id, _, _)| id.as_str()).collect();
        assert_eq!(
            names,
            ["gateway-cert-expired", "credentials-not-delegated"],
            "{found:#?}"
        );
        assert!(
            found[0].2[0].contains("notAfter 2026-12-05 14:43 UTC is 1 days ago"),
            "{found:#?}"
        );

        let mut wrong = leg(withheld);
        wrong.tls[0] = tls(
            cert("2027-06-01T00:00:00Z", false),
            true,
            false,
            IdentityProof::Unproven {
                reason: "name".into(),
            },
        );
        let found = ids(wrong);
        assert_eq!(found[0].0, "gateway-cert-name-mismatch", "{found:#?}");
        assert!(found[0].2[0].contains("DNS:rdg.corp.example"), "{found:#?}");

        let mut pinned = leg(GatewayOutcome::Open);
        let mut t = tls(
            cert("2027-06-01T00:00:00Z", true),
            false,
            true,
            IdentityProof::PinnedCertificate,
        );
        t.identity = Some(ChainIdentity {
            matched_pin: Some(rdpdoctor_observations::CertPin::parse(&"ab".repeat(32)).unwrap()),
            ..ChainIdentity::default()
        });
        pinned.tls[0] = t.clone();
        pinned.tls.push(GatewayTls { connection: 2, ..t });
        let (id, ev) = only(pinned);
        assert_eq!(
            id, "gateway-cert-untrusted",
            "the IN channel's same certificate counts once"
        );
        assert!(
            ev[0].contains("self-signed") && ev[1].contains("--gateway-cert-sha256"),
            "{ev:#?}"
        );
    }

    #[test]
    fn a_refused_websocket_is_info_and_says_whether_the_fallback_worked() {
        let mut gw = leg(GatewayOutcome::Open);
        gw.websocket = Some(WebSocketUpgrade::Refused { status: 200 });
        gw.transport = Some(GatewayTransport::HttpChannels);
        let found = ids(gw);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(
            (found[0].0.as_str(), found[0].1),
            ("gateway-websocket-refused", Severity::Info)
        );
        assert!(
            found[0].2[1].contains("the channel to the target opened"),
            "{found:#?}"
        );
    }

    #[test]
    fn reachability_tls_and_not_a_gateway() {
        let mut gw = leg(GatewayOutcome::Unreachable {
            phase: GatewayPhase::Connect,
        });
        gw.tls.clear();
        gw.connects.push(TcpAttempt {
            address: "198.18.0.5:443".parse().unwrap(),
            elapsed_ms: 0.2,
            outcome: ConnectOutcome::Refused,
        });
        let (id, ev) = only(gw);
        assert_eq!(id, "gateway-unreachable");
        assert!(ev[0].contains("198.18.0.5:443 refused"), "{ev:?}");

        let mut gw = leg(GatewayOutcome::TlsFailed);
        gw.tls[0] = GatewayTls {
            outcome: TlsOutcome::AlertReceived { alert: 70 },
            certificate: None,
            chain_trusted: None,
            name_matches: None,
            identity: None,
            proof: None,
            ..gw.tls[0].clone()
        };
        let (id, ev) = only(gw);
        assert_eq!(id, "gateway-tls-failed");
        assert!(ev[0].contains("alert"), "{ev:?}");

        let (id, _) = only(leg(GatewayOutcome::NotAGateway {
            reason: "501".into(),
        }));
        assert_eq!(id, "gateway-not-a-gateway");
        let (id, ev) = only(leg(GatewayOutcome::Transport(Transport::TimedOut {
            phase: GatewayPhase::TunnelAuth,
            bytes: 0,
        })));
        assert_eq!(id, "gateway-tunnel-failed");
        assert!(
            ev[0].contains("the tunnel authorization before the deadline"),
            "{ev:?}"
        );
    }
}
