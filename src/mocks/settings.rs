//! `mocks.*` settings.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::mocks::proxy::{ProxySettings, ProxyTarget};
use crate::setting;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MocksSettings {
    /// Requests kept in the request journal (a ring buffer; 0 turns it off).
    #[serde(with = "setting::value")]
    pub journal_size: usize,
    /// Largest body kept per journal entry; the rest is cut (and the entry says so).
    #[serde(with = "setting::size")]
    pub max_journal_body: usize,
    /// Bytes of bodies kept across the journal; the oldest entries go first.
    #[serde(with = "setting::size")]
    pub journal_bodies_size: usize,
    /// On PostgreSQL, one journal for every process on the database (so
    /// `verify` through any process sees every process's requests); off, each
    /// process keeps its own in memory. No effect on SQLite.
    #[serde(with = "setting::value")]
    pub journal_shared: bool,
    /// A WireMock root (`mappings/`, `__files/`) whose stubs are loaded at start-up.
    #[serde(with = "setting::value")]
    pub mappings_dir: Option<PathBuf>,
    /// An OpenAPI document (JSON or YAML), or a folder of them, whose
    /// operations are served as mocks: loaded at start-up as
    /// `POST /__admin/openapi` loads one, named after the file.
    #[serde(with = "setting::value")]
    pub openapi: Option<PathBuf>,
    /// Keep credential headers (`Authorization`, `Proxy-Authorization`, `X-API-Key`,
    /// `Cookie` values) in the journal as sent; otherwise they are kept redacted.
    #[serde(with = "setting::value")]
    pub journal_credentials: bool,
    /// Largest body file (`PUT /__admin/files/{name}`, a mappings folder's `__files`).
    #[serde(with = "setting::size")]
    pub max_file_size: usize,
    /// Where webhooks may connect: every address a webhook's host resolves to
    /// must be in one of these networks (a webhook is a request the server
    /// makes for whoever created the stub).
    #[serde(with = "setting::value")]
    pub webhook_allowed_networks: Vec<IpNet>,
    /// Webhooks waiting or being sent at once; past it a webhook is dropped.
    #[serde(with = "setting::positive")]
    pub webhook_max_pending: usize,
    /// Longest time one webhook attempt may take, answer included.
    #[serde(with = "setting::positive_duration")]
    pub webhook_timeout: Duration,
    /// Further attempts after a webhook gets no answer or a 5xx.
    #[serde(with = "setting::value")]
    pub webhook_retries: u32,
    /// Webhook attempts kept for `GET /__admin/webhooks`, the oldest going
    /// first; 0 keeps none.
    #[serde(with = "setting::value")]
    pub webhook_attempts_kept: usize,
    /// Where proxy stubs (`proxyBaseUrl`) may forward requests: host names
    /// (`api.example.com`), a name's subdomains (`*.example.com`), and
    /// networks (`127.0.0.0/8`), which a target's addresses must be inside
    /// once resolved. Empty, the default: no stub may proxy, since a proxy
    /// stub lets whoever may create stubs reach what this server can.
    #[serde(with = "setting::value")]
    pub proxy_allowed_targets: Vec<ProxyTarget>,
    /// Longest wait for a proxy target's response headers, and for each
    /// next piece of its body.
    #[serde(with = "setting::positive_duration")]
    pub proxy_timeout: Duration,
    /// A PEM file of CA certificates that https proxy targets may also be
    /// signed by, beside the system's.
    #[serde(with = "setting::value")]
    pub proxy_ca_file: Option<PathBuf>,
}

impl Default for MocksSettings {
    fn default() -> Self {
        MocksSettings {
            journal_size: 10_000,
            max_journal_body: 64 * 1024,
            journal_bodies_size: 16 * 1024 * 1024,
            journal_shared: true,
            mappings_dir: None,
            openapi: None,
            journal_credentials: false,
            max_file_size: 10 * 1024 * 1024,
            webhook_allowed_networks: vec![
                IpNet::new_assert(Ipv4Addr::new(127, 0, 0, 0).into(), 8),
                IpNet::new_assert(Ipv6Addr::LOCALHOST.into(), 128),
            ],
            webhook_max_pending: 1000,
            webhook_timeout: Duration::from_secs(10),
            webhook_retries: 2,
            webhook_attempts_kept: 1000,
            proxy_allowed_targets: Vec::new(),
            proxy_timeout: Duration::from_secs(30),
            proxy_ca_file: None,
        }
    }
}

impl From<&MocksSettings> for crate::mocks::webhook::WebhookSettings {
    fn from(settings: &MocksSettings) -> Self {
        crate::mocks::webhook::WebhookSettings {
            allowed_networks: settings.webhook_allowed_networks.clone(),
            max_pending: settings.webhook_max_pending,
            timeout: settings.webhook_timeout,
            retries: settings.webhook_retries,
            kept_attempts: settings.webhook_attempts_kept,
        }
    }
}

impl From<&MocksSettings> for ProxySettings {
    fn from(settings: &MocksSettings) -> Self {
        ProxySettings {
            allowed: settings.proxy_allowed_targets.clone(),
            timeout: settings.proxy_timeout,
            ca_file: settings.proxy_ca_file.clone(),
        }
    }
}
