//! TLS over a probe connection (MS-RDPBCGR 5.4.5.1: the client starts TLS on the same stream right
//! after the Connection Confirm): one handshake runner, [`connect`], for the handshakes pinned to
//! one version (the TLS probes of `check`, the path retries), the channel CredSSP and `--full` go
//! on over, and the cipher enumeration's offers. It runs over whatever stream the route yields.
//!
//! OpenSSL rather than rustls: rustls cannot speak TLS 1.0/1.1, and old Windows servers are
//! exactly what needs probing. The context runs at security level 0 with every cipher enabled,
//! so the probe sees what the server offers rather than what Debian's defaults allow.

use crate::excerpt_hex;
use crate::route::ByteStream;
use crate::stream::Recording;
use openssl::error::ErrorStack;
use openssl::ssl::{ErrorCode, Ssl, SslContext, SslMethod, SslVerifyMode, SslVersion};
use openssl::x509::X509;
use rdpdoctor_observations::{Phase, TlsOutcome, TlsVersion, Transport};
use rdpdoctor_wire::credssp;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_openssl::SslStream;

/// OpenSSL reports a received alert as reason code 1000 + the alert number
/// (SSL_AD_REASON_OFFSET in ssl.h).
const ALERT_REASON_OFFSET: i32 = 1000;

/// One context per version, built once: building contexts is the expensive part for fleets.
fn context(version: TlsVersion) -> Result<&'static SslContext, ErrorStack> {
    static CONTEXTS: OnceLock<Vec<Result<SslContext, ErrorStack>>> = OnceLock::new();
    let all = CONTEXTS.get_or_init(|| TlsVersion::ALL.iter().map(|v| build_context(*v)).collect());
    let index = TlsVersion::ALL
        .iter()
        .position(|v| *v == version)
        .unwrap_or(0);
    match all.get(index) {
        Some(Ok(ctx)) => Ok(ctx),
        Some(Err(e)) => Err(e.clone()),
        None => Err(ErrorStack::get()),
    }
}

fn build_context(version: TlsVersion) -> Result<SslContext, ErrorStack> {
    let v = ssl_version(version);
    let mut b = SslContext::builder(SslMethod::tls_client())?;
    // The probe reports on the certificate; it must not refuse to look at a bad one.
    b.set_verify(SslVerifyMode::NONE);
    b.set_security_level(0);
    b.set_cipher_list("ALL:@SECLEVEL=0")?;
    b.set_min_proto_version(Some(v))?;
    b.set_max_proto_version(Some(v))?;
    Ok(b.build())
}

/// OpenSSL's name for a version.
pub(crate) fn ssl_version(version: TlsVersion) -> SslVersion {
    match version {
        TlsVersion::Tls10 => SslVersion::TLS1,
        TlsVersion::Tls11 => SslVersion::TLS1_1,
        TlsVersion::Tls12 => SslVersion::TLS1_2,
        TlsVersion::Tls13 => SslVersion::TLS1_3,
    }
}

/// Any TLS version from 1.0 to 1.3, at security level 0: CredSSP and the connection sequence
/// need a channel, not a grade. Built once.
fn channel_context() -> Result<&'static SslContext, ErrorStack> {
    static CONTEXT: OnceLock<Result<SslContext, ErrorStack>> = OnceLock::new();
    let built = CONTEXT.get_or_init(|| {
        let mut b = SslContext::builder(SslMethod::tls_client())?;
        b.set_verify(SslVerifyMode::NONE);
        b.set_security_level(0);
        b.set_cipher_list("ALL:@SECLEVEL=0")?;
        b.set_min_proto_version(Some(SslVersion::TLS1))?;
        b.set_max_proto_version(Some(SslVersion::TLS1_3))?;
        Ok(b.build())
    });
    built.as_ref().map_err(Clone::clone)
}

/// What a handshake offers.
pub(crate) enum Offer {
    /// Exactly one version, every cipher (the TLS probes of `check`, the path retries).
    Pinned(TlsVersion),
    /// Any version: the channel CredSSP and the connection sequence go on over, as a client makes
    /// it right after a Connection Confirm that selected a TLS-based protocol (MS-RDPBCGR
    /// 5.4.5.1). Nothing about the certificate is decided here: the caller judges it
    /// (pubKeyAuth, `Trust`).
    Channel,
    /// A context of the caller's (the cipher enumeration's offers).
    Context(SslContext),
}

