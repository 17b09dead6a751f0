//! Server-side sign-in sessions. The browser holds a random token; the
//! database holds only its SHA-256, with the session's CSRF token.

use crate::accounts::Account;
use crate::columns::Column;
use crate::links::LinkStatus;
use crate::sealed::Secret;
use crate::{now_ms, Result, Store};

#[derive(Debug, Clone)]
pub struct Session {
    pub account: Account,
    pub csrf_token: String,
    /// The account's Salesforce link needs its owner to sign in again: every
    /// page shows a banner.
    pub link_needs_reauthentication: bool,
    /// The page a note waits for (`take_session_note`), if any: only that
    /// page looks the note up.
    pub note_path: Option<String>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: i64,
    email: String,
    name: String,
    created_at: i64,
    csrf_token: String,
    link_status: Option<String>,
    note_path: Option<String>,
}

impl Store {
    pub async fn create_session(&self, token_hash: &str, account_id: i64, csrf_token: &str, lifetime_ms: i64) -> Result<()> {
        let now = now_ms();
        sqlx::query("INSERT INTO sessions (token_hash, account_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash)
            .bind(account_id)
            .bind(csrf_token)
            .bind(now)
            .bind(now + lifetime_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The live session with this token hash, if any.
    pub async fn session(&self, token_hash: &str) -> Result<Option<Session>> {
        let row = sqlx::query_as::<_, SessionRow>(
            "SELECT a.id, a.email, a.name, a.created_at, s.csrf_token, l.status AS link_status, s.note_path
             FROM sessions s JOIN accounts a ON a.id = s.account_id
             LEFT JOIN salesforce_links l ON l.account_id = a.id
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let link_status = r.link_status.as_deref().map(|s| LinkStatus::from_column("salesforce_links", "status", s)).transpose()?;
        Ok(Some(Session {
            account: Account { id: r.id, email: r.email, name: r.name, created_at: r.created_at },
            csrf_token: r.csrf_token,
            link_needs_reauthentication: link_status == Some(LinkStatus::NeedsReauthentication),
            note_path: r.note_path,
        }))
    }

    /// Leaves a note for the session's next visit to `path`, sealed; it
    /// replaces any note not yet shown.
    pub async fn set_session_note(&self, token_hash: &str, path: &str, note: &Secret) -> Result<()> {
        let sealed = self.sealer()?.seal(note);
        sqlx::query("UPDATE sessions SET note_path = $1, note_sealed = $2 WHERE token_hash = $3")
            .bind(path)
            .bind(sealed)
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The session's note for `path`, once: it is cleared as it is read;
    /// `None` when the note waits for another page or there is none.
    pub async fn take_session_note(&self, token_hash: &str, path: &str) -> Result<Option<Secret>> {
        // RETURNING gives the row as updated (the note already cleared), so
        // read it first, in the same write transaction.
        let mut tx = self.write_tx().await?;
        let sealed: Option<(Option<String>,)> = sqlx::query_as("SELECT note_sealed FROM sessions WHERE token_hash = $1 AND note_path = $2")
            .bind(token_hash)
            .bind(path)
            .fetch_optional(&mut *tx)
            .await?;
        if sealed.is_some() {
            sqlx::query("UPDATE sessions SET note_path = NULL, note_sealed = NULL WHERE token_hash = $1")
                .bind(token_hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        match sealed.and_then(|(s,)| s) {
            Some(s) => Ok(Some(self.sealer()?.open(&s).map_err(|_| crate::StoreError::Corrupt("a session note did not open with this key".into()))?)),
            None => Ok(None),
        }
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    /// Ends every session of the account but the one whose token hash is
    /// `keep`; returns how many ended.
    pub async fn delete_other_sessions(&self, account_id: i64, keep: &str) -> Result<u64> {
        let r = sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2").bind(account_id).bind(keep).execute(&self.pool).await?;
        Ok(r.rows_affected())
    }

    /// How many live sessions the account has (this browser's among them).
    pub async fn live_session_count(&self, account_id: i64) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions WHERE account_id = $1 AND expires_at > $2")
            .bind(account_id)
            .bind(now_ms())
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    pub async fn delete_expired_sessions(&self) -> Result<u64> {
        let r = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now_ms()).execute(&self.pool).await?;
        Ok(r.rows_affected())
    }
}

impl Store {
    /// Removes what has outlived its use: expired sign-in sessions, finished
    /// or abandoned Salesforce sign-ins, and switches never confirmed.
    pub async fn sweep(&self, sign_in_max_age_ms: i64, switch_max_age_ms: i64) -> Result<u64> {
        let now = now_ms();
        let mut removed = self.delete_expired_sessions().await?;
        removed += sqlx::query("DELETE FROM oauth_flows WHERE created_at < $1").bind(now - sign_in_max_age_ms).execute(&self.pool).await?.rows_affected();
        removed += sqlx::query("DELETE FROM pending_links WHERE created_at < $1").bind(now - switch_max_age_ms).execute(&self.pool).await?.rows_affected();
        removed += self.sweep_api_calls().await?;
        removed += self.sweep_api_token_reveals().await?;
        Ok(removed)
    }
}
