//! OTLP/HTTP over ureq and rustls: the native transport.
//!
//! Owns: the HTTP client (one `ureq::Agent`, so connections are kept alive
//! and reused), TLS (system roots, a custom CA file, a client certificate for
//! mTLS), proxies (`HTTPS_PROXY`/`HTTP_PROXY` by the endpoint's scheme,
//! `NO_PROXY`, as Go's `http.ProxyFromEnvironment`), the OTLP headers and
//! User-Agent. Must not: retry (the exporter asks the retry policy), or read
//! more than [`MAX_RESPONSE_BYTES`] of a response.

use std::time::Duration;

use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{Connector, DefaultConnector};
use ureq::{Agent, Proxy};

use crate::coalesce::Coalesce;
use crate::config::{Config, Protocol};
use crate::transport::{ExportRequest, ExportResponse, Transport, TransportError};

/// The User-Agent, in the form the OTLP exporter specification gives.
pub const USER_AGENT: &str = concat!("OTel-OTLP-Exporter-Rust-otlpx/", env!("CARGO_PKG_VERSION"));

/// Most bytes of a response body read (a status message, a partial success).
pub const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

/// Sends export requests with blocking HTTP/1.1.
pub struct HttpTransport {
    agent: Agent,
    url: String,
    /// The URL with credentials and query redacted, for logs.
    shown: String,
    headers: Vec<(String, String)>,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn read_file(what: &str, path: &str) -> Result<Vec<u8>, TransportError> {
    std::fs::read(path).map_err(|e| TransportError::Other(format!("cannot read {what} file {path:?}: {e}")))
}

fn certificates(what: &str, path: &str) -> Result<Vec<Certificate<'static>>, TransportError> {
    let pem = read_file(what, path)?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => return Err(TransportError::Other(format!("bad PEM in {what} file {path:?}: {e}"))),
        }
    }
    if certs.is_empty() {
        return Err(TransportError::Other(format!(
            "{what} file {path:?} holds no PEM certificate"
        )));
    }
    Ok(certs)
}

/// The proxy for `endpoint`, read from the environment as Go's
/// `http.ProxyFromEnvironment` does: `HTTPS_PROXY` for https endpoints,
/// `HTTP_PROXY` for http ones (upper case first, then lower case), never for
/// `localhost` or a loopback address, and not when `NO_PROXY` matches.
fn proxy_for(endpoint: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Proxy>, TransportError> {
    let uri: ureq::http::Uri = endpoint
        .parse()
        .map_err(|e| TransportError::Other(format!("invalid endpoint {endpoint:?}: {e}")))?;
    let https = uri.scheme_str() == Some("https");
    let names: [&str; 2] = if https {
        ["HTTPS_PROXY", "https_proxy"]
    } else {
        ["HTTP_PROXY", "http_proxy"]
    };
    let Some(url) = names.iter().find_map(|n| lookup(n).filter(|v| !v.trim().is_empty())) else {
        return Ok(None);
    };
    let host = uri.host().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let no_proxy = lookup("NO_PROXY").or_else(|| lookup("no_proxy")).unwrap_or_default();
    if !use_proxy(host, port, &no_proxy) {
        return Ok(None);
    }
    Proxy::new(url.trim())
        .map(Some)
        .map_err(|e| TransportError::Other(format!("invalid proxy in {}: {e}", names[0])))
}

/// Go's `httpproxy` rule: no proxy for localhost, loopback addresses, or a
/// host matching a `NO_PROXY` entry (`*`; an IP; a CIDR; `name` for the
/// name and its subdomains; `.name` for subdomains only; optional `:port`).
fn use_proxy(host: &str, port: u16, no_proxy: &str) -> bool {
    use std::net::IpAddr;
    let host = host.to_ascii_lowercase();
    if host == "localhost" {
        return false;
    }
    let ip: Option<IpAddr> = host.parse().ok();
    if ip.is_some_and(|ip| ip.is_loopback()) {
        return false;
    }
    for entry in no_proxy.split([',', ' ']).map(str::trim).filter(|e| !e.is_empty()) {
        if entry == "*" {
            return false;
        }
        if let Some((net, bits)) = entry.split_once('/') {
            if let (Ok(net), Ok(bits), Some(ip)) = (net.parse::<IpAddr>(), bits.parse::<u32>(), ip) {
                if in_cidr(ip, net, bits) {
                    return false;
                }
            }
            continue;
        }
        if let Ok(e) = entry.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            if ip == Some(e) {
                return false;
            }
            continue;
        }
        let (name, entry_port) = match entry.rsplit_once(':') {
            Some((n, p)) => match p.parse::<u16>() {
                Ok(p) => (n, Some(p)),
                Err(_) => (entry, None),
            },
            None => (entry, None),
        };
        if entry_port.is_some_and(|p| p != port) {
            continue;
        }
        let name = name.trim_start_matches('*').to_ascii_lowercase();
        let matched = if let Some(suffix) = name.strip_prefix('.') {
            host.ends_with(&format!(".{suffix}"))
        } else {
            host == name || host.ends_with(&format!(".{name}"))
        };
        if matched {
            return false;
        }
    }
    true
}

