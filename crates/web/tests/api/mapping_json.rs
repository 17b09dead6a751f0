//! Mappings as a JSON file: exported from one survey and imported into
//! another with the same questions, where responses then land in the
//! owner's org; refused, naming the place in the file, when it does not fit;
//! and imported only by those the owner allows.

use crate::helpers::{apps_with_emulator, csrf_in, hidden_value, mapped_draft, org, records, until, Browser, WithSalesforce};
use reqwest::StatusCode;

/// The survey's mappings as stored, and their version.
async fn stored(sf: &WithSalesforce, id: i64) -> (Vec<domain::Mapping>, i64) {
    sf.app.store.integration(id).await.unwrap().map(|i| (i.mappings, i.version)).unwrap_or_default()
}

async fn export(b: &Browser, id: i64) -> String {
    let r = b.get(&format!("/projects/{id}/salesforce/mappings.json")).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

/// Pastes `text` into the import form of the survey's Salesforce page.
async fn import(b: &Browser, id: i64, text: &str, replaces: Option<&str>) -> (StatusCode, String) {
    let panel = format!("/projects/{id}/salesforce");
    let mut fields = vec![("document", text)];
    fields.extend(replaces.map(|v| ("replaces", v)));
    let r = b.submit(&panel, &format!("{panel}/mappings/import"), &fields).await;
    if r.status() == StatusCode::SEE_OTHER {
        // Saved: the Salesforce page says what was imported.
        let (status, page) = b.follow(r).await;
        return (status, unescape(&page));
    }
    (r.status(), unescape(&r.text().await.unwrap()))
}

/// The page's text as a person reads it (maud escapes quotes).
fn unescape(html: &str) -> String {
    html.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// Another survey of Olive's with the questions the mapped draft has.
async fn same_questions(b: &Browser, name: &str) -> i64 {
    let id = b.create_project(name).await;
    b.add_question(id, "nps", "How likely are you to recommend us?", "", true).await;
    b.add_question(id, "essay", "Anything else?", "", false).await;
    id
}

#[tokio::test]
async fn mappings_copied_to_a_survey_with_the_same_questions_deliver_there() {
    for sf in apps_with_emulator().await {
        let (b, from) = mapped_draft(&sf).await;
        let r = b.get(&format!("/projects/{from}/salesforce/mappings.json")).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-disposition"], "attachment; filename=\"post-case-csat-mappings.json\"");
        let file = r.text().await.unwrap();
        let json: serde_json::Value = serde_json::from_str(&file).unwrap();
        assert_eq!(json["format"], "insight-mappings");
        assert_eq!(json["version"], 1);
        assert_eq!(json["survey"], "Post-case CSAT");
        assert_eq!(json["questions"], serde_json::json!({"q1": "How likely are you to recommend us?", "q2": "Anything else?"}));
        assert_eq!(json["mappings"], serde_json::to_value(&stored(&sf, from).await.0).unwrap(), "the mappings as Insight stores them");
        assert!(!file.contains(&org(&sf, true)), "no org id in the file: {file}");

        // The file chosen in the form, posted as a browser posts it.
        let to = same_questions(&b, "Post-case CSAT, EMEA").await;
        let panel = format!("/projects/{to}/salesforce");
        let (_, html) = b.get_text(&panel).await;
        assert!(html.contains("Download mappings (JSON)") && html.contains("id=\"import-mappings\""), "{html}");
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf_in(&html).unwrap())
            .part("file", reqwest::multipart::Part::text(file.clone()).file_name("post-case-csat-mappings.json").mime_str("application/json").unwrap())
            .text("document", "");
        let r = b.client.post(format!("{}{panel}/mappings/import", b.base)).multipart(form).send().await.unwrap();
        let (_, html) = b.follow(r).await;
        let html = unescape(&html);
        assert!(html.contains("Imported 1 mapping: Survey_Response__c."), "{html}");
        assert!(html.contains("imported 1 mapping from a file"), "in the Salesforce history: {html}");
        assert_eq!(stored(&sf, to).await.0, stored(&sf, from).await.0);
        let integration = sf.app.store.integration(to).await.unwrap().unwrap();
        assert_eq!(integration.validated_org_id.as_deref(), Some(org(&sf, true).as_str()), "validated against the owner's org");

        // A response to the copy lands in the org, once.
        let link = b.publish(to).await;
        let respondent = Browser::new(&sf.app);
        let (_, page) = respondent.get_text(&link).await;
        let rid = hidden_value(&page, "_rid").unwrap();
        respondent.post_form(&link, &[("_rid", &rid), ("q1", "4"), ("q2", "Slow reply")]).await;
        until(&sf, to, "delivered", |c| c.delivered == 1).await;
        let mine: Vec<serde_json::Value> = records(&sf, &org(&sf, true)).await.into_iter().filter(|x| x["External_Id__c"] == rid.as_str()).collect();
        assert_eq!(mine.len(), 1, "{mine:?}");
        assert_eq!(mine[0]["Comment__c"], "Slow reply");
    }
}

