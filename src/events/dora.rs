//! The four DORA software-delivery metrics, computed from deployments and
//! incidents with no I/O, so every rule here is unit-tested on numbers a
//! person can check by hand.
//!
//! Definitions used:
//! - **Deployment frequency**: successful deployments (result not `failure`,
//!   `failed` or `error`) in the window, per day and per week.
//! - **Lead time for changes**: for each sha, from the start of its change
//!   (its first `commit`, `stage` or `change_merged` event) to its first
//!   successful deployment in the window; a redeploy of a sha already deployed
//!   adds no sample. Median and 90th percentile (nearest rank). For the
//!   original data set this is stage-to-deploy of the same sha.
//! - **Change failure rate**: deployments (every attempt) that failed, either
//!   by their result or because an incident is attributed to them, over all
//!   deployments. An incident is attributed once, however many events it has
//!   (edits, relabels): to the latest successful deployment of its sha before
//!   it opened, or, without a sha, to the latest successful deployment before
//!   it opened (as Apache DevLake does).
//! - **Failed deployment recovery time**: for incidents first opened in the
//!   window and resolved, last resolution minus first opening; for failed
//!   deployments, the time to the next successful deployment.
//! - **Over several services** (no `service` asked for), each service is
//!   measured alone — its incidents attributed to its own deployments, its
//!   failed deployments recovered by its own next success — and the services
//!   are combined: counts added, rates from the added counts, medians and
//!   90th percentiles over the services' samples pooled. Events that name no
//!   service are one more service of their own.
//!
//! Performance bands follow the software delivery performance clusters of
//! the DORA *Accelerate State of DevOps Report* 2023 (also the 2024 report
//! where they agree), read as thresholds:
//!
//! | metric                  | elite              | high                 | medium                | low          |
//! |-------------------------|--------------------|----------------------|-----------------------|--------------|
//! | deployment frequency    | on demand: ≥1/day  | ≥1/week              | ≥1/month (30 days)    | less         |
//! | lead time (median)      | < 1 day            | ≤ 1 week             | ≤ 1 month (30 days)   | longer       |
//! | change failure rate     | ≤ 5 %              | ≤ 10 %               | ≤ 15 %                | more         |
//! | recovery time (median)  | < 1 hour           | < 1 day              | ≤ 1 week              | longer       |
//!
//! The 2023 report gives the change failure rate clusters as 5 %, 10 %, 15 %
//! and 64 %; the 2024 report's (5 %, 20 %, 10 %, 40 %) are not ordered, so the
//! 2023 values are used as upper bounds.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const WEEK_MS: i64 = 7 * DAY_MS;
const MONTH_MS: i64 = 30 * DAY_MS;

/// One deployment as the store reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentRecord {
    pub time_ms: i64,
    /// Its service: metrics over several services are computed per service.
    pub service: Option<String>,
    pub sha: Option<String>,
    /// Its result says it failed.
    pub failed: bool,
    /// The first commit, stage or merge of its sha, if any came before it.
    pub change_started_ms: Option<i64>,
    /// A successful deployment of the same sha came before it.
    pub redeploy: bool,
}

/// One event of an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentEvent {
    pub incident_id: String,
    pub time_ms: i64,
    /// Its service: an incident is attributed to its own service's deployments.
    pub service: Option<String>,
    /// Opened (or re-opened, edited, relabelled); else resolved.
    pub opened: bool,
    pub sha: Option<String>,
}

/// The first successful deployment (epoch milliseconds) after the window,
/// per service (`None`: events that name no service).
pub type NextDeployments = BTreeMap<Option<String>, i64>;

/// Everything the metrics need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoraInput {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Deployments in `[from_ms, to_ms)`, oldest first.
    pub deployments: Vec<DeploymentRecord>,
    /// Per service, the first successful deployment at or after `to_ms`:
    /// that service's incidents after it belong to it, not to the window.
    pub next_deployment_ms: NextDeployments,
    /// Incident events of any time.
    pub incidents: Vec<IncidentEvent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    Elite,
    High,
    Medium,
    Low,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeploymentFrequency {
    pub band: Band,
    /// Successful deployments in the window.
    pub deployments: u64,
    pub days: f64,
    pub per_day: f64,
    pub per_week: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LeadTime {
    /// `null` when no change has both a start and a deployment.
    pub band: Option<Band>,
    /// Changes (shas) measured.
    pub changes: u64,
    /// Deployed shas with no commit, stage or merge event before their deployment.
    pub without_start: u64,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
    /// How many changes took how long, cut where the bands are.
    pub distribution: LeadTimeDistribution,
}

/// Changes by lead time: a histogram with the bands' limits as its edges.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LeadTimeDistribution {
    /// Under an hour.
    pub under_hour: u64,
    /// An hour to under a day (with the above: elite).
    pub under_day: u64,
    /// A day to a week (high).
    pub under_week: u64,
    /// Over a week to a month (medium).
    pub under_month: u64,
    /// Over a month (low).
    pub longer: u64,
}

