//! Response mapping: how a completed response becomes a Salesforce record —
//! which object, which action, and which value lands in which field — and
//! the rule that decides whether a mapping fits an org, given what that
//! org's describe says about the object. The same check runs when a mapping
//! is saved and when a survey transitions to another org.

use crate::survey::{QuestionId, QuestionKind, SurveyDefinition};
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
}

impl ValueSource {
    /// `answer:q3`, `embedded:case_id`, `response_id`, `started_at`,
    /// `finished_at`, or `static` with the value given apart.
    pub fn parse(raw: &str, static_value: &str) -> Result<ValueSource, Invalid> {
        let raw = raw.trim();
        Ok(match raw.split_once(':') {
            Some(("answer", q)) => ValueSource::Answer { question: QuestionId::parse(q)? },
            Some(("embedded", n)) => ValueSource::Embedded { name: EmbeddedFieldName::parse(n)? },
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldRule {
    pub field: FieldName,
    pub source: ValueSource,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    pub object: SObjectName,
    pub action: MappingAction,
    pub rules: Vec<FieldRule>,
}

/// The kind of a Salesforce field, from describe's `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    TextArea,
    Email,
    Phone,
    Url,
    Picklist,
    MultiPicklist,
    Integer,
    Double,
    Currency,
    Percent,
    Boolean,
    Date,
    DateTime,
    Id,
    Reference,
    Other(String),
}

impl FieldKind {
    /// From describe's `type` value.
    pub fn from_describe(t: &str) -> FieldKind {
        match t {
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

    fn is_text(&self) -> bool {
        matches!(self, FieldKind::Text | FieldKind::TextArea)
    }

    fn is_number(&self) -> bool {
        matches!(self, FieldKind::Integer | FieldKind::Double | FieldKind::Currency | FieldKind::Percent)
    }

    pub fn label(&self) -> String {
        match self {
            FieldKind::Other(t) => t.clone(),
            other => format!("{other:?}").to_lowercase(),
        }
    }
}

/// What an org's describe says about one field, as the check needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSchema {
    pub name: String,
    pub label: String,
    pub kind: FieldKind,
    pub length: u32,
    pub createable: bool,
    pub updateable: bool,
    pub nillable: bool,
    pub defaulted_on_create: bool,
    pub external_id: bool,
    pub id_lookup: bool,
    pub picklist_values: Vec<String>,
    pub restricted_picklist: bool,
}

impl FieldSchema {
    /// Salesforce refuses a create without it (`REQUIRED_FIELD_MISSING`).
    pub fn required_on_create(&self) -> bool {
        self.createable && !self.nillable && !self.defaulted_on_create && self.kind != FieldKind::Boolean
    }
}

/// What an org's describe says about one object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectSchema {
    pub name: String,
    pub label: String,
    /// The 3 characters every record id of the object starts with.
    pub key_prefix: Option<String>,
    pub createable: bool,
    pub updateable: bool,
    pub fields: Vec<FieldSchema>,
}

impl ObjectSchema {
    pub fn field(&self, name: &str) -> Option<&FieldSchema> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

/// One way a mapping does not fit an org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingProblem {
    /// The field it concerns, if any.
    pub field: Option<String>,
    pub message: String,
}

impl MappingProblem {
    fn object(message: String) -> Self {
        MappingProblem { field: None, message }
    }
    fn field(field: &str, message: String) -> Self {
        MappingProblem { field: Some(field.to_string()), message }
    }
}

/// Response ids are `R_` and 22 characters.
const RESPONSE_ID_LEN: u32 = 24;

impl Mapping {
    /// Every way this mapping does not fit the object as the org describes
    /// it (`None`: the org has no such object). Empty means it fits.
    pub fn check(&self, schema: Option<&ObjectSchema>, survey: &SurveyDefinition) -> Vec<MappingProblem> {
        let Some(schema) = schema else {
            return vec![MappingProblem::object(format!("The org has no object {}.", self.object.as_str()))];
        };
        let mut problems = Vec::new();
        let creates = !matches!(self.action, MappingAction::Update { .. });
        let updates = !matches!(self.action, MappingAction::Create);
        if creates && !schema.createable {
            problems.push(MappingProblem::object(format!("{} records cannot be created by this Salesforce user.", schema.label)));
        }
        if updates && !schema.updateable {
            problems.push(MappingProblem::object(format!("{} records cannot be updated by this Salesforce user.", schema.label)));
        }
        let mut seen: Vec<&str> = Vec::new();
        for rule in &self.rules {
            let name = rule.field.as_str();
            if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                problems.push(MappingProblem::field(name, format!("{name} is mapped twice.")));
                continue;
            }
            seen.push(name);
            let Some(field) = schema.field(name) else {
                problems.push(MappingProblem::field(name, format!("{} has no field {name}.", schema.label)));
                continue;
            };
            if creates && !field.createable {
                problems.push(MappingProblem::field(name, format!("{} cannot be set when a record is created.", field.label)));
            }
            if updates && !field.updateable && !matches!(&self.action, MappingAction::Upsert { external_id_field } if external_id_field.as_str().eq_ignore_ascii_case(name)) {
                problems.push(MappingProblem::field(name, format!("{} cannot be changed when a record is updated.", field.label)));
            }
            problems.extend(source_fits(&rule.source, field, survey));
        }
        match &self.action {
            // A plain create cannot be retried safely: if Salesforce took it
            // but the answer was lost, a retry would make a second record.
            MappingAction::Create => problems.push(MappingProblem::object(
                "Create records by upserting on an external id field that holds the response id, so a retried delivery never creates a second record.".into(),
            )),
            MappingAction::Update { record_id } => match record_id {
                ValueSource::Embedded { name } if !survey.embedded.contains(name) => {
                    problems.push(MappingProblem::object(format!("The record id comes from embedded data {}, which the survey no longer declares.", name.as_str())))
                }
                ValueSource::Embedded { .. } | ValueSource::Answer { .. } => {}
                _ => problems.push(MappingProblem::object("An update needs the record id from embedded data or an answer.".into())),
            },
            MappingAction::Upsert { external_id_field } => {
                let key = external_id_field.as_str();
                match schema.field(key) {
                    None => problems.push(MappingProblem::field(key, format!("{} has no field {key} to upsert by.", schema.label))),
                    Some(f) if !f.external_id && !f.id_lookup => {
                        problems.push(MappingProblem::field(key, format!("{} is not an external id field, so records cannot be upserted by it.", f.label)))
                    }
                    Some(_) => {
                        if !self.rules.iter().any(|r| r.field.as_str().eq_ignore_ascii_case(key)) {
                            problems.push(MappingProblem::field(key, format!("Map a value to {key}: it is the upsert key.")));
                        }
                    }
                }
            }
        }
        if creates {
            for f in schema.fields.iter().filter(|f| f.required_on_create()) {
                if !self.rules.iter().any(|r| r.field.as_str().eq_ignore_ascii_case(&f.name)) {
                    problems.push(MappingProblem::field(&f.name, format!("{} ({}) is required to create a record: map a value to it.", f.label, f.name)));
                }
            }
        }
        problems
    }
}

/// Does the value from `source` fit `field`?
fn source_fits(source: &ValueSource, field: &FieldSchema, survey: &SurveyDefinition) -> Vec<MappingProblem> {
    let name = field.name.as_str();
    let wrong = |what: &str| vec![MappingProblem::field(name, format!("{what} cannot go into {} (a {} field).", field.label, field.kind.label()))];
    let unknown_choice = |value: &str| -> Option<MappingProblem> {
        let known = field.picklist_values.iter().any(|v| v == value);
        (!known).then(|| MappingProblem::field(name, format!("\"{value}\" is not a value of the {} picklist.", field.label)))
    };
    match source {
        ValueSource::Answer { question } => {
            let Some(q) = survey.question(question) else {
                return vec![MappingProblem::field(name, format!("{question} is no longer a question of this survey."))];
            };
            match &q.kind {
                QuestionKind::Text { .. } => {
                    if field.kind.is_text() {
                        vec![]
                    } else {
                        wrong("A text answer")
                    }
                }
                QuestionKind::Email => {
                    if field.kind.is_text() || field.kind == FieldKind::Email {
                        vec![]
                    } else {
                        wrong("An email answer")
                    }
                }
                QuestionKind::Number { .. } => {
                    if field.kind.is_number() || field.kind.is_text() {
                        vec![]
                    } else {
                        wrong("A number answer")
                    }
                }
                QuestionKind::Nps => match field.kind {
                    FieldKind::Picklist => (0..=10).filter_map(|n| unknown_choice(&n.to_string())).collect(),
                    _ if field.kind.is_number() || field.kind.is_text() => vec![],
                    _ => wrong("A 0–10 score"),
                },
                QuestionKind::SingleChoice { choices } => match field.kind {
                    FieldKind::Picklist => choices.as_slice().iter().filter_map(|c| unknown_choice(c)).collect(),
                    _ if field.kind.is_text() => vec![],
                    _ => wrong("A single-choice answer"),
                },
                QuestionKind::MultipleChoice { choices } => match field.kind {
                    FieldKind::MultiPicklist => choices.as_slice().iter().filter_map(|c| unknown_choice(c)).collect(),
                    _ if field.kind.is_text() => vec![],
                    _ => wrong("A multiple-choice answer"),
                },
            }
        }
        ValueSource::Embedded { name: e } => {
            if !survey.embedded.contains(e) {
                return vec![MappingProblem::field(name, format!("Embedded data {} is no longer declared by this survey.", e.as_str()))];
            }
            match field.kind {
                FieldKind::Text | FieldKind::TextArea | FieldKind::Email | FieldKind::Phone | FieldKind::Url | FieldKind::Id | FieldKind::Reference => vec![],
                FieldKind::Picklist if !field.restricted_picklist => vec![],
                _ => wrong("Embedded data (text)"),
            }
        }
        ValueSource::ResponseId => {
            if !field.kind.is_text() {
                wrong("The response id")
            } else if field.length < RESPONSE_ID_LEN {
                vec![MappingProblem::field(name, format!("{} holds {} characters; a response id has {RESPONSE_ID_LEN}.", field.label, field.length))]
            } else {
                vec![]
            }
        }
        ValueSource::StartedAt | ValueSource::FinishedAt => match field.kind {
            FieldKind::DateTime | FieldKind::Date => vec![],
            _ if field.kind.is_text() => vec![],
            _ => wrong("A time"),
        },
        ValueSource::Static { value } => static_fits(value, field),
    }
}

fn static_fits(value: &str, field: &FieldSchema) -> Vec<MappingProblem> {
    let name = field.name.as_str();
    let problem = |m: String| vec![MappingProblem::field(name, m)];
    match &field.kind {
        FieldKind::Boolean if !matches!(value, "true" | "false") => problem(format!("{} takes true or false, not \"{value}\".", field.label)),
        k if k.is_number() && value.parse::<f64>().map(|v| !v.is_finite()).unwrap_or(true) => {
            problem(format!("{} takes a number, not \"{value}\".", field.label))
        }
        FieldKind::Picklist if field.restricted_picklist && !field.picklist_values.iter().any(|v| v == value) => {
            problem(format!("\"{value}\" is not a value of the {} picklist.", field.label))
        }
        k if (k.is_text() || matches!(k, FieldKind::Email | FieldKind::Phone | FieldKind::Url)) && field.length > 0 && value.chars().count() as u32 > field.length => {
            problem(format!("{} holds at most {} characters; the value has {}.", field.label, field.length, value.chars().count()))
        }
        FieldKind::Other(t) => problem(format!("Insight cannot write a value into {} (a {t} field).", field.label)),
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::QuestionText;

    fn field(name: &str, kind: &str) -> FieldSchema {
        FieldSchema {
            name: name.into(),
            label: name.into(),
            kind: FieldKind::from_describe(kind),
            length: if kind == "string" { 255 } else { 0 },
            createable: true,
            updateable: true,
            nillable: true,
            defaulted_on_create: false,
            external_id: false,
            id_lookup: false,
            picklist_values: vec![],
            restricted_picklist: false,
        }
    }

    fn case_schema() -> ObjectSchema {
        let mut status = field("Status", "picklist");
        status.picklist_values = vec!["New".into(), "Closed".into()];
        status.restricted_picklist = true;
        let mut key = field("Survey_Response_Id__c", "string");
        key.external_id = true;
        let mut name = field("LastName", "string");
        name.nillable = false;
        ObjectSchema {
            name: "Survey_Response__c".into(),
            label: "Survey Response".into(),
            key_prefix: Some("a00".into()),
            createable: true,
            updateable: true,
            fields: vec![field("Score__c", "double"), field("Comment__c", "textarea"), status, key, name, field("Happy__c", "boolean")],
        }
    }

    fn survey() -> SurveyDefinition {
        let mut s = SurveyDefinition::default();
        s.add_question(QuestionText::parse("Score").unwrap(), QuestionKind::Nps, true).unwrap();
        s.add_question(QuestionText::parse("Why").unwrap(), QuestionKind::Text { multiline: true }, false).unwrap();
        s.add_question(QuestionText::parse("Resolved").unwrap(), QuestionKind::from_form("single_choice", "New\nReopened", "", "").unwrap(), false)
            .unwrap();
        s.add_embedded(EmbeddedFieldName::parse("case_id").unwrap()).unwrap();
        s
    }

    fn rule(field: &str, source: ValueSource) -> FieldRule {
        FieldRule { field: FieldName::parse(field).unwrap(), source }
    }

    fn answer(q: &str) -> ValueSource {
        ValueSource::Answer { question: QuestionId::parse(q).unwrap() }
    }

    fn good_mapping() -> Mapping {
        Mapping {
            object: SObjectName::parse("Survey_Response__c").unwrap(),
            action: MappingAction::Upsert { external_id_field: FieldName::parse("Survey_Response_Id__c").unwrap() },
            rules: vec![
                rule("Survey_Response_Id__c", ValueSource::ResponseId),
                rule("Score__c", answer("q1")),
                rule("Comment__c", answer("q2")),
                rule("LastName", ValueSource::Static { value: "Respondent".into() }),
            ],
        }
    }

    #[test]
    fn a_mapping_that_fits_has_no_problems() {
        assert_eq!(good_mapping().check(Some(&case_schema()), &survey()), vec![]);
    }

    #[test]
    fn a_missing_object_or_field_is_named() {
        let m = good_mapping();
        assert_eq!(m.check(None, &survey()).len(), 1);
        let mut schema = case_schema();
        schema.fields.retain(|f| f.name != "Score__c");
        let problems = m.check(Some(&schema), &survey());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field.as_deref(), Some("Score__c"));
    }

    #[test]
    fn wrong_types_and_unknown_picklist_values_are_caught() {
        let mut m = good_mapping();
        m.rules.push(rule("Happy__c", answer("q2")));
        m.rules.push(rule("Status", answer("q3")));
        let problems = m.check(Some(&case_schema()), &survey());
        let fields: Vec<_> = problems.iter().filter_map(|p| p.field.as_deref()).collect();
        assert!(fields.contains(&"Happy__c"), "{problems:?}");
        assert!(problems.iter().any(|p| p.message.contains("\"Reopened\" is not a value")), "{problems:?}");
    }

    #[test]
    fn required_fields_and_the_upsert_key_must_be_mapped() {
        let mut m = good_mapping();
        m.rules.retain(|r| r.field.as_str() != "LastName" && r.field.as_str() != "Survey_Response_Id__c");
        let problems = m.check(Some(&case_schema()), &survey());
        assert!(problems.iter().any(|p| p.field.as_deref() == Some("LastName")));
        assert!(problems.iter().any(|p| p.message.contains("upsert key")));
    }

    #[test]
    fn a_field_that_cannot_be_created_blocks_a_create() {
        let mut schema = case_schema();
        schema.fields.iter_mut().find(|f| f.name == "Score__c").unwrap().createable = false;
        assert!(!good_mapping().check(Some(&schema), &survey()).is_empty());
    }

    #[test]
    fn static_values_are_checked_against_the_field() {
        let mut m = good_mapping();
        m.rules.push(rule("Happy__c", ValueSource::Static { value: "yes".into() }));
        m.rules.push(rule("Status", ValueSource::Static { value: "Escalated".into() }));
        assert_eq!(m.check(Some(&case_schema()), &survey()).len(), 2);
    }

    #[test]
    fn an_update_needs_a_declared_record_id_source() {
        let m = Mapping {
            object: SObjectName::parse("Case").unwrap(),
            action: MappingAction::Update { record_id: ValueSource::Embedded { name: EmbeddedFieldName::parse("contact_id").unwrap() } },
            rules: vec![rule("Comment__c", answer("q2"))],
        };
        let problems = m.check(Some(&case_schema()), &survey());
        assert!(problems.iter().any(|p| p.message.contains("no longer declares")));
    }

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
        for s in [answer("q2"), ValueSource::ResponseId, ValueSource::Embedded { name: EmbeddedFieldName::parse("case_id").unwrap() }] {
            assert_eq!(ValueSource::parse(&s.code(), "").unwrap(), s);
        }
    }
}

/// A stored response, as a mapping reads it.
#[derive(Debug, Clone)]
pub struct ResponseValues<'a> {
    pub response_id: &'a str,
    pub answers: &'a std::collections::BTreeMap<String, serde_json::Value>,
    pub embedded: &'a std::collections::BTreeMap<String, String>,
    pub started_at: Option<i64>,
    pub finished_at: i64,
    /// Where the embedded data came from: whether it may pick a record.
    pub provenance: crate::EmbeddedProvenance,
}

