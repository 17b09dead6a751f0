//! Starts the real application on port 0 with a fresh database, and speaks to
//! it over HTTP as a browser or a script would.

use reqwest::{Client, Response, StatusCode};
use std::path::{Path, PathBuf};
use std::time::Duration;
use store::testing::TestDatabase;

pub struct TestApp {
    pub url: String,
    /// Kept so the database lives as long as the app.
    pub _db: TestDatabase,
    /// The tests' own look into the server's database (the server reaches
    /// it only through `app`), with the server's secret key.
    pub store: store::Store,
    /// The folder the app writes its mail into (one `.eml` file per mail).
    pub mail: PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        let _ = std::fs::remove_dir_all(&self.mail);
    }
}

/// A fresh folder for one app's mail.
pub fn mail_folder() -> PathBuf {
    let n: u64 = rand::random();
    std::env::temp_dir().join(format!("insight-test-mail-{n:016x}"))
}

/// The app's mail goes to a folder the tests read, and failed sends are
/// retried within moments.
fn with_test_mail(config: &mut web::Config, folder: &Path) {
    config.app.mail = Some(app::mail::MailSettings::folder(folder));
    config.app.mail_worker = app::mail::MailWorkerSettings { lease: Duration::from_secs(30), first_retry: Duration::from_millis(100), max_attempts: 15, ..Default::default() };
}

/// A mail as the app wrote it, its body decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    /// The outbox row it was sent from, read off its Message-ID.
    pub outbox_id: i64,
    pub body: String,
}

impl Mail {
    /// Parses a mail as lettre writes it: headers, a blank line, and a
    /// quoted-printable text body.
    pub fn parse(raw: &str) -> Mail {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
        let header = |name: &str| {
            head.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(':'))).map(|v| v.trim().to_string()).unwrap_or_default()
        };
        let message_id = header("Message-ID");
        let outbox_id = message_id.trim_start_matches("<insight.").split('.').next().and_then(|n| n.parse().ok()).unwrap_or(-1);
        let decoded = quoted_printable::decode(body.replace('\n', "\r\n"), quoted_printable::ParseMode::Robust).unwrap_or_default();
        Mail { to: header("To"), subject: header("Subject"), outbox_id, body: String::from_utf8_lossy(&decoded).into_owned() }
    }

    /// The first link in the body containing `marker`.
    pub fn link(&self, marker: &str) -> Option<String> {
        self.body.split_whitespace().find(|w| w.contains(marker)).map(|w| w.trim_end_matches(['.', ',', ')']).to_string())
    }
}

/// Every mail in a folder, oldest first.
pub fn mails_in(folder: &Path) -> Vec<Mail> {
    let mut mails: Vec<Mail> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .map(|raw| Mail::parse(&raw))
        .collect();
    mails.sort_by_key(|m| m.outbox_id);
    mails
}

impl TestApp {
    /// The mails sent to an address so far, oldest first.
    pub fn mails_to(&self, email: &str) -> Vec<Mail> {
        mails_in(&self.mail).into_iter().filter(|m| m.to == email).collect()
    }

