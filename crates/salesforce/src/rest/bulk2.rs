//! Bulk API 2.0 ingest, as the Bulk API 2.0 Developer Guide documents it:
//! create a job (`POST /jobs/ingest`), upload its CSV
//! (`PUT /jobs/ingest/{id}/batches`), close it (`PATCH` to `UploadComplete`),
//! poll its info until `JobComplete` or `Failed`, then read the successful,
//! failed and unprocessed rows as CSV. Each result row carries the columns as
//! uploaded, so a row is matched back to what was sent by its key column
//! (`Id` for updates, the external id for upserts): Salesforce does not
//! promise to return rows in upload order.

use super::{Client, Payload, SaveResult};
use crate::error::{ApiError, ErrorCode, SalesforceError};
use crate::ids::{RecordId, UserId};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::time::Duration;

/// Salesforce takes at most 150 MB of base64 per upload and advises at most
/// 100 MB of CSV; a job larger than that is refused before anything is sent.
pub const INGEST_MAX_BYTES: usize = 100 * 1024 * 1024;

/// Bulk API 2.0 writes `#N/A` to set a field to null (an empty value leaves it as it is).
/// It has no escape: a text that is exactly this cannot go through a job.
pub const NULL_VALUE: &str = "#N/A";

/// What an ingest job does with its rows. Only writes a retry cannot
/// duplicate: an update by id, an upsert by external id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOperation {
    Update,
    Upsert { external_id_field: String },
}

impl IngestOperation {
    fn name(&self) -> &'static str {
        match self {
            IngestOperation::Update => "update",
            IngestOperation::Upsert { .. } => "upsert",
        }
    }

    /// The column that tells rows apart, in what is sent and in the results.
    fn key_column(&self) -> &str {
        match self {
            IngestOperation::Update => "Id",
            IngestOperation::Upsert { external_id_field } => external_id_field,
        }
    }
}

/// A job's state (`state` in the job info).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub enum IngestState {
    Open,
    UploadComplete,
    InProgress,
    JobComplete,
    Failed,
    Aborted,
    #[serde(other)]
    Unknown,
}

/// The job info fields Insight reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestJob {
    pub id: String,
    pub state: IngestState,
    #[serde(default)]
    pub number_records_processed: u64,
    #[serde(default)]
    pub number_records_failed: u64,
    #[serde(default)]
    pub error_message: Option<String>,
}

/// A job as the org's list of ingest jobs shows it (`GET /jobs/ingest`).
#[derive(Debug, Clone)]
pub struct ListedIngestJob {
    pub id: String,
    pub object: String,
    /// As Salesforce names it: `insert`, `update`, `upsert`, `delete`…
    pub operation: String,
    pub external_id_field_name: Option<String>,
    /// `None`: not given, or not a user id.
    pub created_by: Option<UserId>,
    /// Unix milliseconds; `None` when Salesforce's `createdDate` does not parse.
    pub created_at_ms: Option<i64>,
    pub state: IngestState,
}

impl ListedIngestJob {
    /// Whether the job writes `object` as `op` does (the same external id
    /// field for an upsert; object and field names compare as Salesforce
    /// does, case-insensitively).
    pub fn writes(&self, object: &str, op: &IngestOperation) -> bool {
        let same_field = match op {
            IngestOperation::Update => true,
            IngestOperation::Upsert { external_id_field } => self.external_id_field_name.as_deref().is_some_and(|f| f.eq_ignore_ascii_case(external_id_field)),
        };
        self.object.eq_ignore_ascii_case(object) && self.operation == op.name() && same_field
    }
}

/// A page of the list, as Salesforce sends it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IngestJobsPage {
    done: bool,
    #[serde(default)]
    next_records_url: Option<String>,
    records: Vec<ListedRow>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListedRow {
    id: String,
    object: String,
    operation: String,
    #[serde(default)]
    external_id_field_name: Option<String>,
    #[serde(default)]
    created_by_id: Option<String>,
    #[serde(default)]
    created_date: Option<String>,
    state: IngestState,
}

impl From<ListedRow> for ListedIngestJob {
    fn from(r: ListedRow) -> Self {
        ListedIngestJob {
            created_by: r.created_by_id.as_deref().and_then(|u| UserId::parse(u).ok()),
            created_at_ms: r.created_date.as_deref().and_then(salesforce_datetime_ms),
            id: r.id,
            object: r.object,
            operation: r.operation,
            external_id_field_name: r.external_id_field_name,
            state: r.state,
        }
    }
}

