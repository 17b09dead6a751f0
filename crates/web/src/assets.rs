//! Static assets: the one stylesheet, served under a name that carries the
//! hash of its bytes, so browsers may keep it for a year and a new build is a
//! new URL. No page carries a style of its own, so the Content-Security-Policy
//! allows styles from this site only (no 'unsafe-inline').

use crate::state::AppState;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const STYLESHEET: &str = include_str!("../assets/insight.css");

/// `/assets/insight-<first 16 hex digits of the SHA-256 of its bytes>.css`,
/// computed once.
static STYLESHEET_HREF: LazyLock<String> = LazyLock::new(|| {
    let digest = hex::encode(Sha256::digest(STYLESHEET.as_bytes()));
    format!("/assets/insight-{}.css", &digest[..16])
});

/// Where pages link the stylesheet.
pub fn stylesheet_href() -> &'static str {
    &STYLESHEET_HREF
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            // The URL changes with the bytes, so what is fetched once never goes stale.
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
        ],
        STYLESHEET,
    )
}

pub fn router() -> Router<AppState> {
    Router::new().route(stylesheet_href(), get(stylesheet))
}
