//! Values generated from a JSON Schema, for mock responses whose OpenAPI
//! operation has no example: the same for a given seed, and valid against the
//! schema (formats included) whenever the schema is satisfiable.

use std::collections::HashMap;
use std::rc::Rc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::distr::{Alphanumeric, Distribution as _};
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::IndexedRandom as _;
use rand::{RngExt as _, SeedableRng as _};
use serde_json::{Map, Value, json};

type Schema = Map<String, Value>;

/// Levels (objects, arrays, `$ref`s, combinators) past which objects keep
/// only their required properties and arrays only their `minItems`.
const SOFT_DEPTH: usize = 8;
/// Levels past which objects and arrays are empty and `$ref`s `null`: where
/// circular documents end.
const HARD_DEPTH: usize = 16;
/// Values generated past which the output shrinks as past the depths above:
/// wide recursive documents would otherwise grow exponentially within them.
const SOFT_BUDGET: usize = 5_000;
const HARD_BUDGET: usize = 20_000;
const MAX_ITEMS: usize = 100;
const MAX_MIN_LENGTH: usize = 10_000;
/// Plain strings stay this short unless `minLength` asks for more.
const PLAIN_MAX_LENGTH: usize = 64;
/// Extra repetitions a pattern's `*`, `+` and `{n,}` may generate.
const MAX_REPEAT: u32 = 8;
const PATTERN_ATTEMPTS: usize = 32;
/// Patterns whose matches may be longer (`\d{100000}`) are not generated.
const MAX_PATTERN_BYTES: usize = 4 * MAX_MIN_LENGTH;
const UNIQUE_ATTEMPTS: usize = 8;
/// Nested `allOf`/`$ref` levels merged into one schema.
const MERGE_LEVELS: usize = 8;
/// Numbers unbounded on a side span this much from the other (or from 0).
const DEFAULT_SPAN: i128 = 1000;
/// Beyond ±2^53 integers are not exact in JSON consumers such as JavaScript.
const MAX_SAFE: f64 = 9_007_199_254_740_992.0;
/// ECMA-262 `\s`, spelt for regex-syntax inside a class.
const ECMA_SPACE: &str =
    r"\t\n\x0B\x0C\r \xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF";

const WORDS: &[&str] = &[
    "alpha", "amber", "birch", "cedar", "delta", "ember", "fable", "grove", "harbor", "iris",
    "juniper", "koala", "lumen", "maple", "nova", "orbit", "pine", "quartz", "river", "sierra",
    "tango", "umber", "velvet", "willow", "yarrow", "zephyr",
];

/// Generates a value valid against `schema`, resolving local `$ref`s
/// (`#/components/schemas/Pet`, any JSON pointer into `document`, with `~0`/`~1`
/// and percent-decoding). The same (schema, document, seed) gives the same value.
pub fn generate(schema: &Value, document: &Value, seed: u64) -> Value {
    let mut generator = Generator {
        document,
        rng: Xoshiro256PlusPlus::seed_from_u64(seed),
        nodes: 0,
        skip_examples: false,
        patterns: HashMap::new(),
    };
    generator.value(schema, 0)
}

struct Generator<'a> {
    document: &'a Value,
    /// Xoshiro256++ by name rather than `SmallRng`, whose algorithm may change
    /// between rand versions: a seed keeps giving the same answer.
    rng: Xoshiro256PlusPlus,
    /// Values generated so far, against the budgets.
    nodes: usize,
    /// Set while looking for distinct array items: an example would give the
    /// same item every time.
    skip_examples: bool,
    /// Compiled `pattern`s by (pattern, max repeat); `None` when unusable.
    patterns: HashMap<(String, u32), Option<Rc<Pattern>>>,
}

struct Pattern {
    /// Checks generated strings (and formatted ones) against the pattern.
    matcher: regex::Regex,
    generator: Option<rand_regex::Regex>,
}

/// `units / 10^scale`: numbers are picked as whole multiples of such a step,
/// so they print exactly (`0.3`, not `0.30000000000000004`).
#[derive(Clone, Copy)]
struct Decimal {
    units: i128,
    scale: u32,
}

