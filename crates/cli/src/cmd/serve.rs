//! `rdpdoctor serve`: a Prometheus exporter following the multi-target pattern of
//! blackbox_exporter: `GET /probe?target=host:port` runs a check and answers its metrics;
//! `GET /metrics` answers the exporter's own.
//!
//! An open `/probe` endpoint lets anyone who reaches it probe any network, so `--allow` is
//! required and a target outside it is refused with 403 before any connection (or DNS lookup)
//! is made. Probes run under a concurrency limit and a deadline; a request that finds every slot
//! busy for too long gets 503 instead of piling up.
//!
//! Connections are served by [`conn`]: header and idle timeouts, a connection limit and a
//! shutdown deadline, so that no client can hold the exporter's sockets or its exit.

use crate::known_certs::KnownCerts;
use crate::render;
use crate::usage_error;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ipnet::IpNet;
use rdpdoctor_diagnose::Context;
use rdpdoctor_observations::{Target, DEFAULT_PORT};
use rdpdoctor_probe::ProbeOptions;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

mod conn;

/// The header Prometheus sends with every scrape (blackbox_exporter reads the same one).
const SCRAPE_TIMEOUT_HEADER: &str = "X-Prometheus-Scrape-Timeout-Seconds";
/// The longest scrape timeout honoured; larger values are clamped to it. The same ceiling as
/// `--timeout`: no probe needs longer, and a slot must not be held for days.
const MAX_SCRAPE_TIMEOUT_SECS: f64 = 600.0;
/// The largest scrape timeout Prometheus can send: its timeouts are Go durations, signed 64-bit
/// nanoseconds (about 292 years). A larger value is not a timeout but garbage, and gets 400.
const MAX_PROMETHEUS_TIMEOUT_SECS: f64 = 9_223_372_036.854_775;
/// The response header that says which overall deadline a probe ran under.
const DEADLINE_HEADER: &str = "x-rdpdoctor-probe-deadline-seconds";

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9489")]
    pub listen: String,
    /// Targets the exporter may probe: CIDR ranges, addresses, host names, or *.domain (repeat; required)
    #[arg(long = "allow", value_name = "CIDR|HOST", required = true)]
    pub allow: Vec<String>,
    /// Probes running at once; more requests wait
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub max_probes: u32,
    /// How long a request may wait for a free probe slot before it gets 503, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub queue_timeout: f64,
    #[command(flatten)]
    pub probe: super::ProbeArgs,
    #[command(flatten)]
    pub diagnosis: super::DiagnosisOptions,
    #[command(flatten)]
    pub known: crate::known_certs::KnownCertsArgs,
    /// Open HTTP connections at most; at the limit a new connection closes the oldest one that
    /// is not answering a request (lowered to fit the process's open-file limit)
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub max_connections: u32,
    /// Time a client has to send a request's headers once it started sending them, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub header_timeout: f64,
    /// Time a connection may stay open with no request in progress, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub idle_timeout: f64,
    /// On SIGINT/SIGTERM, time requests being answered get to finish before the exporter exits anyway, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub shutdown_timeout: f64,
}

/// One `--allow` entry.
#[derive(Debug)]
enum Allow {
    Net(IpNet),
    Name(String),
    /// `*.corp.example`: any name below the domain.
    Suffix(String),
}

struct App {
    allow: Vec<Allow>,
    slots: Semaphore,
    queue_timeout: Duration,
    probe_timeout: Duration,
    /// Connections open to one target at a time (`--connections`).
    max_connections: usize,
    /// The diagnosis context of every probe (`--client`, `--cert-warn-days`); `now` is set per
    /// probe.
    context: Context,
    /// Remembered certificates (`--known-certs`), as `check` keeps them: a probe that sees
    /// another certificate than the one remembered reports cert-changed.
    known: Option<std::sync::Mutex<Remembered>>,
    counters: Counters,
}

/// The exporter's remembered certificates, and the stderr lines already written about them: a
/// scrape every few seconds must not repeat the same note (or the same write error) each time.
struct Remembered {
    certs: KnownCerts,
    said: std::collections::HashSet<String>,
}

/// Distinct stderr lines kept to say each only once; beyond this, lines are written every time.
const SAID_MAX: usize = 10_000;