/// How a record is written.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordKey {
    Create,
    Update { id: String },
    Upsert { field: String, value: String },
}

/// One record to write: its fields, typed as the org's fields want them.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordToWrite {
    pub object: String,
    pub key: RecordKey,
    pub fields: serde_json::Map<String, serde_json::Value>,
}

fn datetime(ms: i64) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).ok()
}

/// Salesforce's dateTime format: `2026-11-25T16:44:17.123Z`.
fn salesforce_datetime(ms: i64) -> Option<String> {
    let t = datetime(ms)?;
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    ))
}

fn salesforce_date(ms: i64) -> Option<String> {
    let t = datetime(ms)?;
    Some(format!("{:04}-{:02}-{:02}", t.year(), t.month() as u8, t.day()))
}

/// A value as the field's kind wants it on the wire.
fn typed(value: &serde_json::Value, field: &FieldSchema) -> Option<serde_json::Value> {
    use serde_json::Value;
    let as_text = |v: &Value| -> String {
        match v {
            Value::Array(items) => items.iter().map(crate::response::display_stored).collect::<Vec<_>>().join("; "),
            other => crate::response::display_stored(other),
        }
    };
    Some(match &field.kind {
        // Multi-select picklist values travel joined by semicolons.
        FieldKind::MultiPicklist => match value {
            Value::Array(items) => Value::String(items.iter().map(crate::response::display_stored).collect::<Vec<_>>().join(";")),
            other => Value::String(crate::response::display_stored(other)),
        },
        FieldKind::Integer => match value {
            Value::Number(n) => Value::from(n.as_f64()?.round() as i64),
            Value::String(s) => Value::from(s.trim().parse::<f64>().ok()?.round() as i64),
            _ => return None,
        },
        FieldKind::Double | FieldKind::Currency | FieldKind::Percent => match value {
            Value::Number(_) => value.clone(),
            Value::String(s) => serde_json::Number::from_f64(s.trim().parse::<f64>().ok()?).map(Value::Number)?,
            _ => return None,
        },
        FieldKind::Boolean => match value {
            Value::Bool(_) => value.clone(),
            Value::String(s) if s == "true" || s == "false" => Value::Bool(s == "true"),
            _ => return None,
        },
        _ => {
            let text = as_text(value);
            // Text beyond the field's length would be refused whole
            // (STRING_TOO_LONG); keep what fits.
            if field.kind.is_text() && field.length > 0 && text.chars().count() as u32 > field.length {
                Value::String(text.chars().take(field.length as usize).collect())
            } else {
                Value::String(text)
            }
        }
    })
}

