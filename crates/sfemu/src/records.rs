//! Record operations shared by REST, sObject Collections, composite and the
//! browser: field validation with Salesforce's error codes, create, update,
//! upsert, delete.

use crate::ids;
use crate::schema::{FieldDef, ObjectDef};
use crate::state::{sf_datetime_now, Org, Record, Table};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// A Salesforce API error: REST renders it as `[{"message","errorCode","fields"}]`,
/// sObject Collections as `{"statusCode","message","fields"}`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub fields: Option<Vec<String>>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), fields: None }
    }
    pub fn with_fields(mut self, f: Vec<String>) -> Self { self.fields = Some(f); self }
    pub fn rest_body(&self) -> Value {
        let mut m = Map::new();
        m.insert("message".into(), json!(self.message));
        m.insert("errorCode".into(), json!(self.code));
        if let Some(f) = &self.fields { m.insert("fields".into(), json!(f)); }
        Value::Array(vec![Value::Object(m)])
    }
    pub fn collection_error(&self) -> Value {
        json!({"statusCode": self.code, "message": self.message, "fields": self.fields.clone().unwrap_or_default()})
    }
    pub fn not_found() -> Self { ApiError::new(404, "NOT_FOUND", "The requested resource does not exist") }
}

fn field_err(code: &'static str, msg: String, f: &str) -> ApiError {
    ApiError::new(400, code, msg).with_fields(vec![f.to_string()])
}

fn sval(v: &Value) -> String {
    match v { Value::String(s) => s.clone(), other => other.to_string() }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 10 && b[4] == b'-' && b[7] == b'-' && s.bytes().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).is_ok()
}

