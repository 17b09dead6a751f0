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
}
