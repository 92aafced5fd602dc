//! Facts of the RD Gateway leg (MS-TSGU over HTTPS): how far a channel through a gateway got,
//! each step in connection order with its answer and time, and why it stopped.
//!
//! Nothing here is a secret: the logon is recorded by scheme and leg, never by token, and the
//! PAA cookie only by whether one was sent.

use crate::{Certificate, ChainIdentity, DnsObservation, IdentityProof, InPhase, TcpAttempt};
use crate::{TlsOutcome, Transport};
use serde::{Deserialize, Serialize};

/// The steps of a channel through a gateway, in connection order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GatewayPhase {
    /// The gateway's name.
    Dns,
    /// TCP to the gateway's HTTPS port.
    Connect,
    /// TLS with the gateway (and its certificate).
    TlsHandshake,
    /// The RDG_OUT_DATA request before any logon, and the WebSocket upgrade.
    Http,
    /// The HTTP logon (NTLM, Negotiate, Basic) on the OUT channel.
    Logon,
    /// The RDG_IN_DATA channel (HTTP transport only): its own connection and logon.
    InChannel,
    /// Handshake request and response (MS-TSGU 2.2.10.10, 2.2.10.11).
    Handshake,
    /// Tunnel create and response (2.2.10.18, 2.2.10.20).
    TunnelCreate,
    /// Tunnel authorization and response (2.2.10.14, 2.2.10.16): the connection authorization
    /// policy (CAP).
    TunnelAuth,
    /// Channel create and response (2.2.10.2, 2.2.10.4): the resource authorization policy (RAP)
    /// and the gateway's connection to the target.
    ChannelCreate,
    /// The data phase: bytes to and from the target.
    Data,
    /// Close channel (2.2.10.3).
    Close,
}

impl GatewayPhase {
    /// Words for evidence.
    pub fn label(self) -> &'static str {
        match self {
            GatewayPhase::Dns => "resolving the gateway's name",
            GatewayPhase::Connect => "the TCP connect to the gateway",
            GatewayPhase::TlsHandshake => "the TLS handshake with the gateway",
            GatewayPhase::Http => "the first RDG_OUT_DATA request",
            GatewayPhase::Logon => "the HTTP logon to the gateway",
            GatewayPhase::InChannel => "the RDG_IN_DATA channel",
            GatewayPhase::Handshake => "the gateway handshake",
            GatewayPhase::TunnelCreate => "the tunnel create",
            GatewayPhase::TunnelAuth => "the tunnel authorization",
            GatewayPhase::ChannelCreate => "the channel create to the target",
            GatewayPhase::Data => "the data phase",
            GatewayPhase::Close => "closing the channel",
        }
    }
}

/// One channel's set-up through an RD Gateway.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GatewayObservation {
    /// The gateway as given (name or address) and its HTTPS port.
    pub gateway: String,
    pub port: u16,
    /// The session host the channel was asked for, as the gateway was asked.
    pub target: String,
    pub target_port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsObservation>,
    /// Every TCP connect to the gateway, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connects: Vec<TcpAttempt>,
    /// Every TLS handshake with the gateway (one per HTTPS connection), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls: Vec<GatewayTls>,
    /// Every HTTP request and its answer, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<HttpExchange>,
    /// The authentication methods the gateway offered in its first 401 (`WWW-Authenticate`
    /// schemes, as sent: "Negotiate", "NTLM", "Basic"...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offered_methods: Vec<String>,
    /// How the WebSocket upgrade went, when it was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websocket: Option<WebSocketUpgrade>,
    /// The transport the tunnel ran over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<GatewayTransport>,
    /// The HTTP logon, when one was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logon: Option<GatewayLogon>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handshake: Option<HandshakeAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<TunnelAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<AuthorizationAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelAnswer>,
    /// Service messages the gateway sent during set-up (MS-TSGU 2.2.10.12).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_messages: Vec<String>,
    /// How long each phase took, in order (a phase run on two connections appears twice).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<PhaseTime>,
    /// Wall-clock time of the whole set-up.
    pub elapsed_ms: f64,
    pub outcome: GatewayOutcome,
}

