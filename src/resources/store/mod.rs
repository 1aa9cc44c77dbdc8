//! Where resources live: one trait, a SQLite and a PostgreSQL
//! implementation, and one contract test suite (`tests/stores/resources.rs`)
//! run against both.
//!
//! Every write is a [`Job`], applied by the same SQL on both backends
//! ([`sql_store!`]); what differs is how jobs reach the database. SQLite has
//! one writer at a time, so its jobs queue for one writer task that commits
//! them in groups ([`crate::db::group_commit`]). PostgreSQL runs each job in
//! its own transaction and locks the collection's row (`SELECT … FOR
//! UPDATE`), so writers of one collection take turns across every process.
//!
//! Reads are served from parsed snapshots of whole collections ([`Cache`]).
//! A SQLite file is served by one process, whose writer drops a snapshot
//! when it commits a change to it: a snapshot is then good until it is
//! dropped. On PostgreSQL other processes write too, so a snapshot is
//! checked against its collection's stored version on every read.

mod postgres;
mod sqlite;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

pub use postgres::PostgresResourceStore;
pub use sqlite::SqliteResourceStore;

use super::model::{self, Document, ID};
use super::schema::{self, Validators, Violation};
use crate::db::Database;
use crate::db::group_commit::GroupCommitError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("resources storage failed: {0}")]
    Backend(#[from] sqlx::Error),
    #[error("resources storage failed: {0}")]
    Writer(#[from] GroupCommitError),
    #[error("a stored document is not JSON: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("no collection named `{0}`")]
    NoCollection(String),
    #[error("`{collection}` already holds a document with id `{id}`")]
    DuplicateId { collection: String, id: String },
    /// The document does not meet its collection's schema.
    #[error("the document does not meet the collection's schema")]
    Invalid(Vec<Violation>),
    #[error("the collection's schema: {0}")]
    BadSchema(String),
    /// A bug: a write answered with what another kind of write returns.
    #[error("internal: {0}")]
    Internal(String),
}

impl StoreError {
    /// Whether the database could not be reached at all: a 503 to retry.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Backend(error) if crate::db::is_unavailable(error))
    }

    /// Whether the job found this before writing anything, so that the
    /// other jobs of its group can still be committed.
    fn is_refusal(&self) -> bool {
        matches!(
            self,
            StoreError::NoCollection(_)
                | StoreError::DuplicateId { .. }
                | StoreError::Invalid(_)
                | StoreError::BadSchema(_)
        )
    }
}

/// A collection as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CollectionInfo {
    pub name: String,
    /// Whether it is one document (a top-level object in db.json) rather
    /// than a collection of them.
    pub singular: bool,
    /// Documents held (1 for a singular resource).
    pub documents: i64,
    /// The JSON Schema its documents meet, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub schema: Option<Value>,
}

/// What a name holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A collection of documents (a top-level array in db.json).
    Plural,
    /// One document (a top-level object in db.json).
    Singular,
}

impl Kind {
    fn of(singular: bool) -> Kind {
        if singular {
            Kind::Singular
        } else {
            Kind::Plural
        }
    }
}

/// What a new collection starts with.
#[derive(Debug, Clone)]
pub enum NewCollection {
    /// Documents in order; each has an id or is given one.
    Plural(Vec<Document>),
    Singular(Document),
}

/// How a write changes a stored document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// `PUT`: the body becomes the document (its id kept).
    Replace,
    /// `PATCH`: the body's properties are assigned to the document.
    Merge,
    /// `PATCH` as `application/merge-patch+json` (RFC 7396): objects merge
    /// at every depth and `null` removes a property.
    MergePatch,
}

/// A document with its entity tag: a digest of its stored text, so equal
/// content has an equal tag on every process.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub document: Document,
    pub etag: String,
}

/// Which stored documents a write may change (`If-Match`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Expected {
    /// Any (no `If-Match`, or `*`).
    #[default]
    Any,
    /// Only one whose entity tag is among these.
    Tags(Vec<String>),
}

impl Expected {
    fn allows(&self, etag: &str) -> bool {
        match self {
            Expected::Any => true,
            Expected::Tags(tags) => tags.iter().any(|tag| tag == etag),
        }
    }
}

/// What a conditional write found.
#[derive(Debug, Clone, PartialEq)]
pub enum Written<T> {
    /// No such document (or collection).
    Missing,
    /// It changed since the client read it: its current tag.
    Stale(String),
    Done(T),
}

/// A committed change, as `GET /v1/collections/{name}/events` sends it to
/// every client watching the collection, on every process.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CollectionEvent {
    pub collection: String,
    pub change: ChangeKind,
    /// The document's id, for a change of one document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// What a [`CollectionEvent`] says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Created,
    Dropped,
    Inserted,
    Updated,
    Deleted,
    /// A singular resource's document was set or changed.
    Set,
    /// Changes may have been missed (a watcher fell behind, or this process
    /// lost its connection to the other processes' changes): read again.
    Reset,
}

impl ChangeKind {
    /// The name of the server-sent event.
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Dropped => "dropped",
            ChangeKind::Inserted => "inserted",
            ChangeKind::Updated => "updated",
            ChangeKind::Deleted => "deleted",
            ChangeKind::Set => "set",
            ChangeKind::Reset => "reset",
        }
    }
}

/// The change events of one job: published once its transaction commits.
fn event(collection: &str, change: ChangeKind, id: Option<&str>) -> CollectionEvent {
    CollectionEvent {
        collection: collection.to_owned(),
        change,
        id: id.map(str::to_owned),
    }
}

/// Events a watcher may fall behind by before it is told to read again.
const EVENT_BUFFER: usize = 1024;

/// The PostgreSQL channel every process's committed changes are sent on.
const EVENTS_CHANNEL: &str = "echobase_resources";

/// A collection's documents as of one version, parsed, in insertion order,
/// with their entity tags and an index by id.
#[derive(Debug, Default)]
pub struct Snapshot {
    documents: Vec<Document>,
    etags: Vec<String>,
    /// Each document's stored position, ascending: what a cursor names.
    positions: Vec<i64>,
    /// Each document's place, by its id's text.
    places: HashMap<String, usize>,
}

impl Snapshot {
    /// From the rows' positions and bodies, in position order.
    fn of_rows(rows: &[(i64, String)]) -> Result<Snapshot, StoreError> {
        let mut snapshot = Snapshot {
            documents: Vec::with_capacity(rows.len()),
            etags: Vec::with_capacity(rows.len()),
            positions: Vec::with_capacity(rows.len()),
            places: HashMap::with_capacity(rows.len()),
        };
        for (position, body) in rows {
            let document = parse(body)?;
            if let Some(id) = model::id_text(&document) {
                snapshot.places.insert(id, snapshot.documents.len());
            }
            snapshot.documents.push(document);
            snapshot.etags.push(etag_of(body));
            snapshot.positions.push(*position);
        }
        Ok(snapshot)
    }

    /// The stored positions of the documents, in their order.
    pub fn positions(&self) -> &[i64] {
        &self.positions
    }

    /// The document whose id reads `id`, with its tag.
    pub fn get(&self, id: &str) -> Option<Stored> {
        let place = *self.places.get(id)?;
        Some(Stored {
            document: self.documents.get(place)?.clone(),
            etag: self.etags.get(place)?.clone(),
        })
    }
}

impl std::ops::Deref for Snapshot {
    type Target = [Document];

    fn deref(&self) -> &[Document] {
        &self.documents
    }
}