impl Generator<'_> {
    fn value(&mut self, schema: &Value, depth: usize) -> Value {
        self.nodes += 1;
        let Some(schema) = schema.as_object() else {
            // `true` allows anything; `false` and non-schemas allow nothing.
            return match schema {
                Value::Bool(true) => Value::String(self.words(0, None)),
                _ => Value::Null,
            };
        };
        let exhausted = self.exhausted(depth);
        if schema.contains_key("$ref") {
            let target = if exhausted {
                None
            } else {
                self.dereference(schema)
            };
            return target.map_or(Value::Null, |target| self.value(&target, depth + 1));
        }
        if let Some(value) = schema.get("const") {
            return value.clone();
        }
        if let Some(value) = self.example(schema) {
            return value;
        }
        if let Some(value) = self.enum_choice(schema) {
            return value;
        }
        if !exhausted
            && ["allOf", "oneOf", "anyOf"]
                .iter()
                .any(|k| schema.contains_key(*k))
        {
            let mut merged = Schema::new();
            self.merge_into(&mut merged, schema, 0);
            return self.value(&Value::Object(merged), depth + 1);
        }
        match schema_type(schema) {
            "object" => self.object(schema, depth),
            "array" => self.array(schema, depth),
            "integer" => self.number(schema, true),
            "number" => self.number(schema, matches!(format(schema), Some("int32" | "int64"))),
            "boolean" => Value::Bool(self.rng.random_bool(0.5)),
            "null" => Value::Null,
            _ => Value::String(self.string(schema)),
        }
    }

    fn shallow(&self, depth: usize) -> bool {
        depth > SOFT_DEPTH || self.nodes > SOFT_BUDGET
    }

    fn exhausted(&self, depth: usize) -> bool {
        depth > HARD_DEPTH || self.nodes > HARD_BUDGET
    }

    /// The target of `schema`'s local `$ref`, with the schema's other keywords
    /// over it (3.1 allows siblings).
    fn dereference(&self, schema: &Schema) -> Option<Value> {
        let reference = schema.get("$ref")?.as_str()?;
        let target = resolve_pointer(self.document, reference)?;
        let Some(target) = target.as_object() else {
            return Some(target.clone());
        };
        let mut merged = target.clone();
        for (key, value) in schema.iter().filter(|(key, _)| *key != "$ref") {
            merged.insert(key.clone(), value.clone());
        }
        Some(Value::Object(merged))
    }

    /// The first of `examples`, `example` and `default` of the schema's type.
    fn example(&self, schema: &Schema) -> Option<Value> {
        if self.skip_examples {
            return None;
        }
        let first_example = schema
            .get("examples")
            .and_then(Value::as_array)
            .and_then(|e| e.first());
        [first_example, schema.get("example"), schema.get("default")]
            .into_iter()
            .flatten()
            .find(|value| fits_type(schema, value))
            .cloned()
    }

    /// One of `enum`'s values, not `null` unless it is the only one.
    fn enum_choice(&mut self, schema: &Schema) -> Option<Value> {
        let values = schema.get("enum")?.as_array()?;
        let non_null: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
        match non_null.choose(&mut self.rng) {
            Some(value) => Some((*value).clone()),
            None => values.first().cloned(),
        }
    }

    /// Merges `part` into `merged`, with its `allOf` parts and first usable
    /// `oneOf`/`anyOf` branch: generated once, the value then meets every part
    /// (required properties united, tighter bounds kept).
    fn merge_into(&mut self, merged: &mut Schema, part: &Schema, level: usize) {
        self.nodes += 1;
        if level > MERGE_LEVELS || self.nodes > HARD_BUDGET {
            return;
        }
        if part.contains_key("$ref") {
            if let Some(Value::Object(target)) = self.dereference(part) {
                self.merge_into(merged, &target, level + 1);
            }
            return;
        }
        for (key, value) in part {
            merge_keyword(merged, key, value);
        }
        let parts = part
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let branches = ["oneOf", "anyOf"]
            .into_iter()
            .filter_map(|key| part.get(key).and_then(first_branch));
        for sub in parts.chain(branches).filter_map(Value::as_object) {
            self.merge_into(merged, sub, level + 1);
        }
    }

    fn object(&mut self, schema: &Schema, depth: usize) -> Value {
        let mut object = Map::new();
        if self.exhausted(depth) {
            return Value::Object(object);
        }
        let shallow = self.shallow(depth);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, property) in properties.into_iter().flatten() {
            let optional = !required.contains(&name.as_str());
            // A response carries no writeOnly property, required or not (OpenAPI).
            if (shallow && optional) || self.is_write_only(property) {
                continue;
            }
            let value = self.value(property, depth + 1);
            object.insert(name.clone(), value);
        }
        for name in &required {
            if !properties.is_some_and(|p| p.contains_key(*name)) {
                let value = self.value(&schema_for_name(schema, name), depth + 1);
                object.insert((*name).to_owned(), value);
            }
        }
        let min = count(schema, "minProperties").unwrap_or(0).min(MAX_ITEMS);
        // A map (no properties, a schema for the values) shows one entry.
        let is_map = properties.is_none_or(Map::is_empty)
            && schema
                .get("additionalProperties")
                .is_some_and(Value::is_object);
        let wanted = if is_map && !shallow { min.max(1) } else { min };
        self.add_entries(&mut object, schema, wanted, depth);
        if let Some(max) = count(schema, "maxProperties") {
            let optional: Vec<String> = object
                .keys()
                .filter(|k| !required.contains(&k.as_str()))
                .cloned()
                .collect();
            for key in optional.iter().take(object.len().saturating_sub(max)) {
                object.remove(key);
            }
        }
        Value::Object(object)
    }

    fn is_write_only(&self, property: &Value) -> bool {
        let write_only = |schema: &Value| schema.get("writeOnly") == Some(&Value::Bool(true));
        write_only(property)
            || property
                .as_object()
                .and_then(|p| self.dereference(p))
                .is_some_and(|t| write_only(&t))
    }

    /// Entries beyond `properties` until the object has `wanted`: named after
    /// `patternProperties` when `additionalProperties: false` allows no others.
    fn add_entries(&mut self, object: &mut Schema, schema: &Schema, wanted: usize, depth: usize) {
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        let patterns: Vec<(&String, &Value)> = schema
            .get("patternProperties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .collect();
        for attempt in 1..=wanted.saturating_mul(2) + 8 {
            if object.len() >= wanted {
                return;
            }
            let (name, value_schema) = if closed {
                let Some(&(pattern, value_schema)) = patterns.choose(&mut self.rng) else {
                    return;
                };
                let Some(name) = self.pattern_string(pattern, 0, None) else {
                    continue;
                };
                (name, value_schema.clone())
            } else {
                let name = format!("additionalProp{attempt}");
                let value_schema = schema_for_name(schema, &name);
                (name, value_schema)
            };
            if !object.contains_key(&name) {
                let value = self.value(&value_schema, depth + 1);
                object.insert(name, value);
            }
        }
    }

    fn array(&mut self, schema: &Schema, depth: usize) -> Value {
        if self.exhausted(depth) {
            return Value::Array(Vec::new());
        }
        let min = count(schema, "minItems").unwrap_or(0).min(MAX_ITEMS);
        let max = count(schema, "maxItems")
            .unwrap_or(MAX_ITEMS)
            .min(MAX_ITEMS);
        // 2020-12's `prefixItems`, or the tuple form of `items` before it.
        let (prefix, rest): (&[Value], Option<&Value>) =
            match (schema.get("prefixItems"), schema.get("items")) {
                (Some(Value::Array(prefix)), items) => (prefix.as_slice(), items),
                (None, Some(Value::Array(prefix))) => {
                    (prefix.as_slice(), schema.get("additionalItems"))
                }
                (_, items) => (&[], items),
            };
        let mut length = if self.shallow(depth) {
            min
        } else {
            min.max(self.rng.random_range(1..=2)).max(prefix.len())
        };
        if rest == Some(&Value::Bool(false)) {
            length = length.min(prefix.len());
        }
        let length = length.min(max);
        let unique = schema.get("uniqueItems") == Some(&Value::Bool(true));
        let anything = Value::Bool(true);
        let mut items = Vec::with_capacity(length);
        for index in 0..length {
            let item_schema = prefix.get(index).or(rest).unwrap_or(&anything);
            if unique {
                items.extend(self.distinct_item(item_schema, &items, depth));
            } else {
                items.push(self.value(item_schema, depth + 1));
            }
        }
        Value::Array(items)
    }

    /// An item not among `items` yet, if a few tries find one; tries after the
    /// first two ignore examples, which give the same item every time.
    fn distinct_item(&mut self, schema: &Value, items: &[Value], depth: usize) -> Option<Value> {
        let saved = self.skip_examples;
        let mut found = None;
        for attempt in 0..UNIQUE_ATTEMPTS {
            self.skip_examples = saved || attempt >= 2;
            let item = self.value(schema, depth + 1);
            if !items.contains(&item) {
                found = Some(item);
                break;
            }
        }
        self.skip_examples = saved;
        found
    }

    fn string(&mut self, schema: &Schema) -> String {
        let min = count(schema, "minLength").unwrap_or(0).min(MAX_MIN_LENGTH);
        let max = count(schema, "maxLength").map(|max| max.max(min));
        let pattern = schema.get("pattern").and_then(Value::as_str);
        if let Some(text) = format(schema).and_then(|format| self.formatted(format)) {
            let compiled = pattern.and_then(|p| self.compiled(p, MAX_REPEAT));
            if compiled.is_none_or(|c| c.matcher.is_match(&text)) {
                return text;
            }
        }
        if let Some(text) = pattern.and_then(|p| self.pattern_string(p, min, max)) {
            return text;
        }
        self.words(min, max)
    }

    /// A string matching the ECMA-262 `pattern` within the length bounds, or
    /// `None` when the pattern uses what the generator lacks (lookaround,
    /// backreferences, `\b`) or no try fits.
    fn pattern_string(&mut self, pattern: &str, min: usize, max: Option<usize>) -> Option<String> {
        let repeat = u32::try_from(min).unwrap_or(u32::MAX).clamp(MAX_REPEAT, 64);
        let compiled = self.compiled(pattern, repeat)?;
        let generator = compiled.generator.as_ref()?;
        (0..PATTERN_ATTEMPTS).find_map(|_| {
            let text: Result<String, std::string::FromUtf8Error> = generator.sample(&mut self.rng);
            let text = text.ok()?;
            let length = text.chars().count();
            let fits = length >= min && max.is_none_or(|max| length <= max);
            (fits && compiled.matcher.is_match(&text)).then_some(text)
        })
    }

    fn compiled(&mut self, pattern: &str, repeat: u32) -> Option<Rc<Pattern>> {
        let key = (pattern.to_owned(), repeat);
        self.patterns
            .entry(key)
            .or_insert_with(|| {
                let matcher = regex::Regex::new(pattern).ok()?;
                let generator = rand_regex::Regex::compile(&generator_pattern(pattern), repeat)
                    .ok()
                    .filter(|generator| generator.capacity() <= MAX_PATTERN_BYTES);
                Some(Rc::new(Pattern { matcher, generator }))
            })
            .clone()
    }

    /// Whole lowercase words joined by spaces, 3 to 16 characters unless the
    /// bounds say otherwise; the last word is cut only when it must be.
    fn words(&mut self, min: usize, max: Option<usize>) -> String {
        let max = max
            .unwrap_or(usize::MAX)
            .min(min.max(PLAIN_MAX_LENGTH))
            .max(min);
        let (shortest, longest) = (3.clamp(min, max), 16.clamp(min, max));
        let length = self.rng.random_range(shortest..=longest);
        let mut text = String::with_capacity(length + 16);
        let mut before_last = 0;
        while text.len() < length {
            before_last = text.len();
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(self.word());
        }
        if text.len() > longest {
            text.truncate(if before_last >= shortest {
                before_last
            } else {
                longest
            });
        }
        if text.ends_with(' ') {
            text.pop();
            text.push('s');
        }
        text
    }

    fn word(&mut self) -> &'static str {
        WORDS.choose(&mut self.rng).copied().unwrap_or("echo")
    }

    fn formatted(&mut self, format: &str) -> Option<String> {
        let text = match format {
            "date-time" => format!("{}T{}Z", self.date(), self.time()),
            "date" => self.date(),
            "time" => format!("{}Z", self.time()),
            "email" | "idn-email" => format!("{}.{}@example.com", self.word(), self.word()),
            "hostname" | "idn-hostname" => format!("{}.example.com", self.word()),
            "uri" | "url" | "iri" | "uri-reference" | "iri-reference" => {
                format!("https://example.com/{}", self.word())
            }
            "uri-template" => "https://example.com/{id}".to_owned(),
            "json-pointer" => format!("/{}", self.word()),
            "relative-json-pointer" => "0".to_owned(),
            "regex" => "^[a-z]+$".to_owned(),
            "uuid" => uuid::Builder::from_random_bytes(self.rng.random())
                .into_uuid()
                .to_string(),
            "ipv4" => {
                let [a, b, c, d]: [u8; 4] = self.rng.random();
                format!("{a}.{b}.{c}.{d}")
            }
            "ipv6" => {
                let [a, b, c, d, e, f]: [u16; 6] = self.rng.random();
                format!("2001:db8:{a:x}:{b:x}:{c:x}:{d:x}:{e:x}:{f:x}")
            }
            "byte" => {
                let length = self.rng.random_range(4..=24);
                let bytes: Vec<u8> = (0..length).map(|_| self.rng.random()).collect();
                BASE64.encode(bytes)
            }
            "password" => (0..12)
                .map(|_| char::from(Alphanumeric.sample(&mut self.rng)))
                .collect(),
            "duration" if self.rng.random_bool(0.5) => {
                format!("P{}D", self.rng.random_range(1..=30))
            }
            "duration" => {
                format!(
                    "PT{}H{}M",
                    self.rng.random_range(1..=23),
                    self.rng.random_range(1..=59)
                )
            }
            "int32" | "int64" => self.rng.random_range(0..=100_000).to_string(),
            _ => return None,
        };
        Some(text)
    }

    fn date(&mut self) -> String {
        let year = self.rng.random_range(2020..=2029);
        let month = self.rng.random_range(1..=12);
        let day = self.rng.random_range(1..=28);
        format!("{year:04}-{month:02}-{day:02}")
    }

    fn time(&mut self) -> String {
        let hour = self.rng.random_range(0..=23);
        let minute = self.rng.random_range(0..=59);
        let second = self.rng.random_range(0..=59);
        format!("{hour:02}:{minute:02}:{second:02}")
    }

    fn number(&mut self, schema: &Schema, integer: bool) -> Value {
        let multiple = schema
            .get("multipleOf")
            .and_then(Value::as_f64)
            .filter(|m| *m > 0.0)
            .and_then(decimal)
            .filter(|m| m.units > 0);
        let mut step = match multiple {
            // The integers among multiples of 2.5 are the multiples of 5.
            Some(Decimal { units, scale }) if integer => {
                let divisor = pow10(scale).map_or(1, |p| gcd(units, p));
                Decimal {
                    units: units / divisor,
                    scale: 0,
                }
            }
            Some(step) => step,
            None if integer => Decimal { units: 1, scale: 0 },
            None => Decimal { units: 1, scale: 2 },
        };
        loop {
            let (low, high) = steps_range(schema, step, integer);
            if low <= high || multiple.is_some() || integer || step.scale >= 9 {
                let k = if low <= high {
                    self.rng.random_range(low..=high)
                } else {
                    low
                };
                return k
                    .checked_mul(step.units)
                    .map_or(Value::Null, |total| number_value(total, step.scale));
            }
            // Bounds too close for two decimals (1.5 < x < 1.51): finer steps.
            step.scale += 1;
        }
    }
}

