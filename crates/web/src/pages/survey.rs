//! The Survey view: build the survey (questions, embedded data), publish it
//! and get its anonymous link. A refused question form comes back as typed,
//! with the error beside its field; an edit that breaks a Salesforce mapping
//! first shows what it breaks and is done only when confirmed.

use super::display_logic;
use super::layout::{confirm_form, post_form, post_form_with_class, flash_error, flash_ok, page};
use super::project_frame::{self, require_edit, Tab};
use super::signed_links::{self, Shown};
use super::survey_texts::{self, Card};
use crate::auth::session::{CurrentAccount, SignedForm, EmptyForm};
use crate::notes;
use crate::error::{WebError, WebResult};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::{Access, EmbeddedFieldName, Invalid, Question, QuestionId, QuestionKind, QuestionText, SurveyDefinition, SurveyStatus};
use maud::{html, Markup};
use serde::Deserialize;
use app::projects::Project;
use app::surveys::{Edited, Survey};
use domain::mapping::BrokenUse;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{id}/survey", get(view))
        .route("/projects/{id}/survey/questions", post(add_question))
        .route("/projects/{id}/survey/questions/{qid}", post(update_question))
        .route("/projects/{id}/survey/questions/{qid}/delete", post(delete_question))
        .route("/projects/{id}/survey/questions/{qid}/move", post(move_question))
        .route("/projects/{id}/survey/questions/{qid}/restore", post(restore_question))
        .route("/projects/{id}/survey/embedded", post(add_embedded))
        .route("/projects/{id}/survey/embedded/{name}/delete", post(delete_embedded))
        .route("/projects/{id}/survey/publish", post(publish))
        .route("/projects/{id}/survey/unpublish", post(unpublish))
}

/// `?saved=…` after a save that redirects back here, so the page says what was saved.
#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

/// What a change of the survey that redirects back here did, as the page says it.
#[derive(Debug, Clone, Copy)]
enum Saved {
    QuestionAdded,
    QuestionSaved,
    QuestionDeleted,
    QuestionRestored,
    QuestionMoved,
    FieldAdded,
    FieldRemoved,
    Published,
    Unpublished,
}

impl Saved {
    const ALL: [Saved; 9] = [
        Saved::QuestionAdded, Saved::QuestionSaved, Saved::QuestionDeleted, Saved::QuestionRestored, Saved::QuestionMoved,
        Saved::FieldAdded, Saved::FieldRemoved, Saved::Published, Saved::Unpublished,
    ];

    fn code(self) -> &'static str {
        match self {
            Saved::QuestionAdded => "question-added",
            Saved::QuestionSaved => "question-saved",
            Saved::QuestionDeleted => "question-deleted",
            Saved::QuestionRestored => "question-restored",
            Saved::QuestionMoved => "question-moved",
            Saved::FieldAdded => "field-added",
            Saved::FieldRemoved => "field-removed",
            Saved::Published => "published",
            Saved::Unpublished => "unpublished",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Saved::QuestionAdded => "Question added.",
            Saved::QuestionSaved => "Question saved.",
            Saved::QuestionDeleted => "Question deleted (one with answers is kept under Removed questions, to restore).",
            Saved::QuestionRestored => "Question restored: respondents are asked it again.",
            Saved::QuestionMoved => "Question moved.",
            Saved::FieldAdded => "Embedded data field added.",
            Saved::FieldRemoved => "Embedded data field removed.",
            Saved::Published => "Published: the survey link takes responses.",
            Saved::Unpublished => "Unpublished: the survey link takes no responses until it is published again.",
        }
    }

    /// The message for a `saved` code (display logic's included), if it is one.
    fn message(code: &str) -> Option<&'static str> {
        if code == display_logic::SAVED {
            return Some("Display logic saved.");
        }
        Saved::ALL.into_iter().find(|s| s.code() == code).map(Saved::text)
    }

    /// Back to the Survey view, saying what was saved.
    fn back(self, project_id: i64) -> Response {
        Redirect::to(&format!("/projects/{project_id}/survey?saved={}", self.code())).into_response()
    }
}

