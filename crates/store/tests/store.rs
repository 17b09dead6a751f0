//! The storage contract, checked on SQLite and PostgreSQL alike.

use domain::{DisplayName, Email, ProjectName, QuestionKind, QuestionText, Role, SurveyDefinition, SurveyStatus};
use store::responses::Submitted;
use store::testing::TestDatabase;
use store::{NewResponse, Store};

async fn account(store: &Store, email: &str) -> i64 {
    store
        .create_account(&Email::parse(email).unwrap(), &DisplayName::parse("Someone").unwrap(), "$argon2id$fake")
        .await
        .unwrap()
        .expect("new account")
        .id
}

fn response(project_id: i64, public_id: &str) -> NewResponse {
    NewResponse {
        public_id: public_id.to_string(),
        project_id,
        answers: r#"{"q1":"yes"}"#.into(),
        embedded: "{}".into(),
        started_at: Some(1),
        finished_at: 2,
        provenance: Default::default(),
    }
}

#[tokio::test]
async fn an_email_signs_up_once() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        account(&store, "ada@example.com").await;
        let again = store
            .create_account(&Email::parse("ADA@example.com").unwrap(), &DisplayName::parse("Ada").unwrap(), "x")
            .await
            .unwrap();
        assert!(again.is_none(), "{}", db.url);
    }
}

#[tokio::test]
async fn a_stranger_cannot_see_a_project_and_a_viewer_sees_it_as_viewer() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let owner = account(&store, "owner@example.com").await;
        let viewer = account(&store, "viewer@example.com").await;
        let stranger = account(&store, "stranger@example.com").await;
        let p = store.create_project(owner, &ProjectName::parse("NPS").unwrap(), "slug1").await.unwrap();
        store.share_project(p, viewer, Role::Viewer, false).await.unwrap();

        assert_eq!(store.project_for(p, owner).await.unwrap().unwrap().role, Role::Owner);
        assert_eq!(store.project_for(p, viewer).await.unwrap().unwrap().role, Role::Viewer);
        assert!(store.project_for(p, stranger).await.unwrap().is_none());
        assert_eq!(store.projects_of(viewer).await.unwrap().len(), 1);
        assert_eq!(store.projects_of(stranger).await.unwrap().len(), 0);

        store.share_project(p, viewer, Role::Editor, false).await.unwrap();
        assert_eq!(store.project_for(p, viewer).await.unwrap().unwrap().role, Role::Editor);
        assert!(store.revoke_share(p, viewer).await.unwrap());
        assert!(store.project_for(p, viewer).await.unwrap().is_none());

        store.delete_project(p).await.unwrap();
        assert!(store.project_for(p, owner).await.unwrap().is_none());
        assert!(store.survey_by_slug("slug1").await.unwrap().unwrap().project_deleted);
    }
}

#[tokio::test]
async fn concurrent_saves_of_a_survey_never_overwrite_each_other_blind() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let owner = account(&store, "owner@example.com").await;
        let p = store.create_project(owner, &ProjectName::parse("NPS").unwrap(), "slug2").await.unwrap();
        let survey = store.survey(p).await.unwrap().unwrap();
        let mut def = SurveyDefinition::default();
        def.add_question(QuestionText::parse("Why?").unwrap(), QuestionKind::Email, true).unwrap();
        assert!(store.save_definition(p, &def, survey.version).await.unwrap());
        assert!(!store.save_definition(p, &def, survey.version).await.unwrap(), "a stale version must not save");
        let saved = store.survey(p).await.unwrap().unwrap();
        assert_eq!(saved.definition, def);
        store.set_survey_status(p, SurveyStatus::Published).await.unwrap();
        assert_eq!(store.survey(p).await.unwrap().unwrap().status, SurveyStatus::Published);
    }
}

#[tokio::test]
async fn a_response_submitted_twice_is_stored_once() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let owner = account(&store, "owner@example.com").await;
        let p = store.create_project(owner, &ProjectName::parse("NPS").unwrap(), "slug3").await.unwrap();
        let writer = store.response_writer();
        let id = "R_0123456789012345678901";
        assert_eq!(writer.submit(response(p, id)).await.unwrap(), Submitted::Stored);
        assert_eq!(writer.submit(response(p, id)).await.unwrap(), Submitted::AlreadyStored);
        assert_eq!(store.survey(p).await.unwrap().unwrap().response_count, 1);
        assert_eq!(store.responses(p, None, 10).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn concurrent_responses_share_commits_and_all_land() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let owner = account(&store, "owner@example.com").await;
        let p = store.create_project(owner, &ProjectName::parse("NPS").unwrap(), "slug4").await.unwrap();
        let writer = store.response_writer();
        let mut tasks = Vec::new();
        for i in 0..300 {
            let w = writer.clone();
            tasks.push(tokio::spawn(async move { w.submit(response(p, &format!("R_{i:022}"))).await }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), Submitted::Stored);
        }
        assert_eq!(store.survey(p).await.unwrap().unwrap().response_count, 300);
        let mut seen = 0;
        let mut after = 0;
        loop {
            let page = store.responses_after(p, after, 128).await.unwrap();
            if page.is_empty() {
                break;
            }
            seen += page.len();
            after = page.last().unwrap().id;
        }
        assert_eq!(seen, 300);
    }
}

