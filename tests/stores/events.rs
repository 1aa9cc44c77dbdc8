//! The `EventStore` contract: each case runs on SQLite and PostgreSQL, on a
//! fresh database holding the small fixture below (or nothing).

use std::sync::Arc;

use echobase::db::Database;
use echobase::events::dora::{DeploymentRecord, IncidentEvent, NextDeployments};
use echobase::events::model::{Event, StoredEvent, kind};
use echobase::events::store::{
    self, ActorStats, Cursor, DoraScope, EventFilter, EventStore, InsertOutcome, Order, Page,
};
use serde_json::json;

use crate::common::{Backend, TestDatabase};
use crate::on_both_backends;

on_both_backends!(
    insert_counts_new_events_and_duplicates,
    an_empty_insert_stores_nothing,
    a_delivery_is_stored_once,
    list_returns_what_was_stored_in_time_order,
    get_finds_an_event_by_its_id_only,
    list_filters_by_every_field,
    list_pages_with_a_cursor_both_ways,
    actors_are_alphabetical_with_their_activity,
    span_is_the_first_and_last_matching_time,
    kinds_are_every_stored_kind_alphabetically,
    bucket_counts_count_each_kind_per_bucket,
    bucket_counts_follow_the_filter_and_uneven_bounds,
    deployments_know_their_change_start_and_redeploys,
    next_deployment_is_the_first_success_after_the_window,
    incident_events_name_their_incident,
    extreme_numbers_in_attributes_read_back,
    a_load_into_an_empty_table_stores_what_inserting_stores,
    a_load_into_a_table_with_events_adds_to_it,
    a_bulk_load_leaves_the_tables_indexes_as_they_were,
    every_counter_width_counts_what_the_events_say,
);

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2024-05-01T00:00:00Z: a day's (and a 15-minute slot's) first instant.
const T: i64 = 1_714_521_600_000;

fn event(id: &str, time_ms: i64, kind: &str) -> Event {
    Event {
        id: id.into(),
        time_ms,
        kind: kind.into(),
        actor: None,
        service: Some("shop".into()),
        environment: Some("production".into()),
        sha: None,
        result: None,
        attributes: serde_json::Map::new(),
    }
}

fn by(actor: &str, sha: &str, event: Event) -> Event {
    Event {
        actor: Some(actor.into()),
        sha: Some(sha.into()),
        ..event
    }
}

fn with_result(result: &str, event: Event) -> Event {
    Event {
        result: Some(result.into()),
        ..event
    }
}

fn of_incident(incident_id: &str, event: Event) -> Event {
    let mut attributes = serde_json::Map::new();
    attributes.insert("incident_id".into(), json!(incident_id));
    Event {
        attributes,
        ..event
    }
}

/// Ten events over three days, in time order: sha `s1` committed, staged,
/// deployed, and deployed again on day 3; `s2` committed and deployed (failed)
/// on day 2, with an incident; another service's deployment; an incident
/// without an id of its own.
fn fixture() -> Vec<Event> {
    vec![
        by("alice", "s1", event("c1", T + HOUR, kind::COMMIT)),
        by(
            "alice",
            "s1",
            Event {
                environment: Some("staging".into()),
                ..event("s1", T + 2 * HOUR, kind::STAGE)
            },
        ),
        with_result(
            "success",
            by("bob", "s1", event("d1", T + 3 * HOUR, kind::DEPLOY)),
        ),
        by("alice", "s2", event("c2", T + DAY, kind::COMMIT)),
        with_result(
            "failure",
            by("bob", "s2", event("d2", T + DAY + HOUR, kind::DEPLOY)),
        ),
        of_incident(
            "inc-1",
            Event {
                environment: None,
                ..event("i1", T + DAY + 2 * HOUR, kind::INCIDENT_OPENED)
            },
        ),
        of_incident(
            "inc-1",
            event("i2", T + DAY + 3 * HOUR, kind::INCIDENT_RESOLVED),
        ),
        with_result(
            "success",
            by("bob", "s1", event("d3", T + 2 * DAY, kind::DEPLOY)),
        ),
        with_result(
            "success",
            by(
                "carol",
                "s9",
                Event {
                    service: Some("other".into()),
                    ..event("o1", T + 2 * DAY + HOUR, kind::DEPLOY)
                },
            ),
        ),
        event("i3", T + 2 * DAY + 2 * HOUR, kind::INCIDENT_OPENED),
    ]
}

