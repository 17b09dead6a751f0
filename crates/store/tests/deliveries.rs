//! The delivery outbox on SQLite and PostgreSQL.

use domain::{DisplayName, Email, FieldName, FieldRule, Mapping, MappingAction, ProjectName, SObjectName, ValueSource};
use store::testing::TestDatabase;
use store::{NewResponse, Store};

async fn project(store: &Store, mapped: bool) -> i64 {
    let owner = match store.account_by_email(&Email::parse("olive@example.com").unwrap()).await.unwrap() {
        Some(a) => a.id,
        None => store.create_account(&Email::parse("olive@example.com").unwrap(), &DisplayName::parse("Olive").unwrap(), "x").await.unwrap().unwrap().id,
    };
    let slug = format!("slug{}", rand_suffix());
    let p = store.create_project(owner, &ProjectName::parse("P").unwrap(), &slug).await.unwrap();
    if mapped {
        let m = Mapping {
            object: SObjectName::parse("Survey_Response__c").unwrap(),
            action: MappingAction::Upsert { external_id_field: FieldName::parse("External_Id__c").unwrap() },
            rules: vec![FieldRule { field: FieldName::parse("External_Id__c").unwrap(), source: ValueSource::ResponseId, convert: None }],
            condition: None,
        };
        assert!(store.save_integration(p, &[m], Some("00D000000000001AAA"), 0).await.unwrap());
    }
    p
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn response(project_id: i64, n: usize) -> NewResponse {
    NewResponse {
        public_id: format!("R_{project_id:04}{n:018}"),
        project_id,
        answers: "{}".into(),
        embedded: "{}".into(),
        started_at: None,
        finished_at: 1,
        provenance: Default::default(),
    }
}

#[tokio::test]
async fn a_response_of_a_mapped_survey_is_committed_with_its_delivery() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let mapped = project(&store, true).await;
        let plain = project(&store, false).await;
        let writer = store.response_writer();
        for n in 0..5 {
            writer.submit(response(mapped, n)).await.unwrap();
            writer.submit(response(plain, n)).await.unwrap();
        }
        writer.submit(response(mapped, 0)).await.unwrap(); // a retried POST
        assert_eq!(store.delivery_counts(mapped).await.unwrap().pending, 5);
        assert_eq!(store.delivery_counts(plain).await.unwrap(), Default::default());
    }
}

#[tokio::test]
async fn concurrent_claims_never_share_a_delivery_and_an_expired_lease_is_taken_over() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let p = project(&store, true).await;
        let writer = store.response_writer();
        for n in 0..40 {
            writer.submit(response(p, n)).await.unwrap();
        }
        let (a, b) = tokio::join!(store.claim_deliveries(25, 60_000), store.claim_deliveries(25, 60_000));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.len() + b.len(), 40);
        assert!(a.iter().all(|x| b.iter().all(|y| x.id != y.id)), "no delivery claimed twice");
        assert!(store.claim_deliveries(50, 60_000).await.unwrap().is_empty(), "leased rows are not claimed again");

        // A worker that dies leaves its lease to run out; another takes over.
        let writer2 = store.response_writer();
        writer2.submit(response(p, 99)).await.unwrap();
        let first = store.claim_deliveries(1, 1).await.unwrap();
        assert_eq!(first.len(), 1);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let again = store.claim_deliveries(1, 60_000).await.unwrap();
        assert_eq!(again[0].id, first[0].id);
        assert_eq!(again[0].attempts, 2);
    }
}

