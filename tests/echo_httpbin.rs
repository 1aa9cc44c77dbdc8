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
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"] {
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
async fn a_malformed_multipart_body_is_a_400_problem() {
    let app = app().await;
    let response = app
        .post_body(
            "/echo/post",
            "multipart/form-data; boundary=nope",
            "not multipart at all",
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
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
    assert_eq!(first.headers()["location"], "/echo/redirect/1");
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
        [r#"{"count":2,"id":0}"#, r#"{"count":2,"id":1}"#],
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
        "application/problem+json",
        "{how}"
    );
    let problem = json_of(response).await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(name), "{how}: {problem}");
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
        let problem: Value = serde_json::from_slice(&body).expect("a whole JSON body");
        assert_eq!(problem["status"], 400, "{ask}");

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
