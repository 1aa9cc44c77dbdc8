//! The core platform over HTTP: operations endpoints, the problem+json error
//! shapes, request ids, limits and settings, on both backends.

mod common;

use std::time::Duration;

use common::{Backend, TestApp, echobase};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_backends!(
    health_and_readiness_answer,
    metrics_count_requests_by_route_template,
    openapi_lists_module_routes_and_docs_page_is_self_contained,
    unknown_route_is_404_problem,
    wrong_method_is_405_problem_with_allow,
    body_over_limit_is_413_problem_and_stores_nothing,
    malformed_json_is_400_problem,
    slow_request_times_out_with_a_problem,
    request_id_is_kept_or_generated,
    no_204_or_304_announces_a_body,
);

/// Whatever route asked for a 204 or 304, none announces a body it cannot
/// send (the echo routes answer the status a client asks for).
async fn no_204_or_304_announces_a_body(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for (path, status) in [
        ("/echo/drip?code=204&duration=0&numbytes=10", 204),
        ("/echo/drip?code=304&duration=0&numbytes=10", 304),
        ("/echo/anything?echo_status=204", 204),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status().as_u16(), status, "{path}");
        assert!(
            response.headers().get("content-length").is_none(),
            "{path}: {:?}",
            response.headers()
        );
        assert!(response.bytes().await.unwrap().is_empty(), "{path}");
    }
    app.stop().await;
}

async fn problem(response: reqwest::Response, status: u16, kind: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "problem responses say so"
    );
    let body: Value = response.json().await.expect("problem body is JSON");
    assert_eq!(
        body["type"],
        format!("urn:echobase:problem:{kind}"),
        "{body}"
    );
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

async fn health_and_readiness_answer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(body["database"], expected);
    app.stop().await;
}

async fn metrics_count_requests_by_route_template(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // A path with a parameter must be counted under its template, not its value.
    let digest = "a".repeat(64);
    assert_eq!(app.get(&format!("/messages/{digest}")).await.status(), 404);
    // A route without an OpenAPI entry has its own label too; no route, one label.
    assert_eq!(app.get("/docs").await.status(), 200);
    assert_eq!(app.get(&format!("/no/such/{digest}")).await.status(), 404);
    // A request answered by a module's fallback (a mock's stub) counts for
    // that module: every route's `module` label says whose it is.
    let stub = serde_json::json!({"request": {"method": "GET", "url": "/stubbed"},
                                   "response": {"status": 200}});
    let created = common::client()
        .post(app.url("/__admin/mappings"))
        .json(&stub)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(app.get("/stubbed").await.status(), 200);
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",module="messages",route="/messages/{digest}",status="4xx"}"#
        ),
        "{text}"
    );
    for series in [
        r#"http_requests_total{method="GET",module="server",route="/docs",status="2xx"}"#,
        r#"http_requests_total{method="POST",module="mocks",route="/__admin/mappings",status="2xx"}"#,
        r#"http_requests_total{method="GET",module="mocks",route="unmatched",status="2xx"}"#,
        // No stub answers it: the mocks' fallback answered the 404.
        r#"http_requests_total{method="GET",module="mocks",route="unmatched",status="4xx"}"#,
        // The scrape itself is being answered.
        "http_requests_in_flight 1\n",
        // The database answered the scrape's ping.
        "echobase_database_up 1\n",
        // Counters alerts count from are there before their first event.
        "echobase_webhook_signature_failures_total{source=\"jenkins\"} 0\n",
        "echobase_connections_closed_total{reason=\"idle_timeout\"} 0\n",
    ] {
        assert!(text.contains(series), "{series} in {text}");
    }
    assert!(!text.contains(&digest), "raw paths never become labels");
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("http_requests_in_flight"), "{text}");
    assert!(text.contains("db_pool_connections"), "{text}");
    assert!(text.contains("db_pool_max_connections"), "{text}");
    app.stop().await;
}

