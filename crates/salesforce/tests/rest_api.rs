//! REST calls against the local emulator with a freshly linked session.

mod common;

use common::TestSalesforce;
use salesforce::rest::{FieldType, SObjectRecord};
use salesforce::session::IgnoreTokenEvents;
use salesforce::{ApiVersion, Client, Environment, ErrorCode, RecordId, SalesforceError, Session};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;

async fn linked_client() -> (TestSalesforce, Client) {
    let sf = TestSalesforce::start().await;
    let tokens = sf.link(Environment::Production).await;
    let session = Session::new(sf.http.clone(), sf.app.clone(), sf.production.login_url.clone(), tokens, Arc::new(IgnoreTokenEvents));
    let client = Client::new(session, ApiVersion::DEFAULT);
    (sf, client)
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[tokio::test]
async fn versions_include_the_default_version() {
    let (sf, client) = linked_client().await;
    assert_eq!(client.session().org_id().unwrap().as_str(), sf.production.id);
    let versions = client.versions().await.unwrap();
    assert!(versions.iter().any(|v| v.version == ApiVersion::DEFAULT), "{versions:?}");
}

#[tokio::test]
async fn limits_and_the_limit_header_report_the_daily_budget() {
    let (_sf, client) = linked_client().await;
    let limits = client.limits().await.unwrap();
    assert_eq!(limits.daily_api_requests.max, 100_000);
    let usage = client.last_api_usage().expect("Sforce-Limit-Info on every response");
    assert_eq!(usage.max, 100_000);
    assert!(usage.used >= 1);
}

#[tokio::test]
async fn describe_reports_types_lengths_picklists_and_external_ids() {
    let (_sf, client) = linked_client().await;
    let global = client.describe_global().await.unwrap();
    assert!(global.sobjects.iter().any(|s| s.name == "Account" && s.createable));
    assert!(global.sobjects.iter().any(|s| s.name == "Survey_Response__c" && s.custom));

    let d = client.describe("Survey_Response__c").await.unwrap();
    assert_eq!(d.name, "Survey_Response__c");
    let ext = d.field("External_Id__c").unwrap();
    assert!(ext.external_id && ext.field_type == FieldType::String && ext.length == 64);
    let status = d.field("Status__c").unwrap();
    assert_eq!(status.field_type, FieldType::Picklist);
    assert!(status.picklist_values.iter().any(|p| p.value == "Processed"));
    assert_eq!(d.field("Contact__c").unwrap().reference_to, vec!["Contact".to_string()]);

    let account = client.describe("Account").await.unwrap();
    assert!(account.field("Name").unwrap().is_required_on_create());

    let err = client.describe("No_Such_Object__c").await.unwrap_err();
    assert_eq!(err.error_code(), Some(&ErrorCode::NotFound), "{err:?}");
}

#[derive(Debug, Deserialize)]
struct Account {
    #[serde(rename = "Id")]
    id: RecordId,
    #[serde(rename = "Name")]
    name: String,
}

#[tokio::test]
async fn create_get_update_upsert_and_delete_a_record() {
    let (_sf, client) = linked_client().await;
    let id = client.create("Account", &json!({"Name": "Acme"})).await.unwrap();
    let a: Account = client.get("Account", &id, &["Id", "Name"]).await.unwrap();
    assert_eq!((a.id.clone(), a.name.as_str()), (id.clone(), "Acme"));

    client.update("Account", &id, &json!({"Name": "Acme Corp"})).await.unwrap();
    let a: Account = client.get("Account", &id, &[]).await.unwrap();
    assert_eq!(a.name, "Acme Corp");

    let first = client.upsert_by_external_id("Survey_Response__c", "External_Id__c", "resp/1 a", &json!({"Survey_Name__c": "NPS"})).await.unwrap();
    assert!(first.created);
    let again = client.upsert_by_external_id("Survey_Response__c", "External_Id__c", "resp/1 a", &json!({"Survey_Name__c": "NPS 2"})).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.id, first.id, "an upsert retried never duplicates");

    client.delete("Account", &id).await.unwrap();
    let err = client.get::<Value>("Account", &id, &[]).await.unwrap_err();
    assert!(matches!(err.error_code(), Some(ErrorCode::NotFound | ErrorCode::EntityIsDeleted)), "{err:?}");
}

