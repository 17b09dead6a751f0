//! Linking an account to a Salesforce org: starting the sign-in, finishing it
//! on the callback, switching to another org, testing the connection, and
//! unlinking; and the account's Salesforce page. A failed sign-in never
//! touches the link already in place.

use crate::SalesforceSettings;
use domain::{Environment, LinkEventKind};
use salesforce::{OAuthErrorCode, PkceVerifier, SalesforceError};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use store::links::{NewLink, OAuthFlow};
use store::sealed::Secret;
use store::{now_ms, Store, StoreError};

/// A sign-in must come back within this long (Salesforce's authorization
/// codes live 15 minutes; the page should not wait longer than that).
pub const SIGN_IN_MAX_AGE_MS: i64 = 15 * 60 * 1000;

/// Every way linking can fail, in words for the person linking.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("This Insight server has no Salesforce connected app configured. Ask your administrator to set INSIGHT_SALESFORCE_CLIENT_ID and INSIGHT_SALESFORCE_CLIENT_SECRET.")]
    NotConfigured,
    #[error("\"{input}\" is not a My Domain URL: {reason}. Enter your My Domain URL as shown in Salesforce Setup → My Domain, like https://acme.my.salesforce.com, or leave the field empty.")]
    BadMyDomain { input: String, reason: salesforce::MyDomainError },
    #[error("Nothing was linked: {0}. Sign in again with the Sandbox Environment box, or with your My Domain URL as shown in Salesforce Setup → My Domain.")]
    UntrustedHost(String),
    #[error("Salesforce's answer did not carry the sign-in's state, so it cannot be trusted. Start the sign-in again from Setup Link to Salesforce Account.")]
    StateMissing,
    #[error("This sign-in was already completed, has expired (after 15 minutes), or was not started here. Start the sign-in again from Setup Link to Salesforce Account.")]
    StateUnknown,
    #[error("This sign-in was started in another browser session. Start it again in this browser.")]
    StateFromAnotherSession,
    #[error("You declined to give Insight access in Salesforce, so nothing was linked. To link, sign in again and choose Allow.")]
    Denied,
    #[error("Salesforce refused the sign-in code ({0}): it expired or was already used. Sign in again.")]
    CodeRejected(String),
    #[error("Salesforce could not be reached at {0}. Check the address (and the Sandbox Environment box), then try again.")]
    Unreachable(String),
    #[error("Salesforce answered with an error: {0}")]
    Salesforce(String),
    #[error("This account is not linked to Salesforce.")]
    NotLinked,
    #[error("There is no switch waiting for confirmation (it may have expired after 30 minutes). Sign in again to switch orgs.")]
    NoPendingSwitch,
    #[error("Salesforce no longer accepts this link's sign-in (the refresh token was revoked or expired). Sign in to Salesforce again from Setup Link to Salesforce Account; paused work resumes then.")]
    NeedsReauthentication,
    #[error("Insight could not save the link: {0}")]
    Store(#[from] StoreError),
}

impl LinkError {
    fn from_salesforce(e: SalesforceError, login_url: &str) -> LinkError {
        match e {
            SalesforceError::Unreachable(_) => LinkError::Unreachable(login_url.to_string()),
            SalesforceError::RefreshTokenRevoked { .. } => LinkError::NeedsReauthentication,
            e @ SalesforceError::UntrustedHost { .. } => LinkError::UntrustedHost(e.to_string()),
            other => LinkError::Salesforce(other.to_string()),
        }
    }
}

