//! The `PersonStore` contract: every case runs on SQLite and on PostgreSQL,
//! straight through the trait.

use std::collections::HashSet;
use std::sync::Arc;

use echobase::db::Database;
use echobase::people::model::{Age, Locale, NewPerson, Person, PersonName};
use echobase::people::query::{Column, Filter, ListQuery, Op, SortKey, SqlValue, Window};
use echobase::people::settings::PeopleSettings;
use echobase::people::store::{self, Expected, INSERT_CHUNK, PersonStore, StoreError, WriteError};

use crate::common::{Backend, TestDatabase};
use crate::on_both_backends;

on_both_backends!(
    create_returns_the_stored_person_and_get_finds_it,
    replace_applies_at_a_named_or_any_version_and_bumps_it,
    replace_and_delete_of_a_missing_id_are_not_found,
    delete_returns_the_deleted_person_and_ids_are_not_reused,
    create_many_keeps_input_order_across_insert_chunks,
    create_many_with_a_row_that_cannot_be_stored_stores_none,
    a_create_that_cannot_be_stored_fails_alone_among_concurrent_ones,
    concurrent_creates_each_get_a_distinct_id_and_their_own_row,
    concurrent_replaces_each_get_a_distinct_version,
    list_filters_on_each_operator,
    list_sorts_by_several_keys_and_returns_one_extra_row,
    list_pages_and_cursors_walk_every_row_once,
    count_matches_all_filters,
    count_up_to_stops_one_past_its_cap,
    an_estimated_count_is_near_the_truth,
    a_read_after_a_replace_or_delete_sees_it,
    reads_racing_replaces_end_on_the_last_version,
);

/// A store on a fresh database, and the guard and database behind it.
async fn fresh_store(backend: Backend) -> Option<(TestDatabase, Database, Arc<dyn PersonStore>)> {
    let (guard, db) = crate::fresh_database(backend).await?;
    let store = store::for_database(&db, PeopleSettings::default().cached_people);
    Some((guard, db, store))
}

fn person(name: &str, age: i64, locale: &str) -> NewPerson {
    NewPerson {
        name: PersonName::parse(name).unwrap(),
        age: Age::new(age).unwrap(),
        locale: Locale::parse_tag(locale).unwrap(),
    }
}

fn names(people: &[Person]) -> Vec<&str> {
    people.iter().map(|p| p.name.as_str()).collect()
}

/// The name [`refuse_a_name`] makes unstorable.
const REFUSED: &str = "refused";

