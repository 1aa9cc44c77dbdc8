//! Where each digest lives in the SQLite file: digest -> row id, in memory.
//!
//! The SQLite tables have no index on the digest. A digest is random, so a
//! B-tree index on it takes every insert on a different page: each message
//! then cost a 4 KiB index page written to the WAL at commit and again at the
//! checkpoint, and that capped durable writes near 15,000/s on this machine
//! however the commits were grouped (`bench/sqlite-ceiling.py`). Rows are
//! appended in id order instead, and this map finds them (the "keydir" of
//! Bitcask-style stores). It is rebuilt from the rows' digests at start-up.
//!
//! It keys on the digest's first 8 bytes, 17 bytes a message in the table
//! rather than 41 for the whole digest, so the map can name several rows: a
//! caller reads the row and compares the whole digest. Two stored digests
//! share 8 bytes only by chance (about 1 in 10^19 a pair) or because someone
//! searched for such a pair (2^32 hashes); either way both rows stay found.
//! A random hash seed keeps crafted digests from piling into one bucket.

use std::collections::HashMap;

use crate::messages::model::Digest;

#[derive(Debug, Default)]
pub struct DigestIndex {
    /// The row of each prefix: for almost every digest, the only one.
    first: HashMap<u64, i64>,
    /// Further rows whose digests share a prefix already in `first`.
    more: HashMap<u64, Vec<i64>>,
}

fn prefix(digest: &Digest) -> u64 {
    let bytes = digest.as_bytes();
    u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ])
}

impl DigestIndex {
    /// The rows that may hold `digest`: read them and compare the digest.
    pub fn candidates(&self, digest: &Digest) -> Vec<i64> {
        let key = prefix(digest);
        let mut ids: Vec<i64> = self.first.get(&key).copied().into_iter().collect();
        if let Some(more) = self.more.get(&key) {
            ids.extend_from_slice(more);
        }
        ids
    }

    /// Records that row `id` holds `digest`.
    pub fn insert(&mut self, digest: &Digest, id: i64) {
        let key = prefix(digest);
        match self.first.get(&key) {
            None => {
                self.first.insert(key, id);
            }
            Some(&existing) if existing == id => {}
            Some(_) => self.more.entry(key).or_default().push(id),
        }
    }

    /// Forgets row `id` (which held `digest`).
    pub fn remove(&mut self, digest: &Digest, id: i64) {
        let key = prefix(digest);
        let promoted = match self.more.get_mut(&key) {
            Some(more) => {
                more.retain(|&other| other != id);
                let next = if self.first.get(&key) == Some(&id) {
                    more.pop()
                } else {
                    None
                };
                if more.is_empty() {
                    self.more.remove(&key);
                }
                next
            }
            None => None,
        };
        if self.first.get(&key) == Some(&id) {
            match promoted {
                Some(next) => self.first.insert(key, next),
                None => self.first.remove(&key),
            };
        }
    }

    /// Rows recorded.
    pub fn len(&self) -> usize {
        self.first.len() + self.more.values().map(Vec::len).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A digest whose first 8 bytes are `prefix_byte` repeated, the rest `tail`.
    fn digest(prefix_byte: u8, tail: u8) -> Digest {
        let mut bytes = [tail; 32];
        bytes[..8].fill(prefix_byte);
        Digest::from_bytes(&bytes).unwrap()
    }

    #[test]
    fn finds_what_was_inserted_and_forgets_what_was_removed() {
        let mut index = DigestIndex::default();
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        index.insert(&a, 1);
        index.insert(&b, 2);
        assert_eq!(index.candidates(&a), vec![1]);
        assert_eq!(index.candidates(&b), vec![2]);
        assert!(index.candidates(&Digest::of(b"c")).is_empty());
        index.remove(&a, 1);
        assert!(index.candidates(&a).is_empty());
        assert_eq!(index.candidates(&b), vec![2]);
        assert_eq!(index.len(), 1);
    }

    #[test]
    fn digests_sharing_a_prefix_are_all_candidates_and_survive_each_others_removal() {
        let mut index = DigestIndex::default();
        let (x, y, z) = (digest(7, 1), digest(7, 2), digest(7, 3));
        index.insert(&x, 10);
        index.insert(&y, 11);
        index.insert(&z, 12);
        assert_eq!(index.candidates(&x), vec![10, 11, 12]);
        assert_eq!(index.len(), 3);

        // Removing the first row promotes one of the others.
        index.remove(&x, 10);
        let mut left = index.candidates(&y);
        left.sort_unstable();
        assert_eq!(left, vec![11, 12]);
        index.remove(&z, 12);
        assert_eq!(index.candidates(&y), vec![11]);
        index.remove(&y, 11);
        assert!(index.candidates(&y).is_empty());
        assert_eq!(index.len(), 0);
        assert!(index.more.is_empty());
    }

    #[test]
    fn inserting_the_same_row_twice_records_it_once() {
        let mut index = DigestIndex::default();
        let a = Digest::of(b"a");
        index.insert(&a, 5);
        index.insert(&a, 5);
        assert_eq!(index.candidates(&a), vec![5]);
    }
}