/// A fresh store, empty.
async fn empty_store(backend: Backend) -> Option<(TestDatabase, Arc<dyn EventStore>)> {
    let (guard, db) = crate::fresh_database(backend).await?;
    Some((guard, store::for_database(&db)))
}

/// A fresh store holding the fixture.
async fn fixture_store(backend: Backend) -> Option<(TestDatabase, Arc<dyn EventStore>)> {
    let (guard, store) = empty_store(backend).await?;
    store.insert(&fixture()).await.expect("fixture stored");
    Some((guard, store))
}

fn ids_of(events: &[StoredEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event.id.as_str()).collect()
}

/// Every stored event, oldest first.
async fn all_events(store: &dyn EventStore) -> Vec<StoredEvent> {
    store
        .list(&EventFilter::default(), &every(100, Order::Ascending))
        .await
        .unwrap()
}

fn every(limit: u32, order: Order) -> Page {
    Page {
        after: None,
        limit,
        order,
    }
}

async fn insert_counts_new_events_and_duplicates(backend: Backend) {
    let Some((_db, store)) = empty_store(backend).await else {
        return;
    };
    let outcome = store.insert(&fixture()).await.unwrap();
    assert_eq!(
        outcome,
        InsertOutcome {
            inserted: 10,
            duplicates: 0
        }
    );
    // Stored ids are left as they were, even with other content.
    let mut again = fixture()[..3].to_vec();
    again[0].kind = "changed".into();
    again.push(event("new", T + 5 * HOUR, kind::COMMIT));
    let outcome = store.insert(&again).await.unwrap();
    assert_eq!(
        outcome,
        InsertOutcome {
            inserted: 1,
            duplicates: 3
        }
    );
    let all = all_events(store.as_ref()).await;
    assert_eq!(all.len(), 11);
    assert_eq!(all[0].event.kind, kind::COMMIT, "the first copy stays");
    assert!(!store.kinds().await.unwrap().contains(&"changed".to_owned()));
}

/// PostgreSQL's `jsonb` writes numbers back in full (`-1797…000`, 309 digits
/// for the largest float), which a plain float parser overflows on: the event
/// was stored, and every listing that met it failed.
async fn extreme_numbers_in_attributes_read_back(backend: Backend) {
    let Some((_db, store)) = empty_store(backend).await else {
        return;
    };
    let mut stored = event("extreme", T, "deploy");
    for (key, value) in [
        ("largest", json!(f64::MAX)),
        ("lowest", json!(f64::MIN)),
        ("smallest", json!(f64::MIN_POSITIVE)),
        ("subnormal", json!(5e-324)),
        ("big", json!(1.1873613526577768e95)),
        ("tiny", json!(-6.363425667867326e-105)),
        ("integer", json!(-67838931279643760_i64)),
    ] {
        stored.attributes.insert(key.into(), value);
    }
    store.insert(std::slice::from_ref(&stored)).await.unwrap();
    let all = all_events(store.as_ref()).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].event.attributes, stored.attributes);
}

async fn an_empty_insert_stores_nothing(backend: Backend) {
    let Some((_db, store)) = empty_store(backend).await else {
        return;
    };
    assert_eq!(store.insert(&[]).await.unwrap(), InsertOutcome::default());
    let all = all_events(store.as_ref()).await;
    assert!(all.is_empty());
    assert_eq!(store.span(&EventFilter::default()).await.unwrap(), None);
    assert!(store.kinds().await.unwrap().is_empty());
}

