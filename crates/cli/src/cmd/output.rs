//! The output formats of the commands that print a diagnosis, chosen in one place: `--format`
//! and its alias `--json` are declared once ([`OutputArgs`]), resolved by one function, and
//! one [`Renderer`] picks the renderer for the format. Also the one rule for output files:
//! never one of the inputs ([`refuse_input_as_output`]).

use crate::render;
use rdpdoctor_diagnose::Diagnosis;
use rdpdoctor_observations::Observations;
use std::path::Path;

/// How a command prints its result.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
    Nagios,
}

impl OutputFormat {
    fn name(self) -> &'static str {
        match self {
            OutputFormat::Text => "text",
            OutputFormat::Json => "json",
            OutputFormat::Nagios => "nagios",
        }
    }
}

/// Text and JSON: what every command that prints a diagnosis offers.
pub const TEXT_JSON: &[OutputFormat] = &[OutputFormat::Text, OutputFormat::Json];
/// Text, JSON and the Nagios plugin line (`check`).
pub const TEXT_JSON_NAGIOS: &[OutputFormat] =
    &[OutputFormat::Text, OutputFormat::Json, OutputFormat::Nagios];

/// `--format` and `--json`, the same flags for every command that offers formats.
#[derive(clap::Args, Clone, Debug)]
pub struct OutputArgs {
    /// Output: text (default), json (same as --json), or, for check, nagios (a plugin status
    /// line; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,
    /// Print one JSON object instead of text (the same as --format json)
    #[arg(long)]
    pub json: bool,
}

impl OutputArgs {
    /// The format asked for, text when none is. `--json` is `--format json`; a `--format` that
    /// says otherwise, or a format `command` does not offer, is a usage error message.
    pub fn resolve(&self, command: &str, offered: &[OutputFormat]) -> Result<OutputFormat, String> {
        let chosen = match (self.format, self.json) {
            (Some(f), true) if f != OutputFormat::Json => {
                return Err(format!(
                    "--json and --format {} disagree; give one of them (--json is the same as --format json)",
                    f.name()
                ))
            }
            (Some(f), _) => f,
            (None, true) => OutputFormat::Json,
            (None, false) => OutputFormat::Text,
        };
        if offered.contains(&chosen) {
            return Ok(chosen);
        }
        let others: Vec<&str> = offered
            .iter()
            .filter(|f| **f != OutputFormat::Text)
            .map(|f| {
                if *f == OutputFormat::Json {
                    "--json"
                } else {
                    f.name()
                }
            })
            .collect();
        Err(format!(
            "{command} has no {} format; use text (default) or {}",
            chosen.name(),
            others.join(" or ")
        ))
    }
}

/// Prints one diagnosis in a format: the one place that picks the renderer.
pub struct Renderer {
    /// What text output adds after the report (a command's own sections).
    pub text_tail: fn(&Diagnosis, &Observations) -> String,
    /// The thresholds of the Nagios line, where the command offers it.
    pub nagios: Option<render::nagios::Thresholds>,
}

impl Renderer {
    /// The formats this renderer can print.
    pub fn offered(&self) -> &'static [OutputFormat] {
        if self.nagios.is_some() {
            TEXT_JSON_NAGIOS
        } else {
            TEXT_JSON
        }
    }

    /// Prints `d` (of `obs`) and returns the exit status.
    pub fn print(&self, format: OutputFormat, d: &Diagnosis, obs: &Observations) -> u8 {
        match (format, &self.nagios) {
            (OutputFormat::Nagios, Some(thresholds)) => {
                let (line, code) = render::nagios::report(d, obs.duration_ms, thresholds);
                crate::out(&format!("{line}\n"));
                code
            }
            (OutputFormat::Json, _) => {
                crate::out(&format!("{}\n", render::json::report(d, obs)));
                d.exit_code()
            }
            _ => {
                crate::out(&render::text::report(d, obs.duration_ms));
                crate::out(&(self.text_tail)(d, obs));
                d.exit_code()
            }
        }
    }
}

/// Refuses an output file that is one of the inputs: writing it would destroy what is being
/// read (`report X -o X` replaced the scan with HTML, `scan -i LIST --output LIST` truncated the
/// list before reading it). Files are compared by device and inode, so another name, a hard link
/// or a symlink for the same file is caught too; `-` (stdin) is compared through what it is open
/// on. An output that does not exist yet cannot be an input, and one that is not a regular file
/// (a terminal, a pipe, /dev/null) is not emptied by being opened.
pub fn refuse_input_as_output(output: &Path, inputs: &[&str], flag: &str) -> Result<(), String> {
    let Ok(out) = std::fs::metadata(output) else {
        return Ok(());
    };
    if !out.is_file() {
        return Ok(());
    }
    for input in inputs {
        // /dev/stdin names the file stdin is redirected from (a pipe or terminal is no file).
        let path = if *input == "-" { "/dev/stdin" } else { input };
        let Ok(meta) = std::fs::metadata(path) else {
            continue;
        };
        if same_file(&out, &meta) {
            let what = if *input == "-" {
                "stdin is read from it".to_string()
            } else {
                format!("it is the input {}", input)
            };
            return Err(format!(
                "{flag} {} would overwrite what is being read ({what}); write to another file",
                output.display()
            ));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(format: Option<OutputFormat>, json: bool) -> OutputArgs {
        OutputArgs { format, json }
    }

    #[test]
    fn json_is_an_alias_of_format_json_and_conflicts_are_refused() {
        use OutputFormat::*;
        let r = |f, j| args(f, j).resolve("check", TEXT_JSON_NAGIOS);
        assert_eq!(r(None, false), Ok(Text));
        assert_eq!(r(None, true), Ok(Json));
        assert_eq!(r(Some(Json), true), Ok(Json));
        assert_eq!(r(Some(Nagios), false), Ok(Nagios));
        let e = r(Some(Nagios), true).expect_err("a conflict");
        assert_eq!(
            e,
            "--json and --format nagios disagree; give one of them (--json is the same as --format json)"
        );
        assert!(r(Some(Text), true).is_err());
        let e = args(Some(Nagios), false)
            .resolve("diagnose", TEXT_JSON)
            .expect_err("not offered");
        assert_eq!(
            e,
            "diagnose has no nagios format; use text (default) or --json"
        );
    }
}
