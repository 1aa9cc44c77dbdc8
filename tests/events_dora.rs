//! DORA over several services, over HTTP on both backends: without `service`,
//! every figure is the combination of the per-service answers (counts added,
//! rates from the added counts, percentiles over the pooled samples), so an
//! incident or a recovery never crosses from one service to another.

mod common;

use common::{Backend, TestApp};
use serde_json::{Value, json};

on_both_backends!(
    an_incident_without_a_sha_stays_in_its_service,
    a_failed_deployment_recovers_at_its_own_services_next_success,
    the_next_deployment_after_the_window_is_per_service,
    every_figure_over_all_services_combines_the_per_service_answers,
);

async fn get_json(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn post_events(app: &TestApp, events: &Value) {
    let response = app
        .client
        .post(app.url("/v1/events"))
        .json(events)
        .send()
        .await
        .expect("the events are posted");
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(status, 201, "{body}");
}

fn at(hour: u32, minute: u32) -> String {
    format!("2024-05-01T{hour:02}:{minute:02}:00Z")
}

fn deploy(id: &str, service: &str, time: String, result: &str) -> Value {
    json!({"id": id, "time": time, "kind": "deploy", "service": service,
           "environment": "production", "sha": id, "result": result})
}

fn incident_opened(id: &str, service: &str, time: String) -> Value {
    json!({"id": id, "time": time, "kind": "incident_opened", "service": service,
           "environment": "production"})
}

/// Issue #28, item 4: two services, each with one deployment and one
/// incident (no sha) after it. Each service alone has 1 of 1 deployments
/// failed; both together must have 2 of 2, not "1 of 2" (both incidents
/// pinned on b1, the latest deployment of any service).
async fn an_incident_without_a_sha_stays_in_its_service(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    post_events(
        &app,
        &json!([
            deploy("a1", "a", at(10, 0), "success"),
            deploy("b1", "b", at(11, 0), "success"),
            incident_opened("inc-b", "b", at(11, 20)),
            incident_opened("inc-a", "a", at(11, 30)),
        ]),
    )
    .await;
    let window = "from=2024-05-01&to=2024-05-02";
    for service in ["a", "b"] {
        let dora = get_json(&app, &format!("/v1/dora?service={service}&{window}")).await;
        let cfr = &dora["change_failure_rate"];
        assert_eq!(cfr["deployments"], 1, "{service}: {dora}");
        assert_eq!(cfr["failed_deployments"], 1, "{service}: {dora}");
        assert_eq!(cfr["incidents"], 1, "{service}: {dora}");
    }
    let dora = get_json(&app, &format!("/v1/dora?{window}")).await;
    let cfr = &dora["change_failure_rate"];
    assert_eq!(cfr["deployments"], 2, "{dora}");
    assert_eq!(cfr["failed_deployments"], 2, "{dora}");
    assert_eq!(cfr["incidents"], 2, "{dora}");
    assert_eq!(cfr["rate"], 1.0, "{dora}");
    app.stop().await;
}

/// Issue #28, item 4: c fails at 10:00 and succeeds at 12:00; d deploys at
/// 10:05 in between. c recovered in 7,200 s, with or without `service`.
async fn a_failed_deployment_recovers_at_its_own_services_next_success(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    post_events(
        &app,
        &json!([
            deploy("c1", "c", at(10, 0), "failure"),
            deploy("d1", "d", at(10, 5), "success"),
            deploy("c2", "c", at(12, 0), "success"),
        ]),
    )
    .await;
    let window = "from=2024-05-01&to=2024-05-02";
    for path in [
        format!("/v1/dora?service=c&{window}"),
        format!("/v1/dora?{window}"),
    ] {
        let dora = get_json(&app, &path).await;
        let recovery = &dora["failed_deployment_recovery_time"];
        assert_eq!(recovery["recoveries"], 1, "{path}: {dora}");
        assert_eq!(recovery["median_seconds"], 7200.0, "{path}: {dora}");
    }
    app.stop().await;
}

/// The first deployment after the window — which ends a failure begun in
/// the window and cuts off later incidents — is the same service's.
async fn the_next_deployment_after_the_window_is_per_service(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    post_events(
        &app,
        &json!([
            deploy("c1", "c", at(9, 0), "success"),
            deploy("c2", "c", at(10, 0), "failure"),
            // After the window (to 11:00).
            deploy("d1", "d", at(11, 30), "success"),
            incident_opened("inc-c", "c", at(11, 45)),
            deploy("c3", "c", at(12, 0), "success"),
        ]),
    )
    .await;
    let window = "from=2024-05-01T00:00:00Z&to=2024-05-01T11:00:00Z";
    for path in [
        format!("/v1/dora?service=c&{window}"),
        format!("/v1/dora?{window}"),
    ] {
        let dora = get_json(&app, &path).await;
        // c2 recovers at c3 (7,200 s), not at d1.
        let recovery = &dora["failed_deployment_recovery_time"];
        assert_eq!(recovery["recoveries"], 1, "{path}: {dora}");
        assert_eq!(recovery["median_seconds"], 7200.0, "{path}: {dora}");
        // inc-c opened before c's next deployment: it is c1's.
        let cfr = &dora["change_failure_rate"];
        assert_eq!(cfr["incidents"], 1, "{path}: {dora}");
        assert_eq!(cfr["failed_deployments"], 2, "{path}: {dora}");
    }
    app.stop().await;
}

/// A small deterministic generator (a linear congruential one): the same
/// seed gives the same events on every run and both backends.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const SERVICES: [&str; 3] = ["a", "b", "c"];
/// 2024-05-01T00:00:00Z in seconds.
const T0: u64 = 1_714_521_600;
const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// Three days of commits, deployments (some failed, shas shared between
/// services) and incidents (with and without a sha, edited, resolved or not)
/// in three services, all in environment `env-{seed}` so that seeds do not
/// see each other.
fn generated(seed: u64) -> Vec<Value> {
    let mut rng = Rng(seed);
    let environment = format!("env-{seed}");
    let mut events = Vec::new();
    let shas: Vec<String> = (0..6).map(|k| format!("s{seed}-sha{k}")).collect();
    for (k, sha) in shas.iter().enumerate() {
        if rng.chance(80) {
            events.push(json!({"id": format!("s{seed}-commit{k}"), "kind": "commit",
                "time": T0 + rng.below(2 * DAY), "sha": sha, "service": "a"}));
        }
    }
    for k in 0..24 {
        let service = SERVICES[rng.below(3) as usize];
        let result = if rng.chance(25) { "failure" } else { "success" };
        events.push(json!({"id": format!("s{seed}-deploy{k}"), "kind": "deploy",
            "time": T0 + rng.below(3 * DAY), "service": service,
            "environment": environment, "sha": shas[rng.below(6) as usize], "result": result}));
    }
    for k in 0..10 {
        let service = SERVICES[rng.below(3) as usize];
        let id = format!("s{seed}-inc{k}");
        let opened = T0 + rng.below(3 * DAY);
        let sha = rng.chance(30).then(|| shas[rng.below(6) as usize].clone());
        let event = |suffix: &str, kind: &str, time: u64| {
            json!({"id": format!("{id}-{suffix}"), "kind": kind, "time": time,
                "service": service, "environment": environment, "sha": sha,
                "attributes": {"incident_id": id}})
        };
        events.push(event("open", "incident_opened", opened));
        if rng.chance(30) {
            let edited = opened + 5 * MINUTE;
            events.push(event("edit", "incident_opened", edited));
        }
        if rng.chance(70) {
            let resolved = opened + (5 + rng.below(600)) * MINUTE;
            events.push(event("resolve", "incident_resolved", resolved));
        }
    }
    events
}

fn u(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("{value} is a count"))
}

