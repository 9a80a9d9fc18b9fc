//! Throwaway certificates for tests (feature `testcerts`): a self-signed CA, a server certificate for
//! `localhost`, `127.0.0.1` and `PROXIED_NAME` signed by it, and a client certificate signed by it for mTLS. Everything is
//! generated in memory with rcgen; nothing here may be used to secure anything real.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};

use crate::config::TlsConfig;
use crate::error::Error;

/// A CA with one server and one client certificate, all as PEM text.
#[derive(Clone)]
pub struct TestPki {
    /// The CA certificate: trust it in clients (server verification) and give it to the server as client CA.
    pub ca_cert_pem: String,
    /// Server certificate for DNS `localhost` and [`PROXIED_NAME`] and IP `127.0.0.1` (leaf only; the CA is the root).
    pub server_cert_pem: String,
    pub server_key_pem: String,
    /// Client certificate (CN `otlpx-test-client`, clientAuth usage).
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestPki { .. }")
    }
}

/// File paths written by [`TestPki::write_to`].
#[derive(Debug, Clone)]
pub struct TestPkiFiles {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

fn err(e: rcgen::Error) -> Error {
    Error::CertGen(e.to_string())
}

/// A name the server certificate also holds, which no resolver knows (the
/// reserved `.test` domain): a client reaches it only through a proxy that
/// connects to the receiver, which is how the proxy tests prove the proxy
/// was used.
pub const PROXIED_NAME: &str = "ingest.kloudfuse.test";

/// Make a fresh CA, server certificate (localhost, 127.0.0.1, [`PROXIED_NAME`]) and client certificate.
pub fn generate() -> Result<TestPki, Error> {
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.distinguished_name.push(DnType::CommonName, "otlpx test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().map_err(err)?;
    let mut server_params = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        PROXIED_NAME.to_string(),
    ])
    .map_err(err)?;
    server_params.distinguished_name.push(DnType::CommonName, "localhost");
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let server_cert = server_params.signed_by(&server_key, &issuer).map_err(err)?;

    let client_key = KeyPair::generate().map_err(err)?;
    let mut client_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    client_params
        .distinguished_name
        .push(DnType::CommonName, "otlpx-test-client");
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    client_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let client_cert = client_params.signed_by(&client_key, &issuer).map_err(err)?;

    Ok(TestPki {
        ca_cert_pem: ca_cert.pem(),
        server_cert_pem: server_cert.pem(),
        server_key_pem: server_key.serialize_pem(),
        client_cert_pem: client_cert.pem(),
        client_key_pem: client_key.serialize_pem(),
    })
}

impl TestPki {
    /// Server TLS without client authentication.
    pub fn server_tls(&self) -> TlsConfig {
        TlsConfig::new(self.server_cert_pem.as_str(), self.server_key_pem.as_str())
    }

    /// Server TLS that requires a client certificate signed by this CA.
    pub fn server_mtls(&self) -> TlsConfig {
        self.server_tls().with_client_ca(self.ca_cert_pem.as_str())
    }

    /// Write `ca.pem`, `server.pem`, `server-key.pem`, `client.pem`, `client-key.pem` into `dir` (which must
    /// exist), for clients configured by file path (e.g. `OTEL_EXPORTER_OTLP_CERTIFICATE`).
    pub fn write_to(&self, dir: &Path) -> Result<TestPkiFiles, Error> {
        let files = TestPkiFiles {
            ca_cert: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server-key.pem"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client-key.pem"),
        };
        let pairs = [
            (&files.ca_cert, &self.ca_cert_pem),
            (&files.server_cert, &self.server_cert_pem),
            (&files.server_key, &self.server_key_pem),
            (&files.client_cert, &self.client_cert_pem),
            (&files.client_key, &self.client_key_pem),
        ];
        for (path, pem) in pairs {
            std::fs::write(path, pem).map_err(|source| Error::WritePem {
                path: path.clone(),
                source,
            })?;
        }
        Ok(files)
    }
}
