//! The echo module's compatible route: `GET`/`POST /` behind `server_key`.

mod common;

use common::{Backend, TestApp, per_ip_hourly_limit};
use echobase::config::{ModuleSecurity, Secret, Settings};
use echobase::module::Module;
use proptest::prelude::*;

const KEY: &str = "open-sesame";

/// How the server answers `GET`/`POST /`: with nothing layered on the echo
/// module, a direct route in front of the router serves it; with a layer
/// (here CORS), the router does. Both must give the same answers.
#[derive(Debug, Clone, Copy)]
enum Serving {
    Direct,
    Router,
}

impl Serving {
    fn configure(self, settings: &mut Settings) {
        settings.echo.server_key = Some(Secret::new(KEY));
        if let Serving::Router = self {
            settings.cors.allow_origins = vec!["https://app.example".into()];
        }
    }
}

/// Method, key header sent (if any), expected status, expected body.
type Case = (
    &'static str,
    Option<(&'static str, &'static str)>,
    u16,
    &'static str,
);

async fn spawn_with_key(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |s| Serving::Direct.configure(s)).await
}

on_both_backends!(
    every_compatible_answer_is_exact,
    every_compatible_answer_is_exact_through_the_router,
    post_echoes_any_bytes_unchanged,
    post_echoes_any_bytes_unchanged_through_the_router,
    generated_key_is_stored_and_survives_a_restart,
);

async fn every_compatible_answer_is_exact(backend: Backend) {
    compatible_answers(backend, Serving::Direct).await
}

async fn every_compatible_answer_is_exact_through_the_router(backend: Backend) {
    compatible_answers(backend, Serving::Router).await
}

async fn compatible_answers(backend: Backend, serving: Serving) {
    let Some(app) = TestApp::spawn_with(backend, |s| serving.configure(s)).await else {
        return;
    };
    let cases: [Case; 7] = [
        ("GET", None, 403, "Please add server_key to access"),
        ("POST", None, 403, "Please add server_key to access"),
        (
            "GET",
            Some(("server_key", "nope")),
            403,
            "Incorrect server key",
        ),
        (
            "GET",
            Some(("server_key", "open-sesam")),
            403,
            "Incorrect server key",
        ),
        (
            "POST",
            Some(("server_key", "OPEN-SESAME")),
            403,
            "Incorrect server key",
        ),
        (
            "GET",
            Some(("server_key", KEY)),
            200,
            "Hello! I will echo whatever you send me!",
        ),
        // Behind proxies that drop underscored header names.
        (
            "GET",
            Some(("server-key", KEY)),
            200,
            "Hello! I will echo whatever you send me!",
        ),
    ];
    for (method, header, status, text) in cases {
        let mut request = app
            .client
            .request(method.parse().unwrap(), app.url("/"))
            .body("ignored unless authorised");
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{method} {header:?} {serving:?}");
        assert!(response.headers().contains_key("x-request-id"));
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain"),
            "{method} {header:?}"
        );
        assert_eq!(response.text().await.unwrap(), text, "{method} {header:?}");
    }

    let put = app
        .client
        .put(app.url("/"))
        .header("server_key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 405);
    let head = app
        .client
        .head(app.url("/"))
        .header("server_key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200, "HEAD is GET without the body");
    assert_eq!(
        head.headers()["content-length"],
        GREETING.len().to_string().as_str()
    );
    app.stop().await;
}

const GREETING: &str = "Hello! I will echo whatever you send me!";

async fn post_echoes_any_bytes_unchanged(backend: Backend) {
    echoes_any_bytes(backend, Serving::Direct).await
}

async fn post_echoes_any_bytes_unchanged_through_the_router(backend: Backend) {
    echoes_any_bytes(backend, Serving::Router).await
}

async fn echoes_any_bytes(backend: Backend, serving: Serving) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        serving.configure(s);
        s.body_limit = 4 * 1024 * 1024;
    })
    .await
    else {
        return;
    };
    let code = "fn main() { println!(\"{}\", '\\u{1F680}'); } <script>alert(1)</script> '; DROP TABLE x;--";
    let invalid_utf8 = vec![0xff, 0xfe, 0x00, 0xc3, 0x28, 0x00, 0x80];
    let large: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    for body in [
        code.as_bytes().to_vec(),
        invalid_utf8,
        vec![0u8; 1000],
        large,
        Vec::new(),
    ] {
        let response = app
            .client
            .post(app.url("/"))
            .header("server_key", KEY)
            .header("content-type", "application/x-anything")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{serving:?}");
        assert_eq!(response.headers()["content-type"], "application/x-anything");
        assert_eq!(
            response.headers()["content-length"],
            body.len().to_string().as_str()
        );
        assert_eq!(response.bytes().await.unwrap().to_vec(), body);
    }

    let too_large = vec![b'x'; 4 * 1024 * 1024 + 1];
    let response = app
        .client
        .post(app.url("/"))
        .header("server_key", KEY)
        .body(too_large)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.text().await.unwrap(),
        "the request body is larger than the limit of 4194304 bytes"
    );
    app.stop().await;
}

