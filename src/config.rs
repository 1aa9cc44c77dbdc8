//! Settings: defaults < TOML file < `ECHOBASE_*` environment < command-line flags.
//!
//! Each module and each shared concern declares its own settings struct, with
//! its defaults, checks and docs, beside the code that reads it
//! (`echo::settings`, `http::tls::TlsSettings`, ...); [`Settings`] nests them,
//! and this file only layers them. Every layer goes into one TOML table,
//! remembering which layer set each key, and the table is deserialized once:
//! an unknown key or a bad value is reported with the key's path and the
//! layer it came from, whichever layer that was. `config check` prints the
//! same structs, serialized (see [`crate::setting`]).
//!
//! Over 700 lines because of its tests: the layering code is about 400
//! lines; the rest are the unit tests of the layer precedence and of the
//! errors each layer reports, kept beside the code they pin down.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::echo::settings::EchoSettings;
use crate::events::settings::EventsSettings;
use crate::messages::settings::MessagesSettings;
use crate::mocks::settings::MocksSettings;
use crate::module::Module;
use crate::people::settings::PeopleSettings;
use crate::resources::settings::ResourcesSettings;
use crate::setting;

pub use crate::db::DatabaseUrl;
pub use crate::http::auth::AuthSettings;
pub use crate::http::cors::CorsSettings;
pub use crate::http::extract::DEFAULT_BODY_LIMIT;
pub use crate::http::security::{ModuleAuth, ModuleRateLimits, ModuleSecurity, Rate, RateLimits};
pub use crate::http::serve::ConnectionLimits;
pub use crate::http::tls::TlsSettings;
pub use crate::setting::Secret;
pub use crate::telemetry::LogFormat;

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "echobase.toml";
/// Environment variables with this prefix are settings.
pub const ENV_PREFIX: &str = "ECHOBASE_";
/// Variables under this prefix belong to the test harness, not to the server.
const ENV_TEST_PREFIX: &str = "ECHOBASE_TEST_";
/// The original echo server's variable for its shared secret.
const LEGACY_SERVER_KEY_ENV: &str = "SERVER_KEY";
/// The keys of a module's table that are its security settings
/// ([`ModuleSecurity`], read by the security layer), not the module's own.
const MODULE_SECURITY_KEYS: [&str; 3] = ["allow_ips", "auth", "rate_limit"];

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
    Defaults,
    File(PathBuf),
    Env(String),
    Flag,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::Defaults => f.write_str("the defaults"),
            Layer::File(path) => write!(f, "config file {}", path.display()),
            Layer::Env(name) => write!(f, "environment variable {name}"),
            Layer::Flag => f.write_str("command line"),
        }
    }
}

