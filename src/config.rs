//! Settings: defaults < TOML file < `ECHOBASE_*` environment < command-line flags.
//!
//! Every layer goes through one setter ([`Settings::set`]) keyed by the dotted
//! setting name, so an unknown key or a bad value is reported the same way
//! whichever layer it came from, and always names the key.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use crate::module::Module;

pub use crate::db::DatabaseUrl;
pub use crate::http::cors::CorsSettings;
pub use crate::http::extract::DEFAULT_BODY_LIMIT;
pub use crate::http::security::{ModuleAuth, ModuleSecurity, Rate, RateLimits};
pub use crate::http::serve::ConnectionLimits;
pub use crate::http::tls::TlsSettings;
pub use crate::telemetry::LogFormat;

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "echobase.toml";
/// Environment variables with this prefix are settings.
pub const ENV_PREFIX: &str = "ECHOBASE_";
/// Variables under this prefix belong to the test harness, not to the server.
const ENV_TEST_PREFIX: &str = "ECHOBASE_TEST_";
/// The original echo server's variable for its shared secret.
const LEGACY_SERVER_KEY_ENV: &str = "SERVER_KEY";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown setting `{key}` (from {layer}); known settings: {known}")]
    UnknownKey {
        key: String,
        layer: Layer,
        known: String,
    },
    #[error("bad value for `{key}` (from {layer}): {reason}")]
    BadValue {
        key: String,
        layer: Layer,
        reason: String,
    },
    #[error("cannot read config file {path}: {reason}")]
    File { path: PathBuf, reason: String },
}

/// Where a setting came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layer {
    File(PathBuf),
    Env(String),
    Flag,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::File(path) => write!(f, "config file {}", path.display()),
            Layer::Env(name) => write!(f, "environment variable {name}"),
            Layer::Flag => f.write_str("command line"),
        }
    }
}

/// A raw setting value before it is parsed for its key: TOML keeps its types,
/// environment variables and flags are text.
#[derive(Debug, Clone)]
pub enum RawValue {
    Toml(toml::Value),
    Text(String),
}

/// A secret setting: `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

/// The effective settings of one echobase process.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database_url: DatabaseUrl,
    /// Upper bound of the PostgreSQL pool (and of SQLite's reader pool).
    pub database_max_connections: u32,
    pub modules: Vec<Module>,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Longest time a request may take, body included.
    pub request_timeout: Duration,
    /// How long in-flight requests may run after a shutdown signal.
    pub shutdown_timeout: Duration,
    pub log_format: LogFormat,
    /// A `tracing` filter such as `info` or `echobase=debug,sqlx=warn`.
    pub log_level: String,
    /// The echo route's `server_key`; generated and stored in the database when unset.
    pub echo_server_key: Option<Secret>,
    /// Where the httpbin-compatible echo API is mounted (`/echo`).
    pub echo_prefix: String,
    /// Longest wait the echo API's delay features grant (`/delay`, `/drip`, ...).
    pub echo_max_delay: Duration,
    /// Hosts `/echo/redirect-to` may send clients to (`*`: any); paths on
    /// this server are always allowed.
    pub echo_redirect_allow: Vec<String>,
    /// Largest message `POST /v1/messages` accepts; `None`: `body_limit`.
    pub messages_max_size: Option<usize>,
    /// Bytes of hot messages kept in memory; 0 turns the cache off.
    pub messages_cache_size: usize,
    /// Most rows one page of `GET /v1/people` returns (`per_page` above it is a 400).
    pub people_max_per_page: u64,
    /// Most people one `POST /v1/people:batch` creates.
    pub people_max_batch: usize,
    /// HMAC secret of GitHub webhooks; GitHub webhooks are refused while unset.
    pub events_github_secret: Option<Secret>,
    /// Token GitLab webhooks must send; GitLab webhooks are refused while unset.
    pub events_gitlab_token: Option<Secret>,
    /// The GitHub issue label that makes an issue an incident.
    pub events_incident_label: String,
    /// Requests kept in the mocks' request journal (a ring buffer; 0 turns it off).
    pub mocks_journal_size: usize,
    /// A WireMock root (`mappings/`, `__files/`) whose stubs are loaded at start-up.
    pub mocks_mappings_dir: Option<PathBuf>,
    /// In-process TLS (`tls.*`).
    pub tls: TlsSettings,
    /// API keys, as hashes (`auth.keys`); none means the server runs open.
    pub auth_keys: Vec<crate::http::auth::ApiKey>,
    /// Proxies whose `X-Forwarded-For`/`Forwarded` headers are believed (`trusted_proxies`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Default rate limits of every module (`rate_limit.*`).
    pub rate_limit: RateLimits,
    /// Connection-level limits (`limits.*`).
    pub limits: ConnectionLimits,
    /// Cross-origin requests (`cors.*`); off unless origins are listed.
    pub cors: CorsSettings,
    /// Per-module security settings (`<module>.allow_ips`, `<module>.auth`,
    /// `<module>.rate_limit.*`).
    pub module_security: BTreeMap<Module, ModuleSecurity>,
}

