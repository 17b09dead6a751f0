//! Display logic: a question shown only when an earlier answer meets a
//! condition. Respondents never see a hidden question, never have to answer
//! it, and an answer sent for it anyway (a page without its script, a
//! crafted POST) is not stored. A condition always refers to a question
//! asked before the one it shows, so one pass over the survey in order
//! decides what is shown, and no edit may leave a condition pointing at a
//! later, removed or changed-away-from question.

use crate::response::Answer;
use crate::survey::{Question, QuestionId, QuestionKind};
use crate::Invalid;
use serde::{Deserialize, Serialize};

/// "Show this question only when `question` `test`s."
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisplayCondition {
    /// The earlier question whose answer decides.
    pub question: QuestionId,
    pub test: ConditionTest,
}

/// What the earlier answer must be. The negations ("is not", "does not
/// include") also hold when that question was left unanswered, as a person
/// reads them; the comparisons need an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", content = "value", rename_all = "snake_case")]
pub enum ConditionTest {
    Answered,
    NotAnswered,
    /// A single choice, or a text or email equal to the value (ignoring case
    /// and surrounding spaces).
    Is(String),
    IsNot(String),
    /// A multiple-choice answer that has the choice among those picked.
    Includes(String),
    Excludes(String),
    /// A number or a 0–10 score.
    Equals(f64),
    NotEquals(f64),
    AtLeast(f64),
    AtMost(f64),
}

/// The operators the editor offers, as the form names them and people read
/// them, in the order the picker lists them.
pub const OPERATORS: [(&str, &str); 8] = [
    ("answered", "is answered"),
    ("not_answered", "is not answered"),
    ("is", "is"),
    ("is_not", "is not"),
    ("includes", "includes"),
    ("excludes", "does not include"),
    ("at_least", "is at least"),
    ("at_most", "is at most"),
];

