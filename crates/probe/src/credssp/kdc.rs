//! The network client of the security package: the KDC round trips a Kerberos logon makes (AS
//! and TGS exchanges, RFC 4120; through a KDC proxy, MS-KKDCP), which `sspi` hands out as
//! `NetworkRequest`s instead of sending them itself. NTLM makes none.
//!
//! `sspi`'s own network client is not used: it binds its UDP socket to 127.0.0.1 and waits a fixed
//! 5 s (lab/kerberos/OBSERVED.md). The recorded client of the Kerberos readiness checks
//! (`crate::kdc::SspiNetworkClient`) is a [`KdcClient`]: it sends each request with the check's
//! deadlines and, seeing every reply, records the KRB-ERROR numbers `sspi` does not pass on.

use sspi::NetworkRequest;
use std::future::Future;
use std::pin::Pin;

/// A reply on its way.
pub(crate) type Reply<'a> = Pin<Box<dyn Future<Output = sspi::Result<Vec<u8>>> + Send + 'a>>;

/// Sends the package's requests to the KDC.
pub(crate) trait KdcClient: Send {
    /// Sends `request` (its protocol, URL and bytes) and returns the KDC's reply bytes.
    fn send<'a>(&'a mut self, request: &'a NetworkRequest) -> Reply<'a>;

    /// The exchanges recorded so far (none for a client that records nothing), taken.
    fn take_exchanges(&mut self) -> Vec<rdpdoctor_observations::KdcExchange> {
        Vec::new()
    }
}

/// The client of a package that needs no KDC (NTLM): a request reaching it is answered with an
/// error that says so, and the package fails with it.
pub(crate) struct NoKdc;

impl KdcClient for NoKdc {
    fn send<'a>(&'a mut self, request: &'a NetworkRequest) -> Reply<'a> {
        let url = request.url.to_string();
        Box::pin(async move {
            Err(sspi::Error::new(
                sspi::ErrorKind::NoAuthenticatingAuthority,
                format!("the package asked for the KDC at {url}, and this logon has no KDC client"),
            ))
        })
    }
}

/// The recorded KDC client of the Kerberos readiness checks (`crate::kdc`): TCP, UDP (with the
/// fall-back to TCP) and KDC proxies, under the check's deadlines, every exchange recorded. A
/// Kerberos package's logon takes it here.
impl KdcClient for crate::kdc::SspiNetworkClient {
    fn send<'a>(&'a mut self, request: &'a NetworkRequest) -> Reply<'a> {
        Box::pin(self.send_request(request))
    }

    fn take_exchanges(&mut self) -> Vec<rdpdoctor_observations::KdcExchange> {
        crate::kdc::SspiNetworkClient::take_exchanges(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credssp::package::{PackageStep, Stepped};
    use sspi::generator::Generator;
    use sspi::NetworkProtocol;

    /// A KDC that answers every request with its bytes reversed, and remembers them.
    struct Mirror(Vec<NetworkRequest>);

    impl KdcClient for Mirror {
        fn send<'a>(&'a mut self, request: &'a NetworkRequest) -> Reply<'a> {
            self.0.push(request.clone());
            let reply: Vec<u8> = request.data.iter().rev().copied().collect();
            Box::pin(async move { Ok(reply) })
        }
    }

    /// A package step that needs two KDC round trips before its token, as a Kerberos step does
    /// (an AS and a TGS exchange): it suspends with each request and uses each reply.
    fn kerberos_like<'a>() -> PackageStep<'a> {
        Generator::new(|mut yield_point| async move {
            let mut token = Vec::new();
            for (i, data) in [b"as-req".to_vec(), b"tgs-req".to_vec()]
                .into_iter()
                .enumerate()
            {
                let request = NetworkRequest {
                    protocol: NetworkProtocol::Tcp,
                    url: url::Url::parse(&format!("tcp://198.18.65.10:88/{i}")).map_err(|e| {
                        sspi::Error::new(sspi::ErrorKind::InternalError, e.to_string())
                    })?,
                    data,
                };
                token.extend(yield_point.suspend(request).await?);
            }
            Ok(Stepped {
                token,
                complete: true,
            })
        })
    }

    /// The driver answers a package's KDC requests through the logon's client and resumes the
    /// package with the replies.
    #[tokio::test]
    async fn the_driver_serves_a_packages_kdc_round_trips() {
        let mut kdc = Mirror(Vec::new());
        let mut step = kerberos_like();
        let stepped = crate::credssp::resolve(&mut step, &mut kdc)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stepped.token, b"qer-saqer-sgt".to_vec());
        let urls: Vec<String> = kdc.0.iter().map(|r| r.url.to_string()).collect();
        assert_eq!(urls, ["tcp://198.18.65.10:88/0", "tcp://198.18.65.10:88/1"]);
    }

    /// Without a KDC client the package gets an error that says so, and the step fails with it.
    #[tokio::test]
    async fn without_a_kdc_client_the_step_fails_saying_why() {
        let mut step = kerberos_like();
        let error = crate::credssp::resolve(&mut step, &mut NoKdc)
            .await
            .err()
            .unwrap_or_default();
        assert!(error.contains("no KDC client"), "{error}");
    }

    /// A package that panics (as sspi 0.23 did on a short pubKeyAuth) ends the step with an
    /// error, not the process.
    #[tokio::test]
    async fn a_panicking_package_is_contained() {
        let mut step: PackageStep<'_> =
            Generator::new(|_| async move { panic!("mid > len in the package") });
        let error = crate::credssp::resolve(&mut step, &mut NoKdc)
            .await
            .err()
            .unwrap_or_default();
        assert!(error.contains("panicked: mid > len"), "{error}");
    }

    /// Samba's KDC_ERR_S_PRINCIPAL_UNKNOWN (the lab capture `kdc::client`'s tests use).
    const UNKNOWN: &str = "7e8183308180a003020105a10302011ea411180f32303236313230373135303930335aa50502030c49e8a603020107a70a1b084c41422e54455354a8133011a003020101a10a30081b065244502d4b24a90a1b084c41422e54455354aa283026a003020102a11f301d1b075445524d5352561b127264702d616c6961732e6c61622e74657374";

    /// The seam with the real KDC client: a package's TCP request goes through the recorded
    /// client of the readiness checks to a KDC on 127.0.0.1, and its answer back to the package.
    #[tokio::test]
    async fn the_recorded_kdc_client_serves_a_packages_request() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let framed = |b: &[u8]| rdpdoctor_wire::kerberos::tcp_frame(b).unwrap();
        let answer = framed(&hex::decode(UNKNOWN).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let reply = answer.clone();
        tokio::spawn(async move {
            if let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(&reply).await;
            }
        });
        let request = NetworkRequest {
            protocol: NetworkProtocol::Tcp,
            url: url::Url::parse(&format!("tcp://{address}")).unwrap(),
            data: framed(b"\x6a\x00"),
        };
        let mut step: PackageStep<'_> = Generator::new(|mut yield_point| async move {
            let token = yield_point.suspend(request).await?;
            Ok(Stepped {
                token,
                complete: false,
            })
        });
        let budget = crate::kdc::Budget::new(std::time::Duration::from_secs(2), None);
        let mut kdc = crate::kdc::SspiNetworkClient::new(crate::kdc::KdcClient::new(budget));
        let stepped = crate::credssp::resolve(&mut step, &mut kdc)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stepped.token, answer);
        assert_eq!(kdc.exchanges().len(), 1);
    }
}
