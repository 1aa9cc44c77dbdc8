//! Database pools for SQLite and PostgreSQL, their migrations, and readiness.
//!
//! Modules do not use this type's pools for their own sake: each module owns a
//! store trait with one implementation per backend and picks the
//! implementation by matching on [`Database`].
//!
//! [`binds`] is what the stores' generic SQL asks of a backend;
//! [`group_commit`] is the shared write path for stores whose writes should
//! share transactions and syncs (SQLite allows one writer at a time).

pub mod binds;
pub mod group_commit;

use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// A database URL whose `Debug` and `Display` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// A `sqlite:` or `postgres://` URL. A PostgreSQL URL must parse as a
    /// URL here, where the error can show it masked, rather than in the
    /// driver at start-up.
    pub fn parse(value: &str) -> Result<Self, String> {
        let is_postgres = value.starts_with("postgres://") || value.starts_with("postgresql://");
        if !is_postgres && !value.starts_with("sqlite:") {
            return Err("expected a URL starting with sqlite: or postgres://".into());
        }
        if is_postgres {
            // `url::ParseError` says what is wrong in fixed words, never
            // quoting the input.
            url::Url::parse(value).map_err(|error| {
                format!("`{}` is not a valid URL: {error}", mask_password(value))
            })?;
        }
        Ok(DatabaseUrl(value.to_owned()))
    }

    /// The full URL, secret included: only for handing to the driver.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_postgres(&self) -> bool {
        self.0.starts_with("postgres")
    }

    /// The URL with any password replaced by `****`.
    pub fn masked(&self) -> String {
        mask_password(&self.0)
    }
}

/// `url` with the password of its user info and the value of any
/// `password=` query parameter (libpq takes one) replaced by `****`.
///
/// A textual rule, so that it holds for text that does not parse as a URL:
/// an error about a malformed URL shows it through here. The user info runs
/// from `scheme://` to the last `@`, since a password may hold unescaped
/// `@`, `/`, `?` or `#`; its password is what follows the first `:`. Each
/// secret is found in the original text and all are replaced, so that one
/// rule's reading cannot hide a secret from the other. Masking too much is
/// the safe mistake: `postgres://u:p@db/x?a=b@c` shows `u:****@c`.
pub fn mask_password(url: &str) -> String {
    let mut secrets: Vec<Range<usize>> = Vec::new();
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    if let Some(user_info_end) = url[after_scheme..].rfind('@').map(|at| after_scheme + at)
        && let Some(colon) = url[after_scheme..user_info_end].find(':')
    {
        secrets.push(after_scheme + colon + 1..user_info_end);
    }
    if let Some(question) = url[after_scheme..].find('?') {
        let mut start = after_scheme + question + 1;
        for pair in url[start..].split('&') {
            if let Some((key, value)) = pair.split_once('=')
                && is_password_key(key)
            {
                let value_start = start + key.len() + 1;
                secrets.push(value_start..value_start + value.len());
            }
            start += pair.len() + 1;
        }
    }
    replace_ranges(url, secrets, "****")
}

/// `password`, in any case, percent-encoded or not.
fn is_password_key(key: &str) -> bool {
    percent_encoding::percent_decode_str(key)
        .decode_utf8_lossy()
        .trim()
        .eq_ignore_ascii_case("password")
}

/// `text` with each of `ranges` replaced by `with`; overlapping or touching
/// ranges become one replacement.
fn replace_ranges(text: &str, mut ranges: Vec<Range<usize>>, with: &str) -> String {
    ranges.sort_by_key(|range| range.start);
    let mut merged: Vec<Range<usize>> = Vec::new();
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    let mut shown = String::with_capacity(text.len());
    let mut copied_to = 0;
    for range in merged {
        shown.push_str(&text[copied_to..range.start]);
        shown.push_str(with);
        copied_to = range.end;
    }
    shown.push_str(&text[copied_to..]);
    shown
}

impl crate::setting::SettingValue for DatabaseUrl {
    fn from_setting(value: &toml::Value) -> Result<Self, String> {
        DatabaseUrl::parse(&crate::setting::text(value)?)
    }

    /// Masked: never the password.
    fn shown(&self) -> String {
        self.masked()
    }
}

