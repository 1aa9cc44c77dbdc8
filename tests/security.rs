//! Security and operations over real sockets: TLS (handshake, reload,
//! refused replacements, expiry reporting), API keys and scopes, rate limits,
//! trusted proxies and allow lists, and the connection limits (header size,
//! slow headers, stalled uploads, connection cap).
//!
//! The checks that do not depend on storage run on SQLite only; the ones that
//! write through a module run on both backends.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::{
    Backend, Echobase, TestApp, TestDatabase, client, echobase, get_on, per_ip_hourly_limit,
    self_signed_https, serve,
};
use echobase::App;
use echobase::config::{ModuleSecurity, Rate, Settings};
use echobase::http::auth::{self, Scope};
use echobase::http::tls::{self, CertStore};
use echobase::module::Module;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// A client trusting exactly `certs`, reaching `localhost` at `addr`, with
/// no connection reuse so each request shows the certificate served now.
fn https_client(certs: &[&[u8]], addr: SocketAddr) -> reqwest::Client {
    let certs = certs
        .iter()
        .map(|pem| reqwest::Certificate::from_pem(pem).expect("certificate"));
    reqwest::Client::builder()
        .tls_certs_only(certs)
        .tls_info(true)
        .resolve("localhost", addr)
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("https client")
}

async fn served_fingerprint(client: &reqwest::Client, port: u16) -> Result<String, String> {
    let response = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    assert_eq!(response.status(), 200);
    let info = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .expect("tls info");
    Ok(tls::fingerprint(
        info.peer_certificate().expect("peer certificate"),
    ))
}

struct CertFiles {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
}

fn write_certificate(dir: &Path, days: u32) -> (String, String) {
    let (cert, key) = tls::self_signed(&tls::default_hosts(), days).expect("certificate");
    std::fs::write(dir.join("cert.pem"), &cert).expect("write cert");
    std::fs::write(dir.join("key.pem"), &key).expect("write key");
    (cert, key)
}

fn certificate_files() -> (CertFiles, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, _) = write_certificate(dir.path(), 90);
    let files = CertFiles {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
        _dir: dir,
    };
    (files, cert)
}

/// A server serving the certificate in `files` over HTTPS, looking for a
/// replacement every `reload_interval`.
async fn spawn_serving(files: &CertFiles, reload_interval: Duration) -> Option<TestApp> {
    let (cert, key) = (files.cert.clone(), files.key.clone());
    TestApp::spawn_with(Backend::Sqlite, |s| {
        s.tls.cert = Some(cert);
        s.tls.key = Some(key);
        s.tls.reload_interval = reload_interval;
    })
    .await
}

fn pem_fingerprint(pem: &str) -> String {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).expect("pem");
    tls::fingerprint(&der)
}

async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.expect("problem body");
    assert_eq!(body["status"], status, "{body}");
    body
}

// ---------------------------------------------------------------- TLS

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_handshake_with_generated_certificate_and_http_beside_it() {
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, self_signed_https).await else {
        return;
    };
    let tls_addr = server.tls_addr.expect("https listener");
    assert_ne!(tls_addr, server.addr, "two listeners");
    let store = server.tls.clone().expect("tls store");
    let serving = store.current();
    let der = serving.certified.cert[0].as_ref().to_vec();
    let pem = der_to_pem(&der);
    let https = https_client(&[pem.as_bytes()], tls_addr);
    let fingerprint = served_fingerprint(&https, tls_addr.port())
        .await
        .expect("https works");
    assert_eq!(fingerprint, serving.fingerprint);

    // Plain HTTP on the other listener.
    let plain = client().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(plain.status(), 200);
    // A client that does not trust the certificate is refused by its own check.
    let stranger = https_client(&[], tls_addr);
    assert!(
        served_fingerprint(&stranger, tls_addr.port())
            .await
            .is_err()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_reports_the_tls_connection_and_the_forwarded_client() {
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.tls.self_signed = true;
        s.tls.listen = Some("127.0.0.1:0".parse().unwrap());
        // The test client is 127.0.0.1: a trusted proxy here.
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await
    else {
        return;
    };
    let tls_addr = server.tls_addr.expect("https listener");
    let der = server
        .tls
        .clone()
        .expect("tls store")
        .current()
        .certified
        .cert[0]
        .as_ref()
        .to_vec();
    let pem = der_to_pem(&der);
    let https = https_client(&[pem.as_bytes()], tls_addr);
    let over_tls: Value = https
        .get(format!(
            "https://localhost:{}/echo/anything",
            tls_addr.port()
        ))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        over_tls["tls"]["protocol"]
            .as_str()
            .unwrap()
            .starts_with("TLSv1."),
        "{over_tls}"
    );
    assert_eq!(over_tls["tls"]["sni"], "localhost");
    assert!(over_tls["url"].as_str().unwrap().starts_with("https://"));
    assert_eq!(
        over_tls["origin"], "203.0.113.9",
        "forwarded by a trusted peer"
    );

    let plain: Value = server.get_json("/echo/anything").await;
    assert!(plain.get("tls").is_none(), "{plain}");
    assert!(plain["url"].as_str().unwrap().starts_with("http://"));
    let ip: Value = client()
        .get(server.url("/echo/ip"))
        .header("x-forwarded-for", "198.51.100.4")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ip["origin"], "198.51.100.4");
    server.stop().await;

    // Without a trusted proxy the header is the client's own claim: ignored.
    let Some(untrusting) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let ip: Value = client()
        .get(untrusting.url("/echo/ip"))
        .header("x-forwarded-for", "198.51.100.4")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ip["origin"], "127.0.0.1");
    untrusting.stop().await;
}

