//! WireMock's helpers for JSON, numbers, random values, collections and
//! times.

use std::sync::LazyLock;

use serde_json::{Map, Number, Value};
use time::OffsetDateTime;

use super::super::limits;
use super::super::model::{jackson_pretty, java_text};
use super::super::time::{
    TimeFormat, Truncation, Zone, format_time, parse_zoned, parse_zoned_with_pattern, read_time,
    remember, shift, truncate,
};
use super::{Args, Computed, Failure, HelperFn, Kind, Out};
use crate::mocks::jsonpath::JsonPath;

pub(super) const HELPERS: &[(&str, HelperFn, Kind)] = &[
    ("jsonPath", json_path, Kind::JsonData),
    ("parseJson", parse_json, Kind::Content),
    ("toJson", to_json, Kind::Value),
    ("randomValue", random_value, Kind::Value),
    ("randomInt", random_int, Kind::Value),
    ("randomDecimal", random_decimal, Kind::Value),
    ("pickRandom", pick_random, Kind::Value),
    ("math", math, Kind::Value),
    ("range", range, Kind::Value),
    ("array", array, Kind::Value),
    ("arrayAdd", array_add, Kind::Value),
    ("arrayRemove", array_remove, Kind::Value),
    ("size", size, Kind::Value),
    ("lookup", lookup, Kind::Value),
    ("val", val, Kind::Value),
    ("assign", assign, Kind::Content),
    ("hostname", hostname, Kind::Value),
    ("now", now, Kind::Value),
    ("date", date, Kind::Value),
    ("parseDate", parse_date, Kind::Value),
    ("truncateDate", truncate_date, Kind::Value),
];

/// `{{jsonPath request.body '$.a'}}`: what the path selects in a JSON text
/// (or in a value `parseJson` made); `default=` when nothing.
fn json_path(args: &Args<'_, '_>) -> Computed {
    let default = || args.hash("default").cloned().unwrap_or_default();
    let parsed;
    let document = match args.value(0) {
        None | Some(Value::Null) => return Ok(Value::String(String::new()).into()),
        Some(Value::String(text)) if text.is_empty() => {
            return Ok(Value::String(String::new()).into());
        }
        Some(Value::String(text)) => {
            // Parsing is the cost that grows with the request: count it.
            limits::steps(text.len() / 256)?;
            parsed = serde_json::from_str::<Value>(text)
                .map_err(|_| format!("{text} is not valid JSON"))?;
            &parsed
        }
        Some(value) => value,
    };
    let path_text = args
        .text(1)
        .ok_or_else(|| "The JSONPath cannot be empty".to_owned())?;
    let path = JsonPath::parse(&path_text)
        .map_err(|e| format!("{path_text} is not a valid JSONPath expression ({e})"))?;
    let selected = path.select(document);
    let value = match selected.as_slice() {
        [] => default(),
        // A definite path selects one value; a wildcard a list, even of one.
        [one] if path.is_definite() => one.as_ref().clone(),
        many => Value::Array(many.iter().map(|v| v.as_ref().clone()).collect()),
    };
    Ok(match value {
        Value::Null => default(),
        value => value,
    }
    .into())
}

/// `{{parseJson text}}`, `{{parseJson text 'name'}}` (assigns it), or
/// `{{#parseJson 'name'}}...{{/parseJson}}`.
fn parse_json(args: &Args<'_, '_>) -> Computed {
    let (json, name) = match args.input() {
        Some(json) if args.content.is_some() => (json, args.text(0)),
        Some(json) => (json, args.text(1)),
        None => return Ok(Value::Object(Map::new()).into()),
    };
    let trimmed = json.trim();
    let value = if trimmed.is_empty() {
        Value::Object(Map::new())
    } else {
        limits::steps(trimmed.len() / 256)?;
        serde_json::from_str(trimmed).map_err(|e| format!("{trimmed} is not valid JSON: {e}"))?
    };
    Ok(match name {
        Some(name) => Out::Assign(name, value),
        None => Out::Value(value),
    })
}

/// `{{toJson value}}`: the value as WireMock writes JSON.
fn to_json(args: &Args<'_, '_>) -> Computed {
    Ok(Value::String(match args.value(0) {
        None | Some(Value::Null) => String::new(),
        Some(value) => jackson_pretty(value),
    })
    .into())
}

