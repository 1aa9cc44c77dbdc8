//! `echo.*` settings.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::setting::{self, Secret, SettingValue};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EchoSettings {
    /// The compatible route's `server_key`; generated and stored in the
    /// database when unset. The original's `SERVER_KEY` variable sets it too.
    #[serde(
        deserialize_with = "setting::value::deserialize",
        serialize_with = "show_key"
    )]
    pub server_key: Option<Secret>,
    /// Where the httpbin-compatible API is mounted.
    #[serde(deserialize_with = "prefix", serialize_with = "setting::show")]
    pub prefix: String,
    /// Longest wait the delay features grant (`/delay`, `/drip`, ...).
    #[serde(with = "setting::value")]
    pub max_delay: Duration,
    /// Hosts `/echo/redirect-to` may send clients to (`*`: any); paths on
    /// this server are always allowed.
    #[serde(with = "setting::value")]
    pub redirect_allow: Vec<String>,
    /// Most events one `/sse` request sends (a larger `count` is cut to it).
    #[serde(with = "setting::positive")]
    pub max_events: u64,
    /// CORS on the httpbin routes as httpbin answers it: every origin, with
    /// credentials, and `OPTIONS` preflights. On unless turned off; the rest
    /// of the server keeps to `cors.*`.
    #[serde(with = "setting::value")]
    pub cors: bool,
}

impl Default for EchoSettings {
    fn default() -> Self {
        EchoSettings {
            server_key: None,
            prefix: "/echo".into(),
            max_delay: Duration::from_secs(10),
            redirect_allow: Vec::new(),
            max_events: 10_000,
            cors: true,
        }
    }
}

fn show_key<S: Serializer>(key: &Option<Secret>, serializer: S) -> Result<S::Ok, S::Error> {
    match key {
        Some(key) => setting::show(key, serializer),
        None => serializer.serialize_str("(generated, stored in the database)"),
    }
}

/// `/echo`: starting with `/`, no trailing `/`, letters, digits and `-_.~`.
fn prefix<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    setting::read(deserializer, |value| {
        let prefix = String::from_setting(value)?;
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
    })
}
