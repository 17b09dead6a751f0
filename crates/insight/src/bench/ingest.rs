//! `insight bench ingest`: durable responses over HTTP.

use super::{percentile, rss_kib, start_server, IngestArgs};
use domain::{DisplayName, Email, NewPassword, ProjectName, QuestionKind, QuestionText, SurveyDefinition, SurveyStatus};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Group commit, then (unless `--naive-requests 0`) one commit per
/// response, each on a fresh database and server, in the same run.
pub async fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    let grouped = run(&args, args.requests, true).await?;
    if args.naive_requests == 0 {
        return Ok(());
    }
    let naive = run(&args, args.naive_requests, false).await?;
    let ratio = grouped["responses_per_second"].as_f64().unwrap_or(0.0) / naive["responses_per_second"].as_f64().unwrap_or(f64::NAN);
    match args.json {
        true => println!("{}", json!({ "bench": "ingest-ratio", "group_commit_vs_one_commit_each": ratio })),
        false => println!("group commit: {ratio:.1}× the responses/s of one commit per response"),
    }
    Ok(())
}

async fn run(args: &IngestArgs, requests: usize, group_commit: bool) -> anyhow::Result<serde_json::Value> {
    let db = super::fresh_database(args.backend).await?;
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

    // Every simulated respondent comes from 127.0.0.1: lift the per-address
    // limit, which is there for floods, not for this measurement.
    let server = start_server(
        &db.url,
        &[("INSIGHT_SUBMISSION_LIMIT_PER_ADDRESS", format!("{}/1s", requests.max(1))), ("INSIGHT_GROUP_COMMIT", group_commit.to_string())],
    )?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = rss_kib(server.pid);

    // The respondents share the machine's cores with the server, so they
    // cost as little as HTTP/1.1 allows: one kept-alive connection each,
    // driven by hyper's connection-level client (no pool, no redirects,
    // no cookie jar — what reqwest adds per request, none of it needed).
    let address = server.url.trim_start_matches("http://").to_string();
    let path = format!("/s/{slug}");
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (address, path, next, total) = (address.clone(), path.clone(), next.clone(), requests);
        workers.push(tokio::spawn(async move {
            let mut latencies: Vec<u32> = Vec::new();
            let mut failures = 0usize;
            let mut connection = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let body = format!("_rid=R_{i:022}&_started={}&q1={}&q2=Yes&q3=Fine+service+thanks", store::now_ms() - 30_000, i % 11);
                let t = Instant::now();
                match respond(&mut connection, &address, &path, body).await {
                    Ok(status) if status == hyper::StatusCode::SEE_OTHER => latencies.push(t.elapsed().as_micros() as u32),
                    Ok(_) => failures += 1,
                    Err(_) => {
                        // A broken connection is opened again for the next response.
                        connection = None;
                        failures += 1;
                    }
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::with_capacity(requests);
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
        "requests": requests,
        "group_commit": group_commit,
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
        let how = if group_commit { "group commit" } else { "one commit per response" };
        println!("ingest on {:?}, {how}: {} responses from {} concurrent respondents in {:.2} s", args.backend, latencies.len(), args.concurrency, elapsed.as_secs_f64());
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
    Ok(result)
}

/// One respondent's connection to the server.
type Connection = hyper::client::conn::http1::SendRequest<http_body_util::Full<hyper::body::Bytes>>;

/// Posts one survey form over `connection` (opened first if there is none)
/// and reads the answer to its end, so the connection can carry the next.
async fn respond(connection: &mut Option<Connection>, address: &str, path: &str, body: String) -> anyhow::Result<hyper::StatusCode> {
    use http_body_util::BodyExt;
    if connection.is_none() {
        let stream = tokio::net::TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (sender, driver) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(driver);
        *connection = Some(sender);
    }
    let sender = connection.as_mut().expect("opened above");
    sender.ready().await?;
    let request = hyper::Request::post(path)
        .header(hyper::header::HOST, address)
        .header(hyper::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))?;
    let answer = sender.send_request(request).await?;
    let status = answer.status();
    answer.into_body().collect().await?;
    Ok(status)
}
