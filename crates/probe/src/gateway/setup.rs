//! One channel's set-up in progress: the observation being recorded, the deadlines, and the
//! steps every HTTPS connection to the gateway shares (name, TCP, TLS and what the certificate
//! proves).

use super::conn::Conn;
use super::{certificate as chain_facts, GatewayAuth, GatewayDeadlines};
use crate::route::direct::connect_redialing;
use crate::trust::Trust;
use crate::{certificate, dns, elapsed_ms, tls};
use openssl::x509::X509;
use rdpdoctor_observations::{
    ConnectOutcome, GatewayObservation, GatewayOutcome, GatewayPhase, GatewayTls, HostKind,
    IdentityProof, PhaseTime, Target, TlsOutcome,
};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

pub(super) struct Setup<'a> {
    pub(super) obs: GatewayObservation,
    pub(super) gateway: &'a Target,
    pub(super) auth: &'a GatewayAuth,
    pub(super) trust: &'a Trust,
    per_phase: Duration,
    ends_at: Option<Instant>,
    /// The address that took the first connection; later connections (the IN channel) go there
    /// too.
    address: Option<SocketAddr>,
    connections: u8,
}

impl<'a> Setup<'a> {
    pub(super) fn new(
        gateway: &'a Target,
        target_host: &str,
        target_port: u16,
        auth: &'a GatewayAuth,
        deadlines: &GatewayDeadlines,
        trust: &'a Trust,
    ) -> Setup<'a> {
        Setup {
            obs: GatewayObservation::new(&gateway.host, gateway.port, target_host, target_port),
            gateway,
            auth,
            trust,
            per_phase: deadlines.per_phase,
            ends_at: deadlines.overall.map(|d| Instant::now() + d),
            address: None,
            connections: 0,
        }
    }

    /// The deadline of the next step in `phase`: the per-phase deadline, or what is left of
    /// the overall one. Past the overall deadline nothing starts.
    pub(super) fn deadline(&self, phase: GatewayPhase) -> Result<Duration, GatewayOutcome> {
        let left = match self.ends_at {
            Some(end) => self
                .per_phase
                .min(end.saturating_duration_since(Instant::now())),
            None => self.per_phase,
        };
        if left.is_zero() {
            return Err(GatewayOutcome::OutOfTime { phase });
        }
        Ok(left)
    }

    /// Records that `phase` ran from `start` until now.
    pub(super) fn timed(&mut self, phase: GatewayPhase, start: Instant) {
        self.obs.phases.push(PhaseTime {
            phase,
            elapsed_ms: elapsed_ms(start),
        });
    }

    /// The Host header: the gateway as the user named it, with the port when not 443.
    pub(super) fn host_header(&self) -> String {
        let host = match self.gateway.kind {
            HostKind::Ipv6 => format!("[{}]", self.gateway.host),
            _ => self.gateway.host.clone(),
        };
        if self.gateway.port == 443 {
            host
        } else {
            format!("{host}:{}", self.gateway.port)
        }
    }

    /// The name the certificate must carry and SNI names (none for an address).
    pub(super) fn name(&self) -> Option<&str> {
        (self.gateway.kind == HostKind::Name).then_some(self.gateway.host.as_str())
    }

    /// The gateway's name, then a TCP connection to the first address that takes one.
    pub(super) async fn reach(&mut self) -> Result<TcpStream, GatewayOutcome> {
        let start = Instant::now();
        let resolved = dns::resolve(self.gateway, self.deadline(GatewayPhase::Dns)?).await;
        let addresses = resolved.outcome.addresses().to_vec();
        self.obs.dns = Some(resolved);
        self.timed(GatewayPhase::Dns, start);
        if addresses.is_empty() {
            return Err(GatewayOutcome::Unreachable {
                phase: GatewayPhase::Dns,
            });
        }
        for ip in addresses {
            let address = SocketAddr::new(ip, self.gateway.port);
            if let Some(stream) = self.connect(address).await? {
                self.address = Some(address);
                return Ok(stream);
            }
        }
        Err(GatewayOutcome::Unreachable {
            phase: GatewayPhase::Connect,
        })
    }

    /// Another connection to the address that took the first one.
    pub(super) async fn reconnect(&mut self) -> Result<TcpStream, GatewayOutcome> {
        let Some(address) = self.address else {
            return Err(GatewayOutcome::Unreachable {
                phase: GatewayPhase::Connect,
            });
        };
        self.connect(address)
            .await?
            .ok_or(GatewayOutcome::Unreachable {
                phase: GatewayPhase::Connect,
            })
    }

    async fn connect(&mut self, address: SocketAddr) -> Result<Option<TcpStream>, GatewayOutcome> {
        let start = Instant::now();
        let deadline = self.deadline(GatewayPhase::Connect)?;
        // One SYN at a time: a gateway is not a listener with a two-connection backlog.
        let (attempt, stream) = connect_redialing(address, deadline, deadline).await;
        let connected = matches!(attempt.outcome, ConnectOutcome::Connected);
        self.obs.connects.push(attempt);
        self.timed(GatewayPhase::Connect, start);
        Ok(stream.filter(|_| connected))
    }

    /// TLS on `tcp`, and what the certificate proves; `phase` is the step it is part of (the
    /// IN channel's handshake belongs to that channel).
    pub(super) async fn secure(
        &mut self,
        tcp: TcpStream,
        phase: GatewayPhase,
    ) -> Result<(Conn, IdentityProof), GatewayOutcome> {
        let start = Instant::now();
        self.connections = self.connections.saturating_add(1);
        let number = self.connections;
        let deadline = self.deadline(phase)?;
        let result = tls::upgrade(Box::new(tcp), self.name(), deadline).await;
        let elapsed = elapsed_ms(start);
        let stream = match result {
            Ok(s) => s,
            Err(outcome) => {
                self.timed(GatewayPhase::TlsHandshake, start);
                self.obs.tls.push(GatewayTls {
                    connection: number,
                    elapsed_ms: elapsed,
                    outcome,
                    certificate: None,
                    chain_trusted: None,
                    name_matches: None,
                    identity: None,
                    proof: None,
                });
                return Err(GatewayOutcome::TlsFailed);
            }
        };
        let mut chain: Vec<X509> = tls::peer_chain(&stream);
        if chain.is_empty() {
            chain.extend(stream.ssl().peer_certificate());
        }
        let cipher = stream
            .ssl()
            .current_cipher()
            .map(|c| c.name().to_string())
            .unwrap_or_default();
        let proof = self.judge(number, elapsed, cipher, &chain);
        // The phase's time includes judging the certificate (verifications against the system
        // trust store); the TLS record's own time is the handshake alone.
        self.timed(GatewayPhase::TlsHandshake, start);
        Ok((Conn::new(stream, number), proof))
    }

    /// Records the chain's facts and returns what it proves.
    fn judge(&mut self, number: u8, elapsed: f64, cipher: String, chain: &[X509]) -> IdentityProof {
        let ip = self
            .address
            .map(|a| a.ip())
            .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
        let name = self.name().map(str::to_string);
        let certificate = chain
            .first()
            .and_then(|leaf| certificate::describe(leaf, chain.len()).ok());
        let (chain_trusted, name_matches) = chain_facts::facts(chain, name.as_deref(), ip);
        let identity = self.trust.identify(chain, name.as_deref(), ip);
        let proof = self.trust.judge(chain, name.as_deref(), ip);
        // Verification leaves OpenSSL errors behind on failure; they must not reach the next
        // read on this thread (see certificate.rs).
        drop(openssl::error::ErrorStack::get());
        self.obs.tls.push(GatewayTls {
            connection: number,
            elapsed_ms: elapsed,
            outcome: TlsOutcome::Completed { cipher },
            certificate,
            chain_trusted,
            name_matches,
            identity: Some(identity),
            proof: Some(proof.clone()),
        });
        proof
    }
}
