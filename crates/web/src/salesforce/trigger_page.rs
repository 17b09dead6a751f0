//! A project's Trigger and Email Survey page (Salesforce → Trigger and Email
//! Survey): the endpoint URL to paste into a Salesforce outbound message, the
//! step-by-step instructions for a record-triggered Flow, the trigger's
//! settings, contact frequency rules, "Send a test", and the invitation log
//! with its CSV export. The endpoint itself is `outbound`.

use crate::auth::session::{CurrentAccount, EmptyForm, SignedForm};
use crate::error::{WebError, WebResult};
use crate::pages::layout::{confirm_form, flash_error, flash_ok, page, post_form};
use crate::pages::csv_download::{self, spreadsheet_text};
use crate::pages::project_frame::{self, Tab};
use crate::state::AppState;
use crate::time_fmt;
use app::projects::Project;
use app::triggers::{LogEntry, LogFilter, TriggerForm, TriggerPage};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::trigger::TriggerRules;
use domain::Access;
use maud::{html, Markup};
use serde::Deserialize;
use app::triggers::NotificationStatus;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{id}/salesforce/trigger", get(view).post(save))
        .route("/projects/{id}/salesforce/trigger/token", post(regenerate))
        .route("/projects/{id}/salesforce/trigger/delete", post(delete))
        .route("/projects/{id}/salesforce/trigger/test", post(send_test))
        .route("/projects/{id}/salesforce/trigger/account-rule", post(account_rule))
        .route("/projects/{id}/salesforce/trigger/log", get(log))
        .route("/projects/{id}/salesforce/trigger/log.csv", get(log_csv))
}

#[derive(Deserialize, Default)]
struct Done {
    done: Option<String>,
}

fn done_message(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "saved" => "Saved. Notifications from now on follow these settings.",
        "token" => "A new endpoint URL was made: the old one no longer works. Paste the new one into the outbound message in Salesforce.",
        "tested" => "A test notification is on its way through the trigger, to your own address: watch the invitation log below.",
        "rule" => "Saved the account's contact frequency rule.",
        "deleted" => "The trigger was deleted: Salesforce's notifications to its URL are refused from now on.",
        _ => return None,
    })
}

async fn view(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>, Query(done): Query<Done>) -> WebResult<Markup> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    let trigger = state.app.trigger_page(&project).await?;
    let form = TriggerForm::of(trigger.rules.as_ref());
    let log = state.app.invitation_log(&project, LogFilter::All, None, 20).await?;
    Ok(render(&who, &project, access, &trigger, &form, &log, None, done_message(done.done.as_deref())))
}

#[allow(clippy::too_many_arguments)]
fn render(who: &CurrentAccount, project: &Project, access: Access, trigger: &TriggerPage, form: &TriggerForm, log: &[LogEntry], error: Option<&str>, ok: Option<&str>) -> Markup {
    let base = format!("/projects/{}/salesforce/trigger", project.id);
    page(
        &format!("Trigger and Email Survey · {}", project.name),
        Some(who),
        html! {
            (project_frame::header(project, access, Tab::Salesforce))
            p.muted { a href={"/projects/" (project.id) "/salesforce"} { "Salesforce" } " › Trigger and Email Survey" }
            h2 { "Trigger and Email Survey" }
            p.muted { "When something happens in Salesforce — a case is closed, an opportunity is won — Salesforce sends an outbound message to Insight, "
                "Insight emails the person a personal survey link, and their answer can be written back onto the record (Response Mapping: update the record named by embedded data " code { "record_id" } ")." }
            (flash_error(error))
            (flash_ok(ok))
            @if let Some(why) = &trigger.held_because {
                div.flash.error #trigger-held role="status" { "Notifications are recorded but held — nothing is lost, no one is mailed — because " (why) "."
                    @if trigger.held > 0 { " " (trigger.held) " notification(s) are waiting." } }
            }
            @if let (Some(rules), true) = (&trigger.rules, trigger.may_change) {
                (endpoint_card(who, &base, trigger, rules))
            }
            @if trigger.rules.is_some() {
                (log_card(project, log, trigger.record_base.as_deref()))
            }
            @if trigger.may_change {
                (settings_form(who, &base, form, trigger.rules.is_some()))
                @if trigger.rules.is_some() {
                    (test_card(who, &base, trigger.rules.as_ref()))
                    @if project.owner_id == who.account.id {
                        (account_rule_card(who, &base, trigger))
                    }
                    div.card #trigger-delete {
                        (confirm_form(&format!("{base}/delete"), &who.csrf, "Delete this trigger? Salesforce's notifications to its URL will be refused.", html! {
                            button.danger type="submit" { "Delete the trigger" }
                        }))
                    }
                }
            } @else {
                @if let Some(rules) = &trigger.rules { (read_only(rules)) } @else { p.muted { "This survey has no trigger." } }
                p.muted #trigger-read-only { "A trigger runs on the Salesforce link of the project's owner, " (project.owner_name) " (" (project.owner_email) "), so only they, or an editor they granted "
                    em { "may change what this project writes into my Salesforce org" } ", can change it." }
            }
        },
    )
}