impl LeadTimeDistribution {
    fn of(samples_ms: &[i64]) -> Self {
        let mut counts = LeadTimeDistribution::default();
        for &sample in samples_ms {
            let bucket = if sample < HOUR_MS {
                &mut counts.under_hour
            } else if sample < DAY_MS {
                &mut counts.under_day
            } else if sample <= WEEK_MS {
                &mut counts.under_week
            } else if sample <= MONTH_MS {
                &mut counts.under_month
            } else {
                &mut counts.longer
            };
            *bucket += 1;
        }
        counts
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChangeFailureRate {
    /// `null` when there was no deployment.
    pub band: Option<Band>,
    /// Failed deployments over all deployments, 0 to 1.
    pub rate: Option<f64>,
    pub deployments: u64,
    pub failed_deployments: u64,
    /// Of those, failed by their own result.
    pub failed_by_result: u64,
    /// Distinct incidents attributed to a deployment in the window.
    pub incidents: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RecoveryTime {
    /// `null` when nothing failed and recovered in the window.
    pub band: Option<Band>,
    pub recoveries: u64,
    /// Incidents opened in the window and not resolved.
    pub unresolved_incidents: u64,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DoraMetrics {
    pub deployment_frequency: DeploymentFrequency,
    pub lead_time_for_changes: LeadTime,
    pub change_failure_rate: ChangeFailureRate,
    pub failed_deployment_recovery_time: RecoveryTime,
}

/// One incident, however many events it had.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Incident {
    opened_ms: i64,
    resolved_ms: Option<i64>,
    sha: Option<String>,
}

/// Folds incident events into incidents: first opening, last resolution (if
/// it is not followed by a re-opening), the first sha any event named.
fn incidents<'a>(events: &[&'a IncidentEvent]) -> BTreeMap<&'a str, Incident> {
    let mut opened: HashMap<&str, (i64, i64)> = HashMap::new();
    let mut resolved: HashMap<&str, i64> = HashMap::new();
    let mut shas: HashMap<&str, &str> = HashMap::new();
    let mut sorted: Vec<&IncidentEvent> = events.to_vec();
    sorted.sort_by_key(|e| e.time_ms);
    for event in sorted {
        let id = event.incident_id.as_str();
        if event.opened {
            let entry = opened.entry(id).or_insert((event.time_ms, event.time_ms));
            entry.1 = event.time_ms;
        } else {
            resolved.insert(id, event.time_ms);
        }
        if let Some(sha) = &event.sha {
            shas.entry(id).or_insert(sha);
        }
    }
    opened
        .into_iter()
        .map(|(id, (first, last_opened))| {
            let resolved_ms = resolved.get(id).copied().filter(|r| *r >= last_opened);
            (
                id,
                Incident {
                    opened_ms: first,
                    resolved_ms,
                    sha: shas.get(id).map(|s| (*s).to_owned()),
                },
            )
        })
        .collect()
}

pub fn compute(input: &DoraInput) -> DoraMetrics {
    // Each service is measured on its own (its deployments, its incidents,
    // its next deployment), then the services are added up: an incident or
    // a recovery never crosses from one service to another. Events with no
    // service are a group of their own.
    type Group<'a> = (Vec<&'a DeploymentRecord>, Vec<&'a IncidentEvent>);
    let mut groups: BTreeMap<Option<&str>, Group<'_>> = BTreeMap::new();
    for deployment in &input.deployments {
        groups
            .entry(deployment.service.as_deref())
            .or_default()
            .0
            .push(deployment);
    }
    for event in &input.incidents {
        groups
            .entry(event.service.as_deref())
            .or_default()
            .1
            .push(event);
    }
    let mut parts = Parts::default();
    for (service, (deployments, incidents)) in groups {
        let next = input
            .next_deployment_ms
            .get(&service.map(str::to_owned))
            .copied();
        parts.add(service_parts(input, &deployments, next, &incidents));
    }
    finish(input, parts)
}

