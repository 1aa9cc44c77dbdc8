//! The mocks store contract: [`StubStore`] on both backends.

use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, Version};
use echobase::db::Database;
use echobase::mocks::journal::{
    AnsweredBy, Journal, JournalSettings, LoggedRequest, LoggedResponse,
};
use echobase::mocks::matcher::Origin;
use echobase::mocks::store::{
    self, CHANGES_CHANNEL, FileStore, Pick, ScenarioStore, StoredStub, StubStore,
};

use crate::common::{Backend, TestDatabase};

crate::on_both_backends!(
    list_is_oldest_first,
    upsert_inserts_then_replaces_keeping_seq,
    last_of_duplicate_ids_in_one_upsert_wins,
    upserts_and_deletes_past_one_chunk,
    delete_counts_only_stubs_that_existed,
    delete_all_removes_every_stub,
    empty_inputs_change_nothing,
    global_settings_are_one_replaceable_document,
    files_are_put_read_listed_and_deleted,
    file_contents_are_kept_byte_for_byte,
    scenario_states_are_set_reset_and_forgotten,
    a_scenario_transition_is_taken_once_under_concurrency,
    the_journal_keeps_the_newest_entries,
    the_journal_keeps_bodies_under_the_budget,
    response_bodies_count_against_the_budget,
    journal_entries_read_back_as_recorded,
    journal_entries_are_removed_and_cleared,
    an_entry_pushed_out_takes_the_older_ones_with_it,
);

/// Rows per statement in the store (`CHUNK`): the chunk case crosses it twice.
const CHUNK: usize = 500;

async fn store_on(backend: Backend) -> Option<(TestDatabase, Arc<dyn StubStore>)> {
    let (guard, db) = crate::fresh_database(backend).await?;
    Some((guard, store::for_database(&db, "contract")))
}

fn stub(id: &str, mapping: &str) -> (String, String) {
    (id.to_owned(), mapping.to_owned())
}

fn ids(stubs: &[StoredStub]) -> Vec<&str> {
    stubs.iter().map(|s| s.id.as_str()).collect()
}

async fn list_is_oldest_first(backend: Backend) {
    let Some((_db, store)) = store_on(backend).await else {
        return;
    };
    for id in ["c", "a", "b"] {
        store.upsert(&[stub(id, "{}")]).await.unwrap();
    }
    let listed = store.list().await.unwrap();
    assert_eq!(ids(&listed), ["c", "a", "b"]);
    assert!(listed.windows(2).all(|pair| pair[0].seq < pair[1].seq));
}

