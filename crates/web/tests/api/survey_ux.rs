//! A survey people would choose: preview, introduction and thank-you
//! message, the progress indicator, copy link and QR code, changing the
//! password and signing out everywhere else, and the favicon. Each feature
//! is tried by the people it is for and by those it is not: a stranger, a
//! viewer, a signed-out visitor or an anonymous respondent.

use crate::helpers::{apps, apps_with_emulator, csrf_in, hidden_value, mapped_draft, records, org, spawn_app_with, Browser, TestApp};
use reqwest::StatusCode;
use std::time::Duration;
use store::testing::TestDatabase;

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

/// Olive owns a draft survey of three questions (a required name, a plan,
/// a required score); returns her browser and the project id.
async fn owner_with_draft(app: &TestApp) -> (Browser, i64) {
    let b = Browser::new(app);
    b.sign_up("olive@example.com", "Olive Owner").await;
    let id = b.create_project("Onboarding survey").await;
    b.add_question(id, "text", "Your name", "", true).await; // q1
    b.add_question(id, "single_choice", "Plan", "Free\nPro", false).await; // q2
    b.add_question(id, "nps", "How likely are you to recommend us?", "", true).await; // q3
    (b, id)
}

/// Someone with an account of their own who is not a member of the project.
async fn stranger(app: &TestApp) -> Browser {
    let b = Browser::new(app);
    b.sign_up("eve@example.com", "Eve Stranger").await;
    b
}

/// Vic, whom the owner shared the project with as viewer.
async fn viewer(app: &TestApp, owner: &Browser, id: i64) -> Browser {
    let v = Browser::new(app);
    v.sign_up("vic@example.com", "Vic Viewer").await;
    let (status, _) = owner.share(&v, id, &[("email", "vic@example.com"), ("role", "viewer")]).await;
    assert_eq!(status, StatusCode::OK, "sharing");
    v
}

async fn save_texts(b: &Browser, id: i64, introduction: &str, thank_you: &str) -> reqwest::Response {
    let page = format!("/projects/{id}/survey");
    b.submit(&page, &format!("{page}/texts"), &[("introduction", introduction), ("thank_you", thank_you)]).await
}

async fn response_count(app: &TestApp, id: i64) -> i64 {
    app.store.survey(id).await.unwrap().unwrap().response_count
}

// ---- Preview ----

