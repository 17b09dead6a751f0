//! Bulk API 2.0 ingest (`/services/data/vXX.X/jobs/ingest`): create a job, upload its CSV
//! once, close (UploadComplete) or abort it, poll it, read its successful, failed and
//! unprocessed rows as CSV, list and delete jobs.
//!
//! A closed job is processed off the request by a task: each row is validated and written
//! exactly as a REST insert/update/upsert/delete would be (`records`), and a bad row fails
//! only itself. Every uploaded row ends in exactly one of the three results, in upload
//! order, so a client can map each row back to what it sent. Query jobs
//! (`/jobs/query`) and Bulk API 1.0 (`/services/async`) are not emulated.
//!
//! Error codes are those of the Bulk API 2.0 errors table (`InvalidJob`, `InvalidJobState`,
//! `InvalidBatch`, `ClientInputError`), in the upper-case form the JSON API answers with.
//! Salesforce documents few of the messages; where it does not, the wording is the
//! emulator's own and says what to do.

use crate::ids;
use crate::outbound;
use crate::records::{self, ApiError, UpsertOutcome};
use crate::rest::{Ctx, Resp};
use crate::schema::{FieldDef, ObjectDef};
use crate::state::{sf_datetime_now, App, Org};
use axum::body::Bytes;
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type R = Result<Resp, ApiError>;

/// Bulk API 2.0 appeared in API v41.0.
const FIRST_VERSION: u32 = 41;
/// Rows written between two checks for an abort (Salesforce processes a job in chunks of
/// 200 records too).
const CHUNK: usize = 200;
/// Jobs per page of `GET /jobs/ingest`.
const PAGE: usize = 1000;
/// With a processing delay, how long a closed job waits for a poll to see it `InProgress`.
const MAX_WAIT_FOR_POLL: Duration = Duration::from_secs(5);
/// Salesforce deletes finished jobs after 7 days; so does the emulator (with their data).
const KEEP_FINISHED: Duration = Duration::from_secs(7 * 24 * 3600);
/// The value that sets a field to null (an empty value leaves the field as it is).
const NULL_VALUE: &str = "#N/A";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Operation { Insert, Update, Upsert, Delete, HardDelete }

impl Operation {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "insert" => Operation::Insert,
            "update" => Operation::Update,
            "upsert" => Operation::Upsert,
            "delete" => Operation::Delete,
            "hardDelete" => Operation::HardDelete,
            _ => return None,
        })
    }
    fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Upsert => "upsert",
            Operation::Delete => "delete",
            Operation::HardDelete => "hardDelete",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum JobState { Open, UploadComplete, InProgress, JobComplete, Failed, Aborted }

impl JobState {
    fn as_str(self) -> &'static str {
        match self {
            JobState::Open => "Open",
            JobState::UploadComplete => "UploadComplete",
            JobState::InProgress => "InProgress",
            JobState::JobComplete => "JobComplete",
            JobState::Failed => "Failed",
            JobState::Aborted => "Aborted",
        }
    }
    fn is_terminal(self) -> bool { matches!(self, JobState::JobComplete | JobState::Failed | JobState::Aborted) }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ColumnDelimiter { Backquote, Caret, Comma, Pipe, Semicolon, Tab }

impl ColumnDelimiter {
    const ALL: [ColumnDelimiter; 6] = [ColumnDelimiter::Backquote, ColumnDelimiter::Caret, ColumnDelimiter::Comma, ColumnDelimiter::Pipe, ColumnDelimiter::Semicolon, ColumnDelimiter::Tab];
    fn name(self) -> &'static str {
        match self {
            ColumnDelimiter::Backquote => "BACKQUOTE",
            ColumnDelimiter::Caret => "CARET",
            ColumnDelimiter::Comma => "COMMA",
            ColumnDelimiter::Pipe => "PIPE",
            ColumnDelimiter::Semicolon => "SEMICOLON",
            ColumnDelimiter::Tab => "TAB",
        }
    }
    fn byte(self) -> u8 {
        match self {
            ColumnDelimiter::Backquote => b'`',
            ColumnDelimiter::Caret => b'^',
            ColumnDelimiter::Comma => b',',
            ColumnDelimiter::Pipe => b'|',
            ColumnDelimiter::Semicolon => b';',
            ColumnDelimiter::Tab => b'\t',
        }
    }
    fn parse(s: &str) -> Option<Self> { Self::ALL.into_iter().find(|d| d.name() == s) }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LineEnding { Lf, Crlf }

