//! Preview: a project's survey, draft or published, exactly as respondents
//! see it, for the project's members. Submitting checks the answers as a
//! response would be checked and then forgets them: nothing is stored,
//! counted or delivered.

use super::project_frame;
use crate::auth::session::CurrentAccount;
use crate::error::WebResult;
use crate::public;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::Markup;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{id}/preview", get(show).post(submit))
        .route("/projects/{id}/preview/thanks", get(thanks))
}

async fn show(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>, RawQuery(query): RawQuery) -> WebResult<Markup> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    let survey = state.app.survey(&project).await?;
    public::preview_form(&survey, id, &who.csrf, query)
}

async fn submit(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>, headers: HeaderMap, body: Bytes) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    let survey = state.app.survey(&project).await?;
    match public::check_preview(&survey, id, &who.csrf, &headers, &body)? {
        Ok(()) => Ok(Redirect::to(&format!("/projects/{id}/preview/thanks")).into_response()),
        Err(send_back) => Ok(send_back),
    }
}

async fn thanks(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>) -> WebResult<Markup> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    let survey = state.app.survey(&project).await?;
    Ok(public::preview_thanks(&survey, id))
}
