//! What an event is, how input becomes one, and the time formats both
//! surfaces speak.
//!
//! An event is a fact from a delivery pipeline: a commit was pushed, a build
//! was staged, a sha was deployed, an incident was opened or resolved. Its
//! `id` makes storing idempotent: the same id twice is stored once. Input
//! without an id gets one derived from its content, so importing the same file
//! twice stores nothing new.

use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::http::FieldError;

/// The kinds the queries and DORA give a meaning to. Any other lower-case name
/// is accepted and stored as it is.
pub mod kind {
    pub const COMMIT: &str = "commit";
    pub const STAGE: &str = "stage";
    pub const DEPLOY: &str = "deploy";
    pub const CHANGE_MERGED: &str = "change_merged";
    pub const INCIDENT_OPENED: &str = "incident_opened";
    pub const INCIDENT_RESOLVED: &str = "incident_resolved";
}

/// Longest id, kind, actor, service, environment, sha or result, in bytes.
pub const MAX_TEXT_LEN: usize = 256;
/// Largest `attributes` object, serialized, in bytes.
pub const MAX_ATTRIBUTES_LEN: usize = 16 * 1024;
/// Earliest and latest storable times: 1900-01-01 and 9999-12-31T23:59:59.999Z.
pub const MIN_TIME_MS: i64 = -2_208_988_800_000;
pub const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// A valid event, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    /// UTC epoch milliseconds.
    pub time_ms: i64,
    pub kind: String,
    /// Who did it (the original service's `engineer`).
    pub actor: Option<String>,
    pub service: Option<String>,
    pub environment: Option<String>,
    /// The commit the event is about.
    pub sha: Option<String>,
    /// `success`, `failure`, ...: free text; `failure`, `failed` and `error` mean failed.
    pub result: Option<String>,
    pub attributes: Map<String, Value>,
}

impl Event {
    /// The integer the compatible routes show as `id`: the event's own id when
    /// it is a decimal integer (as every original event's is).
    pub fn legacy_id(&self) -> Option<i64> {
        legacy_id_of(&self.id)
    }

    /// Whether `result` says the event (a deployment) failed.
    pub fn failed(&self) -> bool {
        is_failure(self.result.as_deref())
    }

    /// The first field holding a NUL character, which no backend may be
    /// given (see [`refuse_nul`]): `actor`, or a path into the attributes
    /// such as `attributes.tags.0`.
    pub fn nul_field(&self) -> Option<String> {
        let texts = [
            ("id", Some(&self.id)),
            ("kind", Some(&self.kind)),
            ("actor", self.actor.as_ref()),
            ("service", self.service.as_ref()),
            ("environment", self.environment.as_ref()),
            ("sha", self.sha.as_ref()),
            ("result", self.result.as_ref()),
        ];
        texts
            .into_iter()
            .find(|(_, text)| text.is_some_and(|t| refuse_nul(t).is_err()))
            .map(|(name, _)| name.to_owned())
            .or_else(|| nul_in_object(&self.attributes, "attributes"))
    }
}

/// Why a text is refused before it reaches a store: PostgreSQL's text and
/// JSONB cannot hold U+0000 (SQLite can). Refusing it on both backends keeps
/// them alike, and the client gets a 4xx naming the field instead of a
/// storage error.
pub fn refuse_nul(text: &str) -> Result<(), String> {
    if text.contains('\0') {
        Err(NUL_REFUSED.into())
    } else {
        Ok(())
    }
}

/// What [`refuse_nul`] says.
pub const NUL_REFUSED: &str = "must not contain the NUL character (U+0000)";

/// The path (`attributes.tags.0`) of the first key or string below `path`
/// that holds a NUL character.
fn nul_in_object(object: &Map<String, Value>, path: &str) -> Option<String> {
    object.iter().find_map(|(key, value)| {
        let here = format!("{path}.{key}");
        if key.contains('\0') {
            Some(here)
        } else {
            nul_in_value(value, &here)
        }
    })
}

