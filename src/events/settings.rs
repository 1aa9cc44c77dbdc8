//! `events.*` settings.

use serde::{Deserialize, Deserializer, Serialize};

use crate::setting::{self, Secret, SettingValue};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsSettings {
    /// HMAC secret of GitHub webhooks; GitHub webhooks are refused while unset.
    #[serde(with = "setting::value")]
    pub github_secret: Option<Secret>,
    /// Token GitLab webhooks must send; GitLab webhooks are refused while unset.
    #[serde(with = "setting::value")]
    pub gitlab_token: Option<Secret>,
    /// HMAC secret of PagerDuty v3 webhooks; PagerDuty webhooks are refused while unset.
    #[serde(with = "setting::value")]
    pub pagerduty_secret: Option<Secret>,
    /// Token Opsgenie webhooks must send (`X-Opsgenie-Token`); refused while unset.
    #[serde(with = "setting::value")]
    pub opsgenie_token: Option<Secret>,
    /// Token Jenkins must send (`Authorization: Bearer`, or as the password of
    /// HTTP Basic auth, which is what the Notification plugin sends from a
    /// URL's user info); Jenkins webhooks are refused while unset.
    #[serde(with = "setting::value")]
    pub jenkins_token: Option<Secret>,
    /// Token Argo CD notifications must send (`Authorization: Bearer`,
    /// `X-Echobase-Token` or Basic auth); Argo CD webhooks are refused while unset.
    #[serde(with = "setting::value")]
    pub argocd_token: Option<Secret>,
    /// A Jenkins job whose name or URL holds this (any case) is a deploy job:
    /// each completed build of it is a `deploy` event.
    #[serde(deserialize_with = "label", serialize_with = "setting::show")]
    pub jenkins_deploy_job: String,
    /// The GitHub issue label that makes an issue an incident.
    #[serde(deserialize_with = "label", serialize_with = "setting::show")]
    pub incident_label: String,
    /// A GitHub Actions workflow whose name or path holds this (any case) is a
    /// deploy: each completed run of it is a `deploy` event.
    #[serde(deserialize_with = "label", serialize_with = "setting::show")]
    pub github_deploy_workflow: String,
    /// Largest `limit` of `GET /v1/events` (events per page).
    #[serde(with = "setting::positive")]
    pub max_per_page: u32,
    /// Longest NDJSON line (`POST /v1/events:ndjson`, `events import`);
    /// a longer line is rejected without being parsed.
    #[serde(
        deserialize_with = "line_size",
        serialize_with = "setting::size::serialize"
    )]
    pub max_line_size: usize,
    /// Rejected records an ingest report describes; the rest are only counted.
    #[serde(with = "setting::value")]
    pub max_reported_errors: usize,
}

impl Default for EventsSettings {
    fn default() -> Self {
        EventsSettings {
            github_secret: None,
            gitlab_token: None,
            pagerduty_secret: None,
            opsgenie_token: None,
            jenkins_token: None,
            argocd_token: None,
            jenkins_deploy_job: "deploy".into(),
            incident_label: "incident".into(),
            github_deploy_workflow: "deploy".into(),
            max_per_page: 1000,
            max_line_size: 1024 * 1024,
            max_reported_errors: 100,
        }
    }
}

fn label<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    setting::read(deserializer, |value| {
        let label = String::from_setting(value)?;
        match label.trim() {
            "" => Err("must not be empty".into()),
            trimmed => Ok(trimmed.to_owned()),
        }
    })
}

fn line_size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    setting::read(deserializer, |value| match setting::parse_size(value)? {
        0 => Err("must be at least 1 byte".into()),
        size => Ok(size),
    })
}
