//! The demo's mail catcher page: every mail Insight wrote into the demo's
//! mail folder, newest first, with its text and its links, so a person can
//! follow an invitation without a mail server. Demo only: it serves mail
//! bodies (sign-in links among them) to anyone who can reach it, so it
//! listens on the loopback interface alone.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, DOCTYPE};
use std::path::PathBuf;
use std::sync::Arc;

/// A mail as the page shows it.
struct Shown {
    file: String,
    to: String,
    subject: String,
    date: String,
    text: String,
    html: Option<String>,
    unsubscribe: Option<String>,
}

fn read_mail(path: &std::path::Path) -> Option<Shown> {
    let raw = std::fs::read(path).ok()?;
    let message = mail_parser::MessageParser::default().parse(&raw)?;
    let to = message.to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_string();
    Some(Shown {
        file: path.file_name()?.to_string_lossy().into_owned(),
        to,
        subject: message.subject().unwrap_or_default().to_string(),
        date: message.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
        text: message.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
        html: message.body_html(0).map(|t| t.into_owned()),
        unsubscribe: message.header_raw("List-Unsubscribe").map(|v| v.trim().to_string()),
    })
}

fn mails(folder: &std::path::Path) -> Vec<(std::time::SystemTime, Shown)> {
    let mut all: Vec<(std::time::SystemTime, Shown)> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, read_mail(&e.path())?)))
        .collect();
    all.sort_by(|a, b| b.0.cmp(&a.0));
    all.truncate(200);
    all
}

/// Text with its http(s) links made clickable.
fn linked(text: &str) -> Markup {
    html! {
        @for (i, line) in text.lines().enumerate() {
            @if i > 0 { br; }
            @for (j, word) in line.split(' ').enumerate() {
                @if j > 0 { " " }
                @if word.starts_with("http://") || word.starts_with("https://") { a href=(word) { (word) } } @else { (word) }
            }
        }
    }
}

fn shell(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                // Long links and mail source wrap rather than widen the page on a phone.
                style { "body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;overflow-wrap:anywhere}pre{white-space:pre-wrap}td{padding:.2rem .5rem}" }
            }
            body { (body) }
        }
    }
}

async fn index(State(folder): State<Arc<PathBuf>>) -> Markup {
    let all = mails(&folder);
    shell(
        "Insight demo: mail sent",
        html! {
            h1 { "Mail Insight sent" }
            p { "Every mail the demo sent, newest first (from " code { (folder.display()) } "). Reload to see new ones." }
            @if all.is_empty() { p #no-mail { "No mail yet." } }
            table #mail-list {
                thead { tr { th { "When" } th { "To" } th { "Subject" } } }
                tbody {
                    @for (_, m) in &all {
                        tr { td { (m.date) } td.to { (m.to) } td { a href={"/mail/" (m.file)} { (m.subject) } } }
                    }
                }
            }
        },
    )
}

async fn one(State(folder): State<Arc<PathBuf>>, Path(file): Path<String>) -> Response {
    // A file name of the folder, never a path out of it.
    if file.contains('/') || file.contains("..") || !file.ends_with(".eml") {
        return (StatusCode::NOT_FOUND, "no such mail").into_response();
    }
    let Some(m) = read_mail(&folder.join(&file)) else { return (StatusCode::NOT_FOUND, "no such mail").into_response() };
    shell(
        &m.subject,
        html! {
            p { a href="/" { "← all mail" } }
            h1 { (m.subject) }
            p { "To: " strong #mail-to { (m.to) } " · " (m.date) }
            @if let Some(u) = &m.unsubscribe { p { "List-Unsubscribe: " code { (u) } } }
            h2 { "Text" }
            div #mail-text { (linked(&m.text)) }
            @if let Some(h) = &m.html {
                h2 { "HTML (source)" }
                pre { (h) }
            }
        },
    )
    .into_response()
}

/// Serves the page on `listener` until the process ends.
pub fn serve(listener: tokio::net::TcpListener, folder: PathBuf) {
    let router = Router::new().route("/", get(index)).route("/mail/{file}", get(one)).with_state(Arc::new(folder));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::warn!(error = %e, "the mail page stopped");
        }
    });
}
