//! Surveys: the questions a project asks, the embedded data it takes from its
//! link, and the rules an answer must meet.

use crate::account::Email;
use crate::display_logic::{self, DisplayCondition};
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

    /// Whether the results report counts each value of its answers (a
    /// choice, a score, a number) rather than showing the latest ones (a
    /// text or an address, whose values are rarely given twice).
    pub fn results_count_values(&self) -> bool {
        !matches!(self, QuestionKind::Text { .. } | QuestionKind::Email)
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
    /// Display logic: asked only when an earlier answer meets this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<DisplayCondition>,
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
        self.questions.push(Question { id: id.clone(), text, required, kind, removed: false, show_if: None });
        Ok(id)
    }

    /// Changes a question. `answers` is how many stored responses answer it:
    /// an answered question keeps its type, since its answers were given as
    /// that type and a mapping or an export reads them so.
    pub fn update_question(&mut self, id: &QuestionId, text: QuestionText, kind: QuestionKind, required: bool, answers: u64) -> Result<(), Invalid> {
        self.keeping_logic(|s| s.update_question_unchecked(id, text, kind, required, answers))
    }

    fn update_question_unchecked(&mut self, id: &QuestionId, text: QuestionText, kind: QuestionKind, required: bool, answers: u64) -> Result<(), Invalid> {
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
        self.keeping_logic(|s| {
            let i = s.questions.iter().position(|q| &q.id == id && !q.removed).ok_or_else(|| no_such_question(id))?;
            if answers > 0 {
                s.questions[i].removed = true;
            } else {
                s.questions.remove(i);
            }
            Ok(())
        })
    }

    /// Asks a removed question again, where it stood.
    pub fn restore_question(&mut self, id: &QuestionId) -> Result<(), Invalid> {
        if self.asked().count() >= Self::MAX_QUESTIONS {
            return Err(Invalid::new(format!("A survey can have at most {} questions.", Self::MAX_QUESTIONS)));
        }
        self.keeping_logic(|s| {
            let q = s.questions.iter_mut().find(|q| &q.id == id && q.removed).ok_or_else(|| Invalid::new(format!("There is no removed question {id} to restore.")))?;
            q.removed = false;
            Ok(())
        })
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
            self.keeping_logic(|s| {
                s.questions.swap(i, j);
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Sets or clears (`None`) the display logic of an asked question. The
    /// condition must read a question asked before it.
    pub fn set_display_logic(&mut self, id: &QuestionId, condition: Option<DisplayCondition>) -> Result<(), Invalid> {
        if let Some(c) = &condition {
            if &c.question == id {
                return Err(Invalid::new("A question cannot be shown depending on its own answer: pick an earlier question."));
            }
        }
        self.keeping_logic(|s| {
            let q = s.questions.iter_mut().find(|q| &q.id == id && !q.removed).ok_or_else(|| no_such_question(id))?;
            q.show_if = condition;
            Ok(())
        })
    }

    /// Applies a change to the questions, and undoes it when it would leave
    /// display logic reading a later, removed or no longer fitting question.
    fn keeping_logic(&mut self, change: impl FnOnce(&mut Self) -> Result<(), Invalid>) -> Result<(), Invalid> {
        let before = self.questions.clone();
        let outcome = change(self).and_then(|()| display_logic::check(&self.questions));
        if outcome.is_err() {
            self.questions = before;
        }
        outcome
    }

    /// A question's display logic in words, naming the earlier question it
    /// reads by its text: `“Which plan?” is “Pro”`.
    pub fn show_if_in_words(&self, q: &Question) -> Option<String> {
        let c = q.show_if.as_ref()?;
        self.questions.iter().find(|s| s.id == c.question).map(|source| c.describe(source))
    }

    /// The asked questions a respondent sees, given what they answered so
    /// far (raw form values, as in `validate`): a question with display
    /// logic is shown only when the question it reads is shown and its
    /// answer meets the condition. Invalid answers count as unanswered.
    pub fn shown(&self, raw: &BTreeMap<String, Vec<String>>) -> Vec<&Question> {
        let mut answers = Answers::default();
        let mut shown = Vec::new();
        for q in self.asked() {
            if !is_shown(q, &shown, &answers) {
                continue;
            }
            if let Ok(Some(answer)) = answer_for(q, &submitted(raw, q)) {
                answers.0.insert(q.id.clone(), answer);
            }
            shown.push(q);
        }
        shown
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
        let mut shown = Vec::new();
        for q in self.asked() {
            // A hidden question is neither required nor stored, whatever was sent for it.
            if !is_shown(q, &shown, &answers) {
                continue;
            }
            shown.push(q);
            match answer_for(q, &submitted(raw, q)) {
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

/// A question's non-blank submitted values.
fn submitted<'a>(raw: &'a BTreeMap<String, Vec<String>>, q: &Question) -> Vec<&'a str> {
    raw.get(q.id.as_str()).map(|v| v.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect()).unwrap_or_default()
}

/// Whether `q` is shown, given the questions shown before it and their
/// answers (conditions read only earlier questions, so one pass decides).
fn is_shown(q: &Question, shown_before: &[&Question], answers: &Answers) -> bool {
    match &q.show_if {
        None => true,
        Some(c) => shown_before.iter().any(|s| s.id == c.question) && c.test.holds(answers.0.get(&c.question)),
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

    #[test]
    fn results_count_the_values_of_choices_scores_and_numbers_not_of_texts() {
        let counted = |type_name: &str| QuestionKind::from_form(type_name, "A\nB", "", "").unwrap().results_count_values();
        let table = [("single_choice", true), ("multiple_choice", true), ("nps", true), ("number", true), ("text", false), ("essay", false), ("email", false)];
        for (type_name, expected) in table {
            assert_eq!(counted(type_name), expected, "{type_name}");
        }
    }

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

    fn shows(when: &str, op: &str, value: &str, def: &SurveyDefinition) -> DisplayCondition {
        let source = def.question(&q(when)).unwrap();
        DisplayCondition { question: q(when), test: crate::ConditionTest::parse(op, value, &source.kind).unwrap() }
    }

    #[test]
    fn a_hidden_question_is_neither_required_nor_stored() {
        let mut s = survey();
        // q6 (Recommend?, required) only for Pro customers.
        let c = shows("q2", "is", "Pro", &s);
        s.set_display_logic(&q("q6"), Some(c)).unwrap();
        let free = s.validate(&raw(&[("q1", "Ada"), ("q2", "Free"), ("q6", "9")])).unwrap();
        assert!(!free.0.contains_key(&q("q6")), "an answer to a hidden question is dropped");
        assert!(s.validate(&raw(&[("q1", "Ada"), ("q2", "Free")])).is_ok(), "a hidden required question is not required");
        let errors = s.validate(&raw(&[("q1", "Ada"), ("q2", "Pro")])).unwrap_err();
        assert_eq!(errors.iter().map(|e| e.question.as_str()).collect::<Vec<_>>(), ["q6"]);
        let pro = s.validate(&raw(&[("q1", "Ada"), ("q2", "Pro"), ("q6", "9")])).unwrap();
        assert_eq!(pro.0.get(&q("q6")), Some(&Answer::Scale(9)));
    }

    #[test]
    fn a_question_behind_a_hidden_one_is_hidden_too() {
        let mut s = survey();
        s.set_display_logic(&q("q4"), Some(shows("q2", "is", "Pro", &s))).unwrap();
        // q5 shows when q4 "is not" 3 — which holds for an unanswered q4, but q4 itself is hidden.
        s.set_display_logic(&q("q5"), Some(shows("q4", "is_not", "3", &s))).unwrap();
        let shown = |pairs: &[(&str, &str)]| s.shown(&raw(pairs)).iter().map(|x| x.id.as_str().to_string()).collect::<Vec<_>>();
        assert_eq!(shown(&[("q2", "Free")]), ["q1", "q2", "q3", "q6"]);
        assert_eq!(shown(&[("q2", "Pro")]), ["q1", "q2", "q3", "q4", "q5", "q6"]);
        assert_eq!(shown(&[("q2", "Pro"), ("q4", "3")]), ["q1", "q2", "q3", "q4", "q6"]);
        let stored = s.validate(&raw(&[("q1", "Ada"), ("q2", "Free"), ("q5", "a@example.com"), ("q6", "1")])).unwrap();
        assert!(!stored.0.contains_key(&q("q5")));
    }

    #[test]
    fn display_logic_reads_only_an_earlier_asked_question() {
        let mut s = survey();
        let later = shows("q5", "answered", "", &s);
        let err = s.set_display_logic(&q("q2"), Some(later)).unwrap_err();
        assert!(err.0.contains("Q5 must come before it"), "{err}");
        assert!(s.questions[1].show_if.is_none(), "nothing changed");
        let own = shows("q2", "answered", "", &s);
        assert!(s.set_display_logic(&q("q2"), Some(own)).is_err());
        s.set_display_logic(&q("q3"), Some(shows("q2", "is", "Pro", &s))).unwrap();
        s.set_display_logic(&q("q3"), None).unwrap();
        assert!(s.questions[2].show_if.is_none(), "cleared");
    }

    #[test]
    fn no_edit_leaves_a_condition_reading_a_later_removed_or_changed_question() {
        let mut s = survey();
        s.set_display_logic(&q("q3"), Some(shows("q2", "is", "Pro", &s))).unwrap();
        let before = s.clone();
        // Moving q3 above q2, or q2 below q3.
        assert!(s.move_question(&q("q3"), true).unwrap_err().0.contains("Q2 must come before it"));
        assert!(s.move_question(&q("q2"), false).is_err());
        // Deleting q2, answered or not.
        assert!(s.remove_question(&q("q2"), 0).unwrap_err().0.contains("would no longer be asked"));
        assert!(s.remove_question(&q("q2"), 4).is_err());
        // Taking away the choice the condition reads, or changing q2's type.
        let plain = QuestionText::parse("Plan?").unwrap();
        let without_pro = QuestionKind::from_form("single_choice", "Free\nTeam", "", "").unwrap();
        let err = s.update_question(&q("q2"), plain.clone(), without_pro, false, 0).unwrap_err();
        assert!(err.0.contains("\"Pro\" is not one of its choices"), "{err}");
        assert!(s.update_question(&q("q2"), plain.clone(), QuestionKind::Email, false, 0).is_err());
        assert_eq!(s, before, "every refused edit changed nothing");
        // Renaming q2 keeps the logic; moving an unrelated question is fine.
        s.update_question(&q("q2"), QuestionText::parse("Which plan?").unwrap(), QuestionKind::from_form("single_choice", "Free\nPro\nTeam", "", "").unwrap(), false, 0).unwrap();
        s.move_question(&q("q6"), true).unwrap();
        // Clearing the logic lets q2 go.
        s.set_display_logic(&q("q3"), None).unwrap();
        s.remove_question(&q("q2"), 0).unwrap();
    }

    #[test]
    fn a_restored_question_may_not_read_a_question_that_is_gone() {
        let mut s = survey();
        s.set_display_logic(&q("q4"), Some(shows("q3", "includes", "B", &s))).unwrap();
        s.remove_question(&q("q4"), 2).unwrap();
        s.remove_question(&q("q3"), 0).unwrap();
        assert!(s.restore_question(&q("q4")).unwrap_err().0.contains("Q3 would no longer be asked"));
    }
}
