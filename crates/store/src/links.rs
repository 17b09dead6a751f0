//! Salesforce links, their audit log, and sign-ins under way. Tokens go in
//! and come out as `Secret`s; in the database they are sealed.

use crate::columns::Column;
use crate::sealed::{KeyError, Secret, Sealer};
use crate::{now_ms, Result, Store, StoreError};
use domain::{Environment, LinkEventKind};

/// Whether a link's tokens still work: storage's own word for what
/// `Link::needs_reauthentication` tells the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    Active,
    /// The refresh token was revoked or expired: its owner must sign in again.
    NeedsReauthentication,
}

/// A link as pages show it: everything but the tokens.
#[derive(Debug, Clone)]
pub struct Link {
    pub account_id: i64,
    pub environment: Environment,
    pub requested_environment: Environment,
    pub login_url: String,
    pub org_id: String,
    pub org_name: String,
    pub instance_url: String,
    pub sf_user_id: String,
    pub sf_username: String,
    pub sf_display_name: String,
    pub identity_url: String,
    pub status: LinkStatus,
    pub linked_at: i64,
    pub linked_by: i64,
    pub linked_by_name: String,
    pub api_used: Option<i64>,
    pub api_max: Option<i64>,
    pub api_seen_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct LinkRow {
    account_id: i64,
    environment: String,
    requested_environment: String,
    login_url: String,
    org_id: String,
    org_name: String,
    instance_url: String,
    sf_user_id: String,
    sf_username: String,
    sf_display_name: String,
    identity_url: String,
    status: String,
    linked_at: i64,
    linked_by: i64,
    linked_by_name: String,
    api_used: Option<i64>,
    api_max: Option<i64>,
    api_seen_at: Option<i64>,
}

impl TryFrom<LinkRow> for Link {
    type Error = StoreError;
    fn try_from(r: LinkRow) -> Result<Link> {
        Ok(Link {
            environment: Environment::from_column("salesforce_links", "environment", &r.environment)?,
            requested_environment: Environment::from_column("salesforce_links", "requested_environment", &r.requested_environment)?,
            status: LinkStatus::from_column("salesforce_links", "status", &r.status)?,
            account_id: r.account_id,
            login_url: r.login_url,
            org_id: r.org_id,
            org_name: r.org_name,
            instance_url: r.instance_url,
            sf_user_id: r.sf_user_id,
            sf_username: r.sf_username,
            sf_display_name: r.sf_display_name,
            identity_url: r.identity_url,
            linked_at: r.linked_at,
            linked_by: r.linked_by,
            linked_by_name: r.linked_by_name,
            api_used: r.api_used,
            api_max: r.api_max,
            api_seen_at: r.api_seen_at,
        })
    }
}

impl Link {
    pub fn environment(&self) -> Environment {
        self.environment
    }

    pub fn requested_environment(&self) -> Environment {
        self.requested_environment
    }

    pub fn needs_reauthentication(&self) -> bool {
        self.status == LinkStatus::NeedsReauthentication
    }

    pub fn facts(&self) -> domain::LinkFacts {
        domain::LinkFacts {
            org_id: self.org_id.clone(),
            org_name: self.org_name.clone(),
            environment: self.environment(),
            needs_reauthentication: self.needs_reauthentication(),
        }
    }
}

/// What a finished sign-in learned, to be stored as the account's link.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub account_id: i64,
    pub environment: Environment,
    pub requested_environment: Environment,
    pub login_url: String,
    pub org_id: String,
    pub org_name: String,
    pub instance_url: String,
    pub sf_user_id: String,
    pub sf_username: String,
    pub sf_display_name: String,
    pub identity_url: String,
    pub refresh_token: Secret,
    pub access_token: Secret,
    pub linked_by: i64,
    pub api_used: Option<i64>,
    pub api_max: Option<i64>,
}

/// The tokens of a link, opened.
#[derive(Debug, Clone)]
pub struct LinkTokens {
    pub refresh_token: Secret,
    pub access_token: Option<Secret>,
    pub instance_url: String,
    pub login_url: String,
}