/// Makes the database refuse to store a person named [`REFUSED`], as a
/// stand-in for any row a backend cannot store.
async fn refuse_a_name(db: &Database) {
    match db {
        Database::Sqlite(pool) => sqlx::query(
            "CREATE TRIGGER refuse_a_name BEFORE INSERT ON people \
             WHEN NEW.name = 'refused' BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .execute(pool)
        .await
        .map(drop),
        Database::Postgres(pool) => {
            sqlx::query("ALTER TABLE people ADD CONSTRAINT refuse_a_name CHECK (name <> 'refused')")
                .execute(pool)
                .await
                .map(drop)
        }
    }
    .expect("refusal installed");
}

fn filter(column: Column, op: Op, value: SqlValue) -> Filter {
    Filter {
        column,
        op,
        values: vec![value],
    }
}

fn int(n: i64) -> SqlValue {
    SqlValue::Int(n)
}

fn text(t: &str) -> SqlValue {
    SqlValue::Text(t.to_owned())
}

fn key(column: Column, descending: bool) -> SortKey {
    SortKey { column, descending }
}

const BY_ID: [SortKey; 1] = [SortKey {
    column: Column::Id,
    descending: false,
}];

fn list_query(filters: Vec<Filter>, sort: &[SortKey], window: Window) -> ListQuery {
    ListQuery {
        filters,
        sort: sort.to_vec(),
        window,
        kept_pairs: Vec::new(),
    }
}

fn page(page: u64, per_page: u64) -> Window {
    Window::Page { page, per_page }
}

/// Everything matching `filters`, in id order (far more than exist).
async fn listed(store: &dyn PersonStore, filters: Vec<Filter>) -> Vec<Person> {
    store
        .list(&list_query(filters, &BY_ID, page(1, 1000)))
        .await
        .unwrap()
}

/// ada 36 en-GB, grace 85 en-US, alan 41 en-GB, barbara 36 de, linus 54 fi.
async fn seed(store: &dyn PersonStore) -> Vec<Person> {
    store
        .create_many(&[
            person("ada", 36, "en-GB"),
            person("grace", 85, "en-US"),
            person("alan", 41, "en-GB"),
            person("barbara", 36, "de"),
            person("linus", 54, "fi"),
        ])
        .await
        .unwrap()
}

async fn create_returns_the_stored_person_and_get_finds_it(backend: Backend) {
    let Some((_guard, _db, store)) = fresh_store(backend).await else {
        return;
    };
    let ada = store.create(&person("ada", 36, "en-GB")).await.unwrap();
    assert_eq!(
        ada,
        Person {
            id: 1,
            name: "ada".into(),
            age: 36,
            locale: "en-GB".into(),
            version: 1,
        }
    );
    let grace = store.create(&person("grace", 85, "en-US")).await.unwrap();
    assert!(grace.id > ada.id);
    assert_eq!(store.get(ada.id).await.unwrap(), Some(ada));
    assert_eq!(store.get(grace.id).await.unwrap(), Some(grace));
    assert_eq!(store.get(99).await.unwrap(), None);
}

async fn replace_applies_at_a_named_or_any_version_and_bumps_it(backend: Backend) {
    let Some((_guard, _db, store)) = fresh_store(backend).await else {
        return;
    };
    let id = store.create(&person("a", 1, "en")).await.unwrap().id;

    let replaced = store
        .replace(id, &person("b", 2, "de"), &Expected::OneOf(vec![1]))
        .await
        .unwrap();
    assert_eq!(
        (
            replaced.name.as_str(),
            replaced.age,
            replaced.locale.as_str()
        ),
        ("b", 2, "de")
    );
    assert_eq!((replaced.id, replaced.version), (id, 2));
    assert_eq!(store.get(id).await.unwrap(), Some(replaced));

    let stale = store
        .replace(id, &person("c", 3, "fr"), &Expected::OneOf(vec![1]))
        .await;
    assert!(
        matches!(stale, Err(WriteError::Stale { current: 2 })),
        "{stale:?}"
    );
    let none_allowed = store
        .replace(id, &person("c", 3, "fr"), &Expected::OneOf(vec![]))
        .await;
    assert!(
        matches!(none_allowed, Err(WriteError::Stale { current: 2 })),
        "{none_allowed:?}"
    );
    assert_eq!(
        store.get(id).await.unwrap().unwrap().name,
        "b",
        "refused writes change nothing"
    );

    let one_of_several = store
        .replace(id, &person("c", 3, "fr"), &Expected::OneOf(vec![7, 2]))
        .await
        .unwrap();
    assert_eq!(
        (one_of_several.name.as_str(), one_of_several.version),
        ("c", 3)
    );
    let any = store
        .replace(id, &person("d", 4, "it"), &Expected::AnyVersion)
        .await
        .unwrap();
    assert_eq!((any.name.as_str(), any.version), ("d", 4));
}

async fn replace_and_delete_of_a_missing_id_are_not_found(backend: Backend) {
    let Some((_guard, _db, store)) = fresh_store(backend).await else {
        return;
    };
    store.create(&person("a", 1, "en")).await.unwrap();
    for expected in [Expected::AnyVersion, Expected::OneOf(vec![1])] {
        let replaced = store.replace(7, &person("c", 3, "fr"), &expected).await;
        assert!(
            matches!(replaced, Err(WriteError::NotFound)),
            "{replaced:?}"
        );
        let deleted = store.delete(7, &expected).await;
        assert!(matches!(deleted, Err(WriteError::NotFound)), "{deleted:?}");
    }
    assert_eq!(store.count(&[]).await.unwrap(), 1);
}

async fn delete_returns_the_deleted_person_and_ids_are_not_reused(backend: Backend) {
    let Some((_guard, _db, store)) = fresh_store(backend).await else {
        return;
    };
    store.create(&person("a", 1, "en")).await.unwrap();
    let b = store.create(&person("b", 2, "en")).await.unwrap();
    let b = store
        .replace(b.id, &person("b2", 2, "en"), &Expected::AnyVersion)
        .await
        .unwrap();

    let stale = store.delete(b.id, &Expected::OneOf(vec![1])).await;
    assert!(
        matches!(stale, Err(WriteError::Stale { current: 2 })),
        "{stale:?}"
    );
    assert_eq!(store.get(b.id).await.unwrap().as_ref(), Some(&b));

    let deleted = store.delete(b.id, &Expected::OneOf(vec![2])).await.unwrap();
    assert_eq!(deleted, b);
    assert_eq!(store.get(b.id).await.unwrap(), None);
    let again = store.delete(b.id, &Expected::AnyVersion).await;
    assert!(matches!(again, Err(WriteError::NotFound)), "{again:?}");

    let c = store.create(&person("c", 3, "en")).await.unwrap();
    assert!(c.id > b.id, "id {} handed out again", c.id);
    assert_eq!(names(&listed(&*store, vec![]).await), ["a", "c"]);
}

async fn create_many_keeps_input_order_across_insert_chunks(backend: Backend) {
    let Some((_guard, _db, store)) = fresh_store(backend).await else {
        return;
    };
    assert_eq!(store.create_many(&[]).await.unwrap(), []);
    let first = store.create(&person("first", 1, "en")).await.unwrap();
    let batch: Vec<NewPerson> = (0..2 * INSERT_CHUNK + 1)
        .map(|i| person(&format!("m{i}"), (i % 150) as i64, "en"))
        .collect();
    let created = store.create_many(&batch).await.unwrap();
    assert_eq!(created.len(), batch.len());
    assert!(created[0].id > first.id);
    assert!(created.windows(2).all(|w| w[0].id < w[1].id));
    for (stored, sent) in created.iter().zip(&batch) {
        assert_eq!(stored.name, sent.name.as_str());
        assert_eq!(stored.age, sent.age.get());
        assert_eq!(stored.version, 1);
    }
    let last = created.last().unwrap();
    assert_eq!(store.get(last.id).await.unwrap().as_ref(), Some(last));
    assert_eq!(store.count(&[]).await.unwrap(), batch.len() as u64 + 1);
}

async fn create_many_with_a_row_that_cannot_be_stored_stores_none(backend: Backend) {
    let Some((_guard, db, store)) = fresh_store(backend).await else {
        return;
    };
    refuse_a_name(&db).await;
    // The refused row in the second chunk: the first chunk is rolled back too.
    let mut batch: Vec<NewPerson> = (0..INSERT_CHUNK + 2)
        .map(|i| person(&format!("m{i}"), 5, "en"))
        .collect();
    batch[INSERT_CHUNK + 1] = person(REFUSED, 5, "en");
    let refused = store.create_many(&batch).await;
    assert!(
        matches!(refused, Err(StoreError::Backend(_))),
        "{refused:?}"
    );
    assert_eq!(store.count(&[]).await.unwrap(), 0);

    batch.pop();
    assert_eq!(
        store.create_many(&batch).await.unwrap().len(),
        INSERT_CHUNK + 1
    );
}

async fn a_create_that_cannot_be_stored_fails_alone_among_concurrent_ones(backend: Backend) {
    let Some((_guard, db, store)) = fresh_store(backend).await else {
        return;
    };
    refuse_a_name(&db).await;
    let names: Vec<String> = (0..40)
        .map(|i| {
            if i == 17 {
                REFUSED.to_owned()
            } else {
                format!("p{i}")
            }
        })
        .collect();
    let tasks: Vec<_> = names
        .iter()
        .map(|name| {
            let store = store.clone();
            let new = person(name, 30, "en");
            tokio::spawn(async move { store.create(&new).await })
        })
        .collect();
    for (name, task) in names.iter().zip(tasks) {
        match task.await.unwrap() {
            Ok(created) => assert_eq!(&created.name, name),
            Err(error) => assert_eq!(name, REFUSED, "{name} failed: {error}"),
        }
    }
    let stored = listed(&*store, vec![]).await;
    assert_eq!(stored.len(), names.len() - 1);
    assert!(!stored.iter().any(|p| p.name == REFUSED));
}

async fn concurrent_creates_each_get_a_distinct_id_and_their_own_row(backend: Backend) {
    let Some((_guard, _db, store)) = fresh_store(backend).await else {
        return;
    };
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let name = format!("p{i}");
                (name.clone(), store.create(&person(&name, 20, "en")).await)
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        let (name, created) = task.await.unwrap();
        let created = created.unwrap();
        assert_eq!(created.name, name, "a caller got another caller's row");
        assert_eq!(store.get(created.id).await.unwrap(), Some(created.clone()));
        assert!(ids.insert(created.id), "id {} handed out twice", created.id);
    }
    assert_eq!(store.count(&[]).await.unwrap(), 64);
}

