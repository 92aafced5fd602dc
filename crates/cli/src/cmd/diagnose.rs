//! `rdpdoctor diagnose [OBS.json] [FILE.evtx|FILE.xml|FILE.reg ...]`: replay saved observations
//! without a network, merged with event log and registry exports of the same server.

use super::logs::{load, report, Accept};
use super::DiagnosisOptions;
use crate::usage_error;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct DiagnoseArgs {
    /// Observations written by `rdpdoctor check HOST --save FILE`, and/or event log (.evtx,
    /// event XML) and registry (.reg) exports of the same server; recognized by content
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Judge dates (certificate validity) as of this time instead of now, e.g. 2026-11-21T12:00:00Z
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    #[command(flatten)]
    pub diagnosis: DiagnosisOptions,
    #[command(flatten)]
    pub output: super::output::OutputArgs,
}

pub fn run(args: &DiagnoseArgs) -> u8 {
    let now = match &args.at {
        None => jiff::Timestamp::now(),
        Some(text) => match text.parse::<jiff::Timestamp>() {
            Ok(t) => t,
            Err(e) => {
                return usage_error(format!(
                    "--at {text:?} is not a time like 2026-11-21T12:00:00Z: {e}"
                ))
            }
        },
    };
    match load(&args.files, Accept::Everything) {
        Ok(obs) => report(&obs, "diagnose", &args.diagnosis, &args.output, now),
        Err(e) => usage_error(e),
    }
}

/// Why a JSON file given to `diagnose` could not be read as saved observations, in one line. A
/// file of `check --json` or `scan` results (a JSON object with a verdict per line) is the
/// commonest mix-up: the message says what it is and which command reads it.
pub fn load_error(name: &str, text: &str, e: rdpdoctor_observations::LoadError) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let is_result = |t: &str| {
        serde_json::from_str::<serde_json::Value>(t)
            .ok()
            .is_some_and(|v| v.get("verdict").is_some() && v.get("findings").is_some())
    };
    if is_result(text) {
        return format!(
            "{name} holds the output of `rdpdoctor check --json`, not saved observations: replay it with `jq .observations {name} > obs.json` and `rdpdoctor diagnose obs.json` (`check --save FILE` writes observations directly)"
        );
    }
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if !is_result(first) {
        return format!("{name}: {e}");
    }
    format!(
        "{name} holds results of `rdpdoctor scan` (JSON Lines, one `check --json` object per line), not saved observations: make a page of them with `rdpdoctor report {name} -o report.html`; to replay one host, take its observations with `jq -c 'select(.target == \"HOST:PORT\") | .observations' {name} > host.json` and run `rdpdoctor diagnose host.json`"
    )
}
