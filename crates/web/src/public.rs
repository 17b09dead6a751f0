//! The respondent's pages: the survey behind its anonymous link, and the
//! submission, which is acknowledged only once it is on disk. The same form
//! is what a project member previews (`pages::preview`), with a banner and
//! nothing stored.

use crate::auth::session::{parse_form, CSRF_FIELD};
use crate::error::{WebError, WebResult};
use crate::pages::layout::{csrf_field, public_page};
use crate::rate_limit::{retry_after_secs, wait_in_words, ClientAddress};
use crate::secrets;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use domain::signed_link::{EXPIRES_PARAM, SIGNATURE_PARAM};
use domain::{AnswerError, QuestionKind, ResponseId, SurveyDefinition};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::BTreeMap;
use app::now_ms;
use app::responses::Submission as Kept;
use app::surveys::Survey;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/s/{slug}", get(show).post(submit))
        .route("/s/{slug}/thanks", get(thanks))
        .route("/i/{token}", get(show_invitation).post(submit_invitation))
        .route("/i/{token}/unsubscribe", get(unsubscribe_page).post(unsubscribe))
}

const RESPONSE_ID_FIELD: &str = "_rid";
const STARTED_FIELD: &str = "_started";
const EMBEDDED_PREFIX: &str = "e.";

/// A start time is the respondent's browser's word; keep it plausible.
const MAX_PLAUSIBLE_DURATION_MS: i64 = 30 * 24 * 3600 * 1000;

/// The survey behind a link, if it takes responses; otherwise the error that
/// tells the respondent why not.
async fn open_survey(state: &AppState, slug: &str) -> WebResult<Survey> {
    Ok(state.app.open_survey(slug).await?)
}

async fn show(State(state): State<AppState>, Path(slug): Path<String>, RawQuery(query): RawQuery) -> WebResult<Markup> {
    let survey = open_survey(&state, &slug).await?;
    let form = fresh_form(&survey, query)?;
    Ok(render(&survey, &format!("/s/{slug}"), &form, Audience::Respondent))
}

/// Who the survey form is shown to: a respondent, or a member of the
/// project trying it out, whose form carries their session's CSRF token
/// and whose page says that nothing is stored.
#[derive(Clone, Copy)]
pub(crate) enum Audience<'a> {
    Respondent,
    Preview { project_id: i64, csrf: &'a str },
}

/// The survey as a project member previews it: the respondent's form, its
/// embedded data taken from the preview's query string as a link's would be.
pub(crate) fn preview_form(survey: &Survey, project_id: i64, csrf: &str, query: Option<String>) -> WebResult<Markup> {
    let form = fresh_form(survey, query)?;
    Ok(render(survey, &format!("/projects/{project_id}/preview"), &form, Audience::Preview { project_id, csrf }))
}

/// A previewed form, checked exactly as a response would be and then
/// forgotten: `Ok` when it would have been accepted, or the page that sends
/// the member back (422 with the answers as typed and the problems beside them).
pub(crate) fn check_preview(survey: &Survey, project_id: i64, csrf: &str, headers: &HeaderMap, body: &[u8]) -> WebResult<Result<(), Response>> {
    let action = format!("/projects/{project_id}/preview");
    Ok(checked(survey, &action, headers, body, Embedded::FromLink, Audience::Preview { project_id, csrf })?.map(|_| ()))
}

/// The thank-you page a previewing member reaches, as respondents would see it.
pub(crate) fn preview_thanks(survey: &Survey, project_id: i64) -> Markup {
    public_page(
        &survey.project_name,
        html! {
            (preview_banner(project_id))
            (thank_you_card(survey, None))
            p { a href={"/projects/" (project_id) "/preview"} { "Preview the survey again" } }
        },
    )
}

fn preview_banner(project_id: i64) -> Markup {
    html! {
        div.flash.preview #preview-banner role="note" {
            strong { "Preview" } " — this is the survey as respondents see it. Answers are checked but not stored, and nothing is sent anywhere. "
            a href={"/projects/" (project_id) "/survey"} { "Back to the survey" }
        }
    }
}

