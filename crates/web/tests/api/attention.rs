//! My Projects at a glance: each project says plainly what needs attention
//! (a survey paused by an org switch, failed deliveries, deliveries waiting
//! for API budget, a broken mapping, a link that needs a new sign-in),
//! worded for whoever looks and linking to where it is fixed; nothing when
//! all is well. The states are made through the app's real paths and the
//! emulator. Also here: the first page a visitor sees, and the
//! getting-started checklist that ticks itself off from real state.

use crate::helpers::{answer, apps, csrf_in, mapped_survey, org, spawn_app_trusting_with, until, Browser, WithSalesforce};
use reqwest::StatusCode;
use std::time::Duration;

/// Every backend, with the emulator: no scheduled schema check (the button
/// may be pressed again at once), and an exhausted org's `/limits` read often.
async fn apps_with_emulator() -> Vec<WithSalesforce> {
    let mut all = Vec::new();
    for db in store::testing::TestDatabase::all().await {
        all.push(
            spawn_app_trusting_with(db, &[], |c| {
                c.app.schema_checks = app::schema_drift::SchemaCheckSettings { interval: Duration::ZERO, min_gap: Duration::ZERO };
                c.app.delivery_budget.probe_every = Duration::from_millis(500);
                c.app.delivery_budget.share_recheck = Duration::from_millis(200);
            })
            .await,
        );
    }
    all
}

/// The row of project `id` on My Projects, as `b` sees it.
async fn row(b: &Browser, id: i64) -> String {
    let (status, html) = b.get_text("/projects").await;
    assert_eq!(status, StatusCode::OK);
    let start = html.find(&format!("<tr data-project-id=\"{id}\"")).unwrap_or_else(|| panic!("no row for project {id}: {html}"));
    let end = html[start..].find("</tr>").unwrap() + start;
    html[start..end].to_string()
}

/// The attention line of `kind` in a row: its link and its words.
fn attention(row: &str, kind: &str) -> Option<(String, String)> {
    let start = row.find(&format!("data-attention=\"{kind}\""))?;
    let li = &row[start..row[start..].find("</li>")? + start];
    let href = li.split("href=\"").nth(1)?.split('"').next()?.replace("&amp;", "&");
    let words = li.rsplit('>').nth(1)?.split('<').next()?.to_string();
    Some((href, words))
}

fn nothing_needs_attention(row: &str) -> bool {
    !row.contains("class=\"attention\"")
}

async fn respond(sf: &WithSalesforce, link: &str, score: &str, comment: &str) -> String {
    answer(&sf.app, link, &[("q1", score), ("q2", comment)]).await
}

