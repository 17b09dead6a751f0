//! What long-running commands print first: where they listen and how to sign
//! in. Plain lines for people; with `--json`, one JSON object per line for
//! scripts and tests.

use serde_json::Value;
use std::io::Write;

pub struct Announcer {
    pub json: bool,
}

impl Announcer {
    /// Prints one fact: `text` for people, `value` for `--json`.
    pub fn say(&self, text: &str, value: Value) {
        let mut out = std::io::stdout().lock();
        if self.json {
            let _ = writeln!(out, "{value}");
        } else {
            let _ = writeln!(out, "{text}");
        }
        let _ = out.flush();
    }
}

pub fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("INSIGHT_LOG").unwrap_or_else(|_| EnvFilter::new("warn,insight=info,web=info,app=info"));
    // Logs go to stderr so stdout stays the announcement channel.
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
