//! My Projects: the projects an account owns and those shared with it, and
//! the transfers offered to it; create, rename, delete, offer a transfer.

use super::layout::{post_form, post_form_with_class, flash_error, flash_ok, page};
use super::project_frame::{self, require_owner};
use crate::auth::session::{CurrentAccount, EmptyForm, SignedForm};
use crate::notes::{self, Note};
use crate::error::{WebError, WebResult};
use crate::state::AppState;
use crate::time_fmt;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::attention::{AttentionKind, FixAt};
use domain::getting_started::{ChecklistItem, DoneAt};
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
        .route("/projects/{id}/transfer/withdraw", post(withdraw_transfer))
        .route("/transfers/{offer}/accept", post(accept_transfer))
        .route("/transfers/{offer}/decline", post(decline_transfer))
        .route("/invitations/{invitation}/accept", post(accept_invitation))
        .route("/invitations/{invitation}/decline", post(decline_invitation))
        .route("/getting-started/hide", post(hide_getting_started))
}

async fn list(State(state): State<AppState>, who: CurrentAccount) -> WebResult<Markup> {
    list_page(&state, &who, None, "").await
}

async fn list_page(state: &AppState, who: &CurrentAccount, error: Option<&str>, name: &str) -> WebResult<Markup> {
    let app::projects::MyProjects { projects, offers, invitations, attention, checklist } = state.app.my_projects(&who.account).await?;
    Ok(page(
        "My Projects",
        Some(who),
        html! {
            h1 { "My Projects" }
            (flash_error(error))
            @if let Some(items) = &checklist {
                (getting_started(items, &who.csrf))
            }
            @if !offers.is_empty() {
                div.card #transfer-offers {
                    h2 .mt-0 { "Offered to you" }
                    @for o in &offers {
                        div.row data-offer=(o.id) .spread {
                            p .m-0 { strong { (o.from_name) } " (" (o.from_email) ") offers you ownership of " strong { (o.project_name) } ". "
                                span.muted { "Its Salesforce work would then run with your Salesforce link, paused until you run its transition against your org. "
                                    (o.from_name) " would keep no access unless you share it back." } }
                            div.row {
                                (post_form(&format!("/transfers/{}/accept", o.id), &who.csrf, html! { button type="submit" { "Accept" } }))
                                (post_form(&format!("/transfers/{}/decline", o.id), &who.csrf, html! { button.secondary type="submit" { "Decline" } }))
                            }
                        }
                    }
                }
            }
            @if !invitations.is_empty() {
                div.card #invitations {
                    h2 .mt-0 { "Shared with you" }
                    @for i in &invitations {
                        div.row data-invitation-id=(i.id) data-project=(i.project_id) .spread {
                            p .m-0 { strong { (i.inviter_name) } " (" (i.inviter_email) ") invites you to work on " strong { (i.project_name) } " as " (i.role.as_str())
                                @if i.salesforce_changes { ", and to change what it writes into their Salesforce org" } "." }
                            div.row {
                                (post_form(&format!("/invitations/{}/accept", i.id), &who.csrf, html! { button type="submit" { "Accept" } }))
                                (post_form(&format!("/invitations/{}/decline", i.id), &who.csrf, html! { button.secondary type="submit" { "Decline" } }))
                            }
                        }
                    }
                }
            }
            div.card {
                (post_form_with_class("row", "/projects", &who.csrf, html! {
                    label for="new-project" .m-0 { "New project" }
                    input #new-project type="text" name="name" value=(name) placeholder="e.g. Post-case CSAT" required .max-w-22;
                    button type="submit" { "Create project" }
                }))
            }
            @if projects.is_empty() {
                p.muted { "No projects yet. Create one above, or ask a colleague to share theirs with " (who.account.email) "." }
            } @else {
                div.scroll-x tabindex="0" role="region" aria-label="Projects" { table #projects {
                    thead { tr { th { "Project" } th { "Owner" } th { "Your role" } th { "Status" } th { "Responses" } th { "Last change" } } }
                    tbody {
                        @for p in &projects {
                            tr data-project-id=(p.id) {
                                td { a href={"/projects/" (p.id) "/survey"} { (p.name) } }
                                td data-label="Owner" { (p.owner_name) br; span.muted { (p.owner_email) } }
                                td data-label="Your role" { (p.role.label()) }
                                td {
                                    span class={"badge " (p.status.as_str())} { (p.status.label()) }
                                    @if let Some(items) = attention.get(&p.id) {
                                        ul.attention {
                                            @for item in items {
                                                li data-attention=(item.kind.as_str()) {
                                                    a data-testid=[testid_of(item.kind)] href=(fix_href(p.id, item.fix_at)) { (item.words) }
                                                }
                                            }
                                        }
                                    }
                                }
                                td data-label="Responses" { (p.response_count) }
                                td data-label="Last change" { (time_fmt::short(p.updated_at)) }
                            }
                        }
                    }
                } }
            }
        },
    ))
}

