//! An Opportunity's fields that its stage decides, as Salesforce sets them on every write.
//!
//! Salesforce keeps a stage's metadata in `OpportunityStage` (DefaultProbability,
//! ForecastCategory, ForecastCategoryName, IsClosed, IsWon). The Object Reference says of
//! the Opportunity's fields: `IsClosed` and `IsWon` are "directly controlled by StageName"
//! and cannot be set (describe: createable and updateable false); `Probability` is
//! "implicitly set based on the StageName value, but you can override it";
//! `ForecastCategoryName` is "implied, but not directly controlled, by the StageName field"
//! and can be overridden; `ForecastCategory` follows `ForecastCategoryName`;
//! `ExpectedRevenue` is Amount × Probability; `FiscalYear`, `FiscalQuarter` and `Fiscal`
//! come from `CloseDate` (a fiscal year that starts in January, the default).

use crate::state::Record;
use serde_json::{json, Value};

/// A forecast category: the API value of `ForecastCategory` and the label that is the
/// value of `ForecastCategoryName` (describe: `BestCase` / "Best Case", `Forecast` / "Commit").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForecastCategory {
    Omitted,
    Pipeline,
    BestCase,
    Commit,
    Closed,
}

impl ForecastCategory {
    const ALL: [ForecastCategory; 5] = [Self::Omitted, Self::Pipeline, Self::BestCase, Self::Commit, Self::Closed];

    /// The value of `ForecastCategory`.
    pub fn api_value(self) -> &'static str {
        match self {
            Self::Omitted => "Omitted",
            Self::Pipeline => "Pipeline",
            Self::BestCase => "BestCase",
            Self::Commit => "Forecast",
            Self::Closed => "Closed",
        }
    }

    /// The value of `ForecastCategoryName`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Omitted => "Omitted",
            Self::Pipeline => "Pipeline",
            Self::BestCase => "Best Case",
            Self::Commit => "Commit",
            Self::Closed => "Closed",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// One value of the stage picklist with its `OpportunityStage` metadata.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    pub name: &'static str,
    pub probability: u8,
    pub forecast: ForecastCategory,
    pub closed: bool,
    pub won: bool,
}

const fn open(name: &'static str, probability: u8) -> Stage {
    Stage { name, probability, forecast: ForecastCategory::Pipeline, closed: false, won: false }
}

/// The stages of a new Salesforce org, in their sort order.
pub const STANDARD_STAGES: [Stage; 10] = [
    open("Prospecting", 10),
    open("Qualification", 10),
    open("Needs Analysis", 20),
    open("Value Proposition", 50),
    open("Id. Decision Makers", 60),
    open("Perception Analysis", 70),
    open("Proposal/Price Quote", 75),
    open("Negotiation/Review", 90),
    Stage { name: "Closed Won", probability: 100, forecast: ForecastCategory::Closed, closed: true, won: true },
    Stage { name: "Closed Lost", probability: 0, forecast: ForecastCategory::Omitted, closed: true, won: false },
];

pub fn stage(name: &str) -> Option<&'static Stage> {
    STANDARD_STAGES.iter().find(|s| s.name == name)
}

