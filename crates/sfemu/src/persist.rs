//! Optional persistence: when `persistence_path` is set, every org's records are
//! loaded from that JSON snapshot at start and written back at shutdown (and on
//! `POST /_emulator/save`). A plain JSON file rather than SQLite keeps the
//! dependency tree small; the format is {"orgs": {orgId: {Object: [record, ...]}}}.

use crate::state::{App, Record};
use serde_json::{json, Map, Value};
use std::path::Path;

pub fn save(app: &App, path: &Path) -> anyhow::Result<()> {
    let mut orgs = Map::new();
    for o in &app.orgs {
        let data = o.data.read();
        let objs: Map<String, Value> = data.iter()
            .map(|(k, t)| (k.clone(), Value::Array(t.records.values().map(|r| Value::Object(r.clone())).collect()))).collect();
        orgs.insert(o.id.clone(), Value::Object(objs));
    }
    let tmp = path.with_extension("tmp");
    if let Some(dir) = path.parent() { std::fs::create_dir_all(dir).ok(); }
    std::fs::write(&tmp, serde_json::to_vec(&json!({"orgs": orgs}))?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

pub fn load(app: &App, path: &Path) -> anyhow::Result<usize> {
    if !path.exists() { return Ok(0); }
    let v: Value = serde_json::from_slice(&std::fs::read(path)?)?;
    let mut n = 0;
    for (org_id, objs) in v["orgs"].as_object().into_iter().flatten() {
        let Some(org) = app.org(org_id).cloned() else { continue };
        let mut data = org.data.write();
        for (obj_name, recs) in objs.as_object().into_iter().flatten() {
            let Some(obj) = org.object(obj_name).cloned() else { continue };
            let table = data.entry(obj.name.clone()).or_default();
            for r in recs.as_array().into_iter().flatten() {
                let Some(rec) = r.as_object().cloned() else { continue };
                let Some(id) = rec.get("Id").and_then(|v| v.as_str()).map(String::from) else { continue };
                crate::ids::bump_past(&id);
                crate::records::load_locked(&org, &obj, table, &id, rec as Record);
                n += 1;
            }
        }
    }
    Ok(n)
}