/// A datetime as Salesforce writes it (`2026-01-31T09:05:00.000+0000`) in
/// Unix milliseconds.
fn salesforce_datetime_ms(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]");
    let t = time::OffsetDateTime::parse(text, &format).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// How long to wait for a job: polls start at `first_poll` and double up to
/// `max_poll`; after `give_up_after` the job is aborted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestWait {
    pub first_poll: Duration,
    pub max_poll: Duration,
    pub give_up_after: Duration,
}

impl Default for IngestWait {
    fn default() -> Self {
        IngestWait { first_poll: Duration::from_millis(250), max_poll: Duration::from_secs(10), give_up_after: Duration::from_secs(10 * 60) }
    }
}

/// The CSV of `rows`: one column per field any row has (in first-seen
/// order), null as `#N/A`, a field a row lacks left empty (unchanged).
/// Written with the `csv` crate, which quotes what needs quoting.
pub fn ingest_csv(rows: &[Map<String, Value>]) -> Result<Vec<u8>, SalesforceError> {
    let mut columns: Vec<&str> = Vec::new();
    for row in rows {
        for k in row.keys() {
            if !columns.iter().any(|c| c.eq_ignore_ascii_case(k)) {
                columns.push(k);
            }
        }
    }
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let csv_error = |e: csv::Error| SalesforceError::InvalidRequest(format!("could not write the job's CSV: {e}"));
    w.write_record(&columns).map_err(csv_error)?;
    for row in rows {
        let cells = columns.iter().map(|c| match row.get(*c) {
            None => String::new(),
            Some(Value::Null) => NULL_VALUE.to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        });
        w.write_record(cells).map_err(csv_error)?;
    }
    w.into_inner().map_err(|e| SalesforceError::InvalidRequest(format!("could not write the job's CSV: {e}")))
}

/// The upload of an ingest job of `rows`, checked first as
/// [`Client::ingest_outcome`] will read it back: every row has its key, and
/// no two the same. For a caller that takes the job's steps one by one.
pub fn ingest_upload(op: &IngestOperation, rows: &[Map<String, Value>]) -> Result<Vec<u8>, SalesforceError> {
    row_positions(op, rows)?;
    ingest_csv(rows)
}

/// `CODE:message:fields` (the `sf__Error` column) as an error.
fn parse_row_error(text: &str) -> ApiError {
    let (code, rest) = text.split_once(':').unwrap_or(("UNKNOWN_EXCEPTION", text));
    // The fields come last, after the message's own colons: `Name --`.
    let (message, fields) = match rest.rsplit_once(':') {
        Some((m, f)) if !m.is_empty() => (m, f),
        _ => (rest, ""),
    };
    let fields = fields.trim().trim_end_matches("--").split(',').map(str::trim).filter(|f| !f.is_empty()).map(String::from).collect();
    ApiError { message: message.trim().to_string(), error_code: ErrorCode::parse(code.trim()), fields }
}

/// Each row's place by its key (lower-cased, as Salesforce compares ids
/// and external ids): every row must have one, and no two the same.
fn row_positions(op: &IngestOperation, rows: &[Map<String, Value>]) -> Result<HashMap<String, usize>, SalesforceError> {
    let key = op.key_column();
    let key_of = |row: &Map<String, Value>| match row.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) if !v.is_null() => Some(v.to_string()),
        _ => None,
    };
    let mut position: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let k = key_of(row).ok_or_else(|| SalesforceError::InvalidRequest(format!("row {i} has no {key}")))?;
        if position.insert(k.to_lowercase(), i).is_some() {
            return Err(SalesforceError::InvalidRequest(format!("two rows have the same {key}")));
        }
    }
    Ok(position)
}

#[derive(Debug, Clone, Copy)]
enum Results {
    Successful,
    Failed,
}

impl Results {
    fn path(self) -> &'static str {
        match self {
            Results::Successful => "successfulResults/",
            Results::Failed => "failedResults/",
        }
    }
}

impl Client {
    fn job_path(&self, id: &str) -> String {
        self.data_path(&format!("/jobs/ingest/{}", super::path_segment(id)))
    }

    async fn job_json(&self, method: Method, path: &str, body: Option<&Value>) -> Result<IngestJob, SalesforceError> {
        let r = self.send(method, path, body).await?;
        serde_json::from_slice(&r.body).map_err(|e| SalesforceError::decode_json("bulk job", e))
    }

