//! `insight bench deliver`: Salesforce API calls per delivered response, and
//! the rate, for two mapping shapes — one upsert per response, and a Contact
//! matched by email plus a related Survey_Response__c pointing to it — with
//! the delivery worker, beside the naive way (one call per record per
//! response) in the same run. The emulator runs in-process and counts the
//! calls, as Salesforce counts them against the org's daily limit.

use clap::{Args, ValueEnum};
use domain::{FieldName, FieldRule, Mapping, MappingAction, ProjectName, QuestionKind, QuestionText, SObjectName, SurveyDefinition, SurveyStatus, ValueSource};
use serde_json::{json, Map, Value};
use std::time::Instant;
use store::testing::TestDatabase;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Shape {
    /// One Survey_Response__c upserted per response
    Upsert,
    /// A Contact matched by email (half of them exist) and a related Survey_Response__c
    Related,
}

#[derive(Args, Debug)]
pub struct DeliverArgs {
    /// The database
    #[arg(long, value_enum, default_value = "sqlite")]
    pub backend: super::Backend,
    /// Responses the worker delivers, per shape
    #[arg(long, default_value_t = 10_000)]
    pub responses: usize,
    /// Responses the naive way delivers, per shape (one call per record, so fewer)
    #[arg(long, default_value_t = 1_000)]
    pub naive_responses: usize,
    /// Which shapes to measure (default: both)
    #[arg(long, value_enum)]
    pub shape: Vec<Shape>,
    /// Dry runs of a sample response timed, per shape
    #[arg(long, default_value_t = 200)]
    pub dry_runs: usize,
    /// Latency the emulator adds to every API call, as a real org's round
    /// trip (the in-process emulator answers in microseconds, which flatters
    /// one call per response)
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

pub(super) struct Setup {
    pub store: store::Store,
    /// What `app::App::build` needs to open the same database.
    pub app_config: app::startup::Config,
    settings: app::SalesforceSettings,
    pub emulator: sfemu::Emulator,
    pub org_id: String,
    owner: i64,
    pub _db: TestDatabase,
}

pub async fn deliver(args: DeliverArgs) -> anyhow::Result<()> {
    let shapes = if args.shape.is_empty() { vec![Shape::Upsert, Shape::Related] } else { args.shape.clone() };
    let s = setup(args.backend).await?;
    if args.latency_ms > 0 {
        let faults = format!("{}/orgs/{}/faults", s.emulator.admin_url(), s.org_id);
        reqwest::Client::new().put(faults).json(&json!({ "latency_ms": args.latency_ms })).send().await?.error_for_status()?;
    }
    let mut results = Vec::new();
    // The worker as configured (a backlog over the Bulk threshold that fits
    // goes through Bulk API 2.0 jobs), and with Collections calls only.
    let mut collections_only = s.settings.clone();
    collections_only.bulk.threshold = 0;
    for shape in shapes {
        let (worker, project) = run_worker(&s, &collections_only, shape, "w", args.responses).await?;
        let mut r = json!({ "shape": format!("{shape:?}").to_lowercase(), "worker": worker });
        if shape == Shape::Upsert && s.settings.bulk.threshold > 0 && args.responses as i64 > s.settings.bulk.threshold {
            r["bulk"] = run_worker(&s, &s.settings, shape, "b", args.responses).await?.0;
        }
        r["naive"] = run_naive(&s, shape, args.naive_responses).await?;
        r["dry_run"] = dry_runs(&s, project, args.dry_runs).await?;
        results.push(r);
    }
    let out = json!({ "bench": "deliver", "latency_ms_per_call": args.latency_ms, "results": results, "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) });
    if args.json {
        println!("{out}");
    } else {
        for r in &results {
            for way in ["bulk", "worker", "naive"] {
                let w = &r[way];
                if w.is_null() {
                    continue;
                }
                println!(
                    "{:<8} {:<6}: {:>6} responses, {:>6} API calls, {:.4} calls/response, {:>8.0} responses/s",
                    r["shape"].as_str().unwrap_or(""),
                    way,
                    w["responses"],
                    w["api_calls"],
                    w["calls_per_response"].as_f64().unwrap_or(0.0),
                    w["responses_per_s"].as_f64().unwrap_or(0.0)
                );
            }
            let d = &r["dry_run"];
            println!(
                "{:<8} dry run: first {:.1} ms (describes read), then p50 {:.1} ms, p99 {:.1} ms over {} runs",
                r["shape"].as_str().unwrap_or(""),
                d["first_ms"].as_f64().unwrap_or(0.0),
                d["p50_ms"].as_f64().unwrap_or(0.0),
                d["p99_ms"].as_f64().unwrap_or(0.0),
                d["runs"]
            );
        }
    }
    s.emulator.shutdown().await;
    Ok(())
}

pub(super) async fn setup(backend: super::Backend) -> anyhow::Result<Setup> {
    let mut config = sfemu::EmulatorConfig::default_demo();
    // The bench makes far more calls than a demo org's daily limit allows.
    config.api_daily_limit = u64::MAX / 2;
    let emulator = sfemu::Emulator::start(config.clone(), "127.0.0.1:0".parse()?, None).await?;
    let linked = super::linked::linked_owner(&emulator, &config, "for the delivery bench", backend).await?;
    let mut app_config = app::startup::Config::new(linked.db.url.clone());
    app_config.secret_key = Some(linked.key.clone());
    app_config.public_url = Some("http://127.0.0.1".into());
    app_config.salesforce = Some(app::startup::SalesforceConfig {
        client_id: linked.connected.client_id.clone(),
        client_secret: linked.connected.client_secret.clone(),
        production_login_url: emulator.production_login_url(),
        sandbox_login_url: emulator.sandbox_login_url(),
        trusted_hosts: vec![emulator.http_url()],
    });
    let super::linked::LinkedOwner { db, store, owner, org_id, settings, .. } = linked;
    Ok(Setup { store, app_config, settings, emulator, org_id, owner, _db: db })
}

fn rule(field: &str, source: &str) -> FieldRule {
    FieldRule { field: FieldName::parse(field).expect("field name"), source: ValueSource::parse(source, "").expect("source"), convert: None }
}

fn mappings(shape: Shape) -> Vec<Mapping> {
    let response = Mapping {
        object: SObjectName::parse("Survey_Response__c").expect("object"),
        action: MappingAction::Upsert { external_id_field: FieldName::parse("External_Id__c").expect("field") },
        rules: vec![rule("External_Id__c", "response_id"), rule("Score__c", "answer:q1")],
        condition: None,
    };
    match shape {
        Shape::Upsert => vec![response],
        Shape::Related => {
            let contact = Mapping {
                object: SObjectName::parse("Contact").expect("object"),
                action: MappingAction::Match { field: FieldName::parse("Email").expect("field"), source: ValueSource::parse("answer:q2", "").expect("source"), when_none: domain::mapping::WhenNone::Create },
                rules: vec![FieldRule { convert: Some(domain::mapping::Convert::CutToFit), ..rule("LastName", "answer:q3") }],
                condition: None,
            };
            let mut response = response;
            response.rules.push(rule("Contact__c", "record_of:Contact"));
            vec![contact, response]
        }
    }
}

/// The n-th respondent's email: even ones belong to Contacts made beforehand.
fn email(run: &str, n: usize) -> String {
    format!("{run}-{n}@bench.example")
}

/// A published survey with the shape's mappings, `n` stored responses, and
/// Contacts for half of them.
pub(super) async fn survey(s: &Setup, shape: Shape, run: &str, n: usize, deliveries: bool) -> anyhow::Result<(i64, Vec<(String, String)>)> {
    let slug = web::new_survey_slug();
    let project = s.store.create_project(s.owner, &ProjectName::parse(run).map_err(|e| anyhow::anyhow!(e.0))?, &slug).await?;
    let mut def = SurveyDefinition::default();
    let q = |t: &str| QuestionText::parse(t).expect("question");
    def.add_question(q("How likely are you to recommend us?"), QuestionKind::Nps, true).map_err(|e| anyhow::anyhow!(e.0))?;
    def.add_question(q("Your email"), QuestionKind::Email, true).map_err(|e| anyhow::anyhow!(e.0))?;
    def.add_question(q("Your last name"), QuestionKind::Text { multiline: false }, true).map_err(|e| anyhow::anyhow!(e.0))?;
    s.store.save_definition(project, &def, 1).await?;
    s.store.set_survey_status(project, SurveyStatus::Published).await?;
    if deliveries {
        anyhow::ensure!(s.store.save_integration(project, &mappings(shape), Some(&s.org_id), 0).await?, "integration not saved");
    }
    if shape == Shape::Related {
        // Made through the emulator's admin side, which counts no API call.
        let http = reqwest::Client::new();
        let url = format!("{}/orgs/{}/records/Contact", s.emulator.admin_url(), s.org_id);
        for i in (0..n).step_by(2) {
            let r = http.post(&url).json(&json!({"Email": email(run, i), "LastName": format!("Before {i}")})).send().await?;
            anyhow::ensure!(r.status().is_success(), "seeding a Contact: {}", r.status());
        }
    }
    let writer = s.store.response_writer();
    let mut ids = Vec::with_capacity(n);
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..n {
        let (writer, public_id) = (writer.clone(), format!("R_{run}{i:0>width$}", width = 22 - run.len()));
        let answers = json!({"q1": i % 11, "q2": email(run, i), "q3": format!("Respondent {i}")}).to_string();
        ids.push((public_id.clone(), email(run, i)));
        sends.spawn(async move {
            writer
                .submit(store::responses::NewResponse { public_id, project_id: project, answers, embedded: "{}".into(), started_at: None, finished_at: store::now_ms(), provenance: Default::default() })
                .await
        });
    }
    while let Some(r) = sends.join_next().await {
        r??;
    }
    Ok((project, ids))
}

fn figures(responses: usize, calls: u64, seconds: f64) -> Value {
    json!({
        "responses": responses,
        "api_calls": calls,
        "calls_per_response": calls as f64 / responses.max(1) as f64,
        "seconds": seconds,
        "responses_per_s": responses as f64 / seconds.max(1e-9),
    })
}

/// The delivery worker: claims of 200, each mapping one collection (a
/// match one query more), related records in one composite call — or,
/// with the Bulk API on, jobs of up to 10,000 rows for a backlog that fits.
async fn run_worker(s: &Setup, settings: &app::SalesforceSettings, shape: Shape, way: &str, n: usize) -> anyhow::Result<(Value, i64)> {
    let run = match shape {
        Shape::Upsert => format!("{way}up"),
        Shape::Related => format!("{way}rel"),
    };
    let (project, _) = survey(s, shape, &run, n, true).await?;
    let before = s.emulator.api_usage(&s.org_id).map(|u| u.0).unwrap_or(0);
    let started = Instant::now();
    loop {
        match app::delivery::try_execute(&s.store, settings, app::delivery::DEFAULT_LEASE_MS).await? {
            app::delivery::ExecutionOutcome::Worked(_) => {}
            app::delivery::ExecutionOutcome::EmptyQueue => break,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let calls = s.emulator.api_usage(&s.org_id).map(|u| u.0).unwrap_or(0) - before;
    let counts = s.store.delivery_counts(project).await?;
    anyhow::ensure!(counts.delivered == n as i64, "only {} of {n} delivered: {counts:?}", counts.delivered);
    Ok((figures(n, calls, seconds), project))
}

/// The naive way: each response on its own, one call per record (and for a
/// match, a query first), as a simple integration would.
async fn run_naive(s: &Setup, shape: Shape, n: usize) -> anyhow::Result<Value> {
    let run = match shape {
        Shape::Upsert => "nup",
        Shape::Related => "nrel",
    };
    let (_, responses) = survey(s, shape, run, n, false).await?;
    let client = s.settings.sessions.client(&s.store, &s.settings, s.owner).await?;
    let before = s.emulator.api_usage(&s.org_id).map(|u| u.0).unwrap_or(0);
    let started = Instant::now();
    for (i, (rid, email)) in responses.iter().enumerate() {
        let mut fields = Map::new();
        fields.insert("Score__c".into(), json!(i % 11));
        if shape == Shape::Related {
            let soql = format!("SELECT Id FROM Contact WHERE Email = {}", salesforce::rest::soql_string_literal(email));
            let found = client.query::<Map<String, Value>>(&soql).await?;
            let contact = json!({"LastName": format!("Respondent {i}")});
            let id = match found.records.first().and_then(|r| r.get("Id")).and_then(Value::as_str) {
                Some(id) => {
                    let id = salesforce::RecordId::parse(id)?;
                    client.update("Contact", &id, &contact).await?;
                    id
                }
                None => client.create("Contact", &json!({"LastName": format!("Respondent {i}"), "Email": email})).await?,
            };
            fields.insert("Contact__c".into(), json!(id));
        }
        client.upsert_by_external_id("Survey_Response__c", "External_Id__c", rid, &fields).await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let calls = s.emulator.api_usage(&s.org_id).map(|u| u.0).unwrap_or(0) - before;
    Ok(figures(n, calls, seconds))
}

/// "Test with a sample response", as the page asks it: the mappings checked
/// against the owner's org (describes cached after the first) and the
/// records built, nothing written.
async fn dry_runs(s: &Setup, project: i64, runs: usize) -> anyhow::Result<Value> {
    let app = app::App::build(&s.app_config).await?;
    let project = app.project(s.owner, project).await?;
    let mut times = Vec::with_capacity(runs + 1);
    for _ in 0..=runs {
        let started = Instant::now();
        let run = app.dry_run(&project, None).await?;
        anyhow::ensure!(run.writes.iter().all(|w| w.result.is_ok()), "the dry run found a mapping that does not fit: {:?}", run.writes);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let first = times.remove(0);
    times.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| times.get(((times.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0);
    Ok(json!({ "runs": runs, "first_ms": first, "p50_ms": at(0.5), "p99_ms": at(0.99) }))
}