#[tokio::test]
async fn held_deliveries_are_released_or_discarded_with_a_record_and_failed_ones_retried() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let p = project(&store, true).await;
        let writer = store.response_writer();
        for n in 0..4 {
            writer.submit(response(p, n)).await.unwrap();
        }
        let claimed = store.claim_deliveries(10, 60_000).await.unwrap();
        let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
        store.hold_deliveries(&ids[..3], "owner's link points at another org").await.unwrap();
        store.mark_failed(ids[3], "00D000000000001AAA", "STRING_TOO_LONG: Comment", "[]").await.unwrap();
        let counts = store.delivery_counts(p).await.unwrap();
        assert_eq!((counts.held, counts.failed), (3, 1));
        assert!(store.claim_deliveries(10, 60_000).await.unwrap().is_empty(), "held and failed are not claimed");

        assert_eq!(store.release_held(p).await.unwrap(), 3);
        assert_eq!(store.claim_deliveries(10, 60_000).await.unwrap().len(), 3);
        store.hold_deliveries(&ids[..3], "paused again").await.unwrap();
        assert_eq!(store.discard_held(p, "discarded by Olive: not wanted in the new org").await.unwrap(), 3);
        let discarded = store.deliveries(p, 10).await.unwrap().into_iter().filter(|d| d.status == domain::DeliveryStatus::Discarded).collect::<Vec<_>>();
        assert_eq!(discarded.len(), 3);
        assert!(discarded[0].note.as_deref().unwrap().contains("Olive"));

        assert!(store.retry_delivery(p, ids[3]).await.unwrap());
        assert_eq!(store.claim_deliveries(10, 60_000).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_batch_is_finished_in_one_statement_and_waits_for_budget_without_counting_an_attempt() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let p = project(&store, true).await;
        let writer = store.response_writer();
        for n in 0..4 {
            writer.submit(response(p, n)).await.unwrap();
        }
        let claimed = store.claim_deliveries(10, 60_000).await.unwrap();
        let mut ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
        ids.sort();
        let later = store::now_ms() + 3_600_000;
        let finished = vec![
            store::deliveries::Finished { id: ids[0], outcome: r#"[{"object":"X","record_id":"a0B000000000001AAA"}]"#.into(), error: None, retry_at: None },
            store::deliveries::Finished { id: ids[1], outcome: "[]".into(), error: Some("STRING_TOO_LONG: Comment".into()), retry_at: None },
            store::deliveries::Finished { id: ids[2], outcome: "[]".into(), error: Some("UNABLE_TO_LOCK_ROW: busy".into()), retry_at: Some(later) },
        ];
        store.finish_deliveries("00D000000000001AAA", &finished).await.unwrap();
        let note = format!("{}: Insight used its share", domain::budget::WAIT_PREFIX);
        store.deliver_later(&[(ids[3], later)], store::deliveries::Later::Wait { note: &note }).await.unwrap();
        let counts = store.delivery_counts(p).await.unwrap();
        assert_eq!((counts.delivered, counts.failed, counts.pending, counts.waiting_for_budget), (1, 1, 2, 1), "{counts:?}");
        let log = store.delivery_log(p, &store::deliveries::LogQuery { limit: 10, ..Default::default() }).await.unwrap();
        let by_id = |id: i64| log.iter().find(|d| d.id == id).unwrap().clone();
        assert_eq!(by_id(ids[0]).outcome[0]["record_id"], "a0B000000000001AAA");
        assert_eq!(by_id(ids[2]).last_error.as_deref(), Some("UNABLE_TO_LOCK_ROW: busy"));
        assert_eq!(by_id(ids[2]).next_attempt_at, later);
        assert_eq!(by_id(ids[3]).attempts, 0, "a wait for budget is not an attempt");
        assert!(store.claim_deliveries(10, 60_000).await.unwrap().is_empty(), "neither is due before its time");

        // The log: newest first, a page at a time, by status and by id.
        let page = store.delivery_log(p, &store::deliveries::LogQuery { limit: 2, ..Default::default() }).await.unwrap();
        assert_eq!(page.iter().map(|d| d.id).collect::<Vec<_>>(), vec![ids[3], ids[2]]);
        let next = store.delivery_log(p, &store::deliveries::LogQuery { limit: 2, before: Some(ids[2]), ..Default::default() }).await.unwrap();
        assert_eq!(next.iter().map(|d| d.id).collect::<Vec<_>>(), vec![ids[1], ids[0]]);
        let failed = store.delivery_log(p, &store::deliveries::LogQuery { limit: 10, status: Some(domain::DeliveryStatus::Failed), ..Default::default() }).await.unwrap();
        assert_eq!(failed.iter().map(|d| d.id).collect::<Vec<_>>(), vec![ids[1]]);
        let public = by_id(ids[1]).public_id;
        let found = store.delivery_log(p, &store::deliveries::LogQuery { limit: 10, response: Some(public[..public.len() - 1].to_string()), ..Default::default() }).await.unwrap();
        assert!(found.iter().any(|d| d.id == ids[1]));
        let none = store.delivery_log(p, &store::deliveries::LogQuery { limit: 10, response: Some("R_%".into()), ..Default::default() }).await.unwrap();
        assert!(none.is_empty(), "a % typed in the search is a character, not a wildcard");

        // Giving up records who and when; a delivered one cannot be given up.
        let owner = store.account_by_email(&Email::parse("olive@example.com").unwrap()).await.unwrap().unwrap().id;
        assert!(store.give_up_delivery(p, ids[1], owner, "given up by Olive").await.unwrap());
        assert!(!store.give_up_delivery(p, ids[0], owner, "given up by Olive").await.unwrap());
        let given = store.delivery_log(p, &store::deliveries::LogQuery { limit: 10, status: Some(domain::DeliveryStatus::Discarded), ..Default::default() }).await.unwrap();
        assert_eq!(given.len(), 1);
        assert_eq!(given[0].given_up.map(|g| g.0), Some(owner));
    }
}