/// A whole number from a number or numeric text.
fn integer(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn decimal(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `{{randomValue length=8 type='ALPHANUMERIC' uppercase=true}}`; lower
/// case unless `uppercase`, as WireMock's.
fn random_value(args: &Args<'_, '_>) -> Computed {
    let length = match args.hash("length") {
        None => 36,
        Some(v) => integer(Some(v))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| format!("randomValue length `{}` is not a count", java_text(v)))?,
    };
    limits::output(length)?;
    const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let kind = args
        .hash_text("type")
        .unwrap_or_else(|| "ALPHANUMERIC".into());
    let pick = |alphabet: &[u8]| -> String {
        (0..length)
            .map(|_| char::from(alphabet[fastrand::usize(..alphabet.len())]))
            .collect()
    };
    let value = match kind.as_str() {
        "UUID" => uuid::Uuid::new_v4().to_string(),
        "ALPHANUMERIC" => pick(ALNUM),
        "ALPHABETIC" => pick(ALPHA),
        "NUMERIC" => pick(b"0123456789"),
        "HEXADECIMAL" => pick(b"ABCDEF0123456789"),
        // Java's `random(length, 33, 126)`: printable ASCII but space and `~`.
        "ALPHANUMERIC_AND_SYMBOLS" => (0..length).map(|_| fastrand::char('!'..'~')).collect(),
        _ => (0..length).map(|_| fastrand::char(' '..'~')).collect(),
    };
    Ok(Value::String(if args.hash_true("uppercase") {
        value.to_uppercase()
    } else {
        value.to_lowercase()
    })
    .into())
}

/// `{{randomInt lower=1 upper=10}}`: `lower` up to, not including, `upper`.
fn random_int(args: &Args<'_, '_>) -> Computed {
    let lower = integer(args.hash("lower")).unwrap_or(i64::from(i32::MIN));
    let upper = integer(args.hash("upper")).unwrap_or(i64::from(i32::MAX));
    if lower >= upper {
        return Err(format!("randomInt: lower {lower} must be below upper {upper}").into());
    }
    Ok(Value::from(fastrand::i64(lower..upper)).into())
}

/// `{{randomDecimal lower=0.5 upper=2}}`.
fn random_decimal(args: &Args<'_, '_>) -> Computed {
    let lower = decimal(args.hash("lower")).unwrap_or(f64::MIN_POSITIVE);
    let upper = decimal(args.hash("upper")).unwrap_or(f64::MAX);
    if lower >= upper || !lower.is_finite() || !upper.is_finite() {
        return Err(format!("randomDecimal: lower {lower} must be below upper {upper}").into());
    }
    let value = lower + fastrand::f64() * (upper - lower);
    Ok(Number::from_f64(value)
        .map_or(Value::Null, Value::Number)
        .into())
}

/// `{{pickRandom 'a' 'b' 'c'}}`, `{{pickRandom list}}`, `count=2` for several.
fn pick_random(args: &Args<'_, '_>) -> Computed {
    let mut values = match args.raw(0) {
        Some(Value::Array(items)) if args.len() == 1 => items.clone(),
        Some(_) => args.values_from(0),
        None => Vec::new(),
    };
    if values.is_empty() {
        return Err(
            "Must specify either a single list argument or a set of single value arguments."
                .to_owned()
                .into(),
        );
    }
    match integer(args.hash("count")).and_then(|n| usize::try_from(n).ok()) {
        Some(count) if count > 0 => {
            fastrand::shuffle(&mut values);
            values.truncate(count);
            Ok(Value::Array(values).into())
        }
        _ => Ok(values.swap_remove(fastrand::usize(..values.len())).into()),
    }
}

/// A number as `math` reads it (Java's `BigDecimal`): its value, and its
/// scale (digits after the point), which sets the result's.
fn operand(value: Option<&Value>) -> (f64, u32, bool) {
    let text = match value {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.trim().to_owned(),
        _ => String::new(),
    };
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => {
            let scale = text
                .split_once('.')
                .map_or(0, |(_, frac)| frac.len() as u32);
            let integral = !text.contains(['.', 'e', 'E']);
            (v, scale, integral)
        }
        // Java reads what is not a number as 0.
        _ => (0.0, 0, true),
    }
}

