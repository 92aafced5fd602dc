//! The fleet report of `rdpdoctor report`: one self-contained HTML page (styles, script and the
//! SVG timeline inline, nothing fetched at view time) built from `scan` results.
//!
//! Everything shown comes from the scan's own diagnosis: verdicts, findings and fixes are the
//! ones `scan` wrote, and each host's section is the text `check` prints for it
//! ([`super::text::report`]). Every string from a scan is untrusted (server names, certificate
//! subjects and evidence come from the servers), so all of it goes through [`push_esc`].
//!
//! The page is written in parts so that memory stays bounded by the summary, not the fleet:
//! table rows and host sections are streamed to their own writers as hosts arrive, and the
//! caller joins head, rows, middle, sections and tail.

use super::text;
use rdpdoctor_diagnose::words::count;
use rdpdoctor_diagnose::{Diagnosis, Severity, Status};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Ends each host section in the sections stream. Escaping makes every control character from
/// a scan visible text, and the page's own markup has none, so it never occurs inside one.
pub const SECTION_END: char = '\u{1}';
/// Up to this many hosts, every section is shown when the page opens (printable, searchable
/// with Ctrl-F); above it, a section is unpacked when its host is opened, so that a page of
/// 10,000 hosts does not make the browser lay out 10,000 sections.
const ALL_SECTIONS_MAX: u64 = 1000;

/// Hosts listed by name under each common finding and each client; the rest are counted and
/// reachable through the table filter.
const HOSTS_LISTED: usize = 20;
/// Skipped lines (and lines with fields cut) listed with their reason on the page.
const SKIPPED_LISTED: usize = 100;
/// Distinct client profiles given a row of the client matrix; more (a scan file that names a
/// new client on every line) share one row, so the summary stays small.
const CLIENTS_LISTED: usize = 64;
/// Distinct finding ids counted by name; more share one "other ids" count.
const FINDING_IDS_KEPT: usize = 1000;
/// The client matrix row that counts every client beyond [`CLIENTS_LISTED`].
const OTHER_CLIENTS: &str = "(other clients: more distinct client ids than the report lists)";
/// Findings shown in "most common findings".
const FINDINGS_LISTED: usize = 15;

/// One client's outcome against a host, as `scan --clients` writes it in `clients[]`.
/// Every field is optional: the page shows what is there and never fills in a meaning.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ClientOutcome {
    pub id: Option<String>,
    pub name: Option<String>,
    /// `connects`, `prompts` or `fails`.
    pub outcome: Option<String>,
    pub step: Option<String>,
    pub reason: Option<String>,
    /// What the client shows: a string, or an object with `text` and `codes`.
    pub client_error: Option<serde_json::Value>,
    pub source: Option<String>,
}

/// One scan result, ready to render.
pub struct Host<'a> {
    pub line: u64,
    pub diagnosis: &'a Diagnosis,
    pub duration_ms: Option<f64>,
    pub started_at: Option<&'a str>,
    pub clients: &'a [ClientOutcome],
}

/// Where the report came from, for the page header.
pub struct Meta<'a> {
    pub source: &'a str,
    pub generated: &'a str,
}

struct FindingAgg {
    severity: Severity,
    title: String,
    count: u64,
    hosts: HostList,
}

#[derive(Default)]
struct ClientAgg {
    name: String,
    connects: u64,
    prompts: u64,
    fails: u64,
    other: u64,
    failing: HostList,
}

/// The first [`HOSTS_LISTED`] hosts in host order (addresses by number, names alphabetically,
/// then port), whatever the order of the scan file; only that many are ever held.
#[derive(Default)]
struct HostList(Vec<(HostKey, u64, String)>);

/// Sort key of a target: IP addresses before names, addresses by value, names without case.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct HostKey(u8, Option<std::net::IpAddr>, String, u32);

fn host_key(target: &str) -> HostKey {
    let (host, port) = match target.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') || h.starts_with('[') => {
            (h, p.parse::<u32>().unwrap_or(u32::MAX))
        }
        _ => (target, 0),
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => HostKey(0, Some(ip), String::new(), port),
        Err(_) => HostKey(1, None, bare.to_lowercase(), port),
    }
}

