//! Projects: an account's own and those shared with it, create, rename,
//! delete. A project is always read as one account sees it (its role and
//! grants), and what that account may do is `domain::Access`.

use crate::{App, AppError};
use domain::attention::{needs_attention, Attention, ProjectFacts};
use domain::getting_started::ChecklistItem;
use domain::{Access, ProjectName};
use rand::RngCore;
use std::collections::HashMap;

pub use crate::consent::require_owner;
pub use store::projects::Project;
pub use store::transfers::TransferOffer;

/// What the account may do with the project.
pub fn access(project: &Project) -> Access {
    crate::consent::access(project)
}

/// Refuses an edit by an account that may only view.
pub fn require_edit(project: &Project) -> Result<(), AppError> {
    if access(project).can_edit() {
        Ok(())
    } else {
        Err(AppError::ViewOnly { project: project.name.clone(), owner: project.owner_name.clone(), owner_email: project.owner_email.clone() })
    }
}

/// A survey's public link slug: 12 base-62 characters (~71 bits).
pub fn new_survey_slug() -> String {
    let alphabet = domain::ResponseId::ALPHABET;
    let mut bytes = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| alphabet[(*b as usize) % alphabet.len()] as char).collect()
}

/// My Projects: the projects an account owns or was shared, and the
/// transfers offered to it.
#[derive(Debug, Clone)]
pub struct MyProjects {
    pub projects: Vec<Project>,
    pub offers: Vec<TransferOffer>,
    /// Invitations to work on others' projects, waiting for an answer.
    pub invitations: Vec<crate::invitations::Invitation>,
    /// What needs attention on each project, by project id (absent: all is well).
    pub attention: HashMap<i64, Vec<Attention>>,
    /// The getting-started checklist, until every step is done or it is hidden.
    pub checklist: Option<Vec<ChecklistItem>>,
}

impl App {
    /// The project as this account may see it; `NotFound` for a stranger,
    /// never a refusal, so the answer does not reveal that it exists.
    pub async fn project(&self, account_id: i64, project_id: i64) -> Result<Project, AppError> {
        self.store.project_for(project_id, account_id).await?.ok_or(AppError::NotFound)
    }

    pub async fn projects_of(&self, account_id: i64) -> Result<Vec<Project>, AppError> {
        Ok(self.store.projects_of(account_id).await?)
    }

    pub async fn my_projects(&self, account: &crate::accounts::Account) -> Result<MyProjects, AppError> {
        let projects = self.store.projects_of(account.id).await?;
        let offers = crate::consent::transfers_offered_to(&self.store, account).await?;
        let invitations = crate::invitations::invitations_for(&self.store, account).await?;
        let attention = attention_of(&self.store, account.id, &projects).await?;
        let (progress, hidden) = self.store.getting_started(account.id).await?;
        let checklist = domain::getting_started::checklist(&progress, hidden);
        Ok(MyProjects { projects, offers, invitations, attention, checklist })
    }

    /// The account hides its getting-started checklist.
    pub async fn hide_getting_started(&self, account: &crate::accounts::Account) -> Result<(), AppError> {
        self.store.hide_getting_started(account.id).await?;
        tracing::info!(account = account.id, "getting-started checklist hidden");
        Ok(())
    }

    /// Creates a project, owned by the account, with an empty draft survey.
    pub async fn create_project(&self, account_id: i64, name: &ProjectName) -> Result<i64, AppError> {
        let id = self.store.create_project(account_id, name, &new_survey_slug()).await?;
        tracing::info!(project = id, account = account_id, "project created");
        Ok(id)
    }

    pub async fn rename_project(&self, project: &Project, name: &ProjectName) -> Result<(), AppError> {
        require_owner(project)?;
        Ok(self.store.rename_project(project.id, name).await?)
    }

    /// Deletes the project for everyone; its survey link stops accepting
    /// responses at once. `confirm` must be the project's name.
    pub async fn delete_project(&self, project: &Project, account_id: i64, confirm: &str) -> Result<(), AppError> {
        require_owner(project)?;
        if confirm.trim() != project.name {
            return Err(AppError::Invalid("The name you typed does not match the project's name; nothing was deleted.".into()));
        }
        self.store.delete_project(project.id).await?;
        tracing::info!(project = project.id, account = account_id, "project deleted");
        Ok(())
    }
}

/// What needs attention on each of `projects` (as `account_id` sees them),
/// read in a fixed number of queries and decided by
/// `domain::attention::needs_attention`.
async fn attention_of(store: &store::Store, account_id: i64, projects: &[Project]) -> Result<HashMap<i64, Vec<Attention>>, AppError> {
    if projects.is_empty() {
        return Ok(HashMap::new());
    }
    let facts = store.attention_facts(account_id).await?;
    let mut out = HashMap::new();
    for project in projects {
        let integration = facts.integrations.get(&project.id);
        let validation = store::integrations::validation_of(integration, project.owner_id);
        let link = facts.owner_links.get(&project.owner_id).map(|l| l.facts());
        let work = domain::SalesforceWork::decide(crate::ownership::owner_of(project), link, validation);
        let uses_salesforce = integration.is_some_and(|i| !i.mappings.is_empty()) || facts.triggers.contains(&project.id);
        let project_facts = ProjectFacts {
            access: access(project),
            work,
            uses_salesforce,
            schema_drift: integration.is_some_and(|i| i.drift.is_some()),
            deliveries: facts.deliveries.get(&project.id).copied().unwrap_or_default(),
        };
        let items = needs_attention(&project_facts);
        if !items.is_empty() {
            out.insert(project.id, items);
        }
    }
    Ok(out)
}
