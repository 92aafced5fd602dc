//! The RD Gateway route (`check --gateway GW[:PORT] TARGET`, MS-TSGU): every probe connection is
//! a channel of its own through the gateway (`crate::gateway::open_channel`: the gateway's TLS
//! and certificate, the HTTP logon, handshake, tunnel, authorization, channel create), because a
//! tunnel carries one channel and a channel one connection. Connections are therefore expensive
//! (`Cost::expensive`: the planning sends no request it can do without) and the stream is not a
//! TCP connection to the session host, so the path probes stay quiet: what the path looks like
//! belongs to the gateway leg, which `Observations::gateway` records.
//!
//! It lives beside the gateway client rather than in `route/` (where the other routes are)
//! because the client dials its TCP connections through `route::direct`: a module in `route/`
//! that used the client would make the two modules import each other.

use crate::gateway::{self, GatewayAuth, GatewayDeadlines, GatewayFailure};
use crate::route::{ByteStream, Cost, DialSpec, Dialed, Dialing, Route};
use crate::trust::Trust;
use rdpdoctor_observations::{
    GatewayObservation, GatewayOutcome, GatewayPhase, RouteFailure, RouteObservation, Target,
    Transport,
};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// How to reach the session host through an RD Gateway: `ProbeOptions::gateway`.
#[derive(Clone, Debug)]
pub struct GatewaySpec {
    /// The gateway and its HTTPS port (443 by default).
    pub gateway: Target,
    /// Who logs on to the gateway (`--gateway-user`, else `--user`), and the PAA cookie.
    pub auth: GatewayAuth,
    /// What proves the gateway's identity before any credential goes to it: its own pins
    /// (`--gateway-cert-sha256`) and `--trust-any-cert`; never the session host's pins.
    pub trust: Trust,
}

/// The session host behind a gateway.
pub(crate) struct Gateway {
    spec: GatewaySpec,
    target: Target,
    deadlines: GatewayDeadlines,
}

impl Gateway {
    pub(crate) fn new(spec: GatewaySpec, target: Target, per_phase: Duration) -> Gateway {
        Gateway {
            spec,
            target,
            deadlines: GatewayDeadlines {
                per_phase,
                ..GatewayDeadlines::default()
            },
        }
    }

    fn name(&self) -> String {
        format!(
            "gateway {}:{}",
            self.spec.gateway.host, self.spec.gateway.port
        )
    }

    /// One channel to the target, with the gateway leg's observation either way.
    pub(crate) async fn open(
        &self,
        overall: Duration,
    ) -> Result<(Dialed, GatewayObservation), Box<GatewayObservation>> {
        let deadlines = GatewayDeadlines {
            overall: Some(overall),
            ..self.deadlines
        };
        match gateway::open_channel(
            &self.spec.gateway,
            &self.target.host,
            self.target.port,
            &self.spec.auth,
            deadlines,
            &self.spec.trust,
        )
        .await
        {
            Ok((channel, obs)) => {
                let stream: Box<dyn ByteStream> = Box::new(channel);
                let dialed = Dialed {
                    stream,
                    sampler: None,
                    elapsed_ms: obs.elapsed_ms,
                };
                Ok((dialed, obs))
            }
            Err(GatewayFailure { observation }) => Err(observation),
        }
    }
}

impl Route for Gateway {
    fn observation(&self) -> RouteObservation {
        RouteObservation::Gateway {
            gateway: format!("{}:{}", self.spec.gateway.host, self.spec.gateway.port),
            target: format!("{}:{}", self.target.host, self.target.port),
        }
    }

    fn server_address(&self) -> SocketAddr {
        // The gateway resolves a name; the probes name the server by it (SNI, SPN), and an
        // address literal is the address.
        let ip = self
            .target
            .ip()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        SocketAddr::new(ip, self.target.port)
    }

    fn dial(&self, spec: DialSpec, deadline: Duration) -> Dialing<'_> {
        Box::pin(async move {
            if spec.mss.is_some() {
                return Err(RouteFailure::RouteFailed {
                    route: self.name(),
                    step: "dial".to_string(),
                    reason: "a gateway channel is not a TCP connection to the server: no MSS can be set on it".to_string(),
                    code: None,
                });
            }
            // The set-up has several phases, each under `deadline`; the whole is bounded by
            // the gateway client's own overall deadline.
            let overall = deadline.max(self.deadlines.per_phase) * 6;
            match self.open(overall).await {
                Ok((dialed, _)) => Ok(dialed),
                Err(obs) => Err(failure(self.name(), &obs)),
            }
        })
    }

    fn cost(&self) -> Cost {
        Cost {
            max_open: None,
            expensive: true,
        }
    }

    fn measures_path(&self) -> bool {
        false
    }
}

/// A set-up that failed, as the probe outcomes record it.
fn failure(route: String, obs: &GatewayObservation) -> RouteFailure {
    let (step, code) = match &obs.outcome {
        GatewayOutcome::Refused { phase, status }
        | GatewayOutcome::ChannelClosed { phase, status } => (phase.label(), Some(*status)),
        GatewayOutcome::Unreachable { phase }
        | GatewayOutcome::Malformed { phase, .. }
        | GatewayOutcome::HttpStatus { phase, .. }
        | GatewayOutcome::OutOfTime { phase } => (phase.label(), None),
        GatewayOutcome::Transport(t) => (transport_phase(t).label(), None),
        GatewayOutcome::TlsFailed => (GatewayPhase::TlsHandshake.label(), None),
        GatewayOutcome::NotAGateway { .. } => (GatewayPhase::Http.label(), None),
        GatewayOutcome::AuthRequired
        | GatewayOutcome::CredentialsWithheld { .. }
        | GatewayOutcome::AuthFailed { .. }
        | GatewayOutcome::AuthMethodUnsupported { .. } => (GatewayPhase::Logon.label(), None),
        GatewayOutcome::Open => ("channel create", None),
    };
    RouteFailure::RouteFailed {
        route,
        step: step.to_string(),
        reason: gateway::describe(obs),
        code,
    }
}

fn transport_phase(
    t: &Transport<GatewayPhase, rdpdoctor_observations::InPhase<GatewayPhase>>,
) -> GatewayPhase {
    match t {
        Transport::TimedOut { phase, .. } => *phase,
        Transport::Reset { at, .. } | Transport::Closed { at, .. } => at.phase,
    }
}
