//! Expired sessions: one coalesced refresh, retried calls, and revoked refresh tokens.

mod common;

use common::{CountingProxy, TestSalesforce};
use salesforce::session::{BoxFuture, SessionObserver};
use salesforce::{ApiVersion, Client, Environment, SalesforceError, Session, Tokens};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use url::Url;

#[derive(Default)]
struct Recorder {
    refreshed: AtomicU64,
    reauth: AtomicU64,
    last_access_token: Mutex<Option<String>>,
}

impl SessionObserver for Recorder {
    fn tokens_refreshed<'a>(&'a self, tokens: &'a Tokens) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.refreshed.fetch_add(1, Ordering::SeqCst);
            *self.last_access_token.lock().unwrap() = Some(tokens.access_token.expose().to_string());
        })
    }
    fn reauthorization_required<'a>(&'a self, _e: &'a SalesforceError) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.reauth.fetch_add(1, Ordering::SeqCst);
        })
    }
}

/// A linked session whose token calls go through a counting proxy.
async fn setup() -> (TestSalesforce, CountingProxy, Client, Arc<Recorder>) {
    let sf = TestSalesforce::start().await;
    let mut tokens = sf.link(Environment::Production).await;
    let proxy = CountingProxy::start_with_delay(sf.emu.http_url(), std::time::Duration::from_millis(50)).await;
    // REST calls go through the proxy too (until a refresh names the real instance URL again).
    let path = tokens.instance_url.path().to_string();
    tokens.instance_url = Url::parse(&format!("{}{}", proxy.url, path)).unwrap();
    // The production login host is the emulator's root, so the proxy root stands in for it.
    assert_eq!(sf.production.login_url.as_str().trim_end_matches('/'), sf.emu.http_url());
    let recorder = Arc::new(Recorder::default());
    let proxy_url = Url::parse(&proxy.url).unwrap();
    let mut app = sf.app.clone();
    app.trusted_hosts.trust(&proxy_url);
    let session = Session::new(sf.http.clone(), app, proxy_url, tokens, recorder.clone());
    (sf, proxy, Client::new(session, ApiVersion::DEFAULT), recorder)
}

#[tokio::test]
async fn expired_token_is_refreshed_once_and_the_call_retried() {
    let (sf, proxy, client, recorder) = setup().await;
    let before = client.session().current().0;
    sf.admin_post(&format!("/orgs/{}/faults/expire-tokens", sf.production.id)).await;
    let org = client.organization().await.unwrap();
    assert_eq!(org.id.as_str(), sf.production.id);
    assert_eq!(proxy.token_calls(), 1);
    assert_ne!(client.session().current().0, before);
    assert_eq!(recorder.refreshed.load(Ordering::SeqCst), 1);
    let stored = client.session().tokens().unwrap();
    assert_eq!(recorder.last_access_token.lock().unwrap().as_deref(), Some(stored.access_token.expose()));
    assert!(stored.refresh_token.is_some(), "the refresh token survives the merge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_calls_on_an_expired_token_make_one_refresh() {
    let (sf, proxy, client, recorder) = setup().await;
    sf.admin_post(&format!("/orgs/{}/faults/expire-tokens", sf.production.id)).await;
    let start = Arc::new(tokio::sync::Barrier::new(100));
    let calls = (0..100).map(|_| {
        let (c, start) = (client.clone(), start.clone());
        tokio::spawn(async move {
            start.wait().await;
            c.limits().await
        })
    });
    for h in calls.collect::<Vec<_>>() {
        h.await.unwrap().unwrap();
    }
    assert_eq!(proxy.token_calls(), 1, "exactly one refresh reached Salesforce");
    assert!(proxy.unauthorized() > 1, "several calls found the token expired at once ({})", proxy.unauthorized());
    assert_eq!(client.session().refresh_count(), 1);
    assert_eq!(recorder.refreshed.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn revoked_refresh_token_asks_for_a_new_sign_in_once() {
    let (sf, proxy, client, recorder) = setup().await;
    sf.admin_post(&format!("/orgs/{}/faults/revoke-refresh-tokens", sf.production.id)).await;
    sf.admin_post(&format!("/orgs/{}/faults/expire-tokens", sf.production.id)).await;
    let err = client.limits().await.unwrap_err();
    assert!(err.is_refresh_revoked(), "{err:?}");
    let err = client.limits().await.unwrap_err();
    assert!(err.is_refresh_revoked(), "{err:?}");
    assert_eq!(proxy.token_calls(), 1, "a known-revoked refresh token is not tried again");
    assert_eq!(recorder.reauth.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn bare_access_token_session_reports_expiry_without_refreshing() {
    let sf = TestSalesforce::start().await;
    let tokens = sf.link(Environment::Production).await;
    let client = Client::new(Session::with_access_token(sf.http.clone(), tokens.instance_url.clone(), tokens.access_token.clone()), ApiVersion::DEFAULT);
    sf.admin_post(&format!("/orgs/{}/faults/expire-tokens", sf.production.id)).await;
    let err = client.limits().await.unwrap_err();
    assert!(matches!(err, SalesforceError::SessionExpired), "{err:?}");
    assert!(err.is_session_expired());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_failing_for_a_passing_reason_is_tried_once_per_burst() {
    let sf = TestSalesforce::start().await;
    let tokens = sf.link(Environment::Production).await;
    // The login host accepts connections but never answers; the instance is up.
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hung_login = Url::parse(&format!("http://{}", hung.local_addr().unwrap())).unwrap();
    tokio::spawn(async move {
        let mut held = vec![];
        while let Ok((sock, _)) = hung.accept().await {
            held.push(sock);
        }
    });
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_millis(500)).build().unwrap();
    let mut app = sf.app.clone();
    app.trusted_hosts.trust(&hung_login);
    let session = Session::new(http, app, hung_login, tokens, Arc::new(Recorder::default()));
    let client = Client::new(session, ApiVersion::DEFAULT);
    sf.admin_post(&format!("/orgs/{}/faults/expire-tokens", sf.production.id)).await;
    let start = Arc::new(tokio::sync::Barrier::new(20));
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (c, start) = (client.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                c.limits().await
            })
        })
        .collect();
    for h in calls {
        let err = h.await.unwrap().unwrap_err();
        assert!(err.is_retryable() && !err.is_refresh_revoked(), "{err:?}");
    }
    assert_eq!(client.session().refresh_count(), 1, "callers waiting on a failed refresh share its outcome");
    // Once the burst is over, a later call tries again.
    let before = client.session().refresh_count();
    client.limits().await.unwrap_err();
    assert_eq!(client.session().refresh_count(), before + 1);
}