/// A TLS connection over a route's stream, recording what the server sent.
pub(crate) type Tls = SslStream<Recording<Box<dyn ByteStream>>>;

/// Runs one handshake over `stream` (already past the X.224 exchange) offering `offer`, with SNI
/// `server_name` (never an address literal: RFC 6066 forbids them), within `deadline`; the first
/// `capture` bytes the server sends are kept (the cipher enumeration reads its key exchange
/// from them). A failure says what the server did.
pub(crate) async fn connect<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    offer: &Offer,
    server_name: Option<&str>,
    deadline: Duration,
    capture: usize,
) -> Result<SslStream<Recording<S>>, TlsOutcome> {
    let error = |reason: String| TlsOutcome::Error { reason };
    let context = match offer {
        Offer::Pinned(version) => context(*version)
            .map_err(|e| error(format!("OpenSSL cannot offer {}: {e}", version.label())))?,
        Offer::Channel => channel_context().map_err(|e| error(e.to_string()))?,
        Offer::Context(c) => c,
    };
    let mut ssl = Ssl::new(context).map_err(|e| error(e.to_string()))?;
    if let Some(name) = server_name {
        // SNI, as FreeRDP sends it.
        let _ = ssl.set_hostname(name);
    }
    let mut tls = SslStream::new(ssl, Recording::keeping(stream, capture))
        .map_err(|e| error(e.to_string()))?;
    match tokio::time::timeout(deadline, Pin::new(&mut tls).connect()).await {
        Err(_) => Err(TlsOutcome::Transport(Transport::TimedOut {
            phase: Phase::TlsHandshake,
            bytes: tls.get_ref().received,
        })),
        Ok(Err(e)) => {
            let rec = tls.get_ref();
            Err(classify(&e, rec.received, &rec.head))
        }
        Ok(Ok(())) => Ok(tls),
    }
}

/// The channel a client goes on over after the handshake (CredSSP, the connection sequence, an
/// RD Gateway's HTTP), on any version, with SNI `server_name`.
pub(crate) async fn upgrade(
    stream: Box<dyn ByteStream>,
    server_name: Option<&str>,
    deadline: Duration,
) -> Result<Tls, TlsOutcome> {
    connect(
        stream,
        &Offer::Channel,
        server_name,
        deadline,
        crate::stream::KEEP,
    )
    .await
}

/// How a completed handshake ended, and the server's certificate chain, leaf first.
pub(crate) fn completed(tls: &Tls) -> (TlsOutcome, Vec<X509>) {
    (completed_on(tls), peer_chain(tls))
}

/// How a completed handshake on any stream ended: the cipher it agreed.
pub(crate) fn completed_on<S>(tls: &SslStream<S>) -> TlsOutcome {
    let cipher = tls
        .ssl()
        .current_cipher()
        .map(|c| c.name().to_string())
        .unwrap_or_default();
    TlsOutcome::Completed { cipher }
}

/// Ends a TLS connection the probe is done with: a close_notify, without waiting long for it.
pub(crate) async fn close(tls: &mut Tls) {
    let _ = tokio::time::timeout(Duration::from_millis(50), tls.shutdown()).await;
}

/// The subjectPublicKey of the server's certificate: what CredSSP's pubKeyAuth binds
/// (MS-CSSP 3.1.5).
pub(crate) fn subject_public_key(tls: &Tls) -> Option<Vec<u8>> {
    let spki = tls
        .ssl()
        .peer_certificate()
        .and_then(|c| c.public_key().ok())
        .and_then(|k| k.public_key_to_der().ok())
        .unwrap_or_default();
    credssp::subject_public_key(&spki).map(<[u8]>::to_vec)
}

/// The server's certificate chain, leaf first (the leaf alone when the server sent no chain
/// OpenSSL kept).
pub(crate) fn peer_chain(tls: &Tls) -> Vec<X509> {
    let ssl = tls.ssl();
    let mut chain: Vec<X509> = ssl
        .peer_cert_chain()
        .map(|c| c.iter().map(|x| x.to_owned()).collect())
        .unwrap_or_default();
    if chain.is_empty() {
        chain.extend(ssl.peer_certificate());
    }
    chain
}

