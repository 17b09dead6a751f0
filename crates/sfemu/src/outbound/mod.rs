//! Workflow outbound messages: rules ("when a T is created/updated and field=value,
//! send fields [..] to URL"), the SOAP notifications envelope
//! (namespace http://soap.sforce.com/2005/09/outbound), delivery with
//! exponential-backoff retries for up to 24 hours (scaled by `time_scale`).

use crate::ids;
use crate::schema::ObjectDef;
use crate::state::{sf_datetime_now, App, Org, Record};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboundRule {
    /// 04k… action id; generated when absent.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub object: String,
    /// Optional criterion: the record's `field` must equal `value`.
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub value: Option<Value>,
    /// Fields to send (Id is always sent).
    #[serde(default)]
    pub fields: Vec<String>,
    pub endpoint_url: String,
    /// "created" or "created_or_updated" (default).
    #[serde(default)]
    pub trigger: Option<String>,
    /// Send a session id the listener can call back with.
    #[serde(default)]
    pub include_session_id: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Status { Pending, Delivered, Failed }

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: String,
    pub action_id: String,
    pub object: String,
    pub record_id: String,
    pub endpoint_url: String,
    pub status: Status,
    pub attempts: u32,
    pub created_date: String,
    pub last_error: Option<String>,
    #[serde(skip)]
    pub fields: Vec<(String, Value)>,
    #[serde(skip)]
    pub next_at: Instant,
    #[serde(skip)]
    pub created: Instant,
    #[serde(skip)]
    pub in_flight: bool,
    #[serde(skip)]
    pub include_session_id: bool,
}

pub struct OutboundState {
    pub rules: Vec<OutboundRule>,
    pub messages: Vec<Message>,
}

impl OutboundState {
    pub fn new(rules: Vec<OutboundRule>) -> Self {
        let mut s = OutboundState { rules: vec![], messages: vec![] };
        for r in rules { s.add_rule(r); }
        s
    }
    pub fn add_rule(&mut self, mut r: OutboundRule) -> OutboundRule {
        if r.id.is_none() { r.id = Some(ids::new_id("04k")); }
        self.rules.push(r.clone());
        r
    }
}

