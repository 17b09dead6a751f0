//! Responses, and the group-commit writer that makes them durable fast.
//!
//! A respondent is told "thank you" only after the response is committed
//! (SQLite: WAL with `synchronous = FULL`, so fsync'd). Committing each
//! response alone caps throughput at the disk's fsync rate, so one writer
//! task takes every response that arrived while the previous commit was
//! flushing and commits them together.

use crate::columns::{json, Column};
use crate::{now_ms, Backend, Result, Store, StoreError};
use domain::{EmbeddedProvenance, QuestionId};
use sqlx::AnyPool;
use std::collections::BTreeMap;
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone)]
pub struct NewResponse {
    pub public_id: String,
    pub project_id: i64,
    /// The answers as a JSON object, question id → value.
    pub answers: String,
    /// The embedded data as a JSON object, field name → value.
    pub embedded: String,
    pub started_at: Option<i64>,
    pub finished_at: i64,
    /// Where the embedded data came from (a signed link, or not).
    pub provenance: EmbeddedProvenance,
}

/// A stored response, read back: its JSON parsed, its provenance typed.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub id: i64,
    pub public_id: String,
    pub project_id: i64,
    pub started_at: Option<i64>,
    pub finished_at: i64,
    answers: BTreeMap<String, serde_json::Value>,
    embedded: BTreeMap<String, String>,
    provenance: EmbeddedProvenance,
}

impl StoredResponse {
    pub fn provenance(&self) -> EmbeddedProvenance {
        self.provenance
    }

    /// The answers, question id → value as stored.
    pub fn answers_map(&self) -> &BTreeMap<String, serde_json::Value> {
        &self.answers
    }

    /// The embedded data, field name → value.
    pub fn embedded_map(&self) -> &BTreeMap<String, String> {
        &self.embedded
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ResponseRow {
    pub(crate) id: i64,
    public_id: String,
    project_id: i64,
    answers: String,
    embedded: String,
    started_at: Option<i64>,
    finished_at: i64,
    embedded_source: String,
}

impl TryFrom<ResponseRow> for StoredResponse {
    type Error = StoreError;
    fn try_from(r: ResponseRow) -> Result<StoredResponse> {
        Ok(StoredResponse {
            answers: json("answers of response", r.id, &r.answers)?,
            embedded: json("embedded data of response", r.id, &r.embedded)?,
            provenance: EmbeddedProvenance::from_column("responses", "embedded_source", &r.embedded_source)?,
            id: r.id,
            public_id: r.public_id,
            project_id: r.project_id,
            started_at: r.started_at,
            finished_at: r.finished_at,
        })
    }
}

/// What became of a submitted response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// Stored now.
    Stored,
    /// A response with this public id was already stored (a double click or
    /// a retried POST); nothing new was written.
    AlreadyStored,
}

pub(crate) const RESPONSE_COLUMNS: &str = "id, public_id, project_id, answers, embedded, started_at, finished_at, embedded_source";

impl Store {
    /// A page of a project's responses, newest first, before the cursor id.
    pub async fn responses(&self, project_id: i64, before_id: Option<i64>, limit: i64) -> Result<Vec<StoredResponse>> {
        let rows = sqlx::query_as::<_, ResponseRow>(&format!(
            "SELECT {RESPONSE_COLUMNS} FROM responses WHERE project_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
        ))
        .bind(project_id)
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(StoredResponse::try_from).collect()
    }

