//! The messages module: the original `sha_api` contract over HTTP, the native
//! API (raw bytes, ranges, conditional requests, digests, lookup, delete),
//! each run against both backends. The store contract is in `tests/stores/`.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{Backend, TestApp};
use echobase::db::Database;
use echobase::messages::model::{Content, Digest};
use echobase::messages::store::{self, PutOutcome, StoreOptions};
use serde_json::{Value, json};

const FOO_DIGEST: &str = "2C26B46B68FFC68FF99B453C1D30413413422D706483BFA0F98A5E886266E7AE";

on_both_backends!(
    post_foo_returns_the_upper_case_digest_and_lower_case_get_finds_it,
    every_error_is_err_msg_json_with_the_original_texts,
    storage_failure_is_500_with_the_original_text,
    reposting_is_idempotent,
    native_raw_bytes_round_trip_with_content_type_and_immutable_caching,
    every_single_byte_value_round_trips_through_concurrent_posts,
    json_message_is_stored_as_text_and_readable_on_both_surfaces,
    single_byte_ranges_are_served_and_past_the_end_is_416,
    if_none_match_with_the_etag_is_304,
    head_reports_size_and_type_without_a_body,
    digest_mismatch_is_refused_and_stores_nothing,
    matching_digest_headers_are_accepted,
    delete_removes_the_message_even_when_it_was_cached,
    lookup_reports_found_and_missing_digests_in_request_order,
    lookup_is_bounded_and_validates_each_digest,
    max_lookup_bounds_the_digests_of_a_lookup,
    max_size_bounds_raw_posts_independently_of_body_limit,
    native_errors_are_problem_json,
);

fn lower(digest: &str) -> String {
    digest.to_lowercase()
}

async fn post_json(app: &TestApp, body: &str) -> (u16, Value) {
    let response = app
        .post_body("/messages", "application/json", body.to_owned())
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

async fn post_raw(app: &TestApp, bytes: &[u8], content_type: &str) -> reqwest::Response {
    app.post_body("/v1/messages", content_type, bytes.to_vec())
        .await
}

/// Asserts a problem+json answer and returns its body.
async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status, "{body}");
    body
}

