//! A survey's results report: per question its numbers and a chart drawn
//! as SVG on the server (plotters), inlined so it reads without JavaScript,
//! and each chart as a download.

use super::layout::page;
use super::project_frame::{self, Tab};
use crate::auth::session::CurrentAccount;
use crate::error::{WebError, WebResult};
use crate::state::AppState;
use crate::time_fmt;
use app::results::{FinishedBetween, QuestionResult, Report, Summary};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, PreEscaped};
use plotters::prelude::*;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/projects/{id}/results", get(report)).route("/projects/{id}/results/{file}", get(chart_download))
}

#[derive(Deserialize, Default)]
struct RangeForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

const DAY_MS: i64 = 86_400_000;

/// A `YYYY-MM-DD` date as the Unix millisecond its UTC day starts at.
fn day_start(raw: &str, which: &str) -> Result<Option<i64>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(raw, &format)
        .map(|d| Some(d.midnight().assume_utc().unix_timestamp() * 1000))
        .map_err(|_| format!("The {which} date \"{raw}\" is not a date; write it as YYYY-MM-DD, e.g. 2026-11-25."))
}

impl RangeForm {
    /// The range of finish times the form names: `to` includes its day.
    fn parse(&self) -> Result<FinishedBetween, String> {
        let from = day_start(&self.from, "from")?;
        let to = day_start(&self.to, "to")?.map(|t| t + DAY_MS);
        if let (Some(f), Some(t)) = (from, to) {
            if f >= t {
                return Err("The from date must not be after the to date.".into());
            }
        }
        Ok(FinishedBetween { from: from.unwrap_or(i64::MIN), to: to.unwrap_or(i64::MAX) })
    }

    fn query(&self) -> String {
        serde_urlencoded::to_string([("from", self.from.as_str()), ("to", self.to.as_str())]).unwrap_or_default()
    }
}

fn date_of(ms: i64) -> String {
    time_fmt::short(ms).chars().take(10).collect()
}

async fn report(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>, Query(form): Query<RangeForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    let (range, problem) = match form.parse() {
        Ok(r) => (r, None),
        Err(message) => (FinishedBetween::ALL_TIME, Some(message)),
    };
    let report = match problem {
        None => Some(state.app.results(&project, range).await?),
        Some(_) => None,
    };
    let status = if problem.is_some() { axum::http::StatusCode::UNPROCESSABLE_ENTITY } else { axum::http::StatusCode::OK };
    let today = store_now_day();
    let body = html! {
        (project_frame::header(&project, access, Tab::Results))
        form.card #results-range method="get" action={"/projects/" (id) "/results"} {
            div.row {
                label { "From " input type="date" name="from" value=(form.from) autofocus[problem.is_some()]; }
                label { "To " input type="date" name="to" value=(form.to); }
                button type="submit" { "Show" }
            }
            @if let Some(p) = &problem { p.field-error #range-error role="alert" { (p) } }
            p.small-text {
                "Quick: "
                a href={"/projects/" (id) "/results?from=" (date_of(today - 6 * DAY_MS)) "&to=" (date_of(today))} { "Last 7 days" } " · "
                a href={"/projects/" (id) "/results?from=" (date_of(today - 29 * DAY_MS)) "&to=" (date_of(today))} { "Last 30 days" } " · "
                a href={"/projects/" (id) "/results"} { "All time" }
            }
        }
        @if let Some(report) = &report { (report_body(id, report, &form)) }
    };
    Ok((status, page(&project.name, Some(&who), body)).into_response())
}

fn store_now_day() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    now - now % DAY_MS
}

fn report_body(id: i64, report: &Report, form: &RangeForm) -> Markup {
    html! {
        p.muted #results-total { (report.responses) " responses in this range." }
        @if report.questions.is_empty() {
            p.muted #no-questions { "This survey has no questions yet, so there are no results to show." }
        }
        @for q in &report.questions { (question_card(id, q, form)) }
    }
}

fn question_card(id: i64, q: &QuestionResult, form: &RangeForm) -> Markup {
    let qid = q.question.id.as_str();
    html! {
        section.card .result data-question=(qid) {
            h2 .mt-0 { (q.question.text.as_str()) @if q.question.removed { " " span.badge data-removed { "removed question" } } }
            p.muted { span data-testid="answered" { (q.answered) " answered" } " · " span data-testid="skipped" { (q.skipped) " skipped" } }
            @if q.answered == 0 {
                p.muted .no-answers { "No answers to this question in this range." }
            } @else {
                (summary(id, q, form))
                @if chart(q).is_some() {
                    p.small-text { a href={"/projects/" (id) "/results/" (qid) ".svg?" (form.query())} download { "Download chart (SVG)" } }
                }
            }
        }
    }
}