    /// Waits for the `n`th mail (counting from 1) to an address; fails after
    /// a generous bound rather than hanging (the bound is no speed claim).
    pub async fn nth_mail_to(&self, email: &str, n: usize) -> Mail {
        let start = std::time::Instant::now();
        loop {
            let mails = self.mails_to(email);
            if mails.len() >= n {
                return mails[n - 1].clone();
            }
            assert!(start.elapsed() < Duration::from_secs(30), "mail {n} to {email} never came: {mails:?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

pub async fn spawn_app(db: TestDatabase) -> TestApp {
    spawn_app_with(db, |_| {}).await
}

/// The app with some settings changed first (small limits, short timeouts).
pub async fn spawn_app_with(db: TestDatabase, adjust: impl FnOnce(&mut web::Config)) -> TestApp {
    let mut config = web::Config::new(db.url.clone(), "127.0.0.1:0".parse().unwrap());
    config.app.secret_key = Some(store::sealed::Sealer::generate_key());
    let mail = mail_folder();
    with_test_mail(&mut config, &mail);
    adjust(&mut config);
    let store = peek(&db, config.app.secret_key.as_deref()).await;
    let app = web::Application::build(config).await.expect("build app");
    let url = app.public_url().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp { url, _db: db, store, mail, shutdown: Some(tx) }
}

/// A store on the test's database, sealing with `key` when it is one.
async fn peek(db: &TestDatabase, key: Option<&str>) -> store::Store {
    let store = db.store().await;
    match store::sealed::Sealer::from_encoded_key(key) {
        Ok(sealer) => store.with_sealer(sealer),
        Err(_) => store,
    }
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
    /// The app's mail folder: this browser's person reads their mail there.
    pub mail: PathBuf,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        let client = Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { client, base: app.url.clone(), mail: app.mail.clone() }
    }

    /// A browser on another machine: its connections come from `ip`, one of
    /// the loopback addresses (127.0.0.0/8 all reach the server on Linux).
    pub fn from_address(app: &TestApp, ip: [u8; 4]) -> Browser {
        let client = Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .local_address(std::net::IpAddr::from(ip))
            .build()
            .unwrap();
        Browser { client, base: app.url.clone(), mail: app.mail.clone() }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(format!("{}{path}", self.base)).send().await.unwrap()
    }

    /// A page's status and text. Every HTML page a test reads this way is
    /// checked to carry no inline style (the CSP allows none).
    pub async fn get_text(&self, path: &str) -> (StatusCode, String) {
        let r = self.get(path).await;
        let status = r.status();
        let html = r.headers().get("content-type").is_some_and(|t| t.to_str().unwrap_or("").starts_with("text/html"));
        let text = r.text().await.unwrap();
        if html {
            assert_eq!(inline_style_in(&text), None, "{path} carries an inline style");
        }
        (status, text)
    }

    /// Posts a form as the page at `page` would: with that page's CSRF token.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let (_, html) = self.get_text(page).await;
        let csrf = csrf_in(&html).unwrap_or_else(|| panic!("no CSRF token on {page}"));
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_form(action, &all).await
    }

    /// Submits a form that must end in a redirect (so a reload never repeats
    /// it), and returns the page it leads to, as the browser would show it.
    pub async fn submit_and_follow(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let r = self.submit(page, action, fields).await;
        self.follow(r).await
    }

    /// The page a 303 leads to.
    pub async fn follow(&self, r: Response) -> (StatusCode, String) {
        let status = r.status();
        let url = r.url().to_string();
        assert_eq!(status, StatusCode::SEE_OTHER, "POST {url} ends in a redirect, not {status}: {}", r.text().await.unwrap_or_default());
        let to = r.headers()["location"].to_str().unwrap().to_string();
        assert!(to.starts_with('/'), "the redirect stays on this site: {to}");
        self.get_text(&to).await
    }

    pub async fn post_form(&self, action: &str, fields: &[(&str, &str)]) -> Response {
        self.client.post(format!("{}{action}", self.base)).form(fields).send().await.unwrap()
    }

    /// Signs up as a person would: the form, then the link in the mail.
    pub async fn sign_up(&self, email: &str, name: &str) {
        let r = self.sign_up_with(email, name, "a good password", "/projects").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "sign-up of {email}: {}", r.text().await.unwrap());
    }

    /// The sign-up form with `next`, then its confirmation mail followed;
    /// answers the confirmation's response.
    pub async fn sign_up_with(&self, email: &str, name: &str, password: &str, next: &str) -> Response {
        let before = self.confirmation_mails(email).len();
        let r = self.submit("/signup", "/signup", &[("name", name), ("email", email), ("password", password), ("next", next)]).await;
        let (_, said) = self.follow(r).await;
        assert!(said.contains("Check your inbox"), "sign-up of {email}: {said}");
        let link = self.wait_confirmation_mail(email, before + 1).await;
        self.confirm_sign_up(&link, password).await
    }

    /// The sign-up links mailed to an address so far, oldest first.
    pub fn confirmation_mails(&self, email: &str) -> Vec<String> {
        mails_in(&self.mail).into_iter().filter(|m| m.to == email).filter_map(|m| m.link("/signup/confirm?token=")).collect()
    }

    /// Waits for the `n`th sign-up link mailed to an address.
    pub async fn wait_confirmation_mail(&self, email: &str, n: usize) -> String {
        let start = std::time::Instant::now();
        loop {
            let links = self.confirmation_mails(email);
            if links.len() >= n {
                return links[n - 1].clone();
            }
            assert!(start.elapsed() < Duration::from_secs(30), "no sign-up link {n} came to {email}: {:?}", mails_in(&self.mail));
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Opens a mailed sign-up link and presses its button with the password.
    pub async fn confirm_sign_up(&self, link: &str, password: &str) -> Response {
        let path = link.strip_prefix(&self.base).unwrap_or_else(|| panic!("{link} is not on this app"));
        let (status, html) = self.get_text(path).await;
        assert_eq!(status, StatusCode::OK, "the link opens its page: {html}");
        let (csrf, token) = (csrf_in(&html).unwrap(), hidden_value(&html, "token").unwrap());
        self.post_form("/signup/confirm", &[("csrf", &csrf), ("token", &token), ("password", password)]).await
    }

    /// Shares a project from its Sharing page, and has `receiver` accept the
    /// invitation on their My Projects; answers the Sharing page the form
    /// redirects to (which says what was done).
    pub async fn share(&self, receiver: &Browser, project: i64, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let sharing = format!("/projects/{project}/sharing");
        let shown = self.submit_and_follow(&sharing, &sharing, fields).await;
        receiver.accept_invitation(project).await;
        shown
    }

    /// The id of the open invitation to this project on My Projects.
    pub async fn invitation_to(&self, project: i64) -> Option<String> {
        let (_, html) = self.get_text("/projects").await;
        let marker = format!("\" data-project=\"{project}\"");
        let end = html.find(&marker)?;
        let start = html[..end].rfind("data-invitation-id=\"")? + "data-invitation-id=\"".len();
        Some(html[start..end].to_string())
    }

    pub async fn accept_invitation(&self, project: i64) {
        let id = self.invitation_to(project).await.unwrap_or_else(|| panic!("no invitation to project {project} on My Projects"));
        let r = self.submit("/projects", &format!("/invitations/{id}/accept"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "accepting the invitation to {project}");
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

    /// Creates an API token on the Account page and reads it off the page.
    pub async fn api_token(&self) -> String {
        let r = self.submit("/account", "/account/tokens", &[("name", "script")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "creating a token ends in a redirect");
        let (status, html) = self.get_text(r.headers()["location"].to_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        let start = html.find("ins_").expect("token shown once");
        html[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect()
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

/// The first ` style=` attribute inside a tag of `html`, with what follows it.
pub fn inline_style_in(html: &str) -> Option<String> {
    html.match_indices(" style=").find_map(|(at, _)| {
        let before = &html[..at];
        let in_tag = before.rfind('<') > before.rfind('>');
        in_tag.then(|| html[at..].chars().take(60).collect())
    })
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

/// An Insight server whose Salesforce login hosts are a local emulator's,
/// with the emulator's connected app accepting only Insight's callback URL.
pub struct WithSalesforce {
    pub app: TestApp,
    pub emulator: sfemu::Emulator,
}

pub async fn spawn_app_with_emulator(db: TestDatabase) -> WithSalesforce {
    spawn_app_trusting(db, &[]).await
}

/// As `spawn_app_with_emulator`, with more origins configured as trusted
/// Salesforce hosts than the emulator's own.
pub async fn spawn_app_trusting(db: TestDatabase, also_trusted: &[String]) -> WithSalesforce {
    spawn_app_trusting_with(db, also_trusted, |_| {}).await
}

/// As `spawn_app_trusting`, with some settings changed first.
pub async fn spawn_app_trusting_with(db: TestDatabase, also_trusted: &[String], adjust: impl FnOnce(&mut web::Config)) -> WithSalesforce {
    let key = store::sealed::Sealer::generate_key();
    let store = peek(&db, Some(&key)).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut emu_config = sfemu::EmulatorConfig::default_demo();
    emu_config.connected_apps[0].callback_urls = vec![format!("{url}/salesforce/callback")];
    let (client_id, client_secret) = (emu_config.connected_apps[0].client_id.clone(), emu_config.connected_apps[0].client_secret.clone());
    let emulator = sfemu::Emulator::start(emu_config, "127.0.0.1:0".parse().unwrap(), None).await.expect("start emulator");
    let mut config = web::Config::new(db.url.clone(), "127.0.0.1:0".parse().unwrap());
    config.app.secret_key = Some(key);
    config.app.salesforce = Some(web::SalesforceConfig {
        client_id,
        client_secret,
        production_login_url: emulator.production_login_url(),
        sandbox_login_url: emulator.sandbox_login_url(),
        trusted_hosts: std::iter::once(emulator.http_url()).chain(also_trusted.iter().cloned()).collect(),
    });
    let mail = mail_folder();
    with_test_mail(&mut config, &mail);
    adjust(&mut config);
    let app = web::Application::build_on(listener, config).await.expect("build app");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    WithSalesforce { app: TestApp { url, _db: db, store, mail, shutdown: Some(tx) }, emulator }
}

pub async fn apps_with_emulator() -> Vec<WithSalesforce> {
    let mut all = Vec::new();
    for db in TestDatabase::all().await {
        all.push(spawn_app_with_emulator(db).await);
    }
    all
}

/// What became of a Salesforce sign-in driven like a person would.
pub struct SignInOutcome {
    /// The emulator showed its login form (it did even with a session cookie).
    pub saw_login_form: bool,
    /// Insight's answer to the callback.
    pub callback: Response,
}

impl Browser {
    /// Setup Link → Sign In → the Salesforce login page → consent → back.
    pub async fn link_salesforce(&self, sandbox: bool, username: &str, password: &str, allow: bool) -> SignInOutcome {
        let (saw_login_form, back) = self.salesforce_until_callback(sandbox, username, password, allow).await;
        let callback = self.client.get(&back).send().await.unwrap();
        SignInOutcome { saw_login_form, callback }
    }

    /// The sign-in up to Salesforce's redirect back; returns whether the
    /// login form was shown, and the callback URL not yet visited.
    pub async fn salesforce_until_callback(&self, sandbox: bool, username: &str, password: &str, allow: bool) -> (bool, String) {
        let mut fields = vec![("my_domain", ""), ("return_to", "/salesforce")];
        if sandbox {
            fields.push(("sandbox", "on"));
        }
        let r = self.submit("/salesforce/link", "/salesforce/link", &fields).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "sign-in starts with a redirect to Salesforce");
        let authorize = r.headers()["location"].to_str().unwrap().to_string();
        let signed_in = sfemu::signin::sign_in(&self.client, &authorize, username, password, allow).await.expect("sign in at the emulator");
        assert!(signed_in.redirect.starts_with(&self.base), "back to Insight's callback: {}", signed_in.redirect);
        (signed_in.saw_login_form, signed_in.redirect)
    }
}

/// Waits for the delivery worker to bring the project to `what`; fails after
/// a generous bound rather than hanging (the bound is not a speed claim).
pub async fn until(sf: &WithSalesforce, project: i64, what: &str, ok: impl Fn(&store::deliveries::DeliveryCounts) -> bool) {
    until_within(sf, project, what, std::time::Duration::from_secs(30), ok).await
}

/// As `until`, with its bound given (for work that waits out backoffs).
pub async fn until_within(sf: &WithSalesforce, project: i64, what: &str, bound: std::time::Duration, ok: impl Fn(&store::deliveries::DeliveryCounts) -> bool) {
    let start = std::time::Instant::now();
    loop {
        let counts = sf.app.store.delivery_counts(project).await.unwrap();
        if ok(&counts) {
            return;
        }
        assert!(start.elapsed() < bound, "never reached {what}: {counts:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Records of the custom object in an org, read through the emulator's admin
/// side (it counts no API call).
pub async fn records(sf: &WithSalesforce, org_id: &str) -> Vec<serde_json::Value> {
    let url = format!("{}/orgs/{org_id}/records/Survey_Response__c", sf.emulator.admin_url());
    let v: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    v["records"].as_array().cloned().unwrap_or_default()
}

/// The emulator's sandbox (or production) org id.
pub fn org(sf: &WithSalesforce, sandbox: bool) -> String {
    sf.emulator.orgs().into_iter().find(|o| o.2 == sandbox).unwrap().0
}

/// Olive, linked to the emulator's sandbox, owning a draft survey (NPS q1,
/// comment q2) mapped to one Survey_Response__c per response: Insight's key,
/// Score__c from q1 and Comment__c from q2.
pub async fn mapped_draft(sf: &WithSalesforce) -> (Browser, i64) {
    let b = Browser::new(&sf.app);
    b.sign_up("olive@example.com", "Olive Owner").await;
    let id = b.create_project("Post-case CSAT").await;
    b.link_salesforce(true, "demo@acme.example.sandbox", "demo-password-1", true).await;
    map_survey_responses(&b, id).await;
    (b, id)
}

/// Gives the draft `id` an NPS q1 and a comment q2, mapped to one
/// Survey_Response__c per response (upsert by Insight's key), through the
/// pages, as its owner `b`.
pub async fn map_survey_responses(b: &Browser, id: i64) {
    b.add_question(id, "nps", "How likely are you to recommend us?", "", true).await;
    b.add_question(id, "essay", "Anything else?", "", false).await;
    let panel = format!("/projects/{id}/salesforce");
    let r = b.submit(&panel, &format!("{panel}/mappings"), &[("object", "Survey_Response__c"), ("action", "upsert"), ("key_field", "External_Id__c"), ("record_id", "")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    for (field, source) in [("Score__c", "answer:q1"), ("Comment__c", "answer:q2")] {
        let r = b.submit(&panel, &format!("{panel}/mappings/0/rules"), &[("field", field), ("source", source), ("value", "")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{field}: {}", r.text().await.unwrap());
    }
}

/// The same survey, published; returns its link too.
pub async fn mapped_survey(sf: &WithSalesforce) -> (Browser, i64, String) {
    let (b, id) = mapped_draft(sf).await;
    let link = b.publish(id).await;
    (b, id, link)
}

/// Answers the survey at `link` as a new respondent would: opens the form,
/// sends its response id back with `answers`, and returns that id.
pub async fn answer(app: &TestApp, link: &str, answers: &[(&str, &str)]) -> String {
    let r = Browser::new(app);
    let (_, html) = r.get_text(link).await;
    let rid = hidden_value(&html, "_rid").unwrap();
    let mut fields = vec![("_rid", rid.as_str())];
    fields.extend_from_slice(answers);
    let resp = r.post_form(link, &fields).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    rid
}

/// Stores a finished response as the server stores it (with its delivery,
/// in the same commit), straight through `writer`, with no respondent.
pub async fn store_response(writer: &store::ResponseWriter, project_id: i64, public_id: &str, answers: serde_json::Value) {
    let response = store::NewResponse {
        public_id: public_id.to_string(),
        project_id,
        answers: answers.to_string(),
        embedded: "{}".into(),
        started_at: None,
        finished_at: store::now_ms(),
        provenance: Default::default(),
    };
    writer.submit(response).await.unwrap();
}
