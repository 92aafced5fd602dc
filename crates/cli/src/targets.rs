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

/// Longest line of a target list. A host name is at most 253 bytes; the rest is room for a port
/// and a comment. A longer line is reported and skipped without being held in memory.
pub const MAX_LINE_BYTES: usize = 4096;

/// Why a target list cannot be used at all.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("{0}: the range has {1} addresses, more than --max-targets {2}; raise --max-targets or split the range")]
    TooLarge(String, u128, u64),
    #[error("cannot read the target list {0}: {1}")]
    Read(String, std::io::Error),
    #[error("the target list {0} is {1}, not a regular file; give a file saved on disk, or pipe the list into `-i -`")]
    NotRegular(String, &'static str),
    #[error("{0}: NUL byte: this is not a text target list (one host[:port] or CIDR range per line, UTF-8); a UTF-16 file must be saved as UTF-8 first (PowerShell: Set-Content -Encoding utf8)")]
    Binary(String),
}

/// What [`produce`] did with the lists.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Produced {
    /// Targets handed on to be scanned.
    pub targets: u64,
    /// Targets not scanned because --max-targets was reached.
    pub over_cap: u64,
    /// Where the first of them is (argument or file:line).
    pub first_over: Option<String>,
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

/// Checks CIDR arguments against the cap, and that every list file is a regular file, before
/// anything is probed (its metadata only: opening a FIFO would block).
pub fn precheck(sources: &[Source], max_targets: u64) -> Result<(), ListError> {
    for s in sources {
        match s {
            Source::Arg(a) => {
                if let Ok(net) = a.trim().parse::<IpNet>() {
                    let n = range_size(&net);
                    if n > u128::from(max_targets) {
                        return Err(ListError::TooLarge(a.clone(), n, max_targets));
                    }
                }
            }
            Source::File(path) if path != "-" => {
                let meta = std::fs::metadata(path).map_err(|e| ListError::Read(path.clone(), e))?;
                if !meta.is_file() {
                    return Err(not_regular(path));
                }
            }
            Source::File(_) => {}
        }
    }
    Ok(())
}

/// The error for a list path that is not a regular file, in the evidence reader's words.
fn not_regular(path: &str) -> ListError {
    match rdpdoctor_evidence::open_regular(std::path::Path::new(path)) {
        Err(rdpdoctor_evidence::EvidenceError::NotRegular { what, .. }) => {
            ListError::NotRegular(path.to_string(), what)
        }
        Err(rdpdoctor_evidence::EvidenceError::Io { source, .. }) => {
            ListError::Read(path.to_string(), source)
        }
        _ => ListError::NotRegular(path.to_string(), "not a regular file"),
    }
}

/// One line of a list, read with a bounded buffer.
enum Line {
    Text(String),
    /// Longer than [`MAX_LINE_BYTES`]; its bytes were discarded.
    TooLong,
    /// Not UTF-8.
    Invalid,
    /// A NUL byte: the input is not text.
    Nul,
    Eof,
}

/// Reads one line (without its `\n` or `\r\n`), never holding more than [`MAX_LINE_BYTES`].
fn next_line(reader: &mut dyn BufRead, buf: &mut Vec<u8>) -> std::io::Result<Line> {
    Ok(match crate::lines::next(reader, buf, MAX_LINE_BYTES)? {
        crate::lines::Line::Eof => Line::Eof,
        crate::lines::Line::Nul => Line::Nul,
        crate::lines::Line::TooLong { .. } => Line::TooLong,
        crate::lines::Line::Read { .. } => {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            match std::str::from_utf8(buf) {
                Ok(t) => Line::Text(t.to_string()),
                Err(_) => Line::Invalid,
            }
        }
    })
}

/// Calls `emit` for every entry of every source, in order, until it returns false (the scan was
/// interrupted). Bad entries (file:line and why) are passed to `emit` as `Bad` and the rest is
/// still read. Targets beyond `max_targets` are counted, not emitted. Stops with an error only
/// when a source cannot be read at all or is not text.
pub fn produce(
    sources: &[Source],
    port: u16,
    max_targets: u64,
    emit: impl FnMut(Entry) -> bool,
) -> Result<Produced, ListError> {
    let mut producer = Producer {
        port,
        max_targets,
        done: Produced::default(),
        emit,
    };
    for (i, s) in sources.iter().enumerate() {
        let go_on = match s {
            Source::Arg(a) => producer.entry(a, &format!("argument {}", i + 1)),
            Source::File(path) => producer.file(path)?,
        };
        if !go_on {
            break;
        }
    }
    Ok(producer.done)
}

