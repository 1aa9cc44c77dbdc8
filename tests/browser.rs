//! The web pages in a real browser: headless Chromium driven over WebDriver
//! (`chromedriver`, Debian's `chromium` and `chromium-driver` packages, which
//! `.ci/run` installs). Without them the tests are skipped, except under CI.
//!
//! Each test checks what a user would see, that the browser logged no error
//! (a Content-Security-Policy violation is one), and that the page asked no
//! other host for anything. Screenshots go to `target/browser-screenshots/`.

mod common;
#[path = "browser/console.rs"]
mod console;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::http::Method;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use common::{Backend, TestApp};

/// The name the browser reaches the server by: not `localhost` or
/// `127.0.0.1`, which some scripts treat as private and send nowhere.
const HOST: &str = "echobase.test";

/// `app`'s URL for `path`, by [`HOST`].
fn page_url(app: &TestApp, path: &str) -> String {
    app.url(path).replace("127.0.0.1", HOST)
}

/// A `chromedriver` process, stopped when dropped.
struct Driver {
    process: Child,
    url: String,
    /// Where the browser saves what the page downloads.
    downloads: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A headless Chromium session, or `None` (skipped) where none is installed.
async fn browser() -> Option<(Driver, Client)> {
    browser_with(json!({})).await
}

/// As [`browser`], as a phone shows pages: 390 by 844 CSS pixels, touch.
async fn phone_browser() -> Option<(Driver, Client)> {
    browser_with(json!({"mobileEmulation": {
        "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0, "touch": true},
        "userAgent": "Mozilla/5.0 (Linux; Android 14) Mobile"
    }}))
    .await
}

/// A session whose `goog:chromeOptions` also hold `options`' fields.
async fn browser_with(options: Value) -> Option<(Driver, Client)> {
    let program = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let process = match Command::new(&program)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(process) => process,
        Err(error) => {
            return skipped(&format!(
                "cannot run {program} ({error}): install chromium-driver"
            ));
        }
    };
    let driver = Driver {
        process,
        url: format!("http://127.0.0.1:{port}"),
        downloads: tempfile::tempdir().expect("a download folder"),
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{}/status", driver.url))
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut chrome_options = json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", "--window-size=1280,900",
                 format!("--host-resolver-rules=MAP {HOST} 127.0.0.1")],
        "prefs": {"download.default_directory": driver.downloads.path(),
                  "download.prompt_for_download": false}});
    if let (Some(all), Some(extra)) = (chrome_options.as_object_mut(), options.as_object()) {
        all.extend(extra.clone());
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".to_owned(), chrome_options);
    capabilities.insert("goog:loggingPrefs".to_owned(), json!({"browser": "ALL"}));
    let client = match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
    {
        Ok(client) => client,
        Err(error) => return skipped(&format!("no Chromium session ({error}): install chromium")),
    };
    Some((driver, client))
}

/// No browser here: the test is skipped, except under CI, where it fails.
fn skipped<T>(reason: &str) -> Option<T> {
    assert!(std::env::var_os("CI").is_none(), "{reason}; CI is set");
    eprintln!("SKIPPED: {reason}");
    None
}

/// chromedriver's log of the page's console (Chromium writes every
/// Content-Security-Policy violation there as an error).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        (Method::POST, Some(json!({"type": "browser"}).to_string()))
    }
}

/// The console's messages at level `SEVERE` (errors) since the last call.
async fn console_errors(client: &Client) -> Vec<String> {
    let log = client.issue_cmd(BrowserLog).await.expect("the browser log");
    log.as_array()
        .unwrap_or_else(|| panic!("the browser log is a list: {log}"))
        .iter()
        .filter(|entry| entry["level"] == "SEVERE")
        .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
        // Over plain HTTP to a host other than localhost, as here, Chromium
        // ignores the Cross-Origin-Opener-Policy header and says so: true of
        // any such deployment, and harmless (HTTPS honours it).
        .filter(|message| !message.contains("Cross-Origin-Opener-Policy header has been ignored"))
        .collect()
}

/// Every URL the page has loaded anything from (the Resource Timing list).
async fn loaded_urls(client: &Client) -> Vec<String> {
    let urls = client
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name)",
            vec![],
        )
        .await
        .expect("the resource list");
    serde_json::from_value(urls).expect("a list of URLs")
}

