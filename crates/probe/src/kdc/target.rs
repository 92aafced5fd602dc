//! Where a Kerberos request goes: a KDC over TCP or UDP (port 88 unless named otherwise), or a
//! KDC proxy URL (MS-KKDCP over HTTPS, as RD Gateway deployments publish one).

use rdpdoctor_observations::{KdcTransport, Target};
use std::net::SocketAddr;

/// The Kerberos port (RFC 4120 7.2.3).
pub const KDC_PORT: u16 = 88;

/// `--kdc HOST[:PORT]`: a KDC named directly, for networks without SRV records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdcSpec {
    pub host: String,
    pub port: u16,
}

impl KdcSpec {
    /// HOST, HOST:PORT, an IPv4 address, [IPv6]:PORT or a bare IPv6 address (port 88 by default).
    pub fn parse(text: &str) -> Result<KdcSpec, String> {
        let t = Target::parse(text, KDC_PORT)
            .map_err(|e| format!("--kdc {text:?}: {e} (give HOST or HOST:PORT of a KDC)"))?;
        Ok(KdcSpec {
            host: t.host,
            port: t.port,
        })
    }
}

/// `--kdc-proxy URL`: an `https://` URL of a KDC proxy (MS-KKDCP 2.1: HTTPS only, the path is
/// the deployment's, `/KdcProxy` by default on Windows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyUrl {
    /// The URL as given (it is recorded and shown).
    pub url: String,
    pub host: String,
    pub port: u16,
    /// Path and query, at least "/".
    pub path: String,
}

impl ProxyUrl {
    pub fn parse(text: &str) -> Result<ProxyUrl, String> {
        let url = url::Url::parse(text).map_err(|e| {
            format!("--kdc-proxy {text:?} is not a URL ({e}); give https://HOST/KdcProxy")
        })?;
        if url.scheme() != "https" {
            return Err(format!(
                "--kdc-proxy {text:?}: a KDC proxy is spoken over HTTPS only (MS-KKDCP 2.1); give https://HOST/KdcProxy"
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "--kdc-proxy {text:?}: credentials in the URL are not supported (the proxy needs none)"
            ));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            None => return Err(format!("--kdc-proxy {text:?} names no host")),
        };
        let mut path = url.path().to_string();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        Ok(ProxyUrl {
            url: url.to_string(),
            host,
            port: url.port_or_known_default().unwrap_or(443),
            path,
        })
    }
}

/// One place a request is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KdcTarget {
    Tcp(SocketAddr),
    Udp(SocketAddr),
    Proxy(ProxyUrl),
}

impl KdcTarget {
    pub fn transport(&self) -> KdcTransport {
        match self {
            KdcTarget::Tcp(_) => KdcTransport::Tcp,
            KdcTarget::Udp(_) => KdcTransport::Udp,
            KdcTarget::Proxy(_) => KdcTransport::Kkdcp,
        }
    }

    pub fn address(&self) -> Option<SocketAddr> {
        match self {
            KdcTarget::Tcp(a) | KdcTarget::Udp(a) => Some(*a),
            KdcTarget::Proxy(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kdcs_and_proxy_urls() {
        assert_eq!(
            KdcSpec::parse("dc1.lab.test").unwrap(),
            KdcSpec {
                host: "dc1.lab.test".to_string(),
                port: 88
            }
        );
        assert_eq!(KdcSpec::parse("198.18.65.10:8888").unwrap().port, 8888);
        assert_eq!(KdcSpec::parse("[::1]:88").unwrap().host, "::1");
        assert!(KdcSpec::parse("dc1:99999").is_err());
        let p = ProxyUrl::parse("https://gw.lab.test/KdcProxy").unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.path.as_str()),
            ("gw.lab.test", 443, "/KdcProxy")
        );
        let p = ProxyUrl::parse("https://198.18.65.30:8443/kdc?x=1").unwrap();
        assert_eq!((p.port, p.path.as_str()), (8443, "/kdc?x=1"));
        assert!(ProxyUrl::parse("http://gw.lab.test/KdcProxy").is_err());
        assert!(ProxyUrl::parse("https://u:p@gw/KdcProxy").is_err());
        assert!(ProxyUrl::parse("gw.lab.test").is_err());
    }
}