async fn a_delivery_is_stored_once(backend: Backend) {
    let Some((_db, store)) = empty_store(backend).await else {
        return;
    };
    let first = [
        event("a", T, kind::COMMIT),
        event("b", T + HOUR, kind::COMMIT),
    ];
    let outcome = store
        .insert_delivery("github", "delivery-1", &first)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Some(InsertOutcome {
            inserted: 2,
            duplicates: 0
        })
    );
    // The same delivery again stores nothing, not even its new events.
    let replay = [event("c", T + 2 * HOUR, kind::COMMIT)];
    assert_eq!(
        store
            .insert_delivery("github", "delivery-1", &replay)
            .await
            .unwrap(),
        None
    );
    // The same delivery id from another source is another delivery; an event
    // already stored counts as a duplicate.
    let other = [
        event("a", T, kind::COMMIT),
        event("d", T + 3 * HOUR, kind::COMMIT),
    ];
    let outcome = store
        .insert_delivery("gitlab", "delivery-1", &other)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Some(InsertOutcome {
            inserted: 1,
            duplicates: 1
        })
    );
    // A delivery without events is still recorded.
    assert_eq!(
        store.insert_delivery("github", "empty", &[]).await.unwrap(),
        Some(InsertOutcome::default())
    );
    assert_eq!(
        store.insert_delivery("github", "empty", &[]).await.unwrap(),
        None
    );

    let all = all_events(store.as_ref()).await;
    assert_eq!(ids_of(&all), ["a", "b", "d"]);
}

async fn list_returns_what_was_stored_in_time_order(backend: Backend) {
    let Some((_db, store)) = fixture_store(backend).await else {
        return;
    };
    let all = all_events(store.as_ref()).await;
    let events: Vec<Event> = all.iter().map(|e| e.event.clone()).collect();
    assert_eq!(events, fixture(), "every field, attributes included");
    let newest_first = store
        .list(&EventFilter::default(), &every(3, Order::Descending))
        .await
        .unwrap();
    assert_eq!(ids_of(&newest_first), ["i3", "o1", "d3"]);
}

async fn get_finds_an_event_by_its_id_only(backend: Backend) {
    let Some((_db, store)) = fixture_store(backend).await else {
        return;
    };
    let all = all_events(store.as_ref()).await;
    for stored in &all {
        let found = store.get(&stored.event.id).await.unwrap();
        assert_eq!(found.as_ref(), Some(stored), "{}", stored.event.id);
    }
    assert_eq!(store.get("nope").await.unwrap(), None);
    // Ids are matched exactly: no prefix, no case folding.
    assert_eq!(store.get("d").await.unwrap(), None);
    assert_eq!(store.get("D1").await.unwrap(), None);
}

async fn list_filters_by_every_field(backend: Backend) {
    let Some((_db, store)) = fixture_store(backend).await else {
        return;
    };
    let page = every(100, Order::Ascending);
    let cases = [
        (
            EventFilter {
                actor: Some("bob".into()),
                ..EventFilter::default()
            },
            vec!["d1", "d2", "d3"],
        ),
        (
            EventFilter {
                service: Some("other".into()),
                ..EventFilter::default()
            },
            vec!["o1"],
        ),
        (
            EventFilter {
                environment: Some("staging".into()),
                ..EventFilter::default()
            },
            vec!["s1"],
        ),
        (
            EventFilter {
                kinds: vec![kind::STAGE.into(), kind::INCIDENT_RESOLVED.into()],
                ..EventFilter::default()
            },
            vec!["s1", "i2"],
        ),
        (
            // From inclusive, to exclusive.
            EventFilter {
                from_ms: Some(T + DAY),
                to_ms: Some(T + 2 * DAY),
                ..EventFilter::default()
            },
            vec!["c2", "d2", "i1", "i2"],
        ),
        (
            EventFilter {
                actor: Some("alice".into()),
                kinds: vec![kind::COMMIT.into()],
                from_ms: Some(T + 2 * HOUR),
                ..EventFilter::default()
            },
            vec!["c2"],
        ),
        (
            EventFilter {
                actor: Some("nobody".into()),
                ..EventFilter::default()
            },
            vec![],
        ),
    ];
    for (filter, expected) in cases {
        let found = store.list(&filter, &page).await.unwrap();
        assert_eq!(ids_of(&found), expected, "{filter:?}");
    }
}

