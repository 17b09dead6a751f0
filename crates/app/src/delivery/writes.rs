//! One batch's writes, planned then sent. Each mapping, in order, becomes
//! at most a create, an update and an upsert collection for the whole batch;
//! a match first looks every response's record up in one query. A lookup to
//! "the record an earlier mapping wrote for the response" points into an
//! earlier collection's results, so related records go in one composite
//! call: a Contact match plus a related custom object costs one query and
//! one composite per batch.

use super::Ledger;
use crate::sobject::{WireKey, WireRecord};
use salesforce::rest::{IngestOperation, IngestWait, SObjectRecord, SaveResult, Subrequest, COMPOSITE_COLLECTIONS_LIMIT};
use salesforce::{Client, RecordId, SalesforceError};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Where an earlier mapping's record for a response is: an item of a
/// collection still to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ItemRef {
    sub: usize,
    item: usize,
}

/// What became of one mapping for one response, as later mappings see it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Slot {
    /// Not applied (a condition, or no record matched and none is created):
    /// a lookup to it stays blank.
    Skipped,
    Failed,
    Planned(ItemRef),
    Written(RecordId),
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Create,
    Update,
    Upsert { key: String },
}

/// One record of a collection: the responses it stands for (several when
/// they match the same record), its fields, and its lookups to records not
/// yet written.
#[derive(Debug, Clone)]
struct Item {
    responses: Vec<usize>,
    id: Option<RecordId>,
    fields: Map<String, Value>,
    lookups: Vec<(String, String, ItemRef)>,
}

/// One collection: one mapping's creates, updates or upserts for the batch.
#[derive(Debug, Clone)]
struct Sub {
    mapping: usize,
    object: String,
    kind: Kind,
    items: Vec<Item>,
}

/// What a batch writes, in order.
#[derive(Debug, Default)]
pub(super) struct Plan {
    subs: Vec<Sub>,
}

/// A record planned for one response, before its collection is known.
pub(super) struct Planned {
    pub response: usize,
    pub record: WireRecord,
    pub lookups: Vec<(String, String, ItemRef)>,
}

impl Plan {
    /// Resolves a record's lookups to earlier records of the same response:
    /// a written id goes in at once, a planned one is referred to, a skipped
    /// one leaves the lookup blank. `Err`: an earlier record failed, so this
    /// one is not written either.
    pub(super) fn resolve(ledger: &Ledger, response: usize, earlier: impl Fn(&str) -> Option<usize>, record: WireRecord) -> Result<Planned, String> {
        let mut record = record;
        let mut lookups = Vec::new();
        for (field, object) in std::mem::take(&mut record.related) {
            let slot = earlier(&object).and_then(|m| ledger.slot(response, m));
            match slot {
                Some(Slot::Written(id)) => {
                    record.fields.insert(field, Value::String(id.to_string()));
                }
                Some(Slot::Planned(at)) => lookups.push((field, object, at)),
                Some(Slot::Skipped) => {}
                Some(Slot::Failed) | None => return Err(format!("not written, since the {object} record for this response was not written, and {field} points to it")),
            }
        }
        Ok(Planned { response, record: record, lookups })
    }

    fn push(&mut self, ledger: &mut Ledger, sub: Sub) {
        if sub.items.is_empty() {
            return;
        }
        let at = self.subs.len();
        for (item, it) in sub.items.iter().enumerate() {
            for &r in &it.responses {
                ledger.set_slot(r, sub.mapping, Slot::Planned(ItemRef { sub: at, item }));
            }
        }
        self.subs.push(sub);
    }