impl LineEnding {
    fn name(self) -> &'static str { match self { LineEnding::Lf => "LF", LineEnding::Crlf => "CRLF" } }
    fn parse(s: &str) -> Option<Self> { match s { "LF" => Some(LineEnding::Lf), "CRLF" => Some(LineEnding::Crlf), _ => None } }
    fn terminator(self) -> csv::Terminator {
        match self { LineEnding::Lf => csv::Terminator::Any(b'\n'), LineEnding::Crlf => csv::Terminator::CRLF }
    }
}

/// What became of one uploaded row.
enum Outcome {
    Success { id: String, created: bool },
    /// `id` is the record's id when the row named one (update, delete, a matched upsert).
    Failed { id: String, error: String },
}

pub struct Job {
    id: String,
    object: String,
    operation: Operation,
    external_id_field: Option<String>,
    assignment_rule_id: Option<String>,
    delimiter: ColumnDelimiter,
    line_ending: LineEnding,
    api_version: String,
    created_by: String,
    created_date: String,
    modstamp: String,
    state: JobState,
    error_message: Option<String>,
    /// The uploaded CSV, kept for the results (which repeat each row as uploaded).
    data: Option<Bytes>,
    /// One entry per processed row, in upload order; rows past the end are unprocessed.
    outcomes: Vec<Outcome>,
    failed: u64,
    processing_ms: u64,
    /// When the job reached JobComplete, Failed or Aborted.
    finished_at: Option<Instant>,
    /// Signalled when a job-info poll sees the job `InProgress`.
    polled: Arc<tokio::sync::Notify>,
}

/// An org's Bulk API 2.0 ingest jobs and their counters (shown by the admin usage endpoint).
#[derive(Default)]
pub struct Jobs {
    jobs: Mutex<BTreeMap<String, Arc<Mutex<Job>>>>,
    pub created: AtomicU64,
    pub records_processed: AtomicU64,
    pub records_failed: AtomicU64,
}

impl Jobs {
    fn get(&self, raw: &str) -> Result<Arc<Mutex<Job>>, ApiError> {
        let id = ids::parse(raw).filter(|i| i.starts_with("750")).ok_or_else(ApiError::not_found)?;
        self.jobs.lock().get(&id).cloned().ok_or_else(ApiError::not_found)
    }
}

/// `…/jobs/ingest/{id}/batches`: the one path whose body may be as large as an upload.
pub fn is_upload_path(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    matches!(segs.as_slice(), [_, "jobs", "ingest", _, "batches"])
}

pub fn upload_too_large(limit: u64) -> ApiError {
    ApiError::new(413, "CLIENTINPUTERROR", format!(
        "The upload is larger than {limit} bytes, the most one Bulk API 2.0 upload may carry (Salesforce takes 150 MB of base64-encoded content, about 100 MB of CSV): split the data over several jobs"))
}

fn invalid_job(msg: impl Into<String>) -> ApiError { ApiError::new(400, "INVALIDJOB", msg) }
fn invalid_state(msg: impl Into<String>) -> ApiError { ApiError::new(409, "INVALIDJOBSTATE", msg) }

