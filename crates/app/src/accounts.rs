//! Accounts and their sign-in sessions: sign up, the stored password a
//! sign-in is checked against, sessions, sign out. Passwords are hashed and
//! checked by the caller (the web server queues that work); only their
//! hashes reach here. A session is a bearer token minted here: the browser
//! holds it, the database only its hash.

use crate::{App, AppError};
use base64::Engine;
use domain::{DisplayName, Email};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub use store::accounts::{Account, Credentials};
pub use store::sessions::Session;

/// 32 random bytes, URL-safe base64: a bearer secret (session, CSRF, API).
pub fn bearer_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a bearer secret.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl App {
    /// Creates the account, or `None` when the email has one already, taking
    /// the address as confirmed: for seeding (the demo's logins, tests).
    /// People sign up through `begin_signup`, which confirms it by mail.
    pub async fn create_account_with_confirmed_address(&self, email: &Email, name: &DisplayName, password_hash: &str) -> Result<Option<Account>, AppError> {
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

    /// Starts a session and returns its token, for the browser to hold: the
    /// database keeps the token's hash and the session's CSRF token.
    pub async fn start_session(&self, account_id: i64, lifetime: std::time::Duration) -> Result<String, AppError> {
        let token = bearer_token();
        self.store.create_session(&token_hash(&token), account_id, &bearer_token(), lifetime.as_millis() as i64).await?;
        Ok(token)
    }

    /// The live session this token belongs to.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, AppError> {
        Ok(self.store.session(&token_hash(token)).await?)
    }

    /// Leaves the session a note (what an action did, perhaps a secret shown
    /// once) for its next visit to `path`, the page the action redirects to.
    pub async fn leave_session_note(&self, token: &str, path: &str, note: &str) -> Result<(), AppError> {
        Ok(self.store.set_session_note(&token_hash(token), path, &store::sealed::Secret::new(note)).await?)
    }

    /// The session's note for `path`, once.
    pub async fn take_session_note(&self, token: &str, path: &str) -> Result<Option<String>, AppError> {
        Ok(self.store.take_session_note(&token_hash(token), path).await?.map(|s| s.expose().to_string()))
    }

    /// The account's stored password hash, for checking its current password.
    pub async fn credentials_of(&self, account_id: i64) -> Result<Option<Credentials>, AppError> {
        Ok(self.store.credentials_of(account_id).await?)
    }

    /// Sets a new password (its hash; the caller checked the current one)
    /// and ends the account's other sessions, keeping the one holding
    /// `this_session`: whoever knew the old password is signed out.
    /// Returns how many sessions ended.
    pub async fn change_password(&self, account_id: i64, new_password_hash: &str, this_session: &str) -> Result<u64, AppError> {
        let ended = self.store.change_password(account_id, new_password_hash, &token_hash(this_session)).await?;
        tracing::info!(account = account_id, sessions_ended = ended, "password changed");
        Ok(ended)
    }

    /// Signs out everywhere but the session holding `this_session`.
    pub async fn end_other_sessions(&self, account_id: i64, this_session: &str) -> Result<u64, AppError> {
        let ended = self.store.delete_other_sessions(account_id, &token_hash(this_session)).await?;
        tracing::info!(account = account_id, sessions_ended = ended, "signed out everywhere else");
        Ok(ended)
    }

    /// How many live sessions the account has, this one included.
    pub async fn live_session_count(&self, account_id: i64) -> Result<i64, AppError> {
        Ok(self.store.live_session_count(account_id).await?)
    }

    /// Signs out: the session ends.
    pub async fn end_session(&self, token: &str) -> Result<(), AppError> {
        Ok(self.store.delete_session(&token_hash(token)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_hash_stably() {
        let (a, b) = (bearer_token(), bearer_token());
        assert_ne!(a, b);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}