/// `{{math 1 '+' 2}}`: `+`, `-`, `*` (or `x`), `/` (rounded half up to the
/// left operand's scale, as `BigDecimal.divide`), `%`.
fn math(args: &Args<'_, '_>) -> Computed {
    if args.len() != 3 {
        return Err(
            "All maths functions require two operands and an operator as parameters e.g. 3 '+' 2"
                .to_owned()
                .into(),
        );
    }
    let (a, scale_a, int_a) = operand(args.value(0));
    let operator = args.text(1).unwrap_or_default();
    let (b, scale_b, int_b) = operand(args.value(2));
    let division_by_zero = || "Division by zero".to_owned();
    if int_a && int_b {
        let (a, b) = (a as i128, b as i128);
        let result = match operator.as_str() {
            "+" => a + b,
            "-" => a - b,
            "*" | "x" => a * b,
            "/" if b == 0 => return Err(division_by_zero().into()),
            "/" => {
                let (q, r) = (a / b, a % b);
                // Half up: away from zero when the remainder is half or more.
                if 2 * r.abs() >= b.abs() {
                    q + (a.signum() * b.signum())
                } else {
                    q
                }
            }
            "%" if b == 0 => return Err(division_by_zero().into()),
            "%" => a % b,
            other => return Err(format!("{other} is not a valid mathematical operator").into()),
        };
        return Ok(i64::try_from(result)
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(result as f64))
            .into());
    }
    let (result, scale) = match operator.as_str() {
        "+" => (a + b, scale_a.max(scale_b)),
        "-" => (a - b, scale_a.max(scale_b)),
        "*" | "x" => (a * b, scale_a + scale_b),
        "/" if b == 0.0 => return Err(division_by_zero().into()),
        "/" => (a / b, scale_a),
        "%" if b == 0.0 => return Err(division_by_zero().into()),
        "%" => (a % b, scale_a.max(scale_b)),
        other => return Err(format!("{other} is not a valid mathematical operator").into()),
    };
    let factor = 10f64.powi(scale.min(15) as i32);
    let rounded = (result * factor).round() / factor;
    Ok(if scale == 0 {
        Value::from(rounded as i64)
    } else {
        Number::from_f64(rounded).map_or(Value::Null, Value::Number)
    }
    .into())
}

/// `{{range 1 5}}`: the whole numbers from one bound to the other.
fn range(args: &Args<'_, '_>) -> Computed {
    let (Some(lower), Some(upper)) = (integer(args.value(0)), integer(args.value(1))) else {
        return Err(
            "The range helper requires both lower and upper bounds as integer parameters"
                .to_owned()
                .into(),
        );
    };
    if upper < lower {
        return Err(format!("range: upper {upper} is below lower {lower}").into());
    }
    let count = usize::try_from(upper - lower + 1).unwrap_or(usize::MAX);
    limits::steps(count)?;
    Ok(Value::Array((lower..=upper).map(Value::from).collect()).into())
}

/// `{{array 1 'two'}}`: a list of its parameters.
fn array(args: &Args<'_, '_>) -> Computed {
    Ok(Value::Array(args.values_from(0)).into())
}

/// WireMock's `position=`: `'start'` (0), `'end'` or none (`None`), or an
/// index.
fn position(args: &Args<'_, '_>) -> Result<Option<i64>, String> {
    let bad = || "position must be 'start', 'end' or an integer".to_owned();
    match args.hash("position") {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
        Some(value) => match java_text(value).to_lowercase().as_str() {
            "start" => Ok(Some(0)),
            "end" => Ok(None),
            other => other.parse().map(Some).map_err(|_| bad()),
        },
    }
}

/// An index that must be within `0..=len` (WireMock's words for it).
fn index_within(position: i64, len: usize) -> Result<usize, String> {
    usize::try_from(position)
        .ok()
        .filter(|p| *p <= len)
        .ok_or_else(|| {
            "position must be greater than or equal to 0 and less than or equal to the size of the list"
                .to_owned()
        })
}

