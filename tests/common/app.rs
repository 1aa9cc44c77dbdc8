//! The in-process server: `TestApp::spawn` for a fresh database, with settings
//! a test may adjust (TLS, API keys, limits), restarted or doubled on the same
//! database when a test needs that.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use echobase::App;
use echobase::config::{ModuleRateLimits, ModuleSecurity, Rate, Settings};
use echobase::db::Database;
use echobase::http::tls::CertStore;
use echobase::module::Module;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{Backend, TestDatabase, test_settings};

/// An HTTP client with a bound on every request, so a hung server fails the test.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

// ---- spawn options: what `TestApp::spawn_with` adjustments say often ----------

/// An HTTPS listener on a free loopback port beside the HTTP one, with a
/// generated certificate (valid 365 days).
pub fn self_signed_https(settings: &mut Settings) {
    settings.tls.self_signed = true;
    settings.tls.listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
}

/// Lets each client address make `count` requests an hour to `module`.
pub fn per_ip_hourly_limit(settings: &mut Settings, module: Module, count: u32) {
    settings.module_security.insert(
        module,
        ModuleSecurity {
            rate_limit: ModuleRateLimits {
                per_ip: Some(Some(Rate {
                    count,
                    period: Duration::from_secs(3600),
                })),
                ..Default::default()
            },
            ..Default::default()
        },
    );
}

/// A running echobase.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The HTTPS listener, when the settings ask for one.
    pub tls_addr: Option<SocketAddr>,
    /// The certificates the HTTPS listener serves.
    pub tls: Option<Arc<CertStore>>,
    pub client: reqwest::Client,
    pub db: Database,
    pub backend: Backend,
    settings: Settings,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    // Last: the database goes after every server on it has stopped using it.
    database: Arc<TestDatabase>,
}

impl TestApp {
    /// `None` when the backend is unavailable here (never under `CI`).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts a server whose settings `adjust` may change first.
    pub async fn spawn_with(
        backend: Backend,
        adjust: impl FnOnce(&mut Settings),
    ) -> Option<TestApp> {
        let (database, url) = TestDatabase::create(backend).await?;
        let mut settings = test_settings(url);
        adjust(&mut settings);
        Some(Self::start(backend, settings, Arc::new(database)).await)
    }

    /// Stops this server and starts a new one with the same settings on the
    /// same database: what a deploy or a crash-free restart looks like.
    pub async fn restart(self) -> TestApp {
        let (backend, settings, database) =
            (self.backend, self.settings.clone(), self.database.clone());
        self.stop().await;
        Self::start(backend, settings, database).await
    }

    /// A second server with the same settings on the same database, as a
    /// second process of a deployment would be.
    pub async fn spawn_beside(&self) -> TestApp {
        Self::start(self.backend, self.settings.clone(), self.database.clone()).await
    }

    async fn start(backend: Backend, settings: Settings, database: Arc<TestDatabase>) -> TestApp {
        std::mem::forget(echobase::telemetry::init_logging(
            echobase::config::LogFormat::Pretty,
            &settings.log_level,
        ));
        let app = App::build(settings.clone()).await.expect("app builds");
        let (addr, tls_addr, tls) = (app.local_addr(), app.tls_addr(), app.tls());
        let db = app.database().clone();
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let server = tokio::spawn(async move {
            let stop = async {
                let _ = shutdown_rx.await;
            };
            app.run_until_stopped(stop).await.expect("server runs");
        });
        TestApp {
            addr,
            tls_addr,
            tls,
            client: client(),
            db,
            backend,
            settings,
            shutdown: Some(shutdown_tx),
            server: Some(server),
            database,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// `GET path` with one request header.
    pub async fn get_with(&self, path: &str, name: &str, value: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header(name, value)
            .send()
            .await
            .expect("GET")
    }

    /// `POST path` with `body` of `content_type`.
    pub async fn post_body(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.send_body(reqwest::Method::POST, path, content_type, body)
            .await
    }

    /// `method path` with `body` of `content_type`.
    pub async fn send_body(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .request(method, self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn status(&self, path: &str) -> reqwest::StatusCode {
        self.get(path).await.status()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path).await.json().await.expect("a JSON body")
    }

    /// Stops the server and waits for it, so its pool releases the database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), server).await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}
