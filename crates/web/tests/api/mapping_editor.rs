//! Building a mapping by picking from the owner's org: objects from its
//! global describe, fields from the object's describe with the reason a
//! field cannot take a value; the upsert key that Insight alone fills; and
//! the dry run, which shows what a response would write and writes nothing.

use crate::helpers::{apps_with_emulator, hidden_value, mapped_draft, org, records, until, Browser};
use reqwest::StatusCode;

const SANDBOX_USER: &str = "demo@acme.example.sandbox";
const PASSWORD: &str = "demo-password-1";

#[tokio::test]
async fn objects_and_upsert_keys_are_picked_from_the_owners_org() {
    for sf in apps_with_emulator().await {
        let b = Browser::new(&sf.app);
        b.sign_up("olive@example.com", "Olive Owner").await;
        let id = b.create_project("Post-case CSAT").await;
        b.add_question(id, "nps", "How likely are you to recommend us?", "", true).await;
        b.link_salesforce(true, SANDBOX_USER, PASSWORD, true).await;
        let new = format!("/projects/{id}/salesforce/mappings/new");

        let (status, html) = b.get_text(&new).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("<option value=\"Survey_Response__c\">Survey Response (Survey_Response__c)</option>"), "{html}");
        assert!(html.contains("<option value=\"Contact\">"), "standard objects too: {html}");
        let custom = html.find("label=\"Custom objects\"").unwrap();
        let standard = html.find("label=\"Standard objects\"").unwrap();
        assert!(custom < standard, "custom objects first");

        // A search narrows the list by label or API name, without a script.
        let (_, html) = b.get_text(&format!("{new}?q=response__c")).await;
        assert!(html.contains("value=\"Survey_Response__c\""));
        assert!(!html.contains("value=\"Contact\""), "{html}");

        // Only an external id that can hold a response id is offered as the key.
        let (_, html) = b.get_text(&format!("{new}?object=Survey_Response__c")).await;
        assert!(html.contains("<option value=\"External_Id__c\""), "{html}");
        assert!(!html.contains("<option value=\"Survey_Name__c\""), "not an external id: {html}");
        // The survey declares no embedded data, so an update cannot be chosen, and says why.
        assert!(html.contains("id=\"no-embedded\""), "{html}");

        // An object without such a key says how to add one in Salesforce.
        let (_, html) = b.get_text(&format!("{new}?object=Opportunity")).await;
        assert!(html.contains("id=\"no-key\"") && html.contains("External ID"), "{html}");

        // An object the org lacks is said, and the list offered again.
        let (status, html) = b.get_text(&format!("{new}?object=Survey_Feedback__c")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("has no object") && html.contains("id=\"object-picker\""), "{html}");
        let (status, _) = b.get_text(&format!("{new}?object=Not%20A%20Name")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn the_upsert_key_is_filled_by_insight_and_nothing_else() {
    for sf in apps_with_emulator().await {
        let (b, id) = mapped_draft(&sf).await;
        let panel = format!("/projects/{id}/salesforce");
        let m = &sf.app.store.integration(id).await.unwrap().unwrap().mappings[0];
        assert_eq!(m.rules[0].field.as_str(), "External_Id__c");
        assert_eq!(m.rules[0].source, domain::ValueSource::ResponseId, "the key's rule came with the mapping");
        let (_, html) = b.get_text(&panel).await;
        assert!(html.contains("data-testid=\"upsert-key\""), "{html}");
        assert!(!html.contains("/rules/0/delete"), "the key's rule has no Remove button");

        // A fixed value as the key would send every response to one record.
        let r = b.submit(&panel, &format!("{panel}/mappings/0/rules"), &[("field", "External_Id__c"), ("source", "static"), ("value", "R_same_for_everyone")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // Nor can the key's rule be removed behind the page's back.
        let r = b.submit(&panel, &format!("{panel}/mappings/0/rules/0/delete"), &[]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("is the upsert key"));
        let m = &sf.app.store.integration(id).await.unwrap().unwrap().mappings[0];
        assert_eq!(m.rules.len(), 3, "nothing refused was saved");
        assert_eq!(m.rules[0].source, domain::ValueSource::ResponseId);
    }
}

#[tokio::test]
async fn each_field_says_why_it_cannot_take_a_value() {
    for sf in apps_with_emulator().await {
        let (b, id) = mapped_draft(&sf).await;
        let (_, html) = b.get_text(&format!("/projects/{id}/salesforce")).await;
        // Fields are picked by label, from the object's describe, mapped ones left out.
        assert!(html.contains("<option value=\"Survey_Name__c\""), "{html}");
        assert!(!html.contains("<option value=\"Score__c\""), "already mapped");
        let responded = html.find("<option value=\"Responded_At__c\"").expect("a datetime field is offered");
        let option = &html[responded..responded + html[responded..].find("</option>").unwrap()];
        // A datetime field refuses the text answer and says why, in the check's words.
        assert!(option.contains("answer:q2") && option.contains("A text answer cannot go into"), "{option}");
        assert!(!option.contains("finished_at"), "a datetime takes the finish time: {option}");
        assert!(html.contains("id=\"compatibility\""), "the compatibility table is shown");
        // The server refuses with the same words, and keeps nothing.
        let panel = format!("/projects/{id}/salesforce");
        let r = b.submit(&panel, &format!("{panel}/mappings/0/rules"), &[("field", "Responded_At__c"), ("source", "answer:q2"), ("value", "")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("A text answer cannot go into"));
    }
}

#[tokio::test]
async fn a_dry_run_shows_the_records_and_writes_nothing_then_send_now_delivers() {
    for sf in apps_with_emulator().await {
        let (b, id) = mapped_draft(&sf).await;
        let org = org(&sf, true);
        let calls_before = sf.emulator.api_usage(&org).unwrap().0;
        let (status, html) = b.get_text(&format!("/projects/{id}/salesforce/dry-run")).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("R_SampleResponse00000000"), "{html}");
        let score = html.find("data-field=\"Score__c\"").expect("the score field is shown");
        assert!(html[score..].contains("<code>9.0</code>") || html[score..].contains("<code>9</code>"), "the score as it travels: {html}");
        assert!(records(&sf, &org).await.is_empty(), "nothing was written");
        assert!(sf.emulator.api_usage(&org).unwrap().0 <= calls_before + 2, "at most the describes");

        // A stored response, tried, then sent now.
        let link = b.publish(id).await;
        let r = Browser::new(&sf.app);
        let (_, form) = r.get_text(&link).await;
        let rid = hidden_value(&form, "_rid").unwrap();
        r.post_form(&link, &[("_rid", &rid), ("q1", "4"), ("q2", "Slow reply")]).await;
        until(&sf, id, "delivered", |c| c.delivered == 1).await;
        let (_, html) = b.get_text(&format!("/projects/{id}/salesforce/dry-run?response={rid}")).await;
        assert!(html.contains(&format!("data-testid=\"key\">{rid}<")), "{html}");
        assert!(html.contains("Slow reply"));
        let r = b.submit(&format!("/projects/{id}/salesforce/dry-run?response={rid}"), &format!("/projects/{id}/salesforce/dry-run/send"), &[("response", &rid)]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        until(&sf, id, "delivered again", |c| c.delivered == 1 && c.pending == 0).await;
        let mine = records(&sf, &org).await.into_iter().filter(|x| x["External_Id__c"] == rid.as_str()).count();
        assert_eq!(mine, 1, "sent again by the same key: still one record");

        // Bad input and strangers change nothing.
        let (status, _) = b.get_text(&format!("/projects/{id}/salesforce/dry-run?response=not-an-id")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = b.get_text(&format!("/projects/{id}/salesforce/dry-run?response=R_0000000000000000000000")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let stranger = Browser::new(&sf.app);
        stranger.sign_up("sam@example.com", "Sam Stranger").await;
        let (status, _) = stranger.get_text(&format!("/projects/{id}/salesforce/dry-run")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_viewer_cannot_dry_run_or_send_what_the_owner_decides() {
    for sf in apps_with_emulator().await {
        let (owner, id) = mapped_draft(&sf).await;
        let viewer = Browser::new(&sf.app);
        viewer.sign_up("vic@example.com", "Vic Viewer").await;
        owner.share(&viewer, id, &[("email", "vic@example.com"), ("role", "viewer")]).await;
        let (status, _) = viewer.get_text(&format!("/projects/{id}/salesforce/dry-run")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = viewer.get_text(&format!("/projects/{id}/salesforce/mappings/new")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Nor can they send a response into the owner's org, or change when a mapping applies.
        let panel = format!("/projects/{id}/salesforce");
        let r = viewer.submit(&panel, &format!("{panel}/dry-run/send"), &[("response", "R_0000000000000000000000")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = viewer.submit(&panel, &format!("{panel}/mappings/0/condition"), &[("join", "all"), ("subject", "answer:q1"), ("op", "≤"), ("value", "6")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(sf.app.store.integration(id).await.unwrap().unwrap().mappings[0].condition.is_none(), "nothing changed");
    }
}

#[tokio::test]
async fn a_mapping_with_a_condition_skips_the_responses_that_do_not_meet_it() {
    for sf in apps_with_emulator().await {
        let (b, id) = mapped_draft(&sf).await;
        let panel = format!("/projects/{id}/salesforce");
        let condition = format!("{panel}/mappings/0/condition");
        // A condition that could never be met is refused with its reason.
        let r = b.submit(&panel, &condition, &[("join", "all"), ("subject", "answer:q2"), ("op", "≤"), ("value", "6")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = r.text().await.unwrap();
        assert!(page.contains("is not a number or a score"));
        // Beside the condition's form, which keeps what was typed.
        let card = &page[page.find("data-mapping=\"0\"").unwrap()..];
        assert!(card.contains("data-testid=\"condition-error\""), "{card}");
        assert!(card.contains("<option value=\"answer:q2\" selected>") && card.contains("aria-label=\"Condition value\" value=\"6\""), "{card}");
        let r = b.submit(&panel, &condition, &[("join", "all"), ("subject", "answer:q1"), ("op", "≤"), ("value", "6")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        let (_, html) = b.get_text(&panel).await;
        assert!(html.contains("Applies only when <strong>&quot;How likely are you to recommend us?&quot; ≤ 6</strong>"), "{html}");
        // The sample answers 9: the dry run says it would be skipped.
        let (_, html) = b.get_text(&format!("{panel}/dry-run")).await;
        assert!(html.contains("Skipped: the response does not meet this mapping"), "{html}");

        let link = b.publish(id).await;
        let mut ids = Vec::new();
        for score in ["9", "3"] {
            let r = Browser::new(&sf.app);
            let (_, form) = r.get_text(&link).await;
            let rid = hidden_value(&form, "_rid").unwrap();
            r.post_form(&link, &[("_rid", &rid), ("q1", score), ("q2", "")]).await;
            ids.push(rid);
        }
        until(&sf, id, "both handled", |c| c.delivered == 2).await;
        assert_eq!(sf.app.store.delivery_counts(id).await.unwrap().failed, 0, "a skipped response is not a failure");
        let recs = records(&sf, &org(&sf, true)).await;
        assert_eq!(recs.iter().filter(|r| r["External_Id__c"] == ids[0].as_str()).count(), 0, "the promoter was skipped");
        assert_eq!(recs.iter().filter(|r| r["External_Id__c"] == ids[1].as_str()).count(), 1, "the detractor was written");
        let (_, detail) = b.get_text(&format!("/projects/{id}/responses/{}", ids[0])).await;
        assert!(detail.contains("data-testid=\"skipped\"") && detail.contains("does not meet the condition"), "{detail}");

        // Cleared, the mapping applies to every response again.
        let r = b.submit(&panel, &format!("{condition}/clear"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(sf.app.store.integration(id).await.unwrap().unwrap().mappings[0].condition.is_none());
    }
}
