//! The owner's consent to what is written into their Salesforce org: who
//! may change a project's mappings (the owner, or an editor the owner
//! granted it on the share), ownership transfer as an offer the receiver
//! accepts, and the project's Salesforce history of every such change.

use crate::AppError;
use domain::{Access, Email, Role};
use store::history::{Actor, HistoryEntry};
use store::projects::{Project, Share};
use store::transfers::{Accepted, TransferOffer};
use store::Store;

/// The account doing something, as the history names it.
pub fn actor(account: &store::accounts::Account) -> Actor {
    Actor { account_id: account.id, name: account.name.clone(), email: account.email.clone() }
}

/// What the account may do with the project.
pub fn access(project: &Project) -> Access {
    Access::new(project.role, project.salesforce_changes)
}

/// Refuses a change to what the project writes into Salesforce by anyone
/// the owner did not allow: the server's check, whatever the page showed.
pub fn require_salesforce_changes(project: &Project) -> Result<(), AppError> {
    if access(project).can_change_salesforce() {
        Ok(())
    } else {
        Err(AppError::NeedsSalesforceGrant { owner: project.owner_name.clone(), owner_email: project.owner_email.clone() })
    }
}

/// Records a change in the project's Salesforce history.
pub async fn record(store: &Store, project: &Project, actor: &Actor, change: &str) -> Result<(), AppError> {
    let by_owner = actor.account_id == project.owner_id;
    tracing::info!(project = project.id, account = actor.account_id, by_owner, change, "Salesforce change");
    store.record_salesforce_change(project.id, actor, by_owner, change).await?;
    Ok(())
}

pub async fn history(store: &Store, project: &Project) -> Result<Vec<HistoryEntry>, AppError> {
    Ok(store.salesforce_history(project.id, 50).await?)
}

/// The changes collaborators made to what the account's projects write into
/// its org, for the account's Salesforce page.
pub async fn collaborator_changes(store: &Store, owner_id: i64) -> Result<Vec<HistoryEntry>, AppError> {
    Ok(store.collaborator_changes_for_owner(owner_id, 20).await?)
}

pub fn require_owner(project: &Project) -> Result<(), AppError> {
    if access(project).can_manage() {
        Ok(())
    } else {
        Err(AppError::OwnerOnly { owner: project.owner_name.clone(), owner_email: project.owner_email.clone() })
    }
}

/// What sharing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shared {
    pub email: String,
    pub role: Role,
    pub salesforce_changes: bool,
}

/// The history's words for a grant given or ended.
pub(crate) fn grant_words(granted: bool, name: &str, email: &str) -> String {
    if granted {
        format!("granted {name} ({email}) Salesforce changes")
    } else {
        format!("ended Salesforce changes of {name} ({email})")
    }
}

/// The share of one account, or `NotFound`.
async fn share_of(store: &Store, project: &Project, account_id: i64) -> Result<Share, AppError> {
    store.shares(project.id).await?.into_iter().find(|s| s.account_id == account_id).ok_or(AppError::NotFound)
}

/// Changes the role (and grant) of a share the project already has; sharing
/// with anyone else is an invitation (`crate::invitations::share`).
pub(crate) async fn change_share(store: &Store, project: &Project, by: &Actor, share: &Share, role: Role, salesforce_changes: bool) -> Result<Shared, AppError> {
    require_owner(project)?;
    let grant = salesforce_changes && domain::project::grant_applies(role);
    store.share_project(project.id, share.account_id, role, grant).await?;
    if share.salesforce_changes != grant {
        record(store, project, by, &grant_words(grant, &share.name, &share.email)).await?;
    }
    tracing::info!(project = project.id, with = share.account_id, role = role.as_str(), grant, "share changed");
    Ok(Shared { email: share.email.clone(), role, salesforce_changes: grant })
}

/// Grants or ends an editor's Salesforce changes.
pub async fn set_salesforce_grant(store: &Store, project: &Project, by: &Actor, account_id: i64, granted: bool) -> Result<(), AppError> {
    require_owner(project)?;
    let share = share_of(store, project, account_id).await?;
    if !domain::project::grant_applies(share.role) {
        return Err(AppError::Invalid(format!("{} is a viewer: share the project with them as editor first.", share.name)));
    }
    if share.salesforce_changes != granted {
        store.set_salesforce_changes(project.id, account_id, granted).await?;
        record(store, project, by, &grant_words(granted, &share.name, &share.email)).await?;
    }
    Ok(())
}