async fn view(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>, Query(q): Query<SavedQuery>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    let survey = state.app.survey(&project).await?;
    let texts = if q.saved.as_deref() == Some(survey_texts::SAVED) { Card::Saved } else { Card::Plain };
    let saved = q.saved.as_deref().and_then(Saved::message);
    // A signed link or a new signing key, made by the POST that redirected here.
    let note = notes::take(&state, &who, &format!("/projects/{id}/survey")).await?;
    let no_store = note.as_ref().is_some_and(notes::Note::holds_secret);
    let shown = note.map(Shown::from).unwrap_or(Shown::Nothing);
    let page = render_with(&state, &who, &project, access, &survey, Drafts { saved, ..Drafts::default() }, &shown, &texts);
    if no_store {
        // Shown this once: no cache may keep it.
        return Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], page).into_response());
    }
    Ok(page.into_response())
}

pub(super) fn render(state: &AppState, who: &CurrentAccount, project: &Project, access: Access, survey: &Survey, error: Option<&str>, signed: &Shown) -> Markup {
    render_with(state, who, project, access, survey, Drafts { error, ..Drafts::default() }, signed, &Card::Plain)
}

/// The Survey view with the introduction and thank-you card as `texts` says.
pub(super) fn render_with_texts(state: &AppState, who: &CurrentAccount, project: &Project, access: Access, survey: &Survey, texts: &Card) -> Markup {
    render_with(state, who, project, access, survey, Drafts::default(), &Shown::Nothing, texts)
}

/// The Survey view with a refused display-logic form shown as it was typed.
pub(super) fn render_refused_logic(state: &AppState, who: &CurrentAccount, project: &Project, access: Access, survey: &Survey, logic: &display_logic::Draft) -> Markup {
    render_with(state, who, project, access, survey, Drafts { logic: Some(logic), ..Drafts::default() }, &Shown::Nothing, &Card::Plain)
}

/// What the Survey view shows besides the survey: a refusal or a saved
/// change at the top, or a refused form as it was typed.
#[derive(Default)]
struct Drafts<'a> {
    error: Option<&'a str>,
    saved: Option<&'a str>,
    question: Option<&'a Draft>,
    logic: Option<&'a display_logic::Draft>,
}

