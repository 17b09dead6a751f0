//! The Salesforce link as a person sees it: the account's Salesforce page,
//! the link set-up page and its OAuth callback, and each project's panel
//! saying whose link the project uses.

mod account_page;
mod backfill;
mod delivery_log;
mod dry_run;
mod link_flow;
mod mapping_json;
mod new_mapping;
mod outbound;
mod project_panel;
mod schema_check;
mod recode;
mod switch;
mod trigger_page;

pub use outbound::too_large as outbound_too_large;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new().merge(account_page::router()).merge(delivery_log::router()).merge(backfill::router()).merge(link_flow::router()).merge(project_panel::router()).merge(schema_check::router()).merge(mapping_json::router()).merge(new_mapping::router()).merge(dry_run::router()).merge(switch::router()).merge(trigger_page::router()).merge(outbound::router())
}
