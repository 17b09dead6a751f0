//! Accounts: sign-up and sign-in records. Only argon2 hashes are stored.

use crate::{now_ms, Result, Store};
use domain::{DisplayName, Email};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
pub struct Credentials {
    pub id: i64,
    pub password_hash: String,
}

impl Store {
    /// Creates an account; `Ok(None)` when the email is already taken.
    pub async fn create_account(&self, email: &Email, name: &DisplayName, password_hash: &str) -> Result<Option<Account>> {
        let result = sqlx::query_as::<_, Account>(
            "INSERT INTO accounts (email, name, password_hash, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (email) DO NOTHING
             RETURNING id, email, name, created_at",
        )
        .bind(email.as_str())
        .bind(name.as_str())
        .bind(password_hash)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        Ok(result)
    }

    pub async fn credentials(&self, email: &Email) -> Result<Option<Credentials>> {
        Ok(sqlx::query_as::<_, Credentials>("SELECT id, password_hash FROM accounts WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn account(&self, id: i64) -> Result<Option<Account>> {
        Ok(sqlx::query_as::<_, Account>("SELECT id, email, name, created_at FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn account_by_email(&self, email: &Email) -> Result<Option<Account>> {
        Ok(sqlx::query_as::<_, Account>("SELECT id, email, name, created_at FROM accounts WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The account's password hash, for checking its current password.
    pub async fn credentials_of(&self, account_id: i64) -> Result<Option<Credentials>> {
        Ok(sqlx::query_as::<_, Credentials>("SELECT id, password_hash FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Replaces the account's password hash and ends every session of the
    /// account but the one whose token hash is `keep`, in one commit; returns
    /// how many sessions ended.
    pub async fn change_password(&self, account_id: i64, password_hash: &str, keep: &str) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2").bind(password_hash).bind(account_id).execute(&mut *tx).await?;
        let ended = sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2")
            .bind(account_id)
            .bind(keep)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(ended)
    }
}
