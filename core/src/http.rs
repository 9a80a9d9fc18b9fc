//! OTLP/HTTP over ureq and rustls: the native transport.
//!
//! Owns: the HTTP client (one `ureq::Agent`, so connections are kept alive
//! and reused), TLS (system roots, a custom CA file, a client certificate for
//! mTLS), proxies (`HTTPS_PROXY`, `NO_PROXY`), the OTLP headers and
//! User-Agent. Must not: retry (the exporter asks the retry policy), or read
//! more than [`MAX_RESPONSE_BYTES`] of a response.

use std::time::Duration;

use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};
use ureq::Agent;

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
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(USER_AGENT)
            .tls_config(tls.build())
            .max_idle_connections(4)
            .max_idle_connections_per_host(4)
            .max_idle_age(Duration::from_secs(60))
            .build()
            .into();
        Ok(HttpTransport {
            agent,
            url: config.endpoint().to_owned(),
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
        self.url.clone()
    }
}
