//! The real `echobase` binary, for what only a process shows: the command
//! line, signals, a kill in the middle of writes, a second process.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The `echobase` binary with an empty environment but `PATH`: only the
/// variables a test sets may reach it.
pub fn echobase() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_echobase"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}

/// `echobase serve` on a free loopback port over `database_url`, logging JSON
/// to a pipe; add flags, then [`Echobase::start`] it.
pub fn serve(database_url: &str) -> Command {
    let mut command = echobase();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .args(["--database-url", database_url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// A running `echobase serve`, killed when dropped.
pub struct Echobase {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Echobase {
    /// Spawns `command` (from [`serve`]) and learns its address from its
    /// start-up log line.
    pub fn start(command: &mut Command) -> Echobase {
        let mut child = command.spawn().expect("echobase starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (found, address) = mpsc::channel();
        // Reads the log to the end so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let Some(tx) = &found else { continue };
                let address = match serde_json::from_str::<serde_json::Value>(&line) {
                    Ok(entry) => match entry["address"].as_str() {
                        Some(address) => Ok(address.to_owned()),
                        None => continue,
                    },
                    Err(_) => Err(line),
                };
                let _ = tx.send(address);
                found = None;
            }
        });
        let addr = match address.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(addr)) => addr.parse().expect("a socket address"),
            Ok(Err(line)) => panic!("echobase said: {line}"),
            Err(error) => panic!("echobase did not report its address: {error}"),
        };
        Echobase { child, addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends `signal` (`TERM`, `HUP`, ...) to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits for the process to exit; kills it and fails after `limit`.
    pub fn wait_for_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("echobase did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Echobase {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
