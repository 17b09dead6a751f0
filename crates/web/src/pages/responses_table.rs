//! The Responses tab: a table of a survey's responses, filtered by finish
//! date, Salesforce delivery status, response id or text in the answers,
//! sorted by finish time, a page at a time. The filter is a plain GET form,
//! so it works without JavaScript and the URL can be shared.

use super::layout::page;
use super::project_frame::{self, Tab};
use crate::auth::session::CurrentAccount;
use crate::error::WebResult;
use crate::state::AppState;
use crate::time_fmt;
use app::response_table::{Matches, ResponseTable};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::response::display_stored;
use domain::{FilterInput, FilterProblem, PageStart, ResponseFilter, Sort, StatusChoice, TableKey};
use maud::{html, Markup};
use serde::Deserialize;

/// The form's fields and the page link's key, as they came.
#[derive(Deserialize, Default)]
pub(super) struct TableForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    before: String,
}

impl TableForm {
    fn parse(&self) -> Result<(ResponseFilter, PageStart), FilterProblem> {
        let input = FilterInput { from: &self.from, to: &self.to, status: &self.status, q: &self.q, sort: &self.sort };
        Ok((ResponseFilter::parse(&input)?, PageStart::parse(&self.after, &self.before)?))
    }
}

/// `text` cut to `max` characters, an ellipsis marking the cut.
fn cut(text: String, max: usize) -> String {
    if text.chars().count() > max {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    } else {
        text
    }
}

fn cell(text: String) -> String {
    cut(text, 80)
}

/// A question's column header stays short (two or three lines even on a
/// phone); the whole question is its title, shown on hover.
fn header(text: String) -> String {
    cut(text, 40)
}

/// The table's URL for this filter, starting at `page` (`after` or
/// `before`, with a key) when given.
fn table_url(id: i64, filter: &ResponseFilter, page: Option<(&str, TableKey)>) -> String {
    let mut pairs = filter.query_pairs();
    if let Some((which, key)) = page {
        pairs.push((if which == "after" { "after" } else { "before" }, key.to_param()));
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if query.is_empty() {
        format!("/projects/{id}/responses")
    } else {
        format!("/projects/{id}/responses?{query}")
    }
}

pub(super) async fn table(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>, Query(form): Query<TableForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    let survey = state.app.survey(&project).await?;
    let (table, problem, filter) = match form.parse() {
        Ok((filter, start)) => (Some(state.app.response_table(&project, &survey, &filter, start).await?), None, filter),
        Err(problem) => (None, Some(problem), ResponseFilter::default()),
    };
    let status = if problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    // The status filter is offered when the project delivers, or when the
    // URL asked for it (so what was typed stays on the form).
    let delivers = match &table {
        Some(t) => t.delivers,
        None => state.app.delivers_to_salesforce(&project).await?,
    };
    let offers_status = delivers || !form.status.is_empty();
    let body = html! {
        (project_frame::header(&project, access, Tab::Responses))
        (filter_form(id, &form, problem.as_ref(), offers_status))
        @if let Some(t) = &table { (table_body(id, &survey.definition, &filter, t)) }
    };
    Ok((status, page(&project.name, Some(&who), body)).into_response())
}

/// `aria-invalid` for the field the problem is about.
fn invalid(problem: Option<&FilterProblem>, field: &str) -> Option<&'static str> {
    problem.filter(|p| p.field == field).map(|_| "true")
}

/// The filter form: what was typed stays, and a refused field says why
/// beside it.
fn filter_form(id: i64, form: &TableForm, problem: Option<&FilterProblem>, offers_status: bool) -> Markup {
    let sort = if form.sort == Sort::OldestFirst.as_str() { Sort::OldestFirst } else { Sort::NewestFirst };
    html! {
        form.card .response-filter #response-filter method="get" action={"/projects/" (id) "/responses"} role="search" {
            div.filter-fields {
                label {
                    "Search"
                    input type="search" name="q" value=(form.q) maxlength=(domain::response_filter::SEARCH_MAX_CHARS)
                        placeholder="Response id (R_…) or words in the answers" aria-describedby="q-help"
                        aria-invalid=[invalid(problem, "q")] autofocus[invalid(problem, "q").is_some()];
                }
                label { "Finished from" input type="date" name="from" value=(form.from) aria-invalid=[invalid(problem, "from")] autofocus[invalid(problem, "from").is_some()]; }
                label { "to" input type="date" name="to" value=(form.to) aria-invalid=[invalid(problem, "to")] autofocus[invalid(problem, "to").is_some()]; }
                @if offers_status {
                    label {
                        "Salesforce delivery"
                        select name="status" aria-invalid=[invalid(problem, "status")] autofocus[invalid(problem, "status").is_some()] {
                            option value="" selected[form.status.is_empty()] { "Any" }
                            @for s in StatusChoice::ALL {
                                option value=(s.as_str()) selected[form.status == s.as_str()] { (s.label()) }
                            }
                            // An unknown status stays on the form, refused.
                            @if !form.status.is_empty() && !StatusChoice::ALL.iter().any(|s| s.as_str() == form.status) {
                                option value=(form.status) selected { (form.status) }
                            }
                        }
                    }
                }
                label {
                    "Order"
                    select name="sort" {
                        @for s in [Sort::NewestFirst, Sort::OldestFirst] { option value=(s.as_str()) selected[sort == s] { (s.label()) } }
                    }
                }
            }
            div.row {
                button type="submit" { "Apply" }
                a.button.secondary #clear-filters href={"/projects/" (id) "/responses"} { "Clear" }
            }
            p.muted .small-text #q-help { "A search starting R_ finds the responses whose id begins with it; anything else finds answers containing it (any case)." }
            @if let Some(p) = problem {
                p.field-error #filter-error role="alert" data-field=(p.field) { (p.message) }
            }
        }
    }
}

