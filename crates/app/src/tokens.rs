//! API tokens for the JSON API: made, listed and revoked by their account.
//! The caller mints the token and shows it once; only its hash is stored.

use crate::{App, AppError};

pub use store::tokens::ApiToken;

impl App {
    pub async fn api_tokens(&self, account_id: i64) -> Result<Vec<ApiToken>, AppError> {
        Ok(self.store.api_tokens(account_id).await?)
    }

    /// Stores a new token's hash under a name that says what it is for.
    pub async fn create_api_token(&self, account_id: i64, name: &str, token_hash: &str) -> Result<(), AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::Invalid("Name the token (at most 100 characters).".into()));
        }
        self.store.create_api_token(account_id, name, token_hash).await?;
        tracing::info!(account = account_id, "API token created");
        Ok(())
    }

    /// Revokes one of the account's tokens; `NotFound` for anyone else's.
    pub async fn revoke_api_token(&self, account_id: i64, token_id: i64) -> Result<(), AppError> {
        if self.store.revoke_api_token(account_id, token_id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// The account a live token with this hash acts for.
    pub async fn account_for_api_token(&self, token_hash: &str) -> Result<Option<i64>, AppError> {
        Ok(self.store.account_for_api_token(token_hash).await?)
    }
}
