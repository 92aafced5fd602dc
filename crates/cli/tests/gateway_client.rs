//! rdpdoctor's own RD Gateway client (`rdpdoctor_probe::gateway::open_channel`) against every
//! mode of the lab's gateway stand-in (lab/gateway.py, proven with xfreerdp 2.11 by
//! gateway_lab.rs): each test asserts the phase the set-up reached or stopped in, the gateway's
//! code, and what the observation recorded, and reads the stand-in's log for the same tunnel
//! (every test uses its own client name, which the stand-in logs at tunnel authorization).
//! Through the healthy gateway, an X.224 Connection Request to the lab's real freerdp-nla and
//! xrdp comes back answered: the channel is a byte stream to the target.
//!
//! The lab CA is this process's trust store (`SSL_CERT_FILE`, set once before any TLS), as
//! gateway_lab.rs gives it to xfreerdp.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::{workspace_root, Lab};
use rdpdoctor_observations::{
    ChannelEnding, GatewayObservation, GatewayOutcome, GatewayPhase, GatewayTransport,
    IdentityProof, LogonMethod, Target, Transport, WebSocketUpgrade,
};
use rdpdoctor_probe::gateway::{open_channel, GatewayAuth, GatewayChannel, GatewayDeadlines};
use rdpdoctor_probe::{Credentials, Trust};
use rdpdoctor_wire::{tpkt, x224};
use std::sync::{Arc, Once};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zeroize::Zeroizing;

const E_PROXY_RAP_ACCESSDENIED: u32 = 0x8007_59DA;
const E_PROXY_NAP_ACCESSDENIED: u32 = 0x8007_59DB;
const E_PROXY_TS_CONNECTFAILED: u32 = 0x8007_59DD;
const E_PROXY_MAXCONNECTIONSREACHED: u32 = 0x8007_59E6;
const E_PROXY_SESSIONTIMEOUT: u32 = 0x8007_59F6;
const E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED: u32 = 0x8007_59F8;
const E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD: u32 = 0x8007_59F9;
const PAA_COOKIE: &str = "lab-paa-cookie-2026";

/// The lab, with its CA as the trust store of this process.
fn lab() -> Lab {
    static TRUST: Once = Once::new();
    let lab = Lab::get();
    let ca = workspace_root().join(lab.state()["ca"].as_str().expect("lab CA path"));
    // Every test calls this before its first TLS handshake, and `Once` makes the others wait:
    // no thread reads the environment while it is written.
    TRUST.call_once(|| std::env::set_var("SSL_CERT_FILE", &ca));
    lab
}

fn gateway(lab: &Lab, name: &str) -> Target {
    Target::parse(&lab.addr(name), 443).unwrap()
}

/// The gateway by the name its certificate carries (the stand-ins' CA-signed certificates name
/// localhost and 127.0.0.1).
fn gateway_by_name(lab: &Lab, name: &str) -> Target {
    Target::parse(&format!("localhost:{}", lab.port(name)), 443).unwrap()
}

fn password(lab: &Lab) -> String {
    lab.state()["credentials"]["freerdp-nla"]["password"]
        .as_str()
        .unwrap()
        .to_string()
}

fn auth(client: &str, password: Option<&str>) -> GatewayAuth {
    GatewayAuth {
        credentials: password.map(|p| {
            Arc::new(Credentials::new(
                "labuser".to_string(),
                Zeroizing::new(p.to_string()),
            ))
        }),
        paa_cookie: None,
        client_name: client.to_string(),
        method: None,
    }
}

fn deadlines() -> GatewayDeadlines {
    GatewayDeadlines {
        per_phase: Duration::from_secs(5),
        overall: Some(Duration::from_secs(20)),
        keepalive: Duration::from_secs(30),
    }
}

