//! The `MessageStore` contract: each case runs on SQLite and PostgreSQL, and
//! on each both bare and behind the cache (`messages.cache_size`), each on a
//! fresh database.

use std::sync::Arc;

use echobase::messages::model::{Content, Digest};
use echobase::messages::store::{self, MessageStore, PutOutcome, StoreOptions};

use crate::common::{Backend, TestDatabase};
use crate::on_both_backends;

on_both_backends!(
    put_then_get_returns_the_bytes_and_the_content_type,
    putting_the_same_content_again_changes_nothing,
    an_unknown_digest_is_not_found,
    empty_content_is_a_message_like_any_other,
    sizes_answers_only_for_stored_digests,
    delete_removes_the_message_and_says_whether_there_was_one,
    deleted_content_can_be_stored_again,
    concurrent_puts_of_new_content_create_it_once,
);

/// The store bare and the store behind the cache, each on a database of its
/// own (kept as long as the store is used).
async fn stores(backend: Backend) -> Vec<(TestDatabase, Arc<dyn MessageStore>)> {
    let mut stores = Vec::new();
    for cache_bytes in [0, 1 << 20] {
        let Some((guard, db)) = crate::fresh_database(backend).await else {
            return Vec::new();
        };
        let store = store::for_database(&db, StoreOptions { cache_bytes })
            .await
            .expect("store opens");
        stores.push((guard, store));
    }
    stores
}

const BINARY: &str = "application/octet-stream";

async fn put_then_get_returns_the_bytes_and_the_content_type(backend: Backend) {
    for (_db, store) in stores(backend).await {
        let all_bytes: Vec<u8> = (0..=255u8).collect();
        let content = Content::new(all_bytes.clone());
        let digest = content.digest();
        assert_eq!(digest, Digest::of(&all_bytes));
        let outcome = store.put(content, BINARY.into()).await.unwrap();
        assert_eq!(outcome, PutOutcome::Created);

        let stored = store.get(&digest).await.unwrap().expect("stored");
        assert_eq!(
            stored.content.to_vec(),
            all_bytes,
            "every byte value survives"
        );
        assert_eq!(stored.content_type, BINARY);
        let info = store.info(&digest).await.unwrap().expect("stored");
        assert_eq!((info.size, info.content_type.as_str()), (256, BINARY));
    }
}

async fn putting_the_same_content_again_changes_nothing(backend: Backend) {
    for (_db, store) in stores(backend).await {
        let content = Content::new(b"twice".to_vec());
        let digest = content.digest();
        store.put(content.clone(), BINARY.into()).await.unwrap();
        let again = store.put(content, "text/plain".into()).await.unwrap();
        assert_eq!(again, PutOutcome::AlreadyStored);
        // Not even the content type changes.
        let stored = store.get(&digest).await.unwrap().expect("stored");
        assert_eq!(stored.content_type, BINARY);
        assert_eq!(store.sizes(&[digest]).await.unwrap(), vec![(digest, 5)]);
    }
}

async fn an_unknown_digest_is_not_found(backend: Backend) {
    for (_db, store) in stores(backend).await {
        store
            .put(Content::new(b"something else".to_vec()), BINARY.into())
            .await
            .unwrap();
        let never = Digest::of(b"never stored");
        assert_eq!(store.get(&never).await.unwrap(), None);
        assert_eq!(store.info(&never).await.unwrap(), None);
        assert!(store.sizes(&[never]).await.unwrap().is_empty());
        assert!(!store.delete(&never).await.unwrap());
    }
}

async fn empty_content_is_a_message_like_any_other(backend: Backend) {
    for (_db, store) in stores(backend).await {
        let empty = Content::new(Vec::new());
        let outcome = store.put(empty.clone(), "text/plain".into()).await.unwrap();
        assert_eq!(outcome, PutOutcome::Created);
        let stored = store.get(&empty.digest()).await.unwrap().expect("stored");
        assert!(stored.content.is_empty());
        let info = store.info(&empty.digest()).await.unwrap().expect("stored");
        assert_eq!((info.size, info.content_type.as_str()), (0, "text/plain"));
    }
}

async fn sizes_answers_only_for_stored_digests(backend: Backend) {
    for (_db, store) in stores(backend).await {
        let small = Content::new(b"abc".to_vec());
        let large = Content::new(vec![7u8; 1000]);
        store.put(small.clone(), BINARY.into()).await.unwrap();
        store.put(large.clone(), BINARY.into()).await.unwrap();
        let never = Digest::of(b"never stored");

        let mut sizes = store
            .sizes(&[never, large.digest(), small.digest()])
            .await
            .unwrap();
        sizes.sort_by_key(|(_, size)| *size);
        assert_eq!(sizes, vec![(small.digest(), 3), (large.digest(), 1000)]);
        assert!(store.sizes(&[]).await.unwrap().is_empty());
    }
}