/// Resources, as the routes use them.
#[async_trait]
pub trait ResourceStore: Send + Sync + std::fmt::Debug {
    /// Every collection, in creation order.
    async fn collections(&self) -> Result<Vec<CollectionInfo>, StoreError>;
    /// What `name` holds, if it exists.
    async fn kind(&self, name: &str) -> Result<Option<Kind>, StoreError>;
    /// Creates `name` with its first documents in one transaction; `false`
    /// (and nothing written) when it exists already. With a `schema`, every
    /// document written to it must meet it, the first ones included.
    async fn create(
        &self,
        name: &str,
        content: NewCollection,
        schema: Option<&Value>,
    ) -> Result<bool, StoreError>;
    /// Removes a collection and its documents; `false` when there was none.
    async fn drop_collection(&self, name: &str) -> Result<bool, StoreError>;
    /// A collection's documents in insertion order (`None`: no such
    /// collection, or a singular one). Kept parsed in memory while the
    /// collection is unchanged, within `resources.cached_documents`.
    async fn documents(&self, name: &str) -> Result<Option<Arc<Snapshot>>, StoreError>;
    /// The documents of a collection too large to keep in memory that meet
    /// every equality filter (json-server's `field=value`: the field's text
    /// is one of the values), counted and cut by the database: how many
    /// match, and those at the places `window` picks from that count, in
    /// insertion order. `None` when the collection is better listed from
    /// [`ResourceStore::documents`]: it fits in memory, a field has no
    /// index (yet: see [`Indexing`]), or a field holds values (arrays,
    /// fractions) whose text only json-server's rules give.
    async fn find(
        &self,
        name: &str,
        filters: &[(&str, &[String])],
        cut: Cut<'_>,
    ) -> Result<Option<Found>, StoreError>;
    /// Creates the index of each `resources.indexes` field that lacks one,
    /// and takes up the fields indexed automatically before.
    async fn create_indexes(&self) -> Result<(), StoreError>;
    /// Builds `field`'s index as one asked for by lists of `collection`
    /// (`resources.auto_index_after`): unless no document of `collection`
    /// has the field, or `resources.auto_index_max` fields are indexed that
    /// way already. True when the field has an index afterwards.
    async fn index_field(&self, collection: &str, field: &str) -> Result<bool, StoreError>;
    /// Every change committed from now on, by any process on the database,
    /// in commit order for the changes of one process.
    async fn watch(&self) -> Result<tokio::sync::broadcast::Receiver<CollectionEvent>, StoreError>;
    /// One document by its id's text.
    async fn document(&self, name: &str, id: &str) -> Result<Option<Stored>, StoreError>;
    /// Appends `document`, with its id or json-server's next one.
    async fn insert(&self, name: &str, document: Document) -> Result<Stored, StoreError>;
    /// Appends `documents` in order, each with its id or the next one, all
    /// or none: one taken id or one document that does not meet the schema
    /// refuses the batch (a violation's field starts with the document's
    /// place, `[3].title`).
    async fn insert_many(
        &self,
        name: &str,
        documents: Vec<Document>,
    ) -> Result<Vec<Stored>, StoreError>;
    /// Changes a document, keeping its id and its place.
    async fn update(
        &self,
        name: &str,
        id: &str,
        body: Document,
        change: Change,
        expected: &Expected,
    ) -> Result<Written<Stored>, StoreError>;
    /// Removes a document, and the documents of any collection that name it
    /// (`postId` for a post), as json-server does.
    async fn delete(
        &self,
        name: &str,
        id: &str,
        expected: &Expected,
    ) -> Result<Written<()>, StoreError>;
    /// A singular resource's document.
    async fn singular(&self, name: &str) -> Result<Option<Document>, StoreError>;
    /// Sets or changes a singular resource's document; `None` if absent.
    async fn set_singular(
        &self,
        name: &str,
        body: Document,
        change: Change,
    ) -> Result<Option<Document>, StoreError>;
}

/// Which of a count of matching documents a list answers with.
pub type Window<'a> = &'a (dyn Fn(usize) -> std::ops::Range<usize> + Send + Sync);

/// Which matching documents [`ResourceStore::find`] reads.
#[derive(Clone, Copy)]
pub enum Cut<'a> {
    /// json-server's paging: the matches are counted, and the window picks
    /// from the count.
    Window(Window<'a>),
    /// A cursor's page: at most `limit` after the document at `position`,
    /// uncounted (one more is read, to know whether any follow).
    After { position: i64, limit: usize },
}

/// What [`ResourceStore::find`] found.
#[derive(Debug)]
pub struct Found {
    /// How many documents match (0 for a cursor's page, which is not
    /// counted).
    pub total: usize,
    /// Those picked, in insertion order.
    pub documents: Vec<Document>,
    /// Their stored positions.
    pub positions: Vec<i64>,
}

/// The store for `db`, keeping at most `cached_documents` documents parsed
/// in memory (0: none), with the indexes `indexing` names or asks for.
pub fn for_database(
    db: &Database,
    cached_documents: usize,
    indexing: Indexing,
) -> Arc<dyn ResourceStore> {
    let cache = Arc::new(Cache::new(cached_documents));
    let indexed = Indexed::new(indexing);
    match db {
        Database::Sqlite(pool) => Arc::new(SqliteResourceStore::new(pool.clone(), cache, indexed)),
        Database::Postgres(pool) => {
            Arc::new(PostgresResourceStore::new(pool.clone(), cache, indexed))
        }
    }
}

/// Which fields get an index: those named (`resources.indexes`), and those
/// filtered often (`resources.auto_index_after`, `resources.auto_index_max`).
#[derive(Debug, Clone, Default)]
pub struct Indexing {
    pub fields: Vec<String>,
    /// Lists a field's filter went unanswered by an index before the field
    /// gets one (0: never).
    pub automatic_after: u32,
    /// Most fields indexed automatically, over every process and start-up.
    pub automatic_max: usize,
}

impl Indexing {
    /// Indexes for these fields, and none created automatically.
    pub fn fields(fields: &[String]) -> Indexing {
        Indexing {
            fields: fields.to_vec(),
            ..Indexing::default()
        }
    }
}

/// The fields with an index of their own, each answering `field=value`
/// over every collection.
///
/// An index holds each document's *key* for the field: `'s'` and the text
/// json-server compares (`String(value)`) where SQL can write that text as
/// JavaScript does (text, booleans, whole numbers up to 2^53), `'n'` for
/// `null`, `'m'` for anything else (arrays, objects, fractions, larger
/// numbers), and SQL `NULL` where the field is missing. A filter is then an
/// index lookup of `'s' || value`, exact wherever no document holds `'m'`.
/// The keys' SQL (`$store::field_key`) is the backend's; the query repeats
/// it word for word, which is how the database knows to use the index.
///
/// The set grows while the process runs: a field filtered often by lists
/// no index answered gets an index, built in the background
/// (`$store::index_field`), and is listed in `resource_indexes` so that
/// every process and start-up uses it.
#[derive(Debug, Clone)]
pub struct Indexed(Arc<IndexedFields>);

#[derive(Debug)]
struct IndexedFields {
    fields: Mutex<Vec<String>>,
    automatic_after: u32,
    automatic_max: usize,
    demand: Mutex<Demand>,
}

/// How often lists filtered on fields without an index. Bounded whatever
/// field names clients send: at most [`Demand::MAX_FIELDS`] fields are
/// counted and remembered as declined, and one index is built at a time.
#[derive(Debug, Default)]
struct Demand {
    /// Unanswered lists per field since its last build was asked for.
    unanswered: HashMap<String, u32>,
    /// The field whose index is being built.
    building: Option<String>,
    /// Fields whose build declined (no document of the collection has
    /// them, or the most are built): not asked for again by this process.
    declined: HashSet<String>,
}

impl Demand {
    const MAX_FIELDS: usize = 64;
}

impl Indexed {
    /// json-server reads `_page` both as the page and as a filter, which
    /// holds only where some document has a `_page` field: its index
    /// answers that without a scan.
    const ALWAYS: &str = "_page";

    fn new(indexing: Indexing) -> Indexed {
        let indexed = Indexed(Arc::new(IndexedFields {
            fields: Mutex::new(vec![Indexed::ALWAYS.to_owned()]),
            automatic_after: indexing.automatic_after,
            automatic_max: indexing.automatic_max,
            demand: Mutex::default(),
        }));
        for field in &indexing.fields {
            indexed.add(field);
        }
        indexed
    }

    fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
        mutex.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn holds(&self, field: &str) -> bool {
        Self::lock(&self.0.fields)
            .iter()
            .any(|indexed| indexed == field)
    }

    fn all(&self) -> Vec<String> {
        Self::lock(&self.0.fields).clone()
    }

    fn add(&self, field: &str) {
        let mut fields = Self::lock(&self.0.fields);
        if model::is_plain_field(field) && !fields.iter().any(|indexed| indexed == field) {
            fields.push(field.to_owned());
        }
    }