fn bounded(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

fn state_hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// Starts a sign-in: remembers its state (bound to this browser session) and
/// PKCE verifier, and returns the Salesforce authorize URL to send the
/// browser to.
#[allow(clippy::too_many_arguments)]
pub async fn start_sign_in(
    store: &Store,
    settings: &SalesforceSettings,
    account_id: i64,
    session_hash: &str,
    environment: Environment,
    my_domain: Option<&salesforce::MyDomain>,
    return_to: &str,
) -> Result<String, LinkError> {
    let login_url = settings.login_url(environment, my_domain);
    let request = salesforce::oauth::authorization_request(&settings.app, &login_url).map_err(|e| LinkError::Salesforce(e.to_string()))?;
    let flow = OAuthFlow {
        session_hash: session_hash.to_string(),
        account_id,
        pkce_verifier: Secret::new(request.pkce_verifier.expose()),
        login_url: login_url.to_string(),
        requested_environment: environment,
        return_to: return_to.to_string(),
        created_at: now_ms(),
    };
    store.create_oauth_flow(&state_hash(&request.state), &flow).await?;
    tracing::info!(account = account_id, environment = environment.as_str(), "Salesforce sign-in started");
    Ok(request.url.to_string())
}

/// What Salesforce sends back to the callback URL.
#[derive(Debug, Deserialize, Default)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

#[derive(Debug)]
pub enum Finished {
    Linked {
        return_to: String,
        /// The Sandbox Environment box said one thing, the org another.
        environment_mismatch: bool,
    },
    /// The sign-in was to a different org than the current link's: nothing
    /// changes until the person has seen what the switch affects and
    /// confirmed it.
    SwitchNeedsConfirmation,
}

/// How long a sign-in to another org waits for the switch to be confirmed.
pub const SWITCH_MAX_AGE_MS: i64 = 30 * 60 * 1000;

/// Finishes a sign-in: checks the state, exchanges the code (with the PKCE
/// verifier), asks Salesforce who signed in to which org, and stores the link.
pub async fn finish_sign_in(
    store: &Store,
    settings: &SalesforceSettings,
    account_id: i64,
    session_hash: &str,
    params: CallbackParams,
) -> Result<Finished, LinkError> {
    let state = params.state.as_deref().filter(|s| !s.is_empty()).ok_or(LinkError::StateMissing)?;
    let flow = store.take_oauth_flow(&state_hash(state), SIGN_IN_MAX_AGE_MS).await?.ok_or(LinkError::StateUnknown)?;
    if flow.session_hash != session_hash || flow.account_id != account_id {
        return Err(LinkError::StateFromAnotherSession);
    }
    if let Some(error) = params.error.as_deref() {
        return Err(match error {
            "access_denied" => LinkError::Denied,
            // Salesforce's error and description only, bounded: the query string is anyone's to write.
            other => LinkError::Salesforce(format!(
                "{}: {}",
                bounded(other, 60),
                bounded(params.error_description.as_deref().unwrap_or(""), salesforce::error::MAX_MESSAGE_CHARS)
            )),
        });
    }
    let code = params.code.as_deref().filter(|c| !c.is_empty()).ok_or_else(|| LinkError::Salesforce("the answer carried no authorization code".into()))?;
    let login_url = url::Url::parse(&flow.login_url).map_err(|e| LinkError::Salesforce(e.to_string()))?;
    let verifier = PkceVerifier::new(flow.pkce_verifier.expose());
    let tokens = salesforce::oauth::exchange_code(&settings.http, &settings.app, &login_url, code, &verifier).await.map_err(|e| match e {
        SalesforceError::OAuth { error: OAuthErrorCode::InvalidGrant, description, .. } => LinkError::CodeRejected(description),
        other => LinkError::from_salesforce(other, &flow.login_url),
    })?;
    let refresh_token = tokens.refresh_token.clone().ok_or_else(|| {
        LinkError::Salesforce("Salesforce returned no refresh token: the connected app must allow the refresh_token scope".into())
    })?;
    let identity = salesforce::oauth::identity(&settings.http, &tokens.id, &tokens.access_token)
        .await
        .map_err(|e| LinkError::from_salesforce(e, &flow.login_url))?;
    let org = org_facts(store, settings, &tokens).await.map_err(|e| LinkError::from_salesforce(e, tokens.instance_url.as_str()))?;

    let environment = Environment::from_is_sandbox(org.is_sandbox);
    let previous = store.link(account_id).await?;
    let kind = if previous.is_some() { LinkEventKind::Relinked } else { LinkEventKind::Linked };
    let detail = format!(
        "{} org {} ({}) as {}{}",
        environment.as_str(),
        org.name,
        identity.organization_id,
        identity.username,
        if environment != flow.requested_environment { format!("; the Sandbox Environment box said {}", flow.requested_environment.as_str()) } else { String::new() }
    );
    let link = NewLink {
        account_id,
        environment,
        requested_environment: flow.requested_environment,
        login_url: flow.login_url.clone(),
        org_id: identity.organization_id.to_string(),
        org_name: org.name.clone(),
        instance_url: tokens.instance_url.to_string(),
        sf_user_id: identity.user_id.to_string(),
        sf_username: identity.username.clone(),
        sf_display_name: identity.display_name.clone(),
        identity_url: tokens.id.url.to_string(),
        refresh_token: Secret::new(refresh_token.expose()),
        access_token: Secret::new(tokens.access_token.expose()),
        linked_by: account_id,
        api_used: org.api_usage.map(|u| u.0),
        api_max: org.api_usage.map(|u| u.1),
    };
    if previous.as_ref().is_some_and(|p| p.org_id != link.org_id) {
        store.save_pending_switch(&link, &flow.return_to).await?;
        tracing::info!(account = account_id, org = %identity.organization_id, "sign-in to another org awaits confirmation");
        return Ok(Finished::SwitchNeedsConfirmation);
    }
    replace_link(store, settings, &link, kind, &detail).await?;
    tracing::info!(account = account_id, org = %identity.organization_id, environment = environment.as_str(), "Salesforce linked");
    Ok(Finished::Linked { return_to: flow.return_to, environment_mismatch: environment != flow.requested_environment })
}

/// Stores the new link and revokes the refresh token it replaces, so the old
/// one does not outlive its link (best effort: the new link stands either way).
/// Work held while the account had no working link to the surveys' org can
/// go now: a new sign-in, or a switch back to the org they were validated on.
async fn replace_link(store: &Store, settings: &SalesforceSettings, link: &NewLink, kind: LinkEventKind, detail: &str) -> Result<(), LinkError> {
    let old_tokens = store.link_tokens(link.account_id).await?;
    store.save_link(link, kind, detail).await?;
    settings.sessions.forget(link.account_id);
    if let Err(e) = crate::integration::release_deliverable(store, link.account_id).await {
        tracing::warn!(account = link.account_id, error = %e, "could not release held deliveries");
    }
    if let Some(old) = old_tokens {
        if old.refresh_token.expose() != link.refresh_token.expose() {
            revoke_quietly(settings, &old.login_url, old.refresh_token.expose(), link.account_id).await;
        }
    }
    Ok(())
}

async fn revoke_quietly(settings: &SalesforceSettings, login_url: &str, token: &str, account_id: i64) {
    let outcome = match url::Url::parse(login_url) {
        Ok(login) => salesforce::oauth::revoke(&settings.http, &login, token).await,
        Err(e) => Err(SalesforceError::InvalidRequest(e.to_string())),
    };
    if let Err(e) = outcome {
        tracing::warn!(account = account_id, error = %e, "could not revoke a refresh token that is no longer used");
    }
}

/// What switching to the org of the pending sign-in would change.
#[derive(Debug, Clone)]
pub struct SwitchPreview {
    pub current: store::links::Link,
    /// The org the pending sign-in went to, and who signed in when.
    pub to: SwitchTarget,
    /// The sign-in itself, tokens included: never shown.
    pub(crate) pending: store::links::PendingSwitch,
    /// The projects the account owns: each works through this link, so each
    /// is re-pointed at the new org.
    pub owned_projects: Vec<store::projects::Project>,
    /// Those of them whose surveys map responses into Salesforce: each will
    /// be paused until its transition re-validates it against the new org.
    pub integrated: Vec<store::integrations::OwnedIntegration>,
}

/// The org a pending switch would link to.
#[derive(Debug, Clone)]
pub struct SwitchTarget {
    pub environment: Environment,
    pub org_id: String,
    pub org_name: String,
    pub sf_username: String,
    pub signed_in_at: i64,
}

pub async fn switch_preview(store: &Store, account_id: i64) -> Result<Option<SwitchPreview>, LinkError> {
    let Some(pending) = store.pending_switch(account_id, SWITCH_MAX_AGE_MS).await? else { return Ok(None) };
    let Some(current) = store.link(account_id).await? else { return Ok(None) };
    let owned_projects = store.projects_of(account_id).await?.into_iter().filter(|p| p.owner_id == account_id).collect();
    // The surveys the switch pins: the one decision, asked with the org the
    // link would point at after the switch. A survey whose mappings do not
    // fit yet is listed too: it is checked against the new org from then on.
    let after = domain::LinkFacts {
        org_id: pending.link.org_id.clone(),
        org_name: pending.link.org_name.clone(),
        environment: pending.link.environment,
        needs_reauthentication: false,
    };
    let integrated = crate::integration::owned_work_with(store, account_id, Some(after))
        .await?
        .into_iter()
        .filter(|(_, work)| work.is_pinned() || matches!(work, domain::SalesforceWork::MappingsDoNotFitYet { .. }))
        .map(|(owned, _)| owned)
        .collect();
    let to = SwitchTarget {
        environment: pending.link.environment,
        org_id: pending.link.org_id.clone(),
        org_name: pending.link.org_name.clone(),
        sf_username: pending.link.sf_username.clone(),
        signed_in_at: pending.created_at,
    };
    Ok(Some(SwitchPreview { current, to, pending, owned_projects, integrated }))
}

/// Confirms the switch: the pending sign-in becomes the account's link.
pub async fn confirm_switch(store: &Store, settings: &SalesforceSettings, account_id: i64) -> Result<String, LinkError> {
    let preview = switch_preview(store, account_id).await?.ok_or(LinkError::NoPendingSwitch)?;
    let (from, to) = (&preview.current, &preview.pending.link);
    let detail = format!(
        "switched from {} org {} ({}) to {} org {} ({}) as {}",
        from.environment().as_str(), from.org_name, from.org_id, to.environment.as_str(), to.org_name, to.org_id, to.sf_username
    );
    replace_link(store, settings, to, LinkEventKind::Switched, &detail).await?;
    store.discard_pending_switch(account_id).await?;
    tracing::info!(account = account_id, from = %from.org_id, to = %to.org_id, "Salesforce link switched");
    Ok(preview.pending.return_to)
}

/// Cancels the switch: the current link stays exactly as it was, and the
/// token of the sign-in to the other org is revoked.
pub async fn cancel_switch(store: &Store, settings: &SalesforceSettings, account_id: i64) -> Result<(), LinkError> {
    let pending = store.pending_switch(account_id, i64::MAX / 2).await?.ok_or(LinkError::NoPendingSwitch)?;
    store.discard_pending_switch(account_id).await?;
    revoke_quietly(settings, &pending.link.login_url, pending.link.refresh_token.expose(), account_id).await;
    store
        .add_link_event(account_id, LinkEventKind::SwitchCancelled, &format!("kept the current link; did not switch to {} ({})", pending.link.org_name, pending.link.org_id), Some(account_id))
        .await?;
    Ok(())
}

/// What Insight reads of an org when linking or testing.
#[derive(Debug, Clone)]
pub struct OrgFacts {
    pub name: String,
    pub is_sandbox: bool,
    /// (used, max) daily API requests, when Salesforce said.
    pub api_usage: Option<(i64, i64)>,
}

async fn org_facts(store: &Store, settings: &SalesforceSettings, tokens: &salesforce::Tokens) -> Result<OrgFacts, SalesforceError> {
    // The tokens are seconds old: a bare access-token session, never refreshed.
    let session = salesforce::Session::with_access_token(settings.http.clone(), tokens.instance_url.clone(), tokens.access_token.clone());
    let facts = read_org(&salesforce::Client::new(session.clone(), salesforce::ApiVersion::DEFAULT)).await;
    // Its calls count in Insight's share like every other.
    if let Err(e) = crate::sessions::count_session_calls(store, &settings.metrics, tokens.org_id().as_str(), &session).await {
        tracing::warn!(error = %e, "the sign-in's API calls could not be counted");
    }
    facts
}

/// The org's name and kind (the truth about sandbox or production is
/// `Organization.IsSandbox`, not the login host) and the API usage.
async fn read_org(client: &salesforce::Client) -> Result<OrgFacts, SalesforceError> {
    let org = client.organization().await?;
    let usage = match client.limits().await {
        Ok(l) => Some((l.daily_api_requests.max.saturating_sub(l.daily_api_requests.remaining) as i64, l.daily_api_requests.max as i64)),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the org's limits");
            client.last_api_usage().map(|u| (u.used as i64, u.max as i64))
        }
    };
    Ok(OrgFacts { name: org.name, is_sandbox: org.is_sandbox, api_usage: usage })
}

