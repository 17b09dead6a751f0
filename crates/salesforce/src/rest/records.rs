//! Record writes: sObject CRUD, upsert by external id, and sObject Collections.

use super::{path_segment, Client};
use crate::error::{ApiError, SalesforceError};
use crate::ids::RecordId;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// sObject Collections take at most 200 records per call.
pub const COLLECTION_LIMIT: usize = 200;

impl Client {
    /// GET one record, with only `fields` when given.
    pub async fn get<T: DeserializeOwned>(&self, sobject: &str, id: &RecordId, fields: &[&str]) -> Result<T, SalesforceError> {
        let mut p = self.data_path(&format!("/sobjects/{}/{}", path_segment(sobject), id));
        if !fields.is_empty() {
            let f: String = url::form_urlencoded::byte_serialize(fields.join(",").as_bytes()).collect();
            p.push_str(&format!("?fields={f}"));
        }
        self.get_json(&p, "record").await
    }

    /// POST /sobjects/{T}: create one record, returning its id.
    pub async fn create(&self, sobject: &str, fields: &impl Serialize) -> Result<RecordId, SalesforceError> {
        let body = to_object(fields)?;
        let r = self.send(Method::POST, &self.data_path(&format!("/sobjects/{}", path_segment(sobject))), Some(&body)).await?;
        let res: SaveResult = serde_json::from_slice(&r.body).map_err(|e| SalesforceError::decode_json("create", e))?;
        res.into_id()
    }

    /// PATCH /sobjects/{T}/{id}: update fields of one record (204 No Content).
    pub async fn update(&self, sobject: &str, id: &RecordId, fields: &impl Serialize) -> Result<(), SalesforceError> {
        let body = to_object(fields)?;
        self.send(Method::PATCH, &self.data_path(&format!("/sobjects/{}/{}", path_segment(sobject), id)), Some(&body)).await?;
        Ok(())
    }

    /// DELETE /sobjects/{T}/{id}.
    pub async fn delete(&self, sobject: &str, id: &RecordId) -> Result<(), SalesforceError> {
        self.send(Method::DELETE, &self.data_path(&format!("/sobjects/{}/{}", path_segment(sobject), id)), None).await?;
        Ok(())
    }

    /// PATCH /sobjects/{T}/{field}/{value}: 201 created, 200 updated (with body
    /// since v46), 204 updated (older versions), 300 several records match.
    pub async fn upsert_by_external_id(
        &self,
        sobject: &str,
        external_id_field: &str,
        external_id: &str,
        fields: &impl Serialize,
    ) -> Result<UpsertOutcome, SalesforceError> {
        if external_id.is_empty() {
            // An empty value would turn the URL into a different resource.
            return Err(SalesforceError::InvalidRequest("empty external id".into()));
        }
        let body = to_object(fields)?;
        let path = self.data_path(&format!("/sobjects/{}/{}/{}", path_segment(sobject), path_segment(external_id_field), path_segment(external_id)));
        let r = self.send(Method::PATCH, &path, Some(&body)).await?;
        match r.status {
            300 => {
                let matches: Vec<String> = serde_json::from_slice(&r.body).unwrap_or_default();
                Err(SalesforceError::AmbiguousExternalId { matches })
            }
            204 => Ok(UpsertOutcome { id: None, created: false }),
            status => {
                let res: SaveResult = serde_json::from_slice(&r.body).map_err(|e| SalesforceError::decode_json("upsert", e))?;
                let created = res.created.unwrap_or(status == 201);
                Ok(UpsertOutcome { id: Some(res.into_id()?), created })
            }
        }
    }

    async fn collection_call(&self, method: Method, path: &str, records: Vec<Value>, all_or_none: bool) -> Result<Vec<SaveResult>, SalesforceError> {
        let n = records.len();
        let body = json!({"allOrNone": all_or_none, "records": records});
        let r = self.send(method, path, Some(&body)).await?;
        let results: Vec<SaveResult> = serde_json::from_slice(&r.body).map_err(|e| SalesforceError::decode_json("collection", e))?;
        if results.len() != n {
            return Err(SalesforceError::decode("collection", format!("sent {n} records, got {} results", results.len())));
        }
        Ok(results)
    }

    /// Run a collection call per chunk of at most 200 records; results are in input order.
    /// `all_or_none` holds per chunk only. On an error, earlier chunks are already
    /// written: use upserts by external id where a retry must not duplicate.
    async fn chunked(&self, method: Method, path: &str, records: Vec<Value>, all_or_none: bool) -> Result<Vec<SaveResult>, SalesforceError> {
        let mut out = Vec::with_capacity(records.len());
        let mut it = records.into_iter().peekable();
        while it.peek().is_some() {
            let chunk: Vec<Value> = it.by_ref().take(COLLECTION_LIMIT).collect();
            out.extend(self.collection_call(method.clone(), path, chunk, all_or_none).await?);
        }
        Ok(out)
    }