    /// Adds one mapping's records: upserts and updates by id as they come,
    /// matches by what the query found (`found`: lower-cased value → ids).
    pub(super) fn add_mapping(&mut self, ledger: &mut Ledger, mapping: usize, object: &str, records: Vec<Planned>, found: &BTreeMap<String, Vec<RecordId>>) {
        let sub = |kind: Kind| Sub { mapping, object: object.to_string(), kind, items: vec![] };
        let (mut creates, mut updates, mut upserts) = (sub(Kind::Create), sub(Kind::Update), None::<Sub>);
        // Responses matching the same value are one record: one create (or
        // update), whose fields are merged in the order they came.
        let mut groups: Vec<(String, String, bool, Vec<Planned>)> = Vec::new();
        for p in records {
            match &p.record.key {
                WireKey::Upsert { field, value } => {
                    let mut fields = p.record.fields.clone();
                    fields.insert(field.clone(), Value::String(value.clone()));
                    let s = upserts.get_or_insert_with(|| sub(Kind::Upsert { key: field.clone() }));
                    s.items.push(Item { responses: vec![p.response], id: None, fields, lookups: p.lookups });
                }
                WireKey::Update { id } => match RecordId::parse(id) {
                    Ok(id) => updates.items.push(Item { responses: vec![p.response], id: Some(id), fields: p.record.fields, lookups: p.lookups }),
                    Err(_) => ledger.fail(p.response, mapping, object, format!("\"{id}\" is not a Salesforce record id")),
                },
                WireKey::Match { field, value, create } => {
                    let key = value.to_lowercase();
                    match groups.iter_mut().find(|g| g.0 == key) {
                        Some(g) => g.3.push(p),
                        None => {
                            let (field, create) = (field.clone(), *create);
                            groups.push((key, field, create, vec![p]));
                        }
                    }
                }
                WireKey::Create => ledger.fail(p.response, mapping, object, "plain creates are not delivered: upsert by a key instead".into()),
            }
        }
        for (key, field, create, group) in groups {
            let value = match &group[0].record.key {
                WireKey::Match { value, .. } => value.clone(),
                _ => unreachable!("a match group holds matches"),
            };
            let responses: Vec<usize> = group.iter().map(|p| p.response).collect();
            let mut fields = Map::new();
            let mut lookups = Vec::new();
            for p in group {
                fields.extend(p.record.fields);
                lookups = p.lookups;
            }
            match found.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
                [id] => updates.items.push(Item { responses, id: Some(id.clone()), fields, lookups }),
                [] if create => {
                    // The created record carries the value, so that a retry finds it.
                    fields.insert(field, Value::String(value));
                    creates.items.push(Item { responses, id: None, fields, lookups });
                }
                [] => {
                    for r in responses {
                        ledger.skip(r, mapping, object, format!("no {object} has {field} = \"{value}\", and this mapping creates none"));
                    }
                }
                several => {
                    let ids: Vec<String> = several.iter().take(5).map(|i| i.to_string()).collect();
                    let more = if several.len() > 5 { ", …" } else { "" };
                    let why = format!(
                        "{n} {object} records have {field} = \"{value}\" ({ids}{more}); Insight writes only when exactly one matches. Merge them in Salesforce, or match on a field whose values are unique.",
                        n = several.len(),
                        ids = ids.join(", ")
                    );
                    for r in responses {
                        ledger.fail(r, mapping, object, why.clone());
                    }
                }
            }
        }
        self.push(ledger, creates);
        self.push(ledger, updates);
        if let Some(u) = upserts {
            self.push(ledger, u);
        }
    }

    /// What a plan of one collection with no lookups writes (object, kind
    /// and key), so that several projects' batches writing the same share
    /// one call; `None` for any other plan.
    pub(super) fn shareable(&self) -> Option<String> {
        match self.subs.as_slice() {
            [only] if only.items.iter().all(|i| i.lookups.is_empty()) => Some(format!("{}/{:?}", only.object.to_lowercase(), only.kind)),
            _ => None,
        }
    }

    /// Sends the plan through one Bulk API 2.0 ingest job when it is one
    /// collection of updates or upserts, each to its own record, with no
    /// lookups (what a retried job cannot duplicate); otherwise as `send`.
    pub(super) async fn send_bulk(self, client: &Client, ledger: &mut Ledger, wait: IngestWait, job: &super::bulk::Job<'_>) -> Result<(), SalesforceError> {
        let op = match self.subs.as_slice() {
            [only] if only.items.iter().all(|i| i.lookups.is_empty()) => match &only.kind {
                Kind::Update => Some(IngestOperation::Update),
                Kind::Upsert { key } => Some(IngestOperation::Upsert { external_id_field: key.clone() }),
                Kind::Create => None,
            },
            _ => None,
        };
        // A text that is exactly Bulk's null marker would be written blank
        // by a job (the CSV format has no escape for it): Collections then.
        let Some(op) = op.filter(|_| self.subs[0].items.len() > 1 && distinct_keys(&self.subs[0]) && !holds_bulk_null(&self.subs[0])) else {
            return self.send(client, ledger).await;
        };
        let only = &self.subs[0];
        let rows: Vec<Map<String, Value>> = records(only, &only.items)
            .into_iter()
            .map(|r| {
                let mut fields = r.fields;
                if let Some(id) = r.id {
                    fields.insert("Id".into(), Value::String(id.to_string()));
                }
                fields
            })
            .collect();
        let results = job.results(client, &only.object, &op, &rows, wait).await?;
        let mut sent = Sent::for_subs(&self.subs);
        let chosen: Vec<usize> = (0..only.items.len()).collect();
        sent.apply(ledger, only, 0, &chosen, results);
        Ok(())
    }

    /// Sends the plan: one collection call when there is one collection and
    /// nothing refers to anything, otherwise composite calls of up to five
    /// collections each, in order.
    pub(super) async fn send(self, client: &Client, ledger: &mut Ledger) -> Result<(), SalesforceError> {
        let mut sent = Sent::for_subs(&self.subs);
        if let [only] = self.subs.as_slice() {
            if only.items.iter().all(|i| i.lookups.is_empty()) {
                let results = send_direct(client, only, &only.items).await?;
                let chosen: Vec<usize> = (0..only.items.len()).collect();
                sent.apply(ledger, only, 0, &chosen, results);
                return Ok(());
            }
        }
        let mut start = 0;
        while start < self.subs.len() {
            let end = (start + COMPOSITE_COLLECTIONS_LIMIT).min(self.subs.len());
            // (collection, subrequest, which items it sends)
            let mut requests: Vec<(usize, Subrequest, Vec<usize>)> = Vec::new();
            // Where each item went in its collection: `[n]` in a reference.
            let mut position: BTreeMap<(usize, usize), usize> = BTreeMap::new();
            for k in start..end {
                let sub = &self.subs[k];
                let (mut items, mut chosen) = (Vec::new(), Vec::new());
                for (n, item) in sub.items.iter().enumerate() {
                    let filled = with_lookups(item, |at| {
                        if at.sub >= start {
                            position.get(&(at.sub, at.item)).map(|p| Value::String(format!("@{{{}[{p}].id}}", reference(at.sub))))
                        } else {
                            sent.id(at)
                        }
                    });
                    match filled {
                        Ok(fields) => {
                            position.insert((k, n), items.len());
                            items.push(Item { fields, lookups: vec![], ..item.clone() });
                            chosen.push(n);
                        }
                        Err(object) => sent.not_written(ledger, sub, k, n, &object),
                    }
                }
                if !items.is_empty() {
                    requests.push((k, subrequest(client, k, sub, &items)?, chosen));
                }
            }
            let results = client.composite(&requests.iter().map(|(_, r, _)| r.clone()).collect::<Vec<_>>()).await?;
            for ((k, _, chosen), result) in requests.into_iter().zip(results) {
                let sub = &self.subs[k];
                match result.save_results() {
                    Ok(results) => sent.apply(ledger, sub, k, &chosen, results),
                    // The collection failed whole (a lookup to a record that
                    // failed does not resolve): those whose records failed are
                    // not written; the others go again on their own.
                    Err(errors) => {
                        // Codes only: Salesforce's messages can quote the values sent (answers).
                        let codes: Vec<String> = errors.iter().map(|e| e.error_code.to_string()).collect();
                        tracing::warn!(object = %sub.object, codes = ?codes, "a collection in a composite call failed; sending it again alone");
                        let (mut items, mut again) = (Vec::new(), Vec::new());
                        for &n in &chosen {
                            let item = &sub.items[n];
                            match with_lookups(item, |at| sent.id(at)) {
                                Ok(fields) => {
                                    items.push(Item { fields, lookups: vec![], ..item.clone() });
                                    again.push(n);
                                }
                                Err(object) => sent.not_written(ledger, sub, k, n, &object),
                            }
                        }
                        if !items.is_empty() {
                            let results = send_direct(client, sub, &items).await?;
                            sent.apply(ledger, sub, k, &again, results);
                        }
                    }
                }
            }
            start = end;
        }
        Ok(())
    }
}

