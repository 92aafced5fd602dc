//! `rdpdoctor scan`: `check` for a whole fleet. One `check --json` object per line (JSON Lines),
//! written as soon as it is known; a summary on stderr at the end.
//!
//! Targets are streamed from their sources through a bounded channel, at most `--concurrency`
//! hosts are in flight, and the same number bounds the connections open across all of them (the
//! per-host limit of `check` still holds inside). A dead host costs its own deadline only.

use super::DiagnosisOptions;
use crate::known_certs::KnownCerts;
use crate::render;
use crate::targets::{self, Entry, Source};
use crate::usage_error;
use rdpdoctor_diagnose::{Context, Diagnosis, Severity, Status};
use rdpdoctor_observations::{Target, DEFAULT_PORT};
use rdpdoctor_probe::ProbeOptions;
use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// Targets: HOST, HOST:PORT, [IPv6]:PORT, or a CIDR range such as 10.1.0.0/22
    pub targets: Vec<String>,
    /// Read targets from FILE, one host[:port] or CIDR per line (# comments, blank lines); - for stdin
    #[arg(short = 'i', long = "input", value_name = "FILE")]
    pub inputs: Vec<String>,
    /// Port for targets that give none
    #[arg(long, default_value_t = DEFAULT_PORT, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    /// Refuse to scan more targets than this (ranges included)
    #[arg(long, value_name = "N", default_value_t = 65_536)]
    pub max_targets: u64,
    /// Connections open at once across all targets (hosts in flight are bounded by it too)
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=16384))]
    pub concurrency: u32,
    #[command(flatten)]
    pub probe: super::ProbeArgs,
    /// Write results to FILE instead of stdout (never one of the -i lists)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Skip targets already in --output and append to it
    #[arg(long, requires = "output")]
    pub resume: bool,
    /// Never show a progress bar
    #[arg(long)]
    pub quiet: bool,
    /// Also simulate every client profile's handshake on each host (cipher-suite enumeration: at
    /// most 40 more connections per host); every line gets `clients[]` and the summary counts
    /// hosts per failing client
    #[arg(long)]
    pub clients: bool,
    #[command(flatten)]
    pub known: crate::known_certs::KnownCertsArgs,
    #[command(flatten)]
    pub diagnosis: DiagnosisOptions,
    /// scan always writes JSON Lines: `--json` changes nothing and is accepted so that scripts
    /// which pass it keep working
    #[arg(long, hide = true)]
    pub json: bool,
}

/// Exit status after Ctrl-C (128 + SIGINT), as shells report it.
const EXIT_INTERRUPTED: u8 = 130;

