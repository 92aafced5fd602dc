//! The exporter's HTTP/1.1 server: its own accept loop around hyper's connection builder.
//!
//! `axum::serve` keeps every connection for as long as the client wants, so a few hundred idle
//! or half-sent connections exhaust the process's file limit and a client that keeps one open
//! blocks shutdown forever. This loop bounds what a client can hold:
//!
//! - a connection is *idle* while no request is being read or answered (fresh connections and
//!   keep-alive connections between requests); it is closed after `idle_timeout`;
//! - once the first byte of a request arrives the whole head must arrive within `header_timeout`;
//! - at most `max_connections` are open. A new connection at the limit closes the oldest one that
//!   is not answering a request (idle or still sending its head): a flood of idle sockets then
//!   costs its own oldest sockets, not the next scrape. When every connection is answering a
//!   request, new ones wait in the kernel's backlog until one finishes;
//! - on SIGINT or SIGTERM the listener closes, idle connections close at once, requests being
//!   answered finish (hyper's graceful shutdown: no keep-alive afterwards), and after
//!   `shutdown_timeout` the process exits even if some are still open.
//!
//! A request being answered has no timer here: the `/probe` handler has its own deadline.

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// What a client may hold; see the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub shutdown_timeout: Duration,
}

/// How the server stopped.
#[derive(Debug, PartialEq, Eq)]
pub struct Stopped {
    /// "SIGINT" or "SIGTERM".
    pub signal: &'static str,
    /// Connections still open when the shutdown deadline passed (closed by exiting).
    pub left_open: usize,
}

