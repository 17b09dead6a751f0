//! The account's Salesforce page: what is linked, by whom and when, API usage
//! last seen, Test connection, Unlink, and the link's audit log.

use crate::auth::session::{CurrentAccount, SignedForm, EmptyForm};
use crate::error::WebResult;
use crate::notes::{self, Note};
use crate::pages::layout::{confirm_form, post_form, flash_error, flash_ok, page};
use crate::state::AppState;
use crate::time_fmt;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/salesforce", get(view))
        .route("/salesforce/test", post(test_connection))
        .route("/salesforce/unlink", post(unlink))
        .route("/salesforce/transition-all", post(transition_all))
}

#[derive(Deserialize, Default)]
struct Notice {
    linked: Option<String>,
    mismatch: Option<String>,
    return_to: Option<String>,
}

async fn view(State(state): State<AppState>, who: CurrentAccount, Query(notice): Query<Notice>) -> WebResult<Markup> {
    let ok = notice.linked.is_some().then_some("Linked. Insight now works with this Salesforce org for every survey you own.");
    let warn = notice.mismatch.is_some().then_some(
        "Note: the Sandbox Environment box did not match the org you signed in to. Insight uses what the org itself reports (Organization.IsSandbox), shown below.",
    );
    let back = notice.return_to.filter(|t| t.starts_with("/projects/") && !t.contains("//"));
    let note = notes::take(&state, &who, PATH).await?;
    let ok = ok.or(note.as_ref().and_then(Note::done_text));
    let warn = warn.or(note.as_ref().and_then(Note::problem_text));
    render_page(&state, &who, ok, warn, back.as_deref()).await
}

/// This page, where its actions' notes wait.
const PATH: &str = "/salesforce";

/// The page; `back` is the project the person came from, if any.
async fn render_page(state: &AppState, who: &CurrentAccount, ok: Option<&str>, error: Option<&str>, back: Option<&str>) -> WebResult<Markup> {
    let app::link::SalesforceAccount { link, paused, events, collaborator_changes, budget } = state.app.salesforce_account(who.account.id).await?;
    Ok(page(
        "Salesforce",
        Some(who),
        html! {
            h1 { "Salesforce" }
            (flash_ok(ok))
            @if let Some(to) = back { p { a.button.secondary #back-to-project href=(to) { "← Back to the project" } } }
            (flash_error(error))
            @match &link {
                None => {
                    div.card #salesforce-link {
                        p { "This account is not linked to Salesforce." }
                        p.muted { "Link it once and every survey you own works with that org. Projects shared with you use their owner's link, not yours." }
                        a.button href="/salesforce/link" { "Setup Link to Salesforce Account" }
                    }
                }
                Some(l) => {
                    @if l.needs_reauthentication() {
                        div.flash.error role="alert" #needs-reauth {
                            "Salesforce no longer accepts this link's sign-in (the refresh token was revoked or expired). "
                            "Surveys that use it are paused — nothing is lost. "
                            a href="/salesforce/link" { "Sign in to Salesforce again" } " to resume them."
                        }
                    }
                    div.card #salesforce-link {
                        table {
                            tr { th .w-14 { "Org" } td data-testid="org-name" { (l.org_name) } }
                            tr { th { "Org id" } td data-testid="org-id" { code { (l.org_id) } } }
                            tr { th { "Environment" } td data-testid="environment" { (l.environment().label())
                                @if l.environment() != l.requested_environment() {
                                    span.muted { " (the Sandbox Environment box said " (l.requested_environment().as_str()) ")" }
                                } } }
                            tr { th { "Instance" } td { code { (l.instance_url) } } }
                            tr { th { "Salesforce user" } td data-testid="sf-username" { (l.sf_username) span.muted { " · " (l.sf_display_name) " · " code { (l.sf_user_id) } } } }
                            tr { th { "Linked" } td { (time_fmt::short(l.linked_at)) " by " (l.linked_by_name) } }
                            tr { th { "Status" } td data-testid="link-status" { @if l.needs_reauthentication() { "Needs re-authentication" } @else { "Active" } } }
                            tr { th { "API usage last seen" } td data-testid="api-usage" {
                                @match (l.api_used, l.api_max) {
                                    (Some(used), Some(max)) => { (used) " of " (max) " daily API requests"
                                        @if let Some(at) = l.api_seen_at { span.muted { " (" (time_fmt::short(at)) ")" } } }
                                    _ => { span.muted { "not seen yet" } }
                                }
                            } }
                            @if let Some(b) = &budget {
                                tr { th { "Insight's share" } td data-testid="api-share" {
                                    @match b.share {
                                        Some(share) => { (b.insight_used) " of the " (share) " calls Insight may use in 24 hours (" (b.share_percent) " % of the daily limit)" }
                                        None => { (b.share_percent) " % of the daily limit (" (b.insight_used) " calls in the last 24 hours)" }
                                    }
                                    span.muted { " — the rest stays free for the org's other integrations." }
                                } }
                                @if b.waiting > 0 || b.pause.is_some() {
                                    tr { th { "Waiting for budget" } td data-testid="api-waiting" {
                                        strong { (b.waiting) " deliveries wait" }
                                        @if let Some((until, reason)) = &b.pause {
                                            ": " (reason)
                                            @if let Some(until) = until { span.muted { " (next look " (time_fmt::short(*until)) ")" } }
                                        }
                                        " — nothing is lost."
                                    } }
                                }
                            }
                        }
                        div.row .mt-1 {
                            (post_form("/salesforce/test", &who.csrf, html! {
                                button type="submit" { "Test connection" }
                            }))
                            a.button.secondary href="/salesforce/link" { "Link to another org" }
                            (confirm_form("/salesforce/unlink", &who.csrf, "Unlink Salesforce? Insight revokes its access to the org; surveys stop delivering until the account is linked again (nothing is lost meanwhile).", html! {
                                button.danger type="submit" { "Unlink" }
                            }))
                        }
                    }
                }
            }
            @if !paused.is_empty() {
                div.card #paused-surveys {
                    h2 .mt-0 { "Surveys paused until their transition" }
                    p { "These surveys were validated against another org (before a switch), or with their previous owner's link (before a transfer to you). Nothing is written to any org from them until their transition checks every mapped object and field against the org you are linked to now." }
                    ul { @for p in &paused {
                        li data-project-id=(p.project_id) { a href={"/projects/" (p.project_id) "/salesforce"} { (p.project_name) } span.muted { " — validated against " code { (p.integration.validated_org_id.as_deref().unwrap_or("")) } } }
                    } }
                    (post_form("/salesforce/transition-all", &who.csrf, html! {
                        button type="submit" { "Run the transition for all" }
                    }))
                }
            }
            @if !collaborator_changes.is_empty() {
                div.card #collaborator-changes {
                    h2 .mt-0 { "Changes collaborators made to what your projects write" }
                    p.muted { "Your link does the writing for every project you own; these changes were made by editors you granted Salesforce changes." }
                    table {
                        thead { tr { th { "When" } th { "Project" } th { "Who" } th { "Change" } } }
                        tbody { @for h in &collaborator_changes {
                            tr {
                                td { (crate::time_fmt::short(h.created_at)) }
                                td { a href={"/projects/" (h.project_id) "/salesforce"} { (h.project_name) } }
                                td { (h.actor_name) " (" (h.actor_email) ")" }
                                td { (h.change) }
                            }
                        } }
                    }
                }
            }
            h2 { "Link history" }
            @if events.is_empty() {
                p.muted { "Nothing yet." }
            } @else {
                table #link-events {
                    thead { tr { th { "When" } th { "What" } th { "Details" } th { "By" } } }
                    tbody {
                        @for e in &events {
                            tr data-kind=(e.kind.as_str()) {
                                td { (time_fmt::short(e.at)) }
                                td { (e.kind.label()) }
                                td { (e.detail) }
                                td { (e.actor_name.as_deref().unwrap_or("Insight")) }
                            }
                        }
                    }
                }
            }
        },
    ))
}

