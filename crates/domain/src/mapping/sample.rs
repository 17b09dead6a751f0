//! A sample response for a dry run: one answer to every question, as the
//! survey itself would accept and store it, so the records a dry run shows
//! are the records a real response like it would write.

use super::{Mapping, MappingAction, ObjectSchema, ValueSource};
use crate::survey::{QuestionKind, SurveyDefinition};
use std::collections::BTreeMap;

/// A made-up response: answers as stored (JSON by question id) and
/// embedded data by name.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleResponse {
    pub response_id: String,
    pub answers: BTreeMap<String, serde_json::Value>,
    pub embedded: BTreeMap<String, String>,
}

/// The id a sample response carries: a real response id's shape.
pub const SAMPLE_RESPONSE_ID: &str = "R_SampleResponse00000000";

impl SampleResponse {
    /// One plausible answer per question (validated by the survey, so it is
    /// stored as a real one would be); embedded data `sample <name>`, except
    /// where an update takes its record id: there a made-up id of the
    /// object's key prefix, since a sample has no signed link to carry one.
    pub fn for_survey(survey: &SurveyDefinition, mappings: &[(Mapping, Option<ObjectSchema>)]) -> SampleResponse {
        let raw: BTreeMap<String, Vec<String>> = survey.asked().map(|q| (q.id.as_str().to_string(), sample_answer(&q.kind))).collect();
        let answers = match survey.validate(&raw) {
            Ok(answers) => answers.0.into_iter().map(|(id, a)| (id.as_str().to_string(), serde_json::to_value(a).unwrap_or_default())).collect(),
            Err(_) => BTreeMap::new(),
        };
        let mut embedded: BTreeMap<String, String> = survey.embedded.iter().map(|e| (e.as_str().to_string(), format!("sample {}", e.as_str()))).collect();
        for (m, schema) in mappings {
            if let (MappingAction::Update { record_id: ValueSource::Embedded { name } }, Some(schema)) = (&m.action, schema) {
                let prefix = schema.key_prefix.clone().unwrap_or_else(|| "000".into());
                embedded.insert(name.as_str().to_string(), format!("{prefix}000000000001AAA"));
            }
        }
        SampleResponse { response_id: SAMPLE_RESPONSE_ID.into(), answers, embedded }
    }
}

fn sample_answer(kind: &QuestionKind) -> Vec<String> {
    match kind {
        QuestionKind::Text { .. } => vec!["A sample answer".into()],
        QuestionKind::Email => vec!["respondent@example.com".into()],
        QuestionKind::Number { min, max } => {
            let n = match (min, max) {
                (Some(lo), Some(hi)) => ((lo + hi) / 2.0).round(),
                (Some(lo), None) => *lo,
                (None, Some(hi)) => hi.min(7.0),
                (None, None) => 7.0,
            };
            vec![n.to_string()]
        }
        QuestionKind::Nps => vec!["9".into()],
        QuestionKind::SingleChoice { choices } => choices.as_slice().iter().take(1).cloned().collect(),
        QuestionKind::MultipleChoice { choices } => choices.as_slice().iter().take(2).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::QuestionText;

    #[test]
    fn every_question_gets_an_answer_the_survey_accepts() {
        let mut s = SurveyDefinition::default();
        let text = |t: &str| QuestionText::parse(t).unwrap();
        s.add_question(text("How likely?"), QuestionKind::Nps, true).unwrap();
        s.add_question(text("Why?"), QuestionKind::Text { multiline: true }, true).unwrap();
        s.add_question(text("Seats"), QuestionKind::Number { min: Some(1.0), max: Some(5.0) }, true).unwrap();
        s.add_question(text("Channels"), QuestionKind::from_form("multiple_choice", "Phone\nEmail\nChat", "", "").unwrap(), true).unwrap();
        s.add_question(text("Email"), QuestionKind::Email, true).unwrap();
        let sample = SampleResponse::for_survey(&s, &[]);
        assert_eq!(sample.answers.len(), 5, "{sample:?}");
        assert_eq!(sample.answers["q1"], serde_json::json!(9));
        assert_eq!(sample.answers["q3"], serde_json::json!(3.0));
        assert_eq!(sample.answers["q4"], serde_json::json!(["Phone", "Email"]));
    }
}
