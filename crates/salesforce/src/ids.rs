//! Salesforce record ids, parsed once at the edge.
//!
//! Salesforce ids come in two spellings: 15 characters, case-sensitive, and
//! 18 characters, where three suffix characters encode the case of the first
//! fifteen so the id survives case-insensitive systems. Inside Insight an id is
//! always held in its 18-character form, so two spellings of one record
//! compare equal.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Why a string is not a Salesforce id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("a Salesforce id has 15 or 18 characters, got {0}")]
    Length(usize),
    #[error("a Salesforce id has only letters and digits")]
    Character,
    #[error("the 18-character id's case-checksum suffix does not match its first 15 characters")]
    Checksum,
    #[error("expected an id starting with {expected}, got one starting with {found}")]
    Prefix { expected: &'static str, found: String },
}

/// The alphabet of the 18-character suffix: one letter or digit per 5-bit group.
const SUFFIX_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// The three suffix characters for a 15-character id: for each 5-character
/// chunk, bit i is set when character i is an upper-case letter.
fn checksum_suffix(id15: &[u8]) -> [u8; 3] {
    let mut out = [0u8; 3];
    for (chunk, slot) in id15.chunks(5).zip(out.iter_mut()) {
        let bits = chunk
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_ascii_uppercase())
            .fold(0usize, |acc, (i, _)| acc | (1 << i));
        *slot = SUFFIX_ALPHABET[bits];
    }
    out
}

/// Any Salesforce id (record, user, org, notification…), always 18 characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SalesforceId(String);

impl SalesforceId {
    /// Parse a 15- or 18-character id; a 15-character id gains its suffix.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let b = s.as_bytes();
        if b.len() != 15 && b.len() != 18 {
            return Err(IdError::Length(s.chars().count()));
        }
        if !b.iter().all(u8::is_ascii_alphanumeric) {
            return Err(IdError::Character);
        }
        let suffix = checksum_suffix(&b[..15]);
        if b.len() == 18 {
            // The suffix is itself case-insensitive (it exists for case-insensitive systems).
            if !b[15..].eq_ignore_ascii_case(&suffix) {
                return Err(IdError::Checksum);
            }
        }
        let mut out = String::with_capacity(18);
        out.push_str(&s[..15]);
        out.push_str(std::str::from_utf8(&suffix).expect("ASCII alphabet"));
        Ok(SalesforceId(out))
    }

    /// The 18-character form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 18-character form, whichever form was parsed: the one to store, compare and
    /// send (the same as [`as_str`](Self::as_str), named for call sites that normalise).
    pub fn to_18(&self) -> &str {
        &self.0
    }

    /// The 15-character, case-sensitive form (what the Salesforce UI shows).
    pub fn to_15(&self) -> &str {
        &self.0[..15]
    }

    /// The three-character key prefix naming the object type (`001` Account, `005` User, `00D` Organization).
    pub fn key_prefix(&self) -> &str {
        &self.0[..3]
    }
}

impl fmt::Display for SalesforceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SalesforceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SalesforceId({})", self.0)
    }
}

/// Defines a newtype over `SalesforceId` that also checks the key prefix.
macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(SalesforceId);

        impl $name {
            pub const KEY_PREFIX: &'static str = $prefix;

            pub fn parse(s: &str) -> Result<Self, IdError> {
                Self::try_from(SalesforceId::parse(s)?)
            }
            pub fn as_str(&self) -> &str { self.0.as_str() }
            /// The 18-character form, whichever form was parsed.
            pub fn to_18(&self) -> &str { self.0.to_18() }
            pub fn to_15(&self) -> &str { self.0.to_15() }
            pub fn as_id(&self) -> &SalesforceId { &self.0 }
        }

        impl TryFrom<SalesforceId> for $name {
            type Error = IdError;
            fn try_from(id: SalesforceId) -> Result<Self, IdError> {
                if id.key_prefix() != $prefix {
                    return Err(IdError::Prefix { expected: $prefix, found: id.key_prefix().to_string() });
                }
                Ok($name(id))
            }
        }

        impl From<$name> for SalesforceId {
            fn from(v: $name) -> SalesforceId { v.0 }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.0.as_str()) }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { write!(f, "{}({})", stringify!($name), self.0.as_str()) }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> { Self::parse(s) }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

prefixed_id!(
    /// A Salesforce organization id (key prefix `00D`).
    OrgId, "00D"
);
prefixed_id!(
    /// A Salesforce user id (key prefix `005`).
    UserId, "005"
);

/// The id of a record of any object type.
pub type RecordId = SalesforceId;

