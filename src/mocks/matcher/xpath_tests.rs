//! `matchesXPath` as WireMock answers it (each case checked against WireMock 3.13).

use super::*;

fn query(expression: &str) -> XPathQuery {
    with_namespaces(expression, &[])
}

fn with_namespaces(expression: &str, namespaces: &[(&str, &str)]) -> XPathQuery {
    let namespaces = namespaces
        .iter()
        .map(|(p, u)| ((*p).to_owned(), (*u).to_owned()))
        .collect();
    match XPathQuery::new(expression, namespaces) {
        Ok(q) => q,
        Err(e) => panic!("{e}"),
    }
}

fn equal_to(value: &str) -> StringMatcher {
    StringMatcher::EqualTo {
        value: value.to_owned(),
        case_insensitive: false,
    }
}

const PLANETS: &str = "<solar-system><planet name='Earth' position='3'/><planet name='Venus' position='4'/></solar-system>";

#[test]
fn an_expression_alone_must_select_something_or_be_true() {
    assert_eq!(
        query("//planet[@name='Earth']").distance(PLANETS, None),
        0.0
    );
    assert_eq!(query("//star").distance(PLANETS, None), 1.0);
    assert_eq!(query("count(//planet) = 2").distance(PLANETS, None), 0.0);
    assert_eq!(query("count(//planet) > 5").distance(PLANETS, None), 1.0);
    assert_eq!(
        query("/order[total > 10]").distance("<order><total>11</total></order>", None),
        0.0
    );
    assert_eq!(
        query("/order[total > 10]").distance("<order><total>9</total></order>", None),
        1.0
    );
    assert_eq!(query("/a").distance("not xml", None), 1.0);
    assert_eq!(query("/a").distance("<a>", None), 1.0);
}

#[test]
fn a_value_matcher_sees_what_was_selected() {
    let xml = "<outer>\n    <inner>stuff</inner>\n    <inner>more</inner>\n</outer>";
    assert_eq!(
        query("//inner/text()").distance(xml, Some(&equal_to("more"))),
        0.0
    );
    let near = query("//inner/text()").distance(xml, Some(&equal_to("stuf")));
    assert!(near > 0.0 && near < 1.0, "{near}");
    assert_eq!(
        query("/outer/@nothing").distance(xml, Some(&equal_to("x"))),
        1.0
    );
    assert_eq!(
        query("/a/@x").distance(r#"<a x="1"/>"#, Some(&equal_to("1"))),
        0.0
    );
    // Numbers as Java prints them, booleans as words, elements as indented markup.
    let numbers = "<a><b>1234.5</b><b>1</b></a>";
    assert_eq!(
        query("sum(/a/b)").distance(numbers, Some(&equal_to("1,235.5"))),
        0.0
    );
    assert_eq!(
        query("count(/a/b)").distance(numbers, Some(&equal_to("2"))),
        0.0
    );
    assert_eq!(
        query("count(/a/b) = 2").distance(numbers, Some(&equal_to("true"))),
        0.0
    );
    assert_eq!(
        query("/a/b").distance("<a><b>x</b></a>", Some(&equal_to("<b>x</b>\n"))),
        0.0
    );
    assert_eq!(
        query("/a").distance(
            "<a><b y=\"1\"/><c>x</c></a>",
            Some(&equal_to("<a>\n  <b y=\"1\"/>\n  <c>x</c>\n</a>\n"))
        ),
        0.0
    );
}

#[test]
fn namespaces_are_ignored_unless_given() {
    let xml = "<t:thing xmlns:t='http://things' xmlns:s='http://subthings'><s:subThing>The stuff</s:subThing></t:thing>";
    assert_eq!(
        query("/thing/subThing[.='The stuff']").distance(xml, None),
        0.0
    );
    // A prefix the stub does not declare could never match (WireMock's
    // evaluation fails on it): refused when the stub is made.
    assert!(XPathQuery::new("/t:thing", Vec::new()).is_err());
    assert!(XPathQuery::new("/child::t:*", Vec::new()).is_err());
    assert!(XPathQuery::new("/child::thing[@xml:lang='en']", Vec::new()).is_ok());
    assert!(XPathQuery::new("/a[.='t:x']", Vec::new()).is_ok());
    let declared = with_namespaces(
        "/t:thing/s:subThing",
        &[("t", "http://things"), ("s", "http://subthings")],
    );
    assert_eq!(declared.distance(xml, None), 0.0);
    let default_namespace = r#"<stuff xmlns="https://example.org/s"><item/></stuff>"#;
    let s = with_namespaces("/s:stuff/s:item", &[("s", "https://example.org/s")]);
    assert_eq!(s.distance(default_namespace, None), 0.0);
    assert_eq!(
        s.distance(
            r#"<stuff xmlns="https://example.org/other"><item/></stuff>"#,
            None
        ),
        1.0
    );
    // With namespaces given, an unprefixed name means no namespace.
    let unprefixed = with_namespaces("/stuff", &[("s", "https://example.org/s")]);
    assert_eq!(unprefixed.distance(default_namespace, None), 1.0);
}

#[test]
fn expressions_are_checked_and_bounded() {
    assert!(XPathQuery::new("//\\\\&&&", Vec::new()).is_err());
    assert!(XPathQuery::new("", Vec::new()).is_err());
    let nested = format!("{}1{}", "(".repeat(40), ")".repeat(40));
    assert!(XPathQuery::new(&nested, Vec::new()).is_err());
    let long = format!("/a[{}]", "1=1 or ".repeat(200));
    assert!(XPathQuery::new(&long, Vec::new()).is_err());
    // The longest chain allowed evaluates without exhausting a test thread's stack.
    let chain = format!("count(/a){}", " + 1".repeat((MAX_EXPRESSION_LEN - 9) / 4));
    assert!(chain.len() <= MAX_EXPRESSION_LEN);
    assert_eq!(query(&chain).distance("<a/>", None), 0.0);
    let brackets = format!("{}1{}", "(".repeat(32), ")".repeat(32));
    assert_eq!(query(&brackets).distance("<a/>", None), 0.0);
    // A parenthesis inside a literal is not nesting.
    assert!(XPathQuery::new(&format!("/a[@x='{}']", "(".repeat(64)), Vec::new()).is_ok());
}

#[test]
fn java_numbers() {
    assert_eq!(java_number(2.0), "2");
    assert_eq!(java_number(1234.5), "1,234.5");
    assert_eq!(java_number(1.23456), "1.235");
    assert_eq!(java_number(-1234567.0), "-1,234,567");
    assert_eq!(java_number(f64::NAN), "NaN");
}
