//! Sign up, sign in, sign out.

pub mod passwords;
pub mod session;
pub mod throttle;

use crate::auth::session::EmptyForm;
use crate::error::WebResult;
use crate::pages::layout::{post_form, flash_error, page};
use crate::rate_limit::{retry_after_secs, wait_in_words, ClientAddress};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::{Cookie, CookieJar};
use domain::{DisplayName, Email, NewPassword};
use maud::{html, Markup};
use serde::Deserialize;
use throttle::Refused;
use session::{pre_session_cookie, pre_session_token, pre_session_token_of, session_cookie, MaybeAccount, PreSessionForm, SignedForm, PRE_SESSION_CSRF_COOKIE, SESSION_COOKIE};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/signup", get(signup_page).post(signup))
        .route("/signup/sent", get(signup_sent))
        .route("/signup/confirm", get(confirm_page).post(confirm))
        .route("/signin", get(signin_page).post(signin))
        .route("/signout", post(signout))
}

/// Signed in: My Projects. Otherwise the first page: what Insight is, and
/// Sign up / Sign in.
async fn home(MaybeAccount(who): MaybeAccount) -> Response {
    match who {
        Some(_) => Redirect::to("/projects").into_response(),
        None => crate::pages::landing::page().into_response(),
    }
}

#[derive(Deserialize, Default)]
struct Next {
    next: Option<String>,
}

fn safe_next(next: Option<&str>) -> String {
    session::same_site_path(next, "/projects")
}

/// The browser's pre-sign-in cookie (minted when missing) and the CSRF
/// token its forms carry.
fn pre_session(jar: CookieJar, state: &AppState) -> (CookieJar, String) {
    match pre_session_token_of(&jar, state) {
        Some(token) => (jar, token),
        None => {
            let cookie = app::accounts::bearer_token();
            let token = pre_session_token(state, &cookie);
            (jar.add(pre_session_cookie(cookie, state)), token)
        }
    }
}

struct SignupValues<'a> {
    email: &'a str,
    name: &'a str,
    next: &'a str,
}

fn signup_form(csrf: &str, values: SignupValues, error: Option<&str>) -> Markup {
    page(
        "Sign up",
        None,
        html! {
            div.card .max-w-30 {
                h1 { "Create your Insight account" }
                (flash_error(error))
                (post_form("/signup", csrf, html! {
                    input type="hidden" name="next" value=(values.next);
                    label for="name" { "Your name" }
                    input #name type="text" name="name" value=(values.name) required autocomplete="name";
                    label for="email" { "Email" }
                    input #email type="email" name="email" value=(values.email) required autocomplete="email";
                    label for="password" { "Password " span.muted { "(at least 8 characters)" } }
                    input #password type="password" name="password" required autocomplete="new-password";
                    p { button type="submit" { "Sign up" } }
                }))
                p.muted { "Already have an account? " a href="/signin" { "Sign in" } }
            }
        },
    )
}

async fn signup_page(State(state): State<AppState>, jar: CookieJar, Query(q): Query<Next>) -> impl IntoResponse {
    let (jar, csrf) = pre_session(jar, &state);
    let next = safe_next(q.next.as_deref());
    (jar, signup_form(&csrf, SignupValues { email: "", name: "", next: &next }, None))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignupForm {
    name: String,
    email: String,
    password: String,
    next: Option<String>,
}

async fn signup(State(state): State<AppState>, client: ClientAddress, jar: CookieJar, PreSessionForm { form }: PreSessionForm<SignupForm>) -> WebResult<Response> {
    if let Err(refused) = state.sign_in_limits.admit_address(client) {
        tracing::warn!(client = %client, "sign-up refused: too many attempts from this address");
        return Err(too_many(refused));
    }
    let next = safe_next(form.next.as_deref());
    let csrf = pre_session_token_of(&jar, &state).unwrap_or_default();
    let refuse = |message: String| {
        let values = SignupValues { email: &form.email, name: &form.name, next: &next };
        Ok((StatusCode::UNPROCESSABLE_ENTITY, signup_form(&csrf, values, Some(&message))).into_response())
    };
    let parsed = (|| {
        let (name, email) = (DisplayName::parse(&form.name)?, Email::parse(&form.email)?);
        let password = NewPassword::parse_for(&form.password, &[email.as_str(), name.as_str()])?;
        Ok::<_, domain::Invalid>((name, email, password))
    })();
    let (name, email, password) = match parsed {
        Ok(p) => p,
        Err(e) => return refuse(e.0),
    };
    let hash = state.passwords.hash(password).await??;
    // The same page whoever's address it is: the inbox says the rest.
    let request = app::signup::SignupRequest { email: &email, name: &name, password_hash: &hash, next_path: &next };
    state.app.begin_signup(request).await?;
    // Said on the page this redirects to, so a reload sends no second mail.
    Ok((jar.add(sent_cookie(&state, &email)), Redirect::to("/signup/sent")).into_response())
}

/// Which address the last sign-up of this browser used, for the page after
/// it: the address and its MAC under the form key, so the page never shows
/// words someone else put in a cookie or a URL.
const SIGNUP_SENT_COOKIE: &str = "insight_signup_sent";

fn sent_cookie(state: &AppState, email: &Email) -> Cookie<'static> {
    let value = format!("{}.{}", sent_mac(state, email.as_str()), email.as_str());
    Cookie::build((SIGNUP_SENT_COOKIE, value))
        .path("/signup")
        .http_only(true)
        .secure(state.is_https())
        .same_site(axum_extra::extract::cookie::SameSite::Strict)
        .max_age(time::Duration::minutes(30))
        .build()
}

