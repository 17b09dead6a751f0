//! A project's mappings as a JSON file on its Salesforce page: the download,
//! and the import form (a file or pasted text) that replaces the mappings
//! after a confirmation, or shows beside itself why the file was refused.

use crate::auth::session::{parse_form, CurrentAccount, CSRF_FIELD};
use crate::error::{WebError, WebResult};
use crate::pages::layout::csrf_field;
use crate::pages::project_frame::{self, require_edit};
use crate::state::AppState;
use app::mapping_json::{ImportError, Imported, MAX_FILE_BYTES};
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::Access;
use maud::{html, Markup};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{id}/salesforce/mappings.json", get(export))
        // The whole request, envelope and all, is bounded by the file's limit.
        .route("/projects/{id}/salesforce/mappings/import", post(import).layer(DefaultBodyLimit::max(MAX_FILE_BYTES)))
}

/// What the import form shows: the text being imported (kept when it is
/// refused, so it can be fixed in place), why it was refused, or the
/// confirmation a replacement waits for.
#[derive(Debug, Default)]
pub(crate) struct ImportView {
    pub text: String,
    pub problems: Vec<String>,
    pub confirm: Option<Confirm>,
}

#[derive(Debug)]
pub(crate) struct Confirm {
    pub current: usize,
    pub incoming: usize,
    pub version: i64,
}

fn mappings_words(n: usize) -> String {
    format!("{n} mapping{}", if n == 1 { "" } else { "s" })
}

/// The download link for everyone who sees the page; the import form for
/// those who may change what the project writes (the server asks again).
pub(crate) fn section(who: &CurrentAccount, access: Access, base: &str, view: &ImportView) -> Markup {
    html! {
        div.card #mappings-json {
            h3 .mt-0 { "Mappings as JSON" }
            p { a #export-mappings href={(base) "/mappings.json"} download { "Download mappings (JSON)" }
                span.muted { " to keep them in version control, or to import them into another survey with the same questions." } }
            @if access.can_change_salesforce() {
                @if let Some(c) = &view.confirm {
                    div.flash.error role="alert" #confirm-import {
                        p .m-0 { "This replaces the " (mappings_words(c.current)) " of this survey with the " (c.incoming) " in the file. Confirm below to replace them, or leave this page to keep them." }
                    }
                }
                @if !view.problems.is_empty() {
                    div.flash.error role="alert" #import-problems {
                        p .m-0 { "Nothing was imported:" }
                        ul.field-error { @for p in &view.problems { li { (p) } } }
                    }
                }
                form #import-mappings method="post" action={(base) "/mappings/import"} enctype="multipart/form-data" {
                    (csrf_field(&who.csrf))
                    @if let Some(c) = &view.confirm {
                        input type="hidden" name="replaces" value=(c.version);
                    }
                    p { label { "A mappings file " input type="file" name="file" accept=".json,application/json"; } }
                    p { label { "or paste it here" br;
                        textarea name="document" rows="8" spellcheck="false" { (view.text) } } }
                    p.muted { "Importing replaces every mapping of this survey, checked against the owner's org first; nothing changes unless all of them fit." }
                    button type="submit" { @if view.confirm.is_some() { "Replace the mappings" } @else { "Import mappings" } }
                }
            }
        }
    }
}

async fn export(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    let file = state.app.export_mappings(&project).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", file.filename)),
        ],
        file.json,
    )
        .into_response())
}

/// The import form's fields, from a multipart post (a file chosen) or an
/// urlencoded one (text pasted by a script or an old browser).
#[derive(Default)]
struct ImportForm {
    csrf: Option<String>,
    file: String,
    document: String,
    replaces: Option<i64>,
}

impl ImportForm {
    fn set(&mut self, name: &str, value: String) -> WebResult<()> {
        match name {
            CSRF_FIELD => self.csrf = Some(value),
            "file" => self.file = value,
            "document" => self.document = value,
            "replaces" if value.is_empty() => {}
            "replaces" => self.replaces = Some(value.parse().map_err(|_| WebError::BadRequest("The confirmation is not as expected; import the file again.".into()))?),
            other => return Err(WebError::Unprocessable(format!("The form is not as expected: unknown field `{other}`."))),
        }
        Ok(())
    }

