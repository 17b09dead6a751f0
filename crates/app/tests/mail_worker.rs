//! The mail worker's bookkeeping, with mail written into a folder: a claim
//! it has no time left to send is handed back untried, and a claim it sends
//! is marked sent once, each mail on its first attempt.

use app::mail::{try_execute, ExecutionOutcome, MailSettings, MailWorkerSettings, Mailer};
use std::time::Duration;
use store::mail::{MailStatus, NewMail};
use store::sealed::{Sealer, Secret};
use store::testing::TestDatabase;

fn invitation(n: usize) -> NewMail {
    NewMail {
        dedupe_key: format!("invitation:{n}"),
        recipient: format!("respondent{n}@example.com"),
        subject: "How did we do?".into(),
        text: Secret::new("Tell us: https://insight.example/s/abc"),
        html: None,
        not_before: None,
        from_name: Some("Acme Support".into()),
        unsubscribe_url: Some(Secret::new(format!("https://insight.example/unsubscribe?t={n}"))),
    }
}

fn mails_in(folder: &std::path::Path) -> usize {
    std::fs::read_dir(folder).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test]
async fn a_claim_with_no_lease_left_to_start_a_send_is_handed_back_untried_then_sent_once() {
    for db in TestDatabase::all().await {
        let store = db.store().await.with_sealer(Sealer::from_encoded_key(Some(&Sealer::generate_key())).unwrap());
        for n in 0..3 {
            store.queue_mail(&invitation(n)).await.unwrap();
        }
        let folder = std::env::temp_dir().join(format!("insight-mail-worker-{:016x}", rand::random::<u64>()));
        let mailer = Mailer::new(&MailSettings::folder(&folder)).unwrap();

        // A lease of nothing: no send may start, so none does.
        let no_time = MailWorkerSettings { lease: Duration::ZERO, ..Default::default() };
        assert_eq!(try_execute(&store, &mailer, &no_time).await.unwrap(), ExecutionOutcome::Worked(3));
        assert_eq!(mails_in(&folder), 0);
        let outbox = store.outbox(10).await.unwrap();
        assert!(outbox.iter().all(|m| m.status == MailStatus::Pending && m.attempts == 0), "handed back, not counted: {outbox:?}");

        let settings = MailWorkerSettings::default();
        assert_eq!(try_execute(&store, &mailer, &settings).await.unwrap(), ExecutionOutcome::Worked(3));
        assert_eq!(try_execute(&store, &mailer, &settings).await.unwrap(), ExecutionOutcome::EmptyQueue);
        assert_eq!(mails_in(&folder), 3);
        let outbox = store.outbox(10).await.unwrap();
        assert!(outbox.iter().all(|m| m.status == MailStatus::Sent && m.attempts == 1), "{outbox:?}");
        let _ = std::fs::remove_dir_all(&folder);
    }
}
