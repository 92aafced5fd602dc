//! The `explain` model: parses what the user typed, decodes it against the tables, and attaches
//! what [`crate::knowledge`] knows about causes. Pure data in, serializable data out; the CLI only
//! renders it.

use crate::knowledge::{Basis, Cause, Confidence, FindingLinks, NotFit, Scenario, Step, SCENARIOS};
use crate::{entries, lookup, lookup_all, lookup_name, CodeEntry, CodeRef, EvidenceKind, Family};
use serde::Serialize;

/// Input that cannot be decoded at all (exit status 2 in the CLI).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExplainError {
    #[error("no code given; pass one like 0x904, 2308 or ERRINFO_SERVER_DENIED_CONNECTION")]
    NoInput,
    #[error("an argument is empty; pass a code like 0x904 or 2308")]
    EmptyInput,
    #[error("'{input}' is not a valid number ({reason}); write hex as 0x904 or decimal as 2308")]
    BadNumber { input: String, reason: String },
    #[error("'{input}' is too large: codes are 32-bit (at most 0xFFFFFFFF = 4294967295)")]
    OutOfRange { input: String },
    #[error(
        "'{input}' is neither a number nor a known code name; give a hex (0x904) or decimal \
         (2308) code, or a name such as ERRINFO_SERVER_DENIED_CONNECTION or STATUS_LOGON_FAILURE"
    )]
    NotACode { input: String },
    #[error("'{input}' names a {found} code, not a {wanted} code; drop --as or use --as {found}")]
    NameInOtherFamily {
        input: String,
        found: Family,
        wanted: Family,
    },
}

/// The result of `explain`: one entry per decoded (or undecodable) code, plus the
/// interpretations (which step failed, ranked causes, what does not fit).
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub codes: Vec<CodeExplanation>,
    pub interpretations: Vec<Interpretation>,
}

impl Explanation {
    /// `true` when every code decoded to an officially named entry.
    pub fn all_decoded(&self) -> bool {
        self.codes.iter().all(|c| c.known)
    }
}

/// A code and what the tables say about it.
#[derive(Debug, Clone, Serialize)]
pub struct CodeExplanation {
    /// The argument as typed.
    pub input: String,
    /// The family the code was decoded in (or, for unknown codes given with `--as`, the family
    /// asked for). `None` when the number is defined nowhere.
    pub family: Option<Family>,
    pub value: u32,
    pub value_hex: String,
    /// Official name; `None` when unknown or undocumented.
    pub name: Option<&'static str>,
    pub meaning: Option<&'static str>,
    /// `true` when the code decoded to an officially named entry.
    pub known: bool,
    /// `false` when no primary source documents the value.
    pub documented: bool,
    pub source: Option<&'static str>,
    /// Sub-table (e.g. "licensing", "xfreerdp exit code").
    pub group: Option<&'static str>,
    pub aliases: &'static [&'static str],
    /// The role of this code in the input: "disconnect reason", "extended reason", or
    /// "candidate N of M" when a bare number is defined in several families.
    pub role: String,
    pub notes: Vec<String>,
    pub see_also: Vec<SeeAlso>,
    /// `check` findings whose likely client codes include this one.
    pub findings: Vec<&'static str>,
    /// Ranked causes known to end with this code (from the matching interpretation).
    pub causes: Vec<CauseOut>,
    /// How to gather the evidence: `rdpdoctor check` findings and commands.
    pub checks: Vec<String>,
    /// Id of the interpretation (scenario) that applies, if any.
    pub interpretation: Option<&'static str>,
    /// For codes that did not decode: what can still be said.
    pub unknown: Option<UnknownInfo>,
}

/// A linked code in another family.
#[derive(Debug, Clone, Serialize)]
pub struct SeeAlso {
    pub family: Family,
    pub value: u32,
    pub name: Option<&'static str>,
}

/// What can be said about a code that is not in the tables.
#[derive(Debug, Clone, Serialize)]
pub struct UnknownInfo {
    /// Range and family-pattern facts.
    pub range: Vec<String>,
    /// Suggestions (e.g. "did you mean 0x904?").
    pub hints: Vec<String>,
}