/// Dispatch `…/jobs/ingest/...`; `rest` is what follows `ingest`.
pub fn route(ctx: &Ctx, ver: &str, method: &str, rest: &[&str], query: &str, body: &[u8]) -> R {
    let major = crate::versions::ApiVersion::parse(ver).map(|v| v.major()).unwrap_or(0);
    if major < FIRST_VERSION { return Err(ApiError::not_found()); }
    match (method, rest) {
        ("POST", []) => create(ctx, ver, body),
        ("GET", []) => list(ctx, ver, query),
        ("GET", [id]) => info(ctx, id),
        ("PATCH", [id]) => set_state(ctx, id, body),
        ("DELETE", [id]) => delete(ctx, id),
        ("PUT", [id, "batches"]) => upload(ctx, id, body),
        ("GET", [id, kind]) => {
            let kind = ResultKind::parse(kind).ok_or_else(ApiError::not_found)?;
            results(ctx, id, kind)
        }
        _ => Err(ApiError::not_found()),
    }
}

fn body_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::new(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")),
        Err(e) => Err(ApiError::new(400, "JSON_PARSER_ERROR", format!("The request body is not valid JSON: {e}"))),
    }
}

fn opt_str<'a>(b: &'a Map<String, Value>, k: &str) -> Result<Option<&'a str>, ApiError> {
    match b.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(ApiError::new(400, "JSON_PARSER_ERROR", format!("{k} must be a string, not {other}"))),
    }
}

/// POST /jobs/ingest
fn create(ctx: &Ctx, ver: &str, body: &[u8]) -> R {
    let b = body_object(body)?;
    let object = opt_str(&b, "object")?.ok_or_else(|| invalid_job("object is required: name the sObject the job loads, e.g. \"object\": \"Account\""))?;
    let obj = ctx.org.object(object).cloned().ok_or_else(|| invalid_job(format!("Unable to find object: {object}")))?;
    let op_raw = opt_str(&b, "operation")?.ok_or_else(|| invalid_job("operation is required: insert, update, upsert, delete or hardDelete"))?;
    let operation = Operation::parse(op_raw).ok_or_else(|| invalid_job(format!("Invalid operation: {op_raw}; use insert, update, upsert, delete or hardDelete")))?;
    let content_type = opt_str(&b, "contentType")?.unwrap_or("CSV");
    if content_type != "CSV" {
        return Err(invalid_job(format!("Invalid contentType: {content_type}; Bulk API 2.0 takes CSV only")));
    }
    let delimiter = match opt_str(&b, "columnDelimiter")? {
        None => ColumnDelimiter::Comma,
        Some(d) => ColumnDelimiter::parse(d).ok_or_else(|| invalid_job(format!("Invalid columnDelimiter: {d}; use BACKQUOTE, CARET, COMMA, PIPE, SEMICOLON or TAB")))?,
    };
    let line_ending = match opt_str(&b, "lineEnding")? {
        None => LineEnding::Lf,
        Some(l) => LineEnding::parse(l).ok_or_else(|| invalid_job(format!("Invalid lineEnding: {l}; use LF or CRLF")))?,
    };
    let external_id_field = match (operation, opt_str(&b, "externalIdFieldName")?) {
        (Operation::Upsert, None | Some("")) => return Err(invalid_job(format!("External ID was blank for {}. An External ID must be specified for upsert.", obj.name))),
        (Operation::Upsert, Some(f)) => Some(records::upsert_field(&obj, f).map_err(|e| invalid_job(e.message))?.name.clone()),
        (_, _) => None,
    };
    let now = sf_datetime_now();
    let job = Job {
        id: ids::new_id("750"),
        object: obj.name.clone(),
        operation,
        external_id_field,
        assignment_rule_id: opt_str(&b, "assignmentRuleId")?.map(String::from),
        delimiter,
        line_ending,
        api_version: ver.to_string(),
        created_by: ctx.user_id.clone(),
        created_date: now.clone(),
        modstamp: now,
        state: JobState::Open,
        error_message: None,
        data: None,
        outcomes: vec![],
        failed: 0,
        processing_ms: 0,
        finished_at: None,
        polled: Arc::new(tokio::sync::Notify::new()),
    };
    let out = job_json(&job, false);
    let mut jobs = ctx.org.bulk_jobs.jobs.lock();
    jobs.retain(|_, j| j.lock().finished_at.is_none_or(|t| t.elapsed() <= KEEP_FINISHED));
    jobs.insert(job.id.clone(), Arc::new(Mutex::new(job)));
    drop(jobs);
    ctx.org.bulk_jobs.created.fetch_add(1, Ordering::Relaxed);
    Ok(Resp::json(200, out))
}

