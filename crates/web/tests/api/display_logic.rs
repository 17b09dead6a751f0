//! Display logic: a question asked only when an earlier answer meets a
//! condition. Respondents are never required to answer a hidden question,
//! an answer sent for it is not stored, and the logic is checked when saved
//! and kept whole by every later edit.

use crate::helpers::{apps, hidden_value, Browser, TestApp};
use reqwest::StatusCode;

/// A published survey: q1 "Which plan?" (Free / Pro, required), q2 "How
/// likely are you to recommend us?" (0–10, required), q3 "Anything else?"
/// (text); q2 is asked only when q1 is Pro.
async fn survey_with_logic(app: &TestApp) -> (Browser, i64, String) {
    let b = Browser::new(app);
    b.sign_up("olive@example.com", "Olive Owner").await;
    let id = b.create_project("Plans").await;
    b.add_question(id, "single_choice", "Which plan?", "Free\nPro", true).await;
    b.add_question(id, "nps", "How likely are you to recommend us?", "", true).await;
    b.add_question(id, "text", "Anything else?", "", false).await;
    let r = set_logic(&b, id, "q2", "q1", "is", "Pro").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let link = b.publish(id).await;
    (b, id, link)
}

async fn set_logic(b: &Browser, id: i64, qid: &str, source: &str, op: &str, value: &str) -> reqwest::Response {
    let page = format!("/projects/{id}/survey");
    b.submit(&page, &format!("{page}/questions/{qid}/logic"), &[("source", source), ("op", op), ("value", value)]).await
}

/// Posts answers as a respondent on a fresh page; answers the response.
async fn respond(app: &TestApp, link: &str, answers: &[(&str, &str)]) -> (reqwest::Response, String) {
    let r = Browser::new(app);
    let (_, html) = r.get_text(link).await;
    let rid = hidden_value(&html, "_rid").unwrap();
    let mut fields = vec![("_rid", rid.as_str())];
    fields.extend_from_slice(answers);
    (r.post_form(link, &fields).await, rid)
}

