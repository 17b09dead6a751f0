//! The delivery worker: takes due deliveries from the outbox (with a lease,
//! never a transaction across a Salesforce call), and for each project
//! either holds them — no call to any org — when the project may not deliver
//! (its owner has no link, the link needs a new sign-in, or it points at an
//! org the survey was not validated against), or writes each response's
//! records through the owner's link with sObject Collections. A retry never
//! duplicates a record: records are upserted by a key derived from the
//! response, or updated by id.

use crate::SalesforceSettings;
use crate::sobject::{wire_record, WireKey};
use domain::{Mapping, ResponseValues};
use salesforce::rest::SObjectRecord;
use salesforce::{RecordId, SalesforceError};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use store::deliveries::Claimed;
use store::{now_ms, Store};

/// Collections take at most 200 records per call; a claim is one call's worth.
pub const BATCH: i64 = 200;
/// A worker that dies mid-delivery frees its rows after this long (unless
/// configured otherwise): long enough for a slow Collections call.
pub const DEFAULT_LEASE_MS: i64 = 120_000;

#[derive(Debug, PartialEq, Eq)]
pub enum ExecutionOutcome {
    Worked(usize),
    EmptyQueue,
}

/// Delivers one claim's worth of due deliveries.
pub async fn try_execute(store: &Store, settings: &SalesforceSettings, lease_ms: i64) -> store::Result<ExecutionOutcome> {
    let claimed = store.claim_deliveries(BATCH, lease_ms).await?;
    if claimed.is_empty() {
        return Ok(ExecutionOutcome::EmptyQueue);
    }
    let n = claimed.len();
    let mut by_project: BTreeMap<i64, Vec<Claimed>> = BTreeMap::new();
    for c in claimed {
        by_project.entry(c.project_id).or_default().push(c);
    }
    for (project_id, batch) in by_project {
        let span = tracing::info_span!("delivery", project = project_id, responses = batch.len());
        let _entered = span.enter();
        deliver_project(store, settings, project_id, batch).await?;
    }
    Ok(ExecutionOutcome::Worked(n))
}

