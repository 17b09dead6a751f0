//! HTTP(S) listeners and routing. Each listener knows its own base URL, so
//! tokens issued over HTTPS carry an https instance_url and vice versa.
//!
//! URL layout (one host, path-prefixed, so jsforce and simple-salesforce work unchanged):
//!   {base}/services/oauth2/*, {base}/id/*       production login host ("login.salesforce.com")
//!   {base}/sandbox/services/oauth2/*, /sandbox/id/*  sandbox login host ("test.salesforce.com")
//!   {base}/org/{orgId}/services/data/*          per-org instance URL
//!   {base}/org/{orgId}/services/oauth2/{token,revoke,userinfo}  the same OAuth endpoints on it
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
        .route("/setup/secur/RemoteAccessAuthorizationPage.apexp", get(oauth::approval_get).post(oauth::authorize_post))
        .layer(Extension(LoginEnv { sandbox }))
}

/// The login page of a login host: `/` (production) and `/sandbox/`.
fn login_page_routes() -> Router<S> {
    let page = |sandbox| get(oauth::login_get).post(oauth::login_post).layer(Extension(LoginEnv { sandbox }));
    Router::new().route("/", page(false)).route("/sandbox/", page(true)).route("/sandbox", page(true))
}

/// The OAuth endpoints Salesforce also serves on an org's instance (My Domain) host.
fn instance_oauth_routes() -> Router<S> {
    Router::new()
        .route("/org/{org}/services/oauth2/token", post(oauth::token))
        .route("/org/{org}/services/oauth2/revoke", post(oauth::revoke).get(oauth::revoke))
        .route("/org/{org}/services/oauth2/userinfo", get(oauth::userinfo).post(oauth::userinfo))
}

pub fn router(app: Arc<App>, base: String) -> Router {
    let persistent = app.cfg.persistence_path.is_some();
    let s = S { app: app.clone(), base };
    let mut r = Router::new()
        .merge(login_routes(false))
        .nest("/sandbox", login_routes(true))
        .merge(login_page_routes())
        .merge(instance_oauth_routes())
        .nest("/_emulator", admin::routes())
        .fallback(rest_entry)
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024));
    if persistent {
        // Write each request's changes to SQLite before its response is sent.
        r = r.layer(axum::middleware::from_fn_with_state(app, crate::persist::flush_layer));
    }
    r.with_state(s)
}

/// Per-connection switch for the "drop" fault: set by the handler, acted on by
/// [`KillableIo`] before the first response byte is written.
#[derive(Clone, Default)]
pub struct ConnKill(Arc<std::sync::atomic::AtomicBool>);

impl ConnKill {
    pub fn trigger(&self) { self.0.store(true, Ordering::Release); }
    pub fn triggered(&self) -> bool { self.0.load(Ordering::Acquire) }
}

/// A TCP stream that, once its [`ConnKill`] is triggered, refuses to write: it sets
/// SO_LINGER to 0 and fails, so hyper drops the connection and the kernel sends a RST
/// instead of the response (what a client sees on a Salesforce connection reset).
pub struct KillableIo {
    tcp: tokio::net::TcpStream,
    kill: ConnKill,
}

impl KillableIo {
    fn check(&self) -> std::io::Result<()> {
        if self.kill.triggered() {
            // Deprecated because a non-zero linger blocks on drop; zero does not block.
            #[allow(deprecated)]
            let _ = self.tcp.set_linger(Some(std::time::Duration::ZERO));
            return Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "sfemu: injected connection drop"));
        }
        Ok(())
    }
}