#[tokio::test]
async fn an_export_imported_back_gives_the_same_file_after_a_confirmation() {
    for sf in apps_with_emulator().await {
        let (b, id) = mapped_draft(&sf).await;
        let first = export(&b, id).await;
        let before = stored(&sf, id).await;

        // The survey has mappings: the import asks first and changes nothing.
        let (status, html) = import(&b, id, &first, None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("This replaces the 1 mapping of this survey with the 1 in the file. Confirm below"), "{html}");
        assert_eq!(stored(&sf, id).await, before, "nothing saved before the confirmation");
        let replaces = hidden_value(&html, "replaces").expect("the confirmation carries the version it replaces");

        // A confirmation of mappings that changed meanwhile asks again.
        let (status, html) = import(&b, id, &first, Some(&(before.1 - 1).to_string())).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"confirm-import\""), "{html}");
        assert_eq!(stored(&sf, id).await, before);

        let (status, html) = import(&b, id, &first, Some(&replaces)).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("Imported 1 mapping: Survey_Response__c."), "{html}");
        assert_eq!(stored(&sf, id).await.0, before.0);
        assert_eq!(export(&b, id).await, first, "export → import → export is the same file");
    }
}

#[tokio::test]
async fn a_file_that_does_not_fit_is_refused_saying_where_and_changes_nothing() {
    for sf in apps_with_emulator().await {
        let (b, id) = mapped_draft(&sf).await;
        let file = export(&b, id).await;
        // Into a survey without mappings, so no confirmation stands between.
        let to = same_questions(&b, "Copy").await;
        let mut other_org_object = serde_json::from_str::<serde_json::Value>(&file).unwrap();
        let copy = other_org_object["mappings"][0].clone();
        other_org_object["mappings"].as_array_mut().unwrap().push(copy);
        other_org_object["mappings"][0]["rules"][2]["field"] = "Nonexistent_Field__c".into();
        other_org_object["mappings"][1]["object"] = "Survey_Feedback__c".into();
        let cases: Vec<(String, StatusCode, Vec<&str>)> = vec![
            ("{\n  \"format\": \"insight-mappings\",\n  oops\n}".into(), StatusCode::BAD_REQUEST, vec!["The file is not JSON: ", "(line 3, column 3)."]),
            (file.replacen("\"from\": \"answer\"", "\"from\": \"anwser\"", 1), StatusCode::UNPROCESSABLE_ENTITY, vec!["At mappings[0].rules[1].source.from: unknown variant `anwser`"]),
            (file.replacen("\"field\": \"Score__c\",", "\"field\": \"Score__c\", \"sourse\": {},", 1), StatusCode::UNPROCESSABLE_ENTITY, vec!["At mappings[0].rules[1]: there is no field \"sourse\" here (a typo?)."]),
            (file.replace("\"insight-mappings\"", "\"insight-triggers\""), StatusCode::UNPROCESSABLE_ENTITY, vec!["The file is not an Insight mappings file: \"format\" is \"insight-triggers\""]),
            (file.replace("\"version\": 1", "\"version\": 2"), StatusCode::UNPROCESSABLE_ENTITY, vec!["The file is version 2 of the mappings format; this Insight reads up to version 1."]),
            (file.replace("\"Anything else?\"", "\"Anything else to add?\""), StatusCode::UNPROCESSABLE_ENTITY, vec!["mappings[0] reads q2, which in the file is \"Anything else to add?\" but in this survey is \"Anything else?\"; edit the file or the survey."]),
            (serde_json::to_string_pretty(&other_org_object).unwrap(), StatusCode::UNPROCESSABLE_ENTITY, vec!["mappings[0] (Survey_Response__c): ", "Nonexistent_Field__c", "mappings[1] (Survey_Feedback__c): "]),
        ];
        for (text, status, words) in &cases {
            let (got, html) = import(&b, to, text, None).await;
            assert_eq!(got, *status, "{text}\n{html}");
            for w in words {
                assert!(html.contains(w), "{w} in {html}");
            }
            assert!(html.contains("id=\"import-problems\"") && html.contains("Nothing was imported:"), "{html}");
            assert!(html.contains(&text.lines().nth(1).unwrap().to_string()), "the text area keeps what was pasted: {html}");
            assert_eq!(stored(&sf, to).await, (Vec::new(), 0), "nothing saved for {words:?}");
        }

        // Copied to a survey whose questions differ: which mapping reads what.
        let unlike = b.create_project("Onboarding").await;
        b.add_question(unlike, "nps", "How likely are you to recommend us?", "", true).await;
        b.add_question(unlike, "email", "Your email", "", false).await;
        let (status, html) = import(&b, unlike, &file, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("mappings[0] reads q2, which in the file is \"Anything else?\" but in this survey is \"Your email\"; edit the file or the survey."), "{html}");
        let fewer = b.create_project("Short").await;
        b.add_question(fewer, "nps", "How likely are you to recommend us?", "", true).await;
        let (status, html) = import(&b, fewer, &file, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("mappings[0] (Survey_Response__c) reads q2, which this survey does not have"), "{html}");
        assert_eq!(stored(&sf, unlike).await, (Vec::new(), 0));
        assert_eq!(stored(&sf, fewer).await, (Vec::new(), 0));
        let (_, html) = b.get_text(&format!("/projects/{to}/salesforce")).await;
        assert!(!html.contains("imported"), "no import in the history: {html}");
    }
}