/// A cause with its rank in the interpretation, and the findings its evidence produces.
#[derive(Debug, Clone, Serialize)]
pub struct CauseOut {
    pub rank: usize,
    pub id: &'static str,
    pub title: &'static str,
    pub confidence: Confidence,
    pub basis: Basis,
    pub why: &'static str,
    pub evidence: Vec<EvidenceOut>,
    pub rule_out: &'static str,
    pub fix: &'static str,
    /// Every finding id the cause's evidence produces.
    pub findings: Vec<&'static str>,
}

/// One piece of a cause's evidence, with the `rdpdoctor check` findings it produces.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceOut {
    pub kind: EvidenceKind,
    /// Finding ids this evidence produces; empty for raw Windows evidence.
    pub findings: Vec<&'static str>,
    pub what: &'static str,
    pub command: &'static str,
}

/// Which step failed and why, for one code or pair.
#[derive(Debug, Clone, Serialize)]
pub struct Interpretation {
    pub id: &'static str,
    pub title: &'static str,
    /// The inputs this interpretation applies to.
    pub inputs: Vec<String>,
    pub step: &'static Step,
    pub ranking: &'static str,
    pub causes: Vec<CauseOut>,
    pub does_not_fit: &'static [NotFit],
}

// ---------------------------------------------------------------------------------------------
// Parsing.

#[derive(Debug, Clone)]
enum Parsed {
    Number { value: u32, decimal: bool },
    Name(Vec<&'static CodeEntry>),
}

fn parse_input(raw: &str) -> Result<Parsed, ExplainError> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(ExplainError::EmptyInput);
    }
    let bad = |reason: &str| ExplainError::BadNumber {
        input: raw.to_string(),
        reason: reason.to_string(),
    };
    let too_big = || ExplainError::OutOfRange {
        input: raw.to_string(),
    };
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        let hex = hex.replace('_', "");
        if hex.is_empty() {
            return Err(bad("no digits after 0x"));
        }
        if let Some(c) = hex.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(bad(&format!("'{c}' is not a hex digit")));
        }
        let digits = hex.trim_start_matches('0');
        if digits.len() > 8 {
            return Err(too_big());
        }
        let value = u32::from_str_radix(if digits.is_empty() { "0" } else { digits }, 16)
            .map_err(|_| too_big())?;
        return Ok(Parsed::Number {
            value,
            decimal: false,
        });
    }
    if let Some(neg) = t.strip_prefix('-') {
        if !neg.is_empty() && neg.chars().all(|c| c.is_ascii_digit()) {
            // Signed 32-bit, as some logs print NTSTATUS / HRESULT values.
            let n: i64 = neg.parse().map_err(|_| too_big())?;
            if n > i64::from(i32::MAX) + 1 {
                return Err(too_big());
            }
            let signed = i32::try_from(-n).map_err(|_| too_big())?;
            return Ok(Parsed::Number {
                value: signed as u32,
                decimal: true,
            });
        }
        return Err(bad("a negative number must be followed by decimal digits"));
    }
    if t.chars().all(|c| c.is_ascii_digit()) {
        let digits = t.trim_start_matches('0');
        if digits.len() > 10 {
            return Err(too_big());
        }
        let n: u64 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| too_big())?
        };
        let value = u32::try_from(n).map_err(|_| too_big())?;
        return Ok(Parsed::Number {
            value,
            decimal: true,
        });
    }
    // Hex without a prefix, as Windows often prints NTSTATUS / HRESULT ("C000015B").
    if (4..=8).contains(&t.len())
        && t.chars().all(|c| c.is_ascii_hexdigit())
        && t.chars().any(|c| c.is_ascii_alphabetic())
    {
        if let Ok(value) = u32::from_str_radix(t, 16) {
            return Ok(Parsed::Number {
                value,
                decimal: false,
            });
        }
    }
    if t.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(bad(
            "it starts with a digit but is not a decimal or 0x-prefixed hex number",
        ));
    }
    let found = lookup_name(t);
    if found.is_empty() {
        return Err(ExplainError::NotACode {
            input: raw.to_string(),
        });
    }
    Ok(Parsed::Name(found))
}

