//! `insight demo`: the whole product on one machine with no set-up.

use crate::output::{init_logging, shutdown_signal, Announcer};
use clap::Args;
use domain::{DisplayName, Email, EmbeddedFieldName, NewPassword, ProjectName, QuestionKind, QuestionText, Role, SurveyDefinition, SurveyStatus};
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Folder for the demo's SQLite database (kept across runs)
    #[arg(long, default_value = "insight-data")]
    pub data: PathBuf,
    /// Where Insight listens; port 0 picks a free port
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Where the Salesforce emulator listens (default: the port it had last
    /// time, so stored Salesforce links keep working, else a free one)
    #[arg(long)]
    pub emulator_bind: Option<SocketAddr>,
    /// Print the start-up lines as JSON objects, one per line
    #[arg(long)]
    pub json: bool,
    /// Where mail goes; unset, the demo writes it to the data folder's mail/
    #[command(flatten)]
    pub mail: crate::serve::MailArgs,
    /// Where the page showing every mail sent listens (when mail goes to the
    /// data folder); port 0 picks a free port
    #[arg(long, default_value = "127.0.0.1:0")]
    pub mail_page_bind: SocketAddr,
}

pub const DEMO_EMAIL: &str = "demo@insight.example";
pub const DEMO_PASSWORD: &str = "insight-demo";
pub const COLLEAGUE_EMAIL: &str = "colleague@insight.example";
pub const COLLEAGUE_PASSWORD: &str = "insight-colleague";
/// The second demo account: linked to the emulator's sandbox org, owning a
/// survey that a closed Case triggers.
pub const OPS_EMAIL: &str = "ops@insight.example";
pub const OPS_PASSWORD: &str = "insight-ops";
/// Where the demo's Case contact reads the invitation.
pub const CUSTOMER_EMAIL: &str = "casey@customer.example";

