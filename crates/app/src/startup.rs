//! Building Insight from one configuration: `App::build` connects to the
//! database, migrates it, checks the secret key against what it sealed,
//! starts the response writer and reads the Salesforce settings. `serve`,
//! `worker`, `demo` and the tests all build the same `App` this way; the web
//! server adds only what is web's own (where it listens, its limits).

use crate::delivery;
use crate::link::{LinkError, SIGN_IN_MAX_AGE_MS, SWITCH_MAX_AGE_MS};
use crate::SalesforceSettings;
use std::sync::Arc;
use std::time::Duration;
use store::{ResponseWriter, Store};

/// Everything the use cases need, read once at start.
#[derive(Clone)]
pub struct Config {
    /// `sqlite://path/insight.db` (embedded) or `postgres://…`.
    pub database_url: String,
    /// `INSIGHT_SECRET_KEY`: seals Salesforce tokens at rest. Required; a
    /// missing key, a malformed one, or one that does not open this
    /// database's secrets stops the start with a clear message.
    pub secret_key: Option<String>,
    /// The address people reach Insight at: Salesforce sends its sign-ins
    /// back to `{public_url}/salesforce/callback`. The web server fills it
    /// in from the address it bound when none is configured.
    pub public_url: Option<String>,
    /// The connected app; without it the link pages say who to ask.
    pub salesforce: Option<SalesforceConfig>,
    /// How long a delivery worker holds what it claimed; a crashed worker's
    /// deliveries are taken over when it runs out.
    pub delivery_lease: Duration,
    /// Where mail goes (`INSIGHT_SMTP_URL`, `INSIGHT_MAIL_FROM`). Without it
    /// mail is still queued in the outbox, and sent once a process with a
    /// mail transport runs.
    pub mail: Option<crate::mail::MailSettings>,
    /// How the mail worker retries.
    pub mail_worker: crate::mail::MailWorkerSettings,
    pub schema_checks: crate::schema_drift::SchemaCheckSettings,
    /// How deliveries keep within each org's daily API limit.
    pub delivery_budget: delivery::BudgetSettings,
    /// When backlogs go through the Bulk API 2.0.
    pub delivery_bulk: delivery::BulkSettings,
    /// How long a call that would not carry 200 records waits for more.
    pub delivery_linger: Duration,
    /// Responses that arrive together share one commit; off: each its own
    /// (`INSIGHT_GROUP_COMMIT`, for comparison).
    pub group_commit: bool,
}