/// The first branch of `oneOf`/`anyOf` that is not `{"type": "null"}`.
fn first_branch(branches: &Value) -> Option<&Value> {
    let branches = branches.as_array()?;
    branches
        .iter()
        .find(|b| b.get("type").and_then(Value::as_str) != Some("null"))
        .or(branches.first())
}

/// One keyword of an `allOf` part into the merged schema. Examples are
/// dropped: each was valid for its part only.
fn merge_keyword(merged: &mut Schema, key: &str, value: &Value) {
    match key {
        "$ref" | "allOf" | "oneOf" | "anyOf" | "example" | "examples" | "default" => {}
        "properties" => {
            let Some(properties) = value.as_object() else {
                return;
            };
            let Some(into) = merged
                .entry(key)
                .or_insert_with(|| json!({}))
                .as_object_mut()
            else {
                return;
            };
            for (name, schema) in properties {
                match into.get_mut(name) {
                    Some(existing) => *existing = json!({"allOf": [existing.take(), schema]}),
                    None => {
                        into.insert(name.clone(), schema.clone());
                    }
                }
            }
        }
        "required" => {
            let mut names = merged
                .get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for name in value.as_array().into_iter().flatten() {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
            merged.insert(key.to_owned(), Value::Array(names));
        }
        "type" => {
            let types = match merged.get(key) {
                Some(existing) => intersect_types(existing, value),
                None => value.clone(),
            };
            merged.insert(key.to_owned(), types);
        }
        "minimum" | "exclusiveMinimum" | "minLength" | "minItems" | "minProperties" => {
            keep_tighter(merged, key, value, |new, old| new > old);
        }
        "maximum" | "exclusiveMaximum" | "maxLength" | "maxItems" | "maxProperties" => {
            keep_tighter(merged, key, value, |new, old| new < old);
        }
        _ => {
            merged.entry(key).or_insert_with(|| value.clone());
        }
    }
}

fn keep_tighter(merged: &mut Schema, key: &str, value: &Value, tighter: fn(f64, f64) -> bool) {
    let replace = match (value.as_f64(), merged.get(key).and_then(Value::as_f64)) {
        (Some(new), Some(old)) => tighter(new, old),
        (_, old) => old.is_none(),
    };
    if replace {
        merged.insert(key.to_owned(), value.clone());
    }
}

/// The types both allow (an integer is a number), or `first` if none.
fn intersect_types(first: &Value, second: &Value) -> Value {
    let (first_types, second_types) = (types_of(first), types_of(second));
    let allows = |types: &[&str], t: &str| {
        types.contains(&t) || (t == "integer" && types.contains(&"number"))
    };
    let mut common: Vec<&str> = first_types
        .iter()
        .copied()
        .filter(|t| allows(&second_types, t))
        .collect();
    if second_types.contains(&"integer")
        && first_types.contains(&"number")
        && !common.contains(&"integer")
    {
        common.push("integer");
    }
    if common.is_empty() {
        first.clone()
    } else {
        json!(common)
    }
}

fn types_of(types: &Value) -> Vec<&str> {
    match types {
        Value::String(single) => vec![single.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn fits_type(schema: &Schema, value: &Value) -> bool {
    let types = schema.get("type").map(types_of).unwrap_or_default();
    types.is_empty()
        || types.iter().any(|t| match (*t, value) {
            ("integer", Value::Number(n)) => n.as_f64().is_some_and(|f| f.fract() == 0.0),
            ("number", Value::Number(_))
            | ("string", Value::String(_))
            | ("boolean", Value::Bool(_))
            | ("object", Value::Object(_))
            | ("array", Value::Array(_))
            | ("null", Value::Null) => true,
            _ => false,
        })
}

/// The first non-null declared type, else one inferred from the keywords.
fn schema_type(schema: &Schema) -> &'static str {
    let declared = schema.get("type").map(types_of).unwrap_or_default();
    if let Some(first) = declared.iter().find(|t| **t != "null") {
        return match *first {
            "object" => "object",
            "array" => "array",
            "integer" => "integer",
            "number" => "number",
            "boolean" => "boolean",
            _ => "string",
        };
    }
    if !declared.is_empty() {
        return "null";
    }
    let has = |keys: &[&str]| keys.iter().any(|key| schema.contains_key(*key));
    if has(&[
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
        "minProperties",
    ]) {
        "object"
    } else if has(&[
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "uniqueItems",
    ]) {
        "array"
    } else if has(&[
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
    ]) {
        if matches!(format(schema), Some("int32" | "int64")) {
            "integer"
        } else {
            "number"
        }
    } else {
        "string"
    }
}

fn format(schema: &Schema) -> Option<&str> {
    schema.get("format").and_then(Value::as_str)
}

/// A non-negative count keyword (`minItems`, `maxLength`...), `5.0` included.
fn count(schema: &Schema, key: &str) -> Option<usize> {
    let n = schema.get(key)?.as_f64().filter(|n| *n >= 0.0)?;
    Some(n as usize)
}

/// The schema an extra property `name` must meet: a `patternProperties`
/// entry it matches, else `additionalProperties`.
fn schema_for_name(schema: &Schema, name: &str) -> Value {
    let patterns = schema.get("patternProperties").and_then(Value::as_object);
    for (pattern, value_schema) in patterns.into_iter().flatten() {
        if regex::Regex::new(pattern).is_ok_and(|r| r.is_match(name)) {
            return value_schema.clone();
        }
    }
    match schema.get("additionalProperties") {
        Some(value_schema @ Value::Object(_)) => value_schema.clone(),
        _ => Value::Bool(true),
    }
}

/// A local reference's target: a JSON pointer, percent-encoded as URI fragments are.
fn resolve_pointer<'a>(document: &'a Value, reference: &str) -> Option<&'a Value> {
    let fragment = reference.strip_prefix('#')?;
    let pointer = percent_encoding::percent_decode_str(fragment)
        .decode_utf8()
        .ok()?;
    document.pointer(&pointer)
}

/// An ECMA-262 pattern rewritten for rand_regex (regex-syntax): anchors
/// dropped (the whole generated string is the match), and `\d`, `\w`, `\s`
/// and `.` made ASCII as in ECMA rather than Unicode. Outside classes the
/// rewrites pick readable subsets, which still match the original.
fn generator_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match (c, in_class) {
            ('\\', _) => match chars.next() {
                Some(escaped) => out.push_str(&escape(escaped, in_class)),
                None => out.push_str(r"\\"),
            },
            ('[', false) => {
                in_class = true;
                out.push('[');
            }
            (']', true) => {
                in_class = false;
                out.push(']');
            }
            // Literal in ECMA classes, set operators or nesting in regex-syntax's.
            ('[' | '&' | '~', true) => {
                out.push('\\');
                out.push(c);
            }
            ('^' | '$', false) => {}
            ('.', false) => out.push_str("[ -~]"),
            _ => out.push(c),
        }
    }
    out
}