    /// Counts one list that `field`'s filter made read a whole collection
    /// too large for memory. True when that makes it filtered often enough
    /// to build its index, which the caller then does, and reports with
    /// [`Indexed::settled`].
    fn wanted(&self, field: &str) -> bool {
        let after = self.0.automatic_after;
        if after == 0 || self.0.automatic_max == 0 || !model::is_plain_field(field) {
            return false;
        }
        let mut demand = Self::lock(&self.0.demand);
        if demand.building.is_some() || demand.declined.contains(field) {
            return false;
        }
        if !demand.unanswered.contains_key(field) && demand.unanswered.len() >= Demand::MAX_FIELDS {
            return false;
        }
        let unanswered = demand.unanswered.entry(field.to_owned()).or_default();
        *unanswered += 1;
        if *unanswered < after {
            return false;
        }
        demand.unanswered.remove(field);
        demand.building = Some(field.to_owned());
        true
    }

    /// The build of `field`'s index has ended: `built`, or declined (or
    /// failed), and then not asked for again while the process runs.
    fn settled(&self, field: &str, built: bool) {
        let mut demand = Self::lock(&self.0.demand);
        demand.building = None;
        if !built {
            if demand.declined.len() >= Demand::MAX_FIELDS {
                demand.declined.clear();
            }
            demand.declined.insert(field.to_owned());
        }
    }

    /// The name of the index on `key` (a field's key SQL): from a digest,
    /// since SQLite compares names without case and PostgreSQL cuts them at
    /// 63 bytes. A key's SQL that changes in a later version gets an index
    /// of its own rather than meeting an index of the old expression.
    fn index_name(key: &str) -> String {
        let digest = Sha256::digest(key.as_bytes());
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("resource_field_{hex}")
    }
}

/// How long a process waits for another to finish building an index.
const DDL_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// A key in a field's index ([`Indexed`]): the text a filter value matches.
fn filter_key(value: &str) -> String {
    format!("s{value}")
}

/// One write, as both backends apply it.
#[derive(Debug)]
enum Job {
    Create {
        name: String,
        /// Every document with its id already.
        content: NewCollection,
        schema: Option<String>,
    },
    Drop {
        name: String,
    },
    Insert {
        name: String,
        document: Document,
    },
    InsertMany {
        name: String,
        documents: Vec<Document>,
    },
    Update {
        name: String,
        id: String,
        body: Document,
        change: Change,
        expected: Expected,
    },
    Delete {
        name: String,
        id: String,
        expected: Expected,
    },
    SetSingular {
        name: String,
        body: Document,
        change: Change,
    },
    /// Builds a field's index in the write transaction (SQLite's writer:
    /// writes wait for it rather than fail on the file's lock).
    Index(IndexBuild),
}

/// One field's index, to build unless the most are built ([`Job::Index`]).
#[derive(Debug)]
struct IndexBuild {
    field: String,
    /// The field's key SQL ([`Indexed`]).
    key: String,
    /// Most fields indexed automatically.
    max: usize,
}

/// What a [`Job`] did, by job.
#[derive(Debug)]
enum Outcome {
    Created(bool),
    Dropped(bool),
    Inserted(Stored),
    InsertedMany(Vec<Stored>),
    Updated(Written<Stored>),
    Deleted(Written<()>),
    SetSingular(Option<Document>),
    Indexed(bool),
}

/// A job answered with another job's outcome: a bug, reported as an error
/// rather than a panic.
fn mismatched(outcome: Outcome) -> StoreError {
    StoreError::Internal(format!("a write answered with {outcome:?}"))
}

/// What one write transaction has learned of the collections it writes, so
/// that a group of jobs reads each collection's row once and writes it once.
#[derive(Debug, Default)]
struct Group {
    /// Collections read so far (`None`: no such plural collection).
    targets: HashMap<String, Option<Target>>,
    /// Collections changed: their version moves on at commit.
    touched: BTreeSet<String>,
    /// The job being applied: its place in the group.
    job: usize,
    /// New documents not written yet: a group's inserts are written
    /// together, in one statement, before any other kind of write.
    pending: Vec<PendingRow>,
    /// Jobs whose document was refused when written (its id was taken).
    refused: Vec<(usize, StoreError)>,
    /// What each job changed, by job, for the watchers.
    events: Vec<(usize, CollectionEvent)>,
}

/// A new document waiting to be written.
#[derive(Debug)]
struct PendingRow {
    job: usize,
    collection: String,
    position: i64,
    row: Row,
}

/// Most documents in one `INSERT` statement (5 parameters each).
const INSERT_CHUNK: usize = 256;

/// A collection being written to.
#[derive(Debug)]
struct Target {
    next_position: i64,
    schema: Option<String>,
    /// The ids json-server's next id depends on, once read.
    ids: Option<Ids>,
}

/// The largest numeric id, and whether the collection is empty.
#[derive(Debug, Clone, Copy)]
struct Ids {
    largest: Option<f64>,
    empty: bool,
}

impl Ids {
    fn with(self, numeric_id: Option<f64>) -> Ids {
        let largest = match (self.largest, numeric_id) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        Ids {
            largest,
            empty: false,
        }
    }
}

impl Group {
    fn changed(&mut self, collection: &str, change: ChangeKind, id: Option<&str>) {
        self.touched.insert(collection.to_owned());
        self.events.push((self.job, event(collection, change, id)));
    }

    /// The events of the jobs that were not refused.
    fn committed_events(&mut self) -> Vec<CollectionEvent> {
        let refused: HashSet<usize> = self.refused.iter().map(|(job, _)| *job).collect();
        self.events
            .drain(..)
            .filter(|(job, _)| !refused.contains(job))
            .map(|(_, event)| event)
            .collect()
    }

    /// After a delete, ids may have gone down: read them again when needed.
    fn forget_ids(&mut self, name: &str) {
        if let Some(Some(target)) = self.targets.get_mut(name) {
            target.ids = None;
        }
    }

    fn next_position(&self, name: &str) -> Option<i64> {
        self.targets
            .get(name)
            .and_then(Option::as_ref)
            .map(|target| target.next_position)
    }
}

/// Collections' parsed documents ([`Snapshot`]s), with what is known of
/// each collection.
#[derive(Debug)]
pub struct Cache {
    max_documents: usize,
    collections: Mutex<HashMap<String, Entry>>,
    /// Where each change's epoch comes from: never repeats in the process.
    epochs: AtomicU64,
    /// The collections' schemas, compiled.
    validators: Validators,
    /// Committed changes, to the watchers of this process.
    events: tokio::sync::broadcast::Sender<CollectionEvent>,
}

/// What the cache knows of one collection. Kept when the collection
/// changes or goes, so that its epoch never repeats.
#[derive(Debug, Default)]
struct Entry {
    /// Set anew by every committed change: a read that began before it
    /// does not keep what it read.
    epoch: u64,
    kind: Option<Kind>,
    /// The snapshot and the stored version it was read at.
    snapshot: Option<(i64, Arc<Snapshot>)>,
    /// How many documents the last read found: a collection past the bound
    /// is not read whole for one document.
    last_len: Option<usize>,
}

impl Cache {
    pub fn new(max_documents: usize) -> Self {
        Cache {
            max_documents,
            collections: Mutex::default(),
            epochs: AtomicU64::new(1),
            validators: Validators::default(),
            events: tokio::sync::broadcast::Sender::new(EVENT_BUFFER),
        }
    }

