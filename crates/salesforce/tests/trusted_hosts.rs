//! The connected app's secret goes only to Salesforce's login hosts (or one
//! configured as trusted), and a token or refresh response that points the
//! access token elsewhere is refused before anything is sent there.

mod common;

use common::TestSalesforce;
use salesforce::{oauth, ApiVersion, Client, Environment, PkceVerifier, RefreshToken, SalesforceError, Session};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use url::Url;

/// A loopback listener nobody trusts: it only counts connections.
async fn tripwire() -> (Url, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    (url, hits)
}

/// A token endpoint that answers every refresh with `body`, counting calls.
async fn refresh_answering(body: serde_json::Value) -> (Url, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let router = axum::Router::new().route(
        "/services/oauth2/token",
        axum::routing::post(move || {
            let (body, counted) = (body.clone(), counted.clone());
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                axum::Json(body)
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, calls)
}

#[tokio::test]
async fn the_secret_is_never_posted_to_an_untrusted_login_host() {
    let sf = TestSalesforce::start().await;
    let (elsewhere, hits) = tripwire().await;
    let verifier = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    let err = oauth::exchange_code(&sf.http, &sf.app, &elsewhere, "aPrx", &verifier).await.unwrap_err();
    assert!(matches!(err, SalesforceError::UntrustedHost { what: "login host", .. }), "{err:?}");
    let err = oauth::refresh(&sf.http, &sf.app, &elsewhere, &RefreshToken::new("rt")).await.unwrap_err();
    assert!(matches!(err, SalesforceError::UntrustedHost { what: "login host", .. }), "{err:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing reached the listener");
}

/// A session on a real link whose refreshes go to `login` (trusted).
async fn session_refreshing_at(sf: &TestSalesforce, login: &Url) -> Client {
    let tokens = sf.link(Environment::Production).await;
    let mut app = sf.app.clone();
    app.trusted_hosts.trust(login);
    let session = Session::new(sf.http.clone(), app, login.clone(), tokens, Arc::new(salesforce::session::IgnoreTokenEvents));
    Client::new(session, ApiVersion::DEFAULT)
}

#[tokio::test]
async fn a_refresh_naming_a_foreign_instance_changes_nothing_and_sends_nothing_there() {
    let sf = TestSalesforce::start().await;
    let (elsewhere, hits) = tripwire().await;
    let (login, calls) = refresh_answering(serde_json::json!({
        "access_token": "00Dx0000000BV7z!moved", "instance_url": format!("{elsewhere}org/{}", sf.production.id), "token_type": "Bearer",
    }))
    .await;
    let client = session_refreshing_at(&sf, &login).await;
    let (token_before, instance_before) = client.session().current();
    sf.admin_post(&format!("/orgs/{}/faults/expire-tokens", sf.production.id)).await;
    let err = client.organization().await.unwrap_err();
    assert!(matches!(err, SalesforceError::UntrustedHost { what: "instance_url", .. }), "{err:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the refresh was asked for");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the access token never went to the foreign instance");
    assert_eq!(client.session().current(), (token_before, instance_before), "the session is unchanged");
}

#[tokio::test]
async fn a_refresh_moving_the_identity_url_elsewhere_is_refused() {
    let sf = TestSalesforce::start().await;
    let (elsewhere, hits) = tripwire().await;
    let tokens = sf.link(Environment::Production).await;
    let id_path = tokens.id.url.path().to_string();
    let (login, _) = refresh_answering(serde_json::json!({
        "access_token": "00Dx0000000BV7z!moved", "id": format!("{}{}", elsewhere.as_str().trim_end_matches('/'), id_path),
    }))
    .await;
    let client = session_refreshing_at(&sf, &login).await;
    let before = client.session().tokens().unwrap();
    sf.admin_post(&format!("/orgs/{}/faults/expire-tokens", sf.production.id)).await;
    let err = client.organization().await.unwrap_err();
    assert!(matches!(err, SalesforceError::UntrustedHost { what: "identity URL", .. }), "{err:?}");
    let after = client.session().tokens().unwrap();
    assert_eq!((after.id, after.instance_url), (before.id, before.instance_url));
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}
