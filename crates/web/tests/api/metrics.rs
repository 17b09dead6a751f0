//! `/metrics`: served only with the metrics token or on an address of its
//! own, never publicly by default; what it shows agrees with what happened
//! (responses stored, deliveries made, calls counted by the emulator), and
//! it carries no answer and no token.

use crate::helpers::{answer, mapped_survey, org, spawn_app, spawn_app_trusting_with, until, WithSalesforce};
use reqwest::StatusCode;
use store::testing::TestDatabase;

const TOKEN: &str = "metrics-token-for-the-tests-0123456789";

async fn respond(sf: &WithSalesforce, link: &str, score: &str, comment: &str) {
    answer(&sf.app, link, &[("q1", score), ("q2", comment)]).await;
}

/// The value of one sample line (`name{labels} value`), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok()))
}

#[tokio::test]
async fn metrics_are_not_served_by_default() {
    for db in TestDatabase::all().await {
        let app = spawn_app(db).await;
        let r = reqwest::get(format!("{}/metrics", app.url)).await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "no token and no address of its own: no /metrics");
    }
}

#[tokio::test]
async fn metrics_need_the_token_and_show_what_the_worker_did() {
    for db in TestDatabase::all().await {
        let sf = spawn_app_trusting_with(db, &[], |c| c.metrics = web::metrics::MetricsAccess::new(Some(TOKEN.into()), None).unwrap()).await;
        let (_b, id, link) = mapped_survey(&sf).await;
        respond(&sf, &link, "9", "A secret answer nobody may scrape").await;
        respond(&sf, &link, "4", "Another answer").await;
        until(&sf, id, "delivered", |c| c.delivered == 2).await;

        let url = format!("{}/metrics", sf.app.url);
        let http = reqwest::Client::new();
        let none = http.get(&url).send().await.unwrap();
        assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
        assert!(none.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        assert!(none.text().await.unwrap().contains("INSIGHT_METRICS_TOKEN"), "says what to send");
        let wrong = http.get(&url).bearer_auth("metrics-token-for-the-tests-0123456788").send().await.unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

        let r = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
        let text = r.text().await.unwrap();
        assert_eq!(sample(&text, r#"insight_deliveries{status="delivered"}"#), Some(2.0), "{text}");
        assert_eq!(sample(&text, r#"insight_deliveries{status="pending"}"#), Some(0.0));
        assert_eq!(sample(&text, r#"insight_deliveries_total{outcome="delivered"}"#), Some(2.0));
        assert_eq!(sample(&text, "insight_responses_accepted_total"), Some(2.0));
        assert_eq!(sample(&text, "insight_ingest_seconds_count"), Some(2.0));
        assert_eq!(sample(&text, "insight_delivery_seconds_count"), Some(2.0));
        assert!(text.contains("# TYPE insight_delivery_seconds histogram"), "buckets, not a summary");

        // The calls counted agree with the emulator's own count of the calls
        // Insight made into the org (the pages' calls are counted there too).
        let sandbox = org(&sf, true);
        let calls = sample(&text, &format!(r#"insight_salesforce_api_calls_total{{org="{sandbox}"}}"#)).expect("calls per org");
        let emulated = sf.emulator.api_usage(&sandbox).unwrap().0 as f64;
        assert!(calls >= 1.0 && calls <= emulated, "{calls} of {emulated}");
        let max = sample(&text, &format!(r#"insight_org_api_requests_max{{org="{sandbox}"}}"#)).expect("the org's limit");
        let left = sample(&text, &format!(r#"insight_org_api_budget_left{{org="{sandbox}"}}"#)).expect("budget left");
        assert!(left > 0.0 && left <= max / 2.0, "half the limit at most: {left} of {max}");
        assert_eq!(sample(&text, &format!(r#"insight_org_paused{{org="{sandbox}"}}"#)), Some(0.0));

        assert!(!text.contains("secret answer") && !text.contains("Another answer"), "no answer in metrics");
        assert!(!text.contains(TOKEN), "no token in metrics");
    }
}

#[tokio::test]
async fn metrics_on_their_own_address_need_no_token_and_are_not_on_the_main_one() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bind = free.local_addr().unwrap();
    drop(free);
    let db = TestDatabase::sqlite();
    let app = crate::helpers::spawn_app_with(db, |c| c.metrics = web::metrics::MetricsAccess::new(None, Some(bind)).unwrap()).await;
    let main = reqwest::get(format!("{}/metrics", app.url)).await.unwrap();
    assert_eq!(main.status(), StatusCode::NOT_FOUND);
    let own = reqwest::get(format!("http://{bind}/metrics")).await.unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let text = own.text().await.unwrap();
    assert_eq!(sample(&text, r#"insight_deliveries{status="pending"}"#), Some(0.0), "{text}");
}

#[test]
fn a_short_or_blank_token_is_refused_or_none() {
    let short = web::metrics::MetricsAccess::new(Some("short".into()), None).unwrap_err();
    assert!(short.contains("at least 24 characters"), "{short}");
    assert!(web::metrics::MetricsAccess::new(Some("   ".into()), None).unwrap().token.is_none());
}
