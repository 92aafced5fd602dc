//! `rdpdoctor check HOST`: probe, diagnose, render.

use super::DiagnosisOptions;
use crate::{render, usage_error};
use rdpdoctor_observations::{Target, DEFAULT_PORT};
use rdpdoctor_probe::ProbeOptions;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// HOST, HOST:PORT, an IPv4 address, [IPv6]:PORT or a bare IPv6 address (port 3389 by default)
    pub target: String,
    /// Deadline of every network phase, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub timeout: f64,
    /// Connections open to the host at the same time (1-16)
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub connections: u16,
    /// Also write the observations to FILE (replay with `rdpdoctor diagnose FILE`)
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    #[command(flatten)]
    pub diagnosis: DiagnosisOptions,
}

pub fn run(args: &CheckArgs) -> u8 {
    let target = match Target::parse(&args.target, DEFAULT_PORT) {
        Ok(t) => t,
        Err(e) => return usage_error(e),
    };
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 600.0) {
        return usage_error(format!(
            "--timeout {} is not a number of seconds between 0 and 600",
            args.timeout
        ));
    }
    let ctx = match args.diagnosis.context(jiff::Timestamp::now()) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let options = ProbeOptions {
        timeout: Duration::from_secs_f64(args.timeout),
        max_connections: usize::from(args.connections),
        global: None,
        eager: true,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return usage_error(format!("cannot start the async runtime: {e}")),
    };
    let obs = runtime.block_on(rdpdoctor_probe::check(target, &options));
    if let Some(path) = &args.save {
        if let Err(e) = std::fs::write(path, obs.to_json()) {
            return usage_error(format!(
                "cannot write the observations to {}: {e}; choose a writable path for --save",
                path.display()
            ));
        }
    }
    let diagnosis = rdpdoctor_diagnose::diagnose(&obs, &ctx);
    if args.diagnosis.json {
        println!("{}", render::json::report(&diagnosis, &obs));
    } else {
        print!("{}", render::text::report(&diagnosis, obs.duration_ms));
    }
    diagnosis.exit_code()
}
