//! Tools of the end-to-end export benchmark (`benches/benches/export.rs`):
//! a loopback HTTP sink, per-thread CPU clocks read from `/proc`, and the
//! compression floors (gzip level 1 with flate2's zlib-rs backend, deflate
//! level 1 with miniz_oxide) that the exporter's cost is compared with.
//!
//! Owns: [`Sink`], [`ThreadCpu`] and [`self_thread_cpu_ns`], [`ZlibRsGzip`],
//! [`MinizDeflate`] and [`crc32`].
//! Must not: measure or print anything (the bench binary does), decode what
//! it receives (the sink is not a receiver: see [`Sink`]), or listen on
//! anything but 127.0.0.1.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use miniz_oxide::deflate::core::CompressorOxide;
use miniz_oxide::{DataFormat, MZFlush, MZStatus};

// ---------------------------------------------------------------------------
// The sink.

/// Name of the sink's accepting thread (at most 15 bytes: the kernel's `comm`).
pub const SINK_ACCEPT_THREAD: &str = "bench-sink";
/// Name of each of the sink's connection threads.
pub const SINK_CONN_THREAD: &str = "bench-sink-conn";

/// The one answer the sink gives: 200 with an empty body, which is a valid
/// `ExportTraceServiceResponse` (no partial success).
const OK_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n";
const CONTINUE_RESPONSE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
const LENGTH_REQUIRED: &[u8] = b"HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
/// Largest request head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// Counters of what the sink took, readable while it runs.
#[derive(Debug, Default)]
pub struct SinkCounters {
    /// Requests answered 200.
    pub requests: AtomicU64,
    /// Request body bytes read (compressed bytes for a gzip request).
    pub body_bytes: AtomicU64,
    /// Requests that carried `Content-Encoding: gzip`.
    pub gzip_requests: AtomicU64,
    /// Requests refused or connections dropped on malformed input.
    pub errors: AtomicU64,
    /// Connections accepted.
    pub connections: AtomicU64,
}

