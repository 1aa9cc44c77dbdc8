//! Which URLs a stub answers: exact, by regex, or by `urlPathTemplate`, and
//! how far a request's URL is from that.

use regex::Regex;

use super::{Incoming, flag, miss_distance, text_distance};

/// Which URLs a stub answers.
#[derive(Debug, Clone)]
pub enum UrlMatcher {
    /// No URL field: every URL.
    Any,
    /// `url`: path and query, exactly.
    Url(String),
    /// `urlPath`: the path, exactly.
    UrlPath(String),
    /// `urlPattern`: a regex over path and query (whole string).
    UrlPattern(Regex),
    /// `urlPathPattern`: a regex over the path (whole string).
    UrlPathPattern(Regex),
    /// `urlPathTemplate`: `/contacts/{id}`; parameters are whole segments.
    UrlPathTemplate(PathTemplate),
}

/// A parsed `urlPathTemplate`.
#[derive(Debug, Clone)]
pub struct PathTemplate {
    pub text: String,
    /// Literal segment, or `None` for a parameter (named in `names`, in order).
    pub segments: Vec<Option<String>>,
    pub names: Vec<String>,
}

impl PathTemplate {
    pub fn parse(text: &str) -> Result<PathTemplate, String> {
        if !text.starts_with('/') {
            return Err(format!("`{text}` must start with /"));
        }
        let mut segments = Vec::new();
        let mut names = Vec::new();
        for segment in text.split('/').skip(1) {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                if name.is_empty() || name.contains(['{', '}', '*']) {
                    return Err(format!("`{segment}` is not a parameter name"));
                }
                if names.iter().any(|n| n == name) {
                    return Err(format!("parameter `{name}` appears twice"));
                }
                names.push(name.to_owned());
                segments.push(None);
            } else if segment.contains(['{', '}']) {
                return Err(format!(
                    "`{segment}`: a parameter must be a whole path segment, like {{id}}"
                ));
            } else {
                segments.push(Some(segment.to_owned()));
            }
        }
        Ok(PathTemplate {
            text: text.to_owned(),
            segments,
            names,
        })
    }

    /// The route for the radix tree: parameters renamed by position so that
    /// `/a/{x}` and `/a/{y}` share one route.
    pub fn tree_route(&self) -> String {
        let mut route = String::new();
        let mut n = 0;
        for segment in &self.segments {
            route.push('/');
            match segment {
                Some(literal) => route.push_str(literal),
                None => {
                    route.push_str(&format!("{{p{n}}}"));
                    n += 1;
                }
            }
        }
        route
    }

    /// The parameters of a path that fits the template, percent-decoded.
    pub fn capture(&self, path: &str) -> Option<Vec<(String, String)>> {
        let parts: Vec<&str> = path.split('/').skip(1).collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut names = self.names.iter();
        let mut out = Vec::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Some(literal) if literal == part => {}
                Some(_) => return None,
                None if part.is_empty() => return None,
                None => out.push((
                    names.next()?.clone(),
                    percent_encoding::percent_decode_str(part)
                        .decode_utf8_lossy()
                        .into_owned(),
                )),
            }
        }
        Some(out)
    }

    fn distance(&self, path: &str) -> f64 {
        if self.capture(path).is_some() {
            return 0.0;
        }
        miss_distance(&self.text, path)
    }
}

impl UrlMatcher {
    pub fn distance(&self, req: &Incoming<'_>) -> f64 {
        match self {
            UrlMatcher::Any => 0.0,
            UrlMatcher::Url(url) => text_distance(url, &req.url()),
            UrlMatcher::UrlPath(path) => text_distance(path, req.path),
            UrlMatcher::UrlPattern(re) => flag(re.is_match(&req.url())),
            UrlMatcher::UrlPathPattern(re) => flag(re.is_match(req.path)),
            UrlMatcher::UrlPathTemplate(template) => template.distance(req.path),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            UrlMatcher::Any => "any URL".into(),
            UrlMatcher::Url(u) => format!("url `{u}`"),
            UrlMatcher::UrlPath(p) => format!("path `{p}`"),
            UrlMatcher::UrlPattern(re) => format!("url matching `{}`", re.as_str()),
            UrlMatcher::UrlPathPattern(re) => format!("path matching `{}`", re.as_str()),
            UrlMatcher::UrlPathTemplate(t) => format!("path template `{}`", t.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_capture_whole_segments() {
        let t = PathTemplate::parse("/contacts/{id}/addresses/{addressId}").unwrap();
        assert_eq!(t.tree_route(), "/contacts/{p0}/addresses/{p1}");
        assert_eq!(
            t.capture("/contacts/12/addresses/9"),
            Some(vec![
                ("id".into(), "12".into()),
                ("addressId".into(), "9".into())
            ])
        );
        assert_eq!(t.capture("/contacts/12/addresses"), None);
        assert!(PathTemplate::parse("/a/x{id}").is_err());
    }
}
