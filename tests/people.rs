//! The people module: the original `rest_app` contract over HTTP, the native
//! `/v1/people` API (validation, merge patch, ETags, listing, batch), each on
//! SQLite and PostgreSQL. The store's own contract is in `tests/stores/people.rs`.

mod common;

use std::collections::HashSet;

use common::{Backend, TestApp};
use reqwest::Response;
use serde_json::{Value, json};

on_both_backends!(
    original_curl_example_creates_peter_with_id_1,
    compat_get_returns_the_person_and_unknown_id_is_the_original_404_string,
    compat_delete_returns_the_deleted_person_then_404_names_the_id,
    compat_bad_input_is_400_naming_the_field_never_500,
    compat_reads_data_from_multipart_json_and_query_and_without_trailing_slash,
    compat_and_native_share_one_store,
    native_create_is_201_with_location_and_etag,
    native_validation_reports_every_bad_field,
    native_locale_must_be_bcp47_and_is_stored_in_canonical_case,
    native_put_replaces_and_bumps_the_etag,
    merge_patch_changes_only_the_given_fields,
    merge_patch_content_type_and_null_removal,
    if_none_match_is_304_and_stale_if_match_is_412,
    ids_are_never_reused_after_delete,
    concurrent_creates_each_get_their_own_row,
    filters_on_each_field,
    unknown_filter_fields_operators_and_values_are_400_problems,
    sort_by_several_fields_with_id_as_tiebreaker,
    page_pagination_has_total_and_links_and_a_page_past_the_end_is_empty,
    cursor_pagination_is_stable_under_concurrent_inserts,
    counting_is_the_clients_choice_with_prefer,
    listing_etag_answers_304_until_something_changes,
    batch_creates_all_in_input_order,
    batch_with_an_invalid_item_creates_nothing_and_names_each_item,
    batch_limits_and_shape,
    openapi_lists_every_people_route,
);

const CURL_BODY: &str = r#"data={"name": "peter", "locale": "NYC", "age": 42}"#;

async fn compat_put(app: &TestApp, content_type: &str, body: &str) -> Response {
    app.send_body(
        reqwest::Method::PUT,
        "/resources/data/",
        content_type,
        body.to_owned(),
    )
    .await
}

async fn send_json(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> Response {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("content-type", "application/json")
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// `GET path` with `If-None-Match: tag`.
async fn get_if_none_match(app: &TestApp, path: &str, tag: &str) -> Response {
    app.get_with(path, "if-none-match", tag).await
}

/// `DELETE path` with `If-Match: tag`.
async fn delete_if_match(app: &TestApp, path: &str, tag: &str) -> Response {
    app.client
        .delete(app.url(path))
        .header("if-match", tag)
        .send()
        .await
        .unwrap()
}

/// A merge patch of `path` with `If-Match: tag`.
async fn merge_patch_if_match(app: &TestApp, path: &str, tag: &str, body: &str) -> Response {
    app.client
        .patch(app.url(path))
        .header("content-type", "application/merge-patch+json")
        .header("if-match", tag)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// `PUT path` with `body` as JSON and `headers`.
async fn put_json(app: &TestApp, path: &str, body: &Value, headers: &[(&str, &str)]) -> Response {
    send_json(app, reqwest::Method::PUT, path, body, headers).await
}

async fn create(app: &TestApp, name: &str, age: i64, locale: &str) -> Value {
    let response = send_json(
        app,
        reqwest::Method::POST,
        "/v1/people",
        &json!({"name": name, "age": age, "locale": locale}),
        &[],
    )
    .await;
    assert_eq!(response.status(), 201, "creating {name}");
    response.json().await.unwrap()
}

fn etag(response: &Response) -> String {
    response.headers()["etag"].to_str().unwrap().to_owned()
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn field_errors(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn names(response: Response) -> Vec<String> {
    let body: Vec<Value> = response.json().await.unwrap();
    body.iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

/// `Link` relations to their URLs.
fn links(response: &Response) -> Vec<(String, String)> {
    let Some(link) = header(response, "link") else {
        return Vec::new();
    };
    link.split(", ")
        .map(|part| {
            let (url, rel) = part.split_once("; rel=").unwrap();
            (
                rel.trim_matches('"').to_owned(),
                url.trim_matches(['<', '>']).to_owned(),
            )
        })
        .collect()
}

fn link(response: &Response, rel: &str) -> Option<String> {
    links(response)
        .into_iter()
        .find(|(r, _)| r == rel)
        .map(|(_, url)| url)
}

async fn original_curl_example_creates_peter_with_id_1(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // What `curl -X PUT -d 'data={...}' URL` sends.
    let response = compat_put(&app, "application/x-www-form-urlencoded", CURL_BODY).await;
    assert_eq!(response.status(), 200);
    assert!(
        header(&response, "content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"age":42,"id":1,"locale":"NYC","name":"peter"}"#
    );

    // And the command itself, when curl is installed.
    let url = app.url("/resources/data/");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["-s", "-X", "PUT", "-d", CURL_BODY, &url])
            .output()
    })
    .await
    .unwrap();
    if let Ok(output) = output {
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            r#"{"age":42,"id":2,"locale":"NYC","name":"peter"}"#
        );
    }
    app.stop().await;
}

async fn compat_get_returns_the_person_and_unknown_id_is_the_original_404_string(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    compat_put(&app, "application/x-www-form-urlencoded", CURL_BODY).await;
    let response = app.get("/resources/data/1").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"id": 1, "name": "peter", "age": 42, "locale": "NYC"})
    );

    let response = app.get("/resources/data/999").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.text().await.unwrap(),
        r#""Encountered an error. Are you sure the person ID you requested exists?""#
    );
    app.stop().await;
}

