//! Starts a local Salesforce emulator (sfemu) per test and drives its login pages
//! the way a browser would, so the OAuth flow is exercised end to end.
#![allow(dead_code)]

use salesforce::oauth::{self, ConnectedApp, Tokens};
use salesforce::{ClientSecret, Environment};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use url::Url;

pub struct Org {
    pub id: String,
    pub login_url: Url,
    pub username: String,
    pub password: String,
}

pub struct TestSalesforce {
    pub emu: sfemu::Emulator,
    pub app: ConnectedApp,
    pub production: Org,
    pub sandbox: Org,
    pub http: reqwest::Client,
}

impl TestSalesforce {
    pub async fn start() -> TestSalesforce {
        let emu = sfemu::Emulator::start(sfemu::EmulatorConfig::default_demo(), "127.0.0.1:0".parse().unwrap(), None).await.unwrap();
        let lines = emu.startup_lines();
        let of = |ev: &str| lines.iter().filter(|l| l["event"] == ev).cloned().collect::<Vec<Value>>();
        let ca = &of("connected_app")[0];
        let app = ConnectedApp {
            client_id: ca["client_id"].as_str().unwrap().into(),
            client_secret: ClientSecret::new(ca["client_secret"].as_str().unwrap()),
            redirect_uri: Url::parse("https://insight.test/salesforce/callback").unwrap(),
            // The emulator stands in for Salesforce only because it is configured to.
            trusted_hosts: salesforce::TrustedHosts::none().with(&Url::parse(&emu.http_url()).unwrap()),
        };
        let users = of("user");
        let org = |sandbox: bool| {
            let o = of("org").into_iter().find(|o| o["is_sandbox"] == sandbox).unwrap();
            let u = users.iter().find(|u| u["org_id"] == o["id"]).unwrap();
            Org {
                id: o["id"].as_str().unwrap().into(),
                login_url: Url::parse(o["login_url"].as_str().unwrap()).unwrap(),
                username: u["username"].as_str().unwrap().into(),
                password: u["password"].as_str().unwrap().into(),
            }
        };
        let (production, sandbox) = (org(false), org(true));
        TestSalesforce { emu, app, production, sandbox, http: salesforce::http_client() }
    }

    pub fn org(&self, env: Environment) -> &Org {
        match env {
            Environment::Production => &self.production,
            Environment::Sandbox => &self.sandbox,
        }
    }

    /// Sign in through the login and consent pages as a browser would; returns
    /// the callback's query parameters (code and state, or error).
    pub async fn sign_in(&self, authorize_url: &Url, username: &str, password: &str) -> HashMap<String, String> {
        self.sign_in_with(&browser(), authorize_url, username, password, true).await
    }

    /// Sign in with a given browser (its cookies persist across calls); `allow` answers the consent page.
    pub async fn sign_in_with(&self, browser: &reqwest::Client, authorize_url: &Url, username: &str, password: &str, allow: bool) -> HashMap<String, String> {
        let mut page = browser.get(authorize_url.clone()).send().await.unwrap();
        while page.status().is_redirection() {
            // Salesforce's authorize sends the browser to its login page, /?ec=302&startURL=…
            let to = authorize_url.join(page.headers()["location"].to_str().unwrap()).unwrap();
            page = browser.get(to).send().await.unwrap();
        }
        assert_eq!(page.status(), 200, "login page");
        let html = page.text().await.unwrap();
        assert!(html.contains("login_form"), "expected a login form, got {html}");
        let mut action = authorize_url.clone();
        action.set_query(None);
        let mut form: Vec<(String, String)> = authorize_url.query_pairs().into_owned().collect();
        let mut login = form.clone();
        login.extend([("action".into(), "login".into()), ("username".into(), username.into()), ("password".into(), password.into())]);
        let mut resp = browser.post(action.clone()).form(&login).send().await.unwrap();
        if resp.status() == 200 {
            let html = resp.text().await.unwrap();
            assert!(html.contains("consent_form"), "expected the consent page, got {html}");
            form.push(("action".into(), if allow { "allow" } else { "deny" }.into()));
            resp = browser.post(action).form(&form).send().await.unwrap();
        }
        assert_eq!(resp.status(), 302, "redirect back to Insight");
        let loc = Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(loc.as_str().split('?').next(), Some(self.app.redirect_uri.as_str()));
        loc.query_pairs().into_owned().collect()
    }

