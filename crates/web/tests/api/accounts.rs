use crate::helpers::{apps, Browser};
use reqwest::StatusCode;

#[tokio::test]
async fn a_new_user_signs_up_signs_out_and_signs_back_in() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.sign_up("ada@example.com", "Ada Lovelace").await;
        let (status, html) = b.get_text("/projects").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("My Projects") && html.contains("ada@example.com"));

        let r = b.submit("/projects", "/signout", &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(b.get("/projects").await.status(), StatusCode::SEE_OTHER, "signed out, My Projects redirects to sign-in");

        let wrong = b.submit("/signin", "/signin", &[("email", "ada@example.com"), ("password", "not my password")]).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert!(wrong.text().await.unwrap().contains("do not match"));

        let right = b.submit("/signin", "/signin", &[("email", "ADA@example.com"), ("password", "a good password")]).await;
        assert_eq!(right.status(), StatusCode::SEE_OTHER);
        assert_eq!(b.get("/projects").await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn sign_up_with_a_taken_email_makes_nothing_and_a_short_password_is_refused() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.sign_up("ada@example.com", "Ada").await;
        let other = Browser::new(&app);
        let r = other.submit("/signup", "/signup", &[("name", "Imposter"), ("email", "ada@example.com"), ("password", "another password")]).await;
        // Answered as any sign-up is, without saying the email has an account (see signup_by_mail.rs).
        assert!(other.follow(r).await.1.contains("Check your inbox"));
        assert_eq!(other.get("/projects").await.status(), StatusCode::SEE_OTHER);
        let r = other.submit("/signup", "/signup", &[("name", "Bob"), ("email", "bob@example.com"), ("password", "short")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("at least 8 characters"));
    }
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.sign_up("ada@example.com", "Ada").await;
        let r = b.post_form("/projects", &[("name", "Sneaky")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = b.post_form("/projects", &[("csrf", "forged"), ("name", "Sneaky")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let (_, html) = b.get_text("/projects").await;
        assert!(!html.contains("Sneaky"));
    }
}

#[tokio::test]
async fn passwords_are_stored_as_argon2_hashes() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.sign_up("ada@example.com", "Ada").await;
        let (hash,): (String,) = sqlx::query_as("SELECT password_hash FROM accounts").fetch_one(app.store.pool()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("a good password"));
    }
}