fn nul_in_value(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(text) => text.contains('\0').then(|| path.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_in_value(item, &format!("{path}.{i}"))),
        Value::Object(object) => nul_in_object(object, path),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

/// `"15096455795363"` is `Some(15096455795363)`; `"007"`, `"-1"` and `"a1"` are not ids
/// of the original service.
pub fn legacy_id_of(id: &str) -> Option<i64> {
    let canonical = !id.is_empty()
        && id.len() <= 18
        && id.bytes().all(|b| b.is_ascii_digit())
        && (id == "0" || !id.starts_with('0'));
    if canonical { id.parse().ok() } else { None }
}

/// `failure`, `failed` and `error` (any case) mean failed; anything else, or nothing, did not fail.
pub fn is_failure(result: Option<&str>) -> bool {
    result.is_some_and(|r| {
        ["failure", "failed", "error"]
            .iter()
            .any(|f| r.eq_ignore_ascii_case(f))
    })
}

/// A stored event and its place in the store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Insertion order, unique.
    pub seq: i64,
    pub event: Event,
}

impl StoredEvent {
    /// The compat `id`: the original integer id, else the sequence number.
    pub fn compat_id(&self) -> i64 {
        self.event.legacy_id().unwrap_or(self.seq)
    }
}

/// One event as a client sends it (`POST /v1/events`, NDJSON lines, files).
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// Unique id; the same id twice is stored once. Default: derived from the content.
    #[schema(schema_with = super::document::event_text_schema, example = "deploy-web-42")]
    pub id: Option<String>,
    /// RFC 3339 text (`2017-11-01T12:00:00Z`, or another form of `/v1/events`'
    /// `from`), or a number of seconds since the epoch; 1900 to 9999.
    #[schema(schema_with = super::document::event_time_schema, required = true)]
    pub time: Option<Value>,
    /// `commit`, `stage`, `deploy`, `change_merged`, `incident_opened`,
    /// `incident_resolved`, or any other lower-case name.
    #[schema(value_type = String, required = true, pattern = "^[a-z][a-z0-9_.-]{0,63}$", example = "deploy")]
    pub kind: Option<String>,
    /// Who did it; `engineer` is accepted as another name for it.
    #[serde(alias = "engineer")]
    #[schema(schema_with = super::document::event_text_schema, example = "vincent")]
    pub actor: Option<String>,
    #[schema(schema_with = super::document::event_text_schema, example = "web")]
    pub service: Option<String>,
    #[schema(schema_with = super::document::event_text_schema, example = "production")]
    pub environment: Option<String>,
    #[schema(schema_with = super::document::event_text_schema, example = "6ba954da31142c762b4c0c3c11837eed")]
    pub sha: Option<String>,
    /// `success`, `failure`, ...; `failure`, `failed` and `error` mean failed.
    #[schema(schema_with = super::document::event_text_schema, example = "success")]
    pub result: Option<String>,
    /// Free-form JSON object (16 KiB at most, serialized, and no NUL character
    /// in a key or a text at any depth); `incident_id` names the incident of
    /// incident events.
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Map<String, Value>>,
}

/// The body of `POST /v1/events`: one event, or an array of them.
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Documentation only: the body is read as JSON and checked element by element.
pub enum EventsBody {
    One(Box<EventInput>),
    Many(Vec<EventInput>),
}