impl Remembered {
    fn say(&mut self, line: String) {
        if self.said.contains(&line) {
            return;
        }
        // Not eprintln!: a closed stderr (a supervisor that stopped reading) must not panic the
        // request that has something to say.
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "{}", render::escape::line(&line));
        if self.said.len() < SAID_MAX {
            self.said.insert(line);
        }
    }
}

#[derive(Default)]
struct Counters {
    ok: AtomicU64,
    forbidden: AtomicU64,
    bad_request: AtomicU64,
    busy: AtomicU64,
    deadline: AtomicU64,
    in_flight: AtomicU64,
}

pub fn run(args: &ServeArgs) -> u8 {
    let allow = match allow_list(&args.allow) {
        Ok(a) => a,
        Err(e) => return usage_error(e),
    };
    let context = match args.diagnosis.context(jiff::Timestamp::now()) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    if let Err(e) = check_seconds(args) {
        return usage_error(e);
    }
    let listen: SocketAddr = match args.listen.parse() {
        Ok(a) => a,
        Err(_) => {
            return usage_error(format!(
                "--listen {:?} is not ADDRESS:PORT, e.g. 127.0.0.1:9489",
                args.listen
            ))
        }
    };
    let app = Arc::new(App {
        allow,
        slots: Semaphore::new(args.max_probes as usize),
        queue_timeout: Duration::from_secs_f64(args.queue_timeout),
        probe_timeout: args.probe.timeout(),
        max_connections: usize::from(args.probe.connections),
        context,
        known: KnownCerts::open(&args.known).map(|certs| {
            std::sync::Mutex::new(Remembered {
                certs,
                said: Default::default(),
            })
        }),
        counters: Counters::default(),
    });
    let nofile = open_file_limit();
    let max_connections = match nofile {
        Some(n) => (args.max_connections as u64)
            .min(n.saturating_sub(reserved_fds(args.max_probes)))
            .max(1) as usize,
        None => args.max_connections as usize,
    };
    let limits = conn::Limits {
        max_connections,
        header_timeout: Duration::from_secs_f64(args.header_timeout),
        idle_timeout: Duration::from_secs_f64(args.idle_timeout),
        shutdown_timeout: Duration::from_secs_f64(args.shutdown_timeout),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return usage_error(format!("cannot start the async runtime: {e}")),
    };
    let code = runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => return usage_error(format!("cannot listen on {listen}: {e}; choose another --listen")),
        };
        let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| listen.to_string());
        // Before the "listening" line: a signal sent right after it must not kill the process.
        let signals = match conn::Signals::install() {
            Ok(s) => s,
            Err(e) => return usage_error(format!("cannot install the SIGINT/SIGTERM handlers: {e}")),
        };
        eprintln!("rdpdoctor serve: listening on http://{local} (GET /probe?target=HOST:PORT, GET /metrics)");
        if max_connections < args.max_connections as usize {
            eprintln!(
                "rdpdoctor serve: serving at most {max_connections} connections (not {}): the open-file limit is {}; raise it (ulimit -n) for more",
                args.max_connections,
                nofile.unwrap_or_default()
            );
        }
        let router = Router::new()
            .route("/probe", get(probe))
            .route("/metrics", get(metrics))
            .route("/", get(index))
            .with_state(app);
        let stopped = conn::serve(listener, router, limits, signals).await;
        if stopped.left_open > 0 {
            eprintln!(
                "rdpdoctor serve: {} connection(s) still open after {:.1} s; closing them and exiting",
                stopped.left_open,
                limits.shutdown_timeout.as_secs_f64()
            );
        }
        0
    });
    // Requests cut by the deadline may have left a DNS lookup on a blocking thread; do not wait
    // for it.
    runtime.shutdown_timeout(Duration::from_millis(200));
    code
}

/// The `--allow` entries, or a usage error message naming the first bad one.
fn allow_list(entries: &[String]) -> Result<Vec<Allow>, String> {
    entries
        .iter()
        .map(|a| {
            parse_allow(a).ok_or_else(|| {
                format!("--allow {a:?} is not a CIDR range, an address, a host name or *.domain")
            })
        })
        .collect()
}

