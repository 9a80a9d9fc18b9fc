//! The running receiver: the loopback listener, the accept thread, one thread per connection, the handling of
//! one export request (decode, consult the behavior script, record, answer), the query API and shutdown.
//! It must not listen on a non-loopback address, and shutdown must not wait on a client: it closes every
//! connection's socket, wakes every waiting handler, and joins the accept thread.

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::behavior::{Behavior, Script};
use crate::config::ReceiverConfig;
use crate::decode::{self, DecodeError};
use crate::error::Error;
use crate::http::{HttpConn, HttpRequest, ReadOutcome, Response};
use crate::record::{RecordedRequest, Recorder, WireFormat};
use crate::tls;

/// How long `shutdown` waits for connection threads to finish after closing their sockets.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A free port on 127.0.0.1 right now (bind to port 0, read it, release it). For tests that point a client at
/// a receiver that is not up yet and then call [`Receiver::start_on`]. Another process could take the port in
/// between; on a test machine that is rare.
pub fn free_port() -> io::Result<u16> {
    let l = TcpListener::bind(("127.0.0.1", 0))?;
    Ok(l.local_addr()?.port())
}

/// Connection bookkeeping, under one lock so that shutdown and accept cannot race.
#[derive(Default)]
struct Lifecycle {
    stopped: bool,
    /// A clone of each open connection's socket, to shut it down from `shutdown`.
    conns: HashMap<u64, TcpStream>,
}

struct Shared {
    config: ReceiverConfig,
    tls: Option<Arc<rustls::ServerConfig>>,
    recorder: Recorder,
    script: Mutex<Script>,
    life: Mutex<Lifecycle>,
    /// Signalled when `stopped` becomes true and whenever a connection ends.
    life_changed: Condvar,
    next_conn: AtomicU64,
    next_seq: AtomicU64,
}

impl Shared {
    fn life(&self) -> MutexGuard<'_, Lifecycle> {
        self.life.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn script(&self) -> MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sleep up to `d`, waking early on shutdown. Returns false if the receiver is stopping.
    fn sleep_unless_stopped(&self, d: Option<Duration>) -> bool {
        let deadline = d.map(|d| Instant::now() + d);
        let mut life = self.life();
        loop {
            if life.stopped {
                return false;
            }
            let wait = match deadline {
                None => Duration::from_secs(3600),
                Some(dl) => {
                    let now = Instant::now();
                    if now >= dl {
                        return true;
                    }
                    dl - now
                }
            };
            life = match self.life_changed.wait_timeout(life, wait) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

/// A running OTLP/HTTP trace receiver on 127.0.0.1. Dropping it shuts it down.
/// `Receiver` is `Send + Sync`: share it by reference (or in an `Arc`) to drive behaviors from another thread.
pub struct Receiver {
    shared: Arc<Shared>,
    addr: SocketAddr,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("addr", &self.addr)
            .field("tls", &self.shared.tls.is_some())
            .finish()
    }
}

impl Receiver {
    /// Start listening on `127.0.0.1:config.port` (0 = a free port).
    pub fn start(config: ReceiverConfig) -> Result<Receiver, Error> {
        let addr = SocketAddr::from(([127, 0, 0, 1], config.port));
        Self::start_on(addr, config)
    }

    /// Start listening on `addr`, which must be a loopback address (127.0.0.0/8 or ::1); `config.port` is
    /// ignored. Use it to bring a receiver up on a port a client is already pointed at (see [`free_port`]).
    pub fn start_on(addr: SocketAddr, config: ReceiverConfig) -> Result<Receiver, Error> {
        if !addr.ip().is_loopback() {
            return Err(Error::NotLoopback(addr));
        }
        let tls = match &config.tls {
            Some(t) => Some(tls::server_config(t)?),
            None => None,
        };
        let listener = TcpListener::bind(addr).map_err(|source| Error::Bind { addr, source })?;
        let addr = listener.local_addr().map_err(Error::Io)?;
        let shared = Arc::new(Shared {
            recorder: Recorder::new(config.retain_requests),
            config,
            tls,
            script: Mutex::new(Script::default()),
            life: Mutex::new(Lifecycle::default()),
            life_changed: Condvar::new(),
            next_conn: AtomicU64::new(0),
            next_seq: AtomicU64::new(0),
        });
        let acceptor = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("otlpx-receiver-{}", addr.port()))
                .spawn(move || accept_loop(listener, shared))
                .map_err(Error::Io)?
        };
        Ok(Receiver {
            shared,
            addr,
            acceptor: Mutex::new(Some(acceptor)),
        })
    }

