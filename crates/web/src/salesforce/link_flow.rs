//! Setup Link to Salesforce Account: the page with the Sandbox Environment
//! box, Sign In (the OAuth 2.0 web-server flow with `state`, PKCE and
//! `prompt=login`), and the callback, which explains every way it can fail
//! and leaves an existing link untouched when it does.

use crate::auth::session::{CurrentAccount, SignedForm, SESSION_COOKIE};
use crate::error::{WebError, WebResult};
use crate::pages::layout::{post_form, flash_error, page};
use crate::state::AppState;
use app::link::{CallbackParams, Finished, LinkError};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use domain::Environment;
use maud::{html, Markup};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/salesforce/link", get(setup_page).post(sign_in))
        .route("/salesforce/callback", get(callback))
}

#[derive(Deserialize, Default)]
struct ReturnTo {
    return_to: Option<String>,
}

fn safe_return(to: Option<&str>) -> String {
    crate::auth::session::same_site_path(to, "/salesforce")
}

async fn setup_page(State(state): State<AppState>, who: CurrentAccount, Query(q): Query<ReturnTo>) -> WebResult<Markup> {
    setup(&state, &who, &safe_return(q.return_to.as_deref()), None, false, "").await
}

async fn setup(state: &AppState, who: &CurrentAccount, return_to: &str, error: Option<&str>, sandbox: bool, my_domain: &str) -> WebResult<Markup> {
    let current = state.app.link(who.account.id).await?;
    let configured = state.app.has_salesforce();
    Ok(page(
        "Setup Link to Salesforce Account",
        Some(who),
        html! {
            h1 { "Setup Link to Salesforce Account" }
            (flash_error(error))
            div.card .max-w-42 {
                @if let Some(l) = &current {
                    p #current-link { "This account is linked to " strong { (l.org_name) } " (" (l.environment().label().to_lowercase()) ", " code { (l.org_id) } ") as " (l.sf_username) ". "
                        "Signing in again relinks it; if you sign in to a different org, Insight first shows which surveys that would affect." }
                } @else {
                    p { "Link your Insight account to one Salesforce org. Every survey you own will use this link." }
                }
                @if !configured {
                    div.flash.error { "This Insight server has no Salesforce connected app configured (INSIGHT_SALESFORCE_CLIENT_ID and INSIGHT_SALESFORCE_CLIENT_SECRET). Ask your administrator." }
                }
                (post_form("/salesforce/link", &who.csrf, html! {
                    input type="hidden" name="return_to" value=(return_to);
                    p {
                        input #sandbox type="checkbox" name="sandbox" value="on" checked[sandbox];
                        label.inline for="sandbox" { strong { "Sandbox Environment" } }
                        br; span.muted { "Tick to link a Salesforce sandbox (signs in at the sandbox login host); leave clear for production." }
                    }
                    label for="my-domain" { "My Domain URL " span.muted { "(optional; overrides both: as shown in Salesforce Setup → My Domain, e.g. https://acme.my.salesforce.com)" } }
                    input #my-domain type="url" name="my_domain" value=(my_domain) placeholder="https://yourcompany.my.salesforce.com";
                    p.muted { "Salesforce will always ask you to sign in, even if your browser is already signed in to Salesforce, so the right user is linked." }
                    p { button type="submit" disabled[!configured] { "Sign In" } }
                }))
            }
        },
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInForm {
    sandbox: Option<String>,
    #[serde(default)]
    my_domain: String,
    return_to: Option<String>,
}

/// The browser session's token, which a sign-in is bound to.
fn session_token(jar: &CookieJar) -> WebResult<String> {
    jar.get(SESSION_COOKIE).map(|c| c.value().to_string()).ok_or_else(|| WebError::SignInRequired("/salesforce/link".into()))
}

async fn sign_in(State(state): State<AppState>, jar: CookieJar, SignedForm { who, form }: SignedForm<SignInForm>) -> WebResult<Response> {
    let return_to = safe_return(form.return_to.as_deref());
    let environment = Environment::from_checkbox(form.sandbox.as_deref() == Some("on"));
    state.require_salesforce()?;
    // `app` reads the My Domain field: only a Salesforce My Domain (or a
    // configured stand-in) is ever contacted, since the code exchange sends
    // it the connected app's secret.
    let started = state.app.start_sign_in(who.account.id, &session_token(&jar)?, environment, &form.my_domain, &return_to).await;
    match started {
        Ok(authorize_url) => Ok(Redirect::to(&authorize_url).into_response()),
        Err(e) => {
            let page = setup(&state, &who, &return_to, Some(&e.to_string()), environment == Environment::Sandbox, &form.my_domain).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

async fn callback(State(state): State<AppState>, jar: CookieJar, who: CurrentAccount, Query(params): Query<CallbackParams>) -> WebResult<Response> {
    state.require_salesforce()?;
    match state.app.finish_sign_in(who.account.id, &session_token(&jar)?, params).await {
        Ok(Finished::Linked { return_to, environment_mismatch }) => {
            let mut to = format!("/salesforce?linked=1{}", if environment_mismatch { "&mismatch=1" } else { "" });
            if return_to != "/salesforce" {
                to.push_str("&return_to=");
                to.push_str(&url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>());
            }
            Ok(Redirect::to(&to).into_response())
        }
        Ok(Finished::SwitchNeedsConfirmation) => Ok(Redirect::to("/salesforce/switch").into_response()),
        Err(e) => Ok(failure_page(&who, &e).into_response()),
    }
}

/// Every way the sign-in can fail, said plainly, with what to do next. The
/// existing link is never touched by a failed sign-in.
fn failure_page(who: &CurrentAccount, e: &LinkError) -> (StatusCode, Markup) {
    let status = match e {
        LinkError::Denied => StatusCode::OK,
        LinkError::StateMissing | LinkError::StateUnknown => StatusCode::BAD_REQUEST,
        LinkError::StateFromAnotherSession => StatusCode::FORBIDDEN,
        // Salesforce unreachable, a code it refused, any other answer of its.
        _ => StatusCode::BAD_GATEWAY,
    };
    (
        status,
        page(
            "Salesforce sign-in did not complete",
            Some(who),
            html! {
                div.card #link-failed {
                    h1 { "Salesforce sign-in did not complete" }
                    p data-testid="link-error" { (e.to_string()) }
                    p.muted { "Nothing was changed: if this account was linked before, that link is still in place." }
                    p { a.button href="/salesforce/link" { "Try again" } " " a href="/salesforce" { "Salesforce settings" } }
                }
            },
        ),
    )
}
