//! The events module over HTTP on both backends: the original
//! `event_descriptor` contract on its own data set (expected numbers computed
//! here with plain SQL on the original file), ingest and its idempotency,
//! native queries, DORA, and the webhooks of each source.

mod common;

use std::path::PathBuf;

use common::deliveries::deliver;
use common::{Backend, TestApp};
use echobase::config::Secret;
use echobase::db::Database;
use echobase::events::import::{self, ImportOptions};
use echobase::events::store;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

const GITHUB_SECRET: &str = "It's a Secret to Everybody";
const GITLAB_TOKEN: &str = "gl-token-42";

on_both_backends!(
    compat_routes_answer_as_the_original_did_on_its_data_set,
    compat_summary_rows_have_the_originals_numbers_and_inverted_sign,
    compat_errors_have_the_originals_shape,
    importing_the_original_twice_stores_it_once,
    posting_the_same_event_twice_stores_it_once,
    an_event_is_read_back_by_its_id,
    an_invalid_array_stores_nothing_and_names_the_bad_fields,
    ndjson_keeps_good_lines_and_reports_bad_ones_by_number,
    configured_limits_bound_lines_reported_errors_and_pages,
    native_list_pages_with_a_cursor_and_filters,
    native_summary_change_is_signed_and_buckets_follow_the_offset,
    dora_lead_time_on_the_original_is_stage_to_deploy_of_the_same_sha,
    dora_counts_an_edited_incident_once,
    github_webhooks_verify_the_signature_and_ignore_replays,
    gitlab_webhooks_check_the_token_and_map_each_hook,
    cloudevents_map_cdevents_and_ignore_replays,
    cloudevents_binary_mode_and_every_data_form,
    github_form_deliveries_are_read_as_json_ones,
    github_actions_deploy_workflows_are_deploys,
    gitlab_system_hooks_push_commits,
    pagerduty_incidents_open_and_resolve,
    opsgenie_alerts_open_and_resolve,
    file_imports_read_ndjson_json_and_csv,
    every_events_route_is_in_the_openapi_document,
    a_nul_character_is_refused_by_name_on_both_backends,
);

fn original_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/deploys.sqlite")
}

/// The original data set, opened read-only for the expected answers.
async fn original() -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(original_path())
        .read_only(true);
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("the original data set opens")
}

async fn import_original(app: &TestApp) {
    let store = store::for_database(&app.db);
    let report = import::import_file(store.clone(), &original_path(), &ImportOptions::default())
        .await
        .expect("the original imports");
    assert_eq!(report.rejected, 0, "{:?}", report.errors);
}

async fn get_json(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

async fn post_json(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(path))
        .json(body)
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

async fn count_events(app: &TestApp) -> i64 {
    match &app.db {
        Database::Sqlite(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(pool)
            .await
            .unwrap(),
        Database::Postgres(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(pool)
            .await
            .unwrap(),
    }
}

/// Records as the original returned them, straight from its table.
async fn expected_records(sql: &'static str, bind: Vec<Value>) -> Value {
    let pool = original().await;
    let mut query = sqlx::query_as::<_, (String, i64, String, String, String)>(sql);
    for value in bind {
        query = match value {
            Value::Number(n) => query.bind(n.as_i64().unwrap()),
            Value::String(s) => query.bind(s),
            other => panic!("cannot bind {other}"),
        };
    }
    let rows = query.fetch_all(&pool).await.unwrap();
    Value::Array(
        rows.into_iter()
            .map(|(fmdate, id, sha, action, engineer)| {
                json!({"fmdate": fmdate, "id": id, "sha": sha, "action": action, "engineer": engineer})
            })
            .collect(),
    )
}

async fn compat_routes_answer_as_the_original_did_on_its_data_set(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    import_original(&app).await;

    let pool = original().await;
    let engineers: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT engineer FROM deploys ORDER BY engineer")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(engineers.len(), 111);
    let (status, body) = get_json(&app, "/listevents/getengineers").await;
    assert_eq!(status, 200);
    let expected: Vec<Value> = engineers.iter().map(|e| json!({ "engineer": e })).collect();
    assert_eq!(body, Value::Array(expected));

    // Inclusive at both ends, to the second.
    let (from, to) = ("2017-10-30 09:15:00", "2017-10-31 17:42:10");
    let expected = expected_records(
        "SELECT strftime('%Y-%m-%d %H:%M:%S', date, 'unixepoch'), id, sha, action, engineer \
         FROM deploys WHERE date BETWEEN strftime('%s', $1) AND strftime('%s', $2) ORDER BY date DESC",
        vec![json!(from), json!(to)],
    )
    .await;
    assert!(expected.as_array().unwrap().len() > 100);
    let (status, body) = get_json(
        &app,
        &format!("/listevents?fromDate={from}&toDate={to}").replace(' ', "%20"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, expected);

    // The boundary events themselves are included.
    let newest = expected_records(
        "SELECT strftime('%Y-%m-%d %H:%M:%S', date, 'unixepoch'), id, sha, action, engineer \
         FROM deploys ORDER BY date DESC LIMIT 1",
        vec![],
    )
    .await;
    let at = newest[0]["fmdate"].as_str().unwrap().replace(' ', "%20");
    let (_, body) = get_json(&app, &format!("/listevents?fromDate={at}&toDate={at}")).await;
    assert_eq!(body, newest);

    let expected = expected_records(
        "SELECT strftime('%Y-%m-%d %H:%M:%S', date, 'unixepoch'), id, sha, action, engineer \
         FROM deploys WHERE engineer = $1 ORDER BY date DESC",
        vec![json!("hana")],
    )
    .await;
    assert_eq!(expected.as_array().unwrap().len(), 52);
    let (status, body) = get_json(&app, "/listevents/hana").await;
    assert_eq!(status, 200);
    assert_eq!(body, expected);

    // What was an injection in the original is a name that matches no one.
    let (status, body) = get_json(&app, "/listevents/x'%20OR%20'1'='1").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!([]));
    let (status, body) = get_json(
        &app,
        "/listevents?fromDate=2017-10-30%2000:00:00'%20OR%20'1'='1&toDate=2017-11-01%2000:00:00",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    app.stop().await;
}

/// Per-day counts from the original table, oldest first, with the
/// original's increase: previous day minus this day, 0 before the first.
async fn expected_summary() -> Vec<Value> {
    let pool = original().await;
    let days: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT date(date, 'unixepoch') AS day, SUM(action = 'stage'), SUM(action = 'deploy') \
         FROM deploys GROUP BY day ORDER BY day",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut previous = (0, 0);
    let mut rows = Vec::new();
    for (day, staging, deployed) in days {
        rows.push(json!({
            "fmdate": day, "staging": staging, "deployed": deployed,
            "stagingActivityIncrease": previous.0 - staging,
            "deployActivityIncrease": previous.1 - deployed,
        }));
        previous = (staging, deployed);
    }
    rows.reverse();
    rows
}

async fn compat_summary_rows_have_the_originals_numbers_and_inverted_sign(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, empty) = get_json(&app, "/summaryevents").await;
    assert_eq!(empty, json!([]), "no events, no rows");
    import_original(&app).await;

    let expected = expected_summary().await;
    assert_eq!(expected.len(), 8);
    let (status, body) = get_json(&app, "/summaryevents").await;
    assert_eq!(status, 200);
    assert_eq!(body, Value::Array(expected.clone()));
    // The example of the specification, sign quirk included.
    assert_eq!(
        body[1],
        json!({"fmdate": "2017-11-01", "staging": 100, "deployed": 94,
               "stagingActivityIncrease": 10, "deployActivityIncrease": 9})
    );

    for row in &expected {
        let day = row["fmdate"].as_str().unwrap();
        let (status, body) = get_json(&app, &format!("/summaryevents/{day}")).await;
        assert_eq!(status, 200);
        assert_eq!(body, json!([row]), "{day}");
    }
    let (status, body) = get_json(&app, "/summaryevents/2016-01-01").await;
    assert_eq!((status, body), (200, json!([])));
    let (status, body) = get_json(&app, "/summaryevents/yesterday").await;
    assert_eq!(status, 400);
    assert_eq!(body["status"], 40001);
    app.stop().await;
}

async fn compat_errors_have_the_originals_shape(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let missing = json!({"status": 40001, "message": "Bad Request: Either fromDate or toDate is not provided"});
    for path in [
        "/listevents",
        "/listevents?fromDate=2017-11-01%2000:00:00",
        "/listevents?toDate=2017-11-01%2000:00:00",
        "/listevents?fromDate=&toDate=2017-11-01%2000:00:00",
    ] {
        let (status, body) = get_json(&app, path).await;
        assert_eq!((status, &body), (400, &missing), "{path}");
    }
    let (status, body) = get_json(
        &app,
        "/listevents?fromDate=soon&toDate=2017-11-01%2000:00:00",
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["status"], 40001);
    assert!(body["message"].as_str().unwrap().contains("fromDate"));
    app.stop().await;
}

async fn importing_the_original_twice_stores_it_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    import_original(&app).await;
    let store = store::for_database(&app.db);
    let again = import::import_file(store.clone(), &original_path(), &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!((again.stored, again.duplicates), (0, 1000));
    assert_eq!(count_events(&app).await, 1000);
    // The summary's counters did not count the duplicates either.
    let (_, summary) = get_json(&app, "/v1/events/summary?bucket=month").await;
    let months: i64 = summary["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["total"].as_i64().unwrap())
        .sum();
    assert_eq!(months, 1000, "{summary}");
    let (_, compat) = get_json(&app, "/summaryevents").await;
    let total: i64 = compat
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["staging"].as_i64().unwrap() + d["deployed"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 1000);
    app.stop().await;
}

async fn an_event_is_read_back_by_its_id(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let event = json!({"id": "deploy web/42", "time": "2024-05-01T10:00:00Z", "kind": "deploy",
                       "service": "web", "result": "success", "attributes": {"run": 7}});
    let (status, _) = post_json(&app, "/v1/events", &event).await;
    assert_eq!(status, 201);
    let (_, page) = get_json(&app, "/v1/events").await;
    let (status, body) = get_json(&app, "/v1/events/deploy%20web%2F42").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body, page["events"][0],
        "the same representation as in a listing"
    );
    let (status, body) = get_json(&app, "/v1/events/deploy%20web").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["type"], "urn:echobase:problem:not-found");
    app.stop().await;
}

async fn posting_the_same_event_twice_stores_it_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let event = json!({"id": "d-1", "time": "2024-05-01T10:00:00Z", "kind": "deploy",
                       "actor": "amy", "service": "web", "environment": "production",
                       "sha": "abc", "result": "success", "attributes": {"run": 7}});
    let (status, body) = post_json(&app, "/v1/events", &event).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body, json!({"stored": 1, "duplicates": 0, "ids": ["d-1"]}));
    let (status, body) = post_json(&app, "/v1/events", &event).await;
    assert_eq!(status, 200);
    assert_eq!(body["duplicates"], 1);

    // Without an id, the content is the id: the same content twice is one event.
    let anonymous = json!({"time": 1714557600, "kind": "commit", "sha": "abc", "engineer": "amy"});
    let (status, first) = post_json(&app, "/v1/events", &json!([anonymous, anonymous])).await;
    assert_eq!(status, 201);
    assert_eq!(
        (first["stored"].as_u64(), first["duplicates"].as_u64()),
        (Some(1), Some(1))
    );
    let (_, second) = post_json(&app, "/v1/events", &anonymous).await;
    assert_eq!(second["ids"][0], first["ids"][0]);
    assert_eq!(count_events(&app).await, 2);

    let (_, page) = get_json(&app, "/v1/events?kind=deploy").await;
    let stored = &page["events"][0];
    assert_eq!(stored["attributes"], json!({"run": 7}));
    assert_eq!(stored["time"], "2024-05-01T10:00:00Z");
    assert_eq!(stored["actor"], "amy");
    app.stop().await;
}