impl Settings {
    /// The effective security of a module: its own settings over the global ones.
    pub fn security_of(&self, module: Module) -> (ModuleSecurity, RateLimits) {
        let own = self
            .module_security
            .get(&module)
            .cloned()
            .unwrap_or_default();
        let limits = RateLimits {
            per_ip: own.per_ip.unwrap_or(self.rate_limit.per_ip),
            per_key: own.per_key.unwrap_or(self.rate_limit.per_key),
        };
        (own, limits)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: DatabaseUrl::default(),
            database_max_connections: 10,
            modules: Module::ALL.to_vec(),
            body_limit: DEFAULT_BODY_LIMIT,
            request_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
            log_format: LogFormat::detect(),
            log_level: "info".into(),
            echo_server_key: None,
            echo_prefix: "/echo".into(),
            echo_max_delay: Duration::from_secs(10),
            echo_redirect_allow: Vec::new(),
            messages_max_size: None,
            messages_cache_size: 64 * 1024 * 1024,
            people_max_per_page: 100,
            people_max_batch: 1000,
            events_github_secret: None,
            events_gitlab_token: None,
            events_incident_label: "incident".into(),
            mocks_journal_size: 10_000,
            mocks_mappings_dir: None,
            tls: TlsSettings::default(),
            auth_keys: Vec::new(),
            trusted_proxies: Vec::new(),
            rate_limit: RateLimits::default(),
            limits: ConnectionLimits::default(),
            cors: CorsSettings::default(),
            module_security: BTreeMap::new(),
        }
    }
}

/// Every setting key, in the order `config check` prints them.
pub const KEYS: &[&str] = &[
    "listen",
    "database_url",
    "database_max_connections",
    "modules",
    "body_limit",
    "request_timeout",
    "shutdown_timeout",
    "log_format",
    "log_level",
    "echo.server_key",
    "echo.prefix",
    "echo.max_delay",
    "echo.redirect_allow",
    "messages.max_size",
    "messages.cache_size",
    "people.max_per_page",
    "people.max_batch",
    "events.github_secret",
    "events.gitlab_token",
    "events.incident_label",
    "mocks.journal_size",
    "mocks.mappings_dir",
    "tls.cert",
    "tls.key",
    "tls.self_signed",
    "tls.listen",
    "tls.reload_interval",
    "tls.expiry_warning_days",
    "auth.keys",
    "trusted_proxies",
    "rate_limit.per_ip",
    "rate_limit.per_key",
    "limits.max_header_bytes",
    "limits.max_headers",
    "limits.header_read_timeout",
    "limits.idle_timeout",
    "limits.max_connections",
    "cors.allow_origins",
    "cors.allow_methods",
    "cors.allow_headers",
    "cors.max_age",
    "<module>.allow_ips",
    "<module>.auth",
    "<module>.rate_limit.per_ip",
    "<module>.rate_limit.per_key",
];

impl Settings {
    /// Loads the layers in order. `config_file` is `--config` (must exist) or
    /// `None` to read `echobase.toml` when present; `env` is the process
    /// environment (passed in so tests control it); `flags` are `(key, value)`
    /// pairs from the command line.
    pub fn load(
        config_file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &[(String, String)],
    ) -> Result<Settings, ConfigError> {
        let mut settings = Settings::default();
        match config_file {
            Some(path) => settings.apply_file(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                settings.apply_file(Path::new(DEFAULT_CONFIG_FILE))?
            }
            None => {}
        }
        settings.apply_env(env)?;
        for (key, value) in flags {
            settings.set(key, RawValue::Text(value.clone()), Layer::Flag)?;
        }
        Ok(settings)
    }