impl GatewayObservation {
    /// A document for a set-up about to start.
    pub fn new(gateway: &str, port: u16, target: &str, target_port: u16) -> GatewayObservation {
        GatewayObservation {
            gateway: gateway.to_string(),
            port,
            target: target.to_string(),
            target_port,
            dns: None,
            connects: Vec::new(),
            tls: Vec::new(),
            http: Vec::new(),
            offered_methods: Vec::new(),
            websocket: None,
            transport: None,
            logon: None,
            handshake: None,
            tunnel: None,
            authorization: None,
            channel: None,
            service_messages: Vec::new(),
            phases: Vec::new(),
            elapsed_ms: 0.0,
            outcome: GatewayOutcome::Open,
        }
    }

    /// The furthest phase that was started.
    pub fn reached(&self) -> GatewayPhase {
        self.phases
            .iter()
            .map(|p| p.phase)
            .max()
            .unwrap_or(GatewayPhase::Dns)
    }

    /// Milliseconds spent in `phase` (summed over connections).
    pub fn phase_ms(&self, phase: GatewayPhase) -> Option<f64> {
        let times: Vec<f64> = self
            .phases
            .iter()
            .filter(|p| p.phase == phase)
            .map(|p| p.elapsed_ms)
            .collect();
        (!times.is_empty()).then(|| times.iter().sum())
    }
}

/// One phase's time.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseTime {
    pub phase: GatewayPhase,
    pub elapsed_ms: f64,
}

/// One HTTPS connection's TLS handshake and what its certificate proves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GatewayTls {
    /// Which connection: 1 for RDG_OUT_DATA (the only one over WebSocket), 2 for RDG_IN_DATA,
    /// higher for a retry.
    pub connection: u8,
    pub elapsed_ms: f64,
    pub outcome: TlsOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Certificate>,
    /// The chain verifies to a root this machine trusts, the name and the dates aside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_trusted: Option<bool>,
    /// The certificate names the gateway as the user gave it (RFC 6125 through OpenSSL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_matches: Option<bool>,
    /// The chain verified for the gateway's name, and the pin it matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<ChainIdentity>,
    /// What proves the gateway's identity before credentials go to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<IdentityProof>,
}

/// The two HTTP channels of the transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HttpChannel {
    /// RDG_OUT_DATA (and the whole tunnel over WebSocket).
    Out,
    /// RDG_IN_DATA.
    In,
}

/// One HTTP request to the gateway and its answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HttpExchange {
    /// The HTTPS connection it went on (see [`GatewayTls::connection`]).
    pub connection: u8,
    pub channel: HttpChannel,
    /// The request asked for the WebSocket upgrade.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub websocket: bool,
    /// The logon leg the request carried ("NTLM NEGOTIATE", "Negotiate AUTHENTICATE",
    /// "Basic"), never the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
    /// The answer's status, when it was HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The `WWW-Authenticate` challenges: the scheme, with " <token>" when one came.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub challenges: Vec<String>,
    /// The Server header (IIS names itself "Microsoft-IIS/10.0", the lab stand-in
    /// "rdpdoctor-lab-gateway").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// What the answer was when it was not HTTP, or the start of an error page (escaped text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
    pub elapsed_ms: f64,
}

/// How the WebSocket upgrade went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum WebSocketUpgrade {
    /// 101 Switching Protocols with the right Sec-WebSocket-Accept.
    Accepted,
    /// The gateway answered the upgrade request with another status: an HTTP-only gateway (200),
    /// or a proxy that refuses upgrades (400, 405...).
    Refused { status: u16 },
    /// 101 with a Sec-WebSocket-Accept that is not the RFC 6455 hash of the key.
    BadAccept {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accept: Option<String>,
    },
}

/// What carried the tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GatewayTransport {
    /// One connection upgraded to WebSocket (RFC 6455).
    Websocket,
    /// Two long-lived HTTP requests, RDG_OUT_DATA and RDG_IN_DATA.
    HttpChannels,
}

/// HTTP logon methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogonMethod {
    /// SPNEGO (RFC 4559); NTLM inside it here (Kerberos is not implemented yet).
    Negotiate,
    Ntlm,
    /// RFC 7617: the password itself, only over a verified certificate.
    Basic,
    /// Pluggable authentication: anonymous HTTP, a cookie in the tunnel create.
    Paa,
}

impl LogonMethod {
    /// The scheme as it appears in HTTP.
    pub fn scheme(self) -> &'static str {
        match self {
            LogonMethod::Negotiate => "Negotiate",
            LogonMethod::Ntlm => "NTLM",
            LogonMethod::Basic => "Basic",
            LogonMethod::Paa => "PAA",
        }
    }
}