/// A fresh form for the survey, with the embedded data and link signature
/// of the query string it was opened with.
fn fresh_form(survey: &Survey, query: Option<String>) -> WebResult<FormState> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let embedded = survey
        .definition
        .embedded_from_link(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| WebError::BadRequest(format!("{} Ask whoever sent you the link for a corrected one.", e.0)))?;
    let param = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let form = FormState {
        response_id: secrets::response_id().to_string(),
        started_at: now_ms(),
        embedded,
        link: LinkSignature { signature: param(SIGNATURE_PARAM), expires: param(EXPIRES_PARAM) },
        values: BTreeMap::new(),
        errors: BTreeMap::new(),
    };
    Ok(form)
}

/// What the form shows: fresh, or as sent with the problems to fix.
struct FormState {
    response_id: String,
    started_at: i64,
    embedded: BTreeMap<String, String>,
    link: LinkSignature,
    values: BTreeMap<String, Vec<String>>,
    errors: BTreeMap<String, String>,
}

/// A signed link's signature and expiry, carried through the form as they
/// came and checked only at submission, over the data then submitted.
#[derive(Default)]
struct LinkSignature {
    signature: Option<String>,
    expires: Option<String>,
}

fn render(survey: &Survey, action: &str, form: &FormState, audience: Audience) -> Markup {
    let def = &survey.definition;
    let first_refused = def.asked().map(|q| q.id.as_str()).find(|id| form.errors.contains_key(*id));
    public_page(
        &survey.project_name,
        html! {
            @if let Audience::Preview { project_id, .. } = audience { (preview_banner(project_id)) }
            h1 { (survey.project_name) }
            @if !survey.introduction.is_empty() {
                div.survey-intro #survey-intro { (survey.introduction.as_str()) }
            }
            @if !form.errors.is_empty() {
                div.flash.error role="alert" { "Some answers need your attention: see the messages below." }
            }
            form.survey-form method="post" action=(action) novalidate {
                @if let Audience::Preview { csrf, .. } = audience { (csrf_field(csrf)) }
                (progress(def, &form.values))
                input type="hidden" name=(RESPONSE_ID_FIELD) value=(form.response_id);
                input type="hidden" name=(STARTED_FIELD) value=(form.started_at);
                @for (name, value) in &form.embedded {
                    input type="hidden" name={(EMBEDDED_PREFIX) (name)} value=(value);
                }
                @if let Some(sig) = &form.link.signature { input type="hidden" name=(SIGNATURE_PARAM) value=(sig); }
                @if let Some(at) = &form.link.expires { input type="hidden" name=(EXPIRES_PARAM) value=(at); }
                @for (i, q) in def.asked().enumerate() {
                    @let id = q.id.as_str();
                    // A question refused is marked; the first takes the focus.
                    @let bad = form.errors.contains_key(id).then_some("true");
                    @let focus = first_refused == Some(id);
                    @let values = form.values.get(id).cloned().unwrap_or_default();
                    @let first = values.first().cloned().unwrap_or_default();
                    // The script shows a question with display logic only while its
                    // condition holds; without it every question shows, with the
                    // condition in words, and the server ignores answers to the hidden.
                    fieldset.question data-question-id=(id) data-kind=(q.kind.type_name()) data-show-if=[show_if_json(q)] .bordered {
                        legend .strong {
                            span.qnum { (i + 1) ". " } (q.text.as_str())
                            @if q.required { span.muted title="required" { " *" } }
                        }
                        @if let Some(when) = def.show_if_in_words(q) {
                            p.muted .show-if-note { "Answer this only if " (when) "." }
                        }
                        @if let Some(err) = form.errors.get(id) { p.field-error role="alert" { (err) } }
                        @match &q.kind {
                            QuestionKind::Text { multiline: true } => {
                                textarea name=(id) aria-label=(q.text.as_str()) aria-invalid=[bad] autofocus[focus] { (first) }
                            }
                            QuestionKind::Text { multiline: false } => {
                                input type="text" name=(id) value=(first) aria-label=(q.text.as_str()) aria-invalid=[bad] autofocus[focus];
                            }
                            QuestionKind::Email => {
                                input type="email" name=(id) value=(first) aria-label=(q.text.as_str()) autocomplete="email" aria-invalid=[bad] autofocus[focus];
                            }
                            QuestionKind::Number { min, max } => {
                                input type="number" step="any" name=(id) value=(first) min=[min] max=[max] aria-label=(q.text.as_str()) .max-w-12 aria-invalid=[bad] autofocus[focus];
                            }
                            QuestionKind::SingleChoice { choices } => {
                                @for (k, c) in choices.as_slice().iter().enumerate() {
                                    div { label.inline { input type="radio" name=(id) value=(c) checked[values.contains(c)] aria-invalid=[bad] autofocus[focus && k == 0]; " " (c) } }
                                }
                            }
                            QuestionKind::MultipleChoice { choices } => {
                                @for (k, c) in choices.as_slice().iter().enumerate() {
                                    div { label.inline { input type="checkbox" name=(id) value=(c) checked[values.contains(c)] aria-invalid=[bad] autofocus[focus && k == 0]; " " (c) } }
                                }
                            }
                            QuestionKind::Nps => {
                                div.nps {
                                    @for n in 0..=10u8 {
                                        @let v = n.to_string();
                                        label { input type="radio" name=(id) value=(v) checked[first == v] aria-invalid=[bad] autofocus[focus && n == 0]; (n) }
                                    }
                                }
                                div.row.muted .spread .max-w-32 .small-text { span { "Not at all likely" } span { "Extremely likely" } }
                            }
                        }
                    }
                }
                p { button type="submit" { "Submit" } }
            }
        },
    )
}

