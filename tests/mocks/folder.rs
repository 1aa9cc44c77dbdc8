//! A WireMock folder as the source of truth: `export` writes a server's stubs
//! and body files, `apply` makes another server match a folder and says what
//! changed; `echobase mocks record` writes what it recorded as such a folder.

use std::path::Path;
use std::time::Duration;

use echobase::mocks::folder::{Remote, apply, export};
use serde_json::{Value, json};

use super::common::{Backend, TestApp};
use super::{get_json, stub};

fn remote(app: &TestApp) -> Remote {
    Remote::new(&format!("http://{}", app.addr), None).unwrap()
}

fn ids(listed: &Value) -> Vec<String> {
    let mut ids: Vec<String> = listed["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn json_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("mappings"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

pub async fn a_folder_round_trips_through_export_and_apply(backend: Backend) {
    let Some(source) = TestApp::spawn(backend).await else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    let put = source
        .client
        .put(source.url("/__admin/files/pages/hello.html"))
        .body("<p>hello</p>")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    stub(
        &source,
        json!({"name": "Hello page", "request": {"urlPath": "/hello"},
            "response": {"bodyFileName": "pages/hello.html"}}),
    )
    .await;
    stub(
        &source,
        json!({"request": {"method": "POST", "urlPath": "/orders"}, "response": {"status": 201}}),
    )
    .await;
    let exported = export(&remote(&source), folder.path()).await.unwrap();
    assert_eq!((exported.stubs, exported.files), (2, 1));
    assert_eq!(json_files(folder.path()).len(), 2);
    assert_eq!(
        std::fs::read_to_string(folder.path().join("__files/pages/hello.html")).unwrap(),
        "<p>hello</p>"
    );

    // Another server: a dry run changes nothing, then apply makes it match.
    let Some(target) = TestApp::spawn(backend).await else {
        return;
    };
    let planned = apply(&remote(&target), folder.path(), true).await.unwrap();
    assert_eq!(planned.added.len(), 2, "{planned}");
    assert_eq!(planned.files_written, ["pages/hello.html"], "{planned}");
    let (_, listed) = get_json(&target, "/__admin/mappings").await;
    assert_eq!(listed["mappings"], json!([]), "a dry run changes nothing");
    let applied = apply(&remote(&target), folder.path(), false).await.unwrap();
    assert_eq!(applied.added.len(), 2, "{applied}");
    let (_, from_source) = get_json(&source, "/__admin/mappings").await;
    let (_, on_target) = get_json(&target, "/__admin/mappings").await;
    assert_eq!(ids(&on_target), ids(&from_source), "the same stubs, by id");
    assert_eq!(
        target.get("/hello").await.text().await.unwrap(),
        "<p>hello</p>"
    );
    // Applying again changes nothing.
    let again = apply(&remote(&target), folder.path(), false).await.unwrap();
    assert!(again.is_empty(), "{again}");
    assert_eq!(again.unchanged, 2);

    // Edit one file, delete another, add one without an id.
    let files = json_files(folder.path());
    let hello = files
        .iter()
        .find(|f| f.to_string_lossy().contains("hello-page"))
        .unwrap();
    let mut edited: Value = serde_json::from_str(&std::fs::read_to_string(hello).unwrap()).unwrap();
    edited["response"] = json!({"body": "edited"});
    std::fs::write(hello, edited.to_string()).unwrap();
    let orders = files.iter().find(|f| *f != hello).unwrap();
    std::fs::remove_file(orders).unwrap();
    std::fs::write(
        folder.path().join("mappings/new.json"),
        json!({"request": {"urlPath": "/new"}, "response": {"body": "new"}}).to_string(),
    )
    .unwrap();
    std::fs::remove_file(folder.path().join("__files/pages/hello.html")).unwrap();
    let applied = apply(&remote(&target), folder.path(), false).await.unwrap();
    assert_eq!(
        (
            applied.added.len(),
            applied.changed.len(),
            applied.removed.len()
        ),
        (1, 1, 1),
        "{applied}"
    );
    assert_eq!(applied.files_removed, ["pages/hello.html"], "{applied}");
    assert_eq!(target.get("/hello").await.text().await.unwrap(), "edited");
    assert_eq!(target.get("/new").await.text().await.unwrap(), "new");
    assert_eq!(target.status("/orders").await, 404);
    let again = apply(&remote(&target), folder.path(), false).await.unwrap();
    assert!(
        again.is_empty(),
        "an id derived from the file is stable: {again}"
    );
    source.stop().await;
    target.stop().await;
}

/// `echobase mocks record` as a user runs it: requests through it, Ctrl-C,
/// and a folder that a server then serves from `--mappings`.
pub async fn mocks_record_writes_a_folder_a_server_loads(backend: Backend) {
    let Some(service) = TestApp::spawn(backend).await else {
        return;
    };
    stub(
        &service,
        json!({"request": {"urlPath": "/api/hello"},
            "response": {"body": "hi", "headers": {"Content-Type": "text/plain"}}}),
    )
    .await;
    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().join("recorded");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_echobase"))
        .args(["mocks", "record", "--listen", "127.0.0.1:0", "--target"])
        .arg(format!("http://{}", service.addr))
        .arg("--out")
        .arg(&out)
        .env("ECHOBASE_LOG_LEVEL", "warn")
        .current_dir(folder.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The line that says where to send requests; the rest is read to the end.
    let stdout = child.stdout.take().unwrap();
    let (found, where_to) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("recording ") {
                let _ = found.send(line);
            }
        }
    });
    let line = where_to.recv_timeout(Duration::from_secs(30)).unwrap();
    // "recording TARGET: send requests to BASE; Ctrl-C ..."
    let base = line
        .split("send requests to ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned();
    let answer = service
        .client
        .get(format!("{base}/api/hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), "hi", "{line}");
    let pid = child.id().to_string();
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let status = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || child.wait()),
    )
    .await
    .expect("it stops within 30 s of Ctrl-C")
    .unwrap()
    .unwrap();
    assert!(status.success(), "{status}");
    let files = json_files(&out);
    assert_eq!(files.len(), 1, "{files:?}");
    service.stop().await;

    let Some(player) = TestApp::spawn_with(backend, |s| {
        s.mocks.mappings_dir = Some(out.clone());
    })
    .await
    else {
        return;
    };
    assert_eq!(player.get("/api/hello").await.text().await.unwrap(), "hi");
    player.stop().await;
}
