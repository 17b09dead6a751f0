//! Which mappings a survey edit breaks: removing a question or an embedded
//! data field that a mapping takes a value from, or changing the type of a
//! question it maps. The survey editor names them and asks before it does
//! such an edit.

use super::{Mapping, MappingAction, SObjectName, ValueSource};
use crate::survey::QuestionId;
use crate::EmbeddedFieldName;

/// An edit of a survey that can take away what a mapping reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SurveyEdit {
    RemoveQuestion(QuestionId),
    ChangeQuestionType(QuestionId),
    RemoveEmbedded(EmbeddedFieldName),
}

impl SurveyEdit {
    /// Does a value taken from `source` depend on what this edit changes?
    fn touches(&self, source: &ValueSource) -> bool {
        match (self, source) {
            (SurveyEdit::RemoveQuestion(id) | SurveyEdit::ChangeQuestionType(id), ValueSource::Answer { question }) => question == id,
            (SurveyEdit::RemoveEmbedded(name), ValueSource::Embedded { name: used }) => used == name,
            _ => false,
        }
    }

    /// "this question" or "this embedded data field", as the messages say it.
    fn what(&self) -> &'static str {
        match self {
            SurveyEdit::RemoveQuestion(_) | SurveyEdit::ChangeQuestionType(_) => "this question",
            SurveyEdit::RemoveEmbedded(_) => "this embedded data field",
        }
    }
}

/// One use of what an edit changes, in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenUse {
    /// The mapping's place in the project's list.
    pub mapping: usize,
    pub object: SObjectName,
    /// The field whose value it gives; `None` when it gives the record id of
    /// an update.
    pub field: Option<String>,
    pub message: String,
}

/// Every use, in every mapping, of what `edit` removes or changes; empty
/// when the edit breaks no mapping.
pub fn broken_by(edit: &SurveyEdit, mappings: &[Mapping]) -> Vec<BrokenUse> {
    let mut broken = Vec::new();
    for (i, m) in mappings.iter().enumerate() {
        let object = m.object.as_str();
        if let MappingAction::Update { record_id } = &m.action {
            if edit.touches(record_id) {
                broken.push(BrokenUse {
                    mapping: i,
                    object: m.object.clone(),
                    field: None,
                    message: format!("The {object} update finds the record to update by {}.", edit.what()),
                });
            }
        }
        for rule in m.rules.iter().filter(|r| edit.touches(&r.source)) {
            let field = rule.field.as_str();
            broken.push(BrokenUse {
                mapping: i,
                object: m.object.clone(),
                field: Some(field.to_string()),
                message: format!("{object}.{field} takes its value from {}.", edit.what()),
            });
        }
        let reads = |c: &super::Clause| {
            let source = match &c.subject {
                super::Subject::Answer { question } => ValueSource::Answer { question: question.clone() },
                super::Subject::Embedded { name } => ValueSource::Embedded { name: name.clone() },
            };
            edit.touches(&source)
        };
        if m.condition.as_ref().is_some_and(|c| c.clauses.iter().any(reads)) {
            broken.push(BrokenUse { mapping: i, object: m.object.clone(), field: None, message: format!("The {object} mapping's condition reads {}.", edit.what()) });
        }
    }
    broken
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{FieldName, FieldRule};

    fn q(id: &str) -> QuestionId {
        QuestionId::parse(id).unwrap()
    }

    fn e(name: &str) -> EmbeddedFieldName {
        EmbeddedFieldName::parse(name).unwrap()
    }

    fn rule(field: &str, source: ValueSource) -> FieldRule {
        FieldRule { field: FieldName::parse(field).unwrap(), source, convert: None }
    }

    /// A response object filled from q1 and q2, and a case updated by the
    /// case_id embedded data with a comment from q2.
    fn mappings() -> Vec<Mapping> {
        vec![
            Mapping {
                object: SObjectName::parse("Survey_Response__c").unwrap(),
                action: MappingAction::Upsert { external_id_field: FieldName::parse("Response_Id__c").unwrap() },
                rules: vec![
                    rule("Response_Id__c", ValueSource::ResponseId),
                    rule("Score__c", ValueSource::Answer { question: q("q1") }),
                    rule("Comment__c", ValueSource::Answer { question: q("q2") }),
                ],
                condition: None,
            },
            Mapping {
                object: SObjectName::parse("Case").unwrap(),
                action: MappingAction::Update { record_id: ValueSource::Embedded { name: e("case_id") } },
                rules: vec![
                    rule("Comments", ValueSource::Answer { question: q("q2") }),
                    rule("Origin", ValueSource::Embedded { name: e("source") }),
                ],
                condition: Some(crate::mapping::Condition {
                    join: crate::mapping::Join::All,
                    clauses: vec![crate::mapping::Clause { subject: crate::mapping::Subject::Embedded { name: e("region") }, op: crate::mapping::Op::Equals, value: "EMEA".into() }],
                }),
            },
        ]
    }

    #[test]
    fn an_edit_names_every_mapping_field_it_breaks() {
        // (edit, what it breaks)
        let cases: Vec<(SurveyEdit, Vec<&str>)> = vec![
            (SurveyEdit::RemoveQuestion(q("q1")), vec!["Survey_Response__c.Score__c takes its value from this question."]),
            (SurveyEdit::ChangeQuestionType(q("q1")), vec!["Survey_Response__c.Score__c takes its value from this question."]),
            (
                SurveyEdit::RemoveQuestion(q("q2")),
                vec!["Survey_Response__c.Comment__c takes its value from this question.", "Case.Comments takes its value from this question."],
            ),
            (SurveyEdit::RemoveQuestion(q("q3")), vec![]),
            (SurveyEdit::RemoveEmbedded(e("case_id")), vec!["The Case update finds the record to update by this embedded data field."]),
            (SurveyEdit::RemoveEmbedded(e("source")), vec!["Case.Origin takes its value from this embedded data field."]),
            (SurveyEdit::RemoveEmbedded(e("region")), vec!["The Case mapping's condition reads this embedded data field."]),
            (SurveyEdit::RemoveEmbedded(e("unused")), vec![]),
        ];
        for (edit, expected) in cases {
            let messages: Vec<String> = broken_by(&edit, &mappings()).into_iter().map(|b| b.message).collect();
            assert_eq!(messages, expected, "{edit:?}");
        }
    }

    #[test]
    fn a_broken_record_id_has_no_field_and_points_at_its_mapping() {
        let broken = broken_by(&SurveyEdit::RemoveEmbedded(e("case_id")), &mappings());
        assert_eq!((broken[0].mapping, broken[0].field.as_deref()), (1, None));
    }

    #[test]
    fn without_mappings_nothing_breaks() {
        assert!(broken_by(&SurveyEdit::RemoveQuestion(q("q1")), &[]).is_empty());
    }
}