async fn admin(sf: &WithSalesforce, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", sf.emulator.admin_url()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

/// Vera, signed up and sharing project `id` with `role`.
async fn collaborator(sf: &WithSalesforce, owner: &Browser, id: i64, role: &str) -> Browser {
    let vera = Browser::new(&sf.app);
    vera.sign_up("vera@example.com", "Vera Viewer").await;
    owner.share(&vera, id, &[("email", "vera@example.com"), ("role", role)]).await;
    vera
}

#[tokio::test]
async fn a_survey_paused_by_an_org_switch_says_so_until_its_transition_and_a_viewer_is_told_whom_it_waits_for() {
    for sf in apps_with_emulator().await {
        let (b, id, _link) = mapped_survey(&sf).await;
        let vera = collaborator(&sf, &b, id, "viewer").await;
        assert!(nothing_needs_attention(&row(&b, id).await), "all is well: nothing shows");
        assert!(nothing_needs_attention(&row(&vera, id).await));

        b.link_salesforce(false, "demo@acme.example", "demo-password-1", true).await;
        let r = b.submit("/salesforce/switch", "/salesforce/switch/confirm", &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (href, words) = attention(&row(&b, id).await, "paused-by-switch").expect("the owner sees the pause");
        assert_eq!(href, format!("/projects/{id}/salesforce"));
        assert_eq!(words, "Paused by an org switch — run its transition");
        let (href, words) = attention(&row(&vera, id).await, "paused-by-switch").expect("the viewer sees it too");
        assert_eq!(href, format!("/projects/{id}/salesforce"));
        assert_eq!(words, "Paused by an org switch — waiting for Olive Owner's transition", "worded for someone who cannot run it");

        let panel = format!("/projects/{id}/salesforce");
        let r = b.submit(&panel, &format!("{panel}/transition"), &[("held", "send")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        assert!(nothing_needs_attention(&row(&b, id).await), "gone after the transition");
        assert!(nothing_needs_attention(&row(&vera, id).await));
    }
}

#[tokio::test]
async fn a_pinned_survey_whose_new_org_lacks_a_mapped_field_says_both() {
    for sf in apps_with_emulator().await {
        let (b, id, _link) = mapped_survey(&sf).await;
        b.link_salesforce(false, "demo@acme.example", "demo-password-1", true).await;
        b.submit("/salesforce/switch", "/salesforce/switch/confirm", &[]).await;
        let field = format!("/orgs/{}/schema/Survey_Response__c/fields/Score__c", org(&sf, false));
        admin(&sf, reqwest::Method::DELETE, &field, None).await;
        let panel = format!("/projects/{id}/salesforce");
        let (_, checked) = b.submit_and_follow(&panel, &format!("{panel}/schema-check"), &[]).await;
        assert!(checked.contains("Checked: some mapped fields changed"), "{checked}");

        let owner_row = row(&b, id).await;
        assert!(attention(&owner_row, "paused-by-switch").is_some(), "still paused: {owner_row}");
        let (href, words) = attention(&owner_row, "mapping-broken").expect("and flagged");
        assert_eq!((href.as_str(), words.as_str()), (panel.as_str(), "Salesforce fields changed — fix the mapping before the transition"));
    }
}

#[tokio::test]
async fn failed_deliveries_link_to_the_log_until_a_person_deals_with_them() {
    for sf in apps_with_emulator().await {
        let (b, id, link) = mapped_survey(&sf).await;
        let sandbox = org(&sf, true);
        let rules = serde_json::json!({ "validation_rules": [{ "object": "Survey_Response__c", "field": "Comment__c", "equals": "bad", "message": "Scores of 2 need a reason" }] });
        admin(&sf, reqwest::Method::PUT, &format!("/orgs/{sandbox}/faults"), Some(rules)).await;
        let bad = respond(&sf, &link, "2", "bad").await;
        until(&sf, id, "failed", |c| c.failed == 1).await;

        let (href, words) = attention(&row(&b, id).await, "deliveries-failed").expect("failed deliveries show");
        assert_eq!((href.as_str(), words.as_str()), (format!("/projects/{id}/salesforce/deliveries?status=failed").as_str(), "1 delivery failed"));
        let (status, log) = b.get_text(&href).await;
        assert_eq!(status, StatusCode::OK);
        assert!(log.contains(&bad), "the link leads to the failed delivery");

        let base = format!("/projects/{id}/salesforce/deliveries");
        let r = b.submit(&base, &format!("{base}/{bad}/give-up"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(nothing_needs_attention(&row(&b, id).await), "gone once given up");
    }
}

#[tokio::test]
async fn deliveries_waiting_for_api_budget_say_so_until_the_org_has_calls_again() {
    for sf in apps_with_emulator().await {
        let (b, id, link) = mapped_survey(&sf).await;
        let vera = collaborator(&sf, &b, id, "editor").await;
        let sandbox = org(&sf, true);
        let usage = format!("/orgs/{sandbox}/usage");
        let max: serde_json::Value = reqwest::get(format!("{}{usage}", sf.emulator.admin_url())).await.unwrap().json().await.unwrap();
        admin(&sf, reqwest::Method::PUT, &usage, Some(serde_json::json!({ "used": max["max"] }))).await;
        respond(&sf, &link, "3", "ok").await;
        until(&sf, id, "waiting for budget", |c| c.waiting_for_budget == 1).await;

        let (href, words) = attention(&row(&b, id).await, "waiting-for-budget").expect("the owner sees the wait");
        assert_eq!((href.as_str(), words.as_str()), ("/salesforce", "1 delivery waiting for Salesforce API budget"), "the owner's budget is on their Salesforce page");
        let (href, _) = attention(&row(&vera, id).await, "waiting-for-budget").expect("the editor sees the wait");
        assert_eq!(href, format!("/projects/{id}/salesforce/deliveries?status=pending"), "a collaborator is sent to the project's log");

        admin(&sf, reqwest::Method::PUT, &usage, Some(serde_json::json!({ "used": 0 }))).await;
        until(&sf, id, "delivered after the pause", |c| c.delivered == 1 && c.pending == 0).await;
        assert!(nothing_needs_attention(&row(&b, id).await), "gone once delivered");
    }
}

#[tokio::test]
async fn a_broken_mapping_says_so_until_a_check_finds_it_fits_again() {
    for sf in apps_with_emulator().await {
        let (b, id, _link) = mapped_survey(&sf).await;
        let vera = collaborator(&sf, &b, id, "editor").await;
        let field = format!("/orgs/{}/schema/Survey_Response__c/fields/Score__c", org(&sf, true));
        admin(&sf, reqwest::Method::DELETE, &field, None).await;
        let panel = format!("/projects/{id}/salesforce");
        let (_, checked) = b.submit_and_follow(&panel, &format!("{panel}/schema-check"), &[]).await;
        assert!(checked.contains("Checked: some mapped fields changed"), "{checked}");

        let owner_row = row(&b, id).await;
        let (href, words) = attention(&owner_row, "mapping-broken").expect("the owner sees the broken mapping");
        assert_eq!((href.as_str(), words.as_str()), (panel.as_str(), "Salesforce fields changed — deliveries held"));
        assert!(owner_row.contains("data-testid=\"schema-drift\""));
        let (_, words) = attention(&row(&vera, id).await, "mapping-broken").expect("the editor sees it");
        assert_eq!(words, "Salesforce fields changed — deliveries held until Olive Owner fixes the mapping", "an editor without the owner's grant cannot fix it");

        admin(&sf, reqwest::Method::POST, &format!("/orgs/{}/schema/Survey_Response__c/restore", org(&sf, true)), None).await;
        let (_, checked) = b.submit_and_follow(&panel, &format!("{panel}/schema-check"), &[]).await;
        assert!(checked.contains("Checked: every mapped field still fits."), "{checked}");
        assert!(nothing_needs_attention(&row(&b, id).await), "gone once every mapping fits");
    }
}

#[tokio::test]
async fn a_link_that_needs_a_new_sign_in_is_the_owners_to_fix_and_a_collaborator_is_told_so() {
    for sf in apps_with_emulator().await {
        let (b, id, _link) = mapped_survey(&sf).await;
        let vera = collaborator(&sf, &b, id, "editor").await;
        let sandbox = org(&sf, true);
        admin(&sf, reqwest::Method::POST, &format!("/orgs/{sandbox}/faults/revoke-refresh-tokens"), None).await;
        admin(&sf, reqwest::Method::POST, &format!("/orgs/{sandbox}/faults/expire-tokens"), None).await;
        let (_, tested) = b.submit_and_follow("/salesforce", "/salesforce/test", &[]).await;
        assert!(tested.contains("The connection test failed"), "{tested}");

        let (href, words) = attention(&row(&b, id).await, "link-needs-sign-in").expect("the owner sees it");
        assert_eq!((href.as_str(), words.as_str()), ("/salesforce", "Your Salesforce link needs a new sign-in — Salesforce work is paused"));
        let (href, words) = attention(&row(&vera, id).await, "link-needs-sign-in").expect("the editor sees it");
        assert_eq!(href, format!("/projects/{id}/salesforce"), "not the editor's own Salesforce page: the link is not theirs");
        assert_eq!(words, "Olive Owner's Salesforce link needs a new sign-in — paused until Olive Owner signs in again");

        b.link_salesforce(true, "demo@acme.example.sandbox", "demo-password-1", true).await;
        assert!(nothing_needs_attention(&row(&b, id).await), "gone after the new sign-in");
        assert!(nothing_needs_attention(&row(&vera, id).await));
    }
}

#[tokio::test]
async fn an_owner_who_unlinks_is_asked_to_link_again_and_responses_wait_meanwhile() {
    for sf in apps_with_emulator().await {
        let (b, id, link) = mapped_survey(&sf).await;
        let vera = collaborator(&sf, &b, id, "viewer").await;
        let r = b.submit("/salesforce", "/salesforce/unlink", &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        respond(&sf, &link, "8", "ok").await;
        until(&sf, id, "held without a link", |c| c.held == 1).await;

        let (href, words) = attention(&row(&b, id).await, "owner-has-no-link").expect("the owner sees it");
        assert_eq!((href.as_str(), words.as_str()), ("/salesforce", "Salesforce is not linked — deliveries are held until you link it (1 delivery held)"));
        let (href, words) = attention(&row(&vera, id).await, "owner-has-no-link").expect("the viewer sees it");
        assert_eq!((href, words.as_str()), (format!("/projects/{id}/salesforce"), "Olive Owner (the owner) has not linked Salesforce — deliveries are held (1 delivery held)"));

        b.link_salesforce(true, "demo@acme.example.sandbox", "demo-password-1", true).await;
        until(&sf, id, "delivered once linked again", |c| c.delivered == 1 && c.held == 0).await;
        assert!(nothing_needs_attention(&row(&b, id).await), "gone once linked and delivered");
        assert!(nothing_needs_attention(&row(&vera, id).await));
    }
}

#[tokio::test]
async fn a_stranger_sees_no_row_and_no_attention_of_anothers_project() {
    for sf in apps_with_emulator().await {
        let (b, id, _link) = mapped_survey(&sf).await;
        b.link_salesforce(false, "demo@acme.example", "demo-password-1", true).await;
        b.submit("/salesforce/switch", "/salesforce/switch/confirm", &[]).await;
        assert!(attention(&row(&b, id).await, "paused-by-switch").is_some());
        let sam = Browser::new(&sf.app);
        sam.sign_up("sam@example.com", "Sam Stranger").await;
        let (_, html) = sam.get_text("/projects").await;
        assert!(!html.contains(&format!("data-project-id=\"{id}\"")) && !html.contains("Paused") && !html.contains(">Post-case CSAT<") && !html.contains("class=\"attention\""), "{html}");
    }
}

#[tokio::test]
async fn a_stranger_sees_what_insight_is_and_a_signed_in_account_lands_on_my_projects() {
    for app in apps().await {
        let visitor = Browser::new(&app);
        let (status, html) = visitor.get_text("/").await;
        assert_eq!(status, StatusCode::OK, "the first page, not a redirect");
        assert!(html.contains("id=\"landing\""), "{html}");
        assert!(html.contains("right Salesforce record") && html.contains("Invitations from Salesforce events") && html.contains("Sandbox or production"));
        assert!(html.contains("href=\"/signup\"") && html.contains("href=\"/signin\""));
        assert!(!html.contains("http://") && !html.contains("https://"), "no external asset or link");

        visitor.sign_up("ada@example.com", "Ada").await;
        let r = visitor.get("/").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/projects");
    }
}

/// The checklist's step `step` on My Projects: (done, where it links).
fn step(html: &str, step: &str) -> (bool, Option<String>) {
    let start = html.find(&format!("data-step=\"{step}\"")).unwrap_or_else(|| panic!("no step {step}: {html}"));
    let li = &html[start..html[start..].find("</li>").unwrap() + start];
    let href = li.split("href=\"").nth(1).map(|h| h.split('"').next().unwrap().to_string());
    (li.contains("data-done=\"true\""), href)
}

#[tokio::test]
async fn the_checklist_ticks_itself_off_from_real_state_and_hides_on_request() {
    for sf in apps_with_emulator().await {
        let b = Browser::new(&sf.app);
        b.sign_up("olive@example.com", "Olive Owner").await;
        let (_, html) = b.get_text("/projects").await;
        assert!(html.contains("id=\"getting-started\""), "a new account sees the checklist");
        for s in ["link-salesforce", "map-responses", "publish-survey", "trigger-invitations"] {
            assert!(!step(&html, s).0, "{s} is not done yet");
        }
        assert_eq!(step(&html, "link-salesforce").1.as_deref(), Some("/salesforce/link"));
        assert_eq!(step(&html, "publish-survey").1.as_deref(), Some("/projects#new-project"), "no project yet: create one first");

        // Clicking a step's link ticks nothing: only doing it does.
        b.get_text("/salesforce/link").await;
        assert!(!step(&b.get_text("/projects").await.1, "link-salesforce").0);

        let id = b.create_project("Post-case CSAT").await;
        let (_, html) = b.get_text("/projects").await;
        assert_eq!(step(&html, "publish-survey").1, Some(format!("/projects/{id}/survey")));
        assert_eq!(step(&html, "map-responses").1, Some(format!("/projects/{id}/salesforce")));
        assert_eq!(step(&html, "trigger-invitations").1, Some(format!("/projects/{id}/salesforce/trigger")));

        b.link_salesforce(true, "demo@acme.example.sandbox", "demo-password-1", true).await;
        crate::helpers::map_survey_responses(&b, id).await;
        b.publish(id).await;
        let (_, html) = b.get_text("/projects").await;
        assert!(step(&html, "link-salesforce").0 && step(&html, "map-responses").0 && step(&html, "publish-survey").0);
        assert!(!step(&html, "trigger-invitations").0);

        // Hiding needs the session's CSRF token: without it, refused and nothing changes.
        let r = b.post_form("/getting-started/hide", &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = b.post_form("/getting-started/hide", &[("csrf", "not-the-token")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let (_, html) = b.get_text("/projects").await;
        assert!(html.contains("id=\"getting-started\""), "still shown");

        let csrf = csrf_in(&html).unwrap();
        let r = b.post_form("/getting-started/hide", &[("csrf", &csrf)]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/projects");
        let (_, html) = b.get_text("/projects").await;
        assert!(!html.contains("id=\"getting-started\""), "hidden for good");
    }
}

#[tokio::test]
async fn the_checklist_goes_once_every_step_is_done() {
    for sf in apps_with_emulator().await {
        let (b, id, _link) = mapped_survey(&sf).await;
        let (_, html) = b.get_text("/projects").await;
        assert!(!step(&html, "trigger-invitations").0);
        let page = format!("/projects/{id}/salesforce/trigger");
        let form = [
            ("object", "Case"),
            ("recipient_kind", "contact_lookup"),
            ("lookup_field", "ContactId"),
            ("email_field", ""),
            ("name_field", ""),
            ("embedded", "CaseNumber"),
            ("condition", "Status = Closed"),
            ("sender_name", "Acme Support"),
            ("subject", "How did we do?"),
            ("body", "Hello {{recipient_name}},\n\n{{survey_link}}\n"),
            ("delay_unit", "now"),
            ("delay_amount", ""),
            ("reminder_days", ""),
            ("link_valid_days", "90"),
            ("frequency_max", ""),
            ("frequency_days", ""),
        ];
        let r = b.submit(&page, &page, &form).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        let (_, html) = b.get_text("/projects").await;
        assert!(!html.contains("id=\"getting-started\""), "all four done: the checklist is gone");
    }
}
