//! Switching the account to another org: before anything changes, the
//! person sees which org they are leaving and which they are moving to, and
//! every project the switch re-points; then confirms or cancels.

use crate::auth::session::{CurrentAccount, SignedForm, EmptyForm};
use crate::error::{WebError, WebResult};
use crate::pages::layout::{post_form, page};
use crate::state::AppState;
use crate::time_fmt;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/salesforce/switch", get(preview))
        .route("/salesforce/switch/confirm", post(confirm))
        .route("/salesforce/switch/cancel", post(cancel))
}

async fn preview(State(state): State<AppState>, who: CurrentAccount) -> WebResult<Markup> {
    let preview = state.app.switch_preview(who.account.id).await?.ok_or(WebError::NotFound)?;
    let (from, to) = (&preview.current, &preview.to);
    Ok(page(
        "Switch Salesforce org?",
        Some(&who),
        html! {
            h1 { "Switch Salesforce org?" }
            div.card #switch-preview {
                p { "You signed in to a different Salesforce org than the one this account is linked to. Nothing has changed yet." }
                table {
                    tr { th .w-10 { "Linked now" } td data-testid="switch-from" {
                        (from.environment().label()) " org " strong { (from.org_name) } " (" code { (from.org_id) } ") as " (from.sf_username) } }
                    tr { th { "Switch to" } td data-testid="switch-to" {
                        (to.environment.label()) " org " strong { (to.org_name) } " (" code { (to.org_id) } ") as " (to.sf_username) } }
                    tr { th { "Signed in" } td { (time_fmt::short(to.signed_in_at)) } }
                }
                h2 { "What the switch affects" }
                @if preview.owned_projects.is_empty() {
                    p.muted { "You own no projects yet, so no survey is affected." }
                } @else {
                    p { "Every project you own works through this link. After the switch, each of these works with "
                        strong { (to.org_name) } " instead of " strong { (from.org_name) } ":" }
                    table #affected-projects {
                        thead { tr { th { "Project" } th { "Status" } th { "Responses" } th { "Salesforce use" } th { "After the switch" } } }
                        tbody {
                            @for p in &preview.owned_projects {
                                @let integration = preview.integrated.iter().find(|i| i.project_id == p.id);
                                tr data-project-id=(p.id) data-disrupted=[integration.map(|_| "true")] {
                                    td { (p.name) }
                                    td { (p.status.label()) }
                                    td { (p.response_count) }
                                    @match integration {
                                        Some(i) => {
                                            td { @for m in &i.integration.mappings {
                                                div { code { (m.object.as_str()) } ": " (m.rules.iter().map(|r| r.field.as_str()).collect::<Vec<_>>().join(", ")) }
                                            } }
                                            td { strong { "Paused" } " until its transition checks every mapped object and field against " (to.org_name) }
                                        }
                                        None => {
                                            td.muted { "No Salesforce mappings" }
                                            td.muted { "Works with " (to.org_name) "; nothing to re-validate" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if !preview.integrated.is_empty() {
                        p { strong { (preview.integrated.len()) " survey(s) will be paused." } " Nothing is written to " (from.org_name) " or " (to.org_name)
                            " from a paused survey; each resumes once its transition shows its mappings fit " (to.org_name) "." }
                    }
                    p.muted { "Projects shared with you are not affected: they use their owners' links." }
                }
                div.row .mt-1 {
                    (post_form("/salesforce/switch/confirm", &who.csrf, html! {
                        button type="submit" { "Switch to " (to.org_name) }
                    }))
                    (post_form("/salesforce/switch/cancel", &who.csrf, html! {
                        button.secondary type="submit" { "Cancel — keep " (from.org_name) }
                    }))
                }
            }
        },
    ))
}

async fn confirm(State(state): State<AppState>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    state.require_salesforce()?;
    state.app.confirm_switch(who.account.id).await?;
    Ok(Redirect::to("/salesforce?linked=1").into_response())
}

async fn cancel(State(state): State<AppState>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    state.require_salesforce()?;
    state.app.cancel_switch(who.account.id).await?;
    Ok(Redirect::to("/salesforce").into_response())
}
