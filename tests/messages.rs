//! The messages module: the original `sha_api` contract over HTTP, the native
//! API's basics, and the store contract run against both backends.

mod common;

use std::sync::Arc;

use common::{Backend, TestApp};
use echobase::db::Database;
use echobase::messages::model::Digest;
use echobase::messages::store::{self, MessageStore, PutOutcome};
use serde_json::{Value, json};

const FOO_DIGEST: &str = "2C26B46B68FFC68FF99B453C1D30413413422D706483BFA0F98A5E886266E7AE";

on_both_backends!(
    post_foo_returns_the_upper_case_digest_and_lower_case_get_finds_it,
    every_error_is_err_msg_json_with_the_original_texts,
    reposting_is_idempotent,
    store_contract,
    native_raw_bytes_round_trip_with_content_type_and_immutable_caching,
);

async fn post_json(app: &TestApp, body: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/messages"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
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

async fn reposting_is_idempotent(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for _ in 0..3 {
        let (status, body) = post_json(&app, r#"{"message": "foo"}"#).await;
        assert_eq!(status, 200);
        assert_eq!(body["digest"], FOO_DIGEST);
    }
    let count: i64 = match &app.db {
        Database::Sqlite(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM messages")
            .fetch_one(pool)
            .await
            .unwrap(),
        Database::Postgres(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM messages")
            .fetch_one(pool)
            .await
            .unwrap(),
    };
    assert_eq!(count, 1);
    app.stop().await;
}

/// The `MessageStore` contract, for every implementation.
async fn store_contract(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let store: Arc<dyn MessageStore> = store::for_database(&app.db);

    let all_bytes: Vec<u8> = (0..=255u8).collect();
    let (digest, outcome) = store
        .put(&all_bytes, "application/octet-stream")
        .await
        .unwrap();
    assert_eq!(outcome, PutOutcome::Created);
    assert_eq!(digest, Digest::of(&all_bytes));

    let stored = store.get(&digest).await.unwrap().expect("stored");
    assert_eq!(stored.content, all_bytes, "every byte value survives");
    assert_eq!(stored.content_type, "application/octet-stream");

    // Same bytes again: nothing changes, not even the content type.
    let (again, outcome) = store.put(&all_bytes, "text/plain").await.unwrap();
    assert_eq!((again, outcome), (digest, PutOutcome::AlreadyStored));
    assert_eq!(
        store.get(&digest).await.unwrap().unwrap().content_type,
        "application/octet-stream"
    );

    assert_eq!(store.get(&Digest::of(b"never stored")).await.unwrap(), None);

    let (empty, _) = store.put(b"", "text/plain").await.unwrap();
    assert_eq!(
        store.get(&empty).await.unwrap().unwrap().content,
        Vec::<u8>::new()
    );
    app.stop().await;
}

async fn native_raw_bytes_round_trip_with_content_type_and_immutable_caching(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let bytes: Vec<u8> = (0..=255u8).rev().collect();
    let response = app
        .client
        .post(app.url("/v1/messages"))
        .header("content-type", "image/x-test")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let hex = Digest::of(&bytes).to_lower_hex();
    assert_eq!(
        response.headers()["location"],
        format!("/v1/messages/{hex}").as_str()
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "digest": hex, "size": 256 }));

    let again = app
        .client
        .post(app.url("/v1/messages"))
        .header("content-type", "image/x-test")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200, "already stored");

    let response = app
        .get(&format!("/v1/messages/{}", hex.to_uppercase()))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/x-test");
    assert_eq!(response.headers()["etag"], format!("\"{hex}\"").as_str());
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);

    // Binary content is not text: the compatible route says so instead of mangling it.
    let compat = app.get(&format!("/messages/{hex}")).await;
    assert_eq!(compat.status(), 422);
    app.stop().await;
}
