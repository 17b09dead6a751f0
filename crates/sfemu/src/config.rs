//! Emulator configuration: orgs, users, connected apps, custom objects, limits.
//! Loaded from TOML or JSON (`EmulatorConfig::from_file`).

use crate::outbound::OutboundRule;
use crate::schema::{CustomFieldConfig, CustomObjectConfig};
use crate::versions::{ApiVersion, ServedVersions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmulatorConfig {
    pub orgs: Vec<OrgConfig>,
    #[serde(default)]
    pub connected_apps: Vec<ConnectedAppConfig>,
    /// Access token lifetime in seconds (Salesforce's default session timeout is 2 hours).
    #[serde(default = "default_token_lifetime")]
    pub token_lifetime_secs: u64,
    /// Default daily API request budget per org (an org may override it).
    #[serde(default = "default_api_limit")]
    pub api_daily_limit: u64,
    /// Multiplies outbound-message retry delays: 0.001 turns Salesforce's 15 s first retry into 15 ms.
    #[serde(default = "default_time_scale")]
    pub time_scale: f64,
    /// Custom objects present in every org.
    #[serde(default)]
    pub custom_objects: Vec<CustomObjectConfig>,
    /// Custom fields added to standard objects, keyed by object name.
    #[serde(default)]
    pub custom_fields: BTreeMap<String, Vec<CustomFieldConfig>>,
    /// Where to write the self-signed CA certificate (PEM). Default: a temp directory.
    #[serde(default)]
    pub tls_dir: Option<PathBuf>,
    /// SQLite file holding records, refresh/access tokens and approvals: loaded at start,
    /// every change written as it happens (see `persist`). A `.json` path (the old snapshot
    /// format) means `<same name>.sqlite`, importing the JSON snapshot once if present.
    #[serde(default)]
    pub persistence_path: Option<PathBuf>,
    /// The release after v68.0 (only "69.0"), served in addition to v31.0..=v68.0, as a
    /// preview-instance sandbox serves the next version before production. Default: none.
    #[serde(default)]
    pub next_api_version: Option<ApiVersion>,
    /// Bulk API 2.0: how long a closed ingest job waits before its rows are processed
    /// (milliseconds). While it is above 0, a job also stays `InProgress` until one job-info
    /// poll has seen it so (at most 5 s), so a client always observes that state. Default 10.
    #[serde(default = "default_bulk_delay")]
    pub bulk_processing_delay_ms: u64,
    /// Bulk API 2.0: the largest CSV upload accepted, in bytes. Salesforce takes 150 MB of
    /// base64-encoded content per upload and tells clients to send at most 100 MB of CSV;
    /// the default is those 100 MB. An upload is read up to this size and no further.
    #[serde(default = "default_bulk_upload")]
    pub bulk_max_upload_bytes: u64,
    /// The login page lists the usernames and passwords of its environment's users, for a
    /// demo where nobody knows them yet. Never on by default: a real login page does not.
    #[serde(default)]
    pub login_page_lists_users: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrgConfig {
    /// 15- or 18-char id starting with 00D; generated when absent.
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub is_sandbox: bool,
    #[serde(default)]
    pub users: Vec<UserConfig>,
    #[serde(default)]
    pub api_daily_limit: Option<u64>,
    #[serde(default)]
    pub outbound_rules: Vec<OutboundRule>,
    /// Records created at start (validated like REST creates), keyed by object name.
    #[serde(default)]
    pub records: BTreeMap<String, Vec<serde_json::Map<String, serde_json::Value>>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserConfig {
    #[serde(default)]
    pub id: Option<String>,
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default = "default_last_name")]
    pub last_name: String,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectedAppConfig {
    #[serde(default = "default_app_name")]
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
    /// Allowed redirect URIs (exact match). Empty: any redirect URI is accepted.
    #[serde(default)]
    pub callback_urls: Vec<String>,
    /// Username the client credentials flow runs as; that flow is refused when absent.
    #[serde(default)]
    pub client_credentials_user: Option<String>,
}

fn default_token_lifetime() -> u64 { 7200 }
fn default_api_limit() -> u64 { 100_000 }
fn default_time_scale() -> f64 { 1.0 }
fn default_bulk_delay() -> u64 { 10 }
fn default_bulk_upload() -> u64 { 100 * 1024 * 1024 }
fn default_last_name() -> String { "User".into() }
fn default_app_name() -> String { "Insight".into() }

impl EmulatorConfig {
    /// One production org and one sandbox org, a demo user in each, one connected app,
    /// and the custom object/fields Insight's demo uses.
    pub fn default_demo() -> Self {
        let toml_src = include_str!("../data/demo_config.toml");
        toml::from_str(toml_src).expect("embedded demo config is valid")
    }

    /// Load a TOML (`.toml`) or JSON (anything else starting with `{`) config file.
    pub fn from_file(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        Self::from_str_auto(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    pub fn from_str_auto(text: &str) -> anyhow::Result<Self> {
        let c: Self = if text.trim_start().starts_with('{') {
            serde_json::from_str(text)?
        } else {
            toml::from_str(text)?
        };
        c.validate()?;
        Ok(c)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(!self.orgs.is_empty(), "config has no orgs");
        let mut names = std::collections::HashSet::new();
        for o in &self.orgs {
            for u in &o.users {
                anyhow::ensure!(names.insert(u.username.to_lowercase()), "duplicate username {}", u.username);
            }
            if let Some(id) = &o.id {
                anyhow::ensure!(id.starts_with("00D") && crate::ids::parse(id).is_some(), "bad org id {id}");
            }
        }
        for c in &self.custom_objects {
            anyhow::ensure!(c.name.ends_with("__c"), "custom object {} must end in __c", c.name);
        }
        self.served_versions()?;
        Ok(())
    }

    /// The REST API versions this configuration serves.
    pub fn served_versions(&self) -> anyhow::Result<ServedVersions> {
        ServedVersions::new(self.next_api_version).map_err(anyhow::Error::msg)
    }
}
