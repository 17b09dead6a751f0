//! The rule "may this value decide which record is written?". A record id
//! that picks where the owner's credentials write must come from a source
//! Insight can trust, and must name a record of the mapped object.

use crate::mapping::{ObjectSchema, ValueSource};
use crate::signed_link::EmbeddedProvenance;

/// Why a value may not decide which record is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordRefused {
    #[error("the record id came from an unsigned survey link, which a respondent can edit; send a signed link (Survey → Signed links) instead")]
    UnsignedLink,
    #[error("the record id came from a signed survey link whose data was changed after signing (or that was signed with a key since regenerated); send a new signed link (Survey → Signed links)")]
    TamperedLink,
    #[error("the record id came from a signed survey link that had expired; send a new signed link (Survey → Signed links)")]
    ExpiredLink,
    #[error("the record id came from an answer, which the respondent types; take it from a signed survey link (Survey → Signed links) instead")]
    TypedByRespondent,
    #[error("a record id comes from embedded data of a signed link, not from {0}")]
    NotARecordId(String),
    #[error("\"{id}\" is not the id of a record of {object} ({object} ids start with {prefix}), so it cannot be updated by this mapping")]
    WrongObject { id: String, object: String, prefix: String },
    #[error("Salesforce gives no key prefix for {0}, so Insight cannot check that the record id is one of its records")]
    NoKeyPrefix(String),
}

/// May `id`, taken from `source` of a response whose embedded data has
/// `provenance`, decide which `object` record an update writes?
pub fn may_decide_record(source: &ValueSource, provenance: EmbeddedProvenance, id: &str, object: &ObjectSchema) -> Result<(), RecordRefused> {
    match source {
        ValueSource::Embedded { .. } => match provenance {
            EmbeddedProvenance::SignedLink | EmbeddedProvenance::Invitation => {}
            EmbeddedProvenance::Unsigned => return Err(RecordRefused::UnsignedLink),
            EmbeddedProvenance::TamperedLink => return Err(RecordRefused::TamperedLink),
            EmbeddedProvenance::ExpiredLink => return Err(RecordRefused::ExpiredLink),
        },
        // Chosen by whoever set up the mapping, not by the respondent.
        ValueSource::Static { .. } => {}
        ValueSource::Answer { .. } => return Err(RecordRefused::TypedByRespondent),
        other => return Err(RecordRefused::NotARecordId(other.code())),
    }
    // Salesforce ids begin with the 3-character key prefix of their object.
    let prefix = object.key_prefix.as_deref().ok_or_else(|| RecordRefused::NoKeyPrefix(object.label.clone()))?;
    if id.get(..3).is_some_and(|p| p == prefix) {
        Ok(())
    } else {
        Err(RecordRefused::WrongObject { id: id.to_string(), object: object.label.clone(), prefix: prefix.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmbeddedFieldName;
    use EmbeddedProvenance::*;

    fn account() -> ObjectSchema {
        ObjectSchema { name: "Account".into(), label: "Account".into(), key_prefix: Some("001".into()), createable: true, updateable: true, fields: vec![] }
    }

    #[test]
    fn who_may_pick_the_record_as_a_table() {
        let embedded = ValueSource::Embedded { name: EmbeddedFieldName::parse("account_id").unwrap() };
        let answer = ValueSource::Answer { question: crate::QuestionId::parse("q1").unwrap() };
        let fixed = ValueSource::Static { value: "001000000000001AAA".into() };
        let account_id = "001000000000001AAA";
        let contact_id = "003000000000001AAA";
        let wrong = || RecordRefused::WrongObject { id: contact_id.into(), object: "Account".into(), prefix: "001".into() };
        // (story, where the id comes from, provenance, id, expected)
        type Case<'a> = (&'a str, &'a ValueSource, EmbeddedProvenance, &'a str, Result<(), RecordRefused>);
        let cases: Vec<Case> = vec![
            ("a signed link names an Account", &embedded, SignedLink, account_id, Ok(())),
            ("a signed link names a Contact", &embedded, SignedLink, contact_id, Err(wrong())),
            ("an unsigned link", &embedded, Unsigned, account_id, Err(RecordRefused::UnsignedLink)),
            ("a link edited after signing", &embedded, TamperedLink, account_id, Err(RecordRefused::TamperedLink)),
            ("an expired link", &embedded, ExpiredLink, account_id, Err(RecordRefused::ExpiredLink)),
            ("a personal invitation names an Account", &embedded, Invitation, account_id, Ok(())),
            ("a personal invitation names a Contact", &embedded, Invitation, contact_id, Err(wrong())),
            ("an answer, even with a signed link", &answer, SignedLink, account_id, Err(RecordRefused::TypedByRespondent)),
            ("a static id set by the mapping", &fixed, Unsigned, account_id, Ok(())),
            ("the response id", &ValueSource::ResponseId, SignedLink, account_id, Err(RecordRefused::NotARecordId("response_id".into()))),
            ("an id too short to have a prefix", &embedded, SignedLink, "00", Err(RecordRefused::WrongObject { id: "00".into(), object: "Account".into(), prefix: "001".into() })),
        ];
        for (story, source, provenance, id, expected) in cases {
            assert_eq!(may_decide_record(source, provenance, id, &account()), expected, "{story}");
        }
    }

    #[test]
    fn an_object_without_a_key_prefix_cannot_be_checked() {
        let mut schema = account();
        schema.key_prefix = None;
        let embedded = ValueSource::Embedded { name: EmbeddedFieldName::parse("account_id").unwrap() };
        assert_eq!(may_decide_record(&embedded, SignedLink, "001000000000001AAA", &schema), Err(RecordRefused::NoKeyPrefix("Account".into())));
    }

    #[test]
    fn the_unsigned_reason_tells_the_owner_what_to_do() {
        assert_eq!(
            RecordRefused::UnsignedLink.to_string(),
            "the record id came from an unsigned survey link, which a respondent can edit; send a signed link (Survey → Signed links) instead"
        );
    }
}
