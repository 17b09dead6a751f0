//! A project's delivery log: every response's delivery to Salesforce,
//! newest first, filtered by status, searched by response id, a page at a
//! time (keyset: the next page starts before the last id shown); retry one,
//! retry all failed, give up on one (recorded with who and when).

use crate::auth::session::{CurrentAccount, EmptyForm, SignedForm};
use crate::error::{WebError, WebResult};
use crate::pages::layout::{confirm_form, flash_ok, page, post_form, salesforce_error};
use crate::pages::project_frame::{self, require_edit, Tab};
use crate::state::AppState;
use crate::time_fmt;
use app::responses::{DeliveryLog, LogQuery};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::DeliveryStatus;
use maud::{html, Markup};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{id}/salesforce/deliveries", get(view))
        .route("/projects/{id}/salesforce/deliveries/{rid}/retry", post(retry))
        .route("/projects/{id}/salesforce/deliveries/{rid}/give-up", post(give_up))
        .route("/projects/{id}/salesforce/deliveries/retry-failed", post(retry_failed))
}

const PAGE_SIZE: i64 = 50;

#[derive(Deserialize, Default)]
struct Filter {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    before: Option<i64>,
    /// After an action: what was done, chosen from a fixed list (never text from the URL).
    done: Option<String>,
}

impl Filter {
    fn status(&self) -> Result<Option<DeliveryStatus>, WebError> {
        match self.status.as_str() {
            "" | "all" => Ok(None),
            s => DeliveryStatus::ALL
                .into_iter()
                .find(|d| d.as_str() == s)
                .map(Some)
                .ok_or_else(|| WebError::BadRequest(format!("\"{s}\" is not a delivery status: choose one of the list"))),
        }
    }

    /// The query string of this filter, for links and redirects.
    fn query(&self, before: Option<i64>) -> String {
        let mut parts = Vec::new();
        if !self.status.is_empty() {
            parts.push(format!("status={}", urlencoding(&self.status)));
        }
        if !self.q.trim().is_empty() {
            parts.push(format!("q={}", urlencoding(self.q.trim())));
        }
        if let Some(b) = before {
            parts.push(format!("before={b}"));
        }
        match parts.is_empty() {
            true => String::new(),
            false => format!("?{}", parts.join("&")),
        }
    }
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn done_message(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "retry" => Some("The delivery will be tried again now."),
        "give-up" => Some("Given up: the response stays in Insight, and this delivery will not be tried again. The log records who gave it up and when."),
        "retry-failed" => Some("Every failed delivery will be tried again now."),
        _ => None,
    }
}

async fn view(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>, Query(filter): Query<Filter>) -> WebResult<Markup> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    let status = filter.status()?;
    let q = filter.q.trim();
    if q.chars().count() > 100 {
        return Err(WebError::BadRequest("A response id is at most 100 characters: search with the id as the response page shows it.".into()));
    }
    let query = LogQuery { status, response: (!q.is_empty()).then(|| q.to_string()), before: filter.before, limit: PAGE_SIZE };
    let DeliveryLog { rows, next_before, counts } = state.app.delivery_log(&project, &query).await?;
    let base = format!("/projects/{id}/salesforce/deliveries");
    let can_edit = access.can_edit();
    Ok(page(
        &project.name,
        Some(&who),
        html! {
            (project_frame::header(&project, access, Tab::Salesforce))
            p { a href={"/projects/" (id) "/salesforce"} { "← Salesforce" } }
            h2 { "Delivery log" }
            (flash_ok(done_message(filter.done.as_deref())))
            p.muted data-testid="log-counts" {
                (counts.delivered) " delivered · " (counts.pending) " on their way"
                @if counts.waiting_for_budget > 0 { " (" (counts.waiting_for_budget) " waiting for API budget)" }
                " · " (counts.held) " held · " (counts.failed) " failed · " (counts.discarded) " discarded or given up"
            }
            form #log-filter method="get" action=(base) .row {
                label { "Status "
                    select name="status" {
                        option value="" selected[status.is_none()] { "All" }
                        @for s in DeliveryStatus::ALL { option value=(s.as_str()) selected[status == Some(s)] { (s.label()) } }
                    }
                }
                label { "Response id " input type="search" name="q" value=(q) placeholder="the id or its start" maxlength="100"; }
                button type="submit" { "Show" }
            }
            @if can_edit && counts.failed > 0 {
                (post_form(&format!("{base}/retry-failed"), &who.csrf, html! {
                    button.secondary type="submit" { "Retry all " (counts.failed) " failed" }
                }))
            }
            @if rows.is_empty() {
                p.muted #no-deliveries { @if status.is_some() || !q.is_empty() { "No delivery matches." } @else { "No deliveries yet." } }
            } @else {
                div .scroll-x tabindex="0" role="region" aria-label="Deliveries" {
                    table #delivery-log {
                        thead { tr { th { "Response" } th { "Status" } th { "Attempts" } th { "Last change" } th { "What happened" } @if can_edit { th {} } } }
                        tbody {
                            @for d in &rows {
                                tr data-response-id=(d.public_id) data-status=(d.status.as_str()) {
                                    td { a href={"/projects/" (id) "/responses/" (d.public_id)} { code { (d.public_id) } } }
                                    td { (d.status.label()) }
                                    td { (d.attempts) }
                                    td { (time_fmt::short(d.updated_at)) }
                                    td {
                                        @if d.status == DeliveryStatus::Delivered { (domain::delivery::headline(d.status, &d.outcome)) }
                                        @else if let Some(note) = &d.note { span data-testid="note" { (note) }
                                            @if let Some((_, at)) = d.given_up { span.muted { " · " (time_fmt::short(at)) } } }
                                        @else if let Some(e) = &d.last_error { span.field-error { (salesforce_error(e)) } }
                                    }
                                    @if can_edit {
                                        td .row {
                                            @if d.status == DeliveryStatus::Failed {
                                                (post_form(&format!("{base}/{}/retry", d.public_id), &who.csrf, html! { button.secondary type="submit" { "Retry" } }))
                                            }
                                            @if matches!(d.status, DeliveryStatus::Failed | DeliveryStatus::Held | DeliveryStatus::Pending) {
                                                (confirm_form(&format!("{base}/{}/give-up", d.public_id), &who.csrf,
                                                    "Give up on this delivery? The response stays in Insight but will not reach Salesforce.",
                                                    html! { button.secondary type="submit" { "Give up" } }))
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(next) = next_before {
                    p { a #older href={(base) (filter.query(Some(next)))} { "Older deliveries →" } }
                }
            }
        },
    ))
}

async fn retry(State(state): State<AppState>, Path((id, rid)): Path<(i64, String)>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    state.app.retry_delivery(&project, &rid).await?;
    Ok(Redirect::to(&format!("/projects/{id}/salesforce/deliveries?done=retry")).into_response())
}

async fn give_up(State(state): State<AppState>, Path((id, rid)): Path<(i64, String)>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    state.app.give_up_delivery(&project, &app::consent::actor(&who.account), &rid).await?;
    Ok(Redirect::to(&format!("/projects/{id}/salesforce/deliveries?done=give-up")).into_response())
}

async fn retry_failed(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    state.app.retry_failed(&project).await?;
    Ok(Redirect::to(&format!("/projects/{id}/salesforce/deliveries?done=retry-failed")).into_response())
}
