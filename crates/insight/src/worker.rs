//! `insight worker`: the delivery and mail workers alone, for scaling out beside
//! `insight serve` processes on one PostgreSQL (workers claim with leases and
//! `SKIP LOCKED`, so none delivers what another holds).

use crate::output::{init_logging, shutdown_signal, Announcer};
use crate::serve::{MailArgs, SalesforceArgs};
use clap::Args;
use serde_json::json;
use std::net::SocketAddr;

#[derive(Args, Debug)]
pub struct WorkerArgs {
    #[arg(long, env = "INSIGHT_DATABASE_URL", default_value = "sqlite://insight-data/insight.db", hide_env_values = true)]
    pub database_url: String,
    /// Where the worker answers health checks (`GET /healthz`); port 0 picks a free port
    #[arg(long, env = "INSIGHT_WORKER_BIND", default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
    /// The address people reach Insight at (the OAuth callback the connected app knows)
    #[arg(long, env = "INSIGHT_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
    #[command(flatten)]
    pub salesforce: SalesforceArgs,
    #[command(flatten)]
    pub mail: MailArgs,
    #[arg(long)]
    pub json: bool,
}

pub async fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    init_logging(args.json);
    let sf = args.salesforce.config()?;
    let mail = args.mail.settings(None)?;
    if sf.is_none() && mail.is_none() {
        anyhow::bail!(
            "the worker delivers to Salesforce and sends mail: set INSIGHT_SALESFORCE_CLIENT_ID and INSIGHT_SALESFORCE_CLIENT_SECRET, or INSIGHT_SMTP_URL, or both"
        );
    }
    let sealer = store::sealed::Sealer::from_encoded_key(args.salesforce.secret_key.as_deref())?;
    let store = store::Store::connect(&args.database_url).await?.with_sealer(sealer);
    store.migrate().await?;
    store.check_secret_key().await?;
    let settings = match sf {
        Some(sf) => Some(app::SalesforceSettings::new(
            sf.client_id,
            sf.client_secret,
            &format!("{}/salesforce/callback", args.public_url.trim_end_matches('/')),
            &sf.production_login_url,
            &sf.sandbox_login_url,
            &sf.trusted_hosts,
        )?),
        None => None,
    };
    let mailer = mail.as_ref().map(app::mail::Mailer::new).transpose()?;
    let listener = tokio::net::TcpListener::bind(args.bind).await.map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.bind))?;
    let addr = listener.local_addr()?;
    let say = Announcer { json: args.json };
    say.say(
        &format!("Insight worker running; health at http://{addr}/healthz"),
        json!({ "event": "listening", "url": format!("http://{addr}"), "role": "worker", "pid": std::process::id() }),
    );
    crate::serve::announce_mail(&say, mail.as_ref());
    let health = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let lease = (args.salesforce.delivery_lease_secs.max(1) * 1000) as i64;
    let deliveries = settings.map(|s| tokio::spawn(app::delivery::run(store.clone(), std::sync::Arc::new(s), lease, stopped.clone())));
    let mails = mailer.map(|m| tokio::spawn(app::mail::run(store.clone(), std::sync::Arc::new(m), app::mail::MailWorkerSettings::default(), stopped)));
    axum::serve(listener, health).with_graceful_shutdown(shutdown_signal()).await?;
    let _ = stop.send(true);
    for worker in [deliveries, mails].into_iter().flatten() {
        let _ = worker.await;
    }
    Ok(())
}
