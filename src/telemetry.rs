//! Logging (tracing) and the Prometheus registry.

use std::io::{BufWriter, Stderr, Write as _};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::MutexGuardWriter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogFormat {
    /// `pretty` when standard error is a terminal, `json` otherwise.
    pub fn detect() -> Self {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            LogFormat::Pretty
        } else {
            LogFormat::Json
        }
    }
}

/// `pretty`, `json`, or `auto` (pretty on a terminal, JSON otherwise).
impl crate::setting::SettingValue for LogFormat {
    fn from_setting(value: &toml::Value) -> Result<Self, String> {
        match crate::setting::text(value)?.trim() {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            "auto" => Ok(LogFormat::detect()),
            other => Err(format!("`{other}`: expected pretty, json or auto")),
        }
    }

    fn shown(&self) -> String {
        match self {
            LogFormat::Pretty => "pretty",
            LogFormat::Json => "json",
        }
        .to_owned()
    }
}

/// `log_level`: a `tracing` filter such as `info` or `echobase=debug,sqlx=warn`.
pub fn log_filter<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    crate::setting::read(deserializer, |value| {
        let filter = crate::setting::text(value)?;
        tracing_subscriber::EnvFilter::try_new(&filter).map_err(|e| e.to_string())?;
        Ok(filter)
    })
}

/// Latency buckets, in seconds: from well under a millisecond to the default timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

/// How long a log line may wait in the buffer before it is written.
const LOG_FLUSH_INTERVAL: Duration = Duration::from_millis(50);

/// Log lines are collected in a buffer and written to stderr in batches: one
/// write per buffer-full or per [`LOG_FLUSH_INTERVAL`], not a syscall on the
/// request path for every access-log line. Dropping the guard writes out
/// what is buffered.
#[must_use = "log lines still buffered when the guard is dropped are written then"]
pub struct LogGuard {
    buffer: Arc<Mutex<BufWriter<Stderr>>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        flush(&self.buffer);
    }
}

fn flush(buffer: &Mutex<BufWriter<Stderr>>) {
    // A line that cannot reach stderr has nowhere else to go.
    let _ = buffer
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .flush();
}

/// The `MakeWriter` of the log subscriber: each line is appended under the lock.
#[derive(Clone)]
struct BufferedStderr(Arc<Mutex<BufWriter<Stderr>>>);

impl<'a> MakeWriter<'a> for BufferedStderr {
    type Writer = MutexGuardWriter<'a, BufWriter<Stderr>>;

    fn make_writer(&'a self) -> Self::Writer {
        self.0.make_writer()
    }
}

/// Installs the global log subscriber, writing through a buffer that a
/// background thread flushes every [`LOG_FLUSH_INTERVAL`]. A second call
/// (tests build many apps in one process) keeps the first subscriber.
pub fn init_logging(format: LogFormat, filter: &str) -> LogGuard {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let buffer = Arc::new(Mutex::new(BufWriter::with_capacity(
        64 * 1024,
        std::io::stderr(),
    )));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(BufferedStderr(buffer.clone()));
    let installed = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
    if installed.is_ok() {
        let flushed = Arc::downgrade(&buffer);
        let spawned = std::thread::Builder::new()
            .name("echobase-log".into())
            .spawn(move || {
                while let Some(buffer) = flushed.upgrade() {
                    flush(&buffer);
                    drop(buffer);
                    std::thread::sleep(LOG_FLUSH_INTERVAL);
                }
            });
        if let Err(error) = spawned {
            eprintln!("cannot start the log flusher ({error}); log lines may be late");
        }
    }
    LogGuard { buffer }
}

/// The process-wide Prometheus registry, installed on first use. The
/// `metrics` facade has one global recorder, so every app in a process shares it.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                LATENCY_BUCKETS,
            )
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first; the handle then
        // renders an empty registry rather than crashing the server.
        let _ = metrics::set_global_recorder(recorder);
        register_counters_at_zero();
        handle
    })
}

/// The counters alerts count from, with every label value they take,
/// shown at 0 from start-up: a series that appears only at its first event
/// starts at 1, and `increase()` never counts that first event.
const COUNTERS_AT_ZERO: &[(&str, &str, &[&str])] = &[
    (
        "echobase_auth_failures_total",
        "reason",
        &[
            "missing",
            "invalid",
            "ambiguous",
            "scope",
            "rate_limited",
            "ip",
        ],
    ),
    (
        "echobase_connections_rejected_total",
        "reason",
        &["max_connections", "max_connections_per_client"],
    ),
    (
        "echobase_connections_closed_total",
        "reason",
        &["header_read_timeout", "idle_timeout"],
    ),
    (
        "echobase_tls_reloads_total",
        "result",
        &["loaded", "refused"],
    ),
    (
        "echobase_webhook_signature_failures_total",
        "source",
        &[
            "github",
            "gitlab",
            "pagerduty",
            "opsgenie",
            "jenkins",
            "argocd",
        ],
    ),
    (
        "echobase_mock_webhooks_total",
        "outcome",
        &["sent", "failed", "denied", "dropped", "invalid"],
    ),
];

fn register_counters_at_zero() {
    for (name, label, values) in COUNTERS_AT_ZERO {
        for value in *values {
            metrics::counter!(*name, *label => *value).increment(0);
        }
    }
    metrics::counter!("echobase_tls_handshake_failures_total").increment(0);
}

/// How often histogram samples are folded into their buckets.
const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Folds recorded histogram samples into their buckets now and then. Without
/// it they pile up in memory until `/metrics` is scraped, and a server nobody
/// scrapes grows without bound.
pub fn spawn_metrics_upkeep() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        let mut ticks = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            ticks.tick().await;
            prometheus().run_upkeep();
        }
    })
}
