//! `insight bench schema-check`: how long the schema check of a project
//! mapping N objects takes (`app::schema_drift::check_project`: distinct
//! objects described fresh, a few at a time), beside the naive way (one
//! describe after another), against the in-process emulator with a
//! per-call latency standing in for Salesforce's round trip.

use clap::Args;
use domain::{DisplayName, Email, Environment, FieldName, FieldRule, Mapping, MappingAction, NewPassword, ProjectName, QuestionKind, QuestionText, SObjectName, SurveyDefinition, ValueSource};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use store::links::NewLink;
use store::sealed::{Sealer, Secret};
use store::testing::TestDatabase;

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
    let connected = config.connected_apps[0].clone();
    let user = config.orgs.iter().find(|o| o.is_sandbox).and_then(|o| o.users.first()).cloned().ok_or_else(|| anyhow::anyhow!("no sandbox user"))?;
    let emulator = sfemu::Emulator::start(config, "127.0.0.1:0".parse()?, None).await?;
    let db = TestDatabase::sqlite();
    let store = db.store().await.with_sealer(Sealer::from_encoded_key(Some(&Sealer::generate_key()))?);
    let hash = web::hash_password(NewPassword::parse("bench password").map_err(|e| anyhow::anyhow!(e.0))?).await?;
    let owner = store
        .create_account(&Email::parse("bench@insight.example").map_err(|e| anyhow::anyhow!(e.0))?, &DisplayName::parse("Bench").map_err(|e| anyhow::anyhow!(e.0))?, &hash)
        .await?
        .ok_or_else(|| anyhow::anyhow!("account exists"))?
        .id;
    // Linked with the username-password grant: the bench measures the check, not sign-in.
    let tokens: Value = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", emulator.sandbox_login_url()))
        .form(&[
            ("grant_type", "password"),
            ("client_id", connected.client_id.as_str()),
            ("client_secret", connected.client_secret.as_str()),
            ("username", user.username.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .await?
        .json()
        .await?;
    let id_url = salesforce::IdentityUrl::parse(tokens["id"].as_str().unwrap_or_default())?;
    let org_id = id_url.org_id.to_string();
    store
        .save_link(
            &NewLink {
                account_id: owner,
                environment: Environment::Sandbox,
                requested_environment: Environment::Sandbox,
                login_url: emulator.sandbox_login_url(),
                org_id: org_id.clone(),
                org_name: "Acme Sandbox".into(),
                instance_url: tokens["instance_url"].as_str().unwrap_or_default().into(),
                sf_user_id: id_url.user_id.to_string(),
                sf_username: user.username.clone(),
                sf_display_name: "Dana Demo".into(),
                identity_url: tokens["id"].as_str().unwrap_or_default().into(),
                refresh_token: Secret::new("not-used"),
                access_token: Secret::new(tokens["access_token"].as_str().unwrap_or_default()),
                linked_by: owner,
                api_used: None,
                api_max: None,
            },
            domain::LinkEventKind::Linked,
            "for the schema-check bench",
        )
        .await?;
    let settings = app::SalesforceSettings::new(
        connected.client_id,
        connected.client_secret,
        "http://127.0.0.1/salesforce/callback",
        &emulator.production_login_url(),
        &emulator.sandbox_login_url(),
        &[emulator.http_url()],
    )?;

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
