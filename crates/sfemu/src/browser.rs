//! Record browser per org (plain HTML, no JavaScript):
//!   /_emulator/orgs/{org}/browser                  objects with record counts, outbound queue
//!   /_emulator/orgs/{org}/browser/{object}         records (newest first) and a "new record" form
//!   /_emulator/orgs/{org}/browser/{object}/{id}    edit form
use crate::admin::find_org;
use crate::records;
use crate::schema::{FieldDef, ObjectDef};
use crate::server::S;
use crate::state::{Org, Record};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde_json::{Map, Value};
use std::collections::HashMap;

pub fn routes() -> Router<S> {
    Router::new()
        .route("/orgs/{org}/browser", get(index))
        .route("/orgs/{org}/browser/{object}", get(list).post(create))
        .route("/orgs/{org}/browser/{object}/{id}", get(edit).post(update))
}

fn esc(s: &str) -> String { s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;") }

fn shell(org: &Org, title: &str, body: &str) -> Response {
    Html(format!(r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{t} — {o} — sfemu</title>
<style>body{{font-family:system-ui,sans-serif;margin:24px;color:#181818}}table{{border-collapse:collapse;margin:12px 0}}td,th{{border:1px solid #ddd;padding:4px 8px;text-align:left;font-size:13px}}
th{{background:#f3f3f3}}a{{color:#0176d3}}.err{{color:#c23934}}label{{display:inline-block;min-width:220px}}input,select,textarea{{margin:2px 0;min-width:260px}}</style></head>
<body><p><a href="/_emulator/orgs/{id}/browser">{o}</a> ({env}, {id})</p><h1>{t}</h1>{body}</body></html>"#,
        t = esc(title), o = esc(&org.name), id = org.id, env = org.environment(), body = body)).into_response()
}

fn display(v: Option<&Value>) -> String {
    match v { None | Some(Value::Null) => String::new(), Some(Value::String(s)) => s.clone(), Some(o) => o.to_string() }
}

async fn index(State(s): State<S>, Path(org): Path<String>) -> Response {
    let o = match find_org(&s.app, &org) { Ok(o) => o, Err(r) => return r };
    let mut rows = String::new();
    {
        let data = o.data.read();
        for obj in o.objects.iter().filter(|x| x.createable) {
            let n = data.get(&obj.name).map(|t| t.records.len()).unwrap_or(0);
            rows.push_str(&format!("<tr><td><a href=\"/_emulator/orgs/{}/browser/{}\">{}</a></td><td>{}</td><td>{n}</td></tr>", o.id, esc(&obj.name), esc(&obj.label_plural), esc(&obj.key_prefix)));
        }
    }
    let ob = crate::outbound::list(&o);
    let mut msgs = String::new();
    for m in ob["messages"].as_array().unwrap().iter().rev().take(100) {
        msgs.push_str(&format!("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(m["id"].as_str().unwrap_or("")), esc(m["object"].as_str().unwrap_or("")), esc(m["record_id"].as_str().unwrap_or("")),
            esc(m["endpoint_url"].as_str().unwrap_or("")), esc(m["status"].as_str().unwrap_or("")), m["attempts"], esc(m["last_error"].as_str().unwrap_or(""))));
    }
    let body = format!(r#"<table><tr><th>Object</th><th>Key prefix</th><th>Records</th></tr>{rows}</table>
<h2>Outbound messages</h2><p>{} pending, {} delivered, {} failed; {} rule(s).</p>
<table><tr><th>Id</th><th>Object</th><th>Record</th><th>Endpoint</th><th>Status</th><th>Attempts</th><th>Last error</th></tr>{msgs}</table>
<p>API usage: {} / {}</p>"#, ob["pending"], ob["delivered"], ob["failed"], ob["rules"].as_array().map(|r| r.len()).unwrap_or(0),
        o.usage.load(std::sync::atomic::Ordering::Relaxed), o.max.load(std::sync::atomic::Ordering::Relaxed));
    shell(&o, "Objects", &body)
}

fn input(f: &FieldDef, v: &str) -> String {
    let name = esc(&f.name);
    match f.ftype.as_str() {
        "picklist" => {
            let mut opts = String::from("<option value=\"\"></option>");
            for p in f.picklist_values.iter().filter(|p| p.active) {
                opts.push_str(&format!("<option value=\"{0}\"{1}>{2}</option>", esc(&p.value), if p.value == v { " selected" } else { "" }, esc(&p.label)));
            }
            format!("<select name=\"{name}\">{opts}</select>")
        }
        "boolean" => format!("<select name=\"{name}\"><option value=\"false\"{}>false</option><option value=\"true\"{}>true</option></select>", if v != "true" { " selected" } else { "" }, if v == "true" { " selected" } else { "" }),
        "textarea" => format!("<textarea name=\"{name}\">{}</textarea>", esc(v)),
        _ => format!("<input name=\"{name}\" value=\"{}\">", esc(v)),
    }
}

fn form(o: &Org, obj: &ObjectDef, rec: Option<&Record>, action: &str, error: Option<&str>) -> String {
    let creating = rec.is_none();
    let mut s = error.map(|e| format!("<p class=\"err\">{}</p>", esc(e))).unwrap_or_default();
    s.push_str(&format!("<form method=\"post\" action=\"{action}\">"));
    for f in obj.fields.iter().filter(|f| if creating { f.createable } else { f.updateable }).filter(|f| !matches!(f.ftype.as_str(), "address" | "location")) {
        let req = if creating && f.is_required_on_create() { " *" } else { "" };
        s.push_str(&format!("<div><label>{} <small>({})</small>{req}</label>{}</div>", esc(&f.label), esc(&f.name), input(f, &display(rec.and_then(|r| r.get(&f.name))))));
    }
    s.push_str(&format!("<button type=\"submit\">{}</button></form>", if creating { "Create" } else { "Save" }));
    let _ = o;
    s
}

async fn list(State(s): State<S>, Path((org, object)): Path<(String, String)>) -> Response {
    list_page(&s, &org, &object, None).await
}

async fn list_page(s: &S, org: &str, object: &str, error: Option<&str>) -> Response {
    let o = match find_org(&s.app, org) { Ok(o) => o, Err(r) => return r };
    let Some(obj) = o.object(object).cloned() else { return (StatusCode::NOT_FOUND, "no such object").into_response() };
    let name_f = obj.name_field().map(|f| f.name.clone()).unwrap_or_else(|| "Id".into());
    let mut rows = String::new();
    let total;
    {
        let data = o.data.read();
        let recs = data.get(&obj.name);
        total = recs.map(|t| t.records.len()).unwrap_or(0);
        for r in recs.into_iter().flat_map(|t| t.records.values().rev().take(200)) {
            let id = display(r.get("Id"));
            rows.push_str(&format!("<tr><td><a href=\"/_emulator/orgs/{}/browser/{}/{id}\">{id}</a></td><td>{}</td><td>{}</td></tr>", o.id, esc(&obj.name), esc(&display(r.get(&name_f))), esc(&display(r.get("LastModifiedDate")))));
        }
    }
    let body = format!("<p>{total} record(s); newest 200 shown.</p><table><tr><th>Id</th><th>{}</th><th>Last modified</th></tr>{rows}</table><h2>New {}</h2>{}",
        esc(&name_f), esc(&obj.label), form(&o, &obj, None, &format!("/_emulator/orgs/{}/browser/{}", o.id, obj.name), error));
    shell(&o, &obj.label_plural, &body)
}

fn to_body(obj: &ObjectDef, f: HashMap<String, String>, creating: bool) -> Map<String, Value> {
    f.into_iter().filter_map(|(k, v)| {
        let fd = obj.field(&k)?;
        if v.is_empty() { return if creating { None } else { Some((fd.name.clone(), Value::Null)) }; }
        Some((fd.name.clone(), Value::String(v)))
    }).collect()
}

async fn create(State(s): State<S>, Path((org, object)): Path<(String, String)>, Form(f): Form<HashMap<String, String>>) -> Response {
    let o = match find_org(&s.app, &org) { Ok(o) => o, Err(r) => return r };
    let Some(obj) = o.object(&object).cloned() else { return (StatusCode::NOT_FOUND, "no such object").into_response() };
    let user = o.users.first().map(|u| u.id.clone()).unwrap_or_default();
    match records::create(&o, &obj, &user, &to_body(&obj, f, true)) {
        Ok(ch) => {
            crate::outbound::on_change(&s.app, &o, &obj, &ch);
            (StatusCode::SEE_OTHER, [(header::LOCATION, format!("/_emulator/orgs/{}/browser/{}/{}", o.id, obj.name, ch.id))]).into_response()
        }
        Err(e) => list_page(&s, &org, &object, Some(&format!("{}: {}", e.code, e.message))).await,
    }
}

async fn edit(State(s): State<S>, Path((org, object, id)): Path<(String, String, String)>) -> Response {
    edit_page(&s, &org, &object, &id, None)
}

fn edit_page(s: &S, org: &str, object: &str, id: &str, error: Option<&str>) -> Response {
    let o = match find_org(&s.app, org) { Ok(o) => o, Err(r) => return r };
    let Some(obj) = o.object(object).cloned() else { return (StatusCode::NOT_FOUND, "no such object").into_response() };
    let Some(rec) = crate::ids::parse(id).and_then(|i| records::get(&o, &obj, &i)) else { return (StatusCode::NOT_FOUND, "no such record").into_response() };
    let mut ro = String::from("<table>");
    for f in obj.fields.iter().filter(|f| !f.updateable) { ro.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>", esc(&f.name), esc(&display(rec.get(&f.name))))); }
    ro.push_str("</table>");
    let body = format!("{ro}{}", form(&o, &obj, Some(&rec), &format!("/_emulator/orgs/{}/browser/{}/{id}", o.id, obj.name), error));
    shell(&o, &format!("{} {}", obj.label, display(rec.get(obj.name_field().map(|f| f.name.as_str()).unwrap_or("Id")))), &body)
}

async fn update(State(s): State<S>, Path((org, object, id)): Path<(String, String, String)>, Form(f): Form<HashMap<String, String>>) -> Response {
    let o = match find_org(&s.app, &org) { Ok(o) => o, Err(r) => return r };
    let Some(obj) = o.object(&object).cloned() else { return (StatusCode::NOT_FOUND, "no such object").into_response() };
    let Some(rid) = crate::ids::parse(&id) else { return (StatusCode::NOT_FOUND, "no such record").into_response() };
    let user = o.users.first().map(|u| u.id.clone()).unwrap_or_default();
    // The form posts every field; only those the user changed are written, so that a new
    // stage on an Opportunity sets its Probability as an API write that names only the stage.
    let current = records::get(&o, &obj, &rid).unwrap_or_default();
    let changed: HashMap<String, String> = f.into_iter()
        .filter(|(k, v)| obj.field(k).is_none_or(|fd| display(current.get(&fd.name)) != *v)).collect();
    match records::update(&o, &obj, &user, &rid, &to_body(&obj, changed, false)) {
        Ok(ch) => {
            crate::outbound::on_change(&s.app, &o, &obj, &ch);
            (StatusCode::SEE_OTHER, [(header::LOCATION, format!("/_emulator/orgs/{}/browser/{}/{rid}", o.id, obj.name))]).into_response()
        }
        Err(e) => edit_page(&s, &org, &object, &id, Some(&format!("{}: {}", e.code, e.message))),
    }
}
