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
mod rate_limit;
mod salesforce;
mod secrets;
mod serving;
mod state;
mod time_fmt;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::Router;
use std::net::SocketAddr;
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;

pub use error::WebError;
pub use rate_limit::RateLimit;
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
    /// What one client may ask of the server.
    pub limits: Limits,
    /// Where mail goes (`INSIGHT_SMTP_URL`, `INSIGHT_MAIL_FROM`). Without it
    /// mail is still queued in the outbox, and sent once a server with a
    /// mail transport runs.
    pub mail: Option<app::mail::MailSettings>,
    /// How the mail worker retries.
    pub mail_worker: app::mail::MailWorkerSettings,
}

/// How much one client, or one account, may ask of the server before it is
/// told to wait. The defaults leave room for a person (mistyped passwords,
/// a whole office answering a survey from behind one address) and none for
/// a script.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Sign-ins for one email, from any address.
    pub sign_in_per_account: RateLimit,
    /// Sign-ins and sign-ups from one client address, for any account.
    pub sign_in_per_address: RateLimit,
    /// Survey responses posted from one client address.
    pub submissions_per_address: RateLimit,
    /// Password hashes and checks computed at once (each takes ~19 MiB).
    pub password_checks_at_once: usize,
    /// Password checks that may wait for a slot; more are refused with 503.
    pub password_checks_waiting: usize,
    pub connections: ConnectionLimits,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            sign_in_per_account: RateLimit::new(10, Duration::from_secs(15 * 60), 5),
            sign_in_per_address: RateLimit::new(100, Duration::from_secs(15 * 60), 30),
            submissions_per_address: RateLimit::new(60, Duration::from_secs(60), 60),
            password_checks_at_once: auth::passwords::PasswordWork::default_at_once(),
            password_checks_waiting: 256,
            connections: ConnectionLimits::default(),
        }
    }
}

/// What a connection may take: time to send a request, time idle, and how
/// many connections may be open at once.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// From when the server waits for a request (a new connection, or the
    /// previous response sent) to its last header line.
    pub header_read_timeout: Duration,
    /// For a request's whole body.
    pub body_timeout: Duration,
    /// A connection on which nothing is received or sent for this long is
    /// closed (a client that stops reading its response, say).
    pub idle_timeout: Duration,
    /// Connections open at once; more wait to be accepted.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
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
            .field("limits", &self.limits)
            .field("mail", &self.mail)
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
            limits: Limits::default(),
            mail: None,
            mail_worker: app::mail::MailWorkerSettings::default(),
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
    connections: ConnectionLimits,
    mailer: Option<std::sync::Arc<app::mail::Mailer>>,
    mail_worker: app::mail::MailWorkerSettings,
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
        // Derived from INSIGHT_SECRET_KEY rather than drawn per process, so a
        // form shown by one `insight serve` can be posted to another.
        let secret_key = config.secret_key.as_deref().ok_or_else(|| anyhow::anyhow!("INSIGHT_SECRET_KEY is required"))?;
        let form_key = secrets::derive_key(secret_key.trim(), "insight pre-sign-in form CSRF v1");
        let state = AppState::new(store, public_url, config.session_lifetime, salesforce, config.delivery_lease, form_key, &config.limits);
        let router = router(state.clone()).layer(axum::middleware::from_fn_with_state(
            (config.limits.connections.body_timeout, MAX_BODY_BYTES),
            serving::body_deadline,
        ));
        let mailer = match &config.mail {
            Some(settings) => Some(std::sync::Arc::new(app::mail::Mailer::new(settings)?)),
            None => {
                tracing::warn!("no mail transport configured: mail is queued in the outbox but not sent");
                None
            }
        };
        Ok(Application { listener, router, state, connections: config.limits.connections, mailer, mail_worker: config.mail_worker })
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
        let forgetter = tokio::spawn(forget_recovered_clients(self.state.clone()));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        // The delivery worker runs beside the server; with no connected app
        // configured there is nothing it could deliver with.
        let lease = self.state.delivery_lease.as_millis() as i64;
        let worker = self.state.salesforce.clone().map(|settings| tokio::spawn(app::delivery::run(self.state.store.clone(), settings, lease, stopped.clone())));
        // The mail worker runs beside it, when mail has somewhere to go.
        let mail_worker = self.mailer.clone().map(|mailer| tokio::spawn(app::mail::run(self.state.store.clone(), mailer, self.mail_worker, stopped)));
        let served = serving::serve(self.listener, self.router, self.connections, shutdown).await;
        sweeper.abort();
        forgetter.abort();
        let _ = stop.send(true);
        for worker in [worker, mail_worker].into_iter().flatten() {
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
        if let Err(e) = app::signup::sweep(&store).await {
            tracing::warn!(error = %e, "sweeping old sign-ups failed");
        }
    }
}

/// Every minute, drop the rate-limit state of clients that have recovered.
async fn forget_recovered_clients(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        every.tick().await;
        state.forget_recovered_clients();
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

/// Headers on every answer. Pages, exports and API answers carry responses,
/// CSRF tokens or secrets shown once, so nothing may keep them (`no-store`
/// unless a route chose its own caching). `Referrer-Policy: same-origin`
/// sends no Referer to other sites at all: survey links carry their slug
/// and embedded data in the URL, and no other site needs to know where its
/// visitor came from. HSTS only when people reach us over https, since a
/// browser would otherwise refuse a plain-http installation afterwards.
fn hardening_headers(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    let router = router
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")));
    if state.is_https() {
        // No includeSubDomains: sibling hosts of the public URL are not ours to pin.
        router.layer(SetResponseHeaderLayer::overriding(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000")))
    } else {
        router
    }
}

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
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
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, content_security_policy(&state)));
    hardening_headers(routes, &state)
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