/// The result of Test connection.
#[derive(Debug, Clone)]
pub struct ConnectionCheck {
    pub org_id: String,
    pub org_name: String,
    pub username: String,
    pub api_used: i64,
    pub api_max: i64,
}

/// Test connection: reads the org through the link's shared session (which
/// refreshes the access token when needed) and records the outcome.
pub async fn test_connection(store: &Store, settings: &SalesforceSettings, account_id: i64) -> Result<ConnectionCheck, LinkError> {
    let link = store.link(account_id).await?.ok_or(LinkError::NotLinked)?;
    let client = settings.sessions.client(store, settings, account_id).await.map_err(|e| match e {
        crate::sessions::SessionError::NotLinked => LinkError::NotLinked,
        crate::sessions::SessionError::NeedsReauthentication => LinkError::NeedsReauthentication,
        crate::sessions::SessionError::Store(e) => LinkError::Store(e),
        other => LinkError::Salesforce(other.to_string()),
    })?;
    match read_org(&client).await {
        Ok(org) => {
            let (used, max) = org.api_usage.unwrap_or((0, 0));
            if org.api_usage.is_some() {
                store.record_api_usage(account_id, used, max).await?;
            }
            store
                .add_link_event(account_id, LinkEventKind::TestOk, &format!("{} ({}): {used} of {max} daily API requests used", org.name, link.org_id), Some(account_id))
                .await?;
            Ok(ConnectionCheck { org_id: link.org_id, org_name: org.name, username: link.sf_username, api_used: used, api_max: max })
        }
        Err(e) => {
            let err = LinkError::from_salesforce(e, &link.instance_url);
            store.add_link_event(account_id, LinkEventKind::TestFailed, &err.to_string(), Some(account_id)).await?;
            Err(err)
        }
    }
}

