//! The dry run page: the records a sample response, or any stored one,
//! would write into the owner's org — field by field, with the value as the
//! response holds it and as it would travel — and nothing written. A stored
//! response can then be sent now.

use crate::auth::session::{CurrentAccount, SignedForm};
use crate::error::{WebError, WebResult};
use crate::pages::layout::{page, post_form};
use crate::pages::project_frame::{self, Tab};
use crate::state::AppState;
use crate::time_fmt;
use app::dry_run::{DryRun, PlannedWrite, Tried};
use app::projects::Project;
use app::sobject::WireKey;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::ResponseId;
use maud::{html, Markup};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{id}/salesforce/dry-run", get(view))
        .route("/projects/{id}/salesforce/dry-run/send", post(send_now))
}

#[derive(Deserialize, Default)]
struct Tryout {
    #[serde(default)]
    response: String,
}

fn response_id(raw: &str) -> WebResult<Option<ResponseId>> {
    match raw.trim() {
        "" => Ok(None),
        raw => ResponseId::parse(raw).map(Some).map_err(|e| WebError::BadRequest(e.0)),
    }
}

async fn view(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>, Query(t): Query<Tryout>) -> WebResult<Markup> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    let response = response_id(&t.response)?;
    let run = state.app.dry_run(&project, response.as_ref()).await?;
    let recent = state.app.responses(&project, None, 5).await?.rows;
    Ok(render(&who, &project, &run, &recent))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendForm {
    response: String,
}

async fn send_now(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<SendForm>) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    let response = response_id(&form.response)?.ok_or_else(|| WebError::BadRequest("Name the response to send.".into()))?;
    state.app.send_now(&project, &response).await?;
    Ok(Redirect::to(&format!("/projects/{id}/responses/{}", response.as_str())).into_response())
}

fn render(who: &CurrentAccount, project: &Project, run: &DryRun, recent: &[app::responses::StoredResponse]) -> Markup {
    let access = app::projects::access(project);
    let base = format!("/projects/{}/salesforce", project.id);
    page(
        &project.name,
        Some(who),
        html! {
            (project_frame::header(project, access, Tab::Salesforce))
            p.muted { a href=(base) { "‹ Salesforce" } }
            h2 { "Dry run" }
            div.card #tried {
                @match &run.tried {
                    Tried::Sample => p data-testid="tried" { "A " strong { "sample response" } ": one answer to every question, as the survey would store it. "
                        "Its record ids are made up, as a personal invitation would carry real ones." }
                    Tried::Stored { public_id, finished_at } => p data-testid="tried" { "Response " code { (public_id) } ", finished " (time_fmt::short(*finished_at)) "." }
                }
                p { strong { "Nothing is written" } " to " (run.org_name) " (" code { (run.org_id) } "): these are the records a delivery would send, built by the delivery itself." }
                form.row method="get" action={(base) "/dry-run"} {
                    input type="text" name="response" placeholder="R_… (a response id)" aria-label="Response id" .max-w-18;
                    button.secondary type="submit" { "Try this response" }
                    @if !matches!(run.tried, Tried::Sample) { a href={(base) "/dry-run"} { "Try a sample response" } }
                }
                @if !recent.is_empty() {
                    p.muted { "Recent responses: "
                        @for r in recent { a href={(base) "/dry-run?response=" (r.public_id)} { code { (r.public_id) } } " " } }
                }
            }
            @if run.writes.is_empty() { p.muted { "This survey has no mappings: a response stays in Insight only." } }
            @for w in &run.writes { (planned(w)) }
            @if let (Tried::Stored { public_id, .. }, true) = (&run.tried, access.can_edit()) {
                div.card #send-now {
                    (post_form(&format!("{base}/dry-run/send"), &who.csrf, html! {
                        input type="hidden" name="response" value=(public_id);
                        button type="submit" { "Send this one now" }
                        span.muted { " delivers it to " (run.org_name) " at once (again, if it was delivered: by the same key, so no second record)." }
                    }))
                }
            }
        },
    )
}

fn planned(w: &PlannedWrite) -> Markup {
    let label = w.object_label.clone().unwrap_or_else(|| w.object.clone());
    html! {
        div.card.planned data-object=(w.object) {
            @match &w.result {
                Err(why) => {
                    h3 .mt-0 { (label) " " code { (w.object) } }
                    p.flash.error data-testid="not-written" { "Would not be written: " (why) }
                }
                Ok(record) => {
                    h3 .mt-0 {
                        @match &record.how {
                            WireKey::Upsert { field, value } => { "Upsert a " (label) " record by " code { (field) } " = " code data-testid="key" { (value) } }
                            WireKey::Update { id } => { "Update the " (label) " record " code data-testid="key" { (id) } }
                            WireKey::Create => { "Create a " (label) " record" }
                            WireKey::Match { field, value, create } => {
                                "Update the " (label) " record whose " code { (field) } " = " code data-testid="key" { (value) }
                                @if *create { ", or create one with that value when none has it" } @else { ", or skip the response when none has it" }
                            }
                        }
                    }
                    table {
                        thead { tr { th { "Field" } th { "From" } th { "The response has" } th { "Written as" } } }
                        tbody {
                            @for f in &record.fields {
                                tr data-field=(f.field) {
                                    td { (f.label) " " code { (f.field) } " " span.muted { (f.kind) } }
                                    td { (f.from) }
                                    td { (f.given) }
                                    td data-testid="written" {
                                        @match (&f.written, &f.points_to) {
                                            (_, Some(object)) => span { "the id of the " (object) " record written first" },
                                            (Some(v), None) => code { (v.to_string()) },
                                            (None, None) => span.muted { "left out (blank): the record keeps its value" },
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