#[derive(Debug, Clone)]
pub struct LinkEvent {
    pub id: i64,
    pub kind: LinkEventKind,
    pub detail: String,
    pub actor_name: Option<String>,
    pub at: i64,
}

#[derive(sqlx::FromRow)]
struct LinkEventRow {
    id: i64,
    kind: String,
    detail: String,
    actor_name: Option<String>,
    at: i64,
}

impl TryFrom<LinkEventRow> for LinkEvent {
    type Error = StoreError;
    fn try_from(r: LinkEventRow) -> Result<LinkEvent> {
        Ok(LinkEvent { kind: LinkEventKind::from_column("link_events", "kind", &r.kind)?, id: r.id, detail: r.detail, actor_name: r.actor_name, at: r.at })
    }
}

/// A sign-in to Salesforce under way.
#[derive(Debug, Clone)]
pub struct OAuthFlow {
    pub session_hash: String,
    pub account_id: i64,
    pub pkce_verifier: Secret,
    pub login_url: String,
    pub requested_environment: Environment,
    pub return_to: String,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
struct FlowRow {
    session_hash: String,
    account_id: i64,
    pkce_verifier: String,
    login_url: String,
    requested_environment: String,
    return_to: String,
    created_at: i64,
}

pub(crate) const LINK_SELECT: &str = "SELECT l.account_id, l.environment, l.requested_environment, l.login_url, l.org_id, l.org_name,
        l.instance_url, l.sf_user_id, l.sf_username, l.sf_display_name, l.identity_url, l.status, l.linked_at,
        l.linked_by, a.name AS linked_by_name, l.api_used, l.api_max, l.api_seen_at
   FROM salesforce_links l JOIN accounts a ON a.id = l.linked_by";

const KEY_CHECK: &str = "secret_key_check";

impl Store {
    pub(crate) fn sealer(&self) -> Result<&Sealer> {
        self.sealer.as_ref().ok_or(StoreError::NoSecretKey)
    }

    /// Checks that the configured key opens what this database sealed
    /// before, sealing a check value on first use.
    pub async fn check_secret_key(&self) -> Result<(), CheckKeyError> {
        let sealer = self.sealer().map_err(|_| CheckKeyError::Key(KeyError::Missing))?;
        let existing: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE key = $1")
            .bind(KEY_CHECK)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| CheckKeyError::Store(e.into()))?;
        match existing {
            Some((sealed,)) => match sealer.open(&sealed) {
                Ok(_) => Ok(()),
                Err(_) => Err(CheckKeyError::Key(KeyError::DoesNotOpenDatabase)),
            },
            None => {
                sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                    .bind(KEY_CHECK)
                    .bind(sealer.seal(&Secret::new("insight secret key check")))
                    .execute(&self.pool)
                    .await
                    .map_err(|e| CheckKeyError::Store(e.into()))?;
                Ok(())
            }
        }
    }

