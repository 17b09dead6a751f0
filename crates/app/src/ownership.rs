//! Which link a project's Salesforce work runs with: its original owner's,
//! never a collaborator's. The rule itself is `domain::ProjectLinkStatus`;
//! this reads its inputs.

use domain::{Owner, ProjectLinkStatus};
use store::projects::Project;
use store::Store;

/// The project's Salesforce status, from its owner's link. The account
/// looking at the project is deliberately not an input.
pub async fn project_link_status(store: &Store, project: &Project) -> store::Result<ProjectLinkStatus> {
    let owner = Owner { name: project.owner_name.clone(), email: project.owner_email.clone() };
    let link = store.link(project.owner_id).await?;
    // Integrations record the org they were validated against once surveys
    // map responses or take triggers; until then nothing is pinned.
    let built_against: Option<&str> = None;
    Ok(ProjectLinkStatus::decide(owner, link.map(|l| l.facts()), built_against))
}
