//! XMLUnit's placeholders, which `equalToXml` honours with
//! `enablePlaceholders`: an expected text or attribute value such as
//! `${xmlunit.ignore}`, `${xmlunit.isNumber}`, `${xmlunit.matchesRegex(^\d+$)}`
//! or `${xmlunit.isDateTime(yyyy-MM-dd)}` stands for a kind of value. The
//! delimiters are regular expressions, `\$\{` and `\}` unless the stub says.

use regex::Regex;

/// The keywords XMLUnit knows; any other text is compared as written.
const KEYWORDS: [&str; 4] = ["ignore", "isNumber", "matchesRegex", "isDateTime"];

#[derive(Debug, Clone)]
pub struct Placeholders {
    placeholder: Regex,
    arguments: Regex,
}

fn build(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("placeholder delimiters do not make a regular expression: {e}"))
}

impl Placeholders {
    /// With the stub's delimiter regexes (blank or missing: the defaults).
    pub fn new(opening: Option<&str>, closing: Option<&str>) -> Result<Placeholders, String> {
        let opening = opening.filter(|o| !o.trim().is_empty()).unwrap_or(r"\$\{");
        let closing = closing.filter(|c| !c.trim().is_empty()).unwrap_or(r"\}");
        Ok(Placeholders {
            // XMLUnit's own expressions, with the delimiters spliced in.
            placeholder: build(&format!(
                r"(\s*(?:{opening})\s*xmlunit\.(.+)\s*(?:{closing})\s*)"
            ))?,
            arguments: build(r"((.*)\s*\((.+)\s*\)\s*)")?,
        })
    }

    /// `None`: `expected` holds no placeholder and is compared as text.
    /// Otherwise whether `actual` (`None`: the value is missing) is accepted.
    pub fn evaluate(&self, expected: &str, actual: Option<&str>) -> Option<bool> {
        let found = self.placeholder.captures(expected)?;
        let content = found.get(2)?.as_str().trim();
        let (keyword, arguments): (&str, Vec<&str>) = match self.arguments.captures(content) {
            Some(call) => (
                call.get(2)?.as_str().trim(),
                call.get(3)?.as_str().split(',').collect(),
            ),
            None => (content, Vec::new()),
        };
        if !KEYWORDS.contains(&keyword) {
            return None;
        }
        // XMLUnit refuses a placeholder with other text beside it.
        if found.get(1)?.as_str().trim() != expected.trim() {
            return Some(false);
        }
        Some(match keyword {
            "ignore" => true,
            "isNumber" => actual.is_some_and(is_number),
            "matchesRegex" => {
                let pattern = arguments.first().map_or("", |p| p.trim());
                !pattern.is_empty()
                    && actual
                        .is_some_and(|text| build(pattern).is_ok_and(|re| re.is_match(text.trim())))
            }
            _ => actual.is_some_and(|text| is_date_time(text, arguments.first().copied())),
        })
    }
}

/// XMLUnit's `isNumber`: `^[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$`.
fn is_number(text: &str) -> bool {
    let text = text.trim();
    let text = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole.is_empty() || digits(whole)) && digits(fraction),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// XMLUnit's `isDateTime`: Java's `SimpleDateFormat` reads a date from the
/// start of the text (what follows is not looked at), leniently. Without a
/// format: an ISO date (with or without a time) or a short US date.
fn is_date_time(text: &str, format: Option<&str>) -> bool {
    let text = text.trim();
    let pattern = match format.map(str::trim).filter(|f| !f.is_empty()) {
        Some(format) => java_date_pattern(format),
        None => r"(?:\d+-\d+-\d+|\d+/\d+/\d+)".to_owned(),
    };
    !text.is_empty() && build(&format!("^(?:{pattern})")).is_ok_and(|re| re.is_match(text))
}

/// A `SimpleDateFormat` pattern as a regular expression for what it reads.
fn java_date_pattern(format: &str) -> String {
    let mut pattern = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            let mut literal = String::new();
            for q in chars.by_ref() {
                if q == '\'' {
                    break;
                }
                literal.push(q);
            }
            pattern.push_str(&if literal.is_empty() {
                "'".to_owned()
            } else {
                regex::escape(&literal)
            });
            continue;
        }
        if !c.is_ascii_alphabetic() {
            pattern.push_str(&regex::escape(&c.to_string()));
            continue;
        }
        while chars.peek() == Some(&c) {
            chars.next();
        }
        pattern.push_str(match c {
            'M' | 'L' => r"(?:\d+|[A-Za-z]+)",
            'E' | 'G' => r"[A-Za-z]+",
            'a' => r"[AaPp][Mm]",
            'z' | 'Z' | 'X' => r"(?:Z|[+-]\d{2}:?\d{2}|[+-]\d{2}|[A-Za-z]+)",
            _ => r"\d+",
        });
    }
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Placeholders {
        match Placeholders::new(None, None) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn keywords_stand_for_kinds_of_value() {
        let p = defaults();
        assert_eq!(p.evaluate("${xmlunit.ignore}", Some("x")), Some(true));
        assert_eq!(p.evaluate("${xmlunit.ignore}", None), Some(true));
        assert_eq!(
            p.evaluate(" ${xmlunit.isNumber} ", Some(" -1.5e3 ")),
            Some(true)
        );
        assert_eq!(p.evaluate("${xmlunit.isNumber}", Some("12a")), Some(false));
        assert_eq!(p.evaluate("${xmlunit.isNumber}", None), Some(false));
        assert_eq!(
            p.evaluate(r"${xmlunit.matchesRegex(^\d{3}$)}", Some("123")),
            Some(true)
        );
        // XMLUnit looks for the expression anywhere in the text.
        assert_eq!(
            p.evaluate("${xmlunit.matchesRegex(b)}", Some("abc")),
            Some(true)
        );
        assert_eq!(
            p.evaluate(r"${xmlunit.matchesRegex(^\d{3}$)}", Some("12")),
            Some(false)
        );
        assert_eq!(
            p.evaluate("${xmlunit.isDateTime}", Some("2024-05-01T10:00:00Z")),
            Some(true)
        );
        assert_eq!(
            p.evaluate("${xmlunit.isDateTime(dd.MM.yyyy)}", Some("01.05.2024")),
            Some(true)
        );
        assert_eq!(
            p.evaluate("${xmlunit.isDateTime(dd.MM.yyyy)}", Some("2024-05-01")),
            Some(false)
        );
        assert_eq!(
            p.evaluate("${xmlunit.isDateTime}", Some("soon")),
            Some(false)
        );
    }

    #[test]
    fn other_text_is_no_placeholder() {
        let p = defaults();
        assert_eq!(p.evaluate("plain", Some("plain")), None);
        assert_eq!(p.evaluate("${xmlunit.unknown}", Some("x")), None);
        assert_eq!(p.evaluate("${json-unit.ignore}", Some("x")), None);
        // A placeholder must be the whole value.
        assert_eq!(
            p.evaluate("id ${xmlunit.ignore}", Some("id 7")),
            Some(false)
        );
    }

    #[test]
    fn delimiters_can_be_chosen() {
        let Ok(p) = Placeholders::new(Some(r"\[\["), Some(r"]]")) else {
            panic!("valid delimiters");
        };
        assert_eq!(p.evaluate("[[xmlunit.ignore]]", Some("x")), Some(true));
        assert_eq!(p.evaluate("${xmlunit.ignore}", Some("x")), None);
        assert!(Placeholders::new(Some("("), None).is_err());
    }
}