pub async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    init_logging(args.json);
    std::fs::create_dir_all(&args.data)?;
    let database_url = format!("sqlite://{}/insight.db", args.data.display());
    // Insight's address first: the emulator's connected app accepts only
    // Insight's callback URL, as a real connected app does.
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e} (try --bind 127.0.0.1:0)", args.bind))?;
    let insight_url = format!("http://{}", listener.local_addr()?);
    let mut emulator_config = sfemu::EmulatorConfig::default_demo();
    emulator_config.persistence_path = Some(args.data.join("salesforce-emulator.sqlite"));
    // Nobody trying the demo knows the emulator's logins: its login page says them.
    emulator_config.login_page_lists_users = true;
    for app in &mut emulator_config.connected_apps {
        app.callback_urls = vec![format!("{insight_url}/salesforce/callback")];
    }
    let connected_app = emulator_config.connected_apps.first().cloned().ok_or_else(|| anyhow::anyhow!("the emulator has no connected app"))?;
    let emulator = start_emulator(emulator_config, &args).await?;

    let mut config = web::Config::new(database_url.clone(), args.bind);
    config.app.secret_key = Some(demo_secret_key(&args.data)?);
    config.app.salesforce = Some(web::SalesforceConfig {
        client_id: connected_app.client_id.clone(),
        client_secret: connected_app.client_secret.clone(),
        production_login_url: emulator.production_login_url(),
        sandbox_login_url: emulator.sandbox_login_url(),
        // The emulator stands in for Salesforce, on both its listeners.
        trusted_hosts: std::iter::once(emulator.http_url()).chain(emulator.https_url()).collect(),
    });
    let mail_folder = args.data.join("mail");
    config.app.mail = args.mail.settings(Some(&mail_folder.display().to_string()))?;
    let mail = config.app.mail.clone();
    let app = web::Application::build_on(listener, config).await?;
    let seeded = seed(app.app()).await?;
    let url = app.public_url().to_string();
    let triggered = seed_triggered(app.app(), &emulator).await?;
    let say = Announcer { json: args.json };
    say.say(&format!("Insight demo listening on {url}"), json!({ "event": "listening", "url": url, "addr": app.local_addr().to_string(), "pid": std::process::id() }));
    say.say(&format!("  data folder: {}", args.data.display()), json!({ "event": "data", "database_url": database_url }));
    crate::serve::announce_mail(&say, mail.as_ref());
    say.say(
        &format!("  sign in as {DEMO_EMAIL} / {DEMO_PASSWORD} (owner of the sample project)"),
        json!({ "event": "login", "role": "owner", "email": DEMO_EMAIL, "password": DEMO_PASSWORD }),
    );
    say.say(
        &format!("  or as {COLLEAGUE_EMAIL} / {COLLEAGUE_PASSWORD} (the sample project is shared with them as viewer)"),
        json!({ "event": "login", "role": "viewer", "email": COLLEAGUE_EMAIL, "password": COLLEAGUE_PASSWORD }),
    );
    if let Some(slug) = seeded {
        let (query, case) = sample_link_query(app.app(), &emulator, &slug).await?;
        let link = format!("{url}/s/{slug}?{query}");
        say.say(
            &format!("  sample survey link (signed; names Case {case} of the sandbox org, so a mapping that updates the Case by case_id delivers): {link}"),
            json!({ "event": "survey", "url": link, "case_id": case }),
        );
    }
    say.say(
        &format!("Salesforce emulator (stands in for Salesforce) on {}", emulator.http_url()),
        json!({ "event": "emulator", "url": emulator.http_url(), "admin_url": emulator.admin_url(),
                "production_login_url": emulator.production_login_url(), "sandbox_login_url": emulator.sandbox_login_url() }),
    );
    for line in emulator.startup_lines() {
        match line["event"].as_str() {
            Some("org") => say.say(
                &format!(
                    "  {} org {} ({}): record browser {}",
                    line["environment"].as_str().unwrap_or(""),
                    line["name"].as_str().unwrap_or(""),
                    line["id"].as_str().unwrap_or(""),
                    line["browser_url"].as_str().unwrap_or("")
                ),
                json!({ "event": "salesforce_org", "id": line["id"], "name": line["name"], "environment": line["environment"],
                        "login_url": line["login_url"], "instance_url": line["instance_url"], "browser_url": line["browser_url"] }),
            ),
            Some("user") => say.say(
                &format!(
                    "    Salesforce login for the {} org: {} / {}",
                    line["environment"].as_str().unwrap_or(""),
                    line["username"].as_str().unwrap_or(""),
                    line["password"].as_str().unwrap_or("")
                ),
                json!({ "event": "salesforce_login", "org_id": line["org_id"], "environment": line["environment"],
                        "username": line["username"], "password": line["password"] }),
            ),
            _ => {}
        }
    }
    say.say(
        "  link Salesforce: open a survey → Tools → Salesforce → Setup Link to Salesforce Account (tick Sandbox Environment for the sandbox org)",
        json!({ "event": "hint", "text": "Survey → Tools → Salesforce → Setup Link to Salesforce Account" }),
    );
    say.say(
        &format!("  or as {OPS_EMAIL} / {OPS_PASSWORD} (linked to the sandbox org; owns \"{}\", a Trigger and Email Survey on closed Cases)", triggered.project_name),
        json!({ "event": "login", "role": "trigger_owner", "email": OPS_EMAIL, "password": OPS_PASSWORD, "project": triggered.project_url }),
    );
    say.say(
        &format!("  its trigger's endpoint URL: {} (accepts org {} only)", triggered.endpoint_url, triggered.org_id),
        json!({ "event": "trigger", "endpoint_url": triggered.endpoint_url, "org_id": triggered.org_id, "project": triggered.project_url }),
    );
    say.say(
        &format!("  try it: close a Case in the sandbox's record browser, {} — {} gets the invitation", triggered.cases_url, CUSTOMER_EMAIL),
        json!({ "event": "hint", "text": "close a Case in the sandbox org's record browser", "url": triggered.cases_url, "recipient": CUSTOMER_EMAIL }),
    );
    if mail.as_ref().is_some_and(|m| matches!(m.transport, app::mail::MailTransport::Folder(_))) {
        let listener = tokio::net::TcpListener::bind(args.mail_page_bind).await.map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.mail_page_bind))?;
        let mail_url = format!("http://{}", listener.local_addr()?);
        crate::mail_viewer::serve(listener, mail_folder.clone());
        say.say(&format!("  every mail sent: {mail_url}"), json!({ "event": "mail_page", "url": mail_url, "folder": mail_folder.display().to_string() }));
    }
    say.say("Press Ctrl-C to stop.", json!({ "event": "ready" }));
    app.run_until(shutdown_signal()).await?;
    emulator.shutdown().await;
    Ok(())
}

