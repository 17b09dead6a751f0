//! The mail worker delivers over real SMTP (to the test sink in
//! smtp_sink.rs), retries when the server refuses, and gives a mail up only
//! after many attempts, leaving it visible in the outbox.

use crate::helpers::{spawn_app_with, Browser, Mail, TestApp};
use crate::smtp_sink::SmtpSink;
use reqwest::StatusCode;
use std::time::Duration;
use store::mail::MailStatus;
use store::testing::TestDatabase;

async fn apps_sending_to(sink: &SmtpSink, max_attempts: i64) -> Vec<TestApp> {
    let mut apps = Vec::new();
    for db in TestDatabase::all().await {
        apps.push(
            spawn_app_with(db, |c| {
                c.app.mail = Some(app::mail::MailSettings::parse(&sink.url, "Insight <insight@insight.test>").unwrap());
                c.app.mail_worker.max_attempts = max_attempts;
            })
            .await,
        );
    }
    apps
}

/// Waits for the sink to hold `n` mails to `to`.
async fn received(sink: &SmtpSink, to: &str, n: usize) -> Vec<Mail> {
    let start = std::time::Instant::now();
    loop {
        let mails: Vec<Mail> = sink.received().into_iter().filter(|r| r.rcpt.iter().any(|r| r == to)).map(|r| Mail::parse(&r.data)).collect();
        if mails.len() >= n {
            return mails;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the SMTP server never got {n} mails to {to}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn outbox_entry(app: &TestApp, to: &str) -> store::mail::OutboxEntry {
    app.store.outbox(100).await.unwrap().into_iter().find(|m| m.recipient == to).expect("the mail is in the outbox")
}

#[tokio::test]
async fn the_mail_worker_delivers_a_sign_up_link_over_smtp() {
    let sink = SmtpSink::start().await;
    for (i, app) in apps_sending_to(&sink, 15).await.into_iter().enumerate() {
        let email = format!("ada{i}@example.com");
        let b = Browser::new(&app);
        let r = b.submit("/signup", "/signup", &[("name", "Ada"), ("email", &email), ("password", "a good password")]).await;
        assert_eq!(r.status(), StatusCode::OK);
        let mail = received(&sink, &email, 1).await.remove(0);
        assert_eq!(mail.subject, "Finish signing up to Insight");
        let entry = outbox_entry(&app, &email).await;
        assert_eq!(mail.outbox_id, entry.id, "the Message-ID names the outbox row: {}", mail.message_id);
        assert!(mail.message_id.ends_with("@insight.test>"), "{}", mail.message_id);
        let link = mail.link("/signup/confirm?token=").expect("the mail carries the link");
        assert_eq!(b.confirm_sign_up(&link, "a good password").await.status(), StatusCode::SEE_OTHER);
        assert_eq!(b.get("/projects").await.status(), StatusCode::OK, "signed in by the mailed link");
        let start = std::time::Instant::now();
        while outbox_entry(&app, &email).await.status != MailStatus::Sent {
            assert!(start.elapsed() < Duration::from_secs(30), "never marked sent");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(outbox_entry(&app, &email).await.attempts, 1);
    }
}

#[tokio::test]
async fn a_refusing_smtp_server_is_retried_until_it_takes_the_mail() {
    let sink = SmtpSink::start().await;
    for (i, app) in apps_sending_to(&sink, 15).await.into_iter().enumerate() {
        let email = format!("bob{i}@example.com");
        let refused_before = sink.refused();
        sink.refuse_next(3);
        let b = Browser::new(&app);
        b.submit("/signup", "/signup", &[("name", "Bob"), ("email", &email), ("password", "a good password")]).await;
        let mails = received(&sink, &email, 1).await;
        assert_eq!(sink.refused() - refused_before, 3, "three attempts were refused first");
        let start = std::time::Instant::now();
        let entry = loop {
            let entry = outbox_entry(&app, &email).await;
            if entry.status == MailStatus::Sent {
                break entry;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "never marked sent: {entry:?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        assert_eq!(entry.attempts, 4, "sent on the fourth attempt");
        assert_eq!(mails.len(), 1, "one mail reached the server");
        assert_eq!(mails[0].outbox_id, entry.id);
    }
}

#[tokio::test]
async fn a_mail_is_given_up_only_after_its_last_attempt_and_stays_in_the_outbox() {
    let sink = SmtpSink::start().await;
    for (i, app) in apps_sending_to(&sink, 3).await.into_iter().enumerate() {
        let email = format!("cleo{i}@example.com");
        sink.refuse_next(1_000);
        let b = Browser::new(&app);
        b.submit("/signup", "/signup", &[("name", "Cleo"), ("email", &email), ("password", "a good password")]).await;
        let start = std::time::Instant::now();
        let entry = loop {
            let entry = outbox_entry(&app, &email).await;
            if entry.status == MailStatus::Failed {
                break entry;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "never given up: {entry:?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        assert_eq!(entry.attempts, 3);
        assert!(entry.last_error.as_deref().unwrap_or("").contains("451"), "the server's words are kept: {entry:?}");
        assert!(sink.received().iter().all(|r| !r.rcpt.contains(&email)));
        sink.refuse_next(0);
    }
}
