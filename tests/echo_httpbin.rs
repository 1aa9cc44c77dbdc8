//! The echo module's httpbin-compatible API under `/echo`, and what it adds
//! (SSE, WebSocket echo, JWT decoding, `x-echo-*` controls). None of it
//! touches storage, so these run on SQLite only.

mod common;

use std::io::Read as _;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Backend, TestApp};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};

async fn app() -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |s| {
        s.echo.redirect_allow = vec!["allowed.test".into()];
        s.echo.max_delay = Duration::from_millis(300);
    })
    .await
    .expect("SQLite is always available")
}

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

#[tokio::test]
async fn anything_reports_repeated_query_keys_as_lists_and_single_ones_as_strings() {
    let app = app().await;
    let body = json_of(app.get("/echo/anything/deep/path?a=1&a=2&b=x%20y").await).await;
    assert_eq!(body["args"], json!({"a": ["1", "2"], "b": "x y"}));
    assert_eq!(body["method"], "GET");
    assert_eq!(body["origin"], "127.0.0.1");
    assert_eq!(
        body["url"],
        format!(
            "http://{}/echo/anything/deep/path?a=1&a=2&b=x%20y",
            app.addr
        )
    );
    assert_eq!(body["headers"]["Host"], app.addr.to_string());
    assert_eq!(body["data"], "");
    assert_eq!(body["json"], Value::Null);
}

#[tokio::test]
async fn anything_answers_every_method() {
    let app = app().await;
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .client
            .request(method.clone(), app.url("/echo/anything"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{method}");
        assert_eq!(json_of(response).await["method"], method.as_str());
    }
}

#[tokio::test]
async fn anything_reports_a_urlencoded_form_in_form_not_data() {
    let app = app().await;
    let response = app
        .post_body(
            "/echo/anything",
            "application/x-www-form-urlencoded",
            "name=ada&lang=en&lang=fr",
        )
        .await;
    let body = json_of(response).await;
    assert_eq!(body["form"], json!({"name": "ada", "lang": ["en", "fr"]}));
    assert_eq!(body["data"], "");
    assert_eq!(body["files"], json!({}));
}

#[tokio::test]
async fn anything_reports_multipart_fields_in_form_and_files_in_files() {
    let app = app().await;
    let boundary = "XyZ123";
    let mut multipart = Vec::new();
    multipart.extend_from_slice(
        b"--XyZ123\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n",
    );
    multipart.extend_from_slice(
        b"--XyZ123\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a.txt\"\r\n\
          Content-Type: text/plain\r\n\r\nfile text\r\n",
    );
    multipart.extend_from_slice(
        b"--XyZ123\r\nContent-Disposition: form-data; name=\"blob\"; filename=\"b.bin\"\r\n\
          Content-Type: application/x-thing\r\n\r\n\xff\x00\xfe\r\n--XyZ123--\r\n",
    );
    let response = app
        .client
        .post(app.url("/echo/anything"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = json_of(response).await;
    assert_eq!(body["form"], json!({"title": "hello"}));
    assert_eq!(body["files"]["upload"], "file text");
    assert_eq!(
        body["files"]["blob"],
        "data:application/x-thing;base64,/wD+"
    );
    assert_eq!(body["data"], "");
}

#[tokio::test]
async fn anything_parses_a_json_body_and_keeps_its_text() {
    let app = app().await;
    let text = r#"{"name":"ada","tags":["x"],"n":1.5}"#;
    let response = app
        .send_body(
            reqwest::Method::PUT,
            "/echo/anything",
            "application/json",
            text,
        )
        .await;
    let body = json_of(response).await;
    assert_eq!(body["data"], text);
    assert_eq!(
        body["json"],
        json!({"name": "ada", "tags": ["x"], "n": 1.5})
    );
}

#[tokio::test]
async fn anything_reports_a_body_that_is_not_utf8_as_a_base64_data_url() {
    let app = app().await;
    let response = app
        .client
        .post(app.url("/echo/anything"))
        .body(vec![0xffu8, 0x00, 0xfe, b'a'])
        .send()
        .await
        .unwrap();
    let body = json_of(response).await;
    assert_eq!(
        body["data"],
        "data:application/octet-stream;base64,/wD+YQ=="
    );
    assert_eq!(body["json"], Value::Null);
}

#[tokio::test]
async fn a_malformed_multipart_body_is_a_400_in_plain_text() {
    let app = app().await;
    let response = app
        .post_body(
            "/echo/post",
            "multipart/form-data; boundary=nope",
            "not multipart at all",
        )
        .await;
    assert_eq!(response.status(), 400);
    // httpbin's shape for a refusal: text, not the native API's problem+json.
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert!(response.text().await.unwrap().contains("multipart"));
}

#[tokio::test]
async fn method_routes_have_httpbin_shapes_and_refuse_other_methods() {
    let app = app().await;
    let get = json_of(app.get("/echo/get?x=1").await).await;
    assert_eq!(get["args"]["x"], "1");
    assert!(get.get("data").is_none(), "/get has no body fields");
    assert!(get.get("method").is_none());

    for (method, path) in [
        ("POST", "/echo/post"),
        ("PUT", "/echo/put"),
        ("PATCH", "/echo/patch"),
        ("DELETE", "/echo/delete"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .client
            .request(method, app.url(path))
            .body("payload")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let body = json_of(response).await;
        assert_eq!(body["data"], "payload", "{path}");
        assert!(body.get("method").is_none(), "{path}");
    }
    let wrong = app.client.post(app.url("/echo/get")).send().await.unwrap();
    assert_eq!(wrong.status(), 405);
}

#[tokio::test]
async fn headers_ip_and_user_agent_describe_the_caller() {
    let app = app().await;
    let headers = app
        .client
        .get(app.url("/echo/headers"))
        .header("x-custom", "one")
        .header("user-agent", "tester/1.0")
        .send()
        .await
        .unwrap();
    let headers = json_of(headers).await;
    assert_eq!(headers["headers"]["X-Custom"], "one");
    assert_eq!(
        json_of(app.get("/echo/ip").await).await,
        json!({"origin": "127.0.0.1"})
    );
    let agent = app
        .get_with("/echo/user-agent", "user-agent", "tester/1.0")
        .await;
    assert_eq!(json_of(agent).await, json!({"user-agent": "tester/1.0"}));
}

#[tokio::test]
async fn status_answers_the_code_and_picks_only_from_a_weighted_list() {
    let app = app().await;
    assert_eq!(app.get("/echo/status/418").await.status(), 418);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        seen.insert(app.get("/echo/status/201,503:3").await.status().as_u16());
    }
    assert!(seen.is_subset(&[201, 503].into()), "{seen:?}");
    assert!(
        seen.contains(&503),
        "weight 3 of 4 never picked in 40 tries"
    );
    for bad in ["/echo/status/abc", "/echo/status/99", "/echo/status/200:0"] {
        assert_eq!(app.get(bad).await.status(), 400, "{bad}");
    }
    let unauthorized = app.get("/echo/status/401").await;
    assert!(unauthorized.headers().contains_key("www-authenticate"));
}

#[tokio::test]
async fn delay_is_capped_by_the_setting_and_refuses_nonsense() {
    let app = app().await;
    // The cap is 300 ms: a 60-second delay still answers (the client's
    // timeout is 30 s), which is all this checks; no timing is asserted.
    let response = app.get("/echo/delay/60").await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.get("/echo/delay/-1").await.status(), 400);
    assert_eq!(app.get("/echo/delay/soon").await.status(), 400);
    // A number too large for a duration is still just "longer than the cap",
    // as in httpbin, which takes any number.
    assert_eq!(app.get("/echo/delay/1e300").await.status(), 200);
}

#[tokio::test]
async fn bytes_are_repeatable_with_a_seed_and_bounded_by_the_body_limit() {
    let app = app().await;
    let first = app
        .get("/echo/bytes/64?seed=7")
        .await
        .bytes()
        .await
        .unwrap();
    let second = app
        .get("/echo/bytes/64?seed=7")
        .await
        .bytes()
        .await
        .unwrap();
    let other = app
        .get("/echo/bytes/64?seed=8")
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(first.len(), 64);
    assert_eq!(first, second);
    assert_ne!(first, other);
    let too_many = format!("/echo/bytes/{}", 10 * 1024 * 1024 + 1);
    assert_eq!(app.get(&too_many).await.status(), 400);
}

#[tokio::test]
async fn stream_sends_one_json_document_per_line() {
    let app = app().await;
    let text = app.get("/echo/stream/3").await.text().await.unwrap();
    let ids: Vec<u64> = text
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, [0, 1, 2]);
}

#[tokio::test]
async fn drip_sends_the_asked_number_of_bytes_and_cuts_long_waits() {
    let app = app().await;
    let response = app.get("/echo/drip?duration=0.1&numbytes=5&code=202").await;
    assert_eq!(response.status(), 202);
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"*****");
    // Waits over echo.max_delay (300 ms here) are cut to it, as in /delay.
    for long in [
        "/echo/drip?duration=5&numbytes=2",
        "/echo/drip?duration=0.2&delay=0.2&numbytes=2",
        "/echo/drip?delay=1e300&numbytes=2",
    ] {
        let response = app.get(long).await;
        assert_eq!(response.status(), 200, "{long}");
        assert_eq!(response.bytes().await.unwrap().as_ref(), b"**", "{long}");
    }
    assert_eq!(app.get("/echo/drip?duration=-1").await.status(), 400);
}