/// What one service contributes: counts to add, samples to pool.
#[derive(Debug, Default)]
struct Parts {
    successful: u64,
    lead_samples: Vec<i64>,
    without_start: u64,
    deployments: u64,
    failed: u64,
    failed_by_result: u64,
    incidents: u64,
    recovery_samples: Vec<i64>,
    unresolved: u64,
}

impl Parts {
    fn add(&mut self, other: Parts) {
        self.successful += other.successful;
        self.lead_samples.extend(other.lead_samples);
        self.without_start += other.without_start;
        self.deployments += other.deployments;
        self.failed += other.failed;
        self.failed_by_result += other.failed_by_result;
        self.incidents += other.incidents;
        self.recovery_samples.extend(other.recovery_samples);
        self.unresolved += other.unresolved;
    }
}

/// One service's deployments (oldest first), incident events and next
/// deployment after the window.
fn service_parts(
    input: &DoraInput,
    deployments: &[&DeploymentRecord],
    next_deployment_ms: Option<i64>,
    incident_events: &[&IncidentEvent],
) -> Parts {
    let successful: Vec<usize> = (0..deployments.len())
        .filter(|i| !deployments[*i].failed)
        .collect();

    // Lead time: one sample per sha, at its first successful deployment.
    let mut seen = std::collections::HashSet::new();
    let mut lead_samples = Vec::new();
    let mut without_start = 0;
    for &i in &successful {
        let deployment = deployments[i];
        let Some(sha) = &deployment.sha else { continue };
        if deployment.redeploy || !seen.insert(sha.as_str()) {
            continue;
        }
        match deployment.change_started_ms {
            Some(start) if start <= deployment.time_ms => {
                lead_samples.push(deployment.time_ms - start)
            }
            _ => without_start += 1,
        }
    }

    // Change failure rate: attribute each incident once. Successful
    // deployments are in time order, so the latest before a time is a binary
    // search away, among all of them or among those of one sha.
    let mut successful_by_sha: HashMap<&str, Vec<usize>> = HashMap::new();
    for &i in &successful {
        if let Some(sha) = deployments[i].sha.as_deref() {
            successful_by_sha.entry(sha).or_default().push(i);
        }
    }
    let latest_at_or_before = |candidates: &[usize], time_ms: i64| {
        let at_or_before = candidates.partition_point(|&i| deployments[i].time_ms <= time_ms);
        at_or_before.checked_sub(1).map(|k| candidates[k])
    };
    let incidents = incidents(incident_events);
    let mut failed: Vec<bool> = deployments.iter().map(|d| d.failed).collect();
    let failed_by_result = failed.iter().filter(|f| **f).count() as u64;
    let mut attributed = 0;
    for incident in incidents.values() {
        if next_deployment_ms.is_some_and(|next| next <= incident.opened_ms) {
            continue;
        }
        // With a sha: the latest deployment of that sha before the incident;
        // without: the latest deployment before it.
        let culprit = match &incident.sha {
            Some(sha) => successful_by_sha
                .get(sha.as_str())
                .and_then(|of_sha| latest_at_or_before(of_sha, incident.opened_ms)),
            None => latest_at_or_before(&successful, incident.opened_ms),
        };
        if let Some(i) = culprit {
            failed[i] = true;
            attributed += 1;
        }
    }

    // Recovery: incidents opened in the window, and failed deployments.
    let mut recovery_samples = Vec::new();
    let mut unresolved = 0;
    for incident in incidents.values() {
        if incident.opened_ms < input.from_ms || incident.opened_ms >= input.to_ms {
            continue;
        }
        match incident.resolved_ms {
            Some(resolved) => recovery_samples.push(resolved - incident.opened_ms),
            None => unresolved += 1,
        }
    }
    for (i, deployment) in deployments.iter().enumerate() {
        if !deployment.failed {
            continue;
        }
        let recovered = deployments[i + 1..]
            .iter()
            .find(|d| !d.failed)
            .map(|d| d.time_ms)
            .or(next_deployment_ms);
        if let Some(recovered) = recovered {
            recovery_samples.push(recovered - deployment.time_ms);
        }
    }

    Parts {
        successful: successful.len() as u64,
        lead_samples,
        without_start,
        deployments: deployments.len() as u64,
        failed: failed.iter().filter(|f| **f).count() as u64,
        failed_by_result,
        incidents: attributed,
        recovery_samples,
        unresolved,
    }
}

