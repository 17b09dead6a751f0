//! The backfill on a project's Salesforce page: "Send earlier responses",
//! confirmed first, then a progress bar that follows the outbox (the script
//! polls a small JSON resource; without it, the page shows where it was).

use crate::auth::session::{CurrentAccount, EmptyForm, SignedForm};
use crate::error::{WebError, WebResult};
use crate::pages::layout::confirm_form;
use crate::pages::project_frame::{self, require_edit};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::Access;
use maud::{html, Markup};
use app::backfill::Backfill;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{id}/salesforce/backfill", post(start))
        .route("/projects/{id}/salesforce/backfill.json", get(progress))
}

async fn start(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    state.require_salesforce()?;
    match state.app.start_backfill(&project, &who.account).await {
        Ok(_) => Ok(Redirect::to(&format!("/projects/{id}/salesforce#backfill")).into_response()),
        Err(e) => super::project_panel::refused_with(&state, &who, &project, access, e).await,
    }
}

/// How far the latest backfill got: `{"total", "done", "running"}`.
async fn progress(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    let run = state.app.backfill(&project).await?.ok_or(WebError::NotFound)?;
    Ok(Json(serde_json::json!({ "total": run.total, "done": run.done, "running": run.running() })).into_response())
}

/// The section: the running backfill's progress, or the button.
pub fn section(who: &CurrentAccount, access: Access, base: &str, run: Option<&Backfill>, mappings: usize) -> Markup {
    html! {
        @if mappings > 0 {
            div.card #backfill {
                h3 .mt-0 { "Earlier responses" }
                @match run {
                    Some(run) if run.running() => {
                        p { "Sending earlier responses through the current mappings: "
                            span data-testid="backfill-done" { (run.done) } " of " span data-testid="backfill-total" { (run.total) } "." }
                        progress #backfill-progress value=(run.done) max=(run.total.max(1)) data-poll={(base) "/backfill.json"} { (run.done) " of " (run.total) }
                        p.muted { "Each goes the way new responses go: in batches, and written once — a record already there is updated, not made again." }
                    }
                    _ => {
                        @if let Some(run) = run {
                            p.muted data-testid="backfill-finished" { "The last backfill sent " (run.total) " earlier response(s)." }
                        }
                        p.muted { "A mapping added or changed applies to new responses. To send the responses that came before it through the current mappings, backfill them: records already written are updated, not made twice." }
                        @if access.can_change_salesforce() {
                            (confirm_form(&format!("{base}/backfill"), &who.csrf, "Send every earlier response of this survey to Salesforce through the current mappings? Records already written are updated, not duplicated.", html! {
                                button.secondary type="submit" { "Send earlier responses" }
                            }))
                        }
                    }
                }
            }
        }
    }
}
