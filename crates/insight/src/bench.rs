//! `insight bench`: throughput and latency figures, measured against a real
//! `insight serve` process over HTTP. Figures go to BENCHMARKS.md; tests
//! never assert on time.

use clap::{Args, Subcommand, ValueEnum};
use domain::{DisplayName, Email, NewPassword, ProjectName, QuestionKind, QuestionText, SurveyDefinition, SurveyStatus};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::testing::TestDatabase;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub which: Which,
}

#[derive(Subcommand, Debug)]
pub enum Which {
    /// Respondents submitting responses over HTTP to a running server
    Ingest(IngestArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Args, Debug)]
pub struct IngestArgs {
    /// Which database the server uses (a fresh one is made for the run)
    #[arg(long, value_enum, default_value = "sqlite")]
    pub backend: Backend,
    /// Concurrent respondents
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Responses to submit
    #[arg(long, default_value_t = 30_000)]
    pub requests: usize,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    match args.which {
        Which::Ingest(a) => ingest(a).await,
    }
}

struct Server {
    child: Child,
    url: String,
    pid: u32,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(database_url: &str) -> anyhow::Result<Server> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(["serve", "--bind", "127.0.0.1:0", "--json"])
        .env("INSIGHT_DATABASE_URL", database_url)
        .env("INSIGHT_SECRET_KEY", store::sealed::Sealer::generate_key())
        .env("INSIGHT_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| anyhow::anyhow!("server said {line:?}: {e}"))?;
    let url = v["url"].as_str().ok_or_else(|| anyhow::anyhow!("no url in {line}"))?.to_string();
    let pid = child.id();
    Ok(Server { child, url, pid })
}

/// Resident memory of a process, in KiB (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

async fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    let db = match args.backend {
        Backend::Sqlite => TestDatabase::sqlite(),
        Backend::Postgres => TestDatabase::postgres().await.ok_or_else(|| anyhow::anyhow!("PostgreSQL is unreachable"))?,
    };
    let store = db.store().await;
    let owner = store
        .create_account(
            &Email::parse("bench@insight.example")?,
            &DisplayName::parse("Bench")?,
            &web::hash_password(NewPassword::parse("bench-password")?).await?,
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("bench account exists"))?;
    let slug = web::new_survey_slug();
    let project = store.create_project(owner.id, &ProjectName::parse("Bench")?, &slug).await?;
    let mut def = SurveyDefinition::default();
    def.add_question(QuestionText::parse("Recommend?")?, QuestionKind::Nps, true)?;
    def.add_question(QuestionText::parse("Resolved?")?, QuestionKind::from_form("single_choice", "Yes\nNo", "", "")?, true)?;
    def.add_question(QuestionText::parse("Comments")?, QuestionKind::Text { multiline: true }, false)?;
    let version = store.survey(project).await?.map(|s| s.version).unwrap_or(1);
    store.save_definition(project, &def, version).await?;
    store.set_survey_status(project, SurveyStatus::Published).await?;

    let server = start_server(&db.url)?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = rss_kib(server.pid);

    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).pool_max_idle_per_host(args.concurrency).build()?;
    let target = format!("{}/s/{slug}", server.url);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (client, target, next, total) = (client.clone(), target.clone(), next.clone(), args.requests);
        workers.push(tokio::spawn(async move {
            let mut latencies: Vec<u32> = Vec::new();
            let mut failures = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let body = format!("_rid=R_{i:022}&_started={}&q1={}&q2=Yes&q3=Fine+service+thanks", store::now_ms() - 30_000, i % 11);
                let t = Instant::now();
                let r = client.post(&target).header("content-type", "application/x-www-form-urlencoded").body(body).send().await;
                match r {
                    Ok(resp) if resp.status() == reqwest::StatusCode::SEE_OTHER => latencies.push(t.elapsed().as_micros() as u32),
                    _ => failures += 1,
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::with_capacity(args.requests);
    let mut failures = 0;
    for w in workers {
        let (l, f) = w.await?;
        latencies.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed();
    let loaded_rss = rss_kib(server.pid);
    latencies.sort_unstable();
    let stored = store.survey(project).await?.map(|s| s.response_count).unwrap_or(0);
    let rate = latencies.len() as f64 / elapsed.as_secs_f64();
    let result = json!({
        "bench": "ingest",
        "backend": format!("{:?}", args.backend).to_lowercase(),
        "concurrency": args.concurrency,
        "requests": args.requests,
        "succeeded": latencies.len(),
        "failed": failures,
        "stored": stored,
        "seconds": elapsed.as_secs_f64(),
        "responses_per_second": rate,
        "latency_ms": { "p50": percentile(&latencies, 0.50), "p90": percentile(&latencies, 0.90), "p99": percentile(&latencies, 0.99), "max": percentile(&latencies, 1.0) },
        "server_rss_mib": { "idle": idle_rss.map(|k| k as f64 / 1024.0), "after_load": loaded_rss.map(|k| k as f64 / 1024.0) },
    });
    if args.json {
        println!("{result}");
    } else {
        println!("ingest on {:?}: {} responses from {} concurrent respondents in {:.2} s", args.backend, latencies.len(), args.concurrency, elapsed.as_secs_f64());
        println!("  throughput: {rate:.0} durable responses/s ({failures} failed, {stored} stored)");
        println!(
            "  latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.9),
            percentile(&latencies, 0.99),
            percentile(&latencies, 1.0)
        );
        println!(
            "  server RSS: idle {:.1} MiB, after load {:.1} MiB",
            idle_rss.unwrap_or(0) as f64 / 1024.0,
            loaded_rss.unwrap_or(0) as f64 / 1024.0
        );
    }
    drop(server);
    store.close().await;
    if stored as usize != latencies.len() {
        anyhow::bail!("{} responses were acknowledged but {stored} are stored", latencies.len());
    }
    Ok(())
}
