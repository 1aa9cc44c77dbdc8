//! The echo key store contract: [`ServerKeyStore`] on both backends.

use echobase::config::Secret;
use echobase::echo::key::{self, ServerKeyStore};

use crate::common::Backend;

crate::on_both_backends!(
    first_candidate_is_stored,
    later_candidates_get_the_stored_key,
    concurrent_callers_all_get_the_same_key,
);

async fn first_candidate_is_stored(backend: Backend) {
    let Some((_db, db)) = crate::fresh_database(backend).await else {
        return;
    };
    let candidate = Secret::new("first");
    let stored = key::store_for(&db).get_or_insert(&candidate).await.unwrap();
    assert_eq!(stored, candidate);
}

async fn later_candidates_get_the_stored_key(backend: Backend) {
    let Some((_db, db)) = crate::fresh_database(backend).await else {
        return;
    };
    let store = key::store_for(&db);
    let first = store.get_or_insert(&Secret::new("first")).await.unwrap();
    let second = store.get_or_insert(&Secret::new("second")).await.unwrap();
    // A store made later (a restart, another process) gets it too.
    let third = key::store_for(&db)
        .get_or_insert(&key::generate())
        .await
        .unwrap();
    assert_eq!(first.expose(), "first");
    assert_eq!(second.expose(), "first");
    assert_eq!(third.expose(), "first");
}

async fn concurrent_callers_all_get_the_same_key(backend: Backend) {
    let Some((_db, db)) = crate::fresh_database(backend).await else {
        return;
    };
    let candidates: Vec<Secret> = (0..16).map(|_| key::generate()).collect();
    let callers = candidates.iter().cloned().map(|candidate| {
        let store: Box<dyn ServerKeyStore> = key::store_for(&db);
        tokio::spawn(async move { store.get_or_insert(&candidate).await })
    });
    let mut keys = Vec::new();
    for caller in callers.collect::<Vec<_>>() {
        keys.push(caller.await.unwrap().unwrap());
    }
    assert!(
        keys.iter().all(|k| *k == keys[0]),
        "one key for every caller"
    );
    assert!(
        candidates.contains(&keys[0]),
        "the key is one of the candidates"
    );
}
