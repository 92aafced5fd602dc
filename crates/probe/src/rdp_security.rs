//! Standard RDP Security probe (MS-RDPBCGR 5.3): what a server that accepts Standard RDP Security
//! enforces. An MCS Connect Initial offering every encryption method, or one method each (40-bit,
//! 56-bit, 128-bit, FIPS), as nmap's rdp-enum-encryption does. The MCS Connect Response tells the
//! server's RDP version, the level and method it chose, and its certificate.
//!
//! The offers ride on the negotiation connections of `check` whose request was answered with
//! PROTOCOL_RDP (or without negotiation data); `complete` adds connections of their own only for
//! offers that decide findings (no request selected TLS) and that nothing carried.

use crate::framed::{reset_by, FrameError, FrameReader, Framing};
use crate::host::Host;
use crate::open::{open, Accept, Opening};
use crate::{certificate, elapsed_ms, excerpt_hex};
use openssl::x509::X509;
use rdpdoctor_observations::{
    encryption, protocol, NegotiationAttempt, NegotiationOutcome, RdpSecurityAttempt,
    RdpSecurityObservation, RdpSecurityOutcome, RdpSecurityPhase, ServerCertificateFacts,
    ServerSecurity, Transport,
};
use rdpdoctor_wire::mcs::{self, ConnectResponse, ServerCertificate};
use std::io::ErrorKind;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::task::JoinSet;

/// The offers, in the order they are recorded: everything (what mstsc sends), then each method.
pub(crate) const OFFERS: [u32; 5] = [
    encryption::ALL,
    encryption::BIT_40,
    encryption::BIT_56,
    encryption::BIT_128,
    encryption::FIPS,
];

/// Bytes of an unexpected answer kept as evidence.
const EXCERPT: usize = 48;

/// Whether the negotiation facts show a server that speaks Standard RDP Security.
pub(crate) fn speaks_standard_rdp(negotiation: &[NegotiationAttempt]) -> bool {
    negotiation.iter().any(|a| {
        a.requested == protocol::RDP
            && matches!(
                a.outcome,
                NegotiationOutcome::Selected {
                    protocol: protocol::RDP,
                    ..
                } | NegotiationOutcome::NoNegotiationData
            )
    })
}

/// Completes the Standard RDP Security facts from the offers the negotiation connections carried
/// (`carried`): when no request selected TLS, every offer decides findings, so the ones no
/// negotiation connection carried get a connection of their own; when TLS works, the offers that
/// rode along for free are all that is kept (they only describe clients without TLS).
pub(crate) async fn complete(
    host: &Arc<Host>,
    negotiation: &[NegotiationAttempt],
    mut carried: Vec<RdpSecurityAttempt>,
) -> Option<RdpSecurityObservation> {
    let tls_selected = negotiation.iter().any(|a| a.outcome.selects_tls());
    if !tls_selected && speaks_standard_rdp(negotiation) {
        let mut set = JoinSet::new();
        for offered in OFFERS
            .iter()
            .copied()
            .filter(|o| !carried.iter().any(|a| a.offered == *o))
        {
            let h = host.clone();
            set.spawn(async move { attempt(&h, offered).await });
        }
        while let Some(joined) = set.join_next().await {
            if let Ok(a) = joined {
                carried.push(a);
            }
        }
    }
    if carried.is_empty() {
        return None;
    }
    carried.sort_by_key(|a| OFFERS.iter().position(|o| *o == a.offered));
    Some(RdpSecurityObservation { attempts: carried })
}

/// One connection: X.224 for PROTOCOL_RDP, then the Connect Initial offering `offered`.
pub(crate) async fn attempt(host: &Host, offered: u32) -> RdpSecurityAttempt {
    let t = Instant::now();
    let opening = Opening::new(protocol::RDP).accepting(Accept::StandardRdp);
    let outcome = match open(host, opening).await.ready() {
        Err(failure) => RdpSecurityOutcome::Open(failure),
        Ok(ready) => {
            let mut stream = ready.stream.into_io();
            mcs_exchange(&mut stream, offered, protocol::RDP, host.timeout()).await
        }
    };
    RdpSecurityAttempt {
        offered,
        elapsed_ms: elapsed_ms(t),
        outcome,
    }
}