impl Mapping {
    /// The record this mapping writes for a response, or why it cannot.
    /// Blank answers leave their fields out (an update then keeps what the
    /// record had).
    pub fn record_for(&self, response: &ResponseValues, schema: &ObjectSchema) -> Result<RecordToWrite, String> {
        use serde_json::Value;
        let mut fields = serde_json::Map::new();
        for rule in &self.rules {
            let Some(field) = schema.field(rule.field.as_str()) else {
                return Err(format!("{} has no field {}", schema.label, rule.field.as_str()));
            };
            let raw: Option<Value> = match &rule.source {
                ValueSource::Answer { question } => response.answers.get(question.as_str()).cloned(),
                ValueSource::Embedded { name } => response.embedded.get(name.as_str()).filter(|v| !v.is_empty()).map(|v| Value::String(v.clone())),
                ValueSource::ResponseId => Some(Value::String(response.response_id.to_string())),
                ValueSource::StartedAt | ValueSource::FinishedAt => {
                    let ms = if rule.source == ValueSource::StartedAt { response.started_at } else { Some(response.finished_at) };
                    ms.and_then(|ms| match field.kind {
                        FieldKind::Date => salesforce_date(ms),
                        _ => salesforce_datetime(ms),
                    })
                    .map(Value::String)
                }
                ValueSource::Static { value } => Some(Value::String(value.clone())),
            };
            if let Some(raw) = raw {
                let value = match (&rule.source, &field.kind) {
                    (ValueSource::StartedAt | ValueSource::FinishedAt, FieldKind::Date | FieldKind::DateTime) => Some(raw),
                    _ => typed(&raw, field),
                };
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
                let value = fields.remove(&name).map(|v| crate::response::display_stored(&v)).filter(|v| !v.is_empty());
                RecordKey::Upsert { field: name.clone(), value: value.ok_or_else(|| format!("the response has no value for the upsert key {name}"))? }
            }
        };
        Ok(RecordToWrite { object: self.object.as_str().to_string(), key, fields })
    }
}

