//! `insight bench results`: the results report of a survey of many
//! responses, loaded through a real `insight serve` over HTTP as its signed-in
//! owner, for all time and for a date range.

use super::csrf;
use super::{percentile, start_server, Backend};
use clap::Args;
use domain::{DisplayName, Email, NewPassword, ProjectName, QuestionKind, QuestionText, SurveyDefinition, SurveyStatus};
use serde_json::json;
use std::time::Instant;
use domain::EmbeddedProvenance;
use store::testing::TestDatabase;
use store::NewResponse;

#[derive(Args, Debug)]
pub struct ResultsArgs {
    /// Which database the server uses (a fresh one is made for the run)
    #[arg(long, value_enum, default_value = "sqlite")]
    pub backend: Backend,
    /// Responses seeded into the survey, finished over the last 90 days
    #[arg(long, default_value_t = 100_000)]
    pub responses: usize,
    /// Page loads per range, one after another
    #[arg(long, default_value_t = 50)]
    pub loads: usize,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

const DAY_MS: i64 = 86_400_000;
const PASSWORD: &str = "bench-password";

/// The answers of the `i`th seeded response: every question type the report
/// tallies, a multiple choice of one or two options, and a text now and then.
fn answers(i: usize) -> String {
    let plan = ["Free", "Pro", "Team"][i % 3];
    let channels = match i % 4 {
        0 => json!(["Email"]),
        1 => json!(["Email", "Chat"]),
        2 => json!(["Phone"]),
        _ => json!(["Chat", "Phone"]),
    };
    let mut a = json!({ "q1": (i * 7 % 11).to_string(), "q2": plan, "q3": channels, "q4": ((i * 13) % 50).to_string() });
    if i.is_multiple_of(5) {
        a["q5"] = json!(format!("Comment number {i}: the agent was quick and kind."));
    }
    a.to_string()
}

pub async fn results(args: ResultsArgs) -> anyhow::Result<()> {
    let db = match args.backend {
        Backend::Sqlite => TestDatabase::sqlite(),
        Backend::Postgres => TestDatabase::postgres().await.ok_or_else(|| anyhow::anyhow!("PostgreSQL is unreachable"))?,
    };
    let store = db.store().await;
    let email = "bench@insight.example";
    let owner = store
        .create_account(&Email::parse(email)?, &DisplayName::parse("Bench")?, &web::hash_password(NewPassword::parse(PASSWORD)?).await?)
        .await?
        .ok_or_else(|| anyhow::anyhow!("bench account exists"))?;
    let project = store.create_project(owner.id, &ProjectName::parse("Bench results")?, &web::new_survey_slug()).await?;
    let mut def = SurveyDefinition::default();
    def.add_question(QuestionText::parse("Recommend?")?, QuestionKind::Nps, true)?;
    def.add_question(QuestionText::parse("Plan")?, QuestionKind::from_form("single_choice", "Free\nPro\nTeam", "", "")?, true)?;
    def.add_question(QuestionText::parse("Channels")?, QuestionKind::from_form("multiple_choice", "Email\nPhone\nChat", "", "")?, false)?;
    def.add_question(QuestionText::parse("Seats")?, QuestionKind::from_form("number", "", "", "")?, false)?;
    def.add_question(QuestionText::parse("Comments")?, QuestionKind::Text { multiline: true }, false)?;
    let version = store.survey(project).await?.map(|s| s.version).unwrap_or(1);
    store.save_definition(project, &def, version).await?;
    store.set_survey_status(project, SurveyStatus::Published).await?;

    // Finished evenly over the last 90 days, oldest first.
    let now = store::now_ms();
    let span = 90 * DAY_MS;
    let n = args.responses.max(1) as i64;
    let seeded: Vec<NewResponse> = (0..args.responses)
        .map(|i| {
            let finished_at = now - span + span * i as i64 / n;
            NewResponse {
                public_id: format!("R_{i:022}"),
                project_id: project,
                answers: answers(i),
                embedded: "{}".into(),
                started_at: Some(finished_at - 60_000),
                finished_at,
                provenance: EmbeddedProvenance::Unsigned,
            }
        })
        .collect();
    let t = Instant::now();
    store.seed_responses(&seeded).await?;
    let seed_seconds = t.elapsed().as_secs_f64();
    drop(seeded);
    if args.backend == Backend::Postgres {
        // What autovacuum does soon after a bulk load. Without statistics
        // PostgreSQL reads the ten newest text answers by a bitmap scan of
        // every response and a sort (130 ms in psql) instead of walking the
        // finish-time index backwards (0.1 ms), until its plan cache
        // switches to the generic plan a few loads later.
        store.analyze_responses().await?;
    }

    let server = start_server(&db.url, &[])?;
    let base = server.url.clone();
    let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;
    let form = http.get(format!("{base}/signin")).send().await?.text().await?;
    let signed_in = http.post(format!("{base}/signin")).form(&[("csrf", csrf(&form)?.as_str()), ("email", email), ("password", PASSWORD)]).send().await?;
    anyhow::ensure!(signed_in.status() == reqwest::StatusCode::SEE_OTHER, "signing in answered {}", signed_in.status());

    let date = |ms: i64| time::OffsetDateTime::from_unix_timestamp(ms / 1000).map(|t| t.date().to_string()).unwrap_or_default();
    let ranges = [
        ("all_time", format!("{base}/projects/{project}/results")),
        ("last_30_days", format!("{base}/projects/{project}/results?from={}&to={}", date(now - 29 * DAY_MS), date(now))),
    ];
    let mut figures = serde_json::Map::new();
    for (name, url) in &ranges {
        // One load first, so the figures are of a warm server and cache.
        let first = http.get(url).send().await?;
        anyhow::ensure!(first.status() == reqwest::StatusCode::OK, "{name}: the results page answered {}", first.status());
        let page = first.text().await?;
        let counted = page.split("id=\"results-total\">").nth(1).and_then(|s| s.split(' ').next()).unwrap_or("?").to_string();
        let mut latencies: Vec<u32> = Vec::with_capacity(args.loads);
        for _ in 0..args.loads {
            let t = Instant::now();
            let r = http.get(url).send().await?;
            let status = r.status();
            r.bytes().await?;
            anyhow::ensure!(status == reqwest::StatusCode::OK, "{name}: the results page answered {status}");
            latencies.push(t.elapsed().as_micros() as u32);
        }
        latencies.sort_unstable();
        figures.insert(
            name.to_string(),
            json!({
                "responses_in_range": counted,
                "page_kib": page.len() / 1024,
                "latency_ms": { "p50": percentile(&latencies, 0.50), "p99": percentile(&latencies, 0.99), "max": percentile(&latencies, 1.0) },
            }),
        );
    }
    let result = json!({
        "bench": "results",
        "backend": format!("{:?}", args.backend).to_lowercase(),
        "responses": args.responses,
        "loads": args.loads,
        "seed_seconds": (seed_seconds * 100.0).round() / 100.0,
        "ranges": figures,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
    });
    if args.json {
        println!("{result}");
    } else {
        println!("{}", serde_json::to_string_pretty(&result)?);
    }
    drop(server);
    store.close().await;
    Ok(())
}

