//! An RD Gateway client (MS-TSGU, HTTP transport) that opens one channel to a session host
//! and says exactly where it stops: the gateway's name, TCP, TLS and certificate (judged like a
//! session host's: `Trust`, `--gateway-cert-sha256`, `--trust-any-cert`), the first RDG_OUT_DATA with the
//! WebSocket upgrade and the methods the 401 offers, the HTTP logon (Negotiate with NTLM inside,
//! NTLM, Basic only over a verified certificate; none at all to an unproven gateway), the IN
//! channel when the gateway does not upgrade, then handshake, tunnel create (capabilities, PAA
//! cookie), tunnel authorization and channel create with the gateway's status codes, and the
//! data phase as a byte stream with keepalives and close.
//!
//! Every phase runs under its own deadline (the per-phase one, cut short by the overall one)
//! and leaves its evidence in a [`GatewayObservation`], on failure too. The codec is
//! `rdpdoctor_wire::tsgu` (which says why this is not `ironrdp-mstsgu`). No proxy setting is read
//! from the environment: the client connects to the gateway it is given, and nowhere else.
//!
//! One channel carries one connection to the target: a check that needs several connections
//! opens several channels, each with its own logon (see bench/gateway.sh for what one costs).

mod certificate;
mod channel;
mod conn;
mod http_phase;
mod link;
mod logon;
pub mod route;
mod setup;
mod tunnel;

pub use channel::GatewayChannel;

use crate::options::Credentials;
use crate::trust::Trust;
use rdpdoctor_observations::{GatewayObservation, GatewayOutcome, GatewayPhase, LogonMethod};
use rdpdoctor_observations::{GatewayTransport, Target, Transport};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Who logs on to the gateway, and as which client.
#[derive(Clone)]
pub struct GatewayAuth {
    /// The account for the gateway's HTTP logon (`--gateway-user`, or `--user`, as mstsc's "use
    /// my RD Gateway credentials for the remote computer"). `None`: the set-up stops at the 401
    /// with the methods listed.
    pub credentials: Option<Arc<Credentials>>,
    /// A pluggable-authentication cookie (RD Web, an identity provider), sent in the tunnel
    /// create. A bearer secret: never recorded, never sent to an unproven gateway.
    pub paa_cookie: Option<Zeroizing<String>>,
    /// The client name of the tunnel authorization (the gateway logs it; policies may use it).
    pub client_name: String,
    /// Log on with this method only (default: Negotiate, then NTLM, then Basic, whichever the
    /// gateway offers first).
    pub method: Option<LogonMethod>,
}

impl fmt::Debug for GatewayAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayAuth")
            .field("credentials", &self.credentials)
            .field(
                "paa_cookie",
                &self.paa_cookie.as_ref().map(|_| "<redacted>"),
            )
            .field("client_name", &self.client_name)
            .field("method", &self.method)
            .finish()
    }
}

/// The deadlines of a set-up.
#[derive(Clone, Copy, Debug)]
pub struct GatewayDeadlines {
    /// Each phase: DNS, one TCP connect, one TLS handshake, one HTTP exchange, one tunnel
    /// packet's round trip.
    pub per_phase: Duration,
    /// The whole set-up (`None`: per-phase deadlines only).
    pub overall: Option<Duration>,
    /// Keepalive packets while the open channel is idle.
    pub keepalive: Duration,
}

impl Default for GatewayDeadlines {
    fn default() -> Self {
        GatewayDeadlines {
            per_phase: Duration::from_secs(5),
            overall: Some(Duration::from_secs(30)),
            keepalive: Duration::from_secs(30),
        }
    }
}

/// A set-up that stopped before the channel opened: what happened, and where.
#[derive(Debug, thiserror::Error)]
#[error("{}", describe(observation))]
pub struct GatewayFailure {
    pub observation: Box<GatewayObservation>,
}

