//! Composite: several REST requests in one call, which counts as one call
//! toward the org's API limit. A later subrequest may name an earlier one's
//! result by reference (`@{newContacts[0].id}`), so records that point to
//! each other are written in one round trip.

use super::records::{SObjectRecord, SaveResult};
use super::{path_segment, Client};
use crate::error::{ApiError, SalesforceError};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// At most 25 subrequests per composite call.
pub const COMPOSITE_LIMIT: usize = 25;
/// Of which at most 5 may be sObject Collections or queries.
pub const COMPOSITE_COLLECTIONS_LIMIT: usize = 5;

/// One subrequest: its method, URL, body, and the name later subrequests
/// refer to its result by (letters, digits and underscores only).
#[derive(Debug, Clone)]
pub struct Subrequest {
    pub method: Method,
    pub url: String,
    pub reference_id: String,
    pub body: Option<Value>,
}

/// One subrequest's result.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubResponse {
    pub reference_id: String,
    pub http_status_code: u16,
    #[serde(default)]
    pub body: Value,
}

impl SubResponse {
    /// A collection subrequest's per-record results, or the errors that
    /// failed it whole (a reference that did not resolve, a malformed body).
    pub fn save_results(&self) -> Result<Vec<SaveResult>, Vec<ApiError>> {
        if self.http_status_code < 300 {
            return serde_json::from_value(self.body.clone()).map_err(|e| {
                vec![ApiError { message: format!("unreadable collection result: {e}"), error_code: crate::error::ErrorCode::UnknownException, fields: vec![] }]
            });
        }
        Err(serde_json::from_value(self.body.clone()).unwrap_or_else(|_| {
            vec![ApiError { message: format!("subrequest failed with HTTP {}", self.http_status_code), error_code: crate::error::ErrorCode::UnknownException, fields: vec![] }]
        }))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompositeReply {
    composite_response: Vec<SubResponse>,
}

fn collection(records: Vec<Value>) -> Value {
    // allOrNone per collection: each record stands on its own.
    json!({"allOrNone": false, "records": records})
}

impl Client {
    /// A subrequest creating records (POST /composite/sobjects).
    pub fn create_records_subrequest(&self, reference_id: &str, records: &[SObjectRecord]) -> Result<Subrequest, SalesforceError> {
        let body = records.iter().map(|r| r.to_json(false)).collect::<Result<Vec<_>, _>>()?;
        Ok(Subrequest { method: Method::POST, url: self.data_path("/composite/sobjects"), reference_id: reference_id.into(), body: Some(collection(body)) })
    }

    /// A subrequest updating records by id (PATCH /composite/sobjects).
    pub fn update_records_subrequest(&self, reference_id: &str, records: &[SObjectRecord]) -> Result<Subrequest, SalesforceError> {
        let body = records.iter().map(|r| r.to_json(true)).collect::<Result<Vec<_>, _>>()?;
        Ok(Subrequest { method: Method::PATCH, url: self.data_path("/composite/sobjects"), reference_id: reference_id.into(), body: Some(collection(body)) })
    }

    /// A subrequest upserting records of one type by an external-id field
    /// (PATCH /composite/sobjects/{T}/{field}).
    pub fn upsert_records_subrequest(&self, reference_id: &str, sobject: &str, external_id_field: &str, records: &[Map<String, Value>]) -> Result<Subrequest, SalesforceError> {
        let body = super::records::upsert_body(sobject, external_id_field, records)?;
        let url = self.data_path(&format!("/composite/sobjects/{}/{}", path_segment(sobject), path_segment(external_id_field)));
        Ok(Subrequest { method: Method::PATCH, url, reference_id: reference_id.into(), body: Some(collection(body)) })
    }

    /// POST /composite: the subrequests in the order given (not collated, so
    /// that a lookup's record is written before the record pointing to it),
    /// each standing on its own (`allOrNone: false`): one that fails skips
    /// only those that refer to it. The results come in the same order.
    pub async fn composite(&self, subrequests: &[Subrequest]) -> Result<Vec<SubResponse>, SalesforceError> {
        if subrequests.is_empty() {
            return Ok(vec![]);
        }
        if subrequests.len() > COMPOSITE_LIMIT {
            return Err(SalesforceError::InvalidRequest(format!("{} subrequests; a composite call takes at most {COMPOSITE_LIMIT}", subrequests.len())));
        }
        let collections = subrequests.iter().filter(|s| s.url.contains("/composite/sobjects") || s.url.contains("/query")).count();
        if collections > COMPOSITE_COLLECTIONS_LIMIT {
            return Err(SalesforceError::InvalidRequest(format!("{collections} collection or query subrequests; a composite call takes at most {COMPOSITE_COLLECTIONS_LIMIT}")));
        }
        let requests: Vec<Value> = subrequests
            .iter()
            .map(|s| {
                let mut r = json!({"method": s.method.as_str(), "url": s.url, "referenceId": s.reference_id});
                if let Some(b) = &s.body {
                    r["body"] = b.clone();
                }
                r
            })
            .collect();
        let body = json!({"allOrNone": false, "collateSubrequests": false, "compositeRequest": requests});
        let r = self.send(Method::POST, &self.data_path("/composite"), Some(&body)).await?;
        let reply: CompositeReply = serde_json::from_slice(&r.body).map_err(|e| SalesforceError::decode_json("composite", e))?;
        if reply.composite_response.len() != subrequests.len() {
            return Err(SalesforceError::decode("composite", format!("sent {} subrequests, got {} results", subrequests.len(), reply.composite_response.len())));
        }
        Ok(reply.composite_response)
    }
}
