//! Many processes behave as one: three `echobase serve` processes on one
//! PostgreSQL database, every request sent to the next process in turn, as a
//! load balancer would. What a client stores or changes through one process
//! must hold through the others: stubs, scenario steps (racing ones too),
//! global settings, body files, the request journal (`verify` and `count`
//! right after the request, through another process), people's ETags and
//! `If-Match`, and the idempotency of messages and events.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Backend, Echobase, TestDatabase, client, serve};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Three processes on one fresh database, and a turn counter.
struct Fleet {
    apps: Vec<Echobase>,
    next: AtomicUsize,
    http: reqwest::Client,
    // Last: the database goes after the processes on it.
    _database: TestDatabase,
}

impl Fleet {
    async fn start() -> Option<Fleet> {
        let (database, url) = TestDatabase::create(Backend::Postgres).await?;
        // The first migrates the database; the others find it ready.
        let mut apps = vec![Echobase::start(&mut serve(url.expose()))];
        for _ in 0..2 {
            apps.push(Echobase::start(&mut serve(url.expose())));
        }
        Some(Fleet {
            apps,
            next: AtomicUsize::new(0),
            http: client(),
            _database: database,
        })
    }

    /// The URL of `path` on the process whose turn it is.
    fn url(&self, path: &str) -> String {
        let turn = self.next.fetch_add(1, Ordering::SeqCst) % self.apps.len();
        self.apps[turn].url(path)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let mut request = self.http.request(method, self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap_or_default())
    }

    async fn json(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        let (status, _, text) = self
            .send(
                method,
                path,
                &[("content-type", "application/json")],
                Some(body.to_string()),
            )
            .await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let (status, _, text) = self.send(Method::GET, path, &[], None).await;
        (status, text)
    }

