//! Nothing lost, nothing duplicated: `insight serve` is killed (SIGKILL) while
//! it delivers responses to Salesforce, then started again on the same
//! database. Every acknowledged response ends up as exactly one record.

use domain::{DisplayName, Email, Environment, FieldName, FieldRule, Mapping, MappingAction, NewPassword, ProjectName, QuestionKind, QuestionText, SObjectName, SurveyDefinition, SurveyStatus, ValueSource};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use store::links::NewLink;
use store::sealed::{Sealer, Secret};
use store::testing::TestDatabase;

const RESPONSES: usize = 400;

struct Server {
    child: Child,
    url: String,
}

/// Runs `insight <command>` on the database; `emulator: None` leaves
/// Salesforce unconfigured (a server that only takes responses).
fn launch(command: &str, db_url: &str, key: &str, emulator: Option<&sfemu::Emulator>) -> Server {
    launch_with(command, db_url, key, emulator, |_| {})
}

/// As `launch`, with the command changed first (more settings, where its
/// log goes).
fn launch_with(command: &str, db_url: &str, key: &str, emulator: Option<&sfemu::Emulator>, adjust: impl FnOnce(&mut Command)) -> Server {
    let app = sfemu::EmulatorConfig::default_demo().connected_apps[0].clone();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_insight"));
    cmd.args([command, "--bind", "127.0.0.1:0", "--json"])
        .env("INSIGHT_DATABASE_URL", db_url)
        .env("INSIGHT_SECRET_KEY", key)
        .env("INSIGHT_DELIVERY_LEASE_SECS", "1")
        // All the test's respondents share 127.0.0.1.
        .env("INSIGHT_SUBMISSION_LIMIT_PER_ADDRESS", "10000/1s");
    if let Some(emulator) = emulator {
        cmd.env("INSIGHT_SALESFORCE_CLIENT_ID", &app.client_id)
            .env("INSIGHT_SALESFORCE_CLIENT_SECRET", &app.client_secret)
            .env("INSIGHT_SALESFORCE_LOGIN_URL", emulator.production_login_url())
            .env("INSIGHT_SALESFORCE_SANDBOX_LOGIN_URL", emulator.sandbox_login_url());
    }
    cmd.env("INSIGHT_LOG", "warn").stdout(Stdio::piped()).stderr(Stdio::inherit());
    adjust(&mut cmd);
    let mut child = cmd
        .spawn()
        .expect("start insight serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = serde_json::from_str::<Value>(&line).unwrap()["url"].as_str().unwrap().to_string();
    Server { child, url }
}

/// Links the account to the sandbox org with tokens from the username-password
/// grant (the emulator grants it, as Salesforce does, for scripts and tests).
async fn link_sandbox(store: &store::Store, account_id: i64, emulator: &sfemu::Emulator) -> (String, Api) {
    let cfg = sfemu::EmulatorConfig::default_demo();
    let user = cfg.orgs.iter().find(|o| o.is_sandbox).unwrap().users[0].clone();
    let tokens: Value = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", emulator.sandbox_login_url()))
        .form(&[
            ("grant_type", "password"),
            ("client_id", cfg.connected_apps[0].client_id.as_str()),
            ("client_secret", cfg.connected_apps[0].client_secret.as_str()),
            ("username", user.username.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_url = salesforce::IdentityUrl::parse(tokens["id"].as_str().unwrap()).unwrap();
    store
        .save_link(
            &NewLink {
                account_id,
                environment: Environment::Sandbox,
                requested_environment: Environment::Sandbox,
                login_url: emulator.sandbox_login_url(),
                org_id: id_url.org_id.to_string(),
                org_name: "Acme Sandbox".into(),
                instance_url: tokens["instance_url"].as_str().unwrap().into(),
                sf_user_id: id_url.user_id.to_string(),
                sf_username: user.username.clone(),
                sf_display_name: "Dana Demo".into(),
                identity_url: tokens["id"].as_str().unwrap().into(),
                // The password grant gives no refresh token; the access token
                // outlives the test.
                refresh_token: Secret::new("not-used"),
                access_token: Secret::new(tokens["access_token"].as_str().unwrap()),
                linked_by: account_id,
                api_used: None,
                api_max: None,
            },
            domain::LinkEventKind::Linked,
            "for the crash test",
        )
        .await
        .unwrap();
    let api = Api { instance_url: tokens["instance_url"].as_str().unwrap().into(), access_token: tokens["access_token"].as_str().unwrap().into() };
    (id_url.org_id.to_string(), api)
}

/// The sandbox org's REST API as the linked user sees it, for what the
/// admin API does not show (the org's Bulk API jobs).
struct Api {
    instance_url: String,
    access_token: String,
}

impl Api {
    /// Every Bulk API 2.0 ingest job of the org (`GET /jobs/ingest`): id → state.
    async fn bulk_jobs(&self) -> std::collections::BTreeMap<String, String> {
        let mut jobs = std::collections::BTreeMap::new();
        let mut url = format!("{}/services/data/v60.0/jobs/ingest", self.instance_url);
        loop {
            let page: Value = reqwest::Client::new().get(&url).bearer_auth(&self.access_token).send().await.unwrap().json().await.unwrap();
            for j in page["records"].as_array().unwrap() {
                jobs.insert(j["id"].as_str().unwrap().to_string(), j["state"].as_str().unwrap().to_string());
            }
            match page["nextRecordsUrl"].as_str() {
                Some(next) => url = format!("{}{next}", self.instance_url),
                None => return jobs,
            }
        }
    }
}

async fn delivered(store: &store::Store, project: i64) -> i64 {
    store.delivery_counts(project).await.unwrap().delivered
}

struct Setup {
    emulator: sfemu::Emulator,
    db: TestDatabase,
    key: String,
    store: store::Store,
    project: i64,
    slug: String,
    org_id: String,
    api: Api,
}

/// An owner linked to the sandbox org, and a published one-question survey
/// mapped into `Survey_Response__c` by response id.
async fn setup(db: TestDatabase) -> Setup {
    let emulator = sfemu::Emulator::start(sfemu::EmulatorConfig::default_demo(), "127.0.0.1:0".parse().unwrap(), None).await.unwrap();
    let key = Sealer::generate_key();
    let store = db.store().await.with_sealer(Sealer::from_encoded_key(Some(&key)).unwrap());
    let owner = store
        .create_account(&Email::parse("olive@example.com").unwrap(), &DisplayName::parse("Olive").unwrap(), &web::hash_password(NewPassword::parse("a good password").unwrap()).await.unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let slug = web::new_survey_slug();
    let project = store.create_project(owner, &ProjectName::parse("Crash").unwrap(), &slug).await.unwrap();
    let mut def = SurveyDefinition::default();
    def.add_question(QuestionText::parse("Score").unwrap(), QuestionKind::Nps, true).unwrap();
    store.save_definition(project, &def, 1).await.unwrap();
    store.set_survey_status(project, SurveyStatus::Published).await.unwrap();
    let (org_id, api) = link_sandbox(&store, owner, &emulator).await;
    let rule = |f: &str, source| FieldRule { field: FieldName::parse(f).unwrap(), source, convert: None };
    let mapping = Mapping {
        object: SObjectName::parse("Survey_Response__c").unwrap(),
        action: MappingAction::Upsert { external_id_field: FieldName::parse("External_Id__c").unwrap() },
        rules: vec![rule("External_Id__c", ValueSource::ResponseId), rule("Score__c", ValueSource::parse("answer:q1", "").unwrap())],
        condition: None,
    };
    assert!(store.save_integration(project, &[mapping], Some(&org_id), 0).await.unwrap());
    Setup { emulator, db, key, store, project, slug, org_id, api }
}

/// Submits `n` responses over HTTP; returns the acknowledged response ids.
async fn submit(url: &str, slug: &str, n: usize) -> Vec<String> {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut sends = Vec::new();
    for i in 0..n {
        let (http, url) = (http.clone(), format!("{url}/s/{slug}"));
        sends.push(tokio::spawn(async move {
            let rid = format!("R_crash{i:017}");
            let body = format!("_rid={rid}&q1={}", i % 11);
            let r = http.post(url).header("content-type", "application/x-www-form-urlencoded").body(body).send().await.unwrap();
            (r.status() == reqwest::StatusCode::SEE_OTHER).then_some(rid)
        }));
    }
    let mut acknowledged = Vec::new();
    for s in sends {
        acknowledged.extend(s.await.unwrap());
    }
    acknowledged
}

async fn wait_all_delivered(store: &store::Store, project: i64, n: usize) {
    let start = Instant::now();
    while delivered(store, project).await < n as i64 {
        assert!(start.elapsed() < Duration::from_secs(120), "stalled at {} delivered", delivered(store, project).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every acknowledged response is exactly one record in the org.
async fn assert_one_record_each(s: &Setup, acknowledged: &[String]) {
    let url = format!("{}/orgs/{}/records/Survey_Response__c", s.emulator.admin_url(), s.org_id);
    let recs: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    let keys: Vec<&str> = recs["records"].as_array().unwrap().iter().filter_map(|r| r["External_Id__c"].as_str()).collect();
    let unique: std::collections::BTreeSet<&str> = keys.iter().copied().collect();
    assert_eq!(keys.len(), acknowledged.len(), "one record per response, no duplicate");
    assert_eq!(unique.len(), acknowledged.len());
    for rid in acknowledged {
        assert!(unique.contains(rid.as_str()), "{rid} was lost");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_delivery_loses_nothing_and_duplicates_nothing() {
    for db in TestDatabase::all().await {
        killed_mid_delivery(setup(db).await).await;
    }
}

async fn killed_mid_delivery(s: Setup) {
    let (emulator, store, project, org_id) = (&s.emulator, &s.store, s.project, s.org_id.clone());
    // Slow Salesforce down so the kill lands while deliveries are in flight.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    http.put(format!("{}/orgs/{org_id}/faults", emulator.admin_url())).json(&serde_json::json!({"latency_ms": 300})).send().await.unwrap();

    let mut server = launch("serve", &s.db.url, &s.key, Some(emulator));
    let acknowledged = submit(&server.url, &s.slug, RESPONSES).await;
    assert_eq!(acknowledged.len(), RESPONSES);

    // Kill it once some, not all, have been delivered.
    let start = Instant::now();
    while delivered(store, project).await == 0 {
        assert!(start.elapsed() < Duration::from_secs(60), "nothing was delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    server.child.wait().unwrap();
    let at_kill = delivered(store, project).await;
    assert!(at_kill < RESPONSES as i64, "the kill came too late to prove anything ({at_kill} delivered)");

    http.delete(format!("{}/orgs/{org_id}/faults", emulator.admin_url())).send().await.unwrap();
    let mut server = launch("serve", &s.db.url, &s.key, Some(emulator));
    wait_all_delivered(store, project, RESPONSES).await;
    let _ = server.child.kill();
    let _ = server.child.wait();

    // Every acknowledged response is stored, and is exactly one record.
    assert_eq!(store.survey(project).await.unwrap().unwrap().response_count, RESPONSES as i64);
    assert_one_record_each(&s, &acknowledged).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_worker_processes_share_the_deliveries_without_overlap() {
    for db in TestDatabase::all().await {
        workers_share(setup(db).await).await;
    }
}

async fn workers_share(s: Setup) {
    // A server with no Salesforce configured only takes responses…
    let mut server = launch("serve", &s.db.url, &s.key, None);
    let acknowledged = submit(&server.url, &s.slug, 300).await;
    assert_eq!(acknowledged.len(), 300);
    // …and two `insight worker` processes deliver them.
    let mut workers = [launch("worker", &s.db.url, &s.key, Some(&s.emulator)), launch("worker", &s.db.url, &s.key, Some(&s.emulator))];
    wait_all_delivered(&s.store, s.project, 300).await;
    for w in workers.iter_mut().chain([&mut server]) {
        let _ = w.child.kill();
        let _ = w.child.wait();
    }
    assert_one_record_each(&s, &acknowledged).await;
}

const BACKLOG: usize = 20_000;

/// `n` responses stored as the server stores them (each with its delivery
/// in the same commit): their ids.
async fn store_backlog(store: &store::Store, project: i64, n: usize, prefix: &str) -> Vec<String> {
    let writer = store.response_writer();
    let mut acknowledged = Vec::with_capacity(n);
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..n {
        let (writer, rid) = (writer.clone(), format!("{prefix}{i:017}"));
        acknowledged.push(rid.clone());
        sends.spawn(async move {
            let answers = format!(r#"{{"q1": {}}}"#, i % 11);
            writer
                .submit(store::responses::NewResponse { public_id: rid, project_id: project, answers, embedded: "{}".into(), started_at: None, finished_at: store::now_ms(), provenance: Default::default() })
                .await
        });
    }
    while let Some(r) = sends.join_next().await {
        r.unwrap().unwrap();
    }
    acknowledged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_again_and_again_over_20000_responses_leaves_exactly_one_record_each() {
    for db in TestDatabase::all().await {
        killed_again_and_again(setup(db).await).await;
    }
}

/// `BACKLOG` responses stored (as the server stores them: each with its
/// delivery in the same commit), then an `insight worker` started and
/// killed with SIGKILL, again and again, each time a moment after it
/// delivered something, and started once more until all are delivered.
/// Collections calls (the Bulk API route has its own test below). Its JSON log names the project, batch and org of
/// every batch, and carries no token and no answer.
async fn killed_again_and_again(s: Setup) {
    let (emulator, store, project, org_id) = (&s.emulator, &s.store, s.project, s.org_id.clone());
    let acknowledged = store_backlog(store, project, BACKLOG, "R_again").await;
    // Each call takes a little while, so kills land mid-batch.
    let http = reqwest::Client::new();
    http.put(format!("{}/orgs/{org_id}/faults", emulator.admin_url())).json(&serde_json::json!({"latency_ms": 40})).send().await.unwrap();

    let logs = std::env::temp_dir().join(format!("insight-worker-log-{}", std::process::id()));
    std::fs::create_dir_all(&logs).unwrap();
    let worker = |round: usize| {
        let log = std::fs::File::create(logs.join(format!("{round}.log"))).unwrap();
        launch_with("worker", &s.db.url, &s.key, Some(emulator), |c| {
            c.env("INSIGHT_BULK_THRESHOLD", "0").env("INSIGHT_LOG", "info").stderr(log);
        })
    };
    let mut kills = 0;
    for round in 0..8 {
        let before = delivered(store, project).await;
        let mut w = worker(round);
        let start = Instant::now();
        while delivered(store, project).await == before {
            assert!(start.elapsed() < Duration::from_secs(60), "round {round}: nothing delivered");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % 300)).await;
        w.child.kill().unwrap(); // SIGKILL: no shutdown, no flush
        w.child.wait().unwrap();
        if delivered(store, project).await < BACKLOG as i64 {
            kills += 1;
        }
    }
    assert!(kills >= 5, "only {kills} kills landed before the backlog was delivered");
    http.delete(format!("{}/orgs/{org_id}/faults", emulator.admin_url())).send().await.unwrap();
    let mut last = worker(99);
    let start = Instant::now();
    while delivered(store, project).await < BACKLOG as i64 {
        assert!(start.elapsed() < Duration::from_secs(300), "stalled at {} delivered", delivered(store, project).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = last.child.kill();
    let _ = last.child.wait();
    assert_one_record_each(&s, &acknowledged).await;

    // The worker's log: one JSON object a line; each batch written names
    // its project, batch and org; no token, no answer.
    let mut batches = 0;
    for entry in std::fs::read_dir(&logs).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains("access_token") && !text.contains("Bearer "), "no token in the log");
        for line in text.lines().filter(|l| l.starts_with('{')) {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            if v["fields"]["message"] == "batch written" {
                let span = &v["span"];
                assert_eq!(span["project"], project, "{line}");
                assert_eq!(span["org"], org_id.as_str(), "{line}");
                assert!(span["batch"].as_i64().is_some_and(|b| b > 0), "{line}");
                assert_eq!(span["route"], "collections", "{line}");
                assert!(!line.contains("\"q1\""), "no answer in the log: {line}");
                batches += 1;
            }
        }
    }
    // A kill can cut off at most the line of the batch it interrupted.
    assert!(batches >= BACKLOG / 200 - kills, "every batch written is logged ({batches})");
    let _ = std::fs::remove_dir_all(&logs);
}

/// Waits until the project has no Bulk API job on record: a worker forgets
/// a job just after settling its deliveries.
async fn wait_no_job_in_flight(store: &store::Store, project: i64) {
    let start = Instant::now();
    while !store.bulk_jobs_in_flight(project).await.unwrap().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(30), "jobs left on record: {:?}", store.bulk_jobs_in_flight(project).await.unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const JOB_ROWS: usize = 1_000;
const JOBS: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_during_its_bulk_jobs_is_taken_over_without_a_second_job_or_the_lease() {
    for db in TestDatabase::all().await {
        killed_during_bulk_jobs(setup(db).await).await;
    }
}

/// Where a round's kill lands: as soon as the store records the job at
/// this step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KillAt {
    /// Salesforce gave the job an id; its upload is under way (every call
    /// is slowed down), the job still `Open`.
    Created,
    /// The job is closed: Salesforce processes it, its results unread.
    Closed,
}

/// A backlog delivered through Bulk API 2.0 jobs of 1,000 by an `insight
/// worker` killed with SIGKILL while a job is out — closed (Salesforce
/// processes it) or still uploading — and started again at once. The
/// delivery lease is 15 minutes, the job lease 1 second: the next worker
/// takes the job over rather than wait out the lease. A closed job's
/// results are read, never sent again (Salesforce processes every row once,
/// one completed job per 1,000 rows); a job never closed is aborted and its
/// rows go in a new job. Each response is exactly one record.
async fn killed_during_bulk_jobs(s: Setup) {
    let (emulator, store, project, org_id) = (&s.emulator, &s.store, s.project, s.org_id.clone());
    let acknowledged = store_backlog(store, project, JOBS * JOB_ROWS, "R_bulk").await;
    let http = reqwest::Client::new();
    let worker = || {
        launch_with("worker", &s.db.url, &s.key, Some(emulator), |c| {
            c.env("INSIGHT_BULK_THRESHOLD", "500")
                .env("INSIGHT_BULK_JOB_ROWS", JOB_ROWS.to_string())
                .env("INSIGHT_DELIVERY_LEASE_SECS", "900")
                .env("INSIGHT_BULK_JOB_LEASE_SECS", "1");
        })
    };
    let mut seen: Vec<String> = Vec::new();
    let (mut landed_closed, mut landed_open) = (Vec::new(), 0);
    for (round, kill_at) in [KillAt::Closed, KillAt::Created, KillAt::Closed, KillAt::Created].into_iter().enumerate() {
        // An upload slowed down, so the kill lands while the job is open.
        let latency = if kill_at == KillAt::Created { 400 } else { 0 };
        http.put(format!("{}/orgs/{org_id}/faults", emulator.admin_url())).json(&serde_json::json!({"latency_ms": latency})).send().await.unwrap();
        let mut w = worker();
        let start = Instant::now();
        let job = loop {
            let jobs = store.bulk_jobs_in_flight(project).await.unwrap();
            let at = |j: &store::bulk_jobs::BulkJob| match kill_at {
                KillAt::Created => j.state == store::bulk_jobs::BulkJobState::Created,
                KillAt::Closed => j.state == store::bulk_jobs::BulkJobState::Closed,
            };
            if let Some(new) = jobs.into_iter().find(|j| !seen.contains(&j.job_id) && at(j)) {
                break new;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "round {round}: no job reached {kill_at:?}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        w.child.kill().unwrap(); // SIGKILL: no shutdown, the job left as it was
        w.child.wait().unwrap();
        if let Some(left) = store.bulk_job(&job.job_id).await.unwrap() {
            match kill_at {
                KillAt::Closed => landed_closed.push(left.job_id),
                KillAt::Created if left.state != store::bulk_jobs::BulkJobState::Closed => landed_open += 1,
                KillAt::Created => {}
            }
        }
        seen.push(job.job_id);
    }
    assert!(!landed_closed.is_empty() && landed_open > 0, "kills landed: {} while closed, {landed_open} while open", landed_closed.len());
    http.delete(format!("{}/orgs/{org_id}/faults", emulator.admin_url())).send().await.unwrap();
    let mut last = worker();
    // Within two minutes, not the fifteen of the deliveries' lease.
    wait_all_delivered(store, project, acknowledged.len()).await;
    wait_no_job_in_flight(store, project).await;
    let _ = last.child.kill();
    let _ = last.child.wait();
    assert_one_record_each(&s, &acknowledged).await;

    let usage: Value = reqwest::get(format!("{}/orgs/{org_id}/usage", emulator.admin_url())).await.unwrap().json().await.unwrap();
    assert_eq!(usage["bulk_records_processed"], acknowledged.len(), "every row processed once, none sent again: {usage}");
    let jobs = s.api.bulk_jobs().await;
    let count = |state: &str| jobs.values().filter(|s| *s == state).count();
    // No second job for rows whose job was closed: one completed job per
    // 1,000 rows, the jobs killed while closed among them.
    assert_eq!(count("JobComplete"), JOBS, "{jobs:?}");
    for job in &landed_closed {
        assert_eq!(jobs.get(job).map(String::as_str), Some("JobComplete"), "{job} was read, not replaced: {jobs:?}");
    }
    // Each job killed while open was aborted and replaced by one other.
    assert!(count("Aborted") >= 1, "{jobs:?}");
    assert_eq!(jobs.len(), JOBS + count("Aborted"), "{jobs:?}");
    assert_eq!(usage["bulk_jobs_created"], jobs.len(), "{usage}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_before_recording_its_new_job_s_id_leaves_no_open_orphan_nor_waits_out_the_lease() {
    for db in TestDatabase::all().await {
        killed_before_recording_the_job_id(setup(db).await).await;
    }
}

/// A backlog of two Bulk API jobs' worth, and an `insight worker` killed
/// with SIGKILL after Salesforce created its first job and before it
/// recorded the job's id (a pause there, for tests only, makes the moment
/// hittable): the store holds only the placeholder it recorded before
/// asking. The delivery lease is 15 minutes, the job lease 1 second: the
/// next worker takes the placeholder over at once, finds the open job in
/// the org's list and aborts it, and sends its rows in a new job. Each
/// response is exactly one record; the orphan ends aborted.
async fn killed_before_recording_the_job_id(s: Setup) {
    use store::bulk_jobs::BulkJobState;
    let (emulator, store, project, org_id) = (&s.emulator, &s.store, s.project, s.org_id.clone());
    let acknowledged = store_backlog(store, project, 2 * JOB_ROWS, "R_orphan").await;
    let worker = |pause_ms: u64| {
        launch_with("worker", &s.db.url, &s.key, Some(emulator), |c| {
            c.env("INSIGHT_BULK_THRESHOLD", "500")
                .env("INSIGHT_BULK_JOB_ROWS", JOB_ROWS.to_string())
                .env("INSIGHT_DELIVERY_LEASE_SECS", "900")
                .env("INSIGHT_BULK_JOB_LEASE_SECS", "1")
                .env("INSIGHT_TEST_PAUSE_AFTER_BULK_CREATE_MS", pause_ms.to_string());
        })
    };
    let mut first = worker(60_000);
    let start = Instant::now();
    let orphan = loop {
        if let Some((id, _)) = s.api.bulk_jobs().await.into_iter().find(|(_, state)| state == "Open") {
            break id;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no job created");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let in_flight = store.bulk_jobs_in_flight(project).await.unwrap();
    assert!(matches!(in_flight.as_slice(), [j] if j.state == BulkJobState::Creating && j.job_id != orphan), "only the placeholder is on record: {in_flight:?}");
    let placeholder = in_flight[0].job_id.clone();
    assert_eq!(store.bulk_job_deliveries(&placeholder).await.unwrap().len(), JOB_ROWS, "its deliveries name the placeholder");
    first.child.kill().unwrap(); // SIGKILL: the job's id never recorded
    first.child.wait().unwrap();
    assert!(store.bulk_job(&orphan).await.unwrap().is_none());

    let mut next = worker(0);
    // Waited for two minutes at most: its 1,000 deliveries' 15-minute lease
    // is not what frees them.
    wait_all_delivered(store, project, acknowledged.len()).await;
    wait_no_job_in_flight(store, project).await;
    let _ = next.child.kill();
    let _ = next.child.wait();
    assert_one_record_each(&s, &acknowledged).await;

    let jobs = s.api.bulk_jobs().await;
    assert_eq!(jobs.get(&orphan).map(String::as_str), Some("Aborted"), "the orphan was aborted: {jobs:?}");
    let count = |state: &str| jobs.values().filter(|s| *s == state).count();
    assert_eq!((count("JobComplete"), count("Aborted"), jobs.len()), (2, 1, 3), "{jobs:?}");
    let usage: Value = reqwest::get(format!("{}/orgs/{org_id}/usage", emulator.admin_url())).await.unwrap().json().await.unwrap();
    assert_eq!(usage["bulk_records_processed"], acknowledged.len(), "every row processed once: {usage}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_salesforce_does_not_know_are_sent_again_without_waiting_for_the_lease() {
    for db in TestDatabase::all().await {
        jobs_salesforce_does_not_know(setup(db).await).await;
    }
}

/// Two jobs left by a worker that died, each carrying 1,000 deliveries
/// under a 15-minute lease: one Salesforce does not know (deleted days
/// after it ended), one recorded for another org (the owner relinked
/// since). A worker started with a job lease of 1 second takes each over
/// and sends its rows in a new job: each response one record, two jobs.
async fn jobs_salesforce_does_not_know(s: Setup) {
    let (emulator, store, project, org_id) = (&s.emulator, &s.store, s.project, s.org_id.clone());
    let acknowledged = store_backlog(store, project, 2 * JOB_ROWS, "R_gone").await;
    for (job_id, org) in [("750Dm0000000001", org_id.as_str()), ("750Dm0000000002", "00D000000000001AAA")] {
        let ids: Vec<i64> = store.claim_project_deliveries(project, JOB_ROWS as i64, 900_000).await.unwrap().iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), JOB_ROWS);
        let job = store::bulk_jobs::NewBulkJob {
            job_id,
            project_id: project,
            org_id: org,
            object: "Survey_Response__c",
            operation: "upsert:External_Id__c",
            worker: "a worker that died",
            deliveries: &ids,
        };
        store.start_bulk_job(&job, None).await.unwrap();
        store.bulk_job_moved(job_id, "a worker that died", store::bulk_jobs::BulkJobState::Closed).await.unwrap();
    }
    let mut w = launch_with("worker", &s.db.url, &s.key, Some(emulator), |c| {
        c.env("INSIGHT_BULK_THRESHOLD", "500")
            .env("INSIGHT_BULK_JOB_ROWS", JOB_ROWS.to_string())
            .env("INSIGHT_DELIVERY_LEASE_SECS", "900")
            .env("INSIGHT_BULK_JOB_LEASE_SECS", "1");
    });
    wait_all_delivered(store, project, acknowledged.len()).await;
    wait_no_job_in_flight(store, project).await;
    let _ = w.child.kill();
    let _ = w.child.wait();
    assert_one_record_each(&s, &acknowledged).await;
    let usage: Value = reqwest::get(format!("{}/orgs/{org_id}/usage", emulator.admin_url())).await.unwrap().json().await.unwrap();
    assert_eq!((usage["bulk_jobs_created"].as_u64(), usage["bulk_records_processed"].as_u64()), (Some(2), Some(2 * JOB_ROWS as u64)), "{usage}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_postgresql_share_a_20000_backlog_both_working_none_twice() {
    for db in TestDatabase::all().await {
        // SQLite has one writer; sharing a backlog between processes is PostgreSQL's case.
        if db.url.starts_with("postgres") {
            two_workers_share_a_backlog(setup(db).await).await;
        }
    }
}

/// `BACKLOG` responses stored, then two `insight worker` processes started
/// together (Collections calls): each writes batches, their logs' batches
/// add up to the backlog exactly, and each response is one record.
async fn two_workers_share_a_backlog(s: Setup) {
    let acknowledged = store_backlog(&s.store, s.project, BACKLOG, "R_shared").await;
    let logs = std::env::temp_dir().join(format!("insight-two-workers-{}", std::process::id()));
    std::fs::create_dir_all(&logs).unwrap();
    let worker = |n: usize| {
        let log = std::fs::File::create(logs.join(format!("{n}.log"))).unwrap();
        launch_with("worker", &s.db.url, &s.key, Some(&s.emulator), |c| {
            c.env("INSIGHT_BULK_THRESHOLD", "0").env("INSIGHT_LOG", "info").stderr(log);
        })
    };
    let mut workers = [worker(0), worker(1)];
    let start = Instant::now();
    while delivered(&s.store, s.project).await < BACKLOG as i64 {
        assert!(start.elapsed() < Duration::from_secs(300), "stalled at {} delivered", delivered(&s.store, s.project).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for w in workers.iter_mut() {
        let _ = w.child.kill();
        let _ = w.child.wait();
    }
    assert_one_record_each(&s, &acknowledged).await;
    let mut per_worker = Vec::new();
    for n in 0..2 {
        let text = std::fs::read_to_string(logs.join(format!("{n}.log"))).unwrap();
        let written: i64 = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["fields"]["message"] == "batch written")
            .map(|v| v["fields"]["delivered"].as_i64().unwrap_or(0))
            .sum();
        per_worker.push(written);
    }
    let _ = std::fs::remove_dir_all(&logs);
    assert!(per_worker.iter().all(|&w| w > 0), "both workers delivered: {per_worker:?}");
    assert_eq!(per_worker.iter().sum::<i64>(), BACKLOG as i64, "none delivered twice: {per_worker:?}");
}
