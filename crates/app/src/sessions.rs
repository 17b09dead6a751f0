//! One Salesforce session per link, shared by every request and worker that
//! works with it, so that when its access token expires exactly one refresh
//! goes to Salesforce (the session coalesces concurrent refreshes). Refreshed
//! tokens are written back to the store, sealed; a revoked refresh token
//! marks the link as needing re-authentication, which pauses its work.

use crate::SalesforceSettings;
use salesforce::session::BoxFuture;
use salesforce::{AccessToken, ApiVersion, Client, IdentityUrl, RefreshToken, SalesforceError, Session, SessionObserver, Tokens};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use store::sealed::Secret;
use store::Store;

/// The live sessions, by account. A relink or unlink changes the link's
/// `linked_at`, which makes the cached session stale.
#[derive(Default)]
pub struct LinkSessions {
    by_account: Mutex<HashMap<i64, (i64, Arc<Session>)>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("This account is not linked to Salesforce.")]
    NotLinked,
    #[error("The Salesforce link needs its owner to sign in to Salesforce again.")]
    NeedsReauthentication,
    #[error("the stored link is unreadable: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

impl LinkSessions {
    /// A REST client working with the account's link.
    pub async fn client(&self, store: &Store, settings: &SalesforceSettings, account_id: i64) -> Result<Client, SessionError> {
        let link = store.link(account_id).await?.ok_or(SessionError::NotLinked)?;
        if link.needs_reauthentication() {
            return Err(SessionError::NeedsReauthentication);
        }
        if let Some((linked_at, session)) = self.by_account.lock().expect("sessions lock").get(&account_id) {
            if *linked_at == link.linked_at {
                return Ok(Client::new(session.clone(), ApiVersion::DEFAULT));
            }
        }
        let stored = store.link_tokens(account_id).await?.ok_or(SessionError::NotLinked)?;
        let corrupt = |e: String| SessionError::Corrupt(e);
        let tokens = Tokens {
            access_token: AccessToken::new(stored.access_token.as_ref().map(|s| s.expose()).unwrap_or("")),
            refresh_token: Some(RefreshToken::new(stored.refresh_token.expose())),
            instance_url: url::Url::parse(&stored.instance_url).map_err(|e| corrupt(e.to_string()))?,
            id: IdentityUrl::parse(&link.identity_url).map_err(|e| corrupt(e.to_string()))?,
            issued_at: 0,
            scope: None,
            token_type: "Bearer".into(),
        };
        let login = url::Url::parse(&stored.login_url).map_err(|e| corrupt(e.to_string()))?;
        // The callback URL is `{Insight}/salesforce/callback`.
        let public_url = settings.app.redirect_uri.as_str().trim_end_matches("/salesforce/callback").to_string();
        let observer = Arc::new(StoreObserver { store: store.clone(), account_id, linked_at: link.linked_at, public_url });
        let session = Session::new(settings.http.clone(), settings.app.clone(), login, tokens, observer);
        // Two requests may build a session at once; the first one kept wins,
        // so every later caller shares it.
        let mut map = self.by_account.lock().expect("sessions lock");
        let entry = map.entry(account_id).or_insert((link.linked_at, session.clone()));
        if entry.0 != link.linked_at {
            *entry = (link.linked_at, session);
        }
        Ok(Client::new(entry.1.clone(), ApiVersion::DEFAULT))
    }

    /// Drops the account's session (after unlink or relink).
    pub fn forget(&self, account_id: i64) {
        self.by_account.lock().expect("sessions lock").remove(&account_id);
    }

    /// Adds the calls every kept session sent since last counted (pages'
    /// describes, schema checks, the trigger worker's reads: everything
    /// besides deliveries, which count their own at once) to its org's
    /// count, so the API budget governor sees all of Insight's calls.
    pub async fn count_calls(&self, store: &Store, metrics: &crate::metrics::Metrics) -> store::Result<()> {
        let sessions: Vec<Arc<Session>> = self.by_account.lock().expect("sessions lock").values().map(|(_, s)| s.clone()).collect();
        for session in sessions {
            if let Some(org) = session.org_id() {
                count_session_calls(store, metrics, org.as_str(), &session).await?;
            }
        }
        Ok(())
    }
}

/// Adds the calls `session` sent since last counted to `org_id`'s count
/// (the governor's) and to `/metrics`.
pub(crate) async fn count_session_calls(store: &Store, metrics: &crate::metrics::Metrics, org_id: &str, session: &Session) -> store::Result<()> {
    let n = session.take_uncounted_calls();
    if let Err(e) = store.add_api_calls(org_id, n as i64).await {
        // Not lost: counted the next time.
        session.return_uncounted_calls(n);
        return Err(e);
    }
    metrics.api_calls(org_id, n);
    Ok(())
}

struct StoreObserver {
    store: Store,
    account_id: i64,
    /// Which link this is (its `linked_at`): one mail per link that fails.
    linked_at: i64,
    /// Insight's address, for the link in the mail.
    public_url: String,
}

impl StoreObserver {
    /// Tells the owner that their link needs a new sign-in, and where.
    fn reauthentication_mail(&self, owner: &store::accounts::Account) -> store::mail::NewMail {
        let url = format!("{}/salesforce", self.public_url.trim_end_matches('/'));
        let text = format!(
            "Hello {},\n\nSalesforce no longer accepts Insight's access to your org (the refresh token was revoked or expired). \
Your surveys' Salesforce work is paused until you sign in again: nothing is lost, responses wait.\n\n\
Sign in to Salesforce again here: {url}\n\n-- Insight\n",
            owner.name
        );
        store::mail::NewMail {
            dedupe_key: format!("reauth:{}:{}", self.account_id, self.linked_at),
            recipient: owner.email.clone(),
            subject: "Your Salesforce link needs a new sign-in".into(),
            text: Secret::new(text),
            html: None,
            not_before: None,
            from_name: None,
            unsubscribe_url: None,
        }
    }
}

impl SessionObserver for StoreObserver {
    fn tokens_refreshed<'a>(&'a self, tokens: &'a Tokens) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let access = Secret::new(tokens.access_token.expose());
            if let Err(e) = self.store.update_access_token(self.account_id, &access, Some(tokens.instance_url.as_str())).await {
                tracing::error!(account = self.account_id, error = %e, "could not keep a refreshed access token");
            }
        })
    }

    fn reauthorization_required<'a>(&'a self, error: &'a SalesforceError) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let reason = format!("Salesforce refused the refresh token: {error}");
            let mail = match self.store.account(self.account_id).await {
                Ok(Some(owner)) => Some(self.reauthentication_mail(&owner)),
                _ => None,
            };
            match self.store.mark_needs_reauthentication_and_tell(self.account_id, &reason, mail.as_ref()).await {
                Ok(_) => tracing::warn!(account = self.account_id, "Salesforce link needs re-authentication"),
                Err(e) => tracing::error!(account = self.account_id, error = %e, "could not mark the link as needing re-authentication"),
            }
        })
    }
}
