//! The probe tests every route must pass: the same scripted servers, reached over the direct
//! route (a TCP listener on 127.0.0.1) and over an in-process pipe (`route::scripted`), must give
//! the same observations, apart from the route itself and what only TCP has (connect latencies,
//! the kernel's counters). Adding a route adds it to [`Via`].
//!
//! The servers are scripted, but on real implementations: OpenSSL's TLS server, and `sspi`'s
//! CredSSP server with NTLM (`sspi::credssp::CredSspServer`), which verifies the client's
//! pubKeyAuth and decrypts the TSCredentials this crate's own CredSSP machine sealed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests

use crate::check::over_route;
use crate::framed::{FrameReader, Framing};
use crate::options::{Credentials, ProbeOptions};
use crate::route::scripted::{script, Script, Scripted};
use crate::route::{ByteStream, DialSpec, Route};
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::ssl::{Ssl, SslAcceptor, SslMethod, SslVersion};
use openssl::x509::{X509NameBuilder, X509};
use rdpdoctor_observations::{
    protocol, LogonOutcome, NlaOutcome, Observations, PathObservation, Target, TlsOutcome,
    TlsVersion,
};
use rdpdoctor_wire::credssp;
use serde_json::Value;
use sspi::credssp::{CredSspServer, CredentialsProxy, ServerError, ServerMode, ServerState};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio_openssl::SslStream;

const USER: &str = "labuser";
const PASSWORD: &str = "Scripted-2026!";

/// What a scripted server runs on.
#[derive(Clone, Copy, Debug)]
enum Via {
    /// TCP on 127.0.0.1: the direct route.
    Direct,
    /// The in-process pipe.
    Pipe,
}

const ROUTES: [Via; 2] = [Via::Direct, Via::Pipe];

/// The server's TLS identity: a self-signed RSA certificate, made once.
fn identity() -> &'static (X509, PKey<Private>) {
    static ID: OnceLock<(X509, PKey<Private>)> = OnceLock::new();
    ID.get_or_init(|| {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "scripted.test").unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
            .unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        (b.build(), key)
    })
}

/// TLS 1.2 and 1.3 only, as a current Windows server.
fn acceptor() -> SslAcceptor {
    let (cert, key) = identity();
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
    b.set_certificate(cert).unwrap();
    b.set_private_key(key).unwrap();
    b.set_min_proto_version(Some(SslVersion::TLS1_2)).unwrap();
    b.build()
}

/// Reads the X.224 Connection Request; its requestedProtocols (MS-RDPBCGR 2.2.1.1.1).
async fn requested(stream: &mut Box<dyn ByteStream>) -> Option<u32> {
    let request = FrameReader::exact(Framing::Tpkt)
        .read(stream, Duration::from_secs(5))
        .await
        .ok()?;
    let neg = request.get(request.len().checked_sub(8)?..)?;
    (neg[0] == 0x01).then(|| u32::from_le_bytes([neg[4], neg[5], neg[6], neg[7]]))
}

/// A Connection Confirm: RDP_NEG_RSP selecting `protocol` (MS-RDPBCGR 2.2.1.2.1).
fn selected(protocol: u32) -> Vec<u8> {
    let mut cc = b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x1f\x08\x00".to_vec();
    cc.extend_from_slice(&protocol.to_le_bytes());
    cc
}

/// A Connection Confirm: RDP_NEG_FAILURE with `code` (MS-RDPBCGR 2.2.1.2.2).
fn refused(code: u32) -> Vec<u8> {
    let mut cc = b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x03\x00\x08\x00".to_vec();
    cc.extend_from_slice(&code.to_le_bytes());
    cc
}

/// The one account of the scripted server.
struct Account;

impl CredentialsProxy for Account {
    type AuthenticationData = sspi::AuthIdentity;
    fn auth_data_by_user(&mut self, _: &sspi::Username) -> std::io::Result<sspi::AuthIdentity> {
        Ok(sspi::AuthIdentity {
            username: sspi::Username::parse(USER).map_err(std::io::Error::other)?,
            password: sspi::Secret::new(PASSWORD.to_string()),
        })
    }
    fn auth_data(&mut self) -> std::io::Result<Vec<sspi::AuthIdentity>> {
        Ok(vec![self.auth_data_by_user(
            &sspi::Username::parse(USER).map_err(std::io::Error::other)?,
        )?])
    }
}

/// The passwords the NLA server received in TSCredentials.
type Delegated = Arc<Mutex<Vec<String>>>;

