//! The deployment webhooks of Jenkins (the Notification plugin) and Argo CD
//! (notifications), on both backends, with fixtures written from each tool's
//! documentation and source (`tests/data/events/README.md` names them):
//! what becomes a deploy, what is ignored and with which status, the token,
//! the route while the token is unset, and replays.

mod common;

use common::deliveries::{basic_auth, deliver, fixture};
use common::{Backend, TestApp};
use echobase::config::Secret;
use serde_json::{Value, json};

const JENKINS_TOKEN: &str = "jenkins-token-7";
const ARGOCD_TOKEN: &str = "argocd-token-9";

on_both_backends!(
    jenkins_completed_builds_are_deploys_with_their_result,
    jenkins_other_phases_and_jobs_are_ignored_with_202,
    jenkins_refuses_a_missing_or_wrong_token,
    jenkins_is_off_until_its_token_is_set,
    jenkins_replays_store_nothing,
    argocd_finished_syncs_are_deploys_with_their_result,
    argocd_unfinished_and_unknown_phases_are_ignored_with_202,
    argocd_refuses_a_missing_or_wrong_token,
    argocd_replays_store_nothing,
);

async fn app_with_tokens(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |s| {
        s.events.jenkins_token = Some(Secret::new(JENKINS_TOKEN));
        s.events.argocd_token = Some(Secret::new(ARGOCD_TOKEN));
    })
    .await
}

fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON")
}

/// A Notification plugin delivery, authenticated as the plugin does: HTTP
/// Basic auth from the endpoint URL's user info, the token as password.
async fn jenkins(app: &TestApp, payload: &Value, authorization: &str) -> (u16, Value) {
    let headers = [
        ("content-type", "application/json;charset=UTF-8"),
        ("authorization", authorization),
    ];
    deliver(app, "/v1/webhooks/jenkins", &headers, bytes(payload)).await
}

fn jenkins_basic() -> String {
    basic_auth("jenkins", JENKINS_TOKEN)
}

/// An Argo CD notification with the token in the header the docs configure.
async fn argocd(app: &TestApp, payload: &Value, token: &str) -> (u16, Value) {
    let authorization = format!("Bearer {token}");
    let headers = [
        ("content-type", "application/json"),
        ("authorization", authorization.as_str()),
    ];
    deliver(app, "/v1/webhooks/argocd", &headers, bytes(payload)).await
}

/// The events of `service`, oldest first.
async fn events_of(app: &TestApp, service: &str) -> Vec<Value> {
    let page = app
        .get_json(&format!("/v1/events?service={service}&order=asc"))
        .await;
    page["events"].as_array().cloned().unwrap_or_default()
}

fn assert_stored(status: u16, body: &Value, stored: u64) {
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stored"], json!(stored), "{body}");
    assert_eq!(body["replayed"], json!(false), "{body}");
}

fn assert_ignored(status: u16, body: &Value, reason_holds: &str) {
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["stored"], json!(0), "{body}");
    let reason = body["ignored"].as_str().unwrap_or_default();
    assert!(reason.contains(reason_holds), "`{reason_holds}` in {body}");
}

