//! Plain-HTTP tests of the receiver: decoding (protobuf, gzip, OTLP/JSON), recording, keep-alive, refusals,
//! and every fault behavior, driven by a real client (ureq 3) or a raw socket.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{agent, agent_with_timeout, post, request};
use otlpx_receiver::proto::{any_value::Value, ExportTraceServiceResponse};
use otlpx_receiver::{describe_request, free_port, Behavior, Error, Receiver, ReceiverConfig, WireFormat};
use prost::Message;

const PB: &str = "application/x-protobuf";

fn start() -> Receiver {
    Receiver::start(ReceiverConfig::default()).unwrap()
}

#[test]
fn protobuf_request_is_decoded_and_recorded() {
    let rx = start();
    assert!(rx.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(rx.traces_url(), format!("http://{}/v1/traces", rx.addr()));
    let sent = request(3);
    let reply = agent()
        .post(&rx.traces_url())
        .header("content-type", PB)
        .header("X-Api-Key", "secret")
        .send(&sent.encode_to_vec()[..])
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    assert_eq!(reply.headers().get("content-type").unwrap(), PB);
    let body = reply.into_body().read_to_vec().unwrap();
    assert_eq!(
        ExportTraceServiceResponse::decode(&body[..]).unwrap(),
        ExportTraceServiceResponse::default()
    );

    assert_eq!(rx.span_count(), 3);
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str(), r.version),
        ("POST", "/v1/traces", "HTTP/1.1")
    );
    assert_eq!(r.header("x-api-key"), Some("secret"));
    assert!(
        r.headers.iter().any(|(k, v)| k == "x-api-key" && v == "secret"),
        "names are lowercased"
    );
    assert_eq!(r.content_type.as_deref(), Some(PB));
    assert_eq!(r.content_encoding, None);
    assert_eq!(r.format, Some(WireFormat::Protobuf));
    assert_eq!(r.body_size, sent.encoded_len());
    assert_eq!(r.decoded_size, r.body_size);
    assert_eq!(r.request.as_ref(), Some(&sent));
    assert_eq!(
        (r.response_status, r.accepted, r.error.as_deref()),
        (Some(200), true, None)
    );
    assert!(!r.tls);

    let spans = rx.spans();
    assert_eq!(spans.len(), 3);
    let (resource, scope, span) = &spans[1];
    assert_eq!(resource.attributes[0].key, "service.name");
    assert_eq!(scope.name, "test-scope");
    assert_eq!(span.name, "span-2");
    let text = describe_request(r.request.as_ref().unwrap());
    assert!(text.contains("service.name=\"test-svc\""), "{text}");
    assert!(
        text.contains("\"span-2\" SERVER trace=11111111111111111111111111111111 span=0202020202020202"),
        "{text}"
    );

    rx.clear();
    assert_eq!((rx.span_count(), rx.request_count(), rx.requests().len()), (0, 0, 0));
}

#[test]
fn keep_alive_reuses_one_connection_and_any_path_is_accepted() {
    let rx = start();
    let a = agent();
    let body = request(1).encode_to_vec();
    for path in ["/v1/traces", "/custom/prefix/v1/traces?x=1", "/"] {
        let reply = post(&a, &format!("{}{path}", rx.base_url()), PB, &body).unwrap();
        assert_eq!(reply.status, 200);
    }
    let reqs = rx.requests();
    let paths: Vec<_> = reqs.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/v1/traces", "/custom/prefix/v1/traces?x=1", "/"]);
    assert!(
        reqs.iter().all(|r| r.connection_id == reqs[0].connection_id),
        "one connection reused"
    );
    assert_eq!(rx.connection_count(), 1);
    assert_eq!(reqs.iter().map(|r| r.seq).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(rx.span_count(), 3);
}

#[test]
fn gzip_body_is_decompressed() {
    let rx = start();
    let sent = request(20);
    let plain = sent.encode_to_vec();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&plain).unwrap();
    let gz = enc.finish().unwrap();
    let reply = agent()
        .post(&rx.traces_url())
        .header("content-type", PB)
        .header("content-encoding", "gzip")
        .send(&gz[..]);
    assert_eq!(reply.unwrap().status().as_u16(), 200);
    let r = &rx.requests()[0];
    assert_eq!(r.content_encoding.as_deref(), Some("gzip"));
    assert_eq!((r.body_size, r.decoded_size), (gz.len(), plain.len()));
    assert!(r.body_size < r.decoded_size);
    assert_eq!(r.request.as_ref(), Some(&sent));
    assert_eq!(rx.span_count(), 20);

    // A body that says gzip but is not: 400, nothing accepted.
    let reply = agent()
        .post(&rx.traces_url())
        .header("content-type", PB)
        .header("content-encoding", "gzip")
        .send(&plain[..])
        .unwrap();
    assert_eq!(reply.status().as_u16(), 400);
    assert_eq!(rx.span_count(), 20);
}

