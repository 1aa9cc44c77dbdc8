//! Property tests of every parser that takes outside input: arbitrary text
//! and structure-aware JSON, each parser must answer (a value or an error)
//! without panicking, and what it accepts must keep its promises.
//!
//! Bounded for CI by proptest's default of 256 cases per property; run them
//! longer with `bench/properties.sh` (`PROPTEST_CASES`).

use echobase::events::model::{self, EventInput, MAX_TEXT_LEN};
use echobase::events::webhooks::payloads::{
    GithubRules, Mapped, cloudevent_events, github_events, gitlab_events, opsgenie_events,
    pagerduty_events,
};
use echobase::messages::model::Digest;
use echobase::mocks::jsonpath::JsonPath;
use echobase::mocks::matcher::Incoming;
use echobase::mocks::parse::stub::{parse_loaded_stub, parse_stub};
use echobase::mocks::template::{Context, JsonTemplate, Syntax, Template};
use echobase::people::query::parse_list_query;
use echobase::setting::parse_size;
use proptest::prelude::*;
use serde_json::Value;

/// Text of any characters, NUL, controls and astral planes included, and
/// sometimes one of the shapes the parsers look for.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,40}",
        Just("2024-05-01T10:00:00Z".to_owned()),
        Just("{{request.query.q}}".to_owned()),
        Just("$.a[0].b".to_owned()),
        "[0-9a-fA-F]{64}",
        "[ -~]{0,8}\u{0}[ -~]{0,8}",
    ]
}

/// Any JSON document, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((any_key(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Object keys: arbitrary, or the names the parsers read.
fn any_key() -> impl Strategy<Value = String> {
    prop_oneof![
        any_text(),
        prop::sample::select(vec![
            "id",
            "time",
            "kind",
            "actor",
            "engineer",
            "service",
            "environment",
            "sha",
            "result",
            "attributes",
            "request",
            "response",
            "url",
            "urlPath",
            "method",
            "status",
            "body",
            "jsonBody",
            "headers",
            "specversion",
            "data",
            "source",
            "type",
            "context",
            "subject",
            "customData",
            "repository",
            "deployment",
            "deployment_status",
            "commits",
            "state",
            "environment_url",
            "object_kind",
        ])
        .prop_map(str::to_owned),
    ]
}

/// Event input shaped like an event: each field present or not, valid or not.
fn event_like() -> impl Strategy<Value = Value> {
    let time = prop_oneof![
        (model::MIN_TIME_MS / 1000..model::MAX_TIME_MS / 1000).prop_map(Value::from),
        any_text().prop_map(Value::String),
        any_json(),
    ];
    let kind = prop_oneof!["[a-z][a-z0-9_.-]{0,70}", any_text()];
    let attributes = prop::collection::vec((any_key(), any_json()), 0..6)
        .prop_map(|pairs| Value::Object(pairs.into_iter().collect()));
    (
        prop::option::of(time),
        prop::option::of(kind),
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "id",
                    "actor",
                    "service",
                    "environment",
                    "sha",
                    "result",
                ]),
                any_text(),
            ),
            0..6,
        ),
        prop::option::of(attributes),
    )
        .prop_map(|(time, kind, texts, attributes)| {
            let mut event = serde_json::Map::new();
            if let Some(time) = time {
                event.insert("time".into(), time);
            }
            if let Some(kind) = kind {
                event.insert("kind".into(), Value::String(kind));
            }
            for (name, text) in texts {
                event.insert(name.into(), Value::String(text));
            }
            if let Some(attributes) = attributes {
                event.insert("attributes".into(), attributes);
            }
            Value::Object(event)
        })
}

