//! Bulk ingest: records (NDJSON lines, array elements, CSV rows) are validated
//! one by one; good ones are sent in batches to a load ([`EventStore::load`])
//! that stores them on its own task while the next ones are read, so reading
//! and storing use a core each; bad ones are reported by number and skipped.
//! The same code serves `POST /v1/events:ndjson` and `echobase events import`.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::model::{Event, EventInput};
use super::settings::EventsSettings;
use super::store::{BATCH_SIZE, EventStore, InsertOutcome, StoreError};

/// Batches read ahead of the load: what a load holds in memory is this many
/// batches, whatever the size of its input.
const BATCHES_AHEAD: usize = 4;

/// What one ingest takes and tells (`events.max_line_size`,
/// `events.max_reported_errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestLimits {
    /// A longer NDJSON line is rejected without being parsed.
    pub max_line_bytes: usize,
    /// At most this many bad records are described; the rest are only counted.
    pub max_reported_errors: usize,
}

impl From<&EventsSettings> for IngestLimits {
    fn from(settings: &EventsSettings) -> Self {
        IngestLimits {
            max_line_bytes: settings.max_line_size,
            max_reported_errors: settings.max_reported_errors,
        }
    }
}

/// The settings' defaults.
impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits::from(&EventsSettings::default())
    }
}

/// One rejected record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RecordError {
    /// 1-based line (NDJSON, CSV) or 0-based array index (JSON), as `unit` says.
    pub line: u64,
    pub message: String,
}

/// What an ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IngestReport {
    /// Records read (blank lines not counted).
    pub received: u64,
    /// New events stored.
    pub stored: u64,
    /// Valid events whose id was already stored.
    pub duplicates: u64,
    /// Invalid records, skipped.
    pub rejected: u64,
    /// The first rejections (100 unless `events.max_reported_errors` says otherwise).
    pub errors: Vec<RecordError>,
}

/// Collects valid events into batches and sends them to the load.
pub struct Batcher {
    limits: IngestLimits,
    batch: Vec<Event>,
    report: IngestReport,
    default_service: Option<String>,
    default_environment: Option<String>,
    /// `None` once the load has ended early (a store error).
    sender: Option<mpsc::Sender<Vec<Event>>>,
    load: JoinHandle<Result<InsertOutcome, StoreError>>,
}

impl Batcher {
    /// Starts the load on its own task.
    pub fn new(store: Arc<dyn EventStore>, limits: IngestLimits) -> Self {
        let (sender, batches) = mpsc::channel(BATCHES_AHEAD);
        let load = tokio::spawn(async move { store.load(batches).await });
        Batcher {
            limits,
            batch: Vec::with_capacity(BATCH_SIZE),
            report: IngestReport::default(),
            default_service: None,
            default_environment: None,
            sender: Some(sender),
            load,
        }
    }

    /// Gives records that name no service or environment these.
    pub fn with_defaults(mut self, service: Option<String>, environment: Option<String>) -> Self {
        self.default_service = service;
        self.default_environment = environment;
        self
    }

    pub async fn accept(&mut self, event: Event) -> Result<(), StoreError> {
        self.report.received += 1;
        self.batch.push(event);
        if self.batch.len() >= BATCH_SIZE {
            self.send().await?;
        }
        Ok(())
    }

    pub fn reject(&mut self, line: u64, message: impl Into<String>) {
        self.report.received += 1;
        self.report.rejected += 1;
        if self.report.errors.len() < self.limits.max_reported_errors {
            self.report.errors.push(RecordError {
                line,
                message: message.into(),
            });
        }
    }

    /// Validates one JSON record and accepts or rejects it.
    pub async fn json_record(&mut self, line: u64, bytes: &[u8]) -> Result<(), StoreError> {
        match serde_json::from_slice::<EventInput>(bytes) {
            Ok(input) => self.input(line, input).await,
            Err(error) => {
                self.reject(line, format!("not a valid event: {error}"));
                Ok(())
            }
        }
    }

    pub async fn input(&mut self, line: u64, mut input: EventInput) -> Result<(), StoreError> {
        if input.service.is_none() {
            input.service.clone_from(&self.default_service);
        }
        if input.environment.is_none() {
            input.environment.clone_from(&self.default_environment);
        }
        match input.into_event("") {
            Ok(event) => self.accept(event).await,
            Err(errors) => {
                let message = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                self.reject(line, message);
                Ok(())
            }
        }
    }

