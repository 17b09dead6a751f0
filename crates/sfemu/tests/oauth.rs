//! OAuth 2.0 wire formats, checked field by field against Salesforce's documentation.
mod common;
use base64::Engine;
use common::*;
use hmac::Mac;
use serde_json::{json, Value};

#[tokio::test]
async fn password_grant_token_response_is_documented_shape() {
    let t = start().await;
    let s = t.login().await;
    // Documented username-password response: id, issued_at, instance_url, signature, access_token, token_type.
    assert_eq!(keys(&s.body), ["access_token", "id", "instance_url", "issued_at", "signature", "token_type"].iter().map(|s| s.to_string()).collect());
    assert_eq!(s.body["token_type"], "Bearer");
    let id = s.body["id"].as_str().unwrap();
    assert!(id.starts_with(&format!("{}/id/{}/005", t.base, t.prod_org)), "{id}");
    let issued = s.body["issued_at"].as_str().unwrap();
    assert!(issued.len() == 13 && issued.bytes().all(|b| b.is_ascii_digit()));
    // signature = Base64(HMAC-SHA256(client_secret, id + issued_at))
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(t.client_secret.as_bytes()).unwrap();
    mac.update(format!("{id}{issued}").as_bytes());
    assert_eq!(s.body["signature"], base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    assert!(s.body["access_token"].as_str().unwrap().starts_with(&t.prod_org[..15]));
    assert_eq!(s.instance_url, format!("{}/org/{}", t.base, t.prod_org));
    t.emu.shutdown().await;
}

#[tokio::test]
async fn oauth_error_bodies() {
    let t = start().await;
    let bad = t.password_token(&t.base, "demo@acme.example", "wrong").await;
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.json::<Value>().await.unwrap(), json!({"error": "invalid_grant", "error_description": "authentication failure"}));
    // a sandbox user cannot log in at the production login host
    let wrong_host = t.password_token(&t.base, "demo@acme.example.sandbox", "demo-password-1").await;
    assert_eq!(wrong_host.json::<Value>().await.unwrap()["error_description"], "authentication failure");
    let r = t.http.post(format!("{}/services/oauth2/token", t.base)).form(&[("grant_type", "password"), ("client_id", "nope"), ("client_secret", "x"), ("username", "a"), ("password", "b")]).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"error": "invalid_client_id", "error_description": "client identifier invalid"}));
    let r = t.http.post(format!("{}/services/oauth2/token", t.base)).form(&[("grant_type", "password"), ("client_id", &t.client_id), ("client_secret", "wrong"), ("username", "a"), ("password", "b")]).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"error": "invalid_client", "error_description": "invalid client credentials"}));
    let r = t.http.post(format!("{}/services/oauth2/token", t.base)).form(&[("grant_type", "refresh_token"), ("client_id", &t.client_id), ("client_secret", &t.client_secret), ("refresh_token", "5Aepnope")]).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"error": "invalid_grant", "error_description": "expired access/refresh token"}));
    let r = t.http.post(format!("{}/services/oauth2/token", t.base)).form(&[("grant_type", "magic"), ("client_id", &t.client_id)]).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"error": "unsupported_grant_type", "error_description": "grant type not supported"}));
    t.emu.shutdown().await;
}

