//! The paths echobase's own routes serve: both ways of creating a mock (a
//! stub mapping, an `/endpoints` endpoint) refuse them.

/// Paths served by echobase's own routes: a mock there would never answer,
/// so creating one is refused. Each entry covers itself and everything below it.
pub(super) const RESERVED_PREFIXES: [&str; 14] = [
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/v1",
    "/messages",
    "/endpoints",
    "/__admin",
    "/echo",
    "/resources",
    "/listevents",
    "/summaryevents",
    "/ui/assets",
];

/// The web console's page: reserved with any query, but not what is below
/// it (mocks under `/ui/...` still answer).
const CONSOLE_PAGE: [&str; 2] = ["/ui", "/ui/"];

/// Whether `path` belongs to a built-in route.
pub fn is_reserved(path: &str) -> bool {
    let without_query = path.split_once('?').map_or(path, |(path, _)| path);
    path == "/"
        || CONSOLE_PAGE.contains(&without_query)
        || RESERVED_PREFIXES.iter().any(|prefix| {
            path == *prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_paths_and_what_is_below_them_are_reserved() {
        assert!(is_reserved("/healthz"));
        assert!(is_reserved("/v1/messages"));
        assert!(is_reserved("/ui"));
        assert!(is_reserved("/ui/?tab=1"));
        assert!(is_reserved("/ui/assets/console.js"));
        assert!(!is_reserved("/ui/login"));
        assert!(!is_reserved("/uix"));
        assert!(is_reserved("/"));
        assert!(is_reserved("/__admin/mappings"));
        assert!(!is_reserved("/healthzz"));
        assert!(!is_reserved("/api/v1"));
    }
}
