//! A survey's responses: one response and the CSV export (the table is
//! `responses_table`).

use super::csv_download::{self, spreadsheet_text};
use super::layout::page;
use super::project_frame::{self, Tab};
use crate::auth::session::{CurrentAccount, EmptyForm, SignedForm};
use crate::pages::layout::{post_form, salesforce_error};
use axum::response::Redirect;
use crate::error::WebResult;
use crate::state::AppState;
use crate::time_fmt;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use domain::response::display_stored;
use domain::DeliveryStatus;
use domain::SurveyDefinition;
use maud::{html, Markup};
use app::responses::{Delivery, StoredResponse};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{id}/responses", get(super::responses_table::table))
        .route("/projects/{id}/responses.csv", get(csv_export))
        .route("/projects/{id}/responses/{rid}", get(detail))
        .route("/projects/{id}/responses/{rid}/retry", axum::routing::post(retry))
}

/// A response's delivery to Salesforce: where each mapping's record went, or
/// Salesforce's exact error, and Retry for a failed one.
fn delivery_section(who: &CurrentAccount, project_id: i64, rid: &str, d: &Delivery, can_edit: bool, record_base: Option<&str>) -> Markup {
    let outcomes = &d.outcome;
    html! {
        div.card #delivery data-status=(d.status.as_str()) {
            h3 .mt-0 data-testid="delivery-headline" { "Salesforce delivery: " (domain::delivery::headline(d.status, outcomes)) }
            p.muted { (d.attempts) " attempt(s)" @if let Some(org) = &d.org_id { " · org " code { (org) } } " · last change " (time_fmt::short(d.updated_at)) }
            @if let Some(note) = &d.note { p data-testid="delivery-note" { (note) } }
            @if !outcomes.is_empty() {
                table { @for o in outcomes {
                    tr {
                        td { code { (o["object"].as_str().unwrap_or("")) } }
                        td { @if let Some(id) = o["record_id"].as_str() {
                            "Record "
                            @match record_base { Some(base) => { a href={(base) "/" (id)} target="_blank" rel="noopener" { code data-testid="record-id" { (id) } } }, None => { code data-testid="record-id" { (id) } } }
                            @if o["created"].as_bool() == Some(true) { span.muted { " (created)" } } @else { span.muted { " (updated)" } }
                        } @else if let Some(why) = o["skipped"].as_str() { span.muted data-testid="skipped" { "Skipped: " (why) } } @else { span.field-error { (salesforce_error(o["error"].as_str().unwrap_or(""))) } } }
                    }
                } }
            }
            @if let Some(e) = &d.last_error { @if d.status != DeliveryStatus::Delivered { p.field-error data-testid="delivery-error" { (salesforce_error(e)) } } }
            @if d.status == DeliveryStatus::Failed && can_edit {
                (post_form(&format!("/projects/{project_id}/responses/{rid}/retry"), &who.csrf, html! {
                    button type="submit" { "Retry delivery" }
                }))
            }
        }
    }
}

async fn retry(State(state): State<AppState>, Path((id, rid)): Path<(i64, String)>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    project_frame::require_edit(&project)?;
    state.app.retry_delivery(&project, &rid).await?;
    Ok(Redirect::to(&format!("/projects/{id}/responses/{rid}")).into_response())
}

async fn detail(State(state): State<AppState>, who: CurrentAccount, Path((id, rid)): Path<(i64, String)>) -> WebResult<Markup> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    let survey = state.app.survey(&project).await?;
    let app::responses::ResponseDetail { response: r, delivery, record_base } = state.app.response(&project, &rid).await?;
    let answers = r.answers_map();
    let embedded = r.embedded_map();
    Ok(page(
        &project.name,
        Some(&who),
        html! {
            (project_frame::header(&project, access, Tab::Responses))
            div.card #response {
                h2 .mt-0 { "Response " code { (r.public_id) } }
                p.muted {
                    @if let Some(s) = r.started_at { "Started " (time_fmt::short(s)) " · " }
                    "Finished " (time_fmt::short(r.finished_at))
                    @if let Some(s) = r.started_at { " · took " (time_fmt::duration(r.finished_at.saturating_sub(s))) }
                }
                table {
                    @for q in &survey.definition.questions {
                        tr { th .label-col { (q.label()) } td { (answers.get(q.id.as_str()).map(display_stored).unwrap_or_else(|| "—".into())) } }
                    }
                    @for (name, value) in embedded {
                        tr { th { "Embedded: " code { (name) } } td { (value) } }
                    }
                    @if !embedded.is_empty() {
                        tr #embedded-source { th { "Embedded data from" } td { (r.provenance().label()) } }
                    }
                }
            }
            @if let Some(d) = &delivery { (delivery_section(&who, id, &rid, d, access.can_edit(), record_base.as_deref())) }
            p { a href={"/projects/" (id) "/responses"} { "← All responses" } }
        },
    ))
}

