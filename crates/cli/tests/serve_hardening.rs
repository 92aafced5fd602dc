//! `rdpdoctor serve` against hostile HTTP clients: idle and half-sent connections, clients that
//! hold connections open across SIGINT/SIGTERM, and bad `X-Prometheus-Scrape-Timeout-Seconds`
//! values. The clients are this test itself on 127.0.0.1; the exporter is the real binary.
//!
//! Probes target only 127.0.0.1: a closed port (the probe runs and finds nothing), or a silent
//! listener in this process that accepts and never answers (a stand-in for a stalled server,
//! used to keep a request in flight; no real server stalls on purpose). No lab is needed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failed assumption is a failed test

mod common;

use common::bin;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running exporter (optionally under a lowered open-file limit), stopped by PID when dropped.
struct Exporter {
    child: Child,
    port: u16,
    /// Everything it wrote to stderr so far.
    stderr: Arc<Mutex<String>>,
}

impl Exporter {
    fn start(extra: &[&str]) -> Exporter {
        Exporter::start_limited(None, extra)
    }

    /// With `nofile`, the exporter runs under `ulimit -n nofile` (bash sets the limit, then execs
    /// the binary, so the child's PID is the exporter's).
    fn start_limited(nofile: Option<u32>, extra: &[&str]) -> Exporter {
        let exe = env!("CARGO_BIN_EXE_rdpdoctor");
        let mut cmd = match nofile {
            Some(n) => {
                let mut c = Command::new("bash");
                c.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\""), exe]);
                c
            }
            None => bin(),
        };
        let mut child = cmd
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--allow",
                "127.0.0.1/32",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns");
        let mut reader = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        reader.read_line(&mut line).expect("startup line");
        let port = common::serve_port(&line);
        let stderr = Arc::new(Mutex::new(line));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&line);
                }
                line.clear();
            }
        });
        Exporter {
            child,
            port,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Open file descriptors of the exporter process.
    fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Waits up to `limit` for the process to exit.
    fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if start.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn connect(&self) -> TcpStream {
        TcpStream::connect(("127.0.0.1", self.port)).expect("connects")
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP response, read up to its Content-Length.
#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Sends `GET path` (keep-alive, with `headers`) on `s` and reads one response within `limit`.
fn exchange(
    s: &mut TcpStream,
    path: &str,
    headers: &[(&str, &str)],
    limit: Duration,
) -> Result<Reply, String> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (n, v) in headers {
        request.push_str(&format!("{n}: {v}\r\n"));
    }
    request.push_str("\r\n");
    s.write_all(request.as_bytes())
        .map_err(|e| format!("sending the request: {e}"))?;
    let deadline = Instant::now() + limit;
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .ok_or_else(|| format!("no Content-Length in {head:?}"))?;
            if data.len() >= end + 4 + length {
                let status = head
                    .split(' ')
                    .nth(1)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                let body = String::from_utf8_lossy(&data[end + 4..end + 4 + length]).to_string();
                return Ok(Reply { status, head, body });
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "no complete response within {limit:?} (got {:?})",
                String::from_utf8_lossy(&data)
            ));
        }
        s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        match s.read(&mut buf) {
            Ok(0) => {
                return Err(format!(
                    "connection closed after {:?}",
                    String::from_utf8_lossy(&data)
                ))
            }
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(format!("reading the response: {e}")),
        }
    }
}

fn get(
    e: &Exporter,
    path: &str,
    headers: &[(&str, &str)],
    limit: Duration,
) -> Result<Reply, String> {
    let mut s = TcpStream::connect(("127.0.0.1", e.port)).map_err(|e| e.to_string())?;
    exchange(&mut s, path, headers, limit)
}

/// Whether the peer closed `s` within `limit` (EOF or reset); unread response bytes are skipped.
fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        if s.set_read_timeout(Some(left)).is_err() {
            return true;
        }
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("binds");
    l.local_addr().expect("addr").port()
}

/// A listener that accepts connections and never sends a byte; the accepted sockets stay open
/// until the test process ends.
fn silent_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("binds");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    port
}

fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

const HALF_SENT: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow";

