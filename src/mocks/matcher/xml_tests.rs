//! `equalToXml` as WireMock answers it (each case checked against WireMock 3.13).

use super::*;

fn pattern(expected: &str, options: XmlOptions<'_>) -> XmlEquality {
    match XmlEquality::new(expected, &options) {
        Ok(p) => p,
        Err(e) => panic!("{e:?}"),
    }
}

fn similar(expected: &str, actual: &str) -> bool {
    pattern(expected, XmlOptions::default()).distance(actual) == 0.0
}

fn exempting(expected: &str, actual: &str, exempted: &[&str]) -> bool {
    let options = XmlOptions {
        exempted_comparisons: exempted.to_vec(),
        ..XmlOptions::default()
    };
    pattern(expected, options).distance(actual) == 0.0
}

#[test]
fn whitespace_comments_prefixes_and_order_do_not_count() {
    let order = "<order><id>7</id><total>12</total></order>";
    assert!(similar(
        order,
        "<order>\n  <id>7</id>\n  <total>12</total>\n</order>"
    ));
    assert!(similar(
        order,
        "<?xml version=\"1.0\"?><order><total>12</total><id>7</id></order>"
    ));
    assert!(similar(
        order,
        "<order><!-- note --><id>7</id><total>12</total></order>"
    ));
    assert!(similar("<r>x y</r>", "<r>  x y </r>"));
    assert!(
        !similar("<r>x y</r>", "<r>x  y</r>"),
        "inside text, whitespace counts"
    );
    assert!(similar(
        r#"<a one="1" two="2"/>"#,
        r#"<a two="2" one="1"/>"#
    ));
    assert!(similar(
        r#"<t:a xmlns:t="urn:x"><t:b>1</t:b></t:a>"#,
        r#"<s:a xmlns:s="urn:x"><s:b>1</s:b></s:a>"#
    ));
    assert!(similar(
        r#"<a xmlns="urn:x"><b/></a>"#,
        r#"<p:a xmlns:p="urn:x"><p:b/></p:a>"#
    ));
}

