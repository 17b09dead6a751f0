//! What a survey says around its questions: the introduction above them and
//! the message on its thank-you page. Plain text, never HTML: pages escape
//! it and keep its line breaks.

use crate::Invalid;
use serde::{Deserialize, Serialize};

/// The introduction respondents read above the first question; empty for none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyIntroduction(String);

impl SurveyIntroduction {
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        plain_text(raw, Self::MAX_CHARS, "The introduction").map(SurveyIntroduction)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The message on the thank-you page after a response; empty for the
/// standard one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThankYouMessage(String);

impl ThankYouMessage {
    pub const MAX_CHARS: usize = 1000;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        plain_text(raw, Self::MAX_CHARS, "The thank-you message").map(ThankYouMessage)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Trimmed, with Windows line ends made plain (browsers post textareas with
/// CRLF), at most `max` characters, and no control characters but line
/// breaks and tabs.
fn plain_text(raw: &str, max: usize, what: &str) -> Result<String, Invalid> {
    let value = raw.replace("\r\n", "\n").replace('\r', "\n");
    let value = value.trim();
    let count = value.chars().count();
    if count > max {
        return Err(Invalid::new(format!("{what} can be at most {max} characters; this one has {count}.")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Invalid::new(format!("{what} cannot contain control characters.")));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_bounded_and_plain() {
        for (raw, kept) in [
            ("", Some("")),
            ("  Welcome!  ", Some("Welcome!")),
            ("Line one\r\nLine two", Some("Line one\nLine two")),
            ("<b>not bold</b>", Some("<b>not bold</b>")),
            ("tab\there", Some("tab\there")),
            ("bell\u{7}", None),
            ("nul\u{0}", None),
        ] {
            assert_eq!(SurveyIntroduction::parse(raw).ok().map(|t| t.as_str().to_string()).as_deref(), kept, "{raw:?}");
        }
        assert!(SurveyIntroduction::parse(&"é".repeat(2000)).is_ok(), "characters, not bytes, are counted");
        let too_long = SurveyIntroduction::parse(&"a".repeat(2001)).unwrap_err();
        assert_eq!(too_long.0, "The introduction can be at most 2000 characters; this one has 2001.");
        assert!(ThankYouMessage::parse(&"a".repeat(1000)).is_ok());
        assert!(ThankYouMessage::parse(&"a".repeat(1001)).unwrap_err().0.starts_with("The thank-you message can be at most 1000"));
    }
}
