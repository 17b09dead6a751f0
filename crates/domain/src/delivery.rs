//! Deliveries: a response on its way into Salesforce, and every state it can
//! be in. Nothing is ever dropped: a delivery ends delivered, failed (which a
//! person retries or not), or discarded by a person's choice.

/// Where a response's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for a worker (again, after a passing failure).
    Pending,
    /// Kept back without calling any org, with the reason noted.
    Held,
    Delivered,
    /// Salesforce refused it for a reason a retry will not fix.
    Failed,
    /// A person chose to drop held deliveries; who and why is noted.
    Discarded,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 5] =
        [DeliveryStatus::Pending, DeliveryStatus::Held, DeliveryStatus::Delivered, DeliveryStatus::Failed, DeliveryStatus::Discarded];

    /// The status's code in pages' data attributes and the JSON API.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Held => "held",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Discarded => "discarded",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "On its way",
            DeliveryStatus::Held => "Held",
            DeliveryStatus::Delivered => "Delivered",
            DeliveryStatus::Failed => "Failed",
            DeliveryStatus::Discarded => "Discarded",
        }
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A delivery in plain words: what became of each mapping, from the log the
/// worker kept (`{"object", "record_id"}`, `{"object", "error"}` or
/// `{"object", "skipped"}` per mapping).
pub fn headline(status: DeliveryStatus, outcome: &[serde_json::Value]) -> String {
    let objects = |key: &str| -> Vec<&str> { outcome.iter().filter(|o| o.get(key).is_some()).filter_map(|o| o["object"].as_str()).collect() };
    let (written, failed, skipped) = (objects("record_id"), objects("error"), objects("skipped"));
    match status {
        DeliveryStatus::Pending => "On its way to Salesforce".into(),
        DeliveryStatus::Held => "Held — nothing is lost; it goes once the reason below is dealt with".into(),
        DeliveryStatus::Discarded => "Discarded".into(),
        DeliveryStatus::Delivered if written.is_empty() && !skipped.is_empty() => "Skipped: no mapping applies to this response".into(),
        DeliveryStatus::Delivered if !skipped.is_empty() => format!("Delivered: {} written; {} skipped", written.join(", "), skipped.join(", ")),
        DeliveryStatus::Delivered => "Delivered".into(),
        DeliveryStatus::Failed if !written.is_empty() => format!("Partly delivered: {} written; {} failed", written.join(", "), failed.join(", ")),
        DeliveryStatus::Failed => "Failed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_delivery_says_what_became_of_each_mapping() {
        let contact = json!({"object": "Contact", "record_id": "003000000000001AAA"});
        let failed = json!({"object": "Survey_Response__c", "error": "STRING_TOO_LONG: too long"});
        let skipped = json!({"object": "Case", "skipped": "the response does not meet the condition NPS ≤ 6"});
        assert_eq!(headline(DeliveryStatus::Failed, &[contact.clone(), failed.clone()]), "Partly delivered: Contact written; Survey_Response__c failed");
        assert_eq!(headline(DeliveryStatus::Failed, &[failed]), "Failed");
        assert_eq!(headline(DeliveryStatus::Delivered, &[contact.clone(), skipped.clone()]), "Delivered: Contact written; Case skipped");
        assert_eq!(headline(DeliveryStatus::Delivered, &[skipped]), "Skipped: no mapping applies to this response");
        assert_eq!(headline(DeliveryStatus::Delivered, &[contact]), "Delivered");
    }
}
