//! Linking an account to Salesforce, against the local emulator, as a person
//! does it in a browser.

use crate::helpers::{apps_with_emulator, Browser};
use reqwest::StatusCode;

const PROD_USER: &str = "demo@acme.example";
const SANDBOX_USER: &str = "demo@acme.example.sandbox";
const PASSWORD: &str = "demo-password-1";

#[tokio::test]
async fn link_with_sandbox_checkbox_signs_in_at_sandbox_host_and_shows_what_got_linked() {
    for sf in apps_with_emulator().await {
        let b = Browser::new(&sf.app);
        b.sign_up("olive@example.com", "Olive Owner").await;
        let outcome = b.link_salesforce(true, SANDBOX_USER, PASSWORD, true).await;
        assert!(outcome.saw_login_form);
        assert_eq!(outcome.callback.status(), StatusCode::SEE_OTHER);
        assert!(outcome.callback.headers()["location"].to_str().unwrap().starts_with("/salesforce?linked=1"));

        let (_, html) = b.get_text("/salesforce").await;
        assert!(html.contains("Acme Sandbox"), "{html}");
        assert!(html.contains(SANDBOX_USER));
        assert!(html.contains("Sandbox"));
        let link = sf.app.store.link(sf.app.store.account_by_email(&domain::Email::parse("olive@example.com").unwrap()).await.unwrap().unwrap().id).await.unwrap().unwrap();
        assert_eq!(link.environment, domain::Environment::Sandbox);
        let sandbox_org = sf.emulator.orgs().into_iter().find(|o| o.2).unwrap();
        assert_eq!(link.org_id, sandbox_org.0);
        assert!(html.contains(&sandbox_org.0));
        assert!(html.contains("data-kind=\"linked\""), "the audit log records the link");
    }
}

#[tokio::test]
async fn sign_in_is_forced_even_when_the_browser_has_a_salesforce_session() {
    for sf in apps_with_emulator().await {
        let b = Browser::new(&sf.app);
        b.sign_up("olive@example.com", "Olive").await;
        let first = b.link_salesforce(false, PROD_USER, PASSWORD, true).await;
        assert!(first.saw_login_form);
        // The same browser now holds an emulator session cookie; a second
        // sign-in must still ask for credentials (prompt=login).
        let second = b.link_salesforce(false, PROD_USER, PASSWORD, true).await;
        assert!(second.saw_login_form, "prompt=login forces the login page");
        assert_eq!(second.callback.status(), StatusCode::SEE_OTHER);
    }
}

#[tokio::test]
async fn declining_consent_links_nothing_and_keeps_the_existing_link() {
    for sf in apps_with_emulator().await {
        let b = Browser::new(&sf.app);
        b.sign_up("olive@example.com", "Olive").await;
        b.link_salesforce(false, PROD_USER, PASSWORD, true).await;
        let denied = b.link_salesforce(true, SANDBOX_USER, PASSWORD, false).await;
        let html = denied.callback.text().await.unwrap();
        assert!(html.contains("declined"), "{html}");
        assert!(html.contains("Nothing was changed"));
        let (_, page) = b.get_text("/salesforce").await;
        assert!(page.contains("Acme Production"), "the production link stands");
    }
}