    /// Tells this process's watchers (none listening is no error).
    fn publish(&self, events: impl IntoIterator<Item = CollectionEvent>) {
        for event in events {
            let _ = self.events.send(event);
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.collections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The epoch a read starts at: what it reads is kept only if no change
    /// commits meanwhile.
    fn epoch(&self, name: &str) -> u64 {
        self.entries().get(name).map_or(0, |entry| entry.epoch)
    }

    fn kind(&self, name: &str) -> Option<Kind> {
        self.entries().get(name).and_then(|entry| entry.kind)
    }

    fn remember_kind(&self, name: &str, epoch: u64, kind: Kind) {
        let mut entries = self.entries();
        let entry = entries.entry(name.to_owned()).or_default();
        if entry.epoch == epoch {
            entry.kind = Some(kind);
        }
    }

    /// The snapshot held for `name`, if it was read at `version` (`None`:
    /// any version).
    fn snapshot(&self, name: &str, version: Option<i64>) -> Option<Arc<Snapshot>> {
        match &self.entries().get(name)?.snapshot {
            Some((read_at, snapshot)) if version.is_none_or(|v| v == *read_at) => {
                Some(snapshot.clone())
            }
            _ => None,
        }
    }

    /// Whether the collection fitted when last read whole (`None`: never
    /// read whole).
    fn fits(&self, name: &str) -> Option<bool> {
        let len = self.entries().get(name)?.last_len?;
        Some(len <= self.max_documents)
    }

    /// Notes how large a collection is, as far as is known without
    /// reading it whole.
    fn note_len(&self, name: &str, documents: i64) {
        let mut entries = self.entries();
        let entry = entries.entry(name.to_owned()).or_default();
        if entry.last_len.is_none() {
            entry.last_len = usize::try_from(documents).ok();
        }
    }

    /// Whether `documents` documents fit.
    fn holds(&self, documents: i64) -> bool {
        usize::try_from(documents).is_ok_and(|documents| documents <= self.max_documents)
    }

    /// Keeps `snapshot` unless a change committed since `epoch` or it alone
    /// passes the bound; others' snapshots are let go until it fits.
    fn put(&self, name: &str, epoch: u64, version: i64, snapshot: Arc<Snapshot>) {
        let mut entries = self.entries();
        let entry = entries.entry(name.to_owned()).or_default();
        entry.last_len = Some(snapshot.len());
        if entry.epoch != epoch || snapshot.len() > self.max_documents {
            return;
        }
        entry.snapshot = None;
        let mut held: usize = entries
            .values()
            .filter_map(|entry| entry.snapshot.as_ref())
            .map(|(_, snapshot)| snapshot.len())
            .sum();
        for entry in entries.values_mut() {
            if held + snapshot.len() <= self.max_documents {
                break;
            }
            if let Some((_, dropped)) = entry.snapshot.take() {
                held -= dropped.len();
            }
        }
        if let Some(entry) = entries.get_mut(name) {
            entry.snapshot = Some((version, snapshot));
            entry.kind = Some(Kind::Plural);
        }
    }

    /// Forgets what was known of collections a committed write changed.
    fn changed<'a>(&self, names: impl IntoIterator<Item = &'a String>) {
        let mut entries = self.entries();
        for name in names {
            let entry = entries.entry(name.clone()).or_default();
            entry.epoch = self.epochs.fetch_add(1, Ordering::Relaxed);
            entry.kind = None;
            entry.snapshot = None;
        }
    }
}

/// Checks `document` against a collection's stored schema, if it has one.
fn check(cache: &Cache, schema: Option<&str>, document: &Document) -> Result<(), StoreError> {
    let Some(schema) = schema else {
        return Ok(());
    };
    let validator = cache.validators.of(schema).map_err(StoreError::BadSchema)?;
    let violations = schema::violations(&validator, document);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(violations))
    }
}