async fn an_invalid_array_stores_nothing_and_names_the_bad_fields(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let body = json!([
        {"time": "2024-05-01T10:00:00Z", "kind": "deploy"},
        {"kind": "deploy"},
        {"time": "2024-05-01T10:00:00Z", "kind": "Not A Kind", "colour": "red"},
    ]);
    let response = app
        .client
        .post(app.url("/v1/events"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["1.time", "2"], "{problem}");
    assert_eq!(count_events(&app).await, 0);

    let (status, problem) = post_json(&app, "/v1/events", &json!("deploy")).await;
    assert_eq!(status, 400, "{problem}");
    app.stop().await;
}

async fn ndjson_keeps_good_lines_and_reports_bad_ones_by_number(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut body = String::new();
    for i in 0..2500 {
        if i == 3 {
            body.push_str("{not json\n");
        } else if i == 7 {
            body.push_str("{\"time\": \"2024-05-01T10:00:00Z\"}\n");
        } else if i == 9 {
            body.push_str("   \r\n");
        } else {
            body.push_str(&format!(
                "{{\"id\": \"e{i}\", \"time\": {}, \"kind\": \"stage\", \"actor\": \"a{}\"}}\r\n",
                1_714_557_600 + i,
                i % 5
            ));
        }
    }
    // The last line has no newline.
    body.push_str(r#"{"id": "last", "time": 1714560000, "kind": "deploy"}"#);
    let post = |body: String| {
        app.client
            .post(app.url("/v1/events:ndjson"))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
    };
    let response = post(body.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["received"], 2500, "{report}");
    assert_eq!(report["stored"], 2498);
    assert_eq!(report["rejected"], 2);
    assert_eq!(report["errors"][0]["line"], 4);
    assert_eq!(report["errors"][1]["line"], 8);
    assert!(
        report["errors"][1]["message"]
            .as_str()
            .unwrap()
            .contains("kind: is required"),
        "{report}"
    );
    assert_eq!(count_events(&app).await, 2498);

    let again: Value = post(body).await.unwrap().json().await.unwrap();
    assert_eq!(
        (again["stored"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(2498))
    );
    assert_eq!(count_events(&app).await, 2498);
    app.stop().await;
}

async fn configured_limits_bound_lines_reported_errors_and_pages(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.events.max_line_size = 200;
        s.events.max_reported_errors = 2;
        s.events.max_per_page = 5;
    })
    .await
    else {
        return;
    };
    let long = format!(
        r#"{{"id": "long", "time": 1714557600, "kind": "stage", "attributes": {{"note": "{}"}}}}"#,
        "x".repeat(200)
    );
    let mut body = format!("{long}\n{{not json\n{{\"kind\": \"stage\"}}\n");
    for i in 0..6 {
        body.push_str(&format!(
            "{{\"id\": \"e{i}\", \"time\": {}, \"kind\": \"stage\"}}\n",
            1_714_557_600 + i
        ));
    }
    let response = app
        .post_body("/v1/events:ndjson", "application/x-ndjson", body)
        .await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(
        (report["stored"].as_u64(), report["rejected"].as_u64()),
        (Some(6), Some(3)),
        "{report}"
    );
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "events.max_reported_errors: {report}");
    assert_eq!(errors[0]["line"], 1);
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("longer than 200 bytes (events.max_line_size)"),
        "{report}"
    );

    // Without `limit`, a page is the smaller of 100 and events.max_per_page.
    let (status, page) = get_json(&app, "/v1/events").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["events"].as_array().unwrap().len(), 5);
    assert!(page["next_cursor"].is_string());
    let (status, _) = get_json(&app, "/v1/events?limit=5").await;
    assert_eq!(status, 200);
    let (status, problem) = get_json(&app, "/v1/events?limit=6").await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "limit");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("must be 1 to 5 (events.max_per_page)"),
        "{problem}"
    );
    app.stop().await;
}