/// The field `metric.field` summed over the per-service answers.
fn sum(parts: &[Value], metric: &str, field: &str) -> u64 {
    parts.iter().map(|p| u(&p[metric][field])).sum()
}

/// A percentile over the pooled samples of several services: absent when no
/// service has a sample, that service's when only one has, and otherwise
/// between the smallest and the largest of the services' (true of any
/// nearest-rank percentile of a union).
fn check_pooled(all: &Value, parts: &[Value], metric: &str, count: &str, field: &str, at: &str) {
    let with_samples: Vec<f64> = parts
        .iter()
        .filter(|p| u(&p[metric][count]) > 0)
        .map(|p| p[metric][field].as_f64().expect("a sample statistic"))
        .collect();
    let pooled = &all[metric][field];
    match with_samples.as_slice() {
        [] => assert!(pooled.is_null(), "{at}: {metric}.{field}: {all}"),
        [one] => assert_eq!(pooled.as_f64(), Some(*one), "{at}: {metric}.{field}"),
        many => {
            let low = many.iter().copied().fold(f64::INFINITY, f64::min);
            let high = many.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let value = pooled.as_f64().expect("a pooled statistic");
            assert!(
                (low..=high).contains(&value),
                "{at}: {metric}.{field} {value} is outside [{low}, {high}]"
            );
        }
    }
}