fn endpoint_card(who: &CurrentAccount, base: &str, trigger: &TriggerPage, rules: &TriggerRules) -> Markup {
    let url = trigger.endpoint_url.clone().unwrap_or_default();
    let fields = rules.fields_to_send();
    html! {
        div.card #trigger-endpoint {
            h3 .mt-0 { "1. Paste this endpoint URL into Salesforce" }
            p { code.link #endpoint-url { (url) } }
            @match &trigger.accepts_org {
                Some((id, name)) => { p.muted #accepts-org { "Accepts notifications from " strong { (name) } " (org id " code { (id) } ") only: the org of the owner's Salesforce link." } }
                None => { p.muted { "The owner has not linked Salesforce: notifications are refused until they do." } }
            }
            (post_form(&format!("{base}/token"), &who.csrf, html! {
                button.secondary type="submit" data-confirm="Make a new URL? The current one stops working at once." { "Regenerate the URL" }
                span.muted { " The current URL stops working at once; use this if it leaked." }
            }))
            h3 { "2. In Salesforce, create the outbound message" }
            ol #instructions {
                li { "Setup → in Quick Find type " strong { "Outbound Messages" } " → " strong { "New Outbound Message" } "." }
                li { "Object: " strong { (rules.object) } ". Name it, for example, " em { "Insight survey" } "." }
                li { "Endpoint URL: the URL above. Leave " em { "Send Session ID" } " unticked: Insight uses the owner's link, never a session from the message." }
                li { "Fields to send: " strong { "Id" } @for f in &fields { ", " strong { (f) } } ". Save." }
            }
            h3 { "3. Send it from a record-triggered Flow" }
            p.muted { "Workflow rules are retired; a Flow sends the outbound message." }
            ol {
                li { "Setup → " strong { "Flows" } " → " strong { "New Flow" } " → " strong { "Record-Triggered Flow" } "." }
                li { "Object: " strong { (rules.object) } ". Trigger the flow when: " strong { "A record is updated" } " (or created or updated)." }
                @if !rules.condition.is_empty() {
                    li { "Entry conditions: " @for (i, c) in rules.condition.clauses.iter().enumerate() { @if i > 0 { " AND " } code { (c.to_string()) } }
                        ". When to run the flow for updated records: " strong { "Only when a record is updated to meet the condition requirements" } "." }
                }
                li { "Optimize the flow for " strong { "Actions and Related Records" } "; add an " strong { "Action" } " element, choose " strong { "Outbound Message" } " and the one you created." }
                li { strong { "Save" } " and " strong { "Activate" } ". Salesforce retries a message for up to 24 hours until Insight acknowledges it; Insight mails each notification at most once." }
            }
        }
    }
}