/// OTLP/JSON as the specification shows it: hex ids, 64-bit integers as strings, enums as integers.
const JSON_REQUEST: &str = r#"{
  "resourceSpans": [{
    "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "json-svc" } }] },
    "scopeSpans": [{
      "scope": { "name": "json-scope", "version": "2.0" },
      "spans": [{
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "EEE19B7EC3C1B174",
        "parentSpanId": "",
        "name": "I'm a server span",
        "kind": 2,
        "startTimeUnixNano": "1544712660000000000",
        "endTimeUnixNano": "1544712661000000000",
        "attributes": [
          { "key": "s", "value": { "stringValue": "v" } },
          { "key": "i", "value": { "intValue": "9007199254740993" } },
          { "key": "i2", "value": { "intValue": 42 } },
          { "key": "d", "value": { "doubleValue": 1.5 } },
          { "key": "b", "value": { "boolValue": true } },
          { "key": "bytes", "value": { "bytesValue": "3q2+7w==" } },
          { "key": "arr", "value": { "arrayValue": { "values": [{ "stringValue": "x" }, { "intValue": "1" }] } } },
          { "key": "map", "value": { "kvlistValue": { "values": [{ "key": "k", "value": { "boolValue": false } }] } } }
        ],
        "events": [{ "timeUnixNano": "1544712660500000000", "name": "ev", "attributes": [] }],
        "status": { "code": 2, "message": "boom" },
        "flags": 257,
        "unknownField": { "ignored": true }
      }]
    }]
  }]
}"#;

