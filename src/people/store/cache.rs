//! People read by id, in memory, in front of the SQLite store.
//!
//! Only on SQLite: one process serves a SQLite file and every write goes
//! through this process's store, so the cache can be kept exact. (Several
//! processes share a PostgreSQL database; a cache there would need every
//! other process's writes, so PostgreSQL reads go to the database.)
//!
//! Reads fill the cache; a replace or a delete evicts the person before its
//! caller is answered, so a read that starts after a write was answered sees
//! it. A create needs nothing: ids are never reused, so no entry can exist
//! for a new person. A read racing a write must not put the old row back
//! after the eviction: it fills the cache only if no write was evicted since
//! it started (the same rule as the messages cache). `quick_cache` bounds it
//! by the number of people.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use quick_cache::sync::Cache;

use super::{Expected, PersonStore, StoreError, WriteError};
use crate::people::model::{NewPerson, Person};
use crate::people::query::{Filter, ListQuery};

/// A [`PersonStore`] that answers `get` from memory when it can.
pub struct CachedPersonStore {
    inner: Arc<dyn PersonStore>,
    cache: Cache<i64, Person>,
    /// Counts evictions. Fills and evictions take the lock; hits do not.
    evictions: Mutex<u64>,
}

impl CachedPersonStore {
    /// Keeps up to `capacity` people.
    pub fn new(inner: Arc<dyn PersonStore>, capacity: usize) -> Self {
        CachedPersonStore {
            inner,
            cache: Cache::new(capacity),
            evictions: Mutex::new(0),
        }
    }

    fn evictions_so_far(&self) -> u64 {
        *self.evictions.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn evict(&self, id: i64) {
        let mut evictions = self.evictions.lock().unwrap_or_else(|e| e.into_inner());
        *evictions += 1;
        self.cache.remove(&id);
    }

    fn fill(&self, person: &Person, evictions_before_read: u64) {
        let evictions = self.evictions.lock().unwrap_or_else(|e| e.into_inner());
        if *evictions == evictions_before_read {
            self.cache.insert(person.id, person.clone());
        }
    }
}

#[async_trait]
impl PersonStore for CachedPersonStore {
    async fn create(&self, person: &NewPerson) -> Result<Person, StoreError> {
        self.inner.create(person).await
    }

    async fn create_many(&self, people: &[NewPerson]) -> Result<Vec<Person>, StoreError> {
        self.inner.create_many(people).await
    }

    async fn get(&self, id: i64) -> Result<Option<Person>, StoreError> {
        if let Some(hit) = self.cache.get(&id) {
            return Ok(Some(hit));
        }
        let evictions = self.evictions_so_far();
        let found = self.inner.get(id).await?;
        if let Some(person) = &found {
            self.fill(person, evictions);
        }
        Ok(found)
    }

    async fn replace(
        &self,
        id: i64,
        person: &NewPerson,
        expected: &Expected,
    ) -> Result<Person, WriteError> {
        let written = self.inner.replace(id, person, expected).await;
        // Whatever the outcome: an error may come after the commit.
        self.evict(id);
        written
    }