async fn list_pages_with_a_cursor_both_ways(backend: Backend) {
    let Some((_db, store)) = fixture_store(backend).await else {
        return;
    };
    for (order, expected) in [
        (
            Order::Ascending,
            ["c1", "s1", "d1", "c2", "d2", "i1", "i2", "d3", "o1", "i3"],
        ),
        (
            Order::Descending,
            ["i3", "o1", "d3", "i2", "i1", "d2", "c2", "d1", "s1", "c1"],
        ),
    ] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = Page {
                after,
                limit: 4,
                order,
            };
            let found = store.list(&EventFilter::default(), &page).await.unwrap();
            assert!(found.len() <= 4);
            let Some(last) = found.last() else {
                break;
            };
            after = Some(Cursor {
                time_ms: last.event.time_ms,
                seq: last.seq,
            });
            seen.extend(found.iter().map(|e| e.event.id.clone()));
        }
        assert_eq!(seen, expected, "{order:?}");
    }
}

async fn actors_are_alphabetical_with_their_activity(backend: Backend) {
    let Some((_db, store)) = fixture_store(backend).await else {
        return;
    };
    let stats = |actor: &str, events, first_ms, last_ms| ActorStats {
        actor: actor.into(),
        events,
        first_ms,
        last_ms,
    };
    // Events without an actor (the incidents) are nobody's.
    assert_eq!(
        store.actors(&EventFilter::default()).await.unwrap(),
        vec![
            stats("alice", 3, T + HOUR, T + DAY),
            stats("bob", 3, T + 3 * HOUR, T + 2 * DAY),
            stats("carol", 1, T + 2 * DAY + HOUR, T + 2 * DAY + HOUR),
        ]
    );
    let on_day_two = EventFilter {
        from_ms: Some(T + DAY),
        to_ms: Some(T + 2 * DAY),
        service: Some("shop".into()),
        ..EventFilter::default()
    };
    assert_eq!(
        store.actors(&on_day_two).await.unwrap(),
        vec![
            stats("alice", 1, T + DAY, T + DAY),
            stats("bob", 1, T + DAY + HOUR, T + DAY + HOUR),
        ]
    );
}

async fn span_is_the_first_and_last_matching_time(backend: Backend) {
    let Some((_db, store)) = fixture_store(backend).await else {
        return;
    };
    assert_eq!(
        store.span(&EventFilter::default()).await.unwrap(),
        Some((T + HOUR, T + 2 * DAY + 2 * HOUR))
    );
    let deploys = EventFilter {
        kinds: vec![kind::DEPLOY.into()],
        service: Some("shop".into()),
        ..EventFilter::default()
    };
    assert_eq!(
        store.span(&deploys).await.unwrap(),
        Some((T + 3 * HOUR, T + 2 * DAY))
    );
    let stages = EventFilter {
        kinds: vec![kind::STAGE.into()],
        ..EventFilter::default()
    };
    assert_eq!(
        store.span(&stages).await.unwrap(),
        Some((T + 2 * HOUR, T + 2 * HOUR))
    );
    let nobody = EventFilter {
        actor: Some("nobody".into()),
        ..EventFilter::default()
    };
    assert_eq!(store.span(&nobody).await.unwrap(), None);
}

