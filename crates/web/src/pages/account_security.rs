//! Keeping an account safe: change its password (the current one first,
//! the same rules as at sign-up, throttled like sign-in) and sign out every
//! other browser. Changing the password signs the other browsers out too:
//! whoever knew the old one should not stay in.

use super::account;
use super::layout::post_form;
use crate::auth::session::{CurrentAccount, EmptyForm, SignedForm, SESSION_COOKIE};
use crate::error::{WebError, WebResult};
use crate::rate_limit::{wait_in_words, ClientAddress};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use domain::NewPassword;
use maud::{html, Markup};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/password", post(change_password))
        .route("/account/sessions/sign-out-others", post(sign_out_others))
}

/// What the Account page says after a change, named in its `?done=` query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    PasswordChanged,
    SignedOutElsewhere,
    /// A new token's page was opened again: it is shown only once.
    TokenShown,
}

impl Notice {
    const WORDS: [(Notice, &'static str); 3] =
        [(Notice::PasswordChanged, "password"), (Notice::SignedOutElsewhere, "signed-out-elsewhere"), (Notice::TokenShown, "token-shown")];

    pub fn from_query(raw: &str) -> Option<Notice> {
        Self::WORDS.iter().find(|(_, w)| *w == raw).map(|(n, _)| *n)
    }

    pub fn query(self) -> &'static str {
        Self::WORDS.iter().find(|(n, _)| *n == self).map(|(_, w)| *w).expect("every notice has a word")
    }

    pub fn message(self) -> &'static str {
        match self {
            Notice::PasswordChanged => "Password changed. Every other browser signed in to your account was signed out; this one stays signed in.",
            Notice::SignedOutElsewhere => "Signed out everywhere else: every other browser signed in to your account was signed out; this one stays signed in.",
            Notice::TokenShown => "A new API token is shown only once, when it is created. If it was not copied, revoke it and create another.",
        }
    }
}

fn done(notice: Notice) -> Response {
    Redirect::to(&format!("/account?done={}", notice.query())).into_response()
}

/// A refused password change: which field the problem is beside.
pub struct PasswordDraft {
    field: PasswordField,
    message: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PasswordField {
    Current,
    New,
}

/// The Password and Sessions cards of the Account page.
pub fn cards(who: &CurrentAccount, sessions: i64, refused: Option<&PasswordDraft>) -> Markup {
    let error_at = |field: PasswordField| html! {
        @if let Some(d) = refused.filter(|d| d.field == field) { p.field-error role="alert" { (d.message) } }
    };
    // The refused field is marked and takes the focus.
    let bad = |field: PasswordField| refused.is_some_and(|d| d.field == field);
    let others = (sessions - 1).max(0);
    html! {
        h2 { "Password" }
        div.card #password {
            (post_form("/account/password", &who.csrf, html! {
                label for="current_password" { "Current password" }
                input #current_password type="password" name="current_password" required autocomplete="current-password" .max-w-22 aria-invalid=[bad(PasswordField::Current).then_some("true")] autofocus[bad(PasswordField::Current)];
                (error_at(PasswordField::Current))
                label for="new_password" { "New password " span.muted { "(at least 8 characters)" } }
                input #new_password type="password" name="new_password" required autocomplete="new-password" .max-w-22 aria-invalid=[bad(PasswordField::New).then_some("true")] autofocus[bad(PasswordField::New)];
                (error_at(PasswordField::New))
                p { button type="submit" { "Change password" } }
            }))
            p.muted { "Changing your password signs out every other browser signed in to your account." }
        }
        h2 { "Sessions" }
        div.card #sessions {
            p data-testid="other-sessions" {
                @match others {
                    0 => "This is the only browser signed in to your account.",
                    1 => "One other browser is signed in to your account besides this one.",
                    n => { (n) " other browsers are signed in to your account besides this one." },
                }
            }
            (post_form("/account/sessions/sign-out-others", &who.csrf, html! {
                button.secondary type="submit" { "Sign out everywhere else" }
            }))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

/// The session token this browser holds (a signed-in request has one).
fn this_session(jar: &CookieJar) -> WebResult<String> {
    jar.get(SESSION_COOKIE).map(|c| c.value().to_string()).ok_or_else(|| WebError::SignInRequired("/account".into()))
}

async fn change_password(State(state): State<AppState>, client: ClientAddress, jar: CookieJar, SignedForm { who, form }: SignedForm<PasswordForm>) -> WebResult<Response> {
    let account_id = who.account.id;
    // The current password is guessed as a sign-in would be, so it counts
    // against the same limits, before it is looked at.
    if let Err(refused) = state.sign_in_limits.admit(client, &who.account.email) {
        tracing::warn!(account = account_id, client = %client, "password change refused: too many attempts");
        let wait = refused.wait();
        let message = format!("Too many attempts at this account's password. For its safety, wait {} before trying again; nothing was changed.", wait_in_words(wait));
        return Err(WebError::TooManyRequests { message, retry_after: wait });
    }
    let new_password = match NewPassword::parse_for(&form.new_password, &[who.account.email.as_str(), who.account.name.as_str()]) {
        Ok(p) => p,
        Err(e) => return refused(&state, &who, PasswordField::New, e.0).await,
    };
    let stored = state.app.credentials_of(account_id).await?.map(|c| c.password_hash);
    if stored.is_none() || !state.passwords.verify(form.current_password, stored).await? {
        tracing::warn!(account = account_id, client = %client, "password change refused: wrong current password");
        return refused(&state, &who, PasswordField::Current, "That is not your current password. Nothing was changed.".into()).await;
    }
    let hash = state.passwords.hash(new_password).await??;
    state.app.change_password(account_id, &hash, &this_session(&jar)?).await?;
    Ok(done(Notice::PasswordChanged))
}

/// The Account page again, the problem beside its field; nothing changed.
async fn refused(state: &AppState, who: &CurrentAccount, field: PasswordField, message: String) -> WebResult<Response> {
    let draft = PasswordDraft { field, message };
    let page = account::render_with(state, who, None, None, None, Some(&draft), None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn sign_out_others(State(state): State<AppState>, jar: CookieJar, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    state.app.end_other_sessions(who.account.id, &this_session(&jar)?).await?;
    Ok(done(Notice::SignedOutElsewhere))
}

#[cfg(test)]
mod tests {
    use super::Notice;

    #[test]
    fn notices_read_back_from_their_query_and_nothing_else_does() {
        for n in [Notice::PasswordChanged, Notice::SignedOutElsewhere] {
            assert_eq!(Notice::from_query(n.query()), Some(n));
        }
        assert_eq!(Notice::from_query("<script>"), None);
    }
}