impl Config {
    pub fn new(database_url: impl Into<String>) -> Config {
        Config {
            database_url: database_url.into(),
            secret_key: None,
            public_url: None,
            salesforce: None,
            delivery_lease: Duration::from_millis(delivery::DEFAULT_LEASE_MS as u64),
            mail: None,
            mail_worker: crate::mail::MailWorkerSettings::default(),
            schema_checks: crate::schema_drift::SchemaCheckSettings::default(),
            delivery_budget: delivery::BudgetSettings::default(),
            delivery_bulk: delivery::BulkSettings::default(),
            delivery_linger: delivery::DEFAULT_LINGER,
            group_commit: true,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &store::redact_url(&self.database_url))
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<redacted>"))
            .field("public_url", &self.public_url)
            .field("salesforce", &self.salesforce)
            .field("delivery_lease", &self.delivery_lease)
            .field("mail", &self.mail)
            .finish()
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

/// Why Insight could not start, in words for whoever starts it.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    SecretKey(#[from] store::sealed::KeyError),
    #[error(transparent)]
    CheckKey(#[from] store::links::CheckKeyError),
    #[error(transparent)]
    Salesforce(#[from] crate::SettingsError),
    #[error(transparent)]
    Mail(#[from] crate::mail::MailConfigError),
    #[error("the Salesforce connected app is configured, but not the address people reach Insight at (its OAuth callback)")]
    NoPublicUrl,
}

/// Insight's use cases, over one database and one Salesforce connected app.
/// Cloning is cheap; every clone shares the database pool, the response
/// writer and the Salesforce sessions. The store stays inside: callers get
/// domain types and plain views, never a handle that does I/O.
#[derive(Clone)]
pub struct App {
    pub(crate) store: Store,
    pub(crate) responses: ResponseWriter,
    pub(crate) salesforce: Option<Arc<SalesforceSettings>>,
    pub(crate) delivery_lease: Duration,
    /// The address people reach Insight at, for links in mail.
    pub(crate) public_url: Arc<str>,
    pub(crate) mailer: Option<Arc<crate::mail::Mailer>>,
    pub(crate) mail_worker: crate::mail::MailWorkerSettings,
    pub(crate) schema_checks: crate::schema_drift::SchemaCheckSettings,
    pub(crate) metrics: Arc<crate::metrics::Metrics>,
}

impl App {
    /// Connects, migrates, checks the secret key, starts the response
    /// writer, and reads the Salesforce settings.
    pub async fn build(config: &Config) -> Result<App, StartError> {
        let store = Store::connect(&config.database_url).await?;
        store.migrate().await?;
        let sealer = store::sealed::Sealer::from_encoded_key(config.secret_key.as_deref())?;
        let store = store.with_sealer(sealer);
        store.check_secret_key().await?;
        let metrics = Arc::new(crate::metrics::Metrics::new());
        tokio::spawn(keep_up(Arc::downgrade(&metrics)));
        let salesforce = match &config.salesforce {
            Some(sf) => {
                let public_url = config.public_url.as_deref().ok_or(StartError::NoPublicUrl)?;
                let mut settings = SalesforceSettings::new(
                    sf.client_id.clone(),
                    sf.client_secret.clone(),
                    &format!("{}/salesforce/callback", public_url.trim_end_matches('/')),
                    &sf.production_login_url,
                    &sf.sandbox_login_url,
                    &sf.trusted_hosts,
                )?;
                settings.budget = config.delivery_budget;
                settings.bulk = config.delivery_bulk;
                settings.metrics = metrics.clone();
                settings.linger = config.delivery_linger;
                let settings = Arc::new(settings);
                tokio::spawn(count_calls(store.clone(), Arc::downgrade(&settings)));
                Some(settings)
            }
            None => None,
        };
        let mailer = match &config.mail {
            Some(settings) => Some(Arc::new(crate::mail::Mailer::new(settings)?)),
            None => None,
        };
        let public_url: Arc<str> = config.public_url.as_deref().unwrap_or("http://127.0.0.1:8080").trim_end_matches('/').into();
        let responses = match config.group_commit {
            true => store.response_writer(),
            false => store.response_writer_one_commit_each(),
        };
        Ok(App { store, responses, salesforce, delivery_lease: config.delivery_lease, public_url, mailer, mail_worker: config.mail_worker, schema_checks: config.schema_checks, metrics })
    }

    /// Whether a Salesforce connected app is configured.
    pub fn has_salesforce(&self) -> bool {
        self.salesforce.is_some()
    }

    /// The Salesforce settings, or the error that says none are configured.
    pub(crate) fn settings(&self) -> Result<&SalesforceSettings, LinkError> {
        self.salesforce.as_deref().ok_or(LinkError::NotConfigured)
    }

    /// Origins whose login pages Sign In may redirect to (besides My
    /// Domains), when Salesforce is configured.
    pub fn salesforce_login_origins(&self) -> Option<Vec<String>> {
        self.salesforce.as_ref().map(|sf| sf.login_origins())
    }

    /// Runs the delivery worker until `stop` turns true; with no connected
    /// app configured there is nothing it could deliver with, so it returns.
    pub async fn run_deliveries(&self, stop: tokio::sync::watch::Receiver<bool>) {
        let Some(settings) = self.salesforce.clone() else { return };
        delivery::run(self.store.clone(), settings, self.delivery_lease.as_millis() as i64, stop).await
    }

    /// Whether mail has somewhere to go (else it waits in the outbox).
    pub fn sends_mail(&self) -> bool {
        self.mailer.is_some()
    }

    /// Runs the mail worker until `stop` turns true; with no mail transport
    /// configured mail waits in the outbox, so it returns.
    pub async fn run_mail(&self, stop: tokio::sync::watch::Receiver<bool>) {
        let Some(mailer) = self.mailer.clone() else { return };
        crate::mail::run(self.store.clone(), mailer, self.mail_worker, stop).await
    }

    /// Forgets expired sessions, stale sign-ins and old sign-ups; returns how many.
    pub async fn sweep(&self) -> Result<u64, crate::AppError> {
        let swept = self.store.sweep(SIGN_IN_MAX_AGE_MS, SWITCH_MAX_AGE_MS).await?;
        Ok(swept + crate::signup::sweep(&self.store).await?)
    }

    /// The Prometheus text of `/metrics`: what this process counted, and
    /// the queue and each org's budget as the database holds them now.
    pub async fn metrics_text(&self) -> Result<String, crate::AppError> {
        let queue = self.store.queue_depth().await?;
        let orgs = self.store.org_budgets().await?;
        let policy = self.salesforce.as_ref().map(|s| s.budget.policy).unwrap_or_default();
        Ok(self.metrics.render(&queue, &orgs, policy))
    }

    /// Closes the database pool.
    pub async fn close(&self) {
        self.store.close().await
    }
}

/// Folds histogram samples every few seconds, for as long as the app's
/// metrics live.
async fn keep_up(metrics: std::sync::Weak<crate::metrics::Metrics>) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        every.tick().await;
        match metrics.upgrade() {
            Some(m) => m.upkeep(),
            None => return,
        }
    }
}

/// Every few seconds, adds the calls the app's Salesforce sessions sent
/// outside deliveries to their orgs' counts, for as long as the app lives.
async fn count_calls(store: Store, settings: std::sync::Weak<SalesforceSettings>) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        every.tick().await;
        let Some(settings) = settings.upgrade() else { return };
        if let Err(e) = settings.sessions.count_calls(&store, &settings.metrics).await {
            tracing::warn!(error = %e, "the API calls made could not be counted; they are counted next time");
        }
    }
}

/// Milliseconds since the Unix epoch, as every stored time is.
pub fn now_ms() -> i64 {
    store::now_ms()
}

/// Redacts the password of a database URL, for logs and start-up lines.
pub fn redact_url(url: &str) -> String {
    store::redact_url(url)
}

/// A fresh key for `INSIGHT_SECRET_KEY`.
pub fn generate_secret_key() -> String {
    store::sealed::Sealer::generate_key()
}

/// Connects and migrates, for `insight migrate`.
pub async fn migrate(database_url: &str) -> Result<(), StartError> {
    let store = Store::connect(database_url).await?;
    store.migrate().await?;
    store.close().await;
    Ok(())
}
