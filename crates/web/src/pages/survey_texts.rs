//! The survey's introduction and thank-you message, on the Survey view:
//! owners and editors change them, viewers read them. Plain text, shown to
//! respondents (and in preview) escaped, with its line breaks.

use super::layout::{flash_ok, post_form_with_class};
use super::project_frame::{self, require_edit};
use super::survey;
use crate::auth::session::{CurrentAccount, SignedForm};
use crate::error::WebResult;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;
use app::surveys::Survey;
use domain::{SurveyIntroduction, ThankYouMessage};
use maud::{html, Markup};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/projects/{id}/survey/texts", post(save))
}

/// The query a save redirects with, so the Survey view says it was saved.
pub const SAVED: &str = "texts";

/// What the card shows besides the saved texts.
pub enum Card<'a> {
    Plain,
    /// Just saved: says so.
    Saved,
    /// Refused: what was typed, with the problem beside its field.
    Refused(&'a Draft),
}

pub struct Draft {
    introduction: String,
    thank_you: String,
    field: Field,
    message: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Introduction,
    ThankYou,
}

pub fn card(who: &CurrentAccount, project_id: i64, survey: &Survey, editable: bool, state: &Card) -> Markup {
    let draft = match state {
        Card::Refused(d) => Some(*d),
        _ => None,
    };
    let introduction = draft.map(|d| d.introduction.as_str()).unwrap_or(survey.introduction.as_str());
    let thank_you = draft.map(|d| d.thank_you.as_str()).unwrap_or(survey.thank_you.as_str());
    let error_at = |field: Field| html! {
        @if let Some(d) = draft.filter(|d| d.field == field) { p.field-error role="alert" { (d.message) } }
    };
    // The refused field is marked and takes the focus.
    let refused = |field: Field| draft.is_some_and(|d| d.field == field);
    html! {
        div.card #survey-texts {
            h2 .mt-0 { "Introduction and thank-you message" }
            @if matches!(state, Card::Saved) { (flash_ok(Some("Introduction and thank-you message saved."))) }
            @if editable {
                (post_form_with_class("texts-form", &format!("/projects/{project_id}/survey/texts"), &who.csrf, html! {
                    label for="introduction" { "Introduction " span.muted { "(shown above the questions; plain text, at most " (SurveyIntroduction::MAX_CHARS) " characters)" } }
                    textarea #introduction name="introduction" aria-invalid=[refused(Field::Introduction).then_some("true")] autofocus[refused(Field::Introduction)] { (introduction) }
                    (error_at(Field::Introduction))
                    label for="thank_you" { "Thank-you message " span.muted { "(shown after a response; plain text, at most " (ThankYouMessage::MAX_CHARS) " characters; empty for the standard one)" } }
                    textarea #thank_you name="thank_you" aria-invalid=[refused(Field::ThankYou).then_some("true")] autofocus[refused(Field::ThankYou)] { (thank_you) }
                    (error_at(Field::ThankYou))
                    p { button type="submit" { "Save texts" } }
                }))
            } @else {
                p.muted { "Introduction" }
                @if introduction.is_empty() { p { "None." } } @else { div.survey-intro { (introduction) } }
                p.muted { "Thank-you message" }
                @if thank_you.is_empty() { p { "The standard one." } } @else { div.survey-message { (thank_you) } }
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextsForm {
    introduction: String,
    thank_you: String,
}

async fn save(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<TextsForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    let parsed = SurveyIntroduction::parse(&form.introduction)
        .map_err(|e| (Field::Introduction, e))
        .and_then(|intro| ThankYouMessage::parse(&form.thank_you).map(|thanks| (intro, thanks)).map_err(|e| (Field::ThankYou, e)));
    let (introduction, thank_you) = match parsed {
        Ok(texts) => texts,
        Err((field, e)) => {
            let survey = state.app.survey(&project).await?;
            let draft = Draft { introduction: form.introduction, thank_you: form.thank_you, field, message: e.0 };
            let page = survey::render_with_texts(&state, &who, &project, access, &survey, &Card::Refused(&draft));
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    state.app.set_survey_texts(&project, &introduction, &thank_you).await?;
    Ok(Redirect::to(&format!("/projects/{id}/survey?saved={SAVED}#survey-texts")).into_response())
}