async fn kinds_are_every_stored_kind_alphabetically(backend: Backend) {
    let Some((_db, store)) = fixture_store(backend).await else {
        return;
    };
    assert_eq!(
        store.kinds().await.unwrap(),
        [
            kind::COMMIT,
            kind::DEPLOY,
            kind::INCIDENT_OPENED,
            kind::INCIDENT_RESOLVED,
            kind::STAGE
        ]
    );
}

/// `bucket_counts` as sorted `(bucket, kind, count)`, zeros left out (a
/// store may leave them out or not).
async fn counted(
    store: &dyn EventStore,
    filter: &EventFilter,
    bounds: &[i64],
    kinds: &[String],
) -> Vec<(usize, String, i64)> {
    let counts = store.bucket_counts(filter, bounds, kinds).await.unwrap();
    let mut rows: Vec<(usize, String, i64)> = counts
        .into_iter()
        .filter(|c| c.count != 0)
        .map(|c| (c.bucket, c.kind, c.count))
        .collect();
    rows.sort();
    rows
}

fn row(bucket: usize, kind: &str, count: i64) -> (usize, String, i64) {
    (bucket, kind.to_owned(), count)
}

async fn bucket_counts_count_each_kind_per_bucket(backend: Backend) {
    let Some((_db, store)) = fixture_store(backend).await else {
        return;
    };
    let days = [T, T + DAY, T + 2 * DAY, T + 3 * DAY];
    let kinds = [kind::DEPLOY.to_owned(), kind::COMMIT.to_owned()];
    // No filter, bounds on slot edges: the stores may answer from their counters.
    assert_eq!(
        counted(store.as_ref(), &EventFilter::default(), &days, &kinds).await,
        [
            row(0, kind::COMMIT, 1),
            row(0, kind::DEPLOY, 1),
            row(1, kind::COMMIT, 1),
            row(1, kind::DEPLOY, 1),
            row(2, kind::DEPLOY, 2),
        ]
    );
    // Duplicates were not counted.
    store.insert(&fixture()).await.unwrap();
    assert_eq!(
        counted(store.as_ref(), &EventFilter::default(), &days[..2], &kinds).await,
        [row(0, kind::COMMIT, 1), row(0, kind::DEPLOY, 1)]
    );

    let nothing = EventFilter::default();
    assert!(
        store
            .bucket_counts(&nothing, &days[..1], &kinds)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .bucket_counts(&nothing, &days, &[])
            .await
            .unwrap()
            .is_empty()
    );
}

async fn bucket_counts_follow_the_filter_and_uneven_bounds(backend: Backend) {
    let Some((_db, store)) = fixture_store(backend).await else {
        return;
    };
    let days = [T, T + DAY, T + 2 * DAY, T + 3 * DAY];
    let kinds = [kind::DEPLOY.to_owned(), kind::COMMIT.to_owned()];
    let shop = EventFilter {
        service: Some("shop".into()),
        ..EventFilter::default()
    };
    assert_eq!(
        counted(store.as_ref(), &shop, &days, &kinds).await,
        [
            row(0, kind::COMMIT, 1),
            row(0, kind::DEPLOY, 1),
            row(1, kind::COMMIT, 1),
            row(1, kind::DEPLOY, 1),
            row(2, kind::DEPLOY, 1),
        ]
    );
    // Bounds off the 15-minute slots (and uneven): counted from the events.
    let minute = 60_000;
    let uneven = [T + 100 * minute, T + DAY + 100 * minute, T + 3 * DAY];
    assert_eq!(
        counted(store.as_ref(), &EventFilter::default(), &uneven, &kinds).await,
        [
            row(0, kind::COMMIT, 1),
            row(0, kind::DEPLOY, 2),
            row(1, kind::DEPLOY, 2),
        ]
    );
    // The kinds counted are those given, whatever the filter's.
    let stage_only = EventFilter {
        kinds: vec![kind::STAGE.into()],
        ..EventFilter::default()
    };
    let deploys = [kind::DEPLOY.to_owned()];
    assert_eq!(
        counted(store.as_ref(), &stage_only, &days[..2], &deploys).await,
        [row(0, kind::DEPLOY, 1)]
    );
}