impl HostList {
    /// Keeps `target` (host number `n`) if it is among the first in host order.
    fn offer(&mut self, n: u64, target: &str) {
        let key = host_key(target);
        if self.0.len() >= HOSTS_LISTED && self.0.last().is_some_and(|(last, ..)| *last <= key) {
            return;
        }
        let at = self.0.partition_point(|(k, ..)| *k <= key);
        self.0.insert(at, (key, n, target.to_string()));
        self.0.truncate(HOSTS_LISTED);
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

struct Mark {
    days: i64,
    /// notAfter was past at the scan (a certificate expired less than a day ago has days 0).
    expired: bool,
    host: u64,
    target: String,
    sha1: String,
    not_after: String,
}

/// The summary state; everything per host goes straight to the row and section writers.
#[derive(Default)]
pub struct Report {
    hosts: u64,
    by_status: [u64; 4],
    findings: HashMap<String, FindingAgg>,
    /// Findings whose id came after [`FINDING_IDS_KEPT`] others (hosts, occurrences).
    other_finding_ids: u64,
    clients: Vec<(String, ClientAgg)>,
    /// Where each client id is in `clients`, so that adding one costs the same at any size.
    client_index: HashMap<String, usize>,
    hosts_with_clients: u64,
    marks: Vec<Mark>,
    skipped: u64,
    skipped_listed: Vec<(u64, String)>,
    cut: u64,
    cut_listed: Vec<(u64, String)>,
    first_scan: Option<String>,
    last_scan: Option<String>,
}

fn status_label(s: Status) -> &'static str {
    match s {
        Status::Healthy => "healthy",
        Status::Degraded => "degraded",
        Status::Broken => "broken",
        Status::Unreachable => "unreachable",
    }
}

fn status_index(s: Status) -> usize {
    match s {
        Status::Broken => 0,
        Status::Unreachable => 1,
        Status::Degraded => 2,
        Status::Healthy => 3,
    }
}

const STATUS_ORDER: [Status; 4] = [
    Status::Broken,
    Status::Unreachable,
    Status::Degraded,
    Status::Healthy,
];

fn severity_rank(s: Severity) -> u8 {
    match s {
        Severity::Blocking => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
    }
}

/// Appends `s` with HTML's special characters escaped (safe in text and in quoted attributes),
/// and control characters made visible as `\u{..}` (they come from servers and would otherwise
/// be invisible or garble the page).
pub fn push_esc(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_esc(&mut out, s);
    out
}

/// The words of a `client_error` value: a string as it is, an object by its `text` and the hex
/// of its `codes`, anything else as compact JSON.
fn client_error_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(map) => {
            let mut parts = Vec::new();
            if let Some(t) = map.get("text").and_then(|t| t.as_str()) {
                parts.push(t.to_string());
            }
            if let Some(codes) = map.get("codes").and_then(|c| c.as_array()) {
                let hex: Vec<String> = codes
                    .iter()
                    .filter_map(|c| {
                        let hex = c.get("hex").and_then(|h| h.as_str())?;
                        Some(match c.get("name").and_then(|n| n.as_str()) {
                            Some(name) => format!("{hex} ({name})"),
                            None => hex.to_string(),
                        })
                    })
                    .collect();
                if !hex.is_empty() {
                    parts.push(hex.join(", "));
                }
            }
            if parts.is_empty() {
                v.to_string()
            } else {
                parts.join("; ")
            }
        }
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Report {
    pub fn new() -> Report {
        Report::default()
    }

    pub fn hosts(&self) -> u64 {
        self.hosts
    }

    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Records a line that is not a scan result.
    pub fn skip(&mut self, line: u64, reason: &str) {
        self.skipped += 1;
        if self.skipped_listed.len() < SKIPPED_LISTED {
            self.skipped_listed.push((line, reason.to_string()));
        }
    }

    /// Lines whose fields were cut to the report's bounds.
    pub fn cut(&self) -> u64 {
        self.cut
    }

    /// Records a line whose fields were cut to the report's bounds (`what`: which, how long).
    pub fn note_cut(&mut self, line: u64, what: &str) {
        self.cut += 1;
        if self.cut_listed.len() < SKIPPED_LISTED {
            self.cut_listed.push((line, what.to_string()));
        }
    }

    /// Adds one host: its table row goes to `rows`, its section to `sections`.
    pub fn add(
        &mut self,
        host: &Host<'_>,
        rows: &mut dyn Write,
        sections: &mut dyn Write,
    ) -> io::Result<()> {
        self.hosts += 1;
        let n = self.hosts;
        let d = host.diagnosis;
        let target = d.target.as_deref().unwrap_or("(no target)");
        let status = d.verdict.status;
        self.by_status[status_index(status)] += 1;
        if let Some(t) = host.started_at {
            if self.first_scan.as_deref().is_none_or(|f| t < f) {
                self.first_scan = Some(t.to_string());
            }
            if self.last_scan.as_deref().is_none_or(|l| t > l) {
                self.last_scan = Some(t.to_string());
            }
        }
        for f in &d.findings {
            self.add_finding(f, n, target);
        }
        if !host.clients.is_empty() {
            self.hosts_with_clients += 1;
        }
        for c in host.clients {
            self.add_client(c, n, target);
        }
        if let Some(c) = &d.facts.certificate {
            self.marks.push(Mark {
                days: c.days_left,
                expired: c.expired || c.days_left < 0,
                host: n,
                target: target.to_string(),
                sha1: c.sha1.clone(),
                not_after: c.not_after.clone(),
            });
        }
        rows.write_all(self.row(n, host).as_bytes())?;
        let mut sec = section(n, host);
        sec.push(SECTION_END);
        sections.write_all(sec.as_bytes())?;
        Ok(())
    }

    fn add_finding(&mut self, f: &rdpdoctor_diagnose::Finding, n: u64, target: &str) {
        if !self.findings.contains_key(&f.id) && self.findings.len() >= FINDING_IDS_KEPT {
            self.other_finding_ids += 1;
            return;
        }
        let agg = self
            .findings
            .entry(f.id.clone())
            .or_insert_with(|| FindingAgg {
                severity: f.severity,
                title: f.title.clone(),
                count: 0,
                hosts: HostList::default(),
            });
        agg.count += 1;
        agg.hosts.offer(n, target);
    }

    /// Counts one client's outcome on host `n`. Clients are found by id through an index, so
    /// a scan that names a new client on every line costs the same per line as any other.
    fn add_client(&mut self, c: &ClientOutcome, n: u64, target: &str) {
        let mut key =
            c.id.clone()
                .or_else(|| c.name.clone())
                .unwrap_or_else(|| "(unnamed client)".to_string());
        if !self.client_index.contains_key(&key) && self.clients.len() >= CLIENTS_LISTED {
            key = OTHER_CLIENTS.to_string();
        }
        let idx = match self.client_index.get(&key) {
            Some(i) => *i,
            None => {
                let name = if key == OTHER_CLIENTS {
                    key.clone()
                } else {
                    c.name.clone().unwrap_or_else(|| key.clone())
                };
                self.clients.push((
                    key.clone(),
                    ClientAgg {
                        name,
                        ..ClientAgg::default()
                    },
                ));
                self.client_index.insert(key, self.clients.len() - 1);
                self.clients.len() - 1
            }
        };
        if let Some((_, agg)) = self.clients.get_mut(idx) {
            match c.outcome.as_deref() {
                Some("connects") => agg.connects += 1,
                Some("prompts") => agg.prompts += 1,
                Some("fails") => {
                    agg.fails += 1;
                    agg.failing.offer(n, target);
                }
                _ => agg.other += 1,
            }
        }
    }

    fn row(&self, n: u64, host: &Host<'_>) -> String {
        let d = host.diagnosis;
        let f = &d.facts;
        let mut r = String::with_capacity(512);
        let status = status_label(d.verdict.status);
        let ids: Vec<&str> = d.findings.iter().map(|f| f.id.as_str()).collect();
        let _ = write!(r, "<tr data-s=\"{status}\" data-f=\"");
        push_esc(&mut r, &ids.join(" "));
        let _ = write!(r, "\"><td data-v=\"{n}\">{n}</td><td><a href=\"#h{n}\">");
        push_esc(&mut r, d.target.as_deref().unwrap_or("(no target)"));
        let _ = write!(
            r,
            "</a></td><td data-v=\"{}\"><span class=\"v {status}\">{status}</span></td><td>",
            status_index(d.verdict.status)
        );
        if let Some(id) = &d.verdict.finding {
            push_esc(&mut r, id);
        }
        r.push_str("</td><td>");
        push_esc(&mut r, &f.tls_versions.join(", "));
        r.push_str("</td><td>");
        r.push_str(match f.nla_required {
            Some(true) => "required",
            Some(false) => "not required",
            None => "",
        });
        r.push_str("</td>");
        match &f.certificate {
            Some(c) => {
                let _ = write!(r, "<td data-v=\"{}\">{} (", c.days_left, c.expiry());
                push_esc(&mut r, &c.not_after);
                r.push_str(")</td>");
            }
            None => r.push_str("<td data-v=\"\"></td>"),
        }
        if self.hosts_with_clients > 0 || !host.clients.is_empty() {
            let failing: Vec<&str> = host
                .clients
                .iter()
                .filter(|c| c.outcome.as_deref() == Some("fails"))
                .filter_map(|c| c.name.as_deref().or(c.id.as_deref()))
                .collect();
            r.push_str("<td>");
            push_esc(&mut r, &failing.join(", "));
            r.push_str("</td>");
        }
        r.push_str("</tr>\n");
        r
    }

    /// Everything before the table rows: document head, summary, timeline, common findings,
    /// client matrix, and the table's header.
    pub fn write_head(&self, out: &mut dyn Write, meta: &Meta<'_>) -> io::Result<()> {
        let mut h = String::with_capacity(64 * 1024);
        let csp = format!(
            "default-src 'none'; style-src 'sha256-{}'; script-src 'sha256-{}'; img-src data:; base-uri 'none'; form-action 'none'",
            sha256_b64(STYLE),
            sha256_b64(SCRIPT)
        );
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"generator\" content=\"rdpdoctor {}\">\n\
             <title>RDP fleet report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
            env!("CARGO_PKG_VERSION"),
            count(self.hosts, "host")
        );
        self.page_header(&mut h, meta);
        h.push_str("</header>\n<nav><a href=\"#summary\">Summary</a> <a href=\"#timeline\">Certificates</a> <a href=\"#findings\">Findings</a>");
        if !self.clients.is_empty() {
            h.push_str(" <a href=\"#clients\">Clients</a>");
        }
        h.push_str(" <a href=\"#table\">Hosts</a></nav>\n<main>\n");

        let top = self.top_findings();
        self.summary(&mut h, &top);
        self.timeline(&mut h);
        self.findings_section(&mut h, &top);
        self.clients_section(&mut h);

        self.table_head(&mut h);
        out.write_all(h.as_bytes())
    }

