//! The recorded KDC client behind sspi 0.23's `AsyncNetworkClient`, for a CredSSP logon that
//! drives sspi's Kerberos (or Negotiate) package with `resolve_with_async_client`.
//!
//! sspi's conventions (sspi 0.23 src/kerberos/mod.rs `send_to`, and its own reqwest client): a
//! `tcp://` request's data carries the 4-byte length and so must the answer; a `udp://` request
//! is bare and the answer gets the 4-byte length in front; an `https://` request is a
//! KDC-PROXY-MESSAGE and the answer must be one. Every request goes through [`KdcClient`], so it
//! is bounded by the check's deadlines and recorded as a [`KdcStep::Logon`] exchange; a `udp://`
//! answer KRB_ERR_RESPONSE_TOO_BIG is retried over TCP (RFC 4120 7.2.1). Plain `http://` is
//! refused: MS-KKDCP is HTTPS only.

use super::client::{KdcClient, Request};
use super::target::{KdcTarget, ProxyUrl};
use rdpdoctor_observations::{DnsOutcome, KdcExchange, KdcOutcome, KdcStep, Target};
use rdpdoctor_wire::kerberos::{
    kkdcp_reply, kkdcp_request, summarize_request, tcp_frame, tcp_frame_length,
};
use sspi::network_client::AsyncNetworkClient;
use sspi::{Error, ErrorKind, NetworkProtocol, NetworkRequest};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

/// sspi's network client, recorded. Take the exchanges with [`SspiNetworkClient::into_exchanges`]
/// once the logon is done.
pub struct SspiNetworkClient {
    client: KdcClient,
}

impl SspiNetworkClient {
    pub fn new(client: KdcClient) -> SspiNetworkClient {
        SspiNetworkClient { client }
    }

    pub fn exchanges(&self) -> &[KdcExchange] {
        self.client.exchanges()
    }

    pub fn into_exchanges(self) -> Vec<KdcExchange> {
        self.client.into_exchanges()
    }

    /// The exchanges so far, leaving none recorded.
    pub fn take_exchanges(&mut self) -> Vec<KdcExchange> {
        self.client.take_exchanges()
    }

    pub(crate) async fn send_request(&mut self, request: &NetworkRequest) -> sspi::Result<Vec<u8>> {
        let url = &request.url;
        let host = url
            .host_str()
            .ok_or_else(|| no_kdc(format!("the KDC URL {url} names no host")))?;
        let port = url.port().unwrap_or(88);
        match request.protocol {
            NetworkProtocol::Tcp => {
                let (header, bare) = request
                    .data
                    .split_first_chunk::<4>()
                    .ok_or_else(|| no_kdc("a TCP request without its length".to_string()))?;
                tcp_frame_length(*header).map_err(|e| no_kdc(e.to_string()))?;
                let address = self.resolve(host, port).await?;
                let meta = describe(bare, url.as_str());
                let reply = self
                    .client
                    .send(&meta, &KdcTarget::Tcp(address), bare)
                    .await;
                self.framed(reply)
            }
            NetworkProtocol::Udp => {
                let address = self.resolve(host, port).await?;
                let meta = describe(&request.data, url.as_str());
                let reply = self
                    .client
                    .send_udp_then_tcp(&meta, address, &request.data)
                    .await;
                self.framed(reply)
            }
            NetworkProtocol::Https => {
                let proxy = ProxyUrl::parse(url.as_str()).map_err(no_kdc)?;
                let (bare, realm) =
                    kkdcp_request(&request.data).map_err(|e| no_kdc(e.to_string()))?;
                let mut meta = describe(&bare, url.as_str());
                if let Some(r) = realm {
                    meta.realm = r;
                }
                let reply = self
                    .client
                    .send(&meta, &KdcTarget::Proxy(proxy), &bare)
                    .await;
                let (_, bytes) = reply.ok_or_else(|| self.why())?;
                kkdcp_reply(&bytes).map_err(|e| no_kdc(e.to_string()))
            }
            NetworkProtocol::Http => Err(no_kdc(format!(
                "{url}: a KDC proxy is spoken over HTTPS only (MS-KKDCP 2.1)"
            ))),
        }
    }

    async fn resolve(&self, host: &str, port: u16) -> sspi::Result<SocketAddr> {
        let text = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        let target = Target::parse(&text, port).map_err(|e| no_kdc(e.to_string()))?;
        let dns = crate::dns::resolve(&target, self.client.budget().phase()).await;
        match dns.outcome {
            DnsOutcome::Resolved { addresses } | DnsOutcome::Literal { addresses } => addresses
                .first()
                .map(|ip| SocketAddr::new(*ip, port))
                .ok_or_else(|| no_kdc(format!("the KDC {host} has no address"))),
            DnsOutcome::TimedOut => Err(no_kdc(format!("resolving the KDC {host} timed out"))),
            DnsOutcome::Failed { error } => {
                Err(no_kdc(format!("the KDC {host} does not resolve: {error}")))
            }
        }
    }

    /// The last exchange's failure, for sspi (and the logon's reason for falling back).
    fn why(&self) -> Error {
        let what = self
            .client
            .exchanges()
            .last()
            .map(|e| failure(&e.outcome))
            .unwrap_or_else(|| "nothing was sent".to_string());
        no_kdc(format!("the KDC did not answer: {what}"))
    }

    /// An answer as sspi wants it over TCP and UDP: with the 4-byte length.
    fn framed(
        &self,
        reply: Option<(rdpdoctor_wire::kerberos::KdcReply, Vec<u8>)>,
    ) -> sspi::Result<Vec<u8>> {
        let (_, bytes) = reply.ok_or_else(|| self.why())?;
        tcp_frame(&bytes).map_err(|e| no_kdc(e.to_string()))
    }
}

fn no_kdc(description: String) -> Error {
    Error::new(ErrorKind::NoAuthenticatingAuthority, description)
}

fn describe(bare: &[u8], kdc: &str) -> Request {
    let s = summarize_request(bare);
    Request {
        step: KdcStep::Logon,
        kind: s.as_ref().map_or("request", |s| s.kind),
        client: s
            .as_ref()
            .and_then(|s| s.client.clone().map(|c| format!("{c}@{}", s.realm)))
            .unwrap_or_default(),
        service: s.as_ref().map(|s| s.service.clone()).unwrap_or_default(),
        realm: s.as_ref().map(|s| s.realm.clone()).unwrap_or_default(),
        preauth: s.as_ref().is_some_and(|s| s.preauth),
        kdc: kdc.to_string(),
    }
}

/// Why an exchange got no Kerberos answer, in words.
fn failure(outcome: &KdcOutcome) -> String {
    match outcome {
        KdcOutcome::TimedOut { phase } => format!("{phase} timed out"),
        KdcOutcome::Refused => "connection refused".to_string(),
        KdcOutcome::Unreachable { error } => format!("unreachable: {error}"),
        KdcOutcome::Closed { bytes, reset } => format!(
            "the KDC {} the connection after {bytes} bytes",
            if *reset { "reset" } else { "closed" }
        ),
        KdcOutcome::Malformed { reason, .. } | KdcOutcome::Failed { reason } => reason.clone(),
        KdcOutcome::Ticket { .. } | KdcOutcome::Error { .. } => "an answer".to_string(),
    }
}

impl AsyncNetworkClient for SspiNetworkClient {
    fn send<'a>(
        &'a mut self,
        network_request: &'a NetworkRequest,
    ) -> Pin<Box<dyn Future<Output = sspi::Result<Vec<u8>>> + 'a>> {
        Box::pin(self.send_request(network_request))
    }
}