/// The job as Salesforce describes it; `full` adds the processing figures of Get Job Info.
fn job_json(j: &Job, full: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(j.id));
    m.insert("operation".into(), json!(j.operation.as_str()));
    m.insert("object".into(), json!(j.object));
    m.insert("createdById".into(), json!(j.created_by));
    m.insert("createdDate".into(), json!(j.created_date));
    m.insert("systemModstamp".into(), json!(j.modstamp));
    m.insert("state".into(), json!(j.state.as_str()));
    if let Some(f) = &j.external_id_field { m.insert("externalIdFieldName".into(), json!(f)); }
    if let Some(a) = &j.assignment_rule_id { m.insert("assignmentRuleId".into(), json!(a)); }
    m.insert("concurrencyMode".into(), json!("Parallel"));
    m.insert("contentType".into(), json!("CSV"));
    m.insert("apiVersion".into(), json!(j.api_version.parse::<f64>().unwrap_or(0.0)));
    if full { m.insert("jobType".into(), json!("V2Ingest")); }
    m.insert("contentUrl".into(), json!(format!("services/data/v{}/jobs/ingest/{}/batches", j.api_version, j.id)));
    m.insert("lineEnding".into(), json!(j.line_ending.name()));
    m.insert("columnDelimiter".into(), json!(j.delimiter.name()));
    if full {
        m.insert("numberRecordsProcessed".into(), json!(j.outcomes.len()));
        m.insert("numberRecordsFailed".into(), json!(j.failed));
        m.insert("retries".into(), json!(0));
        m.insert("totalProcessingTime".into(), json!(j.processing_ms));
        m.insert("apiActiveProcessingTime".into(), json!(j.processing_ms));
        m.insert("apexProcessingTime".into(), json!(0));
        if let Some(e) = &j.error_message { m.insert("errorMessage".into(), json!(e)); }
    }
    Value::Object(m)
}

/// GET /jobs/ingest[?queryLocator=N]: every job of the org, oldest first, a page at a time.
fn list(ctx: &Ctx, ver: &str, query: &str) -> R {
    let param = |name: &str| url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    let start = match param("queryLocator") {
        None => 0,
        Some(l) => l.parse::<usize>().map_err(|_| ApiError::new(400, "INVALID_QUERY_LOCATOR", format!("invalid query locator: {l}")))?,
    };
    // Every job here is a Bulk API 2.0 ingest job, none is PK-chunked.
    let filtered_out = param("jobType").is_some_and(|t| t != "V2Ingest")
        || param("isPkChunkingEnabled").is_some_and(|v| v == "true")
        || param("concurrencyMode").is_some_and(|c| c != "Parallel");
    let jobs: Vec<Arc<Mutex<Job>>> = if filtered_out { vec![] } else { ctx.org.bulk_jobs.jobs.lock().values().cloned().collect() };
    let page: Vec<Value> = jobs.iter().skip(start).take(PAGE).map(|j| job_json(&j.lock(), true)).collect();
    let end = start + page.len();
    let done = end >= jobs.len();
    let next = if done { Value::Null } else { json!(format!("/services/data/v{ver}/jobs/ingest?queryLocator={end}")) };
    Ok(Resp::json(200, json!({"done": done, "records": page, "nextRecordsUrl": next})))
}

