//! The last pass over the assembled OpenAPI document: what is true of every
//! route is written here once, instead of in each handler's annotation,
//! so the document cannot drift from the server.

use utoipa::Number;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{OpenApi, RefOr, Schema};

/// Any bytes, as a request or response body is documented when the route
/// takes or answers whatever it is given (documentation only).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // Never built: bodies are read and written as bytes.
pub struct AnyBytes(Vec<u8>);

const PROBLEM_SCHEMA: &str = "#/components/schemas/Problem";
const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Fixes what the annotations cannot say: every `Problem` answer is sent as
/// `application/problem+json` (an annotation's `body = Problem` defaults to
/// `application/json`), a catch-all segment `{*path}` is a parameter named
/// `path` (OpenAPI has no catch-all; its value may hold `/`), and every
/// operation id is unique (utoipa takes the handler's name, and modules share
/// names like `fetch`; tools follow links and generate clients by these ids).
/// A `u64` parameter whose maximum is past the largest int64 loses the
/// `int64` format utoipa gives it, which would state a smaller range.
pub fn finish(openapi: &mut OpenApi) {
    let paths = std::mem::take(&mut openapi.paths.paths);
    for (path, mut item) in paths {
        for (_, operation) in operations_mut(&mut item) {
            problems_as_problem_json(operation);
            unsigned_maxima_without_int64(operation);
        }
        openapi.paths.paths.insert(path.replace("{*", "{"), item);
    }
    unique_operation_ids(openapi);
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("options", &mut item.options),
        ("head", &mut item.head),
        ("patch", &mut item.patch),
        ("trace", &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(method, operation)| Some((method, operation.as_mut()?)))
}

/// An id used by more than one operation becomes `<method>_<path words>`
/// (`get_v1_people_id`) on each of them; unique ids stay as they are.
fn unique_operation_ids(openapi: &mut OpenApi) {
    let mut uses: std::collections::HashMap<String, usize> = Default::default();
    for item in openapi.paths.paths.values_mut() {
        for (_, operation) in operations_mut(item) {
            if let Some(id) = &operation.operation_id {
                *uses.entry(id.clone()).or_default() += 1;
            }
        }
    }
    for (path, item) in openapi.paths.paths.iter_mut() {
        for (method, operation) in operations_mut(item) {
            let shared = operation
                .operation_id
                .as_ref()
                .is_some_and(|id| uses[id] > 1);
            if shared {
                let words = path
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .filter(|word| !word.is_empty());
                let id = std::iter::once(method).chain(words).collect::<Vec<_>>();
                operation.operation_id = Some(id.join("_"));
            }
        }
    }
}

fn unsigned_maxima_without_int64(operation: &mut Operation) {
    let parameters = operation.parameters.iter_mut().flatten();
    for parameter in parameters {
        if let RefOr::T(parameter) = parameter
            && let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut()
            && let Some(Number::UInt(maximum)) = schema.maximum
            && maximum as u64 > i64::MAX as u64
        {
            schema.format = None;
        }
    }
}

fn problems_as_problem_json(operation: &mut Operation) {
    for response in operation.responses.responses.values_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let Some(RefOr::T(json)) = response.content.get("application/json") else {
            continue;
        };
        let is_problem =
            matches!(&json.schema, Some(RefOr::Ref(r)) if r.ref_location == PROBLEM_SCHEMA);
        if is_problem && let Some(content) = response.content.shift_remove("application/json") {
            response
                .content
                .insert(PROBLEM_CONTENT_TYPE.to_owned(), content);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::{
        ContentBuilder, PathItem, PathsBuilder, Ref, ResponseBuilder, path::HttpMethod,
        path::OperationBuilder,
    };

    fn document_with(path: &str, content_type: &str, schema: &str) -> OpenApi {
        let response = ResponseBuilder::new()
            .description("x")
            .content(
                content_type,
                ContentBuilder::new().schema(Some(Ref::new(schema))).build(),
            )
            .build();
        let operation = OperationBuilder::new().response("400", response).build();
        let mut openapi = OpenApi::default();
        openapi.paths = PathsBuilder::new()
            .path(path, PathItem::new(HttpMethod::Get, operation))
            .build();
        openapi
    }

    fn content_types(openapi: &OpenApi, path: &str) -> Vec<String> {
        let operation = openapi.paths.paths[path].get.as_ref().unwrap();
        let RefOr::T(response) = &operation.responses.responses["400"] else {
            panic!("a reference")
        };
        response.content.keys().cloned().collect()
    }

    #[test]
    fn a_problem_is_documented_as_problem_json() {
        let mut openapi = document_with("/a", "application/json", PROBLEM_SCHEMA);
        finish(&mut openapi);
        assert_eq!(content_types(&openapi, "/a"), [PROBLEM_CONTENT_TYPE]);
    }

    #[test]
    fn other_json_answers_stay_json() {
        let mut openapi = document_with("/a", "application/json", "#/components/schemas/Person");
        finish(&mut openapi);
        assert_eq!(content_types(&openapi, "/a"), ["application/json"]);
    }

    #[test]
    fn shared_operation_ids_are_made_unique_and_others_kept() {
        let operation = |id: &str| OperationBuilder::new().operation_id(Some(id)).build();
        let mut openapi = OpenApi::default();
        openapi.paths = PathsBuilder::new()
            .path(
                "/v1/people/{id}",
                PathItem::new(HttpMethod::Get, operation("fetch")),
            )
            .path(
                "/resources/data/{id}",
                PathItem::new(HttpMethod::Get, operation("fetch")),
            )
            .path(
                "/v1/events",
                PathItem::new(HttpMethod::Post, operation("ingest")),
            )
            .build();
        finish(&mut openapi);
        let id = |path: &str, item: fn(&PathItem) -> &Option<Operation>| {
            item(&openapi.paths.paths[path])
                .as_ref()
                .unwrap()
                .operation_id
                .clone()
                .unwrap()
        };
        assert_eq!(id("/v1/people/{id}", |i| &i.get), "get_v1_people_id");
        assert_eq!(
            id("/resources/data/{id}", |i| &i.get),
            "get_resources_data_id"
        );
        assert_eq!(id("/v1/events", |i| &i.post), "ingest");
    }

    #[test]
    fn a_u64_maximum_past_int64_drops_the_int64_format() {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{ObjectBuilder, Type};
        let integer = |maximum: usize| {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Int64,
                )))
                .maximum(Some(maximum))
                .build()
        };
        let parameter = |name: &str, maximum: usize| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .schema(Some(integer(maximum)))
                .build()
        };
        let operation = OperationBuilder::new()
            .parameter(parameter("huge", usize::MAX))
            .parameter(parameter("small", 100))
            .build();
        let mut openapi = OpenApi::default();
        openapi.paths = PathsBuilder::new()
            .path("/a", PathItem::new(HttpMethod::Get, operation))
            .build();
        finish(&mut openapi);
        let document = serde_json::to_value(&openapi).unwrap();
        let parameters = &document["paths"]["/a"]["get"]["parameters"];
        assert!(parameters[0]["schema"]["format"].is_null(), "{parameters}");
        assert_eq!(parameters[1]["schema"]["format"], "int64");
    }

    #[test]
    fn a_catch_all_segment_is_a_plain_parameter() {
        let mut openapi = document_with("/echo/anything/{*path}", "text/plain", PROBLEM_SCHEMA);
        finish(&mut openapi);
        let paths: Vec<_> = openapi.paths.paths.keys().cloned().collect();
        assert_eq!(paths, ["/echo/anything/{path}"]);
    }
}