fn der_to_pem(der: &[u8]) -> String {
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64_lines(der)
    )
}

fn base64_lines(der: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    text.as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A TLS connection kept open by hand, to show it survives a reload.
async fn open_tls_connection(
    addr: SocketAddr,
    trusted: &[&str],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    for pem in trusted {
        roots
            .add(CertificateDer::from_pem_slice(pem.as_bytes()).unwrap())
            .unwrap();
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("tls handshake")
}

fn peer_fingerprint(stream: &tokio_rustls::client::TlsStream<TcpStream>) -> String {
    let certs = stream.get_ref().1.peer_certificates().expect("peer certs");
    tls::fingerprint(&certs[0])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_certificate_serves_new_connections_while_open_ones_keep_working() {
    let (files, old_pem) = certificate_files();
    let Some(server) = spawn_serving(&files, Duration::from_millis(200)).await else {
        return;
    };
    let addr = server.tls_addr.unwrap();
    let dir = files.cert.parent().unwrap().to_owned();
    let new_pem = {
        // Prepared before the swap so both can be trusted by the clients.
        let (cert, key) = tls::self_signed(&tls::default_hosts(), 120).unwrap();
        (cert, key)
    };
    let trusted = [old_pem.as_str(), new_pem.0.as_str()];
    let mut open = open_tls_connection(addr, &trusted).await;
    assert_eq!(peer_fingerprint(&open), pem_fingerprint(&old_pem));
    assert!(get_on(&mut open, "/healthz").await.0.contains("200"));

    // Replace the files on disk, key first (a watcher may see the mismatch in between).
    std::fs::write(dir.join("key.pem"), &new_pem.1).unwrap();
    std::fs::write(dir.join("cert.pem"), &new_pem.0).unwrap();

    // Each check is a new client with its own session cache: a full
    // handshake, so the certificate seen is the one served now (a resumed
    // session would report the certificate of the session it resumes).
    let wanted = pem_fingerprint(&new_pem.0);
    let mut served_new = false;
    let mut last = String::new();
    for _ in 0..150 {
        let mut fresh = open_tls_connection(addr, &trusted).await;
        last = peer_fingerprint(&fresh);
        if last == wanted {
            assert!(get_on(&mut fresh, "/healthz").await.0.contains("200"));
            served_new = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        served_new,
        "a new connection gets the replaced certificate; last: {last:?}, wanted {wanted}"
    );

    // The connection opened before the swap still answers, on its old session.
    assert!(get_on(&mut open, "/healthz").await.0.contains("200"));
    assert_eq!(peer_fingerprint(&open), pem_fingerprint(&old_pem));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_replacement_is_refused_and_the_old_certificate_keeps_serving() {
    let (files, old_pem) = certificate_files();
    // Long: this test drives the reload itself.
    let Some(server) = spawn_serving(&files, Duration::from_secs(3600)).await else {
        return;
    };
    let addr = server.tls_addr.unwrap();
    let store = server.tls.clone().unwrap();

    // Forced: the server's own watcher may have seen (and refused) these
    // files first, and an unforced reload skips files it has already judged.
    std::fs::write(&files.cert, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
    assert!(store.reload(true).is_err(), "garbage is refused");
    // A valid certificate with someone else's key is refused too.
    let (other_cert, _) = tls::self_signed(&tls::default_hosts(), 30).unwrap();
    std::fs::write(&files.cert, &other_cert).unwrap();
    let err = store.reload(true).unwrap_err();
    assert!(err.to_string().contains("key"), "{err}");

    let mut fresh = open_tls_connection(addr, &[old_pem.as_str(), other_cert.as_str()]).await;
    assert_eq!(
        peer_fingerprint(&fresh),
        pem_fingerprint(&old_pem),
        "the old certificate still serves"
    );
    assert!(get_on(&mut fresh, "/healthz").await.0.contains("200"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_expiry_is_in_metrics_and_readyz_warns_near_it() {
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        self_signed_https(s); // valid 365 days
        s.tls.expiry_warning_days = 400;
    })
    .await
    else {
        return;
    };
    let ready = client().get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200, "a warning is not unreadiness");
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "warning", "{body}");
    assert!(
        body["warnings"][0].as_str().unwrap().contains("expires"),
        "{body}"
    );
    assert!(
        (360..=366).contains(&body["tls"]["days_left"].as_i64().unwrap()),
        "{body}"
    );

    let metrics = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let expiry = body["tls"]["expires_at"].as_i64().unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("echobase_tls_certificate_expiry_seconds")
                && l.ends_with(&expiry.to_string())),
        "{metrics}"
    );
    server.stop().await;
}

// ---------------------------------------------------------------- keys

fn key_for(id: &str, scopes: &[Scope]) -> (String, auth::ApiKey) {
    let key = auth::generate_key();
    let line = auth::config_line(id, &key, scopes);
    (key, line.parse().expect("key line"))
}

async fn post_message(server: &TestApp, header: Option<(&str, String)>) -> reqwest::Response {
    let mut request = client()
        .post(server.url("/v1/messages"))
        .json(&serde_json::json!({"message": "hello"}));
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

on_both_backends!(api_keys_guard_declared_routes_by_scope);

async fn api_keys_guard_declared_routes_by_scope(backend: Backend) {
    let (writer, writer_key) = key_for("writer", &[Scope::write(Module::Messages)]);
    let (reader, reader_key) = key_for("reader", &[Scope::read(Module::Messages)]);
    let (admin, admin_key) = key_for("root", &[Scope::Admin]);
    let Some(server) = TestApp::spawn_with(backend, |s| {
        s.auth.keys = vec![writer_key, reader_key, admin_key];
    })
    .await
    else {
        return;
    };

    let missing = post_message(&server, None).await;
    assert_eq!(
        missing.headers()["www-authenticate"],
        "Bearer realm=\"echobase\""
    );
    let body = problem(missing, 401).await;
    assert_eq!(body["type"], "urn:echobase:problem:unauthorized");

    let unknown = post_message(&server, Some(("authorization", "Bearer ebk_nope".into()))).await;
    assert!(unknown.headers().get("www-authenticate").is_none());
    problem(unknown, 403).await;

    let wrong_scope = post_message(&server, Some(("x-api-key", reader))).await;
    let body = problem(wrong_scope, 403).await;
    assert!(
        body["detail"].as_str().unwrap().contains("messages:write"),
        "{body}"
    );
    assert!(
        body["detail"].as_str().unwrap().contains("reader"),
        "names the key id"
    );

    // Two credentials: refused whichever of them is valid, so the answer never
    // depends on which header the server happens to read first.
    for (api_key, bearer) in [(writer.as_str(), "ebk_nope"), ("ebk_nope", writer.as_str())] {
        let both = client()
            .post(server.url("/v1/messages"))
            .header("x-api-key", api_key)
            .header("authorization", format!("Bearer {bearer}"))
            .json(&serde_json::json!({"message": "two keys"}))
            .send()
            .await
            .unwrap();
        let body = problem(both, 401).await;
        assert!(
            body["detail"].as_str().unwrap().contains("not both"),
            "{body}"
        );
    }

    let created = post_message(&server, Some(("authorization", format!("Bearer {writer}")))).await;
    assert_eq!(created.status(), 201);
    let by_admin = post_message(&server, Some(("x-api-key", admin))).await;
    assert_eq!(
        by_admin.status(),
        200,
        "admin may do everything; already stored"
    );

    // The original routes stay open: the compatible POST.
    let compat = client()
        .post(server.url("/messages"))
        .json(&serde_json::json!({"message": "open"}))
        .send()
        .await
        .unwrap();
    assert!(compat.status().is_success(), "{}", compat.status());

    let metrics = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for reason in ["missing", "invalid", "scope", "ambiguous"] {
        let series = format!("echobase_auth_failures_total{{reason=\"{reason}\"}}");
        assert!(
            common::counter_value(&metrics, &series) >= 1.0,
            "{reason}: {metrics}"
        );
    }
    assert!(metrics.contains("key_id=\"writer\""), "key ids in metrics");

    let spec: Value = server.get_json("/openapi.json").await;
    assert!(
        spec["components"]["securitySchemes"]["bearer"].is_object(),
        "{spec}"
    );
    assert!(spec["components"]["securitySchemes"]["api_key"].is_object());
    assert_eq!(
        spec["paths"]["/v1/messages"]["post"]["security"][0]["bearer"][0],
        "messages:write"
    );
    assert!(!metrics.contains(&writer), "never the key");
    server.stop().await;
}

/// Status of `method path` with an optional `X-API-Key`.
async fn status_of(server: &TestApp, method: &str, path: &str, key: Option<&str>) -> u16 {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client().request(method.clone(), server.url(path));
    if method == reqwest::Method::POST {
        request = request.json(&serde_json::json!({}));
    }
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    request.send().await.unwrap().status().as_u16()
}

/// The open `/endpoints` route sees and changes only the mocks it created:
/// a stub made through `/__admin` (which needs `mocks:write`, even to read)
/// stays out of its reach, secrets and all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_endpoints_route_cannot_reach_stubs_made_through_admin() {
    let (writer, writer_key) = key_for("mocks-writer", &[Scope::write(Module::Mocks)]);
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.auth.keys = vec![writer_key];
    })
    .await
    else {
        return;
    };
    // Shaped like an endpoint: a method, a path, a status, headers and a body.
    let admin_stub = serde_json::json!({
        "request": {"method": "GET", "urlPath": "/billing"},
        "response": {"status": 200, "headers": {"X-Secret": "s3cret"}, "body": "private"}
    });
    let created = client()
        .post(server.url("/__admin/mappings"))
        .header("x-api-key", &writer)
        .json(&admin_stub)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let listed = server.get_json("/endpoints").await;
    assert_eq!(listed["data"], serde_json::json!([]), "{listed}");
    let patch = serde_json::json!({"data": {"type": "endpoints", "attributes": {"response": {"code": 500}}}});
    let patched = client()
        .patch(server.url(&format!("/endpoints/{id}")))
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 404);
    let deleted = client()
        .delete(server.url(&format!("/endpoints/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 404);
    let served = client().get(server.url("/billing")).send().await.unwrap();
    assert_eq!(served.status(), 200, "the admin's stub is untouched");
    assert_eq!(served.text().await.unwrap(), "private");

    // What the open route creates, it lists and deletes.
    let endpoint = serde_json::json!({"data": {"type": "endpoints", "attributes": {
        "verb": "GET", "path": "/open", "response": {"code": 200, "headers": {}, "body": "hi"}}}});
    let created = client()
        .post(server.url("/endpoints"))
        .json(&endpoint)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let own = created.json::<Value>().await.unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = server.get_json("/endpoints").await;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1), "{listed}");
    let deleted = client()
        .delete(server.url(&format!("/endpoints/{own}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_and_admin_apis_need_keys_while_original_routes_stay_open() {
    let (reader, reader_key) = key_for(
        "reader",
        &[
            Scope::read(Module::People),
            Scope::read(Module::Events),
            Scope::read(Module::Mocks),
            Scope::read(Module::Messages),
        ],
    );
    let (mocks_writer, mocks_writer_key) = key_for("mocks-writer", &[Scope::write(Module::Mocks)]);
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.auth.keys = vec![reader_key, mocks_writer_key];
    })
    .await
    else {
        return;
    };
    let digest = "0".repeat(64);
    let messages_native = format!("/v1/messages/{digest}");
    // Native reads: 401 without a key, past the gate with `<module>:read`.
    for (path, past_the_gate) in [
        ("/v1/people", 200),
        ("/v1/events", 200),
        (messages_native.as_str(), 404),
    ] {
        assert_eq!(status_of(&server, "GET", path, None).await, 401, "{path}");
        assert_eq!(
            status_of(&server, "GET", path, Some(&reader)).await,
            past_the_gate,
            "{path}"
        );
    }
    // Native writes: `<module>:read` is not enough.
    for path in [
        "/v1/people",
        "/v1/events",
        "/__admin/mappings",
        "/v1/messages",
    ] {
        assert_eq!(
            status_of(&server, "POST", path, Some(&reader)).await,
            403,
            "{path}"
        );
    }
    assert_eq!(
        status_of(&server, "DELETE", &messages_native, Some(&reader)).await,
        403
    );
    // A lookup is a POST that only reads: `messages:read` is enough.
    let lookup = client()
        .post(server.url("/v1/messages:lookup"))
        .header("x-api-key", &reader)
        .json(&serde_json::json!({"digests": [digest]}))
        .send()
        .await
        .unwrap();
    assert_eq!(lookup.status(), 200);
    assert_eq!(
        status_of(&server, "POST", "/v1/messages:lookup", None).await,
        401
    );
    // The mocks' admin API is the control plane: `mocks:write` even to read.
    assert_eq!(
        status_of(&server, "GET", "/__admin/mappings", None).await,
        401
    );
    assert_eq!(
        status_of(&server, "GET", "/__admin/mappings", Some(&reader)).await,
        403
    );
    assert_eq!(
        status_of(&server, "GET", "/__admin/mappings", Some(&mocks_writer)).await,
        200
    );
    let stub = serde_json::json!({
        "request": {"method": "GET", "url": "/guarded-stub"},
        "response": {"status": 200, "body": "served"}
    });
    let created = client()
        .post(server.url("/__admin/mappings"))
        .header("x-api-key", &mocks_writer)
        .json(&stub)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    // A near miss shows a stub's request pattern: an anonymous caller of a mock
    // path gets the 404, not the stubs it may not read through /__admin.
    let near_miss = |key: Option<&str>| {
        let mut request = client().get(server.url("/guarded-stubs"));
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        async move { request.send().await.unwrap() }
    };
    let anonymous = problem(near_miss(None).await, 404).await;
    assert!(anonymous["nearMisses"].is_null(), "{anonymous}");
    assert!(
        !anonymous.to_string().contains("/guarded-stub\""),
        "{anonymous}"
    );
    let reader_sees = problem(near_miss(Some(&reader)).await, 404).await;
    assert!(
        reader_sees["nearMisses"].is_null(),
        "mocks:read is not enough"
    );
    let writer_sees = problem(near_miss(Some(&mocks_writer)).await, 404).await;
    assert_eq!(
        writer_sees["nearMisses"][0]["request"]["url"], "/guarded-stub",
        "{writer_sees}"
    );

    // The original routes, the mocks themselves and the mocks' health probe
    // need no key, so existing clients keep working.
    for path in [
        "/resources/data/1",
        "/listevents",
        "/endpoints",
        "/guarded-stub",
        "/__admin/health",
    ] {
        let status = status_of(&server, "GET", path, None).await;
        assert!(status != 401 && status != 403, "{path}: {status}");
    }
    // The spec says which scope each guarded operation needs.
    let spec: Value = server.get_json("/openapi.json").await;
    for (path, method, scope) in [
        ("/v1/people", "get", "people:read"),
        ("/v1/people", "post", "people:write"),
        ("/__admin/mappings", "delete", "mocks:write"),
        ("/__admin/requests", "get", "mocks:write"),
        ("/v1/events", "get", "events:read"),
        ("/v1/messages/{digest}", "delete", "messages:write"),
        ("/v1/messages:lookup", "post", "messages:read"),
    ] {
        let operation = &spec["paths"][path][method];
        assert_eq!(
            operation["security"][0]["bearer"][0], scope,
            "{path} {method}"
        );
        assert!(operation["responses"]["401"].is_object(), "{path} {method}");
    }
    assert!(spec["paths"]["/endpoints"]["get"]["security"].is_null());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_keys_the_server_is_open_and_says_so() {
    let Some((database, url)) = TestDatabase::create(Backend::Sqlite).await else {
        return;
    };
    let app = App::build(common::test_settings(url)).await.unwrap();
    assert!(
        app.notices()
            .iter()
            .any(|n| n.contains("WARNING") && n.contains("open")),
        "{:?}",
        app.notices()
    );
    drop(app);
    drop(database);
}

/// An open server documents no key requirement it would not enforce: a
/// client or fuzzer reading the document would otherwise expect 401s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_keys_the_document_asks_for_no_key() {
    let Some(server) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let spec: Value = server.get_json("/openapi.json").await;
    for (path, method) in [("/v1/people", "post"), ("/__admin/mappings", "get")] {
        let operation = &spec["paths"][path][method];
        assert!(operation.is_object(), "{path} {method}");
        assert!(
            operation["security"].is_null(),
            "{path} {method}: {operation}"
        );
        assert!(operation["responses"]["401"].is_null(), "{path} {method}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_auth_all_guards_every_route_of_the_module() {
    let (reader, reader_key) = key_for("reader", &[Scope::read(Module::Messages)]);
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.auth.keys = vec![reader_key];
        s.module_security.insert(
            Module::Messages,
            ModuleSecurity {
                auth: echobase::config::ModuleAuth::All,
                ..Default::default()
            },
        );
    })
    .await
    else {
        return;
    };
    let digest = "0".repeat(64);
    let anonymous = client()
        .get(server.url(&format!("/messages/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let read = client()
        .get(server.url(&format!("/messages/{digest}")))
        .header("x-api-key", &reader)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 404, "past the gate");
    let write = client()
        .post(server.url("/messages"))
        .header("x-api-key", &reader)
        .json(&serde_json::json!({"message": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 403);
    // Other modules and the operations routes are untouched.
    assert_eq!(server.status("/healthz").await, 200);
    server.stop().await;
}

/// `/v1/access` says what the presented key (or none) may do in each
/// module the server runs, as the routes themselves decide it: the web
/// console shows only that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_reports_what_the_presented_key_may_do() {
    let (reader, reader_key) = key_for("reader", &[Scope::read(Module::Messages)]);
    let (mocker, mocker_key) = key_for("mocker", &[Scope::write(Module::Mocks)]);
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.auth.keys = vec![reader_key, mocker_key];
        s.modules = vec![Module::Mocks, Module::Messages];
        s.module_security.insert(
            Module::Messages,
            ModuleSecurity {
                auth: echobase::config::ModuleAuth::All,
                ..Default::default()
            },
        );
    })
    .await
    else {
        return;
    };
    let access = |key: Option<String>| {
        let mut request = client().get(server.url("/v1/access"));
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        request.send()
    };
    let modules = |report: &Value| -> Vec<(String, bool, bool)> {
        report["modules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let flag = |name: &str| m[name].as_bool().unwrap();
                (
                    m["name"].as_str().unwrap().to_owned(),
                    flag("read"),
                    flag("write"),
                )
            })
            .collect()
    };
    let anonymous: Value = access(None).await.unwrap().json().await.unwrap();
    assert_eq!(anonymous["keys_required"], true);
    assert!(anonymous["key"].is_null(), "{anonymous}");
    // The native routes need a key to read, whatever `<module>.auth` says.
    assert_eq!(
        modules(&anonymous),
        [
            ("mocks".to_owned(), false, false),
            ("messages".to_owned(), false, false)
        ]
    );
    let as_reader: Value = access(Some(reader.clone()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(as_reader["key"]["id"], "reader");
    assert_eq!(
        as_reader["key"]["scopes"],
        serde_json::json!(["messages:read"])
    );
    assert_eq!(
        modules(&as_reader),
        [
            ("mocks".to_owned(), false, false),
            ("messages".to_owned(), true, false)
        ]
    );
    let as_mocker: Value = access(Some(mocker.clone()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        modules(&as_mocker),
        [
            ("mocks".to_owned(), true, true),
            ("messages".to_owned(), false, false)
        ]
    );
    // What it says holds: the mocker may list stubs, the anonymous may not;
    // the reader may read messages, but not store one.
    let digest = "0".repeat(64);
    let read = format!("/v1/messages/{digest}");
    assert_eq!(status_of(&server, "GET", &read, Some(&reader)).await, 404);
    assert_eq!(status_of(&server, "GET", &read, None).await, 401);
    assert_eq!(
        status_of(&server, "POST", "/v1/messages", Some(&reader)).await,
        403
    );
    assert_eq!(
        status_of(&server, "GET", "/__admin/mappings", Some(&mocker)).await,
        200
    );
    assert_eq!(
        status_of(&server, "GET", "/__admin/mappings", None).await,
        401
    );
    // A key that is not valid is refused as on any route, and counted.
    let refused = access(Some("not-a-key".to_owned())).await.unwrap();
    problem(refused, 403).await;
    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert!(
        common::counter_value(
            &metrics,
            r#"echobase_auth_failures_total{reason="invalid"}"#
        ) >= 1.0,
        "{metrics}"
    );
    server.stop().await;

    // Without keys, everything is open.
    let Some(open) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let report: Value = open.get_json("/v1/access").await;
    assert_eq!(report["keys_required"], false);
    assert!(
        modules(&report)
            .iter()
            .all(|(_, read, write)| *read && *write),
        "{report}"
    );
    open.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_generate_prints_a_key_and_a_line_that_the_server_accepts() {
    let output = echobase()
        .args([
            "keys",
            "generate",
            "--scopes",
            "messages:write,events:read",
            "--id",
            "ci",
        ])
        .output()
        .expect("run echobase");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let key = text
        .split_whitespace()
        .find(|w| w.starts_with(auth::KEY_PREFIX))
        .expect("key printed")
        .to_owned();
    let line = text
        .split('"')
        .find(|part| part.starts_with("ci:"))
        .expect("config line printed")
        .to_owned();
    assert!(!line.contains(&key));
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.auth.keys = vec![line.parse().unwrap()];
    })
    .await
    else {
        return;
    };
    let created = post_message(&server, Some(("x-api-key", key))).await;
    assert_eq!(created.status(), 201);
    server.stop().await;
}

// ---------------------------------------------------------------- rate limits and addresses

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_ip_limit_answers_429_with_retry_after_and_ratelimit_fields() {
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        per_ip_hourly_limit(s, Module::Messages, 2);
    })
    .await
    else {
        return;
    };
    let digest = "0".repeat(64);
    let url = server.url(&format!("/v1/messages/{digest}"));
    let first = client().get(&url).send().await.unwrap();
    assert_eq!(first.status(), 404);
    assert_eq!(first.headers()["ratelimit-limit"], "2");
    assert_eq!(first.headers()["ratelimit-remaining"], "1");
    assert_eq!(client().get(&url).send().await.unwrap().status(), 404);
    let limited = client().get(&url).send().await.unwrap();
    let headers = limited.headers().clone();
    let body = problem(limited, 429).await;
    assert_eq!(body["type"], "urn:echobase:problem:rate-limited");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert_eq!(headers["ratelimit-remaining"], "0");
    assert_eq!(headers["ratelimit-policy"], "2;w=3600");
    assert!(headers.contains_key("ratelimit-reset"));
    // Routes outside the module are not limited.
    assert_eq!(server.status("/healthz").await, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_key_limit_counts_each_key_separately() {
    let (first, first_key) = key_for("first", &[Scope::write(Module::Messages)]);
    let (second, second_key) = key_for("second", &[Scope::write(Module::Messages)]);
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.auth.keys = vec![first_key, second_key];
        s.rate_limit.per_key = Some(Rate {
            count: 1,
            period: Duration::from_secs(3600),
        });
    })
    .await
    else {
        return;
    };
    let ok = post_message(&server, Some(("x-api-key", first.clone()))).await;
    assert_eq!(ok.status(), 201);
    assert_eq!(ok.headers()["ratelimit-remaining"], "0");
    let limited = post_message(&server, Some(("x-api-key", first))).await;
    assert!(limited.headers().contains_key("retry-after"));
    problem(limited, 429).await;
    let other = post_message(&server, Some(("x-api-key", second))).await;
    assert_eq!(other.status(), 200, "the other key has its own budget");
    server.stop().await;
}

async fn message_status_from(server: &TestApp, forwarded_for: Option<&str>) -> u16 {
    let digest = "0".repeat(64);
    let mut request = client().get(server.url(&format!("/v1/messages/{digest}")));
    if let Some(value) = forwarded_for {
        request = request.header("x-forwarded-for", value);
    }
    request.send().await.unwrap().status().as_u16()
}

fn allow_only(networks: &[&str]) -> ModuleSecurity {
    ModuleSecurity {
        allow_ips: Some(networks.iter().map(|n| n.parse().unwrap()).collect()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    // The test client is 127.0.0.1: a trusted proxy here.
    let Some(trusting) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.module_security
            .insert(Module::Messages, allow_only(&["203.0.113.0/24"]));
    })
    .await
    else {
        return;
    };
    assert_eq!(
        message_status_from(&trusting, Some("203.0.113.5")).await,
        404
    );
    assert_eq!(
        message_status_from(&trusting, Some("203.0.113.5, 198.51.100.7")).await,
        403,
        "the rightmost untrusted hop is the client"
    );
    assert_eq!(message_status_from(&trusting, None).await, 403);
    trusting.stop().await;

    let Some(untrusting) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
        s.module_security
            .insert(Module::Messages, allow_only(&["203.0.113.0/24"]));
    })
    .await
    else {
        return;
    };
    let digest = "0".repeat(64);
    let refused = client()
        .get(untrusting.url(&format!("/v1/messages/{digest}")))
        .header("x-forwarded-for", "203.0.113.5")
        .send()
        .await
        .unwrap();
    let body = problem(refused, 403).await;
    assert!(
        body["detail"].as_str().unwrap().contains("127.0.0.1"),
        "{body}"
    );
    untrusting.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_ip_limit_follows_the_forwarded_client_behind_a_trusted_proxy() {
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
        s.rate_limit.per_ip = Some(Rate {
            count: 1,
            period: Duration::from_secs(3600),
        });
    })
    .await
    else {
        return;
    };
    assert_eq!(message_status_from(&server, Some("192.0.2.1")).await, 404);
    assert_eq!(message_status_from(&server, Some("192.0.2.1")).await, 429);
    assert_eq!(
        message_status_from(&server, Some("192.0.2.2")).await,
        404,
        "another client behind the same proxy"
    );
    server.stop().await;
}

