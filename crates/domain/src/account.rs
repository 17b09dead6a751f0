//! Accounts: who signs in to Insight. An account owns projects and, later,
//! holds the link to one Salesforce org.

use crate::Invalid;
use serde::{Deserialize, Serialize};

/// An email address, trimmed and lower-cased, parsed once at the edge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let value = raw.trim().to_lowercase();
        if value.is_empty() {
            return Err(Invalid::new("Enter an email address."));
        }
        // RFC 5321 caps a path at 256 octets, so an address at 254.
        if value.len() > 254 {
            return Err(Invalid::new("That email address is too long."));
        }
        let invalid = || Invalid::new(format!("\"{}\" is not a valid email address.", raw.trim()));
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        if local.is_empty()
            || domain.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
            || value.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',')
        {
            return Err(invalid());
        }
        Ok(Email(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name an account shows to collaborators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(Invalid::new("Enter your name."));
        }
        if value.chars().count() > 100 {
            return Err(Invalid::new("A name can be at most 100 characters."));
        }
        if value.chars().any(|c| c.is_control()) {
            return Err(Invalid::new("A name cannot contain control characters."));
        }
        Ok(DisplayName(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password chosen at sign-up, checked against the policy. Only its argon2
/// hash is ever stored.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_BYTES: usize = 512;
    /// zxcvbn's score 2 ("somewhat guessable", about 10^8 guesses) is its
    /// authors' floor against online guessing; sign-in is rate limited and
    /// hashes are argon2, so that floor is where the guessable ones end.
    const MIN_STRENGTH: zxcvbn::Score = zxcvbn::Score::Two;
    /// zxcvbn's matching grows fast with length; a password this long is
    /// judged on its start, which is plenty to catch a common one.
    const SCORED_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Self::parse_for(raw, &[])
    }

    /// Like `parse`, and also refuses a password built from the account's
    /// own details (its email, its name).
    pub fn parse_for(raw: &str, own_details: &[&str]) -> Result<Self, Invalid> {
        if raw.chars().count() < Self::MIN_CHARS {
            return Err(Invalid::new(format!(
                "Choose a password of at least {} characters.",
                Self::MIN_CHARS
            )));
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(Invalid::new("That password is too long (at most 512 bytes)."));
        }
        let scored: String = raw.chars().take(Self::SCORED_CHARS).collect();
        let estimate = zxcvbn::zxcvbn(&scored, own_details);
        if estimate.score() < Self::MIN_STRENGTH {
            let why = estimate
                .feedback()
                .and_then(|f| f.warning())
                .map(|w| format!("{w} "))
                .unwrap_or_default();
            return Err(Invalid::new(format!(
                "That password is too easy to guess. {why}Use a few uncommon words together, or a password manager's suggestion."
            )));
        }
        Ok(NewPassword(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lowercased() {
        assert_eq!(Email::parse("  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
    }

    #[test]
    fn malformed_emails_are_refused_with_a_reason() {
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "a b@example.com", "ada@@example.com", "ada@example..com"] {
            let err = Email::parse(bad).unwrap_err();
            assert!(!err.0.is_empty(), "{bad:?} accepted");
        }
    }

    #[test]
    fn short_passwords_are_refused() {
        let err = NewPassword::parse("kq7#vb2").unwrap_err();
        assert!(err.0.contains("at least 8 characters"), "{}", err.0);
        assert!(NewPassword::parse("kq7#vb2x").is_ok());
    }

    #[test]
    fn common_passwords_are_refused_with_what_to_do() {
        for common in ["password", "12345678", "password1", "qwertyuiop", "iloveyou", "Password123", "letmein1", "11111111", "abcd1234", "sunshine"] {
            let err = NewPassword::parse(common).map(|_| ()).unwrap_err();
            assert!(err.0.contains("too easy to guess") && err.0.contains("uncommon words"), "{common:?}: {}", err.0);
        }
    }

    #[test]
    fn uncommon_passwords_pass() {
        for fine in ["a good password", "insight-demo", "insight-colleague", "bench-password", "correct horse battery staple", "kq7#vb2x"] {
            assert!(NewPassword::parse(fine).is_ok(), "{fine:?} refused");
        }
    }

    #[test]
    fn a_password_made_of_the_accounts_own_email_is_refused() {
        assert!(NewPassword::parse("ada.lovelace@example.com").is_ok());
        assert!(NewPassword::parse_for("ada.lovelace@example.com", &["ada.lovelace@example.com", "Ada Lovelace"]).is_err());
    }

    #[test]
    fn a_very_long_password_is_judged_quickly_on_its_start() {
        let long = "x".repeat(NewPassword::MAX_BYTES);
        assert!(NewPassword::parse(&long).is_err(), "a run of one letter is guessable at any length");
        let long_random: String = "kq7#vb2x".repeat(64);
        assert!(NewPassword::parse(&long_random).is_ok());
    }

    #[test]
    fn password_debug_never_shows_the_password() {
        let p = NewPassword::parse("correct horse").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }
}
