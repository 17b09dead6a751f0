use crate::helpers::{apps, Browser};
use reqwest::StatusCode;

#[tokio::test]
async fn an_owner_creates_renames_and_deletes_a_project_with_confirmation() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.sign_up("owner@example.com", "Olive Owner").await;
        let id = b.create_project("Onboarding survey").await;
        let (_, html) = b.get_text("/projects").await;
        assert!(html.contains("Onboarding survey") && html.contains("Draft"));

        let settings = format!("/projects/{id}/settings");
        // The highlighted tab is the page one is on; Settings is none of the tabs.
        let (_, page) = b.get_text(&settings).await;
        assert!(!page.contains("class=\"active\""), "no tab highlighted on Settings");
        let (_, page) = b.get_text(&format!("/projects/{id}/results")).await;
        assert!(page.contains(&format!("class=\"active\" href=\"/projects/{id}/results\"")), "Results highlighted on Results");
        let r = b.submit(&settings, &format!("/projects/{id}/rename"), &[("name", "Onboarding CSAT")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(b.get_text("/projects").await.1.contains("Onboarding CSAT"));

        let r = b.submit(&settings, &format!("/projects/{id}/delete"), &[("confirm", "wrong name")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(b.get_text("/projects").await.1.contains("Onboarding CSAT"), "a mistyped confirmation deletes nothing");

        let r = b.submit(&settings, &format!("/projects/{id}/delete"), &[("confirm", "Onboarding CSAT")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(!b.get_text("/projects").await.1.contains("Onboarding CSAT"));
        assert_eq!(b.get(&format!("/projects/{id}/survey")).await.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_stranger_gets_404_for_every_page_and_form_of_a_project() {
    for app in apps().await {
        let owner = Browser::new(&app);
        owner.sign_up("owner@example.com", "Olive").await;
        let id = owner.create_project("Private").await;
        let stranger = Browser::new(&app);
        stranger.sign_up("stranger@example.com", "Sam").await;
        for page in ["survey", "responses", "responses.csv", "sharing", "settings"] {
            assert_eq!(stranger.get(&format!("/projects/{id}/{page}")).await.status(), StatusCode::NOT_FOUND, "{page}");
        }
        let action = format!("/projects/{id}/survey/questions");
        let r = stranger.submit("/projects", &action, &[("type", "text"), ("text", "Injected?")]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(!owner.get_text(&format!("/projects/{id}/survey")).await.1.contains("Injected?"));
    }
}

#[tokio::test]
async fn a_viewer_sees_the_project_but_the_server_refuses_every_edit() {
    for app in apps().await {
        let owner = Browser::new(&app);
        owner.sign_up("owner@example.com", "Olive Owner").await;
        let id = owner.create_project("Shared survey").await;
        owner.add_question(id, "text", "What went well?", "", true).await;
        let viewer = Browser::new(&app);
        viewer.sign_up("viewer@example.com", "Vic Viewer").await;
        let sharing = format!("/projects/{id}/sharing");
        let (status, _) = owner.share(&viewer, id, &[("email", "viewer@example.com"), ("role", "viewer")]).await;
        assert_eq!(status, StatusCode::OK);

        let (status, html) = viewer.get_text(&format!("/projects/{id}/survey")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("What went well?"));
        assert!(html.contains("Olive Owner"), "the original owner is shown");
        assert!(!html.contains("Add a question"), "no edit forms for a viewer");
        assert!(viewer.get_text("/projects").await.1.contains("Shared survey"));

        // The page hides the forms; the server must refuse them anyway. The
        // viewer borrows a CSRF token from a page it may see.
        let page = format!("/projects/{id}/survey");
        let r = viewer.submit(&page, &format!("{page}/questions"), &[("type", "text"), ("text", "Viewer's question")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.text().await.unwrap().contains("Olive Owner"), "the refusal names whom to ask");
        let r = viewer.submit(&page, &format!("{page}/publish"), &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = viewer.submit(&page, &format!("{page}/questions/q1/delete"), &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = viewer.submit(&page, &sharing, &[("email", "viewer@example.com"), ("role", "editor")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "a viewer cannot promote itself");
        let r = viewer.submit(&page, &format!("/projects/{id}/delete"), &[("confirm", "Shared survey")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        let survey = app.store.survey(id).await.unwrap().unwrap();
        assert_eq!(survey.definition.questions.len(), 1);
        assert_eq!(survey.status, domain::SurveyStatus::Draft);
    }
}

#[tokio::test]
async fn an_editor_builds_the_survey_but_cannot_share_or_delete() {
    for app in apps().await {
        let owner = Browser::new(&app);
        owner.sign_up("owner@example.com", "Olive").await;
        let id = owner.create_project("Team survey").await;
        let editor = Browser::new(&app);
        editor.sign_up("editor@example.com", "Eddie").await;
        let sharing = format!("/projects/{id}/sharing");
        owner.share(&editor, id, &[("email", "editor@example.com"), ("role", "editor")]).await;

        assert_eq!(editor.add_question(id, "nps", "Recommend us?", "", true).await.status(), StatusCode::SEE_OTHER);
        let r = editor.submit(&sharing, &sharing, &[("email", "owner@example.com"), ("role", "viewer")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(editor.get(&format!("/projects/{id}/settings")).await.status(), StatusCode::FORBIDDEN);

        let (_, said) = owner.submit_and_follow(&sharing, &format!("{sharing}/{}/revoke", account_id(&app, "editor@example.com").await), &[]).await;
        assert!(said.contains("(editor@example.com) no longer has access to this project."), "{said}");
        assert_eq!(editor.get(&format!("/projects/{id}/survey")).await.status(), StatusCode::NOT_FOUND, "revoked means gone");
    }
}

#[tokio::test]
async fn sharing_with_an_unknown_email_invites_it_and_says_what_happens_next() {
    for app in apps().await {
        let owner = Browser::new(&app);
        owner.sign_up("owner@example.com", "Olive").await;
        let id = owner.create_project("Team survey").await;
        let sharing = format!("/projects/{id}/sharing");
        let (_, said) = owner.submit_and_follow(&sharing, &sharing, &[("email", "nobody@example.com"), ("role", "viewer")]).await;
        assert!(said.contains("nothing is shared until they accept"), "{said}");
        let r = owner.submit(&sharing, &sharing, &[("email", "owner@example.com"), ("role", "owner")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[tokio::test]
async fn questions_are_added_edited_reordered_and_removed() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.sign_up("owner@example.com", "Olive").await;
        let id = b.create_project("Builder").await;
        let page = format!("/projects/{id}/survey");
        for (kind, text, choices) in [
            ("text", "Your name", ""),
            ("single_choice", "Plan", "Free\nPro"),
            ("multiple_choice", "Channels", "Email\nPhone\nChat"),
            ("number", "Seats", ""),
            ("email", "Email", ""),
            ("nps", "Recommend", ""),
        ] {
            assert_eq!(b.add_question(id, kind, text, choices, false).await.status(), StatusCode::SEE_OTHER, "{kind}");
        }
        let r = b.add_question(id, "single_choice", "Only one choice", "Lonely", false).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("at least two choices"));

        b.submit(&page, &format!("{page}/questions/q6/move"), &[("direction", "up")]).await;
        b.submit(&page, &format!("{page}/questions/q1"), &[("type", "essay"), ("text", "Your full name"), ("required", "on")]).await;
        b.submit(&page, &format!("{page}/questions/q2/delete"), &[]).await;
        let def = app.store.survey(id).await.unwrap().unwrap().definition;
        let ids: Vec<&str> = def.questions.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(ids, ["q1", "q3", "q4", "q6", "q5"]);
        assert_eq!(def.questions[0].text.as_str(), "Your full name");
        assert!(def.questions[0].required);

        let r = b.submit(&page, &format!("{page}/embedded"), &[("name", "contact id")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        b.submit(&page, &format!("{page}/embedded"), &[("name", "contact_id")]).await;
        assert_eq!(app.store.survey(id).await.unwrap().unwrap().definition.embedded.len(), 1);

        let r = b.submit(&page, &format!("{page}/questions"), &[("type", "text"), ("text", "x"), ("surprise", "field")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "unknown form fields are refused");
    }
}

async fn account_id(app: &crate::helpers::TestApp, email: &str) -> i64 {
    app.store.account_by_email(&domain::Email::parse(email).unwrap()).await.unwrap().unwrap().id
}

#[tokio::test]
async fn the_tools_menu_offers_each_member_only_what_they_may_do() {
    for app in apps().await {
        let owner = Browser::new(&app);
        owner.sign_up("olive@example.com", "Olive Owner").await;
        let id = owner.create_project("Shared survey").await;
        let editor = Browser::new(&app);
        editor.sign_up("eddie@example.com", "Eddie Editor").await;
        owner.share(&editor, id, &[("email", "eddie@example.com"), ("role", "editor")]).await;
        let viewer = Browser::new(&app);
        viewer.sign_up("vic@example.com", "Vic Viewer").await;
        owner.share(&viewer, id, &[("email", "vic@example.com"), ("role", "viewer")]).await;

        let tools = |html: &str| {
            let start = html.find("id=\"tools-menu\"").expect("a Tools menu");
            html[start..start + html[start..].find("</details>").unwrap()].to_string()
        };
        let (_, page) = owner.get_text(&format!("/projects/{id}/survey")).await;
        let menu = tools(&page);
        for offered in ["Share project", "Rename or delete project", "Setup Link to Salesforce Account", "Preview the survey"] {
            assert!(menu.contains(offered), "owner: {offered} in {menu}");
        }
        for (who, name) in [(&editor, "editor"), (&viewer, "viewer")] {
            let (_, page) = who.get_text(&format!("/projects/{id}/survey")).await;
            let menu = tools(&page);
            for withheld in ["Share project", "Rename or delete project", "Setup Link to Salesforce Account"] {
                assert!(!menu.contains(withheld), "{name}: no {withheld} in {menu}");
            }
            assert!(menu.contains("Who has access") && menu.contains("Uses Olive Owner's Salesforce link"), "{name}: {menu}");
            assert!(menu.contains("Preview the survey") && menu.contains("Export responses (CSV)"), "{name}: {menu}");
        }
    }
}