async fn test_connection(State(state): State<AppState>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    state.require_salesforce()?;
    let note = match state.app.test_connection(who.account.id).await {
        Ok(check) => Note::done(format!(
            "Connected to {} ({}) as {}. API usage: {} of {} daily requests.",
            check.org_name, check.org_id, check.username, check.api_used, check.api_max
        )),
        Err(e) => Note::problem(format!("The connection test failed: {e}")),
    };
    notes::redirect_with(&state, &who, PATH, note).await
}

async fn transition_all(State(state): State<AppState>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    state.require_salesforce()?;
    let outcomes = state.app.transition_all(&who.account).await?;
    let done: Vec<&str> = outcomes.iter().filter(|o| o.result.is_ok()).map(|o| o.project_name.as_str()).collect();
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().err().map(|e| format!("{}: {e}", o.project_name)))
        .collect();
    let done = (!done.is_empty()).then(|| format!("Re-enabled: {}.", done.join(", ")));
    let failed = (!failed.is_empty()).then(|| format!("Still paused — {}", failed.join(" · ")));
    let note = match (done, failed) {
        (Some(done), Some(problem)) => Note::Mixed { done, problem },
        (None, Some(problem)) => Note::problem(problem),
        (Some(done), None) => Note::done(done),
        (None, None) => Note::done("No survey was waiting for its transition."),
    };
    notes::redirect_with(&state, &who, PATH, note).await
}

async fn unlink(State(state): State<AppState>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    state.require_salesforce()?;
    let org = state.app.link(who.account.id).await?.map(|l| format!("{} ({})", l.org_name, l.org_id)).unwrap_or_default();
    state.app.unlink(who.account.id).await?;
    notes::redirect_with(&state, &who, PATH, Note::done(format!("Unlinked from {org}: Insight's access to it is revoked. Surveys wait, losing nothing, until you link again."))).await
}