fn sent_mac(state: &AppState, email: &str) -> String {
    crate::secrets::mac(&state.form_key, &format!("signup-sent:{email}"))
}

/// The address the cookie names, if its MAC holds.
fn sent_to(state: &AppState, jar: &CookieJar) -> Option<String> {
    let (mac, email) = jar.get(SIGNUP_SENT_COOKIE)?.value().split_once('.')?;
    crate::secrets::equal(mac, &sent_mac(state, email)).then(|| email.to_string())
}

async fn signup_sent(State(state): State<AppState>, jar: CookieJar) -> Markup {
    check_your_inbox(sent_to(&state, &jar).as_deref())
}

/// What every sign-up is answered, for a new address and a taken one alike.
fn check_your_inbox(email: Option<&str>) -> Markup {
    page(
        "Check your inbox",
        None,
        html! {
            div.card .max-w-30 {
                h1 { "Check your inbox" }
                @match email {
                    Some(email) => p #check-inbox { "Check your inbox: we've sent a link to " strong { (email) } " to finish signing up." }
                    None => p #check-inbox { "Check your inbox: we've sent a link to the address you signed up with, to finish signing up." }
                }
                p.muted { "The link works for 24 hours. Nothing there? Look in your spam folder, or sign up again." }
                p.muted { "Already have an account? " a href="/signin" { "Sign in" } }
            }
        },
    )
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The page a confirmation link opens: a button, never the confirmation
/// itself, since mail scanners follow links before people do.
async fn confirm_page(State(state): State<AppState>, jar: CookieJar, Query(q): Query<TokenQuery>) -> WebResult<Response> {
    let (jar, csrf) = pre_session(jar, &state);
    let token = q.token.unwrap_or_default();
    let link = state.app.signup_link(&token).await?;
    Ok((jar, confirmation_answer(&csrf, &token, &link, None)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmForm {
    token: String,
    password: String,
}

async fn confirm(State(state): State<AppState>, client: ClientAddress, jar: CookieJar, PreSessionForm { form }: PreSessionForm<ConfirmForm>) -> WebResult<Response> {
    if let Err(refused) = state.sign_in_limits.admit_address(client) {
        tracing::warn!(client = %client, "sign-up confirmation refused: too many attempts from this address");
        return Err(too_many(refused));
    }
    let csrf = pre_session_token_of(&jar, &state).unwrap_or_default();
    let link = state.app.signup_link(&form.token).await?;
    let app::signup::Link::Usable(pending) = &link else {
        return Ok(confirmation_answer(&csrf, &form.token, &link, None));
    };
    // The password chosen at sign-up confirms it: whoever signs up with
    // someone else's address cannot have them confirm the stranger's account.
    if !state.passwords.verify(form.password, Some(pending.password_hash.clone())).await? {
        let error = "That is not the password chosen when signing up. Enter that one, or sign up again to choose another.";
        let mut page = confirmation_answer(&csrf, &form.token, &link, Some(error));
        *page.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok(page);
    }
    match state.app.confirm_signup(pending).await? {
        app::signup::Confirmation::Account { account, next_path } => {
            let jar = start_session(jar, &state, account.id).await?;
            Ok((jar, Redirect::to(&safe_next(Some(&next_path)))).into_response())
        }
        app::signup::Confirmation::AlreadyHasAccount => Ok(link_page(
            StatusCode::CONFLICT,
            "You have an account",
            "This address already has an Insight account, so this link made none. Sign in with its password.",
        )),
        app::signup::Confirmation::Used => Ok(confirmation_answer(&csrf, &form.token, &app::signup::Link::Used, None)),
    }
}

/// The confirmation page for what the link found.
fn confirmation_answer(csrf: &str, token: &str, link: &app::signup::Link, error: Option<&str>) -> Response {
    use app::signup::Link;
    match link {
        Link::Usable(pending) => page(
            "Finish signing up",
            None,
            html! {
                div.card .max-w-30 {
                    h1 { "Finish signing up" }
                    (flash_error(error))
                    p { "Create the Insight account " strong { (pending.email) } " for " (pending.name) "." }
                    (post_form("/signup/confirm", csrf, html! {
                        input type="hidden" name="token" value=(token);
                        label for="password" { "The password you chose when signing up" }
                        input #password type="password" name="password" required autocomplete="current-password";
                        p { button type="submit" { "Finish signing up" } }
                    }))
                }
            },
        )
        .into_response(),
        Link::Used => link_page(StatusCode::GONE, "This link was used already", "This link has made its account already: sign in to it."),
        Link::Expired => link_page(
            StatusCode::GONE,
            "This link has expired",
            "Sign-up links work for 24 hours, and this one is older. Sign up again to get a new one.",
        ),
        Link::Unknown => link_page(
            StatusCode::NOT_FOUND,
            "This link does not work",
            "No sign-up has this link. Check that you opened the whole link from the mail, or sign up again.",
        ),
    }
}

fn link_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = page(
        title,
        None,
        html! {
            div.card .max-w-30 {
                h1 { (title) }
                p #link-state { (message) }
                p { a href="/signin" { "Sign in" } " · " a href="/signup" { "Sign up" } }
            }
        },
    );
    (status, body).into_response()
}

async fn start_session(jar: CookieJar, state: &AppState, account_id: i64) -> WebResult<CookieJar> {
    let token = state.app.start_session(account_id, state.session_lifetime).await?;
    Ok(jar.remove(Cookie::from(PRE_SESSION_CSRF_COOKIE)).add(session_cookie(token, state)))
}

fn signin_form(csrf: &str, email: &str, next: &str, error: Option<&str>) -> Markup {
    page(
        "Sign in",
        None,
        html! {
            div.card .max-w-30 {
                h1 { "Sign in to Insight" }
                (flash_error(error))
                (post_form("/signin", csrf, html! {
                    input type="hidden" name="next" value=(next);
                    label for="email" { "Email" }
                    input #email type="email" name="email" value=(email) required autocomplete="username";
                    label for="password" { "Password" }
                    input #password type="password" name="password" required autocomplete="current-password";
                    p { button type="submit" { "Sign in" } }
                }))
                p.muted { "New to Insight? " a href="/signup" { "Create an account" } }
            }
        },
    )
}

async fn signin_page(State(state): State<AppState>, jar: CookieJar, Query(q): Query<Next>) -> impl IntoResponse {
    let (jar, csrf) = pre_session(jar, &state);
    (jar, signin_form(&csrf, "", &safe_next(q.next.as_deref()), None))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SigninForm {
    email: String,
    password: String,
    next: Option<String>,
}

async fn signin(State(state): State<AppState>, client: ClientAddress, jar: CookieJar, PreSessionForm { form }: PreSessionForm<SigninForm>) -> WebResult<Response> {
    let next = safe_next(form.next.as_deref());
    let csrf = jar.get(PRE_SESSION_CSRF_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    let email = Email::parse(&form.email).ok();
    if let Err(refused) = state.sign_in_limits.admit(client, &form.email) {
        // The typed email is logged only when it is an email: people type
        // passwords into the wrong field.
        tracing::warn!(email = email.as_ref().map(tracing::field::display), client = %client, "sign-in refused: too many attempts");
        let page = signin_form(&csrf, &form.email, &next, Some(&too_many(refused).public_message()));
        let headers = [(header::RETRY_AFTER, retry_after_secs(refused.wait()).to_string())];
        return Ok((StatusCode::TOO_MANY_REQUESTS, headers, page).into_response());
    }
    let credentials = match &email {
        Some(email) => state.app.credentials(email).await?,
        None => None,
    };
    let account_id = credentials.as_ref().map(|c| c.id);
    if !state.passwords.verify(form.password, credentials.map(|c| c.password_hash)).await? {
        tracing::warn!(account = account_id, email = email.as_ref().map(tracing::field::display), client = %client, "sign-in failed");
        let csrf = pre_session_token_of(&jar, &state).unwrap_or_default();
        let page = signin_form(&csrf, &form.email, &next, Some("That email and password do not match an account."));
        return Ok((StatusCode::UNAUTHORIZED, page).into_response());
    }
    let account_id = account_id.ok_or_else(|| anyhow::anyhow!("verified without an account"))?;
    tracing::info!(account = account_id, client = %client, "signed in");
    let jar = start_session(jar, &state, account_id).await?;
    Ok((jar, Redirect::to(&next)).into_response())
}

/// What a person is told when a limit holds their sign-in back.
fn too_many(refused: Refused) -> crate::error::WebError {
    let wait = wait_in_words(refused.wait());
    let message = match refused {
        Refused::Account(_) => format!("Too many sign-in attempts for this account. For its safety, wait {wait} before trying again."),
        Refused::Address(_) => format!("Too many sign-in attempts from your network. Wait {wait} before trying again."),
    };
    crate::error::WebError::TooManyRequests { message, retry_after: refused.wait() }
}

async fn signout(State(state): State<AppState>, jar: CookieJar, SignedForm { .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    if let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) {
        state.app.end_session(&token).await?;
    }
    Ok((jar.remove(Cookie::from(SESSION_COOKIE)), Redirect::to("/signin")).into_response())
}


#[cfg(test)]
mod tests {
    #[test]
    fn next_never_leaves_the_site() {
        assert_eq!(super::safe_next(Some("/projects/3")), "/projects/3");
        for bad in ["//evil.example/", "https://evil.example/", "/\\evil.example", "/%09/evil.example", "/projects\n"] {
            assert_eq!(super::safe_next(Some(bad)), "/projects");
        }
    }
}
