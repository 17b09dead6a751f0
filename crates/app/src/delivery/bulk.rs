//! A batch's Bulk API 2.0 ingest job, kept on record from before Salesforce
//! is asked to create it, so a worker killed at any step leaves it to the
//! next: a closed job's results are read (no second job), a job never
//! closed is aborted and its rows sent again, one Salesforce no longer
//! knows is sent again (updates and upserts only: the same records by the
//! same keys), and one whose id never reached the record (its worker died
//! around the create call) is looked for in the org's list of jobs, aborted
//! if found, and its rows sent again. The worker waiting for a job beats a
//! heartbeat on its record; one silent for the job lease is taken over at
//! once, its deliveries with it, rather than after their delivery lease.

use super::AbortOnDrop;
use salesforce::rest::{ingest_upload, IngestOperation, IngestState, IngestWait, ListedIngestJob, SaveResult};
use salesforce::{Client, ErrorCode, SalesforceError, UserId};
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::bulk_jobs::{BulkJob, BulkJobState, NewBulkJob};
use store::Store;

/// One worker's turn at a Bulk API job: the id it waits under, the job it
/// took over (if it did), the job its batch is in now, and the heartbeat
/// that keeps that job its own.
pub(super) struct BulkRun {
    worker: String,
    resume: Option<BulkJob>,
    current: Arc<Mutex<Option<String>>>,
    _heartbeat: AbortOnDrop,
}

impl std::fmt::Debug for BulkRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkRun").field("worker", &self.worker).field("resume", &self.resume.as_ref().map(|j| &j.job_id)).finish()
    }
}

/// An id for one worker's turn at a job: unique enough that two workers
/// (or two turns of one) never share it.
pub(super) fn worker_id() -> String {
    format!("{}-{:016x}", std::process::id(), rand::random::<u64>())
}

/// The id a job is recorded under until Salesforce gives it one: no
/// Salesforce id has a colon.
fn placeholder_id(worker: &str) -> String {
    format!("creating:{worker}:{:08x}", rand::random::<u32>())
}

/// How many pages of the org's job list (a thousand jobs each) a worker
/// reads looking for a job whose id was never recorded.
const ORPHAN_LIST_PAGES: usize = 5;

/// How far Salesforce's clock may be from ours, when a job's creation time
/// is compared with when its worker was alive.
const CLOCK_SKEW_MS: i64 = 60_000;

impl BulkRun {
    /// Starts the heartbeat, every third of `job_lease`: beats go to the
    /// job taken over at once, and to a new job from the moment it is
    /// recorded, before Salesforce creates it.
    pub(super) fn start(store: &Store, worker: String, resume: Option<BulkJob>, job_lease: Duration) -> BulkRun {
        let current = Arc::new(Mutex::new(resume.as_ref().map(|j| j.job_id.clone())));
        let (store, beating, me) = (store.clone(), current.clone(), worker.clone());
        let every = (job_lease / 3).max(Duration::from_millis(50));
        let heartbeat = AbortOnDrop(tokio::spawn(async move {
            // A job another worker took over (this one was silent too long)
            // is its now: said once, then left alone.
            let mut lost: Option<String> = None;
            loop {
                tokio::time::sleep(every).await;
                let Some(job) = beating.lock().expect("heartbeat lock").clone().filter(|j| lost.as_ref() != Some(j)) else { continue };
                match store.bulk_job_heartbeat(&job, &me).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = %job, "another worker has taken over this Bulk API job");
                        lost = Some(job);
                    }
                    Err(e) => tracing::warn!(error = %e, job = %job, "could not beat the Bulk API job's heartbeat"),
                }
            }
        }));
        BulkRun { worker, resume, current, _heartbeat: heartbeat }
    }

    /// The batch is settled (or sent another way): its job is forgotten.
    pub(super) async fn end(&self, store: &Store) -> store::Result<()> {
        let job = self.current.lock().expect("heartbeat lock").take();
        match job {
            Some(job) => store.end_bulk_job(&job, &self.worker).await,
            None => Ok(()),
        }
    }

    fn now_in(&self, job_id: &str) {
        *self.current.lock().expect("heartbeat lock") = Some(job_id.to_string());
    }
}

