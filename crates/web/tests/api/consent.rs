//! The owner's consent to what is written into their Salesforce org: a
//! transfer is an offer the receiver accepts, after which the project is
//! pinned until the new owner's transition; an editor changes what a project
//! writes only with the owner's grant; every change is in the history. Each
//! attack is performed, and the emulator's orgs are counted afterwards.

use crate::helpers::{answer, apps_with_emulator, org, records, until, Browser, WithSalesforce};
use reqwest::StatusCode;

const PROD_USER: &str = "demo@acme.example";
const SANDBOX_USER: &str = "demo@acme.example.sandbox";
const PASSWORD: &str = "demo-password-1";

async fn account_id(sf: &WithSalesforce, email: &str) -> i64 {
    sf.app.store.account_by_email(&domain::Email::parse(email).unwrap()).await.unwrap().unwrap().id
}

/// Sam, linked to the sandbox, with a published survey mapped into it.
async fn sams_mapped_survey(sf: &WithSalesforce) -> (Browser, i64, String) {
    let sam = Browser::new(&sf.app);
    sam.sign_up("sam@example.com", "Sam Sender").await;
    let id = sam.create_project("Renewal survey").await;
    sam.add_question(id, "nps", "How likely are you to recommend us?", "", true).await;
    sam.link_salesforce(true, SANDBOX_USER, PASSWORD, true).await;
    let panel = format!("/projects/{id}/salesforce");
    let r = sam.submit(&panel, &format!("{panel}/mappings"), &[("object", "Survey_Response__c"), ("action", "upsert"), ("key_field", "External_Id__c"), ("record_id", "")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    for (field, source) in [("Score__c", "answer:q1")] {
        let r = sam.submit(&panel, &format!("{panel}/mappings/0/rules"), &[("field", field), ("source", source), ("value", "")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let link = sam.publish(id).await;
    (sam, id, link)
}

async fn respond(sf: &WithSalesforce, link: &str, score: &str) -> String {
    answer(&sf.app, link, &[("q1", score)]).await
}

/// The id of the first offer on My Projects.
async fn offer_on_my_projects(b: &Browser) -> Option<String> {
    let (_, html) = b.get_text("/projects").await;
    let start = html.find("data-offer=\"")? + "data-offer=\"".len();
    Some(html[start..].chars().take_while(|c| c.is_ascii_digit()).collect())
}

#[tokio::test]
async fn a_transfer_is_an_offer_the_receiver_accepts() {
    for sf in apps_with_emulator().await {
        let olive = Browser::new(&sf.app);
        olive.sign_up("olive@example.com", "Olive Owner").await;
        let id = olive.create_project("Renewal survey").await;
        olive.link_salesforce(true, SANDBOX_USER, PASSWORD, true).await;
        let nina = Browser::new(&sf.app);
        nina.sign_up("nina@example.com", "Nina Next").await;
        nina.link_salesforce(false, PROD_USER, PASSWORD, true).await;
        let settings = format!("/projects/{id}/settings");
        let transfer = format!("/projects/{id}/transfer");

        // An address without an account gets the same answer as one with: nothing to learn.
        let (_, nobody) = olive.submit_and_follow(&settings, &transfer, &[("email", "nobody@example.com"), ("confirm", "Renewal survey")]).await;
        assert!(nobody.contains("If an Insight account uses that address"), "{nobody}");
        let r = olive.submit(&settings, &transfer, &[("email", "nina@example.com"), ("confirm", "wrong")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let (_, page) = olive.submit_and_follow(&settings, &transfer, &[("email", "nina@example.com"), ("confirm", "Renewal survey")]).await;
        assert!(page.contains("Offered to nina@example.com"), "the offer is said once: {page}");
        let (_, page) = olive.get_text(&settings).await;
        assert!(!page.contains("Offered to nina@example.com"), "and not again on a reload");
        assert!(page.contains("data-testid=\"open-offer\"") && page.contains("nina@example.com"), "the owner sees the open offer");

        // Until Nina accepts, nothing changes.
        let (_, panel) = olive.get_text(&format!("/projects/{id}/salesforce")).await;
        assert!(panel.contains("Acme Sandbox") && !panel.contains("Acme Production"), "still Olive's link: {panel}");
        let olive_id = account_id(&sf, "olive@example.com").await;
        let nina_id = account_id(&sf, "nina@example.com").await;
        assert!(sf.app.store.project_for(id, nina_id).await.unwrap().is_none(), "an offer gives Nina nothing yet");
        assert_eq!(nina.get(&format!("/projects/{id}/survey")).await.status(), StatusCode::NOT_FOUND);

        let offer = offer_on_my_projects(&nina).await.expect("Nina sees the offer on My Projects");
        let r = nina.submit("/projects", &format!("/transfers/{offer}/accept"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(sf.app.store.project_for(id, nina_id).await.unwrap().unwrap().role, domain::Role::Owner);
        assert!(sf.app.store.project_for(id, olive_id).await.unwrap().is_none(), "the previous owner keeps no role");
        assert_eq!(olive.get(&settings).await.status(), StatusCode::NOT_FOUND);
        let (_, panel) = nina.get_text(&format!("/projects/{id}/salesforce")).await;
        assert!(panel.contains("Nina Next") && panel.contains("Acme Production") && !panel.contains("Acme Sandbox"), "{panel}");
        assert!(panel.contains("accepted ownership from Olive Owner"), "the history says so: {panel}");
        assert!(offer_on_my_projects(&nina).await.is_none(), "an accepted offer is gone");
        let r = nina.submit("/projects", &format!("/transfers/{offer}/accept"), &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "an offer is accepted once");
    }
}

#[tokio::test]
async fn stranger_transfer_cannot_write_into_receivers_org() {
    for sf in apps_with_emulator().await {
        let (sam, id, link) = sams_mapped_survey(&sf).await;
        let nina = Browser::new(&sf.app);
        nina.sign_up("nina@example.com", "Nina Next").await;
        nina.link_salesforce(false, PROD_USER, PASSWORD, true).await;
        let (sandbox, production) = (org(&sf, true), org(&sf, false));
        let before_prod = records(&sf, &production).await.len();

        // Sam pushes the project at Nina: it is only an offer, and his responses stay his.
        let settings = format!("/projects/{id}/settings");
        sam.submit(&settings, &format!("/projects/{id}/transfer"), &[("email", "nina@example.com"), ("confirm", "Renewal survey")]).await;
        respond(&sf, &link, "3").await;
        until(&sf, id, "delivered", |c| c.delivered == 1).await;
        assert_eq!(records(&sf, &production).await.len(), before_prod, "nothing reached Nina's org");
        assert_eq!(records(&sf, &sandbox).await.len(), 1, "the response went to Sam's own org");

        // Nina declines: nothing changes.
        let offer = offer_on_my_projects(&nina).await.unwrap();
        assert_eq!(nina.submit("/projects", &format!("/transfers/{offer}/decline"), &[]).await.status(), StatusCode::SEE_OTHER);
        assert!(sf.app.store.project_for(id, account_id(&sf, "nina@example.com").await).await.unwrap().is_none());

        // Offered again and accepted: the survey is pinned, nothing is written anywhere.
        sam.submit(&settings, &format!("/projects/{id}/transfer"), &[("email", "nina@example.com"), ("confirm", "Renewal survey")]).await;
        let offer = offer_on_my_projects(&nina).await.unwrap();
        nina.submit("/projects", &format!("/transfers/{offer}/accept"), &[]).await;
        let rid = respond(&sf, &link, "10").await;
        until(&sf, id, "held", |c| c.held == 1).await;
        assert_eq!(records(&sf, &production).await.len(), before_prod, "nothing reached Nina's org before her transition");
        assert_eq!(records(&sf, &sandbox).await.len(), 1, "nor Sam's");
        let panel = format!("/projects/{id}/salesforce");
        let (_, html) = nina.get_text(&panel).await;
        assert!(html.contains("data-reason=\"transfer\""), "{html}");
        let nina_id = account_id(&sf, "nina@example.com").await;
        let project = sf.app.store.project_for(id, nina_id).await.unwrap().unwrap();
        assert!(!app::ownership::salesforce_work(&sf.app.store, &project).await.unwrap().may_deliver());

        // Nina's transition validates it against her org; then it delivers there.
        let r = nina.submit(&panel, &format!("{panel}/transition"), &[("held", "send")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        until(&sf, id, "delivered", |c| c.delivered == 2).await;
        let prod = records(&sf, &production).await;
        assert_eq!(prod.iter().filter(|r| r["External_Id__c"] == rid.as_str()).count(), 1);
        assert_eq!(records(&sf, &sandbox).await.len(), 1, "Sam's org got nothing more");
    }
}

#[tokio::test]
async fn only_the_addressee_can_answer_a_transfer_offer() {
    for sf in apps_with_emulator().await {
        let (sam, id, _) = sams_mapped_survey(&sf).await;
        let nina = Browser::new(&sf.app);
        nina.sign_up("nina@example.com", "Nina Next").await;
        let eve = Browser::new(&sf.app);
        eve.sign_up("eve@example.com", "Eve Eavesdropper").await;
        sam.submit(&format!("/projects/{id}/settings"), &format!("/projects/{id}/transfer"), &[("email", "nina@example.com"), ("confirm", "Renewal survey")]).await;
        let offer = offer_on_my_projects(&nina).await.unwrap();
        assert!(offer_on_my_projects(&eve).await.is_none(), "Eve does not see Nina's offer");
        for (who, action) in [(&eve, "accept"), (&eve, "decline"), (&sam, "accept")] {
            let r = who.submit("/projects", &format!("/transfers/{offer}/{action}"), &[]).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{action}");
        }
        let sam_id = account_id(&sf, "sam@example.com").await;
        assert_eq!(sf.app.store.project_for(id, sam_id).await.unwrap().unwrap().role, domain::Role::Owner);
        assert!(offer_on_my_projects(&nina).await.is_some(), "the offer still stands for Nina");
        // Without a CSRF token, even Nina cannot accept.
        let r = nina.post_form(&format!("/transfers/{offer}/accept"), &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn an_editor_changes_what_a_project_writes_only_with_the_owners_grant() {
    for sf in apps_with_emulator().await {
        let (sam, id, _) = sams_mapped_survey(&sf).await;
        let eddie = Browser::new(&sf.app);
        eddie.sign_up("eddie@example.com", "Eddie Editor").await;
        let sharing = format!("/projects/{id}/sharing");
        let (status, _) = sam.share(&eddie, id, &[("email", "eddie@example.com"), ("role", "editor")]).await;
        assert_eq!(status, StatusCode::OK);
        let panel = format!("/projects/{id}/salesforce");
        let version = sf.app.store.integration(id).await.unwrap().unwrap().version;

        // Without the grant: read-only, naming the owner, and every change refused by the server.
        let (_, html) = eddie.get_text(&panel).await;
        assert!(html.contains("data-testid=\"read-only\"") && html.contains("Sam Sender"), "{html}");
        assert!(!html.contains("id=\"add-mapping\"") && !html.contains("<datalist"), "no editor and no org schema: {html}");
        // The forms are not on the page; take a CSRF token from it anyway, as an attacker would.
        let attempts: [(String, Vec<(&str, &str)>); 5] = [
            (format!("{panel}/mappings"), vec![("object", "Account"), ("action", "upsert"), ("key_field", "External_Id__c"), ("record_id", "")]),
            (format!("{panel}/mappings/0/rules"), vec![("field", "Comment__c"), ("source", "static"), ("value", "owned")]),
            (format!("{panel}/mappings/0/rules/0/delete"), vec![]),
            (format!("{panel}/mappings/0/delete"), vec![]),
            (format!("{panel}/transition"), vec![("held", "discard")]),
        ];
        for (action, fields) in &attempts {
            let r = eddie.submit(&panel, action, fields).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{action}");
            assert!(r.text().await.unwrap().contains("Ask Sam Sender to grant you"), "{action}");
        }
        assert_eq!(sf.app.store.integration(id).await.unwrap().unwrap().version, version, "nothing was changed");

        // Sam grants it: now Eddie may, and the change is in the history for Sam to see.
        let eddie_id = account_id(&sf, "eddie@example.com").await;
        let r = sam.submit(&sharing, &format!("{sharing}/{eddie_id}/salesforce"), &[("granted", "yes")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = eddie.submit(&panel, &format!("{panel}/mappings/0/rules"), &[("field", "Comment__c"), ("source", "static"), ("value", "from Eddie")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
        let (_, html) = sam.get_text(&panel).await;
        assert!(html.contains("Eddie Editor") && html.contains("mapped Survey_Response__c.Comment__c"), "{html}");
        let (_, account_page) = sam.get_text("/salesforce").await;
        assert!(account_page.contains("id=\"collaborator-changes\"") && account_page.contains("mapped Survey_Response__c.Comment__c"), "{account_page}");
        assert!(html.contains("granted Eddie Editor"), "the grant itself is in the project's history too");

        // Revoked again: refused again.
        sam.submit(&sharing, &format!("{sharing}/{eddie_id}/salesforce"), &[("granted", "no")]).await;
        let r = eddie.submit(&panel, &format!("{panel}/mappings/0/rules/2/delete"), &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        // A viewer can hold no grant, and only the owner can give one.
        let vic = Browser::new(&sf.app);
        vic.sign_up("vic@example.com", "Vic Viewer").await;
        sam.share(&vic, id, &[("email", "vic@example.com"), ("role", "viewer"), ("salesforce_changes", "on")]).await;
        let vic_id = account_id(&sf, "vic@example.com").await;
        assert!(!sf.app.store.project_for(id, vic_id).await.unwrap().unwrap().salesforce_changes);
        let r = sam.submit(&sharing, &format!("{sharing}/{vic_id}/salesforce"), &[("granted", "yes")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = eddie.submit(&panel, &format!("{sharing}/{eddie_id}/salesforce"), &[("granted", "yes")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "an editor cannot grant themselves");
        assert!(!sf.app.store.project_for(id, eddie_id).await.unwrap().unwrap().salesforce_changes);
    }
}
