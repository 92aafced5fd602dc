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