/// Turns an OpenSSL handshake error into what the server did.
pub(crate) fn classify(e: &openssl::ssl::Error, received: usize, head: &[u8]) -> TlsOutcome {
    // A TLS record starts with a content type from 20 (change_cipher_spec) to 24 (heartbeat).
    if let Some(first) = head.first() {
        if !(20..=24).contains(first) {
            return TlsOutcome::NotTls {
                bytes: received,
                excerpt_hex: excerpt_hex(head, 48),
            };
        }
    }
    if e.code() == ErrorCode::SYSCALL {
        return match e.io_error() {
            Some(io) if io.kind() == std::io::ErrorKind::ConnectionReset => {
                TlsOutcome::Transport(Transport::Reset {
                    at: (),
                    bytes: received,
                })
            }
            Some(io) => TlsOutcome::Error {
                reason: io.to_string(),
            },
            None => TlsOutcome::Transport(Transport::Closed {
                at: (),
                bytes: received,
            }),
        };
    }
    if let Some(stack) = e.ssl_error() {
        for err in stack.errors() {
            let reason = err.reason_code();
            if (ALERT_REASON_OFFSET..ALERT_REASON_OFFSET + 256).contains(&reason) {
                let alert = (reason - ALERT_REASON_OFFSET) as u8;
                return TlsOutcome::AlertReceived { alert };
            }
            let text = err.reason().unwrap_or("");
            if text.contains("unexpected eof") {
                return TlsOutcome::Transport(Transport::Closed {
                    at: (),
                    bytes: received,
                });
            }
            if text.contains("unsupported protocol") || text.contains("wrong ssl version") {
                return TlsOutcome::ClientAborted {
                    reason:
                        "the server answered with a TLS version outside the one this attempt offers"
                            .to_string(),
                };
            }
        }
        let reasons: Vec<String> = stack
            .errors()
            .iter()
            .filter_map(|x| x.reason().map(str::to_string))
            .collect();
        if !reasons.is_empty() {
            return TlsOutcome::Error {
                reason: reasons.join("; "),
            };
        }
    }
    if let Some(io) = e.io_error() {
        if io.kind() == std::io::ErrorKind::ConnectionReset {
            return TlsOutcome::Transport(Transport::Reset {
                at: (),
                bytes: received,
            });
        }
    }
    TlsOutcome::Error {
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// Upgrades a connection to a local server that answers the ClientHello with `reply` (and
    /// then stays silent when `hold`, or closes).
    async fn upgrade_against(reply: &'static [u8], hold: bool) -> Result<Tls, TlsOutcome> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let server = tokio::spawn(async move {
            if let Ok((mut peer, _)) = listener.accept().await {
                let mut hello = [0u8; 512];
                let _ = tokio::io::AsyncReadExt::read(&mut peer, &mut hello).await;
                let _ = peer.write_all(reply).await;
                if hold {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        });
        let tcp = tokio::net::TcpStream::connect(address)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let out = upgrade(
            Box::new(tcp),
            Some("server.example"),
            Duration::from_millis(300),
        )
        .await;
        server.abort();
        out
    }

    #[tokio::test]
    async fn an_upgrade_says_how_the_handshake_failed() {
        match upgrade_against(b"HTTP/1.1 400 Bad Request\r\n\r\n", false).await {
            Err(TlsOutcome::NotTls { bytes, excerpt_hex }) => {
                // OpenSSL reads a record header (5 bytes) before it gives up.
                assert!((5..=28).contains(&bytes), "{bytes}");
                assert!(excerpt_hex.starts_with("48545450"), "{excerpt_hex}");
            }
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("a handshake with an HTTP server completed"),
        }
        match upgrade_against(b"", true).await {
            Err(outcome) => assert_eq!(
                outcome,
                TlsOutcome::Transport(Transport::TimedOut {
                    phase: Phase::TlsHandshake,
                    bytes: 0
                })
            ),
            Ok(_) => panic!("a handshake with a silent server completed"),
        }
        match upgrade_against(b"", false).await {
            Err(TlsOutcome::Transport(Transport::Closed { bytes: 0, .. })) => {}
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("a handshake with a closed connection completed"),
        }
    }
}
