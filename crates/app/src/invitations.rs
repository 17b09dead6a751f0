//! Sharing as an invitation. The owner shares with an address; whether or
//! not an account uses it, an invitation is stored, the owner's page says
//! "invited, waiting for them to accept", and a mail goes to the address
//! (to open My Projects, or to sign up with that address). The account with
//! that address — which proved it holds the address when it confirmed its
//! sign-up by mail — accepts or declines; accepting makes the share exactly
//! as sharing did before, its Salesforce grant recorded in the project's
//! history. Only the addressee may answer; the owner may withdraw.

use crate::consent::{self, actor, grant_words, record, require_owner};
use crate::mail::Letter;
use crate::AppError;
use domain::invitation::Sharing;
use domain::{Email, Role};
use store::accounts::Account;
use store::history::Actor;
use store::invitations::{Accepted, NewInvitation};
pub use store::invitations::Invitation;
use store::projects::Project;
use store::Store;

/// What sharing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shared {
    /// An invitation waits for the address to accept it (whether or not an
    /// account uses it: the answer must not say).
    Invited { email: String, role: Role, salesforce_changes: bool },
    /// The address already held a share; its role and grant changed.
    Changed(consent::Shared),
}

/// Shares the project with an address, as editor or viewer; an editor may
/// also be granted "may change what this project writes into my Salesforce org".
pub async fn share(store: &Store, public_url: &str, project: &Project, by: &Account, email: &Email, role: Role, salesforce_changes: bool) -> Result<Shared, AppError> {
    require_owner(project)?;
    let shares = store.shares(project.id).await?;
    let held = shares.iter().find(|s| s.email == email.as_str());
    match Sharing::decide(email.as_str() == project.owner_email, held.is_some()) {
        Sharing::RefuseOwnAddress => Err(AppError::Invalid(format!("{email} is the project's owner already."))),
        Sharing::ChangeShare => {
            let share = held.expect("decided on a held share");
            Ok(Shared::Changed(consent::change_share(store, project, &actor(by), share, role, salesforce_changes).await?))
        }
        Sharing::Invite => {
            let grant = salesforce_changes && domain::project::grant_applies(role);
            // Only the mail's words depend on whether the address has an
            // account, and only the address's owner reads them.
            let has_account = store.account_by_email(email).await?.is_some();
            let letter = invitation_letter(public_url, project, by, email, role, grant, has_account);
            let invitation = NewInvitation { project_id: project.id, email, role, salesforce_changes: grant, invited_by: by.id };
            let id = store.invite(&invitation, |id| letter.to(format!("invitation:{id}"), email.as_str())).await?;
            tracing::info!(project = project.id, invitation = id, role = role.as_str(), grant, "invitation sent");
            Ok(Shared::Invited { email: email.to_string(), role, salesforce_changes: grant })
        }
    }
}

fn invitation_letter(public_url: &str, project: &Project, by: &Account, email: &Email, role: Role, grant: bool, has_account: bool) -> Letter {
    let (inviter, project_name) = (format!("{} ({})", by.name, by.email), &project.name);
    let as_role = match (role, grant) {
        (Role::Editor, true) => "an editor, who may also change what the project writes into their Salesforce org",
        (Role::Editor, false) => "an editor",
        _ => "a viewer",
    };
    if has_account {
        Letter {
            subject: format!("{} shared \"{project_name}\" with you on Insight", by.name),
            text: format!(
                "Hello,\n\n{inviter} shared the project \"{project_name}\" with you, as {as_role}.\n\n\
                 To accept or decline, open My Projects: {public_url}/projects\n"
            ),
        }
    } else {
        Letter {
            subject: format!("{} invited you to Insight", by.name),
            text: format!(
                "Hello,\n\n{inviter} invited you to Insight to work on the project \"{project_name}\", as {as_role}.\n\n\
                 Sign up with this address, {email}, at {public_url}/signup\n\
                 Once you have confirmed your sign-up, the invitation is on your My Projects page to accept or decline.\n"
            ),
        }
    }
}

/// The project's open invitations, for its sharing page.
pub async fn open_invitations(store: &Store, project: &Project) -> Result<Vec<Invitation>, AppError> {
    Ok(store.open_invitations_of(project.id).await?)
}

/// The owner withdraws an invitation that is still open.
pub async fn withdraw(store: &Store, project: &Project, invitation_id: i64) -> Result<(), AppError> {
    require_owner(project)?;
    if !store.withdraw_invitation(project.id, invitation_id, project.owner_id).await? {
        return Err(AppError::NotFound);
    }
    tracing::info!(project = project.id, invitation = invitation_id, "invitation withdrawn");
    Ok(())
}

fn address_of(account: &Account) -> Result<Email, AppError> {
    Email::parse(&account.email).map_err(|e| AppError::Invalid(e.0))
}

/// The invitations waiting for this account, for My Projects.
pub async fn invitations_for(store: &Store, account: &Account) -> Result<Vec<Invitation>, AppError> {
    Ok(store.invitations_to(&address_of(account)?).await?)
}

/// The addressee accepts: the share is made with the invitation's role and
/// grant, and a grant is in the project's Salesforce history, given by the
/// owner who invited. Anyone else gets `NotFound`.
pub async fn accept(store: &Store, account: &Account, invitation_id: i64) -> Result<i64, AppError> {
    match store.accept_invitation(invitation_id, account.id, &address_of(account)?).await? {
        Accepted::NoSuchInvitation => Err(AppError::NotFound),
        Accepted::Shared { project_id, role, salesforce_changes, invited_by } => {
            if salesforce_changes {
                let project = store.project_as_owner(project_id).await?.ok_or(AppError::NotFound)?;
                let owner = store.account(invited_by).await?.ok_or(AppError::NotFound)?;
                let by: Actor = actor(&owner);
                record(store, &project, &by, &format!("{} (invitation accepted)", grant_words(true, &account.name, &account.email))).await?;
            }
            tracing::info!(project = project_id, account = account.id, role = role.as_str(), salesforce_changes, "invitation accepted");
            Ok(project_id)
        }
    }
}

/// The addressee declines; anyone else gets `NotFound`.
pub async fn decline(store: &Store, account: &Account, invitation_id: i64) -> Result<(), AppError> {
    if !store.decline_invitation(invitation_id, account.id, &address_of(account)?).await? {
        return Err(AppError::NotFound);
    }
    Ok(())
}

impl crate::App {
    /// Shares the project with an address: an invitation, whether or not an
    /// account uses it (see `share`).
    pub async fn share(&self, project: &Project, by: &Account, email: &Email, role: Role, salesforce_changes: bool) -> Result<Shared, AppError> {
        share(&self.store, &self.public_url, project, by, email, role, salesforce_changes).await
    }

    pub async fn open_invitations(&self, project: &Project) -> Result<Vec<Invitation>, AppError> {
        open_invitations(&self.store, project).await
    }

    pub async fn withdraw_invitation(&self, project: &Project, invitation_id: i64) -> Result<(), AppError> {
        withdraw(&self.store, project, invitation_id).await
    }

    pub async fn invitations_for(&self, account: &Account) -> Result<Vec<Invitation>, AppError> {
        invitations_for(&self.store, account).await
    }

    /// The addressee accepts; returns the project now shared with them.
    pub async fn accept_invitation(&self, account: &Account, invitation_id: i64) -> Result<i64, AppError> {
        accept(&self.store, account, invitation_id).await
    }

    pub async fn decline_invitation(&self, account: &Account, invitation_id: i64) -> Result<(), AppError> {
        decline(&self.store, account, invitation_id).await
    }
}