    /// `POST /jobs/ingest`: an open job.
    pub async fn create_ingest_job(&self, object: &str, op: &IngestOperation) -> Result<IngestJob, SalesforceError> {
        let mut body = json!({ "object": object, "operation": op.name(), "contentType": "CSV", "lineEnding": "LF", "columnDelimiter": "COMMA" });
        if let IngestOperation::Upsert { external_id_field } = op {
            body["externalIdFieldName"] = json!(external_id_field);
        }
        self.job_json(Method::POST, &self.data_path("/jobs/ingest"), Some(&body)).await
    }

    /// `PUT /jobs/ingest/{id}/batches`: the job's one upload.
    pub async fn upload_ingest_csv(&self, job_id: &str, csv: &[u8]) -> Result<(), SalesforceError> {
        if csv.len() > INGEST_MAX_BYTES {
            return Err(SalesforceError::InvalidRequest(format!("a Bulk API upload takes at most {INGEST_MAX_BYTES} bytes of CSV, not {}", csv.len())));
        }
        self.send_payload(Method::PUT, &format!("{}/batches", self.job_path(job_id)), Payload::Csv(csv)).await?;
        Ok(())
    }

    /// `PATCH /jobs/ingest/{id}` to `UploadComplete` (process it) or `Aborted`.
    pub async fn set_ingest_state(&self, job_id: &str, state: &str) -> Result<IngestJob, SalesforceError> {
        self.job_json(Method::PATCH, &self.job_path(job_id), Some(&json!({ "state": state }))).await
    }

    /// `GET /jobs/ingest/{id}`.
    pub async fn ingest_job(&self, job_id: &str) -> Result<IngestJob, SalesforceError> {
        self.job_json(Method::GET, &self.job_path(job_id), None).await
    }

    /// The org's ingest jobs, following `nextRecordsUrl` for at most
    /// `max_pages` pages (Salesforce keeps a job for 7 days after it ends,
    /// so a busy org's list is long). `true` with them: the list is whole.
    pub async fn ingest_jobs(&self, max_pages: usize) -> Result<(Vec<ListedIngestJob>, bool), SalesforceError> {
        let mut jobs = Vec::new();
        let mut path = self.data_path("/jobs/ingest");
        for _ in 0..max_pages {
            let page: IngestJobsPage = self.get_json(&path, "bulk job list").await?;
            jobs.extend(page.records.into_iter().map(ListedIngestJob::from));
            match page.next_records_url.filter(|_| !page.done) {
                Some(next) if next.starts_with("/services/data/") => path = next,
                Some(_) => return Err(SalesforceError::decode("bulk job list", "nextRecordsUrl is not a path on the instance")),
                None => return Ok((jobs, true)),
            }
        }
        Ok((jobs, false))
    }

    /// One of a finished job's result files, as rows of column → value.
    async fn ingest_results(&self, job_id: &str, which: Results) -> Result<Vec<HashMap<String, String>>, SalesforceError> {
        let r = self.send_payload(Method::GET, &format!("{}/{}", self.job_path(job_id), which.path()), Payload::AcceptCsv).await?;
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(r.body.as_slice());
        let bad = |e: csv::Error| SalesforceError::decode("bulk job results", e);
        let headers = reader.headers().map_err(bad)?.clone();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(bad)?;
            rows.push(headers.iter().zip(record.iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect());
        }
        Ok(rows)
    }

    /// Writes `rows` through one ingest job and answers, per row in order,
    /// what became of it — as sObject Collections would. A row whose key
    /// appears in no result file (a job cut short) is answered as a passing
    /// error, to be sent again. Rows must have distinct keys.
    pub async fn ingest(&self, object: &str, op: &IngestOperation, rows: &[Map<String, Value>], wait: IngestWait) -> Result<Vec<SaveResult>, SalesforceError> {
        let job_id = self.start_ingest(object, op, rows).await?;
        self.ingest_outcome(&job_id, op, rows, wait).await
    }

    /// Creates an ingest job of `rows`, uploads them and closes it: from
    /// here Salesforce processes it. Its id, to wait for it with
    /// [`Client::ingest_outcome`] — now, or after a crash.
    pub async fn start_ingest(&self, object: &str, op: &IngestOperation, rows: &[Map<String, Value>]) -> Result<String, SalesforceError> {
        let csv = ingest_upload(op, rows)?;
        let job = self.create_ingest_job(object, op).await?;
        if let Err(e) = self.upload_ingest_csv(&job.id, &csv).await {
            let _ = self.set_ingest_state(&job.id, "Aborted").await;
            return Err(e);
        }
        drop(csv);
        self.set_ingest_state(&job.id, "UploadComplete").await?;
        Ok(job.id)
    }

