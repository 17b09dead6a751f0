//! The responses table's reads: a page of a project's responses that match a
//! filter, sought by key (finish time, then id) so a page deep in costs what
//! the first does (the index `responses(project_id, finished_at, id)` gives
//! the order; no OFFSET), a bounded count of the matches, and the deliveries
//! of the rows shown. A text search whose candidates are few reads them from
//! the text index (`response_text`, migration 0023, see `response_text`)
//! rather than every response of the project, then checks each answer as
//! the scan does.

use crate::deliveries::{Delivery, DeliveryRow, DELIVERY_COLUMNS};
use crate::responses::{ResponseRow, RESPONSE_COLUMNS};
use crate::{Backend, Result, Store, StoredResponse};
use domain::{ResponseFilter, ResponseId, Search, StatusChoice, TableKey};
use std::collections::HashMap;

/// Which way a read runs by (finish time, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ascending,
    Descending,
}

enum Arg {
    Int(i64),
    Text(String),
}

/// A WHERE clause built piece by piece, with its numbered parameters.
struct Conditions {
    clauses: Vec<String>,
    args: Vec<Arg>,
    /// Whether the statement is planned afresh for its values each time
    /// rather than kept prepared: PostgreSQL switches a kept statement to a
    /// plan for any value after a few runs, and for any search term that
    /// plan cannot know whether the term is rare (read the index) or common
    /// (walk the table in order).
    plan_each_time: bool,
}

impl Conditions {
    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    fn sql(&self) -> String {
        self.clauses.join(" AND ")
    }
}

/// `term` with LIKE's wildcards (and the escape character) escaped by `\`,
/// so a search for `50%` or `a_b` matches those characters literally.
pub fn escape_like(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    for c in term.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether `term` appears in an answer's JSON text exactly as typed: JSON
/// escapes only quotes, backslashes and control characters (serde_json
/// writes every other character as itself), so for any other term the raw
/// text is a safe first sieve before each answer is looked at on its own.
fn same_in_json_text(term: &str) -> bool {
    !term.chars().any(|c| c == '"' || c == '\\' || c.is_control())
}

/// The first string past every id that begins with `prefix` (its last
/// character moved one on), when the prefix holds enough of an id's random
/// characters (4: one id in 62⁴) to be worth reading from the ids' index.
fn selective_prefix_bound(prefix: &str) -> Option<String> {
    let random = prefix.strip_prefix("R_")?;
    if random.len() < 4 || !prefix.is_ascii() {
        return None;
    }
    let mut bytes = prefix.as_bytes().to_vec();
    let last = bytes.last_mut()?;
    *last = last.checked_add(1).filter(u8::is_ascii)?;
    String::from_utf8(bytes).ok()
}

/// How a text search finds its candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextCandidates {
    /// Every response of the project, in the table's order.
    Scan,
    /// The text index's matches and the responses not yet indexed (few).
    Indexed,
}

/// A text search reads its candidates from the index when they number fewer
/// than this; more than that, walking the project's responses in the
/// table's order finds a page of matches sooner.
const INDEXED_CANDIDATES_FEWER_THAN: i64 = 1_000;

/// The fewest characters (SQLite) or letters and digits in a row
/// (PostgreSQL) a term needs for the trigram index to narrow its search;
/// shorter terms keep the scan.
const INDEXED_TERM_CHARS: usize = 3;

/// Whether the index can narrow a search for `term`: SQLite's trigrams
/// need three characters; PostgreSQL's come from words (runs of letters and
/// digits) only, so a term of punctuation would read the whole index.
fn indexable(backend: Backend, term: &str) -> bool {
    match backend {
        Backend::Sqlite => term.chars().count() >= INDEXED_TERM_CHARS,
        Backend::Postgres => term.split(|c: char| !c.is_alphanumeric()).any(|word| word.chars().count() >= INDEXED_TERM_CHARS),
    }
}

/// `term` as an FTS5 phrase: quoted, a quote doubled, so nothing in it is
/// read as query syntax. With the trigram tokenizer a phrase matches as a
/// substring, any case.
fn fts5_phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