/// The metrics and their bands from the services' parts added up.
fn finish(input: &DoraInput, parts: Parts) -> DoraMetrics {
    let Parts {
        successful: count,
        mut lead_samples,
        without_start,
        deployments,
        failed: failed_count,
        failed_by_result,
        incidents,
        mut recovery_samples,
        unresolved,
    } = parts;
    let window_ms = (input.to_ms - input.from_ms).max(1);
    let days = window_ms as f64 / DAY_MS as f64;

    let per_day = count as f64 / days;
    let frequency_band = if per_day >= 1.0 {
        Band::Elite
    } else if per_day * 7.0 >= 1.0 {
        Band::High
    } else if per_day * 30.0 >= 1.0 {
        Band::Medium
    } else {
        Band::Low
    };

    let lead_median = percentile(&mut lead_samples, 50);
    let lead_time = LeadTime {
        band: lead_median.map(|m| {
            if m < DAY_MS {
                Band::Elite
            } else if m <= WEEK_MS {
                Band::High
            } else if m <= MONTH_MS {
                Band::Medium
            } else {
                Band::Low
            }
        }),
        changes: lead_samples.len() as u64,
        without_start,
        median_seconds: lead_median.map(seconds),
        p90_seconds: percentile(&mut lead_samples, 90).map(seconds),
        distribution: LeadTimeDistribution::of(&lead_samples),
    };

    let rate = (deployments > 0).then(|| failed_count as f64 / deployments as f64);
    let change_failure_rate = ChangeFailureRate {
        band: rate.map(|r| {
            if r <= 0.05 {
                Band::Elite
            } else if r <= 0.10 {
                Band::High
            } else if r <= 0.15 {
                Band::Medium
            } else {
                Band::Low
            }
        }),
        rate,
        deployments,
        failed_deployments: failed_count,
        failed_by_result,
        incidents,
    };

    let recovery_median = percentile(&mut recovery_samples, 50);
    let recovery = RecoveryTime {
        band: recovery_median.map(|m| {
            if m < HOUR_MS {
                Band::Elite
            } else if m < DAY_MS {
                Band::High
            } else if m <= WEEK_MS {
                Band::Medium
            } else {
                Band::Low
            }
        }),
        recoveries: recovery_samples.len() as u64,
        unresolved_incidents: unresolved,
        median_seconds: recovery_median.map(seconds),
        p90_seconds: percentile(&mut recovery_samples, 90).map(seconds),
    };

    DoraMetrics {
        deployment_frequency: DeploymentFrequency {
            band: frequency_band,
            deployments: count,
            days,
            per_day,
            per_week: per_day * 7.0,
        },
        lead_time_for_changes: lead_time,
        change_failure_rate,
        failed_deployment_recovery_time: recovery,
    }
}