async fn native_list_pages_with_a_cursor_and_filters(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    import_original(&app).await;
    // Every event of one engineer, a page of 7 at a time.
    let mut ids = Vec::new();
    let mut path = "/v1/events?engineer=hana&limit=7".to_owned();
    loop {
        let (status, page) = get_json(&app, &path).await;
        assert_eq!(status, 200, "{page}");
        for event in page["events"].as_array().unwrap() {
            assert_eq!(event["actor"], "hana");
            ids.push(event["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/events?engineer=hana&limit=7&cursor={cursor}"),
            None => break,
        }
    }
    let pool = original().await;
    let expected: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM deploys WHERE engineer = 'hana' ORDER BY date DESC")
            .fetch_all(&pool)
            .await
            .unwrap();
    let expected: Vec<String> = expected.iter().map(i64::to_string).collect();
    assert_eq!(ids, expected);

    // Oldest first, one kind, a time range (from inclusive, to exclusive).
    let (_, page) = get_json(
        &app,
        "/v1/events?kind=deploy&from=2017-10-28&to=2017-10-29&order=asc&limit=1000",
    )
    .await;
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 11, "11 deploys on 2017-10-28");
    assert!(
        events
            .windows(2)
            .all(|w| w[0]["time_ms"].as_i64() <= w[1]["time_ms"].as_i64())
    );

    let (_, engineers) = get_json(&app, "/v1/engineers?kind=stage").await;
    let hana = engineers["engineers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["engineer"] == "hana")
        .cloned()
        .unwrap();
    let stages: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM deploys WHERE engineer = 'hana' AND action = 'stage'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(hana["events"], stages);

    for bad in [
        "/v1/events?limit=0",
        "/v1/events?cursor=nope",
        "/v1/events?from=someday",
        "/v1/events?order=sideways",
    ] {
        let (status, problem) = get_json(&app, bad).await;
        assert_eq!(status, 422, "{bad}: {problem}");
    }
    let (status, _) = get_json(&app, "/v1/events?colour=red").await;
    assert_eq!(status, 400);
    app.stop().await;
}

async fn native_summary_change_is_signed_and_buckets_follow_the_offset(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    import_original(&app).await;
    let expected = expected_summary().await;
    let (status, summary) = get_json(&app, "/v1/events/summary?bucket=day").await;
    assert_eq!(status, 200, "{summary}");
    let buckets = summary["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 8);
    assert_eq!(summary["kinds"], json!(["deploy", "stage"]));
    // The native change is this day minus the previous: the compat sign, flipped.
    for (bucket, compat) in buckets.iter().zip(expected.iter().rev()) {
        assert_eq!(bucket["counts"]["stage"], compat["staging"]);
        assert_eq!(bucket["counts"]["deploy"], compat["deployed"]);
        assert_eq!(
            bucket["change"]["stage"].as_i64().unwrap(),
            -compat["stagingActivityIncrease"].as_i64().unwrap()
        );
        assert_eq!(
            bucket["change"]["deploy"].as_i64().unwrap(),
            -compat["deployActivityIncrease"].as_i64().unwrap()
        );
    }
    assert_eq!(buckets[6]["start"], "2017-11-01T00:00:00Z");
    assert_eq!(buckets[6]["change"]["stage"], -10);

    // Days cut at midnight in +05:30, counted independently on the original.
    let pool = original().await;
    let shifted: Vec<(String, i64)> = sqlx::query_as(
        "SELECT date(date + 19800, 'unixepoch') AS day, COUNT(*) FROM deploys GROUP BY day ORDER BY day",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let (_, summary) = get_json(&app, "/v1/events/summary?tz=%2B05:30").await;
    let totals: Vec<(String, i64)> = summary["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["start"].as_str().unwrap()[..10].to_owned(),
                b["total"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(totals, shifted);
    // The first event, 2017-10-26 20:39Z, is already the 27th there.
    assert_eq!(summary["buckets"][0]["start"], "2017-10-27T00:00:00+05:30");

    // Weeks start on Monday (2017-10-23 and 2017-10-30).
    let (_, weekly) = get_json(&app, "/v1/events/summary?bucket=week").await;
    let weeks = weekly["buckets"].as_array().unwrap();
    assert_eq!(weeks.len(), 2);
    assert_eq!(weeks[0]["start"], "2017-10-23T00:00:00Z");
    assert_eq!(weeks[1]["start"], "2017-10-30T00:00:00Z");
    let total: i64 = weeks.iter().map(|w| w["total"].as_i64().unwrap()).sum();
    assert_eq!(total, 1000);
    // One engineer's month.
    let (_, monthly) = get_json(&app, "/v1/events/summary?bucket=month&engineer=hana").await;
    let hana: i64 = monthly["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["total"].as_i64().unwrap())
        .sum();
    assert_eq!(hana, 52);

    for bad in [
        "/v1/events/summary?bucket=hour",
        "/v1/events/summary?tz=Mars/Olympus",
    ] {
        let (status, _) = get_json(&app, bad).await;
        assert_eq!(status, 422, "{bad}");
    }
    app.stop().await;
}

async fn dora_lead_time_on_the_original_is_stage_to_deploy_of_the_same_sha(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    import_original(&app).await;
    // Per sha: its first deploy, and its first stage before that deploy.
    let pool = original().await;
    let mut samples: Vec<i64> = sqlx::query_scalar(
        "SELECT d.first_deploy - (SELECT MIN(s.date) FROM deploys s \
           WHERE s.sha = d.sha AND s.action = 'stage' AND s.date <= d.first_deploy) \
         FROM (SELECT sha, MIN(date) AS first_deploy FROM deploys WHERE action = 'deploy' GROUP BY sha) d \
         WHERE EXISTS (SELECT 1 FROM deploys s WHERE s.sha = d.sha AND s.action = 'stage' AND s.date <= d.first_deploy)",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    samples.sort_unstable();
    let nearest_rank = |p: usize| samples[(p * samples.len()).div_ceil(100) - 1];
    let deploys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deploys WHERE action = 'deploy'")
        .fetch_one(&pool)
        .await
        .unwrap();

    let (status, dora) = get_json(&app, "/v1/dora?from=2017-10-26&to=2017-11-03").await;
    assert_eq!(status, 200, "{dora}");
    let lead = &dora["lead_time_for_changes"];
    assert_eq!(lead["changes"].as_u64().unwrap() as usize, samples.len());
    assert_eq!(
        lead["median_seconds"].as_f64().unwrap(),
        nearest_rank(50) as f64
    );
    assert_eq!(
        lead["p90_seconds"].as_f64().unwrap(),
        nearest_rank(90) as f64
    );
    assert_eq!(lead["band"], "elite");
    assert_eq!(dora["deployment_frequency"]["deployments"], deploys);
    assert_eq!(dora["deployment_frequency"]["band"], "elite");
    assert_eq!(dora["change_failure_rate"]["rate"], 0.0);

    // Another environment has no deployments.
    let (_, staging) = get_json(
        &app,
        "/v1/dora?from=2017-10-26&to=2017-11-03&environment=staging",
    )
    .await;
    assert_eq!(staging["deployment_frequency"]["deployments"], 0);
    let (status, _) = get_json(&app, "/v1/dora?from=2017-11-03&to=2017-10-26").await;
    assert_eq!(status, 422);
    app.stop().await;
}

async fn dora_counts_an_edited_incident_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // Hand-computed: two deployments of web; an incident on the second, opened,
    // edited twice (same incident id) and resolved 30 minutes later.
    let h = |hour: u32, minute: u32| format!("2024-05-01T{hour:02}:{minute:02}:00Z");
    let events = json!([
        {"id": "c1", "time": h(8, 0), "kind": "commit", "sha": "s1", "service": "web"},
        {"id": "d1", "time": h(9, 0), "kind": "deploy", "sha": "s1", "service": "web", "environment": "production", "result": "success"},
        {"id": "c2", "time": h(10, 0), "kind": "commit", "sha": "s2", "service": "web"},
        {"id": "d2", "time": h(13, 0), "kind": "deploy", "sha": "s2", "service": "web", "environment": "production", "result": "success"},
        {"id": "i1a", "time": h(14, 0), "kind": "incident_opened", "service": "web", "attributes": {"incident_id": "INC-1"}},
        {"id": "i1b", "time": h(14, 5), "kind": "incident_opened", "service": "web", "attributes": {"incident_id": "INC-1"}},
        {"id": "i1c", "time": h(14, 10), "kind": "incident_opened", "service": "web", "attributes": {"incident_id": "INC-1"}},
        {"id": "i1z", "time": h(14, 30), "kind": "incident_resolved", "service": "web", "attributes": {"incident_id": "INC-1"}},
        {"id": "other", "time": h(9, 30), "kind": "deploy", "sha": "x", "service": "api", "environment": "production"}
    ]);
    let (status, _) = post_json(&app, "/v1/events", &events).await;
    assert_eq!(status, 201);
    let (status, dora) = get_json(
        &app,
        "/v1/dora?service=web&environment=production&from=2024-05-01&to=2024-05-02",
    )
    .await;
    assert_eq!(status, 200, "{dora}");
    assert_eq!(dora["deployment_frequency"]["deployments"], 2);
    // Lead times 1 h and 3 h: median (nearest rank) 1 h, p90 3 h.
    assert_eq!(dora["lead_time_for_changes"]["median_seconds"], 3600.0);
    assert_eq!(dora["lead_time_for_changes"]["p90_seconds"], 10800.0);
    let cfr = &dora["change_failure_rate"];
    assert_eq!(cfr["incidents"], 1);
    assert_eq!(cfr["failed_deployments"], 1);
    assert_eq!(cfr["rate"], 0.5);
    assert_eq!(cfr["band"], "low");
    let recovery = &dora["failed_deployment_recovery_time"];
    assert_eq!(recovery["recoveries"], 1);
    assert_eq!(recovery["median_seconds"], 1800.0);
    assert_eq!(recovery["band"], "elite");
    app.stop().await;
}

/// The hex HMAC-SHA256 of `body` under `secret`.
fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn sign(body: &[u8]) -> String {
    format!("sha256={}", hmac_hex(GITHUB_SECRET, body))
}

async fn github(
    app: &TestApp,
    event: &str,
    delivery: &str,
    body: &Value,
    signature: Option<String>,
) -> (u16, Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    let signature = signature.unwrap_or_else(|| sign(&bytes));
    let headers = [
        ("content-type", "application/json"),
        ("x-github-event", event),
        ("x-github-delivery", delivery),
        ("x-hub-signature-256", signature.as_str()),
    ];
    deliver(app, "/v1/webhooks/github", &headers, bytes).await
}

/// GitHub's default content type, `form`: `payload=<URL-encoded JSON>`,
/// signed over those bytes.
async fn github_form(app: &TestApp, event: &str, delivery: &str, form: String) -> (u16, Value) {
    let signature = sign(form.as_bytes());
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("x-github-event", event),
        ("x-github-delivery", delivery),
        ("x-hub-signature-256", signature.as_str()),
    ];
    deliver(app, "/v1/webhooks/github", &headers, form.into_bytes()).await
}

async fn github_form_deliveries_are_read_as_json_ones(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.events.github_secret = Some(Secret::new(GITHUB_SECRET));
    })
    .await
    else {
        return;
    };
    let deployment_status = json!({
        "action": "created",
        "deployment_status": {"id": 77, "state": "failure", "environment": "production",
            "created_at": "2024-05-02T08:30:00Z", "updated_at": "2024-05-02T08:30:00Z"},
        "deployment": {"id": 43, "sha": "d00d", "ref": "main", "environment": "production",
            "creator": {"login": "amy", "id": 2, "type": "User"},
            "created_at": "2024-05-02T08:00:00Z"},
        "repository": github_repository(),
        "sender": {"login": "amy", "id": 2, "type": "User"}
    });
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &deployment_status.to_string())
        .finish();
    let (status, body) = github_form(&app, "deployment_status", "form-1", form.clone()).await;
    assert_eq!((status, &body["stored"]), (200, &json!(1)), "{body}");
    let (_, page) = get_json(&app, "/v1/events?kind=deploy").await;
    assert_eq!(page["events"][0]["sha"], "d00d", "{page}");
    assert_eq!(page["events"][0]["result"], "failure", "{page}");
    let (status, body) = github_form(&app, "deployment_status", "form-1", form).await;
    assert_eq!((status, &body["replayed"]), (200, &json!(true)), "{body}");
    // A form without `payload`: signed, but nothing to read.
    let (status, body) = github_form(&app, "deployment_status", "form-2", "other=1".into()).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("payload"),
        "{body}"
    );
    assert_eq!(count_events(&app).await, 1);
    app.stop().await;
}

const PAGERDUTY_SECRET: &str = "pd-webhook-secret";

/// A PagerDuty v3 delivery: `{"event": {...}}` with the incident as `data`,
/// in the shape of PagerDuty's webhook documentation.
fn pagerduty_event(id: &str, event_type: &str, occurred_at: &str) -> Value {
    json!({"event": {
        "id": id,
        "event_type": event_type,
        "resource_type": "incident",
        "occurred_at": occurred_at,
        "agent": {"html_url": "https://acme.pagerduty.com/users/PLH1HKV", "id": "PLH1HKV",
                  "self": "https://api.pagerduty.com/users/PLH1HKV", "summary": "Amy Pond",
                  "type": "user_reference"},
        "client": {"name": "PagerDuty"},
        "data": {
            "id": "PGR0VU2", "type": "incident",
            "self": "https://api.pagerduty.com/incidents/PGR0VU2",
            "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
            "number": 2, "status": "triggered", "incident_key": "d3640fbd41094207a1c11e58e46b1662",
            "created_at": "2024-05-01T11:00:00Z",
            "title": "Checkout answers 500",
            "service": {"html_url": "https://acme.pagerduty.com/services/PF9KMXH", "id": "PF9KMXH",
                        "self": "https://api.pagerduty.com/services/PF9KMXH", "summary": "checkout",
                        "type": "service_reference"},
            "assignees": [], "urgency": "high", "resolve_reason": null
        }
    }})
}

async fn pagerduty(
    app: &TestApp,
    webhook_id: &str,
    body: &Value,
    signature: Option<&str>,
) -> (u16, Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    // While a secret is rotated, PagerDuty sends one signature per secret.
    let signature = signature.map_or_else(
        || format!("v1=00ff, v1={}", hmac_hex(PAGERDUTY_SECRET, &bytes)),
        str::to_owned,
    );
    let headers = [
        ("content-type", "application/json"),
        ("x-webhook-id", webhook_id),
        ("x-pagerduty-signature", signature.as_str()),
    ];
    deliver(app, "/v1/webhooks/pagerduty", &headers, bytes).await
}

async fn pagerduty_incidents_open_and_resolve(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.events.pagerduty_secret = Some(Secret::new(PAGERDUTY_SECRET));
    })
    .await
    else {
        return;
    };
    let triggered = pagerduty_event("ev-1", "incident.triggered", "2024-05-01T11:00:05Z");
    let (status, _) = pagerduty(&app, "wh-1", &triggered, Some("v1=00ff")).await;
    assert_eq!(status, 401, "a wrong signature stores nothing");
    let (status, body) = pagerduty(&app, "wh-1", &triggered, None).await;
    assert_eq!((status, &body["stored"]), (200, &json!(1)), "{body}");
    let (status, body) = pagerduty(&app, "wh-1", &triggered, None).await;
    assert_eq!(
        (status, &body["replayed"]),
        (200, &json!(true)),
        "a retry: {body}"
    );
    let acknowledged = pagerduty_event("ev-2", "incident.acknowledged", "2024-05-01T11:10:00Z");
    let (status, body) = pagerduty(&app, "wh-2", &acknowledged, None).await;
    assert_eq!(status, 202, "{body}");
    assert!(body["ignored"].is_string(), "{body}");
    let resolved = pagerduty_event("ev-3", "incident.resolved", "2024-05-01T11:30:00Z");
    let (status, body) = pagerduty(&app, "wh-3", &resolved, None).await;
    assert_eq!((status, &body["stored"]), (200, &json!(1)), "{body}");
    let (status, body) = pagerduty(&app, "wh-4", &json!({"messages": []}), None).await;
    assert_eq!(status, 400, "a V2 (legacy) payload: {body}");

    let (_, page) = get_json(&app, "/v1/events?service=checkout").await;
    let kinds: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2, "{page}");
    assert!(
        kinds.contains(&"incident_opened") && kinds.contains(&"incident_resolved"),
        "{page}"
    );
    let opened = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "incident_opened")
        .unwrap();
    assert_eq!(
        opened["time"], "2024-05-01T11:00:00Z",
        "opened when the incident was created: {page}"
    );
    assert_eq!(
        opened["attributes"]["incident_id"], "pagerduty:PGR0VU2",
        "{page}"
    );
    app.stop().await;

    // Off until a secret is set.
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, _) = pagerduty(&app, "wh-1", &triggered, None).await;
    assert_eq!(status, 503);
    app.stop().await;
}