    /// The header: what was read, when, and the lines skipped.
    fn page_header(&self, h: &mut String, meta: &Meta<'_>) {
        h.push_str("<header><h1>RDP fleet report</h1><p class=\"meta\">");
        let _ = write!(h, "{} from <code>", count(self.hosts, "host"));
        push_esc(h, meta.source);
        h.push_str("</code>");
        if let (Some(first), Some(last)) = (&self.first_scan, &self.last_scan) {
            let (first, last) = (to_the_second(first), to_the_second(last));
            h.push_str(", scanned ");
            push_esc(h, &first);
            if first != last {
                h.push_str(" to ");
                push_esc(h, &last);
            }
        }
        h.push_str("; report made ");
        push_esc(h, meta.generated);
        let _ = write!(
            h,
            " by rdpdoctor {}. Days left are as of the scan.</p>",
            env!("CARGO_PKG_VERSION")
        );
        if self.skipped > 0 {
            let _ = write!(
                h,
                "<div class=\"skipped\" id=\"skipped\" data-skipped=\"{}\"><strong>{} skipped</strong> (not a scan result):",
                self.skipped,
                count(self.skipped, "line")
            );
            line_list(h, &self.skipped_listed, self.skipped);
            h.push_str("</div>");
        }
        if self.cut > 0 {
            let _ = write!(
                h,
                "<div class=\"skipped\" id=\"cut\" data-cut=\"{}\"><strong>{} with fields cut</strong> to the report's bounds (strings of at most 4096 bytes, 512 for a target; lists of at most 256 items; <code>rdpdoctor scan</code> never writes more), each marked where it was cut:",
                self.cut,
                count(self.cut, "line")
            );
            line_list(h, &self.cut_listed, self.cut);
            h.push_str("</div>");
        }
    }