#[tokio::test]
async fn only_those_the_owner_allows_import_and_strangers_see_nothing() {
    for sf in apps_with_emulator().await {
        let (olive, id) = mapped_draft(&sf).await;
        let file = export(&olive, id).await;
        let before = stored(&sf, id).await;
        let import_path = format!("/projects/{id}/salesforce/mappings/import");
        let emptied = file.replace(&file[file.find("\"mappings\"").unwrap()..], "\"mappings\": []\n}\n");
        assert!(serde_json::from_str::<serde_json::Value>(&emptied).is_ok(), "{emptied}");

        let eddie = Browser::new(&sf.app);
        eddie.sign_up("eddie@example.com", "Eddie Editor").await;
        olive.share(&eddie, id, &[("email", "eddie@example.com"), ("role", "editor")]).await;
        let vic = Browser::new(&sf.app);
        vic.sign_up("vic@example.com", "Vic Viewer").await;
        olive.share(&vic, id, &[("email", "vic@example.com"), ("role", "viewer")]).await;
        for (who, name) in [(&eddie, "editor without the grant"), (&vic, "viewer")] {
            // Both may take the file away; neither may replace what it writes.
            assert_eq!(export(who, id).await, file, "{name}");
            let (_, html) = who.get_text(&format!("/projects/{id}/salesforce")).await;
            assert!(!html.contains("id=\"import-mappings\""), "{name}: no import form");
            let (status, html) = import(who, id, &emptied, Some(&before.1.to_string())).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {html}");
        }

        let stranger = Browser::new(&sf.app);
        stranger.sign_up("sam@example.com", "Sam Stranger").await;
        let r = stranger.get(&format!("/projects/{id}/salesforce/mappings.json")).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let (_, projects) = stranger.get_text("/projects").await;
        let csrf = csrf_in(&projects).unwrap();
        let r = stranger.post_form(&import_path, &[("csrf", &csrf), ("document", &emptied)]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);

        // The owner's own browser, tricked into posting without the token.
        let r = olive.post_form(&import_path, &[("document", emptied.as_str()), ("replaces", &before.1.to_string())]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = olive.post_form(&import_path, &[("csrf", "not-the-token"), ("document", emptied.as_str()), ("replaces", &before.1.to_string())]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        // Larger than any mappings file: refused before it is read.
        let huge = format!("{}{}", &file[..file.len() - 2], " ".repeat(300 * 1024) + "}");
        let (status, html) = import(&olive, id, &huge, Some(&before.1.to_string())).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(html.contains("The import is larger than 256 KiB, the most a mappings file may be."), "{html}");
        assert_eq!(stored(&sf, id).await, before, "nothing changed by any of them");

        // With the owner's grant the editor may, and the history names them.
        let eddie_id = sf.app.store.account_by_email(&domain::Email::parse("eddie@example.com").unwrap()).await.unwrap().unwrap().id;
        let sharing = format!("/projects/{id}/sharing");
        let r = olive.submit(&sharing, &format!("{sharing}/{eddie_id}/salesforce"), &[("granted", "yes")]).await;
        assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
        let (status, html) = import(&eddie, id, &emptied, Some(&before.1.to_string())).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("Imported no mappings: this survey now has none."), "{html}");
        assert!(stored(&sf, id).await.0.is_empty());
        let history = sf.app.store.salesforce_history(id, 5).await.unwrap();
        assert!(history.iter().any(|h| h.change == "imported 0 mappings from a file" && h.actor_name == "Eddie Editor" && !h.by_owner), "{history:?}");
    }
}
