//! The integration-test harness: a real echobase on a random port, talked to
//! over HTTP, on a fresh SQLite file or a fresh PostgreSQL database.
//! [`TestApp`] (in `app.rs`) is the server in this process; [`Echobase`] (in
//! `binary.rs`) is the real binary, for what only a process shows (signals,
//! kills, the command line).
//!
//! PostgreSQL comes from `ECHOBASE_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When it does not answer,
//! PostgreSQL tests are skipped with a notice, except when `CI` is set: then
//! they fail, so CI can never pass without exercising PostgreSQL.
#![allow(dead_code)] // each test file uses a different part of the harness

mod app;
mod binary;
pub mod deliveries;

#[allow(unused_imports)] // each test file uses a different part of the harness
pub use app::{TestApp, client, per_ip_hourly_limit, self_signed_https};
#[allow(unused_imports)]
pub use binary::{Echobase, echobase, serve};

use std::net::SocketAddr;
use std::time::Duration;

use echobase::config::{DatabaseUrl, Settings};
use sqlx::Connection;

pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(Backend)` once per backend, as `name::sqlite`
/// and `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await
            }
        }
    )*};
}

/// A fresh, empty database that is removed when dropped.
pub enum TestDatabase {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// `None` when the backend is unavailable here (never under `CI`).
    pub async fn create(backend: Backend) -> Option<(TestDatabase, DatabaseUrl)> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Some((
                    TestDatabase::Sqlite(dir),
                    DatabaseUrl::parse(&url).expect("sqlite url"),
                ))
            }
            Backend::Postgres => {
                let admin_url = std::env::var("ECHOBASE_TEST_DATABASE_URL")
                    .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
                let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
                    Ok(conn) => conn,
                    Err(error) => {
                        skip_or_fail(&format!(
                            "PostgreSQL at {admin_url} does not answer: {error}"
                        ));
                        return None;
                    }
                };
                let name = format!("echobase_test_{}", uuid::Uuid::new_v4().simple());
                // A database name cannot be a bound parameter; this one is ours, not input.
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                let _ = admin.close().await;
                let mut url = url::Url::parse(&admin_url).expect("test database url");
                url.set_path(&name);
                let database_url = DatabaseUrl::parse(url.as_str()).expect("postgres url");
                Some((TestDatabase::Postgres { admin_url, name }, database_url))
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside async; a short-lived runtime on its own thread does the work.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async {
                    let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await?;
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
                })
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("note: could not drop test database {}", name_of(self));
            }
        }
    }
}

fn name_of(db: &TestDatabase) -> &str {
    match db {
        TestDatabase::Postgres { name, .. } => name,
        TestDatabase::Sqlite(_) => "sqlite",
    }
}

pub fn skip_or_fail(reason: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{reason}; CI is set, so PostgreSQL tests must run");
    }
    eprintln!("SKIPPED (PostgreSQL unavailable): {reason}");
}

/// Settings for a test: a random loopback port, quiet logs.
pub fn test_settings(database_url: DatabaseUrl) -> Settings {
    Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url,
        database_max_connections: 5,
        log_level: "warn".into(),
        ..Settings::default()
    }
}

/// Writes `GET path` on a raw connection.
pub async fn send_get<S>(stream: &mut S, path: &str)
where
    S: tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::AsyncWriteExt;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
}

/// Sends `GET path` on a kept-alive connection and reads one response, as long
/// as its `content-length` says: its status line and its body.
pub async fn get_on<S>(stream: &mut S, path: &str) -> (String, String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::AsyncReadExt;
    send_get(stream, path).await;
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf))
            .await
            .expect("response in time")
            .expect("read");
        assert!(n > 0, "connection closed before a whole response");
        response.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&response);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().expect("a length"))
                })
                .unwrap_or(0);
            if body.len() >= length {
                let status_line = head.lines().next().unwrap_or_default().to_owned();
                return (status_line, body.to_owned());
            }
        }
    }
}

/// The value of one series (`name{labels}`, as rendered) in a `/metrics`
/// text; 0 when absent. Every app of a test binary shares one registry, so
/// tests compare with at least what they caused.
#[allow(dead_code)]
pub fn counter_value(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}