/// A client name of this run (the stand-in logs it; runs must not find each other's lines).
fn client(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

/// Where a gateway's log ends now: `since` reads what was logged after.
struct LogMark {
    name: &'static str,
    at: usize,
}

impl LogMark {
    fn now(lab: &Lab, name: &'static str) -> LogMark {
        LogMark {
            name,
            at: gateway_log(lab, name).len(),
        }
    }

    fn since(&self, lab: &Lab) -> String {
        gateway_log(lab, self.name)
            .get(self.at..)
            .unwrap_or_default()
            .to_string()
    }
}

/// The stand-in's log lines about this test's tunnel (found by its client name) and the
/// connections around it.
fn gateway_log(lab: &Lab, name: &str) -> String {
    let path = workspace_root().join(lab.server(name)["log"].as_str().expect("log path"));
    String::from_utf8_lossy(&std::fs::read(path).expect("gateway log")).into_owned()
}

/// The tunnel id the stand-in used for `client` (its "tunnel {id}: tunnel authorization for
/// client name 'client'" line), and every line of that tunnel.
fn tunnel_lines(log: &str, client: &str) -> Vec<String> {
    let marker = format!("client name '{client}'");
    let Some(line) = log.lines().rev().find(|l| l.contains(&marker)) else {
        return Vec::new();
    };
    let id = line
        .split("tunnel ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_default()
        .to_string();
    log.lines()
        .filter(|l| l.contains(&format!("tunnel {id}:")))
        .map(str::to_string)
        .collect()
}

async fn open(
    gw: &Target,
    target: &str,
    auth: &GatewayAuth,
    trust: &Trust,
) -> Result<(GatewayChannel, GatewayObservation), Box<GatewayObservation>> {
    let (host, port) = target.rsplit_once(':').unwrap();
    open_channel(gw, host, port.parse().unwrap(), auth, deadlines(), trust)
        .await
        .map_err(|f| f.observation)
}

/// The finding ids `diagnose` gives for a check whose gateway leg is `obs`, sorted.
fn findings(obs: &GatewayObservation) -> Vec<String> {
    let mut doc = rdpdoctor_observations::Observations::new(Some(
        Target::parse(&format!("{}:{}", obs.target, obs.target_port), 3389).unwrap(),
    ));
    doc.gateway = Some(obs.clone());
    let ctx = rdpdoctor_diagnose::Context::new(jiff::Timestamp::now());
    let mut ids: Vec<String> = rdpdoctor_diagnose::diagnose(&doc, &ctx)
        .findings
        .into_iter()
        .map(|f| f.id)
        .collect();
    ids.sort();
    ids
}

/// A set-up that must stop before the channel opens: its observation.
async fn stops(
    gw: &Target,
    target: &str,
    auth: &GatewayAuth,
    trust: &Trust,
) -> Box<GatewayObservation> {
    match open(gw, target, auth, trust).await {
        Ok((_, obs)) => panic!("the channel opened: {obs:?}"),
        Err(obs) => obs,
    }
}

/// A set-up that must open.
async fn opens(
    gw: &Target,
    target: &str,
    auth: &GatewayAuth,
    trust: &Trust,
) -> (GatewayChannel, GatewayObservation) {
    open(gw, target, auth, trust)
        .await
        .unwrap_or_else(|o| panic!("{:?}", o.outcome))
}

/// Sends an X.224 Connection Request through `channel` and returns the Confirm.
async fn x224_through(channel: &mut GatewayChannel) -> x224::Confirm {
    let request =
        x224::connection_request(0x3, &x224::RequestCookie::Name("rdpdoctor".into())).unwrap();
    channel.write_all(&request).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    let read = async {
        loop {
            if let tpkt::Frame::Complete(n) = tpkt::frame(&buf) {
                return x224::decode_connection_confirm(&buf[..n]);
            }
            let n = channel.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the channel ended before the Connection Confirm");
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("no Connection Confirm through the gateway within 5 s")
}

#[tokio::test]
async fn healthy_gateway_over_websocket_carries_x224_to_freerdp_and_xrdp() {
    let lab = lab();
    let gw = gateway_by_name(&lab, "gateway-healthy");
    let pw = password(&lab);
    for (target, client) in [
        ("freerdp-nla", "GWC-WS-FREERDP"),
        ("xrdp-negotiate", "GWC-WS-XRDP"),
    ] {
        let a = auth(client, Some(&pw));
        let (mut channel, obs) = open(&gw, &lab.addr(target), &a, &Trust::default())
            .await
            .unwrap_or_else(|o| panic!("{target}: {:?}", o.outcome));
        assert_eq!(obs.outcome, GatewayOutcome::Open);
        assert_eq!(obs.transport, Some(GatewayTransport::Websocket));
        assert_eq!(channel.transport(), GatewayTransport::Websocket);
        assert_eq!(obs.websocket, Some(WebSocketUpgrade::Accepted));
        assert_eq!(obs.offered_methods, ["Negotiate", "NTLM", "Basic"]);
        let logon = obs.logon.as_ref().expect("a logon");
        assert_eq!(
            (logon.method, logon.accepted),
            (LogonMethod::Negotiate, true)
        );
        assert_eq!(
            logon.mutual,
            Some(true),
            "the stand-in's mechListMIC verified"
        );
        assert_eq!(obs.tls[0].proof, Some(IdentityProof::TrustedCertificate));
        assert_eq!(obs.tls[0].chain_trusted, Some(true));
        assert_eq!(obs.tls[0].name_matches, Some(true));
        assert_eq!(obs.handshake.as_ref().unwrap().status, 0);
        assert_eq!(obs.channel.as_ref().unwrap().status, 0);
        assert_eq!(obs.authorization.as_ref().unwrap().client_name, client);
        assert!(findings(&obs).is_empty(), "{:?}", findings(&obs));
        match x224_through(&mut channel).await {
            x224::Confirm::Selected { .. } => {}
            other => panic!("{target}: {other:?}"),
        }
        channel.shutdown().await.unwrap();
        let ending = channel.ending().await.expect("an ending");
        assert_eq!(
            ending,
            ChannelEnding::ClientClosed {
                response_status: Some(0)
            }
        );
        let lines = tunnel_lines(&gateway_log(&lab, "gateway-healthy"), client);
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!("relaying to 127.0.0.1:{}", lab.port(target)))),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("close channel from the client")),
            "{lines:#?}"
        );
    }
}

