//! OAuth 2.0 endpoints on the login hosts (production at `/`, sandbox at `/sandbox`):
//! authorize (HTML login + consent), token (authorization_code with PKCE,
//! refresh_token, password), revoke, userinfo, and the identity URL. Token, revoke and
//! userinfo are also served on each org's instance URL (`/org/{orgId}`, see [`OAuthHost`]).

use crate::server::{LoginEnv, S};
use crate::state::{now_ms, random_token, App, AuthCode, BrowserSession, Org, RefreshToken, User};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use base64::Engine;
use hmac::Mac;
use serde_json::json;
use sha2::Digest;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Params = HashMap<String, String>;

const AUTH_PARAMS: [&str; 8] = ["response_type", "client_id", "redirect_uri", "state", "scope", "code_challenge", "code_challenge_method", "prompt"];

fn cookie_name(env: &LoginEnv) -> &'static str { if env.sandbox { "sfemu_sid_sandbox" } else { "sfemu_sid" } }

fn session_from_cookie(app: &App, headers: &HeaderMap, env: &LoginEnv) -> Option<BrowserSession> {
    let name = cookie_name(env);
    let raw = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|s| s.split(';'))
        .filter_map(|kv| kv.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.to_string())?;
    app.sessions.lock().get(&raw).cloned()
}