#[test]
fn differences_that_count() {
    let order = "<order><id>7</id><total>12</total></order>";
    assert!(!similar(
        order,
        "<order><id>8</id><total>12</total></order>"
    ));
    assert!(!similar("<one>Hello</one>", "<two>Hello</two>"));
    assert!(!similar("<r><a/></r>", "<r><a/><b/></r>"), "an extra child");
    assert!(
        !similar("<r><a/><b/></r>", "<r><a/></r>"),
        "a missing child"
    );
    assert!(
        !similar(r#"<r x="1"/>"#, r#"<r x="1" y="2"/>"#),
        "an extra attribute"
    );
    assert!(!similar(r#"<r x="1"/>"#, r#"<r x="2"/>"#));
    assert!(!similar(r#"<a xmlns="urn:x"/>"#, r#"<a xmlns="urn:y"/>"#));
    assert!(!similar("<r><?p d?></r>", "<r/>"));
    assert!(!similar("<r><?p d?></r>", "<r><?p e?></r>"));
}

#[test]
fn same_named_siblings_keep_their_order_unless_told() {
    let expected = "<body><entry>1</entry><entry>2</entry></body>";
    let swapped = "<body><entry>2</entry><entry>1</entry></body>";
    assert!(!similar(expected, swapped));
    let any_order = XmlOptions {
        ignore_order_of_same_node: true,
        ..XmlOptions::default()
    };
    assert_eq!(pattern(expected, any_order).distance(swapped), 0.0);
    let any_order = XmlOptions {
        ignore_order_of_same_node: true,
        ..XmlOptions::default()
    };
    let different = "<body><entry>1</entry><entry>3</entry></body>";
    assert!(pattern(different, any_order).distance(swapped) > 0.0);
    let any_order = XmlOptions {
        ignore_order_of_same_node: true,
        ..XmlOptions::default()
    };
    let mixed = "<body><entry>1</entry><entry>2</entry><other>2</other></body>";
    let mixed_swapped = "<body><entry>2</entry><other>2</other><entry>1</entry></body>";
    assert_eq!(pattern(mixed, any_order).distance(mixed_swapped), 0.0);
}

#[test]
fn exempted_comparisons_no_longer_count() {
    assert!(exempting(
        "<a><b>1</b></a>",
        "<a><c>1</c></a>",
        &["ELEMENT_TAG_NAME"]
    ));
    assert!(exempting("<a>1</a>", "<z>1</z>", &["ELEMENT_TAG_NAME"]));
    let ns = r#"<n:a xmlns:n="urn:x">1</n:a>"#;
    let other_ns = r#"<n:a xmlns:n="urn:y">1</n:a>"#;
    assert!(!similar(ns, other_ns));
    assert!(exempting(ns, other_ns, &["NAMESPACE_URI"]));
    assert!(exempting(
        &format!("<r>{ns}</r>"),
        &format!("<r>{other_ns}</r>"),
        &["NAMESPACE_URI"]
    ));
    let xsi = r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#;
    let located = format!(r#"<r {xsi} xsi:schemaLocation="a b"/>"#);
    let elsewhere = format!(r#"<r {xsi} xsi:schemaLocation="a c"/>"#);
    assert!(!similar(&located, &elsewhere));
    assert!(exempting(&located, &elsewhere, &["SCHEMA_LOCATION"]));
    assert!(
        similar("<r/>", &elsewhere),
        "only an expected location is compared"
    );
    assert!(exempting("<r>1</r>", "<r>2</r>", &["TEXT_VALUE"]));
    assert!(exempting(r#"<r x="1"/>"#, r#"<r x="2"/>"#, &["ATTR_VALUE"]));
    assert!(exempting(
        "<r><a/></r>",
        "<r><a/><b/></r>",
        &["CHILD_NODELIST_LENGTH"]
    ));
}

#[test]
fn placeholders_stand_for_values_when_enabled() {
    let expected = r#"<order id="${xmlunit.isNumber}"><ref>${xmlunit.ignore}</ref><code>${xmlunit.matchesRegex(^[A-Z]{3}$)}</code></order>"#;
    let enabled = || XmlOptions {
        enable_placeholders: true,
        ..XmlOptions::default()
    };
    let good = r#"<order id="42"><ref>anything</ref><code>ABC</code></order>"#;
    assert_eq!(pattern(expected, enabled()).distance(good), 0.0);
    assert!(pattern(expected, XmlOptions::default()).distance(good) > 0.0);
    for bad in [
        r#"<order id="x"><ref>anything</ref><code>ABC</code></order>"#,
        r#"<order id="42"><ref>anything</ref><code>ABCD</code></order>"#,
    ] {
        assert!(pattern(expected, enabled()).distance(bad) > 0.0, "{bad}");
    }
    // `ignore` also stands for a missing text or attribute.
    let ignored = r#"<a x="${xmlunit.ignore}">${xmlunit.ignore}</a>"#;
    assert_eq!(pattern(ignored, enabled()).distance("<a/>"), 0.0);
    let delimited = XmlOptions {
        enable_placeholders: true,
        opening_delimiter: Some(r"#\{"),
        closing_delimiter: Some(r"\}"),
        ..XmlOptions::default()
    };
    assert_eq!(
        pattern("<a>#{xmlunit.ignore}</a>", delimited).distance("<a>123</a>"),
        0.0
    );
    let bad_delimiter = XmlOptions {
        opening_delimiter: Some("("),
        ..XmlOptions::default()
    };
    assert!(matches!(
        XmlEquality::new("<a/>", &bad_delimiter),
        Err(XmlPatternError::Delimiters(_))
    ));
}

#[test]
fn near_misses_are_between_match_and_miss() {
    let things = r#"<things><thing c="tepid"/><thing c="tedious"/></things>"#;
    let p = pattern(things, XmlOptions::default());
    let one_missing = p.distance(r#"<things><thing c="tepid"/></things>"#);
    let unrelated = p.distance("<no-things-at-all/>");
    assert!(
        one_missing > 0.0 && one_missing < unrelated,
        "{one_missing} {unrelated}"
    );
    assert_eq!(p.distance("not xml"), 1.0);
    assert_eq!(p.distance(""), 1.0);
}

#[test]
fn documents_are_parsed_with_bounds() {
    // A DTD is read but never fetched.
    let dtd = r#"<!DOCTYPE r SYSTEM "http://127.0.0.1:9/never.dtd"><r>x</r>"#;
    assert!(similar(dtd, "<r>x</r>"));
    let deep = format!(
        "{}{}",
        "<a>".repeat(MAX_XML_DEPTH + 1),
        "</a>".repeat(MAX_XML_DEPTH + 1)
    );
    assert!(parse_document(&deep).is_err());
    let fine = format!(
        "{}{}",
        "<a>".repeat(MAX_XML_DEPTH),
        "</a>".repeat(MAX_XML_DEPTH)
    );
    assert!(parse_document(&fine).is_ok());
    assert!(XmlEquality::new("<a>", &XmlOptions::default()).is_err());
}

#[test]
fn billion_laughs_and_external_entities_are_refused() {
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"#;
    assert!(parse_document(laughs).is_err());
    assert_eq!(
        pattern("<lolz/>", XmlOptions::default()).distance(laughs),
        1.0
    );
    let external = r#"<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<r>&secret;</r>"#;
    assert!(parse_document(external).is_err());
    // An external entity without a declaration of its own is not expanded either.
    let undeclared = r#"<!DOCTYPE r SYSTEM "file:///etc/passwd"><r>&secret;</r>"#;
    assert!(parse_document(undeclared).is_err());
}

/// The three `namespaceAwareness` modes over the same requests, as WireMock
/// 3.13 answered them (a `+` matched, a `-` did not).
#[test]
fn namespace_awareness_compares_names_as_wiremock_does() {
    let expected = r#"<a:root xmlns:a="urn:one"><a:item>1</a:item></a:root>"#;
    let requests = [
        r#"<a:root xmlns:a="urn:one"><a:item>1</a:item></a:root>"#,
        r#"<b:root xmlns:b="urn:one"><b:item>1</b:item></b:root>"#,
        r#"<root xmlns="urn:one"><item>1</item></root>"#,
        r#"<a:root xmlns:a="urn:two"><a:item>1</a:item></a:root>"#,
        "<root><item>1</item></root>",
    ];
    for (names, answers) in [
        (Namespaces::Strict, "+ + + - -"),
        (Namespaces::Prefixed, "+ - - - -"),
        (Namespaces::Ignored, "+ + + + +"),
    ] {
        let equality = pattern(
            expected,
            XmlOptions {
                names,
                ..XmlOptions::default()
            },
        );
        let got: Vec<&str> = requests
            .iter()
            .map(|r| {
                if equality.distance(r) == 0.0 {
                    "+"
                } else {
                    "-"
                }
            })
            .collect();
        assert_eq!(got.join(" "), answers, "{names:?}");
    }
}
