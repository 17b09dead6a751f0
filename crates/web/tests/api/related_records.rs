//! Matching an existing record (the Contact whose Email is the email
//! answer) and a related record pointing to it (a Survey_Response__c whose
//! Contact__c is that Contact), delivered in order and batched: records and
//! API calls are counted in the emulator, not in Insight's bookkeeping.

use crate::helpers::{apps_with_emulator, hidden_value, org, records, until, Browser, WithSalesforce};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Olive's survey: NPS q1, comment q2, email q3, last name q4. Mapping 0
/// matches the Contact by Email (creating one when none has it) and sets its
/// LastName; mapping 1 upserts a Survey_Response__c per response, pointing
/// to that Contact. Returns the owner's browser, the project and its link.
async fn contact_and_response(sf: &WithSalesforce, when_none: &str) -> (Browser, i64, String) {
    let b = Browser::new(&sf.app);
    b.sign_up("olive@example.com", "Olive Owner").await;
    let id = b.create_project("Post-case CSAT").await;
    b.add_question(id, "nps", "How likely are you to recommend us?", "", true).await;
    b.add_question(id, "essay", "Anything else?", "", false).await;
    b.add_question(id, "email", "Your email", "", true).await;
    b.add_question(id, "text", "Your last name", "", true).await;
    b.link_salesforce(true, "demo@acme.example.sandbox", "demo-password-1", true).await;
    let panel = format!("/projects/{id}/salesforce");
    let new = format!("{panel}/mappings/new?object=Contact");
    let (_, html) = b.get_text(&new).await;
    assert!(html.contains("id=\"action-match\"") && html.contains("<option value=\"Email\""), "the match is offered, on Email: {html}");
    let r = b
        .submit(&new, &format!("{panel}/mappings"), &[("object", "Contact"), ("action", "match"), ("match_field", "Email"), ("match_source", "answer:q3"), ("when_none", when_none)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let rule = |i: usize, field: &'static str, source: &'static str| {
        let (b, panel) = (&b, &panel);
        async move {
            // A typed answer may be longer than the field: cut, by choice.
            let r = b.submit(panel, &format!("{panel}/mappings/{i}/rules"), &[("field", field), ("source", source), ("value", ""), ("cut", if field == "LastName" { "on" } else { "" })]).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{field}: {}", r.text().await.unwrap());
        }
    };
    rule(0, "LastName", "answer:q4").await;
    let r = b.submit(&panel, &format!("{panel}/mappings"), &[("object", "Survey_Response__c"), ("action", "upsert"), ("key_field", "External_Id__c")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    // The related record's lookup is offered the record mapping 0 writes.
    let (_, html) = b.get_text(&panel).await;
    assert!(html.contains("value=\"record_of:Contact\""), "{html}");
    rule(1, "Score__c", "answer:q1").await;
    rule(1, "Contact__c", "record_of:Contact").await;
    let integration = sf.app.store.integration(id).await.unwrap().unwrap();
    assert!(integration.validated_org_id.is_some(), "both mappings fit: {:?}", integration.mappings);
    let link = b.publish(id).await;
    (b, id, link)
}

async fn respond(sf: &WithSalesforce, link: &str, score: &str, email: &str, last_name: &str) -> String {
    let r = Browser::new(&sf.app);
    let (_, html) = r.get_text(link).await;
    let rid = hidden_value(&html, "_rid").unwrap();
    let resp = r.post_form(link, &[("_rid", &rid), ("q1", score), ("q2", ""), ("q3", email), ("q4", last_name)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", resp.text().await.unwrap());
    rid
}

async fn contacts(sf: &WithSalesforce, org_id: &str) -> Vec<Value> {
    let url = format!("{}/orgs/{org_id}/records/Contact", sf.emulator.admin_url());
    let v: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    v["records"].as_array().cloned().unwrap_or_default()
}

async fn seed_contact(sf: &WithSalesforce, org_id: &str, email: &str, last_name: &str) -> String {
    let url = format!("{}/orgs/{org_id}/records/Contact", sf.emulator.admin_url());
    let r = reqwest::Client::new().post(url).json(&json!({"Email": email, "LastName": last_name})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
}

fn with_email<'a>(contacts: &'a [Value], email: &str) -> Vec<&'a Value> {
    contacts.iter().filter(|c| c["Email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email))).collect()
}

fn response_record<'a>(records: &'a [Value], rid: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["External_Id__c"] == rid).collect()
}

#[tokio::test]
async fn a_contact_matched_by_email_is_updated_and_the_survey_response_points_to_it() {
    for sf in apps_with_emulator().await {
        let (_b, id, link) = contact_and_response(&sf, "create").await;
        let sandbox = org(&sf, true);
        let known = seed_contact(&sf, &sandbox, "known@example.com", "Before").await;
        let before = contacts(&sf, &sandbox).await.len();

        // Salesforce compares text without regard to case.
        let first = respond(&sf, &link, "9", "Known@Example.COM", "Knowles").await;
        until(&sf, id, "delivered", |c| c.delivered == 1).await;
        let all = contacts(&sf, &sandbox).await;
        assert_eq!(all.len(), before, "the known Contact was matched, not created again");
        let matched = with_email(&all, "known@example.com");
        assert_eq!(matched.len(), 1);
        assert_eq!(matched[0]["Id"], known.as_str());
        assert_eq!(matched[0]["LastName"], "Knowles", "the matched Contact is updated");
        assert_eq!(matched[0]["Email"], "known@example.com", "the value matched on is left as the record has it");
        let recs = records(&sf, &sandbox).await;
        let mine = response_record(&recs, &first);
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0]["Contact__c"], known.as_str(), "the related record points to the matched Contact");
        assert_eq!(mine[0]["Score__c"], 9.0);

        // An email no Contact has: one is created, carrying it, and the
        // response's record points to it. One query and one composite call.
        let usage_before = sf.emulator.api_usage(&sandbox).unwrap().0;
        let second = respond(&sf, &link, "4", "new.person@example.com", "Newman").await;
        until(&sf, id, "delivered", |c| c.delivered == 2).await;
        assert_eq!(sf.emulator.api_usage(&sandbox).unwrap().0 - usage_before, 2, "a match query and one composite call");
        let all = contacts(&sf, &sandbox).await;
        let created = with_email(&all, "new.person@example.com");
        assert_eq!(created.len(), 1);
        assert_eq!(created[0]["LastName"], "Newman");
        let recs = records(&sf, &sandbox).await;
        assert_eq!(response_record(&recs, &second)[0]["Contact__c"], created[0]["Id"]);

        // Delivered again (as after a crash before the outcome was kept): the
        // created Contact is found, not created a second time.
        let delivery = sf.app.store.delivery_of(id, &second).await.unwrap().unwrap();
        sf.app.store.mark_failed(delivery.id, &sandbox, "simulated lost answer", "[]").await.unwrap();
        assert!(sf.app.store.retry_delivery(id, delivery.id).await.unwrap());
        until(&sf, id, "delivered again", |c| c.delivered == 2 && c.pending == 0 && c.failed == 0).await;
        assert_eq!(with_email(&contacts(&sf, &sandbox).await, "new.person@example.com").len(), 1, "no duplicate Contact");
        assert_eq!(response_record(&records(&sf, &sandbox).await, &second).len(), 1, "no duplicate response record");

        // The response's page says what became of it, and each record opens
        // in Salesforce (here, the emulator's record browser).
        let (_, detail) = _b.get_text(&format!("/projects/{id}/responses/{first}")).await;
        assert!(detail.contains("Salesforce delivery: Delivered"), "{detail}");
        let link = detail.split("href=\"").map(|h| h.split('"').next().unwrap_or("")).find(|h| h.ends_with(&known)).expect("a link to the matched Contact").to_string();
        let page = reqwest::get(&link).await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{link}");
        assert!(page.text().await.unwrap().contains("Knowles"), "the Contact's own page");
        let d = sf.app.store.delivery_of(id, &first).await.unwrap().unwrap();
        let outcome = &d.outcome;
        assert_eq!(outcome[0]["object"], "Contact");
        assert_eq!(outcome[0]["record_id"], known.as_str());
        assert_eq!(outcome[1]["object"], "Survey_Response__c");
    }
}

#[tokio::test]
async fn several_matching_contacts_fail_the_response_with_their_ids_and_write_nothing() {
    for sf in apps_with_emulator().await {
        let (b, id, link) = contact_and_response(&sf, "create").await;
        let sandbox = org(&sf, true);
        let one = seed_contact(&sf, &sandbox, "shared@example.com", "One").await;
        let two = seed_contact(&sf, &sandbox, "shared@example.com", "Two").await;
        let rid = respond(&sf, &link, "7", "shared@example.com", "Third").await;
        until(&sf, id, "failed", |c| c.failed == 1).await;
        let d = sf.app.store.delivery_of(id, &rid).await.unwrap().unwrap();
        let error = d.last_error.clone().unwrap_or_default();
        assert!(error.contains("2 Contact records have Email = \"shared@example.com\""), "{error}");
        assert!(error.contains(&one) && error.contains(&two), "names both records: {error}");
        assert!(error.contains("Survey_Response__c: not written, since the Contact record"), "{error}");
        let shared = with_email(&contacts(&sf, &sandbox).await, "shared@example.com").iter().map(|c| c["LastName"].clone()).collect::<Vec<_>>();
        assert_eq!(shared, [json!("One"), json!("Two")], "neither Contact was changed, none created");
        assert!(response_record(&records(&sf, &sandbox).await, &rid).is_empty());
        let (_, detail) = b.get_text(&format!("/projects/{id}/responses/{rid}")).await;
        assert!(detail.contains("Insight writes only when exactly one matches"), "{detail}");
    }
}

#[tokio::test]
async fn with_no_match_and_skip_chosen_the_contact_is_skipped_and_the_lookup_left_blank() {
    for sf in apps_with_emulator().await {
        let (_b, id, link) = contact_and_response(&sf, "skip").await;
        let sandbox = org(&sf, true);
        let before = contacts(&sf, &sandbox).await.len();
        let rid = respond(&sf, &link, "8", "stranger@example.com", "Stranger").await;
        until(&sf, id, "delivered", |c| c.delivered == 1).await;
        assert_eq!(contacts(&sf, &sandbox).await.len(), before, "no Contact created");
        let recs = records(&sf, &sandbox).await;
        let mine = response_record(&recs, &rid);
        assert_eq!(mine.len(), 1, "the response's own record is still written");
        assert!(mine[0]["Contact__c"].is_null(), "{:?}", mine[0]);
        let d = sf.app.store.delivery_of(id, &rid).await.unwrap().unwrap();
        assert!(d.outcome[0]["skipped"].as_str().unwrap_or_default().contains("no Contact has Email = \"stranger@example.com\""), "{:?}", d.outcome);
    }
}

#[tokio::test]
async fn a_lookup_needs_an_earlier_mapping_of_its_object_and_a_field_that_looks_it_up() {
    for sf in apps_with_emulator().await {
        let (b, id, _link) = contact_and_response(&sf, "create").await;
        let panel = format!("/projects/{id}/salesforce");
        // The Contact's own mapping cannot point to the record written after it.
        let r = b.submit(&panel, &format!("{panel}/mappings/0/rules"), &[("field", "ReportsToId"), ("source", "record_of:Survey_Response__c"), ("value", "")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text().await.unwrap();
        assert!(text.contains("looks up Contact, not Survey_Response__c"), "{text}");
        // A field that is not a lookup to the object is refused with why.
        let r = b.submit(&panel, &format!("{panel}/mappings/1/rules"), &[("field", "Survey_Name__c"), ("source", "record_of:Contact"), ("value", "")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // Matching on a fixed value would send every response to one record.
        let r = b.submit(&panel, &format!("{panel}/mappings"), &[("object", "Contact"), ("action", "match"), ("match_field", "Email"), ("match_source", "static"), ("when_none", "create")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("every response to the same record"));
        let mappings = sf.app.store.integration(id).await.unwrap().unwrap().mappings;
        assert_eq!(mappings.len(), 2, "nothing refused was saved");
        assert_eq!(mappings[0].rules.len(), 1);
    }
}

#[tokio::test]
async fn a_contact_salesforce_refuses_fails_only_its_own_response_in_a_batch() {
    for sf in apps_with_emulator().await {
        let (b, id, link) = contact_and_response(&sf, "create").await;
        let sandbox = org(&sf, true);
        let http = reqwest::Client::new();
        let faults = format!("{}/orgs/{sandbox}/faults", sf.emulator.admin_url());
        // An admin's validation rule refuses one of the two Contacts.
        let rule = json!({"validation_rules": [{"object": "Contact", "field": "LastName", "equals": "Refused", "message": "Last name Refused is not allowed"}]});
        assert!(http.put(&faults).json(&rule).send().await.unwrap().status().is_success());
        // Both responses wait while the link needs a new sign-in, then go in one batch.
        for fault in ["revoke-refresh-tokens", "expire-tokens"] {
            http.post(format!("{faults}/{fault}")).send().await.unwrap();
        }
        let refused = respond(&sf, &link, "3", "refused@example.com", "Refused").await;
        let fine = respond(&sf, &link, "10", "fine@example.com", "Fine").await;
        until(&sf, id, "held", |c| c.held == 2).await;
        b.link_salesforce(true, "demo@acme.example.sandbox", "demo-password-1", true).await;
        until(&sf, id, "one delivered, one failed", |c| c.delivered == 1 && c.failed == 1).await;

        let all = contacts(&sf, &sandbox).await;
        assert!(with_email(&all, "refused@example.com").is_empty());
        let created = with_email(&all, "fine@example.com");
        assert_eq!(created.len(), 1);
        let recs = records(&sf, &sandbox).await;
        assert!(response_record(&recs, &refused).is_empty(), "no record points to a Contact that was not written");
        assert_eq!(response_record(&recs, &fine)[0]["Contact__c"], created[0]["Id"], "the other response's records are written and related");

        let d = sf.app.store.delivery_of(id, &refused).await.unwrap().unwrap();
        let error = d.last_error.unwrap_or_default();
        assert!(error.contains("FIELD_CUSTOM_VALIDATION_EXCEPTION: Last name Refused is not allowed"), "Salesforce's words: {error}");
        assert!(error.contains("Survey_Response__c: not written, since the Contact record for this response was not written"), "{error}");
        // People read what it means first, with Salesforce's words beside it.
        let plain = "A validation rule in the Salesforce org refused the values; its message says which.";
        let (_, detail) = b.get_text(&format!("/projects/{id}/responses/{refused}")).await;
        let said = detail.find("Salesforce said: <code>").expect("Salesforce's words on the response's page");
        assert!(detail[..said].contains(plain) && detail[said..].contains("FIELD_CUSTOM_VALIDATION_EXCEPTION"), "{detail}");
        let (_, log) = b.get_text(&format!("/projects/{id}/salesforce/deliveries?status=failed")).await;
        assert!(log.contains(plain) && log.contains("Salesforce said: <code>Contact: FIELD_CUSTOM_VALIDATION_EXCEPTION"), "{log}");
    }
}