#[test]
fn otlp_json_is_decoded() {
    let rx = start();
    let reply = post(
        &agent(),
        &rx.traces_url(),
        "application/json; charset=utf-8",
        JSON_REQUEST.as_bytes(),
    )
    .unwrap();
    assert_eq!(
        reply.status,
        200,
        "{:?} {:?}",
        String::from_utf8_lossy(&reply.body),
        rx.requests()[0].error
    );
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    assert_eq!(reply.body, b"{}");
    let r = &rx.requests()[0];
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(r.format, Some(WireFormat::Json));
    let spans = rx.spans();
    assert_eq!(spans.len(), 1);
    let (resource, scope, span) = &spans[0];
    assert_eq!(resource.attributes[0].key, "service.name");
    assert_eq!((scope.name.as_str(), scope.version.as_str()), ("json-scope", "2.0"));
    assert_eq!(span.trace_id, hex("5b8efff798038103d269b633813fc60c"));
    assert_eq!(span.span_id, hex("eee19b7ec3c1b174"));
    assert!(span.parent_span_id.is_empty());
    assert_eq!(span.kind, 2);
    assert_eq!(
        (span.start_time_unix_nano, span.end_time_unix_nano),
        (1544712660000000000, 1544712661000000000)
    );
    assert_eq!(span.flags, 257);
    assert_eq!(
        span.status.as_ref().map(|s| (s.code, s.message.as_str())),
        Some((2, "boom"))
    );
    assert_eq!(span.events[0].time_unix_nano, 1544712660500000000);
    let attr = |k: &str| {
        span.attributes
            .iter()
            .find(|a| a.key == k)
            .unwrap()
            .value
            .clone()
            .unwrap()
            .value
            .unwrap()
    };
    assert_eq!(attr("s"), Value::StringValue("v".into()));
    assert_eq!(attr("i"), Value::IntValue(9007199254740993));
    assert_eq!(attr("i2"), Value::IntValue(42));
    assert_eq!(attr("d"), Value::DoubleValue(1.5));
    assert_eq!(attr("b"), Value::BoolValue(true));
    assert_eq!(attr("bytes"), Value::BytesValue(vec![0xde, 0xad, 0xbe, 0xef]));
    let Value::ArrayValue(arr) = attr("arr") else {
        panic!("array")
    };
    assert_eq!(arr.values.len(), 2);
    let Value::KvlistValue(map) = attr("map") else {
        panic!("kvlist")
    };
    assert_eq!(map.values[0].key, "k");

    // Partial success in JSON: int64 as a decimal string.
    rx.set_behavior(
        Behavior::PartialSuccess {
            rejected: 1,
            message: "late".into(),
        },
        1,
    );
    let reply = post(&agent(), &rx.traces_url(), "application/json", JSON_REQUEST.as_bytes()).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"partialSuccess": {"rejectedSpans": "1", "errorMessage": "late"}})
    );
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn bad_requests_are_answered_and_recorded_but_not_accepted() {
    let rx = start();
    let a = agent();
    // Not protobuf.
    let reply = post(&a, &rx.traces_url(), PB, b"\xff\xff\xff\xff").unwrap();
    assert_eq!(reply.status, 400);
    // google.rpc.Status { code = 3 (field 1), message (field 2) }
    assert_eq!(reply.body[..2], [0x08, 0x03]);
    // Wrong content type.
    assert_eq!(post(&a, &rx.traces_url(), "text/plain", b"hi").unwrap().status, 415);
    // Wrong encoding.
    let reply = a
        .post(&rx.traces_url())
        .header("content-type", PB)
        .header("content-encoding", "br")
        .send(&b""[..]);
    assert_eq!(reply.unwrap().status().as_u16(), 415);
    // Wrong method.
    assert_eq!(a.get(&rx.traces_url()).call().unwrap().status().as_u16(), 405);
    // Bad JSON.
    let reply = post(&a, &rx.traces_url(), "application/json", b"{\"resourceSpans\": 5}").unwrap();
    assert_eq!(reply.status, 400);
    let v: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(v["code"], 3);

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 5);
    assert!(reqs.iter().all(|r| !r.accepted && r.error.is_some()), "{reqs:#?}");
    assert_eq!(
        reqs.iter().map(|r| r.response_status.unwrap()).collect::<Vec<_>>(),
        [400, 415, 415, 405, 400]
    );
    assert_eq!(rx.span_count(), 0);
    // An empty request is valid and has no spans.
    assert_eq!(post(&a, &rx.traces_url(), PB, b"").unwrap().status, 200);
}

#[test]
fn body_limit_gives_413() {
    let rx = Receiver::start(ReceiverConfig {
        max_body_bytes: 100,
        ..Default::default()
    })
    .unwrap();
    let big = request(10).encode_to_vec();
    assert!(big.len() > 100);
    let result = post(&agent(), &rx.traces_url(), PB, &big);
    // The receiver answers 413 and closes without reading the body; the client may see the answer or a reset.
    if let Ok(reply) = result {
        assert_eq!(reply.status, 413);
    }
    // A gzip bomb-ish body that is small on the wire but large after gunzip.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&[0u8; 10_000]).unwrap();
    let gz = enc.finish().unwrap();
    assert!(gz.len() <= 100);
    let reply = agent()
        .post(&rx.traces_url())
        .header("content-type", PB)
        .header("content-encoding", "gzip")
        .send(&gz[..]);
    assert_eq!(reply.unwrap().status().as_u16(), 413);
}