/// Unlinks: revokes the refresh token at Salesforce, then forgets the link.
/// When Salesforce cannot be reached the link is forgotten anyway, and the
/// audit log says the token could not be revoked.
pub async fn unlink(store: &Store, settings: &SalesforceSettings, account_id: i64, actor_id: i64) -> Result<(), LinkError> {
    let tokens = store.link_tokens(account_id).await?.ok_or(LinkError::NotLinked)?;
    let link = store.link(account_id).await?.ok_or(LinkError::NotLinked)?;
    let revoked = match url::Url::parse(&tokens.login_url) {
        Ok(login) => salesforce::oauth::revoke(&settings.http, &login, tokens.refresh_token.expose()).await,
        Err(e) => Err(SalesforceError::InvalidRequest(e.to_string())),
    };
    let detail = match &revoked {
        Ok(()) => format!("{} ({}); token revoked at Salesforce", link.org_name, link.org_id),
        Err(e) => format!(
            "{} ({}); the token could not be revoked at Salesforce ({e}): revoke it under Setup → Connected Apps OAuth Usage",
            link.org_name, link.org_id
        ),
    };
    store.delete_link(account_id, actor_id, &detail).await?;
    settings.sessions.forget(account_id);
    Ok(())
}

pub use store::history::HistoryEntry;
pub use store::integrations::OwnedIntegration;
pub use store::links::{Link, LinkEvent};

