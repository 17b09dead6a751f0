//! Does a mapping fit an org? Every way it does not, in words a person can
//! act on: the same check runs when a mapping is saved and when a survey
//! transitions to another org.

use super::{FieldKind, FieldRule, FieldSchema, Mapping, MappingAction, ObjectSchema, ValueSource, WhenNone};
use crate::survey::{QuestionKind, SurveyDefinition};

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
    pub(super) fn condition(message: String) -> Self {
        MappingProblem { field: None, message }
    }
    pub(super) fn field(field: &str, message: String) -> Self {
        MappingProblem { field: Some(field.to_string()), message }
    }
}

/// Response ids are `R_` and 22 characters.
pub(super) const RESPONSE_ID_LEN: u32 = 24;

impl Mapping {
    /// The rule that fills an upsert's key field, if the mapping upserts.
    pub fn key_rule(&self) -> Option<&FieldRule> {
        match &self.action {
            MappingAction::Upsert { external_id_field } => self.rules.iter().find(|r| r.field.as_str().eq_ignore_ascii_case(external_id_field.as_str())),
            _ => None,
        }
    }

    /// Every way this mapping does not fit the object as the org describes
    /// it (`None`: the org has no such object). Empty means it fits.
    pub fn check(&self, schema: Option<&ObjectSchema>, survey: &SurveyDefinition) -> Vec<MappingProblem> {
        let Some(schema) = schema else {
            return vec![MappingProblem::object(format!("The org has no object {}.", self.object.as_str()))];
        };
        let mut problems = Vec::new();
        let creates = match &self.action {
            MappingAction::Update { .. } => false,
            MappingAction::Match { when_none, .. } => *when_none == WhenNone::Create,
            MappingAction::Create | MappingAction::Upsert { .. } => true,
        };
        let updates = !matches!(self.action, MappingAction::Create);
        let matched_on = match &self.action {
            MappingAction::Match { field, .. } => Some(field.as_str()),
            _ => None,
        };
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
            if matched_on.is_some_and(|m| m.eq_ignore_ascii_case(name)) {
                problems.push(MappingProblem::field(name, format!("{name} is what the record is matched on: its value is the one matched, so it cannot be mapped as well.")));
                continue;
            }
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
            problems.extend(rule_fits(rule, field, survey));
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
                ValueSource::Answer { question } if survey.question(question).is_none() => {
                    problems.push(MappingProblem::object(format!("The record id comes from {question}, which is no longer a question of this survey.")))
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
                    // The key is Insight's: one record per response holds
                    // only while every response brings its own key. A fixed
                    // value there would send every response to one record.
                    Some(_) => match self.key_rule() {
                        None => problems.push(MappingProblem::field(
                            key,
                            format!("{key} is the upsert key, and Insight fills it with each response's id; this mapping has lost that rule. Remove the mapping and add it again."),
                        )),
                        Some(rule) if rule.source != ValueSource::ResponseId => problems.push(MappingProblem::field(
                            key,
                            format!("{key} is the upsert key: Insight fills it with each response's id, so that each response has its own record. {} cannot go there.", rule.source.describe(survey)),
                        )),
                        Some(_) => {}
                    },
                }
            }
            MappingAction::Match { field, source, .. } => problems.extend(match_fits(field.as_str(), source, creates, schema, survey)),
        }
        if let Some(condition) = &self.condition {
            problems.extend(condition.check(survey));
        }
        if creates {
            for f in schema.fields.iter().filter(|f| f.required_on_create()) {
                let mapped = self.rules.iter().any(|r| r.field.as_str().eq_ignore_ascii_case(&f.name)) || matched_on.is_some_and(|m| m.eq_ignore_ascii_case(&f.name));
                if !mapped {
                    problems.push(MappingProblem::field(&f.name, format!("{} ({}) is required to create a record: map a value to it.", f.label, f.name)));
                }
            }
        }
        problems
    }
}

/// Does a rule fit its field: its value, converted as the rule says, or as
/// it is when the rule says nothing? Every way it does not.
pub fn rule_fits(rule: &FieldRule, field: &FieldSchema, survey: &SurveyDefinition) -> Vec<MappingProblem> {
    match &rule.convert {
        Some(convert) => super::convert::conversion_fits(convert, &rule.source, field, survey),
        None => {
            let mut problems = source_fits(&rule.source, field, survey);
            problems.extend(super::convert::length_fits(&rule.source, field, survey));
            problems
        }
    }
}

/// Does the value from `source` fit `field`? Every way it does not; the
/// editor asks this of each field to say why one cannot take a value.
pub fn source_fits(source: &ValueSource, field: &FieldSchema, survey: &SurveyDefinition) -> Vec<MappingProblem> {
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
        ValueSource::RecordOf { object } => {
            if field.kind != FieldKind::Reference {
                wrong(&format!("The {} record's id", object.as_str()))
            } else if !field.reference_to.iter().any(|o| o.eq_ignore_ascii_case(object.as_str())) {
                let to = if field.reference_to.is_empty() { "nothing".to_string() } else { field.reference_to.join(" or ") };
                vec![MappingProblem::field(name, format!("{} looks up {to}, not {}.", field.label, object.as_str()))]
            } else {
                vec![]
            }
        }
    }
}