impl ConditionTest {
    /// Builds the test from the editor's operator and value, for a source
    /// question of `kind`: the value must be something that question can be
    /// answered with, so a condition that can never hold is refused when
    /// saved rather than silently hiding a question for ever.
    pub fn parse(op: &str, value: &str, kind: &QuestionKind) -> Result<ConditionTest, Invalid> {
        let value = value.trim();
        let numeric = matches!(kind, QuestionKind::Number { .. } | QuestionKind::Nps);
        let number = || -> Result<f64, Invalid> {
            value
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| Invalid::new(format!("Enter a number to compare with, not \"{value}\".")))
        };
        let text = || -> Result<String, Invalid> {
            if value.is_empty() {
                Err(Invalid::new("Enter the answer to compare with."))
            } else {
                Ok(value.to_string())
            }
        };
        let test = match op {
            "answered" => ConditionTest::Answered,
            "not_answered" => ConditionTest::NotAnswered,
            "is" if numeric => ConditionTest::Equals(number()?),
            "is_not" if numeric => ConditionTest::NotEquals(number()?),
            "is" => ConditionTest::Is(text()?),
            "is_not" => ConditionTest::IsNot(text()?),
            "includes" => ConditionTest::Includes(text()?),
            "excludes" => ConditionTest::Excludes(text()?),
            "at_least" => ConditionTest::AtLeast(number()?),
            "at_most" => ConditionTest::AtMost(number()?),
            other => return Err(Invalid::new(format!("\"{other}\" is not a condition: pick one from the list."))),
        };
        test.fits(kind)?;
        Ok(test)
    }

    /// The operator as the editor's form names it.
    pub fn op(&self) -> &'static str {
        match self {
            ConditionTest::Answered => "answered",
            ConditionTest::NotAnswered => "not_answered",
            ConditionTest::Is(_) | ConditionTest::Equals(_) => "is",
            ConditionTest::IsNot(_) | ConditionTest::NotEquals(_) => "is_not",
            ConditionTest::Includes(_) => "includes",
            ConditionTest::Excludes(_) => "excludes",
            ConditionTest::AtLeast(_) => "at_least",
            ConditionTest::AtMost(_) => "at_most",
        }
    }

    /// The value compared with, as the editor shows it ("" for none).
    pub fn value(&self) -> String {
        match self {
            ConditionTest::Answered | ConditionTest::NotAnswered => String::new(),
            ConditionTest::Is(v) | ConditionTest::IsNot(v) | ConditionTest::Includes(v) | ConditionTest::Excludes(v) => v.clone(),
            ConditionTest::Equals(n) | ConditionTest::NotEquals(n) | ConditionTest::AtLeast(n) | ConditionTest::AtMost(n) => n.to_string(),
        }
    }

    /// Whether this test can be asked of a question of `kind`, with a reason
    /// a person can act on when not.
    pub fn fits(&self, kind: &QuestionKind) -> Result<(), Invalid> {
        let choice = |v: &str, choices: &crate::ChoiceList| -> Result<(), Invalid> {
            if choices.contains(v) {
                Ok(())
            } else {
                Err(Invalid::new(format!("\"{v}\" is not one of its choices ({}).", choices.as_slice().join(", "))))
            }
        };
        let wrong = |what: &str| Err(Invalid::new(format!("\"{}\" does not apply to {what}.", label_of(self.op()))));
        match (self, kind) {
            (ConditionTest::Answered | ConditionTest::NotAnswered, _) => Ok(()),
            (ConditionTest::Is(v) | ConditionTest::IsNot(v), QuestionKind::SingleChoice { choices }) => choice(v, choices),
            (ConditionTest::Is(_) | ConditionTest::IsNot(_), QuestionKind::Text { .. }) => Ok(()),
            (ConditionTest::Is(v) | ConditionTest::IsNot(v), QuestionKind::Email) => {
                crate::Email::parse(v).map(|_| ()).map_err(|_| Invalid::new(format!("\"{v}\" is not an email address.")))
            }
            (ConditionTest::Includes(v) | ConditionTest::Excludes(v), QuestionKind::MultipleChoice { choices }) => choice(v, choices),
            (
                ConditionTest::Equals(n) | ConditionTest::NotEquals(n) | ConditionTest::AtLeast(n) | ConditionTest::AtMost(n),
                QuestionKind::Nps,
            ) => {
                if (0.0..=10.0).contains(n) && n.fract() == 0.0 {
                    Ok(())
                } else {
                    Err(Invalid::new(format!("A 0–10 score is a whole number from 0 to 10, not {n}.")))
                }
            }
            (ConditionTest::Equals(_) | ConditionTest::NotEquals(_) | ConditionTest::AtLeast(_) | ConditionTest::AtMost(_), QuestionKind::Number { .. }) => Ok(()),
            (ConditionTest::Includes(_) | ConditionTest::Excludes(_), _) => wrong("a question with one answer: use \"is\" or \"is not\""),
            (ConditionTest::AtLeast(_) | ConditionTest::AtMost(_), _) => wrong("a question whose answer is not a number"),
            (ConditionTest::Is(_) | ConditionTest::IsNot(_), QuestionKind::MultipleChoice { .. }) => {
                wrong("a multiple-choice question: use \"includes\" or \"does not include\"")
            }
            (ConditionTest::Is(_) | ConditionTest::IsNot(_) | ConditionTest::Equals(_) | ConditionTest::NotEquals(_), _) => {
                wrong("this kind of question")
            }
        }
    }

    /// Whether the earlier question's answer (`None`: not answered, or not
    /// shown) meets the test.
    pub fn holds(&self, answer: Option<&Answer>) -> bool {
        let number = match answer {
            Some(Answer::Number(n)) => Some(*n),
            Some(Answer::Scale(s)) => Some(f64::from(*s)),
            _ => None,
        };
        let same_text = |v: &str| match answer {
            Some(Answer::Choice(c)) => c == v,
            Some(Answer::Text(t)) => t.trim().to_lowercase() == v.trim().to_lowercase(),
            Some(Answer::Email(e)) => e.as_str().eq_ignore_ascii_case(v.trim()),
            _ => false,
        };
        let picked = |v: &str| matches!(answer, Some(Answer::Choices(cs)) if cs.iter().any(|c| c == v));
        match self {
            ConditionTest::Answered => answer.is_some(),
            ConditionTest::NotAnswered => answer.is_none(),
            ConditionTest::Is(v) => same_text(v),
            ConditionTest::IsNot(v) => !same_text(v),
            ConditionTest::Includes(v) => picked(v),
            ConditionTest::Excludes(v) => !picked(v),
            ConditionTest::Equals(n) => number == Some(*n),
            ConditionTest::NotEquals(n) => number != Some(*n),
            ConditionTest::AtLeast(n) => number.is_some_and(|x| x >= *n),
            ConditionTest::AtMost(n) => number.is_some_and(|x| x <= *n),
        }
    }
}

