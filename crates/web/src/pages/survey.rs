//! The Survey view: build the survey (questions, embedded data), publish it
//! and get its anonymous link.

use super::layout::{post_form, post_form_with_class, flash_error, page};
use super::project_frame::{self, require_edit, Tab};
use super::signed_links::{self, Shown};
use crate::auth::session::{CurrentAccount, SignedForm, EmptyForm};
use crate::error::{WebError, WebResult};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::{Access, EmbeddedFieldName, Invalid, Question, QuestionId, QuestionKind, QuestionText, SurveyDefinition, SurveyStatus};
use maud::{html, Markup};
use serde::Deserialize;
use app::projects::Project;
use app::surveys::Survey;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{id}/survey", get(view))
        .route("/projects/{id}/survey/questions", post(add_question))
        .route("/projects/{id}/survey/questions/{qid}", post(update_question))
        .route("/projects/{id}/survey/questions/{qid}/delete", post(delete_question))
        .route("/projects/{id}/survey/questions/{qid}/move", post(move_question))
        .route("/projects/{id}/survey/embedded", post(add_embedded))
        .route("/projects/{id}/survey/embedded/{name}/delete", post(delete_embedded))
        .route("/projects/{id}/survey/publish", post(publish))
        .route("/projects/{id}/survey/unpublish", post(unpublish))
}

async fn view(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>) -> WebResult<Markup> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    let survey = state.app.survey(&project).await?;
    Ok(render(&state, &who, &project, access, &survey, None, &Shown::Nothing))
}

pub(super) fn render(state: &AppState, who: &CurrentAccount, project: &Project, access: Access, survey: &Survey, error: Option<&str>, signed: &Shown) -> Markup {
    let base = format!("/projects/{}/survey", project.id);
    let editable = access.can_edit();
    page(
        &project.name,
        Some(who),
        html! {
            (project_frame::header(project, access, Tab::Survey))
            (flash_error(error))
            (publish_panel(state, who, project, survey, editable))
            h2 { "Questions" }
            @if survey.definition.questions.is_empty() {
                p.muted #no-questions { "This survey has no questions yet." }
            }
            ol #questions .indent {
                @for q in &survey.definition.questions {
                    li.question data-question-id=(q.id) {
                        div.row .spread {
                            div {
                                strong.qtext { (q.text.as_str()) }
                                @if q.required { span.badge .ml-small { "Required" } }
                                div.meta { (q.kind.label()) " · " (q.id) (kind_details(&q.kind)) }
                            }
                            @if editable {
                                div.row {
                                    (post_form(&format!("{base}/questions/{}/move", q.id), &who.csrf, html! {
                                        input type="hidden" name="direction" value="up";
                                        button.small.secondary type="submit" title="Move up" aria-label={"Move " (q.id) " up"} { "↑" }
                                    }))
                                    (post_form(&format!("{base}/questions/{}/move", q.id), &who.csrf, html! {
                                        input type="hidden" name="direction" value="down";
                                        button.small.secondary type="submit" title="Move down" aria-label={"Move " (q.id) " down"} { "↓" }
                                    }))
                                    (post_form(&format!("{base}/questions/{}/delete", q.id), &who.csrf, html! {
                                        button.small.danger type="submit" aria-label={"Delete " (q.id)} { "Delete" }
                                    }))
                                }
                            }
                        }
                        @if editable {
                            details {
                                summary.muted { "Edit" }
                                (question_form(who, &format!("{base}/questions/{}", q.id), Some(q), "Save question"))
                            }
                        }
                    }
                }
            }
            @if editable {
                div.card #add-question {
                    h2 .mt-0 { "Add a question" }
                    (question_form(who, &format!("{base}/questions"), None, "Add question"))
                }
            }
            h2 { "Embedded data" }
            div.card #embedded {
                p.muted { "Embedded data fields take their values from the survey link's query string, e.g. "
                    code { "?contact_id=003…" } ", and are stored with each response." }
                @if survey.definition.embedded.is_empty() { p.muted { "No embedded data fields declared." } }
                ul {
                    @for name in &survey.definition.embedded {
                        li.row data-embedded=(name.as_str()) {
                            code { (name.as_str()) }
                            @if editable {
                                (post_form(&format!("{base}/embedded/{}/delete", name.as_str()), &who.csrf, html! {
                                    button.small.secondary type="submit" aria-label={"Remove " (name.as_str())} { "Remove" }
                                }))
                            }
                        }
                    }
                }
                @if editable {
                    (post_form_with_class("row", &format!("{base}/embedded"), &who.csrf, html! {
                        input type="text" name="name" placeholder="field_name" required .max-w-16 aria-label="Embedded data field name";
                        button.secondary type="submit" { "Add field" }
                    }))
                }
            }
            (signed_links::card(who, project, access, survey, signed))
        },
    )
}

