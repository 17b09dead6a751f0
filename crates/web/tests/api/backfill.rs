//! Backfill: responses that came before a mapping are sent through it on a
//! person's say-so, in the same batched, exactly-once path — counted in the
//! emulator, not in Insight's bookkeeping.

use crate::helpers::{answer, apps_with_emulator, org, records, until, Browser, WithSalesforce};
use reqwest::StatusCode;
use serde_json::Value;

async fn respond(sf: &WithSalesforce, link: &str, score: &str) -> String {
    answer(&sf.app, link, &[("q1", score), ("q2", "")]).await
}

/// A published survey with three responses, mapped only afterwards.
async fn mapped_after_responses(sf: &WithSalesforce) -> (Browser, i64, Vec<String>) {
    let b = Browser::new(&sf.app);
    b.sign_up("olive@example.com", "Olive Owner").await;
    let id = b.create_project("Post-case CSAT").await;
    b.add_question(id, "nps", "How likely are you to recommend us?", "", true).await;
    b.add_question(id, "essay", "Anything else?", "", false).await;
    let link = b.publish(id).await;
    let mut earlier = Vec::new();
    for score in ["3", "8", "10"] {
        earlier.push(respond(sf, &link, score).await);
    }
    b.link_salesforce(true, "demo@acme.example.sandbox", "demo-password-1", true).await;
    let panel = format!("/projects/{id}/salesforce");
    let r = b.submit(&panel, &format!("{panel}/mappings"), &[("object", "Survey_Response__c"), ("action", "upsert"), ("key_field", "External_Id__c")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = b.submit(&panel, &format!("{panel}/mappings/0/rules"), &[("field", "Score__c"), ("source", "answer:q1"), ("value", "")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    (b, id, earlier)
}

#[tokio::test]
async fn earlier_responses_are_backfilled_once_each_and_again_without_duplicates() {
    for sf in apps_with_emulator().await {
        let (b, id, earlier) = mapped_after_responses(&sf).await;
        let sandbox = org(&sf, true);
        let panel = format!("/projects/{id}/salesforce");
        assert!(records(&sf, &sandbox).await.is_empty(), "a new mapping writes nothing for earlier responses by itself");
        let (_, html) = b.get_text(&panel).await;
        assert!(html.contains("Send earlier responses") && html.contains("data-confirm"), "asked first: {html}");

        let r = b.submit(&panel, &format!("{panel}/backfill"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        until(&sf, id, "backfilled", |c| c.delivered == 3 && c.pending == 0).await;
        let recs = records(&sf, &sandbox).await;
        for rid in &earlier {
            assert_eq!(recs.iter().filter(|r| r["External_Id__c"] == rid.as_str()).count(), 1, "{rid} written once");
        }
        let scores: Vec<f64> = earlier.iter().map(|rid| recs.iter().find(|r| r["External_Id__c"] == rid.as_str()).unwrap()["Score__c"].as_f64().unwrap()).collect();
        assert_eq!(scores, [3.0, 8.0, 10.0]);
        let progress: Value = b.get(&format!("{panel}/backfill.json")).await.json().await.unwrap();
        assert_eq!(progress, serde_json::json!({"total": 3, "done": 3, "running": false}));
        let (_, html) = b.get_text(&panel).await;
        assert!(html.contains("The last backfill sent 3 earlier response(s)"), "{html}");
        assert!(html.contains("started a backfill: 3 earlier response(s)"), "in the history: {html}");

        // Again, after a change: the same records are updated, none made twice.
        let r = b.submit(&panel, &format!("{panel}/mappings/0/rules"), &[("field", "Comment__c"), ("source", "static"), ("value", "backfilled")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = b.submit(&panel, &format!("{panel}/backfill"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        until(&sf, id, "backfilled again", |c| c.delivered == 3 && c.pending == 0).await;
        let recs = records(&sf, &sandbox).await;
        assert_eq!(recs.len(), 3, "no duplicate record");
        assert!(recs.iter().all(|r| r["Comment__c"] == "backfilled"), "{recs:?}");
    }
}

#[tokio::test]
async fn only_those_the_owner_allows_backfill_and_only_while_the_mappings_fit() {
    for sf in apps_with_emulator().await {
        let (owner, id, _) = mapped_after_responses(&sf).await;
        let panel = format!("/projects/{id}/salesforce");
        let editor = Browser::new(&sf.app);
        editor.sign_up("eddie@example.com", "Eddie Editor").await;
        owner.share(&editor, id, &[("email", "eddie@example.com"), ("role", "editor")]).await;
        let r = editor.submit(&panel, &format!("{panel}/backfill"), &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "an editor without the owner's grant");
        let stranger = Browser::new(&sf.app);
        stranger.sign_up("sam@example.com", "Sam Stranger").await;
        assert_eq!(stranger.get(&format!("{panel}/backfill.json")).await.status(), StatusCode::NOT_FOUND);
        let r = stranger.post_form(&format!("{panel}/backfill"), &[]).await;
        assert!(r.status() == StatusCode::NOT_FOUND || r.status() == StatusCode::FORBIDDEN, "{}", r.status());
        assert!(sf.app.store.latest_backfill(id).await.unwrap().is_none(), "nothing started");

        // While a mapping lacks what it needs, earlier responses would only be held.
        let r = owner.submit(&panel, &format!("{panel}/mappings"), &[("object", "Contact"), ("action", "upsert"), ("key_field", "Insight_Id__c")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = owner.submit(&panel, &format!("{panel}/backfill"), &[]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("Earlier responses would only be held now"));
        assert!(sf.app.store.latest_backfill(id).await.unwrap().is_none());
    }
}

/// A backlog larger than the Bulk threshold (set low here) goes through one
/// Bulk API 2.0 job: each response one record, a row Salesforce refuses
/// failed alone with Salesforce's reason, and a second backfill updates
/// the same records.
#[tokio::test]
async fn a_large_backfill_goes_through_one_bulk_job_and_maps_each_row_back_to_its_response() {
    for db in store::testing::TestDatabase::all().await {
        let sf = crate::helpers::spawn_app_trusting_with(db, &[], |c| c.app.delivery_bulk.threshold = 20).await;
        // Every tenth says what a validation rule of the org refuses.
        let (b, id, earlier) = stored_then_mapped(&sf, "Bulk backlog", "R_bulkbackfill", 60, |i| if i % 10 == 3 { "Bogus" } else { "Fine" }).await;
        let panel = format!("/projects/{id}/salesforce");
        let sandbox = org(&sf, true);
        let rules = serde_json::json!({ "validation_rules": [{ "object": "Survey_Response__c", "field": "Comment__c", "equals": "Bogus", "message": "Bogus is not a comment" }] });
        reqwest::Client::new().put(format!("{}/orgs/{sandbox}/faults", sf.emulator.admin_url())).json(&rules).send().await.unwrap();
        let usage = |sf: &WithSalesforce| {
            let url = format!("{}/orgs/{sandbox}/usage", sf.emulator.admin_url());
            async move { reqwest::get(url).await.unwrap().json::<Value>().await.unwrap() }
        };
        let jobs_before = usage(&sf).await["bulk_jobs_created"].as_u64().unwrap();

        let r = b.submit(&panel, &format!("{panel}/backfill"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        until(&sf, id, "backfilled", |c| c.delivered == 54 && c.failed == 6 && c.pending == 0).await;
        assert_eq!(usage(&sf).await["bulk_jobs_created"].as_u64().unwrap(), jobs_before + 1, "one Bulk API job, not calls of 200");
        let recs = records(&sf, &sandbox).await;
        for (i, rid) in earlier.iter().enumerate() {
            let mine: Vec<&Value> = recs.iter().filter(|r| r["External_Id__c"] == rid.as_str()).collect();
            let delivery = sf.app.store.delivery_of(id, rid).await.unwrap().unwrap();
            if i % 10 == 3 {
                assert!(mine.is_empty(), "{rid} was refused");
                let error = delivery.last_error.unwrap_or_default();
                assert!(error.contains("FIELD_CUSTOM_VALIDATION_EXCEPTION") && error.contains("Bogus is not a comment"), "{rid}: {error}");
            } else {
                assert_eq!(mine.len(), 1, "{rid} written once");
                assert_eq!(mine[0]["Score__c"].as_f64(), Some((i % 11) as f64), "{rid} carries its own answer");
                assert_eq!(delivery.outcome[0]["record_id"], mine[0]["Id"], "{rid}'s log names its record");
            }
        }

        // Again: the same records are updated (the job is an upsert), none made twice.
        let r = b.submit(&panel, &format!("{panel}/backfill"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        until(&sf, id, "backfilled again", |c| c.delivered == 54 && c.failed == 6 && c.pending == 0 && c.held == 0).await;
        assert_eq!(records(&sf, &sandbox).await.len(), 54, "no duplicate record");
    }
}

/// Bulk API 2.0's CSV writes `#N/A` as null and has no escape for it, so a
/// backlog holding an answer that is exactly `#N/A` goes through
/// Collections, and the record keeps the text the respondent wrote.
#[tokio::test]
async fn an_answer_that_is_bulks_null_marker_is_written_as_text_not_blanked() {
    let db = store::testing::TestDatabase::sqlite();
    let sf = crate::helpers::spawn_app_trusting_with(db, &[], |c| c.app.delivery_bulk.threshold = 5).await;
    let (b, id, _) = stored_then_mapped(&sf, "Bulk null", "R_bulknull", 12, |i| if i == 4 { "#N/A" } else { "fine" }).await;
    let panel = format!("/projects/{id}/salesforce");
    let sandbox = org(&sf, true);
    let r = b.submit(&panel, &format!("{panel}/backfill"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    until(&sf, id, "backfilled", |c| c.delivered == 12 && c.pending == 0).await;
    let usage: Value = reqwest::get(format!("{}/orgs/{sandbox}/usage", sf.emulator.admin_url())).await.unwrap().json().await.unwrap();
    assert_eq!(usage["bulk_jobs_created"], 0, "no Bulk job for a batch holding #N/A");
    let recs = records(&sf, &sandbox).await;
    let marked: Vec<&Value> = recs.iter().filter(|r| r["External_Id__c"] == "R_bulknull00000000000004").collect();
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0]["Comment__c"], "#N/A", "the respondent's text, not a blank");
}

/// Olive's published survey (NPS q1, text q2) with `n` responses stored
/// before any mapping (q2 of the i-th is `comment(i)`, ids `{prefix}` and a
/// number to 24 characters), then linked to the sandbox and mapped to one
/// Survey_Response__c per response by Insight's key: Score__c and Comment__c.
async fn stored_then_mapped(sf: &WithSalesforce, name: &str, prefix: &str, n: usize, comment: impl Fn(usize) -> &'static str) -> (Browser, i64, Vec<String>) {
    let b = Browser::new(&sf.app);
    b.sign_up("olive@example.com", "Olive Owner").await;
    let id = b.create_project(name).await;
    b.add_question(id, "nps", "How likely are you to recommend us?", "", true).await;
    b.add_question(id, "text", "Anything else?", "", false).await;
    b.publish(id).await;
    let writer = sf.app.store.response_writer();
    let mut stored = Vec::new();
    for i in 0..n {
        let public_id = format!("{prefix}{i:0>width$}", width = 24 - prefix.len());
        crate::helpers::store_response(&writer, id, &public_id, serde_json::json!({"q1": i % 11, "q2": comment(i)})).await;
        stored.push(public_id);
    }
    b.link_salesforce(true, "demo@acme.example.sandbox", "demo-password-1", true).await;
    let panel = format!("/projects/{id}/salesforce");
    let r = b.submit(&panel, &format!("{panel}/mappings"), &[("object", "Survey_Response__c"), ("action", "upsert"), ("key_field", "External_Id__c")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    for (field, source) in [("Score__c", "answer:q1"), ("Comment__c", "answer:q2")] {
        let r = b.submit(&panel, &format!("{panel}/mappings/0/rules"), &[("field", field), ("source", source), ("value", "")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{field}: {}", r.text().await.unwrap());
    }
    (b, id, stored)
}
