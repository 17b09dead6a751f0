//! The words the store writes into its columns for the domain's values, and
//! reading them back. A stored word that does not read back is an error that
//! names the table, the column and the word, never a silent default.

use crate::{Result, StoreError};
use domain::{DeliveryStatus, EmbeddedProvenance, Environment, LinkEventKind, Role, SurveyStatus, TransferStatus};

/// A value kept in a text column as one of a fixed set of words.
pub(crate) trait Column: Sized + Copy + PartialEq + 'static {
    /// Every value, with the word stored for it.
    const WORDS: &'static [(Self, &'static str)];

    fn to_column(self) -> &'static str {
        Self::WORDS.iter().find(|(v, _)| *v == self).map(|(_, w)| *w).expect("every value has a stored word")
    }

    fn from_word(raw: &str) -> Option<Self> {
        Self::WORDS.iter().find(|(_, w)| *w == raw).map(|(v, _)| *v)
    }

    /// The value stored as `raw` in `table.column`.
    fn from_column(table: &'static str, column: &'static str, raw: &str) -> Result<Self> {
        Self::from_word(raw).ok_or_else(|| StoreError::UnknownValue { table, column, value: raw.to_string() })
    }
}

impl Column for Role {
    const WORDS: &'static [(Self, &'static str)] = &[(Role::Owner, "owner"), (Role::Editor, "editor"), (Role::Viewer, "viewer")];
}

impl Column for SurveyStatus {
    const WORDS: &'static [(Self, &'static str)] = &[(SurveyStatus::Draft, "draft"), (SurveyStatus::Published, "published")];
}

impl Column for EmbeddedProvenance {
    const WORDS: &'static [(Self, &'static str)] = &[
        (EmbeddedProvenance::Unsigned, "unsigned"),
        (EmbeddedProvenance::SignedLink, "signed_link"),
        (EmbeddedProvenance::TamperedLink, "tampered_link"),
        (EmbeddedProvenance::ExpiredLink, "expired_link"),
        (EmbeddedProvenance::Invitation, "invitation"),
    ];
}

impl Column for Environment {
    const WORDS: &'static [(Self, &'static str)] = &[(Environment::Production, "production"), (Environment::Sandbox, "sandbox")];
}

impl Column for DeliveryStatus {
    const WORDS: &'static [(Self, &'static str)] = &[
        (DeliveryStatus::Pending, "pending"),
        (DeliveryStatus::Held, "held"),
        (DeliveryStatus::Delivered, "delivered"),
        (DeliveryStatus::Failed, "failed"),
        (DeliveryStatus::Discarded, "discarded"),
    ];
}

impl Column for TransferStatus {
    const WORDS: &'static [(Self, &'static str)] = &[
        (TransferStatus::Offered, "offered"),
        (TransferStatus::Accepted, "accepted"),
        (TransferStatus::Declined, "declined"),
        (TransferStatus::Withdrawn, "withdrawn"),
    ];
}

impl Column for LinkEventKind {
    const WORDS: &'static [(Self, &'static str)] = &[
        (LinkEventKind::Linked, "linked"),
        (LinkEventKind::Relinked, "relinked"),
        (LinkEventKind::Unlinked, "unlinked"),
        (LinkEventKind::RefreshFailed, "refresh_failed"),
        (LinkEventKind::TestOk, "test_ok"),
        (LinkEventKind::TestFailed, "test_failed"),
        (LinkEventKind::SwitchCancelled, "switch_cancelled"),
        (LinkEventKind::Switched, "switched"),
    ];
}

impl Column for crate::mail::MailStatus {
    const WORDS: &'static [(Self, &'static str)] =
        &[(crate::mail::MailStatus::Pending, "pending"), (crate::mail::MailStatus::Sent, "sent"), (crate::mail::MailStatus::Failed, "failed")];
}

impl Column for crate::invitations::InvitationStatus {
    const WORDS: &'static [(Self, &'static str)] = &[
        (crate::invitations::InvitationStatus::Invited, "invited"),
        (crate::invitations::InvitationStatus::Accepted, "accepted"),
        (crate::invitations::InvitationStatus::Declined, "declined"),
        (crate::invitations::InvitationStatus::Withdrawn, "withdrawn"),
    ];
}

impl Column for crate::links::LinkStatus {
    const WORDS: &'static [(Self, &'static str)] =
        &[(crate::links::LinkStatus::Active, "active"), (crate::links::LinkStatus::NeedsReauthentication, "needs_reauth")];
}

/// Stored JSON, read back: a document that does not parse is an error naming
/// what it is and whose, never an empty map.
pub(crate) fn json<T: serde::de::DeserializeOwned>(what: &'static str, id: i64, raw: &str) -> Result<T> {
    serde_json::from_str(raw).map_err(|e| StoreError::CorruptJson { what, id, reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Column + std::fmt::Debug>() {
        for (value, word) in T::WORDS {
            assert_eq!(T::from_word(word), Some(*value));
            assert_eq!(value.to_column(), *word);
        }
    }

    #[test]
    fn every_stored_word_reads_back_as_its_value() {
        round_trips::<Role>();
        round_trips::<SurveyStatus>();
        round_trips::<EmbeddedProvenance>();
        round_trips::<Environment>();
        round_trips::<DeliveryStatus>();
        round_trips::<TransferStatus>();
        round_trips::<LinkEventKind>();
        round_trips::<crate::links::LinkStatus>();
        round_trips::<crate::mail::MailStatus>();
        round_trips::<crate::invitations::InvitationStatus>();
    }

    #[test]
    fn provenance_round_trips() {
        for p in [EmbeddedProvenance::Unsigned, EmbeddedProvenance::SignedLink, EmbeddedProvenance::TamperedLink, EmbeddedProvenance::ExpiredLink] {
            assert_eq!(EmbeddedProvenance::from_word(p.to_column()), Some(p));
        }
    }

    #[test]
    fn an_unknown_word_is_an_error_naming_where_it_was_found() {
        let err = Role::from_column("project_shares", "role", "admin").unwrap_err();
        assert_eq!(err.to_string(), "project_shares.role holds \"admin\", which Insight does not know");
        let err = json::<std::collections::BTreeMap<String, String>>("embedded data of response", 7, "{").unwrap_err();
        assert!(err.to_string().starts_with("embedded data of response 7 is unreadable JSON"), "{err}");
    }
}
