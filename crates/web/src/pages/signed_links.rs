//! The Survey view's "Signed links" card: the owner makes a signed link
//! (embedded data, optional expiry) to copy, or replaces the survey's
//! signing key, which is shown once, for signing links in another system.

use super::layout::{confirm_form, post_form, flash_error};
use super::project_frame;
use super::survey::render;
use crate::auth::session::{CurrentAccount, EmptyForm, SignedForm};
use crate::notes::{self, Note};
use crate::error::{WebError, WebResult};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use domain::Access;
use maud::{html, Markup};
use app::projects::Project;
use app::surveys::Survey;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{id}/survey/signed-links", post(generate))
        .route("/projects/{id}/survey/signed-links/key", post(new_key))
}

/// What the card shows once, after an action.
pub enum Shown {
    Nothing,
    Link { url: String, expires: Option<i64> },
    /// The new signing key: in this one response, never again.
    Key(String),
    Error(String),
}

impl From<Note> for Shown {
    fn from(note: Note) -> Shown {
        match note {
            Note::SignedLink { url, expires } => Shown::Link { url, expires },
            Note::SigningKey { key } => Shown::Key(key),
            Note::Problem { text } => Shown::Error(text),
            Note::Done { .. } | Note::Mixed { .. } => Shown::Nothing,
        }
    }
}

const FIELD_PREFIX: &str = "e.";
const MAX_VALID_DAYS: i64 = 3650;

pub fn card(who: &CurrentAccount, project: &Project, access: Access, survey: &Survey, shown: &Shown) -> Markup {
    let base = format!("/projects/{}/survey/signed-links", project.id);
    html! {
        h2 { "Signed links" }
        div.card #signed-links {
            p.muted {
                "A mapping that updates the record named by embedded data writes only for responses that came through a "
                strong { "signed link" } ": a respondent can edit a plain link's values, but not without breaking its signature. "
                "See " code { "docs/signed-links.md" } " to sign links in another system."
            }
            @match shown {
                Shown::Nothing => {}
                Shown::Error(message) => (flash_error(Some(message.as_str()))),
                Shown::Link { url, expires } => {
                    div.flash.ok role="status" #signed-link-result {
                        p { strong { "Signed link" } @match expires {
                            Some(at) => { " (valid until " (crate::time_fmt::rfc3339(at * 1000)) ")" }
                            None => { " (does not expire)" }
                        } ":" }
                        p { code.link #signed-link { (url) } }
                    }
                }
                Shown::Key(key) => {
                    div.flash.ok role="status" #signing-key {
                        p { strong { "The survey's new signing key" } " — shown only now: copy it into the system that signs links. Links signed with the previous key are no longer trusted." }
                        p { code #signing-key-value { (key) } }
                    }
                }
            }
            @if access.can_sign_links() {
                @if survey.definition.embedded.is_empty() {
                    p.muted { "Declare embedded data fields below to sign links that carry them." }
                } @else {
                    (post_form(&base, &who.csrf, html! {
                        @for name in &survey.definition.embedded {
                            label { code { (name.as_str()) } " " input type="text" name={(FIELD_PREFIX) (name.as_str())} aria-label=(name.as_str()); }
                        }
                        label { "Valid for (days; leave blank for no expiry) " input type="number" name="valid_days" min="1" max=(MAX_VALID_DAYS) .max-w-8; }
                        p { button type="submit" { "Create signed link" } }
                    }))
                }
                (confirm_form(&format!("{base}/key"), &who.csrf, "Generate a new signing key? Links signed with the current key stop being trusted at once.", html! {
                    button.secondary type="submit" { "Generate a new signing key" }
                    span.muted { " Shows the key once, for signing links elsewhere; links signed with the current key stop being trusted." }
                }))
            } @else {
                p.muted { "Only the project's owner, " (project.owner_name) ", or an editor they granted Salesforce changes, can create signed links: the owner's Salesforce link does the writing." }
            }
        }
    }
}

async fn owner_survey(state: &AppState, who: &CurrentAccount, id: i64) -> WebResult<(Project, Access, Survey)> {
    let (project, access) = project_frame::load(state, id, who).await?;
    app::signed_links::require_signer(&project)?;
    let survey = state.app.survey(&project).await?;
    Ok((project, access, survey))
}

fn valid_days(raw: &str) -> Result<Option<i64>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<i64>() {
        Ok(d) if (1..=MAX_VALID_DAYS).contains(&d) => Ok(Some(d)),
        _ => Err(format!("\"{raw}\" is not a number of days from 1 to {MAX_VALID_DAYS}; leave it blank for a link that does not expire.")),
    }
}

async fn generate(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<Vec<(String, String)>>) -> WebResult<Response> {
    let (project, access, survey) = owner_survey(&state, &who, id).await?;
    let mut fields = Vec::new();
    let mut days = Ok(None);
    for (key, value) in form {
        if let Some(name) = key.strip_prefix(FIELD_PREFIX) {
            // A field left blank is left out of the link.
            if !value.is_empty() {
                fields.push((name.to_string(), value));
            }
        } else if key == "valid_days" {
            days = valid_days(&value);
        } else {
            return Err(WebError::BadRequest(format!("The form sent a field it does not have: \"{key}\".")));
        }
    }
    let now = app::now_ms() / 1000;
    let outcome = match days {
        Err(message) => Err(app::AppError::Invalid(message)),
        Ok(days) => state.app.sign_link(&project, &fields, days.map(|d| now + d * 86_400), now).await,
    };
    match outcome {
        // Shown on the Survey view this redirects to, once.
        Ok(link) => {
            let url = format!("{}?{}", state.survey_url(&survey.slug), link.query);
            notes::redirect_with(&state, &who, &survey_path(id), Note::SignedLink { url, expires: link.expires }).await
        }
        Err(app::AppError::Invalid(message)) => {
            let page = render(&state, &who, &project, access, &survey, None, &Shown::Error(message));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

fn survey_path(id: i64) -> String {
    format!("/projects/{id}/survey")
}

async fn new_key(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let (project, _, _) = owner_survey(&state, &who, id).await?;
    let key = state.app.regenerate_signing_key(&project).await?;
    // Kept sealed until the Survey view shows it, this once.
    notes::redirect_with(&state, &who, &survey_path(id), Note::SigningKey { key }).await
}
