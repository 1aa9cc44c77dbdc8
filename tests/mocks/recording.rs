//! Record and playback (`/__admin/recordings/*`) over HTTP: one server is the
//! real service (its stubs answer), another records what its proxy got from
//! it, and plays it back once the real service is gone.

use serde_json::{Value, json};

use super::common::{Backend, TestApp};
use super::{get_json, post_json, stub};

/// The "real" service: a few stubs, one of them answering differently the
/// second time (a scenario of its own).
async fn real_service(backend: Backend) -> Option<TestApp> {
    let service = TestApp::spawn(backend).await?;
    stub(
        &service,
        json!({"request": {"method": "GET", "urlPath": "/api/items"},
            "response": {"status": 200, "jsonBody": {"items": [1, 2]},
                "headers": {"X-Service": "real"}}}),
    )
    .await;
    stub(
        &service,
        json!({"request": {"method": "POST", "urlPath": "/api/items"},
            "response": {"status": 201, "headers": {"Location": "/api/items/3"}}}),
    )
    .await;
    for (state, next, body) in [("Started", "second", "one"), ("second", "third", "two")] {
        stub(
            &service,
            json!({"request": {"method": "GET", "urlPath": "/api/counter"},
                "scenarioName": "counter", "requiredScenarioState": state,
                "newScenarioState": next, "response": {"body": body}}),
        )
        .await;
    }
    Some(service)
}

async fn spawn_recorder(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |s| {
        s.mocks.proxy_allowed_targets = vec![
            echobase::setting::SettingValue::from_setting(&toml::Value::String(
                "127.0.0.0/8".into(),
            ))
            .unwrap(),
        ];
    })
    .await
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String) {
    let mut request = app.client.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        app.url(path),
    );
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn status_of(app: &TestApp) -> String {
    let (_, body) = get_json(app, "/__admin/recordings/status").await;
    body["status"].as_str().unwrap_or_default().to_owned()
}