/// The CSV's header and one row per response: response id, times, each
/// question's answer (by its current text; a removed question's too, so no
/// collected answer drops out of the export), then each embedded data field.
/// Every text a respondent or editor wrote goes through `spreadsheet_text`.
fn csv_header(def: &SurveyDefinition) -> Vec<String> {
    let mut header = vec!["response_id".to_string(), "started_at".into(), "finished_at".into()];
    header.extend(def.questions.iter().map(|q| spreadsheet_text(format!("{} ({})", q.label(), q.id))));
    header.extend(def.embedded.iter().map(|e| spreadsheet_text(e.as_str().to_string())));
    header
}

fn csv_row(def: &SurveyDefinition, r: &StoredResponse) -> Vec<String> {
    let answers = r.answers_map();
    let embedded = r.embedded_map();
    let mut row = vec![r.public_id.clone(), r.started_at.map(time_fmt::rfc3339).unwrap_or_default(), time_fmt::rfc3339(r.finished_at)];
    row.extend(def.questions.iter().map(|q| answers.get(q.id.as_str()).map(csv_answer).unwrap_or_default()));
    row.extend(def.embedded.iter().map(|e| spreadsheet_text(embedded.get(e.as_str()).cloned().unwrap_or_default())));
    row
}

/// An answer as a CSV cell. A number question's answer is stored as a JSON
/// number, written out by us as digits, so it stays a number a spreadsheet
/// can sum (`-3`, not `'-3`): no formula can hide in it. Everything else is
/// text somebody typed and is escaped.
fn csv_answer(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Number(_) => display_stored(value),
        other => spreadsheet_text(display_stored(other)),
    }
}

async fn csv_export(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    let survey = state.app.survey(&project).await?;
    let def = survey.definition;
    let head = csv_download::bytes([csv_header(&def)]).map_err(anyhow::Error::from)?;
    let filename: String = project.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let app = state.app.clone();
    Ok(csv_download::response(&format!("{filename}-responses.csv"), head, 0i64, move |after| {
        let (app, of, def) = (app.clone(), project.clone(), def.clone());
        async move {
            let rows = app.responses_after(&of, after, 1000).await.map_err(std::io::Error::other)?;
            let bytes = csv_download::bytes(rows.iter().map(|r| csv_row(&def, r))).map_err(std::io::Error::other)?;
            Ok((bytes, rows.last().map(|r| r.id)))
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn texts_a_spreadsheet_would_run_are_escaped() {
        for (text, cell) in [
            ("=HYPERLINK(\"http://evil.example\",\"x\")", "'=HYPERLINK(\"http://evil.example\",\"x\")"),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("-3", "'-3"),
            ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
            ("\t=1+1", "'\t=1+1"),
            ("\r=1+1", "'\r=1+1"),
            ("Great service", "Great service"),
            ("a = b", "a = b"),
            ("", ""),
        ] {
            assert_eq!(spreadsheet_text(text.to_string()), cell, "{text:?}");
        }
    }

    #[test]
    fn number_answers_stay_numbers_and_text_answers_are_escaped() {
        assert_eq!(csv_answer(&json!(-3)), "-3");
        assert_eq!(csv_answer(&json!(-2.5)), "-2.5");
        assert_eq!(csv_answer(&json!("-3")), "'-3");
        assert_eq!(csv_answer(&json!(["=evil()", "B"])), "'=evil(); B");
        assert_eq!(csv_answer(&json!(["A", "=evil()"])), "A; =evil()");
    }

    #[test]
    fn the_csv_keeps_an_escaped_cell_in_one_quoted_field() {
        let bytes = csv_download::bytes([vec![spreadsheet_text("=1+1,\"x\"".into()), "ok".into()]]).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), "\"'=1+1,\"\"x\"\"\",ok\n");
    }
}
