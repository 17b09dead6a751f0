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
