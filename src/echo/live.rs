//! Beyond httpbin: server-sent events (`/sse`, paced by go-httpbin's
//! parameters too) and a WebSocket echo (`/websocket/echo`).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde_json::json;

use super::EchoConfig;
use super::gohttpbin::Pace;
use super::httpbin::TAG;
use super::inspect::{Inspected, query_pairs};
use super::responses::query_value;
use crate::http::ApiError;

/// Sends `count` events, one every `interval_ms` (or spread over go-httpbin's
/// `duration`, after its `delay`); resumes after the id in `Last-Event-ID`
/// when a client reconnects.
#[utoipa::path(get, path = "/sse", tag = TAG,
    params(("count" = Option<u64>, Query, minimum = 0, maximum = 18446744073709551615_u64,
            description = "Events to send (default 10); more are cut to `echo.max_events` (10000 unless configured)"),
           ("interval_ms" = Option<u64>, Query, minimum = 0, maximum = 18446744073709551615_u64,
            description = "Pause between events (default 1000), cut to `echo.max_delay`; `duration`, when given, sets the pause instead"),
           ("duration" = inline(Option<super::schemas::Wait>), Query, nullable = false,
            description = "Seconds or a Go duration (`5s`) to spread the events over, as go-httpbin's; cut so that `delay` plus `duration` is at most `echo.max_delay`"),
           ("delay" = inline(Option<super::schemas::Wait>), Query, nullable = false,
            description = "Seconds or a Go duration before the first event (default 0), cut to `echo.max_delay`"),
           ("jitter" = Option<f64>, Query, minimum = 0, maximum = 1,
            description = "Vary each pause at random by up to this fraction of it (default 0)"),
           ("Last-Event-ID" = Option<u64>, Header, nullable = false, minimum = 0, maximum = 18446744073709551615_u64,
            description = "Resume after this event id")),
    responses(
        (status = 200, description = "`text/event-stream`: events `id: n`, `event: tick`, `data: {\"id\":n,\"count\":...}`",
            content_type = "text/event-stream"),
        (status = 400, description = "A parameter that does not parse or is out of range", content_type = "text/plain"),
    ))]
pub async fn sse(
    State(config): State<Arc<EchoConfig>>,
    request: Inspected,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let pairs = query_pairs(request.uri.query().unwrap_or_default());
    let number = |key: &str, default: u64| -> Result<u64, ApiError> {
        match pairs.iter().find_map(|(k, v)| (k == key).then_some(v)) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| ApiError::BadRequest(format!("{key} `{text}` is not a whole number"))),
        }
    };
    let count = number("count", 10)?.min(config.max_events);
    let interval = Duration::from_millis(number("interval_ms", 1000)?).min(config.max_delay);
    let mut pace = Pace::read(&request, &config, Duration::ZERO, count)?;
    if query_value(&request, "duration").is_none() {
        pace.pause = interval;
    }
    let first = match request.header_str("last-event-id") {
        Some(text) => {
            let last = text.trim().parse::<u64>().map_err(|_| {
                ApiError::BadRequest(format!("Last-Event-ID `{text}` is not a whole number"))
            })?;
            // After the largest id there is nothing left to send.
            last.saturating_add(1)
        }
        None => 0,
    };
    let events = futures_util::stream::unfold(first, move |id| async move {
        if id >= count {
            return None;
        }
        let wait = if id == first {
            pace.delay
        } else {
            pace.between()
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let event = Event::default()
            .id(id.to_string())
            .event("tick")
            .data(json!({ "id": id, "count": count }).to_string());
        Some((Ok(event), id + 1))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// Upgrades to a WebSocket and sends back every text and binary message.
/// A plain request (without the upgrade headers) is a 400. go-httpbin's
/// `max_fragment_size` and `max_message_size` bound what the client sends.
#[utoipa::path(get, path = "/websocket/echo", tag = TAG,
    // The maxima are the body limit, written into the document at mount (see `schemas`).
    params(("max_fragment_size" = Option<u64>, Query, minimum = 1,
            description = "Largest frame the client may send, 1 to the body limit (`body_limit`); a larger one closes the connection. At most `max_message_size`"),
           ("max_message_size" = Option<u64>, Query, minimum = 1,
            description = "Largest message the client may send, 1 to the body limit (`body_limit`); a larger one closes the connection with 1009"),
           ("Connection" = String, Header, pattern = "^[Uu][Pp][Gg][Rr][Aa][Dd][Ee]$", description = "`Upgrade` (a list naming it works too)"),
           ("Upgrade" = String, Header, pattern = "^[Ww][Ee][Bb][Ss][Oo][Cc][Kk][Ee][Tt]$", description = "`websocket`"),
           ("Sec-WebSocket-Version" = String, Header, pattern = "^13$", description = "`13`"),
           ("Sec-WebSocket-Key" = String, Header, description = "16 random bytes, base64 (any value is taken)")),
    responses(
        (status = 101, description = "Switching protocols; every message is echoed"),
        (status = 400, description = "Not a WebSocket upgrade request, or a size out of range", content_type = "text/plain"),
    ))]
pub async fn websocket_echo(
    State(config): State<Arc<EchoConfig>>,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query.as_deref().unwrap_or_default());
    let size = |key: &str| -> Result<Option<usize>, ApiError> {
        let Some(text) = pairs.iter().find_map(|(k, v)| (k == key).then_some(v)) else {
            return Ok(None);
        };
        let max = config.max_response_bytes;
        text.parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .map(Some)
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "{key} `{text}` must be a whole number from 1 to {max}"
                ))
            })
    };
    let max_fragment = size("max_fragment_size")?;
    let max_message = size("max_message_size")?;
    if let (Some(fragment), Some(message)) = (max_fragment, max_message)
        && fragment > message
    {
        return Err(ApiError::BadRequest(format!(
            "max_fragment_size {fragment} must not exceed max_message_size {message}"
        )));
    }
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::BadRequest(format!(
            "this route speaks WebSocket: {}",
            rejection.body_text()
        ))
    })?;
    // Unset, the WebSocket library's own limits (64 MiB messages, 16 MiB frames) stay.
    let upgrade = match max_message {
        Some(max) => upgrade.max_message_size(max),
        None => upgrade,
    };
    let upgrade = match max_fragment {
        Some(max) => upgrade.max_frame_size(max),
        None => upgrade,
    };
    Ok(upgrade.on_upgrade(echo_messages).into_response())
}

async fn echo_messages(mut socket: WebSocket) {
    while let Some(received) = socket.recv().await {
        let Ok(message) = received else {
            // Most often a frame or message over the client's own limits:
            // say so with 1009, as go-httpbin, if the connection still takes it.
            let close = CloseFrame {
                code: close_code::SIZE,
                reason: "frame or message too large, or not WebSocket".into(),
            };
            let _ = socket.send(Message::Close(Some(close))).await;
            break;
        };
        let reply = match message {
            Message::Text(_) | Message::Binary(_) => message,
            Message::Close(_) => break,
            // axum answers pings itself.
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}
