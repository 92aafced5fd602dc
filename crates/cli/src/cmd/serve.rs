//! `rdpdoctor serve`: a Prometheus exporter following the multi-target pattern of
//! blackbox_exporter: `GET /probe?target=host:port` runs a check and answers its metrics;
//! `GET /metrics` answers the exporter's own.
//!
//! An open `/probe` endpoint lets anyone who reaches it probe any network, so `--allow` is
//! required and a target outside it is refused with 403 before any connection (or DNS lookup)
//! is made. Probes run under a concurrency limit and a deadline; a request that finds every slot
//! busy for too long gets 503 instead of piling up.

use crate::render;
use crate::usage_error;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ipnet::IpNet;
use rdpdoctor_diagnose::{ClientProfile, Context, PROFILES};
use rdpdoctor_observations::{Target, DEFAULT_PORT};
use rdpdoctor_probe::ProbeOptions;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

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
    /// Deadline of every network phase of a probe, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub timeout: f64,
    /// Client whose experience severities describe: windows (default), windows10, hardened
    #[arg(long, value_name = "PROFILE", default_value = "windows")]
    pub client: String,
    /// cert-expiring-soon threshold in days
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub cert_warn_days: i64,
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
    client: ClientProfile,
    cert_warn_days: i64,
    counters: Counters,
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
    let mut allow = Vec::new();
    for a in &args.allow {
        match parse_allow(a) {
            Some(x) => allow.push(x),
            None => {
                return usage_error(format!(
                    "--allow {a:?} is not a CIDR range, an address, a host name or *.domain"
                ))
            }
        }
    }
    let Some(client) = ClientProfile::by_name(&args.client) else {
        let names: Vec<&str> = PROFILES.iter().map(|p| p.name).collect();
        return usage_error(format!(
            "--client {:?} is not one of: {}",
            args.client,
            names.join(", ")
        ));
    };
    for (flag, v) in [
        ("--queue-timeout", args.queue_timeout),
        ("--timeout", args.timeout),
    ] {
        if !(v.is_finite() && v > 0.0 && v <= 600.0) {
            return usage_error(format!(
                "{flag} {v} is not a number of seconds between 0 and 600"
            ));
        }
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
        probe_timeout: Duration::from_secs_f64(args.timeout),
        client,
        cert_warn_days: args.cert_warn_days,
        counters: Counters::default(),
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return usage_error(format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => return usage_error(format!("cannot listen on {listen}: {e}; choose another --listen")),
        };
        let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| listen.to_string());
        eprintln!("rdpdoctor serve: listening on http://{local} (GET /probe?target=HOST:PORT, GET /metrics)");
        let router = Router::new()
            .route("/probe", get(probe))
            .route("/metrics", get(metrics))
            .route("/", get(index))
            .with_state(app);
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        match axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
            Ok(()) => 0,
            Err(e) => usage_error(format!("the HTTP server stopped: {e}")),
        }
    })
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

async fn probe(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let c = &app.counters;
    let raw = q.get("target").map(|t| t.trim()).unwrap_or("");
    if raw.is_empty() {
        c.bad_request.fetch_add(1, Ordering::Relaxed);
        return text(
            StatusCode::BAD_REQUEST,
            "the target parameter is required: /probe?target=HOST:PORT\n".to_string(),
        );
    }
    let target = match Target::parse(raw, DEFAULT_PORT) {
        Ok(t) => t,
        Err(e) => {
            c.bad_request.fetch_add(1, Ordering::Relaxed);
            return text(StatusCode::BAD_REQUEST, format!("{e}\n"));
        }
    };
    if !app.allows(&target) {
        c.forbidden.fetch_add(1, Ordering::Relaxed);
        return text(
            StatusCode::FORBIDDEN,
            format!("target {target} is not covered by --allow; add it (or its range) to the exporter's --allow list\n"),
        );
    }
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
    // Finish before Prometheus gives up on the scrape (blackbox_exporter reads the same header).
    let scrape_budget = headers
        .get("X-Prometheus-Scrape-Timeout-Seconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.5)
        .map(|v| Duration::from_secs_f64(v - 0.5));
    let options = ProbeOptions {
        timeout: scrape_budget.map_or(app.probe_timeout, |b| app.probe_timeout.min(b / 3)),
        ..ProbeOptions::default()
    };
    let deadline = scrape_budget.unwrap_or(app.probe_timeout * 4);
    c.in_flight.fetch_add(1, Ordering::Relaxed);
    let result =
        tokio::time::timeout(deadline, rdpdoctor_probe::check(target.clone(), &options)).await;
    c.in_flight.fetch_sub(1, Ordering::Relaxed);
    drop(slot);
    let obs = match result {
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
    let mut ctx = Context::new(jiff::Timestamp::now());
    ctx.client = app.client;
    ctx.cert_warning_days = app.cert_warn_days;
    let diagnosis = rdpdoctor_diagnose::diagnose(&obs, &ctx);
    c.ok.fetch_add(1, Ordering::Relaxed);
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render::prometheus::probe(&diagnosis, &obs),
    )
        .into_response()
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
            client: ClientProfile::default(),
            cert_warn_days: 30,
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
}