/// Sends the plans of several projects' batches that write the same (see
/// [`Plan::shareable`]; at most 200 records together) as one collection
/// call, and gives each batch its own results. Should two of them write
/// the same record, each goes in a call of its own instead.
pub(super) async fn send_together(client: &Client, parts: Vec<(Plan, &mut Ledger)>) -> Result<(), SalesforceError> {
    let Some(first) = parts.first().and_then(|(p, _)| p.subs.first()) else { return Ok(()) };
    let mut combined = Sub { mapping: 0, object: first.object.clone(), kind: first.kind.clone(), items: vec![] };
    for (plan, _) in &parts {
        combined.items.extend(plan.subs.iter().flat_map(|s| s.items.iter().cloned()));
    }
    if combined.kind != Kind::Create && !distinct_keys(&combined) {
        for (plan, ledger) in parts {
            plan.send(client, ledger).await?;
        }
        return Ok(());
    }
    let mut results = send_direct(client, &combined, &combined.items).await?.into_iter();
    for (plan, ledger) in parts {
        let sub = &plan.subs[0];
        let chosen: Vec<usize> = (0..sub.items.len()).collect();
        let theirs: Vec<SaveResult> = results.by_ref().take(sub.items.len()).collect();
        Sent::for_subs(&plan.subs).apply(ledger, sub, 0, &chosen, theirs);
    }
    Ok(())
}

