//! Per-account API tokens. The token itself is shown once; only its SHA-256
//! is stored.

use crate::sealed::Secret;
use crate::{now_ms, Result, Store};

/// How long a new token waits to be shown.
const REVEAL_FOR_MS: i64 = 10 * 60 * 1000;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl Store {
    /// Stores a new token by its hash, and the token itself sealed until it is
    /// shown once (`take_api_token_reveal`) or `REVEAL_FOR_MS` pass.
    pub async fn create_api_token(&self, account_id: i64, name: &str, token_hash: &str, token: &Secret) -> Result<i64> {
        let sealed = self.sealer()?.seal(token);
        let now = now_ms();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO api_tokens (account_id, name, token_hash, created_at, reveal_sealed, reveal_until) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(account_id)
        .bind(name)
        .bind(token_hash)
        .bind(now)
        .bind(sealed)
        .bind(now + REVEAL_FOR_MS)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// The new token of this account, once: it is cleared as it is read, and
    /// `None` once shown, expired, or not this account's.
    pub async fn take_api_token_reveal(&self, account_id: i64, token_id: i64) -> Result<Option<Secret>> {
        let mut tx = self.write_tx().await?;
        let sealed: Option<(String,)> = sqlx::query_as(
            "SELECT reveal_sealed FROM api_tokens WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL AND reveal_sealed IS NOT NULL AND reveal_until > $3",
        )
        .bind(token_id)
        .bind(account_id)
        .bind(now_ms())
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query("UPDATE api_tokens SET reveal_sealed = NULL, reveal_until = NULL WHERE id = $1 AND account_id = $2")
            .bind(token_id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        match sealed {
            Some((s,)) => Ok(Some(self.sealer()?.open(&s).map_err(|_| crate::StoreError::Corrupt("a sealed API token did not open with this key".into()))?)),
            None => Ok(None),
        }
    }

    /// Clears the new tokens nobody came back to see.
    pub async fn sweep_api_token_reveals(&self) -> Result<u64> {
        Ok(sqlx::query("UPDATE api_tokens SET reveal_sealed = NULL, reveal_until = NULL WHERE reveal_until <= $1")
            .bind(now_ms())
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    pub async fn api_tokens(&self, account_id: i64) -> Result<Vec<ApiToken>> {
        Ok(sqlx::query_as::<_, ApiToken>(
            "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens WHERE account_id = $1 ORDER BY id DESC",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The account a live (not revoked) token belongs to; marks it used.
    pub async fn account_for_api_token(&self, token_hash: &str) -> Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL RETURNING account_id",
        )
        .bind(now_ms())
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.0))
    }

    pub async fn revoke_api_token(&self, account_id: i64, token_id: i64) -> Result<bool> {
        let r = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(token_id)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }
}