impl tokio::io::AsyncRead for KillableIo {
    fn poll_read(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for KillableIo {
    fn poll_write(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>, buf: &[u8]) -> std::task::Poll<std::io::Result<usize>> {
        if let Err(e) = self.check() { return std::task::Poll::Ready(Err(e)); }
        std::pin::Pin::new(&mut self.tcp).poll_write(cx, buf)
    }
    fn poll_write_vectored(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> std::task::Poll<std::io::Result<usize>> {
        if let Err(e) = self.check() { return std::task::Poll::Ready(Err(e)); }
        std::pin::Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool { self.tcp.is_write_vectored() }
    fn poll_flush(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        if let Err(e) = self.check() { return std::task::Poll::Ready(Err(e)); }
        std::pin::Pin::new(&mut self.tcp).poll_flush(cx)
    }
    fn poll_shutdown(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        if let Err(e) = self.check() { return std::task::Poll::Ready(Err(e)); }
        std::pin::Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
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

/// The response returned after triggering [`ConnKill`]: never written, since the
/// connection refuses to write and is reset.
fn dropped_before_response() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    r
}

/// A response whose body fails mid-stream: hyper aborts the connection.
fn dropped() -> Response {
    let stream = futures_util::stream::once(async { Err::<Bytes, std::io::Error>(std::io::Error::other("sfemu: injected connection drop")) });
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from_static("100"));
    r
}

/// Largest request body of a REST call other than a Bulk API 2.0 upload.
const MAX_REST_BODY: usize = 64 * 1024 * 1024;

async fn rest_entry(State(s): State<S>, kill: Option<Extension<ConnKill>>, method: Method, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let mut path = uri.path();
    let mut org_hint: Option<&str> = None;
    if let Some(rest) = path.strip_prefix("/org/") {
        let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
        org_hint = Some(id);
        path = &rest[id.len()..];
        let _ = tail;
    }
    let Some(sub) = path.strip_prefix("/services/data") else {
        // `{instance}/{record id}` opens the record, as in Salesforce: here,
        // in the emulator's record browser.
        if let (Some(org), true) = (org_hint.and_then(|h| s.app.org(h).cloned()), method == Method::GET) {
            let id = path.trim_matches('/');
            if let Some(obj) = crate::ids::parse(id).and_then(|id| org.objects.iter().find(|o| !o.key_prefix.is_empty() && id.starts_with(o.key_prefix.as_str())).cloned()) {
                let to = format!("/_emulator/orgs/{}/browser/{}/{id}", org.id, obj.name);
                return Response::builder().status(302).header(header::LOCATION, to).body(axum::body::Body::empty()).unwrap_or_default();
            }
        }
        return api_error(404, "NOT_FOUND", "The requested resource does not exist", None);
    };
    if sub.trim_matches('/').is_empty() {
        if org_hint.is_some_and(|h| s.app.org(h).is_none()) {
            return api_error(404, "NOT_FOUND", "The requested resource does not exist", None);
        }
        return json_resp(200, &s.app.versions.listing(), None);
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
        Injected::Drop => {
            // Served by our listeners: cut the connection before any response byte.
            // Otherwise (router served elsewhere): fail the body after the status line.
            return match kill { Some(Extension(k)) => { k.trigger(); dropped_before_response() } None => dropped() };
        }
        Injected::LimitExceeded => {
            org.refused.fetch_add(1, Ordering::Relaxed);
            let used = org.usage.load(Ordering::Relaxed);
            return api_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", Some(format!("api-usage={used}/{max}")));
        }
        Injected::Unavailable => return api_error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again later.", None),
        Injected::None => {}
    }
    let used = org.usage.load(Ordering::Relaxed);
    if used >= max {
        org.refused.fetch_add(1, Ordering::Relaxed);
        return api_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", Some(format!("api-usage={used}/{max}")));
    }
    let used = app.count_usage(&org);
    let limit = Some(format!("api-usage={used}/{max}"));
    let batch_size = headers.get("Sforce-Query-Options").and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').find_map(|kv| kv.trim().strip_prefix("batchSize=").and_then(|n| n.trim().parse().ok())));
    // The body is read only now (after authentication), and never past the limit: a Bulk
    // API 2.0 upload may be as large as `bulk_max_upload_bytes`, anything else 64 MB.
    let upload = method == Method::PUT && crate::bulk2::is_upload_path(sub);
    let max_body = if upload { usize::try_from(app.cfg.bulk_max_upload_bytes).unwrap_or(usize::MAX) } else { MAX_REST_BODY };
    let body = match axum::body::to_bytes(body, max_body).await {
        Ok(b) => b,
        Err(_) if upload => {
            let e = crate::bulk2::upload_too_large(max_body as u64);
            return json_resp(e.status, &e.rest_body(), limit);
        }
        Err(_) => return api_error(413, "REQUEST_ENTITY_TOO_LARGE", &format!("The request body is larger than {MAX_REST_BODY} bytes"), limit),
    };
    let if_modified_since = headers.get(header::IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok()).and_then(rest::parse_http_date);
    let ctx = Ctx { app: app.clone(), org, user_id: t.user_id.clone(), base: s.base.clone(), batch_size, if_modified_since };
    // HEAD answers as GET without the body (hyper sends no body for a HEAD request).
    let verb = if method == Method::HEAD { "GET" } else { method.as_str() };
    let mut r = rest::dispatch(&ctx, verb, sub, uri.query().unwrap_or(""), &body);
    let mut resp = match (r.raw.take(), &r.body) {
        (Some((content_type, bytes)), _) => {
            let mut x = Response::new(Body::from(bytes));
            *x.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
            x.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            if let Some(l) = &limit { x.headers_mut().insert("Sforce-Limit-Info", HeaderValue::from_str(l).unwrap()); }
            x
        }
        (None, Some(b)) => json_resp(r.status, b, limit),
        (None, None) => {
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
pub async fn serve_http(listener: tokio::net::TcpListener, router: Router, stop: tokio::sync::watch::Receiver<bool>) {
    serve(listener, router, None, stop).await
}

/// Serve HTTPS (rustls) until `stop` fires.
pub async fn serve_https(listener: tokio::net::TcpListener, router: Router, tls: Arc<rustls::ServerConfig>, stop: tokio::sync::watch::Receiver<bool>) {
    serve(listener, router, Some(tokio_rustls::TlsAcceptor::from(tls)), stop).await
}

/// Accept loop shared by both listeners: each connection gets a [`ConnKill`] (as a request
/// extension) so that the drop fault can reset it before a response is written.
async fn serve(listener: tokio::net::TcpListener, router: Router, tls: Option<tokio_rustls::TlsAcceptor>, mut stop: tokio::sync::watch::Receiver<bool>) {
    // Open connections; after `stop`, wait for them to finish (as axum::serve's graceful
    // shutdown does) so that in-flight requests complete before the store is closed.
    let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => {
                drop(listener);
                while open.load(Ordering::Acquire) > 0 { tokio::time::sleep(std::time::Duration::from_millis(5)).await; }
                return;
            }
        };
        let Ok((tcp, _)) = accepted else {
            // e.g. too many open files: back off instead of spinning.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let kill = ConnKill::default();
        let io = KillableIo { tcp, kill: kill.clone() };
        let svc = tower::ServiceExt::map_request(router.clone(), move |mut req: axum::extract::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(kill.clone());
            req
        });
        let tls = tls.clone();
        let stop = stop.clone();
        let guard = OpenConn::new(open.clone());
        tokio::spawn(async move {
            let _guard = guard;
            match tls {
                None => serve_conn(hyper_util::rt::TokioIo::new(io), svc, stop).await,
                Some(acceptor) => {
                    let Ok(Ok(tls)) = tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(io)).await else { return };
                    serve_conn(hyper_util::rt::TokioIo::new(tls), svc, stop).await
                }
            }
        });
    }
}

/// Counts a connection as open until dropped.
struct OpenConn(Arc<std::sync::atomic::AtomicUsize>);
impl OpenConn {
    fn new(n: Arc<std::sync::atomic::AtomicUsize>) -> Self { n.fetch_add(1, Ordering::AcqRel); OpenConn(n) }
}
impl Drop for OpenConn {
    fn drop(&mut self) { self.0.fetch_sub(1, Ordering::AcqRel); }
}

async fn serve_conn<I, Svc>(io: I, svc: Svc, mut stop: tokio::sync::watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    Svc: tower::Service<axum::extract::Request<hyper::body::Incoming>, Response = Response, Error = std::convert::Infallible> + Clone + Send + 'static,
    Svc::Future: Send + 'static,
{
    let svc = hyper_util::service::TowerToHyperService::new(svc);
    let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    let conn = builder.serve_connection_with_upgrades(io, svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => { conn.as_mut().graceful_shutdown(); let _ = conn.await; }
    }
}
