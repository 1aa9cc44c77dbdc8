//! Handlebars.java's string helpers as WireMock registers them, and
//! WireMock's text helpers (`trim`, `base64`, `urlEncode`, `regexExtract`,
//! `formData`, `arrayJoin`).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

use super::super::limits;
use super::super::model::java_text;
use super::{Args, Computed, Failure, HelperFn, Kind, Out};

pub(super) const HELPERS: &[(&str, HelperFn, Kind)] = &[
    ("trim", trim, Kind::Content),
    ("upper", upper, Kind::Value),
    ("lower", lower, Kind::Value),
    ("capitalize", capitalize, Kind::Value),
    ("replace", replace, Kind::Value),
    ("substring", substring, Kind::Value),
    ("join", join, Kind::Value),
    ("arrayJoin", array_join, Kind::Value),
    ("abbreviate", abbreviate, Kind::Value),
    ("defaultIfEmpty", default_if_empty, Kind::Value),
    ("base64", base64, Kind::Content),
    ("urlEncode", url_encode, Kind::Content),
    ("regexExtract", regex_extract, Kind::Value),
    ("formData", form_data, Kind::Value),
    ("capitalizeFirst", capitalize_first, Kind::Value),
    ("center", center, Kind::Value),
    ("cut", cut, Kind::Value),
    ("ljust", ljust, Kind::Value),
    ("rjust", rjust, Kind::Value),
    ("slugify", slugify, Kind::Value),
    ("stripTags", strip_tags, Kind::Value),
    ("wordWrap", word_wrap, Kind::Value),
    ("yesno", yesno, Kind::Value),
];

fn text_value(text: String) -> Computed {
    Ok(Value::String(text).into())
}

fn trim(args: &Args<'_, '_>) -> Computed {
    text_value(args.input().unwrap_or_default().trim().to_owned())
}

fn upper(args: &Args<'_, '_>) -> Computed {
    text_value(args.text(0).unwrap_or_default().to_uppercase())
}

fn lower(args: &Args<'_, '_>) -> Computed {
    text_value(args.text(0).unwrap_or_default().to_lowercase())
}

/// Each word's first letter upper-cased; `fully=true` lower-cases the rest.
fn capitalize(args: &Args<'_, '_>) -> Computed {
    let fully = args.hash_true("fully");
    let mut out = String::new();
    let mut word_start = true;
    for c in args.text(0).unwrap_or_default().chars() {
        if c.is_whitespace() {
            word_start = true;
            out.push(c);
        } else if word_start {
            word_start = false;
            out.extend(c.to_uppercase());
        } else if fully {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    text_value(out)
}

/// `{{replace text 'from' 'to'}}`: every occurrence.
fn replace(args: &Args<'_, '_>) -> Computed {
    let text = args.text(0).unwrap_or_default();
    let (Some(from), to) = (args.text(1), args.text(2).unwrap_or_default()) else {
        return text_value(text);
    };
    if from.is_empty() {
        return text_value(text);
    }
    // Checked before it is built: a request's text replaced by itself squares.
    let grows = to.len().saturating_sub(from.len());
    limits::output(text.len() + text.matches(from.as_str()).count() * grows)?;
    text_value(text.replace(&from, &to))
}

/// `{{substring text start end}}` (end optional), in characters.
fn substring(args: &Args<'_, '_>) -> Computed {
    let chars: Vec<char> = args.text(0).unwrap_or_default().chars().collect();
    let index = |i: usize, default: usize| {
        args.value(i)
            .and_then(|v| match v {
                Value::Number(n) => n.as_u64(),
                other => java_text(other).trim().parse().ok(),
            })
            .map_or(default, |n| usize::try_from(n).unwrap_or(usize::MAX))
            .min(chars.len())
    };
    let start = index(1, 0);
    let end = index(2, chars.len()).max(start);
    text_value(chars[start..end].iter().collect())
}

/// The texts of `items`, joined; each list among them adds its items.
fn join_texts(items: &[Value], separator: &str) -> Result<String, limits::Exceeded> {
    let texts: Vec<String> = items
        .iter()
        .flat_map(|item| match item {
            Value::Array(inner) => inner.iter().map(java_text).collect(),
            other => vec![java_text(other)],
        })
        .collect();
    let total = texts.iter().map(String::len).sum::<usize>()
        + separator.len() * texts.len().saturating_sub(1);
    limits::output(total)?;
    Ok(texts.join(separator))
}

/// Handlebars.java's `{{join a b c ', '}}`: the last parameter separates
/// the others (a list among them adds its items); `prefix=`, `suffix=`.
fn join(args: &Args<'_, '_>) -> Computed {
    if args.len() < 2 {
        return text_value(args.text(0).unwrap_or_default());
    }
    let separator = args.text(args.len() - 1).unwrap_or_default();
    let items: Vec<Value> = (0..args.len() - 1)
        .filter_map(|i| args.value(i).cloned())
        .collect();
    let joined = join_texts(&items, &separator)?;
    let prefix = args.hash_text("prefix").unwrap_or_default();
    let suffix = args.hash_text("suffix").unwrap_or_default();
    text_value(format!("{prefix}{joined}{suffix}"))
}

/// WireMock's `{{arrayJoin ',' list}}` (or the items as parameters):
/// separator first; `prefix=`, `suffix=`.
fn array_join(args: &Args<'_, '_>) -> Computed {
    let Some(separator) = args.text(0) else {
        return Err("Separator parameter must be a String".to_owned().into());
    };
    let items: Vec<Value> = match args.raw(1) {
        Some(Value::Array(items)) => items.clone(),
        Some(_) => args.values_from(1),
        None => return Err("The parameter must be list".to_owned().into()),
    };
    if items.is_empty() {
        return text_value(String::new());
    }
    let joined = join_texts(&items, &separator)?;
    let prefix = args.hash_text("prefix").unwrap_or_default();
    let suffix = args.hash_text("suffix").unwrap_or_default();
    text_value(format!("{prefix}{joined}{suffix}"))
}

/// `{{abbreviate text 10}}`: cut to that many characters, ending in `...`.
fn abbreviate(args: &Args<'_, '_>) -> Computed {
    let text = args.text(0).unwrap_or_default();
    let width = args
        .value(1)
        .and_then(|v| v.as_u64().or_else(|| java_text(v).trim().parse().ok()))
        .ok_or_else(|| "abbreviate needs a width".to_owned())?;
    let width = usize::try_from(width).unwrap_or(usize::MAX);
    if width < 4 {
        return Err("Minimum abbreviation width is 4".to_owned().into());
    }
    let count = text.chars().count();
    if count <= width {
        return text_value(text);
    }
    text_value(text.chars().take(width - 3).chain("...".chars()).collect())
}

/// `{{defaultIfEmpty value 'default'}}`.
fn default_if_empty(args: &Args<'_, '_>) -> Computed {
    let empty = match args.value(0) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(items)) => items.is_empty(),
        _ => false,
    };
    if empty {
        return Ok(args.value(1).cloned().unwrap_or_default().into());
    }
    Ok(args.value(0).cloned().unwrap_or_default().into())
}

