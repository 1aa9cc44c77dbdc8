//! The web console (`/ui`) in Chromium, on both backends: each page loads
//! with no console error and nothing from another host; a stub made in the
//! editor answers, and one the server refuses shows its errors at the
//! field; an unmatched request appears live with its near-miss diff; a
//! mappings folder goes out and back in as a zip; the DORA page draws its
//! keys and charts for seeded events; a stale people edit shows what
//! changed; a message is stored and looked up; the key prompt appears when
//! keys are on.

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::common::{Backend, TestApp, client as http};
use super::{
    Driver, browser, click, console_errors, loaded_urls, page_url, phone_browser, screenshot,
    shown_element,
};

/// A console page with a browser on it, closed (browser first, so that its
/// event streams end) when the test is done with it.
struct Console {
    app: TestApp,
    client: Client,
    _driver: Driver,
    /// The origin the page was opened from.
    origin: String,
}

impl Console {
    async fn open(app: TestApp, hash: &str) -> Option<Console> {
        let session = browser().await?;
        Console::open_in(app, hash, session).await
    }

    async fn open_in(
        app: TestApp,
        hash: &str,
        (driver, client): (Driver, Client),
    ) -> Option<Console> {
        client
            .goto(&page_url(&app, &format!("/ui#/{hash}")))
            .await
            .unwrap();
        Some(Console {
            origin: page_url(&app, "/"),
            app,
            client,
            _driver: driver,
        })
    }

    async fn goto(&self, hash: &str) {
        self.client
            .goto(&format!("{}ui#/{hash}", self.origin))
            .await
            .unwrap();
    }

    /// Opens the page again at the loopback address: a secure context, as
    /// `localhost` is, where Chromium saves downloads made over plain HTTP.
    async fn reopen_at_loopback(&mut self, hash: &str) {
        self.origin = self.app.url("/");
        self.goto(hash).await;
    }

