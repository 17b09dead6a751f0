//! The one door to Insight's use cases: accounts and their sessions,
//! projects, sharing and transfer, surveys, responses, API tokens, signed
//! links, the Salesforce link (link, unlink, switch, test), mappings and the
//! transition, and the delivery worker. `App::build` makes them from one
//! `Config`; callers get domain types and plain views, never the store.
//! Handlers call these; they never talk to the database or Salesforce
//! themselves.

pub mod accounts;
pub mod backfill;
pub mod consent;
pub mod delivery;
pub mod dry_run;
pub mod error;
pub mod integration;
pub mod mapping_json;
pub mod metrics;
pub mod invitations;
pub mod link;
pub mod mail;
pub mod ownership;
pub mod projects;
pub mod responses;
pub mod response_table;
pub mod results;
pub mod salesforce_words;
pub mod schema_drift;
pub mod sessions;
pub mod sharing;
pub mod signed_links;
pub mod signup;
pub mod sobject;
pub mod startup;
pub mod surveys;
pub mod tokens;
pub mod triggers;

pub use error::AppError;
pub use startup::{generate_secret_key, migrate, now_ms, redact_url, App, Config, SalesforceConfig, StartError};

use domain::Environment;
use salesforce::{ClientSecret, ConnectedApp, MyDomain, TrustedHosts};
use url::Url;

/// The Salesforce connected app and login hosts this Insight server uses,
/// read once at start.
#[derive(Clone)]
pub struct SalesforceSettings {
    pub app: ConnectedApp,
    /// `https://login.salesforce.com`, or the emulator's production host.
    pub production_login_url: Url,
    /// `https://test.salesforce.com`, or the emulator's sandbox host.
    pub sandbox_login_url: Url,
    pub http: reqwest::Client,
    /// One session per link, shared by everything that works with it.
    pub sessions: std::sync::Arc<sessions::LinkSessions>,
    /// Recent describes, per org and object.
    pub describes: std::sync::Arc<integration::DescribeCache>,
    /// How deliveries keep within each org's API budget.
    pub budget: delivery::BudgetSettings,
    /// When backlogs go through the Bulk API 2.0.
    pub bulk: delivery::BulkSettings,
    /// How long a call that would not be full waits for more records.
    pub linger: std::time::Duration,
    /// What the delivery worker counts for `/metrics`: the app's own.
    pub metrics: std::sync::Arc<metrics::Metrics>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{what} is not a URL: {value}")]
    NotAUrl { what: &'static str, value: String },
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

impl std::fmt::Debug for SalesforceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceSettings")
            .field("client_id", &self.app.client_id)
            .field("production_login_url", &self.production_login_url.as_str())
            .field("sandbox_login_url", &self.sandbox_login_url.as_str())
            .field("trusted_hosts", &self.app.trusted_hosts)
            .finish()
    }
}

impl SalesforceSettings {
    /// `trusted_hosts` are origins besides Salesforce's own that may receive
    /// the client secret and tokens (the emulator's, in tests and demos); the
    /// two login URLs are trusted as configured.
    pub fn new(
        client_id: String,
        client_secret: String,
        redirect_uri: &str,
        production_login_url: &str,
        sandbox_login_url: &str,
        trusted_hosts: &[String],
    ) -> Result<SalesforceSettings, SettingsError> {
        let parse = |what, value: &str| Url::parse(value).map_err(|_| SettingsError::NotAUrl { what, value: value.to_string() });
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let production_login_url = parse("INSIGHT_SALESFORCE_LOGIN_URL", production_login_url)?;
        let sandbox_login_url = parse("INSIGHT_SALESFORCE_SANDBOX_LOGIN_URL", sandbox_login_url)?;
        let mut trusted = TrustedHosts::none().with(&production_login_url).with(&sandbox_login_url);
        for host in trusted_hosts.iter().map(|h| h.trim()).filter(|h| !h.is_empty()) {
            let url = parse("INSIGHT_SALESFORCE_TRUSTED_HOSTS", host)?;
            if !url.origin().is_tuple() || !url.username().is_empty() || url.password().is_some() {
                return Err(SettingsError::NotAUrl { what: "INSIGHT_SALESFORCE_TRUSTED_HOSTS", value: host.to_string() });
            }
            trusted.trust(&url);
        }
        Ok(SalesforceSettings {
            app: ConnectedApp {
                client_id,
                client_secret: ClientSecret::new(client_secret),
                redirect_uri: parse("the OAuth callback URL", redirect_uri)?,
                trusted_hosts: trusted,
            },
            production_login_url,
            sandbox_login_url,
            http,
            sessions: Default::default(),
            describes: Default::default(),
            budget: Default::default(),
            bulk: Default::default(),
            linger: delivery::DEFAULT_LINGER,
            metrics: Default::default(),
        })
    }

    /// Reads the My Domain field of Setup Link: empty means none; anything
    /// else must be a Salesforce My Domain (or a trusted host).
    pub fn parse_my_domain(&self, input: &str) -> Result<Option<MyDomain>, link::LinkError> {
        let input = input.trim();
        if input.is_empty() {
            return Ok(None);
        }
        MyDomain::parse(input, &self.app.trusted_hosts)
            .map(Some)
            .map_err(|reason| link::LinkError::BadMyDomain { input: input.chars().take(100).collect(), reason })
    }

    /// Where to sign in: the My Domain when given, else the environment's login host.
    pub fn login_url(&self, environment: Environment, my_domain: Option<&MyDomain>) -> Url {
        match my_domain {
            Some(d) => d.url().clone(),
            None => match environment {
                Environment::Production => self.production_login_url.clone(),
                Environment::Sandbox => self.sandbox_login_url.clone(),
            },
        }
    }

    /// Origins whose login pages Sign In may redirect to (besides My Domains).
    pub fn login_origins(&self) -> Vec<String> {
        self.app.trusted_hosts.origins()
    }
}
