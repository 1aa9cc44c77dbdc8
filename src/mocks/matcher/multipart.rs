//! `multipartPatterns`: conditions on the parts of a `multipart/*` body.
//! Each pattern asks that some part (`ANY`, the default) or every part
//! (`ALL`) meets its header and body matchers.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use futures_util::FutureExt;

use super::{Incoming, StringMatcher, body_distance};

/// One part of a multipart body.
#[derive(Debug)]
pub struct Part {
    headers: HeaderMap,
    body: Bytes,
}

/// The parts of a `multipart/*` body; `None` when the request is not
/// multipart or its body does not parse as such.
pub fn parts(headers: &HeaderMap, body: &[u8]) -> Option<Vec<Part>> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)?
        .to_str()
        .ok()?;
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/")
    {
        return None;
    }
    let boundary = multer::parse_boundary(content_type).ok()?;
    let body = Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    // The whole body is in memory, so no step ever waits: each future is
    // ready when first polled (one that is not counts as a body that does
    // not parse).
    let mut out = Vec::new();
    while let Some(field) = multipart.next_field().now_or_never()?.ok()? {
        let mut headers = HeaderMap::new();
        for (name, value) in field.headers() {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_str().as_bytes()),
                HeaderValue::from_bytes(value.as_bytes()),
            ) {
                headers.append(name, value);
            }
        }
        let body = field.bytes().now_or_never()?.ok()?;
        out.push(Part { headers, body });
    }
    Some(out)
}

/// One entry of `multipartPatterns`.
#[derive(Debug, Clone)]
pub struct MultipartPattern {
    /// `ALL`: every part must match; `ANY` (the default): one must.
    pub all: bool,
    /// Header names in lower case.
    pub headers: Vec<(String, StringMatcher)>,
    pub body: Vec<StringMatcher>,
}

impl MultipartPattern {
    /// How far one part is from the pattern: the mean over its conditions.
    fn part_distance(&self, part: &Part) -> f64 {
        let method = Method::POST;
        let view = Incoming::new(&method, "/", None, &part.headers, &part.body);
        let distances: Vec<f64> = self
            .headers
            .iter()
            .map(|(name, m)| m.distance_any(view.header_values(name)))
            .chain(self.body.iter().map(|m| body_distance(m, &view)))
            .collect();
        if distances.is_empty() {
            return 0.0;
        }
        distances.iter().sum::<f64>() / distances.len() as f64
    }

    /// 0 when the parts meet the pattern; a request with no parts is a miss.
    pub fn distance(&self, parts: Option<&[Part]>) -> f64 {
        let Some(parts) = parts.filter(|p| !p.is_empty()) else {
            return 1.0;
        };
        let each = parts.iter().map(|p| self.part_distance(p));
        if self.all {
            each.fold(0.0, f64::max)
        } else {
            each.fold(1.0, f64::min)
        }
    }

    pub fn describe(&self) -> String {
        let which = if self.all { "every part" } else { "a part" };
        let mut conditions: Vec<String> = self
            .headers
            .iter()
            .map(|(name, m)| format!("header `{name}` {}", m.describe()))
            .collect();
        conditions.extend(self.body.iter().map(|m| format!("body {}", m.describe())));
        if conditions.is_empty() {
            return format!("{which} (any)");
        }
        format!("{which} with {}", conditions.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "--b\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{\"kind\":\"report\"}\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--b--\r\n";

    fn multipart_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data; boundary=b"),
        );
        headers
    }

    fn pattern(all: bool, name: &str, body: Option<StringMatcher>) -> MultipartPattern {
        MultipartPattern {
            all,
            headers: vec![(
                "content-disposition".into(),
                StringMatcher::Contains(format!("name=\"{name}\"")),
            )],
            body: body.into_iter().collect(),
        }
    }

    #[test]
    fn parts_are_read_and_matched_any_or_all() {
        let parts = parts(&multipart_headers(), BODY.as_bytes()).unwrap();
        assert_eq!(parts.len(), 2);
        let file = pattern(false, "file", Some(StringMatcher::Contains("hell".into())));
        assert_eq!(file.distance(Some(&parts)), 0.0);
        let wrong_body = pattern(false, "file", Some(StringMatcher::Contains("bye".into())));
        assert!(wrong_body.distance(Some(&parts)) > 0.0);
        let every = pattern(true, "file", None);
        assert!(
            every.distance(Some(&parts)) > 0.0,
            "the meta part is not named file"
        );
        let any_part = MultipartPattern {
            all: true,
            headers: vec![(
                "content-disposition".into(),
                StringMatcher::Contains("form-data".into()),
            )],
            body: Vec::new(),
        };
        assert_eq!(any_part.distance(Some(&parts)), 0.0);
    }

    #[test]
    fn a_body_that_is_not_multipart_has_no_parts() {
        assert!(parts(&HeaderMap::new(), BODY.as_bytes()).is_none());
        assert!(parts(&multipart_headers(), b"--x\r\nbroken").is_none());
        assert_eq!(pattern(false, "file", None).distance(None), 1.0);
    }
}
