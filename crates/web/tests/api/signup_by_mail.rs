//! Sign-up that does not reveal whether an address has an account: every
//! sign-up gets the same page, the inbox gets the rest, and an account is
//! made only by the mailed link, once, with the password chosen at sign-up.
//! Each attack is performed and shown to fail.

use crate::helpers::{apps, Browser, TestApp};
use reqwest::StatusCode;

async fn account_count(app: &TestApp) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts").fetch_one(app.store.pool()).await.unwrap();
    n
}

async fn has_account(app: &TestApp, email: &str) -> bool {
    app.store.account_by_email(&domain::Email::parse(email).unwrap()).await.unwrap().is_some()
}

/// The sign-up form's answer: status, header names, body.
async fn sign_up_answer(b: &Browser, email: &str, password: &str) -> (StatusCode, Vec<String>, String) {
    let r = b.submit("/signup", "/signup", &[("name", "Ada"), ("email", email), ("password", password)]).await;
    let mut headers: Vec<String> = r.headers().iter().filter(|(k, _)| *k != "date").map(|(k, v)| format!("{k}: {}", v.to_str().unwrap())).collect();
    headers.sort();
    assert_eq!(r.headers().get("location").map(|l| l.to_str().unwrap()), Some("/signup/sent"), "a sign-up ends in a redirect: a reload sends no second mail");
    let (status, body) = b.follow(r).await;
    (status, headers, body)
}

#[tokio::test]
async fn the_page_after_a_sign_up_shows_only_an_address_insight_put_there() {
    for app in apps().await {
        let b = Browser::new(&app);
        let (_, _, said) = sign_up_answer(&b, "ada@example.com", "a good password").await;
        assert!(said.contains("<strong>ada@example.com</strong>"), "{said}");
        let (_, again) = b.get_text("/signup/sent").await;
        assert_eq!(again, said, "a reload shows the same page and sends nothing");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(app.mails_to("ada@example.com").len(), 1, "one mail, however often the page is shown");

        // A cookie someone else wrote (another address, no valid MAC) shows no address.
        let forged = reqwest::Client::new()
            .get(format!("{}/signup/sent", app.url))
            .header("cookie", "insight_signup_sent=AAAA.victim@example.com")
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::OK);
        let page = forged.text().await.unwrap();
        assert!(!page.contains("victim@example.com") && page.contains("the address you signed up with"), "{page}");
    }
}

#[tokio::test]
async fn sign_up_answers_a_new_and_a_taken_address_with_the_same_bytes() {
    for app in apps().await {
        let new = sign_up_answer(&Browser::new(&app), "ada@example.com", "a good password").await;
        assert_eq!(new.0, StatusCode::OK);
        assert!(new.2.contains("Check your inbox: we've sent a link to <strong>ada@example.com</strong> to finish signing up."), "{}", new.2);
        let ada = Browser::new(&app);
        ada.wait_confirmation_mail("ada@example.com", 1).await;
        ada.sign_up("ada@example.com", "Ada").await;

        let prober = Browser::new(&app);
        let taken = sign_up_answer(&prober, "ada@example.com", "another password").await;
        assert_eq!(taken, new, "the answer for a taken address is the answer for a new one, byte for byte");
        assert_eq!(prober.get("/projects").await.status(), StatusCode::SEE_OTHER, "the prober is not signed in");
    }
}

#[tokio::test]
async fn a_taken_address_is_told_by_mail_and_its_password_is_unchanged() {
    for app in apps().await {
        Browser::new(&app).sign_up("ada@example.com", "Ada").await;
        let before = app.mails_to("ada@example.com").len();
        let prober = Browser::new(&app);
        prober.submit("/signup", "/signup", &[("name", "Imposter"), ("email", "ada@example.com"), ("password", "another password")]).await;
        let told = app.nth_mail_to("ada@example.com", before + 1).await;
        assert_eq!(told.subject, "Signing up to Insight");
        assert!(told.body.contains("You already have an Insight account with this address"), "{}", told.body);
        assert!(told.link("/signin").is_some() && told.link("/signup/confirm").is_none(), "a way to sign in, and no link that makes anything: {}", told.body);
        assert_eq!(account_count(&app).await, 1);

        let wrong = prober.submit("/signin", "/signin", &[("email", "ada@example.com"), ("password", "another password")]).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "the prober's password did not replace the owner's");
        let owner = Browser::new(&app);
        let r = owner.submit("/signin", "/signin", &[("email", "ada@example.com"), ("password", "a good password")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "the owner still signs in");

        // Probing again within the hour sends no second mail: sign-up cannot flood an inbox.
        prober.submit("/signup", "/signup", &[("name", "Imposter"), ("email", "ada@example.com"), ("password", "a third password")]).await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(app.mails_to("ada@example.com").len(), before + 1);
    }
}