/// What the calls so far wrote, per collection and item.
struct Sent {
    written: Vec<Vec<Option<RecordId>>>,
    failed: Vec<Vec<bool>>,
}

impl Sent {
    /// Nothing written yet, for each item of each collection.
    fn for_subs(subs: &[Sub]) -> Self {
        Sent {
            written: subs.iter().map(|s| vec![None; s.items.len()]).collect(),
            failed: subs.iter().map(|s| vec![false; s.items.len()]).collect(),
        }
    }

    fn id(&self, at: ItemRef) -> Option<Value> {
        self.written[at.sub][at.item].as_ref().map(|id| Value::String(id.to_string()))
    }

    /// The object of a lookup whose record failed, if one did.
    fn failed_lookup(&self, item: &Item) -> Option<String> {
        item.lookups.iter().find(|(_, _, at)| self.failed[at.sub][at.item]).map(|(_, object, _)| object.clone())
    }

    fn not_written(&mut self, ledger: &mut Ledger, sub: &Sub, k: usize, n: usize, object: &str) {
        self.failed[k][n] = true;
        for &r in &sub.items[n].responses {
            // Whether it passes is the earlier record's failure's to say.
            ledger.fail_for_now(r, sub.mapping, &sub.object, format!("not written, since the {object} record for this response was not written"));
        }
    }

