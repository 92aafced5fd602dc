//! Text input one line at a time, never holding more than a bound: target lists, scan results
//! (`report`, `scan --resume`). A longer line is consumed and reported as too long without
//! being kept, so a file of any size and any line length is read in bounded memory.

use std::io::{self, BufRead};

/// Longest scan result line `report` and `scan --resume` accept. A `check --json` line is tens
/// of KiB (a few hundred with `--clients`); anything near this is not one.
pub const MAX_RESULT_LINE: usize = 16 << 20;

/// What one read gave. `len` is the bytes the line took in the input, its newline included.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Eof,
    /// The line is in the buffer, without its `\n`. `complete` is false when the input ended
    /// without a newline.
    Read {
        complete: bool,
        len: u64,
    },
    /// Longer than the bound; its bytes were consumed and discarded (the buffer is empty).
    TooLong {
        complete: bool,
        len: u64,
    },
    /// A NUL byte: the input is not text (a UTF-16 file, `/dev/zero`). Reading stops there; the
    /// rest of the line is not consumed (it may never end).
    Nul,
}

/// Reads the next line into `buf` (cleared first), keeping at most `max` bytes of it.
pub fn next(reader: &mut dyn BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<Line> {
    buf.clear();
    let (mut len, mut too_long) = (0u64, false);
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(match (len, too_long) {
                (0, _) => Line::Eof,
                (len, true) => Line::TooLong {
                    complete: false,
                    len,
                },
                (len, false) => Line::Read {
                    complete: false,
                    len,
                },
            });
        }
        let newline = chunk.iter().position(|b| *b == b'\n');
        let part = chunk.get(..newline.unwrap_or(chunk.len())).unwrap_or(chunk);
        if part.contains(&0) {
            return Ok(Line::Nul);
        }
        if !too_long {
            if buf.len() + part.len() > max {
                too_long = true;
                buf.clear();
                buf.shrink_to(max.min(64 * 1024));
            } else {
                buf.extend_from_slice(part);
            }
        }
        let used = newline.map_or(chunk.len(), |i| i + 1);
        reader.consume(used);
        len += used as u64;
        if newline.is_some() {
            return Ok(if too_long {
                Line::TooLong {
                    complete: true,
                    len,
                }
            } else {
                Line::Read {
                    complete: true,
                    len,
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn all(input: &[u8], max: usize) -> Vec<(String, Line)> {
        // A 7-byte buffer: lines are split across refills.
        let mut r = BufReader::with_capacity(7, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            let line = next(&mut r, &mut buf, max).expect("reads");
            if line == Line::Eof {
                return out;
            }
            let nul = line == Line::Nul;
            out.push((String::from_utf8_lossy(&buf).into_owned(), line));
            if nul {
                return out;
            }
        }
    }

    #[test]
    fn lines_split_across_refills_with_their_lengths_and_a_missing_newline() {
        let got = all(b"first line\n\nthird, a longer one\nlast", 100);
        let read = |complete, len| Line::Read { complete, len };
        assert_eq!(
            got,
            [
                ("first line".to_string(), read(true, 11)),
                (String::new(), read(true, 1)),
                ("third, a longer one".to_string(), read(true, 20)),
                ("last".to_string(), read(false, 4)),
            ]
        );
        assert!(all(b"", 100).is_empty());
    }

    #[test]
    fn an_overlong_line_is_consumed_without_being_held_and_a_nul_stops_reading() {
        let mut input = vec![b'x'; 50];
        input.extend_from_slice(b"\nok\0\n");
        let got = all(&input, 10);
        assert_eq!(
            got[0],
            (
                String::new(),
                Line::TooLong {
                    complete: true,
                    len: 51
                }
            )
        );
        assert_eq!(got[1].1, Line::Nul);
        assert_eq!(got.len(), 2, "reading stops at a NUL");
    }
}
