//! `docs/codes.md`, generated from the tables and the finding links (the test
//! `docs_codes_md_is_current` in rdpdoctor-diagnose keeps it current).

use crate::knowledge::{FindingLinks, SCENARIOS};
use crate::{entries, format_value, lookup, CodeEntry, Family};
use std::fmt::Write as _;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The reference page users can read without the tool; `links` names the findings.
pub fn reference_markdown(links: &dyn FindingLinks) -> String {
    let mut md = String::new();
    header(&mut md);
    family_tables(&mut md);
    finding_codes(&mut md, links);
    scenarios(&mut md, links);
    md
}

/// The title, what the page is, and the list of families.
fn header(md: &mut String) {
    md.push_str("# Remote Desktop error codes\n\n");
    md.push_str(
        "<!-- Generated from crates/codes and the finding catalog by `RDPDOCTOR_BLESS=1 cargo \
         test -p rdpdoctor-diagnose docs_codes_md_is_current`. Do not edit by hand. -->\n\n",
    );
    md.push_str(
        "Every code `rdpdoctor explain` decodes, one table per family. \"Undocumented\" means no \
         primary source names the value; it is listed because it is seen in the wild or in one \
         implementation only. The *Source* column names the spec section or document the name \
         and meaning come from; meanings are paraphrased.\n\n",
    );
    md.push_str("Families:\n\n");
    for f in Family::ALL {
        let _ = writeln!(
            md,
            "- [`{}`](#{}): {} ({} codes)",
            f.id(),
            f.id(),
            f.title(),
            entries(f).len()
        );
    }
    md.push('\n');
    md.push_str(
        "Extended reasons without a name of their own are the server's Set Error Info codes \
         with the same number: look them up in the `errinfo` table.\n\n",
    );
}

/// One table per family (one per group within a family).
fn family_tables(md: &mut String) {
    for f in Family::ALL {
        let _ = writeln!(md, "## {}\n", f.id());
        let _ = writeln!(md, "{}.\n", f.title());
        let table = entries(f);
        let mut groups: Vec<&str> = Vec::new();
        for e in table {
            if !groups.contains(&e.group) {
                groups.push(e.group);
            }
        }
        for g in groups {
            if !g.is_empty() {
                let _ = writeln!(md, "### {} — {}\n", f.id(), g);
            }
            md.push_str("| Value | Name | Meaning | Source | Notes |\n|---|---|---|---|---|\n");
            for e in table.iter().filter(|e| e.group == g) {
                md.push_str(&row(e));
            }
            md.push('\n');
        }
    }
}

/// One table row: value, name (with aliases), meaning, source and notes.
fn row(e: &CodeEntry) -> String {
    let name = if e.is_named() {
        let mut n = format!("`{}`", e.name);
        if !e.aliases.is_empty() {
            let al: Vec<String> = e.aliases.iter().map(|a| format!("`{a}`")).collect();
            let _ = write!(n, " (also {})", al.join(", "));
        }
        n
    } else {
        "*(undocumented)*".to_string()
    };
    let mut notes = String::new();
    if !e.documented && e.is_named() {
        notes.push_str("Not in the primary spec. ");
    }
    notes.push_str(e.note);
    if !e.see_also.is_empty() {
        let links: Vec<String> = e
            .see_also
            .iter()
            .map(
                |r| match lookup(r.family, r.value).filter(|x| x.is_named()) {
                    Some(x) => format!("{} `{}`", r.family, x.name),
                    None => format!("{} {}", r.family, format_value(r.family, r.value)),
                },
            )
            .collect();
        if !notes.is_empty() && !notes.ends_with(' ') {
            notes.push(' ');
        }
        let _ = write!(notes, "See also: {}.", links.join(", "));
    }
    format!(
        "| {} | {} | {} | {} | {} |\n",
        format_value(e.family, e.value),
        name,
        cell(e.meaning),
        cell(e.source),
        cell(notes.trim())
    )
}

/// Each finding with the client codes it most likely produces.
fn finding_codes(md: &mut String, links: &dyn FindingLinks) {
    md.push_str("## Findings and the client codes they produce\n\n");
    md.push_str(
        "`rdpdoctor check` names, for each finding, the codes a client most likely shows. \
         \"Inferred\" links are reasoned from the protocol, not documented.\n\n",
    );
    md.push_str("| Finding | Likely client codes | Link |\n|---|---|---|\n");
    for (finding, codes, inferred) in links.finding_codes() {
        let codes: Vec<String> = codes
            .iter()
            .map(
                |r| match lookup(r.family, r.value).filter(|x| x.is_named()) {
                    Some(x) => format!(
                        "{} {} `{}`",
                        r.family,
                        format_value(r.family, r.value),
                        x.name
                    ),
                    None => format!("{} {}", r.family, format_value(r.family, r.value)),
                },
            )
            .collect();
        let _ = writeln!(
            md,
            "| `{}` | {} | {} |",
            finding,
            codes.join("; "),
            if inferred { "inferred" } else { "documented" }
        );
    }
    md.push('\n');
}

/// The ranked causes of the codes people ask about most.
fn scenarios(md: &mut String, links: &dyn FindingLinks) {
    md.push_str("## What the codes say about causes\n\n");
    md.push_str(
        "Ranked causes for the codes people ask about most; `rdpdoctor explain CODE` prints the \
         evidence and the command that confirms or rules out each.\n\n",
    );
    for s in SCENARIOS {
        let _ = writeln!(md, "### {}\n", s.title);
        let _ = writeln!(md, "{}\n", s.step.summary);
        if !s.step.inference.is_empty() {
            let _ = writeln!(md, "*Inference:* {}\n", s.step.inference);
        }
        let _ = writeln!(md, "Causes ({}):\n", s.ranking);
        for (i, c) in s.causes.iter().enumerate() {
            let mut findings: Vec<String> = Vec::new();
            for ev in c.evidence {
                for f in links.evidence_findings(c.id, ev.kind) {
                    let f = format!("`{f}`");
                    if !findings.contains(&f) {
                        findings.push(f);
                    }
                }
            }
            let fl = if findings.is_empty() {
                String::new()
            } else {
                format!(" Findings: {}.", findings.join(", "))
            };
            let _ = writeln!(
                md,
                "{}. {} ({:?} confidence, {:?}).{}",
                i + 1,
                c.title,
                c.confidence,
                c.basis,
                fl
            );
        }
        md.push('\n');
        if !s.does_not_fit.is_empty() {
            md.push_str("Popular explanations that do not fit:\n\n");
            for n in s.does_not_fit {
                let _ = writeln!(md, "- {} — {}", n.claim, n.why_not);
            }
            md.push('\n');
        }
    }
}
