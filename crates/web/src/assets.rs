//! Static assets: the one stylesheet and the one script, each served under a
//! name that carries the hash of its bytes, so browsers may keep them for a
//! year and a new build is a new URL. No page carries a style or a script of
//! its own, so the Content-Security-Policy allows styles and scripts from
//! this site only (no 'unsafe-inline'). Every page works without the script;
//! it only makes pickers searchable, says at once why a field cannot take a
//! value, and asks before a removal.

use crate::state::AppState;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const STYLESHEET: &str = include_str!("../assets/insight.css");
const SCRIPT: &str = include_str!("../assets/insight.js");
const FAVICON: &str = include_str!("../assets/favicon.svg");

/// Where browsers look for the icon: a fixed name, since `/favicon.ico` is
/// asked for by name whatever the page links.
pub const FAVICON_HREF: &str = "/favicon.svg";

/// `/assets/<stem>-<first 16 hex digits of the SHA-256 of its bytes>.<ext>`.
fn hashed_href(stem: &str, ext: &str, bytes: &str) -> String {
    let digest = hex::encode(Sha256::digest(bytes.as_bytes()));
    format!("/assets/{stem}-{}.{ext}", &digest[..16])
}

static STYLESHEET_HREF: LazyLock<String> = LazyLock::new(|| hashed_href("insight", "css", STYLESHEET));
static SCRIPT_HREF: LazyLock<String> = LazyLock::new(|| hashed_href("insight", "js", SCRIPT));

/// Where pages link the stylesheet.
pub fn stylesheet_href() -> &'static str {
    &STYLESHEET_HREF
}

/// Where pages load the script.
pub fn script_href() -> &'static str {
    &SCRIPT_HREF
}

fn immutable(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            // The URL changes with the bytes, so what is fetched once never goes stale.
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
        ],
        body,
    )
}

/// The icon's name does not change with its bytes, so browsers keep it a day.
fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
        ],
        FAVICON,
    )
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(stylesheet_href(), get(|| async { immutable("text/css; charset=utf-8", STYLESHEET) }))
        .route(script_href(), get(|| async { immutable("text/javascript; charset=utf-8", SCRIPT) }))
        .route(FAVICON_HREF, get(|| async { favicon() }))
        // Browsers that ask for the old name by habit get the SVG.
        .route("/favicon.ico", get(|| async { axum::response::Redirect::permanent(FAVICON_HREF) }))
}