/// Starts the emulator where it listened last time: a link stores the org's
/// instance URL, port included, so a new port would strand it.
async fn start_emulator(config: sfemu::EmulatorConfig, args: &DemoArgs) -> anyhow::Result<sfemu::Emulator> {
    let port_file = args.data.join("salesforce-emulator.port");
    let remembered: Option<SocketAddr> = std::fs::read_to_string(&port_file).ok().and_then(|p| p.trim().parse::<u16>().ok()).map(|p| SocketAddr::from(([127, 0, 0, 1], p)));
    let emulator = match (args.emulator_bind, remembered) {
        (Some(bind), _) => sfemu::Emulator::start(config, bind, None).await?,
        (None, Some(last)) => match sfemu::Emulator::start(config.clone(), last, None).await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "the emulator's previous port is taken; Salesforce links made before need a new sign-in");
                sfemu::Emulator::start(config, SocketAddr::from(([127, 0, 0, 1], 0)), None).await?
            }
        },
        (None, None) => sfemu::Emulator::start(config, SocketAddr::from(([127, 0, 0, 1], 0)), None).await?,
    };
    if let Some(port) = emulator.http_url().rsplit(':').next() {
        std::fs::write(&port_file, port)?;
    }
    Ok(emulator)
}

/// The demo's secret key, made on first run and kept in the data folder
/// (readable by its owner only) so its sealed tokens open on the next run.
fn demo_secret_key(data: &std::path::Path) -> anyhow::Result<String> {
    let path = data.join("secret.key");
    if let Ok(key) = std::fs::read_to_string(&path) {
        return Ok(key.trim().to_string());
    }
    let key = app::generate_secret_key();
    std::fs::write(&path, &key)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(key)
}

