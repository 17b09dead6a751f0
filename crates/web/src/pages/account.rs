//! Account settings: who you are, your password and sessions
//! (`account_security`), and API tokens for the JSON API.

use super::account_security::{self, Notice, PasswordDraft};
use super::layout::{confirm_form, post_form_with_class, flash_error, flash_ok, page};
use crate::auth::session::{CurrentAccount, SignedForm, EmptyForm};
use crate::error::WebResult;
use crate::notes::{self, Note};
use crate::state::AppState;
use crate::time_fmt;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(view))
        .route("/account/tokens", post(create_token))
        .route("/account/tokens/{id}/created", get(created_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
        .merge(account_security::router())
}

/// `?done=…` after a change that redirects back here, so the page says what was done.
#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn view(State(state): State<AppState>, who: CurrentAccount, Query(q): Query<Done>) -> WebResult<Markup> {
    let notice = q.done.as_deref().and_then(Notice::from_query);
    let note = notes::take(&state, &who, "/account").await?;
    render_with(&state, &who, None, None, notice, None, note.as_ref().and_then(Note::done_text)).await
}

async fn render(state: &AppState, who: &CurrentAccount, new_token: Option<&str>, error: Option<&str>) -> WebResult<Markup> {
    render_with(state, who, new_token, error, None, None, None).await
}

/// The Account page, saying what was just done, or with the password form
/// as it was refused.
pub(super) async fn render_with(
    state: &AppState,
    who: &CurrentAccount,
    new_token: Option<&str>,
    error: Option<&str>,
    notice: Option<Notice>,
    password: Option<&PasswordDraft>,
    done: Option<&str>,
) -> WebResult<Markup> {
    let tokens = state.app.api_tokens(who.account.id).await?;
    let sessions = state.app.live_session_count(who.account.id).await?;
    Ok(page(
        "Account",
        Some(who),
        html! {
            h1 { "Account" }
            (flash_ok(notice.map(Notice::message).or(done)))
            div.card {
                p { strong { (who.account.name) } br; (who.account.email) }
                p.muted { "Member since " (time_fmt::short(who.account.created_at)) }
            }
            (account_security::cards(who, sessions, password))
            h2 { "API tokens" }
            (flash_error(error))
            @if let Some(token) = new_token {
                div.flash.ok role="status" #new-token {
                    "Your new token — copy it now, it is not shown again:" br;
                    code.link data-testid="api-token" { (token) }
                }
            }
            div.card {
                p.muted { "Tokens let scripts read your projects, surveys and responses through the JSON API ("
                    a href="/api/openapi.json" { "OpenAPI document" } "). Send one as " code { "Authorization: Bearer …" } "." }
                (post_form_with_class("row", "/account/tokens", &who.csrf, html! {
                    input type="text" name="name" placeholder="What it is for, e.g. nightly export" required .max-w-22 aria-label="Token name";
                    button type="submit" { "Create token" }
                }))
            }
            @if !tokens.is_empty() {
                table #tokens {
                    thead { tr { th { "Name" } th { "Created" } th { "Last used" } th { "Status" } th {} } }
                    tbody {
                        @for t in &tokens {
                            tr {
                                td { (t.name) }
                                td { (time_fmt::short(t.created_at)) }
                                td { (t.last_used_at.map(time_fmt::short).unwrap_or_else(|| "never".into())) }
                                td { @if t.revoked_at.is_some() { "revoked" } @else { "active" } }
                                td {
                                    @if t.revoked_at.is_none() {
                                        (confirm_form(&format!("/account/tokens/{}/revoke", t.id), &who.csrf, &format!("Revoke the token “{}”? Scripts using it stop working at once; this cannot be undone.", t.name), html! {
                                            button.small.danger type="submit" { "Revoke" }
                                        }))
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
struct TokenForm {
    name: String,
}

async fn create_token(State(state): State<AppState>, SignedForm { who, form }: SignedForm<TokenForm>) -> WebResult<Response> {
    match state.app.create_api_token(who.account.id, &form.name).await {
        // Shown on the page this redirects to, so a reload creates no second token.
        Ok(id) => Ok(Redirect::to(&format!("/account/tokens/{id}/created")).into_response()),
        Err(app::AppError::Invalid(message)) => {
            let page = render(&state, &who, None, Some(&message)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The new token, shown this once (never cached); after that, the account page
/// says it was shown and how to get another.
async fn created_token(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>) -> WebResult<Response> {
    match state.app.reveal_api_token(who.account.id, id).await? {
        Some(token) => {
            let page = render(&state, &who, Some(&token), None).await?;
            Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], page).into_response())
        }
        None => Ok(Redirect::to(&format!("/account?done={}", Notice::TokenShown.query())).into_response()),
    }
}

async fn revoke_token(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let name = state.app.api_tokens(who.account.id).await?.into_iter().find(|t| t.id == id).map(|t| t.name).unwrap_or_default();
    state.app.revoke_api_token(who.account.id, id).await?;
    notes::redirect_with(&state, &who, "/account", Note::done(format!("Revoked the token “{name}”: scripts using it are refused from now on."))).await
}