    /// The summary: verdict counts and the commonest findings.
    fn summary(&self, h: &mut String, top: &[(&String, &FindingAgg)]) {
        // Summary: verdict counts.
        h.push_str("<section id=\"summary\"><h2>Summary</h2><div class=\"tiles\">");
        for s in STATUS_ORDER {
            let label = status_label(s);
            let _ = write!(
                h,
                "<button class=\"tile {label}\" data-verdict=\"{label}\" title=\"Show only {label} hosts in the table\"><b id=\"n-{label}\">{}</b>{label}</button>",
                self.by_status[status_index(s)]
            );
        }
        h.push_str("</div>");
        if !top.is_empty() {
            h.push_str("<p>Top findings: ");
            for (i, (id, agg)) in top.iter().take(5).enumerate() {
                if i > 0 {
                    h.push_str(", ");
                }
                h.push_str("<a href=\"#f-");
                push_esc(h, id);
                h.push_str("\">");
                push_esc(h, id);
                let _ = write!(h, "</a> ({})", agg.count);
            }
            h.push_str("</p>");
        }
        h.push_str("</section>\n");
    }

    /// The hosts table's filters and header row; rows follow.
    fn table_head(&self, h: &mut String) {
        // The table header; rows follow.
        let _ = write!(
            h,
            "<section id=\"table\"><h2>Hosts</h2><div class=\"filters\"><label>Filter <input id=\"q\" type=\"search\" placeholder=\"host, finding id, TLS version...\"></label> \
             <label>Verdict <select id=\"vf\"><option value=\"\">any</option><option>broken</option><option>unreachable</option><option>degraded</option><option>healthy</option></select></label> \
             <span id=\"shown\">{n} of {n} hosts shown</span></div>\n\
             <table id=\"hosts\"><thead><tr><th data-t=\"n\"><button>#</button></th><th><button>Target</button></th><th data-t=\"n\"><button>Verdict</button></th><th><button>Explaining finding</button></th><th><button>TLS versions</button></th><th><button>NLA</button></th><th data-t=\"n\"><button>Certificate expiry</button></th>",
            n = self.hosts
        );
        if self.hosts_with_clients > 0 {
            h.push_str("<th><button>Clients that fail</button></th>");
        }
        h.push_str("</tr></thead><tbody>\n");
    }

    /// Between the rows and the host sections, which follow as base64 of the gzip of every
    /// section, each ended by [`SECTION_END`]; the page's script unpacks them in the browser.
    pub fn write_middle(&self, out: &mut dyn Write) -> io::Result<()> {
        let all = self.hosts <= ALL_SECTIONS_MAX;
        let how = if all {
            "Every host"
        } else {
            "Open a host from the table, the timeline or the findings to see it here"
        };
        let t = format!(
            "</tbody></table></section>\n<section id=\"details\"><h2>Hosts in detail</h2><p>{how}, as <code>rdpdoctor check</code> prints it: the verdict, the finding that explains it with its evidence and fixes, the other findings, and the details.</p>\n\
             <noscript><p>The host sections need JavaScript.</p></noscript><div id=\"host-view\"></div>\n\
             <script type=\"application/gzip\" id=\"host-data\" data-hosts=\"{}\" data-all=\"{}\">",
            self.hosts,
            u8::from(all)
        );
        out.write_all(t.as_bytes())
    }

    pub fn write_tail(&self, out: &mut dyn Write) -> io::Result<()> {
        let t = format!(
            "</script>\n</section>\n</main>\n<div id=\"tip\" hidden></div>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
        );
        out.write_all(t.as_bytes())
    }

    fn top_findings(&self) -> Vec<(&String, &FindingAgg)> {
        let mut top: Vec<(&String, &FindingAgg)> = self.findings.iter().collect();
        top.sort_by(|a, b| {
            b.1.count
                .cmp(&a.1.count)
                .then(severity_rank(a.1.severity).cmp(&severity_rank(b.1.severity)))
                .then(a.0.cmp(b.0))
        });
        top
    }

    fn findings_section(&self, h: &mut String, top: &[(&String, &FindingAgg)]) {
        h.push_str("<section id=\"findings\"><h2>Most common findings</h2>");
        if top.is_empty() {
            h.push_str("<p>No findings.</p></section>\n");
            return;
        }
        h.push_str("<table class=\"plain\"><thead><tr><th>Hosts</th><th>Finding</th><th>Severity</th><th>Hosts affected</th></tr></thead><tbody>");
        for (id, agg) in top.iter().take(FINDINGS_LISTED) {
            let sev = agg.severity.label();
            h.push_str("<tr id=\"f-");
            push_esc(h, id);
            let _ = write!(h, "\"><td class=\"num\">{}</td><td><code>", agg.count);
            push_esc(h, id);
            h.push_str("</code><br>");
            push_esc(h, &agg.title);
            let _ = write!(
                h,
                "</td><td><span class=\"sev {sev}\">{sev}</span></td><td>"
            );
            host_links(h, &agg.hosts);
            if agg.count > agg.hosts.len() as u64 {
                let _ = write!(
                    h,
                    " <button class=\"more\" data-filter=\"{}\">all {} in the table</button>",
                    esc(id),
                    agg.count
                );
            }
            h.push_str("</td></tr>");
        }
        h.push_str("</tbody></table>");
        if self.other_finding_ids > 0 {
            let _ = write!(
                h,
                "<p>{} of ids beyond the first {FINDING_IDS_KEPT} distinct ids are not counted here; filter the table to find them.</p>",
                count(self.other_finding_ids, "finding")
            );
        }
        if top.len() > FINDINGS_LISTED {
            let _ = write!(
                h,
                "<p>{}; filter the table by id to see their hosts.</p>",
                count(top.len() - FINDINGS_LISTED, "other finding")
            );
        }
        h.push_str("</section>\n");
    }