const OPSGENIE_TOKEN: &str = "og-token";

/// An Opsgenie Webhook integration's alert action, in the shape of Opsgenie's
/// "Alert Action Data" documentation (`updatedAt` in nanoseconds).
fn opsgenie_action(action: &str, updated_ns: i64) -> Value {
    json!({
        "source": {"name": "web", "type": "API"},
        "alert": {
            "updatedAt": updated_ns,
            "tags": ["vip", "service:payments"],
            "teams": ["team1"], "recipients": ["recipient1"],
            "message": "Payments answer 502",
            "username": "amy@example.com",
            "alertId": "052652ac-5d1c-464a-812a-7dd18bbfba8c",
            "source": "amy@example.com", "alias": "payments-502", "tinyId": "23",
            "createdAt": 1_714_561_200_000_i64,
            "userId": "daed1180-0ce8-438b-8f8e-57e1a5920a2d",
            "entity": ""
        },
        "action": action,
        "integrationId": "37c8f316-17c6-49d7-899b-9c7e540c048d",
        "integrationName": "echobase"
    })
}

async fn opsgenie(app: &TestApp, body: &Value, token: &str) -> (u16, Value) {
    let headers = [
        ("content-type", "application/json"),
        ("x-opsgenie-token", token),
    ];
    deliver(
        app,
        "/v1/webhooks/opsgenie",
        &headers,
        serde_json::to_vec(body).unwrap(),
    )
    .await
}

