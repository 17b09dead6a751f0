//! The consent rules driven as use cases, without HTTP: who may change what a
//! project writes into its owner's org, and transfers as offers. Each runs on
//! SQLite and PostgreSQL.

use app::consent;
use app::AppError;
use domain::{DisplayName, Email, ProjectName, Role, Validation};
use store::testing::TestDatabase;
use store::Store;

const ORG: &str = "00D000000000001AAA";

async fn account(store: &Store, email: &str, name: &str) -> store::accounts::Account {
    store.create_account(&Email::parse(email).unwrap(), &DisplayName::parse(name).unwrap(), "not-a-real-hash").await.unwrap().unwrap()
}

fn settings() -> app::SalesforceSettings {
    // Never reached: every refusal here comes before any call to Salesforce.
    app::SalesforceSettings::new("id".into(), "secret".into(), "http://127.0.0.1:9/salesforce/callback", "https://127.0.0.1:9", "https://127.0.0.1:9", &[]).unwrap()
}

/// Shares as the Sharing page does — an invitation to the address — and
/// accepts it as the receiver.
async fn share(store: &Store, project: &store::projects::Project, owner: &store::accounts::Account, receiver: &store::accounts::Account, role: Role, grant: bool) {
    let email = Email::parse(&receiver.email).unwrap();
    app::invitations::share(store, "http://insight.test", project, owner, &email, role, grant).await.unwrap();
    let invitation = app::invitations::invitations_for(store, receiver).await.unwrap().into_iter().find(|i| i.project_id == project.id).unwrap();
    app::invitations::accept(store, receiver, invitation.id).await.unwrap();
}

/// Olive owns a project whose one mapping was validated against ORG.
async fn olives_mapped_project(store: &Store) -> (store::accounts::Account, i64) {
    let olive = account(store, "olive@example.com", "Olive Owner").await;
    let id = store.create_project(olive.id, &ProjectName::parse("Renewal").unwrap(), "slugslugslug").await.unwrap();
    let mapping = app::integration::parse_mapping(&app::integration::NewMapping { object: "Survey_Response__c", action: "upsert", key_field: "External_Id__c", ..Default::default() }).unwrap();
    assert!(store.save_integration(id, &[mapping], Some(ORG), 0).await.unwrap());
    (olive, id)
}

#[tokio::test]
async fn an_editor_without_the_grant_cannot_change_mappings_or_run_the_transition() {
    for db in TestDatabase::all().await {
        let store = db.store().await.with_sealer(store::sealed::Sealer::from_encoded_key(Some(&store::sealed::Sealer::generate_key())).unwrap());
        let (olive, id) = olives_mapped_project(&store).await;
        let eddie = account(&store, "eddie@example.com", "Eddie Editor").await;
        let owners_view = store.project_for(id, olive.id).await.unwrap().unwrap();
        share(&store, &owners_view, &olive, &eddie, Role::Editor, false).await;
        let editors_view = store.project_for(id, eddie.id).await.unwrap().unwrap();
        let settings = settings();
        let by = consent::actor(&eddie);

        let change = app::integration::Change::RemoveMapping(0);
        let refused = app::integration::change(&store, &settings, &editors_view, &by, change).await;
        assert!(matches!(&refused, Err(AppError::NeedsSalesforceGrant { owner, .. }) if owner == "Olive Owner"), "{refused:?}");
        let refused = app::integration::transition(&store, &settings, &editors_view, &by, app::integration::HeldDeliveries::Discard).await;
        assert!(matches!(refused, Err(AppError::NeedsSalesforceGrant { .. })));
        assert_eq!(store.integration(id).await.unwrap().unwrap().mappings.len(), 1, "nothing changed");

        // An editor cannot grant it to themselves; the owner can, and it is in the history.
        let refused = consent::set_salesforce_grant(&store, &editors_view, &by, eddie.id, true).await;
        assert!(matches!(refused, Err(AppError::OwnerOnly { .. })));
        consent::set_salesforce_grant(&store, &owners_view, &consent::actor(&olive), eddie.id, true).await.unwrap();
        let editors_view = store.project_for(id, eddie.id).await.unwrap().unwrap();
        assert!(consent::access(&editors_view).can_change_salesforce());
        let history = consent::history(&store, &owners_view).await.unwrap();
        assert!(history[0].change.contains("granted Eddie Editor") && history[0].by_owner);
    }
}

#[tokio::test]
async fn a_transfer_changes_nothing_until_the_addressee_accepts_and_then_pins_the_survey() {
    for db in TestDatabase::all().await {
        let store = db.store().await.with_sealer(store::sealed::Sealer::from_encoded_key(Some(&store::sealed::Sealer::generate_key())).unwrap());
        let (olive, id) = olives_mapped_project(&store).await;
        let nina = account(&store, "nina@example.com", "Nina Next").await;
        let eve = account(&store, "eve@example.com", "Eve").await;
        let eddie = account(&store, "eddie@example.com", "Eddie Editor").await;
        let olives_view = store.project_for(id, olive.id).await.unwrap().unwrap();
        share(&store, &olives_view, &olive, &eddie, Role::Editor, true).await;

        consent::offer_transfer(&store, &olives_view, &Email::parse("nina@example.com").unwrap()).await.unwrap();
        assert!(store.project_for(id, nina.id).await.unwrap().is_none(), "an offer gives nothing");
        let offers = consent::transfers_offered_to(&store, &nina).await.unwrap();
        assert_eq!(offers.len(), 1);
        assert!(consent::transfers_offered_to(&store, &eve).await.unwrap().is_empty());
        assert!(matches!(consent::accept_transfer(&store, &eve, offers[0].id).await, Err(AppError::NotFound)), "not Eve's offer");
        assert!(matches!(consent::accept_transfer(&store, &olive, offers[0].id).await, Err(AppError::NotFound)), "nor Olive's own");
        assert_eq!(store.project_for(id, olive.id).await.unwrap().unwrap().role, Role::Owner);

        assert_eq!(consent::accept_transfer(&store, &nina, offers[0].id).await.unwrap(), id);
        assert_eq!(store.project_for(id, nina.id).await.unwrap().unwrap().role, Role::Owner);
        assert!(store.project_for(id, olive.id).await.unwrap().is_none(), "the previous owner keeps no role");
        let eddies_view = store.project_for(id, eddie.id).await.unwrap().unwrap();
        assert!(!eddies_view.salesforce_changes, "a grant on Olive's org does not carry over to Nina's");
        let integration = store.integration(id).await.unwrap().unwrap();
        assert_eq!(integration.validation(nina.id), Validation::Validated { org_id: ORG.into(), by_current_owner: false }, "pinned until Nina's transition");
        assert!(matches!(consent::accept_transfer(&store, &nina, offers[0].id).await, Err(AppError::NotFound)), "accepted once");
    }
}