fn escape(escaped: char, in_class: bool) -> String {
    let replacement = match (escaped, in_class) {
        ('d', true) => "0-9",
        ('d', false) => "[0-9]",
        ('D', true) => "[^0-9]",
        ('D', false) => "[A-Za-z]",
        ('w', true) => "A-Za-z0-9_",
        ('w', false) => "[A-Za-z0-9_]",
        ('W', true) => "[^A-Za-z0-9_]",
        ('W', false) => "[!-/]",
        ('s', true) => ECMA_SPACE,
        ('s', false) => "[ ]",
        ('S', true) => return format!("[^{ECMA_SPACE}]"),
        ('S', false) => "[!-~]",
        _ => return format!("\\{escaped}"),
    };
    replacement.to_owned()
}

/// The range of `k` such that `k` steps meet the bounds (and the format's
/// limits); unbounded sides span `DEFAULT_SPAN` from the other (or from 0).
fn steps_range(schema: &Schema, step: Decimal, integer: bool) -> (i128, i128) {
    let (limit_low, limit_high) = match format(schema) {
        Some("int32") if integer => (f64::from(i32::MIN), f64::from(i32::MAX)),
        _ => (-MAX_SAFE, MAX_SAFE),
    };
    let low = bound(schema, "minimum", "exclusiveMinimum", true).and_then(|(b, exclusive)| {
        steps_to(b.max(limit_low), exclusive && b >= limit_low, step, true)
    });
    let high = bound(schema, "maximum", "exclusiveMaximum", false).and_then(|(b, exclusive)| {
        steps_to(b.min(limit_high), exclusive && b <= limit_high, step, false)
    });
    let span = pow10(step.scale).map_or(0, |p| p.saturating_mul(DEFAULT_SPAN) / step.units);
    let (low, high) = match (low, high) {
        (Some(low), Some(high)) => (low, high),
        (Some(low), None) => (low, low.saturating_add(span)),
        (None, Some(high)) => (high.saturating_sub(span), high),
        (None, None) => (0, span),
    };
    let limit_low = steps_to(limit_low, false, step, true).unwrap_or(i128::MIN);
    let limit_high = steps_to(limit_high, false, step, false).unwrap_or(i128::MAX);
    (low.max(limit_low), high.min(limit_high))
}

