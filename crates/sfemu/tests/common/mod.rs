#![allow(dead_code)]
use serde_json::{json, Value};
use sfemu::{Emulator, EmulatorConfig};

pub struct T {
    pub emu: Emulator,
    pub http: reqwest::Client,
    pub base: String,
    pub client_id: String,
    pub client_secret: String,
    pub prod_org: String,
    pub sandbox_org: String,
}

pub async fn start_with(cfg: EmulatorConfig) -> T {
    let emu = Emulator::start(cfg, "127.0.0.1:0".parse().unwrap(), None).await.unwrap();
    let lines = emu.startup_lines();
    let app = lines.iter().find(|l| l["event"] == "connected_app").unwrap().clone();
    let orgs: Vec<&Value> = lines.iter().filter(|l| l["event"] == "org").collect();
    T {
        base: emu.http_url(),
        http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        client_id: app["client_id"].as_str().unwrap().into(),
        client_secret: app["client_secret"].as_str().unwrap().into(),
        prod_org: orgs.iter().find(|o| o["is_sandbox"] == false).unwrap()["id"].as_str().unwrap().into(),
        sandbox_org: orgs.iter().find(|o| o["is_sandbox"] == true).unwrap()["id"].as_str().unwrap().into(),
        emu,
    }
}

pub async fn start() -> T { start_with(EmulatorConfig::default_demo()).await }

pub struct Session { pub token: String, pub instance_url: String, pub body: Value }

impl T {
    pub async fn password_token(&self, login: &str, user: &str, pass: &str) -> reqwest::Response {
        self.http.post(format!("{login}/services/oauth2/token")).form(&[
            ("grant_type", "password"), ("client_id", &self.client_id), ("client_secret", &self.client_secret),
            ("username", user), ("password", pass),
        ]).send().await.unwrap()
    }
    pub async fn login(&self) -> Session {
        let r = self.password_token(&self.base, "demo@acme.example", "demo-password-1").await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        Session { token: body["access_token"].as_str().unwrap().into(), instance_url: body["instance_url"].as_str().unwrap().into(), body }
    }
    pub async fn sandbox_login(&self) -> Session {
        let r = self.password_token(&format!("{}/sandbox", self.base), "demo@acme.example.sandbox", "demo-password-1").await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        Session { token: body["access_token"].as_str().unwrap().into(), instance_url: body["instance_url"].as_str().unwrap().into(), body }
    }
    /// REST call relative to {instance_url}/services/data/v59.0 ; returns (status, headers, json-or-null)
    pub async fn call(&self, s: &Session, method: &str, path: &str, body: Option<Value>) -> (u16, reqwest::header::HeaderMap, Value) {
        let url = if path.starts_with("/services") { format!("{}{path}", s.instance_url) } else { format!("{}/services/data/v59.0{path}", s.instance_url) };
        let mut rb = self.http.request(method.parse().unwrap(), url).bearer_auth(&s.token);
        if let Some(b) = body { rb = rb.json(&b); }
        let r = rb.send().await.unwrap();
        let st = r.status().as_u16();
        let h = r.headers().clone();
        let text = r.text().await.unwrap();
        (st, h, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(json!(text)) })
    }
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let mut rb = self.http.request(method.parse().unwrap(), format!("{}/_emulator{path}", self.base));
        if let Some(b) = body { rb = rb.json(&b); }
        rb.send().await.unwrap().json().await.unwrap()
    }
}

pub fn keys(v: &Value) -> std::collections::BTreeSet<String> {
    v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// Every hidden input of an emulator page, unescaped.
pub fn form_fields(html: &str) -> Vec<(String, String)> {
    html.match_indices("<input type=\"hidden\" name=\"").map(|(i, _)| {
        let rest = &html[i + 27..];
        let name = &rest[..rest.find('"').unwrap()];
        let v0 = rest.find("value=\"").unwrap() + 7;
        let val = &rest[v0..v0 + rest[v0..].find('"').unwrap()];
        (name.to_string(), val.replace("&amp;", "&").replace("&quot;", "\""))
    }).collect()
}

/// Sign in the way a browser does on Salesforce: the authorize URL sends it to the login page
/// (`{login}/?ec=302&startURL=…`), the form posts `username` and `pw` there and continues at
/// `startURL`, the approval page. Returns that page's response: the consent page (200), or the
/// page that sends the browser back to the client with a code when the app is already approved. `browser` must keep
/// cookies and not follow redirects.
pub async fn browser_login(browser: &reqwest::Client, base: &str, auth_url: &str, username: &str, password: &str) -> reqwest::Response {
    let r = browser.get(auth_url).send().await.unwrap();
    assert_eq!(r.status(), 302, "authorize sends the browser to the login page");
    let login = url::Url::parse(base).unwrap().join(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(login.as_str().contains("/?ec=302&startURL="), "{login}");
    let start: String = login.query_pairs().find(|(k, _)| k == "startURL").unwrap().1.into_owned();
    assert!(start.contains("/setup/secur/RemoteAccessAuthorizationPage.apexp?source="), "{start}");
    let page = browser.get(login.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for sel in ["id=\"username\"", "id=\"password\"", "name=\"pw\"", r#"<input type="submit" id="Login" name="Login""#, "id=\"login_form\""] {
        assert!(html.contains(sel), "login page lacks {sel}: {html}");
    }
    let mut f = form_fields(&html);
    f.extend([("username".into(), username.into()), ("pw".into(), password.into()), ("Login".into(), "Log In".into())]);
    let done = browser.post(login.join("./").unwrap()).form(&f).send().await.unwrap();
    assert_eq!(done.status(), 200, "a good login continues at startURL, by a page's script");
    let page = done.text().await.unwrap();
    assert_eq!(sfemu::signin::redirect_target(&page).as_deref(), Some(start.as_str()), "{page}");
    browser.get(url::Url::parse(base).unwrap().join(&start).unwrap()).send().await.unwrap()
}