async fn concurrent_replaces_each_get_a_distinct_version(backend: Backend) {
    let Some((_guard, _db, store)) = fresh_store(backend).await else {
        return;
    };
    let id = store.create(&person("a", 1, "en")).await.unwrap().id;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .replace(
                        id,
                        &person(&format!("r{i}"), i, "en"),
                        &Expected::AnyVersion,
                    )
                    .await
            })
        })
        .collect();
    let mut versions = Vec::new();
    for task in tasks {
        versions.push(task.await.unwrap().unwrap().version);
    }
    versions.sort_unstable();
    assert_eq!(versions, (2..=21).collect::<Vec<i64>>());
    assert_eq!(store.get(id).await.unwrap().unwrap().version, 21);
}

async fn list_filters_on_each_operator(backend: Backend) {
    let Some((_guard, _db, store)) = fresh_store(backend).await else {
        return;
    };
    seed(&*store).await;
    let cases: Vec<(Vec<Filter>, &[&str])> = vec![
        (vec![], &["ada", "grace", "alan", "barbara", "linus"]),
        (
            vec![filter(Column::Age, Op::Eq, int(36))],
            &["ada", "barbara"],
        ),
        (
            vec![filter(Column::Age, Op::Ne, int(36))],
            &["grace", "alan", "linus"],
        ),
        (
            vec![filter(Column::Age, Op::Gt, int(41))],
            &["grace", "linus"],
        ),
        (
            vec![filter(Column::Age, Op::Gte, int(41))],
            &["grace", "alan", "linus"],
        ),
        (
            vec![filter(Column::Age, Op::Lt, int(41))],
            &["ada", "barbara"],
        ),
        (
            vec![filter(Column::Age, Op::Lte, int(41))],
            &["ada", "alan", "barbara"],
        ),
        (
            vec![filter(Column::Name, Op::Contains, text("a"))],
            &["ada", "grace", "alan", "barbara"],
        ),
        // Case-sensitive, and no pattern characters.
        (vec![filter(Column::Name, Op::Contains, text("A"))], &[]),
        (vec![filter(Column::Name, Op::Contains, text("%"))], &[]),
        (vec![filter(Column::Id, Op::Eq, int(3))], &["alan"]),
        (
            vec![filter(Column::Name, Op::Lt, text("b"))],
            &["ada", "alan"],
        ),
        // All filters hold at once.
        (
            vec![
                filter(Column::Locale, Op::Eq, text("en-GB")),
                filter(Column::Age, Op::Gt, int(36)),
            ],
            &["alan"],
        ),
        // Several values: any of them matches (or none, for `ne`).
        (
            vec![Filter {
                column: Column::Locale,
                op: Op::Eq,
                values: vec![text("en-us"), text("en-US")],
            }],
            &["grace"],
        ),
        (
            vec![Filter {
                column: Column::Locale,
                op: Op::Ne,
                values: vec![text("en-GB"), text("de")],
            }],
            &["grace", "linus"],
        ),
        // No value matches nothing.
        (
            vec![Filter {
                column: Column::Age,
                op: Op::Eq,
                values: vec![],
            }],
            &[],
        ),
    ];
    for (filters, expected) in cases {
        let found = listed(&*store, filters.clone()).await;
        assert_eq!(names(&found), expected, "{filters:?}");
    }
}

