//! Mappings that survive change: an admin deletes, retypes or locks a mapped
//! field in Salesforce after the mapping was saved. The schema check (the
//! button on the project's Salesforce page, or the scheduled one) flags the
//! mapping with what changed and holds its deliveries — nothing reaches
//! the org, nothing is lost — until every mapping fits again.

use crate::helpers::{answer, mapped_draft, mapped_survey, org, records, spawn_app_trusting_with, until, Browser, WithSalesforce};
use reqwest::StatusCode;
use std::time::Duration;
use store::testing::TestDatabase;

/// Every backend, with the emulator, and the schema check's settings as given.
async fn apps_checking(settings: app::schema_drift::SchemaCheckSettings) -> Vec<WithSalesforce> {
    let mut all = Vec::new();
    for db in TestDatabase::all().await {
        all.push(spawn_app_trusting_with(db, &[], |c| c.app.schema_checks = settings).await);
    }
    all
}

/// No scheduled check, and the button may be pressed again at once.
async fn apps() -> Vec<WithSalesforce> {
    apps_checking(app::schema_drift::SchemaCheckSettings { interval: Duration::ZERO, min_gap: Duration::ZERO }).await
}

async fn respond(sf: &WithSalesforce, link: &str, score: &str) -> String {
    answer(&sf.app, link, &[("q1", score), ("q2", "fine")]).await
}

/// An admin's change in the emulator's Setup, on the sandbox org's survey object.
async fn setup(sf: &WithSalesforce, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) {
    setup_in(sf, &org(sf, true), method, path, body).await
}

async fn setup_in(sf: &WithSalesforce, org_id: &str, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) {
    let url = format!("{}/orgs/{org_id}/schema/Survey_Response__c/{path}", sf.emulator.admin_url());
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}: {}", r.text().await.unwrap());
}

async fn check_now(b: &Browser, id: i64) -> (StatusCode, String) {
    let panel = format!("/projects/{id}/salesforce");
    let r = b.submit(&panel, &format!("{panel}/schema-check"), &[]).await;
    if r.status() != StatusCode::SEE_OTHER {
        // Refused, with the reason on the page.
        return (r.status(), r.text().await.unwrap());
    }
    // Checked: the Salesforce page it leads to says what was found, once.
    let (status, page) = b.follow(r).await;
    assert!(page.contains("Checked: "), "{page}");
    let (_, again) = b.get_text(&panel).await;
    assert!(!again.contains("Checked: "), "said once, not on a reload");
    (status, page)
}

fn records_of(recs: &[serde_json::Value], rid: &str) -> usize {
    recs.iter().filter(|r| r["External_Id__c"] == rid).count()
}

#[tokio::test]
async fn a_field_deleted_in_salesforce_holds_new_responses_until_it_is_restored() {
    for sf in apps().await {
        let (b, id, link) = mapped_survey(&sf).await;
        let sandbox = org(&sf, true);
        let first = respond(&sf, &link, "9").await;
        until(&sf, id, "the first delivered", |c| c.delivered == 1).await;
        assert_eq!(records_of(&records(&sf, &sandbox).await, &first), 1);

        setup(&sf, reqwest::Method::DELETE, "fields/Score__c", None).await;
        let (status, page) = check_now(&b, id).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("Survey_Response__c.Score__c was deleted in Salesforce"), "{page}");
        assert!(page.contains("deliveries are held until this is fixed"), "{page}");

        // A response now is held, saying what drifted, and nothing reaches the org.
        let second = respond(&sf, &link, "3").await;
        until(&sf, id, "the second held", |c| c.held == 1).await;
        assert_eq!(records_of(&records(&sf, &sandbox).await, &second), 0, "no record while the field is gone");
        let held = sf.app.store.delivery_of(id, &second).await.unwrap().unwrap();
        assert!(held.note.as_deref().unwrap_or_default().contains("Survey_Response__c.Score__c was deleted in Salesforce"), "{held:?}");
        let (_, detail) = b.get_text(&format!("/projects/{id}/responses/{second}")).await;
        assert!(detail.contains("Score__c was deleted in Salesforce"), "the response's page says why it is held");
        let (_, projects) = b.get_text("/projects").await;
        assert!(projects.contains("Salesforce fields changed — deliveries held") && projects.contains(&format!("href=\"/projects/{id}/salesforce\"")), "{projects}");

        // The admin restores the field; the next check sends what was held.
        setup(&sf, reqwest::Method::POST, "restore", None).await;
        let (status, page) = check_now(&b, id).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("All mapped fields still fit (checked at"), "{page}");
        until(&sf, id, "the held one delivered", |c| c.delivered == 2 && c.held == 0).await;
        let recs = records(&sf, &sandbox).await;
        assert_eq!(records_of(&recs, &second), 1, "the held response reached the org");
        assert_eq!(recs.iter().find(|r| r["External_Id__c"] == second.as_str()).unwrap()["Score__c"], 3.0);
        let (_, projects) = b.get_text("/projects").await;
        assert!(!projects.contains("Salesforce fields changed"), "the flag is gone");
    }
}

