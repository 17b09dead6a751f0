//! Outbound messages: rules ("when a T is created/updated and field=value, send fields
//! [..] to URL", with a record-triggered Flow's choice of when a criterion fires), the
//! SOAP notifications envelope (namespace http://soap.sforce.com/2005/09/outbound) and
//! its delivery as Salesforce does it:
//! - the notifications of one rule pending for one endpoint go out in one envelope, up
//!   to 100 (the WSDL's `maxOccurs="100"`);
//! - anything but a `notificationsResponse` with `<Ack>true</Ack>` is retried with
//!   growing intervals, at most 2 hours apart, for up to 24 hours (both scaled by
//!   `time_scale`); a notification keeps its 04l… id on every retry;
//! - retries are independent, so notifications can arrive out of order, and a delivered
//!   envelope can be replayed (admin API) to make a listener see a duplicate.
//!
//! `rules` decides which saves create notifications, `delivery` sends them.

mod delivery;
mod rules;

pub use delivery::{backoff, envelope, is_ack, replay, worker, ReplayError, Replayed};
pub use rules::{fires, on_change, on_changes};

use crate::ids;
use crate::state::Org;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

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
    /// When a rule with a criterion fires (a rule without one fires on every save).
    #[serde(default)]
    pub fire: Fire,
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

impl OutboundRule {
    pub fn has_criterion(&self) -> bool {
        self.field.is_some() && self.value.is_some()
    }
}

/// A record-triggered Flow's two answers to "when to run the flow for updated records".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fire {
    /// "Only when a record is updated to meet the condition requirements": a created
    /// record that meets the criterion fires, an update fires only when the record did
    /// not meet it before the update (closing a Case fires once; editing the closed Case
    /// again does not).
    #[default]
    OnlyWhenUpdatedToMeet,
    /// "Every time a record is updated and meets the condition requirements".
    EveryTime,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Status { Pending, Delivered, Failed }

/// One notification (one record change for one rule), as Salesforce's outbound-message
/// queue shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    /// The notification id (04l…), the same on every retry and replay.
    pub id: String,
    pub action_id: String,
    pub object: String,
    pub record_id: String,
    pub endpoint_url: String,
    pub status: Status,
    pub attempts: u32,
    pub created_date: String,
    pub last_error: Option<String>,
    /// The notification ids of the envelope that was acknowledged (this one included).
    pub delivered_with: Vec<String>,
    /// How many times the delivered envelope was replayed (admin API).
    pub replays: u32,
    #[serde(skip)]
    pub fields: Vec<(String, Value)>,
    /// The exact envelope that was acknowledged, for replay.
    #[serde(skip)]
    pub envelope: Option<Arc<str>>,
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