/// The job a project's batch goes out in, and what it needs to record it.
pub(super) struct Job<'a> {
    pub store: &'a Store,
    pub run: &'a BulkRun,
    pub project_id: i64,
    pub org_id: &'a str,
    /// The Salesforce user of the owner's link: the jobs it creates are its.
    pub sf_user: Option<&'a str>,
    pub deliveries: &'a [i64],
    /// See [`super::BulkSettings::pause_after_create`].
    pub pause_after_create: Duration,
}

/// What to do with a job taken over from a silent worker.
enum TakenOver {
    /// Closed: Salesforce processes it (or has); read its results.
    Read,
    /// Never closed, aborted, unknown to Salesforce, never given its id on
    /// record, or for another org, object or operation: its rows go in a
    /// new job.
    SendAgain,
}

/// How a job's operation is recorded: `update`, or `upsert:<field>`.
fn operation_word(op: &IngestOperation) -> String {
    match op {
        IngestOperation::Update => "update".into(),
        IngestOperation::Upsert { external_id_field } => format!("upsert:{external_id_field}"),
    }
}

/// The operation recorded as [`operation_word`] wrote it.
fn operation_from_word(word: &str) -> Option<IngestOperation> {
    match word.split_once(':') {
        None if word == "update" => Some(IngestOperation::Update),
        Some(("upsert", field)) if !field.is_empty() => Some(IngestOperation::Upsert { external_id_field: field.to_string() }),
        _ => None,
    }
}

/// What a job created for a worker that died before recording its id
/// looks like in the org's list of ingest jobs.
struct OrphanSearch<'a> {
    object: &'a str,
    op: &'a IngestOperation,
    /// The link's Salesforce user, who creates its jobs; `None`: unknown.
    user: Option<UserId>,
    /// When the dead worker may have asked, in Unix milliseconds (its
    /// record's creation to its last heartbeat, widened for clock skew).
    alive: std::ops::RangeInclusive<i64>,
    /// When another worker began creating a job of the same kind (less the
    /// clock skew): a job from then on may be theirs.
    others_since: Option<i64>,
}

impl OrphanSearch<'_> {
    /// Whether `job` may be the one created for the dead worker: open,
    /// writing the same object the same way, by the link's user, created
    /// while that worker was alive and before anyone else began creating
    /// one like it. (A job on record under its id is someone else's; the
    /// caller asks the store.)
    fn may_be(&self, job: &ListedIngestJob) -> bool {
        job.state == IngestState::Open
            && job.writes(self.object, self.op)
            && self.user.as_ref().is_none_or(|u| job.created_by.as_ref() == Some(u))
            && job.created_at_ms.is_some_and(|t| self.alive.contains(&t) && self.others_since.is_none_or(|since| t < since))
    }
}