fn kind_details(kind: &QuestionKind) -> Markup {
    html! {
        @match kind {
            QuestionKind::SingleChoice { choices } | QuestionKind::MultipleChoice { choices } => {
                " · " (choices.as_slice().join(" / "))
            }
            QuestionKind::Number { min, max } => {
                @if let Some(lo) = min { " · min " (lo) }
                @if let Some(hi) = max { " · max " (hi) }
            }
            _ => {}
        }
    }
}

fn publish_panel(state: &AppState, who: &CurrentAccount, project: &Project, survey: &Survey, editable: bool) -> Markup {
    let base = format!("/projects/{}/survey", project.id);
    let link = state.survey_url(&survey.slug);
    let example: String = survey
        .definition
        .embedded
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{}{}=…", if i == 0 { "?" } else { "&" }, n.as_str()))
        .collect();
    html! {
        div.card #publish {
            @if survey.status == SurveyStatus::Published {
                p { strong { "Published." } " Anyone with this link can respond, without an account:" }
                p { code.link #survey-link { (link) } " " a href=(link) target="_blank" rel="noopener" { "Open" } }
                @if !example.is_empty() { p.muted { "Add embedded data to the link: " code { (link) (example) } } }
                @if editable {
                    (post_form(&format!("{base}/unpublish"), &who.csrf, html! {
                        button.secondary type="submit" { "Unpublish (stop accepting responses)" }
                    }))
                }
            } @else {
                p { strong { "Draft." } " The survey link accepts responses once the survey is published." }
                @if editable {
                    (post_form(&format!("{base}/publish"), &who.csrf, html! {
                        button type="submit" { "Publish survey" }
                    }))
                }
            }
        }
    }
}

fn question_form(who: &CurrentAccount, action: &str, q: Option<&Question>, submit: &str) -> Markup {
    let kind = q.map(|q| &q.kind);
    let type_value = match kind {
        Some(QuestionKind::Text { multiline: true }) => "essay",
        Some(k) => k.type_name(),
        None => "text",
    };
    let choices = match kind {
        Some(QuestionKind::SingleChoice { choices } | QuestionKind::MultipleChoice { choices }) => choices.as_slice().join("\n"),
        _ => String::new(),
    };
    let (min, max) = match kind {
        Some(QuestionKind::Number { min, max }) => (min.map(|v| v.to_string()), max.map(|v| v.to_string())),
        _ => (None, None),
    };
    let types = [
        ("text", "Text entry"),
        ("essay", "Text entry (multi-line)"),
        ("single_choice", "Single choice"),
        ("multiple_choice", "Multiple choice"),
        ("number", "Number"),
        ("email", "Email"),
        ("nps", "0–10 scale (NPS)"),
    ];
    html! {
        (post_form_with_class("question-form", action, &who.csrf, html! {
            label { "Question type"
                select name="type" {
                    @for (value, label) in types {
                        option value=(value) selected[value == type_value] { (label) }
                    }
                }
            }
            label { "Question"
                input type="text" name="text" value=[q.map(|q| q.text.as_str())] required;
            }
            label { "Choices " span.muted { "(single and multiple choice: one per line)" }
                textarea name="choices" { (choices) }
            }
            div.row {
                label { "Minimum " span.muted { "(number)" } input type="number" name="min" step="any" value=[min] .max-w-10; }
                label { "Maximum " span.muted { "(number)" } input type="number" name="max" step="any" value=[max] .max-w-10; }
            }
            p {
                input type="checkbox" name="required" value="on" checked[q.is_some_and(|q| q.required)] id={"req-" (action)};
                label.inline for={"req-" (action)} { "Required" }
            }
            button type="submit" { (submit) }
        }))
    }
}