/// A list given to `arrayAdd` or `arrayRemove`, copied: the copy is counted,
/// as a loop that keeps adding to a list copies it each time.
fn list_copy(args: &Args<'_, '_>, helper: &str) -> Result<Option<Vec<Value>>, Failure> {
    match args.raw(0) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => {
            limits::steps(items.len())?;
            Ok(Some(items.clone()))
        }
        Some(_) => Err(format!("{helper} needs a list").into()),
    }
}

/// `{{arrayAdd list value}}`: the list with the value added at its end, or
/// `position=` (an index, `'start'` or `'end'`).
fn array_add(args: &Args<'_, '_>) -> Computed {
    let Some(mut items) = list_copy(args, "arrayAdd")? else {
        return Ok(Value::Array(Vec::new()).into());
    };
    if args.len() < 2 {
        return Err(
            "Missing required parameter: additional value to add to list"
                .to_owned()
                .into(),
        );
    }
    let value = args.value(1).cloned().unwrap_or_default();
    match position(args)? {
        Some(position) => items.insert(index_within(position, items.len())?, value),
        None => items.push(value),
    }
    Ok(Value::Array(items).into())
}

/// `{{arrayRemove list}}`: the list without its last item, or the one at
/// `position=` (an index, `'start'` or `'end'`).
fn array_remove(args: &Args<'_, '_>) -> Computed {
    let position = position(args)?;
    let mut items =
        list_copy(args, "arrayRemove")?.ok_or_else(|| "arrayRemove needs a list".to_owned())?;
    let index = match position {
        Some(position) => index_within(position, items.len())?,
        None => items.len().saturating_sub(1),
    };
    if index >= items.len() {
        // WireMock fails the whole response here; the message says why.
        return Err(format!("no item at position {index} in a list of {}", items.len()).into());
    }
    items.remove(index);
    Ok(Value::Array(items).into())
}

/// `{{size x}}`: the length of a text, a list or a map.
fn size(args: &Args<'_, '_>) -> Computed {
    Ok(match args.raw(0) {
        Some(Value::String(s)) => Value::from(s.encode_utf16().count()),
        Some(Value::Array(items)) => Value::from(items.len()),
        Some(Value::Object(members)) => Value::from(members.len()),
        _ => Value::Null,
    }
    .into())
}

/// `{{lookup map 'key'}}`, `{{lookup list 1}}`.
fn lookup(args: &Args<'_, '_>) -> Computed {
    let found = match (args.raw(0), args.value(1)) {
        (Some(Value::Object(members)), Some(key)) => members.get(&java_text(key)),
        (Some(Value::Array(items)), Some(index)) => integer(Some(index))
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| items.get(i)),
        _ => None,
    };
    Ok(found.cloned().unwrap_or_default().into())
}

/// `{{val x default='y'}}` (or `or=`), `assign='name'` to keep it.
fn val(args: &Args<'_, '_>) -> Computed {
    let value = args
        .value(0)
        .filter(|v| !v.is_null())
        .or_else(|| args.hash("or"))
        .or_else(|| args.hash("default"))
        .cloned()
        .unwrap_or_default();
    Ok(match args.hash_text("assign") {
        Some(name) => Out::Assign(name, value),
        None => Out::Value(value),
    })
}

/// Handlebars.java's `{{#assign 'name'}}...{{/assign}}`: the block,
/// rendered and trimmed, kept as `name` for the rest of the template
/// (WireMock's documentation builds its JSON and XML examples with it).
fn assign(args: &Args<'_, '_>) -> Computed {
    let name = args
        .text(0)
        .ok_or_else(|| "assign needs the name to assign to".to_owned())?;
    let content = args.content.as_deref().unwrap_or_default().trim();
    Ok(Out::Assign(name, Value::String(content.to_owned())))
}

/// The server's host name, read once at first use.
fn hostname(_: &Args<'_, '_>) -> Computed {
    static HOSTNAME: LazyLock<String> = LazyLock::new(|| {
        ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .find_map(|path| std::fs::read_to_string(path).ok())
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "localhost".to_owned())
    });
    Ok(Value::String(HOSTNAME.clone()).into())
}

