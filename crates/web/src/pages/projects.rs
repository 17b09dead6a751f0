//! My Projects: the projects an account owns and those shared with it;
//! create, rename, delete.

use super::layout::{csrf_field, flash_error, page};
use super::project_frame::{self, require_owner};
use crate::auth::session::{CurrentAccount, SignedForm};
use crate::error::{WebError, WebResult};
use crate::secrets;
use crate::state::AppState;
use crate::time_fmt;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::ProjectName;
use maud::{html, Markup};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects", get(list).post(create))
        .route("/projects/{id}", get(open))
        .route("/projects/{id}/settings", get(settings))
        .route("/projects/{id}/rename", post(rename))
        .route("/projects/{id}/delete", post(delete))
        .route("/projects/{id}/transfer", post(transfer))
}

async fn list(State(state): State<AppState>, who: CurrentAccount) -> WebResult<Markup> {
    list_page(&state, &who, None, "").await
}

async fn list_page(state: &AppState, who: &CurrentAccount, error: Option<&str>, name: &str) -> WebResult<Markup> {
    let projects = state.store.projects_of(who.account.id).await?;
    Ok(page(
        "My Projects",
        Some(who),
        html! {
            h1 { "My Projects" }
            (flash_error(error))
            div.card {
                form.row method="post" action="/projects" {
                    (csrf_field(&who.csrf))
                    label for="new-project" style="margin:0" { "New project" }
                    input #new-project type="text" name="name" value=(name) placeholder="e.g. Post-case CSAT" required style="max-width:22rem";
                    button type="submit" { "Create project" }
                }
            }
            @if projects.is_empty() {
                p.muted { "No projects yet. Create one above, or ask a colleague to share theirs with " (who.account.email) "." }
            } @else {
                table #projects {
                    thead { tr { th { "Project" } th { "Owner" } th { "Your role" } th { "Status" } th { "Responses" } th { "Last change" } } }
                    tbody {
                        @for p in &projects {
                            tr data-project-id=(p.id) {
                                td { a href={"/projects/" (p.id) "/survey"} { (p.name) } }
                                td { (p.owner_name) br; span.muted { (p.owner_email) } }
                                td { (p.role.label()) }
                                td { span class={"badge " (p.status.as_str())} { (p.status.label()) } }
                                td { (p.response_count) }
                                td { (time_fmt::short(p.updated_at)) }
                            }
                        }
                    }
                }
            }
        },
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameForm {
    name: String,
}

async fn create(State(state): State<AppState>, SignedForm { who, form }: SignedForm<NameForm>) -> WebResult<Response> {
    let name = match ProjectName::parse(&form.name) {
        Ok(n) => n,
        Err(e) => {
            let page = list_page(&state, &who, Some(&e.0), &form.name).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let id = state.store.create_project(who.account.id, &name, &secrets::slug()).await?;
    tracing::info!(project = id, account = who.account.id, "project created");
    Ok(Redirect::to(&format!("/projects/{id}/survey")).into_response())
}

async fn open(Path(id): Path<i64>) -> Redirect {
    Redirect::to(&format!("/projects/{id}/survey"))
}

async fn settings(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>) -> WebResult<Markup> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_owner(&project, access)?;
    Ok(settings_page(&who, &project, access, None))
}

fn settings_page(who: &CurrentAccount, project: &store::projects::Project, access: domain::Access, error: Option<&str>) -> Markup {
    page(
        &project.name,
        Some(who),
        html! {
            (project_frame::header(project, access, project_frame::Tab::Survey))
            (flash_error(error))
            div.card {
                h2 { "Rename" }
                form.row method="post" action={"/projects/" (project.id) "/rename"} {
                    (csrf_field(&who.csrf))
                    input type="text" name="name" value=(project.name) required style="max-width:22rem" aria-label="Project name";
                    button type="submit" { "Rename" }
                }
            }
            div.card #transfer {
                h2 { "Transfer ownership" }
                p { "The new owner gets every right you have on this project, and its Salesforce work moves to "
                    strong { "their" } " Salesforce link (a project always works through its owner's link). You keep access as an editor." }
                form method="post" action={"/projects/" (project.id) "/transfer"} {
                    (csrf_field(&who.csrf))
                    label for="transfer-email" { "Email of the new owner's Insight account" }
                    input #transfer-email type="email" name="email" required;
                    label for="transfer-confirm" { "Type the project's name, " em { (project.name) } ", to confirm" }
                    input #transfer-confirm type="text" name="confirm" required autocomplete="off";
                    p { button type="submit" { "Transfer ownership" } }
                }
            }
            div.card {
                h2 { "Delete this project" }
                p { "Deleting removes the project for you and everyone it is shared with, and its survey link stops accepting responses at once. "
                    "Its " (project.response_count) " responses are kept on the server but no longer shown." }
                form method="post" action={"/projects/" (project.id) "/delete"} {
                    (csrf_field(&who.csrf))
                    label for="confirm" { "Type the project's name, " em { (project.name) } ", to confirm" }
                    input #confirm type="text" name="confirm" required autocomplete="off";
                    p { button.danger type="submit" { "Delete project" } }
                }
            }
        },
    )
}

async fn rename(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<NameForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_owner(&project, access)?;
    match ProjectName::parse(&form.name) {
        Ok(name) => {
            state.store.rename_project(id, &name).await?;
            Ok(Redirect::to(&format!("/projects/{id}/survey")).into_response())
        }
        Err(e) => Ok((StatusCode::UNPROCESSABLE_ENTITY, settings_page(&who, &project, access, Some(&e.0))).into_response()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteForm {
    confirm: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferForm {
    email: String,
    confirm: String,
}

async fn transfer(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<TransferForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_owner(&project, access)?;
    let refuse = |msg: &str| (StatusCode::UNPROCESSABLE_ENTITY, settings_page(&who, &project, access, Some(msg))).into_response();
    if form.confirm.trim() != project.name {
        return Ok(refuse("The name you typed does not match the project's name; ownership was not transferred."));
    }
    let email = match domain::Email::parse(&form.email) {
        Ok(e) => e,
        Err(e) => return Ok(refuse(&e.0)),
    };
    let Some(target) = state.store.account_by_email(&email).await? else {
        return Ok(refuse(&format!("No Insight account uses {email}. Ask them to sign up first.")));
    };
    if target.id == who.account.id {
        return Ok(refuse("You own this project already."));
    }
    if !state.store.transfer_project(id, who.account.id, target.id).await? {
        return Err(WebError::Conflict("The project's ownership changed meanwhile; reload the page.".into()));
    }
    tracing::info!(project = id, from = who.account.id, to = target.id, "project ownership transferred");
    Ok(Redirect::to(&format!("/projects/{id}/salesforce")).into_response())
}

async fn delete(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<DeleteForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_owner(&project, access)?;
    if form.confirm.trim() != project.name {
        let msg = "The name you typed does not match the project's name; nothing was deleted.";
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, settings_page(&who, &project, access, Some(msg))).into_response());
    }
    state.store.delete_project(id).await?;
    tracing::info!(project = id, account = who.account.id, "project deleted");
    Ok(Redirect::to("/projects").into_response())
}
