//! Response mapping: how a completed response becomes a Salesforce record —
//! which object, which action, and which value lands in which field — and
//! the rule that decides whether a mapping fits an org, given what that
//! org's describe says about the object. The same check runs when a mapping
//! is saved and when a survey transitions to another org.
//!
//! - this module: the names and the mapping itself (object, action, rules);
//! - [`schema`]: what an org's describe says, in the domain's words;
//! - [`check`]: does a mapping fit an org ("does this answer fit this field");
//! - [`record`]: the record a mapping writes for a response, as typed values;
//! - [`condition`]: when a mapping applies (answers and embedded data);
//! - [`convert`]: how a value changes on its way (recoded, grouped, cut);
//! - [`offer`]: what the editor offers to pick (objects, fields, keys) and
//!   the table of which answers fit which fields;
//! - [`sample`]: a made-up response for a dry run.
//! - [`survey_edits`]: which mappings a survey edit breaks.
//! - [`drift`]: what changed in an org that a mapping no longer fits.
//!
//! How a describe is read and a typed value travels on the wire is not the
//! domain's business: app converts both (see `app::sobject`).

mod check;
mod condition;
mod convert;
mod drift;
mod offer;
mod record;
mod sample;
mod schema;
mod survey_edits;

pub use check::{related_problems, rule_fits, source_fits, MappingProblem};
pub use condition::{Clause, Condition, Join, Op, Subject};
pub use drift::DriftedMapping;
pub use convert::{nps_group, recoding_for, Convert, Recoding, NPS_GROUPS};
pub use offer::{compatibility_table, mappable_objects, matching_objects, Compatibility, ObjectSummary};
pub use sample::{SampleResponse, SAMPLE_RESPONSE_ID};
pub use record::{FieldValue, RecordKey, RecordToWrite, ResponseValues};

pub use schema::{FieldKind, FieldSchema, ObjectSchema};
pub use survey_edits::{broken_by, BrokenUse, SurveyEdit};

use crate::survey::{QuestionId, SurveyDefinition};
use crate::{EmbeddedFieldName, Invalid};
use serde::{Deserialize, Serialize};