#[tokio::test]
async fn web_server_flow_pkce_refresh_revoke_and_expiry() {
    let t = start().await;
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_provider(jar).build().unwrap();
    let verifier = "a-very-long-code-verifier-0123456789-0123456789-0123456789";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
    let redirect = "http://localhost:9/cb";
    let auth_url = format!("{}/sandbox/services/oauth2/authorize?{}", t.base, serde_urlencoded::to_string([
        ("response_type", "code"), ("client_id", t.client_id.as_str()), ("redirect_uri", redirect), ("state", "xyz"),
        ("code_challenge", challenge.as_str()), ("code_challenge_method", "S256"), ("scope", "api refresh_token"),
    ]).unwrap());
    let consent = browser_login(&browser, &t.base, &auth_url, "demo@acme.example.sandbox", "demo-password-1").await;
    assert_eq!(consent.status(), 200);
    let html = consent.text().await.unwrap();
    // Salesforce's approval page: `input#oaapprove` / `input#oadeny`, posting back to the page.
    for sel in [r#"<input type="submit" id="oaapprove" name="oaapprove" value="Allow""#, r#"<input type="submit" id="oadeny" name="oadeny" value="Deny""#] {
        assert!(html.contains(sel), "approval page lacks {sel}: {html}");
    }
    let (action, mut f) = sfemu::signin::form(&html, "oaapprove").unwrap();
    assert_eq!(action, "/sandbox/setup/secur/RemoteAccessAuthorizationPage.apexp");
    f.push(("oaapprove".into(), "Allow".into()));
    let done = browser.post(format!("{}{action}", t.base)).form(&f).send().await.unwrap();
    // As Salesforce does, a page whose script sends the browser back to the client.
    assert_eq!(done.status(), 200);
    let page = done.text().await.unwrap();
    let back = sfemu::signin::redirect_target(&page).unwrap_or_else(|| panic!("no way back: {page}"));
    assert!(page.contains("window.location.replace(\"http://localhost:9/cb?code="), "{page}");
    let loc = url::Url::parse(&back).unwrap();
    let q: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "xyz");
    let code = q["code"].clone();
    let token_url = format!("{}/sandbox/services/oauth2/token", t.base);
    let exchange = |verifier: &'static str, code: String| {
        let (c, s, u) = (t.client_id.clone(), t.client_secret.clone(), token_url.clone());
        let http = t.http.clone();
        async move {
            http.post(u).form(&[("grant_type", "authorization_code"), ("code", code.as_str()), ("client_id", c.as_str()), ("client_secret", s.as_str()), ("redirect_uri", redirect), ("code_verifier", verifier)]).send().await.unwrap()
        }
    };
    let r = exchange(verifier, code.clone()).await;
    assert_eq!(r.status(), 200);
    let tok: Value = r.json().await.unwrap();
    // Documented web server flow response.
    assert_eq!(keys(&tok), ["access_token", "id", "instance_url", "issued_at", "refresh_token", "scope", "signature", "token_type"].iter().map(|s| s.to_string()).collect());
    assert_eq!(tok["scope"], "api refresh_token");
    assert!(tok["id"].as_str().unwrap().starts_with(&format!("{}/sandbox/id/{}", t.base, t.sandbox_org)));
    // single use
    let again = exchange(verifier, code).await;
    assert_eq!(again.json::<Value>().await.unwrap(), json!({"error": "invalid_grant", "error_description": "invalid authorization code"}));
    // identity URL
    let at = tok["access_token"].as_str().unwrap();
    let id: Value = t.http.get(tok["id"].as_str().unwrap()).bearer_auth(at).send().await.unwrap().json().await.unwrap();
    assert_eq!(id["organization_id"], t.sandbox_org.as_str());
    assert_eq!(id["username"], "demo@acme.example.sandbox");
    // refresh: no new refresh token in the response
    let rt = tok["refresh_token"].as_str().unwrap();
    let r: Value = t.http.post(&token_url).form(&[("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", &t.client_id), ("client_secret", &t.client_secret)]).send().await.unwrap().json().await.unwrap();
    assert_eq!(keys(&r), ["access_token", "id", "instance_url", "issued_at", "scope", "signature", "token_type"].iter().map(|s| s.to_string()).collect());
    // token expiry -> INVALID_SESSION_ID
    let s = Session { token: r["access_token"].as_str().unwrap().into(), instance_url: r["instance_url"].as_str().unwrap().into(), body: r.clone() };
    assert_eq!(t.call(&s, "GET", "/limits", None).await.0, 200);
    t.admin("POST", &format!("/orgs/{}/faults/expire-tokens", t.sandbox_org), None).await;
    let (st, _, body) = t.call(&s, "GET", "/limits", None).await;
    assert_eq!(st, 401);
    assert_eq!(body, json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]));
    // revoke the refresh token -> refresh fails
    let rv = t.http.post(format!("{}/sandbox/services/oauth2/revoke", t.base)).form(&[("token", rt)]).send().await.unwrap();
    assert_eq!(rv.status(), 200);
    let r: Value = t.http.post(&token_url).form(&[("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", &t.client_id), ("client_secret", &t.client_secret)]).send().await.unwrap().json().await.unwrap();
    assert_eq!(r["error"], "invalid_grant");
    // wrong PKCE verifier
    let r = browser.get(&auth_url).send().await.unwrap();
    assert_eq!(r.status(), 302, "session cookie + prior approval skip login and consent");
    let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let code = loc.query_pairs().find(|(k, _)| k == "code").unwrap().1.to_string();
    let bad = exchange("not-the-verifier", code).await;
    assert_eq!(bad.json::<Value>().await.unwrap(), json!({"error": "invalid_grant", "error_description": "invalid code verifier"}));
    // prompt=login forces the login page even with a session
    let r = browser.get(format!("{auth_url}&prompt=login")).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert!(r.headers()["location"].to_str().unwrap().starts_with("/sandbox/?ec=302&startURL=%2Fsandbox%2Fsetup%2Fsecur%2FRemoteAccessAuthorizationPage.apexp"));
    t.emu.shutdown().await;
}