/// The Survey view, with what `drafts` says beside the survey.
fn render_with(state: &AppState, who: &CurrentAccount, project: &Project, access: Access, survey: &Survey, drafts: Drafts, signed: &Shown, texts: &Card) -> Markup {
    let draft = drafts.question;
    let form_for = |action: &str, q: Option<&Question>, submit: &str| match draft.filter(|d| d.action == action) {
        Some(d) => question_form(who, action, &d.values, submit, Some(d)),
        None => question_form(who, action, &FormValues::of(q), submit, None),
    };
    let base = format!("/projects/{}/survey", project.id);
    let editable = access.can_edit();
    page(
        &project.name,
        Some(who),
        html! {
            (project_frame::header(project, access, Tab::Survey))
            (flash_error(drafts.error))
            (flash_ok(drafts.saved))
            (publish_panel(state, who, project, survey, editable))
            h2 { "Questions" }
            @if survey.definition.asked().next().is_none() {
                p.muted #no-questions { "This survey has no questions yet." }
            }
            ol #questions .indent {
                @for q in survey.definition.asked() {
                    li.question data-question-id=(q.id) id={"question-" (q.id)} {
                        div.row .spread {
                            div {
                                strong.qtext { (q.text.as_str()) }
                                @if q.required { span.badge .ml-small { "Required" } }
                                div.meta { (q.kind.label()) " · " (q.id) (kind_details(&q.kind)) }
                                (display_logic::summary(&survey.definition, q))
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
                                    (confirm_form(&format!("{base}/questions/{}/delete", q.id), &who.csrf, &format!("Delete {}, “{}”? A question with answers is only hidden (Restore brings it back); one without answers is gone for good.", q.id.as_str().to_uppercase(), q.text.as_str()), html! {
                                        button.small.danger type="submit" aria-label={"Delete " (q.id)} { "Delete" }
                                    }))
                                }
                            }
                        }
                        @if editable {
                            @let action = format!("{base}/questions/{}", q.id);
                            details open[draft.is_some_and(|d| d.action == action)] {
                                summary.muted { "Edit" }
                                (form_for(&action, Some(q), "Save question"))
                            }
                            (display_logic::editor(who, project.id, &survey.definition, q, drafts.logic))
                        }
                    }
                }
            }
            @if survey.definition.removed().next().is_some() {
                // Kept for the answers they were given; respondents never see them.
                details #removed-questions {
                    summary.muted { "Removed questions (" (survey.definition.removed().count()) ")" }
                    ul {
                        @for q in survey.definition.removed() {
                            li.row .spread data-question-id=(q.id) {
                                div {
                                    span.qtext { (q.text.as_str()) }
                                    div.meta { (q.kind.label()) " · " (q.id) " · its answers stay in the responses and the export" }
                                }
                                @if editable {
                                    (post_form(&format!("{base}/questions/{}/restore", q.id), &who.csrf, html! {
                                        button.small.secondary type="submit" aria-label={"Restore " (q.id)} { "Restore" }
                                    }))
                                }
                            }
                        }
                    }
                }
            }
            @if editable {
                div.card #add-question {
                    h2 .mt-0 { "Add a question" }
                    (form_for(&format!("{base}/questions"), None, "Add question"))
                }
            }
            (survey_texts::card(who, project.id, survey, editable, texts))
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
                                (confirm_form(&format!("{base}/embedded/{}/delete", name.as_str()), &who.csrf, &format!("Remove the embedded data field “{}”? Responses from now on do not keep its value; those stored keep theirs.", name.as_str()), html! {
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
                p.row {
                    code.link #survey-link { (link) }
                    // Shown by the script, which copies the link; without it the link is plain text to select.
                    button.small.secondary type="button" data-copy="survey-link" hidden { "Copy link" }
                    span.muted data-copied-for="survey-link" role="status" {}
                    a href=(link) target="_blank" rel="noopener" { "Open" }
                }
                div.row .mb-small {
                    img.qr src={"/projects/" (project.id) "/qr.svg"} alt="QR code of the survey link" width="120" height="120";
                    a href={"/projects/" (project.id) "/qr.svg"} download={"survey-" (project.id) "-qr.svg"} { "Download QR code (SVG)" }
                }
                @if !example.is_empty() { p.muted { "Add embedded data to the link: " code { (link) (example) } } }
                @if editable {
                    (post_form(&format!("{base}/unpublish"), &who.csrf, html! {
                        button.secondary type="submit" { "Unpublish (stop accepting responses)" }
                    }))
                }
            } @else {
                p { strong { "Draft." } " The survey link accepts responses once the survey is published." }
                p.muted { "A QR code of the link appears here once the survey is published." }
                @if editable {
                    (post_form(&format!("{base}/publish"), &who.csrf, html! {
                        button type="submit" { "Publish survey" }
                    }))
                }
            }
            p.row .mt-1 {
                a.button.secondary #preview-link href={"/projects/" (project.id) "/preview"} { "Preview" }
                span.muted { "The survey as respondents see it; answers you give there are not stored." }
            }
        }
    }
}

/// What a question form shows: a saved question, a blank form, or what was
/// typed into a refused one.
struct FormValues {
    type_value: String,
    text: String,
    choices: String,
    min: String,
    max: String,
    required: bool,
}

