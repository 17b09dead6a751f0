//! The current access token of one link, refreshed at most once per expiry.
//!
//! When many calls find the token expired at the same moment, exactly one of
//! them asks Salesforce for a new token; the rest wait for it and go on with
//! the new one (single flight). A revoked refresh token is remembered, so no
//! further refresh is attempted until the user links again.

use crate::error::{OAuthErrorCode, SalesforceError};
use crate::oauth::{self, ConnectedApp, Tokens};
use crate::secret::AccessToken;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use url::Url;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How the owner of a session learns what happened to its tokens.
/// Both calls are awaited while other callers wait, so a rotated refresh token
/// is persisted before anyone uses the new access token.
pub trait SessionObserver: Send + Sync {
    /// A refresh succeeded: persist the merged tokens (new access token, possibly a rotated refresh token).
    fn tokens_refreshed<'a>(&'a self, tokens: &'a Tokens) -> BoxFuture<'a, ()> {
        let _ = tokens;
        Box::pin(async {})
    }
    /// The refresh token was revoked or expired: the link needs a new sign-in.
    fn reauthorization_required<'a>(&'a self, error: &'a SalesforceError) -> BoxFuture<'a, ()> {
        let _ = error;
        Box::pin(async {})
    }
}

/// An observer that does nothing.
pub struct IgnoreTokenEvents;
impl SessionObserver for IgnoreTokenEvents {}

/// API usage from the last `Sforce-Limit-Info: api-usage=N/MAX` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiUsage {
    pub used: u64,
    pub max: u64,
}

impl ApiUsage {
    pub fn remaining(&self) -> u64 {
        self.max.saturating_sub(self.used)
    }

    /// Parse the header value; other entries such as `per-app-api-usage=…` are ignored.
    pub fn parse_header(v: &str) -> Option<ApiUsage> {
        v.split(',').find_map(|part| {
            let (used, max) = part.trim().strip_prefix("api-usage=")?.split_once('/')?;
            Some(ApiUsage { used: used.trim().parse().ok()?, max: max.trim().parse().ok()? })
        })
    }
}

struct Refresher {
    app: ConnectedApp,
    login_base: Url,
}

struct Current {
    access_token: AccessToken,
    instance_url: Url,
    /// Full tokens when the session came from the OAuth flow (absent for a bare access token).
    tokens: Option<Tokens>,
    /// Set once the refresh token is known to be revoked.
    revoked: Option<String>,
}

/// The tokens of one link, shared by every call made with it.
pub struct Session {
    http: reqwest::Client,
    refresher: Option<Refresher>,
    current: RwLock<Current>,
    /// Held while a refresh is in flight; waiters re-check the token after acquiring it.
    refresh_gate: tokio::sync::Mutex<()>,
    observer: Arc<dyn SessionObserver>,
    /// The last usage report, and whether `take_api_usage` has taken it.
    api_usage: Mutex<(Option<ApiUsage>, bool)>,
    refreshes: AtomicU64,
    /// Refreshes that failed for a passing reason, and why the last one did: callers
    /// that were waiting while one failed share its outcome.
    failed_refreshes: AtomicU64,
    last_refresh_failure: Mutex<Option<String>>,
    /// REST calls sent with this session and not yet taken by
    /// `take_uncounted_calls`: whoever keeps the org's API budget counts them.
    uncounted_calls: AtomicU64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.current.read().expect("session lock");
        f.debug_struct("Session")
            .field("instance_url", &c.instance_url.as_str())
            .field("org_id", &c.tokens.as_ref().map(|t| t.org_id().as_str()))
            .field("refreshable", &self.refresher.is_some())
            .field("revoked", &c.revoked.is_some())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session that can refresh itself with the link's refresh token.
    pub fn new(http: reqwest::Client, app: ConnectedApp, login_base: Url, tokens: Tokens, observer: Arc<dyn SessionObserver>) -> Arc<Self> {
        Arc::new(Session {
            http,
            refresher: Some(Refresher { app, login_base }),
            current: RwLock::new(Current {
                access_token: tokens.access_token.clone(),
                instance_url: tokens.instance_url.clone(),
                tokens: Some(tokens),
                revoked: None,
            }),
            refresh_gate: tokio::sync::Mutex::new(()),
            observer,
            api_usage: Mutex::new((None, false)),
            refreshes: AtomicU64::new(0),
            failed_refreshes: AtomicU64::new(0),
            last_refresh_failure: Mutex::new(None),
            uncounted_calls: AtomicU64::new(0),
        })
    }