/// GET /jobs/ingest/{id}
fn info(ctx: &Ctx, id: &str) -> R {
    let job = ctx.org.bulk_jobs.get(id)?;
    let j = job.lock();
    if j.state == JobState::InProgress { j.polled.notify_one(); }
    Ok(Resp::json(200, job_json(&j, true)))
}

/// PUT /jobs/ingest/{id}/batches
fn upload(ctx: &Ctx, id: &str, body: &[u8]) -> R {
    let job = ctx.org.bulk_jobs.get(id)?;
    let mut j = job.lock();
    if j.state != JobState::Open {
        return Err(invalid_state(format!("Job {} is {}: data can be uploaded only to an Open job", j.id, j.state.as_str())));
    }
    if j.data.is_some() {
        return Err(invalid_state(format!("Job {} already holds its data: a Bulk API 2.0 job takes one upload; create another job for more rows", j.id)));
    }
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::new(400, "CLIENTINPUTERROR", "The upload is empty: send CSV with a header row naming the fields, then one row per record"));
    }
    j.data = Some(Bytes::copy_from_slice(body));
    j.modstamp = sf_datetime_now();
    Ok(Resp::empty(201))
}

/// PATCH /jobs/ingest/{id} {"state": "UploadComplete" | "Aborted"}
fn set_state(ctx: &Ctx, id: &str, body: &[u8]) -> R {
    let b = body_object(body)?;
    let wanted = opt_str(&b, "state")?.unwrap_or("");
    let job = ctx.org.bulk_jobs.get(id)?;
    let mut j = job.lock();
    match wanted {
        "UploadComplete" => {
            if j.state != JobState::Open {
                return Err(invalid_state(format!("Job {} is {}: only an Open job can be set to UploadComplete", j.id, j.state.as_str())));
            }
            j.state = JobState::UploadComplete;
            j.modstamp = sf_datetime_now();
            let out = job_json(&j, false);
            // The answer says UploadComplete; from now on the job is queued for processing.
            j.state = JobState::InProgress;
            drop(j);
            spawn_processing(ctx.app.clone(), ctx.org.clone(), job);
            Ok(Resp::json(200, out))
        }
        "Aborted" => {
            if j.state.is_terminal() {
                let what = if j.state == JobState::JobComplete { "Completed" } else { j.state.as_str() };
                return Err(invalid_state(format!("Aborting already {what} Job not allowed")));
            }
            j.state = JobState::Aborted;
            j.modstamp = sf_datetime_now();
            j.finished_at = Some(Instant::now());
            // A job waiting for its first poll stops waiting.
            j.polled.notify_one();
            Ok(Resp::json(200, job_json(&j, false)))
        }
        other => Err(ApiError::new(400, "INVALIDJOBSTATE", format!("Invalid state: {other:?}; set UploadComplete to process the job or Aborted to cancel it"))),
    }
}

/// DELETE /jobs/ingest/{id}
fn delete(ctx: &Ctx, id: &str) -> R {
    let job = ctx.org.bulk_jobs.get(id)?;
    let (key, state) = { let j = job.lock(); (j.id.clone(), j.state) };
    // Documented: a job must be UploadComplete, JobComplete, Aborted or Failed to be deleted
    // (here a closed job is InProgress at once, so that one is refused until it ends).
    if !state.is_terminal() {
        return Err(invalid_state(format!("Job {key} is {}: only a JobComplete, Failed or Aborted job can be deleted; abort it first", state.as_str())));
    }
    ctx.org.bulk_jobs.jobs.lock().remove(&key);
    Ok(Resp::empty(204))
}

// ------------------------------------------------------------------ processing

fn spawn_processing(app: Arc<App>, org: Arc<Org>, job: Arc<Mutex<Job>>) {
    tokio::spawn(async move {
        let delay = app.cfg.bulk_processing_delay_ms;
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let polled = job.lock().polled.clone();
            let _ = tokio::time::timeout(MAX_WAIT_FOR_POLL, polled.notified()).await;
        }
        process(&app, &org, &job).await;
        if let Some(store) = app.store.get() {
            if let Err(e) = store.flush(&app).await {
                tracing::error!("writing the records of a Bulk API 2.0 job to {}: {e}", store.path().display());
            }
        }
    });
}