/// Applies a change to the latest saved definition (`app` re-applies it to
/// another editor's save rather than overwriting it); a change that does not
/// fit shows the survey again with what to fix.
async fn change(
    state: &AppState,
    who: &CurrentAccount,
    project_id: i64,
    op: impl Fn(&mut SurveyDefinition) -> Result<(), Invalid>,
) -> WebResult<Response> {
    let (project, access) = project_frame::load(state, project_id, who).await?;
    require_edit(&project)?;
    match state.app.change_survey(&project, op).await {
        Ok(()) => Ok(Redirect::to(&format!("/projects/{project_id}/survey")).into_response()),
        Err(e) => refused(state, who, &project, access, e).await,
    }
}

/// The survey again, with why a change was refused; any other error is the
/// error page.
async fn refused(state: &AppState, who: &CurrentAccount, project: &Project, access: Access, e: app::AppError) -> WebResult<Response> {
    match e {
        app::AppError::Invalid(message) => {
            let survey = state.app.survey(project).await?;
            let page = render(state, who, project, access, &survey, Some(&message), &Shown::Nothing);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        e => Err(e.into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionForm {
    #[serde(rename = "type")]
    kind: String,
    text: String,
    #[serde(default)]
    choices: String,
    #[serde(default)]
    min: String,
    #[serde(default)]
    max: String,
    required: Option<String>,
}

impl QuestionForm {
    fn parse(&self) -> Result<(QuestionText, QuestionKind, bool), Invalid> {
        Ok((
            QuestionText::parse(&self.text)?,
            QuestionKind::from_form(&self.kind, &self.choices, &self.min, &self.max)?,
            self.required.as_deref() == Some("on"),
        ))
    }
}

async fn add_question(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<QuestionForm>) -> WebResult<Response> {
    change(&state, &who, id, |def| {
        let (text, kind, required) = form.parse()?;
        def.add_question(text, kind, required).map(|_| ())
    })
    .await
}

async fn update_question(
    State(state): State<AppState>,
    Path((id, qid)): Path<(i64, String)>,
    SignedForm { who, form }: SignedForm<QuestionForm>,
) -> WebResult<Response> {
    let qid = QuestionId::parse(&qid).map_err(|_| WebError::NotFound)?;
    change(&state, &who, id, |def| {
        let (text, kind, required) = form.parse()?;
        def.update_question(&qid, text, kind, required)
    })
    .await
}

async fn delete_question(State(state): State<AppState>, Path((id, qid)): Path<(i64, String)>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let qid = QuestionId::parse(&qid).map_err(|_| WebError::NotFound)?;
    change(&state, &who, id, |def| def.remove_question(&qid)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveForm {
    direction: String,
}

async fn move_question(State(state): State<AppState>, Path((id, qid)): Path<(i64, String)>, SignedForm { who, form }: SignedForm<MoveForm>) -> WebResult<Response> {
    let qid = QuestionId::parse(&qid).map_err(|_| WebError::NotFound)?;
    let up = match form.direction.as_str() {
        "up" => true,
        "down" => false,
        other => return Err(WebError::BadRequest(format!("\"{other}\" is not a direction: use up or down."))),
    };
    change(&state, &who, id, |def| def.move_question(&qid, up)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmbeddedForm {
    name: String,
}

async fn add_embedded(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<EmbeddedForm>) -> WebResult<Response> {
    change(&state, &who, id, |def| def.add_embedded(EmbeddedFieldName::parse(&form.name)?)).await
}

async fn delete_embedded(State(state): State<AppState>, Path((id, name)): Path<(i64, String)>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let name = EmbeddedFieldName::parse(&name).map_err(|_| WebError::NotFound)?;
    change(&state, &who, id, |def| def.remove_embedded(&name)).await
}

async fn publish(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    set_status(&state, &who, id, SurveyStatus::Published).await
}

async fn unpublish(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    set_status(&state, &who, id, SurveyStatus::Draft).await
}

async fn set_status(state: &AppState, who: &CurrentAccount, id: i64, status: SurveyStatus) -> WebResult<Response> {
    let (project, access) = project_frame::load(state, id, who).await?;
    require_edit(&project)?;
    match state.app.set_survey_status(&project, status).await {
        Ok(()) => Ok(Redirect::to(&format!("/projects/{id}/survey")).into_response()),
        Err(e) => refused(state, who, &project, access, e).await,
    }
}