pub fn run(args: &ScanArgs) -> u8 {
    if let Err(e) = args.probe.validate() {
        return usage_error(e);
    }
    let ctx = match args.diagnosis.context(jiff::Timestamp::now()) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let mut sources: Vec<Source> = args.targets.iter().cloned().map(Source::Arg).collect();
    sources.extend(args.inputs.iter().cloned().map(Source::File));
    if sources.is_empty() {
        return usage_error(
            "no targets: give hosts or CIDR ranges as arguments, or -i FILE (- for stdin)",
        );
    }
    if let Err(e) = targets::precheck(&sources, args.max_targets) {
        return usage_error(e);
    }
    if let Some(out) = &args.output {
        let inputs: Vec<&str> = args.inputs.iter().map(String::as_str).collect();
        if let Err(e) = super::output::refuse_input_as_output(out, &inputs, "--output") {
            return usage_error(e);
        }
    }
    let done = match &args.output {
        Some(path) if args.resume => match finished_targets(path) {
            Ok(d) => d,
            Err(e) => return usage_error(e),
        },
        _ => HashSet::new(),
    };
    let out = match open_output(args) {
        Ok(o) => o,
        Err(e) => return usage_error(e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return usage_error(format!("cannot start the async runtime: {e}")),
    };
    let options = probe_options(args);
    let progress = (!args.quiet && std::io::stderr().is_terminal()).then(progress_bar);
    // Remembered certificates (cert-changed, interception-suspected per host), written once
    // at the end.
    let known = KnownCerts::open(&args.known).map(|k| Arc::new(std::sync::Mutex::new(k)));
    let started = Instant::now();
    let outcome = runtime.block_on(scan(
        sources,
        args,
        options,
        ctx,
        done,
        out,
        progress.clone(),
        known.clone(),
    ));
    if let Some(k) = &known {
        if let Err(line) = k
            .lock()
            .map_err(|e| e.to_string())
            .and_then(|mut k| k.flush())
        {
            eprintln!("{}", crate::render::escape::line(&line));
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    eprint!("{}", outcome.summary.render(started.elapsed()));
    if let Some(line) = outcome.skipped_line(args.max_targets) {
        eprintln!("{line}");
    }
    // Blocking threads may still be reading a list (stdin from a terminal after Ctrl-C): do not
    // wait for them.
    runtime.shutdown_background();
    outcome.exit_code()
}

/// Where results go: stdout, or `--output` (appended to with `--resume`, truncated otherwise).
fn open_output(args: &ScanArgs) -> Result<Box<dyn Write + Send>, String> {
    let Some(path) = &args.output else {
        return Ok(Box::new(std::io::stdout()));
    };
    std::fs::OpenOptions::new()
        .create(true)
        .append(args.resume)
        .write(true)
        .truncate(!args.resume)
        .open(path)
        .map(|f| Box::new(f) as Box<dyn Write + Send>)
        .map_err(|e| {
            format!(
                "cannot open {} for writing: {e}; choose a writable --output",
                path.display()
            )
        })
}

/// The probe options of every host: `check`'s, under one limit of connections across hosts.
fn probe_options(args: &ScanArgs) -> ProbeOptions {
    ProbeOptions {
        timeout: args.probe.timeout(),
        max_connections: usize::from(args.probe.connections),
        global: Some(Arc::new(Semaphore::new(args.concurrency as usize))),
        credentials: None,
        full: false,
        trust: rdpdoctor_probe::Trust::default(),
        // Every host has the same overall deadline as `check`, so one slow host cannot hold a
        // connection slot for longer.
        deadline: Some(ProbeOptions::overall_deadline(args.probe.timeout(), false)),
        clients: args.clients,
        hold: None,
        credssp: Default::default(),
        // Never from a fleet scan: an unsolicited datagram to every host looks like the UDP
        // reflection scans of CERT-EU advisory 2021-005.
        udp: None,
        gateway: None,
        routing_token: None,
        use_redirection_server_name: false,
    }
}

/// The spinner on a terminal's stderr.
fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos} hosts checked ({per_sec}) {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

struct Outcome {
    summary: Summary,
    interrupted: bool,
    /// Entries reported as bad (file:line and why).
    bad_entries: u64,
    /// A list that could not be read to its end (reported with its place).
    list_error: bool,
    /// Targets not scanned because --max-targets was reached, and where the first one is.
    over_cap: u64,
    first_over: Option<String>,
    write_error: Option<String>,
}

impl Outcome {
    /// 130 after Ctrl-C; 2 when entries, lists or results failed; 1 when a host has findings.
    fn exit_code(&self) -> u8 {
        if self.interrupted {
            return EXIT_INTERRUPTED;
        }
        if let Some(e) = &self.write_error {
            eprintln!("rdpdoctor: writing results failed: {e}");
        }
        if self.bad_entries > 0
            || self.list_error
            || self.over_cap > 0
            || self.write_error.is_some()
        {
            return crate::EXIT_USAGE;
        }
        u8::from(self.summary.with_findings > 0)
    }

    /// The stderr line that says what was not scanned, if anything.
    fn skipped_line(&self, max_targets: u64) -> Option<String> {
        let mut parts = Vec::new();
        if self.bad_entries > 0 {
            parts.push(format!(
                "{} bad entr{} (reported above)",
                self.bad_entries,
                if self.bad_entries == 1 { "y" } else { "ies" }
            ));
        }
        if self.list_error {
            parts.push(
                "the rest of a target list that could not be read (reported above)".to_string(),
            );
        }
        if self.over_cap > 0 {
            parts.push(format!(
                "{} target{} beyond --max-targets {max_targets}, from {} on (raise --max-targets or split the list)",
                self.over_cap,
                if self.over_cap == 1 { "" } else { "s" },
                self.first_over.as_deref().unwrap_or("?")
            ));
        }
        (!parts.is_empty()).then(|| format!("Not scanned: {}", parts.join("; ")))
    }
}

#[allow(clippy::too_many_arguments)]
async fn scan(
    sources: Vec<Source>,
    args: &ScanArgs,
    options: ProbeOptions,
    ctx: Context,
    done: HashSet<String>,
    out: Box<dyn Write + Send>,
    progress: Option<indicatif::ProgressBar>,
    known: Option<SharedKnown>,
) -> Outcome {
    // Producer: a blocking thread reads the sources (files and stdin are blocking I/O) and
    // feeds a small bounded channel, so memory does not grow with the list.
    let (target_tx, mut target_rx) = mpsc::channel::<Entry>(1024);
    let (port, max) = (args.port, args.max_targets);
    let producer = tokio::task::spawn_blocking(move || {
        targets::produce(&sources, port, max, |entry| {
            target_tx.blocking_send(entry).is_ok()
        })
    });

    let (line_tx, line_rx) = mpsc::channel::<(String, Diagnosis)>(1024);
    let writer = tokio::task::spawn_blocking(move || write_lines(line_rx, out, progress));

    let hosts = Arc::new(Semaphore::new(args.concurrency as usize));
    let options = Arc::new(options);
    let ctx = Arc::new(ctx);
    let mut tasks = tokio::task::JoinSet::new();
    let mut bad_entries = 0u64;
    let mut interrupted = false;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let entry = tokio::select! {
            _ = &mut ctrl_c => { interrupted = true; break; }
            e = target_rx.recv() => e,
        };
        let Some(entry) = entry else { break };
        let target = match entry {
            Entry::Target(t) => t,
            Entry::Bad(reason) => {
                bad_entries += 1;
                eprintln!("rdpdoctor: {reason}; skipped");
                continue;
            }
        };
        if done.contains(&target.to_string()) {
            continue;
        }
        let permit = tokio::select! {
            _ = &mut ctrl_c => { interrupted = true; break; }
            p = hosts.clone().acquire_owned() => p,
        };
        let Ok(permit) = permit else { break };
        // Reap finished tasks as we go so the set stays as small as the concurrency.
        while tasks.try_join_next().is_some() {}
        let (options, ctx, line_tx) = (options.clone(), ctx.clone(), line_tx.clone());
        let known = known.clone();
        tasks.spawn(async move {
            let _permit = permit;
            check_one(target, &options, &ctx, &line_tx, known.as_ref()).await;
        });
    }
    drop(target_rx);
    if interrupted {
        // Unfinished checks are abandoned; finished ones are already in the writer's queue.
        tasks.abort_all();
    }
    loop {
        tokio::select! {
            joined = tasks.join_next() => if joined.is_none() { break },
            _ = &mut ctrl_c, if !interrupted => { interrupted = true; tasks.abort_all(); }
        }
    }
    drop(line_tx);
    let (summary, write_error) = writer
        .await
        .unwrap_or_else(|e| (Summary::default(), Some(e.to_string())));
    // After Ctrl-C the producer may be blocked reading stdin; it is not waited for.
    let (produced, list_error) = if interrupted {
        (targets::Produced::default(), false)
    } else {
        lists_read(producer).await
    };
    Outcome {
        summary,
        interrupted,
        bad_entries,
        list_error,
        over_cap: produced.over_cap,
        first_over: produced.first_over,
        write_error,
    }
}

/// How reading the target lists ended: what was produced, and whether a list failed (reported
/// here with its place).
async fn lists_read(
    producer: tokio::task::JoinHandle<Result<targets::Produced, targets::ListError>>,
) -> (targets::Produced, bool) {
    match producer.await {
        Ok(Ok(p)) => (p, false),
        Ok(Err(e)) => {
            eprintln!("rdpdoctor: {e}");
            (targets::Produced::default(), true)
        }
        Err(e) => {
            eprintln!("rdpdoctor: reading the target lists failed: {e}");
            (targets::Produced::default(), true)
        }
    }
}

/// The writer: the one owner of the output, writing whole lines, each flushed, so a result that
/// was reported is on disk and no line is ever half-written. After a write error it goes on
/// counting (the summary stays true) and reports the first error.
fn write_lines(
    mut lines: mpsc::Receiver<(String, Diagnosis)>,
    mut out: Box<dyn Write + Send>,
    progress: Option<indicatif::ProgressBar>,
) -> (Summary, Option<String>) {
    let mut summary = Summary::default();
    let mut error = None;
    while let Some((line, diagnosis)) = lines.blocking_recv() {
        if error.is_none() {
            let mut buf = line.into_bytes();
            buf.push(b'\n');
            if let Err(e) = out.write_all(&buf).and_then(|_| out.flush()) {
                error = Some(e.to_string());
            }
        }
        summary.add(&diagnosis);
        if let Some(bar) = &progress {
            bar.inc(1);
        }
    }
    (summary, error)
}

type SharedKnown = Arc<std::sync::Mutex<KnownCerts>>;

async fn check_one(
    target: Target,
    options: &ProbeOptions,
    ctx: &Context,
    line_tx: &mpsc::Sender<(String, Diagnosis)>,
    known: Option<&SharedKnown>,
) {
    let key = crate::known_certs::key(&target);
    let expectation = known.and_then(|k| k.lock().ok().map(|k| k.expectation(&key)));
    let mut options = options.clone();
    options.trust.remembered = expectation.as_ref().and_then(|e| e.remembered.clone());
    let mut obs = rdpdoctor_probe::check(target, &options).await;
    obs.expected_certificate = expectation;
    let diagnosis = rdpdoctor_diagnose::diagnose(&obs, ctx);
    if let Some(Ok(mut k)) = known.map(|k| k.lock()) {
        // Per-host notes stay out of a fleet's stderr; the findings carry them.
        let _ = k.remember(&key, &obs, &diagnosis, jiff::Timestamp::now());
    }
    let line = render::json::report(&diagnosis, &obs);
    let _ = line_tx.send((line, diagnosis)).await;
}

/// The targets already in a results file, for `--resume`, read line by line with the same bound
/// as `report` (a fleet's results can be large, and the file may not be what scan wrote). Only a
/// regular file is read: a FIFO would block. A line longer than the bound is skipped (its host,
/// if it had one, is scanned again) and so is a target longer than any list line can give. A
/// last line without its newline is an interrupted write from an older version or another
/// program: it is cut off so that the appended results start on a line of their own.
fn finished_targets(path: &PathBuf) -> Result<HashSet<String>, String> {
    use crate::lines::{self, Line, MAX_RESULT_LINE};
    use rdpdoctor_evidence::EvidenceError;
    let (file, len) = match rdpdoctor_evidence::open_regular(path) {
        Ok(f) => f,
        Err(EvidenceError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(HashSet::new())
        }
        Err(e) => return Err(format!("cannot resume from --output: {e}")),
    };
    let mut reader = std::io::BufReader::new(file);
    let mut done = HashSet::new();
    let (mut complete, mut too_long) = (0u64, 0u64);
    let mut line = Vec::new();
    loop {
        let read = lines::next(&mut reader, &mut line, MAX_RESULT_LINE).map_err(|e| {
            format!(
                "cannot read {} to resume: {e}",
                crate::render::escape::line(&path.display().to_string())
            )
        })?;
        match read {
            Line::Nul => {
                return Err(format!(
                    "cannot resume from --output {}: it holds a NUL byte, so it is not the JSON Lines rdpdoctor scan writes; give another --output",
                    crate::render::escape::line(&path.display().to_string())
                ))
            }
            Line::Eof
            | Line::Read {
                complete: false, ..
            }
            | Line::TooLong {
                complete: false, ..
            } => break,
            Line::TooLong { len, .. } => {
                too_long += 1;
                complete += len;
            }
            Line::Read { len, .. } => {
                complete += len;
                if let Some(t) = result_target(&line) {
                    done.insert(t);
                }
            }
        }
    }
    if too_long > 0 {
        eprintln!(
            "rdpdoctor: {}: {} longer than {} MiB skipped when resuming (not results of rdpdoctor scan; their hosts are scanned again)",
            crate::render::escape::line(&path.display().to_string()),
            rdpdoctor_diagnose::words::count(too_long, "line"),
            MAX_RESULT_LINE >> 20
        );
    }
    if complete < len {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(complete));
        if let Err(e) = f {
            return Err(format!(
                "cannot trim the unfinished last line of {}: {e}",
                path.display()
            ));
        }
    }
    Ok(done)
}

/// The target of one results line, if it has one a scan could have produced: a target list's
/// line is at most [`targets::MAX_LINE_BYTES`], so a longer one never matches and is not kept.
fn result_target(line: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Result<'a> {
        #[serde(borrow)]
        target: Option<std::borrow::Cow<'a, str>>,
    }
    let r: Result<'_> = serde_json::from_slice(line).ok()?;
    r.target
        .filter(|t| t.len() <= targets::MAX_LINE_BYTES)
        .map(|t| t.into_owned())
}

