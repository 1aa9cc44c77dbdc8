//! Templates as WireMock renders them. Where an expected output is
//! WireMock's own, it was read from WireMock 3.13.2 standalone given the
//! same stub and request.

use super::*;
use axum::http::{HeaderMap, HeaderValue, Method};
use serde_json::json;

use crate::mocks::matcher::Origin;

/// Renders `template` for a POST of `body` to `path?query` with an
/// `X-Trace: abc` header, as text.
pub(super) fn render(template: &str, query: &str, body: &str) -> String {
    try_render(template, query, body).unwrap_or_else(|e| panic!("{template}: {e}"))
}

pub(super) fn try_render(template: &str, query: &str, body: &str) -> Result<String, String> {
    let mut headers = HeaderMap::new();
    headers.insert("x-trace", HeaderValue::from_static("abc"));
    headers.insert("host", HeaderValue::from_static("mocks.test:8080"));
    headers.insert("cookie", HeaderValue::from_static("session=s1; theme=dark"));
    let req = Incoming::new(
        &Method::POST,
        "/users/42/edit",
        Some(query),
        &headers,
        body.as_bytes(),
    )
    .with_origin(Origin {
        client_ip: Some([10, 0, 0, 7].into()),
        ..Origin::default()
    });
    let params = json!({"a": "A", "n": {"x": 1}});
    let ctx = Context::new(&req, &[]).with_parameters(&params);
    Template::parse(template)?.render(&ctx)
}

fn r(template: &str) -> String {
    render(
        template,
        "x=1&x=2&y=1",
        r#"{"a":{"b":[1,2],"c":{"d":1}},"l":[{"x":1},2],"s":"str"}"#,
    )
}

#[test]
fn renders_request_parts() {
    let mut headers = HeaderMap::new();
    headers.insert("x-trace", HeaderValue::from_static("abc"));
    let body = br#"{"a": {"b": 7}, "name": "ann"}"#;
    let req = Incoming::new(
        &Method::POST,
        "/users/42/edit",
        Some("x=1&x=2"),
        &headers,
        body,
    );
    let params = vec![("id".to_owned(), "42".to_owned())];
    let ctx = Context::new(&req, &params);
    let t = Template::parse(
        "{{request.path.[0]}}|{{request.path.id}}|{{request.query.x}}|{{request.query.x.[1]}}|\
         {{request.headers.X-Trace}}|{{jsonPath request.body '$.a.b'}}|{{{request.method}}}",
    )
    .unwrap();
    assert_eq!(t.render(&ctx).unwrap(), "users|42|1|2|abc|7|POST");
    assert_eq!(
        Template::parse("{{request.body}}")
            .unwrap()
            .render(&ctx)
            .unwrap(),
        String::from_utf8_lossy(body)
    );
}

#[test]
fn the_model_is_wiremocks() {
    assert_eq!(
        r("{{request.url}}|{{request.path}}|{{request.pathSegments.[1]}}|{{request.method}}"),
        "/users/42/edit?x=1&x=2&y=1|/users/42/edit|42|POST"
    );
    assert_eq!(
        r(
            "{{request.query.x}}|{{request.query.x.[1]}}|{{request.query.nope}}|{{size request.query.x}}"
        ),
        "1|2||2"
    );
    assert_eq!(
        r("{{request.headers.x-trace}}|{{request.headers.X-TRACE}}|{{request.headers.[X-Trace]}}"),
        "abc|abc|abc"
    );
    assert_eq!(
        r("{{request.cookies.session}}|{{request.cookies.theme}}"),
        "s1|dark"
    );
    assert_eq!(
        r(
            "{{request.baseUrl}}|{{request.host}}|{{request.port}}|{{request.scheme}}|{{request.clientIp}}"
        ),
        "http://mocks.test:8080|mocks.test|8080|http|10.0.0.7"
    );
    assert_eq!(r("{{parameters.a}}|{{parameters.n.x}}"), "A|1");
    // A missing field renders empty, as on WireMock.
    assert_eq!(r("<{{request.nope}}{{nothing.at.all}}>"), "<>");
    assert_eq!(
        r("{{#each request.query.x}}<{{this}}>{{/each}}|{{#with request}}{{method}}{{/with}}"),
        "<1><2>|POST"
    );
}

