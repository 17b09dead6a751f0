use crate::helpers::{apps, hidden_value, Browser, TestApp};
use reqwest::StatusCode;

/// An owner with a published survey of every question type; returns the
/// owner's browser, the project id and the survey link path.
async fn published(app: &TestApp) -> (Browser, i64, String) {
    let b = Browser::new(app);
    b.sign_up("owner@example.com", "Olive").await;
    let id = b.create_project("Customer survey").await;
    b.add_question(id, "text", "Your name", "", true).await; // q1
    b.add_question(id, "single_choice", "Plan", "Free\nPro", false).await; // q2
    b.add_question(id, "multiple_choice", "Channels", "Email\nPhone\nChat", false).await; // q3
    b.add_question(id, "number", "Seats", "", false).await; // q4
    b.add_question(id, "email", "Email", "", false).await; // q5
    b.add_question(id, "nps", "Recommend", "", true).await; // q6
    let page = format!("/projects/{id}/survey");
    b.submit(&page, &format!("{page}/embedded"), &[("name", "case_id")]).await;
    let link = b.publish(id).await;
    (b, id, link)
}

fn respondent(app: &TestApp) -> Browser {
    Browser::new(app)
}

#[tokio::test]
async fn a_respondent_answers_and_the_owner_sees_it_in_the_table_and_csv() {
    for app in apps().await {
        let (owner, id, link) = published(&app).await;
        let r = respondent(&app);
        let (status, html) = r.get_text(&format!("{link}?case_id=500xx0000001&utm=ignored")).await;
        assert_eq!(status, StatusCode::OK);
        let rid = hidden_value(&html, "_rid").unwrap();
        let started = hidden_value(&html, "_started").unwrap();
        assert_eq!(hidden_value(&html, "e.case_id").as_deref(), Some("500xx0000001"));
        assert!(!html.contains("utm"), "undeclared link parameters are not carried");

        let resp = r
            .post_form(&link, &[
                ("_rid", &rid), ("_started", &started), ("e.case_id", "500xx0000001"),
                ("q1", "Ada"), ("q2", "Pro"), ("q3", "Chat"), ("q3", "Email"), ("q4", "12"), ("q5", "ada@example.com"), ("q6", "9"),
            ])
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let thanks = resp.headers()["location"].to_str().unwrap().to_string();
        let (_, html) = r.get_text(&thanks).await;
        assert!(html.contains("Thank you") && html.contains(&rid));

        let stored = app.store.response(id, &rid).await.unwrap().expect("durable before thank-you");
        assert!(stored.started_at.is_some());
        assert_eq!(stored.embedded_map()["case_id"], "500xx0000001");

        let (_, table) = owner.get_text(&format!("/projects/{id}/responses")).await;
        assert!(table.contains(&rid) && table.contains("Email; Chat") && table.contains("500xx0000001"));
        let (_, detail) = owner.get_text(&format!("/projects/{id}/responses/{rid}")).await;
        assert!(detail.contains("ada@example.com"));

        let csv = owner.get(&format!("/projects/{id}/responses.csv")).await;
        assert_eq!(csv.status(), StatusCode::OK);
        assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let text = csv.text().await.unwrap();
        let mut reader = csv_reader(&text);
        let header = reader.next().unwrap();
        assert_eq!(header[0], "response_id");
        assert_eq!(header.last().unwrap(), "case_id");
        let row = reader.next().unwrap();
        assert_eq!(row[0], rid);
        assert_eq!(row[3], "Ada");
        assert_eq!(row[5], "Email; Chat");
        assert_eq!(row[6], "12");
        assert_eq!(row[8], "9");
        assert!(reader.next().is_none());
    }
}

fn csv_reader(text: &str) -> impl Iterator<Item = Vec<String>> + '_ {
    // A tiny reader for the test: fields never contain quotes or commas here.
    text.lines().map(|l| l.split(',').map(|f| f.trim_matches('"').to_string()).collect())
}