    /// Waits for the closed job `job_id`, which carried `rows`, and answers
    /// per row what became of it (see [`Client::ingest`]).
    pub async fn ingest_outcome(&self, job_id: &str, op: &IngestOperation, rows: &[Map<String, Value>], wait: IngestWait) -> Result<Vec<SaveResult>, SalesforceError> {
        let key = op.key_column();
        let position = row_positions(op, rows)?;
        let started = tokio::time::Instant::now();
        let mut pause = wait.first_poll;
        let done = loop {
            tokio::time::sleep(pause).await;
            let info = self.ingest_job(job_id).await?;
            match info.state {
                IngestState::JobComplete => break info,
                IngestState::Failed | IngestState::Aborted => {
                    let message = info.error_message.unwrap_or_else(|| format!("the job ended {:?}", info.state));
                    return Err(SalesforceError::BulkJobFailed { job_id: job_id.to_string(), message });
                }
                _ if started.elapsed() >= wait.give_up_after => {
                    let _ = self.set_ingest_state(job_id, "Aborted").await;
                    return Err(SalesforceError::BulkJobUnfinished { job_id: job_id.to_string(), state: format!("{:?}", info.state), waited_secs: started.elapsed().as_secs() });
                }
                _ => pause = (pause * 2).min(wait.max_poll),
            }
        };
        let mut out: Vec<Option<SaveResult>> = vec![None; rows.len()];
        let mut place = |row: &HashMap<String, String>, result: SaveResult| {
            let k = row.iter().find(|(c, _)| c.eq_ignore_ascii_case(key)).map(|(_, v)| v.to_lowercase());
            if let Some(&i) = k.as_ref().and_then(|k| position.get(k)) {
                out[i] = Some(result);
            }
        };
        if done.number_records_processed > done.number_records_failed {
            for row in self.ingest_results(job_id, Results::Successful).await? {
                let id = row.get("sf__Id").and_then(|i| RecordId::parse(i).ok());
                let created = row.get("sf__Created").map(|c| c.eq_ignore_ascii_case("true"));
                place(&row, SaveResult { id, success: true, created, errors: vec![] });
            }
        }
        if done.number_records_failed > 0 {
            for row in self.ingest_results(job_id, Results::Failed).await? {
                let error = parse_row_error(row.get("sf__Error").map(String::as_str).unwrap_or_default());
                let id = row.get("sf__Id").and_then(|i| RecordId::parse(i).ok());
                place(&row, SaveResult { id, success: false, created: None, errors: vec![error] });
            }
        }
        let unplaced = out.iter().filter(|r| r.is_none()).count();
        if unplaced > 0 {
            tracing::warn!(job = %job_id, rows = unplaced, "rows of a Bulk API job appear in no result file; they go again");
        }
        Ok(out
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| SaveResult {
                    id: None,
                    success: false,
                    created: None,
                    errors: vec![ApiError { message: "Salesforce did not process this row of the Bulk API job".into(), error_code: ErrorCode::ServerUnavailable, fields: vec![] }],
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_csv_with_nulls_and_missing_fields_told_apart() {
        let rows: Vec<Map<String, Value>> = vec![
            serde_json::from_value(json!({"Key__c": "r1", "Comment__c": "said \"hi\",\nthen left", "Score__c": 9})).unwrap(),
            serde_json::from_value(json!({"Key__c": "r2", "Score__c": null, "Done__c": true})).unwrap(),
        ];
        let csv = String::from_utf8(ingest_csv(&rows).unwrap()).unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), ["Key__c", "Comment__c", "Score__c", "Done__c"]);
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records[0].iter().collect::<Vec<_>>(), ["r1", "said \"hi\",\nthen left", "9", ""]);
        assert_eq!(records[1].iter().collect::<Vec<_>>(), ["r2", "", "#N/A", "true"]);
    }

    #[test]
    fn salesforce_datetimes_read_as_unix_milliseconds() {
        assert_eq!(salesforce_datetime_ms("1970-01-01T00:00:01.250+0000"), Some(1_250));
        assert_eq!(salesforce_datetime_ms("1970-01-01T01:00:00.000+0100"), Some(0));
        assert_eq!(salesforce_datetime_ms("yesterday"), None);
    }

    #[test]
    fn row_errors_keep_code_message_and_fields() {
        // The sf__Error form of the Bulk API 2.0 Developer Guide's failed results.
        let e = parse_row_error("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --");
        assert_eq!(e.error_code, ErrorCode::RequiredFieldMissing);
        assert_eq!(e.message, "Required fields are missing: [Name]");
        assert_eq!(e.fields, vec!["Name".to_string()]);
        let e = parse_row_error("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--");
        assert!(e.error_code.is_transient());
    }
}
