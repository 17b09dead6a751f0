//! Emulator-only admin API under /_emulator (no auth: local test tool).
//!   GET  /_emulator/orgs                                 orgs, users, instance URLs
//!   GET  /_emulator/orgs/{org}/usage                     {"used","max","remaining"}
//!   POST /_emulator/orgs/{org}/usage/reset               used = 0 (DELETE .../usage does the same)
//!   PUT  /_emulator/orgs/{org}/usage                     {"used"?, "max"?}
//!   GET|PUT|DELETE /_emulator/orgs/{org}/faults          Faults JSON (latency_ms, error_rate, force_limit_exceeded, drop_rate,
//!                                                        validation_rules: [{object, field, equals, message}])
//!   POST /_emulator/orgs/{org}/faults/expire-tokens      expire every access token of the org
//!   POST /_emulator/orgs/{org}/faults/revoke-refresh-tokens
//!   GET  /_emulator/orgs/{org}/outbound                  rules + messages (pending / delivered / failed)
//!   POST /_emulator/orgs/{org}/outbound/rules            add an OutboundRule
//!   DELETE /_emulator/orgs/{org}/outbound/rules/{id}
//!   POST /_emulator/orgs/{org}/outbound/messages/{id}/replay
//!                                                        re-send, now, the envelope that delivered notification
//!                                                        {id}, with the same notification ids (a duplicate delivery)
//!   GET  /_emulator/orgs/{org}/records/{object}          all records as JSON (not counted as API calls)
//!   POST /_emulator/orgs/{org}/records/{object}          create a record (validated, not counted)
//!   POST /_emulator/orgs/{org}/reset                     delete all records
//!   DELETE /_emulator/orgs/{org}/schema/{object}/fields/{field}
//!                                                        delete a custom field (Setup): describe no longer lists it,
//!                                                        a write naming it gets INVALID_FIELD "No such column"
//!   POST /_emulator/orgs/{org}/schema/{object}/fields/{field}/read-only
//!                                                        field-level security read-only: not createable, not updateable
//!   PUT  /_emulator/orgs/{org}/schema/{object}/fields/{field}/type       {"type": "boolean"} change the field's type
//!   DELETE /_emulator/orgs/{org}/schema/{object}/fields/{field}/picklist-values/{value}
//!   POST /_emulator/orgs/{org}/schema/{object}/restore   the object as the org started (deleted fields come back with their data)
//!   POST /_emulator/save                                 checkpoint the SQLite persistence file
//!   PUT  /_emulator/token-lifetime                       {"seconds": N}
//!   GET  /_emulator/orgs/{org}/browser                   record browser (HTML)

use crate::faults::Faults;
use crate::outbound::{self, OutboundRule};
use crate::server::S;
use crate::state::{App, Org};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn routes() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/orgs", get(orgs))
        .route("/orgs/{org}/usage", get(usage).put(set_usage).delete(reset_usage))
        .route("/orgs/{org}/usage/reset", post(reset_usage))
        .route("/orgs/{org}/faults", get(get_faults).put(set_faults).post(set_faults).delete(clear_faults))
        .route("/orgs/{org}/faults/expire-tokens", post(expire_tokens))
        .route("/orgs/{org}/faults/revoke-refresh-tokens", post(revoke_refresh))
        .route("/orgs/{org}/outbound", get(outbound_list))
        .route("/orgs/{org}/outbound/rules", post(add_rule).get(outbound_list))
        .route("/orgs/{org}/outbound/rules/{id}", axum::routing::delete(delete_rule))
        .route("/orgs/{org}/outbound/messages/{id}/replay", post(replay_message))
        .route("/orgs/{org}/records/{object}", get(list_records).post(seed_record))
        .route("/orgs/{org}/reset", post(reset_org))
        .route("/token-lifetime", put(token_lifetime))
        .route("/save", post(save))
        .merge(crate::schema_admin::routes())
        .merge(crate::browser::routes())
}

pub fn find_org(app: &App, id: &str) -> Result<Arc<Org>, Response> {
    app.org(id).cloned().or_else(|| crate::ids::parse(id).and_then(|i| app.org(&i).cloned()))
        .ok_or_else(|| (StatusCode::NOT_FOUND, Json(json!({"error": "no such org", "org": id}))).into_response())
}

