//! TLS handshake probe, pinned to one protocol version per connection (MS-RDPBCGR 5.4.5.1: the
//! client starts TLS on the same TCP stream right after the Connection Confirm).
//!
//! OpenSSL rather than rustls: rustls cannot speak TLS 1.0/1.1, and old Windows servers are
//! exactly what needs probing. The context runs at security level 0 with every cipher enabled,
//! so the probe sees what the server offers rather than what Debian's defaults allow.

use crate::excerpt_hex;
use crate::stream::Recording;
use openssl::error::ErrorStack;
use openssl::ssl::{ErrorCode, Ssl, SslContext, SslMethod, SslVerifyMode, SslVersion};
use openssl::x509::X509;
use rdpdoctor_observations::{Phase, TlsOutcome, TlsVersion, Transport};
use rdpdoctor_wire::credssp;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

/// OpenSSL reports a received alert as reason code 1000 + the alert number
/// (SSL_AD_REASON_OFFSET in ssl.h).
const ALERT_REASON_OFFSET: i32 = 1000;

/// Result of one pinned handshake.
pub(crate) struct Handshake<S> {
    pub outcome: TlsOutcome,
    /// The server's certificate chain, leaf first, when the handshake completed.
    pub chain: Vec<X509>,
    /// The open TLS stream, when the handshake completed and the caller asked to keep it (the
    /// NTLM CHALLENGE rides on it instead of a connection of its own).
    pub stream: Option<SslStream<Recording<S>>>,
}

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
    let v = match version {
        TlsVersion::Tls10 => SslVersion::TLS1,
        TlsVersion::Tls11 => SslVersion::TLS1_1,
        TlsVersion::Tls12 => SslVersion::TLS1_2,
        TlsVersion::Tls13 => SslVersion::TLS1_3,
    };
    let mut b = SslContext::builder(SslMethod::tls_client())?;
    // The probe reports on the certificate; it must not refuse to look at a bad one.
    b.set_verify(SslVerifyMode::NONE);
    b.set_security_level(0);
    b.set_cipher_list("ALL:@SECLEVEL=0")?;
    b.set_min_proto_version(Some(v))?;
    b.set_max_proto_version(Some(v))?;
    Ok(b.build())
}

/// Runs one handshake over `stream` (already past the X.224 exchange).
pub(crate) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    version: TlsVersion,
    server_name: Option<&str>,
    deadline: Duration,
    keep: bool,
) -> Handshake<S> {
    let fail = |outcome| Handshake {
        outcome,
        chain: Vec::new(),
        stream: None,
    };
    let ssl = match context(version).and_then(|c| Ssl::new(c)) {
        Ok(s) => s,
        Err(e) => {
            return fail(TlsOutcome::Error {
                reason: format!("OpenSSL cannot offer {}: {e}", version.label()),
            })
        }
    };
    let mut ssl = ssl;
    if let Some(name) = server_name {
        // SNI, as FreeRDP sends it; never for address literals (RFC 6066 forbids them).
        let _ = ssl.set_hostname(name);
    }
    let mut tls = match SslStream::new(ssl, Recording::new(stream)) {
        Ok(s) => s,
        Err(e) => {
            return fail(TlsOutcome::Error {
                reason: e.to_string(),
            })
        }
    };
    let result = tokio::time::timeout(deadline, Pin::new(&mut tls).connect()).await;
    let (received, head) = {
        let rec = tls.get_ref();
        (rec.received, rec.head.clone())
    };
    match result {
        Err(_) => fail(TlsOutcome::Transport(Transport::TimedOut {
            phase: Phase::TlsHandshake,
            bytes: received,
        })),
        Ok(Ok(())) => {
            let ssl = tls.ssl();
            let cipher = ssl
                .current_cipher()
                .map(|c| c.name().to_string())
                .unwrap_or_default();
            let mut chain: Vec<X509> = Vec::new();
            if let Some(stack) = ssl.peer_cert_chain() {
                chain.extend(stack.iter().map(|c| c.to_owned()));
            }
            if chain.is_empty() {
                if let Some(leaf) = ssl.peer_certificate() {
                    chain.push(leaf);
                }
            }
            if keep {
                return Handshake {
                    outcome: TlsOutcome::Completed { cipher },
                    chain,
                    stream: Some(tls),
                };
            }
            let _ = tokio::time::timeout(
                Duration::from_millis(50),
                tokio::io::AsyncWriteExt::shutdown(&mut tls),
            )
            .await;
            Handshake {
                outcome: TlsOutcome::Completed { cipher },
                chain,
                stream: None,
            }
        }
        Ok(Err(e)) => fail(classify(&e, received, &head)),
    }
}

/// A TLS connection a client goes on with after the handshake (CredSSP, the connection
/// sequence), recording what the server sent.
pub(crate) type Tls = SslStream<Recording<TcpStream>>;

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

/// The TLS upgrade a client makes right after a Connection Confirm that selected a TLS-based
/// protocol (MS-RDPBCGR 5.4.5.1), to go on over it. Nothing about the certificate is decided
/// here: the caller judges it (pubKeyAuth, `Trust`). A timeout is `TlsOutcome::TimedOut`.
pub(crate) async fn upgrade(
    tcp: TcpStream,
    server_name: Option<&str>,
    deadline: Duration,
) -> Result<Tls, TlsOutcome> {
    let error = |reason: String| TlsOutcome::Error { reason };
    let mut ssl = channel_context()
        .and_then(|c| Ssl::new(c))
        .map_err(|e| error(e.to_string()))?;
    if let Some(name) = server_name {
        // SNI, never for address literals (RFC 6066).
        let _ = ssl.set_hostname(name);
    }
    let mut tls = SslStream::new(ssl, Recording::new(tcp)).map_err(|e| error(e.to_string()))?;
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

/// The server's certificate chain, leaf first.
pub(crate) fn peer_chain(tls: &Tls) -> Vec<X509> {
    tls.ssl()
        .peer_cert_chain()
        .map(|c| c.iter().map(|x| x.to_owned()).collect())
        .unwrap_or_default()
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
    use tokio::io::AsyncWriteExt;
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
        let tcp = TcpStream::connect(address)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let out = upgrade(tcp, Some("server.example"), Duration::from_millis(300)).await;
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
