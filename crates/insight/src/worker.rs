//! `insight worker`: the delivery worker alone, for scaling out beside
//! `insight serve` processes on one PostgreSQL (workers claim with leases and
//! `SKIP LOCKED`, so none delivers what another holds).

use crate::output::{init_logging, shutdown_signal, Announcer};
use crate::serve::SalesforceArgs;
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
    #[arg(long)]
    pub json: bool,
}

pub async fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    init_logging(args.json);
    // The same application `insight serve` builds, from the same settings;
    // this process runs only its deliveries.
    let config = args.salesforce.app_config(&args.database_url, Some(args.public_url.clone()))?;
    if config.salesforce.is_none() {
        anyhow::bail!("the worker delivers to Salesforce: set INSIGHT_SALESFORCE_CLIENT_ID and INSIGHT_SALESFORCE_CLIENT_SECRET");
    }
    let app = app::App::build(&config).await?;
    let listener = tokio::net::TcpListener::bind(args.bind).await.map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.bind))?;
    let addr = listener.local_addr()?;
    Announcer { json: args.json }.say(
        &format!("Insight delivery worker running; health at http://{addr}/healthz"),
        json!({ "event": "listening", "url": format!("http://{addr}"), "role": "worker", "pid": std::process::id() }),
    );
    let health = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let deliveries = tokio::spawn(async move { app.run_deliveries(stopped).await });
    axum::serve(listener, health).with_graceful_shutdown(shutdown_signal()).await?;
    let _ = stop.send(true);
    let _ = deliveries.await;
    Ok(())
}