async fn jenkins_completed_builds_are_deploys_with_their_result(backend: Backend) {
    let Some(app) = app_with_tokens(backend).await else {
        return;
    };
    let (status, body) = jenkins(
        &app,
        &fixture("jenkins/completed-success.json"),
        &jenkins_basic(),
    )
    .await;
    assert_stored(status, &body, 1);
    let bearer = format!("Bearer {JENKINS_TOKEN}");
    let (status, body) = jenkins(&app, &fixture("jenkins/completed-failure.json"), &bearer).await;
    assert_stored(status, &body, 1);

    let events = events_of(&app, "checkout").await;
    assert_eq!(events.len(), 2, "{events:?}");
    let success = &events[0];
    assert_eq!(success["kind"], "deploy");
    assert_eq!(success["time"], "2024-05-01T10:01:33Z", "start + duration");
    assert_eq!(success["environment"], "production");
    assert_eq!(success["sha"], "9f3c2a1d8e7b6c5a4f3e2d1c0b9a8f7e6d5c4b3a");
    assert_eq!(success["result"], "success");
    assert_eq!(
        success["id"],
        "jenkins:https://jenkins.example.com/job/deploy-checkout/118/"
    );
    assert_eq!(success["attributes"]["job"], "deploy-checkout");
    assert_eq!(success["attributes"]["ref"], "origin/main");
    assert_eq!(events[1]["result"], "failure");

    // The failed build counts as a failed deployment in DORA.
    let dora = app
        .get_json("/v1/dora?service=checkout&from=2024-05-01&to=2024-05-02")
        .await;
    let failure_rate = &dora["change_failure_rate"];
    assert_eq!(failure_rate["deployments"], json!(2), "{dora}");
    assert_eq!(failure_rate["failed_by_result"], json!(1), "{dora}");

    // Without a SERVICE parameter the job names the service.
    let mut unnamed = fixture("jenkins/completed-success.json");
    unnamed["build"]["parameters"] = json!({"DEPLOY_ENV": "staging"});
    unnamed["build"]["full_url"] = json!("https://jenkins.example.com/job/deploy-checkout/121/");
    let (status, body) = jenkins(&app, &unnamed, &jenkins_basic()).await;
    assert_stored(status, &body, 1);
    let events = events_of(&app, "deploy-checkout").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["environment"], "staging");
    app.stop().await;
}

async fn jenkins_other_phases_and_jobs_are_ignored_with_202(backend: Backend) {
    let Some(app) = app_with_tokens(backend).await else {
        return;
    };
    let (status, body) = jenkins(&app, &fixture("jenkins/started.json"), &jenkins_basic()).await;
    assert_ignored(status, &body, "STARTED");
    let (status, body) = jenkins(
        &app,
        &fixture("jenkins/completed-success.json"),
        &jenkins_basic(),
    )
    .await;
    assert_stored(status, &body, 1);
    // FINALIZED repeats the COMPLETED build: taking it too would count it twice.
    let (status, body) = jenkins(
        &app,
        &fixture("jenkins/finalized-success.json"),
        &jenkins_basic(),
    )
    .await;
    assert_ignored(status, &body, "FINALIZED");

    let mut build_job = fixture("jenkins/completed-success.json");
    build_job["name"] = json!("checkout-tests");
    build_job["url"] = json!("job/checkout-tests/");
    build_job["build"]["full_url"] = json!("https://jenkins.example.com/job/checkout-tests/9/");
    let (status, body) = jenkins(&app, &build_job, &jenkins_basic()).await;
    assert_ignored(status, &body, "events.jenkins_deploy_job");

    let mut not_built = fixture("jenkins/completed-success.json");
    not_built["build"]["status"] = json!("NOT_BUILT");
    not_built["build"]["full_url"] = json!("https://jenkins.example.com/job/deploy-checkout/122/");
    let (status, body) = jenkins(&app, &not_built, &jenkins_basic()).await;
    assert_ignored(status, &body, "NOT_BUILT");

    let (status, body) = jenkins(&app, &json!({"name": "deploy-checkout"}), &jenkins_basic()).await;
    assert_eq!(status, 400, "no build object: {body}");
    assert_eq!(events_of(&app, "checkout").await.len(), 1);
    app.stop().await;
}

async fn jenkins_refuses_a_missing_or_wrong_token(backend: Backend) {
    let Some(app) = app_with_tokens(backend).await else {
        return;
    };
    let payload = fixture("jenkins/completed-success.json");
    for authorization in [
        basic_auth("jenkins", "wrong"),
        basic_auth(JENKINS_TOKEN, ""),
        format!("Bearer {ARGOCD_TOKEN}"),
        "Basic not-base64!".to_owned(),
    ] {
        let (status, body) = jenkins(&app, &payload, &authorization).await;
        assert_eq!(status, 401, "{authorization}: {body}");
    }
    let headers = [("content-type", "application/json")];
    let (status, _) = deliver(&app, "/v1/webhooks/jenkins", &headers, bytes(&payload)).await;
    assert_eq!(status, 401, "no token at all");
    let headers = [("x-echobase-token", JENKINS_TOKEN)];
    let (status, body) = deliver(&app, "/v1/webhooks/jenkins", &headers, bytes(&payload)).await;
    assert_stored(status, &body, 1);
    assert_eq!(
        events_of(&app, "checkout").await.len(),
        1,
        "only the authenticated one"
    );
    app.stop().await;
}

