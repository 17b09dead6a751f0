//! The text index of responses that the responses table's search reads
//! (migration 0023): filled a batch at a time by a background step, behind
//! a watermark (the highest response id indexed), so storing a response
//! costs nothing more. The search reads the index for the responses up to
//! the watermark and every response past it.

use crate::{Backend, Result, Store};
use std::time::Duration;

/// How long the PostgreSQL step waits for the transactions that were storing
/// responses when it looked before it tries again on its next round.
const WRITERS_WAIT: Duration = Duration::from_secs(5);

impl Store {
    /// Indexes up to `batch` responses past the watermark, in id order, and
    /// moves the watermark past them in the same commit; returns how many.
    /// Steps running at once (two processes) take turns on the watermark's
    /// row, so none indexes a response twice or skips one.
    pub async fn index_response_text(&self, batch: i64) -> Result<u64> {
        // The highest id whose response is surely committed.
        let through = match self.backend {
            // One writer at a time, and the step below holds the write lock:
            // every stored response is visible to it.
            Backend::Sqlite => i64::MAX,
            Backend::Postgres => match self.settled_response_id().await? {
                Some(id) => id,
                None => return Ok(0),
            },
        };
        let mut tx = self.write_tx().await?;
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        };
        let (watermark,): (i64,) = sqlx::query_as(&format!("SELECT indexed_through FROM response_text_progress WHERE id = 1{lock}")).fetch_one(&mut *tx).await?;
        let (last, n): (Option<i64>, i64) =
            sqlx::query_as("SELECT MAX(id), COUNT(*) FROM (SELECT id FROM responses WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3) AS next")
                .bind(watermark)
                .bind(through)
                .bind(batch)
                .fetch_one(&mut *tx)
                .await?;
        let Some(last) = last else {
            return Ok(0);
        };
        // The body is each answer's value as the search compares it, so a
        // term found in one answer is found in the body.
        let insert = match self.backend {
            Backend::Sqlite => {
                "INSERT INTO response_text (rowid, body) \
                 SELECT r.id, COALESCE((SELECT group_concat(e.value, char(10)) FROM json_each(r.answers) e), '') \
                 FROM responses r WHERE r.id > $1 AND r.id <= $2"
            }
            Backend::Postgres => {
                "INSERT INTO response_text (response_id, body) \
                 SELECT r.id, COALESCE((SELECT string_agg(e.value, E'\\n') FROM jsonb_each_text(CAST(r.answers AS JSONB)) e), '') \
                 FROM responses r WHERE r.id > $1 AND r.id <= $2"
            }
        };
        sqlx::query(insert).bind(watermark).bind(last).execute(&mut *tx).await?;
        sqlx::query("UPDATE response_text_progress SET indexed_through = $1 WHERE id = 1").bind(last).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(n.max(0) as u64)
    }

    /// On PostgreSQL, the highest response id below which no response can
    /// still appear, or `None` when the transactions storing responses did
    /// not finish within `WRITERS_WAIT`. Ids are handed out before commit,
    /// so a response can appear after one with a higher id; but every
    /// response at or below the highest id seen now was written by a
    /// transaction already holding its lock on `responses`: once those have
    /// ended, nothing can appear below it. Waiting for them (as CREATE INDEX
    /// CONCURRENTLY does) never holds up a response being stored.
    async fn settled_response_id(&self) -> Result<Option<i64>> {
        let (highest,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM responses").fetch_one(&self.pool).await?;
        let writers = "SELECT virtualtransaction FROM pg_locks \
                       WHERE locktype = 'relation' AND relation = CAST('responses' AS REGCLASS) \
                       AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()";
        let before: Vec<(String,)> = sqlx::query_as(writers).fetch_all(&self.pool).await?;
        let started = std::time::Instant::now();
        let mut waiting: Vec<String> = before.into_iter().map(|(v,)| v).collect();
        while !waiting.is_empty() {
            if started.elapsed() > WRITERS_WAIT {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            let now: Vec<(String,)> = sqlx::query_as(writers).fetch_all(&self.pool).await?;
            waiting.retain(|v| now.iter().any(|(n,)| n == v));
        }
        Ok(Some(highest))
    }

    /// The highest response id in the text index (every response at or
    /// below it is indexed).
    pub async fn response_text_indexed_through(&self) -> Result<i64> {
        let (id,): (i64,) = sqlx::query_as("SELECT indexed_through FROM response_text_progress WHERE id = 1").fetch_one(&self.pool).await?;
        Ok(id)
    }
}
