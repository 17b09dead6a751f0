//! The application as `serve`, `worker` and the web tests build it: one
//! `Config`, one `App::build`, and every use case asked of the `App`. Each
//! runs on SQLite and PostgreSQL.

use app::{App, AppError, Config};
use domain::{DisplayName, Email, ProjectName, QuestionKind, QuestionText, Role, SurveyStatus};
use store::testing::TestDatabase;

fn config(db: &TestDatabase, key: &str) -> Config {
    let mut config = Config::new(db.url.clone());
    config.secret_key = Some(key.to_string());
    config
}

async fn account(app: &App, email: &str, name: &str) -> app::accounts::Account {
    app.create_account_with_confirmed_address(&Email::parse(email).unwrap(), &DisplayName::parse(name).unwrap(), "not-a-real-hash").await.unwrap().unwrap()
}

#[tokio::test]
async fn the_app_starts_only_with_a_secret_key() {
    let db = TestDatabase::sqlite();
    let missing = App::build(&Config::new(db.url.clone())).await;
    assert!(matches!(missing, Err(app::StartError::SecretKey(_))));
    let mut salesforce_without_address = config(&db, &app::generate_secret_key());
    salesforce_without_address.salesforce = Some(app::SalesforceConfig {
        client_id: "id".into(),
        client_secret: "secret".into(),
        production_login_url: "https://127.0.0.1:9".into(),
        sandbox_login_url: "https://127.0.0.1:9".into(),
        trusted_hosts: Vec::new(),
    });
    assert!(matches!(App::build(&salesforce_without_address).await, Err(app::StartError::NoPublicUrl)));
}

#[tokio::test]
async fn a_viewer_sees_the_survey_but_cannot_change_it() {
    for db in TestDatabase::all().await {
        let app = App::build(&config(&db, &app::generate_secret_key())).await.expect("build the app");
        let olive = account(&app, "olive@example.com", "Olive Owner").await;
        let vic = account(&app, "vic@example.com", "Vic Viewer").await;
        let id = app.create_project(olive.id, &ProjectName::parse("Renewal").unwrap()).await.unwrap();
        let owners_view = app.project(olive.id, id).await.unwrap();
        assert!(matches!(app.project(vic.id, id).await, Err(AppError::NotFound)), "a stranger is told nothing");

        app.change_survey(&owners_view, |def| def.add_question(QuestionText::parse("Why?").unwrap(), QuestionKind::Text { multiline: false }, true).map(|_| ()))
            .await
            .unwrap();
        app.share(&owners_view, &olive, &Email::parse("vic@example.com").unwrap(), Role::Viewer, false).await.unwrap();
        assert!(matches!(app.project(vic.id, id).await, Err(AppError::NotFound)), "an invitation shares nothing until it is accepted");
        let invitations = app.invitations_for(&vic).await.unwrap();
        assert_eq!(invitations.len(), 1);
        assert_eq!(app.accept_invitation(&vic, invitations[0].id).await.unwrap(), id);
        let viewers_view = app.project(vic.id, id).await.unwrap();
        assert_eq!(app.survey(&viewers_view).await.unwrap().definition.questions.len(), 1);

        let refused = app.change_survey(&viewers_view, |def| def.add_question(QuestionText::parse("Mine").unwrap(), QuestionKind::Email, false).map(|_| ())).await;
        assert!(matches!(refused, Err(AppError::ViewOnly { .. })), "{refused:?}");
        assert!(matches!(app.set_survey_status(&viewers_view, SurveyStatus::Published).await, Err(AppError::ViewOnly { .. })));
        assert!(matches!(app.rename_project(&viewers_view, &ProjectName::parse("Vic's").unwrap()).await, Err(AppError::OwnerOnly { .. })));
        assert!(matches!(app.delete_project(&viewers_view, vic.id, "Renewal").await, Err(AppError::OwnerOnly { .. })));
        assert!(matches!(app.regenerate_signing_key(&viewers_view).await, Err(AppError::SignersOnly { .. })));
        assert_eq!(app.survey(&owners_view).await.unwrap().definition.questions.len(), 1, "nothing changed");

        app.set_survey_status(&owners_view, SurveyStatus::Published).await.unwrap();
        let slug = app.survey(&owners_view).await.unwrap().slug;
        assert_eq!(app.open_survey(&slug).await.unwrap().project_id, id);
        app.delete_project(&owners_view, olive.id, "Renewal").await.unwrap();
        assert!(matches!(app.open_survey(&slug).await, Err(AppError::SurveyDeleted)));
        app.close().await;
    }
}

#[tokio::test]
async fn an_api_token_is_its_accounts_alone() {
    for db in TestDatabase::all().await {
        let app = App::build(&config(&db, &app::generate_secret_key())).await.expect("build the app");
        let olive = account(&app, "olive@example.com", "Olive Owner").await;
        let eve = account(&app, "eve@example.com", "Eve").await;
        assert!(matches!(app.create_api_token(olive.id, "  ").await, Err(AppError::Invalid(_))));
        let id = app.create_api_token(olive.id, "nightly export").await.unwrap();
        assert_eq!(app.reveal_api_token(eve.id, id).await.unwrap(), None, "not Eve's to see");
        let token = app.reveal_api_token(olive.id, id).await.unwrap().expect("shown once");
        assert_eq!(app.reveal_api_token(olive.id, id).await.unwrap(), None, "and only once");
        assert!(token.starts_with(app::tokens::TOKEN_PREFIX));
        assert_eq!(app.account_for_api_token(&token).await.unwrap(), Some(olive.id));
        assert_eq!(app.account_for_api_token(token.trim_start_matches(app::tokens::TOKEN_PREFIX)).await.unwrap(), None, "the prefix is part of it");
        let made = app.api_tokens(olive.id).await.unwrap().remove(0);
        assert!(matches!(app.revoke_api_token(eve.id, made.id).await, Err(AppError::NotFound)), "not Eve's to revoke");
        app.revoke_api_token(olive.id, made.id).await.unwrap();
        assert_eq!(app.account_for_api_token(&token).await.unwrap(), None);
        app.close().await;
    }
}