pub fn org_json(s: &S, o: &Org) -> Value {
    json!({
        "id": o.id, "name": o.name, "is_sandbox": o.is_sandbox, "environment": o.environment(),
        "login_url": App::login_url(&s.base, o.is_sandbox), "instance_url": App::instance_url(&s.base, o),
        "users": o.users.iter().map(|u| json!({"id": u.id, "username": u.username, "name": u.name(), "email": u.email})).collect::<Vec<_>>(),
        "api_usage": o.usage.load(Ordering::Relaxed), "api_max": o.max.load(Ordering::Relaxed),
    })
}

async fn index(State(s): State<S>) -> Json<Value> {
    Json(json!({"emulator": "sfemu", "orgs": s.app.orgs.iter().map(|o| org_json(&s, o)).collect::<Vec<_>>()}))
}
async fn orgs(State(s): State<S>) -> Json<Value> {
    Json(Value::Array(s.app.orgs.iter().map(|o| org_json(&s, o)).collect()))
}

fn usage_json(o: &Org) -> Value {
    let used = o.usage.load(Ordering::Relaxed);
    let max = o.max.load(Ordering::Relaxed);
    let bulk = &o.bulk_jobs;
    json!({"org_id": o.id, "used": used, "max": max, "remaining": max.saturating_sub(used), "refused": o.refused.load(Ordering::Relaxed),
        "bulk_jobs_created": bulk.created.load(Ordering::Relaxed), "bulk_records_processed": bulk.records_processed.load(Ordering::Relaxed),
        "bulk_records_failed": bulk.records_failed.load(Ordering::Relaxed)})
}
async fn usage(State(s): State<S>, Path(org): Path<String>) -> Response {
    match find_org(&s.app, &org) { Ok(o) => Json(usage_json(&o)).into_response(), Err(r) => r }
}
async fn reset_usage(State(s): State<S>, Path(org): Path<String>) -> Response {
    match find_org(&s.app, &org) { Ok(o) => { o.usage.store(0, Ordering::Relaxed); Json(usage_json(&o)).into_response() } Err(r) => r }
}
async fn set_usage(State(s): State<S>, Path(org): Path<String>, Json(b): Json<Value>) -> Response {
    match find_org(&s.app, &org) {
        Ok(o) => {
            if let Some(u) = b.get("used").and_then(|v| v.as_u64()) { o.usage.store(u, Ordering::Relaxed); }
            if let Some(m) = b.get("max").and_then(|v| v.as_u64()) { o.max.store(m, Ordering::Relaxed); }
            Json(usage_json(&o)).into_response()
        }
        Err(r) => r,
    }
}
async fn get_faults(State(s): State<S>, Path(org): Path<String>) -> Response {
    match find_org(&s.app, &org) { Ok(o) => Json(o.faults.read().clone()).into_response(), Err(r) => r }
}
async fn set_faults(State(s): State<S>, Path(org): Path<String>, Json(f): Json<Faults>) -> Response {
    match find_org(&s.app, &org) { Ok(o) => { *o.faults.write() = f.clone(); Json(f).into_response() } Err(r) => r }
}
async fn clear_faults(State(s): State<S>, Path(org): Path<String>) -> Response {
    match find_org(&s.app, &org) { Ok(o) => { *o.faults.write() = Faults::default(); Json(Faults::default()).into_response() } Err(r) => r }
}
async fn expire_tokens(State(s): State<S>, Path(org): Path<String>) -> Response {
    match find_org(&s.app, &org) {
        Ok(o) => {
            let past = Instant::now() - Duration::from_millis(1);
            let mut n = 0;
            for t in s.app.tokens.write().values_mut().filter(|t| t.org_id == o.id) { t.expires = past; n += 1; }
            s.app.tokens_changed();
            Json(json!({"expired": n})).into_response()
        }
        Err(r) => r,
    }
}
async fn revoke_refresh(State(s): State<S>, Path(org): Path<String>) -> Response {
    match find_org(&s.app, &org) {
        Ok(o) => {
            let mut rt = s.app.refresh_tokens.write();
            let before = rt.len();
            rt.retain(|_, t| t.org_id != o.id);
            s.app.tokens_changed();
            Json(json!({"revoked": before - rt.len()})).into_response()
        }
        Err(r) => r,
    }
}
async fn outbound_list(State(s): State<S>, Path(org): Path<String>) -> Response {
    match find_org(&s.app, &org) { Ok(o) => Json(outbound::list(&o)).into_response(), Err(r) => r }
}
async fn add_rule(State(s): State<S>, Path(org): Path<String>, Json(rule): Json<OutboundRule>) -> Response {
    match find_org(&s.app, &org) {
        Ok(o) => { let r = o.outbound.lock().add_rule(rule); (StatusCode::CREATED, Json(r)).into_response() }
        Err(r) => r,
    }
}
async fn replay_message(State(s): State<S>, Path((org, id)): Path<(String, String)>) -> Response {
    let o = match find_org(&s.app, &org) { Ok(o) => o, Err(r) => return r };
    match outbound::replay(&s.app, &o, &id).await {
        Ok(r) => Json(r).into_response(),
        Err(e @ outbound::ReplayError::NotFound(_)) => (StatusCode::NOT_FOUND, Json(json!({"error": e.to_string()}))).into_response(),
        Err(e @ outbound::ReplayError::NotDelivered(_)) => (StatusCode::CONFLICT, Json(json!({"error": e.to_string()}))).into_response(),
    }
}
async fn reset_org(State(s): State<S>, Path(org): Path<String>) -> Response {
    match find_org(&s.app, &org) { Ok(o) => { let mut d = o.data.write(); d.clear(); o.journal.wipe(); drop(d); o.ids.write().clear(); Json(json!({"reset": true})).into_response() } Err(r) => r }
}
async fn token_lifetime(State(s): State<S>, Json(b): Json<Value>) -> Response {
    let secs = b.get("seconds").and_then(|v| v.as_f64()).unwrap_or(7200.0);
    *s.app.token_lifetime.write() = Duration::from_secs_f64(secs);
    Json(json!({"seconds": secs})).into_response()
}

