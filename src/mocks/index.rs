//! The matcher index: which stubs could answer a request, found without
//! looking at unrelated stubs.
//!
//! - `url`/`urlPath` stubs: a hash map by exact path;
//! - `urlPathTemplate` stubs: a radix tree (matchit, the router axum uses),
//!   parameters renamed by position so `/a/{x}` and `/a/{y}` share a node;
//! - `urlPattern`/`urlPathPattern` stubs: one `RegexSet` each, compiled once
//!   per index, which tests every pattern in a single pass;
//! - stubs with no URL condition: a short list checked for every request.
//!
//! An index is immutable: a change builds a new one and swaps it in
//! atomically, so requests never wait on a lock to match.

use std::collections::HashMap;
use std::sync::Arc;

use regex::RegexSet;

use super::matcher::{Incoming, MatchResult, UrlMatcher};
use super::stub::Stub;

/// Below this many stubs a near-miss report looks at every stub; above it,
/// only at the stubs the index offers for the request (same path, matching
/// template or pattern), so a 404 stays cheap with 10,000 stubs.
const NEAR_MISS_SCAN_LIMIT: usize = 1000;

pub struct Index {
    /// Every stub, oldest first.
    all: Vec<Arc<Stub>>,
    by_id: HashMap<String, Arc<Stub>>,
    exact: HashMap<String, Vec<Arc<Stub>>>,
    tree: matchit::Router<Vec<Arc<Stub>>>,
    path_patterns: Option<(RegexSet, Vec<Arc<Stub>>)>,
    url_patterns: Option<(RegexSet, Vec<Arc<Stub>>)>,
    /// No URL condition, or a template the tree could not take.
    always: Vec<Arc<Stub>>,
    /// Whether any stub takes part in a scenario.
    pub has_scenarios: bool,
}

impl Default for Index {
    fn default() -> Self {
        Index::build(Vec::new())
    }
}

impl Index {
    pub fn build(mut all: Vec<Arc<Stub>>) -> Index {
        all.sort_by_key(|s| s.seq);
        let mut by_id = HashMap::with_capacity(all.len());
        let mut exact: HashMap<String, Vec<Arc<Stub>>> = HashMap::new();
        let mut routes: HashMap<String, Vec<Arc<Stub>>> = HashMap::new();
        let mut path_patterns = Vec::new();
        let mut url_patterns = Vec::new();
        let mut always = Vec::new();
        let mut has_scenarios = false;
        for stub in &all {
            by_id.insert(stub.id.clone(), stub.clone());
            has_scenarios |= stub.scenario.is_some();
            match &stub.request.url {
                UrlMatcher::Url(url) => exact
                    .entry(url.split('?').next().unwrap_or_default().to_owned())
                    .or_default()
                    .push(stub.clone()),
                UrlMatcher::UrlPath(path) => {
                    exact.entry(path.clone()).or_default().push(stub.clone())
                }
                UrlMatcher::UrlPathTemplate(t) => {
                    routes.entry(t.tree_route()).or_default().push(stub.clone())
                }
                UrlMatcher::UrlPathPattern(_) => path_patterns.push(stub.clone()),
                UrlMatcher::UrlPattern(_) => url_patterns.push(stub.clone()),
                UrlMatcher::Any => always.push(stub.clone()),
            }
        }
        let mut tree = matchit::Router::new();
        for (route, stubs) in routes {
            if let Err(rejected) = tree.insert(route.clone(), stubs.clone()) {
                tracing::debug!(%route, error = %rejected, "template kept out of the tree; checked on every request");
                always.extend(stubs);
            }
        }
        let path_patterns = regex_set(path_patterns, &mut always);
        let url_patterns = regex_set(url_patterns, &mut always);
        Index {
            all,
            by_id,
            exact,
            tree,
            path_patterns,
            url_patterns,
            always,
            has_scenarios,
        }
    }

    pub fn stubs(&self) -> &[Arc<Stub>] {
        &self.all
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Stub>> {
        self.by_id.get(id)
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// The stubs whose URL condition could fit the request (the rest of the
    /// request is not checked here).
    pub fn candidates<'s>(&'s self, req: &Incoming<'_>, out: &mut Vec<&'s Arc<Stub>>) {
        if let Some(stubs) = self.exact.get(req.path) {
            out.extend(stubs.iter());
        }
        if let Ok(found) = self.tree.at(req.path) {
            out.extend(found.value.iter());
        }
        if let Some((set, stubs)) = &self.path_patterns {
            out.extend(set.matches(req.path).iter().map(|i| &stubs[i]));
        }
        if let Some((set, stubs)) = &self.url_patterns {
            let url = req.url();
            out.extend(set.matches(&url).iter().map(|i| &stubs[i]));
        }
        out.extend(self.always.iter());
    }

    /// The stubs that match the request, best first: priority (1 first), then newest.
    pub fn matching<'s>(&'s self, req: &Incoming<'_>) -> Vec<&'s Arc<Stub>> {
        let mut found = Vec::new();
        self.candidates(req, &mut found);
        found.retain(|stub| stub.request.is_match(req));
        if found.len() > 1 {
            found.sort_by(|a, b| a.priority.cmp(&b.priority).then(b.seq.cmp(&a.seq)));
        }
        found
    }

    /// The stubs nearest to a request, nearest first, with why each did not match.
    pub fn near_misses(&self, req: &Incoming<'_>, limit: usize) -> Vec<(Arc<Stub>, MatchResult)> {
        let pool: Vec<&Arc<Stub>> = if self.all.len() <= NEAR_MISS_SCAN_LIMIT {
            self.all.iter().collect()
        } else {
            let mut pool = Vec::new();
            self.candidates(req, &mut pool);
            pool
        };
        let mut scored: Vec<(Arc<Stub>, MatchResult)> = pool
            .into_iter()
            .map(|stub| (stub.clone(), stub.request.evaluate(req)))
            .collect();
        scored.sort_by(|a, b| a.1.distance.total_cmp(&b.1.distance));
        scored.truncate(limit);
        scored
    }
}

fn regex_set(
    stubs: Vec<Arc<Stub>>,
    always: &mut Vec<Arc<Stub>>,
) -> Option<(RegexSet, Vec<Arc<Stub>>)> {
    if stubs.is_empty() {
        return None;
    }
    let patterns: Vec<&str> = stubs
        .iter()
        .filter_map(|s| match &s.request.url {
            UrlMatcher::UrlPattern(re) | UrlMatcher::UrlPathPattern(re) => Some(re.as_str()),
            _ => None,
        })
        .collect();
    match RegexSet::new(&patterns) {
        Ok(set) if patterns.len() == stubs.len() => Some((set, stubs)),
        _ => {
            // Too large for one set: each stub's own regex still works.
            always.extend(stubs);
            None
        }
    }
}