/// Runs until `stop` resolves: a plain loop over `try_execute`.
pub async fn run(store: Store, settings: std::sync::Arc<SalesforceSettings>, lease_ms: i64, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let idle = match try_execute(&store, &settings, lease_ms).await {
            Ok(ExecutionOutcome::Worked(_)) => None,
            Ok(ExecutionOutcome::EmptyQueue) => Some(Duration::from_millis(250)),
            Err(e) => {
                tracing::error!(error = %e, "delivery worker could not reach the database");
                Some(Duration::from_secs(2))
            }
        };
        if let Some(wait) = idle {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// Seconds to wait before attempt `attempts + 1`: doubling, at most an hour.
fn backoff_ms(attempts: i64) -> i64 {
    1000 * (1i64 << attempts.clamp(0, 12)).min(3600)
}

async fn hold(store: &Store, batch: &[Claimed], why: &str) -> store::Result<()> {
    tracing::info!(reason = why, "deliveries held");
    store.hold_deliveries(&batch.iter().map(|c| c.id).collect::<Vec<_>>(), why).await
}

async fn deliver_project(store: &Store, settings: &SalesforceSettings, project_id: i64, batch: Vec<Claimed>) -> store::Result<()> {
    let Some(project) = store.project_as_owner(project_id).await? else {
        return hold(store, &batch, "the project was deleted").await;
    };
    let integration = store.integration(project_id).await?;
    let link = store.link(project.owner_id).await?;
    // The one decision: the owner's org, validated by this owner, or held.
    let work = domain::SalesforceWork::decide(
        crate::ownership::owner_of(&project),
        link.as_ref().map(|l| l.facts()),
        store::integrations::validation_of(integration.as_ref(), project.owner_id),
    );
    let Some(org) = work.delivers_to() else {
        return hold(store, &batch, &work.held_because().unwrap_or_default()).await;
    };
    let org_id = org.org_id.clone();
    let mappings: Vec<Mapping> = integration.map(|i| i.mappings).unwrap_or_default();
    if mappings.is_empty() {
        for c in &batch {
            store.mark_delivered(c.id, &org_id, "[]").await?;
        }
        return Ok(());
    }
    let client = match settings.sessions.client(store, settings, project.owner_id).await {
        Ok(c) => c,
        Err(e) => return hold(store, &batch, &e.to_string()).await,
    };

    // A condition is named in the response's log in the survey's words.
    let survey = match mappings.iter().any(|m| m.condition.is_some()) {
        true => store.survey(project_id).await?.map(|s| s.definition).unwrap_or_default(),
        false => domain::SurveyDefinition::default(),
    };
    // Per response, per mapping: the record id, or the error.
    let mut outcomes: Vec<Vec<Value>> = vec![Vec::new(); batch.len()];
    let mut failed: Vec<Option<String>> = vec![None; batch.len()];
    for mapping in &mappings {
        let schema = match settings.describes.describe_with(&client, &org_id, mapping.object.as_str()).await {
            Ok(Some(s)) => s,
            Ok(None) => return hold(store, &batch, &format!("{} no longer exists in the org", mapping.object.as_str())).await,
            Err(e) => return call_failed(store, &batch, &org_id, e).await,
        };
        let mut upserts: Vec<(usize, Map<String, Value>)> = Vec::new();
        let mut updates: Vec<(usize, SObjectRecord)> = Vec::new();
        let mut key_field = String::new();
        for (i, c) in batch.iter().enumerate() {
            let values = ResponseValues {
                response_id: &c.response.public_id,
                answers: c.response.answers_map(),
                embedded: c.response.embedded_map(),
                started_at: c.response.started_at,
                finished_at: c.response.finished_at,
                provenance: c.response.provenance(),
            };
            if let Some(condition) = mapping.condition.as_ref().filter(|c| !c.holds(&values)) {
                // Not a failure: the mapping does not apply to this response.
                let why = format!("the response does not meet the condition {}", condition.describe(&survey));
                outcomes[i].push(json!({ "object": mapping.object.as_str(), "skipped": why }));
                continue;
            }
            match mapping.record_for(&values, &schema).map(|r| wire_record(r, &schema)) {
                Ok(record) => match record.key {
                    WireKey::Upsert { field, value } => {
                        let mut fields = record.fields;
                        fields.insert(field.clone(), Value::String(value));
                        key_field = field;
                        upserts.push((i, fields));
                    }
                    WireKey::Update { id } => match RecordId::parse(&id) {
                        Ok(id) => updates.push((i, SObjectRecord::with_id(record.object, id, record.fields))),
                        Err(_) => fail(&mut failed, &mut outcomes, i, mapping, format!("\"{id}\" is not a Salesforce record id")),
                    },
                    WireKey::Create => fail(&mut failed, &mut outcomes, i, mapping, "plain creates are not delivered: upsert by a key instead".into()),
                },
                Err(e) => fail(&mut failed, &mut outcomes, i, mapping, e),
            }
        }
        if !upserts.is_empty() {
            let records: Vec<Map<String, Value>> = upserts.iter().map(|(_, r)| r.clone()).collect();
            match client.upsert_records(mapping.object.as_str(), &key_field, &records, false).await {
                Ok(results) => record_results(&mut failed, &mut outcomes, upserts.iter().map(|(i, _)| *i), results, mapping),
                Err(e) => return call_failed(store, &batch, &org_id, e).await,
            }
        }
        if !updates.is_empty() {
            let records: Vec<SObjectRecord> = updates.iter().map(|(_, r)| r.clone()).collect();
            match client.update_records(&records, false).await {
                Ok(results) => record_results(&mut failed, &mut outcomes, updates.iter().map(|(i, _)| *i), results, mapping),
                Err(e) => return call_failed(store, &batch, &org_id, e).await,
            }
        }
    }
    if let Some(usage) = client.last_api_usage() {
        store.record_api_usage(project.owner_id, usage.used as i64, usage.max as i64).await?;
    }
    for (i, c) in batch.iter().enumerate() {
        let outcome = Value::Array(outcomes[i].clone()).to_string();
        match &failed[i] {
            None => store.mark_delivered(c.id, &org_id, &outcome).await?,
            Some(error) => store.mark_failed(c.id, &org_id, error, &outcome).await?,
        }
    }
    Ok(())
}

fn fail(failed: &mut [Option<String>], outcomes: &mut [Vec<Value>], i: usize, mapping: &Mapping, error: String) {
    outcomes[i].push(json!({ "object": mapping.object.as_str(), "error": error }));
    let message = format!("{}: {error}", mapping.object.as_str());
    failed[i] = Some(match failed[i].take() {
        Some(earlier) => format!("{earlier}; {message}"),
        None => message,
    });
}

fn record_results(
    failed: &mut [Option<String>],
    outcomes: &mut [Vec<Value>],
    indices: impl Iterator<Item = usize>,
    results: Vec<salesforce::rest::SaveResult>,
    mapping: &Mapping,
) {
    for (i, result) in indices.zip(results) {
        if result.success {
            outcomes[i].push(json!({ "object": mapping.object.as_str(), "record_id": result.id, "created": result.created }));
        } else {
            // Salesforce's own words, code first: what a person needs to fix it.
            let error = result.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ");
            fail(failed, outcomes, i, mapping, error);
        }
    }
}

/// A whole call failed: retry later when that can help, hold when the link
/// needs its owner, otherwise fail the batch with Salesforce's words.
async fn call_failed(store: &Store, batch: &[Claimed], org_id: &str, e: SalesforceError) -> store::Result<()> {
    if e.is_refresh_revoked() {
        return hold(store, batch, "the owner's Salesforce link needs a new sign-in").await;
    }
    if e.is_retryable() {
        tracing::warn!(error = %e, "delivery will be retried");
        let now = now_ms();
        for c in batch {
            store.retry_later(c.id, &e.to_string(), now + backoff_ms(c.attempts)).await?;
        }
        return Ok(());
    }
    tracing::warn!(error = %e, "delivery failed");
    for c in batch {
        store.mark_failed(c.id, org_id, &e.to_string(), "[]").await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_and_stops_at_an_hour() {
        assert_eq!(super::backoff_ms(1), 2_000);
        assert_eq!(super::backoff_ms(3), 8_000);
        assert_eq!(super::backoff_ms(40), 3_600_000);
    }
}