fn shop_production(from_ms: i64, to_ms: i64) -> DoraScope {
    DoraScope {
        service: Some("shop".into()),
        environment: None,
        from_ms,
        to_ms,
    }
}

async fn deployments_know_their_change_start_and_redeploys(backend: Backend) {
    let Some((_db, store)) = fixture_store(backend).await else {
        return;
    };
    let deployment = |time_ms, sha: &str, failed, change_started_ms, redeploy| DeploymentRecord {
        time_ms,
        service: Some("shop".into()),
        sha: Some(sha.into()),
        failed,
        change_started_ms: Some(change_started_ms),
        redeploy,
    };
    assert_eq!(
        store
            .deployments(&shop_production(T, T + 3 * DAY))
            .await
            .unwrap(),
        vec![
            deployment(T + 3 * HOUR, "s1", false, T + HOUR, false),
            deployment(T + DAY + HOUR, "s2", true, T + DAY, false),
            deployment(T + 2 * DAY, "s1", false, T + HOUR, true),
        ]
    );
    // The window: from inclusive, to exclusive.
    let second_day = store
        .deployments(&shop_production(T + DAY + HOUR, T + 2 * DAY))
        .await
        .unwrap();
    assert_eq!(second_day.len(), 1);
    assert_eq!(second_day[0].sha.as_deref(), Some("s2"));
    let staging = DoraScope {
        environment: Some("staging".into()),
        ..shop_production(T, T + 3 * DAY)
    };
    assert!(store.deployments(&staging).await.unwrap().is_empty());
}

async fn next_deployment_is_the_first_success_after_the_window(backend: Backend) {
    let Some((_db, store)) = fixture_store(backend).await else {
        return;
    };
    let shop = |time_ms| NextDeployments::from([(Some("shop".to_owned()), time_ms)]);
    let shop_only = [Some("shop".to_owned())];
    // d2 (failed) comes first after the window; d3 succeeded.
    assert_eq!(
        store
            .next_deployments(&shop_production(T, T + DAY), &shop_only)
            .await
            .unwrap(),
        shop(T + 2 * DAY)
    );
    assert_eq!(
        store
            .next_deployments(&shop_production(T, T + 2 * DAY), &shop_only)
            .await
            .unwrap(),
        shop(T + 2 * DAY),
        "at the window's end counts"
    );
    assert_eq!(
        store
            .next_deployments(&shop_production(T, T + 2 * DAY + 1), &shop_only)
            .await
            .unwrap(),
        NextDeployments::new()
    );
    // Over every service, each service's own: DORA is computed per service.
    let every_service = DoraScope {
        service: None,
        ..shop_production(T, T + DAY)
    };
    // A service asked for with no deployment after the window is left out.
    let services = [
        Some("other".to_owned()),
        Some("shop".to_owned()),
        Some("gone".to_owned()),
        None,
    ];
    assert_eq!(
        store
            .next_deployments(&every_service, &services)
            .await
            .unwrap(),
        NextDeployments::from([
            (Some("other".to_owned()), T + 2 * DAY + HOUR),
            (Some("shop".to_owned()), T + 2 * DAY),
        ])
    );
    // Deployments that name no service are a group of their own.
    let unnamed = Event {
        service: None,
        ..event("unnamed-deploy", T + 3 * DAY, kind::DEPLOY)
    };
    store.insert(&[unnamed]).await.unwrap();
    assert_eq!(
        store
            .next_deployments(&every_service, &services)
            .await
            .unwrap(),
        NextDeployments::from([
            (None, T + 3 * DAY),
            (Some("other".to_owned()), T + 2 * DAY + HOUR),
            (Some("shop".to_owned()), T + 2 * DAY),
        ])
    );
}

