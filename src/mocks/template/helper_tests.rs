//! WireMock 3's JSON, XML, list and date helpers (`formatJson`,
//! `jsonMerge`, `jsonRemove`, `jsonArrayAdd`, `jsonSort`, `xPath`,
//! `soapXPath`, `formatXml`, `arrayAdd`, `arrayRemove`, `truncateDate`, time
//! zones by region). Unless a comment says otherwise, each expected output
//! was read from WireMock 3.13.2 standalone given the same template and
//! body; `jsonSort` is WireMock 4's (its documentation's examples).

use super::tests::{render, try_render};

fn with_body(template: &str, body: &str) -> String {
    render(template, "", body)
}

#[test]
fn format_json() {
    assert_eq!(
        with_body(
            r#"{{#formatJson}}{"foo":true,"bar":{"baz":false}}{{/formatJson}}"#,
            ""
        ),
        "{\n  \"foo\" : true,\n  \"bar\" : {\n    \"baz\" : false\n  }\n}"
    );
    let body = r#"{ "z": 1, "a": {"k": [1, 2.50, {"x": null}]}, "s": "é\u00e9\n\u0001/" }"#;
    assert_eq!(
        with_body("{{formatJson request.body}}", body),
        "{\n  \"z\" : 1,\n  \"a\" : {\n    \"k\" : [ 1, 2.50, {\n      \"x\" : null\n    } ]\n  },\n  \"s\" : \"éé\\n\\u0001/\"\n}"
    );
    assert_eq!(
        with_body("{{formatJson request.body format='compact'}}", body),
        r#"{"z":1,"a":{"k":[1,2.50,{"x":null}]},"s":"éé\n\u0001/"}"#
    );
    assert_eq!(
        with_body(
            r#"{{formatJson '[]'}}|{{formatJson '{}'}}|{{formatJson '[1,[2,{"a":[]}],{"b":{}}]'}}|{{formatJson '1.50'}}|{{formatJson '{"a":1,"a":2}'}}"#,
            ""
        ),
        "[ ]|{ }|[ 1, [ 2, {\n  \"a\" : [ ]\n} ], {\n  \"b\" : { }\n} ]|1.50|{\n  \"a\" : 2\n}"
    );
    assert_eq!(
        with_body(
            "{{formatJson ' '}}|{{formatJson request.body format='x'}}|{{formatJson 5}}",
            "[]"
        ),
        "[ERROR: formatJson should take a block of JSON to format or a single parameter of type String]|\
         [ERROR: formatJson: format [x] should be one of [pretty, compact]]|\
         [ERROR: formatJson should take a block of JSON to format or a single parameter of type String]"
    );
    // WireMock answers a 500 for text that is not JSON; this is the message
    // its helper means to give.
    assert_eq!(
        with_body("{{formatJson 'nope'}}", ""),
        "[ERROR: There was an error parsing the json. Please make sure the json is valid]"
    );
}

#[test]
fn json_merge() {
    let body = r#"{"a":1,"b":{"x":1,"z":3},"c":[1,2],"n":5}"#;
    assert_eq!(
        with_body(
            r#"{{jsonMerge request.body '{"b":{"y":2,"z":null},"c":[9],"a":null,"n":{"q":1}}'}}"#,
            body
        ),
        r#"{"a":null,"b":{"x":1,"z":null,"y":2},"c":[9],"n":{"q":1}}"#
    );
    assert_eq!(
        with_body(
            r#"{{jsonMerge request.body '{"b":{"z":null},"a":null}' removeNulls=true}}"#,
            body
        ),
        r#"{"b":{"x":1},"c":[1,2],"n":5}"#
    );
    assert_eq!(
        with_body(
            r#"{{#jsonMerge request.body}}{"q":1}{{/jsonMerge}}"#,
            r#"{"a":1}"#
        ),
        r#"{"a":1,"q":1}"#
    );
    assert_eq!(
        with_body(
            r#"{{jsonMerge request.body '[1]'}}|{{jsonMerge '[1]' '{}'}}|{{jsonMerge 'x' '{}'}}|{{jsonMerge request.body 'x'}}|{{jsonMerge request.body}}|{{jsonMerge 5 '{}'}}"#,
            body
        ),
        "[ERROR: JSON to merge is not a JSON object ('[1]')]|\
         [ERROR: Base JSON is not a JSON object ('[1]')]|\
         [ERROR: Base JSON is not valid JSON ('x')]|\
         [ERROR: JSON to merge is not valid JSON ('x')]|\
         [ERROR: JSON to merge must be a string]|\
         [ERROR: Base JSON parameter must be a string]"
    );
}

