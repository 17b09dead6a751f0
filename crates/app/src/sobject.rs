//! Between the domain and Salesforce's wire: a describe becomes the domain's
//! `ObjectSchema`, and a record the domain built of typed values becomes the
//! JSON Salesforce's REST API takes.
//!
//! This lives in app, not in the `salesforce` crate: by DESIGN §3 the client
//! depends on nothing of ours (it and the emulator share no types either), and
//! app is the one crate that knows both the domain and the client.

use domain::mapping::{FieldKind, FieldSchema, FieldValue, ObjectSchema, RecordKey, RecordToWrite};
use domain::response::display_stored;
use serde_json::{Map, Value};

/// A field's kind, from describe's `type` value.
pub fn field_kind(describe_type: &str) -> FieldKind {
    match describe_type {
        "string" | "encryptedstring" | "combobox" => FieldKind::Text,
        "textarea" => FieldKind::TextArea,
        "email" => FieldKind::Email,
        "phone" => FieldKind::Phone,
        "url" => FieldKind::Url,
        "picklist" => FieldKind::Picklist,
        "multipicklist" => FieldKind::MultiPicklist,
        "int" | "long" => FieldKind::Integer,
        "double" => FieldKind::Double,
        "currency" => FieldKind::Currency,
        "percent" => FieldKind::Percent,
        "boolean" => FieldKind::Boolean,
        "date" => FieldKind::Date,
        "datetime" => FieldKind::DateTime,
        "id" => FieldKind::Id,
        "reference" => FieldKind::Reference,
        other => FieldKind::Other(other.to_string()),
    }
}

/// What a describe says about an object, in the domain's words.
pub fn object_schema(d: salesforce::rest::SObjectDescribe) -> ObjectSchema {
    ObjectSchema {
        name: d.name,
        label: d.label,
        key_prefix: d.key_prefix,
        createable: d.createable,
        updateable: d.updateable,
        fields: d
            .fields
            .into_iter()
            .map(|f| FieldSchema {
                kind: field_kind(f.field_type.as_str()),
                id_lookup: f.name == "Id",
                name: f.name,
                label: f.label,
                length: f.length,
                createable: f.createable,
                updateable: f.updateable,
                nillable: f.nillable,
                defaulted_on_create: f.defaulted_on_create,
                external_id: f.external_id,
                picklist_values: f.picklist_values.into_iter().filter(|v| v.active).map(|v| v.value).collect(),
                restricted_picklist: f.restricted_picklist,
                filterable: f.filterable,
                reference_to: f.reference_to,
            })
            .collect(),
    }
}

/// Salesforce's date format: `2026-11-25`.
fn salesforce_date(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

/// Salesforce's dateTime format, in UTC: `2026-11-25T16:44:17.123Z`.
fn salesforce_datetime(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{}T{:02}:{:02}:{:02}.{:03}Z", salesforce_date(t.date()), t.hour(), t.minute(), t.second(), t.millisecond())
}

/// The largest integer a double holds exactly.
const EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// A typed value as the field wants it on the wire.
fn wire_value(value: &FieldValue, field: Option<&FieldSchema>) -> Value {
    match value {
        FieldValue::Text(s) => Value::String(s.clone()),
        FieldValue::Integer(n) => Value::from(*n),
        // A whole number travels as an integer, as it was answered.
        FieldValue::Number(n) if n.fract() == 0.0 && n.abs() < EXACT_INTEGER => Value::from(*n as i64),
        FieldValue::Number(n) => serde_json::Number::from_f64(*n).map(Value::Number).unwrap_or(Value::Null),
        FieldValue::Bool(b) => Value::Bool(*b),
        FieldValue::Date(d) => Value::String(salesforce_date(*d)),
        // In a text field a moment is text, and what does not fit is cut.
        FieldValue::DateTime(t) => {
            let text = salesforce_datetime(*t);
            Value::String(match field {
                Some(f) => f.keep_what_fits(text),
                None => text,
            })
        }
        // Multi-select picklist values travel joined by semicolons.
        FieldValue::Choices(values) => Value::String(values.join(";")),
        // Filled in by the delivery once the record is written (see
        // `WireRecord::related`); never sent as it is.
        FieldValue::RecordOf(_) => Value::Null,
    }
}

/// How a record is written, as the REST API takes it.
#[derive(Debug, Clone, PartialEq)]
pub enum WireKey {
    Create,
    Update { id: String },
    /// Upsert by this external-id field; the value travels in the URL.
    Upsert { field: String, value: String },
    /// The record whose `field` equals `value`, looked up by a query; when
    /// none has it, created with `value` when `create`.
    Match { field: String, value: String, create: bool },
}

/// A record to write, as sObject JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct WireRecord {
    pub object: String,
    pub key: WireKey,
    pub fields: Map<String, Value>,
    /// Lookups to records written earlier for the same response, by field:
    /// the object whose record id goes there once it is known.
    pub related: Vec<(String, String)>,
}