pub(crate) fn parse_datetime(s: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    // Accept RFC 3339 and Salesforce's +0000 offset form; normalize to Salesforce's output.
    let fixed = if s.len() > 5 && (s.as_bytes()[s.len() - 5] == b'+' || s.as_bytes()[s.len() - 5] == b'-') && !s[s.len() - 5..].contains(':') {
        format!("{}:{}", &s[..s.len() - 2], &s[s.len() - 2..])
    } else { s.to_string() };
    let t = time::OffsetDateTime::parse(&fixed, &Rfc3339).ok()?.to_offset(time::UtcOffset::UTC);
    Some(format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000", t.year(), t.month() as u8, t.day(), t.hour(), t.minute(), t.second(), t.millisecond()))
}

fn json_parser_error(f: &FieldDef, v: &Value) -> ApiError {
    let kind = match v { Value::String(_) => "VALUE_STRING", Value::Bool(true) => "VALUE_TRUE", Value::Bool(false) => "VALUE_FALSE", Value::Number(_) => "VALUE_NUMBER_INT", Value::Array(_) => "START_ARRAY", Value::Object(_) => "START_OBJECT", Value::Null => "VALUE_NULL" };
    let jt = match f.ftype.as_str() { "double" | "currency" | "percent" => "double", "int" => "int", "boolean" => "boolean", "date" => "date", "datetime" => "datetime", _ => "string" };
    ApiError::new(400, "JSON_PARSER_ERROR", format!("Cannot deserialize instance of {jt} from {kind} value {} or request may be missing a required field at [line:1, column:1]", sval(v)))
}

/// Convert an incoming JSON value to the stored value for a field, or a Salesforce error.
pub fn coerce(org: &Org, f: &FieldDef, v: &Value) -> Result<Value, ApiError> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    if matches!(v, Value::Array(_) | Value::Object(_)) {
        return Err(json_parser_error(f, v));
    }
    match f.ftype.as_str() {
        "boolean" => match v {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(json_parser_error(f, v)),
        },
        "double" | "currency" | "percent" | "int" => {
            let n = match v {
                Value::Number(n) => n.as_f64().unwrap_or(0.0),
                Value::String(s) => s.trim().parse::<f64>().map_err(|_| json_parser_error(f, v))?,
                _ => return Err(field_err("INVALID_TYPE_ON_FIELD_IN_RECORD", format!("{}: value not of required type: {}", f.label, sval(v)), &f.name)),
            };
            if f.ftype == "int" {
                if n.fract() != 0.0 { return Err(json_parser_error(f, v)); }
                return Ok(json!(n as i64));
            }
            if f.precision > 0 {
                let int_digits = (n.abs().trunc() as u128).to_string().len() as u32;
                if n.abs() >= 1.0 && int_digits > f.precision.saturating_sub(f.scale) {
                    return Err(field_err("NUMBER_OUTSIDE_VALID_RANGE", format!("{}: value outside of valid range on numeric field: {}", f.label, sval(v)), &f.name));
                }
            }
            Ok(json!(n))
        }
        "date" => match v {
            Value::String(s) if is_date(s) => Ok(json!(s)),
            Value::String(s) if s.len() > 10 && is_date(&s[..10]) => Ok(json!(&s[..10])),
            Value::String(_) => Err(json_parser_error(f, v)),
            _ => Err(field_err("INVALID_TYPE_ON_FIELD_IN_RECORD", format!("{}: value not of required type: {}", f.label, sval(v)), &f.name)),
        },
        "datetime" => match v {
            Value::String(s) => parse_datetime(s).or_else(|| if is_date(s) { Some(format!("{s}T00:00:00.000+0000")) } else { None })
                .map(Value::String).ok_or_else(|| json_parser_error(f, v)),
            _ => Err(field_err("INVALID_TYPE_ON_FIELD_IN_RECORD", format!("{}: value not of required type: {}", f.label, sval(v)), &f.name)),
        },
        "reference" | "id" => {
            let s = sval(v);
            if s.is_empty() { return Ok(Value::Null); }
            let id = ids::parse(&s).ok_or_else(|| field_err("MALFORMED_ID", format!("{}: id value of incorrect type: {s}", f.label), &f.name))?;
            let target_ok = f.reference_to.is_empty() || f.reference_to.iter().any(|t| {
                org.object(t).map(|o| o.key_prefix == id[..3]).unwrap_or(false)
            });
            if !target_ok {
                return Err(field_err("FIELD_INTEGRITY_EXCEPTION", format!("{}: id value of incorrect type: {s}", f.label), &f.name));
            }
            let exists = match &id[..3] {
                "005" => org.user(&id).is_some(),
                "00D" => id == org.id,
                _ => org.ids.read().contains(&id),
            };
            if !exists {
                return Err(field_err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id".into(), &f.name));
            }
            Ok(json!(id))
        }
        "address" | "location" => Err(field_err("INVALID_FIELD_FOR_INSERT_UPDATE", format!("Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", f.name), &f.name)),
        _ => {
            let s = sval(v);
            if f.length > 0 && s.chars().count() as u32 > f.length {
                let shown: String = s.chars().take(40).collect();
                return Err(field_err("STRING_TOO_LONG", format!("{}: data value too large: {shown} (max length={})", f.label, f.length), &f.name));
            }
            if f.ftype == "picklist" && f.restricted_picklist && !f.picklist_values.iter().any(|p| p.active && p.value == s) {
                return Err(field_err("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", format!("{}: bad value for restricted picklist field: {s}", f.label), &f.name));
            }
            if f.ftype == "email" && !s.is_empty() && !(s.contains('@') && s.rsplit('@').next().map(|d| d.contains('.')).unwrap_or(false)) {
                return Err(field_err("INVALID_EMAIL_ADDRESS", format!("{}: invalid email address: {s}", f.label), &f.name));
            }
            Ok(Value::String(s))
        }
    }
}

fn index_key(f: &FieldDef, v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        _ => {
            let s = sval(v);
            Some(if f.case_sensitive { s } else { s.to_lowercase() })
        }
    }
}

fn indexed_fields(obj: &ObjectDef) -> impl Iterator<Item = &FieldDef> {
    obj.fields.iter().filter(|f| (f.external_id || f.unique) && f.ftype != "id")
}

