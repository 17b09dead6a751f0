//! The pages a signed-in person uses.

pub mod account;
pub mod account_security;
pub mod csv_download;
pub mod display_logic;
pub mod landing;
pub mod layout;
pub mod preview;
pub mod project_frame;
pub mod projects;
pub mod qr;
pub mod responses;
pub mod responses_table;
pub mod results;
pub mod sharing;
pub mod signed_links;
pub mod survey;
pub mod survey_texts;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(projects::router())
        .merge(survey::router())
        .merge(display_logic::router())
        .merge(survey_texts::router())
        .merge(preview::router())
        .merge(qr::router())
        .merge(signed_links::router())
        .merge(sharing::router())
        .merge(responses::router())
        .merge(results::router())
        .merge(account::router())
}