fn page(title: &str, inner: &str) -> String {
    format!(r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;background:#f3f3f3;margin:0}}.card{{max-width:380px;margin:60px auto;background:#fff;border-radius:6px;padding:24px;box-shadow:0 1px 4px #0002}}
h1{{font-size:20px;color:#032d60}}label{{display:block;margin:12px 0 4px;font-size:13px}}input[type=text],input[type=password]{{width:100%;padding:8px;box-sizing:border-box}}
input[type=submit]{{margin-top:16px;padding:8px 16px;background:#0176d3;color:#fff;border:0;border-radius:4px;cursor:pointer}}input.secondary{{background:#fff;color:#0176d3;border:1px solid #0176d3}}.err{{color:#c23934;font-size:13px}}.note{{color:#666;font-size:12px}}</style></head>
<body><div class="card">{inner}<p class="note">sfemu &mdash; local Salesforce emulator</p></div></body></html>"#)
}

fn esc(s: &str) -> String { s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;") }

fn hidden(p: &Params) -> String {
    AUTH_PARAMS.iter().filter_map(|k| p.get(*k).map(|v| format!(r#"<input type="hidden" name="{k}" value="{}">"#, esc(v)))).collect()
}


fn prefix(env: &LoginEnv) -> &'static str { if env.sandbox { "/sandbox" } else { "" } }

/// Salesforce's login page (`https://login.salesforce.com/?ec=302&startURL=…`): the form
/// posts back to the page with `username`, `pw` and the `Login` button; `startURL` is where
/// a successful login continues (the OAuth approval page, for an authorize request). As on
/// Salesforce, the fields are `input#username`, `input#password` and `input#Login`, which
/// scripts written against a real org select.
fn login_page(app: &App, env: &LoginEnv, start_url: &str, error: Option<&str>) -> Response {
    let err = error.map(|e| format!(r#"<p class="err" id="error">{}</p>"#, esc(e))).unwrap_or_default();
    let which = if env.sandbox { "Sandbox" } else { "Production" };
    Html(page("Login | Salesforce", &format!(r#"<h1>Log in to Salesforce ({which})</h1>{err}
<form method="post" action="{}/" id="login_form" name="login"><input type="hidden" name="startURL" value="{}">
<label for="username">Username</label><input type="text" id="username" name="username" autocomplete="username">
<label for="password">Password</label><input type="password" id="password" name="pw" autocomplete="current-password">
<input type="submit" id="Login" name="Login" value="Log In"></form>{}"#, prefix(env), esc(start_url), demo_logins(app, env)))).into_response()
}

/// With `login_page_lists_users` (the demo), who can log in here and with which password.
fn demo_logins(app: &App, env: &LoginEnv) -> String {
    if !app.cfg.login_page_lists_users {
        return String::new();
    }
    let users: String = app
        .orgs
        .iter()
        .filter(|o| o.is_sandbox == env.sandbox)
        .flat_map(|o| o.users.iter().map(move |u| (o, u)))
        .map(|(o, u)| format!("<li><code>{}</code> / <code>{}</code> <span class=\"note\">({})</span></li>", esc(&u.username), esc(&u.password), esc(&o.name)))
        .collect();
    format!(r#"<div id="demo-logins"><p class="note">Demo {} org: log in as</p><ul>{users}</ul></div>"#, if env.sandbox { "sandbox" } else { "production" })
}

/// The approval page an authorize request continues at once the user is logged in.
fn approval_url(env: &LoginEnv, p: &Params) -> String {
    let source = serde_urlencoded::to_string(AUTH_PARAMS.iter().filter_map(|k| p.get(*k).map(|v| (*k, v.as_str()))).collect::<Vec<_>>()).unwrap_or_default();
    format!("{}/setup/secur/RemoteAccessAuthorizationPage.apexp?{}", prefix(env), serde_urlencoded::to_string([("source", source.as_str())]).unwrap_or_default())
}

/// Send the browser to the login page, as Salesforce does: `/?ec=302&startURL=…`.
fn to_login(env: &LoginEnv, start_url: &str) -> Response {
    let q = serde_urlencoded::to_string([("ec", "302"), ("startURL", start_url)]).unwrap_or_default();
    (StatusCode::FOUND, [(header::LOCATION, format!("{}/?{q}", prefix(env)))]).into_response()
}

fn consent_page(app: &App, env: &LoginEnv, p: &Params, user: &User) -> Response {
    let app_name = p.get("client_id").and_then(|c| app.connected_app(c)).map(|a| a.name.clone()).unwrap_or_default();
    let scope = p.get("scope").cloned().unwrap_or_else(|| "api refresh_token".into());
    Html(page("Allow Access?", &format!(r#"<h1>Allow Access?</h1><p><b>{}</b> is asking to:</p><ul>{}</ul><p>You are logged in as {}.</p>
<form method="post" action="{}/setup/secur/RemoteAccessAuthorizationPage.apexp" id="consent_form">{}
<input type="submit" id="oaapprove" name="oaapprove" value="Allow">
<input type="submit" id="oadeny" name="oadeny" value="Deny" class="secondary"></form>"#,
        esc(&app_name), scope.split_whitespace().map(|s| format!("<li>{}</li>", esc(s))).collect::<String>(), esc(&user.username),
        prefix(env), hidden(p)))).into_response()
}

fn error_page(status: StatusCode, code: &str, desc: &str) -> Response {
    (status, Html(page("Error", &format!(r#"<h1>Error</h1><p class="err" id="error">error={}&amp;error_description={}</p>"#, esc(code), esc(desc))))).into_response()
}

fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut u = redirect_uri.to_string();
    let q = serde_urlencoded::to_string(pairs).unwrap_or_default();
    u.push(if u.contains('?') { '&' } else { '?' });
    u.push_str(&q);
    (StatusCode::FOUND, [(header::LOCATION, u)]).into_response()
}

/// Salesforce answers a click on its browser pages (Log In, Allow, Deny) with a 200 page whose
/// script sends the browser on (`redirectOnLoad`, `window.location.replace`), not a 302 —
/// recorded answers of `/services/oauth2/authorize` have this shape. A browser script that
/// clicks and then waits for the navigation (jsforce's test helper) thus sees where the click
/// leads as a navigation of its own, after the page's, rather than one that may already be
/// over when its click resolves. `<noscript>` and the link do the same without script.
fn script_redirect(to: &str) -> Response {
    // A JSON string is a JavaScript string literal; `</` would end the script element.
    let js = serde_json::to_string(to).unwrap_or_default().replace("</", "<\\/");
    let to = esc(to);
    Html(format!(r#"<!DOCTYPE html><html><head><meta http-equiv="PRAGMA" content="NO-CACHE"><noscript><meta http-equiv="refresh" content="0;url={to}"></noscript>
<script>function redirectOnLoad() {{ if (window.location.replace) {{ window.location.replace({js}); }} else {{ window.location.href = {js}; }} }} redirectOnLoad();</script></head>
<body><p>Redirecting to <a id="redirect" href="{to}">{to}</a></p></body></html>"#)).into_response()
}

/// A 302 back to the client (an absolute URL) as a `script_redirect` page; the pages' own
/// steps within the host, and anything else, stay as they are.
fn redirect_page(redirect: Response) -> Response {
    let Some(to) = redirect.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string) else { return redirect };
    if redirect.status() != StatusCode::FOUND || to.starts_with('/') {
        return redirect;
    }
    script_redirect(&to)
}

/// Validate client and redirect URI; Err is the error page to show.
fn check_client(app: &App, p: &Params) -> Result<(), Response> {
    let cid = p.get("client_id").map(String::as_str).unwrap_or("");
    let Some(ca) = app.connected_app(cid) else { return Err(error_page(StatusCode::BAD_REQUEST, "invalid_client_id", "client identifier invalid")) };
    let ru = p.get("redirect_uri").map(String::as_str).unwrap_or("");
    if ru.is_empty() || (!ca.callback_urls.is_empty() && !ca.callback_urls.iter().any(|c| c == ru)) {
        return Err(error_page(StatusCode::BAD_REQUEST, "redirect_uri_mismatch", "redirect_uri must match configuration"));
    }
    Ok(())
}

fn issue_code(app: &App, p: &Params, org: &Org, user: &User) -> Response {
    let code = format!("aPrx{}", random_token(60));
    app.codes.lock().insert(code.clone(), AuthCode {
        org_id: org.id.clone(), user_id: user.id.clone(), client_id: p["client_id"].clone(), redirect_uri: p["redirect_uri"].clone(),
        code_challenge: p.get("code_challenge").filter(|s| !s.is_empty()).cloned(),
        code_challenge_method: p.get("code_challenge_method").cloned(),
        scope: p.get("scope").cloned().unwrap_or_else(|| "api refresh_token".into()),
        expires: Instant::now() + Duration::from_secs(15 * 60),
    });
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = p.get("state") { pairs.push(("state", s)); }
    redirect_with(&p["redirect_uri"], &pairs)
}

pub async fn authorize_get(State(s): State<S>, Extension(env): Extension<LoginEnv>, headers: HeaderMap, Query(p): Query<Params>) -> Response {
    if let Err(r) = check_client(&s.app, &p) { return r; }
    if p.get("response_type").map(String::as_str) != Some("code") {
        let mut pairs = vec![("error", "unsupported_response_type"), ("error_description", "response type not supported")];
        if let Some(st) = p.get("state") { pairs.push(("state", st)); }
        return redirect_with(&p["redirect_uri"], &pairs);
    }
    if let Some(m) = p.get("code_challenge_method") {
        if m != "S256" && m != "plain" {
            return redirect_with(&p["redirect_uri"], &[("error", "invalid_request"), ("error_description", "invalid code_challenge_method")]);
        }
    }
    let prompt = p.get("prompt").map(String::as_str).unwrap_or("");
    let force_login = prompt.split_whitespace().any(|x| x == "login");
    match session_from_cookie(&s.app, &headers, &env) {
        Some(sess) if !force_login => after_login(&s.app, &env, &p, &sess),
        // The approval page does not look at `prompt=login`, so the login is asked once.
        _ => to_login(&env, &approval_url(&env, &p)),
    }
}

/// `GET /?ec=302&startURL=…` (and `/sandbox/`): the login page.
pub async fn login_get(State(s): State<S>, Extension(env): Extension<LoginEnv>, Query(q): Query<Params>) -> Response {
    login_page(&s.app, &env, q.get("startURL").map(String::as_str).unwrap_or(""), None)
}

/// `POST /`: the login form. A good username and password start a browser session and
/// continue at `startURL` (a path on this host only), by a `script_redirect` page; anything
/// else shows the page again with Salesforce's message.
pub async fn login_post(State(s): State<S>, Extension(env): Extension<LoginEnv>, Form(f): Form<Params>) -> Response {
    let app = &s.app;
    let start = f.get("startURL").map(String::as_str).unwrap_or("");
    let username = f.get("username").map(String::as_str).unwrap_or("");
    let password = f.get("pw").or_else(|| f.get("password")).map(String::as_str).unwrap_or("");
    let Some((org, user)) = app.find_user(username).filter(|(o, u)| u.password == password && o.is_sandbox == env.sandbox) else {
        return login_page(app, &env, start, Some(BAD_LOGIN));
    };
    let sid = random_token(40);
    app.sessions.lock().insert(sid.clone(), BrowserSession { org_id: org.id.clone(), user_id: user.id.clone(), sandbox: env.sandbox });
    let to = if start.starts_with('/') && !start.starts_with("//") { start.to_string() } else { format!("/_emulator/orgs/{}/browser", org.id) };
    let cookie = format!("{}={sid}; Path=/; HttpOnly; SameSite=Lax", cookie_name(&env));
    let mut page = script_redirect(&to);
    page.headers_mut().insert(header::SET_COOKIE, cookie.parse().unwrap());
    page
}

/// `GET /setup/secur/RemoteAccessAuthorizationPage.apexp?source=…`: the approval page of
/// an authorize request (its parameters in `source`). Not logged in: the login page first;
/// already approved (and no `prompt=consent`): straight back to the client with a code, by
/// a page whose script sends the browser on (`redirect_page`).
pub async fn approval_get(State(s): State<S>, Extension(env): Extension<LoginEnv>, headers: HeaderMap, Query(q): Query<Params>) -> Response {
    let p: Params = q.get("source").map(|src| url::form_urlencoded::parse(src.as_bytes()).into_owned().collect()).unwrap_or_default();
    if let Err(r) = check_client(&s.app, &p) { return r; }
    match session_from_cookie(&s.app, &headers, &env) {
        Some(sess) => redirect_page(after_login(&s.app, &env, &p, &sess)),
        None => to_login(&env, &approval_url(&env, &p)),
    }
}

const BAD_LOGIN: &str = "Please check your username and password. If you still can't log in, contact your Salesforce administrator.";

fn after_login(app: &App, env: &LoginEnv, p: &Params, sess: &BrowserSession) -> Response {
    let Some(org) = app.org(&sess.org_id).cloned() else { return to_login(env, &approval_url(env, p)) };
    let Some(user) = org.user(&sess.user_id).cloned() else { return to_login(env, &approval_url(env, p)) };
    let approved = app.approvals.lock().contains(&(user.id.clone(), p.get("client_id").cloned().unwrap_or_default()));
    let force_consent = p.get("prompt").map(|x| x.split_whitespace().any(|x| x == "consent")).unwrap_or(false);
    if approved && !force_consent { issue_code(app, p, &org, &user) } else { consent_page(app, env, p, &user) }
}

/// `POST /setup/secur/RemoteAccessAuthorizationPage.apexp`: the approval page's form, Allow
/// (`oaapprove`) or Deny (`oadeny`), with the authorize request's parameters. Also answered at
/// `POST /services/oauth2/authorize`, where the emulator's pages used to post.
pub async fn authorize_post(State(s): State<S>, Extension(env): Extension<LoginEnv>, headers: HeaderMap, Form(p): Form<Params>) -> Response {
    if let Err(r) = check_client(&s.app, &p) { return r; }
    let app = &s.app;
    // The approval page's buttons are `oaapprove` / `oadeny`; `action=allow|deny|login` is the
    // emulator's older form post, still answered.
    let action = if p.contains_key("oaapprove") { Some("allow") } else if p.contains_key("oadeny") { Some("deny") } else { p.get("action").map(String::as_str) };
    let from_approval_page = p.contains_key("oaapprove") || p.contains_key("oadeny");
    let back_to_client = |r: Response| if from_approval_page { redirect_page(r) } else { r };
    match action {
        Some("login") => {
            let username = p.get("username").map(String::as_str).unwrap_or("");
            let password = p.get("password").map(String::as_str).unwrap_or("");
            match app.find_user(username) {
                Some((org, user)) if user.password == password && org.is_sandbox == env.sandbox => {
                    let sid = random_token(40);
                    let sess = BrowserSession { org_id: org.id.clone(), user_id: user.id.clone(), sandbox: env.sandbox };
                    app.sessions.lock().insert(sid.clone(), sess.clone());
                    let mut resp = after_login(app, &env, &p, &sess);
                    let cookie = format!("{}={sid}; Path=/; HttpOnly; SameSite=Lax", cookie_name(&env));
                    resp.headers_mut().append(header::SET_COOKIE, cookie.parse().unwrap());
                    resp
                }
                _ => login_page(app, &env, &approval_url(&env, &p), Some(BAD_LOGIN)),
            }
        }
        Some(a @ ("allow" | "deny")) => {
            let Some(sess) = session_from_cookie(app, &headers, &env) else { return to_login(&env, &approval_url(&env, &p)) };
            if a == "deny" {
                let mut pairs = vec![("error", "access_denied"), ("error_description", "end-user denied authorization")];
                if let Some(st) = p.get("state") { pairs.push(("state", st)); }
                return back_to_client(redirect_with(&p["redirect_uri"], &pairs));
            }
            let (Some(org), true) = (app.org(&sess.org_id).cloned(), true) else { return to_login(&env, &approval_url(&env, &p)) };
            let Some(user) = org.user(&sess.user_id).cloned() else { return to_login(&env, &approval_url(&env, &p)) };
            app.approvals.lock().insert((user.id.clone(), p["client_id"].clone()));
            app.tokens_changed();
            back_to_client(issue_code(app, &p, &org, &user))
        }
        _ => to_login(&env, &approval_url(&env, &p)),
    }
}

/// The host an OAuth token, revoke or userinfo request came to. Salesforce serves these on
/// the login hosts (login.salesforce.com, test.salesforce.com) and on each org's own
/// instance (My Domain) host, where only that org's users and tokens are known.
#[derive(Clone)]
pub enum OAuthHost {
    Login { sandbox: bool },
    Instance { org: Arc<Org> },
}

impl OAuthHost {
    fn sandbox(&self) -> bool {
        match self {
            OAuthHost::Login { sandbox } => *sandbox,
            OAuthHost::Instance { org } => org.is_sandbox,
        }
    }

    /// May a user of `org` sign in (password, client credentials) here? At a login host,
    /// users of that environment; at an instance host, users of that org only.
    fn admits_user_of(&self, org: &Org) -> bool {
        match self {
            OAuthHost::Login { sandbox } => org.is_sandbox == *sandbox,
            OAuthHost::Instance { org: own } => own.id == org.id,
        }
    }

    /// Is a code, refresh token or access token of `org` known here? An instance host knows
    /// only its own org's; the login hosts redeem any (as the emulator always has).
    fn knows_tokens_of(&self, org_id: &str) -> bool {
        match self {
            OAuthHost::Login { .. } => true,
            OAuthHost::Instance { org } => org.id == org_id,
        }
    }
}

impl axum::extract::FromRequestParts<S> for OAuthHost {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, s: &S) -> Result<Self, Response> {
        if let Some(env) = parts.extensions.get::<LoginEnv>() {
            return Ok(OAuthHost::Login { sandbox: env.sandbox });
        }
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, s).await.map_err(IntoResponse::into_response)?;
        let id = params.get("org").map(String::as_str).unwrap_or("");
        match s.app.org(id) {
            Some(org) => Ok(OAuthHost::Instance { org: org.clone() }),
            // No such My Domain: Salesforce's DNS would not resolve it.
            None => Err(oauth_error(StatusCode::NOT_FOUND, "not_found", &format!("no org with id {id} on this emulator"))),
        }
    }
}

fn oauth_error(status: StatusCode, error: &str, desc: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json;charset=UTF-8")], json!({"error": error, "error_description": desc}).to_string()).into_response()
}

fn client_creds(headers: &HeaderMap, p: &Params) -> (Option<String>, Option<String>) {
    if let Some(b) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic ")) {
        if let Ok(dec) = base64::engine::general_purpose::STANDARD.decode(b.trim()) {
            if let Some((i, s)) = String::from_utf8_lossy(&dec).split_once(':') { return (Some(i.to_string()), Some(s.to_string())); }
        }
    }
    (p.get("client_id").cloned(), p.get("client_secret").cloned())
}

/// HMAC-SHA256 of id + issued_at keyed with the client secret, base64 (as Salesforce documents).
pub fn signature(secret: &str, id: &str, issued_at: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(id.as_bytes());
    mac.update(issued_at.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn token_response(s: &S, host: &OAuthHost, org: &Org, user_id: &str, client_id: &str, secret: &str, refresh: Option<String>, include_refresh: bool, scope: Option<&str>) -> Response {
    let access = s.app.issue_access_token(org, user_id, client_id, refresh.clone());
    // The identity URL stays on the environment's login host (where /id/ is served).
    let login = App::login_url(&s.base, host.sandbox());
    let id = format!("{login}/id/{}/{}", org.id, user_id);
    let issued_at = now_ms().to_string();
    let mut m = serde_json::Map::new();
    m.insert("access_token".into(), json!(access));
    if include_refresh { if let Some(r) = &refresh { m.insert("refresh_token".into(), json!(r)); } }
    m.insert("signature".into(), json!(signature(secret, &id, &issued_at)));
    if let Some(sc) = scope { m.insert("scope".into(), json!(sc)); }
    m.insert("instance_url".into(), json!(App::instance_url(&s.base, org)));
    m.insert("id".into(), json!(id));
    m.insert("token_type".into(), json!("Bearer"));
    m.insert("issued_at".into(), json!(issued_at));
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json;charset=UTF-8"), (header::CACHE_CONTROL, "no-cache,must-revalidate,max-age=0,no-store,private")], serde_json::Value::Object(m).to_string()).into_response()
}

pub async fn token(State(s): State<S>, host: OAuthHost, headers: HeaderMap, Form(p): Form<Params>) -> Response {
    let app = s.app.clone();
    let (cid, secret) = client_creds(&headers, &p);
    let grant = p.get("grant_type").map(String::as_str).unwrap_or("");
    if !matches!(grant, "authorization_code" | "refresh_token" | "password" | "client_credentials") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "grant type not supported");
    }
    let Some(ca) = cid.as_deref().and_then(|c| app.connected_app(c)).cloned() else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client_id", "client identifier invalid");
    };
    if let Some(sec) = &secret { if sec != &ca.client_secret { return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "invalid client credentials"); } }
    match grant {
        "authorization_code" => {
            let code = p.get("code").cloned().unwrap_or_default();
            // Single use: removed whether or not the exchange succeeds.
            let Some(ac) = app.codes.lock().remove(&code) else { return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "invalid authorization code") };
            if ac.expires < Instant::now() || ac.client_id != ca.client_id || !host.knows_tokens_of(&ac.org_id) { return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "invalid authorization code"); }
            if p.get("redirect_uri").map(String::as_str) != Some(ac.redirect_uri.as_str()) {
                return oauth_error(StatusCode::BAD_REQUEST, "redirect_uri_mismatch", "redirect_uri must match configuration");
            }
            match (&ac.code_challenge, p.get("code_verifier")) {
                (Some(ch), Some(v)) => {
                    let computed = if ac.code_challenge_method.as_deref() == Some("plain") { v.clone() } else {
                        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(v.as_bytes()))
                    };
                    if &computed != ch { return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "invalid code verifier"); }
                }
                (Some(_), None) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "invalid code verifier"),
                (None, _) => {
                    if secret.is_none() { return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "invalid client credentials"); }
                }
            }
            let Some(org) = app.org(&ac.org_id).cloned() else { return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "authentication failure") };
            let want_refresh = ac.scope.split_whitespace().any(|x| x == "refresh_token" || x == "offline_access" || x == "full");
            let refresh = want_refresh.then(|| {
                let r = format!("5Aep{}", random_token(80));
                app.refresh_tokens.write().insert(r.clone(), RefreshToken { org_id: org.id.clone(), user_id: ac.user_id.clone(), client_id: ca.client_id.clone(), scope: ac.scope.clone() });
                app.tokens_changed();
                r
            });
            token_response(&s, &host, &org, &ac.user_id, &ca.client_id, &ca.client_secret, refresh, true, Some(&ac.scope))
        }
        "refresh_token" => {
            let rt = p.get("refresh_token").cloned().unwrap_or_default();
            let Some(r) = app.refresh_tokens.read().get(&rt).cloned() else { return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "expired access/refresh token") };
            if r.client_id != ca.client_id || !host.knows_tokens_of(&r.org_id) { return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "expired access/refresh token"); }
            let Some(org) = app.org(&r.org_id).cloned() else { return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "expired access/refresh token") };
            token_response(&s, &host, &org, &r.user_id, &ca.client_id, &ca.client_secret, Some(rt), false, Some(&r.scope))
        }
        "client_credentials" => {
            if secret.is_none() { return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "invalid client credentials"); }
            match ca.client_credentials_user.as_deref().and_then(|u| app.find_user(u)) {
                Some((org, user)) if host.admits_user_of(&org) => token_response(&s, &host, &org, &user.id, &ca.client_id, &ca.client_secret, None, false, Some("api")),
                _ => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "no client credentials user enabled"),
            }
        }
        _ => {
            if secret.is_none() { return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "invalid client credentials"); }
            let username = p.get("username").map(String::as_str).unwrap_or("");
            let password = p.get("password").map(String::as_str).unwrap_or("");
            match app.find_user(username) {
                // Salesforce appends the security token to the password; the emulator accepts with or without.
                Some((org, user)) if (password == user.password || password.starts_with(&user.password)) && host.admits_user_of(&org) => {
                    token_response(&s, &host, &org, &user.id, &ca.client_id, &ca.client_secret, None, false, None)
                }
                _ => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "authentication failure"),
            }
        }
    }
}

