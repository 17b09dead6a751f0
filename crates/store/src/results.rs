//! The aggregates behind a survey's results report. A range of whole UTC
//! days (what the report's date form gives) is added up from the counts
//! kept as responses are stored (`crate::answer_counts`); any other range
//! is computed in the database in one pass over its responses (the live
//! query, also the reference the counts are tested against), so a survey of
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

/// A row of the one-pass query: how many responses gave `question` the
/// answer `value` (JSON text: `"Pro"`, `9`, `["Email","Chat"]`), or, with
/// `value` empty, any answer not tallied.
#[derive(Debug, sqlx::FromRow)]
struct GroupedAnswers {
    question: String,
    value: Option<String>,
    n: i64,
}

/// The tallies of grouped answers: per question the responses that answer
/// it, then per value (per option, for a multiple choice) how many gave it.
fn tallies_of(grouped: Vec<GroupedAnswers>) -> Vec<AnswerTally> {
    use serde_json::Value;
    use std::collections::BTreeMap;
    let text = crate::answer_counts::value_text;
    let mut answered: BTreeMap<String, i64> = BTreeMap::new();
    let mut values: BTreeMap<(String, String), i64> = BTreeMap::new();
    for g in grouped {
        *answered.entry(g.question.clone()).or_default() += g.n;
        let Some(value) = g.value.and_then(|v| serde_json::from_str::<Value>(&v).ok()) else { continue };
        let options = match value {
            Value::Array(options) => options,
            one => vec![one],
        };
        for option in options {
            *values.entry((g.question.clone(), text(option))).or_default() += g.n;
        }
    }
    let counts = answered.into_iter().map(|(question, n)| AnswerTally { question, value: None, n });
    counts.chain(values.into_iter().map(|((question, value), n)| AnswerTally { question, value: Some(value), n })).collect()
}

/// Question ids as a PostgreSQL array literal, `{"q1","q2"}`.
fn postgres_text_array(ids: &[&str]) -> String {
    let quoted: Vec<String> = ids.iter().map(|id| format!("\"{}\"", id.replace('\\', "\\\\").replace('"', "\\\""))).collect();
    format!("{{{}}}", quoted.join(","))
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
        match range.whole_days() {
            Some(days) => self.counted_responses(project_id, days).await,
            None => self.live_responses_between(project_id, range).await,
        }
    }

    /// How many responses finished in the range, counted in `responses`.
    pub async fn live_responses_between(&self, project_id: i64, range: FinishedBetween) -> Result<u64> {
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
        match range.whole_days() {
            Some(days) => self.counted_answer_tallies(project_id, days, tallied).await,
            None => self.live_answer_tallies(project_id, range, tallied).await,
        }
    }

    /// The tallies of `answer_tallies` computed from the responses
    /// themselves, for any range: every answer of the range is read.
    pub async fn live_answer_tallies(&self, project_id: i64, range: FinishedBetween, tallied: &[&str]) -> Result<Vec<AnswerTally>> {
        // One pass and one GROUP BY over (question, answer as JSON text): a
        // multiple choice groups by its whole array, of which a survey has
        // few distinct ones, split into its options below. Grouping each
        // option in SQL as well took a second pass over every answer (SQLite
        // sorts it, PostgreSQL hashes it): half the page's time at 100,000
        // responses.
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT j.key AS question,
                        CASE WHEN j.key IN (SELECT value FROM json_each($4))
                             THEN CASE j.type WHEN 'array' THEN j.value ELSE json_quote(j.value) END END AS value,
                        COUNT(*) AS n
                   FROM responses r, json_each(r.answers) j
                  WHERE r.project_id = $1 AND r.finished_at >= $2 AND r.finished_at < $3
                  GROUP BY 1, 2"
            }
            // `= ANY` of a small array, not `IN (SELECT …)`: PostgreSQL hash
            // joins the latter against every answer.
            Backend::Postgres => {
                "SELECT j.key AS question,
                        CASE WHEN j.key = ANY(CAST($4 AS TEXT[])) THEN j.value::text END AS value,
                        COUNT(*) AS n
                   FROM responses r, jsonb_each(r.answers::jsonb) j
                  WHERE r.project_id = $1 AND r.finished_at >= $2 AND r.finished_at < $3
                  GROUP BY 1, 2"
            }
        };
        let tallied = match self.backend {
            Backend::Sqlite => serde_json::to_string(tallied).unwrap_or_else(|_| "[]".into()),
            Backend::Postgres => postgres_text_array(tallied),
        };
        let grouped = sqlx::query_as::<_, GroupedAnswers>(sql)
            .bind(project_id)
            .bind(range.from)
            .bind(range.to)
            .bind(tallied)
            .fetch_all(&self.pool)
            .await?;
        Ok(tallies_of(grouped))
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
            let mut tx = self.write_tx().await?;
            let group: Vec<&crate::NewResponse> = chunk.iter().collect();
            crate::responses::insert_responses_in(&mut tx, self.backend, &group).await?;
            tx.commit().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grouped(question: &str, value: Option<&str>, n: i64) -> GroupedAnswers {
        GroupedAnswers { question: question.into(), value: value.map(Into::into), n }
    }

    #[test]
    fn a_multiple_choice_counts_each_option_and_each_response_once() {
        let tallies = tallies_of(vec![
            grouped("q1", Some(r#"["Email","Chat"]"#), 2),
            grouped("q1", Some(r#"["Email"]"#), 3),
            grouped("q2", Some(r#""Pro""#), 4),
            grouped("q2", Some("9"), 1),
            grouped("q3", None, 7),
        ]);
        let of = |q: &str, v: Option<&str>| tallies.iter().find(|t| t.question == q && t.value.as_deref() == v).map(|t| t.n);
        assert_eq!((of("q1", None), of("q1", Some("Email")), of("q1", Some("Chat"))), (Some(5), Some(5), Some(2)));
        assert_eq!((of("q2", None), of("q2", Some("Pro")), of("q2", Some("9"))), (Some(5), Some(4), Some(1)));
        assert_eq!((of("q3", None), tallies.iter().filter(|t| t.question == "q3").count()), (Some(7), 1));
    }

    #[test]
    fn question_ids_quote_into_a_postgres_array() {
        assert_eq!(postgres_text_array(&["q1", "q12"]), r#"{"q1","q12"}"#);
        assert_eq!(postgres_text_array(&[]), "{}");
    }
}
