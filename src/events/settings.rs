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
    /// The GitHub issue label that makes an issue an incident.
    #[serde(deserialize_with = "label", serialize_with = "setting::show")]
    pub incident_label: String,
}

impl Default for EventsSettings {
    fn default() -> Self {
        EventsSettings {
            github_secret: None,
            gitlab_token: None,
            incident_label: "incident".into(),
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