/// The login page (`/?ec=302`) as Salesforce's: a wrong password shows the page again with
/// Salesforce's message and no session; the approval page sends a browser without a session
/// to the login page; `startURL` continues only on this host.
#[tokio::test]
async fn login_page_refuses_bad_passwords_and_foreign_start_urls() {
    let t = start().await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap();
    let source = serde_urlencoded::to_string([("response_type", "code"), ("client_id", t.client_id.as_str()), ("redirect_uri", "http://localhost:9/cb")]).unwrap();
    let approval = format!("/setup/secur/RemoteAccessAuthorizationPage.apexp?{}", serde_urlencoded::to_string([("source", source.as_str())]).unwrap());
    let r = browser.get(format!("{}{approval}", t.base)).send().await.unwrap();
    assert_eq!(r.status(), 302, "no session: to the login page first");
    let expected = format!("/?{}", serde_urlencoded::to_string([("ec", "302"), ("startURL", approval.as_str())]).unwrap());
    assert_eq!(r.headers()["location"].to_str().unwrap(), expected);

    let bad = browser.post(format!("{}/", t.base)).form(&[("username", "demo@acme.example"), ("pw", "wrong"), ("startURL", approval.as_str()), ("Login", "Log In")]).send().await.unwrap();
    assert_eq!(bad.status(), 200);
    assert!(bad.headers().get("set-cookie").is_none());
    let html = bad.text().await.unwrap();
    assert!(html.contains("Please check your username and password."), "{html}");
    assert!(form_fields(&html).contains(&("startURL".to_string(), approval.clone())), "the page keeps where to continue");
    let still = browser.get(format!("{}{approval}", t.base)).send().await.unwrap();
    assert_eq!(still.status(), 302, "a failed login starts no session");

    // A sandbox user is not a production login, as on login.salesforce.com.
    let r = browser.post(format!("{}/", t.base)).form(&[("username", "demo@acme.example.sandbox"), ("pw", "demo-password-1"), ("startURL", "/")]).send().await.unwrap();
    assert_eq!(r.status(), 200);

    for foreign in ["https://elsewhere.example/steal", "//elsewhere.example/steal"] {
        let r = browser.post(format!("{}/", t.base)).form(&[("username", "demo@acme.example"), ("pw", "demo-password-1"), ("startURL", foreign)]).send().await.unwrap();
        assert_eq!(r.status(), 200, "a good login goes on by a page's script");
        let page = r.text().await.unwrap();
        assert_eq!(sfemu::signin::redirect_target(&page), Some(format!("/_emulator/orgs/{}/browser", t.prod_org)), "not {foreign}");
    }
    let r = browser.get(format!("{}{approval}", t.base)).send().await.unwrap();
    assert_eq!(r.status(), 200, "logged in: the consent page");
    assert!(r.text().await.unwrap().contains("id=\"oaapprove\""));
    t.emu.shutdown().await;
}

