//! Responses delivered into Salesforce through the owner's link, held while
//! the survey is paused, and never duplicated.

use crate::helpers::{answer, apps_with_emulator, map_survey_responses, mapped_survey, org, records, spawn_app_trusting_with, store_response, until, WithSalesforce};
use store::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::{Duration, Instant};

const PROD_USER: &str = "demo@acme.example";
const SANDBOX_USER: &str = "demo@acme.example.sandbox";
const PASSWORD: &str = "demo-password-1";

/// Answers the survey as a respondent; returns the response id.
async fn respond(sf: &WithSalesforce, link: &str, score: &str, comment: &str) -> String {
    answer(&sf.app, link, &[("q1", score), ("q2", comment)]).await
}

#[tokio::test]
async fn a_response_lands_once_as_a_record_in_the_owners_org() {
    for sf in apps_with_emulator().await {
        let (b, id, link) = mapped_survey(&sf).await;
        let rid = respond(&sf, &link, "9", "Quick and friendly").await;
        until(&sf, id, "delivered", |c| c.delivered == 1).await;
        let sandbox = org(&sf, true);
        let recs = records(&sf, &sandbox).await;
        let mine: Vec<&Value> = recs.iter().filter(|r| r["External_Id__c"] == rid.as_str()).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0]["Score__c"], 9.0);
        assert_eq!(mine[0]["Comment__c"], "Quick and friendly");
        let (_, detail) = b.get_text(&format!("/projects/{id}/responses/{rid}")).await;
        assert!(detail.contains(mine[0]["Id"].as_str().unwrap()), "the response page names the record");

        // Delivering it again (as after a crash before the outcome was kept)
        // updates the same record rather than making a second one.
        let delivery = sf.app.store.delivery_of(id, &rid).await.unwrap().unwrap();
        sf.app.store.mark_failed(delivery.id, &sandbox, "simulated lost answer", "[]").await.unwrap();
        assert!(sf.app.store.retry_delivery(id, delivery.id).await.unwrap());
        until(&sf, id, "delivered again", |c| c.delivered == 1 && c.pending == 0).await;
        assert_eq!(records(&sf, &sandbox).await.iter().filter(|r| r["External_Id__c"] == rid.as_str()).count(), 1);
    }
}