async fn delete_removes_the_message_and_says_whether_there_was_one(backend: Backend) {
    for (_db, store) in stores(backend).await {
        let kept = Content::new(b"kept".to_vec());
        let gone = Content::new(b"gone".to_vec());
        store.put(kept.clone(), BINARY.into()).await.unwrap();
        store.put(gone.clone(), BINARY.into()).await.unwrap();
        // Read once, so that a cache in front holds it.
        assert!(store.get(&gone.digest()).await.unwrap().is_some());

        assert!(store.delete(&gone.digest()).await.unwrap());
        assert!(!store.delete(&gone.digest()).await.unwrap(), "already gone");
        assert_eq!(store.get(&gone.digest()).await.unwrap(), None);
        assert_eq!(store.info(&gone.digest()).await.unwrap(), None);
        assert!(store.sizes(&[gone.digest()]).await.unwrap().is_empty());
        assert!(
            store.get(&kept.digest()).await.unwrap().is_some(),
            "others stay"
        );
    }
}

async fn deleted_content_can_be_stored_again(backend: Backend) {
    for (_db, store) in stores(backend).await {
        let content = Content::new(b"back again".to_vec());
        let digest = content.digest();
        store.put(content.clone(), BINARY.into()).await.unwrap();
        assert!(store.delete(&digest).await.unwrap());
        let outcome = store.put(content, "text/plain".into()).await.unwrap();
        assert_eq!(outcome, PutOutcome::Created);
        let stored = store.get(&digest).await.unwrap().expect("stored again");
        assert_eq!(stored.content_type, "text/plain");
    }
}

async fn concurrent_puts_of_new_content_create_it_once(backend: Backend) {
    for (_db, store) in stores(backend).await {
        let raced = Content::new(b"raced".to_vec());
        let outcomes = futures_util::future::join_all(
            (0..8).map(|_| store.put(raced.clone(), "text/plain".into())),
        )
        .await;
        let created = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(PutOutcome::Created)))
            .count();
        assert_eq!(created, 1, "{outcomes:?}");
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
        assert_eq!(
            store.sizes(&[raced.digest()]).await.unwrap(),
            vec![(raced.digest(), 5)]
        );
    }
}

/// The SQLite store reads its digest index in the background, so that a
/// server with millions of messages starts at once: a read or a write asked
/// the moment the store opens waits for the index. A message stored before
/// is then found, and storing it again creates nothing.
#[tokio::test]
async fn sqlite_reads_and_writes_wait_for_the_digest_index() {
    let Some((_guard, db)) = crate::fresh_database(Backend::Sqlite).await else {
        return;
    };
    let echobase::db::Database::Sqlite(pool) = &db else {
        panic!("a SQLite database");
    };
    // Enough rows that reading them all takes a while; then the one asked for.
    for insert in [
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
         INSERT INTO message_contents (id, content) SELECT i, x'' FROM n",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
         INSERT INTO messages (id, digest, size, content_type, created_at_ms) \
         SELECT i, randomblob(32), 0, 'application/octet-stream', 0 FROM n",
    ] {
        sqlx::query(insert)
            .execute(pool)
            .await
            .expect("filler rows");
    }
    let needle = Content::new(b"stored before the store opened".to_vec());
    sqlx::query("INSERT INTO message_contents (id, content) VALUES (100001, $1)")
        .bind(needle.bytes().as_ref())
        .execute(pool)
        .await
        .expect("content row");
    sqlx::query(
        "INSERT INTO messages (id, digest, size, content_type, created_at_ms) \
         VALUES (100001, $1, $2, 'text/plain', 0)",
    )
    .bind(needle.digest().as_bytes().as_slice())
    .bind(needle.len() as i64)
    .execute(pool)
    .await
    .expect("message row");

    let store = store::for_database(&db, StoreOptions { cache_bytes: 0 })
        .await
        .expect("store opens");
    let again = store
        .put(needle.clone(), BINARY.to_owned())
        .await
        .expect("put");
    assert_eq!(again, PutOutcome::AlreadyStored);
    let found = store.get(&needle.digest()).await.expect("get");
    assert_eq!(found.map(|m| m.content_type), Some("text/plain".to_owned()));
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(pool)
        .await
        .expect("count");
    assert_eq!(rows, 100_001);
}