#[tokio::test]
async fn a_bad_response_in_a_group_fails_alone() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let owner = account(&store, "owner@example.com").await;
        let p = store.create_project(owner, &ProjectName::parse("NPS").unwrap(), "slug5").await.unwrap();
        let writer = store.response_writer();
        let good = tokio::spawn({
            let w = writer.clone();
            async move { w.submit(response(p, "R_good00000000000000000")).await }
        });
        let bad = tokio::spawn({
            let w = writer.clone();
            // No such project: the foreign key refuses it.
            async move { w.submit(response(p + 1000, "R_bad000000000000000000")).await }
        });
        assert_eq!(good.await.unwrap().unwrap(), Submitted::Stored);
        assert!(bad.await.unwrap().is_err());
    }
}

#[tokio::test]
async fn api_tokens_stop_working_when_revoked() {
    for db in TestDatabase::all().await {
        let sealer = store::sealed::Sealer::from_encoded_key(Some(&store::sealed::Sealer::generate_key())).unwrap();
        let store = db.store().await.with_sealer(sealer);
        let owner = account(&store, "owner@example.com").await;
        let id = store.create_api_token(owner, "ci", "hash1", &store::sealed::Secret::new("ins_token")).await.unwrap();
        assert_eq!(store.take_api_token_reveal(owner, id).await.unwrap().map(|s| s.expose().to_string()).as_deref(), Some("ins_token"));
        assert_eq!(store.account_for_api_token("hash1").await.unwrap(), Some(owner));
        assert!(store.revoke_api_token(owner, id).await.unwrap());
        assert_eq!(store.account_for_api_token("hash1").await.unwrap(), None);
    }
}

#[tokio::test]
async fn the_same_response_twice_in_one_group_is_stored_once() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let owner = account(&store, "owner@example.com").await;
        let p = store.create_project(owner, &ProjectName::parse("NPS").unwrap(), "slug6").await.unwrap();
        let writer = store.response_writer();
        let id = "R_twice0000000000000000";
        let (a, b, c) = tokio::join!(writer.submit(response(p, id)), writer.submit(response(p, id)), writer.submit(response(p, "R_other0000000000000000")));
        let mut outcomes = vec![a.unwrap(), b.unwrap()];
        outcomes.sort_by_key(|o| *o == Submitted::AlreadyStored);
        assert_eq!(outcomes, [Submitted::Stored, Submitted::AlreadyStored]);
        assert_eq!(c.unwrap(), Submitted::Stored);
        assert_eq!(store.survey(p).await.unwrap().unwrap().response_count, 2);
    }
}

#[tokio::test]
async fn a_survey_signing_key_is_sealed_kept_and_replaced() {
    use store::sealed::{Secret, Sealer};
    for db in TestDatabase::all().await {
        let store = db.store().await.with_sealer(Sealer::from_encoded_key(Some(&Sealer::generate_key())).unwrap());
        let owner = account(&store, "owner@example.com").await;
        let p = store.create_project(owner, &ProjectName::parse("NPS").unwrap(), "slugk").await.unwrap();
        assert!(store.survey_link_key(p).await.unwrap().is_none());

        let first = store.first_survey_link_key(p, &Secret::new("aa".repeat(32))).await.unwrap();
        let second = store.first_survey_link_key(p, &Secret::new("bb".repeat(32))).await.unwrap();
        assert_eq!((first.expose(), second.expose()), ("aa".repeat(32).as_str(), "aa".repeat(32).as_str()), "a second first use keeps the key in force");
        let (sealed,): (String,) = sqlx::query_as("SELECT sealed_key FROM survey_link_keys WHERE project_id = $1").bind(p).fetch_one(store.pool()).await.unwrap();
        assert!(!sealed.contains("aaaa"), "the key is sealed at rest");

        store.replace_survey_link_key(p, &Secret::new("cc".repeat(32))).await.unwrap();
        assert_eq!(store.survey_link_key(p).await.unwrap().unwrap().expose(), "cc".repeat(32));
    }
}

#[tokio::test]
async fn a_response_keeps_where_its_embedded_data_came_from() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let owner = account(&store, "owner@example.com").await;
        let p = store.create_project(owner, &ProjectName::parse("NPS").unwrap(), "slugp").await.unwrap();
        let writer = store.response_writer();
        let mut signed = response(p, "R_signed000000000000000");
        signed.provenance = domain::EmbeddedProvenance::SignedLink;
        writer.submit(signed).await.unwrap();
        writer.submit(response(p, "R_plain0000000000000000")).await.unwrap();
        let stored = |id: &'static str| {
            let store = store.clone();
            async move { store.response(p, id).await.unwrap().unwrap().provenance() }
        };
        assert_eq!(stored("R_signed000000000000000").await, domain::EmbeddedProvenance::SignedLink);
        assert_eq!(stored("R_plain0000000000000000").await, domain::EmbeddedProvenance::Unsigned);
    }
}