/// The job cannot be processed at all: `Failed` with `message`, every row unprocessed.
fn fail_job(job: &Mutex<Job>, message: String) {
    let mut j = job.lock();
    if j.state == JobState::InProgress {
        j.state = JobState::Failed;
        j.error_message = Some(message);
        j.modstamp = sf_datetime_now();
        j.finished_at = Some(Instant::now());
    }
}

fn csv_reader(data: &[u8], delimiter: ColumnDelimiter, line_ending: LineEnding) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter.byte()).terminator(line_ending.terminator()).from_reader(data)
}

async fn process(app: &App, org: &Org, job: &Mutex<Job>) {
    let started = Instant::now();
    let (data, operation, object, ext, delimiter, line_ending, user) = {
        let j = job.lock();
        if j.state != JobState::InProgress { return; }
        (j.data.clone(), j.operation, j.object.clone(), j.external_id_field.clone(), j.delimiter, j.line_ending, j.created_by.clone())
    };
    let Some(data) = data else { return fail_job(job, "InvalidBatch : No data was uploaded to this job before it was closed".into()) };
    let Some(obj) = org.object(&object).cloned() else { return fail_job(job, format!("InvalidJob : Unable to find object: {object}")) };
    let mut rdr = csv_reader(&data, delimiter, line_ending);
    let mut rows = rdr.records();
    let header = match rows.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return fail_job(job, format!("ClientInputError : the CSV cannot be read: {e}")),
        None => return fail_job(job, "ClientInputError : the upload has no header row".into()),
    };
    // Salesforce checks the line ending of the data against the job's setting.
    let first_lf = data.iter().position(|&b| b == b'\n');
    let wrong = match (line_ending, first_lf) {
        (_, None) => false,
        (LineEnding::Lf, Some(i)) => i > 0 && data[i - 1] == b'\r',
        (LineEnding::Crlf, Some(i)) => i == 0 || data[i - 1] != b'\r',
    };
    if wrong {
        return fail_job(job, format!("ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is {}", line_ending.name()));
    }
    let mut columns: Vec<&FieldDef> = Vec::with_capacity(header.len());
    // (The csv reader drops a byte-order mark before the first column name.)
    for name in header.iter().map(str::trim) {
        match obj.field(name) {
            Some(f) => columns.push(f),
            None => return fail_job(job, format!("InvalidBatch : Field name not found : {name}")),
        }
    }
    let ext_field = ext.as_deref().and_then(|f| obj.field(f)).cloned();
    let counters = &org.bulk_jobs;
    let mut chunk = Vec::with_capacity(CHUNK);
    loop {
        chunk.clear();
        for row in rows.by_ref().take(CHUNK) {
            chunk.push(match row {
                Ok(r) => write_row(app, org, &obj, operation, ext_field.as_ref(), &columns, &r, &user),
                Err(e) => Outcome::Failed { id: String::new(), error: format!("CLIENTINPUTERROR:the row cannot be read as CSV: {e}:") },
            });
        }
        if chunk.is_empty() { break; }
        let failed = chunk.iter().filter(|o| matches!(o, Outcome::Failed { .. })).count() as u64;
        counters.records_processed.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        counters.records_failed.fetch_add(failed, Ordering::Relaxed);
        {
            let mut j = job.lock();
            j.outcomes.append(&mut chunk);
            j.failed += failed;
            j.processing_ms = started.elapsed().as_millis() as u64;
            // Aborted meanwhile: what is written stays written, the rest is unprocessed.
            if j.state != JobState::InProgress { return; }
        }
        tokio::task::yield_now().await;
    }
    let mut j = job.lock();
    if j.state == JobState::InProgress {
        j.state = JobState::JobComplete;
        j.processing_ms = started.elapsed().as_millis() as u64;
        j.modstamp = sf_datetime_now();
        j.finished_at = Some(Instant::now());
    }
}

