use crate::helpers::{apps, hidden_value, inline_style_in, Browser, TestApp};
use reqwest::StatusCode;
use store::results::FinishedBetween;

/// An owner's published survey (q1 plan, q2 channels, q3 seats, q4
/// recommend, q5 comments) answered by four respondents.
async fn answered(app: &TestApp) -> (Browser, i64) {
    let b = Browser::new(app);
    b.sign_up("owner@example.com", "Olive").await;
    let id = b.create_project("Results").await;
    b.add_question(id, "single_choice", "Plan", "Free\nPro", false).await;
    b.add_question(id, "multiple_choice", "Channels", "Email\nPhone\nChat", false).await;
    b.add_question(id, "number", "Seats", "", false).await;
    b.add_question(id, "nps", "Recommend", "", false).await;
    b.add_question(id, "text", "Comments", "", false).await;
    let link = b.publish(id).await;
    let answers: [&[(&str, &str)]; 4] = [
        &[("q1", "Pro"), ("q2", "Email"), ("q2", "Chat"), ("q3", "1"), ("q4", "10"), ("q5", "Great")],
        &[("q1", "Pro"), ("q2", "Email"), ("q3", "2"), ("q4", "9")],
        &[("q1", "Free"), ("q3", "4"), ("q4", "7")],
        &[("q3", "10"), ("q4", "3"), ("q5", "Slow")],
    ];
    for fields in answers {
        let r = Browser::new(app);
        let (_, html) = r.get_text(&link).await;
        let rid = hidden_value(&html, "_rid").unwrap();
        let mut all = vec![("_rid", rid.as_str())];
        all.extend_from_slice(fields);
        assert_eq!(r.post_form(&link, &all).await.status(), StatusCode::SEE_OTHER);
    }
    (b, id)
}

fn section<'a>(html: &'a str, q: &str) -> &'a str {
    let start = html.find(&format!("data-question=\"{q}\"")).unwrap_or_else(|| panic!("no {q}"));
    let rest = &html[start..];
    &rest[..rest.find("</section>").unwrap()]
}

#[tokio::test]
async fn results_count_choices_score_nps_and_summarise_numbers() {
    for app in apps().await {
        let (owner, id) = answered(&app).await;
        let (status, html) = owner.get_text(&format!("/projects/{id}/results")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("4 responses in this range"));
        let plan = section(&html, "q1");
        assert!(plan.contains("3 answered") && plan.contains("1 skipped"), "{plan}");
        assert!(plan.contains("<td>2</td><td>66.67 %</td>"), "{plan}");
        assert!(plan.contains("<svg") && plan.contains("<title>Plan</title>"));
        let channels = section(&html, "q2");
        assert!(channels.contains("more than 100 %") && channels.contains("<td>2</td><td>100 %</td>"), "{channels}");
        let seats = section(&html, "q3");
        assert!(seats.contains("data-testid=\"mean\">4.25<") && seats.contains("data-testid=\"median\">3<"), "{seats}");
        // 2 promoters, 1 passive, 1 detractor of 4: 25.
        let nps = section(&html, "q4");
        assert!(nps.contains("data-testid=\"nps-score\">25<") && nps.contains("data-testid=\"promoters\">2<"), "{nps}");
        let comments = section(&html, "q5");
        assert!(comments.find("Slow").unwrap() < comments.find("Great").unwrap(), "newest first");
        assert_eq!(inline_style_in(&html), None, "the CSP forbids style attributes");
    }
}

#[tokio::test]
async fn a_date_range_counts_only_its_days_and_a_bad_date_says_so() {
    for app in apps().await {
        let (owner, id) = answered(&app).await;
        let (_, html) = owner.get_text(&format!("/projects/{id}/results?from=2001-01-01&to=2001-01-31")).await;
        assert!(html.contains("0 responses in this range") && html.contains("No answers to this question"));
        let (status, html) = owner.get_text(&format!("/projects/{id}/results?from=yesterday")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("is not a date") && html.contains("value=\"yesterday\""));
    }
}

#[tokio::test]
async fn a_chart_downloads_as_an_svg_attachment_for_the_range() {
    for app in apps().await {
        let (owner, id) = answered(&app).await;
        let resp = owner.get(&format!("/projects/{id}/results/q1.svg")).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "image/svg+xml");
        assert!(resp.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
        assert!(resp.text().await.unwrap().starts_with("<svg"));
        let empty = owner.get(&format!("/projects/{id}/results/q1.svg?from=2001-01-01&to=2001-01-02")).await;
        assert_eq!(empty.status(), StatusCode::NOT_FOUND, "no answers in the range, no chart");
    }
}