#[tokio::test]
async fn the_scheduled_check_flags_a_deleted_field_without_the_button() {
    let every_two_seconds = app::schema_drift::SchemaCheckSettings { interval: Duration::from_secs(2), min_gap: Duration::ZERO };
    for sf in apps_checking(every_two_seconds).await {
        let (b, id, _link) = mapped_survey(&sf).await;
        setup(&sf, reqwest::Method::DELETE, "fields/Comment__c", None).await;
        // Bounded wait for the background check; the bound is no speed claim.
        let start = std::time::Instant::now();
        // The check writes its reason first, then stops counting the survey
        // as validated: both are waited for.
        let drift = loop {
            let drift = sf.app.store.schema_check(id).await.unwrap().drift;
            let validated = sf.app.store.integration(id).await.unwrap().unwrap().validated_org_id;
            if let (Some(drift), None) = (drift, validated) {
                break drift;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "the scheduled check never flagged the mapping and held it (no longer validated)");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(drift[0].changes, ["Survey_Response__c.Comment__c was deleted in Salesforce (or renamed)."]);
        let (_, projects) = b.get_text("/projects").await;
        assert!(projects.contains("Salesforce fields changed — deliveries held"), "{projects}");
        let (_, page) = b.get_text(&format!("/projects/{id}/salesforce")).await;
        assert!(page.contains("Survey_Response__c.Comment__c was deleted in Salesforce"), "{page}");
    }
}

#[tokio::test]
async fn a_type_change_and_a_read_only_field_are_flagged_in_their_own_words() {
    for sf in apps().await {
        let (b, id, link) = mapped_survey(&sf).await;
        setup(&sf, reqwest::Method::PUT, "fields/Score__c/type", Some(serde_json::json!({ "type": "boolean" }))).await;
        setup(&sf, reqwest::Method::POST, "fields/Comment__c/read-only", None).await;
        let (status, page) = check_now(&b, id).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("Survey_Response__c.Score__c changed type in Salesforce: it is now a boolean field."), "{page}");
        assert!(page.contains("Survey_Response__c.Comment__c was made read-only in Salesforce"), "{page}");
        let rid = respond(&sf, &link, "7").await;
        until(&sf, id, "held", |c| c.held == 1).await;
        assert_eq!(records_of(&records(&sf, &org(&sf, true)).await, &rid), 0);
    }
}

#[tokio::test]
async fn a_viewer_or_a_stranger_cannot_run_the_check() {
    for sf in apps().await {
        let (owner, id) = mapped_draft(&sf).await;
        setup(&sf, reqwest::Method::DELETE, "fields/Score__c", None).await;
        let viewer = Browser::new(&sf.app);
        viewer.sign_up("vic@example.com", "Vic Viewer").await;
        owner.share(&viewer, id, &[("email", "vic@example.com"), ("role", "viewer")]).await;
        let (status, _) = check_now(&viewer, id).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (_, page) = viewer.get_text(&format!("/projects/{id}/salesforce")).await;
        assert!(!page.contains("Check Salesforce fields now"), "a viewer is not offered the button");

        let stranger = Browser::new(&sf.app);
        stranger.sign_up("sid@example.com", "Sid Stranger").await;
        let r = stranger.submit("/projects", &format!("/projects/{id}/salesforce/schema-check"), &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);

        let check = sf.app.store.schema_check(id).await.unwrap();
        assert!(check.checked_at.is_none() && check.drift.is_none(), "nothing was checked: {check:?}");
        assert!(sf.app.store.integration(id).await.unwrap().unwrap().validated_org_id.is_some(), "still validated");
    }
}

