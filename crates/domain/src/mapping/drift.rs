//! Schema drift: a mapping that fit the org when it was saved no longer
//! does, because an admin changed the org since (deleted or renamed a field,
//! made it read-only, changed its type, removed a picklist value). Whether
//! it fits is `Mapping::check`; this says what changed, in the words the
//! project's page and its held deliveries show.

use super::{rule_fits, FieldKind, Mapping, MappingAction, MappingProblem, ObjectSchema, WhenNone};
use crate::survey::SurveyDefinition;
use serde::{Deserialize, Serialize};

/// A mapping that no longer fits the org, and what changed there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftedMapping {
    /// Its place among the project's mappings when it was checked.
    pub index: usize,
    pub object: String,
    /// One line per field (or per object-wide problem), e.g.
    /// "Survey_Response__c.Score__c was deleted in Salesforce (or renamed)."
    pub changes: Vec<String>,
}

impl DriftedMapping {
    /// Every change of every drifted mapping on one line: the reason a held
    /// delivery gives.
    pub fn summary(drifted: &[DriftedMapping]) -> String {
        drifted.iter().flat_map(|d| d.changes.iter().map(String::as_str)).collect::<Vec<_>>().join(" ")
    }
}

impl Mapping {
    /// What changed in the org so that this mapping (the `index`th) no
    /// longer fits, given the problems the check found (`None`: it fits).
    pub fn drift(&self, index: usize, schema: Option<&ObjectSchema>, problems: &[MappingProblem], survey: &SurveyDefinition) -> Option<DriftedMapping> {
        if problems.is_empty() {
            return None;
        }
        let object = self.object.as_str();
        let mut changes: Vec<String> = Vec::new();
        let mut seen_fields: Vec<&str> = Vec::new();
        for p in problems {
            let line = match (schema, p.field.as_deref()) {
                (None, _) => format!("{object} was deleted in Salesforce (or renamed): the org has no such object now."),
                (Some(_), None) => p.message.clone(),
                (Some(schema), Some(name)) => {
                    // One line per field, however many ways it stopped fitting.
                    if seen_fields.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                        continue;
                    }
                    seen_fields.push(name);
                    self.field_change(object, name, schema, problems, survey)
                }
            };
            if !changes.contains(&line) {
                changes.push(line);
            }
        }
        Some(DriftedMapping { index, object: object.to_string(), changes })
    }

    fn field_change(&self, object: &str, name: &str, schema: &ObjectSchema, problems: &[MappingProblem], survey: &SurveyDefinition) -> String {
        let qualified = format!("{object}.{name}");
        let Some(field) = schema.field(name) else {
            return format!("{qualified} was deleted in Salesforce (or renamed).");
        };
        let creates = match &self.action {
            MappingAction::Update { .. } => false,
            MappingAction::Match { when_none, .. } => *when_none == WhenNone::Create,
            MappingAction::Create | MappingAction::Upsert { .. } => true,
        };
        let updates = !matches!(self.action, MappingAction::Create);
        let rule = self.rules.iter().find(|r| r.field.as_str().eq_ignore_ascii_case(name));
        let value_problems = rule.map(|r| rule_fits(r, field, survey)).unwrap_or_default();
        let words = |ps: &[MappingProblem]| ps.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join(" ");
        if rule.is_some() && ((creates && !field.createable) || (updates && !field.updateable)) {
            return format!("{qualified} was made read-only in Salesforce: this Salesforce user can no longer set it.");
        }
        if !value_problems.is_empty() {
            let picklist = matches!(field.kind, FieldKind::Picklist | FieldKind::MultiPicklist) && value_problems.iter().all(|p| p.message.contains("is not a value of"));
            return if picklist {
                format!("{qualified} lost a picklist value in Salesforce: {}", words(&value_problems))
            } else {
                format!("{qualified} changed type in Salesforce: it is now a {} field. {}", field.kind.label(), words(&value_problems))
            };
        }
        let about: Vec<MappingProblem> = problems.iter().filter(|p| p.field.as_deref().is_some_and(|f| f.eq_ignore_ascii_case(name))).cloned().collect();
        format!("{qualified}: {}", words(&about))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{FieldName, FieldRule, FieldSchema, SObjectName, ValueSource};
    use crate::survey::{QuestionId, QuestionKind, QuestionText};

    fn field(name: &str, kind: FieldKind) -> FieldSchema {
        FieldSchema::open(name, kind, 255)
    }

    fn schema() -> ObjectSchema {
        let mut key = field("Key__c", FieldKind::Text);
        key.external_id = true;
        let mut mood = field("Mood__c", FieldKind::Picklist);
        mood.picklist_values = vec!["Good".into(), "Bad".into()];
        mood.restricted_picklist = true;
        ObjectSchema {
            name: "Survey_Response__c".into(),
            label: "Survey Response".into(),
            key_prefix: Some("a00".into()),
            createable: true,
            updateable: true,
            fields: vec![key, field("Score__c", FieldKind::Double), mood],
        }
    }

    fn survey() -> SurveyDefinition {
        let mut s = SurveyDefinition::default();
        s.add_question(QuestionText::parse("Score").unwrap(), QuestionKind::Nps, true).unwrap();
        s.add_question(QuestionText::parse("Mood").unwrap(), QuestionKind::from_form("single_choice", "Good\nBad", "", "").unwrap(), false).unwrap();
        s
    }

    fn mapping() -> Mapping {
        let rule = |f: &str, source| FieldRule { field: FieldName::parse(f).unwrap(), source, convert: None };
        let answer = |q: &str| ValueSource::Answer { question: QuestionId::parse(q).unwrap() };
        Mapping {
            object: SObjectName::parse("Survey_Response__c").unwrap(),
            action: MappingAction::Upsert { external_id_field: FieldName::parse("Key__c").unwrap() },
            rules: vec![rule("Key__c", ValueSource::ResponseId), rule("Score__c", answer("q1")), rule("Mood__c", answer("q2"))],
            condition: None,
        }
    }

    fn drift_after(change: impl FnOnce(&mut ObjectSchema)) -> Vec<String> {
        let mut s = schema();
        change(&mut s);
        let m = mapping();
        let problems = m.check(Some(&s), &survey());
        m.drift(0, Some(&s), &problems, &survey()).map(|d| d.changes).unwrap_or_default()
    }

    #[test]
    fn a_mapping_that_still_fits_has_not_drifted() {
        assert_eq!(drift_after(|_| {}), Vec::<String>::new());
    }

    #[test]
    fn each_kind_of_change_is_named_in_its_own_words() {
        let cases: [(&str, Box<dyn FnOnce(&mut ObjectSchema)>, &str); 4] = [
            ("deleted", Box::new(|s| s.fields.retain(|f| f.name != "Score__c")), "Survey_Response__c.Score__c was deleted in Salesforce"),
            ("read-only", Box::new(|s| s.fields[1].createable = false), "Survey_Response__c.Score__c was made read-only in Salesforce"),
            ("type", Box::new(|s| s.fields[1].kind = FieldKind::Boolean), "Survey_Response__c.Score__c changed type in Salesforce: it is now a boolean field."),
            ("picklist", Box::new(|s| s.fields[2].picklist_values.retain(|v| v != "Bad")), "Survey_Response__c.Mood__c lost a picklist value in Salesforce: \"Bad\" is not a value"),
        ];
        for (what, change, words) in cases {
            let changes = drift_after(change);
            assert_eq!(changes.len(), 1, "{what}: {changes:?}");
            assert!(changes[0].starts_with(words), "{what}: {changes:?}");
        }
    }

    #[test]
    fn a_deleted_object_is_named() {
        let m = mapping();
        let problems = m.check(None, &survey());
        let d = m.drift(3, None, &problems, &survey()).unwrap();
        assert_eq!((d.index, d.changes.len()), (3, 1));
        assert!(d.changes[0].starts_with("Survey_Response__c was deleted in Salesforce"), "{d:?}");
    }
}
