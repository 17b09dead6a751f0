//! Throughput check (ignored by default):
//!   cargo test --release -p sfemu --test bench -- --ignored --nocapture
//! Targets: >= 20,000 records/s through sObject Collections, >= 3,000 single REST calls/s.
mod common;
use common::*;
use serde_json::json;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_collections_and_single_calls() {
    let mut cfg = sfemu::EmulatorConfig::default_demo();
    cfg.api_daily_limit = 10_000_000;
    let t = start_with(cfg).await;
    let s = std::sync::Arc::new(t.login().await);
    let url = format!("{}/services/data/v59.0/composite/sobjects", s.instance_url);
    let batches = 250; // 50,000 records
    let start = Instant::now();
    let mut handles = vec![];
    for w in 0..8 {
        let (http, url, tok) = (t.http.clone(), url.clone(), s.token.clone());
        handles.push(tokio::spawn(async move {
            for b in (w..batches).step_by(8) {
                let recs: Vec<_> = (0..200).map(|i| json!({"attributes": {"type": "Survey_Response__c"}, "Name": format!("r{b}-{i}"), "External_Id__c": format!("e{b}-{i}"), "Score__c": i})).collect();
                let r = http.post(&url).bearer_auth(&tok).json(&json!({"allOrNone": false, "records": recs})).send().await.unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
            }
        }));
    }
    for h in handles { h.await.unwrap(); }
    let secs = start.elapsed().as_secs_f64();
    let rps = (batches * 200) as f64 / secs;
    println!("collections: {} records in {secs:.2}s = {rps:.0} records/s", batches * 200);

    let one = format!("{}/services/data/v59.0/sobjects/Account", s.instance_url);
    let n = 20_000;
    let start = Instant::now();
    let mut handles = vec![];
    for w in 0..16 {
        let (http, one, tok) = (t.http.clone(), one.clone(), s.token.clone());
        handles.push(tokio::spawn(async move {
            for i in (w..n).step_by(16) {
                let r = http.post(&one).bearer_auth(&tok).json(&json!({"Name": format!("a{i}")})).send().await.unwrap();
                assert_eq!(r.status(), 201);
                r.bytes().await.unwrap();
            }
        }));
    }
    for h in handles { h.await.unwrap(); }
    let secs = start.elapsed().as_secs_f64();
    println!("single REST creates: {n} calls in {secs:.2}s = {:.0} calls/s", n as f64 / secs);
    let u = t.admin("GET", &format!("/orgs/{}/usage", t.prod_org), None).await;
    assert_eq!(u["used"].as_u64().unwrap(), batches as u64 + n as u64);
    t.emu.shutdown().await;
}