/// The domain's record as Salesforce's REST API takes it.
pub fn wire_record(record: RecordToWrite, schema: &ObjectSchema) -> WireRecord {
    let mut related = Vec::new();
    let mut fields = Map::new();
    for (name, value) in &record.fields {
        match value {
            FieldValue::RecordOf(object) => related.push((name.clone(), object.clone())),
            value => {
                fields.insert(name.clone(), wire_value(value, schema.field(name)));
            }
        }
    }
    let key = match record.key {
        RecordKey::Create => WireKey::Create,
        RecordKey::Update { id } => WireKey::Update { id },
        RecordKey::Upsert { field, value } => {
            let value = display_stored(&wire_value(&value, schema.field(&field)));
            WireKey::Upsert { field, value }
        }
        RecordKey::Match { field, value, when_none } => WireKey::Match { field, value, create: when_none == domain::mapping::WhenNone::Create },
    };
    WireRecord { object: record.object, key, fields, related }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::mapping::{FieldName, FieldRule, Mapping, MappingAction, ResponseValues, SObjectName, ValueSource};
    use domain::survey::{QuestionKind, QuestionText};
    use std::collections::BTreeMap;

    fn field(name: &str, kind: &str, length: u32) -> FieldSchema {
        FieldSchema {
            name: name.into(),
            label: name.into(),
            kind: field_kind(kind),
            length,
            createable: true,
            updateable: true,
            nillable: true,
            defaulted_on_create: false,
            external_id: name.starts_with("External"),
            id_lookup: false,
            picklist_values: vec![],
            restricted_picklist: false,
            filterable: true,
            reference_to: vec![],
        }
    }

    fn schema() -> ObjectSchema {
        ObjectSchema {
            name: "Survey_Response__c".into(),
            label: "Survey Response".into(),
            key_prefix: Some("a00".into()),
            createable: true,
            updateable: true,
            fields: vec![
                field("External_Id__c", "string", 64),
                field("Score__c", "double", 0),
                field("Seats__c", "int", 0),
                field("Comment__c", "string", 10),
                field("Channels__c", "multipicklist", 0),
                field("Responded_At__c", "datetime", 0),
                field("Responded_On__c", "date", 0),
                field("Happy__c", "boolean", 0),
                field("Case__c", "reference", 18),
            ],
        }
    }

    fn rule(f: &str, source: ValueSource) -> FieldRule {
        FieldRule { field: FieldName::parse(f).unwrap(), source }
    }

    fn q(id: &str) -> ValueSource {
        ValueSource::Answer { question: domain::QuestionId::parse(id).unwrap() }
    }

    #[test]
    fn describe_types_become_field_kinds() {
        assert_eq!(field_kind("combobox"), FieldKind::Text);
        assert_eq!(field_kind("long"), FieldKind::Integer);
        assert_eq!(field_kind("base64"), FieldKind::Other("base64".into()));
    }

    #[test]
    fn a_moment_in_a_short_text_field_keeps_what_fits() {
        let short = field("When__c", "string", 10);
        let t = time::OffsetDateTime::from_unix_timestamp(90_061).unwrap();
        assert_eq!(wire_value(&FieldValue::DateTime(t), Some(&short)), "1970-01-02");
        assert_eq!(wire_value(&FieldValue::Number(2.5), None), 2.5);
    }

    #[test]
    fn a_response_becomes_a_typed_record_keyed_by_its_response_id() {
        let mut s = domain::SurveyDefinition::default();
        s.add_question(QuestionText::parse("x").unwrap(), QuestionKind::Nps, true).unwrap();
        let m = Mapping {
            object: SObjectName::parse("Survey_Response__c").unwrap(),
            action: MappingAction::Upsert { external_id_field: FieldName::parse("External_Id__c").unwrap() },
            rules: vec![
                rule("External_Id__c", ValueSource::ResponseId),
                rule("Score__c", q("q1")),
                rule("Seats__c", q("q2")),
                rule("Comment__c", q("q3")),
                rule("Channels__c", q("q4")),
                rule("Responded_At__c", ValueSource::FinishedAt),
                rule("Responded_On__c", ValueSource::FinishedAt),
                rule("Happy__c", ValueSource::Static { value: "true".into() }),
                rule("Case__c", ValueSource::Embedded { name: domain::EmbeddedFieldName::parse("case_id").unwrap() }),
            ],
            condition: None,
        };
        let answers: BTreeMap<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
            "q1": 9, "q2": 12.0, "q3": "A comment far longer than ten", "q4": ["Email", "Chat"]
        }))
        .unwrap();
        let embedded = BTreeMap::from([("case_id".to_string(), "500000000000001AAA".to_string())]);
        let r = ResponseValues { response_id: "R_0123456789012345678901", answers: &answers, embedded: &embedded, started_at: None, finished_at: 90_061_123, provenance: Default::default() };
        let rec = wire_record(m.record_for(&r, &schema()).unwrap(), &schema());
        assert_eq!(rec.key, WireKey::Upsert { field: "External_Id__c".into(), value: "R_0123456789012345678901".into() });
        let f = &rec.fields;
        assert_eq!(f["Score__c"], 9);
        assert_eq!(f["Seats__c"], 12);
        assert_eq!(f["Comment__c"], "A comment ");
        assert_eq!(f["Channels__c"], "Email;Chat");
        assert_eq!(f["Responded_At__c"], "1970-01-02T01:01:01.123Z");
        assert_eq!(f["Responded_On__c"], "1970-01-02");
        assert_eq!(f["Happy__c"], true);
        assert_eq!(f["Case__c"], "500000000000001AAA");
        assert!(!f.contains_key("External_Id__c"), "the key travels in the URL");
    }

}
