//! When a mapping applies: a condition on the response's answers and
//! embedded data (`NPS ≤ 6`, `Region = EMEA`), its clauses joined with
//! "and" or "or". A response that does not meet it is skipped — logged as
//! such, never failed — and nothing is written for that mapping.

use super::{MappingProblem, ResponseValues};
use crate::response::display_stored;
use crate::survey::{QuestionId, QuestionKind, SurveyDefinition};
use crate::{EmbeddedFieldName, Invalid};
use serde::{Deserialize, Serialize};

/// What a clause looks at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Subject {
    Answer { question: QuestionId },
    Embedded { name: EmbeddedFieldName },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Equals,
    NotEquals,
    Below,
    AtMost,
    Above,
    AtLeast,
    /// Text that contains the value; a multiple-choice answer that has it picked.
    Contains,
    IsBlank,
    IsNotBlank,
}

impl Op {
    pub const ALL: [Op; 9] = [Op::Equals, Op::NotEquals, Op::Below, Op::AtMost, Op::Above, Op::AtLeast, Op::Contains, Op::IsBlank, Op::IsNotBlank];

    pub fn code(self) -> &'static str {
        match self {
            Op::Equals => "=",
            Op::NotEquals => "≠",
            Op::Below => "<",
            Op::AtMost => "≤",
            Op::Above => ">",
            Op::AtLeast => "≥",
            Op::Contains => "contains",
            Op::IsBlank => "is blank",
            Op::IsNotBlank => "is not blank",
        }
    }

    pub fn parse(raw: &str) -> Result<Op, Invalid> {
        let raw = raw.trim();
        Op::ALL
            .into_iter()
            .find(|op| op.code() == raw)
            .or(match raw {
                "!=" | "<>" => Some(Op::NotEquals),
                "<=" => Some(Op::AtMost),
                ">=" => Some(Op::AtLeast),
                _ => None,
            })
            .ok_or_else(|| Invalid::new(format!("\"{raw}\" is not a comparison: use =, ≠, <, ≤, >, ≥, contains, is blank or is not blank.")))
    }

    fn is_numeric(self) -> bool {
        matches!(self, Op::Below | Op::AtMost | Op::Above | Op::AtLeast)
    }

    fn takes_value(self) -> bool {
        !matches!(self, Op::IsBlank | Op::IsNotBlank)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clause {
    pub subject: Subject,
    pub op: Op,
    #[serde(default)]
    pub value: String,
}

/// How clauses join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Join {
    /// Every clause holds ("and").
    #[default]
    All,
    /// One clause holds ("or").
    Any,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    #[serde(default)]
    pub join: Join,
    pub clauses: Vec<Clause>,
}

impl Condition {
    pub const MAX_CLAUSES: usize = 10;

    /// `existing` (or no condition yet) with one more clause, all joined
    /// as `join` says.
    pub fn adding(existing: Option<&Condition>, join: Join, clause: Clause) -> Condition {
        let mut clauses = existing.map(|c| c.clauses.clone()).unwrap_or_default();
        clauses.push(clause);
        Condition { join, clauses }
    }

    /// Does the response meet the condition? A condition without clauses
    /// always holds.
    pub fn holds(&self, response: &ResponseValues) -> bool {
        let mut results = self.clauses.iter().map(|c| c.holds(response));
        match self.join {
            Join::All => results.all(|r| r),
            Join::Any => self.clauses.is_empty() || results.any(|r| r),
        }
    }

    /// The condition in words: `"How likely…" ≤ 6 and region = EMEA`.
    pub fn describe(&self, survey: &SurveyDefinition) -> String {
        let joiner = match self.join {
            Join::All => " and ",
            Join::Any => " or ",
        };
        self.clauses.iter().map(|c| c.describe(survey)).collect::<Vec<_>>().join(joiner)
    }

    /// Every way the condition does not fit the survey.
    pub fn check(&self, survey: &SurveyDefinition) -> Vec<MappingProblem> {
        let mut problems = Vec::new();
        if self.clauses.len() > Self::MAX_CLAUSES {
            problems.push(MappingProblem::condition(format!("A condition has at most {} parts.", Self::MAX_CLAUSES)));
        }
        for c in &self.clauses {
            problems.extend(c.check(survey).map(MappingProblem::condition));
        }
        problems
    }
}