#[tokio::test]
async fn base64_decodes_and_encodes() {
    let app = app().await;
    let decoded = app.get("/echo/base64/aGVsbG8gd29ybGQ=").await;
    assert_eq!(decoded.text().await.unwrap(), "hello world");
    let decoded = app.get("/echo/base64/decode/aGVsbG8").await;
    assert_eq!(decoded.text().await.unwrap(), "hello");
    let encoded = app.get("/echo/base64/encode/hello").await;
    assert_eq!(encoded.text().await.unwrap(), "aGVsbG8=");
    assert_eq!(app.get("/echo/base64/!!!").await.status(), 400);
}

#[tokio::test]
async fn basic_auth_accepts_only_the_path_credentials() {
    let app = app().await;
    let ok = app
        .client
        .get(app.url("/echo/basic-auth/ada/secret"))
        .basic_auth("ada", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        json_of(ok).await,
        json!({"authenticated": true, "user": "ada"})
    );
    let wrong = app
        .client
        .get(app.url("/echo/basic-auth/ada/secret"))
        .basic_auth("ada", Some("guess"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(app.get("/echo/hidden-basic-auth/a/b").await.status(), 404);
}

#[tokio::test]
async fn bearer_and_jwt_decode_the_token_and_say_it_is_unverified() {
    let app = app().await;
    assert_eq!(app.get("/echo/bearer").await.status(), 401);
    let token = format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#),
        URL_SAFE_NO_PAD.encode(br#"{"sub":"ada"}"#)
    );
    let bearer = app
        .client
        .get(app.url("/echo/bearer"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let bearer = json_of(bearer).await;
    assert_eq!(bearer["authenticated"], true);
    assert_eq!(bearer["token"], token);
    assert_eq!(bearer["jwt"]["claims"]["sub"], "ada");

    let decoded = json_of(app.get(&format!("/echo/jwt?token={token}")).await).await;
    assert_eq!(decoded["header"]["alg"], "HS256");
    assert_eq!(decoded["verified"], false);
    assert!(
        decoded["warning"]
            .as_str()
            .unwrap()
            .contains("NOT verified")
    );
    assert_eq!(app.get("/echo/jwt?token=opaque").await.status(), 400);
}

#[tokio::test]
async fn cookies_are_set_listed_and_deleted() {
    let app = app().await;
    let client = no_redirects();
    let set = client
        .get(app.url("/echo/cookies/set?flavour=oat&size=big"))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 302);
    assert_eq!(set.headers()["location"], "/echo/cookies");
    let cookies: Vec<_> = set.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies.len(), 2);
    assert!(cookies[0].to_str().unwrap().starts_with("flavour=oat"));

    let listed = client
        .get(app.url("/echo/cookies"))
        .header("cookie", "flavour=oat; size=big")
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(listed).await,
        json!({"cookies": {"flavour": "oat", "size": "big"}})
    );
    let deleted = client
        .get(app.url("/echo/cookies/delete?flavour"))
        .send()
        .await
        .unwrap();
    assert!(
        deleted.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let bad = client
        .get(app.url("/echo/cookies/set?a=b%3Bc"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn redirects_chain_down_to_get_and_redirect_to_honours_the_allow_list() {
    let app = app().await;
    let client = no_redirects();
    let first = client
        .get(app.url("/echo/redirect/2"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 302);
    // httpbin's chain: on through /relative-redirect, with Werkzeug's little page.
    assert_eq!(first.headers()["location"], "/echo/relative-redirect/1");
    assert!(
        first
            .text()
            .await
            .unwrap()
            .contains(r#"<a href="/echo/relative-redirect/1">"#)
    );
    let absolute_chain = client
        .get(app.url("/echo/redirect/2?absolute=TRUE"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        absolute_chain.headers()["location"],
        format!("http://{}/echo/absolute-redirect/1", app.addr).as_str()
    );
    let followed = app.get("/echo/redirect/3").await;
    assert_eq!(followed.status(), 200);
    assert!(followed.url().path().ends_with("/echo/get"));
    let absolute = client
        .get(app.url("/echo/absolute-redirect/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        absolute.headers()["location"],
        format!("http://{}/echo/get", app.addr).as_str()
    );

    let to = |target: &str| app.url(&format!("/echo/redirect-to?url={target}&status_code=307"));
    let local = client.get(to("/echo/get")).send().await.unwrap();
    assert_eq!(local.status(), 307);
    let allowed = client
        .get(to("https://allowed.test/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.headers()["location"], "https://allowed.test/x");
    let refused = client
        .get(to("https://elsewhere.test/"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let protocol_relative = client.get(to("//elsewhere.test/")).send().await.unwrap();
    assert_eq!(protocol_relative.status(), 403);
    assert_eq!(app.get("/echo/redirect/0").await.status(), 400);
}

#[tokio::test]
async fn compressed_routes_are_encoded_as_they_say() {
    let app = app().await;
    // The harness client does not decompress, so the raw bytes are checked.
    for (path, flag) in [
        ("/echo/gzip", "gzipped"),
        ("/echo/deflate", "deflated"),
        ("/echo/brotli", "brotli"),
    ] {
        let response = app.get(path).await;
        let encoding = response.headers()["content-encoding"]
            .to_str()
            .unwrap()
            .to_owned();
        let raw = response.bytes().await.unwrap();
        let mut text = String::new();
        match encoding.as_str() {
            "gzip" => flate2::read::GzDecoder::new(&raw[..]).read_to_string(&mut text),
            "deflate" => flate2::read::ZlibDecoder::new(&raw[..]).read_to_string(&mut text),
            "br" => brotli::Decompressor::new(&raw[..], 4096).read_to_string(&mut text),
            other => panic!("{path}: unexpected encoding {other}"),
        }
        .unwrap();
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body[flag], true, "{path}");
    }
}

#[tokio::test]
async fn uuid_cache_and_etag_follow_httpbin() {
    let app = app().await;
    let uuid = json_of(app.get("/echo/uuid").await).await;
    assert!(uuid::Uuid::parse_str(uuid["uuid"].as_str().unwrap()).is_ok());

    let cache = app.get("/echo/cache").await;
    assert!(cache.headers().contains_key("etag"));
    assert!(cache.headers().contains_key("last-modified"));
    let conditional = app.get_with("/echo/cache", "if-none-match", "\"x\"").await;
    assert_eq!(conditional.status(), 304);
    let cached = app.get("/echo/cache/60").await;
    assert_eq!(cached.headers()["cache-control"], "public, max-age=60");

    let etag = app.get("/echo/etag/abc").await;
    assert_eq!(etag.headers()["etag"], "\"abc\"");
    let match_none = |value: &'static str| {
        app.client
            .get(app.url("/echo/etag/abc"))
            .header("if-none-match", value)
            .send()
    };
    assert_eq!(match_none("\"abc\"").await.unwrap().status(), 304);
    assert_eq!(match_none("\"other\"").await.unwrap().status(), 200);
    let stale = app
        .get_with("/echo/etag/abc", "if-match", "\"other\"")
        .await;
    assert_eq!(stale.status(), 412);
}

#[tokio::test]
async fn response_headers_sets_each_query_parameter() {
    let app = app().await;
    let response = app
        .get("/echo/response-headers?X-One=1&X-Two=2&X-Two=3")
        .await;
    let values: Vec<_> = response.headers().get_all("x-two").iter().collect();
    assert_eq!(values, ["2", "3"]);
    assert_eq!(response.headers()["x-one"], "1");
    let body = json_of(response).await;
    assert_eq!(body["X-Two"], json!(["2", "3"]));
    let bad = app.get("/echo/response-headers?bad%20name=1").await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn echo_controls_set_status_headers_and_refuse_bad_values() {
    let app = app().await;
    let response = app
        .client
        .post(app.url("/echo/anything/x"))
        .header("x-echo-status", "503")
        .header("x-echo-header", "Retry-After: 7")
        .header("x-echo-delay-ms", "5")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "7");
    let by_query = app
        .get("/echo/anything?echo_status=202&echo_header=X-A:%20b")
        .await;
    assert_eq!(by_query.status(), 202);
    assert_eq!(by_query.headers()["x-a"], "b");
    for (name, value) in [
        ("x-echo-status", "999"),
        ("x-echo-delay-ms", "-5"),
        ("x-echo-header", "nocolon"),
    ] {
        let response = app
            .client
            .get(app.url("/echo/anything"))
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{name}: {value}");
    }
}

#[tokio::test]
async fn sse_sends_numbered_events_and_resumes_after_last_event_id() {
    let app = app().await;
    let response = app.get("/echo/sse?count=3&interval_ms=1").await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.unwrap();
    let ids: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .collect();
    assert_eq!(ids, ["0", "1", "2"]);
    let resumed = app
        .get_with("/echo/sse?count=3&interval_ms=1", "last-event-id", "1")
        .await
        .text()
        .await
        .unwrap();
    let ids: Vec<&str> = resumed
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .collect();
    assert_eq!(ids, ["2"]);
}

#[tokio::test]
async fn sse_resuming_after_the_largest_id_sends_nothing() {
    let app = app().await;
    // The id after u64::MAX once overflowed.
    let response = app
        .get_with(
            "/echo/sse?count=3&interval_ms=1",
            "last-event-id",
            "18446744073709551615",
        )
        .await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(!text.contains("id: "), "{text}");
}

#[tokio::test]
async fn sse_sends_at_most_max_events() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.echo.max_events = 2)
        .await
        .unwrap();
    let text = app
        .get("/echo/sse?count=5&interval_ms=1")
        .await
        .text()
        .await
        .unwrap();
    let data: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(
        data,
        [r#"{"id":0,"count":2}"#, r#"{"id":1,"count":2}"#],
        "echo.max_events cuts count"
    );
}

#[tokio::test]
async fn websocket_echo_sends_back_text_and_binary_messages() {
    use tokio_tungstenite::tungstenite::Message;
    let app = app().await;
    let url = format!("ws://{}/echo/websocket/echo", app.addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("upgrade");
    socket.send(Message::text("héllo")).await.unwrap();
    socket
        .send(Message::binary(vec![0u8, 255, 1]))
        .await
        .unwrap();
    let first = socket.next().await.unwrap().unwrap();
    let second = socket.next().await.unwrap().unwrap();
    assert_eq!(first, Message::text("héllo"));
    assert_eq!(second, Message::binary(vec![0u8, 255, 1]));
    socket.close(None).await.unwrap();
    // A plain GET is told it needs an upgrade.
    assert_eq!(app.get("/echo/websocket/echo").await.status(), 400);
}

#[tokio::test]
async fn every_echo_route_is_in_the_openapi_document() {
    let app = app().await;
    let spec = json_of(app.get("/openapi.json").await).await;
    let paths = spec["paths"].as_object().unwrap();
    for path in [
        "/echo/anything",
        "/echo/anything/{path}",
        "/echo/get",
        "/echo/post",
        "/echo/put",
        "/echo/patch",
        "/echo/delete",
        "/echo/headers",
        "/echo/ip",
        "/echo/user-agent",
        "/echo/status/{codes}",
        "/echo/delay/{seconds}",
        "/echo/bytes/{n}",
        "/echo/stream/{n}",
        "/echo/drip",
        "/echo/base64/{value}",
        "/echo/base64/decode/{value}",
        "/echo/base64/encode/{value}",
        "/echo/basic-auth/{user}/{password}",
        "/echo/hidden-basic-auth/{user}/{password}",
        "/echo/bearer",
        "/echo/jwt",
        "/echo/cookies",
        "/echo/cookies/set",
        "/echo/cookies/set/{name}/{value}",
        "/echo/cookies/delete",
        "/echo/redirect/{n}",
        "/echo/relative-redirect/{n}",
        "/echo/absolute-redirect/{n}",
        "/echo/redirect-to",
        "/echo/gzip",
        "/echo/deflate",
        "/echo/brotli",
        "/echo/uuid",
        "/echo/cache",
        "/echo/cache/{seconds}",
        "/echo/etag/{etag}",
        "/echo/response-headers",
        "/echo/stream-bytes/{n}",
        "/echo/range/{numbytes}",
        "/echo/links/{n}/{offset}",
        "/echo/links/{n}",
        "/echo/json",
        "/echo/html",
        "/echo/xml",
        "/echo/robots.txt",
        "/echo/deny",
        "/echo/encoding/utf8",
        "/echo/forms/post",
        "/echo/image",
        "/echo/image/png",
        "/echo/image/jpeg",
        "/echo/image/webp",
        "/echo/image/svg",
        "/echo/digest-auth/{qop}/{user}/{passwd}",
        "/echo/digest-auth/{qop}/{user}/{passwd}/{algorithm}",
        "/echo/digest-auth/{qop}/{user}/{passwd}/{algorithm}/{stale_after}",
        "/echo/hostname",
        "/echo/dump/request",
        "/echo/env",
        "/echo/version",
        "/echo/head",
        "/echo/upload",
        "/echo/trailers",
        "/echo/jsonl",
        "/echo/sse",
        "/echo/websocket/echo",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from /openapi.json"
        );
    }
}

#[tokio::test]
async fn the_prefix_is_a_setting() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.echo.prefix = "/httpbin".into())
        .await
        .unwrap();
    assert_eq!(app.get("/httpbin/get").await.status(), 200);
    assert_eq!(app.get("/echo/get").await.status(), 404);
}

// ---------------------------------------------------------------- framing headers

/// Every hop-by-hop or framing header, in the spellings a client might use.
const FRAMING_HEADERS: [(&str, &str); 9] = [
    ("Content-Length", "5"),
    ("content-length", "5000"),
    ("Transfer-Encoding", "chunked"),
    ("CONNECTION", "close"),
    ("Keep-Alive", "timeout=5"),
    ("Upgrade", "websocket"),
    ("te", "trailers"),
    ("Trailer", "X-Sum"),
    ("Proxy-Connection", "keep-alive"),
];

async fn assert_refused_naming(response: reqwest::Response, name: &str, how: &str) {
    assert_eq!(response.status(), 400, "{how}");
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8",
        "{how}"
    );
    let detail = response.text().await.unwrap_or_default();
    assert!(detail.contains(name), "{how}: {detail}");
}

#[tokio::test]
async fn framing_and_hop_by_hop_headers_asked_for_are_refused_naming_the_header() {
    let app = app().await;
    for (name, value) in FRAMING_HEADERS {
        let query = format!("/echo/response-headers?X-Fine=1&{name}={value}");
        assert_refused_naming(app.get(&query).await, name, &query).await;

        let line = format!("{name}: {value}");
        let by_header = app.get_with("/echo/anything", "x-echo-header", &line).await;
        assert_refused_naming(by_header, name, &format!("x-echo-header {line}")).await;

        let encoded: String = form_urlencoded::byte_serialize(line.as_bytes()).collect();
        let by_query = app
            .get(&format!("/echo/anything?echo_header={encoded}"))
            .await;
        assert_refused_naming(by_query, name, &format!("echo_header {line}")).await;
    }
}

/// Reads HTTP/1.1 responses off one connection, each exactly as long as its
/// `Content-Length` says, keeping what follows for the next one.
struct ResponseReader {
    stream: tokio::net::TcpStream,
    received: Vec<u8>,
}

impl ResponseReader {
    async fn send(&mut self, request: &str) {
        use tokio::io::AsyncWriteExt as _;
        self.stream.write_all(request.as_bytes()).await.unwrap();
    }

    /// The next response's status line, headers (lower-cased) and body.
    async fn next_response(&mut self) -> (String, String, Vec<u8>) {
        use tokio::io::AsyncReadExt as _;
        loop {
            if let Some(end) = self.received.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.received[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .map_or(0, |value| value.trim().parse::<usize>().expect("a length"));
                let body_start = end + 4;
                if self.received.len() >= body_start + length {
                    let body = self.received[body_start..body_start + length].to_vec();
                    self.received.drain(..body_start + length);
                    let (status, headers) = head.split_once("\r\n").unwrap_or((&head, ""));
                    return (status.to_owned(), headers.to_owned(), body);
                }
            }
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(20), self.stream.read(&mut buf))
                .await
                .expect("a whole response in time")
                .expect("read");
            assert!(n > 0, "connection closed before a whole response");
            self.received.extend_from_slice(&buf[..n]);
        }
    }
}

/// A client asking for `Content-Length: 5` once made the server frame a
/// longer body with it: the rest landed where the next response belongs.
#[tokio::test]
async fn a_framing_header_asked_for_never_desynchronises_a_kept_alive_connection() {
    let app = app().await;
    let mut connection = ResponseReader {
        stream: tokio::net::TcpStream::connect(app.addr).await.unwrap(),
        received: Vec::new(),
    };
    let asks = [
        "GET /echo/response-headers?Content-Length=5 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /echo/anything HTTP/1.1\r\nHost: x\r\nx-echo-header: Content-Length: 5\r\n\r\n",
        "GET /echo/anything HTTP/1.1\r\nHost: x\r\nx-echo-header: Transfer-Encoding: chunked\r\n\r\n",
        // A 1xx cannot end a request; a 101 switched the connection's protocol,
        // and the next request on it went unanswered.
        "GET /echo/status/101 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /echo/status/100 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /echo/anything HTTP/1.1\r\nHost: x\r\nx-echo-status: 101\r\n\r\n",
    ];
    for ask in asks {
        connection.send(ask).await;
        let (status, headers, body) = connection.next_response().await;
        assert!(status.starts_with("http/1.1 400"), "{ask}: {status}");
        assert!(!headers.contains("transfer-encoding"), "{ask}: {headers}");
        // The refusal's whole text, read to its length: the connection stays in step.
        assert!(!body.is_empty(), "{ask}");
        assert!(
            headers.contains("content-type: text/plain"),
            "{ask}: {headers}"
        );

        connection
            .send("GET /echo/get?next=1 HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let (status, _, body) = connection.next_response().await;
        assert!(status.starts_with("http/1.1 200"), "after {ask}: {status}");
        let next: Value = serde_json::from_slice(&body).expect("a whole JSON body");
        assert_eq!(next["args"]["next"], "1", "after {ask}");
    }
}

// ---------------------------------------------------------------- redirect targets

/// What `/redirect-to` should do with a target.
#[derive(Debug)]
enum Outcome {
    /// `302` with this `Location`.
    Lands(&'static str),
    /// Refused with this status.
    Refused(u16),
}

/// Each target as a browser would read it (WHATWG URL parsing, relative to
/// `/echo/redirect-to` on this server), with `allowed.test` on the allow list.
#[tokio::test]
async fn redirect_to_judges_each_target_where_a_browser_would_go() {
    use Outcome::{Lands, Refused};
    let cases: &[(&str, Outcome)] = &[
        ("/echo/get", Lands("/echo/get")),
        ("/echo/get?a=1#top", Lands("/echo/get?a=1#top")),
        ("get", Lands("/echo/get")),
        (" \t/echo/get\t\n ", Lands("/echo/get")),
        ("/%2F/evil.example", Lands("/%2F/evil.example")),
        // `http:` plus a relative path stays on this server, as in a browser.
        ("http:evil.example", Lands("/echo/evil.example")),
        ("HTTPS://ALLOWED.TEST/x", Lands("https://allowed.test/x")),
        (
            "https://allowed.test:8443/x?y=1",
            Lands("https://allowed.test:8443/x?y=1"),
        ),
        (
            "https://allowed.test/x\ty",
            Lands("https://allowed.test/xy"),
        ),
        ("//allowed.test/x", Lands("http://allowed.test/x")),
        // Tabs and newlines vanish anywhere; leading controls and spaces too.
        ("/\t/evil.example", Refused(403)),
        ("/\n/evil.example", Refused(403)),
        ("/\r\n/evil.example", Refused(403)),
        ("\t//evil.example", Refused(403)),
        (" //evil.example", Refused(403)),
        ("\u{1}//evil.example", Refused(403)),
        // Backslashes are slashes in http and https.
        ("/\\evil.example", Refused(403)),
        ("\\\\evil.example", Refused(403)),
        ("/\\/evil.example", Refused(403)),
        ("https:/\\evil.example", Refused(403)),
        ("https://evil.example\\@allowed.test/", Refused(403)),
        // Scheme-relative and scheme-only forms name another host.
        ("//evil.example", Refused(403)),
        ("https:evil.example", Refused(403)),
        ("https://allowed.test.evil.example/", Refused(403)),
        // Userinfo is not the host.
        ("https://allowed.test@evil.example/", Refused(403)),
        ("//allowed.test@evil.example", Refused(403)),
        ("https://evil.example#@allowed.test", Refused(403)),
        // IPv6 hosts.
        ("https://[::1]/", Refused(403)),
        ("http://[::ffff:127.0.0.1]/x", Refused(403)),
        // Not http(s), whatever the spelling.
        ("javascript:alert(1)", Refused(400)),
        ("JaVaScRiPt:alert(1)", Refused(400)),
        ("\tjavascript:alert(1)", Refused(400)),
        ("java\nscript:alert(1)", Refused(400)),
        ("data:text/html,x", Refused(400)),
        // A path that would read as `//host` once sent.
        ("/.//evil.example", Refused(400)),
        ("/x/..//evil.example", Refused(400)),
        ("http://evil .example/", Refused(400)),
    ];
    let app = app().await;
    let client = no_redirects();
    for (target, outcome) in cases {
        let encoded: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
        let response = client
            .get(app.url(&format!("/echo/redirect-to?url={encoded}")))
            .send()
            .await
            .unwrap();
        match outcome {
            Lands(location) => {
                assert_eq!(response.status(), 302, "{target:?}");
                assert_eq!(response.headers()["location"], *location, "{target:?}");
            }
            Refused(status) => {
                assert_eq!(response.status(), *status, "{target:?}");
                assert!(!response.headers().contains_key("location"), "{target:?}");
            }
        }
    }
}

// ---------------------------------------------------------------- documents and generated data

#[tokio::test]
async fn fixed_documents_have_httpbin_bodies_and_types() {
    let app = app().await;
    for (path, content_type, starts) in [
        ("/echo/json", "application/json", "{"),
        ("/echo/html", "text/html; charset=utf-8", "<!DOCTYPE html>"),
        ("/echo/xml", "application/xml", "<?xml version='1.0'"),
        (
            "/echo/robots.txt",
            "text/plain",
            "User-agent: *\nDisallow: /echo/deny\n",
        ),
        ("/echo/deny", "text/plain", "\n          .-''''''-."),
        (
            "/echo/encoding/utf8",
            "text/html; charset=utf-8",
            "<h1>Unicode Demo</h1>",
        ),
        (
            "/echo/forms/post",
            "text/html; charset=utf-8",
            "<!DOCTYPE html>",
        ),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], content_type, "{path}");
        let body = response.text().await.unwrap();
        assert!(body.starts_with(starts), "{path}: {body:.80}");
    }
    let slideshow = json_of(app.get("/echo/json").await).await;
    assert_eq!(slideshow["slideshow"]["title"], "Sample Slide Show");
    let form = app.get("/echo/forms/post").await.text().await.unwrap();
    assert!(form.contains(r#"action="/echo/post""#), "{form}");
}

#[tokio::test]
async fn image_answers_by_accept_and_406_for_none_it_has() {
    let app = app().await;
    let image_type = |accept: Option<&'static str>| {
        let mut request = app.client.get(app.url("/echo/image"));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let content_type = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            let body = response.bytes().await.unwrap();
            (status, content_type, body)
        }
    };
    // (reqwest always sends an `Accept`; the differential test covers a request without one.)
    let (status, content_type, body) = image_type(Some("image/png")).await;
    assert_eq!((status, content_type.as_str()), (200, "image/png"));
    assert!(body.starts_with(b"\x89PNG"));
    // `*/*` accepts any type: PNG (httpbin refuses it).
    assert_eq!(image_type(Some("*/*")).await.1, "image/png");
    // No media range at all: ignored, as if absent.
    assert_eq!(image_type(Some("0")).await.1, "image/png");
    assert_eq!(image_type(Some("image/webp")).await.1, "image/webp");
    assert_eq!(image_type(Some("image/svg+xml")).await.1, "image/svg+xml");
    assert_eq!(image_type(Some("IMAGE/JPEG")).await.1, "image/jpeg");
    assert_eq!(image_type(Some("image/*")).await.1, "image/png");
    let (status, content_type, body) = image_type(Some("text/html")).await;
    assert_eq!((status, content_type.as_str()), (406, "application/json"));
    let refusal: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(refusal["accept"][0], "image/webp");
    for (path, content_type, magic) in [
        ("/echo/image/png", "image/png", &b"\x89PNG"[..]),
        ("/echo/image/jpeg", "image/jpeg", &b"\xff\xd8"[..]),
        ("/echo/image/webp", "image/webp", &b"RIFF"[..]),
        ("/echo/image/svg", "image/svg+xml", &b"<svg"[..]),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.headers()["content-type"], content_type);
        assert!(response.bytes().await.unwrap().starts_with(magic), "{path}");
    }
}

#[tokio::test]
async fn range_serves_parts_of_a_fixed_resource() {
    let app = app().await;
    let ranged = |range: Option<&'static str>, path: &'static str| {
        let mut request = app.client.get(app.url(path));
        if let Some(range) = range {
            request = request.header("range", range);
        }
        request.send()
    };
    let whole = ranged(None, "/echo/range/30").await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["etag"], "\"range30\"");
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.headers()["content-range"], "bytes 0-29/30");
    assert_eq!(
        whole.text().await.unwrap(),
        "abcdefghijklmnopqrstuvwxyzabcd"
    );
    let part = ranged(Some("bytes=24-27"), "/echo/range/30").await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], "bytes 24-27/30");
    assert_eq!(part.text().await.unwrap(), "yzab");
    let suffix = ranged(Some("bytes=-2"), "/echo/range/30").await.unwrap();
    assert_eq!(suffix.text().await.unwrap(), "cd");
    let outside = ranged(Some("bytes=40-"), "/echo/range/30").await.unwrap();
    assert_eq!(outside.status(), 416);
    assert_eq!(outside.headers()["content-range"], "bytes */30");
    let too_big = ranged(None, "/echo/range/102401").await.unwrap();
    assert_eq!(too_big.status(), 404);
    assert_eq!(
        too_big.text().await.unwrap(),
        "number of bytes must be in the range (0, 102400]"
    );
    // Spread over a duration, in chunks: the same bytes.
    let slow = ranged(
        Some("bytes=0-9"),
        "/echo/range/30?duration=0.05&chunk_size=3",
    )
    .await
    .unwrap();
    assert_eq!(slow.status(), 206);
    assert_eq!(slow.text().await.unwrap(), "abcdefghij");
}

#[tokio::test]
async fn stream_bytes_sends_n_bytes_repeatable_with_a_seed() {
    let app = app().await;
    let first = app.get("/echo/stream-bytes/100?seed=7&chunk_size=9").await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["content-type"], "application/octet-stream");
    let first = first.bytes().await.unwrap();
    assert_eq!(first.len(), 100);
    let again = app
        .get("/echo/stream-bytes/100?seed=7")
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(first, again);
    let capped = app
        .get("/echo/stream-bytes/200000")
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(capped.len(), 102_400);
    assert_eq!(app.get("/echo/stream-bytes/10?seed=x").await.status(), 400);
}