/// "k of n questions answered" above a survey of two questions or more: a
/// `<progress>` counted on the server (so it is right without the script,
/// e.g. when the form comes back with problems), which the script keeps
/// up to date while the respondent answers.
fn progress(def: &SurveyDefinition, values: &BTreeMap<String, Vec<String>>) -> Markup {
    // Only the questions the respondent is shown count.
    let shown = def.shown(values);
    let asked = shown.len();
    let answered = shown.iter().filter(|q| values.get(q.id.as_str()).is_some_and(|v| v.iter().any(|a| !a.trim().is_empty()))).count();
    html! {
        @if def.asked().count() >= 2 {
            div.survey-progress #survey-progress {
                progress max=(asked) value=(answered) aria-label="Questions answered" { (answered) " of " (asked) }
                span.progress-text aria-live="polite" { (answered) " of " (asked) " questions answered" }
            }
        }
    }
}

/// A question's display logic as the script reads it.
fn show_if_json(q: &domain::Question) -> Option<String> {
    q.show_if.as_ref().and_then(|c| serde_json::to_string(c).ok())
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}

async fn submit(State(state): State<AppState>, client: ClientAddress, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> WebResult<Response> {
    let survey = open_survey(&state, &slug).await?;
    if let Err(wait) = state.submission_limit.check(&client) {
        tracing::warn!(client = %client, survey = survey.project_id, "survey response refused: too many from this address");
        return Ok(too_many_responses(&survey, wait));
    }
    let (submission, answers, now) = match checked(&survey, &format!("/s/{slug}"), &headers, &body, Embedded::FromLink, Audience::Respondent)? {
        Ok(checked) => checked,
        Err(send_back) => return Ok(send_back),
    };
    // An unsigned, edited or expired link is still stored (the respondent is
    // not punished); its provenance keeps it from picking a record.
    let response = Kept {
        response_id: submission.response_id.clone(),
        answers,
        embedded: submission.embedded,
        started_at: submission.started_at.filter(|s| plausible_start(*s, now)),
        finished_at: now,
        signature: submission.link.signature,
        expires: submission.link.expires,
    };
    state.app.submit_response(&survey, response).await?;
    Ok(Redirect::to(&format!("/s/{slug}/thanks?r={}", submission.response_id)).into_response())
}

/// What a posted form's embedded data is: the survey link's (carried back
/// when the form is sent back), or ignored (a personal link's is Insight's).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Embedded {
    FromLink,
    Ignored,
}