    /// A session for a bare access token (e.g. an outbound message's SessionId): no refresh.
    pub fn with_access_token(http: reqwest::Client, instance_url: Url, access_token: AccessToken) -> Arc<Self> {
        Arc::new(Session {
            http,
            refresher: None,
            current: RwLock::new(Current { access_token, instance_url, tokens: None, revoked: None }),
            refresh_gate: tokio::sync::Mutex::new(()),
            observer: Arc::new(IgnoreTokenEvents),
            api_usage: Mutex::new((None, false)),
            refreshes: AtomicU64::new(0),
            failed_refreshes: AtomicU64::new(0),
            last_refresh_failure: Mutex::new(None),
            uncounted_calls: AtomicU64::new(0),
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The access token and instance URL to use now.
    pub fn current(&self) -> (AccessToken, Url) {
        let c = self.current.read().expect("session lock");
        (c.access_token.clone(), c.instance_url.clone())
    }

    /// The full tokens as last merged (None for a bare-access-token session).
    pub fn tokens(&self) -> Option<Tokens> {
        self.current.read().expect("session lock").tokens.clone()
    }

    /// The org this session writes to (None for a bare-access-token session):
    /// check it against the org a survey was validated against before writing.
    pub fn org_id(&self) -> Option<crate::ids::OrgId> {
        self.current.read().expect("session lock").tokens.as_ref().map(|t| t.org_id().clone())
    }

    /// How many refresh calls this session has sent to Salesforce.
    pub fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// The REST calls sent with this session (by any of its clients) since
    /// the last time this was asked; each call is handed out once.
    pub fn take_uncounted_calls(&self) -> u64 {
        self.uncounted_calls.swap(0, Ordering::Relaxed)
    }

    /// Gives back calls taken but not recorded (the store was unreachable).
    pub fn return_uncounted_calls(&self, n: u64) {
        self.uncounted_calls.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn note_call(&self) {
        self.uncounted_calls.fetch_add(1, Ordering::Relaxed);
    }

    /// The API usage Salesforce reported on the last response that carried it.
    pub fn last_api_usage(&self) -> Option<ApiUsage> {
        self.api_usage.lock().expect("usage lock").0
    }

    /// The API usage reported since the last take, if any response carried
    /// it: what to record without ever writing back an older report over a
    /// newer one seen elsewhere (another session's, a `/limits` read).
    pub fn take_api_usage(&self) -> Option<ApiUsage> {
        let mut seen = self.api_usage.lock().expect("usage lock");
        let fresh = seen.0.filter(|_| !seen.1);
        seen.1 = true;
        fresh
    }

    pub(crate) fn record_api_usage(&self, u: ApiUsage) {
        *self.api_usage.lock().expect("usage lock") = (Some(u), false);
    }

    /// Unlink: revoke the refresh token at Salesforce (which also ends its access
    /// tokens), or the access token when there is no refresh token. Later calls fail.
    pub async fn revoke(&self) -> Result<(), SalesforceError> {
        let _gate = self.refresh_gate.lock().await;
        let token = {
            let c = self.current.read().expect("session lock");
            c.tokens.as_ref().and_then(|t| t.refresh_token.as_ref()).map(|r| r.expose().to_string())
                .unwrap_or_else(|| c.access_token.expose().to_string())
        };
        let Some(r) = &self.refresher else {
            return Err(SalesforceError::InvalidRequest("a bare-access-token session has no login host to revoke at".into()));
        };
        match oauth::revoke(&self.http, &r.login_base, &token).await {
            // Already invalid at Salesforce: the goal of unlinking is met.
            Ok(()) | Err(SalesforceError::OAuth { error: OAuthErrorCode::InvalidToken, .. }) => {}
            Err(e) => return Err(e),
        }
        self.current.write().expect("session lock").revoked = Some("revoked by Insight".into());
        Ok(())
    }

    /// Called after Salesforce rejected `stale`: returns a fresh token. If
    /// another caller already replaced `stale`, that token is returned without
    /// a call to Salesforce; otherwise this caller refreshes, once, for everyone.
    pub async fn refresh_after(&self, stale: &AccessToken) -> Result<(AccessToken, Url), SalesforceError> {
        let failures_before_waiting = self.failed_refreshes.load(Ordering::SeqCst);
        let _gate = self.refresh_gate.lock().await;
        let refresh_token = {
            let c = self.current.read().expect("session lock");
            if let Some(d) = &c.revoked {
                return Err(SalesforceError::RefreshTokenRevoked { description: d.clone() });
            }
            if &c.access_token != stale {
                return Ok((c.access_token.clone(), c.instance_url.clone()));
            }
            c.tokens.as_ref().and_then(|t| t.refresh_token.clone())
        };
        if self.failed_refreshes.load(Ordering::SeqCst) != failures_before_waiting {
            // A refresh failed while this caller waited (the token is still the stale one).
            // Share that outcome rather than send one more refresh per waiting caller.
            let reason = self.last_refresh_failure.lock().expect("failure lock").clone().unwrap_or_default();
            return Err(SalesforceError::RefreshFailed { reason });
        }
        let (Some(r), Some(refresh_token)) = (&self.refresher, refresh_token) else {
            return Err(SalesforceError::SessionExpired);
        };
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        tracing::info!(event = "salesforce_token_refresh", "refreshing Salesforce access token");
        let outcome = match oauth::refresh(&self.http, &r.app, &r.login_base, &refresh_token).await {
            Ok(refreshed) => {
                let mut c = self.current.write().expect("session lock");
                let mut merged = c.tokens.clone().expect("a refresh token comes with tokens");
                // Merged on a copy: a refresh naming a foreign instance or identity URL changes nothing.
                merged
                    .merge_refresh(refreshed)
                    .and_then(|()| r.app.trusted_hosts.check_token_hosts(&r.login_base, &merged.instance_url, &merged.id.url))
                    .map(|()| {
                        c.access_token = merged.access_token.clone();
                        c.instance_url = merged.instance_url.clone();
                        c.tokens = Some(merged.clone());
                        merged
                    })
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(merged) => {
                self.observer.tokens_refreshed(&merged).await;
                Ok((merged.access_token, merged.instance_url))
            }
            Err(SalesforceError::RefreshTokenRevoked { description }) => {
                self.current.write().expect("session lock").revoked = Some(description.clone());
                tracing::warn!(event = "salesforce_refresh_revoked", "Salesforce refresh token revoked; re-authorization required");
                let e = SalesforceError::RefreshTokenRevoked { description };
                self.observer.reauthorization_required(&e).await;
                Err(e)
            }
            Err(e) => {
                *self.last_refresh_failure.lock().expect("failure lock") = Some(e.to_string());
                self.failed_refreshes.fetch_add(1, Ordering::SeqCst);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_info_header_parses() {
        assert_eq!(ApiUsage::parse_header("api-usage=18/5000"), Some(ApiUsage { used: 18, max: 5000 }));
        assert_eq!(
            ApiUsage::parse_header("api-usage=25/15000, per-app-api-usage=17/250(appName=sample-connected-app)"),
            Some(ApiUsage { used: 25, max: 15000 })
        );
        assert_eq!(ApiUsage::parse_header("per-app-api-usage=17/250"), None);
        assert_eq!(ApiUsage::parse_header("api-usage=x/5"), None);
        assert_eq!(ApiUsage { used: 18, max: 5000 }.remaining(), 4982);
    }
}
