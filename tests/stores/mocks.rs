//! The mocks store contract: [`StubStore`] on both backends.

use std::sync::Arc;

use echobase::db::Database;
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