fn conditions(backend: Backend, project_id: i64, filter: &ResponseFilter, candidates: TextCandidates) -> Conditions {
    let plan_each_time = matches!(filter.search, Some(Search::Text(_)));
    let mut c = Conditions { clauses: Vec::new(), args: Vec::new(), plan_each_time };
    let p = c.arg(Arg::Int(project_id));
    c.clauses.push(format!("r.project_id = {p}"));
    if let Some(from) = filter.finished_from_ms() {
        let p = c.arg(Arg::Int(from));
        c.clauses.push(format!("r.finished_at >= {p}"));
    }
    if let Some(before) = filter.finished_before_ms() {
        let p = c.arg(Arg::Int(before));
        c.clauses.push(format!("r.finished_at < {p}"));
    }
    match filter.status {
        None => {}
        Some(StatusChoice::Is(status)) => {
            let p = c.arg(Arg::Text(status.as_str().into()));
            c.clauses.push(format!("EXISTS (SELECT 1 FROM deliveries d WHERE d.response_id = r.id AND d.status = {p})"));
        }
        Some(StatusChoice::NoDelivery) => c.clauses.push("NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.response_id = r.id)".into()),
    }
    match &filter.search {
        None => {}
        // A whole id is one row of the unique index.
        Some(Search::ResponseIdPrefix(id)) if ResponseId::parse(id).is_ok() => {
            let p = c.arg(Arg::Text(id.clone()));
            c.clauses.push(format!("r.public_id = {p}"));
        }
        Some(Search::ResponseIdPrefix(prefix)) => {
            // Compared exactly (ids are case-sensitive), so not LIKE, which
            // SQLite compares without regard to ASCII case. The length is
            // ours (at most an id's), never the user's text.
            let p = c.arg(Arg::Text(prefix.clone()));
            c.clauses.push(format!("substr(r.public_id, 1, {}) = {p}", prefix.chars().count()));
            if let (Backend::Sqlite, Some(upper)) = (backend, selective_prefix_bound(prefix)) {
                // A few random characters of an id narrow the responses to a
                // handful: read them from the ids' unique index (SQLite
                // compares bytes, so the range is exactly the prefix) and
                // sort those, rather than walk every response by finish time.
                // `+` keeps SQLite from choosing the project's index instead.
                c.clauses[0] = format!("+{}", c.clauses[0]);
                let hi = c.arg(Arg::Text(upper));
                c.clauses.push(format!("r.public_id >= {p} AND r.public_id < {hi}"));
            }
        }
        Some(Search::Text(term)) => {
            let p = c.arg(Arg::Text(format!("%{}%", escape_like(term))));
            // Each answer's text on its own (not the JSON, whose keys are
            // question ids); SQLite's LIKE ignores ASCII case, PostgreSQL's
            // ILIKE any case.
            let (like, answers) = match backend {
                Backend::Sqlite => ("LIKE", "json_each(r.answers) e"),
                Backend::Postgres => ("ILIKE", "jsonb_each_text(CAST(r.answers AS JSONB)) e"),
            };
            if candidates == TextCandidates::Indexed {
                // The index's matches are a superset of the answers' (every
                // answer's value is in its response's body; the trigram
                // match folds case at least as far as LIKE), so the exact
                // check below still decides. The watermark is read in the
                // same statement as the index, so they agree.
                let indexed = match backend {
                    Backend::Sqlite => {
                        let q = c.arg(Arg::Text(fts5_phrase(term)));
                        format!("SELECT rowid FROM response_text WHERE response_text MATCH {q}")
                    }
                    Backend::Postgres => format!("SELECT response_id FROM response_text WHERE body ILIKE {p} ESCAPE '\\'"),
                };
                if backend == Backend::Sqlite {
                    // `+` keeps SQLite from walking the project's index in
                    // the table's order (testing each response against the
                    // candidates): it reads the few candidates by id instead.
                    c.clauses[0] = format!("+{}", c.clauses[0]);
                }
                c.clauses.push(format!(
                    "r.id IN ({indexed} UNION ALL SELECT u.id FROM responses u WHERE u.id > (SELECT indexed_through FROM response_text_progress WHERE id = 1))"
                ));
            }
            let each = format!("EXISTS (SELECT 1 FROM {answers} WHERE e.value {like} {p} ESCAPE '\\')");
            match same_in_json_text(term) {
                true => c.clauses.push(format!("(r.answers {like} {p} ESCAPE '\\' AND {each})")),
                false => c.clauses.push(each),
            }
        }
    }
    c
}