#[tokio::test]
async fn api_calls_are_counted_per_org_over_a_day_and_pauses_kept() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        store.add_api_calls("00D000000000001AAA", 3).await.unwrap();
        store.add_api_calls("00D000000000001AAA", 4).await.unwrap();
        store.add_api_calls("00D000000000002AAA", 5).await.unwrap();
        assert_eq!(store.api_calls_last_day("00D000000000001AAA").await.unwrap(), 7);
        assert_eq!(store.api_calls_last_day("00D000000000003AAA").await.unwrap(), 0);
        store.pause_api("00D000000000001AAA", 10, "first", true).await.unwrap();
        store.pause_api("00D000000000001AAA", 20, "moved", false).await.unwrap();
        let p = store.api_pause("00D000000000001AAA").await.unwrap().unwrap();
        assert_eq!((p.until_ms, p.reason.as_str(), p.probe), (20, "moved", false));
        store.resume_api("00D000000000001AAA").await.unwrap();
        assert!(store.api_pause("00D000000000001AAA").await.unwrap().is_none());
    }
}

fn bulk_job<'a>(job_id: &'a str, project_id: i64, worker: &'a str, deliveries: &'a [i64]) -> store::bulk_jobs::NewBulkJob<'a> {
    store::bulk_jobs::NewBulkJob {
        job_id,
        project_id,
        org_id: "00D000000000001AAA",
        object: "Survey_Response__c",
        operation: "upsert:External_Id__c",
        worker,
        deliveries,
    }
}

/// Stores `stored` responses of project `p` and claims `claimed` of their
/// deliveries for a Bulk job (leased `lease_ms`); their ids in order.
async fn stored_and_claimed(store: &store::Store, p: i64, stored: usize, claimed: i64, lease_ms: i64) -> Vec<i64> {
    let writer = store.response_writer();
    for n in 0..stored {
        writer.submit(response(p, n)).await.unwrap();
    }
    let mut ids: Vec<i64> = store.claim_project_deliveries(p, claimed, lease_ms).await.unwrap().iter().map(|c| c.id).collect();
    ids.sort();
    ids
}

fn delivered(ids: &[i64]) -> Vec<store::deliveries::Finished> {
    ids.iter().map(|&id| store::deliveries::Finished { id, outcome: "[]".into(), error: None, retry_at: None }).collect()
}