impl EventInput {
    /// Validates the input; field errors are prefixed with `prefix` (`3.time`
    /// for the fourth element of an array, `time` for a lone event).
    pub fn into_event(self, prefix: &str) -> Result<Event, Vec<FieldError>> {
        let mut errors = Vec::new();
        let field = |name: &str| {
            if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}.{name}")
            }
        };
        let time_ms = match &self.time {
            None | Some(Value::Null) => {
                errors.push(FieldError::new(field("time"), "is required"));
                0
            }
            Some(value) => match time_from_json(value) {
                Ok(ms) => ms,
                Err(message) => {
                    errors.push(FieldError::new(field("time"), message));
                    0
                }
            },
        };
        let kind = match self.kind.as_deref().map(str::trim) {
            None | Some("") => {
                errors.push(FieldError::new(field("kind"), "is required"));
                String::new()
            }
            Some(kind) => match validate_kind(kind) {
                Ok(()) => kind.to_owned(),
                Err(message) => {
                    errors.push(FieldError::new(field("kind"), message));
                    String::new()
                }
            },
        };
        let mut text = |name: &str, value: Option<String>| -> Option<String> {
            let value = value?.trim().to_owned();
            if value.is_empty() {
                return None;
            }
            if let Err(message) = validate_text(&value) {
                errors.push(FieldError::new(field(name), message));
                return None;
            }
            Some(value)
        };
        let id = text("id", self.id);
        let actor = text("actor", self.actor);
        let service = text("service", self.service);
        let environment = text("environment", self.environment);
        let sha = text("sha", self.sha);
        let result = text("result", self.result);
        let attributes = self.attributes.unwrap_or_default();
        if serde_json::to_vec(&attributes).map_or(0, |v| v.len()) > MAX_ATTRIBUTES_LEN {
            errors.push(FieldError::new(
                field("attributes"),
                format!("is larger than {MAX_ATTRIBUTES_LEN} bytes"),
            ));
        }
        if let Some(path) = nul_in_object(&attributes, &field("attributes")) {
            errors.push(FieldError::new(path, NUL_REFUSED));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut event = Event {
            id: id.unwrap_or_default(),
            time_ms,
            kind,
            actor,
            service,
            environment,
            sha,
            result,
            attributes,
        };
        if event.id.is_empty() {
            event.id = content_id(&event);
        }
        Ok(event)
    }
}

/// An id derived from everything else in the event, so that the same content
/// sent twice without an id is stored once.
pub fn content_id(event: &Event) -> String {
    let canonical = serde_json::json!([
        event.time_ms,
        event.kind,
        event.actor,
        event.service,
        event.environment,
        event.sha,
        event.result,
        event.attributes,
    ]);
    format!("sha256:{}", sha256_hex(&canonical.to_string(), 16))
}

/// The first `bytes` bytes (at most 32) of the SHA-256 of `text`, in
/// lower-case hex: the ids and keys derived from what is too long or too
/// unclean to be one.
pub fn sha256_hex(text: &str, bytes: usize) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest
        .iter()
        .take(bytes)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn validate_kind(kind: &str) -> Result<(), String> {
    if kind.len() > 64 {
        return Err("is longer than 64 characters".into());
    }
    let ok = kind
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
    if ok && kind.as_bytes()[0].is_ascii_lowercase() {
        Ok(())
    } else {
        Err("must start with a lower-case letter and hold only a-z, 0-9, `_`, `.` and `-`".into())
    }
}

