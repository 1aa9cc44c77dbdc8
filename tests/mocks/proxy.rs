//! Proxy stubs (`proxyBaseUrl`) over HTTP. The upstream is the server's own
//! echo module (`/echo/anything` answers with the request it received), so
//! what was forwarded can be read back from the answer.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::common::{Backend, TestApp};
use super::{call, get, get_json, post_json, stub};

/// A server whose proxy stubs may reach loopback, waiting at most
/// `timeout` for an answer.
async fn spawn_proxying_with_timeout(backend: Backend, timeout: Duration) -> Option<TestApp> {
    TestApp::spawn_with(backend, |s| {
        s.mocks.proxy_allowed_targets = vec![target("127.0.0.0/8")];
        s.mocks.proxy_timeout = timeout;
    })
    .await
}

/// The same with the default timeout: a busy machine never makes it a 504.
async fn spawn_proxying(backend: Backend) -> Option<TestApp> {
    spawn_proxying_with_timeout(backend, Duration::from_secs(30)).await
}

fn target(text: &str) -> echobase::mocks::proxy::ProxyTarget {
    use echobase::setting::SettingValue;
    echobase::mocks::proxy::ProxyTarget::from_setting(&toml::Value::String(text.into()))
        .expect("a proxy target")
}

/// The journal's entry for `url`, once its response is in it: a proxied
/// body is journaled when it has been sent, just after the client has it.
async fn journaled_response(app: &TestApp, url: &str) -> Value {
    for _ in 0..50 {
        let (_, all) = get_json(app, "/__admin/requests").await;
        let entry = all["requests"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["request"]["url"] == url && e["response"].is_object());
        if let Some(entry) = entry {
            return entry["response"].clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no journaled response for {url}");
}

pub async fn proxy_stubs_forward_the_request_and_its_answer(backend: Backend) {
    let Some(app) = spawn_proxying(backend).await else {
        return;
    };
    let upstream = format!("http://{}", app.addr);
    stub(
        &app,
        json!({"request": {"method": "ANY", "urlPathPattern": "/via/.*"},
            "response": {"proxyBaseUrl": format!("{upstream}/echo/anything"),
                "proxyUrlPrefixToRemove": "/via",
                "additionalProxyRequestHeaders": {"X-Added": "yes", "X-Replaced": "new"},
                "removeProxyRequestHeaders": ["x-secret"],
                "headers": {"X-From-Stub": ["1", "2"]}}}),
    )
    .await;
    let response = app
        .client
        .post(app.url("/via/a/b?x=1&y=two"))
        .header("X-Kept", "k")
        .header("X-Secret", "s")
        .header("X-Replaced", "old")
        .body("hello upstream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["x-from-stub"],
        "1",
        "the stub's headers are added"
    );
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(echoed["method"], "POST", "{echoed}");
    assert!(
        echoed["url"]
            .as_str()
            .unwrap()
            .ends_with("/echo/anything/a/b?x=1&y=two"),
        "the prefix is cut, the path and query appended: {echoed}"
    );
    assert_eq!(echoed["data"], "hello upstream", "{echoed}");
    let headers = &echoed["headers"];
    assert_eq!(headers["X-Kept"], "k", "{headers}");
    assert_eq!(headers["X-Added"], "yes", "{headers}");
    assert_eq!(headers["X-Replaced"], "new", "{headers}");
    assert!(headers.get("X-Secret").is_none(), "removed: {headers}");
    assert_eq!(
        headers["Host"],
        app.addr.to_string(),
        "the target's own host: {headers}"
    );

    // The journal has what was sent back, body included.
    let logged = journaled_response(&app, "/via/a/b?x=1&y=two").await;
    assert_eq!(logged["status"], 200, "{logged}");
    assert!(
        logged["body"]
            .as_str()
            .is_some_and(|b| b.contains("hello upstream")),
        "{logged}"
    );
    app.stop().await;
}

pub async fn proxied_answers_pass_through_unchanged(backend: Backend) {
    let Some(app) = spawn_proxying(backend).await else {
        return;
    };
    stub(
        &app,
        json!({"request": {"urlPathPattern": "/up/.*"},
            "response": {"proxyBaseUrl": format!("http://{}/echo", app.addr),
                "proxyUrlPrefixToRemove": "/up"}}),
    )
    .await;
    // A body larger than one read, byte for byte, with its length.
    let direct = app.get("/echo/bytes/90000?seed=7").await;
    let direct_length = direct.headers()["content-length"].clone();
    let direct = direct.bytes().await.unwrap();
    let proxied = app.get("/up/bytes/90000?seed=7").await;
    assert_eq!(proxied.status(), 200);
    assert_eq!(proxied.headers()["content-length"], direct_length);
    assert_eq!(proxied.bytes().await.unwrap(), direct, "the same bytes");
    // A redirect comes back as it is, not followed.
    let not_following = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = not_following
        .get(app.url("/up/redirect-to?url=/elsewhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 302);
    let location = redirect.headers()["location"].to_str().unwrap();
    assert!(location.ends_with("/elsewhere"), "{location}");
    // The target's status, whatever it is.
    assert_eq!(app.status("/up/status/418").await, 418);
    app.stop().await;
}

pub async fn proxy_targets_are_templated_per_request(backend: Backend) {
    let Some(app) = spawn_proxying(backend).await else {
        return;
    };
    stub(
        &app,
        json!({"request": {"urlPath": "/choose"},
            "response": {"proxyBaseUrl": "http://{{request.headers.X-Target}}/echo/anything",
                "additionalProxyRequestHeaders": {"X-Asked": "{{request.query.q}}"},
                "transformers": ["response-template"]}}),
    )
    .await;
    let response = app
        .client
        .get(app.url("/choose?q=42"))
        .header("X-Target", app.addr.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(echoed["headers"]["X-Asked"], "42", "{echoed}");
    assert!(
        echoed["url"]
            .as_str()
            .unwrap()
            .ends_with("/echo/anything/choose?q=42"),
        "{echoed}"
    );
    // A target that renders to no URL is the stub's fault: a 500 saying so.
    let response = app
        .client
        .get(app.url("/choose"))
        .header("X-Target", "not a host")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    app.stop().await;
}

/// Nothing is allowed by default; a listed network is checked against the
/// addresses a name resolves to; the refusal is a 403 that names the setting.
pub async fn proxy_targets_must_be_allowed(backend: Backend) {
    let (port, received) = counting_listener().await;
    for (allowed, host) in [
        (vec![], "127.0.0.1"),
        (vec![target("10.0.0.0/8")], "localhost"),
        (vec![target("*.localhost")], "localhost"),
    ] {
        let Some(app) = TestApp::spawn_with(backend, |s| {
            s.mocks.proxy_allowed_targets = allowed.clone();
        })
        .await
        else {
            return;
        };
        stub(
            &app,
            json!({"request": {"urlPath": "/out"},
                "response": {"proxyBaseUrl": format!("http://{host}:{port}/x")}}),
        )
        .await;
        let response = app.get("/out").await;
        assert_eq!(response.status(), 403, "{allowed:?} {host}");
        let problem: Value = response.json().await.unwrap();
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("mocks.proxy_allowed_targets"),
            "{problem}"
        );
        let logged = journaled_response(&app, "/out").await;
        assert_eq!(logged["status"], 403, "{logged}");
        app.stop().await;
    }
    assert_eq!(
        received.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing reached the target"
    );
}

/// A listener that counts the connections it accepts, and holds them open
/// without answering.
async fn counting_listener() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(socket);
        }
    });
    (port, count)
}