async fn opsgenie_alerts_open_and_resolve(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.events.opsgenie_token = Some(Secret::new(OPSGENIE_TOKEN));
    })
    .await
    else {
        return;
    };
    // 2024-05-01T11:00:00Z opened; closed 30 minutes later (in nanoseconds).
    let create = opsgenie_action("Create", 1_714_561_200_000_000_123);
    let close = opsgenie_action("Close", 1_714_563_000_000_000_456);
    let (status, _) = opsgenie(&app, &create, "wrong").await;
    assert_eq!(status, 401);
    let (status, body) = opsgenie(&app, &create, OPSGENIE_TOKEN).await;
    assert_eq!((status, &body["stored"]), (200, &json!(1)), "{body}");
    let (status, body) = opsgenie(&app, &create, OPSGENIE_TOKEN).await;
    assert_eq!(
        (status, &body["duplicates"]),
        (200, &json!(1)),
        "sent again: {body}"
    );
    let (status, body) = opsgenie(&app, &opsgenie_action("Acknowledge", 1), OPSGENIE_TOKEN).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = opsgenie(&app, &close, OPSGENIE_TOKEN).await;
    assert_eq!((status, &body["stored"]), (200, &json!(1)), "{body}");
    let (status, _) = opsgenie(&app, &json!({"action": "Create"}), OPSGENIE_TOKEN).await;
    assert_eq!(status, 400, "no alert");

    let (_, page) = get_json(&app, "/v1/events?service=payments").await;
    let times: Vec<(&str, &str)> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["time"].as_str().unwrap()))
        .collect();
    assert_eq!(times.len(), 2, "{page}");
    assert!(
        times.contains(&("incident_opened", "2024-05-01T11:00:00Z")),
        "{page}"
    );
    assert!(
        times.contains(&("incident_resolved", "2024-05-01T11:30:00Z")),
        "{page}"
    );
    app.stop().await;
}

/// A `workflow_run` delivery, in the shape of GitHub's webhook documentation.
fn workflow_run(
    action: &str,
    run_id: u64,
    name: &str,
    path: &str,
    conclusion: Option<&str>,
) -> Value {
    json!({
        "action": action,
        "workflow_run": {
            "id": run_id, "name": name, "path": path, "head_branch": "main",
            "head_sha": "3484a3fb816e0859fd6e1cea078d76385ff50625", "event": "push",
            "status": if action == "completed" { "completed" } else { "in_progress" },
            "conclusion": conclusion, "run_number": 163, "run_attempt": 1,
            "created_at": "2024-05-02T09:00:00Z", "updated_at": "2024-05-02T09:04:00Z",
            "run_started_at": "2024-05-02T09:00:05Z",
            "html_url": format!("https://github.com/acme/web/actions/runs/{run_id}"),
            "actor": {"login": "amy", "id": 2, "type": "User"},
            "triggering_actor": {"login": "rory", "id": 4, "type": "User"}
        },
        "workflow": {"id": 2823525, "name": name, "path": path},
        "repository": github_repository(),
        "sender": {"login": "rory", "id": 4, "type": "User"}
    })
}

async fn github_actions_deploy_workflows_are_deploys(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.events.github_secret = Some(Secret::new(GITHUB_SECRET));
    })
    .await
    else {
        return;
    };
    let deploy = |action, id, conclusion| {
        workflow_run(
            action,
            id,
            "Deploy production",
            ".github/workflows/deploy.yml",
            conclusion,
        )
    };
    let (status, body) = github(
        &app,
        "workflow_run",
        "run-1",
        &deploy("completed", 1, Some("success")),
        None,
    )
    .await;
    assert_eq!((status, &body["stored"]), (200, &json!(1)), "{body}");
    let (status, body) = github(
        &app,
        "workflow_run",
        "run-2",
        &deploy("completed", 2, Some("failure")),
        None,
    )
    .await;
    assert_eq!((status, &body["stored"]), (200, &json!(1)), "{body}");
    for (delivery, payload) in [
        ("run-3", deploy("in_progress", 3, None)),
        ("run-4", deploy("completed", 4, Some("cancelled"))),
        (
            "run-5",
            workflow_run(
                "completed",
                5,
                "CI",
                ".github/workflows/test.yml",
                Some("success"),
            ),
        ),
    ] {
        let (status, body) = github(&app, "workflow_run", delivery, &payload, None).await;
        assert_eq!(status, 202, "{delivery}: {body}");
        assert!(body["ignored"].is_string(), "{body}");
    }
    let (_, page) = get_json(&app, "/v1/events?kind=deploy").await;
    let deploys = page["events"].as_array().unwrap();
    assert_eq!(deploys.len(), 2, "{page}");
    let mut results: Vec<&str> = deploys
        .iter()
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    results.sort_unstable();
    assert_eq!(results, ["failure", "success"]);
    assert_eq!(deploys[0]["service"], "acme/web");
    assert_eq!(
        deploys[0]["sha"],
        "3484a3fb816e0859fd6e1cea078d76385ff50625"
    );
    assert_eq!(
        deploys[0]["time"], "2024-05-02T09:04:00Z",
        "when the run finished"
    );
    assert_eq!(deploys[0]["actor"], "rory");
    app.stop().await;
}

fn github_repository() -> Value {
    json!({"id": 1296269, "name": "web", "full_name": "acme/web", "private": false,
           "owner": {"login": "acme", "id": 1, "type": "Organization"},
           "html_url": "https://github.com/acme/web", "default_branch": "main"})
}

async fn github_webhooks_verify_the_signature_and_ignore_replays(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.events.github_secret = Some(Secret::new(GITHUB_SECRET));
    })
    .await
    else {
        return;
    };
    let sha = "6ba954da31142c762b4c0c3c11837eed5e0a1b2c";
    let push = json!({
        "ref": "refs/heads/main", "before": "0000000000000000000000000000000000000000", "after": sha,
        "created": false, "deleted": false, "forced": false,
        "commits": [{
            "id": sha, "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433", "distinct": true,
            "message": "Fix the login page", "timestamp": "2024-05-01T09:00:00+02:00",
            "url": format!("https://github.com/acme/web/commit/{sha}"),
            "author": {"name": "Amy Pond", "email": "amy@example.com", "username": "amy"},
            "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
            "added": [], "removed": [], "modified": ["login.html"]
        }],
        "head_commit": {"id": sha, "timestamp": "2024-05-01T09:00:00+02:00"},
        "repository": github_repository(),
        "pusher": {"name": "amy", "email": "amy@example.com"},
        "sender": {"login": "amy", "id": 2, "type": "User"}
    });
    let deployment_status = json!({
        "action": "created",
        "deployment_status": {
            "url": "https://api.github.com/repos/acme/web/deployments/42/statuses/9001",
            "id": 9001, "state": "success", "environment": "production",
            "creator": {"login": "deploy-bot", "id": 3, "type": "Bot"},
            "created_at": "2024-05-01T08:30:00Z", "updated_at": "2024-05-01T08:30:00Z",
            "target_url": "https://ci.example.com/runs/7"
        },
        "deployment": {
            "url": "https://api.github.com/repos/acme/web/deployments/42",
            "id": 42, "sha": sha, "ref": "main", "task": "deploy", "environment": "production",
            "creator": {"login": "amy", "id": 2, "type": "User"},
            "created_at": "2024-05-01T08:00:00Z", "updated_at": "2024-05-01T08:30:00Z"
        },
        "repository": github_repository(),
        "sender": {"login": "deploy-bot", "id": 3, "type": "Bot"}
    });
    let issue = |action: &str, labels: Value| {
        json!({
            "action": action,
            "issue": {
                "url": "https://api.github.com/repos/acme/web/issues/17",
                "html_url": "https://github.com/acme/web/issues/17",
                "id": 555, "number": 17, "title": "Login is down", "state": if action == "closed" { "closed" } else { "open" },
                "user": {"login": "sre-sam", "id": 4, "type": "User"},
                "labels": labels,
                "created_at": "2024-05-01T09:00:00Z", "updated_at": "2024-05-01T09:20:00Z",
                "closed_at": if action == "closed" { json!("2024-05-01T09:45:00Z") } else { Value::Null }
            },
            "repository": github_repository(),
            "sender": {"login": "sre-sam", "id": 4, "type": "User"}
        })
    };
    let incident = json!([{"id": 1, "name": "incident", "color": "d73a4a"}]);

    // A wrong signature: 401, nothing stored, and the delivery id stays unused.
    let (status, problem) = github(&app, "push", "dlv-1", &push, Some(sign(b"another body"))).await;
    assert_eq!(status, 401, "{problem}");
    let (status, _) = github(&app, "push", "dlv-1", &push, Some(String::new())).await;
    assert_eq!(status, 401);
    assert_eq!(count_events(&app).await, 0);
    // Counted for alerts (other tests in this process may add to it).
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let refused = common::counter_value(
        &metrics,
        r#"echobase_webhook_signature_failures_total{source="github"}"#,
    );
    assert!(refused >= 2.0, "{refused}");

    let (status, body) = github(&app, "push", "dlv-1", &push, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["stored"].as_u64(), body["replayed"].as_bool()),
        (Some(1), Some(false))
    );
    // The same delivery again: nothing new.
    let (status, body) = github(&app, "push", "dlv-1", &push, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["stored"].as_u64(), body["replayed"].as_bool()),
        (Some(0), Some(true))
    );

    let (status, body) = github(&app, "deployment_status", "dlv-2", &deployment_status, None).await;
    assert_eq!((status, body["stored"].as_u64()), (200, Some(1)), "{body}");
    let (status, body) = github(&app, "issues", "dlv-3", &issue("opened", json!([])), None).await;
    assert_eq!(status, 202, "{body}");
    let (_, body) = github(
        &app,
        "issues",
        "dlv-4",
        &issue("labeled", incident.clone()),
        None,
    )
    .await;
    assert_eq!(body["stored"], 1, "{body}");
    // Edited under a new delivery: the same incident opening, stored once.
    let (_, body) = github(
        &app,
        "issues",
        "dlv-5",
        &issue("edited", incident.clone()),
        None,
    )
    .await;
    assert_eq!(
        (body["stored"].as_u64(), body["duplicates"].as_u64()),
        (Some(0), Some(1))
    );
    let (_, body) = github(&app, "issues", "dlv-6", &issue("closed", incident), None).await;
    assert_eq!(body["stored"], 1);
    assert_eq!(count_events(&app).await, 4);

    let (_, page) = get_json(&app, "/v1/events?service=acme/web&order=asc").await;
    let kinds: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["commit", "deploy", "incident_opened", "incident_resolved"]
    );
    let commit = &page["events"][0];
    assert_eq!(commit["time"], "2024-05-01T07:00:00Z");
    assert_eq!(commit["actor"], "amy");
    let deploy = &page["events"][1];
    assert_eq!(
        (deploy["sha"].as_str(), deploy["environment"].as_str()),
        (Some(sha), Some("production"))
    );

    // Without a secret the route is off rather than open.
    let Some(open) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, _) = github(&open, "push", "dlv-9", &push, None).await;
    assert_eq!(status, 503);
    open.stop().await;
    app.stop().await;
}

