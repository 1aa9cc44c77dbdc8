//! The web console at `/ui`: plain HTML, CSS and JavaScript modules compiled
//! into the binary, served under the pages' Content-Security-Policy (no
//! inline script, nothing from another host), so it works offline. It uses
//! only the public HTTP API, with the key the user types (see
//! `docs/console.md`); it owns no data and no route but its own files.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;

use crate::http::ApiError;
use crate::http::{conditional, page};

/// The console's files: name under `/ui/assets/`, content type, contents.
const ASSETS: &[(&str, &str, &str)] = &[
    ("console.css", page::CSS, include_str!("assets/console.css")),
    ("events.css", page::CSS, include_str!("assets/events.css")),
    ("people.css", page::CSS, include_str!("assets/people.css")),
    (
        "resources.css",
        page::CSS,
        include_str!("assets/resources.css"),
    ),
    (
        "console.js",
        page::JAVASCRIPT,
        include_str!("assets/console.js"),
    ),
    (
        "chart.js",
        page::JAVASCRIPT,
        include_str!("assets/chart.js"),
    ),
    (
        "charts-extra.js",
        page::JAVASCRIPT,
        include_str!("assets/charts-extra.js"),
    ),
    ("zip.js", page::JAVASCRIPT, include_str!("assets/zip.js")),
    (
        "json-text.js",
        page::JAVASCRIPT,
        include_str!("assets/json-text.js"),
    ),
    (
        "mappings-folder.js",
        page::JAVASCRIPT,
        include_str!("assets/mappings-folder.js"),
    ),
    (
        "overview.js",
        page::JAVASCRIPT,
        include_str!("assets/overview.js"),
    ),
    (
        "mocks.js",
        page::JAVASCRIPT,
        include_str!("assets/mocks.js"),
    ),
    (
        "events.js",
        page::JAVASCRIPT,
        include_str!("assets/events.js"),
    ),
    (
        "people.js",
        page::JAVASCRIPT,
        include_str!("assets/people.js"),
    ),
    (
        "resources.js",
        page::JAVASCRIPT,
        include_str!("assets/resources.js"),
    ),
    (
        "messages.js",
        page::JAVASCRIPT,
        include_str!("assets/messages.js"),
    ),
];

const INDEX_HTML: &str = include_str!("assets/index.html");

/// The console's routes, none of them in the OpenAPI document (they serve
/// files, not an API): see [`UNDOCUMENTED_ROUTES`].
pub fn router() -> OpenApiRouter {
    OpenApiRouter::new()
        .route("/ui", get(index))
        .route("/ui/", get(index))
        .route("/ui/assets/{name}", get(asset))
}

/// For the request metrics' route labels.
pub const UNDOCUMENTED_ROUTES: [&str; 3] = ["/ui", "/ui/", "/ui/assets/{name}"];

async fn index() -> Response {
    page::asset(page::HTML, page::PAGE_CACHE, INDEX_HTML)
}

/// An asset's name stays the same across versions, so the browser asks
/// again each time (`no-cache`) and gets a 304 while its entity tag (a
/// digest of the contents) still matches.
async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let position = ASSETS
        .iter()
        .position(|(asset, _, _)| *asset == name)
        .ok_or_else(|| ApiError::NotFound(format!("the console has no file `{name}`")))?;
    let (_, content_type, body) = ASSETS[position];
    let etag = &ENTITY_TAGS[position];
    if conditional::none_match(&headers, etag) {
        return Ok(conditional::not_modified(etag));
    }
    let mut response = page::asset(content_type, page::PAGE_CACHE, body);
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}

/// Each asset's entity tag, in [`ASSETS`]' order: `"` + a digest + `"`.
static ENTITY_TAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|(_, _, body)| {
            let digest = Sha256::digest(body.as_bytes());
            format!("\"{}\"", crate::http::auth::hex(&digest[..12]))
        })
        .collect()
});

#[cfg(test)]
mod tests {
    use super::*;

    fn served(name: &str) -> bool {
        ASSETS.iter().any(|(asset, _, _)| *asset == name)
    }

    /// A file added to the folder but not to [`ASSETS`] would be a 404 in
    /// the browser; so would an import of a file that is not there.
    #[test]
    fn every_asset_file_is_served_and_every_reference_names_one() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/console/assets");
        for entry in std::fs::read_dir(&folder).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(
                name == "index.html" || served(&name),
                "{name} is not in ASSETS"
            );
        }
        let mut references: Vec<String> = INDEX_HTML
            .split('"')
            .filter_map(|part| part.strip_prefix("/ui/assets/"))
            .map(str::to_owned)
            .collect();
        for (_, _, body) in ASSETS {
            references.extend(
                body.lines()
                    .filter(|line| line.trim_start().starts_with("import "))
                    .filter_map(|line| line.split("from './").nth(1))
                    .filter_map(|rest| rest.split('\'').next())
                    .map(str::to_owned),
            );
        }
        assert!(references.contains(&"console.js".to_owned()));
        assert!(
            references.contains(&"mocks.js".to_owned()),
            "{references:?}"
        );
        for reference in references {
            assert!(
                served(&reference),
                "{reference} is referenced but not served"
            );
        }
    }

    /// The Content-Security-Policy runs no inline script or style: the page
    /// must not rely on any.
    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let html = INDEX_HTML.to_ascii_lowercase();
        for script in html.split("<script").skip(1) {
            let tag = script.split('>').next().unwrap_or_default();
            assert!(tag.contains("src="), "an inline script: <script{tag}>");
        }
        assert!(!html.contains("<style"), "an inline style element");
        assert!(!html.contains(" style="), "a style attribute");
        assert!(
            !html.contains(" onclick=") && !html.contains(" onload="),
            "an inline handler"
        );
    }
}
