//! The REST API client: one authenticated transport (refresh-once-and-retry,
//! `Sforce-Limit-Info`), versions, query with pagination, organization, limits.
//! Describe lives in `describe`, record writes in `records`.

use crate::environment::{ApiVersion, Environment};
use crate::error::SalesforceError;
use crate::ids::OrgId;
use crate::secret::AccessToken;
use crate::session::{ApiUsage, Session};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use url::Url;


/// A REST client bound to one session (org and user) and one API version.
#[derive(Clone, Debug)]
pub struct Client {
    session: Arc<Session>,
    api_version: ApiVersion,
    query_batch_size: Option<u16>,
    /// REST calls this client (and its clones) sent: each counts against
    /// the org's daily API limit.
    calls: Arc<std::sync::atomic::AtomicU64>,
}

mod bulk2;
mod composite;
mod describe;
mod records;

pub use describe::{FieldDescribe, FieldType, GlobalDescribe, PicklistValue, SObjectDescribe, SObjectSummary};
pub use bulk2::{ingest_csv, ingest_upload, IngestJob, IngestOperation, ListedIngestJob, IngestState, IngestWait, INGEST_MAX_BYTES, NULL_VALUE as BULK_NULL_VALUE};
pub use composite::{SubResponse, Subrequest, COMPOSITE_COLLECTIONS_LIMIT, COMPOSITE_LIMIT};
pub use records::{SObjectRecord, SaveResult, UpsertOutcome, COLLECTION_LIMIT};

/// What a call sends, and what it asks for back.
#[derive(Clone, Copy)]
pub(crate) enum Payload<'a> {
    None,
    Json(&'a Value),
    /// A Bulk API 2.0 upload.
    Csv(&'a [u8]),
    /// No body; the answer is CSV (Bulk API 2.0 results).
    AcceptCsv,
}

pub(crate) struct Reply {
    status: u16,
    body: Vec<u8>,
}

/// Every byte but RFC 3986's unreserved ones (`A-Z a-z 0-9 - . _ ~`) is encoded.
const UNRESERVED_COMPLEMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encode one URL path segment (an id or an external-id value).
pub(crate) fn path_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, UNRESERVED_COMPLEMENT).to_string()
}

/// Quote a string as a SOQL string literal (escapes `\`, `'`, `"`, and control characters).
pub fn soql_string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

impl Client {
    pub fn new(session: Arc<Session>, api_version: ApiVersion) -> Self {
        Client { session, api_version, query_batch_size: None, calls: Default::default() }
    }

    /// Ask for query pages of `n` records (`Sforce-Query-Options: batchSize=n`;
    /// Salesforce accepts 200–2000 and treats the value as a hint).
    pub fn with_query_batch_size(mut self, n: u16) -> Self {
        self.query_batch_size = Some(n.clamp(200, 2000));
        self
    }

    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    pub fn api_version(&self) -> ApiVersion {
        self.api_version
    }