// ---------------------------------------------------------------- connection limits

/// Reads until the server closes the connection; `true` if it did within `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> (bool, Vec<u8>) {
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    let result = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    (result.is_ok(), received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_request_head_is_431() {
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.limits.max_header_bytes = 8192;
        s.limits.max_headers = 20;
    })
    .await
    else {
        return;
    };
    let big = client()
        .get(server.url("/healthz"))
        .header("x-big", "a".repeat(9000))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 431);
    let mut many = client().get(server.url("/healthz"));
    for i in 0..30 {
        many = many.header(format!("x-h{i}"), "1");
    }
    assert_eq!(many.send().await.unwrap().status(), 431);
    assert_eq!(server.status("/healthz").await, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_header_client_is_cut_off_while_others_are_served() {
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.limits.header_read_timeout = Duration::from_secs(2);
    })
    .await
    else {
        return;
    };
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let mut cut_off = false;
    let mut served_meanwhile = 0;
    // One byte a second, for at most 30 seconds.
    for _ in 0..30 {
        if slow.write_all(b"a").await.is_err() {
            cut_off = true;
            break;
        }
        let (closed, _) = closed_within(&mut slow, Duration::from_secs(1)).await;
        if closed {
            cut_off = true;
            break;
        }
        let normal = client().get(server.url("/healthz")).send().await.unwrap();
        assert_eq!(normal.status(), 200);
        served_meanwhile += 1;
    }
    assert!(cut_off, "the trickling client was disconnected");
    assert!(
        served_meanwhile >= 1,
        "normal requests were served meanwhile"
    );
    assert_eq!(server.status("/healthz").await, 200);
    server.stop().await;
}