/// An NLA server (freerdp-shadow with NLA required, on real TLS and CredSSP): HYBRID_EX for
/// requests that offer CredSSP, HYBRID_REQUIRED_BY_SERVER for the others; after the credentials,
/// the Early User Authorization Result, then it closes on the client's MCS Connect Initial.
fn nla_server(delegated: Delegated) -> Script {
    script(move |mut stream| {
        let delegated = delegated.clone();
        async move {
            let Some(requested) = requested(&mut stream).await else {
                return;
            };
            if !protocol::offers_nla(requested) {
                let _ = stream.write_all(&refused(5)).await;
                return;
            }
            let selection = if requested & protocol::HYBRID_EX != 0 {
                protocol::HYBRID_EX
            } else {
                protocol::HYBRID
            };
            let _ = stream.write_all(&selected(selection)).await;
            let Ok(ssl) = Ssl::new(acceptor().context()) else {
                return;
            };
            let Ok(mut tls) = SslStream::new(ssl, stream) else {
                return;
            };
            if std::pin::Pin::new(&mut tls).accept().await.is_err() {
                return;
            }
            if credssp_server(&mut tls, selection, delegated).await {
                let _ = FrameReader::exact(Framing::Tpkt)
                    .read(&mut tls, Duration::from_secs(5))
                    .await;
            }
        }
    })
}

/// `sspi`'s CredSSP server over `tls`; whether the client delegated its credentials.
async fn credssp_server(
    tls: &mut SslStream<Box<dyn ByteStream>>,
    selection: u32,
    delegated: Delegated,
) -> bool {
    let spki = identity()
        .0
        .public_key()
        .unwrap()
        .public_key_to_der()
        .unwrap();
    let key = credssp::subject_public_key(&spki).unwrap().to_vec();
    let Ok(mut server) = CredSspServer::new(
        key,
        Account,
        ServerMode::Ntlm(sspi::ntlm::NtlmConfig::default()),
    ) else {
        return false;
    };
    loop {
        let Ok(bytes) = FrameReader::exact(Framing::TsRequest)
            .read(tls, Duration::from_secs(5))
            .await
        else {
            return false;
        };
        let Ok(request) = credssp::decode(&bytes) else {
            return false;
        };
        let reply = match server.process(request).resolve_to_result() {
            Ok(ServerState::ReplyNeeded(reply)) => reply,
            Ok(ServerState::Finished(identity)) => {
                delegated
                    .lock()
                    .unwrap()
                    .push(identity.password.as_ref().to_string());
                if selection == protocol::HYBRID_EX {
                    // MS-RDPBCGR 2.2.10.2: AUTHZ_SUCCESS.
                    let _ = tls.write_all(&[0, 0, 0, 0]).await;
                }
                return true;
            }
            Err(ServerError {
                ts_request: Some(reply),
                ..
            }) => {
                let _ = tls.write_all(&credssp::encode(&reply).unwrap()).await;
                return false;
            }
            Err(_) => return false,
        };
        let _ = tls.write_all(&credssp::encode(&reply).unwrap()).await;
    }
}

/// A server that allows only Standard RDP Security (xrdp with security_layer=rdp): RDP_NEG_FAILURE
/// 2 to TLS requests, PROTOCOL_RDP and an MCS Connect Response (no encryption, level None) to
/// the others.
fn standard_rdp_server() -> Script {
    script(|mut stream| async move {
        let Some(requested) = requested(&mut stream).await else {
            return;
        };
        if requested != protocol::RDP {
            let _ = stream.write_all(&refused(2)).await;
            return;
        }
        let _ = stream.write_all(&selected(protocol::RDP)).await;
        let _ = FrameReader::exact(Framing::Tpkt)
            .read(&mut stream, Duration::from_secs(5))
            .await;
        // An MCS Disconnect Provider Ultimatum (rn-user-requested) instead of a response.
        let _ = stream
            .write_all(b"\x03\x00\x00\x09\x02\xf0\x80\x21\x80")
            .await;
    })
}

fn options(user: Option<&str>, full: bool) -> ProbeOptions {
    ProbeOptions {
        timeout: Duration::from_secs(5),
        credentials: user.map(|p| {
            Arc::new(Credentials::new(
                USER.to_string(),
                zeroize::Zeroizing::new(p.to_string()),
            ))
        }),
        full,
        ..ProbeOptions::default()
    }
}

/// Checks `server` over `via`, as `check` does.
async fn check_via(via: Via, server: Script, options: &ProbeOptions) -> Observations {
    match via {
        Via::Direct => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let accept = tokio::spawn(async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    tokio::spawn(server(Box::new(tcp)));
                }
            });
            let target = Target::parse(&address.to_string(), 3389).unwrap();
            let obs = crate::check(target, options).await;
            accept.abort();
            obs
        }
        Via::Pipe => {
            let route = Arc::new(Scripted::new("scripted", server));
            let target = Target::parse("127.0.0.1:3389", 3389).unwrap();
            let start = Instant::now();
            let mut obs = Observations::new(Some(target.clone()));
            let first = route
                .dial(DialSpec::default(), options.timeout)
                .await
                .unwrap();
            let mut path = PathObservation::default();
            over_route(
                route,
                first,
                (&target, None),
                options,
                start,
                &mut obs,
                &mut path,
            )
            .await;
            obs.path = Some(path).filter(|p| !p.is_empty());
            obs
        }
    }
}