/// Creates the demo accounts and sample project on first run, through the
/// same use cases the pages call; returns the sample survey's slug.
async fn seed(app: &app::App) -> anyhow::Result<Option<String>> {
    let email = Email::parse(DEMO_EMAIL)?;
    if let Some(existing) = app.account_by_email(&email).await? {
        let projects = app.projects_of(existing.id).await?;
        let sample = projects.iter().find(|p| p.owner_id == existing.id);
        return Ok(match sample {
            Some(p) => match app.survey(p).await {
                Ok(s) => Some(s.slug),
                Err(app::AppError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        });
    }
    let owner = app
        .create_account_with_confirmed_address(&email, &DisplayName::parse("Dana Demo")?, &web::hash_password(NewPassword::parse(DEMO_PASSWORD)?).await?)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo account appeared while seeding"))?;
    let colleague = app
        .create_account_with_confirmed_address(
            &Email::parse(COLLEAGUE_EMAIL)?,
            &DisplayName::parse("Casey Colleague")?,
            &web::hash_password(NewPassword::parse(COLLEAGUE_PASSWORD)?).await?,
        )
        .await?;
    let id = app.create_project(owner.id, &ProjectName::parse("Customer satisfaction after case close")?).await?;
    let project = app.project(owner.id, id).await?;
    let mut def = SurveyDefinition::default();
    let t = |s: &str| QuestionText::parse(s);
    def.add_question(t("How likely are you to recommend us to a friend or colleague?")?, QuestionKind::Nps, true)?;
    def.add_question(
        t("How was your issue resolved?")?,
        QuestionKind::from_form("single_choice", "Fully resolved\nPartly resolved\nNot resolved", "", "")?,
        true,
    )?;
    def.add_question(
        t("Which channels did you use?")?,
        QuestionKind::from_form("multiple_choice", "Email\nPhone\nChat\nCommunity", "", "")?,
        false,
    )?;
    def.add_question(t("How many days did it take?")?, QuestionKind::from_form("number", "", "0", "365")?, false)?;
    def.add_question(t("Anything we could have done better?")?, QuestionKind::Text { multiline: true }, false)?;
    def.add_question(t("Your email, if we may follow up")?, QuestionKind::Email, false)?;
    def.add_embedded(EmbeddedFieldName::parse("case_id")?)?;
    app.change_survey(&project, |d| {
        *d = def.clone();
        Ok(())
    })
    .await?;
    app.set_survey_status(&project, SurveyStatus::Published).await?;
    if let Some(colleague) = colleague {
        // Sharing is an invitation the receiver accepts; the demo's colleague
        // has accepted it already, so both logins show a shared project.
        app.share(&project, &owner, &Email::parse(COLLEAGUE_EMAIL)?, Role::Viewer, false).await?;
        for invitation in app.invitations_for(&colleague).await? {
            app.accept_invitation(&colleague, invitation.id).await?;
        }
    }
    Ok(Some(app.survey(&project).await?.slug))
}

/// What the demo prints of the triggered survey.
struct Triggered {
    project_name: String,
    project_url: String,
    endpoint_url: String,
    org_id: String,
    cases_url: String,
}

const OPS_PROJECT: &str = "Case closed: how did we do?";

/// The second demo account, linked to the emulator's sandbox org through
/// the real sign-in flow, owning a survey with a Response Mapping that
/// writes the score back onto the Case and a Trigger and Email Survey that
/// the emulator's outbound message on closed Cases reaches. Made on first
/// run; the emulator's rule and records are checked on every run.
async fn seed_triggered(app: &app::App, emulator: &sfemu::Emulator) -> anyhow::Result<Triggered> {
    let email = Email::parse(OPS_EMAIL)?;
    let ops = match app.account_by_email(&email).await? {
        Some(a) => a,
        None => app
            .create_account_with_confirmed_address(&email, &DisplayName::parse("Olivia Ops")?, &web::hash_password(NewPassword::parse(OPS_PASSWORD)?).await?)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the ops account appeared while seeding"))?,
    };
    let (org_id, sandbox_user, sandbox_password) = sandbox_login(emulator)?;
    if app.link(ops.id).await?.is_none() {
        // The same sign-in a person does: authorize, log in, consent, callback.
        let session = hex::encode(rand::random::<[u8; 16]>());
        let authorize = app.start_sign_in(ops.id, &session, domain::Environment::Sandbox, "", "/salesforce").await?;
        let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;
        let signed_in = sfemu::signin::sign_in(&http, &authorize, &sandbox_user, &sandbox_password, true).await?;
        let back = url::Url::parse(&signed_in.redirect)?;
        let param = |name: &str| back.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
        let params = app::link::CallbackParams { code: param("code"), state: param("state"), error: param("error"), error_description: param("error_description") };
        app.finish_sign_in(ops.id, &session, params).await?;
    }
    let projects = app.projects_of(ops.id).await?;
    let project = match projects.iter().find(|p| p.owner_id == ops.id && p.name == OPS_PROJECT) {
        Some(p) => p.clone(),
        None => {
            let id = app.create_project(ops.id, &ProjectName::parse(OPS_PROJECT)?).await?;
            let project = app.project(ops.id, id).await?;
            app.change_survey(&project, |d| {
                d.add_question(QuestionText::parse("How likely are you to recommend us to a friend or colleague?")?, QuestionKind::Nps, true)?;
                d.add_question(QuestionText::parse("What could we have done better?")?, QuestionKind::Text { multiline: true }, false)?;
                Ok(())
            })
            .await?;
            let form = app::triggers::TriggerForm { sender_name: "Acme Support".into(), ..app::triggers::TriggerForm::of(None) };
            app.save_trigger(&project, &ops, &form).await?;
            let write_back = app::integration::parse_mapping(&app::integration::NewMapping { object: "Case", action: "update", record_id: "embedded:record_id", ..Default::default() })?;
            app.change_mappings(&project, &ops, app::integration::Change::AddMapping(write_back)).await?;
            let score = domain::FieldRule { field: domain::FieldName::parse("Survey_Score__c")?, source: domain::ValueSource::parse("answer:q1", "")?, convert: None };
            app.change_mappings(&project, &ops, app::integration::Change::AddRule(0, score)).await?;
            app.set_survey_status(&project, SurveyStatus::Published).await?;
            app.project(ops.id, id).await?
        }
    };
    let page = app.trigger_page(&project).await?;
    let endpoint_url = page.endpoint_url.ok_or_else(|| anyhow::anyhow!("the demo trigger has no endpoint URL"))?;
    let admin = emulator.admin_url();
    let http = reqwest::Client::new();
    // The org's outbound message on closed Cases, pointing at the trigger.
    let outbound: serde_json::Value = http.get(format!("{admin}/orgs/{org_id}/outbound")).send().await?.json().await?;
    let has_rule = outbound["rules"].as_array().is_some_and(|rules| rules.iter().any(|r| r["endpoint_url"] == endpoint_url.as_str()));
    if !has_rule {
        let rule = json!({ "name": "Insight survey", "object": "Case", "field": "Status", "value": "Closed",
                           "fields": ["ContactId", "CaseNumber", "Subject", "Status"], "endpoint_url": endpoint_url });
        http.post(format!("{admin}/orgs/{org_id}/outbound/rules")).json(&rule).send().await?.error_for_status()?;
    }
    // A customer with open Cases to close.
    let cases: serde_json::Value = http.get(format!("{admin}/orgs/{org_id}/records/Case")).send().await?.json().await?;
    if cases["records"].as_array().is_none_or(|r| r.is_empty()) {
        let contact: serde_json::Value = http
            .post(format!("{admin}/orgs/{org_id}/records/Contact"))
            .json(&json!({ "FirstName": "Casey", "LastName": "Customer", "Email": CUSTOMER_EMAIL }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        for subject in ["Printer on fire", "Invoice shows the wrong address", "Cannot reset my password"] {
            http.post(format!("{admin}/orgs/{org_id}/records/Case"))
                .json(&json!({ "Subject": subject, "Status": "New", "Origin": "Email", "ContactId": contact["id"] }))
                .send()
                .await?
                .error_for_status()?;
        }
    }
    Ok(Triggered {
        project_name: project.name.clone(),
        project_url: format!("/projects/{}/salesforce/trigger", project.id),
        endpoint_url,
        cases_url: format!("{admin}/orgs/{org_id}/browser/Case"),
        org_id,
    })
}

/// The sample survey's link: signed, naming a Case the sandbox org holds, so
/// a newcomer who links the sandbox and maps the answer onto the Case (an
/// update by `case_id`, which only a signed link may pick) sees their first
/// response land on a real record. Returns the query and the Case id.
async fn sample_link_query(app: &app::App, emulator: &sfemu::Emulator, slug: &str) -> anyhow::Result<(String, String)> {
    let (org_id, _, _) = sandbox_login(emulator)?;
    let cases: serde_json::Value = reqwest::get(format!("{}/orgs/{org_id}/records/Case", emulator.admin_url())).await?.json().await?;
    let case = cases["records"]
        .as_array()
        .and_then(|r| r.iter().filter_map(|c| c["Id"].as_str()).min())
        .ok_or_else(|| anyhow::anyhow!("the sandbox org has no Case to name in the sample link"))?
        .to_string();
    let owner = app.account_by_email(&Email::parse(DEMO_EMAIL)?).await?.ok_or_else(|| anyhow::anyhow!("the demo account is missing"))?;
    let mut sample = None;
    for p in app.projects_of(owner.id).await? {
        if p.owner_id == owner.id && app.survey(&p).await.is_ok_and(|s| s.slug == slug) {
            sample = Some(p);
        }
    }
    let project = sample.ok_or_else(|| anyhow::anyhow!("the sample survey is missing"))?;
    let signed = app.sign_link(&project, &[("case_id".to_string(), case.clone())], None, app::now_ms()).await?;
    Ok((signed.query, case))
}

/// The emulator's sandbox org and its operations user's login.
fn sandbox_login(emulator: &sfemu::Emulator) -> anyhow::Result<(String, String, String)> {
    let lines = emulator.startup_lines();
    let org = lines
        .iter()
        .find(|l| l["event"] == "org" && l["environment"].as_str().is_some_and(|e| e.eq_ignore_ascii_case("sandbox")))
        .ok_or_else(|| anyhow::anyhow!("the emulator has no sandbox org"))?;
    let org_id = org["id"].as_str().unwrap_or_default().to_string();
    // Its operations user, not the first demo account's: each account links as its own person.
    let user = lines
        .iter()
        .find(|l| l["event"] == "user" && l["org_id"] == org_id.as_str() && l["username"].as_str().is_some_and(|u| u.starts_with("ops@")))
        .ok_or_else(|| anyhow::anyhow!("the emulator's sandbox org has no user"))?;
    Ok((org_id, user["username"].as_str().unwrap_or_default().to_string(), user["password"].as_str().unwrap_or_default().to_string()))
}