/// Where a person fixes what needs attention on project `id`.
fn fix_href(id: i64, at: FixAt) -> String {
    match at {
        FixAt::ProjectSalesforce => format!("/projects/{id}/salesforce"),
        FixAt::DeliveryLog(status) => format!("/projects/{id}/salesforce/deliveries?status={}", status.as_str()),
        FixAt::AccountSalesforce => "/salesforce".to_string(),
    }
}

/// Earlier pages and tests know the schema-drift line by this test id.
fn testid_of(kind: AttentionKind) -> Option<&'static str> {
    (kind == AttentionKind::MappingBroken).then_some("schema-drift")
}

/// Where a getting-started step is done.
fn step_href(at: DoneAt) -> String {
    match at {
        DoneAt::LinkSetup => "/salesforce/link".to_string(),
        DoneAt::NewProject => "/projects#new-project".to_string(),
        DoneAt::ProjectSurvey(id) => format!("/projects/{id}/survey"),
        DoneAt::ProjectSalesforce(id) => format!("/projects/{id}/salesforce"),
        DoneAt::ProjectTrigger(id) => format!("/projects/{id}/salesforce/trigger"),
    }
}

/// The getting-started checklist: each step ticked from what the account
/// has done, each linking to where it is done, and a button to hide it.
fn getting_started(items: &[ChecklistItem], csrf: &str) -> Markup {
    let done = items.iter().filter(|i| i.done).count();
    html! {
        div.card #getting-started {
            div.row .spread {
                h2 .mt-0 .m-0 { "Getting started" }
                span.muted { (done) " of " (items.len()) " done" }
            }
            p.muted { "Four steps to surveys whose answers land on the right Salesforce record. Each ticks itself off when it is done." }
            ol.checklist {
                @for item in items {
                    li data-step=(item.step.as_str()) data-done=(if item.done { "true" } else { "false" }) class=(if item.done { "done" } else { "todo" }) {
                        span.tick aria-hidden="true" { @if item.done { "✓" } @else { "○" } }
                        @if item.done {
                            span { (item.step.label()) } span.visually-hidden { " (done)" }
                        } @else {
                            a href=(step_href(item.done_at)) { (item.step.label()) }
                        }
                    }
                }
            }
            (post_form("/getting-started/hide", csrf, html! { button.secondary.small type="submit" { "Hide this checklist" } }))
        }
    }
}

async fn hide_getting_started(State(state): State<AppState>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    state.app.hide_getting_started(&who.account).await?;
    Ok(Redirect::to("/projects").into_response())
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
    let id = state.app.create_project(who.account.id, &name).await?;
    Ok(Redirect::to(&format!("/projects/{id}/survey")).into_response())
}

async fn open(Path(id): Path<i64>) -> Redirect {
    Redirect::to(&format!("/projects/{id}/survey"))
}

async fn settings(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>) -> WebResult<Markup> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_owner(&project)?;
    let note = notes::take(&state, &who, &format!("/projects/{id}/settings")).await?;
    settings_page(&state, &who, &project, access, None, note.as_ref().and_then(Note::done_text)).await
}

