//! `insight worker`: the delivery and mail workers alone, for scaling out beside
//! `insight serve` processes on one PostgreSQL (workers claim with leases and
//! `SKIP LOCKED`, so none delivers what another holds; search indexers take
//! turns on the index's watermark, so none indexes what another did).

use crate::output::{init_logging, shutdown_signal, Announcer};
use crate::serve::{MailArgs, MetricsArgs, SalesforceArgs};
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
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[arg(long)]
    pub json: bool,
}

pub async fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    init_logging(args.json);
    // The same application `insight serve` builds, from the same settings;
    // this process runs only its workers: deliveries and mail.
    let mut config = args.salesforce.app_config(&args.database_url, Some(args.public_url.clone()))?;
    config.mail = args.mail.settings(None)?;
    if config.salesforce.is_none() && config.mail.is_none() {
        anyhow::bail!(
            "the worker delivers to Salesforce and sends mail: set INSIGHT_SALESFORCE_CLIENT_ID and INSIGHT_SALESFORCE_CLIENT_SECRET, or INSIGHT_SMTP_URL, or both"
        );
    }
    let mail = config.mail.clone();
    let metrics = args.metrics.access()?;
    let app = app::App::build(&config).await?;
    let listener = tokio::net::TcpListener::bind(args.bind).await.map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.bind))?;
    let addr = listener.local_addr()?;
    let say = Announcer { json: args.json };
    say.say(
        &format!("Insight worker running; health at http://{addr}/healthz"),
        json!({ "event": "listening", "url": format!("http://{addr}"), "role": "worker", "pid": std::process::id() }),
    );
    crate::serve::announce_mail(&say, mail.as_ref());
    // `/metrics` beside the health check with the token, or on its own address.
    let mut health = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
    if let Some(token) = metrics.token.as_deref() {
        health = health.merge(web::metrics::router(app.clone(), Some(token)));
    }
    let alone = match metrics.bind {
        Some(bind) => {
            let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| anyhow::anyhow!("cannot listen for metrics on {bind}: {e}"))?;
            let addr = listener.local_addr()?;
            tokio::spawn(web::metrics::serve_alone(listener, web::metrics::router(app.clone(), metrics.token.as_deref()), std::future::pending()));
            Some(addr)
        }
        None => None,
    };
    crate::serve::announce_metrics(&say, &format!("http://{addr}"), &metrics, alone);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mail_stopped = stopped.clone();
    let delivering = app.clone();
    let deliveries = tokio::spawn(async move { delivering.run_deliveries(stopped).await });
    let triggering = app.clone();
    let trigger_stopped = stop.subscribe();
    let triggers = tokio::spawn(async move { triggering.run_triggers(trigger_stopped).await });
    let checking = app.clone();
    let schema_stopped = stop.subscribe();
    let schema_checks = tokio::spawn(async move { checking.run_schema_checks(schema_stopped).await });
    let indexing = app.clone();
    let index_stopped = stop.subscribe();
    let search_indexer = tokio::spawn(async move { indexing.run_search_indexer(index_stopped).await });
    let mails = tokio::spawn(async move { app.run_mail(mail_stopped).await });
    axum::serve(listener, health).with_graceful_shutdown(shutdown_signal()).await?;
    let _ = stop.send(true);
    let _ = deliveries.await;
    let _ = mails.await;
    let _ = triggers.await;
    let _ = schema_checks.await;
    let _ = search_indexer.await;
    Ok(())
}
