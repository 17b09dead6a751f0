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
use domain::budget::{BudgetPolicy, OrgBudget, Verdict, WaitReason};
use store::deliveries::{Claimed, Later};
use store::{now_ms, Store};
use crate::metrics::Outcome;
use tracing::Instrument;

mod bulk;
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

/// Delivers one claim's worth of due deliveries: a Bulk API job's worth
/// when the next project in line has a backlog that fits one, else 200.
pub async fn try_execute(store: &Store, settings: &SalesforceSettings, lease_ms: i64) -> store::Result<ExecutionOutcome> {
    if let ExecutionOutcome::Worked(n) = try_bulk(store, settings, lease_ms).await? {
        return Ok(ExecutionOutcome::Worked(n));
    }
    let claimed = store.claim_deliveries(BATCH, lease_ms).await?;
    if claimed.is_empty() {
        return Ok(ExecutionOutcome::EmptyQueue);
    }
    let n = claimed.len();
    let mut by_project: BTreeMap<i64, Vec<Claimed>> = BTreeMap::new();
    for c in claimed {
        by_project.entry(c.project_id).or_default().push(c);
    }
    // Each project's batch is cleared and planned on its own; those of one
    // owner's org that write the same object the same way share a call.
    let mut ready = Vec::new();
    for (project_id, batch) in by_project {
        ready.extend(prepare(store, settings, project_id, batch, Route::Collections, lease_ms).await?);
    }
    let mut groups: Vec<(Option<(i64, String, String)>, Vec<Ready>)> = Vec::new();
    for r in ready {
        let key = r.batch.plan.shareable().map(|k| (r.batch.owner_id, r.batch.org_id.clone(), k));
        match groups.iter_mut().find(|(g, _)| key.is_some() && *g == key) {
            Some((_, group)) => group.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    for (_, group) in groups {
        match <[Ready; 1]>::try_from(group) {
            Ok([alone]) => alone.send(store, settings, Route::Collections).await?,
            Err(group) => send_together(store, settings, group).await?,
        }
    }
    Ok(ExecutionOutcome::Worked(n))
}

/// When the delivery worker turns to the Bulk API 2.0: a project's backlog
/// of due deliveries larger than `threshold` (a backfill, or a queue that
/// grew while held) goes in ingest jobs of up to `job_rows` records rather
/// than Collections calls of 200.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkSettings {
    /// 0: never.
    pub threshold: i64,
    pub job_rows: i64,
    pub wait: salesforce::rest::IngestWait,
    /// A job whose worker has been silent this long is taken over (its
    /// worker beats a heartbeat every third of it): a worker killed while
    /// Salesforce processes its job costs this wait, not the delivery lease.
    pub job_lease: Duration,
    /// For tests only: how long a worker waits between Salesforce creating
    /// a job and recording its id, so a test can kill it in between. Zero
    /// outside tests.
    pub pause_after_create: Duration,
}

/// See [`BulkSettings::job_lease`]: long enough that a busy database does
/// not look like a dead worker, short beside the delivery lease.
pub const DEFAULT_BULK_JOB_LEASE: Duration = Duration::from_secs(30);

impl Default for BulkSettings {
    fn default() -> Self {
        BulkSettings {
            threshold: 2_000,
            job_rows: 10_000,
            wait: salesforce::rest::IngestWait::default(),
            job_lease: DEFAULT_BULK_JOB_LEASE,
            pause_after_create: Duration::ZERO,
        }
    }
}

/// Whether a project's mappings can go through the Bulk API: one mapping
/// that updates by id or upserts by external id, so that a job sent again
/// (after a crash, before its results were recorded) changes the same
/// records and creates none. Matches, creates and related records stay
/// with Collections, whose composite calls keep them together.
fn bulk_fits(mappings: &[Mapping]) -> bool {
    matches!(mappings, [m] if matches!(m.action, domain::MappingAction::Update { .. } | domain::MappingAction::Upsert { .. }))
}

/// Delivers the next project's backlog through a Bulk API 2.0 job, when
/// it has one that fits (see [`BulkSettings`]) — first taking over any job
/// whose worker fell silent (see [`bulk`]).
pub async fn try_bulk(store: &Store, settings: &SalesforceSettings, lease_ms: i64) -> store::Result<ExecutionOutcome> {
    let bulk = settings.bulk;
    let worker = bulk::worker_id();
    if let Some((job, batch)) = store.take_over_bulk_job(bulk.job_lease.as_millis() as i64, &worker, lease_ms).await? {
        let n = batch.len();
        tracing::info!(job = %job.job_id, state = ?job.state, responses = n, "taking over a Bulk API job whose worker fell silent");
        // A job's deliveries are all of one project.
        let project_id = job.project_id;
        let run = bulk::BulkRun::start(store, worker, Some(job), bulk.job_lease);
        deliver(store, settings, project_id, batch, Route::Bulk(&run), lease_ms).await?;
        run.end(store).await?;
        return Ok(ExecutionOutcome::Worked(n));
    }
    if bulk.threshold <= 0 {
        return Ok(ExecutionOutcome::EmptyQueue);
    }
    let Some(project_id) = store.next_backlog(bulk.threshold).await? else {
        return Ok(ExecutionOutcome::EmptyQueue);
    };
    if !store.integration(project_id).await?.is_some_and(|i| bulk_fits(&i.mappings)) {
        return Ok(ExecutionOutcome::EmptyQueue);
    }
    let batch = store.claim_project_deliveries(project_id, bulk.job_rows, lease_ms).await?;
    if batch.is_empty() {
        return Ok(ExecutionOutcome::EmptyQueue);
    }
    let n = batch.len();
    let run = bulk::BulkRun::start(store, worker, None, bulk.job_lease);
    deliver(store, settings, project_id, batch, Route::Bulk(&run), lease_ms).await?;
    // Only once its deliveries are settled: should that fail, the job is
    // taken over when its heartbeat stops, and its results read again.
    run.end(store).await?;
    Ok(ExecutionOutcome::Worked(n))
}

/// Delivers one project's claimed batch on its own.
async fn deliver(store: &Store, settings: &SalesforceSettings, project_id: i64, batch: Vec<Claimed>, route: Route<'_>, lease_ms: i64) -> store::Result<()> {
    match prepare(store, settings, project_id, batch, route, lease_ms).await? {
        Some(ready) => ready.send(store, settings, route).await,
        None => Ok(()),
    }
}

/// A project's batch cleared to go to its owner's org and planned, with
/// its log span, its lease renewed while it goes: a live worker keeps its
/// rows however long Salesforce takes (a Bulk API job may take minutes), a
/// dead one's are taken over once the lease runs out.
struct Ready {
    span: tracing::Span,
    _renewing: AbortOnDrop,
    batch: PlannedBatch,
}

/// What sending a batch needs once it is cleared and planned.
struct PlannedBatch {
    owner_id: i64,
    org_id: String,
    /// The Salesforce user of the owner's link.
    sf_user_id: Option<String>,
    client: salesforce::Client,
    claimed: Vec<Claimed>,
    ledger: Ledger,
    plan: Plan,
}

/// Clears and plans one project's batch (see [`plan_project`]).
async fn prepare(store: &Store, settings: &SalesforceSettings, project_id: i64, batch: Vec<Claimed>, route: Route<'_>, lease_ms: i64) -> store::Result<Option<Ready>> {
    let span = delivery_span(project_id, &batch, route);
    let renewing = renew_leases(store, &batch, lease_ms);
    let planned = plan_project(store, settings, project_id, batch, route).instrument(span.clone()).await?;
    Ok(planned.map(|batch| Ready { span, _renewing: renewing, batch }))
}

impl Ready {
    /// Sends the batch by `route`, and records what became of it.
    async fn send(mut self, store: &Store, settings: &SalesforceSettings, route: Route<'_>) -> store::Result<()> {
        let plan = std::mem::take(&mut self.batch.plan);
        let batch = &mut self.batch;
        let sent = async {
            match route {
                Route::Bulk(run) => {
                    let deliveries: Vec<i64> = batch.claimed.iter().map(|c| c.id).collect();
                    let project_id = batch.claimed.first().map(|c| c.project_id).unwrap_or_default();
                    let job = bulk::Job {
                        store,
                        run,
                        project_id,
                        org_id: &batch.org_id,
                        sf_user: batch.sf_user_id.as_deref(),
                        deliveries: &deliveries,
                        pause_after_create: settings.bulk.pause_after_create,
                    };
                    plan.send_bulk(&batch.client, &mut batch.ledger, settings.bulk.wait, &job).await
                }
                Route::Collections => plan.send(&batch.client, &mut batch.ledger).await,
            }
        }
        .instrument(self.span.clone())
        .await;
        settle(store, settings, std::slice::from_ref(&self), sent).await
    }
}

/// Sends the batches of several projects of one owner that write the same
/// object the same way as one call, and records what became of each.
async fn send_together(store: &Store, settings: &SalesforceSettings, mut group: Vec<Ready>) -> store::Result<()> {
    let client = group[0].batch.client.clone();
    let projects: Vec<i64> = group.iter().filter_map(|r| r.batch.claimed.first().map(|c| c.project_id)).collect();
    tracing::info!(projects = ?projects, org = %group[0].batch.org_id, "batches of one owner's surveys share a call");
    let parts: Vec<(Plan, &mut Ledger)> = group.iter_mut().map(|r| (std::mem::take(&mut r.batch.plan), &mut r.batch.ledger)).collect();
    let sent = writes::send_together(&client, parts).await;
    settle(store, settings, &group, sent).await
}

/// Records what a call that carried `group`'s batches (all of one owner's
/// org) came to: each response's outcome, or the call's failure for all of
/// them; then counts the calls, whatever came of the recording.
async fn settle(store: &Store, settings: &SalesforceSettings, group: &[Ready], sent: Result<(), SalesforceError>) -> store::Result<()> {
    let first = &group[0];
    let done = match sent {
        Ok(()) => {
            let mut done = Ok(());
            for r in group {
                done = record_outcomes(store, settings, &r.batch.org_id, &r.batch.claimed, &r.batch.ledger).instrument(r.span.clone()).await;
                if done.is_err() {
                    break;
                }
            }
            done
        }
        Err(e) => {
            let all: Vec<Claimed>;
            let claimed = match group {
                [one] => &one.batch.claimed,
                _ => {
                    all = group.iter().flat_map(|r| r.batch.claimed.iter().cloned()).collect();
                    &all
                }
            };
            call_failed(store, settings, claimed, &first.batch.org_id, e).instrument(first.span.clone()).await
        }
    };
    count_calls(store, settings, &first.batch.org_id, first.batch.owner_id, &first.batch.client).await?;
    done
}

/// Every call counts against the org's daily limit, whatever came of it:
/// the batch's, and any other sent with the owner's session meanwhile.
async fn count_calls(store: &Store, settings: &SalesforceSettings, org_id: &str, owner_id: i64, client: &salesforce::Client) -> store::Result<()> {
    crate::sessions::count_session_calls(store, &settings.metrics, org_id, client.session()).await?;
    // Only a report this session saw since it last recorded one: an older
    // one would overwrite what a page or a `/limits` read found since.
    if let Some(usage) = client.session().take_api_usage() {
        store.record_api_usage(owner_id, usage.used as i64, usage.max as i64).await?;
    }
    Ok(())
}

/// Renews `batch`'s lease every third of it until dropped.
fn renew_leases(store: &Store, batch: &[Claimed], lease_ms: i64) -> AbortOnDrop {
    let (store, ids) = (store.clone(), batch.iter().map(|c| c.id).collect::<Vec<_>>());
    let every = Duration::from_millis((lease_ms / 3).max(50) as u64);
    AbortOnDrop(tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = store.renew_leases(&ids, lease_ms).await {
                tracing::warn!(error = %e, "could not renew the lease of deliveries being sent");
            }
        }
    }))
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What every log line of a batch's delivery carries: the project, the
/// batch (its first delivery's id, as the delivery log shows it), its size
/// and route, and the org once known — never a token or an answer.
fn delivery_span(project_id: i64, batch: &[Claimed], route: Route) -> tracing::Span {
    let first = batch.iter().map(|c| c.id).min().unwrap_or_default();
    let route = match route {
        Route::Collections => "collections",
        Route::Bulk(_) => "bulk",
    };
    tracing::info_span!("delivery", project = project_id, batch = first, responses = batch.len(), route, org = tracing::field::Empty)
}

