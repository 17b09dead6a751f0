//! The aggregates behind a survey's results report, computed in the
//! database in one pass over the responses of a date range, so a survey of
//! 100,000 responses is never loaded into memory.

use crate::{Backend, Result, Store};

/// Responses finished in `[from, to)`, Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinishedBetween {
    pub from: i64,
    pub to: i64,
}

impl FinishedBetween {
    pub const ALL_TIME: FinishedBetween = FinishedBetween { from: i64::MIN, to: i64::MAX };
}

/// One row of the one-pass aggregate: with `value` empty, how many
/// responses answer `question`; with a value, how many answers (or, for a
/// multiple choice, chosen options) equal it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AnswerTally {
    pub question: String,
    pub value: Option<String>,
    pub n: i64,
}

/// A recent answer to a text question.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RecentAnswer {
    pub public_id: String,
    pub finished_at: i64,
    pub text: String,
}

impl Store {
    /// How many responses finished in the range.
    pub async fn responses_between(&self, project_id: i64, range: FinishedBetween) -> Result<u64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM responses WHERE project_id = $1 AND finished_at >= $2 AND finished_at < $3")
            .bind(project_id)
            .bind(range.from)
            .bind(range.to)
            .fetch_one(&self.pool)
            .await?;
        Ok(n.max(0) as u64)
    }

    /// For every question answered in the range, how many responses answer
    /// it; and for the questions in `tallied` (choices, scales, numbers) how
    /// often each value was given, a multiple choice's options counted one
    /// by one. Values come back as text (`"Pro"`, `"9"`, `"12.5"`).
    pub async fn answer_tallies(&self, project_id: i64, range: FinishedBetween, tallied: &[&str]) -> Result<Vec<AnswerTally>> {
        let tallied = serde_json::to_string(tallied).unwrap_or_else(|_| "[]".into());
        // The answers are a JSON object, question id → value; each backend
        // walks it with its own JSON functions.
        let sql = match self.backend {
            Backend::Sqlite => {
                "WITH a AS (
                     SELECT j.key AS question, j.type AS type, j.value AS value
                       FROM responses r, json_each(r.answers) j
                      WHERE r.project_id = $1 AND r.finished_at >= $2 AND r.finished_at < $3)
                 SELECT question, CAST(NULL AS TEXT) AS value, COUNT(*) AS n FROM a GROUP BY question
                 UNION ALL
                 SELECT a.question, CAST(COALESCE(c.value, a.value) AS TEXT) AS value, COUNT(*) AS n
                   FROM a LEFT JOIN json_each(CASE WHEN a.type = 'array' THEN a.value ELSE '[]' END) c
                  WHERE a.question IN (SELECT value FROM json_each($4))
                    AND (a.type <> 'array' OR c.value IS NOT NULL)
                  GROUP BY 1, 2"
            }
            Backend::Postgres => {
                "WITH a AS (
                     SELECT j.key AS question, j.value AS value
                       FROM responses r, jsonb_each(r.answers::jsonb) j
                      WHERE r.project_id = $1 AND r.finished_at >= $2 AND r.finished_at < $3)
                 SELECT question, CAST(NULL AS TEXT) AS value, COUNT(*) AS n FROM a GROUP BY question
                 UNION ALL
                 SELECT a.question, c.v AS value, COUNT(*) AS n
                   FROM a CROSS JOIN LATERAL (
                        SELECT jsonb_array_elements_text(a.value) AS v WHERE jsonb_typeof(a.value) = 'array'
                        UNION ALL
                        SELECT a.value #>> '{}' WHERE jsonb_typeof(a.value) <> 'array') c
                  WHERE a.question IN (SELECT jsonb_array_elements_text(CAST($4 AS TEXT)::jsonb))
                  GROUP BY 1, 2"
            }
        };
        Ok(sqlx::query_as::<_, AnswerTally>(sql)
            .bind(project_id)
            .bind(range.from)
            .bind(range.to)
            .bind(tallied)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The `limit` most recent answers to `question` in the range, newest
    /// first.
    pub async fn recent_answers(&self, project_id: i64, range: FinishedBetween, question: &str, limit: i64) -> Result<Vec<RecentAnswer>> {
        let (text, has) = match self.backend {
            Backend::Sqlite => ("CAST(json_extract(answers, '$.' || $4) AS TEXT)", "json_type(answers, '$.' || $4) IS NOT NULL"),
            Backend::Postgres => ("(answers::jsonb ->> $4)", "(answers::jsonb -> $4) IS NOT NULL"),
        };
        let sql = format!(
            "SELECT public_id, finished_at, {text} AS text FROM responses
              WHERE project_id = $1 AND finished_at >= $2 AND finished_at < $3 AND {has}
              ORDER BY finished_at DESC, id DESC LIMIT $5"
        );
        Ok(sqlx::query_as::<_, RecentAnswer>(&sql)
            .bind(project_id)
            .bind(range.from)
            .bind(range.to)
            .bind(question)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Stores responses in bulk, a few thousand per commit, as the group
    /// writer would: for benchmarks and tests that need many responses fast.
    pub async fn seed_responses(&self, responses: &[crate::NewResponse]) -> Result<()> {
        for chunk in responses.chunks(5_000) {
            let mut tx = self.pool.begin().await?;
            let group: Vec<&crate::NewResponse> = chunk.iter().collect();
            crate::responses::insert_responses_in(&mut tx, &group).await?;
            tx.commit().await?;
        }
        Ok(())
    }
}
