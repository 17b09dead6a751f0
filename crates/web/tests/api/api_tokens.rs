use crate::helpers::{apps, Browser};
use reqwest::StatusCode;
use serde_json::Value;

async fn token_for(b: &Browser) -> String {
    b.api_token().await
}

#[tokio::test]
async fn a_script_reads_projects_and_responses_with_an_api_token() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.sign_up("owner@example.com", "Olive").await;
        let id = b.create_project("API survey").await;
        b.add_question(id, "nps", "Recommend", "", true).await;
        let link = b.publish(id).await;
        b.post_form(&link, &[("q1", "7")]).await;
        let token = token_for(&b).await;
        let api = reqwest::Client::new();
        let get = |path: String| api.get(format!("{}{path}", app.url)).bearer_auth(&token).send();

        let projects: Value = get("/api/v1/projects".into()).await.unwrap().json().await.unwrap();
        assert_eq!(projects["projects"][0]["name"], "API survey");
        assert_eq!(projects["projects"][0]["response_count"], 1);

        let project: Value = get(format!("/api/v1/projects/{id}")).await.unwrap().json().await.unwrap();
        assert_eq!(project["survey"]["questions"][0]["kind"]["type"], "nps");

        let responses: Value = get(format!("/api/v1/projects/{id}/responses")).await.unwrap().json().await.unwrap();
        assert_eq!(responses["responses"][0]["answers"]["q1"], 7);
        let rid = responses["responses"][0]["id"].as_str().unwrap().to_string();
        let one = get(format!("/api/v1/projects/{id}/responses/{rid}")).await.unwrap();
        assert_eq!(one.status(), StatusCode::OK);

        let created = api.post(format!("{}/api/v1/projects", app.url)).bearer_auth(&token).json(&serde_json::json!({"name": "From API"})).send().await.unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let bad = api.post(format!("{}/api/v1/projects", app.url)).bearer_auth(&token).json(&serde_json::json!({"name": "X", "color": "red"})).send().await.unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST, "unknown fields are refused");
    }
}

#[tokio::test]
async fn the_api_refuses_missing_revoked_and_foreign_tokens() {
    for app in apps().await {
        let owner = Browser::new(&app);
        owner.sign_up("owner@example.com", "Olive").await;
        let id = owner.create_project("Private").await;
        let stranger = Browser::new(&app);
        stranger.sign_up("stranger@example.com", "Sam").await;
        let token = token_for(&stranger).await;
        let api = reqwest::Client::new();

        let none = api.get(format!("{}/api/v1/projects", app.url)).send().await.unwrap();
        assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
        let body: Value = none.json().await.unwrap();
        assert!(body["error"]["message"].as_str().unwrap().contains("Bearer"));

        let foreign = api.get(format!("{}/api/v1/projects/{id}", app.url)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(foreign.status(), StatusCode::NOT_FOUND);

        let (_, html) = stranger.get_text("/account").await;
        let start = html.find("/account/tokens/").unwrap() + "/account/tokens/".len();
        let token_id: String = html[start..].chars().take_while(|c| c.is_ascii_digit()).collect();
        stranger.submit("/account", &format!("/account/tokens/{token_id}/revoke"), &[]).await;
        let revoked = api.get(format!("{}/api/v1/projects", app.url)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn every_path_in_the_openapi_document_is_served() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.sign_up("owner@example.com", "Olive").await;
        let id = b.create_project("Doc").await;
        let token = token_for(&b).await;
        let doc: Value = reqwest::get(format!("{}/api/openapi.json", app.url)).await.unwrap().json().await.unwrap();
        assert_eq!(doc["openapi"], "3.0.3");
        let api = reqwest::Client::new();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            let concrete = path.replace("{id}", &id.to_string()).replace("{responseId}", "R_0000000000000000000000");
            if ops.get("get").is_some() {
                let r = api.get(format!("{}{concrete}", app.url)).bearer_auth(&token).send().await.unwrap();
                let documented: Vec<&String> = ops["get"]["responses"].as_object().unwrap().keys().collect();
                assert!(documented.iter().any(|c| c.as_str() == r.status().as_str()), "{path} answered {}, documented {documented:?}", r.status());
            }
        }
    }
}