async fn upsert_inserts_then_replaces_keeping_seq(backend: Backend) {
    let Some((_db, store)) = store_on(backend).await else {
        return;
    };
    let inserted = store.upsert(&[stub("a", r#"{"v":1}"#)]).await.unwrap();
    assert_eq!(inserted.len(), 1);
    let first = inserted[0].clone();
    assert_eq!(
        (first.id.as_str(), first.mapping.as_str()),
        ("a", r#"{"v":1}"#)
    );
    store.upsert(&[stub("b", "{}")]).await.unwrap();

    let replaced = store.upsert(&[stub("a", r#"{"v":2}"#)]).await.unwrap();
    let expected = StoredStub {
        mapping: r#"{"v":2}"#.to_owned(),
        ..first
    };
    assert_eq!(replaced, std::slice::from_ref(&expected));
    let listed = store.list().await.unwrap();
    assert_eq!(listed[0], expected, "a replaced stub keeps its place");
    assert_eq!(ids(&listed), ["a", "b"]);
}

async fn last_of_duplicate_ids_in_one_upsert_wins(backend: Backend) {
    let Some((_db, store)) = store_on(backend).await else {
        return;
    };
    let stored = store
        .upsert(&[stub("a", "1"), stub("b", "1"), stub("a", "2")])
        .await
        .unwrap();
    assert_eq!(stored.len(), 2, "one row per id: {stored:?}");
    let listed = store.list().await.unwrap();
    let mut mappings: Vec<(&str, &str)> = listed
        .iter()
        .map(|s| (s.id.as_str(), s.mapping.as_str()))
        .collect();
    mappings.sort_unstable();
    assert_eq!(mappings, [("a", "2"), ("b", "1")]);
}

async fn upserts_and_deletes_past_one_chunk(backend: Backend) {
    let Some((_db, store)) = store_on(backend).await else {
        return;
    };
    let count = 2 * CHUNK + 1;
    let stubs: Vec<(String, String)> = (0..count)
        .map(|i| (format!("s{i:04}"), format!(r#"{{"n":{i}}}"#)))
        .collect();
    let stored = store.upsert(&stubs).await.unwrap();
    assert_eq!(stored.len(), count);
    let listed = store.list().await.unwrap();
    let expected: Vec<&str> = stubs.iter().map(|(id, _)| id.as_str()).collect();
    let listed_ids = ids(&listed);
    assert!(
        listed_ids == expected,
        "every chunk stored, in order; first difference at row {:?} of {}",
        first_difference(&listed_ids, &expected),
        listed_ids.len()
    );
    assert!(
        listed
            .iter()
            .zip(&stubs)
            .all(|(row, (_, m))| &row.mapping == m)
    );

    // Replacing them all, again across chunks, keeps every seq.
    let again: Vec<(String, String)> = stubs
        .iter()
        .map(|(id, _)| (id.clone(), "{}".to_owned()))
        .collect();
    store.upsert(&again).await.unwrap();
    let relisted = store.list().await.unwrap();
    let seqs = |rows: &[StoredStub]| rows.iter().map(|s| s.seq).collect::<Vec<_>>();
    let (before, after) = (seqs(&listed), seqs(&relisted));
    assert!(
        before == after,
        "seq changed; first at row {:?}",
        first_difference(&before, &after)
    );

    let mut doomed: Vec<String> = stubs.iter().map(|(id, _)| id.clone()).collect();
    let kept = doomed.pop().unwrap();
    doomed.push("missing".to_owned());
    assert_eq!(store.delete(&doomed).await.unwrap(), (count - 1) as u64);
    assert_eq!(ids(&store.list().await.unwrap()), [kept.as_str()]);
}

/// Where two long lists first differ (so a failure does not print them whole).
fn first_difference<T: PartialEq>(left: &[T], right: &[T]) -> Option<usize> {
    (0..left.len().max(right.len())).find(|&i| left.get(i) != right.get(i))
}

async fn delete_counts_only_stubs_that_existed(backend: Backend) {
    let Some((_db, store)) = store_on(backend).await else {
        return;
    };
    store
        .upsert(&[stub("a", "{}"), stub("b", "{}"), stub("c", "{}")])
        .await
        .unwrap();
    let doomed = ["a", "missing", "c", "a"].map(str::to_owned);
    assert_eq!(store.delete(&doomed).await.unwrap(), 2);
    assert_eq!(ids(&store.list().await.unwrap()), ["b"]);
    assert_eq!(store.delete(&doomed).await.unwrap(), 0, "already gone");
}

async fn delete_all_removes_every_stub(backend: Backend) {
    let Some((_db, store)) = store_on(backend).await else {
        return;
    };
    store
        .upsert(&[stub("a", "{}"), stub("b", "{}"), stub("c", "{}")])
        .await
        .unwrap();
    assert_eq!(store.delete_all().await.unwrap(), 3);
    assert_eq!(store.list().await.unwrap(), []);
    assert_eq!(store.delete_all().await.unwrap(), 0);

    let after = store.upsert(&[stub("a", "{}")]).await.unwrap();
    assert_eq!(ids(&after), ["a"], "the store is usable again");
}

async fn empty_inputs_change_nothing(backend: Backend) {
    let Some((_db, store)) = store_on(backend).await else {
        return;
    };
    assert_eq!(store.list().await.unwrap(), []);
    assert_eq!(store.upsert(&[]).await.unwrap(), []);
    assert_eq!(store.delete(&[]).await.unwrap(), 0);
    store.upsert(&[stub("a", "{}")]).await.unwrap();
    assert_eq!(store.upsert(&[]).await.unwrap(), []);
    assert_eq!(store.delete(&[]).await.unwrap(), 0);
    assert_eq!(ids(&store.list().await.unwrap()), ["a"]);
}

/// Other processes follow the stubs through these notifications (`mocks::sync`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_postgres_write_is_announced_with_the_instance() {
    let Some((_guard, db)) = crate::fresh_database(Backend::Postgres).await else {
        return;
    };
    let Database::Postgres(pool) = &db else {
        unreachable!("a PostgreSQL database");
    };
    let mut listener = sqlx::postgres::PgListener::connect_with(pool)
        .await
        .unwrap();
    listener.listen(CHANGES_CHANNEL).await.unwrap();
    let store = store::for_database(&db, "contract");
    store.upsert(&[stub("a", "{}")]).await.unwrap();
    store.delete(&["a".to_owned()]).await.unwrap();
    store.delete_all().await.unwrap();
    for write in ["upsert", "delete", "delete_all"] {
        let notice = tokio::time::timeout(std::time::Duration::from_secs(10), listener.recv())
            .await
            .unwrap_or_else(|_| panic!("no notification for {write}"))
            .unwrap();
        assert_eq!(notice.payload(), "contract", "{write}");
    }
}

async fn global_settings_are_one_replaceable_document(backend: Backend) {
    let Some((_db, store)) = store_on(backend).await else {
        return;
    };
    assert_eq!(store.settings().await.unwrap(), None);
    store.put_settings(r#"{"fixedDelay":1}"#).await.unwrap();
    store.put_settings(r#"{"fixedDelay":2}"#).await.unwrap();
    assert_eq!(
        store.settings().await.unwrap().as_deref(),
        Some(r#"{"fixedDelay":2}"#)
    );
}

// ---- body files: [`FileStore`] ---------------------------------------------------

async fn file_store_on(backend: Backend) -> Option<(TestDatabase, Arc<dyn FileStore>)> {
    let (guard, db) = crate::fresh_database(backend).await?;
    Some((guard, store::files_for_database(&db)))
}

async fn files_are_put_read_listed_and_deleted(backend: Backend) {
    let Some((_db, files)) = file_store_on(backend).await else {
        return;
    };
    assert!(files.names().await.unwrap().is_empty());
    assert_eq!(files.get("a.txt").await.unwrap(), None);
    for name in ["z.json", "a.txt", "dir/b.txt"] {
        files.put(name, name.as_bytes()).await.unwrap();
    }
    assert_eq!(
        files.names().await.unwrap(),
        ["a.txt", "dir/b.txt", "z.json"]
    );
    files.put("a.txt", b"replaced").await.unwrap();
    assert_eq!(
        files.get("a.txt").await.unwrap().as_deref(),
        Some(&b"replaced"[..])
    );
    assert_eq!(
        files.names().await.unwrap().len(),
        3,
        "a replace adds no file"
    );
    assert!(files.delete("a.txt").await.unwrap());
    assert!(!files.delete("a.txt").await.unwrap(), "already gone");
    assert_eq!(files.get("a.txt").await.unwrap(), None);
    assert_eq!(files.names().await.unwrap(), ["dir/b.txt", "z.json"]);
}

async fn file_contents_are_kept_byte_for_byte(backend: Backend) {
    let Some((_db, files)) = file_store_on(backend).await else {
        return;
    };
    let binary: Vec<u8> = (0..=255u8).chain([0, 0xff, 0xfe, 0]).collect();
    files.put("bin", &binary).await.unwrap();
    files.put("empty", b"").await.unwrap();
    assert_eq!(files.get("bin").await.unwrap(), Some(binary));
    assert_eq!(files.get("empty").await.unwrap(), Some(Vec::new()));
}

// ---- scenario states: [`ScenarioStore`] (in memory on SQLite, shared on PostgreSQL) ----

async fn scenario_store_on(backend: Backend) -> Option<(TestDatabase, Arc<dyn ScenarioStore>)> {
    let (guard, db) = crate::fresh_database(backend).await?;
    Some((guard, store::scenarios_for_database(&db)))
}

async fn scenario_states_are_set_reset_and_forgotten(backend: Backend) {
    let Some((_db, scenarios)) = scenario_store_on(backend).await else {
        return;
    };
    assert!(scenarios.states().await.unwrap().is_empty());
    scenarios.set("a", "one").await.unwrap();
    scenarios.set("b", "two").await.unwrap();
    scenarios.set("a", "three").await.unwrap();
    let states = scenarios.states().await.unwrap();
    assert_eq!(states.get("a").map(String::as_str), Some("three"));
    assert_eq!(states.get("b").map(String::as_str), Some("two"));
    scenarios.retain(&["b".to_owned()]).await.unwrap();
    assert_eq!(scenarios.states().await.unwrap().len(), 1, "a is forgotten");
    scenarios.retain(&[]).await.unwrap();
    assert!(scenarios.states().await.unwrap().is_empty());
    scenarios.set("c", "x").await.unwrap();
    scenarios.reset().await.unwrap();
    assert!(
        scenarios.states().await.unwrap().is_empty(),
        "every scenario back to Started"
    );
}

/// Sixteen concurrent requests for `Started -> next`: one takes it, the
/// others see `next` and choose nothing.
async fn a_scenario_transition_is_taken_once_under_concurrency(backend: Backend) {
    let Some((_db, scenarios)) = scenario_store_on(backend).await else {
        return;
    };
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let scenarios = scenarios.clone();
            tokio::spawn(async move {
                let pick = |states: &std::collections::HashMap<String, String>| match states
                    .get("s")
                    .map_or("Started", String::as_str)
                {
                    "Started" => Pick {
                        chosen: Some(0),
                        transition: Some(("s".to_owned(), "next".to_owned())),
                    },
                    _ => Pick::default(),
                };
                scenarios
                    .transition(&["s".to_owned()], &pick)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut taken = 0;
    for task in tasks {
        if task.await.unwrap().chosen.is_some() {
            taken += 1;
        }
    }
    assert_eq!(taken, 1);
    let states = scenarios.states().await.unwrap();
    assert_eq!(states.get("s").map(String::as_str), Some("next"));
}

// ---- the request journal: [`JournalStore`] (in memory on SQLite, shared on PostgreSQL) ----

fn journal_limits(entries: usize, body_budget: usize) -> JournalSettings {
    JournalSettings {
        entries,
        max_body: body_budget,
        body_budget,
        keep_credentials: false,
    }
}

async fn journal_on(backend: Backend, limits: JournalSettings) -> Option<(TestDatabase, Journal)> {
    let (guard, db) = crate::fresh_database(backend).await?;
    let store = store::journal_for_database(&db, "contract", limits, true);
    Some((guard, Journal::new(limits, store)))
}

fn logged(n: usize, body: usize) -> LoggedRequest {
    LoggedRequest {
        id: uuid::Uuid::new_v4(),
        origin: Origin::default(),
        method: Method::GET,
        path: format!("/{n}"),
        query: None,
        headers: HeaderMap::new(),
        body: Bytes::from(vec![b'x'; body]),
        body_truncated: false,
        logged_at_ms: i64::try_from(n).unwrap(),
        stub: None,
        response: OnceLock::new(),
    }
}

fn answer(body: usize) -> LoggedResponse {
    LoggedResponse {
        status: 200,
        headers: HeaderMap::new(),
        body: Bytes::from(vec![b'y'; body]),
        fault: None,
    }
}

/// Records and answers an entry (the store hears of it as the handler ends).
fn answered(journal: &Journal, entry: LoggedRequest, response: LoggedResponse) {
    journal.record(entry).respond(response);
}

async fn paths(journal: &Journal) -> Vec<String> {
    let none = |_: &str| None;
    let entries = journal.entries(&none).await.unwrap();
    entries.iter().map(|e| e.path.clone()).collect()
}

async fn the_journal_keeps_the_newest_entries(backend: Backend) {
    let Some((_db, journal)) = journal_on(backend, journal_limits(3, 1 << 20)).await else {
        return;
    };
    for n in 0..10 {
        answered(&journal, logged(n, 0), answer(0));
    }
    assert_eq!(paths(&journal).await, ["/7", "/8", "/9"]);
}

async fn the_journal_keeps_bodies_under_the_budget(backend: Backend) {
    let Some((_db, journal)) = journal_on(backend, journal_limits(10_000, 100)).await else {
        return;
    };
    for n in 0..50 {
        answered(&journal, logged(n, 10), answer(0));
    }
    assert_eq!(paths(&journal).await.len(), 10);
    assert_eq!(
        paths(&journal).await.last().map(String::as_str),
        Some("/49")
    );
}

async fn response_bodies_count_against_the_budget(backend: Backend) {
    let Some((_db, journal)) = journal_on(backend, journal_limits(100, 30)).await else {
        return;
    };
    for n in 0..3 {
        answered(&journal, logged(n, 5), answer(5));
    }
    // Three entries of 10 bytes fill the budget; one more pushes out the oldest.
    assert_eq!(paths(&journal).await.len(), 3);
    answered(&journal, logged(3, 5), answer(5));
    assert_eq!(paths(&journal).await, ["/1", "/2", "/3"]);
}

/// Every field comes back as recorded (on PostgreSQL, through the table).
async fn journal_entries_read_back_as_recorded(backend: Backend) {
    let Some((_db, journal)) = journal_on(backend, journal_limits(100, 1 << 20)).await else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.append("x-one", HeaderValue::from_static("a: b"));
    headers.append("x-one", HeaderValue::from_static("c"));
    headers.append(
        "x-bytes",
        HeaderValue::from_bytes(&[0xc3, 0xa9, 0xff]).unwrap(),
    );
    let mut response_headers = HeaderMap::new();
    response_headers.insert("content-type", HeaderValue::from_static("text/plain"));
    let id = uuid::Uuid::new_v4();
    answered(
        &journal,
        LoggedRequest {
            id,
            origin: Origin {
                client_ip: Some("::1".parse().unwrap()),
                https: true,
                version: Version::HTTP_2,
            },
            method: Method::from_bytes(b"PROPFIND").unwrap(),
            path: "/a%20b".to_owned(),
            query: Some("x=1&x=2".to_owned()),
            headers: headers.clone(),
            body: Bytes::from_static(&[0, 1, 2, 255]),
            body_truncated: true,
            logged_at_ms: 1_796_000_000_123,
            stub: Some(AnsweredBy::Removed("stub-1".to_owned())),
            response: OnceLock::new(),
        },
        LoggedResponse {
            status: 418,
            headers: response_headers.clone(),
            body: Bytes::from_static(b"teapot"),
            fault: Some("CONNECTION_RESET_BY_PEER".to_owned()),
        },
    );
    // Abandoned by its client: kept without a response.
    drop(journal.record(logged(7, 0)));
    let none = |_: &str| None;
    let entries = journal.entries(&none).await.unwrap();
    assert_eq!(entries.len(), 2);
    let entry = &entries[1];
    assert_eq!(entry.id, id);
    assert_eq!(entry.origin.client_ip, Some("::1".parse().unwrap()));
    assert!(entry.origin.https);
    assert_eq!(entry.origin.version, Version::HTTP_2);
    assert_eq!(entry.method.as_str(), "PROPFIND");
    assert_eq!(entry.path, "/a%20b");
    assert_eq!(entry.query.as_deref(), Some("x=1&x=2"));
    assert_eq!(entry.headers, headers);
    assert_eq!(&entry.body[..], &[0, 1, 2, 255]);
    assert!(entry.body_truncated);
    assert_eq!(entry.logged_at_ms, 1_796_000_000_123);
    assert_eq!(entry.stub.as_ref().map(AnsweredBy::id), Some("stub-1"));
    let response = entry.response.get().expect("a response");
    assert_eq!(response.status, 418);
    assert_eq!(response.headers, response_headers);
    assert_eq!(&response.body[..], b"teapot");
    assert_eq!(response.fault.as_deref(), Some("CONNECTION_RESET_BY_PEER"));
    assert_eq!(entries[0].path, "/7", "ordered by the time logged");
    assert!(entries[0].response.get().is_none());
}

async fn journal_entries_are_removed_and_cleared(backend: Backend) {
    let Some((_db, journal)) = journal_on(backend, journal_limits(100, 1 << 20)).await else {
        return;
    };
    for n in 0..4 {
        answered(&journal, logged(n, 1), answer(1));
    }
    let none = |_: &str| None;
    let entries = journal.entries(&none).await.unwrap();
    journal.remove(&entries[1..3]).await.unwrap();
    assert_eq!(paths(&journal).await, ["/0", "/3"]);
    journal.clear().await.unwrap();
    assert!(paths(&journal).await.is_empty());
    answered(&journal, logged(9, 1), answer(1));
    assert_eq!(
        paths(&journal).await,
        ["/9"],
        "the journal goes on after a clear"
    );
}

/// The bytes bound keeps the newest entries: once an entry is pushed out, so
/// is every older one, even one small enough to fit (on PostgreSQL, whether
/// the entries were written one by one or pushed out of the queue unwritten).
async fn an_entry_pushed_out_takes_the_older_ones_with_it(backend: Backend) {
    let Some((_db, journal)) = journal_on(backend, journal_limits(100, 20)).await else {
        return;
    };
    answered(&journal, logged(0, 3), answer(0));
    assert_eq!(
        paths(&journal).await,
        ["/0"],
        "written before the others come"
    );
    for n in 1..=3 {
        answered(&journal, logged(n, 8), answer(0));
    }
    assert_eq!(paths(&journal).await, ["/2", "/3"]);
}