#[test]
fn status_behavior_for_n_requests_then_ok() {
    let rx = start();
    let a = agent();
    let body = request(2).encode_to_vec();
    rx.set_behavior(
        Behavior::Status {
            code: 503,
            retry_after: Some("7".into()),
            body: b"busy".to_vec(),
        },
        2,
    );
    rx.push_behavior(
        Behavior::Status {
            code: 429,
            retry_after: None,
            body: vec![],
        },
        1,
    );
    assert_eq!(rx.pending_behaviors(), 3);
    let replies: Vec<_> = (0..4).map(|_| post(&a, &rx.traces_url(), PB, &body).unwrap()).collect();
    assert_eq!(
        replies.iter().map(|r| r.status).collect::<Vec<_>>(),
        [503, 503, 429, 200]
    );
    assert_eq!(replies[0].retry_after.as_deref(), Some("7"));
    assert_eq!(replies[0].body, b"busy");
    assert_eq!(replies[2].retry_after, None);
    assert_eq!(rx.pending_behaviors(), 0);
    // Rejected requests are recorded (decoded) but their spans are not counted.
    assert_eq!(rx.request_count(), 4);
    assert_eq!(rx.span_count(), 2);
    assert_eq!(rx.spans().len(), 2);
    assert!(rx.requests()[0].request.is_some());
    assert_eq!(rx.requests().iter().filter(|r| r.accepted).count(), 1);

    // A persistent default.
    rx.set_default_behavior(Behavior::Status {
        code: 500,
        retry_after: None,
        body: vec![],
    });
    assert_eq!(post(&a, &rx.traces_url(), PB, &body).unwrap().status, 500);
    assert_eq!(post(&a, &rx.traces_url(), PB, &body).unwrap().status, 500);
    rx.reset_behavior();
    assert_eq!(post(&a, &rx.traces_url(), PB, &body).unwrap().status, 200);
}

#[test]
fn partial_success_behavior() {
    let rx = start();
    rx.set_behavior(
        Behavior::PartialSuccess {
            rejected: 2,
            message: "too old".into(),
        },
        1,
    );
    let reply = post(&agent(), &rx.traces_url(), PB, &request(3).encode_to_vec()).unwrap();
    assert_eq!(reply.status, 200);
    let resp = ExportTraceServiceResponse::decode(&reply.body[..]).unwrap();
    let partial = resp.partial_success.unwrap();
    assert_eq!((partial.rejected_spans, partial.error_message.as_str()), (2, "too old"));
    assert_eq!(rx.span_count(), 3);
}