/// Does a match fit: a field a query can look records up by, and a value
/// each response brings? Every way it does not.
fn match_fits(name: &str, source: &ValueSource, creates: bool, schema: &ObjectSchema, survey: &SurveyDefinition) -> Vec<MappingProblem> {
    let Some(field) = schema.field(name) else {
        return vec![MappingProblem::field(name, format!("{} has no field {name} to match on.", schema.label))];
    };
    let mut problems = Vec::new();
    let problem = |m: String| MappingProblem::field(name, m);
    match field.kind {
        FieldKind::Text | FieldKind::Email | FieldKind::Phone | FieldKind::Url => {}
        FieldKind::Id => problems.push(problem("To update a record by its id, choose \"Update the record that the survey link names\" instead.".into())),
        _ => problems.push(problem(format!("Records are matched on a text, email, phone or URL field; {} is a {} field.", field.label, field.kind.label()))),
    }
    if !field.filterable {
        problems.push(problem(format!("Salesforce cannot look {} records up by {}.", schema.label, field.label)));
    }
    // A record created by the match carries the value, so that a retried
    // delivery finds it rather than creating it twice.
    if creates && !field.createable {
        problems.push(problem(format!("{} cannot be set when a record is created, so a created record could not be found again; match on another field or skip responses with no match.", field.label)));
    }
    match source {
        ValueSource::Answer { .. } | ValueSource::Embedded { .. } => problems.extend(source_fits(source, field, survey)),
        ValueSource::Static { .. } => problems.push(problem("A fixed value would send every response to the same record: match on an answer or embedded data.".into())),
        other => problems.push(problem(format!("Records are matched on an answer or embedded data, not on {}.", other.describe(survey).to_lowercase()))),
    }
    problems
}

/// What a mapping's place among the others breaks: a lookup to "the record
/// written for the response" needs exactly one earlier mapping of that
/// object, since mappings are delivered in order.
pub fn related_problems(mappings: &[Mapping], index: usize) -> Vec<MappingProblem> {
    let Some(m) = mappings.get(index) else { return vec![] };
    let mut problems = Vec::new();
    for rule in &m.rules {
        let ValueSource::RecordOf { object } = &rule.source else { continue };
        let earlier = mappings[..index].iter().filter(|e| e.object == *object).count();
        let later = mappings[index + 1..].iter().any(|e| e.object == *object);
        let message = match earlier {
            1 => continue,
            0 if later => format!("{} points to the {} record, but that mapping comes after this one; mappings are written in order.", rule.field.as_str(), object.as_str()),
            0 => format!("{} points to the {} record written for the response, but no mapping writes a {} record.", rule.field.as_str(), object.as_str(), object.as_str()),
            _ => format!("{} points to the {} record, but {earlier} earlier mappings write {} records; keep one.", rule.field.as_str(), object.as_str(), object.as_str()),
        };
        problems.push(MappingProblem::field(rule.field.as_str(), message));
    }
    problems
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
    use crate::mapping::{FieldName, FieldRule, SObjectName};
    use crate::survey::{QuestionId, QuestionText};
    use crate::EmbeddedFieldName;

    fn field(name: &str, kind: FieldKind) -> FieldSchema {
        let length = if kind == FieldKind::Text { 255 } else { 0 };
        FieldSchema::open(name, kind, length)
    }

    fn case_schema() -> ObjectSchema {
        let mut status = field("Status", FieldKind::Picklist);
        status.picklist_values = vec!["New".into(), "Closed".into()];
        status.restricted_picklist = true;
        let mut key = field("Survey_Response_Id__c", FieldKind::Text);
        key.external_id = true;
        let mut name = field("LastName", FieldKind::Text);
        name.nillable = false;
        ObjectSchema {
            name: "Survey_Response__c".into(),
            label: "Survey Response".into(),
            key_prefix: Some("a00".into()),
            createable: true,
            updateable: true,
            fields: vec![field("Score__c", FieldKind::Double), field("Comment__c", FieldKind::TextArea), status, key, name, field("Happy__c", FieldKind::Boolean)],
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
        FieldRule { field: FieldName::parse(field).unwrap(), source, convert: None }
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
            condition: None,
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
    fn the_upsert_key_takes_the_response_id_and_nothing_else() {
        for other in [ValueSource::Static { value: "R_always_the_same_record".into() }, answer("q2"), ValueSource::FinishedAt] {
            let mut m = good_mapping();
            m.rules[0].source = other.clone();
            let problems = m.check(Some(&case_schema()), &survey());
            assert!(
                problems.iter().any(|p| p.field.as_deref() == Some("Survey_Response_Id__c") && p.message.contains("fills it with each response's id")),
                "{other:?}: {problems:?}"
            );
        }
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
            condition: None,
        };
        let problems = m.check(Some(&case_schema()), &survey());
        assert!(problems.iter().any(|p| p.message.contains("no longer declares")));
    }

    #[test]
    fn a_removed_question_no_longer_fits_a_mapping() {
        let mut s = survey();
        s.remove_question(&QuestionId::parse("q2").unwrap(), 5).unwrap();
        let problems = good_mapping().check(Some(&case_schema()), &s);
        assert_eq!(problems.iter().map(|p| p.field.as_deref()).collect::<Vec<_>>(), [Some("Comment__c")], "{problems:?}");
        let update = Mapping {
            object: SObjectName::parse("Case").unwrap(),
            action: MappingAction::Update { record_id: answer("q2") },
            rules: vec![rule("Comment__c", answer("q1"))],
            condition: None,
        };
        assert!(update.check(Some(&case_schema()), &s).iter().any(|p| p.message.contains("no longer a question")));
    }
}