/// The account's Salesforce page: its link, the surveys it owns that are
/// paused until their transition, the link's audit log, and the changes
/// collaborators made to what its projects write.
#[derive(Debug, Clone)]
pub struct SalesforceAccount {
    pub link: Option<Link>,
    pub paused: Vec<OwnedIntegration>,
    pub events: Vec<LinkEvent>,
    pub collaborator_changes: Vec<HistoryEntry>,
    /// The linked org's API budget as Insight keeps to it.
    pub budget: Option<ApiBudget>,
}

/// An org's daily API budget: the org's limit and use as Salesforce last
/// reported them, Insight's share and what it used of it over 24 hours,
/// and the deliveries waiting for budget, with why and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiBudget {
    pub share_percent: u8,
    /// The calls Insight may make in 24 hours (once the limit is known).
    pub share: Option<i64>,
    pub insight_used: i64,
    pub waiting: i64,
    /// Why the org's deliveries wait, and when Insight looks again (unless
    /// that time has come and the worker is about to).
    pub pause: Option<(Option<i64>, String)>,
}

impl crate::App {
    /// The account's link, if any.
    pub async fn link(&self, account_id: i64) -> Result<Option<Link>, crate::AppError> {
        Ok(self.store.link(account_id).await?)
    }

    pub async fn salesforce_account(&self, account_id: i64) -> Result<SalesforceAccount, crate::AppError> {
        let link = self.store.link(account_id).await?;
        let paused = crate::integration::paused_surveys(&self.store, account_id).await?;
        let events = self.store.link_events(account_id, 50).await?;
        let collaborator_changes = crate::consent::collaborator_changes(&self.store, account_id).await?;
        let budget = match (&link, &self.salesforce) {
            (Some(l), Some(settings)) => {
                let policy = settings.budget.policy;
                let now = store::now_ms();
                let pause = self.store.api_pause(&l.org_id).await?.map(|p| (Some(p.until_ms).filter(|u| *u > now), p.reason));
                Some(ApiBudget {
                    share_percent: policy.share_percent(),
                    share: l.api_max.map(|max| policy.share_of(max)),
                    insight_used: self.store.api_calls_last_day(&l.org_id).await?,
                    waiting: self.store.waiting_for_budget(account_id).await?,
                    pause,
                })
            }
            _ => None,
        };
        Ok(SalesforceAccount { link, paused, events, collaborator_changes, budget })
    }