async fn jenkins_is_off_until_its_token_is_set(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let payload = fixture("jenkins/completed-success.json");
    let (status, body) = jenkins(&app, &payload, &jenkins_basic()).await;
    assert_eq!(status, 503, "{body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("events.jenkins_token"), "{body}");
    let (status, body) = argocd(&app, &fixture("argocd/sync-succeeded.json"), ARGOCD_TOKEN).await;
    assert_eq!(status, 503, "{body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("events.argocd_token"), "{body}");
    app.stop().await;
}

async fn jenkins_replays_store_nothing(backend: Backend) {
    let Some(app) = app_with_tokens(backend).await else {
        return;
    };
    let payload = fixture("jenkins/completed-success.json");
    let (status, body) = jenkins(&app, &payload, &jenkins_basic()).await;
    assert_stored(status, &body, 1);
    let (status, body) = jenkins(&app, &payload, &jenkins_basic()).await;
    assert_eq!((status, &body["replayed"]), (200, &json!(true)), "{body}");
    assert_eq!(body["stored"], json!(0), "{body}");
    assert_eq!(
        body["delivery"],
        "https://jenkins.example.com/job/deploy-checkout/118/:COMPLETED"
    );
    assert_eq!(events_of(&app, "checkout").await.len(), 1);
    app.stop().await;
}

async fn argocd_finished_syncs_are_deploys_with_their_result(backend: Backend) {
    let Some(app) = app_with_tokens(backend).await else {
        return;
    };
    let (status, body) = argocd(&app, &fixture("argocd/sync-succeeded.json"), ARGOCD_TOKEN).await;
    assert_stored(status, &body, 1);
    let (status, body) = argocd(&app, &fixture("argocd/sync-failed.json"), ARGOCD_TOKEN).await;
    assert_stored(status, &body, 1);
    let mut error = fixture("argocd/sync-failed.json");
    error["phase"] = json!("Error");
    error["finishedAt"] = json!("2024-05-01T11:30:00Z");
    let (status, body) = argocd(&app, &error, ARGOCD_TOKEN).await;
    assert_stored(status, &body, 1);

    let events = events_of(&app, "checkout").await;
    assert_eq!(events.len(), 3, "{events:?}");
    let deployed = &events[0];
    assert_eq!(deployed["kind"], "deploy");
    assert_eq!(deployed["time"], "2024-05-01T10:01:33Z", "finishedAt");
    assert_eq!(deployed["result"], "success");
    assert_eq!(deployed["environment"], "production");
    assert_eq!(deployed["sha"], "9f3c2a1d8e7b6c5a4f3e2d1c0b9a8f7e6d5c4b3a");
    assert_eq!(deployed["actor"], "amy");
    assert_eq!(
        deployed["attributes"]["cluster"],
        "https://kubernetes.default.svc"
    );
    assert_eq!(deployed["attributes"]["namespace"], "checkout");
    let failed = &events[1];
    assert_eq!(failed["result"], "failure");
    assert_eq!(
        failed["actor"],
        Value::Null,
        "an automated sync names no user"
    );
    assert_eq!(failed["attributes"]["cluster"], "in-cluster");
    assert_eq!(events[2]["result"], "failure", "Error is a failure too");
    app.stop().await;
}

async fn argocd_unfinished_and_unknown_phases_are_ignored_with_202(backend: Backend) {
    let Some(app) = app_with_tokens(backend).await else {
        return;
    };
    let (status, body) = argocd(&app, &fixture("argocd/sync-running.json"), ARGOCD_TOKEN).await;
    assert_ignored(status, &body, "Running");
    let mut unknown = fixture("argocd/sync-succeeded.json");
    unknown["phase"] = json!("Paused");
    let (status, body) = argocd(&app, &unknown, ARGOCD_TOKEN).await;
    assert_ignored(status, &body, "Paused");

    let mut unrendered = fixture("argocd/sync-succeeded.json");
    unrendered["finishedAt"] = json!("<no value>");
    let (status, body) = argocd(&app, &unrendered, ARGOCD_TOKEN).await;
    assert_eq!(status, 400, "a finished sync needs its time: {body}");
    let (status, body) = argocd(&app, &json!(["not", "an", "object"]), ARGOCD_TOKEN).await;
    assert_eq!(status, 400, "{body}");
    let headers = [("authorization", "Bearer argocd-token-9")];
    let (status, body) = deliver(&app, "/v1/webhooks/argocd", &headers, b"{".to_vec()).await;
    assert_eq!(status, 400, "not JSON: {body}");
    assert!(events_of(&app, "checkout").await.is_empty());
    app.stop().await;
}

async fn argocd_refuses_a_missing_or_wrong_token(backend: Backend) {
    let Some(app) = app_with_tokens(backend).await else {
        return;
    };
    let payload = fixture("argocd/sync-succeeded.json");
    let (status, body) = argocd(&app, &payload, JENKINS_TOKEN).await;
    assert_eq!(status, 401, "another source's token: {body}");
    let (status, _) = argocd(&app, &payload, "").await;
    assert_eq!(status, 401, "an empty bearer token");
    let headers = [("x-echobase-token", "argocd-token-8")];
    let (status, _) = deliver(&app, "/v1/webhooks/argocd", &headers, bytes(&payload)).await;
    assert_eq!(status, 401);
    assert!(events_of(&app, "checkout").await.is_empty());

    // The custom header, and Basic auth (the service's `basicAuth`), work too.
    let headers = [("x-echobase-token", ARGOCD_TOKEN)];
    let (status, body) = deliver(&app, "/v1/webhooks/argocd", &headers, bytes(&payload)).await;
    assert_stored(status, &body, 1);
    let basic = basic_auth("argocd", ARGOCD_TOKEN);
    let headers = [("authorization", basic.as_str())];
    let failed = fixture("argocd/sync-failed.json");
    let (status, body) = deliver(&app, "/v1/webhooks/argocd", &headers, bytes(&failed)).await;
    assert_stored(status, &body, 1);
    app.stop().await;
}

async fn argocd_replays_store_nothing(backend: Backend) {
    let Some(app) = app_with_tokens(backend).await else {
        return;
    };
    let payload = fixture("argocd/sync-succeeded.json");
    let (status, body) = argocd(&app, &payload, ARGOCD_TOKEN).await;
    assert_stored(status, &body, 1);
    let (status, body) = argocd(&app, &payload, ARGOCD_TOKEN).await;
    assert_eq!((status, &body["replayed"]), (200, &json!(true)), "{body}");
    assert_eq!(body["stored"], json!(0), "{body}");
    // Another field changed: the key is the sync's, so still a replay.
    let mut relabelled = payload.clone();
    relabelled["url"] = json!("https://argocd.example.com/applications/argocd/checkout");
    let (status, body) = argocd(&app, &relabelled, ARGOCD_TOKEN).await;
    assert_eq!((status, &body["replayed"]), (200, &json!(true)), "{body}");
    // The same sync's time written another way (a second template): a new
    // delivery, but the same deploy, so nothing more is stored.
    let mut rewritten = payload.clone();
    rewritten["finishedAt"] = json!("2024-05-01T10:01:33.000Z");
    let (status, body) = argocd(&app, &rewritten, ARGOCD_TOKEN).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["replayed"], json!(false), "{body}");
    assert_eq!(
        (&body["stored"], &body["duplicates"]),
        (&json!(0), &json!(1)),
        "{body}"
    );
    assert_eq!(events_of(&app, "checkout").await.len(), 1);
    app.stop().await;
}
