//! The API budget governor and the delivery log: Insight keeps to its share
//! of an org's daily limit and waits, saying why, rather than take the
//! calls the org's other integrations need; an exhausted org's queue pauses
//! and a sparing `/limits` read resumes it; a person retries or gives up on
//! a delivery from the log, and only those who may edit can.

use crate::helpers::{answer, mapped_survey, org, records, spawn_app_trusting_with, store_response, until, until_within, Browser, WithSalesforce};
use reqwest::StatusCode;
use std::time::Duration;

async fn apps(probe_every: Duration) -> Vec<WithSalesforce> {
    let mut all = Vec::new();
    for db in store::testing::TestDatabase::all().await {
        all.push(
            spawn_app_trusting_with(db, &[], |c| {
                c.app.delivery_budget.probe_every = probe_every;
                c.app.delivery_budget.share_recheck = Duration::from_millis(200);
            })
            .await,
        );
    }
    all
}

async fn respond(sf: &WithSalesforce, link: &str, score: &str) -> String {
    answer(&sf.app, link, &[("q1", score), ("q2", "ok")]).await
}

async fn usage(sf: &WithSalesforce, org: &str) -> serde_json::Value {
    reqwest::get(format!("{}/orgs/{org}/usage", sf.emulator.admin_url())).await.unwrap().json().await.unwrap()
}

async fn set_usage(sf: &WithSalesforce, org: &str, body: serde_json::Value) {
    let r = reqwest::Client::new().put(format!("{}/orgs/{org}/usage", sf.emulator.admin_url())).json(&body).send().await.unwrap();
    assert!(r.status().is_success());
}

#[tokio::test]
async fn insight_keeps_to_its_share_of_the_orgs_daily_limit_and_says_why_it_waits() {
    for sf in apps(Duration::from_secs(60)).await {
        let (b, id, link) = mapped_survey(&sf).await;
        let sandbox = org(&sf, true);
        // The org's limit is 20 calls a day: Insight's share is 10, and it made 9 today.
        let before_reset = sf.emulator.api_usage(&sandbox).unwrap().0 as i64;
        set_usage(&sf, &sandbox, serde_json::json!({ "used": 0, "max": 20 })).await;
        let (_, tested) = b.submit_and_follow("/salesforce", "/salesforce/test", &[]).await;
        assert!(tested.contains("Connected to"), "{tested}");
        // Every call the pages made counts in Insight's share: wait for them
        // to be counted, then make it 9.
        let made = before_reset + sf.emulator.api_usage(&sandbox).unwrap().0 as i64;
        assert!(made < 9, "the pages made {made} calls");
        until_counted(&sf, &sandbox, made).await;
        sf.app.store.add_api_calls(&sandbox, 9 - made).await.unwrap();
        let before = usage(&sf, &sandbox).await["used"].as_u64().unwrap();

        let rid = respond(&sf, &link, "8").await;
        until(&sf, id, "waiting for budget", |c| c.waiting_for_budget == 1).await;
        assert_eq!(usage(&sf, &sandbox).await["used"].as_u64().unwrap(), before, "no call went past the share");
        let (_, account) = b.get_text("/salesforce").await;
        assert!(account.contains("9 of the 10 calls Insight may use in 24 hours (50 % of the daily limit)"), "{account}");
        assert!(account.contains("1 deliveries wait") && account.contains("waiting for API budget: Insight has made 9 of the 10"), "{account}");
        let (_, panel) = b.get_text(&format!("/projects/{id}/salesforce")).await;
        assert!(panel.contains("1 waiting for API budget"));
        let (_, log) = b.get_text(&format!("/projects/{id}/salesforce/deliveries")).await;
        assert!(log.contains(&rid) && log.contains("other integrations keep theirs"), "{log}");

        // The org's admin raises its limit; the connection test sees it, and the wait ends.
        set_usage(&sf, &sandbox, serde_json::json!({ "max": 100_000 })).await;
        b.submit("/salesforce", "/salesforce/test", &[]).await;
        until(&sf, id, "delivered once the share allows", |c| c.delivered == 1 && c.pending == 0).await;
        assert_eq!(records(&sf, &sandbox).await.iter().filter(|r| r["External_Id__c"] == rid.as_str()).count(), 1);
    }
}

