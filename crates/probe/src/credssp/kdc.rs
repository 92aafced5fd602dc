//! The network client of the security package: the KDC round trips a Kerberos logon makes (AS
//! and TGS exchanges, RFC 4120; through a KDC proxy, MS-KKDCP), which `sspi` hands out as
//! `NetworkRequest`s instead of sending them itself. NTLM makes none.
//!
//! `sspi`'s own network client is not used: it binds its UDP socket to 127.0.0.1 and waits a fixed
//! 5 s (lab/kerberos/OBSERVED.md). A Kerberos client here sends each request with the check's
//! deadlines, and, seeing every reply, can record the KRB-ERROR numbers `sspi` does not pass on.

use sspi::NetworkRequest;
use std::future::Future;
use std::pin::Pin;

/// A reply on its way.
pub(crate) type Reply<'a> = Pin<Box<dyn Future<Output = sspi::Result<Vec<u8>>> + Send + 'a>>;

/// Sends the package's requests to the KDC.
pub(crate) trait KdcClient: Send {
    /// Sends `request` (its protocol, URL and bytes) and returns the KDC's reply bytes.
    fn send<'a>(&'a mut self, request: &'a NetworkRequest) -> Reply<'a>;
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
}