pub async fn revoke(State(s): State<S>, host: OAuthHost, Query(q): Query<Params>, body: axum::body::Bytes) -> Response {
    let form: Params = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let tok = form.get("token").or_else(|| q.get("token")).cloned().unwrap_or_default();
    let app = &s.app;
    // At an instance host another org's token is as unknown as a made-up one.
    let access_here = app.tokens.read().get(&tok).is_some_and(|t| host.knows_tokens_of(&t.org_id));
    let refresh_here = app.refresh_tokens.read().get(&tok).is_some_and(|t| host.knows_tokens_of(&t.org_id));
    if access_here && app.tokens.write().remove(&tok).is_some() { app.tokens_changed(); return StatusCode::OK.into_response(); }
    if refresh_here && app.refresh_tokens.write().remove(&tok).is_some() {
        app.tokens_changed();
        app.tokens.write().retain(|_, t| t.refresh.as_deref() != Some(tok.as_str()));
        return StatusCode::OK.into_response();
    }
    oauth_error(StatusCode::BAD_REQUEST, "unsupported_token_type", "this token type is not supported")
}

fn bearer_user(app: &App, headers: &HeaderMap, q: &Params) -> Option<(Arc<Org>, User)> {
    let tok = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("OAuth ")))
        .map(|s| s.trim().to_string()).or_else(|| q.get("oauth_token").cloned())?;
    let t = app.tokens.read().get(&tok).cloned()?;
    if t.expires < Instant::now() { return None; }
    let org = app.org(&t.org_id)?.clone();
    let user = org.user(&t.user_id)?.clone();
    Some((org, user))
}

