//! The OAuth 2.0 web-server flow against the local emulator.

mod common;

use common::TestSalesforce;
use salesforce::oauth;
use salesforce::{ApiVersion, Client, Environment, OAuthErrorCode, PkceVerifier, SalesforceError, Session};

#[tokio::test]
async fn production_link_names_the_org_and_user_who_signed_in() {
    let sf = TestSalesforce::start().await;
    let tokens = sf.link(Environment::Production).await;
    assert_eq!(tokens.org_id().as_str(), sf.production.id);
    assert!(tokens.refresh_token.is_some(), "scope refresh_token yields a refresh token");
    let ident = oauth::identity(&sf.http, &tokens.id, &tokens.access_token).await.unwrap();
    assert_eq!(ident.username, sf.production.username);
    assert_eq!(&ident.organization_id, tokens.org_id());
    assert_eq!(&ident.user_id, tokens.user_id());

    let client = Client::new(Session::with_access_token(sf.http.clone(), tokens.instance_url.clone(), tokens.access_token.clone()), ApiVersion::DEFAULT);
    let org = client.organization().await.unwrap();
    assert_eq!(&org.id, tokens.org_id());
    assert!(!org.is_sandbox);
    assert_eq!(org.environment(), Environment::Production);
}

#[tokio::test]
async fn link_with_sandbox_checkbox_signs_in_at_sandbox_host() {
    let sf = TestSalesforce::start().await;
    let tokens = sf.link(Environment::Sandbox).await;
    assert_eq!(tokens.org_id().as_str(), sf.sandbox.id);
    let client = Client::new(Session::with_access_token(sf.http.clone(), tokens.instance_url.clone(), tokens.access_token.clone()), ApiVersion::DEFAULT);
    assert_eq!(client.organization().await.unwrap().environment(), Environment::Sandbox);
}

#[tokio::test]
async fn production_user_cannot_sign_in_at_the_sandbox_host() {
    let sf = TestSalesforce::start().await;
    let req = oauth::authorization_request(&sf.app, &sf.sandbox.login_url).unwrap();
    let browser = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut action = req.url.clone();
    action.set_query(None);
    let mut form: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
    form.extend([("action".into(), "login".into()), ("username".into(), sf.production.username.clone()), ("password".into(), sf.production.password.clone())]);
    let r = browser.post(action).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 200, "stays on the login page");
    assert!(r.text().await.unwrap().contains("check your username and password"));
}

#[tokio::test]
async fn code_exchange_with_the_wrong_pkce_verifier_is_refused() {
    let sf = TestSalesforce::start().await;
    let req = oauth::authorization_request(&sf.app, &sf.production.login_url).unwrap();
    let cb = sf.sign_in(&req.url, &sf.production.username, &sf.production.password).await;
    let wrong = PkceVerifier::new("x".repeat(43));
    let err = oauth::exchange_code(&sf.http, &sf.app, &sf.production.login_url, &cb["code"], &wrong).await.unwrap_err();
    assert!(matches!(err, SalesforceError::OAuth { error: OAuthErrorCode::InvalidGrant, .. }), "{err:?}");
    // The code is single-use: even the right verifier fails now.
    let err = oauth::exchange_code(&sf.http, &sf.app, &sf.production.login_url, &cb["code"], &req.pkce_verifier).await.unwrap_err();
    assert!(matches!(err, SalesforceError::OAuth { error: OAuthErrorCode::InvalidGrant, .. }), "{err:?}");
}

#[tokio::test]
async fn token_signed_with_another_secret_is_rejected() {
    let sf = TestSalesforce::start().await;
    let req = oauth::authorization_request(&sf.app, &sf.production.login_url).unwrap();
    let cb = sf.sign_in(&req.url, &sf.production.username, &sf.production.password).await;
    // Same client id, wrong secret: the emulator refuses the client outright, as Salesforce does.
    let mut other = sf.app.clone();
    other.client_secret = salesforce::ClientSecret::new("not-the-secret");
    let err = oauth::exchange_code(&sf.http, &other, &sf.production.login_url, &cb["code"], &req.pkce_verifier).await.unwrap_err();
    assert!(matches!(err, SalesforceError::OAuth { .. } | SalesforceError::SignatureMismatch), "{err:?}");
}

