//! REST API under /services/data: a hand-rolled dispatcher (composite
//! subrequests reuse it), sObjects, describe, query, collections, composite, limits.

use crate::outbound;
use crate::records::{self, ApiError, UpsertOutcome};
use crate::schema;
use crate::soql;
use crate::state::{random_token, App, Cursor, Org};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Instant;

pub struct Ctx {
    pub app: Arc<App>,
    pub org: Arc<Org>,
    pub user_id: String,
    pub base: String,
    pub batch_size: Option<usize>,
    /// The request's `If-Modified-Since` (Unix seconds), for describe.
    pub if_modified_since: Option<i64>,
}

/// An HTTP date as Salesforce documents it for `If-Modified-Since` (`EEE, dd MMM yyyy
/// HH:mm:ss z`, e.g. `Wed, 3 Jul 2013 19:43:31 GMT` or `… 08:34:54 MST`), as Unix seconds.
/// Anything else is `None` (and, as HTTP says of an invalid date, the header is ignored).
pub fn parse_http_date(v: &str) -> Option<i64> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    let [_, day, mon, year, hms, zone] = parts.as_slice() else { return None };
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = time::Month::try_from(MONTHS.iter().position(|m| m.eq_ignore_ascii_case(mon))? as u8 + 1).ok()?;
    let date = time::Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()?;
    let mut t = hms.split(':').map(|x| x.parse::<u8>().ok());
    let (h, m, sec) = (t.next()??, t.next()??, t.next()??);
    // Seconds east of UTC: named zones as Java's `z` prints them, or a numeric `±hhmm`.
    let offset: i64 = match zone.to_ascii_uppercase().as_str() {
        "GMT" | "UTC" | "UT" | "Z" => 0,
        "EDT" => -4 * 3600, "EST" | "CDT" => -5 * 3600, "CST" | "MDT" => -6 * 3600, "MST" | "PDT" => -7 * 3600, "PST" => -8 * 3600,
        z => {
            let (sign, digits) = z.split_at(1);
            let n: i64 = digits.parse().ok().filter(|_| digits.len() == 4)?;
            let secs = (n / 100 * 60 + n % 100) * 60;
            match sign { "+" => secs, "-" => -secs, _ => return None }
        }
    };
    let local = time::PrimitiveDateTime::new(date, time::Time::from_hms(h, m, sec).ok()?).assume_utc().unix_timestamp();
    Some(local - offset)
}

/// `304 Not Modified` (no body) when the org's metadata has not changed since the request's
/// `If-Modified-Since`, as Salesforce answers describe.
fn not_modified(ctx: &Ctx) -> Option<Resp> {
    let since = ctx.if_modified_since?;
    (ctx.org.schema_modified.load(std::sync::atomic::Ordering::Acquire) <= since).then(|| Resp::empty(304))
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(String, String)>,
    /// A body that is not JSON (Bulk API 2.0 results are CSV): (content type, bytes).
    pub raw: Option<(&'static str, Vec<u8>)>,
}

impl Resp {
    pub fn json(status: u16, v: Value) -> Self { Resp { status, body: Some(v), headers: vec![], raw: None } }
    pub fn empty(status: u16) -> Self { Resp { status, body: None, headers: vec![], raw: None } }
    pub fn raw(status: u16, content_type: &'static str, bytes: Vec<u8>) -> Self { Resp { status, body: None, headers: vec![], raw: Some((content_type, bytes)) } }
}

impl From<ApiError> for Resp {
    fn from(e: ApiError) -> Self { Resp::json(e.status, e.rest_body()) }
}

type R = Result<Resp, ApiError>;

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) { return Ok(Value::Object(Map::new())); }
    serde_json::from_slice(body).map_err(|e| ApiError::new(400, "JSON_PARSER_ERROR", format!("Unexpected character ('{}' (code {})): was expecting a value at [line:{}, column:{}]",
        body.get(e.column().saturating_sub(1)).map(|&b| b as char).unwrap_or(' '), body.get(e.column().saturating_sub(1)).copied().unwrap_or(0), e.line(), e.column())))
}

fn body_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match parse_body(body)? {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::new(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of SObject from START_ARRAY value or request may be missing a required field at [line:1, column:1]")),
    }
}