pub async fn unreachable_and_silent_targets_are_502_and_504(backend: Backend) {
    let Some(app) = spawn_proxying_with_timeout(backend, Duration::from_millis(500)).await else {
        return;
    };
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (silent, _) = counting_listener().await;
    for (path, port) in [("/closed", closed), ("/silent", silent)] {
        stub(
            &app,
            json!({"request": {"urlPath": path},
                "response": {"proxyBaseUrl": format!("http://127.0.0.1:{port}")}}),
        )
        .await;
    }
    let (status, _) = call(&app, &get("/closed")).await;
    assert_eq!(status, 502);
    let response = app.get("/silent").await;
    assert_eq!(response.status(), 504);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["type"], "urn:echobase:problem:gateway-timeout");
    app.stop().await;
}

pub async fn proxy_stub_fields_are_checked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let cases = [
        (
            json!({"proxyBaseUrl": "ftp://example.com"}),
            "response.proxyBaseUrl",
        ),
        (
            json!({"proxyBaseUrl": "/relative"}),
            "response.proxyBaseUrl",
        ),
        (json!({"proxyBaseUrl": 5}), "response.proxyBaseUrl"),
        (
            json!({"proxyBaseUrl": "https://host*"}),
            "response.proxyBaseUrl",
        ),
        (
            json!({"proxyBaseUrl": "http://user:secret@example.com"}),
            "response.proxyBaseUrl",
        ),
        (
            json!({"proxyBaseUrl": "http://example.com", "body": "x"}),
            "response.body",
        ),
        (
            json!({"proxyBaseUrl": "http://example.com",
                "chunkedDribbleDelay": {"numberOfChunks": 2, "totalDuration": 10}}),
            "response.chunkedDribbleDelay",
        ),
        (
            json!({"proxyUrlPrefixToRemove": "/a"}),
            "response.proxyUrlPrefixToRemove",
        ),
        (
            json!({"proxyBaseUrl": "http://example.com", "proxyUrlPrefixToRemove": "a"}),
            "response.proxyUrlPrefixToRemove",
        ),
        (
            json!({"proxyBaseUrl": "http://example.com",
                "additionalProxyRequestHeaders": {"Content-Length": "5"}}),
            "response.additionalProxyRequestHeaders.Content-Length",
        ),
        (
            json!({"proxyBaseUrl": "http://example.com", "removeProxyRequestHeaders": "x"}),
            "response.removeProxyRequestHeaders",
        ),
    ];
    for (response, field) in cases {
        let (status, body) = post_json(
            &app,
            "/__admin/mappings",
            &json!({"request": {"urlPath": "/p"}, "response": response}),
        )
        .await;
        assert_eq!(status, 422, "{response}: {body}");
        // WireMock's error shape: a JSON pointer to the field.
        let pointer = format!("/{}", field.replace('.', "/"));
        let pointers: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["source"]["pointer"].as_str())
            .collect();
        assert!(pointers.contains(&pointer.as_str()), "{response}: {body}");
    }
    // What is refused is not stored.
    let (_, all) = get_json(&app, "/__admin/mappings").await;
    assert_eq!(all["mappings"], json!([]), "{all}");
    app.stop().await;
}