#[test]
fn idle_and_half_sent_connections_are_closed_and_metrics_keeps_answering() {
    // 256 open files: 300 idle sockets would exhaust them if each kept one.
    let e = Exporter::start_limited(
        Some(256),
        &[
            "--max-connections",
            "100",
            "--header-timeout",
            "2",
            "--idle-timeout",
            "4",
        ],
    );
    let opened = Instant::now();
    let mut idle: Vec<TcpStream> = (0..300).map(|_| e.connect()).collect();
    // The header timer of a half-sent request starts when the server sees its first byte, which
    // is no earlier than this: the lower bound below is measured from here, the upper one from
    // the last write (on a loaded machine the five writes can be far apart).
    let first_byte = Instant::now();
    let mut half: Vec<TcpStream> = (0..5)
        .map(|_| {
            let mut s = e.connect();
            s.write_all(HALF_SENT).expect("half a request");
            s
        })
        .collect();
    let half_sent = Instant::now();

    // The scrape behind all of them in the accept queue is answered at once.
    let asked = Instant::now();
    let reply = get(&e, "/metrics", &[("Connection", "close")], Duration::from_secs(5))
        .unwrap_or_else(|err| {
            panic!(
                "/metrics did not answer behind 300 idle and 5 half-sent connections: {err}; stderr: {}",
                e.stderr()
            )
        });
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(
        reply.body.contains("rdpdoctor_exporter_build_info"),
        "{reply:?}"
    );
    // Answered well before the idle connections' own timeout (4 s) could have made room: the
    // bound is loose, so a loaded machine does not fail it, but an exporter that waits for the
    // idle ones to time out does.
    let took = asked.elapsed();
    assert!(took < Duration::from_millis(3500), "/metrics took {took:?}");
    // At most 100 connections, plus the runtime's, listener's and stdio's descriptors.
    let fds = e.open_fds();
    assert!(fds <= 100 + 30, "the exporter holds {fds} descriptors");

    // Half-sent heads are closed by the header timeout (2 s), not before and not much later.
    for s in &mut half {
        assert!(
            !closed_within(
                s,
                Duration::from_millis(1500).saturating_sub(first_byte.elapsed())
            ),
            "a half-sent request was closed before the header timeout"
        );
        assert!(
            closed_within(s, Duration::from_secs(5).saturating_sub(half_sent.elapsed())),
            "a half-sent request stayed open more than 5 s after its first bytes (--header-timeout 2)"
        );
    }
    // Every idle one is closed within the idle timeout (4 s) and a margin: the oldest ones
    // earlier, to make room for newer connections.
    for (i, s) in idle.iter_mut().enumerate() {
        assert!(
            closed_within(s, Duration::from_secs(8).saturating_sub(opened.elapsed())),
            "idle connection {i} stayed open more than 8 s (--idle-timeout 4)"
        );
    }
    let reply = get(&e, "/metrics", &[], Duration::from_secs(5)).expect("/metrics answers");
    assert_eq!(reply.status, 200);
    let fds = e.open_fds();
    assert!(
        fds <= 30,
        "{fds} descriptors left open after every client was closed"
    );
}

#[test]
fn keep_alive_connections_close_after_the_idle_timeout_not_before() {
    let e = Exporter::start(&["--idle-timeout", "3", "--header-timeout", "1"]);
    let mut s = e.connect();
    // Slower than the header timeout between requests: only the idle timeout applies then.
    for _ in 0..2 {
        let reply = exchange(&mut s, "/metrics", &[], Duration::from_secs(5)).expect("answers");
        assert_eq!(reply.status, 200);
        std::thread::sleep(Duration::from_millis(1500));
    }
    let answered = Instant::now();
    let reply = exchange(&mut s, "/metrics", &[], Duration::from_secs(5)).expect("answers");
    assert_eq!(reply.status, 200);
    assert!(
        !closed_within(&mut s, Duration::from_millis(2500)),
        "closed before the idle timeout"
    );
    assert!(
        closed_within(
            &mut s,
            Duration::from_secs(6).saturating_sub(answered.elapsed())
        ),
        "a keep-alive connection stayed open beyond the idle timeout"
    );
}

#[test]
fn the_connection_limit_fits_the_open_file_limit() {
    // 128 files: 32 + 4 per probe slot (16) stay free for the runtime and the probes.
    let e = Exporter::start_limited(Some(128), &[]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !e.stderr().contains("at most") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stderr = e.stderr();
    assert!(
        stderr.contains("serving at most 32 connections (not 256): the open-file limit is 128"),
        "{stderr}"
    );
}

/// Connections that would keep an exporter from stopping: idle, half-sent, and keep-alive after
/// a completed request.
fn hold_connections(e: &Exporter) -> Vec<TcpStream> {
    let idle = e.connect();
    let mut half = e.connect();
    half.write_all(HALF_SENT).expect("half a request");
    let mut kept = e.connect();
    let reply = exchange(&mut kept, "/metrics", &[], Duration::from_secs(5)).expect("answers");
    assert_eq!(reply.status, 200);
    // Time for the exporter to accept all three.
    std::thread::sleep(Duration::from_millis(300));
    vec![idle, half, kept]
}

#[test]
fn sigint_stops_the_exporter_after_in_flight_requests_even_with_connections_held_open() {
    let silent = silent_server();
    let mut e = Exporter::start(&[
        "--shutdown-timeout",
        "8",
        "--idle-timeout",
        "120",
        "--header-timeout",
        "120",
        "--timeout",
        "1",
    ]);
    let mut held = hold_connections(&e);
    // A probe of a server that never answers: in flight for about its 2.5 s budget.
    let port = e.port;
    let in_flight = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connects");
        exchange(
            &mut s,
            &format!("/probe?target=127.0.0.1:{silent}"),
            &[("X-Prometheus-Scrape-Timeout-Seconds", "3")],
            Duration::from_secs(20),
        )
    });
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    e.signal("INT");
    let status = e.wait_exit(Duration::from_secs(12)).unwrap_or_else(|| {
        panic!(
            "still running 12 s after SIGINT with connections held open; stderr: {}",
            e.stderr()
        )
    });
    let took = signalled.elapsed();
    assert_eq!(status.code(), Some(0), "{status:?}; {}", e.stderr());
    // The in-flight probe was answered before the exit, so the exit waited for it, not for the
    // idle connections (which would have kept it until the 8 s deadline).
    let reply = in_flight
        .join()
        .expect("client thread")
        .expect("the in-flight probe is answered during shutdown");
    assert!(matches!(reply.status, 200 | 503), "{reply:?}");
    assert!(took < Duration::from_secs(6), "exit took {took:?}");
    assert!(e.stderr().contains("SIGINT received"), "{}", e.stderr());
    for s in &mut held {
        assert!(
            closed_within(s, Duration::from_secs(1)),
            "a held connection is still open"
        );
    }
}