async fn gitlab(app: &TestApp, hook: &str, token: &str, key: &str, body: &Value) -> (u16, Value) {
    let headers = [
        ("content-type", "application/json"),
        ("x-gitlab-event", hook),
        ("x-gitlab-token", token),
        ("idempotency-key", key),
    ];
    deliver(
        app,
        "/v1/webhooks/gitlab",
        &headers,
        serde_json::to_vec(body).unwrap(),
    )
    .await
}

/// An instance's system hook: a push is read as a project's push; other
/// system events are accepted and ignored.
async fn gitlab_system_hooks_push_commits(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.events.gitlab_token = Some(Secret::new(GITLAB_TOKEN));
    })
    .await
    else {
        return;
    };
    let sha = "c5feabde2d8cd023215af4d2ceeb7a64839fc428";
    let push = json!({
        "event_name": "push", "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
        "after": sha, "ref": "refs/heads/main", "checkout_sha": sha,
        "user_id": 4, "user_name": "Amy Pond", "user_email": "amy@example.com",
        "project_id": 15,
        "project": {"name": "shop", "path_with_namespace": "acme/shop", "default_branch": "main"},
        "commits": [{"id": sha, "message": "Add search", "timestamp": "2024-05-02T18:18:08+00:00",
                     "url": format!("https://gitlab.example.com/acme/shop/commit/{sha}"),
                     "author": {"name": "Amy Pond", "email": "amy@example.com"}}],
        "total_commits_count": 1
    });
    let (status, body) = gitlab(&app, "System Hook", GITLAB_TOKEN, "sys-1", &push).await;
    assert_eq!((status, &body["stored"]), (200, &json!(1)), "{body}");
    let (_, page) = get_json(&app, "/v1/events?kind=commit").await;
    assert_eq!(page["events"][0]["sha"], sha, "{page}");
    assert_eq!(page["events"][0]["service"], "acme/shop", "{page}");
    let update = json!({"event_name": "repository_update", "user_id": 1, "project_id": 15,
        "changes": [], "refs": ["refs/heads/main"]});
    let (status, body) = gitlab(&app, "System Hook", GITLAB_TOKEN, "sys-2", &update).await;
    assert_eq!(status, 202, "{body}");
    let (status, _) = gitlab(&app, "System Hook", GITLAB_TOKEN, "sys-3", &json!({})).await;
    assert_eq!(status, 400, "no event_name");
    app.stop().await;
}

async fn gitlab_webhooks_check_the_token_and_map_each_hook(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.events.gitlab_token = Some(Secret::new(GITLAB_TOKEN));
    })
    .await
    else {
        return;
    };
    let sha = "279484c09fbe69ededfced8c1bb6e6d24616b468";
    let project = json!({"id": 30, "name": "shop", "path_with_namespace": "acme/shop",
                         "web_url": "https://gitlab.example.com/acme/shop", "default_branch": "main"});
    let push = json!({
        "object_kind": "push", "event_name": "push", "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
        "after": sha, "ref": "refs/heads/main", "checkout_sha": sha,
        "user_id": 4, "user_name": "John Smith", "user_username": "jsmith",
        "project_id": 30, "project": project,
        "commits": [{"id": sha, "message": "Add checkout\n", "title": "Add checkout",
                     "timestamp": "2024-05-02T10:00:00+02:00",
                     "url": format!("https://gitlab.example.com/acme/shop/-/commit/{sha}"),
                     "author": {"name": "Jordi Mallach", "email": "jordi@example.com"},
                     "added": ["checkout.rb"], "modified": [], "removed": []}],
        "total_commits_count": 1
    });
    let pipeline = json!({
        "object_kind": "pipeline",
        "object_attributes": {"id": 31, "iid": 3, "ref": "main", "tag": false, "sha": sha,
            "source": "push", "status": "success", "detailed_status": "passed",
            "stages": ["build", "test", "deploy"],
            "created_at": "2024-05-02 08:10:00 UTC", "finished_at": "2024-05-02 08:20:00 UTC", "duration": 600},
        "user": {"id": 4, "name": "John Smith", "username": "jsmith"},
        "project": project,
        "commit": {"id": sha, "message": "Add checkout\n", "timestamp": "2024-05-02T10:00:00+02:00",
                   "author": {"name": "Jordi Mallach", "email": "jordi@example.com"}},
        "builds": []
    });
    let deployment = json!({
        "object_kind": "deployment", "status": "success",
        "status_changed_at": "2024-05-02 10:40:00 +0200",
        "deployment_id": 15, "deployable_id": 796,
        "deployable_url": "https://gitlab.example.com/acme/shop/-/jobs/796",
        "environment": "prod-eu", "environment_tier": "production", "environment_slug": "prod-eu",
        "environment_external_url": "https://shop.example.com",
        "project": project, "short_sha": "279484c0",
        "user": {"id": 4, "name": "John Smith", "username": "jsmith"},
        "user_url": "https://gitlab.example.com/jsmith",
        "commit_url": format!("https://gitlab.example.com/acme/shop/-/commit/{sha}"),
        "commit_title": "Add checkout"
    });

    let (status, _) = gitlab(&app, "Push Hook", "wrong", "k1", &push).await;
    assert_eq!(status, 401);
    let (status, _) = gitlab(&app, "Push Hook", "", "k1", &push).await;
    assert_eq!(status, 401);
    assert_eq!(count_events(&app).await, 0);

    let (status, body) = gitlab(&app, "Push Hook", GITLAB_TOKEN, "k1", &push).await;
    assert_eq!((status, body["stored"].as_u64()), (200, Some(1)), "{body}");
    let (_, body) = gitlab(&app, "Push Hook", GITLAB_TOKEN, "k1", &push).await;
    assert_eq!(body["replayed"], true);
    // A pipeline: its stage, plus its commit (already stored by the push).
    let (_, body) = gitlab(&app, "Pipeline Hook", GITLAB_TOKEN, "k2", &pipeline).await;
    assert_eq!(
        (body["stored"].as_u64(), body["duplicates"].as_u64()),
        (Some(1), Some(1)),
        "{body}"
    );
    let (_, body) = gitlab(&app, "Deployment Hook", GITLAB_TOKEN, "k3", &deployment).await;
    assert_eq!(body["stored"], 1, "{body}");
    let mut running = deployment.clone();
    running["status"] = json!("running");
    let (status, body) = gitlab(&app, "Deployment Hook", GITLAB_TOKEN, "k4", &running).await;
    assert_eq!((status, body["stored"].as_u64()), (202, Some(0)));
    assert_eq!(count_events(&app).await, 3);

    let (_, page) = get_json(&app, "/v1/events?service=acme/shop&kind=deploy").await;
    let deploy = &page["events"][0];
    assert_eq!(deploy["sha"], sha, "the full sha from commit_url");
    assert_eq!(deploy["environment"], "production", "the tier");
    assert_eq!(deploy["time"], "2024-05-02T08:40:00Z");

    // Lead time from webhooks alone: commit 08:00Z to deploy 08:40Z.
    let (_, dora) = get_json(
        &app,
        "/v1/dora?service=acme/shop&from=2024-05-01&to=2024-05-03",
    )
    .await;
    assert_eq!(
        dora["lead_time_for_changes"]["median_seconds"], 2400.0,
        "{dora}"
    );
    app.stop().await;
}

