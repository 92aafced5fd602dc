//! `rdpdoctor explain`: decodes the codes a Remote Desktop client or server shows, says which
//! step of the connection failed, and lists the known causes with the evidence that confirms or
//! rules out each. The codes and causes come from the `rdpdoctor-codes` tables, the findings
//! that confirm them from the finding catalog (`CatalogLinks`); this file joins and renders.

use rdpdoctor_codes::{
    explain, CauseOut, CodeExplanation, EvidenceKind, Explanation, Family, Interpretation,
};
use rdpdoctor_diagnose::links::CatalogLinks;
use std::fmt::Write as _;

/// Exit status: every code decoded.
const EXIT_OK: u8 = 0;
/// Exit status: at least one code is unknown or undocumented.
const EXIT_UNKNOWN: u8 = 1;
/// Exit status: bad input (not a code at all).
const EXIT_USAGE: u8 = 2;

/// Text width for wrapped prose (commands are never wrapped).
const WIDTH: usize = 100;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    rdpdoctor explain 0x904 0x7          error code and extended error code, as mstsc shows them\n  \
    rdpdoctor explain 2308               decimal, as in RDPClient event 1026\n  \
    rdpdoctor explain --as errinfo 0x7   pick the family\n  \
    rdpdoctor explain STATUS_LOGON_FAILURE\n  \
    rdpdoctor explain 0x300001B          an RD Gateway code mstsc shows\n  \
    rdpdoctor explain KRB_AP_ERR_SKEW    a Kerberos error by name; 0x25 --as kerberos by number\n  \
    rdpdoctor explain --json 0x904 0x7\n\n\
    Families: disconnect, extended, errinfo, neg-failure, ntstatus, hresult, tls-alert, freerdp,\n\
    gateway, tsgu, kerberos, win32.\n\
    Exit status: 0 all codes decoded, 1 some code unknown or undocumented, 2 bad input.")]
pub struct ExplainArgs {
    /// Codes to decode: hex (0x904), decimal (2308) or a symbolic name
    /// (ERRINFO_SERVER_DENIED_CONNECTION). Two numbers are read as mstsc's error code and
    /// extended error code.
    pub codes: Vec<String>,

    /// Decode in one family: disconnect, extended, errinfo, neg-failure, ntstatus, hresult,
    /// tls-alert, freerdp, gateway (mstsc's RD Gateway codes), tsgu (E_PROXY_*), kerberos or win32
    #[arg(long = "as", value_name = "FAMILY")]
    pub family: Option<String>,

    /// Print JSON: {"codes": [{"input", "family", "value", "name", "meaning", "causes", "checks", ...}], "interpretations": [...]}
    #[arg(long)]
    pub json: bool,
}

/// Runs the command; returns the exit status.
pub fn run(args: &ExplainArgs) -> u8 {
    let family = match args.family.as_deref() {
        None => None,
        Some(s) => match Family::parse(s) {
            Some(f) => Some(f),
            None => {
                let ids: Vec<&str> = Family::ALL.iter().map(|f| f.id()).collect();
                eprintln!(
                    "rdpdoctor explain: unknown family '{s}' for --as; use one of: {}",
                    ids.join(", ")
                );
                return EXIT_USAGE;
            }
        },
    };
    let explanation = match explain(&args.codes, family, &CatalogLinks) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("rdpdoctor explain: {e}");
            return EXIT_USAGE;
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&explanation) {
            Ok(s) => crate::out(&format!("{s}\n")),
            Err(e) => {
                eprintln!("rdpdoctor explain: could not write JSON: {e}");
                return EXIT_USAGE;
            }
        }
    } else {
        crate::out(&render_text(&explanation));
    }
    if explanation.all_decoded() {
        EXIT_OK
    } else {
        EXIT_UNKNOWN
    }
}