fn settings_form(who: &CurrentAccount, base: &str, f: &TriggerForm, exists: bool) -> Markup {
    let unit = |u: &str| f.delay_unit == u;
    html! {
        div.card #trigger-settings {
            h3 .mt-0 { @if exists { "Settings" } @else { "Create the trigger" } }
            (post_form(base, &who.csrf, html! {
                label { "Object whose notifications it takes (API name) " input type="text" name="object" value=(f.object) required; }
                fieldset {
                    legend { "Who gets the invitation" }
                    label.inline { input type="radio" name="recipient_kind" value="contact_lookup" checked[f.recipient_kind == "contact_lookup"]; " The Contact named by a lookup field (its Email and Name, read through the owner's link): " }
                    input type="text" name="lookup_field" value=(f.lookup_field) aria-label="Contact lookup field" placeholder="ContactId";
                    br;
                    label.inline { input type="radio" name="recipient_kind" value="field" checked[f.recipient_kind == "field"]; " The address in a notified field: " }
                    input type="text" name="email_field" value=(f.email_field) aria-label="Email field" placeholder="SuppliedEmail";
                    " name in " input type="text" name="name_field" value=(f.name_field) aria-label="Name field" placeholder="SuppliedName (optional)";
                }
                label { "Notified fields kept as embedded data (the record id always is, as " code { "record_id" } ") " input type="text" name="embedded" value=(f.embedded) placeholder="CaseNumber, Priority"; }
                label { "Only when (optional) " input type="text" name="condition" value=(f.condition) placeholder="Status = Closed AND Priority != Low"; }
                label { "Sender name " input type="text" name="sender_name" value=(f.sender_name) required placeholder="Acme Support"; }
                label { "Subject " input type="text" name="subject" value=(f.subject) required; }
                label { "Body — placeholders: " code { "{{survey_link}}" } " (required), " code { "{{recipient_name}}" } ", and " code { "{{FieldName}}" } " for any notified field"
                    textarea name="body" rows="8" { (f.body) } }
                fieldset {
                    legend { "When it goes" }
                    label.inline { input type="radio" name="delay_unit" value="now" checked[unit("now")]; " right away" }
                    " or after " input type="number" name="delay_amount" value=(f.delay_amount) min="0" .max-w-8 aria-label="Delay";
                    label.inline { input type="radio" name="delay_unit" value="minutes" checked[unit("minutes")]; " minutes" }
                    label.inline { input type="radio" name="delay_unit" value="hours" checked[unit("hours")]; " hours" }
                    label.inline { input type="radio" name="delay_unit" value="days" checked[unit("days")]; " days" }
                }
                label { "Remind those who have not answered after (days; blank for no reminder) " input type="number" name="reminder_days" value=(f.reminder_days) min="1" max="30" .max-w-8; }
                label { "Personal links stay valid for (days) " input type="number" name="link_valid_days" value=(f.link_valid_days) min="1" max="365" .max-w-8; }
                fieldset {
                    legend { "This survey's contact frequency rule (optional)" }
                    "At most " input type="number" name="frequency_max" value=(f.frequency_max) min="1" .max-w-8 aria-label="At most this many invitations";
                    " invitations per recipient every " input type="number" name="frequency_days" value=(f.frequency_days) min="1" .max-w-8 aria-label="Every this many days";
                    " days"
                }
                p { button type="submit" { @if exists { "Save" } @else { "Create the trigger" } } }
            }))
        }
    }
}

fn test_card(who: &CurrentAccount, base: &str, rules: Option<&TriggerRules>) -> Markup {
    let Some(rules) = rules else { return html! {} };
    html! {
        div.card #trigger-test {
            h3 .mt-0 { "Send a test" }
            p.muted { "A sample " (rules.object) " notification goes through the whole path — condition, invitation, mail — to " strong { (who.account.email) } ". "
                "It goes right away, whatever the delay, and gets no reminder. Give a real record id to try the write-back too." }
            (post_form(&format!("{base}/test"), &who.csrf, html! {
                label { "Record id (optional) " input type="text" name="record_id" placeholder="500…"; }
                @for f in rules.fields_to_send() {
                    label { code { (f) } " " input type="text" name={"f." (f)} aria-label=(f); }
                }
                p { button.secondary type="submit" { "Send a test to me" } }
            }))
        }
    }
}

