//! Salesforce's error codes in plain words. A delivery's error keeps
//! Salesforce's own text (an admin searches for it, a validation rule's
//! message is in it), but a person reads first what it means for them:
//! `ENTITY_IS_DELETED` → "The record was deleted in Salesforce." Pages show
//! the sentence, with Salesforce's words beside it.

use salesforce::{ErrorCode, OAuthErrorCode};

/// The plain sentence for the first Salesforce error code named in `text`
/// (a stored delivery error such as `STRING_TOO_LONG: Comments: data value
/// too large`), or `None` when it names none this knows.
pub fn explain(text: &str) -> Option<&'static str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.len() >= 5)
        .find_map(|word| code_in_plain_words(&ErrorCode::parse(word)).or_else(|| oauth_in_plain_words(&OAuthErrorCode::parse(word))))
}

/// What a REST error code means for the person whose response it stopped.
pub fn code_in_plain_words(code: &ErrorCode) -> Option<&'static str> {
    Some(match code {
        ErrorCode::EntityIsDeleted => "The record was deleted in Salesforce.",
        ErrorCode::NotFound => "The record does not exist in Salesforce (it may have been deleted or merged).",
        ErrorCode::FieldCustomValidationException => "A validation rule in the Salesforce org refused the values; its message says which.",
        ErrorCode::RequiredFieldMissing => "Salesforce needs a value for a required field that the mapping leaves empty.",
        ErrorCode::StringTooLong => "An answer is longer than the Salesforce field can hold.",
        ErrorCode::DuplicateValue => "Another Salesforce record already has this value in a field that must be unique.",
        ErrorCode::DuplicateExternalId => "More than one Salesforce record has this key, so Salesforce cannot tell which one to update.",
        ErrorCode::MalformedId | ErrorCode::InvalidIdField => "A record id is not a valid Salesforce id.",
        ErrorCode::InvalidOrNullForRestrictedPicklist => "A value is not one of the picklist's values in Salesforce.",
        ErrorCode::InvalidEmailAddress => "An answer is not an email address Salesforce accepts.",
        ErrorCode::NumberOutsideValidRange => "A number is too large or too small for the Salesforce field.",
        ErrorCode::InsufficientAccessOrReadonly => "The linked Salesforce user may not change this record or field.",
        ErrorCode::InsufficientAccessOnCrossReferenceEntity => "The linked Salesforce user may not see a record this one points to.",
        ErrorCode::InvalidCrossReferenceKey => "A lookup points to a record that does not exist or is of another kind.",
        ErrorCode::FieldIntegrityException => "A value does not fit the field's rules in Salesforce (a lookup to the wrong kind of record, say).",
        ErrorCode::FieldFilterValidationException => "A lookup filter in Salesforce refused the linked record.",
        ErrorCode::InvalidField | ErrorCode::InvalidFieldForInsertUpdate => "A mapped field does not exist in Salesforce, or the linked user may not write it.",
        ErrorCode::InvalidType => "The Salesforce object does not exist, or the linked user cannot see it.",
        ErrorCode::EntityIsLocked => "The record is locked in Salesforce (by an approval process, say).",
        ErrorCode::CannotInsertUpdateActivateEntity => "An automation in the org (a trigger or a flow) failed on this record; its message says why.",
        ErrorCode::UnableToLockRow => "Something else in the org was changing the same record; Insight tries again.",
        ErrorCode::ServerUnavailable => "Salesforce was unavailable for a moment; Insight tries again.",
        ErrorCode::RequestLimitExceeded => "The org has used up its Salesforce API calls for the day; deliveries wait until calls are free again.",
        ErrorCode::InvalidSessionId => "Salesforce ended Insight's session; Insight signs in again with the link.",
        ErrorCode::ApiDisabledForOrg => "The org's edition or the linked user's profile does not allow API access.",
        ErrorCode::AllOrNoneOperationRolledBack => "Nothing was written, because another record in the same call failed.",
        ErrorCode::UnknownException => "Salesforce reported an error of its own.",
        _ => return None,
    })
}

/// What an OAuth error means for the account's link.
pub fn oauth_in_plain_words(code: &OAuthErrorCode) -> Option<&'static str> {
    Some(match code {
        OAuthErrorCode::InvalidGrant => "Salesforce no longer accepts the link's sign-in (it was revoked or expired): sign in again on the account's Salesforce page.",
        OAuthErrorCode::InactiveUser => "The linked Salesforce user is deactivated.",
        OAuthErrorCode::InactiveOrg => "The linked Salesforce org is inactive.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_code_a_stored_error_names_is_explained() {
        let cases = [
            ("ENTITY_IS_DELETED: entity is deleted", Some("The record was deleted in Salesforce.")),
            ("Contact: STRING_TOO_LONG: Description: data value too large (fields: Description)", Some("An answer is longer than the Salesforce field can hold.")),
            ("FIELD_CUSTOM_VALIDATION_EXCEPTION: Last name Refused is not allowed", Some("A validation rule in the Salesforce org refused the values; its message says which.")),
            ("refresh failed: invalid_grant: expired access/refresh token", Some("Salesforce no longer accepts the link's sign-in (it was revoked or expired): sign in again on the account's Salesforce page.")),
            ("the record id is not in this org", None),
            ("SOME_NEW_CODE: what Salesforce added next year", None),
            ("", None),
        ];
        for (text, plain) in cases {
            assert_eq!(explain(text), plain, "{text}");
        }
    }
}
