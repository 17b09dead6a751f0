//! Response mappings, checked against the project owner's org, and the
//! transition after the owner switches orgs.

use crate::helpers::{apps_with_emulator, org, Browser, WithSalesforce};
use reqwest::StatusCode;

const PROD_USER: &str = "demo@acme.example";
const SANDBOX_USER: &str = "demo@acme.example.sandbox";
const PASSWORD: &str = "demo-password-1";

async fn account_id(sf: &WithSalesforce, email: &str) -> i64 {
    sf.app.store.account_by_email(&domain::Email::parse(email).unwrap()).await.unwrap().unwrap().id
}

/// An owner linked to the sandbox, with a survey (NPS, comment, case_id).
async fn owner_with_survey(sf: &WithSalesforce) -> (Browser, i64) {
    let b = Browser::new(&sf.app);
    b.sign_up("olive@example.com", "Olive Owner").await;
    let id = b.create_project("Post-case CSAT").await;
    b.add_question(id, "nps", "How likely are you to recommend us?", "", true).await;
    b.add_question(id, "essay", "Anything else?", "", false).await;
    let page = format!("/projects/{id}/survey");
    b.submit(&page, &format!("{page}/embedded"), &[("name", "case_id")]).await;
    b.link_salesforce(true, SANDBOX_USER, PASSWORD, true).await;
    (b, id)
}

