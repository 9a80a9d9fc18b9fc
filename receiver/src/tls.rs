//! Builds the rustls `ServerConfig` from PEM material (server chain + key, optional client CA for mTLS) with
//! the ring provider chosen explicitly, so nothing depends on a process-wide default provider. It must not
//! accept connections or do any I/O besides reading the PEM files.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::config::{PemSource, TlsConfig};
use crate::error::Error;

fn load(source: &PemSource) -> Result<Vec<u8>, Error> {
    match source {
        PemSource::Bytes(b) => Ok(b.clone()),
        PemSource::Path(p) => std::fs::read(p).map_err(|source| Error::ReadPem {
            path: p.clone(),
            source,
        }),
    }
}

fn certs(source: &PemSource, what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let pem = load(source)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Tls(format!("{what}: {e}")))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!("{what}: no CERTIFICATE found in PEM")));
    }
    Ok(certs)
}

pub(crate) fn server_config(tls: &TlsConfig) -> Result<Arc<ServerConfig>, Error> {
    let chain = certs(&tls.cert_chain, "server certificate")?;
    let key_pem = load(&tls.private_key)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| Error::Tls(format!("server private key: {e}")))?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let builder = match &tls.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in certs(ca, "client CA")? {
                roots.add(cert).map_err(|e| Error::Tls(format!("client CA: {e}")))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| Error::Tls(format!("client verifier: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| Error::Tls(format!("server certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
