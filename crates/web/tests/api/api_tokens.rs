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
        let (_, said) = stranger.submit_and_follow("/account", &format!("/account/tokens/{token_id}/revoke"), &[]).await;
        assert!(said.contains("Revoked the token"), "{said}");
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

/// A new token is shown once, on the page its creation redirects to: a reload
/// of that page neither shows it again nor creates another, nobody else can
/// open it, and the database holds it only sealed until then.
#[tokio::test]
async fn a_new_token_is_shown_once_after_a_redirect_and_never_to_anyone_else() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.sign_up("olive@example.com", "Olive Owner").await;
        let r = b.submit("/account", "/account/tokens", &[("name", "nightly export")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let created = r.headers()["location"].to_str().unwrap().to_string();
        assert!(created.starts_with("/account/tokens/") && created.ends_with("/created"), "{created}");

        // Someone else signed in cannot open it, and it stays for its owner.
        let eve = Browser::new(&app);
        eve.sign_up("eve@example.com", "Eve").await;
        let r = eve.get(&created).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(!r.text().await.unwrap().contains("ins_"));

        let sealed: (Option<String>,) = sqlx::query_as("SELECT reveal_sealed FROM api_tokens").fetch_one(app.store.pool()).await.unwrap();
        let sealed = sealed.0.expect("kept sealed until shown");
        let r = b.get(&created).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let html = r.text().await.unwrap();
        let start = html.find("ins_").expect("the token, shown");
        let token: String = html[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect();
        assert!(!sealed.contains(&token), "never stored in the clear");

        // Shown once: the reload says so, and there is still one token, which works.
        let r = b.get(&created).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, again) = b.get_text(r.headers()["location"].to_str().unwrap()).await;
        assert!(!again.contains(&token) && again.contains("shown only once"), "{again}");
        let tokens: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM api_tokens").fetch_one(app.store.pool()).await.unwrap();
        assert_eq!(tokens.0, 1);
        let api = reqwest::Client::new().get(format!("{}/api/v1/projects", app.url)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(api.status(), StatusCode::OK);
    }
}
