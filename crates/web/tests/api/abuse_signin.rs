//! Sign-in and connections under abuse: password guessing, bursts of
//! password checks, clients that never finish their requests, and floods of
//! anonymous survey responses. Each test performs the attack.

use crate::helpers::{spawn_app_with, Browser, TestApp};
use reqwest::StatusCode;
use std::time::Duration;
use store::testing::TestDatabase;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn limit(count: u32, per_secs: u64, burst: u32) -> web::RateLimit {
    web::RateLimit::new(count, Duration::from_secs(per_secs), burst)
}

/// Every backend, each app with `adjust` applied to its settings.
async fn apps_with(adjust: impl Fn(&mut web::Config)) -> Vec<TestApp> {
    let mut apps = Vec::new();
    for db in TestDatabase::all().await {
        apps.push(spawn_app_with(db, &adjust).await);
    }
    apps
}

async fn sign_in(b: &Browser, email: &str, password: &str) -> reqwest::Response {
    b.submit("/signin", "/signin", &[("email", email), ("password", password)]).await
}

fn retry_after(r: &reqwest::Response) -> u64 {
    r.headers().get("retry-after").expect("a Retry-After header").to_str().unwrap().parse().expect("Retry-After in seconds")
}

#[tokio::test]
async fn guessing_one_accounts_password_from_many_addresses_is_stopped_even_for_the_right_guess() {
    for app in apps_with(|c| c.limits.sign_in_per_account = limit(3, 900, 3)).await {
        Browser::new(&app).sign_up("ada@example.com", "Ada").await;
        let mut answers = Vec::new();
        for i in 0..20u8 {
            // A botnet: each guess from another address.
            let attacker = Browser::from_address(&app, [127, 0, 1, i + 1]);
            let r = sign_in(&attacker, "ada@example.com", &format!("guess number {i}")).await;
            answers.push(r.status());
            if r.status() == StatusCode::TOO_MANY_REQUESTS {
                assert!(retry_after(&r) >= 60, "the account recovers one attempt every 5 minutes");
                let page = r.text().await.unwrap();
                assert!(page.contains("Too many sign-in attempts for this account"), "{page}");
            }
        }
        assert_eq!(answers.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count(), 3, "{answers:?}");
        assert_eq!(answers.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 17, "{answers:?}");

        // The right password past the limit is refused too: otherwise the
        // answer would still tell a guess right from wrong.
        let lucky = Browser::from_address(&app, [127, 0, 2, 1]);
        let r = sign_in(&lucky, "ada@example.com", "a good password").await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().get("set-cookie").is_none_or(|c| !c.to_str().unwrap().contains("insight_session")), "no session was started");
        assert_eq!(lucky.get("/projects").await.status(), StatusCode::SEE_OTHER, "still signed out");
    }
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_stopped_while_other_addresses_sign_in() {
    for app in apps_with(|c| c.limits.sign_in_per_address = limit(5, 900, 5)).await {
        Browser::from_address(&app, [127, 0, 0, 3]).sign_up("ada@example.com", "Ada").await;
        let attacker = Browser::from_address(&app, [127, 0, 0, 2]);
        let mut statuses = Vec::new();
        for i in 0..12 {
            statuses.push(sign_in(&attacker, &format!("user{i}@example.com"), "password123").await.status());
        }
        assert_eq!(&statuses[..5], &[StatusCode::UNAUTHORIZED; 5]);
        assert!(statuses[5..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
        let r = sign_in(&attacker, "someone@example.com", "password123").await;
        assert!(r.text().await.unwrap().contains("from your network"));

        let ada = Browser::from_address(&app, [127, 0, 0, 4]);
        let r = sign_in(&ada, "ada@example.com", "a good password").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "another address is not held up");
    }
}

#[tokio::test]
async fn the_right_person_signs_in_after_others_hammer_a_different_account_with_default_limits() {
    for app in apps_with(|_| {}).await {
        Browser::new(&app).sign_up("ada@example.com", "Ada").await;
        Browser::new(&app).sign_up("bob@example.com", "Bob").await;
        let attacker = Browser::from_address(&app, [127, 0, 0, 2]);
        let mut refused = 0;
        for i in 0..40 {
            if sign_in(&attacker, "bob@example.com", &format!("guess {i}")).await.status() == StatusCode::TOO_MANY_REQUESTS {
                refused += 1;
            }
        }
        assert!(refused >= 30, "the default limits stop a guesser: {refused} of 40 refused");

        let ada = Browser::from_address(&app, [127, 0, 0, 3]);
        let wrong = sign_in(&ada, "ada@example.com", "a typo password").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "a typo is a typo, not a lock-out");
        let right = sign_in(&ada, "ada@example.com", "a good password").await;
        assert_eq!(right.status(), StatusCode::SEE_OTHER);
        assert_eq!(ada.get("/projects").await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn a_burst_of_sign_ins_beyond_the_password_queue_is_refused_with_503_and_retry_after() {
    let apps = apps_with(|c| {
        c.limits.password_checks_at_once = 1;
        c.limits.password_checks_waiting = 1;
    })
    .await;
    for app in apps {
        let mut burst = Vec::new();
        for i in 0..40u8 {
            let b = Browser::from_address(&app, [127, 0, 3, i + 1]);
            let (_, html) = b.get_text("/signin").await;
            let csrf = crate::helpers::csrf_in(&html).unwrap();
            burst.push(tokio::spawn(async move {
                let r = b.post_form("/signin", &[("csrf", &csrf), ("email", &format!("nobody{i}@example.com")), ("password", "password123")]).await;
                let wait = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
                (r.status(), wait)
            }));
        }
        let mut answers = Vec::new();
        for b in burst {
            answers.push(b.await.unwrap());
        }
        let busy: Vec<_> = answers.iter().filter(|(s, _)| *s == StatusCode::SERVICE_UNAVAILABLE).collect();
        assert!(!busy.is_empty(), "with one check running and one waiting, 40 at once overflow the queue: {answers:?}");
        assert!(busy.iter().all(|(_, wait)| wait.is_some()), "each 503 says when to retry");
        assert!(answers.iter().all(|(s, _)| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::SERVICE_UNAVAILABLE), "{answers:?}");
    }
}

/// Opens a connection that sends half a request line and then nothing.
async fn half_a_request(url: &str) -> TcpStream {
    let mut s = TcpStream::connect(url.trim_start_matches("http://")).await.unwrap();
    s.write_all(b"GET /healthz HT").await.unwrap();
    s
}

/// True when the server closed the connection (end of stream or reset).
async fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 512];
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]), // e.g. a 408 before closing
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn clients_that_never_finish_their_headers_are_disconnected_while_others_are_served() {
    let apps = apps_with(|c| c.limits.connections.header_read_timeout = Duration::from_secs(1)).await;
    for app in apps {
        let mut silent = Vec::new();
        for _ in 0..100 {
            silent.push(half_a_request(&app.url).await);
        }
        let r = reqwest::get(format!("{}/healthz", app.url)).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "a normal request is served meanwhile");
        for s in &mut silent {
            assert!(closed_by_server(s).await, "the server closed a connection that never finished its headers");
        }
    }
}