async fn compat_delete_returns_the_deleted_person_then_404_names_the_id(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    compat_put(&app, "application/x-www-form-urlencoded", CURL_BODY).await;
    let delete = || async {
        app.client
            .delete(app.url("/resources/data/1"))
            .send()
            .await
            .unwrap()
    };
    let response = delete().await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"id": 1, "name": "peter", "age": 42, "locale": "NYC"})
    );
    assert_eq!(app.get("/resources/data/1").await.status(), 404);

    let response = delete().await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!("Failed to delete person with ID 1, are you sure this ID exists?")
    );
    app.stop().await;
}

async fn compat_bad_input_is_400_naming_the_field_never_500(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| s.body_limit = 4096).await else {
        return;
    };
    let form = "application/x-www-form-urlencoded";
    let cases: &[(&str, &[&str])] = &[
        ("", &["'data' is missing"]),
        ("other=1", &["'data' is missing"]),
        ("data=not json", &["'data' is not valid JSON"]),
        ("data=[1,2]", &["body must be a JSON object"]),
        (
            r#"data={"name": "peter", "locale": "NYC"}"#,
            &["age is required"],
        ),
        (
            r#"data={"name": "peter", "locale": "NYC", "age": "42"}"#,
            &["age must be an integer"],
        ),
        (
            r#"data={"name": "peter", "locale": "NYC", "age": 42.5}"#,
            &["age must be an integer"],
        ),
        (
            r#"data={"name": "peter", "locale": "NYC", "age": -1}"#,
            &["age must be between 0 and 150"],
        ),
        (
            r#"data={"name": "", "locale": "NYC", "age": 42}"#,
            &["name must not be empty"],
        ),
        (
            r#"data={"name": 7, "age": 42}"#,
            &["name must be a string", "locale is required"],
        ),
        (
            r#"data={"name": "x\u0000y", "locale": "NYC", "age": 42}"#,
            &["name must not contain control characters"],
        ),
        (
            r#"data={"name": "peter", "locale": null, "age": 42}"#,
            &["locale is required"],
        ),
        // The original's injectable SQL: here it is only a name.
        (
            r#"data={"name": "x'); DROP TABLE people; --", "locale": "NYC", "age": 1}"#,
            &[],
        ),
    ];
    for (body, expected) in cases {
        let response = compat_put(&app, form, body).await;
        let status = response.status().as_u16();
        let text: Value = response.json().await.unwrap();
        if expected.is_empty() {
            assert_eq!(status, 200, "{body}: {text}");
            continue;
        }
        assert_eq!(status, 400, "{body}: {text}");
        let message = text.as_str().expect("a JSON string body");
        assert!(
            message.starts_with("Failed to create person: "),
            "{message}"
        );
        for part in *expected {
            assert!(message.contains(part), "{body}: {message} lacks {part}");
        }
    }
    let response = compat_put(&app, form, &format!("data={}", "x".repeat(5000))).await;
    assert_eq!(response.status(), 413);
    assert!(response.json::<Value>().await.unwrap().is_string());

    for path in ["/resources/data/abc", "/resources/data/1.5"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 400, "{path}");
        let message: Value = response.json().await.unwrap();
        assert!(message.as_str().unwrap().contains("ID"), "{message}");
        let response = app.client.delete(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 400, "{path}");
    }
    // The injection attempt left the table alone.
    assert_eq!(app.get("/resources/data/1").await.status(), 200);
    app.stop().await;
}

async fn compat_reads_data_from_multipart_json_and_query_and_without_trailing_slash(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let person = r#"{"name": "peter", "locale": "NYC", "age": 42}"#;
    let multipart = format!(
        "--b0undary\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n{person}\r\n--b0undary--\r\n"
    );
    let response = compat_put(&app, "multipart/form-data; boundary=b0undary", &multipart).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["id"], 1);

    let response = compat_put(
        &app,
        "application/json",
        &json!({ "data": person }).to_string(),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["id"], 2);

    let response = app
        .client
        .put(app.url(&format!(
            "/resources/data?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("data", person)
                .finish()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"id": 3, "name": "peter", "age": 42, "locale": "NYC"})
    );
    app.stop().await;
}