/// The HTTP logon.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GatewayLogon {
    pub method: LogonMethod,
    /// The account, as given (`DOMAIN\user`, `user@domain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Requests the logon took on the OUT channel.
    pub legs: u8,
    pub accepted: bool,
    /// Negotiate: the gateway's final token proved it completed the logon (its mechListMIC,
    /// RFC 4178 5, verified). `None`: no such token (NTLM and Basic have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutual: Option<bool>,
}

/// The handshake response (MS-TSGU 2.2.10.11).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HandshakeAnswer {
    /// The extended authentication the client asked for (HTTP_EXTENDED_AUTH, 2.2.5.3.2).
    pub asked_extended_auth: u16,
    pub status: u32,
    pub version: (u8, u8),
    pub extended_auth: u16,
    pub elapsed_ms: f64,
}

/// The tunnel response (2.2.10.20).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TunnelAnswer {
    /// The capabilities the client offered (HTTP_CAPABILITY_TYPE).
    pub offered_capabilities: u32,
    /// Whether the tunnel create carried a PAA cookie (never the cookie).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paa_cookie_sent: bool,
    pub status: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<u32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub soh_requested: bool,
    /// The consent message (logon banner), when the gateway sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_message: Option<String>,
    pub elapsed_ms: f64,
}

/// The tunnel authorization response (2.2.10.16): the CAP's verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationAnswer {
    /// The client name the request carried.
    pub client_name: String,
    pub status: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redir_flags: Option<u32>,
    pub elapsed_ms: f64,
}

/// The channel response (2.2.10.4): the RAP's verdict and the gateway's connection to the
/// target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelAnswer {
    pub status: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<u32>,
    /// The UDP side channel's port, when the gateway announced one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_port: Option<u16>,
    pub elapsed_ms: f64,
}

/// How the set-up ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum GatewayOutcome {
    /// The channel to the target is open; its bytes went to the caller.
    Open,
    /// The name did not resolve, or no address took a TCP connection (see `dns`, `connects`).
    Unreachable { phase: GatewayPhase },
    /// TLS with the gateway did not complete (see the last `tls`).
    TlsFailed,
    /// The HTTPS server does not answer as an RD Gateway.
    NotAGateway { reason: String },
    /// The gateway wants a logon and no credentials were given (`offered_methods` lists what it
    /// takes).
    AuthRequired,
    /// Credentials were not sent: nothing proves who the gateway is, or only Basic was offered
    /// over a certificate that does not verify.
    CredentialsWithheld { reason: String },
    /// The gateway rejected the logon after the credentials' proof (the final 401).
    AuthFailed { method: LogonMethod, reason: String },
    /// No method both sides can use, or the gateway refused the method before any credential
    /// was involved (NTLM refused inside Negotiate, PAA required).
    AuthMethodUnsupported { reason: String },
    /// The gateway answered a tunnel step with a failure status (an E_PROXY_* HRESULT).
    Refused { phase: GatewayPhase, status: u32 },
    /// The gateway closed the channel during set-up (close channel packet).
    ChannelClosed { phase: GatewayPhase, status: u32 },
    /// The gateway's answer did not decode, or came out of order.
    Malformed { phase: GatewayPhase, reason: String },
    /// An HTTP answer that neither continues nor refuses the logon in a known way.
    HttpStatus {
        phase: GatewayPhase,
        status: u16,
        reason: String,
    },
    /// The overall deadline of the check passed before this phase could start.
    OutOfTime { phase: GatewayPhase },
    /// The connection broke or went silent.
    #[serde(untagged)]
    Transport(Transport<GatewayPhase, InPhase<GatewayPhase>>),
}

impl GatewayOutcome {
    /// The phase the set-up stopped in (`None`: the channel is open).
    pub fn phase(&self) -> Option<GatewayPhase> {
        Some(match self {
            GatewayOutcome::Open => return None,
            GatewayOutcome::Unreachable { phase }
            | GatewayOutcome::Refused { phase, .. }
            | GatewayOutcome::ChannelClosed { phase, .. }
            | GatewayOutcome::Malformed { phase, .. }
            | GatewayOutcome::HttpStatus { phase, .. }
            | GatewayOutcome::OutOfTime { phase } => *phase,
            GatewayOutcome::TlsFailed => GatewayPhase::TlsHandshake,
            GatewayOutcome::NotAGateway { .. } => GatewayPhase::Http,
            GatewayOutcome::AuthRequired
            | GatewayOutcome::CredentialsWithheld { .. }
            | GatewayOutcome::AuthFailed { .. }
            | GatewayOutcome::AuthMethodUnsupported { .. } => GatewayPhase::Logon,
            GatewayOutcome::Transport(t) => match t {
                Transport::Reset { at, .. } | Transport::Closed { at, .. } => at.phase,
                Transport::TimedOut { phase, .. } => *phase,
            },
        })
    }
}