/// The effective settings of one echobase process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    #[serde(with = "setting::value")]
    pub listen: SocketAddr,
    #[serde(with = "setting::value")]
    pub database_url: DatabaseUrl,
    /// Upper bound of the PostgreSQL pool (and of SQLite's reader pool).
    #[serde(with = "setting::positive")]
    pub database_max_connections: u32,
    /// How long a request waits for a pooled connection; past it, a 503 with
    /// `Retry-After`. So also how soon requests learn the database is gone.
    #[serde(with = "setting::positive_duration")]
    pub database_acquire_timeout: Duration,
    /// SQLite's page cache, per pooled connection (each keeps its own, so the
    /// pool holds up to `database_max_connections` of them). No effect on
    /// PostgreSQL.
    #[serde(with = "setting::size")]
    pub database_sqlite_cache_size: usize,
    #[serde(with = "setting::value")]
    pub modules: Vec<Module>,
    /// Largest request body accepted, in bytes.
    #[serde(with = "setting::size")]
    pub body_limit: usize,
    /// Longest time a request may take, body included.
    #[serde(with = "setting::value")]
    pub request_timeout: Duration,
    /// How long in-flight requests may run after a shutdown signal.
    #[serde(with = "setting::value")]
    pub shutdown_timeout: Duration,
    #[serde(with = "setting::value")]
    pub log_format: LogFormat,
    /// A `tracing` filter such as `info` or `echobase=debug,sqlx=warn`.
    #[serde(
        deserialize_with = "crate::telemetry::log_filter",
        serialize_with = "setting::show"
    )]
    pub log_level: String,
    pub echo: EchoSettings,
    pub messages: MessagesSettings,
    pub people: PeopleSettings,
    pub events: EventsSettings,
    pub mocks: MocksSettings,
    pub resources: ResourcesSettings,
    /// In-process TLS.
    pub tls: TlsSettings,
    /// API keys; none means the server runs open.
    pub auth: AuthSettings,
    /// Proxies whose `X-Forwarded-For`/`Forwarded` headers are believed.
    #[serde(with = "setting::value")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Default rate limits of every module.
    pub rate_limit: RateLimits,
    /// Connection-level limits.
    pub limits: ConnectionLimits,
    /// Cross-origin requests; off unless origins are listed.
    pub cors: CorsSettings,
    /// Per-module security settings, set as `<module>.allow_ips`,
    /// `<module>.auth` and `<module>.rate_limit.*` in the module's own table,
    /// read apart from the module's settings (see [`Layers::read`]).
    #[serde(skip)]
    pub module_security: BTreeMap<Module, ModuleSecurity>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: DatabaseUrl::default(),
            database_max_connections: 10,
            database_acquire_timeout: crate::db::DEFAULT_ACQUIRE_TIMEOUT,
            database_sqlite_cache_size: crate::db::DEFAULT_SQLITE_CACHE_SIZE,
            modules: Module::ALL.to_vec(),
            body_limit: DEFAULT_BODY_LIMIT,
            request_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
            log_format: LogFormat::detect(),
            log_level: "info".into(),
            echo: EchoSettings::default(),
            messages: MessagesSettings::default(),
            people: PeopleSettings::default(),
            events: EventsSettings::default(),
            mocks: MocksSettings::default(),
            resources: ResourcesSettings::default(),
            tls: TlsSettings::default(),
            auth: AuthSettings::default(),
            trusted_proxies: Vec::new(),
            rate_limit: RateLimits::default(),
            limits: ConnectionLimits::default(),
            cors: CorsSettings::default(),
            module_security: BTreeMap::new(),
        }
    }
}

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
        let mut layers = Layers::default();
        match config_file {
            Some(path) => layers.file(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                layers.file(Path::new(DEFAULT_CONFIG_FILE))?
            }
            None => {}
        }
        layers.env(env)?;
        for (key, value) in flags {
            layers.set(key, toml::Value::String(value.clone()), Layer::Flag)?;
        }
        layers.read()
    }

    /// The effective security of a module: its own settings over the global ones.
    pub fn security_of(&self, module: Module) -> (ModuleSecurity, RateLimits) {
        let own = self
            .module_security
            .get(&module)
            .cloned()
            .unwrap_or_default();
        let limits = RateLimits {
            per_ip: own.rate_limit.per_ip.unwrap_or(self.rate_limit.per_ip),
            per_key: own.rate_limit.per_key.unwrap_or(self.rate_limit.per_key),
        };
        (own, limits)
    }

    /// Every effective value, one `key = value` line each, secrets masked.
    pub fn describe(&self) -> String {
        let module_rows = self.module_security.iter().flat_map(|(module, security)| {
            setting::describe(security)
                .into_iter()
                .map(|(key, value)| (join_key(module.name(), &key), value))
        });
        setting::describe(self)
            .into_iter()
            .chain(module_rows)
            .map(|(key, value)| format!("{key} = {value}\n"))
            .collect()
    }
}

/// Every layer's values in one table, and the layer that set each key.
#[derive(Default)]
struct Layers {
    table: toml::Table,
    /// `(dotted key, layer)`, in the order they were set.
    origins: Vec<(String, Layer)>,
}

