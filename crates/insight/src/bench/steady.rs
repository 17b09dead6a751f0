//! `insight bench steady`: respondents posting at a steady rate over HTTP to
//! a real `insight serve` (which only takes responses), delivered into the
//! emulator by N separate `insight worker` processes on the same database.
//! The figure is the time from each respondent's POST to its record
//! existing in the emulator (the record's `CreatedDate`, in milliseconds,
//! against the moment the POST was sent; one clock, one machine), with the
//! API calls the emulator counted.

use super::deliver::{setup, survey, Shape};
use clap::Args;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct SteadyArgs {
    /// The database (`insight serve` and the workers share it)
    #[arg(long, value_enum, default_value = "sqlite")]
    pub backend: super::Backend,
    /// Responses per second
    #[arg(long, default_value_t = 200)]
    pub rate: u32,
    /// For how long
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// `insight worker` processes delivering
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Latency the emulator adds to every API call, as a real org's round trip
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

fn now_ms() -> i64 {
    store::now_ms()
}

pub async fn steady(args: SteadyArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.rate > 0 && args.seconds > 0 && args.workers > 0, "--rate, --seconds and --workers must be above 0");
    let s = setup(args.backend).await?;
    let (project, _) = survey(&s, Shape::Upsert, "st", 0, true).await?;
    let slug = s.store.survey(project).await?.map(|v| v.slug).ok_or_else(|| anyhow::anyhow!("no survey"))?;
    let key = s.app_config.secret_key.clone().unwrap_or_default();
    let db_url = s.app_config.database_url.clone();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    if args.latency_ms > 0 {
        let faults = format!("{}/orgs/{}/faults", s.emulator.admin_url(), s.org_id);
        http.put(faults).json(&json!({ "latency_ms": args.latency_ms })).send().await?.error_for_status()?;
    }

    // The server takes responses only (no Salesforce configured), so every
    // delivery is the workers'.
    let server = super::start_process(
        "serve",
        &db_url,
        &[("INSIGHT_SECRET_KEY", key.clone()), ("INSIGHT_SUBMISSION_LIMIT_PER_ADDRESS", "1000000/1s".into())],
    )?;
    let sf = s.app_config.salesforce.clone().ok_or_else(|| anyhow::anyhow!("no Salesforce settings"))?;
    let worker_env = [
        ("INSIGHT_SECRET_KEY", key.clone()),
        ("INSIGHT_SALESFORCE_CLIENT_ID", sf.client_id.clone()),
        ("INSIGHT_SALESFORCE_CLIENT_SECRET", sf.client_secret.clone()),
        ("INSIGHT_SALESFORCE_LOGIN_URL", sf.production_login_url.clone()),
        ("INSIGHT_SALESFORCE_SANDBOX_LOGIN_URL", sf.sandbox_login_url.clone()),
        ("INSIGHT_SALESFORCE_TRUSTED_HOSTS", sf.trusted_hosts.join(",")),
    ];
    let workers: Vec<super::Server> = (0..args.workers).map(|_| super::start_process("worker", &db_url, &worker_env)).collect::<anyhow::Result<_>>()?;
    let calls_before = s.emulator.api_usage(&s.org_id).map(|u| u.0).unwrap_or(0);

    // One POST every 1/rate s, each on its own task, its send time kept.
    let total = args.rate as usize * args.seconds as usize;
    let mut every = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate as f64));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut posts = tokio::task::JoinSet::new();
    let url = format!("{}/s/{slug}", server.url);
    let started = Instant::now();
    for i in 0..total {
        every.tick().await;
        let (http, url) = (http.clone(), url.clone());
        posts.spawn(async move {
            let rid = format!("R_st{i:020}");
            let body = format!("_rid={rid}&q1={}&q2=r{i}%40bench.example&q3=Respondent+{i}", i % 11);
            let sent = now_ms();
            let r = http.post(url).header("content-type", "application/x-www-form-urlencoded").body(body).send().await;
            let ok = r.map(|r| r.status() == reqwest::StatusCode::SEE_OTHER).unwrap_or(false);
            (rid, sent, ok)
        });
    }
    let sending = started.elapsed().as_secs_f64();
    let mut sent_at: HashMap<String, i64> = HashMap::with_capacity(total);
    while let Some(r) = posts.join_next().await {
        let (rid, sent, ok) = r?;
        anyhow::ensure!(ok, "the server refused response {rid}");
        sent_at.insert(rid, sent);
    }
    let wait = Instant::now();
    loop {
        let c = s.store.delivery_counts(project).await?;
        if c.delivered == total as i64 {
            break;
        }
        anyhow::ensure!(wait.elapsed() < Duration::from_secs(600), "only {} of {total} delivered: {c:?}", c.delivered);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let calls = s.emulator.api_usage(&s.org_id).map(|u| u.0).unwrap_or(0) - calls_before;
    drop(workers);
    drop(server);

    // Each record's CreatedDate against its POST.
    let records: Value = http.get(format!("{}/orgs/{}/records/Survey_Response__c", s.emulator.admin_url(), s.org_id)).send().await?.json().await?;
    let format = time::format_description::parse_borrowed::<2>("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour][offset_minute]")?;
    let mut latencies: Vec<u32> = Vec::with_capacity(total);
    for r in records["records"].as_array().into_iter().flatten() {
        let (Some(rid), Some(created)) = (r["External_Id__c"].as_str(), r["CreatedDate"].as_str()) else { continue };
        let Some(sent) = sent_at.get(rid) else { continue };
        let created = time::OffsetDateTime::parse(created, &format)?;
        let created_ms = (created.unix_timestamp_nanos() / 1_000_000) as i64;
        latencies.push(((created_ms - sent).max(0) as u32).saturating_mul(1000));
    }
    anyhow::ensure!(latencies.len() == total, "{} records for {total} responses", latencies.len());
    latencies.sort_unstable();
    // `percentile` reads microseconds and answers milliseconds.
    let p = |q| super::percentile(&latencies, q);
    let out = json!({
        "bench": "steady",
        "rate": args.rate,
        "seconds": args.seconds,
        "workers": args.workers,
        "latency_ms_per_call": args.latency_ms,
        "responses": total,
        "sending_s": sending,
        "api_calls": calls,
        "calls_per_response": calls as f64 / total as f64,
        "submit_to_record_ms": { "p50": p(0.5), "p99": p(0.99), "max": p(1.0) },
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
    });
    if args.json {
        println!("{out}");
    } else {
        println!(
            "{} responses at {}/s for {} s (sent in {sending:.1} s), {} worker(s), +{} ms per API call: submit→record p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; {calls} API calls ({:.4} per response)",
            total,
            args.rate,
            args.seconds,
            args.workers,
            args.latency_ms,
            p(0.5),
            p(0.99),
            p(1.0),
            calls as f64 / total as f64
        );
    }
    s.emulator.shutdown().await;
    Ok(())
}