    pub async fn link(&self, account_id: i64) -> Result<Option<Link>> {
        let row = sqlx::query_as::<_, LinkRow>(&format!("{LINK_SELECT} WHERE l.account_id = $1"))
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Link::try_from).transpose()
    }

    /// Stores the account's link, replacing any earlier one, and records the
    /// event in the audit log, in one transaction.
    pub async fn save_link(&self, link: &NewLink, event_kind: LinkEventKind, event_detail: &str) -> Result<()> {
        let sealer = self.sealer()?;
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO salesforce_links (account_id, environment, requested_environment, login_url, org_id, org_name,
                instance_url, sf_user_id, sf_username, sf_display_name, identity_url, refresh_token, access_token,
                status, linked_at, linked_by, api_used, api_max, api_seen_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $19, $14, $15, $16, $17, $18)
             ON CONFLICT (account_id) DO UPDATE SET
                environment = excluded.environment, requested_environment = excluded.requested_environment,
                login_url = excluded.login_url, org_id = excluded.org_id, org_name = excluded.org_name,
                instance_url = excluded.instance_url, sf_user_id = excluded.sf_user_id,
                sf_username = excluded.sf_username, sf_display_name = excluded.sf_display_name,
                identity_url = excluded.identity_url, refresh_token = excluded.refresh_token,
                access_token = excluded.access_token, status = excluded.status, linked_at = excluded.linked_at,
                linked_by = excluded.linked_by, api_used = excluded.api_used, api_max = excluded.api_max,
                api_seen_at = excluded.api_seen_at",
        )
        .bind(link.account_id)
        .bind(link.environment.to_column())
        .bind(link.requested_environment.to_column())
        .bind(&link.login_url)
        .bind(&link.org_id)
        .bind(&link.org_name)
        .bind(&link.instance_url)
        .bind(&link.sf_user_id)
        .bind(&link.sf_username)
        .bind(&link.sf_display_name)
        .bind(&link.identity_url)
        .bind(sealer.seal(&link.refresh_token))
        .bind(sealer.seal(&link.access_token))
        .bind(now)
        .bind(link.linked_by)
        .bind(link.api_used)
        .bind(link.api_max)
        .bind(link.api_used.map(|_| now))
        .bind(LinkStatus::Active.to_column())
        .execute(&mut *tx)
        .await?;
        insert_event(&mut tx, link.account_id, event_kind, event_detail, Some(link.linked_by), now).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn link_tokens(&self, account_id: i64) -> Result<Option<LinkTokens>> {
        let sealer = self.sealer()?;
        let row: Option<(String, Option<String>, String, String)> =
            sqlx::query_as("SELECT refresh_token, access_token, instance_url, login_url FROM salesforce_links WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(&self.pool)
                .await?;
        let Some((refresh, access, instance_url, login_url)) = row else { return Ok(None) };
        let open = |s: &str| sealer.open(s).map_err(|_| StoreError::Corrupt("a sealed token does not open with the configured key".into()));
        Ok(Some(LinkTokens {
            refresh_token: open(&refresh)?,
            access_token: access.as_deref().map(open).transpose()?,
            instance_url,
            login_url,
        }))
    }

    /// Keeps a refreshed access token (and the instance URL, if the refresh
    /// response named one: it never forgets the one it had).
    pub async fn update_access_token(&self, account_id: i64, access_token: &Secret, instance_url: Option<&str>) -> Result<()> {
        let sealer = self.sealer()?;
        sqlx::query("UPDATE salesforce_links SET access_token = $1, instance_url = COALESCE($2, instance_url) WHERE account_id = $3")
            .bind(sealer.seal(access_token))
            .bind(instance_url)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks a link as needing its owner to sign in to Salesforce again (its
    /// refresh token was revoked or expired), once, with the reason logged.
    pub async fn mark_needs_reauthentication(&self, account_id: i64, reason: &str) -> Result<bool> {
        self.mark_needs_reauthentication_and_tell(account_id, reason, None).await
    }

    /// As `mark_needs_reauthentication`, queueing `mail` to the owner in the
    /// same transaction when the link changes, so the owner is told once.
    pub async fn mark_needs_reauthentication_and_tell(&self, account_id: i64, reason: &str, mail: Option<&crate::mail::NewMail>) -> Result<bool> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        let r = sqlx::query("UPDATE salesforce_links SET status = $1, access_token = NULL WHERE account_id = $2 AND status = $3")
            .bind(LinkStatus::NeedsReauthentication.to_column())
            .bind(account_id)
            .bind(LinkStatus::Active.to_column())
            .execute(&mut *tx)
            .await?;
        let changed = r.rows_affected() > 0;
        if changed {
            insert_event(&mut tx, account_id, LinkEventKind::RefreshFailed, reason, None, now).await?;
            if let Some(mail) = mail {
                self.queue_mail_in(&mut tx, mail).await?;
            }
        }
        tx.commit().await?;
        Ok(changed)
    }

    pub async fn record_api_usage(&self, account_id: i64, used: i64, max: i64) -> Result<()> {
        sqlx::query("UPDATE salesforce_links SET api_used = $1, api_max = $2, api_seen_at = $3 WHERE account_id = $4")
            .bind(used)
            .bind(max)
            .bind(now_ms())
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets the link (its tokens with it) and logs who did it.
    pub async fn delete_link(&self, account_id: i64, actor_id: i64, detail: &str) -> Result<bool> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        let r = sqlx::query("DELETE FROM salesforce_links WHERE account_id = $1").bind(account_id).execute(&mut *tx).await?;
        let deleted = r.rows_affected() > 0;
        if deleted {
            insert_event(&mut tx, account_id, LinkEventKind::Unlinked, detail, Some(actor_id), now).await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }

    pub async fn add_link_event(&self, account_id: i64, kind: LinkEventKind, detail: &str, actor_id: Option<i64>) -> Result<()> {
        let mut tx = self.write_tx().await?;
        insert_event(&mut tx, account_id, kind, detail, actor_id, now_ms()).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn link_events(&self, account_id: i64, limit: i64) -> Result<Vec<LinkEvent>> {
        let rows = sqlx::query_as::<_, LinkEventRow>(
            "SELECT e.id, e.kind, e.detail, a.name AS actor_name, e.at
               FROM link_events e LEFT JOIN accounts a ON a.id = e.actor_id
              WHERE e.account_id = $1 ORDER BY e.id DESC LIMIT $2",
        )
        .bind(account_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(LinkEvent::try_from).collect()
    }

    pub async fn create_oauth_flow(&self, state_hash: &str, flow: &OAuthFlow) -> Result<()> {
        let sealer = self.sealer()?;
        sqlx::query(
            "INSERT INTO oauth_flows (state_hash, session_hash, account_id, pkce_verifier, login_url, requested_environment, return_to, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(state_hash)
        .bind(&flow.session_hash)
        .bind(flow.account_id)
        .bind(sealer.seal(&flow.pkce_verifier))
        .bind(&flow.login_url)
        .bind(flow.requested_environment.to_column())
        .bind(&flow.return_to)
        .bind(flow.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes a sign-in under way by its state, once: a replayed state finds
    /// nothing. Flows older than `max_age_ms` are not returned.
    pub async fn take_oauth_flow(&self, state_hash: &str, max_age_ms: i64) -> Result<Option<OAuthFlow>> {
        let sealer = self.sealer()?;
        let now = now_ms();
        let row = sqlx::query_as::<_, FlowRow>(
            "UPDATE oauth_flows SET used_at = $1 WHERE state_hash = $2 AND used_at IS NULL AND created_at > $3
             RETURNING session_hash, account_id, pkce_verifier, login_url, requested_environment, return_to, created_at",
        )
        .bind(now)
        .bind(state_hash)
        .bind(now - max_age_ms)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(OAuthFlow {
            session_hash: r.session_hash,
            account_id: r.account_id,
            pkce_verifier: sealer.open(&r.pkce_verifier).map_err(|_| StoreError::Corrupt("sealed PKCE verifier".into()))?,
            login_url: r.login_url,
            requested_environment: Environment::from_column("oauth_flows", "requested_environment", &r.requested_environment)?,
            return_to: r.return_to,
            created_at: r.created_at,
        }))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckKeyError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

async fn insert_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account_id: i64,
    kind: LinkEventKind,
    detail: &str,
    actor_id: Option<i64>,
    at: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO link_events (account_id, kind, detail, actor_id, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(account_id)
        .bind(kind.to_column())
        .bind(detail)
        .bind(actor_id)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A sign-in to another org, waiting for the person to confirm the switch.
#[derive(Debug, Clone)]
pub struct PendingSwitch {
    pub link: NewLink,
    pub return_to: String,
    pub created_at: i64,
}

fn link_to_json(link: &NewLink) -> serde_json::Value {
    serde_json::json!({
        "account_id": link.account_id,
        "environment": link.environment.to_column(),
        "requested_environment": link.requested_environment.to_column(),
        "login_url": link.login_url,
        "org_id": link.org_id,
        "org_name": link.org_name,
        "instance_url": link.instance_url,
        "sf_user_id": link.sf_user_id,
        "sf_username": link.sf_username,
        "sf_display_name": link.sf_display_name,
        "identity_url": link.identity_url,
        "refresh_token": link.refresh_token.expose(),
        "access_token": link.access_token.expose(),
        "linked_by": link.linked_by,
        "api_used": link.api_used,
        "api_max": link.api_max,
    })
}

fn link_from_json(v: &serde_json::Value) -> Option<NewLink> {
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    Some(NewLink {
        account_id: v.get("account_id")?.as_i64()?,
        environment: Environment::from_word(&s("environment")?)?,
        requested_environment: Environment::from_word(&s("requested_environment")?)?,
        login_url: s("login_url")?,
        org_id: s("org_id")?,
        org_name: s("org_name")?,
        instance_url: s("instance_url")?,
        sf_user_id: s("sf_user_id")?,
        sf_username: s("sf_username")?,
        sf_display_name: s("sf_display_name")?,
        identity_url: s("identity_url")?,
        refresh_token: Secret::new(s("refresh_token")?),
        access_token: Secret::new(s("access_token")?),
        linked_by: v.get("linked_by")?.as_i64()?,
        api_used: v.get("api_used").and_then(|x| x.as_i64()),
        api_max: v.get("api_max").and_then(|x| x.as_i64()),
    })
}

impl Store {
    /// Keeps a sign-in to another org until the switch is confirmed; a newer
    /// one replaces an older one.
    pub async fn save_pending_switch(&self, link: &NewLink, return_to: &str) -> Result<()> {
        let sealer = self.sealer()?;
        let sealed = sealer.seal(&Secret::new(link_to_json(link).to_string()));
        sqlx::query(
            "INSERT INTO pending_links (account_id, sealed, org_id, org_name, environment, sf_username, return_to, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (account_id) DO UPDATE SET sealed = excluded.sealed, org_id = excluded.org_id,
                org_name = excluded.org_name, environment = excluded.environment, sf_username = excluded.sf_username,
                return_to = excluded.return_to, created_at = excluded.created_at",
        )
        .bind(link.account_id)
        .bind(sealed)
        .bind(&link.org_id)
        .bind(&link.org_name)
        .bind(link.environment.to_column())
        .bind(&link.sf_username)
        .bind(return_to)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The pending switch, if any and younger than `max_age_ms`.
    pub async fn pending_switch(&self, account_id: i64, max_age_ms: i64) -> Result<Option<PendingSwitch>> {
        let sealer = self.sealer()?;
        let row: Option<(String, String, i64)> =
            sqlx::query_as("SELECT sealed, return_to, created_at FROM pending_links WHERE account_id = $1 AND created_at > $2")
                .bind(account_id)
                .bind(now_ms() - max_age_ms)
                .fetch_optional(&self.pool)
                .await?;
        let Some((sealed, return_to, created_at)) = row else { return Ok(None) };
        let json = sealer.open(&sealed).map_err(|_| StoreError::Corrupt("a pending switch does not open with the configured key".into()))?;
        let value: serde_json::Value = serde_json::from_str(json.expose()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let link = link_from_json(&value).ok_or_else(|| StoreError::Corrupt("a pending switch is incomplete".into()))?;
        Ok(Some(PendingSwitch { link, return_to, created_at }))
    }

    /// Forgets the pending switch; `false` when there was none.
    pub async fn discard_pending_switch(&self, account_id: i64) -> Result<bool> {
        let r = sqlx::query("DELETE FROM pending_links WHERE account_id = $1").bind(account_id).execute(&self.pool).await?;
        Ok(r.rows_affected() > 0)
    }
}