async fn openapi_lists_module_routes_and_docs_page_is_self_contained(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/messages",
        "/messages/{digest}",
        "/v1/messages",
    ] {
        assert!(spec["paths"].get(path).is_some(), "spec lacks {path}");
    }

    let page = app.get("/docs").await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );
    // Every script and style the page names is served here, with the page's
    // policy, and the start-up script renders this server's document with
    // Swagger UI's validator badge (a request to swagger.io) turned off.
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|part| part.starts_with("/docs/"))
        .collect();
    assert_eq!(
        assets,
        [
            "/docs/swagger-ui.css",
            "/docs/swagger-ui-bundle.js",
            "/docs/init.js"
        ]
    );
    for asset in assets {
        let response = app.get(asset).await;
        assert_eq!(response.status(), 200, "{asset}");
        assert_eq!(response.headers()["content-security-policy"], csp.as_str());
        let body = response.text().await.unwrap();
        assert!(body.len() > 500, "{asset}: {} bytes", body.len());
        if asset == "/docs/init.js" {
            assert!(body.contains("url: '/openapi.json'"), "{body}");
            assert!(body.contains("validatorUrl: 'none'"), "{body}");
        }
    }
    // The bundle, 1.8 MB, goes out compressed to a client that takes gzip.
    let compressed = reqwest::Client::new()
        .get(app.url("/docs/swagger-ui-bundle.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(compressed.headers()["content-encoding"], "gzip");
    assert!(
        compressed.bytes().await.unwrap().len() < 900_000,
        "under half"
    );
    app.stop().await;
}

async fn unknown_route_is_404_problem(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let body = problem(app.get("/no/such/route").await, 404, "not-found").await;
    assert!(body["detail"].as_str().unwrap().contains("/no/such/route"));
    app.stop().await;
}

async fn wrong_method_is_405_problem_with_allow(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = app.client.delete(app.url("/healthz")).send().await.unwrap();
    let allow = response.headers()["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("GET"), "{allow}");
    problem(response, 405, "method-not-allowed").await;
    app.stop().await;
}

async fn body_over_limit_is_413_problem_and_stores_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| s.body_limit = 1024).await else {
        return;
    };
    let big = vec![b'x'; 2048];
    let response = app
        .post_body("/v1/messages", "application/octet-stream", big.clone())
        .await;
    let body = problem(response, 413, "payload-too-large").await;
    assert!(body["detail"].as_str().unwrap().contains("1024"), "{body}");

    let digest = sha256_hex(&big);
    assert_eq!(
        app.get(&format!("/v1/messages/{digest}")).await.status(),
        404,
        "nothing stored"
    );

    // Just under the limit is fine.
    let small = vec![b'y'; 1000];
    let response = app
        .client
        .post(app.url("/v1/messages"))
        .body(small)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    app.stop().await;
}

async fn malformed_json_is_400_problem(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = app
        .post_body(
            "/v1/messages",
            "application/json",
            r#"{"message": "unterminated"#,
        )
        .await;
    problem(response, 400, "malformed-json").await;
    app.stop().await;
}

async fn slow_request_times_out_with_a_problem(backend: Backend) {
    let Some(app) =
        TestApp::spawn_with(backend, |s| s.request_timeout = Duration::from_millis(300)).await
    else {
        return;
    };
    // Promise ten bytes of body, send two, then wait: the handler waits for
    // the rest until the request timeout answers for it.
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: 10\r\n\r\nab")
        .await
        .unwrap();
    let mut response = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response);
    assert!(read.is_ok(), "the server answered by itself");
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    assert!(text.contains("urn:echobase:problem:timeout"), "{text}");
    app.stop().await;
}

async fn request_id_is_kept_or_generated(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let kept = app
        .get_with("/healthz", "x-request-id", "trace-abc-123")
        .await;
    assert_eq!(kept.headers()["x-request-id"], "trace-abc-123");

    let generated = app.get("/no/such/route").await;
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "a UUID: {id}");
    let next = app.get("/no/such/route").await;
    assert_ne!(next.headers()["x-request-id"].to_str().unwrap(), id);

    let overlong = "x".repeat(500);
    let replaced = app
        .get_with("/healthz", "x-request-id", overlong.as_str())
        .await;
    assert_ne!(replaced.headers()["x-request-id"], overlong.as_str());
    app.stop().await;
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// Settings precedence through the real binary: file < env < flag, masking, errors.

#[test]
fn config_check_applies_file_then_env_then_flags_and_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("echobase.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:1111\"\nbody_limit = \"1MiB\"\nlog_level = \"debug\"\n\
         database_url = \"postgres://app:hunter2@db:5432/echo\"\n",
    )
    .unwrap();
    let output = echobase()
        .args([
            "--config",
            file.to_str().unwrap(),
            "--listen",
            "127.0.0.1:3333",
            "config",
            "check",
        ])
        .env("ECHOBASE_LISTEN", "127.0.0.1:2222")
        .env("ECHOBASE_BODY_LIMIT", "2048")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("listen = 127.0.0.1:3333"),
        "flag wins: {stdout}"
    );
    assert!(
        stdout.contains("body_limit = 2048"),
        "env beats file: {stdout}"
    );
    assert!(
        stdout.contains("log_level = debug"),
        "file beats default: {stdout}"
    );
    assert!(
        stdout.contains("request_timeout = 30000ms"),
        "default: {stdout}"
    );
    assert!(!stdout.contains("hunter2"), "password masked: {stdout}");
    assert!(stdout.contains("app:****@db"), "{stdout}");
}