/// An https target signed by a CA the system does not know is reached only
/// with `mocks.proxy_ca_file` naming that CA; without it the TLS handshake
/// fails and the answer is a 502.
pub async fn https_targets_are_verified_against_the_configured_ca(backend: Backend) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let (cert_pem, key_pem) =
        echobase::http::tls::self_signed(&["localhost".to_owned()], 2).expect("a certificate");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, cert_pem).expect("cert.pem");
    std::fs::write(&key, key_pem).expect("key.pem");
    let (cert_file, key_file) = (cert.clone(), key.clone());
    let Some(upstream) = TestApp::spawn_with(backend, |s| {
        s.tls.cert = Some(cert_file);
        s.tls.key = Some(key_file);
        s.tls.listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await
    else {
        return;
    };
    let port = upstream.tls_addr.expect("an https listener").port();
    let mapping = json!({"request": {"urlPath": "/secure"},
        "response": {"proxyBaseUrl": format!("https://localhost:{port}/echo/anything")}});

    let ca_file = cert.clone();
    let trusting = TestApp::spawn_with(backend, |s| {
        s.mocks.proxy_allowed_targets = vec![target("127.0.0.0/8"), target("::1/128")];
        s.mocks.proxy_ca_file = Some(ca_file);
    })
    .await
    .expect("a second server");
    stub(&trusting, mapping.clone()).await;
    let (status, body) = get_json(&trusting, "/secure?x=1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["url"],
        format!("https://localhost:{port}/echo/anything/secure?x=1")
    );

    let Some(doubting) = spawn_proxying(backend).await else {
        return;
    };
    stub(&doubting, mapping).await;
    let (status, body) = get_json(&doubting, "/secure").await;
    assert_eq!(status, 502, "{body}");
}

/// An HTTP/2-only https server on loopback (ALPN `h2`) for `cert_pem` and
/// `key_pem`, answering every request with the HTTP version it came in.
async fn spawn_h2_only_target(cert_pem: &str, key_pem: &str) -> std::net::SocketAddr {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("certificate");
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("key");
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(|req: hyper::Request<_>| async move {
                    let version = format!("{:?}", req.version());
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(
                        http_body_util::Full::new(axum::body::Bytes::from(version)),
                    ))
                });
                let _ =
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
            });
        }
    });
    addr
}

/// A target that speaks only HTTP/2 is reached over HTTP/2 (negotiated by
/// ALPN), and its answer passes back to an HTTP/1.1 client.
pub async fn http2_targets_are_reached_over_http2(backend: Backend) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let (cert_pem, key_pem) =
        echobase::http::tls::self_signed(&["localhost".to_owned()], 2).expect("a certificate");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &cert_pem).expect("ca.pem");
    let target_addr = spawn_h2_only_target(&cert_pem, &key_pem).await;
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.mocks.proxy_allowed_targets = vec![target("127.0.0.0/8"), target("::1/128")];
        s.mocks.proxy_ca_file = Some(ca_file);
    })
    .await
    else {
        return;
    };
    stub(
        &app,
        json!({"request": {"urlPath": "/h2"},
            "response": {"proxyBaseUrl": format!("https://localhost:{}", target_addr.port())}}),
    )
    .await;
    let response = app.client.get(app.url("/h2")).send().await.expect("answer");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert_eq!(response.text().await.expect("body"), "HTTP/2.0");
}
