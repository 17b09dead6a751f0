//! Counts of answers kept per project, UTC day, question and value, written
//! in the same commit as the responses they count, so the results report of
//! a range of whole days adds up a few thousand rows instead of reading
//! every answer of every response (migration 0019, which also fills them
//! from the responses stored before it).
//!
//! Three kinds of row, each with its `n`:
//! - `responses`: the responses finished that day (question and value '');
//! - `answers`: the responses of the day that answer the question (value '');
//! - `value`: how often the question was given the value that day, for a
//!   question whose kind counts its values (`QuestionKind::results_count_values`):
//!   a single choice's choice, each option picked of a multiple choice, a
//!   0–10 score, a number. A text or email answer has no value rows: the
//!   report shows the latest ones, an indexed read of `responses`.
//!
//! Numbers are counted per distinct value like the rest: the report's
//! median and histogram need every value with its count (a count, sum, min
//! and max per day would give the mean and the extremes, not those). A
//! question with few distinct values (seats, ages, ratings) costs a few rows
//! a day; free decimals cost up to a row per answer, which reads no more
//! rows than the live query (`Store::live_answer_tallies`) and parses no JSON.
//!
//! Every response is stored through `responses::insert_responses_in` (the
//! group writer, one commit each, bulk seeding, triggers' invitations), which
//! counts it. Responses are never edited or deleted today (a project is only
//! marked deleted); whatever does either must take the counts back in the
//! same commit.

use crate::results::{AnswerTally, FinishedBetween};
use crate::{Backend, Result, Store, StoreError};
use domain::QuestionKind;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

pub(crate) const DAY_MS: i64 = 86_400_000;

/// The UTC day a finish time falls on, as days since 1970-01-01.
pub(crate) fn day_of(finished_at: i64) -> i64 {
    finished_at.div_euclid(DAY_MS)
}

impl FinishedBetween {
    /// The range as UTC days `[from, to)` when it starts and ends at
    /// midnight UTC (or is open), as the report's date form gives; `None`
    /// for a range that cuts a day, which only the live query can count.
    pub fn whole_days(&self) -> Option<(i64, i64)> {
        let bound = |ms: i64, open: i64| match ms {
            _ if ms == open => Some(open),
            _ if ms.rem_euclid(DAY_MS) == 0 => Some(ms.div_euclid(DAY_MS)),
            _ => None,
        };
        Some((bound(self.from, i64::MIN)?, bound(self.to, i64::MAX)?))
    }
}