async fn incident_events_name_their_incident(backend: Backend) {
    let Some((_db, store)) = fixture_store(backend).await else {
        return;
    };
    let incident = |incident_id: &str, time_ms, opened| IncidentEvent {
        incident_id: incident_id.into(),
        time_ms,
        service: Some("shop".into()),
        opened,
        sha: None,
    };
    // Any time; an incident without an environment is in every environment;
    // one without an `incident_id` is an incident of its own.
    assert_eq!(
        store
            .incident_events(&shop_production(T, T + 1))
            .await
            .unwrap(),
        vec![
            incident("inc-1", T + DAY + 2 * HOUR, true),
            incident("inc-1", T + DAY + 3 * HOUR, false),
            incident("i3", T + 2 * DAY + 2 * HOUR, true),
        ]
    );
    let staging = DoraScope {
        environment: Some("staging".into()),
        ..shop_production(T, T + 1)
    };
    assert_eq!(
        store.incident_events(&staging).await.unwrap(),
        vec![incident("inc-1", T + DAY + 2 * HOUR, true)]
    );
    let other = DoraScope {
        service: Some("other".into()),
        ..shop_production(T, T + 1)
    };
    assert!(store.incident_events(&other).await.unwrap().is_empty());
}

/// Loads `batches` as a reader would send them.
async fn load(store: &dyn EventStore, batches: Vec<Vec<Event>>) -> InsertOutcome {
    let (sender, receiver) = tokio::sync::mpsc::channel(batches.len().max(1));
    for batch in batches {
        sender.send(batch).await.unwrap();
    }
    drop(sender);
    store.load(receiver).await.expect("the load is stored")
}

/// The fixture in batches of three, one id twice (the first copy stays),
/// and text with the characters `COPY` escapes.
fn load_batches() -> Vec<Vec<Event>> {
    let mut events = fixture();
    let mut odd = by(
        "tab\there, new\nline, back\\slash\r",
        "s\\1",
        event("odd\tid", T + 4 * HOUR, kind::COMMIT),
    );
    odd.attributes
        .insert("note".into(), json!("a\tb\nc\\d \"quoted\" é"));
    events.push(odd);
    let mut again = event("c1", T + 5 * HOUR, "changed");
    again.actor = Some("mallory".into());
    events.push(again);
    events.chunks(3).map(<[Event]>::to_vec).collect()
}

/// What the stores answer, seq numbers aside (they may differ by gaps).
async fn answers(store: &dyn EventStore) -> Vec<String> {
    let all = all_events(store).await;
    let days = [T, T + DAY, T + 2 * DAY, T + 3 * DAY];
    let kinds = store.kinds().await.unwrap();
    let scope = DoraScope {
        service: None,
        environment: None,
        from_ms: T,
        to_ms: T + 3 * DAY,
    };
    vec![
        format!("{:?}", all.iter().map(|e| &e.event).collect::<Vec<_>>()),
        format!("{kinds:?}"),
        format!(
            "{:?}",
            counted(store, &EventFilter::default(), &days, &kinds).await
        ),
        format!("{:?}", store.actors(&EventFilter::default()).await.unwrap()),
        format!("{:?}", store.deployments(&scope).await.unwrap()),
        format!("{:?}", store.get("odd\tid").await.unwrap().map(|e| e.event)),
    ]
}

/// The bulk path (an empty table) and the batch path store the same events,
/// counters and all, and count the same duplicates.
async fn a_load_into_an_empty_table_stores_what_inserting_stores(backend: Backend) {
    let Some((_bulk_db, bulk)) = empty_store(backend).await else {
        return;
    };
    let Some((_each_db, each)) = empty_store(backend).await else {
        return;
    };
    let outcome = load(bulk.as_ref(), load_batches()).await;
    assert_eq!(
        outcome,
        InsertOutcome {
            inserted: 11,
            duplicates: 1
        }
    );
    let mut inserted = InsertOutcome::default();
    for batch in load_batches() {
        inserted += each.insert(&batch).await.unwrap();
    }
    assert_eq!(outcome, inserted);
    let loaded = answers(bulk.as_ref()).await;
    assert_eq!(loaded, answers(each.as_ref()).await);
    assert!(loaded[0].contains("back\\\\slash"), "{}", loaded[0]);
    assert!(!loaded[1].contains("changed"), "the first copy of c1 stays");
    // The table is no longer empty: a second load goes batch by batch, and
    // finds every id already stored.
    let again = load(bulk.as_ref(), load_batches()).await;
    assert_eq!(
        again,
        InsertOutcome {
            inserted: 0,
            duplicates: 12
        }
    );
    assert_eq!(answers(bulk.as_ref()).await, loaded);
}

