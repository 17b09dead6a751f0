//! Editing a live survey never loses collected answers: an answered question
//! is hidden from respondents rather than deleted, and keeps its type; a
//! refused form keeps what was typed; and an edit that breaks a Salesforce
//! mapping says so first and, once confirmed, holds the deliveries.

use crate::helpers::{apps, apps_with_emulator, hidden_value, mapped_survey, org, until, Browser, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

/// A published survey: q1 "Name?" (text), q2 "Why?" (multi-line text).
async fn published_survey(app: &TestApp) -> (Browser, i64, String) {
    let b = Browser::new(app);
    b.sign_up("olive@example.com", "Olive Owner").await;
    let id = b.create_project("Feedback").await;
    b.add_question(id, "text", "Name?", "", false).await;
    b.add_question(id, "essay", "Why?", "", false).await;
    let link = b.publish(id).await;
    (b, id, link)
}

/// Answers the survey as a new respondent; returns the response id.
async fn respond(base: &TestApp, link: &str, answers: &[(&str, &str)]) -> String {
    let r = Browser::new(base);
    let (_, html) = r.get_text(link).await;
    let rid = hidden_value(&html, "_rid").unwrap();
    let mut fields = vec![("_rid", rid.as_str())];
    fields.extend_from_slice(answers);
    let resp = r.post_form(link, &fields).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", resp.text().await.unwrap());
    rid
}

async fn delete_question(b: &Browser, id: i64, qid: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let page = format!("/projects/{id}/survey");
    b.submit(&page, &format!("{page}/questions/{qid}/delete"), fields).await
}

#[tokio::test]
async fn a_deleted_answered_question_keeps_its_answers_in_the_table_the_detail_the_csv_and_the_api() {
    for app in apps().await {
        let (b, id, link) = published_survey(&app).await;
        let rid = respond(&app, &link, &[("q1", "Ada"), ("q2", "Because it works")]).await;

        let r = delete_question(&b, id, "q2", &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());

        let (_, table) = b.get_text(&format!("/projects/{id}/responses")).await;
        assert!(table.contains("Why? (removed question)") && table.contains("Because it works"), "{table}");
        let (_, detail) = b.get_text(&format!("/projects/{id}/responses/{rid}")).await;
        assert!(detail.contains("Why? (removed question)") && detail.contains("Because it works"), "{detail}");
        let csv = b.get(&format!("/projects/{id}/responses.csv")).await.text().await.unwrap();
        assert!(csv.contains("Why? (removed question) (q2)") && csv.contains("Because it works"), "{csv}");

        let token = b.api_token().await;
        let api = reqwest::Client::new();
        let get = |path: String| api.get(format!("{}{path}", app.url)).bearer_auth(&token).send();
        let responses: Value = get(format!("/api/v1/projects/{id}/responses")).await.unwrap().json().await.unwrap();
        assert_eq!(responses["responses"][0]["answers"]["q2"], "Because it works");
        let project: Value = get(format!("/api/v1/projects/{id}")).await.unwrap().json().await.unwrap();
        let q2 = project["survey"]["questions"].as_array().unwrap().iter().find(|q| q["id"] == "q2").cloned().expect("q2 still in the survey");
        assert_eq!(q2["removed"], true);

        // The editor lists it apart, with a way back.
        let (_, editor) = b.get_text(&format!("/projects/{id}/survey")).await;
        assert!(editor.contains("id=\"removed-questions\"") && editor.contains("aria-label=\"Restore q2\""), "{editor}");
    }
}

#[tokio::test]
async fn a_respondent_is_never_shown_a_removed_question_and_an_answer_to_it_is_left_out() {
    for app in apps().await {
        let (b, id, link) = published_survey(&app).await;
        respond(&app, &link, &[("q2", "Before")]).await;
        delete_question(&b, id, "q2", &[]).await;

        let (_, form) = Browser::new(&app).get_text(&link).await;
        assert!(form.contains("Name?") && !form.contains("Why?") && !form.contains("data-question-id=\"q2\""), "{form}");
        // A page loaded before the removal still posts q2: stored, without it.
        let rid = respond(&app, &link, &[("q1", "Ada"), ("q2", "Stale page")]).await;
        let stored = app.store.response(id, &rid).await.unwrap().unwrap();
        assert_eq!(stored.answers_map().keys().collect::<Vec<_>>(), ["q1"]);

        // Restored, it is asked again.
        let page = format!("/projects/{id}/survey");
        let r = b.submit(&page, &format!("{page}/questions/q2/restore"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, form) = Browser::new(&app).get_text(&link).await;
        assert!(form.contains("data-question-id=\"q2\""));
    }
}

#[tokio::test]
async fn an_unanswered_question_is_really_deleted_and_its_id_never_comes_back() {
    for app in apps().await {
        let (b, id, _) = published_survey(&app).await;
        delete_question(&b, id, "q2", &[]).await;
        b.add_question(id, "email", "Email?", "", false).await;
        let def = app.store.survey(id).await.unwrap().unwrap().definition;
        let ids: Vec<&str> = def.questions.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(ids, ["q1", "q3"]);
    }
}

#[tokio::test]
async fn changing_the_type_of_an_answered_question_is_refused_with_what_to_do() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.sign_up("olive@example.com", "Olive Owner").await;
        let id = b.create_project("Seats").await;
        b.add_question(id, "number", "Seats?", "", false).await;
        let link = b.publish(id).await;
        respond(&app, &link, &[("q1", "12")]).await;

        let page = format!("/projects/{id}/survey");
        let r = b.submit(&page, &format!("{page}/questions/q1"), &[("type", "email"), ("text", "Seats wanted?"), ("choices", ""), ("min", ""), ("max", "")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text().await.unwrap();
        assert!(html.contains("Q1 has 1 answer as a number; add a new question instead."), "{html}");
        assert!(html.contains("data-field=\"type\"") && html.contains("value=\"Seats wanted?\""), "the error sits by the type, the text stays typed");
        let def = app.store.survey(id).await.unwrap().unwrap().definition;
        assert_eq!(def.questions[0].kind.type_name(), "number");
        assert_eq!(def.questions[0].text.as_str(), "Seats?");

        // Other changes to it are fine.
        let r = b.submit(&page, &format!("{page}/questions/q1"), &[("type", "number"), ("text", "Seats wanted?"), ("choices", ""), ("min", "1"), ("max", "")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
}

#[tokio::test]
async fn a_refused_question_form_keeps_what_was_typed_and_says_which_field_to_fix() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.sign_up("olive@example.com", "Olive Owner").await;
        let id = b.create_project("Plans").await;
        let r = b.add_question(id, "single_choice", "Which plan do you use?", "", true).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text().await.unwrap();
        assert!(html.contains("value=\"Which plan do you use?\""), "{html}");
        assert!(html.contains("<option value=\"single_choice\" selected>"), "the type stays picked");
        assert!(html.contains("data-field=\"choices\"") && html.contains("Give at least two choices"));
        assert!(html.contains("<textarea name=\"choices\" aria-invalid=\"true\" autofocus>"), "the refused field is marked and has the focus: {html}");
        assert_eq!(html.matches(" autofocus").count(), 1, "one field has the focus");
        assert!(app.store.survey(id).await.unwrap().unwrap().definition.questions.is_empty());
    }
}

#[tokio::test]
async fn deleting_a_mapped_question_names_the_broken_field_and_once_confirmed_holds_deliveries() {
    for sf in apps_with_emulator().await {
        let (b, id, link) = mapped_survey(&sf).await;
        respond(&sf.app, &link, &[("q1", "9"), ("q2", "Quick")]).await;
        until(&sf, id, "delivered", |c| c.delivered == 1).await;

        // First the page that says what breaks; nothing changes yet.
        let r = delete_question(&b, id, "q2", &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        assert!(html.contains("Survey_Response__c.Comment__c takes its value from this question."), "{html}");
        let def = sf.app.store.survey(id).await.unwrap().unwrap().definition;
        assert!(def.question(&domain::QuestionId::parse("q2").unwrap()).is_some(), "not removed before it is confirmed");
        assert_eq!(sf.app.store.integration(id).await.unwrap().unwrap().validated_org_id.as_deref(), Some(org(&sf, true).as_str()));

        // Confirmed: removed, and the mapping no longer counts as validated.
        let r = delete_question(&b, id, "q2", &[("confirm", "yes")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        let def = sf.app.store.survey(id).await.unwrap().unwrap().definition;
        assert!(def.question(&domain::QuestionId::parse("q2").unwrap()).is_none());
        assert_eq!(sf.app.store.integration(id).await.unwrap().unwrap().validated_org_id, None);
        let (_, panel) = b.get_text(&format!("/projects/{id}/salesforce")).await;
        assert!(panel.contains("q2 is no longer a question of this survey."), "the check reports it: {panel}");

        // The next response is held, not failed.
        respond(&sf.app, &link, &[("q1", "7")]).await;
        until(&sf, id, "held", |c| c.held == 1).await;
        let counts = sf.app.store.delivery_counts(id).await.unwrap();
        assert_eq!((counts.delivered, counts.held, counts.failed, counts.pending), (1, 1, 0, 0), "{counts:?}");
    }
}

#[tokio::test]
async fn removing_an_embedded_field_a_mapping_uses_asks_first() {
    for sf in apps_with_emulator().await {
        let (b, id, _) = mapped_survey(&sf).await;
        let page = format!("/projects/{id}/survey");
        b.submit(&page, &format!("{page}/embedded"), &[("name", "channel")]).await;
        let panel = format!("/projects/{id}/salesforce");
        let r = b.submit(&panel, &format!("{panel}/mappings/0/rules"), &[("field", "Survey_Name__c"), ("source", "embedded:channel"), ("value", "")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());

        let r = b.submit(&page, &format!("{page}/embedded/channel/delete"), &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.text().await.unwrap().contains("Survey_Response__c.Survey_Name__c takes its value from this embedded data field."));
        let r = b.submit(&page, &format!("{page}/embedded/channel/delete"), &[("confirm", "yes")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(sf.app.store.survey(id).await.unwrap().unwrap().definition.embedded.is_empty());
        assert_eq!(sf.app.store.integration(id).await.unwrap().unwrap().validated_org_id, None);
    }
}

#[tokio::test]
async fn every_change_of_the_survey_says_what_was_saved() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.sign_up("olive@example.com", "Olive Owner").await;
        let id = b.create_project("Feedback").await;
        let page = format!("/projects/{id}/survey");
        let says = |r: reqwest::Response, message: &'static str| {
            let b = &b;
            async move {
                assert_eq!(r.status(), StatusCode::SEE_OTHER, "a POST ends in a redirect");
                let to = r.headers()["location"].to_str().unwrap().to_string();
                let (_, html) = b.get_text(&to).await;
                assert!(html.contains(&format!("<div class=\"flash ok\" role=\"status\">{message}")), "{to} says {message:?}: {html}");
            }
        };
        says(b.add_question(id, "text", "Name?", "", false).await, "Question added.").await;
        b.add_question(id, "text", "Why?", "", false).await;
        let fields = [("type", "text"), ("text", "Your name?"), ("choices", ""), ("min", ""), ("max", "")];
        says(b.submit(&page, &format!("{page}/questions/q1"), &fields).await, "Question saved.").await;
        says(b.submit(&page, &format!("{page}/questions/q2/move"), &[("direction", "up")]).await, "Question moved.").await;
        says(b.submit(&page, &format!("{page}/embedded"), &[("name", "case_id")]).await, "Embedded data field added.").await;
        says(b.submit(&page, &format!("{page}/embedded/case_id/delete"), &[]).await, "Embedded data field removed.").await;
        says(b.submit(&page, &format!("{page}/publish"), &[]).await, "Published: the survey link takes responses.").await;
        says(b.submit(&page, &format!("{page}/unpublish"), &[]).await, "Unpublished:").await;
        says(b.submit(&page, &format!("{page}/questions/q2/delete"), &[]).await, "Question deleted").await;
        // A made-up code says nothing.
        let (_, html) = b.get_text(&format!("{page}?saved=everything")).await;
        assert!(!html.contains("flash ok"), "{html}");
    }
}