#[test]
fn delay_behavior_slows_the_answer() {
    let rx = start();
    rx.set_behavior(Behavior::Delay(Duration::from_millis(300)), 1);
    let t = Instant::now();
    let reply = post(&agent(), &rx.traces_url(), PB, &request(1).encode_to_vec()).unwrap();
    assert_eq!(reply.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(rx.span_count(), 1);

    // A client that gives up first sees a timeout.
    rx.set_behavior(Behavior::Delay(Duration::from_millis(1500)), 1);
    let err = post(
        &agent_with_timeout(Duration::from_millis(200)),
        &rx.traces_url(),
        PB,
        &request(1).encode_to_vec(),
    );
    assert!(err.is_err());
}

#[test]
fn black_hole_holds_the_request_and_shutdown_is_prompt() {
    let rx = start();
    rx.set_behavior(Behavior::BlackHole, 1);
    let url = rx.traces_url();
    let body = request(1).encode_to_vec();
    // A client with a long timeout, stuck until the receiver goes away.
    let client = std::thread::spawn(move || post(&agent_with_timeout(Duration::from_secs(30)), &url, PB, &body));
    assert!(rx.wait_for_requests(1, Duration::from_secs(5)));
    let r = &rx.requests()[0];
    assert_eq!((r.response_status, r.accepted), (None, false));
    assert!(r.request.is_some());
    assert_eq!(rx.span_count(), 0);
    std::thread::sleep(Duration::from_millis(100));
    assert!(!client.is_finished(), "no answer while black-holed");

    let t = Instant::now();
    rx.shutdown();
    assert!(t.elapsed() < Duration::from_secs(1), "shutdown took {:?}", t.elapsed());
    assert!(client.join().unwrap().is_err(), "client sees the connection closed");
    rx.shutdown(); // idempotent
                   // And the port is closed.
    assert!(TcpStream::connect_timeout(&rx.addr(), Duration::from_millis(200)).is_err());
}

#[test]
fn black_hole_with_timing_out_client_and_drop() {
    let rx = start();
    rx.set_default_behavior(Behavior::BlackHole);
    let a = agent_with_timeout(Duration::from_millis(200));
    assert!(post(&a, &rx.traces_url(), PB, &request(1).encode_to_vec()).is_err());
    assert!(post(&a, &rx.traces_url(), PB, &request(1).encode_to_vec()).is_err());
    let t = Instant::now();
    drop(rx);
    assert!(t.elapsed() < Duration::from_secs(1), "drop took {:?}", t.elapsed());
}

#[test]
fn delay_is_interrupted_by_shutdown() {
    let rx = start();
    rx.set_behavior(Behavior::Delay(Duration::from_secs(30)), 1);
    let url = rx.traces_url();
    let client = std::thread::spawn(move || post(&agent(), &url, PB, &request(1).encode_to_vec()));
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    rx.shutdown();
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(client.join().unwrap().is_err());
    let r = &rx.requests()[0];
    assert_eq!((r.response_status, r.accepted), (None, false));
}

#[test]
fn disconnect_behavior_closes_without_answer() {
    let rx = start();
    rx.set_behavior(Behavior::Disconnect, 1);
    let a = agent();
    assert!(post(&a, &rx.traces_url(), PB, &request(1).encode_to_vec()).is_err());
    assert_eq!(
        post(&a, &rx.traces_url(), PB, &request(1).encode_to_vec())
            .unwrap()
            .status,
        200
    );
    assert_eq!(rx.request_count(), 2);
    assert_eq!(rx.span_count(), 1);
}

#[test]
fn start_on_a_port_that_was_down() {
    let port = free_port().unwrap();
    let url = format!("http://127.0.0.1:{port}/v1/traces");
    let a = agent();
    assert!(
        post(&a, &url, PB, &request(1).encode_to_vec()).is_err(),
        "nothing listening yet"
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let rx = Receiver::start_on(addr, ReceiverConfig::default()).unwrap();
    assert_eq!(rx.addr(), addr);
    assert_eq!(post(&a, &url, PB, &request(1).encode_to_vec()).unwrap().status, 200);
    // Restart on the same port after shutdown.
    rx.shutdown();
    let rx = Receiver::start(ReceiverConfig::with_port(port)).unwrap();
    assert_eq!(
        post(&agent(), &url, PB, &request(1).encode_to_vec()).unwrap().status,
        200
    );
    // Port in use.
    assert!(matches!(
        Receiver::start(ReceiverConfig::with_port(port)),
        Err(Error::Bind { .. })
    ));
    drop(rx);
}

#[test]
fn only_loopback() {
    let err = Receiver::start_on("0.0.0.0:0".parse().unwrap(), ReceiverConfig::default()).unwrap_err();
    assert!(matches!(err, Error::NotLoopback(_)));
    assert!(err.to_string().contains("loopback"));
    let rx = Receiver::start_on("127.0.0.2:0".parse().unwrap(), ReceiverConfig::default());
    // 127.0.0.0/8 is loopback on Linux; binding may still be refused elsewhere.
    if let Ok(rx) = rx {
        assert_eq!(rx.addr().ip().to_string(), "127.0.0.2");
    }
}

#[test]
fn wait_for_spans_times_out_and_succeeds() {
    let rx = start();
    assert!(!rx.wait_for_spans(1, Duration::from_millis(50)));
    let url = rx.traces_url();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        for _ in 0..3 {
            post(&agent(), &url, PB, &request(2).encode_to_vec()).unwrap();
        }
    });
    assert!(rx.wait_for_spans(6, Duration::from_secs(5)));
    sender.join().unwrap();
    assert_eq!(rx.span_count(), 6);
}

#[test]
fn hook_and_retention() {
    let seen = Arc::new(AtomicUsize::new(0));
    let seen2 = seen.clone();
    let config = ReceiverConfig {
        retain_requests: Some(2),
        ..Default::default()
    }
    .on_request(move |r| {
        seen2.fetch_add(r.span_count(), Ordering::SeqCst);
    });
    let rx = Receiver::start(config).unwrap();
    let a = agent();
    for n in 1..=4 {
        post(&a, &rx.traces_url(), PB, &request(n).encode_to_vec()).unwrap();
    }
    assert_eq!(seen.load(Ordering::SeqCst), 10);
    assert_eq!(rx.request_count(), 4);
    assert_eq!(rx.span_count(), 10);
    let kept: Vec<_> = rx.requests().iter().map(|r| r.span_count()).collect();
    assert_eq!(kept, [3, 4]);
    assert_eq!(rx.spans().len(), 7);
}

