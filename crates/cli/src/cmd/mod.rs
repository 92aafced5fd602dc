//! One module per subcommand: argument parsing and wiring, no diagnosis logic.

pub mod check;
pub mod compare;
pub mod diagnose;
pub mod docs;
pub mod explain;
pub mod findings;
pub mod gateway;
pub mod host;
pub mod kerberos;
pub mod logs;
pub mod output;
mod password;
mod rdp_file;
pub mod report;
pub mod scan;
pub mod serve;

use rdpdoctor_diagnose::{ClientProfile, Context};

/// The probe options every probing command shares (check, compare, scan, serve), declared once.
#[derive(clap::Args, Clone, Debug)]
pub struct ProbeArgs {
    /// Deadline of every network phase, in seconds (above 0, at most 600)
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub timeout: f64,
    /// Connections open to one host at a time (1-16)
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub connections: u16,
}

impl ProbeArgs {
    /// Checks `--timeout` here rather than in a clap value parser, so that each command reports
    /// it its own way (`check --format nagios` as UNKNOWN, exit 3).
    pub fn validate(&self) -> Result<(), String> {
        seconds("--timeout", self.timeout, false)
    }

    /// The per-phase deadline.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.timeout)
    }
}

/// One rule for every option in seconds: a finite number above 0 (or 0 itself when
/// `zero_ok`), at most 600.
pub fn seconds(flag: &str, v: f64, zero_ok: bool) -> Result<(), String> {
    let low_ok = if zero_ok { v >= 0.0 } else { v > 0.0 };
    if v.is_finite() && low_ok && v <= 600.0 {
        Ok(())
    } else {
        Err(format!(
            "{flag} {v} is not a number of seconds {}",
            if zero_ok {
                "from 0 to 600"
            } else {
                "above 0 and at most 600"
            }
        ))
    }
}

/// Options that shape a diagnosis, declared once for every command that diagnoses (check,
/// compare, scan, serve, diagnose, logs, host).
#[derive(clap::Args, Clone, Debug)]
pub struct DiagnosisOptions {
    // The help lists the profiles from their table (client_help).
    #[arg(long, value_name = "PROFILE", default_value = "windows", help = client_help())]
    pub client: String,
    /// Warn when the certificate expires within this many days
    #[arg(long, value_name = "DAYS", default_value_t = 30, value_parser = clap::value_parser!(i64).range(0..=3650))]
    pub cert_warn_days: i64,
}

/// `--client`'s help: the ids and older names of the profile table.
fn client_help() -> String {
    format!(
        "Client whose experience severities describe: a profile id of `--clients`' table {}",
        rdpdoctor_diagnose::clients::names_help()
    )
}

impl DiagnosisOptions {
    /// The diagnosis context at `now`, or a usage error message.
    pub fn context(&self, now: jiff::Timestamp) -> Result<Context, String> {
        let client = ClientProfile::by_name(&self.client).ok_or_else(|| {
            let names = ClientProfile::names();
            format!(
                "--client {:?} is not a known client profile; use one of: {}",
                self.client,
                names.join(", ")
            )
        })?;
        let mut ctx = Context::new(now);
        ctx.client = client;
        ctx.cert_warning_days = self.cert_warn_days;
        Ok(ctx)
    }
}