/// Every option in seconds, by the one rule of [`super::seconds`].
fn check_seconds(args: &ServeArgs) -> Result<(), String> {
    [
        ("--queue-timeout", args.queue_timeout),
        ("--timeout", args.probe.timeout),
        ("--header-timeout", args.header_timeout),
        ("--idle-timeout", args.idle_timeout),
    ]
    .into_iter()
    .try_for_each(|(flag, v)| super::seconds(flag, v, false))
    .and_then(|()| super::seconds("--shutdown-timeout", args.shutdown_timeout, true))
}

/// File descriptors kept free of HTTP connections: the runtime, the listener, stdio and the
/// probes' own sockets (a check opens at most a few at a time).
fn reserved_fds(max_probes: u32) -> u64 {
    32 + 4 * u64::from(max_probes)
}

/// The soft open-file limit, where the platform says (Linux: /proc/self/limits).
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Reads `X-Prometheus-Scrape-Timeout-Seconds`: `Ok(None)` when absent, the time the probe may
/// take otherwise (0.5 s less than Prometheus waits, as blackbox_exporter does; half of it for
/// timeouts of 1 s or less). Values above [`MAX_SCRAPE_TIMEOUT_SECS`] are clamped to it; values
/// that are not a positive number of seconds Prometheus could send are an error (a 400).
fn scrape_budget(headers: &HeaderMap) -> Result<Option<Duration>, String> {
    let Some(value) = headers.get(SCRAPE_TIMEOUT_HEADER) else {
        return Ok(None);
    };
    let bad = |shown: &str| {
        format!("{SCRAPE_TIMEOUT_HEADER}: {shown} is not a number of seconds above 0 (e.g. 10 or 9.5)\n")
    };
    let Ok(text) = value.to_str() else {
        return Err(bad("(not text)"));
    };
    let text = text.trim();
    let shown = || {
        let mut s: String = text.chars().take(40).collect();
        if s.len() < text.len() {
            s.push_str("...");
        }
        format!("{s:?}")
    };
    let secs: f64 = text.parse().map_err(|_| bad(&shown()))?;
    if !(secs.is_finite() && secs > 0.0) {
        return Err(bad(&shown()));
    }
    if secs > MAX_PROMETHEUS_TIMEOUT_SECS {
        return Err(format!(
            "{SCRAPE_TIMEOUT_HEADER}: {} is more than any scrape timeout Prometheus can send ({MAX_PROMETHEUS_TIMEOUT_SECS:.0} s); send a number of seconds such as 10\n",
            shown()
        ));
    }
    let secs = secs.min(MAX_SCRAPE_TIMEOUT_SECS);
    let budget = if secs > 1.0 { secs - 0.5 } else { secs / 2.0 };
    Ok(Some(Duration::from_secs_f64(budget)))
}

fn parse_allow(text: &str) -> Option<Allow> {
    let t = text.trim();
    if let Ok(net) = t.parse::<IpNet>() {
        return Some(Allow::Net(net));
    }
    if let Ok(ip) = t.parse::<std::net::IpAddr>() {
        return Some(Allow::Net(IpNet::from(ip)));
    }
    if let Some(rest) = t.strip_prefix("*.") {
        return Target::parse(rest, DEFAULT_PORT)
            .ok()
            .map(|_| Allow::Suffix(rest.to_ascii_lowercase()));
    }
    match Target::parse(t, DEFAULT_PORT) {
        Ok(target) if target.ip().is_none() && !t.contains(':') => Some(Allow::Name(target.host)),
        _ => None,
    }
}

