//! What an operator watches: the delivery queue by status, what became of
//! each delivery, the API calls Insight makes into each org and the budget
//! it has left, and how long a response takes to be stored and to reach
//! Salesforce — in Prometheus' text format, for `/metrics`.
//!
//! Each `App` has a recorder of its own (not the process-wide one the
//! `metrics` macros use), so two apps in one process — the tests — never
//! count into each other. Counters and histograms are recorded as things
//! happen; the queue and budget gauges are read from the database when
//! `/metrics` is asked for, so every process (server or worker) on one
//! database shows the same queue.

use metrics::{Counter, Histogram, Key, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use std::time::Duration;

static METADATA: Metadata<'static> = Metadata::new("insight", Level::INFO, Some(module_path!()));

/// Seconds from a respondent's submit to its records in Salesforce.
const DELIVERY_SECONDS: &str = "insight_delivery_seconds";
/// Seconds a submission waits for its durable commit.
const INGEST_SECONDS: &str = "insight_ingest_seconds";

/// What became of a delivery attempt, as `insight_deliveries_total` labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Salesforce refused it for good; it waits for a person.
    Failed,
    /// A passing failure: it goes again after a backoff.
    Retried,
    /// Held with no call: the project may not deliver now.
    Held,
    /// Put back to wait for API budget.
    WaitingForBudget,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Failed => "failed",
            Outcome::Retried => "retried",
            Outcome::Held => "held",
            Outcome::WaitingForBudget => "waiting_for_budget",
        }
    }
}

pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(DELIVERY_SECONDS.into()), &[0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0])
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(INGEST_SECONDS.into()), &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]))
            .expect("bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        let metrics = Metrics { recorder, handle };
        metrics.describe();
        metrics
    }

    fn describe(&self) {
        let counter = |name: &'static str, unit, text: &'static str| self.recorder.describe_counter(name.into(), unit, text.into());
        let gauge = |name: &'static str, text: &'static str| self.recorder.describe_gauge(name.into(), None, text.into());
        counter("insight_deliveries_total", None, "Delivery attempts by what became of them");
        counter("insight_records_skipped_total", None, "Records a mapping did not write for a response (its condition was not met, or no value to match)");
        counter("insight_salesforce_api_calls_total", None, "Salesforce API calls the delivery worker made, per org");
        counter("insight_responses_accepted_total", None, "Survey responses stored");
        gauge("insight_deliveries", "Deliveries in the queue by status (all projects)");
        gauge("insight_deliveries_waiting_for_budget", "Pending deliveries waiting for API budget");
        gauge("insight_org_api_requests_used", "The org's daily API requests used, as Salesforce last reported (all integrations)");
        gauge("insight_org_api_requests_max", "The org's daily API request limit, as Salesforce last reported");
        gauge("insight_org_api_calls_insight_last_day", "API calls Insight made into the org over the last 24 hours");
        gauge("insight_org_api_budget_left", "API calls Insight may still make into the org under its share");
        gauge("insight_org_paused", "1 when the org's deliveries are paused for API budget");
        self.recorder.describe_histogram(DELIVERY_SECONDS.into(), Some(Unit::Seconds), "From a respondent's submit to its records written in Salesforce".into());
        self.recorder.describe_histogram(INGEST_SECONDS.into(), Some(Unit::Seconds), "How long a submission waits for its durable commit".into());
    }

    fn counter(&self, name: &'static str, labels: Vec<Label>) -> Counter {
        self.recorder.register_counter(&Key::from_parts(name, labels), &METADATA)
    }

    fn histogram(&self, name: &'static str) -> Histogram {
        self.recorder.register_histogram(&Key::from_name(name), &METADATA)
    }

    fn gauge(&self, name: &'static str, labels: Vec<Label>, value: f64) {
        self.recorder.register_gauge(&Key::from_parts(name, labels), &METADATA).set(value)
    }

    pub fn deliveries(&self, outcome: Outcome, n: usize) {
        if n > 0 {
            self.counter("insight_deliveries_total", vec![Label::new("outcome", outcome.label())]).increment(n as u64);
        }
    }

    pub fn skipped(&self, n: usize) {
        if n > 0 {
            self.counter("insight_records_skipped_total", vec![]).increment(n as u64);
        }
    }

    pub fn api_calls(&self, org_id: &str, n: u64) {
        if n > 0 {
            self.counter("insight_salesforce_api_calls_total", vec![Label::new("org", org_id.to_string())]).increment(n);
        }
    }

    /// A response delivered `since_submit` after its respondent submitted it.
    pub fn delivered_after(&self, since_submit: Duration) {
        self.histogram(DELIVERY_SECONDS).record(since_submit.as_secs_f64());
    }

    pub fn accepted(&self, took: Duration) {
        self.counter("insight_responses_accepted_total", vec![]).increment(1);
        self.histogram(INGEST_SECONDS).record(took.as_secs_f64());
    }

    /// Folds histogram samples into their buckets; without it they pile up
    /// between scrapes, so the app calls it every few seconds.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// The text `/metrics` answers, after setting the gauges from `queue`
    /// and `orgs`.
    pub fn render(&self, queue: &store::deliveries::DeliveryCounts, orgs: &[store::api_budget::OrgBudgetSeen], policy: domain::budget::BudgetPolicy) -> String {
        for (status, n) in [("pending", queue.pending), ("held", queue.held), ("delivered", queue.delivered), ("failed", queue.failed), ("discarded", queue.discarded)] {
            self.gauge("insight_deliveries", vec![Label::new("status", status)], n as f64);
        }
        self.gauge("insight_deliveries_waiting_for_budget", vec![], queue.waiting_for_budget as f64);
        for org in orgs {
            let label = || vec![Label::new("org", org.org_id.clone())];
            if let Some((used, max)) = org.org_usage {
                self.gauge("insight_org_api_requests_used", label(), used as f64);
                self.gauge("insight_org_api_requests_max", label(), max as f64);
                let left = (policy.share_of(max) - org.insight_last_day).min(max - used).max(0);
                self.gauge("insight_org_api_budget_left", label(), left as f64);
            }
            self.gauge("insight_org_api_calls_insight_last_day", label(), org.insight_last_day as f64);
            self.gauge("insight_org_paused", label(), if org.paused { 1.0 } else { 0.0 });
        }
        self.handle.render()
    }
}