impl FromStr for SalesforceId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl Serialize for SalesforceId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SalesforceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifteen_character_id_gains_the_documented_suffix() {
        // Sample pair from Salesforce's own documentation of the 18-character id.
        let id = SalesforceId::parse("001A0000006Vm9r").unwrap();
        assert_eq!(id.as_str(), "001A0000006Vm9rIAC");
        assert_eq!(id.to_15(), "001A0000006Vm9r");
        // A real outbound-message sample: 04lR0000000CcIF -> 04lR0000000CcIFIA0
        assert_eq!(SalesforceId::parse("04lR0000000CcIF").unwrap().as_str(), "04lR0000000CcIFIA0");
    }

    #[test]
    fn both_spellings_of_one_id_are_equal() {
        assert_eq!(SalesforceId::parse("001A0000006Vm9r").unwrap(), SalesforceId::parse("001A0000006Vm9rIAC").unwrap());
        // The suffix may arrive lower-cased.
        assert_eq!(SalesforceId::parse("001A0000006Vm9riac").unwrap().as_str(), "001A0000006Vm9rIAC");
    }

    #[test]
    fn all_lower_case_id_has_suffix_aaa() {
        assert_eq!(SalesforceId::parse("00d000000000001").unwrap().as_str(), "00d000000000001AAA");
    }

    #[test]
    fn corrupted_case_is_caught_by_the_checksum() {
        assert_eq!(SalesforceId::parse("001a0000006Vm9rIAC"), Err(IdError::Checksum));
    }

    #[test]
    fn wrong_lengths_and_characters_are_rejected() {
        assert_eq!(SalesforceId::parse(""), Err(IdError::Length(0)));
        assert_eq!(SalesforceId::parse("001A0000006Vm9"), Err(IdError::Length(14)));
        assert_eq!(SalesforceId::parse("001A0000006Vm9-"), Err(IdError::Character));
        assert!(SalesforceId::parse("001A0000006Vm9ré").is_err());
    }

    #[test]
    fn org_ids_start_with_00d_and_user_ids_with_005() {
        let org = OrgId::parse("00DR00000000XcD").unwrap();
        assert_eq!(org.to_15(), "00DR00000000XcD");
        assert_eq!(org.as_str().len(), 18);
        assert!(matches!(OrgId::parse("001A0000006Vm9r"), Err(IdError::Prefix { expected: "00D", .. })));
        assert!(UserId::parse("00540000000lnc2AAA").is_ok());
        assert!(UserId::parse("00DR00000000XcD").is_err());
    }

    #[test]
    fn org_id_in_15_and_18_characters_is_one_org() {
        // 00D000000000062 -> suffix "EAA": only the D of the first chunk is upper case.
        let short = OrgId::parse("00D000000000062").unwrap();
        let long = OrgId::parse("00D000000000062EAA").unwrap();
        assert_eq!(short, long);
        assert_eq!(short.to_18(), "00D000000000062EAA");
        assert_eq!(long.to_15(), "00D000000000062");
        let set: std::collections::HashSet<OrgId> = [short, long].into_iter().collect();
        assert_eq!(set.len(), 1, "equal ids hash alike");
        // The org of Salesforce's published outbound message, named by its 15-character
        // form in the message's URLs and by its 18-character form in OrganizationId.
        assert_eq!(OrgId::parse("00DR00000000XcD").unwrap(), OrgId::parse("00DR00000000XcDMAU").unwrap());
    }

    #[test]
    fn fifteen_character_ids_differing_only_in_case_are_different_orgs() {
        let a = OrgId::parse("00DR00000000XcD").unwrap();
        let b = OrgId::parse("00DR00000000Xcd").unwrap();
        assert_ne!(a, b);
        assert_eq!((a.to_18(), b.to_18()), ("00DR00000000XcDMAU", "00DR00000000XcdMAE"));
        // The key prefix is case-sensitive too: 00d is not an organization.
        assert!(matches!(OrgId::parse("00d000000000062"), Err(IdError::Prefix { .. })));
    }

    #[test]
    fn suffixes_match_the_ids_salesforce_itself_sent() {
        // 15-character ids and the 18-character forms Salesforce put in a real outbound message.
        for (short, long) in [
            ("a06R00000009QZa", "a06R00000009QZaIAM"),
            ("00540000000lnc2", "00540000000lnc2AAA"),
            ("00540000000mBqs", "00540000000mBqsAAE"),
            ("00540000000yHbG", "00540000000yHbGAAU"),
            ("04kR00000004CCX", "04kR00000004CCXIA2"),
            ("04lR0000000CcIF", "04lR0000000CcIFIA0"),
        ] {
            assert_eq!(SalesforceId::parse(short).unwrap().to_18(), long);
            assert_eq!(SalesforceId::parse(long).unwrap().to_15(), short);
        }
    }

    #[test]
    fn ids_round_trip_through_json_as_18_characters() {
        let org: OrgId = serde_json::from_str("\"00DR00000000XcD\"").unwrap();
        assert_eq!(serde_json::to_string(&org).unwrap(), format!("\"{}\"", org.as_str()));
        assert!(serde_json::from_str::<OrgId>("\"nonsense\"").is_err());
    }
}