impl Layers {
    fn file(&mut self, path: &Path) -> Result<(), ConfigError> {
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
            self.set(&key, value, Layer::File(path.to_owned()))?;
        }
        Ok(())
    }

    /// `ECHOBASE_DATABASE_URL` sets `database_url`; `__` separates a section
    /// from its key (`ECHOBASE_ECHO__SERVER_KEY` sets `echo.server_key`).
    ///
    /// The original echo server's `SERVER_KEY` is read too, as `echo.server_key`;
    /// `ECHOBASE_ECHO__SERVER_KEY` wins over it.
    fn env(&mut self, env: impl IntoIterator<Item = (String, String)>) -> Result<(), ConfigError> {
        let mut env: Vec<(String, String)> = env.into_iter().collect();
        // Sorted so that SERVER_KEY is applied before the ECHOBASE_ variables.
        env.sort_by_key(|(name, _)| name != LEGACY_SERVER_KEY_ENV);
        for (name, value) in env {
            let key = if name == LEGACY_SERVER_KEY_ENV {
                "echo.server_key".to_owned()
            } else if !name.starts_with(ENV_PREFIX)
                || name.starts_with(ENV_TEST_PREFIX)
                || name == "ECHOBASE_CONFIG"
            {
                continue; // not a setting (ECHOBASE_CONFIG names the file, for the CLI)
            } else {
                name[ENV_PREFIX.len()..]
                    .to_ascii_lowercase()
                    .replace("__", ".")
            };
            self.set(&key, toml::Value::String(value), Layer::Env(name))?;
        }
        Ok(())
    }

    /// Sets the dotted `key`, replacing what an earlier layer set there.
    fn set(&mut self, key: &str, value: toml::Value, layer: Layer) -> Result<(), ConfigError> {
        let mut segments: Vec<&str> = key.split('.').collect();
        let Some(last) = segments.pop().filter(|last| !last.is_empty()) else {
            return Err(self.unknown(key, layer));
        };
        let mut table = &mut self.table;
        for segment in segments {
            let entry = table
                .entry(segment)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(inner) = entry else {
                return Err(self.unknown(key, layer));
            };
            table = inner;
        }
        table.insert(last.to_owned(), value);
        self.origins.push((key.to_owned(), layer));
        Ok(())
    }

    /// The layer that set `key` last (or a table it sits in).
    fn origin_of(&self, key: &str) -> Layer {
        self.origins
            .iter()
            .rev()
            .find(|(set, _)| {
                set == key
                    || key.starts_with(&format!("{set}."))
                    || set.starts_with(&format!("{key}."))
            })
            .map_or(Layer::Defaults, |(_, layer)| layer.clone())
    }

    fn unknown(&self, key: &str, layer: Layer) -> ConfigError {
        let known: Vec<String> = setting::describe(&Settings::default())
            .into_iter()
            .map(|(key, _)| key)
            .chain(
                [
                    "allow_ips",
                    "auth",
                    "rate_limit.per_ip",
                    "rate_limit.per_key",
                ]
                .map(|key| format!("<module>.{key}")),
            )
            .collect();
        ConfigError::UnknownKey {
            key: key.to_owned(),
            layer,
            known: known.join(", "),
        }
    }

    /// Reads the table into [`Settings`]: each module's security settings
    /// first (taken out of its table), then everything else.
    fn read(mut self) -> Result<Settings, ConfigError> {
        let mut module_security = BTreeMap::new();
        for module in Module::ALL {
            let Some(toml::Value::Table(own)) = self.table.get_mut(module.name()) else {
                continue;
            };
            let security: toml::Table = MODULE_SECURITY_KEYS
                .iter()
                .filter_map(|key| Some((key.to_string(), own.remove(*key)?)))
                .collect();
            if !security.is_empty() {
                let security = self.deserialize(module.name(), security)?;
                module_security.insert(module, security);
            }
        }
        let table = std::mem::take(&mut self.table);
        let mut settings: Settings = self.deserialize("", table)?;
        settings.module_security = module_security;
        Ok(settings)
    }

    /// Deserializes `table`, found at `prefix`, naming the key and its
    /// layer in any error.
    fn deserialize<T: serde::de::DeserializeOwned>(
        &self,
        prefix: &str,
        table: toml::Table,
    ) -> Result<T, ConfigError> {
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|error| {
            let path = error.path().to_string();
            let key = join_key(prefix, if path == "." { "" } else { &path });
            // The first line: toml adds the key again after it.
            let reason = error.inner().to_string();
            let reason = reason.lines().next().unwrap_or_default().trim().to_owned();
            if reason.starts_with("unknown field") {
                // An unknown table: name the key the user wrote in it.
                let key = self
                    .origins
                    .iter()
                    .map(|(set, _)| set)
                    .find(|set| *set == &key || set.starts_with(&format!("{key}.")))
                    .cloned()
                    .unwrap_or(key);
                self.unknown(&key, self.origin_of(&key))
            } else {
                ConfigError::BadValue {
                    layer: self.origin_of(&key),
                    key,
                    reason,
                }
            }
        })
    }
}

