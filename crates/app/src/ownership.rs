//! Which link a project's Salesforce work runs with: its original owner's,
//! never a collaborator's. The rule itself is `domain::ProjectLinkStatus`;
//! this reads its inputs.

use domain::{Owner, ProjectLinkStatus};
use store::projects::Project;
use store::Store;

/// The project's Salesforce status, from its owner's link and the org its
/// mappings were validated against. The account looking at the project is
/// deliberately not an input.
pub async fn project_link_status(store: &Store, project: &Project) -> store::Result<ProjectLinkStatus> {
    let owner = Owner { name: project.owner_name.clone(), email: project.owner_email.clone() };
    let link = store.link(project.owner_id).await?;
    let built_against = store.integration(project.id).await?.filter(|i| !i.mappings.is_empty()).and_then(|i| i.validated_org_id);
    Ok(ProjectLinkStatus::decide(owner, link.map(|l| l.facts()), built_against.as_deref()))
}
