//! `/__admin/requests/events`: the journal as server-sent events, which the
//! web console's journal view reads. On PostgreSQL, requests another process
//! answered arrive too.

use std::time::Duration;

use serde_json::{Value, json};

use super::common::{Backend, TestApp, client};
use super::stub;

/// A server-sent events stream being read.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

/// One event: its `event` name and its `data`.
#[derive(Debug)]
struct StreamEvent {
    name: String,
    data: String,
}

impl EventStream {
    async fn open(app: &TestApp, query: &str) -> EventStream {
        let response = client()
            .get(app.url(&format!("/__admin/requests/events{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        EventStream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event other than a keep-alive comment (10 s at most).
    async fn next(&mut self) -> StreamEvent {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .filter_map(|line| line.strip_prefix(name))
                        .map(|value| value.trim_start().to_owned())
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                let name = field("event:");
                if name.is_empty() {
                    continue;
                }
                return StreamEvent {
                    name,
                    data: field("data:"),
                };
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("an event within 10 s")
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next `request` event's serve event.
    async fn next_request(&mut self) -> Value {
        let event = self.next().await;
        assert_eq!(event.name, "request", "{event:?}");
        serde_json::from_str(&event.data).unwrap()
    }
}

/// First the newest `limit` requests, oldest first, and `ready`; then each request as it
/// is answered, matched or not, with its response; `cleared` when the
/// journal is emptied, and what comes after.
pub async fn journal_events_stream_the_journal_as_it_grows(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    stub(
        &app,
        json!({"name": "hello", "request": {"method": "GET", "url": "/hello"},
               "response": {"status": 200, "body": "hi"}}),
    )
    .await;
    for path in ["/first", "/second", "/third"] {
        assert_eq!(app.status(path).await, 404);
    }
    let mut events = EventStream::open(&app, "?limit=2").await;
    assert_eq!(events.next_request().await["request"]["url"], "/second");
    assert_eq!(events.next_request().await["request"]["url"], "/third");
    assert_eq!(events.next().await.name, "ready");

    assert_eq!(app.status("/hello").await, 200);
    let matched = events.next_request().await;
    assert_eq!(matched["request"]["url"], "/hello");
    assert_eq!(matched["wasMatched"], true);
    assert_eq!(matched["stubMapping"]["name"], "hello");
    assert_eq!(matched["response"]["status"], 200);

    assert_eq!(app.status("/nothing/here").await, 404);
    let unmatched = events.next_request().await;
    assert_eq!(unmatched["request"]["url"], "/nothing/here");
    assert_eq!(unmatched["wasMatched"], false);
    assert_eq!(unmatched["response"]["status"], 404);

    let cleared = client()
        .delete(app.url("/__admin/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 200);
    assert_eq!(events.next().await.name, "cleared");
    assert_eq!(app.status("/after").await, 404);
    assert_eq!(events.next_request().await["request"]["url"], "/after");

    let refused = client()
        .get(app.url("/__admin/requests/events?limit=many"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    drop(events);
    app.stop().await;
}

/// Two processes on one database: a request the other one answered
/// reaches this one's stream (it reads the shared journal again every
/// few seconds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_events_carry_requests_other_processes_answered() {
    let Some(one) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let two = one.spawn_beside().await;
    let mut events = EventStream::open(&one, "?limit=0").await;
    assert_eq!(events.next().await.name, "ready");
    assert_eq!(two.status("/asked/of/two").await, 404);
    assert_eq!(
        events.next_request().await["request"]["url"],
        "/asked/of/two"
    );
    drop(events);
    two.stop().await;
    one.stop().await;
}