/// The lower (or upper) bound and whether it is exclusive: the tighter of
/// `minimum` and a numeric `exclusiveMinimum`, or 3.0's boolean form.
fn bound(
    schema: &Schema,
    inclusive_key: &str,
    exclusive_key: &str,
    lower: bool,
) -> Option<(f64, bool)> {
    let inclusive = schema.get(inclusive_key).and_then(Value::as_f64);
    let exclusive = schema.get(exclusive_key);
    let legacy = exclusive == Some(&Value::Bool(true));
    match (inclusive, exclusive.and_then(Value::as_f64)) {
        (Some(i), Some(e)) if (lower && e >= i) || (!lower && e <= i) => Some((e, true)),
        (Some(i), _) => Some((i, legacy)),
        (None, Some(e)) => Some((e, true)),
        (None, None) => None,
    }
}

/// The first (`up`) or last count of steps on the allowed side of `bound`.
fn steps_to(bound: f64, exclusive: bool, step: Decimal, up: bool) -> Option<i128> {
    let bound = decimal(bound.clamp(-MAX_SAFE, MAX_SAFE))?;
    let scale = bound.scale.max(step.scale);
    let bound_units = bound.units.checked_mul(pow10(scale - bound.scale)?)?;
    let step_units = step.units.checked_mul(pow10(scale - step.scale)?)?;
    let quotient = bound_units.div_euclid(step_units);
    let on_bound = bound_units.rem_euclid(step_units) == 0;
    Some(match (up, on_bound && !exclusive, on_bound) {
        (true, true, _) => quotient,
        (true, false, _) => quotient + 1,
        (false, false, true) => quotient - 1,
        (false, _, _) => quotient,
    })
}