#[tokio::test]
async fn a_bulk_job_is_recorded_before_its_upload_and_taken_over_when_its_worker_falls_silent() {
    use store::bulk_jobs::BulkJobState;
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let p = project(&store, true).await;
        // A worker claims 20 of 30 for a job (a lease of 1 ms: it is the
        // job, not the lease, that keeps them), records the job it is about
        // to create, then the id Salesforce gave it.
        let ids = stored_and_claimed(&store, p, 30, 20, 1).await;
        store.start_bulk_job(&bulk_job("creating:w1:1", p, "w1", &ids), None).await.unwrap();
        assert_eq!(store.bulk_job("creating:w1:1").await.unwrap().expect("recorded").state, BulkJobState::Creating);
        assert!(store.bulk_job_created("creating:w1:1", "750R0000000001", "w1").await.unwrap());
        assert!(store.bulk_job("creating:w1:1").await.unwrap().is_none());
        let job = store.bulk_job("750R0000000001").await.unwrap().expect("recorded");
        assert_eq!((job.state, job.worker.as_str(), job.project_id), (BulkJobState::Created, "w1", p));
        assert_eq!((job.org_id.as_deref(), job.object.as_deref(), job.operation.as_deref()), (Some("00D000000000001AAA"), Some("Survey_Response__c"), Some("upsert:External_Id__c")));
        assert_eq!(store.bulk_jobs_in_flight(p).await.unwrap(), vec![job]);
        assert_eq!(store.bulk_job_deliveries("750R0000000001").await.unwrap(), ids);
        assert!(store.bulk_job_moved("750R0000000001", "w1", BulkJobState::Uploaded).await.unwrap());
        assert!(store.bulk_job_moved("750R0000000001", "w1", BulkJobState::Closed).await.unwrap());
        assert_eq!(store.bulk_job("750R0000000001").await.unwrap().unwrap().state, BulkJobState::Closed);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;

        // Its rows are no one else's work, though their lease ran out.
        let others = store.claim_deliveries(200, 60_000).await.unwrap();
        assert_eq!(others.len(), 10);
        assert!(others.iter().all(|c| !ids.contains(&c.id)));
        // While its worker beats, no one takes it over.
        assert!(store.bulk_job_heartbeat("750R0000000001", "w1").await.unwrap());
        assert!(store.take_over_bulk_job(60_000, "w2", 60_000).await.unwrap().is_none());

        // Silent: the next worker takes it over with its deliveries, at once.
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let (taken, claimed) = store.take_over_bulk_job(5, "w2", 60_000).await.unwrap().expect("a silent job");
        assert_eq!((taken.job_id.as_str(), taken.worker.as_str(), taken.state), ("750R0000000001", "w2", BulkJobState::Closed));
        let mut resumed: Vec<i64> = claimed.iter().map(|c| c.id).collect();
        resumed.sort();
        assert_eq!(resumed, ids);
        assert!(store.take_over_bulk_job(60_000, "w3", 60_000).await.unwrap().is_none(), "taken over once");
        // The first worker, should it wake, no longer owns it.
        assert!(!store.bulk_job_heartbeat("750R0000000001", "w1").await.unwrap());
        assert!(!store.bulk_job_moved("750R0000000001", "w1", BulkJobState::Closed).await.unwrap());
        store.end_bulk_job("750R0000000001", "w1").await.unwrap();
        assert_eq!(store.bulk_jobs_in_flight(p).await.unwrap().len(), 1, "only its owner forgets it");

        // Found never closed, it is replaced by a new job for the same rows.
        store.start_bulk_job(&bulk_job("750R0000000002", p, "w2", &ids), Some("750R0000000001")).await.unwrap();
        assert!(store.bulk_job("750R0000000001").await.unwrap().is_none());
        assert_eq!(store.bulk_job_deliveries("750R0000000002").await.unwrap(), ids);

        // Settled and ended: nothing in flight.
        store.finish_deliveries("00D000000000001AAA", &delivered(&ids)).await.unwrap();
        store.end_bulk_job("750R0000000002", "w2").await.unwrap();
        assert!(store.bulk_jobs_in_flight(p).await.unwrap().is_empty());
        assert_eq!(store.delivery_counts(p).await.unwrap().delivered, 20);

        // A worker that died after settling, before forgetting its job:
        // the job is forgotten by whoever finds it silent, with nothing claimed.
        let mine: Vec<i64> = others.iter().map(|c| c.id).collect();
        store.start_bulk_job(&bulk_job("750R0000000003", p, "w4", &mine), None).await.unwrap();
        store.finish_deliveries("00D000000000001AAA", &delivered(&mine)).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        assert!(store.take_over_bulk_job(5, "w5", 60_000).await.unwrap().is_none());
        assert!(store.bulk_jobs_in_flight(p).await.unwrap().is_empty());
        assert_eq!(store.delivery_counts(p).await.unwrap().delivered, 30);
    }
}

