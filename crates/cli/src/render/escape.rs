//! Terminal-safe text. Server-controlled strings (certificate names, NTLM computer and domain
//! names, redirection targets) and file contents (event data, registry values) reach the report;
//! raw, they could retitle or clear the terminal (ESC sequences), overwrite a line (carriage
//! return), reorder what is shown (bidirectional overrides) or forge whole lines (a newline
//! followed by "all healthy"). Every such character is shown escaped instead. JSON, Prometheus
//! and Nagios output have their own escaping and do not use this.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as itself.
fn dangerous(c: char) -> bool {
    c.is_control()
        // Bidirectional formatting (Unicode TR9): embeddings, overrides, isolates, marks.
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        // Line and paragraph separators end a line in some terminals and viewers.
        || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `s` with every control character (newlines included), bidirectional control and line
/// separator escaped: `\n`, `\r`, `\t`, `\x1B`, `\u{202E}`. For one field of one line.
pub fn line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(dangerous) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if dangerous(c) && (c as u32) < 0x100 => {
                out.push_str(&format!("\\x{:02X}", c as u32));
            }
            c if dangerous(c) => out.push_str(&format!("\\u{{{:04X}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A whole rendered report: every dangerous character escaped except the newlines that end its
/// lines (the renderer's own). Fields must already have gone through [`line`], so a newline a
/// server sent never arrives here raw.
pub fn report(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && dangerous(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for part in s.split_inclusive('\n') {
        match part.strip_suffix('\n') {
            Some(body) => {
                out.push_str(&line(body));
                out.push('\n');
            }
            None => out.push_str(&line(part)),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_hostile_server_sends() {
        assert_eq!(line("CN=ok"), "CN=ok");
        assert_eq!(line("a\u{1b}]0;pwned\u{7}b"), "a\\x1B]0;pwned\\x07b");
        assert_eq!(line("x\r\nall healthy"), "x\\r\\nall healthy");
        assert_eq!(line("evil\u{202E}cod.exe"), "evil\\u{202E}cod.exe");
        assert_eq!(line("\u{9b}31m"), "\\x9B31m");
        assert_eq!(line("tab\there"), "tab\\there");
        assert_eq!(line("Zürich 東京"), "Zürich 東京");
    }

    #[test]
    fn a_report_keeps_its_own_newlines_only() {
        assert_eq!(report("a\nb\n"), "a\nb\n");
        assert_eq!(report("a\u{1b}[2J\nb\r\n"), "a\\x1B[2J\nb\\r\n");
    }
}