impl App {
    /// Whether `target` may be probed. Names must be listed as names: resolving them first would
    /// already send traffic on behalf of whoever asked.
    fn allows(&self, target: &Target) -> bool {
        match target.ip() {
            Some(ip) => self
                .allow
                .iter()
                .any(|a| matches!(a, Allow::Net(n) if n.contains(&ip))),
            None => self.allow.iter().any(|a| match a {
                Allow::Name(n) => *n == target.host,
                Allow::Suffix(s) => target
                    .host
                    .strip_suffix(s.as_str())
                    .is_some_and(|p| p.ends_with('.') && p.len() > 1),
                Allow::Net(_) => false,
            }),
        }
    }
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn index() -> Response {
    text(StatusCode::OK, "rdpdoctor exporter: GET /probe?target=HOST:PORT for a server's metrics, GET /metrics for the exporter's own.\n".to_string())
}

/// Admits a `/probe` request before it waits for a slot (a bad request costs nothing): the
/// scrape budget and the target, or the refusal (400 or 403), counted.
fn admit(
    app: &App,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<(Option<Duration>, Target), (StatusCode, String)> {
    let c = &app.counters;
    // Validated before waiting for a slot: a bad header costs nothing.
    let scrape_budget = match scrape_budget(headers) {
        Ok(b) => b,
        Err(message) => {
            c.bad_request.fetch_add(1, Ordering::Relaxed);
            return Err((StatusCode::BAD_REQUEST, message));
        }
    };
    let raw = q.get("target").map(|t| t.trim()).unwrap_or("");
    if raw.is_empty() {
        c.bad_request.fetch_add(1, Ordering::Relaxed);
        return Err((
            StatusCode::BAD_REQUEST,
            "the target parameter is required: /probe?target=HOST:PORT\n".to_string(),
        ));
    }
    let target = match Target::parse(raw, DEFAULT_PORT) {
        Ok(t) => t,
        Err(e) => {
            c.bad_request.fetch_add(1, Ordering::Relaxed);
            return Err((StatusCode::BAD_REQUEST, format!("{e}\n")));
        }
    };
    if !app.allows(&target) {
        c.forbidden.fetch_add(1, Ordering::Relaxed);
        return Err((
            StatusCode::FORBIDDEN,
            format!("target {target} is not covered by --allow; add it (or its range) to the exporter's --allow list\n"),
        ));
    }
    Ok((scrape_budget, target))
}

async fn probe(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let c = &app.counters;
    let (scrape_budget, target) = match admit(&app, &q, &headers) {
        Ok(x) => x,
        Err((status, message)) => return text(status, message),
    };
    let slot = match tokio::time::timeout(app.queue_timeout, app.slots.acquire()).await {
        Ok(Ok(s)) => s,
        _ => {
            c.busy.fetch_add(1, Ordering::Relaxed);
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("every probe slot stayed busy for {:.1} s; probe less often or raise --max-probes\n", app.queue_timeout.as_secs_f64()),
            );
        }
    };
    let known_key = crate::known_certs::key(&target);
    let expectation = app.known.as_ref().and_then(|k| {
        k.lock()
            .ok()
            .map(|k| k.certs.expectation(&known_key))
            .filter(|e| *e != Default::default())
    });
    // Finish before Prometheus gives up on the scrape.
    let mut options = ProbeOptions {
        timeout: scrape_budget.map_or(app.probe_timeout, |b| app.probe_timeout.min(b / 3)),
        max_connections: app.max_connections,
        ..ProbeOptions::default()
    };
    options.trust.remembered = expectation.as_ref().and_then(|e| e.remembered.clone());
    let deadline = scrape_budget.unwrap_or(app.probe_timeout * 4);
    c.in_flight.fetch_add(1, Ordering::Relaxed);
    let result =
        tokio::time::timeout(deadline, rdpdoctor_probe::check(target.clone(), &options)).await;
    c.in_flight.fetch_sub(1, Ordering::Relaxed);
    drop(slot);
    let mut obs = match result {
        Ok(obs) => obs,
        Err(_) => {
            c.deadline.fetch_add(1, Ordering::Relaxed);
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the probe of {target} did not finish within {:.1} s\n",
                    deadline.as_secs_f64()
                ),
            );
        }
    };
    let ctx = Context {
        now: jiff::Timestamp::now(),
        ..app.context.clone()
    };
    obs.expected_certificate = expectation;
    let diagnosis = rdpdoctor_diagnose::diagnose(&obs, &ctx);
    if let Some(known) = &app.known {
        remember(known, &known_key, &obs, &diagnosis);
    }
    c.ok.fetch_add(1, Ordering::Relaxed);
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8".to_string(),
            ),
            (
                header::HeaderName::from_static(DEADLINE_HEADER),
                format!("{:.3}", deadline.as_secs_f64()),
            ),
        ],
        render::prometheus::probe(&diagnosis, &obs),
    )
        .into_response()
}