fn validate_text(value: &str) -> Result<(), String> {
    if value.len() > MAX_TEXT_LEN {
        return Err(format!("is longer than {MAX_TEXT_LEN} bytes"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

/// A JSON time: RFC 3339 (or another accepted text form), or seconds since the epoch.
pub fn time_from_json(value: &Value) -> Result<i64, String> {
    match value {
        Value::String(text) => parse_timestamp(text),
        Value::Number(n) => {
            let ms = if let Some(seconds) = n.as_i64() {
                seconds.checked_mul(1000)
            } else {
                n.as_f64()
                    .map(|s| s * 1000.0)
                    .filter(|ms| ms.is_finite() && ms.abs() < 1e16)
                    .map(|ms| ms.round() as i64)
            };
            ms.filter(|ms| (MIN_TIME_MS..=MAX_TIME_MS).contains(ms))
                .ok_or_else(|| format!("{n} seconds is out of range"))
        }
        _ => Err("must be RFC 3339 text or a number of seconds since the epoch".into()),
    }
}

/// Parses the time formats found in the wild, to UTC epoch milliseconds:
/// RFC 3339 (`2017-11-01T12:00:00Z`, `...+02:00`), a date and time without
/// offset (UTC; `T` or space), GitLab's `2016-08-12 15:23:28 UTC` and
/// `2021-04-28 21:50:00 +0200`, a bare date (midnight UTC), or digits (seconds).
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let bad = || format!("`{text}` is not a time (expected RFC 3339 such as 2017-11-01T12:00:00Z)");
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let seconds: i64 = text.parse().map_err(|_| bad())?;
        return seconds
            .checked_mul(1000)
            .filter(|ms| (MIN_TIME_MS..=MAX_TIME_MS).contains(ms))
            .ok_or_else(bad);
    }
    let utc = if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        at
    } else if let Some(at) = parse_naive(text) {
        at.assume_utc()
    } else if let Some(rest) = text.strip_suffix(" UTC") {
        parse_naive(rest).ok_or_else(bad)?.assume_utc()
    } else if let Some((naive, offset)) = text.rsplit_once(' ') {
        let offset = parse_offset(offset).ok_or_else(bad)?;
        parse_naive(naive).ok_or_else(bad)?.assume_offset(offset)
    } else {
        return Err(bad());
    };
    let ms = i64::try_from(utc.unix_timestamp_nanos() / 1_000_000).map_err(|_| bad())?;
    if (MIN_TIME_MS..=MAX_TIME_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(bad())
    }
}

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS[.fff]` or `YYYY-MM-DDTHH:MM:SS[.fff]`.
fn parse_naive(text: &str) -> Option<PrimitiveDateTime> {
    if text.len() == 10 {
        let date = Date::parse(text, format_description!("[year]-[month]-[day]")).ok()?;
        return Some(PrimitiveDateTime::new(date, Time::MIDNIGHT));
    }
    let normalized = text.replacen('T', " ", 1);
    PrimitiveDateTime::parse(
        &normalized,
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    )
    .or_else(|_| {
        PrimitiveDateTime::parse(
            &normalized,
            format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]"),
        )
    })
    .ok()
}

/// `Z`, `UTC`, `+05:30`, `-0800`, `+02`.
pub fn parse_offset(text: &str) -> Option<UtcOffset> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("z") || text.eq_ignore_ascii_case("utc") {
        return Some(UtcOffset::UTC);
    }
    let sign: i8 = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = text[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = match digits.len() {
        2 => (digits.parse::<i8>().ok()?, 0),
        4 => (
            digits[..2].parse::<i8>().ok()?,
            digits[2..].parse::<i8>().ok()?,
        ),
        _ => return None,
    };
    if text[1..].contains(':') && text.len() != 6 {
        return None;
    }
    // Real offsets run from -12:00 to +14:00.
    if hours > 14 || minutes > 59 {
        return None;
    }
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()
}

fn datetime_of(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2017-11-01T12:00:00Z`, with milliseconds when there are any.
pub fn format_rfc3339(ms: i64) -> String {
    datetime_of(ms)
        .format(&Rfc3339)
        .unwrap_or_else(|_| ms.to_string())
}

/// The original's `fmdate`: `2017-11-01 12:00:00` (UTC, whole seconds).
pub fn format_compat_datetime(ms: i64) -> String {
    datetime_of(ms.div_euclid(1000) * 1000)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

/// `2017-11-01` (UTC).
pub fn format_compat_date(ms: i64) -> String {
    datetime_of(ms)
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sha256_hex_is_the_digests_first_bytes_in_hex() {
        // FIPS 180-2's example: SHA-256("abc").
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_hex("abc", 32), abc);
        assert_eq!(sha256_hex("abc", 16), &abc[..32]);
        assert_eq!(sha256_hex("abc", 64), abc, "at most the whole digest");
    }

    fn input(value: Value) -> EventInput {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn timestamps_in_every_accepted_form_agree() {
        let expected = 1_509_537_600_000; // 2017-11-01T12:00:00Z
        for text in [
            "2017-11-01T12:00:00Z",
            "2017-11-01T14:00:00+02:00",
            "2017-11-01 12:00:00",
            "2017-11-01T12:00:00",
            "2017-11-01 12:00:00 UTC",
            "2017-11-01 13:00:00 +0100",
            "1509537600",
        ] {
            assert_eq!(parse_timestamp(text), Ok(expected), "{text}");
        }
        assert_eq!(
            parse_timestamp("2017-11-01T12:00:00.250Z"),
            Ok(expected + 250)
        );
        assert_eq!(parse_timestamp("2017-11-01"), Ok(1_509_494_400_000));
        for bad in [
            "",
            "yesterday",
            "2017-13-01",
            "2017-11-01 25:00:00",
            "99999999999999999999",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numeric_time_is_seconds_since_the_epoch() {
        assert_eq!(time_from_json(&json!(1509537600)), Ok(1_509_537_600_000));
        assert_eq!(time_from_json(&json!(1509537600.5)), Ok(1_509_537_600_500));
        assert!(time_from_json(&json!(1e300)).is_err());
        assert!(time_from_json(&json!(true)).is_err());
    }

    #[test]
    fn offsets_parse_in_their_usual_spellings() {
        assert_eq!(parse_offset("Z"), Some(UtcOffset::UTC));
        assert_eq!(parse_offset("+05:30"), UtcOffset::from_hms(5, 30, 0).ok());
        assert_eq!(parse_offset("-0800"), UtcOffset::from_hms(-8, 0, 0).ok());
        assert_eq!(parse_offset("+02"), UtcOffset::from_hms(2, 0, 0).ok());
        for bad in ["05:30", "+5:30", "+25:00", "+05:3", "Europe/Paris"] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
    }

    #[test]
    fn valid_input_becomes_an_event_with_engineer_as_actor() {
        let event = input(json!({
            "id": "d1", "time": "2017-11-01T12:00:00Z", "kind": "deploy",
            "engineer": "vincent", "sha": "abc", "attributes": {"k": 1}
        }))
        .into_event("")
        .unwrap();
        assert_eq!(event.id, "d1");
        assert_eq!(event.actor.as_deref(), Some("vincent"));
        assert_eq!(event.attributes["k"], 1);
        assert_eq!(event.service, None);
    }

    #[test]
    fn invalid_input_names_every_bad_field_with_its_prefix() {
        let errors = input(json!({"kind": "Deploy!", "actor": "a\u{0}b"}))
            .into_event("3")
            .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["3.time", "3.kind", "3.actor"]);
    }

    #[test]
    fn missing_id_is_derived_from_the_content() {
        let a = input(json!({"time": 1, "kind": "stage", "sha": "x"}))
            .into_event("")
            .unwrap();
        let b = input(json!({"time": 1, "kind": "stage", "sha": "x"}))
            .into_event("")
            .unwrap();
        let c = input(json!({"time": 2, "kind": "stage", "sha": "x"}))
            .into_event("")
            .unwrap();
        assert_eq!(a.id, b.id);
        assert_ne!(a.id, c.id);
        assert!(a.id.starts_with("sha256:"));
    }

    #[test]
    fn only_canonical_decimal_ids_are_legacy_ids() {
        assert_eq!(legacy_id_of("15096455795363"), Some(15_096_455_795_363));
        assert_eq!(legacy_id_of("0"), Some(0));
        for other in ["", "007", "-1", "1a", "sha256:00", "1234567890123456789"] {
            assert_eq!(legacy_id_of(other), None, "{other}");
        }
    }

    #[test]
    fn compat_formats_are_utc_whole_seconds() {
        assert_eq!(
            format_compat_datetime(1_509_537_600_999),
            "2017-11-01 12:00:00"
        );
        assert_eq!(format_compat_date(1_509_537_600_999), "2017-11-01");
        assert_eq!(format_rfc3339(1_509_537_600_000), "2017-11-01T12:00:00Z");
    }

    #[test]
    fn a_nul_character_is_found_by_its_field_and_path() {
        let event = input(serde_json::json!({"time": 0, "kind": "deploy"}))
            .into_event("")
            .expect("a valid event");
        assert_eq!(event.nul_field(), None);
        let with = |change: fn(&mut Event)| {
            let mut event = event.clone();
            change(&mut event);
            event.nul_field()
        };
        assert_eq!(
            with(|e| e.actor = Some("a\0".into())).as_deref(),
            Some("actor")
        );
        assert_eq!(
            with(|e| {
                e.attributes
                    .insert("deep".into(), serde_json::json!({"list": [1, "x\0"]}));
            })
            .as_deref(),
            Some("attributes.deep.list.1")
        );
        assert_eq!(
            with(|e| {
                e.attributes.insert("k\0".into(), serde_json::Value::Null);
            })
            .as_deref(),
            Some("attributes.k\0")
        );
    }
}