fn error_text(e: &ApiError) -> String {
    format!("{}:{}:{}", e.code, e.message, e.fields.clone().unwrap_or_default().join(","))
}

/// Validate and write one row as the REST API would write the same record.
fn write_row(app: &App, org: &Org, obj: &Arc<ObjectDef>, op: Operation, ext: Option<&FieldDef>, columns: &[&FieldDef], row: &csv::StringRecord, user: &str) -> Outcome {
    if row.len() != columns.len() {
        return Outcome::Failed { id: String::new(), error: format!("INVALID_FIELD:The row has {} values but the header names {} columns:", row.len(), columns.len()) };
    }
    let mut fields = Map::new();
    for (f, raw) in columns.iter().zip(row.iter()) {
        if raw.is_empty() { continue; }
        fields.insert(f.name.clone(), if raw == NULL_VALUE { Value::Null } else { json!(raw) });
    }
    let raw_id = fields.get("Id").and_then(|v| v.as_str()).map(String::from);
    let known_id = raw_id.as_deref().and_then(ids::parse).unwrap_or_default();
    let r: Result<(String, bool), ApiError> = (|| match op {
        Operation::Insert => {
            if fields.contains_key("Id") { return Err(ApiError::new(400, "INVALID_FIELD", "cannot specify Id in an insert call").with_fields(vec!["Id".into()])); }
            let ch = records::create(org, obj, user, &fields)?;
            outbound::on_change(app, org, obj, &ch);
            Ok((ch.id, true))
        }
        Operation::Update => {
            let raw = raw_id.as_deref().ok_or_else(|| ApiError::new(400, "MISSING_ARGUMENT", "Id not specified in an update call").with_fields(vec![]))?;
            let id = records::check_id(obj, raw)?;
            fields.remove("Id");
            let ch = records::update(org, obj, user, &id, &fields)
                .map_err(|e| if e.code == "NOT_FOUND" { ApiError::new(404, "ENTITY_IS_DELETED", "entity is deleted").with_fields(vec![]) } else { e })?;
            outbound::on_change(app, org, obj, &ch);
            Ok((ch.id, false))
        }
        Operation::Upsert => {
            let f = ext.ok_or_else(|| ApiError::new(400, "MISSING_ARGUMENT", "no external id field"))?;
            let value = fields.remove(&f.name).filter(|v| !v.is_null()).and_then(|v| v.as_str().map(String::from))
                .ok_or_else(|| ApiError::new(400, "MISSING_ARGUMENT", format!("{} not specified", f.name)).with_fields(vec![]))?;
            fields.remove("Id");
            let out = {
                let mut data = org.data.write();
                let table = data.entry(obj.name.clone()).or_default();
                records::upsert_locked(org, obj, table, user, f, &value, &fields, false)?
            };
            match out {
                UpsertOutcome::Created(ch) => { outbound::on_change(app, org, obj, &ch); Ok((ch.id, true)) }
                UpsertOutcome::Updated(ch) => { outbound::on_change(app, org, obj, &ch); Ok((ch.id, false)) }
                UpsertOutcome::Multiple(ids) => Err(ApiError::new(300, "DUPLICATE_EXTERNAL_ID", format!("{}: more than one record found for external id field: {ids:?}", f.name)).with_fields(vec![f.name.clone()])),
            }
        }
        Operation::Delete | Operation::HardDelete => {
            let raw = raw_id.as_deref().ok_or_else(|| ApiError::new(400, "MISSING_ARGUMENT", "Id not specified in a delete call").with_fields(vec![]))?;
            let id = records::check_id(obj, raw)?;
            records::delete(org, obj, &id)?;
            if op == Operation::HardDelete {
                // Hard-deleted records skip the recycle bin.
                if let Some(t) = org.data.write().get_mut(&obj.name) { t.recycle_bin.remove(&id); }
            }
            Ok((id, false))
        }
    })();
    match r {
        Ok((id, created)) => Outcome::Success { id, created },
        Err(e) => Outcome::Failed { id: known_id, error: error_text(&e) },
    }
}