async fn list_sorts_by_several_keys_and_returns_one_extra_row(backend: Backend) {
    let Some((_guard, _db, store)) = fresh_store(backend).await else {
        return;
    };
    seed(&*store).await;
    let by_age_then_name = [
        key(Column::Age, false),
        key(Column::Name, true),
        key(Column::Id, false),
    ];
    let all = store
        .list(&list_query(vec![], &by_age_then_name, page(1, 10)))
        .await
        .unwrap();
    assert_eq!(names(&all), ["barbara", "ada", "alan", "linus", "grace"]);

    let by_locale_desc = [key(Column::Locale, true), key(Column::Id, true)];
    let first_two = store
        .list(&list_query(vec![], &by_locale_desc, page(1, 2)))
        .await
        .unwrap();
    assert_eq!(
        names(&first_two),
        ["linus", "grace", "alan"],
        "two, and the next"
    );

    let last_page = store
        .list(&list_query(vec![], &by_locale_desc, page(3, 2)))
        .await
        .unwrap();
    assert_eq!(
        names(&last_page),
        ["barbara"],
        "no extra row after the last"
    );
    let past_the_end = store
        .list(&list_query(vec![], &by_locale_desc, page(4, 2)))
        .await
        .unwrap();
    assert_eq!(past_the_end, []);
}

