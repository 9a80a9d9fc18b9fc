//! `HTTP_PROXY` / `HTTPS_PROXY` end to end: a CONNECT proxy on loopback in
//! front of the real receiver. The endpoints name hosts no resolver knows
//! (the reserved `.test` domain), so a span arrives only if the exporter went
//! through the proxy; over HTTPS the TLS session runs through the tunnel to
//! the receiver, whose certificate holds that name.
//!
//! One test in this binary: the transport reads the proxy variables from the
//! process environment, which the test sets.

mod support;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use otlpx_core::config::Config;
use otlpx_core::exporter::Exporter;
use otlpx_core::log::Logger;
use otlpx_receiver::{testcerts, Receiver, ReceiverConfig};
use support::*;

/// A CONNECT-only proxy that tunnels every connection to `upstream`,
/// whatever host the client asked for, and remembers what it asked for.
struct ConnectProxy {
    addr: SocketAddr,
    targets: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    fn start(upstream: SocketAddr) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let t = targets.clone();
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let t = t.clone();
                thread::spawn(move || {
                    let _ = tunnel(conn, upstream, &t);
                });
            }
        });
        ConnectProxy { addr, targets }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

fn tunnel(mut client: TcpStream, upstream: SocketAddr, targets: &Mutex<Vec<String>>) -> io::Result<()> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut b)? == 0 || head.len() > 8192 {
            return Ok(());
        }
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut first = head.lines().next().unwrap_or("").split(' ');
    let (method, target) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
    if method != "CONNECT" {
        client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")?;
        return Ok(());
    }
    targets.lock().unwrap().push(target.to_owned());
    let mut server = TcpStream::connect(upstream)?;
    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    let (mut c2, mut s2) = (client.try_clone()?, server.try_clone()?);
    thread::spawn(move || {
        let _ = io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(Shutdown::Write);
    });
    let _ = io::copy(&mut server, &mut client);
    let _ = client.shutdown(Shutdown::Write);
    Ok(())
}

fn export_two(cfg: Config) -> Exporter {
    let exp = Exporter::builder()
        .config(cfg)
        .logger(Logger::silent())
        .build()
        .unwrap();
    for i in 0..2 {
        exp.record(exp.default_scope(), &view_span(&http_span(i))).unwrap();
    }
    exp
}

#[test]
fn proxies_from_the_environment_carry_http_and_https() {
    for k in ["NO_PROXY", "no_proxy", "http_proxy", "https_proxy"] {
        std::env::remove_var(k);
    }

    // OTLP/HTTP: the kf-agent route through HTTP_PROXY (a CONNECT tunnel).
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    let proxy = ConnectProxy::start(rx.addr());
    std::env::set_var("HTTP_PROXY", proxy.url());
    let exp = export_two(
        Config::builder()
            .endpoint("http://kf-agent.test:4318/v1/traces")
            .build_from_lookup(|_| None)
            .0,
    );
    let out = exp.shutdown(Duration::from_secs(10));
    assert!(out.is_success(), "{out} {:?}", exp.stats().last_error);
    assert_eq!(proxy.targets(), vec!["kf-agent.test:4318"]);
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/v1/traces");
    assert_eq!(rx.span_count(), 2);

    // The ingester route over HTTPS through HTTPS_PROXY: TLS end to end
    // through the tunnel, the Kloudfuse headers inside it.
    let pki = testcerts::generate().unwrap();
    let dir = std::env::temp_dir().join(format!("otlpx-proxy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = pki.write_to(&dir).unwrap();
    let rx = Receiver::start(ReceiverConfig::default().tls(pki.server_tls())).unwrap();
    let proxy = ConnectProxy::start(rx.addr());
    std::env::set_var("HTTPS_PROXY", proxy.url());
    let endpoint = format!("https://{}/ingester/otlp/traces", testcerts::PROXIED_NAME);
    let ca = files.ca_cert.to_str().unwrap().to_owned();
    let env = [
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca.as_str()),
        ("OTEL_EXPORTER_OTLP_HEADERS", "kf-api-key=k3y,x-env=production"),
    ];
    let (cfg, warnings) =
        Config::builder().build_from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()));
    assert!(warnings.is_empty(), "{warnings:?}");
    let exp = export_two(cfg);
    let out = exp.shutdown(Duration::from_secs(10));
    assert!(out.is_success(), "{out} {:?}", exp.stats().last_error);
    assert_eq!(proxy.targets(), vec![format!("{}:443", testcerts::PROXIED_NAME)]);
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].tls);
    assert_eq!(reqs[0].path, "/ingester/otlp/traces");
    assert_eq!(reqs[0].header("kf-api-key"), Some("k3y"));
    assert_eq!(rx.span_count(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}
