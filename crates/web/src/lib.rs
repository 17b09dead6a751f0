//! Insight's web server: server-rendered pages for accounts, projects,
//! surveys and responses; the respondent's public survey pages; the JSON API
//! and its OpenAPI document.
//!
//! `Application::build` makes the whole server from one `Config` and binds
//! it, so tests start the real thing on port 0.

mod api;
mod auth;
mod error;
mod pages;
mod public;
mod salesforce;
mod secrets;
mod state;
mod time_fmt;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::Router;
use std::net::SocketAddr;
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;

pub use error::WebError;
pub use state::AppState;

/// Everything the server needs, read once at start.
#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub bind: SocketAddr,
    /// The address people reach the server at (links in pages and exports).
    /// Defaults to `http://` and the bound address.
    pub public_url: Option<String>,
    pub session_lifetime: Duration,
    /// `INSIGHT_SECRET_KEY`: seals Salesforce tokens at rest. Required; a
    /// missing key, a malformed one, or one that does not open this
    /// database's secrets stops the server at start with a clear message.
    pub secret_key: Option<String>,
    /// The Salesforce connected app; without it the link pages say who to ask.
    pub salesforce: Option<SalesforceConfig>,
    /// How long a delivery worker holds what it claimed; a crashed worker's
    /// deliveries are taken over when it runs out.
    pub delivery_lease: Duration,
}

/// The connected app registered in Salesforce for this Insight server, and
/// the login hosts (Salesforce's own, or the emulator's in tests and demos).
#[derive(Clone)]
pub struct SalesforceConfig {
    pub client_id: String,
    pub client_secret: String,
    pub production_login_url: String,
    pub sandbox_login_url: String,
    /// Origins besides Salesforce's own that may receive the client secret
    /// and tokens, and be entered as My Domain: the emulator's, in tests and
    /// demos (`INSIGHT_SALESFORCE_TRUSTED_HOSTS`). The two login URLs are
    /// trusted as configured.
    pub trusted_hosts: Vec<String>,
}

impl std::fmt::Debug for SalesforceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("production_login_url", &self.production_login_url)
            .field("sandbox_login_url", &self.sandbox_login_url)
            .field("trusted_hosts", &self.trusted_hosts)
            .finish()
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &store::redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("public_url", &self.public_url)
            .finish()
    }
}

impl Config {
    pub fn new(database_url: impl Into<String>, bind: SocketAddr) -> Config {
        Config {
            database_url: database_url.into(),
            bind,
            public_url: None,
            session_lifetime: Duration::from_secs(14 * 24 * 3600),
            secret_key: None,
            salesforce: None,
            delivery_lease: Duration::from_millis(app::delivery::DEFAULT_LEASE_MS as u64),
        }
    }
}

/// Request bodies above this are refused with 413: the largest honest form
/// (a survey with 200 long answers) stays well below it.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Connects to the database, migrates it, and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let store = store::Store::connect(&config.database_url).await?;
        store.migrate().await?;
        Self::build_with_store(config, store).await
    }

    pub async fn build_with_store(config: Config, store: store::Store) -> anyhow::Result<Application> {
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.bind))?;
        Self::build_on(listener, config, store).await
    }

    /// Builds on a listener bound beforehand, for when something else (the
    /// demo's emulator, a test) must know Insight's address first.
    pub async fn build_on(listener: tokio::net::TcpListener, config: Config, store: store::Store) -> anyhow::Result<Application> {
        let sealer = store::sealed::Sealer::from_encoded_key(config.secret_key.as_deref())?;
        let store = store.with_sealer(sealer);
        store.check_secret_key().await?;
        let addr = listener.local_addr()?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"))
            .trim_end_matches('/')
            .to_string();
        let salesforce = match &config.salesforce {
            Some(sf) => Some(app::SalesforceSettings::new(
                sf.client_id.clone(),
                sf.client_secret.clone(),
                &format!("{public_url}/salesforce/callback"),
                &sf.production_login_url,
                &sf.sandbox_login_url,
                &sf.trusted_hosts,
            )?),
            None => None,
        };
        let state = AppState::new(store, public_url, config.session_lifetime, salesforce, config.delivery_lease);
        let router = router(state.clone());
        Ok(Application { listener, router, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    pub fn public_url(&self) -> &str {
        &self.state.public_url
    }

    pub fn store(&self) -> &store::Store {
        &self.state.store
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let sweeper = tokio::spawn(sweep_forever(self.state.store.clone()));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        // The delivery worker runs beside the server; with no connected app
        // configured there is nothing it could deliver with.
        let lease = self.state.delivery_lease.as_millis() as i64;
        let worker = self.state.salesforce.clone().map(|settings| tokio::spawn(app::delivery::run(self.state.store.clone(), settings, lease, stopped)));
        let served = axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown).await;
        sweeper.abort();
        let _ = stop.send(true);
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        served
    }
}

/// Every quarter hour, forget expired sessions and stale sign-ins.
async fn sweep_forever(store: store::Store) {
    let mut every = tokio::time::interval(Duration::from_secs(15 * 60));
    loop {
        every.tick().await;
        match store.sweep(app::link::SIGN_IN_MAX_AGE_MS, app::link::SWITCH_MAX_AGE_MS).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "swept expired sessions and sign-ins"),
            Err(e) => tracing::warn!(error = %e, "sweeping expired sessions failed"),
        }
    }
}

/// Forms may post to this site only — except that Sign In redirects to a
/// Salesforce login host, and browsers apply `form-action` to that redirect
/// too: the configured login hosts and trusted hosts, and any My Domain
/// (`*.` in a CSP host matches subdomains at any depth, so sandbox and other
/// partitioned My Domains are covered too).
fn content_security_policy(state: &AppState) -> HeaderValue {
    let mut form_action = String::from("'self'");
    if let Some(sf) = &state.salesforce {
        for origin in sf.login_origins() {
            form_action.push(' ');
            form_action.push_str(&origin);
        }
        form_action.push_str(" https://*.my.salesforce.com");
    }
    let policy = format!("default-src 'self'; style-src 'self' 'unsafe-inline'; form-action {form_action}; frame-ancestors 'none'");
    HeaderValue::from_str(&policy).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'; form-action 'self'; frame-ancestors 'none'"))
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(auth::router())
        .merge(pages::router())
        .merge(public::router())
        .merge(api::router())
        .merge(salesforce::router())
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .fallback(|| async { WebError::NotFound })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, content_security_policy(&state)))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                // Path only: query strings may carry respondents' data.
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
            }),
        )
        .with_state(state)
}

/// For seeding accounts outside a request (the demo, benchmarks).
pub use auth::passwords::hash as hash_password;
/// A fresh survey link slug.
pub use secrets::slug as new_survey_slug;