async fn list_pages_and_cursors_walk_every_row_once(backend: Backend) {
    let Some((_guard, _db, store)) = fresh_store(backend).await else {
        return;
    };
    seed(&*store).await;
    let sort = [key(Column::Age, true), key(Column::Id, false)];
    let in_order = ["grace", "linus", "alan", "ada", "barbara"];
    let filters = vec![filter(Column::Age, Op::Gte, int(0))];

    let mut by_pages = Vec::new();
    for number in 1..=3 {
        let rows = store
            .list(&list_query(filters.clone(), &sort, page(number, 2)))
            .await
            .unwrap();
        by_pages.extend(rows.into_iter().take(2));
    }
    assert_eq!(names(&by_pages), in_order);

    let mut by_cursor: Vec<Person> = Vec::new();
    let mut after = None;
    loop {
        let window = Window::Cursor { after, per_page: 2 };
        let mut rows = store
            .list(&list_query(filters.clone(), &sort, window))
            .await
            .unwrap();
        let more = rows.len() > 2;
        rows.truncate(2);
        let last = rows.last().cloned();
        by_cursor.extend(rows);
        match last {
            Some(last) if more => after = Some(vec![int(last.age.into()), int(last.id)]),
            _ => break,
        }
    }
    assert_eq!(names(&by_cursor), in_order);

    // Rows created after the cursor was taken show up after it, not before.
    let at_ada = Some(vec![int(36), int(1)]);
    store.create(&person("older", 90, "en")).await.unwrap();
    store.create(&person("younger", 1, "en")).await.unwrap();
    let rest = store
        .list(&list_query(
            filters,
            &sort,
            Window::Cursor {
                after: at_ada,
                per_page: 10,
            },
        ))
        .await
        .unwrap();
    assert_eq!(names(&rest), ["barbara", "younger"]);
}

async fn count_matches_all_filters(backend: Backend) {
    let Some((_guard, _db, store)) = fresh_store(backend).await else {
        return;
    };
    assert_eq!(store.count(&[]).await.unwrap(), 0);
    seed(&*store).await;
    assert_eq!(store.count(&[]).await.unwrap(), 5);
    let en_gb = filter(Column::Locale, Op::Eq, text("en-GB"));
    assert_eq!(store.count(std::slice::from_ref(&en_gb)).await.unwrap(), 2);
    let over_40 = filter(Column::Age, Op::Gt, int(40));
    assert_eq!(store.count(&[en_gb, over_40]).await.unwrap(), 1);
    let contains = filter(Column::Name, Op::Contains, text("ar"));
    assert_eq!(store.count(&[contains]).await.unwrap(), 1);
}

