//! rdpdoctor: tells an administrator why a Remote Desktop connection fails and how to fix it.

mod cmd;
mod known_certs;
mod lines;
mod render;
mod targets;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit status for bad usage or unreadable input (a contract: scripts tell it from 1, findings).
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "rdpdoctor",
    version,
    about = "Tells an administrator exactly why a Remote Desktop (RDP) connection fails and how to fix it",
    after_help = "Exit status of check and diagnose: 0 no blocking or warning finding, 1 findings, 2 bad usage or input."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Probe a server the way a client connects, and say where and why it breaks
    Check(cmd::check::CheckArgs),
    /// Check two routes to the same server at once (e.g. directly and through a tunnel or load balancer) and show what differs
    Compare(cmd::compare::CompareArgs),
    /// Diagnose saved observations (from `check --save`), merged with log and registry exports of the same server
    Diagnose(cmd::diagnose::DiagnoseArgs),
    /// Diagnose from exported event logs (.evtx, or event XML from wevtutil / Get-WinEvent)
    Logs(cmd::logs::LogsArgs),
    /// Diagnose from registry exports (reg export ... FILE.reg) of the server
    Host(cmd::host::HostArgs),
    /// Decode a code a Remote Desktop client or server shows (e.g. `explain 0x904 0x7`)
    Explain(cmd::explain::ExplainArgs),
    /// Check many hosts (arguments, -i FILE, CIDR ranges): one JSON line per host, summary on stderr
    Scan(cmd::scan::ScanArgs),
    /// Prometheus exporter: GET /probe?target=HOST:PORT runs a check (targets limited by --allow)
    Serve(cmd::serve::ServeArgs),
    /// One self-contained HTML page from `scan` results: summary, certificate timeline, hosts
    Report(cmd::report::ReportArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell)
    Completions(cmd::docs::CompletionsArgs),
    /// Print the man page (roff), e.g. `rdpdoctor manpage > rdpdoctor.1`
    Manpage,
    /// List every finding id with its severity and meaning
    Findings(cmd::findings::FindingsArgs),
}

fn main() -> ExitCode {
    // A password on the command line is visible to every user of the machine (ps, /proc) and
    // lands in shell history, so there is no such flag: refuse it before anything else.
    if std::env::args_os().any(|a| {
        let a = a.to_string_lossy();
        a == "--password" || a.starts_with("--password=")
    }) {
        return ExitCode::from(usage_error(cmd::check::PASSWORD_FLAG_REFUSED));
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Compare(args) => cmd::compare::run(&args),
        Command::Diagnose(args) => cmd::diagnose::run(&args),
        Command::Logs(args) => cmd::logs::run(&args),
        Command::Host(args) => cmd::host::run(&args),
        Command::Explain(args) => cmd::explain::run(&args),
        Command::Findings(args) => cmd::findings::run(&args),
        Command::Scan(args) => cmd::scan::run(&args),
        Command::Serve(args) => cmd::serve::run(&args),
        Command::Report(args) => cmd::report::run(&args),
        Command::Completions(args) => cmd::docs::completions::<Cli>(&args),
        Command::Manpage => cmd::docs::manpage::<Cli>(),
    };
    ExitCode::from(code)
}

/// Writes `text` to stdout. A reader that went away (`rdpdoctor ... | head`) is not an error
/// worth a panic, as `print!` would make it; any other write error is reported on stderr.
pub fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("rdpdoctor: cannot write the output: {e}");
        }
    }
}

/// Prints `rdpdoctor: MESSAGE` on stderr and returns the usage exit status.
pub fn usage_error(message: impl std::fmt::Display) -> u8 {
    // Messages may quote file contents or arguments: never let them drive the terminal.
    eprintln!("rdpdoctor: {}", render::escape::line(&message.to_string()));
    EXIT_USAGE
}