#[tokio::test]
async fn an_exhausted_org_pauses_its_queue_probes_its_limits_sparingly_and_resumes() {
    for sf in apps(Duration::from_millis(700)).await {
        let (_b, id, link) = mapped_survey(&sf).await;
        let sandbox = org(&sf, true);
        let max = usage(&sf, &sandbox).await["max"].as_u64().unwrap();
        set_usage(&sf, &sandbox, serde_json::json!({ "used": max })).await;
        let first = respond(&sf, &link, "3").await;
        until(&sf, id, "paused by REQUEST_LIMIT_EXCEEDED", |c| c.waiting_for_budget == 1).await;
        let pause = sf.app.store.api_pause(&sandbox).await.unwrap().expect("the org is paused");
        assert!(pause.reason.contains("REQUEST_LIMIT_EXCEEDED") && pause.probe, "{pause:?}");
        // More answers while paused wait with the first; none is lost or failed.
        let second = respond(&sf, &link, "4").await;
        until(&sf, id, "both waiting", |c| c.waiting_for_budget == 2).await;
        let refused_then = usage(&sf, &sandbox).await["refused"].as_u64().unwrap();
        let started = std::time::Instant::now();
        tokio::time::sleep(Duration::from_millis(2_000)).await;
        let refused_now = usage(&sf, &sandbox).await["refused"].as_u64().unwrap();
        let windows = started.elapsed().as_millis() as u64 / 700 + 1;
        assert!(refused_now - refused_then <= windows, "one /limits read per pause window at most: {} calls in {windows} windows", refused_now - refused_then);
        assert_eq!(sf.app.store.delivery_counts(id).await.unwrap().failed, 0);

        // The 24-hour window moves on: the next probe sees calls free and both go.
        set_usage(&sf, &sandbox, serde_json::json!({ "used": 0 })).await;
        until(&sf, id, "delivered after the pause", |c| c.delivered == 2 && c.pending == 0).await;
        let recs = records(&sf, &sandbox).await;
        for rid in [&first, &second] {
            assert_eq!(recs.iter().filter(|r| r["External_Id__c"] == rid.as_str()).count(), 1);
        }
        assert!(sf.app.store.api_pause(&sandbox).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn the_delivery_log_filters_pages_retries_and_gives_up_and_only_editors_act() {
    for sf in apps(Duration::from_secs(60)).await {
        let (b, id, link) = mapped_survey(&sf).await;
        let sandbox = org(&sf, true);
        let good = respond(&sf, &link, "9").await;
        until(&sf, id, "delivered", |c| c.delivered == 1).await;
        // Salesforce refuses the next answer for good: a validation rule.
        let rules = serde_json::json!({ "validation_rules": [{ "object": "Survey_Response__c", "field": "Comment__c", "equals": "ok", "message": "Scores of 2 need a reason" }] });
        reqwest::Client::new().put(format!("{}/orgs/{sandbox}/faults", sf.emulator.admin_url())).json(&rules).send().await.unwrap();
        let bad = respond(&sf, &link, "2").await;
        until(&sf, id, "failed", |c| c.failed == 1).await;

        let base = format!("/projects/{id}/salesforce/deliveries");
        let (_, all) = b.get_text(&base).await;
        assert!(all.contains(&good) && all.contains(&bad) && all.contains("Scores of 2 need a reason"));
        let (_, failed) = b.get_text(&format!("{base}?status=failed")).await;
        assert!(failed.contains(&bad) && !failed.contains(&format!("data-response-id=\"{good}\"")));
        let (_, found) = b.get_text(&format!("{base}?q={}", &good[..good.len() - 2])).await;
        assert!(found.contains(&format!("data-response-id=\"{good}\"")) && !found.contains(&format!("data-response-id=\"{bad}\"")));
        let (status, _) = b.get_text(&format!("{base}?status=lost")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a made-up status is refused");

        // A viewer sees the log but cannot act; a stranger sees nothing.
        let viewer = Browser::new(&sf.app);
        viewer.sign_up("vera@example.com", "Vera Viewer").await;
        b.share(&viewer, id, &[("email", "vera@example.com"), ("role", "viewer")]).await;
        let (status, page) = viewer.get_text(&base).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!page.contains("/give-up"), "no Give up button for a viewer");
        let r = viewer.submit(&base, &format!("{base}/{bad}/give-up"), &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let stranger = Browser::new(&sf.app);
        stranger.sign_up("sam@example.com", "Sam Stranger").await;
        assert_eq!(stranger.get_text(&base).await.0, StatusCode::NOT_FOUND);

        // The owner gives up on the failed one: recorded with who; it is never sent.
        let r = b.submit(&base, &format!("{base}/{bad}/give-up"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, page) = b.get_text(&format!("{base}?status=discarded")).await;
        assert!(page.contains(&bad) && page.contains("given up by Olive Owner (olive@example.com)"), "{page}");
        let r = b.submit(&base, &format!("{base}/{good}/give-up"), &[]).await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "a delivered response cannot be given up");
        assert_eq!(records(&sf, &sandbox).await.iter().filter(|r| r["External_Id__c"] == bad.as_str()).count(), 0);
    }
}

#[tokio::test]
async fn the_calls_the_pages_make_count_in_insights_share_too() {
    for sf in apps(Duration::from_secs(60)).await {
        // Linking, adding a mapping and its rules read the org (describes,
        // limits) through the owner's session; no response is delivered.
        let (_b, _id, _link) = mapped_survey(&sf).await;
        let sandbox = org(&sf, true);
        let emulated = sf.emulator.api_usage(&sandbox).unwrap().0 as i64;
        assert!(emulated > 0, "the pages called the org");
        // Every one of them is counted in Insight's share (the emulator
        // counts each REST call it answered, as Salesforce does)…
        until_counted(&sf, &sandbox, emulated).await;
        // …once: a count later adds nothing.
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert_eq!(sf.app.store.api_calls_last_day(&sandbox).await.unwrap(), emulated);
    }
}

/// Waits until Insight's count of its calls into `org` reaches `calls`
/// (the app counts the pages' calls every few seconds).
async fn until_counted(sf: &WithSalesforce, org: &str, calls: i64) {
    let start = std::time::Instant::now();
    while sf.app.store.api_calls_last_day(org).await.unwrap() < calls {
        assert!(start.elapsed() < Duration::from_secs(30), "the pages' calls were never counted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const UNDER_FAULTS: usize = 1_000;

#[tokio::test]
async fn under_every_fault_at_once_each_response_is_delivered_once_or_fails_with_its_reason_and_the_share_holds() {
    for sf in apps(Duration::from_millis(700)).await {
        let (b, id, _link) = mapped_survey(&sf).await;
        let sandbox = org(&sf, true);
        let admin = reqwest::Client::new();
        let faults = |force_limit: bool| {
            serde_json::json!({
                "latency_ms": 20, "error_rate": 0.15, "drop_rate": 0.05, "force_limit_exceeded": force_limit,
                "validation_rules": [{ "object": "Survey_Response__c", "field": "Comment__c", "equals": "refuse me", "message": "Not this one" }],
            })
        };
        let set_faults = |body: serde_json::Value| admin.put(format!("{}/orgs/{sandbox}/faults", sf.emulator.admin_url())).json(&body).send();
        assert!(set_faults(faults(false)).await.unwrap().status().is_success());

        // Insight's share leaves it 3 more calls today: fewer than the 5
        // calls of 200 the responses need at the least.
        let made = sf.emulator.api_usage(&sandbox).unwrap().0 as i64;
        until_counted(&sf, &sandbox, made).await;
        let counted = sf.app.store.api_calls_last_day(&sandbox).await.unwrap();
        set_usage(&sf, &sandbox, serde_json::json!({ "used": made, "max": 2 * (counted + 3) })).await;

        // 1,000 responses; one in each 200 says what a validation rule refuses.
        let writer = sf.app.store.response_writer();
        let mut refused = Vec::new();
        let mut sent = Vec::new();
        for i in 0..UNDER_FAULTS {
            let public_id = format!("R_faults{i:0>16}");
            let comment = if i % 200 == 17 { "refuse me" } else { "fine" };
            store_response(&writer, id, &public_id, serde_json::json!({"q1": i % 11, "q2": comment})).await;
            match comment {
                "refuse me" => refused.push(public_id),
                _ => sent.push(public_id),
            }
        }

        // The share is reached: work waits, with the reason shown, and no
        // call went past it.
        until_within(&sf, id, "waiting for budget", Duration::from_secs(60), |c| c.waiting_for_budget > 0).await;
        let past_share = sf.emulator.api_usage(&sandbox).unwrap().0 as i64 - made;
        assert!(past_share <= 3, "Insight made {past_share} calls with 3 left in its share");
        // (The worker looks again every 200 ms here: read the page until it
        // catches the wait.)
        let start = std::time::Instant::now();
        loop {
            let (_, account) = b.get_text("/salesforce").await;
            if account.contains("waiting for API budget") {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "the account page never said why: {account}");
        }

        // The admin raises the limit; Test connection sees it and work goes on.
        set_usage(&sf, &sandbox, serde_json::json!({ "max": 100_000 })).await;
        // (Test connection meets the same 503s and drops: the admin tries
        // again until it reads the new limit.)
        let owner = sf.app.store.project_as_owner(id).await.unwrap().unwrap().owner_id;
        for attempt in 0.. {
            b.submit("/salesforce", "/salesforce/test", &[]).await;
            if sf.app.store.link(owner).await.unwrap().and_then(|l| l.api_max) == Some(100_000) {
                break;
            }
            assert!(attempt < 20, "Test connection never read the raised limit");
        }
        until_within(&sf, id, "a quarter delivered", Duration::from_secs(120), |c| c.delivered >= 250).await;

        // Every access token expires: the worker refreshes and goes on.
        let r = admin.post(format!("{}/orgs/{sandbox}/faults/expire-tokens", sf.emulator.admin_url())).send().await.unwrap();
        assert!(r.status().is_success());
        until_within(&sf, id, "half delivered", Duration::from_secs(120), |c| c.delivered >= 500).await;

        // The org's daily limit is used up: its queue pauses, then resumes.
        assert!(set_faults(faults(true)).await.unwrap().status().is_success());
        until_within(&sf, id, "paused by the org's limit", Duration::from_secs(60), |c| c.waiting_for_budget > 0).await;
        assert!(set_faults(faults(false)).await.unwrap().status().is_success());
        let start = std::time::Instant::now();
        let mut nudged = false;
        loop {
            let c = sf.app.store.delivery_counts(id).await.unwrap();
            if c.delivered + c.failed == UNDER_FAULTS as i64 && c.pending == 0 {
                break;
            }
            // A response unlucky enough to fail again and again waits out a
            // doubling backoff (minutes by its eighth try): once the org is
            // well, a person sends the stragglers now, as the log's Send now does.
            if !nudged && start.elapsed() > Duration::from_secs(30) {
                let calm = serde_json::json!({ "validation_rules": faults(false)["validation_rules"] });
                assert!(set_faults(calm).await.unwrap().status().is_success());
                for d in sf.app.store.deliveries(id, 1_000).await.unwrap().into_iter().filter(|d| d.status == domain::DeliveryStatus::Pending) {
                    sf.app.store.send_delivery_now(id, d.id).await.unwrap();
                }
                nudged = true;
            }
            if start.elapsed() > Duration::from_secs(300) {
                // What the queue looked like, to tell a stall from slowness.
                let pause = sf.app.store.api_pause(&sandbox).await.unwrap();
                let waiting: Vec<String> = sf.app.store.deliveries(id, 1_000).await.unwrap().into_iter().filter(|d| d.status == domain::DeliveryStatus::Pending).take(3)
                    .map(|d| format!("attempts {} next {} (now {}) note {:?} error {:?}", d.attempts, d.next_attempt_at, store::now_ms(), d.note, d.last_error)).collect();
                panic!("never dealt with every response: {c:?}; pause {pause:?}; {waiting:#?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        // Delivered once each, or failed with Salesforce's reason.
        let counts = sf.app.store.delivery_counts(id).await.unwrap();
        assert_eq!((counts.delivered, counts.failed), (sent.len() as i64, refused.len() as i64));
        for rid in &refused {
            let d = sf.app.store.delivery_of(id, rid).await.unwrap().unwrap();
            assert!(d.last_error.as_deref().is_some_and(|e| e.contains("Not this one")), "{rid}: {:?}", d.last_error);
        }
        let recs = records(&sf, &sandbox).await;
        let mut per_key: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for r in &recs {
            if let Some(k) = r["External_Id__c"].as_str() {
                *per_key.entry(k).or_default() += 1;
            }
        }
        for rid in &sent {
            assert_eq!(per_key.get(rid.as_str()), Some(&1), "{rid}: one record");
        }
        for rid in &refused {
            assert_eq!(per_key.get(rid.as_str()), None, "{rid}: refused, no record");
        }
    }
}
