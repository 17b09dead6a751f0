//! `insight bench link`: the Salesforce link page and OAuth callback under a
//! real `insight serve`, with the local emulator standing in for Salesforce;
//! then many concurrent requests finding an expired access token, counting
//! the refresh calls that reach the emulator.

use super::csrf;
use super::{percentile, start_server};
use clap::Args;
use serde_json::json;
use std::time::Instant;
use store::testing::TestDatabase;

#[derive(Args, Debug)]
pub struct LinkArgs {
    /// Sign-ins to measure
    #[arg(long, default_value_t = 200)]
    pub sign_ins: usize,
    /// Concurrent requests that find the access token expired
    #[arg(long, default_value_t = 100)]
    pub concurrent: usize,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}


pub async fn link(args: LinkArgs) -> anyhow::Result<()> {
    let config = sfemu::EmulatorConfig::default_demo();
    let app = config.connected_apps.first().cloned().ok_or_else(|| anyhow::anyhow!("no connected app"))?;
    let sandbox_user = config.orgs.iter().find(|o| o.is_sandbox).and_then(|o| o.users.first()).cloned().ok_or_else(|| anyhow::anyhow!("no sandbox user"))?;
    let emulator = sfemu::Emulator::start(config, "127.0.0.1:0".parse()?, None).await?;
    let db = TestDatabase::sqlite();
    let mail = std::env::temp_dir().join(format!("insight-bench-mail-{}", std::process::id()));
    let server = start_server(
        &db.url,
        &[
            ("INSIGHT_SALESFORCE_CLIENT_ID", app.client_id.clone()),
            ("INSIGHT_SALESFORCE_CLIENT_SECRET", app.client_secret.clone()),
            ("INSIGHT_SALESFORCE_LOGIN_URL", emulator.production_login_url()),
            ("INSIGHT_SALESFORCE_SANDBOX_LOGIN_URL", emulator.sandbox_login_url()),
            ("INSIGHT_SMTP_URL", mail.display().to_string()),
        ],
    )?;
    let base = server.url.clone();
    let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;

    let page = http.get(format!("{base}/signup")).send().await?.text().await?;
    let r = http
        .post(format!("{base}/signup"))
        .form(&[("csrf", csrf(&page)?.as_str()), ("name", "Bench"), ("email", "bench@insight.example"), ("password", "bench-password")])
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "sign-up failed: {}", r.status());
    // Sign-up is confirmed by the link mailed to the address.
    let confirm = super::wait_for_link(&mail, "/signup/confirm?token=").await?;
    let page = http.get(&confirm).send().await?.text().await?;
    let token = confirm.rsplit("token=").next().unwrap_or_default().to_string();
    let r = http
        .post(format!("{base}/signup/confirm"))
        .form(&[("csrf", csrf(&page)?.as_str()), ("token", token.as_str()), ("password", "bench-password")])
        .send()
        .await?;
    anyhow::ensure!(r.status().is_redirection(), "sign-up confirmation failed: {}", r.status());
    let _ = std::fs::remove_dir_all(&mail);

    let (mut page_ms, mut start_ms, mut callback_ms) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.sign_ins {
        let t = Instant::now();
        let html = http.get(format!("{base}/salesforce/link")).send().await?.text().await?;
        page_ms.push(t.elapsed().as_micros() as u32);
        let t = Instant::now();
        let r = http
            .post(format!("{base}/salesforce/link"))
            .form(&[("csrf", csrf(&html)?.as_str()), ("sandbox", "on"), ("my_domain", ""), ("return_to", "/salesforce")])
            .send()
            .await?;
        start_ms.push(t.elapsed().as_micros() as u32);
        let authorize = r.headers().get("location").and_then(|v| v.to_str().ok()).ok_or_else(|| anyhow::anyhow!("no redirect to Salesforce"))?.to_string();
        let callback = sfemu::signin::sign_in(&http, &authorize, &sandbox_user.username, &sandbox_user.password, true).await?.redirect;
        let t = Instant::now();
        let done = http.get(&callback).send().await?;
        callback_ms.push(t.elapsed().as_micros() as u32);
        anyhow::ensure!(done.status() == reqwest::StatusCode::SEE_OTHER, "callback answered {}", done.status());
    }

    // Every access token of the sandbox org expires; then many requests at once.
    let org = emulator.orgs().into_iter().find(|o| o.2).map(|o| o.0).ok_or_else(|| anyhow::anyhow!("no sandbox org"))?;
    let html = http.get(format!("{base}/salesforce")).send().await?.text().await?;
    let token = csrf(&html)?;
    let warm = http.post(format!("{base}/salesforce/test")).form(&[("csrf", token.as_str())]).send().await?;
    anyhow::ensure!(warm.status() == reqwest::StatusCode::SEE_OTHER, "test connection answered {}", warm.status());
    let said = http.get(format!("{base}/salesforce")).send().await?.text().await?;
    anyhow::ensure!(said.contains("Connected to"), "test connection failed before the burst");
    reqwest::Client::new().post(format!("{}/orgs/{org}/faults/expire-tokens", emulator.admin_url())).send().await?;
    let issued = || emulator.app().tokens.read().values().filter(|t| t.org_id == org).count();
    let before = issued();
    let t = Instant::now();
    let mut calls = Vec::new();
    for _ in 0..args.concurrent {
        let (http, url, token) = (http.clone(), format!("{base}/salesforce/test"), token.clone());
        // Each ends in a redirect to the Salesforce page, which says how the
        // last one went (below); a failure would answer otherwise.
        calls.push(tokio::spawn(async move { http.post(url).form(&[("csrf", token)]).send().await.map(|r| r.status() == reqwest::StatusCode::SEE_OTHER) }));
    }
    let mut ok = 0;
    for c in calls {
        if matches!(c.await, Ok(Ok(true))) {
            ok += 1;
        }
    }
    let burst = t.elapsed();
    let refreshes = issued() - before;
    let said = http.get(format!("{base}/salesforce")).send().await?.text().await?;
    anyhow::ensure!(said.contains("Connected to"), "the burst's connection tests failed");

    for v in [&mut page_ms, &mut start_ms, &mut callback_ms] {
        v.sort_unstable();
    }
    let stats = |v: &[u32]| json!({ "p50": percentile(v, 0.5), "p99": percentile(v, 0.99), "max": percentile(v, 1.0) });
    let result = json!({
        "bench": "link",
        "sign_ins": args.sign_ins,
        "link_page_ms": stats(&page_ms),
        "sign_in_start_ms": stats(&start_ms),
        "callback_ms": stats(&callback_ms),
        "concurrent_requests_after_expiry": args.concurrent,
        "succeeded": ok,
        "refresh_calls_to_salesforce": refreshes,
        "burst_seconds": burst.as_secs_f64(),
    });
    if args.json {
        println!("{result}");
    } else {
        println!("link bench: {} sign-ins through the emulator", args.sign_ins);
        for (name, v) in [("link page", &page_ms), ("sign-in start", &start_ms), ("callback", &callback_ms)] {
            println!("  {name:<14} p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms", percentile(v, 0.5), percentile(v, 0.99), percentile(v, 1.0));
        }
        println!("  {} concurrent requests after the access token expired: {ok} succeeded, {refreshes} refresh call(s) reached Salesforce", args.concurrent);
    }
    drop(server);
    emulator.shutdown().await;
    anyhow::ensure!(refreshes == 1, "expected exactly one refresh, saw {refreshes}");
    Ok(())
}