async fn compat_and_native_share_one_store(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    compat_put(&app, "application/x-www-form-urlencoded", CURL_BODY).await;
    let native = app.get("/v1/people/1").await;
    assert_eq!(native.status(), 200);
    assert_eq!(
        native.json::<Value>().await.unwrap(),
        json!({"id": 1, "name": "peter", "age": 42, "locale": "NYC"})
    );
    // A patch that leaves the original's free-text locale alone keeps it as stored.
    let patched = patch(
        &app,
        "/v1/people/1",
        "application/merge-patch+json",
        r#"{"age": 43}"#,
    )
    .await;
    assert_eq!(patched.status(), 200);
    assert_eq!(patched.json::<Value>().await.unwrap()["locale"], "NYC");
    let created = create(&app, "anna", 30, "de-DE").await;
    assert_eq!(created["id"], 2);
    let compat = app.get("/resources/data/2").await;
    assert_eq!(
        compat.json::<Value>().await.unwrap(),
        json!({"id": 2, "name": "anna", "age": 30, "locale": "de-DE"})
    );
    app.stop().await;
}

async fn native_create_is_201_with_location_and_etag(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = send_json(
        &app,
        reqwest::Method::POST,
        "/v1/people",
        &json!({"name": "Zoë", "age": 0, "locale": "fr-CA"}),
        &[],
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(header(&response, "location").unwrap(), "/v1/people/1");
    let tag = etag(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"id": 1, "name": "Zoë", "age": 0, "locale": "fr-CA"})
    );

    let fetched = app.get("/v1/people/1").await;
    assert_eq!(fetched.status(), 200);
    assert_eq!(etag(&fetched), tag);
    assert_eq!(fetched.json::<Value>().await.unwrap(), body);

    let missing = app.get("/v1/people/2").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        header(&missing, "content-type").unwrap(),
        "application/problem+json"
    );
    assert_eq!(app.get("/v1/people/abc").await.status(), 400);
    app.stop().await;
}

async fn native_validation_reports_every_bad_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let long_name = "n".repeat(201);
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({}), vec!["name", "age", "locale"]),
        (json!({"name": "", "age": 1, "locale": "en"}), vec!["name"]),
        (
            json!({"name": "  ", "age": 1, "locale": "en"}),
            vec!["name"],
        ),
        (
            json!({"name": long_name, "age": 1, "locale": "en"}),
            vec!["name"],
        ),
        (
            json!({"name": "a", "age": 151, "locale": "en"}),
            vec!["age"],
        ),
        (json!({"name": "a", "age": -1, "locale": "en"}), vec!["age"]),
        (
            json!({"name": "a", "age": 1.5, "locale": "en"}),
            vec!["age"],
        ),
        (
            json!({"name": "a", "age": "1", "locale": "en"}),
            vec!["age"],
        ),
        (
            json!({"name": "a", "age": 1, "locale": "en_US"}),
            vec!["locale"],
        ),
        (json!({"name": "a", "age": 1, "locale": 5}), vec!["locale"]),
        (
            json!({"name": "a", "age": 1, "locale": "en", "id": 9}),
            vec!["id"],
        ),
        (
            json!({"name": "a", "age": 1, "locale": "en", "email": "x"}),
            vec!["email"],
        ),
        (json!([1]), vec!["body"]),
    ];
    for (body, fields) in cases {
        let response = send_json(&app, reqwest::Method::POST, "/v1/people", &body, &[]).await;
        assert_eq!(response.status(), 422, "{body}");
        assert_eq!(
            header(&response, "content-type").unwrap(),
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["status"], 422);
        assert_eq!(field_errors(&problem), fields, "{body}: {problem}");
        for error in problem["errors"].as_array().unwrap() {
            assert!(!error["message"].as_str().unwrap().is_empty());
        }
    }
    // The boundaries themselves are fine.
    create(&app, &"n".repeat(200), 150, "en").await;
    create(&app, "a", 0, "en").await;

    let malformed = app
        .post_body("/v1/people", "application/json", "{not json")
        .await;
    assert_eq!(malformed.status(), 400);
    let wrong_type = app
        .post_body(
            "/v1/people",
            "text/plain",
            r#"{"name": "a", "age": 1, "locale": "en"}"#,
        )
        .await;
    assert_eq!(wrong_type.status(), 415);
    app.stop().await;
}

