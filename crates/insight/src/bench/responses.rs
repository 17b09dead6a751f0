//! `insight bench responses`: pages of the responses table of a survey of
//! many responses, loaded through a real `insight serve` over HTTP as its
//! signed-in owner — the first page, pages deep in (as the Older links lead
//! there), a date range and text searches (once the search index has taken
//! in every response, which is timed) — beside the same rows read with the
//! naive `OFFSET` query, timed in the same run.

use super::{percentile, seeded_survey, time_page_loads, Backend, SeededSurvey, DAY_MS};
use clap::Args;
use domain::{QuestionKind, QuestionText, ResponseFilter, SurveyDefinition, TableKey};
use serde_json::json;
use std::time::Instant;
use store::response_table::Direction;

#[derive(Args, Debug)]
pub struct ResponsesArgs {
    /// Which database the server uses (a fresh one is made for the run)
    #[arg(long, value_enum, default_value = "sqlite")]
    pub backend: Backend,
    /// Responses seeded into the survey, finished over the last 90 days
    #[arg(long, default_value_t = 100_000)]
    pub responses: usize,
    /// Loads per case, one after another
    #[arg(long, default_value_t = 50)]
    pub loads: usize,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

const PAGE: i64 = 50;

/// The `i`th response's answers: a score, a plan, and every fifth a comment
/// (so a text search has text to look through, and a rare term is rare).
fn answers(i: usize) -> String {
    let plan = ["Free", "Pro", "Team"][i % 3];
    let mut a = json!({ "q1": (i * 7 % 11).to_string(), "q2": plan });
    if i.is_multiple_of(5) {
        a["q3"] = json!(format!("Comment number {i}: the agent was quick and kind."));
    }
    a.to_string()
}

fn summary(mut micros: Vec<u32>) -> serde_json::Value {
    micros.sort_unstable();
    json!({ "p50": percentile(&micros, 0.50), "p99": percentile(&micros, 0.99) })
}

pub async fn responses(args: ResponsesArgs) -> anyhow::Result<()> {
    let mut def = SurveyDefinition::default();
    def.add_question(QuestionText::parse("Recommend?")?, QuestionKind::Nps, true)?;
    def.add_question(QuestionText::parse("Plan")?, QuestionKind::from_form("single_choice", "Free\nPro\nTeam", "", "")?, true)?;
    def.add_question(QuestionText::parse("Comments")?, QuestionKind::Text { multiline: true }, false)?;
    let n = args.responses.max(1);
    let SeededSurvey { db: _db, store, project, now, seed_seconds, index_seconds, server, base, http } =
        seeded_survey(args.backend, "Bench responses", def, n, answers).await?;

    // The key an Older link carries to the page at `depth` (the row just
    // before it), newest first: what following the links there would give.
    let everything = ResponseFilter::default();
    let key_before = |depth: i64| {
        let store = store.clone();
        let everything = everything.clone();
        async move {
            let row = store.response_table_rows_at_offset(project, &everything, depth - 1, 1).await?;
            let r = row.first().ok_or_else(|| anyhow::anyhow!("no row at {depth}"))?;
            anyhow::Ok(TableKey { finished_at: r.finished_at, id: r.id })
        }
    };
    let date = |ms: i64| time::OffsetDateTime::from_unix_timestamp(ms / 1000).map(|t| t.date().to_string()).unwrap_or_default();
    let total = n as i64;
    let depths = [("first_page", 0), ("middle", total / 2), ("near_end", (total - PAGE).max(1))];
    let table = format!("{base}/projects/{project}/responses");
    // (case, URL, depth for the OFFSET comparison, the filter it uses)
    let mut cases: Vec<(String, String, Option<(i64, Option<TableKey>)>, ResponseFilter)> = Vec::new();
    for (name, depth) in depths {
        let key = if depth == 0 { None } else { Some(key_before(depth).await?) };
        let url = match key {
            None => table.clone(),
            Some(k) => format!("{table}?after={}", k.to_param()),
        };
        cases.push((name.into(), url, Some((depth, key)), everything.clone()));
    }
    let (from, to) = (date(now - 29 * DAY_MS), date(now));
    let filters = [
        ("last_30_days", format!("from={from}&to={to}"), domain::FilterInput { from: &from, to: &to, ..Default::default() }),
        ("text_search_common", "q=quick".to_string(), domain::FilterInput { q: "quick", ..Default::default() }),
        ("text_search_rare", "q=number+77775%3A".to_string(), domain::FilterInput { q: "number 77775:", ..Default::default() }),
        ("response_id_prefix", "q=R_0000000000000000012".to_string(), domain::FilterInput { q: "R_0000000000000000012", ..Default::default() }),
        ("response_id_whole", "q=R_0000000000000000012345".to_string(), domain::FilterInput { q: "R_0000000000000000012345", ..Default::default() }),
    ];
    for (name, query, input) in filters {
        let filter = ResponseFilter::parse(&input).map_err(|p| anyhow::anyhow!(p.message))?;
        cases.push((name.into(), format!("{table}?{query}"), None, filter));
    }

    let mut figures = serde_json::Map::new();
    for (name, url, depth, filter) in &cases {
        // One load first, so the figures are of a warm server and cache.
        let (page, http_us) = time_page_loads(&http, &format!("{name}: the table"), url, args.loads).await?;
        let rows = page.matches("data-response-id=").count();
        let matched = page.split("id=\"responses-match\">").nth(1).and_then(|s| s.split(", newest").next()).unwrap_or("?").to_string();
        let mut figure = json!({ "rows": rows, "matches": matched, "http_page_ms": summary(http_us), "page_kib": page.len() / 1024 });
        // The page's rows alone, sought by key and skipped to by OFFSET.
        let (keyset, offset) = {
            let (mut k, mut o) = (Vec::new(), Vec::new());
            let (depth, key) = depth.unwrap_or((0, None));
            for _ in 0..args.loads {
                let t = Instant::now();
                let a = store.response_table_rows(project, filter, Direction::Descending, key, PAGE + 1).await?;
                k.push(t.elapsed().as_micros() as u32);
                let t = Instant::now();
                let b = store.response_table_rows_at_offset(project, filter, depth, PAGE + 1).await?;
                o.push(t.elapsed().as_micros() as u32);
                anyhow::ensure!(a.iter().map(|r| r.id).eq(b.iter().map(|r| r.id)), "{name}: keyset and OFFSET read different rows");
            }
            (k, o)
        };
        figure["depth"] = json!(depth.map(|d| d.0).unwrap_or(0));
        figure["query_keyset_ms"] = summary(keyset);
        figure["query_offset_ms"] = summary(offset);
        figures.insert(name.clone(), figure);
    }
    let result = json!({
        "bench": "responses",
        "backend": format!("{:?}", args.backend).to_lowercase(),
        "responses": n,
        "loads": args.loads,
        "seed_seconds": (seed_seconds * 100.0).round() / 100.0,
        "index_seconds": (index_seconds * 100.0).round() / 100.0,
        "cases": figures,
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

