//! TLS and mTLS tests: certificates from `testcerts`, a ureq 3 client trusting the test CA, with and without a
//! client certificate.

mod common;

use std::time::Duration;

use common::{post, request};
use otlpx_receiver::{testcerts, Error, PemSource, Receiver, ReceiverConfig, TlsConfig};
use prost::Message;
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts};

const PB: &str = "application/x-protobuf";

fn tls_agent(ca_pem: &str, client: Option<(&str, &str)>) -> ureq::Agent {
    let ca = Certificate::from_pem(ca_pem.as_bytes()).unwrap();
    let client_cert = client.map(|(cert, key)| {
        ClientCert::new_with_certs(
            &[Certificate::from_pem(cert.as_bytes()).unwrap()],
            PrivateKey::from_pem(key.as_bytes()).unwrap(),
        )
    });
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(RootCerts::new_with_certs(&[ca]))
        .client_cert(client_cert)
        .build();
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .tls_config(tls)
            .build(),
    )
}

#[test]
fn https_with_test_ca() {
    let pki = testcerts::generate().unwrap();
    let rx = Receiver::start(ReceiverConfig::default().tls(pki.server_tls())).unwrap();
    assert!(rx.base_url().starts_with("https://127.0.0.1:"));
    let a = tls_agent(&pki.ca_cert_pem, None);
    let body = request(2).encode_to_vec();
    assert_eq!(post(&a, &rx.traces_url(), PB, &body).unwrap().status, 200);
    // By name too (the certificate covers localhost), and on the same pooled connection for the same host.
    let by_name = format!("https://localhost:{}/v1/traces", rx.addr().port());
    assert_eq!(post(&a, &by_name, PB, &body).unwrap().status, 200);
    assert_eq!(post(&a, &by_name, PB, &body).unwrap().status, 200);
    let reqs = rx.requests();
    assert!(reqs.iter().all(|r| r.tls && !r.client_cert));
    assert_eq!(reqs[1].connection_id, reqs[2].connection_id);
    assert_eq!(rx.span_count(), 6);

    // A client that does not trust the CA fails the handshake.
    let other = testcerts::generate().unwrap();
    assert!(post(&tls_agent(&other.ca_cert_pem, None), &rx.traces_url(), PB, &body).is_err());
    // Plain HTTP to the TLS port fails too.
    assert!(post(&common::agent(), &format!("http://{}/v1/traces", rx.addr()), PB, &body).is_err());
    assert_eq!(rx.request_count(), 3);
}

#[test]
fn mtls_requires_a_client_certificate() {
    let pki = testcerts::generate().unwrap();
    let rx = Receiver::start(ReceiverConfig::default().tls(pki.server_mtls())).unwrap();
    let body = request(1).encode_to_vec();

    let with_cert = tls_agent(&pki.ca_cert_pem, Some((&pki.client_cert_pem, &pki.client_key_pem)));
    assert_eq!(post(&with_cert, &rx.traces_url(), PB, &body).unwrap().status, 200);
    let r = &rx.requests()[0];
    assert!(r.tls && r.client_cert);

    let without = tls_agent(&pki.ca_cert_pem, None);
    assert!(
        post(&without, &rx.traces_url(), PB, &body).is_err(),
        "no client certificate: refused"
    );

    // A client certificate from another CA is refused as well.
    let other = testcerts::generate().unwrap();
    let wrong = tls_agent(&pki.ca_cert_pem, Some((&other.client_cert_pem, &other.client_key_pem)));
    assert!(
        post(&wrong, &rx.traces_url(), PB, &body).is_err(),
        "untrusted client certificate: refused"
    );

    assert_eq!(rx.request_count(), 1);
    assert_eq!(rx.span_count(), 1);
}

#[test]
fn pem_files_and_bad_pem() {
    let pki = testcerts::generate().unwrap();
    let dir = std::env::temp_dir().join(format!("otlpx-receiver-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = pki.write_to(&dir).unwrap();
    let tls = TlsConfig::new(files.server_cert.clone(), files.server_key.clone()).with_client_ca(files.ca_cert.clone());
    let rx = Receiver::start(ReceiverConfig::default().tls(tls)).unwrap();
    let a = tls_agent(&pki.ca_cert_pem, Some((&pki.client_cert_pem, &pki.client_key_pem)));
    assert_eq!(
        post(&a, &rx.traces_url(), PB, &request(1).encode_to_vec())
            .unwrap()
            .status,
        200
    );
    drop(rx);

    let missing = TlsConfig::new(dir.join("nope.pem"), files.server_key.clone());
    assert!(matches!(
        Receiver::start(ReceiverConfig::default().tls(missing)),
        Err(Error::ReadPem { .. })
    ));
    let garbage = TlsConfig::new(PemSource::Bytes(b"not pem".to_vec()), files.server_key.clone());
    let err = Receiver::start(ReceiverConfig::default().tls(garbage)).unwrap_err();
    assert!(matches!(err, Error::Tls(_)), "{err}");
    // A key that does not match the certificate.
    let mismatched = TlsConfig::new(pki.server_cert_pem.as_str(), pki.client_key_pem.as_str());
    assert!(matches!(
        Receiver::start(ReceiverConfig::default().tls(mismatched)),
        Err(Error::Tls(_))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
