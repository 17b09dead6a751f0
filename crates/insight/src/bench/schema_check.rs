//! `insight bench schema-check`: how long the schema check of a project
//! mapping N objects takes (`app::schema_drift::check_project`: distinct
//! objects described fresh, a few at a time), beside the naive way (one
//! describe after another), against the in-process emulator with a
//! per-call latency standing in for Salesforce's round trip.

use clap::Args;
use domain::{FieldName, FieldRule, Mapping, MappingAction, ProjectName, QuestionKind, QuestionText, SObjectName, SurveyDefinition, ValueSource};
use serde_json::json;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct SchemaCheckArgs {
    /// Mapped objects (one mapping each)
    #[arg(long, default_value_t = 20)]
    pub objects: usize,
    /// Latency the emulator adds to every call, in milliseconds (Salesforce
    /// answers a describe in roughly 100–300 ms)
    #[arg(long, default_value_t = 150)]
    pub latency_ms: u64,
    /// Checks per way; the median is reported
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

fn object_name(i: usize) -> String {
    format!("Bench_{i}__c")
}

pub async fn schema_check(args: SchemaCheckArgs) -> anyhow::Result<()> {
    let mut config = sfemu::EmulatorConfig::default_demo();
    config.api_daily_limit = u64::MAX / 2;
    for i in 0..args.objects {
        config.custom_objects.push(serde_json::from_value(json!({
            "name": object_name(i),
            // Explicit prefixes: the generated ones repeat after ten objects.
            "key_prefix": format!("b{i:02}"),
            "fields": [
                { "name": "External_Id__c", "type": "string", "length": 64, "external_id": true, "unique": true },
                { "name": "Score__c", "type": "double", "precision": 5, "scale": 2 },
            ],
        }))?);
    }
    let emulator = sfemu::Emulator::start(config.clone(), "127.0.0.1:0".parse()?, None).await?;
    let super::linked::LinkedOwner { db: _db, store, owner, org_id, settings, .. } = super::linked::linked_owner(&emulator, &config, "for the schema-check bench", super::Backend::Sqlite).await?;

    let project_id = store.create_project(owner, &ProjectName::parse("Schema check bench").map_err(|e| anyhow::anyhow!(e.0))?, &web::new_survey_slug()).await?;
    let mut survey = SurveyDefinition::default();
    survey.add_question(QuestionText::parse("How likely are you to recommend us?").map_err(|e| anyhow::anyhow!(e.0))?, QuestionKind::Nps, true).map_err(|e| anyhow::anyhow!(e.0))?;
    store.save_definition(project_id, &survey, 1).await?;
    let rule = |field: &str, source: ValueSource| FieldRule { field: FieldName::parse(field).expect("field"), source, convert: None };
    let mappings: Vec<Mapping> = (0..args.objects)
        .map(|i| Mapping {
            object: SObjectName::parse(&object_name(i)).expect("object"),
            action: MappingAction::Upsert { external_id_field: FieldName::parse("External_Id__c").expect("field") },
            rules: vec![rule("External_Id__c", ValueSource::ResponseId), rule("Score__c", ValueSource::parse("answer:q1", "").expect("source"))],
            condition: None,
        })
        .collect();
    anyhow::ensure!(store.save_integration(project_id, &mappings, Some(&org_id), 0).await?, "integration not saved");
    let project = store.project_as_owner(project_id).await?.ok_or_else(|| anyhow::anyhow!("no project"))?;

    // Every call waits as long as a Salesforce round trip would.
    let faults = format!("{}/orgs/{org_id}/faults", emulator.admin_url());
    reqwest::Client::new().put(&faults).json(&json!({ "latency_ms": args.latency_ms })).send().await?.error_for_status()?;

    let calls = || emulator.api_usage(&org_id).map(|u| u.0).unwrap_or(0);
    let mut bounded = Vec::new();
    let before = calls();
    for _ in 0..args.rounds {
        let started = Instant::now();
        let check = app::schema_drift::check_project(&store, &settings, &project).await?;
        bounded.push(started.elapsed());
        anyhow::ensure!(check.fits(), "the bench's mappings should fit: {:?}", check.drifted);
    }
    let bounded_calls = calls() - before;

    // The naive way: the same describes and checks, one after another.
    let client = settings.sessions.client(&store, &settings, owner).await?;
    let mut naive = Vec::new();
    let before = calls();
    for _ in 0..args.rounds {
        let started = Instant::now();
        for m in &mappings {
            let schema = app::sobject::object_schema(client.describe(m.object.as_str()).await?);
            anyhow::ensure!(m.check(Some(&schema), &survey).is_empty(), "{} should fit", m.object.as_str());
        }
        naive.push(started.elapsed());
    }
    let naive_calls = calls() - before;

    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1000.0
    };
    let out = json!({
        "bench": "schema-check",
        "objects": args.objects,
        "latency_ms": args.latency_ms,
        "rounds": args.rounds,
        "concurrency": app::schema_drift::DESCRIBE_CONCURRENCY,
        "bounded": { "median_ms": median(bounded), "api_calls_per_check": bounded_calls as f64 / args.rounds as f64 },
        "naive": { "median_ms": median(naive), "api_calls_per_check": naive_calls as f64 / args.rounds as f64 },
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
    });
    if args.json {
        println!("{out}");
    } else {
        for way in ["bounded", "naive"] {
            println!(
                "{way:<8}: {} objects, {} ms latency per call: median {:>7.0} ms per check, {} API calls per check",
                args.objects, args.latency_ms, out[way]["median_ms"].as_f64().unwrap_or(0.0), out[way]["api_calls_per_check"]
            );
        }
    }
    emulator.shutdown().await;
    Ok(())
}