proptest! {
    #[test]
    fn timestamps_parse_or_refuse_and_round_trip(text in any_text(), ms in model::MIN_TIME_MS..=model::MAX_TIME_MS) {
        let _ = model::parse_timestamp(&text);
        prop_assert_eq!(model::parse_timestamp(&model::format_rfc3339(ms)), Ok(ms));
    }

    #[test]
    fn an_accepted_event_holds_only_storable_text(json in prop_oneof![any_json(), event_like()]) {
        let Ok(input) = serde_json::from_value::<EventInput>(json) else {
            return Ok(());
        };
        let Ok(event) = input.into_event("") else {
            return Ok(());
        };
        prop_assert_eq!(event.nul_field(), None);
        for text in [&event.actor, &event.service, &event.environment, &event.sha, &event.result]
            .into_iter()
            .flatten()
        {
            prop_assert!(text.len() <= MAX_TEXT_LEN);
            prop_assert!(!text.chars().any(char::is_control));
        }
        prop_assert!((model::MIN_TIME_MS..=model::MAX_TIME_MS).contains(&event.time_ms));
    }

    #[test]
    fn webhook_payloads_map_or_refuse(
        payload in any_json(),
        github_event in prop::sample::select(vec!["deployment_status", "workflow_run", "push", "issues", "ping", "other"]),
        gitlab_hook in prop::sample::select(vec!["Deployment Hook", "Pipeline Hook", "Push Hook", "Other"]),
    ) {
        for mapped in [
            github_events(github_event, &payload, GithubRules { incident_label: "incident", deploy_workflow: "deploy" }),
            gitlab_events(gitlab_hook, &payload),
            cloudevent_events(&payload).map(|(_, mapped)| mapped),
            pagerduty_events(&payload),
            opsgenie_events(&payload),
        ] {
            if let Ok(Mapped::Events(events)) = mapped {
                for event in events {
                    prop_assert!(!event.kind.is_empty());
                }
            }
        }
    }

    #[test]
    fn digests_parse_only_64_hex_characters(text in any_text(), bytes in any::<[u8; 32]>(), upper in any::<bool>()) {
        if let Ok(digest) = Digest::parse(&text) {
            prop_assert_eq!(text.len(), 64);
            prop_assert_eq!(digest.to_upper_hex(), text.to_ascii_uppercase());
        }
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let hex = if upper { hex.to_ascii_uppercase() } else { hex };
        prop_assert_eq!(Digest::parse(&hex).map(|d| d.to_upper_hex()).ok(), Some(hex.to_ascii_uppercase()));
    }

    #[test]
    fn sizes_parse_or_refuse_and_units_multiply(text in any_text(), n in 0usize..1_000_000, unit in 0usize..4) {
        let _ = parse_size(&toml::Value::String(text));
        let (suffix, multiplier) = [("", 1), ("KiB", 1024), ("MiB", 1 << 20), ("GiB", 1 << 30)][unit];
        prop_assert_eq!(parse_size(&toml::Value::String(format!("{n}{suffix}"))), Ok(n * multiplier));
    }

    #[test]
    fn people_query_strings_parse_or_refuse(
        raw in any_text(),
        pairs in prop::collection::vec((
            prop::sample::select(vec!["name", "age", "locale", "sort", "page", "per_page", "cursor", "age[gte]", "name[contains]", "locale[in]", "other"]),
            any_text(),
        ), 0..6),
    ) {
        let _ = parse_list_query(&raw, 100);
        let structured: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        if let Ok(query) = parse_list_query(&structured, 100) {
            prop_assert!(query.window.per_page() <= 100);
        }
    }

    #[test]
    fn mock_templates_paths_and_stubs_parse_or_refuse(text in any_text(), stub in any_json(), document in any_json()) {
        let _ = Template::parse(&text);
        let _ = Template::parse_as(&text, Syntax::Json);
        let _ = JsonTemplate::parse(&document);
        if let Ok(path) = JsonPath::parse(&text) {
            let _ = path.select(&document);
            let _ = path.render(&document);
        }
        let _ = parse_stub(&stub);
        let _ = parse_loaded_stub(&stub);
    }

    #[test]
    fn request_values_fill_json_bodies_without_changing_their_shape(q in any_text(), n in any_text()) {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &q)
            .append_pair("n", &n)
            .finish();
        let headers = axum::http::HeaderMap::new();
        let req = Incoming::new(&axum::http::Method::GET, "/", Some(&query), &headers, b"");
        let ctx = Context::new(&req, &[]);
        // A jsonBody: each placeholder fills its string.
        let body = serde_json::json!({"v": "<{{request.query.q}}>", "{{request.query.n}}": 1});
        let rendered = JsonTemplate::parse(&body).expect("a template").render(&ctx).expect("renders");
        prop_assert_eq!(rendered, serde_json::json!({"v": format!("<{q}>"), n.clone(): 1}));
        // A body sent as JSON: inside a string, escaped; outside, one value.
        let text = Template::parse_as(r#"{"v": "<{{request.query.q}}>", "n": {{request.query.n}}}"#, Syntax::Json)
            .expect("a template")
            .render(&ctx)
            .expect("renders");
        let document: Value = serde_json::from_str(&text).expect("valid JSON");
        let members: Vec<&String> = document.as_object().expect("an object").keys().collect();
        // Members keep the template's order.
        prop_assert_eq!(members, vec!["v", "n"]);
        prop_assert_eq!(&document["v"], &Value::String(format!("<{q}>")));
    }
}