async fn save(State(s): State<S>) -> Response {
    // Every change is already written as it happens; this flushes and checkpoints the WAL.
    match s.app.store.get() {
        Some(store) => match store.checkpoint(&s.app).await {
            Ok(()) => Json(json!({"saved": store.path().display().to_string()})).into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": e.to_string()}))).into_response(),
        },
        None => (StatusCode::BAD_REQUEST, Json(json!({"error": "persistence_path is not configured"}))).into_response(),
    }
}

async fn delete_rule(State(s): State<S>, Path((org, id)): Path<(String, String)>) -> Response {
    match find_org(&s.app, &org) {
        Ok(o) => {
            let mut st = o.outbound.lock();
            let before = st.rules.len();
            st.rules.retain(|r| r.id.as_deref() != Some(id.as_str()));
            let removed = before - st.rules.len();
            (if removed > 0 { StatusCode::OK } else { StatusCode::NOT_FOUND }, Json(json!({"removed": removed}))).into_response()
        }
        Err(r) => r,
    }
}

async fn list_records(State(s): State<S>, Path((org, object)): Path<(String, String)>) -> Response {
    let o = match find_org(&s.app, &org) { Ok(o) => o, Err(r) => return r };
    let Some(obj) = o.object(&object).cloned() else { return (StatusCode::NOT_FOUND, Json(json!({"error": "no such object"}))).into_response() };
    let recs: Vec<Value> = crate::soql::rows(&o, &obj).iter().map(|r| crate::records::render(&obj, r, "62.0", None)).collect();
    Json(json!({"totalSize": recs.len(), "records": recs})).into_response()
}

async fn seed_record(State(s): State<S>, Path((org, object)): Path<(String, String)>, Json(body): Json<serde_json::Map<String, Value>>) -> Response {
    let o = match find_org(&s.app, &org) { Ok(o) => o, Err(r) => return r };
    let Some(obj) = o.object(&object).cloned() else { return (StatusCode::NOT_FOUND, Json(json!({"error": "no such object"}))).into_response() };
    let user = o.users.first().map(|u| u.id.clone()).unwrap_or_default();
    match crate::records::create(&o, &obj, &user, &body) {
        Ok(ch) => {
            crate::outbound::on_change(&s.app, &o, &obj, &ch);
            (StatusCode::CREATED, Json(json!({"id": ch.id, "success": true, "errors": []}))).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, Json(e.rest_body())).into_response(),
    }
}