/// The direct route must not pass by what is layered on the echo module:
/// its rate limit, its allow list, CORS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layers_on_the_echo_module_apply_to_the_compatible_route() {
    let Some(limited) = TestApp::spawn_with(Backend::Sqlite, |s| {
        Serving::Direct.configure(s);
        per_ip_hourly_limit(s, Module::Echo, 1);
    })
    .await
    else {
        return;
    };
    let post = || {
        limited
            .client
            .post(limited.url("/"))
            .header("server_key", KEY)
            .body("x")
            .send()
    };
    assert_eq!(post().await.unwrap().status(), 200);
    assert_eq!(post().await.unwrap().status(), 429);
    limited.stop().await;

    let Some(fenced) = TestApp::spawn_with(Backend::Sqlite, |s| {
        Serving::Direct.configure(s);
        s.module_security.insert(
            Module::Echo,
            ModuleSecurity {
                allow_ips: Some(vec!["192.0.2.0/24".parse().unwrap()]),
                ..Default::default()
            },
        );
    })
    .await
    else {
        return;
    };
    let refused = fenced
        .client
        .post(fenced.url("/"))
        .header("server_key", KEY)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_ne!(refused.text().await.unwrap(), "x");
    fenced.stop().await;

    let Some(cors) = TestApp::spawn_with(Backend::Sqlite, |s| Serving::Router.configure(s)).await
    else {
        return;
    };
    let response = cors
        .client
        .post(cors.url("/"))
        .header("server_key", KEY)
        .header("origin", "https://app.example")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    cors.stop().await;
}

async fn generated_key_is_stored_and_survives_a_restart(backend: Backend) {
    let Some((database, url)) = common::TestDatabase::create(backend).await else {
        return;
    };
    let mut keys = Vec::new();
    for _ in 0..2 {
        let app = echobase::App::build(common::test_settings(url.clone()))
            .await
            .unwrap();
        let notice = app.notices().join("\n");
        let key = notice
            .split_whitespace()
            .find(|word| word.len() == 64 && word.bytes().all(|b| b.is_ascii_hexdigit()))
            .unwrap_or_else(|| panic!("the banner shows the generated key: {notice}"))
            .to_owned();
        keys.push(key);
        app.database().close().await;
    }
    assert_eq!(keys[0], keys[1], "the same key after a restart");

    // And it is the key the route accepts.
    let app = echobase::App::build(common::test_settings(url.clone()))
        .await
        .unwrap();
    let addr = app.local_addr();
    let server = tokio::spawn(app.run_until_stopped(std::future::pending()));
    let client = reqwest::Client::new();
    let ok = client
        .get(format!("http://{addr}/"))
        .header("server_key", &keys[0])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    server.abort();
    let _ = server.await;
    drop(database);
}

#[test]
fn arbitrary_bodies_come_back_identical() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(app) = runtime.block_on(spawn_with_key(Backend::Sqlite)) else {
        return;
    };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(200));
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..20_000), |body| {
            let echoed = runtime.block_on(async {
                let response = app
                    .client
                    .post(app.url("/"))
                    .header("server_key", KEY)
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap().to_vec()
            });
            prop_assert_eq!(echoed, body);
            Ok(())
        })
        .unwrap();
    runtime.block_on(app.stop());
}