/// The observations as JSON without what differs by route or by run: the route, TCP's own facts,
/// times, and the server's clock.
fn comparable(obs: &Observations) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for key in [
                    "route",
                    "tcp",
                    "dns",
                    "path",
                    "target",
                    "elapsed_ms",
                    "started_at",
                    "duration_ms",
                    "timeout_secs",
                    "received_at",
                    "server_time",
                    "client_info_at_secs",
                    "sha256_hex",
                ] {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(obs).unwrap();
    strip(&mut v);
    v
}

/// Runs the same check over every route; the comparable observations of each, which must agree.
async fn over_every_route(
    server: impl Fn() -> Script,
    options: &ProbeOptions,
) -> Vec<Observations> {
    let mut all = Vec::new();
    for via in ROUTES {
        all.push(check_via(via, server(), options).await);
    }
    for (via, obs) in ROUTES.iter().zip(&all).skip(1) {
        assert_eq!(
            comparable(obs),
            comparable(&all[0]),
            "{via:?} and {:?} disagree",
            ROUTES[0]
        );
    }
    all
}

/// Negotiation, TLS per version and what the server reveals without credentials.
#[tokio::test]
async fn an_nla_server_reads_the_same_over_every_route() {
    let delegated = Delegated::default();
    let all = over_every_route(|| nla_server(delegated.clone()), &options(None, false)).await;
    for obs in &all {
        assert!(obs.negotiation.iter().any(|a| a.outcome.selects_credssp()));
        let tls = obs.tls.as_ref().expect("tls");
        let completed: Vec<TlsVersion> = tls
            .attempts
            .iter()
            .filter(|a| matches!(a.outcome, TlsOutcome::Completed { .. }))
            .map(|a| a.version)
            .collect();
        assert_eq!(completed, [TlsVersion::Tls12, TlsVersion::Tls13]);
        assert_eq!(
            tls.certificate.as_ref().map(|c| c.subject.as_str()),
            Some("CN=scripted.test")
        );
        let nla = obs.nla.as_ref().expect("nla");
        assert!(
            matches!(nla.outcome, NlaOutcome::Challenge { .. }),
            "{nla:?}"
        );
        assert_eq!(nla.ts_request_version, Some(6));
    }
    assert!(delegated.lock().unwrap().is_empty());
    assert!(matches!(
        all[0].route,
        Some(rdpdoctor_observations::RouteObservation::Direct { .. })
    ));
    assert!(matches!(
        all[1].route,
        Some(rdpdoctor_observations::RouteObservation::Scripted { .. })
    ));
}

/// The logon with `--user`: `sspi`'s server accepts this crate's proof of the right password and
/// refuses a wrong one; nothing is delegated.
#[tokio::test]
async fn a_logon_is_judged_the_same_over_every_route() {
    let delegated = Delegated::default();
    for (password, accepted) in [(PASSWORD, true), ("wrong", false)] {
        let all = over_every_route(
            || nla_server(delegated.clone()),
            &options(Some(password), false),
        )
        .await;
        for obs in &all {
            let logon = obs.logon.as_ref().expect("logon");
            assert_eq!(logon.package, "NTLM");
            assert!(!logon.delegated);
            assert_eq!(
                matches!(logon.outcome, LogonOutcome::Accepted),
                accepted,
                "{logon:?}"
            );
            assert!(logon.outcome.is_verdict(), "{logon:?}");
        }
    }
    assert!(
        delegated.lock().unwrap().is_empty(),
        "delegated without --full"
    );
}

/// `--full --user`: the TSCredentials go out after the server's proof, and the server reads the
/// password from them (proof that the machine sealed them as MS-CSSP says), over every route.
#[tokio::test]
async fn full_delegates_the_same_over_every_route() {
    let delegated = Delegated::default();
    let all = over_every_route(
        || nla_server(delegated.clone()),
        &options(Some(PASSWORD), true),
    )
    .await;
    for obs in &all {
        let session = obs.session.as_ref().expect("session");
        assert!(session.delegated, "{session:?}");
        // The server closes on the MCS Connect Initial that follows the credentials.
        assert_eq!(
            session.outcome,
            rdpdoctor_observations::SessionOutcome::Closed { reset: false },
            "{session:?}"
        );
        assert!(matches!(
            obs.logon.as_ref().map(|l| &l.outcome),
            Some(LogonOutcome::Accepted)
        ));
    }
    assert_eq!(*delegated.lock().unwrap(), [PASSWORD, PASSWORD]);
}

/// A Standard RDP Security server: the requests it refuses, the offers that get an answer.
#[tokio::test]
async fn a_standard_rdp_security_server_reads_the_same_over_every_route() {
    let all = over_every_route(standard_rdp_server, &options(None, false)).await;
    for obs in &all {
        assert!(obs.tls.is_none());
        let rdp = obs.rdp_security.as_ref().expect("rdp_security");
        assert_eq!(rdp.attempts.len(), 5);
    }
}