/// `{{base64 text}}`, `padding=false`, `decode=true`.
fn base64(args: &Args<'_, '_>) -> Computed {
    let text = args.input().unwrap_or_default();
    if args.hash_true("decode") {
        let trimmed = text.trim();
        let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(trimmed).ok())
            .ok_or_else(|| format!("{trimmed} is not base64"))?;
        return text_value(String::from_utf8_lossy(&bytes).into_owned());
    }
    let padding = args.hash("padding") != Some(&Value::Bool(false));
    text_value(if padding {
        STANDARD.encode(text)
    } else {
        STANDARD_NO_PAD.encode(text)
    })
}

/// `{{urlEncode text}}` as Java's `URLEncoder` (a space is `+`), or
/// `decode=true`.
fn url_encode(args: &Args<'_, '_>) -> Computed {
    let text = args.input().unwrap_or_default();
    if args.hash_true("decode") {
        let spaced = text.replace('+', " ");
        return text_value(
            percent_encoding::percent_decode_str(&spaced)
                .decode_utf8_lossy()
                .into_owned(),
        );
    }
    text_value(form_urlencoded::byte_serialize(text.as_bytes()).collect())
}

/// `{{regexExtract text 'regex'}}`: the first match; with a third
/// parameter, every match's groups, assigned to that name; `default=` when
/// nothing matches.
fn regex_extract(args: &Args<'_, '_>) -> Computed {
    let text = args.text(0).unwrap_or_default();
    let pattern = args.text(1).unwrap_or_default();
    let regex =
        regex::Regex::new(&pattern).map_err(|_| format!("Invalid regex string {pattern}"))?;
    let name = args.text(2);
    let found: Vec<Value> = match &name {
        None => regex
            .find(&text)
            .map(|m| Value::String(m.as_str().to_owned()))
            .into_iter()
            .collect(),
        Some(_) => regex
            .captures_iter(&text)
            .flat_map(|caps| {
                caps.iter()
                    .skip(1)
                    .map(|g| Value::String(g.map_or("", |g| g.as_str()).to_owned()))
                    .collect::<Vec<_>>()
            })
            .collect(),
    };
    if found.is_empty() {
        return match args.hash("default") {
            Some(default) => Ok(default.clone().into()),
            None => Err(format!("Nothing matched {pattern}").into()),
        };
    }
    Ok(match name {
        Some(name) => Out::Assign(name, Value::Array(found)),
        None => found.into_iter().next().unwrap_or_default().into(),
    })
}

