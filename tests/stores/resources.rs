//! The resources store contract: [`ResourceStore`] on both backends.

use echobase::resources::model::Document;
use echobase::resources::store::{self, Change, NewCollection, ResourceStore, StoreError};
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
    Some((guard, store::for_database(&db)))
}

async fn a_collection_keeps_its_documents_in_order_and_key_order(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    let posts = json!([{"id": 2, "zeta": 1, "alpha": 2}, {"id": 1, "b": [1, {"c": null}]}]);
    assert!(
        store
            .create("posts", NewCollection::Plural(documents(posts.clone())))
            .await
            .unwrap()
    );
    let read = store.documents("posts").await.unwrap().unwrap();
    assert_eq!(
        Value::from(
            read.clone()
                .into_iter()
                .map(Value::Object)
                .collect::<Vec<_>>()
        ),
        posts
    );
    assert_eq!(
        serde_json::to_string(&read[0]).unwrap(),
        r#"{"id":2,"zeta":1,"alpha":2}"#
    );
    assert_eq!(store.documents("nothing").await.unwrap(), None);
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
        .create("posts", NewCollection::Plural(Vec::new()))
        .await
        .unwrap();
    let first = store
        .insert("posts", document(json!({"title": "a"})))
        .await
        .unwrap();
    assert_eq!(first["id"], json!(1), "1 in an empty collection");
    store
        .insert("posts", document(json!({"id": 41})))
        .await
        .unwrap();
    let next = store
        .insert("posts", document(json!({"id": 0, "title": "b"})))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_string(&next).unwrap(),
        r#"{"id":42,"title":"b"}"#
    );
    assert_eq!(store.document("posts", "42").await.unwrap(), Some(next));
    store
        .create(
            "tags",
            NewCollection::Plural(documents(json!([{"id": "x"}]))),
        )
        .await
        .unwrap();
    let tag = store.insert("tags", Document::new()).await.unwrap();
    assert_eq!(tag["id"].as_str().map(str::len), Some(7), "{tag:?}");
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
        .create("posts", NewCollection::Plural(documents(posts)))
        .await
        .unwrap();
    let replaced = store
        .update(
            "posts",
            "2",
            document(json!({"b": 9, "id": 5})),
            Change::Replace,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::to_string(&replaced).unwrap(),
        r#"{"b":9,"id":2}"#
    );
    let merged = store
        .update(
            "posts",
            "1",
            document(json!({"c": 3, "a": 0})),
            Change::Merge,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::to_string(&merged).unwrap(),
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
            .update("posts", "9", Document::new(), Change::Merge)
            .await
            .unwrap(),
        None
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
        .create("comments", NewCollection::Plural(documents(comments)))
        .await
        .unwrap();
    assert!(store.delete("posts", "1").await.unwrap());
    assert!(!store.delete("posts", "1").await.unwrap());
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
        )
        .await
        .unwrap();
    assert_eq!(store.kind("profile").await.unwrap(), Some(true));
    assert_eq!(store.documents("profile").await.unwrap(), None);
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
                NewCollection::Plural(documents(json!([{"id": 1}])))
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .create(
                "posts",
                NewCollection::Plural(documents(json!([{"id": 2}])))
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

async fn concurrent_inserts_get_distinct_ids(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    store
        .create("posts", NewCollection::Plural(Vec::new()))
        .await
        .unwrap();
    let writers: Vec<_> = (0..20)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move { store.insert("posts", document(json!({"n": n}))).await })
        })
        .collect();
    let mut ids = Vec::new();
    for writer in writers {
        ids.push(writer.await.unwrap().unwrap()["id"].as_i64().unwrap());
    }
    ids.sort_unstable();
    assert_eq!(ids, (1..=20).collect::<Vec<i64>>());
    assert_eq!(store.documents("posts").await.unwrap().unwrap().len(), 20);
}