impl FormValues {
    fn of(q: Option<&Question>) -> FormValues {
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
        FormValues {
            type_value: type_value.to_string(),
            text: q.map(|q| q.text.as_str().to_string()).unwrap_or_default(),
            choices,
            min: min.unwrap_or_default(),
            max: max.unwrap_or_default(),
            required: q.is_some_and(|q| q.required),
        }
    }

    fn typed(form: &QuestionForm) -> FormValues {
        FormValues {
            type_value: form.kind.clone(),
            text: form.text.clone(),
            choices: form.choices.clone(),
            min: form.min.clone(),
            max: form.max.clone(),
            required: form.required.as_deref() == Some("on"),
        }
    }
}

/// A refused question form: where it was posted, what was typed, and which
/// field the error belongs beside.
struct Draft {
    action: String,
    values: FormValues,
    field: Field,
    message: String,
}

/// The field of the question form an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Type,
    Text,
    Choices,
    Bounds,
    /// The question as a whole (e.g. a survey that has all the questions it may).
    Form,
}

fn question_form(who: &CurrentAccount, action: &str, v: &FormValues, submit: &str, draft: Option<&Draft>) -> Markup {
    let error_at = |field: Field| -> Markup {
        html! {
            @if let Some(d) = draft.filter(|d| d.field == field) {
                p.field-error role="alert" data-field=(format!("{field:?}").to_lowercase()) { (d.message) }
            }
        }
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
    // The refused field is marked and takes the focus, so the person starts
    // where the problem is (without a script too).
    let refused = |field: Field| draft.is_some_and(|d| d.field == field);
    let invalid = |field: Field| refused(field).then_some("true");
    html! {
        (post_form_with_class("question-form", action, &who.csrf, html! {
            (error_at(Field::Form))
            label { "Question type"
                select name="type" aria-invalid=[invalid(Field::Type)] autofocus[refused(Field::Type) || refused(Field::Form)] {
                    @for (value, label) in types {
                        option value=(value) selected[value == v.type_value] { (label) }
                    }
                }
            }
            (error_at(Field::Type))
            label { "Question"
                input type="text" name="text" value=(v.text) required aria-invalid=[invalid(Field::Text)] autofocus[refused(Field::Text)];
            }
            (error_at(Field::Text))
            label { "Choices " span.muted { "(single and multiple choice: one per line)" }
                textarea name="choices" aria-invalid=[invalid(Field::Choices)] autofocus[refused(Field::Choices)] { (v.choices) }
            }
            (error_at(Field::Choices))
            div.row {
                label { "Minimum " span.muted { "(number)" } input type="number" name="min" step="any" value=(v.min) .max-w-10 aria-invalid=[invalid(Field::Bounds)] autofocus[refused(Field::Bounds)]; }
                label { "Maximum " span.muted { "(number)" } input type="number" name="max" step="any" value=(v.max) .max-w-10 aria-invalid=[invalid(Field::Bounds)]; }
            }
            (error_at(Field::Bounds))
            p {
                input type="checkbox" name="required" value="on" checked[v.required] id={"req-" (action)};
                label.inline for={"req-" (action)} { "Required" }
            }
            button type="submit" { (submit) }
        }))
    }
}

/// The page that names what an edit breaks before it is done: confirming
/// posts the same form again with `confirm=yes`.
fn confirmation(who: &CurrentAccount, project: &Project, access: Access, what: &str, action: &str, fields: &[(&str, String)], broken: &[BrokenUse]) -> Markup {
    page(
        &project.name,
        Some(who),
        html! {
            (project_frame::header(project, access, Tab::Survey))
            div.card #confirm-edit {
                h2 .mt-0 { (what) " breaks a Salesforce mapping" }
                ul #broken-mappings {
                    @for b in broken {
                        li data-object=(b.object.as_str()) data-field=[b.field.as_deref()] { (b.message) }
                    }
                }
                p { "After this, those mappings no longer fit the survey: its responses are still stored, and their deliveries to Salesforce are held (none is lost) until the mappings are fixed on the Salesforce page." }
                div.row {
                    (post_form(action, &who.csrf, html! {
                        @for (name, value) in fields { input type="hidden" name=(name) value=(value); }
                        input type="hidden" name="confirm" value="yes";
                        button.danger type="submit" { "Yes, " (what.to_lowercase()) }
                    }))
                    a.button.secondary href={"/projects/" (project.id) "/survey"} { "Cancel" }
                }
            }
        },
    )
}