async fn map_survey_response(b: &Browser, id: i64) {
    let panel = format!("/projects/{id}/salesforce");
    let r = b.submit(&panel, &format!("{panel}/mappings"), &[("object", "Survey_Response__c"), ("action", "upsert"), ("key_field", "External_Id__c"), ("record_id", "")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    for (field, source) in [("Score__c", "answer:q1"), ("Comment__c", "answer:q2")] {
        let r = b.submit(&panel, &format!("{panel}/mappings/0/rules"), &[("field", field), ("source", source), ("value", "")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{field}: {}", r.text().await.unwrap());
    }
}

#[tokio::test]
async fn a_mapping_is_checked_against_the_owners_org_and_pins_the_survey_to_it() {
    for sf in apps_with_emulator().await {
        let (b, id) = owner_with_survey(&sf).await;
        let panel = format!("/projects/{id}/salesforce");
        map_survey_response(&b, id).await;
        let integration = sf.app.store.integration(id).await.unwrap().unwrap();
        assert_eq!(integration.validated_org_id.as_deref(), Some(org(&sf, true).as_str()));
        let (_, html) = b.get_text(&panel).await;
        assert!(html.contains("data-testid=\"mapping-fits\""), "{html}");

        // A field the object lacks, and a type that does not fit, are refused when saved.
        let r = b.submit(&panel, &format!("{panel}/mappings/0/rules"), &[("field", "Mood__c"), ("source", "answer:q1"), ("value", "")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("has no field Mood__c"));
        let r = b.submit(&panel, &format!("{panel}/mappings/0/rules"), &[("field", "Responded_At__c"), ("source", "answer:q2"), ("value", "")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = b.submit(&panel, &format!("{panel}/mappings/0/rules"), &[("field", "Status__c"), ("source", "static"), ("value", "Escalated")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a restricted picklist refuses an unknown value");
        let r = b.submit(&panel, &format!("{panel}/mappings"), &[("object", "Survey_Feedback__c"), ("action", "create"), ("key_field", ""), ("record_id", "")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("no object Survey_Feedback__c"));
        let r = b.submit(&panel, &format!("{panel}/mappings"), &[("object", "Survey_Response__c"), ("action", "upsert"), ("key_field", "Survey_Name__c"), ("record_id", "")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("not an external id field"));
        assert_eq!(sf.app.store.integration(id).await.unwrap().unwrap().mappings[0].rules.len(), 3, "nothing refused was saved");
    }
}

#[tokio::test]
async fn a_collaborators_edit_is_checked_against_the_owners_org_not_their_own() {
    for sf in apps_with_emulator().await {
        let (owner, id) = owner_with_survey(&sf).await;
        let editor = Browser::new(&sf.app);
        editor.sign_up("eddie@example.com", "Eddie").await;
        // Shared as editor with the owner's grant to change what the project writes.
        owner.share(&editor, id, &[("email", "eddie@example.com"), ("role", "editor"), ("salesforce_changes", "on")]).await;
        editor.link_salesforce(false, PROD_USER, PASSWORD, true).await;
        map_survey_response(&editor, id).await;
        let integration = sf.app.store.integration(id).await.unwrap().unwrap();
        assert_eq!(integration.validated_org_id.as_deref(), Some(org(&sf, true).as_str()), "validated against the owner's sandbox");
        let (_, html) = editor.get_text(&format!("/projects/{id}/salesforce")).await;
        assert!(html.contains("Acme Sandbox") && !html.contains("Acme Production"));
    }
}

#[tokio::test]
async fn switching_orgs_pauses_an_integrated_survey_until_its_transition_fits() {
    for sf in apps_with_emulator().await {
        let (b, id) = owner_with_survey(&sf).await;
        map_survey_response(&b, id).await;
        // The survey once mapped a field that the new org will not have.
        let mut integration = sf.app.store.integration(id).await.unwrap().unwrap();
        integration.mappings[0].rules.push(domain::FieldRule {
            field: domain::FieldName::parse("Legacy_Score__c").unwrap(),
            source: domain::ValueSource::parse("answer:q1", "").unwrap(),
            convert: None,
        });
        assert!(sf.app.store.save_integration(id, &integration.mappings, integration.validated_org_id.as_deref(), integration.version).await.unwrap());
        let sandbox = org(&sf, true);
        let usage_before = sf.emulator.api_usage(&sandbox).unwrap().0;

        // The switch preview names the survey and what it uses.
        b.link_salesforce(false, PROD_USER, PASSWORD, true).await;
        let (_, preview) = b.get_text("/salesforce/switch").await;
        assert!(preview.contains("data-disrupted=\"true\"") && preview.contains("Survey_Response__c") && preview.contains("Legacy_Score__c"), "{preview}");
        b.submit("/salesforce/switch", "/salesforce/switch/confirm", &[]).await;

        // Paused: the panel says so, and the transition is refused while a field does not fit.
        let panel = format!("/projects/{id}/salesforce");
        let (_, html) = b.get_text(&panel).await;
        assert!(html.contains("data-testid=\"disrupted\""), "{html}");
        assert!(html.contains("has no field Legacy_Score__c"));
        let status = app::ownership::salesforce_work(&sf.app.store, &sf.app.store.project_for(id, account_id(&sf, "olive@example.com").await).await.unwrap().unwrap()).await.unwrap();
        assert!(!status.may_deliver());
        let r = b.submit(&panel, &format!("{panel}/transition"), &[]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(sf.app.store.integration(id).await.unwrap().unwrap().validated_org_id.as_deref(), Some(sandbox.as_str()));

        // Remap (drop the field), then re-enable: now validated against production.
        let r = b.submit(&panel, &format!("{panel}/mappings/0/rules/3/delete"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(sf.app.store.integration(id).await.unwrap().unwrap().validated_org_id.as_deref(), Some(sandbox.as_str()), "remapping alone does not re-enable");
        let (_, html) = b.get_text(&panel).await;
        assert!(html.contains("Re-enable with Acme Production"));
        let r = b.submit(&panel, &format!("{panel}/transition"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let production = org(&sf, false);
        assert_eq!(sf.app.store.integration(id).await.unwrap().unwrap().validated_org_id.as_deref(), Some(production.as_str()));
        let (_, html) = b.get_text(&panel).await;
        assert!(html.contains("data-testid=\"uses-link\""));
        // The old org heard nothing from this survey after the switch.
        assert_eq!(sf.emulator.api_usage(&sandbox).unwrap().0, usage_before, "no call reached the old org");
    }
}

#[tokio::test]
async fn all_paused_surveys_transition_at_once_when_they_fit() {
    for sf in apps_with_emulator().await {
        let (b, first) = owner_with_survey(&sf).await;
        map_survey_response(&b, first).await;
        let second = b.create_project("Onboarding").await;
        b.add_question(second, "nps", "Recommend?", "", true).await;
        b.add_question(second, "essay", "Why?", "", false).await;
        map_survey_response(&b, second).await;
        b.link_salesforce(false, PROD_USER, PASSWORD, true).await;
        b.submit("/salesforce/switch", "/salesforce/switch/confirm", &[]).await;
        let (_, html) = b.get_text("/salesforce").await;
        assert!(html.contains("paused-surveys") && html.contains("Post-case CSAT") && html.contains("Onboarding"));
        let (_, said) = b.submit_and_follow("/salesforce", "/salesforce/transition-all", &[]).await;
        assert!(said.contains("Re-enabled: ") && said.contains("Post-case CSAT") && said.contains("Onboarding"), "{said}");
        let production = org(&sf, false);
        for id in [first, second] {
            assert_eq!(sf.app.store.integration(id).await.unwrap().unwrap().validated_org_id.as_deref(), Some(production.as_str()));
        }
        let (_, html) = b.get_text("/salesforce").await;
        assert!(!html.contains("paused-surveys"));
    }
}