    pub fn apply_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let file_error = |reason: String| ConfigError::File {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| file_error(e.to_string()))?;
        let mut entries = Vec::new();
        flatten("", table, &mut entries);
        for (key, value) in entries {
            self.set(&key, RawValue::Toml(value), Layer::File(path.to_owned()))?;
        }
        Ok(())
    }

    /// `ECHOBASE_DATABASE_URL` sets `database_url`; `__` separates a section
    /// from its key (`ECHOBASE_ECHO__SERVER_KEY` sets `echo.server_key`).
    ///
    /// The original echo server's `SERVER_KEY` is read too, as `echo.server_key`;
    /// `ECHOBASE_ECHO__SERVER_KEY` wins over it.
    pub fn apply_env(
        &mut self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        let mut env: Vec<(String, String)> = env.into_iter().collect();
        // Sorted so that SERVER_KEY is applied before the ECHOBASE_ variables.
        env.sort_by_key(|(name, _)| name != LEGACY_SERVER_KEY_ENV);
        for (name, value) in env {
            if name == LEGACY_SERVER_KEY_ENV {
                self.set(
                    "echo.server_key",
                    RawValue::Text(value),
                    Layer::Env(name.clone()),
                )?;
                continue;
            }
            if !name.starts_with(ENV_PREFIX) || name.starts_with(ENV_TEST_PREFIX) {
                continue;
            }
            if name == "ECHOBASE_CONFIG" {
                continue; // names the file, read by the CLI
            }
            let key = name[ENV_PREFIX.len()..]
                .to_ascii_lowercase()
                .replace("__", ".");
            self.set(&key, RawValue::Text(value), Layer::Env(name.clone()))?;
        }
        Ok(())
    }

    /// Sets one setting from any layer.
    pub fn set(&mut self, key: &str, value: RawValue, layer: Layer) -> Result<(), ConfigError> {
        let bad = |reason: String| ConfigError::BadValue {
            key: key.to_owned(),
            layer: layer.clone(),
            reason,
        };
        match key {
            "listen" => self.listen = parse_text(&value).map_err(bad)?,
            "database_url" => {
                self.database_url = DatabaseUrl::parse(&text(&value).map_err(bad)?).map_err(bad)?
            }
            "database_max_connections" => {
                let n: u32 = parse_integer(&value).map_err(bad)?;
                if n == 0 {
                    return Err(bad("must be at least 1".into()));
                }
                self.database_max_connections = n;
            }
            "modules" => self.modules = parse_list(&value).map_err(bad)?,
            "body_limit" => self.body_limit = parse_size(&value).map_err(bad)?,
            "request_timeout" => self.request_timeout = parse_duration(&value).map_err(bad)?,
            "shutdown_timeout" => self.shutdown_timeout = parse_duration(&value).map_err(bad)?,
            "log_format" => {
                self.log_format = match text(&value).map_err(bad)?.as_str() {
                    "pretty" => LogFormat::Pretty,
                    "json" => LogFormat::Json,
                    "auto" => LogFormat::detect(),
                    other => return Err(bad(format!("`{other}`: expected pretty, json or auto"))),
                }
            }
            "log_level" => {
                let filter = text(&value).map_err(bad)?;
                tracing_subscriber::EnvFilter::try_new(&filter).map_err(|e| bad(e.to_string()))?;
                self.log_level = filter;
            }
            "echo.server_key" => {
                let key = text(&value).map_err(bad)?;
                if key.is_empty() {
                    return Err(bad("must not be empty".into()));
                }
                self.echo_server_key = Some(Secret(key));
            }
            "echo.prefix" => self.echo_prefix = parse_prefix(&value).map_err(bad)?,
            "echo.max_delay" => self.echo_max_delay = parse_duration(&value).map_err(bad)?,
            "echo.redirect_allow" => {
                self.echo_redirect_allow = parse_strings(&value).map_err(bad)?
            }
            "messages.max_size" => {
                let size = parse_size(&value).map_err(bad)?;
                if size == 0 {
                    return Err(bad("must be at least 1 byte".into()));
                }
                self.messages_max_size = Some(size);
            }
            "messages.cache_size" => self.messages_cache_size = parse_size(&value).map_err(bad)?,
            "people.max_per_page" => {
                let n: u64 = parse_integer(&value).map_err(bad)?;
                if n == 0 {
                    return Err(bad("must be at least 1".into()));
                }
                self.people_max_per_page = n;
            }
            "people.max_batch" => {
                let n: usize = parse_integer(&value).map_err(bad)?;
                if n == 0 {
                    return Err(bad("must be at least 1".into()));
                }
                self.people_max_batch = n;
            }
            "events.github_secret" | "events.gitlab_token" => {
                let secret = text(&value).map_err(bad)?;
                if secret.is_empty() {
                    return Err(bad("must not be empty".into()));
                }
                let slot = if key == "events.github_secret" {
                    &mut self.events_github_secret
                } else {
                    &mut self.events_gitlab_token
                };
                *slot = Some(Secret(secret));
            }
            "events.incident_label" => {
                let label = text(&value).map_err(bad)?;
                if label.trim().is_empty() {
                    return Err(bad("must not be empty".into()));
                }
                self.events_incident_label = label.trim().to_owned();
            }
            "mocks.journal_size" => self.mocks_journal_size = parse_integer(&value).map_err(bad)?,
            "mocks.mappings_dir" => {
                let dir = text(&value).map_err(bad)?;
                if dir.is_empty() {
                    return Err(bad("must not be empty".into()));
                }
                self.mocks_mappings_dir = Some(PathBuf::from(dir));
            }
            "tls.cert" => self.tls.cert = Some(PathBuf::from(text(&value).map_err(bad)?)),
            "tls.key" => self.tls.key = Some(PathBuf::from(text(&value).map_err(bad)?)),
            "tls.self_signed" => self.tls.self_signed = parse_bool(&value).map_err(bad)?,
            "tls.listen" => self.tls.listen = Some(parse_text(&value).map_err(bad)?),
            "tls.reload_interval" => {
                let interval = parse_duration(&value).map_err(bad)?;
                if interval.is_zero() {
                    return Err(bad("must be more than zero".into()));
                }
                self.tls.reload_interval = interval;
            }
            "tls.expiry_warning_days" => {
                self.tls.expiry_warning_days = parse_integer(&value).map_err(bad)?
            }
            "auth.keys" => {
                self.auth_keys = parse_key_lines(&value)
                    .map_err(bad)?
                    .iter()
                    .map(|line| line.parse())
                    .collect::<Result<_, String>>()
                    .map_err(bad)?;
                let mut ids: Vec<&str> = self.auth_keys.iter().map(|k| k.id()).collect();
                ids.sort_unstable();
                if let Some(pair) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
                    return Err(bad(format!("key id `{}` appears twice", pair[0])));
                }
            }
            "trusted_proxies" => self.trusted_proxies = parse_networks(&value).map_err(bad)?,
            "rate_limit.per_ip" => self.rate_limit.per_ip = parse_rate(&value).map_err(bad)?,
            "rate_limit.per_key" => self.rate_limit.per_key = parse_rate(&value).map_err(bad)?,
            "limits.max_header_bytes" => {
                let size = parse_size(&value).map_err(bad)?;
                // hyper's read buffer cannot be smaller than this.
                if size < 8192 {
                    return Err(bad("must be at least 8KiB".into()));
                }
                self.limits.max_header_bytes = size;
            }
            "limits.max_headers" => {
                self.limits.max_headers =
                    positive(parse_integer(&value).map_err(bad)?).map_err(bad)?
            }
            "limits.header_read_timeout" => {
                self.limits.header_read_timeout =
                    positive_duration(parse_duration(&value).map_err(bad)?).map_err(bad)?
            }
            "limits.idle_timeout" => {
                self.limits.idle_timeout =
                    positive_duration(parse_duration(&value).map_err(bad)?).map_err(bad)?
            }
            "limits.max_connections" => {
                self.limits.max_connections =
                    positive(parse_integer(&value).map_err(bad)?).map_err(bad)?
            }
            "cors.allow_origins" => {
                let origins = parse_strings(&value).map_err(bad)?;
                for origin in &origins {
                    let ok = origin == "*"
                        || ((origin.starts_with("http://") || origin.starts_with("https://"))
                            && axum::http::HeaderValue::from_str(origin).is_ok()
                            && !origin.ends_with('/'));
                    if !ok {
                        return Err(bad(format!(
                            "`{origin}`: expected * or an origin such as https://app.example \
                             (scheme and host, no path)"
                        )));
                    }
                }
                self.cors.allow_origins = origins;
            }
            "cors.allow_methods" => {
                let methods = parse_strings(&value).map_err(bad)?;
                for method in &methods {
                    axum::http::Method::from_bytes(method.as_bytes())
                        .map_err(|_| bad(format!("`{method}` is not an HTTP method")))?;
                }
                self.cors.allow_methods = methods;
            }
            "cors.allow_headers" => {
                let headers = parse_strings(&value).map_err(bad)?;
                for name in &headers {
                    axum::http::HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| bad(format!("`{name}` is not a header name")))?;
                }
                self.cors.allow_headers = headers;
            }
            "cors.max_age" => self.cors.max_age = parse_duration(&value).map_err(bad)?,
            _ if self.set_module_security(key, &value).map_err(bad)? => {}
            _ => {
                return Err(ConfigError::UnknownKey {
                    key: key.to_owned(),
                    layer,
                    known: KEYS.join(", "),
                });
            }
        }
        Ok(())
    }

    /// `<module>.allow_ips`, `<module>.auth`, `<module>.rate_limit.per_ip|per_key`.
    /// `Ok(false)` when `key` is not one of these.
    fn set_module_security(&mut self, key: &str, value: &RawValue) -> Result<bool, String> {
        let Some((module, rest)) = key.split_once('.') else {
            return Ok(false);
        };
        let Ok(module) = module.parse::<Module>() else {
            return Ok(false);
        };
        let entry = self.module_security.entry(module).or_default();
        match rest {
            "allow_ips" => entry.allow_ips = Some(parse_networks(value)?),
            "auth" => {
                entry.auth = match text(value)?.as_str() {
                    "declared" => ModuleAuth::Declared,
                    "all" => ModuleAuth::All,
                    other => return Err(format!("`{other}`: expected declared or all")),
                }
            }
            "rate_limit.per_ip" => entry.per_ip = Some(parse_rate(value)?),
            "rate_limit.per_key" => entry.per_key = Some(parse_rate(value)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    pub fn module_enabled(&self, module: Module) -> bool {
        self.modules.contains(&module)
    }

    /// `key = value` lines of the effective settings, secrets masked.
    pub fn describe(&self) -> String {
        let modules: Vec<&str> = self.modules.iter().map(|m| m.name()).collect();
        let format = match self.log_format {
            LogFormat::Pretty => "pretty",
            LogFormat::Json => "json",
        };
        let rows = [
            ("listen", self.listen.to_string()),
            ("database_url", self.database_url.masked()),
            (
                "database_max_connections",
                self.database_max_connections.to_string(),
            ),
            ("modules", modules.join(",")),
            ("body_limit", self.body_limit.to_string()),
            (
                "request_timeout",
                format!("{}ms", self.request_timeout.as_millis()),
            ),
            (
                "shutdown_timeout",
                format!("{}ms", self.shutdown_timeout.as_millis()),
            ),
            ("log_format", format.to_owned()),
            ("log_level", self.log_level.clone()),
            (
                "echo.server_key",
                match &self.echo_server_key {
                    Some(_) => "**** (set)".to_owned(),
                    None => "(generated, stored in the database)".to_owned(),
                },
            ),
            ("echo.prefix", self.echo_prefix.clone()),
            (
                "echo.max_delay",
                format!("{}ms", self.echo_max_delay.as_millis()),
            ),
            ("echo.redirect_allow", self.echo_redirect_allow.join(",")),
            (
                "messages.max_size",
                match self.messages_max_size {
                    Some(size) => size.to_string(),
                    None => format!("{} (body_limit)", self.body_limit),
                },
            ),
            ("messages.cache_size", self.messages_cache_size.to_string()),
            ("people.max_per_page", self.people_max_per_page.to_string()),
            ("people.max_batch", self.people_max_batch.to_string()),
            (
                "events.github_secret",
                describe_secret(&self.events_github_secret),
            ),
            (
                "events.gitlab_token",
                describe_secret(&self.events_gitlab_token),
            ),
            ("events.incident_label", self.events_incident_label.clone()),
            ("mocks.journal_size", self.mocks_journal_size.to_string()),
            (
                "mocks.mappings_dir",
                self.mocks_mappings_dir
                    .as_ref()
                    .map_or_else(|| "(none)".to_owned(), |d| d.display().to_string()),
            ),
            ("tls.cert", path_or_unset(&self.tls.cert)),
            ("tls.key", path_or_unset(&self.tls.key)),
            ("tls.self_signed", self.tls.self_signed.to_string()),
            (
                "tls.listen",
                self.tls
                    .listen
                    .map_or_else(|| "(listen)".to_owned(), |a| a.to_string()),
            ),
            (
                "tls.reload_interval",
                format!("{}ms", self.tls.reload_interval.as_millis()),
            ),
            (
                "tls.expiry_warning_days",
                self.tls.expiry_warning_days.to_string(),
            ),
            (
                "auth.keys",
                if self.auth_keys.is_empty() {
                    "(none: the server is open)".to_owned()
                } else {
                    // Ids and scopes only; the hashes are not secret but are noise here.
                    self.auth_keys
                        .iter()
                        .map(|k| format!("{} ({})", k.id(), k.scopes_text()))
                        .collect::<Vec<_>>()
                        .join("; ")
                },
            ),
            ("trusted_proxies", join(&self.trusted_proxies)),
            ("rate_limit.per_ip", rate_text(self.rate_limit.per_ip)),
            ("rate_limit.per_key", rate_text(self.rate_limit.per_key)),
            (
                "limits.max_header_bytes",
                self.limits.max_header_bytes.to_string(),
            ),
            ("limits.max_headers", self.limits.max_headers.to_string()),
            (
                "limits.header_read_timeout",
                format!("{}ms", self.limits.header_read_timeout.as_millis()),
            ),
            (
                "limits.idle_timeout",
                format!("{}ms", self.limits.idle_timeout.as_millis()),
            ),
            (
                "limits.max_connections",
                self.limits.max_connections.to_string(),
            ),
            ("cors.allow_origins", self.cors.allow_origins.join(",")),
            ("cors.allow_methods", self.cors.allow_methods.join(",")),
            ("cors.allow_headers", self.cors.allow_headers.join(",")),
            (
                "cors.max_age",
                format!("{}ms", self.cors.max_age.as_millis()),
            ),
        ];
        let mut out: String = rows.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
        for (module, security) in &self.module_security {
            let name = module.name();
            if let Some(networks) = &security.allow_ips {
                out.push_str(&format!("{name}.allow_ips = {}\n", join(networks)));
            }
            if security.auth == ModuleAuth::All {
                out.push_str(&format!("{name}.auth = all\n"));
            }
            if let Some(rate) = security.per_ip {
                out.push_str(&format!("{name}.rate_limit.per_ip = {}\n", rate_text(rate)));
            }
            if let Some(rate) = security.per_key {
                out.push_str(&format!(
                    "{name}.rate_limit.per_key = {}\n",
                    rate_text(rate)
                ));
            }
        }
        out
    }
}

fn path_or_unset(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map_or_else(|| "(unset)".to_owned(), |p| p.display().to_string())
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn rate_text(rate: Option<Rate>) -> String {
    rate.map_or_else(|| "off".to_owned(), |r| r.to_string())
}

fn parse_bool(value: &RawValue) -> Result<bool, String> {
    match value {
        RawValue::Toml(toml::Value::Boolean(b)) => Ok(*b),
        other => match text(other)?.trim() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            s => Err(format!("`{s}`: expected true or false")),
        },
    }
}

fn positive(n: usize) -> Result<usize, String> {
    if n == 0 {
        Err("must be at least 1".into())
    } else {
        Ok(n)
    }
}

fn describe_secret(secret: &Option<Secret>) -> String {
    match secret {
        Some(_) => "**** (set)".to_owned(),
        None => "(unset: off)".to_owned(),
    }
}

fn positive_duration(d: Duration) -> Result<Duration, String> {
    if d.is_zero() {
        Err("must be more than zero".into())
    } else {
        Ok(d)
    }
}

/// `off` (or `none`) disables; otherwise a [`Rate`].
fn parse_rate(value: &RawValue) -> Result<Option<Rate>, String> {
    let s = text(value)?;
    match s.trim() {
        "off" | "none" | "" => Ok(None),
        other => other.parse().map(Some),
    }
}

/// CIDR networks (`10.0.0.0/8`, `2001:db8::/32`) or single addresses.
fn parse_networks(value: &RawValue) -> Result<Vec<ipnet::IpNet>, String> {
    parse_strings(value)?
        .iter()
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| {
                    format!("`{s}` is not an address or a CIDR network such as 10.0.0.0/8")
                })
        })
        .collect()
}