#[tokio::test]
async fn refresh_gives_a_new_access_token_and_keeps_the_instance_url() {
    let sf = TestSalesforce::start().await;
    let mut tokens = sf.link(Environment::Production).await;
    let before = tokens.clone();
    let refreshed = oauth::refresh(&sf.http, &sf.app, &sf.production.login_url, tokens.refresh_token.as_ref().unwrap()).await.unwrap();
    assert!(refreshed.refresh_token.is_none(), "Salesforce does not resend the refresh token");
    tokens.merge_refresh(refreshed).unwrap();
    assert_ne!(tokens.access_token, before.access_token);
    assert_eq!(tokens.refresh_token, before.refresh_token);
    assert_eq!(tokens.instance_url, before.instance_url);
    oauth::identity(&sf.http, &tokens.id, &tokens.access_token).await.unwrap();
}

#[tokio::test]
async fn revoked_refresh_token_means_sign_in_again() {
    let sf = TestSalesforce::start().await;
    let tokens = sf.link(Environment::Production).await;
    let rt = tokens.refresh_token.clone().unwrap();
    oauth::revoke(&sf.http, &sf.production.login_url, rt.expose()).await.unwrap();
    let err = oauth::refresh(&sf.http, &sf.app, &sf.production.login_url, &rt).await.unwrap_err();
    assert!(err.is_refresh_revoked(), "{err:?}");
    // Revoking the refresh token also ended its access token.
    let err = oauth::identity(&sf.http, &tokens.id, &tokens.access_token).await.unwrap_err();
    assert!(err.is_session_expired(), "{err:?}");
}

#[tokio::test]
async fn revoking_an_unknown_token_is_an_oauth_error() {
    let sf = TestSalesforce::start().await;
    let err = oauth::revoke(&sf.http, &sf.production.login_url, "no-such-token").await.unwrap_err();
    assert!(matches!(err, SalesforceError::OAuth { status: 400, .. }), "{err:?}");
}

#[tokio::test]
async fn unreachable_salesforce_is_a_retryable_error() {
    let sf = TestSalesforce::start().await;
    let dead = url::Url::parse("http://127.0.0.1:9").unwrap();
    let err = oauth::revoke(&sf.http, &dead, "x").await.unwrap_err();
    assert!(matches!(err, SalesforceError::Unreachable(_)) && err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn relinking_in_the_same_browser_always_asks_for_a_fresh_login() {
    let sf = TestSalesforce::start().await;
    let browser = common::browser();
    let first = oauth::authorization_request(&sf.app, &sf.production.login_url).unwrap();
    let cb = sf.sign_in_with(&browser, &first.url, &sf.production.username, &sf.production.password, true).await;
    assert!(cb.contains_key("code"));
    // The browser now holds a Salesforce session; prompt=login must still show the login form
    // rather than silently linking whoever is signed in.
    let second = oauth::authorization_request(&sf.app, &sf.production.login_url).unwrap();
    let r = browser.get(second.url.clone()).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let login = second.url.join(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(login.as_str().contains("/?ec=302&startURL="), "to the login page, no silent redirect with a code: {login}");
    assert!(browser.get(login).send().await.unwrap().text().await.unwrap().contains("login_form"));
}

#[tokio::test]
async fn user_who_denies_access_gets_access_denied() {
    let sf = TestSalesforce::start().await;
    let req = oauth::authorization_request(&sf.app, &sf.production.login_url).unwrap();
    let cb = sf.sign_in_with(&common::browser(), &req.url, &sf.production.username, &sf.production.password, false).await;
    let err = oauth::callback_code(cb.iter().map(|(k, v)| (k.as_str(), v.as_str())), &req.state).unwrap_err();
    assert!(matches!(err, SalesforceError::OAuth { error: OAuthErrorCode::AccessDenied, .. }), "{err:?}");
}