#[tokio::test]
async fn missing_and_invalid_answers_are_explained_and_nothing_is_stored() {
    for app in apps().await {
        let (_, id, link) = published(&app).await;
        let r = respondent(&app);
        let (_, html) = r.get_text(&link).await;
        let rid = hidden_value(&html, "_rid").unwrap();
        let resp = r.post_form(&link, &[("_rid", &rid), ("q2", "Enterprise"), ("q4", "lots"), ("q5", "not-an-email"), ("q6", "11")]).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = resp.text().await.unwrap();
        for message in ["This question needs an answer.", "is not one of the choices", "is not a number", "is not a valid email address", "Pick a number from 0 to 10"] {
            assert!(html.contains(message), "missing message {message:?}");
        }
        assert_eq!(hidden_value(&html, "_rid").as_deref(), Some(rid.as_str()), "the retry keeps its response id");
        assert!(html.contains("value=\"lots\""), "answers are kept for correction");
        assert_eq!(app.store.survey(id).await.unwrap().unwrap().response_count, 0);
    }
}

#[tokio::test]
async fn a_double_submit_stores_one_response() {
    for app in apps().await {
        let (_, id, link) = published(&app).await;
        let r = respondent(&app);
        let (_, html) = r.get_text(&link).await;
        let rid = hidden_value(&html, "_rid").unwrap();
        let form = [("_rid", rid.as_str()), ("q1", "Ada"), ("q6", "10")];
        let (a, b) = tokio::join!(r.post_form(&link, &form), r.post_form(&link, &form));
        assert_eq!(a.status(), StatusCode::SEE_OTHER);
        assert_eq!(b.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.post_form(&link, &form).await.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.store.survey(id).await.unwrap().unwrap().response_count, 1);
        assert_eq!(app.store.responses(id, None, 10).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn links_of_unpublished_deleted_and_unknown_surveys_say_so() {
    for app in apps().await {
        let (owner, id, link) = published(&app).await;
        let r = respondent(&app);
        assert_eq!(r.get("/s/doesnotexist1").await.status(), StatusCode::NOT_FOUND);

        let page = format!("/projects/{id}/survey");
        owner.submit(&page, &format!("{page}/unpublish"), &[]).await;
        let (status, html) = r.get_text(&link).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(html.contains("not accepting responses"));
        let resp = r.post_form(&link, &[("q1", "Ada"), ("q6", "1")]).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);

        owner.publish(id).await;
        owner.submit(&format!("/projects/{id}/settings"), &format!("/projects/{id}/delete"), &[("confirm", "Customer survey")]).await;
        let (status, html) = r.get_text(&link).await;
        assert_eq!(status, StatusCode::GONE);
        assert!(html.contains("deleted"));
        assert_eq!(app.store.responses(id, None, 10).await.unwrap().len(), 0);
    }
}

#[tokio::test]
async fn malformed_oversized_and_foreign_submissions_are_refused() {
    for app in apps().await {
        let (_, id, link) = published(&app).await;
        let r = respondent(&app);
        let url = format!("{}{link}", app.url);

        let resp = r.post_form(&link, &[("q1", "Ada"), ("q6", "1"), ("q99", "extra")]).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(resp.text().await.unwrap().contains("q99"));

        let resp = r.post_form(&link, &[("_rid", "R_../../etc"), ("q1", "Ada"), ("q6", "1")]).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

        let big = "x".repeat(2 * 1024 * 1024);
        let resp = r.client.post(&url).header("content-type", "application/x-www-form-urlencoded").body(format!("q1={big}&q6=1")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);

        let resp = r.client.post(&url).header("content-type", "application/json").body(r#"{"q1":"Ada"}"#).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

        let long = "y".repeat(3000);
        let (status, _) = r.get_text(&format!("{link}?case_id={long}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        assert_eq!(app.store.survey(id).await.unwrap().unwrap().response_count, 0, "nothing half-written");
    }
}