fn account_rule_card(who: &CurrentAccount, base: &str, trigger: &TriggerPage) -> Markup {
    let (max, days) = trigger.account_rule.map(|r| (r.max.to_string(), r.days.to_string())).unwrap_or_default();
    html! {
        div.card #account-rule {
            h3 .mt-0 { "Your account's contact frequency rule" }
            p.muted { "Across all of your surveys. A notification that would break it is logged as suppressed, naming the rule. Leave both blank for none." }
            (post_form(&format!("{base}/account-rule"), &who.csrf, html! {
                "At most " input type="number" name="max" value=(max) min="1" .max-w-8 aria-label="At most this many invitations";
                " invitations per recipient every " input type="number" name="days" value=(days) min="1" .max-w-8 aria-label="Every this many days";
                " days " button.secondary type="submit" { "Save" }
            }))
        }
    }
}

fn read_only(rules: &TriggerRules) -> Markup {
    html! {
        div.card #trigger-summary {
            p { "Takes " strong { (rules.object) } " notifications"
                @if !rules.condition.is_empty() { " when " code { (rules.condition.to_string()) } }
                "; mails " (rules.delay.label()) " from " strong { (rules.mail.sender_name) } ": " em { (rules.mail.subject) } "." }
        }
    }
}

/// A log entry's status, as a person reads it.
fn status_label(e: &LogEntry) -> (&'static str, String) {
    match e.status {
        NotificationStatus::Received => ("received", e.reason.clone().map(|r| format!("received — {r}")).unwrap_or_else(|| "received".into())),
        NotificationStatus::Held => ("held", e.reason.clone().unwrap_or_else(|| "held".into())),
        NotificationStatus::Skipped => ("skipped", format!("no invitation: {}", e.reason.clone().unwrap_or_default())),
        NotificationStatus::Suppressed => ("suppressed", e.reason.clone().unwrap_or_else(|| "suppressed".into())),
        NotificationStatus::OptedOut => ("opted_out", "opted out: the recipient unsubscribed".into()),
        NotificationStatus::Responded => ("responded", "responded".into()),
        NotificationStatus::Invited => match e.mail_status.as_deref() {
            Some("sent") if e.opened_at.is_some() => ("opened", "sent, opened".into()),
            Some("sent") => ("sent", "sent".into()),
            Some("failed") => ("failed", format!("failed: {}", e.mail_error.clone().unwrap_or_default())),
            _ => ("scheduled", e.send_at.map(|t| format!("scheduled for {}", time_fmt::rfc3339(t))).unwrap_or_else(|| "scheduled".into())),
        },
    }
}

fn log_card(project: &Project, log: &[LogEntry], record_base: Option<&str>) -> Markup {
    html! {
        div.card #invitation-log {
            h3 .mt-0 { "Invitation log" }
            p { a href={"/projects/" (project.id) "/salesforce/trigger/log"} { "All notifications, with filters" } " · " a href={"/projects/" (project.id) "/salesforce/trigger/log.csv"} { "Download CSV" } }
            (log_table(log, record_base))
        }
    }
}