/// How a report of a question writes a value: a string as itself, anything
/// else as its JSON (`9`, `12.5`). The live query reads values the same way.
pub(crate) fn value_text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// One counter: (project, day, question, counted, value).
type Key = (i64, i64, String, &'static str, String);

/// Just what counting needs of a survey's definition.
#[derive(serde::Deserialize)]
struct CountedDefinition {
    questions: Vec<CountedQuestion>,
}

#[derive(serde::Deserialize)]
struct CountedQuestion {
    id: String,
    kind: QuestionKind,
}

/// Adds the answers of responses just stored in `tx` to the counts, in one
/// statement whatever their number. `stored` are the responses the INSERT
/// stored (not those already stored), with their new ids.
pub(crate) async fn count_answers_in(tx: &mut sqlx::Transaction<'_, sqlx::Any>, backend: Backend, stored: &[(i64, &crate::NewResponse)]) -> Result<()> {
    if stored.is_empty() {
        return Ok(());
    }
    // Which questions count their values, per project: read in the commit,
    // so it is the definition answers are checked against. A question's
    // type changes only while it has no answers (`Store::answer_count`).
    let mut counts_values: BTreeMap<i64, HashSet<String>> = BTreeMap::new();
    for (_, r) in stored {
        if counts_values.contains_key(&r.project_id) {
            continue;
        }
        let definition: Option<(String,)> = sqlx::query_as("SELECT definition FROM surveys WHERE project_id = $1").bind(r.project_id).fetch_optional(&mut **tx).await?;
        let ids = match definition {
            Some((raw,)) => crate::columns::json::<CountedDefinition>("definition of survey", r.project_id, &raw)?
                .questions
                .into_iter()
                .filter(|q| q.kind.results_count_values())
                .map(|q| q.id)
                .collect(),
            None => HashSet::new(),
        };
        counts_values.insert(r.project_id, ids);
    }
    // Sorted keys: two writers on PostgreSQL lock the rows they share in
    // the same order, so they wait for each other rather than deadlock.
    let mut counts: BTreeMap<Key, i64> = BTreeMap::new();
    for (id, r) in stored {
        let day = day_of(r.finished_at);
        *counts.entry((r.project_id, day, String::new(), "responses", String::new())).or_default() += 1;
        let answers: serde_json::Map<String, Value> = crate::columns::json("answers of response", *id, &r.answers)?;
        let tallied = &counts_values[&r.project_id];
        for (question, answer) in answers {
            *counts.entry((r.project_id, day, question.clone(), "answers", String::new())).or_default() += 1;
            if !tallied.contains(&question) {
                continue;
            }
            // A multiple choice counts each option it picked.
            let options = match answer {
                Value::Array(options) => options,
                one => vec![one],
            };
            for option in options {
                *counts.entry((r.project_id, day, question.clone(), "value", value_text(option))).or_default() += 1;
            }
        }
    }
    let rows: Vec<Value> = counts
        .into_iter()
        .map(|((project_id, day, question, counted, value), n)| serde_json::json!({ "project_id": project_id, "day": day, "question": question, "counted": counted, "value": value, "n": n }))
        .collect();
    // `n = n + excluded.n` in the writer's commit: concurrent writers (two
    // `insight serve` on one PostgreSQL) add to a row one after the other,
    // and a response that rolls back takes its counts with it.
    let sql = format!(
        "INSERT INTO answer_counts (project_id, day, question, counted, value, n)
         SELECT j.project_id, j.day, j.question, j.counted, j.value, j.n FROM {} WHERE true
         ON CONFLICT (project_id, day, question, counted, value) DO UPDATE SET n = answer_counts.n + excluded.n",
        crate::json_rows(backend, "$1", "project_id BIGINT, day BIGINT, question TEXT, counted TEXT, value TEXT, n BIGINT")
    );
    sqlx::query(&sql).bind(Value::Array(rows).to_string()).execute(&mut **tx).await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct CountRow {
    question: String,
    counted: String,
    value: String,
    n: i64,
}

impl Store {
    /// How many responses finished in the days `[from, to)`, from the counts.
    pub(crate) async fn counted_responses(&self, project_id: i64, (from, to): (i64, i64)) -> Result<u64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM answer_counts
              WHERE project_id = $1 AND day >= $2 AND day < $3 AND counted = 'responses'",
        )
        .bind(project_id)
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await?;
        Ok(n.max(0) as u64)
    }

    /// The tallies of `Store::live_answer_tallies` over the days `[from,
    /// to)`, from the counts: the same rows in the same order.
    pub(crate) async fn counted_answer_tallies(&self, project_id: i64, (from, to): (i64, i64), tallied: &[&str]) -> Result<Vec<AnswerTally>> {
        let rows = sqlx::query_as::<_, CountRow>(
            "SELECT question, counted, value, CAST(SUM(n) AS BIGINT) AS n FROM answer_counts
              WHERE project_id = $1 AND day >= $2 AND day < $3 AND counted <> 'responses'
              GROUP BY question, counted, value",
        )
        .bind(project_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        let mut answered: BTreeMap<String, i64> = BTreeMap::new();
        let mut values: BTreeMap<(String, String), i64> = BTreeMap::new();
        for row in rows {
            match row.counted.as_str() {
                "answers" => *answered.entry(row.question).or_default() += row.n,
                // Values of the questions asked for only, as the live query.
                "value" if tallied.contains(&row.question.as_str()) => *values.entry((row.question, row.value)).or_default() += row.n,
                "value" => {}
                other => return Err(StoreError::UnknownValue { table: "answer_counts", column: "counted", value: other.to_string() }),
            }
        }
        let counts = answered.into_iter().map(|(question, n)| AnswerTally { question, value: None, n });
        Ok(counts.chain(values.into_iter().map(|((question, value), n)| AnswerTally { question, value: Some(value), n })).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_of_whole_utc_days_reads_the_counts_and_any_other_does_not() {
        assert_eq!(FinishedBetween::ALL_TIME.whole_days(), Some((i64::MIN, i64::MAX)));
        assert_eq!(FinishedBetween { from: 3 * DAY_MS, to: 5 * DAY_MS }.whole_days(), Some((3, 5)));
        assert_eq!(FinishedBetween { from: i64::MIN, to: 5 * DAY_MS }.whole_days(), Some((i64::MIN, 5)));
        assert_eq!(FinishedBetween { from: 3 * DAY_MS + 1, to: i64::MAX }.whole_days(), None);
        assert_eq!(FinishedBetween { from: 0, to: 5 * DAY_MS - 1 }.whole_days(), None);
    }

    #[test]
    fn a_day_is_the_utc_day_of_the_finish_time() {
        assert_eq!((day_of(0), day_of(DAY_MS - 1), day_of(DAY_MS)), (0, 0, 1));
    }

    #[test]
    fn values_read_as_the_report_writes_them() {
        assert_eq!(value_text(serde_json::json!("Pro")), "Pro");
        assert_eq!(value_text(serde_json::json!(9)), "9");
        assert_eq!(value_text(serde_json::json!(12.5)), "12.5");
    }
}