#[test]
fn conditional_helpers() {
    assert_eq!(
        r(
            "{{and true false}}|{{or true false}}|{{not true}}|{{neq 1 2}}|{{gt 2 1}}|{{gte 1 1}}|{{lt 'a' 'b'}}|{{lte 2 1}}|{{eq 1 1}}|{{eq '1' 1}}"
        ),
        "false|true|false|true|true|true|true|false|true|false"
    );
    assert_eq!(
        r("{{#gt 3 2}}Y{{else}}N{{/gt}}|{{#and true true}}Y{{/and}}"),
        "Y|Y"
    );
    // A query parameter is a list: not equal to text (WireMock's quirk).
    assert_eq!(r("{{#eq request.query.y '1'}}Y{{else}}N{{/eq}}"), "N");
    assert_eq!(
        r("{{#if (eq request.path.[1] '42')}}Y{{else}}N{{/if}}"),
        "Y"
    );
    assert_eq!(r("{{#unless request.query.nope}}none{{/unless}}"), "none");
    assert_eq!(
        r(
            "{{contains 'abc' 'b'}}|{{contains (array 'a' 'b') 'b'}}|{{#contains 'abc' 'z'}}Y{{else}}N{{/contains}}"
        ),
        "true|true|"
    );
    assert_eq!(
        r("{{matches 'abc' '[a-c]+'}}|{{matches 'abc' 'b'}}"),
        "true|false"
    );
}

