//! Settings: defaults < TOML file < `ECHOBASE_*` environment < command-line flags.
//!
//! Every layer goes through one setter ([`Settings::set`]) keyed by the dotted
//! setting name, so an unknown key or a bad value is reported the same way
//! whichever layer it came from, and always names the key.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

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

/// The modules echobase can serve; each can be switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Module {
    Echo,
    Mocks,
    People,
    Events,
    Messages,
}

impl Module {
    pub const ALL: [Module; 5] = [
        Module::Echo,
        Module::Mocks,
        Module::People,
        Module::Events,
        Module::Messages,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Module::Echo => "echo",
            Module::Mocks => "mocks",
            Module::People => "people",
            Module::Events => "events",
            Module::Messages => "messages",
        }
    }
}

impl FromStr for Module {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Module::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown module `{s}` (expected one of echo, mocks, people, events, messages)"
                )
            })
    }
}

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
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: DatabaseUrl("sqlite://echobase.db".into()),
            database_max_connections: 10,
            modules: Module::ALL.to_vec(),
            body_limit: 10 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
            log_format: LogFormat::detect(),
            log_level: "info".into(),
            echo_server_key: None,
            echo_prefix: "/echo".into(),
            echo_max_delay: Duration::from_secs(10),
            echo_redirect_allow: Vec::new(),
            people_max_per_page: 100,
            people_max_batch: 1000,
            events_github_secret: None,
            events_gitlab_token: None,
            events_incident_label: "incident".into(),
            mocks_journal_size: 10_000,
            mocks_mappings_dir: None,
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
    "people.max_per_page",
    "people.max_batch",
    "events.github_secret",
    "events.gitlab_token",
    "events.incident_label",
    "mocks.journal_size",
    "mocks.mappings_dir",
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
        ];
        rows.iter().map(|(k, v)| format!("{k} = {v}\n")).collect()
    }
}

fn describe_secret(secret: &Option<Secret>) -> String {
    match secret {
        Some(_) => "**** (set)".to_owned(),
        None => "(unset: off)".to_owned(),
    }
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