/// Wraps `text` to `WIDTH`, every line prefixed by `indent` (the first by `first`).
fn wrap(out: &mut String, first: &str, indent: &str, text: &str) {
    let mut line = String::from(first);
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from(indent);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

fn render_text(x: &Explanation) -> String {
    let mut out = String::new();
    let mut last_input: Option<&str> = None;
    for c in &x.codes {
        if last_input != Some(c.input.as_str()) && c.role.starts_with("candidate 1 ") {
            let n = x.codes.iter().filter(|o| o.input == c.input).count();
            let _ = writeln!(
                out,
                "{} is defined in {n} families; most likely first.\n",
                c.input
            );
        }
        last_input = Some(c.input.as_str());
        render_code(&mut out, c);
        out.push('\n');
    }
    for it in &x.interpretations {
        render_interpretation(&mut out, it);
    }
    let unexplained: Vec<&CodeExplanation> = x
        .codes
        .iter()
        .filter(|c| c.known && c.interpretation.is_none() && !c.checks.is_empty())
        .collect();
    if !unexplained.is_empty() {
        out.push_str("How to confirm with rdpdoctor\n");
        for c in unexplained {
            for line in &c.checks {
                wrap(
                    &mut out,
                    "  - ",
                    "    ",
                    &format!("{} ({}): {line}", c.name.unwrap_or(""), c.input),
                );
            }
        }
        out.push('\n');
    }
    if !x.all_decoded() {
        out.push_str("Exit status 1: at least one code is unknown or undocumented.\n");
    }
    out
}

fn render_code(out: &mut String, c: &CodeExplanation) {
    let fam = c
        .family
        .map(|f| f.title().to_string())
        .unwrap_or_else(|| "no family".to_string());
    let role = if c.role == "code" {
        String::new()
    } else {
        format!(", {}", c.role)
    };
    let _ = writeln!(
        out,
        "{} = {} ({}) — {fam}{role}",
        c.input, c.value_hex, c.value
    );
    match (c.name, c.meaning) {
        (Some(name), Some(meaning)) => {
            let _ = writeln!(out, "  Name:     {name}");
            wrap(out, "  Meaning:  ", "            ", meaning);
        }
        (None, Some(meaning)) => {
            let _ = writeln!(out, "  Name:     none (undocumented)");
            wrap(out, "  Meaning:  ", "            ", meaning);
        }
        _ => {
            let _ = writeln!(out, "  Unknown:  not in rdpdoctor's code tables.");
        }
    }
    if let Some(group) = c.group {
        let _ = writeln!(out, "  Table:    {group}");
    }
    if let Some(source) = c.source {
        let doc = if c.documented {
            ""
        } else {
            " (not a primary source)"
        };
        wrap(
            out,
            "  Source:   ",
            "            ",
            &format!("{source}{doc}"),
        );
    }
    if !c.aliases.is_empty() {
        wrap(out, "  Also:     ", "            ", &c.aliases.join(", "));
    }
    for note in &c.notes {
        wrap(out, "  Note:     ", "            ", note);
    }
    if !c.see_also.is_empty() {
        let links: Vec<String> = c
            .see_also
            .iter()
            .map(|s| match s.name {
                Some(n) => format!("{n} ({} 0x{:X})", s.family, s.value),
                None => format!("{} 0x{:X}", s.family, s.value),
            })
            .collect();
        wrap(out, "  See also: ", "            ", &links.join(", "));
    }
    if let Some(u) = &c.unknown {
        for line in &u.range {
            wrap(out, "  Range:    ", "            ", line);
        }
        for hint in &u.hints {
            wrap(out, "  Hint:     ", "            ", hint);
        }
    }
}

fn render_interpretation(out: &mut String, it: &Interpretation) {
    let _ = writeln!(out, "== {} ==", it.title);
    let _ = writeln!(out, "(for {})\n", it.inputs.join(" "));
    out.push_str("Which step failed\n");
    wrap(out, "  ", "  ", it.step.summary);
    if !it.step.facts.is_empty() {
        out.push_str("  Documented:\n");
        for f in it.step.facts {
            wrap(out, "    - ", "      ", f);
        }
    }
    if !it.step.inference.is_empty() {
        wrap(out, "  Inference: ", "    ", it.step.inference);
    }
    if !it.step.caveats.is_empty() {
        out.push_str("  Caveats:\n");
        for f in it.step.caveats {
            wrap(out, "    - ", "      ", f);
        }
    }
    out.push('\n');
    if !it.causes.is_empty() {
        out.push_str("Known causes, ranked\n");
        wrap(out, "  ", "  ", it.ranking);
        out.push('\n');
        for c in &it.causes {
            render_cause(out, c);
        }
    }
    if !it.does_not_fit.is_empty() {
        out.push_str("Popular explanations that do not fit\n");
        for n in it.does_not_fit {
            wrap(out, "  - ", "    ", n.claim);
            wrap(out, "    ", "    ", n.why_not);
        }
        out.push('\n');
    }
}

fn render_cause(out: &mut String, cause: &CauseOut) {
    let conf = format!("{:?}", cause.confidence).to_lowercase();
    let basis = format!("{:?}", cause.basis).to_lowercase();
    wrap(
        out,
        &format!("  {}. ", cause.rank),
        "     ",
        &format!("{} [confidence: {conf}; basis: {basis}]", cause.title),
    );
    wrap(out, "     Why: ", "          ", cause.why);
    out.push_str("     Confirm or rule out:\n");
    for ev in &cause.evidence {
        let label = match ev.kind {
            EvidenceKind::Check => format!("rdpdoctor check → {}", ev.findings.join(" / ")),
            EvidenceKind::OfflineCheck => {
                format!(
                    "offline findings (from exported logs/registry) → {}",
                    ev.findings.join(" / ")
                )
            }
            EvidenceKind::Event => "Event".to_string(),
            EvidenceKind::Registry => "Registry".to_string(),
            EvidenceKind::Command => "Command".to_string(),
        };
        wrap(
            out,
            "       - ",
            "         ",
            &format!("{label}: {}", ev.what),
        );
        let _ = writeln!(out, "           $ {}", ev.command);
    }
    wrap(out, "     Rules it out: ", "          ", cause.rule_out);
    wrap(out, "     Fix: ", "          ", cause.fix);
    out.push('\n');
}
