//! A project's Salesforce panel: whose link the project uses. Salesforce
//! work of a project always runs with its original owner's link; this page
//! says which, or why work is held and whom to ask.

use crate::auth::session::CurrentAccount;
use crate::error::WebResult;
use crate::pages::layout::page;
use crate::pages::project_frame::{self, Tab};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use domain::ProjectLinkStatus;
use maud::{html, Markup};

pub fn router() -> Router<AppState> {
    Router::new().route("/projects/{id}/salesforce", get(view))
}

async fn view(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>) -> WebResult<Markup> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    let status = app::ownership::project_link_status(&state.store, &project).await?;
    let is_owner = project.owner_id == who.account.id;
    Ok(page(
        &project.name,
        Some(&who),
        html! {
            (project_frame::header(&project, access, Tab::Survey))
            h2 { "Salesforce" }
            div.card #project-salesforce {
                @match &status {
                    ProjectLinkStatus::UsesOwnerLink { owner, link } => {
                        p data-testid="uses-link" { "Uses the Salesforce link of " strong { (owner.name) } ": "
                            (link.environment.label().to_lowercase()) " org " strong { (link.org_name) } ", " code { (link.org_id) } "." }
                    }
                    ProjectLinkStatus::OwnerHasNoLink { owner } => {
                        p data-testid="no-link" { strong { (owner.name) } " (" (owner.email) "), the project's owner, has not linked Salesforce. "
                            "This project's Salesforce work is held until they do — nothing is lost." }
                        @if is_owner {
                            p { a.button href={"/salesforce/link?return_to=/projects/" (project.id) "/salesforce"} { "Setup Link to Salesforce Account" } }
                        } @else {
                            p.muted { "Ask " (owner.name) " to link Salesforce from any of their surveys: Tools → Salesforce → Setup Link to Salesforce Account. Your own Salesforce link is never used for this project." }
                        }
                    }
                    ProjectLinkStatus::OwnerLinkNeedsReauthentication { owner, link } => {
                        p data-testid="needs-reauth" { "The Salesforce link of " strong { (owner.name) } " (" (link.org_name) ", " code { (link.org_id) } ") needs them to sign in to Salesforce again. "
                            "This project's Salesforce work is paused until then — nothing is lost." }
                        @if !is_owner { p.muted { "Ask " (owner.name) " (" (owner.email) ") to open Salesforce settings and sign in again." } }
                    }
                    ProjectLinkStatus::OwnerLinkedElsewhere { owner, link, built_against_org } => {
                        p data-testid="linked-elsewhere" { "This project was built against org " code { (built_against_org) } ", but " strong { (owner.name) } "'s link now points at "
                            (link.org_name) " (" code { (link.org_id) } "). Its Salesforce work is held until its owner runs the transition." }
                    }
                }
                @if !is_owner {
                    p.muted { "You are a collaborator: projects always use their owner's link, never yours, and you never see the owner's Salesforce credentials." }
                }
            }
        },
    ))
}
