//! The recorded KDC network client: one request to one target under the caller's budget, the
//! answer decoded, and every exchange kept for the observations, whoever drives it (the readiness
//! checks here, or sspi's Kerberos package through `SspiNetworkClient`).

use super::target::KdcTarget;
use super::transport::{self, Failure};
use super::{proxy, Budget};
use crate::{elapsed_ms, excerpt_hex};
use rdpdoctor_observations::{KdcExchange, KdcOutcome, KdcStep, KrbErrorFacts};
use rdpdoctor_wire::kerberos::{code, decode_reply, KdcReply};
use std::time::Instant;

/// What a request is, for the record (the bytes themselves are never kept).
#[derive(Clone, Debug)]
pub struct Request {
    pub step: KdcStep,
    /// "AS-REQ" or "TGS-REQ".
    pub kind: &'static str,
    pub client: String,
    pub service: String,
    /// The realm the request is for (a KDC proxy needs it, MS-KKDCP 3.1.5.1).
    pub realm: String,
    /// Whether it carries PA-ENC-TIMESTAMP.
    pub preauth: bool,
    /// The KDC's name, as found (a SRV target, `--kdc`, the proxy URL).
    pub kdc: String,
}

/// Sends Kerberos requests and records every exchange.
pub struct KdcClient {
    budget: Budget,
    exchanges: Vec<KdcExchange>,
}

impl KdcClient {
    pub fn new(budget: Budget) -> KdcClient {
        KdcClient {
            budget,
            exchanges: Vec::new(),
        }
    }

    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Every exchange so far, in order.
    pub fn exchanges(&self) -> &[KdcExchange] {
        &self.exchanges
    }

    pub fn into_exchanges(self) -> Vec<KdcExchange> {
        self.exchanges
    }

    /// Sends `message` (bare, without the TCP length) to `target` and returns the answer,
    /// decoded, with its bytes; `None` when there was none (the exchange records why).
    pub async fn send(
        &mut self,
        request: &Request,
        target: &KdcTarget,
        message: &[u8],
    ) -> Option<(KdcReply, Vec<u8>)> {
        let start = Instant::now();
        let result = if self.budget.expired() {
            Err(Failure::TimedOut("the check's overall deadline"))
        } else {
            match target {
                KdcTarget::Tcp(a) => transport::tcp(*a, message, &self.budget).await,
                KdcTarget::Udp(a) => transport::udp(*a, message, &self.budget).await,
                KdcTarget::Proxy(p) => match proxy::resolve(p, &self.budget).await {
                    Ok(address) => {
                        proxy::round_trip(p, address, message, &request.realm, &self.budget).await
                    }
                    Err(f) => Err(f),
                },
            }
        };
        let received_at = jiff::Timestamp::now();
        let (outcome, reply) = match result {
            Ok(bytes) => match decode_reply(&bytes) {
                Ok(reply) => (outcome_of(&reply, received_at), Some((reply, bytes))),
                Err(e) => (
                    KdcOutcome::Malformed {
                        reason: e.to_string(),
                        excerpt_hex: excerpt_hex(&bytes, 32),
                    },
                    None,
                ),
            },
            Err(f) => (failure_outcome(f), None),
        };
        self.exchanges.push(KdcExchange {
            step: request.step,
            kdc: request.kdc.clone(),
            address: target.address(),
            transport: target.transport(),
            request: request.kind.to_string(),
            client: request.client.clone(),
            service: request.service.clone(),
            preauth: request.preauth,
            elapsed_ms: elapsed_ms(start),
            outcome,
        });
        reply
    }

    /// UDP first, then TCP when the KDC says the answer is too big for UDP
    /// (KRB_ERR_RESPONSE_TOO_BIG, RFC 4120 7.2.1), as a client does.
    pub async fn send_udp_then_tcp(
        &mut self,
        request: &Request,
        address: std::net::SocketAddr,
        message: &[u8],
    ) -> Option<(KdcReply, Vec<u8>)> {
        let answer = self.send(request, &KdcTarget::Udp(address), message).await;
        match &answer {
            Some((KdcReply::Error(e), _)) if e.code == code::KRB_ERR_RESPONSE_TOO_BIG => {
                self.send(request, &KdcTarget::Tcp(address), message).await
            }
            _ => answer,
        }
    }
}

fn outcome_of(reply: &KdcReply, received_at: jiff::Timestamp) -> KdcOutcome {
    match reply {
        KdcReply::AsRep(rep) => KdcOutcome::Ticket {
            message: "AS-REP".to_string(),
            received_at,
            ticket_etype: Some(rdpdoctor_wire::kerberos::ticket_etype(rep)),
        },
        KdcReply::TgsRep { ticket_etype, .. } => KdcOutcome::Ticket {
            message: "TGS-REP".to_string(),
            received_at,
            ticket_etype: Some(*ticket_etype),
        },
        KdcReply::Error(e) => KdcOutcome::Error {
            received_at,
            error: KrbErrorFacts {
                code: e.code,
                kdc_time: jiff::Timestamp::new(e.stime, i32::try_from(e.susec).unwrap_or(0) * 1000)
                    .unwrap_or(received_at),
                e_text: e.e_text.clone().filter(|t| !t.is_empty()),
                service: e.sname.clone(),
                etypes: e.etype_info.iter().map(|i| i.etype).collect(),
                pa_types: e.pa_types.clone(),
                nt_status: e.nt_status,
            },
        },
    }
}

fn failure_outcome(f: Failure) -> KdcOutcome {
    match f {
        Failure::TimedOut(phase) => KdcOutcome::TimedOut {
            phase: phase.to_string(),
        },
        Failure::Refused => KdcOutcome::Refused,
        Failure::Unreachable(error) => KdcOutcome::Unreachable { error },
        Failure::Closed { bytes, reset } => KdcOutcome::Closed { bytes, reset },
        Failure::Malformed {
            reason,
            excerpt_hex,
        } => KdcOutcome::Malformed {
            reason,
            excerpt_hex,
        },
        Failure::Failed(reason) => KdcOutcome::Failed { reason },
    }
}