/// How a claimed batch is written.
#[derive(Debug, Clone, Copy)]
enum Route<'a> {
    Collections,
    /// In a Bulk API job: a new one, or one taken over from a silent worker.
    Bulk(&'a bulk::BulkRun),
}

/// By default, a call that would carry fewer than 200 records waits until
/// its oldest has been due this long, so that a busy survey fills its calls
/// while a quiet one still goes within a second (with the idle poll).
pub const DEFAULT_LINGER: Duration = Duration::from_millis(300);

/// How long to wait before claiming, if a claim now would not fill a call
/// and its oldest delivery has waited less than `linger`.
async fn linger_for(store: &Store, linger: Duration) -> store::Result<Option<Duration>> {
    if linger.is_zero() {
        return Ok(None);
    }
    let (n, oldest) = store.claimable_now(BATCH).await?;
    let Some(oldest) = oldest.filter(|_| n < BATCH) else { return Ok(None) };
    let left = oldest + linger.as_millis() as i64 - now_ms();
    Ok((left > 0).then(|| Duration::from_millis(left as u64)))
}

/// Runs until `stop` resolves: a plain loop over `try_execute`, lingering
/// before a claim that would not fill a call (see [`DEFAULT_LINGER`]).
pub async fn run(store: Store, settings: std::sync::Arc<SalesforceSettings>, lease_ms: i64, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let lingering = match linger_for(&store, settings.linger).await {
            Ok(wait) => wait,
            Err(e) => {
                tracing::error!(error = %e, "delivery worker could not reach the database");
                Some(Duration::from_secs(2))
            }
        };
        let wait = match lingering {
            Some(wait) => Some(wait),
            None => match try_execute(&store, &settings, lease_ms).await {
                Ok(ExecutionOutcome::Worked(_)) => None,
                Ok(ExecutionOutcome::EmptyQueue) => Some(Duration::from_millis(250)),
                Err(e) => {
                    tracing::error!(error = %e, "delivery worker could not reach the database");
                    Some(Duration::from_secs(2))
                }
            },
        };
        if let Some(wait) = wait {
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

async fn hold(store: &Store, settings: &SalesforceSettings, batch: &[Claimed], why: &str) -> store::Result<()> {
    tracing::info!(reason = why, "deliveries held");
    settings.metrics.deliveries(Outcome::Held, batch.len());
    store.hold_deliveries(&batch.iter().map(|c| c.id).collect::<Vec<_>>(), why).await
}

/// Decides whether a project's batch may go, holding it (no call to any
/// org) or putting it back to wait for budget when not, and plans its
/// writes when it may. `None`: the batch is already dealt with.
async fn plan_project(store: &Store, settings: &SalesforceSettings, project_id: i64, batch: Vec<Claimed>, route: Route<'_>) -> store::Result<Option<PlannedBatch>> {
    let Some(project) = store.project_as_owner(project_id).await? else {
        hold(store, settings, &batch, "the project was deleted").await?;
        return Ok(None);
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
        hold(store, settings, &batch, &work.held_because().unwrap_or_default()).await?;
        return Ok(None);
    };
    let org_id = org.org_id.clone();
    tracing::Span::current().record("org", org_id.as_str());
    let mappings: Vec<Mapping> = integration.map(|i| i.mappings).unwrap_or_default();
    if mappings.is_empty() {
        let finished: Vec<store::deliveries::Finished> = batch.iter().map(|c| store::deliveries::Finished { id: c.id, outcome: "[]".into(), error: None, retry_at: None }).collect();
        store.finish_deliveries(&org_id, &finished).await?;
        return Ok(None);
    }
    let client = match settings.sessions.client(store, settings, project.owner_id).await {
        Ok(c) => c,
        Err(e) => {
            hold(store, settings, &batch, &e.to_string()).await?;
            return Ok(None);
        }
    };
    let usage = link.as_ref().and_then(|l| l.api_used.zip(l.api_max));
    // A job is about ten calls (create, upload, close, polls, results).
    let needed = match route {
        Route::Collections => mappings.len() as i64 + 1,
        Route::Bulk(_) => 12,
    };
    let planned = match budget_gate(store, settings, &client, &org_id, project.owner_id, usage, needed).await? {
        Gate::Go => plan_batch(store, settings, &client, &org_id, project_id, &mappings, &batch).await,
        Gate::Wait { until, reason } => wait_for_budget(store, settings, &batch, until, &reason).await.map(|()| None),
    };
    let Some((ledger, plan)) = planned? else {
        count_calls(store, settings, &org_id, project.owner_id, &client).await?;
        return Ok(None);
    };
    let sf_user_id = link.map(|l| l.sf_user_id);
    Ok(Some(PlannedBatch { owner_id: project.owner_id, org_id, sf_user_id, client, claimed: batch, ledger, plan }))
}

/// Plans one project's claimed batch: each mapping's records, and the
/// records a match finds. `None`: a call failed or an object is gone, and
/// the batch is dealt with already.
async fn plan_batch(
    store: &Store,
    settings: &SalesforceSettings,
    client: &salesforce::Client,
    org_id: &str,
    project_id: i64,
    mappings: &[Mapping],
    batch: &[Claimed],
) -> store::Result<Option<(Ledger, Plan)>> {
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
        let schema = match settings.describes.describe_with(client, org_id, object).await {
            Ok(Some(s)) => s,
            Ok(None) => return hold(store, settings, batch, &format!("{object} no longer exists in the org")).await.map(|()| None),
            Err(e) => return call_failed(store, settings, batch, org_id, e).await.map(|()| None),
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
        let found = match matched(client, object, &records).await {
            Ok(found) => found,
            Err(e) => return call_failed(store, settings, batch, org_id, e).await.map(|()| None),
        };
        plan.add_mapping(&mut ledger, m, object, records, &found);
    }
    Ok(Some((ledger, plan)))
}

/// Records what became of each response of a sent batch: one statement.
async fn record_outcomes(store: &Store, settings: &SalesforceSettings, org_id: &str, batch: &[Claimed], ledger: &Ledger) -> store::Result<()> {
    let now = now_ms();
    let finished: Vec<store::deliveries::Finished> = batch
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (outcome, error, passing) = ledger.outcome(i);
            let retry_at = passing.then(|| now + jittered(backoff_ms(c.attempts)));
            store::deliveries::Finished { id: c.id, outcome, error, retry_at }
        })
        .collect();
    store.finish_deliveries(org_id, &finished).await?;
    count_finished(settings, batch, &finished, ledger.skipped);
    Ok(())
}