/// Applies a change to the latest saved definition (`app` re-applies it to
/// another editor's save rather than overwriting it); a change that does not
/// fit shows the survey again with what to fix.
async fn change(
    state: &AppState,
    who: &CurrentAccount,
    project_id: i64,
    saved: Saved,
    op: impl Fn(&mut SurveyDefinition) -> Result<(), Invalid>,
) -> WebResult<Response> {
    let (project, access) = project_frame::load(state, project_id, who).await?;
    require_edit(&project)?;
    match state.app.change_survey(&project, op).await {
        Ok(()) => Ok(saved.back(project_id)),
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
    /// `yes` once the person saw what the edit breaks and went on.
    confirm: Option<String>,
}

type ParsedQuestion = (QuestionText, QuestionKind, bool);

impl QuestionForm {
    /// The question, or the error and the field it belongs beside.
    fn parse(&self) -> Result<ParsedQuestion, (Field, Invalid)> {
        let text = QuestionText::parse(&self.text).map_err(|e| (Field::Text, e))?;
        let kind = QuestionKind::from_form(&self.kind, &self.choices, &self.min, &self.max).map_err(|e| {
            let field = match self.kind.as_str() {
                "single_choice" | "multiple_choice" => Field::Choices,
                "number" => Field::Bounds,
                _ => Field::Type,
            };
            (field, e)
        })?;
        Ok((text, kind, self.required.as_deref() == Some("on")))
    }

    /// The fields a confirmation posts again.
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![("type", self.kind.clone()), ("text", self.text.clone()), ("choices", self.choices.clone()), ("min", self.min.clone()), ("max", self.max.clone())];
        if let Some(r) = &self.required {
            fields.push(("required", r.clone()));
        }
        fields
    }
}

/// A delete or remove that may ask for confirmation first.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmForm {
    confirm: Option<String>,
}

fn confirmed(confirm: &Option<String>) -> bool {
    confirm.as_deref() == Some("yes")
}

