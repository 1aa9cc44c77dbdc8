//! The mocks module over HTTP: the original `/endpoints` contract (the
//! original project's own sequence), the WireMock admin API and stub fields
//! (each with a matching and a non-matching request), response features,
//! scenarios under concurrency, the journal, a mappings folder, persistence
//! across a restart, and two processes sharing one PostgreSQL database.

mod common;
#[path = "mocks/folder.rs"]
mod folder;
#[path = "mocks/live.rs"]
mod live;
#[path = "mocks/oas.rs"]
mod oas;
#[path = "mocks/proxy.rs"]
mod proxy;
#[path = "mocks/recording.rs"]
mod recording;

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Backend, TestApp, client, get_on, self_signed_https, send_get};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;

on_both_backends!(
    original_sequence_create_list_call_patch_delete,
    original_validation_messages_and_unknown_ids,
    unmatched_request_is_problem_404_with_legacy_error_and_near_misses,
    endpoints_survive_a_restart,
    every_wiremock_request_field_matches_and_refuses,
    xml_and_json_schema_matchers_match_and_refuse,
    unsupported_fields_are_422_naming_the_field,
    priority_then_newest_wins,
    admin_mappings_crud_import_and_reset,
    journal_count_find_unmatched_and_near_misses,
    journal_is_a_ring_of_the_configured_size,
    journal_bodies_are_cut_and_budgeted_as_configured,
    response_status_headers_and_bodies,
    response_delays_dribble_and_faults,
    response_templates_render_request_parts,
    wiremock_helpers_render_over_http,
    json_xml_list_and_zone_helpers_render_over_http,
    scenarios_move_through_their_states,
    scenario_transitions_hold_under_100_concurrent_requests,
    mappings_folder_is_loaded_and_body_files_cannot_escape,
    body_files_through_the_admin_api,
    body_files_are_bounded_and_names_confined,
    webhooks_are_sent_after_the_answer_from_templates,
    webhooks_retry_and_stay_inside_the_allow_list,
    webhook_host_names_are_checked_after_they_resolve,
    global_settings_are_kept_across_a_restart,
    framing_headers_in_a_stub_are_refused,
    an_interim_status_cannot_end_a_mock_response,
    stored_stubs_with_framing_headers_are_framed_by_the_server,
    a_204_or_304_stub_sends_no_body_and_no_length,
    templates_in_json_bodies_are_escaped_for_json,
    journal_redacts_credentials_unless_configured,
    admin_bodies_are_read_as_documented,
);

// In tests/mocks/proxy.rs.
use proxy::{
    http2_targets_are_reached_over_http2, https_targets_are_verified_against_the_configured_ca,
    proxied_answers_pass_through_unchanged, proxy_stub_fields_are_checked,
    proxy_stubs_forward_the_request_and_its_answer, proxy_targets_are_templated_per_request,
    proxy_targets_must_be_allowed, unreachable_and_silent_targets_are_502_and_504,
};
// In tests/mocks/live.rs.
use live::journal_events_stream_the_journal_as_it_grows;
on_both_backends!(journal_events_stream_the_journal_as_it_grows);

// In tests/mocks/folder.rs.
use folder::{
    a_folder_round_trips_through_export_and_apply, mocks_record_writes_a_folder_a_server_loads,
};
on_both_backends!(
    a_folder_round_trips_through_export_and_apply,
    mocks_record_writes_a_folder_a_server_loads,
);

// In tests/mocks/oas.rs.
use oas::{
    a_document_loaded_through_one_process_is_served_by_all,
    a_large_3_1_document_answers_every_operation, documents_that_cannot_be_served_are_refused,
    examples_are_chosen_with_prefer_and_others_generated,
    explicit_stubs_override_and_documents_are_replaced_and_removed,
    petstore_answers_every_operation, requests_that_do_not_conform_are_refused_and_journaled,
};
on_both_backends!(
    petstore_answers_every_operation,
    a_large_3_1_document_answers_every_operation,
    requests_that_do_not_conform_are_refused_and_journaled,
    examples_are_chosen_with_prefer_and_others_generated,
    explicit_stubs_override_and_documents_are_replaced_and_removed,
    documents_that_cannot_be_served_are_refused,
    a_document_loaded_through_one_process_is_served_by_all,
);

// In tests/mocks/recording.rs.
use recording::{
    a_recording_plays_back_without_the_real_service, a_recording_spans_every_process_on_postgres,
    a_snapshot_records_what_proxy_stubs_answered, recording_specs_are_checked,
};
on_both_backends!(
    a_recording_plays_back_without_the_real_service,
    a_snapshot_records_what_proxy_stubs_answered,
    recording_specs_are_checked,
    a_recording_spans_every_process_on_postgres,
);
on_both_backends!(
    proxy_stubs_forward_the_request_and_its_answer,
    proxied_answers_pass_through_unchanged,
    proxy_targets_are_templated_per_request,
    proxy_targets_must_be_allowed,
    unreachable_and_silent_targets_are_502_and_504,
    proxy_stub_fields_are_checked,
    https_targets_are_verified_against_the_configured_ca,
    http2_targets_are_reached_over_http2,
);

// ---- helpers -------------------------------------------------------------------

async fn send_json(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: &Value,
) -> (u16, Value) {
    let response = app
        .client
        .request(method, app.url(path))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// `GET path`, answered in JSON: (status, body).
async fn get_json(app: &TestApp, path: &str) -> (u16, Value) {
    send_json(app, reqwest::Method::GET, path, &Value::Null).await
}

async fn post_json(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    send_json(app, reqwest::Method::POST, path, body).await
}

async fn put_json(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    send_json(app, reqwest::Method::PUT, path, body).await
}

async fn patch_json(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    send_json(app, reqwest::Method::PATCH, path, body).await
}

async fn delete_json(app: &TestApp, path: &str) -> (u16, Value) {
    send_json(app, reqwest::Method::DELETE, path, &Value::Null).await
}

/// `POST /endpoints` (the original API) for `verb path` answering `response`.
async fn create_endpoint(app: &TestApp, verb: &str, path: &str, response: Value) -> (u16, Value) {
    post_json(app, "/endpoints", &endpoint(verb, path, response)).await
}

async fn stub(app: &TestApp, mapping: Value) -> Value {
    let (status, body) = post_json(app, "/__admin/mappings", &mapping).await;
    assert_eq!(status, 201, "{body}");
    body
}

/// A request in the field table.
#[derive(Clone)]
struct Req {
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Option<String>,
}

fn get(path: &str) -> Req {
    Req {
        method: "GET",
        path: path.to_owned(),
        headers: Vec::new(),
        body: None,
    }
}

impl Req {
    fn method(mut self, method: &'static str) -> Self {
        self.method = method;
        self
    }
    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }
    fn body(mut self, body: &str) -> Self {
        self.method = if self.method == "GET" {
            "POST"
        } else {
            self.method
        };
        self.body = Some(body.to_owned());
        self
    }
}

async fn call(app: &TestApp, req: &Req) -> (u16, String) {
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).expect("method");
    let mut builder = app.client.request(method, app.url(&req.path));
    for (name, value) in &req.headers {
        builder = builder.header(*name, value);
    }
    if let Some(body) = &req.body {
        builder = builder.body(body.clone());
    }
    let response = builder.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

fn endpoint(verb: &str, path: &str, response: Value) -> Value {
    json!({"data": {"type": "endpoints", "attributes": {"verb": verb, "path": path, "response": response}}})
}