/// Records the certificate a probe saw, as `check` does; what needs saying goes to stderr, once.
fn remember(
    known: &std::sync::Mutex<Remembered>,
    key: &str,
    obs: &rdpdoctor_observations::Observations,
    diagnosis: &rdpdoctor_diagnose::Diagnosis,
) {
    let Ok(mut known) = known.lock() else {
        return;
    };
    let (changed, note) = known
        .certs
        .remember(key, obs, diagnosis, jiff::Timestamp::now());
    if let Some(line) = note {
        known.say(line);
    }
    if changed {
        if let Err(line) = known.certs.flush() {
            known.say(line);
        }
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let c = &app.counters;
    let mut s = String::new();
    s.push_str("# HELP rdpdoctor_exporter_build_info The exporter's version.\n# TYPE rdpdoctor_exporter_build_info gauge\n");
    s.push_str(&format!(
        "rdpdoctor_exporter_build_info{{version=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    ));
    s.push_str("# HELP rdpdoctor_exporter_probe_requests_total /probe requests by outcome.\n# TYPE rdpdoctor_exporter_probe_requests_total counter\n");
    for (name, v) in [
        ("ok", &c.ok),
        ("forbidden", &c.forbidden),
        ("bad_request", &c.bad_request),
        ("busy", &c.busy),
        ("deadline", &c.deadline),
    ] {
        s.push_str(&format!(
            "rdpdoctor_exporter_probe_requests_total{{outcome=\"{name}\"}} {}\n",
            v.load(Ordering::Relaxed)
        ));
    }
    s.push_str("# HELP rdpdoctor_exporter_probes_in_flight Probes running now.\n# TYPE rdpdoctor_exporter_probes_in_flight gauge\n");
    s.push_str(&format!(
        "rdpdoctor_exporter_probes_in_flight {}\n",
        c.in_flight.load(Ordering::Relaxed)
    ));
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(allow: &[&str]) -> App {
        App {
            allow: allow.iter().filter_map(|a| parse_allow(a)).collect(),
            slots: Semaphore::new(1),
            queue_timeout: Duration::from_secs(1),
            probe_timeout: Duration::from_secs(1),
            max_connections: 4,
            context: Context::new(jiff::Timestamp::now()),
            known: None,
            counters: Counters::default(),
        }
    }

    #[test]
    fn allow_list_matches_ranges_names_and_suffixes() {
        let a = app(&["127.0.0.0/8", "rdp01.corp.example", "*.lab.example", "::1"]);
        let t = |s: &str| Target::parse(s, 3389).expect("valid target");
        assert!(a.allows(&t("127.0.0.1:43389")));
        assert!(a.allows(&t("[::1]:3389")));
        assert!(!a.allows(&t("10.0.0.1")));
        assert!(a.allows(&t("RDP01.corp.example")));
        assert!(!a.allows(&t("rdp02.corp.example")));
        assert!(a.allows(&t("x.lab.example:3390")));
        assert!(!a.allows(&t("lab.example")));
        assert!(!a.allows(&t("evil-lab.example")));
        assert!(parse_allow("not a thing!").is_none());
    }

    fn budget(value: &[u8]) -> Result<Option<Duration>, String> {
        let mut headers = HeaderMap::new();
        headers.insert(
            SCRAPE_TIMEOUT_HEADER,
            axum::http::HeaderValue::from_bytes(value).expect("a valid header value"),
        );
        scrape_budget(&headers)
    }

    #[test]
    fn scrape_timeout_header_is_validated_and_clamped() {
        assert_eq!(scrape_budget(&HeaderMap::new()), Ok(None));
        assert_eq!(budget(b"10"), Ok(Some(Duration::from_millis(9500))));
        assert_eq!(budget(b" 1 "), Ok(Some(Duration::from_millis(500))));
        assert_eq!(budget(b"1e6"), Ok(Some(Duration::from_millis(599_500))));
        for bad in [
            &b"1e20"[..],
            b"1e308",
            b"abc",
            b"",
            b"NaN",
            b"inf",
            b"-inf",
            b"0",
            b"-5",
            b"0x10",
            b"\xff\xfe",
        ] {
            let message = budget(bad).expect_err("a bad value is refused");
            assert!(message.contains(SCRAPE_TIMEOUT_HEADER), "{message}");
        }
    }
}