pub async fn revoke_share(store: &Store, project: &Project, by: &Actor, account_id: i64) -> Result<(), AppError> {
    require_owner(project)?;
    let share = share_of(store, project, account_id).await?;
    store.revoke_share(project.id, account_id).await?;
    if share.salesforce_changes {
        record(store, project, by, &format!("{}: share revoked", grant_words(false, &share.name, &share.email))).await?;
    }
    tracing::info!(project = project.id, account = account_id, "share revoked");
    Ok(())
}

/// Offers the project to the account with this address. Nothing changes
/// until it accepts; the answer is the same whether or not such an account
/// exists, so offering cannot be used to learn who has one.
pub async fn offer_transfer(store: &Store, project: &Project, to: &Email) -> Result<(), AppError> {
    require_owner(project)?;
    if to.as_str() == project.owner_email {
        return Err(AppError::Invalid("You own this project already: enter the email of the account that should own it.".into()));
    }
    store.offer_transfer(project.id, project.owner_id, to).await?;
    tracing::info!(project = project.id, "ownership transfer offered");
    Ok(())
}

pub async fn open_transfer(store: &Store, project: &Project) -> Result<Option<TransferOffer>, AppError> {
    Ok(store.open_transfer_of(project.id).await?)
}

pub async fn withdraw_transfer(store: &Store, project: &Project) -> Result<(), AppError> {
    require_owner(project)?;
    if !store.withdraw_transfer(project.id, project.owner_id).await? {
        return Err(AppError::Invalid("There is no open transfer offer to withdraw.".into()));
    }
    Ok(())
}

/// The offers waiting for this account, for My Projects.
pub async fn transfers_offered_to(store: &Store, account: &store::accounts::Account) -> Result<Vec<TransferOffer>, AppError> {
    let email = Email::parse(&account.email).map_err(|e| AppError::Invalid(e.0))?;
    Ok(store.transfers_offered_to(&email).await?)
}

/// The receiver accepts: the project becomes theirs, the previous owner keeps
/// no role, and its Salesforce work is pinned until the new owner's
/// transition validates it against their own org (`SalesforceWork::decide`
/// sees a validation made with another owner's link).
pub async fn accept_transfer(store: &Store, account: &store::accounts::Account, offer_id: i64) -> Result<i64, AppError> {
    let email = Email::parse(&account.email).map_err(|e| AppError::Invalid(e.0))?;
    match store.accept_transfer(offer_id, account.id, &email).await? {
        Accepted::NoSuchOffer => Err(AppError::NotFound),
        Accepted::Owner { project_id, previous_owner_id } => {
            let project = store.project_for(project_id, account.id).await?.ok_or(AppError::NotFound)?;
            let previous = store.account(previous_owner_id).await?;
            let from = previous.map(|a| format!("{} ({})", a.name, a.email)).unwrap_or_else(|| "the previous owner".into());
            record(store, &project, &actor(account), &format!("accepted ownership from {from}; Salesforce work paused until the new owner's transition")).await?;
            tracing::info!(project = project_id, from = previous_owner_id, to = account.id, "project ownership transferred");
            Ok(project_id)
        }
    }
}

pub async fn decline_transfer(store: &Store, account: &store::accounts::Account, offer_id: i64) -> Result<(), AppError> {
    let email = Email::parse(&account.email).map_err(|e| AppError::Invalid(e.0))?;
    if !store.decline_transfer(offer_id, account.id, &email).await? {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Who the project is shared with, and whose Salesforce changes were granted.
pub async fn shares(store: &Store, project: &Project) -> Result<Vec<Share>, AppError> {
    Ok(store.shares(project.id).await?)
}

impl crate::App {
    /// The latest change `by` made to what the project writes, in words
    /// (for "Saved: …" after a change).
    pub async fn latest_change_by(&self, project: &Project, by: &crate::accounts::Account) -> Result<Option<String>, AppError> {
        let latest = self.store.salesforce_history(project.id, 1).await?.into_iter().next();
        Ok(latest.filter(|e| e.actor_email == by.email).map(|e| e.change))
    }
}