fn fmt(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn summary(id: i64, q: &QuestionResult, form: &RangeForm) -> Markup {
    let _ = form;
    let svg = chart(q).map(PreEscaped);
    html! {
        @match &q.summary {
            Summary::Choices { multiple, bars } => {
                (svg.unwrap_or_default())
                table.figures { thead { tr { th { "Choice" } th { "Count" } th { "Percent of respondents" } } }
                    tbody { @for b in bars { tr { td { (b.label) @if !b.current { span.muted { " (no longer a choice)" } } } td { (b.count) } td { (fmt(b.percent)) " %" } } } } }
                @if *multiple { p.muted .small-text { "Respondents may pick several choices, so the percentages can add up to more than 100 %." } }
            }
            Summary::Nps(n) => {
                p.nps { "NPS " strong data-testid="nps-score" { (n.score.map(fmt).unwrap_or_default()) } }
                table.figures { tbody {
                    tr { th { "Promoters (9–10)" } td data-testid="promoters" { (n.promoters) } }
                    tr { th { "Passives (7–8)" } td data-testid="passives" { (n.passives) } }
                    tr { th { "Detractors (0–6)" } td data-testid="detractors" { (n.detractors) } }
                } }
                (svg.unwrap_or_default())
            }
            Summary::Numbers(Some(s)) => {
                table.figures { tbody {
                    tr { th { "Mean" } td data-testid="mean" { (fmt(s.mean)) } }
                    tr { th { "Median" } td data-testid="median" { (fmt(s.median)) } }
                    tr { th { "Min" } td data-testid="min" { (fmt(s.min)) } }
                    tr { th { "Max" } td data-testid="max" { (fmt(s.max)) } }
                } }
                (svg.unwrap_or_default())
            }
            Summary::Numbers(None) => { p.muted { "No numeric answers in this range." } }
            Summary::Texts(recent) => {
                p.muted .small-text { "The most recent answers, newest first." }
                ul.recent { @for a in recent { li {
                    (a.text) " " span.muted { "— " a href={"/projects/" (id) "/responses/" (a.public_id)} { (time_fmt::short(a.finished_at)) } }
                } } }
            }
        }
    }
}

/// The bars a question's chart draws, and what its axis names.
fn chart_bars(q: &QuestionResult) -> Option<(Vec<(String, u64)>, &'static str)> {
    match &q.summary {
        Summary::Choices { bars, .. } => Some((bars.iter().map(|b| (b.label.clone(), b.count)).collect(), "Respondents")),
        Summary::Nps(n) => Some((n.distribution.iter().enumerate().map(|(i, c)| (i.to_string(), *c)).collect(), "Answers")),
        Summary::Numbers(Some(s)) => Some((s.histogram.iter().map(|b| (fmt(b.from), b.count)).collect(), "Answers")),
        _ => None,
    }
}

/// The question's chart as an SVG document, with a title and a text
/// description of the same numbers for screen readers.
fn chart(q: &QuestionResult) -> Option<String> {
    let (bars, axis) = chart_bars(q)?;
    if q.answered == 0 || bars.is_empty() {
        return None;
    }
    let svg = draw_bars(&bars, axis).map_err(|e| tracing::warn!(error = %e, "a chart could not be drawn")).ok()?;
    let desc: Vec<String> = bars.iter().map(|(l, c)| format!("{l}: {c}")).collect();
    let accessible = format!(
        "<title>{}</title><desc>{}</desc>",
        maud::html! { (q.question.text.as_str()) }.into_string(),
        maud::html! { (desc.join("; ")) }.into_string()
    );
    // plotters writes `<svg …>` first; the title and desc go right inside it.
    let open_end = svg.find('>')? + 1;
    Some(format!("{} role=\"img\" class=\"chart\">{accessible}{}", &svg[..open_end - 1], &svg[open_end..]))
}

fn draw_bars(bars: &[(String, u64)], axis: &str) -> Result<String, Box<dyn std::error::Error>> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 300)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = bars.len() as u32;
        let top = bars.iter().map(|(_, c)| *c).max().unwrap_or(0).max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d((0..n.saturating_sub(1)).into_segmented(), 0u64..top + top / 10 + 1)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(bars.len())
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => bars.get(*i as usize).map(|(l, _)| l.chars().take(14).collect()).unwrap_or_default(),
                _ => String::new(),
            })
            .y_desc(axis)
            .draw()?;
        chart.draw_series(
            Histogram::vertical(&chart).style(RGBColor(0x2f, 0x6f, 0xd6).filled()).margin(6).data(bars.iter().enumerate().map(|(i, (_, c))| (i as u32, *c))),
        )?;
        root.present()?;
    }
    Ok(svg)
}

async fn chart_download(
    State(state): State<AppState>,
    who: CurrentAccount,
    Path((id, file)): Path<(i64, String)>,
    Query(form): Query<RangeForm>,
) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    let qid = file.strip_suffix(".svg").ok_or(WebError::NotFound)?;
    let range = form.parse().map_err(WebError::Unprocessable)?;
    let report = state.app.results(&project, range).await?;
    let q = report.questions.iter().find(|q| q.question.id.as_str() == qid).ok_or(WebError::NotFound)?;
    let svg = chart(q).ok_or_else(|| WebError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"results-{id}-{qid}.svg\"")),
        ],
        svg,
    )
        .into_response())
}
