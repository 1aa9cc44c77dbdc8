//! Mocks served from OpenAPI documents: the published Petstore (3.0) and
//! ReadMe's API (3.1) in tests/data/openapi, and small documents written here
//! for what those two do not have.

use std::path::PathBuf;

use echobase::mocks::oas::document::{operations, parse, resolve};
use echobase::mocks::oas::generate::generate;
use serde_json::{Value, json};

use super::common::{Backend, TestApp};
use super::{get_json, stub};

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/openapi")
        .join(file)
}

async fn serving(backend: Backend, file: &str) -> Option<TestApp> {
    let path = data(file);
    TestApp::spawn_with(backend, |s| s.mocks.openapi = Some(path)).await
}

/// `POST /__admin/openapi` with `document` (YAML or JSON text).
async fn load(app: &TestApp, query: &str, document: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(&format!("/__admin/openapi{query}")))
        .header("content-type", "application/yaml")
        .body(document.to_owned())
        .send()
        .await
        .expect("load");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, String)>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
    let mut request = app.client.request(method, app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some((content_type, body)) = body {
        request = request.header("content-type", content_type).body(body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

/// The status the document's answer should have: the lowest 2xx, else
/// `default` (200), else the lowest code.
fn expected_status(responses: &serde_json::Map<String, Value>) -> u16 {
    let mut codes: Vec<&String> = responses.keys().collect();
    codes.sort();
    let code = codes
        .iter()
        .find(|c| c.starts_with('2'))
        .or_else(|| codes.iter().find(|c| c.as_str() == "default"))
        .or_else(|| codes.first())
        .map(|c| c.as_str())
        .expect("a response");
    match code {
        "default" => 200,
        code => code.replace("XX", "00").parse().expect("a status"),
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Calls every operation of `file` with a request built from the document
/// itself (parameters and JSON bodies generated from their schemas,
/// credentials of every kind), and checks each is answered as the document
/// says: its status, and a JSON body where the document promises JSON.
async fn every_operation_answers(app: &TestApp, file: &str) -> usize {
    let document = parse(&std::fs::read(data(file)).expect("document")).expect("parsed");
    let ops = operations(&document);
    assert!(!ops.is_empty());
    for op in &ops {
        let operation = &document["paths"][&op.path][&op.method];
        let mut path = op.path.clone();
        let mut query = Vec::new();
        let mut headers: Vec<(String, String)> = vec![
            ("authorization".into(), "Bearer token".into()),
            ("api_key".into(), "key".into()),
        ];
        let parameters = document["paths"][&op.path]["parameters"]
            .as_array()
            .into_iter()
            .chain(operation["parameters"].as_array())
            .flatten()
            .filter_map(|p| resolve(&document, p));
        for parameter in parameters {
            let name = parameter["name"].as_str().expect("name");
            let value = generate(&parameter["schema"], &document, 7);
            match parameter["in"].as_str() {
                Some("path") => {
                    let text = text_of(&value);
                    let encoded: String =
                        url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
                    path = path.replace(&format!("{{{name}}}"), &encoded);
                }
                Some("query") if parameter["required"] == true => match &value {
                    Value::Array(items) => {
                        query.extend(items.iter().map(|i| (name.to_owned(), text_of(i))))
                    }
                    other => query.push((name.to_owned(), text_of(other))),
                },
                Some("header") if parameter["required"] == true => {
                    headers.push((name.to_owned(), text_of(&value)))
                }
                _ => {}
            }
        }
        if !query.is_empty() {
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&query)
                .finish();
            path = format!("{path}?{encoded}");
        }
        let body = operation
            .get("requestBody")
            .and_then(|b| resolve(&document, b))
            .and_then(|b| b["content"].as_object())
            .and_then(|content| {
                let (media, object) = content
                    .iter()
                    .find(|(m, _)| m.contains("json"))
                    .or_else(|| content.iter().next())?;
                let body = if media.contains("json") {
                    generate(&object["schema"], &document, 7).to_string()
                } else {
                    "a=b".to_owned()
                };
                Some((media.replace('*', "x"), body))
            });
        let header_refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let (status, answer_headers, text) = send(
            app,
            &op.method,
            &path,
            &header_refs,
            body.as_ref().map(|(m, b)| (m.as_str(), b.clone())),
        )
        .await;
        let responses = operation["responses"].as_object().expect("responses");
        let expected = expected_status(responses);
        assert_eq!(
            status, expected,
            "{} {path} answered {status}, not {expected}: {text}",
            op.method
        );
        let content_type = answer_headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if content_type.contains("json") && op.method != "head" {
            assert!(
                serde_json::from_str::<Value>(&text).is_ok(),
                "{} {path}: not JSON: {text}",
                op.method
            );
        }
    }
    ops.len()
}

pub async fn petstore_answers_every_operation(backend: Backend) {
    let Some(app) = serving(backend, "petstore.yaml").await else {
        return;
    };
    assert_eq!(every_operation_answers(&app, "petstore.yaml").await, 20);
    let (status, listed) = get_json(&app, "/__admin/openapi").await;
    assert_eq!(status, 200);
    assert_eq!(listed, json!([{"name": "petstore", "operations": 20}]));
}

pub async fn a_large_3_1_document_answers_every_operation(backend: Backend) {
    let Some(app) = serving(backend, "readme.yaml").await else {
        return;
    };
    assert_eq!(every_operation_answers(&app, "readme.yaml").await, 54);
}

pub async fn requests_that_do_not_conform_are_refused_and_journaled(backend: Backend) {
    let Some(app) = serving(backend, "petstore.yaml").await else {
        return;
    };
    let auth = [("authorization", "Bearer t"), ("api_key", "k")];
    let problem = |text: &str| serde_json::from_str::<Value>(text).expect("problem+json");

    // A path parameter that is not an integer.
    let (status, _, text) = send(&app, "get", "/pet/abc", &auth, None).await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(problem(&text)["errors"][0]["field"], "path.petId");

    // A required query parameter missing, then one outside its enum.
    let (status, _, text) = send(&app, "get", "/pet/findByStatus", &auth, None).await;
    assert_eq!(status, 400);
    assert_eq!(problem(&text)["errors"][0]["field"], "query.status");
    assert!(text.contains("required"), "{text}");
    let (status, _, text) = send(&app, "get", "/pet/findByStatus?status=lost", &auth, None).await;
    assert_eq!(status, 400, "{text}");
    let (status, _, _) = send(&app, "get", "/pet/findByStatus?status=sold", &auth, None).await;
    assert_eq!(status, 200);

    // No credentials: 401 with a challenge.
    let (status, headers, text) = send(&app, "get", "/pet/1", &[], None).await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("api_key"), "{text}");
    let (status, _, _) = send(&app, "get", "/pet/1", &[("api_key", "k")], None).await;
    assert_eq!(status, 200);
    let _ = headers;
    let (status, headers, _) = send(&app, "get", "/pet/findByStatus?status=sold", &[], None).await;
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], "Bearer");

    // Bodies: not the declared type, not JSON, not the schema.
    let (status, _, _) = send(
        &app,
        "post",
        "/store/order",
        &[],
        Some(("text/plain", "hello".into())),
    )
    .await;
    assert_eq!(status, 415);
    let (status, _, _) = send(
        &app,
        "post",
        "/store/order",
        &[],
        Some(("application/json", "{".into())),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _, text) = send(
        &app,
        "post",
        "/pet",
        &auth,
        Some((
            "application/json",
            json!({"photoUrls": "not a list"}).to_string(),
        )),
    )
    .await;
    assert_eq!(status, 422, "{text}");
    let fields: Vec<String> = problem(&text)["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(fields.contains(&"body".to_owned()), "{fields:?}"); // `name` missing
    assert!(fields.contains(&"body/photoUrls".to_owned()), "{fields:?}");

    // The refusal is in the journal with its reason.
    let (_, journal) = get_json(&app, "/__admin/requests").await;
    let entry = journal["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .find(|e| e["request"]["url"] == "/pet" && e["response"]["status"] == 422)
        .expect("the refused request is journaled");
    assert!(
        entry["response"]["body"]
            .as_str()
            .is_some_and(|b| b.contains("photoUrls")),
        "{entry}"
    );
}

const PETS: &str = r##"
openapi: 3.1.0
info: {title: Pets, version: "1"}
paths:
  /pets/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
    get:
      responses:
        "200":
          description: A pet
          headers:
            X-Rate-Limit: {schema: {type: integer}, example: 100}
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
              examples:
                cat: {value: {id: 1, name: Tom, kind: cat}}
                dog: {$ref: "#/components/examples/dog"}
        "404":
          description: No such pet
          content:
            application/problem+json:
              example: {title: Not Found}
  /pets:
    get:
      parameters:
        - {name: limit, in: query, schema: {type: integer, maximum: 50}}
      responses:
        "200":
          description: Pets
          content:
            application/json:
              schema: {type: array, minItems: 2, maxItems: 2, items: {$ref: "#/components/schemas/Pet"}}
components:
  examples:
    dog: {value: {id: 2, name: Rex, kind: dog}}
  schemas:
    Pet:
      type: object
      required: [id, name, kind]
      properties:
        id: {type: integer, minimum: 1}
        name: {type: string, minLength: 1}
        kind: {enum: [cat, dog]}
        born: {type: string, format: date}
"##;

pub async fn examples_are_chosen_with_prefer_and_others_generated(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, loaded) = load(&app, "", PETS).await;
    assert_eq!(status, 200, "{loaded}");
    assert_eq!(loaded["name"], "pets");
    assert_eq!(loaded["operations"], 2);

    let (status, headers, text) = send(&app, "get", "/pets/1", &[], None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-rate-limit"], "100");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["name"], "Tom");
    let (_, _, text) = send(&app, "get", "/pets/1", &[("prefer", "example=dog")], None).await;
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["name"], "Rex");
    let (status, headers, text) =
        send(&app, "get", "/pets/1", &[("prefer", "code=404")], None).await;
    assert_eq!(status, 404);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["title"],
        "Not Found"
    );
    let (status, _, text) = send(&app, "get", "/pets/1", &[("prefer", "code=418")], None).await;
    assert_eq!(status, 400, "{text}");
    let (status, _, text) = send(&app, "get", "/pets/1", &[("prefer", "example=bird")], None).await;
    assert_eq!(status, 400);
    assert!(text.contains("cat") && text.contains("dog"), "{text}");
    let (status, _, _) = send(&app, "get", "/pets/1", &[("accept", "text/csv")], None).await;
    assert_eq!(status, 406);
    let (status, _, _) = send(&app, "get", "/pets/0", &[], None).await;
    assert_eq!(status, 400);

    // No example: generated from the schema, the same for the same request.
    let (status, _, first) = send(&app, "get", "/pets?limit=5", &[], None).await;
    assert_eq!(status, 200);
    let (_, _, again) = send(&app, "get", "/pets?limit=5", &[], None).await;
    assert_eq!(first, again);
    let pets: Value = serde_json::from_str(&first).unwrap();
    let pets = pets.as_array().expect("an array");
    assert_eq!(pets.len(), 2);
    for pet in pets {
        assert!(pet["id"].as_i64().is_some_and(|id| id >= 1), "{pet}");
        assert!(pet["name"].as_str().is_some_and(|n| !n.is_empty()), "{pet}");
        assert!(pet["kind"] == "cat" || pet["kind"] == "dog", "{pet}");
    }
    let (status, _, _) = send(&app, "get", "/pets?limit=500", &[], None).await;
    assert_eq!(status, 400);
    // Dynamic answers differ between calls (ten tries to see two differ).
    let mut seen = std::collections::HashSet::new();
    for _ in 0..10 {
        let (_, _, text) = send(&app, "get", "/pets", &[("prefer", "dynamic=true")], None).await;
        seen.insert(text);
    }
    assert!(seen.len() > 1, "dynamic answers never changed");
}

pub async fn explicit_stubs_override_and_documents_are_replaced_and_removed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    assert_eq!(load(&app, "?name=zoo", PETS).await.0, 200);
    stub(
        &app,
        json!({"request": {"method": "GET", "url": "/pets/7"},
            "response": {"status": 418, "body": "pinned"}}),
    )
    .await;
    let (status, _, text) = send(&app, "get", "/pets/7", &[], None).await;
    assert_eq!((status, text.as_str()), (418, "pinned"));
    assert_eq!(send(&app, "get", "/pets/8", &[], None).await.0, 200);

    // A reset keeps the document's stubs, as it keeps a mappings folder's.
    let (status, _) = super::post_json(&app, "/__admin/reset", &Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(send(&app, "get", "/pets/7", &[], None).await.0, 200);

    // Loading a version with one operation less removes its stub.
    let smaller = PETS.replace("  /pets:\n    get:", "  /pets:\n    x-get:");
    let (status, loaded) = load(&app, "?name=zoo", &smaller).await;
    assert_eq!(status, 200);
    assert_eq!(
        (loaded["operations"].as_i64(), loaded["removed"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(send(&app, "get", "/pets", &[], None).await.0, 404);

    // Under a prefix, beside the first.
    let (status, _) = load(&app, "?name=zoo2&prefix=/v2", PETS).await;
    assert_eq!(status, 200);
    assert_eq!(send(&app, "get", "/v2/pets", &[], None).await.0, 200);
    let (_, listed) = get_json(&app, "/__admin/openapi").await;
    assert_eq!(
        listed,
        json!([{"name": "zoo", "operations": 1}, {"name": "zoo2", "operations": 2}])
    );

    let response = app
        .client
        .delete(app.url("/__admin/openapi/zoo"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(send(&app, "get", "/pets/8", &[], None).await.0, 404);
    let response = app
        .client
        .delete(app.url("/__admin/openapi/zoo"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

pub async fn documents_that_cannot_be_served_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, problem) = load(&app, "", "a: [b").await;
    assert_eq!(status, 400, "{problem}");
    let (status, problem) = load(&app, "", "swagger: '2.0'\npaths: {}").await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "openapi");
    let bad_schema = "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema: {type: 5}\n      responses: {'200': {description: ok}}\n";
    let (status, problem) = load(&app, "", bad_schema).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "paths");
    let (status, problem) = load(&app, "?name=Not%20a%20name", PETS).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "name");
    let (status, _) = load(&app, "?colour=red", PETS).await;
    assert_eq!(status, 400);
    // Nothing was stored.
    assert_eq!(get_json(&app, "/__admin/openapi").await.1, json!([]));
    assert_eq!(
        get_json(&app, "/__admin/mappings").await.1["meta"]["total"],
        0
    );
}

pub async fn a_document_loaded_through_one_process_is_served_by_all(backend: Backend) {
    if backend != Backend::Postgres {
        return;
    }
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let other = app.spawn_beside().await;
    assert_eq!(load(&app, "", PETS).await.0, 200);
    let mut answered = 0;
    for _ in 0..50 {
        answered = send(&other, "get", "/pets/1", &[], None).await.0;
        if answered == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(answered, 200);
    let (_, _, text) = send(&other, "get", "/pets/1", &[("prefer", "example=dog")], None).await;
    assert!(text.contains("Rex"), "{text}");
}
