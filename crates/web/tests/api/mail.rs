//! The mail worker delivers over real SMTP, to aiosmtpd (aiosmtpd.rs): it
//! retries a temporary refusal (451), gives a mail up at once on a
//! permanent one (550) and only after many attempts otherwise, leaving it
//! visible in the outbox; it sends a sender's name and a one-click
//! unsubscribe header, and never lets either carry a header of its own.

use crate::aiosmtpd::{Aiosmtpd, Handler, ReceivedMail};
use crate::helpers::{spawn_app_with, Browser, TestApp};
use reqwest::StatusCode;
use std::time::Duration;
use store::mail::{MailStatus, NewMail, OutboxEntry};
use store::sealed::Secret;
use store::testing::TestDatabase;

const WAIT: Duration = Duration::from_secs(30);

async fn apps_sending_to(smtp: &Aiosmtpd, max_attempts: i64) -> Vec<TestApp> {
    let mut apps = Vec::new();
    for db in TestDatabase::all().await {
        apps.push(
            spawn_app_with(db, |c| {
                c.app.mail = Some(app::mail::MailSettings::parse(&smtp.url, "Insight <insight@insight.test>").unwrap());
                c.app.mail_worker.max_attempts = max_attempts;
            })
            .await,
        );
    }
    apps
}

async fn outbox_entry(app: &TestApp, to: &str) -> OutboxEntry {
    app.store.outbox(1_000).await.unwrap().into_iter().find(|m| m.recipient == to).expect("the mail is in the outbox")
}