async fn native_locale_must_be_bcp47_and_is_stored_in_canonical_case(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for (sent, stored) in [
        ("en-us", "en-US"),
        ("ZH-HANT-tw", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("de-CH-1901", "de-CH-1901"),
    ] {
        let person = create(&app, "a", 1, sent).await;
        assert_eq!(person["locale"], stored, "{sent}");
    }
    for bad in [
        "en_GB",
        "en-",
        "e",
        "en US",
        "de-419-DE",
        "abcd",
        "toolongtag",
    ] {
        let response = send_json(
            &app,
            reqwest::Method::POST,
            "/v1/people",
            &json!({"name": "a", "age": 1, "locale": bad}),
            &[],
        )
        .await;
        assert_eq!(response.status(), 422, "{bad}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(field_errors(&problem), ["locale"]);
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("BCP 47")
        );
    }
    app.stop().await;
}

async fn native_put_replaces_and_bumps_the_etag(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    create(&app, "peter", 42, "en-US").await;
    let before = etag(&app.get("/v1/people/1").await);
    // A fetched document can be sent back with its id.
    let response = put_json(
        &app,
        "/v1/people/1",
        &json!({"id": 1, "name": "Peter", "age": 43, "locale": "en-GB"}),
        &[],
    )
    .await;
    assert_eq!(response.status(), 200);
    let after = etag(&response);
    assert_ne!(before, after);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"id": 1, "name": "Peter", "age": 43, "locale": "en-GB"})
    );
    assert_eq!(etag(&app.get("/v1/people/1").await), after);

    // A replace needs every field, and the id must be the URL's.
    let partial = put_json(&app, "/v1/people/1", &json!({"name": "Peter"}), &[]).await;
    assert_eq!(partial.status(), 422);
    assert_eq!(
        field_errors(&partial.json().await.unwrap()),
        ["age", "locale"]
    );
    let other_id = put_json(
        &app,
        "/v1/people/1",
        &json!({"id": 2, "name": "P", "age": 1, "locale": "en"}),
        &[],
    )
    .await;
    assert_eq!(other_id.status(), 422);
    let missing = put_json(
        &app,
        "/v1/people/99",
        &json!({"name": "P", "age": 1, "locale": "en"}),
        &[],
    )
    .await;
    assert_eq!(missing.status(), 404);
    app.stop().await;
}

async fn patch(app: &TestApp, path: &str, content_type: &str, body: &str) -> Response {
    app.send_body(reqwest::Method::PATCH, path, content_type, body.to_owned())
        .await
}

async fn merge_patch_changes_only_the_given_fields(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    create(&app, "peter", 42, "en-US").await;
    let before = etag(&app.get("/v1/people/1").await);
    let response = patch(
        &app,
        "/v1/people/1",
        "application/merge-patch+json",
        r#"{"age": 43}"#,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_ne!(etag(&response), before);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"id": 1, "name": "peter", "age": 43, "locale": "en-US"})
    );
    // application/json is accepted too; locales are canonicalised on patch as well.
    let response = patch(
        &app,
        "/v1/people/1",
        "application/json",
        r#"{"name": "Pete", "locale": "fr-ca"}"#,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"id": 1, "name": "Pete", "age": 43, "locale": "fr-CA"})
    );
    // An empty patch changes nothing but is still a write.
    let response = patch(&app, "/v1/people/1", "application/merge-patch+json", "{}").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["name"], "Pete");

    let invalid = patch(
        &app,
        "/v1/people/1",
        "application/merge-patch+json",
        r#"{"age": 200, "nickname": "p"}"#,
    )
    .await;
    assert_eq!(invalid.status(), 422);
    assert_eq!(
        field_errors(&invalid.json().await.unwrap()),
        ["age", "nickname"]
    );
    let missing = patch(&app, "/v1/people/9", "application/merge-patch+json", "{}").await;
    assert_eq!(missing.status(), 404);
    // Nothing of the failed patches was applied.
    assert_eq!(
        app.get("/v1/people/1").await.json::<Value>().await.unwrap(),
        json!({"id": 1, "name": "Pete", "age": 43, "locale": "fr-CA"})
    );
    app.stop().await;
}

async fn merge_patch_content_type_and_null_removal(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    create(&app, "peter", 42, "en-US").await;
    // null removes a member; every field is required, so that is a 422 naming it.
    let response = patch(
        &app,
        "/v1/people/1",
        "application/merge-patch+json",
        r#"{"locale": null}"#,
    )
    .await;
    assert_eq!(response.status(), 422);
    assert_eq!(field_errors(&response.json().await.unwrap()), ["locale"]);
    // A non-object patch replaces the whole document (RFC 7396), which is not a person.
    let response = patch(&app, "/v1/people/1", "application/merge-patch+json", "[]").await;
    assert_eq!(response.status(), 422);

    for content_type in ["text/plain", "application/json-patch+json"] {
        let response = patch(&app, "/v1/people/1", content_type, r#"{"age": 1}"#).await;
        assert_eq!(response.status(), 415, "{content_type}");
    }
    let response = patch(&app, "/v1/people/1", "application/merge-patch+json", "{").await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        app.get("/v1/people/1").await.json::<Value>().await.unwrap()["age"],
        42
    );
    app.stop().await;
}