/// The first element `css` selects, once the page shows one (30 s at most).
async fn shown_element(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no {css} on the page: {error}"))
}

async fn click(client: &Client, css: &str) {
    let element = shown_element(client, css).await;
    element
        .click()
        .await
        .unwrap_or_else(|error| panic!("cannot click {css}: {error}"));
}

async fn screenshot(client: &Client, name: &str) {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
    std::fs::create_dir_all(&folder).expect("the screenshot folder");
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::write(folder.join(format!("{name}.png")), png).expect("the screenshot written");
}

/// `/docs` renders this server's OpenAPI document with Swagger UI: every
/// tag of the document, each opening on its operations; an operation can
/// be tried from the page; the filter finds operations. No console error,
/// so no Content-Security-Policy violation, and nothing from another host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_page_renders_the_openapi_document() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let Some((_driver, client)) = browser().await else {
        return;
    };
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    let mut tags: Vec<String> = spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|operations| operations.as_object().unwrap().values())
        .filter_map(|operation| operation["tags"][0].as_str().map(str::to_owned))
        .collect();
    tags.sort();
    tags.dedup();

    client.goto(&page_url(&app, "/docs")).await.unwrap();
    shown_element(&client, ".opblock-tag").await;
    let mut shown = Vec::new();
    for tag in client.find_all(Locator::Css(".opblock-tag")).await.unwrap() {
        shown.push(tag.attr("data-tag").await.unwrap().unwrap_or_default());
    }
    shown.sort();
    assert_eq!(shown, tags);

    // A tag opens on its operations; one of them answers from the page.
    for target in [
        ".opblock-tag[data-tag='operations']",
        "#operations-operations-healthz .opblock-summary",
        ".try-out__btn",
        ".btn.execute",
    ] {
        click(&client, target).await;
    }
    let status = shown_element(&client, ".live-responses-table tbody .response-col_status").await;
    assert_eq!(status.text().await.unwrap().trim(), "200");
    screenshot(&client, "docs").await;

    // The filter keeps the tags whose operations match.
    client
        .find(Locator::Css(".operation-filter-input"))
        .await
        .unwrap()
        .send_keys("people")
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let filtered = client.find_all(Locator::Css(".opblock-tag")).await.unwrap();
        if !filtered.is_empty() && filtered.len() < tags.len() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the filter left {} of {} tags",
            filtered.len(),
            tags.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert_eq!(console_errors(&client).await, Vec::<String>::new());
    let base = page_url(&app, "/");
    let loaded = loaded_urls(&client).await;
    assert!(
        loaded.contains(&page_url(&app, "/docs/swagger-ui-bundle.js")),
        "{loaded:?}"
    );
    for url in loaded {
        assert!(url.starts_with(&base), "loaded from elsewhere: {url}");
    }
    client.close().await.unwrap();
}

// In tests/browser/console.rs.
use console::{
    a_mappings_folder_goes_out_and_back_in_as_a_zip, a_message_is_stored_and_looked_up,
    a_stale_people_edit_shows_what_changed, a_stale_resource_edit_shows_what_changed,
    a_stub_made_in_the_editor_answers, an_unmatched_request_appears_live_with_its_diff,
    every_console_page_loads_without_errors, every_page_fits_a_phone_in_both_themes,
    scenario_states_are_set_from_the_page, the_dora_page_draws_its_keys_and_charts,
    the_key_prompt_appears_when_keys_are_on,
};
on_both_backends!(
    every_console_page_loads_without_errors,
    a_stub_made_in_the_editor_answers,
    an_unmatched_request_appears_live_with_its_diff,
    a_mappings_folder_goes_out_and_back_in_as_a_zip,
    scenario_states_are_set_from_the_page,
    the_dora_page_draws_its_keys_and_charts,
    a_stale_people_edit_shows_what_changed,
    a_stale_resource_edit_shows_what_changed,
    a_message_is_stored_and_looked_up,
    the_key_prompt_appears_when_keys_are_on,
);
// Layout only: one backend shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_phone_in_both_themes_on_sqlite() {
    every_page_fits_a_phone_in_both_themes(Backend::Sqlite).await;
}
