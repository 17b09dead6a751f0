//! The record a mapping writes for a response: which record (create,
//! update by id, upsert by key) and each field's value, typed as the field
//! wants it. How those values travel on Salesforce's wire is app's business.

use super::{Convert, FieldKind, FieldSchema, Mapping, MappingAction, ObjectSchema, ValueSource};
use crate::signed_link::EmbeddedProvenance;
use crate::response::display_stored;
use std::collections::BTreeMap;

/// A stored response, as a mapping reads it.
#[derive(Debug, Clone)]
pub struct ResponseValues<'a> {
    pub response_id: &'a str,
    pub answers: &'a BTreeMap<String, serde_json::Value>,
    pub embedded: &'a BTreeMap<String, String>,
    pub started_at: Option<i64>,
    pub finished_at: i64,
    /// Where the embedded data came from: whether it may pick a record.
    pub provenance: crate::EmbeddedProvenance,
}

/// A value as the field it goes into wants it.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// Text, or a single picklist value; already cut to what the field holds.
    Text(String),
    Integer(i64),
    /// A finite number.
    Number(f64),
    Bool(bool),
    Date(time::Date),
    /// A moment; in a text or picklist field it is written as text.
    DateTime(time::OffsetDateTime),
    /// The values of a multi-select picklist.
    Choices(Vec<String>),
    /// The id of the record an earlier mapping of this object writes for
    /// the same response; known only as the delivery goes.
    RecordOf(String),
}

impl FieldValue {
    /// A blank value cannot be an upsert key.
    fn is_blank(&self) -> bool {
        match self {
            FieldValue::Text(s) => s.is_empty(),
            FieldValue::Choices(v) => v.join(";").is_empty(),
            _ => false,
        }
    }
}

/// How a record is written.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordKey {
    Create,
    Update { id: String },
    /// The key travels in the URL, not among the fields.
    Upsert { field: String, value: FieldValue },
    /// The record whose `field` equals `value`, found by a query; when
    /// none has it, a new one carrying `value` (or none, as `when_none`
    /// says). The value is not among the fields: an update leaves it as
    /// the record has it.
    Match { field: String, value: String, when_none: super::WhenNone },
}

/// One record to write: its fields, by the org's field names.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordToWrite {
    pub object: String,
    pub key: RecordKey,
    pub fields: BTreeMap<String, FieldValue>,
}

fn moment(ms: i64) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).ok()
}

/// A stored answer (or embedded or static text) as the field's kind wants it;
/// `None` when it does not fit.
fn typed(value: &serde_json::Value, field: &FieldSchema) -> Option<FieldValue> {
    typed_cut(value, field, true)
}

/// As `typed`; text too long for the field is cut when `cut`, and does not
/// fit otherwise.
fn typed_cut(value: &serde_json::Value, field: &FieldSchema, cut: bool) -> Option<FieldValue> {
    use serde_json::Value;
    Some(match &field.kind {
        FieldKind::MultiPicklist => match value {
            Value::Array(items) => FieldValue::Choices(items.iter().map(display_stored).collect()),
            other => FieldValue::Choices(vec![display_stored(other)]),
        },
        FieldKind::Integer => match value {
            Value::Number(n) => FieldValue::Integer(n.as_f64()?.round() as i64),
            Value::String(s) => FieldValue::Integer(s.trim().parse::<f64>().ok()?.round() as i64),
            _ => return None,
        },
        FieldKind::Double | FieldKind::Currency | FieldKind::Percent => {
            let n = match value {
                Value::Number(n) => n.as_f64()?,
                Value::String(s) => s.trim().parse::<f64>().ok()?,
                _ => return None,
            };
            // JSON numbers are finite; a typed "inf" is not a number.
            if !n.is_finite() {
                return None;
            }
            FieldValue::Number(n)
        }
        FieldKind::Boolean => match value {
            Value::Bool(b) => FieldValue::Bool(*b),
            Value::String(s) if s == "true" || s == "false" => FieldValue::Bool(s == "true"),
            _ => return None,
        },
        _ => {
            let text = match value {
                Value::Array(items) => items.iter().map(display_stored).collect::<Vec<_>>().join("; "),
                other => display_stored(other),
            };
            if !cut && field.kind.is_text() && field.length > 0 && text.chars().count() > field.length as usize {
                return None;
            }
            FieldValue::Text(field.keep_what_fits(text))
        }
    })
}