fn join_key(path: &str, field: &str) -> String {
    match (path.is_empty(), field.is_empty()) {
        (true, _) => field.to_owned(),
        (_, true) => path.to_owned(),
        _ => format!("{path}.{field}"),
    }
}

/// A TOML table's leaves as dotted keys; arrays are values, not tables.
fn flatten(prefix: &str, table: toml::Table, out: &mut Vec<(String, toml::Value)>) {
    for (key, value) in table {
        let key = join_key(prefix, &key);
        match value {
            toml::Value::Table(inner) => flatten(&key, inner, out),
            other => out.push((key, other)),
        }
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
        assert_eq!(legacy.echo.server_key, Some(Secret::new("legacy")));

        let both = Settings::load(
            Some(config_file("").path()),
            env(&[
                ("ECHOBASE_ECHO__SERVER_KEY", "native"),
                ("SERVER_KEY", "legacy"),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(both.echo.server_key, Some(Secret::new("native")));
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
        let ids: Vec<&str> = settings.auth.keys.iter().map(|k| k.id()).collect();
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
    fn sizes_and_durations_parse_with_units_from_any_layer() {
        let file = config_file("body_limit = \"64KiB\"\n[limits]\nidle_timeout = \"500ms\"\n");
        let settings = Settings::load(
            Some(file.path()),
            env(&[
                ("ECHOBASE_MESSAGES__CACHE_SIZE", "10MiB"),
                ("ECHOBASE_PEOPLE__CACHED_PEOPLE", "0"),
            ]),
            &[("echo.max_delay".into(), "2m".into())],
        )
        .unwrap();
        assert_eq!(settings.people.cached_people, 0);
        assert_eq!(settings.body_limit, 64 * 1024);
        assert_eq!(settings.limits.idle_timeout, Duration::from_millis(500));
        assert_eq!(settings.messages.cache_size, 10 * 1024 * 1024);
        assert_eq!(settings.echo.max_delay, Duration::from_secs(120));
        let err = Settings::load(
            Some(config_file("").path()),
            env(&[("ECHOBASE_REQUEST_TIMEOUT", "soon")]),
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("`request_timeout`"), "{err}");
    }

    #[test]
    fn config_check_lists_every_key_it_accepts() {
        let shown = format!("\n{}", Settings::default().describe());
        for key in [
            "listen",
            "echo.prefix",
            "messages.max_size",
            "people.max_batch",
            "events.incident_label",
            "events.max_per_page",
            "mocks.journal_size",
            "tls.reload_interval",
            "auth.keys",
            "rate_limit.per_ip",
            "limits.max_connections",
            "cors.max_age",
        ] {
            assert!(shown.contains(&format!("\n{key} = ")), "{key} in:\n{shown}");
        }
    }
}
