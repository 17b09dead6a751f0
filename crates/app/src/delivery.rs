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
use salesforce::{RecordId, SalesforceError};
use writes::{Plan, Planned, Slot};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use store::deliveries::Claimed;
use store::{now_ms, Store};

mod writes;

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
    let values: Vec<ResponseValues> = batch
        .iter()
        .map(|c| ResponseValues {
            response_id: &c.response.public_id,
            answers: c.response.answers_map(),
            embedded: c.response.embedded_map(),
            started_at: c.response.started_at,
            finished_at: c.response.finished_at,
            provenance: c.response.provenance(),
        })
        .collect();
    let mut ledger = Ledger::new(batch.len(), mappings.len());
    let mut plan = Plan::default();
    for (m, mapping) in mappings.iter().enumerate() {
        let object = mapping.object.as_str();
        let schema = match settings.describes.describe_with(&client, &org_id, object).await {
            Ok(Some(s)) => s,
            Ok(None) => return hold(store, &batch, &format!("{object} no longer exists in the org")).await,
            Err(e) => return call_failed(store, &batch, &org_id, e).await,
        };
        let mut records: Vec<Planned> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            if let Some(condition) = mapping.condition.as_ref().filter(|c| !c.holds(v)) {
                // Not a failure: the mapping does not apply to this response.
                ledger.skip(i, m, object, format!("the response does not meet the condition {}", condition.describe(&survey)));
                continue;
            }
            if let Some(why) = mapping.nothing_to_match(v) {
                ledger.skip(i, m, object, why);
                continue;
            }
            let earlier = |o: &str| mappings[..m].iter().rposition(|e| e.object.as_str().eq_ignore_ascii_case(o));
            match mapping.record_for(v, &schema).map(|r| wire_record(r, &schema)).and_then(|r| Plan::resolve(&ledger, i, earlier, r)) {
                Ok(p) => records.push(p),
                Err(e) => ledger.fail(i, m, object, e),
            }
        }
        let found = match matched(&client, object, &records).await {
            Ok(found) => found,
            Err(e) => return call_failed(store, &batch, &org_id, e).await,
        };
        plan.add_mapping(&mut ledger, m, object, records, &found);
    }
    if let Err(e) = plan.send(&client, &mut ledger).await {
        return call_failed(store, &batch, &org_id, e).await;
    }
    if let Some(usage) = client.last_api_usage() {
        store.record_api_usage(project.owner_id, usage.used as i64, usage.max as i64).await?;
    }
    for (i, c) in batch.iter().enumerate() {
        let (outcome, failed) = ledger.outcome(i);
        match failed {
            None => store.mark_delivered(c.id, &org_id, &outcome).await?,
            Some(error) => store.mark_failed(c.id, &org_id, &error, &outcome).await?,
        }
    }
    Ok(())
}

/// Queries longer than this go in several: a query travels in the URL.
const MATCH_QUERY_CHARS: usize = 8_000;
/// A match that finds more records than this fails the batch rather than
/// read without end: far more than any one value should match.
const MATCH_QUERY_MAX_RECORDS: usize = 10_000;

/// The records whose match field holds one of the batch's values: one query
/// for the batch (more only when the values make it long), by lower-cased
/// value, since Salesforce compares text without regard to case.
async fn matched(client: &salesforce::Client, object: &str, records: &[Planned]) -> Result<BTreeMap<String, Vec<RecordId>>, SalesforceError> {
    let mut found: BTreeMap<String, Vec<RecordId>> = BTreeMap::new();
    let mut field = None;
    let mut values: Vec<String> = Vec::new();
    for p in records {
        if let WireKey::Match { field: f, value, .. } = &p.record.key {
            field = Some(f.clone());
            if !values.iter().any(|v| v.eq_ignore_ascii_case(value)) {
                values.push(value.clone());
            }
        }
    }
    let Some(field) = field else { return Ok(found) };
    let mut read = 0;
    let mut rest = values.as_slice();
    while !rest.is_empty() {
        let mut literals = Vec::new();
        let mut length = 0;
        while let Some((v, tail)) = rest.split_first() {
            let literal = salesforce::rest::soql_string_literal(v);
            if !literals.is_empty() && length + literal.len() > MATCH_QUERY_CHARS {
                break;
            }
            length += literal.len() + 1;
            literals.push(literal);
            rest = tail;
        }
        let soql = format!("SELECT Id, {field} FROM {object} WHERE {field} IN ({})", literals.join(","));
        let mut page = client.query::<Map<String, Value>>(&soql).await?;
        loop {
            read += page.records.len();
            if read > MATCH_QUERY_MAX_RECORDS {
                return Err(SalesforceError::InvalidRequest(format!("more than {MATCH_QUERY_MAX_RECORDS} {object} records match this batch's {field} values")));
            }
            for r in &page.records {
                let value = r.iter().find(|(k, _)| k.eq_ignore_ascii_case(&field)).and_then(|(_, v)| v.as_str()).unwrap_or_default().to_lowercase();
                if let Some(id) = r.get("Id").and_then(Value::as_str).and_then(|i| RecordId::parse(i).ok()) {
                    found.entry(value).or_default().push(id);
                }
            }
            match page.next_records_url.take().filter(|_| !page.done) {
                Some(next) => page = client.query_more(&next).await?,
                None => break,
            }
        }
    }
    Ok(found)
}

/// What became of a batch's responses, mapping by mapping: the outcome
/// each response's log shows, and what later mappings point to.
struct Ledger {
    /// Per response, per mapping: the log entry.
    outcomes: Vec<Vec<Option<Value>>>,
    slots: Vec<Vec<Option<Slot>>>,
    failed: Vec<Option<String>>,
}

impl Ledger {
    fn new(responses: usize, mappings: usize) -> Self {
        Ledger { outcomes: vec![vec![None; mappings]; responses], slots: vec![vec![None; mappings]; responses], failed: vec![None; responses] }
    }

    fn slot(&self, response: usize, mapping: usize) -> Option<Slot> {
        self.slots[response][mapping].clone()
    }

    fn set_slot(&mut self, response: usize, mapping: usize, slot: Slot) {
        self.slots[response][mapping] = Some(slot);
    }

    fn skip(&mut self, response: usize, mapping: usize, object: &str, why: String) {
        self.outcomes[response][mapping] = Some(json!({ "object": object, "skipped": why }));
        self.set_slot(response, mapping, Slot::Skipped);
    }

    fn fail(&mut self, response: usize, mapping: usize, object: &str, error: String) {
        self.outcomes[response][mapping] = Some(json!({ "object": object, "error": error }));
        self.set_slot(response, mapping, Slot::Failed);
        let message = format!("{object}: {error}");
        self.failed[response] = Some(match self.failed[response].take() {
            Some(earlier) => format!("{earlier}; {message}"),
            None => message,
        });
    }

    fn written(&mut self, response: usize, mapping: usize, object: &str, id: &RecordId, created: bool) {
        self.outcomes[response][mapping] = Some(json!({ "object": object, "record_id": id, "created": created }));
        self.set_slot(response, mapping, Slot::Written(id.clone()));
    }

    /// The response's log, in mapping order, and why it failed if it did.
    fn outcome(&self, response: usize) -> (String, Option<String>) {
        let entries: Vec<Value> = self.outcomes[response].iter().flatten().cloned().collect();
        (Value::Array(entries).to_string(), self.failed[response].clone())
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