/// A Salesforce API name (object or field): letters, digits and single
/// underscores, starting with a letter; custom names end in `__c`.
fn api_name(raw: &str, what: &str) -> Result<String, Invalid> {
    let v = raw.trim();
    let body = v.strip_suffix("__c").or_else(|| v.strip_suffix("__C")).unwrap_or(v);
    let ok = !body.is_empty()
        && v.len() <= 80
        && body.starts_with(|c: char| c.is_ascii_alphabetic())
        && body.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !body.ends_with('_')
        && !body.contains("__");
    if ok {
        Ok(v.to_string())
    } else {
        Err(Invalid::new(format!("\"{v}\" is not a Salesforce {what} API name.")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SObjectName(String);

impl SObjectName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        api_name(raw, "object").map(SObjectName)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SObjectName {
    type Error = Invalid;
    fn try_from(v: String) -> Result<Self, Invalid> {
        SObjectName::parse(&v)
    }
}

impl From<SObjectName> for String {
    fn from(v: SObjectName) -> String {
        v.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FieldName(String);

impl FieldName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        api_name(raw, "field").map(FieldName)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for FieldName {
    type Error = Invalid;
    fn try_from(v: String) -> Result<Self, Invalid> {
        FieldName::parse(&v)
    }
}

impl From<FieldName> for String {
    fn from(v: FieldName) -> String {
        v.0
    }
}

/// Where a field's value comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum ValueSource {
    Answer { question: QuestionId },
    Embedded { name: EmbeddedFieldName },
    ResponseId,
    StartedAt,
    FinishedAt,
    Static { value: String },
    /// The id of the record an earlier mapping of this object wrote for the
    /// same response: how a related record's lookup points to it.
    RecordOf { object: SObjectName },
}

impl ValueSource {
    /// `answer:q3`, `embedded:case_id`, `response_id`, `started_at`,
    /// `finished_at`, or `static` with the value given apart.
    pub fn parse(raw: &str, static_value: &str) -> Result<ValueSource, Invalid> {
        let raw = raw.trim();
        Ok(match raw.split_once(':') {
            Some(("answer", q)) => ValueSource::Answer { question: QuestionId::parse(q)? },
            Some(("embedded", n)) => ValueSource::Embedded { name: EmbeddedFieldName::parse(n)? },
            Some(("record_of", o)) => ValueSource::RecordOf { object: SObjectName::parse(o)? },
            _ => match raw {
                "response_id" => ValueSource::ResponseId,
                "started_at" => ValueSource::StartedAt,
                "finished_at" => ValueSource::FinishedAt,
                "static" => ValueSource::Static { value: static_value.to_string() },
                other => return Err(Invalid::new(format!("\"{other}\" is not a value source."))),
            },
        })
    }

    pub fn code(&self) -> String {
        match self {
            ValueSource::Answer { question } => format!("answer:{question}"),
            ValueSource::Embedded { name } => format!("embedded:{}", name.as_str()),
            ValueSource::ResponseId => "response_id".into(),
            ValueSource::StartedAt => "started_at".into(),
            ValueSource::FinishedAt => "finished_at".into(),
            ValueSource::Static { .. } => "static".into(),
            ValueSource::RecordOf { object } => format!("record_of:{}", object.as_str()),
        }
    }

    pub fn describe(&self, survey: &SurveyDefinition) -> String {
        match self {
            ValueSource::Answer { question } => match survey.question(question) {
                Some(q) => format!("Answer to \"{}\"", q.text.as_str()),
                None => format!("Answer to {question} (question removed)"),
            },
            ValueSource::Embedded { name } => format!("Embedded data {}", name.as_str()),
            ValueSource::ResponseId => "Response id".into(),
            ValueSource::StartedAt => "Response start time".into(),
            ValueSource::FinishedAt => "Response finish time".into(),
            ValueSource::Static { value } => format!("The value \"{value}\""),
            ValueSource::RecordOf { object } => format!("The {} record written for the response", object.as_str()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum MappingAction {
    /// A new record per response.
    Create,
    /// Update the record whose id the source carries (usually embedded data
    /// from the link, e.g. the case that triggered the survey).
    Update { record_id: ValueSource },
    /// Create or update by an external-id field; the rule for that field
    /// gives the key.
    Upsert { external_id_field: FieldName },
    /// Update the record whose `field` equals the value from `source` (the
    /// Contact whose Email is the email answer); when none has it, create
    /// one or skip the response, as `when_none` says. Found by one query per
    /// batch; a record created here carries the value, so a retried
    /// delivery finds it instead of creating a second one.
    Match {
        field: FieldName,
        source: ValueSource,
        #[serde(default)]
        when_none: WhenNone,
    },
}

/// What a match does when no record has the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenNone {
    #[default]
    Create,
    Skip,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldRule {
    pub field: FieldName,
    pub source: ValueSource,
    /// How the value changes on its way, when whoever mapped it chose so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convert: Option<Convert>,
}

impl FieldRule {
    /// A rule that writes the value as it is.
    pub fn new(field: FieldName, source: ValueSource) -> Self {
        FieldRule { field, source, convert: None }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    pub object: SObjectName,
    pub action: MappingAction,
    pub rules: Vec<FieldRule>,
    /// When set, the mapping applies only to responses that meet it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_parsed_as_salesforce_api_names() {
        assert!(SObjectName::parse("Survey_Response__c").is_ok());
        assert!(FieldName::parse("Score__c").is_ok());
        for bad in ["", "1Field", "Bad Name", "a__b__c", "Trailing_"] {
            assert!(FieldName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn value_sources_round_trip_through_their_codes() {
        let answer = ValueSource::Answer { question: QuestionId::parse("q2").unwrap() };
        for s in [answer, ValueSource::ResponseId, ValueSource::Embedded { name: EmbeddedFieldName::parse("case_id").unwrap() }] {
            assert_eq!(ValueSource::parse(&s.code(), "").unwrap(), s);
        }
    }
}