/// A posted survey form, checked: the submission, its validated answers and
/// when it came; or the page that sends the respondent back (415 for a body
/// that is not a form, 422 with the answers as typed and each problem beside
/// its question, the form posting to `action`). A preview's form must carry
/// the member's CSRF token.
fn checked(
    survey: &Survey,
    action: &str,
    headers: &HeaderMap,
    body: &[u8],
    embedded: Embedded,
    audience: Audience,
) -> WebResult<Result<(Submission, domain::Answers, i64), Response>> {
    if !is_form(headers) {
        return Ok(Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            crate::pages::layout::error_page(415, "Unsupported form", "Send the survey as a form (application/x-www-form-urlencoded)."),
        )
            .into_response()));
    }
    let mut fields = parse_form(body)?;
    if let Audience::Preview { csrf, .. } = audience {
        let sent = fields.iter().position(|(k, _)| k == CSRF_FIELD).map(|i| fields.remove(i).1);
        if !sent.is_some_and(|token| secrets::equal(&token, csrf)) {
            return Err(WebError::CsrfMismatch);
        }
    }
    let mut submission = Submission::parse(&survey.definition, fields)?;
    if embedded == Embedded::Ignored {
        submission.embedded.clear();
        submission.link = LinkSignature::default();
    }
    let now = now_ms();
    match survey.definition.validate(&submission.answers) {
        Ok(answers) => Ok(Ok((submission, answers, now))),
        Err(errors) => {
            let form = FormState {
                response_id: submission.response_id.to_string(),
                started_at: submission.started_at.filter(|s| plausible_start(*s, now)).unwrap_or(now),
                embedded: submission.embedded,
                link: submission.link,
                values: submission.answers,
                errors: errors.into_iter().map(|AnswerError { question, message }| (question.to_string(), message)).collect(),
            };
            Ok(Err((StatusCode::UNPROCESSABLE_ENTITY, render(survey, action, &form, audience)).into_response()))
        }
    }
}

/// Whether a start time sent by the browser fits before `now`: not in the
/// future, at most `MAX_PLAUSIBLE_DURATION_MS` earlier. Anything else (a
/// crafted `i64::MIN`, say) is stored as "start unknown"; the subtraction is
/// checked so no value can overflow it.
fn plausible_start(started_at: i64, now: i64) -> bool {
    now.checked_sub(started_at).is_some_and(|took| (0..=MAX_PLAUSIBLE_DURATION_MS).contains(&took))
}

/// The respondent's answers were not recorded; they can go back (the
/// browser keeps the form filled in) and send them again later.
fn too_many_responses(survey: &Survey, wait: std::time::Duration) -> Response {
    let page = public_page(
        &survey.project_name,
        html! {
            div.card #too-many {
                h1 { "Please wait a moment" }
                p { "So many responses were sent from your network in a short time that yours could not be accepted just now. " strong { "Your answers were not recorded yet." } }
                p { "Wait " (wait_in_words(wait)) ", then go back to the survey and press Submit again. Your answers are still in the form." }
            }
        },
    );
    (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, retry_after_secs(wait).to_string())], page).into_response()
}

/// A submitted form, split into its parts.
struct Submission {
    response_id: ResponseId,
    started_at: Option<i64>,
    embedded: BTreeMap<String, String>,
    link: LinkSignature,
    answers: BTreeMap<String, Vec<String>>,
}

