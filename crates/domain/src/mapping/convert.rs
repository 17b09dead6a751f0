//! How a value changes on its way into a field, as whoever maps it chose:
//! an answer choice recoded into the picklist's own value (or into true or
//! false), a 0–10 score into its NPS group, a long text cut to fit. Without
//! a choice nothing is changed, and what does not fit is refused when the
//! rule is saved.

use super::{FieldKind, FieldSchema, MappingProblem, ValueSource};
use crate::survey::{QuestionKind, SurveyDefinition};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Convert {
    /// Each answer choice (or NPS group) becomes the value given: a
    /// picklist value, or `true` / `false` for a checkbox.
    Recode { values: BTreeMap<String, String> },
    /// A 0–10 score becomes its NPS group: promoter (9–10), passive (7–8)
    /// or detractor (0–6), by the words given.
    NpsGroup { promoter: String, passive: String, detractor: String },
    /// Text longer than the field holds is cut to fit.
    CutToFit,
}

/// The NPS groups in Insight's words, in order.
pub const NPS_GROUPS: [&str; 3] = ["Promoter", "Passive", "Detractor"];

/// A 0–10 score's NPS group, by index into `NPS_GROUPS`.
pub fn nps_group(score: f64) -> Option<usize> {
    match score {
        s if (9.0..=10.0).contains(&s) => Some(0),
        s if (7.0..9.0).contains(&s) => Some(1),
        s if (0.0..7.0).contains(&s) => Some(2),
        _ => None,
    }
}

impl Convert {
    /// The NPS group, in Insight's words (Promoter, Passive, Detractor).
    pub fn nps_groups() -> Convert {
        let [promoter, passive, detractor] = NPS_GROUPS.map(String::from);
        Convert::NpsGroup { promoter, passive, detractor }
    }

    /// The conversion in words, for the editor and the history.
    pub fn describe(&self) -> String {
        match self {
            Convert::Recode { values } => {
                let pairs: Vec<String> = values.iter().map(|(from, to)| format!("{from} → {to}")).collect();
                format!("recoded: {}", pairs.join(", "))
            }
            Convert::NpsGroup { promoter, passive, detractor } => format!("as the NPS group ({promoter} 9–10, {passive} 7–8, {detractor} 0–6)"),
            Convert::CutToFit => "cut to fit the field".into(),
        }
    }

    /// The stored answer as it goes on, converted; `Err` says why it cannot.
    pub(super) fn apply(&self, value: &Value) -> Result<Value, String> {
        match self {
            Convert::CutToFit => Ok(value.clone()),
            Convert::Recode { values } => {
                let one = |v: &Value| -> Result<Value, String> {
                    let choice = crate::response::display_stored(v);
                    values.get(&choice).map(|to| Value::String(to.clone())).ok_or_else(|| format!("the choice \"{choice}\" has no recoded value; edit the rule's recoding"))
                };
                match value {
                    Value::Array(items) => items.iter().map(one).collect::<Result<Vec<_>, _>>().map(Value::Array),
                    other => one(other),
                }
            }
            Convert::NpsGroup { promoter, passive, detractor } => {
                let score = match value {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                };
                let group = score.and_then(nps_group).ok_or_else(|| format!("\"{}\" is not a 0–10 score", crate::response::display_stored(value)))?;
                Ok(Value::String([promoter, passive, detractor][group].clone()))
            }
        }
    }

    pub(super) fn cuts_to_fit(conversion: Option<&Convert>) -> bool {
        matches!(conversion, Some(Convert::CutToFit))
    }
}

/// What a recoding asks for: the values that come (choices, or NPS
/// groups) and the values the field takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Recoding {
    pub from: Vec<String>,
    pub to: Vec<String>,
    /// Recoding NPS groups (rather than choices).
    pub nps: bool,
}

impl Recoding {
    /// For each value that comes, the value it most likely means: the same
    /// value, compared without regard to case (blank when none is).
    pub fn guesses(&self) -> Vec<String> {
        self.from.iter().map(|f| self.to.iter().find(|t| t.eq_ignore_ascii_case(f)).cloned().unwrap_or_default()).collect()
    }
}

/// The values a checkbox takes, as a recoding's targets.
const BOOLEANS: [&str; 2] = ["true", "false"];