#[tokio::test]
async fn links_pages_link_to_each_other() {
    let app = app().await;
    let page = app.get("/echo/links/3/1").await;
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(
        page.text().await.unwrap(),
        "<html><head><title>Links</title></head><body>\
         <a href='/echo/links/3/0'>0</a> 1 <a href='/echo/links/3/2'>2</a> </body></html>"
    );
    let first = no_redirects()
        .get(app.url("/echo/links/4"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 302);
    assert_eq!(first.headers()["location"], "/echo/links/4/0");
}

#[tokio::test]
async fn status_answers_carry_httpbin_extras() {
    let app = app().await;
    let teapot = app.get("/echo/status/418").await;
    assert_eq!(
        teapot.headers()["x-more-info"],
        "http://tools.ietf.org/html/rfc2324"
    );
    assert!(teapot.text().await.unwrap().contains("-=[ teapot ]=-"));
    let proxy = app.get("/echo/status/407").await;
    assert_eq!(
        proxy.headers()["proxy-authenticate"],
        "Basic realm=\"Fake Realm\""
    );
    // Weights are numbers, as httpbin's: a fraction picks, a zero never does.
    for _ in 0..5 {
        assert_eq!(app.status("/echo/status/201:0,202:0.5").await, 202);
    }
    assert_eq!(app.status("/echo/status/201:0").await, 400);
    let not_acceptable = app.get("/echo/status/406").await;
    assert_eq!(not_acceptable.headers()["content-type"], "application/json");
}

// ---------------------------------------------------------------- browsers and refusals

#[tokio::test]
async fn every_answer_carries_cors_headers_and_options_is_a_preflight() {
    let app = app().await;
    let plain = app.get("/echo/get").await;
    assert_eq!(plain.headers()["access-control-allow-origin"], "*");
    assert_eq!(plain.headers()["access-control-allow-credentials"], "true");
    let from_page = app
        .get_with("/echo/status/500", "origin", "https://app.example")
        .await;
    assert_eq!(
        from_page.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    for path in [
        "/echo/get",
        "/echo/anything/x",
        "/echo/post",
        "/echo/status/418",
    ] {
        let preflight = app
            .client
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("origin", "https://app.example")
            .header("access-control-request-method", "PUT")
            .header("access-control-request-headers", "X-Custom")
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), 200, "{path}");
        let headers = preflight.headers();
        assert_eq!(
            headers["access-control-allow-origin"],
            "https://app.example"
        );
        assert_eq!(
            headers["access-control-allow-methods"],
            "GET, POST, PUT, DELETE, PATCH, OPTIONS"
        );
        assert_eq!(headers["access-control-allow-headers"], "X-Custom");
        assert_eq!(headers["access-control-max-age"], "3600");
        // The route's own methods, as its 405 would list them.
        assert!(!headers["allow"].is_empty(), "{path}");
        assert!(preflight.bytes().await.unwrap().is_empty(), "{path}");
    }
}

