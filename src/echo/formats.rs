//! The httpbin routes that answer a fixed document: `/json`, `/html`, `/xml`,
//! `/robots.txt`, `/deny`, `/encoding/utf8`, `/forms/post` and the images
//! (`/image` by `Accept`, `/image/{png,jpeg,webp,svg}`). The bodies are
//! httpbin's own (see `assets/README.md`), compiled in.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::EchoConfig;
use super::httpbin::{TAG, json_response};
use super::inspect::Inspected;

const MOBY_HTML: &[u8] = include_bytes!("assets/moby.html");
const SAMPLE_XML: &[u8] = include_bytes!("assets/sample.xml");
const UTF8_DEMO: &[u8] = include_bytes!("assets/utf8-demo.txt");
const FORMS_POST: &str = include_str!("assets/forms-post.html");
const PNG: &[u8] = include_bytes!("assets/pig_icon.png");
const JPEG: &[u8] = include_bytes!("assets/jackal.jpg");
const WEBP: &[u8] = include_bytes!("assets/wolf_1.webp");
const SVG: &[u8] = include_bytes!("assets/svg_logo.svg");

pub const HTML: &str = "text/html; charset=utf-8";

/// The angry face httpbin answers `/deny` with.
const ANGRY_ASCII: &str = r#"
          .-''''''-.
        .' _      _ '.
       /   O      O   \
      :                :
      |                |
      :       __       :
       \  .-"`  `"-.  /
        '.          .'
          '-......-'
     YOU SHOULDN'T BE HERE
"#;

/// `/image`'s description in the document, which cannot declare `Accept`
/// as a parameter (OpenAPI ignores one named so).
const IMAGE_DOC: &str = "The image the `Accept` header names: `image/webp`, `image/svg+xml`, \
    `image/jpeg`, `image/png`, tested in this order (any case); PNG for `image/*` and `*/*`, \
    and without a header or with one that names no media range. Media ranges that allow none \
    of them: 406 with the list.";

/// The media types `/image` can answer, in the order it prefers them.
pub const IMAGE_TYPES: [&str; 5] = [
    "image/webp",
    "image/svg+xml",
    "image/jpeg",
    "image/png",
    "image/*",
];

fn document(content_type: &'static str, body: impl Into<axum::body::Body>) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body.into(),
    )
        .into_response()
}

/// A small JSON document (httpbin's sample slide show).
#[utoipa::path(get, path = "/json", tag = TAG,
    responses((status = 200, description = "httpbin's sample slide show", content_type = "application/json")))]
pub async fn json_document() -> Response {
    json_response(
        StatusCode::OK,
        json!({
            "slideshow": {
                "author": "Yours Truly",
                "date": "date of publication",
                "slides": [
                    { "title": "Wake up to WonderWidgets!", "type": "all" },
                    {
                        "items": [
                            "Why <em>WonderWidgets</em> are great",
                            "Who <em>buys</em> WonderWidgets"
                        ],
                        "title": "Overview",
                        "type": "all"
                    }
                ],
                "title": "Sample Slide Show"
            }
        }),
    )
}

/// An HTML page (a passage of Moby-Dick).
#[utoipa::path(get, path = "/html", tag = TAG,
    responses((status = 200, description = "An HTML page", content_type = "text/html")))]
pub async fn html() -> Response {
    document(HTML, MOBY_HTML)
}

/// An XML document (httpbin's sample slide show).
#[utoipa::path(get, path = "/xml", tag = TAG,
    responses((status = 200, description = "An XML document", content_type = "application/xml")))]
pub async fn xml() -> Response {
    document("application/xml", SAMPLE_XML)
}

/// A `robots.txt` that disallows `/deny`.
#[utoipa::path(get, path = "/robots.txt", tag = TAG,
    responses((status = 200, description = "Robots rules", content_type = "text/plain")))]
pub async fn robots_txt(State(config): State<Arc<EchoConfig>>) -> Response {
    document(
        "text/plain",
        format!("User-agent: *\nDisallow: {}/deny\n", config.prefix),
    )
}