/// Does mapping `source` into `field` need a recoding first — a choice
/// question into a picklist that lacks some of its choices, or into a
/// checkbox; NPS groups (`nps`) into a picklist lacking Insight's words?
pub fn recoding_for(source: &ValueSource, nps: bool, field: &FieldSchema, survey: &SurveyDefinition) -> Option<Recoding> {
    let ValueSource::Answer { question } = source else { return None };
    let q = survey.question(question)?;
    let from: Vec<String> = match (&q.kind, nps) {
        (QuestionKind::Nps, true) => NPS_GROUPS.iter().map(|g| g.to_string()).collect(),
        (QuestionKind::SingleChoice { choices } | QuestionKind::MultipleChoice { choices }, false) => choices.as_slice().to_vec(),
        _ => return None,
    };
    let to: Vec<String> = match field.kind {
        FieldKind::Boolean if !nps && matches!(q.kind, QuestionKind::SingleChoice { .. }) => BOOLEANS.iter().map(|b| b.to_string()).collect(),
        FieldKind::Picklist | FieldKind::MultiPicklist => {
            if from.iter().all(|f| field.picklist_values.contains(f)) {
                return None;
            }
            field.picklist_values.clone()
        }
        _ => return None,
    };
    Some(Recoding { from, to, nps })
}

/// Does a rule with conversion `convert` of `source` fit `field`? Every way
/// it does not.
pub(super) fn conversion_fits(convert: &Convert, source: &ValueSource, field: &FieldSchema, survey: &SurveyDefinition) -> Vec<MappingProblem> {
    let name = field.name.as_str();
    let problem = |m: String| vec![MappingProblem::field(name, m)];
    let question = match source {
        ValueSource::Answer { question } => survey.question(question),
        _ => None,
    };
    match convert {
        Convert::CutToFit => {
            if field.kind.is_text() {
                super::source_fits(source, field, survey)
            } else {
                problem(format!("Only text is cut to fit, and {} is a {} field.", field.label, field.kind.label()))
            }
        }
        Convert::NpsGroup { promoter, passive, detractor } => {
            if !question.is_some_and(|q| q.kind == QuestionKind::Nps) {
                return problem("Only a 0–10 score has an NPS group.".into());
            }
            match field.kind {
                FieldKind::Picklist => [promoter, passive, detractor]
                    .into_iter()
                    .filter(|g| !field.picklist_values.contains(g))
                    .map(|g| MappingProblem::field(name, format!("\"{g}\" is not a value of the {} picklist.", field.label)))
                    .collect(),
                _ if field.kind.is_text() => vec![],
                _ => problem(format!("An NPS group is a word, and {} is a {} field.", field.label, field.kind.label())),
            }
        }
        Convert::Recode { values } => {
            let Some(q) = question else { return problem("Only the answer to a choice question can be recoded.".into()) };
            let choices = match &q.kind {
                QuestionKind::SingleChoice { choices } | QuestionKind::MultipleChoice { choices } => choices.as_slice().to_vec(),
                _ => return problem("Only the answer to a choice question can be recoded.".into()),
            };
            let mut problems: Vec<MappingProblem> = choices
                .iter()
                .filter(|c| !values.contains_key(*c))
                .map(|c| MappingProblem::field(name, format!("The choice \"{c}\" has no value to become in {}.", field.label)))
                .collect();
            let multiple = matches!(q.kind, QuestionKind::MultipleChoice { .. });
            let fits = |to: &str| match field.kind {
                FieldKind::Picklist if !multiple => field.picklist_values.iter().any(|v| v == to),
                FieldKind::MultiPicklist => field.picklist_values.iter().any(|v| v == to),
                FieldKind::Boolean if !multiple => BOOLEANS.contains(&to),
                FieldKind::Text | FieldKind::TextArea => true,
                _ => false,
            };
            let wrong_kind = !matches!(field.kind, FieldKind::Picklist | FieldKind::MultiPicklist | FieldKind::Boolean | FieldKind::Text | FieldKind::TextArea)
                || (multiple && matches!(field.kind, FieldKind::Picklist | FieldKind::Boolean));
            if wrong_kind {
                return problem(format!("Recoded choices cannot go into {} (a {} field).", field.label, field.kind.label()));
            }
            for (from, to) in values {
                if !fits(to) {
                    let what = if field.kind == FieldKind::Boolean { "true or false".to_string() } else { format!("a value of the {} picklist", field.label) };
                    problems.push(MappingProblem::field(name, format!("\"{from}\" is recoded to \"{to}\", which is not {what}.")));
                }
            }
            problems
        }
    }
}

