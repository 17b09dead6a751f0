//! Responses: what a respondent submitted, under a stable public id.

use crate::account::Email;
use crate::survey::QuestionId;
use crate::Invalid;
use serde::Serialize;
use std::collections::BTreeMap;

/// A response's public id: `R_` and 22 base-62 characters (~131 random bits).
/// The survey page mints it before the respondent answers, so a double click
/// or a retried POST carries the same id and stores one response.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ResponseId(String);

impl ResponseId {
    pub const RANDOM_CHARS: usize = 22;
    pub const ALPHABET: &'static [u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let ok = raw
            .strip_prefix("R_")
            .is_some_and(|rest| rest.len() == Self::RANDOM_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !ok {
            return Err(Invalid::new(format!("\"{raw}\" is not a response id.")));
        }
        Ok(ResponseId(raw.to_string()))
    }

    /// Builds an id from random bytes supplied by the caller (the domain does
    /// no I/O, randomness included).
    pub fn from_random(bytes: [u8; Self::RANDOM_CHARS]) -> Self {
        let body: String = bytes
            .iter()
            .map(|b| Self::ALPHABET[(*b as usize) % Self::ALPHABET.len()] as char)
            .collect();
        ResponseId(format!("R_{body}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ResponseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One checked answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Text(String),
    Choice(String),
    Choices(Vec<String>),
    Number(f64),
    Email(Email),
    Scale(u8),
}

impl Answer {
    /// The answer as a person reads it in a table or a CSV cell.
    pub fn display(&self) -> String {
        match self {
            Answer::Text(s) | Answer::Choice(s) => s.clone(),
            Answer::Choices(v) => v.join("; "),
            Answer::Number(n) => format_number(*n),
            Answer::Email(e) => e.to_string(),
            Answer::Scale(n) => n.to_string(),
        }
    }
}

/// The answers of one response, by question id.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Answers(pub BTreeMap<QuestionId, Answer>);

/// Embedded data carried by the survey link, by declared field name.
pub type EmbeddedData = BTreeMap<String, String>;

/// Renders a stored answer (as kept in JSON) for a table or a CSV cell.
pub fn display_stored(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.as_f64().map(format_number).unwrap_or_else(|| n.to_string()),
        serde_json::Value::Array(items) => items.iter().map(display_stored).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_parse_back() {
        let id = ResponseId::from_random([200; 22]);
        assert_eq!(ResponseId::parse(id.as_str()).unwrap(), id);
    }

    #[test]
    fn foreign_ids_are_refused() {
        for bad in ["", "R_", "R_short", "X_0123456789012345678901", "R_01234567890123456789/1"] {
            assert!(ResponseId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stored_answers_display_like_live_ones() {
        assert_eq!(display_stored(&serde_json::json!(12.0)), "12");
        assert_eq!(display_stored(&serde_json::json!(["A", "C"])), "A; C");
        assert_eq!(Answer::Number(2.5).display(), display_stored(&serde_json::json!(2.5)));
    }
}