    /// Hands the batch to the load; when the load has stopped, its error.
    async fn send(&mut self) -> Result<(), StoreError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_SIZE));
        let sent = match &self.sender {
            Some(sender) => sender.send(batch).await.is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The load ended before its input did: only an error does that.
        self.sender = None;
        match (&mut self.load).await {
            Ok(Err(error)) => Err(error),
            Ok(Ok(_)) => Err(StoreError::LoadStopped("it ended early".into())),
            Err(error) => Err(StoreError::LoadStopped(error.to_string())),
        }
    }

    /// Records read so far, good or bad.
    pub fn received(&self) -> u64 {
        self.report.received
    }

    /// Stores what is left, waits for the load to commit, and returns the report.
    pub async fn finish(mut self) -> Result<IngestReport, StoreError> {
        self.send().await?;
        // The end of the input, for the load.
        self.sender = None;
        let InsertOutcome {
            inserted,
            duplicates,
        } = (&mut self.load)
            .await
            .map_err(|error| StoreError::LoadStopped(error.to_string()))??;
        self.report.stored += inserted;
        self.report.duplicates += duplicates;
        Ok(self.report)
    }
}

/// Splits a byte stream into NDJSON lines as chunks arrive, without holding
/// more than one line in memory.
pub struct NdjsonIngest {
    batcher: Batcher,
    partial: Vec<u8>,
    line: u64,
    /// The current line went over `max_line_bytes`: drop bytes until its end.
    overlong: bool,
}

impl NdjsonIngest {
    pub fn new(store: Arc<dyn EventStore>, limits: IngestLimits) -> Self {
        Self::from_batcher(Batcher::new(store, limits))
    }

    pub fn from_batcher(batcher: Batcher) -> Self {
        NdjsonIngest {
            batcher,
            partial: Vec::new(),
            line: 0,
            overlong: false,
        }
    }

    pub async fn push(&mut self, mut chunk: &[u8]) -> Result<(), StoreError> {
        let max_line_bytes = self.batcher.limits.max_line_bytes;
        while let Some(newline) = chunk.iter().position(|b| *b == b'\n') {
            let (head, rest) = chunk.split_at(newline);
            chunk = &rest[1..];
            self.line += 1;
            if self.overlong {
                self.overlong = false;
                self.partial.clear();
                continue;
            }
            if self.partial.is_empty() {
                if head.len() > max_line_bytes {
                    self.reject_line_too_long(self.line);
                } else {
                    self.record(head).await?;
                }
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(head);
                if line.len() > max_line_bytes {
                    self.reject_line_too_long(self.line);
                } else {
                    self.record(&line).await?;
                }
                // Keep the allocation for the next line.
                line.clear();
                self.partial = line;
            }
        }
        if !self.overlong {
            self.partial.extend_from_slice(chunk);
            if self.partial.len() > max_line_bytes {
                self.reject_overlong_partial();
            }
        }
        Ok(())
    }

    /// The line being read is already too long: reject it now and skip the rest of it.
    fn reject_overlong_partial(&mut self) {
        self.reject_line_too_long(self.line + 1);
        self.partial.clear();
        self.overlong = true;
    }

    fn reject_line_too_long(&mut self, line: u64) {
        let max = self.batcher.limits.max_line_bytes;
        self.batcher.reject(
            line,
            format!("the line is longer than {max} bytes (events.max_line_size)"),
        );
    }

    async fn record(&mut self, line: &[u8]) -> Result<(), StoreError> {
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            return Ok(());
        }
        self.batcher.json_record(self.line, trimmed).await
    }

    /// Records read so far, good or bad.
    pub fn received(&self) -> u64 {
        self.batcher.received()
    }

    /// The last line needs no newline.
    pub async fn finish(mut self) -> Result<IngestReport, StoreError> {
        if !self.overlong && !self.partial.is_empty() {
            self.line += 1;
            let line = std::mem::take(&mut self.partial);
            self.record(&line).await?;
        }
        self.batcher.finish().await
    }
}
