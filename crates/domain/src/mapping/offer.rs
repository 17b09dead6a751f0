//! What the mapping editor offers, so a person picks rather than types: the
//! org's objects a survey can write, the fields a mapping can set, the
//! fields that can be its upsert key, and the table of which answers fit
//! which kinds of field — all read from the same rules the check applies,
//! so what is offered is what the check accepts.

use super::check::{source_fits, RESPONSE_ID_LEN};
use super::{FieldKind, FieldSchema, MappingAction, ObjectSchema, ValueSource};
use crate::survey::{ChoiceList, QuestionKind, QuestionText, SurveyDefinition};

/// One object of an org's global describe, as the object picker shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSummary {
    pub name: String,
    pub label: String,
    pub custom: bool,
    pub createable: bool,
    pub updateable: bool,
}

/// Objects that are the org's bookkeeping rather than its data: sharing
/// rows, field history, feeds and change events. Nobody maps a survey
/// response into them, and offering them buries the real choices.
const BOOKKEEPING_SUFFIXES: [&str; 5] = ["Share", "History", "Feed", "ChangeEvent", "__Tag"];

/// The objects a survey response can be written into, sorted by label:
/// those this Salesforce user may create or update, without the org's
/// bookkeeping objects.
pub fn mappable_objects(all: Vec<ObjectSummary>) -> Vec<ObjectSummary> {
    let mut objects: Vec<ObjectSummary> = all
        .into_iter()
        .filter(|o| (o.createable || o.updateable) && !BOOKKEEPING_SUFFIXES.iter().any(|s| o.name.ends_with(s)))
        .collect();
    objects.sort_by(|a, b| a.label.to_lowercase().cmp(&b.label.to_lowercase()).then_with(|| a.name.cmp(&b.name)));
    objects
}

/// Filters objects by what a person typed: in the label or the API name,
/// ignoring case.
pub fn matching_objects<'a>(objects: &'a [ObjectSummary], query: &str) -> Vec<&'a ObjectSummary> {
    let q = query.trim().to_lowercase();
    objects.iter().filter(|o| q.is_empty() || o.label.to_lowercase().contains(&q) || o.name.to_lowercase().contains(&q)).collect()
}

impl ObjectSchema {
    /// The fields an upsert can key on: external ids that hold text of a
    /// response id's length, set when a record is created.
    pub fn upsert_key_candidates(&self) -> Vec<&FieldSchema> {
        let mut keys: Vec<&FieldSchema> = self
            .fields
            .iter()
            .filter(|f| (f.external_id || f.id_lookup) && f.kind.is_text() && f.length >= RESPONSE_ID_LEN && f.createable && f.name != "Id")
            .collect();
        keys.sort_by_key(|f| f.label.to_lowercase());
        keys
    }

    /// The fields records can be matched on (a Contact's Email): text-like
    /// fields a query can filter on, by label.
    pub fn match_candidates(&self) -> Vec<&FieldSchema> {
        let mut fields: Vec<&FieldSchema> = self
            .fields
            .iter()
            .filter(|f| matches!(f.kind, FieldKind::Text | FieldKind::Email | FieldKind::Phone | FieldKind::Url) && f.filterable)
            .collect();
        fields.sort_by_key(|f| (f.kind != FieldKind::Email, f.label.to_lowercase()));
        fields
    }

    /// The fields a mapping with `action` can set, by label: created and
    /// updated for an upsert, updated for an update. The upsert key is not
    /// among them: Insight fills it.
    pub fn writable_fields(&self, action: &MappingAction) -> Vec<&FieldSchema> {
        // The upsert key and the matched field take their values from the
        // mapping itself.
        let key = match action {
            MappingAction::Upsert { external_id_field } => Some(external_id_field.as_str()),
            MappingAction::Match { field, .. } => Some(field.as_str()),
            _ => None,
        };
        let mut fields: Vec<&FieldSchema> = self
            .fields
            .iter()
            .filter(|f| match action {
                MappingAction::Create => f.createable,
                MappingAction::Update { .. } => f.updateable,
                MappingAction::Upsert { .. } => f.createable && f.updateable,
                MappingAction::Match { when_none: super::WhenNone::Create, .. } => f.createable && f.updateable,
                MappingAction::Match { when_none: super::WhenNone::Skip, .. } => f.updateable,
            })
            .filter(|f| !key.is_some_and(|k| f.name.eq_ignore_ascii_case(k)))
            .collect();
        fields.sort_by_key(|f| f.label.to_lowercase());
        fields
    }
}

