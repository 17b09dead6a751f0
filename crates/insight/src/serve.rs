//! `insight serve` and `insight migrate`, configured by environment and flags.

use crate::output::{init_logging, shutdown_signal, Announcer};
use clap::Args;
use serde_json::json;
use std::net::SocketAddr;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Database URL: sqlite://path/insight.db (embedded) or postgres://…
    #[arg(long, env = "INSIGHT_DATABASE_URL", default_value = "sqlite://insight-data/insight.db", hide_env_values = true)]
    pub database_url: String,
    /// Where to listen; port 0 picks a free port
    #[arg(long, env = "INSIGHT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The address people reach the server at, for links (default: http:// and the bound address)
    #[arg(long, env = "INSIGHT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Print the start-up lines as JSON objects, one per line
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub salesforce: SalesforceArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub mail: MailArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    /// Commit the responses that arrive together in one transaction (on);
    /// off commits each alone, as most web applications do: slower, there
    /// for comparison (`insight bench ingest` measures both)
    #[arg(long, env = "INSIGHT_GROUP_COMMIT", default_value_t = true, action = clap::ArgAction::Set)]
    pub group_commit: bool,
}

/// Who may read `/metrics`; `serve` and `worker` share them. With neither
/// set, `/metrics` is not served.
#[derive(Args, Debug, Clone, Default)]
pub struct MetricsArgs {
    /// Serve `/metrics` on the main address to callers sending
    /// `Authorization: Bearer <token>` (at least 24 characters)
    #[arg(long, env = "INSIGHT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Serve `/metrics` on an address of its own (keep it private: it needs
    /// no token unless INSIGHT_METRICS_TOKEN is set too)
    #[arg(long, env = "INSIGHT_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
}

impl MetricsArgs {
    pub fn access(&self) -> anyhow::Result<web::metrics::MetricsAccess> {
        web::metrics::MetricsAccess::new(self.metrics_token.clone(), self.metrics_bind).map_err(|e| anyhow::anyhow!(e))
    }
}

/// The start-up line that says where `/metrics` is served, if anywhere.
pub fn announce_metrics(say: &Announcer, base_url: &str, access: &web::metrics::MetricsAccess, alone: Option<SocketAddr>) {
    if let Some(addr) = alone {
        say.say(&format!("  metrics: http://{addr}/metrics"), json!({ "event": "metrics", "url": format!("http://{addr}/metrics") }));
    } else if access.token.is_some() {
        say.say(
            &format!("  metrics: {base_url}/metrics (with the metrics token)"),
            json!({ "event": "metrics", "url": format!("{base_url}/metrics"), "token": true }),
        );
    }
}

/// Where Insight's mail goes and whom it is from; `serve`, `worker` and
/// `demo` share them.
#[derive(Args, Debug, Clone)]
pub struct MailArgs {
    /// Where mail goes: smtp://host:port (add ?tls=required for STARTTLS),
    /// smtps://user:password@host:port, or a folder (file:///path, or a plain
    /// path) that receives each mail as an .eml file. Unset, mail is queued
    /// in the database and not sent
    #[arg(long, env = "INSIGHT_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of Insight's mail
    #[arg(long, env = "INSIGHT_MAIL_FROM", default_value = app::mail::DEFAULT_FROM)]
    pub mail_from: String,
}

impl MailArgs {
    /// The mail settings, with `fallback` as the transport when
    /// INSIGHT_SMTP_URL is unset.
    pub fn settings(&self, fallback: Option<&str>) -> anyhow::Result<Option<app::mail::MailSettings>> {
        match self.smtp_url.as_deref().filter(|u| !u.trim().is_empty()).or(fallback) {
            Some(url) => Ok(Some(app::mail::MailSettings::parse(url, &self.mail_from)?)),
            None => Ok(None),
        }
    }
}

/// The start-up line that says where mail goes.
pub fn announce_mail(say: &Announcer, mail: Option<&app::mail::MailSettings>) {
    match mail.map(|m| &m.transport) {
        Some(app::mail::MailTransport::Folder(path)) => say.say(
            &format!("  mail: written to {} (one .eml file per mail)", path.display()),
            json!({ "event": "mail", "folder": path.display().to_string() }),
        ),
        Some(smtp) => say.say(&format!("  mail: sent through {smtp}"), json!({ "event": "mail", "smtp": smtp.to_string() })),
        None => say.say(
            "  mail: no INSIGHT_SMTP_URL, so mail is queued and not sent",
            json!({ "event": "mail", "queued_only": true }),
        ),
    }
}

