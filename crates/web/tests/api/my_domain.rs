//! Nothing a person types, and nothing a token response says, sends the
//! connected app's secret or a link's tokens anywhere but Salesforce (or a
//! host configured as trusted): the My Domain field, the instance and
//! identity URLs, and what error pages repeat of an upstream answer.

use crate::helpers::{spawn_app_trusting, Browser, WithSalesforce};
use axum::extract::State;
use axum::response::IntoResponse;
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use sha2::Sha256;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use store::testing::TestDatabase;

const PROD_USER: &str = "demo@acme.example";
const PASSWORD: &str = "demo-password-1";

/// A loopback listener nobody configured as trusted: it only counts who connects.
struct Tripwire {
    url: String,
    hits: Arc<AtomicUsize>,
}

impl Tripwire {
    async fn start() -> Tripwire {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        tokio::spawn(async move {
            while let Ok((_socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
        Tripwire { url, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// What the stand-in login host's token endpoint answers.
#[derive(Clone)]
enum Reply {
    /// A correctly signed token response whose `instance_url` is elsewhere.
    Instance(String),
    /// A correctly signed token response whose identity URL is elsewhere.
    Identity(String),
    /// Any status and body, as a proxy or a foreign server might send.
    Raw(u16, &'static str, String),
}

struct FakeLogin {
    url: String,
    secret: String,
    reply: Reply,
    token_calls: AtomicUsize,
}

/// A login host configured as trusted whose token endpoint answers as told:
/// it stands for a trusted host that misbehaves.
async fn fake_login(secret: &str, reply: Reply) -> Arc<FakeLogin> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let fake = Arc::new(FakeLogin { url, secret: secret.to_string(), reply, token_calls: AtomicUsize::new(0) });
    let router = axum::Router::new().route("/services/oauth2/token", axum::routing::post(token)).with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    fake
}

async fn token(State(fake): State<Arc<FakeLogin>>) -> axum::response::Response {
    fake.token_calls.fetch_add(1, Ordering::SeqCst);
    let signed = |instance: &str, id: &str| {
        let issued_at = "1278448832702";
        let mut mac = Hmac::<Sha256>::new_from_slice(fake.secret.as_bytes()).unwrap();
        mac.update(format!("{id}{issued_at}").as_bytes());
        let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        axum::Json(serde_json::json!({
            "access_token": "00Dx0000000BV7z!fake-access-token", "refresh_token": "fake-refresh-token",
            "instance_url": instance, "id": id, "issued_at": issued_at, "signature": signature,
            "token_type": "Bearer", "scope": "api refresh_token id",
        }))
        .into_response()
    };
    let own_id = format!("{}/id/00Dx0000000BV7z/005x00000012Q9P", fake.url);
    match &fake.reply {
        Reply::Instance(instance) => signed(instance, &own_id),
        Reply::Identity(host) => signed(&format!("{}/org/00Dx0000000BV7z", fake.url), &format!("{host}/id/00Dx0000000BV7z/005x00000012Q9P")),
        Reply::Raw(status, content_type, body) => {
            (StatusCode::from_u16(*status).unwrap(), [("content-type", *content_type)], body.clone()).into_response()
        }
    }
}

fn the_demo_secret() -> String {
    sfemu::EmulatorConfig::default_demo().connected_apps[0].client_secret.clone()
}

async fn account_id(sf: &WithSalesforce, email: &str) -> i64 {
    sf.app.store.account_by_email(&domain::Email::parse(email).unwrap()).await.unwrap().unwrap().id
}

/// (org id, linked at) of the account's link, if any.
async fn link_of(sf: &WithSalesforce, email: &str) -> Option<(String, i64)> {
    sf.app.store.link(account_id(sf, email).await).await.unwrap().map(|l| (l.org_id, l.linked_at))
}

/// Signs up, links the emulator's production org, then signs in with
/// `my_domain`; returns the browser and the link as it stood before.
async fn linked_then_sign_in(sf: &WithSalesforce, my_domain: &str) -> (Browser, Option<(String, i64)>, reqwest::Response) {
    let b = Browser::new(&sf.app);
    b.sign_up("olive@example.com", "Olive Owner").await;
    let first = b.link_salesforce(false, PROD_USER, PASSWORD, true).await;
    assert_eq!(first.callback.status(), StatusCode::SEE_OTHER);
    let before = link_of(sf, "olive@example.com").await;
    assert!(before.is_some());
    let r = b.submit("/salesforce/link", "/salesforce/link", &[("my_domain", my_domain), ("return_to", "/salesforce")]).await;
    (b, before, r)
}

/// Sign In with the stand-in as My Domain, then come back to the callback as
/// Salesforce would, with a code: the exchange goes to the stand-in.
async fn callback_page(sf: &WithSalesforce, fake: &FakeLogin) -> (Browser, Option<(String, i64)>, StatusCode, String) {
    let (b, before, r) = linked_then_sign_in(sf, &fake.url).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "a trusted host is accepted as My Domain");
    let authorize = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(authorize.origin().ascii_serialization(), fake.url);
    let state = authorize.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let cb = b.get(&format!("/salesforce/callback?code=aPrxfake&state={state}")).await;
    let status = cb.status();
    (b, before, status, cb.text().await.unwrap())
}

#[tokio::test]
async fn my_domain_outside_salesforce_is_refused_with_what_to_enter_and_the_page_keeps_it() {
    let tripwire = Tripwire::start().await;
    for db in TestDatabase::all().await {
        let sf = spawn_app_trusting(db, &[]).await;
        let b = Browser::new(&sf.app);
        b.sign_up("olive@example.com", "Olive Owner").await;
        let refused = [
            "https://evil.example".to_string(),
            format!("{}/x", tripwire.url.replace("http://", "https://")),
            tripwire.url.clone(),
            "https://acme.my.salesforce.com.evil.example".into(),
            "https://user@acme.my.salesforce.com".into(),
            "https://acme.my.salesforce.com:8443".into(),
            "https://acme.my.salesforce.com/path?x".into(),
            "http://acme.my.salesforce.com".into(),
            "not a url".into(),
        ];
        for typed in &refused {
            let r = b.submit("/salesforce/link", "/salesforce/link", &[("my_domain", typed.as_str()), ("return_to", "/salesforce")]).await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
            let html = r.text().await.unwrap();
            assert!(html.contains("Enter your My Domain URL as shown in Salesforce Setup → My Domain, like https://acme.my.salesforce.com"), "{typed}: {html}");
            assert!(html.contains(&format!("value=\"{typed}\"")), "the field keeps what was typed: {typed}");
        }
        assert_eq!(link_of(&sf, "olive@example.com").await, None, "nothing was linked");
    }
    assert_eq!(tripwire.hits(), 0);
}

#[tokio::test]
async fn my_domain_pointing_at_a_local_listener_never_reaches_it_and_the_link_stands() {
    for db in TestDatabase::all().await {
        let tripwire = Tripwire::start().await;
        let sf = spawn_app_trusting(db, &[]).await;
        let (b, before, r) = linked_then_sign_in(&sf, &tripwire.url).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.headers().get("location").is_none(), "no sign-in was started");
        // Whatever callback the attacker forges now, no sign-in waits for it.
        let forged = b.get("/salesforce/callback?code=aPrxfake&state=forged").await;
        assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
        assert_eq!(tripwire.hits(), 0, "the listener saw no connection at all");
        assert_eq!(link_of(&sf, "olive@example.com").await, before, "the link is unchanged");
    }
}

#[tokio::test]
async fn a_salesforce_my_domain_and_a_configured_stand_in_are_accepted() {
    for db in TestDatabase::all().await {
        let sf = spawn_app_trusting(db, &[]).await;
        let b = Browser::new(&sf.app);
        b.sign_up("olive@example.com", "Olive Owner").await;
        let r = b.submit("/salesforce/link", "/salesforce/link", &[("my_domain", " https://acme--uat.sandbox.my.salesforce.com/ "), ("return_to", "/salesforce")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(r.headers()["location"].to_str().unwrap().starts_with("https://acme--uat.sandbox.my.salesforce.com/services/oauth2/authorize?"));
        // The emulator is configured as trusted, so it may stand in for a My Domain.
        let emulator = sf.emulator.http_url();
        let r = b.submit("/salesforce/link", "/salesforce/link", &[("my_domain", emulator.as_str()), ("return_to", "/salesforce")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(r.headers()["location"].to_str().unwrap().starts_with(&format!("{emulator}/services/oauth2/authorize?")));
    }
}

#[tokio::test]
async fn a_token_response_naming_a_foreign_instance_links_nothing_and_says_why() {
    for db in TestDatabase::all().await {
        let elsewhere = Tripwire::start().await;
        let fake = fake_login(&the_demo_secret(), Reply::Instance(format!("{}/org/00Dx0000000BV7z", elsewhere.url))).await;
        let sf = spawn_app_trusting(db, std::slice::from_ref(&fake.url)).await;
        let (_, before, status, html) = callback_page(&sf, &fake).await;
        assert_eq!(fake.token_calls.load(Ordering::SeqCst), 1, "the code was exchanged at the trusted stand-in");
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert!(html.contains("Nothing was linked"), "{html}");
        assert!(html.contains("is not a Salesforce host") && html.contains("instance_url"), "{html}");
        assert_eq!(elsewhere.hits(), 0, "the foreign instance got no request");
        assert_eq!(link_of(&sf, "olive@example.com").await, before, "the link is unchanged");
    }
}

#[tokio::test]
async fn a_token_response_naming_a_foreign_identity_url_links_nothing() {
    for db in TestDatabase::all().await {
        let elsewhere = Tripwire::start().await;
        let fake = fake_login(&the_demo_secret(), Reply::Identity(elsewhere.url.clone())).await;
        let sf = spawn_app_trusting(db, std::slice::from_ref(&fake.url)).await;
        let (_, before, status, html) = callback_page(&sf, &fake).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert!(html.contains("identity URL"), "{html}");
        assert_eq!(elsewhere.hits(), 0, "the access token was not sent to the foreign identity URL");
        assert_eq!(link_of(&sf, "olive@example.com").await, before);
    }
}

#[tokio::test]
async fn an_upstream_error_body_never_reaches_the_page() {
    let marker = "MARKER-5c1e-upstream";
    let replies = [
        Reply::Raw(400, "text/html", format!("<html><body><h1>{marker}</h1><p>client_secret=…</p></body></html>")),
        Reply::Raw(200, "application/json", format!(r#"{{"access_token": "{marker}", "instance_url": "{marker}"}}"#)),
        Reply::Raw(200, "text/html", format!("<p>{marker}</p>")),
        Reply::Raw(502, "text/plain", marker.to_string()),
    ];
    for reply in replies {
        let db = TestDatabase::all().await.remove(0);
        let fake = fake_login(&the_demo_secret(), reply).await;
        let sf = spawn_app_trusting(db, std::slice::from_ref(&fake.url)).await;
        let (b, before, status, html) = callback_page(&sf, &fake).await;
        assert_eq!(fake.token_calls.load(Ordering::SeqCst), 1);
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert!(!html.contains(marker), "{html}");
        assert!(html.contains("Nothing was changed"));
        assert_eq!(link_of(&sf, "olive@example.com").await, before);
        // Nor the Salesforce page with its audit log.
        let (_, page) = b.get_text("/salesforce").await;
        assert!(page.contains("Acme Production") && !page.contains(marker));
    }
}

#[tokio::test]
async fn salesforce_error_and_description_are_shown_escaped_and_bounded() {
    let description = format!("<script>alert('x')</script>{}", "y".repeat(5000));
    let body = serde_json::json!({"error": "invalid_client", "error_description": description}).to_string();
    let db = TestDatabase::all().await.remove(0);
    let fake = fake_login(&the_demo_secret(), Reply::Raw(400, "application/json", body)).await;
    let sf = spawn_app_trusting(db, std::slice::from_ref(&fake.url)).await;
    let (_, _, status, html) = callback_page(&sf, &fake).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(html.contains("invalid_client"), "{html}");
    assert!(html.contains("&lt;script&gt;alert"), "escaped: {html}");
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains(&"y".repeat(600)), "bounded");
}

#[tokio::test]
async fn forms_may_post_only_to_this_site_and_salesforce_login_hosts() {
    let db = TestDatabase::all().await.remove(0);
    let sf = spawn_app_trusting(db, &[]).await;
    let r = Browser::new(&sf.app).get("/signin").await;
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    let form_action: Vec<&str> = csp.split(';').map(str::trim).find_map(|d| d.strip_prefix("form-action ")).unwrap().split(' ').collect();
    assert_eq!(form_action, vec!["'self'", &sf.emulator.http_url(), "https://*.my.salesforce.com"], "{csp}");
}
