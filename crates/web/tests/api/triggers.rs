//! Trigger and Email Survey, end to end: closing a Case in the emulator makes
//! it POST its outbound message to the trigger's URL; Insight acknowledges it,
//! mails the Case's Contact a personal link; the answer to that link is
//! written back onto the Case. And what a replay, a forged or foreign message,
//! a second answer, an expired link or a collaborator without the grant can do.

use crate::helpers::{Browser, WithSalesforce};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const SANDBOX_USER: &str = "demo@acme.example.sandbox";
const PASSWORD: &str = "demo-password-1";

struct Setup {
    sf: WithSalesforce,
    owner: Browser,
    project: i64,
    org: String,
    endpoint: String,
}

async fn seed(sf: &WithSalesforce, org: &str, object: &str, body: Value) -> String {
    let url = format!("{}/orgs/{org}/records/{object}", sf.emulator.admin_url());
    let r: Value = reqwest::Client::new().post(url).json(&body).send().await.unwrap().json().await.unwrap();
    r["id"].as_str().unwrap_or_else(|| panic!("seeded {object}: {r}")).to_string()
}

async fn record(sf: &WithSalesforce, org: &str, object: &str, id: &str) -> Value {
    let url = format!("{}/orgs/{org}/records/{object}", sf.emulator.admin_url());
    let v: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    v["records"].as_array().unwrap().iter().find(|r| r["Id"] == id).cloned().unwrap_or_else(|| panic!("no {object} {id}"))
}

/// The trigger page's settings form, as a person fills it in.
fn trigger_form<'a>(condition: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("object", "Case"),
        ("recipient_kind", "contact_lookup"),
        ("lookup_field", "ContactId"),
        ("email_field", ""),
        ("name_field", ""),
        ("embedded", "CaseNumber"),
        ("condition", condition),
        ("sender_name", "Acme Support"),
        ("subject", "How did we do with \"{{Subject}}\"?"),
        ("body", "Hello {{recipient_name}},\n\nYour case {{CaseNumber}} was closed. Tell us how we did:\n\n{{survey_link}}\n"),
        ("delay_unit", "now"),
        ("delay_amount", ""),
        ("reminder_days", ""),
        ("link_valid_days", "90"),
        ("frequency_max", ""),
        ("frequency_days", ""),
    ];
    for (k, v) in extra {
        f.retain(|(name, _)| name != k);
        f.push((k, v));
    }
    f
}

/// An owner with a linked sandbox, a published NPS survey whose mapping
/// writes the score onto the Case named by `record_id`, and a trigger.
async fn setup(sf: WithSalesforce) -> Setup {
    setup_mailing(sf, None).await
}

