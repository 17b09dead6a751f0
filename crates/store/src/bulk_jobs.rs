//! Bulk API 2.0 ingest jobs in flight: recorded before Salesforce is asked
//! to create one (under a placeholder id, `creating`), renamed to the id
//! Salesforce gives it, moved on as it is uploaded and closed, and forgotten
//! once its deliveries are settled. The worker waiting for a job beats a
//! heartbeat on it; a job whose worker falls silent is taken over by the
//! next worker, with its deliveries, without waiting out their lease — so a
//! crash costs neither a second job nor fifteen minutes. One silent while
//! `creating` (its worker died around the create call) leaves the next
//! worker to find and abort the job Salesforce may have created for it.

use crate::columns::Column;
use crate::deliveries::{Claimed, Scope};
use crate::{now_ms, Result, Store, StoreError};

/// How far a job got, as the worker that started it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkJobState {
    /// Salesforce is being asked to create it: recorded under a placeholder
    /// id, so a crash before its id is saved leaves a trace of it.
    Creating,
    /// Salesforce gave it an id; its rows may be partly uploaded.
    Created,
    /// Its CSV is uploaded, the job not closed yet.
    Uploaded,
    /// Closed (`UploadComplete`): Salesforce processes it.
    Closed,
}

impl Column for BulkJobState {
    const WORDS: &'static [(Self, &'static str)] = &[(BulkJobState::Creating, "creating"), (BulkJobState::Created, "created"), (BulkJobState::Uploaded, "uploaded"), (BulkJobState::Closed, "closed")];
}

/// A job about to be created, to be recorded with the deliveries it carries.
#[derive(Debug, Clone, Copy)]
pub struct NewBulkJob<'a> {
    /// A placeholder no Salesforce id can equal, until
    /// [`Store::bulk_job_created`] gives it Salesforce's.
    pub job_id: &'a str,
    pub project_id: i64,
    pub org_id: &'a str,
    pub object: &'a str,
    /// What the job does: `update`, or `upsert:<external id field>`.
    pub operation: &'a str,
    /// Who waits for it (see [`BulkJob::worker`]).
    pub worker: &'a str,
    pub deliveries: &'a [i64],
}