/// What one client may ask of the server. Rate limits read COUNT/PERIOD or
/// COUNT/PERIOD,burst=N (periods in s, m or h); unset, each has the default
/// shown.
#[derive(Args, Debug, Clone, Default)]
pub struct LimitArgs {
    /// Sign-ins for one account from anywhere [default: 10/15m,burst=5]
    #[arg(long, env = "INSIGHT_SIGN_IN_LIMIT_PER_ACCOUNT")]
    pub sign_in_limit_per_account: Option<web::RateLimit>,
    /// Sign-ins and sign-ups from one client address [default: 100/15m,burst=30]
    #[arg(long, env = "INSIGHT_SIGN_IN_LIMIT_PER_ADDRESS")]
    pub sign_in_limit_per_address: Option<web::RateLimit>,
    /// Survey responses from one client address [default: 60/1m,burst=60]
    #[arg(long, env = "INSIGHT_SUBMISSION_LIMIT_PER_ADDRESS")]
    pub submission_limit_per_address: Option<web::RateLimit>,
    /// Password hashes computed at once [default: the number of cores]
    #[arg(long, env = "INSIGHT_PASSWORD_CHECKS_AT_ONCE")]
    pub password_checks_at_once: Option<usize>,
    /// Password checks that may queue; beyond them sign-ins get 503 [default: 256]
    #[arg(long, env = "INSIGHT_PASSWORD_CHECKS_WAITING")]
    pub password_checks_waiting: Option<usize>,
    /// Seconds a client has to send a request's headers [default: 10]
    #[arg(long, env = "INSIGHT_HEADER_READ_TIMEOUT_SECS")]
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds a client has to send a request's body [default: 30]
    #[arg(long, env = "INSIGHT_BODY_TIMEOUT_SECS")]
    pub body_timeout_secs: Option<u64>,
    /// Seconds a connection may send and receive nothing before it is closed [default: 60]
    #[arg(long, env = "INSIGHT_IDLE_TIMEOUT_SECS")]
    pub idle_timeout_secs: Option<u64>,
    /// Connections open at once; more wait to be accepted [default: 1024]
    #[arg(long, env = "INSIGHT_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
}

impl LimitArgs {
    pub fn limits(&self) -> web::Limits {
        let d = web::Limits::default();
        let secs = |v: Option<u64>, default: std::time::Duration| v.map(|s| std::time::Duration::from_secs(s.max(1))).unwrap_or(default);
        web::Limits {
            sign_in_per_account: self.sign_in_limit_per_account.unwrap_or(d.sign_in_per_account),
            sign_in_per_address: self.sign_in_limit_per_address.unwrap_or(d.sign_in_per_address),
            submissions_per_address: self.submission_limit_per_address.unwrap_or(d.submissions_per_address),
            password_checks_at_once: self.password_checks_at_once.unwrap_or(d.password_checks_at_once).max(1),
            password_checks_waiting: self.password_checks_waiting.unwrap_or(d.password_checks_waiting),
            connections: web::ConnectionLimits {
                header_read_timeout: secs(self.header_read_timeout_secs, d.connections.header_read_timeout),
                body_timeout: secs(self.body_timeout_secs, d.connections.body_timeout),
                idle_timeout: secs(self.idle_timeout_secs, d.connections.idle_timeout),
                max_connections: self.max_connections.unwrap_or(d.connections.max_connections).max(1),
            },
        }
    }
}

