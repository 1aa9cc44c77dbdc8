//! Hot messages in memory, in front of a store.
//!
//! Content is immutable (the key is its SHA-256), so a cached message is never
//! stale; only a delete can make it wrong, and deletes evict: this process's
//! own at once, other processes' (PostgreSQL) when their notification arrives
//! (`postgres::follow_deletes`). The cache is
//! `quick_cache` (sharded, S3-FIFO-like admission, bounded by a weight: here
//! the bytes held), which is small, has no dependency beyond what the tree
//! already has, and is kept up to date; a hand-rolled sharded LRU would be as
//! much code as this file for a worse eviction policy.
//!
//! Only reads fill the cache: a write is not a sign that the message will be
//! read, and filling on writes would evict the messages that are.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::{MessageInfo, MessageStore, PutOutcome, StoreError, StoredMessage};
use crate::messages::model::{Content, Digest};

/// Bookkeeping bytes counted per entry on top of the content.
const ENTRY_OVERHEAD: u64 = 128;
/// The largest message worth caching is this fraction of the cache.
const LARGEST_ITEM_FRACTION: usize = 64;

#[derive(Debug, Clone, Copy)]
struct ByBytes;

impl Weighter<Digest, StoredMessage> for ByBytes {
    fn weight(&self, _digest: &Digest, message: &StoredMessage) -> u64 {
        (message.content.len() + message.content_type.len()) as u64 + ENTRY_OVERHEAD
    }
}

/// A [`MessageStore`] that answers `get`, `info` and `sizes` from memory when
/// it can.
pub struct CachedStore {
    inner: Arc<dyn MessageStore>,
    cache: Cache<Digest, StoredMessage, ByBytes>,
    largest_item: usize,
    /// Counts deletes. A read fills the cache only if no delete happened
    /// since it started, so a read racing a delete cannot put the deleted
    /// message back; fills and deletes take the lock, hits do not.
    deletes: Mutex<u64>,
}

impl CachedStore {
    /// A cache holding up to about `capacity_bytes` of messages.
    pub fn new(inner: Arc<dyn MessageStore>, capacity_bytes: usize) -> Self {
        // A guess at the number of entries, for the initial table size.
        let estimated_items = (capacity_bytes / 4096).clamp(64, 1 << 20);
        CachedStore {
            inner,
            cache: Cache::with_weighter(estimated_items, capacity_bytes as u64, ByBytes),
            largest_item: capacity_bytes / LARGEST_ITEM_FRACTION,
            deletes: Mutex::new(0),
        }
    }

    /// Forgets a message deleted elsewhere (another process, by hand).
    pub fn evict(&self, digest: &Digest) {
        let mut deletes = self.deletes.lock().unwrap_or_else(|e| e.into_inner());
        *deletes += 1;
        self.cache.remove(digest);
    }

    /// Forgets everything: deletes may have been missed.
    pub fn clear(&self) {
        let mut deletes = self.deletes.lock().unwrap_or_else(|e| e.into_inner());
        *deletes += 1;
        self.cache.clear();
    }

    fn deletes_so_far(&self) -> u64 {
        *self.deletes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fill(&self, digest: Digest, message: &StoredMessage, deletes_before_read: u64) {
        if message.content.len() > self.largest_item {
            return;
        }
        let deletes = self.deletes.lock().unwrap_or_else(|e| e.into_inner());
        if *deletes == deletes_before_read {
            self.cache.insert(digest, message.clone());
        }
    }
}

#[async_trait]
impl MessageStore for CachedStore {
    async fn put(&self, content: Content, content_type: String) -> Result<PutOutcome, StoreError> {
        self.inner.put(content, content_type).await
    }

    async fn get(&self, digest: &Digest) -> Result<Option<StoredMessage>, StoreError> {
        if let Some(hit) = self.cache.get(digest) {
            return Ok(Some(hit));
        }
        let deletes = self.deletes_so_far();
        let found = self.inner.get(digest).await?;
        if let Some(message) = &found {
            self.fill(*digest, message, deletes);
        }
        Ok(found)
    }

