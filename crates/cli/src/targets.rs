//! Fleet target lists: arguments, files (or stdin) with one `host[:port]` per line, and CIDR
//! ranges. Targets are produced one at a time, so a /16 or a million-line file never sits in
//! memory.

use ipnet::IpNet;
use rdpdoctor_observations::Target;
use std::io::BufRead;
use std::net::IpAddr;

/// One entry of a target list, or why it was refused.
pub enum Entry {
    Target(Target),
    /// `where` (argument or file:line) and the reason.
    Bad(String),
}

/// Why a target list cannot be used at all.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("{0}: the range has {1} addresses, more than --max-targets {2}; raise --max-targets or split the range")]
    TooLarge(String, u128, u64),
    #[error("cannot read the target list {0}: {1}")]
    Read(String, std::io::Error),
}

/// Where targets come from, in order.
pub enum Source {
    Arg(String),
    /// A path, or `-` for stdin.
    File(String),
}

/// Addresses in a CIDR range, without network and broadcast addresses where they exist.
fn range_size(net: &IpNet) -> u128 {
    match net {
        IpNet::V4(n) => {
            let all = 1u128 << (32 - u32::from(n.prefix_len()));
            if n.prefix_len() >= 31 {
                all
            } else {
                all - 2
            }
        }
        IpNet::V6(n) => {
            let bits = 128 - u32::from(n.prefix_len());
            if bits >= 127 {
                u128::MAX
            } else {
                1u128 << bits
            }
        }
    }
}

/// Checks CIDR arguments against the cap before anything is probed.
pub fn precheck(sources: &[Source], max_targets: u64) -> Result<(), ListError> {
    for s in sources {
        if let Source::Arg(a) = s {
            if let Ok(net) = a.trim().parse::<IpNet>() {
                let n = range_size(&net);
                if n > u128::from(max_targets) {
                    return Err(ListError::TooLarge(a.clone(), n, max_targets));
                }
            }
        }
    }
    Ok(())
}

/// Calls `emit` for every entry of every source, in order, until it returns false. Stops with an
/// error only when a file cannot be read at all; bad entries are passed to `emit` as `Bad`.
pub fn produce(
    sources: &[Source],
    port: u16,
    max_targets: u64,
    mut emit: impl FnMut(Entry) -> bool,
) -> Result<u64, ListError> {
    let mut count: u64 = 0;
    let mut one = |text: &str, place: &str, emit: &mut dyn FnMut(Entry) -> bool| -> bool {
        let text = text.trim();
        if text.contains('/') {
            let net = match text.parse::<IpNet>() {
                Ok(n) => n,
                Err(_) => {
                    return emit(Entry::Bad(format!(
                        "{place}: {text:?} is not a CIDR range like 10.1.0.0/22"
                    )))
                }
            };
            if range_size(&net) > u128::from(max_targets) {
                return emit(Entry::Bad(format!(
                    "{place}: {text} has more than --max-targets {max_targets} addresses; skipped"
                )));
            }
            for ip in net.hosts() {
                if count >= max_targets {
                    return false;
                }
                count += 1;
                if !emit(Entry::Target(literal(ip, port, text))) {
                    return false;
                }
            }
            return true;
        }
        if count >= max_targets {
            return false;
        }
        match Target::parse(text, port) {
            Ok(t) => {
                count += 1;
                emit(Entry::Target(t))
            }
            Err(e) => emit(Entry::Bad(format!("{place}: {e}"))),
        }
    };
    for (i, s) in sources.iter().enumerate() {
        match s {
            Source::Arg(a) => {
                if !one(a, &format!("argument {}", i + 1), &mut emit) {
                    return Ok(count);
                }
            }
            Source::File(path) => {
                let reader: Box<dyn BufRead> = if path == "-" {
                    Box::new(std::io::BufReader::new(std::io::stdin()))
                } else {
                    let f =
                        std::fs::File::open(path).map_err(|e| ListError::Read(path.clone(), e))?;
                    Box::new(std::io::BufReader::new(f))
                };
                let name = if path == "-" { "stdin" } else { path.as_str() };
                for (n, line) in reader.lines().enumerate() {
                    let line = line.map_err(|e| ListError::Read(path.clone(), e))?;
                    // Comments and blank lines; a comment may also follow an entry.
                    let text = line.split('#').next().unwrap_or("").trim();
                    if text.is_empty() {
                        continue;
                    }
                    if !one(text, &format!("{name}:{}", n + 1), &mut emit) {
                        return Ok(count);
                    }
                }
            }
        }
    }
    Ok(count)
}

fn literal(ip: IpAddr, port: u16, from: &str) -> Target {
    let kind = if ip.is_ipv4() {
        rdpdoctor_observations::HostKind::Ipv4
    } else {
        rdpdoctor_observations::HostKind::Ipv6
    };
    Target {
        input: format!("{ip} (from {from})"),
        host: ip.to_string(),
        port,
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(sources: &[Source], max: u64) -> (Vec<String>, Vec<String>) {
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        let _ = produce(sources, 3389, max, |e| {
            match e {
                Entry::Target(t) => good.push(t.to_string()),
                Entry::Bad(b) => bad.push(b),
            }
            true
        });
        (good, bad)
    }

    #[test]
    fn expands_ranges_and_refuses_bad_entries() {
        let (good, bad) = collect(
            &[
                Source::Arg("127.0.0.0/30".into()),
                Source::Arg("rdp01:3390".into()),
                Source::Arg("host:99999".into()),
                Source::Arg("10.0.0.0/33".into()),
            ],
            100,
        );
        assert_eq!(good, vec!["127.0.0.1:3389", "127.0.0.2:3389", "rdp01:3390"]);
        assert_eq!(bad.len(), 2, "{bad:?}");
    }

    #[test]
    fn the_cap_stops_production_and_prechecks_ranges() {
        let (good, _) = collect(&[Source::Arg("127.1.0.0/24".into())], 10);
        assert_eq!(
            good.len(),
            0,
            "a range larger than the cap is refused whole"
        );
        assert!(precheck(&[Source::Arg("10.0.0.0/8".into())], 65_536).is_err());
        assert!(precheck(&[Source::Arg("10.0.0.0/16".into())], 65_536).is_ok());
        let (good, _) = collect(
            &[
                Source::Arg("a".into()),
                Source::Arg("b".into()),
                Source::Arg("c".into()),
            ],
            2,
        );
        assert_eq!(good, vec!["a:3389", "b:3389"]);
    }
}
