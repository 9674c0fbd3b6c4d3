//! The API over TLS, in process: the real [`TlsListener`] in front of the router, real
//! rustls clients. A client that connects and says nothing holds up only itself; one that
//! speaks plain HTTP to the TLS port is dropped; a client certificate the cluster CA
//! signed authenticates, one it did not is a 401 (the connection itself succeeds).

use skiff_controlplane::apiserver;
use skiff_controlplane::apiserver::listener::TlsListener;
use skiff_pki::authority::LEAF_VALIDITY;
use skiff_pki::tls::{ClientVerifier, Identity, client_config, server_config};
use skiff_pki::{Authority, Usage};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// A secured server on a loopback port, and its CA.
async fn server(shutdown: &CancellationToken) -> (SocketAddr, Authority) {
    let state = crate::secure_state(shutdown).await;
    let ca = Authority::create("test-ca").expect("ca");
    let serving = ca
        .issue(
            &Usage::Server {
                common_name: "api".into(),
                names: vec!["127.0.0.1".into()],
            },
            LEAF_VALIDITY,
        )
        .expect("serving");
    let identity = Identity::from_pem(&serving.cert_pem, &serving.key_pem).expect("identity");
    let tls = server_config(&identity, Some(ca.cert_pem())).expect("tls");
    let verifier = ClientVerifier::new(ca.cert_pem()).expect("verifier");
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = tcp.local_addr().expect("addr");
    let listener = TlsListener::new(tcp, tls, Some(verifier)).expect("listener");
    let stop = shutdown.clone();
    tokio::spawn(apiserver::serve(listener, state, async move {
        stop.cancelled().await;
    }));
    (addr, ca)
}

/// `GET path` over a fresh TLS connection with `identity`; the status code.
async fn get(addr: SocketAddr, ca: &Authority, identity: Option<&Identity>, path: &str) -> u16 {
    let mut config = Arc::unwrap_or_clone(client_config(ca.cert_pem(), identity).expect("client"));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
    let mut tls = connector.connect(name, tcp).await.expect("handshake");
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    tls.read_to_end(&mut answer).await.ok();
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

fn client(ca: &Authority, user: &str, group: &str) -> Identity {
    let issued = ca
        .issue(
            &Usage::Client {
                user: user.into(),
                groups: vec![group.into()],
            },
            LEAF_VALIDITY,
        )
        .expect("client");
    Identity::from_pem(&issued.cert_pem, &issued.key_pem).expect("identity")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_authenticate_and_silent_or_plain_clients_hold_up_no_one() {
    let shutdown = CancellationToken::new();
    let (addr, ca) = server(&shutdown).await;

    // Connections that never start a handshake, and one that speaks plain HTTP.
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(TcpStream::connect(addr).await.expect("connect"));
    }
    let mut plain = TcpStream::connect(addr).await.expect("connect");
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "a plain-HTTP client is dropped, not left hanging"
    );
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"));

    // Meanwhile everyone else is served at once.
    let admin = client(&ca, "root", "system:masters");
    let answered = tokio::time::timeout(Duration::from_secs(5), async {
        (
            get(addr, &ca, Some(&admin), "/api/v1/namespaces").await,
            get(addr, &ca, None, "/healthz").await,
            get(addr, &ca, None, "/api/v1/namespaces").await,
        )
    })
    .await
    .expect("served while others are silent");
    assert_eq!(answered, (200, 200, 403));

    // A certificate from another CA: the handshake completes, the request is a 401.
    let other = Authority::create("other-ca").expect("ca");
    let forged = client(&other, "root", "system:masters");
    assert_eq!(get(addr, &ca, Some(&forged), "/healthz").await, 401);
    drop(silent);
    shutdown.cancel();
}