#[tokio::test]
async fn a_second_check_within_seconds_is_refused() {
    let ten_seconds = app::schema_drift::SchemaCheckSettings { interval: Duration::ZERO, min_gap: Duration::from_secs(10) };
    for sf in apps_checking(ten_seconds).await {
        let (b, id) = mapped_draft(&sf).await;
        let (status, page) = check_now(&b, id).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        setup(&sf, reqwest::Method::DELETE, "fields/Score__c", None).await;
        let (status, page) = check_now(&b, id).await;
        assert_eq!(status, StatusCode::CONFLICT, "{page}");
        assert!(page.contains("checked less than 10 seconds ago"), "{page}");
        assert!(sf.app.store.schema_check(id).await.unwrap().drift.is_none(), "the refused check changed nothing");
    }
}

#[tokio::test]
async fn a_response_refused_for_a_deleted_field_before_the_check_is_held_by_it_and_sent_after_the_fix() {
    for sf in apps().await {
        let (b, id, link) = mapped_survey(&sf).await;
        setup(&sf, reqwest::Method::DELETE, "fields/Score__c", None).await;
        // Before any check, the delivery still names the field, and
        // Salesforce refuses it with its own words.
        let rid = respond(&sf, &link, "8").await;
        until(&sf, id, "refused", |c| c.failed == 1).await;
        let failed = sf.app.store.delivery_of(id, &rid).await.unwrap().unwrap();
        assert!(failed.last_error.as_deref().unwrap_or_default().contains("No such column 'Score__c' on sobject of type Survey_Response__c"), "{failed:?}");

        let (status, _) = check_now(&b, id).await;
        assert_eq!(status, StatusCode::OK);
        until(&sf, id, "held by the check", |c| c.held == 1 && c.failed == 0).await;
        setup(&sf, reqwest::Method::POST, "restore", None).await;
        check_now(&b, id).await;
        until(&sf, id, "delivered after the fix", |c| c.delivered == 1 && c.held == 0).await;
        assert_eq!(records_of(&records(&sf, &org(&sf, true)).await, &rid), 1);
    }
}

#[tokio::test]
async fn a_survey_pinned_by_a_switch_keeps_its_pin_and_is_only_flagged() {
    for sf in apps().await {
        let (b, id, _link) = mapped_survey(&sf).await;
        b.link_salesforce(false, "demo@acme.example", "demo-password-1", true).await;
        b.submit("/salesforce/switch", "/salesforce/switch/confirm", &[]).await;
        let (sandbox, production) = (org(&sf, true), org(&sf, false));
        setup_in(&sf, &production, reqwest::Method::DELETE, "fields/Score__c", None).await;

        let (status, page) = check_now(&b, id).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("Survey_Response__c.Score__c was deleted in Salesforce"), "{page}");
        assert_eq!(sf.app.store.integration(id).await.unwrap().unwrap().validated_org_id.as_deref(), Some(sandbox.as_str()), "still pinned to the org it was validated against");
        // The transition sees what the check read: it does not fit the new org.
        let panel = format!("/projects/{id}/salesforce");
        let r = b.submit(&panel, &format!("{panel}/transition"), &[("held", "send")]).await;
        assert_ne!(r.status(), StatusCode::OK);
        assert!(r.text().await.unwrap().contains("Score__c"));
        assert_eq!(sf.app.store.integration(id).await.unwrap().unwrap().validated_org_id.as_deref(), Some(sandbox.as_str()));
    }
}

#[tokio::test]
async fn a_check_salesforce_refuses_says_why_and_claims_no_fit() {
    for sf in apps().await {
        let (b, id) = mapped_draft(&sf).await;
        let faults = format!("{}/orgs/{}/faults", sf.emulator.admin_url(), org(&sf, true));
        reqwest::Client::new().put(&faults).json(&serde_json::json!({ "force_limit_exceeded": true })).send().await.unwrap().error_for_status().unwrap();
        let (status, page) = check_now(&b, id).await;
        assert_ne!(status, StatusCode::OK, "{page}");
        assert!(page.contains("REQUEST_LIMIT_EXCEEDED"), "Salesforce's own reason: {page}");
        assert!(!page.contains("All mapped fields still fit"), "{page}");
        let check = sf.app.store.schema_check(id).await.unwrap();
        assert!(check.checked_at.is_none() && check.drift.is_none(), "{check:?}");
        assert!(sf.app.store.integration(id).await.unwrap().unwrap().validated_org_id.is_some(), "a failed check holds nothing");
    }
}
