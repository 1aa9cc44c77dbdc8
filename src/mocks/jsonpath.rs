//! The JSONPath subset that stubs use: `$`, `.name`, `['name']`, `[n]`, `.*`
//! and `[*]`. Anything else is refused when the stub is created, never
//! silently ignored.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
    Wildcard,
}

/// A parsed JSONPath expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    steps: Vec<Step>,
    text: String,
}

impl JsonPath {
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let unsupported = |what: &str| {
            Err(format!(
                "JSONPath `{text}`: {what} (supported: $, .name, ['name'], [n], .*, [*])"
            ))
        };
        let rest = match text.trim().strip_prefix('$') {
            Some(rest) => rest,
            None => return unsupported("must start with $"),
        };
        let chars: Vec<char> = rest.chars().collect();
        let mut steps = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    if chars.get(i + 1) == Some(&'.') {
                        return unsupported("recursive descent `..` is not supported");
                    }
                    let start = i + 1;
                    let mut end = start;
                    while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
                        end += 1;
                    }
                    let name: String = chars[start..end].iter().collect();
                    if name.is_empty() {
                        return unsupported("empty name after `.`");
                    }
                    steps.push(if name == "*" {
                        Step::Wildcard
                    } else {
                        Step::Key(name)
                    });
                    i = end;
                }
                '[' => {
                    let Some(close) = chars[i..].iter().position(|c| *c == ']') else {
                        return unsupported("unclosed `[`");
                    };
                    let inner: String = chars[i + 1..i + close].iter().collect();
                    let inner = inner.trim();
                    if inner == "*" {
                        steps.push(Step::Wildcard);
                    } else if let Ok(n) = inner.parse::<usize>() {
                        steps.push(Step::Index(n));
                    } else if inner.len() >= 2
                        && ((inner.starts_with('\'') && inner.ends_with('\''))
                            || (inner.starts_with('"') && inner.ends_with('"')))
                    {
                        steps.push(Step::Key(inner[1..inner.len() - 1].to_owned()));
                    } else {
                        return unsupported(&format!(
                            "`[{inner}]` (filters, slices and unions are not supported)"
                        ));
                    }
                    i += close + 1;
                }
                other => return unsupported(&format!("unexpected `{other}`")),
            }
        }
        Ok(JsonPath {
            steps,
            text: text.to_owned(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Every value the expression selects (empty: nothing matched).
    pub fn select<'v>(&self, root: &'v Value) -> Vec<&'v Value> {
        let mut current = vec![root];
        for step in &self.steps {
            let mut next = Vec::new();
            for value in current {
                match (step, value) {
                    (Step::Key(key), Value::Object(map)) => next.extend(map.get(key)),
                    (Step::Index(n), Value::Array(items)) => next.extend(items.get(*n)),
                    (Step::Wildcard, Value::Array(items)) => next.extend(items.iter()),
                    (Step::Wildcard, Value::Object(map)) => next.extend(map.values()),
                    _ => {}
                }
            }
            current = next;
        }
        current
    }

    /// The selection as text: a string as itself, anything else as JSON; a
    /// wildcard selection as a JSON array. Nothing selected: `None`.
    pub fn render(&self, root: &Value) -> Option<String> {
        let selected = self.select(root);
        let wildcard = self.steps.contains(&Step::Wildcard);
        match selected.as_slice() {
            [] => None,
            [one] if !wildcard => Some(value_text(one)),
            many => Some(Value::Array(many.iter().map(|v| (*v).clone()).collect()).to_string()),
        }
    }
}

/// A JSON value as a matcher or a template sees it.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects_keys_indices_and_wildcards() {
        let doc = json!({"a": {"b": [10, {"c": "x"}]}, "d": 1});
        let path = |p: &str| JsonPath::parse(p).unwrap();
        assert_eq!(path("$.a.b[0]").render(&doc).as_deref(), Some("10"));
        assert_eq!(path("$['a'].b[1].c").render(&doc).as_deref(), Some("x"));
        assert_eq!(path("$.a.b[*]").select(&doc).len(), 2);
        assert_eq!(path("$.missing").render(&doc), None);
        assert_eq!(path("$").select(&doc).len(), 1);
    }

    #[test]
    fn refuses_what_it_does_not_support() {
        for bad in ["a.b", "$..a", "$.a[?(@.x)]", "$.a[0:2]", "$.a["] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
    }
}
