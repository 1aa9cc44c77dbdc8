//! `echobase events import FILE`: NDJSON, a JSON array, CSV, or the original
//! service's `deploys.sqlite`, through the same validation and batching as
//! `POST /v1/events:ndjson`.
//!
//! CSV has a header row naming the fields (`id,time,kind,actor,service,
//! environment,sha,result`, plus `attributes` as a JSON object); the
//! original's column names `date`, `action` and `engineer` are accepted for
//! `time`, `kind` and `actor`, and any other column becomes an attribute.
//! The original SQLite file's rows keep their integer id (as the event id),
//! so the compatible routes show the same ids as the original did.

use std::io::Read;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::ingest::{Batcher, IngestLimits, IngestReport, NdjsonIngest};
use super::model::EventInput;
use super::store::{EventStore, StoreError};

/// How much of an NDJSON file is read at a time.
const READ_CHUNK: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Json,
    Csv,
    /// The original service's database (`deploys` table).
    Sqlite,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "ndjson" | "jsonl" => Ok(Format::Ndjson),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "sqlite" | "sqlite3" | "db" => Ok(Format::Sqlite),
            other => Err(format!(
                "unknown format `{other}` (expected ndjson, json, csv or sqlite)"
            )),
        }
    }
}

impl Format {
    /// The format a file name's extension says.
    pub fn of_path(path: &Path) -> Option<Format> {
        path.extension()?.to_str()?.parse().ok()
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Default: from the file name's extension.
    pub format: Option<Format>,
    /// Given to events that name no service.
    pub service: Option<String>,
    /// Given to events that name no environment.
    pub environment: Option<String>,
    /// Longest NDJSON line and rejections described (the `events.*` settings).
    pub limits: IngestLimits,
    /// Print a progress line on standard error (for a terminal) every second.
    pub progress: bool,
}

/// The progress line: records read, the rate, how far into the input, and
/// the time left at that rate. Rewritten in place every second; cleared at the end.
struct Progress {
    enabled: bool,
    started: std::time::Instant,
    last: std::time::Instant,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        let now = std::time::Instant::now();
        Progress {
            enabled,
            started: now,
            last: now,
        }
    }

    /// `done` of `total` (bytes of a file, or its records), `records` read.
    fn update(&mut self, done: u64, total: u64, records: u64) {
        if !self.enabled || self.last.elapsed() < std::time::Duration::from_secs(1) {
            return;
        }
        self.last = std::time::Instant::now();
        let seconds = self.started.elapsed().as_secs_f64();
        let fraction = if total == 0 {
            1.0
        } else {
            done as f64 / total as f64
        };
        let left = if fraction > 0.0 {
            seconds / fraction - seconds
        } else {
            0.0
        };
        eprint!(
            "\r{records} records read, {:.0} records/s, {:.0}% done, ETA {left:.0}s   ",
            records as f64 / seconds,
            fraction * 100.0,
        );
    }

