//! What the user asked to probe: `host`, `host:port`, an IPv4 literal, `[v6]:port` or a bare
//! IPv6 literal.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// The port Remote Desktop listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 3389;

/// A parsed target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Exactly what the user typed.
    pub input: String,
    /// Host name or address literal, without brackets.
    pub host: String,
    pub port: u16,
    pub kind: HostKind,
}

/// Whether the host part is a name that needs DNS or an address literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostKind {
    Name,
    Ipv4,
    Ipv6,
}

/// Why a target string was refused. Each message says what is wrong and what form is expected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("the target is empty: give a host name or address, e.g. rdp01.corp.example or 10.0.0.5:3389")]
    Empty,
    #[error("target {0:?}: port {1:?} is not a number from 1 to 65535")]
    BadPort(String, String),
    #[error("target {0:?}: an IPv6 address with a port must be written in brackets, e.g. [2001:db8::5]:3389")]
    ExtraColons(String),
    #[error(
        "target {0:?}: the IPv6 bracket is not closed properly; write [ADDRESS] or [ADDRESS]:PORT"
    )]
    BadBracket(String),
    #[error("target {0:?}: {1:?} is not an IPv6 address")]
    BadIpv6(String, String),
    #[error("target {0:?}: {1:?} is not a valid host name (letters, digits, '-', '_' and '.' only, labels of 1-63 characters)")]
    BadHost(String, String),
}

impl Target {
    /// Parses `input`, using `default_port` when none is given.
    pub fn parse(input: &str, default_port: u16) -> Result<Target, TargetError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(TargetError::Empty);
        }
        let own = || trimmed.to_string();
        if let Some(rest) = trimmed.strip_prefix('[') {
            let Some(close) = rest.find(']') else {
                return Err(TargetError::BadBracket(own()));
            };
            let (addr_text, after) = (&rest[..close], &rest[close + 1..]);
            let addr: Ipv6Addr = addr_text
                .parse()
                .map_err(|_| TargetError::BadIpv6(own(), addr_text.to_string()))?;
            let port = match after {
                "" => default_port,
                _ => match after.strip_prefix(':') {
                    Some(p) => parse_port(trimmed, p)?,
                    None => return Err(TargetError::BadBracket(own())),
                },
            };
            return Ok(Target {
                input: trimmed.to_string(),
                host: addr.to_string(),
                port,
                kind: HostKind::Ipv6,
            });
        }
        if trimmed.contains(']') {
            return Err(TargetError::BadBracket(own()));
        }
        let colons = trimmed.matches(':').count();
        if colons > 1 {
            // A bare IPv6 literal has no port; anything else with several colons is ambiguous.
            return match trimmed.parse::<Ipv6Addr>() {
                Ok(addr) => Ok(Target {
                    input: trimmed.to_string(),
                    host: addr.to_string(),
                    port: default_port,
                    kind: HostKind::Ipv6,
                }),
                Err(_) => Err(TargetError::ExtraColons(own())),
            };
        }
        let (host, port) = match trimmed.split_once(':') {
            Some((h, p)) => (h, parse_port(trimmed, p)?),
            None => (trimmed, default_port),
        };
        if host.is_empty() {
            return Err(TargetError::Empty);
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            let kind = if ip.is_ipv4() {
                HostKind::Ipv4
            } else {
                HostKind::Ipv6
            };
            return Ok(Target {
                input: trimmed.to_string(),
                host: ip.to_string(),
                port,
                kind,
            });
        }
        if !valid_host_name(host) {
            return Err(TargetError::BadHost(own(), host.to_string()));
        }
        Ok(Target {
            input: trimmed.to_string(),
            host: host.trim_end_matches('.').to_ascii_lowercase(),
            port,
            kind: HostKind::Name,
        })
    }

    /// The address literal, when the host is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self.kind {
            HostKind::Name => None,
            _ => self.host.parse().ok(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            HostKind::Ipv6 => write!(f, "[{}]:{}", self.host, self.port),
            _ => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

fn parse_port(input: &str, text: &str) -> Result<u16, TargetError> {
    match text.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        _ => Err(TargetError::BadPort(input.to_string(), text.to_string())),
    }
}

fn valid_host_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Target {
        Target::parse(s, DEFAULT_PORT).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn accepts_every_documented_form() {
        assert_eq!(ok("rdp01.corp.example").port, 3389);
        assert_eq!(ok("rdp01.corp.example").kind, HostKind::Name);
        assert_eq!(ok("RDP01:3390").host, "rdp01");
        assert_eq!(ok("RDP01:3390").port, 3390);
        assert_eq!(ok("10.0.0.5").kind, HostKind::Ipv4);
        assert_eq!(ok("10.0.0.5:43389").port, 43389);
        let v6 = ok("[::1]:43389");
        assert_eq!(
            (v6.host.as_str(), v6.port, v6.kind),
            ("::1", 43389, HostKind::Ipv6)
        );
        assert_eq!(ok("[2001:db8::5]").port, 3389);
        assert_eq!(ok("2001:db8::5").kind, HostKind::Ipv6);
        assert_eq!(ok("[::1]:43389").to_string(), "[::1]:43389");
    }

    #[test]
    fn refuses_bad_input_with_a_reason() {
        let cases = [
            ("", TargetError::Empty),
            ("   ", TargetError::Empty),
            (":3389", TargetError::Empty),
            ("host:0", TargetError::BadPort("host:0".into(), "0".into())),
            (
                "host:65536",
                TargetError::BadPort("host:65536".into(), "65536".into()),
            ),
            ("host:", TargetError::BadPort("host:".into(), "".into())),
            ("host:x", TargetError::BadPort("host:x".into(), "x".into())),
            ("host:1:2", TargetError::ExtraColons("host:1:2".into())),
            ("[::1", TargetError::BadBracket("[::1".into())),
            ("[::1]3389", TargetError::BadBracket("[::1]3389".into())),
            ("::1]", TargetError::BadBracket("::1]".into())),
            (
                "[nothost]:1",
                TargetError::BadIpv6("[nothost]:1".into(), "nothost".into()),
            ),
            (
                "bad host",
                TargetError::BadHost("bad host".into(), "bad host".into()),
            ),
            (
                "-x.example",
                TargetError::BadHost("-x.example".into(), "-x.example".into()),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(Target::parse(input, DEFAULT_PORT), Err(want), "{input:?}");
        }
        assert!(matches!(
            Target::parse("[::1]:99999999999999999999", DEFAULT_PORT),
            Err(TargetError::BadPort(..))
        ));
    }
}