    /// Records a collection's results: `chosen[i]` is the item the i-th result is for.
    fn apply(&mut self, ledger: &mut Ledger, sub: &Sub, k: usize, chosen: &[usize], results: Vec<SaveResult>) {
        for (&n, result) in chosen.iter().zip(results) {
            let item = &sub.items[n];
            let id = result.id.clone().or_else(|| item.id.clone());
            match (result.success, id) {
                (true, Some(id)) => {
                    let created = match sub.kind {
                        Kind::Create => true,
                        Kind::Update => false,
                        Kind::Upsert { .. } => result.created.unwrap_or(false),
                    };
                    for &r in &item.responses {
                        ledger.written(r, sub.mapping, &sub.object, &id, created);
                    }
                    self.written[k][n] = Some(id);
                }
                _ => {
                    if let Some(object) = self.failed_lookup(item) {
                        self.not_written(ledger, sub, k, n, &object);
                        continue;
                    }
                    self.failed[k][n] = true;
                    // Salesforce's own words, code first: what a person needs to fix it.
                    let error = result.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ");
                    // A row lock or a busy server passes: the response goes again later.
                    let passing = !result.errors.is_empty() && result.errors.iter().all(|e| e.error_code.is_transient());
                    for &r in &item.responses {
                        match passing {
                            true => ledger.fail_for_now(r, sub.mapping, &sub.object, error.clone()),
                            false => ledger.fail(r, sub.mapping, &sub.object, error.clone()),
                        }
                    }
                }
            }
        }
    }
}

/// Whether every item of a collection writes a record of its own (an
/// ingest job's rows are told apart by their key).
fn distinct_keys(sub: &Sub) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(sub.items.len());
    sub.items.iter().all(|i| {
        let key = match (&sub.kind, &i.id) {
            (Kind::Upsert { key }, _) => i.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.to_string().to_lowercase()),
            (_, Some(id)) => Some(id.to_string().to_lowercase()),
            _ => None,
        };
        key.is_some_and(|k| seen.insert(k))
    })
}

/// A collection's name in references: letters and digits only.
fn reference(sub: usize) -> String {
    format!("records{sub}")
}

/// An item's fields with its lookups filled by `id_of`; `Err(object)` when
/// a lookup's record was not written.
fn with_lookups(item: &Item, id_of: impl Fn(ItemRef) -> Option<Value>) -> Result<Map<String, Value>, String> {
    let mut fields = item.fields.clone();
    for (field, object, at) in &item.lookups {
        match id_of(*at) {
            Some(v) => {
                fields.insert(field.clone(), v);
            }
            None => return Err(object.clone()),
        }
    }
    Ok(fields)
}

fn records(sub: &Sub, items: &[Item]) -> Vec<SObjectRecord> {
    items
        .iter()
        .map(|i| match &i.id {
            Some(id) => SObjectRecord::with_id(sub.object.clone(), id.clone(), i.fields.clone()),
            None => SObjectRecord::new(sub.object.clone(), i.fields.clone()),
        })
        .collect()
}

fn subrequest(client: &Client, k: usize, sub: &Sub, items: &[Item]) -> Result<Subrequest, SalesforceError> {
    let name = reference(k);
    match &sub.kind {
        Kind::Create => client.create_records_subrequest(&name, &records(sub, items)),
        Kind::Update => client.update_records_subrequest(&name, &records(sub, items)),
        Kind::Upsert { key } => client.upsert_records_subrequest(&name, &sub.object, key, &items.iter().map(|i| i.fields.clone()).collect::<Vec<_>>()),
    }
}

async fn send_direct(client: &Client, sub: &Sub, items: &[Item]) -> Result<Vec<SaveResult>, SalesforceError> {
    match &sub.kind {
        Kind::Create => client.create_records(&records(sub, items), false).await,
        Kind::Update => client.update_records(&records(sub, items), false).await,
        Kind::Upsert { key } => client.upsert_records(&sub.object, key, &items.iter().map(|i| i.fields.clone()).collect::<Vec<_>>(), false).await,
    }
}

/// Whether any value of the collection is exactly Bulk API 2.0's null marker.
fn holds_bulk_null(sub: &Sub) -> bool {
    sub.items.iter().any(|i| i.fields.values().any(|v| v.as_str() == Some(salesforce::rest::BULK_NULL_VALUE)))
}
