//! Bounds on what one scan line may put into the report. Every string and list of a scan line
//! is untrusted (a line may come from anywhere, and server names, certificate fields and
//! evidence come from servers): each string is cut to a length and each list to a number of
//! items before the line is used, so that a line of 15 MB targets cannot make the report hold
//! or write gigabytes. `rdpdoctor scan` itself never writes anything near these bounds; what was
//! cut is said on stderr and on the page.

use serde_json::Value;

/// Longest string kept, in bytes (evidence lines and explanations are far shorter).
const MAX_STRING: usize = 4096;
/// Longest list kept (findings, evidence lines, fixes, clients, timeline entries).
const MAX_ITEMS: usize = 256;
/// Cuts described per line; the rest are counted.
const DESCRIBED: usize = 3;

/// Tighter bounds for fields that the report keeps per host or lists by name.
fn limit(key: &str) -> usize {
    match key {
        // host:port (a DNS name is at most 253 bytes); ids are short kebab-case words.
        "target" => 512,
        "id" | "finding" | "status" | "step" | "severity" | "outcome" | "family" | "hex" => 128,
        // Thumbprints and dates kept for the certificate timeline.
        "sha1" | "sha256" | "not_after" | "not_before" | "started_at" => 192,
        _ => MAX_STRING,
    }
}

/// What was cut on one line.
#[derive(Debug, Default)]
pub struct Cuts {
    pub count: u64,
    /// The first few: where, how long it was, and the bound.
    pub described: Vec<String>,
}

impl Cuts {
    fn note(&mut self, what: String) {
        self.count += 1;
        if self.described.len() < DESCRIBED {
            self.described.push(what);
        }
    }

    /// One line for stderr and the page: "target: 15000000 bytes, cut to 512; ...".
    pub fn summary(&self) -> String {
        let mut s = self.described.join("; ");
        if self.count > self.described.len() as u64 {
            s.push_str(&format!(
                "; and {} more",
                self.count - self.described.len() as u64
            ));
        }
        s
    }
}

/// Cuts every string and list in `v` to its bound, in place, and says what was cut.
pub fn bound(v: &mut Value, cuts: &mut Cuts) {
    walk(v, "", MAX_STRING, cuts);
}

/// [`bound`] for a line's top-level object.
pub fn bound_object(
    map: serde_json::Map<String, Value>,
    cuts: &mut Cuts,
) -> serde_json::Map<String, Value> {
    let mut v = Value::Object(map);
    bound(&mut v, cuts);
    match v {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// [`bound`] for one value taken out of the line: `path` names it, `key` picks its bound.
pub fn bound_field(path: &str, key: &str, v: &mut Value, cuts: &mut Cuts) {
    walk(v, path, limit(key), cuts);
}

fn walk(v: &mut Value, path: &str, max: usize, cuts: &mut Cuts) {
    match v {
        Value::String(s) if s.len() > max => {
            let len = s.len();
            cut_string(s, max);
            cuts.note(format!(
                "{} ({len} bytes, cut to {max})",
                if path.is_empty() { "a value" } else { path }
            ));
        }
        Value::Array(items) => {
            if items.len() > MAX_ITEMS {
                cuts.note(format!(
                    "{path} ({} items, cut to {MAX_ITEMS})",
                    items.len()
                ));
                items.truncate(MAX_ITEMS);
            }
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, &format!("{path}[{i}]"), max, cuts);
            }
        }
        Value::Object(map) => {
            if map.len() > MAX_ITEMS {
                // An object with hundreds of keys is no diagnosis: keep the first ones (serde
                // reports what is then missing).
                cuts.note(format!("{path} ({} keys, cut to {MAX_ITEMS})", map.len()));
                let extra: Vec<String> = map.keys().skip(MAX_ITEMS).cloned().collect();
                for k in extra {
                    map.remove(&k);
                }
            }
            for (key, item) in map.iter_mut() {
                let key_bounded: String = key.chars().take(64).collect();
                let child = if path.is_empty() {
                    key_bounded
                } else {
                    format!("{path}.{key_bounded}")
                };
                walk(item, &child, limit(key), cuts);
            }
        }
        _ => {}
    }
}

/// Cuts `s` to at most `max` bytes at a character boundary and says so at the end.
fn cut_string(s: &mut String, max: usize) {
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    let cut = s.len() - end;
    s.truncate(end);
    s.push_str(&format!("… [{cut} more bytes cut by rdpdoctor report]"));
    s.shrink_to_fit();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_strings_and_lists_are_cut_and_described() {
        let mut v = json!({
            "target": "é".repeat(1000),
            "findings": [{"evidence": vec!["x"; 300], "title": "t".repeat(5000)}],
            "verdict": {"status": "healthy"}
        });
        let mut cuts = Cuts::default();
        bound(&mut v, &mut cuts);
        let target = v["target"].as_str().expect("a string");
        assert!(
            target.starts_with(&"é".repeat(256)),
            "cut at a char boundary"
        );
        assert!(target.ends_with("… [1488 more bytes cut by rdpdoctor report]"));
        assert_eq!(
            v["findings"][0]["evidence"].as_array().map(Vec::len),
            Some(256)
        );
        assert!(v["findings"][0]["title"]
            .as_str()
            .is_some_and(|t| t.len() < 4200));
        assert_eq!(v["verdict"]["status"], "healthy");
        assert_eq!(cuts.count, 3);
        assert_eq!(
            cuts.summary(),
            "target (2000 bytes, cut to 512); findings[0].evidence (300 items, cut to 256); findings[0].title (5000 bytes, cut to 4096)"
        );
    }

    #[test]
    fn a_line_within_bounds_is_untouched() {
        let mut v = json!({"target": "rds01.corp.example:3389", "findings": [], "facts": {}});
        let before = v.clone();
        let mut cuts = Cuts::default();
        bound(&mut v, &mut cuts);
        assert_eq!(v, before);
        assert_eq!(cuts.count, 0);
    }
}
