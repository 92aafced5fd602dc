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

    /// The exchanges so far, leaving none recorded.
    pub fn take_exchanges(&mut self) -> Vec<KdcExchange> {
        std::mem::take(&mut self.exchanges)
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

#[cfg(test)]
mod tests {
    //! The client against KDCs that misbehave: in-process servers on 127.0.0.1 that answer with
    //! what a broken or hostile KDC (or a middlebox on port 88) sends.

    use super::*;
    use crate::kdc::SspiNetworkClient;
    use rdpdoctor_observations::KdcTransport;
    use sspi::network_client::AsyncNetworkClient;
    use std::net::SocketAddr;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, UdpSocket};

    /// Samba's KDC_ERR_S_PRINCIPAL_UNKNOWN (lab capture, see wire's reply tests), and the same
    /// with error-code 52, KRB_ERR_RESPONSE_TOO_BIG.
    const UNKNOWN: &str = "7e8183308180a003020105a10302011ea411180f32303236313230373135303930335aa50502030c49e8a603020107a70a1b084c41422e54455354a8133011a003020101a10a30081b065244502d4b24a90a1b084c41422e54455354aa283026a003020102a11f301d1b075445524d5352561b127264702d616c6961732e6c61622e74657374";

    fn too_big() -> Vec<u8> {
        hex::decode(UNKNOWN.replace("a603020107", "a603020134")).unwrap()
    }

    fn request() -> Request {
        Request {
            step: KdcStep::Probe,
            kind: "AS-REQ",
            client: "kuser@LAB.TEST".to_string(),
            service: "krbtgt/LAB.TEST".to_string(),
            realm: "LAB.TEST".to_string(),
            preauth: false,
            kdc: "test-kdc".to_string(),
        }
    }

    fn budget(ms: u64) -> Budget {
        Budget::new(Duration::from_millis(ms), None)
    }

    /// A TCP "KDC" that reads the request and then sends `answer` (and closes, or stays silent).
    async fn tcp_kdc(answer: Vec<u8>, then_hang: bool) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(&answer).await;
                if then_hang {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            }
        });
        address
    }

    fn framed(bytes: &[u8]) -> Vec<u8> {
        rdpdoctor_wire::kerberos::tcp_frame(bytes).unwrap()
    }

    async fn one(target: KdcTarget, ms: u64) -> (Option<KdcReply>, KdcExchange) {
        let mut c = KdcClient::new(budget(ms));
        let reply = c
            .send(&request(), &target, b"\x6a\x00")
            .await
            .map(|(r, _)| r);
        (reply, c.into_exchanges().remove(0))
    }

    #[tokio::test]
    async fn silence_a_hostile_length_a_close_and_garbage_are_recorded_never_a_hang() {
        let silent = tcp_kdc(Vec::new(), true).await;
        let (r, e) = one(KdcTarget::Tcp(silent), 200).await;
        assert!(r.is_none());
        assert_eq!(
            e.outcome,
            KdcOutcome::TimedOut {
                phase: "receive".to_string()
            }
        );
        assert!(e.elapsed_ms < 1000.0, "{}", e.elapsed_ms);

        for (answer, why) in [
            (vec![0x80, 0, 0, 1], "reserved high bit"),
            (vec![0x00, 0x10, 0, 0, 0x7e], "more than the"),
            (framed(b"not kerberos at all"), "does not decode"),
        ] {
            let kdc = tcp_kdc(answer, true).await;
            let (r, e) = one(KdcTarget::Tcp(kdc), 500).await;
            assert!(r.is_none());
            match &e.outcome {
                KdcOutcome::Malformed { reason, .. } => assert!(reason.contains(why), "{reason}"),
                other => panic!("{why}: {other:?}"),
            }
        }
        let closing = tcp_kdc(vec![0, 0], false).await;
        let (_, e) = one(KdcTarget::Tcp(closing), 500).await;
        assert!(
            matches!(e.outcome, KdcOutcome::Closed { bytes: 2, .. }),
            "{:?}",
            e.outcome
        );
        // Nothing listens: refused at once.
        let gone = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let (_, e) = one(KdcTarget::Tcp(gone), 500).await;
        assert_eq!(e.outcome, KdcOutcome::Refused);
        // Past the overall deadline nothing is sent.
        let mut c = KdcClient::new(Budget::new(
            Duration::from_secs(5),
            Some(std::time::Instant::now()),
        ));
        assert!(c
            .send(&request(), &KdcTarget::Tcp(silent), b"\x6a\x00")
            .await
            .is_none());
        assert!(
            matches!(&c.exchanges()[0].outcome, KdcOutcome::TimedOut { phase } if phase.contains("overall"))
        );
    }

    /// RFC 4120 7.2.1: KRB_ERR_RESPONSE_TOO_BIG over UDP, then the same request over TCP.
    #[tokio::test]
    async fn udp_too_big_falls_back_to_tcp_and_both_are_recorded() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = tcp.local_addr().unwrap();
        let udp = UdpSocket::bind(address).await.unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            if let Ok((_, peer)) = udp.recv_from(&mut buf).await {
                let _ = udp.send_to(&too_big(), peer).await;
            }
        });
        let answer = framed(&hex::decode(UNKNOWN).unwrap());
        tokio::spawn(async move {
            if let Ok((mut s, _)) = tcp.accept().await {
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(&answer).await;
            }
        });
        let mut c = KdcClient::new(budget(1000));
        let reply = c.send_udp_then_tcp(&request(), address, b"\x6a\x00").await;
        assert!(matches!(reply, Some((KdcReply::Error(ref e), _)) if e.code == 7));
        let got: Vec<(KdcTransport, Option<u32>)> = c
            .exchanges()
            .iter()
            .map(|e| (e.transport, e.outcome.error().map(|x| x.code)))
            .collect();
        assert_eq!(
            got,
            [(KdcTransport::Udp, Some(52)), (KdcTransport::Tcp, Some(7))]
        );
    }

    /// sspi's conventions: tcp:// requests and answers carry the 4-byte length, udp:// answers
    /// get it; every request is recorded as the logon's.
    #[tokio::test]
    async fn sspi_requests_go_through_the_recorded_client() {
        let kdc = tcp_kdc(framed(&hex::decode(UNKNOWN).unwrap()), false).await;
        let mut client = SspiNetworkClient::new(KdcClient::new(budget(1000)));
        let as_req = rdpdoctor_wire::kerberos::as_req(
            &rdpdoctor_wire::kerberos::AsRequest {
                client: rdpdoctor_wire::kerberos::Principal::user("kuser"),
                realm: "LAB.TEST".to_string(),
                service: rdpdoctor_wire::kerberos::Principal::service(
                    "TERMSRV",
                    "rdp-alias.lab.test",
                ),
                nonce: 1,
                etypes: vec![18],
            },
            None,
        )
        .unwrap();
        let request = sspi::NetworkRequest {
            protocol: sspi::NetworkProtocol::Tcp,
            url: url::Url::parse(&format!("tcp://{kdc}")).unwrap(),
            data: framed(&as_req),
        };
        let answer = client.send(&request).await.unwrap();
        assert_eq!(answer, framed(&hex::decode(UNKNOWN).unwrap()));
        let e = &client.exchanges()[0];
        assert_eq!(
            (e.step, e.request.as_str(), e.service.as_str()),
            (KdcStep::Logon, "AS-REQ", "TERMSRV/rdp-alias.lab.test")
        );
        assert_eq!(e.client, "kuser@LAB.TEST");
        // Plain HTTP to a KDC proxy is refused before anything is sent.
        let http = sspi::NetworkRequest {
            protocol: sspi::NetworkProtocol::Http,
            url: url::Url::parse("http://127.0.0.1:1/KdcProxy").unwrap(),
            data: Vec::new(),
        };
        assert!(client.send(&http).await.is_err());
        assert_eq!(client.exchanges().len(), 1);
    }
}