    /// Asks every process, until each answers `path` with `status` (a stub
    /// change reaches the others within milliseconds; at most 10 s).
    async fn until_all(&self, path: &str, status: u16) {
        for _ in 0..200 {
            let mut all = true;
            for app in &self.apps {
                let answered = self.http.get(app.url(path)).send().await;
                all &= answered.is_ok_and(|r| r.status().as_u16() == status);
            }
            if all {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("not every process answers {path} with {status}");
    }

    /// Stops every process (SIGTERM), then drops the database.
    async fn stop(mut self) {
        for app in &mut self.apps {
            app.signal("TERM");
            app.wait_for_exit(Duration::from_secs(10));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mocks_are_one_for_the_fleet() {
    let Some(fleet) = Fleet::start().await else {
        return;
    };
    // Stubs: created through one, answered by all; deleted through another.
    let (status, created) = fleet
        .json(
            Method::POST,
            "/__admin/mappings",
            json!({"request": {"urlPath": "/fleet/hello"}, "response": {"body": "hi"}}),
        )
        .await;
    assert_eq!(status, 201);
    fleet.until_all("/fleet/hello", 200).await;

    // The journal: each request counted through the next process, right
    // after its answer; the whole journal the same through each.
    let (status, _) = fleet
        .json(Method::DELETE, "/__admin/requests", Value::Null)
        .await;
    assert_eq!(status, 200);
    for i in 0..12 {
        let path = format!("/fleet/hello?n={i}");
        assert_eq!(fleet.get(&path).await.0, 200);
        let (status, counted) = fleet
            .json(
                Method::POST,
                "/__admin/requests/count",
                json!({"url": path}),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(counted["count"], 1, "request {i}: {counted}");
    }
    assert_eq!(fleet.get("/fleet/nothing-here").await.0, 404);
    for _ in 0..3 {
        let (_, found) = fleet
            .json(
                Method::POST,
                "/__admin/requests/find",
                json!({"urlPath": "/fleet/hello"}),
            )
            .await;
        assert_eq!(
            found["requests"].as_array().map(Vec::len),
            Some(12),
            "{found}"
        );
        let (_, unmatched) = fleet
            .json(Method::GET, "/__admin/requests/unmatched", Value::Null)
            .await;
        assert_eq!(
            unmatched["requests"][0]["url"], "/fleet/nothing-here",
            "{unmatched}"
        );
    }
    let (status, _) = fleet
        .json(Method::POST, "/__admin/requests/reset", Value::Null)
        .await;
    assert_eq!(status, 200);
    for _ in 0..3 {
        let (_, counted) = fleet
            .json(Method::POST, "/__admin/requests/count", json!({}))
            .await;
        assert_eq!(counted["count"], 0, "emptied for every process: {counted}");
    }

    let id = created["id"].as_str().expect("an id");
    let (status, _) = fleet
        .json(
            Method::DELETE,
            &format!("/__admin/mappings/{id}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200);
    fleet.until_all("/fleet/hello", 404).await;

    // A scenario of 30 steps, the requests racing through all three: each step once.
    let state = |i: usize| {
        if i == 0 {
            "Started".to_owned()
        } else {
            format!("s{i}")
        }
    };
    let steps = 30;
    let mut mappings: Vec<Value> = (0..steps)
        .map(|i| json!({"scenarioName": "fleet", "requiredScenarioState": state(i), "newScenarioState": state(i + 1),
            "request": {"urlPath": "/fleet/step"}, "response": {"body": i.to_string()}}))
        .collect();
    mappings.push(json!({"request": {"urlPath": "/fleet/probe"}, "response": {"body": "ok"}}));
    let (status, _) = fleet
        .json(
            Method::POST,
            "/__admin/mappings/import",
            json!({"mappings": mappings}),
        )
        .await;
    assert_eq!(status, 200);
    fleet.until_all("/fleet/probe", 200).await;
    let urls: Vec<String> = (0..steps).map(|_| fleet.url("/fleet/step")).collect();
    let tasks: Vec<_> = urls
        .into_iter()
        .map(|url| {
            let http = fleet.http.clone();
            tokio::spawn(async move { http.get(url).send().await.unwrap().text().await.unwrap() })
        })
        .collect();
    let mut taken = BTreeSet::new();
    for task in tasks {
        let body = task.await.unwrap();
        assert!(
            taken.insert(body.parse::<usize>().expect("a step")),
            "step {body} twice"
        );
    }
    assert_eq!(taken, (0..steps).collect::<BTreeSet<_>>());
    for _ in 0..3 {
        assert_eq!(
            fleet.get("/fleet/step").await.0,
            404,
            "the chain is spent for all"
        );
    }
    // Reset through one: every process starts again.
    let (status, _) = fleet
        .json(Method::POST, "/__admin/scenarios/reset", Value::Null)
        .await;
    assert_eq!(status, 200);
    assert_eq!(fleet.get("/fleet/step").await.1, "0");
    assert_eq!(fleet.get("/fleet/step").await.1, "1");

    // Global settings and body files, set through one, seen through the others.
    let (status, _) = fleet
        .json(Method::POST, "/__admin/settings", json!({"fixedDelay": 3}))
        .await;
    assert_eq!(status, 200);
    // Each process applies the change when its notification arrives.
    for app in &fleet.apps {
        let mut seen = Value::Null;
        for _ in 0..200 {
            let response = fleet.http.get(app.url("/__admin/settings")).send().await;
            seen = match response {
                Ok(r) => r.json().await.unwrap_or(Value::Null),
                Err(_) => Value::Null,
            };
            if seen["settings"]["fixedDelay"] == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(seen["settings"]["fixedDelay"], 3, "{seen}");
    }
    let (status, _, _) = fleet
        .send(
            Method::PUT,
            "/__admin/files/fleet.txt",
            &[],
            Some("from a file".into()),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = fleet
        .json(
            Method::POST,
            "/__admin/mappings",
            json!({"request": {"urlPath": "/fleet/file"}, "response": {"bodyFileName": "fleet.txt"}}),
        )
        .await;
    assert_eq!(status, 201);
    fleet.until_all("/fleet/file", 200).await;
    for _ in 0..3 {
        assert_eq!(fleet.get("/fleet/file").await.1, "from a file");
    }
    fleet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_messages_and_events_are_one_for_the_fleet() {
    let Some(fleet) = Fleet::start().await else {
        return;
    };
    // People: an ETag from one process is checked by the next; a stale one is a 412.
    let (status, person) = fleet
        .json(
            Method::POST,
            "/v1/people",
            json!({"name": "Ada", "age": 36, "locale": "en-GB"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{person}");
    let id = person["id"].to_string();
    let (_, headers, _) = fleet
        .send(Method::GET, &format!("/v1/people/{id}"), &[], None)
        .await;
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let patch = |age: u8| Some(json!({"age": age}).to_string());
    let (status, _, _) = fleet
        .send(
            Method::PATCH,
            &format!("/v1/people/{id}"),
            &[("content-type", "application/json"), ("if-match", &etag)],
            patch(37),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = fleet
        .send(
            Method::PATCH,
            &format!("/v1/people/{id}"),
            &[("content-type", "application/json"), ("if-match", &etag)],
            patch(38),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::PRECONDITION_FAILED,
        "the ETag went stale on another process"
    );
    let (_, body) = fleet.get(&format!("/v1/people/{id}")).await;
    assert!(body.contains("\"age\":37"), "{body}");

    // Messages: the same content through each process is one message.
    let mut statuses = Vec::new();
    let mut digests = BTreeSet::new();
    for _ in 0..3 {
        let (status, body) = fleet
            .json(Method::POST, "/v1/messages", json!({"message": "fleet"}))
            .await;
        statuses.push(status.as_u16());
        digests.insert(body["digest"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(statuses, [201, 200, 200], "stored once, then found");
    assert_eq!(digests.len(), 1);

    // Events: the same id through each process is stored once.
    let event =
        json!({"id": "fleet-1", "time": "2026-01-01T10:00:00Z", "kind": "deploy", "actor": "amy"});
    let mut stored = 0;
    for _ in 0..3 {
        let (status, report) = fleet.json(Method::POST, "/v1/events", event.clone()).await;
        assert!(status.is_success(), "{report}");
        stored += report["stored"].as_u64().unwrap_or_default();
    }
    assert_eq!(stored, 1, "one event however many processes took it");
    fleet.stop().await;
}