impl FieldSchema {
    /// Why this field cannot take the value from `source`, in one sentence,
    /// or `None` when it can.
    pub fn refuses(&self, source: &ValueSource, survey: &SurveyDefinition) -> Option<String> {
        let problems = source_fits(source, self, survey);
        (!problems.is_empty()).then(|| problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join(" "))
    }
}

/// One row of the compatibility table: a kind of value, and the kinds of
/// Salesforce field it fits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compatibility {
    pub value: &'static str,
    pub fits: Vec<String>,
}

/// Which answers fit which kinds of Salesforce field, as the check decides
/// it: each cell is the check itself, asked of a sample question and field.
pub fn compatibility_table() -> Vec<Compatibility> {
    let choices = ChoiceList::parse_lines("Yes\nNo").expect("two choices");
    let values: [(&'static str, Option<QuestionKind>, ValueSource); 9] = [
        ("Text answer", Some(QuestionKind::Text { multiline: true }), ValueSource::ResponseId),
        ("Email answer", Some(QuestionKind::Email), ValueSource::ResponseId),
        ("Number answer", Some(QuestionKind::Number { min: None, max: None }), ValueSource::ResponseId),
        ("0–10 score (NPS)", Some(QuestionKind::Nps), ValueSource::ResponseId),
        ("Single choice", Some(QuestionKind::SingleChoice { choices: choices.clone() }), ValueSource::ResponseId),
        ("Multiple choice", Some(QuestionKind::MultipleChoice { choices }), ValueSource::ResponseId),
        ("Embedded data", None, ValueSource::Embedded { name: crate::EmbeddedFieldName::parse("sample").expect("a name") }),
        ("Response id", None, ValueSource::ResponseId),
        ("Start or finish time", None, ValueSource::FinishedAt),
    ];
    let kinds = [
        FieldKind::Text,
        FieldKind::TextArea,
        FieldKind::Email,
        FieldKind::Phone,
        FieldKind::Url,
        FieldKind::Picklist,
        FieldKind::MultiPicklist,
        FieldKind::Integer,
        FieldKind::Double,
        FieldKind::Currency,
        FieldKind::Percent,
        FieldKind::Boolean,
        FieldKind::Date,
        FieldKind::DateTime,
        FieldKind::Reference,
    ];
    values
        .into_iter()
        .map(|(value, question, source)| {
            let mut survey = SurveyDefinition::default();
            survey.add_embedded(crate::EmbeddedFieldName::parse("sample").expect("a name")).expect("one field");
            let source = match question {
                Some(kind) => ValueSource::Answer { question: survey.add_question(QuestionText::parse("Sample").expect("text"), kind, false).expect("one question") },
                None => source,
            };
            let fits = kinds
                .iter()
                .filter(|kind| {
                    let field = sample_field((*kind).clone());
                    source_fits(&source, &field, &survey).is_empty()
                })
                .map(|k| match k {
                    FieldKind::Picklist | FieldKind::MultiPicklist => format!("{} (its values)", k.label()),
                    k => k.label(),
                })
                .collect();
            Compatibility { value, fits }
        })
        .collect()
}

/// A field of `kind` that takes anything of its kind: long text, an open
/// picklist whose values include every sample choice and score.
fn sample_field(kind: FieldKind) -> FieldSchema {
    let picklist_values = ["Yes", "No"].into_iter().map(String::from).chain((0..=10).map(|n| n.to_string())).collect();
    FieldSchema {
        name: "Sample__c".into(),
        label: "Sample".into(),
        length: if kind.is_text() || matches!(kind, FieldKind::Email | FieldKind::Phone | FieldKind::Url | FieldKind::Reference) { 255 } else { 0 },
        kind,
        createable: true,
        updateable: true,
        nillable: true,
        defaulted_on_create: false,
        external_id: false,
        id_lookup: false,
        picklist_values,
        restricted_picklist: false,
        filterable: true,
        reference_to: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::FieldName;

    fn summary(name: &str, label: &str, createable: bool, updateable: bool) -> ObjectSummary {
        ObjectSummary { name: name.into(), label: label.into(), custom: name.ends_with("__c"), createable, updateable }
    }

    #[test]
    fn the_picker_offers_writable_data_objects_by_label() {
        let all = vec![
            summary("Survey_Response__c", "Survey Response", true, true),
            summary("Account", "Account", true, true),
            summary("AccountShare", "Account Share", true, true),
            summary("CaseHistory", "Case History", false, false),
            summary("ApexLog", "Apex Debug Log", false, false),
            summary("Case", "Case", false, true),
        ];
        let names: Vec<String> = mappable_objects(all).into_iter().map(|o| o.name).collect();
        assert_eq!(names, ["Account", "Case", "Survey_Response__c"]);
    }

    #[test]
    fn a_search_matches_label_or_api_name_in_any_case() {
        let objects = mappable_objects(vec![summary("Survey_Response__c", "Survey Response", true, true), summary("Contact", "Contact", true, true)]);
        let names = |q: &str| matching_objects(&objects, q).into_iter().map(|o| o.name.clone()).collect::<Vec<_>>();
        assert_eq!(names("response__C"), ["Survey_Response__c"]);
        assert_eq!(names("cont"), ["Contact"]);
        assert_eq!(names(" ").len(), 2);
        assert!(names("opportunity").is_empty());
    }

    fn field(name: &str, kind: FieldKind, length: u32) -> FieldSchema {
        FieldSchema { name: name.into(), label: name.replace("__c", "").replace('_', " "), length, ..sample_field(kind) }
    }

    fn object() -> ObjectSchema {
        let mut short_key = field("Short_Key__c", FieldKind::Text, 20);
        short_key.external_id = true;
        let mut key = field("External_Id__c", FieldKind::Text, 64);
        key.external_id = true;
        let mut number_key = field("Number_Key__c", FieldKind::Double, 0);
        number_key.external_id = true;
        let mut created_only = field("Source__c", FieldKind::Text, 40);
        created_only.updateable = false;
        ObjectSchema {
            name: "Survey_Response__c".into(),
            label: "Survey Response".into(),
            key_prefix: Some("a00".into()),
            createable: true,
            updateable: true,
            fields: vec![short_key, key, number_key, created_only, field("Score__c", FieldKind::Double, 0)],
        }
    }

    #[test]
    fn only_external_ids_that_hold_a_response_id_can_be_the_key() {
        let o = object();
        let keys: Vec<&str> = o.upsert_key_candidates().into_iter().map(|f| f.name.as_str()).collect();
        assert_eq!(keys, ["External_Id__c"]);
    }

    #[test]
    fn the_key_and_fields_the_action_cannot_set_are_not_offered() {
        let o = object();
        let upsert = MappingAction::Upsert { external_id_field: FieldName::parse("External_Id__c").unwrap() };
        let names = |a: &MappingAction| o.writable_fields(a).into_iter().map(|f| f.name.clone()).collect::<Vec<_>>();
        assert!(!names(&upsert).contains(&"External_Id__c".to_string()));
        assert!(!names(&upsert).contains(&"Source__c".to_string()), "set on create only, but an upsert also updates");
        assert!(names(&MappingAction::Create).contains(&"Source__c".to_string()));
        assert!(names(&upsert).contains(&"Score__c".to_string()));
    }

    #[test]
    fn a_field_says_why_it_refuses_a_value() {
        let mut survey = SurveyDefinition::default();
        let q = survey.add_question(QuestionText::parse("Why?").unwrap(), QuestionKind::Text { multiline: true }, false).unwrap();
        let score = field("Score__c", FieldKind::Double, 0);
        let why = score.refuses(&ValueSource::Answer { question: q }, &survey).expect("text cannot go into a number");
        assert!(why.contains("A text answer cannot go into"), "{why}");
        assert_eq!(score.refuses(&ValueSource::Static { value: "4.5".into() }, &survey), None);
    }

    #[test]
    fn the_compatibility_table_is_the_check_itself() {
        let table = compatibility_table();
        let row = |v: &str| table.iter().find(|r| r.value == v).unwrap().fits.clone();
        assert!(row("0–10 score (NPS)").contains(&"double".to_string()));
        assert!(row("0–10 score (NPS)").contains(&"picklist (its values)".to_string()));
        assert!(!row("Text answer").contains(&"double".to_string()));
        assert!(row("Multiple choice").contains(&"multipicklist (its values)".to_string()));
        assert!(!row("Single choice").contains(&"multipicklist (its values)".to_string()));
        assert!(row("Start or finish time").contains(&"datetime".to_string()));
        assert!(row("Email answer").contains(&"email".to_string()));
    }
}
