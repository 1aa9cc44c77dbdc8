//! Durability of the messages store: the real `echobase` binary takes a
//! stream of concurrent writes, is killed with SIGKILL in the middle of it,
//! is started again on the same database, and must serve every message whose
//! write it acknowledged before it died.
//!
//! A SIGKILL loses what the process held in memory but not what the kernel
//! has: this pins "acknowledged only after the commit" (no acknowledgement
//! from a queue or a buffer). That the commit is also synced (survives power
//! loss) comes from `synchronous=FULL` / PostgreSQL's defaults, which a test
//! on one machine cannot observe.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Backend, Echobase, TestDatabase, serve};
use echobase::config::DatabaseUrl;
use echobase::messages::model::Digest;
use serde_json::Value;

on_both_backends!(acknowledged_writes_survive_kill_9);

/// Concurrent writers.
const WRITERS: usize = 16;
/// Acknowledged writes to wait for before the kill.
const ACKED_BEFORE_KILL: usize = 400;
/// Upper bound of writes per writer, so the loop ends on its own.
const MAX_WRITES_PER_WRITER: usize = 20_000;

/// A digest the server acknowledged, and the bytes sent for it.
type Acked = (String, Vec<u8>);

/// `echobase serve` on `url`, running in `cwd`, with the access log off (a line
/// per write of the stream is noise here).
fn serve_in(url: &DatabaseUrl, cwd: &std::path::Path) -> Command {
    let mut command = serve(url.expose());
    command
        .args(["--log-level", "warn,echobase=info,echobase::access=warn"])
        .current_dir(cwd);
    command
}

/// A 1 KiB body unique to this writer and sequence number.
fn body(writer: usize, seq: usize) -> Vec<u8> {
    let mut body = format!("durable writer={writer} seq={seq} ").into_bytes();
    body.resize(1024, b'.');
    body
}

async fn acknowledged_writes_survive_kill_9(backend: Backend) {
    let Some((_database, url)) = TestDatabase::create(backend).await else {
        return;
    };
    let cwd = tempfile::tempdir().expect("temp dir");
    let server = Echobase::start(&mut serve_in(&url, cwd.path()));
    let base = format!("http://{}", server.addr);
    let client = common::client();

    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (client, base, acked) = (client.clone(), base.clone(), acked.clone());
            tokio::spawn(async move {
                for seq in 0..MAX_WRITES_PER_WRITER {
                    let bytes = body(writer, seq);
                    let sent = client
                        .post(format!("{base}/v1/messages"))
                        .header("content-type", "application/octet-stream")
                        .body(bytes.clone())
                        .send()
                        .await;
                    // The server is gone: stop writing.
                    let Ok(response) = sent else { break };
                    if response.status() != 201 {
                        break;
                    }
                    let Ok(answer) = response.json::<Value>().await else {
                        break;
                    };
                    let digest = answer["digest"].as_str().unwrap_or_default().to_owned();
                    acked.lock().unwrap().push((digest, bytes));
                }
            })
        })
        .collect();

    // Kill in the middle of the stream: writes are in flight at that moment.
    let mut waited = 0;
    while acked.lock().unwrap().len() < ACKED_BEFORE_KILL {
        assert!(waited < 12_000, "the writers stalled before the kill");
        waited += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut server = server;
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("the server is reaped");
    for writer in writers {
        writer.await.unwrap();
    }
    drop(server);
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(acked.len() >= ACKED_BEFORE_KILL);

    let restarted = Echobase::start(&mut serve_in(&url, cwd.path()));
    let base = format!("http://{}", restarted.addr);
    let mut lost = Vec::new();
    for (digest, bytes) in &acked {
        assert_eq!(digest, &Digest::of(bytes).to_lower_hex());
        let response = client
            .get(format!("{base}/v1/messages/{digest}"))
            .send()
            .await
            .expect("the restarted server answers");
        if response.status() != 200 || response.bytes().await.unwrap().as_ref() != bytes {
            lost.push(digest.clone());
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged messages were lost, e.g. {:?}",
        lost.len(),
        acked.len(),
        lost.first()
    );

    // And the database still takes writes after the crash.
    let response = client
        .post(format!("{base}/v1/messages"))
        .body(b"after the crash".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}