// ---------------------------------------------------------------------------------------------
// Building the explanation.

/// Decodes the inputs. Two numbers (or a disconnect name and an extended name) are read as the
/// pair mstsc shows: a disconnect reason and an extended reason. A single number is looked up in
/// every family (most likely first) unless `family` picks one. `links` ties codes and causes to
/// `rdpdoctor check` findings.
pub fn explain(
    inputs: &[String],
    family: Option<Family>,
    links: &dyn FindingLinks,
) -> Result<Explanation, ExplainError> {
    if inputs.is_empty() {
        return Err(ExplainError::NoInput);
    }
    let parsed = inputs
        .iter()
        .map(|raw| parse_input(raw).map(|p| (raw.clone(), p)))
        .collect::<Result<Vec<_>, _>>()?;

    let mut out = Explanation {
        codes: Vec::new(),
        interpretations: Vec::new(),
    };

    if family.is_none() && parsed.len() == 2 {
        if let Some((d, x, swapped)) = as_pair(&parsed) {
            explain_pair(&mut out, &parsed, d, x, swapped, links);
            return Ok(out);
        }
    }

    for (raw, p) in &parsed {
        let group_start = out.codes.len();
        match (p, family) {
            (Parsed::Number { value, decimal }, Some(f)) => {
                out.codes.push(explain_in_family(
                    raw,
                    f,
                    *value,
                    *decimal,
                    "code".into(),
                    links,
                ));
            }
            (Parsed::Number { value, decimal }, None) => {
                explain_number(&mut out, raw, *value, *decimal, links);
            }
            (Parsed::Name(found), f) => explain_name(&mut out, raw, found, f, links)?,
        }
        // Attach interpretations to each code of this input on its own.
        for idx in group_start..out.codes.len() {
            let refs = vec![code_ref_of(&out.codes[idx])];
            if let Some(s) = best_scenario(&refs, None) {
                attach(&mut out, &[idx], s, links);
            }
        }
    }
    Ok(out)
}

