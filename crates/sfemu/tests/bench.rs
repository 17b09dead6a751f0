//! Throughput check (ignored by default):
//!   cargo test --release -p sfemu --test bench -- --ignored --nocapture --test-threads 1
//! Targets: >= 20,000 records/s through sObject Collections (200 per call) and >= 3,000
//! single REST calls/s, each with p99 latency under 20 ms. Client and emulator share one
//! process and a 2-thread tokio runtime. `bench_with_sqlite_persistence` runs the same
//! load with `persistence_path` set (every request's changes committed before it answers).
mod common;
use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

async fn run(cfg: sfemu::EmulatorConfig, label: &str) {
    let t = start_with(cfg).await;
    let s = std::sync::Arc::new(t.login().await);
    let url = format!("{}/services/data/v59.0/composite/sobjects", s.instance_url);
    let batches = 250; // 50,000 records per concurrency level
    let mut calls = 0u64;
    for conc in [1usize, 2, 4, 8] {
        let start = Instant::now();
        let mut handles = vec![];
        for w in 0..conc {
            let (http, url, tok) = (t.http.clone(), url.clone(), s.token.clone());
            handles.push(tokio::spawn(async move {
                let mut lat = vec![];
                for b in (w..batches).step_by(conc) {
                    let recs: Vec<_> = (0..200).map(|i| json!({"attributes": {"type": "Survey_Response__c"}, "Name": format!("r{conc}-{b}-{i}"), "External_Id__c": format!("e{conc}-{b}-{i}"), "Score__c": i})).collect();
                    let t0 = Instant::now();
                    let r = http.post(&url).bearer_auth(&tok).json(&json!({"allOrNone": false, "records": recs})).send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    r.bytes().await.unwrap();
                    lat.push(t0.elapsed());
                }
                lat
            }));
        }
        let mut lat = vec![];
        for h in handles { lat.extend(h.await.unwrap()); }
        let secs = start.elapsed().as_secs_f64();
        lat.sort();
        calls += batches as u64;
        let rps = (batches * 200) as f64 / secs;
        println!("[{label}] collections: {} records in {batches} calls of 200, {conc} concurrent, {secs:.2}s = {rps:.0} records/s; per call p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            batches * 200, pct(&lat, 0.50), pct(&lat, 0.99), pct(&lat, 1.0));
    }

    let one = format!("{}/services/data/v59.0/sobjects/Account", s.instance_url);
    let n = 20_000;
    let start = Instant::now();
    let mut handles = vec![];
    for w in 0..16 {
        let (http, one, tok) = (t.http.clone(), one.clone(), s.token.clone());
        handles.push(tokio::spawn(async move {
            let mut lat = vec![];
            for i in (w..n).step_by(16) {
                let t0 = Instant::now();
                let r = http.post(&one).bearer_auth(&tok).json(&json!({"Name": format!("a{i}")})).send().await.unwrap();
                assert_eq!(r.status(), 201);
                r.bytes().await.unwrap();
                lat.push(t0.elapsed());
            }
            lat
        }));
    }
    let mut lat = vec![];
    for h in handles { lat.extend(h.await.unwrap()); }
    let secs = start.elapsed().as_secs_f64();
    lat.sort();
    println!("[{label}] single REST creates: {n} calls, 16 concurrent, {secs:.2}s = {:.0} calls/s; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        n as f64 / secs, pct(&lat, 0.50), pct(&lat, 0.99), pct(&lat, 1.0));
    let u = t.admin("GET", &format!("/orgs/{}/usage", t.prod_org), None).await;
    assert_eq!(u["used"].as_u64().unwrap(), calls + n as u64);
    t.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_collections_and_single_calls() {
    let mut cfg = sfemu::EmulatorConfig::default_demo();
    cfg.api_daily_limit = 10_000_000;
    run(cfg, "in memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn bench_with_sqlite_persistence() {
    let dir = std::env::temp_dir().join(format!("sfemu-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cfg = sfemu::EmulatorConfig::default_demo();
    cfg.api_daily_limit = 10_000_000;
    cfg.persistence_path = Some(dir.join("bench.sqlite"));
    run(cfg, "sqlite").await;
    let size = std::fs::metadata(dir.join("bench.sqlite")).map(|m| m.len()).unwrap_or(0);
    println!("[sqlite] file size after checkpoint: {:.1} MB", size as f64 / 1e6);
    let _ = std::fs::remove_dir_all(dir);
}
