//! Sharing a project and offering its ownership, as the web pages ask for
//! them. The rules and their records live in `consent`: only the owner
//! shares, grants, revokes and offers; a transfer is an offer the receiver
//! accepts; every grant given or ended is in the project's Salesforce history.

use crate::accounts::Account;
use crate::consent::{self, actor};
use crate::projects::{Project, TransferOffer};
use crate::{App, AppError};
use domain::Email;

pub use store::history::HistoryEntry;
pub use store::projects::Share;

impl App {
    /// Who the project is shared with, and whose Salesforce changes were granted.
    pub async fn shares(&self, project: &Project) -> Result<Vec<Share>, AppError> {
        consent::shares(&self.store, project).await
    }

    pub async fn set_salesforce_grant(&self, project: &Project, by: &Account, account_id: i64, granted: bool) -> Result<(), AppError> {
        consent::set_salesforce_grant(&self.store, project, &actor(by), account_id, granted).await
    }

    pub async fn revoke_share(&self, project: &Project, by: &Account, account_id: i64) -> Result<(), AppError> {
        consent::revoke_share(&self.store, project, &actor(by), account_id).await
    }

    /// The open transfer offer of the project, if any.
    pub async fn open_transfer(&self, project: &Project) -> Result<Option<TransferOffer>, AppError> {
        consent::open_transfer(&self.store, project).await
    }

    /// Offers the project to the account with the address typed in `to`;
    /// `confirm` must be the project's name. The answer (the address, as
    /// read) is the same whether or not such an account exists.
    pub async fn offer_transfer(&self, project: &Project, to: &str, confirm: &str) -> Result<Email, AppError> {
        consent::require_owner(project)?;
        if confirm.trim() != project.name {
            return Err(AppError::Invalid("The name you typed does not match the project's name; nothing was offered.".into()));
        }
        let to = Email::parse(to)?;
        consent::offer_transfer(&self.store, project, &to).await?;
        Ok(to)
    }

    pub async fn withdraw_transfer(&self, project: &Project) -> Result<(), AppError> {
        consent::withdraw_transfer(&self.store, project).await
    }

    /// The receiver accepts; returns the project, now theirs.
    pub async fn accept_transfer(&self, account: &Account, offer_id: i64) -> Result<i64, AppError> {
        consent::accept_transfer(&self.store, account, offer_id).await
    }

    pub async fn decline_transfer(&self, account: &Account, offer_id: i64) -> Result<(), AppError> {
        consent::decline_transfer(&self.store, account, offer_id).await
    }

    /// The project's Salesforce history: every change to what it writes.
    pub async fn salesforce_history(&self, project: &Project) -> Result<Vec<HistoryEntry>, AppError> {
        consent::history(&self.store, project).await
    }
}