/// The Salesforce connected app Insight signs in with, the login hosts, and
/// what it takes to work with links: the key sealing their tokens, and the
/// delivery lease. `serve` and `worker` share them.
#[derive(Args, Debug, Clone)]
pub struct SalesforceArgs {
    /// 32-byte key (64 hex characters or base64) sealing Salesforce tokens at rest;
    /// `insight secret-key` makes one
    #[arg(long, env = "INSIGHT_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Seconds a delivery worker holds the deliveries it claimed; a crashed
    /// worker's are taken over after this
    #[arg(long, env = "INSIGHT_DELIVERY_LEASE_SECS", default_value_t = 120)]
    pub delivery_lease_secs: u64,
    /// Seconds between scheduled checks of each mapped project's fields
    /// against its owner's org (a field deleted or changed in Salesforce
    /// holds its deliveries); 0 turns the scheduled check off
    #[arg(long, env = "INSIGHT_SCHEMA_CHECK_INTERVAL_SECS", default_value_t = 6 * 3600)]
    pub schema_check_interval_secs: u64,
    /// Percent of each org's daily API limit Insight may use over any 24
    /// hours (1–100); past it, deliveries wait with the reason shown, so the
    /// org's other integrations keep their calls
    #[arg(long, env = "INSIGHT_API_SHARE_PERCENT", default_value_t = 50)]
    pub api_share_percent: u32,
    /// A project with more deliveries due than this goes through Salesforce's
    /// Bulk API 2.0 (jobs of up to INSIGHT_BULK_JOB_ROWS records) instead of
    /// calls of 200; 0 never uses it
    #[arg(long, env = "INSIGHT_BULK_THRESHOLD", default_value_t = 2000)]
    pub bulk_threshold: i64,
    /// Records per Bulk API 2.0 job (200–100000)
    #[arg(long, env = "INSIGHT_BULK_JOB_ROWS", default_value_t = 10_000)]
    pub bulk_job_rows: i64,
    /// Seconds a Bulk API job's worker may fall silent before another
    /// worker takes the job over (reads its results, or sends its rows
    /// again if it was never closed); its worker beats every third of it
    #[arg(long, env = "INSIGHT_BULK_JOB_LEASE_SECS", default_value_t = 30)]
    pub bulk_job_lease_secs: u64,
    /// For tests only: milliseconds a worker waits between Salesforce
    /// creating a Bulk API job and recording its id, so a crash test can
    /// kill it in between; 0 (the default) outside tests
    #[arg(long, env = "INSIGHT_TEST_PAUSE_AFTER_BULK_CREATE_MS", default_value_t = 0, hide = true)]
    pub test_pause_after_bulk_create_ms: u64,
    /// Milliseconds a Salesforce call that would carry fewer than 200
    /// records waits for more (after its oldest response), so busy surveys
    /// fill their calls; 0 sends at once
    #[arg(long, env = "INSIGHT_DELIVERY_LINGER_MS", default_value_t = 300)]
    pub delivery_linger_ms: u64,
    /// The connected app's consumer key
    #[arg(long = "salesforce-client-id", env = "INSIGHT_SALESFORCE_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The connected app's consumer secret
    #[arg(long = "salesforce-client-secret", env = "INSIGHT_SALESFORCE_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// Where production orgs sign in
    #[arg(long = "salesforce-login-url", env = "INSIGHT_SALESFORCE_LOGIN_URL", default_value = "https://login.salesforce.com")]
    pub login_url: String,
    /// Where sandbox orgs sign in
    #[arg(long = "salesforce-sandbox-login-url", env = "INSIGHT_SALESFORCE_SANDBOX_LOGIN_URL", default_value = "https://test.salesforce.com")]
    pub sandbox_login_url: String,
    /// Origins besides Salesforce's own that may receive the connected app's
    /// secret and tokens and be entered as My Domain (e.g. a local emulator,
    /// http://127.0.0.1:4000); comma-separated. The two login URLs are trusted as set.
    #[arg(long = "salesforce-trusted-host", env = "INSIGHT_SALESFORCE_TRUSTED_HOSTS", value_delimiter = ',')]
    pub trusted_hosts: Vec<String>,
}