async fn count_rows(db: &Database) -> i64 {
    match db {
        Database::Sqlite(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM messages")
            .fetch_one(pool)
            .await
            .unwrap(),
        Database::Postgres(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM messages")
            .fetch_one(pool)
            .await
            .unwrap(),
    }
}

async fn post_foo_returns_the_upper_case_digest_and_lower_case_get_finds_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = post_json(&app, r#"{"message": "foo"}"#).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({ "digest": FOO_DIGEST }));

    // The original README fetched with the lower-case digest.
    for digest in [FOO_DIGEST.to_lowercase(), FOO_DIGEST.to_owned()] {
        let response = app.get(&format!("/messages/{digest}")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({ "message": "foo" })
        );
    }

    // Special characters and unicode survive the round trip.
    let text = "héllo \"wörld\" <script>\n\t✓ 🚀";
    let (status, body) = post_json(&app, &json!({ "message": text }).to_string()).await;
    assert_eq!(status, 200);
    let digest = body["digest"].as_str().unwrap();
    assert_eq!(digest, Digest::of(text.as_bytes()).to_upper_hex());
    let fetched: Value = app
        .get(&format!("/messages/{digest}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["message"], text);
    app.stop().await;
}

async fn every_error_is_err_msg_json_with_the_original_texts(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| s.body_limit = 4096).await else {
        return;
    };
    let cases = [
        (
            "not json at all",
            400,
            "Invalid content type, expected JSON",
        ),
        ("{}", 400, "Invalid JSON request, no message key found"),
        (
            r#"{"message": null}"#,
            400,
            "Invalid JSON request, no message key found",
        ),
        (
            r#"{"other": "x"}"#,
            400,
            "Invalid JSON request, no message key found",
        ),
    ];
    for (body, status, message) in cases {
        let (got_status, got) = post_json(&app, body).await;
        assert_eq!(got_status, status, "{body}");
        assert_eq!(got, json!({ "err_msg": message }), "{body}");
    }

    // Not in the original (it crashed): still an err_msg 400.
    let (status, body) = post_json(&app, r#"{"message": 42}"#).await;
    assert_eq!(status, 400);
    assert!(
        body["err_msg"].as_str().unwrap().contains("string"),
        "{body}"
    );

    let big = json!({ "message": "x".repeat(5000) }).to_string();
    let (status, body) = post_json(&app, &big).await;
    assert_eq!(status, 413);
    assert!(body["err_msg"].as_str().is_some(), "{body}");

    let response = app.get(&format!("/messages/{}", "0".repeat(64))).await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "err_msg": "Message not found" })
    );

    for malformed in ["abc", "zz".repeat(32).as_str(), &"a".repeat(65)] {
        let response = app.get(&format!("/messages/{malformed}")).await;
        assert_eq!(response.status(), 400, "{malformed}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["err_msg"]
                .as_str()
                .unwrap()
                .starts_with("Invalid digest"),
            "{body}"
        );
    }
    app.stop().await;
}

async fn storage_failure_is_500_with_the_original_text(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    match &app.db {
        Database::Sqlite(pool) => sqlx::query("DROP TABLE messages")
            .execute(pool)
            .await
            .map(drop),
        Database::Postgres(pool) => sqlx::query("DROP TABLE messages")
            .execute(pool)
            .await
            .map(drop),
    }
    .unwrap();
    let (status, body) = post_json(&app, r#"{"message": "foo"}"#).await;
    assert_eq!(status, 500);
    assert_eq!(
        body,
        json!({ "err_msg": "Failed to add message and its SHA256 digest to database" })
    );
    app.stop().await;
}

async fn reposting_is_idempotent(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for _ in 0..3 {
        let (status, body) = post_json(&app, r#"{"message": "foo"}"#).await;
        assert_eq!(status, 200);
        assert_eq!(body["digest"], FOO_DIGEST);
    }
    // The same text through the native API is the same message.
    let response = app
        .client
        .post(app.url("/v1/messages"))
        .json(&json!({ "message": "foo" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "already stored");
    assert_eq!(count_rows(&app.db).await, 1);
    app.stop().await;
}

async fn native_raw_bytes_round_trip_with_content_type_and_immutable_caching(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let bytes: Vec<u8> = (0..=255u8).rev().collect();
    let response = post_raw(&app, &bytes, "image/x-test").await;
    assert_eq!(response.status(), 201);
    let hex = Digest::of(&bytes).to_lower_hex();
    assert_eq!(
        response.headers()["location"],
        format!("/v1/messages/{hex}").as_str()
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "digest": hex, "size": 256 }));

    let again = post_raw(&app, &bytes, "image/x-test").await;
    assert_eq!(again.status(), 200, "already stored");

    // No content type at all: stored as bytes.
    let untyped = app
        .client
        .post(app.url("/v1/messages"))
        .body(b"untyped".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(untyped.status(), 201);
    let untyped_hex = Digest::of(b"untyped").to_lower_hex();
    let response = app.get(&format!("/v1/messages/{untyped_hex}")).await;
    assert_eq!(
        response.headers()["content-type"],
        "application/octet-stream"
    );

    for _ in 0..2 {
        // Twice: once from the database, once from the cache.
        let response = app
            .get(&format!("/v1/messages/{}", hex.to_uppercase()))
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "image/x-test");
        assert_eq!(response.headers()["etag"], format!("\"{hex}\"").as_str());
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(response.headers()["accept-ranges"], "bytes");
        assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);
    }

    // Binary content is not text: the compatible route says so instead of mangling it.
    let compat = app.get(&format!("/messages/{hex}")).await;
    assert_eq!(compat.status(), 422);
    app.stop().await;
}

async fn every_single_byte_value_round_trips_through_concurrent_posts(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let app = Arc::new(app);
    let posts = (0..=255u8).map(|byte| {
        let app = app.clone();
        async move {
            let response = post_raw(&app, &[byte], "application/octet-stream").await;
            assert_eq!(response.status(), 201, "byte {byte}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["digest"], Digest::of(&[byte]).to_lower_hex());
            assert_eq!(body["size"], 1);
        }
    });
    futures_util::future::join_all(posts).await;
    for byte in 0..=255u8 {
        let response = app
            .get(&format!(
                "/v1/messages/{}",
                Digest::of(&[byte]).to_lower_hex()
            ))
            .await;
        assert_eq!(response.status(), 200, "byte {byte}");
        assert_eq!(response.bytes().await.unwrap().as_ref(), &[byte]);
    }
    assert_eq!(count_rows(&app.db).await, 256);
    if let Ok(app) = Arc::try_unwrap(app) {
        app.stop().await;
    }
}

async fn json_message_is_stored_as_text_and_readable_on_both_surfaces(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = app
        .client
        .post(app.url("/v1/messages"))
        .json(&json!({ "message": "foo" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "digest": lower(FOO_DIGEST), "size": 3 }));

    let native = app
        .get(&format!("/v1/messages/{}", lower(FOO_DIGEST)))
        .await;
    assert_eq!(
        native.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(native.text().await.unwrap(), "foo");
    let compat: Value = app
        .get(&format!("/messages/{FOO_DIGEST}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(compat, json!({ "message": "foo" }));

    // A JSON body that is not `{"message": "..."}` is refused, not stored as bytes.
    let response = app
        .client
        .post(app.url("/v1/messages"))
        .json(&json!({ "message": "x", "extra": 1 }))
        .send()
        .await
        .unwrap();
    problem(response, 400).await;
    app.stop().await;
}

async fn single_byte_ranges_are_served_and_past_the_end_is_416(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let bytes: Vec<u8> = (0..100u8).collect();
    assert_eq!(
        post_raw(&app, &bytes, "application/x-test").await.status(),
        201
    );
    let path = format!("/v1/messages/{}", Digest::of(&bytes).to_lower_hex());
    let etag = format!("\"{}\"", Digest::of(&bytes).to_lower_hex());
    let get_range = |range: &'static str| {
        let request = app.client.get(app.url(&path)).header("range", range);
        async move { request.send().await.unwrap() }
    };

    for (range, first, last) in [
        ("bytes=0-9", 0usize, 9usize),
        ("bytes=90-", 90, 99),
        ("bytes=-5", 95, 99),
        ("bytes=50-1000", 50, 99),
        ("bytes=-1000", 0, 99),
        ("bytes=7-7", 7, 7),
    ] {
        let response = get_range(range).await;
        assert_eq!(response.status(), 206, "{range}");
        assert_eq!(
            response.headers()["content-range"],
            format!("bytes {first}-{last}/100").as_str(),
            "{range}"
        );
        assert_eq!(response.headers()["content-type"], "application/x-test");
        assert_eq!(response.headers()["etag"], etag.as_str());
        assert_eq!(
            response.bytes().await.unwrap().to_vec(),
            bytes[first..=last].to_vec(),
            "{range}"
        );
    }

    for range in ["bytes=100-", "bytes=100-200", "bytes=-0"] {
        let response = get_range(range).await;
        assert_eq!(
            response.headers()["content-range"],
            "bytes */100",
            "{range}"
        );
        problem(response, 416).await;
    }

    // Several ranges, or a range we do not understand: the whole content.
    for range in ["bytes=0-1,5-6", "bytes=9-2", "lines=1-2"] {
        let response = get_range(range).await;
        assert_eq!(response.status(), 200, "{range}");
        assert_eq!(response.bytes().await.unwrap().len(), 100, "{range}");
    }

    // If-Range with another validator: the whole content; with ours: the range.
    let response = app
        .client
        .get(app.url(&path))
        .header("range", "bytes=0-0")
        .header("if-range", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = app
        .client
        .get(app.url(&path))
        .header("range", "bytes=0-0")
        .header("if-range", etag.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 206);

    // Empty content has no byte to serve.
    assert_eq!(post_raw(&app, b"", "text/plain").await.status(), 201);
    let response = app
        .get_with(
            &format!("/v1/messages/{}", Digest::of(b"").to_lower_hex()),
            "range",
            "bytes=0-",
        )
        .await;
    assert_eq!(response.headers()["content-range"], "bytes */0");
    problem(response, 416).await;
    app.stop().await;
}

async fn if_none_match_with_the_etag_is_304(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = post_raw(&app, b"cache me", "text/plain").await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let first = app.get(&location).await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();

    for validator in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"x\", {etag}"),
        "*".into(),
    ] {
        let response = app
            .get_with(&location, "if-none-match", validator.as_str())
            .await;
        assert_eq!(response.status(), 304, "{validator}");
        assert_eq!(response.headers()["etag"], etag.as_str());
        assert!(response.bytes().await.unwrap().is_empty());
    }
    let response = app
        .get_with(&location, "if-none-match", "\"another\"")
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "cache me");

    // A validator for a message that is not there is still a 404.
    let missing = format!("/v1/messages/{}", "0".repeat(64));
    let response = app.get_with(&missing, "if-none-match", "*").await;
    assert_eq!(response.status(), 404);
    app.stop().await;
}

async fn head_reports_size_and_type_without_a_body(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let bytes = vec![0xffu8; 3000];
    post_raw(&app, &bytes, "application/x-blob").await;
    let path = format!("/v1/messages/{}", Digest::of(&bytes).to_lower_hex());
    for _ in 0..2 {
        // Before and after the content is cached by a GET.
        let response = app.client.head(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-length"], "3000");
        assert_eq!(response.headers()["content-type"], "application/x-blob");
        assert_eq!(
            response.headers()["etag"],
            format!("\"{}\"", Digest::of(&bytes).to_lower_hex()).as_str()
        );
        assert!(response.bytes().await.unwrap().is_empty());
        app.get(&path).await.bytes().await.unwrap();
    }
    let missing = format!("/v1/messages/{}", "0".repeat(64));
    let response = app.client.head(app.url(&missing)).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let response = app
        .client
        .head(app.url("/v1/messages/xyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    app.stop().await;
}

async fn digest_mismatch_is_refused_and_stores_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let body = b"the body as sent".to_vec();
    let wrong = STANDARD.encode(Digest::of(b"something else").as_bytes());
    let cases = [
        ("content-digest", format!("sha-256=:{wrong}:")),
        ("digest", format!("SHA-256={wrong}")),
        ("content-digest", "sha-256=:not base64!:".to_owned()),
        ("content-digest", "sha-256=:AAAA:".to_owned()),
        ("digest", "md5=HUXZLQLMuI/KZ5KDcJPcOA==".to_owned()),
    ];
    for (header, value) in &cases {
        let response = app
            .client
            .post(app.url("/v1/messages"))
            .header("content-type", "application/octet-stream")
            .header(*header, value.as_str())
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let problem = problem(response, 400).await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains(&header.to_lowercase()),
            "{problem}"
        );
    }
    // A JSON message whose body does not match its digest header.
    let response = app
        .client
        .post(app.url("/v1/messages"))
        .header("content-type", "application/json")
        .header("content-digest", format!("sha-256=:{wrong}:"))
        .body(r#"{"message":"foo"}"#)
        .send()
        .await
        .unwrap();
    problem(response, 400).await;

    let response = app
        .get(&format!(
            "/v1/messages/{}",
            Digest::of(&body).to_lower_hex()
        ))
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(count_rows(&app.db).await, 0, "nothing was stored");
    app.stop().await;
}

async fn matching_digest_headers_are_accepted(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let body = b"checked on the way in".to_vec();
    let sha256 = STANDARD.encode(Digest::of(&body).as_bytes());
    let response = app
        .client
        .post(app.url("/v1/messages"))
        .header("content-type", "text/plain")
        .header("content-digest", format!("sha-256=:{sha256}:"))
        .header("digest", format!("sha-256={sha256},unixsum=30637"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    // For a JSON message the header covers the request body, not the stored text.
    let json_body = r#"{"message":"bar"}"#;
    let json_sha = STANDARD.encode(Digest::of(json_body.as_bytes()).as_bytes());
    let response = app
        .client
        .post(app.url("/v1/messages"))
        .header("content-type", "application/json")
        .header("content-digest", format!("sha-256=:{json_sha}:"))
        .body(json_body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let stored: Value = response.json().await.unwrap();
    assert_eq!(stored["digest"], Digest::of(b"bar").to_lower_hex());
    app.stop().await;
}

async fn delete_removes_the_message_even_when_it_was_cached(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = post_raw(&app, b"short-lived", "text/plain").await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    for _ in 0..2 {
        assert_eq!(app.get(&location).await.status(), 200); // now cached
    }
    let deleted = app.client.delete(app.url(&location)).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.get(&location).await.status(), 404);
    let head = app.client.head(app.url(&location)).send().await.unwrap();
    assert_eq!(head.status(), 404);
    let again = app.client.delete(app.url(&location)).send().await.unwrap();
    problem(again, 404).await;
    let malformed = app
        .client
        .delete(app.url("/v1/messages/nope"))
        .send()
        .await
        .unwrap();
    problem(malformed, 400).await;
    assert_eq!(count_rows(&app.db).await, 0);

    // It can be stored again.
    assert_eq!(
        post_raw(&app, b"short-lived", "text/plain").await.status(),
        201
    );
    assert_eq!(app.get(&location).await.status(), 200);
    app.stop().await;
}

async fn lookup_reports_found_and_missing_digests_in_request_order(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    post_raw(&app, b"one", "text/plain").await;
    post_raw(&app, b"three!", "text/plain").await;
    // One of them cached, the other not: both paths answer alike.
    app.get(&format!(
        "/v1/messages/{}",
        Digest::of(b"one").to_lower_hex()
    ))
    .await;
    let digests = [
        Digest::of(b"three!").to_upper_hex(),
        Digest::of(b"two").to_lower_hex(),
        Digest::of(b"one").to_lower_hex(),
        Digest::of(b"three!").to_lower_hex(), // a repeat counts once
    ];
    let response = app
        .client
        .post(app.url("/v1/messages:lookup"))
        .json(&json!({ "digests": digests }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "found": [
                { "digest": Digest::of(b"three!").to_lower_hex(), "size": 6 },
                { "digest": Digest::of(b"one").to_lower_hex(), "size": 3 },
            ],
            "missing": [Digest::of(b"two").to_lower_hex()],
        })
    );

    let empty = app
        .client
        .post(app.url("/v1/messages:lookup"))
        .json(&json!({ "digests": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        empty.json::<Value>().await.unwrap(),
        json!({ "found": [], "missing": [] })
    );
    app.stop().await;
}

async fn lookup_is_bounded_and_validates_each_digest(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let lookup = |body: Value| {
        let request = app.client.post(app.url("/v1/messages:lookup")).json(&body);
        async move { request.send().await.unwrap() }
    };
    let max: Vec<String> = (0..1000u32)
        .map(|i| Digest::of(&i.to_be_bytes()).to_lower_hex())
        .collect();
    let response = lookup(json!({ "digests": max })).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["missing"].as_array().unwrap().len(), 1000);

    let too_many: Vec<String> = (0..1001u32)
        .map(|i| Digest::of(&i.to_be_bytes()).to_lower_hex())
        .collect();
    let body = problem(lookup(json!({ "digests": too_many })).await, 422).await;
    assert_eq!(body["errors"][0]["field"], "digests", "{body}");

    let body = problem(
        lookup(json!({ "digests": [lower(FOO_DIGEST), "nope", "x".repeat(64)] })).await,
        422,
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["digests.1", "digests.2"]);

    problem(lookup(json!({ "digest": [] })).await, 400).await;
    // The colon is part of the path, not a parameter: a GET there is not a digest lookup.
    let response = app.get("/v1/messages:lookup").await;
    assert_eq!(response.status(), 405);
    app.stop().await;
}

async fn max_lookup_bounds_the_digests_of_a_lookup(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| s.messages.max_lookup = 2).await else {
        return;
    };
    post_raw(&app, b"one", "text/plain").await;
    let lookup = |digests: &[&[u8]]| {
        let digests: Vec<String> = digests
            .iter()
            .map(|d| Digest::of(d).to_lower_hex())
            .collect();
        let request = app
            .client
            .post(app.url("/v1/messages:lookup"))
            .json(&json!({ "digests": digests }));
        async move { request.send().await.unwrap() }
    };
    let response = lookup(&[b"one", b"two"]).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["found"][0]["size"], 3, "{body}");
    let body = problem(lookup(&[b"one", b"two", b"three"]).await, 422).await;
    assert_eq!(body["errors"][0]["field"], "digests", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 2 digests per lookup (messages.max_lookup), got 3"),
        "{body}"
    );
    app.stop().await;
}

async fn max_size_bounds_raw_posts_independently_of_body_limit(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.body_limit = 4096;
        s.messages.max_size = Some(64 * 1024);
    })
    .await
    else {
        return;
    };
    let big = vec![b'z'; 50 * 1024];
    let response = post_raw(&app, &big, "application/octet-stream").await;
    assert_eq!(
        response.status(),
        201,
        "over body_limit, under messages.max_size"
    );
    let fetched = app
        .get(&format!("/v1/messages/{}", Digest::of(&big).to_lower_hex()))
        .await;
    assert_eq!(fetched.bytes().await.unwrap().len(), 50 * 1024);

    let too_big = vec![b'z'; 64 * 1024 + 1];
    let body = problem(
        post_raw(&app, &too_big, "application/octet-stream").await,
        413,
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("65536"), "{body}");

    // Streamed without a Content-Length (chunked): still cut off at the limit.
    let status_line = post_chunked(&app, "/v1/messages", 17, 4096).await;
    assert!(status_line.contains(" 413 "), "{status_line}");
    assert_eq!(count_rows(&app.db).await, 1);
    app.stop().await;
}

/// Sends `chunks` chunks of `size` bytes with `Transfer-Encoding: chunked`
/// (no `Content-Length`) and returns the response's status line.
async fn post_chunked(app: &TestApp, path: &str, chunks: usize, size: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/octet-stream\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..chunks {
        let chunk = format!("{size:x}\r\n{}\r\n", "q".repeat(size));
        // The server may answer 413 and close before the last chunk.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn native_errors_are_problem_json(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    problem(app.get("/v1/messages/abc").await, 400).await;
    problem(
        app.get(&format!("/v1/messages/{}", "0".repeat(64))).await,
        404,
    )
    .await;
    let response = app
        .post_body("/v1/messages", "application/json", "{not json")
        .await;
    problem(response, 400).await;
    let long_type = format!("text/{}", "x".repeat(300));
    problem(post_raw(&app, b"x", &long_type).await, 400).await;
    app.stop().await;
}

/// Several processes may share one PostgreSQL database, each with its own
/// cache: a delete through one must leave the others' caches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_elsewhere_on_postgres_evicts_the_cached_copy() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let options = StoreOptions {
        cache_bytes: 1 << 20,
    };
    let here = store::for_database(&app.db, options).await.unwrap();
    let elsewhere = store::for_database(&app.db, options).await.unwrap();
    let content = Content::new(b"cached in two places".to_vec());
    let digest = content.digest();
    here.put(content, "text/plain".into()).await.unwrap();
    assert!(here.get(&digest).await.unwrap().is_some()); // now cached here

    assert!(elsewhere.delete(&digest).await.unwrap());
    // The notification arrives asynchronously: wait for it, boundedly.
    let mut evicted = false;
    for _ in 0..1000 {
        if here.get(&digest).await.unwrap().is_none() {
            evicted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(evicted, "the other cache still serves the deleted message");
    app.stop().await;
}

/// Messages stored before migration 0007 (SQLite's digest index moved into
/// memory) are all still found after it, and the table has no digest index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_messages_stored_before_the_layout_change_are_kept() {
    let (_dir, url) = common::TestDatabase::create(Backend::Sqlite).await.unwrap();
    let db = Database::connect(&url, 2, echobase::db::DEFAULT_ACQUIRE_TIMEOUT)
        .await
        .unwrap();
    let Database::Sqlite(pool) = &db else {
        unreachable!("a SQLite url")
    };
    static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
    MIGRATIONS.run_to(6, pool).await.unwrap();
    let old: Vec<Content> = (0..50u32)
        .map(|i| Content::new(format!("old message {i}").into_bytes()))
        .collect();
    for content in &old {
        sqlx::query(
            "INSERT INTO messages (digest, content, content_type, created_at_ms) \
             VALUES ($1, $2, 'text/plain', 0)",
        )
        .bind(content.digest().as_bytes().as_slice())
        .bind(content.bytes().as_ref())
        .execute(pool)
        .await
        .unwrap();
    }
    db.migrate().await.unwrap();
    let indexes: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(indexes, 0, "no index on the digest any more");

    let store = store::for_database(&db, StoreOptions { cache_bytes: 0 })
        .await
        .unwrap();
    for content in &old {
        let stored = store.get(&content.digest()).await.unwrap().expect("kept");
        assert_eq!(&stored.content, content.bytes());
        let outcome = store
            .put(content.clone(), "text/plain".into())
            .await
            .unwrap();
        assert_eq!(outcome, PutOutcome::AlreadyStored);
    }
    let fresh = Content::new(b"after the migration".to_vec());
    assert_eq!(
        store.put(fresh.clone(), "text/plain".into()).await.unwrap(),
        PutOutcome::Created
    );
    assert_eq!(count_rows(&db).await, 51);
    db.close().await;
}

/// The SQLite store keeps its digest index in memory, so one process owns a
/// file: a second `echobase serve` on it stops at start-up and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_the_same_sqlite_file_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let Database::Sqlite(pool) = &app.db else {
        unreachable!("a SQLite app")
    };
    let file = pool.connect_options().get_filename().to_owned();
    let mut second = common::serve(&format!("sqlite://{}", file.display()))
        .spawn()
        .unwrap();
    // Bounded: a second server that starts serving would never exit.
    let mut exited = None;
    for _ in 0..600 {
        exited = second.try_wait().unwrap();
        if exited.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    if exited.is_none() {
        let _ = second.kill();
    }
    let output = second.wait_with_output().unwrap();
    assert!(exited.is_some(), "the second process kept running");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("another echobase process serves this file"),
        "{stderr}"
    );
    // The first one still serves.
    let (status, _) = post_json(&app, r#"{"message": "still here"}"#).await;
    assert_eq!(status, 200);
    app.stop().await;
}