/// `x` exactly as its shortest decimal form reads (Rust prints no exponent).
fn decimal(x: f64) -> Option<Decimal> {
    if !x.is_finite() {
        return None;
    }
    let text = x.to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let scale = u32::try_from(fraction.len())
        .ok()
        .filter(|scale| *scale <= 18)?;
    let units = format!("{whole}{fraction}").parse().ok()?;
    Some(Decimal { units, scale })
}

/// `total / 10^scale` as JSON: an integer when `scale` is 0, else the float
/// nearest that decimal.
fn number_value(total: i128, scale: u32) -> Value {
    if scale == 0 {
        return i64::try_from(total).map_or(Value::Null, Value::from);
    }
    let Some(divisor) = pow10(scale).map(i128::unsigned_abs) else {
        return Value::Null;
    };
    let sign = if total < 0 { "-" } else { "" };
    let magnitude = total.unsigned_abs();
    let text = format!(
        "{sign}{}.{:0width$}",
        magnitude / divisor,
        magnitude % divisor,
        width = scale as usize
    );
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

fn pow10(exponent: u32) -> Option<i128> {
    10_i128.checked_pow(exponent)
}

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 { a.abs() } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> Value {
        json!({"components": {"schemas": {
            "Category": {"type": "object", "properties": {
                "id": {"type": "integer", "format": "int64"},
                "name": {"type": "string", "minLength": 2}}},
            "Pet": {"type": "object", "required": ["id", "name"], "properties": {
                "id": {"type": "integer", "format": "int64", "minimum": 1},
                "name": {"type": "string", "example": "doggie"},
                "status": {"type": "string", "enum": ["available", "pending", "sold"]},
                "category": {"$ref": "#/components/schemas/Category"},
                "photoUrls": {"type": "array", "items": {"type": "string", "format": "uri"}},
                "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true}}},
            "NewPet": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"}, "tag": {"type": "string"}}},
            "Node": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"},
                "parent": {"$ref": "#/components/schemas/Node"},
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}},
            "Wide": {"type": "object", "properties": {
                "a": {"$ref": "#/components/schemas/Wide"}, "b": {"$ref": "#/components/schemas/Wide"},
                "c": {"$ref": "#/components/schemas/Wide"}, "d": {"$ref": "#/components/schemas/Wide"},
                "e": {"type": "array", "minItems": 3, "items": {"$ref": "#/components/schemas/Wide"}}}},
            "Loop": {"$ref": "#/components/schemas/Loop2"},
            "Loop2": {"$ref": "#/components/schemas/Loop"},
            "SelfAll": {"allOf": [{"$ref": "#/components/schemas/SelfAll"}], "oneOf": [{"$ref": "#/components/schemas/SelfAll"}]},
            "a/b~c": {"type": "string", "format": "uuid"},
        }}})
    }

    /// Schemas the generated values must be valid against, for every seed.
    fn schemas() -> Vec<Value> {
        let formats = [
            "date-time",
            "date",
            "time",
            "email",
            "uuid",
            "uri",
            "url",
            "uri-reference",
            "iri",
            "hostname",
            "ipv4",
            "ipv6",
            "byte",
            "binary",
            "password",
            "duration",
            "int32",
            "int64",
            "json-pointer",
            "regex",
            "idn-email",
            "iri-reference",
        ];
        let mut schemas: Vec<Value> = formats
            .iter()
            .map(|f| json!({"type": "string", "format": f}))
            .collect();
        schemas.extend([
            json!({"type": "string"}),
            json!({"type": "string", "minLength": 20, "maxLength": 25}),
            json!({"type": "string", "maxLength": 2}),
            json!({"type": "string", "minLength": 100}),
            json!({"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"}),
            json!({"type": "string", "pattern": r"[a-z]+@[a-z]+\.com"}),
            json!({"type": "string", "pattern": r"^\w+\s\S+$", "maxLength": 12}),
            json!({"type": "string", "pattern": r"^[^\d\s]{2,}\.?[\w-]*$"}),
            json!({"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}),
            json!({"type": "integer"}),
            json!({"type": "integer", "minimum": 5, "maximum": 7}),
            json!({"type": "integer", "exclusiveMinimum": 5, "exclusiveMaximum": 8, "multipleOf": 2}),
            json!({"type": "integer", "minimum": -50}),
            json!({"type": "integer", "maximum": -3000}),
            json!({"type": "integer", "format": "int32", "minimum": 2_147_483_000}),
            json!({"type": "integer", "multipleOf": 2.5, "minimum": 1}),
            json!({"type": "number"}),
            json!({"type": "number", "minimum": 0.1, "maximum": 0.35, "multipleOf": 0.05}),
            json!({"type": "number", "exclusiveMinimum": 1.5, "exclusiveMaximum": 1.51}),
            json!({"type": "number", "multipleOf": 0.1, "maximum": -0.2}),
            json!({"minimum": 3}),
            json!({"type": "boolean"}),
            json!({"type": "null"}),
            json!({"enum": ["a", "b", null]}),
            json!({"enum": [null]}),
            json!({"const": {"a": 1}}),
            json!({"type": "integer", "example": "not an integer"}),
            json!({"type": ["string", "null"], "minLength": 2}),
            json!({"type": "string", "nullable": true, "x-extra": 1, "deprecated": true}),
            json!({"type": "array", "items": {"type": "integer"}, "minItems": 3, "maxItems": 5, "uniqueItems": true}),
            json!({"type": "array", "items": {"enum": [1, 2, 3]}, "minItems": 3, "uniqueItems": true}),
            json!({"type": "array", "items": {"type": "string", "example": "x"}, "minItems": 3, "uniqueItems": true}),
            json!({"type": "array", "maxItems": 0}),
            json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": false}),
            json!({"type": "array", "items": {"type": "array", "items": {"$ref": "#/components/schemas/NewPet"}}}),
            json!({"type": "object", "required": ["inner"], "additionalProperties": false, "properties": {
                "inner": {"type": "object", "required": ["when"], "properties": {
                    "when": {"type": "string", "format": "date-time"},
                    "count": {"type": "integer", "minimum": 1}}}}}),
            json!({"type": "object", "additionalProperties": {"type": "integer"}, "minProperties": 3}),
            json!({"type": "object", "minProperties": 2, "maxProperties": 2, "required": ["a"],
                   "properties": {"a": {}, "b": {}, "c": {}, "d": {}}}),
            json!({"type": "object", "patternProperties": {"^x-[a-z]+$": {"type": "integer"}},
                   "additionalProperties": false, "minProperties": 2}),
            json!({"type": "object", "required": ["extra"], "additionalProperties": {"type": "boolean"}}),
            json!({"allOf": [{"$ref": "#/components/schemas/NewPet"}, {"required": ["id"],
                   "properties": {"id": {"type": "integer", "format": "int64"}}}]}),
            json!({"allOf": [{"type": "integer", "minimum": 3}, {"maximum": 4}, {"multipleOf": 2}]}),
            json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Pet"}]}),
            json!({"anyOf": [{"type": "string", "format": "email"}, {"type": "integer"}]}),
            json!({"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}},
                   "oneOf": [{"required": ["a"], "properties": {"a": {"type": "integer"}}}]}),
            json!({"$ref": "#/components/schemas/Pet"}),
            json!({"$ref": "#/components/schemas/Pet", "description": "a sibling"}),
            json!({"$ref": "#/components/schemas/Node"}),
            json!({"$ref": "#/components/schemas/a~1b~0c"}),
            json!({"$ref": "#/components/schemas/a~1b%7E0c"}),
            json!({"type": "object", "properties": {
                "id": {"type": "integer", "readOnly": true},
                "secret": {"type": "string", "writeOnly": true}}}),
            deep_schema(12),
        ]);
        schemas
    }

    /// Objects nested `levels` deep, each requiring the next.
    fn deep_schema(levels: usize) -> Value {
        (0..levels).fold(json!({"type": "string"}), |inner, _| {
            json!({"type": "object", "required": ["next"], "properties": {"next": inner, "x": {"type": "integer"}}})
        })
    }

    /// `schema` with the document's components beside it, for its `$ref`s.
    fn validator(schema: &Value) -> jsonschema::Validator {
        let root = json!({"allOf": [schema], "components": document()["components"]});
        let built = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root);
        built.unwrap_or_else(|e| panic!("{schema} does not compile: {e}"))
    }

    #[test]
    fn values_are_valid_for_every_seed() {
        let document = document();
        for schema in schemas() {
            let validator = validator(&schema);
            for seed in 0..40 {
                let value = generate(&schema, &document, seed);
                let errors: Vec<String> = validator
                    .iter_errors(&value)
                    .map(|e| e.to_string())
                    .collect();
                assert!(
                    errors.is_empty(),
                    "{value} for {schema} (seed {seed}): {errors:?}"
                );
            }
        }
    }

    #[test]
    fn same_seed_gives_same_value() {
        let document = document();
        for schema in schemas() {
            for seed in [0, 7, u64::MAX] {
                assert_eq!(
                    generate(&schema, &document, seed),
                    generate(&schema, &document, seed)
                );
            }
        }
    }

    #[test]
    fn seeds_vary_the_values() {
        for schema in [
            json!({"type": "string"}),
            json!({"type": "integer"}),
            json!({"type": "string", "format": "uuid"}),
        ] {
            let distinct: std::collections::HashSet<String> = (0..40)
                .map(|seed| generate(&schema, &Value::Null, seed).to_string())
                .collect();
            assert!(distinct.len() > 10, "{schema}: {distinct:?}");
        }
    }

    #[test]
    fn const_then_examples_then_example_then_default_then_enum() {
        let cases = [
            (
                json!({"const": 1, "examples": [2], "example": 3, "default": 4, "enum": [5]}),
                json!(1),
            ),
            (
                json!({"examples": [2, 9], "example": 3, "default": 4, "enum": [5]}),
                json!(2),
            ),
            (json!({"example": 3, "default": 4, "enum": [5]}), json!(3)),
            (json!({"default": 4, "enum": [5]}), json!(4)),
            (json!({"enum": [null, 5]}), json!(5)),
            (
                json!({"type": "integer", "example": "three", "default": 4}),
                json!(4),
            ),
        ];
        for (schema, expected) in cases {
            for seed in 0..5 {
                assert_eq!(generate(&schema, &Value::Null, seed), expected, "{schema}");
            }
        }
    }

    #[test]
    fn plain_strings_are_words_within_bounds() {
        for seed in 0..40 {
            let value = generate(&json!({"type": "string"}), &Value::Null, seed);
            let text = value.as_str().unwrap_or_default();
            assert!((3..=16).contains(&text.len()), "{text:?}");
            assert!(
                text.chars().all(|c| c.is_ascii_lowercase() || c == ' '),
                "{text:?}"
            );
            assert!(!text.ends_with(' '), "{text:?}");
        }
    }

    #[test]
    fn patterns_generate_matching_strings() {
        let schema = json!({"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"});
        let value = generate(&schema, &Value::Null, 3);
        let text = value.as_str().unwrap_or_default();
        assert_eq!(text.len(), 8, "{text}");
        assert!(
            text.bytes().take(3).all(|b| b.is_ascii_uppercase()),
            "{text}"
        );
    }

    #[test]
    fn unusable_patterns_fall_back_to_words() {
        for pattern in [r"^(?=x)", "[", r"(a)\1", r"\bfoo\b", ""] {
            let schema = json!({"type": "string", "pattern": pattern, "minLength": 1});
            let value = generate(&schema, &Value::Null, 0);
            assert!(
                value.as_str().is_some_and(|s| !s.is_empty()),
                "{pattern}: {value}"
            );
        }
    }

    #[test]
    fn malformed_schemas_give_a_value_without_panicking() {
        let schemas = [
            json!({"type": 5}),
            json!({"type": []}),
            json!({"type": ["null"]}),
            json!({"properties": [], "required": "a"}),
            json!({"enum": []}),
            json!({"examples": {}}),
            json!({"allOf": "x", "oneOf": [], "anyOf": [5]}),
            json!({"$ref": 5}),
            json!({"minLength": -1, "maxItems": -3}),
            json!({"type": "string", "minLength": 1e20, "maxLength": 3}),
            json!({"type": "integer", "minimum": 1e300}),
            json!({"type": "number", "minimum": 5, "maximum": 1}),
            json!({"type": "number", "multipleOf": 0}),
            json!({"type": "number", "multipleOf": 1e-30, "minimum": 1e-25}),
            json!({"type": "integer", "exclusiveMinimum": true, "minimum": 0}),
            json!({"type": "string", "pattern": "a{100000}"}),
            json!({"type": "string", "pattern": r"\d{1000}{1000}"}),
            json!({"type": "array", "minItems": 1e9, "uniqueItems": true, "items": {"type": "boolean"}}),
            json!({"type": "array", "items": [{"type": "string"}], "additionalItems": false}),
            json!(false),
            json!(true),
            json!(null),
            json!("string"),
        ];
        for schema in schemas {
            let value = generate(&schema, &Value::Null, 0);
            assert!(value.to_string().len() < 1_000_000, "{schema}");
        }
        let lenient =
            json!({"type": "integer", "exclusiveMinimum": true, "minimum": 0, "maximum": 1});
        assert_eq!(generate(&lenient, &Value::Null, 0), json!(1));
    }

    #[test]
    fn write_only_properties_are_left_out() {
        let document =
            json!({"components": {"schemas": {"Secret": {"type": "string", "writeOnly": true}}}});
        let schema = json!({"type": "object", "required": ["password"], "properties": {
            "id": {"type": "integer"},
            "password": {"type": "string", "writeOnly": true},
            "token": {"$ref": "#/components/schemas/Secret"}}});
        for seed in 0..10 {
            let value = generate(&schema, &document, seed);
            let keys: Vec<&String> = value
                .as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_default();
            assert_eq!(keys, ["id"], "{value}");
        }
    }

    #[test]
    fn all_of_merges_the_parts() {
        let schema = json!({"allOf": [{"$ref": "#/components/schemas/NewPet"},
            {"required": ["id"], "properties": {"id": {"type": "integer", "format": "int64"}}}]});
        let value = generate(&schema, &document(), 1);
        assert!(value["id"].is_i64() && value["name"].is_string(), "{value}");
    }

    #[test]
    fn circular_documents_terminate_and_stay_small() {
        let document = document();
        for name in ["Node", "Wide", "Loop", "SelfAll"] {
            let schema = json!({"$ref": format!("#/components/schemas/{name}")});
            for seed in 0..5 {
                let value = generate(&schema, &document, seed);
                assert!(value.to_string().len() < 2_000_000, "{name}");
            }
        }
        assert_eq!(
            generate(&json!({"$ref": "#/components/schemas/Loop"}), &document, 0),
            Value::Null
        );
    }

    #[test]
    fn unresolvable_references_give_null() {
        for reference in [
            "#/components/schemas/Missing",
            "other.yaml#/Pet",
            "https://example.com/s",
        ] {
            assert_eq!(
                generate(&json!({"$ref": reference}), &document(), 0),
                Value::Null
            );
        }
    }

    #[test]
    fn numbers_print_exactly() {
        let schema = json!({"type": "number", "multipleOf": 0.1, "minimum": 0.2, "maximum": 0.4});
        for seed in 0..20 {
            let text = generate(&schema, &Value::Null, seed).to_string();
            assert!(["0.2", "0.3", "0.4"].contains(&text.as_str()), "{text}");
        }
    }
}