    /// REST calls sent through this client (and its clones) so far.
    pub fn calls_made(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// API usage from the last response's `Sforce-Limit-Info` header.
    pub fn last_api_usage(&self) -> Option<ApiUsage> {
        self.session.last_api_usage()
    }

    pub(crate) fn data_path(&self, tail: &str) -> String {
        format!("/services/data/{}{}", self.api_version, tail)
    }

    async fn send_once(&self, token: &AccessToken, instance: &Url, method: &Method, path: &str, body: Payload<'_>) -> Result<Reply, SalesforceError> {
        // String join, not Url::join: an instance URL with a path must keep it.
        let url = format!("{}{}", instance.as_str().trim_end_matches('/'), path);
        let mut req = self.session.http().request(method.clone(), &url).bearer_auth(token.expose());
        req = match body {
            Payload::None => req.header(reqwest::header::ACCEPT, "application/json"),
            Payload::Json(b) => req.header(reqwest::header::ACCEPT, "application/json").json(b),
            Payload::Csv(bytes) => req
                .header(reqwest::header::ACCEPT, "application/json")
                .header(reqwest::header::CONTENT_TYPE, "text/csv")
                .body(bytes.to_vec()),
            Payload::AcceptCsv => req.header(reqwest::header::ACCEPT, "text/csv"),
        };
        let is_query = path.starts_with(&format!("/services/data/{}/query", self.api_version));
        if let Some(n) = self.query_batch_size.filter(|_| is_query) {
            req = req.header("Sforce-Query-Options", format!("batchSize={n}"));
        }
        let started = std::time::Instant::now();
        self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.session.note_call();
        let resp = req.send().await.map_err(SalesforceError::Unreachable)?;
        // The path only: query strings carry SOQL and external ids, which may be personal data.
        tracing::debug!(%method, path = path.split('?').next().unwrap_or(""), status = resp.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64, "salesforce call");
        if let Some(u) = resp.headers().get("Sforce-Limit-Info").and_then(|v| v.to_str().ok()).and_then(ApiUsage::parse_header) {
            self.session.record_api_usage(u);
        }
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(SalesforceError::Unreachable)?.to_vec();
        // 300 is an answer (upsert found several records), not a failure of the call.
        if status >= 301 {
            return Err(SalesforceError::from_rest_response(status, &body));
        }
        Ok(Reply { status, body })
    }

    /// Send with the current token; on an expired session refresh once (shared
    /// with concurrent callers) and retry once.
    pub(crate) async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Reply, SalesforceError> {
        self.send_payload(method, path, body.map_or(Payload::None, Payload::Json)).await
    }

    pub(crate) async fn send_payload(&self, method: Method, path: &str, body: Payload<'_>) -> Result<Reply, SalesforceError> {
        let (token, instance) = self.session.current();
        match self.send_once(&token, &instance, &method, path, body).await {
            Err(e) if e.is_session_expired() => {
                tracing::debug!(%method, "Salesforce session expired; refreshing");
                let (token, instance) = self.session.refresh_after(&token).await?;
                match self.send_once(&token, &instance, &method, path, body).await {
                    Err(e) if e.is_session_expired() => Err(SalesforceError::SessionExpired),
                    r => r,
                }
            }
            r => r,
        }
    }

    pub(crate) async fn get_json<T: DeserializeOwned>(&self, path: &str, what: &'static str) -> Result<T, SalesforceError> {
        let r = self.send(Method::GET, path, None).await?;
        serde_json::from_slice(&r.body).map_err(|e| SalesforceError::decode_json(what, e))
    }

    /// GET /services/data/: the API versions the org offers.
    pub async fn versions(&self) -> Result<Vec<VersionInfo>, SalesforceError> {
        self.get_json("/services/data/", "versions").await
    }

    /// One page of a SOQL query.
    pub async fn query<T: DeserializeOwned>(&self, soql: &str) -> Result<QueryPage<T>, SalesforceError> {
        let q: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
        self.get_json(&self.data_path(&format!("/query?q={q}")), "query").await
    }

    /// The next page, from a page's `nextRecordsUrl` (a path on the instance).
    pub async fn query_more<T: DeserializeOwned>(&self, next_records_url: &str) -> Result<QueryPage<T>, SalesforceError> {
        if !next_records_url.starts_with("/services/data/") {
            return Err(SalesforceError::InvalidRequest(format!("not a query locator path: {next_records_url}")));
        }
        self.get_json(next_records_url, "query").await
    }

    /// Every record of a SOQL query, following `nextRecordsUrl` until `done`.
    /// (Not Salesforce's `queryAll` resource, which also returns deleted records.)
    pub async fn query_all<T: DeserializeOwned>(&self, soql: &str) -> Result<Vec<T>, SalesforceError> {
        let mut page = self.query::<T>(soql).await?;
        let mut out = std::mem::take(&mut page.records);
        while !page.done {
            let Some(next) = page.next_records_url.take() else {
                return Err(SalesforceError::decode("query", "done is false but nextRecordsUrl is missing"));
            };
            page = self.query_more(&next).await?;
            out.append(&mut page.records);
        }
        Ok(out)
    }

    /// The org behind this session.
    pub async fn organization(&self) -> Result<Organization, SalesforceError> {
        let mut rows: Vec<Organization> =
            self.query_all("SELECT Id, Name, IsSandbox, OrganizationType, InstanceName FROM Organization").await?;
        match rows.len() {
            1 => Ok(rows.remove(0)),
            n => Err(SalesforceError::decode("organization", format!("expected 1 Organization row, got {n}"))),
        }
    }

    /// GET /limits.
    pub async fn limits(&self) -> Result<Limits, SalesforceError> {
        let raw: Value = self.get_json(&self.data_path("/limits"), "limits").await?;
        let daily_api_requests = serde_json::from_value(raw.get("DailyApiRequests").cloned().unwrap_or(Value::Null))
            .map_err(|e| SalesforceError::decode("limits", format!("DailyApiRequests: {e}")))?;
        Ok(Limits { daily_api_requests, raw })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VersionInfo {
    pub label: String,
    pub url: String,
    pub version: ApiVersion,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPage<T> {
    pub total_size: u64,
    pub done: bool,
    #[serde(default)]
    pub next_records_url: Option<String>,
    pub records: Vec<T>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Organization {
    #[serde(rename = "Id")]
    pub id: OrgId,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "IsSandbox")]
    pub is_sandbox: bool,
    #[serde(rename = "OrganizationType", default)]
    pub organization_type: Option<String>,
    #[serde(rename = "InstanceName", default)]
    pub instance_name: Option<String>,
}

impl Organization {
    /// The environment this org really is, whatever login host was used (a My Domain
    /// URL can point anywhere): compare with what the user asked for before linking.
    pub fn environment(&self) -> Environment {
        if self.is_sandbox { Environment::Sandbox } else { Environment::Production }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Limit {
    #[serde(rename = "Max")]
    pub max: u64,
    #[serde(rename = "Remaining")]
    pub remaining: u64,
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub daily_api_requests: Limit,
    /// Every limit as Salesforce returned it.
    pub raw: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_id_values_are_encoded_as_one_path_segment() {
        assert_eq!(path_segment("resp-42_a.b~"), "resp-42_a.b~");
        assert_eq!(path_segment("a/b c?"), "a%2Fb%20c%3F");
    }

    #[test]
    fn soql_literals_are_escaped() {
        assert_eq!(soql_string_literal("O'Brien \\ x"), "'O\\'Brien \\\\ x'");
    }
}