    /// A page of a project's responses, oldest first, after the cursor id
    /// (for exports, which read in the order responses came).
    pub async fn responses_after(&self, project_id: i64, after_id: i64, limit: i64) -> Result<Vec<StoredResponse>> {
        let rows = sqlx::query_as::<_, ResponseRow>(&format!(
            "SELECT {RESPONSE_COLUMNS} FROM responses WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(project_id)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(StoredResponse::try_from).collect()
    }

    pub async fn response(&self, project_id: i64, public_id: &str) -> Result<Option<StoredResponse>> {
        let row = sqlx::query_as::<_, ResponseRow>(&format!(
            "SELECT {RESPONSE_COLUMNS} FROM responses WHERE project_id = $1 AND public_id = $2"
        ))
        .bind(project_id)
        .bind(public_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(StoredResponse::try_from).transpose()
    }

    /// How many of a project's responses answer `question` (carry its id
    /// among their answers): whether it may still be deleted or change type.
    pub async fn answer_count(&self, project_id: i64, question: &QuestionId) -> Result<u64> {
        // The answers are a JSON object, question id → value; each backend
        // reads a key with its own JSON functions.
        let has_key = match self.backend {
            Backend::Sqlite => "json_type(answers, '$.' || $2) IS NOT NULL",
            Backend::Postgres => "(answers::jsonb -> $2) IS NOT NULL",
        };
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM responses WHERE project_id = $1 AND {has_key}"))
            .bind(project_id)
            .bind(question.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(n.max(0) as u64)
    }

    /// Starts the group-commit writer for this store.
    pub fn response_writer(&self) -> ResponseWriter {
        ResponseWriter::start(self.pool.clone(), self.backend)
    }

    /// A writer that commits each response alone, in its own transaction,
    /// as most web applications do: the naive way, for comparison
    /// (`INSIGHT_GROUP_COMMIT=off`).
    pub fn response_writer_one_commit_each(&self) -> ResponseWriter {
        ResponseWriter { how: Writes::Alone { pool: self.pool.clone(), backend: self.backend } }
    }
}

struct Pending {
    response: NewResponse,
    done: oneshot::Sender<Result<Submitted>>,
}

/// The handle through which every response is stored. Cloning it is cheap;
/// all clones feed the one writer task.
#[derive(Clone)]
pub struct ResponseWriter {
    how: Writes,
}

#[derive(Clone)]
enum Writes {
    Grouped(mpsc::Sender<Pending>),
    Alone { pool: AnyPool, backend: Backend },
}

impl ResponseWriter {
    /// At most this many responses share one commit, which bounds how long
    /// the first of them waits.
    pub const MAX_GROUP: usize = 1_000;

    fn start(pool: AnyPool, backend: Backend) -> ResponseWriter {
        let (queue, rx) = mpsc::channel(Self::MAX_GROUP * 4);
        tokio::spawn(write_groups(pool, backend, rx));
        ResponseWriter { how: Writes::Grouped(queue) }
    }

    /// Stores a response and returns once it is durable.
    pub async fn submit(&self, response: NewResponse) -> Result<Submitted> {
        match &self.how {
            Writes::Grouped(queue) => {
                let (done, wait) = oneshot::channel();
                queue.send(Pending { response, done }).await.map_err(|_| StoreError::WriterStopped)?;
                wait.await.map_err(|_| StoreError::WriterStopped)?
            }
            Writes::Alone { pool, backend } => Ok(commit_group(pool, *backend, &[&response]).await?[0]),
        }
    }
}

async fn write_groups(pool: AnyPool, backend: Backend, mut rx: mpsc::Receiver<Pending>) {
    let mut group: Vec<Pending> = Vec::with_capacity(ResponseWriter::MAX_GROUP);
    while rx.recv_many(&mut group, ResponseWriter::MAX_GROUP).await > 0 {
        let responses: Vec<&NewResponse> = group.iter().map(|p| &p.response).collect();
        match commit_group(&pool, backend, &responses).await {
            Ok(outcomes) => {
                for (pending, outcome) in group.drain(..).zip(outcomes) {
                    let _ = pending.done.send(Ok(outcome));
                }
            }
            Err(error) => {
                // One bad response must not fail the others that shared its
                // commit: store each alone, so each gets its own answer.
                tracing::warn!(%error, size = group.len(), "group commit failed; storing its responses one by one");
                for pending in group.drain(..) {
                    let outcome = commit_group(&pool, backend, &[&pending.response]).await.map(|o| o[0]);
                    let _ = pending.done.send(outcome);
                }
            }
        }
    }
}

async fn commit_group(pool: &AnyPool, backend: Backend, responses: &[&NewResponse]) -> Result<Vec<Submitted>> {
    let mut tx = crate::begin_write(pool, backend).await?;
    let outcomes = insert_responses_in(&mut tx, backend, responses).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// Stores responses inside `tx`, with the delivery of each whose survey maps
/// into Salesforce, the results report's answer counts and the surveys'
/// response counts; a response whose id is stored already (or given twice)
/// is `AlreadyStored`.
pub(crate) async fn insert_responses_in(tx: &mut sqlx::Transaction<'_, sqlx::Any>, backend: Backend, group: &[&NewResponse]) -> Result<Vec<Submitted>> {
    // The whole group as one JSON parameter: one statement of one text
    // whatever the group's size, parsed once and kept prepared, rather
    // than a statement of 7 parameters a row (each looked up by name, and
    // parsed anew for each size).
    let rows: Vec<serde_json::Value> = group
        .iter()
        .map(|r| {
            serde_json::json!({
                "public_id": r.public_id, "project_id": r.project_id, "answers": r.answers, "embedded": r.embedded,
                "started_at": r.started_at, "finished_at": r.finished_at, "embedded_source": r.provenance.to_column(),
            })
        })
        .collect();
    let sql = format!(
        "INSERT INTO responses (public_id, project_id, answers, embedded, started_at, finished_at, embedded_source)
         SELECT j.public_id, j.project_id, j.answers, j.embedded, j.started_at, j.finished_at, j.embedded_source FROM {} WHERE true
         ON CONFLICT (public_id) DO NOTHING RETURNING id, public_id, project_id",
        crate::json_rows(backend, "$1", "public_id TEXT, project_id BIGINT, answers TEXT, embedded TEXT, started_at BIGINT, finished_at BIGINT, embedded_source TEXT")
    );
    let inserted: Vec<(i64, String, i64)> = sqlx::query_as(&sql).bind(serde_json::Value::Array(rows).to_string()).fetch_all(&mut **tx).await?;
    let new_rows: Vec<serde_json::Value> = inserted.iter().map(|(id, public_id, project_id)| serde_json::json!({ "id": id, "public_id": public_id, "project_id": project_id })).collect();
    let mut stored: std::collections::HashMap<String, i64> = inserted.into_iter().map(|(id, public_id, _)| (public_id, id)).collect();
    // The outbox rows of responses whose survey maps into Salesforce, in the
    // same commit: an accepted response always has its delivery.
    let now = now_ms();
    if !new_rows.is_empty() {
        // From the rows just stored, as the INSERT returned them: no read of
        // `responses` (whose plan, with a row set PostgreSQL cannot size,
        // could be a scan of all of them).
        let sql = format!(
            "INSERT INTO deliveries (project_id, response_id, public_id, status, next_attempt_at, created_at, updated_at)
             SELECT j.project_id, j.id, j.public_id, 'pending', $1, $1, $1
               FROM {} JOIN salesforce_integrations i ON i.project_id = j.project_id
              WHERE i.mappings <> '[]'",
            crate::json_rows(backend, "$2", "id BIGINT, public_id TEXT, project_id BIGINT")
        );
        sqlx::query(&sql).bind(now).bind(serde_json::Value::Array(new_rows).to_string()).execute(&mut **tx).await?;
    }
    let mut outcomes = Vec::with_capacity(group.len());
    let mut new_per_project: BTreeMap<i64, i64> = BTreeMap::new();
    let mut new_responses: Vec<(i64, &NewResponse)> = Vec::with_capacity(group.len());
    for r in group {
        // `remove`: when one group holds the same id twice (a double click
        // landing in one commit), only the first is the one stored.
        if let Some(id) = stored.remove(&r.public_id) {
            *new_per_project.entry(r.project_id).or_default() += 1;
            new_responses.push((id, r));
            outcomes.push(Submitted::Stored);
        } else {
            outcomes.push(Submitted::AlreadyStored);
        }
    }
    // The results report's counts, in the same commit: one upsert for the
    // whole group.
    crate::answer_counts::count_answers_in(tx, backend, &new_responses).await?;
    for (project_id, n) in new_per_project {
        sqlx::query("UPDATE surveys SET response_count = response_count + $1, updated_at = $2 WHERE project_id = $3")
            .bind(n)
            .bind(now)
            .bind(project_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(outcomes)
}
