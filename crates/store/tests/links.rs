//! Salesforce links at rest, on SQLite and PostgreSQL.

use domain::{DisplayName, Email, Environment};
use store::links::{NewLink, OAuthFlow};
use store::sealed::{Secret, Sealer};
use store::testing::TestDatabase;
use store::{now_ms, Store};

const REFRESH: &str = "5Aep861TSESvWeHGpRefreshTokenNeverInClearText";
const ACCESS: &str = "00Dxx0000001gPL!AccessTokenNeverInClearText";

fn sealer() -> Sealer {
    Sealer::from_encoded_key(Some(&Sealer::generate_key())).unwrap()
}

async fn account(store: &Store) -> i64 {
    store
        .create_account(&Email::parse("olive@example.com").unwrap(), &DisplayName::parse("Olive").unwrap(), "$argon2id$x")
        .await
        .unwrap()
        .unwrap()
        .id
}

/// A sign-in under way, started at `created_at`.
fn sign_in(account_id: i64, created_at: i64) -> OAuthFlow {
    OAuthFlow {
        session_hash: "sess".into(),
        account_id,
        pkce_verifier: Secret::new("verifier-verifier-verifier-verifier-verifier"),
        login_url: "https://test.salesforce.com".into(),
        requested_environment: Environment::Sandbox,
        return_to: "/salesforce".into(),
        created_at,
    }
}

fn new_link(account_id: i64, org: &str) -> NewLink {
    NewLink {
        account_id,
        environment: Environment::Sandbox,
        requested_environment: Environment::Sandbox,
        login_url: "https://test.salesforce.com".into(),
        org_id: org.into(),
        org_name: "Acme Sandbox".into(),
        instance_url: "https://acme--dev.sandbox.my.salesforce.com".into(),
        sf_user_id: "005000000000001AAA".into(),
        sf_username: "olive@acme.com.dev".into(),
        sf_display_name: "Olive".into(),
        identity_url: "https://test.salesforce.com/id/00D/005".into(),
        refresh_token: Secret::new(REFRESH),
        access_token: Secret::new(ACCESS),
        linked_by: account_id,
        api_used: Some(3),
        api_max: Some(15000),
    }
}

#[tokio::test]
async fn tokens_are_never_stored_in_clear_text() {
    let db = TestDatabase::sqlite();
    let store = db.store().await.with_sealer(sealer());
    let a = account(&store).await;
    store.save_link(&new_link(a, "00D000000000001AAA"), domain::LinkEventKind::Linked, "sandbox").await.unwrap();
    let tokens = store.link_tokens(a).await.unwrap().unwrap();
    assert_eq!(tokens.refresh_token.expose(), REFRESH);
    assert_eq!(tokens.access_token.unwrap().expose(), ACCESS);
    // Every file of the database: the main file and its write-ahead log.
    let dir = db.url.trim_start_matches("sqlite://").rsplit_once('/').unwrap().0.to_string();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(REFRESH) && !text.contains(ACCESS), "a token is in clear text on disk");
        assert!(!text.contains("NeverInClearText"));
    }
}

#[tokio::test]
async fn tokens_are_sealed_in_postgres_too() {
    let Some(db) = TestDatabase::postgres().await else { return };
    let store = db.store().await.with_sealer(sealer());
    let a = account(&store).await;
    store.save_link(&new_link(a, "00D000000000001AAA"), domain::LinkEventKind::Linked, "sandbox").await.unwrap();
    let (refresh, access): (String, String) =
        sqlx::query_as("SELECT refresh_token, access_token FROM salesforce_links").fetch_one(store.pool()).await.unwrap();
    assert!(!refresh.contains("NeverInClearText") && !access.contains("NeverInClearText"));
}

#[tokio::test]
async fn a_database_refuses_a_key_other_than_its_own() {
    for db in TestDatabase::all().await {
        let first = db.store().await.with_sealer(sealer());
        first.check_secret_key().await.unwrap();
        first.check_secret_key().await.unwrap();
        let other = db.store().await.with_sealer(sealer());
        let err = other.check_secret_key().await.unwrap_err();
        assert!(err.to_string().contains("not the key this database"), "{err}");
    }
}

#[tokio::test]
async fn a_sign_in_state_is_used_once_and_expires() {
    for db in TestDatabase::all().await {
        let store = db.store().await.with_sealer(sealer());
        let a = account(&store).await;
        let flow = |created_at| sign_in(a, created_at);
        store.create_oauth_flow("state-1", &flow(now_ms())).await.unwrap();
        let taken = store.take_oauth_flow("state-1", 600_000).await.unwrap().unwrap();
        assert_eq!(taken.pkce_verifier.expose(), "verifier-verifier-verifier-verifier-verifier");
        assert!(store.take_oauth_flow("state-1", 600_000).await.unwrap().is_none(), "a replayed state finds nothing");
        store.create_oauth_flow("state-old", &flow(now_ms() - 3_600_000)).await.unwrap();
        assert!(store.take_oauth_flow("state-old", 600_000).await.unwrap().is_none(), "an old state has expired");
    }
}

#[tokio::test]
async fn a_refresh_keeps_the_instance_url_and_a_failed_one_marks_the_link_once() {
    for db in TestDatabase::all().await {
        let store = db.store().await.with_sealer(sealer());
        let a = account(&store).await;
        store.save_link(&new_link(a, "00D000000000001AAA"), domain::LinkEventKind::Linked, "sandbox").await.unwrap();
        store.update_access_token(a, &Secret::new("new-access"), None).await.unwrap();
        let tokens = store.link_tokens(a).await.unwrap().unwrap();
        assert_eq!(tokens.instance_url, "https://acme--dev.sandbox.my.salesforce.com");
        assert_eq!(tokens.access_token.unwrap().expose(), "new-access");

        assert!(store.mark_needs_reauthentication(a, "refresh token revoked").await.unwrap());
        assert!(!store.mark_needs_reauthentication(a, "again").await.unwrap());
        assert!(store.link(a).await.unwrap().unwrap().needs_reauthentication());
        let kinds: Vec<String> = store.link_events(a, 10).await.unwrap().into_iter().map(|e| e.kind.as_str().to_string()).collect();
        assert_eq!(kinds, ["refresh_failed", "linked"]);

        // Relinking makes it active again.
        store.save_link(&new_link(a, "00D000000000002AAA"), domain::LinkEventKind::Relinked, "to another org").await.unwrap();
        let link = store.link(a).await.unwrap().unwrap();
        assert!(!link.needs_reauthentication());
        assert_eq!(link.org_id, "00D000000000002AAA");
        assert!(store.delete_link(a, a, "unlinked by owner").await.unwrap());
        assert!(store.link(a).await.unwrap().is_none());
        assert!(store.link_tokens(a).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn the_sweep_forgets_old_sign_ins_and_keeps_fresh_ones() {
    for db in TestDatabase::all().await {
        let store = db.store().await.with_sealer(sealer());
        let a = account(&store).await;
        let flow = |created_at| sign_in(a, created_at);
        store.create_oauth_flow("old", &flow(now_ms() - 3_600_000)).await.unwrap();
        store.create_oauth_flow("fresh", &flow(now_ms())).await.unwrap();
        assert_eq!(store.sweep(900_000, 1_800_000).await.unwrap(), 1);
        assert!(store.take_oauth_flow("fresh", 900_000).await.unwrap().is_some());
    }
}