#[tokio::test]
async fn a_confirmation_link_works_once_and_opening_it_uses_nothing() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.submit("/signup", "/signup", &[("name", "Ada"), ("email", "ada@example.com"), ("password", "a good password")]).await;
        let link = b.wait_confirmation_mail("ada@example.com", 1).await;
        let path = link.strip_prefix(&app.url).unwrap().to_string();

        // A mail scanner opens the link, again and again: nothing is made.
        let scanner = Browser::new(&app);
        for _ in 0..3 {
            let (status, html) = scanner.get_text(&path).await;
            assert_eq!(status, StatusCode::OK);
            assert!(html.contains("Finish signing up") && html.contains("ada@example.com"), "{html}");
        }
        assert!(!has_account(&app, "ada@example.com").await, "a GET makes no account");

        // The wrong password does not confirm it.
        let r = scanner.confirm_sign_up(&link, "a guessed password").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(!has_account(&app, "ada@example.com").await);

        let r = b.confirm_sign_up(&link, "a good password").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/projects");
        assert!(has_account(&app, "ada@example.com").await);

        // Used once, it is used up, with a page that says so.
        let (status, html) = Browser::new(&app).get_text(&path).await;
        assert_eq!(status, StatusCode::GONE);
        assert!(html.contains("This link was used already"), "{html}");
        let (_, page) = b.get_text("/signup").await;
        let csrf = crate::helpers::csrf_in(&page).unwrap();
        let token = path.rsplit("token=").next().unwrap();
        let again = b.post_form("/signup/confirm", &[("csrf", &csrf), ("token", token), ("password", "a good password")]).await;
        assert_eq!(again.status(), StatusCode::GONE);
        assert_eq!(account_count(&app).await, 1);
    }
}

#[tokio::test]
async fn a_guessed_altered_or_expired_token_makes_no_account() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.submit("/signup", "/signup", &[("name", "Ada"), ("email", "ada@example.com"), ("password", "a good password")]).await;
        let link = b.wait_confirmation_mail("ada@example.com", 1).await;
        let token = link.rsplit("token=").next().unwrap().to_string();
        let mut altered = token.clone();
        let last = if altered.ends_with('0') { "1" } else { "0" };
        altered.replace_range(altered.len() - 1.., last);
        let guessed = "0".repeat(64);
        let (_, page) = b.get_text("/signup").await;
        let csrf = crate::helpers::csrf_in(&page).unwrap();
        for bad in [guessed.as_str(), altered.as_str(), "", "../../etc/passwd"] {
            let (status, html) = b.get_text(&format!("/signup/confirm?token={bad}")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{bad:?}");
            assert!(html.contains("This link does not work"), "{html}");
            let r = b.post_form("/signup/confirm", &[("csrf", &csrf), ("token", bad), ("password", "a good password")]).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad:?}");
        }
        // Without the pre-sign-in CSRF pair, even the right link is refused.
        let r = Browser::new(&app).post_form("/signup/confirm", &[("token", &token), ("password", "a good password")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(account_count(&app).await, 0);

        // A day later the link has expired.
        sqlx::query("UPDATE pending_signups SET expires_at = created_at - 1").execute(app.store.pool()).await.unwrap();
        let (status, html) = b.get_text(&format!("/signup/confirm?token={token}")).await;
        assert_eq!(status, StatusCode::GONE);
        assert!(html.contains("This link has expired") && html.contains("Sign up again"), "{html}");
        let r = b.post_form("/signup/confirm", &[("csrf", &csrf), ("token", &token), ("password", "a good password")]).await;
        assert_eq!(r.status(), StatusCode::GONE);
        assert_eq!(account_count(&app).await, 0);
    }
}

#[tokio::test]
async fn a_stranger_who_signs_up_with_your_address_cannot_have_you_confirm_their_account() {
    for app in apps().await {
        // Mallory signs up with Nina's address and a password of her own.
        let mallory = Browser::new(&app);
        mallory.submit("/signup", "/signup", &[("name", "Nina"), ("email", "nina@example.com"), ("password", "mallory's secret")]).await;
        let mallorys_link = mallory.wait_confirmation_mail("nina@example.com", 1).await;
        // Nina, surprised, follows it: without Mallory's password it makes nothing.
        let nina = Browser::new(&app);
        let r = nina.confirm_sign_up(&mallorys_link, "ninas own password").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(!has_account(&app, "nina@example.com").await);
        // Nina signs up herself; Mallory's password opens nothing.
        let r = nina.sign_up_with("nina@example.com", "Nina", "ninas own password", "/projects").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = mallory.submit("/signin", "/signin", &[("email", "nina@example.com"), ("password", "mallory's secret")]).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        // And Mallory's old link now finds an account it cannot make.
        let r = mallory.confirm_sign_up(&mallorys_link, "mallory's secret").await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert_eq!(account_count(&app).await, 1);
    }
}