impl SalesforceArgs {
    /// The use cases' configuration: the database, the secret key, the
    /// connected app and the delivery lease, the same for `serve` and `worker`.
    pub fn app_config(&self, database_url: &str, public_url: Option<String>) -> anyhow::Result<app::Config> {
        let mut config = app::Config::new(database_url);
        config.secret_key = self.secret_key.clone();
        config.public_url = public_url;
        config.salesforce = self.config()?;
        config.delivery_lease = std::time::Duration::from_secs(self.delivery_lease_secs.max(1));
        config.schema_checks.interval = std::time::Duration::from_secs(self.schema_check_interval_secs);
        config.delivery_budget.policy = domain::budget::BudgetPolicy::with_share(self.api_share_percent).map_err(|e| anyhow::anyhow!("INSIGHT_API_SHARE_PERCENT: {e}"))?;
        anyhow::ensure!(self.bulk_threshold >= 0, "INSIGHT_BULK_THRESHOLD: give a number of deliveries, or 0 to never use the Bulk API");
        config.delivery_bulk.threshold = self.bulk_threshold;
        anyhow::ensure!((200..=100_000).contains(&self.bulk_job_rows), "INSIGHT_BULK_JOB_ROWS: between 200 and 100000 records a job; 10000 is the default");
        config.delivery_bulk.job_rows = self.bulk_job_rows;
        anyhow::ensure!((1..=3600).contains(&self.bulk_job_lease_secs), "INSIGHT_BULK_JOB_LEASE_SECS: between 1 and 3600 seconds; 30 is the default");
        config.delivery_bulk.job_lease = std::time::Duration::from_secs(self.bulk_job_lease_secs);
        anyhow::ensure!(self.test_pause_after_bulk_create_ms <= 60_000, "INSIGHT_TEST_PAUSE_AFTER_BULK_CREATE_MS: at most 60000 (a minute); for tests only");
        config.delivery_bulk.pause_after_create = std::time::Duration::from_millis(self.test_pause_after_bulk_create_ms);
        anyhow::ensure!(self.delivery_linger_ms <= 10_000, "INSIGHT_DELIVERY_LINGER_MS: at most 10000 (10 s); 300 is the default");
        config.delivery_linger = std::time::Duration::from_millis(self.delivery_linger_ms);
        Ok(config)
    }

    pub fn config(&self) -> anyhow::Result<Option<app::SalesforceConfig>> {
        match (&self.client_id, &self.client_secret) {
            (Some(id), Some(secret)) => Ok(Some(app::SalesforceConfig {
                client_id: id.clone(),
                client_secret: secret.clone(),
                production_login_url: self.login_url.clone(),
                sandbox_login_url: self.sandbox_login_url.clone(),
                trusted_hosts: self.trusted_hosts.clone(),
            })),
            (None, None) => Ok(None),
            _ => anyhow::bail!("set both INSIGHT_SALESFORCE_CLIENT_ID and INSIGHT_SALESFORCE_CLIENT_SECRET, or neither"),
        }
    }
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    #[arg(long, env = "INSIGHT_DATABASE_URL", default_value = "sqlite://insight-data/insight.db", hide_env_values = true)]
    pub database_url: String,
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.json);
    let mut config = web::Config::new(args.database_url.clone(), args.bind);
    config.app = args.salesforce.app_config(&args.database_url, args.public_url.clone())?;
    config.app.group_commit = args.group_commit;
    config.limits = args.limits.limits();
    config.metrics = args.metrics.access()?;
    let metrics = config.metrics.clone();
    config.app.mail = args.mail.settings(None)?;
    if config.app.mail.is_none() {
        tracing::warn!("no INSIGHT_SMTP_URL: mail (sign-up links, invitations) is queued but not sent");
    }
    if config.app.salesforce.is_none() {
        tracing::warn!("no Salesforce connected app configured: accounts cannot link Salesforce");
    }
    let mail = config.app.mail.clone();
    let app = web::Application::build(config).await?;
    let say = Announcer { json: args.json };
    let url = app.public_url().to_string();
    say.say(
        &format!("Insight listening on {url} (database: {})", app::redact_url(&args.database_url)),
        json!({ "event": "listening", "url": url, "addr": app.local_addr().to_string(), "pid": std::process::id() }),
    );
    announce_mail(&say, mail.as_ref());
    announce_metrics(&say, &url, &metrics, app.metrics_addr());
    app.run_until(shutdown_signal()).await?;
    Ok(())
}

pub async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    init_logging(false);
    app::migrate(&args.database_url).await?;
    println!("Migrated {}", app::redact_url(&args.database_url));
    Ok(())
}

/// `insight secret-key`: prints a fresh key for `INSIGHT_SECRET_KEY`.
pub fn secret_key() {
    println!("{}", app::generate_secret_key());
}
