//! "Check Salesforce fields now" on a project's Salesforce page: the schema
//! check (`app::schema_drift`) run on request, and what the last check
//! found, shown beside the mappings.

use crate::auth::session::{CurrentAccount, EmptyForm, SignedForm};
use super::project_panel;
use crate::error::WebResult;
use crate::notes::{self, Note};
use crate::pages::layout::post_form;
use crate::pages::project_frame;
use crate::state::AppState;
use crate::time_fmt;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use maud::{html, Markup};

pub fn router() -> Router<AppState> {
    Router::new().route("/projects/{id}/salesforce/schema-check", post(check_now))
}

async fn check_now(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    project_frame::require_edit(&project)?;
    state.require_salesforce()?;
    let note = match state.app.check_salesforce_fields(&project).await {
        Ok(check) => Note::done(match (check.fits(), check.pinned) {
            (true, _) => "Checked: every mapped field still fits.",
            (false, true) => "Checked: some mapped fields changed in Salesforce (below). The survey stays paused until its transition.",
            (false, false) => "Checked: some mapped fields changed in Salesforce (below).",
        }),
        // Refused (checked a moment ago) or Salesforce failed: said on the
        // page, with its status; nothing changed.
        Err(e) => return project_panel::refused_with(&state, &who, &project, access, e).await,
    };
    notes::redirect_with(&state, &who, &format!("/projects/{}/salesforce", project.id), note).await
}

/// What the last schema check found, and the button to check again (for
/// those who may edit the project).
pub fn section(who: &CurrentAccount, check: &app::schema_drift::LastSchemaCheck, may_check: bool, base: &str) -> Markup {
    html! {
        div.card #schema-check {
            h3 .mt-0 { "Salesforce fields" }
            @match (&check.drift, check.checked_at) {
                (Some(drifted), _) => {
                    p data-testid="schema-drift" { strong { "Salesforce fields changed" } " since these mappings were saved: deliveries are held until this is fixed — nothing is lost." }
                    ul {
                        @for d in drifted {
                            li data-testid="drifted-mapping" {
                                "Mapping " (d.index + 1) " (" code { (d.object) } "): "
                                @for change in &d.changes { span.drift-change { (change) } " " }
                            }
                        }
                    }
                    p.muted { "Restore the field in Salesforce, or change the mapping so it fits; then check again. Held responses are sent once every mapping fits." }
                }
                (None, Some(at)) => {
                    p data-testid="schema-fits" { "All mapped fields still fit (checked at " (time_fmt::short(at)) ")." }
                }
                (None, None) => {
                    p.muted { "Insight checks the mapped fields against Salesforce regularly; an admin may delete, rename or change a field at any time." }
                }
            }
            @if may_check {
                (post_form(&format!("{base}/schema-check"), &who.csrf, html! {
                    button.secondary type="submit" { "Check Salesforce fields now" }
                }))
            }
        }
    }
}
