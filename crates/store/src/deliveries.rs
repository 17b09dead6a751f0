//! The delivery outbox: responses waiting to reach Salesforce, claimed by
//! workers with a lease (no transaction is held across a Salesforce call),
//! and every state a delivery can end in. Nothing is ever dropped: a
//! delivery ends delivered, failed (retryable by a person), or discarded by
//! a person's choice, with that choice recorded.

use crate::columns::{json, Column};
use crate::responses::{ResponseRow, StoredResponse};
use crate::{now_ms, Backend, Result, Store, StoreError};
use domain::DeliveryStatus;

/// A delivery's outcome, as a batch records it.
#[derive(Debug, Clone)]
pub struct Finished {
    pub id: i64,
    /// The log of what became of each mapping (JSON).
    pub outcome: String,
    /// Why it failed; `None`: delivered.
    pub error: Option<String>,
    /// Set: a passing error; the delivery goes again at this time.
    pub retry_at: Option<i64>,
}

/// Why claimed deliveries go back to wait.
#[derive(Debug, Clone, Copy)]
pub enum Later<'a> {
    /// A passing failure: Salesforce's words, kept as the last error.
    Retry { error: &'a str },
    /// Waiting for API budget: why, as the delivery's note.
    Wait { note: &'a str },
}

/// A delivery a worker holds the lease on, with its response.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub project_id: i64,
    pub attempts: i64,
    pub response: StoredResponse,
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub project_id: i64,
    pub public_id: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub org_id: Option<String>,
    /// Per mapping, the object and the record id or Salesforce's error
    /// (empty until a worker has tried).
    pub outcome: Vec<serde_json::Value>,
    pub last_error: Option<String>,
    /// Why it is held, or who discarded it and why.
    pub note: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Who gave up on it, and when.
    pub given_up: Option<(i64, i64)>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    id: i64,
    project_id: i64,
    public_id: String,
    status: String,
    attempts: i64,
    next_attempt_at: i64,
    org_id: Option<String>,
    outcome: Option<String>,
    last_error: Option<String>,
    note: Option<String>,
    created_at: i64,
    updated_at: i64,
    given_up_by: Option<i64>,
    given_up_at: Option<i64>,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;
    fn try_from(r: DeliveryRow) -> Result<Delivery> {
        Ok(Delivery {
            status: DeliveryStatus::from_column("deliveries", "status", &r.status)?,
            outcome: match &r.outcome {
                Some(o) => json("outcome of delivery", r.id, o)?,
                None => Vec::new(),
            },
            id: r.id,
            project_id: r.project_id,
            public_id: r.public_id,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            org_id: r.org_id,
            last_error: r.last_error,
            note: r.note,
            created_at: r.created_at,
            updated_at: r.updated_at,
            given_up: r.given_up_by.zip(r.given_up_at),
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub pending: i64,
    pub held: i64,
    pub delivered: i64,
    pub failed: i64,
    pub discarded: i64,
    /// Of the pending: waiting for API budget.
    pub waiting_for_budget: i64,
}

pub(crate) const DELIVERY_COLUMNS: &str =
    "id, project_id, public_id, status, attempts, next_attempt_at, org_id, outcome, last_error, note, created_at, updated_at, given_up_by, given_up_at";

/// A delivery a worker may take now: pending, due by `now` (a parameter),
/// not under another worker's lease, and not in a Bulk API job (a job's
/// deliveries go with the job: the worker waiting for it settles them, or
/// the one that takes it over, see [`Store::take_over_bulk_job`]).
fn due_and_free(now: &str) -> String {
    format!("{} AND bulk_job IS NULL", free_at(now))
}

/// Pending, due by `now`, and under no live lease.
fn free_at(now: &str) -> String {
    format!("status = 'pending' AND next_attempt_at <= {now} AND (lease_until IS NULL OR lease_until < {now})")
}

/// Ids as the JSON rows `Store::json_rows` reads with the column `id BIGINT`.
fn id_rows(ids: impl Iterator<Item = i64>) -> String {
    serde_json::Value::Array(ids.map(|id| serde_json::json!({ "id": id })).collect()).to_string()
}

/// Which deliveries a claim takes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'a> {
    Any,
    Project(i64),
    /// The pending deliveries of a Bulk API job a worker was taken over
    /// from, whatever their lease: winning the job decides who waits for it.
    Job(&'a str),
}

impl Store {
    /// Claims up to `limit` due deliveries for `lease_ms`. Several workers
    /// (and processes, on PostgreSQL) never claim the same row at once.
    pub async fn claim_deliveries(&self, limit: i64, lease_ms: i64) -> Result<Vec<Claimed>> {
        self.claim(Scope::Any, limit, lease_ms).await
    }

    /// Claims up to `limit` of one project's due deliveries (a Bulk API job's worth).
    pub async fn claim_project_deliveries(&self, project_id: i64, limit: i64, lease_ms: i64) -> Result<Vec<Claimed>> {
        self.claim(Scope::Project(project_id), limit, lease_ms).await
    }

    /// Renews the lease on deliveries a worker is still sending, so that a
    /// live worker keeps its rows however long Salesforce takes, while a
    /// dead one's are taken over once `lease_ms` passes.
    pub async fn renew_leases(&self, ids: &[i64], lease_ms: i64) -> Result<()> {
        let sql = format!(
            "UPDATE deliveries SET lease_until = $1 WHERE status = 'pending' AND lease_until IS NOT NULL AND id IN (SELECT j.id FROM {})",
            self.json_rows("$2", "id BIGINT")
        );
        sqlx::query(&sql).bind(now_ms() + lease_ms).bind(id_rows(ids.iter().copied())).execute(&self.pool).await?;
        Ok(())
    }

    /// The project whose delivery is next in line (due, free to claim,
    /// oldest first), and whether it has more than `threshold` due: a
    /// backlog for the Bulk API. Two index reads, the count bounded by
    /// `threshold`, so it is cheap enough before every claim.
    pub async fn next_backlog(&self, threshold: i64) -> Result<Option<i64>> {
        let now = now_ms();
        let due = due_and_free("$1");
        let next: Option<(i64,)> = sqlx::query_as(&format!("SELECT project_id FROM deliveries WHERE {due} ORDER BY id LIMIT 1"))
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        let Some((project_id,)) = next else { return Ok(None) };
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM (SELECT 1 FROM deliveries WHERE project_id = $2 AND {due} LIMIT $3) AS d"))
            .bind(now)
            .bind(project_id)
            .bind(threshold + 1)
            .fetch_one(&self.pool)
            .await?;
        Ok((n > threshold).then_some(project_id))
    }

    /// How many deliveries a worker could claim now (counting to `limit`
    /// at most), and since when the oldest of them has been due: whether
    /// a claim would fill a call, and how long its first has waited.
    pub async fn claimable_now(&self, limit: i64) -> Result<(i64, Option<i64>)> {
        let due = due_and_free("$1");
        let row: (i64, Option<i64>) =
            sqlx::query_as(&format!("SELECT COUNT(*), MIN(next_attempt_at) FROM (SELECT next_attempt_at FROM deliveries WHERE {due} ORDER BY id LIMIT $2) AS d"))
                .bind(now_ms())
                .bind(limit)
                .fetch_one(&self.pool)
                .await?;
        Ok(row)
    }

    pub(crate) async fn claim(&self, scope: Scope<'_>, limit: i64, lease_ms: i64) -> Result<Vec<Claimed>> {
        let now = now_ms();
        // PostgreSQL: rows another worker is claiming right now are skipped,
        // not waited for. SQLite has one writer at a time, so no lock is needed.
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let which = match scope {
            Scope::Any | Scope::Project(_) => format!("{} AND ($4 IS NULL OR project_id = $4)", due_and_free("$2")),
            Scope::Job(_) => "status = 'pending' AND bulk_job = $4".to_string(),
        };
        let sql = format!(
            "UPDATE deliveries SET lease_until = $1, attempts = attempts + 1, updated_at = $2
              WHERE id IN (SELECT id FROM deliveries WHERE {which} ORDER BY id LIMIT $3{lock})
             RETURNING id, project_id, response_id, attempts"
        );
        let query = sqlx::query_as(&sql).bind(now + lease_ms).bind(now).bind(limit);
        let query = match scope {
            Scope::Any => query.bind(None::<i64>),
            Scope::Project(p) => query.bind(Some(p)),
            Scope::Job(job) => query.bind(job.to_string()),
        };
        let claimed: Vec<(i64, i64, i64, i64)> = query.fetch_all(&self.pool).await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        // The ids as one JSON parameter: a Bulk API job's 10,000 stay one statement.
        let sql = format!(
            "SELECT {} FROM responses WHERE id IN (SELECT j.id FROM {})",
            crate::responses::RESPONSE_COLUMNS,
            self.json_rows("$1", "id BIGINT")
        );
        let rows = sqlx::query_as::<_, ResponseRow>(&sql).bind(id_rows(claimed.iter().map(|c| c.2))).fetch_all(&self.pool).await?;
        let mut responses = std::collections::HashMap::with_capacity(rows.len());
        for row in rows {
            let response_id = row.id;
            match StoredResponse::try_from(row) {
                Ok(r) => {
                    responses.insert(r.id, r);
                }
                // One unreadable response must not stop every other delivery:
                // its own fails, with the reason for a person to see.
                Err(e) => {
                    tracing::error!(response = response_id, error = %e, "a claimed delivery's response is unreadable");
                    sqlx::query("UPDATE deliveries SET status = $1, last_error = $2, lease_until = NULL, bulk_job = NULL, updated_at = $3 WHERE response_id = $4")
                        .bind(DeliveryStatus::Failed.to_column())
                        .bind(e.to_string())
                        .bind(now)
                        .bind(response_id)
                        .execute(&self.pool)
                        .await?;
                }
            }
        }
        let mut out = Vec::with_capacity(claimed.len());
        for (id, project_id, response_id, attempts) in claimed {
            if let Some(response) = responses.remove(&response_id) {
                out.push(Claimed { id, project_id, attempts, response });
            }
        }
        Ok(out)
    }

    /// Records a batch's outcomes in one statement (one commit for the
    /// batch, not one per response): delivered, failed with `error`, or —
    /// with `retry_at` — tried again then (a passing error on one record).
    pub async fn finish_deliveries(&self, org_id: &str, finished: &[Finished]) -> Result<()> {
        if finished.is_empty() {
            return Ok(());
        }
        let rows: Vec<serde_json::Value> = finished
            .iter()
            .map(|f| serde_json::json!({ "id": f.id, "outcome": f.outcome, "error": f.error, "retry_at": f.retry_at }))
            .collect();
        let sql = format!(
            "UPDATE deliveries SET
                status = CASE WHEN j.retry_at IS NOT NULL THEN 'pending' WHEN j.error IS NULL THEN 'delivered' ELSE 'failed' END,
                org_id = $1, outcome = j.outcome, last_error = j.error,
                note = CASE WHEN j.error IS NULL THEN NULL ELSE deliveries.note END,
                next_attempt_at = COALESCE(j.retry_at, deliveries.next_attempt_at),
                lease_until = NULL, bulk_job = NULL, updated_at = $2
              FROM {} WHERE deliveries.id = j.id",
            self.json_rows("$3", "id BIGINT, outcome TEXT, error TEXT, retry_at BIGINT")
        );
        sqlx::query(&sql).bind(org_id).bind(now_ms()).bind(serde_json::Value::Array(rows).to_string()).execute(&self.pool).await?;
        Ok(())
    }

    /// `param` (a JSON array of objects) as a table `j` (see [`crate::json_rows`]).
    fn json_rows(&self, param: &str, columns: &str) -> String {
        crate::json_rows(self.backend, param, columns)
    }

    /// Puts claimed deliveries back until their time: after a passing
    /// failure (`Later::Retry`, the attempt counts) or to wait for API
    /// budget (`Later::Wait`, noted, and the attempt does not count). One
    /// statement for the batch.
    pub async fn deliver_later(&self, later: &[(i64, i64)], why: Later<'_>) -> Result<()> {
        if later.is_empty() {
            return Ok(());
        }
        let rows: Vec<serde_json::Value> = later.iter().map(|(id, at)| serde_json::json!({ "id": id, "at": at })).collect();
        let (error, note, uncount) = match why {
            Later::Retry { error } => (Some(error), None, 0i64),
            Later::Wait { note } => (None, Some(note), 1),
        };
        let sql = format!(
            "UPDATE deliveries SET next_attempt_at = j.at, lease_until = NULL, bulk_job = NULL, updated_at = $1,
                last_error = COALESCE($2, deliveries.last_error), note = $3, attempts = deliveries.attempts - $4
              FROM {} WHERE deliveries.id = j.id",
            self.json_rows("$5", "id BIGINT, at BIGINT")
        );
        sqlx::query(&sql)
            .bind(now_ms())
            .bind(error)
            .bind(note)
            .bind(uncount)
            .bind(serde_json::Value::Array(rows).to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Fails claimed deliveries whose whole call Salesforce refused, with
    /// its words: one statement for the batch.
    pub async fn fail_deliveries(&self, ids: &[i64], org_id: &str, error: &str) -> Result<()> {
        let finished: Vec<Finished> = ids.iter().map(|&id| Finished { id, outcome: "[]".into(), error: Some(error.to_string()), retry_at: None }).collect();
        self.finish_deliveries(org_id, &finished).await
    }

    /// Salesforce refused it for a reason a retry will not fix: a person
    /// looks at the exact error and retries or discards it.
    pub async fn mark_failed(&self, id: i64, org_id: &str, error: &str, outcome: &str) -> Result<()> {
        self.finish_deliveries(org_id, &[Finished { id, outcome: outcome.into(), error: Some(error.into()), retry_at: None }]).await
    }

    /// Keeps deliveries back without sending them, and says why.
    pub async fn hold_deliveries(&self, ids: &[i64], note: &str) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        // The ids as one JSON parameter: a Bulk API job's 10,000 stay one statement.
        let sql = format!(
            "UPDATE deliveries SET status = 'held', note = $1, lease_until = NULL, bulk_job = NULL, updated_at = $2
              WHERE status = 'pending' AND id IN (SELECT j.id FROM {})",
            self.json_rows("$3", "id BIGINT")
        );
        sqlx::query(&sql).bind(note).bind(now_ms()).bind(id_rows(ids.iter().copied())).execute(&self.pool).await?;
        Ok(())
    }

    /// Sends a project's held deliveries on their way (after a transition).
    pub async fn release_held(&self, project_id: i64) -> Result<u64> {
        let now = now_ms();
        let r = sqlx::query(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = $1, note = NULL, updated_at = $1 WHERE project_id = $2 AND status = 'held'",
        )
        .bind(now)
        .bind(project_id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    /// Discards a project's held deliveries, recording who chose to and why.
    pub async fn discard_held(&self, project_id: i64, note: &str) -> Result<u64> {
        let r = sqlx::query("UPDATE deliveries SET status = 'discarded', note = $1, updated_at = $2 WHERE project_id = $3 AND status = 'held'")
            .bind(note)
            .bind(now_ms())
            .bind(project_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    /// A person retries a failed delivery.
    pub async fn retry_delivery(&self, project_id: i64, delivery_id: i64) -> Result<bool> {
        self.due_now(project_id, delivery_id, "'failed'").await
    }

    /// A person sends a response now: a waiting, failed or delivered one is
    /// due at once (a delivered one is written again by the same key). A
    /// held one is not: what holds it holds it still.
    pub async fn send_delivery_now(&self, project_id: i64, delivery_id: i64) -> Result<bool> {
        self.due_now(project_id, delivery_id, "'pending', 'failed', 'delivered'").await
    }

    /// Makes a delivery in one of `statuses` (a constant SQL list) due now.
    async fn due_now(&self, project_id: i64, delivery_id: i64, statuses: &'static str) -> Result<bool> {
        let now = now_ms();
        let r = sqlx::query(&format!(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = $1, note = NULL, bulk_job = NULL, updated_at = $1 WHERE id = $2 AND project_id = $3 AND status IN ({statuses})"
        ))
        .bind(now)
        .bind(delivery_id)
        .bind(project_id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn deliveries(&self, project_id: i64, limit: i64) -> Result<Vec<Delivery>> {
        let rows = sqlx::query_as::<_, DeliveryRow>(&format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE project_id = $1 ORDER BY id DESC LIMIT $2"))
            .bind(project_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Delivery::try_from).collect()
    }

    pub async fn delivery_of(&self, project_id: i64, public_id: &str) -> Result<Option<Delivery>> {
        let row = sqlx::query_as::<_, DeliveryRow>(&format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE project_id = $1 AND public_id = $2"))
            .bind(project_id)
            .bind(public_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Delivery::try_from).transpose()
    }

    pub async fn delivery_counts(&self, project_id: i64) -> Result<DeliveryCounts> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT status, CASE WHEN status = 'pending' AND note LIKE $2 THEN 1 ELSE 0 END, COUNT(*)
               FROM deliveries WHERE project_id = $1 GROUP BY 1, 2",
        )
        .bind(project_id)
        .bind(format!("{}%", domain::budget::WAIT_PREFIX))
        .fetch_all(&self.pool)
        .await?;
        DeliveryCounts::from_rows(rows)
    }

    /// The whole queue by status, every project's: what `/metrics` shows.
    pub async fn queue_depth(&self) -> Result<DeliveryCounts> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT status, CASE WHEN status = 'pending' AND note LIKE $1 THEN 1 ELSE 0 END, COUNT(*)
               FROM deliveries GROUP BY 1, 2",
        )
        .bind(format!("{}%", domain::budget::WAIT_PREFIX))
        .fetch_all(&self.pool)
        .await?;
        DeliveryCounts::from_rows(rows)
    }
}

impl DeliveryCounts {
    /// From (status, waiting for budget 0/1, count) rows.
    fn from_rows(rows: Vec<(String, i64, i64)>) -> Result<DeliveryCounts> {
        let mut c = DeliveryCounts::default();
        for (status, waiting, n) in rows {
            match DeliveryStatus::from_column("deliveries", "status", &status)? {
                DeliveryStatus::Pending => c.pending += n,
                DeliveryStatus::Held => c.held = n,
                DeliveryStatus::Delivered => c.delivered = n,
                DeliveryStatus::Failed => c.failed = n,
                DeliveryStatus::Discarded => c.discarded = n,
            }
            if waiting == 1 {
                c.waiting_for_budget = n;
            }
        }
        Ok(c)
    }
}

impl Store {
    /// A project by id with its owner, for workers acting for the owner.
    pub async fn project_as_owner(&self, project_id: i64) -> Result<Option<crate::projects::Project>> {
        let owner: Option<(i64,)> = sqlx::query_as("SELECT owner_id FROM projects WHERE id = $1 AND deleted_at IS NULL")
            .bind(project_id)
            .fetch_optional(&self.pool)
            .await?;
        match owner {
            Some((owner_id,)) => self.project_for(project_id, owner_id).await,
            None => Ok(None),
        }
    }
}

impl Store {
    /// The deliveries of these responses, by public id.
    pub async fn deliveries_of(&self, project_id: i64, public_ids: &[String]) -> Result<std::collections::HashMap<String, Delivery>> {
        if public_ids.is_empty() {
            return Ok(Default::default());
        }
        let params: Vec<String> = (2..public_ids.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE project_id = $1 AND public_id IN ({})", params.join(","));
        let mut query = sqlx::query_as::<_, DeliveryRow>(&sql).bind(project_id);
        for id in public_ids {
            query = query.bind(id);
        }
        let rows = query.persistent(false).fetch_all(&self.pool).await?;
        rows.into_iter().map(|r| Delivery::try_from(r).map(|d| (d.public_id.clone(), d))).collect()
    }
}

impl Store {
    /// A person retries every failed delivery of a project at once.
    pub async fn retry_failed(&self, project_id: i64) -> Result<u64> {
        let now = now_ms();
        let r = sqlx::query("UPDATE deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $1 WHERE project_id = $2 AND status = 'failed'")
            .bind(now)
            .bind(project_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }
}

impl Store {
    /// Holds, with `note`, a project's failed deliveries that Salesforce
    /// refused for a field it no longer has or lets this user set, or a
    /// value its changed type or picklist no longer takes: written between
    /// an admin's change and the schema check that found it, they go again
    /// with the others once every mapping fits.
    pub async fn hold_failed_by_schema_change(&self, project_id: i64, note: &str) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE deliveries SET status = 'held', note = $1, updated_at = $2
              WHERE project_id = $3 AND status = 'failed'
                AND (last_error LIKE '%INVALID_FIELD%' OR last_error LIKE '%INVALID_TYPE_ON_FIELD_IN_RECORD%' OR last_error LIKE '%INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST%')",
        )
        .bind(note)
        .bind(now_ms())
        .bind(project_id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }
}

/// A page of a project's delivery log: newest first, before `before` (a
/// delivery id: keyset pagination, no OFFSET scan), with `status`, and
/// whose response id starts with `response`.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub status: Option<DeliveryStatus>,
    pub response: Option<String>,
    pub before: Option<i64>,
    pub limit: i64,
}

impl Store {
    pub async fn delivery_log(&self, project_id: i64, q: &LogQuery) -> Result<Vec<Delivery>> {
        let mut sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE project_id = $1");
        let mut n = 1;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if q.status.is_some() {
            sql += &format!(" AND status = {}", next());
        }
        if q.response.is_some() {
            sql += &format!(" AND public_id LIKE {} ESCAPE '\\'", next());
        }
        if q.before.is_some() {
            sql += &format!(" AND id < {}", next());
        }
        sql += &format!(" ORDER BY id DESC LIMIT {}", next());
        let mut query = sqlx::query_as::<_, DeliveryRow>(&sql).bind(project_id);
        if let Some(status) = q.status {
            query = query.bind(status.as_str());
        }
        if let Some(prefix) = &q.response {
            let escaped: String = prefix.chars().flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            }).collect();
            query = query.bind(format!("{escaped}%"));
        }
        if let Some(before) = q.before {
            query = query.bind(before);
        }
        let rows = query.bind(q.limit.clamp(1, 500)).fetch_all(&self.pool).await?;
        rows.into_iter().map(Delivery::try_from).collect()
    }

    /// A person gives up on a delivery that has not been delivered (and is
    /// not being sent right now): it is discarded, recording who and when.
    pub async fn give_up_delivery(&self, project_id: i64, delivery_id: i64, actor_id: i64, note: &str) -> Result<bool> {
        let now = now_ms();
        let r = sqlx::query(
            "UPDATE deliveries SET status = 'discarded', note = $1, given_up_by = $2, given_up_at = $3, bulk_job = NULL, updated_at = $3
              WHERE id = $4 AND project_id = $5 AND status IN ('pending', 'held', 'failed') AND (lease_until IS NULL OR lease_until < $3)",
        )
        .bind(note)
        .bind(actor_id)
        .bind(now)
        .bind(delivery_id)
        .bind(project_id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }
}