    fn clients_section(&self, h: &mut String) {
        if self.clients.is_empty() {
            return;
        }
        let _ = write!(
            h,
            "<section id=\"clients\"><h2>Clients</h2><p>What each client profile does against the {} scanned with <code>--clients</code>.</p>\
             <table class=\"plain\" id=\"client-matrix\"><thead><tr><th>Client</th><th>connects</th><th>prompts</th><th>fails</th>",
            count(self.hosts_with_clients, "host")
        );
        let other = self.clients.iter().any(|(_, a)| a.other > 0);
        if other {
            h.push_str("<th>other</th>");
        }
        h.push_str("<th>Hosts it fails on</th></tr></thead><tbody>");
        for (_, a) in &self.clients {
            h.push_str("<tr><td>");
            push_esc(h, &a.name);
            let _ = write!(
                h,
                "</td><td class=\"num ok\">{}</td><td class=\"num warn\">{}</td><td class=\"num bad\">{}</td>",
                a.connects, a.prompts, a.fails
            );
            if other {
                let _ = write!(h, "<td class=\"num\">{}</td>", a.other);
            }
            h.push_str("<td>");
            host_links(h, &a.failing);
            if a.fails > a.failing.len() as u64 {
                let _ = write!(h, " and {} more", a.fails - a.failing.len() as u64);
            }
            h.push_str("</td></tr>");
        }
        h.push_str("</tbody></table></section>\n");
    }

    /// The certificate-expiry timeline: one mark per host on a days-left axis with three
    /// bands (expired, within 30 days, later). The later band is logarithmic so that both a
    /// certificate due in 40 days and one due in ten years fit.
    fn timeline(&self, h: &mut String) {
        h.push_str("<section id=\"timeline\"><h2>Certificate expiry</h2>");
        if self.marks.is_empty() {
            h.push_str("<p>No host presented a certificate.</p></section>\n");
            return;
        }
        let expired = self.marks.iter().filter(|m| m.expired).count();
        let soon = self
            .marks
            .iter()
            .filter(|m| !m.expired && m.days <= SOON_DAYS)
            .count();
        let later = self.marks.len() - expired - soon;
        let max_days = self
            .marks
            .iter()
            .map(|m| m.days)
            .max()
            .unwrap_or(0)
            .max(365);
        let scale = Scale { max_days };
        let _ = write!(
            h,
            "<p><span class=\"key expired\"></span>{expired} expired <span class=\"key soon\"></span>{soon} within {SOON_DAYS} days <span class=\"key later\"></span>{later} later. Hover a mark for the host, days left and SHA-1 thumbprint; click it for the host.</p>"
        );
        let _ = write!(
            h,
            "<svg id=\"timeline-svg\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"Certificate expiry of {}\" data-marks=\"{}\">",
            count(self.marks.len(), "host"),
            self.marks.len()
        );
        timeline_axis(h, &scale);
        self.timeline_marks(h, &scale);
        h.push_str("</svg></section>\n");
    }

    /// The timeline's marks, one per certificate, linked to its host.
    fn timeline_marks(&self, h: &mut String, scale: &Scale) {
        // Marks stack upwards in columns of MARK_STEP pixels; a full column starts again at
        // the bottom (opacity shows the density).
        let mut columns: HashMap<i64, u32> = HashMap::new();
        let mut marks: Vec<&Mark> = self.marks.iter().collect();
        marks.sort_by_key(|m| (m.days, m.host));
        for m in marks {
            // Expired less than a day ago (days 0) still belongs in the expired band.
            let x = scale.x(if m.expired { m.days.min(-1) } else { m.days });
            let col = (x / MARK_STEP).round() as i64;
            let k = columns.entry(col).or_default();
            let y = BASE - 5.0 - f64::from(*k % STACK) * MARK_STEP;
            *k += 1;
            let class = if m.expired {
                "expired"
            } else if m.days <= SOON_DAYS {
                "soon"
            } else {
                "later"
            };
            let _ = write!(
                h,
                "<a href=\"#h{}\"><circle class=\"m {class}\" cx=\"{:.1}\" cy=\"{y:.1}\" r=\"3\"><title>",
                m.host,
                col as f64 * MARK_STEP
            );
            push_esc(h, &m.target);
            let _ = write!(
                h,
                "\n{} (notAfter ",
                rdpdoctor_diagnose::expiry_words(m.days, m.expired)
            );
            push_esc(h, &m.not_after);
            h.push_str(")\nSHA-1 ");
            push_esc(h, &m.sha1);
            h.push_str("</title></circle></a>");
        }
    }
}

/// The timeline's bands (expired, soon, later), ticks and axis label.
fn timeline_axis(h: &mut String, scale: &Scale) {
    let (x0, x1, x2) = (X_EXPIRED, X_SOON, X_LATER);
    let _ = write!(
        h,
        "<rect class=\"band expired\" x=\"{x0}\" y=\"{TOP}\" width=\"{}\" height=\"{}\"/>\
         <rect class=\"band soon\" x=\"{x1}\" y=\"{TOP}\" width=\"{}\" height=\"{}\"/>\
         <rect class=\"band later\" x=\"{x2}\" y=\"{TOP}\" width=\"{}\" height=\"{}\"/>\
         <text class=\"bl\" x=\"{}\" y=\"14\">expired</text><text class=\"bl\" x=\"{}\" y=\"14\">within {SOON_DAYS} days</text><text class=\"bl\" x=\"{}\" y=\"14\">later</text>\
         <line class=\"axis\" x1=\"{x0}\" y1=\"{BASE}\" x2=\"{X_END}\" y2=\"{BASE}\"/>",
        x1 - x0,
        BASE - TOP,
        x2 - x1,
        BASE - TOP,
        X_END - x2,
        BASE - TOP,
        (x0 + x1) / 2.0,
        (x1 + x2) / 2.0,
        (x2 + X_END) / 2.0,
    );
    for t in [-365, -90, 0, 7, 14, 30, 90, 365, 730, 1825, 3650, 7300] {
        if t > scale.max_days {
            continue;
        }
        let x = scale.x(t);
        let label = if t == -365 {
            "≤ -365".to_string()
        } else {
            t.to_string()
        };
        let _ = write!(
            h,
            "<line class=\"tick\" x1=\"{x:.1}\" y1=\"{BASE}\" x2=\"{x:.1}\" y2=\"{}\"/><text class=\"tl\" x=\"{x:.1}\" y=\"{}\">{}</text>",
            BASE + 4.0,
            BASE + 16.0,
            esc(&label)
        );
    }
    let _ = write!(
        h,
        "<text class=\"tl\" x=\"{}\" y=\"{}\">days left</text>",
        X_END - 30.0,
        BASE + 30.0
    );
}