#[tokio::test]
async fn salesforce_validation_errors_arrive_as_codes() {
    let (_sf, client) = linked_client().await;
    let err = client.create("Account", &json!({"No_Such_Field__c": 1, "Name": "x"})).await.unwrap_err();
    assert_eq!(err.error_code(), Some(&ErrorCode::InvalidField), "{err:?}");
    let err = client.create("Account", &json!({})).await.unwrap_err();
    assert_eq!(err.error_code(), Some(&ErrorCode::RequiredFieldMissing), "{err:?}");
    let err = client.create("Survey_Response__c", &json!({"Status__c": "Bogus"})).await.unwrap_err();
    assert_eq!(err.error_code(), Some(&ErrorCode::InvalidOrNullForRestrictedPicklist), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn query_all_follows_next_records_url_across_pages() {
    let (_sf, client) = linked_client().await;
    let records: Vec<Map<String, Value>> =
        (0..450).map(|i| obj(json!({"External_Id__c": format!("page-{i}"), "Survey_Name__c": "Paging"}))).collect();
    let results = client.upsert_records("Survey_Response__c", "External_Id__c", &records, false).await.unwrap();
    assert_eq!(results.len(), 450);
    assert!(results.iter().all(|r| r.success && r.created == Some(true)));

    let client = client.with_query_batch_size(200);
    let soql = "SELECT Id, External_Id__c FROM Survey_Response__c WHERE Survey_Name__c = 'Paging'";
    let first = client.query::<Value>(soql).await.unwrap();
    assert_eq!(first.total_size, 450);
    assert!(!first.done && first.next_records_url.is_some(), "a 450-row result comes in pages");
    let all: Vec<Value> = client.query_all(soql).await.unwrap();
    assert_eq!(all.len(), 450);
    let mut ids: Vec<&str> = all.iter().map(|r| r["External_Id__c"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 450, "no page repeated or skipped");
}

#[tokio::test]
async fn collections_report_each_record_and_chunk_past_200() {
    let (_sf, client) = linked_client().await;
    let mut records: Vec<SObjectRecord> = (0..205).map(|i| SObjectRecord::new("Account", obj(json!({"Name": format!("Bulk {i}")})))).collect();
    records[3] = SObjectRecord::new("Account", obj(json!({"Description": "no name"})));
    let results = client.create_records(&records, false).await.unwrap();
    assert_eq!(results.len(), 205);
    assert!(!results[3].success);
    assert_eq!(results[3].errors[0].error_code, ErrorCode::RequiredFieldMissing);
    assert!(results.iter().enumerate().filter(|(i, _)| *i != 3).all(|(_, r)| r.success && r.id.is_some()));

    let updates: Vec<SObjectRecord> = results
        .iter()
        .filter_map(|r| r.id.clone())
        .take(3)
        .map(|id| SObjectRecord::with_id("Account", id, obj(json!({"Name": "Renamed"}))))
        .collect();
    let res = client.update_records(&updates, true).await.unwrap();
    assert!(res.iter().all(|r| r.success));
    let a: Account = client.get("Account", updates[0].id.as_ref().unwrap(), &[]).await.unwrap();
    assert_eq!(a.name, "Renamed");
}

#[tokio::test]
async fn collection_upsert_twice_creates_then_updates() {
    let (_sf, client) = linked_client().await;
    let records: Vec<Map<String, Value>> = (0..3).map(|i| obj(json!({"External_Id__c": format!("r-{i}"), "Score__c": i}))).collect();
    let first = client.upsert_records("Survey_Response__c", "External_Id__c", &records, true).await.unwrap();
    let second = client.upsert_records("Survey_Response__c", "External_Id__c", &records, true).await.unwrap();
    assert!(first.iter().all(|r| r.created == Some(true)));
    assert!(second.iter().all(|r| r.created == Some(false)));
    assert_eq!(first.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), second.iter().map(|r| r.id.clone()).collect::<Vec<_>>());
}

#[tokio::test]
async fn exhausted_daily_budget_is_request_limit_exceeded_and_retryable() {
    let (sf, client) = linked_client().await;
    sf.admin_put(&format!("/orgs/{}/usage", sf.production.id), json!({"used": 100_000})).await;
    let err = client.limits().await.unwrap_err();
    assert_eq!(err.error_code(), Some(&ErrorCode::RequestLimitExceeded), "{err:?}");
    assert!(err.is_retryable());
    assert!(matches!(err, SalesforceError::Api { status: 403, .. }));
}

#[tokio::test]
async fn upsert_matching_several_records_is_ambiguous_not_a_guess() {
    let (_sf, client) = linked_client().await;
    // Account.Insight_Id__c is an external id without a uniqueness constraint in the demo org.
    client.create("Account", &json!({"Name": "One", "Insight_Id__c": "dup"})).await.unwrap();
    client.create("Account", &json!({"Name": "Two", "Insight_Id__c": "dup"})).await.unwrap();
    let err = client.upsert_by_external_id("Account", "Insight_Id__c", "dup", &json!({"Name": "Three"})).await.unwrap_err();
    match err {
        SalesforceError::AmbiguousExternalId { matches } => assert_eq!(matches.len(), 2),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn server_unavailable_and_dropped_connections_are_retryable() {
    let (sf, client) = linked_client().await;
    let faults = format!("/orgs/{}/faults", sf.production.id);
    sf.admin_put(&faults, json!({"error_rate": 1.0})).await;
    let err = client.limits().await.unwrap_err();
    assert!(matches!(err, SalesforceError::Api { status: 503, .. }) && err.is_retryable(), "{err:?}");
    sf.admin_put(&faults, json!({"drop_rate": 1.0})).await;
    let err = client.limits().await.unwrap_err();
    assert!(matches!(err, SalesforceError::Unreachable(_)) && err.is_retryable(), "{err:?}");
    sf.admin_put(&faults, json!({})).await;
    client.limits().await.unwrap();
}

#[tokio::test]
async fn unlinking_revokes_the_session_at_salesforce() {
    let (_sf, client) = linked_client().await;
    client.limits().await.unwrap();
    client.session().revoke().await.unwrap();
    let err = client.limits().await.unwrap_err();
    assert!(err.is_refresh_revoked(), "{err:?}");
}

fn quick_polls() -> salesforce::rest::IngestWait {
    salesforce::rest::IngestWait { first_poll: std::time::Duration::from_millis(20), max_poll: std::time::Duration::from_millis(200), ..Default::default() }
}

#[tokio::test]
async fn a_bulk_upsert_answers_row_by_row_in_the_order_sent_and_a_second_run_updates() {
    let (_sf, client) = linked_client().await;
    let op = salesforce::rest::IngestOperation::Upsert { external_id_field: "External_Id__c".into() };
    let mut rows: Vec<Map<String, Value>> =
        (0..2500).map(|i| obj(json!({"External_Id__c": format!("bulk-{i}"), "Survey_Name__c": "Bulk, \"quoted\"\nline", "Score__c": i % 11}))).collect();
    rows[7] = obj(json!({"External_Id__c": "bulk-7", "Status__c": "Bogus"}));
    let calls_before = client.calls_made();
    let first = client.ingest("Survey_Response__c", &op, &rows, quick_polls()).await.unwrap();
    assert!(client.calls_made() - calls_before < 20, "one job, not a call per row: {}", client.calls_made() - calls_before);
    assert_eq!(first.len(), 2500);
    assert!(!first[7].success);
    assert_eq!(first[7].errors[0].error_code, ErrorCode::InvalidOrNullForRestrictedPicklist, "{:?}", first[7]);
    assert!(first.iter().enumerate().filter(|(i, _)| *i != 7).all(|(_, r)| r.success && r.created == Some(true) && r.id.is_some()));
    // Each answer is its own row's: the record behind answer 42 holds row 42.
    let r: Value = client.get("Survey_Response__c", first[42].id.as_ref().unwrap(), &["External_Id__c", "Survey_Name__c"]).await.unwrap();
    assert_eq!(r["External_Id__c"], "bulk-42");
    assert_eq!(r["Survey_Name__c"], "Bulk, \"quoted\"\nline");

    let again = client.ingest("Survey_Response__c", &op, &rows, quick_polls()).await.unwrap();
    assert!(again.iter().enumerate().filter(|(i, _)| *i != 7).all(|(_, r)| r.success && r.created == Some(false)));
    assert_eq!(again[42].id, first[42].id);
    let n: Vec<Value> = client.query_all("SELECT Id FROM Survey_Response__c WHERE Survey_Name__c != null").await.unwrap();
    assert_eq!(n.len(), 2499, "a second run creates nothing");
}

#[tokio::test]
async fn a_bulk_job_salesforce_fails_whole_is_an_error_with_its_message() {
    let (_sf, client) = linked_client().await;
    let op = salesforce::rest::IngestOperation::Upsert { external_id_field: "External_Id__c".into() };
    let rows = vec![obj(json!({"External_Id__c": "x-1", "No_Such_Field__c": "1"}))];
    let err = client.ingest("Survey_Response__c", &op, &rows, quick_polls()).await.unwrap_err();
    assert!(matches!(err, SalesforceError::BulkJobFailed { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("No_Such_Field__c"), "{err}");
}

#[tokio::test]
async fn the_org_s_ingest_jobs_are_listed_with_what_they_write_who_made_them_and_when() {
    let (_sf, client) = linked_client().await;
    let upsert = salesforce::rest::IngestOperation::Upsert { external_id_field: "External_Id__c".into() };
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let open = client.create_ingest_job("Survey_Response__c", &upsert).await.unwrap();
    let update = client.create_ingest_job("Survey_Response__c", &salesforce::rest::IngestOperation::Update).await.unwrap();
    client.set_ingest_state(&update.id, "Aborted").await.unwrap();
    let (jobs, whole) = client.ingest_jobs(3).await.unwrap();
    assert!(whole);
    let listed = jobs.iter().find(|j| j.id == open.id).expect("the open job is listed");
    assert_eq!(listed.state, salesforce::rest::IngestState::Open);
    assert!(listed.writes("survey_response__c", &upsert));
    assert!(!listed.writes("Survey_Response__c", &salesforce::rest::IngestOperation::Update));
    assert!(!listed.writes("Survey_Response__c", &salesforce::rest::IngestOperation::Upsert { external_id_field: "Other__c".into() }));
    assert!(listed.created_by.is_some(), "{listed:?}");
    let at = listed.created_at_ms.expect("a creation time");
    assert!((before - 1_000..=before + 60_000).contains(&at), "{at} vs {before}");
    let aborted = jobs.iter().find(|j| j.id == update.id).expect("the aborted job is listed");
    assert_eq!(aborted.state, salesforce::rest::IngestState::Aborted);
    assert!(aborted.writes("Survey_Response__c", &salesforce::rest::IngestOperation::Update));
}