/// A response's start or finish time as the field's kind wants it.
fn typed_moment(t: time::OffsetDateTime, field: &FieldSchema) -> Option<FieldValue> {
    match &field.kind {
        FieldKind::Date => Some(FieldValue::Date(t.date())),
        k if k.is_number() || *k == FieldKind::Boolean => None,
        _ => Some(FieldValue::DateTime(t)),
    }
}

impl Mapping {
    /// Why a match does not apply to a response: it brings no value to match
    /// on (an optional email left blank). Such a response is skipped for
    /// this mapping, not failed: there is nothing to look up.
    pub fn nothing_to_match(&self, response: &ResponseValues) -> Option<String> {
        let MappingAction::Match { field, source, .. } = &self.action else { return None };
        let value = match source {
            ValueSource::Answer { question } => response.answers.get(question.as_str()).map(display_stored),
            ValueSource::Embedded { name } => response.embedded.get(name.as_str()).cloned(),
            _ => return None,
        };
        value.filter(|v| !v.trim().is_empty()).is_none().then(|| format!("the response has no value to match {} on", field.as_str()))
    }

    /// The record this mapping writes for a response, or why it cannot.
    /// Blank answers leave their fields out (an update then keeps what the
    /// record had).
    pub fn record_for(&self, response: &ResponseValues, schema: &ObjectSchema) -> Result<RecordToWrite, String> {
        use serde_json::Value;
        let mut fields = BTreeMap::new();
        for rule in &self.rules {
            let Some(field) = schema.field(rule.field.as_str()) else {
                return Err(format!("{} has no field {}", schema.label, rule.field.as_str()));
            };
            let text = |t: &str| typed(&Value::String(t.to_string()), field);
            // `None`: nothing to write; `Some(None)`: a value that does not fit.
            let value: Option<Option<FieldValue>> = match &rule.source {
                ValueSource::Answer { question } => match response.answers.get(question.as_str()) {
                    None => None,
                    Some(v) => {
                        // A conversion the rule chose; a text answer is cut
                        // only when the rule says so.
                        let v = match rule.convert.as_ref().filter(|c| !matches!(c, Convert::CutToFit)) {
                            Some(convert) => convert.apply(v).map_err(|e| format!("{}: {e}", field.name))?,
                            None => v.clone(),
                        };
                        let long = v.as_str().map(|t| t.chars().count()).unwrap_or(0);
                        match typed_cut(&v, field, Convert::cuts_to_fit(rule.convert.as_ref())) {
                            None if field.kind.is_text() && long > field.length as usize && field.length > 0 => {
                                return Err(format!("the answer has {long} characters and {} holds {}; choose \"cut to fit\" for this rule to cut it", field.name, field.length));
                            }
                            typed => Some(typed),
                        }
                    }
                },
                ValueSource::Embedded { name } => response.embedded.get(name.as_str()).filter(|v| !v.is_empty()).map(|v| text(v)),
                ValueSource::ResponseId => Some(text(response.response_id)),
                ValueSource::StartedAt => response.started_at.and_then(moment).map(|t| typed_moment(t, field)),
                ValueSource::FinishedAt => moment(response.finished_at).map(|t| typed_moment(t, field)),
                ValueSource::Static { value } => Some(text(value)),
                ValueSource::RecordOf { object } => Some(Some(FieldValue::RecordOf(object.as_str().to_string()))),
            };
            if let Some(value) = value {
                let value = value.ok_or_else(|| format!("the value for {} does not fit a {} field", field.name, field.kind.label()))?;
                fields.insert(field.name.clone(), value);
            }
        }
        let key = match &self.action {
            MappingAction::Create => RecordKey::Create,
            MappingAction::Update { record_id } => {
                let id = match record_id {
                    ValueSource::Embedded { name } => response.embedded.get(name.as_str()).cloned(),
                    ValueSource::Answer { question } => response.answers.get(question.as_str()).and_then(|v| v.as_str().map(str::to_string)),
                    _ => None,
                };
                let id = id.filter(|i| !i.trim().is_empty()).ok_or_else(|| "the response carries no record id to update".to_string())?;
                let id = id.trim().to_string();
                crate::trusted_record::may_decide_record(record_id, response.provenance, &id, schema).map_err(|e| e.to_string())?;
                RecordKey::Update { id }
            }
            MappingAction::Upsert { external_id_field } => {
                let name = schema.field(external_id_field.as_str()).map(|f| f.name.clone()).unwrap_or_else(|| external_id_field.as_str().to_string());
                // The key travels in the URL, not the body.
                let value = fields.remove(&name).filter(|v| !v.is_blank());
                RecordKey::Upsert { field: name.clone(), value: value.ok_or_else(|| format!("the response has no value for the upsert key {name}"))? }
            }
            MappingAction::Match { field, source, when_none } => {
                let name = schema.field(field.as_str()).map(|f| f.name.clone()).unwrap_or_else(|| field.as_str().to_string());
                let value = match source {
                    ValueSource::Answer { question } => response.answers.get(question.as_str()).map(display_stored),
                    ValueSource::Embedded { name } => {
                        // Embedded data decides which record is written only
                        // when Insight can trust where it came from.
                        match response.provenance {
                            EmbeddedProvenance::SignedLink | EmbeddedProvenance::Invitation => {}
                            _ => return Err(format!("the value to match {name} on came from an unsigned survey link, which a respondent can edit; send a signed link (Survey → Signed links) instead", name = field.as_str())),
                        }
                        response.embedded.get(name.as_str()).cloned()
                    }
                    _ => None,
                };
                let value = value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
                // A blank value matches nothing, and creating for it would
                // make a record no retry could find again.
                let value = value.ok_or_else(|| format!("the response has no value to match {} on", schema.label_of(&name)))?;
                fields.remove(&name);
                RecordKey::Match { field: name, value, when_none: *when_none }
            }
        };
        Ok(RecordToWrite { object: self.object.as_str().to_string(), key, fields })
    }
}

