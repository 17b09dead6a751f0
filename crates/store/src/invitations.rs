//! Invitations to work on a project. Sharing with an address stores an
//! invitation to that address, whether or not an account uses it, with its
//! mail in the same transaction; the account with that address accepts or
//! declines it on My Projects, and accepting makes the share. Kept by
//! address, like transfer offers, so inviting reveals nothing about who has
//! an account.

use crate::columns::Column;
use crate::mail::NewMail;
use crate::{now_ms, Result, Store, StoreError};
use domain::{Email, Role};

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    Invited,
    Accepted,
    Declined,
    Withdrawn,
}


/// An invitation, with what its addressee needs to decide.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: i64,
    pub project_id: i64,
    pub project_name: String,
    pub email: String,
    pub role: Role,
    /// The owner's Salesforce grant, given with the share on acceptance.
    pub salesforce_changes: bool,
    pub invited_by: i64,
    pub inviter_name: String,
    pub inviter_email: String,
    pub status: InvitationStatus,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: i64,
    project_id: i64,
    project_name: String,
    email: String,
    role: String,
    salesforce_changes: i64,
    invited_by: i64,
    inviter_name: String,
    inviter_email: String,
    status: String,
    created_at: i64,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = StoreError;
    fn try_from(r: InvitationRow) -> Result<Invitation> {
        let role = Role::from_column("project_invitations", "role", &r.role)?;
        Ok(Invitation {
            status: InvitationStatus::from_column("project_invitations", "status", &r.status)?,
            id: r.id,
            project_id: r.project_id,
            project_name: r.project_name,
            email: r.email,
            role,
            salesforce_changes: r.salesforce_changes != 0,
            invited_by: r.invited_by,
            inviter_name: r.inviter_name,
            inviter_email: r.inviter_email,
            created_at: r.created_at,
        })
    }
}

const INVITATION_COLUMNS: &str = "i.id, i.project_id, p.name AS project_name, i.email, i.role, i.salesforce_changes, i.invited_by,
    a.name AS inviter_name, a.email AS inviter_email, i.status, i.created_at";
const INVITATION_FROM: &str = "project_invitations i JOIN projects p ON p.id = i.project_id JOIN accounts a ON a.id = i.invited_by";

/// An invitation to store.
#[derive(Debug, Clone, Copy)]
pub struct NewInvitation<'a> {
    pub project_id: i64,
    pub email: &'a Email,
    pub role: Role,
    pub salesforce_changes: bool,
    pub invited_by: i64,
}

/// What accepting did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// The account now holds the share.
    Shared { project_id: i64, role: Role, salesforce_changes: bool, invited_by: i64 },
    /// No open invitation of this id for this address (answered, withdrawn,
    /// someone else's), or its maker no longer owns the project.
    NoSuchInvitation,
}