/// Set the stage-derived fields of an Opportunity after a write. `written` names the fields
/// the request gave (canonical names); `before` is the record before an update (`None` on
/// create). A stage the emulator has no metadata for (StageName is not a restricted
/// picklist, so any value is taken) leaves Probability and the forecast category as they
/// are and counts as open.
pub fn derive(r: &mut Record, written: &[&str], before: Option<&Record>) {
    let gave = |f: &str| written.contains(&f);
    let stage_name = r.get("StageName").and_then(Value::as_str).map(str::to_string);
    let changed_stage = gave("StageName") && before.and_then(|b| b.get("StageName")) != r.get("StageName");
    let meta = stage_name.as_deref().and_then(stage);
    r.insert("IsClosed".into(), json!(meta.is_some_and(|s| s.closed)));
    r.insert("IsWon".into(), json!(meta.is_some_and(|s| s.won)));
    // A new stage sets Probability and ForecastCategoryName, unless the same write gives them.
    if let (Some(s), true) = (meta, before.is_none() || changed_stage) {
        if !gave("Probability") {
            r.insert("Probability".into(), json!(f64::from(s.probability)));
        }
        if !gave("ForecastCategoryName") {
            r.insert("ForecastCategoryName".into(), json!(s.forecast.name()));
        }
    }
    let category = r.get("ForecastCategoryName").and_then(Value::as_str).and_then(ForecastCategory::from_name);
    if let Some(c) = category {
        r.insert("ForecastCategory".into(), json!(c.api_value()));
    }
    let amount = r.get("Amount").and_then(Value::as_f64);
    let probability = r.get("Probability").and_then(Value::as_f64);
    let expected = match (amount, probability) {
        (Some(a), Some(p)) => json!(a * p / 100.0),
        _ => Value::Null,
    };
    r.insert("ExpectedRevenue".into(), expected);
    let close = r.get("CloseDate").and_then(Value::as_str).and_then(|d| Some((d.get(..4)?.parse::<i32>().ok()?, d.get(5..7)?.parse::<u8>().ok()?)));
    let (year, quarter, fiscal) = match close {
        Some((y, m)) => {
            let q = (m.saturating_sub(1)) / 3 + 1;
            (json!(y), json!(q), json!(format!("{y} {q}")))
        }
        None => (Value::Null, Value::Null, Value::Null),
    };
    r.insert("FiscalYear".into(), year);
    r.insert("FiscalQuarter".into(), quarter);
    r.insert("Fiscal".into(), fiscal);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: Value) -> Record {
        fields.as_object().unwrap().clone()
    }

    fn created(fields: Value) -> Record {
        let mut r = record(fields);
        let written: Vec<String> = r.keys().cloned().collect();
        let w: Vec<&str> = written.iter().map(String::as_str).collect();
        derive(&mut r, &w, None);
        r
    }

    #[test]
    fn every_standard_stage_sets_its_metadata() {
        let table: [(&str, u8, &str, &str, bool, bool); 10] = [
            ("Prospecting", 10, "Pipeline", "Pipeline", false, false),
            ("Qualification", 10, "Pipeline", "Pipeline", false, false),
            ("Needs Analysis", 20, "Pipeline", "Pipeline", false, false),
            ("Value Proposition", 50, "Pipeline", "Pipeline", false, false),
            ("Id. Decision Makers", 60, "Pipeline", "Pipeline", false, false),
            ("Perception Analysis", 70, "Pipeline", "Pipeline", false, false),
            ("Proposal/Price Quote", 75, "Pipeline", "Pipeline", false, false),
            ("Negotiation/Review", 90, "Pipeline", "Pipeline", false, false),
            ("Closed Won", 100, "Closed", "Closed", true, true),
            ("Closed Lost", 0, "Omitted", "Omitted", true, false),
        ];
        for (stage, p, category, name, closed, won) in table {
            let r = created(json!({"StageName": stage}));
            assert_eq!(r["Probability"], json!(f64::from(p)), "{stage}");
            assert_eq!(r["ForecastCategory"], json!(category), "{stage}");
            assert_eq!(r["ForecastCategoryName"], json!(name), "{stage}");
            assert_eq!((r["IsClosed"].clone(), r["IsWon"].clone()), (json!(closed), json!(won)), "{stage}");
        }
    }

    #[test]
    fn probability_and_forecast_given_with_the_stage_win() {
        let r = created(json!({"StageName": "Prospecting", "Probability": 35, "ForecastCategoryName": "Best Case"}));
        assert_eq!(r["Probability"], json!(35));
        assert_eq!(r["ForecastCategoryName"], json!("Best Case"));
        assert_eq!(r["ForecastCategory"], json!("BestCase"));
    }

    #[test]
    fn an_update_that_keeps_the_stage_keeps_an_overridden_probability() {
        let before = created(json!({"StageName": "Prospecting", "Probability": 35}));
        let mut r = before.clone();
        r.insert("StageName".into(), json!("Prospecting"));
        derive(&mut r, &["StageName"], Some(&before));
        assert_eq!(r["Probability"], json!(35));
        r.insert("StageName".into(), json!("Closed Won"));
        let before = r.clone();
        let mut after = before.clone();
        after.insert("StageName".into(), json!("Negotiation/Review"));
        derive(&mut after, &["StageName"], Some(&before));
        assert_eq!((after["Probability"].clone(), after["IsClosed"].clone()), (json!(90.0), json!(false)));
    }

    #[test]
    fn commit_is_forecast_in_the_api_value() {
        let r = created(json!({"StageName": "Negotiation/Review", "ForecastCategoryName": "Commit"}));
        assert_eq!(r["ForecastCategory"], json!("Forecast"));
    }

    #[test]
    fn expected_revenue_and_fiscal_period_follow_amount_probability_and_close_date() {
        let r = created(json!({"StageName": "Value Proposition", "Amount": 1000, "CloseDate": "2026-08-31"}));
        assert_eq!(r["ExpectedRevenue"], json!(500.0));
        assert_eq!((r["FiscalYear"].clone(), r["FiscalQuarter"].clone(), r["Fiscal"].clone()), (json!(2026), json!(3), json!("2026 3")));
    }

    #[test]
    fn a_stage_without_metadata_is_open_and_changes_nothing_else() {
        let r = created(json!({"StageName": "Custom Stage", "Probability": 40}));
        assert_eq!((r["IsClosed"].clone(), r["IsWon"].clone(), r["Probability"].clone()), (json!(false), json!(false), json!(40)));
    }
}
