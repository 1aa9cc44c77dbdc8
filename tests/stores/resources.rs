//! The resources store contract: [`ResourceStore`] on both backends.

use echobase::resources::model::Document;
use echobase::resources::query::{ListQuery, parameters};
use echobase::resources::store::{
    self, Change, ChangeKind, CollectionEvent, Cut, Expected, Indexing, Kind, NewCollection,
    ResourceStore, StoreError, Written,
};
use serde_json::{Value, json};

use crate::common::Backend;

crate::on_both_backends!(
    a_collection_keeps_its_documents_in_order_and_key_order,
    ids_are_found_by_their_text_and_generated_as_json_server_does,
    a_duplicate_id_is_refused_and_writes_nothing,
    updates_keep_the_id_and_the_place,
    deleting_a_document_deletes_the_documents_naming_it,
    singular_resources_are_replaced_or_merged,
    a_collection_is_created_once,
    concurrent_inserts_get_distinct_ids,
    a_write_on_a_stale_tag_changes_nothing,
    a_merge_patch_merges_at_every_depth_and_null_removes,
    every_write_meets_the_collections_schema,
    a_refused_write_among_concurrent_ones_fails_alone,
    a_read_after_a_write_sees_it,
    the_next_id_follows_the_largest_left_after_a_delete,
    an_indexed_list_answers_as_the_whole_collection_does,
    every_committed_change_reaches_the_watchers,
    a_batch_is_written_whole_or_not_at_all,
    a_document_holding_nul_is_stored_and_listed_with_indexes,
    a_field_filtered_often_gets_an_index_every_store_uses,
);

fn document(value: Value) -> Document {
    value.as_object().cloned().expect("an object")
}

fn documents(values: Value) -> Vec<Document> {
    values
        .as_array()
        .expect("an array")
        .iter()
        .cloned()
        .map(document)
        .collect()
}

async fn open(
    backend: Backend,
) -> Option<(
    crate::common::TestDatabase,
    std::sync::Arc<dyn ResourceStore>,
)> {
    let (guard, db) = crate::fresh_database(backend).await?;
    Some((guard, store::for_database(&db, 1000, Indexing::default())))
}

async fn a_collection_keeps_its_documents_in_order_and_key_order(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let posts = json!([{"id": 2, "zeta": 1, "alpha": 2}, {"id": 1, "b": [1, {"c": null}]}]);
    assert!(
        store
            .create(
                "posts",
                NewCollection::Plural(documents(posts.clone())),
                None
            )
            .await
            .unwrap()
    );
    let read = store.documents("posts").await.unwrap().unwrap();
    assert_eq!(
        Value::from(read.iter().cloned().map(Value::Object).collect::<Vec<_>>()),
        posts
    );
    assert_eq!(
        serde_json::to_string(&read[0]).unwrap(),
        r#"{"id":2,"zeta":1,"alpha":2}"#
    );
    assert!(store.documents("nothing").await.unwrap().is_none());
    let listed = store.collections().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            listed[0].name.as_str(),
            listed[0].singular,
            listed[0].documents
        ),
        ("posts", false, 2)
    );
}

async fn ids_are_found_by_their_text_and_generated_as_json_server_does(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    store
        .create("posts", NewCollection::Plural(Vec::new()), None)
        .await
        .unwrap();
    let first = store
        .insert("posts", document(json!({"title": "a"})))
        .await
        .unwrap();
    assert_eq!(first.document["id"], json!(1), "1 in an empty collection");
    store
        .insert("posts", document(json!({"id": 41})))
        .await
        .unwrap();
    let next = store
        .insert("posts", document(json!({"id": 0, "title": "b"})))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_string(&next.document).unwrap(),
        r#"{"id":42,"title":"b"}"#
    );
    assert_eq!(store.document("posts", "42").await.unwrap(), Some(next));
    store
        .create(
            "tags",
            NewCollection::Plural(documents(json!([{"id": "x"}]))),
            None,
        )
        .await
        .unwrap();
    let tag = store.insert("tags", Document::new()).await.unwrap();
    assert_eq!(
        tag.document["id"].as_str().map(str::len),
        Some(7),
        "{tag:?}"
    );
    let text_id = store
        .insert("tags", document(json!({"id": "7"})))
        .await
        .unwrap();
    assert_eq!(store.document("tags", "7").await.unwrap(), Some(text_id));
    assert!(matches!(
        store.insert("nothing", Document::new()).await,
        Err(StoreError::NoCollection(_))
    ));
}