/// What `/metrics` counts of a finished batch: delivered (and how long
/// after its submit), failed, retried, and the records skipped.
fn count_finished(settings: &SalesforceSettings, batch: &[Claimed], finished: &[store::deliveries::Finished], skipped: usize) {
    let metrics = &settings.metrics;
    let now = now_ms();
    let (mut failed, mut retried) = (0, 0);
    for (c, f) in batch.iter().zip(finished) {
        match (&f.error, f.retry_at) {
            (None, _) => metrics.delivered_after(Duration::from_millis((now - c.response.finished_at).max(0) as u64)),
            (Some(_), Some(_)) => retried += 1,
            (Some(_), None) => failed += 1,
        }
    }
    metrics.deliveries(Outcome::Delivered, batch.len() - failed - retried);
    metrics.deliveries(Outcome::Failed, failed);
    metrics.deliveries(Outcome::Retried, retried);
    metrics.skipped(skipped);
    tracing::info!(delivered = batch.len() - failed - retried, failed, retried, skipped, "batch written");
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
    /// Per response: only passing errors (a row lock, a busy server) so
    /// far, so it goes again later rather than wait for a person.
    passing: Vec<bool>,
    /// Records not written because a mapping did not apply.
    skipped: usize,
}

impl Ledger {
    fn new(responses: usize, mappings: usize) -> Self {
        Ledger {
            outcomes: vec![vec![None; mappings]; responses],
            slots: vec![vec![None; mappings]; responses],
            failed: vec![None; responses],
            passing: vec![true; responses],
            skipped: 0,
        }
    }