    /// Waits until the element `css` selects holds `text` (30 s at most).
    async fn text_shown(&self, css: &str, text: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(shown) = element.text().await
                && shown.contains(text)
            {
                return shown;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{css} never showed {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Replaces a field's value as a user typing it would.
    async fn fill(&self, css: &str, text: &str) {
        let field = shown_element(&self.client, css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// No console error, nothing loaded from another host; a screenshot.
    /// Chromium logs every 4xx answer to a script's request as an error:
    /// those with a status in `refused` are what the test provoked.
    async fn check_clean(&self, name: &str, refused: &[u16]) {
        screenshot(&self.client, name).await;
        let errors: Vec<String> = console_errors(&self.client)
            .await
            .into_iter()
            .filter(|error| {
                !refused.iter().any(|status| {
                    error.contains(&format!("the server responded with a status of {status}"))
                })
            })
            .collect();
        assert_eq!(errors, Vec::<String>::new(), "{name}");
        for url in loaded_urls(&self.client).await {
            assert!(
                url.starts_with(&self.origin),
                "{name} loaded from elsewhere: {url}"
            );
        }
    }

    async fn close(self) {
        self.client.close().await.unwrap();
        self.app.stop().await;
    }
}

/// Every page of the console loads, draws what it is for, and logs no error.
pub async fn every_console_page_loads_without_errors(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(console) = Console::open(app, "overview").await else {
        return;
    };
    let database = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    console.text_shown("#readiness", database).await;
    // Rates appear once two samples of the metrics exist.
    console.text_shown("#module-rates", "mocks").await;
    console
        .check_clean(&format!("overview-{database}"), &[])
        .await;
    console.goto("mocks").await;
    shown_element(&console.client, "#stub-editor").await;
    shown_element(&console.client, "#journal").await;
    console.check_clean(&format!("mocks-{database}"), &[]).await;
    console.goto("resources").await;
    shown_element(&console.client, "#collection-list").await;
    console
        .check_clean(&format!("resources-{database}"), &[])
        .await;
    console.goto("messages").await;
    shown_element(&console.client, "#message-text").await;
    console
        .check_clean(&format!("messages-{database}"), &[])
        .await;
    console.close().await;
}

/// A stub typed into the editor and saved answers requests; a stub the
/// server refuses shows its error at the field, and nothing is stored.
pub async fn a_stub_made_in_the_editor_answers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(console) = Console::open(app, "mocks").await else {
        return;
    };
    let stub = json!({"name": "from the console",
                      "request": {"method": "GET", "url": "/made/in/the/browser"},
                      "response": {"status": 200, "body": "made in the browser"}});
    console.fill("#stub-editor", &stub.to_string()).await;
    click(&console.client, "#stub-save").await;
    console.text_shown("#stub-status", "Saved").await;
    let answer = console.app.get("/made/in/the/browser").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "made in the browser");
    console
        .text_shown("#stub-list", "/made/in/the/browser")
        .await;

    let refused = json!({"request": {"method": "GET", "url": "/refused"},
                         "response": {"status": "not a status"}});
    console.fill("#stub-editor", &refused.to_string()).await;
    click(&console.client, "#stub-save").await;
    let error = console.text_shown(".field-error", "/response/status").await;
    assert!(!error.is_empty());
    assert_eq!(
        console.app.status("/refused").await,
        404,
        "nothing was stored"
    );
    let listed = console.app.get_json("/__admin/mappings").await;
    assert_eq!(listed["meta"]["total"], 1, "{listed}");
    console.check_clean("mocks-editor", &[422]).await;
    console.close().await;
}

/// A request no stub answers appears in the journal while the page is open,
/// and opening it shows the nearest stub side by side, the method marked.
pub async fn an_unmatched_request_appears_live_with_its_diff(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let created = http()
        .post(app.url("/__admin/mappings"))
        .json(
            &json!({"name": "orders", "request": {"method": "POST", "url": "/orders"},
                      "response": {"status": 201}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let Some(console) = Console::open(app, "mocks").await else {
        return;
    };
    shown_element(&console.client, "#journal").await;
    // The page is open before the request is made: it arrives live.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(console.app.status("/orders").await, 404);
    console
        .text_shown("#journal .journal-entry.unmatched", "/orders")
        .await;
    click(&console.client, "#journal .journal-entry.unmatched").await;
    let diff = console.text_shown(".near-miss-diff", "POST").await;
    assert!(diff.contains("GET"), "{diff}");
    console.text_shown(".near-miss-diff .mismatch", "GET").await;
    console.check_clean("mocks-near-miss", &[]).await;
    console.close().await;
}

/// A message stored from the page gets its SHA-256, and looking the digest
/// up shows the message.
pub async fn a_message_is_stored_and_looked_up(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(console) = Console::open(app, "messages").await else {
        return;
    };
    let text = "stored from the console";
    let digest = echobase::http::auth::hex(&Sha256::digest(text.as_bytes()));
    console.fill("#message-text", text).await;
    click(&console.client, "#message-store").await;
    console.text_shown("#message-digest", &digest).await;
    console.fill("#digest-input", &digest).await;
    click(&console.client, "#digest-lookup").await;
    console.text_shown("#message-preview", text).await;
    console.check_clean("messages-lookup", &[]).await;
    console.close().await;
}

/// With keys configured the console asks for one, refuses a wrong one,
/// and with a key that may change the mocks shows the mocks page.
pub async fn the_key_prompt_appears_when_keys_are_on(backend: Backend) {
    let key = echobase::http::auth::generate_key();
    let line = echobase::http::auth::config_line(
        "console",
        &key,
        &[echobase::http::auth::Scope::write(
            echobase::module::Module::Mocks,
        )],
    );
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.auth.keys = vec![line.parse().unwrap()];
    })
    .await
    else {
        return;
    };
    let Some(console) = Console::open(app, "mocks").await else {
        return;
    };
    shown_element(&console.client, "#key-prompt").await;
    console.fill("#key-input", "not-the-key").await;
    click(&console.client, "#key-submit").await;
    console.text_shown("#key-prompt", "not valid").await;
    console.fill("#key-input", &key).await;
    click(&console.client, "#key-submit").await;
    shown_element(&console.client, "#stub-editor").await;
    let nav = console.text_shown("nav", "Mocks").await;
    // Only what the key may do: not the pages of modules it has no scope in.
    for page in ["Events", "People", "Messages"] {
        assert!(!nav.contains(page), "{page} in {nav:?}");
    }
    console.check_clean("key-prompt", &[403]).await;
    console.close().await;
}

/// The stubs and body files go out as a zip of a WireMock folder (saved by
/// the browser as a user's click would) and come back in: another server
/// answers from the imported stubs and files.
pub async fn a_mappings_folder_goes_out_and_back_in_as_a_zip(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let put = http()
        .put(app.url("/__admin/files/greetings/hello.txt"))
        .body("hello from a body file")
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let created = http()
        .post(app.url("/__admin/mappings"))
        .json(&json!({"request": {"method": "GET", "url": "/from/a/file"},
                      "response": {"status": 200, "bodyFileName": "greetings/hello.txt"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let Some(mut console) = Console::open(app, "mocks").await else {
        return;
    };
    // Over plain HTTP to another host, Chromium refuses the download ("should
    // be served over HTTPS") unless a user keeps it.
    console.reopen_at_loopback("mocks").await;
    click(&console.client, "#folder-export").await;
    console
        .text_shown("#folder-status", "Exported 1 stubs and 1 body files")
        .await;
    // What a user saves by clicking the link.
    click(&console.client, "#folder-download").await;
    let saved = console._driver.downloads.path().join("mappings.zip");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let listed = || -> Vec<String> {
        std::fs::read_dir(console._driver.downloads.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    // Chromium may create the file before it writes it: done once it has
    // bytes and no `.crdownload` is left.
    let saved_whole = || {
        std::fs::metadata(&saved).is_ok_and(|file| file.len() > 0)
            && !listed().iter().any(|name| name.ends_with(".crdownload"))
    };
    while !saved_whole() {
        if std::time::Instant::now() >= deadline {
            let listed = listed();
            panic!(
                "mappings.zip was not saved: {listed:?}; {:?}",
                console_errors(&console.client).await
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let zip = std::fs::read(&saved).unwrap();
    assert_eq!(&zip[..4], b"PK\x03\x04", "a zip archive");

    // Into an empty server of the same backend, through the file input.
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("mappings.zip");
    std::fs::write(&path, &zip).unwrap();
    let Console {
        app,
        client,
        _driver,
        ..
    } = console;
    app.stop().await;
    let Some(empty) = TestApp::spawn(backend).await else {
        return;
    };
    let console = Console {
        origin: page_url(&empty, "/"),
        app: empty,
        client,
        _driver,
    };
    console.goto("mocks").await;
    let input = shown_element(&console.client, "#folder-import").await;
    input.send_keys(path.to_str().unwrap()).await.unwrap();
    console
        .text_shown("#folder-status", "Imported 1 stubs and 1 body files")
        .await;
    let answer = console.app.get("/from/a/file").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "hello from a body file");
    console.text_shown("#stub-list", "/from/a/file").await;
    console.check_clean("mocks-folder", &[]).await;
    console.close().await;
}

/// For seeded deployments, commits and an incident, the DORA page shows
/// the four keys with their bands and draws every chart; the timeline
/// lists the events.
pub async fn the_dora_page_draws_its_keys_and_charts(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let day = 86_400_000_i64;
    let now = echobase::clock::now_ms();
    let time = |ms: i64| {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let mut events = Vec::new();
    for n in 0..40_i64 {
        let deployed = now - (n * 2 + 1) * day;
        let sha = format!("{n:07x}");
        events.push(
            json!({"id": format!("commit-{n}"), "time": time(deployed - (n % 5 + 1) * 3_600_000),
                           "kind": "commit", "actor": "amy", "service": "web", "sha": sha}),
        );
        events.push(json!({"id": format!("deploy-{n}"), "time": time(deployed), "kind": "deploy",
                           "actor": "amy", "service": "web", "environment": "production", "sha": sha,
                           "result": if n % 10 == 3 { "failure" } else { "success" }}));
    }
    events.push(
        json!({"id": "incident-open", "time": time(now - 10 * day), "kind": "incident_opened",
                       "service": "web", "environment": "production",
                       "attributes": {"incident_id": "inc-1"}}),
    );
    events.push(
        json!({"id": "incident-closed", "time": time(now - 10 * day + 7_200_000),
                       "kind": "incident_resolved", "service": "web", "environment": "production",
                       "attributes": {"incident_id": "inc-1"}}),
    );
    let stored = http()
        .post(app.url("/v1/events"))
        .json(&events)
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status(), 201, "{}", stored.text().await.unwrap());
    let Some(console) = Console::open(app, "events").await else {
        return;
    };
    shown_element(&console.client, "#dora-keys[data-state=ready]").await;
    shown_element(&console.client, "#dora-charts[data-state=ready]").await;
    for chart in ["deployments", "lead-time", "failure-rate", "recovery"] {
        shown_element(
            &console.client,
            &format!("figure.dora-chart[data-chart={chart}][data-state=ready] svg"),
        )
        .await;
    }
    let frequency = shown_element(&console.client, "#dora-key-deployment-frequency").await;
    assert_ne!(
        frequency.attr("data-band").await.unwrap().as_deref(),
        Some("none")
    );
    let lead = shown_element(&console.client, "#dora-key-lead-time").await;
    assert_eq!(
        lead.attr("data-band").await.unwrap().as_deref(),
        Some("elite")
    );
    shown_element(
        &console.client,
        "#event-timeline[data-state=ready] li.timeline-event",
    )
    .await;
    console.text_shown("#event-timeline", "deploy").await;
    console
        .text_shown("#webhook-setup", "/v1/webhooks/github")
        .await;
    console.check_clean("events-dora", &[]).await;
    console.close().await;
}

/// A person changed by someone else while open in the page: saving shows
/// the conflict, field by field, with the changed field marked; keeping
/// mine stores it over the new version.
pub async fn a_stale_people_edit_shows_what_changed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let created = http()
        .post(app.url("/v1/people"))
        .json(&json!({"name": "Ada", "age": 36, "locale": "en-GB"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let person: Value = created.json().await.unwrap();
    let id = person["id"].as_i64().unwrap();
    let Some(console) = Console::open(app, "people").await else {
        return;
    };
    click(
        &console.client,
        &format!("tr.person-row[data-id='{id}'] button.person-edit"),
    )
    .await;
    console
        .text_shown("#person-form-title", &id.to_string())
        .await;
    // Someone else changes her age meanwhile.
    let changed = http()
        .patch(console.app.url(&format!("/v1/people/{id}")))
        .json(&json!({"age": 37}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    console.fill("#person-name", "Ada Lovelace").await;
    click(&console.client, "#person-save").await;
    shown_element(&console.client, "#person-conflict").await;
    let age = console
        .text_shown("#person-conflict tr.conflict-field.changed", "37")
        .await;
    assert!(age.contains("36"), "{age}");
    click(&console.client, "#conflict-keep-mine").await;
    console.text_shown("#person-status", "Saved").await;
    let stored = console.app.get_json(&format!("/v1/people/{id}")).await;
    assert_eq!(stored["name"], "Ada Lovelace");
    console.check_clean("people-conflict", &[412]).await;
    console.close().await;
}

/// A scenario's state is set from the page, and the stubs then answer as
/// in that state.
pub async fn scenario_states_are_set_from_the_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for (state, body) in [("Started", "still open"), ("Closed", "closed now")] {
        let created = http()
            .post(app.url("/__admin/mappings"))
            .json(
                &json!({"scenarioName": "door", "requiredScenarioState": state,
                          "newScenarioState": state,
                          "request": {"method": "GET", "url": "/door"},
                          "response": {"status": 200, "body": body}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
    }
    assert_eq!(app.get("/door").await.text().await.unwrap(), "still open");
    let Some(console) = Console::open(app, "mocks").await else {
        return;
    };
    console
        .text_shown(
            "#scenarios li.scenario[data-name=door] .scenario-state",
            "Started",
        )
        .await;
    // The list is drawn again when journal events touch a scenario (the
    // request above arrives with the journal's backlog): choose and set
    // again if it was redrawn in between.
    let mut attempts = 0;
    loop {
        let row = shown_element(&console.client, "#scenarios li.scenario[data-name=door]").await;
        let chosen = async {
            let select = row.find(Locator::Css(".scenario-select")).await?;
            select.select_by_value("Closed").await?;
            row.find(Locator::Css(".scenario-set")).await?.click().await
        };
        match chosen.await {
            Ok(()) => break,
            Err(error) if attempts < 5 => {
                attempts += 1;
                eprintln!("the scenario row was redrawn ({error}); again");
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(error) => panic!("cannot set the scenario's state: {error}"),
        }
    }
    console
        .text_shown("#scenarios-status", "door is now in state Closed")
        .await;
    console
        .text_shown(
            "#scenarios li.scenario[data-name=door] .scenario-state",
            "Closed",
        )
        .await;
    assert_eq!(
        console.app.get("/door").await.text().await.unwrap(),
        "closed now"
    );
    console.check_clean("mocks-scenarios", &[]).await;
    console.close().await;
}

/// On a phone's width no page scrolls sideways, in the light theme and in
/// the dark one the toggle turns on (screenshots of each).
pub async fn every_page_fits_a_phone_in_both_themes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(session) = phone_browser().await else {
        return;
    };
    let Some(console) = Console::open_in(app, "overview", session).await else {
        return;
    };
    shown_element(&console.client, "#readiness").await;
    click(&console.client, "#theme-toggle").await;
    let theme = console
        .client
        .execute("return document.documentElement.dataset.theme", vec![])
        .await
        .unwrap();
    assert_eq!(theme, "dark");
    for theme in ["dark", "light"] {
        for (page, shown) in [
            ("overview", "#readiness"),
            ("mocks", "#stub-editor"),
            ("events", "#dora-keys"),
            ("people", "#people-table"),
            ("resources", "#collection-list"),
            ("messages", "#message-text"),
        ] {
            console.goto(page).await;
            shown_element(&console.client, shown).await;
            // Let the page finish what it draws after its first element.
            tokio::time::sleep(Duration::from_millis(700)).await;
            // Against the screen, not the window: Chromium widens the
            // window of a page that does not fit.
            let overflow = console
                .client
                .execute(
                    "return [document.documentElement.scrollWidth, screen.width]",
                    vec![],
                )
                .await
                .unwrap();
            let [content, screen] = [overflow[0].as_i64().unwrap(), overflow[1].as_i64().unwrap()];
            assert_eq!(screen, 390, "the phone's width");
            assert!(
                content <= screen,
                "{page} ({theme}) is {content} px wide on a {screen} px screen"
            );
            console
                .check_clean(&format!("phone-{page}-{theme}"), &[])
                .await;
        }
        if theme == "dark" {
            click(&console.client, "#theme-toggle").await;
        }
    }
    console.close().await;
}

/// A collection's documents are browsed and one is edited as JSON; a
/// stale edit shows the conflict with the field the server changed
/// marked, and keeping mine stores it over the new version.
pub async fn a_stale_resource_edit_shows_what_changed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let documents: Vec<Value> = (1..=25)
        .map(|n| json!({"id": n, "title": format!("post {n}"), "views": n * 10}))
        .collect();
    let made = http()
        .put(app.url("/v1/collections/posts"))
        .json(&json!({"documents": documents}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let Some(console) = Console::open(app, "resources").await else {
        return;
    };
    click(
        &console.client,
        "#collection-list li.collection[data-name=posts] button.collection-open",
    )
    .await;
    console
        .text_shown("#documents-page-info", "25 documents")
        .await;
    click(&console.client, "#documents-next").await;
    console.text_shown("#documents-page-info", "Page 2").await;
    click(
        &console.client,
        "#documents-table tr.document-row[data-id='21'] button.document-open",
    )
    .await;
    console.text_shown("#document-title", "21").await;
    let editor = shown_element(&console.client, "#document-editor").await;
    let opened: Value =
        serde_json::from_str(&editor.prop("value").await.unwrap().unwrap()).unwrap();
    assert_eq!(opened["title"], "post 21");
    // Someone else changes its views meanwhile.
    let changed = http()
        .patch(console.app.url("/posts/21"))
        .json(&json!({"views": 999}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let mine = json!({"id": 21, "title": "edited in the console", "views": 210});
    console.fill("#document-editor", &mine.to_string()).await;
    click(&console.client, "#document-save").await;
    let views = console
        .text_shown("#document-conflict tr.conflict-field.changed", "999")
        .await;
    assert!(views.contains("210"), "{views}");
    click(&console.client, "#document-keep-mine").await;
    console.text_shown("#document-status", "Saved").await;
    let stored = console.app.get_json("/posts/21").await;
    assert_eq!(stored, mine);
    console.check_clean("resources-conflict", &[412]).await;
    console.close().await;
}
