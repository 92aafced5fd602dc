//! `rdpdoctor logs FILE...`: diagnose from exported event logs (.evtx, or event XML from
//! `wevtutil qe /f:xml` or PowerShell `ToXml()`). Also home of the loader `host` and `diagnose`
//! share: files are recognized by content, registry exports are read first so a changed RDP port
//! is known before firewall events are filtered.

use super::output::{OutputArgs, Renderer};
use super::DiagnosisOptions;
use crate::{render, usage_error};
use rdpdoctor_evidence::{EvidenceError, FileKind, InputFile, ReadOptions};
use rdpdoctor_observations::Observations;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct LogsArgs {
    /// Event log exports: .evtx files (wevtutil epl), or XML from `wevtutil qe ... /f:xml` or
    /// `Get-WinEvent ... | % { $_.ToXml() }`
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub diagnosis: DiagnosisOptions,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Which kinds of file a command takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// `logs`: event files only.
    Events,
    /// `host`: registry exports only.
    Registry,
    /// `diagnose`: saved observations plus any evidence.
    Everything,
}

/// Reads every file into one observations document, or says (in one line) what failed. Every
/// file is opened (regular files only, see `rdpdoctor_evidence::InputFile`) and recognized before
/// any is read, so a wrong file fails fast; each is then read once, `.evtx` files streamed.
pub fn load(files: &[PathBuf], accept: Accept) -> Result<Observations, String> {
    let mut loaded = Vec::new();
    for path in files {
        let input = InputFile::open(path).map_err(|e| match e {
            EvidenceError::Io { .. } => {
                format!("{e}; check the path and that the file was copied completely")
            }
            other => other.to_string(),
        })?;
        let kind = input.kind().ok_or_else(|| {
            format!(
                "{} is not an event log, event XML or registry export; export logs with `wevtutil epl` and registry keys with `reg export` (see the README)",
                path.display()
            )
        })?;
        let wrong = match (accept, kind) {
            (Accept::Events, FileKind::Reg) => {
                Some("is a registry export; read it with `rdpdoctor host` or `rdpdoctor diagnose`")
            }
            (Accept::Registry, FileKind::Evtx | FileKind::EventXml) => {
                Some("is an event log; read it with `rdpdoctor logs` or `rdpdoctor diagnose`")
            }
            (Accept::Events | Accept::Registry, FileKind::Json) => {
                Some("looks like saved observations; replay it with `rdpdoctor diagnose`")
            }
            _ => None,
        };
        if let Some(why) = wrong {
            return Err(format!("{} {why}", path.display()));
        }
        loaded.push((kind, input));
    }
    let mut obs: Option<Observations> = None;
    let mut evidence = Vec::new();
    for (kind, input) in loaded {
        if kind != FileKind::Json {
            evidence.push((kind, input));
            continue;
        }
        let name = input.name().to_string();
        if obs.is_some() {
            return Err(format!(
                "{name}: only one observations document can be diagnosed at a time"
            ));
        }
        // UTF-8 with or without a BOM, or UTF-16 as PowerShell's Out-File writes it.
        let text = input.read_text().map_err(|e| e.to_string())?;
        obs = Some(Observations::from_json(&text).map_err(|e| load_error(&name, &text, e))?);
    }
    let mut obs = obs.unwrap_or_else(|| Observations::new(None));
    let mut options = ReadOptions::default();
    if let Some(t) = &obs.target {
        options.rdp_ports.push(t.port);
    }
    // Registry first: a PortNumber there decides which firewall events are about RDP.
    evidence.sort_by_key(|(kind, _)| *kind != FileKind::Reg);
    for (kind, input) in evidence {
        let ev = input.read_evidence(&options).map_err(|e| e.to_string())?;
        if kind == FileKind::Reg {
            for v in &ev.registry {
                if v.name.eq_ignore_ascii_case("PortNumber")
                    && v.key
                        .to_ascii_lowercase()
                        .ends_with(r"\winstations\rdp-tcp")
                {
                    if let Some(p) = v.dword().and_then(|p| u16::try_from(p).ok()) {
                        options.rdp_ports.push(p);
                    }
                }
            }
        }
        obs.evidence.merge(ev);
    }
    Ok(obs)
}

/// Diagnoses and prints, returning the exit status; `command` names the command in errors.
pub fn report(
    obs: &Observations,
    command: &str,
    diagnosis: &DiagnosisOptions,
    output: &OutputArgs,
    now: jiff::Timestamp,
) -> u8 {
    let renderer = Renderer {
        text_tail: |d, _| render::offline::sections(d),
        nagios: None,
    };
    let format = match output.resolve(command, renderer.offered()) {
        Ok(f) => f,
        Err(e) => return usage_error(e),
    };
    let ctx = match diagnosis.context(now) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let d = rdpdoctor_diagnose::diagnose(obs, &ctx);
    renderer.print(format, &d, obs)
}

pub fn run(args: &LogsArgs) -> u8 {
    match load(&args.files, Accept::Events) {
        Ok(obs) => report(
            &obs,
            "logs",
            &args.diagnosis,
            &args.output,
            jiff::Timestamp::now(),
        ),
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
