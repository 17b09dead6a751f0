//! sfemu: a local stand-in for Salesforce (OAuth 2.0, REST API, limits, outbound
//! messages, fault injection) for Insight's tests, demos and benchmarks.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let emu = sfemu::Emulator::start(sfemu::EmulatorConfig::default_demo(),
//!     "127.0.0.1:0".parse()?, Some("127.0.0.1:0".parse()?)).await?;
//! for line in emu.startup_lines() { println!("{line}"); }
//! emu.shutdown().await;
//! # Ok(()) }
//! ```

#![recursion_limit = "256"]
#![allow(clippy::too_many_arguments, clippy::type_complexity, clippy::result_large_err)]

pub mod admin;
pub mod browser;
pub mod bulk2;
pub mod config;
pub mod faults;
pub mod ids;
pub mod oauth;
pub mod opportunity;
pub mod outbound;
pub mod persist;
pub mod records;
pub mod rest;
pub mod schema;
pub mod schema_admin;
pub mod server;
pub mod signin;
pub mod soql;
pub mod state;
pub mod tls;
pub mod versions;

pub use config::{ConnectedAppConfig, EmulatorConfig, OrgConfig, UserConfig};
pub use outbound::OutboundRule;

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;

/// A running emulator (HTTP listener, optional HTTPS listener, outbound-message worker).
pub struct Emulator {
    app: Arc<state::App>,
    http_url: String,
    https_url: Option<String>,
    pem_path: Option<String>,
    /// Temp directory holding the generated certificates (removed at shutdown).
    temp_tls_dir: Option<std::path::PathBuf>,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Emulator {
    /// Bind the listeners (port 0 picks a free port) and start serving.
    pub async fn start(config: EmulatorConfig, http_bind: SocketAddr, https_bind: Option<SocketAddr>) -> anyhow::Result<Emulator> {
        let tls_dir = config.tls_dir.clone();
        let persistence = config.persistence_path.clone();
        let app = Arc::new(state::App::new(config)?);
        // With persistence, the SQLite file is the source of truth: load it, or seed a new one.
        let mut seed = true;
        if let Some(p) = &persistence {
            let (db, json_snapshot) = persist::database_path(p);
            let (store, initialized) = persist::Store::open(&db).await?;
            let store = Arc::new(store);
            if initialized {
                let n = store.load(&app).await?;
                tracing::info!("loaded {n} records from {}", db.display());
                seed = false;
            } else if let Some(j) = json_snapshot.filter(|j| j.exists()) {
                let n = persist::import_json(&app, &j)?;
                tracing::info!("imported {n} records from the JSON snapshot {} into {}", j.display(), db.display());
                seed = false;
            }
            let _ = app.store.set(store);
        }
        // Seed records from the config only on a fresh start (not over restored records).
        if seed {
            for (org, oc) in app.orgs.iter().zip(app.cfg.orgs.iter()) {
                let user = org.users.first().map(|u| u.id.clone()).unwrap_or_default();
                for (obj_name, recs) in &oc.records {
                    let obj = org.object(obj_name).cloned().ok_or_else(|| anyhow::anyhow!("org {}: unknown object {obj_name}", org.name))?;
                    for r in recs {
                        records::create(org, &obj, &user, r).map_err(|e| anyhow::anyhow!("org {}: seeding {obj_name}: {e}", org.name))?;
                    }
                }
            }
        }
        if let Some(store) = app.store.get() {
            store.flush(&app).await?;
            store.mark_initialized().await?;
        }
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let mut tasks = vec![];

        let http = tokio::net::TcpListener::bind(http_bind).await?;
        let http_url = format!("http://{}", http.local_addr()?);
        let mut https_url = None;
        let mut pem_path = None;
        let mut https_listener = None;
        let mut temp_tls_dir = None;
        if let Some(b) = https_bind {
            let l = tokio::net::TcpListener::bind(b).await?;
            let addr = l.local_addr()?;
            https_url = Some(format!("https://{addr}"));
            let dir = match tls_dir {
                Some(d) => d,
                None => {
                    let d = std::env::temp_dir().join(format!("sfemu-{}-{}", std::process::id(), addr.port()));
                    temp_tls_dir = Some(d.clone());
                    d
                }
            };
            let tls = tls::generate(&dir)?;
            pem_path = Some(tls.ca_pem_path.display().to_string());
            https_listener = Some((l, tls));
        }
        *app.urls.write() = state::Urls { http: http_url.clone(), https: https_url.clone(), pem_path: pem_path.clone() };

        tasks.push(tokio::spawn(server::serve_http(http, server::router(app.clone(), http_url.clone()), stop_rx.clone())));
        if let (Some((l, tls)), Some(u)) = (https_listener, &https_url) {
            tasks.push(tokio::spawn(server::serve_https(l, server::router(app.clone(), u.clone()), tls.config, stop_rx.clone())));
        }
        tasks.push(tokio::spawn(outbound::worker(app.clone(), stop_rx)));
        Ok(Emulator { app, http_url, https_url, pem_path, temp_tls_dir, stop, tasks })
    }

    pub fn http_url(&self) -> String { self.http_url.clone() }
    pub fn https_url(&self) -> Option<String> { self.https_url.clone() }
    /// Path of the PEM file with the CA certificate that signed the HTTPS certificate.
    pub fn ca_pem_path(&self) -> Option<String> { self.pem_path.clone() }
    fn preferred_base(&self) -> String { self.https_url.clone().unwrap_or_else(|| self.http_url.clone()) }
    /// The "login.salesforce.com" stand-in (HTTPS when enabled).
    pub fn production_login_url(&self) -> String { state::App::login_url(&self.preferred_base(), false) }
    /// The "test.salesforce.com" stand-in (HTTPS when enabled).
    pub fn sandbox_login_url(&self) -> String { state::App::login_url(&self.preferred_base(), true) }
    pub fn admin_url(&self) -> String { format!("{}/_emulator", self.http_url) }
    /// Orgs as (id, name, is_sandbox, instance_url on the preferred base URL).
    pub fn orgs(&self) -> Vec<(String, String, bool, String)> {
        let base = self.preferred_base();
        self.app.orgs.iter().map(|o| (o.id.clone(), o.name.clone(), o.is_sandbox, state::App::instance_url(&base, o))).collect()
    }
    /// API calls counted for an org so far and its daily budget: (used, max).
    pub fn api_usage(&self, org_id: &str) -> Option<(u64, u64)> {
        use std::sync::atomic::Ordering;
        self.app.org(org_id).map(|o| (o.usage.load(Ordering::Relaxed), o.max.load(Ordering::Relaxed)))
    }
    /// Reset an org's API usage counter to 0.
    pub fn reset_api_usage(&self, org_id: &str) {
        if let Some(o) = self.app.org(org_id) { o.usage.store(0, std::sync::atomic::Ordering::Relaxed); }
    }
    /// The shared in-memory state (for in-process tests).
    pub fn app(&self) -> Arc<state::App> { self.app.clone() }

    /// What to print at start: one JSON object per line, each with an "event" key.
    pub fn startup_lines(&self) -> Vec<Value> {
        let mut out = vec![json!({
            "event": "listening", "http_url": self.http_url, "https_url": self.https_url, "ca_pem_path": self.pem_path,
            "admin_url": self.admin_url(),
            "production_login_url": self.production_login_url(), "sandbox_login_url": self.sandbox_login_url(),
        })];
        let base = self.preferred_base();
        for o in &self.app.orgs {
            out.push(json!({
                "event": "org", "id": o.id, "name": o.name, "environment": o.environment(), "is_sandbox": o.is_sandbox,
                "login_url": state::App::login_url(&base, o.is_sandbox),
                "instance_url": state::App::instance_url(&base, o),
                "http_login_url": state::App::login_url(&self.http_url, o.is_sandbox),
                "http_instance_url": state::App::instance_url(&self.http_url, o),
                "admin_usage_url": format!("{}/orgs/{}/usage", self.admin_url(), o.id),
                "browser_url": format!("{}/orgs/{}/browser", self.admin_url(), o.id),
            }));
            for u in &o.users {
                out.push(json!({"event": "user", "org_id": o.id, "environment": o.environment(), "id": u.id, "username": u.username,
                    "password": u.password, "name": u.name(), "email": u.email}));
            }
        }
        for a in &self.app.apps {
            out.push(json!({"event": "connected_app", "name": a.name, "client_id": a.client_id, "client_secret": a.client_secret, "callback_urls": a.callback_urls}));
        }
        out.push(json!({"event": "ready", "token_lifetime_secs": self.app.token_lifetime.read().as_secs_f64(), "api_daily_limit": self.app.cfg.api_daily_limit}));
        out
    }

    /// Stop the listeners and background tasks.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), t).await;
        }
        if let Some(d) = &self.temp_tls_dir {
            let _ = std::fs::remove_dir_all(d);
        }
        if let Some(store) = self.app.store.get() {
            if let Err(e) = store.close(&self.app).await {
                tracing::error!("closing {}: {e}", store.path().display());
            }
        }
    }
}

