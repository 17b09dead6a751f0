//! `/metrics`: the delivery queue, what became of deliveries, API calls and
//! budget per org, and ingest and delivery latency, in Prometheus' text
//! format (see `app::metrics`). Never public by default: it is served only
//! to callers with the metrics token (`INSIGHT_METRICS_TOKEN`, as
//! `Authorization: Bearer …`), or on an address of its own
//! (`INSIGHT_METRICS_BIND`) that the operator keeps private; with neither,
//! `/metrics` is a 404 like any unknown page.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::Arc;

/// The shortest token accepted: guessing it must be out of reach.
pub const MIN_TOKEN_CHARS: usize = 24;

/// Who may read `/metrics`.
#[derive(Clone, Default)]
pub struct MetricsAccess {
    /// Callers presenting it may read `/metrics` on the main address.
    pub token: Option<String>,
    /// An address of its own, serving `/metrics` (with the token too, when
    /// one is set).
    pub bind: Option<SocketAddr>,
}

impl std::fmt::Debug for MetricsAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsAccess").field("token", &self.token.as_ref().map(|_| "<redacted>")).field("bind", &self.bind).finish()
    }
}

impl MetricsAccess {
    /// Reads the token and address as configured; a blank token is none,
    /// a short one refuses to start.
    pub fn new(token: Option<String>, bind: Option<SocketAddr>) -> Result<MetricsAccess, String> {
        let token = token.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        if let Some(t) = &token {
            if t.chars().count() < MIN_TOKEN_CHARS {
                return Err(format!(
                    "INSIGHT_METRICS_TOKEN must be at least {MIN_TOKEN_CHARS} characters (`insight secret-key` prints a good one)"
                ));
            }
        }
        Ok(MetricsAccess { token, bind })
    }
}

#[derive(Clone)]
struct MetricsState {
    app: app::App,
    /// SHA-256 of the token: compared as digests, so the comparison's time
    /// says nothing about the token.
    token: Option<Arc<[u8; 32]>>,
}

/// `/metrics` for `app`, open to callers presenting `token` (to every
/// caller when `None`: only for an address of its own).
pub fn router(app: app::App, token: Option<&str>) -> Router {
    let token = token.map(|t| Arc::new(digest(t)));
    Router::new().route("/metrics", get(metrics)).with_state(MetricsState { app, token })
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

async fn metrics(State(state): State<MetricsState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| digest(t.trim()));
        if given.as_ref() != Some(&**expected) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer realm=\"insight-metrics\"")],
                "Metrics need the metrics token: send Authorization: Bearer <INSIGHT_METRICS_TOKEN>.\n",
            )
                .into_response();
        }
    }
    match state.app.metrics_text().await {
        Ok(text) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "metrics could not be read");
            (StatusCode::SERVICE_UNAVAILABLE, "Metrics could not be read from the database; try again.\n").into_response()
        }
    }
}

/// Serves `/metrics` alone on `listener` until `shutdown` resolves.
pub async fn serve_alone(listener: tokio::net::TcpListener, router: Router, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