/// Chunked transfer encoding, `Expect: 100-continue`, pipelining and `Connection: close` from a raw socket.
#[test]
fn raw_socket_chunked_expect_continue_and_pipelining() {
    let rx = start();
    let body = request(2).encode_to_vec();
    let mut s = TcpStream::connect(rx.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();

    // Expect: 100-continue; the interim answer comes before we send the body.
    write!(
        s,
        "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: {PB}\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(&body).unwrap();

    // Then a chunked request and a second one with Connection: close, pipelined in one write.
    let (a, b) = body.split_at(5);
    let mut next = Vec::new();
    write!(
        next,
        "POST /chunked HTTP/1.1\r\nContent-Type: {PB}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .unwrap();
    write!(next, "{:x}\r\n", a.len()).unwrap();
    next.extend_from_slice(a);
    write!(next, "\r\n{:x}\r\n", b.len()).unwrap();
    next.extend_from_slice(b);
    next.extend_from_slice(b"\r\n0\r\n\r\n");
    write!(
        next,
        "POST /last HTTP/1.1\r\nContent-Type: {PB}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    s.write_all(&next).unwrap();

    let mut all = String::new();
    s.read_to_string(&mut all).unwrap(); // ends because the server closes after the last request
    assert_eq!(all.matches("HTTP/1.1 200 OK\r\n").count(), 3, "{all}");
    assert!(all.contains("Connection: close\r\n"));
    let paths: Vec<_> = rx.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/v1/traces", "/chunked", "/last"]);
    assert_eq!(rx.span_count(), 4);

    // Garbage gets 400 and a closed connection.
    let mut s = TcpStream::connect(rx.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"\x00\x01\x02 what\r\n\r\n").unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 400 "), "{reply}");
}

#[test]
fn many_connections_and_idle_ones_do_not_block_shutdown() {
    let rx = start();
    let idle: Vec<_> = (0..5).map(|_| TcpStream::connect(rx.addr()).unwrap()).collect();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let url = rx.traces_url();
            std::thread::spawn(move || {
                let a = agent();
                for _ in 0..10 {
                    assert_eq!(post(&a, &url, PB, &request(1).encode_to_vec()).unwrap().status, 200);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(rx.span_count(), 40);
    let t = Instant::now();
    rx.shutdown();
    assert!(t.elapsed() < Duration::from_secs(1), "shutdown took {:?}", t.elapsed());
    drop(idle);
}

#[test]
fn cors_preflight_and_headers_for_browsers() {
    let rx = start();
    let a = agent();
    let pre = a
        .options(&rx.traces_url())
        .header("origin", "http://localhost:8080")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, x-api-key")
        .call()
        .unwrap();
    assert_eq!(pre.status().as_u16(), 200);
    let h = |name: &str| pre.headers().get(name).map(|v| v.to_str().unwrap().to_string());
    assert_eq!(
        h("access-control-allow-origin").as_deref(),
        Some("http://localhost:8080")
    );
    assert_eq!(h("access-control-allow-methods").as_deref(), Some("POST, OPTIONS"));
    assert_eq!(
        h("access-control-allow-headers").as_deref(),
        Some("content-type, x-api-key")
    );

    rx.set_behavior(
        Behavior::Status {
            code: 429,
            retry_after: Some("3".into()),
            body: vec![],
        },
        1,
    );
    let resp = a
        .post(&rx.traces_url())
        .header("origin", "http://localhost:8080")
        .header("content-type", PB)
        .send(&request(1).encode_to_vec()[..])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429, "OPTIONS did not consume the script");
    assert_eq!(
        resp.headers().get("access-control-allow-origin").unwrap(),
        "http://localhost:8080"
    );
    assert_eq!(
        resp.headers().get("access-control-expose-headers").unwrap(),
        "Retry-After"
    );
    // Without Origin, no CORS headers.
    let resp = post(&a, &rx.traces_url(), PB, &request(1).encode_to_vec()).unwrap();
    assert_eq!(resp.status, 200);
    let methods: Vec<_> = rx
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.response_status))
        .collect();
    assert_eq!(
        methods,
        [
            ("OPTIONS".into(), Some(200)),
            ("POST".into(), Some(429)),
            ("POST".into(), Some(200))
        ]
    );
}
