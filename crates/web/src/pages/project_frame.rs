//! What every page of a project shares: loading it with the viewer's access
//! (both asked of `app`), its header, tabs and the Tools menu.

use crate::auth::session::CurrentAccount;
use crate::error::WebResult;
use crate::state::AppState;
use app::projects::Project;
use domain::{Access, Role};
use maud::{html, Markup};

/// The project as this account may see it; a stranger gets 404, never 403,
/// so the answer does not reveal that the project exists.
pub async fn load(state: &AppState, project_id: i64, who: &CurrentAccount) -> WebResult<(Project, Access)> {
    let project = state.app.project(who.account.id, project_id).await?;
    let access = app::projects::access(&project);
    Ok((project, access))
}

/// Refuses an edit by an account that may only view.
pub fn require_edit(project: &Project) -> WebResult<()> {
    Ok(app::projects::require_edit(project)?)
}

/// Refuses sharing, renaming or deleting by anyone but the original owner.
pub fn require_owner(project: &Project) -> WebResult<()> {
    Ok(app::projects::require_owner(project)?)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Survey,
    Responses,
    Results,
    Salesforce,
    Sharing,
    /// A page reached from Tools (rename or delete): no tab is it.
    Settings,
}

pub fn header(project: &Project, access: Access, tab: Tab) -> Markup {
    let base = format!("/projects/{}", project.id);
    let status = project.status;
    html! {
        p.muted .m-0 { a href="/projects" { "My Projects" } " › " }
        div.row .spread {
            h1 { (project.name) " " span class={"badge " (status.as_str())} { (status.label()) } }
        }
        p.muted .pull-up {
            "Original owner: " strong data-testid="project-owner" { (project.owner_name) } " (" (project.owner_email) ")"
            @if project.role != Role::Owner {
                " · you are " strong { (project.role.label().to_lowercase()) }
                @if !access.can_edit() { " (view only)" }
            }
        }
        nav.tabs {
            a class=@if tab == Tab::Survey { "active" } href={(base) "/survey"} { "Survey" }
            a class=@if tab == Tab::Responses { "active" } href={(base) "/responses"} { "Responses (" (project.response_count) ")" }
            a class=@if tab == Tab::Results { "active" } href={(base) "/results"} { "Results" }
            a class=@if tab == Tab::Salesforce { "active" } href={(base) "/salesforce"} { "Salesforce" }
            a class=@if tab == Tab::Sharing { "active" } href={(base) "/sharing"} { "Sharing" }
            span.spacer {}
            (tools_menu(project, access))
        }
    }
}

/// The Survey view's Tools menu.
fn tools_menu(project: &Project, access: Access) -> Markup {
    let base = format!("/projects/{}", project.id);
    html! {
        details.menu #tools-menu {
            summary { "Tools ▾" }
            div.menu-items {
                div.group { "Responses" }
                a href={(base) "/responses.csv"} { "Export responses (CSV)" }
                div.group { "Project" }
                a href={(base) "/preview"} { "Preview the survey" }
                // Only the original owner shares, renames, deletes and links: the
                // others see what they may do, not buttons that would be refused.
                @if access.can_manage() {
                    a href={(base) "/sharing"} { "Share project" }
                    a href={(base) "/settings"} { "Rename or delete project" }
                } @else {
                    a href={(base) "/sharing"} { "Who has access" }
                }
                div.group { "Salesforce" }
                @if access.can_manage() {
                    a href={"/salesforce/link?return_to=" (base) "/salesforce"} { "Setup Link to Salesforce Account" }
                } @else {
                    span.muted .menu-note { "Uses " (project.owner_name) "'s Salesforce link" }
                }
                a href={(base) "/salesforce"} { "Salesforce status of this project" }
            }
        }
    }
}