fn identity_body(s: &S, sandbox: bool, org: &Org, u: &User) -> serde_json::Value {
    let login = App::login_url(&s.base, sandbox);
    let inst = App::instance_url(&s.base, org);
    let o15 = &org.id[..15];
    json!({
        "id": format!("{login}/id/{}/{}", org.id, u.id), "asserted_user": true, "user_id": u.id, "organization_id": org.id,
        "username": u.username, "nick_name": u.username.split('@').next().unwrap_or(""), "display_name": u.name(),
        "email": u.email, "email_verified": true, "first_name": u.first_name, "last_name": u.last_name,
        "timezone": "America/Los_Angeles",
        "photos": {"picture": format!("{inst}/profilephoto/005/F"), "thumbnail": format!("{inst}/profilephoto/005/T")},
        "addr_street": null, "addr_city": null, "addr_state": null, "addr_country": "US", "addr_zip": null,
        "mobile_phone": null, "mobile_phone_verified": false, "is_lightning_login_user": false,
        "status": {"created_date": null, "body": null},
        "urls": {
            "enterprise": format!("{inst}/services/Soap/c/{{version}}/{o15}"), "metadata": format!("{inst}/services/Soap/m/{{version}}/{o15}"),
            "partner": format!("{inst}/services/Soap/u/{{version}}/{o15}"), "rest": format!("{inst}/services/data/v{{version}}/"),
            "sobjects": format!("{inst}/services/data/v{{version}}/sobjects/"), "search": format!("{inst}/services/data/v{{version}}/search/"),
            "query": format!("{inst}/services/data/v{{version}}/query/"), "recent": format!("{inst}/services/data/v{{version}}/recent/"),
            "tooling_soap": format!("{inst}/services/Soap/T/{{version}}/{o15}"), "tooling_rest": format!("{inst}/services/data/v{{version}}/tooling/"),
            "profile": format!("{inst}/{}", u.id), "feeds": format!("{inst}/services/data/v{{version}}/chatter/feeds"),
            "groups": format!("{inst}/services/data/v{{version}}/chatter/groups"), "users": format!("{inst}/services/data/v{{version}}/chatter/users"),
            "feed_items": format!("{inst}/services/data/v{{version}}/chatter/feed-items"), "feed_elements": format!("{inst}/services/data/v{{version}}/chatter/feed-elements"),
            "custom_domain": inst,
        },
        "active": true, "user_type": "STANDARD", "language": "en_US", "locale": "en_US", "utcOffset": -28800000,
        "last_modified_date": org.created.replace(".000+0000", "Z"), "is_app_installed": true,
    })
}