/// A database URL that does not parse once made its password part of the
/// error: on standard error, and in the JSON log when serving.
#[test]
fn a_malformed_database_url_is_refused_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "postgres://u:PW@127.0.0.1:notaport/x",
        "postgres://u:PW@127.0.0.1:99999/x",
        "postgres://u:PW@[::1/x",
        "postgres://u:PW@/x",
    ] {
        for command in [
            &["config", "check"][..],
            &["serve", "--listen", "127.0.0.1:0", "--log-format", "json"][..],
        ] {
            let output = echobase()
                .current_dir(dir.path())
                .args(["--database-url", url])
                .args(command)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                !output.status.success(),
                "{url} {command:?}: {stdout} {stderr}"
            );
            assert!(!stdout.contains("PW"), "{url} {command:?}: {stdout}");
            assert!(!stderr.contains("PW"), "{url} {command:?}: {stderr}");
            assert!(stderr.contains("u:****@"), "{url} {command:?}: {stderr}");
        }
    }
}

#[test]
fn a_bad_setting_stops_startup_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = echobase()
        .current_dir(dir.path())
        .args(["serve"])
        .env("ECHOBASE_REQUEST_TIMEOUT", "forever")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`request_timeout`") && stderr.contains("forever"),
        "{stderr}"
    );

    let file = dir.path().join("echobase.toml");
    std::fs::write(&file, "[server]\nport = 1\n").unwrap();
    let output = echobase()
        .current_dir(dir.path())
        .args(["serve"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`server.port`"), "{stderr}");
}

/// A TCP relay to the PostgreSQL at `target` that the test can cut: aborting
/// its task closes its listener and every relayed connection at once, as
/// when the database goes away.
async fn relay_to(target: String) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        // Owned here: aborting the task drops the set, which aborts each relay.
        let mut relays = tokio::task::JoinSet::new();
        while let Ok((mut client, _)) = listener.accept().await {
            let target = target.clone();
            relays.spawn(async move {
                if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (addr, task)
}

/// With PostgreSQL gone, writes answer 503 `unavailable` with `Retry-After`
/// (as `/readyz` does), not 500: a client should retry, not give up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_answer_503_with_retry_after_while_the_database_is_down() {
    let mut relay = None;
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |s| {
        let mut url = url::Url::parse(s.database_url.expose()).expect("a URL");
        let target = format!(
            "{}:{}",
            url.host_str().expect("a host"),
            url.port().unwrap_or(5432)
        );
        let (addr, task) = futures_block_on(relay_to(target));
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(addr.port())).unwrap();
        s.database_url = echobase::config::DatabaseUrl::parse(url.as_str()).unwrap();
        relay = Some(task);
    })
    .await
    else {
        return;
    };
    let person = serde_json::json!({"name": "Ada", "age": 36, "locale": "en-GB"});
    let created = app
        .client
        .post(app.url("/v1/people"))
        .json(&person)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "through the relay while it is up");

    let relay = relay.expect("the relay runs");
    relay.abort();
    assert!(relay.await.unwrap_err().is_cancelled());

    let writes = [
        ("/v1/people", person.clone()),
        (
            "/v1/events",
            serde_json::json!({"time": 1714557600, "kind": "deploy"}),
        ),
        ("/v1/messages", serde_json::json!({"message": "hello"})),
        (
            "/__admin/mappings",
            serde_json::json!({"request": {"url": "/x"}, "response": {"status": 200}}),
        ),
    ];
    for (path, body) in writes {
        let response = app
            .client
            .post(app.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503, "{path}");
        assert_eq!(response.headers()["retry-after"], "1", "{path}");
        let problem: Value = response.json().await.unwrap();
        if path.starts_with("/__admin") {
            // WireMock's error document, which its clients parse.
            assert_eq!(problem["errors"][0]["code"], 503, "{path}: {problem}");
        } else {
            assert_eq!(
                problem["type"], "urn:echobase:problem:unavailable",
                "{path}: {problem}"
            );
        }
    }
    app.stop().await;
}

/// Runs `future` to completion from inside a settings closure (which is not
/// async), on the test's multi-threaded runtime.
fn futures_block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}