/// A recorded job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkJob {
    pub job_id: String,
    pub project_id: i64,
    /// `None` for a job noted by an earlier version, which did not record them.
    pub org_id: Option<String>,
    pub object: Option<String>,
    pub operation: Option<String>,
    pub state: BulkJobState,
    /// An id the waiting worker chose for this run: a heartbeat or a move
    /// by anyone else (a worker that was taken over) changes nothing.
    pub worker: String,
    pub heartbeat_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct BulkJobRow {
    job_id: String,
    project_id: i64,
    org_id: Option<String>,
    object: Option<String>,
    operation: Option<String>,
    state: String,
    worker: String,
    heartbeat_at: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<BulkJobRow> for BulkJob {
    type Error = StoreError;
    fn try_from(r: BulkJobRow) -> Result<BulkJob> {
        Ok(BulkJob {
            state: BulkJobState::from_column("bulk_jobs", "state", &r.state)?,
            job_id: r.job_id,
            project_id: r.project_id,
            org_id: r.org_id,
            object: r.object,
            operation: r.operation,
            worker: r.worker,
            heartbeat_at: r.heartbeat_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const COLUMNS: &str = "job_id, project_id, org_id, object, operation, state, worker, heartbeat_at, created_at, updated_at";

/// A worker taking over jobs tries this many silent ones before it gives up
/// for this turn (another worker took the others first).
const TAKE_OVER_TRIES: usize = 5;

impl Store {
    /// Records a job about to be created (`creating`, before Salesforce is
    /// asked), and names it on the (claimed, pending) deliveries it carries
    /// — one transaction. `replacing`: the job it takes the place of (found
    /// never closed, aborted, or unknown to Salesforce, or a placeholder
    /// whose worker died), forgotten in the same.
    pub async fn start_bulk_job(&self, job: &NewBulkJob<'_>, replacing: Option<&str>) -> Result<()> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        if let Some(old) = replacing {
            sqlx::query("DELETE FROM bulk_jobs WHERE job_id = $1").bind(old).execute(&mut *tx).await?;
        }
        sqlx::query(
            "INSERT INTO bulk_jobs (job_id, project_id, org_id, object, operation, state, worker, heartbeat_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8)",
        )
        .bind(job.job_id)
        .bind(job.project_id)
        .bind(job.org_id)
        .bind(job.object)
        .bind(job.operation)
        .bind(BulkJobState::Creating.to_column())
        .bind(job.worker)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // The ids as one JSON parameter: a job's 10,000 stay one statement.
        let sql = format!(
            "UPDATE deliveries SET bulk_job = $1 WHERE status = 'pending' AND id IN (SELECT j.id FROM {})",
            crate::json_rows(self.backend, "$2", "id BIGINT")
        );
        let ids = serde_json::Value::Array(job.deliveries.iter().map(|id| serde_json::json!({ "id": id })).collect()).to_string();
        sqlx::query(&sql).bind(job.job_id).bind(ids).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Salesforce created the job recorded as `placeholder`: the record and
    /// its deliveries now name it by `job_id`, `created` — one transaction.
    /// `false`: another worker has taken it over (or it is forgotten), and
    /// nothing changes.
    pub async fn bulk_job_created(&self, placeholder: &str, job_id: &str, worker: &str) -> Result<bool> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        let renamed = sqlx::query("UPDATE bulk_jobs SET job_id = $1, state = $2, heartbeat_at = $3, updated_at = $3 WHERE job_id = $4 AND worker = $5 AND state = $6")
            .bind(job_id)
            .bind(BulkJobState::Created.to_column())
            .bind(now)
            .bind(placeholder)
            .bind(worker)
            .bind(BulkJobState::Creating.to_column())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if renamed {
            sqlx::query("UPDATE deliveries SET bulk_job = $1 WHERE bulk_job = $2").bind(job_id).bind(placeholder).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(renamed)
    }

    /// The job got as far as `state` (a heartbeat too). `false`: another
    /// worker has taken it over, or it is forgotten.
    pub async fn bulk_job_moved(&self, job_id: &str, worker: &str, state: BulkJobState) -> Result<bool> {
        let now = now_ms();
        let r = sqlx::query("UPDATE bulk_jobs SET state = $1, heartbeat_at = $2, updated_at = $2 WHERE job_id = $3 AND worker = $4")
            .bind(state.to_column())
            .bind(now)
            .bind(job_id)
            .bind(worker)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// The worker waiting for the job is alive. `false`: another worker
    /// has taken it over, or it is forgotten.
    pub async fn bulk_job_heartbeat(&self, job_id: &str, worker: &str) -> Result<bool> {
        let r = sqlx::query("UPDATE bulk_jobs SET heartbeat_at = $1 WHERE job_id = $2 AND worker = $3")
            .bind(now_ms())
            .bind(job_id)
            .bind(worker)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Takes over a job whose worker has been silent for `silent_ms`: the
    /// job, now `worker`'s, and its pending deliveries, claimed for
    /// `lease_ms` whatever lease they had (the job row decides who waits
    /// for it; only one worker wins it). The job comes back with the
    /// heartbeat its silent worker last beat, the end of the time it may
    /// have created a job in. A job left with no pending delivery (its
    /// worker died after settling them) is forgotten.
    pub async fn take_over_bulk_job(&self, silent_ms: i64, worker: &str, lease_ms: i64) -> Result<Option<(BulkJob, Vec<Claimed>)>> {
        let now = now_ms();
        let silent: Vec<BulkJobRow> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM bulk_jobs WHERE heartbeat_at < $1 ORDER BY heartbeat_at LIMIT $2"))
            .bind(now - silent_ms)
            .bind(TAKE_OVER_TRIES as i64)
            .fetch_all(&self.pool)
            .await?;
        for row in silent {
            // Compare and set: of two workers seeing the same silent job, one wins it.
            let won = sqlx::query("UPDATE bulk_jobs SET worker = $1, heartbeat_at = $2, updated_at = $2 WHERE job_id = $3 AND worker = $4 AND heartbeat_at = $5")
                .bind(worker)
                .bind(now)
                .bind(&row.job_id)
                .bind(&row.worker)
                .bind(row.heartbeat_at)
                .execute(&self.pool)
                .await?
                .rows_affected()
                > 0;
            if !won {
                continue;
            }
            let mut job = BulkJob::try_from(row)?;
            job.worker = worker.to_string();
            let claimed = self.claim(Scope::Job(&job.job_id), i64::MAX, lease_ms).await?;
            if claimed.is_empty() {
                self.end_bulk_job(&job.job_id, worker).await?;
                continue;
            }
            return Ok(Some((job, claimed)));
        }
        Ok(None)
    }

    /// Forgets a job whose deliveries are settled (or sent another way),
    /// unless another worker has taken it over.
    pub async fn end_bulk_job(&self, job_id: &str, worker: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let gone = sqlx::query("DELETE FROM bulk_jobs WHERE job_id = $1 AND worker = $2").bind(job_id).bind(worker).execute(&mut *tx).await?.rows_affected();
        if gone > 0 {
            // Settling cleared the mark on each delivery already; this only
            // frees one a settlement missed.
            sqlx::query("UPDATE deliveries SET bulk_job = NULL WHERE bulk_job = $1").bind(job_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn bulk_job(&self, job_id: &str) -> Result<Option<BulkJob>> {
        let row: Option<BulkJobRow> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM bulk_jobs WHERE job_id = $1")).bind(job_id).fetch_optional(&self.pool).await?;
        row.map(BulkJob::try_from).transpose()
    }

    /// The Bulk API jobs a project's deliveries are out in (a worker is
    /// uploading or waiting for them, or died doing so), oldest first.
    pub async fn bulk_jobs_in_flight(&self, project_id: i64) -> Result<Vec<BulkJob>> {
        let rows: Vec<BulkJobRow> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM bulk_jobs WHERE project_id = $1 ORDER BY created_at, job_id"))
            .bind(project_id)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(BulkJob::try_from).collect()
    }

    /// The jobs of an org Salesforce is being asked to create (`creating`,
    /// under their placeholder ids), by any worker.
    pub async fn bulk_jobs_creating(&self, org_id: &str) -> Result<Vec<BulkJob>> {
        let rows: Vec<BulkJobRow> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM bulk_jobs WHERE org_id = $1 AND state = $2 ORDER BY created_at, job_id"))
            .bind(org_id)
            .bind(BulkJobState::Creating.to_column())
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(BulkJob::try_from).collect()
    }

    /// The deliveries a job carries (pending, named on them), by id.
    pub async fn bulk_job_deliveries(&self, job_id: &str) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as("SELECT id FROM deliveries WHERE bulk_job = $1 AND status = 'pending' ORDER BY id").bind(job_id).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}