/// A query string of these pairs, encoded.
fn query(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

// ---- the original /endpoints contract ---------------------------------------------

async fn original_sequence_create_list_call_patch_delete(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // Empty to begin with.
    let (status, body) = get_json(&app, "/endpoints").await;
    assert_eq!((status, body), (200, json!({"data": []})));

    // Create.
    let (status, created) = create_endpoint(
        &app,
        "GET",
        "/test",
        json!({"code": 200, "headers": {"X-Mock": "yes"}, "body": "hello"}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let data = &created["data"];
    assert_eq!(data["type"], "endpoints");
    let id = data["id"].as_str().expect("id").to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(
        data["attributes"],
        json!({"verb": "GET", "path": "/test", "response": {"code": 200, "headers": {"X-Mock": "yes"}, "body": "hello"}})
    );

    // List.
    let (_, listed) = get_json(&app, "/endpoints").await;
    assert_eq!(listed, json!({"data": [data]}));

    // Call it at its own verb and path.
    let response = app.get("/test").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-mock"], "yes");
    assert_eq!(response.text().await.unwrap(), "hello");

    // A JSON body is sent as JSON; headers and body may be left out.
    let (status, _) = create_endpoint(
        &app,
        "POST",
        "/json",
        json!({"code": 201, "body": {"ok": true, "items": [1, 2]}}),
    )
    .await;
    assert_eq!(status, 201);
    let response = app.client.post(app.url("/json")).send().await.unwrap();
    assert_eq!(response.status(), 201);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"ok": true, "items": [1, 2]})
    );
    let (status, bare) = create_endpoint(&app, "DELETE", "/bare", json!({"code": 204})).await;
    assert_eq!(status, 201);
    assert_eq!(
        bare["data"]["attributes"]["response"],
        json!({"code": 204, "headers": {}, "body": ""})
    );
    assert_eq!(
        app.client
            .delete(app.url("/bare"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );

    // Nested paths.
    let (status, _) = create_endpoint(
        &app,
        "PUT",
        "/api/v2/users/42/settings",
        json!({"code": 200, "body": "nested"}),
    )
    .await;
    assert_eq!(status, 201);
    let response = app
        .client
        .put(app.url("/api/v2/users/42/settings"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "nested");
    assert_eq!(app.get("/api/v2/users/42").await.status(), 404);

    // Patch with every attribute (the original's way) ...
    let (status, patched) = patch_json(
        &app,
        &format!("/endpoints/{id}"),
        &endpoint(
            "GET",
            "/test",
            json!({"code": 418, "headers": {"X-Mock": "patched"}, "body": "teapot"}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["data"]["id"], id);
    let response = app.get("/test").await;
    assert_eq!(response.status(), 418);
    assert_eq!(response.headers()["x-mock"], "patched");
    assert_eq!(response.text().await.unwrap(), "teapot");

    // ... or only what changes (echobase's addition).
    let (status, patched) = patch_json(
        &app,
        &format!("/endpoints/{id}"),
        &json!({"data": {"type": "endpoints", "attributes": {"response": {"code": 202}}}}),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        patched["data"]["attributes"],
        json!({"verb": "GET", "path": "/test", "response": {"code": 202, "headers": {"X-Mock": "patched"}, "body": "teapot"}})
    );
    assert_eq!(app.get("/test").await.status(), 202);

    // Delete.
    let response = app
        .client
        .delete(app.url(&format!("/endpoints/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.text().await.unwrap(), "");
    let response = app.get("/test").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "Endpoint GET test not found"
    );
    let (_, listed) = get_json(&app, "/endpoints").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 3);
    app.stop().await;
}

async fn original_validation_messages_and_unknown_ids(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let cases = [
        (
            json!({"data": {"attributes": {"path": "/x", "response": {"code": 200}}}}),
            "Incomplete input",
        ),
        (
            json!({"data": {"attributes": {"verb": "GET", "response": {"code": 200}}}}),
            "Incomplete input",
        ),
        (
            json!({"data": {"attributes": {"verb": "GET", "path": "/x"}}}),
            "Incomplete input",
        ),
        (
            json!({"data": {"attributes": {"verb": "GET", "path": "/x", "response": {}}}}),
            "Incomplete input",
        ),
        (json!({}), "Incomplete input"),
        (
            endpoint("FETCH", "/x", json!({"code": 200})),
            "Invalid HTTP verb",
        ),
        (
            endpoint("get", "/x", json!({"code": 200})),
            "Invalid HTTP verb",
        ),
        (
            endpoint("GET", "/x", json!({"code": "200"})),
            "Invalid response code",
        ),
        (
            endpoint("GET", "/x", json!({"body": "no code"})),
            "Invalid response code",
        ),
        (
            endpoint("GET", "/x", json!({"code": 200.5})),
            "Invalid response code",
        ),
        (
            endpoint("GET", "/x", json!({"code": 200, "headers": ["X"]})),
            "Headers must be a dictionary",
        ),
        (
            endpoint("GET", "/x", json!({"code": 200, "headers": "X: y"})),
            "Headers must be a dictionary",
        ),
    ];
    for (body, message) in cases {
        let (status, got) = post_json(&app, "/endpoints", &body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(got, json!({"error": message}), "{body}");
    }
    // Not JSON at all, and a path echobase serves itself: clear 400s too.
    let response = app
        .client
        .post(app.url("/endpoints"))
        .body("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.json::<Value>().await.unwrap()["error"].is_string());
    for reserved in [
        "/healthz",
        "/endpoints/x",
        "/v1/messages",
        "/__admin/mappings",
        "/",
    ] {
        let (status, got) = create_endpoint(&app, "GET", reserved, json!({"code": 200})).await;
        assert_eq!(status, 400, "{reserved}");
        assert!(got["error"].as_str().unwrap().contains("echobase"), "{got}");
    }
    // Unknown ids.
    let missing = uuid::Uuid::new_v4();
    let (status, got) = patch_json(
        &app,
        &format!("/endpoints/{missing}"),
        &endpoint("GET", "/x", json!({"code": 200})),
    )
    .await;
    assert_eq!(
        (status, got),
        (
            404,
            json!({"error": format!("Endpoint {missing} not found")})
        )
    );
    let response = app
        .client
        .delete(app.url(&format!("/endpoints/{missing}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"error": format!("Endpoint {missing} not found")})
    );
    // A failed PATCH changes nothing.
    let (_, created) =
        create_endpoint(&app, "GET", "/keep", json!({"code": 200, "body": "kept"})).await;
    let id = created["data"]["id"].as_str().unwrap();
    let (status, got) = patch_json(
        &app,
        &format!("/endpoints/{id}"),
        &json!({"data": {"attributes": {"verb": "NOPE"}}}),
    )
    .await;
    assert_eq!((status, got), (400, json!({"error": "Invalid HTTP verb"})));
    assert_eq!(app.get("/keep").await.text().await.unwrap(), "kept");
    app.stop().await;
}

async fn unmatched_request_is_problem_404_with_legacy_error_and_near_misses(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = app.get("/nothing/here?x=1").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "Endpoint GET nothing/here not found");
    assert_eq!(body["type"], "urn:echobase:problem:not-found");
    assert_eq!(body["status"], 404);
    assert!(body["detail"].as_str().unwrap().contains("/nothing/here"));
    assert_eq!(body["nearMisses"], json!([]));

    let (_, created) = create_endpoint(&app, "POST", "/orders", json!({"code": 201})).await;
    let response = app.get("/orders").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "Endpoint GET orders not found");
    let nearest = &body["nearMisses"][0];
    assert_eq!(nearest["id"], created["data"]["id"]);
    assert!(
        nearest["reasons"][0].as_str().unwrap().contains("method"),
        "{nearest}"
    );
    assert_eq!(
        nearest["reasons"].as_array().unwrap().len(),
        1,
        "only the method differs"
    );
    app.stop().await;
}

async fn endpoints_survive_a_restart(backend: Backend) {
    let Some(first) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, created) = create_endpoint(
        &first,
        "GET",
        "/persisted",
        json!({"code": 200, "body": "still here"}),
    )
    .await;
    stub(
        &first,
        json!({"request": {"method": "GET", "urlPathPattern": "/wm/.*"}, "response": {"status": 200, "body": "wiremock"}}),
    )
    .await;

    let second = first.restart().await;
    let (_, listed) = get_json(&second, "/endpoints").await;
    assert_eq!(listed["data"], json!([created["data"]]));
    let response = second.get("/persisted").await;
    assert_eq!(response.text().await.unwrap(), "still here");
    let response = second.get("/wm/anything").await;
    assert_eq!(response.text().await.unwrap(), "wiremock");
    second.stop().await;
}

// ---- WireMock request matching ---------------------------------------------------

async fn every_wiremock_request_field_matches_and_refuses(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let cases: Vec<(&str, Value, Vec<Req>, Vec<Req>)> = vec![
        (
            "method",
            json!({"method": "GET", "urlPath": "/m"}),
            vec![get("/m")],
            vec![get("/m").method("POST")],
        ),
        (
            "method ANY",
            json!({"method": "ANY", "urlPath": "/any"}),
            vec![
                get("/any"),
                get("/any").method("PATCH"),
                get("/any").method("DELETE"),
            ],
            vec![get("/any/x")],
        ),
        (
            "url",
            json!({"url": "/u?x=1"}),
            vec![get("/u?x=1")],
            vec![get("/u?x=2"), get("/u")],
        ),
        (
            "urlPath",
            json!({"urlPath": "/p"}),
            vec![get("/p"), get("/p?x=anything")],
            vec![get("/p/q")],
        ),
        (
            "urlPattern",
            json!({"urlPattern": "/pat/[0-9]+\\?q=.*"}),
            vec![get("/pat/12?q=a")],
            vec![get("/pat/ab?q=a"), get("/pat/12")],
        ),
        (
            "urlPathPattern",
            json!({"urlPathPattern": "/pp/[a-z]+"}),
            vec![get("/pp/abc"), get("/pp/abc?z=1")],
            vec![get("/pp/123")],
        ),
        (
            "urlPathTemplate + pathParameters",
            json!({"urlPathTemplate": "/contacts/{id}/addresses/{addressId}", "pathParameters": {"id": {"equalTo": "12"}}}),
            vec![
                get("/contacts/12/addresses/9"),
                get("/contacts/12/addresses/x"),
            ],
            vec![
                get("/contacts/13/addresses/9"),
                get("/contacts/12/addresses"),
            ],
        ),
        (
            "queryParameters equalTo + absent",
            json!({"urlPath": "/qp", "queryParameters": {"q": {"equalTo": "a"}, "z": {"absent": true}}}),
            vec![get("/qp?q=a")],
            vec![get("/qp?q=b"), get("/qp?q=a&z=1"), get("/qp")],
        ),
        (
            "headers equalTo caseInsensitive",
            json!({"urlPath": "/h1", "headers": {"X-Token": {"equalTo": "abc", "caseInsensitive": true}}}),
            vec![get("/h1").header("x-token", "ABC")],
            vec![get("/h1").header("x-token", "abd"), get("/h1")],
        ),
        (
            "headers equalTo is case-sensitive by default",
            json!({"urlPath": "/h1b", "headers": {"X-Token": {"equalTo": "abc"}}}),
            vec![get("/h1b").header("X-Token", "abc")],
            vec![get("/h1b").header("X-Token", "ABC")],
        ),
        (
            "headers contains",
            json!({"urlPath": "/h2", "headers": {"Accept": {"contains": "json"}}}),
            vec![get("/h2").header("accept", "application/json")],
            vec![get("/h2").header("accept", "text/html")],
        ),
        (
            "headers doesNotContain",
            json!({"urlPath": "/h3", "headers": {"X-Mode": {"doesNotContain": "test"}}}),
            vec![get("/h3").header("x-mode", "prod")],
            vec![get("/h3").header("x-mode", "testing")],
        ),
        (
            "headers matches",
            json!({"urlPath": "/h4", "headers": {"X-Id": {"matches": "[0-9]{3}"}}}),
            vec![get("/h4").header("x-id", "123")],
            vec![
                get("/h4").header("x-id", "12a"),
                get("/h4").header("x-id", "1234"),
            ],
        ),
        (
            "headers doesNotMatch",
            json!({"urlPath": "/h5", "headers": {"X-Id": {"doesNotMatch": "[0-9]+"}}}),
            vec![get("/h5").header("x-id", "abc")],
            vec![get("/h5").header("x-id", "42")],
        ),
        (
            "headers absent",
            json!({"urlPath": "/h6", "headers": {"Authorization": {"absent": true}}}),
            vec![get("/h6")],
            vec![get("/h6").header("authorization", "Bearer x")],
        ),
        (
            "cookies",
            json!({"urlPath": "/c", "cookies": {"session": {"equalTo": "s1"}}}),
            vec![get("/c").header("cookie", "a=b; session=s1")],
            vec![get("/c").header("cookie", "session=s2"), get("/c")],
        ),
        (
            "bodyPatterns equalTo",
            json!({"urlPath": "/b1", "bodyPatterns": [{"equalTo": "hello"}]}),
            vec![get("/b1").body("hello")],
            vec![get("/b1").body("hello!")],
        ),
        (
            "bodyPatterns contains",
            json!({"urlPath": "/b2", "bodyPatterns": [{"contains": "needle"}]}),
            vec![get("/b2").body("hay needle hay")],
            vec![get("/b2").body("hay")],
        ),
        (
            "bodyPatterns equalToJson ignoreArrayOrder",
            json!({"urlPath": "/b3", "bodyPatterns": [{"equalToJson": {"a": 1, "b": [1, 2]}, "ignoreArrayOrder": true}]}),
            vec![get("/b3").body(r#"{"b": [2, 1], "a": 1}"#)],
            vec![
                get("/b3").body(r#"{"a": 1, "b": [1, 3]}"#),
                get("/b3").body("not json"),
            ],
        ),
        (
            "bodyPatterns equalToJson ignoreExtraElements",
            json!({"urlPath": "/b4", "bodyPatterns": [{"equalToJson": "{\"a\": 1}", "ignoreExtraElements": true}]}),
            vec![get("/b4").body(r#"{"a": 1, "c": 3}"#)],
            vec![get("/b4").body(r#"{"a": 2, "c": 3}"#)],
        ),
        (
            "bodyPatterns equalToJson strict",
            json!({"urlPath": "/b5", "bodyPatterns": [{"equalToJson": {"a": [1, 2]}}]}),
            vec![get("/b5").body(r#"{"a":[1,2]}"#)],
            vec![
                get("/b5").body(r#"{"a": [2, 1]}"#),
                get("/b5").body(r#"{"a": [1, 2], "b": 0}"#),
            ],
        ),
        (
            "bodyPatterns matchesJsonPath",
            json!({"urlPath": "/b6", "bodyPatterns": [{"matchesJsonPath": "$.user.name"}]}),
            vec![get("/b6").body(r#"{"user": {"name": "x"}}"#)],
            vec![get("/b6").body(r#"{"user": {}}"#)],
        ),
        (
            "bodyPatterns matchesJsonPath with a matcher",
            json!({"urlPath": "/b7", "bodyPatterns": [{"matchesJsonPath": {"expression": "$.age", "equalTo": "42"}}]}),
            vec![get("/b7").body(r#"{"age": 42}"#)],
            vec![get("/b7").body(r#"{"age": 41}"#)],
        ),
        (
            "bodyPatterns matches / doesNotMatch",
            json!({"urlPath": "/b8", "bodyPatterns": [{"matches": "id=[0-9]+"}, {"doesNotMatch": "id=0+"}]}),
            vec![get("/b8").body("id=12")],
            vec![get("/b8").body("id=00"), get("/b8").body("id=x")],
        ),
        (
            "bodyPatterns doesNotContain",
            json!({"urlPath": "/b9", "bodyPatterns": [{"doesNotContain": "secret"}]}),
            vec![get("/b9").body("public")],
            vec![get("/b9").body("top secret")],
        ),
        (
            "bodyPatterns matchesJsonPath filter (Jayway's parenthesised form)",
            json!({"urlPath": "/b10", "bodyPatterns": [{"matchesJsonPath": "$.items[?(@.qty > 2)]"}]}),
            vec![get("/b10").body(r#"{"items": [{"qty": 1}, {"qty": 5}]}"#)],
            vec![get("/b10").body(r#"{"items": [{"qty": 1}]}"#)],
        ),
        (
            "bodyPatterns matchesJsonPath recursive descent with a matcher",
            json!({"urlPath": "/b11", "bodyPatterns": [{"matchesJsonPath": {"expression": "$..sku", "equalTo": "A-1"}}]}),
            vec![get("/b11").body(r#"{"order": {"lines": [{"sku": "B-2"}, {"sku": "A-1"}]}}"#)],
            vec![get("/b11").body(r#"{"order": {"lines": [{"sku": "B-2"}]}}"#)],
        ),
        (
            "bodyPatterns binaryEqualTo",
            json!({"urlPath": "/b12", "bodyPatterns": [{"binaryEqualTo": "aGk="}]}),
            vec![get("/b12").body("hi")],
            vec![get("/b12").body("hi!")],
        ),
        (
            "formParameters",
            json!({"urlPath": "/form", "formParameters": {"tags": {"hasExactly": [{"equalTo": "a"}, {"equalTo": "b"}]}, "name": {"equalTo": "Ada Lovelace"}}}),
            vec![
                get("/form")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("name=Ada+Lovelace&tags=b&tags=a"),
            ],
            vec![
                get("/form")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("name=Ada&tags=a&tags=b"),
                // Not a form: its fields are not read.
                get("/form")
                    .header("content-type", "text/plain")
                    .body("name=Ada+Lovelace&tags=b&tags=a"),
            ],
        ),
        (
            "scheme, host, port and clientIp",
            json!({"urlPath": "/origin", "scheme": "http", "host": {"equalTo": "mocks.example"}, "port": 8443, "clientIp": {"equalTo": "127.0.0.1"}}),
            vec![get("/origin").header("host", "mocks.example:8443")],
            vec![
                get("/origin").header("host", "mocks.example:8080"),
                get("/origin").header("host", "other.example:8443"),
            ],
        ),
        (
            "multipartPatterns",
            json!({"urlPath": "/upload", "multipartPatterns": [
                {"matchingType": "ANY", "name": "file", "bodyPatterns": [{"contains": "hello"}]},
                {"matchingType": "ALL", "headers": {"Content-Disposition": {"contains": "form-data"}}}]}),
            vec![get("/upload").header("content-type", "multipart/form-data; boundary=b").body(
                "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello there\r\n--b--\r\n",
            )],
            vec![
                get("/upload").header("content-type", "multipart/form-data; boundary=b").body(
                    "--b\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nhello\r\n--b--\r\n",
                ),
                get("/upload").header("content-type", "text/plain").body("hello"),
            ],
        ),
        (
            "not",
            json!({"urlPath": "/not", "headers": {"X-Env": {"not": {"equalTo": "prod"}}}}),
            vec![get("/not").header("x-env", "test")],
            // As on WireMock, only `absent` matches a header that is not there.
            vec![get("/not").header("x-env", "prod"), get("/not")],
        ),
        (
            "hasExactly",
            json!({"urlPath": "/exactly", "queryParameters": {"m": {"hasExactly": [{"equalTo": "a"}, {"equalTo": "b"}]}}}),
            vec![get("/exactly?m=b&m=a")],
            vec![get("/exactly?m=a"), get("/exactly?m=a&m=b&m=c")],
        ),
        (
            "includes",
            json!({"urlPath": "/includes", "queryParameters": {"n": {"includes": [{"equalTo": "x"}]}}}),
            vec![get("/includes?n=y&n=x")],
            vec![get("/includes?n=y"), get("/includes")],
        ),
        (
            "before / after (date-time)",
            json!({"urlPath": "/when", "headers": {
                "X-Before": {"before": "2030-01-01T00:00:00Z"},
                "X-After": {"after": "now -1 days", "actualFormat": "dd/MM/yyyy HH:mm:ss"}}}),
            vec![
                get("/when")
                    .header("x-before", "2029-12-31T23:59:59Z")
                    .header("x-after", "01/01/2999 00:00:00"),
            ],
            vec![
                get("/when")
                    .header("x-before", "2030-01-01T00:00:01Z")
                    .header("x-after", "01/01/2999 00:00:00"),
                get("/when")
                    .header("x-before", "2029-12-31")
                    .header("x-after", "01/01/2000 00:00:00"),
                get("/when")
                    .header("x-before", "not a date")
                    .header("x-after", "01/01/2999 00:00:00"),
            ],
        ),
        (
            "and",
            json!({"urlPath": "/and", "bodyPatterns": [{"and": [{"contains": "a"}, {"contains": "b"}]}]}),
            vec![get("/and").body("ab")],
            vec![get("/and").body("a")],
        ),
        (
            "or",
            json!({"urlPath": "/or", "headers": {"X-Env": {"or": [{"equalTo": "x"}, {"equalTo": "y"}]}}}),
            vec![get("/or").header("x-env", "y")],
            vec![get("/or").header("x-env", "z")],
        ),
    ];
    for (name, request, matching, refusing) in cases {
        assert_eq!(delete_json(&app, "/__admin/mappings").await.0, 200);
        stub(
            &app,
            json!({"name": name, "request": request, "response": {"status": 200, "body": "hit"}}),
        )
        .await;
        for req in &matching {
            assert_eq!(
                call(&app, req).await,
                (200, "hit".to_owned()),
                "{name}: {} {}",
                req.method,
                req.path
            );
        }
        for req in &refusing {
            let (status, body) = call(&app, req).await;
            assert_eq!(
                status, 404,
                "{name}: {} {} should not match",
                req.method, req.path
            );
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["nearMisses"][0]["name"], name, "{body}");
        }
    }
    app.stop().await;
}

/// `equalToXml`, `matchesXPath` and `matchesJsonSchema`: on the body and on
/// a header, with their options, each with a request that matches and one
/// that does not (and is then the nearest miss); refused when they cannot work.
async fn xml_and_json_schema_matchers_match_and_refuse(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let order = "<order><id>7</id><total>12</total></order>";
    let cases: Vec<(&str, Value, Vec<Req>, Vec<Req>)> = vec![
        (
            "equalToXml",
            json!({"urlPath": "/x1", "bodyPatterns": [{"equalToXml": order}]}),
            vec![get("/x1").body("<order>\n  <total>12</total>\n  <id>7</id>\n</order>")],
            vec![
                get("/x1").body("<order><id>8</id><total>12</total></order>"),
                get("/x1").body("not xml"),
            ],
        ),
        (
            "equalToXml with placeholders and exemptions",
            json!({"urlPath": "/x2", "bodyPatterns": [{
                "equalToXml": "<n:order xmlns:n=\"urn:a\"><id>#{xmlunit.isNumber}</id><at>#{xmlunit.ignore}</at></n:order>",
                "enablePlaceholders": true,
                "placeholderOpeningDelimiterRegex": "#\\{",
                "placeholderClosingDelimiterRegex": "\\}",
                "exemptedComparisons": ["NAMESPACE_URI"],
                "ignoreOrderOfSameNode": true}]}),
            vec![get("/x2").body("<m:order xmlns:m=\"urn:b\"><at>now</at><id>42</id></m:order>")],
            vec![get("/x2").body("<order><id>x</id><at/></order>")],
        ),
        (
            "equalToXml with namespaceAwareness NONE and LEGACY",
            json!({"urlPath": "/x2b", "bodyPatterns": [
                {"equalToXml": "<a:r xmlns:a=\"urn:one\"><a:i>1</a:i></a:r>", "namespaceAwareness": "NONE"},
                {"equalToXml": "<r><i>1</i></r>", "namespaceAwareness": "LEGACY"}]}),
            vec![get("/x2b").body("<a:r xmlns:a=\"urn:one\"><a:i>1</a:i></a:r>")],
            vec![get("/x2b").body("<b:r xmlns:b=\"urn:one\"><b:i>1</b:i></b:r>")],
        ),
        (
            "matchesXPath",
            json!({"urlPath": "/x3", "bodyPatterns": [{"matchesXPath": "/order/item[@id='7']"}]}),
            vec![get("/x3").body("<order><item id=\"7\"/></order>")],
            vec![get("/x3").body("<order><item id=\"8\"/></order>")],
        ),
        (
            "matchesXPath with a matcher and namespaces",
            json!({"urlPath": "/x4", "bodyPatterns": [{
                "matchesXPath": {"expression": "/s:order/s:total/text()", "matches": "1[0-9]"},
                "xPathNamespaces": {"s": "urn:shop"}}]}),
            vec![get("/x4").body("<order xmlns=\"urn:shop\"><total>12</total></order>")],
            vec![
                get("/x4").body("<order xmlns=\"urn:shop\"><total>22</total></order>"),
                get("/x4").body("<order><total>12</total></order>"),
            ],
        ),
        (
            "matchesXPath on a header",
            json!({"urlPath": "/x5", "headers": {"X-Doc": {"matchesXPath": "/a[@v='1']"}}}),
            vec![get("/x5").header("x-doc", "<a v=\"1\"/>")],
            vec![get("/x5").header("x-doc", "<a v=\"2\"/>"), get("/x5")],
        ),
        (
            "matchesJsonSchema",
            json!({"urlPath": "/x6", "bodyPatterns": [{"matchesJsonSchema":
                "{\"type\":\"object\",\"required\":[\"id\"],\"properties\":{\"id\":{\"type\":\"integer\"}}}"}]}),
            vec![get("/x6").body(r#"{"id": 3}"#)],
            vec![get("/x6").body(r#"{"id": "x"}"#), get("/x6").body("{}")],
        ),
        (
            "matchesJsonSchema on a query parameter, draft 4",
            json!({"urlPath": "/x7", "queryParameters": {"n": {
                "matchesJsonSchema": {"type": "integer", "maximum": 5, "exclusiveMaximum": true},
                "schemaVersion": "V4"}}}),
            vec![get("/x7?n=4")],
            vec![get("/x7?n=5"), get("/x7?n=x")],
        ),
    ];
    for (name, request, matching, refusing) in cases {
        assert_eq!(delete_json(&app, "/__admin/mappings").await.0, 200);
        let created = stub(
            &app,
            json!({"name": name, "request": request, "response": {"status": 200, "body": "hit"}}),
        )
        .await;
        // Shown back as given, options included.
        assert_eq!(created["request"], request, "{name}");
        for req in &matching {
            assert_eq!(
                call(&app, req).await,
                (200, "hit".to_owned()),
                "{name}: {} {}",
                req.method,
                req.path
            );
        }
        for req in &refusing {
            let (status, body) = call(&app, req).await;
            assert_eq!(
                status, 404,
                "{name}: {} {} should not match",
                req.method, req.path
            );
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["nearMisses"][0]["name"], name, "{body}");
        }
    }
    // A billion laughs or an external entity in a request is no match, and
    // the server answers at once.
    assert_eq!(delete_json(&app, "/__admin/mappings").await.0, 200);
    stub(
        &app,
        json!({"request": {"urlPath": "/lol", "bodyPatterns": [{"matchesXPath": "/lolz"}]},
        "response": {"body": "hit"}}),
    )
    .await;
    let mut entities = String::from("<!ENTITY lol \"lol\">");
    for n in 1..10 {
        let previous = if n == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", n - 1)
        };
        entities.push_str(&format!(
            "<!ENTITY lol{n} \"{}\">",
            format!("&{previous};").repeat(10)
        ));
    }
    let laughs = format!("<?xml version=\"1.0\"?><!DOCTYPE lolz [{entities}]><lolz>&lol9;</lolz>");
    let external = "<!DOCTYPE lolz [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><lolz>&x;</lolz>";
    let started = Instant::now();
    assert_eq!(call(&app, &get("/lol").body(&laughs)).await.0, 404);
    assert_eq!(call(&app, &get("/lol").body(external)).await.0, 404);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(call(&app, &get("/lol").body("<lolz/>")).await.0, 200);
    // What could never match is refused, naming the field.
    for (matcher, field) in [
        (
            json!({"equalToXml": "<a>"}),
            "request.bodyPatterns.0.equalToXml",
        ),
        (
            json!({"equalToXml": "<a/>", "exemptedComparisons": ["NOPE"]}),
            "request.bodyPatterns.0.exemptedComparisons.0",
        ),
        (
            json!({"equalToXml": "<a/>", "placeholderOpeningDelimiterRegex": "("}),
            "request.bodyPatterns.0.placeholderOpeningDelimiterRegex",
        ),
        (
            json!({"matchesXPath": "//\\\\&&&"}),
            "request.bodyPatterns.0.matchesXPath",
        ),
        (
            json!({"matchesXPath": {"expression": "/t:a", "equalTo": "x"}}),
            "request.bodyPatterns.0.matchesXPath.expression",
        ),
        (
            json!({"matchesJsonSchema": {"type": 12}}),
            "request.bodyPatterns.0.matchesJsonSchema",
        ),
        (
            json!({"matchesJsonSchema": {"$ref": "http://127.0.0.1:9/schema.json"}}),
            "request.bodyPatterns.0.matchesJsonSchema",
        ),
        (
            json!({"matchesJsonSchema": {}, "schemaVersion": "V5"}),
            "request.bodyPatterns.0.schemaVersion",
        ),
    ] {
        let mapping = json!({"request": {"urlPath": "/bad", "bodyPatterns": [matcher]}});
        let (status, problem) = post_json(&app, "/__admin/mappings", &mapping).await;
        assert_eq!(status, 422, "{matcher}: {problem}");
        assert_eq!(admin_field(&problem), field, "{problem}");
    }
    app.stop().await;
}

async fn unsupported_fields_are_422_naming_the_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let cases = [
        (
            json!({"request": {"urlPath": "/a", "customMatcher": {"name": "x"}}}),
            "request.customMatcher",
        ),
        (
            json!({"request": {"urlPath": "/a", "headers": {"X": {"greaterThanNumber": 5}}}}),
            "request.headers.X.greaterThanNumber",
        ),
        (
            json!({"request": {"urlPath": "/a"}, "serveEventListeners": [{"name": "log", "parameters": {}}]}),
            "serveEventListeners.0.name",
        ),
        (
            json!({"request": {"urlPath": "/a"}, "response": {"transformers": ["other"]}}),
            "response.transformers.0",
        ),
        (
            json!({"request": {"urlPath": "/a"}, "response": {"body": "{{noSuchHelper 1 '+' 2}}", "transformers": ["response-template"]}}),
            "response.body",
        ),
        (
            json!({"request": {"urlPath": "/a", "bodyPatterns": [{"matchesJsonPath": "$.x[?(@.y >)]"}]}}),
            "request.bodyPatterns.0.matchesJsonPath",
        ),
        (
            json!({"request": {"urlPath": "/a"}, "response": {"fault": "SOMETHING"}}),
            "response.fault",
        ),
        (
            json!({"request": {"urlPath": "/healthz"}}),
            "request.urlPath",
        ),
        (
            json!({"request": {"urlPath": "/a", "urlPattern": "/b"}}),
            "request",
        ),
    ];
    for (mapping, field) in cases {
        let response = app
            .client
            .post(app.url("/__admin/mappings"))
            .json(&mapping)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{mapping}");
        // WireMock's error document, which its clients parse.
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = response.json().await.unwrap();
        let fields = admin_fields(&body);
        assert!(fields.iter().any(|f| f == field), "{mapping} -> {body}");
    }
    let (_, listed) = get_json(&app, "/__admin/mappings").await;
    assert_eq!(listed["meta"]["total"], 0, "nothing refused was stored");
    app.stop().await;
}

/// The fields a WireMock admin error document names (its JSON pointers, dotted).
fn admin_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["source"]["pointer"].as_str())
                .map(|p| p.trim_start_matches('/').replace('/', "."))
                .collect()
        })
        .unwrap_or_default()
}

/// The first field a WireMock admin error document names.
fn admin_field(body: &Value) -> String {
    admin_fields(body).into_iter().next().unwrap_or_default()
}

async fn priority_then_newest_wins(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let on = |body: &str, priority: Option<i64>| {
        let mut m =
            json!({"request": {"method": "GET", "urlPath": "/p"}, "response": {"body": body}});
        if let Some(p) = priority {
            m["priority"] = json!(p);
        }
        m
    };
    stub(&app, on("high", Some(1))).await;
    stub(&app, on("default-old", None)).await;
    stub(&app, on("default-new", None)).await;
    assert_eq!(
        call(&app, &get("/p")).await.1,
        "high",
        "priority 1 beats newer stubs"
    );
    let (_, listed) = get_json(&app, "/__admin/mappings").await;
    let high = listed["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["priority"] == 1)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.client
        .delete(app.url(&format!("/__admin/mappings/{high}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        call(&app, &get("/p")).await.1,
        "default-new",
        "newest wins a tie"
    );
    // A catch-all at low priority answers what nothing else does.
    stub(&app, json!({"priority": 10, "request": {"method": "ANY"}, "response": {"status": 503, "body": "fallback"}})).await;
    assert_eq!(call(&app, &get("/p")).await.1, "default-new");
    assert_eq!(
        call(&app, &get("/elsewhere")).await,
        (503, "fallback".to_owned())
    );
    app.stop().await;
}

// ---- admin API -------------------------------------------------------------------

async fn admin_mappings_crud_import_and_reset(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let created = stub(&app, json!({"request": {"method": "GET", "url": "/crud"}, "response": {"status": 200, "body": "v1"}})).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["uuid"], id);
    let (status, fetched) = get_json(&app, &format!("/__admin/mappings/{id}")).await;
    assert_eq!(
        (status, fetched["request"]["url"].clone()),
        (200, json!("/crud"))
    );

    let (status, updated) = put_json(&app, &format!("/__admin/mappings/{id}"), &json!({"request": {"method": "GET", "url": "/crud"}, "response": {"status": 200, "body": "v2"}}))
    .await;
    assert_eq!((status, updated["id"].clone()), (200, json!(id)));
    assert_eq!(call(&app, &get("/crud")).await.1, "v2");
    // The compatible view sees the same stub engine: a url stub is not an endpoint.
    let (_, endpoints) = get_json(&app, "/endpoints").await;
    assert_eq!(endpoints["data"], json!([]));

    let (status, _) = delete_json(&app, &format!("/__admin/mappings/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(call(&app, &get("/crud")).await.0, 404);
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let (status, _) = send_json(
            &app,
            method,
            &format!("/__admin/mappings/{id}"),
            &json!(null),
        )
        .await;
        assert_eq!(status, 404);
    }

    // Import: in one go, with the duplicate policy honoured.
    let fixed = "c0ffee00-0000-4000-8000-000000000001";
    let import = json!({"mappings": [
        {"id": fixed, "request": {"urlPath": "/i1"}, "response": {"body": "one"}},
        {"request": {"urlPath": "/i2"}, "response": {"body": "two"}},
        {"request": {"urlPath": "/i3"}, "response": {"body": "three"}},
    ]});
    assert_eq!(
        post_json(&app, "/__admin/mappings/import", &import).await.0,
        200
    );
    let (_, listed) = get_json(&app, "/__admin/mappings").await;
    assert_eq!(listed["meta"]["total"], 3);
    let ignore = json!({"mappings": [{"id": fixed, "request": {"urlPath": "/i1"}, "response": {"body": "changed"}}],
        "importOptions": {"duplicatePolicy": "IGNORE"}});
    post_json(&app, "/__admin/mappings/import", &ignore).await;
    assert_eq!(call(&app, &get("/i1")).await.1, "one");
    let overwrite = json!({"mappings": [{"id": fixed, "request": {"urlPath": "/i1"}, "response": {"body": "changed"}}],
        "importOptions": {"duplicatePolicy": "OVERWRITE", "deleteAllNotInImport": true}});
    post_json(&app, "/__admin/mappings/import", &overwrite).await;
    assert_eq!(call(&app, &get("/i1")).await.1, "changed");
    assert_eq!(call(&app, &get("/i2")).await.0, 404);
    // An invalid mapping in an import names its index and imports nothing.
    let bad = json!({"mappings": [{"request": {"urlPath": "/ok"}}, {"request": {"urlPath": "/x", "host": "h"}}]});
    let (status, problem) = post_json(&app, "/__admin/mappings/import", &bad).await;
    assert_eq!(status, 422);
    assert_eq!(admin_field(&problem), "mappings.1.request.host");
    assert_eq!(call(&app, &get("/ok")).await.0, 404);

    // Reset: every API stub goes.
    assert_eq!(
        post_json(&app, "/__admin/mappings/reset", &json!(null))
            .await
            .0,
        200
    );
    let (_, listed) = get_json(&app, "/__admin/mappings").await;
    assert_eq!(listed["meta"]["total"], 0);
    assert_eq!(
        post_json(&app, "/__admin/mappings/save", &json!(null))
            .await
            .0,
        200
    );

    let (status, health) = get_json(&app, "/__admin/health").await;
    assert_eq!((status, health["status"].clone()), (200, json!("healthy")));
    // The admin and compatible routes are in the OpenAPI document.
    let (_, spec) = get_json(&app, "/openapi.json").await;
    for path in [
        "/endpoints",
        "/endpoints/{id}",
        "/__admin/mappings",
        "/__admin/requests/count",
    ] {
        assert!(spec["paths"][path].is_object(), "{path} documented");
    }
    app.stop().await;
}

async fn journal_count_find_unmatched_and_near_misses(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    stub(&app, json!({"name": "the a stub", "request": {"method": "GET", "urlPath": "/a"}, "response": {"body": "a"}})).await;
    call(&app, &get("/a?n=1")).await;
    call(&app, &get("/a?n=2").header("x-k", "v")).await;
    call(&app, &get("/a").method("POST").body("payload")).await;
    // Built-in routes are not journaled.
    app.get("/healthz").await;

    let (_, all) = get_json(&app, "/__admin/requests").await;
    assert_eq!(all["meta"]["total"], 3);
    let newest = &all["requests"][0];
    assert_eq!(newest["request"]["method"], "POST");
    assert_eq!(newest["request"]["body"], "payload");
    assert_eq!(newest["wasMatched"], false);
    assert_eq!(all["requests"][1]["wasMatched"], true);
    // Header names as clients send them (WireMock's journal keeps them so).
    assert_eq!(all["requests"][1]["request"]["headers"]["X-K"], "v");

    let (_, count) = post_json(
        &app,
        "/__admin/requests/count",
        &json!({"method": "GET", "urlPath": "/a"}),
    )
    .await;
    assert_eq!(count["count"], 2, "{count}");
    let (_, count) = post_json(
        &app,
        "/__admin/requests/count",
        &json!({"method": "GET", "urlPath": "/a", "queryParameters": {"n": {"equalTo": "2"}}}),
    )
    .await;
    assert_eq!(count["count"], 1, "{count}");
    let (_, found) = post_json(
        &app,
        "/__admin/requests/find",
        &json!({"method": "ANY", "urlPathPattern": "/a"}),
    )
    .await;
    let urls: Vec<&str> = found["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls, ["/a?n=1", "/a?n=2", "/a"]);
    let (status, _) = post_json(
        &app,
        "/__admin/requests/count",
        &json!({"urlPath": "/a", "host": "x"}),
    )
    .await;
    assert_eq!(status, 422);

    let (_, unmatched) = get_json(&app, "/__admin/requests/unmatched").await;
    assert_eq!(unmatched["requests"].as_array().unwrap().len(), 1);
    assert_eq!(unmatched["requests"][0]["method"], "POST");
    let (_, near) = get_json(&app, "/__admin/requests/unmatched/near-misses").await;
    let first = &near["nearMisses"][0];
    assert_eq!(first["stubMapping"]["name"], "the a stub");
    assert_eq!(first["request"]["method"], "POST");
    assert!(first["matchResult"]["distance"].as_f64().unwrap() > 0.0);
    // WireMock's clients refuse a field they do not know: reasons only when asked.
    assert!(first.get("reasons").is_none(), "{first}");
    let (_, near) = get_json(&app, "/__admin/requests/unmatched/near-misses?reasons=true").await;
    let first = &near["nearMisses"][0];
    assert!(first["reasons"][0].as_str().unwrap().contains("method"));
    // What a failed `verify` asks: the journaled requests nearest to a pattern, nearest first.
    let (status, near) = post_json(
        &app,
        "/__admin/near-misses/request-pattern",
        &json!({"method": "POST", "urlPath": "/b"}),
    )
    .await;
    assert_eq!(status, 200, "{near}");
    let nearest = &near["nearMisses"][0];
    // The POST /a is nearer than the two GETs.
    assert_eq!(nearest["request"]["method"], "POST", "{near}");
    assert_eq!(nearest["request"]["url"], "/a", "{near}");
    assert_eq!(
        nearest["requestPattern"],
        json!({"method": "POST", "urlPath": "/b"})
    );
    let distances: Vec<f64> = near["nearMisses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["matchResult"]["distance"].as_f64().unwrap())
        .collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    // Unknown admin paths are WireMock's empty 404 and never reach the journal.
    let (_, before) = get_json(&app, "/__admin/requests").await;
    let response = app.get("/__admin/no-such-thing").await;
    assert_eq!(response.status(), 404);
    assert!(response.bytes().await.unwrap().is_empty());
    let (_, after) = get_json(&app, "/__admin/requests").await;
    assert_eq!(before["meta"]["total"], after["meta"]["total"]);

    assert_eq!(delete_json(&app, "/__admin/requests").await.0, 200);
    let (_, all) = get_json(&app, "/__admin/requests").await;
    assert_eq!(all["meta"]["total"], 0);
    // WireMock 2's route, which python-wiremock still calls, empties it too.
    call(&app, &get("/a")).await;
    assert_eq!(
        post_json(&app, "/__admin/requests/reset", &json!(null))
            .await
            .0,
        200
    );
    let (_, all) = get_json(&app, "/__admin/requests").await;
    assert_eq!(all["meta"]["total"], 0);
    // A full reset clears the journal and the stubs.
    call(&app, &get("/a")).await;
    post_json(&app, "/__admin/reset", &json!(null)).await;
    let (_, all) = get_json(&app, "/__admin/requests").await;
    assert_eq!(all["meta"]["total"], 0);
    assert_eq!(call(&app, &get("/a")).await.0, 404);
    app.stop().await;
}

async fn journal_is_a_ring_of_the_configured_size(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| s.mocks.journal_size = 5).await else {
        return;
    };
    for n in 0..12 {
        call(&app, &get(&format!("/r/{n}"))).await;
    }
    let (_, all) = get_json(&app, "/__admin/requests").await;
    assert_eq!(all["meta"]["total"], 5);
    let urls: Vec<&str> = all["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["request"]["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls, ["/r/11", "/r/10", "/r/9", "/r/8", "/r/7"]);
    app.stop().await;
}

async fn journal_bodies_are_cut_and_budgeted_as_configured(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.mocks.max_journal_body = 8;
        s.mocks.journal_bodies_size = 20;
    })
    .await
    else {
        return;
    };
    call(&app, &get("/short").body("abc")).await;
    // Each long body is cut to 8 bytes: 3 + 8 + 8 fit in 20, and the third
    // long one pushes out the two oldest entries.
    for n in 0..3 {
        call(&app, &get(&format!("/long/{n}")).body("0123456789abcdef")).await;
    }
    let (_, all) = get_json(&app, "/__admin/requests").await;
    let kept: Vec<(&str, &str, bool)> = all["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let request = &r["request"];
            (
                request["url"].as_str().unwrap(),
                request["body"].as_str().unwrap(),
                request["bodyTruncated"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [("/long/2", "01234567", true), ("/long/1", "01234567", true),],
        "mocks.max_journal_body cuts, mocks.journal_bodies_size drops the oldest"
    );
    app.stop().await;
}

// ---- responses ---------------------------------------------------------------------

async fn response_status_headers_and_bodies(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    stub(&app, json!({"request": {"urlPath": "/plain"}, "response": {"status": 418, "statusMessage": "Short and stout",
        "headers": {"X-One": "1", "Set-Cookie": ["a=1", "b=2"]}, "body": "teapot"}})).await;
    let response = app.get("/plain").await;
    assert_eq!(response.status(), 418);
    assert_eq!(response.headers()["x-one"], "1");
    let cookies: Vec<&str> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert_eq!(response.text().await.unwrap(), "teapot");

    stub(
        &app,
        json!({"request": {"urlPath": "/json"}, "response": {"jsonBody": {"a": [1, 2]}}}),
    )
    .await;
    let response = app.get("/json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"a": [1, 2]})
    );

    stub(&app, json!({"request": {"urlPath": "/bin"}, "response": {"base64Body": "AAEC/w==", "headers": {"Content-Type": "application/octet-stream"}}})).await;
    let response = app.get("/bin").await;
    assert_eq!(response.bytes().await.unwrap().as_ref(), &[0u8, 1, 2, 255]);
    app.stop().await;
}

async fn response_delays_dribble_and_faults(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    stub(&app, json!({"request": {"urlPath": "/slow"}, "response": {"body": "late", "fixedDelayMilliseconds": 200}})).await;
    let started = Instant::now();
    assert_eq!(call(&app, &get("/slow")).await.1, "late");
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "waited at least the fixed delay"
    );

    stub(&app, json!({"request": {"urlPath": "/uniform"}, "response": {"body": "u", "delayDistribution": {"type": "uniform", "lower": 50, "upper": 80}}})).await;
    let started = Instant::now();
    assert_eq!(call(&app, &get("/uniform")).await.1, "u");
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "waited at least the lower bound"
    );
    stub(&app, json!({"request": {"urlPath": "/lognormal"}, "response": {"body": "l", "delayDistribution": {"type": "lognormal", "median": 5, "sigma": 0.1, "maxValue": 50}}})).await;
    assert_eq!(call(&app, &get("/lognormal")).await, (200, "l".to_owned()));

    let text = "x".repeat(1000);
    stub(&app, json!({"request": {"urlPath": "/dribble"}, "response": {"body": text, "chunkedDribbleDelay": {"numberOfChunks": 5, "totalDuration": 100}}})).await;
    let started = Instant::now();
    assert_eq!(
        call(&app, &get("/dribble")).await.1,
        text,
        "every byte arrives"
    );
    assert!(started.elapsed() >= Duration::from_millis(100));

    for mapping in fault_stubs() {
        stub(&app, mapping).await;
    }
    for fault in FAULTS {
        let failed = match app
            .client
            .get(app.url(&format!("/fault/{fault}")))
            .send()
            .await
        {
            Err(_) => true,
            Ok(response) => response.bytes().await.is_err(),
        };
        assert!(failed, "{fault}: an HTTP client sees a broken response");
    }
    let addr = app.addr;
    check_faults(|| async move { TcpStream::connect(addr).await.expect("connect") }).await;
    // The server keeps serving after faults.
    assert_eq!(call(&app, &get("/slow")).await.0, 200);
    app.stop().await;
}

const FAULTS: [&str; 4] = [
    "CONNECTION_RESET_BY_PEER",
    "EMPTY_RESPONSE",
    "MALFORMED_RESPONSE_CHUNK",
    "RANDOM_DATA_THEN_CLOSE",
];

/// `/fault/<FAULT>` for each fault, and `/ok` answering `ok`.
fn fault_stubs() -> Vec<Value> {
    let mut mappings: Vec<Value> = FAULTS
        .iter()
        .map(|fault| json!({"request": {"urlPath": format!("/fault/{fault}")}, "response": {"fault": fault, "body": "never"}}))
        .collect();
    mappings.push(json!({"request": {"urlPath": "/ok"}, "response": {"body": "ok"}}));
    mappings
}

/// Each fault as a client sees it on the wire, on a connection that has
/// answered `/ok` first (only the faulted response breaks), while another
/// kept-alive connection goes on working.
async fn check_faults<S, F, Fut>(connect: F)
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    let mut bystander = connect().await;
    assert_eq!(get_on(&mut bystander, "/ok").await.1, "ok");

    let mut faulted = connect().await;
    assert_eq!(get_on(&mut faulted, "/ok").await.1, "ok");
    let (bytes, error) = get_until_closed(&mut faulted, "/fault/CONNECTION_RESET_BY_PEER").await;
    assert_eq!(bytes, b"", "reset: nothing is sent");
    assert_eq!(
        error.map(|e| e.kind()),
        Some(ErrorKind::ConnectionReset),
        "reset: the read fails with a reset"
    );

    let mut faulted = connect().await;
    assert_eq!(get_on(&mut faulted, "/ok").await.1, "ok");
    let (bytes, error) = get_until_closed(&mut faulted, "/fault/EMPTY_RESPONSE").await;
    assert_eq!(bytes, b"", "empty: nothing is sent");
    assert!(error.is_none(), "empty: a clean close, not {error:?}");

    let (bytes, _) =
        get_until_closed(&mut connect().await, "/fault/MALFORMED_RESPONSE_CHUNK").await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 200"), "malformed: {text}");
    let (head, body) = text.split_once("\r\n\r\n").expect("a whole head");
    assert!(
        head.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    let size_line = body.split("\r\n").next().unwrap_or_default();
    assert!(
        usize::from_str_radix(size_line.split(';').next().unwrap_or_default().trim(), 16).is_err(),
        "malformed: the chunk size line `{size_line}` does not parse"
    );

    let (bytes, _) = get_until_closed(&mut connect().await, "/fault/RANDOM_DATA_THEN_CLOSE").await;
    assert!(!bytes.is_empty(), "random: bytes are sent");
    assert!(!bytes.starts_with(b"HTTP/"), "random: not HTTP: {bytes:?}");

    assert_eq!(
        get_on(&mut connect().await, "/ok").await.1,
        "ok",
        "a new connection works"
    );
    assert_eq!(
        get_on(&mut bystander, "/ok").await.1,
        "ok",
        "the kept-alive one too"
    );
}

/// Sends a GET and reads until the server closes the connection: the bytes
/// received, and the error that ended the reading, if one did.
async fn get_until_closed<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    path: &str,
) -> (Vec<u8>, Option<std::io::Error>) {
    send_get(stream, path).await;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("the server closes the connection in time");
        match read {
            Ok(0) => return (received, None),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(error) => return (received, Some(error)),
        }
    }
}

/// Over HTTPS the faults happen inside TLS: a client sees the same HTTP
/// breakage after decryption (the reset under it). The connection layer is
/// the same for both backends, so SQLite is enough.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_over_https_break_the_same_way_inside_tls() {
    let Some(server) = TestApp::spawn_with(Backend::Sqlite, self_signed_https).await else {
        return;
    };
    for mapping in fault_stubs() {
        stub(&server, mapping).await;
    }
    let tls_addr = server.tls_addr.expect("an https listener");
    let certs = server.tls.clone().expect("its certificates");
    let mut roots = rustls::RootCertStore::empty();
    for cert in &certs.current().certified.cert {
        roots.add(cert.clone()).expect("certificate");
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    check_faults(|| {
        let connector = connector.clone();
        async move {
            let tcp = TcpStream::connect(tls_addr).await.expect("connect");
            let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
            connector.connect(name, tcp).await.expect("tls handshake")
        }
    })
    .await;
    server.stop().await;
}

async fn response_templates_render_request_parts(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    stub(&app, json!({
        "request": {"method": "POST", "urlPathTemplate": "/tpl/{id}"},
        "response": {
            "headers": {"X-Echo": "{{request.query.q}}"},
            "body": "{{request.path.[0]}}|{{request.path.id}}|{{request.query.q}}|{{request.headers.X-A}}|{{jsonPath request.body '$.n'}}|{{request.body}}",
            "transformers": ["response-template"]
        }
    })).await;
    let response = app
        .client
        .post(app.url("/tpl/77?q=hey"))
        .header("x-a", "AA")
        .body(r#"{"n":5}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-echo"], "hey");
    assert_eq!(response.text().await.unwrap(), r#"tpl|77|hey|AA|5|{"n":5}"#);

    stub(&app, json!({"request": {"urlPath": "/gen"}, "response": {
        "jsonBody": {"at": "{{now}}", "id": "{{randomValue length=10 type='ALPHANUMERIC'}}", "uuid": "{{randomValue type='UUID'}}"},
        "transformers": ["response-template"]}})).await;
    let body: Value = app.get("/gen").await.json().await.unwrap();
    assert!(body["at"].as_str().unwrap().ends_with('Z'), "{body}");
    assert_eq!(body["id"].as_str().unwrap().len(), 10);
    assert!(uuid::Uuid::parse_str(body["uuid"].as_str().unwrap()).is_ok());
    // Without the transformer the braces are just text.
    stub(
        &app,
        json!({"request": {"urlPath": "/raw"}, "response": {"body": "{{request.path}}"}}),
    )
    .await;
    assert_eq!(call(&app, &get("/raw")).await.1, "{{request.path}}");
    app.stop().await;
}

async fn wiremock_helpers_render_over_http(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // A body sent as JSON, built with blocks and helpers: each placeholder is
    // escaped for where it stands, inside the loop too.
    stub(&app, json!({
        "request": {"method": "POST", "urlPathTemplate": "/hb/{id}"},
        "response": {
            "headers": {"Content-Type": "application/json", "X-Count": "{{size (jsonPath request.body '$.items')}}"},
            "body": "{\"id\": {{request.path.id}}, \"base\": \"{{request.baseUrl}}\", \"scheme\": \"{{request.scheme}}\", \"client\": \"{{request.clientIp}}\", \"env\": \"{{parameters.env}}\",\n \"names\": [{{#each (jsonPath request.body '$.items')}}\"{{upper name}}\"{{#unless @last}}, {{/unless}}{{/each}}],\n \"sum\": {{math (jsonPath request.body '$.items[0].n') '+' 1}}, \"q\": \"{{request.query.q}}\", \"day\": \"{{date (parseDate '2021-01-01T10:00:00Z') offset='1 days' format='yyyy-MM-dd'}}\"}",
            "transformerParameters": {"env": "test"},
            "transformers": ["response-template"]
        }
    })).await;
    for q in ["plain", r#"","admin":true,"x":""#] {
        let response = app
            .client
            .post(app.url(&format!("/hb/7?{}", query(&[("q", q)]))))
            .body(r#"{"items": [{"name": "ann", "n": 41}, {"name": "bo\"b", "n": 1}]}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-count"], "2");
        let text = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(
            body,
            json!({"id": 7, "base": app.url("").trim_end_matches('/'), "scheme": "http",
                   "client": "127.0.0.1", "env": "test", "names": ["ANN", "BO\"B"], "sum": 42,
                   "q": q, "day": "2021-01-02"}),
            "{text}"
        );
    }
    // A template that does not compile, or calls a helper WireMock does not
    // have, is refused naming the field, and where in it.
    for (response, field, says) in [
        (
            json!({"body": "{{#each request.query}}", "transformers": ["response-template"]}),
            "response.body",
            "does not compile",
        ),
        (
            json!({"jsonBody": {"a": ["x", "{{nope 1}}"]}, "transformers": ["response-template"]}),
            "response.jsonBody",
            "unknown helper `nope`",
        ),
        (
            json!({"headers": {"X-A": "\n{{systemValue key='HOME'}}"}, "transformers": ["response-template"]}),
            "response.headers.X-A",
            "environment (line 2, column 1)",
        ),
    ] {
        let (status, body) = post_json(
            &app,
            "/__admin/mappings",
            &json!({"request": {"urlPath": "/bad"}, "response": response}),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(admin_field(&body), field, "{body}");
        assert!(body.to_string().contains(says), "{body}");
    }
    // A render over its bounds is a 500 that says so, not a hang.
    stub(&app, json!({"request": {"urlPath": "/hb-huge"}, "response": {
        "body": "{{#each (range 1 1000)}}{{#each (range 1 1000)}}{{#each (range 1 1000)}}{{/each}}{{/each}}{{/each}}",
        "transformers": ["response-template"]}})).await;
    let started = Instant::now();
    let (status, _) = call(&app, &get("/hb-huge")).await;
    assert_eq!(status, 500);
    assert!(started.elapsed() < Duration::from_secs(20));
    app.stop().await;
}

/// WireMock 3's JSON, XML, list and date helpers end to end: a JSON body
/// built from them stays the JSON it says, XML is read from a SOAP request,
/// and a region's time zone follows its summer time.
async fn json_xml_list_and_zone_helpers_render_over_http(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    stub(&app, json!({
        "request": {"method": "POST", "urlPath": "/h3/json"},
        "response": {
            "headers": {"Content-Type": "application/json"},
            "body": "{\"sorted\": {{jsonSort request.body '$.users[*].name' order='desc'}},\n \"merged\": {{jsonMerge request.body '{\"extra\": {\"n\": 1}}'}},\n \"removed\": {{jsonRemove request.body '$.users[?(@.name == \"ann\")]'}},\n \"added\": {{jsonArrayAdd request.body '{\"name\": \"cy\"}' jsonPath='$.users' maxItems=2}},\n \"list\": \"{{arrayRemove (arrayAdd (array 1 2) 0 position='start') position=1}}\",\n \"pretty\": \"{{formatJson '{\"b\":1,\"a\":[2]}'}}\"}",
            "transformers": ["response-template"]
        }
    })).await;
    let users = r#"{"users": [{"name": "ann"}, {"name": "bo\"b"}]}"#;
    let (status, text) = call(&app, &get("/h3/json").body(users)).await;
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(
        body,
        json!({
            "sorted": {"users": [{"name": "bo\"b"}, {"name": "ann"}]},
            "merged": {"users": [{"name": "ann"}, {"name": "bo\"b"}], "extra": {"n": 1}},
            "removed": {"users": [{"name": "bo\"b"}]},
            "added": {"users": [{"name": "bo\"b"}, {"name": "cy"}]},
            "list": "[0, 2]",
            "pretty": "{\n  \"b\" : 1,\n  \"a\" : [ 2 ]\n}"
        }),
        "{text}"
    );
    // Members keep the order they were written in.
    assert!(
        text.contains(r#"{"users":[{"name":"ann"},{"name":"bo\"b"}],"extra":{"n":1}}"#),
        "{text}"
    );

    stub(&app, json!({
        "request": {"method": "POST", "urlPath": "/h3/soap"},
        "response": {
            "headers": {"X-Order": "{{soapXPath request.body '/order/@id'}}"},
            "body": "{{#each (xPath request.body '//item')}}{{attributes.sku}}={{text}};{{/each}}|{{xPath request.body 'count(//item)'}}|{{xPath request.body '//order'}}",
            "transformers": ["response-template"]
        }
    })).await;
    let envelope = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
        <o:order xmlns:o="urn:orders" id="42"><o:item sku="a">2</o:item> <o:item sku="b">5</o:item></o:order>
    </s:Body></s:Envelope>"#;
    let response = app
        .client
        .post(app.url("/h3/soap"))
        .body(envelope)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-order"], "42");
    assert_eq!(
        response.text().await.unwrap(),
        "a=2;b=5;|2|<o:order xmlns:o=\"urn:orders\" id=\"42\">\n  <o:item sku=\"a\">2</o:item>\n  <o:item sku=\"b\">5</o:item>\n</o:order>\n"
    );

    stub(&app, json!({
        "request": {"urlPath": "/h3/time"},
        "response": {
            "headers": {"X-Month": "{{truncateDate (parseDate request.query.at) 'first day of next month'}}"},
            "body": "{{date (parseDate request.query.at) offset='1 days'}}|{{date (parseDate request.query.at) timezone='America/New_York' format='HH:mm z'}}",
            "transformers": ["response-template"]
        }
    })).await;
    let at = query(&[("at", "2024-03-30T12:00:00+01:00[Europe/Paris]")]);
    let response = app.get(&format!("/h3/time?{at}")).await;
    assert_eq!(response.headers()["x-month"], "2024-04-01T00:00:00+02:00");
    assert_eq!(
        response.text().await.unwrap(),
        "2024-03-31T13:00:00+02:00|07:00 EDT"
    );
    app.stop().await;
}

// ---- scenarios -----------------------------------------------------------------------

async fn scenarios_move_through_their_states(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let step = |required: &str, next: Option<&str>, body: &str| {
        let mut m = json!({"scenarioName": "cart", "requiredScenarioState": required,
            "request": {"method": "GET", "urlPath": "/cart"}, "response": {"body": body}});
        if let Some(next) = next {
            m["newScenarioState"] = json!(next);
        }
        m
    };
    stub(&app, step("Started", Some("One item"), "empty")).await;
    stub(&app, step("One item", Some("Two items"), "one")).await;
    stub(&app, step("Two items", None, "two")).await;
    let bodies = [
        call(&app, &get("/cart")).await.1,
        call(&app, &get("/cart")).await.1,
        call(&app, &get("/cart")).await.1,
        call(&app, &get("/cart")).await.1,
    ];
    assert_eq!(bodies, ["empty", "one", "two", "two"]);
    let (_, scenarios) = get_json(&app, "/__admin/scenarios").await;
    assert_eq!(scenarios["scenarios"][0]["name"], "cart");
    assert_eq!(scenarios["scenarios"][0]["state"], "Two items");
    assert_eq!(
        scenarios["scenarios"][0]["possibleStates"],
        json!(["Started", "One item", "Two items"])
    );

    let (status, _) = put_json(
        &app,
        "/__admin/scenarios/cart/state",
        &json!({"state": "One item"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(call(&app, &get("/cart")).await.1, "one");
    post_json(&app, "/__admin/scenarios/reset", &json!(null)).await;
    assert_eq!(call(&app, &get("/cart")).await.1, "empty");
    let (status, _) = put_json(
        &app,
        "/__admin/scenarios/nope/state",
        &json!({"state": "x"}),
    )
    .await;
    assert_eq!(status, 404);
    // Only a state one of the scenario's stubs names can be set (WireMock's code 11).
    let (status, refused) = put_json(
        &app,
        "/__admin/scenarios/cart/state",
        &json!({"state": "Elsewhere"}),
    )
    .await;
    assert_eq!(
        (status, &refused["errors"][0]["code"]),
        (422, &json!(11)),
        "{refused}"
    );
    assert_eq!(
        refused["errors"][0]["title"],
        "Scenario cart does not support state Elsewhere"
    );
    // A stub waiting on another state is reported as a near miss with the reason.
    stub(
        &app,
        json!({"scenarioName": "cart", "requiredScenarioState": "Elsewhere",
            "request": {"method": "GET", "urlPath": "/cart/elsewhere"}}),
    )
    .await;
    let (status, _) = put_json(
        &app,
        "/__admin/scenarios/cart/state",
        &json!({"state": "Elsewhere"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call(&app, &get("/cart")).await;
    assert_eq!(status, 404);
    assert!(
        body.contains("scenario `cart` is in state `Elsewhere`"),
        "{body}"
    );
    // A scenario's state goes with its last stub: created again, it starts over.
    assert_eq!(delete_json(&app, "/__admin/mappings").await.0, 200);
    stub(&app, step("Started", Some("One item"), "empty")).await;
    stub(&app, step("One item", None, "one")).await;
    assert_eq!(call(&app, &get("/cart")).await.1, "empty");
    app.stop().await;
}

async fn scenario_transitions_hold_under_100_concurrent_requests(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // A chain of 100 states: each request must see a different state.
    let state = |i: usize| {
        if i == 0 {
            "Started".to_owned()
        } else {
            format!("s{i}")
        }
    };
    let mappings: Vec<Value> = (0..100)
        .map(|i| json!({"scenarioName": "race", "requiredScenarioState": state(i), "newScenarioState": state(i + 1),
            "request": {"method": "GET", "urlPath": "/race"}, "response": {"body": i.to_string()}}))
        .collect();
    let (status, _) = post_json(
        &app,
        "/__admin/mappings/import",
        &json!({"mappings": mappings}),
    )
    .await;
    assert_eq!(status, 200);
    let url = app.url("/race");
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let client = app.client.clone();
            let url = url.clone();
            tokio::spawn(async move { client.get(url).send().await.unwrap().text().await.unwrap() })
        })
        .collect();
    let mut seen = BTreeSet::new();
    for task in tasks {
        let body = task.await.unwrap();
        assert!(
            seen.insert(body.parse::<usize>().expect("a step number")),
            "step {body} served twice"
        );
    }
    assert_eq!(seen, (0..100).collect::<BTreeSet<_>>());
    assert_eq!(call(&app, &get("/race")).await.0, 404, "the chain is spent");
    app.stop().await;
}

// ---- mappings folder ------------------------------------------------------------------

async fn mappings_folder_is_loaded_and_body_files_cannot_escape(backend: Backend) {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("mappings/nested")).unwrap();
    std::fs::create_dir_all(root.path().join("__files/docs")).unwrap();
    std::fs::write(
        root.path().join("__files/docs/hello.txt"),
        "hello from a file",
    )
    .unwrap();
    std::fs::write(
        root.path().join("__files/tpl.txt"),
        "id={{request.path.[1]}}",
    )
    .unwrap();
    std::fs::write(root.path().join("secret.txt"), "do not serve").unwrap();
    std::fs::write(
        root.path().join("mappings/one.json"),
        json!({"request": {"method": "GET", "url": "/file"}, "response": {"bodyFileName": "docs/hello.txt"}}).to_string(),
    )
    .unwrap();
    std::fs::write(
        root.path().join("mappings/nested/many.json"),
        json!({"mappings": [
            {"request": {"urlPathPattern": "/tpl/.*"}, "response": {"bodyFileName": "tpl.txt", "transformers": ["response-template"]}},
            {"request": {"urlPath": "/inline"}, "response": {"body": "inline"}}
        ]})
        .to_string(),
    )
    .unwrap();
    let dir = root.path().to_owned();
    let Some(app) = TestApp::spawn_with(backend, move |s| s.mocks.mappings_dir = Some(dir)).await
    else {
        return;
    };
    assert_eq!(
        call(&app, &get("/file")).await,
        (200, "hello from a file".to_owned())
    );
    assert_eq!(call(&app, &get("/tpl/9")).await.1, "id=9");
    assert_eq!(call(&app, &get("/inline")).await.1, "inline");
    assert_eq!(
        get_json(&app, "/__admin/files").await,
        (200, json!(["docs/hello.txt", "tpl.txt"])),
        "the folder's __files are in the file store, and nothing beside them"
    );

    for escape in ["../secret.txt", "/etc/passwd", "docs/../../secret.txt"] {
        let (status, body) = post_json(
            &app,
            "/__admin/mappings",
            &json!({"request": {"urlPath": "/escape"}, "response": {"bodyFileName": escape}}),
        )
        .await;
        assert_eq!(status, 422, "{escape}");
        assert_eq!(admin_field(&body), "response.bodyFileName");
    }
    // A stub added through the API goes on reset; the folder's stubs come back.
    stub(
        &app,
        json!({"request": {"urlPath": "/api-made"}, "response": {"body": "x"}}),
    )
    .await;
    send_json(
        &app,
        reqwest::Method::DELETE,
        &format!(
            "/__admin/mappings/{}",
            "00000000-0000-0000-0000-000000000000"
        ),
        &json!(null),
    )
    .await;
    post_json(&app, "/__admin/mappings/reset", &json!(null)).await;
    assert_eq!(call(&app, &get("/api-made")).await.0, 404);
    assert_eq!(call(&app, &get("/inline")).await.1, "inline");
    app.stop().await;
}

/// `PUT path` with raw bytes: (status, body as JSON or text).
async fn put_bytes(app: &TestApp, path: &str, body: &'static [u8]) -> (u16, Value) {
    let response = app
        .client
        .put(app.url(path))
        .body(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// WireMock's `/__admin/files`, and stubs that serve what it stores: a
/// file put through the API is served by `bodyFileName`, fixed or templated.
async fn body_files_through_the_admin_api(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    assert_eq!(get_json(&app, "/__admin/files").await, (200, json!([])));
    assert_eq!(
        put_bytes(&app, "/__admin/files/a/b.json", br#"{"x":1}"#).await,
        (200, json!("eyJ4IjoxfQ==")),
        "answered with the content in base64, as WireMock answers"
    );
    assert_eq!(
        put_bytes(&app, "/__admin/files/hello.txt", b"hi {{request.path}}")
            .await
            .0,
        200
    );
    assert_eq!(
        get_json(&app, "/__admin/files").await,
        (200, json!(["a/b.json", "hello.txt"]))
    );
    assert_eq!(
        call(&app, &get("/__admin/files/a/b.json")).await,
        (200, r#"{"x":1}"#.to_owned())
    );
    assert_eq!(
        call(&app, &get("/__admin/files/nope")).await,
        (404, String::new())
    );

    stub(
        &app,
        json!({"request": {"urlPath": "/plain"}, "response": {"bodyFileName": "hello.txt"}}),
    )
    .await;
    stub(
        &app,
        json!({"request": {"urlPath": "/templated"}, "response": {"bodyFileName": "hello.txt",
            "transformers": ["response-template"]}}),
    )
    .await;
    stub(
        &app,
        json!({"request": {"urlPathPattern": "/by-name/.*"}, "response": {
            "bodyFileName": "{{request.pathSegments.[1]}}.txt", "transformers": ["response-template"]}}),
    )
    .await;
    stub(
        &app,
        json!({"request": {"urlPath": "/missing"}, "response": {"bodyFileName": "missing.txt"}}),
    )
    .await;
    assert_eq!(
        call(&app, &get("/plain")).await,
        (200, "hi {{request.path}}".to_owned())
    );
    assert_eq!(
        call(&app, &get("/templated")).await,
        (200, "hi /templated".to_owned())
    );
    assert_eq!(
        call(&app, &get("/by-name/hello")).await,
        (200, "hi /by-name/hello".to_owned())
    );
    let (status, body) = call(&app, &get("/missing")).await;
    assert_eq!(
        status, 500,
        "a missing body file is a server error, as on WireMock: {body}"
    );
    assert_eq!(call(&app, &get("/by-name/nothing")).await.0, 500);

    // Replaced: the next answer is the new content.
    put_bytes(&app, "/__admin/files/hello.txt", b"bye").await;
    assert_eq!(call(&app, &get("/plain")).await, (200, "bye".to_owned()));

    let delete = |name: &'static str| {
        let url = app.url(&format!("/__admin/files/{name}"));
        let client = app.client.clone();
        async move {
            client
                .delete(url)
                .send()
                .await
                .expect("delete")
                .status()
                .as_u16()
        }
    };
    assert_eq!(delete("a/b.json").await, 200);
    assert_eq!(
        delete("a/b.json").await,
        200,
        "deleting what is gone is no error"
    );
    assert_eq!(
        get_json(&app, "/__admin/files").await,
        (200, json!(["hello.txt"]))
    );
    assert_eq!(call(&app, &get("/__admin/files/a/b.json")).await.0, 404);
    app.stop().await;
}

async fn body_files_are_bounded_and_names_confined(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| s.mocks.max_file_size = 8).await else {
        return;
    };
    assert_eq!(
        put_bytes(&app, "/__admin/files/small", b"12345678").await.0,
        200
    );
    let (status, body) = put_bytes(&app, "/__admin/files/big", b"123456789").await;
    assert_eq!(status, 413, "{body}");
    for bad in ["%2E%2E%2Fsecret", "a%5Cb", "a//b", "a%2F%2E%2Fb", "a%00b"] {
        let (status, body) = put_bytes(&app, &format!("/__admin/files/{bad}"), b"x").await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(admin_field(&body), "name", "{bad}");
        assert_eq!(
            call(&app, &get(&format!("/__admin/files/{bad}"))).await.0,
            422,
            "{bad}"
        );
    }
    let long = "a".repeat(1025);
    let (status, _) = send_json(
        &app,
        reqwest::Method::PUT,
        &format!("/__admin/files/{long}"),
        &json!("x"),
    )
    .await;
    assert_eq!(status, 422, "a name of 1,025 characters");
    assert_eq!(
        get_json(&app, "/__admin/files").await,
        (200, json!(["small"])),
        "nothing refused was stored"
    );
    app.stop().await;
}

// ---- webhooks ---------------------------------------------------------------------

/// A request a webhook sent: request line, headers (lower-case names), body.
#[derive(Debug)]
struct Received {
    line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A webhook target on 127.0.0.1: answers each request with the next of
/// `statuses` (the last one again once they run out), or never answers when
/// `statuses` is empty, and hands what it received to the test.
async fn webhook_sink(statuses: Vec<u16>) -> (u16, tokio::sync::mpsc::UnboundedReceiver<Received>) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (tx, statuses, answered) = (tx.clone(), statuses.clone(), answered.clone());
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buffer[..end]).to_string();
                    let mut lines = head.split("\r\n");
                    let line = lines.next().unwrap_or_default().to_owned();
                    let headers: Vec<(String, String)> = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_owned()))
                        .collect();
                    let length: usize = headers
                        .iter()
                        .find(|(n, _)| n == "content-length")
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    while buffer.len() < end + 4 + length {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body =
                        String::from_utf8_lossy(&buffer[end + 4..end + 4 + length]).to_string();
                    buffer.drain(..end + 4 + length);
                    let _ = tx.send(Received {
                        line,
                        headers,
                        body,
                    });
                    if statuses.is_empty() {
                        // Never answers: the sender's timeout must end it.
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                    let i = answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let status = statuses[i.min(statuses.len() - 1)];
                    let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
                    if socket.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, rx)
}

async fn next_received(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a webhook within 10 s")
        .expect("the sink is open")
}

/// The webhook attempts `/__admin/webhooks` shows, oldest first, once there
/// are at least `count`.
async fn webhook_attempts(app: &TestApp, count: usize) -> Vec<Value> {
    let attempts = eventually(|| async {
        let (_, body) = get_json(app, "/__admin/webhooks").await;
        let attempts = body["attempts"].as_array()?.clone();
        (attempts.len() >= count).then_some(attempts)
    })
    .await
    .unwrap_or_default();
    attempts.into_iter().rev().collect()
}

async fn webhooks_are_sent_after_the_answer_from_templates(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (port, mut received) = webhook_sink(vec![200]).await;
    stub(
        &app,
        json!({"request": {"method": "POST", "urlPath": "/orders"},
            "response": {"status": 202, "body": "accepted"},
            "serveEventListeners": [{"name": "webhook", "parameters": {
                "method": "PUT",
                "url": format!("http://127.0.0.1:{port}/callback/{{{{jsonPath originalRequest.body '$.id'}}}}"),
                "headers": {"Content-Type": "application/json", "X-Trace": "{{originalRequest.headers.X-Trace}}"},
                "body": "{\"order\": {{jsonPath originalRequest.body '$.id'}}, \"shop\": \"{{parameters.shop}}\"}",
                "delay": {"type": "fixed", "milliseconds": 10},
                "shop": "north"}}]}),
    )
    .await;
    let (status, body) = call(
        &app,
        &Req {
            method: "POST",
            path: "/orders".into(),
            headers: vec![("x-trace", "t-1".into())],
            body: Some(r#"{"id": 42}"#.into()),
        },
    )
    .await;
    assert_eq!((status, body.as_str()), (202, "accepted"));
    let hook = next_received(&mut received).await;
    assert_eq!(hook.line, "PUT /callback/42 HTTP/1.1");
    assert_eq!(hook.header("x-trace"), Some("t-1"));
    assert_eq!(hook.header("content-type"), Some("application/json"));
    assert_eq!(hook.body, r#"{"order": 42, "shop": "north"}"#);
    let attempts = webhook_attempts(&app, 1).await;
    assert_eq!(attempts[0]["outcome"], "sent", "{attempts:?}");
    assert_eq!(attempts[0]["status"], 200);
    assert_eq!(attempts[0]["method"], "PUT");
    assert_eq!(
        attempts[0]["url"],
        format!("http://127.0.0.1:{port}/callback/42")
    );

    // WireMock 2's `postServeActions` object, GET by default: as on WireMock,
    // a GET carries no body, even with one given.
    stub(
        &app,
        json!({"request": {"urlPath": "/legacy"},
            "postServeActions": {"webhook": {"url": format!("http://127.0.0.1:{port}/old"),
                "base64Body": "aGk="}}}),
    )
    .await;
    assert_eq!(call(&app, &get("/legacy")).await.0, 200);
    let hook = next_received(&mut received).await;
    assert_eq!(hook.line, "GET /old HTTP/1.1");
    assert_eq!(hook.body, "");
    stub(
        &app,
        json!({"request": {"urlPath": "/binary"},
            "postServeActions": [{"name": "webhook", "parameters": {"method": "POST",
                "url": format!("http://127.0.0.1:{port}/bin"), "base64Body": "aGk="}}]}),
    )
    .await;
    assert_eq!(call(&app, &get("/binary")).await.0, 200);
    let hook = next_received(&mut received).await;
    assert_eq!(hook.line, "POST /bin HTTP/1.1");
    assert_eq!(hook.body, "hi");

    // Refused when created, naming the field.
    let (status, body) = post_json(
        &app,
        "/__admin/mappings",
        &json!({"request": {"urlPath": "/x"}, "serveEventListeners": [{"name": "webhook",
            "parameters": {"url": "{{#if}}"}}]}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(admin_field(&body), "serveEventListeners.0.parameters.url");
    app.stop().await;
}

async fn webhooks_retry_and_stay_inside_the_allow_list(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.mocks.webhook_max_pending = 2;
        s.mocks.webhook_timeout = Duration::from_secs(60);
    })
    .await
    else {
        return;
    };
    // A 503, then a 200: sent on the second attempt.
    let (flaky, mut flaky_received) = webhook_sink(vec![503, 200]).await;
    stub(
        &app,
        json!({"request": {"urlPath": "/flaky"}, "serveEventListeners": [{"name": "webhook",
            "parameters": {"method": "POST", "url": format!("http://localhost:{flaky}/hook"), "body": "b"}}]}),
    )
    .await;
    assert_eq!(call(&app, &get("/flaky")).await.0, 200);
    next_received(&mut flaky_received).await;
    next_received(&mut flaky_received).await;
    let attempts = webhook_attempts(&app, 2).await;
    let outcomes: Vec<(&Value, &Value, &Value)> = attempts
        .iter()
        .map(|a| (&a["attempt"], &a["outcome"], &a["status"]))
        .collect();
    assert_eq!(
        outcomes,
        [
            (&json!(1), &json!("failed"), &json!(503)),
            (&json!(2), &json!("sent"), &json!(200))
        ]
    );
    get_json(&app, "/__admin/webhooks").await;
    send_json(
        &app,
        reqwest::Method::DELETE,
        "/__admin/webhooks",
        &Value::Null,
    )
    .await;

    // Outside the allow list (loopback by default): never sent.
    stub(
        &app,
        json!({"request": {"urlPath": "/outside"}, "serveEventListeners": [{"name": "webhook",
            "parameters": {"url": "http://169.254.169.254/latest/meta-data"}}]}),
    )
    .await;
    assert_eq!(call(&app, &get("/outside")).await.0, 200);
    let attempts = webhook_attempts(&app, 1).await;
    assert_eq!(attempts[0]["outcome"], "denied", "{attempts:?}");
    send_json(
        &app,
        reqwest::Method::DELETE,
        "/__admin/webhooks",
        &Value::Null,
    )
    .await;

    // A URL that does not render to one: recorded, never sent.
    stub(
        &app,
        json!({"request": {"urlPath": "/invalid"}, "serveEventListeners": [{"name": "webhook",
            "parameters": {"url": "{{originalRequest.query.to}}"}}]}),
    )
    .await;
    assert_eq!(call(&app, &get("/invalid?to=not%20a%20url")).await.0, 200);
    let attempts = webhook_attempts(&app, 1).await;
    assert_eq!(attempts[0]["outcome"], "invalid", "{attempts:?}");
    send_json(
        &app,
        reqwest::Method::DELETE,
        "/__admin/webhooks",
        &Value::Null,
    )
    .await;

    // A target that never answers holds two pending webhooks: the answers
    // still come, and a third webhook is dropped.
    let (silent, mut silent_received) = webhook_sink(Vec::new()).await;
    stub(
        &app,
        json!({"request": {"urlPath": "/silent"}, "serveEventListeners": [{"name": "webhook",
            "parameters": {"url": format!("http://127.0.0.1:{silent}/never")}}]}),
    )
    .await;
    for _ in 0..2 {
        assert_eq!(call(&app, &get("/silent")).await.0, 200);
        next_received(&mut silent_received).await;
    }
    assert_eq!(call(&app, &get("/silent")).await.0, 200);
    let attempts = webhook_attempts(&app, 1).await;
    assert_eq!(attempts[0]["outcome"], "dropped", "{attempts:?}");
    app.stop().await;
}

/// `localhost` is loopback, and loopback is not allowed here: the name is
/// refused once resolved, and nothing reaches the target.
async fn webhook_host_names_are_checked_after_they_resolve(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.mocks.webhook_allowed_networks = vec!["10.0.0.0/8".parse().unwrap()];
    })
    .await
    else {
        return;
    };
    let (port, mut received) = webhook_sink(vec![200]).await;
    for (path, host) in [("/by-name", "localhost"), ("/by-address", "127.0.0.1")] {
        stub(
            &app,
            json!({"request": {"urlPath": path}, "serveEventListeners": [{"name": "webhook",
                "parameters": {"url": format!("http://{host}:{port}/x")}}]}),
        )
        .await;
        assert_eq!(call(&app, &get(path)).await.0, 200);
    }
    let attempts = webhook_attempts(&app, 2).await;
    for attempt in &attempts {
        assert_eq!(attempt["outcome"], "denied", "{attempts:?}");
    }
    assert!(received.try_recv().is_err(), "nothing reached the target");
    app.stop().await;
}

/// The global settings are stored, as the stubs are: a restarted server
/// (or, on PostgreSQL, any other process) has them.
async fn global_settings_are_kept_across_a_restart(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, _) = post_json(
        &app,
        "/__admin/settings",
        &json!({"fixedDelay": 5, "extended": {"team": "pay"}}),
    )
    .await;
    assert_eq!(status, 200);
    let app = app.restart().await;
    let (_, settings) = get_json(&app, "/__admin/settings").await;
    assert_eq!(settings["settings"]["fixedDelay"], 5, "{settings}");
    assert_eq!(
        settings["settings"]["extended"]["team"], "pay",
        "{settings}"
    );
    app.stop().await;
}

// ---- framing headers ---------------------------------------------------------------

/// The response headers that frame a message or describe its connection: the
/// server sets them from the body it sends, never from a stub.
const FRAMING_HEADERS: [(&str, &str); 8] = [
    ("Content-Length", "2"),
    ("transfer-encoding", "chunked"),
    ("Connection", "close"),
    ("Keep-Alive", "timeout=5"),
    ("Upgrade", "websocket"),
    ("TE", "trailers"),
    ("Trailer", "X-Checksum"),
    ("Proxy-Connection", "keep-alive"),
];

async fn framing_headers_in_a_stub_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for (name, value) in FRAMING_HEADERS {
        let mapping = json!({"request": {"urlPath": "/framed"},
            "response": {"headers": {name: value, "X-Fine": "yes"}, "body": "hello"}});
        let response = app
            .client
            .post(app.url("/__admin/mappings"))
            .json(&mapping)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{name}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = response.json().await.unwrap();
        let field = format!("response.headers.{name}");
        assert_eq!(admin_field(&body), field, "{body}");
        assert_eq!(body["errors"].as_array().unwrap().len(), 1, "{body}");

        // Also as an array of values, and through an import.
        let (status, body) = post_json(
            &app,
            "/__admin/mappings/import",
            &json!({"mappings": [{"request": {"urlPath": "/framed"},
                "response": {"headers": {name: [value]}}}]}),
        )
        .await;
        assert_eq!(status, 422, "{name}: {body}");
        assert_eq!(
            admin_field(&body),
            format!("mappings.0.response.headers.{name}")
        );

        // The original API: its own error shape, naming the header.
        let (status, body) = create_endpoint(
            &app,
            "GET",
            "/framed",
            json!({"code": 200, "headers": {name: value}, "body": "hello"}),
        )
        .await;
        assert_eq!(status, 400, "{name}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains(name), "{name}: {body}");
    }
    // Refused case-insensitively, with a templated value too.
    let (status, body) = post_json(
        &app,
        "/__admin/mappings",
        &json!({"request": {"urlPath": "/framed"}, "response": {
            "headers": {"CONTENT-LENGTH": "{{request.query.n}}"},
            "transformers": ["response-template"]}}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(admin_field(&body), "response.headers.CONTENT-LENGTH");
    // A PATCH of an existing endpoint is checked too, and changes nothing.
    let (_, created) =
        create_endpoint(&app, "GET", "/kept", json!({"code": 200, "body": "kept"})).await;
    let id = created["data"]["id"].as_str().unwrap();
    let (status, _) = patch_json(
        &app,
        &format!("/endpoints/{id}"),
        &json!({"data": {"attributes": {"response": {"headers": {"Transfer-Encoding": "chunked"}}}}}),
    )
    .await;
    assert_eq!(status, 400);
    let (_, listed) = get_json(&app, "/__admin/mappings").await;
    assert_eq!(listed["meta"]["total"], 1, "nothing refused was stored");
    assert_eq!(call(&app, &get("/kept")).await, (200, "kept".to_owned()));
    app.stop().await;
}

async fn stored_stubs_with_framing_headers_are_framed_by_the_server(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // Stubs stored before echobase refused these headers: straight into the
    // store, as an older version (or another tool) left them.
    let mut rows = Vec::new();
    for (n, (name, value)) in FRAMING_HEADERS.iter().enumerate() {
        let id = uuid::Uuid::new_v4().to_string();
        let mapping = json!({"id": id, "uuid": id, "request": {"method": "GET", "urlPath": format!("/framed/{n}")},
            "response": {"headers": {*name: value, "X-Fine": "yes"}, "body": "hello"}});
        rows.push((id, mapping.to_string()));
    }
    echobase::mocks::store::for_database(&app.db, "an older process")
        .upsert(&rows)
        .await
        .expect("stored");
    let app = app.restart().await;

    // Every stub still answers, each response framed by the server: on one
    // kept-alive connection, each response is whole and the next one starts
    // where it ends.
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    let mut pending = Vec::new();
    for round in 0..2 {
        for (n, (name, _)) in FRAMING_HEADERS.iter().enumerate() {
            send_get(&mut stream, &format!("/framed/{n}")).await;
            let (status_line, head, body) = read_framed(&mut stream, &mut pending).await;
            assert_eq!(status_line, "HTTP/1.1 200 OK", "{name}, round {round}");
            assert_eq!(String::from_utf8_lossy(&body), "hello", "{name}: {head}");
            assert!(head.contains("x-fine: yes"), "{name}: {head}");
            // Content-Length is the server's own, of the body it sends.
            let name = name.to_ascii_lowercase();
            let sent = head.lines().any(|l| l.starts_with(&format!("{name}:")));
            assert_eq!(sent, name == "content-length", "{name}: {head}");
        }
    }
    assert!(pending.is_empty(), "nothing after the last response");
    // And the admin API shows what is served: the stubs without those headers.
    let (_, listed) = get_json(&app, "/__admin/mappings").await;
    assert_eq!(listed["meta"]["total"], FRAMING_HEADERS.len());
    for mapping in listed["mappings"].as_array().unwrap() {
        assert_eq!(
            mapping["response"]["headers"],
            json!({"X-Fine": "yes"}),
            "{mapping}"
        );
    }
    app.stop().await;
}

/// A 204 or 304 has no body (RFC 9110 6.4.1): a stub's body is dropped, and no
/// `content-length` announces bytes that never come (a client trusting it
/// would wait for them, or read the next response as this one's body).
async fn a_204_or_304_stub_sends_no_body_and_no_length(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for status in [204, 304] {
        stub(
            &app,
            json!({"request": {"urlPath": format!("/empty/{status}")},
                   "response": {"status": status, "body": "not sent"}}),
        )
        .await;
        let response = reqwest::get(app.url(&format!("/empty/{status}")))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status);
        assert!(
            response.headers().get("content-length").is_none(),
            "{status}: {:?}",
            response.headers()
        );
        assert!(response.bytes().await.unwrap().is_empty(), "{status}");
    }
    app.stop().await;
}

/// Reads one response as its own head frames it (`content-length`, or
/// chunked), leaving any bytes after it in `pending` for the next one: its
/// status line, its head (lower case) and its body.
async fn read_framed(stream: &mut TcpStream, pending: &mut Vec<u8>) -> (String, String, Vec<u8>) {
    async fn more(stream: &mut TcpStream, pending: &mut Vec<u8>) {
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf))
            .await
            .expect("the server answers")
            .expect("read");
        assert!(
            n > 0,
            "connection closed; so far: {:?}",
            String::from_utf8_lossy(pending)
        );
        pending.extend_from_slice(&buf[..n]);
    }
    let head_end = loop {
        if let Some(i) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        more(stream, pending).await;
    };
    let head = String::from_utf8_lossy(&pending[..head_end]).to_ascii_lowercase();
    let status_line = String::from_utf8_lossy(&pending[..head_end])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    pending.drain(..head_end + 4);
    let field = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim() == name)
            .map(|(_, v)| v.trim().to_owned())
    };
    let mut body = Vec::new();
    if field("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let line_end = loop {
                if let Some(i) = pending.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                more(stream, pending).await;
            };
            let size_line = String::from_utf8_lossy(&pending[..line_end]).to_string();
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                .unwrap_or_else(|_| panic!("a chunk size, not {size_line:?}"));
            while pending.len() < line_end + 2 + size + 2 {
                more(stream, pending).await;
            }
            body.extend_from_slice(&pending[line_end + 2..line_end + 2 + size]);
            pending.drain(..line_end + 2 + size + 2);
            if size == 0 {
                break;
            }
        }
    } else {
        let length: usize = field("content-length")
            .map(|v| v.parse().expect("a length"))
            .unwrap_or(0);
        while pending.len() < length {
            more(stream, pending).await;
        }
        body.extend(pending.drain(..length));
    }
    (status_line, head, body)
}

// ---- templates in JSON bodies -------------------------------------------------------

async fn templates_in_json_bodies_are_escaped_for_json(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    stub(
        &app,
        json!({"request": {"urlPath": "/tpl-json"}, "response": {
        "jsonBody": {"v": "{{request.query.q}}", "list": ["q={{request.query.q}}", 1, true, null],
                     "{{request.query.k}}": {"nested": "{{request.headers.X-Name}}"}},
        "transformers": ["response-template"]}}),
    )
    .await;
    let cases = [
        // A value that closes the string and adds members of its own.
        r#"","admin":true,"x":""#,
        // A lone quote, a backslash, a newline, a control character, unicode.
        "\"",
        "back\\slash\nline\u{1}end é",
        "{{request.path}}",
        "",
    ];
    for q in cases {
        let response = app
            .client
            .get(app.url(&format!("/tpl-json?{}", query(&[("q", q), ("k", q)]))))
            .header("x-name", "ann \"the\" admin")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        let text = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{q:?} gives invalid JSON ({e}): {text}"));
        let mut expected = json!({"v": q, "list": [format!("q={q}"), 1, true, null]});
        expected[q] = json!({"nested": "ann \"the\" admin"});
        assert_eq!(body, expected, "{q:?}");
    }
    // The exact injection of the finding, as a raw query.
    let text = app
        .get("/tpl-json?q=%22,%22admin%22:true,%22x%22:%22")
        .await
        .text()
        .await
        .unwrap();
    let body: Value = serde_json::from_str(&text).expect(&text);
    assert_eq!(body["v"], r#"","admin":true,"x":""#);
    assert!(body.get("admin").is_none(), "{text}");
    let body: Value = serde_json::from_str(&app.get("/tpl-json?q=%22").await.text().await.unwrap())
        .expect("valid JSON");
    assert_eq!(body["v"], "\"");

    // A `body` sent as JSON (its content type says so): placeholders inside
    // strings are escaped; outside a string a whole JSON value is inserted
    // as it is, anything else as a string.
    stub(
        &app,
        json!({"request": {"urlPath": "/tpl-json-text"}, "response": {
        "headers": {"Content-Type": "application/vnd.api+json; charset=utf-8"},
        "body": "{\"v\": \"{{request.query.q}}\",\n \"n\": {{request.query.n}}}",
        "transformers": ["response-template"]}}),
    )
    .await;
    for (q, n, expected_n) in [
        (r#"","admin":true,"x":""#, "5", json!(5)),
        ("\"", r#"1,"admin":true"#, json!(r#"1,"admin":true"#)),
        ("a\\b", r#"{"k":[1,2]}"#, json!({"k": [1, 2]})),
        ("x", "", json!("")),
    ] {
        let response = app
            .client
            .get(app.url(&format!("/tpl-json-text?{}", query(&[("q", q), ("n", n)]))))
            .send()
            .await
            .unwrap();
        let text = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{q:?}/{n:?} gives invalid JSON ({e}): {text}"));
        assert_eq!(body, json!({"v": q, "n": expected_n}), "{text}");
    }
    // A body that is not sent as JSON is rendered as written.
    stub(
        &app,
        json!({"request": {"urlPath": "/tpl-text"}, "response": {
        "headers": {"Content-Type": "text/plain"},
        "body": "{\"v\": \"{{request.query.q}}\"}",
        "transformers": ["response-template"]}}),
    )
    .await;
    assert_eq!(call(&app, &get("/tpl-text?q=%22")).await.1, r#"{"v": """}"#);
    app.stop().await;
}

// ---- credentials in the journal -----------------------------------------------------

async fn journal_redacts_credentials_unless_configured(backend: Backend) {
    const SECRETS: [(&str, &str); 4] = [
        ("Authorization", "Bearer s3cret-bearer"),
        ("X-API-Key", "s3cret-key"),
        ("Proxy-Authorization", "Basic s3cret-proxy"),
        ("Cookie", "session=s3cret-session; theme=dark"),
    ];
    for keep in [false, true] {
        let Some(app) =
            TestApp::spawn_with(backend, move |s| s.mocks.journal_credentials = keep).await
        else {
            return;
        };
        // Matching sees the credentials: the stub needs them (its patterns
        // do not spell them, so that only a leak can put them in the output).
        stub(&app, json!({"request": {"urlPath": "/private",
            "headers": {"Authorization": {"matches": "Bearer [s]3cret-bearer"}, "X-API-Key": {"matches": "[s]3cret-key"}},
            "cookies": {"session": {"matches": "[s]3cret-session"}}},
            "response": {"body": "in"}})).await;
        let mut matched = get("/private").header("X-Other", "visible");
        let mut unmatched = get("/elsewhere");
        for (name, value) in SECRETS {
            matched = matched.header(name, value);
            unmatched = unmatched.header(name, value);
        }
        assert_eq!(call(&app, &matched).await, (200, "in".to_owned()));
        assert_eq!(call(&app, &unmatched).await.0, 404);

        let (_, all) = get_json(&app, "/__admin/requests").await;
        assert_eq!(all["meta"]["total"], 2);
        let (_, found) = post_json(
            &app,
            "/__admin/requests/find",
            &json!({"method": "GET", "urlPath": "/private"}),
        )
        .await;
        let (_, unmatched) = get_json(&app, "/__admin/requests/unmatched").await;
        let (_, near) = get_json(&app, "/__admin/requests/unmatched/near-misses").await;
        let logged = [
            &all["requests"][1]["request"],
            &all["requests"][0]["request"],
            &found["requests"][0],
            &unmatched["requests"][0],
            &near["nearMisses"][0]["request"],
        ];
        for request in logged {
            let headers = &request["headers"];
            assert_eq!(headers["X-Other"].as_str().unwrap_or("visible"), "visible");
            if keep {
                assert_eq!(
                    headers["Authorization"], "Bearer s3cret-bearer",
                    "{request}"
                );
                assert_eq!(headers["X-Api-Key"], "s3cret-key");
                assert_eq!(headers["Proxy-Authorization"], "Basic s3cret-proxy");
                assert_eq!(headers["Cookie"], "session=s3cret-session; theme=dark");
                assert_eq!(request["cookies"]["session"], "s3cret-session");
            } else {
                assert_eq!(headers["Authorization"], "[redacted]", "{request}");
                assert_eq!(headers["X-Api-Key"], "[redacted]");
                assert_eq!(headers["Proxy-Authorization"], "[redacted]");
                // Each cookie keeps its name, so it shows which were sent.
                assert_eq!(headers["Cookie"], "session=[redacted]; theme=[redacted]");
                assert_eq!(
                    request["cookies"],
                    json!({"session": "[redacted]", "theme": "[redacted]"})
                );
            }
        }
        // Journal queries see what was kept: presence, and the value only when kept.
        let (_, present) = post_json(
            &app,
            "/__admin/requests/count",
            &json!({"method": "ANY", "urlPathPattern": "/.*", "headers": {"Authorization": {"absent": false}}}),
        )
        .await;
        assert_eq!(present["count"], 2, "{present}");
        let (_, exact) = post_json(
            &app,
            "/__admin/requests/count",
            &json!({"method": "ANY", "urlPathPattern": "/.*", "headers": {"Authorization": {"equalTo": "Bearer s3cret-bearer"}}}),
        )
        .await;
        assert_eq!(exact["count"], if keep { 2 } else { 0 }, "{exact}");
        if !keep {
            for output in [&all, &found, &unmatched, &near] {
                let text = output.to_string();
                assert!(!text.contains("s3cret"), "a credential is shown: {text}");
            }
        }
        app.stop().await;
    }
}

// ---- several processes on one PostgreSQL database -----------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stub_created_on_one_process_answers_on_another() {
    let Some(one) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let two = one.spawn_beside().await;
    let http = client();
    assert_eq!(two.status("/shared").await, 404);

    let created = stub(
        &one,
        json!({"request": {"method": "GET", "urlPath": "/shared"}, "response": {"body": "from one"}}),
    )
    .await;
    let answered = eventually(|| async {
        let response = http.get(two.url("/shared")).send().await.ok()?;
        (response.status() == 200).then_some(())?;
        response.text().await.ok()
    })
    .await;
    assert_eq!(answered.as_deref(), Some("from one"));

    // A delete on the second process reaches the first.
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        http.delete(two.url(&format!("/__admin/mappings/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let gone = eventually(|| async {
        let response = http.get(one.url("/shared")).send().await.ok()?;
        (response.status() == 404).then_some(())
    })
    .await;
    assert!(gone.is_some(), "the delete reached the first process");

    // Body files are in the database: one process stores, the other serves.
    assert_eq!(
        put_bytes(&one, "/__admin/files/shared.txt", b"a file")
            .await
            .0,
        200
    );
    stub(
        &two,
        json!({"request": {"urlPath": "/file"}, "response": {"bodyFileName": "shared.txt"}}),
    )
    .await;
    assert_eq!(call(&two, &get("/file")).await, (200, "a file".to_owned()));
    one.stop().await;
    two.stop().await;
}

/// A scenario is one state for every process on the database: a step taken
/// through one process is seen through the other, a reset through either
/// resets both, and requests racing through both processes take each
/// transition once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_moves_once_for_every_process() {
    let Some(one) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let two = one.spawn_beside().await;
    let state = |i: usize| {
        if i == 0 {
            "Started".to_owned()
        } else {
            format!("s{i}")
        }
    };
    let steps = 40;
    let mut mappings: Vec<Value> = (0..steps)
        .map(|i| json!({"scenarioName": "fleet", "requiredScenarioState": state(i), "newScenarioState": state(i + 1),
            "request": {"method": "GET", "urlPath": "/fleet"}, "response": {"body": i.to_string()}}))
        .collect();
    mappings.push(json!({"request": {"urlPath": "/fleet-probe"}, "response": {"body": "here"}}));
    let (status, _) = post_json(
        &one,
        "/__admin/mappings/import",
        &json!({"mappings": mappings}),
    )
    .await;
    assert_eq!(status, 200);
    // The import is one write: once the probe answers on the second process, so do the steps.
    let http = client();
    let seen = eventually(|| async {
        let response = http.get(two.url("/fleet-probe")).send().await.ok()?;
        (response.status() == 200).then_some(())
    })
    .await;
    assert!(seen.is_some(), "the import reached the second process");

    assert_eq!(call(&one, &get("/fleet")).await.1, "0");
    assert_eq!(
        call(&two, &get("/fleet")).await.1,
        "1",
        "the second process sees the first's step"
    );
    let (_, listed) = get_json(&two, "/__admin/scenarios").await;
    assert_eq!(listed["scenarios"][0]["state"], "s2", "{listed}");
    assert_eq!(
        post_json(&two, "/__admin/scenarios/reset", &Value::Null)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&one, &get("/fleet")).await.1,
        "0",
        "a reset through one process resets all"
    );
    let (status, _) = send_json(
        &one,
        reqwest::Method::PUT,
        "/__admin/scenarios/fleet/state",
        &json!({"state": "s5"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        call(&two, &get("/fleet")).await.1,
        "5",
        "a state set through one process holds on all"
    );
    post_json(&one, "/__admin/scenarios/reset", &Value::Null).await;

    // Every step once, though the requests race through both processes.
    let tasks: Vec<_> = (0..steps)
        .map(|i| {
            let url = if i % 2 == 0 {
                one.url("/fleet")
            } else {
                two.url("/fleet")
            };
            let http = http.clone();
            tokio::spawn(async move { http.get(url).send().await.unwrap().text().await.unwrap() })
        })
        .collect();
    let mut taken = BTreeSet::new();
    for task in tasks {
        let body = task.await.unwrap();
        assert!(
            taken.insert(body.parse::<usize>().expect("a step number")),
            "step {body} served twice"
        );
    }
    assert_eq!(taken, (0..steps).collect::<BTreeSet<_>>());
    assert_eq!(
        call(&two, &get("/fleet")).await.0,
        404,
        "the chain is spent for both"
    );
    assert_eq!(call(&one, &get("/fleet")).await.0, 404);

    // Global settings set through one process hold on the other.
    let (status, _) = post_json(&one, "/__admin/settings", &json!({"fixedDelay": 7})).await;
    assert_eq!(status, 200);
    let shared = eventually(|| async {
        let (_, settings) = get_json(&two, "/__admin/settings").await;
        (settings["settings"]["fixedDelay"] == 7).then_some(())
    })
    .await;
    assert!(shared.is_some(), "the settings reached the second process");
    one.stop().await;
    two.stop().await;
}

/// How many journaled requests match `pattern`, asked through `app`.
async fn count_through(app: &TestApp, pattern: Value) -> u64 {
    let (status, body) = post_json(app, "/__admin/requests/count", &pattern).await;
    assert_eq!(status, 200, "{body}");
    body["count"].as_u64().expect("a count")
}

/// Two processes on one PostgreSQL database: a request answered by one is
/// seen by `verify` through the other at once (no waiting in the test), and
/// so are unmatched requests, removals and resets. With the journal per
/// process (`mocks.journal_shared = false`) the other process sees nothing,
/// which is what this test would catch if the sharing broke.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_process_reads_one_journal() {
    let Some(one) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let two = one.spawn_beside().await;
    let created = stub(
        &one,
        json!({"request": {"method": "GET", "urlPathPattern": "/journal/.*"}, "response": {"body": "ok"}}),
    )
    .await;
    let http = client();
    let seen = eventually(|| async {
        let response = http.get(two.url("/journal/probe")).send().await.ok()?;
        (response.status() == 200).then_some(())
    })
    .await;
    assert!(seen.is_some(), "the stub reached the second process");
    assert_eq!(
        delete_json(&one, "/__admin/requests").await.0,
        200,
        "an empty journal to start"
    );

    for i in 0..30 {
        let (served, asked) = if i % 2 == 0 {
            (&one, &two)
        } else {
            (&two, &one)
        };
        assert_eq!(call(served, &get(&format!("/journal/{i}"))).await.0, 200);
        assert_eq!(
            count_through(asked, json!({"url": format!("/journal/{i}")})).await,
            1,
            "request {i}, verified through the other process right after its answer"
        );
    }
    assert_eq!(
        count_through(&two, json!({"urlPathPattern": "/journal/.*"})).await,
        30
    );
    let (_, listed) = get_json(&one, "/__admin/requests?limit=2").await;
    assert_eq!(listed["meta"]["total"], 30, "{listed}");
    assert_eq!(
        listed["requests"][0]["request"]["url"], "/journal/29",
        "newest first, across processes"
    );

    // Unmatched, and near misses, through the other process.
    assert_eq!(call(&one, &get("/elsewhere")).await.0, 404);
    let (_, unmatched) = get_json(&two, "/__admin/requests/unmatched").await;
    assert_eq!(unmatched["requests"][0]["url"], "/elsewhere", "{unmatched}");
    let (_, near) = get_json(&two, "/__admin/requests/unmatched/near-misses").await;
    assert_eq!(
        near["nearMisses"][0]["request"]["url"], "/elsewhere",
        "{near}"
    );

    // Removed through one process, gone for the other.
    let (status, removed) = post_json(
        &two,
        "/__admin/requests/remove",
        &json!({"url": "/journal/3"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        removed["serveEvents"].as_array().map(Vec::len),
        Some(1),
        "{removed}"
    );
    assert_eq!(count_through(&one, json!({"url": "/journal/3"})).await, 0);

    // A stub removed since still names itself in the serve events it answered.
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(
        delete_json(&two, &format!("/__admin/mappings/{id}"))
            .await
            .0,
        200
    );
    let (_, listed) = get_json(
        &one,
        &format!("/__admin/requests?matchingStub={id}&limit=1"),
    )
    .await;
    assert_eq!(listed["requests"][0]["wasMatched"], true, "{listed}");
    assert_eq!(
        listed["requests"][0]["stubMapping"]["id"],
        id.as_str(),
        "{listed}"
    );

    // A reset through one process empties the journal for both.
    assert_eq!(
        post_json(&two, "/__admin/requests/reset", &Value::Null)
            .await
            .0,
        200
    );
    assert_eq!(count_through(&one, json!({})).await, 0);
    one.stop().await;
    two.stop().await;

    // Per process, on request: the other process does not see the request.
    let Some(one) =
        TestApp::spawn_with(Backend::Postgres, |s| s.mocks.journal_shared = false).await
    else {
        return;
    };
    let two = one.spawn_beside().await;
    stub(
        &one,
        json!({"request": {"urlPath": "/local"}, "response": {"body": "ok"}}),
    )
    .await;
    let seen = eventually(|| async {
        let response = http.get(two.url("/local")).send().await.ok()?;
        (response.status() == 200).then_some(())
    })
    .await;
    assert!(seen.is_some(), "the stub reached the second process");
    let before = count_through(&two, json!({"url": "/local"})).await;
    assert_eq!(call(&one, &get("/local")).await.0, 200);
    assert_eq!(count_through(&one, json!({"url": "/local"})).await, 1);
    assert_eq!(
        count_through(&two, json!({"url": "/local"})).await,
        before,
        "the second process counts only its own requests (the probes)"
    );
    one.stop().await;
    two.stop().await;
}

/// Polls until `check` gives a value, for up to 10 seconds.
async fn eventually<T, F, Fut>(check: F) -> Option<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(value) = check().await {
            return Some(value);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// A 1xx status is an interim answer: it cannot end a request, and a 101
/// would switch the connection to another protocol, leaving later requests on
/// it unanswered. Refused at creation, on both APIs.
async fn an_interim_status_cannot_end_a_mock_response(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for status in [100, 101, 103, 199] {
        let (code, body) = post_json(
            &app,
            "/__admin/mappings",
            &json!({"request": {"urlPath": "/interim"}, "response": {"status": status}}),
        )
        .await;
        assert_eq!(code, 422, "{status}: {body}");
        assert_eq!(admin_field(&body), "response.status", "{body}");
        let (code, body) = create_endpoint(&app, "GET", "/interim", json!({"code": status})).await;
        assert_eq!(
            (code, body),
            (400, json!({"error": "Invalid response code"})),
            "{status}"
        );
    }
    let (_, listed) = get_json(&app, "/__admin/mappings").await;
    assert_eq!(listed["mappings"], json!([]), "nothing refused is stored");
    let (code, _) = create_endpoint(&app, "GET", "/fine", json!({"code": 200})).await;
    assert_eq!(code, 201);
    app.stop().await;
}

// ---- admin bodies as the OpenAPI document describes them (#18) ---------------------

async fn admin_bodies_are_read_as_documented(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // A null matcher map is left out, as WireMock (Jackson) reads it.
    let nulls = json!({"request": {"urlPath": "/null-maps", "headers": null,
        "queryParameters": null, "cookies": null, "pathParameters": null}});
    let (status, body) = post_json(&app, "/__admin/mappings", &nulls).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = post_json(&app, "/__admin/requests/count", &nulls["request"]).await;
    assert_eq!((status, body["count"].clone()), (200, json!(0)), "{body}");

    // Import options of the wrong type are refused, naming the field, not ignored.
    for (options, field) in [
        (json!([null]), "importOptions"),
        (
            json!({"duplicatePolicy": 1}),
            "importOptions.duplicatePolicy",
        ),
        (
            json!({"deleteAllNotInImport": "yes"}),
            "importOptions.deleteAllNotInImport",
        ),
    ] {
        let import = json!({"mappings": [], "importOptions": options});
        let (status, problem) = post_json(&app, "/__admin/mappings/import", &import).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(admin_field(&problem), field, "{problem}");
    }
    let import = json!({"mappings": [], "importOptions": {"duplicatePolicy": null, "deleteAllNotInImport": null}});
    assert_eq!(
        post_json(&app, "/__admin/mappings/import", &import).await.0,
        200
    );
    let import = json!({"mappings": [], "importOptions": null});
    assert_eq!(
        post_json(&app, "/__admin/mappings/import", &import).await.0,
        200
    );

    // A scenario state body must be an object whose state is a string (or null).
    stub(
        &app,
        json!({"scenarioName": "s", "request": {"urlPath": "/s"}}),
    )
    .await;
    for body in [json!([1]), json!({"state": 5})] {
        let (status, problem) = put_json(&app, "/__admin/scenarios/s/state", &body).await;
        assert_eq!(status, 422, "{body}: {problem}");
    }
    for body in [
        json!({"state": "Started"}),
        json!({"state": null}),
        json!({}),
    ] {
        let (status, problem) = put_json(&app, "/__admin/scenarios/s/state", &body).await;
        assert_eq!(status, 200, "{body}: {problem}");
    }
    app.stop().await;
}