    fn finish(&self) {
        if self.enabled {
            eprint!("\r{:70}\r", "");
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{0}")]
    Format(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn read_error(path: &Path, reason: impl ToString) -> ImportError {
    ImportError::Read {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

pub async fn import_file(
    store: Arc<dyn EventStore>,
    path: &Path,
    options: &ImportOptions,
) -> Result<IngestReport, ImportError> {
    let format = options
        .format
        .or_else(|| Format::of_path(path))
        .ok_or_else(|| {
            ImportError::Format(format!(
                "cannot tell the format of {} from its name: pass --format ndjson|json|csv|sqlite",
                path.display()
            ))
        })?;
    let batcher = Batcher::new(store, options.limits)
        .with_defaults(options.service.clone(), options.environment.clone());
    let mut progress = Progress::new(options.progress);
    let imported = match format {
        Format::Ndjson => import_ndjson(batcher, path, &mut progress).await,
        Format::Json => import_json(batcher, path, &mut progress).await,
        Format::Csv => import_csv(batcher, path, &mut progress).await,
        Format::Sqlite => import_original_sqlite(batcher, path, &mut progress).await,
    };
    progress.finish();
    imported
}

async fn import_ndjson(
    batcher: Batcher,
    path: &Path,
    progress: &mut Progress,
) -> Result<IngestReport, ImportError> {
    let mut file = std::fs::File::open(path).map_err(|e| read_error(path, e))?;
    let size = file.metadata().map_or(0, |m| m.len());
    let mut ingest = NdjsonIngest::from_batcher(batcher);
    let mut buffer = vec![0u8; READ_CHUNK];
    let mut read = 0;
    loop {
        let n = file.read(&mut buffer).map_err(|e| read_error(path, e))?;
        if n == 0 {
            break;
        }
        ingest.push(&buffer[..n]).await?;
        read += n as u64;
        progress.update(read, size, ingest.received());
    }
    Ok(ingest.finish().await?)
}

/// A JSON array of events (or one event). Elements are numbered from 0.
async fn import_json(
    mut batcher: Batcher,
    path: &Path,
    progress: &mut Progress,
) -> Result<IngestReport, ImportError> {
    let bytes = std::fs::read(path).map_err(|e| read_error(path, e))?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ImportError::Format(format!("{} is not JSON: {e}", path.display())))?;
    let items = match value {
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => {
            return Err(ImportError::Format(
                "expected an array of events or one event".into(),
            ));
        }
    };
    let total = items.len() as u64;
    for (i, item) in items.into_iter().enumerate() {
        match serde_json::from_value::<EventInput>(item) {
            Ok(input) => batcher.input(i as u64, input).await?,
            Err(e) => batcher.reject(i as u64, format!("not a valid event: {e}")),
        }
        progress.update(i as u64, total, batcher.received());
    }
    Ok(batcher.finish().await?)
}

/// A CSV record as the JSON object an event is read from.
fn csv_record(
    headers: &[String],
    record: &csv::StringRecord,
) -> Result<Map<String, Value>, String> {
    let mut object = Map::new();
    let mut extra = Map::new();
    for (name, field) in headers.iter().zip(record.iter()) {
        let field = field.trim();
        if field.is_empty() {
            continue;
        }
        let key = match name.as_str() {
            "date" => "time",
            "action" => "kind",
            "engineer" => "actor",
            other => other,
        };
        match key {
            "time" => {
                let value = field
                    .parse::<i64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::String(field.to_owned()));
                object.insert("time".into(), value);
            }
            "attributes" => match serde_json::from_str::<Value>(field) {
                Ok(Value::Object(map)) => extra.extend(map),
                _ => return Err("the attributes column is not a JSON object".into()),
            },
            "id" | "kind" | "actor" | "service" | "environment" | "sha" | "result" => {
                object.insert(key.into(), Value::String(field.to_owned()));
            }
            other => {
                extra.insert(other.to_owned(), Value::String(field.to_owned()));
            }
        }
    }
    if !extra.is_empty() {
        object.insert("attributes".into(), Value::Object(extra));
    }
    Ok(object)
}

/// CSV with a header row; records are numbered by their line in the file.
async fn import_csv(
    mut batcher: Batcher,
    path: &Path,
    progress: &mut Progress,
) -> Result<IngestReport, ImportError> {
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| read_error(path, e))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| read_error(path, e))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line());
                match csv_record(&headers, &record).and_then(|object| {
                    serde_json::from_value::<EventInput>(Value::Object(object))
                        .map_err(|e| e.to_string())
                }) {
                    Ok(input) => batcher.input(line, input).await?,
                    Err(message) => batcher.reject(line, message),
                }
                let done = record.position().map_or(0, |p| p.byte());
                progress.update(done, size, batcher.received());
            }
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line());
                if error.is_io_error() {
                    return Err(read_error(path, error));
                }
                batcher.reject(line, error.to_string());
            }
        }
    }
    Ok(batcher.finish().await?)
}

/// The original service's database: `deploys(id, sha, date, action, engineer)`,
/// `date` in seconds. Rows are numbered in file order, from 1.
async fn import_original_sqlite(
    mut batcher: Batcher,
    path: &Path,
    progress: &mut Progress,
) -> Result<IngestReport, ImportError> {
    if !path.is_file() {
        return Err(read_error(path, "no such file"));
    }
    let options = SqliteConnectOptions::new().filename(path).read_only(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|e| read_error(path, e))?;
    let rows = sqlx::query("SELECT id, sha, date, action, engineer FROM deploys ORDER BY rowid")
        .fetch_all(&pool)
        .await
        .map_err(|e| {
            ImportError::Format(format!(
                "{} is not the original events database (a `deploys` table): {e}",
                path.display()
            ))
        })?;
    pool.close().await;
    let total = rows.len() as u64;
    for (i, row) in rows.into_iter().enumerate() {
        let line = i as u64 + 1;
        let id: Option<i64> = row.try_get("id").ok().flatten();
        let date: Option<i64> = row.try_get("date").ok().flatten();
        let input = EventInput {
            id: id.map(|id| id.to_string()),
            time: date.map(Value::from),
            kind: row.try_get("action").ok().flatten(),
            actor: row.try_get("engineer").ok().flatten(),
            sha: row.try_get("sha").ok().flatten(),
            ..EventInput::default()
        };
        batcher.input(line, input).await?;
        progress.update(line, total, batcher.received());
    }
    Ok(batcher.finish().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_the_extension() {
        assert_eq!(
            Format::of_path(Path::new("a/b.ndjson")),
            Some(Format::Ndjson)
        );
        assert_eq!(
            Format::of_path(Path::new("deploys.sqlite")),
            Some(Format::Sqlite)
        );
        assert_eq!(Format::of_path(Path::new("x.CSV")), Some(Format::Csv));
        assert_eq!(Format::of_path(Path::new("x.txt")), None);
    }

    #[test]
    fn csv_columns_of_the_original_map_to_event_fields() {
        let headers: Vec<String> = ["id", "sha", "date", "action", "engineer", "team"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let record =
            csv::StringRecord::from(vec!["1", "abc", "1509537600", "deploy", "vincent", "core"]);
        let object = csv_record(&headers, &record).unwrap();
        let event = serde_json::from_value::<EventInput>(Value::Object(object))
            .unwrap()
            .into_event("")
            .unwrap();
        assert_eq!(event.kind, "deploy");
        assert_eq!(event.actor.as_deref(), Some("vincent"));
        assert_eq!(event.time_ms, 1_509_537_600_000);
        assert_eq!(event.attributes["team"], "core");
        assert_eq!(event.legacy_id(), Some(1));
    }
}