/// How people read an operator of the form.
pub fn label_of(op: &str) -> &'static str {
    OPERATORS.iter().find(|(o, _)| *o == op).map(|(_, l)| *l).unwrap_or("that condition")
}

impl DisplayCondition {
    /// The condition in words, naming the earlier question by its text:
    /// `“Which plan?” is “Pro”`.
    pub fn describe(&self, source: &Question) -> String {
        let value = self.test.value();
        if value.is_empty() {
            format!("“{}” {}", source.text.as_str(), label_of(self.test.op()))
        } else {
            let shown = match self.test {
                ConditionTest::Equals(_) | ConditionTest::NotEquals(_) | ConditionTest::AtLeast(_) | ConditionTest::AtMost(_) => value,
                _ => format!("“{value}”"),
            };
            format!("“{}” {} {shown}", source.text.as_str(), label_of(self.test.op()))
        }
    }
}

/// Why the questions' display logic does not hold together, or `Ok`: every
/// condition refers to a question asked before it, with a test that
/// question can meet. `questions` are the survey's questions in order,
/// removed ones included.
pub fn check(questions: &[Question]) -> Result<(), Invalid> {
    let asked: Vec<&Question> = questions.iter().filter(|q| !q.removed).collect();
    for (i, q) in asked.iter().enumerate() {
        let Some(condition) = &q.show_if else { continue };
        let shown_only = format!("{} is shown only when {} meets its condition", upper(&q.id), upper(&condition.question));
        let fix = format!("change or clear the display logic of {} first", upper(&q.id));
        match asked.iter().position(|s| s.id == condition.question) {
            None => return Err(Invalid::new(format!("{shown_only}, and {} would no longer be asked: {fix}.", upper(&condition.question)))),
            Some(j) if j >= i => {
                return Err(Invalid::new(format!("{shown_only}, so {} must come before it: {fix}.", upper(&condition.question))));
            }
            Some(j) => {
                if let Err(why) = condition.test.fits(&asked[j].kind) {
                    return Err(Invalid::new(format!("{shown_only}, which would no longer fit it ({}): {fix}.", why.0.trim_end_matches('.'))));
                }
            }
        }
    }
    Ok(())
}

