//! Sharing a project with other accounts, as editor or viewer; an editor may
//! also be granted "may change what this project writes into my Salesforce
//! org" (off by default, revocable).

use super::layout::{post_form, post_form_with_class, flash_error, flash_ok, page};
use super::project_frame::{self, require_owner, Tab};
use crate::auth::session::{CurrentAccount, SignedForm, EmptyForm};
use crate::notes::{self, Note};
use crate::error::{WebError, WebResult};
use crate::state::AppState;
use crate::time_fmt;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::{Access, Email, Role};
use maud::{html, Markup};
use serde::Deserialize;
use app::projects::Project;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{id}/sharing", get(view).post(share))
        .route("/projects/{id}/sharing/{account}/revoke", post(revoke))
        .route("/projects/{id}/sharing/{account}/salesforce", post(set_grant))
        .route("/projects/{id}/sharing/invitations/{invitation}/withdraw", post(withdraw_invitation))
}

async fn view(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>) -> WebResult<Markup> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    let note = notes::take(&state, &who, &format!("/projects/{id}/sharing")).await?;
    render(&state, &who, &project, access, None, note.as_ref().and_then(Note::done_text)).await
}

async fn render(state: &AppState, who: &CurrentAccount, project: &Project, access: Access, error: Option<&str>, ok: Option<&str>) -> WebResult<Markup> {
    let shares = state.app.shares(project).await?;
    let invitations = state.app.open_invitations(project).await?;
    Ok(page(
        &project.name,
        Some(who),
        html! {
            (project_frame::header(project, access, Tab::Sharing))
            (flash_error(error))
            (flash_ok(ok))
            @if access.can_manage() {
                div.card {
                    h2 .mt-0 { "Share this project" }
                    (post_form_with_class("row", &format!("/projects/{}/sharing", project.id), &who.csrf, html! {
                        input type="email" name="email" placeholder="colleague@example.com" required .max-w-20 aria-label="Email address to invite";
                        select name="role" aria-label="Role" {
                            option value="editor" { "Editor (can build and publish)" }
                            option value="viewer" { "Viewer (can only look)" }
                        }
                        label.inline { input type="checkbox" name="salesforce_changes" value="on"; " may change what this project writes into my Salesforce org " span.muted { "(editors only)" } }
                        button type="submit" { "Share" }
                    }))
                    p.muted { "Sharing sends an invitation to the address; the project is shared once they accept it from My Projects (after signing up with that address, if they have no account yet). "
                        "Sharing gives access to the survey and its responses. The project keeps its original owner, "
                        (project.owner_name) "; only the owner can share, rename or delete it. "
                        "Its Salesforce work always runs with your link: an editor changes its mappings or runs its transition only if you grant that here, and every such change is in the project's Salesforce history." }
                }
            }
            div.scroll-x tabindex="0" role="region" aria-label="People with access" { table #shares {
                thead { tr { th { "Account" } th { "Role" } th { "Salesforce changes" } th { "Since" } @if access.can_manage() { th {} } } }
                tbody {
                    tr { td { (project.owner_name) " (" (project.owner_email) ")" } td { "Owner" } td { "yes — the project writes with their link" } td { "owner" } @if access.can_manage() { td {} } }
                    @for s in &shares {
                        tr data-share=(s.email) data-salesforce-changes=(s.salesforce_changes) {
                            td { (s.name) " (" (s.email) ")" }
                            td { (s.role.label()) }
                            td {
                                @if s.salesforce_changes { "granted" } @else if s.role == Role::Editor { "not granted" } @else { "—" }
                                @if access.can_manage() && s.role == Role::Editor {
                                    (post_form_with_class("inline", &format!("/projects/{}/sharing/{}/salesforce", project.id, s.account_id), &who.csrf, html! {
                                        input type="hidden" name="granted" value=(if s.salesforce_changes { "no" } else { "yes" });
                                        button.small.secondary type="submit" { @if s.salesforce_changes { "End grant" } @else { "Grant" } }
                                    }))
                                }
                            }
                            td { (time_fmt::short(s.created_at)) }
                            @if access.can_manage() {
                                td {
                                    (post_form(&format!("/projects/{}/sharing/{}/revoke", project.id, s.account_id), &who.csrf, html! {
                                        button.small.danger type="submit" { "Revoke" }
                                    }))
                                }
                            }
                        }
                    }
                    @for i in &invitations {
                        tr data-invitation=(i.email) {
                            td { "Invited: " (i.email) " (" (i.role.as_str()) ") — waiting for them to accept" }
                            td { (i.role.label()) }
                            td { @if i.salesforce_changes { "granted on acceptance" } @else if i.role == Role::Editor { "not granted" } @else { "—" } }
                            td { (time_fmt::short(i.created_at)) }
                            @if access.can_manage() {
                                td {
                                    (post_form(&format!("/projects/{}/sharing/invitations/{}/withdraw", project.id, i.id), &who.csrf, html! {
                                        button.small.secondary type="submit" { "Withdraw" }
                                    }))
                                }
                            }
                        }
                    }
                } }
            }
        },
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareForm {
    email: String,
    role: String,
    #[serde(default)]
    salesforce_changes: Option<String>,
}

async fn share(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<ShareForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_owner(&project)?;
    let (state, who, project) = (&state, &who, &project);
    let refuse = |msg: String| async move {
        let page = render(state, who, project, access, Some(&msg), None).await?;
        Ok::<_, WebError>((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    let (email, role) = match (Email::parse(&form.email), Role::parse_shared(&form.role)) {
        (Ok(e), Ok(r)) => (e, r),
        (Err(e), _) | (_, Err(e)) => return refuse(e.0).await,
    };
    let grant = form.salesforce_changes.as_deref() == Some("on");
    let granted = |on: bool| if on { ", with Salesforce changes" } else { "" };
    match state.app.share(project, &who.account, &email, role, grant).await {
        // The same words whether or not an account uses the address.
        Ok(app::invitations::Shared::Invited { email, role, salesforce_changes }) => {
            let msg = format!(
                "Invited {email} as {}{}. They see the invitation on My Projects once they sign in with that address; nothing is shared until they accept.",
                role.as_str(),
                granted(salesforce_changes)
            );
            notes::redirect_with(state, who, &format!("/projects/{id}/sharing"), Note::done(msg)).await
        }
        Ok(app::invitations::Shared::Changed(app::consent::Shared { email, role, salesforce_changes })) => {
            let msg = format!("Shared with {email} as {}{}.", role.as_str(), granted(salesforce_changes));
            notes::redirect_with(state, who, &format!("/projects/{id}/sharing"), Note::done(msg)).await
        }
        Err(e @ app::AppError::Invalid(_)) => refuse(e.to_string()).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantForm {
    granted: String,
}

async fn set_grant(State(state): State<AppState>, Path((id, account)): Path<(i64, i64)>, SignedForm { who, form }: SignedForm<GrantForm>) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    require_owner(&project)?;
    let granted = match form.granted.as_str() {
        "yes" => true,
        "no" => false,
        other => return Err(WebError::BadRequest(format!("\"{other}\" is neither yes nor no."))),
    };
    let name = shared_name(&state, &project, account).await?;
    state.app.set_salesforce_grant(&project, &who.account, account, granted).await?;
    let said = match granted {
        true => format!("{name} may now change what this project writes into your Salesforce org."),
        false => format!("{name} may no longer change what this project writes into your Salesforce org."),
    };
    notes::redirect_with(&state, &who, &format!("/projects/{id}/sharing"), Note::done(said)).await
}

/// The name of the account a share names, for saying what was done to it
/// (`None`: no such share, which the change then refuses).
async fn shared_name(state: &AppState, project: &Project, account: i64) -> WebResult<String> {
    let shares = state.app.shares(project).await?;
    Ok(shares.into_iter().find(|s| s.account_id == account).map(|s| format!("{} ({})", s.name, s.email)).unwrap_or_default())
}

async fn revoke(State(state): State<AppState>, Path((id, account)): Path<(i64, i64)>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    require_owner(&project)?;
    let name = shared_name(&state, &project, account).await?;
    state.app.revoke_share(&project, &who.account, account).await?;
    notes::redirect_with(&state, &who, &format!("/projects/{id}/sharing"), Note::done(format!("{name} no longer has access to this project."))).await
}

async fn withdraw_invitation(State(state): State<AppState>, Path((id, invitation)): Path<(i64, i64)>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    require_owner(&project)?;
    let email = state.app.open_invitations(&project).await?.into_iter().find(|i| i.id == invitation).map(|i| i.email).unwrap_or_default();
    state.app.withdraw_invitation(&project, invitation).await?;
    notes::redirect_with(&state, &who, &format!("/projects/{id}/sharing"), Note::done(format!("Withdrew the invitation to {email}."))).await
}
