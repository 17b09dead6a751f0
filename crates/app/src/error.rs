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