/// Waits until the mail to `to` is no longer pending.
async fn settled(app: &TestApp, to: &str) -> OutboxEntry {
    let start = std::time::Instant::now();
    loop {
        let entry = outbox_entry(app, to).await;
        if entry.status != MailStatus::Pending {
            return entry;
        }
        assert!(start.elapsed() < WAIT, "the mail never settled: {entry:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn letter(key: &str, to: &str) -> NewMail {
    NewMail {
        dedupe_key: key.into(),
        recipient: to.into(),
        subject: "How did we do?".into(),
        text: Secret::new("Tell us: https://insight.example/s/abc?t=personal"),
        html: None,
        not_before: None,
        from_name: None,
        unsubscribe_url: None,
    }
}

#[tokio::test]
async fn the_mail_worker_delivers_a_sign_up_link_over_smtp() {
    let Some(smtp) = Aiosmtpd::start().await else { return };
    for (i, app) in apps_sending_to(&smtp, 15).await.into_iter().enumerate() {
        let email = format!("ada{i}@example.com");
        let b = Browser::new(&app);
        let r = b.submit("/signup", "/signup", &[("name", "Ada"), ("email", &email), ("password", "a good password")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let mail = smtp.wait_for_mail(&email, WAIT).await;
        assert_eq!((mail.to.as_str(), mail.subject.as_str()), (email.as_str(), "Finish signing up to Insight"));
        assert_eq!((mail.from_name.as_deref(), mail.from_address.as_str()), (Some("Insight"), "insight@insight.test"));
        let entry = outbox_entry(&app, &email).await;
        assert_eq!(mail.outbox_id, entry.id, "the Message-ID names the outbox row: {}", mail.message_id);
        assert!(mail.message_id.ends_with("@insight.test>"), "{}", mail.message_id);
        assert_eq!(mail.header("List-Unsubscribe"), None, "a sign-up is no list to leave");
        let link = mail.link("/signup/confirm?token=").expect("the mail carries the link");
        assert_eq!(b.confirm_sign_up(&link, "a good password").await.status(), StatusCode::SEE_OTHER);
        assert_eq!(b.get("/projects").await.status(), StatusCode::OK, "signed in by the mailed link");
        let entry = settled(&app, &email).await;
        assert_eq!((entry.status, entry.attempts), (MailStatus::Sent, 1));
    }
}

#[tokio::test]
async fn a_temporary_refusal_is_retried_until_the_server_takes_the_mail() {
    let Some(smtp) = Aiosmtpd::start_with(Handler::Refusing).await else { return };
    for (i, app) in apps_sending_to(&smtp, 15).await.into_iter().enumerate() {
        // The server answers 451 to this address three times, then takes it.
        let email = format!("busy3-bob{i}@example.com");
        let b = Browser::new(&app);
        b.submit("/signup", "/signup", &[("name", "Bob"), ("email", &email), ("password", "a good password")]).await;
        let entry = settled(&app, &email).await;
        assert_eq!((entry.status, entry.attempts), (MailStatus::Sent, 4), "sent on the fourth attempt: {entry:?}");
        let mails = smtp.mails_to(&email);
        assert_eq!(mails.len(), 1, "one mail reached the server");
        assert_eq!(mails[0].outbox_id, entry.id);
    }
}

#[tokio::test]
async fn a_mail_is_given_up_only_after_its_last_attempt_and_stays_in_the_outbox() {
    let Some(smtp) = Aiosmtpd::start_with(Handler::Refusing).await else { return };
    for (i, app) in apps_sending_to(&smtp, 3).await.into_iter().enumerate() {
        let email = format!("busy-cleo{i}@example.com");
        let b = Browser::new(&app);
        b.submit("/signup", "/signup", &[("name", "Cleo"), ("email", &email), ("password", "a good password")]).await;
        let entry = settled(&app, &email).await;
        assert_eq!((entry.status, entry.attempts), (MailStatus::Failed, 3), "{entry:?}");
        assert!(entry.last_error.as_deref().unwrap_or("").contains("451"), "the server's words are kept: {entry:?}");
        assert!(smtp.mails_to(&email).is_empty());
    }
}

#[tokio::test]
async fn a_permanent_refusal_gives_the_mail_up_at_once_with_the_servers_reason() {
    let Some(smtp) = Aiosmtpd::start_with(Handler::Refusing).await else { return };
    for (i, app) in apps_sending_to(&smtp, 15).await.into_iter().enumerate() {
        let refused = format!("reject-dora{i}@example.com");
        let welcome = format!("eve{i}@example.com");
        // Queued together, so one claim holds both: the refusal of one does
        // not hold back the other.
        app.store.queue_mail(&letter(&format!("t:{i}:dora"), &refused)).await.unwrap();
        app.store.queue_mail(&letter(&format!("t:{i}:eve"), &welcome)).await.unwrap();
        let entry = settled(&app, &refused).await;
        assert_eq!((entry.status, entry.attempts), (MailStatus::Failed, 1), "given up on the first answer: {entry:?}");
        let reason = entry.last_error.unwrap_or_default();
        assert!(reason.contains("550") && reason.contains("no such user"), "the server's reason is kept: {reason}");
        assert!(smtp.mails_to(&refused).is_empty());
        assert_eq!(settled(&app, &welcome).await.status, MailStatus::Sent);
        assert_eq!(smtp.mails_to(&welcome).len(), 1);
    }
}

#[tokio::test]
async fn an_invitation_carries_its_senders_name_and_a_one_click_unsubscribe() {
    let Some(smtp) = Aiosmtpd::start().await else { return };
    for (i, app) in apps_sending_to(&smtp, 15).await.into_iter().enumerate() {
        let to = format!("fay{i}@example.com");
        let unsubscribe = format!("https://insight.example/unsubscribe?token=tok{i}-a1b2c3");
        let invitation = NewMail {
            from_name: Some("Zoë at Acme Support".into()),
            unsubscribe_url: Some(Secret::new(unsubscribe.clone())),
            html: Some(Secret::new("<p>Tell us: <a href=\"https://insight.example/s/abc?t=personal\">the survey</a></p>")),
            ..letter(&format!("invitation:{i}"), &to)
        };
        app.store.queue_mail(&invitation).await.unwrap();
        let mail: ReceivedMail = smtp.wait_for_mail(&to, WAIT).await;
        assert_eq!(mail.from_name.as_deref(), Some("Zoë at Acme Support"));
        assert_eq!(mail.from_address, "insight@insight.test", "the address stays INSIGHT_MAIL_FROM's");
        assert_eq!(mail.header("List-Unsubscribe"), Some(format!("<{unsubscribe}>").as_str()));
        assert_eq!(mail.header("List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"));
        assert!(mail.text.contains("https://insight.example/s/abc?t=personal"), "{}", mail.text);
        assert!(mail.html.as_deref().unwrap_or("").contains("<a href=\"https://insight.example/s/abc?t=personal\">"), "{:?}", mail.html);
        assert_eq!(settled(&app, &to).await.status, MailStatus::Sent);
    }
}

#[tokio::test]
async fn a_sender_name_that_would_add_a_header_is_refused_when_queued_and_when_sent() {
    let Some(smtp) = Aiosmtpd::start().await else { return };
    for (i, app) in apps_sending_to(&smtp, 15).await.into_iter().enumerate() {
        let to = format!("gus{i}@example.com");
        let attack = NewMail { from_name: Some("Acme\r\nBcc: everyone@example.com".into()), ..letter(&format!("attack:{i}"), &to) };
        assert!(matches!(app.store.queue_mail(&attack).await, Err(store::StoreError::UnsafeMailHeader(_))));
        let attack = NewMail {
            unsubscribe_url: Some(Secret::new("https://insight.example/u?t=1\r\nBcc: everyone@example.com")),
            ..letter(&format!("attack:{i}:url"), &to)
        };
        assert!(matches!(app.store.queue_mail(&attack).await, Err(store::StoreError::UnsafeMailHeader(_))));

        // A row that holds one anyway (written before the rule, or by hand)
        // is given up when sent, and nothing reaches the server.
        let later = NewMail { not_before: Some(store::now_ms() + 3_600_000), ..letter(&format!("planted:{i}"), &to) };
        app.store.queue_mail(&later).await.unwrap();
        sqlx::query("UPDATE mail_outbox SET from_name = $1, not_before = 0 WHERE recipient = $2")
            .bind("Acme\r\nBcc: everyone@example.com")
            .bind(&to)
            .execute(app.store.pool())
            .await
            .unwrap();
        let entry = settled(&app, &to).await;
        assert_eq!((entry.status, entry.attempts), (MailStatus::Failed, 1), "{entry:?}");
        assert!(entry.last_error.unwrap_or_default().contains("sender name"));
        assert!(smtp.received().iter().all(|m| m.headers_named("Bcc").is_empty()), "no Bcc reached the server");
        assert!(smtp.mails_to(&to).is_empty());
        assert!(smtp.mails_to("everyone@example.com").is_empty());
    }
}

#[tokio::test]
async fn a_burst_of_invitations_reaches_the_server_once_each_and_is_marked_sent() {
    let Some(smtp) = Aiosmtpd::start().await else { return };
    for (i, app) in apps_sending_to(&smtp, 15).await.into_iter().enumerate() {
        // More than one claim's worth is not needed: 60 mails span several
        // concurrent sends and one batched "sent" statement per claim.
        let recipients: Vec<String> = (0..60).map(|n| format!("burst{i}-{n}@example.com")).collect();
        for (n, to) in recipients.iter().enumerate() {
            app.store.queue_mail(&letter(&format!("burst:{i}:{n}"), to)).await.unwrap();
        }
        for to in &recipients {
            let entry = settled(&app, to).await;
            assert_eq!((entry.status, entry.attempts), (MailStatus::Sent, 1), "{entry:?}");
        }
        for to in &recipients {
            assert_eq!(smtp.mails_to(to).len(), 1, "exactly one mail reached {to}");
        }
    }
}