/// API key lines: a TOML array, or text with lines separated by `;` or
/// newlines (their scopes hold commas, so commas cannot separate keys).
fn parse_key_lines(value: &RawValue) -> Result<Vec<String>, String> {
    Ok(match value {
        RawValue::Toml(toml::Value::Array(items)) => items
            .iter()
            .map(|item| text(&RawValue::Toml(item.clone())))
            .collect::<Result<_, _>>()?,
        other => text(other)?
            .split([';', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// `{a = {b = 1}}` becomes `[("a.b", 1)]`.
fn flatten(prefix: &str, table: toml::Table, out: &mut Vec<(String, toml::Value)>) {
    for (key, value) in table {
        let full = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&full, inner, out),
            other => out.push((full, other)),
        }
    }
}

fn text(value: &RawValue) -> Result<String, String> {
    match value {
        RawValue::Text(s) | RawValue::Toml(toml::Value::String(s)) => Ok(s.clone()),
        RawValue::Toml(other) => Err(format!("expected a string, found {}", other.type_str())),
    }
}

fn parse_text<T: FromStr>(value: &RawValue) -> Result<T, String>
where
    T::Err: fmt::Display,
{
    let s = text(value)?;
    s.parse().map_err(|e| format!("`{s}`: {e}"))
}

fn parse_integer<T: TryFrom<i64> + FromStr>(value: &RawValue) -> Result<T, String> {
    match value {
        RawValue::Toml(toml::Value::Integer(i)) => {
            T::try_from(*i).map_err(|_| format!("{i} is out of range"))
        }
        RawValue::Text(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not a whole number")),
        RawValue::Toml(other) => Err(format!("expected a number, found {}", other.type_str())),
    }
}

/// A list is a TOML array of strings, or comma-separated text.
fn parse_list<T: FromStr<Err = String>>(value: &RawValue) -> Result<Vec<T>, String> {
    parse_strings(value)?.iter().map(|s| s.parse()).collect()
}

fn parse_strings(value: &RawValue) -> Result<Vec<String>, String> {
    Ok(match value {
        RawValue::Toml(toml::Value::Array(items)) => items
            .iter()
            .map(|item| text(&RawValue::Toml(item.clone())))
            .collect::<Result<_, _>>()?,
        other => text(other)?
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// A path prefix to mount routes under: `/echo`, `/tools/echo` (no trailing
/// slash, and not `/` itself, which belongs to the original echo route).
fn parse_prefix(value: &RawValue) -> Result<String, String> {
    let prefix = text(value)?;
    let well_formed = prefix.starts_with('/')
        && prefix.len() > 1
        && !prefix.ends_with('/')
        && !prefix.contains("//")
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b));
    if well_formed {
        Ok(prefix)
    } else {
        Err(format!(
            "`{prefix}`: expected a path such as /echo (starting with /, no trailing /, \
             letters, digits and -_.~ only)"
        ))
    }
}

/// Bytes as a number, or with a unit: `512`, `64KiB`, `10MiB`, `1GiB` (also KB/MB/GB).
pub fn parse_size(value: &RawValue) -> Result<usize, String> {
    if let RawValue::Toml(toml::Value::Integer(n)) = value {
        return usize::try_from(*n).map_err(|_| format!("{n} is not a valid size"));
    }
    let s = text(value)?;
    let trimmed = s.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let multiplier: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "kb" | "k" => 1024,
        "mib" | "mb" | "m" => 1024 * 1024,
        "gib" | "gb" | "g" => 1024 * 1024 * 1024,
        other => {
            return Err(format!(
                "`{s}`: unknown unit `{other}` (use B, KiB, MiB or GiB)"
            ));
        }
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size such as 10MiB"))?;
    n.checked_mul(multiplier)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// A duration with a unit: `500ms`, `30s`, `5m`; a bare number means seconds.
pub fn parse_duration(value: &RawValue) -> Result<Duration, String> {
    if let RawValue::Toml(toml::Value::Integer(n)) = value {
        return u64::try_from(*n)
            .map(Duration::from_secs)
            .map_err(|_| format!("{n} is not a valid duration"));
    }
    let s = text(value)?;
    let trimmed = s.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 30s or 500ms"))?;
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        other => Err(format!("`{s}`: unknown unit `{other}` (use ms, s or m)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn config_file(body: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(body.as_bytes()).expect("write temp file");
        file
    }

    #[test]
    fn defaults_apply_when_no_layer_sets_a_key() {
        let settings = Settings::load(Some(config_file("").path()), env(&[]), &[]).unwrap();
        assert_eq!(settings.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(settings.database_url.expose(), "sqlite://echobase.db");
        assert_eq!(settings.modules, Module::ALL.to_vec());
    }

    #[test]
    fn file_overrides_defaults_env_overrides_file_flags_override_env() {
        let file = config_file(
            "listen = \"127.0.0.1:1000\"\nbody_limit = \"1MiB\"\nrequest_timeout = 5\nlog_level = \"debug\"\n",
        );
        let environment = env(&[
            ("ECHOBASE_BODY_LIMIT", "2048"),
            ("ECHOBASE_LISTEN", "127.0.0.1:2000"),
            ("PATH", "/usr/bin"),
        ]);
        let flags = vec![("listen".to_string(), "127.0.0.1:3000".to_string())];
        let settings = Settings::load(Some(file.path()), environment, &flags).unwrap();
        assert_eq!(
            settings.listen,
            "127.0.0.1:3000".parse().unwrap(),
            "flag wins"
        );
        assert_eq!(settings.body_limit, 2048, "env beats file");
        assert_eq!(
            settings.request_timeout,
            Duration::from_secs(5),
            "file beats default"
        );
        assert_eq!(settings.log_level, "debug");
    }

    #[test]
    fn unknown_key_in_file_names_the_key_and_the_file() {
        let file = config_file("listn = \"127.0.0.1:1\"\n");
        let err = Settings::load(Some(file.path()), env(&[]), &[]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("`listn`"), "{message}");
        assert!(message.contains("config file"), "{message}");
    }

    #[test]
    fn unknown_environment_variable_names_the_variable() {
        let err = Settings::load(
            Some(config_file("").path()),
            env(&[("ECHOBASE_LISTEN_ADDR", "x")]),
            &[],
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("`listen_addr`"), "{message}");
        assert!(message.contains("ECHOBASE_LISTEN_ADDR"), "{message}");
    }

    #[test]
    fn bad_value_names_the_key_and_the_reason() {
        let err = Settings::load(
            Some(config_file("").path()),
            env(&[("ECHOBASE_BODY_LIMIT", "ten megs")]),
            &[],
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("`body_limit`"), "{message}");
        assert!(message.contains("ten megs"), "{message}");

        let file = config_file("database_max_connections = \"many\"\n");
        let err = Settings::load(Some(file.path()), env(&[]), &[]).unwrap_err();
        assert!(
            err.to_string().contains("`database_max_connections`"),
            "{err}"
        );
    }

    #[test]
    fn test_harness_variables_are_not_settings() {
        let settings = Settings::load(
            Some(config_file("").path()),
            env(&[("ECHOBASE_TEST_DATABASE_URL", "postgres://x")]),
            &[],
        );
        assert!(settings.is_ok());
    }

    #[test]
    fn missing_config_file_is_an_error() {
        let err = Settings::load(Some(Path::new("/nonexistent/echobase.toml")), env(&[]), &[])
            .unwrap_err();
        assert!(matches!(err, ConfigError::File { .. }), "{err}");
    }

    #[test]
    fn modules_accept_a_toml_array_or_comma_text_and_reject_unknown_names() {
        let file = config_file("modules = [\"echo\", \"messages\"]\n");
        let settings = Settings::load(Some(file.path()), env(&[]), &[]).unwrap();
        assert_eq!(settings.modules, vec![Module::Echo, Module::Messages]);

        let settings = Settings::load(
            Some(config_file("").path()),
            env(&[("ECHOBASE_MODULES", "people, events")]),
            &[],
        )
        .unwrap();
        assert_eq!(settings.modules, vec![Module::People, Module::Events]);

        let err = Settings::load(
            Some(config_file("").path()),
            env(&[("ECHOBASE_MODULES", "echo,telepathy")]),
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("telepathy"), "{err}");
    }

    #[test]
    fn database_password_is_masked_everywhere_it_is_shown() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db.example:5432/echo?password=other")
            .unwrap();
        for shown in [url.masked(), format!("{url}"), format!("{url:?}")] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(!shown.contains("other"), "{shown}");
            assert!(shown.contains("app:****@db.example"), "{shown}");
        }
        let settings = Settings {
            database_url: url,
            ..Settings::default()
        };
        assert!(!settings.describe().contains("s3cret"));
        assert!(!format!("{settings:?}").contains("s3cret"));
    }

    #[test]
    fn server_key_comes_from_legacy_env_unless_echobase_env_sets_it() {
        let legacy = Settings::load(
            Some(config_file("").path()),
            env(&[("SERVER_KEY", "legacy")]),
            &[],
        )
        .unwrap();
        assert_eq!(legacy.echo_server_key, Some(Secret::new("legacy")));

        let both = Settings::load(
            Some(config_file("").path()),
            env(&[
                ("ECHOBASE_ECHO__SERVER_KEY", "native"),
                ("SERVER_KEY", "legacy"),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(both.echo_server_key, Some(Secret::new("native")));
        assert!(!both.describe().contains("native"), "never printed");
        assert!(!format!("{both:?}").contains("native"), "never printed");
    }

    #[test]
    fn security_settings_parse_from_file_and_environment() {
        let hash = "ab".repeat(32);
        let file = config_file(&format!(
            "trusted_proxies = [\"10.0.0.0/8\", \"192.0.2.7\"]\n\
             [auth]\nkeys = [\"ci:{hash}:mocks:write,events:read\"]\n\
             [rate_limit]\nper_ip = \"50/s\"\n\
             [mocks]\nallow_ips = [\"10.20.0.0/16\"]\nauth = \"all\"\n\
             [mocks.rate_limit]\nper_ip = \"off\"\nper_key = \"600/m\"\n\
             [tls]\nself_signed = true\nexpiry_warning_days = 30\n"
        ));
        let settings = Settings::load(
            Some(file.path()),
            env(&[
                ("ECHOBASE_LIMITS__MAX_CONNECTIONS", "100"),
                (
                    "ECHOBASE_AUTH__KEYS",
                    &format!("a:{hash}:admin; b:{}:people:read", "cd".repeat(32)),
                ),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(settings.trusted_proxies.len(), 2);
        let ids: Vec<&str> = settings.auth_keys.iter().map(|k| k.id()).collect();
        assert_eq!(ids, ["a", "b"], "env replaces the file's keys");
        assert_eq!(settings.limits.max_connections, 100);
        assert!(settings.tls.enabled());
        assert_eq!(settings.tls.expiry_warning_days, 30);
        let (mocks, limits) = settings.security_of(Module::Mocks);
        assert_eq!(mocks.auth, ModuleAuth::All);
        assert_eq!(mocks.allow_ips.unwrap().len(), 1);
        assert_eq!(limits.per_ip, None, "off overrides the global limit");
        assert_eq!(limits.per_key, "600/m".parse().ok());
        let (_, events) = settings.security_of(Module::Events);
        assert_eq!(events.per_ip, "50/s".parse().ok(), "global default");
        assert!(
            !settings.describe().contains(&hash),
            "hashes are not printed"
        );
    }

    #[test]
    fn bad_security_values_name_the_key() {
        for (name, value, key) in [
            ("ECHOBASE_RATE_LIMIT__PER_IP", "lots", "rate_limit.per_ip"),
            ("ECHOBASE_TRUSTED_PROXIES", "10.0.0.0/99", "trusted_proxies"),
            ("ECHOBASE_AUTH__KEYS", "ci:short:admin", "auth.keys"),
            (
                "ECHOBASE_LIMITS__MAX_HEADER_BYTES",
                "1KiB",
                "limits.max_header_bytes",
            ),
            ("ECHOBASE_MOCKS__AUTH", "sometimes", "mocks.auth"),
            (
                "ECHOBASE_CORS__ALLOW_ORIGINS",
                "https://a.example/path/",
                "cors.allow_origins",
            ),
        ] {
            let err = Settings::load(Some(config_file("").path()), env(&[(name, value)]), &[])
                .unwrap_err();
            assert!(err.to_string().contains(&format!("`{key}`")), "{err}");
        }
        let hash = "ab".repeat(32);
        let err = Settings::load(
            Some(config_file("").path()),
            env(&[(
                "ECHOBASE_AUTH__KEYS",
                &format!("x:{hash}:admin;x:{hash}:admin"),
            )]),
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
    }

    #[test]
    fn sizes_and_durations_parse_with_units() {
        let t = |s: &str| RawValue::Text(s.into());
        assert_eq!(parse_size(&t("64KiB")), Ok(64 * 1024));
        assert_eq!(parse_size(&t("10MiB")), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size(&t("512")), Ok(512));
        assert!(parse_size(&t("10 parsecs")).is_err());
        assert_eq!(parse_duration(&t("500ms")), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration(&t("2m")), Ok(Duration::from_secs(120)));
        assert!(parse_duration(&t("soon")).is_err());
    }
}