impl Submission {
    fn parse(def: &SurveyDefinition, fields: Vec<(String, String)>) -> WebResult<Submission> {
        let mut response_id = None;
        let mut started_at = None;
        let mut embedded_pairs = Vec::new();
        let mut link = LinkSignature::default();
        let mut answers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in fields {
            if key == RESPONSE_ID_FIELD {
                response_id = Some(ResponseId::parse(&value).map_err(|e| WebError::BadRequest(e.0))?);
            } else if key == STARTED_FIELD {
                let not_a_time = || WebError::BadRequest(format!("The form's start time ({STARTED_FIELD}) must be a whole number of milliseconds; reload the survey and submit again."));
                started_at = Some(value.trim().parse::<i64>().map_err(|_| not_a_time())?);
            } else if key == SIGNATURE_PARAM {
                link.signature = Some(value);
            } else if key == EXPIRES_PARAM {
                link.expires = Some(value);
            } else if let Some(name) = key.strip_prefix(EMBEDDED_PREFIX) {
                embedded_pairs.push((name.to_string(), value));
            } else if def.questions.iter().any(|q| q.id.as_str() == key) {
                answers.entry(key).or_default().push(value);
            } else {
                return Err(WebError::BadRequest(format!("The form sent a field this survey does not have: \"{key}\".")));
            }
        }
        let embedded = def
            .embedded_from_link(embedded_pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|e| WebError::BadRequest(e.0))?;
        // A client that does not mint an id (a script, say) gets a fresh one;
        // browsers always send the id the page minted, which makes retries safe.
        let response_id = response_id.unwrap_or_else(secrets::response_id);
        Ok(Submission { response_id, started_at, embedded, link, answers })
    }
}

/// A personal invitation's page: what the respondent sees in every case.
fn invitation_notice(title: &str, id: &str, heading: &str, message: Markup) -> Markup {
    public_page(title, html! { div.card id=(id) { h1 { (heading) } (message) } })
}

fn answered_before(survey_name: &str) -> (StatusCode, Markup) {
    (
        StatusCode::OK,
        invitation_notice(survey_name, "answered-before", "You have answered already", html! { p { "Thank you: your answers to " strong { (survey_name) } " were recorded. This personal link can be answered once." } }),
    )
}

fn expired(survey_name: &str) -> (StatusCode, Markup) {
    (
        StatusCode::GONE,
        invitation_notice(survey_name, "invitation-expired", "This invitation has expired", html! { p { "The personal link to " strong { (survey_name) } " is no longer valid. If you still want to answer, reply to the email that brought you here." } }),
    )
}

fn invitation_state(opened: &app::triggers::OpenedInvitation) -> Option<(StatusCode, Markup)> {
    use app::triggers::OpenedInvitation::*;
    Some(match opened {
        Open { .. } => return None,
        AnsweredBefore { survey_name } => answered_before(survey_name),
        Expired { survey_name } => expired(survey_name),
        Closed { survey_name } => (
            StatusCode::GONE,
            invitation_notice(survey_name, "survey-closed", "This survey is closed", html! { p { strong { (survey_name) } " is not accepting responses any more." } }),
        ),
    })
}

/// The survey behind a personal link. Its embedded data stays on the
/// server: the form carries none.
async fn show_invitation(State(state): State<AppState>, Path(token): Path<String>) -> WebResult<Response> {
    let opened = state.app.open_invitation(&token).await?;
    if let Some(page) = invitation_state(&opened) {
        return Ok(page.into_response());
    }
    let app::triggers::OpenedInvitation::Open { survey, .. } = opened else { unreachable!("handled above") };
    let form = FormState {
        response_id: secrets::response_id().to_string(),
        started_at: now_ms(),
        embedded: BTreeMap::new(),
        link: LinkSignature::default(),
        values: BTreeMap::new(),
        errors: BTreeMap::new(),
    };
    Ok(render(&survey, &format!("/i/{token}"), &form, Audience::Respondent).into_response())
}