fn in_cidr(ip: std::net::IpAddr, net: std::net::IpAddr, bits: u32) -> bool {
    use std::net::IpAddr::{V4, V6};
    match (ip, net) {
        (V4(a), V4(b)) if bits <= 32 => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (V6(a), V6(b)) if bits <= 128 => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

impl HttpTransport {
    /// A transport for `config`'s endpoint, headers and TLS files.
    pub fn new(config: &Config) -> Result<HttpTransport, TransportError> {
        if config.protocol() == Protocol::Grpc {
            return Err(TransportError::Other(
                "OTLP/gRPC is not supported yet; use OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf (port 4318)".into(),
            ));
        }
        let mut tls = TlsConfig::builder();
        tls = match config.certificate() {
            // As the Go SDK: a CA file replaces the system roots.
            Some(path) => tls.root_certs(RootCerts::new_with_certs(&certificates("certificate", path)?)),
            None => tls.root_certs(RootCerts::PlatformVerifier),
        };
        if let (Some(cert), Some(key)) = (config.client_certificate(), config.client_key()) {
            let chain = certificates("client certificate", cert)?;
            let key_pem = read_file("client key", key)?;
            let key = PrivateKey::from_pem(&key_pem)
                .map_err(|e| TransportError::Other(format!("bad client key file {key:?}: {e}")))?;
            tls = tls.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
        }
        let proxy = proxy_for(config.endpoint(), |k| std::env::var(k).ok())?;
        let agent_config = Agent::config_builder()
            .proxy(proxy)
            .http_status_as_error(false)
            .user_agent(USER_AGENT)
            .tls_config(tls.build())
            .max_idle_connections(4)
            .max_idle_connections_per_host(4)
            .max_idle_age(Duration::from_secs(60))
            .build();
        // ureq's own chain (proxy, TCP, TLS), then one write per request.
        let agent = Agent::with_parts(
            agent_config,
            DefaultConnector::new().chain(Coalesce),
            DefaultResolver::default(),
        );
        Ok(HttpTransport {
            agent,
            url: config.endpoint().to_owned(),
            shown: config.redacted_endpoint(),
            headers: config.headers().to_vec(),
        })
    }
}

fn map_error(e: ureq::Error) -> TransportError {
    use std::io::ErrorKind;
    match e {
        ureq::Error::Timeout(t) => TransportError::Timeout(format!("{t}")),
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => TransportError::Connect(e.to_string()),
        ureq::Error::Io(io) => match io.kind() {
            ErrorKind::TimedOut | ErrorKind::WouldBlock => TransportError::Timeout(io.to_string()),
            ErrorKind::ConnectionRefused
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::NotConnected
            | ErrorKind::BrokenPipe
            | ErrorKind::UnexpectedEof
            | ErrorKind::AddrNotAvailable => TransportError::Connect(io.to_string()),
            _ => TransportError::Connect(io.to_string()),
        },
        ureq::Error::Tls(_) => TransportError::Connect(e.to_string()),
        other => TransportError::Other(other.to_string()),
    }
}

impl Transport for HttpTransport {
    fn send(&mut self, req: &ExportRequest<'_>) -> Result<ExportResponse, TransportError> {
        let t = Some(req.timeout);
        let mut builder = self.agent.post(&self.url).header("Content-Type", req.content_type);
        if let Some(enc) = req.content_encoding {
            builder = builder.header("Content-Encoding", enc);
        }
        for (k, v) in &self.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        // Per-phase timeouts: a global or per-call timeout would make ureq
        // resolve the host on a helper thread for every request.
        let builder = builder
            .config()
            .timeout_connect(t)
            .timeout_send_request(t)
            .timeout_send_body(t)
            .timeout_recv_response(t)
            .timeout_recv_body(t)
            .build();
        let mut resp = builder.send(req.body).map_err(map_error)?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // A body that cannot be read is no reason to fail a 2xx export.
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .unwrap_or_default();
        Ok(ExportResponse {
            status,
            retry_after,
            body,
        })
    }

    fn describe(&self) -> String {
        self.shown.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn proxy_is_chosen_by_scheme_and_no_proxy() {
        let vars = [
            ("HTTPS_PROXY", "http://127.0.0.1:3128"),
            ("http_proxy", "http://user:pw@127.0.0.1:8080"),
            ("NO_PROXY", "internal.example,.svc"),
        ];
        let p = proxy_for("https://ingest.example/ingester/otlp/traces", env(&vars))
            .unwrap()
            .unwrap();
        assert_eq!((p.host(), p.port()), ("127.0.0.1", 3128));
        let p = proxy_for("http://kf-agent:4318/v1/traces", env(&vars))
            .unwrap()
            .unwrap();
        assert_eq!((p.port(), p.username()), (8080, Some("user")));
        assert!(proxy_for("https://internal.example/v1/traces", env(&vars))
            .unwrap()
            .is_none());
        assert!(
            proxy_for("http://kf-agent.observability.svc:4318/v1/traces", env(&vars))
                .unwrap()
                .is_none()
        );
        assert!(proxy_for("http://kf-agent:4318/v1/traces", env(&[])).unwrap().is_none());
        // Never for loopback, as Go.
        assert!(proxy_for("https://localhost:4318/v1/traces", env(&vars))
            .unwrap()
            .is_none());
        assert!(proxy_for("https://127.0.0.1:4318/v1/traces", env(&vars))
            .unwrap()
            .is_none());
        assert!(!use_proxy("10.1.2.3", 443, "10.0.0.0/8"));
        assert!(use_proxy("11.1.2.3", 443, "10.0.0.0/8"));
        assert!(!use_proxy("a.b.example", 443, "example"));
        assert!(use_proxy("example", 443, ".example"));
        assert!(!use_proxy("x.example", 443, "*.example"));
        assert!(!use_proxy("ingest.example", 443, "ingest.example:443"));
        assert!(use_proxy("ingest.example", 443, "ingest.example:8443"));
        assert!(!use_proxy("anything", 1, "*"));
        assert!(proxy_for("http://kf-agent:4318/v1/traces", env(&[("HTTP_PROXY", "http://[bad")])).is_err());
    }
}