/// The entity tag of a document's stored text.
fn etag_of(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn stored(text: &str) -> Result<Stored, StoreError> {
    Ok(Stored {
        document: parse(text)?,
        etag: etag_of(text),
    })
}

/// A fresh collection's first version: random, so that a collection removed
/// and made again never takes a version a process has cached.
fn first_version() -> i64 {
    fastrand::i64(0..i64::MAX / 2)
}

/// `body` changed into the stored document, as lodash-id does: a replace
/// keeps the body's keys in order and sets `id`; a merge assigns the body's
/// keys over the stored ones. Either way the stored id stays.
fn changed(stored: Document, body: Document, change: Change) -> Document {
    let id = stored.get(ID).cloned().unwrap_or(Value::Null);
    let mut document = applied(stored, body, change);
    document.insert(ID.to_owned(), id);
    document
}

/// `body` applied to `stored` as `change` says, ids aside.
fn applied(stored: Document, body: Document, change: Change) -> Document {
    match change {
        Change::Replace => body,
        Change::Merge => {
            let mut document = stored;
            document.extend(body);
            document
        }
        Change::MergePatch => {
            let mut document = Value::Object(stored);
            crate::json::merge_patch(&mut document, &Value::Object(body));
            match document {
                Value::Object(document) => document,
                _ => Document::new(),
            }
        }
    }
}

/// A document ready to be written: its id as text and as a number.
#[derive(Debug)]
struct Row {
    id: String,
    numeric_id: Option<f64>,
    body: String,
}

impl Row {
    fn of(document: &Document) -> Result<Row, StoreError> {
        let id = document.get(ID).cloned().unwrap_or(Value::Null);
        Ok(Row {
            id: model::js_string(&id),
            numeric_id: id.as_f64(),
            body: serde_json::to_string(document)?,
        })
    }
}

fn parse(body: &str) -> Result<Document, StoreError> {
    Ok(serde_json::from_str(body)?)
}

/// A seed's documents given the ids json-server would give them, in order:
/// the ones without a usable id get the next one.
fn with_ids(documents: Vec<Document>) -> Vec<Document> {
    let mut largest: Option<f64> = None;
    let mut count = 0;
    documents
        .into_iter()
        .map(|mut document| {
            if !document.get(ID).is_some_and(model::is_truthy) {
                let id = model::next_id(largest, count == 0);
                document.insert(ID.to_owned(), id);
            }
            if let Some(n) = document.get(ID).and_then(Value::as_f64) {
                largest = Some(largest.map_or(n, |l| l.max(n)));
            }
            count += 1;
            document
        })
        .collect()
}

/// A new collection's rows, refused before anything is written when two
/// documents share an id.
fn new_rows(name: &str, documents: &[Document]) -> Result<Vec<Row>, StoreError> {
    let mut seen = HashSet::with_capacity(documents.len());
    documents
        .iter()
        .map(|document| {
            let row = Row::of(document)?;
            if !seen.insert(row.id.clone()) {
                return Err(StoreError::DuplicateId {
                    collection: name.to_owned(),
                    id: row.id,
                });
            }
            Ok(row)
        })
        .collect()
}

/// The SQL of both implementations (see the module documentation):
/// `$store` is the store type, `$db` its sqlx database, `$lock` ends the
/// statement that reads a collection's row before writing to it.
///
/// The backend's module provides `$store::run` (how a [`Job`] reaches the
/// database) and `$store::TRUSTS_CACHE` (whether this process sees every
/// write, so that snapshots need no version check).
macro_rules! sql_store {
    ($store:ident, $db:ty, $lock:literal) => {
        type Tx<'c> = sqlx::Transaction<'c, $db>;

        /// The collection `name` as a write sees it, its row locked for the
        /// transaction; read once per group.
        async fn target<'g>(
            tx: &mut Tx<'_>,
            group: &'g mut Group,
            name: &str,
        ) -> Result<Option<&'g mut Target>, StoreError> {
            if !group.targets.contains_key(name) {
                let row: Option<(i64, Option<String>)> = sqlx::query_as(concat!(
                    "SELECT next_position, schema FROM resource_collections \
                     WHERE name = $1 AND singular IS NULL",
                    $lock
                ))
                .bind(name)
                .fetch_optional(&mut **tx)
                .await?;
                let target = row.map(|(next_position, schema)| Target {
                    next_position,
                    schema,
                    ids: None,
                });
                group.targets.insert(name.to_owned(), target);
            }
            Ok(group.targets.get_mut(name).and_then(Option::as_mut))
        }

        async fn read_ids(tx: &mut Tx<'_>, name: &str) -> Result<Ids, StoreError> {
            let (largest, any): (Option<f64>, bool) = sqlx::query_as(
                "SELECT (SELECT MAX(numeric_id) FROM resource_documents WHERE collection = $1), \
                 EXISTS (SELECT 1 FROM resource_documents WHERE collection = $1)",
            )
            .bind(name)
            .fetch_one(&mut **tx)
            .await?;
            Ok(Ids {
                largest,
                empty: !any,
            })
        }

        /// A document's stored text, read for a write.
        async fn stored_text(tx: &mut Tx<'_>, name: &str, id: &str) -> Result<Option<String>, StoreError> {
            Ok(sqlx::query_scalar(
                "SELECT body FROM resource_documents WHERE collection = $1 AND id = $2",
            )
            .bind(name)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?)
        }

        /// Writes the group's pending new documents. One whose id turns out
        /// to be taken is left out, and its job refused.
        async fn flush(tx: &mut Tx<'_>, group: &mut Group) -> Result<(), StoreError> {
            let pending = std::mem::take(&mut group.pending);
            for chunk in pending.chunks(INSERT_CHUNK) {
                let mut insert = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO resource_documents (collection, id, position, numeric_id, body) ",
                );
                insert.push_values(chunk, |mut values, pending| {
                    values
                        .push_bind(&pending.collection)
                        .push_bind(&pending.row.id)
                        .push_bind(pending.position)
                        .push_bind(pending.row.numeric_id)
                        .push_bind(&pending.row.body);
                });
                insert.push(" ON CONFLICT (collection, id) DO NOTHING RETURNING collection, id");
                let written: std::collections::HashSet<(String, String)> =
                    insert.build_query_as().fetch_all(&mut **tx).await?.into_iter().collect();
                for pending in chunk {
                    let key = (pending.collection.clone(), pending.row.id.clone());
                    if !written.contains(&key) {
                        let (collection, id) = key;
                        group
                            .refused
                            .push((pending.job, StoreError::DuplicateId { collection, id }));
                    }
                }
            }
            Ok(())
        }

        /// Applies one job inside `tx`. A job refuses (an `Err` for which
        /// [`StoreError::is_refusal`] holds) before it writes anything.
        async fn apply(
            tx: &mut Tx<'_>,
            group: &mut Group,
            cache: &Cache,
            job: &Job,
        ) -> Result<Outcome, StoreError> {
            // Other writes may read what the pending inserts write.
            if !matches!(job, Job::Insert { .. }) {
                flush(tx, group).await?;
            }
            match job {
                Job::Create {
                    name,
                    content,
                    schema,
                } => {
                    let (documents, singular) = match content {
                        NewCollection::Plural(documents) => (documents.as_slice(), None),
                        NewCollection::Singular(document) => {
                            check(cache, schema.as_deref(), document)?;
                            (&[][..], Some(serde_json::to_string(document)?))
                        }
                    };
                    for document in documents {
                        check(cache, schema.as_deref(), document)?;
                    }
                    let rows = new_rows(name, documents)?;
                    let created = sqlx::query(
                        "INSERT INTO resource_collections \
                         (name, singular, schema, ordinal, version, next_position) \
                         SELECT $1, $2, $3, COALESCE(MAX(ordinal), 0) + 1, $4, $5 \
                         FROM resource_collections WHERE true ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(name)
                    .bind(singular)
                    .bind(schema)
                    .bind(first_version())
                    .bind(rows.len() as i64)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected()
                        == 1;
                    if created {
                        // A new collection holds no id yet, and `new_rows`
                        // let no id through twice: none is refused.
                        let job = group.job;
                        group.pending.extend(rows.into_iter().enumerate().map(|(position, row)| {
                            PendingRow {
                                job,
                                collection: name.clone(),
                                position: position as i64,
                                row,
                            }
                        }));
                        group.targets.remove(name);
                        group.changed(name, ChangeKind::Created, None);
                    }
                    Ok(Outcome::Created(created))
                }
                Job::Drop { name } => {
                    sqlx::query("DELETE FROM resource_documents WHERE collection = $1")
                        .bind(name)
                        .execute(&mut **tx)
                        .await?;
                    let dropped = sqlx::query("DELETE FROM resource_collections WHERE name = $1")
                        .bind(name)
                        .execute(&mut **tx)
                        .await?
                        .rows_affected()
                        == 1;
                    group.targets.remove(name);
                    if dropped {
                        group.changed(name, ChangeKind::Dropped, None);
                    } else {
                        group.touched.insert(name.clone());
                    }
                    Ok(Outcome::Dropped(dropped))
                }
                Job::Insert { name, document } => {
                    let Some(target) = target(tx, group, name).await? else {
                        return Err(StoreError::NoCollection(name.clone()));
                    };
                    let mut document = document.clone();
                    if !document.get(ID).is_some_and(model::is_truthy) {
                        let ids = match target.ids {
                            Some(ids) => ids,
                            None => read_ids(tx, name).await?,
                        };
                        target.ids = Some(ids);
                        document.insert(ID.to_owned(), model::next_id(ids.largest, ids.empty));
                    }
                    check(cache, target.schema.as_deref(), &document)?;
                    let row = Row::of(&document)?;
                    let position = target.next_position;
                    let ids = target.ids;
                    let taken_in_group = group
                        .pending
                        .iter()
                        .any(|p| p.collection == *name && p.row.id == row.id);
                    if taken_in_group {
                        return Err(StoreError::DuplicateId {
                            collection: name.clone(),
                            id: row.id,
                        });
                    }
                    if let Some(Some(target)) = group.targets.get_mut(name) {
                        target.next_position += 1;
                        target.ids = ids.map(|ids| ids.with(row.numeric_id));
                    }
                    group.changed(name, ChangeKind::Inserted, Some(&row.id));
                    let stored = Stored {
                        etag: etag_of(&row.body),
                        document,
                    };
                    group.pending.push(PendingRow {
                        job: group.job,
                        collection: name.clone(),
                        position,
                        row,
                    });
                    Ok(Outcome::Inserted(stored))
                }
                Job::InsertMany { name, documents } => {
                    let Some(target) = target(tx, group, name).await? else {
                        return Err(StoreError::NoCollection(name.clone()));
                    };
                    let (schema, position, known_ids) =
                        (target.schema.clone(), target.next_position, target.ids);
                    let mut ids = match known_ids {
                        Some(ids) => ids,
                        None => read_ids(tx, name).await?,
                    };
                    let mut stored = Vec::with_capacity(documents.len());
                    let mut rows = Vec::with_capacity(documents.len());
                    let mut seen = HashSet::with_capacity(documents.len());
                    for (place, document) in documents.iter().enumerate() {
                        let mut document = document.clone();
                        if !document.get(ID).is_some_and(model::is_truthy) {
                            document.insert(ID.to_owned(), model::next_id(ids.largest, ids.empty));
                        }
                        check(cache, schema.as_deref(), &document).map_err(|error| match error {
                            StoreError::Invalid(violations) => StoreError::Invalid(
                                violations.into_iter().map(|v| v.in_place(place)).collect(),
                            ),
                            other => other,
                        })?;
                        let row = Row::of(&document)?;
                        if !seen.insert(row.id.clone()) {
                            return Err(StoreError::DuplicateId {
                                collection: name.clone(),
                                id: row.id,
                            });
                        }
                        ids = ids.with(row.numeric_id);
                        stored.push(Stored {
                            etag: etag_of(&row.body),
                            document,
                        });
                        rows.push(row);
                    }
                    // A taken id refuses the batch before any of it is
                    // written, so that it is all or nothing (a single
                    // insert learns it from its statement instead).
                    for chunk in rows.chunks(INSERT_CHUNK) {
                        let mut taken = sqlx::QueryBuilder::<$db>::new(
                            "SELECT id FROM resource_documents WHERE collection = ",
                        );
                        taken.push_bind(name.clone());
                        taken.push(" AND id IN (");
                        let mut list = taken.separated(", ");
                        for row in chunk {
                            list.push_bind(row.id.clone());
                        }
                        taken.push(") LIMIT 1");
                        let taken: Option<String> =
                            taken.build_query_scalar().fetch_optional(&mut **tx).await?;
                        if let Some(id) = taken {
                            return Err(StoreError::DuplicateId {
                                collection: name.clone(),
                                id,
                            });
                        }
                    }
                    if let Some(Some(target)) = group.targets.get_mut(name) {
                        target.next_position += rows.len() as i64;
                        target.ids = Some(ids);
                    }
                    for (offset, row) in rows.into_iter().enumerate() {
                        group.changed(name, ChangeKind::Inserted, Some(&row.id));
                        group.pending.push(PendingRow {
                            job: group.job,
                            collection: name.clone(),
                            position: position + offset as i64,
                            row,
                        });
                    }
                    Ok(Outcome::InsertedMany(stored))
                }
                Job::Update {
                    name,
                    id,
                    body,
                    change,
                    expected,
                } => {
                    let Some(target) = target(tx, group, name).await? else {
                        return Ok(Outcome::Updated(Written::Missing));
                    };
                    let schema = target.schema.clone();
                    let Some(text) = stored_text(tx, name, id).await? else {
                        return Ok(Outcome::Updated(Written::Missing));
                    };
                    let current = etag_of(&text);
                    if !expected.allows(&current) {
                        return Ok(Outcome::Updated(Written::Stale(current)));
                    }
                    let document = changed(parse(&text)?, body.clone(), *change);
                    check(cache, schema.as_deref(), &document)?;
                    let text = serde_json::to_string(&document)?;
                    sqlx::query(
                        "UPDATE resource_documents SET body = $1 WHERE collection = $2 AND id = $3",
                    )
                    .bind(&text)
                    .bind(name)
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                    group.changed(name, ChangeKind::Updated, Some(id));
                    Ok(Outcome::Updated(Written::Done(Stored {
                        document,
                        etag: etag_of(&text),
                    })))
                }
                Job::Delete { name, id, expected } => {
                    if target(tx, group, name).await?.is_none() {
                        return Ok(Outcome::Deleted(Written::Missing));
                    }
                    let Some(text) = stored_text(tx, name, id).await? else {
                        return Ok(Outcome::Deleted(Written::Missing));
                    };
                    let current = etag_of(&text);
                    if !expected.allows(&current) {
                        return Ok(Outcome::Deleted(Written::Stale(current)));
                    }
                    sqlx::query("DELETE FROM resource_documents WHERE collection = $1 AND id = $2")
                        .bind(name)
                        .bind(id)
                        .execute(&mut **tx)
                        .await?;
                    group.forget_ids(name);
                    group.changed(name, ChangeKind::Deleted, Some(id));
                    // Documents naming the deleted one go with it. The text
                    // search only narrows the rows read; each is checked.
                    let key = model::foreign_key(name);
                    if model::referenced_collection(&key).as_deref() == Some(name.as_str()) {
                        let candidates: Vec<(String, String, String)> = sqlx::query_as(
                            "SELECT collection, id, body FROM resource_documents WHERE body LIKE $1",
                        )
                        .bind(format!("%\"{key}\"%"))
                        .fetch_all(&mut **tx)
                        .await?;
                        for (collection, dependent, body) in candidates {
                            let names_it = parse(&body)?
                                .get(&key)
                                .is_some_and(|v| !v.is_null() && model::js_string(v) == *id);
                            if names_it {
                                sqlx::query(
                                    "DELETE FROM resource_documents WHERE collection = $1 AND id = $2",
                                )
                                .bind(&collection)
                                .bind(&dependent)
                                .execute(&mut **tx)
                                .await?;
                                group.forget_ids(&collection);
                                group.changed(&collection, ChangeKind::Deleted, Some(&dependent));
                            }
                        }
                    }
                    Ok(Outcome::Deleted(Written::Done(())))
                }
                Job::SetSingular { name, body, change } => {
                    let stored: Option<(Option<String>, Option<String>)> = sqlx::query_as(concat!(
                        "SELECT singular, schema FROM resource_collections WHERE name = $1",
                        $lock
                    ))
                    .bind(name)
                    .fetch_optional(&mut **tx)
                    .await?;
                    let Some((Some(stored), schema)) = stored else {
                        return Ok(Outcome::SetSingular(None));
                    };
                    let document = applied(parse(&stored)?, body.clone(), *change);
                    check(cache, schema.as_deref(), &document)?;
                    sqlx::query("UPDATE resource_collections SET singular = $1 WHERE name = $2")
                        .bind(serde_json::to_string(&document)?)
                        .bind(name)
                        .execute(&mut **tx)
                        .await?;
                    group.changed(name, ChangeKind::Set, None);
                    Ok(Outcome::SetSingular(Some(document)))
                }
                Job::Index(build) => {
                    let Some(listed) = index_wanted(&mut **tx, build).await? else {
                        return Ok(Outcome::Indexed(false));
                    };
                    // The key's SQL names a plain field.
                    sqlx::query(sqlx::AssertSqlSafe(create_index_sql(&build.key, "")))
                        .execute(&mut **tx)
                        .await?;
                    if !listed {
                        list_index(&mut **tx, &build.field).await?;
                    }
                    Ok(Outcome::Indexed(true))
                }
            }
        }

        /// Whether `build`'s field is to have its index (`None`: not), and
        /// then whether it is listed in `resource_indexes` already. A field
        /// listed is; another is while fewer than the most are listed.
        async fn index_wanted(
            connection: &mut <$db as sqlx::Database>::Connection,
            build: &IndexBuild,
        ) -> Result<Option<bool>, StoreError> {
            let listed: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM resource_indexes WHERE field = $1)",
            )
            .bind(&build.field)
            .fetch_one(&mut *connection)
            .await?;
            if listed {
                return Ok(Some(true));
            }
            let automatic: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM resource_indexes")
                .fetch_one(&mut *connection)
                .await?;
            if usize::try_from(automatic).unwrap_or(usize::MAX) >= build.max {
                return Ok(None);
            }
            Ok(Some(false))
        }

        /// Takes the advisory lock that `try_lock` (a query answering
        /// whether it got it) tries for, trying again until it does. Never
        /// a statement that waits: one waiting would hold a snapshot, which
        /// another process's `CREATE INDEX CONCURRENTLY`, holding the lock,
        /// waits for (a deadlock PostgreSQL would end by failing one).
        async fn take_lock(
            connection: &mut <$db as sqlx::Database>::Connection,
            try_lock: &'static str,
        ) -> Result<(), StoreError> {
            let started = std::time::Instant::now();
            while !sqlx::query_scalar::<_, bool>(try_lock)
                .fetch_one(&mut *connection)
                .await?
            {
                if started.elapsed() > DDL_LOCK_WAIT {
                    return Err(StoreError::Internal(format!(
                        "another process has held the index lock for over {} s",
                        DDL_LOCK_WAIT.as_secs()
                    )));
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Ok(())
        }

        /// Lists `field` as indexed automatically.
        async fn list_index(
            connection: &mut <$db as sqlx::Database>::Connection,
            field: &str,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO resource_indexes (field, created_ms) VALUES ($1, $2) \
                 ON CONFLICT (field) DO NOTHING",
            )
            .bind(field)
            .bind(crate::clock::now_ms())
            .execute(&mut *connection)
            .await?;
            Ok(())
        }

        /// `CREATE INDEX` (`how`: `""` or `" CONCURRENTLY"`) of the field
        /// whose key SQL is `key`, unless it exists.
        fn create_index_sql(key: &str, how: &str) -> String {
            format!(
                "CREATE INDEX{how} IF NOT EXISTS {} ON resource_documents \
                 (collection, ({key}), position)",
                Indexed::index_name(key)
            )
        }

        /// Writes what the group changed in each collection's row: a new
        /// version (every process's snapshot of it is then stale) and where
        /// its next document goes. In name order, so that two transactions
        /// lock rows alike.
        async fn finish(tx: &mut Tx<'_>, group: &mut Group) -> Result<(), StoreError> {
            flush(tx, group).await?;
            for name in &group.touched {
                sqlx::query(
                    "UPDATE resource_collections SET version = version + 1, \
                     next_position = COALESCE($2, next_position) WHERE name = $1",
                )
                .bind(name)
                .bind(group.next_position(name))
                .execute(&mut **tx)
                .await?;
            }
            Ok(())
        }

        /// Whether some document of the collection (`$1`) has the field
        /// whose key SQL is `key`, and whether some has a value that only a
        /// whole read compares as json-server does. Every key is non-empty
        /// text, so `> ''` is "has the field" as a range of the index (the
        /// planners do not take `IS NOT NULL` to an index on an expression).
        fn presence_sql(key: &str) -> String {
            format!(
                "SELECT EXISTS (SELECT 1 FROM resource_documents \
                 WHERE collection = $1 AND {key} > ''), \
                 EXISTS (SELECT 1 FROM resource_documents \
                 WHERE collection = $1 AND {key} = 'm')"
            )
        }

        /// `FROM` and `WHERE` for the documents of `name` whose keys are
        /// among the filters' values (`keyed`: each field's key SQL).
        fn push_matching(
            query: &mut sqlx::QueryBuilder<$db>,
            name: &str,
            keyed: &[(String, &[String])],
        ) {
            query.push("FROM resource_documents WHERE collection = ");
            query.push_bind(name.to_owned());
            for (key, values) in keyed {
                query.push(format!(" AND {key} IN ("));
                let mut list = query.separated(", ");
                for value in values.iter() {
                    list.push_bind(filter_key(value));
                }
                query.push(")");
            }
        }

        impl $store {
            /// Counts a list that `fields`, having no index, made read a
            /// collection too large for memory whole; a field filtered that
            /// way often enough gets its index, built in the background.
            fn note_unindexed(&self, name: &str, fields: &[&str]) {
                for field in fields {
                    if !self.indexed.wanted(field) {
                        continue;
                    }
                    let store = self.clone();
                    let (name, field) = (name.to_owned(), (*field).to_owned());
                    tokio::spawn(async move {
                        let built = store.index_field(&name, &field).await;
                        match &built {
                            Ok(true) => tracing::info!(field = %field, "resources: indexed a field filtered often"),
                            Ok(false) => tracing::info!(
                                field = %field,
                                collection = %name,
                                "resources: a field filtered often got no index: no document of \
                                 the collection has it, or resources.auto_index_max fields are \
                                 indexed already"
                            ),
                            Err(error) => tracing::warn!(
                                field = %field,
                                %error,
                                "resources: cannot index a field filtered often"
                            ),
                        }
                        store.indexed.settled(&field, matches!(built, Ok(true)));
                    });
                }
            }

            /// Whether `name` is small enough to be read whole and kept:
            /// as large as its last whole read found it, or at most as large
            /// as the documents it was ever given.
            async fn fits_in_memory(&self, name: &str) -> Result<bool, StoreError> {
                if let Some(fits) = self.cache.fits(name) {
                    return Ok(fits);
                }
                let given: Option<i64> = sqlx::query_scalar(
                    "SELECT next_position FROM resource_collections WHERE name = $1",
                )
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
                let Some(given) = given else {
                    return Ok(true);
                };
                let fits = self.cache.holds(given);
                if !fits {
                    // Until it is read whole, which it now will not be.
                    self.cache.note_len(name, given);
                }
                Ok(fits)
            }
        }

        #[async_trait]
        impl ResourceStore for $store {
            async fn collections(&self) -> Result<Vec<CollectionInfo>, StoreError> {
                let rows: Vec<(String, bool, i64, Option<String>)> = sqlx::query_as(
                    "SELECT c.name, c.singular IS NOT NULL, \
                     (SELECT COUNT(*) FROM resource_documents d WHERE d.collection = c.name), \
                     c.schema FROM resource_collections c ORDER BY c.ordinal, c.name",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(name, singular, documents, schema)| {
                        Ok(CollectionInfo {
                            name,
                            singular,
                            documents: if singular { 1 } else { documents },
                            schema: schema.as_deref().map(serde_json::from_str).transpose()?,
                        })
                    })
                    .collect()
            }

            async fn kind(&self, name: &str) -> Result<Option<Kind>, StoreError> {
                if Self::TRUSTS_CACHE
                    && let Some(kind) = self.cache.kind(name)
                {
                    return Ok(Some(kind));
                }
                let epoch = self.cache.epoch(name);
                let singular: Option<bool> = sqlx::query_scalar(
                    "SELECT singular IS NOT NULL FROM resource_collections WHERE name = $1",
                )
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
                let kind = singular.map(Kind::of);
                // Names that hold nothing are not remembered: any request
                // can name one.
                if let Some(kind) = kind {
                    self.cache.remember_kind(name, epoch, kind);
                }
                Ok(kind)
            }

            async fn create(
                &self,
                name: &str,
                content: NewCollection,
                schema: Option<&Value>,
            ) -> Result<bool, StoreError> {
                // Ids are given here, once, rather than by a job that may
                // be applied twice (its group failing, it alone).
                let content = match content {
                    NewCollection::Plural(documents) => NewCollection::Plural(with_ids(documents)),
                    singular => singular,
                };
                let job = Job::Create {
                    name: name.to_owned(),
                    content,
                    schema: schema.map(serde_json::to_string).transpose()?,
                };
                match self.run(job).await? {
                    Outcome::Created(created) => Ok(created),
                    other => Err(mismatched(other)),
                }
            }

            async fn drop_collection(&self, name: &str) -> Result<bool, StoreError> {
                let job = Job::Drop {
                    name: name.to_owned(),
                };
                match self.run(job).await? {
                    Outcome::Dropped(dropped) => Ok(dropped),
                    other => Err(mismatched(other)),
                }
            }

            async fn documents(
                &self,
                name: &str,
            ) -> Result<Option<std::sync::Arc<Snapshot>>, StoreError> {
                if Self::TRUSTS_CACHE
                    && let Some(snapshot) = self.cache.snapshot(name, None)
                {
                    return Ok(Some(snapshot));
                }
                let epoch = self.cache.epoch(name);
                let found: Option<(i64, bool)> = sqlx::query_as(
                    "SELECT version, singular IS NOT NULL FROM resource_collections \
                     WHERE name = $1",
                )
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
                let Some((version, false)) = found else {
                    return Ok(None);
                };
                if let Some(snapshot) = self.cache.snapshot(name, Some(version)) {
                    return Ok(Some(snapshot));
                }
                let rows: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT position, body FROM resource_documents \
                     WHERE collection = $1 ORDER BY position",
                )
                .bind(name)
                .fetch_all(&self.pool)
                .await?;
                let snapshot = std::sync::Arc::new(Snapshot::of_rows(&rows)?);
                // Read after the version: at worst newer than it, and then
                // the next read sees a newer version and reads again.
                self.cache.put(name, epoch, version, snapshot.clone());
                Ok(Some(snapshot))
            }

            async fn find(
                &self,
                name: &str,
                filters: &[(&str, &[String])],
                cut: Cut<'_>,
            ) -> Result<Option<Found>, StoreError> {
                let unindexed: Vec<&str> = filters
                    .iter()
                    .map(|(field, _)| *field)
                    .filter(|field| !self.indexed.holds(field))
                    .collect();
                if !unindexed.is_empty() {
                    if !self.fits_in_memory(name).await? {
                        self.note_unindexed(name, &unindexed);
                    }
                    return Ok(None);
                }
                if filters.iter().any(|(_, values)| values.is_empty())
                    || self.fits_in_memory(name).await?
                {
                    return Ok(None);
                }
                let mut tx = self.pool.begin().await?;
                if let Some(snapshot) = Self::READ_SNAPSHOT {
                    sqlx::query(snapshot).execute(&mut *tx).await?;
                }
                let mut keyed = Vec::with_capacity(filters.len());
                for (field, values) in filters {
                    let key = Self::field_key(field);
                    // The key's SQL names a plain field, and the values are bound.
                    let (present, unkeyed): (bool, bool) =
                        sqlx::query_as(sqlx::AssertSqlSafe(presence_sql(&key)))
                    .bind(name)
                    .fetch_one(&mut *tx)
                    .await?;
                    if unkeyed {
                        return Ok(None);
                    }
                    // json-server ignores a filter on a field no document has.
                    if present {
                        keyed.push((key, *values));
                    }
                }
                let mut page = sqlx::QueryBuilder::<$db>::new("SELECT position, body ");
                push_matching(&mut page, name, &keyed);
                let total = match cut {
                    Cut::Window(window) => {
                        let mut count = sqlx::QueryBuilder::<$db>::new("SELECT COUNT(*) ");
                        push_matching(&mut count, name, &keyed);
                        let total: i64 = count.build_query_scalar().fetch_one(&mut *tx).await?;
                        let total = usize::try_from(total).unwrap_or(0);
                        let range = window(total);
                        page.push(" ORDER BY position LIMIT ");
                        page.push_bind(i64::try_from(range.len()).unwrap_or(i64::MAX));
                        page.push(" OFFSET ");
                        page.push_bind(i64::try_from(range.start).unwrap_or(i64::MAX));
                        total
                    }
                    Cut::After { position, limit } => {
                        page.push(" AND position > ");
                        page.push_bind(position);
                        page.push(" ORDER BY position LIMIT ");
                        page.push_bind(i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX));
                        0
                    }
                };
                let rows: Vec<(i64, String)> = page.build_query_as().fetch_all(&mut *tx).await?;
                tx.commit().await?;
                let mut found = Found {
                    total,
                    documents: Vec::with_capacity(rows.len()),
                    positions: Vec::with_capacity(rows.len()),
                };
                for (position, body) in rows {
                    found.documents.push(parse(&body)?);
                    found.positions.push(position);
                }
                Ok(Some(found))
            }

            async fn watch(
                &self,
            ) -> Result<tokio::sync::broadcast::Receiver<CollectionEvent>, StoreError> {
                self.follow_other_processes().await?;
                Ok(self.cache.events.subscribe())
            }

            async fn create_indexes(&self) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await?;
                if let Some(lock) = Self::DDL_LOCK {
                    take_lock(&mut *tx, lock).await?;
                }
                let automatic: Vec<String> =
                    sqlx::query_scalar("SELECT field FROM resource_indexes ORDER BY field")
                        .fetch_all(&mut *tx)
                        .await?;
                for field in &automatic {
                    self.indexed.add(field);
                }
                for field in self.indexed.all() {
                    let create = create_index_sql(&Self::field_key(&field), "");
                    sqlx::query(sqlx::AssertSqlSafe(create)).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn index_field(&self, collection: &str, field: &str) -> Result<bool, StoreError> {
                if !model::is_plain_field(field) {
                    return Ok(false);
                }
                // Read outside the writer and the build's lock: for a field
                // the collection lacks this reads the whole collection.
                // The key's SQL names a plain field.
                let present: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT EXISTS (SELECT 1 FROM resource_documents \
                     WHERE collection = $1 AND {} IS NOT NULL)",
                    Self::field_key(field)
                )))
                .bind(collection)
                .fetch_one(&self.pool)
                .await?;
                if !present {
                    return Ok(false);
                }
                let build = IndexBuild {
                    field: field.to_owned(),
                    key: Self::field_key(field),
                    max: self.indexed.0.automatic_max,
                };
                let built = self.build_index(build).await?;
                if built {
                    self.indexed.add(field);
                }
                Ok(built)
            }

            async fn document(&self, name: &str, id: &str) -> Result<Option<Stored>, StoreError> {
                if Self::TRUSTS_CACHE && self.fits_in_memory(name).await? {
                    return Ok(self
                        .documents(name)
                        .await?
                        .and_then(|snapshot| snapshot.get(id)));
                }
                let body: Option<String> = sqlx::query_scalar(
                    "SELECT body FROM resource_documents WHERE collection = $1 AND id = $2",
                )
                .bind(name)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                body.as_deref().map(stored).transpose()
            }

            async fn insert(&self, name: &str, document: Document) -> Result<Stored, StoreError> {
                let job = Job::Insert {
                    name: name.to_owned(),
                    document,
                };
                match self.run(job).await? {
                    Outcome::Inserted(stored) => Ok(stored),
                    other => Err(mismatched(other)),
                }
            }

            async fn insert_many(
                &self,
                name: &str,
                documents: Vec<Document>,
            ) -> Result<Vec<Stored>, StoreError> {
                let job = Job::InsertMany {
                    name: name.to_owned(),
                    documents,
                };
                match self.run(job).await? {
                    Outcome::InsertedMany(stored) => Ok(stored),
                    other => Err(mismatched(other)),
                }
            }

            async fn update(
                &self,
                name: &str,
                id: &str,
                body: Document,
                change: Change,
                expected: &Expected,
            ) -> Result<Written<Stored>, StoreError> {
                let job = Job::Update {
                    name: name.to_owned(),
                    id: id.to_owned(),
                    body,
                    change,
                    expected: expected.clone(),
                };
                match self.run(job).await? {
                    Outcome::Updated(written) => Ok(written),
                    other => Err(mismatched(other)),
                }
            }

            async fn delete(
                &self,
                name: &str,
                id: &str,
                expected: &Expected,
            ) -> Result<Written<()>, StoreError> {
                let job = Job::Delete {
                    name: name.to_owned(),
                    id: id.to_owned(),
                    expected: expected.clone(),
                };
                match self.run(job).await? {
                    Outcome::Deleted(written) => Ok(written),
                    other => Err(mismatched(other)),
                }
            }

            async fn singular(&self, name: &str) -> Result<Option<Document>, StoreError> {
                let body: Option<Option<String>> = sqlx::query_scalar(
                    "SELECT singular FROM resource_collections WHERE name = $1",
                )
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
                body.flatten().as_deref().map(parse).transpose()
            }

            async fn set_singular(
                &self,
                name: &str,
                body: Document,
                change: Change,
            ) -> Result<Option<Document>, StoreError> {
                let job = Job::SetSingular {
                    name: name.to_owned(),
                    body,
                    change,
                };
                match self.run(job).await? {
                    Outcome::SetSingular(document) => Ok(document),
                    other => Err(mismatched(other)),
                }
            }
        }
    };
}

