//! Accounts and their sign-in sessions: sign up, the stored password a
//! sign-in is checked against, sessions, sign out. Passwords are hashed and
//! checked by the caller (the web server queues that work); only hashes and
//! token hashes reach here.

use crate::{App, AppError};
use domain::{DisplayName, Email};

pub use store::accounts::{Account, Credentials};
pub use store::sessions::Session;

impl App {
    /// Creates the account, or `None` when the email has one already.
    pub async fn sign_up(&self, email: &Email, name: &DisplayName, password_hash: &str) -> Result<Option<Account>, AppError> {
        let account = self.store.create_account(email, name, password_hash).await?;
        if let Some(a) = &account {
            tracing::info!(account = a.id, "account created");
        }
        Ok(account)
    }

    /// The account with this email and its password hash, for a sign-in check.
    pub async fn credentials(&self, email: &Email) -> Result<Option<Credentials>, AppError> {
        Ok(self.store.credentials(email).await?)
    }

    pub async fn account_by_email(&self, email: &Email) -> Result<Option<Account>, AppError> {
        Ok(self.store.account_by_email(email).await?)
    }

    /// Starts a session: the database keeps the token's hash and the
    /// session's CSRF token.
    pub async fn start_session(&self, token_hash: &str, account_id: i64, csrf_token: &str, lifetime: std::time::Duration) -> Result<(), AppError> {
        Ok(self.store.create_session(token_hash, account_id, csrf_token, lifetime.as_millis() as i64).await?)
    }

    /// The live session whose token has this hash.
    pub async fn session(&self, token_hash: &str) -> Result<Option<Session>, AppError> {
        Ok(self.store.session(token_hash).await?)
    }

    /// Signs out: the session ends.
    pub async fn end_session(&self, token_hash: &str) -> Result<(), AppError> {
        Ok(self.store.delete_session(token_hash).await?)
    }
}