async fn submit_invitation(State(state): State<AppState>, Path(token): Path<String>, headers: HeaderMap, body: Bytes) -> WebResult<Response> {
    let opened = state.app.open_invitation(&token).await?;
    if let Some(page) = invitation_state(&opened) {
        return Ok(page.into_response());
    }
    let app::triggers::OpenedInvitation::Open { survey, .. } = opened else { unreachable!("handled above") };
    // Embedded data in the form is ignored: the invitation's is used.
    let (submission, answers, now) = match checked(&survey, &format!("/i/{token}"), &headers, &body, Embedded::Ignored, Audience::Respondent)? {
        Ok(checked) => checked,
        Err(send_back) => return Ok(send_back),
    };
    let response = Kept {
        response_id: submission.response_id.clone(),
        answers,
        embedded: BTreeMap::new(),
        started_at: submission.started_at.filter(|s| plausible_start(*s, now)),
        finished_at: now,
        signature: None,
        expires: None,
    };
    match state.app.submit_invited(&token, response).await? {
        app::triggers::InvitedAnswer::Stored => Ok(Redirect::to(&format!("/s/{}/thanks?r={}", survey.slug, submission.response_id)).into_response()),
        app::triggers::InvitedAnswer::AnsweredBefore => Ok(answered_before(&survey.project_name).into_response()),
        app::triggers::InvitedAnswer::Expired => Ok(expired(&survey.project_name).into_response()),
    }
}

/// Unsubscribing asks to confirm: mail scanners follow links, and a GET
/// never changes anything.
async fn unsubscribe_page(State(state): State<AppState>, Path(token): Path<String>) -> WebResult<Markup> {
    state.app.invitation_exists(&token).await?;
    Ok(public_page(
        "Unsubscribe",
        html! {
            div.card #unsubscribe {
                h1 { "Unsubscribe from these surveys?" }
                p { "You will receive no more survey invitations from this sender." }
                form method="post" action={"/i/" (token) "/unsubscribe"} {
                    input type="hidden" name="List-Unsubscribe" value="One-Click";
                    button type="submit" { "Unsubscribe" }
                }
            }
        },
    ))
}

/// The confirmation, and RFC 8058's one-click POST from a mail client: the
/// personal link's token is the authority, so no session or CSRF token.
async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> WebResult<Markup> {
    let (_, _) = state.app.unsubscribe(&token).await?;
    Ok(public_page(
        "Unsubscribed",
        html! {
            div.card #unsubscribed {
                h1 { "You are unsubscribed" }
                p { "This sender will send you no more survey invitations." }
            }
        },
    ))
}

#[derive(Deserialize)]
struct ThanksQuery {
    r: Option<String>,
}

async fn thanks(State(state): State<AppState>, Path(slug): Path<String>, Query(q): Query<ThanksQuery>) -> WebResult<Markup> {
    let survey = state.app.survey_at(&slug).await?;
    let rid = q.r.and_then(|r| ResponseId::parse(&r).ok());
    Ok(public_page(&survey.project_name, thank_you_card(&survey, rid.as_ref())))
}

/// The thank-you card: the survey's own message when it has one.
fn thank_you_card(survey: &Survey, rid: Option<&ResponseId>) -> Markup {
    html! {
        div.card #thanks {
            h1 { "Thank you!" }
            @if survey.thank_you.is_empty() {
                p { "Your response to " strong { (survey.project_name) } " has been recorded." }
            } @else {
                div.survey-message #thank-you-message { (survey.thank_you.as_str()) }
            }
            @if let Some(rid) = rid { p.muted { "Response reference: " code { (rid) } } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_start_shortly_before_now_is_kept() {
        let now = 1_780_000_000_000;
        for (started, kept) in [
            (now - 60_000, true),
            (now, true),
            (now - MAX_PLAUSIBLE_DURATION_MS, true),
            (now - MAX_PLAUSIBLE_DURATION_MS - 1, false),
            (now + 1, false),
            (i64::MAX, false),
            (i64::MIN, false),
            (i64::MIN + 1, false),
            (0, false),
            (-1, false),
        ] {
            assert_eq!(plausible_start(started, now), kept, "{started}");
        }
    }
}