/// The head deadline covers only the wait for a head: a response slower than
/// `limits.header_read_timeout` (a 3 s delay, 1 s timeout) is sent whole and
/// the connection serves its next request; left idle, it is then closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_response_outlives_the_head_deadline_and_an_idle_connection_does_not() {
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.limits.header_read_timeout = Duration::from_secs(1);
    })
    .await
    else {
        return;
    };
    let mut conn = TcpStream::connect(server.addr).await.unwrap();
    let (status, _) = get_on(&mut conn, "/echo/delay/3").await;
    assert!(status.contains(" 200 "), "{status}");
    let (status, body) = get_on(&mut conn, "/healthz").await;
    assert!(status.contains(" 200 "), "{status} {body}");
    let started = std::time::Instant::now();
    let (closed, received) = closed_within(&mut conn, Duration::from_secs(10)).await;
    assert!(closed, "the idle kept-alive connection was closed");
    assert!(received.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not before its head was due: {:?}",
        started.elapsed()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_upload_is_cut_off_at_the_idle_timeout() {
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.limits.idle_timeout = Duration::from_secs(1);
        s.request_timeout = Duration::from_secs(120);
    })
    .await
    else {
        return;
    };
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled
        .write_all(
            b"POST /messages HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"mess",
        )
        .await
        .unwrap();
    let (closed, _) = closed_within(&mut stalled, Duration::from_secs(30)).await;
    assert!(closed, "the stalled upload was disconnected");
    assert_eq!(server.status("/healthz").await, 200);
    server.stop().await;
}