fn upper(id: &QuestionId) -> String {
    id.as_str().to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::{ChoiceList, QuestionText};
    use crate::Email;

    fn single() -> QuestionKind {
        QuestionKind::SingleChoice { choices: ChoiceList::parse_lines("Free\nPro").unwrap() }
    }
    fn multiple() -> QuestionKind {
        QuestionKind::MultipleChoice { choices: ChoiceList::parse_lines("A\nB\nC").unwrap() }
    }
    fn number() -> QuestionKind {
        QuestionKind::Number { min: None, max: None }
    }
    fn text() -> QuestionKind {
        QuestionKind::Text { multiline: false }
    }

    #[test]
    fn each_operator_is_refused_where_it_cannot_apply_and_kept_where_it_can() {
        // (op, value, kind, accepted)
        let cases: Vec<(&str, &str, QuestionKind, bool)> = vec![
            ("answered", "", text(), true),
            ("not_answered", "ignored", QuestionKind::Nps, true),
            ("is", "Pro", single(), true),
            ("is", "Enterprise", single(), false),
            ("is_not", "Free", single(), true),
            ("includes", "Pro", single(), false),
            ("includes", "B", multiple(), true),
            ("includes", "D", multiple(), false),
            ("is", "B", multiple(), false),
            ("excludes", "C", multiple(), true),
            ("at_least", "9", QuestionKind::Nps, true),
            ("at_least", "11", QuestionKind::Nps, false),
            ("is", "7.5", QuestionKind::Nps, false),
            ("at_most", "x", number(), false),
            ("at_most", "-3.5", number(), true),
            ("at_least", "3", text(), false),
            ("is", "yes", text(), true),
            ("is", "  ", text(), false),
            ("is", "a@example.com", QuestionKind::Email, true),
            ("is", "Pro", QuestionKind::Email, false),
            ("between", "1", number(), false),
        ];
        for (op, value, kind, accepted) in cases {
            let parsed = ConditionTest::parse(op, value, &kind);
            assert_eq!(parsed.is_ok(), accepted, "{op} {value:?} on {}: {parsed:?}", kind.type_name());
        }
    }

    #[test]
    fn a_numeric_is_compares_numbers_and_a_score_with_an_answer() {
        let t = ConditionTest::parse("is", "10", &QuestionKind::Nps).unwrap();
        assert_eq!(t, ConditionTest::Equals(10.0));
        assert!(t.holds(Some(&Answer::Scale(10))));
        assert!(!t.holds(Some(&Answer::Scale(9))));
        assert!(!t.holds(None));
        assert!(ConditionTest::AtMost(6.0).holds(Some(&Answer::Scale(6))));
        assert!(!ConditionTest::AtMost(6.0).holds(None), "a comparison needs an answer");
        assert!(ConditionTest::AtLeast(2.5).holds(Some(&Answer::Number(2.5))));
    }

    #[test]
    fn negations_hold_for_an_unanswered_question_and_text_ignores_case() {
        assert!(ConditionTest::IsNot("Pro".into()).holds(None));
        assert!(ConditionTest::Excludes("A".into()).holds(None));
        assert!(ConditionTest::NotEquals(3.0).holds(None));
        assert!(ConditionTest::Is("Yes".into()).holds(Some(&Answer::Text(" yes ".into()))));
        assert!(ConditionTest::Is("ÄRGER".into()).holds(Some(&Answer::Text("ärger".into()))));
        assert!(ConditionTest::Is("a@example.com".into()).holds(Some(&Answer::Email(Email::parse("A@Example.com").unwrap()))));
        assert!(ConditionTest::Includes("B".into()).holds(Some(&Answer::Choices(vec!["A".into(), "B".into()]))));
        assert!(!ConditionTest::Includes("C".into()).holds(Some(&Answer::Choices(vec!["A".into(), "B".into()]))));
        assert!(ConditionTest::Answered.holds(Some(&Answer::Choice("Free".into()))));
    }

    #[test]
    fn a_condition_is_stored_as_an_operator_and_a_value() {
        let c = DisplayCondition { question: QuestionId::parse("q1").unwrap(), test: ConditionTest::Is("Pro".into()) };
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json, serde_json::json!({"question": "q1", "test": {"op": "is", "value": "Pro"}}));
        let answered: DisplayCondition = serde_json::from_value(serde_json::json!({"question": "q1", "test": {"op": "answered"}})).unwrap();
        assert_eq!(answered.test, ConditionTest::Answered);
    }

    #[test]
    fn a_condition_is_described_by_the_question_it_reads() {
        let q = Question { id: QuestionId::parse("q1").unwrap(), text: QuestionText::parse("Which plan?").unwrap(), required: false, kind: single(), removed: false, show_if: None };
        let c = DisplayCondition { question: q.id.clone(), test: ConditionTest::Is("Pro".into()) };
        assert_eq!(c.describe(&q), "“Which plan?” is “Pro”");
        let c = DisplayCondition { question: q.id.clone(), test: ConditionTest::AtMost(6.0) };
        assert_eq!(c.describe(&q), "“Which plan?” is at most 6");
        let c = DisplayCondition { question: q.id.clone(), test: ConditionTest::NotAnswered };
        assert_eq!(c.describe(&q), "“Which plan?” is not answered");
    }
}
