//! Insight's web server: server-rendered pages for accounts, projects,
//! surveys and responses; the respondent's public survey pages; the JSON API
//! and its OpenAPI document.
//!
//! Handlers turn HTTP into calls of `app` and its results into pages and
//! JSON; they never reach the database or Salesforce themselves (this crate
//! does not depend on `store`). `Application::build` makes the whole server
//! from one `Config` — the `app::App` it builds from `Config::app`, plus
//! what is the web server's own — and binds it, so tests start the real
//! thing on port 0.

mod api;
mod assets;
mod auth;
mod error;
mod notes;
pub mod metrics;
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

/// Everything the server needs, read once at start: the use cases'
/// configuration, and what is the web server's own.
#[derive(Clone, Debug)]
pub struct Config {
    /// The database, the secret key, the Salesforce connected app, the
    /// delivery lease, where mail goes, and the address people reach the server at (links in
    /// pages and exports, the OAuth callback), which defaults to `http://`
    /// and the bound address.
    pub app: app::Config,
    pub bind: SocketAddr,
    pub session_lifetime: Duration,
    /// What one client may ask of the server.
    pub limits: Limits,
    /// Who may read `/metrics` (nobody, by default).
    pub metrics: metrics::MetricsAccess,
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

pub use app::SalesforceConfig;

impl Config {
    pub fn new(database_url: impl Into<String>, bind: SocketAddr) -> Config {
        Config { app: app::Config::new(database_url), bind, session_lifetime: Duration::from_secs(14 * 24 * 3600), limits: Limits::default(), metrics: Default::default() }
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
    /// `/metrics` on an address of its own, when configured.
    metrics: Option<(tokio::net::TcpListener, Router)>,
}

impl Application {
    /// Binds the listener and builds the application on it (see `build_on`).
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.bind))?;
        Self::build_on(listener, config).await
    }

    /// Builds on a listener bound beforehand, for when something else (the
    /// demo's emulator, a test) must know Insight's address first: the
    /// public URL defaults to it, then `app::App::build` connects, migrates
    /// and checks the secret key.
    pub async fn build_on(listener: tokio::net::TcpListener, config: Config) -> anyhow::Result<Application> {
        let addr = listener.local_addr()?;
        let public_url = config
            .app
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"))
            .trim_end_matches('/')
            .to_string();
        let mut app_config = config.app.clone();
        app_config.public_url = Some(public_url.clone());
        let app = app::App::build(&app_config).await?;
        // Derived from INSIGHT_SECRET_KEY rather than drawn per process, so a
        // form shown by one `insight serve` can be posted to another.
        let secret_key = app_config.secret_key.as_deref().ok_or_else(|| anyhow::anyhow!("INSIGHT_SECRET_KEY is required"))?;
        let form_key = secrets::derive_key(secret_key.trim(), "insight pre-sign-in form CSRF v1");
        let state = AppState::new(app, public_url, config.session_lifetime, form_key, &config.limits);
        let mut main = router(state.clone());
        if let Some(token) = config.metrics.token.as_deref() {
            main = main.merge(metrics::router(state.app.clone(), Some(token)));
        }
        let metrics = match config.metrics.bind {
            Some(bind) => {
                let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| anyhow::anyhow!("cannot listen for metrics on {bind}: {e}"))?;
                Some((listener, metrics::router(state.app.clone(), config.metrics.token.as_deref())))
            }
            None => None,
        };
        let router = main.layer(axum::middleware::from_fn_with_state(
            (config.limits.connections.body_timeout, MAX_BODY_BYTES),
            serving::body_deadline,
        ));
        if !state.app.sends_mail() {
            tracing::warn!("no mail transport configured: mail is queued in the outbox but not sent");
        }
        Ok(Application { listener, router, state, connections: config.limits.connections, metrics })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    /// Where `/metrics` is served on an address of its own, if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    pub fn public_url(&self) -> &str {
        &self.state.public_url
    }

    /// The use cases this server turns HTTP into (the demo seeds through it).
    pub fn app(&self) -> &app::App {
        &self.state.app
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    /// The delivery, mail, trigger, schema-check and search-index workers run
    /// beside the server.
    pub async fn run_until(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let sweeper = tokio::spawn(sweep_forever(self.state.app.clone()));
        let forgetter = tokio::spawn(forget_recovered_clients(self.state.clone()));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let app = self.state.app.clone();
        let mail_stopped = stopped.clone();
        let worker = tokio::spawn(async move { app.run_deliveries(stopped).await });
        // The mail worker runs beside it, when mail has somewhere to go.
        let mail_app = self.state.app.clone();
        let mail_worker = tokio::spawn(async move { mail_app.run_mail(mail_stopped).await });
        // And the trigger worker, which turns Salesforce notifications into invitations.
        let trigger_app = self.state.app.clone();
        let trigger_stopped = stop.subscribe();
        let trigger_worker = tokio::spawn(async move { trigger_app.run_triggers(trigger_stopped).await });
        // And the scheduled schema check of mapped projects (see app::schema_drift).
        let schema_app = self.state.app.clone();
        let schema_stopped = stop.subscribe();
        let schema_checks = tokio::spawn(async move { schema_app.run_schema_checks(schema_stopped).await });
        // And the responses' text index for the table's search (see app::response_table).
        let index_app = self.state.app.clone();
        let index_stopped = stop.subscribe();
        let search_indexer = tokio::spawn(async move { index_app.run_search_indexer(index_stopped).await });
        let metrics = self.metrics.map(|(listener, router)| tokio::spawn(metrics::serve_alone(listener, router, std::future::pending())));
        let served = serving::serve(self.listener, self.router, self.connections, shutdown).await;
        if let Some(m) = metrics {
            m.abort();
        }
        sweeper.abort();
        forgetter.abort();
        let _ = stop.send(true);
        let _ = worker.await;
        let _ = mail_worker.await;
        let _ = trigger_worker.await;
        let _ = schema_checks.await;
        let _ = search_indexer.await;
        served
    }
}

/// Every quarter hour, forget expired sessions and stale sign-ins.
async fn sweep_forever(app: app::App) {
    let mut every = tokio::time::interval(Duration::from_secs(15 * 60));
    loop {
        every.tick().await;
        match app.sweep().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "swept expired sessions, sign-ins and sign-ups"),
            Err(e) => tracing::warn!(error = %e, "sweeping expired sessions failed"),
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
    if let Some(origins) = state.app.salesforce_login_origins() {
        for origin in origins {
            form_action.push(' ');
            form_action.push_str(&origin);
        }
        form_action.push_str(" https://*.my.salesforce.com");
    }
    let policy = format!("default-src 'self'; style-src 'self'; form-action {form_action}; frame-ancestors 'none'");
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
        .merge(assets::router())
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
pub use app::projects::new_survey_slug;
