//! The events summary as a query: how many events of each kind fell in each
//! calendar bucket of a range. The native summary (`/v1/events/summary`) and
//! the compatible one (`/summaryevents`) both ask this; each only turns the
//! answer into its own shape.

use std::collections::BTreeMap;

use super::buckets::{BucketError, Calendar};
use super::store::{EventFilter, EventStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The range does not cut into buckets (too many of them, or out of the calendar).
    #[error(transparent)]
    Buckets(#[from] BucketError),
}

/// Events per kind and bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketCounts {
    /// Bucket `i` is `[bounds[i], bounds[i + 1])`.
    pub bounds: Vec<i64>,
    /// The kinds counted: the filter's, or every stored kind.
    pub kinds: Vec<String>,
    /// Per bucket, the count of each kind that has events in it.
    pub counts: Vec<BTreeMap<String, i64>>,
}

impl BucketCounts {
    /// Events of `kind` in bucket `bucket`.
    pub fn count(&self, bucket: usize, kind: &str) -> i64 {
        self.counts
            .get(bucket)
            .and_then(|row| row.get(kind))
            .copied()
            .unwrap_or(0)
    }

    /// The kinds with events in the buckets from `first` on, alphabetically.
    pub fn present_kinds(&self, first: usize) -> Vec<String> {
        let mut present: Vec<String> = self
            .counts
            .iter()
            .skip(first)
            .flat_map(|row| row.keys().cloned())
            .collect();
        present.sort();
        present.dedup();
        present
    }
}

/// Whether the buckets start with one more, the bucket before the range's
/// first (so that the first bucket's change from the previous is real).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lead {
    None,
    PreviousBucket,
}

/// Counts the events matching `filter` per kind and whole bucket of
/// `calendar`. The range is the filter's `from`/`to`, each defaulting to the
/// first or last matching event; `None` when that range is empty. `from`/`to`
/// only choose the buckets: each bucket counts its whole calendar period.
pub async fn count_buckets(
    store: &dyn EventStore,
    filter: &EventFilter,
    calendar: &Calendar,
    lead: Lead,
) -> Result<Option<BucketCounts>, SummaryError> {
    let (from, to) = match (filter.from_ms, filter.to_ms) {
        (Some(from), Some(to)) => (from, to),
        (from, to) => match store.span(filter).await? {
            Some((first, last)) => (from.unwrap_or(first), to.unwrap_or(last + 1)),
            None => return Ok(None),
        },
    };
    if from >= to {
        return Ok(None);
    }
    let mut bounds = calendar.boundaries(from, to)?;
    if lead == Lead::PreviousBucket {
        bounds.insert(0, calendar.previous(bounds[0])?);
    }
    let kinds = if filter.kinds.is_empty() {
        store.kinds().await?
    } else {
        filter.kinds.clone()
    };
    let whole_buckets = EventFilter {
        from_ms: None,
        to_ms: None,
        ..filter.clone()
    };
    let found = store.bucket_counts(&whole_buckets, &bounds, &kinds).await?;
    let mut counts: Vec<BTreeMap<String, i64>> = vec![BTreeMap::new(); bounds.len() - 1];
    for count in found {
        if let Some(row) = counts.get_mut(count.bucket) {
            *row.entry(count.kind).or_default() += count.count;
        }
    }
    Ok(Some(BucketCounts {
        bounds,
        kinds,
        counts,
    }))
}