/// A loopback HTTP/1.1 **sink, not a receiver**: it reads each request's head
/// and `Content-Length` bytes of body without looking at them, and answers
/// `200 OK` with an empty protobuf body on the same keep-alive connection, so
/// that what is measured is the client, not the server. (The
/// `otlpx-receiver` crate decodes every request with prost and would
/// dominate the measurement.) Chunked bodies are refused with 411; neither
/// ureq nor reqwest sends one for an in-memory body.
///
/// One thread accepts ([`SINK_ACCEPT_THREAD`]) and one thread serves each
/// connection ([`SINK_CONN_THREAD`]), so their CPU time can be read apart.
#[derive(Debug)]
pub struct Sink {
    addr: SocketAddr,
    counters: Arc<SinkCounters>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Sink {
    /// Binds 127.0.0.1 on a free port and starts accepting.
    pub fn start() -> io::Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(SinkCounters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let counters = counters.clone();
            let stop = stop.clone();
            thread::Builder::new()
                .name(SINK_ACCEPT_THREAD.into())
                .spawn(move || accept_loop(listener, counters, stop))?
        };
        Ok(Sink {
            addr,
            counters,
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The OTLP/HTTP traces URL of the sink (any path is accepted).
    pub fn traces_url(&self) -> String {
        format!("http://{}/v1/traces", self.addr)
    }

    /// The live counters.
    pub fn counters(&self) -> &SinkCounters {
        &self.counters
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        // Wake the acceptor; connection threads notice the flag within their
        // read timeout, or end when their client closes.
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
    }
}

fn accept_loop(listener: TcpListener, counters: Arc<SinkCounters>, stop: Arc<AtomicBool>) {
    for conn in listener.incoming() {
        if stop.load(Relaxed) {
            return;
        }
        let Ok(stream) = conn else { continue };
        counters.connections.fetch_add(1, Relaxed);
        let counters = counters.clone();
        let stop = stop.clone();
        let spawned = thread::Builder::new()
            .name(SINK_CONN_THREAD.into())
            .spawn(move || serve(stream, &counters, &stop));
        if spawned.is_err() {
            return;
        }
    }
}

/// Finds `\r\n\r\n` in `buf`; the index just past it.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// The request head's facts the sink needs.
#[derive(Debug, Default, PartialEq, Eq)]
struct Head {
    content_length: Option<u64>,
    chunked: bool,
    expect_continue: bool,
    gzip: bool,
}

fn parse_head(head: &[u8]) -> Head {
    let mut h = Head::default();
    // The first line is the request line; headers follow, one per line.
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-length") {
            h.content_length = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            h.chunked = value.eq_ignore_ascii_case(b"chunked");
        } else if name.eq_ignore_ascii_case(b"expect") {
            h.expect_continue = value.eq_ignore_ascii_case(b"100-continue");
        } else if name.eq_ignore_ascii_case(b"content-encoding") {
            h.gzip = value.eq_ignore_ascii_case(b"gzip");
        }
    }
    h
}

fn serve(mut stream: TcpStream, counters: &SinkCounters, stop: &AtomicBool) {
    // No Nagle: the 80-byte answer must leave at once (Nagle with delayed
    // ACKs would add tens of milliseconds per request).
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(250)));
    let mut head = Vec::with_capacity(MAX_HEAD);
    // Body bytes are read into this and thrown away.
    let mut scratch = vec![0u8; 256 * 1024];
    loop {
        // Read until the head is complete (bytes of a pipelined request may
        // already be in `head`).
        let end = loop {
            if let Some(end) = head_end(&head) {
                break end;
            }
            if head.len() >= MAX_HEAD {
                counters.errors.fetch_add(1, Relaxed);
                return;
            }
            let start = head.len();
            head.resize(MAX_HEAD, 0);
            match stream.read(&mut head[start..]) {
                Ok(0) => return,
                Ok(n) => head.truncate(start + n),
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    head.truncate(start);
                    if stop.load(Relaxed) {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => head.truncate(start),
                Err(_) => return,
            }
        };
        let h = parse_head(&head[..end]);
        let Some(len) = h.content_length.filter(|_| !h.chunked) else {
            counters.errors.fetch_add(1, Relaxed);
            let _ = stream.write_all(LENGTH_REQUIRED);
            let _ = stream.shutdown(Shutdown::Both);
            return;
        };
        if h.expect_continue && stream.write_all(CONTINUE_RESPONSE).is_err() {
            return;
        }
        // Body bytes already read with the head.
        let buffered = (head.len() - end) as u64;
        let mut left = len.saturating_sub(buffered);
        let consumed = end + (len.min(buffered) as usize);
        head.drain(..consumed);
        while left > 0 {
            let want = (left as usize).min(scratch.len());
            match stream.read(&mut scratch[..want]) {
                Ok(0) => return,
                Ok(n) => left -= n as u64,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    if stop.load(Relaxed) {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
        counters.body_bytes.fetch_add(len, Relaxed);
        if h.gzip {
            counters.gzip_requests.fetch_add(1, Relaxed);
        }
        // Count before answering: once the client has the answer, the
        // request is done for it.
        counters.requests.fetch_add(1, Relaxed);
        if stream.write_all(OK_RESPONSE).is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------------------
// Thread CPU clocks.

/// Nanoseconds the calling thread has spent on a CPU, exact to the call
/// (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`; the `/proc` clocks of a
/// running thread lag by up to a scheduler tick), or `None` on failure.
pub fn self_thread_cpu_ns() -> Option<u64> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable `timespec` for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return None;
    }
    Some(u64::try_from(ts.tv_sec).ok()? * 1_000_000_000 + u64::try_from(ts.tv_nsec).ok()?)
}

fn read_schedstat(path: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.split_ascii_whitespace().next()?.parse().ok()
}

/// The CPU clocks of this process's threads whose name (`comm`, the kernel
/// keeps 15 bytes) starts with a given prefix: the exporter thread
/// (`otlpx-exporter`), the SDK's batch processor, the sink's threads.
///
/// [`ThreadCpu::sample`] reads every such thread's on-CPU nanoseconds
/// (`/proc/self/task/<tid>/schedstat`, first field); [`ThreadCpu::since`]
/// sums what each spent since an earlier sample (a thread born in between
/// counts from zero; one that ended in between is lost, so sample while the
/// threads live). Read a thread's clock while it sleeps for an exact value:
/// the kernel updates a running thread's sum only at ticks and switches.
#[derive(Debug, Clone, Default)]
pub struct ThreadCpu {
    /// `tid -> ns on CPU` at the sample.
    pub ns: HashMap<u32, u64>,
}

/// The ids and names of this process's threads.
pub fn threads() -> Vec<(u32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let tid: u32 = e.file_name().to_str()?.parse().ok()?;
        let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
        Some((tid, comm.trim_end().to_owned()))
    })
    .collect()
}

/// The ids of this process's threads whose `comm` starts with `prefix`
/// (compared on the kernel's 15 bytes).
pub fn tids_named(prefix: &str) -> Vec<u32> {
    let p = &prefix.as_bytes()[..prefix.len().min(15)];
    threads()
        .into_iter()
        .filter(|(_, name)| name.as_bytes().starts_with(p))
        .map(|(tid, _)| tid)
        .collect()
}

impl ThreadCpu {
    /// The clocks of the threads whose name starts with any of `prefixes`.
    pub fn sample(prefixes: &[&str]) -> ThreadCpu {
        let mut ns = HashMap::new();
        for p in prefixes {
            for tid in tids_named(p) {
                if let Some(v) = read_schedstat(&format!("/proc/self/task/{tid}/schedstat")) {
                    ns.insert(tid, v);
                }
            }
        }
        ThreadCpu { ns }
    }

    /// The clocks of exactly these threads.
    pub fn sample_tids(tids: &[u32]) -> ThreadCpu {
        let ns = tids
            .iter()
            .filter_map(|&tid| Some((tid, read_schedstat(&format!("/proc/self/task/{tid}/schedstat"))?)))
            .collect();
        ThreadCpu { ns }
    }

    /// Nanoseconds on CPU, summed over the threads, since `earlier`.
    pub fn since(&self, earlier: &ThreadCpu) -> u64 {
        self.ns
            .iter()
            .map(|(tid, &now)| now.saturating_sub(earlier.ns.get(tid).copied().unwrap_or(0)))
            .sum()
    }
}

// ---------------------------------------------------------------------------
// Compression floors.

/// Gzip, deflate level 1, with flate2's zlib-rs backend: the very steps the
/// exporter thread takes (`core/src/exporter.rs`, `gzip`): a reused raw
/// `Compress` reset per request, the RFC 1952 header, deflate into a reused
/// `Vec`, then CRC-32 and length.
pub struct ZlibRsGzip {
    deflate: Compress,
}

impl Default for ZlibRsGzip {
    fn default() -> Self {
        ZlibRsGzip {
            deflate: Compress::new(Compression::fast(), false),
        }
    }
}

impl std::fmt::Debug for ZlibRsGzip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ZlibRsGzip")
    }
}