#[test]
fn json_remove() {
    let body = r#"[ { "id": 456, "name": "bob"}, { "id": 123, "name": "alice", "x": 2.50}, { "id": 321, "name": "sam"} ]"#;
    let remove = |path: &str| with_body(&format!("{{{{jsonRemove request.body '{path}'}}}}"), body);
    assert_eq!(
        remove("$.[?(@.id == 123)]"),
        r#"[{"id":456,"name":"bob"},{"id":321,"name":"sam"}]"#
    );
    assert_eq!(
        remove("$[0].name"),
        r#"[{"id":456},{"id":123,"name":"alice","x":2.50},{"id":321,"name":"sam"}]"#
    );
    // Nothing selected: the text as it came.
    assert_eq!(remove("$.nope"), body);
    assert_eq!(remove("$[5]"), body);
    assert_eq!(
        remove("$[*].id"),
        r#"[{"name":"bob"},{"name":"alice","x":2.50},{"name":"sam"}]"#
    );
    assert_eq!(remove("$[0,2]"), r#"[{"id":123,"name":"alice","x":2.50}]"#);
    assert_eq!(
        remove("$..name"),
        r#"[{"id":456},{"id":123,"x":2.50},{"id":321}]"#
    );
    assert_eq!(
        remove("$"),
        "[ERROR: Delete operation cannot be applied to JSONPath expression ('$')]"
    );
    assert_eq!(
        with_body(
            r#"{{jsonRemove 'null' '$.a'}}|{{jsonRemove 'nope' '$.a'}}|{{jsonRemove request.body ''}}|{{jsonRemove request.body}}|{{jsonRemove 5 '$'}}"#,
            body
        ),
        "null|[ERROR: Input JSON string is not valid JSON ('nope')]|\
         [ERROR: JSONPath parameter is not a valid JSONPath expression ('')]|\
         [ERROR: A single JSONPath expression parameter must be supplied]|\
         [ERROR: Input JSON must be a string]"
    );
    // The documentation's object example.
    assert_eq!(
        with_body(
            "{{jsonRemove request.body '$.name'}}",
            r#" { "id": 456, "name": "bob"}"#
        ),
        r#"{"id":456}"#
    );
}

#[test]
fn json_array_add() {
    let body = r#"[{"id":1,"names":["a"]},{"id":2.50}]"#;
    assert_eq!(
        with_body(
            r#"{{jsonArrayAdd request.body '{"id":3}'}}|{{jsonArrayAdd request.body '[4,5]' flatten=true}}|{{jsonArrayAdd request.body '[4,5]'}}|{{jsonArrayAdd request.body '6' maxItems=2}}|{{jsonArrayAdd request.body '"bob"' jsonPath='$[0].names'}}|{{jsonArrayAdd request.body '1' maxItems=0}}"#,
            body
        ),
        r#"[{"id":1,"names":["a"]},{"id":2.50},{"id":3}]|[{"id":1,"names":["a"]},{"id":2.50},4,5]|[{"id":1,"names":["a"]},{"id":2.50},[4,5]]|[{"id":2.50},6]|[{"id":1,"names":["a","bob"]},{"id":2.50}]|[]"#
    );
    assert_eq!(
        with_body(
            r#"{{jsonArrayAdd request.body '1' jsonPath='$[0].id'}}|{{jsonArrayAdd request.body '1' jsonPath='$.zz'}}|{{jsonArrayAdd '{}' '1'}}|{{jsonArrayAdd request.body 'bad'}}|{{jsonArrayAdd request.body}}"#,
            body
        ),
        format!(
            "[ERROR: Target JSON is not a JSON array (root: '{body}', jsonPath: '$[0].id')]|\
             [ERROR: Target JSON is not a JSON array (root: '{body}', jsonPath: '$.zz')]|\
             [ERROR: Target JSON is not a JSON array ('{{}}')]|\
             [ERROR: Item-to-add JSON is not valid JSON ('bad')]|\
             [ERROR: Item-to-add JSON must be a string]"
        )
    );
    assert_eq!(
        with_body(
            r#"{{jsonArrayAdd request.body '1' maxItems=-1}}|{{jsonArrayAdd request.body '1' maxItems='2'}}|{{jsonArrayAdd request.body '1' flatten='x'}}|{{jsonArrayAdd request.body 1}}"#,
            body
        ),
        "[ERROR: maxItems option integer must be positive]|\
         [ERROR: maxItems option must be an integer]|\
         [ERROR: flatten option must be a boolean]|\
         [ERROR: Item-to-add JSON must be a string]"
    );
    // A path selecting several lists adds to a new list of them, so the
    // document is unchanged.
    assert_eq!(
        with_body(
            "{{jsonArrayAdd request.body '1' jsonPath='$[*].names'}}",
            body
        ),
        body
    );
    assert_eq!(
        with_body(
            r#"{{#jsonArrayAdd (val request.query.nope or='[]')}}{"id": 321}{{/jsonArrayAdd}}"#,
            ""
        ),
        r#"[{"id":321}]"#
    );
}

#[test]
fn json_sort() {
    let sort = |template: &str, body: &str| with_body(template, body);
    assert_eq!(
        sort(
            "{{jsonSort request.body '$[*].name'}}",
            r#"[{"id":123,"name":"sam"},{"id":321,"name":"alice"}]"#
        ),
        r#"[{"id":321,"name":"alice"},{"id":123,"name":"sam"}]"#
    );
    assert_eq!(
        sort(
            "{{jsonSort request.body '$[*].id' order='desc'}}",
            r#"[{"id":123,"name":"sam"},{"id":321,"name":"alice"}]"#
        ),
        r#"[{"id":321,"name":"alice"},{"id":123,"name":"sam"}]"#
    );
    assert_eq!(
        sort(
            "{{jsonSort request.body '$.users[*].name'}}",
            r#"{"users":[{"name":"fred"},{"name":"bob"}]}"#
        ),
        r#"{"users":[{"name":"bob"},{"name":"fred"}]}"#
    );
    assert_eq!(
        sort(
            "{{jsonSort request.body '$[*]'}}",
            r#"["charlie","alice","bob"]"#
        ),
        r#"["alice","bob","charlie"]"#
    );
    assert_eq!(
        sort(
            "{{jsonSort request.body '$[0].items[*].price'}}",
            r#"[{"items":[{"price":30},{"price":10},{"price":20}]},{"items":[{"price":100},{"price":50}]}]"#
        ),
        r#"[{"items":[{"price":10},{"price":20},{"price":30}]},{"items":[{"price":100},{"price":50}]}]"#
    );
    let with_nulls = r#"[{"id":1,"name":"alice"},{"id":2},{"id":3,"name":"bob"}]"#;
    assert_eq!(
        sort("{{jsonSort request.body '$[*].name'}}", with_nulls),
        r#"[{"id":2},{"id":1,"name":"alice"},{"id":3,"name":"bob"}]"#
    );
    assert_eq!(
        sort(
            "{{jsonSort request.body '$[*].name' nulls='last'}}",
            with_nulls
        ),
        r#"[{"id":1,"name":"alice"},{"id":3,"name":"bob"},{"id":2}]"#
    );
    assert_eq!(
        sort(
            "{{jsonSort request.body '$[*].score'}}",
            r#"[{"id":"a","score":100},{"id":"b","score":50},{"id":"c","score":50},{"id":"d","score":25},{"id":"e","score":50}]"#
        ),
        r#"[{"id":"d","score":25},{"id":"b","score":50},{"id":"c","score":50},{"id":"e","score":50},{"id":"a","score":100}]"#
    );
    assert_eq!(
        with_body(
            "{{jsonSort request.body '$.a'}}|{{jsonSort request.body '$[*].v'}}|{{jsonSort 'null' '$[*]'}}|{{jsonSort request.body '$[*]' order='up'}}",
            r#"[{"v":1},{"v":"x"}]"#
        ),
        "[ERROR: JSONPath must include [*] to specify array location (e.g., '$[*].name' or '$.users[*].name')]|\
         [ERROR: All sort field values must be of the same comparable type (Number, String, or Boolean)]|\
         [ERROR: Cannot sort a JSON null value - input must be a JSON array]|\
         [ERROR: order parameter must be 'asc' or 'desc']"
    );
}

#[test]
fn array_add_and_remove() {
    assert_eq!(
        with_body(
            "{{arrayAdd (array 1 'three') 2 position=1}}|{{arrayAdd (array 1 'three') 2 position='start'}}|{{arrayAdd (array 1 'three') 2 position='end'}}|{{arrayAdd (array 1 'three') 2}}|{{arrayAdd (array 1) 2 position='1'}}|{{arrayAdd (array 1) (array 2 3)}}|{{arrayAdd nothing 1}}",
            ""
        ),
        "[1, 2, three]|[2, 1, three]|[1, three, 2]|[1, three, 2]|[1, 2]|[1, [2, 3]]|[]"
    );
    assert_eq!(
        with_body(
            "{{arrayAdd (array 1 'three') 2 position=5}}|{{arrayAdd (array 1 'three') 2 position='x'}}|{{arrayAdd (array 1 'three')}}|{{arrayAdd (array 1) 2 position=-1}}",
            ""
        ),
        "[ERROR: position must be greater than or equal to 0 and less than or equal to the size of the list]|\
         [ERROR: position must be 'start', 'end' or an integer]|\
         [ERROR: Missing required parameter: additional value to add to list]|\
         [ERROR: position must be greater than or equal to 0 and less than or equal to the size of the list]"
    );
    assert_eq!(
        with_body(
            "{{arrayRemove (array 1 2 'three') position=1}}|{{arrayRemove (array 1 2 'three') position='start'}}|{{arrayRemove (array 1 2 'three') position='end'}}|{{arrayRemove (array 1 2 'three')}}|{{arrayRemove (array 1 2) position=5}}|{{arrayRemove (array 1 2) position='x'}}",
            ""
        ),
        "[1, three]|[2, three]|[1, 2]|[1, 2]|\
         [ERROR: position must be greater than or equal to 0 and less than or equal to the size of the list]|\
         [ERROR: position must be 'start', 'end' or an integer]"
    );
    assert_eq!(
        render(
            "{{#each (arrayAdd (array 1 2) 3)}}<{{this}}>{{/each}}|{{arrayAdd request.query.x 'z'}}",
            "x=a&x=b",
            ""
        ),
        "<1><2><3>|[a, b, z]"
    );
    // WireMock fails the whole response (500) for these.
    assert_eq!(
        with_body(
            "{{arrayRemove (array 1 2) position=2}}|{{arrayRemove (array)}}",
            ""
        ),
        "[ERROR: no item at position 2 in a list of 2]|[ERROR: no item at position 0 in a list of 0]"
    );
}

const THINGS: &str = r#"<things xmlns:m="urn:m"><item id="1">one</item><item id="2" k="v">two</item><m:sub><m:x>y</m:x><m:z/></m:sub></things>"#;

#[test]
fn xpath_selects_text_nodes_and_values() {
    assert_eq!(
        with_body(
            r#"{{xPath request.body '/things/item/text()'}}|{{xPath request.body '/things/item'}}|{{xPath request.body '/things/item/@id'}}|{{xPath request.body 'count(/things/item)'}}|{{xPath request.body '/things/item[2]/@k = "v"'}}|{{xPath request.body 'string(/things/item)'}}|{{xPath request.body '/nothing'}}|"#,
            THINGS
        ),
        "one|<item id=\"1\">one</item>\n|1|2|true|one||"
    );
    assert_eq!(
        with_body(
            "{{xPath request.body '/things/sub'}}|{{xPath request.body '/things'}}",
            THINGS
        ),
        "<m:sub>\n  <m:x>y</m:x>\n  <m:z/>\n</m:sub>\n|<things xmlns:m=\"urn:m\">\n  <item id=\"1\">one</item>\n  <item id=\"2\" k=\"v\">two</item>\n  <m:sub>\n    <m:x>y</m:x>\n    <m:z/>\n  </m:sub>\n</things>\n"
    );
    assert_eq!(
        with_body(
            "{{#each (xPath request.body '/things/item') as |node|}}[{{node.name}},{{node.text}},{{node.attributes.id}},{{node}}]{{/each}}|{{#each (xPath request.body '/things/*')}}<{{this.name}}>{{/each}}|{{size (xPath request.body '/things/item')}}",
            THINGS
        ),
        "[item,one,1,<item id=\"1\">one</item>\n][item,two,2,<item id=\"2\" k=\"v\">two</item>\n]|<item><item><m:sub>|2"
    );
    assert_eq!(
        with_body(
            "{{xPath request.body '/things/item['}}|{{xPath 'notxml' '/a'}}|{{xPath request.body}}|{{xPath request.body 'sum(/things/item/@id) * 1000.5'}}",
            THINGS
        ),
        "[ERROR: /things/item[ is not a valid XPath expression]|[ERROR: notxml is not valid XML]|\
         [ERROR: The XPath expression cannot be empty]|3,001.5"
    );
    // Another helper sees the first node's text, as WireMock's `toString`.
    assert_eq!(
        with_body(
            "{{upper (xPath request.body '/things/item/text()')}}",
            THINGS
        ),
        "ONE"
    );
    // Entities are refused here (WireMock expands internal ones).
    assert_eq!(
        with_body(
            "{{xPath request.body '/a/text()'}}",
            r#"<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>"#
        ),
        r#"[ERROR: <!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a> is not valid XML]"#
    );
}

#[test]
fn soap_xpath_reads_inside_the_body_whatever_the_namespaces() {
    let envelope = r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope/">
    <soap:Body>
        <m:a xmlns:m="urn:m">
            <m:test>success</m:test>
        </m:a>
    </soap:Body>
</soap:Envelope>"#;
    assert_eq!(
        with_body("{{soapXPath request.body '/a/test/text()'}}", envelope),
        "success"
    );
}

#[test]
fn assign_keeps_a_block() {
    assert_eq!(
        render(
            "{{#assign 'x'}}  a {{request.query.q}} {{/assign}}[{{x}}]{{assign 'y'}}[{{y}}]",
            "q=1",
            ""
        ),
        "[a 1][]"
    );
    // The documentation's way to build the input of the JSON helpers.
    assert_eq!(
        with_body(
            "{{#assign 'a'}} [ {\"id\": 1} ] {{/assign}}{{#jsonArrayAdd a}}{\"id\": 2}{{/jsonArrayAdd}}",
            ""
        ),
        r#"[{"id":1},{"id":2}]"#
    );
}

#[test]
fn format_xml() {
    assert_eq!(
        with_body(
            "{{#formatXml}}\n<foo><bar\n    >wh</bar></foo\n    >\n{{/formatXml}}",
            ""
        ),
        "<foo>\n  <bar>wh</bar>\n</foo>\n"
    );
    assert_eq!(
        with_body(
            "{{#formatXml format='compact'}}\n<foo>\n  <bar>wh</bar>\n</foo>\n{{/formatXml}}",
            ""
        ),
        "<foo><bar>wh</bar></foo>"
    );
    let body = r#"<?xml version="1.0"?><!-- c --><a x="1" y="&quot;q&amp;&lt;"><?pi data?><b>t &amp; &lt; &gt; "</b><c/><d>mixed <e>e</e> tail</d><!-- inner --></a>"#;
    assert_eq!(
        with_body("{{formatXml request.body}}", body),
        "<!-- c --><a x=\"1\" y=\"&quot;q&amp;&lt;\">\n  <?pi data?>\n  <b>t &amp; &lt; &gt; \"</b>\n  <c/>\n  <d>\n    mixed \n    <e>e</e>\n     tail\n  </d>\n  <!-- inner -->\n</a>\n"
    );
    assert_eq!(
        with_body("{{formatXml request.body format='compact'}}", body),
        "<!-- c --><a x=\"1\" y=\"&quot;q&amp;&lt;\"><?pi data?><b>t &amp; &lt; &gt; \"</b><c/><d>mixed <e>e</e> tail</d><!-- inner --></a>"
    );
    assert_eq!(
        with_body(
            "{{formatXml request.body}}",
            "<r b=\"1\" a=\"2\" xmlns:z=\"urn:z\" xmlns=\"urn:d\">\n   <m>  mixed <e>e</e>  tail </m>\n   <z:x z:k=\"v\"/>\n   <!-- c -->\n</r>"
        ),
        "<r xmlns=\"urn:d\" xmlns:z=\"urn:z\" a=\"2\" b=\"1\">\n  <m>\n      mixed \n    <e>e</e>\n      tail \n  </m>\n  <z:x z:k=\"v\"/>\n  <!-- c -->\n</r>\n"
    );
    assert_eq!(
        with_body(
            "{{formatXml '  '}}|{{formatXml request.body format='x'}}|{{formatXml 5}}|{{formatXml '<foo>Not well formed!</bar>'}}",
            "<a/>"
        ),
        "[ERROR: formatXml should take a block of XML to format or a single parameter of type String]|\
         [ERROR: formatXml: format [x] should be one of [pretty, compact]]|\
         [ERROR: formatXml should take a block of XML to format or a single parameter of type String]|\
         [ERROR: Input is not valid XML]"
    );
}

#[test]
fn truncate_date() {
    let paris = "(parseDate '2024-03-30T12:00:00+01:00[Europe/Paris]')";
    assert_eq!(
        with_body(
            &format!(
                "{{{{truncateDate {paris} 'first day of next month'}}}}|{{{{truncateDate {paris} 'last day of year'}}}}|{{{{truncateDate {paris} 'first second of minute'}}}}"
            ),
            ""
        ),
        "2024-04-01T00:00:00+02:00|2024-12-31T00:00:00+01:00|2024-03-30T12:00:00+01:00"
    );
    assert_eq!(
        with_body(
            "{{truncateDate (parseDate '2021-06-15T10:20:30Z') 'first day of month'}}|{{date (truncateDate (parseDate '2021-06-15T10:20:30Z') 'first hour of day') format='yyyy'}}",
            ""
        ),
        "2021-06-01T00:00:00Z|2021"
    );
    // The documentation's example: a header in RFC 1123.
    assert_eq!(
        with_body(
            "{{date (truncateDate (parseDate 'Tue, 15 Jun 2021 15:16:17 GMT') 'first day of month')}}",
            ""
        ),
        "2021-06-01T00:00:00Z"
    );
    assert_eq!(
        with_body(
            "{{truncateDate (parseDate '2021-06-15T10:20:30Z') 'FIRST_MINUTE_OF_HOUR'}}|{{truncateDate (parseDate '2021-06-15T10:20:30Z') 'first day of next year'}}|{{truncateDate (parseDate '2021-02-15T10:20:30Z') 'last day of month'}}|{{truncateDate (parseDate '2021-06-15T10:20:30Z') 'first day of year'}}",
            ""
        ),
        "2021-06-15T10:00:00Z|2022-01-01T00:00:00Z|2021-02-28T00:00:00Z|2021-01-01T00:00:00Z"
    );
    assert_eq!(
        with_body(
            "{{truncateDate 'abc' 'first day of month'}}|{{truncateDate (parseDate '2021-06-15T10:20:30Z')}}",
            ""
        ),
        "[ERROR: A date object must be passed to the truncateDate helper]|\
         [ERROR: Truncation type must be specified as the first parameter to truncateDate]"
    );
    // WireMock fails the response (500) on an unknown truncation.
    assert!(
        with_body(
            "{{truncateDate (parseDate '2021-06-15T10:20:30Z') 'bogus'}}",
            ""
        )
        .starts_with("[ERROR: Unknown date truncation `bogus`")
    );
}

#[test]
fn region_time_zones_follow_daylight_saving_time() {
    // Offsets count on UTC's calendar, as WireMock's: a day is 24 hours,
    // and the zone's clocks say what that is after the change.
    assert_eq!(
        with_body(
            "{{date (parseDate '2024-03-30T12:00:00+01:00[Europe/Paris]') offset='1 days'}}|\
             {{date (parseDate '2024-03-30T12:00:00+01:00[Europe/Paris]') offset='6 months'}}|\
             {{parseDate '2024-03-30T12:00:00+01:00[Europe/Paris]'}}|\
             {{date (parseDate '2024-03-30T12:00:00+01:00[Europe/Paris]') format='yyyy-MM-dd HH:mm z'}}",
            ""
        ),
        "2024-03-31T13:00:00+02:00|2024-09-30T13:00:00+02:00|2024-03-30T12:00:00+01:00|2024-03-30 12:00 CET"
    );
    assert_eq!(
        with_body(
            "{{parseDate '2024-07-01 10:00 Europe/Paris' format='yyyy-MM-dd HH:mm VV'}}|{{date (parseDate '2024-07-01 10:00 Europe/Paris' format='yyyy-MM-dd HH:mm VV') offset='6 months'}}",
            ""
        ),
        "2024-07-01T10:00:00+02:00|2025-01-01T09:00:00+01:00"
    );
    // `date`'s `timezone=` writes the time in that zone (WireMock ignores it
    // for a parsed date and keeps the date's own).
    assert_eq!(
        with_body(
            "{{date (parseDate '2024-07-01T12:00:00Z') timezone='America/New_York' format='yyyy-MM-dd HH:mm z Z'}}|{{date (parseDate '2024-01-01T12:00:00Z') timezone='America/New_York'}}",
            ""
        ),
        "2024-07-01 08:00 EDT -0400|2024-01-01T07:00:00-05:00"
    );
    let now = with_body("{{now timezone='Europe/Paris'}}", "");
    assert!(now.ends_with("+01:00") || now.ends_with("+02:00"), "{now}");
    let abbreviation = with_body("{{now timezone='America/New_York' format='z'}}", "");
    assert!(
        ["EST", "EDT"].contains(&abbreviation.as_str()),
        "{abbreviation}"
    );
    assert!(
        with_body("{{now timezone='Mars/Olympus_Mons'}}", "")
            .starts_with("[ERROR: Unknown time-zone ID: Mars/Olympus_Mons")
    );
}

#[test]
fn a_time_a_helper_wrote_is_read_back_whole() {
    // WireMock's helpers hand each other the time itself: a formatted
    // one still holds the rest, and a region its zone.
    assert_eq!(
        with_body(
            "{{date (date (parseDate '2024-03-30T23:30:00Z') format='yyyy') format='MM-dd HH:mm'}}|{{date (now timezone='Europe/Paris' format='yyyy') format='VV'}}",
            ""
        ),
        "03-30 23:30|Europe/Paris"
    );
}

#[test]
fn new_helpers_stay_within_the_render_bounds() {
    // A list fed back to itself doubles each time: assigning it stops at
    // the copy budget, writing it at the output budget. (Variables are not
    // seen inside `each`, so the doubling is written out.)
    let doubling = |first: &str, step: &str| format!("{first}{}", step.repeat(60));
    let err = try_render(
        &doubling(
            "{{val '[1]' assign='l'}}",
            "{{val (jsonArrayAdd l l flatten=true) assign='l'}}",
        ),
        "",
        "",
    )
    .unwrap_err();
    assert!(
        err.contains("is over") || err.contains("copied over"),
        "{err}"
    );
    let err = try_render(
        &doubling(
            "{{val (array 1) assign='l'}}",
            "{{val (arrayAdd l l) assign='l'}}",
        ),
        "",
        "",
    )
    .unwrap_err();
    assert!(err.contains("copied over"), "{err}");
    // Indenting a deep document makes far more than it holds.
    let deep = format!("{}{}", "<a>".repeat(250), "</a>".repeat(250)).repeat(400);
    let body = format!("<r>{deep}</r>");
    let err = try_render("{{formatXml request.body}}", "", &body).unwrap_err();
    assert!(err.contains("is over"), "{err}");
}

/// Handlebars.java's other string helpers, in one template; the expected
/// text is WireMock 3.13.2's answer to it.
#[test]
fn handlebars_java_string_helpers() {
    let template = r#"{{capitalizeFirst "handlebars.java"}}|{{center "hb" size=7 pad="*"}}|{{cut "String with spaces"}}|{{cut "a-b-c" "-"}}|{{ljust "hb" size=5}}.|{{rjust "hb" size=5 pad="0"}}|{{slugify "  Joel is a slug 42! "}}|{{stripTags "<p>Hi <b>there</b></p>"}}|{{wordWrap "Joel is a slug" 5}}|{{yesno true}}|{{yesno false no="nope"}}|{{yesno request.query.none}}|{{center "toolong" size=3}}"#;
    assert_eq!(
        with_body(template, ""),
        "Handlebars.java|**hb***|Stringwithspaces|abc|hb   .|000hb|joel-is-a-slug-|Hi there|Joel\nis a\nslug|yes|nope|maybe|toolong"
    );
    assert!(with_body("{{yesno 'x'}}", "").contains("[ERROR:"));
    assert!(
        try_render("{{center 'x' size=99999999999}}", "", "").is_err(),
        "a width past the output bound"
    );
}