// ------------------------------------------------------------------ results

#[derive(Clone, Copy, PartialEq, Eq)]
enum ResultKind { Successful, Failed, Unprocessed }

impl ResultKind {
    fn parse(s: &str) -> Option<Self> {
        // Salesforce documents `unprocessedrecords`; clients also send `unprocessedRecords`.
        match s {
            "successfulResults" => Some(ResultKind::Successful),
            "failedResults" => Some(ResultKind::Failed),
            _ if s.eq_ignore_ascii_case("unprocessedrecords") => Some(ResultKind::Unprocessed),
            _ => None,
        }
    }
}

/// GET /jobs/ingest/{id}/{successfulResults|failedResults|unprocessedrecords}: CSV with
/// `"sf__Id","sf__Created"` / `"sf__Id","sf__Error"` (none for unprocessed rows) before the
/// uploaded columns, each row as uploaded, in upload order.
fn results(ctx: &Ctx, id: &str, kind: ResultKind) -> R {
    let job = ctx.org.bulk_jobs.get(id)?;
    let j = job.lock();
    let csv_err = |e: csv::Error| ApiError::new(500, "UNKNOWN_EXCEPTION", format!("writing the results: {e}"));
    let term = j.line_ending.terminator();
    let mut out = csv::WriterBuilder::new().delimiter(j.delimiter.byte()).terminator(term).quote_style(csv::QuoteStyle::Always).flexible(true).from_writer(Vec::new());
    let prefix: &[&str] = match kind {
        ResultKind::Successful => &["sf__Id", "sf__Created"],
        ResultKind::Failed => &["sf__Id", "sf__Error"],
        ResultKind::Unprocessed => &[],
    };
    let data = j.data.clone().unwrap_or_default();
    let mut rdr = csv_reader(&data, j.delimiter, j.line_ending);
    let mut rows = rdr.records();
    // The header: the sf__ columns quoted, the uploaded column names as uploaded.
    let header = rows.next().and_then(|h| h.ok());
    let mut line: Vec<u8>;
    {
        let mut h = csv::WriterBuilder::new().delimiter(j.delimiter.byte()).terminator(term).quote_style(csv::QuoteStyle::Necessary).flexible(true).from_writer(Vec::new());
        line = prefix.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(&(j.delimiter.byte() as char).to_string()).into_bytes();
        match &header {
            Some(hd) if !hd.is_empty() => {
                if !line.is_empty() { line.push(j.delimiter.byte()); }
                h.write_record(hd.iter()).map_err(csv_err)?;
                line.extend(h.into_inner().map_err(|e| csv_err(e.into_error().into()))?);
            }
            _ => line.extend_from_slice(if j.line_ending == LineEnding::Crlf { b"\r\n" } else { b"\n" }),
        }
    }
    for (i, row) in rows.enumerate() {
        let Ok(row) = row else { continue };
        let mut rec: Vec<String> = Vec::with_capacity(row.len() + 2);
        match (kind, j.outcomes.get(i)) {
            (ResultKind::Successful, Some(Outcome::Success { id, created })) => { rec.push(id.clone()); rec.push(created.to_string()); }
            (ResultKind::Failed, Some(Outcome::Failed { id, error })) => { rec.push(id.clone()); rec.push(error.clone()); }
            (ResultKind::Unprocessed, None) => {}
            _ => continue,
        }
        rec.extend(row.iter().map(String::from));
        out.write_record(&rec).map_err(csv_err)?;
    }
    line.extend(out.into_inner().map_err(|e| csv_err(e.into_error().into()))?);
    Ok(Resp::raw(200, "text/csv", line))
}
