//! Starts the real application on port 0 with a fresh database, and speaks to
//! it over HTTP as a browser or a script would.

use reqwest::{Client, Response, StatusCode};
use store::testing::TestDatabase;

pub struct TestApp {
    pub url: String,
    /// Kept so the database lives as long as the app.
    pub _db: TestDatabase,
    pub store: store::Store,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

pub async fn spawn_app(db: TestDatabase) -> TestApp {
    let store = db.store().await;
    let mut config = web::Config::new(db.url.clone(), "127.0.0.1:0".parse().unwrap());
    config.secret_key = Some(store::sealed::Sealer::generate_key());
    let app = web::Application::build_with_store(config, store.clone()).await.expect("build app");
    let url = app.public_url().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp { url, _db: db, store, shutdown: Some(tx) }
}

/// Every backend: SQLite always, PostgreSQL when reachable (always in CI).
pub async fn apps() -> Vec<TestApp> {
    let mut apps = Vec::new();
    for db in TestDatabase::all().await {
        apps.push(spawn_app(db).await);
    }
    apps
}

/// A browser: keeps cookies, does not follow redirects (tests look at them).
pub struct Browser {
    pub client: Client,
    pub base: String,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        let client = Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { client, base: app.url.clone() }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(format!("{}{path}", self.base)).send().await.unwrap()
    }

    pub async fn get_text(&self, path: &str) -> (StatusCode, String) {
        let r = self.get(path).await;
        let status = r.status();
        (status, r.text().await.unwrap())
    }

    /// Posts a form as the page at `page` would: with that page's CSRF token.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let (_, html) = self.get_text(page).await;
        let csrf = csrf_in(&html).unwrap_or_else(|| panic!("no CSRF token on {page}"));
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_form(action, &all).await
    }

    pub async fn post_form(&self, action: &str, fields: &[(&str, &str)]) -> Response {
        self.client.post(format!("{}{action}", self.base)).form(fields).send().await.unwrap()
    }

    pub async fn sign_up(&self, email: &str, name: &str) {
        let r = self.submit("/signup", "/signup", &[("name", name), ("email", email), ("password", "a good password")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "sign-up of {email}: {}", r.text().await.unwrap());
    }

    /// Creates a project and returns its id.
    pub async fn create_project(&self, name: &str) -> i64 {
        let r = self.submit("/projects", "/projects", &[("name", name)]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let location = r.headers()["location"].to_str().unwrap().to_string();
        location.trim_start_matches("/projects/").trim_end_matches("/survey").parse().unwrap()
    }

    pub async fn add_question(&self, project: i64, kind: &str, text: &str, choices: &str, required: bool) -> Response {
        let page = format!("/projects/{project}/survey");
        let mut fields = vec![("type", kind), ("text", text), ("choices", choices), ("min", ""), ("max", "")];
        if required {
            fields.push(("required", "on"));
        }
        self.submit(&page, &format!("{page}/questions"), &fields).await
    }

    pub async fn publish(&self, project: i64) -> String {
        let page = format!("/projects/{project}/survey");
        let r = self.submit(&page, &format!("{page}/publish"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, html) = self.get_text(&page).await;
        let start = html.find("/s/").expect("survey link on the page");
        let slug: String = html[start + 3..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        format!("/s/{slug}")
    }
}

pub fn csrf_in(html: &str) -> Option<String> {
    hidden_value(html, "csrf")
}

/// The value of the first hidden input with this name.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].chars().take_while(|c| *c != '"').collect())
}