fn qparam(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Dispatch one REST request. `path` is everything after `/services/data`.
pub fn dispatch(ctx: &Ctx, method: &str, path: &str, query: &str, body: &[u8]) -> Resp {
    match route(ctx, method, path, query, body) { Ok(r) => r, Err(e) => e.into() }
}

fn route(ctx: &Ctx, method: &str, path: &str, query: &str, body: &[u8]) -> R {
    let segs: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    if segs.is_empty() { return Ok(Resp::json(200, ctx.app.versions.listing())); }
    let ver = ctx.app.versions.resolve(segs[0])?.to_string();
    let rest = &segs[1..];
    let org = &ctx.org;
    match (method, rest) {
        ("GET", []) => Ok(Resp::json(200, resources(ctx, &ver))),
        ("GET", ["limits"]) => Ok(Resp::json(200, limits(org))),
        ("GET", ["sobjects"]) => Ok(not_modified(ctx).unwrap_or_else(|| Resp::json(200, json!({
            "encoding": "UTF-8", "maxBatchSize": 200,
            "sobjects": org.objects.iter().map(|o| schema::global_entry(o, &ver)).collect::<Vec<_>>(),
        })))),
        (_, ["sobjects", t, rest @ ..]) => {
            let obj = org.object(t).cloned().ok_or_else(ApiError::not_found)?;
            sobject(ctx, &ver, method, &obj, rest, query, body)
        }
        ("GET", [resource @ ("query" | "queryAll")]) => {
            let q = qparam(query, "q").ok_or_else(|| ApiError::new(400, "MALFORMED_QUERY", "A query string has to be specified"))?;
            run_query(ctx, &ver, &q, if *resource == "queryAll" { soql::Scope::WithDeleted } else { soql::Scope::Live })
        }
        ("GET", ["query" | "queryAll", locator]) => query_more(ctx, &ver, locator),
        ("GET", ["composite"]) => Ok(Resp::json(200, json!({
            "tree": format!("/services/data/v{ver}/composite/tree"),
            "sobjects": format!("/services/data/v{ver}/composite/sobjects"),
        }))),
        ("POST", ["composite"]) => composite(ctx, &ver, body),
        ("POST", ["composite", "tree", t]) => tree(ctx, t, body),
        (_, ["composite", "sobjects", rest @ ..]) => collections(ctx, &ver, method, rest, query, body),
        (_, ["jobs", "ingest", rest @ ..]) => crate::bulk2::route(ctx, &ver, method, rest, query, body),
        _ => Err(ApiError::not_found()),
    }
}

/// `GET /services/data/vXX.X`: only the resources `route` answers (Salesforce lists more,
/// but a client that follows this list must not find a resource the emulator lacks).
fn resources(ctx: &Ctx, ver: &str) -> Value {
    let mut m = Map::new();
    for k in ["sobjects", "query", "queryAll", "composite", "limits"] {
        m.insert(k.into(), json!(format!("/services/data/v{ver}/{k}")));
    }
    let login = App::login_url(&ctx.base, ctx.org.is_sandbox);
    m.insert("identity".into(), json!(format!("{login}/id/{}/{}", ctx.org.id, ctx.user_id)));
    Value::Object(m)
}

pub fn limits(org: &Org) -> Value {
    let max = org.max.load(std::sync::atomic::Ordering::Relaxed);
    let used = org.usage.load(std::sync::atomic::Ordering::Relaxed);
    let l = |m: u64| json!({"Max": m, "Remaining": m});
    json!({
        "ConcurrentAsyncGetReportInstances": l(200), "ConcurrentSyncReportRuns": l(20),
        "DailyApiRequests": {"Max": max, "Remaining": max.saturating_sub(used)},
        "DailyAsyncApexExecutions": l(250000), "DailyBulkApiBatches": l(15000), "DailyBulkV2QueryFileStorageMB": l(976562),
        "DailyBulkV2QueryJobs": l(10000), "DailyGenericStreamingApiEvents": l(10000), "DailyStreamingApiEvents": l(10000),
        "DailyWorkflowEmails": l(2000), "DataStorageMB": l(5), "FileStorageMB": l(20), "HourlyODataCallout": l(10000),
        "HourlyTimeBasedWorkflow": l(50), "MassEmail": l(5000), "SingleEmail": l(5000),
    })
}

/// Names of sObject sub-resources (`/sobjects/{T}/{name}/…`): never external id fields.
const SOBJECT_SUBRESOURCES: [&str; 12] = ["describe", "updated", "deleted", "listviews", "quickActions", "layouts",
    "compactLayouts", "approvalLayouts", "namedLayouts", "richTextImageFields", "eventSchema", "platformaction"];

fn sobject(ctx: &Ctx, ver: &str, method: &str, obj: &Arc<schema::ObjectDef>, rest: &[&str], query: &str, body: &[u8]) -> R {
    let org = &ctx.org;
    match (method, rest) {
        ("GET", []) => {
            let recent: Vec<Value> = org.data.read().get(&obj.name).map(|t| t.records.values().rev().take(5)
                .map(|r| records::render(obj, r, ver, Some(&["Id".to_string(), obj.name_field().map(|f| f.name.clone()).unwrap_or("Id".into())]))).collect()).unwrap_or_default();
            Ok(Resp::json(200, json!({"objectDescribe": schema::global_entry(obj, ver), "recentItems": recent})))
        }
        ("POST", []) => {
            let b = body_object(body)?;
            let ch = records::create(org, obj, &ctx.user_id, &b)?;
            outbound::on_change(&ctx.app, org, obj, &ch);
            let mut r = Resp::json(201, json!({"id": ch.id, "success": true, "errors": []}));
            r.headers.push(("Location".into(), format!("/services/data/v{ver}/sobjects/{}/{}", obj.name, ch.id)));
            Ok(r)
        }
        ("GET", ["updated" | "deleted"]) | ("GET", ["updated" | "deleted", ""]) => {
            let start = qparam(query, "start").and_then(|v| norm_dt(&v)).ok_or_else(|| ApiError::new(400, "INVALID_REPLICATION_DATE", "start date is required"))?;
            let end = qparam(query, "end").and_then(|v| norm_dt(&v)).ok_or_else(|| ApiError::new(400, "INVALID_REPLICATION_DATE", "end date is required"))?;
            // Salesforce's replication rules: start must precede end, and results go back no
            // more than 30 days before the call (both INVALID_REPLICATION_DATE).
            if start >= end {
                return Err(ApiError::new(400, "INVALID_REPLICATION_DATE", format!("start date {start} must be before end date {end}")));
            }
            let oldest = crate::state::sf_datetime(time::OffsetDateTime::now_utc() - time::Duration::days(30));
            if start < oldest {
                return Err(ApiError::new(400, "INVALID_REPLICATION_DATE", format!("start date {start} is more than 30 days ago (the earliest is {oldest})")));
            }
            // "The API ignores the seconds portion of the specified dateTime value" (start and
            // end). latestDateCovered is at most the end and, as a safe next start, not later
            // than the current minute.
            let (from, to) = (to_minute(&start), to_minute(&end));
            let covered = to.clone().min(to_minute(&crate::state::sf_datetime_now()));
            if rest[0] == "updated" {
                let ids: Vec<Value> = org.data.read().get(&obj.name).map(|t| t.records.values()
                    .filter(|r| r.get("SystemModstamp").and_then(|v| v.as_str()).map(|m| m >= from.as_str() && m < to.as_str()).unwrap_or(false))
                    .filter_map(|r| r.get("Id").cloned()).collect()).unwrap_or_default();
                Ok(Resp::json(200, json!({"ids": ids, "latestDateCovered": covered})))
            } else {
                let recs: Vec<Value> = org.deleted.lock().iter().filter(|(o, _, d)| o == &obj.name && d.as_str() >= from.as_str() && d.as_str() < to.as_str())
                    .map(|(_, id, d)| json!({"deletedDate": d, "id": id})).collect();
                Ok(Resp::json(200, json!({"deletedRecords": recs, "earliestDateAvailable": org.created, "latestDateCovered": covered})))
            }
        }
        ("GET", ["describe"]) => Ok(not_modified(ctx).unwrap_or_else(|| Resp::json(200, schema::object_describe(obj, ver, &App::instance_url(&ctx.base, org), &org.objects)))),
        ("GET", [id]) => {
            let id = records::check_id(obj, id)?;
            let r = if matches!(obj.name.as_str(), "User" | "Organization") {
                soql::rows(org, obj).into_iter().find(|r| r.get("Id").and_then(|v| v.as_str()) == Some(id.as_str()))
            } else { records::get(org, obj, &id) };
            let r = r.ok_or_else(ApiError::not_found)?;
            let fields: Option<Vec<String>> = qparam(query, "fields").map(|f| f.split(',').map(|s| s.trim().to_string()).collect());
            if let Some(fs) = &fields {
                if let Some(bad) = fs.iter().find(|f| obj.field(f).is_none()) {
                    return Err(ApiError::new(400, "INVALID_FIELD", format!("No such column '{bad}' on entity '{}'.", obj.name)));
                }
            }
            Ok(Resp::json(200, records::render(obj, &r, ver, fields.as_deref())))
        }
        ("PATCH", [id]) => {
            let id = records::check_id(obj, id)?;
            let b = body_object(body)?;
            let ch = records::update(org, obj, &ctx.user_id, &id, &b)?;
            outbound::on_change(&ctx.app, org, obj, &ch);
            Ok(Resp::empty(204))
        }
        ("DELETE", [id]) => {
            let id = records::check_id(obj, id)?;
            records::delete(org, obj, &id)?;
            Ok(Resp::empty(204))
        }
        // Sub-resources the emulator does not answer (`describe/layouts`, `updated/x`,
        // `listviews`, …) and relationship traversal (`{id}/Contacts`): Salesforce's answer
        // to a path that does not exist, not an external-id lookup on a field named so.
        (_, [first, _, ..]) if SOBJECT_SUBRESOURCES.contains(first) || records::check_id(obj, first).is_ok() => Err(ApiError::not_found()),
        (_, [_, _, _, ..]) => Err(ApiError::not_found()),
        ("GET", [field, value]) => {
            let f = records::upsert_field(obj, field)?;
            let data = org.data.read();
            let ids = records::find_by_external(data.get(&obj.name), f, value);
            match ids.len() {
                0 => Err(ApiError::not_found()),
                1 => Ok(Resp::json(200, records::render(obj, &data[&obj.name].records[&ids[0]], ver, None))),
                _ => Ok(Resp::json(300, json!(ids.iter().map(|i| format!("/services/data/v{ver}/sobjects/{}/{i}", obj.name)).collect::<Vec<_>>()))),
            }
        }
        ("PATCH" | "POST", [field, value]) => {
            let f = records::upsert_field(obj, field)?.clone();
            let mut b = body_object(body)?;
            if let Some((k, v)) = b.iter().find(|(k, _)| k.eq_ignore_ascii_case(&f.name)).map(|(k, v)| (k.clone(), v.clone())) {
                if records::coerce(org, &f, &v).ok().and_then(|x| x.as_str().map(|s| s.to_string())).as_deref() != Some(*value) {
                    return Err(ApiError::new(400, "INVALID_FIELD", format!("The value of field {} in the record doesn't match the value in the URL", f.name)));
                }
                b.remove(&k);
            }
            let update_only = qparam(query, "updateOnly").map(|v| v == "true").unwrap_or(false);
            let out = {
                let mut data = org.data.write();
                let table = data.entry(obj.name.clone()).or_default();
                records::upsert_locked(org, obj, table, &ctx.user_id, &f, value, &b, update_only)?
            };
            let ver_n: f32 = ver.parse().unwrap_or(59.0);
            match out {
                UpsertOutcome::Created(ch) => {
                    outbound::on_change(&ctx.app, org, obj, &ch);
                    Ok(Resp::json(201, json!({"id": ch.id, "success": true, "errors": [], "created": true})))
                }
                UpsertOutcome::Updated(ch) => {
                    outbound::on_change(&ctx.app, org, obj, &ch);
                    // Since API v46.0 an update by upsert answers 200 with a body; before, 204.
                    if ver_n >= 46.0 { Ok(Resp::json(200, json!({"id": ch.id, "success": true, "errors": [], "created": false}))) } else { Ok(Resp::empty(204)) }
                }
                UpsertOutcome::Multiple(ids) => Ok(Resp::json(300, json!(ids.iter().map(|i| format!("/services/data/v{ver}/sobjects/{}/{i}", obj.name)).collect::<Vec<_>>()))),
            }
        }
        _ => Err(ApiError::new(405, "METHOD_NOT_ALLOWED", format!("HTTP Method '{method}' not allowed. Allowed are GET,PATCH,DELETE"))),
    }
}

/// A datetime in Salesforce's form (`2026-01-31T09:05:17.250+0000`) without its seconds:
/// `2026-01-31T09:05:00.000+0000`.
fn to_minute(dt: &str) -> String { format!("{}:00.000+0000", &dt[..16]) }

fn norm_dt(v: &str) -> Option<String> {
    let n = records::coerce_datetime_literal(v);
    (n.len() == 28 && n.ends_with("+0000")).then_some(n)
}

fn run_query(ctx: &Ctx, ver: &str, q: &str, scope: soql::Scope) -> R {
    let res = soql::execute(&ctx.org, q, ver, scope)?;
    let batch = ctx.batch_size.unwrap_or(2000).clamp(200, 2000);
    if res.records.len() <= batch {
        return Ok(Resp::json(200, json!({"totalSize": res.total, "done": true, "records": res.records})));
    }
    let locator = format!("01g{}", &random_token(15));
    let first: Vec<Value> = res.records[..batch].to_vec();
    let total = res.total;
    let mut cursors = ctx.app.cursors.lock();
    cursors.retain(|_, c| c.created.elapsed().as_secs() < 15 * 60);
    cursors.insert(format!("{}:{locator}", ctx.org.id), Cursor { records: res.records, pos: batch, batch, total, created: Instant::now() });
    Ok(Resp::json(200, json!({"totalSize": total, "done": false, "nextRecordsUrl": format!("/services/data/v{ver}/query/{locator}-{batch}"), "records": first})))
}

fn query_more(ctx: &Ctx, ver: &str, locator: &str) -> R {
    let invalid = || ApiError::new(400, "INVALID_QUERY_LOCATOR", "invalid query locator");
    let (loc, pos) = locator.rsplit_once('-').ok_or_else(invalid)?;
    let pos: usize = pos.parse().map_err(|_| invalid())?;
    let key = format!("{}:{loc}", ctx.org.id);
    let mut cursors = ctx.app.cursors.lock();
    let c = cursors.get_mut(&key).ok_or_else(invalid)?;
    if pos > c.records.len() { return Err(invalid()); }
    let end = (pos + c.batch).min(c.records.len());
    let recs: Vec<Value> = c.records[pos..end].to_vec();
    c.pos = end;
    let total = c.total;
    if end >= c.records.len() {
        cursors.remove(&key);
        Ok(Resp::json(200, json!({"totalSize": total, "done": true, "records": recs})))
    } else {
        Ok(Resp::json(200, json!({"totalSize": total, "done": false, "nextRecordsUrl": format!("/services/data/v{ver}/query/{loc}-{end}"), "records": recs})))
    }
}

// ------------------------------------------------------------------ sObject Collections

fn rolled_back() -> Value {
    json!({"success": false, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back because not all records were valid and the request was using AllOrNone header", "fields": []}]})
}

fn split_list(v: Option<String>) -> Vec<String> {
    v.unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

fn fail(e: &ApiError) -> Value { json!({"success": false, "errors": [e.collection_error()]}) }

fn collections(ctx: &Ctx, ver: &str, method: &str, rest: &[&str], query: &str, body: &[u8]) -> R {
    let org = &ctx.org;
    if method == "DELETE" && rest.is_empty() {
        let ids: Vec<String> = qparam(query, "ids").unwrap_or_default().split(',').filter(|s| !s.is_empty()).map(String::from).collect();
        if ids.len() > 200 { return Err(ApiError::new(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")); }
        let all_or_none = qparam(query, "allOrNone").map(|v| v == "true").unwrap_or(false);
        let snapshot = if all_or_none { Some(org.data.read().iter().map(|(k, t)| (k.clone(), t.records.clone(), t.index.clone())).collect::<Vec<_>>()) } else { None };
        let mut out = vec![];
        let mut failed = false;
        for raw in &ids {
            let r = crate::ids::parse(raw).and_then(|id| org.object_by_prefix(&id).cloned().map(|o| (id, o)))
                .ok_or_else(|| ApiError::new(400, "MALFORMED_ID", format!("malformed id {raw}")))
                .and_then(|(id, o)| records::delete(org, &o, &id).map(|_| id));
            match r { Ok(id) => out.push(json!({"id": id, "success": true, "errors": []})), Err(e) => { failed = true; out.push(fail(&e)) } }
        }
        if failed { if let Some(s) = snapshot { restore(org, s); out = out.into_iter().map(|v| if v["success"] == json!(true) { rolled_back() } else { v }).collect(); } }
        return Ok(Resp::json(200, Value::Array(out)));
    }
    // Retrieve: `GET …/composite/sobjects/T?ids=…&fields=…`, or the same as a POST body
    // `{"ids": [..], "fields": [..]}` (for lists too long for a URL).
    let retrieve = match (method, rest) {
        ("GET", [t]) => Some((*t, split_list(qparam(query, "ids")), split_list(qparam(query, "fields")))),
        ("POST", [t]) => {
            let b = body_object(body)?;
            let list = |k: &str| b.get(k).and_then(|v| v.as_array()).map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect::<Vec<_>>()).unwrap_or_default();
            Some((*t, list("ids"), list("fields")))
        }
        _ => None,
    };
    if let Some((t, ids, fields)) = retrieve {
        let obj = org.object(t).cloned().ok_or_else(ApiError::not_found)?;
        if ids.len() > 2000 { return Err(ApiError::new(400, "EXCEEDED_ID_LIMIT", "more than 2000 ids in one retrieve call")); }
        if let Some(bad) = fields.iter().find(|f| obj.field(f).is_none()) {
            return Err(ApiError::new(400, "INVALID_FIELD", format!("No such column '{bad}' on entity '{}'.", obj.name)));
        }
        let out: Vec<Value> = ids.iter().map(|raw| {
            crate::ids::parse(raw).and_then(|id| records::get(org, &obj, &id)).map(|r| records::render(&obj, &r, ver, if fields.is_empty() { None } else { Some(&fields) })).unwrap_or(Value::Null)
        }).collect();
        return Ok(Resp::json(200, Value::Array(out)));
    }
    let b = body_object(body)?;
    let all_or_none = b.get("allOrNone").and_then(|v| v.as_bool()).unwrap_or(false);
    let empty = Map::new();
    let recs: Vec<&Map<String, Value>> = match b.get("records") {
        Some(Value::Array(a)) => a.iter().map(|v| v.as_object().unwrap_or(&empty)).collect(),
        _ => return Err(ApiError::new(400, "INVALID_FIELD", "No records specified")),
    };
    if recs.len() > 200 { return Err(ApiError::new(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")); }
    enum Op<'a> { Create, Update, Upsert(&'a str, &'a str) }
    let op = match (method, rest) {
        ("POST", []) => Op::Create,
        ("PATCH", []) => Op::Update,
        ("PATCH", [t, f]) => Op::Upsert(t, f),
        _ => return Err(ApiError::not_found()),
    };
    let snapshot = if all_or_none { Some(org.data.read().iter().map(|(k, t)| (k.clone(), t.records.clone(), t.index.clone())).collect::<Vec<_>>()) } else { None };
    let mut results = Vec::with_capacity(recs.len());
    let mut changed = vec![];
    let mut any_failed = false;
    // Upsert: what each record's external id matched before the request, so that a failed
    // (or rolled-back) UpsertResult still says `created` and `id` as Salesforce's does.
    let mut upsert_match: Vec<Option<(bool, Option<String>)>> = vec![None; recs.len()];
    {
        let mut data = org.data.write();
        for (n, rec) in recs.iter().enumerate() {
            let ty = rec.get("attributes").and_then(|a| a.get("type")).and_then(|t| t.as_str());
            let r: Result<Value, ApiError> = (|| {
                let obj = match (&op, ty) {
                    (Op::Upsert(t, _), _) => org.object(t).cloned().ok_or_else(ApiError::not_found)?,
                    (_, Some(t)) => org.object(t).cloned().ok_or_else(|| ApiError::new(400, "INVALID_TYPE", format!("sObject type '{t}' is not supported.")))?,
                    (_, None) => return Err(ApiError::new(400, "INVALID_TYPE", "Must send a concrete entity type.")),
                };
                let table = data.entry(obj.name.clone()).or_default();
                match op {
                    Op::Create => {
                        if rec.keys().any(|k| k.eq_ignore_ascii_case("id")) { return Err(ApiError::new(400, "INVALID_FIELD", "cannot specify Id in an insert call").with_fields(vec![])); }
                        let vals = records::validate(org, &obj, rec, true)?;
                        let ch = records::insert_locked(org, &obj, table, &ctx.user_id, vals)?;
                        let id = ch.id.clone();
                        changed.push((obj.clone(), ch));
                        Ok(json!({"id": id, "success": true, "errors": []}))
                    }
                    Op::Update => {
                        let raw = rec.iter().find(|(k, _)| k.eq_ignore_ascii_case("id")).and_then(|(_, v)| v.as_str())
                            .ok_or_else(|| ApiError::new(400, "MISSING_ARGUMENT", "Id not specified in an update call").with_fields(vec![]))?;
                        let id = records::check_id(&obj, raw)?;
                        let mut body = (*rec).clone();
                        body.retain(|k, _| !k.eq_ignore_ascii_case("id"));
                        let vals = records::validate(org, &obj, &body, false)?;
                        let ch = records::update_locked(org, &obj, table, &ctx.user_id, &id, vals).map_err(|e| if e.code == "NOT_FOUND" { ApiError::new(404, "ENTITY_IS_DELETED", "entity is deleted").with_fields(vec![]) } else { e })?;
                        changed.push((obj.clone(), ch));
                        Ok(json!({"id": id, "success": true, "errors": []}))
                    }
                    Op::Upsert(_, f) => {
                        let fd = records::upsert_field(&obj, f)?.clone();
                        let val = rec.iter().find(|(k, _)| k.eq_ignore_ascii_case(&fd.name)).map(|(_, v)| v.clone())
                            .filter(|v| !v.is_null())
                            .ok_or_else(|| ApiError::new(400, "MISSING_ARGUMENT", format!("{} not specified", fd.name)).with_fields(vec![]))?;
                        let sval = match &val { Value::String(s) => s.clone(), o => o.to_string() };
                        let found = records::find_by_external(Some(&*table), &fd, &sval);
                        upsert_match[n] = Some((found.is_empty(), if found.len() == 1 { Some(found[0].clone()) } else { None }));
                        let mut body = (*rec).clone();
                        body.retain(|k, _| !k.eq_ignore_ascii_case(&fd.name));
                        match records::upsert_locked(org, &obj, table, &ctx.user_id, &fd, &sval, &body, false)? {
                            UpsertOutcome::Created(ch) => { let id = ch.id.clone(); changed.push((obj.clone(), ch)); Ok(json!({"id": id, "success": true, "errors": [], "created": true})) }
                            UpsertOutcome::Updated(ch) => { let id = ch.id.clone(); changed.push((obj.clone(), ch)); Ok(json!({"id": id, "success": true, "errors": [], "created": false})) }
                            UpsertOutcome::Multiple(ids) => Err(ApiError::new(300, "DUPLICATE_EXTERNAL_ID", format!("{}: more than one record found for external id field: {ids:?}", fd.name)).with_fields(vec![fd.name.clone()])),
                        }
                    }
                }
            })();
            match r { Ok(v) => results.push(v), Err(e) => { any_failed = true; results.push(fail(&e)); } }
        }
    }
    let with_match = |mut v: Value, n: usize| {
        if let (Some((created, id)), Some(m)) = (&upsert_match[n], v.as_object_mut()) {
            m.insert("created".into(), json!(created));
            m.insert("id".into(), json!(id));
        }
        v
    };
    if any_failed {
        if let Some(s) = snapshot {
            restore(org, s);
            let out: Vec<Value> = results.into_iter().enumerate().map(|(n, v)| with_match(if v["success"] == json!(true) { rolled_back() } else { v }, n)).collect();
            return Ok(Resp::json(200, Value::Array(out)));
        }
    }
    let results: Vec<Value> = results.into_iter().enumerate().map(|(n, v)| if v["success"] == json!(false) { with_match(v, n) } else { v }).collect();
    outbound::on_changes(&ctx.app, org, changed.iter().map(|(o, ch)| (&**o, ch)));
    Ok(Resp::json(200, Value::Array(results)))
}

type Snap = Vec<(String, std::collections::BTreeMap<String, crate::state::Record>, std::collections::HashMap<String, std::collections::BTreeMap<String, Vec<String>>>)>;

fn restore(org: &Org, s: Snap) {
    let mut data = org.data.write();
    if org.journal.enabled() {
        // Mark every record whose state differs from the snapshot, so that the SQLite
        // file follows the rollback even if another request flushed in between.
        for (k, records, _) in &s {
            let cur = data.get(k);
            for (id, r) in records {
                if cur.and_then(|t| t.records.get(id)) != Some(r) { org.journal.mark(k, id); }
            }
        }
        for (k, t) in data.iter() {
            let old = s.iter().find(|(n, _, _)| n == k).map(|(_, r, _)| r);
            for id in t.records.keys() {
                if !old.map(|o| o.contains_key(id)).unwrap_or(false) { org.journal.mark(k, id); }
            }
        }
    }
    let mut bins: std::collections::HashMap<String, std::collections::BTreeMap<String, crate::state::Record>> = data.drain().map(|(k, t)| (k, t.recycle_bin)).collect();
    let mut ids = org.ids.write();
    ids.clear();
    for (k, records, index) in s {
        ids.extend(records.keys().cloned());
        // A record deleted by the rolled-back request is live again, so out of the bin.
        let mut recycle_bin = bins.remove(&k).unwrap_or_default();
        recycle_bin.retain(|id, _| !records.contains_key(id));
        data.insert(k, crate::state::Table { records, index, last_auto_number: 0, recycle_bin });
    }
}

// ------------------------------------------------------------------ composite

fn resolve_refs(text: &str, results: &std::collections::HashMap<String, Value>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("@{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after.find('}').ok_or_else(|| "unterminated reference".to_string())?;
        let expr = &after[..end];
        // `.` names a field of a JSON object, `[n]` an element of a JSON
        // array (a collection's results): `@{ref.id}`, `@{ref[0].id}`,
        // `@{ref.records[0].Id}`.
        let split = expr.find(['.', '[']).unwrap_or(expr.len());
        let (rid, path) = expr.split_at(split);
        let mut v = results.get(rid).ok_or_else(|| expr.to_string())?;
        for part in path.split('.').filter(|p| !p.is_empty()) {
            let (name, indices) = match part.find('[') { Some(b) => (&part[..b], &part[b..]), None => (part, "") };
            if !name.is_empty() { v = v.get(name).ok_or_else(|| expr.to_string())?; }
            for idx in indices.split('[').filter(|p| !p.is_empty()) {
                let i = idx.strip_suffix(']').and_then(|n| n.parse::<usize>().ok()).ok_or_else(|| expr.to_string())?;
                v = v.get(i).ok_or_else(|| expr.to_string())?;
            }
        }
        // A reference to nothing (the id of a record that failed) does not resolve.
        if v.is_null() { return Err(expr.to_string()); }
        match v { Value::String(s) => out.push_str(s), other => out.push_str(&other.to_string()) }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn composite(ctx: &Ctx, _ver: &str, body: &[u8]) -> R {
    let b = body_object(body)?;
    let all_or_none = b.get("allOrNone").and_then(|v| v.as_bool()).unwrap_or(false);
    let reqs = b.get("compositeRequest").and_then(|v| v.as_array()).cloned()
        .ok_or_else(|| ApiError::new(400, "JSON_PARSER_ERROR", "compositeRequest is required"))?;
    if reqs.len() > 25 { return Err(ApiError::new(400, "INVALID_BATCH_REQUEST", "Composite request must contain at most 25 subrequests")); }
    // Documented limit: at most 5 of the subrequests may be sObject Collections
    // or query operations. (The error's wording is the emulator's own.)
    let heavy = reqs.iter().filter(|r| r.get("url").and_then(|u| u.as_str()).is_some_and(|u| u.contains("/composite/sobjects") || u.contains("/query"))).count();
    if heavy > 5 { return Err(ApiError::new(400, "INVALID_BATCH_REQUEST", "Composite request may contain at most 5 sObject Collections or query subrequests")); }
    let org = &ctx.org;
    let snapshot = if all_or_none { Some(org.data.read().iter().map(|(k, t)| (k.clone(), t.records.clone(), t.index.clone())).collect::<Vec<_>>()) } else { None };
    let mut results: std::collections::HashMap<String, Value> = Default::default();
    let mut out: Vec<Value> = vec![];
    let mut halted = false;
    for r in &reqs {
        let rid = r.get("referenceId").and_then(|v| v.as_str()).unwrap_or("").to_string();
        if halted {
            out.push(json!({"body": [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}], "httpHeaders": {}, "httpStatusCode": 400, "referenceId": rid}));
            continue;
        }
        let method = r.get("method").and_then(|v| v.as_str()).unwrap_or("GET").to_uppercase();
        let url = r.get("url").and_then(|v| v.as_str()).unwrap_or("");
        let sub_body = r.get("body").map(|v| v.to_string()).unwrap_or_default();
        let (url, sub_body) = match (resolve_refs(url, &results), resolve_refs(&sub_body, &results)) {
            (Ok(u), Ok(b)) => (u, b),
            (Err(e), _) | (_, Err(e)) => {
                out.push(json!({"body": [{"errorCode": "PROCESSING_HALTED", "message": format!("Invalid reference specified. No value for {e} found in {rid}. Provided referenceId ids are case-sensitive")}], "httpHeaders": {}, "httpStatusCode": 400, "referenceId": rid}));
                if all_or_none { halted = true; }
                continue;
            }
        };
        let (p, q) = url.split_once('?').unwrap_or((&url, ""));
        let p = p.strip_prefix("/services/data").unwrap_or(p);
        let resp = dispatch(ctx, &method, p, q, sub_body.as_bytes());
        let ok = resp.status < 300;
        let mut hdrs = Map::new();
        for (k, v) in &resp.headers { hdrs.insert(k.clone(), json!(v)); }
        let bodyv = resp.body.clone().unwrap_or(Value::Null);
        if ok { results.insert(rid.clone(), bodyv.clone()); }
        out.push(json!({"body": bodyv, "httpHeaders": hdrs, "httpStatusCode": resp.status, "referenceId": rid}));
        if !ok && all_or_none { halted = true; }
    }
    if halted {
        if let Some(s) = snapshot { restore(org, s); }
        for o in out.iter_mut() {
            if o["httpStatusCode"].as_u64().unwrap_or(0) < 300 {
                *o = json!({"body": [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}], "httpHeaders": {}, "httpStatusCode": 400, "referenceId": o["referenceId"].clone()});
            }
        }
    }
    Ok(Resp::json(200, json!({"compositeResponse": out})))
}

// ------------------------------------------------------------------ sObject Tree

fn count_tree(recs: &[Value]) -> usize {
    recs.iter().map(|r| 1 + r.as_object().map(|m| m.values().filter_map(|v| v.get("records").and_then(|x| x.as_array())).map(|a| count_tree(a)).sum::<usize>()).unwrap_or(0)).sum()
}

/// POST /composite/tree/T: create parent records with nested children, all or nothing.
fn tree(ctx: &Ctx, t: &str, body: &[u8]) -> R {
    let org = &ctx.org;
    let obj = org.object(t).cloned().ok_or_else(ApiError::not_found)?;
    let b = body_object(body)?;
    let recs = b.get("records").and_then(|v| v.as_array()).cloned().ok_or_else(|| ApiError::new(400, "JSON_PARSER_ERROR", "records is required"))?;
    if count_tree(&recs) > 200 { return Err(ApiError::new(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")); }
    let snapshot: Snap = org.data.read().iter().map(|(k, t)| (k.clone(), t.records.clone(), t.index.clone())).collect();
    let mut results = vec![];
    let mut changed = vec![];
    fn insert_all(ctx: &Ctx, obj: &Arc<schema::ObjectDef>, recs: &[Value], parent: Option<(&str, &str)>, results: &mut Vec<Value>,
        changed: &mut Vec<(Arc<schema::ObjectDef>, records::Changed)>) -> Result<(), Value> {
        let org = &ctx.org;
        for r in recs {
            let m = r.as_object().cloned().unwrap_or_default();
            let rid = m.get("attributes").and_then(|a| a.get("referenceId")).and_then(|v| v.as_str()).unwrap_or("").to_string();
            let mut fields = Map::new();
            let mut children = vec![];
            for (k, v) in &m {
                if k == "attributes" { continue; }
                if let Some(sub) = v.get("records").and_then(|x| x.as_array()) {
                    let child = org.objects.iter().find_map(|c| {
                        if schema::child_relationship_name(c).eq_ignore_ascii_case(k) {
                            c.fields.iter().find(|f| f.reference_to.iter().any(|x| x == &obj.name)).map(|f| (c.clone(), f.name.clone()))
                        } else { None }
                    });
                    match child {
                        Some(c) => children.push((c, sub.clone())),
                        None => return Err(json!({"referenceId": rid, "errors": [{"statusCode": "INVALID_FIELD", "message": format!("No such relation '{k}' on entity '{}'", obj.name), "fields": []}]})),
                    }
                } else { fields.insert(k.clone(), v.clone()); }
            }
            if let Some((fk, pid)) = parent { fields.insert(fk.to_string(), json!(pid)); }
            match records::create(org, obj, &ctx.user_id, &fields) {
                Ok(ch) => {
                    results.push(json!({"referenceId": rid, "id": ch.id}));
                    let id = ch.id.clone();
                    changed.push((obj.clone(), ch));
                    for ((cobj, fk), sub) in children { insert_all(ctx, &cobj, &sub, Some((&fk, &id)), results, changed)?; }
                }
                Err(e) => return Err(json!({"referenceId": rid, "errors": [e.collection_error()]})),
            }
        }
        Ok(())
    }
    match insert_all(ctx, &obj, &recs, None, &mut results, &mut changed) {
        Ok(()) => {
            outbound::on_changes(&ctx.app, org, changed.iter().map(|(o, ch)| (&**o, ch)));
            Ok(Resp::json(201, json!({"hasErrors": false, "results": results})))
        }
        Err(e) => {
            restore(org, snapshot);
            Ok(Resp::json(400, json!({"hasErrors": true, "results": [e]})))
        }
    }
}