    async fn delete(&self, id: i64, expected: &Expected) -> Result<Person, WriteError> {
        let deleted = self.inner.delete(id, expected).await;
        self.evict(id);
        deleted
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<Person>, StoreError> {
        self.inner.list(query).await
    }

    async fn count(&self, filters: &[Filter]) -> Result<u64, StoreError> {
        self.inner.count(filters).await
    }

    async fn count_up_to(&self, filters: &[Filter], cap: u64) -> Result<u64, StoreError> {
        self.inner.count_up_to(filters, cap).await
    }

    async fn estimate_count(&self, filters: &[Filter]) -> Result<u64, StoreError> {
        self.inner.estimate_count(filters).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use tokio::sync::Notify;

    use super::*;
    use crate::people::model::{Age, Locale, PersonName};

    /// One person whose row the test changes; `get` can be held mid-read.
    struct OnePerson {
        row: Mutex<Person>,
        hold_reads: AtomicBool,
        read_done: Notify,
        release_read: Notify,
    }

    fn ann(version: i64) -> Person {
        Person {
            id: 1,
            name: "ann".into(),
            age: 30,
            locale: "en-GB".into(),
            version,
        }
    }

    #[async_trait]
    impl PersonStore for OnePerson {
        async fn create(&self, _: &NewPerson) -> Result<Person, StoreError> {
            unimplemented!("not used")
        }
        async fn create_many(&self, _: &[NewPerson]) -> Result<Vec<Person>, StoreError> {
            unimplemented!("not used")
        }
        async fn get(&self, _id: i64) -> Result<Option<Person>, StoreError> {
            let row = self.row.lock().unwrap().clone();
            if self.hold_reads.load(Ordering::SeqCst) {
                // The row is read; the caller is not answered until released.
                self.read_done.notify_one();
                self.release_read.notified().await;
            }
            Ok(Some(row))
        }
        async fn replace(
            &self,
            _id: i64,
            _: &NewPerson,
            _: &Expected,
        ) -> Result<Person, WriteError> {
            let mut row = self.row.lock().unwrap();
            *row = ann(row.version + 1);
            Ok(row.clone())
        }
        async fn delete(&self, _: i64, _: &Expected) -> Result<Person, WriteError> {
            unimplemented!("not used")
        }
        async fn list(&self, _: &ListQuery) -> Result<Vec<Person>, StoreError> {
            unimplemented!("not used")
        }
        async fn count(&self, _: &[Filter]) -> Result<u64, StoreError> {
            unimplemented!("not used")
        }
        async fn count_up_to(&self, _: &[Filter], _: u64) -> Result<u64, StoreError> {
            unimplemented!("not used")
        }
        async fn estimate_count(&self, _: &[Filter]) -> Result<u64, StoreError> {
            unimplemented!("not used")
        }
    }

    fn one_person() -> Arc<OnePerson> {
        Arc::new(OnePerson {
            row: Mutex::new(ann(1)),
            hold_reads: AtomicBool::new(false),
            read_done: Notify::new(),
            release_read: Notify::new(),
        })
    }

    fn any_person() -> NewPerson {
        NewPerson {
            name: PersonName::parse("ann").unwrap(),
            age: Age::new(31).unwrap(),
            locale: Locale::parse_tag("en-GB").unwrap(),
        }
    }

    #[tokio::test]
    async fn a_replace_evicts_the_cached_person() {
        let cached = CachedPersonStore::new(one_person(), 10);
        assert_eq!(cached.get(1).await.unwrap().unwrap().version, 1);
        cached
            .replace(1, &any_person(), &Expected::AnyVersion)
            .await
            .unwrap();
        assert_eq!(cached.get(1).await.unwrap().unwrap().version, 2);
    }

    #[tokio::test]
    async fn a_read_that_raced_a_replace_does_not_put_the_old_row_back() {
        let inner = one_person();
        let cached = Arc::new(CachedPersonStore::new(inner.clone(), 10));
        inner.hold_reads.store(true, Ordering::SeqCst);
        let reader = tokio::spawn({
            let cached = cached.clone();
            async move { cached.get(1).await.unwrap().unwrap().version }
        });
        // The reader has read version 1; the replace commits and evicts.
        inner.read_done.notified().await;
        inner.hold_reads.store(false, Ordering::SeqCst);
        cached
            .replace(1, &any_person(), &Expected::AnyVersion)
            .await
            .unwrap();
        inner.release_read.notify_one();
        assert_eq!(reader.await.unwrap(), 1, "the racing read saw the old row");
        assert_eq!(
            cached.get(1).await.unwrap().unwrap().version,
            2,
            "and did not cache it"
        );
    }
}