async fn cloudevent(app: &TestApp, body: &Value) -> (u16, Value) {
    let response = app
        .post_body(
            "/v1/webhooks/cloudevents",
            "application/cloudevents+json",
            serde_json::to_vec(body).unwrap(),
        )
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn cdevent(id: &str, kind: &str, time: &str, subject: Value, custom: Value) -> Value {
    json!({
        "specversion": "1.0", "id": id, "source": "/ci/argo", "type": kind, "time": time,
        "datacontenttype": "application/json",
        "data": {
            "context": {"version": "0.4.1", "id": id, "source": "/ci/argo", "type": kind, "timestamp": time},
            "subject": subject,
            "customData": custom,
            "customDataContentType": "application/json"
        }
    })
}

/// A CloudEvent in binary mode: attributes in `ce-*` headers, the CDEvent as the body.
async fn binary_cloudevent(
    app: &TestApp,
    attributes: &[(&str, &str)],
    data: &Value,
) -> (u16, Value) {
    let mut headers = vec![("content-type", "application/json")];
    headers.extend_from_slice(attributes);
    deliver(
        app,
        "/v1/webhooks/cloudevents",
        &headers,
        serde_json::to_vec(data).unwrap(),
    )
    .await
}

/// Binary mode takes its identity from `ce-id` + `ce-source` (so the same
/// event sent structured afterwards is a replay, and the same CDEvent under
/// a new `ce-id` is a new event); `data_base64` and `data` as a string of JSON
/// are read as the CDEvent; a used event type without its CDEvent is a 400,
/// never a deploy with no service or environment.
async fn cloudevents_binary_mode_and_every_data_form(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let deployed = |id: &str, service: &str| {
        cdevent(
            id,
            "dev.cdevents.service.deployed.0.2.0",
            "2024-05-03T12:00:00Z",
            json!({"id": service, "source": "/ci/argo", "type": "service",
                   "content": {"environment": {"id": "staging", "source": "/ci/argo"}}}),
            json!({"sha": "abc123"}),
        )
    };
    let structured = deployed("bin-1", "cart");
    let headers = |id: &'static str| {
        [
            ("ce-specversion", "1.0"),
            ("ce-id", id),
            ("ce-source", "/ci/argo"),
            ("ce-type", "dev.cdevents.service.deployed.0.2.0"),
            ("ce-time", "2024-05-03T12:00:00Z"),
        ]
    };
    let (status, body) = binary_cloudevent(&app, &headers("bin-1"), &structured["data"]).await;
    assert_eq!((status, &body[0]["stored"]), (200, &json!(1)), "{body}");
    let (_, page) = get_json(&app, "/v1/events?service=cart").await;
    let event = &page["events"][0];
    assert_eq!(
        (&event["kind"], &event["environment"], &event["sha"]),
        (&json!("deploy"), &json!("staging"), &json!("abc123")),
        "{page}"
    );
    // The same event, structured: one CloudEvent, already stored.
    let (status, body) = cloudevent(&app, &structured).await;
    assert_eq!(
        (status, &body[0]["replayed"]),
        (200, &json!(true)),
        "{body}"
    );
    // The same CDEvent under a new `ce-id` is a new CloudEvent.
    let (status, body) = binary_cloudevent(&app, &headers("bin-2"), &structured["data"]).await;
    assert_eq!(
        (status, &body[0]["replayed"]),
        (200, &json!(false)),
        "{body}"
    );
    assert_eq!(count_events(&app).await, 2);

    // `data_base64`, and `data` as a string of JSON.
    use base64::Engine as _;
    let mut encoded = deployed("b64-1", "basket");
    let data = encoded["data"].take();
    encoded.as_object_mut().unwrap().remove("data");
    encoded["data_base64"] =
        Value::String(base64::engine::general_purpose::STANDARD.encode(data.to_string()));
    let mut as_text = deployed("text-1", "wallet");
    as_text["data"] = Value::String(as_text["data"].to_string());
    for (event, service) in [(&encoded, "basket"), (&as_text, "wallet")] {
        let (status, body) = cloudevent(&app, event).await;
        assert_eq!((status, &body[0]["stored"]), (200, &json!(1)), "{body}");
        let (_, page) = get_json(&app, &format!("/v1/events?service={service}")).await;
        assert_eq!(page["events"][0]["environment"], "staging", "{page}");
    }

    // Malformed: nothing stored, a 400 that says what is wrong.
    let before = count_events(&app).await;
    let mut no_data = deployed("none-1", "ghost");
    no_data.as_object_mut().unwrap().remove("data");
    let mut not_json = deployed("bad-1", "ghost");
    not_json["data"] = Value::String("not json".into());
    let mut not_base64 = deployed("bad-2", "ghost");
    not_base64.as_object_mut().unwrap().remove("data");
    not_base64["data_base64"] = Value::String("%%%".into());
    for (event, says) in [
        (&no_data, "needs its CDEvent"),
        (&not_json, "not JSON"),
        (&not_base64, "not base64"),
    ] {
        let (status, body) = cloudevent(&app, event).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["detail"].as_str().unwrap_or_default().contains(says),
            "{body}"
        );
    }
    let (status, body) = binary_cloudevent(
        &app,
        &[("ce-specversion", "1.0"), ("ce-source", "/x")],
        &json!({}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("ce-id"),
        "{body}"
    );
    assert_eq!(count_events(&app).await, before);
    app.stop().await;
}