/// As `setup`, the app's mail going to `smtp` when given (the owner's
/// sign-up link is read there).
async fn setup_mailing(sf: WithSalesforce, smtp: Option<&crate::aiosmtpd::Aiosmtpd>) -> Setup {
    let owner = Browser::new(&sf.app);
    match smtp {
        None => owner.sign_up("olive@example.com", "Olive Owner").await,
        Some(smtp) => {
            // One SMTP server serves every backend's app: an address per app.
            let email = format!("olive.{:08x}@example.com", rand::random::<u32>());
            let r = owner.submit("/signup", "/signup", &[("name", "Olive Owner"), ("email", &email), ("password", "a good password"), ("next", "/projects")]).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            let link = smtp.wait_for_mail(&email, Duration::from_secs(30)).await.link("/signup/confirm?token=").expect("a sign-up link");
            assert_eq!(owner.confirm_sign_up(&link, "a good password").await.status(), StatusCode::SEE_OTHER);
        }
    }
    let project = owner.create_project("Case follow-up").await;
    owner.add_question(project, "nps", "How likely are you to recommend us?", "", true).await;
    owner.link_salesforce(true, SANDBOX_USER, PASSWORD, true).await;
    let page = format!("/projects/{project}/salesforce/trigger");
    let r = owner.submit(&page, &page, &trigger_form("Status = Closed", &[])).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let (_, html) = owner.get_text(&page).await;
    let endpoint = between(&html, "id=\"endpoint-url\">", "<").expect("the endpoint URL is shown to the owner");
    assert!(endpoint.starts_with(&sf.app.url) && endpoint.contains("/salesforce/outbound/"), "{endpoint}");
    // Saving the trigger declared the embedded data it fills.
    let (_, survey) = owner.get_text(&format!("/projects/{project}/survey")).await;
    assert!(survey.contains("record_id") && survey.contains("CaseNumber"), "the survey declares record_id and CaseNumber");
    let panel = format!("/projects/{project}/salesforce");
    let r = owner.submit(&panel, &format!("{panel}/mappings"), &[("object", "Case"), ("action", "update"), ("key_field", ""), ("record_id", "embedded:record_id")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let r = owner.submit(&panel, &format!("{panel}/mappings/0/rules"), &[("field", "Survey_Score__c"), ("source", "answer:q1"), ("value", "")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    owner.publish(project).await;
    let org = sf.emulator.orgs().into_iter().find(|o| o.2).unwrap().0;
    Setup { sf, owner, project, org, endpoint }
}

fn between(html: &str, start: &str, end: &str) -> Option<String> {
    let at = html.find(start)? + start.len();
    Some(html[at..].split(end).next()?.replace("&amp;", "&"))
}

/// Salesforce's outbound message, as its documentation shows it.
fn envelope(org: &str, notifications: &[(&str, &str, &[(&str, &str)])]) -> String {
    let mut notes = String::new();
    for (id, case_id, fields) in notifications {
        notes.push_str(&format!("<Notification><Id>{id}</Id><sObject xsi:type=\"sf:Case\" xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\"><sf:Id>{case_id}</sf:Id>"));
        for (k, v) in *fields {
            notes.push_str(&format!("<sf:{k}>{v}</sf:{k}>"));
        }
        notes.push_str("</sObject></Notification>");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
<soapenv:Body><notifications xmlns=\"http://soap.sforce.com/2005/09/outbound\">\
<OrganizationId>{org}</OrganizationId><ActionId>04k000000000001AAA</ActionId><SessionId xsi:nil=\"true\"/>\
<EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/62.0/{org}</EnterpriseUrl>\
<PartnerUrl>https://example.my.salesforce.com/services/Soap/u/62.0/{org}</PartnerUrl>{notes}</notifications></soapenv:Body></soapenv:Envelope>"
    )
}

async fn post_envelope(url: &str, body: String) -> (StatusCode, String) {
    let r = reqwest::Client::new().post(url).header("content-type", "text/xml; charset=utf-8").header("SOAPAction", "\"\"").body(body).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn log_rows(s: &Setup) -> Vec<store::triggers::LogEntry> {
    s.sf.app.store.invitation_log(s.project, store::triggers::LogFilter::All, None, 1000).await.unwrap()
}

/// Waits until the log holds `n` rows none of which is still waiting.
async fn settled(s: &Setup, n: usize) -> Vec<store::triggers::LogEntry> {
    let start = Instant::now();
    loop {
        let rows = log_rows(s).await;
        if rows.len() >= n && rows.iter().all(|r| !matches!(r.status, store::triggers::NotificationStatus::Received)) {
            return rows;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the notifications were never decided: {rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn hidden(html: &str, name: &str) -> String {
    crate::helpers::hidden_value(html, name).unwrap_or_else(|| panic!("no hidden {name}"))
}

/// Answers a personal link as a respondent's browser would.
/// Answers a personal link as a respondent's browser would, adding
/// `extra` fields a respondent might forge.
async fn answer(app: &crate::helpers::TestApp, link: &str, score: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let respondent = Browser::new(app);
    let path = &link[link.find("/i/").unwrap()..];
    let (status, html) = respondent.get_text(path).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(!html.contains("name=\"e."), "a personal link's form carries no embedded data");
    let (rid, started) = (hidden(&html, "_rid"), hidden(&html, "_started"));
    let mut fields = vec![("_rid", rid.as_str()), ("_started", started.as_str()), ("q1", score)];
    fields.extend_from_slice(extra);
    respondent.post_form(path, &fields).await
}

#[tokio::test]
async fn closing_a_case_mails_its_contact_once_and_the_answer_lands_on_the_case() {
    // A real SMTP server nobody here wrote receives the invitation.
    let Some(smtp) = crate::aiosmtpd::Aiosmtpd::start().await else { return };
    for db in store::testing::TestDatabase::all().await {
        let sf = crate::helpers::spawn_app_trusting_with(db, &[], |c| {
            c.app.mail = Some(app::mail::MailSettings::parse(&smtp.url, "Insight <insight@insight.test>").unwrap());
        })
        .await;
        let s = setup_mailing(sf, Some(&smtp)).await;
        let customer = format!("casey+{}@customer.example", s.project * 1000 + rand::random::<u16>() as i64);
        let contact = seed(&s.sf, &s.org, "Contact", json!({ "LastName": "Customer", "FirstName": "Casey", "Email": customer })).await;
        let case = seed(&s.sf, &s.org, "Case", json!({ "Subject": "Printer on fire", "Status": "New", "ContactId": contact })).await;
        // The org's outbound message, sent when a Case is updated to Closed.
        let rule = json!({ "object": "Case", "field": "Status", "value": "Closed", "fields": ["ContactId", "CaseNumber", "Subject", "Status"], "endpoint_url": s.endpoint });
        let r = reqwest::Client::new().post(format!("{}/orgs/{}/outbound/rules", s.sf.emulator.admin_url(), s.org)).json(&rule).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        // A person closes the case in the org.
        let r = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(format!("{}/orgs/{}/browser/Case/{case}", s.sf.emulator.admin_url(), s.org))
            .form(&[("Status", "Closed")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);

        let mail = smtp.wait_for_mail(&customer, Duration::from_secs(30)).await;
        assert_eq!(mail.subject, "How did we do with \"Printer on fire\"?");
        assert_eq!(mail.from_name.as_deref(), Some("Acme Support"), "the trigger's sender name");
        assert!(mail.text.contains("Hello Casey Customer,"), "the Contact's name, looked up: {}", mail.text);
        let unsubscribe = mail.link("/unsubscribe").expect("a visible unsubscribe link");
        assert_eq!(mail.header("List-Unsubscribe"), Some(format!("<{unsubscribe}>").as_str()));
        assert_eq!(mail.header("List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"));
        let html = mail.html.clone().expect("an HTML part");
        assert!(html.contains("Casey Customer") && html.contains("/i/"), "{html}");
        let link = mail.link("/i/").expect("a personal link");

        // The respondent tries to point the write-back at another Case.
        let other = seed(&s.sf, &s.org, "Case", json!({ "Subject": "Someone else's", "Status": "New" })).await;
        let r = answer(&s.sf.app, &link, "9", &[("e.record_id", other.as_str())]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        crate::helpers::until(&s.sf, s.project, "the answer delivered", |c| c.delivered == 1).await;
        assert_eq!(record(&s.sf, &s.org, "Case", &case).await["Survey_Score__c"], json!(9.0), "the score is on the Case that triggered the invitation");
        assert_eq!(record(&s.sf, &s.org, "Case", &other).await["Survey_Score__c"], Value::Null, "a forged record id in the form writes nothing");

        // The log tells the story.
        let rows = log_rows(&s).await;
        assert_eq!(rows.len(), 1, "the write-back onto the closed Case is no new closing: {rows:?}");
        assert_eq!(rows[0].status, store::triggers::NotificationStatus::Responded);
        assert_eq!(rows[0].record_id.as_deref(), Some(case.as_str()));
        assert_eq!(rows[0].recipient.as_deref(), Some(customer.as_str()));

        // The same link again is refused kindly and stores nothing more.
        let again = Browser::new(&s.sf.app);
        let path = &link[link.find("/i/").unwrap()..];
        let (status, html) = again.get_text(path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"answered-before\""), "{html}");
        let r = again.post_form(path, &[("_rid", "R_0123456789012345678901"), ("_started", "0"), ("q1", "0")]).await;
        assert!(r.text().await.unwrap().contains("answered-before"));
        assert_eq!(s.sf.app.store.delivery_counts(s.project).await.unwrap().delivered, 1, "no second response");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(smtp.mails_to(&customer).len(), 1, "exactly one mail");
    }
}

#[tokio::test]
async fn replays_and_retries_send_one_mail_and_foreign_or_forged_messages_record_nothing() {
    for sf in crate::helpers::apps_with_emulator().await {
        let s = setup(sf).await;
        let contact = seed(&s.sf, &s.org, "Contact", json!({ "LastName": "Jones", "Email": "pat@customer.example" })).await;
        let case = seed(&s.sf, &s.org, "Case", json!({ "Subject": "Late", "Status": "Closed", "ContactId": contact })).await;
        let closed: &[(&str, &str)] = &[("ContactId", contact.as_str()), ("CaseNumber", "00001001"), ("Status", "Closed")];
        let open: &[(&str, &str)] = &[("ContactId", contact.as_str()), ("CaseNumber", "00001002"), ("Status", "New")];
        let body = envelope(&s.org, &[("04l000000000001AAA", &case, closed), ("04l000000000002AAA", &case, open)]);

        // Salesforce retries: the same envelope three times, and once out of order.
        for _ in 0..3 {
            let (status, reply) = post_envelope(&s.endpoint, body.clone()).await;
            assert_eq!(status, StatusCode::OK, "{reply}");
            assert!(reply.contains("<Ack>true</Ack>"), "{reply}");
        }
        let reversed = envelope(&s.org, &[("04l000000000002AAA", &case, open), ("04l000000000001AAA", &case, closed)]);
        assert_eq!(post_envelope(&s.endpoint, reversed).await.0, StatusCode::OK);
        let rows = settled(&s, 2).await;
        assert_eq!(rows.len(), 2, "each notification recorded once: {rows:?}");
        let skipped = rows.iter().find(|r| r.notification_id.starts_with("04l000000000002")).unwrap();
        assert_eq!(skipped.status, store::triggers::NotificationStatus::Skipped);
        assert_eq!(skipped.reason.as_deref(), Some("the condition Status = Closed is not met"));
        s.sf.app.nth_mail_to("pat@customer.example", 1).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(s.sf.app.mails_to("pat@customer.example").len(), 1, "one mail, however often Salesforce sends it");

        // Refused with a SOAP fault, and nothing recorded.
        let other_org = s.sf.emulator.orgs().into_iter().find(|o| !o.2).unwrap().0;
        let fresh = |id: &str| envelope(&s.org, &[(id, &case, closed)]);
        let cases: Vec<(&str, String, String, StatusCode)> = vec![
            ("another org", s.endpoint.clone(), envelope(&other_org, &[("04l000000000003AAA", &case, closed)]), StatusCode::FORBIDDEN),
            ("an unknown token", format!("{}/salesforce/outbound/{}", s.sf.app.url, "0".repeat(48)), fresh("04l000000000004AAA"), StatusCode::NOT_FOUND),
            ("malformed XML", s.endpoint.clone(), fresh("04l000000000005AAA").replace("</Notification>", ""), StatusCode::BAD_REQUEST),
            (
                "a DTD with an entity",
                s.endpoint.clone(),
                fresh("04l000000000006AAA").replacen("?>", "?><!DOCTYPE x [<!ENTITY e \"boom\">]>", 1),
                StatusCode::BAD_REQUEST,
            ),
            ("not an outbound message", s.endpoint.clone(), "<hello/>".to_string(), StatusCode::BAD_REQUEST),
            ("a body over the limit", s.endpoint.clone(), fresh("04l000000000007AAA").replace("00001001", &"x".repeat(2 * 1024 * 1024)), StatusCode::PAYLOAD_TOO_LARGE),
        ];
        for (story, url, body, expected) in cases {
            let (status, reply) = post_envelope(&url, body).await;
            assert_eq!(status, expected, "{story}: {reply}");
            assert!(reply.contains("faultstring"), "{story} gets a SOAP fault: {reply}");
            assert!(!reply.contains("<Ack>true"), "{story}");
        }
        assert_eq!(log_rows(&s).await.len(), 2, "nothing refused was recorded");

        // A regenerated URL: the old one stops working at once.
        let page = format!("/projects/{}/salesforce/trigger", s.project);
        assert_eq!(s.owner.submit(&page, &format!("{page}/token"), &[]).await.status(), StatusCode::SEE_OTHER);
        let (status, _) = post_envelope(&s.endpoint, fresh("04l000000000008AAA")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "the old URL is refused");
        let (_, html) = s.owner.get_text(&page).await;
        let new_endpoint = between(&html, "id=\"endpoint-url\">", "<").unwrap();
        assert_ne!(new_endpoint, s.endpoint);
        assert_eq!(post_envelope(&new_endpoint, fresh("04l000000000009AAA")).await.0, StatusCode::OK);
    }
}

/// Whoever holds the endpoint URL can post a message that looks like
/// Salesforce's; Insight acts only on what the owner's org says.
#[tokio::test]
async fn a_forged_message_mails_only_whom_the_org_names_and_only_when_the_org_agrees() {
    for sf in crate::helpers::apps_with_emulator().await {
        let s = setup(sf).await;
        let customer = seed(&s.sf, &s.org, "Contact", json!({ "LastName": "Real", "Email": "real@customer.example" })).await;
        let stranger = seed(&s.sf, &s.org, "Contact", json!({ "LastName": "Target", "Email": "target@elsewhere.example" })).await;
        let case = seed(&s.sf, &s.org, "Case", json!({ "Subject": "Still open", "Status": "New", "ContactId": customer })).await;
        let forged: &[(&str, &str)] = &[("ContactId", stranger.as_str()), ("Subject", "Forged"), ("Status", "Closed")];

        // The org says the Case is not closed; a record the org does not have is nothing.
        post_envelope(&s.endpoint, envelope(&s.org, &[("04l000000000601AAA", &case, forged), ("04l000000000602AAA", "500000000000099AAA", forged)])).await;
        let rows = settled(&s, 2).await;
        let reason = |id: &str| rows.iter().find(|r| r.notification_id.starts_with(id)).and_then(|r| r.reason.clone()).unwrap();
        assert_eq!(reason("04l000000000601"), "the condition Status = Closed is not met", "{rows:?}");
        assert!(reason("04l000000000602").starts_with("the record is not in the org"), "{rows:?}");

        // Once the org has it closed, the invitation goes to the Case's own
        // Contact, with the org's values, whatever the message claimed.
        let url = format!("{}/orgs/{}/browser/Case/{case}", s.sf.emulator.admin_url(), s.org);
        let r = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap().post(url).form(&[("Status", "Closed")]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        post_envelope(&s.endpoint, envelope(&s.org, &[("04l000000000603AAA", &case, forged)])).await;
        let mail = s.sf.app.nth_mail_to("real@customer.example", 1).await;
        assert!(mail.subject.contains("Still open"), "the org's Subject, not the message's: {}", mail.subject);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(s.sf.app.mails_to("target@elsewhere.example").is_empty(), "nobody the org does not name is mailed");
    }
}

#[tokio::test]
async fn expired_links_say_so_and_unsubscribing_stops_the_next_invitation() {
    for sf in crate::helpers::apps_with_emulator().await {
        let s = setup(sf).await;
        let contact = seed(&s.sf, &s.org, "Contact", json!({ "LastName": "Lee", "Email": "lee@customer.example" })).await;
        let case = seed(&s.sf, &s.org, "Case", json!({ "Subject": "Slow", "Status": "Closed", "ContactId": contact })).await;
        let fields: &[(&str, &str)] = &[("ContactId", contact.as_str()), ("CaseNumber", "00002001"), ("Status", "Closed")];
        assert_eq!(post_envelope(&s.endpoint, envelope(&s.org, &[("04l000000000101AAA", &case, fields)])).await.0, StatusCode::OK);
        let mail = s.sf.app.nth_mail_to("lee@customer.example", 1).await;
        let link = mail.link("/i/").unwrap();
        let path = link[link.find("/i/").unwrap()..].to_string();

        // An expired link says so, and takes no answer.
        sqlx::query("UPDATE trigger_notifications SET expires_at = 1").execute(s.sf.app.store.pool()).await.unwrap();
        let respondent = Browser::new(&s.sf.app);
        let (status, html) = respondent.get_text(&path).await;
        assert_eq!(status, StatusCode::GONE);
        assert!(html.contains("id=\"invitation-expired\""));
        let r = respondent.post_form(&path, &[("_rid", "R_0123456789012345678901"), ("_started", "0"), ("q1", "5")]).await;
        assert_eq!(r.status(), StatusCode::GONE);
        assert_eq!(s.sf.app.store.delivery_counts(s.project).await.unwrap(), Default::default(), "nothing stored");

        // A guessed token is nothing.
        assert_eq!(respondent.get("/i/0123456789abcdef0123456789abcdef0123456789abcdef").await.status(), StatusCode::NOT_FOUND);

        // Unsubscribing: a GET only asks, the POST (or the mail client's one-click) does it.
        let unsubscribe = mail.link("/unsubscribe").unwrap();
        let unsubscribe = &unsubscribe[unsubscribe.find("/i/").unwrap()..];
        let (status, html) = respondent.get_text(unsubscribe).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"unsubscribe\""));
        let r = respondent.post_form(unsubscribe, &[("List-Unsubscribe", "One-Click")]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(post_envelope(&s.endpoint, envelope(&s.org, &[("04l000000000102AAA", &case, fields)])).await.0, StatusCode::OK);
        let rows = settled(&s, 2).await;
        assert_eq!(rows[0].status, store::triggers::NotificationStatus::OptedOut, "{rows:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(s.sf.app.mails_to("lee@customer.example").len(), 1, "an address that opted out is not mailed again");
    }
}

#[tokio::test]
async fn frequency_rules_suppress_and_name_the_rule() {
    for sf in crate::helpers::apps_with_emulator().await {
        let s = setup(sf).await;
        let page = format!("/projects/{}/salesforce/trigger", s.project);
        let form = trigger_form("Status = Closed", &[("frequency_max", "1"), ("frequency_days", "30")]);
        assert_eq!(s.owner.submit(&page, &page, &form).await.status(), StatusCode::SEE_OTHER);
        let contact = seed(&s.sf, &s.org, "Contact", json!({ "LastName": "Often", "Email": "often@customer.example" })).await;
        let case = seed(&s.sf, &s.org, "Case", json!({ "Subject": "Again", "Status": "Closed", "ContactId": contact })).await;
        let fields: &[(&str, &str)] = &[("ContactId", contact.as_str()), ("CaseNumber", "00003001"), ("Status", "Closed")];
        post_envelope(&s.endpoint, envelope(&s.org, &[("04l000000000201AAA", &case, fields)])).await;
        settled(&s, 1).await;
        post_envelope(&s.endpoint, envelope(&s.org, &[("04l000000000202AAA", &case, fields)])).await;
        let rows = settled(&s, 2).await;
        assert_eq!(rows[0].status, store::triggers::NotificationStatus::Suppressed);
        assert_eq!(rows[0].reason.as_deref(), Some("suppressed by the rule at most 1 invitation every 30 days per recipient for this survey"));
        let (_, html) = s.owner.get_text(&page).await;
        assert!(html.contains("suppressed by the rule at most 1 invitation every 30 days"), "the log on the page names the rule");
        let csv = s.owner.get(&format!("{page}/log.csv")).await.text().await.unwrap();
        assert!(csv.lines().next().unwrap().starts_with("notification_id,object,record_id,recipient"));
        assert_eq!(csv.lines().count(), 3, "{csv}");
        // Two notifications for one person in one envelope: the rule counts both.
        let twice = seed(&s.sf, &s.org, "Contact", json!({ "LastName": "Twice", "Email": "twice@customer.example" })).await;
        let their_case = seed(&s.sf, &s.org, "Case", json!({ "Subject": "Twice", "Status": "Closed", "ContactId": twice })).await;
        let both: &[(&str, &str)] = &[("ContactId", twice.as_str()), ("Status", "Closed")];
        post_envelope(&s.endpoint, envelope(&s.org, &[("04l000000000203AAA", &their_case, both), ("04l000000000204AAA", &their_case, both)])).await;
        let rows = settled(&s, 4).await;
        let statuses: Vec<_> = rows.iter().filter(|r| r.recipient.as_deref() == Some("twice@customer.example")).map(|r| r.status).collect();
        assert_eq!(statuses.iter().filter(|st| **st == store::triggers::NotificationStatus::Invited).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|st| **st == store::triggers::NotificationStatus::Suppressed).count(), 1, "{statuses:?}");
    }
}

#[tokio::test]
async fn only_the_owner_or_a_granted_editor_changes_a_trigger() {
    for sf in crate::helpers::apps_with_emulator().await {
        let s = setup(sf).await;
        let page = format!("/projects/{}/salesforce/trigger", s.project);
        let editor = Browser::new(&s.sf.app);
        editor.sign_up("eddie@example.com", "Eddie Editor").await;
        s.owner.share(&editor, s.project, &[("email", "eddie@example.com"), ("role", "editor")]).await;
        let (status, html) = editor.get_text(&page).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"trigger-read-only\""));
        assert!(!html.contains("/salesforce/outbound/"), "a collaborator without the grant never sees the endpoint URL");
        let csrf = crate::helpers::csrf_in(&html).unwrap();
        let mut form = trigger_form("", &[("subject", "Hijacked {{survey_link}}")]);
        form.push(("csrf", &csrf));
        assert_eq!(editor.post_form(&page, &form).await.status(), StatusCode::FORBIDDEN);
        for action in ["token", "delete", "test"] {
            assert_eq!(editor.post_form(&format!("{page}/{action}"), &[("csrf", &csrf)]).await.status(), StatusCode::FORBIDDEN, "{action}");
        }
        let stranger = Browser::new(&s.sf.app);
        stranger.sign_up("sam@example.com", "Sam Stranger").await;
        assert_eq!(stranger.get(&page).await.status(), StatusCode::NOT_FOUND);
        // Nothing changed: the endpoint still works.
        let rows_before = log_rows(&s).await.len();
        let (status, _) = post_envelope(&s.endpoint, envelope(&s.org, &[("04l000000000301AAA", "500000000000001AAA", &[("Status", "New")])])).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(settled(&s, rows_before + 1).await.len(), rows_before + 1);
    }
}

#[tokio::test]
async fn a_form_with_a_mistake_keeps_what_was_typed_and_says_what_to_fix() {
    for sf in crate::helpers::apps_with_emulator().await {
        let s = setup(sf).await;
        let page = format!("/projects/{}/salesforce/trigger", s.project);
        let form = trigger_form("Status is Closed", &[("subject", "A subject kept as typed")]);
        let r = s.owner.submit(&page, &page, &form).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text().await.unwrap();
        assert!(html.contains("is not a condition"), "{html}");
        assert!(html.contains("A subject kept as typed"));
        let body_without_link = trigger_form("", &[("body", "no link")]);
        let r = s.owner.submit(&page, &page, &body_without_link).await;
        assert!(r.text().await.unwrap().contains("must contain {{survey_link}}"));
        // Checked against the owner's org: the object and every field it names.
        let r = s.owner.submit(&page, &page, &trigger_form("", &[("embedded", "CaseNumber, Mood__c")])).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("Case has no field Mood__c"));
        let r = s.owner.submit(&page, &page, &trigger_form("", &[("lookup_field", "Subject")])).await;
        assert!(r.text().await.unwrap().contains("Subject is a"), "a lookup must be a reference field");
        let r = s.owner.submit(&page, &page, &trigger_form("", &[("object", "Nope__c")])).await;
        assert!(r.text().await.unwrap().contains("has no object Nope__c"));
        // Nothing of it was saved.
        let (_, html) = s.owner.get_text(&page).await;
        assert!(html.contains("value=\"Status = Closed\""), "the saved condition is unchanged");
    }
}

#[tokio::test]
async fn a_delayed_invitation_waits_a_reminder_goes_once_and_a_test_goes_to_me() {
    for sf in crate::helpers::apps_with_emulator().await {
        let s = setup(sf).await;
        let page = format!("/projects/{}/salesforce/trigger", s.project);
        let contact = seed(&s.sf, &s.org, "Contact", json!({ "LastName": "Later", "Email": "later@customer.example" })).await;
        let case = seed(&s.sf, &s.org, "Case", json!({ "Subject": "Wait", "Status": "Closed", "ContactId": contact })).await;
        let fields: &[(&str, &str)] = &[("ContactId", contact.as_str()), ("Subject", "Wait"), ("Status", "Closed")];

        // After 2 hours: recorded and scheduled, not mailed now.
        let form = trigger_form("Status = Closed", &[("delay_unit", "hours"), ("delay_amount", "2"), ("reminder_days", "3")]);
        assert_eq!(s.owner.submit(&page, &page, &form).await.status(), StatusCode::SEE_OTHER);
        post_envelope(&s.endpoint, envelope(&s.org, &[("04l000000000401AAA", &case, fields)])).await;
        let rows = settled(&s, 1).await;
        assert_eq!(rows[0].status, store::triggers::NotificationStatus::Invited);
        let send_at = rows[0].send_at.unwrap();
        assert!(send_at >= rows[0].received_at + 2 * 3600 * 1000, "sent two hours after the notification");
        let (_, html) = s.owner.get_text(&page).await;
        assert!(html.contains("data-status=\"scheduled\""), "the log says scheduled");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(s.sf.app.mails_to("later@customer.example").is_empty(), "not before its time");

        // Its time comes (moved here rather than waited for): one invitation,
        // then, three days on, one reminder with the same link.
        sqlx::query("UPDATE mail_outbox SET not_before = 0").execute(s.sf.app.store.pool()).await.unwrap();
        let first = s.sf.app.nth_mail_to("later@customer.example", 1).await;
        sqlx::query("UPDATE trigger_notifications SET remind_at = 1").execute(s.sf.app.store.pool()).await.unwrap();
        let reminder = s.sf.app.nth_mail_to("later@customer.example", 2).await;
        assert_eq!(reminder.subject, format!("Reminder: {}", first.subject));
        assert_eq!(reminder.link("/i/"), first.link("/i/"), "the reminder carries the same personal link");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(s.sf.app.mails_to("later@customer.example").len(), 2, "one reminder only");

        // Send a test: through the whole path, to the owner's own address.
        let r = s.owner.submit(&page, &format!("{page}/test"), &[("record_id", &case), ("f.ContactId", &contact), ("f.Subject", "Test case"), ("f.Status", "Closed")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        let test = s.sf.app.nth_mail_to("olive@example.com", 2).await;
        assert!(test.subject.contains("Test case"), "{}", test.subject);
        let rows = log_rows(&s).await;
        assert!(rows[0].is_test);
        assert!(s.sf.app.mails_to("later@customer.example").len() == 2, "a test never mails the customer");
        // A test record id that is not one is refused.
        let r = s.owner.submit(&page, &format!("{page}/test"), &[("record_id", "not-an-id"), ("f.Status", "Closed")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[tokio::test]
async fn a_paused_link_holds_notifications_and_says_so_then_they_go() {
    for sf in crate::helpers::apps_with_emulator().await {
        let s = setup(sf).await;
        let contact = seed(&s.sf, &s.org, "Contact", json!({ "LastName": "Held", "Email": "held@customer.example" })).await;
        let case = seed(&s.sf, &s.org, "Case", json!({ "Subject": "Held", "Status": "Closed", "ContactId": contact })).await;
        let owner_id = s.sf.app.store.account_by_email(&domain::Email::parse("olive@example.com").unwrap()).await.unwrap().unwrap().id;
        s.sf.app.store.mark_needs_reauthentication(owner_id, "test: refresh token revoked").await.unwrap();
        let fields: &[(&str, &str)] = &[("ContactId", contact.as_str()), ("Subject", "Held"), ("Status", "Closed")];
        let (status, reply) = post_envelope(&s.endpoint, envelope(&s.org, &[("04l000000000501AAA", &case, fields)])).await;
        assert_eq!(status, StatusCode::OK, "recorded and acknowledged: {reply}");
        let start = Instant::now();
        loop {
            let rows = log_rows(&s).await;
            if rows[0].status == store::triggers::NotificationStatus::Held {
                assert!(rows[0].reason.as_deref().unwrap().contains("sign-in"), "{:?}", rows[0].reason);
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "never held: {rows:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (_, html) = s.owner.get_text(&format!("/projects/{}/salesforce/trigger", s.project)).await;
        assert!(html.contains("id=\"trigger-held\""), "the trigger's page says the notifications are held");
        assert!(s.sf.app.mails_to("held@customer.example").is_empty());
        // A new sign-in releases them (the next look is moved up, not waited for).
        s.owner.link_salesforce(true, SANDBOX_USER, PASSWORD, true).await;
        sqlx::query("UPDATE trigger_notifications SET not_before = 0").execute(s.sf.app.store.pool()).await.unwrap();
        s.sf.app.nth_mail_to("held@customer.example", 1).await;
    }
}
