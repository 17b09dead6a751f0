//! The endpoint Salesforce posts outbound messages to:
//! `POST /salesforce/outbound/{token}`. It answers `<Ack>true</Ack>` only
//! once every notification of the envelope is recorded; anything it refuses
//! gets a SOAP fault (and Salesforce retries for a day).

use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new().route("/salesforce/outbound/{token}", post(receive))
}

const XML: &str = "text/xml; charset=utf-8";

async fn receive(State(state): State<AppState>, Path(token): Path<String>, body: Bytes) -> Response {
    match state.app.receive_outbound(&token, &body).await {
        Ok(_) => (StatusCode::OK, [(header::CONTENT_TYPE, XML)], app::triggers::ack_xml()).into_response(),
        Err(refused) => {
            tracing::info!(status = refused.status, reason = %refused.reason, "outbound message refused");
            let status = StatusCode::from_u16(refused.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, [(header::CONTENT_TYPE, XML)], app::triggers::fault_xml(&refused.reason)).into_response()
        }
    }
}

/// A body over the limit, refused before it is read, still gets a fault.
pub fn too_large() -> Response {
    let reason = format!("the message is larger than {} bytes", app::triggers::MAX_ENVELOPE_BYTES);
    (StatusCode::PAYLOAD_TOO_LARGE, [(header::CONTENT_TYPE, XML)], app::triggers::fault_xml(&reason)).into_response()
}