async fn a_duplicate_id_is_refused_and_writes_nothing(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    store
        .create(
            "posts",
            NewCollection::Plural(documents(json!([{"id": 1}]))),
            None,
        )
        .await
        .unwrap();
    let refused = store
        .insert("posts", document(json!({"id": "1", "new": true})))
        .await;
    assert!(
        matches!(refused, Err(StoreError::DuplicateId { .. })),
        "{refused:?}"
    );
    assert_eq!(store.documents("posts").await.unwrap().unwrap().len(), 1);
    // A seed with two documents of one id creates nothing.
    let seeded = store
        .create(
            "dupes",
            NewCollection::Plural(documents(json!([{"id": 1}, {"id": 1}]))),
            None,
        )
        .await;
    assert!(
        matches!(seeded, Err(StoreError::DuplicateId { .. })),
        "{seeded:?}"
    );
    assert_eq!(store.kind("dupes").await.unwrap(), None);
}

async fn updates_keep_the_id_and_the_place(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let posts = json!([{"id": 1, "a": 1}, {"id": 2, "a": 2, "b": 2}, {"id": 3}]);
    store
        .create("posts", NewCollection::Plural(documents(posts)), None)
        .await
        .unwrap();
    let replaced = store
        .update(
            "posts",
            "2",
            document(json!({"b": 9, "id": 5})),
            Change::Replace,
            &Expected::Any,
        )
        .await
        .unwrap();
    let Written::Done(replaced) = replaced else {
        panic!("replaced: {replaced:?}");
    };
    assert_eq!(
        serde_json::to_string(&replaced.document).unwrap(),
        r#"{"b":9,"id":2}"#
    );
    let merged = store
        .update(
            "posts",
            "1",
            document(json!({"c": 3, "a": 0})),
            Change::Merge,
            &Expected::Any,
        )
        .await
        .unwrap();
    let Written::Done(merged) = merged else {
        panic!("merged: {merged:?}");
    };
    assert_eq!(
        serde_json::to_string(&merged.document).unwrap(),
        r#"{"id":1,"a":0,"c":3}"#
    );
    let ids: Vec<Value> = store
        .documents("posts")
        .await
        .unwrap()
        .unwrap()
        .iter()
        .map(|d| d["id"].clone())
        .collect();
    assert_eq!(ids, [json!(1), json!(2), json!(3)]);
    assert_eq!(
        store
            .update("posts", "9", Document::new(), Change::Merge, &Expected::Any)
            .await
            .unwrap(),
        Written::Missing
    );
}

async fn deleting_a_document_deletes_the_documents_naming_it(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    store
        .create(
            "posts",
            NewCollection::Plural(documents(json!([{"id": 1}, {"id": 2}]))),
            None,
        )
        .await
        .unwrap();
    let comments = json!([
        {"id": 1, "postId": 1},
        {"id": 2, "postId": "1"},
        {"id": 3, "postId": 2},
        {"id": 4, "note": "mentions \"postId\" in text", "postId": null}
    ]);
    store
        .create("comments", NewCollection::Plural(documents(comments)), None)
        .await
        .unwrap();
    assert_eq!(
        store.delete("posts", "1", &Expected::Any).await.unwrap(),
        Written::Done(())
    );
    assert_eq!(
        store.delete("posts", "1", &Expected::Any).await.unwrap(),
        Written::Missing
    );
    let left: Vec<Value> = store
        .documents("comments")
        .await
        .unwrap()
        .unwrap()
        .iter()
        .map(|d| d["id"].clone())
        .collect();
    assert_eq!(left, [json!(3), json!(4)]);
}

async fn singular_resources_are_replaced_or_merged(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    store
        .create(
            "profile",
            NewCollection::Singular(document(json!({"name": "a", "x": 1}))),
            None,
        )
        .await
        .unwrap();
    assert_eq!(store.kind("profile").await.unwrap(), Some(Kind::Singular));
    assert!(store.documents("profile").await.unwrap().is_none());
    let merged = store
        .set_singular("profile", document(json!({"x": 2, "y": 3})), Change::Merge)
        .await
        .unwrap();
    assert_eq!(merged, Some(document(json!({"name": "a", "x": 2, "y": 3}))));
    store
        .set_singular("profile", document(json!({"only": true})), Change::Replace)
        .await
        .unwrap();
    assert_eq!(
        store.singular("profile").await.unwrap(),
        Some(document(json!({"only": true})))
    );
    assert_eq!(
        store
            .set_singular("nothing", Document::new(), Change::Replace)
            .await
            .unwrap(),
        None
    );
}