/// Deny on the approval page (`#oadeny`) sends the browser back with Salesforce's
/// `access_denied` and the client's `state`.
#[tokio::test]
async fn deny_on_the_approval_page_returns_access_denied() {
    let t = start().await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap();
    let auth_url = format!("{}/services/oauth2/authorize?{}", t.base, serde_urlencoded::to_string([
        ("response_type", "code"), ("client_id", t.client_id.as_str()), ("redirect_uri", "http://localhost:9/cb"), ("state", "s1"),
    ]).unwrap());
    let denied = sfemu::signin::sign_in(&browser, &auth_url, "demo@acme.example", "demo-password-1", false).await.unwrap();
    assert!(denied.saw_login_form);
    let q: std::collections::HashMap<_, _> = url::Url::parse(&denied.redirect).unwrap().query_pairs().into_owned().collect();
    assert_eq!((q["error"].as_str(), q["state"].as_str()), ("access_denied", "s1"), "{}", denied.redirect);
    assert_eq!(q["error_description"], "end-user denied authorization");
    t.emu.shutdown().await;
}

#[tokio::test]
async fn configurable_token_lifetime() {
    let mut cfg = sfemu::EmulatorConfig::default_demo();
    cfg.token_lifetime_secs = 1;
    let t = start_with(cfg).await;
    let s = t.login().await;
    assert_eq!(t.call(&s, "GET", "/sobjects", None).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (st, _, body) = t.call(&s, "GET", "/sobjects", None).await;
    assert_eq!(st, 401);
    assert_eq!(body[0]["errorCode"], "INVALID_SESSION_ID");
    t.emu.shutdown().await;
}

#[tokio::test]
async fn client_credentials_flow() {
    let mut cfg = sfemu::EmulatorConfig::default_demo();
    cfg.connected_apps[0].client_credentials_user = Some("demo@acme.example".into());
    let t = start_with(cfg).await;
    let r: Value = t.http.post(format!("{}/services/oauth2/token", t.base)).form(&[("grant_type", "client_credentials"), ("client_id", &t.client_id), ("client_secret", &t.client_secret)]).send().await.unwrap().json().await.unwrap();
    assert_eq!(keys(&r), ["access_token", "id", "instance_url", "issued_at", "scope", "signature", "token_type"].iter().map(|s| s.to_string()).collect());
    let r: Value = t.http.post(format!("{}/sandbox/services/oauth2/token", t.base)).form(&[("grant_type", "client_credentials"), ("client_id", &t.client_id), ("client_secret", &t.client_secret)]).send().await.unwrap().json().await.unwrap();
    assert_eq!(r["error"], "invalid_grant");
    t.emu.shutdown().await;
}

/// The demo config plus a second production org, "Globex", with its own user.
async fn start_two_production_orgs() -> (T, String) {
    let mut cfg = sfemu::EmulatorConfig::default_demo();
    let mut globex = cfg.orgs[0].clone();
    globex.name = "Globex".into();
    globex.users[0].username = "gina@globex.example".into();
    globex.users[0].email = Some("gina@globex.example".into());
    cfg.orgs.push(globex);
    let t = start_with(cfg).await;
    let globex_id = t.emu.startup_lines().iter().find(|l| l["event"] == "org" && l["name"] == "Globex").unwrap()["id"].as_str().unwrap().to_string();
    (t, globex_id)
}

/// Sign a user in through the production login page and approve the app; returns the code.
async fn authorization_code(t: &T, redirect: &str) -> String {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap();
    let auth_url = format!("{}/services/oauth2/authorize?{}", t.base, serde_urlencoded::to_string([
        ("response_type", "code"), ("client_id", t.client_id.as_str()), ("redirect_uri", redirect), ("scope", "api refresh_token"),
    ]).unwrap());
    let done = browser_login(&browser, &t.base, &auth_url, "demo@acme.example", "demo-password-1").await;
    assert_eq!(done.status(), 200);
    let page = done.text().await.unwrap();
    // Later logins reuse the remembered approval: a page that sends the browser back at once.
    let back = match sfemu::signin::redirect_target(&page) {
        Some(back) => back,
        None => {
            // First time: the consent page.
            let mut f = form_fields(&page);
            f.push(("action".into(), "allow".into()));
            let done = browser.post(format!("{}/services/oauth2/authorize", t.base)).form(&f).send().await.unwrap();
            assert_eq!(done.status(), 302);
            done.headers()["location"].to_str().unwrap().to_string()
        }
    };
    let loc = url::Url::parse(&back).unwrap();
    loc.query_pairs().find(|(k, _)| k == "code").unwrap().1.to_string()
}

#[tokio::test]
async fn instance_url_signs_in_its_own_users_and_refuses_other_orgs() {
    let (t, globex) = start_two_production_orgs().await;
    let acme_instance = format!("{}/org/{}", t.base, t.prod_org);
    let globex_instance = format!("{}/org/{globex}", t.base);

    let r = t.password_token(&acme_instance, "demo@acme.example", "demo-password-1").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(keys(&body), ["access_token", "id", "instance_url", "issued_at", "signature", "token_type"].iter().map(|s| s.to_string()).collect());
    assert_eq!(body["instance_url"], acme_instance.as_str());
    assert!(body["id"].as_str().unwrap().starts_with(&format!("{}/id/{}/005", t.base, t.prod_org)));
    let s = Session { token: body["access_token"].as_str().unwrap().into(), instance_url: body["instance_url"].as_str().unwrap().into(), body: body.clone() };
    assert_eq!(t.call(&s, "GET", "/limits", None).await.0, 200);

    // Globex's user at Acme's instance, and a sandbox user at a production instance: refused
    // as Salesforce refuses a login it cannot match.
    for (user, at) in [("gina@globex.example", &acme_instance), ("demo@acme.example", &globex_instance), ("demo@acme.example.sandbox", &acme_instance)] {
        let r = t.password_token(at, user, "demo-password-1").await;
        assert_eq!(r.status(), 400, "{user} at {at}");
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"error": "invalid_grant", "error_description": "authentication failure"}));
    }
    // Globex's user at Globex's own instance.
    let r = t.password_token(&globex_instance, "gina@globex.example", "demo-password-1").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["instance_url"], globex_instance.as_str());

    // An instance URL of no org.
    let r = t.password_token(&format!("{}/org/00D000000000001AAA", t.base), "demo@acme.example", "demo-password-1").await;
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("no org with id 00D000000000001AAA"));
    t.emu.shutdown().await;
}