/// `{{formData request.body 'form'}}` then `{{form.name}}`: a form body's
/// fields; `urlDecode=true` decodes their values. One value is text, more
/// are a list.
fn form_data(args: &Args<'_, '_>) -> Computed {
    let body = args.text(0).unwrap_or_default();
    let decode = args.hash_true("urlDecode");
    let mut fields = Map::new();
    for pair in body.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = if decode {
            percent_encoding::percent_decode_str(&value.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        } else {
            value.to_owned()
        };
        let value = Value::String(value);
        match fields.get_mut(key) {
            None => {
                fields.insert(key.to_owned(), value);
            }
            Some(Value::Array(values)) => values.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
        }
    }
    let fields = Value::Object(fields);
    Ok(match args.text(1) {
        Some(name) => Out::Assign(name, fields),
        None => fields.into(),
    })
}

// ---- Handlebars.java's other string helpers (its `StringHelpers`) ----------------

/// `{{capitalizeFirst text}}`: the first character upper-cased.
fn capitalize_first(args: &Args<'_, '_>) -> Computed {
    let text = args.text(0).unwrap_or_default();
    let mut chars = text.chars();
    text_value(match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    })
}

/// A whole number of characters from a hash value (`size=20`, `size='20'`).
fn width(args: &Args<'_, '_>, key: &str, helper: &str) -> Result<usize, String> {
    args.hash(key)
        .and_then(|v| v.as_u64().or_else(|| java_text(v).trim().parse().ok()))
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        .ok_or_else(|| format!("{helper} needs {key}= (a number of characters)"))
}

/// `count` characters of `pad` repeated (a space when `pad` is empty).
fn padding(pad: &str, count: usize) -> Result<String, Failure> {
    limits::output(count)?;
    let pad = if pad.is_empty() { " " } else { pad };
    Ok(pad.chars().cycle().take(count).collect())
}

/// Pads `text` to `size` characters: `left` of the missing ones before it,
/// the rest after.
fn pad_to(args: &Args<'_, '_>, helper: &str, left: impl Fn(usize) -> usize) -> Computed {
    let text = args.text(0).unwrap_or_default();
    let size = width(args, "size", helper)?;
    let pad = args.hash_text("pad").unwrap_or_else(|| " ".to_owned());
    let missing = size.saturating_sub(text.chars().count());
    let before = left(missing);
    let out = padding(&pad, before)? + &text + &padding(&pad, missing - before)?;
    text_value(out)
}

/// `{{center text size=20 pad='*'}}`.
fn center(args: &Args<'_, '_>) -> Computed {
    pad_to(args, "center", |missing| missing / 2)
}

/// `{{ljust text size=20}}`: padded after.
fn ljust(args: &Args<'_, '_>) -> Computed {
    pad_to(args, "ljust", |_| 0)
}

/// `{{rjust text size=20}}`: padded before.
fn rjust(args: &Args<'_, '_>) -> Computed {
    pad_to(args, "rjust", |missing| missing)
}

/// `{{cut text 'x'}}`: every `x` removed (a space by default).
fn cut(args: &Args<'_, '_>) -> Computed {
    let text = args.text(0).unwrap_or_default();
    let strip = args.text(1).unwrap_or_else(|| " ".to_owned());
    if strip.is_empty() {
        return text_value(text);
    }
    text_value(text.replace(&strip, ""))
}

/// `{{slugify text}}`: letters lower-cased, whitespace as `-`, everything
/// else (digits included, as Handlebars.java does) dropped.
fn slugify(args: &Args<'_, '_>) -> Computed {
    let text = args.text(0).unwrap_or_default();
    let slug = text
        .trim()
        .chars()
        .filter_map(|c| {
            if c.is_alphabetic() {
                c.to_lowercase().next()
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect();
    text_value(slug)
}

/// `{{stripTags html}}`: every `<...>` removed.
fn strip_tags(args: &Args<'_, '_>) -> Computed {
    let text = args.text(0).unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        match rest[open..].find('>') {
            Some(close) => rest = &rest[open + close + 1..],
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    text_value(out)
}

/// `{{wordWrap text 20}}`: lines of at most 20 characters, broken at
/// spaces; a longer word stays whole on its own line.
fn word_wrap(args: &Args<'_, '_>) -> Computed {
    let text = args.text(0).unwrap_or_default();
    let length = args
        .value(1)
        .and_then(|v| v.as_u64().or_else(|| java_text(v).trim().parse().ok()))
        .ok_or_else(|| "wordWrap needs a line length".to_owned())?;
    let length = usize::try_from(length.max(1)).unwrap_or(usize::MAX);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            let needed = line.chars().count() + 1 + word.chars().count();
            if !line.is_empty() && needed > length {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    text_value(lines.join("\n"))
}

/// `{{yesno flag yes='on' no='off' maybe='?'}}`: `yes`, `no` or (for no
/// value) `maybe`.
fn yesno(args: &Args<'_, '_>) -> Computed {
    let say = |key: &str| args.hash_text(key).unwrap_or_else(|| key.to_owned());
    match args.value(0) {
        None | Some(Value::Null) => text_value(say("maybe")),
        Some(Value::Bool(true)) => text_value(say("yes")),
        Some(Value::Bool(false)) => text_value(say("no")),
        Some(other) => Err(format!("found '{}', expected 'boolean'", java_text(other)).into()),
    }
}
