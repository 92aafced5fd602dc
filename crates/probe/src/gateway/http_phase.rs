//! The HTTP part of a channel's set-up (MS-TSGU 3.3.5.1, 4.2.1): the first RDG_OUT_DATA asks
//! for the WebSocket upgrade without credentials, so the 401 lists the methods the gateway
//! offers; the logon runs on the same connection (NTLM and Negotiate are bound to it); a 101
//! makes that connection the whole tunnel, a 200 makes it the OUT channel, and the IN channel
//! then gets a connection and a logon of its own. Credentials go only to a gateway whose
//! certificate is proven (or with `--trust-any-cert`), Basic only over a verified or pinned one.

use super::conn::{Conn, HeadFailure};
use super::link::Link;
use super::logon::{Logon, LogonError};
use super::setup::Setup;
use crate::elapsed_ms;
use rdpdoctor_observations::{
    GatewayLogon, GatewayOutcome, GatewayPhase, HttpChannel, HttpExchange, IdentityProof,
    LogonMethod, WebSocketUpgrade,
};
use rdpdoctor_wire::tsgu::http::{self, Body, Method, Request, ResponseHead};
use rdpdoctor_wire::tsgu::websocket;
use std::time::Instant;
use zeroize::Zeroizing;

/// The most requests one logon may take (NTLM needs two, Negotiate two or three).
const MAX_LEGS: u8 = 4;

/// What the request of one exchange is.
struct Ask<'k> {
    channel: HttpChannel,
    websocket_key: Option<&'k str>,
    body: Body,
    /// The Authorization value, and how evidence names it.
    /// (Basic's value holds the password: zeroed when dropped, as the request bytes are.)
    authorization: Option<(Zeroizing<String>, String)>,
}

/// Opens the transport: the OUT channel on `out` (already past TLS, with `proof`), the logon,
/// and the IN channel when the gateway does not upgrade to WebSocket.
pub(super) async fn open(
    setup: &mut Setup<'_>,
    mut out: Conn,
    proof: IdentityProof,
) -> Result<Link, GatewayOutcome> {
    let connection_id = http::connection_id(random());
    let key = websocket::key(random());
    let start = Instant::now();
    let first = exchange(
        setup,
        &mut out,
        &connection_id,
        plain_ask(Some(&key)),
        GatewayPhase::Http,
    )
    .await;
    setup.timed(GatewayPhase::Http, start);
    // The logon goes over the connection the answer came on: the retry's own proof counts.
    let (mut out, first, key, proof) = match first? {
        head if matches!(head.status, 101 | 200 | 401) => (out, head, Some(key), proof),
        refused => retry_without_websocket(setup, out, &connection_id, &refused).await?,
    };
    let head = if first.status == 401 {
        offered(setup, &first);
        let start = Instant::now();
        let method = choose(setup, &proof)?;
        let head = logon(
            setup,
            &mut out,
            &connection_id,
            method,
            key.as_deref(),
            true,
        )
        .await;
        setup.timed(GatewayPhase::Logon, start);
        head?
    } else {
        first
    };
    let asked_upgrade = key.is_some();
    match (head.status, key) {
        (101, Some(key)) => upgraded(setup, out, &head, &key),
        (200, _) => {
            if asked_upgrade {
                setup.obs.websocket = Some(WebSocketUpgrade::Refused { status: 200 });
            }
            let seed_deadline = setup.deadline(GatewayPhase::Http)?;
            out.exact(http::OUT_SEED_LEN, seed_deadline, GatewayPhase::Http)
                .await
                .map_err(GatewayOutcome::Transport)?;
            let inbound = in_channel(setup, &connection_id).await?;
            Ok(Link::http(out, inbound))
        }
        (status, _) => Err(GatewayOutcome::HttpStatus {
            phase: GatewayPhase::Logon,
            status,
            reason: head.reason.clone(),
        }),
    }
}

fn random() -> [u8; 16] {
    let mut r = [0u8; 16];
    // OpenSSL's CSPRNG; should it ever fail, a zero id still works (it only pairs channels).
    let _ = openssl::rand::rand_bytes(&mut r);
    r
}

fn plain_ask(websocket_key: Option<&str>) -> Ask<'_> {
    Ask {
        channel: HttpChannel::Out,
        websocket_key,
        body: Body::Empty,
        authorization: None,
    }
}