/// `1000` as `1,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn matches_text(m: Matches, narrowed: bool) -> String {
    let n = match m {
        Matches::Exactly(1) if narrowed => return "1 response matches".into(),
        Matches::Exactly(1) => return "1 response".into(),
        Matches::Exactly(n) => n.to_string(),
        Matches::MoreThan(n) => format!("More than {}", thousands(n)),
    };
    if narrowed {
        format!("{n} responses match")
    } else {
        format!("{n} responses")
    }
}

fn table_body(id: i64, def: &domain::SurveyDefinition, filter: &ResponseFilter, t: &ResponseTable) -> Markup {
    let narrowed = filter.narrows();
    let ResponseTable { rows, deliveries, .. } = t;
    let show_delivery = t.delivers || !deliveries.is_empty();
    html! {
        div.row .spread .mb-small {
            span.muted #responses-match { (matches_text(t.matches, narrowed)) ", " (filter.sort.label().to_lowercase()) "." }
            a.button.secondary href={"/projects/" (id) "/responses.csv"} download { "Download CSV" }
        }
        p.muted #csv-help .small-text {
            "The CSV holds every response (the filter does not apply to it). In it, a text that begins with = + - @ or a tab is prefixed with ' so a spreadsheet shows it as written instead of running it as a formula. Answers to number questions stay numbers."
        }
        @if rows.is_empty() {
            @if narrowed {
                p #no-matches { "No responses match this filter. " a href={"/projects/" (id) "/responses"} { "Clear the filter" } " to see them all." }
            } @else if t.previous.is_some() || t.next.is_some() {
                p #no-matches { "Nothing on this page. " a href={"/projects/" (id) "/responses"} { "Back to the first page" } }
            } @else {
                p.muted #no-responses { "No responses yet." }
            }
        } @else {
            div .scroll-x tabindex="0" role="region" aria-label="Responses" {
                table #responses {
                    thead { tr {
                        th { "Response" } th { "Finished" } th { "Time taken" }
                        @if show_delivery { th { "Salesforce" } }
                        @for q in &def.questions { th title=(q.label()) data-removed[q.removed] { (header(q.label())) } }
                        @for e in &def.embedded { th { code { (e.as_str()) } } }
                    } }
                    tbody {
                        @for r in rows {
                            @let answers = r.answers_map();
                            @let embedded = r.embedded_map();
                            tr data-response-id=(r.public_id) {
                                td { a href={"/projects/" (id) "/responses/" (r.public_id)} { code { (r.public_id) } } }
                                td data-finished=(r.finished_at) { (time_fmt::short(r.finished_at)) }
                                td { @if let Some(s) = r.started_at { (time_fmt::duration(r.finished_at.saturating_sub(s))) } }
                                @if show_delivery {
                                    td data-delivery=[deliveries.get(&r.public_id).map(|d| d.status.as_str())] {
                                        (deliveries.get(&r.public_id).map(|d| d.status.label()).unwrap_or("—"))
                                    }
                                }
                                @for q in &def.questions {
                                    td { (cell(answers.get(q.id.as_str()).map(display_stored).unwrap_or_default())) }
                                }
                                @for e in &def.embedded { td { (cell(embedded.get(e.as_str()).cloned().unwrap_or_default())) } }
                            }
                        }
                    }
                }
            }
        }
        @if t.previous.is_some() || t.next.is_some() {
            nav.row .spread .pager aria-label="Pages of responses" {
                @let (back, on) = match filter.sort { Sort::NewestFirst => ("← Newer", "Older →"), Sort::OldestFirst => ("← Earlier", "Later →") };
                @match t.previous {
                    Some(k) => { a #page-previous rel="prev" href=(table_url(id, filter, Some(("before", k)))) { (back) } }
                    None => { span {} }
                }
                @match t.next {
                    Some(k) => { a #page-next rel="next" href=(table_url(id, filter, Some(("after", k)))) { (on) } }
                    None => { span {} }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_keep_the_filter() {
        let filter = ResponseFilter::parse(&FilterInput { from: "2026-11-01", to: "", status: "failed", q: "50% off", sort: "oldest" }).unwrap();
        let url = table_url(7, &filter, Some(("after", TableKey { finished_at: 5, id: 9 })));
        assert_eq!(url, "/projects/7/responses?from=2026-11-01&status=failed&q=50%25+off&sort=oldest&after=5.9");
        assert_eq!(table_url(7, &ResponseFilter::default(), None), "/projects/7/responses");
    }

    #[test]
    fn the_count_says_match_only_when_filtered() {
        assert_eq!(matches_text(Matches::Exactly(3), true), "3 responses match");
        assert_eq!(matches_text(Matches::Exactly(1), true), "1 response matches");
        assert_eq!(matches_text(Matches::Exactly(3), false), "3 responses");
        assert_eq!(matches_text(Matches::MoreThan(1_000), true), "More than 1,000 responses match");
    }
}