/// The nearest-rank percentile: the smallest sample with at least `p` % of
/// the samples at or below it.
fn percentile(samples: &mut [i64], p: u32) -> Option<i64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let n = samples.len();
    let rank = (usize::try_from(p).unwrap_or(100) * n).div_ceil(100).max(1);
    samples.get(rank - 1).copied()
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn deploy(hours: i64, sha: &str, started_hours: Option<i64>) -> DeploymentRecord {
        DeploymentRecord {
            time_ms: T0 + hours * HOUR_MS,
            service: None,
            sha: Some(sha.to_owned()),
            failed: false,
            change_started_ms: started_hours.map(|h| T0 + h * HOUR_MS),
            redeploy: false,
        }
    }

    fn incident(id: &str, hours: i64, opened: bool, sha: Option<&str>) -> IncidentEvent {
        IncidentEvent {
            incident_id: id.to_owned(),
            time_ms: T0 + hours * HOUR_MS,
            opened,
            service: None,
            sha: sha.map(str::to_owned),
        }
    }

    fn in_service(service: Option<&str>, deployment: DeploymentRecord) -> DeploymentRecord {
        DeploymentRecord {
            service: service.map(str::to_owned),
            ..deployment
        }
    }

    /// a deploys at 1 h and 7 h, b at 2 h, fails at 6 h and succeeds at
    /// 9 h, the events with no service deploy at 3 h. An incident of a (no
    /// sha) opens at 4 h, one with no service at 5 h.
    #[test]
    fn services_are_measured_apart_and_added_up() {
        let mut b_failed = in_service(Some("b"), deploy(6, "b2", None));
        b_failed.failed = true;
        let input = DoraInput {
            from_ms: T0,
            to_ms: T0 + DAY_MS,
            deployments: vec![
                in_service(Some("a"), deploy(1, "a1", Some(0))),
                in_service(Some("b"), deploy(2, "b1", Some(0))),
                in_service(None, deploy(3, "n1", Some(0))),
                b_failed,
                in_service(Some("a"), deploy(7, "a2", Some(0))),
                in_service(Some("b"), deploy(9, "b3", Some(0))),
            ],
            next_deployment_ms: NextDeployments::new(),
            incidents: vec![
                IncidentEvent {
                    service: Some("a".into()),
                    ..incident("ia", 4, true, None)
                },
                incident("in", 5, true, None),
            ],
        };
        let m = compute(&input);
        // a1 (ia, a's latest, not n1), n1 (in), b2 (result): 3 of 6.
        let cfr = &m.change_failure_rate;
        assert_eq!(cfr.deployments, 6);
        assert_eq!(cfr.failed_deployments, 3);
        assert_eq!(cfr.incidents, 2);
        // b2 recovers at b3 (3 h), not at a2 (1 h).
        let rec = &m.failed_deployment_recovery_time;
        assert_eq!(rec.recoveries, 1);
        assert_eq!(rec.median_seconds, Some(3.0 * 3600.0));
        assert_eq!(rec.unresolved_incidents, 2);
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let mut samples = vec![5, 1, 4, 2, 3];
        assert_eq!(percentile(&mut samples, 50), Some(3));
        assert_eq!(percentile(&mut samples, 90), Some(5));
        let mut ten: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&mut ten, 50), Some(5));
        assert_eq!(percentile(&mut ten, 90), Some(9));
        assert_eq!(percentile(&mut [], 50), None);
    }

    /// A week with five deployments, worked out by hand:
    ///
    /// | deploy | at (h) | sha | change start (h) | note                       |
    /// |--------|--------|-----|------------------|----------------------------|
    /// | d1     | 10     | a   | 0                | lead 10 h                  |
    /// | d2     | 30     | b   | 28               | lead 2 h; incident i1 (sha b) |
    /// | d3     | 50     | a   | 0                | redeploy of a: no sample   |
    /// | d4     | 80     | c   | -                | failed by result           |
    /// | d5     | 100    | c   | 60               | lead 40 h; incident i2 (no sha) |
    ///
    /// Incident i1 is opened at 31 h, edited at 33 h (a second "opened"
    /// event), resolved at 35 h: one incident, 4 h to recover. Incident i2
    /// opens at 120 h, never resolved. d4 recovers at d5: 20 h.
    fn week() -> DoraInput {
        let mut d4 = deploy(80, "c", None);
        d4.failed = true;
        let mut d3 = deploy(50, "a", Some(0));
        d3.redeploy = true;
        DoraInput {
            from_ms: T0,
            to_ms: T0 + 7 * DAY_MS,
            deployments: vec![
                deploy(10, "a", Some(0)),
                deploy(30, "b", Some(28)),
                d3,
                d4,
                deploy(100, "c", Some(60)),
            ],
            next_deployment_ms: NextDeployments::new(),
            incidents: vec![
                incident("i1", 31, true, Some("b")),
                incident("i1", 33, true, Some("b")),
                incident("i1", 35, false, None),
                incident("i2", 120, true, None),
            ],
        }
    }

    #[test]
    fn hand_computed_week() {
        let m = compute(&week());
        // 4 successful deployments in 7 days.
        assert_eq!(m.deployment_frequency.deployments, 4);
        assert!((m.deployment_frequency.per_week - 4.0).abs() < 1e-9);
        assert_eq!(m.deployment_frequency.band, Band::High);

        // Samples 10 h, 2 h, 40 h: median 10 h, p90 40 h.
        let lead = &m.lead_time_for_changes;
        assert_eq!(lead.changes, 3);
        assert_eq!(lead.median_seconds, Some(10.0 * 3600.0));
        assert_eq!(lead.p90_seconds, Some(40.0 * 3600.0));
        assert_eq!(lead.band, Some(Band::Elite));
        assert_eq!(
            lead.distribution,
            LeadTimeDistribution {
                under_day: 2,
                under_week: 1,
                ..Default::default()
            }
        );

        // d2 (i1 by sha), d4 (result), d5 (i2, the latest before it): 3 of 5.
        let cfr = &m.change_failure_rate;
        assert_eq!(cfr.deployments, 5);
        assert_eq!(cfr.failed_deployments, 3);
        assert_eq!(cfr.failed_by_result, 1);
        assert_eq!(cfr.incidents, 2, "i1 counts once despite its edit");
        assert_eq!(cfr.rate, Some(0.6));
        assert_eq!(cfr.band, Some(Band::Low));

        // Recoveries: i1 4 h, d4 20 h; median (nearest rank) 4 h.
        let rec = &m.failed_deployment_recovery_time;
        assert_eq!(rec.recoveries, 2);
        assert_eq!(rec.unresolved_incidents, 1);
        assert_eq!(rec.median_seconds, Some(4.0 * 3600.0));
        assert_eq!(rec.p90_seconds, Some(20.0 * 3600.0));
        assert_eq!(rec.band, Some(Band::High));
    }

    #[test]
    fn editing_an_incident_many_times_attributes_it_once() {
        let mut input = week();
        for hour in 31..60 {
            input.incidents.push(incident("i1", hour, true, Some("b")));
        }
        let m = compute(&input);
        assert_eq!(m.change_failure_rate.incidents, 2);
        assert_eq!(m.change_failure_rate.failed_deployments, 3);
    }

    #[test]
    fn an_incident_after_the_next_deployment_is_not_the_windows() {
        let mut input = week();
        input.next_deployment_ms = NextDeployments::from([(None, T0 + 110 * HOUR_MS)]);
        let m = compute(&input);
        // i2 (opened at 120 h) belongs to the deployment at 110 h.
        assert_eq!(m.change_failure_rate.incidents, 1);
        assert_eq!(m.change_failure_rate.failed_deployments, 2);
    }

    #[test]
    fn bands_at_their_thresholds() {
        let daily = DoraInput {
            from_ms: T0,
            to_ms: T0 + 2 * DAY_MS,
            deployments: vec![deploy(1, "a", Some(0)), deploy(2, "b", Some(0))],
            ..DoraInput::default()
        };
        let m = compute(&daily);
        assert_eq!(m.deployment_frequency.band, Band::Elite, "1 per day");
        assert_eq!(m.change_failure_rate.band, Some(Band::Elite));
        assert_eq!(
            m.failed_deployment_recovery_time.band, None,
            "nothing failed"
        );

        let monthly = DoraInput {
            from_ms: T0,
            to_ms: T0 + 30 * DAY_MS,
            deployments: vec![deploy(1, "a", Some(1 - 31 * 24))],
            ..DoraInput::default()
        };
        let m = compute(&monthly);
        assert_eq!(m.deployment_frequency.band, Band::Medium);
        assert_eq!(m.lead_time_for_changes.band, Some(Band::Low), "31 days");

        let empty = compute(&DoraInput {
            from_ms: T0,
            to_ms: T0 + DAY_MS,
            ..DoraInput::default()
        });
        assert_eq!(empty.deployment_frequency.band, Band::Low);
        assert_eq!(empty.change_failure_rate.rate, None);
        assert_eq!(empty.lead_time_for_changes.band, None);
    }

    #[test]
    fn a_deployment_without_a_change_start_is_counted_not_measured() {
        let input = DoraInput {
            from_ms: T0,
            to_ms: T0 + DAY_MS,
            deployments: vec![deploy(1, "a", None), deploy(2, "b", Some(1))],
            ..DoraInput::default()
        };
        let lead = compute(&input).lead_time_for_changes;
        assert_eq!(lead.changes, 1);
        assert_eq!(lead.without_start, 1);
        assert_eq!(lead.median_seconds, Some(3600.0));
    }
}
