//! A round trip through a KDC proxy (MS-KKDCP): the Kerberos message in a KDC-PROXY-MESSAGE,
//! POSTed over HTTPS (2.1, 3.1.5.1), the answer read from the response body.
//!
//! The proxy's certificate must verify for its host name against this machine's trust store
//! (OpenSSL's default paths; SSL_CERT_FILE and SSL_CERT_DIR are honoured), as a Windows client
//! requires: a request with pre-authentication is as sensitive as an NTLM response, and an
//! unverified proxy could be anyone. HTTP/1.1 with `Connection: close`, the answer by
//! Content-Length (or up to the close), at most `MAX_MESSAGE` bytes plus headers.

use super::target::ProxyUrl;
use super::transport::{io_failure, Failure};
use super::Budget;
use crate::excerpt_hex;
use openssl::ssl::{SslConnector, SslMethod};
use rdpdoctor_observations::{DnsOutcome, Target};
use rdpdoctor_wire::kerberos::{kkdcp_unwrap, kkdcp_wrap, MAX_MESSAGE};
use std::net::SocketAddr;
use std::pin::Pin;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

/// The most header bytes read before the body.
const MAX_HEADER: usize = 16 * 1024;

async fn within<T>(
    budget: &Budget,
    phase: &'static str,
    f: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    tokio::time::timeout(budget.phase(), f)
        .await
        .unwrap_or(Err(Failure::TimedOut(phase)))
}

/// The proxy's first address (its name resolved as `check` resolves the server's).
pub(crate) async fn resolve(proxy: &ProxyUrl, budget: &Budget) -> Result<SocketAddr, Failure> {
    let target = Target::parse(&bracket(&proxy.host), proxy.port)
        .map_err(|e| Failure::Failed(format!("the KDC proxy's host: {e}")))?;
    let dns = crate::dns::resolve(&target, budget.phase()).await;
    match &dns.outcome {
        DnsOutcome::Resolved { addresses } | DnsOutcome::Literal { addresses } => addresses
            .first()
            .map(|ip| SocketAddr::new(*ip, proxy.port))
            .ok_or_else(|| Failure::Failed(format!("{} has no address", proxy.host))),
        DnsOutcome::TimedOut => Err(Failure::TimedOut("resolve")),
        DnsOutcome::Failed { error } => Err(Failure::Failed(format!(
            "the KDC proxy's name {} does not resolve: {error}",
            proxy.host
        ))),
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// Sends `message` (bare) for `realm` through the proxy at `address`; returns the bare answer.
pub(crate) async fn round_trip(
    proxy: &ProxyUrl,
    address: SocketAddr,
    message: &[u8],
    realm: &str,
    budget: &Budget,
) -> Result<Vec<u8>, Failure> {
    let body = kkdcp_wrap(message, realm).map_err(|e| Failure::Failed(e.to_string()))?;
    let tcp = within(budget, "connect", async {
        TcpStream::connect(address)
            .await
            .map_err(|e| io_failure(&e, 0))
    })
    .await?;
    let mut tls = within(budget, "TLS handshake", handshake(proxy, tcp)).await?;
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/kerberos\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nPragma: no-cache\r\nUser-Agent: rdpdoctor\r\nConnection: close\r\n\r\n",
        proxy.path,
        host_header(proxy),
        body.len()
    );
    within(budget, "send", async {
        tls.write_all(request.as_bytes())
            .await
            .map_err(|e| io_failure(&e, 0))?;
        tls.write_all(&body).await.map_err(|e| io_failure(&e, 0))
    })
    .await?;
    let response = within(budget, "receive", read_response(&mut tls)).await?;
    kkdcp_unwrap(&response).map_err(|e| Failure::Malformed {
        reason: format!("the KDC proxy's answer is not a KDC-PROXY-MESSAGE: {e}"),
        excerpt_hex: excerpt_hex(&response, 32),
    })
}

fn host_header(proxy: &ProxyUrl) -> String {
    if proxy.port == 443 {
        bracket(&proxy.host)
    } else {
        format!("{}:{}", bracket(&proxy.host), proxy.port)
    }
}

async fn handshake(proxy: &ProxyUrl, tcp: TcpStream) -> Result<SslStream<TcpStream>, Failure> {
    let fail = |e: &dyn std::fmt::Display| Failure::Failed(format!("TLS to the KDC proxy: {e}"));
    let connector = SslConnector::builder(SslMethod::tls_client())
        .map_err(|e| fail(&e))?
        .build();
    // SNI and host-name (or address) verification against the default trust store.
    let ssl = connector
        .configure()
        .and_then(|c| c.into_ssl(&proxy.host))
        .map_err(|e| fail(&e))?;
    let mut stream = SslStream::new(ssl, tcp).map_err(|e| fail(&e))?;
    match Pin::new(&mut stream).connect().await {
        Ok(()) => Ok(stream),
        Err(e) => {
            let verify = stream.ssl().verify_result();
            if verify != openssl::x509::X509VerifyResult::OK {
                return Err(Failure::Failed(format!(
                    "the KDC proxy's certificate does not verify for {}: {} (nothing was sent)",
                    proxy.host,
                    verify.error_string()
                )));
            }
            Err(match e.io_error() {
                Some(io) => io_failure(io, 0),
                None => fail(&e),
            })
        }
    }
}

/// Reads an HTTP/1.1 response; the body of a 200, or why there is none.
async fn read_response(tls: &mut SslStream<TcpStream>) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEADER {
            return Err(malformed("the KDC proxy's HTTP headers are too long", &buf));
        }
        match tls.read(&mut chunk).await {
            Ok(0) => {
                return Err(Failure::Closed {
                    bytes: buf.len(),
                    reset: false,
                })
            }
            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e) => return Err(io_failure(&e, buf.len())),
        }
    };
    let head = String::from_utf8_lossy(buf.get(..header_end).unwrap_or_default()).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| malformed("the KDC proxy did not answer with HTTP", &buf))?;
    if status != 200 {
        let line = head.lines().next().unwrap_or_default().to_string();
        return Err(Failure::Failed(format!("the KDC proxy answered {line:?}")));
    }
    let length = header(&head, "content-length").and_then(|v| v.parse::<usize>().ok());
    if header(&head, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        return Err(Failure::Failed(
            "the KDC proxy sent a chunked answer (not read here; Windows' and python-kdcproxy's carry Content-Length)".to_string(),
        ));
    }
    let want = length.unwrap_or(MAX_MESSAGE + 1);
    if length.is_some_and(|l| l > MAX_MESSAGE) {
        return Err(malformed(
            "the KDC proxy announced an answer above the size read",
            &buf,
        ));
    }
    let mut body = buf.get(header_end..).unwrap_or_default().to_vec();
    while body.len() < want {
        match tls.read(&mut chunk).await {
            Ok(0) if length.is_none() => break,
            Ok(0) => {
                return Err(Failure::Closed {
                    bytes: header_end + body.len(),
                    reset: false,
                })
            }
            Ok(n) => body.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            // A proxy that closes without close_notify after a body without Content-Length.
            Err(_) if length.is_none() && !body.is_empty() => break,
            Err(e) => return Err(io_failure(&e, header_end + body.len())),
        }
        if body.len() > MAX_MESSAGE {
            return Err(malformed(
                "the KDC proxy's answer is larger than the size read",
                &body,
            ));
        }
    }
    body.truncate(want);
    Ok(body)
}

fn malformed(reason: &str, bytes: &[u8]) -> Failure {
    Failure::Malformed {
        reason: reason.to_string(),
        excerpt_hex: excerpt_hex(bytes, 32),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}