/// Validate a JSON body against the object; returns canonical field name -> stored value.
pub fn validate(org: &Org, obj: &ObjectDef, body: &Map<String, Value>, creating: bool) -> Result<Vec<(String, Value)>, ApiError> {
    let mut out = Vec::with_capacity(body.len());
    for (k, v) in body {
        if k == "attributes" { continue; }
        let f = obj.field(k).ok_or_else(|| ApiError::new(400, "INVALID_FIELD", format!("No such column '{k}' on sobject of type {}", obj.name)))?;
        if f.ftype == "id" && !creating { continue; }
        let allowed = if creating { f.createable } else { f.updateable };
        if !allowed {
            return Err(field_err("INVALID_FIELD_FOR_INSERT_UPDATE", format!("Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", f.name), &f.name));
        }
        let val = coerce(org, f, v)?;
        if val.is_null() && !f.nillable && f.ftype != "boolean" && !creating {
            return Err(field_err("REQUIRED_FIELD_MISSING", format!("Required fields are missing: [{}]", f.name), &f.name));
        }
        out.push((f.name.clone(), val));
    }
    for rule in org.faults.read().validation_rules.iter().filter(|r| r.object.eq_ignore_ascii_case(&obj.name)) {
        let hit = out.iter().find(|(n, v)| n.eq_ignore_ascii_case(&rule.field) && v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(&rule.equals)));
        if let Some((name, _)) = hit {
            return Err(field_err("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.message.clone(), name));
        }
    }
    if creating {
        let missing: Vec<String> = obj.fields.iter().filter(|f| f.is_required_on_create())
            .filter(|f| !out.iter().any(|(n, v)| n == &f.name && !v.is_null() && v.as_str() != Some("")))
            .map(|f| f.name.clone()).collect();
        if !missing.is_empty() {
            return Err(ApiError::new(400, "REQUIRED_FIELD_MISSING", format!("Required fields are missing: [{}]", missing.join(", "))).with_fields(missing));
        }
    }
    Ok(out)
}

fn check_unique(obj: &ObjectDef, table: &Table, values: &[(String, Value)], self_id: Option<&str>) -> Result<(), ApiError> {
    for f in indexed_fields(obj).filter(|f| f.unique) {
        if let Some((_, v)) = values.iter().find(|(n, _)| n == &f.name) {
            if let Some(key) = index_key(f, v) {
                if let Some(ids) = table.index.get(&f.name.to_ascii_lowercase()).and_then(|m| m.get(&key)) {
                    if let Some(other) = ids.iter().find(|i| Some(i.as_str()) != self_id) {
                        return Err(field_err("DUPLICATE_VALUE", format!("duplicate value found: {} duplicates value on record with id: {other}", f.name), &f.name));
                    }
                }
            }
        }
    }
    Ok(())
}

fn reindex(obj: &ObjectDef, table: &mut Table, id: &str, old: Option<&Record>, new: Option<&Record>) {
    for f in indexed_fields(obj) {
        let lf = f.name.to_ascii_lowercase();
        let okey = old.and_then(|r| r.get(&f.name)).and_then(|v| index_key(f, v));
        let nkey = new.and_then(|r| r.get(&f.name)).and_then(|v| index_key(f, v));
        if okey == nkey { continue; }
        let m = table.index.entry(lf).or_default();
        if let Some(k) = okey {
            if let Some(v) = m.get_mut(&k) { v.retain(|x| x != id); if v.is_empty() { m.remove(&k); } }
        }
        if let Some(k) = nkey { m.entry(k).or_default().push(id.to_string()); }
    }
}

fn default_record(org: &Org, obj: &ObjectDef, user_id: &str, id: &str) -> Record {
    let now = sf_datetime_now();
    let mut r = Map::with_capacity(obj.fields.len());
    for f in &obj.fields {
        let v = match f.name.as_str() {
            "Id" => json!(id),
            "OwnerId" | "CreatedById" | "LastModifiedById" => json!(user_id),
            "CreatedDate" | "LastModifiedDate" | "SystemModstamp" => json!(now),
            "IsDeleted" => json!(false),
            _ if f.ftype == "boolean" => f.default_value.clone().filter(|v| v.is_boolean()).unwrap_or(json!(false)),
            _ if f.ftype == "picklist" && f.defaulted_on_create => f.picklist_values.iter().find(|p| p.default_value).map(|p| json!(p.value)).unwrap_or(Value::Null),
            _ => f.default_value.clone().filter(|v| !v.is_boolean()).unwrap_or(Value::Null),
        };
        r.insert(f.name.clone(), v);
    }
    let _ = org;
    r
}

/// Compute derived fields: Name on Contact/Lead from First/Last name, an Opportunity's
/// stage-decided fields. `written` names the fields this write gave; `before` is the
/// record before an update.
fn derive(obj: &ObjectDef, r: &mut Record, written: &[&str], before: Option<&Record>) {
    if obj.name == "Opportunity" {
        crate::opportunity::derive(r, written, before);
    }
    if (obj.name == "Contact" || obj.name == "Lead") && obj.field("Name").is_some() {
        let first = r.get("FirstName").and_then(|v| v.as_str()).unwrap_or("");
        let last = r.get("LastName").and_then(|v| v.as_str()).unwrap_or("");
        let name = format!("{first} {last}").trim().to_string();
        r.insert("Name".into(), json!(name));
    }
}

pub struct Changed {
    pub id: String,
    pub created: bool,
    /// The stored record, for outbound messages; empty when no outbound rule watches the
    /// object (saves a copy of every record on the hot path).
    pub record: Record,
    /// The record before an update, for rules that fire only when a record comes to meet
    /// their criterion; `None` for a create or when no outbound rule watches the object.
    pub previous: Option<Record>,
}

fn copy_for_outbound(org: &Org, obj: &ObjectDef, r: &Record) -> Record {
    let watched = org.outbound.lock().rules.iter().any(|x| x.object.eq_ignore_ascii_case(&obj.name));
    if watched { r.clone() } else { Record::new() }
}

/// Insert one validated record into a locked table.
/// Salesforce numbers auto-number fields itself, in order, from 1001 for a
/// standard object's (a Case's `CaseNumber` reads `00001001`).
fn auto_number(obj: &ObjectDef, table: &mut Table, r: &mut Record) {
    let fields: Vec<&str> = obj.fields.iter().filter(|f| f.auto_number).map(|f| f.name.as_str()).collect();
    if fields.is_empty() {
        return;
    }
    if table.last_auto_number == 0 {
        let held = table.records.values().filter_map(|rec| rec.get(fields[0]).and_then(|v| v.as_str()).and_then(|v| v.parse::<u64>().ok())).max();
        table.last_auto_number = held.unwrap_or(1000);
    }
    table.last_auto_number += 1;
    for name in fields {
        r.insert(name.to_string(), json!(format!("{:08}", table.last_auto_number)));
    }
}

pub fn insert_locked(org: &Org, obj: &ObjectDef, table: &mut Table, user_id: &str, values: Vec<(String, Value)>) -> Result<Changed, ApiError> {
    check_unique(obj, table, &values, None)?;
    let id = ids::new_id(&obj.key_prefix);
    let mut r = default_record(org, obj, user_id, &id);
    let written: Vec<String> = values.iter().map(|(k, _)| k.clone()).collect();
    for (k, v) in values { r.insert(k, v); }
    auto_number(obj, table, &mut r);
    derive(obj, &mut r, &written.iter().map(String::as_str).collect::<Vec<_>>(), None);
    reindex(obj, table, &id, None, Some(&r));
    let record = copy_for_outbound(org, obj, &r);
    table.records.insert(id.clone(), r);
    org.ids.write().insert(id.clone());
    org.journal.mark(&obj.name, &id);
    Ok(Changed { id, created: true, record, previous: None })
}

pub fn update_locked(org: &Org, obj: &ObjectDef, table: &mut Table, user_id: &str, id: &str, values: Vec<(String, Value)>) -> Result<Changed, ApiError> {
    if !table.records.contains_key(id) {
        // A record in the recycle bin is "deleted", not unknown (Salesforce: 404 ENTITY_IS_DELETED).
        if table.recycle_bin.contains_key(id) { return Err(ApiError::new(404, "ENTITY_IS_DELETED", "entity is deleted").with_fields(vec![])); }
        return Err(ApiError::not_found());
    }
    check_unique(obj, table, &values, Some(id))?;
    let old = table.records.get(id).cloned();
    let r = table.records.get_mut(id).unwrap();
    let written: Vec<String> = values.iter().map(|(k, _)| k.clone()).collect();
    for (k, v) in values { r.insert(k, v); }
    let now = sf_datetime_now();
    r.insert("LastModifiedDate".into(), json!(now));
    r.insert("SystemModstamp".into(), json!(now));
    r.insert("LastModifiedById".into(), json!(user_id));
    derive(obj, r, &written.iter().map(String::as_str).collect::<Vec<_>>(), old.as_ref());
    let newr = r.clone();
    reindex(obj, table, id, old.as_ref(), Some(&newr));
    org.journal.mark(&obj.name, id);
    let record = copy_for_outbound(org, obj, &newr);
    let previous = if record.is_empty() { None } else { old };
    Ok(Changed { id: id.to_string(), created: false, record, previous })
}

pub fn create(org: &Org, obj: &ObjectDef, user_id: &str, body: &Map<String, Value>) -> Result<Changed, ApiError> {
    if !obj.createable { return Err(ApiError::new(400, "INVALID_TYPE", format!("entity type {} does not support create", obj.name))); }
    let values = validate(org, obj, body, true)?;
    let mut data = org.data.write();
    let table = data.entry(obj.name.clone()).or_default();
    insert_locked(org, obj, table, user_id, values)
}

/// Resolve an id from a URL for this object: MALFORMED_ID / NOT_FOUND as Salesforce.
pub fn check_id(obj: &ObjectDef, raw: &str) -> Result<String, ApiError> {
    let id = ids::parse(raw).ok_or_else(ApiError::not_found)?;
    if id[..3] != obj.key_prefix {
        return Err(ApiError::new(400, "MALFORMED_ID", format!("{} ID: id value of incorrect type: {raw}", obj.label)).with_fields(vec!["Id".into()]));
    }
    Ok(id)
}

pub fn update(org: &Org, obj: &ObjectDef, user_id: &str, id: &str, body: &Map<String, Value>) -> Result<Changed, ApiError> {
    if !obj.updateable { return Err(ApiError::new(400, "INVALID_TYPE", format!("entity type {} does not support update", obj.name))); }
    let values = validate(org, obj, body, false)?;
    let mut data = org.data.write();
    let table = data.entry(obj.name.clone()).or_default();
    update_locked(org, obj, table, user_id, id, values)
}

pub fn delete(org: &Org, obj: &ObjectDef, id: &str) -> Result<(), ApiError> {
    if !obj.deletable { return Err(ApiError::new(400, "INVALID_TYPE", format!("entity type {} does not support delete", obj.name))); }
    let mut data = org.data.write();
    let table = data.entry(obj.name.clone()).or_default();
    let mut old = table.records.remove(id).ok_or_else(|| ApiError::new(404, "ENTITY_IS_DELETED", "entity is deleted"))?;
    reindex(obj, table, id, Some(&old), None);
    old.insert("IsDeleted".into(), json!(true));
    table.recycle_bin.insert(id.to_string(), old);
    org.journal.mark(&obj.name, id);
    drop(data);
    org.ids.write().remove(id);
    org.deleted.lock().push((obj.name.clone(), id.to_string(), sf_datetime_now()));
    Ok(())
}

pub fn get(org: &Org, obj: &ObjectDef, id: &str) -> Option<Record> {
    org.data.read().get(&obj.name).and_then(|t| t.records.get(id).cloned())
}

/// Find records by an external id field value.
pub fn find_by_external(table: Option<&Table>, f: &FieldDef, value: &str) -> Vec<String> {
    let Some(table) = table else { return vec![] };
    let key = if f.case_sensitive { value.to_string() } else { value.to_lowercase() };
    if f.ftype == "id" {
        return ids::parse(value).filter(|i| table.records.contains_key(i)).into_iter().collect();
    }
    table.index.get(&f.name.to_ascii_lowercase()).and_then(|m| m.get(&key)).cloned().unwrap_or_default()
}

pub enum UpsertOutcome { Created(Changed), Updated(Changed), Multiple(Vec<String>) }

/// Upsert by external id (value from the URL or from the record itself).
pub fn upsert_locked(org: &Org, obj: &ObjectDef, table: &mut Table, user_id: &str, ext_field: &FieldDef, value: &str,
    body: &Map<String, Value>, update_only: bool) -> Result<UpsertOutcome, ApiError> {
    let matches = find_by_external(Some(table), ext_field, value);
    match matches.len() {
        0 => {
            if update_only { return Err(ApiError::not_found()); }
            let mut b = body.clone();
            if ext_field.ftype != "id" { b.insert(ext_field.name.clone(), json!(value)); }
            let values = validate(org, obj, &b, true)?;
            Ok(UpsertOutcome::Created(insert_locked(org, obj, table, user_id, values)?))
        }
        1 => {
            let values = validate(org, obj, body, false)?;
            Ok(UpsertOutcome::Updated(update_locked(org, obj, table, user_id, &matches[0], values)?))
        }
        _ => Ok(UpsertOutcome::Multiple(matches)),
    }
}

/// An external-id field usable for upsert (`externalId` or `idLookup`, or Id itself).
pub fn upsert_field<'a>(obj: &'a ObjectDef, name: &str) -> Result<&'a FieldDef, ApiError> {
    match obj.field(name) {
        Some(f) if f.external_id || f.ftype == "id" => Ok(f),
        Some(f) => Err(ApiError::new(400, "INVALID_FIELD", format!("Field {} is not an External ID or indexed field for {}", f.name, obj.name))),
        None => Err(ApiError::new(404, "NOT_FOUND", format!("Provided external ID field does not exist or is not accessible: {name}"))),
    }
}

