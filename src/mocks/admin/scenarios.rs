//! Scenarios: their states, the stubs that name them, and setting them.

use std::sync::Arc;

use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::error::{AdminError, AdminResult, WireMockErrors};

/// WireMock's error code for a state no stub of the scenario names.
const SCENARIO_STATE_UNKNOWN: u16 = 11;
use super::{Json, TAG, empty, json_body, storage};
use crate::http::extract::Body;
use crate::http::{ApiError, FieldError};
use crate::mocks::engine::{Engine, SetScenario};
use crate::mocks::openapi::ScenarioStateSchema;
use crate::mocks::stub::STARTED;

/// Every scenario with its current state, its possible states and its stubs.
#[utoipa::path(get, path = "/__admin/scenarios", tag = TAG,
    responses((status = 200, description = "`{\"scenarios\": [{\"id\", \"name\", \"state\", \"possibleStates\", \"mappings\"}]}`", body = Value)))]
pub async fn list_scenarios(State(engine): State<Arc<Engine>>) -> AdminResult<Json> {
    let scenarios: Vec<Value> = engine
        .scenarios()
        .await
        .map_err(storage)?
        .into_iter()
        .map(|s| {
            let mappings: Vec<Value> = s.stubs.iter().map(|stub| stub.mapping()).collect();
            json!({
                "id": s.name,
                "name": s.name,
                "state": s.state,
                "possibleStates": s.possible_states,
                "mappings": mappings,
            })
        })
        .collect();
    Ok(axum::Json(json!({ "scenarios": scenarios })))
}

/// Every scenario back to `Started`.
#[utoipa::path(post, path = "/__admin/scenarios/reset", tag = TAG,
    responses((status = 200, description = "Reset", body = Value)))]
pub async fn reset_scenarios(State(engine): State<Arc<Engine>>) -> AdminResult<Json> {
    engine.reset_scenarios().await.map_err(storage)?;
    Ok(empty())
}

/// Put one scenario in a given state (`Started` when no state is given).
#[utoipa::path(put, path = "/__admin/scenarios/{name}/state", tag = TAG,
    params(("name" = String, Path, description = "The scenario's name")),
    request_body(content = ScenarioStateSchema, description = "`{\"state\": \"...\"}`"),
    responses(
        (status = 200, description = "Set", body = Value),
        (status = 422, description = "Not JSON, not an object, or a state the scenario's stubs do not name", body = WireMockErrors),
        (status = 404, description = "No stub mentions this scenario", body = WireMockErrors),
    ))]
pub async fn set_scenario_state(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
    body: Result<Body, ApiError>,
) -> AdminResult<Json> {
    let value = json_body(body)?;
    let state = match &value {
        Value::Object(fields) => match fields.get("state") {
            None | Some(Value::Null) => STARTED,
            Some(Value::String(state)) => state.as_str(),
            Some(_) => {
                return Err(ApiError::Validation(vec![FieldError::new(
                    "state",
                    "must be a string (or null for Started)",
                )])
                .into());
            }
        },
        _ => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "",
                "must be a JSON object such as {\"state\": \"Started\"}",
            )])
            .into());
        }
    };
    match engine.set_scenario(&name, state).await.map_err(storage)? {
        SetScenario::Set => Ok(empty()),
        SetScenario::NoSuchScenario => {
            Err(ApiError::NotFound(format!("Scenario {name} does not exist")).into())
        }
        SetScenario::NoSuchState(_) => Err(AdminError::Coded {
            error: ApiError::Validation(vec![FieldError::new(
                "state",
                format!("Scenario {name} does not support state {state}"),
            )]),
            code: SCENARIO_STATE_UNKNOWN,
        }),
    }
}