async fn a_collection_is_created_once(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    assert!(
        store
            .create(
                "posts",
                NewCollection::Plural(documents(json!([{"id": 1}]))),
                None
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .create(
                "posts",
                NewCollection::Plural(documents(json!([{"id": 2}]))),
                None
            )
            .await
            .unwrap()
    );
    let ids: Vec<Value> = store
        .documents("posts")
        .await
        .unwrap()
        .unwrap()
        .iter()
        .map(|d| d["id"].clone())
        .collect();
    assert_eq!(ids, [json!(1)], "the stored collection is kept");
    assert!(store.drop_collection("posts").await.unwrap());
    assert!(!store.drop_collection("posts").await.unwrap());
    assert_eq!(store.kind("posts").await.unwrap(), None);
}

/// Inserts each body into `posts` from a task of its own, all at once:
/// what each got, in the order of `bodies`.
async fn insert_concurrently(
    store: &std::sync::Arc<dyn ResourceStore>,
    bodies: Vec<Value>,
) -> Vec<Result<echobase::resources::store::Stored, StoreError>> {
    let writers: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let store = store.clone();
            tokio::spawn(async move { store.insert("posts", document(body)).await })
        })
        .collect();
    let mut inserted = Vec::new();
    for writer in writers {
        inserted.push(writer.await.expect("an insert task"));
    }
    inserted
}

async fn concurrent_inserts_get_distinct_ids(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    store
        .create("posts", NewCollection::Plural(Vec::new()), None)
        .await
        .unwrap();
    let bodies = (0..20).map(|n| json!({"n": n})).collect();
    let mut ids = Vec::new();
    for inserted in insert_concurrently(&store, bodies).await {
        ids.push(inserted.unwrap().document["id"].as_i64().unwrap());
    }
    ids.sort_unstable();
    assert_eq!(ids, (1..=20).collect::<Vec<i64>>());
    assert_eq!(store.documents("posts").await.unwrap().unwrap().len(), 20);
}

async fn a_write_on_a_stale_tag_changes_nothing(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let posts = documents(json!([{"id": 1, "v": 1}]));
    store
        .create("posts", NewCollection::Plural(posts), None)
        .await
        .unwrap();
    let read = store.document("posts", "1").await.unwrap().unwrap();
    let first = document(json!({"v": 2}));
    let current = Expected::Tags(vec![read.etag.clone()]);
    let Written::Done(written) = store
        .update("posts", "1", first, Change::Merge, &current)
        .await
        .unwrap()
    else {
        panic!("the current tag allows the write");
    };
    assert_ne!(written.etag, read.etag, "new content, new tag");
    // A second writer holding the first read's tag is refused.
    let stale = store
        .update(
            "posts",
            "1",
            document(json!({"v": 3})),
            Change::Merge,
            &current,
        )
        .await
        .unwrap();
    assert_eq!(stale, Written::Stale(written.etag.clone()));
    assert_eq!(
        store.delete("posts", "1", &current).await.unwrap(),
        Written::Stale(written.etag.clone())
    );
    let now = store.document("posts", "1").await.unwrap().unwrap();
    assert_eq!(now.document, document(json!({"id": 1, "v": 2})));
    assert_eq!(now.etag, written.etag, "the tag is the stored content's");
}

async fn a_merge_patch_merges_at_every_depth_and_null_removes(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let posts = documents(json!([{"id": 1, "a": {"x": 1, "y": 2}, "b": 1, "c": 1}]));
    store
        .create("posts", NewCollection::Plural(posts), None)
        .await
        .unwrap();
    let patch = document(json!({"a": {"y": null, "z": 3}, "b": null, "id": 7}));
    let Written::Done(patched) = store
        .update("posts", "1", patch, Change::MergePatch, &Expected::Any)
        .await
        .unwrap()
    else {
        panic!("patched");
    };
    assert_eq!(
        serde_json::to_string(&patched.document).unwrap(),
        r#"{"id":1,"a":{"x":1,"z":3},"c":1}"#
    );
}