impl Clause {
    fn given(&self, response: &ResponseValues) -> Option<serde_json::Value> {
        match &self.subject {
            Subject::Answer { question } => response.answers.get(question.as_str()).cloned(),
            Subject::Embedded { name } => response.embedded.get(name.as_str()).map(|v| serde_json::Value::String(v.clone())),
        }
        .filter(|v| !display_stored(v).trim().is_empty())
    }

    fn holds(&self, response: &ResponseValues) -> bool {
        let given = self.given(response);
        let Some(given) = given else {
            // A blank answer meets only "is blank" and "≠ something".
            return matches!(self.op, Op::IsBlank | Op::NotEquals);
        };
        let want = self.value.trim();
        let text = display_stored(&given);
        let number = |v: &serde_json::Value| match v {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match self.op {
            Op::IsBlank => false,
            Op::IsNotBlank => true,
            Op::Equals | Op::NotEquals => {
                let same = match (&given, want.parse::<f64>()) {
                    (serde_json::Value::Array(items), _) => items.len() == 1 && display_stored(&items[0]).eq_ignore_ascii_case(want),
                    (v, Ok(w)) if number(v).is_some() => number(v) == Some(w),
                    _ => text.trim().eq_ignore_ascii_case(want),
                };
                same == (self.op == Op::Equals)
            }
            Op::Contains => match &given {
                serde_json::Value::Array(items) => items.iter().any(|i| display_stored(i).eq_ignore_ascii_case(want)),
                _ => text.to_lowercase().contains(&want.to_lowercase()),
            },
            Op::Below | Op::AtMost | Op::Above | Op::AtLeast => match (number(&given), want.parse::<f64>()) {
                (Some(g), Ok(w)) => match self.op {
                    Op::Below => g < w,
                    Op::AtMost => g <= w,
                    Op::Above => g > w,
                    _ => g >= w,
                },
                _ => false,
            },
        }
    }

    fn describe(&self, survey: &SurveyDefinition) -> String {
        let subject = match &self.subject {
            Subject::Answer { question } => match survey.question(question) {
                Some(q) => format!("\"{}\"", q.text.as_str()),
                None => format!("{question} (question removed)"),
            },
            Subject::Embedded { name } => name.as_str().to_string(),
        };
        if self.op.takes_value() {
            format!("{subject} {} {}", self.op.code(), self.value.trim())
        } else {
            format!("{subject} {}", self.op.code())
        }
    }

    fn check(&self, survey: &SurveyDefinition) -> Option<String> {
        if self.op.takes_value() && self.value.trim().is_empty() {
            return Some(format!("{} needs a value to compare with.", self.describe(survey)));
        }
        match &self.subject {
            Subject::Embedded { name } if !survey.embedded.contains(name) => Some(format!("The condition reads embedded data {}, which the survey does not declare.", name.as_str())),
            Subject::Embedded { .. } => None,
            Subject::Answer { question } => {
                let Some(q) = survey.question(question) else {
                    return Some(format!("The condition reads {question}, which is no longer a question of this survey."));
                };
                let numeric_question = matches!(q.kind, QuestionKind::Nps | QuestionKind::Number { .. });
                if self.op.is_numeric() && !numeric_question {
                    return Some(format!("\"{}\" is not a number or a score, so it cannot be compared with {}.", q.text.as_str(), self.op.code()));
                }
                if self.op.is_numeric() || (numeric_question && matches!(self.op, Op::Equals | Op::NotEquals)) {
                    if self.value.trim().parse::<f64>().map(|v| !v.is_finite()).unwrap_or(true) {
                        return Some(format!("\"{}\" takes a number to compare with, not \"{}\".", q.text.as_str(), self.value.trim()));
                    }
                }
                let choices = match &q.kind {
                    QuestionKind::SingleChoice { choices } | QuestionKind::MultipleChoice { choices } => Some(choices),
                    _ => None,
                };
                match choices {
                    Some(c) if matches!(self.op, Op::Equals | Op::NotEquals | Op::Contains) && !c.as_slice().iter().any(|x| x.eq_ignore_ascii_case(self.value.trim())) => {
                        Some(format!("\"{}\" is not a choice of \"{}\".", self.value.trim(), q.text.as_str()))
                    }
                    _ => None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::QuestionText;
    use std::collections::BTreeMap;

    fn survey() -> SurveyDefinition {
        let mut s = SurveyDefinition::default();
        s.add_question(QuestionText::parse("How likely?").unwrap(), QuestionKind::Nps, true).unwrap();
        s.add_question(QuestionText::parse("Channels").unwrap(), QuestionKind::from_form("multiple_choice", "Email\nPhone", "", "").unwrap(), false).unwrap();
        s.add_question(QuestionText::parse("Why?").unwrap(), QuestionKind::Text { multiline: true }, false).unwrap();
        s.add_embedded(EmbeddedFieldName::parse("region").unwrap()).unwrap();
        s
    }

    fn clause(subject: &str, op: &str, value: &str) -> Clause {
        let subject = match subject.split_once(':') {
            Some(("answer", q)) => Subject::Answer { question: QuestionId::parse(q).unwrap() },
            _ => Subject::Embedded { name: EmbeddedFieldName::parse(subject).unwrap() },
        };
        Clause { subject, op: Op::parse(op).unwrap(), value: value.into() }
    }

    #[test]
    fn clauses_hold_as_a_person_reads_them() {
        let answers = BTreeMap::from([
            ("q1".to_string(), serde_json::json!(4)),
            ("q2".to_string(), serde_json::json!(["Email", "Phone"])),
            ("q3".to_string(), serde_json::json!("Slow reply, but kind")),
        ]);
        let embedded = BTreeMap::from([("region".to_string(), "EMEA".to_string())]);
        let r = ResponseValues { response_id: "R_x", answers: &answers, embedded: &embedded, started_at: None, finished_at: 0, provenance: Default::default() };
        for (subject, op, value, holds) in [
            ("answer:q1", "≤", "6", true),
            ("answer:q1", "<=", "3", false),
            ("answer:q1", "=", "4", true),
            ("answer:q1", ">", "4", false),
            ("answer:q2", "contains", "phone", true),
            ("answer:q2", "=", "Email", false),
            ("answer:q3", "contains", "SLOW", true),
            ("answer:q3", "is blank", "", false),
            ("region", "=", "emea", true),
            ("region", "≠", "EMEA", false),
            ("answer:q4", "is blank", "", true),
            ("answer:q4", "≠", "x", true),
            ("answer:q4", "=", "x", false),
            ("answer:q3", "<", "5", false),
        ] {
            assert_eq!(clause(subject, op, value).holds(&r), holds, "{subject} {op} {value}");
        }
        let detractor_in_emea = Condition { join: Join::All, clauses: vec![clause("answer:q1", "≤", "6"), clause("region", "=", "EMEA")] };
        assert!(detractor_in_emea.holds(&r));
        let promoter_or_amer = Condition { join: Join::Any, clauses: vec![clause("answer:q1", "≥", "9"), clause("region", "=", "AMER")] };
        assert!(!promoter_or_amer.holds(&r));
        assert_eq!(detractor_in_emea.describe(&survey()), "\"How likely?\" ≤ 6 and region = EMEA");
    }

    #[test]
    fn a_condition_that_cannot_be_met_is_refused_with_a_reason() {
        let s = survey();
        for (c, why) in [
            (clause("answer:q3", "≤", "6"), "is not a number"),
            (clause("answer:q1", "≤", "six"), "takes a number"),
            (clause("answer:q2", "contains", "Fax"), "not a choice"),
            (clause("answer:q9", "is blank", ""), "no longer a question"),
            (clause("country", "=", "FR"), "does not declare"),
            (clause("region", "=", " "), "needs a value"),
        ] {
            let problems = Condition { join: Join::All, clauses: vec![c.clone()] }.check(&s);
            assert!(problems.iter().any(|p| p.message.contains(why)), "{c:?}: {problems:?}");
        }
        assert!(Condition { join: Join::All, clauses: vec![clause("answer:q1", "≤", "6")] }.check(&s).is_empty());
    }
}