/// `--cert-sha256` pin of a gateway's leaf, as the report shows it.
fn leaf_pin(obs: &GatewayObservation) -> rdpdoctor_observations::CertPin {
    let sha = &obs.tls[0]
        .certificate
        .as_ref()
        .expect("a certificate")
        .sha256_hex;
    rdpdoctor_observations::CertPin::parse(&format!("leaf:{sha}")).unwrap()
}

#[tokio::test]
async fn without_websocket_the_two_http_channels_carry_the_tunnel() {
    let lab = lab();
    let gw = gateway_by_name(&lab, "gateway-no-websocket");
    let name = client("GWC-HTTP");
    let (mut channel, obs) = opens(
        &gw,
        &lab.addr("freerdp-nla"),
        &auth(&name, Some(&password(&lab))),
        &Trust::default(),
    )
    .await;
    assert_eq!(obs.transport, Some(GatewayTransport::HttpChannels));
    assert_eq!(
        obs.websocket,
        Some(WebSocketUpgrade::Refused { status: 200 })
    );
    // The OUT channel and the IN channel: two TLS connections, two logons.
    assert_eq!(obs.tls.len(), 2);
    let in_logons: Vec<_> = obs
        .http
        .iter()
        .filter(|h| h.channel == rdpdoctor_observations::HttpChannel::In)
        .collect();
    assert_eq!(in_logons.len(), 2, "{:#?}", obs.http);
    assert!(obs.phase_ms(GatewayPhase::InChannel).is_some());
    assert_eq!(findings(&obs), ["gateway-websocket-refused"]);
    assert!(matches!(
        x224_through(&mut channel).await,
        x224::Confirm::Selected { .. }
    ));
    drop(channel); // dropping the stream closes the channel too
    let lines = tunnel_lines(&gateway_log(&lab, "gateway-no-websocket"), &name);
    assert!(
        lines.iter().any(|l| l.contains("relaying to")),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn ntlm_and_basic_log_on_when_asked_for() {
    let lab = lab();
    let gw = gateway_by_name(&lab, "gateway-healthy");
    for method in [LogonMethod::Ntlm, LogonMethod::Basic] {
        let mut a = auth(&client(&format!("GWC-{method:?}")), Some(&password(&lab)));
        a.method = Some(method);
        let (channel, obs) = open(&gw, &lab.addr("freerdp-nla"), &a, &Trust::default())
            .await
            .unwrap_or_else(|o| panic!("{method:?}: {:?}", o.outcome));
        let logon = obs.logon.unwrap();
        assert_eq!(
            (logon.method, logon.accepted, logon.mutual),
            (method, true, None)
        );
        let legs: Vec<_> = obs
            .http
            .iter()
            .filter_map(|h| h.authorization.clone())
            .collect();
        match method {
            LogonMethod::Ntlm => assert_eq!(legs, ["NTLM NEGOTIATE", "NTLM AUTHENTICATE"]),
            _ => assert_eq!(legs, ["Basic"]),
        }
        drop(channel);
    }
}

#[tokio::test]
async fn a_wrong_password_is_a_rejected_logon() {
    let lab = lab();
    let gw = gateway_by_name(&lab, "gateway-healthy");
    let mark = LogMark::now(&lab, "gateway-healthy");
    let obs = stops(
        &gw,
        &lab.addr("freerdp-nla"),
        &auth(&client("GWC-BADPW"), Some("not-the-password")),
        &Trust::default(),
    )
    .await;
    assert!(
        matches!(&obs.outcome, GatewayOutcome::AuthFailed { method: LogonMethod::Negotiate, reason } if reason.contains("AUTHENTICATE")),
        "{:?}",
        obs.outcome
    );
    let logon = obs.logon.clone().unwrap();
    assert_eq!((logon.legs, logon.accepted), (2, false));
    assert!(obs.handshake.is_none(), "nothing past the logon");
    assert_eq!(findings(&obs), ["gateway-auth-failed"]);
    assert!(mark.since(&lab).contains("wrong password"));
}

#[tokio::test]
async fn without_credentials_the_methods_are_listed() {
    let lab = lab();
    let obs = stops(
        &gateway_by_name(&lab, "gateway-healthy"),
        &lab.addr("freerdp-nla"),
        &auth("GWC-NOCREDS", None),
        &Trust::default(),
    )
    .await;
    assert_eq!(obs.outcome, GatewayOutcome::AuthRequired);
    assert_eq!(obs.offered_methods, ["Negotiate", "NTLM", "Basic"]);
    assert_eq!(obs.http.len(), 1);
    assert_eq!(obs.http[0].status, Some(401));
    assert!(
        obs.http[0]
            .challenges
            .iter()
            .any(|c| c.starts_with("Basic realm=")),
        "{:?}",
        obs.http[0].challenges
    );
    assert!(obs.logon.is_none());
    assert_eq!(findings(&obs), ["gateway-auth-required"]);
}

#[tokio::test]
async fn a_gateway_that_refuses_ntlm_is_told_from_a_wrong_password() {
    let lab = lab();
    let mark = LogMark::now(&lab, "gateway-kerberos-only");
    let obs = stops(
        &gateway_by_name(&lab, "gateway-kerberos-only"),
        &lab.addr("freerdp-nla"),
        &auth(&client("GWC-KRB"), Some(&password(&lab))),
        &Trust::default(),
    )
    .await;
    assert_eq!(obs.offered_methods, ["Negotiate"]);
    assert!(
        matches!(&obs.outcome, GatewayOutcome::AuthMethodUnsupported { reason } if reason.contains("refuses NTLM inside Negotiate")),
        "{:?}",
        obs.outcome
    );
    assert_eq!(
        obs.logon.as_ref().map(|l| (l.legs, l.accepted)),
        Some((1, false))
    );
    assert_eq!(findings(&obs), ["gateway-auth-method-unsupported"]);
    assert!(mark.since(&lab).contains("refuses (Kerberos only)"));
}

/// No credentials to a gateway whose certificate nothing proves: with a canary password, the
/// stand-in (which sees everything, it terminates TLS) must log no logon attempt at all; with
/// `--trust-any-cert` (or a pin) the channel opens.
async fn canary_then_allowed(name: &'static str, expired: bool) {
    let lab = lab();
    let gw = gateway_by_name(&lab, name);
    let canary = "CANARY-gw-7d41f0";
    let mark = LogMark::now(&lab, name);
    let obs = stops(
        &gw,
        &lab.addr("freerdp-nla"),
        &auth(&client("GWC-CANARY"), Some(canary)),
        &Trust::default(),
    )
    .await;
    assert!(
        matches!(obs.outcome, GatewayOutcome::CredentialsWithheld { .. }),
        "{:?}",
        obs.outcome
    );
    assert!(matches!(
        obs.tls[0].proof,
        Some(IdentityProof::Unproven { .. })
    ));
    assert_eq!(obs.tls[0].chain_trusted, Some(true));
    // The expired certificate names localhost; the other one only wrong-name.lab.invalid.
    assert_eq!(obs.tls[0].name_matches, Some(expired));
    assert!(
        obs.http.iter().all(|h| h.authorization.is_none()),
        "{:#?}",
        obs.http
    );
    let cert_finding = if expired {
        "gateway-cert-expired"
    } else {
        "gateway-cert-name-mismatch"
    };
    assert_eq!(findings(&obs), ["credentials-not-delegated", cert_finding]);
    let seen = mark.since(&lab);
    assert!(seen.contains("(no Authorization header)"), "{seen}");
    for leak in [
        "challenge",
        "logon of",
        "logon for",
        "wrong password",
        canary,
    ] {
        assert!(
            !seen.contains(leak),
            "{leak:?} in the gateway's log:\n{seen}"
        );
    }

    let trust_any = Trust {
        any: true,
        ..Trust::default()
    };
    let (channel, obs) = opens(
        &gw,
        &lab.addr("freerdp-nla"),
        &auth(&client("GWC-ANY"), Some(&password(&lab))),
        &trust_any,
    )
    .await;
    assert_eq!(obs.tls[0].proof, Some(IdentityProof::TrustAnyCert));
    assert_eq!(
        findings(&obs),
        [cert_finding],
        "the certificate stays a finding when trusted anyway"
    );
    drop(channel);
    let pinned = Trust {
        pins: vec![leaf_pin(&obs)],
        ..Trust::default()
    };
    let (channel, obs) = opens(
        &gw,
        &lab.addr("freerdp-nla"),
        &auth(&client("GWC-PIN"), Some(&password(&lab))),
        &pinned,
    )
    .await;
    assert_eq!(obs.tls[0].proof, Some(IdentityProof::PinnedCertificate));
    drop(channel);
}

#[tokio::test]
async fn an_expired_gateway_certificate_gets_no_credentials() {
    canary_then_allowed("gateway-expired-cert", true).await;
}

#[tokio::test]
async fn a_wrong_name_gateway_certificate_gets_no_credentials() {
    canary_then_allowed("gateway-wrong-name", false).await;
}

/// Sets up a channel that the gateway refuses in `phase` with `status`, the steps before it
/// all answered 0.
async fn refused(name: &'static str, target: &str, label: &str) -> Box<GatewayObservation> {
    let lab = lab();
    let gw = gateway_by_name(&lab, name);
    stops(
        &gw,
        target,
        &auth(&client(label), Some(&password(&lab))),
        &Trust::default(),
    )
    .await
}

#[tokio::test]
async fn policy_limit_and_target_refusals_carry_the_gateways_code_and_phase() {
    let lab = lab();
    let nla = lab.addr("freerdp-nla");
    let closed = lab.addr("closed");
    for (name, target, phase, status, finding) in [
        (
            "gateway-busy",
            nla.as_str(),
            GatewayPhase::TunnelCreate,
            E_PROXY_MAXCONNECTIONSREACHED,
            "gateway-busy",
        ),
        (
            "gateway-cap-denied",
            nla.as_str(),
            GatewayPhase::TunnelAuth,
            E_PROXY_NAP_ACCESSDENIED,
            "gateway-policy-denied",
        ),
        (
            "gateway-rap-denied",
            nla.as_str(),
            GatewayPhase::ChannelCreate,
            E_PROXY_RAP_ACCESSDENIED,
            "gateway-policy-denied",
        ),
        (
            "gateway-healthy",
            closed.as_str(),
            GatewayPhase::ChannelCreate,
            E_PROXY_TS_CONNECTFAILED,
            "gateway-target-unreachable",
        ),
    ] {
        let obs = refused(name, target, &format!("GWC-{phase:?}")).await;
        assert_eq!(
            obs.outcome,
            GatewayOutcome::Refused { phase, status },
            "{name}"
        );
        assert_eq!(obs.reached(), phase, "{name}");
        assert_eq!(obs.logon.as_ref().map(|l| l.accepted), Some(true), "{name}");
        assert_eq!(obs.handshake.as_ref().map(|h| h.status), Some(0), "{name}");
        let answered = [
            obs.tunnel.as_ref().map(|t| t.status),
            obs.authorization.as_ref().map(|a| a.status),
            obs.channel.as_ref().map(|c| c.status),
        ];
        assert!(answered.contains(&Some(status)), "{name}: {answered:?}");
        assert_eq!(findings(&obs), [finding], "{name}");
    }
}

#[tokio::test]
async fn pluggable_authentication_needs_the_cookie() {
    let lab = lab();
    let gw = gateway_by_name(&lab, "gateway-paa");
    let with = |cookie: Option<&str>, label: &str| {
        let mut a = auth(&client(label), Some(&password(&lab)));
        a.paa_cookie = cookie.map(|c| Zeroizing::new(c.to_string()));
        a
    };
    let (channel, obs) = opens(
        &gw,
        &lab.addr("freerdp-nla"),
        &with(Some(PAA_COOKIE), "GWC-PAA"),
        &Trust::default(),
    )
    .await;
    assert!(
        obs.logon.is_none() && obs.offered_methods.is_empty(),
        "HTTP is anonymous there"
    );
    assert_eq!(obs.handshake.as_ref().unwrap().asked_extended_auth, 2);
    assert!(obs.tunnel.as_ref().unwrap().paa_cookie_sent);
    assert!(findings(&obs).is_empty());
    drop(channel);
    let obs = stops(
        &gw,
        &lab.addr("freerdp-nla"),
        &with(Some("not-the-cookie"), "GWC-BADPAA"),
        &Trust::default(),
    )
    .await;
    assert_eq!(
        obs.outcome,
        GatewayOutcome::Refused {
            phase: GatewayPhase::TunnelCreate,
            status: E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED
        }
    );
    assert_eq!(findings(&obs), ["gateway-auth-failed"]);
    let obs = stops(
        &gw,
        &lab.addr("freerdp-nla"),
        &with(None, "GWC-NOPAA"),
        &Trust::default(),
    )
    .await;
    assert_eq!(
        obs.outcome,
        GatewayOutcome::Refused {
            phase: GatewayPhase::Handshake,
            status: E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD
        }
    );
    assert_eq!(findings(&obs), ["gateway-auth-method-unsupported"]);
}

#[tokio::test]
async fn an_idle_channel_is_closed_by_the_gateway_with_its_code() {
    let lab = lab();
    let gw = gateway_by_name(&lab, "gateway-idle-drop");
    let (mut channel, obs) = opens(
        &gw,
        &lab.addr("freerdp-nla"),
        &auth(&client("GWC-IDLE"), Some(&password(&lab))),
        &Trust::default(),
    )
    .await;
    assert_eq!(
        obs.authorization.as_ref().unwrap().idle_timeout_minutes,
        Some(1)
    );
    // Nothing is sent; the stand-in drops the channel after 5 s without client data.
    let ending = tokio::time::timeout(Duration::from_secs(15), channel.ending())
        .await
        .expect("the gateway ends an idle channel")
        .expect("an ending");
    match ending {
        ChannelEnding::GatewayClosed { status, after_ms } => {
            assert_eq!(status, E_PROXY_SESSIONTIMEOUT);
            assert!((4_000.0..12_000.0).contains(&after_ms), "{after_ms}");
        }
        other => panic!("{other:?}"),
    }
    let mut rest = Vec::new();
    assert_eq!(
        channel.read_to_end(&mut rest).await.unwrap(),
        0,
        "the stream ends too"
    );
}

#[tokio::test]
async fn a_closed_gateway_port_is_unreachable() {
    let lab = lab();
    let obs = stops(
        &gateway(&lab, "closed"),
        &lab.addr("freerdp-nla"),
        &auth("GWC-CLOSED", None),
        &Trust::default(),
    )
    .await;
    assert_eq!(
        obs.outcome,
        GatewayOutcome::Unreachable {
            phase: GatewayPhase::Connect
        }
    );
    assert_eq!(obs.connects.len(), 1);
    assert!(obs.tls.is_empty() && obs.http.is_empty());
    assert_eq!(findings(&obs), ["gateway-unreachable"]);
}

#[tokio::test]
async fn a_plain_https_server_is_not_a_gateway() {
    // Python's http.server behind TLS, with the lab's certificate: a web server, nothing more.
    let lab = lab();
    let certs = workspace_root().join("lab/state/certs");
    let dir = std::env::temp_dir().join(format!("rdpdoctor-gwc-web-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut web = std::process::Command::new("python3")
        .arg("-c")
        .arg("import http.server,ssl,sys\ns=http.server.HTTPServer(('127.0.0.1',0),http.server.SimpleHTTPRequestHandler)\nc=ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\nc.load_cert_chain(sys.argv[1],sys.argv[2])\ns.socket=c.wrap_socket(s.socket,server_side=True)\nprint(s.server_address[1],flush=True)\ns.serve_forever()")
        .arg(certs.join("negotiate-chain.pem"))
        .arg(certs.join("negotiate.key"))
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(web.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let port: u16 = line.trim().parse().unwrap();
    let gw = Target::parse(&format!("localhost:{port}"), 443).unwrap();
    let result = open(
        &gw,
        &lab.addr("freerdp-nla"),
        &auth("GWC-WEB", Some("unused")),
        &Trust::default(),
    )
    .await;
    web.kill().unwrap();
    let _ = web.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let obs = result.err().expect("a web server opens no channel");
    match &obs.outcome {
        GatewayOutcome::NotAGateway { reason } => {
            assert!(
                reason.contains("501") && reason.contains("SimpleHTTP"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Asked with the upgrade, then once more without it, on a new connection.
    assert_eq!(obs.http.len(), 2);
    assert_eq!(obs.tls.len(), 2);
    assert!(
        obs.http.iter().all(|h| h.authorization.is_none()),
        "no credentials to a web server"
    );
    assert_eq!(findings(&obs), ["gateway-not-a-gateway"]);
}

/// A scripted gateway on 127.0.0.1 (TLS with the lab's certificate): `script` gets the TLS
/// stream after the handshake. For faults no real gateway produces on demand.
fn scripted_gateway(
    script: impl FnOnce(openssl::ssl::SslStream<std::net::TcpStream>) + Send + 'static,
) -> Target {
    use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod};
    let certs = workspace_root().join("lab/state/certs");
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    acceptor
        .set_certificate_chain_file(certs.join("negotiate-chain.pem"))
        .unwrap();
    acceptor
        .set_private_key_file(certs.join("negotiate.key"), SslFiletype::PEM)
        .unwrap();
    let acceptor = acceptor.build();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((tcp, _)) = listener.accept() {
            if let Ok(tls) = acceptor.accept(tcp) {
                script(tls);
            }
        }
    });
    Target::parse(&format!("localhost:{port}"), 443).unwrap()
}

/// Reads one request head; returns its Sec-WebSocket-Key.
fn read_request(tls: &mut openssl::ssl::SslStream<std::net::TcpStream>) -> String {
    use std::io::Read;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && tls.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head)
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ").map(str::to_string))
        .unwrap_or_default()
}

#[tokio::test]
async fn hostile_gateways_are_bounded_and_never_panic_the_client() {
    use std::io::Write;
    let _lab = lab();
    let quick = GatewayDeadlines {
        per_phase: Duration::from_secs(1),
        overall: Some(Duration::from_secs(5)),
        keepalive: Duration::from_secs(30),
    };
    // Silent after TLS: the first request's deadline ends it.
    let gw = scripted_gateway(|mut tls| {
        read_request(&mut tls);
        std::thread::sleep(Duration::from_secs(3));
    });
    let started = std::time::Instant::now();
    let failure = open_channel(
        &gw,
        "127.0.0.1",
        3389,
        &auth("GWC-SILENT", None),
        quick,
        &Trust::default(),
    )
    .await
    .err()
    .unwrap();
    assert!(
        matches!(
            failure.observation.outcome,
            GatewayOutcome::Transport(Transport::TimedOut {
                phase: GatewayPhase::Http,
                ..
            })
        ),
        "{:?}",
        failure.observation.outcome
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        failure
            .to_string()
            .contains("no answer within the deadline"),
        "{failure}"
    );

    // An upgrade, then a tunnel packet whose length is below its own header (the length that
    // panics ironrdp-mstsgu 0.1.0), then one announcing 2 GiB.
    for (length, words) in [(3u32, "less than the header"), (0x7FFF_FFFF, "larger than")] {
        let gw = scripted_gateway(move |mut tls| {
            let key = read_request(&mut tls);
            let accept = rdpdoctor_wire::tsgu::websocket::accept_for(&key);
            let _ = write!(tls, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n");
            let mut packet = vec![0x82, 8, 0x02, 0, 0, 0];
            packet.extend_from_slice(&length.to_le_bytes());
            let _ = tls.write_all(&packet);
            std::thread::sleep(Duration::from_secs(2));
        });
        let failure = open_channel(
            &gw,
            "127.0.0.1",
            3389,
            &auth("GWC-HOSTILE", None),
            quick,
            &Trust::default(),
        )
        .await
        .err()
        .unwrap();
        match &failure.observation.outcome {
            GatewayOutcome::Malformed {
                phase: GatewayPhase::Handshake,
                reason,
            } => assert!(reason.contains(words), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            failure.observation.transport,
            Some(GatewayTransport::Websocket)
        );
        assert_eq!(findings(&failure.observation), ["gateway-tunnel-failed"]);
    }
}

/// The measurement bench/gateway.sh runs (ignored by default; it asserts nothing about time,
/// it prints): per round, interleaved, a direct TCP connect and X.224 exchange with the target,
/// and a channel set-up through the healthy gateway (WebSocket) and through gateway-no-websocket
/// (the two HTTP channels) with an X.224 exchange through it; medians of every phase.
#[tokio::test]
#[ignore = "a benchmark: run by bench/gateway.sh"]
async fn bench_gateway_channel_setup() {
    use std::collections::BTreeMap;
    use std::time::Instant;
    let lab = lab();
    let rounds: usize = std::env::var("RDPDOCTOR_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10);
    let target_name =
        std::env::var("RDPDOCTOR_BENCH_TARGET").unwrap_or_else(|_| "xrdp-negotiate".into());
    let target = lab.addr(&target_name);
    let pw = password(&lab);
    let mut samples: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut note = |key: &str, ms: f64| {
        if !order.iter().any(|k| k == key) {
            order.push(key.to_string());
        }
        samples.entry(key.to_string()).or_default().push(ms);
    };
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;
    for round in 0..rounds {
        let mut order = ["direct", "websocket", "http"];
        if round % 2 == 1 {
            order.reverse();
        }
        for kind in order {
            if kind == "direct" {
                let t = Instant::now();
                let mut tcp = tokio::net::TcpStream::connect(&target).await.unwrap();
                tcp.set_nodelay(true).unwrap(); // as the probes and the gateway's relay do
                note("direct: TCP connect", ms(t));
                let t = Instant::now();
                let request =
                    x224::connection_request(0x3, &x224::RequestCookie::Name("rdpdoctor".into()))
                        .unwrap();
                tcp.write_all(&request).await.unwrap();
                let mut buf = [0u8; 64];
                let n = tcp.read(&mut buf).await.unwrap();
                assert!(n >= 11, "no Connection Confirm");
                note("direct: X.224 exchange", ms(t));
                continue;
            }
            let gw_name = if kind == "websocket" {
                "gateway-healthy"
            } else {
                "gateway-no-websocket"
            };
            let gw = gateway_by_name(&lab, gw_name);
            let t = Instant::now();
            let (mut channel, obs) = opens(
                &gw,
                &target,
                &auth("GWC-BENCH", Some(&pw)),
                &Trust::default(),
            )
            .await;
            note(&format!("{kind}: channel set-up (total)"), ms(t));
            for p in &obs.phases {
                note(&format!("{kind}: phase {:?}", p.phase), p.elapsed_ms);
            }
            let t = Instant::now();
            assert!(matches!(
                x224_through(&mut channel).await,
                x224::Confirm::Selected { .. }
            ));
            note(
                &format!("{kind}: X.224 exchange through the channel"),
                ms(t),
            );
            let t = Instant::now();
            channel.shutdown().await.unwrap();
            let _ = channel.ending().await;
            note(&format!("{kind}: close"), ms(t));
        }
    }
    let median = |v: &Vec<f64>| {
        let mut v = v.clone();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("BENCH target {target_name} ({target}), {rounds} rounds, medians in ms");
    order.sort_by_key(|k| k.split(':').next().map(str::to_string));
    for key in &order {
        println!("BENCH {key:<55} {:>8.2}", median(&samples[key]));
    }
    let direct =
        median(&samples["direct: TCP connect"]) + median(&samples["direct: X.224 exchange"]);
    for kind in ["websocket", "http"] {
        let via = median(&samples[&format!("{kind}: channel set-up (total)")])
            + median(&samples[&format!("{kind}: X.224 exchange through the channel")]);
        println!(
            "BENCH ratio {kind}: connection + X.224 through the gateway / direct = {:.1}x ({via:.1} ms / {direct:.1} ms)",
            via / direct
        );
    }
}