/// A gateway (or a proxy in front of it) that answers the upgrade request with neither 101,
/// 200 nor 401 gets the same request once more without the upgrade, on a new connection: if that
/// is answered as a gateway answers, WebSocket alone was refused.
async fn retry_without_websocket(
    setup: &mut Setup<'_>,
    mut refused_on: Conn,
    connection_id: &str,
    refused: &ResponseHead,
) -> Result<(Conn, ResponseHead, Option<String>, IdentityProof), GatewayOutcome> {
    refused_on.shutdown().await;
    let start = Instant::now();
    let tcp = setup.reconnect().await?;
    let (mut conn, proof) = setup.secure(tcp, GatewayPhase::Http).await?;
    cookie_allowed(setup, &proof)?;
    let head = exchange(
        setup,
        &mut conn,
        connection_id,
        plain_ask(None),
        GatewayPhase::Http,
    )
    .await;
    setup.timed(GatewayPhase::Http, start);
    let head = head?;
    if matches!(head.status, 200 | 401) {
        setup.obs.websocket = Some(WebSocketUpgrade::Refused {
            status: refused.status,
        });
        return Ok((conn, head, None, proof));
    }
    Err(GatewayOutcome::NotAGateway {
        reason: format!(
            "RDG_OUT_DATA on {} was answered {} {} with the WebSocket upgrade and {} {} without it{}; an RD Gateway answers 401 (logon), 101 or 200",
            http::PATH,
            refused.status,
            clean(&refused.reason, 80),
            head.status,
            clean(&head.reason, 80),
            server_words(&head),
        ),
    })
}

fn server_words(head: &ResponseHead) -> String {
    head.header("Server")
        .map(|s| format!(" (Server: {})", clean(s, 80)))
        .unwrap_or_default()
}

/// Records the methods of the first 401.
fn offered(setup: &mut Setup<'_>, head: &ResponseHead) {
    setup.obs.offered_methods = head
        .challenges()
        .into_iter()
        .map(|c| clean(&c.scheme, 40))
        .collect();
}

/// A PAA cookie is a bearer credential: it goes only over a connection whose certificate is
/// proven (verified, pinned, or accepted with --trust-any-cert), checked on every connection of
/// the set-up (the OUT channel, its retry without WebSocket, the IN channel), since each is its
/// own TLS handshake.
pub(super) fn cookie_allowed(
    setup: &Setup<'_>,
    proof: &IdentityProof,
) -> Result<(), GatewayOutcome> {
    if setup.auth.paa_cookie.is_some() && matches!(proof, IdentityProof::Unproven { .. }) {
        return Err(GatewayOutcome::CredentialsWithheld {
            reason: "a PAA cookie goes only to a gateway whose certificate is proven (verified, pinned with --gateway-cert-sha256, or accepted with --trust-any-cert)".to_string(),
        });
    }
    Ok(())
}

/// The method to log on with, and whether credentials may go to this gateway at all.
fn choose(setup: &Setup<'_>, proof: &IdentityProof) -> Result<LogonMethod, GatewayOutcome> {
    let offered = |m: LogonMethod| {
        setup
            .obs
            .offered_methods
            .iter()
            .any(|o| o.eq_ignore_ascii_case(m.scheme()))
    };
    if setup.auth.credentials.is_none() {
        return Err(GatewayOutcome::AuthRequired);
    }
    let method = match setup.auth.method {
        Some(m) if offered(m) => m,
        Some(m) => {
            return Err(GatewayOutcome::AuthMethodUnsupported {
                reason: format!(
                    "{} was asked for; the gateway offers {}",
                    m.scheme(),
                    offer_list(setup)
                ),
            })
        }
        None => [LogonMethod::Negotiate, LogonMethod::Ntlm, LogonMethod::Basic]
            .into_iter()
            .find(|m| offered(*m))
            .ok_or_else(|| GatewayOutcome::AuthMethodUnsupported {
                reason: format!(
                    "the gateway offers {}; rdpdoctor logs on with Negotiate (NTLM inside), NTLM or Basic",
                    offer_list(setup)
                ),
            })?,
    };
    let verified = matches!(
        proof,
        IdentityProof::TrustedCertificate | IdentityProof::PinnedCertificate
    );
    match proof {
        IdentityProof::Unproven { reason } => Err(GatewayOutcome::CredentialsWithheld {
            reason: format!("nothing proves who the gateway is ({reason}); pin its certificate with --gateway-cert-sha256, or accept it with --trust-any-cert"),
        }),
        _ if method == LogonMethod::Basic && !verified => Err(GatewayOutcome::CredentialsWithheld {
            reason: "the gateway offers only Basic, which sends the password itself: rdpdoctor sends it only when the gateway's certificate verifies for its name or matches --gateway-cert-sha256 (--trust-any-cert is not enough)".to_string(),
        }),
        _ => Ok(method),
    }
}

