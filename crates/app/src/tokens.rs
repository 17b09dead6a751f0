//! API tokens for the JSON API: made, listed and revoked by their account.
//! A new token is shown once; only its hash is stored.

use crate::accounts::{bearer_token, token_hash};
use crate::{App, AppError};

/// API tokens start with this, so a leaked one is easy to recognise.
pub const TOKEN_PREFIX: &str = "ins_";

pub use store::tokens::ApiToken;

impl App {
    pub async fn api_tokens(&self, account_id: i64) -> Result<Vec<ApiToken>, AppError> {
        Ok(self.store.api_tokens(account_id).await?)
    }

    /// Makes a token under a name that says what it is for; returns its id,
    /// under which `reveal_api_token` shows it once.
    pub async fn create_api_token(&self, account_id: i64, name: &str) -> Result<i64, AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::Invalid("Name the token (at most 100 characters).".into()));
        }
        let token = format!("{TOKEN_PREFIX}{}", bearer_token());
        let id = self.store.create_api_token(account_id, name, &token_hash(&token), &store::sealed::Secret::new(token)).await?;
        tracing::info!(account = account_id, "API token created");
        Ok(id)
    }

    /// The account's new token, the one time it is shown (the page a creation
    /// redirects to, so a reload creates nothing); `None` after that.
    pub async fn reveal_api_token(&self, account_id: i64, token_id: i64) -> Result<Option<String>, AppError> {
        Ok(self.store.take_api_token_reveal(account_id, token_id).await?.map(|t| t.expose().to_string()))
    }

    /// Revokes one of the account's tokens; `NotFound` for anyone else's.
    pub async fn revoke_api_token(&self, account_id: i64, token_id: i64) -> Result<(), AppError> {
        if self.store.revoke_api_token(account_id, token_id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// The account a live token acts for; `None` for anything else.
    pub async fn account_for_api_token(&self, token: &str) -> Result<Option<i64>, AppError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        Ok(self.store.account_for_api_token(&token_hash(token)).await?)
    }
}