async fn a_load_into_a_table_with_events_adds_to_it(backend: Backend) {
    let Some((_db, store)) = fixture_store(backend).await else {
        return;
    };
    let more = vec![
        fixture()[..2].to_vec(),
        vec![event("late", T + DAY + 30 * 60 * 1000, kind::COMMIT)],
    ];
    assert_eq!(
        load(store.as_ref(), more).await,
        InsertOutcome {
            inserted: 1,
            duplicates: 2
        }
    );
    let days = [T, T + DAY, T + 2 * DAY];
    let kinds = [kind::COMMIT.to_owned()];
    assert_eq!(
        counted(store.as_ref(), &EventFilter::default(), &days, &kinds).await,
        [row(0, kind::COMMIT, 1), row(1, kind::COMMIT, 2)]
    );
    assert_eq!(
        load(store.as_ref(), Vec::new()).await,
        InsertOutcome::default()
    );
}

/// The names of the events table's indexes, as the database lists them.
async fn index_names(db: &Database) -> Vec<String> {
    match db {
        Database::Sqlite(pool) => sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' \
             ORDER BY name",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
        Database::Postgres(pool) => sqlx::query_scalar(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'events' ORDER BY indexname",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    }
}

async fn a_bulk_load_leaves_the_tables_indexes_as_they_were(backend: Backend) {
    let Some((_guard, db)) = crate::fresh_database(backend).await else {
        return;
    };
    let before = index_names(&db).await;
    assert!(before.len() >= 6, "{before:?}");
    let store = store::for_database(&db);
    load(store.as_ref(), load_batches()).await;
    assert_eq!(index_names(&db).await, before);
}

/// Day buckets in offsets served by the day counters (UTC), the hour
/// counters (+02:00), the 15-minute counters (+05:30) and by no counter
/// (7 minutes past): each answer is the events' own count, after inserts and
/// after a bulk load.
async fn every_counter_width_counts_what_the_events_say(backend: Backend) {
    let Some((_inserted_db, inserted)) = fixture_store(backend).await else {
        return;
    };
    let Some((_loaded_db, loaded)) = empty_store(backend).await else {
        return;
    };
    load(loaded.as_ref(), load_batches()).await;
    for store in [inserted, loaded] {
        let all = all_events(store.as_ref()).await;
        let kinds = store.kinds().await.unwrap();
        for offset in [0, 2 * HOUR, 5 * HOUR + 30 * 60_000, 7 * 60_000] {
            let days: Vec<i64> = (-1..4).map(|d| T + d * DAY - offset).collect();
            let mut expected: Vec<(usize, String, i64)> = Vec::new();
            for (bucket, pair) in days.windows(2).enumerate() {
                for kind in &kinds {
                    let n = all
                        .iter()
                        .filter(|e| &e.event.kind == kind)
                        .filter(|e| e.event.time_ms >= pair[0] && e.event.time_ms < pair[1])
                        .count() as i64;
                    if n > 0 {
                        expected.push((bucket, kind.clone(), n));
                    }
                }
            }
            assert!(!expected.is_empty());
            assert_eq!(
                counted(store.as_ref(), &EventFilter::default(), &days, &kinds).await,
                expected,
                "offset {offset} ms"
            );
        }
    }
}