/// For generated events in three services and several windows (cutting
/// through failures and incidents), every figure of `/v1/dora` without
/// `service` against the per-service answers for the same window.
async fn every_figure_over_all_services_combines_the_per_service_answers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let seeds = 1..=12;
    let events: Vec<Value> = seeds.clone().flat_map(generated).collect();
    post_events(&app, &Value::Array(events)).await;
    let windows = [
        (T0, T0 + 3 * DAY),
        (T0 + 12 * HOUR, T0 + 2 * DAY),
        (T0 + DAY, T0 + DAY + 7 * HOUR),
        (T0 + 2 * DAY + 3 * HOUR, T0 + 4 * DAY),
    ];
    let mut nontrivial = 0;
    for seed in seeds {
        for (from, to) in windows {
            let query = format!("environment=env-{seed}&from={from}&to={to}");
            let at = format!("seed {seed}, {query}");
            let all = get_json(&app, &format!("/v1/dora?{query}")).await;
            let mut parts = Vec::new();
            for service in SERVICES {
                parts.push(get_json(&app, &format!("/v1/dora?service={service}&{query}")).await);
            }

            let frequency = &all["deployment_frequency"];
            let deployments = sum(&parts, "deployment_frequency", "deployments");
            assert_eq!(u(&frequency["deployments"]), deployments, "{at}: {all}");
            let days = frequency["days"].as_f64().expect("days");
            let per_day = frequency["per_day"].as_f64().expect("per_day");
            assert!((per_day - deployments as f64 / days).abs() < 1e-9, "{at}");
            let band = if per_day >= 1.0 {
                "elite"
            } else if per_day * 7.0 >= 1.0 {
                "high"
            } else if per_day * 30.0 >= 1.0 {
                "medium"
            } else {
                "low"
            };
            assert_eq!(frequency["band"], band, "{at}");

            for field in ["changes", "without_start"] {
                let expected = sum(&parts, "lead_time_for_changes", field);
                let got = u(&all["lead_time_for_changes"][field]);
                assert_eq!(got, expected, "{at}: lead_time_for_changes.{field}: {all}");
            }
            for field in ["median_seconds", "p90_seconds"] {
                check_pooled(&all, &parts, "lead_time_for_changes", "changes", field, &at);
            }

            let cfr = &all["change_failure_rate"];
            for field in [
                "deployments",
                "failed_deployments",
                "failed_by_result",
                "incidents",
            ] {
                let expected = sum(&parts, "change_failure_rate", field);
                assert_eq!(
                    u(&cfr[field]),
                    expected,
                    "{at}: change_failure_rate.{field}: {all}"
                );
            }
            let attempts = sum(&parts, "change_failure_rate", "deployments");
            let failed = sum(&parts, "change_failure_rate", "failed_deployments");
            if attempts == 0 {
                assert!(cfr["rate"].is_null(), "{at}");
            } else {
                let rate = failed as f64 / attempts as f64;
                let got = cfr["rate"].as_f64().expect("a rate");
                assert!((got - rate).abs() < 1e-12, "{at}: rate {got}, not {rate}");
            }

            let recovery = "failed_deployment_recovery_time";
            for field in ["recoveries", "unresolved_incidents"] {
                let expected = sum(&parts, recovery, field);
                let got = u(&all[recovery][field]);
                assert_eq!(got, expected, "{at}: {recovery}.{field}: {all}");
            }
            for field in ["median_seconds", "p90_seconds"] {
                check_pooled(&all, &parts, recovery, "recoveries", field, &at);
            }
            if sum(&parts, "change_failure_rate", "incidents") > 0
                && sum(&parts, recovery, "recoveries") > 1
            {
                nontrivial += 1;
            }
        }
    }
    // The generator does exercise attribution and pooling.
    assert!(
        nontrivial > 10,
        "only {nontrivial} windows with incidents and recoveries"
    );
    app.stop().await;
}