fn bind_all<'q, O>(
    mut q: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    c: Conditions,
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    q = q.persistent(!c.plan_each_time);
    for a in c.args {
        q = match a {
            Arg::Int(i) => q.bind(i),
            Arg::Text(s) => q.bind(s),
        };
    }
    q
}

impl Store {
    /// Where a search's candidates are read from: the text index when the
    /// term is long enough and the index's matches plus the responses not
    /// yet indexed are few (counted up to the threshold, across projects).
    async fn text_candidates(&self, filter: &ResponseFilter) -> Result<TextCandidates> {
        let Some(Search::Text(term)) = &filter.search else {
            return Ok(TextCandidates::Scan);
        };
        if !indexable(self.backend, term) {
            return Ok(TextCandidates::Scan);
        }
        let (matching, term) = match self.backend {
            Backend::Sqlite => ("SELECT 1 FROM response_text WHERE response_text MATCH $1", fts5_phrase(term)),
            Backend::Postgres => ("SELECT 1 FROM response_text WHERE body ILIKE $1 ESCAPE '\\'", format!("%{}%", escape_like(term))),
        };
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM ({matching} LIMIT $2) AS m) \
                  + (SELECT COUNT(*) FROM (SELECT 1 FROM responses WHERE id > (SELECT indexed_through FROM response_text_progress WHERE id = 1) LIMIT $2) AS u)"
        );
        let (n,): (i64,) = sqlx::query_as(&sql).bind(term).bind(INDEXED_CANDIDATES_FEWER_THAN).persistent(false).fetch_one(&self.pool).await?;
        Ok(match n < INDEXED_CANDIDATES_FEWER_THAN {
            true => TextCandidates::Indexed,
            false => TextCandidates::Scan,
        })
    }

    /// Up to `limit` of a project's responses matching `filter`, read in
    /// `direction` from just past `past` (from the start without it).
    pub async fn response_table_rows(
        &self,
        project_id: i64,
        filter: &ResponseFilter,
        direction: Direction,
        past: Option<TableKey>,
        limit: i64,
    ) -> Result<Vec<StoredResponse>> {
        let mut c = conditions(self.backend, project_id, filter, self.text_candidates(filter).await?);
        let (cmp, order) = match direction {
            Direction::Ascending => (">", "ASC"),
            Direction::Descending => ("<", "DESC"),
        };
        if let Some(key) = past {
            let f = c.arg(Arg::Int(key.finished_at));
            let i = c.arg(Arg::Int(key.id));
            c.clauses.push(format!("(r.finished_at, r.id) {cmp} ({f}, {i})"));
        }
        let l = c.arg(Arg::Int(limit));
        let sql = format!("SELECT {RESPONSE_COLUMNS} FROM responses r WHERE {} ORDER BY r.finished_at {order}, r.id {order} LIMIT {l}", c.sql());
        let rows: Vec<ResponseRow> = bind_all(sqlx::query_as(&sql), c).fetch_all(&self.pool).await?;
        rows.into_iter().map(StoredResponse::try_from).collect()
    }

    /// The naive way to the same rows, for comparison in `insight bench
    /// responses`: skip `offset` matches (the database reads and throws
    /// them away), then take `limit`.
    pub async fn response_table_rows_at_offset(&self, project_id: i64, filter: &ResponseFilter, offset: i64, limit: i64) -> Result<Vec<StoredResponse>> {
        let mut c = conditions(self.backend, project_id, filter, self.text_candidates(filter).await?);
        let l = c.arg(Arg::Int(limit));
        let o = c.arg(Arg::Int(offset));
        let sql = format!("SELECT {RESPONSE_COLUMNS} FROM responses r WHERE {} ORDER BY r.finished_at DESC, r.id DESC LIMIT {l} OFFSET {o}", c.sql());
        let rows: Vec<ResponseRow> = bind_all(sqlx::query_as(&sql), c).fetch_all(&self.pool).await?;
        rows.into_iter().map(StoredResponse::try_from).collect()
    }

    /// How many of a project's responses match `filter`, counting no further
    /// than `cap` (so a count never costs more than reading `cap` rows, plus
    /// what a rare match costs to find).
    pub async fn response_table_count(&self, project_id: i64, filter: &ResponseFilter, cap: i64) -> Result<u64> {
        let mut c = conditions(self.backend, project_id, filter, self.text_candidates(filter).await?);
        let l = c.arg(Arg::Int(cap));
        let sql = format!("SELECT COUNT(*) FROM (SELECT 1 FROM responses r WHERE {} LIMIT {l}) AS matching", c.sql());
        let (n,): (i64,) = bind_all(sqlx::query_as(&sql), c).fetch_one(&self.pool).await?;
        Ok(n.max(0) as u64)
    }

    /// The deliveries of these responses (by the response's row id), found
    /// through the one-delivery-per-response index.
    pub async fn deliveries_of_responses(&self, project_id: i64, response_ids: &[i64]) -> Result<HashMap<i64, Delivery>> {
        if response_ids.is_empty() {
            return Ok(HashMap::new());
        }
        // Row ids are ours (numbers), so they go into the statement as text.
        let ids: Vec<String> = response_ids.iter().map(i64::to_string).collect();
        let sql = format!("SELECT response_id, {DELIVERY_COLUMNS} FROM deliveries WHERE project_id = $1 AND response_id IN ({})", ids.join(","));
        let found: Vec<ResponseDelivery> = sqlx::query_as(&sql).bind(project_id).persistent(false).fetch_all(&self.pool).await?;
        found.into_iter().map(|r| Ok((r.response_id, Delivery::try_from(r.delivery)?))).collect()
    }

    /// Refreshes the planner's statistics of the responses and their text
    /// index (PostgreSQL's autovacuum does this by itself a while after a
    /// bulk load; a benchmark asks at once).
    pub async fn analyze_responses(&self) -> Result<()> {
        let tables = match self.backend {
            Backend::Sqlite => "ANALYZE responses",
            Backend::Postgres => "ANALYZE responses, response_text",
        };
        sqlx::query(tables).execute(&self.pool).await?;
        Ok(())
    }

    /// Whether any response of the project has a delivery (the table then
    /// offers to filter by delivery status).
    pub async fn has_deliveries(&self, project_id: i64) -> Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM deliveries WHERE project_id = $1 LIMIT 1").bind(project_id).fetch_optional(&self.pool).await?;
        Ok(row.is_some())
    }
}

