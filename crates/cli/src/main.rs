//! rdpdoctor: tells an administrator why a Remote Desktop connection fails and how to fix it.

mod explain;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit status for bad usage or unreadable input (the contract in ARCHITECTURE.md).
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(name = "rdpdoctor", version, about = "Tells an administrator exactly why a Remote Desktop (RDP) connection fails and how to fix it")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode a code a Remote Desktop client or server shows (e.g. `explain 0x904 0x7`)
    Explain(explain::ExplainArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Explain(args) => ExitCode::from(explain::run(&args)),
    }
}