async fn every_write_meets_the_collections_schema(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let schema = json!({
        "type": "object",
        "required": ["title"],
        "properties": {"title": {"type": "string"}, "views": {"type": "integer", "minimum": 0}}
    });
    let refused = store
        .create(
            "bad",
            NewCollection::Plural(documents(json!([{"views": 1}]))),
            Some(&schema),
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    assert_eq!(store.kind("bad").await.unwrap(), None, "nothing made");
    let first = documents(json!([{"id": 1, "title": "ok", "views": 2}]));
    store
        .create("posts", NewCollection::Plural(first), Some(&schema))
        .await
        .unwrap();
    let Err(StoreError::Invalid(violations)) = store
        .insert("posts", document(json!({"title": 5, "views": -1})))
        .await
    else {
        panic!("an invalid insert is refused");
    };
    let mut fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["title", "views"]);
    let patched = store
        .update(
            "posts",
            "1",
            document(json!({"title": null})),
            Change::MergePatch,
            &Expected::Any,
        )
        .await;
    assert!(
        matches!(patched, Err(StoreError::Invalid(_))),
        "{patched:?}"
    );
    let stored = store.documents("posts").await.unwrap().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["title"], json!("ok"), "unchanged");
    let listed = store.collections().await.unwrap();
    assert_eq!(listed[0].schema.as_ref(), Some(&schema));
}

/// On SQLite concurrent writes share one transaction: one refused in it
/// (a taken id, a schema violation) must not take the others with it.
async fn a_refused_write_among_concurrent_ones_fails_alone(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}});
    store
        .create(
            "posts",
            NewCollection::Plural(documents(json!([{"id": "taken"}]))),
            Some(&schema),
        )
        .await
        .unwrap();
    let bodies = (0..30)
        .map(|n| match n % 3 {
            0 => json!({"id": "taken", "n": n}),
            1 => json!({"n": "not a number"}),
            _ => json!({"n": n}),
        })
        .collect();
    let mut written = Vec::new();
    for (n, inserted) in insert_concurrently(&store, bodies)
        .await
        .into_iter()
        .enumerate()
    {
        match (n, inserted) {
            (n, Ok(stored)) if n % 3 == 2 => written.push(stored.document["n"].clone()),
            (n, Err(StoreError::DuplicateId { .. })) if n % 3 == 0 => {}
            (n, Err(StoreError::Invalid(_))) if n % 3 == 1 => {}
            (n, other) => panic!("insert {n}: {other:?}"),
        }
    }
    assert_eq!(written.len(), 10);
    let stored = store.documents("posts").await.unwrap().unwrap();
    assert_eq!(stored.len(), 11, "the first document and the 10 valid ones");
    for n in written {
        assert!(
            stored.iter().any(|d| d.get("n") == Some(&n)),
            "{n} is stored"
        );
    }
}

/// Reads may come from a snapshot in memory: each write must be seen by
/// the next read, by id and in the list.
async fn a_read_after_a_write_sees_it(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let posts = documents(json!([{"id": 1, "v": 1}, {"id": 2, "v": 1}]));
    store
        .create("posts", NewCollection::Plural(posts), None)
        .await
        .unwrap();
    let version = |store: &std::sync::Arc<dyn ResourceStore>| {
        let store = store.clone();
        async move {
            let listed = store.documents("posts").await.unwrap().unwrap();
            let one = store.document("posts", "1").await.unwrap();
            (
                listed.iter().map(|d| d["v"].clone()).collect::<Vec<_>>(),
                one.map(|stored| stored.document["v"].clone()),
            )
        }
    };
    assert_eq!(
        version(&store).await,
        (vec![json!(1), json!(1)], Some(json!(1)))
    );
    store
        .update(
            "posts",
            "1",
            document(json!({"v": 2})),
            Change::Merge,
            &Expected::Any,
        )
        .await
        .unwrap();
    assert_eq!(
        version(&store).await,
        (vec![json!(2), json!(1)], Some(json!(2)))
    );
    store
        .insert("posts", document(json!({"v": 3})))
        .await
        .unwrap();
    assert_eq!(
        version(&store).await,
        (vec![json!(2), json!(1), json!(3)], Some(json!(2)))
    );
    store.delete("posts", "1", &Expected::Any).await.unwrap();
    assert_eq!(version(&store).await, (vec![json!(1), json!(3)], None));
    assert!(store.drop_collection("posts").await.unwrap());
    assert!(store.documents("posts").await.unwrap().is_none());
    assert_eq!(store.kind("posts").await.unwrap(), None);
}

