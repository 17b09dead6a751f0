//! Sign-ups waiting for their address to confirm them. A sign-up is stored
//! with its confirmation mail in one transaction; the account is made only
//! when the mailed link is followed, so an address confirms it is its
//! owner's before anything (an invitation to it, say) belongs to it.

use crate::accounts::Account;
use crate::mail::NewMail;
use crate::{now_ms, Result, Store};
use domain::{DisplayName, Email};

/// A sign-up as its link finds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingSignup {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub next_path: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub confirmed_at: Option<i64>,
}

/// A sign-up to store: the link's token only as its hash.
#[derive(Debug, Clone, Copy)]
pub struct NewSignup<'a> {
    pub email: &'a Email,
    pub name: &'a DisplayName,
    pub password_hash: &'a str,
    pub token_hash: &'a str,
    /// Where to go once confirmed (a same-site path).
    pub next_path: &'a str,
    pub lifetime_ms: i64,
}

/// What confirming did.
#[derive(Debug, Clone)]
pub enum Confirmed {
    /// The account was made.
    Account(Account),
    /// Someone confirmed another sign-up of this address first.
    EmailTaken,
    /// The sign-up was confirmed already, or has expired, meanwhile.
    NotPending,
}

impl Store {
    /// Stores a sign-up, and its confirmation mail made from the sign-up's
    /// id (`mail(id)`), in one transaction.
    pub async fn create_pending_signup(&self, signup: &NewSignup<'_>, mail: impl FnOnce(i64) -> NewMail) -> Result<i64> {
        let NewSignup { email, name, password_hash, token_hash, next_path, lifetime_ms } = *signup;
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO pending_signups (email, name, password_hash, token_hash, next_path, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(email.as_str())
        .bind(name.as_str())
        .bind(password_hash)
        .bind(token_hash)
        .bind(next_path)
        .bind(now)
        .bind(now + lifetime_ms)
        .fetch_one(&mut *tx)
        .await?;
        self.queue_mail_in(&mut tx, &mail(id)).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The sign-up a link's token belongs to, used or not, expired or not.
    pub async fn pending_signup(&self, token_hash: &str) -> Result<Option<PendingSignup>> {
        Ok(sqlx::query_as::<_, PendingSignup>(
            "SELECT id, email, name, password_hash, next_path, created_at, expires_at, confirmed_at FROM pending_signups WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Confirms the sign-up and makes its account, in one transaction: a
    /// link confirms once, and only before it expires.
    pub async fn confirm_signup(&self, id: i64) -> Result<Confirmed> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        let pending: Option<(String, String, String)> = sqlx::query_as(
            "UPDATE pending_signups SET confirmed_at = $1 WHERE id = $2 AND confirmed_at IS NULL AND expires_at > $1
             RETURNING email, name, password_hash",
        )
        .bind(now)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((email, name, password_hash)) = pending else { return Ok(Confirmed::NotPending) };
        let account = sqlx::query_as::<_, Account>(
            "INSERT INTO accounts (email, name, password_hash, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (email) DO NOTHING
             RETURNING id, email, name, created_at",
        )
        .bind(&email)
        .bind(&name)
        .bind(&password_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(account) = account else {
            // Leave the link unused: it still says "you have an account".
            return Ok(Confirmed::EmailTaken);
        };
        sqlx::query("UPDATE pending_signups SET account_id = $1 WHERE id = $2").bind(account.id).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Confirmed::Account(account))
    }

    /// Forgets sign-ups older than `max_age_ms`, confirmed or not.
    pub async fn delete_old_signups(&self, max_age_ms: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM pending_signups WHERE created_at < $1").bind(now_ms() - max_age_ms).execute(&self.pool).await?;
        Ok(r.rows_affected())
    }
}