const SOON_DAYS: i64 = 30;
const W: f64 = 1000.0;
const H: f64 = 190.0;
const TOP: f64 = 20.0;
const BASE: f64 = 150.0;
const X_EXPIRED: f64 = 20.0;
const X_SOON: f64 = 220.0;
const X_LATER: f64 = 470.0;
const X_END: f64 = 980.0;
const MARK_STEP: f64 = 6.0;
const STACK: u32 = 20;

/// Days left to x: expired (-365..0, older clamped), within 30 days (linear), later (log).
struct Scale {
    max_days: i64,
}

impl Scale {
    fn x(&self, days: i64) -> f64 {
        if days < 0 {
            let d = days.max(-365) as f64;
            X_EXPIRED + (X_SOON - X_EXPIRED) * (d + 365.0) / 365.0
        } else if days <= SOON_DAYS {
            X_SOON + (X_LATER - X_SOON) * days as f64 / SOON_DAYS as f64
        } else {
            let span = (self.max_days as f64 / SOON_DAYS as f64).ln();
            let at = (days as f64 / SOON_DAYS as f64).ln();
            X_LATER + (X_END - X_LATER) * if span > 0.0 { at / span } else { 1.0 }
        }
    }
}

/// A scan's RFC 3339 start time to the second; anything else as it is.
fn to_the_second(t: &str) -> String {
    t.parse::<jiff::Timestamp>()
        .ok()
        .and_then(|t| t.round(jiff::Unit::Second).ok())
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| t.to_string())
}

/// A list of input lines and what is wrong with each, then how many more there are.
fn line_list(h: &mut String, listed: &[(u64, String)], total: u64) {
    h.push_str("<ul>");
    for (line, reason) in listed {
        let _ = write!(h, "<li>line {line}: ");
        push_esc(h, reason);
        h.push_str("</li>");
    }
    if total > listed.len() as u64 {
        let _ = write!(h, "<li>and {} more</li>", total - listed.len() as u64);
    }
    h.push_str("</ul>");
}

fn host_links(h: &mut String, hosts: &HostList) {
    for (i, (_, n, target)) in hosts.0.iter().enumerate() {
        if i > 0 {
            h.push_str(", ");
        }
        let _ = write!(h, "<a href=\"#h{n}\">");
        push_esc(h, target);
        h.push_str("</a>");
    }
}

/// One host's section: its verdict and the text `check` prints, then the clients.
fn section(n: u64, host: &Host<'_>) -> String {
    let d = host.diagnosis;
    let status = status_label(d.verdict.status);
    let report = text::report(d, host.duration_ms);
    let mut s = String::with_capacity(report.len() + 512);
    let _ = write!(s, "<section class=\"host\" id=\"h{n}\"><h3>");
    push_esc(&mut s, d.target.as_deref().unwrap_or("(no target)"));
    let _ = write!(
        s,
        " <span class=\"v {status}\">{status}</span> <a class=\"up\" href=\"#table\">hosts</a> <small>line {}</small></h3><pre>",
        host.line
    );
    push_esc(&mut s, &report);
    s.push_str("</pre>");
    if !host.clients.is_empty() {
        s.push_str("<table class=\"plain\"><thead><tr><th>Client</th><th>Outcome</th><th>Step</th><th>Reason</th><th>What it shows</th><th>Source</th></tr></thead><tbody>");
        for c in host.clients {
            let outcome = c.outcome.as_deref().unwrap_or("");
            let class = match outcome {
                "connects" => "ok",
                "prompts" => "warn",
                "fails" => "bad",
                _ => "",
            };
            s.push_str("<tr><td>");
            push_esc(&mut s, c.name.as_deref().or(c.id.as_deref()).unwrap_or(""));
            let _ = write!(s, "</td><td class=\"{class}\">");
            push_esc(&mut s, outcome);
            s.push_str("</td><td>");
            push_esc(&mut s, c.step.as_deref().unwrap_or(""));
            s.push_str("</td><td>");
            push_esc(&mut s, c.reason.as_deref().unwrap_or(""));
            s.push_str("</td><td>");
            if let Some(e) = &c.client_error {
                push_esc(&mut s, &client_error_text(e));
            }
            s.push_str("</td><td>");
            push_esc(&mut s, c.source.as_deref().unwrap_or(""));
            s.push_str("</td></tr>");
        }
        s.push_str("</tbody></table>");
    }
    s.push_str("</section>\n");
    s
}

/// Base64 of the SHA-256 of `text`, for the Content-Security-Policy that allows exactly the
/// page's own style and script and nothing else (no network, no injected script).
fn sha256_b64(text: &str) -> String {
    openssl::base64::encode_block(&openssl::sha::sha256(text.as_bytes()))
}

