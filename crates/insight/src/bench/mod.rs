//! `insight bench`: throughput and latency figures, measured against a real
//! `insight serve` process over HTTP. Figures go to BENCHMARKS.md; tests
//! never assert on time.

mod deliver;
mod ingest;
mod linked;
mod link;
mod outbound;
mod mail;
mod responses;
mod results;
mod schema_check;
mod signin;
mod steady;

use clap::{Args, Subcommand, ValueEnum};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub which: Which,
}

#[derive(Subcommand, Debug)]
pub enum Which {
    /// Respondents submitting responses over HTTP to a running server
    Ingest(IngestArgs),
    /// The Salesforce link page and callback, and token refresh under load,
    /// against the local emulator
    Link(link::LinkArgs),
    /// A burst of concurrent sign-ins: the server's peak memory and how long
    /// the burst takes to be answered
    Signin(signin::SigninArgs),
    /// Salesforce outbound messages posted to the trigger endpoint: envelopes
    /// of 100 notifications, and one per envelope, side by side
    Outbound(outbound::OutboundArgs),
    /// Salesforce API calls per delivered response, upsert and related
    /// records, beside one call per record per response
    Deliver(deliver::DeliverArgs),
    /// Invitation mails through the mail worker to a local SMTP server,
    /// beside the naive way (one connection and one commit per mail)
    Mail(mail::MailArgs),
    /// The schema check of a project mapping N objects (fresh describes, a
    /// few at a time), beside one describe after another
    SchemaCheck(schema_check::SchemaCheckArgs),
    /// A survey's results report over many responses, loaded over HTTP by
    /// its owner, for all time and for a date range
    Results(results::ResultsArgs),
    /// Pages of a survey's responses table over many responses (first, deep
    /// in, a date range, text searches), beside the naive OFFSET query
    Responses(responses::ResponsesArgs),
    /// Respondents at a steady rate over HTTP to `insight serve`, delivered by
    /// separate `insight worker` processes: submit-to-record latency
    Steady(steady::SteadyArgs),
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
    /// Responses to submit the naive way afterwards (one commit each); 0 skips it
    #[arg(long, default_value_t = 5_000)]
    pub naive_requests: usize,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    match args.which {
        Which::Ingest(a) => ingest::ingest(a).await,
        Which::Link(a) => link::link(a).await,
        Which::Signin(a) => signin::signin(a).await,
        Which::Outbound(a) => outbound::outbound(a).await,
        Which::Mail(a) => mail::mail(a).await,
        Which::Deliver(a) => deliver::deliver(a).await,
        Which::SchemaCheck(a) => schema_check::schema_check(a).await,
        Which::Results(a) => results::results(a).await,
        Which::Responses(a) => responses::responses(a).await,
        Which::Steady(a) => steady::steady(a).await,
    }
}

pub(super) struct Server {
    child: Child,
    pub url: String,
    pub pid: u32,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn start_server(database_url: &str, env: &[(&str, String)]) -> anyhow::Result<Server> {
    start_process("serve", database_url, env)
}

/// `insight <command>` (`serve` or `worker`) on `database_url`, with a
/// fresh secret key unless `env` gives one; waits for its first line.
pub(super) fn start_process(command: &str, database_url: &str, env: &[(&str, String)]) -> anyhow::Result<Server> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args([command, "--bind", "127.0.0.1:0", "--json"])
        .env("INSIGHT_DATABASE_URL", database_url)
        .env("INSIGHT_SECRET_KEY", store::sealed::Sealer::generate_key())
        .env("INSIGHT_LOG", "error")
        .envs(env.iter().map(|(k, v)| (k.to_string(), v.clone())))
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

/// The first link containing `marker` in a mail written to `folder` (the
/// mail folder of a server started with INSIGHT_SMTP_URL set to a folder);
/// waits for the mail worker a bounded while.
pub(super) async fn wait_for_link(folder: &std::path::Path, marker: &str) -> anyhow::Result<String> {
    for _ in 0..200 {
        for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
            let text = quoted_printable_decoded(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            if let Some(at) = text.find(marker) {
                let start = text[..at].rfind("http").unwrap_or(at);
                return Ok(text[start..].split_whitespace().next().unwrap_or_default().to_string());
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    anyhow::bail!("no mail with {marker} arrived in {}", folder.display())
}

/// Mail bodies are quoted-printable: soft line breaks and `=XX` escapes.
fn quoted_printable_decoded(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Resident memory of a process, in KiB (Linux).
pub(super) fn rss_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmRSS:")
}

/// A memory figure of `/proc/PID/status` (`VmRSS:`, `VmHWM:`…), in KiB.
pub(super) fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with(field))?.split_whitespace().nth(1)?.parse().ok()
}

pub(super) fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}


/// A fresh database on `backend`, dropped with the value.
pub(crate) async fn fresh_database(backend: Backend) -> anyhow::Result<store::testing::TestDatabase> {
    Ok(match backend {
        Backend::Sqlite => store::testing::TestDatabase::sqlite(),
        Backend::Postgres => store::testing::TestDatabase::postgres().await.ok_or_else(|| anyhow::anyhow!("PostgreSQL is unreachable"))?,
    })
}

/// The CSRF token of a page's form, as a browser would post it back.
pub(super) fn csrf(html: &str) -> anyhow::Result<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).ok_or_else(|| anyhow::anyhow!("no CSRF token on the page"))? + marker.len();
    Ok(html[start..].chars().take_while(|c| *c != '"').collect())
}