#[tokio::test]
async fn cors_can_be_turned_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.echo.cors = false)
        .await
        .unwrap();
    let response = app
        .get_with("/echo/get", "origin", "https://app.example")
        .await;
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

#[tokio::test]
async fn refused_methods_get_werkzeugs_page_with_allow() {
    let app = app().await;
    let response = app.client.post(app.url("/echo/get")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert!(
        response.headers()["allow"]
            .to_str()
            .unwrap()
            .contains("GET")
    );
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("<title>405 Method Not Allowed</title>")
    );
}

#[tokio::test]
async fn failed_authentication_answers_as_httpbin() {
    let app = app().await;
    let basic = app.get("/echo/basic-auth/ada/pw").await;
    assert_eq!(basic.status(), 401);
    assert_eq!(
        basic.headers()["www-authenticate"],
        "Basic realm=\"Fake Realm\""
    );
    assert!(basic.bytes().await.unwrap().is_empty());
    let hidden = app.get("/echo/hidden-basic-auth/ada/pw").await;
    assert_eq!(hidden.status(), 404);
    assert!(hidden.bytes().await.unwrap().is_empty());
}

// ---------------------------------------------------------------- digest authentication

/// The `Authorization` an RFC 7616 client sends in answer to `challenge`.
fn digest_authorization(challenge: &str, user: &str, password: &str, uri: &str) -> String {
    use sha2::Digest as _;
    let field = |name: &str| {
        let start = challenge.find(&format!("{name}=")).unwrap() + name.len() + 1;
        let rest = &challenge[start..];
        match rest.strip_prefix('"') {
            Some(quoted) => quoted[..quoted.find('"').unwrap()].to_owned(),
            None => rest.split([',', ' ']).next().unwrap().to_owned(),
        }
    };
    let hex = |data: String| -> String {
        sha2::Sha256::digest(data.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    };
    let (realm, nonce) = (field("realm"), field("nonce"));
    let ha1 = hex(format!("{user}:{realm}:{password}"));
    let ha2 = hex(format!("GET:{uri}"));
    let response = hex(format!("{ha1}:{nonce}:00000001:abcdef:auth:{ha2}"));
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"abcdef\", response=\"{response}\""
    )
}