/// json-server gives one more than the largest id there is now, so a
/// deleted largest id is given again.
async fn the_next_id_follows_the_largest_left_after_a_delete(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    store
        .create("posts", NewCollection::Plural(Vec::new()), None)
        .await
        .unwrap();
    let id = |stored: echobase::resources::store::Stored| stored.document["id"].clone();
    let first = store.insert("posts", Document::new()).await.unwrap();
    let second = store.insert("posts", Document::new()).await.unwrap();
    assert_eq!((id(first), id(second)), (json!(1), json!(2)));
    store.delete("posts", "2", &Expected::Any).await.unwrap();
    let again = store.insert("posts", Document::new()).await.unwrap();
    assert_eq!(id(again), json!(2));
    store.delete("posts", "1", &Expected::Any).await.unwrap();
    store.delete("posts", "2", &Expected::Any).await.unwrap();
    let after_empty = store.insert("posts", Document::new()).await.unwrap();
    assert_eq!(id(after_empty), json!(1));
}

/// A collection too large for memory (a cache of none) answers equality
/// filters on indexed fields from the database: the same documents, count
/// and pages as json-server's rules over the whole collection, for every
/// kind of value an index key is written for.
async fn an_indexed_list_answers_as_the_whole_collection_does(backend: Backend) {
    let Some((_guard, db)) = crate::fresh_database(backend).await else {
        return;
    };
    let indexes = ["userId", "tag", "flag", "score", "tags", "big"].map(String::from);
    let store = store::for_database(&db, 0, Indexing::fields(&indexes));
    store.create_indexes().await.unwrap();
    let posts = json!([
        {"id": 1, "userId": 1, "tag": "a", "flag": true, "score": 2, "big": 1},
        {"id": 2, "userId": "1", "tag": "b", "flag": "true", "score": 2.0},
        {"id": 3, "userId": 2, "tag": "a", "flag": false, "score": 2.5},
        {"id": 4, "userId": null, "tag": "A", "flag": null, "tags": ["a", "b"]},
        {"id": 5, "tag": "a", "flag": true, "userId": 1.0, "big": 9_007_199_254_740_993_u64},
        {"id": 6, "userId": 1, "tag": "", "tags": "a"},
        {"id": 7, "userId": -0.0, "tag": "1", "flag": 1},
        {"id": 8, "userId": 1, "tag": "a\u{e9}\"'", "flag": "false"},
    ]);
    store
        .create("posts", NewCollection::Plural(documents(posts)), None)
        .await
        .unwrap();
    let whole = store.documents("posts").await.unwrap().unwrap();
    let answered = [
        "userId=1",
        "userId=1&userId=2",
        "userId=0",
        "userId=1.0",
        "userId=",
        "userId=1&_page=2&_limit=2",
        "userId=1&_page=9&_limit=2",
        "userId=1&_start=1&_end=3",
        "userId=1&_limit=2",
        "userId=1&_start=-2",
        "tag=a",
        "tag=a&flag=true",
        "tag=",
        "tag=a\u{e9}\"'",
        "tag=1",
        "flag=true",
        "flag=false",
        "flag=1",
        "flag=null",
        "_page=2&_limit=3",
        "_page=1",
        "",
    ];
    for text in answered {
        let query = ListQuery::parse(parameters(Some(text))).unwrap();
        let filters = query.equalities().expect("equality filters");
        let window = |total| query.window(total).range;
        let found = store
            .find("posts", &filters, Cut::Window(&window))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{text}: answered from the indexes"));
        let expected = query.apply(&whole);
        let ids = |documents: Vec<&Document>| -> Vec<Value> {
            documents.into_iter().map(|d| d["id"].clone()).collect()
        };
        assert_eq!(
            ids(found.documents.iter().collect()),
            ids(expected.items),
            "{text}"
        );
        let cut = query.window(found.total);
        assert_eq!(cut.total, expected.total, "{text}: X-Total-Count");
        assert_eq!(cut.page, expected.page, "{text}: Link");
    }
    // Left to a whole read: a field not indexed, values whose text only
    // json-server's rules give (fractions, arrays, past 2^53), and what is
    // not an equality.
    for text in [
        "id=1",
        "score=2",
        "tags=a",
        "big=1",
        "userId_ne=1",
        "q=a",
        "userId=1&_sort=tag",
    ] {
        let query = ListQuery::parse(parameters(Some(text))).unwrap();
        let Some(filters) = query.equalities() else {
            continue;
        };
        let found = store
            .find("posts", &filters, Cut::Window(&|_| 0..0))
            .await
            .unwrap();
        assert!(found.is_none(), "{text}: not answered from the indexes");
    }
    // A collection that fits in memory is listed from memory.
    let cached = store::for_database(&db, 1000, Indexing::fields(&indexes));
    let found = cached
        .find(
            "posts",
            &[("userId", &["1".to_owned()])],
            Cut::Window(&|_| 0..1),
        )
        .await;
    assert!(found.unwrap().is_none());
    // A cursor's pages from the indexes are the whole collection's pages.
    let positions = whole.positions();
    for (filter, limit) in [("userId=1", 2), ("tag=a", 1), ("flag=true", 5), ("", 3)] {
        let mut after = -1;
        loop {
            let cursor = if after < 0 {
                String::new()
            } else {
                after.to_string()
            };
            let text = format!("{filter}&_limit={limit}&_cursor={cursor}");
            let query = ListQuery::parse(parameters(Some(&text))).unwrap();
            let (expected, next) = query.after_page(&whole, positions, after);
            let filters = query.equalities().unwrap();
            let cut = Cut::After {
                position: after,
                limit,
            };
            let found = store.find("posts", &filters, cut).await.unwrap().unwrap();
            let ids = |documents: Vec<&Document>| -> Vec<Value> {
                documents.into_iter().map(|d| d["id"].clone()).collect()
            };
            let read: Vec<&Document> = found.documents.iter().take(limit).collect();
            assert_eq!(ids(read), ids(expected), "{text}");
            assert_eq!(found.documents.len() > limit, next.is_some(), "{text}");
            match next {
                Some(next) => {
                    assert_eq!(found.positions[limit - 1], next, "{text}");
                    after = next;
                }
                None => break,
            }
        }
    }
}