async fn if_none_match_is_304_and_stale_if_match_is_412(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    create(&app, "peter", 42, "en-US").await;
    let first = etag(&app.get("/v1/people/1").await);

    let cached = get_if_none_match(&app, "/v1/people/1", &first).await;
    assert_eq!(cached.status(), 304);
    assert_eq!(etag(&cached), first);
    assert!(cached.bytes().await.unwrap().is_empty());
    let weak = get_if_none_match(&app, "/v1/people/1", &format!("\"x\", W/{first}")).await;
    assert_eq!(weak.status(), 304, "weak comparison for If-None-Match");

    // Editor A writes with the tag it read: fine.
    let a = put_json(
        &app,
        "/v1/people/1",
        &json!({"name": "peter", "age": 43, "locale": "en-US"}),
        &[("if-match", &first)],
    )
    .await;
    assert_eq!(a.status(), 200);
    let second = etag(&a);
    assert_ne!(second, first);

    // Editor B still holds the first tag: every kind of write is refused.
    let b_put = put_json(
        &app,
        "/v1/people/1",
        &json!({"name": "pete", "age": 1, "locale": "en"}),
        &[("if-match", &first)],
    )
    .await;
    assert_eq!(b_put.status(), 412);
    assert_eq!(etag(&b_put), second, "the 412 tells the current tag");
    let problem: Value = b_put.json().await.unwrap();
    assert_eq!(problem["status"], 412);
    let b_patch = merge_patch_if_match(&app, "/v1/people/1", &first, r#"{"age": 1}"#).await;
    assert_eq!(b_patch.status(), 412);
    let b_delete = delete_if_match(&app, "/v1/people/1", &first).await;
    assert_eq!(b_delete.status(), 412);
    // A weak tag never satisfies If-Match, nor does another person's tag.
    for tag in [format!("W/{second}"), "\"2.2\"".to_owned()] {
        let response = put_json(
            &app,
            "/v1/people/1",
            &json!({"name": "pete", "age": 1, "locale": "en"}),
            &[("if-match", &tag)],
        )
        .await;
        assert_eq!(response.status(), 412, "{tag}");
    }
    let old = app.get("/v1/people/1").await;
    assert_eq!(
        old.json::<Value>().await.unwrap()["age"],
        43,
        "B changed nothing"
    );

    // The stale tag no longer answers 304.
    let fresh = get_if_none_match(&app, "/v1/people/1", &first).await;
    assert_eq!(fresh.status(), 200);

    // With the current tag (or *) the writes go through.
    let patched = merge_patch_if_match(
        &app,
        "/v1/people/1",
        &format!("\"0.0\", {second}"),
        r#"{"age": 44}"#,
    )
    .await;
    assert_eq!(patched.status(), 200);
    let deleted = delete_if_match(&app, "/v1/people/1", "*").await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.get("/v1/people/1").await.status(), 404);
    // A precondition on someone who is gone: 404, not 412.
    let gone = delete_if_match(&app, "/v1/people/1", &second).await;
    assert_eq!(gone.status(), 404);
    app.stop().await;
}

async fn ids_are_never_reused_after_delete(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for name in ["a", "b", "c"] {
        create(&app, name, 1, "en").await;
    }
    let deleted = app
        .client
        .delete(app.url("/v1/people/3"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(create(&app, "d", 1, "en").await["id"], 4);
    // The compatible route draws from the same sequence.
    let response = compat_put(&app, "application/x-www-form-urlencoded", CURL_BODY).await;
    assert_eq!(response.json::<Value>().await.unwrap()["id"], 5);
    app.stop().await;
}

async fn concurrent_creates_each_get_their_own_row(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // Enough at once that SQLite's writer commits several in one transaction.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let client = app.client.clone();
        let url = app.url("/v1/people");
        tasks.spawn(async move {
            let body = json!({"name": format!("c{i}"), "age": i % 100, "locale": "en"});
            let response = client
                .post(url)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
            let person: Value = response.json().await.unwrap();
            assert_eq!(
                person["name"],
                format!("c{i}"),
                "each answer is its own row"
            );
            assert_eq!(person["age"], i % 100);
            person["id"].as_i64().unwrap()
        });
    }
    let mut ids = HashSet::new();
    while let Some(id) = tasks.join_next().await {
        assert!(ids.insert(id.unwrap()), "ids are distinct");
    }
    assert_eq!(ids.len(), 200);
    assert_eq!(total(&app).await, "200");
    for id in [1, 100, 200] {
        assert_eq!(app.get(&format!("/v1/people/{id}")).await.status(), 200);
    }
    app.stop().await;
}

/// Six people with ages and locales that the listing tests slice.
async fn seed(app: &TestApp) {
    for (name, age, locale) in [
        ("peter", 42, "en-US"),
        ("anna", 30, "de-DE"),
        ("petra", 30, "en-US"),
        ("bob", 25, "en-GB"),
        ("carl", 61, "sv-SE"),
        ("zoë", 30, "fr-FR"),
    ] {
        create(app, name, age, locale).await;
    }
}

async fn list_names(app: &TestApp, query: &str) -> Vec<String> {
    let response = app.get(&format!("/v1/people?{query}")).await;
    assert_eq!(response.status(), 200, "{query}");
    names(response).await
}

async fn filters_on_each_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    seed(&app).await;
    let cases: &[(&str, &[&str])] = &[
        ("age[gte]=30", &["peter", "anna", "petra", "carl", "zoë"]),
        ("age[gt]=30", &["peter", "carl"]),
        ("age[lt]=30", &["bob"]),
        ("age[lte]=30", &["anna", "petra", "bob", "zoë"]),
        ("age=30", &["anna", "petra", "zoë"]),
        ("age[eq]=30", &["anna", "petra", "zoë"]),
        ("age[ne]=30", &["peter", "bob", "carl"]),
        ("age[gte]=30&age[lt]=50", &["peter", "anna", "petra", "zoë"]),
        ("locale=en-US", &["peter", "petra"]),
        ("locale=en-us", &["peter", "petra"]),
        ("locale[ne]=en-US", &["anna", "bob", "carl", "zoë"]),
        ("locale[contains]=en", &["peter", "petra", "bob"]),
        ("name[contains]=pet", &["peter", "petra"]),
        ("name[contains]=Pet", &[]),
        ("name[contains]=%25", &[]),
        ("name[contains]=ë", &["zoë"]),
        ("name=bob", &["bob"]),
        ("name[gt]=p", &["peter", "petra", "zoë"]),
        ("id[gt]=4", &["carl", "zoë"]),
        ("id=2", &["anna"]),
        ("name[contains]=pet&age=30&locale=en-US", &["petra"]),
        ("age=99", &[]),
    ];
    for (query, expected) in cases {
        assert_eq!(list_names(&app, query).await, *expected, "{query}");
    }
    // Filters count toward X-Total-Count.
    let response = app.get("/v1/people?age=30").await;
    assert_eq!(header(&response, "x-total-count").unwrap(), "3");
    app.stop().await;
}