#[tokio::test]
async fn a_paused_survey_holds_its_responses_with_no_call_to_either_org_until_its_transition() {
    for sf in apps_with_emulator().await {
        let (b, id, link) = mapped_survey(&sf).await;
        b.link_salesforce(false, PROD_USER, PASSWORD, true).await;
        b.submit("/salesforce/switch", "/salesforce/switch/confirm", &[]).await;
        let (sandbox, production) = (org(&sf, true), org(&sf, false));
        let usage = |o: &str| sf.emulator.api_usage(o).unwrap().0;
        let (sandbox_before, production_before) = (usage(&sandbox), usage(&production));

        let first = respond(&sf, &link, "3", "Slow").await;
        let second = respond(&sf, &link, "10", "Great").await;
        until(&sf, id, "held", |c| c.held == 2).await;
        assert_eq!((usage(&sandbox), usage(&production)), (sandbox_before, production_before), "no API call reached either org");
        let (_, detail) = b.get_text(&format!("/projects/{id}/responses/{first}")).await;
        assert!(detail.contains("waiting for the transition"), "the response says why it is held");

        let panel = format!("/projects/{id}/salesforce");
        let r = b.submit(&panel, &format!("{panel}/transition"), &[("held", "send")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "a reload never repeats the transition");
        let after = r.headers()["location"].to_str().unwrap().to_string();
        let (_, html) = b.get_text(&after).await;
        assert!(html.contains("Re-enabled: the survey now delivers to Acme Production"), "{html}");
        until(&sf, id, "delivered to the new org", |c| c.delivered == 2).await;
        let prod_records = records(&sf, &production).await;
        for rid in [&first, &second] {
            assert_eq!(prod_records.iter().filter(|r| r["External_Id__c"] == rid.as_str()).count(), 1);
        }
        assert!(records(&sf, &sandbox).await.iter().all(|r| r["External_Id__c"] != first.as_str()), "nothing went to the old org");
    }
}

#[tokio::test]
async fn held_responses_can_be_discarded_at_the_transition_with_a_record_of_who_chose_it() {
    for sf in apps_with_emulator().await {
        let (b, id, link) = mapped_survey(&sf).await;
        b.link_salesforce(false, PROD_USER, PASSWORD, true).await;
        b.submit("/salesforce/switch", "/salesforce/switch/confirm", &[]).await;
        let rid = respond(&sf, &link, "7", "Fine").await;
        until(&sf, id, "held", |c| c.held == 1).await;
        let panel = format!("/projects/{id}/salesforce");
        b.submit(&panel, &format!("{panel}/transition"), &[("held", "discard")]).await;
        until(&sf, id, "discarded", |c| c.discarded == 1).await;
        let d = sf.app.store.delivery_of(id, &rid).await.unwrap().unwrap();
        assert!(d.note.unwrap().contains("discarded by Olive Owner"));
        assert!(records(&sf, &org(&sf, false)).await.iter().all(|r| r["External_Id__c"] != rid.as_str()));
        // New responses go to the new org.
        respond(&sf, &link, "8", "Better").await;
        until(&sf, id, "delivered", |c| c.delivered == 1).await;
    }
}

#[tokio::test]
async fn salesforce_unavailable_is_retried_and_nothing_is_lost() {
    for sf in apps_with_emulator().await {
        let (_, id, link) = mapped_survey(&sf).await;
        let sandbox = org(&sf, true);
        let faults = format!("{}/orgs/{sandbox}/faults", sf.emulator.admin_url());
        let http = reqwest::Client::new();
        assert!(http.put(&faults).json(&serde_json::json!({"error_rate": 1.0})).send().await.unwrap().status().is_success());
        let rid = respond(&sf, &link, "5", "Meh").await;
        let start = Instant::now();
        loop {
            let d = sf.app.store.delivery_of(id, &rid).await.unwrap().unwrap();
            if d.attempts >= 1 && d.last_error.is_some() {
                assert_eq!(d.status, domain::DeliveryStatus::Pending, "a passing failure is retried, not failed");
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(http.delete(&faults).send().await.unwrap().status().is_success());
        until(&sf, id, "delivered after the outage", |c| c.delivered == 1).await;
        assert_eq!(records(&sf, &sandbox).await.iter().filter(|r| r["External_Id__c"] == rid.as_str()).count(), 1);
    }
}

#[tokio::test]
async fn responses_held_while_the_link_needs_a_new_sign_in_go_once_the_owner_signs_in_again() {
    for sf in apps_with_emulator().await {
        let (b, id, link) = mapped_survey(&sf).await;
        let sandbox = org(&sf, true);
        let http = reqwest::Client::new();
        for fault in ["revoke-refresh-tokens", "expire-tokens"] {
            http.post(format!("{}/orgs/{sandbox}/faults/{fault}", sf.emulator.admin_url())).send().await.unwrap();
        }
        let rid = respond(&sf, &link, "6", "Okay").await;
        until(&sf, id, "held", |c| c.held == 1).await;
        let d = sf.app.store.delivery_of(id, &rid).await.unwrap().unwrap();
        assert!(d.note.unwrap().contains("sign-in"), "held because the link needs a new sign-in");

        b.link_salesforce(true, SANDBOX_USER, PASSWORD, true).await;
        until(&sf, id, "delivered after the new sign-in", |c| c.delivered == 1).await;
        assert_eq!(records(&sf, &sandbox).await.iter().filter(|r| r["External_Id__c"] == rid.as_str()).count(), 1);
    }
}

#[tokio::test]
async fn a_script_reads_each_responses_delivery_and_a_person_retries_all_failed() {
    for sf in apps_with_emulator().await {
        let (b, id, link) = mapped_survey(&sf).await;
        let first = respond(&sf, &link, "9", "Good").await;
        let second = respond(&sf, &link, "4", "Bad").await;
        until(&sf, id, "delivered", |c| c.delivered == 2).await;

        // The JSON API carries the delivery: status and the record written.
        let token = b.api_token().await;
        let body: Value = reqwest::Client::new()
            .get(format!("{}/api/v1/projects/{id}/responses/{first}", sf.app.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["delivery"]["status"], "delivered");
        assert_eq!(body["delivery"]["records"][0]["object"], "Survey_Response__c");
        assert!(body["delivery"]["records"][0]["record_id"].as_str().unwrap().len() == 18);

        // Two deliveries failed (say a field was locked at the time); one click retries both.
        let sandbox = org(&sf, true);
        for rid in [&first, &second] {
            let d = sf.app.store.delivery_of(id, rid).await.unwrap().unwrap();
            sf.app.store.mark_failed(d.id, &sandbox, "UNABLE_TO_LOCK_ROW: simulated", "[]").await.unwrap();
        }
        let panel = format!("/projects/{id}/salesforce");
        let (_, html) = b.get_text(&panel).await;
        assert!(html.contains("Retry all 2 failed"));
        let r = b.submit(&panel, &format!("{panel}/retry-failed"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "a reload never retries again");
        let (_, html) = b.get_text(r.headers()["location"].to_str().unwrap()).await;
        assert!(html.contains("2 failed deliveries will be tried again."), "{html}");
        until(&sf, id, "delivered again", |c| c.delivered == 2 && c.failed == 0).await;
        assert_eq!(records(&sf, &sandbox).await.iter().filter(|r| r["External_Id__c"] == first.as_str()).count(), 1);
    }
}

#[tokio::test]
async fn two_surveys_of_one_owner_writing_the_same_object_share_their_calls() {
    for db in TestDatabase::all().await {
        // A linger long enough that both surveys' responses wait for one claim.
        // (No scheduled schema check either: its describes would count.)
        let sf = spawn_app_trusting_with(db, &[], |c| {
            c.app.delivery_linger = Duration::from_secs(5);
            c.app.schema_checks.interval = Duration::ZERO;
        })
        .await;
        let (b, first, link) = mapped_survey(&sf).await;
        let second = b.create_project("Onboarding CSAT").await;
        map_survey_responses(&b, second).await;
        let second_link = b.publish(second).await;
        // One response each first: the object is described once, before counting.
        respond(&sf, &link, "9", "first").await;
        respond(&sf, &second_link, "6", "second").await;
        until(&sf, first, "the first survey's first", |c| c.delivered == 1).await;
        until(&sf, second, "the second survey's first", |c| c.delivered == 1).await;
        let sandbox = org(&sf, true);
        sf.emulator.reset_api_usage(&sandbox);

        let writer = sf.app.store.response_writer();
        let mut sent = Vec::new();
        for i in 0..20 {
            for (project, score) in [(first, 10), (second, 3)] {
                sent.push((project, format!("R_shared{project:04}{i:014}"), score));
            }
        }
        // All at once, as respondents would: they share a few commits, so all
        // 40 are due well within the linger even on a busy machine.
        futures_util::future::join_all(sent.iter().map(|(project, public_id, score)| {
            store_response(&writer, *project, public_id, serde_json::json!({"q1": score, "q2": format!("from {project}")}))
        }))
        .await;
        until(&sf, first, "the first survey's 20", |c| c.delivered == 21).await;
        until(&sf, second, "the second survey's 20", |c| c.delivered == 21).await;
        assert_eq!(sf.emulator.api_usage(&sandbox).unwrap().0, 1, "one call carried both surveys' 40 responses");
        let recs = records(&sf, &sandbox).await;
        for (project, rid, score) in &sent {
            let mine: Vec<&Value> = recs.iter().filter(|r| r["External_Id__c"] == rid.as_str()).collect();
            assert_eq!(mine.len(), 1, "{rid}");
            assert_eq!(mine[0]["Score__c"], *score as f64);
            assert_eq!(mine[0]["Comment__c"], format!("from {project}"));
            // Each response's own delivery names its own record.
            let d = sf.app.store.delivery_of(*project, rid).await.unwrap().unwrap();
            assert_eq!(d.outcome[0]["record_id"], mine[0]["Id"], "{rid}");
        }
    }
}