    /// The full web-server flow for the demo user of `env`.
    pub async fn link(&self, env: Environment) -> Tokens {
        let org = self.org(env);
        let req = oauth::authorization_request(&self.app, &org.login_url).unwrap();
        let cb = self.sign_in(&req.url, &org.username, &org.password).await;
        let code = oauth::callback_code(cb.iter().map(|(k, v)| (k.as_str(), v.as_str())), &req.state).unwrap();
        oauth::exchange_code(&self.http, &self.app, &org.login_url, &code, &req.pkce_verifier).await.unwrap()
    }

    pub async fn admin_post(&self, path: &str) -> Value {
        let r = self.http.post(format!("{}{}", self.emu.admin_url(), path)).send().await.unwrap();
        assert!(r.status().is_success(), "admin {path}: {}", r.status());
        r.json().await.unwrap()
    }

    pub async fn admin_put(&self, path: &str, body: Value) -> Value {
        let r = self.http.put(format!("{}{}", self.emu.admin_url(), path)).json(&body).send().await.unwrap();
        assert!(r.status().is_success(), "admin {path}: {}", r.status());
        r.json().await.unwrap()
    }
}

/// A browser: keeps cookies, does not follow redirects (the test reads them).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A pass-through HTTP proxy in front of the emulator that counts token-endpoint
/// calls, so a test can see exactly how many refreshes reached "Salesforce".
pub struct CountingProxy {
    pub url: String,
    pub token_calls: Arc<AtomicU64>,
    /// Responses with status 401 (expired sessions) that passed through.
    pub unauthorized: Arc<AtomicU64>,
}

impl CountingProxy {
    pub async fn start(upstream: String) -> CountingProxy {
        Self::start_with_delay(upstream, std::time::Duration::ZERO).await
    }

    /// Like `start`, but holds every non-token request for `delay` first, so calls
    /// started together are all in flight before the first answer comes back.
    pub async fn start_with_delay(upstream: String, delay: std::time::Duration) -> CountingProxy {
        let token_calls = Arc::new(AtomicU64::new(0));
        let unauthorized = Arc::new(AtomicU64::new(0));
        let (counter, unauth) = (token_calls.clone(), unauthorized.clone());
        let client = reqwest::Client::new();
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let (client, upstream, counter, unauth) = (client.clone(), upstream.clone(), counter.clone(), unauth.clone());
            async move {
                let (parts, body) = req.into_parts();
                if parts.uri.path().ends_with("/services/oauth2/token") {
                    counter.fetch_add(1, Ordering::SeqCst);
                } else if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                let url = format!("{upstream}{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
                let mut fwd = client.request(parts.method.as_str().parse().unwrap(), url).body(body.to_vec());
                for h in ["content-type", "authorization", "accept"] {
                    if let Some(v) = parts.headers.get(h) {
                        fwd = fwd.header(h, v.to_str().unwrap());
                    }
                }
                let r = fwd.send().await.unwrap();
                let status = r.status().as_u16();
                if status == 401 {
                    unauth.fetch_add(1, Ordering::SeqCst);
                }
                let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
                let bytes = r.bytes().await.unwrap();
                let mut resp = axum::response::Response::new(axum::body::Body::from(bytes));
                *resp.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
                if let Some(ct) = ct {
                    resp.headers_mut().insert("content-type", ct.parse().unwrap());
                }
                resp
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        CountingProxy { url, token_calls, unauthorized }
    }

    pub fn unauthorized(&self) -> u64 {
        self.unauthorized.load(Ordering::SeqCst)
    }

    pub fn token_calls(&self) -> u64 {
        self.token_calls.load(Ordering::SeqCst)
    }
}
