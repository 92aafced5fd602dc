//! `rdpdoctor compare A B`: two checks at once (the same options as `check`), and what differs
//! between them, first difference first.

use super::check::{self, CheckArgs, Prepared};
use super::output::{OutputFormat, TEXT_JSON};
use crate::render::escape;
use crate::{render, usage_error};
use rdpdoctor_diagnose::compare::{compare, Comparison, Row};
use rdpdoctor_observations::{Target, DEFAULT_PORT};
use std::fmt::Write as _;

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Every option of `check`; its TARGET is A, the first route (e.g. the server directly)
    #[command(flatten)]
    pub check: CheckArgs,
    /// B, the second route to the same server (e.g. the tunnel's local port or the load
    /// balancer), in the same forms as A
    #[arg(value_name = "TARGET_B")]
    pub target_b: String,
    /// Show every compared field, not only the differences
    #[arg(long)]
    pub all: bool,
}

pub fn run(args: &CompareArgs) -> u8 {
    let c = &args.check;
    let format = match c.output.resolve("compare", TEXT_JSON) {
        Ok(f) => f,
        Err(e) if c.output.format == Some(OutputFormat::Nagios) => {
            return usage_error(format!("{e}, and check for one target"))
        }
        Err(e) => return usage_error(e),
    };
    if c.save.is_some() {
        return usage_error("compare does not take --save; save each route with check --save");
    }
    let parse = |text: &str| Target::parse(text, DEFAULT_PORT);
    let (a, b) = match (parse(&c.target), parse(&args.target_b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return usage_error(e),
    };
    let hosts = format!("{} and {}", a.host, b.host);
    // The password is read once and shared by both checks.
    let Prepared { ctx, options } = match check::prepare(c, &hosts) {
        Ok(p) => p,
        Err(e) => return usage_error(e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return usage_error(format!("cannot start the async runtime: {e}")),
    };
    // Each route is held to the certificate remembered for it (as `check` does: an NTLM
    // response is withheld when another key shows up); compare only reads the file.
    let known = crate::known_certs::KnownCerts::open(&c.known);
    let pins = crate::known_certs::Pins::of(&options.trust);
    let route = |t: &Target| {
        let key = crate::known_certs::key(t);
        let mut o = options.clone();
        o.trust.remembered = known.as_ref().and_then(|k| k.get(&key).cloned());
        let mut expectation = known
            .as_ref()
            .map(|k| k.expectation(&key))
            .unwrap_or_default();
        pins.fill(&mut expectation);
        (o, expectation)
    };
    let ((options_a, expect_a), (options_b, expect_b)) = (route(&a), route(&b));
    drop(options);
    // Concurrently: both routes see the server in the same state, and the comparison takes
    // as long as the slower check, not the sum.
    let (mut oa, mut ob) = runtime.block_on(async {
        tokio::join!(
            rdpdoctor_probe::check(a.clone(), &options_a),
            rdpdoctor_probe::check(b.clone(), &options_b)
        )
    });
    // The passwords are zeroed here, before anything is printed.
    drop(options_a);
    drop(options_b);
    for (obs, expectation) in [(&mut oa, expect_a), (&mut ob, expect_b)] {
        if expectation != Default::default() {
            obs.expected_certificate = Some(expectation);
        }
    }
    for (name, obs) in [("A", &oa), ("B", &ob)] {
        for line in [check::delegation_line(obs), check::withheld_line(obs)]
            .into_iter()
            .flatten()
        {
            eprintln!("{} ({name})", escape::line(&line));
        }
    }
    let da = rdpdoctor_diagnose::diagnose(&oa, &ctx);
    let db = rdpdoctor_diagnose::diagnose(&ob, &ctx);
    let cmp = compare((&oa, &da), (&ob, &db));
    if format == OutputFormat::Json {
        let v = serde_json::json!({
            "rdpdoctor": { "version": env!("CARGO_PKG_VERSION") },
            "a": render::json::value(&da, &oa),
            "b": render::json::value(&db, &ob),
            "agree": cmp.agree,
            "not_transparent": cmp.not_transparent,
            "differences": cmp.differences,
        });
        crate::out(&format!("{v}\n"));
    } else {
        crate::out(&text(&a.to_string(), &b.to_string(), &cmp, args.all));
    }
    cmp.exit_code()
}

/// A two-column table: the field, then A's and B's values (long values wrap onto their own
/// lines so the table stays readable in 100 columns).
fn text(a: &str, b: &str, cmp: &Comparison, all: bool) -> String {
    let mut out = String::new();
    let verdict = if cmp.agree {
        "the two routes agree on everything that matters".to_string()
    } else if cmp.not_transparent {
        // One name per kind of fact: "the selected protocol" once, not once per request.
        let mut names: Vec<&str> = Vec::new();
        for r in cmp.differences.iter().filter(|r| r.not_transparent) {
            let name = if r.field.starts_with("negotiation ") {
                "the selected protocol"
            } else if r.field.starts_with("TLS 1.") {
                "TLS versions"
            } else {
                r.field.as_str()
            };
            if !names.contains(&name) {
                names.push(name);
            }
        }
        format!(
            "NOT TRANSPARENT: one route answers in the server's place or leads to another server ({} differ; a plain TCP relay cannot change them)",
            names.join(", ")
        )
    } else {
        "the two routes differ".to_string()
    };
    let _ = writeln!(
        out,
        "compare A {} / B {}: {verdict}",
        escape::line(a),
        escape::line(b)
    );
    let rows: Vec<&Row> = if all {
        cmp.rows.iter().collect()
    } else {
        cmp.differences.iter().collect()
    };
    if rows.is_empty() {
        let _ = writeln!(out, "  no differences (--all shows every field compared)");
        return out;
    }
    let width = rows
        .iter()
        .map(|r| r.field.chars().count())
        .max()
        .unwrap_or(0)
        .max(5);
    let col = rows
        .iter()
        .flat_map(|r| [r.a.chars().count(), r.b.chars().count()])
        .max()
        .unwrap_or(0)
        .clamp(1, 36);
    let _ = writeln!(out, "  {:<width$}  {:<col$}  B", "field", "A");
    for r in rows {
        let mark = if r.not_transparent {
            "  <- not transparent"
        } else if r.differs && !r.matters {
            "  (timing)"
        } else if r.differs && all {
            "  <- differs"
        } else {
            ""
        };
        let (va, vb) = (escape::line(&r.a), escape::line(&r.b));
        if va.chars().count() <= col && vb.chars().count() <= col {
            let _ = writeln!(out, "  {:<width$}  {:<col$}  {vb}{mark}", r.field, va);
        } else {
            let _ = writeln!(out, "  {}{mark}", r.field);
            let _ = writeln!(out, "      A: {va}");
            let _ = writeln!(out, "      B: {vb}");
        }
    }
    if !cmp.agree {
        let _ = writeln!(
            out,
            "  (rdpdoctor check on each route gives the full diagnosis; --json has both)"
        );
    }
    out
}