#[cfg(test)]
mod record_tests {
    use super::*;
    use crate::mapping::{FieldName, FieldRule, FieldSchema, MappingAction, SObjectName};
    use std::collections::BTreeMap;

    fn field(name: &str, kind: FieldKind, length: u32) -> FieldSchema {
        FieldSchema { external_id: name.starts_with("External"), ..FieldSchema::open(name, kind, length) }
    }

    fn schema() -> ObjectSchema {
        ObjectSchema {
            name: "Survey_Response__c".into(),
            label: "Survey Response".into(),
            key_prefix: Some("a00".into()),
            createable: true,
            updateable: true,
            fields: vec![
                field("External_Id__c", FieldKind::Text, 64),
                field("Score__c", FieldKind::Double, 0),
                field("Seats__c", FieldKind::Integer, 0),
                field("Comment__c", FieldKind::Text, 10),
                field("Channels__c", FieldKind::MultiPicklist, 0),
                field("Responded_At__c", FieldKind::DateTime, 0),
                field("Responded_On__c", FieldKind::Date, 0),
                field("Happy__c", FieldKind::Boolean, 0),
                field("Case__c", FieldKind::Reference, 18),
            ],
        }
    }

    fn rule(f: &str, source: ValueSource) -> FieldRule {
        FieldRule { field: FieldName::parse(f).unwrap(), source, convert: None }
    }

    fn q(id: &str) -> ValueSource {
        ValueSource::Answer { question: crate::QuestionId::parse(id).unwrap() }
    }