/// The survey again with the question form as it was typed and the error
/// beside `field`, answered 422.
async fn refused_form(state: &AppState, who: &CurrentAccount, project: &Project, access: Access, action: String, form: &QuestionForm, field: Field, message: String) -> WebResult<Response> {
    let survey = state.app.survey(project).await?;
    let draft = Draft { action, values: FormValues::typed(form), field, message };
    let page = render_with(state, who, project, access, &survey, Drafts { question: Some(&draft), ..Drafts::default() }, &Shown::Nothing, &Card::Plain);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn add_question(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<QuestionForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    let action = format!("/projects/{id}/survey/questions");
    let (text, kind, required) = match form.parse() {
        Ok(parsed) => parsed,
        Err((field, e)) => return refused_form(&state, &who, &project, access, action, &form, field, e.0).await,
    };
    match state.app.change_survey(&project, |def| def.add_question(text.clone(), kind.clone(), required).map(|_| ())).await {
        Ok(()) => Ok(Saved::QuestionAdded.back(id)),
        Err(app::AppError::Invalid(message)) => refused_form(&state, &who, &project, access, action, &form, Field::Form, message).await,
        Err(e) => Err(e.into()),
    }
}

async fn update_question(
    State(state): State<AppState>,
    Path((id, qid)): Path<(i64, String)>,
    SignedForm { who, form }: SignedForm<QuestionForm>,
) -> WebResult<Response> {
    let qid = QuestionId::parse(&qid).map_err(|_| WebError::NotFound)?;
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    let action = format!("/projects/{id}/survey/questions/{qid}");
    let parsed = match form.parse() {
        Ok(parsed) => parsed,
        Err((field, e)) => return refused_form(&state, &who, &project, access, action, &form, field, e.0).await,
    };
    match state.app.update_question(&project, &who.account, &qid, parsed, confirmed(&form.confirm)).await {
        Ok(Edited::Done) => Ok(Saved::QuestionSaved.back(id)),
        Ok(Edited::NeedsConfirmation(broken)) => {
            let what = format!("Changing the type of {qid}");
            Ok(confirmation(&who, &project, access, &what, &action, &form.fields(), &broken).into_response())
        }
        // The one refusal left is the type of an answered question.
        Err(app::AppError::Invalid(message)) => refused_form(&state, &who, &project, access, action, &form, Field::Type, message).await,
        Err(e) => Err(e.into()),
    }
}

async fn delete_question(State(state): State<AppState>, Path((id, qid)): Path<(i64, String)>, SignedForm { who, form }: SignedForm<ConfirmForm>) -> WebResult<Response> {
    let qid = QuestionId::parse(&qid).map_err(|_| WebError::NotFound)?;
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    let result = state.app.remove_question(&project, &who.account, &qid, confirmed(&form.confirm)).await;
    edited(&state, &who, &project, access, result, Saved::QuestionDeleted, &format!("Deleting {qid}"), &format!("/projects/{id}/survey/questions/{qid}/delete")).await
}

async fn restore_question(State(state): State<AppState>, Path((id, qid)): Path<(i64, String)>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let qid = QuestionId::parse(&qid).map_err(|_| WebError::NotFound)?;
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    let result = state.app.restore_question(&project, &who.account, &qid).await;
    edited(&state, &who, &project, access, result, Saved::QuestionRestored, "", "").await
}

/// The survey after an edit, the page that asks to confirm it, or the survey
/// with why it was refused.
#[allow(clippy::too_many_arguments)]
async fn edited(state: &AppState, who: &CurrentAccount, project: &Project, access: Access, result: Result<Edited, app::AppError>, saved: Saved, what: &str, action: &str) -> WebResult<Response> {
    match result {
        Ok(Edited::Done) => Ok(saved.back(project.id)),
        Ok(Edited::NeedsConfirmation(broken)) => Ok(confirmation(who, project, access, what, action, &[], &broken).into_response()),
        Err(e) => refused(state, who, project, access, e).await,
    }
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
    change(&state, &who, id, Saved::QuestionMoved, |def| def.move_question(&qid, up)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmbeddedForm {
    name: String,
}

async fn add_embedded(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<EmbeddedForm>) -> WebResult<Response> {
    change(&state, &who, id, Saved::FieldAdded, |def| def.add_embedded(EmbeddedFieldName::parse(&form.name)?)).await
}

async fn delete_embedded(State(state): State<AppState>, Path((id, name)): Path<(i64, String)>, SignedForm { who, form }: SignedForm<ConfirmForm>) -> WebResult<Response> {
    let name = EmbeddedFieldName::parse(&name).map_err(|_| WebError::NotFound)?;
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    let result = state.app.remove_embedded(&project, &who.account, &name, confirmed(&form.confirm)).await;
    let what = format!("Removing the embedded data field {}", name.as_str());
    edited(&state, &who, &project, access, result, Saved::FieldRemoved, &what, &format!("/projects/{id}/survey/embedded/{}/delete", name.as_str())).await
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
        Ok(()) => Ok(if status == SurveyStatus::Published { Saved::Published } else { Saved::Unpublished }.back(id)),
        Err(e) => refused(state, who, &project, access, e).await,
    }
}