/// The MCS Connect Initial offering `offered` and its answer, on a stream whose X.224 exchange
/// (for `requested`) selected Standard RDP Security or got no negotiation data. The negotiation
/// probes of `check` carry it on their own connections when the server answers that way, so a
/// Standard RDP Security server is probed without connections of its own.
pub(crate) async fn mcs_exchange<S>(
    stream: &mut S,
    offered: u32,
    requested: u32,
    deadline: Duration,
) -> RdpSecurityOutcome
where
    S: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    // clientRequestedProtocols must repeat the X.224 request (MS-RDPBCGR 2.2.1.3.2), or the
    // server may drop the connection.
    let request = match mcs::connect_initial(offered, requested) {
        Ok(r) => r,
        Err(e) => {
            return RdpSecurityOutcome::Error {
                reason: e.to_string(),
            }
        }
    };
    match tokio::time::timeout(deadline, stream.write_all(&request)).await {
        Err(_) => {
            return RdpSecurityOutcome::Transport(Transport::TimedOut {
                phase: RdpSecurityPhase::McsConnect,
                bytes: 0,
            })
        }
        Ok(Err(e)) => return io_failure(e.kind(), 0),
        Ok(Ok(())) => {}
    }
    let packet = match read_tpkt(stream, deadline).await {
        Ok(p) => p,
        Err(outcome) => return outcome,
    };
    match mcs::decode_connect_response(&packet) {
        ConnectResponse::Accepted(s) => RdpSecurityOutcome::Accepted(ServerSecurity {
            rdp_version: s.rdp_version,
            client_requested_protocols: s.client_requested_protocols,
            encryption_method: s.encryption_method,
            encryption_level: s.encryption_level,
            server_random_len: s.server_random_len,
            certificate: s.certificate.map(certificate_facts),
            decoder_note: s
                .ironrdp_refused
                .map(|e| format!("ironrdp-pdu refused this response ({e}); read by rdpdoctor")),
        }),
        ConnectResponse::Refused { result } => RdpSecurityOutcome::McsRefused { result },
        ConnectResponse::Disconnected { reason } => RdpSecurityOutcome::Disconnected { reason },
        ConnectResponse::Malformed(reason) => RdpSecurityOutcome::NotResponse {
            reason,
            excerpt_hex: excerpt_hex(&packet, EXCERPT),
        },
    }
}

/// Reads exactly one TPKT, bounded by its announced length (at most 64 KiB) and the deadline;
/// never past it: the rest of the stream is not ours to judge.
async fn read_tpkt<S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
    deadline: Duration,
) -> Result<Vec<u8>, RdpSecurityOutcome> {
    let phase = RdpSecurityPhase::McsConnect;
    let not_response = |reason: String, seen: &[u8]| RdpSecurityOutcome::NotResponse {
        reason,
        excerpt_hex: excerpt_hex(seen, EXCERPT),
    };
    let e = match FrameReader::exact(Framing::Tpkt)
        .read(stream, deadline)
        .await
    {
        Ok(packet) => return Ok(packet),
        Err(e) => e,
    };
    let bytes = e.seen().len();
    Err(match (e.ended(false), e) {
        (Some(true), _) => RdpSecurityOutcome::Transport(Transport::reset(phase, bytes)),
        (Some(false), _) => RdpSecurityOutcome::Transport(Transport::closed(phase, bytes)),
        (None, FrameError::NotFramed { seen, .. }) => {
            not_response("the answer is not a TPKT".into(), &seen)
        }
        (None, FrameError::BadLength { announced, seen }) => {
            not_response(format!("TPKT header announces {announced} bytes"), &seen)
        }
        (None, FrameError::TimedOut { .. }) => {
            RdpSecurityOutcome::Transport(Transport::TimedOut { phase, bytes })
        }
        // A TPKT length field cannot announce more than the bound.
        (None, e) => not_response(e.to_string(), e.seen()),
    })
}

/// A failed write of the Connect Initial.
fn io_failure(kind: ErrorKind, bytes: usize) -> RdpSecurityOutcome {
    let phase = RdpSecurityPhase::McsConnect;
    if reset_by(kind, false) {
        RdpSecurityOutcome::Transport(Transport::reset(phase, bytes))
    } else {
        RdpSecurityOutcome::Transport(Transport::closed(phase, bytes))
    }
}