#[tokio::test]
async fn a_hidden_question_is_not_required_and_an_answer_sent_for_it_is_not_stored() {
    for app in apps().await {
        let (_, id, link) = survey_with_logic(&app).await;

        // The respondent's page carries the condition for the script and in words.
        let (_, form) = Browser::new(&app).get_text(&link).await;
        assert!(form.contains("data-show-if=\"{&quot;question&quot;:&quot;q1&quot;,&quot;test&quot;:{&quot;op&quot;:&quot;is&quot;,&quot;value&quot;:&quot;Pro&quot;}}\""), "{form}");
        assert!(form.contains("Answer this only if “Which plan?” is “Pro”."), "{form}");

        // Free: q2 is hidden, so leaving the required q2 blank is fine.
        let (r, free) = respond(&app, &link, &[("q1", "Free"), ("q3", "Fine")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        // A crafted POST answering the hidden q2 anyway: stored without it.
        let (r, crafted) = respond(&app, &link, &[("q1", "Free"), ("q2", "0")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        // Pro: q2 is asked and required.
        let (r, _) = respond(&app, &link, &[("q1", "Pro")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = r.text().await.unwrap();
        assert!(page.contains("This question needs an answer."), "{page}");
        let (r, pro) = respond(&app, &link, &[("q1", "Pro"), ("q2", "9")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);

        let answers = |rid: String| {
            let store = app.store.clone();
            async move { store.response(id, &rid).await.unwrap().unwrap().answers_map().clone() }
        };
        let free = answers(free).await;
        assert_eq!(free.get("q1").and_then(|v| v.as_str()), Some("Free"));
        assert!(!free.contains_key("q2"));
        assert!(!answers(crafted).await.contains_key("q2"), "the hidden question's answer was not stored");
        assert_eq!(answers(pro).await.get("q2").and_then(|v| v.as_u64()), Some(9));
    }
}

#[tokio::test]
async fn display_logic_is_checked_when_saved_and_a_refused_form_keeps_what_was_typed() {
    for app in apps().await {
        let (b, id, _) = survey_with_logic(&app).await;
        let before = app.store.survey(id).await.unwrap().unwrap().definition;

        let refusals = [
            // (question, source, op, value, what the page says)
            ("q3", "q1", "is", "Enterprise", "Q1: \"Enterprise\" is not one of its choices (Free, Pro)."),
            ("q3", "q1", "includes", "Pro", "\"includes\" does not apply to a question with one answer"),
            ("q3", "q2", "at_least", "11", "A 0–10 score is a whole number from 0 to 10, not 11."),
            ("q3", "q2", "is", "nine", "Enter a number to compare with, not \"nine\"."),
            ("q2", "q3", "answered", "", "so Q3 must come before it"),
            ("q2", "q2", "answered", "", "cannot be shown depending on its own answer"),
            ("q3", "q9", "answered", "", "Pick one of the questions before this one."),
            ("q3", "q1", "between", "1", "\"between\" is not a condition"),
        ];
        for (qid, source, op, value, says) in refusals {
            let r = set_logic(&b, id, qid, source, op, value).await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{qid} {source} {op} {value}");
            let page = r.text().await.unwrap();
            assert!(page.contains(&says.replace('"', "&quot;")), "{says}: {page}");
            // The form comes back open, as typed.
            assert!(page.contains("<details class=\"display-logic\" open"), "{page}");
            assert!(page.contains(&format!("value=\"{}\"", value.replace('"', "&quot;"))), "{page}");
        }
        assert_eq!(app.store.survey(id).await.unwrap().unwrap().definition, before, "no refused form changed the survey");

        // A fitting condition is saved, said so, and shown under its question.
        let r = set_logic(&b, id, "q3", "q2", "at_most", "6").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, page) = b.get_text(r.headers()["location"].to_str().unwrap()).await;
        assert!(page.contains("Display logic saved."), "{page}");
        assert!(page.contains("Shown only when Q2 “How likely are you to recommend us?” is at most 6"), "{page}");
        // Clearing it: "always show".
        let r = set_logic(&b, id, "q3", "", "answered", "").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let def = app.store.survey(id).await.unwrap().unwrap().definition;
        assert!(def.questions[2].show_if.is_none());
        assert!(def.questions[1].show_if.is_some(), "q2's logic untouched");
    }
}

#[tokio::test]
async fn an_edit_that_would_break_display_logic_is_refused_and_changes_nothing() {
    for app in apps().await {
        let (b, id, _) = survey_with_logic(&app).await;
        let before = app.store.survey(id).await.unwrap().unwrap().definition;
        let page = format!("/projects/{id}/survey");

        let r = b.submit(&page, &format!("{page}/questions/q1/delete"), &[]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("Q2 is shown only when Q1 meets its condition, and Q1 would no longer be asked"));
        let r = b.submit(&page, &format!("{page}/questions/q2/move"), &[("direction", "up")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let fields = [("type", "single_choice"), ("text", "Which plan?"), ("choices", "Free\nTeam"), ("min", ""), ("max", ""), ("required", "on")];
        let r = b.submit(&page, &format!("{page}/questions/q1"), &fields).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("&quot;Pro&quot; is not one of its choices"));
        assert_eq!(app.store.survey(id).await.unwrap().unwrap().definition, before);
    }
}

#[tokio::test]
async fn only_an_editor_changes_display_logic() {
    for app in apps().await {
        let (owner, id, _) = survey_with_logic(&app).await;
        let viewer = Browser::new(&app);
        viewer.sign_up("vic@example.com", "Vic Viewer").await;
        owner.share(&viewer, id, &[("email", "vic@example.com"), ("role", "viewer")]).await;
        let stranger = Browser::new(&app);
        stranger.sign_up("sam@example.com", "Sam Stranger").await;
        let before = app.store.survey(id).await.unwrap().unwrap().definition;

        // The viewer sees the logic in words, but no form for it.
        let (_, page) = viewer.get_text(&format!("/projects/{id}/survey")).await;
        assert!(page.contains("Shown only when Q1 “Which plan?” is “Pro”"), "{page}");
        assert!(!page.contains("Save display logic"));
        let r = set_logic(&viewer, id, "q2", "", "answered", "").await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // A stranger borrows a CSRF token from their own page.
        let r = stranger.submit("/projects", &format!("/projects/{id}/survey/questions/q2/logic"), &[("source", ""), ("op", "answered"), ("value", "")]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        // The owner's own session without the CSRF token.
        let r = owner.post_form(&format!("/projects/{id}/survey/questions/q2/logic"), &[("source", ""), ("op", "answered"), ("value", "")]).await;
        assert!(r.status().is_client_error(), "{}", r.status());
        assert_eq!(app.store.survey(id).await.unwrap().unwrap().definition, before);
    }
}
