//! `otlpx receive`: a local OTLP/HTTP trace receiver (otlpx-receiver) on 127.0.0.1 that prints each request
//! and each span as it arrives, until Ctrl-C, SIGTERM or `--max-requests`.
//!
//! Owns: the printout of received requests and the run loop. Must not: listen on anything but loopback
//! (the receiver refuses to), or keep requests it has printed (memory stays flat however long it runs).

use std::fmt::Write as _;
use std::sync::mpsc;
use std::time::Duration;

use otlpx_receiver::{describe_request, Receiver, ReceiverConfig, RecordedRequest, WireFormat};

use crate::args::ReceiveArgs;
use crate::output::{errln, indent, out_block, outln, Exit};

/// After the last of `--max-requests`, how long to let the receiver write its answer before stopping
/// (the hook runs before the response is written).
const ANSWER_GRACE: Duration = Duration::from_millis(200);

/// Why the receiver stops.
enum Stop {
    Signal,
    MaxRequests,
}

/// One line about a request: `#0 POST /v1/traces protobuf gzip 1234 B (5678 B decoded): 512 spans -> 200`.
pub fn summary_line(req: &RecordedRequest) -> String {
    let mut s = format!("#{} {} {}", req.seq, req.method, req.path);
    match req.format {
        Some(WireFormat::Protobuf) => s.push_str(" protobuf"),
        Some(WireFormat::Json) => s.push_str(" json"),
        None => {}
    }
    if let Some(enc) = &req.content_encoding {
        let _ = write!(s, " {enc}");
    }
    let _ = write!(s, " {} B", req.body_size);
    if req.decoded_size != req.body_size {
        let _ = write!(s, " ({} B decoded)", req.decoded_size);
    }
    let _ = write!(s, ": {} spans", req.span_count());
    match req.response_status {
        Some(code) => {
            let _ = write!(s, " -> {code}");
        }
        None => s.push_str(" -> no answer"),
    }
    if let Some(e) = &req.error {
        let _ = write!(s, " ({e})");
    }
    s
}

/// Runs `otlpx receive`.
pub fn run(args: &ReceiveArgs) -> Exit {
    let (stop_tx, stop_rx) = mpsc::channel::<Stop>();
    let quiet = args.quiet;
    let max = args.max_requests;
    let hook_tx = stop_tx.clone();
    let mut config = ReceiverConfig::with_port(args.port).on_request(move |req| {
        let mut text = summary_line(req);
        text.push('\n');
        if !quiet {
            if let Some(export) = &req.request {
                text.push_str(&indent(&describe_request(export), "  "));
            }
        }
        out_block(&text);
        if max.is_some_and(|m| req.seq + 1 >= m) {
            let _ = hook_tx.send(Stop::MaxRequests);
        }
    });
    // Everything is printed as it arrives; keep nothing.
    config.retain_requests = Some(0);
    let rx = match Receiver::start(config) {
        Ok(rx) => rx,
        Err(e) => {
            errln!("{e}");
            return Exit::Failure;
        }
    };
    if let Err(e) = ctrlc::set_handler(move || {
        let _ = stop_tx.send(Stop::Signal);
    }) {
        errln!("cannot handle Ctrl-C ({e}); stop otlpx with SIGKILL");
    }
    outln!("listening on {}", rx.traces_url());

    // The hook keeps a sender, so this only ends with a message.
    if let Ok(Stop::MaxRequests) = stop_rx.recv() {
        std::thread::sleep(ANSWER_GRACE);
    }
    rx.shutdown();
    outln!(
        "receive: {} requests, {} spans accepted",
        rx.request_count(),
        rx.span_count()
    );
    Exit::Success
}