    #[test]
    fn an_update_without_a_record_id_is_refused_with_a_reason() {
        let m = Mapping {
            object: SObjectName::parse("Case").unwrap(),
            action: MappingAction::Update { record_id: ValueSource::Embedded { name: crate::EmbeddedFieldName::parse("case_id").unwrap() } },
            rules: vec![rule("Comment__c", q("q1"))],
            condition: None,
        };
        let (answers, embedded) = (BTreeMap::new(), BTreeMap::new());
        let r = ResponseValues { response_id: "R_x", answers: &answers, embedded: &embedded, started_at: None, finished_at: 0, provenance: Default::default() };
        assert!(m.record_for(&r, &schema()).unwrap_err().contains("no record id"));
    }

    #[test]
    fn an_update_writes_only_where_a_signed_link_points() {
        let m = Mapping {
            object: SObjectName::parse("Survey_Response__c").unwrap(),
            action: MappingAction::Update { record_id: ValueSource::Embedded { name: crate::EmbeddedFieldName::parse("record").unwrap() } },
            rules: vec![rule("Comment__c", q("q1"))],
            condition: None,
        };
        let answers = BTreeMap::new();
        let embedded = BTreeMap::from([("record".to_string(), " a00000000000001AAA ".to_string())]);
        let values = |provenance| ResponseValues { response_id: "R_x", answers: &answers, embedded: &embedded, started_at: None, finished_at: 0, provenance };
        let signed = m.record_for(&values(crate::EmbeddedProvenance::SignedLink), &schema()).unwrap();
        assert_eq!(signed.key, RecordKey::Update { id: "a00000000000001AAA".into() });
        let unsigned = m.record_for(&values(crate::EmbeddedProvenance::Unsigned), &schema()).unwrap_err();
        assert!(unsigned.contains("unsigned survey link"), "{unsigned}");
    }
}

#[cfg(test)]
mod match_tests {
    use crate::mapping::{FieldName, Mapping, MappingAction, ResponseValues, SObjectName, ValueSource, WhenNone};
    use std::collections::BTreeMap;

    #[test]
    fn a_match_with_no_value_to_look_up_is_skipped_and_only_trusted_embedded_data_decides() {
        let by_answer = Mapping {
            object: SObjectName::parse("Contact").unwrap(),
            action: MappingAction::Match { field: FieldName::parse("Email").unwrap(), source: ValueSource::parse("answer:q1", "").unwrap(), when_none: WhenNone::Create },
            rules: vec![],
            condition: None,
        };
        let blank: BTreeMap<String, serde_json::Value> = BTreeMap::from([("q1".to_string(), serde_json::json!("  "))]);
        let given: BTreeMap<String, serde_json::Value> = BTreeMap::from([("q1".to_string(), serde_json::json!("a@b.example"))]);
        let embedded = BTreeMap::new();
        let values = |answers| ResponseValues { response_id: "R_x", answers, embedded: &embedded, started_at: None, finished_at: 0, provenance: Default::default() };
        assert!(by_answer.nothing_to_match(&values(&blank)).unwrap().contains("no value to match Email"));
        assert_eq!(by_answer.nothing_to_match(&values(&given)), None);

        let by_embedded = Mapping { action: MappingAction::Match { field: FieldName::parse("Email").unwrap(), source: ValueSource::parse("embedded:email", "").unwrap(), when_none: WhenNone::Skip }, ..by_answer };
        let schema = crate::mapping::ObjectSchema { name: "Contact".into(), label: "Contact".into(), key_prefix: Some("003".into()), createable: true, updateable: true, fields: vec![] };
        let answers = BTreeMap::new();
        let embedded = BTreeMap::from([("email".to_string(), "ceo@acme.example".to_string())]);
        let from = |provenance| ResponseValues { response_id: "R_x", answers: &answers, embedded: &embedded, started_at: None, finished_at: 0, provenance };
        let unsigned = by_embedded.record_for(&from(crate::EmbeddedProvenance::Unsigned), &schema).unwrap_err();
        assert!(unsigned.contains("unsigned survey link"), "{unsigned}");
        let signed = by_embedded.record_for(&from(crate::EmbeddedProvenance::SignedLink), &schema).unwrap();
        assert_eq!(signed.key, crate::mapping::RecordKey::Match { field: "Email".into(), value: "ceo@acme.example".into(), when_none: WhenNone::Skip });
    }
}