async fn unknown_filter_fields_operators_and_values_are_400_problems(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    seed(&app).await;
    let cases = [
        ("height=3", "height"),
        ("age[like]=3", "age[like]"),
        ("age[gte=3", "age[gte"),
        ("age[contains]=3", "age[contains]"),
        ("age=old", "age"),
        ("age[gte]=99999999999", "age[gte]"),
        ("id=x", "id"),
        ("sort=height", "sort"),
        ("sort=age,age", "sort"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("page=9223372036854775808", "page"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("cursor=bm90IGEgY3Vyc29y", "cursor"),
        ("cursor=&page=2", "cursor"),
        ("name=a%00b", "name"),
    ];
    for (query, field) in cases {
        let response = app.get(&format!("/v1/people?{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(
            header(&response, "content-type").unwrap(),
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(field_errors(&problem), [field], "{query}: {problem}");
    }
    // Several problems at once, each named.
    let response = app.get("/v1/people?height=3&age[like]=1&sort=x").await;
    let problem: Value = response.json().await.unwrap();
    assert_eq!(field_errors(&problem), ["height", "age[like]", "sort"]);
    app.stop().await;
}

async fn sort_by_several_fields_with_id_as_tiebreaker(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    seed(&app).await;
    let cases: &[(&str, &[&str])] = &[
        ("", &["peter", "anna", "petra", "bob", "carl", "zoë"]),
        (
            "sort=-age,name",
            &["carl", "peter", "anna", "petra", "zoë", "bob"],
        ),
        (
            "sort=age",
            &["bob", "anna", "petra", "zoë", "peter", "carl"],
        ),
        // Ties follow the last key's direction: the newest of an age first.
        (
            "sort=-age",
            &["carl", "peter", "zoë", "petra", "anna", "bob"],
        ),
        (
            "sort=age,-id",
            &["bob", "zoë", "petra", "anna", "peter", "carl"],
        ),
        (
            "sort=-name",
            &["zoë", "petra", "peter", "carl", "bob", "anna"],
        ),
        (
            "sort=locale,-age",
            &["anna", "bob", "peter", "petra", "zoë", "carl"],
        ),
        (
            "sort=-id",
            &["zoë", "carl", "bob", "petra", "anna", "peter"],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(list_names(&app, query).await, *expected, "{query}");
    }
    app.stop().await;
}

async fn page_pagination_has_total_and_links_and_a_page_past_the_end_is_empty(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for i in 1..=7 {
        create(&app, &format!("p{i}"), i, "en").await;
    }
    let first = app.get("/v1/people?sort=-age&per_page=3").await;
    assert_eq!(header(&first, "x-total-count").unwrap(), "7");
    assert_eq!(
        links(&first),
        vec![
            (
                "first".into(),
                "/v1/people?sort=-age&per_page=3&page=1".into()
            ),
            (
                "next".into(),
                "/v1/people?sort=-age&per_page=3&page=2".into()
            ),
            (
                "last".into(),
                "/v1/people?sort=-age&per_page=3&page=3".into()
            ),
        ]
    );
    assert_eq!(names(first).await, ["p7", "p6", "p5"]);

    let next = app.get("/v1/people?sort=-age&per_page=3&page=2").await;
    assert_eq!(
        link(&next, "prev").as_deref(),
        Some("/v1/people?sort=-age&per_page=3&page=1")
    );
    assert_eq!(
        link(&next, "next").as_deref(),
        Some("/v1/people?sort=-age&per_page=3&page=3")
    );
    assert_eq!(names(next).await, ["p4", "p3", "p2"]);

    let last = app.get("/v1/people?sort=-age&per_page=3&page=3").await;
    assert_eq!(link(&last, "next"), None);
    assert_eq!(header(&last, "x-next-cursor"), None);
    assert_eq!(names(last).await, ["p1"]);

    let past = app.get("/v1/people?sort=-age&per_page=3&page=9").await;
    assert_eq!(past.status(), 200);
    assert_eq!(header(&past, "x-total-count").unwrap(), "7");
    assert_eq!(link(&past, "next"), None);
    assert_eq!(
        link(&past, "prev").as_deref(),
        Some("/v1/people?sort=-age&per_page=3&page=3"),
        "prev from past the end is the last page"
    );
    assert!(names(past).await.is_empty());

    // Filters are kept in the links, and an empty result still has one page.
    let none = app.get("/v1/people?age[gt]=100").await;
    assert_eq!(header(&none, "x-total-count").unwrap(), "0");
    assert_eq!(
        link(&none, "last").as_deref(),
        Some("/v1/people?age%5Bgt%5D=100&per_page=20&page=1")
    );
    // A huge page number is no error, just empty.
    let far = app
        .get("/v1/people?page=9223372036854775807&per_page=100")
        .await;
    assert_eq!(far.status(), 200);
    assert!(names(far).await.is_empty());
    app.stop().await;
}

async fn counting_is_the_clients_choice_with_prefer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for i in 1..=7 {
        create(&app, &format!("p{i}"), i, "en").await;
    }
    let rels = |response: &Response| -> Vec<String> {
        links(response).into_iter().map(|(rel, _)| rel).collect()
    };
    let prefer = |path: &'static str, value: &'static str| app.get_with(path, "prefer", value);

    // No count: no total and no `last`; `next` from the extra row read.
    let first = prefer("/v1/people?per_page=3", "count=none").await;
    assert_eq!(header(&first, "x-total-count"), None);
    assert_eq!(
        header(&first, "preference-applied").as_deref(),
        Some("count=none")
    );
    assert_eq!(header(&first, "vary").as_deref(), Some("prefer"));
    assert_eq!(rels(&first), ["first", "next"]);
    assert_eq!(names(first).await, ["p1", "p2", "p3"]);
    let end = prefer("/v1/people?per_page=3&page=3", "count=none").await;
    assert_eq!(rels(&end), ["first", "prev"]);
    assert_eq!(names(end).await, ["p7"]);

    // Estimated: exact this far below its bound, with every link.
    let estimated = prefer("/v1/people?per_page=3&page=2", "count=estimated").await;
    assert_eq!(header(&estimated, "x-total-count").as_deref(), Some("7"));
    assert_eq!(
        header(&estimated, "preference-applied").as_deref(),
        Some("count=estimated")
    );
    assert_eq!(rels(&estimated), ["first", "prev", "next", "last"]);
    let planned = prefer("/v1/people?age[gt]=5", "count=planned").await;
    assert_eq!(header(&planned, "x-total-count").as_deref(), Some("2"));

    // Cursors do not count unless asked to.
    let cursor = app.get("/v1/people?cursor=&per_page=3").await;
    assert_eq!(header(&cursor, "x-total-count"), None);
    let counted = prefer("/v1/people?cursor=&per_page=3", "count=exact").await;
    assert_eq!(header(&counted, "x-total-count").as_deref(), Some("7"));
    assert_eq!(rels(&counted), ["next"]);

    // An unknown count is a hint to ignore: pages count exactly by default.
    let unknown = prefer("/v1/people?per_page=3", "count=maybe").await;
    assert_eq!(unknown.status(), 200);
    assert_eq!(header(&unknown, "x-total-count").as_deref(), Some("7"));
    assert_eq!(header(&unknown, "preference-applied"), None);
    app.stop().await;
}

async fn cursor_pagination_is_stable_under_concurrent_inserts(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // Ages 10, 20, ..., 100.
    for i in 1..=10 {
        create(&app, &format!("p{}", i * 10), i * 10, "en").await;
    }
    let mut seen: Vec<Value> = Vec::new();
    let mut url = "/v1/people?sort=age&per_page=3&cursor=".to_owned();
    let mut pages = 0;
    loop {
        let response = app.get(&url).await;
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(header(&response, "x-total-count"), None);
        let next = link(&response, "next");
        assert_eq!(next.is_some(), header(&response, "x-next-cursor").is_some());
        let page: Vec<Value> = response.json().await.unwrap();
        seen.extend(page);
        pages += 1;
        if pages == 1 {
            // Others write between our pages: one row sorts before where we
            // are (never shown), one after (shown in its place), and one ties
            // on age with the last row seen but has a later id (shown next).
            create(&app, "early", 15, "en").await;
            create(&app, "late", 95, "en").await;
            create(&app, "same-age-later-id", 30, "en").await;
        }
        match next {
            Some(next) => url = next,
            None => break,
        }
    }
    let seen_names: Vec<&str> = seen.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        seen_names,
        [
            "p10",
            "p20",
            "p30",
            "same-age-later-id",
            "p40",
            "p50",
            "p60",
            "p70",
            "p80",
            "p90",
            "late",
            "p100"
        ],
        "no row twice, none skipped, new rows after the cursor included"
    );
    let ids: HashSet<i64> = seen.iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), seen.len());

    // A cursor from page mode's X-Next-Cursor continues the same order.
    let page = app.get("/v1/people?sort=-age,name&per_page=4").await;
    let token = header(&page, "x-next-cursor").expect("more rows");
    let first_four = names(page).await;
    let rest = list_names(&app, &format!("sort=-age,name&per_page=100&cursor={token}")).await;
    let all = list_names(&app, "sort=-age,name&per_page=100").await;
    assert_eq!([first_four, rest].concat(), all);
    // ... and only with the same sort.
    let wrong = app
        .get(&format!("/v1/people?sort=age&cursor={token}"))
        .await;
    assert_eq!(wrong.status(), 400);
    app.stop().await;
}

async fn listing_etag_answers_304_until_something_changes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    seed(&app).await;
    let response = app.get("/v1/people?age=30").await;
    let tag = etag(&response);
    let cached = get_if_none_match(&app, "/v1/people?age=30", &tag).await;
    assert_eq!(cached.status(), 304);
    patch(
        &app,
        "/v1/people/2",
        "application/merge-patch+json",
        r#"{"name": "annie"}"#,
    )
    .await;
    let changed = get_if_none_match(&app, "/v1/people?age=30", &tag).await;
    assert_eq!(changed.status(), 200);
    assert_ne!(etag(&changed), tag);
    app.stop().await;
}