/// `format=`, `offset=` and `timezone=`, as `now` and `date` take them: the
/// time moved by the offset, written in `timezone=` or else in `zone` (the
/// time's own).
fn write_time(args: &Args<'_, '_>, time: OffsetDateTime, zone: Option<Zone>) -> Computed {
    let time = match args.hash_text("offset") {
        Some(offset) => shift(time, &offset)?,
        None => time,
    };
    let zone = match args.hash_text("timezone") {
        Some(name) => Some(Zone::parse(&name)?),
        None => zone,
    };
    let format = TimeFormat::parse(args.hash_text("format").as_deref());
    Ok(written_time(time, &format, zone.as_ref()).into())
}

/// A time written, and remembered for the rest of the render with its
/// zone (see `time::remember`).
fn written_time(time: OffsetDateTime, format: &TimeFormat, zone: Option<&Zone>) -> Value {
    let text = format_time(time, format, zone);
    remember(&text, time, zone);
    Value::String(text)
}

/// A time given to a helper: one a helper wrote (as `parseDate` or `now`
/// wrote it), a time as text, or epoch milliseconds.
fn given_time(value: &Value) -> Option<(OffsetDateTime, Option<Zone>)> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            })
            .map(|time| (time, None)),
        other => read_time(&java_text(other)),
    }
}

/// `{{now}}`, `{{now format='yyyy-MM-dd' offset='3 days' timezone='Europe/Paris'}}`.
fn now(args: &Args<'_, '_>) -> Computed {
    write_time(args, OffsetDateTime::now_utc(), None)
}

/// `{{date someDate format=...}}`: a time (as `parseDate` or `now` wrote
/// it, or epoch milliseconds) written again, or now without one.
fn date(args: &Args<'_, '_>) -> Computed {
    let (time, zone) = match args.value(0) {
        None | Some(Value::Null) => (OffsetDateTime::now_utc(), None),
        Some(value) => {
            given_time(value).ok_or_else(|| format!("{} is not a time", java_text(value)))?
        }
    };
    write_time(args, time, zone)
}

/// `{{parseDate '2021-01-01T10:00:00Z'}}`, `format='dd/MM/yyyy'` (or
/// `epoch`, `unix`): the time, written as ISO 8601 in the zone the text
/// names (UTC when none); nothing when it does not parse (as WireMock).
fn parse_date(args: &Args<'_, '_>) -> Computed {
    let Some(text) = args.text(0) else {
        return Ok(Value::Null.into());
    };
    let parsed = match TimeFormat::parse(args.hash_text("format").as_deref()) {
        TimeFormat::Iso => parse_zoned(&text),
        TimeFormat::Epoch => text.trim().parse::<i64>().ok().and_then(|ms| {
            let time = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000);
            time.ok().map(|t| (t, None))
        }),
        TimeFormat::Unix => text
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .map(|t| (t, None)),
        TimeFormat::Pattern(pattern) => parse_zoned_with_pattern(&text, &pattern).ok(),
    };
    Ok(parsed
        .map_or(Value::Null, |(time, zone)| {
            written_time(time, &TimeFormat::Iso, zone.as_ref())
        })
        .into())
}

/// `{{truncateDate (parseDate x) 'first day of month'}}`: the time
/// truncated on its zone's clocks (`first hour of day`, `last day of
/// year`, ...; `crate::mocks::truncation`), written as ISO 8601 in that zone.
fn truncate_date(args: &Args<'_, '_>) -> Computed {
    let Some(name) = args.text(1) else {
        return Err(
            "Truncation type must be specified as the first parameter to truncateDate"
                .to_owned()
                .into(),
        );
    };
    let (time, zone) = args
        .value(0)
        .and_then(given_time)
        .ok_or_else(|| "A date object must be passed to the truncateDate helper".to_owned())?;
    let truncation = Truncation::parse(&name)?;
    let zone = zone.unwrap_or_else(|| Zone::of_offset(time.offset()));
    let truncated = truncate(truncation, time, &zone)
        .ok_or_else(|| format!("cannot truncate to {name}: past the calendar"))?;
    Ok(written_time(truncated, &TimeFormat::Iso, Some(&zone)).into())
}