/// The page `robots.txt` disallows.
#[utoipa::path(get, path = "/deny", tag = TAG,
    responses((status = 200, description = "An angry ASCII face", content_type = "text/plain")))]
pub async fn deny() -> Response {
    document("text/plain", ANGRY_ASCII)
}

/// A page of UTF-8 text in many scripts.
#[utoipa::path(get, path = "/encoding/utf8", tag = TAG,
    responses((status = 200, description = "UTF-8 demonstration text", content_type = "text/html")))]
pub async fn encoding_utf8() -> Response {
    document(HTML, UTF8_DEMO)
}

/// An HTML form that posts to `/post`.
#[utoipa::path(get, path = "/forms/post", tag = TAG,
    responses((status = 200, description = "An HTML order form", content_type = "text/html")))]
pub async fn forms_post(State(config): State<Arc<EchoConfig>>) -> Response {
    document(
        HTML,
        FORMS_POST.replace("{{post}}", &format!("{}/post", config.prefix)),
    )
}

/// The image the `Accept` header asks for, tested as httpbin tests it: the
/// first of webp, svg+xml, jpeg, png named anywhere in the header. PNG too
/// for `image/*` and `*/*` (which accepts any type: httpbin refuses it), and
/// when there is no header or it names no media range (ignored, as RFC 9110
/// 12.5.1 allows); media ranges that allow none of them are a `406`.
#[utoipa::path(get, path = "/image", tag = TAG, description = IMAGE_DOC,
    responses(
        (status = 200, description = "An image", content(("image/webp"), ("image/svg+xml"), ("image/jpeg"), ("image/png"))),
        (status = 406, description = "`{\"message\": ..., \"accept\": [the media types]}`", content_type = "application/json"),
    ))]
pub async fn image(request: Inspected) -> Response {
    let Some(accept) = request.headers.get(header::ACCEPT) else {
        return image_png().await;
    };
    let accept = String::from_utf8_lossy(accept.as_bytes()).to_ascii_lowercase();
    // A header that names no media range at all (no `type/subtype`) is
    // ignored, as RFC 9110 (12.5.1) lets a server do, and counts as absent.
    if !accept.contains('/') {
        return image_png().await;
    }
    if accept.contains("image/webp") {
        image_webp().await
    } else if accept.contains("image/svg+xml") {
        image_svg().await
    } else if accept.contains("image/jpeg") {
        image_jpeg().await
    } else if accept.contains("image/png") || accept.contains("image/*") || accept.contains("*/*") {
        image_png().await
    } else {
        not_acceptable()
    }
}

/// httpbin's `406` (its `/status/406` too): what the client may ask for.
pub fn not_acceptable() -> Response {
    json_response(
        StatusCode::NOT_ACCEPTABLE,
        json!({
            "message": "Client did not request a supported media type.",
            "accept": IMAGE_TYPES,
        }),
    )
}

/// A PNG image.
#[utoipa::path(get, path = "/image/png", tag = TAG,
    responses((status = 200, description = "A PNG image", content_type = "image/png")))]
pub async fn image_png() -> Response {
    document("image/png", PNG)
}

/// A JPEG image.
#[utoipa::path(get, path = "/image/jpeg", tag = TAG,
    responses((status = 200, description = "A JPEG image", content_type = "image/jpeg")))]
pub async fn image_jpeg() -> Response {
    document("image/jpeg", JPEG)
}

/// A WebP image.
#[utoipa::path(get, path = "/image/webp", tag = TAG,
    responses((status = 200, description = "A WebP image", content_type = "image/webp")))]
pub async fn image_webp() -> Response {
    document("image/webp", WEBP)
}

/// An SVG image.
#[utoipa::path(get, path = "/image/svg", tag = TAG,
    responses((status = 200, description = "An SVG image", content_type = "image/svg+xml")))]
pub async fn image_svg() -> Response {
    document("image/svg+xml", SVG)
}