/// The traffic a test records: every kind of stub the recorder makes.
async fn traffic(app: &TestApp) {
    let json_body = [("content-type", "application/json"), ("X-Tenant", "t1")];
    assert_eq!(
        send(app, "GET", "/api/items", &[("X-Tenant", "t1")], None)
            .await
            .0,
        200
    );
    assert_eq!(
        send(
            app,
            "POST",
            "/api/items",
            &json_body,
            Some(r#"{"name": "x", "tags": ["a", "b"]}"#)
        )
        .await
        .0,
        201
    );
    assert_eq!(send(app, "GET", "/api/counter", &[], None).await.1, "one");
    assert_eq!(send(app, "GET", "/api/counter", &[], None).await.1, "two");
}

/// Start, traffic through the recorder, stop; then the real service goes and
/// the recorder answers the same requests alike from its new stubs.
pub async fn a_recording_plays_back_without_the_real_service(backend: Backend) {
    let Some(service) = real_service(backend).await else {
        return;
    };
    let Some(recorder) = spawn_recorder(backend).await else {
        return;
    };
    assert_eq!(status_of(&recorder).await, "NeverStarted");
    let (status, body) = post_json(
        &recorder,
        "/__admin/recordings/start",
        &json!({"targetBaseUrl": format!("http://{}", service.addr),
            "captureHeaders": {"X-Tenant": {}}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_of(&recorder).await, "Recording");
    traffic(&recorder).await;

    let (status, stopped) = post_json(&recorder, "/__admin/recordings/stop", &Value::Null).await;
    assert_eq!(status, 200, "{stopped}");
    let mappings = stopped["mappings"].as_array().unwrap();
    assert_eq!(mappings.len(), 4, "{stopped}");
    assert_eq!(status_of(&recorder).await, "Stopped");
    let post = mappings
        .iter()
        .find(|m| m["request"]["method"] == "POST")
        .unwrap();
    assert_eq!(
        post["request"]["bodyPatterns"][0]["equalToJson"],
        json!({"name": "x", "tags": ["a", "b"]}),
        "{post}"
    );
    assert_eq!(
        post["request"]["headers"]["X-Tenant"]["equalTo"], "t1",
        "{post}"
    );
    assert_eq!(
        post["response"]["headers"]["location"], "/api/items/3",
        "{post}"
    );
    assert_eq!(post["name"], "api_items", "{post}");
    assert_eq!(post["persistent"], true, "{post}");
    let counters: Vec<&Value> = mappings
        .iter()
        .filter(|m| m["request"]["url"] == "/api/counter")
        .collect();
    assert_eq!(counters.len(), 2);
    assert!(
        counters
            .iter()
            .all(|m| m["scenarioName"] == "scenario-1-api-counter"),
        "{counters:?}"
    );
    // Only the recorded stubs are left: the recording's proxy stub is gone.
    let (_, all) = get_json(&recorder, "/__admin/mappings").await;
    assert_eq!(all["mappings"].as_array().unwrap().len(), 4, "{all}");

    // The real service goes; the recorder answers alike.
    service.stop().await;
    let (status, items) = send(&recorder, "GET", "/api/items", &[("X-Tenant", "t1")], None).await;
    assert_eq!((status, items.as_str()), (200, r#"{"items":[1,2]}"#));
    let (status, _) = send(&recorder, "GET", "/api/items", &[("X-Tenant", "t2")], None).await;
    assert_eq!(status, 404, "a captured header must match");
    assert_eq!(
        send(&recorder, "GET", "/api/counter", &[], None).await.1,
        "one"
    );
    assert_eq!(
        send(&recorder, "GET", "/api/counter", &[], None).await.1,
        "two"
    );
    let json_body = [("content-type", "application/json"), ("X-Tenant", "t1")];
    let (status, _) = send(
        &recorder,
        "POST",
        "/api/items",
        &json_body,
        Some(r#"{"tags": ["b", "a"], "name": "x"}"#),
    )
    .await;
    assert_eq!(status, 201, "the same JSON, in another order");
    let (status, _) = send(
        &recorder,
        "POST",
        "/api/items",
        &json_body,
        Some(r#"{"name": "y"}"#),
    )
    .await;
    assert_eq!(status, 404, "another body");

    let (status, body) = post_json(&recorder, "/__admin/recordings/stop", &Value::Null).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["code"], 30, "{body}");
    recorder.stop().await;
}

/// A snapshot makes stubs of what any proxy stub answered, whenever it is
/// taken; large bodies go to body files.
pub async fn a_snapshot_records_what_proxy_stubs_answered(backend: Backend) {
    let Some(service) = real_service(backend).await else {
        return;
    };
    let Some(recorder) = spawn_recorder(backend).await else {
        return;
    };
    stub(
        &recorder,
        json!({"request": {"urlPathPattern": "/api/.*"},
            "response": {"proxyBaseUrl": format!("http://{}", service.addr)}}),
    )
    .await;
    stub(
        &recorder,
        json!({"request": {"urlPath": "/local"}, "response": {"body": "not proxied"}}),
    )
    .await;
    assert_eq!(send(&recorder, "GET", "/api/items", &[], None).await.0, 200);
    assert_eq!(send(&recorder, "GET", "/api/items", &[], None).await.0, 200);
    assert_eq!(send(&recorder, "GET", "/local", &[], None).await.0, 200);
    let (status, body) = post_json(
        &recorder,
        "/__admin/recordings/snapshot",
        &json!({"outputFormat": "IDS", "repeatsAsScenarios": false,
            "extractBodyCriteria": {"textSizeThreshold": "1 b"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let ids = body["ids"].as_array().unwrap();
    assert_eq!(
        ids.len(),
        1,
        "one stub for the repeated request, none for /local: {body}"
    );
    let id = ids[0].as_str().unwrap();
    let (_, mapping) = get_json(&recorder, &format!("/__admin/mappings/{id}")).await;
    let file = mapping["response"]["bodyFileName"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        file.starts_with("api_items-") && file.ends_with(".json"),
        "{mapping}"
    );
    let content = recorder.get(&format!("/__admin/files/{file}")).await;
    assert_eq!(content.text().await.unwrap(), r#"{"items":[1,2]}"#);
    // The recorded stub is newer than the proxy stub: it answers, from the file.
    service.stop().await;
    let (status, items) = send(&recorder, "GET", "/api/items", &[], None).await;
    assert_eq!((status, items.as_str()), (200, r#"{"items":[1,2]}"#));
    recorder.stop().await;
}

pub async fn recording_specs_are_checked(backend: Backend) {
    let Some(recorder) = spawn_recorder(backend).await else {
        return;
    };
    for (spec, pointer) in [
        (json!({}), "/targetBaseUrl"),
        (
            json!({"targetBaseUrl": "http://127.0.0.1:1", "transformers": ["x"]}),
            "/transformers",
        ),
        (
            json!({"targetBaseUrl": "http://127.0.0.1:1", "outputFormat": "xml"}),
            "/outputFormat",
        ),
        (
            json!({"targetBaseUrl": "http://127.0.0.1:1", "filters": {"urlPattern": "("}}),
            "/filters/urlPattern",
        ),
    ] {
        let (status, body) = post_json(&recorder, "/__admin/recordings/start", &spec).await;
        assert_eq!(status, 422, "{spec}: {body}");
        assert_eq!(
            body["errors"][0]["source"]["pointer"], pointer,
            "{spec}: {body}"
        );
    }
    assert_eq!(
        status_of(&recorder).await,
        "NeverStarted",
        "nothing started"
    );
    let (_, all) = get_json(&recorder, "/__admin/mappings").await;
    assert_eq!(all["mappings"], json!([]), "{all}");
    recorder.stop().await;
}

/// On PostgreSQL a recording is every process's: started through one,
/// traffic through another, stopped through a third.
pub async fn a_recording_spans_every_process_on_postgres(backend: Backend) {
    if backend != Backend::Postgres {
        return;
    }
    let Some(service) = real_service(backend).await else {
        return;
    };
    let Some(first) = spawn_recorder(backend).await else {
        return;
    };
    let second = first.spawn_beside().await;
    let third = first.spawn_beside().await;
    let (status, _) = post_json(
        &first,
        "/__admin/recordings/start",
        &json!({"targetBaseUrl": format!("http://{}", service.addr)}),
    )
    .await;
    assert_eq!(status, 200);
    // The proxy stub reaches the other processes through the change listener.
    let mut answered = 0;
    for _ in 0..100 {
        answered = send(&second, "GET", "/api/items", &[], None).await.0;
        if answered == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(answered, 200);
    // Each process hears of the change on its own: the third may be a moment later.
    let mut third_status = String::new();
    for _ in 0..100 {
        third_status = status_of(&third).await;
        if third_status == "Recording" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(third_status, "Recording");
    let (status, stopped) = post_json(&third, "/__admin/recordings/stop", &Value::Null).await;
    assert_eq!(status, 200, "{stopped}");
    let urls: Vec<&str> = stopped["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["request"]["url"].as_str())
        .collect();
    assert_eq!(urls, ["/api/items"], "{stopped}");
    for app in [first, second, third, service] {
        app.stop().await;
    }
}