/// `count` kept-alive connections, each past one `GET /healthz`.
async fn hold_connections(server: &TestApp, count: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..count {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let (status, _) = get_on(&mut stream, "/healthz").await;
        assert!(status.contains("200"), "{status}");
        held.push(stream);
    }
    held
}

/// What a new connection receives before the server closes it.
async fn refused_connection_answer(server: &TestApp) -> String {
    let mut extra = TcpStream::connect(server.addr).await.unwrap();
    let (closed, received) = closed_within(&mut extra, Duration::from_secs(20)).await;
    assert!(closed, "the refused connection was closed");
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_over_the_cap_gets_503_and_a_freed_slot_is_reused() {
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.limits.max_connections = 2;
    })
    .await
    else {
        return;
    };
    let mut held = hold_connections(&server, 2).await;
    let text = refused_connection_answer(&server).await;
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("open connections"), "{text}");

    drop(held.pop());
    let mut served = false;
    for _ in 0..100 {
        if let Ok(response) = client().get(server.url("/healthz")).send().await
            && response.status() == 200
        {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "a closed connection frees its slot");
    server.stop().await;
}

/// A client turned away at the cap still reads the 503: the server reads
/// (and drops) what the client sends before closing, rather than closing with
/// the request unread, which resets the connection under the client while it
/// is still sending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_the_cap_can_send_its_request_and_read_the_503() {
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.limits.max_connections = 1;
    })
    .await
    else {
        return;
    };
    let held = hold_connections(&server, 1).await;
    for attempt in 0..5 {
        let mut refused = TcpStream::connect(server.addr).await.unwrap();
        let body = vec![b'x'; 256 * 1024];
        let head = format!(
            "POST /echo/anything HTTP/1.1\r\nHost: x\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        refused.write_all(head.as_bytes()).await.unwrap();
        // Let the server answer and close before the body follows, as a slow
        // client's would.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let sent = refused.write_all(&body).await;
        assert!(
            sent.is_ok(),
            "attempt {attempt}: the upload was cut: {sent:?}"
        );
        let mut received = Vec::new();
        let read = refused.read_to_end(&mut received).await;
        assert!(read.is_ok(), "attempt {attempt}: {read:?}");
        let text = String::from_utf8_lossy(&received);
        assert!(
            text.starts_with("HTTP/1.1 503"),
            "attempt {attempt}: {text}"
        );
    }
    drop(held);
    server.stop().await;
}