async fn post_batch(app: &TestApp, body: &Value) -> Response {
    send_json(app, reqwest::Method::POST, "/v1/people:batch", body, &[]).await
}

async fn total(app: &TestApp) -> String {
    header(&app.get("/v1/people").await, "x-total-count").unwrap()
}

async fn batch_creates_all_in_input_order(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    create(&app, "first", 1, "en").await;
    // The default limit, across two INSERT chunks of 500.
    let items: Vec<Value> = (0..1000)
        .map(|i| json!({"name": format!("b{i}"), "age": i % 151, "locale": "en-us"}))
        .collect();
    let response = post_batch(&app, &Value::Array(items)).await;
    assert_eq!(response.status(), 201);
    let created: Vec<Value> = response.json().await.unwrap();
    assert_eq!(created.len(), 1000);
    for (i, person) in created.iter().enumerate() {
        assert_eq!(person["name"], format!("b{i}"));
        assert_eq!(person["id"], i as i64 + 2);
        assert_eq!(person["locale"], "en-US");
    }
    assert_eq!(total(&app).await, "1001");
    let fetched = app.get("/v1/people/1001").await;
    assert_eq!(fetched.json::<Value>().await.unwrap()["name"], "b999");
    // The colon route does not shadow, nor is shadowed by, /v1/people/{id}.
    assert_eq!(app.get("/v1/people/2").await.status(), 200);
    assert_eq!(app.get("/v1/people:batch").await.status(), 405);
    let empty = post_batch(&app, &json!([])).await;
    assert_eq!(empty.status(), 201);
    assert_eq!(empty.json::<Value>().await.unwrap(), json!([]));
    app.stop().await;
}

