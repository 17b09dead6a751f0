//! Sending notifications: batching, the envelope, acknowledgement, retries, replay.

use super::Status;
use crate::state::{App, Org};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Notifications per envelope (the WSDL's `maxOccurs="100"`).
const MAX_PER_ENVELOPE: usize = 100;

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

/// Build the SOAP envelope Salesforce posts for a batch of notifications (1–100):
/// `notes` are (notification id, sObject type, fields).
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

/// True when the listener acknowledged: a notificationsResponse whose Ack is true
/// (`true` or `1`, the two spellings of xsd:boolean true).
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
            if matches!(val.trim(), "true" | "1") { return true; }
        }
        idx = start;
    }
    false
}

/// Salesforce retries with growing intervals (up to 2 hours apart) for 24 hours:
/// 15 s, 30 s, 1 min, … doubling to the 2-hour cap, times `scale`.
pub fn backoff(attempts: u32, scale: f64) -> Duration {
    let secs = (15.0 * 2f64.powi(attempts.saturating_sub(1).min(10) as i32)).min(7200.0);
    Duration::from_secs_f64((secs * scale).max(0.001))
}

/// Notifications of one rule due for one endpoint, sent as one envelope.
struct Batch {
    action_id: String,
    endpoint_url: String,
    include_session_id: bool,
    notes: Vec<(String, String, Vec<(String, Value)>)>,
}

/// Claim the due notifications of an org, grouped by (rule, endpoint), at most 100 per
/// envelope; notifications past 24 hours fail instead.
fn take_due(org: &Org, max_age: Duration) -> Vec<Batch> {
    let mut st = org.outbound.lock();
    let now = Instant::now();
    let mut batches: Vec<Batch> = vec![];
    for m in st.messages.iter_mut().filter(|m| m.status == Status::Pending && !m.in_flight && m.next_at <= now) {
        if m.created.elapsed() > max_age { m.status = Status::Failed; continue; }
        let b = match batches.iter().position(|b| b.action_id == m.action_id && b.endpoint_url == m.endpoint_url && b.notes.len() < MAX_PER_ENVELOPE) {
            Some(i) => &mut batches[i],
            None => {
                batches.push(Batch { action_id: m.action_id.clone(), endpoint_url: m.endpoint_url.clone(), include_session_id: m.include_session_id, notes: vec![] });
                batches.last_mut().expect("just pushed")
            }
        };
        m.in_flight = true;
        b.notes.push((m.id.clone(), m.object.clone(), m.fields.clone()));
    }
    batches
}

/// POST one envelope; Ok only for a 2xx answer carrying `<Ack>true</Ack>`.
async fn post(app: &App, url: &str, env: &str) -> Result<(), String> {
    let res = app.http_client.post(url).header("Content-Type", "text/xml; charset=utf-8").header("SOAPAction", "\"\"").body(env.to_string()).send().await;
    match res {
        Ok(r) => {
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            if status.is_success() && is_ack(&text) { Ok(()) } else { Err(format!("HTTP {status}: no <Ack>true</Ack> in response")) }
        }
        Err(e) => Err(e.to_string()),
    }
}

fn build(app: &App, org: &Org, b: &Batch) -> String {
    let inst = App::instance_url(&app.base_url(true), org);
    let sid = if b.include_session_id { org.users.first().map(|u| app.issue_access_token(org, &u.id, "outbound", None)) } else { None };
    envelope(&org.id, &b.action_id, sid.as_deref(),
        &format!("{inst}/services/Soap/c/62.0/{}", &org.id[..15]), &format!("{inst}/services/Soap/u/62.0/{}", &org.id[..15]), &b.notes)
}

/// Record the outcome of one envelope on each of its notifications.
fn settle(org: &Org, b: &Batch, env: String, outcome: Result<(), String>, scale: f64, max_age: Duration) {
    let ids: Vec<String> = b.notes.iter().map(|n| n.0.clone()).collect();
    let env: Arc<str> = env.into();
    let mut st = org.outbound.lock();
    for m in st.messages.iter_mut().filter(|m| ids.contains(&m.id)) {
        m.in_flight = false;
        m.attempts += 1;
        match &outcome {
            Ok(()) => {
                m.status = Status::Delivered;
                m.last_error = None;
                m.delivered_with = ids.clone();
                m.envelope = Some(env.clone());
            }
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

/// The delivery loop: every 20 ms, sends each org's due notifications in batches.
pub async fn worker(app: Arc<App>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let scale = app.cfg.time_scale;
    let max_age = Duration::from_secs_f64((24.0 * 3600.0 * scale).max(0.01));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            _ = stop.changed() => return,
        }
        for org in app.orgs.clone() {
            for b in take_due(&org, max_age) {
                let env = build(&app, &org, &b);
                let outcome = post(&app, &b.endpoint_url, &env).await;
                settle(&org, &b, env, outcome, scale, max_age);
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no outbound message {0}")]
    NotFound(String),
    #[error("outbound message {0} has not been delivered; only a delivered envelope can be replayed")]
    NotDelivered(String),
}

/// What a replay sent and how the listener answered.
#[derive(Debug, serde::Serialize)]
pub struct Replayed {
    /// The notification ids of the re-sent envelope, unchanged.
    pub notification_ids: Vec<String>,
    pub endpoint_url: String,
    pub acknowledged: bool,
    pub error: Option<String>,
}

/// Re-send, now, the exact envelope that delivered notification `id` (the same
/// notification ids, fields and session id), as Salesforce sometimes delivers a message
/// twice. The notifications stay delivered whatever the listener answers.
pub async fn replay(app: &App, org: &Org, id: &str) -> Result<Replayed, ReplayError> {
    let (env, ids, url) = {
        let st = org.outbound.lock();
        let m = st.messages.iter().find(|m| m.id == id).ok_or_else(|| ReplayError::NotFound(id.to_string()))?;
        match (&m.status, &m.envelope) {
            (Status::Delivered, Some(env)) => (env.clone(), m.delivered_with.clone(), m.endpoint_url.clone()),
            _ => return Err(ReplayError::NotDelivered(id.to_string())),
        }
    };
    let outcome = post(app, &url, &env).await;
    let mut st = org.outbound.lock();
    for m in st.messages.iter_mut().filter(|m| ids.contains(&m.id)) { m.replays += 1; }
    Ok(Replayed { notification_ids: ids, endpoint_url: url, acknowledged: outcome.is_ok(), error: outcome.err() })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ack_detection() {
        assert!(is_ack("<soapenv:Envelope><soapenv:Body><notificationsResponse xmlns=\"http://soap.sforce.com/2005/09/outbound\"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"));
        assert!(is_ack("<notificationsResponse><out:Ack>true</out:Ack></notificationsResponse>"));
        assert!(is_ack("<notificationsResponse><Ack>1</Ack></notificationsResponse>"), "xsd:boolean");
        assert!(!is_ack("<notificationsResponse><Ack>false</Ack></notificationsResponse>"));
        assert!(!is_ack("<Ack>true</Ack>"));
    }

    #[test]
    fn retries_grow_to_two_hours_apart() {
        let secs: Vec<f64> = (1..=12).map(|n| backoff(n, 1.0).as_secs_f64()).collect();
        assert_eq!(&secs[..4], &[15.0, 30.0, 60.0, 120.0]);
        assert!(secs.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(secs[11], 7200.0);
        assert_eq!(backoff(1, 0.001), Duration::from_millis(15));
    }
}