    fn slot(&self, response: usize, mapping: usize) -> Option<Slot> {
        self.slots[response][mapping].clone()
    }

    fn set_slot(&mut self, response: usize, mapping: usize, slot: Slot) {
        self.slots[response][mapping] = Some(slot);
    }

    fn skip(&mut self, response: usize, mapping: usize, object: &str, why: String) {
        self.skipped += 1;
        self.outcomes[response][mapping] = Some(json!({ "object": object, "skipped": why }));
        self.set_slot(response, mapping, Slot::Skipped);
    }

    fn fail(&mut self, response: usize, mapping: usize, object: &str, error: String) {
        self.passing[response] = false;
        self.record_failure(response, mapping, object, error);
    }

    /// Salesforce refused a record for a passing reason: the response goes
    /// again later (unless something else of it failed for good).
    fn fail_for_now(&mut self, response: usize, mapping: usize, object: &str, error: String) {
        self.record_failure(response, mapping, object, error);
    }

    fn record_failure(&mut self, response: usize, mapping: usize, object: &str, error: String) {
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

    /// The response's log, in mapping order, why it failed if it did, and
    /// whether that was only for passing reasons (try again later).
    fn outcome(&self, response: usize) -> (String, Option<String>, bool) {
        let entries: Vec<Value> = self.outcomes[response].iter().flatten().cloned().collect();
        let failed = self.failed[response].clone();
        let passing = failed.is_some() && self.passing[response];
        (Value::Array(entries).to_string(), failed, passing)
    }
}

/// A whole call failed: wait for budget when the org's limit is used up,
/// retry later when that can help, hold when the link needs its owner,
/// otherwise fail the batch with Salesforce's words.
async fn call_failed(store: &Store, settings: &SalesforceSettings, batch: &[Claimed], org_id: &str, e: SalesforceError) -> store::Result<()> {
    if e.is_refresh_revoked() {
        return hold(store, settings, batch, "the owner's Salesforce link needs a new sign-in").await;
    }
    if e.is_limit_exceeded() {
        let reason = WaitReason::Refused.describe();
        let until = now_ms() + settings.budget.probe_every.as_millis() as i64;
        tracing::warn!(org = org_id, "the org's API limit is used up; its deliveries wait");
        store.pause_api(org_id, until, &reason, true).await?;
        return wait_for_budget(store, settings, batch, until, &reason).await;
    }
    if e.is_retryable() {
        tracing::warn!(error = %e.for_log(), "delivery will be retried");
        settings.metrics.deliveries(Outcome::Retried, batch.len());
        let now = now_ms();
        let later: Vec<(i64, i64)> = batch.iter().map(|c| (c.id, now + jittered(backoff_ms(c.attempts)))).collect();
        return store.deliver_later(&later, Later::Retry { error: &e.to_string() }).await;
    }
    tracing::warn!(error = %e.for_log(), "delivery failed");
    settings.metrics.deliveries(Outcome::Failed, batch.len());
    store.fail_deliveries(&batch.iter().map(|c| c.id).collect::<Vec<_>>(), org_id, &e.to_string()).await
}

/// A backoff spread over its upper half, so retries after one outage do
/// not arrive together.
fn jittered(ms: i64) -> i64 {
    let ms = ms.max(0);
    ms / 2 + (rand::random::<u64>() % (ms / 2 + 1) as u64) as i64
}

/// Whether a batch may call the org now.
enum Gate {
    Go,
    Wait { until: i64, reason: String },
}

/// How the delivery worker keeps within an org's API budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetSettings {
    /// Insight's share of each org's daily limit (`INSIGHT_API_SHARE_PERCENT`).
    pub policy: BudgetPolicy,
    /// How often a paused org's `/limits` is read (one call) to see whether
    /// calls are free again: sparingly.
    pub probe_every: Duration,
    /// How often a used share is looked at again (no call needed).
    pub share_recheck: Duration,
}