#[tokio::test]
async fn digest_auth_challenges_then_accepts_the_right_answer_only() {
    let app = app().await;
    let path = "/echo/digest-auth/auth/ada/s3cret/SHA-256";
    let challenge = app.get(path).await;
    assert_eq!(challenge.status(), 401);
    let header = challenge.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        header.starts_with("Digest realm=\"me@kennethreitz.com\""),
        "{header}"
    );
    assert!(
        header.contains("algorithm=SHA-256") && header.contains("qop=\"auth\""),
        "{header}"
    );
    let cookies: Vec<_> = challenge.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies.len(), 2);

    let right = digest_authorization(&header, "ada", "s3cret", path);
    let accepted = app.get_with(path, "authorization", &right).await;
    assert_eq!(accepted.status(), 200);
    assert_eq!(
        json_of(accepted).await,
        json!({"authenticated": true, "user": "ada"})
    );

    for (user, password) in [("ada", "wrong"), ("eve", "s3cret")] {
        let wrong = digest_authorization(&header, user, password, path);
        let refused = app.get_with(path, "authorization", &wrong).await;
        assert_eq!(refused.status(), 401, "{user}:{password}");
    }
    // Answered for another target: refused.
    let elsewhere = digest_authorization(&header, "ada", "s3cret", "/echo/get");
    assert_eq!(
        app.get_with(path, "authorization", &elsewhere)
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn digest_auth_calls_a_replayed_nonce_stale() {
    let app = app().await;
    let path = "/echo/digest-auth/auth/ada/pw/SHA-256";
    let challenge = app.get(path).await;
    let header = challenge.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let answer = digest_authorization(&header, "ada", "pw", path);
    let nonce_start = header.find("nonce=\"").unwrap() + 7;
    let nonce = &header[nonce_start..nonce_start + 64];
    let replayed = app
        .client
        .get(app.url(path))
        .header("authorization", answer)
        .header("cookie", format!("last_nonce={nonce}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 401);
    assert!(
        replayed.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .ends_with("stale=True")
    );
}

// ---------------------------------------------------------------- go-httpbin's routes

#[tokio::test]
async fn go_httpbin_routes_answer() {
    let app = app().await;
    assert_eq!(
        json_of(app.get("/echo/hostname").await).await,
        json!({"hostname": "echobase"})
    );
    assert_eq!(app.status("/echo/unstable?failure_rate=0").await, 200);
    assert_eq!(app.status("/echo/unstable?failure_rate=1").await, 500);
    assert_eq!(
        app.status("/echo/unstable?seed=3").await,
        app.status("/echo/unstable?seed=3").await
    );
    assert_eq!(app.status("/echo/unstable?failure_rate=2").await, 400);
    let dump = app
        .post_body("/echo/dump/request?x=1", "text/plain", "hello")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        dump.starts_with("POST /echo/dump/request?x=1 HTTP/1.1\r\n"),
        "{dump}"
    );
    assert!(dump.contains("Content-Type: text/plain\r\n"), "{dump}");
    assert!(dump.ends_with("\r\n\r\nhello"), "{dump}");
}

/// go-httpbin takes Go durations wherever httpbin takes seconds.
#[tokio::test]
async fn waits_may_be_go_durations() {
    let app = app().await;
    let started = std::time::Instant::now();
    let response = app.get("/echo/delay/150ms").await;
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    // go-httpbin's report of the wait.
    assert_eq!(
        response.headers()["server-timing"],
        r#"initial_delay;dur=150.00;desc="initial delay""#
    );
    // Longer than echo.max_delay (300 ms here): cut, as a number is.
    assert_eq!(app.get("/echo/delay/1m30s").await.status(), 200);

    let started = std::time::Instant::now();
    let response = app
        .get("/echo/drip?numbytes=3&duration=100ms&delay=.05s")
        .await;
    assert_eq!(response.status(), 200);
    let timing = response.headers()["server-timing"].to_str().unwrap();
    assert!(
        timing.starts_with(
            r#"total_duration;dur=150.00;desc="total request duration", initial_delay;dur=50.00;"#
        ),
        "{timing}"
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"***");
    // The delay, then the last of 3 bytes two thirds into the duration.
    assert!(started.elapsed() >= Duration::from_millis(116));

    let started = std::time::Instant::now();
    let response = app.get("/echo/range/10?duration=100ms").await;
    assert_eq!(response.text().await.unwrap(), "abcdefghij");
    assert!(started.elapsed() >= Duration::from_millis(100));

    for bad in [
        "/echo/delay/-1s",
        "/echo/delay/1sec",
        "/echo/drip?duration=1d",
        "/echo/drip?delay=ms",
        "/echo/range/10?duration=1.2.3s",
    ] {
        assert_refused_naming(app.get(bad).await, "Go duration", bad).await;
    }
}

#[tokio::test]
async fn env_never_shows_the_servers_environment() {
    let app = app().await;
    let response = app.get("/echo/env").await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response).await, json!({"env": {}}));
}