pub(crate) use sql_store;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn document(value: Value) -> Document {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_change_keeps_the_id_and_the_key_order_lodash_id_gives() {
        let stored = document(json!({"id": 1, "title": "a", "views": 3}));
        let replaced = changed(
            stored.clone(),
            document(json!({"title": "b", "id": 9})),
            Change::Replace,
        );
        assert_eq!(
            serde_json::to_string(&replaced).unwrap(),
            r#"{"title":"b","id":1}"#
        );
        let merged = changed(
            stored,
            document(json!({"views": 4, "new": true})),
            Change::Merge,
        );
        assert_eq!(
            serde_json::to_string(&merged).unwrap(),
            r#"{"id":1,"title":"a","views":4,"new":true}"#
        );
    }

    #[test]
    fn seed_documents_without_ids_get_the_next_one() {
        let seeded = with_ids(vec![
            document(json!({"id": 3})),
            document(json!({"title": "no id"})),
            document(json!({"id": 0})),
        ]);
        let ids: Vec<&Value> = seeded.iter().map(|d| &d[ID]).collect();
        assert_eq!(ids, [&json!(3), &json!(4), &json!(5)]);
    }

    #[test]
    fn a_field_is_wanted_at_every_nth_unanswered_list_while_no_build_runs() {
        let indexed = Indexed::new(Indexing {
            fields: vec!["userId".to_owned()],
            automatic_after: 3,
            automatic_max: 1,
        });
        let asks = |field: &str, times: usize| -> Vec<bool> {
            (0..times).map(|_| indexed.wanted(field)).collect()
        };
        assert_eq!(asks("tag", 3), [false, false, true]);
        // While one is built, lists ask for none.
        assert_eq!(asks("tag", 4), [false; 4]);
        assert_eq!(asks("kind", 4), [false; 4]);
        indexed.settled("tag", true);
        assert_eq!(asks("kind", 3), [false, false, true]);
        // A field declined is not asked for again.
        indexed.settled("kind", false);
        assert_eq!(asks("kind", 6), [false; 6]);
        // Only a plain field can have an index.
        assert_eq!(asks("a.b", 5), [false; 5]);
        // However many names clients send, so many fields are counted.
        for i in 0..Demand::MAX_FIELDS {
            assert!(!indexed.wanted(&format!("f{i}")));
        }
        assert_eq!(asks("late", 5), [false; 5]);
        assert_eq!(asks("f0", 2), [false, true]);
        indexed.add("tag");
        assert!(indexed.holds("tag") && indexed.holds("userId") && indexed.holds("_page"));
        assert!(!indexed.holds("kind"));

        for never in [
            Indexing::fields(&["userId".to_owned()]),
            Indexing {
                automatic_after: 1,
                automatic_max: 0,
                ..Indexing::default()
            },
        ] {
            let indexed = Indexed::new(never);
            assert!((0..5).all(|_| !indexed.wanted("tag")));
        }
    }
}