fn offer_list(setup: &Setup<'_>) -> String {
    if setup.obs.offered_methods.is_empty() {
        "no method at all".to_string()
    } else {
        setup.obs.offered_methods.join(", ")
    }
}

/// The logon on `conn`: every leg until the gateway answers with something else than a 401
/// that carries our scheme's next token. `record`: this is the OUT channel's logon, recorded as
/// the logon of the set-up.
async fn logon(
    setup: &mut Setup<'_>,
    conn: &mut Conn,
    connection_id: &str,
    method: LogonMethod,
    key: Option<&str>,
    record: bool,
) -> Result<ResponseHead, GatewayOutcome> {
    let channel = if record {
        HttpChannel::Out
    } else {
        HttpChannel::In
    };
    let phase = if record {
        GatewayPhase::Logon
    } else {
        GatewayPhase::InChannel
    };
    let creds = setup
        .auth
        .credentials
        .clone()
        .ok_or(GatewayOutcome::AuthRequired)?;
    let mut record_as = GatewayLogon {
        method,
        user: Some(creds.user().to_string()),
        legs: 0,
        accepted: false,
        mutual: None,
    };
    let shared = Legs {
        connection_id,
        creds: &creds,
        channel,
        key,
        phase,
    };
    let result = if method == LogonMethod::Basic {
        basic(setup, conn, &shared, &mut record_as).await
    } else {
        tokens(setup, conn, &shared, &mut record_as).await
    };
    record_as.accepted = result.is_ok();
    if record {
        setup.obs.logon = Some(record_as);
    }
    result
}

/// What every request of one logon shares.
struct Legs<'a> {
    connection_id: &'a str,
    creds: &'a crate::Credentials,
    channel: HttpChannel,
    key: Option<&'a str>,
    phase: GatewayPhase,
}

impl Legs<'_> {
    /// A request carrying `authorization` (its value, and how evidence names it).
    fn ask(&self, value: Zeroizing<String>, label: String) -> Ask<'_> {
        Ask {
            channel: self.channel,
            websocket_key: self.key,
            body: Body::Empty,
            authorization: Some((value, label)),
        }
    }
}

/// Basic: one request with the password (the caller checked the certificate).
async fn basic(
    setup: &mut Setup<'_>,
    conn: &mut Conn,
    legs: &Legs<'_>,
    rec: &mut GatewayLogon,
) -> Result<ResponseHead, GatewayOutcome> {
    let value = Zeroizing::new(http::basic_authorization(
        legs.creds.user(),
        legs.creds.password(),
    ));
    rec.legs = 1;
    let ask = legs.ask(value, "Basic".to_string());
    let head = exchange(setup, conn, legs.connection_id, ask, legs.phase).await?;
    if head.status == 401 {
        return Err(GatewayOutcome::AuthFailed {
            method: LogonMethod::Basic,
            reason: "the gateway answered the Basic logon with 401: it rejected the user name or password".to_string(),
        });
    }
    Ok(head)
}