    /// POST /composite/sobjects: create records (any mix of types), 200 per call.
    pub async fn create_records(&self, records: &[SObjectRecord], all_or_none: bool) -> Result<Vec<SaveResult>, SalesforceError> {
        let body = records.iter().map(|r| r.to_json(false)).collect::<Result<Vec<_>, _>>()?;
        self.chunked(Method::POST, &self.data_path("/composite/sobjects"), body, all_or_none).await
    }

    /// PATCH /composite/sobjects: update records by id, 200 per call.
    pub async fn update_records(&self, records: &[SObjectRecord], all_or_none: bool) -> Result<Vec<SaveResult>, SalesforceError> {
        let body = records.iter().map(|r| r.to_json(true)).collect::<Result<Vec<_>, _>>()?;
        self.chunked(Method::PATCH, &self.data_path("/composite/sobjects"), body, all_or_none).await
    }

    /// PATCH /composite/sobjects/{T}/{field}: upsert records of one type by an
    /// external-id field (each record must carry that field), 200 per call.
    pub async fn upsert_records(
        &self,
        sobject: &str,
        external_id_field: &str,
        records: &[Map<String, Value>],
        all_or_none: bool,
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        let body = upsert_body(sobject, external_id_field, records)?;
        let path = self.data_path(&format!("/composite/sobjects/{}/{}", path_segment(sobject), path_segment(external_id_field)));
        self.chunked(Method::PATCH, &path, body, all_or_none).await
    }
}

/// Upserted records: each must carry the external-id field.
pub(crate) fn upsert_body(sobject: &str, external_id_field: &str, records: &[Map<String, Value>]) -> Result<Vec<Value>, SalesforceError> {
    let mut body = Vec::with_capacity(records.len());
    for r in records {
        if !r.contains_key(external_id_field) {
            return Err(SalesforceError::InvalidRequest(format!("record without external id field {external_id_field}")));
        }
        let mut m = r.clone();
        m.insert("attributes".into(), json!({"type": sobject}));
        body.push(Value::Object(m));
    }
    Ok(body)
}

fn to_object(v: &impl Serialize) -> Result<Value, SalesforceError> {
    match serde_json::to_value(v) {
        Ok(o @ Value::Object(_)) => Ok(o),
        Ok(_) => Err(SalesforceError::InvalidRequest("record fields must serialize to a JSON object".into())),
        Err(e) => Err(SalesforceError::InvalidRequest(e.to_string())),
    }
}

/// A record for sObject Collections: its type, its id (for updates) and fields.
#[derive(Debug, Clone)]
pub struct SObjectRecord {
    pub sobject: String,
    pub id: Option<RecordId>,
    pub fields: Map<String, Value>,
}

impl SObjectRecord {
    pub fn new(sobject: impl Into<String>, fields: Map<String, Value>) -> Self {
        SObjectRecord { sobject: sobject.into(), id: None, fields }
    }

    pub fn with_id(sobject: impl Into<String>, id: RecordId, fields: Map<String, Value>) -> Self {
        SObjectRecord { sobject: sobject.into(), id: Some(id), fields }
    }

    /// Collections require an `attributes.type` on every record; updates need `id`, creates must not have one.
    pub(crate) fn to_json(&self, with_id: bool) -> Result<Value, SalesforceError> {
        let mut m = self.fields.clone();
        m.remove("Id");
        m.remove("id");
        m.insert("attributes".into(), json!({"type": self.sobject}));
        match (&self.id, with_id) {
            (Some(id), true) => {
                m.insert("id".into(), json!(id));
            }
            (None, true) => return Err(SalesforceError::InvalidRequest(format!("{} record without id in an update", self.sobject))),
            (Some(_), false) => return Err(SalesforceError::InvalidRequest(format!("{} record with an id in a create", self.sobject))),
            (None, false) => {}
        }
        Ok(Value::Object(m))
    }
}

/// Per-record result of create/update/upsert (a SaveResult / UpsertResult).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SaveResult {
    #[serde(default)]
    pub id: Option<RecordId>,
    pub success: bool,
    /// Upserts only: whether the record was created.
    #[serde(default)]
    pub created: Option<bool>,
    #[serde(default)]
    pub errors: Vec<ApiError>,
}

impl SaveResult {
    fn into_id(self) -> Result<RecordId, SalesforceError> {
        match (self.success, self.id) {
            (true, Some(id)) => Ok(id),
            (_, _) if !self.errors.is_empty() => Err(SalesforceError::Api { status: 200, errors: self.errors }),
            _ => Err(SalesforceError::decode("save result", "success without an id")),
        }
    }
}

/// What an upsert by external id did. `id` is absent only on 204 (API versions before 46).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpsertOutcome {
    pub id: Option<RecordId>,
    pub created: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_records_carry_their_type() {
        let mut f = Map::new();
        f.insert("Name".into(), json!("Acme"));
        let v = SObjectRecord::new("Account", f.clone()).to_json(false).unwrap();
        assert_eq!(v["attributes"]["type"], "Account");
        assert!(SObjectRecord::new("Account", f).to_json(true).is_err());
    }
}