impl Default for BudgetSettings {
    fn default() -> Self {
        BudgetSettings { policy: BudgetPolicy::default(), probe_every: Duration::from_secs(15 * 60), share_recheck: Duration::from_secs(5 * 60) }
    }
}

/// The API budget governor: an org paused for budget stays paused until
/// its time (and, when only Salesforce can tell, until one `/limits` read
/// says calls are free); otherwise the batch goes only if Insight's share
/// and the org's limit leave room for it.
async fn budget_gate(
    store: &Store,
    settings: &SalesforceSettings,
    client: &salesforce::Client,
    org_id: &str,
    owner_id: i64,
    mut usage: Option<(i64, i64)>,
    needed: i64,
) -> store::Result<Gate> {
    let now = now_ms();
    if let Some(pause) = store.api_pause(org_id).await? {
        if pause.until_ms > now {
            return Ok(Gate::Wait { until: pause.until_ms, reason: pause.reason });
        }
        if pause.probe {
            match client.limits().await {
                Ok(limits) => {
                    let l = limits.daily_api_requests;
                    let used = l.max.saturating_sub(l.remaining) as i64;
                    store.record_api_usage(owner_id, used, l.max as i64).await?;
                    usage = Some((used, l.max as i64));
                }
                Err(e) => {
                    tracing::info!(org = org_id, error = %e.for_log(), "the org's limits could not be read; its deliveries keep waiting");
                    let until = now + settings.budget.probe_every.as_millis() as i64;
                    store.pause_api(org_id, until, &pause.reason, true).await?;
                    return Ok(Gate::Wait { until, reason: pause.reason });
                }
            }
        }
        store.resume_api(org_id).await?;
    }
    let budget = OrgBudget { org_usage: usage, insight_used: store.api_calls_last_day(org_id).await? };
    match settings.budget.policy.verdict(&budget, needed) {
        Verdict::Go => Ok(Gate::Go),
        Verdict::Wait(why) => {
            let wait = if why.needs_probe() { settings.budget.probe_every } else { settings.budget.share_recheck };
            let until = now + wait.as_millis() as i64;
            let reason = why.describe();
            tracing::info!(org = org_id, reason = %reason, "deliveries wait for API budget");
            store.pause_api(org_id, until, &reason, why.needs_probe()).await?;
            Ok(Gate::Wait { until, reason })
        }
    }
}

/// Puts a batch back until `until`, noting why; the claim does not count
/// as an attempt.
async fn wait_for_budget(store: &Store, settings: &SalesforceSettings, batch: &[Claimed], until: i64, reason: &str) -> store::Result<()> {
    settings.metrics.deliveries(Outcome::WaitingForBudget, batch.len());
    let later: Vec<(i64, i64)> = batch.iter().map(|c| (c.id, until)).collect();
    store.deliver_later(&later, Later::Wait { note: reason }).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_and_stops_at_an_hour() {
        assert_eq!(super::backoff_ms(1), 2_000);
        assert_eq!(super::backoff_ms(3), 8_000);
        assert_eq!(super::backoff_ms(40), 3_600_000);
    }

    #[test]
    fn jitter_stays_in_the_upper_half() {
        for _ in 0..1000 {
            let j = super::jittered(8_000);
            assert!((4_000..=8_000).contains(&j), "{j}");
        }
    }
}
