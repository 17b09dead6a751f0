//! The Salesforce link as a person sees it: the account's Salesforce page,
//! the link set-up page and its OAuth callback, and each project's panel
//! saying whose link the project uses.

mod account_page;
mod link_flow;
mod project_panel;
mod switch;

use crate::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new().merge(account_page::router()).merge(link_flow::router()).merge(project_panel::router()).merge(switch::router())
}

/// What an event in the link's audit log is called on the page.
pub fn event_label(kind: &str) -> &str {
    match kind {
        "linked" => "Linked",
        "relinked" => "Relinked",
        "unlinked" => "Unlinked",
        "refresh_failed" => "Refresh failed",
        "test_ok" => "Connection tested",
        "test_failed" => "Connection test failed",
        "switch_cancelled" => "Switch cancelled",
        "switched" => "Switched org",
        other => other,
    }
}