/// NTLM or Negotiate: NEGOTIATE, CHALLENGE, AUTHENTICATE (and Negotiate's final token).
async fn tokens(
    setup: &mut Setup<'_>,
    conn: &mut Conn,
    legs: &Legs<'_>,
    rec: &mut GatewayLogon,
) -> Result<ResponseHead, GatewayOutcome> {
    let phase = legs.phase;
    let scheme = rec.method.scheme();
    let host = setup.gateway.host.clone();
    let local = |e: LogonError| GatewayOutcome::Malformed {
        phase,
        reason: format!("the {scheme} logon could not go on: {e}"),
    };
    let mut logon =
        Logon::new(rec.method, legs.creds, &host, &setup.auth.client_name).map_err(local)?;
    let mut step = logon.step(None).map_err(local)?;
    loop {
        rec.legs = rec.legs.saturating_add(1);
        let label = format!("{scheme} {}", leg_name(rec.legs));
        let value = Zeroizing::new(http::token_authorization(scheme, &step.token));
        let ask = legs.ask(value, label);
        let head = exchange(setup, conn, legs.connection_id, ask, phase).await?;
        let token = head
            .challenges()
            .into_iter()
            .find(|c| c.is(scheme))
            .and_then(|c| c.token().ok().flatten());
        if head.status != 401 {
            if let (Some(token), false) = (token, step.complete) {
                // Negotiate's final token: its mechListMIC proves the gateway completed the
                // logon (RFC 4178 5).
                rec.mutual = Some(logon.step(Some(&token)).is_ok_and(|s| s.complete));
            }
            return Ok(head);
        }
        match token {
            Some(t) if rec.legs < MAX_LEGS && !step.complete => {
                step = logon.step(Some(&t)).map_err(local)?;
            }
            _ if rec.legs == 1 => {
                return Err(GatewayOutcome::AuthMethodUnsupported {
                    reason: format!(
                        "the gateway answered the {scheme} NEGOTIATE with a 401 that carries no challenge (it offers {}): it refuses NTLM{}, as a gateway does that allows only Kerberos",
                        challenge_list(&head),
                        if rec.method == LogonMethod::Negotiate { " inside Negotiate" } else { "" }
                    ),
                })
            }
            _ => {
                return Err(GatewayOutcome::AuthFailed {
                    method: rec.method,
                    reason: format!(
                        "the gateway answered the {scheme} AUTHENTICATE with 401: it rejected the user name or password (or the account is locked, expired or not allowed)"
                    ),
                })
            }
        }
    }
}

fn leg_name(leg: u8) -> &'static str {
    match leg {
        1 => "NEGOTIATE",
        2 => "AUTHENTICATE",
        _ => "continuation",
    }
}

fn challenge_list(head: &ResponseHead) -> String {
    let schemes: Vec<String> = head
        .challenges()
        .into_iter()
        .map(|c| clean(&c.scheme, 40))
        .collect();
    if schemes.is_empty() {
        "no method".to_string()
    } else {
        schemes.join(", ")
    }
}

/// The 101: the key's accept value must match (RFC 6455 4.2.2), else the upgrade is refused
/// and the set-up cannot go on here (a gateway that gets the hash wrong is broken; a client
/// would retry without WebSocket, which `check` may do on its own connection).
fn upgraded(
    setup: &mut Setup<'_>,
    out: Conn,
    head: &ResponseHead,
    key: &str,
) -> Result<Link, GatewayOutcome> {
    let accept = head.header("Sec-WebSocket-Accept").map(str::trim);
    if accept != Some(websocket::accept_for(key).as_str()) {
        setup.obs.websocket = Some(WebSocketUpgrade::BadAccept {
            accept: accept.map(|a| clean(a, 80)),
        });
        return Err(GatewayOutcome::Malformed {
            phase: GatewayPhase::Http,
            reason: format!(
                "the gateway's 101 carries Sec-WebSocket-Accept {}, not the RFC 6455 hash of the key sent",
                accept.map_or_else(|| "(none)".to_string(), |a| clean(a, 80))
            ),
        });
    }
    setup.obs.websocket = Some(WebSocketUpgrade::Accepted);
    Ok(Link::websocket(out))
}

/// The IN channel: its own connection and TLS (the certificate judged again), its own logon,
/// the 200, then the request that carries the packets as a chunked body.
async fn in_channel(setup: &mut Setup<'_>, connection_id: &str) -> Result<Conn, GatewayOutcome> {
    let start = Instant::now();
    let result = in_channel_steps(setup, connection_id).await;
    setup.timed(GatewayPhase::InChannel, start);
    result
}

