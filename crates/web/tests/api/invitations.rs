//! Sharing is an invitation to an address: the owner's answer is the same
//! whether or not an account uses it, only the addressee may answer it, and
//! an invitation to an address without an account can be claimed only by
//! confirming a sign-up from that address's inbox. Each attack is performed.

use crate::helpers::{apps, Browser, TestApp};
use reqwest::StatusCode;

async fn account_id(app: &TestApp, email: &str) -> i64 {
    app.store.account_by_email(&domain::Email::parse(email).unwrap()).await.unwrap().unwrap().id
}

/// A page with the address and every digit (ids, times) masked.
fn masked(html: &str, email: &str) -> String {
    html.replace(email, "ADDRESS").chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).collect()
}

#[tokio::test]
async fn sharing_with_a_registered_and_an_unregistered_address_answers_alike() {
    for app in apps().await {
        let olive = Browser::new(&app);
        olive.sign_up("olive@example.com", "Olive Owner").await;
        let id = olive.create_project("Team survey").await;
        Browser::new(&app).sign_up("nina@example.com", "Nina").await;
        let sharing = format!("/projects/{id}/sharing");

        let mut answers = Vec::new();
        for email in ["nina@example.com", "nobody@example.com"] {
            let (status, html) = olive.submit_and_follow(&sharing, &sharing, &[("email", email), ("role", "editor")]).await;
            assert!(html.contains(&format!("Invited: {email} (editor) — waiting for them to accept")), "{html}");
            answers.push((status, masked(&html, email)));
            // Withdrawn, so the next answer lists only its own invitation.
            let invitation = app.store.open_invitations_of(id).await.unwrap()[0].id;
            let r = olive.submit(&sharing, &format!("{sharing}/invitations/{invitation}/withdraw"), &[]).await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
        }
        assert_eq!(answers[0].0, StatusCode::OK);
        assert_eq!(answers[0], answers[1], "the owner cannot tell which address has an account");

        // Only the inboxes differ.
        let nina = app.nth_mail_to("nina@example.com", 2).await;
        assert!(nina.body.contains("Olive Owner (olive@example.com) shared the project \"Team survey\" with you") && nina.link("/projects").is_some(), "{}", nina.body);
        let nobody = app.nth_mail_to("nobody@example.com", 1).await;
        assert!(nobody.body.contains("invited you to Insight to work on the project \"Team survey\"") && nobody.link("/signup").is_some(), "{}", nobody.body);
    }
}

#[tokio::test]
async fn only_the_addressee_can_answer_an_invitation_and_the_owner_can_withdraw_it() {
    for app in apps().await {
        let olive = Browser::new(&app);
        olive.sign_up("olive@example.com", "Olive Owner").await;
        let id = olive.create_project("Team survey").await;
        let nina = Browser::new(&app);
        nina.sign_up("nina@example.com", "Nina Next").await;
        let eve = Browser::new(&app);
        eve.sign_up("eve@example.com", "Eve").await;
        let sharing = format!("/projects/{id}/sharing");
        olive.submit(&sharing, &sharing, &[("email", "nina@example.com"), ("role", "editor"), ("salesforce_changes", "on")]).await;

        let invitation = nina.invitation_to(id).await.expect("Nina sees the invitation on My Projects");
        assert!(eve.invitation_to(id).await.is_none(), "Eve does not see Nina's invitation");
        for (who, action) in [(&eve, "accept"), (&eve, "decline"), (&olive, "accept")] {
            let r = who.submit("/projects", &format!("/invitations/{invitation}/{action}"), &[]).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{action}");
        }
        assert_eq!(eve.get(&format!("/projects/{id}/survey")).await.status(), StatusCode::NOT_FOUND);
        assert!(app.store.project_for(id, account_id(&app, "eve@example.com").await).await.unwrap().is_none());
        // Without a CSRF token, even Nina cannot accept.
        assert_eq!(nina.post_form(&format!("/invitations/{invitation}/accept"), &[]).await.status(), StatusCode::FORBIDDEN);
        assert!(app.store.project_for(id, account_id(&app, "nina@example.com").await).await.unwrap().is_none(), "an invitation gives nothing yet");

        // Nina accepts: the share is as sharing made it before, grant and history included.
        nina.accept_invitation(id).await;
        let project = app.store.project_for(id, account_id(&app, "nina@example.com").await).await.unwrap().unwrap();
        assert_eq!((project.role, project.salesforce_changes), (domain::Role::Editor, true));
        let history = app.store.salesforce_history(id, 10).await.unwrap();
        assert!(history.iter().any(|h| h.change.contains("granted Nina Next (nina@example.com) Salesforce changes")), "{history:?}");
        let (_, page) = olive.get_text(&sharing).await;
        assert!(page.contains("data-share=\"nina@example.com\"") && !page.contains("data-invitation="), "{page}");
        let r = nina.submit("/projects", &format!("/invitations/{invitation}/accept"), &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "an invitation is accepted once");

        // Withdrawn before Eve answers, hers is gone.
        olive.submit(&sharing, &sharing, &[("email", "eve@example.com"), ("role", "viewer")]).await;
        let eves = eve.invitation_to(id).await.unwrap();
        let r = nina.submit(&sharing, &format!("{sharing}/invitations/{eves}/withdraw"), &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "an editor cannot withdraw the owner's invitation");
        let (_, said) = olive.submit_and_follow(&sharing, &format!("{sharing}/invitations/{eves}/withdraw"), &[]).await;
        assert!(said.contains("Withdrew the invitation to eve@example.com."), "{said}");
        assert!(eve.invitation_to(id).await.is_none());
        let r = eve.submit("/projects", &format!("/invitations/{eves}/accept"), &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn an_invitation_to_an_address_without_an_account_is_claimed_only_by_confirming_its_sign_up() {
    for app in apps().await {
        let olive = Browser::new(&app);
        olive.sign_up("olive@example.com", "Olive Owner").await;
        let id = olive.create_project("Team survey").await;
        let sharing = format!("/projects/{id}/sharing");
        olive.submit(&sharing, &sharing, &[("email", "nina@example.com"), ("role", "editor")]).await;
        app.nth_mail_to("nina@example.com", 1).await;

        // Mallory signs up with Nina's address, but cannot read Nina's mail.
        let mallory = Browser::new(&app);
        let r = mallory.submit("/signup", "/signup", &[("name", "Nina"), ("email", "nina@example.com"), ("password", "mallory's secret")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        mallory.wait_confirmation_mail("nina@example.com", 1).await;
        assert_eq!(mallory.get("/projects").await.status(), StatusCode::SEE_OTHER, "a sign-up alone signs no one in");
        let r = mallory.submit("/signin", "/signin", &[("email", "nina@example.com"), ("password", "mallory's secret")]).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "no account until the address confirms");
        let (status, _) = mallory.get_text(&format!("/signup/confirm?token={}", "f".repeat(64))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let nina_address = domain::Email::parse("nina@example.com").unwrap();
        assert_eq!(app.store.invitations_to(&nina_address).await.unwrap().len(), 1, "the invitation still waits for Nina");
        assert!(app.store.shares(id).await.unwrap().is_empty());

        // Nina signs up and confirms from her inbox: the invitation is hers to accept.
        let nina = Browser::new(&app);
        let r = nina.sign_up_with("nina@example.com", "Nina Next", "ninas own password", "/projects").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        nina.accept_invitation(id).await;
        let (status, html) = nina.get_text(&format!("/projects/{id}/survey")).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let shares = app.store.shares(id).await.unwrap();
        assert_eq!((shares.len(), shares[0].name.as_str()), (1, "Nina Next"));
    }
}
