//! A record id that decides which Salesforce record is updated comes from a
//! signed survey link; a respondent who edits the link, or uses a plain,
//! expired or superseded one, is still heard but writes nothing.

use crate::helpers::{apps_with_emulator, csrf_in, Browser, WithSalesforce};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const SANDBOX_USER: &str = "demo@acme.example.sandbox";
const PASSWORD: &str = "demo-password-1";
const UNSIGNED_REASON: &str =
    "the record id came from an unsigned survey link, which a respondent can edit; send a signed link (Survey → Signed links) instead";

/// A survey whose mapping updates the Account named by `?account_id=`, and
/// two Accounts in the owner's sandbox: the one the owner means, and
/// another a respondent would like to overwrite.
struct Setup {
    sf: WithSalesforce,
    owner: Browser,
    project: i64,
    link: String,
    org: String,
    meant: String,
    other: String,
}

async fn seed(sf: &WithSalesforce, org: &str, object: &str, body: Value) -> String {
    let url = format!("{}/orgs/{org}/records/{object}", sf.emulator.admin_url());
    let r: Value = reqwest::Client::new().post(url).json(&body).send().await.unwrap().json().await.unwrap();
    r["id"].as_str().unwrap_or_else(|| panic!("seeded {object}: {r}")).to_string()
}

/// A record as the org holds it, read through the emulator's admin side.
async fn record(s: &Setup, object: &str, id: &str) -> Value {
    let url = format!("{}/orgs/{}/records/{object}", s.sf.emulator.admin_url(), s.org);
    let v: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    v["records"].as_array().unwrap().iter().find(|r| r["Id"] == id).cloned().unwrap_or_else(|| panic!("no {object} {id}"))
}