/// A text answer can be far longer than a short field: without "cut to
/// fit", such a rule is refused rather than cut without anyone choosing it.
pub(super) fn length_fits(source: &ValueSource, field: &FieldSchema, survey: &SurveyDefinition) -> Vec<MappingProblem> {
    let ValueSource::Answer { question } = source else { return vec![] };
    let is_text = survey.question(question).is_some_and(|q| matches!(q.kind, QuestionKind::Text { .. }));
    let longest = QuestionKind::TEXT_MAX_CHARS;
    if is_text && field.kind.is_text() && field.length > 0 && (field.length as usize) < longest {
        vec![MappingProblem::field(
            &field.name,
            format!("{} holds {} characters, and an answer may have up to {longest}: choose \"cut to fit\" for this rule, or map the answer to a longer field.", field.label, field.length),
        )]
    } else {
        vec![]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{FieldName, FieldRule, Mapping, MappingAction, ResponseValues, SObjectName};
    use crate::survey::{QuestionId, QuestionText};

    fn field(name: &str, kind: FieldKind, values: &[&str]) -> FieldSchema {
        let length = if kind.is_text() { 255 } else { 0 };
        FieldSchema { picklist_values: values.iter().map(|v| v.to_string()).collect(), restricted_picklist: true, ..FieldSchema::open(name, kind, length) }
    }

    fn survey() -> SurveyDefinition {
        let mut s = SurveyDefinition::default();
        s.add_question(QuestionText::parse("Score").unwrap(), QuestionKind::Nps, true).unwrap();
        s.add_question(QuestionText::parse("Resolved?").unwrap(), QuestionKind::from_form("single_choice", "Yes\nNo", "", "").unwrap(), true).unwrap();
        s.add_question(QuestionText::parse("Channels").unwrap(), QuestionKind::from_form("multiple_choice", "By phone\nBy mail", "", "").unwrap(), false).unwrap();
        s.add_question(QuestionText::parse("Why").unwrap(), QuestionKind::Text { multiline: true }, false).unwrap();
        s
    }

    fn answer(q: &str) -> ValueSource {
        ValueSource::Answer { question: QuestionId::parse(q).unwrap() }
    }

    fn recode(pairs: &[(&str, &str)]) -> Convert {
        Convert::Recode { values: pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect() }
    }

    fn written(rule: FieldRule, schema_field: FieldSchema, answers: serde_json::Value) -> Result<crate::mapping::FieldValue, String> {
        let mut key = field("Key__c", FieldKind::Text, &[]);
        key.external_id = true;
        let schema = crate::mapping::ObjectSchema { name: "Case".into(), label: "Case".into(), key_prefix: Some("500".into()), createable: true, updateable: true, fields: vec![schema_field, key] };
        let name = rule.field.as_str().to_string();
        let m = Mapping {
            object: SObjectName::parse("Case").unwrap(),
            action: MappingAction::Upsert { external_id_field: FieldName::parse("Key__c").unwrap() },
            rules: vec![FieldRule::new(FieldName::parse("Key__c").unwrap(), ValueSource::ResponseId), rule],
            condition: None,
        };
        let answers: BTreeMap<String, Value> = serde_json::from_value(answers).unwrap();
        let embedded = BTreeMap::new();
        let r = ResponseValues { response_id: "R_x", answers: &answers, embedded: &embedded, started_at: None, finished_at: 0, provenance: Default::default() };
        m.record_for(&r, &schema).map(|rec| rec.fields[&name].clone())
    }

    #[test]
    fn a_choice_needs_a_recoding_only_where_the_field_lacks_it() {
        let s = survey();
        let status = field("Status", FieldKind::Picklist, &["Solved", "Open"]);
        let r = recoding_for(&answer("q2"), false, &status, &s).unwrap();
        assert_eq!(r.from, ["Yes", "No"]);
        assert_eq!(r.to, ["Solved", "Open"]);
        let same = field("Status", FieldKind::Picklist, &["yes", "No"]);
        assert_eq!(recoding_for(&answer("q2"), false, &same, &s).unwrap().guesses(), ["yes", "No"]);
        let fine = field("Status", FieldKind::Picklist, &["Yes", "No", "Maybe"]);
        assert_eq!(recoding_for(&answer("q2"), false, &fine, &s), None, "every choice is a value already");
        let checkbox = field("Resolved__c", FieldKind::Boolean, &[]);
        assert_eq!(recoding_for(&answer("q2"), false, &checkbox, &s).unwrap().to, ["true", "false"]);
        let group = field("Group__c", FieldKind::Picklist, &["Fan", "Neutral", "Critic"]);
        assert_eq!(recoding_for(&answer("q1"), true, &group, &s).unwrap().from, NPS_GROUPS);
    }

    #[test]
    fn a_recoded_choice_is_written_as_its_picklist_value_or_checkbox() {
        let status = field("Status", FieldKind::Picklist, &["Solved", "Open"]);
        let rule = FieldRule { convert: Some(recode(&[("Yes", "Solved"), ("No", "Open")])), ..FieldRule::new(FieldName::parse("Status").unwrap(), answer("q2")) };
        assert!(conversion_fits(rule.convert.as_ref().unwrap(), &rule.source, &status, &survey()).is_empty());
        assert_eq!(written(rule, status.clone(), serde_json::json!({"q2": "Yes"})).unwrap(), crate::mapping::FieldValue::Text("Solved".into()));

        let checkbox = field("Resolved__c", FieldKind::Boolean, &[]);
        let rule = FieldRule { convert: Some(recode(&[("Yes", "true"), ("No", "false")])), ..FieldRule::new(FieldName::parse("Resolved__c").unwrap(), answer("q2")) };
        assert_eq!(written(rule, checkbox, serde_json::json!({"q2": "No"})).unwrap(), crate::mapping::FieldValue::Bool(false));

        let channels = field("Channels__c", FieldKind::MultiPicklist, &["Phone", "Mail"]);
        let rule = FieldRule { convert: Some(recode(&[("By phone", "Phone"), ("By mail", "Mail")])), ..FieldRule::new(FieldName::parse("Channels__c").unwrap(), answer("q3")) };
        let v = written(rule, channels, serde_json::json!({"q3": ["By mail", "By phone"]})).unwrap();
        assert_eq!(v, crate::mapping::FieldValue::Choices(vec!["Mail".into(), "Phone".into()]));
    }

    #[test]
    fn a_recoding_that_misses_a_choice_or_names_no_value_is_refused() {
        let status = field("Status", FieldKind::Picklist, &["Solved", "Open"]);
        let problems = conversion_fits(&recode(&[("Yes", "Solved")]), &answer("q2"), &status, &survey());
        assert!(problems.iter().any(|p| p.message.contains("\"No\" has no value")), "{problems:?}");
        let problems = conversion_fits(&recode(&[("Yes", "Solved"), ("No", "Closed")]), &answer("q2"), &status, &survey());
        assert!(problems.iter().any(|p| p.message.contains("\"Closed\", which is not a value")), "{problems:?}");
        let checkbox = field("Resolved__c", FieldKind::Boolean, &[]);
        let problems = conversion_fits(&recode(&[("Yes", "yes"), ("No", "false")]), &answer("q2"), &checkbox, &survey());
        assert!(problems.iter().any(|p| p.message.contains("not true or false")), "{problems:?}");
        assert!(!conversion_fits(&recode(&[]), &answer("q4"), &status, &survey()).is_empty(), "a text answer is not recoded");
    }

    #[test]
    fn scores_fall_into_their_nps_groups() {
        assert_eq!([10.0, 9.0, 8.0, 7.0, 6.0, 0.0].map(nps_group), [Some(0), Some(0), Some(1), Some(1), Some(2), Some(2)]);
        assert_eq!(nps_group(11.0), None);
        let text = field("Group__c", FieldKind::Text, &[]);
        let rule = FieldRule { convert: Some(Convert::nps_groups()), ..FieldRule::new(FieldName::parse("Group__c").unwrap(), answer("q1")) };
        assert_eq!(written(rule.clone(), text.clone(), serde_json::json!({"q1": 6})).unwrap(), crate::mapping::FieldValue::Text("Detractor".into()));
        assert_eq!(written(rule, text.clone(), serde_json::json!({"q1": 9})).unwrap(), crate::mapping::FieldValue::Text("Promoter".into()));
        let picklist = field("Group__c", FieldKind::Picklist, &["Promoter", "Passive"]);
        let problems = conversion_fits(&Convert::nps_groups(), &answer("q1"), &picklist, &survey());
        assert_eq!(problems.len(), 1, "Detractor is missing: {problems:?}");
        assert!(!conversion_fits(&Convert::nps_groups(), &answer("q2"), &text, &survey()).is_empty(), "only a score has a group");
    }

    #[test]
    fn a_long_text_answer_into_a_short_field_must_be_cut_by_choice() {
        let short = field("Subject", FieldKind::Text, &[]);
        assert!(length_fits(&answer("q4"), &short, &survey())[0].message.contains("cut to fit"));
        let rule = FieldRule { convert: Some(Convert::CutToFit), ..FieldRule::new(FieldName::parse("Subject").unwrap(), answer("q4")) };
        assert!(crate::mapping::rule_fits(&rule, &short, &survey()).is_empty());
        let long = "x".repeat(300);
        match written(rule, short, serde_json::json!({"q4": long})).unwrap() {
            crate::mapping::FieldValue::Text(t) => assert_eq!(t.chars().count(), 255),
            other => panic!("{other:?}"),
        }
        assert!(!conversion_fits(&Convert::CutToFit, &answer("q1"), &field("Score__c", FieldKind::Double, &[]), &survey()).is_empty());
    }
}