#[test]
fn sigterm_stops_the_exporter_at_the_deadline_even_when_a_request_is_still_running() {
    let silent = silent_server();
    let mut e = Exporter::start(&[
        "--shutdown-timeout",
        "2",
        "--idle-timeout",
        "120",
        "--header-timeout",
        "120",
        "--timeout",
        "30",
    ]);
    let _held = hold_connections(&e);
    // This probe would run for up to 30 s per phase: longer than the shutdown deadline.
    let port = e.port;
    let _in_flight = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connects");
        let _ = exchange(
            &mut s,
            &format!("/probe?target=127.0.0.1:{silent}"),
            &[],
            Duration::from_secs(60),
        );
    });
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    e.signal("TERM");
    let status = e.wait_exit(Duration::from_secs(8)).unwrap_or_else(|| {
        panic!(
            "still running 8 s after SIGTERM (--shutdown-timeout 2); stderr: {}",
            e.stderr()
        )
    });
    let took = signalled.elapsed();
    // A clean exit, not death by the signal.
    assert_eq!(status.code(), Some(0), "{status:?}; {}", e.stderr());
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
        "exit after {took:?}, expected about the 2 s deadline"
    );
    let stderr = e.stderr();
    assert!(stderr.contains("SIGTERM received"), "{stderr}");
    assert!(stderr.contains("still open after 2.0 s"), "{stderr}");
}

#[test]
fn scrape_timeout_header_is_validated_and_huge_values_are_clamped() {
    let e = Exporter::start(&[]);
    let target = format!("/probe?target=127.0.0.1:{}", closed_port());
    let limit = Duration::from_secs(20);
    for bad in ["1e20", "1e308", "abc", "NaN", "inf", "-inf", "0", "-3", ""] {
        let reply = get(
            &e,
            &target,
            &[("X-Prometheus-Scrape-Timeout-Seconds", bad)],
            limit,
        )
        .unwrap_or_else(|err| panic!("scrape timeout {bad:?}: no response ({err})"));
        assert_eq!(reply.status, 400, "scrape timeout {bad:?}: {reply:?}");
        assert!(
            reply.body.contains("X-Prometheus-Scrape-Timeout-Seconds: ")
                && reply.body.contains("seconds"),
            "{reply:?}"
        );
    }
    // Clamped to 600 s, then 0.5 s kept for the answer; the probe runs.
    for (value, deadline) in [("1e6", "599.500"), ("10", "9.500"), ("0.8", "0.400")] {
        let reply = get(
            &e,
            &target,
            &[("X-Prometheus-Scrape-Timeout-Seconds", value)],
            limit,
        )
        .unwrap_or_else(|err| panic!("scrape timeout {value}: no response ({err})"));
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(
            reply.header("x-rdpdoctor-probe-deadline-seconds"),
            Some(deadline),
            "{reply:?}"
        );
        assert!(
            reply
                .body
                .contains(r#"probe_rdp_verdict{status="unreachable"} 1"#),
            "{reply:?}"
        );
    }
    // Without the header: four times --timeout (5 s).
    let reply = get(&e, &target, &[], limit).expect("answers");
    assert_eq!(
        reply.header("x-rdpdoctor-probe-deadline-seconds"),
        Some("20.000")
    );
    let own = get(&e, "/metrics", &[], limit).expect("answers");
    assert_eq!(
        sample(
            &own.body,
            r#"rdpdoctor_exporter_probe_requests_total{outcome="bad_request"}"#
        ),
        Some(9.0),
        "{own:?}"
    );
    assert_eq!(
        sample(
            &own.body,
            r#"rdpdoctor_exporter_probe_requests_total{outcome="ok"}"#
        ),
        Some(4.0),
        "{own:?}"
    );
}
