//! Insight's use cases that span the store and Salesforce: linking an account
//! to an org (and unlinking, testing, relinking), and which link a project's
//! Salesforce work runs with. Handlers call these; they never talk to
//! Salesforce themselves.

pub mod consent;
pub mod delivery;
pub mod error;
pub mod integration;
pub mod link;
pub mod ownership;
pub mod sessions;
pub mod signed_links;

pub use error::AppError;

use domain::Environment;
use salesforce::{ClientSecret, ConnectedApp};
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
            .finish()
    }
}

impl SalesforceSettings {
    pub fn new(
        client_id: String,
        client_secret: String,
        redirect_uri: &str,
        production_login_url: &str,
        sandbox_login_url: &str,
    ) -> Result<SalesforceSettings, SettingsError> {
        let parse = |what, value: &str| Url::parse(value).map_err(|_| SettingsError::NotAUrl { what, value: value.to_string() });
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(SalesforceSettings {
            app: ConnectedApp {
                client_id,
                client_secret: ClientSecret::new(client_secret),
                redirect_uri: parse("the OAuth callback URL", redirect_uri)?,
            },
            production_login_url: parse("INSIGHT_SALESFORCE_LOGIN_URL", production_login_url)?,
            sandbox_login_url: parse("INSIGHT_SALESFORCE_SANDBOX_LOGIN_URL", sandbox_login_url)?,
            http,
            sessions: Default::default(),
            describes: Default::default(),
        })
    }

    /// Where to sign in: a My Domain URL when given, else the environment's login host.
    pub fn login_url(&self, environment: Environment, my_domain: Option<&str>) -> Result<Url, link::LinkError> {
        match my_domain {
            Some(d) => {
                let url = Url::parse(d).map_err(|_| link::LinkError::BadMyDomain(d.to_string()))?;
                let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost"));
                if url.scheme() != "https" && !local {
                    return Err(link::LinkError::BadMyDomain(d.to_string()));
                }
                Ok(url)
            }
            None => Ok(match environment {
                Environment::Production => self.production_login_url.clone(),
                Environment::Sandbox => self.sandbox_login_url.clone(),
            }),
        }
    }
}