async fn setup(sf: WithSalesforce) -> Setup {
    let owner = Browser::new(&sf.app);
    owner.sign_up("olive@example.com", "Olive Owner").await;
    let project = owner.create_project("Account health check").await;
    owner.add_question(project, "essay", "How are we doing?", "", false).await;
    let page = format!("/projects/{project}/survey");
    assert_eq!(owner.submit(&page, &format!("{page}/embedded"), &[("name", "account_id")]).await.status(), StatusCode::SEE_OTHER);
    owner.link_salesforce(true, SANDBOX_USER, PASSWORD, true).await;
    let panel = format!("/projects/{project}/salesforce");
    let r = owner.submit(&panel, &format!("{panel}/mappings"), &[("object", "Account"), ("action", "update"), ("key_field", ""), ("record_id", "embedded:account_id")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let r = owner.submit(&panel, &format!("{panel}/mappings/0/rules"), &[("field", "Description"), ("source", "answer:q1"), ("value", "")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let link = owner.publish(project).await;
    let org = sf.emulator.orgs().into_iter().find(|o| o.2).unwrap().0;
    let meant = seed(&sf, &org, "Account", json!({ "Name": "Meant Ltd" })).await;
    let other = seed(&sf, &org, "Account", json!({ "Name": "Someone Else Inc" })).await;
    Setup { sf, owner, project, link, org, meant, other }
}

/// Signs a link on the Survey page's "Signed links" card, as the owner
/// would, and returns it as a path with its query.
async fn signed_link_from_page(s: &Setup, account_id: &str) -> String {
    let page = format!("/projects/{}/survey", s.project);
    let r = s.owner.submit(&page, &format!("{page}/signed-links"), &[("e.account_id", account_id), ("valid_days", "")]).await;
    let to = r.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    assert_eq!(to.as_deref(), Some(page.as_str()), "making a link ends in a redirect to the Survey view");
    let shown = s.owner.get(&page).await;
    assert_eq!(shown.headers()["cache-control"], "no-store", "the page showing a link is not kept");
    let html = shown.text().await.unwrap();
    let (_, again) = s.owner.get_text(&page).await;
    assert!(!again.contains("id=\"signed-link\""), "a reload shows the link no more (nor makes another)");
    let start = html.find("id=\"signed-link\"").expect("the signed link is shown");
    let url: String = html[start..].split('>').nth(1).unwrap().chars().take_while(|c| *c != '<').collect();
    let url = url.replace("&amp;", "&");
    url[url.find("/s/").unwrap()..].to_string()
}

/// Every hidden field of a form, as a browser would send it back.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .filter_map(|rest| {
            let attr = |name: &str| {
                let marker = format!("{name}=\"");
                let start = rest.find(&marker)? + marker.len();
                Some(rest[start..].chars().take_while(|c| *c != '"').collect::<String>())
            };
            Some((attr("name")?, attr("value")?.replace("&amp;", "&")))
        })
        .collect()
}

/// Opens a survey link as a respondent and answers; returns the response id.
async fn respond(s: &Setup, link: &str, answer: &str) -> String {
    let r = Browser::new(&s.sf.app);
    let (status, html) = r.get_text(link).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let mut fields = hidden_fields(&html);
    let rid = fields.iter().find(|(k, _)| k == "_rid").unwrap().1.clone();
    fields.push(("q1".into(), answer.into()));
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(r.post_form(link, &refs).await.status(), StatusCode::SEE_OTHER, "the response is accepted");
    rid
}

/// Waits for the response's delivery to settle; returns its status and error.
async fn delivery(s: &Setup, rid: &str) -> (String, Option<String>) {
    let start = Instant::now();
    loop {
        if let Some(d) = s.sf.app.store.delivery_of(s.project, rid).await.unwrap() {
            if matches!(d.status, domain::DeliveryStatus::Delivered | domain::DeliveryStatus::Failed) {
                return (d.status.to_string(), d.last_error);
            }
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the delivery of {rid} never settled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn with_query(link: &str, pairs: &[(&str, &str)]) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    format!("{link}?{query}")
}

fn replace_param(link: &str, name: &str, value: &str) -> String {
    let (path, query) = link.split_once('?').unwrap();
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.to_string(), if k == name { value.to_string() } else { v.to_string() })).collect();
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    with_query(path, &refs)
}

#[tokio::test]
async fn respondent_cannot_choose_the_updated_record() {
    for sf in apps_with_emulator().await {
        let s = setup(sf).await;
        // The plain link, edited to name someone else's Account.
        let attack = with_query(&s.link, &[("account_id", &s.other)]);
        let rid = respond(&s, &attack, "Overwritten by a stranger").await;

        let stored = s.sf.app.store.response(s.project, &rid).await.unwrap().expect("the response is stored");
        assert_eq!(stored.provenance(), domain::EmbeddedProvenance::Unsigned);
        let (status, error) = delivery(&s, &rid).await;
        assert_eq!(status, "failed");
        assert!(error.as_deref().unwrap().contains(UNSIGNED_REASON), "{error:?}");
        assert_eq!(record(&s, "Account", &s.other).await["Description"], Value::Null, "the other Account is untouched");
        let (_, page) = s.owner.get_text(&format!("/projects/{}/responses/{rid}", s.project)).await;
        assert!(page.contains("unsigned survey link, which a respondent can edit"), "the delivery log says why");
    }
}

#[tokio::test]
async fn a_signed_link_updates_the_record_it_names() {
    for sf in apps_with_emulator().await {
        let s = setup(sf).await;
        let link = signed_link_from_page(&s, &s.meant).await;
        let rid = respond(&s, &link, "Very happy with the service").await;
        assert_eq!(delivery(&s, &rid).await, ("delivered".to_string(), None));
        assert_eq!(record(&s, "Account", &s.meant).await["Description"], "Very happy with the service");
        assert_eq!(s.sf.app.store.response(s.project, &rid).await.unwrap().unwrap().provenance(), domain::EmbeddedProvenance::SignedLink);
    }
}

#[tokio::test]
async fn a_tampered_value_with_the_original_signature_is_refused() {
    for sf in apps_with_emulator().await {
        let s = setup(sf).await;
        let signed = signed_link_from_page(&s, &s.meant).await;
        let tampered = replace_param(&signed, "account_id", &s.other);
        let rid = respond(&s, &tampered, "Overwritten by a stranger").await;
        let (status, error) = delivery(&s, &rid).await;
        assert_eq!(status, "failed");
        assert!(error.as_deref().unwrap().contains("changed after signing"), "{error:?}");
        assert_eq!(record(&s, "Account", &s.other).await["Description"], Value::Null);
        assert_eq!(record(&s, "Account", &s.meant).await["Description"], Value::Null);
    }
}

#[tokio::test]
async fn a_link_signed_elsewhere_works_until_it_expires() {
    for sf in apps_with_emulator().await {
        let s = setup(sf).await;
        // Another system signs with the key the API shows once.
        let token = s.owner.api_token().await;
        let api = reqwest::Client::new();
        let r = api.post(format!("{}/api/v1/projects/{}/signed-links/key", s.sf.app.url, s.project)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let key = domain::LinkKey::from_hex(r.json::<Value>().await.unwrap()["key"].as_str().unwrap()).unwrap();
        let data = BTreeMap::from([("account_id".to_string(), s.meant.clone())]);
        let now = store::now_ms() / 1000;
        let sign = |expires: i64| domain::signed_link::sign(&key, &data, Some(expires));

        let fresh = with_query(&s.link, &[("account_id", &s.meant), ("_expires", &(now + 3600).to_string()), ("_sig", &sign(now + 3600))]);
        let rid = respond(&s, &fresh, "Signed by our CRM").await;
        assert_eq!(delivery(&s, &rid).await.0, "delivered");
        assert_eq!(record(&s, "Account", &s.meant).await["Description"], "Signed by our CRM");

        let expired = with_query(&s.link, &[("account_id", &s.meant), ("_expires", &(now - 60).to_string()), ("_sig", &sign(now - 60))]);
        let rid = respond(&s, &expired, "Too late").await;
        let (status, error) = delivery(&s, &rid).await;
        assert_eq!(status, "failed");
        assert!(error.as_deref().unwrap().contains("had expired"), "{error:?}");
        assert_eq!(record(&s, "Account", &s.meant).await["Description"], "Signed by our CRM", "the expired link wrote nothing");
    }
}

#[tokio::test]
async fn a_regenerated_key_stops_trusting_old_links() {
    for sf in apps_with_emulator().await {
        let s = setup(sf).await;
        let old = signed_link_from_page(&s, &s.meant).await;
        let page = format!("/projects/{}/survey", s.project);
        let r = s.owner.submit(&page, &format!("{page}/signed-links/key"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "a new key ends in a redirect: a reload makes no second key");
        let waiting: Vec<(Option<String>,)> = sqlx::query_as("SELECT note_sealed FROM sessions WHERE note_sealed IS NOT NULL").fetch_all(s.sf.app.store.pool()).await.unwrap();
        assert_eq!(waiting.len(), 1, "the key waits for its page, sealed");
        let shown = s.owner.get(&page).await;
        assert_eq!(shown.headers()["cache-control"], "no-store");
        let html = shown.text().await.unwrap();
        assert!(html.contains("id=\"signing-key-value\""), "the new key is shown once");
        let key = html.split("id=\"signing-key-value\">").nth(1).unwrap().split('<').next().unwrap().to_string();
        assert!(key.len() >= 32 && !waiting[0].0.as_deref().unwrap().contains(&key), "the database never held the key in the clear");
        let sealed: Vec<(Option<String>,)> = sqlx::query_as("SELECT note_sealed FROM sessions").fetch_all(s.sf.app.store.pool()).await.unwrap();
        assert!(sealed.iter().all(|(n,)| n.is_none()), "taken once shown");
        let (_, again) = s.owner.get_text(&page).await;
        assert!(!again.contains("signing-key-value"), "and never again");

        let rid = respond(&s, &old, "From an old link").await;
        let (status, error) = delivery(&s, &rid).await;
        assert_eq!(status, "failed");
        assert!(error.as_deref().unwrap().contains("key since regenerated"), "{error:?}");
        assert_eq!(record(&s, "Account", &s.meant).await["Description"], Value::Null);
    }
}

#[tokio::test]
async fn a_signed_id_of_another_object_is_refused() {
    for sf in apps_with_emulator().await {
        let s = setup(sf).await;
        let contact = seed(&s.sf, &s.org, "Contact", json!({ "LastName": "Stranger" })).await;
        let link = signed_link_from_page(&s, &contact).await;
        let rid = respond(&s, &link, "Into the wrong object").await;
        let (status, error) = delivery(&s, &rid).await;
        assert_eq!(status, "failed");
        assert!(error.as_deref().unwrap().contains("Account ids start with 001"), "{error:?}");
        assert_eq!(record(&s, "Contact", &contact).await["Description"], Value::Null);
    }
}

#[tokio::test]
async fn a_stranger_or_viewer_cannot_sign_links() {
    for sf in apps_with_emulator().await {
        let s = setup(sf).await;
        let page = format!("/projects/{}/survey", s.project);
        let (viewer, stranger) = (Browser::new(&s.sf.app), Browser::new(&s.sf.app));
        viewer.sign_up("vera@example.com", "Vera Viewer").await;
        stranger.sign_up("sam@example.com", "Sam Stranger").await;
        assert_eq!(s.owner.share(&viewer, s.project, &[("email", "vera@example.com"), ("role", "viewer")]).await.0, StatusCode::OK);

        let (_, viewer_page) = viewer.get_text(&page).await;
        assert!(viewer_page.contains("Only the project's owner"), "the viewer sees why there is no form");
        let csrf = csrf_in(&viewer_page).unwrap();
        for (action, fields) in [("/signed-links", vec![("csrf", csrf.as_str()), ("e.account_id", s.other.as_str())]), ("/signed-links/key", vec![("csrf", csrf.as_str())])] {
            let r = viewer.post_form(&format!("{page}{action}"), &fields).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "viewer {action}");
        }
        let (_, own_page) = stranger.get_text("/projects").await;
        let csrf = csrf_in(&own_page).unwrap();
        let r = stranger.post_form(&format!("{page}/signed-links"), &[("csrf", &csrf), ("e.account_id", &s.other)]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "a stranger does not learn the project exists");

        let api = reqwest::Client::new();
        for (who, expected) in [(&viewer, StatusCode::FORBIDDEN), (&stranger, StatusCode::NOT_FOUND)] {
            let token = who.api_token().await;
            for path in ["signed-links", "signed-links/key"] {
                let r = api
                    .post(format!("{}/api/v1/projects/{}/{path}", s.sf.app.url, s.project))
                    .bearer_auth(&token)
                    .json(&json!({ "embedded": { "account_id": s.other } }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), expected, "{path}");
            }
        }
        assert!(s.sf.app.store.survey_link_key(s.project).await.unwrap().is_none(), "no key was made for them");
    }
}

#[tokio::test]
async fn the_api_signs_links_and_explains_bad_input() {
    for sf in apps_with_emulator().await {
        let s = setup(sf).await;
        let token = s.owner.api_token().await;
        let api = reqwest::Client::new();
        let url = format!("{}/api/v1/projects/{}/signed-links", s.sf.app.url, s.project);
        let post = |body: Value| api.post(&url).bearer_auth(&token).json(&body).send();

        let r = post(json!({ "embedded": { "account_id": s.meant }, "expires_at": "2099-01-01T00:00:00Z" })).await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["expires_at"], "2099-01-01T00:00:00Z");
        let full = body["url"].as_str().unwrap();
        let rid = respond(&s, &full[full.find("/s/").unwrap()..], "Through the API").await;
        assert_eq!(delivery(&s, &rid).await.0, "delivered");

        for (bad, says) in [
            (json!({ "embedded": { "case_id": "500" } }), "declares no embedded data field \"case_id\""),
            (json!({ "embedded": {}, "expires_at": "2001-01-01T00:00:00Z" }), "in the past"),
            (json!({ "embedded": {}, "expires_at": "tomorrow" }), "RFC 3339"),
        ] {
            let r = post(bad).await.unwrap();
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let message = r.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_string();
            assert!(message.contains(says), "{message}");
        }
    }
}