/// A published survey of `responses` responses finished evenly over the last
/// 90 days, on a fresh database, with a real `insight serve` on it and an HTTP
/// client signed in as the survey's owner: what the page benches load.
pub(super) struct SeededSurvey {
    pub db: store::testing::TestDatabase,
    pub store: store::Store,
    pub project: i64,
    /// When the responses were seeded (the newest finished then).
    pub now: i64,
    pub seed_seconds: f64,
    /// How long the search index took to take in every seeded response, in
    /// the server's batches but without its pauses.
    pub index_seconds: f64,
    pub server: Server,
    pub base: String,
    pub http: reqwest::Client,
}

pub(super) const DAY_MS: i64 = 86_400_000;

/// Seeds and serves a `SeededSurvey` named `name` with `questions`; the `i`th
/// response's answers are `answers(i)`.
pub(super) async fn seeded_survey(
    backend: Backend,
    name: &str,
    questions: domain::SurveyDefinition,
    responses: usize,
    answers: impl Fn(usize) -> String,
) -> anyhow::Result<SeededSurvey> {
    use domain::{DisplayName, Email, EmbeddedProvenance, NewPassword, ProjectName, SurveyStatus};
    const PASSWORD: &str = "bench-password";
    let db = fresh_database(backend).await?;
    let store = db.store().await;
    let email = "bench@insight.example";
    let owner = store
        .create_account(&Email::parse(email)?, &DisplayName::parse("Bench")?, &web::hash_password(NewPassword::parse(PASSWORD)?).await?)
        .await?
        .ok_or_else(|| anyhow::anyhow!("bench account exists"))?;
    let project = store.create_project(owner.id, &ProjectName::parse(name)?, &web::new_survey_slug()).await?;
    let version = store.survey(project).await?.map(|s| s.version).unwrap_or(1);
    store.save_definition(project, &questions, version).await?;
    store.set_survey_status(project, SurveyStatus::Published).await?;

    // Finished evenly over the last 90 days, oldest first.
    let now = store::now_ms();
    let span = 90 * DAY_MS;
    let n = responses.max(1) as i64;
    let seeded: Vec<store::NewResponse> = (0..responses)
        .map(|i| {
            let finished_at = now - span + span * i as i64 / n;
            store::NewResponse {
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
    let t = std::time::Instant::now();
    store.seed_responses(&seeded).await?;
    let seed_seconds = t.elapsed().as_secs_f64();
    drop(seeded);
    // The text index caught up, as the server's background step leaves it.
    let t = std::time::Instant::now();
    while store.index_response_text(app::response_table::INDEX_BATCH).await? > 0 {}
    let index_seconds = t.elapsed().as_secs_f64();
    if backend == Backend::Postgres {
        // What autovacuum does soon after a bulk load. Without statistics the
        // planner guesses how many rows a search matches, and reads the ten
        // newest text answers by a bitmap scan of every response and a sort
        // (130 ms in psql) instead of walking the finish-time index backwards
        // (0.1 ms), until its plan cache switches to the generic plan.
        store.analyze_responses().await?;
    }

    let server = start_server(&db.url, &[])?;
    let base = server.url.clone();
    let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;
    let form = http.get(format!("{base}/signin")).send().await?.text().await?;
    let signed_in = http.post(format!("{base}/signin")).form(&[("csrf", csrf(&form)?.as_str()), ("email", email), ("password", PASSWORD)]).send().await?;
    anyhow::ensure!(signed_in.status() == reqwest::StatusCode::SEE_OTHER, "signing in answered {}", signed_in.status());
    Ok(SeededSurvey { db, store, project, now, seed_seconds, index_seconds, server, base, http })
}

/// Loads `url` once to warm the server (it must answer 200), then `loads`
/// times one after another: the warm page's text and each load's time in µs.
pub(super) async fn time_page_loads(http: &reqwest::Client, what: &str, url: &str, loads: usize) -> anyhow::Result<(String, Vec<u32>)> {
    let first = http.get(url).send().await?;
    anyhow::ensure!(first.status() == reqwest::StatusCode::OK, "{what} answered {}", first.status());
    let page = first.text().await?;
    let mut micros = Vec::with_capacity(loads);
    for _ in 0..loads {
        let t = std::time::Instant::now();
        let r = http.get(url).send().await?;
        let status = r.status();
        r.bytes().await?;
        anyhow::ensure!(status == reqwest::StatusCode::OK, "{what} answered {status}");
        micros.push(t.elapsed().as_micros() as u32);
    }
    Ok((page, micros))
}