#[test]
fn json_helpers() {
    assert_eq!(
        r("{{jsonPath request.body '$.a'}}"),
        "{\n  \"b\" : [ 1, 2 ],\n  \"c\" : {\n    \"d\" : 1\n  }\n}"
    );
    assert_eq!(r("{{jsonPath request.body '$.l'}}"), r#"[{"x":1},2]"#);
    assert_eq!(
        r("{{jsonPath request.body '$.s'}}|{{jsonPath request.body '$.a.b[1]'}}"),
        "str|2"
    );
    assert_eq!(
        r("<{{jsonPath request.body '$.zz'}}>|{{jsonPath request.body '$.zz' default='d'}}"),
        "<>|d"
    );
    assert_eq!(
        r("{{#each (jsonPath request.body '$.l')}}[{{this}}]{{/each}}"),
        "[{x=1}][2]"
    );
    assert_eq!(
        r("{{toJson (jsonPath request.body '$.a')}}"),
        "{\n  \"b\" : [ 1, 2 ],\n  \"c\" : {\n    \"d\" : 1\n  }\n}"
    );
    assert_eq!(
        r("{{toJson (array 1 'b')}}|{{toJson 'x'}}"),
        r#"[ 1, "b" ]|"x""#
    );
    assert_eq!(
        r(r#"{{parseJson '{"k":[1]}'}}|{{parseJson '[1,2]'}}|{{parseJson '{"a":1}' 'o'}}{{o.a}}"#),
        "{k=[1]}|[1, 2]|1"
    );
    assert_eq!(r("{{#parseJson 'p'}}{\"v\": 5}{{/parseJson}}{{p.v}}"), "5");
    assert_eq!(r("{{jsonPath (parseJson request.body) '$.s'}}"), "str");
    assert!(r("{{jsonPath 'not json' '$.a'}}").starts_with("[ERROR: not json is not valid JSON"));
}

#[test]
fn string_helpers() {
    assert_eq!(
        r(
            "{{upper 'abc'}}|{{lower 'ABC'}}|{{capitalize 'hello world'}}|{{abbreviate 'Hello World here' 10}}|{{defaultIfEmpty '' 'dflt'}}|{{replace 'a-b-c' '-' '+'}}|{{substring 'abcdef' 1 3}}|{{trim '  x  '}}"
        ),
        "ABC|abc|Hello World|Hello W...|dflt|a+b+c|bc|x"
    );
    assert_eq!(
        r(
            "{{capitalize 'hello world' fully=true}}|{{capitalize 'hELLO'}}|{{upper request.query.y}}"
        ),
        "Hello World|HELLO|1"
    );
    assert_eq!(
        r(
            "{{abbreviate 'abc' 10}}|{{substring 'abcdef' 2}}|{{replace 'aaa' 'a' 'b'}}|{{defaultIfEmpty 'x' 'd'}}|{{defaultIfEmpty request.query.zz 'd'}}"
        ),
        "abc|cdef|bbb|x|d"
    );
    assert_eq!(
        r("{{join 'a' 'b' ', '}}|{{join (array 'a' 'b') '-'}}|{{join ',' 'a' 'b'}}"),
        "a, b|a-b|,ba"
    );
    assert_eq!(
        r("{{arrayJoin ',' (array 'a' 'b')}}|{{arrayJoin '-' 'x' 'y' prefix='[' suffix=']'}}"),
        "a,b|[x-y]"
    );
    assert_eq!(
        r("{{#trim}}  x  {{/trim}}|{{#base64}}hi{{/base64}}"),
        "x|aGk="
    );
    assert_eq!(
        r("{{base64 'hi'}}|{{base64 'aGk=' decode=true}}|{{base64 'h' padding=false}}"),
        "aGk=|hi|aA"
    );
    assert_eq!(
        r("{{urlEncode 'a b&c/é'}}|{{urlEncode 'a+b%26c' decode=true}}"),
        "a+b%26c%2F%C3%A9|a b&c"
    );
    assert_eq!(r("{{regexExtract 'abc-123' '[0-9]+'}}"), "123");
    assert_eq!(
        r("{{regexExtract 'abc-123' '([a-z]+)-([0-9]+)' 'p'}}{{p.0}}/{{p.1}}"),
        "abc/123"
    );
    assert_eq!(
        r("{{regexExtract 'abc' '[0-9]+'}}"),
        "[ERROR: Nothing matched [0-9]+]"
    );
    assert_eq!(r("{{regexExtract 'abc' '[0-9]+' default='none'}}"), "none");
    let form = render(
        "{{formData request.body 'f'}}{{f.a}}|{{f.b.[1]}}|{{f.c}}|{{formData request.body 'g' urlDecode=true}}{{g.c}}",
        "",
        "a=1&b=2&b=3&c=x%20y",
    );
    assert_eq!(form, "1|3|x%20y|x y");
}

#[test]
fn value_and_collection_helpers() {
    assert_eq!(
        r(
            "{{math 1 '+' 2}}|{{math 10 '/' 4}}|{{math 1.5 '*' 2}}|{{math 10 '/' 3}}|{{math 2 '-' 5}}|{{math 1 'x' 2}}|{{math '3' '+' '4'}}|{{math 'a' '+' 1}}|{{math 1.5 '/' 2}}|{{math 1.25 '/' 2}}|{{math 7 '%' 2}}"
        ),
        "3|3|3.0|3|-3|2|7|1|0.8|0.63|1"
    );
    assert_eq!(
        r("{{range 1 3}}|{{array 1 'b'}}|{{size (range 1 5)}}|{{size 'abc'}}"),
        "[1, 2, 3]|[1, b]|5|3"
    );
    assert_eq!(
        r(
            "{{val request.query.zz default='d'}}|{{val request.query.y}}|{{val request.query.zz or='o'}}|{{val 'v' assign='k'}}{{k}}"
        ),
        "d|1|o|v"
    );
    assert_eq!(
        r("{{pickRandom (array 'q')}}|{{pickRandom 'q'}}|{{lookup parameters 'a'}}"),
        "q|q|A"
    );
    assert!(["a", "b"].contains(&r("{{pickRandom 'a' 'b'}}").as_str()));
    assert_eq!(r("{{size (pickRandom 'a' 'b' 'c' count=2)}}"), "2");
    for _ in 0..20 {
        let n: i64 = r("{{randomInt lower=1 upper=3}}").parse().unwrap();
        assert!((1..3).contains(&n));
        let d: f64 = r("{{randomDecimal lower=0.5 upper=0.75}}").parse().unwrap();
        assert!((0.5..0.75).contains(&d));
    }
    assert!(!r("{{hostname}}").is_empty());
}

#[test]
fn random_values_are_lower_case_unless_asked() {
    for (template, length, alphabet) in [
        ("{{randomValue length=12 type='NUMERIC'}}", 12, "0123456789"),
        (
            "{{randomValue length=10}}",
            10,
            "abcdefghijklmnopqrstuvwxyz0123456789",
        ),
        (
            "{{randomValue length=8 type='HEXADECIMAL'}}",
            8,
            "0123456789abcdef",
        ),
        (
            "{{randomValue length=8 type='ALPHABETIC' uppercase=true}}",
            8,
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        ),
    ] {
        let value = r(template);
        assert_eq!(value.len(), length, "{template}");
        assert!(
            value.chars().all(|c| alphabet.contains(c)),
            "{template}: {value}"
        );
    }
    assert_eq!(r("{{randomValue}}").len(), 36);
    assert!(uuid::Uuid::parse_str(&r("{{randomValue type='UUID'}}")).is_ok());
    let symbols = r("{{randomValue length=50 type='ALPHANUMERIC_AND_SYMBOLS'}}");
    assert!(
        symbols.chars().all(|c| ('!'..'~').contains(&c)),
        "{symbols}"
    );
}

#[test]
fn dates() {
    let now = r("{{now}}");
    assert_eq!(now.len(), 20, "{now}");
    assert!(now.ends_with('Z'));
    assert_eq!(r("{{now format='yyyy-MM-dd'}}"), now[..10]);
    assert_eq!(
        r("{{parseDate '2021-01-01T00:00:00Z'}}"),
        "2021-01-01T00:00:00Z"
    );
    assert_eq!(
        r("{{date (parseDate '2021-01-01T10:00:00Z') offset='1 days' format='yyyy-MM-dd'}}"),
        "2021-01-02"
    );
    assert_eq!(
        r("{{parseDate '01/02/2021' format='dd/MM/yyyy'}}"),
        "2021-02-01T00:00:00Z"
    );
    assert_eq!(
        r("{{date (parseDate '2021-01-01T10:00:00+02:00')}}"),
        "2021-01-01T10:00:00+02:00"
    );
    assert_eq!(
        r("{{date (parseDate '1609495200' format='unix') format='EEE, dd MMM yyyy HH:mm:ss z'}}"),
        "Fri, 01 Jan 2021 10:00:00 UTC"
    );
    assert_eq!(
        r(
            "{{date (parseDate '2021-01-01T10:00:00Z') timezone='+01:00'}}|{{date (parseDate '2021-01-01T10:00:00Z') format='epoch'}}"
        ),
        "2021-01-01T11:00:00+01:00|1609495200000"
    );
    let unix: i64 = r("{{now offset='-1 hours' format='unix'}}")
        .parse()
        .unwrap();
    let expected = ::time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
    assert!((unix - expected).abs() <= 2);
    assert_eq!(r("<{{parseDate 'garbage'}}>"), "<>");
    assert!(r("{{now timezone='Nowhere/Else'}}").starts_with("[ERROR: Unknown time-zone ID"));
}

fn render_with_query(template: &Template, query: &str) -> String {
    let headers = HeaderMap::new();
    let req = Incoming::new(&Method::GET, "/", Some(query), &headers, b"");
    template.render(&Context::new(&req, &[])).unwrap()
}

#[test]
fn json_text_escapes_each_placeholder_for_where_it_stands() {
    let template = Template::parse_as(
        r#"{"s": "<{{request.query.q}}>", "n": {{request.query.n}}, "after \"quote\" and \\": "{{request.query.q}}"}"#,
        Syntax::Json,
    )
    .unwrap();
    for (q, n, expected_n) in [
        (r#"","admin":true,"x":""#, "7", serde_json::json!(7)),
        (
            "\\\"\n\u{1}",
            r#"1,"admin":true"#,
            serde_json::json!(r#"1,"admin":true"#),
        ),
        ("plain", r#"{"a":[1]}"#, serde_json::json!({"a": [1]})),
        ("", "", serde_json::json!("")),
    ] {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("q", q)
            .append_pair("n", n)
            .finish();
        let text = render_with_query(&template, &query);
        let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(
            value,
            serde_json::json!({"s": format!("<{q}>"), "n": expected_n, "after \"quote\" and \\": q}),
            "{text}"
        );
    }
    // In plain text, output is written as it is.
    let plain = Template::parse(r#"{"s": "{{request.query.q}}"}"#).unwrap();
    assert_eq!(render_with_query(&plain, "q=%22"), r#"{"s": """}"#);
}

#[test]
fn json_text_places_helpers_and_blocks_too() {
    let template = Template::parse_as(
        r#"{"u": "{{upper request.query.q}}", "t": "{{#trim}} {{request.query.q}} {{/trim}}",
            "items": [{{#each request.query.i}}{"v": "{{this}}", "n": {{this}}}{{#unless @last}},{{/unless}}{{/each}}],
            "c": {{#if request.query.q}}"{{request.query.q}}"{{else}}null{{/if}}, "j": {{jsonPath request.query.j '$'}}}"#,
        Syntax::Json,
    )
    .unwrap();
    for q in [r#"","admin":true,"x":""#, "\\", "plain"] {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("q", q)
            .append_pair("i", "1")
            .append_pair("i", r#"2,"x":"#)
            .append_pair("j", r#"{"k":[1]}"#)
            .finish();
        let text = render_with_query(&template, &query);
        let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(
            value,
            json!({"u": q.to_uppercase(), "t": q, "c": q, "j": {"k": [1]},
                   "items": [{"v": "1", "n": 1}, {"v": r#"2,"x":"#, "n": r#"2,"x":"#}]}),
            "{text}"
        );
    }
    // A block that leaves a JSON string open in one branch only is refused.
    let err = Template::parse_as(r#"{"a": {{#if x}}"{{else}}1{{/if}}}"#, Syntax::Json).unwrap_err();
    assert!(err.contains("must end where it started"), "{err}");
}

#[test]
fn json_templates_render_strings_and_keys_as_strings() {
    let body = serde_json::json!({"{{request.query.k}}": ["{{request.query.q}}", 1, {"fixed": "{x}"}], "n": null});
    let template = JsonTemplate::parse(&body).unwrap();
    let headers = HeaderMap::new();
    let req = Incoming::new(&Method::GET, "/", Some("k=%22%7D&q=%5C%22"), &headers, b"");
    let value = template.render(&Context::new(&req, &[])).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"\"}": ["\\\"", 1, {"fixed": "{x}"}], "n": null})
    );
    // Without a placeholder the document is kept whole.
    assert!(matches!(
        JsonTemplate::parse(&serde_json::json!({"a": ["{b}"]})).unwrap(),
        JsonTemplate::Fixed(_)
    ));
    assert!(JsonTemplate::parse(&serde_json::json!({"a": "{{nosuch 1}}"})).is_err());
}

#[test]
fn unknown_helpers_and_bad_templates_are_refused_with_where() {
    for (bad, says) in [
        ("{{#each x}}", "template does not compile"),
        ("{{request.path", "template does not compile"),
        (
            "a\n{{nosuch 1}}",
            "unknown helper `nosuch` (see docs/mocks.md for the helpers) (line 2, column 1)",
        ),
        ("{{#nosuch}}x{{/nosuch}}", "unknown helper `nosuch`"),
        ("{{upper (nosuch 1)}}", "unknown helper `nosuch`"),
        (
            "{{systemValue key='HOME'}}",
            "cannot read the server's environment",
        ),
        ("{{> partial}}", "partials and decorators are not supported"),
    ] {
        let err = Template::parse(bad)
            .err()
            .unwrap_or_else(|| panic!("{bad} compiled"));
        assert!(err.contains(says), "{bad}: {err}");
    }
    // Helpers and fields WireMock has compile; unknown fields render empty.
    for good in [
        "{{math 1 '+' 2}}",
        "{{request.foo}}",
        "{{{request.body}}}",
        "{{!-- comment --}}",
    ] {
        assert!(Template::parse(good).is_ok(), "{good}");
    }
}

#[test]
fn rendering_is_bounded() {
    // Loops that would run for hours stop at the step budget.
    let err = try_render(
        "{{#each (range 1 1000)}}{{#each (range 1 1000)}}{{#each (range 1 1000)}}{{/each}}{{/each}}{{/each}}",
        "",
        "",
    )
    .unwrap_err();
    assert!(err.contains("helper calls and loop iterations"), "{err}");
    let big = try_render("{{range 1 100000000}}", "", "");
    assert!(
        big.as_ref().unwrap_err().contains("loop iterations"),
        "{big:?}"
    );
    // Output that would be gigabytes stops at the output cap, unbuilt.
    let err = try_render("{{randomValue length=100000000}}", "", "").unwrap_err();
    assert!(err.contains("is over"), "{err}");
    let body = "a".repeat(10_000);
    let err = try_render("{{replace request.body 'a' request.body}}", "", &body).unwrap_err();
    assert!(err.contains("is over"), "{err}");
    let err = try_render(
        "{{#each (range 1 5000)}}{{request.body}}{{/each}}",
        "",
        &body,
    )
    .unwrap_err();
    assert!(err.contains("is over"), "{err}");
}

#[test]
fn handlebars_blocks_keep_their_forms() {
    assert_eq!(
        r("{{#if request.query.nope}}a{{else if request.query.y}}b{{else}}c{{/if}}"),
        "b"
    );
    assert_eq!(
        r(
            "{{#each (array 'p' 'q') as |item|}}{{@index}}={{item}}{{#if @last}}.{{else}},{{/if}}{{/each}}"
        ),
        "0=p,1=q."
    );
    assert_eq!(
        r("{{#each request.query.nope}}x{{else}}empty{{/each}}"),
        "empty"
    );
    assert_eq!(
        r("{{#each (range 1 2)}}{{request.path.[1]}}{{/each}}"),
        "4242"
    );
}