async fn settings_page(
    state: &AppState,
    who: &CurrentAccount,
    project: &app::projects::Project,
    access: domain::Access,
    error: Option<&str>,
    ok: Option<&str>,
) -> WebResult<Markup> {
    let offer = state.app.open_transfer(project).await?;
    Ok(page(
        &project.name,
        Some(who),
        html! {
            (project_frame::header(project, access, project_frame::Tab::Settings))
            (flash_error(error))
            (flash_ok(ok))
            div.card {
                h2 { "Rename" }
                (post_form_with_class("row", &format!("/projects/{}/rename", project.id), &who.csrf, html! {
                    input type="text" name="name" value=(project.name) required .max-w-22 aria-label="Project name";
                    button type="submit" { "Rename" }
                }))
            }
            div.card #transfer {
                h2 { "Transfer ownership" }
                p { "A transfer is an offer: the account with that email sees it on My Projects and accepts or declines it; until then nothing changes. "
                    "Once accepted, the new owner has every right you have, its Salesforce work runs with " strong { "their" } " Salesforce link "
                    "(a project always works through its owner's link) and stays paused until they run its transition against their org. "
                    "You keep no access unless they share it back." }
                @if let Some(o) = &offer {
                    div.flash data-testid="open-offer" { "Offered to " strong { (o.to_email) } " on " (crate::time_fmt::short(o.created_at)) ", waiting for their answer." }
                    (post_form(&format!("/projects/{}/transfer/withdraw", project.id), &who.csrf, html! {
                        p { button.secondary type="submit" { "Withdraw the offer" } }
                    }))
                }
                (post_form(&format!("/projects/{}/transfer", project.id), &who.csrf, html! {
                    label for="transfer-email" { "Email of the new owner's Insight account" }
                    input #transfer-email type="email" name="email" required;
                    label for="transfer-confirm" { "Type the project's name, " em { (project.name) } ", to confirm" }
                    input #transfer-confirm type="text" name="confirm" required autocomplete="off";
                    p { button type="submit" { @if offer.is_some() { "Offer to this address instead" } @else { "Offer ownership" } } }
                }))
            }
            div.card {
                h2 { "Delete this project" }
                p { "Deleting removes the project for you and everyone it is shared with, and its survey link stops accepting responses at once. "
                    "Its " (project.response_count) " responses are kept on the server but no longer shown." }
                (post_form(&format!("/projects/{}/delete", project.id), &who.csrf, html! {
                    label for="confirm" { "Type the project's name, " em { (project.name) } ", to confirm" }
                    input #confirm type="text" name="confirm" required autocomplete="off";
                    p { button.danger type="submit" { "Delete project" } }
                }))
            }
        },
    ))
}

async fn rename(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<NameForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_owner(&project)?;
    match ProjectName::parse(&form.name) {
        Ok(name) => {
            state.app.rename_project(&project, &name).await?;
            Ok(Redirect::to(&format!("/projects/{id}/survey")).into_response())
        }
        Err(e) => Ok((StatusCode::UNPROCESSABLE_ENTITY, settings_page(&state, &who, &project, access, Some(&e.0), None).await?).into_response()),
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
    require_owner(&project)?;
    let refuse = |msg: String| {
        let (state, who, project) = (&state, &who, &project);
        async move { Ok::<_, WebError>((StatusCode::UNPROCESSABLE_ENTITY, settings_page(state, who, project, access, Some(&msg), None).await?).into_response()) }
    };
    match state.app.offer_transfer(&project, &form.email, &form.confirm).await {
        Ok(email) => {
            // The same words whether or not the address has an account.
            let msg = format!("Offered to {email}. If an Insight account uses that address, its owner sees the offer on My Projects; nothing changes until they accept.");
            notes::redirect_with(&state, &who, &format!("/projects/{id}/settings"), Note::done(msg)).await
        }
        Err(app::AppError::Invalid(m)) => refuse(m).await,
        Err(e) => Err(e.into()),
    }
}

async fn withdraw_transfer(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    require_owner(&project)?;
    state.app.withdraw_transfer(&project).await?;
    notes::redirect_with(&state, &who, &format!("/projects/{id}/settings"), Note::done("Withdrew the transfer offer: the project stays yours.")).await
}

async fn accept_transfer(State(state): State<AppState>, Path(offer): Path<i64>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let project_id = state.app.accept_transfer(&who.account, offer).await?;
    Ok(Redirect::to(&format!("/projects/{project_id}/salesforce")).into_response())
}

async fn decline_transfer(State(state): State<AppState>, Path(offer): Path<i64>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    state.app.decline_transfer(&who.account, offer).await?;
    Ok(Redirect::to("/projects").into_response())
}

async fn accept_invitation(State(state): State<AppState>, Path(invitation): Path<i64>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let project_id = state.app.accept_invitation(&who.account, invitation).await?;
    Ok(Redirect::to(&format!("/projects/{project_id}/survey")).into_response())
}

async fn decline_invitation(State(state): State<AppState>, Path(invitation): Path<i64>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    state.app.decline_invitation(&who.account, invitation).await?;
    Ok(Redirect::to("/projects").into_response())
}

async fn delete(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<DeleteForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_owner(&project)?;
    match state.app.delete_project(&project, who.account.id, &form.confirm).await {
        Ok(()) => Ok(Redirect::to("/projects").into_response()),
        Err(app::AppError::Invalid(msg)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, settings_page(&state, &who, &project, access, Some(&msg), None).await?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