#[tokio::test]
async fn a_member_previews_a_draft_as_respondents_see_it_and_nothing_is_stored() {
    for app in apps().await {
        let (owner, id) = owner_with_draft(&app).await;
        save_texts(&owner, id, "Three quick questions.", "Thanks, we read every answer.").await;
        let preview = format!("/projects/{id}/preview");

        let (status, html) = owner.get_text(&preview).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"preview-banner\"") && html.contains("Answers are checked but not stored"), "{html}");
        assert!(html.contains("Your name") && html.contains("How likely are you to recommend us?"));
        assert!(html.contains("Three quick questions."), "the introduction is shown");
        assert!(html.contains(&format!("action=\"{preview}\"")), "the form posts to the preview, not the survey link");
        assert!(!html.contains("class=\"top\""), "no Insight navigation: the respondent's page");

        // Problems are explained beside the questions, what was typed stays.
        let rid = hidden_value(&html, "_rid").unwrap();
        let csrf = csrf_in(&html).unwrap();
        let r = owner.post_form(&preview, &[("csrf", &csrf), ("_rid", &rid), ("q1", "Ada"), ("q2", "Enterprise")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text().await.unwrap();
        assert!(html.contains("preview-banner"), "still a preview");
        assert!(html.contains("value=\"Ada\""), "the answer typed is kept");
        assert!(html.contains("is not one of the choices") && html.contains("This question needs an answer."), "{html}");

        // A good preview response reaches the preview's thank-you page.
        let r = owner.post_form(&preview, &[("csrf", &csrf), ("_rid", &rid), ("q1", "Ada"), ("q2", "Pro"), ("q3", "9")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&r), format!("/projects/{id}/preview/thanks"));
        let (status, thanks) = owner.get_text(&location(&r)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(thanks.contains("preview-banner") && thanks.contains("Thanks, we read every answer."), "{thanks}");

        // Nothing was stored or counted, and the draft stays a draft.
        assert_eq!(response_count(&app, id).await, 0);
        assert!(app.store.responses(id, None, 10).await.unwrap().is_empty());
        assert!(app.store.response(id, &rid).await.unwrap().is_none());
        let (_, survey_page) = owner.get_text(&format!("/projects/{id}/survey")).await;
        assert!(survey_page.contains("Draft."));
        let (_, responses) = owner.get_text(&format!("/projects/{id}/responses")).await;
        assert!(responses.contains("Responses (0)"));

        // A published survey previews the same way, and still stores nothing.
        let link = owner.publish(id).await;
        let r = owner.submit(&preview, &preview, &[("q1", "Bo"), ("q3", "3")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(response_count(&app, id).await, 0);
        // The real link still works and is counted.
        let respondent = Browser::new(&app);
        let (_, form) = respondent.get_text(&link).await;
        assert!(!form.contains("preview-banner"), "respondents see no preview banner");
        let rid = hidden_value(&form, "_rid").unwrap();
        assert_eq!(respondent.post_form(&link, &[("_rid", &rid), ("q1", "Cy"), ("q3", "10")]).await.status(), StatusCode::SEE_OTHER);
        assert_eq!(response_count(&app, id).await, 1);
    }
}

#[tokio::test]
async fn a_viewer_previews_but_strangers_signed_out_visitors_and_forged_forms_do_not() {
    for app in apps().await {
        let (owner, id) = owner_with_draft(&app).await;
        let preview = format!("/projects/{id}/preview");
        let answers = [("q1", "Ada"), ("q3", "9")];

        // A viewer is a member: they may see what respondents will see.
        let vic = viewer(&app, &owner, id).await;
        assert_eq!(vic.get_text(&preview).await.0, StatusCode::OK);
        assert_eq!(vic.submit(&preview, &preview, &answers).await.status(), StatusCode::SEE_OTHER);

        // A stranger learns nothing, not even that the project exists.
        let eve = stranger(&app).await;
        assert_eq!(eve.get(&preview).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(eve.get(&format!("{preview}/thanks")).await.status(), StatusCode::NOT_FOUND);
        let r = eve.submit("/account", &preview, &answers).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);

        // Signed out (an anonymous respondent who guessed the URL): sign in first.
        let anonymous = Browser::new(&app);
        let r = anonymous.get(&preview).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(location(&r).starts_with("/signin"));
        let r = anonymous.post_form(&preview, &answers).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(location(&r).starts_with("/signin"));

        // A form posted from another site carries no CSRF token.
        let r = owner.post_form(&preview, &answers).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = owner.post_form(&preview, &[("csrf", "forged"), ("q1", "Ada"), ("q3", "9")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        assert_eq!(response_count(&app, id).await, 0);
        assert!(app.store.responses(id, None, 10).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn previewing_a_mapped_survey_sends_nothing_to_salesforce() {
    for sf in apps_with_emulator().await {
        let (owner, id) = mapped_draft(&sf).await;
        owner.publish(id).await;
        let preview = format!("/projects/{id}/preview");
        for score in ["3", "9"] {
            let r = owner.submit(&preview, &preview, &[("q1", score), ("q2", "Through the preview")]).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
        }
        // Long enough for a delivery worker to pick up anything queued.
        tokio::time::sleep(Duration::from_millis(700)).await;
        let counts = sf.app.store.delivery_counts(id).await.unwrap();
        assert_eq!((counts.pending, counts.held, counts.delivered, counts.failed), (0, 0, 0, 0), "{counts:?}");
        assert!(records(&sf, &org(&sf, true)).await.is_empty(), "no record reached the org");
        assert_eq!(sf.app.store.survey(id).await.unwrap().unwrap().response_count, 0);
    }
}

// ---- Introduction and thank-you message ----

#[tokio::test]
async fn the_introduction_and_thank_you_message_reach_respondents_as_plain_text() {
    for app in apps().await {
        let (owner, id) = owner_with_draft(&app).await;
        let r = save_texts(&owner, id, "Hello <b>there</b>\r\n<script>alert(1)</script>", "Thank you & <i>goodbye</i>").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&r), format!("/projects/{id}/survey?saved=texts#survey-texts"));
        let (_, page) = owner.get_text(&location(&r)).await;
        assert!(page.contains("Introduction and thank-you message saved."), "the page says what was saved");
        let (_, plain) = owner.get_text(&format!("/projects/{id}/survey")).await;
        assert!(!plain.contains("Introduction and thank-you message saved."), "only right after saving");

        let survey = app.store.survey(id).await.unwrap().unwrap();
        assert_eq!(survey.introduction.as_str(), "Hello <b>there</b>\n<script>alert(1)</script>", "line ends made plain");

        let link = owner.publish(id).await;
        let respondent = Browser::new(&app);
        let (_, form) = respondent.get_text(&link).await;
        assert!(form.contains("Hello &lt;b&gt;there&lt;/b&gt;\n&lt;script&gt;alert(1)&lt;/script&gt;"), "{form}");
        assert!(!form.contains("<script>alert") && !form.contains("<b>there"), "never HTML");

        let rid = hidden_value(&form, "_rid").unwrap();
        let r = respondent.post_form(&link, &[("_rid", &rid), ("q1", "Ada"), ("q3", "8")]).await;
        let (_, thanks) = respondent.get_text(&location(&r)).await;
        assert!(thanks.contains("Thank you &amp; &lt;i&gt;goodbye&lt;/i&gt;"), "{thanks}");
        assert!(thanks.contains(&rid), "the response reference stays");

        // Emptied, the standard words come back.
        save_texts(&owner, id, "", "").await;
        let (_, form) = respondent.get_text(&link).await;
        assert!(!form.contains("survey-intro"));
        let (_, thanks) = respondent.get_text(&format!("{link}/thanks")).await;
        assert!(thanks.contains("has been recorded"));
    }
}

#[tokio::test]
async fn too_long_texts_are_refused_with_what_was_typed_kept() {
    for app in apps().await {
        let (owner, id) = owner_with_draft(&app).await;
        save_texts(&owner, id, "Kept introduction", "Kept thanks").await;
        let long_intro = "x".repeat(2001);
        let r = save_texts(&owner, id, &long_intro, "New thanks").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text().await.unwrap();
        assert!(html.contains("The introduction can be at most 2000 characters; this one has 2001."), "{html}");
        assert!(html.contains(&long_intro) && html.contains("New thanks"), "what was typed stays in the form");

        let r = save_texts(&owner, id, "Fine", &"y".repeat(1001)).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("The thank-you message can be at most 1000 characters"));

        let survey = app.store.survey(id).await.unwrap().unwrap();
        assert_eq!((survey.introduction.as_str(), survey.thank_you.as_str()), ("Kept introduction", "Kept thanks"), "nothing changed");
        // Exactly at the bounds is fine.
        assert_eq!(save_texts(&owner, id, &"x".repeat(2000), &"y".repeat(1000)).await.status(), StatusCode::SEE_OTHER);
    }
}

#[tokio::test]
async fn viewers_strangers_and_signed_out_visitors_cannot_change_the_texts() {
    for app in apps().await {
        let (owner, id) = owner_with_draft(&app).await;
        save_texts(&owner, id, "The owner's words", "").await;
        let action = format!("/projects/{id}/survey/texts");
        let fields = [("introduction", "Defaced"), ("thank_you", "Defaced")];

        let vic = viewer(&app, &owner, id).await;
        let (_, page) = vic.get_text(&format!("/projects/{id}/survey")).await;
        assert!(page.contains("The owner's words"), "a viewer reads them");
        assert!(!page.contains("name=\"introduction\""), "but gets no form");
        assert_eq!(vic.submit(&format!("/projects/{id}/survey"), &action, &fields).await.status(), StatusCode::FORBIDDEN);

        let eve = stranger(&app).await;
        assert_eq!(eve.submit("/account", &action, &fields).await.status(), StatusCode::NOT_FOUND);

        let anonymous = Browser::new(&app);
        let r = anonymous.post_form(&action, &fields).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(location(&r).starts_with("/signin"));

        // The owner's own form without its CSRF token (another site posting it).
        assert_eq!(owner.post_form(&action, &fields).await.status(), StatusCode::FORBIDDEN);

        let survey = app.store.survey(id).await.unwrap().unwrap();
        assert_eq!(survey.introduction.as_str(), "The owner's words");
        assert!(survey.thank_you.is_empty());
    }
}

// ---- Progress ----

#[tokio::test]
async fn progress_says_how_many_questions_are_answered_without_javascript() {
    for app in apps().await {
        let (owner, id) = owner_with_draft(&app).await;
        let link = owner.publish(id).await;
        let respondent = Browser::new(&app);
        let (_, form) = respondent.get_text(&link).await;
        assert!(form.contains("<progress max=\"3\" value=\"0\""), "{form}");
        assert!(form.contains("0 of 3 questions answered"));

        // Sent back with a problem, the count is of what was answered.
        let rid = hidden_value(&form, "_rid").unwrap();
        let r = respondent.post_form(&link, &[("_rid", &rid), ("q1", "Ada"), ("q2", "Pro")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text().await.unwrap();
        assert!(html.contains("<progress max=\"3\" value=\"2\"") && html.contains("2 of 3 questions answered"), "{html}");
        // Blank answers do not count.
        let r = respondent.post_form(&link, &[("_rid", &rid), ("q1", "   ")]).await;
        assert!(r.text().await.unwrap().contains("0 of 3 questions answered"));

        // A survey of one question needs no progress indicator.
        let single = owner.create_project("One question").await;
        owner.add_question(single, "nps", "Recommend?", "", true).await;
        let one = owner.publish(single).await;
        let (_, html) = respondent.get_text(&one).await;
        assert!(!html.contains("<progress") && !html.contains("questions answered"));
    }
}

// ---- Copy link and QR code ----

#[tokio::test]
async fn the_published_link_has_a_copy_button_and_a_qr_code_for_members_only() {
    for app in apps().await {
        let (owner, id) = owner_with_draft(&app).await;
        let qr = format!("/projects/{id}/qr.svg");
        assert_eq!(owner.get(&qr).await.status(), StatusCode::NOT_FOUND, "a draft has no link to encode");
        let (_, draft_page) = owner.get_text(&format!("/projects/{id}/survey")).await;
        assert!(!draft_page.contains(&qr));

        let link = owner.publish(id).await;
        let (_, page) = owner.get_text(&format!("/projects/{id}/survey")).await;
        assert!(page.contains(&format!("{}{link}</code>", app.url)), "the link is plain text to select");
        assert!(page.contains("data-copy=\"survey-link\" hidden"), "the copy button waits for the script");
        assert!(page.contains(&format!("src=\"{qr}\"")), "the QR code is shown beside the link");

        let r = owner.get(&qr).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "image/svg+xml");
        let svg = r.text().await.unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");

        // Members may have it; nobody else learns the project exists.
        let vic = viewer(&app, &owner, id).await;
        assert_eq!(vic.get(&qr).await.status(), StatusCode::OK);
        let eve = stranger(&app).await;
        assert_eq!(eve.get(&qr).await.status(), StatusCode::NOT_FOUND);
        let anonymous = Browser::new(&app);
        assert_eq!(anonymous.get(&qr).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(anonymous.get("/projects/999999/qr.svg").await.status(), StatusCode::NOT_FOUND);

        // Unpublished again, the code goes.
        let survey_page = format!("/projects/{id}/survey");
        owner.submit(&survey_page, &format!("{survey_page}/unpublish"), &[]).await;
        assert_eq!(owner.get(&qr).await.status(), StatusCode::NOT_FOUND);
    }
}

// ---- Password and sessions ----

async fn sign_in(b: &Browser, email: &str, password: &str) -> reqwest::Response {
    b.submit("/signin", "/signin", &[("email", email), ("password", password)]).await
}

async fn change_password(b: &Browser, current: &str, new: &str) -> reqwest::Response {
    b.submit("/account", "/account/password", &[("current_password", current), ("new_password", new)]).await
}

async fn signed_in(b: &Browser) -> bool {
    b.get("/account").await.status() == StatusCode::OK
}

/// Every backend, each app's sign-in limit per account set to `per_account`
/// (a test that signs in many times needs more than a person's default).
async fn apps_with_sign_in_limit(per_account: u32) -> Vec<TestApp> {
    let mut all = Vec::new();
    for db in TestDatabase::all().await {
        all.push(spawn_app_with(db, |c| c.limits.sign_in_per_account = web::RateLimit::new(per_account, Duration::from_secs(900), per_account)).await);
    }
    all
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_signs_out_other_browsers() {
    for app in apps_with_sign_in_limit(100).await {
        let ada = Browser::new(&app);
        ada.sign_up("ada@example.com", "Ada Lovelace").await;
        let laptop = Browser::new(&app);
        assert_eq!(sign_in(&laptop, "ada@example.com", "a good password").await.status(), StatusCode::SEE_OTHER);

        // A wrong current password (someone at Ada's unlocked screen) changes nothing.
        let r = change_password(&ada, "not my password", "a new good password").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("That is not your current password. Nothing was changed."));
        assert!(signed_in(&laptop).await, "other browsers stay signed in");
        assert_eq!(sign_in(&Browser::new(&app), "ada@example.com", "a good password").await.status(), StatusCode::SEE_OTHER);

        // The rules of sign-up hold.
        for (weak, message) in [("short", "at least 8 characters"), ("ada@example.com", "")] {
            let r = change_password(&ada, "a good password", weak).await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{weak}");
            let html = r.text().await.unwrap();
            assert!(html.contains(message) && html.contains("class=\"field-error\""), "{html}");
        }
        assert_eq!(sign_in(&Browser::new(&app), "ada@example.com", "a good password").await.status(), StatusCode::SEE_OTHER);

        // Without the form's CSRF token, nothing.
        let r = ada.post_form("/account/password", &[("current_password", "a good password"), ("new_password", "a new good password")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        let r = change_password(&ada, "a good password", "a new good password").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&r), "/account?done=password");
        let (status, page) = ada.get_text("/account?done=password").await;
        assert_eq!(status, StatusCode::OK, "this browser stays signed in");
        assert!(page.contains("Password changed."), "{page}");
        assert!(!signed_in(&laptop).await, "the other browser was signed out");

        assert_eq!(sign_in(&Browser::new(&app), "ada@example.com", "a good password").await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(sign_in(&Browser::new(&app), "ada@example.com", "a new good password").await.status(), StatusCode::SEE_OTHER);

        // A made-up notice in the query says nothing.
        let (_, page) = ada.get_text("/account?done=%3Cscript%3E").await;
        assert!(!page.contains("class=\"flash ok\""), "{page}");
    }
}

#[tokio::test]
async fn guessing_the_current_password_is_throttled_like_signing_in() {
    for app in apps_with_sign_in_limit(3).await {
        let ada = Browser::new(&app);
        ada.sign_up("ada@example.com", "Ada Lovelace").await;
        // Someone at Ada's unlocked screen guesses her password.
        let mut answers = Vec::new();
        for i in 0..5 {
            answers.push(change_password(&ada, &format!("guess {i}"), "the thief's password").await.status());
        }
        assert_eq!(answers.iter().filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY).count(), 3, "{answers:?}");
        assert_eq!(answers.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 2, "{answers:?}");

        // Past the limit even the right password changes nothing.
        let r = change_password(&ada, "a good password", "the thief's password").await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().get("retry-after").is_some());
        assert!(r.text().await.unwrap().contains("Too many attempts at this account's password"));
        // The sign-in limit is the same one: it is used up for this account too.
        assert_eq!(sign_in(&Browser::new(&app), "ada@example.com", "a good password").await.status(), StatusCode::TOO_MANY_REQUESTS);
        let hash = app.store.credentials_of(ada_id(&app).await).await.unwrap().unwrap().password_hash;
        assert!(hash.starts_with("$argon2id$"));
        assert!(signed_in(&ada).await);
    }
}

async fn ada_id(app: &TestApp) -> i64 {
    app.store.account_by_email(&domain::Email::parse("ada@example.com").unwrap()).await.unwrap().unwrap().id
}

#[tokio::test]
async fn sign_out_everywhere_else_keeps_this_browser_and_touches_no_one_else() {
    for app in apps().await {
        let ada = Browser::new(&app);
        ada.sign_up("ada@example.com", "Ada Lovelace").await;
        let (phone, tablet) = (Browser::new(&app), Browser::new(&app));
        for b in [&phone, &tablet] {
            assert_eq!(sign_in(b, "ada@example.com", "a good password").await.status(), StatusCode::SEE_OTHER);
        }
        let eve = stranger(&app).await;
        let (_, page) = ada.get_text("/account").await;
        assert!(page.contains("2 other browsers are signed in to your account besides this one."), "{page}");

        // Eve signing out her own other browsers signs out none of Ada's.
        assert_eq!(eve.submit("/account", "/account/sessions/sign-out-others", &[]).await.status(), StatusCode::SEE_OTHER);
        assert!(signed_in(&phone).await && signed_in(&tablet).await && signed_in(&ada).await);
        // A forged form (no CSRF token) ends nothing.
        assert_eq!(ada.post_form("/account/sessions/sign-out-others", &[]).await.status(), StatusCode::FORBIDDEN);
        assert!(signed_in(&phone).await);
        // Signed out, there is nothing to end.
        let anonymous = Browser::new(&app);
        assert_eq!(anonymous.post_form("/account/sessions/sign-out-others", &[]).await.status(), StatusCode::SEE_OTHER);

        let r = ada.submit("/account", "/account/sessions/sign-out-others", &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&r), "/account?done=signed-out-elsewhere");
        let (status, page) = ada.get_text(&location(&r)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Signed out everywhere else") && page.contains("This is the only browser signed in to your account."), "{page}");
        assert!(!signed_in(&phone).await && !signed_in(&tablet).await);
        assert!(signed_in(&eve).await, "other accounts keep their sessions");
    }
}

// ---- Favicon ----

#[tokio::test]
async fn pages_link_a_favicon_and_the_old_name_leads_to_it() {
    for app in apps().await {
        let b = Browser::new(&app);
        let (_, signin) = b.get_text("/signin").await;
        assert!(signin.contains("<link rel=\"icon\" type=\"image/svg+xml\" href=\"/favicon.svg\">"), "{signin}");
        let r = b.get("/favicon.svg").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "image/svg+xml");
        assert!(r.text().await.unwrap().starts_with("<svg"));
        let r = b.get("/favicon.ico").await;
        assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(location(&r), "/favicon.svg");
    }
}
