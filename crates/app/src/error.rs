//! The one error type of Insight's use cases. Each variant says what a
//! person can do about it; the web layer maps each to a status in one table.

use crate::integration::IntegrationError;
use crate::link::LinkError;
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Nothing there, or nothing this account may see (never says which).
    #[error("There is nothing here, or you do not have access to it.")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    #[error("Only the project's owner, {owner} ({owner_email}), can do that.")]
    OwnerOnly { owner: String, owner_email: String },
    #[error("This project writes into the Salesforce org of its owner, {owner} ({owner_email}), with their link, so they decide what it writes. Ask {owner} to grant you \"may change what this project writes into my Salesforce org\" on the project's Sharing page.")]
    NeedsSalesforceGrant { owner: String, owner_email: String },
    #[error("You can view \"{project}\" but not edit it. Ask its owner, {owner} ({owner_email}), for editor access.")]
    ViewOnly { project: String, owner: String, owner_email: String },
    /// Signed links and the signing key: the owner's link writes what they
    /// name, so only those who may change what it writes may make them.
    #[error("Only the project's owner, {owner} ({owner_email}), or an editor they granted Salesforce changes, can create signed links or change the signing key.")]
    SignersOnly { owner: String, owner_email: String },
    /// Someone else changed the same thing meanwhile; trying again helps.
    #[error("{0}")]
    Conflict(String),
    #[error("This survey was deleted by its owner and no longer accepts responses.")]
    SurveyDeleted,
    #[error("This survey is not accepting responses right now: it has not been published, or its owner closed it.")]
    SurveyClosed,
    #[error(transparent)]
    Integration(#[from] IntegrationError),
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<domain::Invalid> for AppError {
    fn from(e: domain::Invalid) -> Self {
        AppError::Invalid(e.0)
    }
}