fn log_table(log: &[LogEntry], record_base: Option<&str>) -> Markup {
    html! {
        @if log.is_empty() {
            p.muted #log-empty { "No notifications yet." }
        } @else {
            div.table-frame {
                table #log-table {
                    thead { tr { th { "Recipient" } th { "Record" } th { "Notified" } th { "Sent" } th { "Status" } } }
                    tbody {
                        @for e in log {
                            @let (code, label) = status_label(e);
                            tr data-status=(code) data-notification=(e.notification_id) {
                                td { (e.recipient.clone().unwrap_or_default()) @if e.is_test { " " span.badge { "test" } } }
                                td { (e.object) " "
                                    @match (&e.record_id, record_base) {
                                        (Some(id), Some(base)) => { a.record href={(base) "/" (id)} { code { (id) } } }
                                        (Some(id), None) => { code { (id) } }
                                        (None, _) => { "—" }
                                    }
                                }
                                td { (time_fmt::short(e.received_at)) }
                                td { (e.mail_sent_at.map(time_fmt::short).unwrap_or_default()) }
                                td.status { (label) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct LogQuery {
    status: Option<String>,
    before: Option<i64>,
}

fn filter_of(raw: Option<&str>) -> WebResult<LogFilter> {
    Ok(match raw.unwrap_or("") {
        "" | "all" => LogFilter::All,
        "invited" => LogFilter::Invited,
        "responded" => LogFilter::Responded,
        "not_invited" => LogFilter::NotInvited,
        "waiting" => LogFilter::Waiting,
        other => return Err(WebError::BadRequest(format!("\"{other}\" is not a log filter: use all, invited, responded, not_invited or waiting."))),
    })
}

const LOG_PAGE: i64 = 100;

async fn log(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>, Query(q): Query<LogQuery>) -> WebResult<Markup> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    let filter = filter_of(q.status.as_deref())?;
    let rows = state.app.invitation_log(&project, filter, q.before, LOG_PAGE).await?;
    let record_base = state.app.record_base(&project).await?;
    let base = format!("/projects/{}/salesforce/trigger/log", project.id);
    let status = q.status.clone().unwrap_or_default();
    Ok(page(
        &format!("Invitation log · {}", project.name),
        Some(&who),
        html! {
            (project_frame::header(&project, access, Tab::Salesforce))
            p.muted { a href={"/projects/" (project.id) "/salesforce/trigger"} { "Trigger and Email Survey" } " › Invitation log" }
            h2 { "Invitation log" }
            nav.filters {
                @for (value, label) in [("all", "All"), ("invited", "Invited"), ("responded", "Responded"), ("not_invited", "Not invited"), ("waiting", "Waiting or held")] {
                    a class=@if status == value || (status.is_empty() && value == "all") { "active" } href={(base) "?status=" (value)} { (label) } " "
                }
                a href={(base) ".csv?status=" (status)} { "Download CSV" }
            }
            (log_table(&rows, record_base.as_deref()))
            @if rows.len() as i64 == LOG_PAGE {
                @if let Some(last) = rows.last() { p { a href={(base) "?status=" (status) "&before=" (last.id)} { "Older →" } } }
            }
        },
    ))
}

/// The whole log as CSV, read a page at a time.
async fn log_csv(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>, Query(q): Query<LogQuery>) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    let filter = filter_of(q.status.as_deref())?;
    let head = csv_download::bytes([LOG_CSV_HEADER]).map_err(anyhow::Error::from)?;
    let app = state.app.clone();
    Ok(csv_download::response(&format!("invitations-{}.csv", project.id), head, None, move |before| {
        let (app, project) = (app.clone(), project.clone());
        async move {
            let rows = app.invitation_log(&project, filter, before, LOG_CSV_PAGE).await.map_err(std::io::Error::other)?;
            let bytes = csv_download::bytes(rows.iter().map(log_csv_row)).map_err(std::io::Error::other)?;
            let next = match rows.last() {
                Some(last) if rows.len() as i64 == LOG_CSV_PAGE => Some(Some(last.id)),
                _ => None,
            };
            Ok((bytes, next))
        }
    }))
}

const LOG_CSV_PAGE: i64 = 1000;
const LOG_CSV_HEADER: [&str; 13] = ["notification_id", "object", "record_id", "recipient", "test", "notified_at", "send_at", "sent_at", "opened_at", "responded_at", "response_id", "status", "reason"];

/// One notification of the log as a CSV row.
fn log_csv_row(e: &LogEntry) -> [String; 13] {
    let at = |t: Option<i64>| t.map(time_fmt::rfc3339).unwrap_or_default();
    let (code, label) = status_label(e);
    [
        // What a Salesforce message carried, or an org's user typed, is text
        // a spreadsheet must not run as a formula.
        spreadsheet_text(e.notification_id.clone()),
        spreadsheet_text(e.object.clone()),
        spreadsheet_text(e.record_id.clone().unwrap_or_default()),
        spreadsheet_text(e.recipient.clone().unwrap_or_default()),
        if e.is_test { "yes" } else { "" }.to_string(),
        time_fmt::rfc3339(e.received_at),
        at(e.send_at),
        at(e.mail_sent_at),
        at(e.opened_at),
        at(e.responded_at),
        e.response_id.clone().unwrap_or_default(),
        code.to_string(),
        spreadsheet_text(label.to_string()),
    ]
}

/// The page again at 422, saying what to fix, with `form` as typed.
async fn refused(state: &AppState, who: &CurrentAccount, project: &Project, access: Access, form: Option<TriggerForm>, message: &str) -> WebResult<Response> {
    let trigger = state.app.trigger_page(project).await?;
    let log = state.app.invitation_log(project, LogFilter::All, None, 20).await?;
    let form = form.unwrap_or_else(|| TriggerForm::of(trigger.rules.as_ref()));
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(who, project, access, &trigger, &form, &log, Some(message), None)).into_response())
}

async fn save(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<TriggerForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    match state.app.save_trigger(&project, &who.account, &form).await {
        Ok(_) => Ok(Redirect::to(&format!("/projects/{id}/salesforce/trigger?done=saved")).into_response()),
        Err(app::AppError::Invalid(message)) => refused(&state, &who, &project, access, Some(form), &message).await,
        Err(e) => Err(e.into()),
    }
}

async fn regenerate(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Redirect> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    state.app.regenerate_trigger_token(&project, &who.account).await?;
    Ok(Redirect::to(&format!("/projects/{id}/salesforce/trigger?done=token")))
}

async fn delete(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Redirect> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    state.app.delete_trigger(&project, &who.account).await?;
    Ok(Redirect::to(&format!("/projects/{id}/salesforce/trigger?done=deleted")))
}

async fn send_test(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<Vec<(String, String)>>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    let mut record_id = String::new();
    let mut values = Vec::new();
    for (k, v) in form {
        if k == "record_id" {
            record_id = v;
        } else if let Some(name) = k.strip_prefix("f.") {
            values.push((name.to_string(), v));
        } else {
            return Err(WebError::BadRequest(format!("The form sent a field it does not have: \"{k}\".")));
        }
    }
    match state.app.send_test_notification(&project, &who.account, &record_id, &values).await {
        Ok(()) => Ok(Redirect::to(&format!("/projects/{id}/salesforce/trigger?done=tested")).into_response()),
        Err(app::AppError::Invalid(message)) => refused(&state, &who, &project, access, None, &message).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct RuleForm {
    #[serde(default)]
    max: String,
    #[serde(default)]
    days: String,
}

async fn account_rule(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<RuleForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    // The rule is the account's own; this page only offers it to the owner.
    project_frame::require_owner(&project)?;
    match state.app.set_account_contact_rule(&who.account, &form.max, &form.days).await {
        Ok(()) => Ok(Redirect::to(&format!("/projects/{id}/salesforce/trigger?done=rule")).into_response()),
        Err(app::AppError::Invalid(message)) => refused(&state, &who, &project, access, None, &message).await,
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_row_never_hands_a_spreadsheet_a_formula() {
        let entry = LogEntry {
            id: 1,
            notification_id: "04l000000000001AAA".into(),
            object: "Case".into(),
            record_id: Some("=HYPERLINK(\"http://evil.example\")".into()),
            status: app::triggers::NotificationStatus::Received,
            reason: None,
            recipient: Some("+1 cmd|' /C calc'!A0".into()),
            is_test: false,
            received_at: 0,
            send_at: None,
            expires_at: None,
            opened_at: None,
            responded_at: None,
            response_id: None,
            reminded_at: None,
            mail_status: None,
            mail_sent_at: None,
            mail_error: None,
        };
        let row = log_csv_row(&entry);
        assert_eq!(row[0], "04l000000000001AAA");
        assert!(row[2].starts_with("'="), "{}", row[2]);
        assert!(row[3].starts_with("'+"), "{}", row[3]);
    }
}
