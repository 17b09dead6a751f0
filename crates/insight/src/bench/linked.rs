//! What the in-process benches start from: an owner account in a fresh
//! SQLite database, linked to the emulator's sandbox org with the
//! username-password grant (the emulator grants it, as Salesforce does for
//! scripts): a bench measures what comes after sign-in, not sign-in.

use domain::{DisplayName, Email, Environment, NewPassword};
use serde_json::Value;
use store::links::NewLink;
use store::sealed::{Sealer, Secret};
use store::testing::TestDatabase;

pub(super) struct LinkedOwner {
    pub db: TestDatabase,
    /// The database's secret key, for an `app::App` opening it too.
    pub key: String,
    pub store: store::Store,
    pub owner: i64,
    pub org_id: String,
    pub settings: app::SalesforceSettings,
    pub connected: sfemu::config::ConnectedAppConfig,
}

/// The owner, linked to the sandbox org of `emulator` (started from `config`).
pub(super) async fn linked_owner(emulator: &sfemu::Emulator, config: &sfemu::EmulatorConfig, why: &str, backend: super::Backend) -> anyhow::Result<LinkedOwner> {
    let connected = config.connected_apps.first().cloned().ok_or_else(|| anyhow::anyhow!("no connected app"))?;
    let user = config.orgs.iter().find(|o| o.is_sandbox).and_then(|o| o.users.first()).cloned().ok_or_else(|| anyhow::anyhow!("no sandbox user"))?;
    let db = super::fresh_database(backend).await?;
    let key = Sealer::generate_key();
    let store = db.store().await.with_sealer(Sealer::from_encoded_key(Some(&key))?);
    let hash = web::hash_password(NewPassword::parse("bench password").map_err(|e| anyhow::anyhow!(e.0))?).await?;
    let owner = store
        .create_account(&Email::parse("bench@insight.example").map_err(|e| anyhow::anyhow!(e.0))?, &DisplayName::parse("Bench").map_err(|e| anyhow::anyhow!(e.0))?, &hash)
        .await?
        .ok_or_else(|| anyhow::anyhow!("account exists"))?
        .id;
    let tokens: Value = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", emulator.sandbox_login_url()))
        .form(&[
            ("grant_type", "password"),
            ("client_id", connected.client_id.as_str()),
            ("client_secret", connected.client_secret.as_str()),
            ("username", user.username.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .await?
        .json()
        .await?;
    let id_url = salesforce::IdentityUrl::parse(tokens["id"].as_str().unwrap_or_default())?;
    let link = NewLink {
        account_id: owner,
        environment: Environment::Sandbox,
        requested_environment: Environment::Sandbox,
        login_url: emulator.sandbox_login_url(),
        org_id: id_url.org_id.to_string(),
        org_name: "Acme Sandbox".into(),
        instance_url: tokens["instance_url"].as_str().unwrap_or_default().into(),
        sf_user_id: id_url.user_id.to_string(),
        sf_username: user.username.clone(),
        sf_display_name: "Dana Demo".into(),
        identity_url: tokens["id"].as_str().unwrap_or_default().into(),
        // The password grant gives no refresh token; the access token outlives the bench.
        refresh_token: Secret::new("not-used"),
        access_token: Secret::new(tokens["access_token"].as_str().unwrap_or_default()),
        linked_by: owner,
        api_used: None,
        api_max: None,
    };
    store.save_link(&link, domain::LinkEventKind::Linked, why).await?;
    let settings = app::SalesforceSettings::new(
        connected.client_id.clone(),
        connected.client_secret.clone(),
        "http://127.0.0.1/salesforce/callback",
        &emulator.production_login_url(),
        &emulator.sandbox_login_url(),
        &[emulator.http_url()],
    )?;
    Ok(LinkedOwner { db, key, store, owner, org_id: id_url.org_id.to_string(), settings, connected })
}
