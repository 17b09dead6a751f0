//! The QR code of a published survey's link, as SVG, for the project's
//! members to print or paste into slides. Anyone else, and any survey that
//! is not published, gets 404: the code would only lead to a closed survey.

use super::project_frame;
use crate::auth::session::MaybeAccount;
use crate::error::{WebError, WebResult};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use domain::SurveyStatus;
use qrcode::render::svg;
use qrcode::QrCode;

pub fn router() -> Router<AppState> {
    Router::new().route("/projects/{id}/qr.svg", get(qr_svg))
}

/// An image, not a page: someone signed out gets 404 rather than a redirect
/// to the sign-in page.
async fn qr_svg(State(state): State<AppState>, MaybeAccount(who): MaybeAccount, Path(id): Path<i64>) -> WebResult<Response> {
    let who = who.ok_or(WebError::NotFound)?;
    let (project, _) = project_frame::load(&state, id, &who).await?;
    let survey = state.app.survey(&project).await?;
    if survey.status != SurveyStatus::Published {
        return Err(WebError::NotFound);
    }
    let svg = svg_of(&state.survey_url(&survey.slug))?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"))], svg).into_response())
}

/// The link as a QR code (error correction M, the usual for printed
/// links), black on white with the standard quiet zone.
fn svg_of(link: &str) -> WebResult<String> {
    let code = QrCode::with_error_correction_level(link.as_bytes(), qrcode::EcLevel::M).map_err(|e| WebError::Internal(anyhow::anyhow!("the survey link does not fit a QR code: {e}")))?;
    Ok(code.render::<svg::Color>().min_dimensions(240, 240).dark_color(svg::Color("#000000")).light_color(svg::Color("#ffffff")).build())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_link_becomes_an_svg_qr_code() {
        let svg = super::svg_of("http://127.0.0.1:8080/s/AbCdEfGhIjKl").unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
        assert!(!svg.contains("style="), "no inline style: {svg}");
    }
}
