//! Which saves create notifications.

use super::{Fire, Message, OutboundRule, Status};
use crate::ids;
use crate::records::Changed;
use crate::schema::ObjectDef;
use crate::state::{sf_datetime_now, App, Org, Record};
use serde_json::Value;
use std::time::Instant;

/// Whether the record meets the rule's criterion (a rule without one always does).
fn meets(rule: &OutboundRule, obj: &ObjectDef, rec: &Record) -> bool {
    let (Some(f), Some(v)) = (&rule.field, &rule.value) else { return true };
    let name = obj.field(f).map(|fd| fd.name.clone()).unwrap_or_else(|| f.clone());
    let actual = rec.get(&name).cloned().unwrap_or(Value::Null);
    match (&actual, v) {
        (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

/// Whether saving `rec` fires the rule; `previous` is the record before an update
/// (`None` when it was created).
pub fn fires(rule: &OutboundRule, obj: &ObjectDef, rec: &Record, previous: Option<&Record>, created: bool) -> bool {
    if !rule.object.eq_ignore_ascii_case(&obj.name) { return false; }
    if rule.trigger.as_deref() == Some("created") && !created { return false; }
    if !meets(rule, obj, rec) { return false; }
    match (rule.fire, previous) {
        (Fire::EveryTime, _) | (_, None) => true,
        (Fire::OnlyWhenUpdatedToMeet, Some(before)) => !rule.has_criterion() || !meets(rule, obj, before),
    }
}

/// Called after every successful create/update, once the change is committed.
pub fn on_change(app: &App, org: &Org, obj: &ObjectDef, change: &Changed) {
    on_changes(app, org, [(obj, change)]);
}

/// The changes of one request (an sObject Collections or Tree call), queued together so
/// the worker sees all their notifications at once and batches them.
pub fn on_changes<'a>(_app: &App, org: &Org, changes: impl IntoIterator<Item = (&'a ObjectDef, &'a Changed)>) {
    let mut st = org.outbound.lock();
    if st.rules.is_empty() { return; }
    let now = Instant::now();
    let mut new: Vec<Message> = vec![];
    for (obj, change) in changes {
        let rec = &change.record;
        // An empty record: no rule watched the object when it was written (see records::Changed).
        if rec.is_empty() { continue; }
        let previous = if change.created { None } else { change.previous.as_ref() };
        new.extend(st.rules.iter().filter(|r| fires(r, obj, rec, previous, change.created)).map(|r| notification(r, obj, rec, now)));
    }
    st.messages.extend(new);
}

fn notification(r: &OutboundRule, obj: &ObjectDef, rec: &Record, now: Instant) -> Message {
    let mut fields = vec![("Id".to_string(), rec.get("Id").cloned().unwrap_or(Value::Null))];
    for f in &r.fields {
        if let Some(fd) = obj.field(f) {
            if fd.name != "Id" { fields.push((fd.name.clone(), rec.get(&fd.name).cloned().unwrap_or(Value::Null))); }
        }
    }
    Message {
        id: ids::new_id("04l"), action_id: r.id.clone().unwrap_or_default(), object: obj.name.clone(),
        record_id: rec.get("Id").and_then(|v| v.as_str()).unwrap_or("").into(), endpoint_url: r.endpoint_url.clone(),
        status: Status::Pending, attempts: 0, created_date: sf_datetime_now(), last_error: None,
        delivered_with: vec![], replays: 0, fields, envelope: None,
        next_at: now, created: now, in_flight: false, include_session_id: r.include_session_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmulatorConfig;
    use serde_json::json;

    fn case() -> std::sync::Arc<ObjectDef> {
        let app = App::new(EmulatorConfig::default_demo()).unwrap();
        app.orgs[0].object("Case").unwrap().clone()
    }

    fn rule(fire: Fire) -> OutboundRule {
        serde_json::from_value(json!({"object": "Case", "field": "Status", "value": "Closed", "endpoint_url": "http://x", "fire": fire})).unwrap()
    }

    fn status(s: &str) -> Record {
        json!({"Id": "500000000000001AAA", "Status": s}).as_object().unwrap().clone()
    }

    #[test]
    fn new_rules_fire_only_when_a_record_is_updated_to_meet_the_criterion() {
        let (case, r) = (case(), rule(Fire::OnlyWhenUpdatedToMeet));
        assert_eq!(serde_json::from_value::<OutboundRule>(json!({"object": "Case", "endpoint_url": "x"})).unwrap().fire, Fire::OnlyWhenUpdatedToMeet);
        // (before, after, fires?): None before means the record was created.
        let cases = [
            (None, "Closed", true, "created closed"),
            (None, "New", false, "created open"),
            (Some("New"), "Closed", true, "closing a case"),
            (Some("Closed"), "Closed", false, "editing the closed case again"),
            (Some("Closed"), "Working", false, "reopening"),
            (Some("Working"), "closed", true, "closing again, picklist values compare case-insensitively"),
        ];
        for (before, after, want, story) in cases {
            let prev = before.map(status);
            assert_eq!(fires(&r, &case, &status(after), prev.as_ref(), before.is_none()), want, "{story}");
        }
    }

    #[test]
    fn every_time_rules_fire_on_each_save_that_meets_the_criterion() {
        let (case, r) = (case(), rule(Fire::EveryTime));
        assert!(fires(&r, &case, &status("Closed"), Some(&status("Closed")), false), "editing the closed case again");
        assert!(fires(&r, &case, &status("Closed"), Some(&status("New")), false));
        assert!(!fires(&r, &case, &status("New"), Some(&status("Closed")), false));
    }

    #[test]
    fn a_rule_without_a_criterion_fires_on_every_save_and_created_rules_only_on_create() {
        let case = case();
        let every: OutboundRule = serde_json::from_value(json!({"object": "case", "endpoint_url": "x"})).unwrap();
        assert!(fires(&every, &case, &status("New"), Some(&status("New")), false));
        let created: OutboundRule = serde_json::from_value(json!({"object": "Case", "endpoint_url": "x", "trigger": "created"})).unwrap();
        assert!(fires(&created, &case, &status("New"), None, true));
        assert!(!fires(&created, &case, &status("New"), Some(&status("New")), false));
        let other: OutboundRule = serde_json::from_value(json!({"object": "Account", "endpoint_url": "x"})).unwrap();
        assert!(!fires(&other, &case, &status("New"), None, true));
    }
}