/// What the end-of-scan table shows; small and bounded whatever the fleet size.
#[derive(Default)]
struct Summary {
    hosts: u64,
    with_findings: u64,
    by_status: HashMap<&'static str, u64>,
    findings: HashMap<String, (u64, Severity)>,
    /// (days left, expired, target, notAfter), the soonest few.
    expiring: Vec<(i64, bool, String, String)>,
    /// `--clients`: hosts each client profile cannot connect to.
    failing_clients: HashMap<String, u64>,
}

const EXPIRING_SHOWN: usize = 5;

impl Summary {
    fn add(&mut self, d: &Diagnosis) {
        self.hosts += 1;
        let status = match d.verdict.status {
            Status::Healthy => "healthy",
            Status::Degraded => "degraded",
            Status::Broken => "broken",
            Status::Unreachable => "unreachable",
        };
        *self.by_status.entry(status).or_default() += 1;
        if d.exit_code() != 0 {
            self.with_findings += 1;
        }
        for f in &d.findings {
            self.findings
                .entry(f.id.clone())
                .or_insert((0, f.severity))
                .0 += 1;
        }
        for c in &d.clients {
            if c.outcome == rdpdoctor_diagnose::clients::Outcome::Fails {
                *self.failing_clients.entry(c.id.clone()).or_default() += 1;
            }
        }
        if let (Some(c), Some(t)) = (&d.facts.certificate, &d.target) {
            // Soonest first; at equal days an expired certificate (valid = false) first.
            self.expiring.push((
                c.days_left,
                !(c.expired || c.days_left < 0),
                t.clone(),
                c.not_after.clone(),
            ));
            self.expiring.sort();
            self.expiring.truncate(EXPIRING_SHOWN);
        }
    }