    /// The bound address (127.0.0.1 and the actual port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        let scheme = if self.shared.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// `base_url()` + `/v1/traces`.
    pub fn traces_url(&self) -> String {
        format!("{}/v1/traces", self.base_url())
    }

    /// Replace the script: answer the next `times` export requests with `behavior`, then as the default
    /// (normally [`Behavior::Ok`]). Only POST requests consume the script.
    pub fn set_behavior(&self, behavior: Behavior, times: usize) {
        self.shared.script().replace(behavior, times);
    }

    /// Append to the script: after what is queued, answer `times` more requests with `behavior`.
    pub fn push_behavior(&self, behavior: Behavior, times: usize) {
        self.shared.script().push(behavior, times);
    }

    /// The behavior once the script is used up (initially [`Behavior::Ok`]); e.g. `Status { code: 503, .. }`
    /// for a receiver that is down for good.
    pub fn set_default_behavior(&self, behavior: Behavior) {
        self.shared.script().set_default(behavior);
    }

    /// Empty the script and make the default [`Behavior::Ok`] again.
    pub fn reset_behavior(&self) {
        self.shared.script().reset();
    }

    /// How many scripted answers are still queued.
    pub fn pending_behaviors(&self) -> usize {
        self.shared.script().pending()
    }

    /// Every recorded request (the most recent `retain_requests` of them, if that is set), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorder.lock().requests.iter().cloned().collect()
    }

    /// Number of requests received since start or `clear` (including ones no longer retained).
    pub fn request_count(&self) -> usize {
        self.shared.recorder.lock().request_count
    }

    /// Every span of every accepted request (see [`RecordedRequest::accepted`]) still retained, in arrival
    /// order, with its resource and scope (defaults when absent).
    pub fn spans(&self) -> Vec<(Resource, InstrumentationScope, Span)> {
        let store = self.shared.recorder.lock();
        let mut out = Vec::new();
        for req in store.requests.iter().filter(|r| r.accepted) {
            let Some(export) = &req.request else { continue };
            for rs in &export.resource_spans {
                let resource = rs.resource.clone().unwrap_or_default();
                for ss in &rs.scope_spans {
                    let scope = ss.scope.clone().unwrap_or_default();
                    for span in &ss.spans {
                        out.push((resource.clone(), scope.clone(), span.clone()));
                    }
                }
            }
        }
        out
    }

    /// Number of spans accepted since start or `clear` (including ones no longer retained).
    pub fn span_count(&self) -> usize {
        self.shared.recorder.lock().accepted_spans
    }

    /// Wait until at least `n` spans were accepted; false on timeout.
    pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> bool {
        self.shared.recorder.wait_until(timeout, |s| s.accepted_spans >= n)
    }

    /// Wait until at least `n` requests were recorded (any outcome); false on timeout.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        self.shared.recorder.wait_until(timeout, |s| s.request_count >= n)
    }

    /// Forget all recorded requests and reset the counters (the script is left as is).
    pub fn clear(&self) {
        self.shared.recorder.clear();
    }

    /// Number of TCP connections accepted so far.
    pub fn connection_count(&self) -> u64 {
        self.shared.next_conn.load(Ordering::Relaxed)
    }

    /// Stop: refuse new connections, close open ones (black-holed and delayed requests get no answer) and join
    /// the accept thread. Returns within about `SHUTDOWN_GRACE` at worst; normally in milliseconds.
    /// Idempotent; also done on drop.
    pub fn shutdown(&self) {
        let handle = self.acceptor.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(handle) = handle else { return };
        {
            let mut life = self.shared.life();
            life.stopped = true;
            for stream in life.conns.values() {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        self.shared.life_changed.notify_all();
        // Wake the blocking accept() with a connection of our own; it sees `stopped` and returns.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500)).is_ok();
        if woke {
            let _ = handle.join();
        }
        // Wait (bounded) for connection threads to notice their closed sockets.
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        let mut life = self.shared.life();
        while !life.conns.is_empty() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            life = match self.shared.life_changed.wait_timeout(life, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let (stream, _peer) = match listener.accept() {
            Ok(s) => s,
            Err(_) => {
                if shared.life().stopped {
                    return;
                }
                // E.g. out of file descriptors: back off instead of spinning.
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
        {
            let mut life = shared.life();
            if life.stopped {
                return;
            }
            let Ok(clone) = stream.try_clone() else { continue };
            life.conns.insert(id, clone);
        }
        let worker = shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("otlpx-receiver-conn-{id}"))
            .spawn(move || serve_connection(worker, id, stream));
        if spawned.is_err() {
            shared.life().conns.remove(&id);
        }
    }
}

/// Removes the connection from the lifecycle map when its thread ends, however it ends.
struct ConnGuard {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.shared.life().conns.remove(&self.id);
        self.shared.life_changed.notify_all();
    }
}

fn serve_connection(shared: Arc<Shared>, id: u64, stream: TcpStream) {
    let _guard = ConnGuard {
        shared: shared.clone(),
        id,
    };
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(shared.config.idle_timeout));
    match shared.tls.clone() {
        None => serve_http(&shared, id, HttpConn::new(stream), |_| (false, false)),
        Some(config) => {
            let Ok(conn) = rustls::ServerConnection::new(config) else {
                return;
            };
            let tls_stream = rustls::StreamOwned::new(conn, stream);
            serve_http(&shared, id, HttpConn::new(tls_stream), |s| {
                (true, s.conn.peer_certificates().is_some())
            });
        }
    }
}

/// Request/response loop on one connection. `tls_info` tells (tls, client_cert) for the stream.
fn serve_http<S: io::Read + io::Write>(
    shared: &Shared,
    conn_id: u64,
    mut conn: HttpConn<S>,
    tls_info: impl Fn(&S) -> (bool, bool),
) {
    loop {
        let req = match conn.read_request(shared.config.max_body_bytes) {
            ReadOutcome::Closed => return,
            ReadOutcome::Bad(status, message) => {
                let body = decode::error_body(None, status, &message);
                let _ = conn.write_response(&Response {
                    status,
                    content_type: decode::content_type_of(None),
                    extra_headers: Vec::new(),
                    body: &body,
                    close: true,
                });
                return;
            }
            ReadOutcome::Request(r) => r,
        };
        let (tls, client_cert) = tls_info(conn.stream());
        // Only POST and OPTIONS keep the connection: after anything else (e.g. HEAD) framing is not worth trusting.
        let keep_alive = req.keep_alive() && (req.method == "POST" || req.method == "OPTIONS");
        let cors = cors_headers(&req);
        match handle(shared, conn_id, tls, client_cert, req) {
            Answer::Respond {
                status,
                content_type,
                mut extra_headers,
                body,
            } => {
                extra_headers.extend(cors);
                let resp = Response {
                    status,
                    content_type,
                    extra_headers,
                    body: &body,
                    close: !keep_alive,
                };
                if conn.write_response(&resp).is_err() || !keep_alive {
                    return;
                }
            }
            Answer::Close => return,
        }
    }
}

enum Answer {
    Respond {
        status: u16,
        content_type: &'static str,
        extra_headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    Close,
}

fn handle(shared: &Shared, conn_id: u64, tls: bool, client_cert: bool, req: HttpRequest) -> Answer {
    let content_type = req.header("content-type").map(decode::media_type);
    let content_encoding = req.header("content-encoding").map(|v| v.trim().to_ascii_lowercase());
    let format = decode::wire_format(content_type.as_deref());
    let mut rec = RecordedRequest {
        seq: shared.next_seq.fetch_add(1, Ordering::Relaxed),
        connection_id: conn_id,
        tls,
        client_cert,
        method: req.method.clone(),
        path: req.path.clone(),
        version: if req.minor_version == 0 { "HTTP/1.0" } else { "HTTP/1.1" },
        headers: req.headers,
        content_type,
        content_encoding,
        body_size: req.body.len(),
        decoded_size: 0,
        format,
        request: None,
        error: None,
        response_status: None,
        accepted: false,
        received_at: SystemTime::now(),
    };

    if req.method == "OPTIONS" {
        // A CORS preflight from a browser (the wasm exporter): allowed; the headers are added by the caller.
        let answer = Answer::Respond {
            status: 200,
            content_type: decode::content_type_of(None),
            extra_headers: Vec::new(),
            body: Vec::new(),
        };
        return finish(shared, rec, answer);
    }
    if req.method != "POST" {
        let message = format!("method {} not allowed; POST an ExportTraceServiceRequest", req.method);
        rec.error = Some(message.clone());
        return finish(shared, rec, error_answer(None, 405, message));
    }

    // Decode first, so that the record is complete whatever the script says.
    let decoded: Result<_, DecodeError> = match format {
        None => Err(DecodeError {
            status: 415,
            message: format!(
                "unsupported Content-Type {:?}; use application/x-protobuf or application/json",
                rec.content_type.as_deref().unwrap_or("")
            ),
        }),
        Some(f) => decode::decompress(req.body, rec.content_encoding.as_deref(), shared.config.max_body_bytes)
            .and_then(|plain| {
                rec.decoded_size = plain.len();
                decode::decode_request(f, &plain)
            }),
    };
    let decode_error = match decoded {
        Ok(r) => {
            rec.request = Some(r);
            None
        }
        Err(e) => {
            rec.error = Some(e.message.clone());
            Some(e)
        }
    };
    // The normal answer: 200 (with an optional partial success), or the decode error.
    let normal = |partial: Option<(i64, &str)>| match (&decode_error, format) {
        (None, Some(f)) => Answer::Respond {
            status: 200,
            content_type: decode::content_type_of(Some(f)),
            extra_headers: Vec::new(),
            body: decode::success_body(f, partial),
        },
        (Some(e), _) => error_answer(format, e.status, e.message.clone()),
        (None, None) => error_answer(None, 415, "unsupported Content-Type".into()),
    };

    let behavior = shared.script().next();
    let answer = match behavior {
        Behavior::Ok => normal(None),
        Behavior::PartialSuccess { rejected, message } => normal(Some((rejected, &message))),
        Behavior::Delay(d) => {
            if shared.sleep_unless_stopped(Some(d)) {
                normal(None)
            } else {
                Answer::Close
            }
        }
        Behavior::Status {
            code,
            retry_after,
            body,
        } => Answer::Respond {
            status: code,
            content_type: decode::content_type_of(format),
            extra_headers: retry_after.map(|v| vec![("Retry-After", v)]).unwrap_or_default(),
            body,
        },
        Behavior::Disconnect => Answer::Close,
        Behavior::BlackHole => {
            // Record now (the test wants to see it arrived), then hold the connection until shutdown.
            let answer = finish(shared, rec, Answer::Close);
            shared.sleep_unless_stopped(None);
            return answer;
        }
    };
    finish(shared, rec, answer)
}

/// CORS answer headers for a request from a browser (one with `Origin`): any origin, POST, the headers the
/// preflight asks for, and `Retry-After` readable by the page. None for requests without `Origin`.
fn cors_headers(req: &HttpRequest) -> Vec<(&'static str, String)> {
    let Some(origin) = req.header("origin") else {
        return Vec::new();
    };
    let mut h = vec![
        ("Access-Control-Allow-Origin", origin.to_string()),
        ("Vary", "Origin".to_string()),
        ("Access-Control-Expose-Headers", "Retry-After".to_string()),
    ];
    if req.method == "OPTIONS" {
        h.push(("Access-Control-Allow-Methods", "POST, OPTIONS".to_string()));
        if let Some(asked) = req.header("access-control-request-headers") {
            h.push(("Access-Control-Allow-Headers", asked.to_string()));
        }
        h.push(("Access-Control-Max-Age", "600".to_string()));
    }
    h
}

fn error_answer(format: Option<WireFormat>, status: u16, message: String) -> Answer {
    Answer::Respond {
        status,
        content_type: decode::content_type_of(format),
        extra_headers: Vec::new(),
        body: decode::error_body(format, status, &message),
    }
}

/// Complete the record with the answer, store it, run the hook, and hand the answer back.
fn finish(shared: &Shared, mut rec: RecordedRequest, answer: Answer) -> Answer {
    if let Answer::Respond { status, .. } = &answer {
        rec.response_status = Some(*status);
        rec.accepted = (200..300).contains(status) && rec.request.is_some();
    }
    if let Some(hook) = &shared.config.on_request {
        hook(&rec);
    }
    shared.recorder.record(rec);
    answer
}