#[tokio::test]
async fn version_names_the_service_and_its_version() {
    let app = app().await;
    assert_eq!(
        json_of(app.get("/echo/version").await).await,
        json!({"service": "echobase", "version": env!("CARGO_PKG_VERSION")})
    );
}

#[tokio::test]
async fn head_answers_head_only() {
    let app = app().await;
    let response = app
        .client
        .head(app.url("/echo/head?a=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let length: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        length > 20,
        "the length of the body a GET would get: {length}"
    );
    assert!(response.bytes().await.unwrap().is_empty());
    let get = app.get("/echo/head").await;
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "HEAD");
}

#[tokio::test]
async fn upload_counts_the_body_without_echoing_it() {
    let app = app().await;
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
    ] {
        let response = app
            .client
            .request(method.clone(), app.url("/echo/upload?n=1"))
            .body(vec![b'x'; 5000])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{method}");
        let body = json_of(response).await;
        assert_eq!(body["bytes_received"], 5000, "{method}");
        assert_eq!(body["method"], method.as_str());
        assert_eq!(body["args"], json!({"n": "1"}));
        assert!(body.get("data").is_none(), "{body}");
    }
    assert_eq!(app.get("/echo/upload").await.status(), 405);
}

/// One raw HTTP/1.1 exchange, read until the server closes: reqwest shows
/// no trailers.
async fn raw_exchange(app: &TestApp, request: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut response))
        .await
        .expect("an answer in time")
        .unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn trailers_follow_the_body_for_a_client_that_accepts_them() {
    let app = app().await;
    let response = raw_exchange(
        &app,
        "GET /echo/trailers?X-Sum=42&Server-Timing=db;dur=3 HTTP/1.1\r\nHost: t\r\n\
         TE: trailers\r\nConnection: close\r\n\r\n",
    )
    .await;
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(head.contains("trailer: x-sum, server-timing"), "{head}");
    assert!(
        !head.contains("x-sum: 42"),
        "a trailer, not a header: {head}"
    );
    let (chunks, trailers) = body.split_once("\r\n0\r\n").unwrap();
    assert!(chunks.contains(r#""method":"GET""#), "{chunks}");
    let trailers = trailers.to_ascii_lowercase();
    assert!(trailers.contains("x-sum: 42\r\n"), "{trailers}");
    assert!(
        trailers.contains("server-timing: db;dur=3\r\n"),
        "{trailers}"
    );

    // Without `TE: trailers` the body comes alone.
    let plain = app.get("/echo/trailers?X-Sum=42").await;
    assert_eq!(plain.status(), 200);
    assert_eq!(json_of(plain).await["args"], json!({"X-Sum": "42"}));

    for (name, value) in [
        ("Content-Type", "text/plain"),
        ("authorization", "x"),
        ("Set-Cookie", "a=b"),
        ("TE", "trailers"),
        ("Connection", "close"),
    ] {
        let query = format!("/echo/trailers?X-Fine=1&{name}={value}");
        assert_refused_naming(app.get(&query).await, name, &query).await;
    }
    assert_eq!(app.get("/echo/trailers?bad%20name=1").await.status(), 400);
}

fn jsonl_ids(text: &str) -> Vec<u64> {
    text.lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn jsonl_streams_count_lines_paced_by_duration_and_delay() {
    let app = app().await;
    let response = app.get("/echo/jsonl?count=3&a=b").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.unwrap();
    assert_eq!(jsonl_ids(&text), [0, 1, 2]);
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["args"], json!({"a": "b", "count": "3"}));
    assert!(
        first["url"]
            .as_str()
            .unwrap()
            .ends_with("/echo/jsonl?count=3&a=b")
    );

    let text = app.get("/echo/jsonl").await.text().await.unwrap();
    assert_eq!(jsonl_ids(&text).len(), 10, "the default count");
    let text = app.get("/echo/jsonl?count=-4").await.text().await.unwrap();
    assert_eq!(jsonl_ids(&text), [0], "a count below 1 sends one line");

    let started = std::time::Instant::now();
    let text = app
        .get("/echo/jsonl?count=3&duration=100ms&delay=0.05&jitter=0.5")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(jsonl_ids(&text), [0, 1, 2]);
    // 50 ms, then two pauses of 50 ms each varied by up to a half.
    assert!(started.elapsed() >= Duration::from_millis(100));

    for (query, name) in [
        ("count=x", "count"),
        ("jitter=2", "jitter"),
        ("jitter=nan", "jitter"),
        ("duration=1d", "1d"),
        ("delay=-1", "-1"),
    ] {
        let path = format!("/echo/jsonl?{query}");
        assert_refused_naming(app.get(&path).await, name, &path).await;
    }
}

#[tokio::test]
async fn jsonl_sends_at_most_max_events_lines() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.echo.max_events = 2)
        .await
        .unwrap();
    let text = app.get("/echo/jsonl?count=50").await.text().await.unwrap();
    assert_eq!(jsonl_ids(&text), [0, 1]);
}

