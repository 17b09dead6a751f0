//! Ownership transfers. A transfer is an offer to an email address; the
//! account with that address sees it on My Projects and accepts or declines.
//! Until it accepts, nothing about the project changes. Offers are kept by
//! address, not account, so offering reveals nothing about who has an account.

use crate::columns::Column;
use crate::{now_ms, Result, Store, StoreError};
use domain::{Email, TransferStatus};

/// An offer, with what the receiver needs to decide.
#[derive(Debug, Clone)]
pub struct TransferOffer {
    pub id: i64,
    pub project_id: i64,
    pub project_name: String,
    pub from_account_id: i64,
    pub from_name: String,
    pub from_email: String,
    pub to_email: String,
    pub status: TransferStatus,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
struct OfferRow {
    id: i64,
    project_id: i64,
    project_name: String,
    from_account_id: i64,
    from_name: String,
    from_email: String,
    to_email: String,
    status: String,
    created_at: i64,
}

impl TryFrom<OfferRow> for TransferOffer {
    type Error = StoreError;
    fn try_from(r: OfferRow) -> Result<TransferOffer> {
        Ok(TransferOffer {
            status: TransferStatus::from_column("project_transfers", "status", &r.status)?,
            id: r.id,
            project_id: r.project_id,
            project_name: r.project_name,
            from_account_id: r.from_account_id,
            from_name: r.from_name,
            from_email: r.from_email,
            to_email: r.to_email,
            created_at: r.created_at,
        })
    }
}

const OFFER_COLUMNS: &str = "t.id, t.project_id, p.name AS project_name, t.from_account_id, a.name AS from_name, a.email AS from_email,
    t.to_email, t.status, t.created_at";

/// What accepting did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// The account now owns the project.
    Owner { project_id: i64, previous_owner_id: i64 },
    /// No open offer of this id for this address (answered, withdrawn, or
    /// someone else's), or the project changed hands meanwhile.
    NoSuchOffer,
}

impl Store {
    /// Offers the project to whoever holds `to`, replacing an open offer.
    pub async fn offer_transfer(&self, project_id: i64, from_owner: i64, to: &Email) -> Result<()> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE project_transfers SET status = 'withdrawn', decided_at = $1, decided_by = $2 WHERE project_id = $3 AND status = 'offered'")
            .bind(now)
            .bind(from_owner)
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO project_transfers (project_id, from_account_id, to_email, status, created_at) VALUES ($1, $2, $3, 'offered', $4)")
            .bind(project_id)
            .bind(from_owner)
            .bind(to.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The open offer of a project, if any.
    pub async fn open_transfer_of(&self, project_id: i64) -> Result<Option<TransferOffer>> {
        let sql = format!(
            "SELECT {OFFER_COLUMNS} FROM project_transfers t JOIN projects p ON p.id = t.project_id JOIN accounts a ON a.id = t.from_account_id
              WHERE t.project_id = $1 AND t.status = 'offered' AND p.deleted_at IS NULL"
        );
        let row = sqlx::query_as::<_, OfferRow>(&sql).bind(project_id).fetch_optional(&self.pool).await?;
        row.map(TransferOffer::try_from).transpose()
    }

    /// The open offers made to an address, newest first.
    pub async fn transfers_offered_to(&self, to: &Email) -> Result<Vec<TransferOffer>> {
        let sql = format!(
            "SELECT {OFFER_COLUMNS} FROM project_transfers t JOIN projects p ON p.id = t.project_id JOIN accounts a ON a.id = t.from_account_id
              WHERE t.to_email = $1 AND t.status = 'offered' AND p.deleted_at IS NULL AND p.owner_id = t.from_account_id
              ORDER BY t.created_at DESC, t.id DESC"
        );
        let rows = sqlx::query_as::<_, OfferRow>(&sql).bind(to.as_str()).fetch_all(&self.pool).await?;
        rows.into_iter().map(TransferOffer::try_from).collect()
    }

    /// The owner withdraws the open offer; `false` when there was none.
    pub async fn withdraw_transfer(&self, project_id: i64, owner: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE project_transfers SET status = 'withdrawn', decided_at = $1, decided_by = $2
              WHERE project_id = $3 AND from_account_id = $2 AND status = 'offered'",
        )
        .bind(now_ms())
        .bind(owner)
        .bind(project_id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// The receiver declines; `false` when the offer is not open for them.
    pub async fn decline_transfer(&self, offer_id: i64, account_id: i64, email: &Email) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE project_transfers SET status = 'declined', decided_at = $1, decided_by = $2
              WHERE id = $3 AND to_email = $4 AND status = 'offered'",
        )
        .bind(now_ms())
        .bind(account_id)
        .bind(offer_id)
        .bind(email.as_str())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// The receiver accepts, in one transaction: the project changes owner
    /// only if the offer is open, made to this address, and its maker still
    /// owns the project. The previous owner keeps no role; the receiver's
    /// own share is folded into ownership; every editor's Salesforce grant
    /// ends (it was given on the previous owner's org); the integration's
    /// version moves on, so a mapping check begun with the previous owner's
    /// link cannot be saved as the new owner's validation.
    pub async fn accept_transfer(&self, offer_id: i64, account_id: i64, email: &Email) -> Result<Accepted> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        let offer: Option<(i64, i64)> = sqlx::query_as(
            "SELECT project_id, from_account_id FROM project_transfers WHERE id = $1 AND to_email = $2 AND status = 'offered'",
        )
        .bind(offer_id)
        .bind(email.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((project_id, from_owner)) = offer else { return Ok(Accepted::NoSuchOffer) };
        if from_owner == account_id {
            return Ok(Accepted::NoSuchOffer);
        }
        let moved = sqlx::query("UPDATE projects SET owner_id = $1, updated_at = $2 WHERE id = $3 AND owner_id = $4 AND deleted_at IS NULL")
            .bind(account_id)
            .bind(now)
            .bind(project_id)
            .bind(from_owner)
            .execute(&mut *tx)
            .await?;
        if moved.rows_affected() != 1 {
            return Ok(Accepted::NoSuchOffer);
        }
        sqlx::query("DELETE FROM project_shares WHERE project_id = $1 AND account_id IN ($2, $3)")
            .bind(project_id)
            .bind(account_id)
            .bind(from_owner)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE project_shares SET salesforce_changes = 0 WHERE project_id = $1")
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE salesforce_integrations SET version = version + 1, updated_at = $1 WHERE project_id = $2")
            .bind(now)
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE project_transfers SET status = 'accepted', decided_at = $1, decided_by = $2 WHERE id = $3")
            .bind(now)
            .bind(account_id)
            .bind(offer_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Accepted::Owner { project_id, previous_owner_id: from_owner })
    }
}