    async fn info(&self, digest: &Digest) -> Result<Option<MessageInfo>, StoreError> {
        if let Some(hit) = self.cache.get(digest) {
            return Ok(Some(MessageInfo {
                size: hit.content.len() as u64,
                content_type: hit.content_type,
            }));
        }
        self.inner.info(digest).await
    }

    async fn sizes(&self, digests: &[Digest]) -> Result<Vec<(Digest, u64)>, StoreError> {
        let mut found = Vec::with_capacity(digests.len());
        let mut unknown = Vec::new();
        for digest in digests {
            match self.cache.get(digest) {
                Some(hit) => found.push((*digest, hit.content.len() as u64)),
                None => unknown.push(*digest),
            }
        }
        if !unknown.is_empty() {
            found.extend(self.inner.sizes(&unknown).await?);
        }
        Ok(found)
    }

    async fn delete(&self, digest: &Digest) -> Result<bool, StoreError> {
        let deleted = self.inner.delete(digest).await;
        // Evict even if the delete failed: it may have committed anyway.
        self.evict(digest);
        deleted
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A store of one message that counts reads of the backend.
    #[derive(Default)]
    struct One {
        message: Mutex<Option<StoredMessage>>,
        reads: AtomicUsize,
    }

    #[async_trait]
    impl MessageStore for One {
        async fn put(
            &self,
            content: Content,
            content_type: String,
        ) -> Result<PutOutcome, StoreError> {
            *self.message.lock().unwrap() = Some(StoredMessage {
                content: content.bytes().clone(),
                content_type,
            });
            Ok(PutOutcome::Created)
        }
        async fn get(&self, _: &Digest) -> Result<Option<StoredMessage>, StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(self.message.lock().unwrap().clone())
        }
        async fn info(&self, _: &Digest) -> Result<Option<MessageInfo>, StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(None)
        }
        async fn sizes(&self, _: &[Digest]) -> Result<Vec<(Digest, u64)>, StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(Vec::new())
        }
        async fn delete(&self, _: &Digest) -> Result<bool, StoreError> {
            Ok(self.message.lock().unwrap().take().is_some())
        }
    }

    #[tokio::test]
    async fn a_second_read_is_served_from_memory_until_a_delete() {
        let inner = Arc::new(One::default());
        let cached = CachedStore::new(inner.clone(), 1 << 20);
        let content = Content::new(&b"hot"[..]);
        let digest = content.digest();
        cached.put(content, "text/plain".into()).await.unwrap();

        assert!(cached.get(&digest).await.unwrap().is_some());
        assert!(cached.get(&digest).await.unwrap().is_some());
        assert_eq!(cached.info(&digest).await.unwrap().map(|i| i.size), Some(3));
        assert_eq!(cached.sizes(&[digest]).await.unwrap(), vec![(digest, 3)]);
        assert_eq!(inner.reads.load(Ordering::SeqCst), 1, "one backend read");

        assert!(cached.delete(&digest).await.unwrap());
        assert_eq!(cached.get(&digest).await.unwrap(), None);
        assert_eq!(inner.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_read_that_raced_a_delete_does_not_fill_the_cache() {
        let inner = Arc::new(One::default());
        let cached = CachedStore::new(inner.clone(), 1 << 20);
        let content = Content::new(&b"gone"[..]);
        let digest = content.digest();
        let message = StoredMessage {
            content: content.bytes().clone(),
            content_type: "text/plain".into(),
        };
        let before = cached.deletes_so_far();
        cached.delete(&digest).await.unwrap();
        cached.fill(digest, &message, before);
        assert!(cached.cache.get(&digest).is_none());
    }

    #[tokio::test]
    async fn messages_larger_than_a_fraction_of_the_cache_are_not_kept() {
        let inner = Arc::new(One::default());
        let cached = CachedStore::new(inner.clone(), 64 * 1024);
        let content = Content::new(vec![7u8; 2048]);
        let digest = content.digest();
        cached
            .put(content, "application/octet-stream".into())
            .await
            .unwrap();
        cached.get(&digest).await.unwrap();
        cached.get(&digest).await.unwrap();
        assert_eq!(inner.reads.load(Ordering::SeqCst), 2);
    }
}