#[tokio::test]
async fn sse_takes_go_httpbins_duration_delay_and_jitter() {
    let app = app().await;
    let started = std::time::Instant::now();
    // `duration` replaces the default pause of a second: 3 events over
    // 100 ms after 50 ms, well inside the 300 ms cap.
    let text = app
        .get("/echo/sse?count=3&duration=100ms&delay=50ms&jitter=0.1")
        .await
        .text()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let ids: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .collect();
    assert_eq!(ids, ["0", "1", "2"]);
    assert!(elapsed >= Duration::from_millis(140), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1000), "{elapsed:?}");
    for (query, name) in [
        ("duration=soon", "soon"),
        ("delay=1x", "1x"),
        ("jitter=-0.1", "jitter"),
    ] {
        let path = format!("/echo/sse?{query}");
        assert_refused_naming(app.get(&path).await, name, &path).await;
    }
}

#[tokio::test]
async fn cookie_attributes_come_from_go_httpbins_attr_parameters() {
    let app = app().await;
    let client = no_redirects();
    let set = client
        .get(app.url(
            "/echo/cookies/set?flavour=oat&attr[Path]=/echo&attr[HttpOnly]=true&attr[SameSite]=Strict",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 302);
    let cookies: Vec<_> = set.headers().get_all("set-cookie").iter().collect();
    assert_eq!(
        cookies,
        ["flavour=oat; Path=/echo; HttpOnly; SameSite=Strict"]
    );

    let deleted = client
        .get(app.url("/echo/cookies/delete?flavour&attr[Path]=/echo"))
        .send()
        .await
        .unwrap();
    let cookies: Vec<_> = deleted.headers().get_all("set-cookie").iter().collect();
    assert_eq!(
        cookies,
        ["flavour=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/echo"]
    );
    // Without them, httpbin's `Path=/` alone.
    let plain = client
        .get(app.url("/echo/cookies/set?a=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.headers()["set-cookie"], "a=1; Path=/");
}

#[tokio::test]
async fn websocket_echo_takes_go_httpbins_size_limits() {
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    let app = app().await;
    let url = format!("ws://{}/echo/websocket/echo?max_message_size=8", app.addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("upgrade");
    socket.send(Message::text("small")).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::text("small")
    );
    socket.send(Message::text("far too large")).await.unwrap();
    match socket.next().await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Size),
        other => panic!("the oversized message was not refused: {other:?}"),
    }
    for (query, name) in [
        ("max_message_size=0", "max_message_size"),
        ("max_fragment_size=x", "max_fragment_size"),
        (
            "max_fragment_size=9&max_message_size=8",
            "max_fragment_size",
        ),
    ] {
        let path = format!("/echo/websocket/echo?{query}");
        assert_refused_naming(app.get(&path).await, name, &path).await;
    }
}