/// The record as the REST API returns it (attributes first, every field).
pub fn render(obj: &ObjectDef, r: &Record, version: &str, only: Option<&[String]>) -> Value {
    let mut m = Map::with_capacity(r.len() + 1);
    let id = r.get("Id").and_then(|v| v.as_str()).unwrap_or("");
    m.insert("attributes".into(), json!({"type": obj.name, "url": format!("/services/data/v{version}/sobjects/{}/{id}", obj.name)}));
    match only {
        Some(fields) => for f in fields {
            if let Some(fd) = obj.field(f) { m.insert(fd.name.clone(), r.get(&fd.name).cloned().unwrap_or(Value::Null)); }
        },
        None => for f in &obj.fields { m.insert(f.name.clone(), r.get(&f.name).cloned().unwrap_or(Value::Null)); },
    }
    Value::Object(m)
}

pub type Snapshot = HashMap<String, Value>;

/// Normalize a SOQL datetime literal (2024-01-01T00:00:00Z) to the stored form.
pub fn coerce_datetime_literal(s: &str) -> String {
    parse_datetime(s).unwrap_or_else(|| s.to_string())
}

/// Put a stored record back (persistence), maintaining the indexes.
pub fn load_locked(org: &Org, obj: &ObjectDef, table: &mut Table, id: &str, r: Record) {
    reindex(obj, table, id, None, Some(&r));
    org.ids.write().insert(id.to_string());
    table.records.insert(id.to_string(), r);
}
