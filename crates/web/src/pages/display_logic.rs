//! Display logic in the Survey view: each question after the first can be
//! shown only when an earlier answer meets a condition. The rule (which
//! conditions fit, which edits keep them whole) is `domain::display_logic`;
//! this page only offers it and says what it refused, beside the form and
//! with what was typed.

use super::project_frame::{self, require_edit};
use crate::auth::session::{CurrentAccount, SignedForm};
use crate::error::{WebError, WebResult};
use crate::pages::layout::post_form_with_class;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;
use domain::display_logic::OPERATORS;
use domain::{ConditionTest, DisplayCondition, Invalid, Question, QuestionId, SurveyDefinition};
use maud::{html, Markup};
use serde::Deserialize;

/// `?saved=logic` after a saved condition.
pub const SAVED: &str = "logic";

pub fn router() -> Router<AppState> {
    Router::new().route("/projects/{id}/survey/questions/{qid}/logic", post(save))
}

/// What the display-logic form of one question was sent with, and why it
/// was refused: shown again as typed, the message beside it.
pub struct Draft {
    question: QuestionId,
    form: LogicForm,
    message: String,
}

#[derive(Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
struct LogicForm {
    /// The earlier question; empty for "always show".
    #[serde(default)]
    source: String,
    #[serde(default)]
    op: String,
    #[serde(default)]
    value: String,
}

impl LogicForm {
    fn of(q: &Question) -> LogicForm {
        match &q.show_if {
            Some(c) => LogicForm { source: c.question.as_str().to_string(), op: c.test.op().to_string(), value: c.test.value() },
            None => LogicForm::default(),
        }
    }

    /// The condition to save (`None` clears it), read against the survey
    /// as saved: the earlier question decides which tests fit.
    fn parse(&self, def: &SurveyDefinition) -> Result<Option<DisplayCondition>, Invalid> {
        if self.source.trim().is_empty() {
            return Ok(None);
        }
        let source = QuestionId::parse(self.source.trim())
            .ok()
            .and_then(|id| def.question(&id))
            .ok_or_else(|| Invalid::new("Pick one of the questions before this one."))?;
        let test = ConditionTest::parse(&self.op, &self.value, &source.kind).map_err(|e| Invalid::new(format!("{}: {}", upper(&source.id), e.0)))?;
        Ok(Some(DisplayCondition { question: source.id.clone(), test }))
    }
}

fn upper(id: &QuestionId) -> String {
    id.as_str().to_uppercase()
}

/// "Shown only when …" under a question with display logic, for everyone
/// who can see the survey.
pub fn summary(def: &SurveyDefinition, q: &Question) -> Markup {
    html! {
        @if let (Some(c), Some(when)) = (&q.show_if, def.show_if_in_words(q)) {
            div.meta .show-if-summary data-testid="show-if" { "Shown only when " (upper(&c.question)) " " (when) }
        }
    }
}

/// The display-logic form of an asked question (none for the first: there
/// is no earlier answer to read).
pub fn editor(who: &CurrentAccount, project_id: i64, def: &SurveyDefinition, q: &Question, draft: Option<&Draft>) -> Markup {
    let earlier: Vec<&Question> = def.asked().take_while(|s| s.id != q.id).collect();
    let draft = draft.filter(|d| d.question == q.id);
    let values = draft.map(|d| d.form.clone()).unwrap_or_else(|| LogicForm::of(q));
    let action = format!("/projects/{project_id}/survey/questions/{}/logic", q.id);
    html! {
        @if !earlier.is_empty() {
            details.display-logic open[draft.is_some()] {
                summary.muted { "Display logic" @if q.show_if.is_some() { " (on)" } }
                (post_form_with_class("logic-form", &action, &who.csrf, html! {
                    @if let Some(d) = draft { p.field-error role="alert" data-field="logic" { (d.message) } }
                    p.muted .small-text { "Ask " (upper(&q.id)) " only when an earlier answer meets a condition. Respondents never see it otherwise, and it is not required of them." }
                    div.row {
                        label { "Show only when"
                            select name="source" aria-invalid=[draft.map(|_| "true")] autofocus[draft.is_some()] {
                                option value="" selected[values.source.is_empty()] { "(always show)" }
                                @for s in &earlier {
                                    option value=(s.id) selected[values.source == s.id.as_str()] { (upper(&s.id)) ": " (s.text.as_str()) }
                                }
                            }
                        }
                        label { "Condition"
                            select name="op" {
                                @for (op, label) in OPERATORS {
                                    option value=(op) selected[values.op == op] { (label) }
                                }
                            }
                        }
                        label { "Answer " span.muted { "(a choice, a number or a text)" }
                            input type="text" name="value" value=(values.value) .max-w-16;
                        }
                    }
                    button.secondary type="submit" { "Save display logic" }
                }))
            }
        }
    }
}

async fn save(
    State(state): State<AppState>,
    Path((id, qid)): Path<(i64, String)>,
    SignedForm { who, form }: SignedForm<LogicForm>,
) -> WebResult<Response> {
    let qid = QuestionId::parse(&qid).map_err(|_| WebError::NotFound)?;
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    let saved = state
        .app
        .change_survey(&project, |def| {
            let condition = form.parse(def)?;
            def.set_display_logic(&qid, condition)
        })
        .await;
    match saved {
        Ok(()) => Ok(Redirect::to(&format!("/projects/{id}/survey?saved={SAVED}#question-{qid}")).into_response()),
        Err(app::AppError::Invalid(message)) => {
            let survey = state.app.survey(&project).await?;
            let draft = Draft { question: qid, form, message };
            let page = super::survey::render_refused_logic(&state, &who, &project, access, &survey, &draft);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
