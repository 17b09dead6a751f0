//! Values converted on their way, as the person mapping them chose: a
//! choice recoded into the picklist's own value, a score as its NPS group,
//! a long answer cut to fit — or refused when nobody chose to cut it.

use crate::helpers::{apps_with_emulator, hidden_value, mapped_draft, org, records, until, Browser, WithSalesforce};
use reqwest::StatusCode;

async fn respond(sf: &WithSalesforce, link: &str, fields: &[(&str, &str)]) -> String {
    let r = Browser::new(&sf.app);
    let (_, html) = r.get_text(link).await;
    let rid = hidden_value(&html, "_rid").unwrap();
    let mut all = vec![("_rid", rid.as_str())];
    all.extend_from_slice(fields);
    let resp = r.post_form(link, &all).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", resp.text().await.unwrap());
    rid
}

#[tokio::test]
async fn a_choice_is_recoded_into_the_picklist_after_saying_what_each_becomes() {
    for sf in apps_with_emulator().await {
        let (b, id) = mapped_draft(&sf).await;
        b.add_question(id, "single_choice", "Was it resolved?", "Yes\nNot yet", true).await;
        let panel = format!("/projects/{id}/salesforce");
        let rules = format!("{panel}/mappings/0/rules");
        // Status__c takes New, Processed or Archived: the rule asks first.
        let r = b.submit(&panel, &rules, &[("field", "Status__c"), ("source", "answer:q3"), ("value", "")]).await;
        assert_eq!(r.status(), StatusCode::OK);
        let step = r.text().await.unwrap();
        assert!(step.contains("id=\"recode\"") && step.contains("name=\"to_0\"") && step.contains("<option value=\"Processed\""), "{step}");
        assert_eq!(sf.app.store.integration(id).await.unwrap().unwrap().mappings[0].rules.len(), 3, "nothing saved before the recoding");

        // A value the picklist lacks, or a choice left out, is refused.
        let r = b.submit(&panel, &rules, &[("field", "Status__c"), ("source", "answer:q3"), ("value", ""), ("to_0", "Closed"), ("to_1", "New")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let t = r.text().await.unwrap();
        assert!(t.contains("&quot;Closed&quot; is not a value the field takes"), "{t}");
        let r = b.submit(&panel, &rules, &[("field", "Status__c"), ("source", "answer:q3"), ("value", ""), ("to_0", "Processed")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("Choose what &quot;Not yet&quot; becomes"));
        // The form takes no field but its own.
        let r = b.submit(&panel, &rules, &[("field", "Status__c"), ("source", "answer:q3"), ("value", ""), ("owner", "mallory")]).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);

        let r = b.submit(&panel, &rules, &[("field", "Status__c"), ("source", "answer:q3"), ("value", ""), ("to_0", "Processed"), ("to_1", "New")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        // The page says what was saved, in the history's words.
        let (_, html) = b.get_text(r.headers()["location"].to_str().unwrap()).await;
        assert!(html.contains("Saved: mapped Survey_Response__c.Status__c from Answer to"), "{html}");
        assert!(html.contains("recoded: Not yet → New, Yes → Processed"), "the rule shows its recoding: {html}");
        // The words come from the history, never from the address.
        let (_, html) = b.get_text(&format!("{panel}?saved=Your%20account%20is%20closed")).await;
        assert!(!html.contains("Your account is closed"));

        let link = b.publish(id).await;
        let rid = respond(&sf, &link, &[("q1", "9"), ("q2", "Fine"), ("q3", "Yes")]).await;
        until(&sf, id, "delivered", |c| c.delivered == 1).await;
        let recs = records(&sf, &org(&sf, true)).await;
        let mine: Vec<_> = recs.iter().filter(|r| r["External_Id__c"] == rid.as_str()).collect();
        assert_eq!(mine[0]["Status__c"], "Processed");
    }
}

#[tokio::test]
async fn a_score_goes_in_as_its_nps_group_and_a_long_answer_only_cut_by_choice() {
    for sf in apps_with_emulator().await {
        let (b, id) = mapped_draft(&sf).await;
        b.add_question(id, "text", "In a few words?", "", false).await;
        let panel = format!("/projects/{id}/salesforce");
        let rules = format!("{panel}/mappings/0/rules");
        let (_, html) = b.get_text(&panel).await;
        assert!(html.contains("value=\"nps_group:q1\""), "the NPS group is offered: {html}");

        // Survey_Name__c holds 255 characters; an answer may be far longer.
        let r = b.submit(&panel, &rules, &[("field", "Survey_Name__c"), ("source", "answer:q3"), ("value", "")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let t = r.text().await.unwrap();
        assert!(t.contains("choose &quot;cut to fit&quot;"), "{t}");
        // The error stands beside the form, which keeps what was picked.
        let card = &t[t.find("data-mapping=\"0\"").unwrap()..];
        assert!(card.contains("data-testid=\"rule-error\""), "{card}");
        assert!(card.contains("<option value=\"answer:q3\" selected>"), "{card}");
        let r = b.submit(&panel, &rules, &[("field", "Survey_Name__c"), ("source", "answer:q3"), ("value", ""), ("cut", "on")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        // An NPS group is a word: not into a number field.
        let r = b.submit(&panel, &format!("{panel}/mappings/0/rules/1/delete"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = b.submit(&panel, &rules, &[("field", "Score__c"), ("source", "nps_group:q1"), ("value", "")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = b.submit(&panel, &rules, &[("field", "Score__c"), ("source", "answer:q1"), ("value", "")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);

        let link = b.publish(id).await;
        let long = "a".repeat(300);
        let rid = respond(&sf, &link, &[("q1", "6"), ("q2", "Meh"), ("q3", &long)]).await;
        until(&sf, id, "delivered", |c| c.delivered == 1).await;
        let recs = records(&sf, &org(&sf, true)).await;
        let mine: Vec<_> = recs.iter().filter(|r| r["External_Id__c"] == rid.as_str()).collect();
        assert_eq!(mine[0]["Survey_Name__c"].as_str().unwrap().len(), 255, "cut to the field's length, as chosen");
    }
}