/// The next change a watcher receives (PostgreSQL's arrive a little after
/// the commit).
async fn next_event(
    watched: &mut tokio::sync::broadcast::Receiver<CollectionEvent>,
) -> (String, ChangeKind, Option<String>) {
    let event = tokio::time::timeout(std::time::Duration::from_secs(10), watched.recv())
        .await
        .expect("an event within 10 s")
        .expect("the channel open");
    (event.collection, event.change, event.id)
}

/// Each committed write is one event per document it changed, cascades
/// included, in commit order; a refused write sends none.
async fn every_committed_change_reaches_the_watchers(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let mut watched = store.watch().await.unwrap();
    let posts = documents(json!([{"id": 1, "title": "a"}]));
    store
        .create("posts", NewCollection::Plural(posts), None)
        .await
        .unwrap();
    store
        .insert("posts", document(json!({"title": "b"})))
        .await
        .unwrap();
    let taken = store.insert("posts", document(json!({"id": 1}))).await;
    assert!(matches!(taken, Err(StoreError::DuplicateId { .. })));
    store
        .update(
            "posts",
            "2",
            document(json!({"title": "c"})),
            Change::Merge,
            &Expected::Any,
        )
        .await
        .unwrap();
    let comments = documents(json!([{"id": 7, "postId": 2}, {"id": 8, "postId": 1}]));
    store
        .create("comments", NewCollection::Plural(comments), None)
        .await
        .unwrap();
    store.delete("posts", "2", &Expected::Any).await.unwrap();
    store.drop_collection("comments").await.unwrap();
    let mut received = Vec::new();
    for _ in 0..7 {
        received.push(next_event(&mut watched).await);
    }
    let one = |collection: &str, change, id: Option<&str>| {
        (collection.to_owned(), change, id.map(str::to_owned))
    };
    assert_eq!(
        received,
        [
            one("posts", ChangeKind::Created, None),
            one("posts", ChangeKind::Inserted, Some("2")),
            one("posts", ChangeKind::Updated, Some("2")),
            one("comments", ChangeKind::Created, None),
            one("posts", ChangeKind::Deleted, Some("2")),
            one("comments", ChangeKind::Deleted, Some("7")),
            one("comments", ChangeKind::Dropped, None),
        ]
    );
    // Nothing else: the refused insert sent nothing.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(watched.try_recv().is_err());
}