async fn count_up_to_stops_one_past_its_cap(backend: Backend) {
    let Some((_guard, _db, store)) = fresh_store(backend).await else {
        return;
    };
    assert_eq!(store.count_up_to(&[], 0).await.unwrap(), 0);
    seed(&*store).await;
    assert_eq!(store.count_up_to(&[], 5).await.unwrap(), 5);
    assert_eq!(store.count_up_to(&[], 1000).await.unwrap(), 5);
    assert_eq!(store.count_up_to(&[], 3).await.unwrap(), 4);
    assert_eq!(store.count_up_to(&[], 0).await.unwrap(), 1);
    let en_gb = filter(Column::Locale, Op::Eq, text("en-GB"));
    assert_eq!(
        store
            .count_up_to(std::slice::from_ref(&en_gb), 2)
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.count_up_to(&[en_gb], 1).await.unwrap(), 2);
    let none = filter(Column::Name, Op::Contains, text("zz"));
    assert_eq!(store.count_up_to(&[none], 1).await.unwrap(), 0);
}

/// SQLite's estimate comes from ids drawn at random, PostgreSQL's from the
/// planner's statistics (kept by autovacuum; the test runs `ANALYZE` rather
/// than wait for it).
async fn an_estimated_count_is_near_the_truth(backend: Backend) {
    let Some((_guard, db, store)) = fresh_store(backend).await else {
        return;
    };
    let people: Vec<NewPerson> = (0..3000)
        .map(|i| person(&format!("p{i}"), i % 100, "en"))
        .collect();
    for chunk in people.chunks(1000) {
        store.create_many(chunk).await.unwrap();
    }
    // Ids with gaps, as deletes leave them (one statement: a thousand
    // durable deletes one by one would only slow the test down).
    let delete_every_third = "DELETE FROM people WHERE id % 3 = 1";
    match &db {
        Database::Sqlite(pool) => sqlx::query(delete_every_third)
            .execute(pool)
            .await
            .map(drop),
        Database::Postgres(pool) => {
            sqlx::query(delete_every_third).execute(pool).await.unwrap();
            sqlx::query("ANALYZE people").execute(pool).await.map(drop)
        }
    }
    .unwrap();
    let over_30 = filter(Column::Age, Op::Gte, int(30));
    let exact = store.count(std::slice::from_ref(&over_30)).await.unwrap();
    assert_eq!(exact, 1400);
    for (filters, truth) in [(vec![], 2000), (vec![over_30], exact)] {
        let estimate = store.estimate_count(&filters).await.unwrap();
        let error = estimate.abs_diff(truth) as f64 / truth as f64;
        assert!(
            error < 0.2,
            "estimated {estimate} for {truth} ({filters:?}): {:.0}% off",
            error * 100.0
        );
    }
}

/// On SQLite a read by id may come from memory: it must never be older than
/// the writes already answered.
async fn a_read_after_a_replace_or_delete_sees_it(backend: Backend) {
    let Some((_guard, _db, store)) = fresh_store(backend).await else {
        return;
    };
    let ada = store.create(&person("ada", 36, "en-GB")).await.unwrap();
    assert_eq!(store.get(ada.id).await.unwrap(), Some(ada.clone()));
    let older = store
        .replace(ada.id, &person("ada", 37, "en-GB"), &Expected::AnyVersion)
        .await
        .unwrap();
    assert_eq!(store.get(ada.id).await.unwrap(), Some(older.clone()));
    assert_eq!(older.version, 2);
    store.delete(ada.id, &Expected::AnyVersion).await.unwrap();
    assert_eq!(store.get(ada.id).await.unwrap(), None);
}

async fn reads_racing_replaces_end_on_the_last_version(backend: Backend) {
    let Some((_guard, _db, store)) = fresh_store(backend).await else {
        return;
    };
    let id = store.create(&person("a", 1, "en")).await.unwrap().id;
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..200 {
                    store.get(id).await.unwrap();
                }
            })
        })
        .collect();
    let mut last = None;
    for age in 2..52 {
        let written = store
            .replace(id, &person("a", age, "en"), &Expected::AnyVersion)
            .await
            .unwrap();
        // Every read after an answered write sees at least that write.
        let read = store.get(id).await.unwrap().unwrap();
        assert!(
            read.version >= written.version,
            "{read:?} after {written:?}"
        );
        last = Some(written);
    }
    for reader in readers {
        reader.await.unwrap();
    }
    assert_eq!(store.get(id).await.unwrap(), last);
}
