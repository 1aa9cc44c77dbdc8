//! The process's life: a request in flight when SIGTERM arrives completes and
//! the process exits 0; readiness follows the database down and back up.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Echobase, serve};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn request_in_flight_at_sigterm_completes_and_process_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut server = Echobase::start(&mut serve(&url));
    let addr = server.addr;

    // Start a request and leave its body half sent.
    let body = br#"{"message":"foo"}"#;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..5]).await.unwrap();
    // Let the server read the head and enter the handler before the signal.
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.is_running(), "still finishing the request in flight");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no new connections once stopping"
    );

    stream.write_all(&body[5..]).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("the response arrives")
        .unwrap();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains("2C26B46B68FFC68FF99B453C1D30413413422D706483BFA0F98A5E886266E7AE"),
        "{text}"
    );

    let status = server.wait_for_exit(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "clean exit after SIGTERM");
}

/// A PostgreSQL cluster of our own, in a temp dir on its own port, so that a
/// test may stop it without touching the shared server.
struct ThrowawayPostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl ThrowawayPostgres {
    fn create() -> Option<Self> {
        let Some(bin) = postgres_bin_dir() else {
            common::skip_or_fail("initdb/pg_ctl not found");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        // PostgreSQL refuses to run as root; run it as `postgres` then.
        if is_root() {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path()));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = ThrowawayPostgres {
            bin,
            data,
            port,
            _dir: dir,
        };
        run(&mut cluster.command(
            "initdb",
            &[
                "-D",
                cluster.data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        ));
        cluster.start();
        Some(cluster)
    }

    fn command(&self, tool: &str, args: &[&str]) -> Command {
        let program = self.bin.join(tool);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        command
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    fn start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.data.display()
        );
        run(&mut self.command(
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "start",
            ],
        ));
    }

    fn stop(&self) {
        run(&mut self.command(
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        ));
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for ThrowawayPostgres {
    fn drop(&mut self) {
        let _ = self
            .command(
                "pg_ctl",
                &["-D", self.data.to_str().unwrap(), "-m", "immediate", "stop"],
            )
            .status();
    }
}

fn run(command: &mut Command) {
    let status = command.status().expect("command runs");
    assert!(status.success(), "{command:?} failed: {status}");
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| out.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

fn postgres_bin_dir() -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    });
    from_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
            .filter(|bin| Path::new(bin).join("initdb").is_file())
            .collect();
        versions.sort();
        versions.pop()
    })
}

async fn readiness(client: &reqwest::Client, addr: SocketAddr) -> (u16, serde_json::Value) {
    let response = client
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .expect("echobase answers /readyz whatever the database does");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_postgres_down_and_back_up_without_a_restart() {
    let Some(cluster) = ThrowawayPostgres::create() else {
        return;
    };
    let mut server = Echobase::start(&mut serve(&cluster.url()));
    let addr = server.addr;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let (status, _) = readiness(&client, addr).await;
    assert_eq!(status, 200);

    cluster.stop();
    let (status, body) = readiness(&client, addr).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["type"], "urn:echobase:problem:unavailable");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("postgres database is not reachable"),
        "{detail}"
    );
    assert_eq!(
        client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "alive while the database is down"
    );
    assert!(server.is_running(), "nothing crashed");

    cluster.start();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = readiness(&client, addr).await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still not ready after PostgreSQL came back: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    server.signal("TERM");
    assert_eq!(
        server.wait_for_exit(Duration::from_secs(15)).code(),
        Some(0)
    );
}