    /// Starts a sign-in (see `start_sign_in`). `my_domain` is the My Domain
    /// field as typed: only a Salesforce My Domain (or a configured stand-in)
    /// is ever contacted, since the code exchange sends it the connected
    /// app's secret.
    /// The sign-in is bound to the browser session holding `session_token`.
    pub async fn start_sign_in(&self, account_id: i64, session_token: &str, environment: Environment, my_domain: &str, return_to: &str) -> Result<String, LinkError> {
        let settings = self.settings()?;
        let my_domain = settings.parse_my_domain(my_domain)?;
        let session_hash = crate::accounts::token_hash(session_token);
        start_sign_in(&self.store, settings, account_id, &session_hash, environment, my_domain.as_ref(), return_to).await
    }

    /// Finishes it, in the browser session that started it.
    pub async fn finish_sign_in(&self, account_id: i64, session_token: &str, params: CallbackParams) -> Result<Finished, LinkError> {
        finish_sign_in(&self.store, self.settings()?, account_id, &crate::accounts::token_hash(session_token), params).await
    }

    pub async fn switch_preview(&self, account_id: i64) -> Result<Option<SwitchPreview>, crate::AppError> {
        Ok(switch_preview(&self.store, account_id).await?)
    }

    /// Confirms the pending switch; returns where the sign-in started.
    pub async fn confirm_switch(&self, account_id: i64) -> Result<String, crate::AppError> {
        Ok(confirm_switch(&self.store, self.settings()?, account_id).await?)
    }

    pub async fn cancel_switch(&self, account_id: i64) -> Result<(), crate::AppError> {
        Ok(cancel_switch(&self.store, self.settings()?, account_id).await?)
    }

    pub async fn test_connection(&self, account_id: i64) -> Result<ConnectionCheck, LinkError> {
        test_connection(&self.store, self.settings()?, account_id).await
    }

    /// The account unlinks itself.
    pub async fn unlink(&self, account_id: i64) -> Result<(), crate::AppError> {
        Ok(unlink(&self.store, self.settings()?, account_id, account_id).await?)
    }
}
