//! Backfill: a new or changed mapping delivered for the responses that came
//! before it, through the same outbox and worker as new responses (batched,
//! exactly once: a response's records are found again by its key or by the
//! match, never made twice). Only someone who may change what is written
//! into the owner's org starts one, and only while the mappings fit it:
//! otherwise the earlier responses would only be held.

use crate::consent::{actor, record, require_salesforce_changes};
use crate::{App, AppError};
pub use store::backfills::Backfill;
use store::projects::Project;

impl App {
    /// Starts a backfill of the project's earlier responses.
    pub async fn start_backfill(&self, project: &Project, by: &crate::accounts::Account) -> Result<Backfill, AppError> {
        require_salesforce_changes(project)?;
        let integration = self.store.integration(project.id).await?;
        if integration.as_ref().is_none_or(|i| i.mappings.is_empty()) {
            return Err(AppError::Invalid("This survey maps nothing into Salesforce yet: add a mapping first.".into()));
        }
        let work = crate::ownership::salesforce_work(&self.store, project).await?;
        if !work.may_deliver() {
            let why = work.held_because().unwrap_or_else(|| "its mappings do not fit the owner's org".into());
            return Err(AppError::Invalid(format!("Earlier responses would only be held now: {why}. Fix that first, then backfill.")));
        }
        let Some(run) = self.store.start_backfill(project.id, by.id).await? else {
            let running = self.store.latest_backfill(project.id).await?;
            let at = running.map(|b| format!(" ({} of {} sent)", b.done, b.total)).unwrap_or_default();
            return Err(AppError::Invalid(format!("A backfill of this survey is under way{at}; wait for it to finish.")));
        };
        record(&self.store, project, &actor(by), &format!("started a backfill: {} earlier response(s) sent through the current mappings", run.total)).await?;
        tracing::info!(project = project.id, responses = run.total, "backfill started");
        Ok(run)
    }

    /// The project's latest backfill and how far it got.
    pub async fn backfill(&self, project: &Project) -> Result<Option<Backfill>, AppError> {
        Ok(self.store.latest_backfill(project.id).await?)
    }
}