/// A bare number: every family that defines it, most likely first.
fn explain_number(
    out: &mut Explanation,
    raw: &str,
    value: u32,
    decimal: bool,
    links: &dyn FindingLinks,
) {
    let mut cands: Vec<(Family, &'static CodeEntry, Option<String>)> = lookup_all(value)
        .into_iter()
        .map(|e| (e.family, e, None))
        .collect();
    if (0x0001_0000..=0x0001_FFFF).contains(&value) {
        if let Some(e) = lookup(Family::Errinfo, value & 0xFFFF) {
            cands.insert(0, (Family::Errinfo, e, Some(freerdp_class_note(value))));
        }
    }
    if cands.is_empty() {
        out.codes.push(unknown_code(raw, None, value, decimal));
    } else {
        let n = cands.len();
        for (i, (_, e, extra)) in cands.into_iter().enumerate() {
            let role = if n == 1 {
                "code".to_string()
            } else {
                format!("candidate {} of {n}", i + 1)
            };
            let mut c = from_entry(raw, e, value, role, links);
            if let Some(note) = extra {
                c.notes.insert(0, note);
            }
            out.codes.push(c);
        }
    }
}

/// A symbolic name: its entry (entries, when several families share it), in `family` if given.
fn explain_name(
    out: &mut Explanation,
    raw: &str,
    found: &[&'static CodeEntry],
    family: Option<Family>,
    links: &dyn FindingLinks,
) -> Result<(), ExplainError> {
    let chosen: Vec<&'static CodeEntry> = match family {
        Some(f) => found.iter().copied().filter(|e| e.family == f).collect(),
        None => found.to_vec(),
    };
    if chosen.is_empty() {
        let found_family = found.first().map(|e| e.family).unwrap_or(Family::Errinfo);
        return Err(ExplainError::NameInOtherFamily {
            input: raw.to_string(),
            found: found_family,
            wanted: family.unwrap_or(found_family),
        });
    }
    let n = chosen.len();
    for (i, e) in chosen.into_iter().enumerate() {
        let role = if n == 1 {
            "code".to_string()
        } else {
            format!("candidate {} of {n}", i + 1)
        };
        out.codes.push(from_entry(raw, e, e.value, role, links));
    }
    Ok(())
}

fn freerdp_class_note(value: u32) -> String {
    format!(
        "0x{value:08X} is FreeRDP's way of writing a Set Error Info code: class 1 (ERRINFO) in the \
         high 16 bits, errorInfo 0x{:X} in the low 16 bits.",
        value & 0xFFFF
    )
}

/// Returns (disconnect index, extended index, swapped) when the two inputs read as an mstsc pair.
fn as_pair(parsed: &[(String, Parsed)]) -> Option<(usize, usize, bool)> {
    let is_disc = |p: &Parsed| match p {
        Parsed::Number { value, .. } => *value <= 0xFFFF,
        Parsed::Name(es) => es.iter().any(|e| e.family == Family::Disconnect),
    };
    let is_ext = |p: &Parsed| match p {
        Parsed::Number { value, .. } => *value <= 0xFFFF,
        Parsed::Name(es) => es
            .iter()
            .any(|e| matches!(e.family, Family::Extended | Family::Errinfo)),
    };
    let known_disc = |p: &Parsed| match p {
        Parsed::Number { value, .. } => entries(Family::Disconnect)
            .iter()
            .any(|e| e.value == *value),
        Parsed::Name(es) => es.iter().any(|e| e.family == Family::Disconnect),
    };
    let [(_, a), (_, b)] = parsed else {
        return None;
    };
    if !((is_disc(a) && is_ext(b)) || (is_disc(b) && is_ext(a))) {
        return None;
    }
    // Typed the other way round ("0x7 0x904")? Only swap when it is unambiguous.
    if !known_disc(a) && known_disc(b) && is_ext(a) && is_disc(b) {
        let a_is_ext = match a {
            Parsed::Number { value, .. } => lookup(Family::Extended, *value).is_some(),
            Parsed::Name(es) => es
                .iter()
                .any(|e| matches!(e.family, Family::Extended | Family::Errinfo)),
        };
        if a_is_ext {
            return Some((1, 0, true));
        }
    }
    if is_disc(a) && is_ext(b) {
        Some((0, 1, false))
    } else {
        None
    }
}

fn number_in(p: &Parsed, family: Family) -> (u32, bool) {
    match p {
        Parsed::Number { value, decimal } => (*value, *decimal),
        Parsed::Name(es) => {
            let e = es
                .iter()
                .find(|e| e.family == family)
                .or_else(|| es.iter().find(|e| e.family == Family::Errinfo))
                .or_else(|| es.first());
            (e.map(|e| e.value).unwrap_or(0), false)
        }
    }
}

fn explain_pair(
    out: &mut Explanation,
    parsed: &[(String, Parsed)],
    d: usize,
    x: usize,
    swapped: bool,
    links: &dyn FindingLinks,
) {
    let (dv, ddec) = number_in(&parsed[d].1, Family::Disconnect);
    let (xv, xdec) = number_in(&parsed[x].1, Family::Extended);
    let mut dc = explain_in_family(
        &parsed[d].0,
        Family::Disconnect,
        dv,
        ddec,
        "disconnect reason (mstsc \"Error code\")".into(),
        links,
    );
    let xc = explain_in_family(
        &parsed[x].0,
        Family::Extended,
        xv,
        xdec,
        "extended reason (mstsc \"Extended error code\")".into(),
        links,
    );
    if swapped {
        dc.notes.insert(
            0,
            "The two codes were given in the other order; read as error code, then extended \
             error code."
                .into(),
        );
    }
    out.codes.push(dc);
    out.codes.push(xc);
    let refs = vec![code_ref_of(&out.codes[0]), code_ref_of(&out.codes[1])];
    // With a non-zero extended reason, a scenario about the disconnect code alone would hide it.
    let must_cover = (xv != 0).then_some(refs[1]);
    if let Some(s) = best_scenario(&refs, must_cover) {
        attach(out, &[0, 1], s, links);
    }
}

/// The reference used for scenario matching (the entry actually decoded, e.g. the ERRINFO entry
/// for an extended reason without a name of its own).
fn code_ref_of(c: &CodeExplanation) -> CodeRef {
    let family = c.family.unwrap_or(Family::Disconnect);
    // FreeRDP writes Set Error Info codes as 0x0001xxxx.
    let value = if family == Family::Errinfo && (0x0001_0000..=0x0001_FFFF).contains(&c.value) {
        c.value & 0xFFFF
    } else {
        c.value
    };
    CodeRef { family, value }
}

fn best_scenario(refs: &[CodeRef], must_cover: Option<CodeRef>) -> Option<&'static Scenario> {
    let mut best: Option<(&'static Scenario, usize)> = None;
    for s in SCENARIOS {
        for alt in s.when {
            let fits =
                alt.iter().all(|c| refs.contains(c)) && must_cover.is_none_or(|m| alt.contains(&m));
            if fits && best.is_none_or(|(_, n)| alt.len() > n) {
                best = Some((s, alt.len()));
            }
        }
    }
    best.map(|(s, _)| s)
}

fn ranked(s: &'static Scenario, links: &dyn FindingLinks) -> Vec<CauseOut> {
    s.causes
        .iter()
        .enumerate()
        .map(|(i, cause)| cause_out(i + 1, cause, links))
        .collect()
}

fn cause_out(rank: usize, cause: &'static Cause, links: &dyn FindingLinks) -> CauseOut {
    let evidence: Vec<EvidenceOut> = cause
        .evidence
        .iter()
        .map(|ev| EvidenceOut {
            kind: ev.kind,
            findings: links.evidence_findings(cause.id, ev.kind),
            what: ev.what,
            command: ev.command,
        })
        .collect();
    let mut findings: Vec<&'static str> = Vec::new();
    for f in evidence.iter().flat_map(|ev| &ev.findings) {
        if !findings.contains(f) {
            findings.push(f);
        }
    }
    CauseOut {
        rank,
        id: cause.id,
        title: cause.title,
        confidence: cause.confidence,
        basis: cause.basis,
        why: cause.why,
        evidence,
        rule_out: cause.rule_out,
        fix: cause.fix,
        findings,
    }
}

fn attach(out: &mut Explanation, idxs: &[usize], s: &'static Scenario, links: &dyn FindingLinks) {
    let causes = ranked(s, links);
    for &i in idxs {
        let c = &mut out.codes[i];
        c.interpretation = Some(s.id);
        c.causes = causes.clone();
        let mut checks = checks_from_causes(&causes);
        for line in std::mem::take(&mut c.checks) {
            if !checks.contains(&line) {
                checks.push(line);
            }
        }
        c.checks = checks;
    }
    let inputs: Vec<String> = idxs.iter().map(|&i| out.codes[i].input.clone()).collect();
    if let Some(existing) = out.interpretations.iter_mut().find(|it| it.id == s.id) {
        for inp in inputs {
            if !existing.inputs.contains(&inp) {
                existing.inputs.push(inp);
            }
        }
        return;
    }
    out.interpretations.push(Interpretation {
        id: s.id,
        title: s.title,
        inputs,
        step: &s.step,
        ranking: s.ranking,
        causes,
        does_not_fit: s.does_not_fit,
    });
}

fn checks_from_causes(causes: &[CauseOut]) -> Vec<String> {
    let mut lines = Vec::new();
    for c in causes {
        for ev in &c.evidence {
            let line = match ev.kind {
                EvidenceKind::Check if !ev.findings.is_empty() => {
                    format!("`{}` → {}", ev.command, ev.findings.join(" / "))
                }
                EvidenceKind::OfflineCheck if !ev.findings.is_empty() => {
                    format!(
                        "export `{}`, then rdpdoctor's offline findings → {}",
                        ev.command,
                        ev.findings.join(" / ")
                    )
                }
                _ => format!("`{}` → {}", ev.command, ev.what),
            };
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    lines
}

fn checks_from_findings(findings: &[&'static str]) -> Vec<String> {
    if findings.is_empty() {
        Vec::new()
    } else {
        // The gateway's findings come from a check through the gateway.
        let command = if findings.iter().all(|f| f.starts_with("gateway-")) {
            "rdpdoctor check --gateway GW HOST --user 'DOMAIN\\user'"
        } else {
            "rdpdoctor check HOST"
        };
        vec![format!("`{command}` → {}", findings.join(" / "))]
    }
}

fn explain_in_family(
    raw: &str,
    family: Family,
    value: u32,
    decimal: bool,
    role: String,
    links: &dyn FindingLinks,
) -> CodeExplanation {
    if family == Family::Freerdp && (0x0001_0000..=0x0001_FFFF).contains(&value) {
        if let Some(e) = lookup(Family::Errinfo, value & 0xFFFF) {
            let mut c = from_entry(raw, e, value, role, links);
            c.notes.insert(0, freerdp_class_note(value));
            return c;
        }
    }
    match lookup(family, value) {
        Some(e) => {
            let mut c = from_entry(raw, e, value, role, links);
            if family == Family::Extended && e.family == Family::Errinfo {
                c.notes.insert(
                    0,
                    format!(
                        "Extended reason {value} (0x{value:X}) has no extended-reason name of its \
                         own; it carries the number of the server's Set Error Info code {}.",
                        e.name
                    ),
                );
                for f in links.findings_for_code(crate::code(Family::Extended, value)) {
                    if !c.findings.contains(&f) {
                        c.findings.push(f);
                    }
                }
                c.checks = checks_from_findings(&c.findings);
            }
            c
        }
        None => {
            let mut c = unknown_code(raw, Some(family), value, decimal);
            c.role = role;
            c
        }
    }
}

fn from_entry(
    raw: &str,
    e: &'static CodeEntry,
    value: u32,
    role: String,
    links: &dyn FindingLinks,
) -> CodeExplanation {
    let mut notes = Vec::new();
    if !e.note.is_empty() {
        notes.push(e.note.to_string());
    }
    if e.family == Family::Errinfo && shown_as_extended(e.value) {
        notes.push(format!(
            "mstsc shows this server code as its \"Extended error code\" 0x{:X}.",
            e.value
        ));
    }
    let see_also = e
        .see_also
        .iter()
        .map(|r| SeeAlso {
            family: r.family,
            value: r.value,
            name: lookup(r.family, r.value)
                .filter(|x| x.is_named())
                .map(|x| x.name),
        })
        .collect();
    let findings = links.findings_for_code(crate::code(e.family, e.value));
    let checks = checks_from_findings(&findings);
    let unknown = if e.is_named() {
        None
    } else {
        Some(UnknownInfo {
            range: vec![format!(
                "0x{:X} ({}) is seen in the wild as a {} code but no primary source documents it.",
                e.value, e.value, e.family
            )],
            hints: Vec::new(),
        })
    };
    CodeExplanation {
        input: raw.to_string(),
        family: Some(e.family),
        value,
        value_hex: format!("0x{value:X}"),
        name: e.is_named().then_some(e.name),
        meaning: Some(e.meaning),
        known: e.is_named(),
        documented: e.documented,
        source: Some(e.source),
        group: (!e.group.is_empty()).then_some(e.group),
        aliases: e.aliases,
        role,
        notes,
        see_also,
        findings,
        causes: Vec::new(),
        checks,
        interpretation: None,
        unknown,
    }
}

/// Set Error Info codes that mstsc reports with the same number as the extended reason.
fn shown_as_extended(v: u32) -> bool {
    matches!(v, 0x1..=0x1A | 0x100..=0x10A) || (0x10C9..=0x1195).contains(&v)
}

fn unknown_code(raw: &str, family: Option<Family>, value: u32, decimal: bool) -> CodeExplanation {
    let mut range = Vec::new();
    match family {
        Some(f) => range.extend(patterns(f, value)),
        None => {
            range.push(format!(
                "0x{value:X} ({value}) is not defined in any of rdpdoctor's code tables."
            ));
            let shapes: &[Family] = match value {
                0xC000_0000..=0xFFFF_FFFF => &[Family::Ntstatus, Family::Hresult],
                0x8000_0000..=0xBFFF_FFFF => &[Family::Hresult],
                0x0001_0000..=0x0002_FFFF => &[Family::Freerdp],
                0x0300_0000..=0x0300_FFFF => &[Family::Gateway],
                0..=0xFF => &[
                    Family::Disconnect,
                    Family::Extended,
                    Family::Errinfo,
                    Family::TlsAlert,
                    Family::Freerdp,
                ],
                0x100..=0x7FFF => &[Family::Disconnect, Family::Extended, Family::Errinfo],
                _ => &[],
            };
            for f in shapes {
                range.extend(patterns(*f, value));
            }
        }
    }
    let mut hints = Vec::new();
    if decimal {
        let digits = value.to_string();
        if let Ok(as_hex) = u32::from_str_radix(&digits, 16) {
            if let Some(e) = lookup_all(as_hex).into_iter().find(|e| e.is_named()) {
                hints.push(format!(
                    "Did you mean 0x{digits}? That is {} ({}). Hex codes need the 0x prefix.",
                    e.name, e.family
                ));
            }
        }
    } else if let Ok(as_dec) = format!("{value:X}").parse::<u32>() {
        if let Some(e) = lookup_all(as_dec).into_iter().find(|e| e.is_named()) {
            hints.push(format!(
                "Did you mean decimal {as_dec} (= 0x{as_dec:X})? That is {} ({}). Event 1026 shows decimal numbers.",
                e.name, e.family
            ));
        }
    }
    CodeExplanation {
        input: raw.to_string(),
        family,
        value,
        value_hex: format!("0x{value:X}"),
        name: None,
        meaning: None,
        known: false,
        documented: false,
        source: None,
        group: None,
        aliases: &[],
        role: "code".into(),
        notes: Vec::new(),
        see_also: Vec::new(),
        findings: Vec::new(),
        causes: Vec::new(),
        checks: Vec::new(),
        interpretation: None,
        unknown: Some(UnknownInfo { range, hints }),
    }
}

/// What the range and family pattern say about a value that is not in a family's table.
fn patterns(family: Family, v: u32) -> Vec<String> {
    let certutil =
        format!("On Windows, `certutil -error 0x{v:X}` prints the system's text for it, if any.");
    match family {
        Family::Disconnect => vec![
            format!("Disconnect reason 0x{v:X} ({v}) is not in the documented discReason list: undocumented."),
            "mstsc's own text for it is in the Name field of client event 1026 (RDPClient/Operational), which records the same number in decimal.".into(),
        ],
        Family::Extended => {
            // Each range sentence names exactly the range its arm matches
            // (ExtendedDisconnectReasonCode: licensing 256–267, protocol 4096–32767).
            if (0x1000..=0x7FFF).contains(&v) {
                vec![format!("Extended reason {v} lies in exDiscReasonProtocolRange (4096–32767): an internal protocol error the server detected, with no specific name. Check the server's RdpCoreTS log (events 97, 226).")]
            } else if (0x100..=0x10B).contains(&v) {
                vec![format!("Extended reason {v} lies in the licensing block (256–267) but is not defined.")]
            } else {
                vec![format!("Extended reason {v} (0x{v:X}) is neither a documented extended reason nor a Set Error Info code.")]
            }
        }
        // Each arm's sentence names exactly the range the arm matches: the blocks of
        // MS-RDPBCGR 2.2.5.1.1 (protocol-independent 0x0–0x1A, licensing 0x100–0x10A, connection
        // broker 0x400–0x412, RDP-specific 0x10C9–0x1195); anything else lies outside them.
        Family::Errinfo => vec![match v {
            0..=0x1A => format!("errorInfo 0x{v:X} lies in the protocol-independent block (0x0–0x1A) but is not defined in MS-RDPBCGR 2.2.5.1.1."),
            0x100..=0x10A => format!("errorInfo 0x{v:X} lies in the licensing block (0x100–0x10A) but is not defined."),
            0x400..=0x412 => format!("errorInfo 0x{v:X} lies in the connection broker block (0x400–0x412) but is not defined."),
            0x10C9..=0x1195 => format!("errorInfo 0x{v:X} lies in the RDP-specific block (0x10C9–0x1195) but is not defined: an internal protocol error."),
            _ => format!("errorInfo 0x{v:X} lies outside every block MS-RDPBCGR 2.2.5.1.1 defines (0x0–0x1A, 0x100–0x10A, 0x400–0x412, 0x10C9–0x1195): undocumented."),
        }],
        Family::NegFailure => vec![format!("RDP_NEG_FAILURE codes are 1–6 in MS-RDPBCGR 2.2.1.2.2; {v} is a raw, undocumented value.")],
        Family::Ntstatus => {
            let sev = match v >> 30 {
                3 => "error",
                2 => "warning",
                1 => "informational",
                _ => "success",
            };
            vec![
                format!(
                    "NTSTATUS pattern: severity {sev}, facility 0x{:X}, code 0x{:04X}{}. Not in rdpdoctor's table.",
                    (v >> 16) & 0xFFF,
                    v & 0xFFFF,
                    if v & 0x2000_0000 != 0 { ", customer-defined" } else { "" }
                ),
                certutil,
            ]
        }
        Family::Hresult => {
            let mut lines = Vec::new();
            if v & 0x8000_0000 == 0 {
                lines.push(format!("0x{v:08X} has the high bit clear: not a failure HRESULT."));
            }
            let facility = (v >> 16) & 0x7FF;
            let low = v & 0xFFFF;
            lines.push(match facility {
                7 => format!("HRESULT pattern: facility 7 (Win32): it wraps Win32 error {low} (0x{low:X}); `net helpmsg {low}` prints its text."),
                9 => "HRESULT pattern: facility 9 (security: SSPI, Schannel, CryptoAPI), but not a code in rdpdoctor's table.".into(),
                f => format!("HRESULT pattern: facility {f}, code 0x{low:04X}; not in rdpdoctor's table."),
            });
            lines.push(certutil);
            lines
        }
        Family::TlsAlert => vec![if v > 255 {
            format!("TLS alerts are one byte (0–255); {v} cannot be one.")
        } else {
            format!("Alert {v} is not defined in RFC 5246 / 8446; Schannel passes alerts it does not list through raw and maps them to SEC_E_ILLEGAL_MESSAGE (0x80090326).")
        }],
        Family::Gateway => vec![if (0x0300_0000..=0x0300_FFFF).contains(&v) {
            format!("0x{v:X} lies in mstsc's RD Gateway block (0x3000000 and up) but is not in rdpdoctor's table; mstsc's own text for it is in client event 1026.")
        } else {
            format!("0x{v:X} is outside mstsc's RD Gateway block (0x3000000 and up): not a gateway client code.")
        }],
        Family::Tsgu => vec![format!("0x{v:X} is not an E_PROXY_* code of MS-TSGU 2.2.6 (0x800759D8–0x80075A00, or the same codes without 0x8007, and 0x4D4).")],
        Family::Kerberos => vec![if v > 127 {
            format!("Kerberos error numbers are small (RFC 4120 7.5.9 and its extensions stay below 128); {v} cannot be one. Security events show them in hex (0x18 = 24).")
        } else {
            format!("Kerberos error {v} (0x{v:X}) is not assigned in RFC 4120, 4556 or 6113.")
        }],
        Family::Win32 => vec![format!("Win32 error {v} (0x{v:X}) is not in rdpdoctor's table; on Windows `net helpmsg {v}` prints its text.")],
        Family::Freerdp => vec![match v {
            0x0001_0000..=0x0001_FFFF => format!("FreeRDP class 1 (ERRINFO): errorInfo 0x{:X}, not defined.", v & 0xFFFF),
            0x0002_0000..=0x0002_FFFF => format!("FreeRDP class 2 (connect errors), code 0x{:X}: not defined in error.h.", v & 0xFFFF),
            12..=15 => format!("xfreerdp exit code {v} lies in the protocol-independent section (0–15) but is unused."),
            27..=31 => format!("xfreerdp exit code {v} lies in the licensing section (16–31) but is unused."),
            33..=127 => format!("xfreerdp exit code {v} lies in the RDP-protocol section (32–127), where only 32 is used."),
            128..=254 => format!("xfreerdp exit code {v} lies in the client-specific section (128–254) but is not defined."),
            _ => format!("0x{v:X} is neither a FreeRDP connect error (0x0002xxxx) nor an xfreerdp exit code (0–255)."),
        }],
    }
}