#[tokio::test]
async fn a_stranger_sees_no_results_just_as_no_responses() {
    for app in apps().await {
        let (_, id) = answered(&app).await;
        let stranger = Browser::new(&app);
        stranger.sign_up("stranger@example.com", "Sam").await;
        let (table, _) = stranger.get_text(&format!("/projects/{id}/responses")).await;
        let (results, html) = stranger.get_text(&format!("/projects/{id}/results")).await;
        assert_eq!(results, table);
        assert_eq!(results, StatusCode::NOT_FOUND);
        assert!(!html.contains("Pro"));
        assert_eq!(stranger.get(&format!("/projects/{id}/results/q1.svg")).await.status(), StatusCode::NOT_FOUND);
        let visitor = Browser::new(&app);
        let resp = visitor.get(&format!("/projects/{id}/results")).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "sign in first");
    }
}

#[tokio::test]
async fn a_survey_without_questions_or_without_answers_in_the_range_says_so() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.sign_up("owner@example.com", "Olive").await;
        let empty = b.create_project("Not built yet").await;
        let (status, html) = b.get_text(&format!("/projects/{empty}/results")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("This survey has no questions yet"), "{html}");
        assert!(!html.contains("<svg"));

        let quiet = b.create_project("Nobody answered").await;
        b.add_question(quiet, "nps", "Recommend", "", false).await;
        b.add_question(quiet, "text", "Comments", "", false).await;
        b.publish(quiet).await;
        let (status, html) = b.get_text(&format!("/projects/{quiet}/results?from=2026-01-01&to=2026-01-31")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("0 responses in this range"));
        assert_eq!(html.matches("No answers to this question in this range.").count(), 2, "{html}");
        assert!(!html.contains("<svg") && !html.contains("Download chart"));
        assert_eq!(b.get(&format!("/projects/{quiet}/results/q1.svg")).await.status(), StatusCode::NOT_FOUND);
    }
}

/// Answers the survey at `link` as a new respondent.
async fn respond(app: &TestApp, link: &str, fields: &[(&str, &str)]) {
    let r = Browser::new(app);
    let (_, html) = r.get_text(link).await;
    let rid = hidden_value(&html, "_rid").unwrap();
    let mut all = vec![("_rid", rid.as_str())];
    all.extend_from_slice(fields);
    assert_eq!(r.post_form(link, &all).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn counted_results_equal_the_live_query_after_display_logic_and_a_deleted_question() {
    for app in apps().await {
        let (owner, id) = answered(&app).await;
        // Comments asked only of detractors; then the answered plan question
        // is deleted (hidden, answers kept) and more respondents come.
        let page = format!("/projects/{id}/survey");
        let r = owner.submit(&page, &format!("{page}/questions/q5/logic"), &[("source", "q4"), ("op", "at_most"), ("value", "6")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        let link = owner.publish(id).await;
        respond(&app, &link, &[("q1", "Free"), ("q2", "Phone"), ("q3", "2.5"), ("q4", "2"), ("q5", "Too slow")]).await;
        respond(&app, &link, &[("q1", "Pro"), ("q4", "10"), ("q5", "Not asked, not stored")]).await;
        let r = owner.submit(&page, &format!("{page}/questions/q1/delete"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        respond(&app, &link, &[("q2", "Chat"), ("q2", "Phone"), ("q3", "7"), ("q4", "6"), ("q5", "Meh")]).await;

        let survey = app.store.survey(id).await.unwrap().unwrap();
        assert!(survey.definition.questions[0].removed);
        let tallied: Vec<&str> = survey.definition.questions.iter().filter(|q| q.kind.results_count_values()).map(|q| q.id.as_str()).collect();
        let today = store::now_ms() - store::now_ms() % 86_400_000;
        for range in [FinishedBetween::ALL_TIME, FinishedBetween { from: today, to: today + 86_400_000 }, FinishedBetween { from: today - 86_400_000, to: today }] {
            let counted = app.store.answer_tallies(id, range, &tallied).await.unwrap();
            assert_eq!(counted, app.store.live_answer_tallies(id, range, &tallied).await.unwrap(), "{range:?}");
            assert_eq!(app.store.responses_between(id, range).await.unwrap(), app.store.live_responses_between(id, range).await.unwrap());
        }
        let (_, html) = owner.get_text(&format!("/projects/{id}/results")).await;
        assert!(html.contains("7 responses in this range"), "{html}");
        let plan = section(&html, "q1");
        assert!(plan.contains("5 answered") && plan.contains("2 skipped"), "the deleted question keeps its counts: {plan}");
        let comments = section(&html, "q5");
        assert!(comments.contains("Meh") && !comments.contains("Not asked"), "{comments}");
    }
}
