//! HTTP(S) listeners and routing. Each listener knows its own base URL, so
//! tokens issued over HTTPS carry an https instance_url and vice versa.
//!
//! URL layout (one host, path-prefixed, so jsforce and simple-salesforce work unchanged):
//!   {base}/services/oauth2/*, {base}/id/*       production login host ("login.salesforce.com")
//!   {base}/sandbox/services/oauth2/*, /sandbox/id/*  sandbox login host ("test.salesforce.com")
//!   {base}/org/{orgId}/services/data/*          per-org instance URL
//!   {base}/services/data/*                      same API; the org is taken from the access token
//!   {base}/_emulator/*                          admin API and record browser

use crate::faults::Injected;
use crate::rest::{self, Ctx};
use crate::state::App;
use crate::{admin, oauth};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone)]
pub struct S {
    pub app: Arc<App>,
    /// This listener's base URL, e.g. https://127.0.0.1:8443
    pub base: String,
}

#[derive(Clone, Copy, Debug)]
pub struct LoginEnv {
    pub sandbox: bool,
}

fn login_routes(sandbox: bool) -> Router<S> {
    Router::new()
        .route("/services/oauth2/authorize", get(oauth::authorize_get).post(oauth::authorize_post))
        .route("/services/oauth2/token", post(oauth::token))
        .route("/services/oauth2/revoke", post(oauth::revoke).get(oauth::revoke))
        .route("/services/oauth2/userinfo", get(oauth::userinfo).post(oauth::userinfo))
        .route("/id/{org}/{user}", get(oauth::identity))
        .layer(Extension(LoginEnv { sandbox }))
}

pub fn router(app: Arc<App>, base: String) -> Router {
    let s = S { app, base };
    Router::new()
        .merge(login_routes(false))
        .nest("/sandbox", login_routes(true))
        .nest("/_emulator", admin::routes())
        .fallback(rest_entry)
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(s)
}

const JSON_CT: &str = "application/json;charset=UTF-8";

fn json_resp(status: u16, body: &serde_json::Value, limit: Option<String>) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_CT));
    if let Some(l) = limit { r.headers_mut().insert("Sforce-Limit-Info", HeaderValue::from_str(&l).unwrap()); }
    r
}

fn api_error(status: u16, code: &str, msg: &str, limit: Option<String>) -> Response {
    json_resp(status, &serde_json::json!([{"message": msg, "errorCode": code}]), limit)
}

/// A response whose body fails mid-stream: hyper aborts the connection.
fn dropped() -> Response {
    let stream = futures_util::stream::once(async { Err::<Bytes, std::io::Error>(std::io::Error::other("sfemu: injected connection drop")) });
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from_static("100"));
    r
}

async fn rest_entry(State(s): State<S>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let mut path = uri.path();
    let mut org_hint: Option<&str> = None;
    if let Some(rest) = path.strip_prefix("/org/") {
        let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
        org_hint = Some(id);
        path = &rest[id.len()..];
        let _ = tail;
    }
    let Some(sub) = path.strip_prefix("/services/data") else {
        return api_error(404, "NOT_FOUND", "The requested resource does not exist", None);
    };
    if sub.trim_matches('/').is_empty() {
        return json_resp(200, &rest::versions(), None);
    }
    let app = &s.app;
    let tok = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("OAuth "))).map(|t| t.trim().to_string());
    let t = tok.and_then(|t| app.tokens.read().get(&t).cloned());
    let invalid = || api_error(401, "INVALID_SESSION_ID", "Session expired or invalid", None);
    let Some(t) = t else { return invalid() };
    if t.expires < Instant::now() { return invalid(); }
    let Some(org) = app.org(&t.org_id).cloned() else { return invalid() };
    if let Some(h) = org_hint {
        if crate::ids::parse(h).as_deref() != Some(org.id.as_str()) { return invalid(); }
    }
    let faults = org.faults.read().clone();
    if faults.latency_ms > 0 { tokio::time::sleep(std::time::Duration::from_millis(faults.latency_ms)).await; }
    let max = org.max.load(Ordering::Relaxed);
    match faults.roll() {
        Injected::Drop => return dropped(),
        Injected::LimitExceeded => {
            let used = org.usage.load(Ordering::Relaxed);
            return api_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", Some(format!("api-usage={used}/{max}")));
        }
        Injected::Unavailable => return api_error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again later.", None),
        Injected::None => {}
    }
    let used = org.usage.load(Ordering::Relaxed);
    if used >= max {
        return api_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", Some(format!("api-usage={used}/{max}")));
    }
    let used = app.count_usage(&org);
    let limit = Some(format!("api-usage={used}/{max}"));
    let batch_size = headers.get("Sforce-Query-Options").and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').find_map(|kv| kv.trim().strip_prefix("batchSize=").and_then(|n| n.trim().parse().ok())));
    let ctx = Ctx { app: app.clone(), org, user_id: t.user_id.clone(), base: s.base.clone(), batch_size };
    let r = rest::dispatch(&ctx, method.as_str(), sub, uri.query().unwrap_or(""), &body);
    let mut resp = match &r.body {
        Some(b) => json_resp(r.status, b, limit),
        None => {
            let mut x = StatusCode::from_u16(r.status).unwrap_or(StatusCode::NO_CONTENT).into_response();
            x.headers_mut().insert("Sforce-Limit-Info", HeaderValue::from_str(limit.as_deref().unwrap()).unwrap());
            x
        }
    };
    for (k, v) in r.headers {
        if let (Ok(k), Ok(v)) = (header::HeaderName::try_from(k), HeaderValue::from_str(&v)) { resp.headers_mut().insert(k, v); }
    }
    resp
}

/// Serve plain HTTP until `stop` fires.
pub async fn serve_http(listener: tokio::net::TcpListener, router: Router, mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = axum::serve(listener, router).with_graceful_shutdown(async move { let _ = stop.changed().await; }).await;
}

/// Serve HTTPS (rustls) until `stop` fires.
pub async fn serve_https(listener: tokio::net::TcpListener, router: Router, tls: Arc<rustls::ServerConfig>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => return,
        };
        let Ok((tcp, _)) = accepted else { continue };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) = tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp)).await else { return };
            let io = hyper_util::rt::TokioIo::new(tls);
            let svc = hyper_util::service::TowerToHyperService::new(router);
            let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            let conn = builder.serve_connection_with_upgrades(io, svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => { conn.as_mut().graceful_shutdown(); let _ = conn.await; }
            }
        });
    }
}