/// Serves `router` on `listener` until one of `signals` arrives, then shuts down within
/// `limits.shutdown_timeout`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    signals: Signals,
) -> Stopped {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let registry = Arc::new(Registry::default());
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let stop = signals.next();
    tokio::pin!(stop);
    let mut last_warning: Option<Instant> = None;
    let signal = loop {
        let stream = tokio::select! {
            biased;
            name = &mut stop => break name,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    // EMFILE/ENFILE (other processes can still exhaust the system's files) and
                    // aborted handshakes: back off briefly instead of spinning, keep serving.
                    if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                        eprintln!("rdpdoctor serve: cannot accept a connection: {e}; retrying");
                        last_warning = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let permit = tokio::select! {
            biased;
            name = &mut stop => break name,
            permit = take_slot(&slots, &registry) => permit,
        };
        let conn = registry.add();
        tokio::spawn(run_connection(
            stream,
            conn,
            router.clone(),
            limits,
            shutdown_rx.clone(),
            permit,
            registry.clone(),
        ));
    };
    // Stop accepting: new connections are refused by the kernel from here on.
    drop(listener);
    let open = registry.len();
    eprintln!(
        "rdpdoctor serve: {signal} received; stopping ({open} connection(s) open, waiting up to {:.1} s for requests being answered)",
        limits.shutdown_timeout.as_secs_f64()
    );
    let _ = shutdown_tx.send(true);
    // Every connection task holds one permit until it ends: all permits back means all closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(limits.shutdown_timeout, slots.acquire_many(all)).await;
    let left_open = match drained {
        Ok(_) => 0,
        Err(_) => registry.len(),
    };
    Stopped { signal, left_open }
}

/// A connection slot: free at once, or made free by closing the oldest connection that is not
/// answering a request, or (when all are answering) the first to finish.
async fn take_slot(slots: &Arc<Semaphore>, registry: &Registry) -> OwnedSemaphorePermit {
    loop {
        if let Ok(permit) = slots.clone().try_acquire_owned() {
            return permit;
        }
        registry.evict_oldest_idle();
        // An evicted connection ends within microseconds; the retry also catches a connection
        // that finished its request meanwhile and can now be evicted.
        if let Ok(Ok(permit)) =
            tokio::time::timeout(Duration::from_millis(100), slots.clone().acquire_owned()).await
        {
            return permit;
        }
    }
}

/// SIGINT and SIGTERM, installed when created so a signal that arrives right after the
/// "listening" line is not lost.
pub struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Must run inside the runtime.
    pub fn install() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    async fn next(mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = &mut self;
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

/// Where a connection is; decides which timer runs.
const IDLE: u8 = 0;
const HEAD: u8 = 1;
const BUSY: u8 = 2;

struct Conn {
    id: u64,
    phase: AtomicU8,
    /// When the current phase began.
    since: Mutex<Instant>,
    /// Set by the accept loop to close this connection for a newer one.
    evicted: AtomicBool,
    /// Wakes the connection's watchdog after a phase change or an eviction.
    wake: Notify,
}

impl Conn {
    fn set(&self, phase: u8) {
        if let Ok(mut since) = self.since.lock() {
            *since = Instant::now();
        }
        self.phase.store(phase, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// When the running timer closes the connection; `None` while a request is answered.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        let since = self
            .since
            .lock()
            .map(|s| *s)
            .unwrap_or_else(|_| Instant::now());
        match self.phase.load(Ordering::SeqCst) {
            IDLE => Some(since + limits.idle_timeout),
            HEAD => Some(since + limits.header_timeout),
            _ => None,
        }
    }
}

#[derive(Default)]
struct Registry {
    next_id: AtomicU64,
    /// Open connections by id; ids grow, so the first entries are the oldest.
    conns: Mutex<BTreeMap<u64, Arc<Conn>>>,
}

impl Registry {
    fn add(&self) -> Arc<Conn> {
        let conn = Arc::new(Conn {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            phase: AtomicU8::new(IDLE),
            since: Mutex::new(Instant::now()),
            evicted: AtomicBool::new(false),
            wake: Notify::new(),
        });
        if let Ok(mut conns) = self.conns.lock() {
            conns.insert(conn.id, conn.clone());
        }
        conn
    }

    fn remove(&self, id: u64) {
        if let Ok(mut conns) = self.conns.lock() {
            conns.remove(&id);
        }
    }

    fn len(&self) -> usize {
        self.conns.lock().map(|c| c.len()).unwrap_or(0)
    }

    fn evict_oldest_idle(&self) {
        let Ok(conns) = self.conns.lock() else {
            return;
        };
        // One eviction at a time: an evicted connection leaves the registry when its task ends,
        // which on a loaded machine can take longer than the caller's retry interval. Evicting
        // again meanwhile would close newer connections (half-sent requests, the next scrape's
        // neighbours) for a slot that is about to be free anyway.
        if conns.values().any(|c| c.evicted.load(Ordering::SeqCst)) {
            return;
        }
        let victim = conns
            .values()
            .find(|c| c.phase.load(Ordering::SeqCst) != BUSY);
        if let Some(c) = victim {
            c.evicted.store(true, Ordering::SeqCst);
            c.wake.notify_one();
        }
    }
}

/// Removes the connection from the registry however its task ends.
struct Registered {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.remove(self.id);
    }
}

async fn run_connection(
    stream: TcpStream,
    conn: Arc<Conn>,
    router: Router,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
    registry: Arc<Registry>,
) {
    let _registered = Registered {
        registry,
        id: conn.id,
    };
    let io = TokioIo::new(Watched {
        inner: stream,
        conn: conn.clone(),
    });
    let service = Tracked {
        inner: TowerToHyperService::new(router),
        conn: conn.clone(),
    };
    let mut builder = http1::Builder::new();
    // hyper's own head timer starts whenever it waits for a request head, so it covers idle
    // and head time together; it backs up the watchdog below with their sum.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout + limits.header_timeout)
        .keep_alive(true);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut draining = false;
    loop {
        if conn.evicted.load(Ordering::SeqCst) {
            return;
        }
        let deadline = conn.deadline(&limits);
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = conn.wake.notified() => {}
            // Timed out idle or in the middle of a head: dropping the connection closes it.
            _ = sleep_until(deadline) => return,
            _ = shutdown.changed(), if !draining => {
                draining = true;
                if conn.phase.load(Ordering::SeqCst) != BUSY {
                    return;
                }
                // Finish the response being written, then close instead of keeping alive.
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// The socket, noting when the first byte of a request head arrives on an idle connection.
struct Watched {
    inner: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let conn = &self.conn;
            if conn.phase.load(Ordering::SeqCst) == IDLE {
                conn.set(HEAD);
            }
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The router, marking the connection busy while a request is answered (its head is complete,
/// the handler runs) and idle again when the response is ready to be written.
#[derive(Clone)]
struct Tracked {
    inner: TowerToHyperService<Router>,
    conn: Arc<Conn>,
}

impl Service<Request<Incoming>> for Tracked {
    type Response = <TowerToHyperService<Router> as Service<Request<Incoming>>>::Response;
    type Error = <TowerToHyperService<Router> as Service<Request<Incoming>>>::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.conn.set(BUSY);
        let guard = Answering(self.conn.clone());
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await;
            drop(guard);
            response
        })
    }
}

/// Returns the connection to idle when the handler finishes or is dropped.
struct Answering(Arc<Conn>);

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.set(IDLE);
    }
}