impl ZlibRsGzip {
    /// Raw deflate of `input` into `out` (cleared), no header, no checksum.
    pub fn deflate(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.clear();
        self.deflate_append(input, out);
    }

    fn deflate_append(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.deflate.reset();
        out.reserve(input.len() + input.len() / 16 + 64);
        loop {
            let consumed = self.deflate.total_in() as usize;
            match self
                .deflate
                .compress_vec(&input[consumed..], out, FlushCompress::Finish)
            {
                Ok(Status::StreamEnd) => break,
                Ok(_) => out.reserve(out.capacity().max(4096)),
                Err(_) => break,
            }
        }
    }

    /// The gzip member of `input` into `out` (cleared).
    pub fn gzip(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255]);
        self.deflate_append(input, out);
        out.extend_from_slice(&crc32(input).to_le_bytes());
        out.extend_from_slice(&(input.len() as u32).to_le_bytes());
    }
}

/// CRC-32 of `input` with flate2's `Crc` (zlib-rs's crc32 in this build).
pub fn crc32(input: &[u8]) -> u32 {
    let mut crc = Crc::new();
    crc.update(input);
    crc.sum()
}

/// Raw deflate, level 1, with miniz_oxide: the calls flate2's
/// `miniz_oxide` (`rust_backend`) backend makes (a boxed `CompressorOxide`
/// set to raw format and level 1, `deflate::stream::deflate` with `Finish`,
/// `reset` between requests). flate2 compiles one backend per build, and in
/// this workspace feature unification makes it zlib-rs, so the other backend
/// is called directly.
pub struct MinizDeflate {
    inner: Box<CompressorOxide>,
}