#[tokio::test]
async fn a_job_whose_worker_died_while_creating_it_is_taken_over_and_its_late_id_refused() {
    use store::bulk_jobs::BulkJobState;
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let p = project(&store, true).await;
        // The intent is recorded, with its deliveries, before Salesforce is asked.
        let ids = stored_and_claimed(&store, p, 10, 10, 900_000).await;
        store.start_bulk_job(&bulk_job("creating:w1:7", p, "w1", &ids), None).await.unwrap();
        let recorded = store.bulk_job("creating:w1:7").await.unwrap().expect("recorded");
        assert_eq!((recorded.state, recorded.worker.as_str()), (BulkJobState::Creating, "w1"));
        assert_eq!(store.bulk_jobs_creating("00D000000000001AAA").await.unwrap(), vec![recorded.clone()]);
        assert!(store.bulk_jobs_creating("00D000000000002AAA").await.unwrap().is_empty(), "another org's");
        assert_eq!(store.bulk_job_deliveries("creating:w1:7").await.unwrap(), ids);
        assert!(store.claim_deliveries(200, 60_000).await.unwrap().is_empty(), "its rows are no one else's");

        // Its worker falls silent: the next takes it over with its rows at
        // once (their 15-minute lease not waited out), and learns when the
        // silent worker was last heard from.
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let (taken, claimed) = store.take_over_bulk_job(5, "w2", 60_000).await.unwrap().expect("a silent job");
        assert_eq!((taken.job_id.as_str(), taken.worker.as_str(), taken.state), ("creating:w1:7", "w2", BulkJobState::Creating));
        assert_eq!(taken.heartbeat_at, recorded.heartbeat_at, "the silent worker's last heartbeat");
        let mut resumed: Vec<i64> = claimed.iter().map(|c| c.id).collect();
        resumed.sort();
        assert_eq!(resumed, ids);

        // The first worker's id arrives late: refused, nothing renamed.
        assert!(!store.bulk_job_created("creating:w1:7", "750R0000000009", "w1").await.unwrap());
        assert!(store.bulk_job("750R0000000009").await.unwrap().is_none());
        assert_eq!(store.bulk_job_deliveries("creating:w1:7").await.unwrap(), ids);

        // The rows go again in a new job replacing the placeholder, renamed
        // once Salesforce answers: record and deliveries in one step.
        store.start_bulk_job(&bulk_job("creating:w2:8", p, "w2", &ids), Some("creating:w1:7")).await.unwrap();
        assert!(store.bulk_job("creating:w1:7").await.unwrap().is_none());
        assert!(store.bulk_job_created("creating:w2:8", "750R0000000010", "w2").await.unwrap());
        assert!(store.bulk_jobs_creating("00D000000000001AAA").await.unwrap().is_empty(), "created, no longer creating");
        assert!(!store.bulk_job_created("creating:w2:8", "750R0000000010", "w2").await.unwrap(), "renamed once");
        let job = store.bulk_job("750R0000000010").await.unwrap().expect("renamed");
        assert_eq!((job.state, job.worker.as_str()), (BulkJobState::Created, "w2"));
        assert_eq!(store.bulk_job_deliveries("750R0000000010").await.unwrap(), ids);
        assert!(store.bulk_job_deliveries("creating:w2:8").await.unwrap().is_empty());
        assert_eq!(store.bulk_jobs_in_flight(p).await.unwrap(), vec![job]);

        store.finish_deliveries("00D000000000001AAA", &delivered(&ids)).await.unwrap();
        store.end_bulk_job("750R0000000010", "w2").await.unwrap();
        assert!(store.bulk_jobs_in_flight(p).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn renewed_leases_are_kept_and_lapsed_ones_freed() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let p = project(&store, true).await;
        let writer = store.response_writer();
        for n in 0..10 {
            writer.submit(response(p, n)).await.unwrap();
        }
        let mine: Vec<i64> = store.claim_deliveries(200, 1).await.unwrap().iter().map(|c| c.id).collect();
        assert_eq!(mine.len(), 10);
        // A lease renewed in time keeps the rows; one let run out frees them.
        store.renew_leases(&mine, 60_000).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        assert!(store.claim_deliveries(200, 60_000).await.unwrap().is_empty());
        let back: Vec<i64> = mine.iter().map(|&id| id).collect();
        store.deliver_later(&back.iter().map(|&id| (id, 0)).collect::<Vec<_>>(), store::deliveries::Later::Retry { error: "x" }).await.unwrap();
        assert_eq!(store.claim_deliveries(200, 1).await.unwrap().len(), 10);
    }
}
