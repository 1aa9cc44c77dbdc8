//! The benchmark baseline: the fastest this machine serves HTTP/1.1 with the same stack
//! echobase is built on (tokio + hyper 1), minus routing and middleware.
//!
//! Every request gets its whole body read; a non-empty body is echoed back byte for byte
//! (`application/octet-stream`), an empty one is answered with `ok` (`text/plain`).
//!
//! Usage: `baseline [--listen ADDR]` (default `127.0.0.1:0`). Prints one line,
//! `listening on ADDR`, once bound. Exits on SIGINT or SIGTERM.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, content_type: &'static str, body: Bytes) -> Reply {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

async fn handle(request: Request<Incoming>) -> Result<Reply, Infallible> {
    Ok(match request.into_body().collect().await {
        Ok(collected) => {
            let body = collected.to_bytes();
            if body.is_empty() {
                reply(StatusCode::OK, "text/plain", Bytes::from_static(b"ok"))
            } else {
                reply(StatusCode::OK, "application/octet-stream", body)
            }
        }
        Err(_) => reply(
            StatusCode::BAD_REQUEST,
            "text/plain",
            Bytes::from_static(b"bad body"),
        ),
    })
}

fn parse_args() -> Result<SocketAddr, String> {
    let mut listen = String::from("127.0.0.1:0");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--listen" {
            listen = args.next().ok_or("--listen needs an address")?;
        } else if let Some(value) = arg.strip_prefix("--listen=") {
            listen = value.to_owned();
        } else {
            return Err(format!(
                "unknown argument {arg:?}; usage: baseline [--listen ADDR]"
            ));
        }
    }
    listen
        .parse()
        .map_err(|err| format!("bad --listen address {listen:?}: {err}"))
}

/// Resolves on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = match parse_args() {
        Ok(addr) => addr,
        Err(message) => {
            eprintln!("baseline: {message}");
            std::process::exit(2);
        }
    };
    let listener = TcpListener::bind(addr).await?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {}", listener.local_addr()?)?;
        stdout.flush()?;
    }

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Typically EMFILE under load: back off briefly instead of spinning.
                    eprintln!("baseline: accept failed: {err}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let served = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
            if let Err(err) = served {
                // Clients resetting mid-request is normal when wrk stops; only log real errors.
                if !err.is_incomplete_message() {
                    eprintln!("baseline: connection error: {err}");
                }
            }
        });
    }
    Ok(())
}