async fn batch_with_an_invalid_item_creates_nothing_and_names_each_item(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let body = json!([
        {"name": "ok", "age": 1, "locale": "en"},
        {"name": "ok too", "age": 2, "locale": "en"},
        {"name": "", "age": 3, "locale": "en"},
        {"name": "old", "age": 300, "locale": "en_GB"},
        "not a person",
    ]);
    let response = post_batch(&app, &body).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(
        field_errors(&problem),
        ["2.name", "3.age", "3.locale", "4"],
        "{problem}"
    );
    assert_eq!(total(&app).await, "0", "all or nothing");
    // Nothing was created, so the next id is still 1.
    assert_eq!(create(&app, "next", 1, "en").await["id"], 1);
    app.stop().await;
}

async fn batch_limits_and_shape(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.people.max_batch = 3;
        s.people.max_per_page = 7;
    })
    .await
    else {
        return;
    };
    // The document states the configured limits, not the defaults.
    let document: Value = app.get("/openapi.json").await.json().await.unwrap();
    let batch = &document["paths"]["/v1/people:batch"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert_eq!(batch["maxItems"], 3, "{batch}");
    let parameters = document["paths"]["/v1/people"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let per_page = parameters.iter().find(|p| p["name"] == "per_page").unwrap();
    assert_eq!(per_page["schema"]["maximum"], 7, "{per_page}");

    let person = json!({"name": "a", "age": 1, "locale": "en"});
    let response = post_batch(&app, &json!([person, person, person, person])).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(field_errors(&problem), ["body"]);
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 3")
    );
    let response = post_batch(&app, &person).await;
    assert_eq!(response.status(), 422, "an object, not an array");
    let response = post_batch(&app, &json!([person, person, person])).await;
    assert_eq!(response.status(), 201);
    assert_eq!(total(&app).await, "3");
    app.stop().await;
}

async fn openapi_lists_every_people_route(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    let paths = &spec["paths"];
    for (path, methods) in [
        ("/resources/data/", &["put"][..]),
        ("/resources/data/{id}", &["get", "delete"][..]),
        ("/v1/people", &["get", "post"][..]),
        ("/v1/people/{id}", &["get", "put", "patch", "delete"][..]),
        ("/v1/people:batch", &["post"][..]),
    ] {
        for method in methods {
            assert!(
                paths[path][method].is_object(),
                "{method} {path} is not in /openapi.json"
            );
        }
    }
    app.stop().await;
}