const STYLE: &str = r#"
:root{--bad:#c0392b;--unr:#7f1d5f;--warn:#b7791f;--ok:#2f855a;--fg:#1a202c;--mut:#5a6472;--line:#d9dee5;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg)}
body{margin:0 auto;max-width:1200px;padding:0 16px 40px;line-height:1.4}
header h1{margin:16px 0 4px;font-size:1.6em}.meta{color:var(--mut);margin:0 0 8px}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid var(--line);padding:6px 0;z-index:2}nav a{margin-right:14px}
h2{margin:22px 0 8px;font-size:1.25em}code{font-size:.95em}
.tiles{display:flex;gap:10px;flex-wrap:wrap}.tile{border:0;border-radius:6px;padding:8px 16px;color:#fff;font:inherit;cursor:pointer;min-width:110px;text-align:left}.tile b{display:block;font-size:1.7em}
.tile.broken,.v.broken{background:var(--bad)}.tile.unreachable,.v.unreachable{background:var(--unr)}.tile.degraded,.v.degraded{background:var(--warn)}.tile.healthy,.v.healthy{background:var(--ok)}
.v{color:#fff;border-radius:4px;padding:0 6px;font-size:.85em;font-weight:600}
.sev{border-radius:4px;padding:0 6px;font-size:.85em;border:1px solid}.sev.blocking{color:var(--bad)}.sev.warning{color:var(--warn)}.sev.info{color:var(--mut)}
.ok{color:var(--ok)}.warn{color:var(--warn)}.bad{color:var(--bad)}.num{text-align:right;font-variant-numeric:tabular-nums}
table{border-collapse:collapse;width:100%;font-size:.92em}th,td{border-bottom:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}
th button{all:unset;cursor:pointer;font-weight:600}th[aria-sort=ascending] button::after{content:" \25B2"}th[aria-sort=descending] button::after{content:" \25BC"}
#hosts thead th{position:sticky;top:32px;background:#f4f6f8}
.filters{margin:6px 0;display:flex;gap:14px;align-items:center;flex-wrap:wrap}#shown{color:var(--mut)}
.more{font:inherit;font-size:.85em;cursor:pointer}
svg{width:100%;height:auto;display:block;font-size:11px}.band.expired{fill:#fbe9e7}.band.soon{fill:#fff6e0}.band.later{fill:#eaf6ee}
.bl{text-anchor:middle;fill:var(--mut);font-weight:600}.tl{text-anchor:middle;fill:var(--mut)}.axis,.tick{stroke:#8a94a3}
.m{stroke:#fff;stroke-width:.6;opacity:.85}.m.expired{fill:var(--bad)}.m.soon{fill:var(--warn)}.m.later{fill:var(--ok)}.m:hover{stroke:#000;stroke-width:1.5;opacity:1}
.key{display:inline-block;width:10px;height:10px;border-radius:50%;margin:0 4px 0 10px}.key.expired{background:var(--bad)}.key.soon{background:var(--warn)}.key.later{background:var(--ok)}
#tip{position:fixed;pointer-events:none;background:#1a202c;color:#fff;padding:6px 8px;border-radius:4px;font-size:12px;white-space:pre;z-index:5}
.skipped{background:#fff6e0;border:1px solid #f0d48a;padding:6px 10px;border-radius:4px;margin:8px 0}.skipped ul{margin:4px 0;max-height:10em;overflow:auto}
section.host{border-top:2px solid var(--line);content-visibility:auto;contain-intrinsic-size:auto 500px}
section.host h3{margin:12px 0 4px;font-size:1.05em}section.host h3 small,.up{font-weight:normal;font-size:.8em;color:var(--mut)}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f7f8fa;padding:8px;border-radius:4px;font-size:.86em;margin:4px 0}
section.host:target,section.host.open{background:#fffbe6}
"#;

/// Sorting, filtering, the timeline hover and `#filter=...` links. Data stays in the DOM
/// (attributes and text set by the server side, escaped), so nothing here parses scan data.
const SCRIPT: &str = r#"
(function(){
'use strict';
var table=document.getElementById('hosts');
var body=table.tBodies[0];
var rows=Array.prototype.slice.call(body.rows);
var q=document.getElementById('q'),vf=document.getElementById('vf'),shown=document.getElementById('shown');
function key(r){if(r._k===undefined){r._k=(r.textContent+' '+(r.getAttribute('data-f')||'')).toLowerCase();}return r._k;}
function apply(){
  var text=q.value.trim().toLowerCase(),v=vf.value,n=0;
  for(var i=0;i<rows.length;i++){var r=rows[i];
    var ok=(!v||r.getAttribute('data-s')===v)&&(!text||key(r).indexOf(text)>=0);
    r.hidden=!ok;if(ok){n++;}}
  shown.textContent=n+' of '+rows.length+' hosts shown';
}
var timer;
q.addEventListener('input',function(){clearTimeout(timer);timer=setTimeout(apply,150);});
vf.addEventListener('change',apply);
var ths=table.tHead.rows[0].cells,sorted=-1,asc=true;
function val(r,c){var cell=r.cells[c];if(!cell){return '';}var v=cell.getAttribute('data-v');return v===null?cell.textContent:v;}
function sortBy(c,dir){
  asc=dir===undefined?(sorted===c?!asc:true):dir;sorted=c;
  var num=ths[c].getAttribute('data-t')==='n';
  rows.sort(function(a,b){
    var x=val(a,c),y=val(b,c),r;
    if(num){var nx=x===''?NaN:Number(x),ny=y===''?NaN:Number(y);
      if(isNaN(nx)&&isNaN(ny)){r=0;}else if(isNaN(nx)){return 1;}else if(isNaN(ny)){return -1;}else{r=nx-ny;}}
    else{r=x.localeCompare(y);}
    if(r===0){r=Number(val(a,0))-Number(val(b,0));}
    return asc?r:-r;});
  var frag=document.createDocumentFragment();
  for(var i=0;i<rows.length;i++){frag.appendChild(rows[i]);}
  body.appendChild(frag);
  for(var j=0;j<ths.length;j++){if(j===c){ths[j].setAttribute('aria-sort',asc?'ascending':'descending');}else{ths[j].removeAttribute('aria-sort');}}
}
Array.prototype.forEach.call(ths,function(th,i){th.querySelector('button').addEventListener('click',function(){sortBy(i);});});
function filterTo(text,verdict){q.value=text||'';vf.value=verdict||'';apply();document.getElementById('table').scrollIntoView();}
document.addEventListener('click',function(e){
  var b=e.target.closest('[data-filter],[data-verdict]');
  if(!b){return;}
  filterTo(b.getAttribute('data-filter'),b.getAttribute('data-verdict'));
});
var tip=document.getElementById('tip'),svg=document.getElementById('timeline-svg');
if(svg){
  svg.addEventListener('mouseover',function(e){
    var m=e.target.closest('.m');if(!m){return;}
    var t=m.querySelector('title');
    if(t){m.setAttribute('data-tip',t.textContent);m.removeChild(t);}
    tip.textContent=m.getAttribute('data-tip')||'';tip.hidden=false;
  });
  svg.addEventListener('mousemove',function(e){tip.style.left=(e.clientX+12)+'px';tip.style.top=(e.clientY+12)+'px';});
  svg.addEventListener('mouseout',function(e){if(e.target.closest('.m')){tip.hidden=true;}});
}
var data=document.getElementById('host-data'),view=document.getElementById('host-view'),texts=null,pending=null;
function unpack(){
  if(texts){return Promise.resolve(texts);}
  if(!pending){
    var bin=atob(data.textContent.trim()),bytes=new Uint8Array(bin.length);
    for(var i=0;i<bin.length;i++){bytes[i]=bin.charCodeAt(i);}
    pending=new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text()
      .then(function(t){texts=t.split('\u0001');return texts;});
  }
  return pending;
}
function count(){document.documentElement.setAttribute('data-sections',String(view.children.length));}
function showHost(n,scroll){
  return unpack().then(function(t){
    var id='h'+n,el=document.getElementById(id);
    if(!el&&t[n-1]!==undefined){
      var after=null;
      for(var c=view.firstElementChild;c;c=c.nextElementSibling){if(Number(c.id.slice(1))>n){after=c;break;}}
      var box=document.createElement('div');box.innerHTML=t[n-1];el=box.firstElementChild;
      if(el){view.insertBefore(el,after);}
      count();
    }
    if(el&&scroll){var old=view.querySelector('.open');if(old){old.classList.remove('open');}el.classList.add('open');el.scrollIntoView();}
  });
}
function hostFromHash(){var m=/^#h(\d+)$/.exec(location.hash);if(m){showHost(Number(m[1]),true);}}
if(data.getAttribute('data-all')==='1'){
  unpack().then(function(t){view.innerHTML=t.join('');count();hostFromHash();});
}else{hostFromHash();}
window.addEventListener('hashchange',hostFromHash);
var cols={target:1,verdict:2,finding:3,tls:4,nla:5,expiry:6};
function fromHash(){
  var h=location.hash.slice(1);if(h.indexOf('=')<0){return;}
  var p={};h.split('&').forEach(function(kv){var i=kv.indexOf('=');if(i>0){try{p[kv.slice(0,i)]=decodeURIComponent(kv.slice(i+1));}catch(err){}}});
  if(p.sort&&cols[p.sort]!==undefined){sortBy(cols[p.sort],p.dir!=='desc');}
  if(p.filter!==undefined||p.verdict!==undefined){q.value=p.filter||'';vf.value=p.verdict||'';apply();}
}
window.addEventListener('hashchange',fromHash);
fromHash();
document.documentElement.setAttribute('data-ready',String(rows.length));
document.documentElement.setAttribute('data-ready-ms',String(Math.round(performance.now())));
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_control_characters_from_servers_are_neutralised() {
        let mut out = String::new();
        push_esc(
            &mut out,
            "<a href='x' title=\"y\">&\u{7}\u{1b}[0m\u{85}</a>\nok\t",
        );
        assert_eq!(
            out,
            "&lt;a href=&#39;x&#39; title=&quot;y&quot;&gt;&amp;\\u{7}\\u{1b}[0m\\u{85}&lt;/a&gt;\nok\t"
        );
    }

    #[test]
    fn the_timeline_scale_keeps_the_bands_apart_and_in_order() {
        let s = Scale { max_days: 3650 };
        let xs: Vec<f64> = [-1000, -365, -1, 0, 30, 31, 365, 3650]
            .iter()
            .map(|d| s.x(*d))
            .collect();
        assert!(xs.windows(2).all(|w| w[0] <= w[1]), "{xs:?}");
        assert_eq!(s.x(-1000), X_EXPIRED);
        assert!(s.x(-1) < X_SOON && s.x(0) == X_SOON && s.x(30) == X_LATER);
        assert!((s.x(3650) - X_END).abs() < 1e-9);
    }

    #[test]
    fn client_errors_read_as_words() {
        assert_eq!(client_error_text(&serde_json::json!("0x904")), "0x904");
        assert_eq!(
            client_error_text(
                &serde_json::json!({"text": "An internal error", "codes": [{"hex": "0x4", "name": "X"}]})
            ),
            "An internal error; 0x4 (X)"
        );
        assert_eq!(client_error_text(&serde_json::json!(7)), "7");
    }
}
