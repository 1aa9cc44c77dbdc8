//! Setting values: how each kind of value is read from any layer and how
//! `config check` shows it. A settings struct (each module and each shared
//! concern has one, beside the code that reads it) derives serde's traits
//! and puts `#[serde(with = "setting::value")]` (or one of the other
//! readers here) on each field: a new setting is one field in one place.
//!
//! Values arrive as TOML values. The config file keeps TOML's types; the
//! environment and flags give text, so every reader also accepts text
//! (`ECHOBASE_BODY_LIMIT=2048`, `--set limits.max_connections=2000`).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use toml::Value;

/// A kind of setting value.
pub trait SettingValue: Sized {
    /// Reads the value; the error says what is wrong with it, for a person.
    fn from_setting(value: &Value) -> Result<Self, String>;
    /// The value as `config check` prints it; secrets masked.
    fn shown(&self) -> String;
}

/// Reads a setting with `parse`, for fields whose values need a rule of
/// their own (`#[serde(deserialize_with = ...)]`).
pub fn read<'de, D, T>(
    deserializer: D,
    parse: impl FnOnce(&Value) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let value = Value::deserialize(deserializer)?;
    parse(&value).map_err(D::Error::custom)
}

/// Shows a setting, for `#[serde(serialize_with = "setting::show")]`.
pub fn show<T: SettingValue, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.shown())
}

/// Any [`SettingValue`].
pub mod value {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>, T: SettingValue>(d: D) -> Result<T, D::Error> {
        read(d, T::from_setting)
    }

    pub fn serialize<T: SettingValue, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        show(value, s)
    }
}

/// A count that must be at least 1.
pub mod positive {
    use super::*;

    pub fn deserialize<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: SettingValue + Default + PartialEq,
    {
        read(d, |value| {
            let n = T::from_setting(value)?;
            if n == T::default() {
                return Err("must be at least 1".into());
            }
            Ok(n)
        })
    }

    pub fn serialize<T: SettingValue, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        show(value, s)
    }
}

/// A size in bytes: `2048`, `64KiB`, `10MiB`, `1GiB`.
pub mod size {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
        read(d, parse_size)
    }

    pub fn serialize<S: Serializer>(value: &usize, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }
}

/// A duration that must be more than zero.
pub mod positive_duration {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        read(d, |value| {
            let duration = Duration::from_setting(value)?;
            if duration.is_zero() {
                return Err("must be more than zero".into());
            }
            Ok(duration)
        })
    }

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        show(value, s)
    }
}

/// The text of a value: TOML strings, and integers and booleans as written
/// (an environment variable is text either way).
pub fn text(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Integer(n) => Ok(n.to_string()),
        Value::Boolean(b) => Ok(b.to_string()),
        other => Err(format!("expected text, got {}", other.type_str())),
    }
}

/// `10MiB` as `("10", "MiB")`: the leading digits and the unit after them,
/// white space trimmed.
fn digits_and_unit(text: &str) -> (&str, &str) {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    (digits, unit.trim())
}