    async fn read(req: Request, state: &AppState) -> WebResult<ImportForm> {
        let multipart = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("multipart/form-data"));
        let (parts, body) = req.into_parts();
        let bytes = match Bytes::from_request(Request::from_parts(parts.clone(), body), state).await {
            Ok(b) => b,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(WebError::PayloadTooLarge),
            Err(e) => return Err(e.into()),
        };
        let mut form = ImportForm::default();
        if multipart {
            let bad = |e: axum::extract::multipart::MultipartError| WebError::BadRequest(format!("The form could not be read: {}", e.body_text()));
            let mut fields = Multipart::from_request(Request::from_parts(parts, Body::from(bytes)), state)
                .await
                .map_err(|e| WebError::BadRequest(format!("The form could not be read: {}", e.body_text())))?;
            while let Some(field) = fields.next_field().await.map_err(bad)? {
                let name = field.name().unwrap_or_default().to_string();
                let data = field.bytes().await.map_err(bad)?;
                let text = String::from_utf8(data.to_vec()).map_err(|_| WebError::BadRequest("The file is not text (UTF-8): a mappings file is JSON.".into()))?;
                form.set(&name, text)?;
            }
        } else {
            for (name, value) in parse_form(&bytes)? {
                form.set(&name, value)?;
            }
        }
        Ok(form)
    }
}

async fn import(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>, req: Request) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    app::consent::require_salesforce_changes(&project)?;
    let form = match ImportForm::read(req, &state).await {
        Ok(form) => form,
        Err(WebError::PayloadTooLarge) => {
            let problem = format!("The import is larger than {} KiB, the most a mappings file may be.", MAX_FILE_BYTES / 1024);
            return shown(&state, &who, &project, access, StatusCode::PAYLOAD_TOO_LARGE, ImportView { problems: vec![problem], ..Default::default() }, None).await;
        }
        Err(e) => return Err(e),
    };
    if !form.csrf.as_deref().is_some_and(|sent| crate::secrets::equal(sent, &who.csrf)) {
        return Err(WebError::CsrfMismatch);
    }
    state.require_salesforce()?;
    // A chosen file wins over the text area, which then shows the file.
    let text = if form.file.trim().is_empty() { form.document } else { form.file };
    if text.trim().is_empty() {
        let view = ImportView { problems: vec!["Choose a mappings file, or paste its JSON.".into()], ..Default::default() };
        return shown(&state, &who, &project, access, StatusCode::UNPROCESSABLE_ENTITY, view, None).await;
    }
    match state.app.import_mappings(&project, &who.account, &text, form.replaces).await {
        Ok(Imported::Saved { objects, .. }) => {
            let said = if objects.is_empty() { String::from("Imported no mappings: this survey now has none.") } else { format!("Imported {}: {}.", mappings_words(objects.len()), objects.join(", ")) };
            crate::notes::redirect_with(&state, &who, &format!("/projects/{}/salesforce", project.id), crate::notes::Note::done(said)).await
        }
        Ok(Imported::NeedsConfirmation { current, incoming, version }) => {
            let view = ImportView { text, confirm: Some(Confirm { current, incoming, version }), ..Default::default() };
            shown(&state, &who, &project, access, StatusCode::OK, view, None).await
        }
        Err(ImportError::Refused(refused)) => {
            let status = if refused.is_unparsable() { StatusCode::BAD_REQUEST } else { StatusCode::UNPROCESSABLE_ENTITY };
            shown(&state, &who, &project, access, status, ImportView { text, problems: refused.problems(), ..Default::default() }, None).await
        }
        Err(ImportError::App(e)) => {
            let e = WebError::from(e);
            if matches!(e, WebError::Forbidden(_) | WebError::NotFound | WebError::Internal(_)) {
                return Err(e);
            }
            let status = e.status();
            shown(&state, &who, &project, access, status, ImportView { text, problems: vec![e.public_message()], ..Default::default() }, None).await
        }
    }
}

async fn shown(state: &AppState, who: &CurrentAccount, project: &app::projects::Project, access: Access, status: StatusCode, view: ImportView, ok: Option<&str>) -> WebResult<Response> {
    Ok((status, super::project_panel::render_with_import(state, who, project, access, None, ok, &view, None).await?).into_response())
}