impl Job<'_> {
    /// Writes `rows` through a job and answers per row what became of it:
    /// the results of the job taken over when it was closed, else those of
    /// a new one.
    pub(super) async fn results(&self, client: &Client, object: &str, op: &IngestOperation, rows: &[Map<String, Value>], wait: IngestWait) -> Result<Vec<SaveResult>, SalesforceError> {
        let replacing = match &self.run.resume {
            Some(old) => match self.taken_over(client, old, object, op).await? {
                TakenOver::Read => {
                    tracing::info!(job = %old.job_id, "reading the results of a Bulk API job taken over from a silent worker");
                    return client.ingest_outcome(&old.job_id, op, rows, wait).await;
                }
                TakenOver::SendAgain => Some(old.job_id.as_str()),
            },
            None => None,
        };
        self.send_new(client, object, op, rows, wait, replacing).await
    }

    /// Salesforce's word on a job taken over decides: its state, not how
    /// far the silent worker recorded it got (a close may have reached
    /// Salesforce and the record of it not the database).
    async fn taken_over(&self, client: &Client, old: &BulkJob, object: &str, op: &IngestOperation) -> Result<TakenOver, SalesforceError> {
        // Another org (the link changed since): this session cannot see the
        // job; its rows go to the org the project delivers to now.
        if old.org_id.as_deref().is_some_and(|o| o != self.org_id) {
            tracing::info!(job = %old.job_id, "a Bulk API job taken over was for another org; its rows go again");
            return Ok(TakenOver::SendAgain);
        }
        if old.state == BulkJobState::Creating {
            self.abort_orphans(client, old, object, op).await;
            return Ok(TakenOver::SendAgain);
        }
        let info = match client.ingest_job(&old.job_id).await {
            // Salesforce deletes jobs 7 days after they end.
            Err(e) if e.error_code() == Some(&ErrorCode::NotFound) => {
                tracing::info!(job = %old.job_id, "Salesforce no longer knows a Bulk API job taken over; its rows go again");
                return Ok(TakenOver::SendAgain);
            }
            r => r?,
        };
        let same = old.object.as_deref().is_none_or(|o| o.eq_ignore_ascii_case(object)) && old.operation.as_deref().is_none_or(|w| w == operation_word(op));
        match info.state {
            // Never closed: its upload may be partial, and only a closed job is processed.
            IngestState::Open => {
                tracing::info!(job = %old.job_id, "a Bulk API job taken over was never closed; aborted, its rows go again");
                if let Err(e) = client.set_ingest_state(&old.job_id, "Aborted").await {
                    tracing::warn!(job = %old.job_id, error = %e.for_log(), "could not abort a Bulk API job never closed");
                }
                Ok(TakenOver::SendAgain)
            }
            IngestState::Aborted => Ok(TakenOver::SendAgain),
            // The mapping changed since: what the job wrote stands, and the
            // rows go again as the project maps them now.
            _ if !same => Ok(TakenOver::SendAgain),
            _ => Ok(TakenOver::Read),
        }
    }

    /// Its worker died while Salesforce was asked to create the job
    /// recorded as `old`, before its id was recorded: aborts every job of
    /// the org that may be it — open, writing the same object the same way,
    /// created by the link's user (when known) while that worker was alive
    /// (give or take a minute of clock skew), on record under no id, and
    /// created before any other worker began creating one of the same
    /// kind (that one may be theirs, its id not recorded yet: left open,
    /// an empty job Salesforce never processes, rather than aborted under
    /// a live worker). A failure is logged: the rows go again all the
    /// same, the same records by the same keys.
    async fn abort_orphans(&self, client: &Client, old: &BulkJob, object: &str, op: &IngestOperation) {
        // The job was created as the record says, whatever the mapping is now.
        let recorded_op = old.operation.as_deref().and_then(operation_from_word);
        let (object, op) = (old.object.as_deref().unwrap_or(object), recorded_op.as_ref().unwrap_or(op));
        let jobs = match client.ingest_jobs(ORPHAN_LIST_PAGES).await {
            Ok((jobs, whole)) => {
                if !whole {
                    tracing::info!(job = %old.job_id, pages = ORPHAN_LIST_PAGES, "the org lists more Bulk API jobs than are read for one whose id was never recorded");
                }
                jobs
            }
            Err(e) => {
                tracing::warn!(job = %old.job_id, error = %e.for_log(), "could not list the org's Bulk API jobs to find one whose id was never recorded");
                return;
            }
        };
        // Read after the list: a live worker's job in it is on record by now,
        // under its id or its placeholder (recorded before it asked).
        let others_since = match self.store.bulk_jobs_creating(self.org_id).await {
            Ok(rows) => rows
                .iter()
                .filter(|r| r.job_id != old.job_id && r.object.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(object)) && r.operation.as_deref() == Some(operation_word(op).as_str()))
                .map(|r| r.created_at - CLOCK_SKEW_MS)
                .min(),
            Err(e) => {
                tracing::warn!(job = %old.job_id, error = %e, "could not read which Bulk API jobs other workers are creating; none aborted");
                return;
            }
        };
        let search = OrphanSearch {
            object,
            op,
            user: self.sf_user.and_then(|u| UserId::parse(u).ok()),
            alive: old.created_at - CLOCK_SKEW_MS..=old.heartbeat_at + CLOCK_SKEW_MS,
            others_since,
        };
        for job in jobs.iter().filter(|j| search.may_be(j)) {
            match self.store.bulk_job(&job.id).await {
                Ok(None) => {}
                // On record: another worker's, looked after by its record.
                Ok(Some(_)) => continue,
                Err(e) => {
                    tracing::warn!(job = %job.id, error = %e, "could not tell whether an open Bulk API job is on record; left open");
                    continue;
                }
            }
            tracing::info!(job = %job.id, placeholder = %old.job_id, "aborting a Bulk API job whose worker died before recording its id");
            if let Err(e) = client.set_ingest_state(&job.id, "Aborted").await {
                tracing::warn!(job = %job.id, error = %e.for_log(), "could not abort a Bulk API job whose id was never recorded");
            }
        }
    }

    /// Records the job it is about to create (and it on its deliveries),
    /// creates it, records its id, uploads, closes, and waits for it; each
    /// step recorded.
    async fn send_new(&self, client: &Client, object: &str, op: &IngestOperation, rows: &[Map<String, Value>], wait: IngestWait, replacing: Option<&str>) -> Result<Vec<SaveResult>, SalesforceError> {
        let csv = ingest_upload(op, rows)?;
        let operation = operation_word(op);
        let placeholder = placeholder_id(&self.run.worker);
        let intent = NewBulkJob { job_id: &placeholder, project_id: self.project_id, org_id: self.org_id, object, operation: &operation, worker: &self.run.worker, deliveries: self.deliveries };
        // Before Salesforce is asked: a crash between its answer and the
        // record of the id leaves the next worker the trace it finds the job by.
        let recorded = match self.store.start_bulk_job(&intent, replacing).await {
            Ok(()) => {
                self.run.now_in(&placeholder);
                true
            }
            Err(e) => {
                // Unrecorded, a crash from here sends the rows again once
                // their lease runs out: the same records by the same keys,
                // only the calls spent twice.
                tracing::warn!(error = %e, "the Bulk API job about to be created could not be recorded");
                false
            }
        };
        let id = client.create_ingest_job(object, op).await?.id;
        if !self.pause_after_create.is_zero() {
            tokio::time::sleep(self.pause_after_create).await;
        }
        if recorded {
            let lost = match self.store.bulk_job_created(&placeholder, &id, &self.run.worker).await {
                Ok(true) => None,
                Ok(false) => Some("another worker took it over before its id was recorded"),
                Err(e) => {
                    tracing::warn!(error = %e, job = %id, "the Bulk API job's id could not be recorded");
                    Some("its id could not be recorded")
                }
            };
            // Its rows are another worker's now (taken over), or will be
            // once its placeholder falls silent, and that worker may not find
            // this job in the org's list: it is not sent, and the rows are
            // left to go again.
            if let Some(why) = lost {
                tracing::warn!(job = %id, "a Bulk API job is aborted before its upload: {why}");
                if let Err(e) = client.set_ingest_state(&id, "Aborted").await {
                    tracing::warn!(job = %id, error = %e.for_log(), "could not abort a Bulk API job not on record");
                }
                return Err(SalesforceError::BulkJobUnfinished { job_id: id, state: "Open".into(), waited_secs: 0 });
            }
            self.run.now_in(&id);
        }
        if let Err(e) = client.upload_ingest_csv(&id, &csv).await {
            let _ = client.set_ingest_state(&id, "Aborted").await;
            return Err(e);
        }
        drop(csv);
        self.moved(&id, BulkJobState::Uploaded).await;
        client.set_ingest_state(&id, "UploadComplete").await?;
        self.moved(&id, BulkJobState::Closed).await;
        client.ingest_outcome(&id, op, rows, wait).await
    }

    /// Records a step; should it not be recorded, the job taken over asks
    /// Salesforce its state anyway.
    async fn moved(&self, job_id: &str, state: BulkJobState) {
        match self.store.bulk_job_moved(job_id, &self.run.worker, state).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(job = %job_id, "another worker has taken over this Bulk API job"),
            Err(e) => tracing::warn!(error = %e, job = %job_id, "could not record the Bulk API job's step"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "005000000000001AAA";

    fn listed(state: IngestState, operation: &str, external_id: Option<&str>, by: Option<&str>, at: Option<i64>) -> ListedIngestJob {
        ListedIngestJob {
            id: "750000000000001AAA".into(),
            object: "Survey_Response__c".into(),
            operation: operation.into(),
            external_id_field_name: external_id.map(String::from),
            created_by: by.map(|u| UserId::parse(u).unwrap()),
            created_at_ms: at,
            state,
        }
    }

    #[test]
    fn an_orphan_is_an_open_job_of_the_same_kind_by_the_link_s_user_while_its_worker_lived_and_before_anyone_else_began() {
        let upsert = IngestOperation::Upsert { external_id_field: "External_Id__c".into() };
        let search = OrphanSearch { object: "Survey_Response__c", op: &upsert, user: Some(UserId::parse(USER).unwrap()), alive: 1_000..=2_000, others_since: Some(1_800) };
        let open = |at| listed(IngestState::Open, "upsert", Some("External_Id__c"), Some(USER), Some(at));
        let cases = [
            ("open, same kind, by the user, while alive", open(1_500), true),
            ("at the edges of the window", open(1_000), true),
            ("created before the worker was", open(999), false),
            ("created after another worker began one like it", open(1_800), false),
            ("closed: Salesforce processes it", listed(IngestState::UploadComplete, "upsert", Some("External_Id__c"), Some(USER), Some(1_500)), false),
            ("another external id", listed(IngestState::Open, "upsert", Some("Other__c"), Some(USER), Some(1_500)), false),
            ("an update", listed(IngestState::Open, "update", None, Some(USER), Some(1_500)), false),
            ("another user's", listed(IngestState::Open, "upsert", Some("External_Id__c"), Some("005000000000002AAA"), Some(1_500)), false),
            ("no creator given", listed(IngestState::Open, "upsert", Some("External_Id__c"), None, Some(1_500)), false),
            ("no creation time", listed(IngestState::Open, "upsert", Some("External_Id__c"), Some(USER), None), false),
        ];
        for (case, job, expected) in cases {
            assert_eq!(search.may_be(&job), expected, "{case}");
        }
        // The link's user unknown, and no one else creating: any creator, to the window's end.
        let anyone = OrphanSearch { user: None, others_since: None, ..search };
        assert!(anyone.may_be(&listed(IngestState::Open, "upsert", Some("External_Id__c"), None, Some(2_000))));
        assert!(!anyone.may_be(&listed(IngestState::Open, "upsert", Some("External_Id__c"), None, Some(2_001))));
    }

    #[test]
    fn a_recorded_operation_reads_back_as_it_was_written() {
        for op in [IngestOperation::Update, IngestOperation::Upsert { external_id_field: "External_Id__c".into() }] {
            assert_eq!(operation_from_word(&operation_word(&op)), Some(op));
        }
        assert_eq!(operation_from_word("upsert:"), None);
        assert_eq!(operation_from_word("insert"), None);
    }
}
