//! Route labels: the template of the route that serves a request path
//! (`/people/{id}`), which is how the request metrics and the logs name a
//! request. The raw path is never a label: paths can carry secrets
//! (`/basic-auth/{user}/{password}`) and unbounded variety.

use std::sync::Arc;

/// The label of requests no route matched: one label, not one per path, so
/// that scanners cannot blow up the metrics' cardinality.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The route templates the router serves, matched as axum matches them.
/// Cheap to clone.
#[derive(Clone)]
pub struct RouteLabels(Arc<Labels>);

struct Labels {
    /// Request path -> index in `templates`.
    router: matchit::Router<usize>,
    /// `unmatched` first, then every route template.
    templates: Vec<Box<str>>,
}

impl RouteLabels {
    /// `templates` as axum writes them: `/people/{id}`, `/files/{*path}`.
    pub fn new<'a>(templates: impl IntoIterator<Item = &'a str>) -> Self {
        let mut labels = Labels {
            router: matchit::Router::new(),
            templates: vec![UNMATCHED_ROUTE.into()],
        };
        for template in templates {
            // The router that serves these has taken them already, so a
            // template cannot conflict here; the same one twice is one route.
            if labels
                .router
                .insert(template, labels.templates.len())
                .is_ok()
            {
                labels.templates.push(template.into());
            }
        }
        RouteLabels(Arc::new(labels))
    }

    /// The index of the route that serves `path` (0: unmatched).
    pub fn index_of(&self, path: &str) -> usize {
        self.0.router.at(path).map_or(0, |found| *found.value)
    }

    /// The template at `index`, as [`Self::index_of`] gives it.
    pub fn label(&self, index: usize) -> &str {
        self.0.templates.get(index).map_or(UNMATCHED_ROUTE, |t| t)
    }

    /// The template of the route that serves `path`, or `unmatched`.
    pub fn label_of(&self, path: &str) -> &str {
        self.label(self.index_of(path))
    }

    /// How many labels there are, `unmatched` included.
    pub fn count(&self) -> usize {
        self.0.templates.len()
    }

    /// Every label, `unmatched` first, in index order.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.0.templates.iter().map(|t| &**t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_labelled_with_the_template_of_its_route() {
        let labels = RouteLabels::new([
            "/",
            "/people/{id}",
            "/echo/anything/{*path}",
            "/v1/events:ndjson",
        ]);
        let label = |path| labels.label_of(path);
        assert_eq!(label("/"), "/");
        assert_eq!(label("/people/42"), "/people/{id}");
        assert_eq!(label("/echo/anything/a/b%2Fc"), "/echo/anything/{*path}");
        assert_eq!(label("/v1/events:ndjson"), "/v1/events:ndjson");
        assert_eq!(label("/people"), UNMATCHED_ROUTE);
        assert_eq!(label("/basic-auth/user/secret"), UNMATCHED_ROUTE);
    }
}
