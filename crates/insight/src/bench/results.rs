//! `insight bench results`: the results report of a survey of many
//! responses, loaded through a real `insight serve` over HTTP as its signed-in
//! owner, for all time and for a date range.

use super::{percentile, seeded_survey, time_page_loads, Backend, SeededSurvey, DAY_MS};
use clap::Args;
use domain::{QuestionKind, QuestionText, SurveyDefinition};
use serde_json::json;

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
    let mut def = SurveyDefinition::default();
    def.add_question(QuestionText::parse("Recommend?")?, QuestionKind::Nps, true)?;
    def.add_question(QuestionText::parse("Plan")?, QuestionKind::from_form("single_choice", "Free\nPro\nTeam", "", "")?, true)?;
    def.add_question(QuestionText::parse("Channels")?, QuestionKind::from_form("multiple_choice", "Email\nPhone\nChat", "", "")?, false)?;
    def.add_question(QuestionText::parse("Seats")?, QuestionKind::from_form("number", "", "", "")?, false)?;
    def.add_question(QuestionText::parse("Comments")?, QuestionKind::Text { multiline: true }, false)?;
    let SeededSurvey { db: _db, store, project, now, seed_seconds, index_seconds: _, server, base, http } =
        seeded_survey(args.backend, "Bench results", def, args.responses, answers).await?;

    let date = |ms: i64| time::OffsetDateTime::from_unix_timestamp(ms / 1000).map(|t| t.date().to_string()).unwrap_or_default();
    let ranges = [
        ("all_time", format!("{base}/projects/{project}/results")),
        ("last_30_days", format!("{base}/projects/{project}/results?from={}&to={}", date(now - 29 * DAY_MS), date(now))),
    ];
    let mut figures = serde_json::Map::new();
    for (name, url) in &ranges {
        // One load first, so the figures are of a warm server and cache.
        let (page, mut latencies) = time_page_loads(&http, &format!("{name}: the results page"), url, args.loads).await?;
        let counted = page.split("id=\"results-total\">").nth(1).and_then(|s| s.split(' ').next()).unwrap_or("?").to_string();
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