#[tokio::test]
async fn instance_url_redeems_codes_and_refresh_tokens_of_its_own_org_only() {
    let (t, globex) = start_two_production_orgs().await;
    let acme_instance = format!("{}/org/{}", t.base, t.prod_org);
    let globex_instance = format!("{}/org/{globex}", t.base);
    let redirect = "http://localhost:9/cb";
    let exchange = |at: String, code: String| {
        let (c, s, http) = (t.client_id.clone(), t.client_secret.clone(), t.http.clone());
        async move {
            http.post(format!("{at}/services/oauth2/token")).form(&[("grant_type", "authorization_code"), ("code", code.as_str()), ("client_id", c.as_str()), ("client_secret", s.as_str()), ("redirect_uri", redirect)])
                .send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    let code = authorization_code(&t, redirect).await;
    assert_eq!(exchange(globex_instance.clone(), code).await, json!({"error": "invalid_grant", "error_description": "invalid authorization code"}));
    let code = authorization_code(&t, redirect).await;
    let tok = exchange(acme_instance.clone(), code).await;
    let rt = tok["refresh_token"].as_str().expect("a refresh token from Acme's instance").to_string();

    let refresh = |at: String| {
        let (c, s, http, rt) = (t.client_id.clone(), t.client_secret.clone(), t.http.clone(), rt.clone());
        async move {
            http.post(format!("{at}/services/oauth2/token")).form(&[("grant_type", "refresh_token"), ("refresh_token", rt.as_str()), ("client_id", c.as_str()), ("client_secret", s.as_str())])
                .send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    assert_eq!(refresh(globex_instance.clone()).await, json!({"error": "invalid_grant", "error_description": "expired access/refresh token"}));
    let again = refresh(acme_instance.clone()).await;
    assert_eq!(again["instance_url"], acme_instance.as_str());
    assert!(again["access_token"].is_string());

    // Revoking the refresh token at Globex's instance does not reach Acme's token.
    let rv = t.http.post(format!("{globex_instance}/services/oauth2/revoke")).form(&[("token", rt.as_str())]).send().await.unwrap();
    assert_eq!(rv.status(), 400);
    assert_eq!(rv.json::<Value>().await.unwrap(), json!({"error": "unsupported_token_type", "error_description": "this token type is not supported"}));
    assert!(refresh(acme_instance.clone()).await["access_token"].is_string());
    let rv = t.http.post(format!("{acme_instance}/services/oauth2/revoke")).form(&[("token", rt.as_str())]).send().await.unwrap();
    assert_eq!(rv.status(), 200);
    assert_eq!(refresh(acme_instance).await["error"], "invalid_grant");
    t.emu.shutdown().await;
}

#[tokio::test]
async fn instance_url_userinfo_and_revoke_know_only_their_orgs_tokens() {
    let (t, globex) = start_two_production_orgs().await;
    let s = t.login().await;
    let acme_instance = format!("{}/org/{}", t.base, t.prod_org);
    let globex_instance = format!("{}/org/{globex}", t.base);

    let info = t.http.get(format!("{acme_instance}/services/oauth2/userinfo")).bearer_auth(&s.token).send().await.unwrap();
    assert_eq!(info.status(), 200);
    let info: Value = info.json().await.unwrap();
    assert_eq!(info["organization_id"], t.prod_org.as_str());
    assert_eq!(info["preferred_username"], "demo@acme.example");
    let elsewhere = t.http.get(format!("{globex_instance}/services/oauth2/userinfo")).bearer_auth(&s.token).send().await.unwrap();
    assert_eq!(elsewhere.status(), 403);
    assert_eq!(elsewhere.text().await.unwrap(), "Bad_OAuth_Token");

    // Revoking Acme's access token at Globex's instance changes nothing.
    let rv = t.http.post(format!("{globex_instance}/services/oauth2/revoke")).form(&[("token", s.token.as_str())]).send().await.unwrap();
    assert_eq!(rv.status(), 400);
    assert_eq!(t.call(&s, "GET", "/limits", None).await.0, 200);
    let rv = t.http.get(format!("{acme_instance}/services/oauth2/revoke?token={}", s.token)).send().await.unwrap();
    assert_eq!(rv.status(), 200);
    assert_eq!(t.call(&s, "GET", "/limits", None).await.0, 401);
    t.emu.shutdown().await;
}

/// A demo's login page says whom to log in as, for its own environment only; a login page
/// that was not asked to (the default, as on Salesforce) names nobody.
#[tokio::test]
async fn a_demo_login_page_lists_its_environments_logins_and_no_other_does() {
    let mut cfg = sfemu::EmulatorConfig::default_demo();
    cfg.login_page_lists_users = true;
    let t = start_with(cfg).await;
    let production = t.http.get(format!("{}/?ec=302&startURL=/", t.base)).send().await.unwrap().text().await.unwrap();
    assert!(production.contains("id=\"demo-logins\"") && production.contains("<code>demo@acme.example</code> / <code>demo-password-1</code>"), "{production}");
    assert!(!production.contains("demo@acme.example.sandbox"), "the sandbox's users log in on the sandbox host");
    let sandbox = t.http.get(format!("{}/sandbox/?ec=302&startURL=/", t.base)).send().await.unwrap().text().await.unwrap();
    assert!(sandbox.contains("<code>demo@acme.example.sandbox</code>"), "{sandbox}");
    t.emu.shutdown().await;

    let t = start().await;
    let plain = t.http.get(format!("{}/?ec=302&startURL=/", t.base)).send().await.unwrap().text().await.unwrap();
    assert!(plain.contains("id=\"login_form\"") && !plain.contains("demo-logins") && !plain.contains("demo-password-1"), "{plain}");
    t.emu.shutdown().await;
}
