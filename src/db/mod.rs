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
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// A database URL whose `Debug` and `Display` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.starts_with("sqlite:")
            || value.starts_with("postgres://")
            || value.starts_with("postgresql://")
        {
            Ok(DatabaseUrl(value.to_owned()))
        } else {
            Err("expected a URL starting with sqlite: or postgres://".into())
        }
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
        match url::Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                // Cannot fail: the URL has a password, so it has an authority.
                let _ = url.set_password(Some("****"));
                mask_password_params(url.as_str())
            }
            Ok(url) => mask_password_params(url.as_str()),
            Err(_) => self.0.clone(),
        }
    }
}

/// libpq also accepts `?password=...`; mask that too.
fn mask_password_params(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=****"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", masked.join("&"))
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
/// How long SQLite waits for a lock held by another connection.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// `database_acquire_timeout`'s default: how long a request waits for a
/// pooled connection, and so how soon it learns the database is unreachable.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

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
        let connect_error = |source| DbError::Connect {
            url: url.masked(),
            source,
        };
        if url.is_postgres() {
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(acquire_timeout)
                .connect(url.expose())
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
            Database::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
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