impl Store {
    /// Invites the address to the project, replacing the role and grant of
    /// an open invitation to it; its mail (made from the invitation's id,
    /// `mail(id)`) is queued in the same transaction. A replaced invitation
    /// keeps its id, so it queues no second mail.
    pub async fn invite(&self, invitation: &NewInvitation<'_>, mail: impl FnOnce(i64) -> NewMail) -> Result<i64> {
        debug_assert!(invitation.role != Role::Owner, "a project is never shared as owner");
        let now = now_ms();
        let grant = i64::from(invitation.salesforce_changes && domain::project::grant_applies(invitation.role));
        let mut tx = self.write_tx().await?;
        let open: Option<(i64,)> = sqlx::query_as("SELECT id FROM project_invitations WHERE project_id = $1 AND email = $2 AND status = 'invited'")
            .bind(invitation.project_id)
            .bind(invitation.email.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let id = match open {
            Some((id,)) => {
                sqlx::query("UPDATE project_invitations SET role = $1, salesforce_changes = $2, invited_by = $3 WHERE id = $4")
                    .bind(invitation.role.as_str())
                    .bind(grant)
                    .bind(invitation.invited_by)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                id
            }
            None => {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO project_invitations (project_id, email, role, salesforce_changes, invited_by, status, created_at)
                     VALUES ($1, $2, $3, $4, $5, 'invited', $6) RETURNING id",
                )
                .bind(invitation.project_id)
                .bind(invitation.email.as_str())
                .bind(invitation.role.as_str())
                .bind(grant)
                .bind(invitation.invited_by)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                id
            }
        };
        self.queue_mail_in(&mut tx, &mail(id)).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A project's open invitations, oldest first.
    pub async fn open_invitations_of(&self, project_id: i64) -> Result<Vec<Invitation>> {
        let sql = format!("SELECT {INVITATION_COLUMNS} FROM {INVITATION_FROM} WHERE i.project_id = $1 AND i.status = 'invited' ORDER BY i.created_at, i.id");
        let rows = sqlx::query_as::<_, InvitationRow>(&sql).bind(project_id).fetch_all(&self.pool).await?;
        rows.into_iter().map(Invitation::try_from).collect()
    }

    /// The open invitations to an address whose makers still own their
    /// projects, newest first.
    pub async fn invitations_to(&self, email: &Email) -> Result<Vec<Invitation>> {
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM {INVITATION_FROM}
              WHERE i.email = $1 AND i.status = 'invited' AND p.deleted_at IS NULL AND p.owner_id = i.invited_by
              ORDER BY i.created_at DESC, i.id DESC"
        );
        let rows = sqlx::query_as::<_, InvitationRow>(&sql).bind(email.as_str()).fetch_all(&self.pool).await?;
        rows.into_iter().map(Invitation::try_from).collect()
    }

    /// The owner withdraws an open invitation; `false` when there was none.
    pub async fn withdraw_invitation(&self, project_id: i64, invitation_id: i64, owner: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE project_invitations SET status = 'withdrawn', decided_at = $1, decided_by = $2
              WHERE id = $3 AND project_id = $4 AND status = 'invited'",
        )
        .bind(now_ms())
        .bind(owner)
        .bind(invitation_id)
        .bind(project_id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// The addressee declines; `false` when it is not open for them.
    pub async fn decline_invitation(&self, invitation_id: i64, account_id: i64, email: &Email) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE project_invitations SET status = 'declined', decided_at = $1, decided_by = $2
              WHERE id = $3 AND email = $4 AND status = 'invited'",
        )
        .bind(now_ms())
        .bind(account_id)
        .bind(invitation_id)
        .bind(email.as_str())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// The addressee accepts, in one transaction: the share is made (or its
    /// role and grant set) only if the invitation is open, addressed to this
    /// account's address, and its maker still owns the project.
    pub async fn accept_invitation(&self, invitation_id: i64, account_id: i64, email: &Email) -> Result<Accepted> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        let open: Option<(i64, String, i64, i64)> = sqlx::query_as(
            "SELECT i.project_id, i.role, i.salesforce_changes, i.invited_by FROM project_invitations i JOIN projects p ON p.id = i.project_id
              WHERE i.id = $1 AND i.email = $2 AND i.status = 'invited' AND p.deleted_at IS NULL AND p.owner_id = i.invited_by AND p.owner_id <> $3",
        )
        .bind(invitation_id)
        .bind(email.as_str())
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((project_id, role, grant, invited_by)) = open else { return Ok(Accepted::NoSuchInvitation) };
        let role = Role::from_column("project_invitations", "role", &role)?;
        let answered = sqlx::query("UPDATE project_invitations SET status = 'accepted', decided_at = $1, decided_by = $2 WHERE id = $3 AND status = 'invited'")
            .bind(now)
            .bind(account_id)
            .bind(invitation_id)
            .execute(&mut *tx)
            .await?;
        if answered.rows_affected() != 1 {
            return Ok(Accepted::NoSuchInvitation);
        }
        sqlx::query(
            "INSERT INTO project_shares (project_id, account_id, role, salesforce_changes, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (project_id, account_id) DO UPDATE SET role = excluded.role, salesforce_changes = excluded.salesforce_changes",
        )
        .bind(project_id)
        .bind(account_id)
        .bind(role.as_str())
        .bind(grant)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Accepted::Shared { project_id, role, salesforce_changes: grant != 0, invited_by })
    }
}
