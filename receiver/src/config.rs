//! How a receiver is configured: port, TLS material, limits, and an optional per-request hook. Owns only plain
//! data; it must not open files or sockets (that happens in `tls` and `server` when the receiver starts).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::record::RecordedRequest;

/// Called on the connection's thread for every recorded request, before the response is written.
/// `otlpx receive` uses it to print spans as they arrive. Keep it short: the client waits for it.
pub type RequestHook = Arc<dyn Fn(&RecordedRequest) + Send + Sync>;

/// PEM material given either as a file path or as the bytes themselves.
#[derive(Clone, PartialEq, Eq)]
pub enum PemSource {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

impl fmt::Debug for PemSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PemSource::Path(p) => f.debug_tuple("Path").field(p).finish(),
            PemSource::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
        }
    }
}

impl From<PathBuf> for PemSource {
    fn from(p: PathBuf) -> Self {
        PemSource::Path(p)
    }
}

impl From<&std::path::Path> for PemSource {
    fn from(p: &std::path::Path) -> Self {
        PemSource::Path(p.to_path_buf())
    }
}

impl From<Vec<u8>> for PemSource {
    fn from(b: Vec<u8>) -> Self {
        PemSource::Bytes(b)
    }
}

impl From<String> for PemSource {
    fn from(s: String) -> Self {
        PemSource::Bytes(s.into_bytes())
    }
}

impl From<&str> for PemSource {
    fn from(s: &str) -> Self {
        PemSource::Bytes(s.as_bytes().to_vec())
    }
}

/// Serve HTTPS instead of HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// The server certificate, followed by any intermediates (PEM, one or more `CERTIFICATE` blocks).
    pub cert_chain: PemSource,
    /// The server's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub private_key: PemSource,
    /// With a CA here, clients must present a certificate signed by it (mTLS); without, no client certificate
    /// is asked for.
    pub client_ca: Option<PemSource>,
}

impl TlsConfig {
    /// TLS without client authentication.
    pub fn new(cert_chain: impl Into<PemSource>, private_key: impl Into<PemSource>) -> Self {
        TlsConfig {
            cert_chain: cert_chain.into(),
            private_key: private_key.into(),
            client_ca: None,
        }
    }

    /// Require and verify client certificates signed by `ca` (mTLS).
    pub fn with_client_ca(mut self, ca: impl Into<PemSource>) -> Self {
        self.client_ca = Some(ca.into());
        self
    }
}

/// Everything [`crate::Receiver::start`] needs. `ReceiverConfig::default()` is plain HTTP on an ephemeral port.
#[derive(Clone)]
pub struct ReceiverConfig {
    /// Port on 127.0.0.1; 0 picks a free one (read it back with `Receiver::addr`).
    pub port: u16,
    /// Serve HTTPS (and optionally require client certificates).
    pub tls: Option<TlsConfig>,
    /// Largest accepted body, both as sent and after gunzip; larger requests get 413. Default 64 MiB.
    pub max_body_bytes: usize,
    /// Keep at most this many recorded requests (oldest dropped first); `None` keeps all. Span and request
    /// counters keep counting what was dropped. A long-running `otlpx receive` should set this.
    pub retain_requests: Option<usize>,
    /// A keep-alive connection idle this long is closed. Default 120 s.
    pub idle_timeout: Duration,
    /// Called for every recorded request (see [`RequestHook`]).
    pub on_request: Option<RequestHook>,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            port: 0,
            tls: None,
            max_body_bytes: 64 * 1024 * 1024,
            retain_requests: None,
            idle_timeout: Duration::from_secs(120),
            on_request: None,
        }
    }
}

impl ReceiverConfig {
    /// Plain HTTP on `port` (0 = any free port).
    pub fn with_port(port: u16) -> Self {
        ReceiverConfig {
            port,
            ..Default::default()
        }
    }

    /// Serve HTTPS with this TLS configuration.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Set the per-request hook.
    pub fn on_request(mut self, hook: impl Fn(&RecordedRequest) + Send + Sync + 'static) -> Self {
        self.on_request = Some(Arc::new(hook));
        self
    }
}

impl fmt::Debug for ReceiverConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverConfig")
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("retain_requests", &self.retain_requests)
            .field("idle_timeout", &self.idle_timeout)
            .field("on_request", &self.on_request.as_ref().map(|_| "<hook>"))
            .finish()
    }
}
