//! Sharing a project with other accounts, as editor or viewer.

use super::layout::{csrf_field, flash_error, flash_ok, page};
use super::project_frame::{self, require_owner, Tab};
use crate::auth::session::{CurrentAccount, SignedForm, EmptyForm};
use crate::error::{WebError, WebResult};
use crate::state::AppState;
use crate::time_fmt;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::{Access, Email, Role};
use maud::{html, Markup};
use serde::Deserialize;
use store::projects::Project;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{id}/sharing", get(view).post(share))
        .route("/projects/{id}/sharing/{account}/revoke", post(revoke))
}

async fn view(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>) -> WebResult<Markup> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    render(&state, &who, &project, access, None, None).await
}

async fn render(state: &AppState, who: &CurrentAccount, project: &Project, access: Access, error: Option<&str>, ok: Option<&str>) -> WebResult<Markup> {
    let shares = state.store.shares(project.id).await?;
    Ok(page(
        &project.name,
        Some(who),
        html! {
            (project_frame::header(project, access, Tab::Sharing))
            (flash_error(error))
            (flash_ok(ok))
            @if access.can_manage() {
                div.card {
                    h2 style="margin-top:0" { "Share this project" }
                    form.row method="post" action={"/projects/" (project.id) "/sharing"} {
                        (csrf_field(&who.csrf))
                        input type="email" name="email" placeholder="colleague@example.com" required style="max-width:20rem" aria-label="Email of the account to share with";
                        select name="role" aria-label="Role" {
                            option value="editor" { "Editor (can build and publish)" }
                            option value="viewer" { "Viewer (can only look)" }
                        }
                        button type="submit" { "Share" }
                    }
                    p.muted { "Sharing gives access to the survey and its responses. The project keeps its original owner, "
                        (project.owner_name) "; only the owner can share, rename or delete it." }
                }
            }
            table #shares {
                thead { tr { th { "Account" } th { "Role" } th { "Since" } @if access.can_manage() { th {} } } }
                tbody {
                    tr { td { (project.owner_name) " (" (project.owner_email) ")" } td { "Owner" } td { "created it" } @if access.can_manage() { td {} } }
                    @for s in &shares {
                        tr data-share=(s.email) {
                            td { (s.name) " (" (s.email) ")" }
                            td { (Role::from_stored(&s.role).map(Role::label).unwrap_or("?")) }
                            td { (time_fmt::short(s.created_at)) }
                            @if access.can_manage() {
                                td {
                                    form method="post" action={"/projects/" (project.id) "/sharing/" (s.account_id) "/revoke"} {
                                        (csrf_field(&who.csrf))
                                        button.small.danger type="submit" { "Revoke" }
                                    }
                                }
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
struct ShareForm {
    email: String,
    role: String,
}

async fn share(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<ShareForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_owner(&project, access)?;
    let (state, who, project) = (&state, &who, &project);
    let refuse = |msg: String| async move {
        let page = render(state, who, project, access, Some(&msg), None).await?;
        Ok::<_, WebError>((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    let (email, role) = match (Email::parse(&form.email), Role::parse_shared(&form.role)) {
        (Ok(e), Ok(r)) => (e, r),
        (Err(e), _) | (_, Err(e)) => return refuse(e.0).await,
    };
    let Some(target) = state.store.account_by_email(&email).await? else {
        return refuse(format!("No Insight account uses {email}. Ask them to sign up first, then share again.")).await;
    };
    if target.id == project.owner_id {
        return refuse(format!("{email} is the project's owner already.")).await;
    }
    state.store.share_project(id, target.id, role).await?;
    tracing::info!(project = id, with = target.id, role = role.as_str(), "project shared");
    let page = render(state, who, project, access, None, Some(&format!("Shared with {} as {}.", email, role.as_str()))).await?;
    Ok(page.into_response())
}

async fn revoke(State(state): State<AppState>, Path((id, account)): Path<(i64, i64)>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_owner(&project, access)?;
    if !state.store.revoke_share(id, account).await? {
        return Err(WebError::NotFound);
    }
    tracing::info!(project = id, account, "share revoked");
    Ok(Redirect::to(&format!("/projects/{id}/sharing")).into_response())
}
