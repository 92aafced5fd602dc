//! `rdpdoctor host FILE.reg...`: diagnose from `reg export` files of the server.

use super::logs::{load, report, Accept};
use super::DiagnosisOptions;
use crate::usage_error;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct HostArgs {
    /// Registry exports (`reg export KEY FILE.reg`): Terminal Server, its policy key, SCHANNEL,
    /// CredSSP, FIPS, firewall policy
    #[arg(required = true, value_name = "FILE.reg")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub diagnosis: DiagnosisOptions,
    #[command(flatten)]
    pub output: super::output::OutputArgs,
}

pub fn run(args: &HostArgs) -> u8 {
    match load(&args.files, Accept::Registry) {
        Ok(obs) => report(
            &obs,
            "host",
            &args.diagnosis,
            &args.output,
            jiff::Timestamp::now(),
        ),
        Err(e) => usage_error(e),
    }
}
