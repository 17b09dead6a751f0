//! Surveys: the questions a project asks, the embedded data it takes from its
//! link, and the rules an answer must meet.

use crate::account::Email;
use crate::response::{Answer, Answers};
use crate::Invalid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A question's stable id within its survey ("q1", "q2", …). It survives
/// edits and reordering, so answers and exports keep pointing at it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct QuestionId(String);

impl QuestionId {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let digits = raw.strip_prefix('q').unwrap_or("");
        if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::new(format!("\"{raw}\" is not a question id.")));
        }
        Ok(QuestionId(raw.to_string()))
    }

    fn numbered(n: u32) -> Self {
        QuestionId(format!("q{n}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for QuestionId {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        QuestionId::parse(&value)
    }
}

impl From<QuestionId> for String {
    fn from(value: QuestionId) -> Self {
        value.0
    }
}

impl std::fmt::Display for QuestionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionText(String);

impl QuestionText {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(Invalid::new("Write the question's text."));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(Invalid::new(format!(
                "A question can be at most {} characters.",
                Self::MAX_CHARS
            )));
        }
        Ok(QuestionText(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The choices of a single- or multiple-choice question: 2 to 50 distinct,
/// non-empty labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceList(Vec<String>);

impl ChoiceList {
    pub const MAX: usize = 50;
    pub const MAX_CHARS: usize = 200;

    /// One choice per line; blank lines are ignored.
    pub fn parse_lines(raw: &str) -> Result<Self, Invalid> {
        let mut choices: Vec<String> = Vec::new();
        for line in raw.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if line.chars().count() > Self::MAX_CHARS {
                return Err(Invalid::new(format!(
                    "A choice can be at most {} characters.",
                    Self::MAX_CHARS
                )));
            }
            if choices.iter().any(|c| c == line) {
                return Err(Invalid::new(format!("The choice \"{line}\" is listed twice.")));
            }
            choices.push(line.to_string());
        }
        if choices.len() < 2 {
            return Err(Invalid::new("Give at least two choices, one per line."));
        }
        if choices.len() > Self::MAX {
            return Err(Invalid::new(format!("A question can have at most {} choices.", Self::MAX)));
        }
        Ok(ChoiceList(choices))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn contains(&self, value: &str) -> bool {
        self.0.iter().any(|c| c == value)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    /// Free text; `multiline` shows a text area instead of a line.
    Text { multiline: bool },
    SingleChoice { choices: ChoiceList },
    MultipleChoice { choices: ChoiceList },
    Number { min: Option<f64>, max: Option<f64> },
    Email,
    /// The 0–10 "how likely are you to recommend" scale.
    Nps,
}

impl QuestionKind {
    pub const TEXT_MAX_CHARS: usize = 10_000;

    pub fn type_name(&self) -> &'static str {
        match self {
            QuestionKind::Text { .. } => "text",
            QuestionKind::SingleChoice { .. } => "single_choice",
            QuestionKind::MultipleChoice { .. } => "multiple_choice",
            QuestionKind::Number { .. } => "number",
            QuestionKind::Email => "email",
            QuestionKind::Nps => "nps",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            QuestionKind::Text { multiline: false } => "Text entry",
            QuestionKind::Text { multiline: true } => "Text entry (multi-line)",
            QuestionKind::SingleChoice { .. } => "Single choice",
            QuestionKind::MultipleChoice { .. } => "Multiple choice",
            QuestionKind::Number { .. } => "Number",
            QuestionKind::Email => "Email",
            QuestionKind::Nps => "0–10 scale (NPS)",
        }
    }

    /// Builds a kind from the builder form's fields.
    pub fn from_form(type_name: &str, choices: &str, min: &str, max: &str) -> Result<Self, Invalid> {
        let bound = |raw: &str, which: &str| -> Result<Option<f64>, Invalid> {
            let raw = raw.trim();
            if raw.is_empty() {
                return Ok(None);
            }
            match raw.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Some(v)),
                _ => Err(Invalid::new(format!("The {which} must be a number, not \"{raw}\"."))),
            }
        };
        Ok(match type_name {
            "text" => QuestionKind::Text { multiline: false },
            "essay" => QuestionKind::Text { multiline: true },
            "single_choice" => QuestionKind::SingleChoice { choices: ChoiceList::parse_lines(choices)? },
            "multiple_choice" => QuestionKind::MultipleChoice { choices: ChoiceList::parse_lines(choices)? },
            "number" => {
                let (min, max) = (bound(min, "minimum")?, bound(max, "maximum")?);
                if let (Some(lo), Some(hi)) = (min, max) {
                    if lo > hi {
                        return Err(Invalid::new("The minimum must not be above the maximum."));
                    }
                }
                QuestionKind::Number { min, max }
            }
            "email" => QuestionKind::Email,
            "nps" => QuestionKind::Nps,
            other => return Err(Invalid::new(format!("\"{other}\" is not a question type."))),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub id: QuestionId,
    pub text: QuestionText,
    pub required: bool,
    pub kind: QuestionKind,
    /// Deleted after it was answered: kept so its answers keep their label
    /// in the table, the export and the API, but never asked again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

impl Question {
    /// The question's text as the responses table and the export label it.
    pub fn label(&self) -> String {
        if self.removed {
            format!("{} (removed question)", self.text.as_str())
        } else {
            self.text.as_str().to_string()
        }
    }
}

/// The name of an embedded-data field, taken from the survey link's query
/// string: letters, digits and underscores, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmbeddedFieldName(String);

impl EmbeddedFieldName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let value = raw.trim();
        let mut chars = value.chars();
        let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        if !starts_with_letter
            || value.len() > 64
            || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(Invalid::new(format!(
                "\"{value}\" cannot be an embedded data field: use up to 64 letters, digits or underscores, starting with a letter."
            )));
        }
        Ok(EmbeddedFieldName(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmbeddedFieldName {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        EmbeddedFieldName::parse(&value)
    }
}

impl From<EmbeddedFieldName> for String {
    fn from(value: EmbeddedFieldName) -> Self {
        value.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SurveyStatus {
    Draft,
    Published,
}

impl SurveyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SurveyStatus::Draft => "draft",
            SurveyStatus::Published => "published",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SurveyStatus::Draft => "Draft",
            SurveyStatus::Published => "Published",
        }
    }
}

/// One answer the respondent must fix, tied to its question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerError {
    pub question: QuestionId,
    pub message: String,
}

/// A survey: its questions in order and the embedded data it declares.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SurveyDefinition {
    pub questions: Vec<Question>,
    pub embedded: Vec<EmbeddedFieldName>,
    /// The number the next new question's id takes, so ids are never reused.
    pub next_question: u32,
}

impl SurveyDefinition {
    pub const MAX_QUESTIONS: usize = 200;
    pub const MAX_EMBEDDED: usize = 50;
    pub const EMBEDDED_VALUE_MAX_CHARS: usize = 2_000;

    /// A question respondents are asked; a removed one counts as absent
    /// (so a mapping that takes its value from it no longer fits).
    pub fn question(&self, id: &QuestionId) -> Option<&Question> {
        self.asked().find(|q| &q.id == id)
    }

    /// The questions respondents are asked, in order.
    pub fn asked(&self) -> impl Iterator<Item = &Question> {
        self.questions.iter().filter(|q| !q.removed)
    }

    /// The questions deleted after they were answered, kept for their answers.
    pub fn removed(&self) -> impl Iterator<Item = &Question> {
        self.questions.iter().filter(|q| q.removed)
    }

    pub fn add_question(&mut self, text: QuestionText, kind: QuestionKind, required: bool) -> Result<QuestionId, Invalid> {
        if self.asked().count() >= Self::MAX_QUESTIONS {
            return Err(Invalid::new(format!("A survey can have at most {} questions.", Self::MAX_QUESTIONS)));
        }
        self.next_question = self.next_question.max(1);
        let id = QuestionId::numbered(self.next_question);
        self.next_question += 1;
        self.questions.push(Question { id: id.clone(), text, required, kind, removed: false });
        Ok(id)
    }

    /// Changes a question. `answers` is how many stored responses answer it:
    /// an answered question keeps its type, since its answers were given as
    /// that type and a mapping or an export reads them so.
    pub fn update_question(&mut self, id: &QuestionId, text: QuestionText, kind: QuestionKind, required: bool, answers: u64) -> Result<(), Invalid> {
        let q = self.questions.iter_mut().find(|q| &q.id == id).ok_or_else(|| no_such_question(id))?;
        if answers > 0 && q.kind.type_name() != kind.type_name() {
            let given = match &q.kind {
                QuestionKind::Text { .. } => "text",
                QuestionKind::SingleChoice { .. } => "a single choice",
                QuestionKind::MultipleChoice { .. } => "multiple choices",
                QuestionKind::Number { .. } => "a number",
                QuestionKind::Email => "an email address",
                QuestionKind::Nps => "a 0–10 score",
            };
            return Err(Invalid::new(format!(
                "{} has {answers} answer{} as {given}; add a new question instead.",
                id.as_str().to_uppercase(),
                if answers == 1 { "" } else { "s" }
            )));
        }
        q.text = text;
        q.kind = kind;
        q.required = required;
        Ok(())
    }

    /// Deletes a question. `answers` is how many stored responses answer it:
    /// an answered question is only hidden from respondents, so its answers
    /// keep their label; an unanswered one goes for good. Either way its id
    /// is never given to another question.
    pub fn remove_question(&mut self, id: &QuestionId, answers: u64) -> Result<(), Invalid> {
        let i = self.questions.iter().position(|q| &q.id == id && !q.removed).ok_or_else(|| no_such_question(id))?;
        if answers > 0 {
            self.questions[i].removed = true;
        } else {
            self.questions.remove(i);
        }
        Ok(())
    }

    /// Asks a removed question again, where it stood.
    pub fn restore_question(&mut self, id: &QuestionId) -> Result<(), Invalid> {
        if self.asked().count() >= Self::MAX_QUESTIONS {
            return Err(Invalid::new(format!("A survey can have at most {} questions.", Self::MAX_QUESTIONS)));
        }
        let q = self.questions.iter_mut().find(|q| &q.id == id && q.removed).ok_or_else(|| Invalid::new(format!("There is no removed question {id} to restore.")))?;
        q.removed = false;
        Ok(())
    }

    /// Moves a question one place up (`up = true`) or down among the asked
    /// questions. Moving the first question up or the last down leaves the
    /// order as it is.
    pub fn move_question(&mut self, id: &QuestionId, up: bool) -> Result<(), Invalid> {
        let i = self.questions.iter().position(|q| &q.id == id && !q.removed).ok_or_else(|| no_such_question(id))?;
        // Step over removed questions: respondents do not see them.
        let neighbour = if up {
            self.questions[..i].iter().rposition(|q| !q.removed)
        } else {
            self.questions[i + 1..].iter().position(|q| !q.removed).map(|j| i + 1 + j)
        };
        if let Some(j) = neighbour {
            self.questions.swap(i, j);
        }
        Ok(())
    }

    pub fn add_embedded(&mut self, name: EmbeddedFieldName) -> Result<(), Invalid> {
        if self.embedded.contains(&name) {
            return Err(Invalid::new(format!("The embedded data field \"{}\" is already declared.", name.as_str())));
        }
        if self.embedded.len() >= Self::MAX_EMBEDDED {
            return Err(Invalid::new(format!("A survey can declare at most {} embedded data fields.", Self::MAX_EMBEDDED)));
        }
        self.embedded.push(name);
        Ok(())
    }

    pub fn remove_embedded(&mut self, name: &EmbeddedFieldName) -> Result<(), Invalid> {
        let before = self.embedded.len();
        self.embedded.retain(|n| n != name);
        if self.embedded.len() == before {
            return Err(Invalid::new(format!("There is no embedded data field \"{}\".", name.as_str())));
        }
        Ok(())
    }

    /// A survey can be published once it asks at least one question.
    pub fn check_publishable(&self) -> Result<(), Invalid> {
        if self.asked().next().is_none() {
            return Err(Invalid::new("Add at least one question before publishing."));
        }
        Ok(())
    }

    /// Picks the declared embedded data out of a survey link's query string.
    /// Undeclared names are ignored (links often carry tracking parameters);
    /// an over-long value is refused, since nobody could act on a silently
    /// cut one.
    pub fn embedded_from_link<'a>(&self, query: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<BTreeMap<String, String>, Invalid> {
        let mut data = BTreeMap::new();
        for (key, value) in query {
            if let Some(name) = self.embedded.iter().find(|n| n.as_str() == key) {
                if value.chars().count() > Self::EMBEDDED_VALUE_MAX_CHARS {
                    return Err(Invalid::new(format!(
                        "The survey link's value for \"{key}\" is longer than {} characters.",
                        Self::EMBEDDED_VALUE_MAX_CHARS
                    )));
                }
                data.insert(name.as_str().to_string(), value.to_string());
            }
        }
        Ok(data)
    }

    /// Checks a respondent's raw answers (question id → submitted values)
    /// against every question, returning typed answers or every problem at
    /// once so the respondent can fix them in one go. An answer to a removed
    /// question (from a page loaded before the removal) is left out.
    pub fn validate(&self, raw: &BTreeMap<String, Vec<String>>) -> Result<Answers, Vec<AnswerError>> {
        for key in raw.keys() {
            if !self.questions.iter().any(|q| q.id.as_str() == key) {
                return Err(vec![AnswerError {
                    question: QuestionId::parse(key).unwrap_or_else(|_| QuestionId::numbered(0)),
                    message: format!("\"{key}\" is not a question of this survey."),
                }]);
            }
        }
        let mut answers = Answers::default();
        let mut errors = Vec::new();
        for q in self.asked() {
            let values: Vec<&str> = raw
                .get(q.id.as_str())
                .map(|v| v.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default();
            match answer_for(q, &values) {
                Ok(Some(answer)) => {
                    answers.0.insert(q.id.clone(), answer);
                }
                Ok(None) if q.required => errors.push(AnswerError {
                    question: q.id.clone(),
                    message: "This question needs an answer.".into(),
                }),
                Ok(None) => {}
                Err(message) => errors.push(AnswerError { question: q.id.clone(), message }),
            }
        }
        if errors.is_empty() {
            Ok(answers)
        } else {
            Err(errors)
        }
    }
}

fn no_such_question(id: &QuestionId) -> Invalid {
    Invalid::new(format!("There is no question {id} in this survey."))
}

/// One question's answer from its submitted values; `Ok(None)` when blank.
fn answer_for(q: &Question, values: &[&str]) -> Result<Option<Answer>, String> {
    if values.is_empty() {
        return Ok(None);
    }
    let single = || -> Result<&str, String> {
        match values {
            [one] => Ok(one),
            _ => Err("Give one answer only.".into()),
        }
    };
    Ok(Some(match &q.kind {
        QuestionKind::Text { .. } => {
            let v = single()?;
            if v.chars().count() > QuestionKind::TEXT_MAX_CHARS {
                return Err(format!("Keep the answer under {} characters.", QuestionKind::TEXT_MAX_CHARS));
            }
            Answer::Text(v.to_string())
        }
        QuestionKind::SingleChoice { choices } => {
            let v = single()?;
            if !choices.contains(v) {
                return Err(format!("\"{v}\" is not one of the choices."));
            }
            Answer::Choice(v.to_string())
        }
        QuestionKind::MultipleChoice { choices } => {
            let mut picked: Vec<String> = Vec::new();
            for v in values {
                if !choices.contains(v) {
                    return Err(format!("\"{v}\" is not one of the choices."));
                }
                if !picked.iter().any(|p| p == v) {
                    picked.push(v.to_string());
                }
            }
            // Keep the survey's order, not the order the browser sent.
            picked.sort_by_key(|p| choices.as_slice().iter().position(|c| c == p));
            Answer::Choices(picked)
        }
        QuestionKind::Number { min, max } => {
            let v = single()?;
            let n: f64 = v
                .parse()
                .ok()
                .filter(|n: &f64| n.is_finite())
                .ok_or_else(|| format!("\"{v}\" is not a number."))?;
            if let Some(lo) = min {
                if n < *lo {
                    return Err(format!("Enter a number of at least {lo}."));
                }
            }
            if let Some(hi) = max {
                if n > *hi {
                    return Err(format!("Enter a number of at most {hi}."));
                }
            }
            Answer::Number(n)
        }
        QuestionKind::Email => {
            let v = single()?;
            Answer::Email(Email::parse(v).map_err(|e| e.0)?)
        }
        QuestionKind::Nps => {
            let v = single()?;
            match v.parse::<u8>() {
                Ok(n) if n <= 10 => Answer::Scale(n),
                _ => return Err("Pick a number from 0 to 10.".into()),
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn survey() -> SurveyDefinition {
        let mut s = SurveyDefinition::default();
        let t = |x: &str| QuestionText::parse(x).unwrap();
        s.add_question(t("Name?"), QuestionKind::Text { multiline: false }, true).unwrap();
        s.add_question(
            t("Plan?"),
            QuestionKind::from_form("single_choice", "Free\nPro\n", "", "").unwrap(),
            false,
        )
        .unwrap();
        s.add_question(t("Features?"), QuestionKind::from_form("multiple_choice", "A\nB\nC", "", "").unwrap(), false)
            .unwrap();
        s.add_question(t("Seats?"), QuestionKind::from_form("number", "", "1", "100").unwrap(), false).unwrap();
        s.add_question(t("Email?"), QuestionKind::Email, false).unwrap();
        s.add_question(t("Recommend?"), QuestionKind::Nps, true).unwrap();
        s
    }

    fn raw(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in pairs {
            m.entry(k.to_string()).or_default().push(v.to_string());
        }
        m
    }

    #[test]
    fn question_ids_are_never_reused_after_removal() {
        let mut s = survey();
        let last = s.questions.last().unwrap().id.clone();
        s.remove_question(&last, 0).unwrap();
        let id = s.add_question(QuestionText::parse("New").unwrap(), QuestionKind::Email, false).unwrap();
        assert_ne!(id, last);
    }

    fn q(id: &str) -> QuestionId {
        QuestionId::parse(id).unwrap()
    }

    #[test]
    fn removing_an_answered_question_hides_it_and_keeps_it() {
        // (answers it has, still in the definition, asked)
        for (answers, kept) in [(0, false), (1, true), (14, true)] {
            let mut s = survey();
            s.remove_question(&q("q2"), answers).unwrap();
            assert_eq!(s.questions.iter().any(|x| x.id == q("q2")), kept, "{answers} answers");
            assert!(s.question(&q("q2")).is_none(), "a removed question counts as absent");
            assert!(s.asked().all(|x| x.id != q("q2")));
        }
    }

    #[test]
    fn a_removed_question_is_never_required_and_its_answers_are_left_out() {
        let mut s = survey();
        s.remove_question(&q("q1"), 3).unwrap();
        let a = s.validate(&raw(&[("q1", "Ada"), ("q6", "9")])).unwrap();
        assert_eq!(a.0.keys().map(QuestionId::as_str).collect::<Vec<_>>(), ["q6"]);
        assert!(s.validate(&raw(&[("q6", "9")])).is_ok(), "q1 was required before it was removed");
    }

    #[test]
    fn a_removed_question_can_be_restored_once_and_removed_once() {
        let mut s = survey();
        s.remove_question(&q("q2"), 1).unwrap();
        assert!(s.remove_question(&q("q2"), 1).is_err());
        assert_eq!(s.removed().count(), 1);
        s.restore_question(&q("q2")).unwrap();
        assert!(s.restore_question(&q("q2")).is_err());
        assert_eq!(s.question(&q("q2")).unwrap().label(), "Plan?");
    }

    #[test]
    fn a_removed_question_is_labelled_as_such() {
        let mut s = survey();
        s.remove_question(&q("q5"), 2).unwrap();
        assert_eq!(s.questions[4].label(), "Email? (removed question)");
    }

    #[test]
    fn an_answered_question_keeps_its_type() {
        let text = || QuestionText::parse("Seats?").unwrap();
        let number = QuestionKind::Number { min: None, max: Some(10.0) };
        // (answers, new kind, accepted)
        let cases = [
            (0, QuestionKind::Email, true),
            (14, QuestionKind::Email, false),
            (14, number.clone(), true),
        ];
        for (answers, kind, accepted) in cases {
            let mut s = survey();
            let r = s.update_question(&q("q4"), text(), kind.clone(), false, answers);
            assert_eq!(r.is_ok(), accepted, "{answers} answers, {kind:?}");
        }
        let err = survey().update_question(&q("q4"), text(), QuestionKind::Email, false, 14).unwrap_err();
        assert_eq!(err.0, "Q4 has 14 answers as a number; add a new question instead.");
    }

    #[test]
    fn moving_steps_over_removed_questions() {
        let mut s = survey();
        s.remove_question(&q("q2"), 1).unwrap();
        s.move_question(&q("q3"), true).unwrap();
        let asked: Vec<&str> = s.asked().map(|x| x.id.as_str()).collect();
        assert_eq!(&asked[..2], ["q3", "q1"]);
    }

    #[test]
    fn stored_questions_without_the_removed_mark_still_load() {
        let json = r#"{"questions":[{"id":"q1","text":"Name?","required":true,"kind":{"type":"email"}}],"embedded":[],"next_question":2}"#;
        let s: SurveyDefinition = serde_json::from_str(json).unwrap();
        assert!(!s.questions[0].removed);
    }

    #[test]
    fn a_complete_submission_yields_typed_answers() {
        let a = survey()
            .validate(&raw(&[("q1", "Ada"), ("q2", "Pro"), ("q3", "C"), ("q3", "A"), ("q4", "12"), ("q5", "ADA@x.io"), ("q6", "9")]))
            .unwrap();
        let get = |id: &str| a.0.get(&QuestionId::parse(id).unwrap()).cloned();
        assert_eq!(get("q3"), Some(Answer::Choices(vec!["A".into(), "C".into()])));
        assert_eq!(get("q4"), Some(Answer::Number(12.0)));
        assert_eq!(get("q6"), Some(Answer::Scale(9)));
        assert_eq!(get("q5").unwrap().display(), "ada@x.io");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let errs = survey()
            .validate(&raw(&[("q2", "Enterprise"), ("q4", "500"), ("q5", "not-an-email"), ("q6", "11")]))
            .unwrap_err();
        let ids: Vec<&str> = errs.iter().map(|e| e.question.as_str()).collect();
        assert_eq!(ids, ["q1", "q2", "q4", "q5", "q6"]);
    }

    #[test]
    fn optional_blank_answers_are_left_out() {
        let a = survey().validate(&raw(&[("q1", "Ada"), ("q4", "  "), ("q6", "0")])).unwrap();
        assert_eq!(a.0.len(), 2);
    }

    #[test]
    fn answers_to_unknown_questions_are_refused() {
        assert!(survey().validate(&raw(&[("q1", "Ada"), ("q6", "1"), ("q99", "x")])).is_err());
    }

    #[test]
    fn reordering_moves_one_place_and_stops_at_the_ends() {
        let mut s = survey();
        let first = s.questions[0].id.clone();
        s.move_question(&first, true).unwrap();
        assert_eq!(s.questions[0].id, first);
        s.move_question(&first, false).unwrap();
        assert_eq!(s.questions[1].id, first);
    }

    #[test]
    fn only_declared_embedded_data_is_taken_from_the_link() {
        let mut s = survey();
        s.add_embedded(EmbeddedFieldName::parse("contact_id").unwrap()).unwrap();
        let data = s.embedded_from_link([("contact_id", "003xx"), ("utm_source", "mail")]).unwrap();
        assert_eq!(data.len(), 1);
        assert_eq!(data["contact_id"], "003xx");
        assert!(s.embedded_from_link([("contact_id", "x".repeat(3000).as_str())]).is_err());
    }

    #[test]
    fn choice_lists_need_two_distinct_choices() {
        assert!(ChoiceList::parse_lines("Only").is_err());
        assert!(ChoiceList::parse_lines("A\nA").is_err());
        assert!(QuestionKind::from_form("number", "", "10", "1").is_err());
    }

    #[test]
    fn an_empty_survey_cannot_be_published() {
        assert!(SurveyDefinition::default().check_publishable().is_err());
        assert!(survey().check_publishable().is_ok());
    }

    #[test]
    fn definitions_round_trip_through_json() {
        let s = survey();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<SurveyDefinition>(&json).unwrap(), s);
    }
}