/// On PostgreSQL every process's changes reach every process's watchers:
/// two stores on one database, as two processes.
#[tokio::test]
async fn a_change_on_one_process_reaches_the_watchers_of_another() {
    let Some((_guard, db)) = crate::fresh_database(Backend::Postgres).await else {
        return;
    };
    let writer = store::for_database(&db, 1000, Indexing::default());
    let watcher = store::for_database(&db, 1000, Indexing::default());
    let mut watched = watcher.watch().await.unwrap();
    writer
        .create("posts", NewCollection::Plural(Vec::new()), None)
        .await
        .unwrap();
    writer
        .insert("posts", document(json!({"id": "x"})))
        .await
        .unwrap();
    assert_eq!(
        next_event(&mut watched).await,
        ("posts".to_owned(), ChangeKind::Created, None)
    );
    assert_eq!(
        next_event(&mut watched).await,
        (
            "posts".to_owned(),
            ChangeKind::Inserted,
            Some("x".to_owned())
        )
    );
}

/// `insert_many` gives ids as single inserts do, in order, and refuses the
/// whole batch for one taken id or one document against the schema.
async fn a_batch_is_written_whole_or_not_at_all(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let schema = json!({"type": "object", "properties": {"title": {"type": "string"}}});
    let first = documents(json!([{"id": 1, "title": "a"}]));
    store
        .create("posts", NewCollection::Plural(first), Some(&schema))
        .await
        .unwrap();
    let stored = store
        .insert_many(
            "posts",
            documents(json!([{"title": "b"}, {"id": "x", "title": "c"}, {"title": "d"}])),
        )
        .await
        .unwrap();
    let ids = |documents: &[Document]| -> Vec<Value> {
        documents.iter().map(|d| d["id"].clone()).collect()
    };
    let stored: Vec<Document> = stored.into_iter().map(|s| s.document).collect();
    assert_eq!(ids(&stored), [json!(2), json!("x"), json!(3)]);
    let all = || async { store.documents("posts").await.unwrap().unwrap().to_vec() };
    assert_eq!(
        ids(&all().await),
        [json!(1), json!(2), json!("x"), json!(3)]
    );

    let taken = store
        .insert_many(
            "posts",
            documents(json!([{"title": "e"}, {"id": 1, "title": "f"}])),
        )
        .await;
    assert!(
        matches!(&taken, Err(StoreError::DuplicateId { id, .. }) if id == "1"),
        "{taken:?}"
    );
    let twice = store
        .insert_many("posts", documents(json!([{"id": 9}, {"id": 9}])))
        .await;
    assert!(
        matches!(twice, Err(StoreError::DuplicateId { .. })),
        "{twice:?}"
    );
    let invalid = store
        .insert_many("posts", documents(json!([{"title": "g"}, {"title": 5}])))
        .await;
    match invalid {
        Err(StoreError::Invalid(violations)) => {
            assert_eq!(violations[0].field, "[1].title", "{violations:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        ids(&all().await),
        [json!(1), json!(2), json!("x"), json!(3)],
        "nothing written"
    );
    // The ids go on from the batch.
    let next = store
        .insert("posts", document(json!({"title": "h"})))
        .await
        .unwrap();
    assert_eq!(next.document["id"], json!(4));
    assert!(matches!(
        store.insert_many("nothing", Vec::new()).await,
        Err(StoreError::NoCollection(_))
    ));
}

/// PostgreSQL's JSON functions refuse `\u0000` anywhere in a document; the
/// index keys must not turn that into a failed write (schemathesis found a
/// 500), and lists of the collection still answer json-server's way.
async fn a_document_holding_nul_is_stored_and_listed_with_indexes(backend: Backend) {
    let Some((_guard, db)) = crate::fresh_database(backend).await else {
        return;
    };
    let indexes = ["userId".to_owned()];
    let store = store::for_database(&db, 0, Indexing::fields(&indexes));
    store.create_indexes().await.unwrap();
    let notes = documents(json!([{"id": 1, "userId": 1, "text": "a\u{0}b"}]));
    store
        .create("notes", NewCollection::Plural(notes), None)
        .await
        .unwrap();
    store
        .insert("notes", document(json!({"userId": 1, "\u{0}": 2})))
        .await
        .unwrap();
    store
        .insert_many("notes", documents(json!([{"userId": 2, "text": "\u{0}"}])))
        .await
        .unwrap();
    let query = ListQuery::parse(parameters(Some("userId=1"))).unwrap();
    let filters = query.equalities().unwrap();
    let window = |total| query.window(total).range;
    let found = store
        .find("notes", &filters, Cut::Window(&window))
        .await
        .unwrap();
    if let Some(found) = found {
        // SQLite keys such documents; PostgreSQL leaves them to a whole read.
        assert_eq!(found.total, 2);
    }
    let whole = store.documents("notes").await.unwrap().unwrap();
    assert_eq!(query.apply(&whole).items.len(), 2);
    assert_eq!(whole[0]["text"], json!("a\u{0}b"));
}

/// The ids of the documents `find` answers for `field=value` over the
/// whole collection (`None`: left to a whole read).
async fn found_ids(store: &dyn ResourceStore, field: &str, value: &str) -> Option<Vec<Value>> {
    let values = [value.to_owned()];
    let found = store
        .find("posts", &[(field, &values)], Cut::Window(&|total| 0..total))
        .await
        .unwrap()?;
    assert_eq!(found.total, found.documents.len(), "{field}={value}");
    Some(found.documents.iter().map(|d| d["id"].clone()).collect())
}

/// The fields' indexes in the database's catalog: how many, and how many
/// of them are valid (PostgreSQL marks a concurrent build that broke off
/// invalid, and no query uses it).
async fn field_indexes(db: &echobase::db::Database) -> (i64, i64) {
    match db {
        echobase::db::Database::Sqlite(pool) => {
            let count: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM sqlite_master \
                 WHERE type = 'index' AND name LIKE 'resource_field_%'",
            )
            .fetch_one(pool)
            .await
            .unwrap();
            (count, count)
        }
        echobase::db::Database::Postgres(pool) => sqlx::query_as(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE indisvalid) FROM pg_index \
             JOIN pg_class ON pg_class.oid = indexrelid \
             WHERE relname LIKE 'resource_field_%'",
        )
        .fetch_one(pool)
        .await
        .unwrap(),
    }
}