/// `2048`, `64KiB`, `10MiB`, `1GiB` (also `KB`, `K`, ...: binary units either way).
pub fn parse_size(value: &Value) -> Result<usize, String> {
    if let Value::Integer(n) = value {
        return usize::try_from(*n).map_err(|_| format!("{n} is not a valid size"));
    }
    let s = text(value)?;
    let (digits, unit) = digits_and_unit(&s);
    let multiplier: usize = match unit.to_ascii_lowercase().as_str() {
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

/// A secret setting: `Debug`, `Display` and `config check` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that uses it.
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

impl SettingValue for Secret {
    fn from_setting(value: &Value) -> Result<Self, String> {
        let secret = text(value)?;
        if secret.is_empty() {
            return Err("must not be empty".into());
        }
        Ok(Secret(secret))
    }

    fn shown(&self) -> String {
        "**** (set)".into()
    }
}

impl SettingValue for String {
    fn from_setting(value: &Value) -> Result<Self, String> {
        text(value)
    }

    fn shown(&self) -> String {
        self.clone()
    }
}

impl SettingValue for bool {
    fn from_setting(value: &Value) -> Result<Self, String> {
        match value {
            Value::Boolean(b) => Ok(*b),
            other => match text(other)?.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                text => Err(format!("`{text}`: expected true or false")),
            },
        }
    }

    fn shown(&self) -> String {
        self.to_string()
    }
}

macro_rules! integer_setting {
    ($($t:ty),*) => {$(
        impl SettingValue for $t {
            fn from_setting(value: &Value) -> Result<Self, String> {
                let text = text(value)?;
                text.trim()
                    .parse()
                    .map_err(|_| format!("`{text}` is not a whole number from {} to {}", <$t>::MIN, <$t>::MAX))
            }

            fn shown(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

integer_setting!(u32, u64, usize);

/// `30s`, `500ms`, `2m`; a bare number is seconds.
impl SettingValue for Duration {
    fn from_setting(value: &Value) -> Result<Self, String> {
        if let Value::Integer(n) = value {
            return u64::try_from(*n)
                .map(Duration::from_secs)
                .map_err(|_| format!("{n} is not a valid duration"));
        }
        let s = text(value)?;
        let (digits, unit) = digits_and_unit(&s);
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("`{s}` is not a duration such as 30s or 500ms"))?;
        match unit {
            "ms" => Ok(Duration::from_millis(n)),
            "" | "s" => Ok(Duration::from_secs(n)),
            "m" => n
                .checked_mul(60)
                .map(Duration::from_secs)
                .ok_or_else(|| format!("`{s}` is too long")),
            other => Err(format!("`{s}`: unknown unit `{other}` (use ms, s or m)")),
        }
    }

    fn shown(&self) -> String {
        format!("{}ms", self.as_millis())
    }
}

impl SettingValue for SocketAddr {
    fn from_setting(value: &Value) -> Result<Self, String> {
        let text = text(value)?;
        text.trim()
            .parse()
            .map_err(|_| format!("`{text}` is not an address such as 127.0.0.1:8080"))
    }

    fn shown(&self) -> String {
        self.to_string()
    }
}

impl SettingValue for PathBuf {
    fn from_setting(value: &Value) -> Result<Self, String> {
        let path = text(value)?;
        if path.is_empty() {
            return Err("must not be empty".into());
        }
        Ok(PathBuf::from(path))
    }

    fn shown(&self) -> String {
        self.display().to_string()
    }
}

/// An address or a CIDR network: `10.0.0.0/8`, `2001:db8::/32`, `127.0.0.1`.
impl SettingValue for ipnet::IpNet {
    fn from_setting(value: &Value) -> Result<Self, String> {
        let s = text(value)?;
        s.parse::<ipnet::IpNet>()
            .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map(|net| net.trunc())
            .map_err(|_| format!("`{s}` is not an address or a CIDR network such as 10.0.0.0/8"))
    }

    fn shown(&self) -> String {
        self.to_string()
    }
}

/// Unset, or a value.
impl<T: SettingValue> SettingValue for Option<T> {
    fn from_setting(value: &Value) -> Result<Self, String> {
        T::from_setting(value).map(Some)
    }

    fn shown(&self) -> String {
        self.as_ref()
            .map_or_else(|| "(unset)".to_owned(), SettingValue::shown)
    }
}

/// A TOML array, or comma-separated text.
impl<T: SettingValue> SettingValue for Vec<T> {
    fn from_setting(value: &Value) -> Result<Self, String> {
        match value {
            Value::Array(items) => items.iter().map(T::from_setting).collect(),
            other => text(other)?
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|item| T::from_setting(&Value::String(item.to_owned())))
                .collect(),
        }
    }

    fn shown(&self) -> String {
        self.iter()
            .map(SettingValue::shown)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Serializes a settings struct into `key = value` lines, in field order,
/// for `config check`: every leaf is the text its reader shows.
pub fn describe<T: Serialize>(settings: &T) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    if let Ok(value) = serde_json::to_value(settings) {
        flatten("", &value, &mut rows);
    }
    rows
}

fn flatten(prefix: &str, value: &serde_json::Value, rows: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Object(members) => {
            for (key, member) in members {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&key, member, rows);
            }
        }
        serde_json::Value::String(text) => rows.push((prefix.to_owned(), text.clone())),
        serde_json::Value::Null => rows.push((prefix.to_owned(), "(unset)".to_owned())),
        other => rows.push((prefix.to_owned(), other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_value(s: &str) -> Value {
        Value::String(s.to_owned())
    }

    #[test]
    fn sizes_and_durations_read_units_from_text_and_numbers_from_toml() {
        assert_eq!(parse_size(&text_value("10MiB")), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size(&Value::Integer(2048)), Ok(2048));
        assert!(
            parse_size(&text_value("3 parsecs"))
                .unwrap_err()
                .contains("unknown unit")
        );
        assert_eq!(
            Duration::from_setting(&text_value("500ms")),
            Ok(Duration::from_millis(500))
        );
        assert_eq!(
            Duration::from_setting(&Value::Integer(3)),
            Ok(Duration::from_secs(3))
        );
        assert!(Duration::from_setting(&text_value("2 fortnights")).is_err());
    }

    #[test]
    fn numbers_and_booleans_read_from_text_as_from_toml() {
        assert_eq!(u32::from_setting(&text_value("42")), Ok(42));
        assert_eq!(u32::from_setting(&Value::Integer(42)), Ok(42));
        assert!(u32::from_setting(&Value::Integer(-1)).is_err());
        assert_eq!(bool::from_setting(&text_value("true")), Ok(true));
        assert_eq!(bool::from_setting(&Value::Boolean(false)), Ok(false));
        assert!(bool::from_setting(&text_value("maybe")).is_err());
    }

    #[test]
    fn lists_are_toml_arrays_or_comma_text() {
        let from_text: Vec<String> = SettingValue::from_setting(&text_value("a, b,,c")).unwrap();
        assert_eq!(from_text, ["a", "b", "c"]);
        let from_array: Vec<String> =
            SettingValue::from_setting(&Value::Array(vec![text_value("x,y")])).unwrap();
        assert_eq!(from_array, ["x,y"]);
    }

    #[test]
    fn secrets_are_never_shown() {
        let secret = Secret::from_setting(&text_value("hunter2")).unwrap();
        assert_eq!(secret.shown(), "**** (set)");
        assert_eq!(format!("{secret} {secret:?}"), "**** Secret(****)");
        assert!(Secret::from_setting(&text_value("")).is_err());
    }
}