/// How the data phase of an open channel ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ChannelEnding {
    /// The client closed the channel (close channel packet, and the gateway's answer when it
    /// came in time).
    ClientClosed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response_status: Option<u32>,
    },
    /// The gateway closed the channel with `status` (E_PROXY_SESSIONTIMEOUT for an idle
    /// session, E_PROXY_CONNECTIONABORTED when the target went away...).
    GatewayClosed { status: u32, after_ms: f64 },
    /// The gateway asked to re-authenticate (MS-TSGU 2.2.10.13), which this client does not do.
    ReauthRequested { after_ms: f64 },
    /// The gateway's connection ended without a close channel packet.
    Dropped { after_ms: f64, reset: bool },
    /// The gateway sent something that does not decode.
    Malformed { reason: String, after_ms: f64 },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Observations, SCHEMA};

    fn same<T>(value: T, json: &str)
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        assert_eq!(serde_json::to_string(&value).unwrap_or_default(), json);
        assert_eq!(serde_json::from_str::<T>(json).ok(), Some(value), "{json}");
    }

    #[test]
    fn outcomes_have_a_stable_json_form() {
        use GatewayOutcome as O;
        same(O::Open, r#"{"kind":"open"}"#);
        same(
            O::Unreachable {
                phase: GatewayPhase::Connect,
            },
            r#"{"kind":"unreachable","phase":"connect"}"#,
        );
        same(O::TlsFailed, r#"{"kind":"tls-failed"}"#);
        same(O::AuthRequired, r#"{"kind":"auth-required"}"#);
        same(
            O::AuthFailed {
                method: LogonMethod::Negotiate,
                reason: "401".into(),
            },
            r#"{"kind":"auth-failed","method":"negotiate","reason":"401"}"#,
        );
        same(
            O::Refused {
                phase: GatewayPhase::ChannelCreate,
                status: 0x8007_59DA,
            },
            r#"{"kind":"refused","phase":"channel-create","status":2147965402}"#,
        );
        same(
            O::Transport(Transport::TimedOut {
                phase: GatewayPhase::TunnelAuth,
                bytes: 0,
            }),
            r#"{"kind":"timed-out","phase":"tunnel-auth","bytes":0}"#,
        );
        same(
            O::Transport(Transport::reset(GatewayPhase::Http, 12)),
            r#"{"kind":"reset","phase":"http","bytes":12}"#,
        );
        same(
            ChannelEnding::GatewayClosed {
                status: 0x8007_59F6,
                after_ms: 5000.0,
            },
            r#"{"kind":"gateway-closed","status":2147965430,"after_ms":5000.0}"#,
        );
        same(
            WebSocketUpgrade::Refused { status: 200 },
            r#"{"kind":"refused","status":200}"#,
        );
        same(GatewayTransport::HttpChannels, r#""http-channels""#);
    }

    #[test]
    fn documents_with_and_without_a_gateway_leg_read() {
        let old = format!(r#"{{"schema":"{SCHEMA}"}}"#);
        let doc = Observations::from_json(&old).unwrap_or_else(|e| panic!("{e}"));
        assert!(doc.gateway.is_none());
        assert!(!doc.to_json().contains("gateway"), "no field when absent");

        let mut gw = GatewayObservation::new("rdg.example", 443, "rdsh01", 3389);
        gw.offered_methods = vec!["Negotiate".into()];
        gw.phases.push(PhaseTime {
            phase: GatewayPhase::Logon,
            elapsed_ms: 2.5,
        });
        gw.outcome = GatewayOutcome::AuthRequired;
        let mut doc = Observations::new(None);
        doc.gateway = Some(gw);
        let json = doc.to_json();
        let back = Observations::from_json(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.to_json(), json);
        let leg = back.gateway.unwrap_or_else(|| panic!("the leg"));
        assert_eq!(leg.reached(), GatewayPhase::Logon);
        assert_eq!(leg.phase_ms(GatewayPhase::Logon), Some(2.5));
        assert_eq!(leg.outcome.phase(), Some(GatewayPhase::Logon));
    }
}
