//! The receiver's error type. Owns only the error variants and their messages; it must not carry HTTP-level
//! failures of single requests (those are answered to the client and recorded, never returned).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a receiver could not be started (or test certificates could not be made).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The address is not a loopback address; this receiver only listens on loopback.
    NotLoopback(SocketAddr),
    /// Binding the listening socket failed (for example, the port is in use).
    Bind { addr: SocketAddr, source: io::Error },
    /// Reading a PEM file failed.
    ReadPem { path: PathBuf, source: io::Error },
    /// Writing a PEM file failed (`testcerts`).
    WritePem { path: PathBuf, source: io::Error },
    /// A certificate, key or CA was missing or invalid, or rustls refused the configuration.
    Tls(String),
    /// The operating system refused to start the accept thread, or another socket operation failed.
    Io(io::Error),
    /// Generating test certificates failed (feature `testcerts`).
    CertGen(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotLoopback(addr) => write!(f, "refusing to listen on {addr}: only loopback addresses are allowed"),
            Error::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Error::ReadPem { path, source } => write!(f, "cannot read PEM file {}: {source}", path.display()),
            Error::WritePem { path, source } => write!(f, "cannot write PEM file {}: {source}", path.display()),
            Error::Tls(msg) => write!(f, "TLS configuration: {msg}"),
            Error::Io(e) => write!(f, "receiver I/O: {e}"),
            Error::CertGen(msg) => write!(f, "generating test certificates: {msg}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Bind { source, .. } | Error::ReadPem { source, .. } | Error::WritePem { source, .. } => Some(source),
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}