/// Opens a channel through `gateway` (its HTTPS port in `gateway.port`) to
/// `target_host`:`target_port`, as the gateway resolves and reaches it.
pub async fn open_channel(
    gateway: &Target,
    target_host: &str,
    target_port: u16,
    auth: &GatewayAuth,
    deadlines: GatewayDeadlines,
    trust: &Trust,
) -> Result<(GatewayChannel, GatewayObservation), GatewayFailure> {
    let start = Instant::now();
    let mut setup = setup::Setup::new(gateway, target_host, target_port, auth, &deadlines, trust);
    let result = steps(&mut setup).await;
    let mut obs = setup.obs;
    obs.elapsed_ms = crate::elapsed_ms(start);
    match result {
        Ok(link) => {
            obs.transport = Some(link.transport());
            obs.outcome = GatewayOutcome::Open;
            Ok((channel::start(link, deadlines.keepalive), obs))
        }
        Err((outcome, transport)) => {
            obs.transport = transport;
            obs.outcome = outcome;
            Err(GatewayFailure {
                observation: Box::new(obs),
            })
        }
    }
}

type Stopped = (GatewayOutcome, Option<GatewayTransport>);

async fn steps(setup: &mut setup::Setup<'_>) -> Result<link::Link, Stopped> {
    let tcp = setup.reach().await.map_err(|o| (o, None))?;
    let (out, proof) = setup
        .secure(tcp, GatewayPhase::TlsHandshake)
        .await
        .map_err(|o| (o, None))?;
    // The cookie is a bearer credential: same rule as a password.
    http_phase::cookie_allowed(setup, &proof).map_err(|o| (o, None))?;
    let mut link = http_phase::open(setup, out, proof)
        .await
        .map_err(|o| (o, None))?;
    let transport = Some(link.transport());
    match tunnel::create(setup, &mut link).await {
        Ok(()) => Ok(link),
        Err(outcome) => {
            link.finish().await;
            Err((outcome, transport))
        }
    }
}

/// One line on how a set-up ended, for error messages: what failed, where, what to do.
pub fn describe(obs: &GatewayObservation) -> String {
    let at = format!("RD Gateway {}:{}", obs.gateway, obs.port);
    match &obs.outcome {
        GatewayOutcome::Open => format!("{at}: channel to {}:{} open", obs.target, obs.target_port),
        GatewayOutcome::Unreachable { phase } => format!(
            "{at}: unreachable ({}); check the gateway name and port",
            phase.label()
        ),
        GatewayOutcome::TlsFailed => format!(
            "{at}: the TLS handshake failed ({}); check the gateway's TLS settings and what listens on that port",
            obs.tls.last().map_or_else(|| "no handshake".to_string(), |t| format!("{:?}", t.outcome))
        ),
        GatewayOutcome::NotAGateway { reason } => format!("{at} is not an RD Gateway: {reason}"),
        GatewayOutcome::AuthRequired => format!(
            "{at} requires a logon ({}); give --user",
            obs.offered_methods.join(", ")
        ),
        GatewayOutcome::CredentialsWithheld { reason } => {
            format!("{at}: credentials not sent: {reason}")
        }
        GatewayOutcome::AuthFailed { reason, .. } => format!("{at}: logon failed: {reason}"),
        GatewayOutcome::AuthMethodUnsupported { reason } => {
            format!("{at}: no usable logon method: {reason}")
        }
        GatewayOutcome::Refused { phase, status } => format!(
            "{at} refused {} with status 0x{status:08X} (see `rdpdoctor explain 0x{status:X}`)",
            phase.label()
        ),
        GatewayOutcome::ChannelClosed { phase, status } => format!(
            "{at} closed the channel during {} with status 0x{status:08X}",
            phase.label()
        ),
        GatewayOutcome::Malformed { phase, reason } => {
            format!("{at}: unreadable answer in {}: {reason}", phase.label())
        }
        GatewayOutcome::HttpStatus {
            phase,
            status,
            reason,
        } => format!(
            "{at} answered {} with HTTP {status} {reason}",
            phase.label()
        ),
        GatewayOutcome::OutOfTime { phase } => format!(
            "{at}: the check's overall deadline passed before {}",
            phase.label()
        ),
        GatewayOutcome::Transport(t) => match t {
            Transport::TimedOut { phase, .. } => format!(
                "{at}: no answer within the deadline in {}; raise --timeout if the gateway is slow",
                phase.label()
            ),
            Transport::Reset { at: p, .. } => {
                format!("{at}: connection reset in {}", p.phase.label())
            }
            Transport::Closed { at: p, .. } => {
                format!("{at}: connection closed in {}", p.phase.label())
            }
        },
    }
}