    fn render(&self, elapsed: Duration) -> String {
        let mut s = String::new();
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.hosts as f64 / secs
        } else {
            0.0
        };
        s.push_str(&format!(
            "\nScanned {} in {secs:.1} s ({rate:.0} hosts/s)\n",
            rdpdoctor_diagnose::words::count(self.hosts, "host")
        ));
        s.push_str("Verdicts:\n");
        for status in ["healthy", "degraded", "broken", "unreachable"] {
            let n = self.by_status.get(status).copied().unwrap_or(0);
            if n > 0 {
                s.push_str(&format!("  {status:<12} {n}\n"));
            }
        }
        let mut top: Vec<(&String, &(u64, Severity))> = self.findings.iter().collect();
        top.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
        if !top.is_empty() {
            s.push_str("Top findings:\n");
            for (id, (n, sev)) in top.iter().take(10) {
                s.push_str(&format!("  {n:>7}  {id} ({})\n", sev.label()));
            }
        }
        if !self.failing_clients.is_empty() {
            let mut rows: Vec<(&String, &u64)> = self.failing_clients.iter().collect();
            rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            s.push_str("Hosts per failing client:\n");
            for (id, n) in rows {
                s.push_str(&format!("  {n:>7}  {id}\n"));
            }
        }
        if !self.expiring.is_empty() {
            s.push_str("Certificates expiring soonest:\n");
            for (days, valid, target, not_after) in &self.expiring {
                let words = rdpdoctor_diagnose::expiry_words(*days, !valid);
                s.push_str(&format!(
                    "  {words:<28}  {target}  (notAfter {not_after})\n"
                ));
            }
        }
        s
    }
}