/// Command-line arguments of `sfemu` (also reusable as `insight emulator`).
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "sfemu", about = "Local Salesforce emulator")]
pub struct CliArgs {
    /// Plain HTTP listen address.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
    /// HTTPS listen address (self-signed certificate; its CA PEM path is printed).
    #[arg(long)]
    pub https_bind: Option<SocketAddr>,
    /// TOML or JSON config file (default: the built-in demo config).
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    /// Print startup information as one JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Override the access token lifetime (seconds).
    #[arg(long)]
    pub token_lifetime_secs: Option<u64>,
}

/// Run the emulator until Ctrl-C / SIGTERM.
pub async fn run_cli(args: CliArgs) -> anyhow::Result<()> {
    use std::io::Write;
    let mut cfg = match &args.config { Some(p) => EmulatorConfig::from_file(p)?, None => EmulatorConfig::default_demo() };
    if let Some(t) = args.token_lifetime_secs { cfg.token_lifetime_secs = t; }
    let emu = Emulator::start(cfg, args.bind, args.https_bind).await?;
    {
        let mut out = std::io::stdout().lock();
        for l in emu.startup_lines() {
            if args.json { writeln!(out, "{l}")?; } else { writeln!(out, "{}", human_line(&l))?; }
        }
        out.flush()?;
    }
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    ctrl_c.await?;
    emu.shutdown().await;
    Ok(())
}

fn human_line(l: &Value) -> String {
    let s = |k: &str| l.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    match l["event"].as_str().unwrap_or("") {
        "listening" => format!("sfemu listening on {} {}\n  admin: {}\n  CA certificate (PEM): {}", s("http_url"),
            l["https_url"].as_str().map(|u| format!("and {u}")).unwrap_or_default(), s("admin_url"), l["ca_pem_path"].as_str().unwrap_or("-")),
        "org" => format!("org {} \"{}\" ({})\n  login URL:    {}\n  instance URL: {}", s("id"), s("name"), s("environment"), s("login_url"), s("instance_url")),
        "user" => format!("  user {} / password {} ({})", s("username"), s("password"), s("id")),
        "connected_app" => format!("connected app \"{}\"\n  client id:     {}\n  client secret: {}", s("name"), s("client_id"), s("client_secret")),
        "ready" => "ready".into(),
        _ => l.to_string(),
    }
}