/// The facts of a Server Certificate; an X.509 leaf is read like the TLS one.
fn certificate_facts(cert: ServerCertificate) -> ServerCertificateFacts {
    let key_size = cert.key_size();
    match cert {
        ServerCertificate::Proprietary {
            temporary,
            key_bits,
            public_exponent,
            signature_len,
            ..
        } => ServerCertificateFacts::Proprietary {
            temporary,
            key_bits: key_size.unwrap_or(key_bits),
            public_exponent,
            signature_len,
        },
        ServerCertificate::X509 {
            temporary,
            certificates,
        } => {
            let chain_len = certificates.len();
            let leaf = certificates
                .last()
                .ok_or_else(|| "empty chain".to_string())
                .and_then(|der| X509::from_der(der).map_err(|e| format!("not DER X.509: {e}")))
                .and_then(|x| certificate::describe(&x, chain_len));
            let (leaf, error) = match leaf {
                Ok(c) => (Some(Box::new(c)), None),
                Err(e) => (None, Some(e)),
            };
            ServerCertificateFacts::X509 {
                temporary,
                chain_len,
                leaf,
                error,
            }
        }
        ServerCertificate::Unreadable {
            version,
            length,
            reason,
        } => ServerCertificateFacts::Unreadable {
            version,
            length,
            reason,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::scripted::{script, Scripted};
    use rdpdoctor_observations::NegFailureCode;
    use tokio::io::AsyncReadExt;

    /// A server that answers the CR with `cc` and the Connect Initial with `answer`, reached
    /// over an in-process pipe.
    async fn run(cc: &'static [u8], answer: &'static [u8], close: bool) -> RdpSecurityOutcome {
        let server = script(move |mut server| async move {
            let mut buf = [0u8; 1024];
            let _ = server.read(&mut buf).await;
            let _ = server.write_all(cc).await;
            let _ = server.read(&mut buf).await;
            let _ = server.write_all(answer).await;
            if !close {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        });
        let options = crate::ProbeOptions {
            timeout: Duration::from_millis(300),
            ..crate::ProbeOptions::default()
        };
        let route = std::sync::Arc::new(Scripted::new("mcs", server));
        let host = Host::new(route.clone(), None, &options, 0.0);
        let outcome = attempt(&host, encryption::ALL).await.outcome;
        assert_eq!(route.dials(), 1);
        outcome
    }

    const RSP_RDP: &[u8] =
        b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x01\x08\x00\x00\x00\x00\x00";
    const LEGACY: &[u8] = b"\x03\x00\x00\x0b\x06\xd0\x00\x00\x12\x34\x00";

    #[tokio::test]
    async fn records_refusals_as_facts() {
        assert_eq!(
            run(RSP_RDP, b"\x03\x00\x00\x09\x02\xf0\x80\x21\x80", true).await,
            RdpSecurityOutcome::Disconnected { reason: 3 }
        );
        assert_eq!(
            run(
                LEGACY,
                b"\x03\x00\x00\x0d\x02\xf0\x80\x7f\x66\x03\x0a\x01\x0e",
                true
            )
            .await,
            RdpSecurityOutcome::McsRefused { result: 14 }
        );
        assert_eq!(
            run(LEGACY, b"", true).await,
            RdpSecurityOutcome::Transport(Transport::closed(RdpSecurityPhase::McsConnect, 0))
        );
        assert_eq!(
            run(RSP_RDP, b"\x03\x00\x01\x00\x02", false).await,
            RdpSecurityOutcome::Transport(Transport::TimedOut {
                phase: RdpSecurityPhase::McsConnect,
                bytes: 5
            })
        );
        assert!(matches!(
            run(RSP_RDP, b"HTTP/1.1 400 Bad Request\r\n", true).await,
            RdpSecurityOutcome::NotResponse { .. }
        ));
        // A server that selects TLS for a Standard-RDP-only request: nothing to ask.
        assert!(matches!(
            run(
                b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x01\x08\x00\x01\x00\x00\x00",
                b"",
                true
            )
            .await,
            RdpSecurityOutcome::Open(rdpdoctor_observations::OpenFailure::Negotiation(_))
        ));
    }

    #[test]
    fn runs_only_for_servers_that_speak_standard_rdp() {
        let attempt = |requested, outcome| NegotiationAttempt {
            requested,
            elapsed_ms: 1.0,
            outcome,
            implied_by: None,
        };
        let rdp = NegotiationOutcome::Selected {
            protocol: protocol::RDP,
            flags: 1,
        };
        assert!(speaks_standard_rdp(&[attempt(0, rdp.clone())]));
        assert!(speaks_standard_rdp(&[attempt(
            0,
            NegotiationOutcome::NoNegotiationData
        )]));
        // Only the Standard-RDP-only request counts.
        assert!(!speaks_standard_rdp(&[attempt(1, rdp)]));
        assert!(!speaks_standard_rdp(&[attempt(
            0,
            NegotiationOutcome::Failure {
                code: NegFailureCode::SslRequiredByServer
            }
        )]));
    }
}
