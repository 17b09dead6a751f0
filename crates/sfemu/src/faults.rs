//! Per-org fault injection, set through the admin API.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Added latency for every REST call, in milliseconds.
    pub latency_ms: u64,
    /// Share (0.0..=1.0) of REST calls answered with 503 SERVER_UNAVAILABLE.
    pub error_rate: f64,
    /// Answer every REST call with 403 REQUEST_LIMIT_EXCEEDED.
    pub force_limit_exceeded: bool,
    /// Share (0.0..=1.0) of REST calls whose connection is reset before any response byte.
    pub drop_rate: f64,
    /// Validation rules, as an admin adds them in Setup: a record whose
    /// field is given this value is refused with the rule's message.
    pub validation_rules: Vec<ValidationRule>,
}

/// "Error when `object.field` = `equals`" (compared without regard to case),
/// answered as Salesforce answers a failed validation rule shown at a field:
/// `FIELD_CUSTOM_VALIDATION_EXCEPTION` with the rule's message.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ValidationRule {
    pub object: String,
    pub field: String,
    pub equals: String,
    pub message: String,
}

pub enum Injected { None, Unavailable, LimitExceeded, Drop }

impl Faults {
    pub fn roll(&self) -> Injected {
        use rand::Rng;
        if self.force_limit_exceeded { return Injected::LimitExceeded; }
        let mut r = rand::thread_rng();
        if self.drop_rate > 0.0 && r.gen::<f64>() < self.drop_rate { return Injected::Drop; }
        if self.error_rate > 0.0 && r.gen::<f64>() < self.error_rate { return Injected::Unavailable; }
        Injected::None
    }
}