async fn cloudevents_map_cdevents_and_ignore_replays(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let merged = cdevent(
        "ev-1",
        "dev.cdevents.change.merged.0.2.0",
        "2024-05-03T10:00:00Z",
        json!({"id": "PR-12", "source": "/scm/acme", "type": "change",
               "content": {"repository": {"id": "checkout", "source": "/scm/acme"}}}),
        json!({"sha": "c0ffee"}),
    );
    let deployed = cdevent(
        "ev-2",
        "dev.cdevents.service.deployed.0.2.0",
        "2024-05-03T12:00:00Z",
        json!({"id": "checkout", "source": "/ci/argo", "type": "service",
               "content": {"environment": {"id": "production", "source": "/ci/argo"},
                           "artifactId": "pkg:oci/checkout@sha256%3A0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427"}}),
        json!({"sha": "c0ffee"}),
    );
    let detected = cdevent(
        "ev-3",
        "dev.cdevents.incident.detected.0.2.0",
        "2024-05-03T12:30:00Z",
        json!({"id": "INC-9", "source": "/monitoring", "type": "incident",
               "content": {"description": "5xx", "environment": {"id": "production"},
                           "service": {"id": "checkout"}}}),
        json!({}),
    );
    let resolved = cdevent(
        "ev-4",
        "dev.cdevents.incident.resolved.0.2.0",
        "2024-05-03T13:00:00Z",
        json!({"id": "INC-9", "source": "/monitoring", "type": "incident",
               "content": {"environment": {"id": "production"}, "service": {"id": "checkout"}}}),
        json!({}),
    );
    let (status, body) = cloudevent(&app, &merged).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["stored"], 1);
    // A batch; the first event of it is a replay.
    let (status, body) = cloudevent(&app, &json!([merged, deployed, detected, resolved])).await;
    assert_eq!(status, 200, "{body}");
    let replayed: Vec<bool> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["replayed"].as_bool().unwrap())
        .collect();
    assert_eq!(replayed, [true, false, false, false]);
    assert_eq!(count_events(&app).await, 4);

    // A bare CDEvent of a type not used is accepted and ignored.
    let (status, body) = cloudevent(&app, &json!({
        "context": {"version": "0.4.1", "id": "ev-5", "source": "/ci", "type": "dev.cdevents.pipelinerun.queued.0.2.0", "timestamp": "2024-05-03T14:00:00Z"},
        "subject": {"id": "run-1", "content": {}}
    })).await;
    assert_eq!(status, 202, "nothing to store, as on the other sources");
    assert!(body[0]["ignored"].is_string(), "{body}");
    let (status, _) = cloudevent(&app, &json!({"specversion": "1.0", "type": "x"})).await;
    assert_eq!(status, 400);
    assert_eq!(count_events(&app).await, 4);

    let (_, dora) = get_json(
        &app,
        "/v1/dora?service=checkout&from=2024-05-03&to=2024-05-04",
    )
    .await;
    assert_eq!(
        dora["lead_time_for_changes"]["median_seconds"], 7200.0,
        "{dora}"
    );
    assert_eq!(dora["change_failure_rate"]["incidents"], 1);
    assert_eq!(
        dora["failed_deployment_recovery_time"]["median_seconds"],
        1800.0
    );
    app.stop().await;
}

async fn file_imports_read_ndjson_json_and_csv(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let store = store::for_database(&app.db);
    let dir = tempfile::tempdir().unwrap();
    let ndjson = dir.path().join("events.ndjson");
    std::fs::write(
        &ndjson,
        "{\"id\": \"n1\", \"time\": \"2024-05-01T00:00:00Z\", \"kind\": \"stage\"}\nnope\n\n{\"id\": \"n2\", \"time\": 1714521600, \"kind\": \"deploy\"}",
    )
    .unwrap();
    let json_file = dir.path().join("events.json");
    std::fs::write(
        &json_file,
        r#"[{"id": "j1", "time": "2024-05-01T00:00:00Z", "kind": "commit"}, {"id": "j2", "kind": "commit"}]"#,
    )
    .unwrap();
    let csv_file = dir.path().join("events.csv");
    std::fs::write(
        &csv_file,
        "id,sha,date,action,engineer,team\n7,abc,1714521600,deploy,\"O'Neil, Pat\",core\n8,abd,not-a-time,stage,sam,core\n",
    )
    .unwrap();
    let options = ImportOptions {
        service: Some("shop".into()),
        ..ImportOptions::default()
    };
    let report = import::import_file(store.clone(), &ndjson, &options)
        .await
        .unwrap();
    assert_eq!((report.stored, report.rejected), (2, 1));
    assert_eq!(report.errors[0].line, 2);
    let report = import::import_file(store.clone(), &json_file, &options)
        .await
        .unwrap();
    assert_eq!((report.stored, report.rejected), (1, 1));
    assert_eq!(report.errors[0].line, 1, "array index");
    let report = import::import_file(store.clone(), &csv_file, &options)
        .await
        .unwrap();
    assert_eq!(
        (report.stored, report.rejected),
        (1, 1),
        "{:?}",
        report.errors
    );
    assert_eq!(report.errors[0].line, 3);
    let (_, page) = get_json(&app, "/v1/events?service=shop&limit=10").await;
    assert_eq!(page["events"].as_array().unwrap().len(), 4);
    let (_, compat) = get_json(&app, "/listevents/O'Neil,%20Pat").await;
    assert_eq!(compat[0]["id"], 7);
    assert_eq!(compat[0]["action"], "deploy");
    app.stop().await;
}

async fn every_events_route_is_in_the_openapi_document(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, spec) = get_json(&app, "/openapi.json").await;
    assert_eq!(status, 200);
    for (path, method) in [
        ("/listevents", "get"),
        ("/listevents/getengineers", "get"),
        ("/listevents/{engineer}", "get"),
        ("/summaryevents", "get"),
        ("/summaryevents/{day}", "get"),
        ("/v1/events", "get"),
        ("/v1/events", "post"),
        ("/v1/events:ndjson", "post"),
        ("/v1/events/summary", "get"),
        ("/v1/events/{id}", "get"),
        ("/v1/engineers", "get"),
        ("/v1/dora", "get"),
        ("/v1/webhooks/github", "post"),
        ("/v1/webhooks/gitlab", "post"),
        ("/v1/webhooks/cloudevents", "post"),
        ("/v1/webhooks/pagerduty", "post"),
        ("/v1/webhooks/opsgenie", "post"),
    ] {
        assert!(
            spec["paths"][path][method].is_object(),
            "{method} {path} is not documented"
        );
    }
    app.stop().await;
}

/// PostgreSQL holds no U+0000 in text or JSONB (SQLite does): every text that
/// would reach either store with one is refused the same way, naming the
/// field, and the rest of an upload is kept.
async fn a_nul_character_is_refused_by_name_on_both_backends(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let nul_attribute = json!({"id": "n1", "time": 1714557600, "kind": "deploy",
                               "attributes": {"tags": ["ok", "v\u{0}"]}});
    let (status, body) = post_json(&app, "/v1/events", &nul_attribute).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "attributes.tags.1", "{body}");
    let (status, body) = post_json(
        &app,
        "/v1/events",
        &json!({"id": "n\u{0}", "time": 1714557600, "kind": "deploy"}),
    )
    .await;
    assert_eq!(
        (status, &body["errors"][0]["field"]),
        (422, &json!("id")),
        "{body}"
    );
    assert_eq!(count_events(&app).await, 0);

    // One bad line among five good ones: the good ones are stored.
    let mut lines = Vec::new();
    for i in 0..6 {
        let mut event = json!({"id": format!("line{i}"), "time": 1714557600 + i, "kind": "stage"});
        if i == 2 {
            event["attributes"] = json!({"k\u{0}": "v"});
        }
        lines.push(event.to_string());
    }
    let response = app
        .client
        .post(app.url("/v1/events:ndjson"))
        .header("content-type", "application/x-ndjson")
        .body(lines.join("\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(
        (report["stored"].as_u64(), report["rejected"].as_u64()),
        (Some(5), Some(1)),
        "{report}"
    );
    assert_eq!(report["errors"][0]["line"], 3, "{report}");
    assert_eq!(count_events(&app).await, 5);

    // Query texts: refused by name, never handed to the store.
    for (path, field) in [
        ("/v1/events?engineer=a%00b", "engineer"),
        ("/v1/events?actor=%00", "actor"),
        ("/v1/events?kind=stage,de%00ploy", "kind"),
        ("/v1/engineers?service=s%00", "service"),
        ("/v1/events/summary?environment=p%00", "environment"),
        ("/v1/dora?service=s%00", "service"),
    ] {
        let (status, body) = get_json(&app, path).await;
        assert_eq!(status, 422, "{path}: {body}");
        assert_eq!(body["errors"][0]["field"], field, "{path}: {body}");
    }
    let (status, _) = get_json(&app, "/v1/events/line1%00").await;
    assert_eq!(status, 404);
    // The original answered an engineer it did not know with an empty list.
    let (status, body) = get_json(&app, "/listevents/a%00b").await;
    assert_eq!((status, body), (200, json!([])));

    // A webhook whose payload maps to a text with a NUL stores nothing.
    let deployed = cdevent(
        "nul-1",
        "dev.cdevents.service.deployed.0.2.0",
        "2024-05-03T12:00:00Z",
        json!({"id": "check\u{0}out", "source": "/ci/argo", "type": "service",
               "content": {"environment": {"id": "production", "source": "/ci/argo"}}}),
        json!({"sha": "c0ffee"}),
    );
    let fine = cdevent(
        "nul-0",
        "dev.cdevents.service.deployed.0.2.0",
        "2024-05-03T11:00:00Z",
        json!({"id": "checkout", "source": "/ci/argo", "type": "service",
               "content": {"environment": {"id": "production", "source": "/ci/argo"}}}),
        json!({"sha": "c0ffee"}),
    );
    let (status, body) = cloudevent(&app, &json!([fine, deployed])).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "service", "{body}");
    assert_eq!(
        count_events(&app).await,
        5,
        "nothing of the batch was stored"
    );
    app.stop().await;
}