/// One run of [`produce`]: what was produced so far, the cap, and where entries go. Every
/// method returns false when `emit` asks to stop.
struct Producer<F> {
    port: u16,
    max_targets: u64,
    done: Produced,
    emit: F,
}

impl<F: FnMut(Entry) -> bool> Producer<F> {
    /// One entry, a host[:port] or a CIDR range, read at `place`.
    fn entry(&mut self, text: &str, place: &str) -> bool {
        let text = text.trim();
        if text.contains('/') {
            return self.range(text, place);
        }
        match Target::parse(text, self.port) {
            Ok(_) if self.done.targets >= self.max_targets => {
                self.over_cap(1, place);
                true
            }
            Ok(t) => {
                self.done.targets += 1;
                (self.emit)(Entry::Target(t))
            }
            Err(e) => (self.emit)(Entry::Bad(format!("{place}: {e}"))),
        }
    }

    /// Counts `n` targets left out by the cap, the first of them at `place`.
    fn over_cap(&mut self, n: u64, place: &str) {
        self.done.over_cap = self.done.over_cap.saturating_add(n);
        self.done
            .first_over
            .get_or_insert_with(|| place.to_string());
    }

    /// A CIDR range: its host addresses, or one bad entry when it is malformed or larger than
    /// the cap.
    fn range(&mut self, text: &str, place: &str) -> bool {
        let max_targets = self.max_targets;
        let Ok(net) = text.parse::<IpNet>() else {
            return (self.emit)(Entry::Bad(format!(
                "{place}: {text:?} is not a CIDR range like 10.1.0.0/22"
            )));
        };
        let size = range_size(&net);
        if size > u128::from(max_targets) {
            return (self.emit)(Entry::Bad(format!(
                "{place}: {text} has more than --max-targets {max_targets} addresses"
            )));
        }
        for (emitted, ip) in (0_u64..).zip(net.hosts()) {
            if self.done.targets >= max_targets {
                // The range fits under the cap (checked above), so this is small.
                let rest = u64::try_from(size)
                    .unwrap_or(u64::MAX)
                    .saturating_sub(emitted);
                self.over_cap(rest, place);
                return true;
            }
            self.done.targets += 1;
            if !(self.emit)(Entry::Target(literal(ip, self.port, text))) {
                return false;
            }
        }
        true
    }

    /// Every entry of a list file (- for stdin), line by line.
    fn file(&mut self, path: &str) -> Result<bool, ListError> {
        let mut reader = open_list(path)?;
        let name = if path == "-" { "stdin" } else { path };
        let mut buf = Vec::with_capacity(256);
        for n in 1u64.. {
            let place = format!("{name}:{n}");
            let line = next_line(reader.as_mut(), &mut buf)
                .map_err(|e| ListError::Read(place.clone(), e))?;
            let bad = match line {
                Line::Eof => break,
                Line::Nul => return Err(ListError::Binary(place)),
                Line::Text(t) => {
                    if !self.line(&t, n, &place) {
                        return Ok(false);
                    }
                    continue;
                }
                Line::TooLong => format!(
                    "{place}: line longer than {MAX_LINE_BYTES} bytes, not a host[:port] or CIDR range"
                ),
                Line::Invalid => format!("{place}: not valid UTF-8 text; save the list as UTF-8"),
            };
            if !(self.emit)(Entry::Bad(bad)) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Line `n` of a list: an entry, a comment or a blank line.
    fn line(&mut self, line: &str, n: u64, place: &str) -> bool {
        // Notepad starts UTF-8 files with a byte order mark.
        let line = if n == 1 {
            line.strip_prefix('\u{feff}').unwrap_or(line)
        } else {
            line
        };
        // Comments and blank lines; a comment may also follow an entry.
        let text = line.split('#').next().unwrap_or("").trim();
        text.is_empty() || self.entry(text, place)
    }
}

/// Opens a list file (regular files only: a FIFO or device may never end), or stdin for -.
fn open_list(path: &str) -> Result<Box<dyn BufRead>, ListError> {
    if path == "-" {
        return Ok(Box::new(std::io::BufReader::new(std::io::stdin())));
    }
    let (f, _) =
        rdpdoctor_evidence::open_regular(std::path::Path::new(path)).map_err(|e| match e {
            rdpdoctor_evidence::EvidenceError::NotRegular { what, .. } => {
                ListError::NotRegular(path.to_string(), what)
            }
            rdpdoctor_evidence::EvidenceError::Io { source, .. } => {
                ListError::Read(path.to_string(), source)
            }
            other => ListError::Read(path.to_string(), std::io::Error::other(other.to_string())),
        })?;
    Ok(Box::new(std::io::BufReader::new(f)))
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