#[tokio::test]
async fn a_request_body_that_never_arrives_is_refused_and_changes_nothing() {
    let apps = apps_with(|c| c.limits.connections.body_timeout = Duration::from_secs(1)).await;
    for app in apps {
        let mut s = TcpStream::connect(app.url.trim_start_matches("http://")).await.unwrap();
        let head = "POST /signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nname=Slow&email=slow%40example.com";
        s.write_all(head.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        let (accounts,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts").fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(accounts, 0);
    }
}

#[tokio::test]
async fn past_the_connection_limit_the_next_client_waits_until_a_connection_closes() {
    let apps = apps_with(|c| {
        c.limits.connections.max_connections = 3;
        c.limits.connections.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    for app in apps {
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(half_a_request(&app.url).await);
        }
        let url = format!("{}/healthz", app.url);
        let mut next = tokio::spawn(async move { reqwest::get(url).await.map(|r| r.status()) });
        assert!(tokio::time::timeout(Duration::from_millis(700), &mut next).await.is_err(), "no answer while every connection is taken");
        drop(held);
        let status = tokio::time::timeout(Duration::from_secs(20), next).await.expect("answered once the others went away").unwrap().unwrap();
        assert_eq!(status, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_flood_of_anonymous_responses_from_one_address_is_refused_and_not_stored() {
    for app in apps_with(|c| c.limits.submissions_per_address = limit(3, 60, 3)).await {
        let owner = Browser::new(&app);
        owner.sign_up("owner@example.com", "Olive").await;
        let project = owner.create_project("Feedback").await;
        owner.add_question(project, "nps", "Recommend", "", true).await;
        let link = owner.publish(project).await;

        let flood = Browser::from_address(&app, [127, 0, 0, 2]);
        let mut statuses = Vec::new();
        for _ in 0..10 {
            let r = flood.post_form(&link, &[("q1", "10")]).await;
            let status = r.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                assert!(retry_after(&r) >= 1);
                let page = r.text().await.unwrap();
                assert!(page.contains("Your answers were not recorded yet") && page.contains("press Submit again"), "{page}");
            }
            statuses.push(status);
        }
        assert_eq!(&statuses[..3], &[StatusCode::SEE_OTHER; 3]);
        assert!(statuses[3..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
        assert_eq!(app.store.responses(project, None, 100).await.unwrap().len(), 3, "refused responses are not stored");

        let neighbour = Browser::from_address(&app, [127, 0, 0, 3]);
        assert_eq!(neighbour.post_form(&link, &[("q1", "7")]).await.status(), StatusCode::SEE_OTHER, "another address still answers");
        assert_eq!(app.store.responses(project, None, 100).await.unwrap().len(), 4);
    }
}