impl Default for MinizDeflate {
    fn default() -> Self {
        let mut inner: Box<CompressorOxide> = Box::default();
        inner.set_format_and_level(DataFormat::Raw, 1);
        MinizDeflate { inner }
    }
}

impl std::fmt::Debug for MinizDeflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MinizDeflate")
    }
}

impl MinizDeflate {
    /// Raw deflate of `input` into `out` (cleared).
    pub fn deflate(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.inner.reset();
        out.clear();
        let mut consumed = 0;
        loop {
            // Give the compressor the spare capacity (flate2's `compress_vec`
            // does the same), growing it when it runs out.
            if out.capacity() - out.len() < 4096 {
                out.reserve((input.len() / 2).max(4096));
            }
            let len = out.len();
            out.resize(out.capacity(), 0);
            let r = miniz_oxide::deflate::stream::deflate(
                &mut self.inner,
                &input[consumed..],
                &mut out[len..],
                MZFlush::Finish,
            );
            out.truncate(len + r.bytes_written);
            consumed += r.bytes_consumed;
            match r.status {
                Ok(MZStatus::StreamEnd) => break,
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Decompress, FlushDecompress};

    fn inflate_raw(data: &[u8], len: usize) -> Vec<u8> {
        let mut d = Decompress::new(false);
        let mut out = Vec::with_capacity(len + 16);
        d.decompress_vec(data, &mut out, FlushDecompress::Finish).unwrap();
        out
    }

    #[test]
    fn both_backends_round_trip() {
        let input: Vec<u8> = (0..200_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let mut out = Vec::new();
        ZlibRsGzip::default().deflate(&input, &mut out);
        assert_eq!(inflate_raw(&out, input.len()), input);
        MinizDeflate::default().deflate(&input, &mut out);
        assert_eq!(inflate_raw(&out, input.len()), input);
        let mut gz = ZlibRsGzip::default();
        gz.gzip(&input, &mut out);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&out[..]).read_to_end(&mut back).unwrap();
        assert_eq!(back, input);
    }

    #[test]
    fn parses_a_head() {
        let h =
            parse_head(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\ncontent-length: 42\r\nContent-Encoding: gzip\r\n\r\n");
        assert_eq!(
            h,
            Head {
                content_length: Some(42),
                chunked: false,
                expect_continue: false,
                gzip: true
            }
        );
    }

    #[test]
    fn sink_answers_keep_alive_requests() {
        let sink = Sink::start().unwrap();
        let mut s = TcpStream::connect(sink.addr()).unwrap();
        let body = vec![7u8; 300_000];
        for _ in 0..3 {
            s.write_all(
                format!(
                    "POST /v1/traces HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )
            .unwrap();
            s.write_all(&body).unwrap();
            let mut resp = vec![0u8; OK_RESPONSE.len()];
            s.read_exact(&mut resp).unwrap();
            assert_eq!(resp, OK_RESPONSE);
        }
        assert_eq!(sink.counters().requests.load(Relaxed), 3);
        assert_eq!(sink.counters().body_bytes.load(Relaxed), 900_000);
        assert!(self_thread_cpu_ns().is_some());
        assert_eq!(tids_named(SINK_CONN_THREAD).len(), 1);
    }
}