/// A field that lists of a collection too large for memory filter on
/// often gets an index, built in the background, which every store on the
/// database then uses from the start; a field no document of the
/// collection has gets none, and no more than `automatic_max` are built.
async fn a_field_filtered_often_gets_an_index_every_store_uses(backend: Backend) {
    let Some((_guard, db)) = crate::fresh_database(backend).await else {
        return;
    };
    let indexing = Indexing {
        fields: Vec::new(),
        automatic_after: 3,
        automatic_max: 2,
    };
    let store = store::for_database(&db, 0, indexing.clone());
    store.create_indexes().await.unwrap();
    assert_eq!(field_indexes(&db).await, (1, 1), "_page's");
    let users = json!([{"id": 1, "email": "a@example.com"}]);
    store
        .create("users", NewCollection::Plural(documents(users)), None)
        .await
        .unwrap();
    let posts = json!([
        {"id": 1, "userId": 1, "tag": "a", "kind": "x"},
        {"id": 2, "userId": 2, "tag": "b"},
        {"id": 3, "userId": 1, "kind": "y"},
    ]);
    store
        .create("posts", NewCollection::Plural(documents(posts)), None)
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(found_ids(store.as_ref(), "userId", "1").await, None);
    }
    // The third list asked for the index: later ones are answered from it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let ids = loop {
        if let Some(ids) = found_ids(store.as_ref(), "userId", "1").await {
            break ids;
        }
        assert!(std::time::Instant::now() < deadline, "no index was built");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(ids, [json!(1), json!(3)]);
    assert_eq!(field_indexes(&db).await, (2, 2));

    assert!(
        !store.index_field("posts", "nobody").await.unwrap(),
        "no document has it"
    );
    assert!(
        !store.index_field("posts", "email").await.unwrap(),
        "only another collection's documents have it"
    );
    assert_eq!(found_ids(store.as_ref(), "nobody", "1").await, None);
    assert!(store.index_field("posts", "tag").await.unwrap());
    assert!(
        !store.index_field("posts", "kind").await.unwrap(),
        "past the most"
    );
    assert!(
        store.index_field("posts", "userId").await.unwrap(),
        "built already"
    );
    assert_eq!(field_indexes(&db).await, (3, 3));

    // Another process, or the next start-up, uses them from its first list.
    let later = store::for_database(&db, 0, indexing);
    later.create_indexes().await.unwrap();
    assert_eq!(
        found_ids(later.as_ref(), "tag", "a").await.unwrap(),
        [json!(1)]
    );
    assert_eq!(
        found_ids(later.as_ref(), "userId", "2").await.unwrap(),
        [json!(2)]
    );
    assert_eq!(found_ids(later.as_ref(), "kind", "x").await, None);
}