fn matches(rule: &OutboundRule, obj: &ObjectDef, rec: &Record, created: bool) -> bool {
    if !rule.object.eq_ignore_ascii_case(&obj.name) { return false; }
    if rule.trigger.as_deref() == Some("created") && !created { return false; }
    match (&rule.field, &rule.value) {
        (Some(f), Some(v)) => {
            let name = obj.field(f).map(|fd| fd.name.clone()).unwrap_or_else(|| f.clone());
            let actual = rec.get(&name).cloned().unwrap_or(Value::Null);
            match (&actual, v) {
                (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
                (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
                (a, b) => a == b,
            }
        }
        _ => true,
    }
}

/// Called after every successful create/update.
pub fn on_change(_app: &App, org: &Org, obj: &ObjectDef, rec: &Record, created: bool) {
    let mut st = org.outbound.lock();
    // An empty record: no rule watched the object when it was written (see records::Changed).
    if st.rules.is_empty() || rec.is_empty() { return; }
    let now = Instant::now();
    let new: Vec<Message> = st.rules.iter().filter(|r| matches(r, obj, rec, created)).map(|r| {
        let mut fields = vec![("Id".to_string(), rec.get("Id").cloned().unwrap_or(Value::Null))];
        for f in &r.fields {
            if let Some(fd) = obj.field(f) {
                if fd.name != "Id" { fields.push((fd.name.clone(), rec.get(&fd.name).cloned().unwrap_or(Value::Null))); }
            }
        }
        Message {
            id: ids::new_id("04l"), action_id: r.id.clone().unwrap_or_default(), object: obj.name.clone(),
            record_id: rec.get("Id").and_then(|v| v.as_str()).unwrap_or("").into(), endpoint_url: r.endpoint_url.clone(),
            status: Status::Pending, attempts: 0, created_date: sf_datetime_now(), last_error: None, fields,
            next_at: now, created: now, in_flight: false, include_session_id: r.include_session_id,
        }
    }).collect();
    st.messages.extend(new);
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

/// Build the SOAP envelope Salesforce posts for a batch of notifications (1–100).
pub fn envelope(org_id: &str, action_id: &str, session_id: Option<&str>, enterprise_url: &str, partner_url: &str,
    notes: &[(String, String, Vec<(String, Value)>)]) -> String {
    let mut s = String::with_capacity(1024);
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str("<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n");
    s.push_str(" <soapenv:Body>\n  <notifications xmlns=\"http://soap.sforce.com/2005/09/outbound\">\n");
    s.push_str(&format!("   <OrganizationId>{}</OrganizationId>\n", xml_escape(org_id)));
    s.push_str(&format!("   <ActionId>{}</ActionId>\n", xml_escape(action_id)));
    match session_id {
        Some(sid) => s.push_str(&format!("   <SessionId>{}</SessionId>\n", xml_escape(sid))),
        None => s.push_str("   <SessionId xsi:nil=\"true\"/>\n"),
    }
    s.push_str(&format!("   <EnterpriseUrl>{}</EnterpriseUrl>\n", xml_escape(enterprise_url)));
    s.push_str(&format!("   <PartnerUrl>{}</PartnerUrl>\n", xml_escape(partner_url)));
    for (nid, ty, fields) in notes {
        s.push_str("   <Notification>\n");
        s.push_str(&format!("    <Id>{}</Id>\n", xml_escape(nid)));
        s.push_str(&format!("    <sObject xsi:type=\"sf:{}\" xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\">\n", xml_escape(ty)));
        for (k, v) in fields {
            match v {
                Value::Null => s.push_str(&format!("     <sf:{k} xsi:nil=\"true\"/>\n")),
                Value::String(x) => s.push_str(&format!("     <sf:{k}>{}</sf:{k}>\n", xml_escape(x))),
                other => s.push_str(&format!("     <sf:{k}>{}</sf:{k}>\n", xml_escape(&other.to_string()))),
            }
        }
        s.push_str("    </sObject>\n   </Notification>\n");
    }
    s.push_str("  </notifications>\n </soapenv:Body>\n</soapenv:Envelope>\n");
    s
}

/// True when the listener acknowledged: a notificationsResponse whose Ack is true.
pub fn is_ack(body: &str) -> bool {
    let Some(i) = body.find("notificationsResponse") else { return false };
    let rest = &body[i..];
    // <Ack>true</Ack>, possibly namespace-prefixed (<ns:Ack>true</ns:Ack>).
    let mut idx = 0;
    while let Some(j) = rest[idx..].find("Ack>") {
        let start = idx + j + 4;
        let before = &rest[..idx + j];
        if before.ends_with('<') || before.rsplit('<').next().map(|t| t.ends_with(':') && !t.contains('/')).unwrap_or(false) {
            let val: String = rest[start..].chars().take_while(|&c| c != '<').collect();
            if val.trim() == "true" { return true; }
        }
        idx = start;
    }
    false
}

/// Salesforce retries with growing intervals (up to 2 hours apart) for 24 hours.
pub fn backoff(attempts: u32, scale: f64) -> Duration {
    let secs = (15.0 * 2f64.powi(attempts.saturating_sub(1).min(10) as i32)).min(7200.0);
    Duration::from_secs_f64((secs * scale).max(0.001))
}

/// The delivery loop: picks due messages every few milliseconds, sends them grouped by action.
pub async fn worker(app: Arc<App>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let scale = app.cfg.time_scale;
    let max_age = Duration::from_secs_f64((24.0 * 3600.0 * scale).max(0.01));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            _ = stop.changed() => return,
        }
        for org in app.orgs.clone() {
            let batches: Vec<(String, String, bool, Vec<(String, String, Vec<(String, Value)>)>)> = {
                let mut st = org.outbound.lock();
                let now = Instant::now();
                let mut batches: Vec<(String, String, bool, Vec<(String, String, Vec<(String, Value)>)>)> = vec![];
                for m in st.messages.iter_mut().filter(|m| m.status == Status::Pending && !m.in_flight && m.next_at <= now) {
                    if m.created.elapsed() > max_age { m.status = Status::Failed; continue; }
                    let b = match batches.iter_mut().find(|b| b.0 == m.action_id && b.3.len() < 100) {
                        Some(b) => b,
                        None => { batches.push((m.action_id.clone(), m.endpoint_url.clone(), m.include_session_id, vec![])); batches.last_mut().unwrap() }
                    };
                    m.in_flight = true;
                    b.3.push((m.id.clone(), m.object.clone(), m.fields.clone()));
                }
                batches
            };
            for (action, url, with_sid, notes) in batches {
                let base = app.base_url(true);
                let inst = App::instance_url(&base, &org);
                let sid = if with_sid { org.users.first().map(|u| app.issue_access_token(&org, &u.id, "outbound", None)) } else { None };
                let env = envelope(&org.id, &action, sid.as_deref(),
                    &format!("{inst}/services/Soap/c/62.0/{}", &org.id[..15]), &format!("{inst}/services/Soap/u/62.0/{}", &org.id[..15]), &notes);
                let res = app.http_client.post(&url).header("Content-Type", "text/xml; charset=utf-8").header("SOAPAction", "\"\"").body(env).send().await;
                let outcome: Result<(), String> = match res {
                    Ok(r) => {
                        let status = r.status();
                        let text = r.text().await.unwrap_or_default();
                        if status.is_success() && is_ack(&text) { Ok(()) } else { Err(format!("HTTP {status}: no <Ack>true</Ack> in response")) }
                    }
                    Err(e) => Err(e.to_string()),
                };
                let ids: Vec<String> = notes.iter().map(|n| n.0.clone()).collect();
                let mut st = org.outbound.lock();
                for m in st.messages.iter_mut().filter(|m| ids.contains(&m.id)) {
                    m.in_flight = false;
                    m.attempts += 1;
                    match &outcome {
                        Ok(()) => { m.status = Status::Delivered; m.last_error = None; }
                        Err(e) => {
                            m.last_error = Some(e.clone());
                            m.next_at = Instant::now() + backoff(m.attempts, scale);
                            if m.created.elapsed() + backoff(m.attempts, scale) > max_age { m.status = Status::Failed; }
                        }
                    }
                }
                // Keep memory bounded: forget old delivered messages.
                let delivered = st.messages.iter().filter(|m| m.status == Status::Delivered).count();
                if delivered > 10_000 { st.messages.retain(|m| m.status != Status::Delivered); }
            }
        }
    }
}

pub fn list(org: &Org) -> Value {
    let st = org.outbound.lock();
    json!({
        "rules": st.rules,
        "messages": st.messages,
        "pending": st.messages.iter().filter(|m| m.status == Status::Pending).count(),
        "failed": st.messages.iter().filter(|m| m.status == Status::Failed).count(),
        "delivered": st.messages.iter().filter(|m| m.status == Status::Delivered).count(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ack_detection() {
        assert!(is_ack("<soapenv:Envelope><soapenv:Body><notificationsResponse xmlns=\"http://soap.sforce.com/2005/09/outbound\"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"));
        assert!(is_ack("<notificationsResponse><out:Ack>true</out:Ack></notificationsResponse>"));
        assert!(!is_ack("<notificationsResponse><Ack>false</Ack></notificationsResponse>"));
        assert!(!is_ack("<Ack>true</Ack>"));
    }
}