#[tokio::test]
async fn a_replayed_missing_or_foreign_state_is_refused() {
    for sf in apps_with_emulator().await {
        let b = Browser::new(&sf.app);
        b.sign_up("olive@example.com", "Olive").await;
        let outcome = b.link_salesforce(false, PROD_USER, PASSWORD, true).await;
        assert_eq!(outcome.callback.status(), StatusCode::SEE_OTHER);
        let replay = outcome.callback.url().to_string();
        let again = b.client.get(&replay).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);
        assert!(again.text().await.unwrap().contains("already completed"));

        let missing = b.get("/salesforce/callback?code=abc").await;
        assert_eq!(missing.status(), StatusCode::BAD_REQUEST);

        // A sign-in started by one browser session cannot be finished by another.
        let r = b.submit("/salesforce/link", "/salesforce/link", &[("my_domain", ""), ("return_to", "/salesforce")]).await;
        let authorize = r.headers()["location"].to_str().unwrap().to_string();
        let state: String = url::Url::parse(&authorize).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
        let other = Browser::new(&sf.app);
        other.sign_up("mallory@example.com", "Mallory").await;
        let stolen = other.get(&format!("/salesforce/callback?code=x&state={state}")).await;
        assert_eq!(stolen.status(), StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn the_authorize_request_carries_state_pkce_and_prompt_login() {
    for sf in apps_with_emulator().await {
        let b = Browser::new(&sf.app);
        b.sign_up("olive@example.com", "Olive").await;
        let r = b.submit("/salesforce/link", "/salesforce/link", &[("sandbox", "on"), ("my_domain", ""), ("return_to", "/salesforce")]).await;
        let authorize = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        assert!(authorize.as_str().starts_with(&sf.emulator.sandbox_login_url()), "the sandbox box signs in at the sandbox host");
        let q: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
        assert_eq!(q["prompt"], "login");
        assert_eq!(q["code_challenge_method"], "S256");
        assert!(q["state"].len() >= 32);
        assert!(q["scope"].contains("refresh_token"));
        assert_eq!(q["redirect_uri"], format!("{}/salesforce/callback", sf.app.url));
    }
}

#[tokio::test]
async fn unlink_revokes_the_token_and_forgets_the_link() {
    for sf in apps_with_emulator().await {
        let b = Browser::new(&sf.app);
        b.sign_up("olive@example.com", "Olive").await;
        b.link_salesforce(false, PROD_USER, PASSWORD, true).await;
        let account = sf.app.store.account_by_email(&domain::Email::parse("olive@example.com").unwrap()).await.unwrap().unwrap().id;
        let refresh = sf.app.store.link_tokens(account).await.unwrap().unwrap().refresh_token;
        let r = b.submit("/salesforce", "/salesforce/unlink", &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(sf.app.store.link(account).await.unwrap().is_none());
        // Salesforce no longer honours the old refresh token.
        let token_url = format!("{}/services/oauth2/token", sf.emulator.production_login_url());
        let cfg = sfemu::EmulatorConfig::default_demo();
        let resp = reqwest::Client::new()
            .post(token_url)
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.expose()),
                ("client_id", cfg.connected_apps[0].client_id.as_str()),
                ("client_secret", cfg.connected_apps[0].client_secret.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let (_, html) = b.get_text("/salesforce").await;
        assert!(html.contains("data-kind=\"unlinked\""));
    }
}

#[tokio::test]
async fn collaborator_never_lends_own_link() {
    for sf in apps_with_emulator().await {
        let owner = Browser::new(&sf.app);
        owner.sign_up("olive@example.com", "Olive Owner").await;
        let id = owner.create_project("Shared CSAT").await;
        let editor = Browser::new(&sf.app);
        editor.sign_up("eddie@example.com", "Eddie Editor").await;
        owner.share(&editor, id, &[("email", "eddie@example.com"), ("role", "editor")]).await;

        // The editor links their own account, to production.
        editor.link_salesforce(false, PROD_USER, PASSWORD, true).await;
        // The owner has no link: the project says so and names the owner,
        // and does not fall back to the editor's link.
        let (_, panel) = editor.get_text(&format!("/projects/{id}/salesforce")).await;
        assert!(panel.contains("data-testid=\"no-link\""), "{panel}");
        assert!(panel.contains("Olive Owner"));
        assert!(!panel.contains("Acme Production"));

        // Once the owner links a sandbox, the project uses that, for everyone.
        owner.link_salesforce(true, SANDBOX_USER, PASSWORD, true).await;
        let (_, panel) = editor.get_text(&format!("/projects/{id}/salesforce")).await;
        assert!(panel.contains("data-testid=\"uses-link\""));
        assert!(panel.contains("Olive Owner") && panel.contains("Acme Sandbox"));
        assert!(!panel.contains("Acme Production"));
        // The collaborator never sees the owner's tokens anywhere.
        let owner_id = sf.app.store.account_by_email(&domain::Email::parse("olive@example.com").unwrap()).await.unwrap().unwrap().id;
        let tokens = sf.app.store.link_tokens(owner_id).await.unwrap().unwrap();
        for page in [format!("/projects/{id}/salesforce"), format!("/projects/{id}/survey"), "/salesforce".to_string()] {
            let (_, html) = editor.get_text(&page).await;
            assert!(!html.contains(tokens.refresh_token.expose()) && !html.contains(tokens.access_token.as_ref().unwrap().expose()));
        }
    }
}

async fn account_id(app: &crate::helpers::TestApp, email: &str) -> i64 {
    app.store.account_by_email(&domain::Email::parse(email).unwrap()).await.unwrap().unwrap().id
}

async fn admin_post(sf: &crate::helpers::WithSalesforce, org_id: &str, fault: &str) {
    let url = format!("{}/orgs/{org_id}/faults/{fault}", sf.emulator.admin_url());
    let r = reqwest::Client::new().post(url).send().await.unwrap();
    assert!(r.status().is_success(), "{fault}: {}", r.status());
}

fn org_id(sf: &crate::helpers::WithSalesforce, sandbox: bool) -> String {
    sf.emulator.orgs().into_iter().find(|o| o.2 == sandbox).unwrap().0
}

/// Whether Salesforce still honours a refresh token.
async fn refresh_works(sf: &crate::helpers::WithSalesforce, refresh: &str) -> bool {
    let cfg = sfemu::EmulatorConfig::default_demo();
    reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", sf.emulator.production_login_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", cfg.connected_apps[0].client_id.as_str()),
            ("client_secret", cfg.connected_apps[0].client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .is_success()
}

/// Access tokens the emulator has issued against this refresh token.
fn tokens_issued_for(sf: &crate::helpers::WithSalesforce, refresh: &str) -> usize {
    sf.emulator.app().tokens.read().values().filter(|t| t.refresh.as_deref() == Some(refresh)).count()
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_for_a_hundred_concurrent_requests() {
    for sf in apps_with_emulator().await {
        let b = Browser::new(&sf.app);
        b.sign_up("olive@example.com", "Olive").await;
        b.link_salesforce(false, PROD_USER, PASSWORD, true).await;
        let account = account_id(&sf.app, "olive@example.com").await;
        let before = sf.app.store.link_tokens(account).await.unwrap().unwrap();
        let refresh = before.refresh_token.expose().to_string();
        // Warm the shared session, then expire every access token of the org.
        assert!(b.submit_and_follow("/salesforce", "/salesforce/test", &[]).await.1.contains("Connected to"));
        assert_eq!(tokens_issued_for(&sf, &refresh), 1, "the sign-in issued one access token");
        admin_post(&sf, &org_id(&sf, false), "expire-tokens").await;

        let (_, html) = b.get_text("/salesforce").await;
        let csrf = crate::helpers::csrf_in(&html).unwrap();
        let mut calls = Vec::new();
        for _ in 0..100 {
            let (client, url, csrf) = (b.client.clone(), format!("{}/salesforce/test", b.base), csrf.clone());
            calls.push(tokio::spawn(async move { client.post(url).form(&[("csrf", csrf)]).send().await.unwrap().status() }));
        }
        for c in calls {
            assert_eq!(c.await.unwrap(), StatusCode::SEE_OTHER);
        }
        let (_, said) = b.get_text("/salesforce").await;
        assert!(said.contains("Connected to"), "{said}");
        assert_eq!(tokens_issued_for(&sf, &refresh), 2, "exactly one refresh reached Salesforce");
        let after = sf.app.store.link_tokens(account).await.unwrap().unwrap();
        assert_ne!(after.access_token.unwrap().expose(), before.access_token.unwrap().expose(), "the new access token is kept");
        assert_eq!(after.instance_url, before.instance_url, "the refresh never loses the instance URL");
    }
}

#[tokio::test]
async fn a_revoked_refresh_token_marks_the_link_and_every_affected_project() {
    for sf in apps_with_emulator().await {
        let owner = Browser::new(&sf.app);
        owner.sign_up("olive@example.com", "Olive Owner").await;
        let id = owner.create_project("CSAT").await;
        let viewer = Browser::new(&sf.app);
        viewer.sign_up("vic@example.com", "Vic").await;
        owner.share(&viewer, id, &[("email", "vic@example.com"), ("role", "viewer")]).await;
        owner.link_salesforce(true, SANDBOX_USER, PASSWORD, true).await;

        let org = org_id(&sf, true);
        admin_post(&sf, &org, "revoke-refresh-tokens").await;
        admin_post(&sf, &org, "expire-tokens").await;
        let (_, tested) = owner.submit_and_follow("/salesforce", "/salesforce/test", &[]).await;
        assert!(tested.contains("The connection test failed") && tested.contains("Sign in to Salesforce again"), "{tested}");

        let account = account_id(&sf.app, "olive@example.com").await;
        let link = sf.app.store.link(account).await.unwrap().unwrap();
        assert!(link.needs_reauthentication());
        let (_, page) = owner.get_text("/projects").await;
        assert!(page.contains("reauth-banner"), "the account sees a banner on every page");
        let (_, panel) = viewer.get_text(&format!("/projects/{id}/salesforce")).await;
        assert!(panel.contains("data-testid=\"needs-reauth\"") && panel.contains("Olive Owner"));
        let (_, events) = owner.get_text("/salesforce").await;
        assert!(events.contains("data-kind=\"refresh_failed\""));
        // The owner is told by mail, once, however often the link is tried.
        let told = sf.app.nth_mail_to("olive@example.com", 2).await;
        assert_eq!(told.subject, "Your Salesforce link needs a new sign-in");
        assert!(told.link("/salesforce").is_some_and(|l| l.starts_with(&sf.app.url)), "{}", told.body);
        assert!(owner.submit_and_follow("/salesforce", "/salesforce/test", &[]).await.1.contains("The connection test failed"));
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(sf.app.mails_to("olive@example.com").iter().filter(|m| m.subject == told.subject).count(), 1);

        // Signing in again makes the link active again.
        owner.link_salesforce(true, SANDBOX_USER, PASSWORD, true).await;
        assert!(!sf.app.store.link(account).await.unwrap().unwrap().needs_reauthentication());
        assert!(owner.submit_and_follow("/salesforce", "/salesforce/test", &[]).await.1.contains("Connected to"));
    }
}

#[tokio::test]
async fn salesforce_unreachable_at_the_callback_is_explained_and_changes_nothing() {
    let mut all = apps_with_emulator().await;
    for sf in all.drain(..) {
        let b = Browser::new(&sf.app);
        b.sign_up("olive@example.com", "Olive").await;
        let (_, callback) = b.salesforce_until_callback(false, PROD_USER, PASSWORD, true).await;
        let crate::helpers::WithSalesforce { app, emulator } = sf;
        emulator.shutdown().await;
        let r = b.client.get(&callback).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
        let html = r.text().await.unwrap();
        assert!(html.contains("could not be reached"), "{html}");
        assert!(app.store.link(account_id(&app, "olive@example.com").await).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn signing_in_to_another_org_previews_the_switch_and_cancelling_changes_nothing() {
    for sf in apps_with_emulator().await {
        let b = Browser::new(&sf.app);
        b.sign_up("olive@example.com", "Olive").await;
        b.create_project("Post-case CSAT").await;
        b.link_salesforce(true, SANDBOX_USER, PASSWORD, true).await;
        let account = account_id(&sf.app, "olive@example.com").await;
        let sandbox_refresh = sf.app.store.link_tokens(account).await.unwrap().unwrap().refresh_token;

        // Relink to production: the callback stops at a preview.
        let outcome = b.link_salesforce(false, PROD_USER, PASSWORD, true).await;
        assert_eq!(outcome.callback.headers()["location"], "/salesforce/switch");
        let (status, preview) = b.get_text("/salesforce/switch").await;
        assert_eq!(status, StatusCode::OK);
        assert!(preview.contains("Acme Sandbox") && preview.contains("Acme Production"));
        assert!(preview.contains("Post-case CSAT"), "the preview lists every project the switch re-points");
        assert_eq!(sf.app.store.link(account).await.unwrap().unwrap().org_name, "Acme Sandbox", "nothing changed yet");

        // Cancel: the sandbox link stands, and the production sign-in's token is revoked.
        let pending = sf.app.store.pending_switch(account, i64::MAX / 2).await.unwrap().unwrap();
        let r = b.submit("/salesforce/switch", "/salesforce/switch/cancel", &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let link = sf.app.store.link(account).await.unwrap().unwrap();
        assert_eq!(link.org_name, "Acme Sandbox");
        assert_eq!(sf.app.store.link_tokens(account).await.unwrap().unwrap().refresh_token, sandbox_refresh);
        assert!(!refresh_works(&sf, pending.link.refresh_token.expose()).await, "the abandoned sign-in's token is revoked");
        assert!(refresh_works(&sf, sandbox_refresh.expose()).await);
        assert_eq!(b.get("/salesforce/switch").await.status(), StatusCode::NOT_FOUND);
        assert!(b.submit_and_follow("/salesforce", "/salesforce/test", &[]).await.1.contains("Connected to"), "the sandbox link still works");

        // Again, and confirm: now the account is linked to production.
        b.link_salesforce(false, PROD_USER, PASSWORD, true).await;
        let r = b.submit("/salesforce/switch", "/salesforce/switch/confirm", &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let link = sf.app.store.link(account).await.unwrap().unwrap();
        assert_eq!(link.org_name, "Acme Production");
        assert_eq!(link.environment, domain::Environment::Production);
        let (_, html) = b.get_text("/salesforce").await;
        assert!(html.contains("data-kind=\"switched\"") && html.contains("data-kind=\"switch_cancelled\""));
        assert!(b.submit_and_follow("/salesforce", "/salesforce/test", &[]).await.1.contains("Connected to"));
    }
}

#[tokio::test]
async fn a_code_salesforce_refuses_is_explained_and_links_nothing() {
    for sf in apps_with_emulator().await {
        let b = Browser::new(&sf.app);
        b.sign_up("olive@example.com", "Olive").await;
        let r = b.submit("/salesforce/link", "/salesforce/link", &[("my_domain", ""), ("return_to", "/salesforce")]).await;
        let authorize = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        let state: String = authorize.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
        // A code that is expired, reused or forged: Salesforce answers invalid_grant.
        let r = b.get(&format!("/salesforce/callback?code=aPrxExpiredOrReusedCode&state={state}")).await;
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
        let html = r.text().await.unwrap();
        assert!(html.contains("refused the sign-in code"), "{html}");
        assert!(sf.app.store.link(account_id(&sf.app, "olive@example.com").await).await.unwrap().is_none());
    }
}