/// One client cannot take every slot: past `limits.max_connections_per_client`
/// its next connection gets a 503 while the total limit is far off, counted
/// in `/metrics`; a trusted proxy's connections are not counted per client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_holds_at_most_its_share_of_connections_unless_it_is_a_trusted_proxy() {
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.limits.max_connections = 100;
        s.limits.max_connections_per_client = 2;
    })
    .await
    else {
        return;
    };
    let mut held = hold_connections(&server, 2).await;
    let text = refused_connection_answer(&server).await;
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("this client is at its limit"), "{text}");
    let (status, metrics) = get_on(&mut held[0], "/metrics").await;
    assert!(status.contains("200"), "{status}");
    assert!(
        common::counter_value(
            &metrics,
            "echobase_connections_rejected_total{reason=\"max_connections_per_client\"}"
        ) >= 1.0,
        "{metrics}"
    );
    drop(held);
    server.stop().await;

    let Some(behind_proxy) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.limits.max_connections = 100;
        s.limits.max_connections_per_client = 2;
        s.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await
    else {
        return;
    };
    drop(hold_connections(&behind_proxy, 4).await);
    behind_proxy.stop().await;
}

// ---------------------------------------------------------------- CORS and docs

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_off_unless_configured() {
    let Some(off) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let response = client()
        .get(off.url("/healthz"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    off.stop().await;

    let Some(on) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.cors.allow_origins = vec!["https://app.example".into()];
    })
    .await
    else {
        return;
    };
    let preflight = client()
        .request(reqwest::Method::OPTIONS, on.url("/v1/messages"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let stranger = client()
        .get(on.url("/healthz"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        stranger
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    on.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_page_carries_security_headers() {
    let Some(server) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let docs = client().get(server.url("/docs")).send().await.unwrap();
    for name in [
        "content-security-policy",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "cross-origin-opener-policy",
    ] {
        assert!(docs.headers().contains_key(name), "{name}");
    }
    server.stop().await;
}

// ---------------------------------------------------------------- TLS details and SIGHUP

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_see_the_tls_details_of_their_connection() {
    use axum::Json;
    use axum::extract::Extension;
    use echobase::http::connection::Connection;
    use echobase::http::middleware::{InFlightCount, RequestContext, RequestLimits};
    use echobase::http::security::Security;
    use echobase::http::serve::{Listener, Routes, serve};

    tls::install_crypto_provider();
    let (store, _) = CertStore::from_settings(&echobase::config::TlsSettings {
        self_signed: true,
        ..Default::default()
    })
    .unwrap();
    let der = store.current().certified.cert[0].as_ref().to_vec();
    let acceptor = tokio_rustls::TlsAcceptor::from(tls::server_config(store).unwrap());
    let router = axum::Router::new().route(
        "/tls",
        axum::routing::get(|Extension(connection): Extension<Connection>| async move {
            let info = connection.tls().expect("a TLS connection").clone();
            Json(serde_json::json!({
                "protocol": info.protocol,
                "cipher": info.cipher_suite,
                "sni": info.sni,
                "alpn": info.alpn,
            }))
        }),
    );
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        vec![Listener {
            tcp,
            tls: Some(acceptor),
        }],
        Routes {
            router,
            direct: Vec::new(),
            context: RequestContext::new(
                RequestLimits {
                    request_timeout: Duration::from_secs(5),
                },
                InFlightCount::default(),
                [("/tls", "server")],
            ),
        },
        Arc::new(Security::new(Vec::new(), Vec::new(), None, [])),
        Default::default(),
        Settings::default().body_limit,
        async {
            let _ = rx.await;
        },
        Duration::from_secs(5),
    ));
    let pem = der_to_pem(&der);
    let body: Value = https_client(&[pem.as_bytes()], addr)
        .get(format!("https://localhost:{}/tls", addr.port()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        body["protocol"].as_str().unwrap().starts_with("TLSv1."),
        "{body}"
    );
    assert!(
        body["cipher"].as_str().unwrap().starts_with("TLS"),
        "{body}"
    );
    assert_eq!(body["sni"], "localhost");
    assert_eq!(body["alpn"], "http/1.1");
    let _ = tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_certificate_of_a_running_process() {
    let (files, old_pem) = certificate_files();
    let db_dir = tempfile::tempdir().unwrap();
    let server = Echobase::start(
        serve(&format!(
            "sqlite://{}",
            db_dir.path().join("t.db").display()
        ))
        .args(["--tls-cert", files.cert.to_str().unwrap()])
        .args(["--tls-key", files.key.to_str().unwrap()])
        // Only the signal can cause a reload within this test.
        .args(["--set", "tls.reload_interval=60m"]),
    );
    let addr = server.addr;

    let (new_cert, new_key) = tls::self_signed(&tls::default_hosts(), 60).unwrap();
    let trusted = [old_pem.as_str(), new_cert.as_str()];
    let before = open_tls_connection(addr, &trusted).await;
    assert_eq!(peer_fingerprint(&before), pem_fingerprint(&old_pem));
    std::fs::write(&files.key, &new_key).unwrap();
    std::fs::write(&files.cert, &new_cert).unwrap();
    server.signal("HUP");

    let wanted = pem_fingerprint(&new_cert);
    let mut reloaded = false;
    for _ in 0..100 {
        if peer_fingerprint(&open_tls_connection(addr, &trusted).await) == wanted {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        reloaded,
        "SIGHUP made new connections get the new certificate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_websocket_holds_its_connection_slot() {
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.limits.max_connections = 1;
    })
    .await
    else {
        return;
    };
    let url = format!("ws://{}/echo/websocket/echo", server.addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket");
    let mut extra = TcpStream::connect(server.addr).await.unwrap();
    let (closed, received) = closed_within(&mut extra, Duration::from_secs(20)).await;
    assert!(closed);
    assert!(
        String::from_utf8_lossy(&received).starts_with("HTTP/1.1 503"),
        "the upgraded connection still counts"
    );
    socket.close(None).await.unwrap();
    drop(socket);
    let mut served = false;
    for _ in 0..100 {
        if let Ok(response) = client().get(server.url("/healthz")).send().await
            && response.status() == 200
        {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "closing the websocket frees the slot");
    server.stop().await;
}