async fn in_channel_steps(
    setup: &mut Setup<'_>,
    connection_id: &str,
) -> Result<Conn, GatewayOutcome> {
    let phase = GatewayPhase::InChannel;
    let tcp = setup.reconnect().await?;
    let (mut conn, proof) = setup.secure(tcp, phase).await?;
    cookie_allowed(setup, &proof)?;
    let ask = Ask {
        channel: HttpChannel::In,
        websocket_key: None,
        body: Body::Empty,
        authorization: None,
    };
    let head = match setup.obs.logon.as_ref().map(|l| l.method) {
        Some(method) if method != LogonMethod::Paa => {
            choose(setup, &proof)?;
            logon(setup, &mut conn, connection_id, method, None, false).await?
        }
        _ => exchange(setup, &mut conn, connection_id, ask, phase).await?,
    };
    if head.status != 200 {
        return Err(GatewayOutcome::HttpStatus {
            phase,
            status: head.status,
            reason: clean(&head.reason, 80),
        });
    }
    let request = Request {
        method: Method::InData,
        host: &setup.host_header(),
        connection_id,
        authorization: None,
        websocket_key: None,
        body: Body::Chunked,
    }
    .encode()
    .map_err(|e| local(phase, e))?;
    conn.send(&request, setup.deadline(phase)?, phase)
        .await
        .map_err(GatewayOutcome::Transport)?;
    Ok(conn)
}

fn local(phase: GatewayPhase, e: impl std::fmt::Display) -> GatewayOutcome {
    GatewayOutcome::Malformed {
        phase,
        reason: e.to_string(),
    }
}

/// One request and its answer's head (and body, unless the answer starts a stream), recorded.
async fn exchange(
    setup: &mut Setup<'_>,
    conn: &mut Conn,
    connection_id: &str,
    ask: Ask<'_>,
    phase: GatewayPhase,
) -> Result<ResponseHead, GatewayOutcome> {
    let start = Instant::now();
    let host = setup.host_header();
    let request = Zeroizing::new(
        Request {
            method: match ask.channel {
                HttpChannel::Out => Method::OutData,
                HttpChannel::In => Method::InData,
            },
            host: &host,
            connection_id,
            authorization: ask.authorization.as_ref().map(|(v, _)| v.as_str()),
            websocket_key: ask.websocket_key,
            body: ask.body,
        }
        .encode()
        .map_err(|e| local(phase, e))?,
    );
    let mut rec = HttpExchange {
        connection: conn.number,
        channel: ask.channel,
        websocket: ask.websocket_key.is_some(),
        authorization: ask.authorization.map(|(_, label)| label),
        status: None,
        reason: None,
        challenges: Vec::new(),
        server: None,
        excerpt: None,
        elapsed_ms: 0.0,
    };
    let answer = answer(setup, conn, &request, phase, &mut rec).await;
    rec.elapsed_ms = elapsed_ms(start);
    setup.obs.http.push(rec);
    answer
}

async fn answer(
    setup: &Setup<'_>,
    conn: &mut Conn,
    request: &[u8],
    phase: GatewayPhase,
    rec: &mut HttpExchange,
) -> Result<ResponseHead, GatewayOutcome> {
    conn.send(request, setup.deadline(phase)?, phase)
        .await
        .map_err(GatewayOutcome::Transport)?;
    let head = match conn.head(setup.deadline(phase)?, phase).await {
        Ok(h) => h,
        Err(HeadFailure::Transport(t)) => return Err(GatewayOutcome::Transport(t)),
        Err(HeadFailure::NotHttp { reason, excerpt }) => {
            rec.excerpt = Some(excerpt.clone());
            return Err(GatewayOutcome::NotAGateway {
                reason: format!("the HTTPS server answered RDG_OUT_DATA with bytes that are not HTTP ({reason}; hex {excerpt})"),
            });
        }
    };
    rec.status = Some(head.status);
    rec.reason = Some(clean(&head.reason, 80));
    rec.server = head.header("Server").map(|s| clean(s, 80));
    rec.challenges = head
        .challenges()
        .iter()
        .map(|c| match &c.param {
            Some(p) if c.is("NTLM") || c.is("Negotiate") => {
                format!("{} <token of {} bytes>", clean(&c.scheme, 40), p.len())
            }
            Some(p) => format!("{} {}", clean(&c.scheme, 40), clean(p, 80)),
            None => clean(&c.scheme, 40),
        })
        .collect();
    // 101 and the OUT channel's 200 start a stream: no body to read.
    if !matches!(head.status, 101 | 200) {
        let body = conn
            .body(&head, setup.deadline(phase)?, phase)
            .await
            .map_err(GatewayOutcome::Transport)?;
        if !(head.status == 401 || body.is_empty()) {
            rec.excerpt = Some(clean(&String::from_utf8_lossy(&body), 160));
        }
    }
    Ok(head)
}

/// Text from the gateway, bounded and with control characters escaped.
pub(super) fn clean(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<char>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}
