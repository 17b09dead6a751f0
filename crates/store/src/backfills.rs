//! Backfills: a person sends a survey's earlier responses through its
//! current mappings — those stored before it mapped anything, and those
//! delivered or failed under earlier mappings — in the same outbox, so the
//! same batched, exactly-once worker writes them (upserts by the response's
//! key, matches by query: nothing is duplicated). Held, waiting and
//! discarded deliveries are left as they are.

use crate::{now_ms, Result, Store};

/// A backfill run and how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backfill {
    pub id: i64,
    pub project_id: i64,
    pub started_by: i64,
    pub started_at: i64,
    /// Deliveries it made due.
    pub total: i64,
    /// Of those, how many are no longer waiting (delivered, failed or held).
    pub done: i64,
}

impl Backfill {
    pub fn running(&self) -> bool {
        self.done < self.total
    }
}

impl Store {
    /// Starts a backfill of the project, unless one is running (`Ok(None)`):
    /// every stored response without a delivery gets one, and every
    /// delivered or failed one is due again, all in one transaction.
    pub async fn start_backfill(&self, project_id: i64, started_by: i64) -> Result<Option<Backfill>> {
        let mut tx = self.write_tx().await?;
        // A second backfill while one runs is refused (two started at the same
        // instant would only share the rows out between them).
        let running: Option<(i64,)> = sqlx::query_as(
            "SELECT b.id FROM backfills b WHERE b.project_id = $1 AND EXISTS (SELECT 1 FROM deliveries d WHERE d.backfill_id = b.id AND d.status = 'pending') LIMIT 1",
        )
        .bind(project_id)
        .fetch_optional(&mut *tx)
        .await?;
        if running.is_some() {
            return Ok(None);
        }
        let now = now_ms();
        let (id,): (i64,) = sqlx::query_as("INSERT INTO backfills (project_id, started_by, started_at, total) VALUES ($1, $2, $3, 0) RETURNING id")
            .bind(project_id)
            .bind(started_by)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let added = sqlx::query(
            "INSERT INTO deliveries (project_id, response_id, public_id, status, next_attempt_at, created_at, updated_at, backfill_id)
             SELECT r.project_id, r.id, r.public_id, 'pending', $1, $1, $1, $2
               FROM responses r
              WHERE r.project_id = $3 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.response_id = r.id)",
        )
        .bind(now)
        .bind(id)
        .bind(project_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Only rows no worker holds: a waiting one is leased or about to be.
        let again = sqlx::query(
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, last_error = NULL, note = NULL, updated_at = $1, backfill_id = $2
              WHERE project_id = $3 AND status IN ('delivered', 'failed')",
        )
        .bind(now)
        .bind(id)
        .bind(project_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let total = (added + again) as i64;
        sqlx::query("UPDATE backfills SET total = $1 WHERE id = $2").bind(total).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(Backfill { id, project_id, started_by, started_at: now, total, done: 0 }))
    }

    /// The project's latest backfill, with its progress.
    pub async fn latest_backfill(&self, project_id: i64) -> Result<Option<Backfill>> {
        let row: Option<(i64, i64, i64, i64)> =
            sqlx::query_as("SELECT id, started_by, started_at, total FROM backfills WHERE project_id = $1 ORDER BY id DESC LIMIT 1").bind(project_id).fetch_optional(&self.pool).await?;
        let Some((id, started_by, started_at, total)) = row else { return Ok(None) };
        let (waiting,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM deliveries WHERE backfill_id = $1 AND status = 'pending'").bind(id).fetch_one(&self.pool).await?;
        Ok(Some(Backfill { id, project_id, started_by, started_at, total, done: total - waiting }))
    }
}