#[cfg(test)]
mod record_tests {
    use super::*;
    use crate::survey::{QuestionKind, QuestionText};
    use std::collections::BTreeMap;

    fn field(name: &str, kind: &str, length: u32) -> FieldSchema {
        FieldSchema {
            name: name.into(),
            label: name.into(),
            kind: FieldKind::from_describe(kind),
            length,
            createable: true,
            updateable: true,
            nillable: true,
            defaulted_on_create: false,
            external_id: name.starts_with("External"),
            id_lookup: false,
            picklist_values: vec![],
            restricted_picklist: false,
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
        ValueSource::Answer { question: crate::QuestionId::parse(id).unwrap() }
    }

    #[test]
    fn a_response_becomes_a_typed_record_keyed_by_its_response_id() {
        let mut s = crate::SurveyDefinition::default();
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
                rule("Case__c", ValueSource::Embedded { name: crate::EmbeddedFieldName::parse("case_id").unwrap() }),
            ],
        };
        let answers: BTreeMap<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
            "q1": 9, "q2": 12.0, "q3": "A comment far longer than ten", "q4": ["Email", "Chat"]
        }))
        .unwrap();
        let embedded = BTreeMap::from([("case_id".to_string(), "500000000000001AAA".to_string())]);
        let r = ResponseValues { response_id: "R_0123456789012345678901", answers: &answers, embedded: &embedded, started_at: None, finished_at: 90_061_123, provenance: Default::default() };
        let rec = m.record_for(&r, &schema()).unwrap();
        assert_eq!(rec.key, RecordKey::Upsert { field: "External_Id__c".into(), value: "R_0123456789012345678901".into() });
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

    #[test]
    fn an_update_without_a_record_id_is_refused_with_a_reason() {
        let m = Mapping {
            object: SObjectName::parse("Case").unwrap(),
            action: MappingAction::Update { record_id: ValueSource::Embedded { name: crate::EmbeddedFieldName::parse("case_id").unwrap() } },
            rules: vec![rule("Comment__c", q("q1"))],
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