/// `sqlite://echobase.db`: a file in the working directory, no other service.
impl Default for DatabaseUrl {
    fn default() -> Self {
        DatabaseUrl("sqlite://echobase.db".into())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.masked())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// How long a readiness probe waits for the database before calling it down.
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// WAL pages after which a commit also checkpoints (SQLite's default: 1000).
/// Each message write dirties a random page of the digest index, so the WAL
/// grows ~4 KiB per row, and a checkpoint then stalls the writer while it
/// copies the pages back and syncs the file. Checkpointing every 64 MiB
/// instead of 4 MiB writes each index page back once for many rows rather
/// than once for each, and stalls 16 times less often. Recovery after a
/// crash reads at most this much WAL.
const SQLITE_WAL_AUTOCHECKPOINT_PAGES: &str = "16384";
/// `database_sqlite_cache_size`'s default: SQLite's own (`cache_size = -2000`,
/// 2,000 KiB per connection), now stated, so that the memory it may take is a
/// setting.
pub const DEFAULT_SQLITE_CACHE_SIZE: usize = 2000 * 1024;
/// How long SQLite waits for a lock held by another connection.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// `database_acquire_timeout`'s default: how long a request waits for a
/// pooled connection, and so how soon it learns the database is unreachable.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// `PRAGMA cache_size`'s value for a cache of `bytes`: negative means KiB
/// to SQLite (rather than pages, whose size depends on the file).
fn sqlite_cache_pragma(bytes: usize) -> String {
    format!("-{}", bytes.div_ceil(1024))
}

/// Whether `error` means the database could not be reached or used at all
/// (down, restarting, unreachable, no pooled connection in time), rather
/// than that this statement failed: a 503 to retry, not a 500.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        // SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown,
        // crash, cannot connect now), 53300 (too many connections).
        sqlx::Error::Database(error) => error.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open database {url}: {source}")]
    Connect {
        /// Masked: never holds a password.
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database did not answer within {0:?}")]
    Timeout(Duration),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

/// A connection pool on one of the two backends.
#[derive(Clone, Debug)]
pub enum Database {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Pool occupancy, for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

impl Database {
    /// Opens a pool. For SQLite the file is created if missing, in WAL mode with
    /// `synchronous=FULL`, so a commit is on disk before it is acknowledged.
    pub async fn connect(
        url: &DatabaseUrl,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, DbError> {
        Self::connect_with_cache(
            url,
            max_connections,
            acquire_timeout,
            DEFAULT_SQLITE_CACHE_SIZE,
        )
        .await
    }

    /// [`Database::connect`], each SQLite connection caching at most
    /// `sqlite_cache_bytes` of pages (`database_sqlite_cache_size`).
    pub async fn connect_with_cache(
        url: &DatabaseUrl,
        max_connections: u32,
        acquire_timeout: Duration,
        sqlite_cache_bytes: usize,
    ) -> Result<Self, DbError> {
        let connect_error = |source| DbError::Connect {
            url: url.masked(),
            source,
        };
        if url.is_postgres() {
            // No JIT: every query here is meant to answer in milliseconds, and
            // PostgreSQL's JIT, which starts on a plan's estimated cost, spent
            // ~700 ms compiling a DORA query that runs in ~330 ms without it.
            let options = PgConnectOptions::from_str(url.expose())
                .map_err(connect_error)?
                .options([("jit", "off")]);
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(acquire_timeout)
                .connect_with(options)
                .await
                .map_err(connect_error)?;
            Ok(Database::Postgres(pool))
        } else {
            let options = SqliteConnectOptions::from_str(url.expose())
                .map_err(connect_error)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .pragma("wal_autocheckpoint", SQLITE_WAL_AUTOCHECKPOINT_PAGES)
                .pragma("cache_size", sqlite_cache_pragma(sqlite_cache_bytes))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(acquire_timeout)
                .connect_with(options)
                .await
                .map_err(connect_error)?;
            Ok(Database::Sqlite(pool))
        }
    }

    /// Applies the backend's pending migrations. Safe to run from several
    /// processes at once on PostgreSQL (sqlx takes an advisory lock).
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Database::Sqlite(pool) => {
                // A fresh file takes every migration, two commits each: with
                // `synchronous=FULL` their fsyncs were most of a start-up. In
                // WAL mode NORMAL keeps every commit atomic; a power cut may
                // undo the last migrations, which then run again. The first
                // FULL commit after them syncs the log, migrations included.
                let mut connection = pool.acquire().await?;
                sqlx::query("PRAGMA synchronous = NORMAL")
                    .execute(&mut *connection)
                    .await?;
                let migrated = SQLITE_MIGRATIONS.run(&mut *connection).await;
                let restored = sqlx::query("PRAGMA synchronous = FULL")
                    .execute(&mut *connection)
                    .await;
                if restored.is_err() {
                    // Never back into the pool less durable than the others.
                    connection.detach();
                }
                migrated?;
                restored?;
            }
            Database::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// A round trip to the database, bounded in time: readiness.
    pub async fn ping(&self) -> Result<(), DbError> {
        let query = async {
            match self {
                Database::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
                Database::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
            }
        };
        tokio::time::timeout(PING_TIMEOUT, query)
            .await
            .map_err(|_| DbError::Timeout(PING_TIMEOUT))??;
        Ok(())
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }

    pub fn pool_stats(&self) -> PoolStats {
        let (open, idle, max) = match self {
            Database::Sqlite(pool) => (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            ),
            Database::Postgres(pool) => (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            ),
        };
        PoolStats {
            open,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
            max,
        }
    }

    /// Waits for in-use connections to return, then closes the pool.
    pub async fn close(&self) {
        match self {
            Database::Sqlite(pool) => pool.close().await,
            Database::Postgres(pool) => pool.close().await,
        }
    }
}

/// A writer's own connection, detached from the pool so that closing the pool
/// never waits for it: the one `held`, or a new one. Once the pool has closed,
/// the held one is dropped and no write starts.
pub async fn held_connection<'h, DB: sqlx::Database>(
    held: &'h mut Option<DB::Connection>,
    pool: &sqlx::Pool<DB>,
) -> Result<&'h mut DB::Connection, sqlx::Error> {
    if pool.is_closed() {
        *held = None;
        return Err(sqlx::Error::PoolClosed);
    }
    match held {
        Some(connection) => Ok(connection),
        None => Ok(held.insert(pool.acquire().await?.detach())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_masked_whether_or_not_the_url_parses() {
        for (url, shown) in [
            (
                "postgres://u:PW@127.0.0.1:notaport/x",
                "postgres://u:****@127.0.0.1:notaport/x",
            ),
            (
                "postgres://u:PW@127.0.0.1:99999/x",
                "postgres://u:****@127.0.0.1:99999/x",
            ),
            ("postgres://u:PW@[::1/x", "postgres://u:****@[::1/x"),
            ("postgres://u:PW@/x", "postgres://u:****@/x"),
            ("postgres://u:PW@db:5432/x", "postgres://u:****@db:5432/x"),
            // Unescaped `@`, `/`, `?`, `#` in a password: the user info
            // ends at the last `@`.
            ("postgres://u:P@W@db/x", "postgres://u:****@db/x"),
            ("postgres://u:P/W@db/x", "postgres://u:****@db/x"),
            ("postgres://u:P?W#X@db/x", "postgres://u:****@db/x"),
            (
                "postgresql://u:PW@db/x?password=PW2&sslmode=require",
                "postgresql://u:****@db/x?password=****&sslmode=require",
            ),
            (
                "postgres://db/x?PassWord=PW",
                "postgres://db/x?PassWord=****",
            ),
            (
                "postgres://db/x?pass%77ord=PW",
                "postgres://db/x?pass%77ord=****",
            ),
            (
                "postgres://u@db/x?password=P:W@X",
                "postgres://u@db/x?password=****",
            ),
            // Both rules find a secret here; together they hide the host too.
            ("postgres://u:P?password=W@db", "postgres://u:****"),
            (" postgres://u:PW@db/x", " postgres://u:****@db/x"),
            ("not a url u:PW@db", "not a url u:****@db"),
        ] {
            // Built directly: `parse` refuses some of these.
            let masked = DatabaseUrl(url.to_owned()).masked();
            assert_eq!(masked, shown, "{url}");
        }
    }

    #[test]
    fn the_sqlite_cache_is_given_to_sqlite_in_kib_rounded_up() {
        assert_eq!(sqlite_cache_pragma(DEFAULT_SQLITE_CACHE_SIZE), "-2000");
        assert_eq!(sqlite_cache_pragma(1), "-1");
        assert_eq!(sqlite_cache_pragma(0), "-0");
    }

    #[test]
    fn a_url_without_a_password_is_shown_as_it_is() {
        for url in [
            "postgres://u@db:5432/x",
            "postgres://db/x?sslmode=require",
            "sqlite://echobase.db",
            "sqlite:data/x.db?mode=rwc",
        ] {
            assert_eq!(DatabaseUrl(url.to_owned()).masked(), url);
        }
    }

    #[test]
    fn a_postgres_url_that_does_not_parse_is_refused_showing_it_masked() {
        for url in [
            "postgres://u:PW@127.0.0.1:notaport/x",
            "postgres://u:PW@127.0.0.1:99999/x",
            "postgres://u:PW@[::1/x",
            "postgres://u:PW@/x",
        ] {
            let error = DatabaseUrl::parse(url).expect_err(url);
            assert!(!error.contains("PW"), "{error}");
            assert!(error.contains("u:****@"), "{error}");
        }
        assert!(DatabaseUrl::parse("postgres://u:PW@db:5432/x").is_ok());
        assert!(DatabaseUrl::parse("sqlite://echobase.db").is_ok());
    }
}