pub async fn identity(State(s): State<S>, Extension(env): Extension<LoginEnv>, Path((org_id, user_id)): Path<(String, String)>, headers: HeaderMap, Query(q): Query<Params>) -> Response {
    let Some((org, user)) = bearer_user(&s.app, &headers, &q) else { return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response() };
    let (Some(oid), Some(uid)) = (crate::ids::parse(&org_id), crate::ids::parse(&user_id)) else { return (StatusCode::NOT_FOUND, "Bad_Id").into_response() };
    if oid != org.id || uid != user.id { return (StatusCode::FORBIDDEN, "Wrong_Org").into_response(); }
    axum::Json(identity_body(&s, env.sandbox, &org, &user)).into_response()
}

pub async fn userinfo(State(s): State<S>, host: OAuthHost, headers: HeaderMap, Query(q): Query<Params>) -> Response {
    let Some((org, u)) = bearer_user(&s.app, &headers, &q).filter(|(org, _)| host.knows_tokens_of(&org.id)) else { return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response() };
    let idb = identity_body(&s, host.sandbox(), &org, &u);
    axum::Json(json!({
        "sub": idb["id"], "user_id": u.id, "organization_id": org.id, "preferred_username": u.username,
        "nickname": idb["nick_name"], "name": u.name(), "email": u.email, "email_verified": true,
        "given_name": u.first_name, "family_name": u.last_name, "zoneinfo": "America/Los_Angeles",
        "photos": idb["photos"], "profile": idb["urls"]["profile"], "picture": idb["photos"]["picture"],
        "address": {"country": "US"}, "is_salesforce_integration_user": false, "urls": idb["urls"], "active": true,
        "user_type": "STANDARD", "language": "en_US", "locale": "en_US", "utcOffset": -28800000,
        "updated_at": idb["last_modified_date"], "is_app_installed": true,
    })).into_response()
}