#[derive(sqlx::FromRow)]
struct ResponseDelivery {
    response_id: i64,
    #[sqlx(flatten)]
    delivery: DeliveryRow,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_match_literally() {
        assert_eq!(escape_like("50% off"), "50\\% off");
        assert_eq!(escape_like("a_b"), "a\\_b");
        assert_eq!(escape_like("back\\slash"), "back\\\\slash");
        assert_eq!(escape_like("plain"), "plain");
    }

    #[test]
    fn an_id_prefix_of_four_random_characters_is_read_as_an_index_range() {
        assert_eq!(selective_prefix_bound("R_abcz").as_deref(), Some("R_abc{"));
        assert_eq!(selective_prefix_bound("R_0009").as_deref(), Some("R_000:"));
        assert_eq!(selective_prefix_bound("R_abZ"), None, "too few to narrow much");
        assert_eq!(selective_prefix_bound("R_"), None);
    }

    #[test]
    fn short_terms_and_punctuation_keep_the_scan() {
        assert!(indexable(Backend::Sqlite, "a_b") && indexable(Backend::Postgres, "zebra"));
        assert!(!indexable(Backend::Sqlite, "ab"));
        assert!(indexable(Backend::Sqlite, "%%%") && !indexable(Backend::Postgres, "%%%"));
        assert!(!indexable(Backend::Postgres, "a_b c") && indexable(Backend::Postgres, "é 50% off"));
    }

    #[test]
    fn a_term_is_one_fts5_phrase_whatever_it_holds() {
        assert_eq!(fts5_phrase("number 7:"), "\"number 7:\"");
        assert_eq!(fts5_phrase("say \"hi\" OR x*"), "\"say \"\"hi\"\" OR x*\"");
    }

    #[test]
    fn only_terms_json_keeps_as_typed_are_sieved_on_the_raw_text() {
        assert!(same_in_json_text("café 50%"));
        assert!(!same_in_json_text("say \"hi\""));
        assert!(!same_in_json_text("a\\b"));
        assert!(!same_in_json_text("line\nbreak"));
    }
}
