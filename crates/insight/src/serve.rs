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
    /// 32-byte key (64 hex characters or base64) sealing Salesforce tokens at rest;
    /// `insight secret-key` makes one
    #[arg(long, env = "INSIGHT_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    #[arg(long, env = "INSIGHT_DATABASE_URL", default_value = "sqlite://insight-data/insight.db", hide_env_values = true)]
    pub database_url: String,
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.json);
    let mut config = web::Config::new(args.database_url.clone(), args.bind);
    config.public_url = args.public_url.clone();
    config.secret_key = args.secret_key.clone();
    let app = web::Application::build(config).await?;
    let say = Announcer { json: args.json };
    let url = app.public_url().to_string();
    say.say(
        &format!("Insight listening on {url} (database: {})", store::redact_url(&args.database_url)),
        json!({ "event": "listening", "url": url, "addr": app.local_addr().to_string(), "pid": std::process::id() }),
    );
    app.run_until(shutdown_signal()).await?;
    Ok(())
}

pub async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    init_logging(false);
    let store = store::Store::connect(&args.database_url).await?;
    store.migrate().await?;
    println!("Migrated {}", store::redact_url(&args.database_url));
    Ok(())
}

/// `insight secret-key`: prints a fresh key for `INSIGHT_SECRET_KEY`.
pub fn secret_key() {
    println!("{}", store::sealed::Sealer::generate_key());
}
