//! Where a project's Salesforce work may go: into its original owner's org,
//! with the owner's link, once the survey was validated against that org by
//! that owner — never with a collaborator's link. The rule itself is
//! `domain::SalesforceWork::decide`; this reads its inputs.

use domain::{Owner, SalesforceWork};
use store::integrations::validation_of;
use store::projects::Project;
use store::Store;

/// The project's Salesforce work as decided from its owner's link and what
/// its mappings were validated against. The account looking at the project
/// is deliberately not an input.
pub async fn salesforce_work(store: &Store, project: &Project) -> store::Result<SalesforceWork> {
    let link = store.link(project.owner_id).await?;
    let integration = store.integration(project.id).await?;
    Ok(SalesforceWork::decide(owner_of(project), link.map(|l| l.facts()), validation_of(integration.as_ref(), project.owner_id)))
}

/// The project's original owner, as pages and hold reasons name them.
pub fn owner_of(project: &Project) -> Owner {
    Owner { name: project.owner_name.clone(), email: project.owner_email.clone() }
}
