//! `rdpdoctor diagnose FILE`: replay saved observations without a network.

use super::DiagnosisOptions;
use crate::{render, usage_error};
use rdpdoctor_observations::Observations;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct DiagnoseArgs {
    /// Observations written by `rdpdoctor check HOST --save FILE`
    pub file: PathBuf,
    /// Judge dates (certificate validity) as of this time instead of now, e.g. 2026-11-21T12:00:00Z
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    #[command(flatten)]
    pub diagnosis: DiagnosisOptions,
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
    let ctx = match args.diagnosis.context(now) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => return usage_error(format!("cannot read {}: {e}", args.file.display())),
    };
    let obs = match Observations::from_json(&text) {
        Ok(o) => o,
        Err(e) => return usage_error(format!("{}: {e}", args.file.display())),
    };
    let diagnosis = rdpdoctor_diagnose::diagnose(&obs, &ctx);
    if args.diagnosis.json {
        println!("{}", render::json::report(&diagnosis, &obs));
    } else {
        print!("{}", render::text::report(&diagnosis, obs.duration_ms));
    }
    diagnosis.exit_code()
}
