//! The delivery outbox on SQLite and PostgreSQL.

use domain::{DisplayName, Email, FieldName, FieldRule, Mapping, MappingAction, ProjectName, SObjectName, ValueSource};
use store::testing::TestDatabase;
use store::{NewResponse, Store};

async fn project(store: &Store, mapped: bool) -> i64 {
    let owner = match store.account_by_email(&Email::parse("olive@example.com").unwrap()).await.unwrap() {
        Some(a) => a.id,
        None => store.create_account(&Email::parse("olive@example.com").unwrap(), &DisplayName::parse("Olive").unwrap(), "x").await.unwrap().unwrap().id,
    };
    let slug = format!("slug{}", rand_suffix());
    let p = store.create_project(owner, &ProjectName::parse("P").unwrap(), &slug).await.unwrap();
    if mapped {
        let m = Mapping {
            object: SObjectName::parse("Survey_Response__c").unwrap(),
            action: MappingAction::Upsert { external_id_field: FieldName::parse("External_Id__c").unwrap() },
            rules: vec![FieldRule { field: FieldName::parse("External_Id__c").unwrap(), source: ValueSource::ResponseId, convert: None }],
            condition: None,
        };
        assert!(store.save_integration(p, &[m], Some("00D000000000001AAA"), 0).await.unwrap());
    }
    p
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn response(project_id: i64, n: usize) -> NewResponse {
    NewResponse {
        public_id: format!("R_{project_id:04}{n:018}"),
        project_id,
        answers: "{}".into(),
        embedded: "{}".into(),
        started_at: None,
        finished_at: 1,
        provenance: Default::default(),
    }
}

#[tokio::test]
async fn a_response_of_a_mapped_survey_is_committed_with_its_delivery() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let mapped = project(&store, true).await;
        let plain = project(&store, false).await;
        let writer = store.response_writer();
        for n in 0..5 {
            writer.submit(response(mapped, n)).await.unwrap();
            writer.submit(response(plain, n)).await.unwrap();
        }
        writer.submit(response(mapped, 0)).await.unwrap(); // a retried POST
        assert_eq!(store.delivery_counts(mapped).await.unwrap().pending, 5);
        assert_eq!(store.delivery_counts(plain).await.unwrap(), Default::default());
    }
}

#[tokio::test]
async fn concurrent_claims_never_share_a_delivery_and_an_expired_lease_is_taken_over() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let p = project(&store, true).await;
        let writer = store.response_writer();
        for n in 0..40 {
            writer.submit(response(p, n)).await.unwrap();
        }
        let (a, b) = tokio::join!(store.claim_deliveries(25, 60_000), store.claim_deliveries(25, 60_000));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.len() + b.len(), 40);
        assert!(a.iter().all(|x| b.iter().all(|y| x.id != y.id)), "no delivery claimed twice");
        assert!(store.claim_deliveries(50, 60_000).await.unwrap().is_empty(), "leased rows are not claimed again");

        // A worker that dies leaves its lease to run out; another takes over.
        let writer2 = store.response_writer();
        writer2.submit(response(p, 99)).await.unwrap();
        let first = store.claim_deliveries(1, 1).await.unwrap();
        assert_eq!(first.len(), 1);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let again = store.claim_deliveries(1, 60_000).await.unwrap();
        assert_eq!(again[0].id, first[0].id);
        assert_eq!(again[0].attempts, 2);
    }
}

#[tokio::test]
async fn held_deliveries_are_released_or_discarded_with_a_record_and_failed_ones_retried() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let p = project(&store, true).await;
        let writer = store.response_writer();
        for n in 0..4 {
            writer.submit(response(p, n)).await.unwrap();
        }
        let claimed = store.claim_deliveries(10, 60_000).await.unwrap();
        let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
        store.hold_deliveries(&ids[..3], "owner's link points at another org").await.unwrap();
        store.mark_failed(ids[3], "00D000000000001AAA", "STRING_TOO_LONG: Comment", "[]").await.unwrap();
        let counts = store.delivery_counts(p).await.unwrap();
        assert_eq!((counts.held, counts.failed), (3, 1));
        assert!(store.claim_deliveries(10, 60_000).await.unwrap().is_empty(), "held and failed are not claimed");

        assert_eq!(store.release_held(p).await.unwrap(), 3);
        assert_eq!(store.claim_deliveries(10, 60_000).await.unwrap().len(), 3);
        store.hold_deliveries(&ids[..3], "paused again").await.unwrap();
        assert_eq!(store.discard_held(p, "discarded by Olive: not wanted in the new org").await.unwrap(), 3);
        let discarded = store.deliveries(p, 10).await.unwrap().into_iter().filter(|d| d.status == domain::DeliveryStatus::Discarded).collect::<Vec<_>>();
        assert_eq!(discarded.len(), 3);
        assert!(discarded[0].note.as_deref().unwrap().contains("Olive"));

        assert!(store.retry_delivery(p, ids[3]).await.unwrap());
        assert_eq!(store.claim_deliveries(10, 60_000).await.unwrap().len(), 1);
    }
}
