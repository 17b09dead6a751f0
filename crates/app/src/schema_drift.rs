//! Schema drift: mappings are checked against the owner's org when they are
//! saved, but an admin may change the org afterwards — delete or rename a
//! field, make it read-only, change its type, remove a picklist value. The
//! schema check reads every mapped object's describe again, fresh, and runs
//! the same `Mapping::check`. A mapping that no longer fits is flagged with
//! what changed, and the survey stops counting as validated, so its
//! deliveries are held (never failed) with that reason; once every mapping
//! fits again the flag goes, the survey is validated again and the held
//! deliveries are sent. A survey pinned by a switch or a transfer keeps its
//! pin and is only flagged: its transition decides the rest.
//!
//! The check runs from the project's Salesforce page (a button) and on a
//! schedule (`run_schema_checks`), the same function both times.

use crate::integration::{load, release_deliverable, IntegrationError};
use crate::{AppError, SalesforceSettings};
use domain::mapping::{DriftedMapping, ObjectSchema};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use std::collections::HashMap;
use std::time::Duration;
use store::projects::Project;
use store::Store;

pub use store::integrations::SchemaCheck as LastSchemaCheck;

/// Describes read at once: enough to check 20 objects in a few round trips,
/// few enough to leave the owner's concurrent-request allowance alone.
pub const DESCRIBE_CONCURRENCY: usize = 4;
/// A describe that takes longer than this is given up, and the check with it.
pub const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(20);

/// How often the schema is checked, and how soon a person may ask again.
#[derive(Debug, Clone, Copy)]
pub struct SchemaCheckSettings {
    /// Between scheduled checks of one project; zero turns them off.
    pub interval: Duration,
    /// A check costs the owner's API calls: one asked for within this long
    /// of the last one is refused.
    pub min_gap: Duration,
}

impl Default for SchemaCheckSettings {
    fn default() -> Self {
        SchemaCheckSettings { interval: Duration::from_secs(6 * 3600), min_gap: Duration::from_secs(10) }
    }
}

/// What a schema check found.
#[derive(Debug, Clone)]
pub struct SchemaCheck {
    pub checked_at: i64,
    /// Every mapping that no longer fits, with what changed; empty: all fit.
    pub drifted: Vec<DriftedMapping>,
    /// Deliveries are held because of it (the survey was validated, or
    /// already flagged). False for a survey still being set up, whose
    /// mappings never fit yet, and for a pinned survey, held anyway.
    pub holds: bool,
    pub pinned: bool,
}

impl SchemaCheck {
    pub fn fits(&self) -> bool {
        self.drifted.is_empty()
    }
}

/// Checks the project's mappings against the owner's org as it is now (see
/// the module's comment), flags or clears the drift, and holds or releases
/// the deliveries accordingly.
pub async fn check_project(store: &Store, settings: &SalesforceSettings, project: &Project) -> Result<SchemaCheck, AppError> {
    let current = load(store, settings, project).await?;
    let checked_at = store::now_ms();
    let pinned = current.work(project).is_pinned();
    if current.mappings.is_empty() {
        store.save_schema_check(project.id, None, checked_at).await?;
        return Ok(SchemaCheck { checked_at, drifted: Vec::new(), holds: false, pinned });
    }
    let schemas = describe_fresh(settings, &current.org, current.mappings.iter().map(|m| m.object.as_str())).await?;
    let drifted: Vec<DriftedMapping> = current
        .mappings
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let schema = schemas.get(&m.object.as_str().to_ascii_lowercase()).and_then(Option::as_ref);
            let mut problems = m.check(schema, &current.survey);
            problems.extend(domain::mapping::related_problems(&current.mappings, i));
            m.drift(i, schema, &problems, &current.survey)
        })
        .collect();
    let flagged_before = store.schema_check(project.id).await?.drift.is_some();
    let org_id = current.org.org_id.as_str();
    if !drifted.is_empty() {
        // Mappings that never fit are a survey being set up, not drift.
        let holds = current.validated_org_id.is_some() || flagged_before;
        if holds {
            // The reason first, so a delivery held from here on gives it.
            store.save_schema_check(project.id, Some(&drifted), checked_at).await?;
            if !pinned && current.validated_org_id.is_some() {
                if !store.save_integration(project.id, &current.mappings, None, current.version).await? {
                    return Err(IntegrationError::Conflict.into());
                }
                tracing::info!(project = project.id, org = %org_id, drifted = drifted.len(), "Salesforce fields changed under the mappings; deliveries held");
            }
            // Written before this check found the change, they failed on it;
            // held with the others, they are sent again once all fits.
            if let Some(why) = crate::ownership::salesforce_work(store, project).await?.held_because() {
                store.hold_failed_by_schema_change(project.id, &why).await?;
            }
        } else {
            store.save_schema_check(project.id, None, checked_at).await?;
        }
        return Ok(SchemaCheck { checked_at, drifted, holds: holds && !pinned, pinned });
    }
    // Everything fits: validated against the org again, as a change that
    // fits would be (a pinned survey waits for its transition instead).
    if !pinned && current.validated_org_id.as_deref() != Some(org_id) {
        if !store.save_integration(project.id, &current.mappings, Some(org_id), current.version).await? {
            return Err(IntegrationError::Conflict.into());
        }
        tracing::info!(project = project.id, org = %org_id, "every mapping fits the owner's org again");
    }
    store.save_schema_check(project.id, None, checked_at).await?;
    if !pinned {
        release_deliverable(store, project.owner_id).await?;
    }
    Ok(SchemaCheck { checked_at, drifted, holds: false, pinned })
}

/// Each distinct object's describe, read fresh (the describe cache is
/// bypassed and refreshed), a few at a time, each within `DESCRIBE_TIMEOUT`.
/// By lower-cased name; `None`: the org has no such object.
pub(crate) async fn describe_fresh<'a>(
    settings: &SalesforceSettings,
    org: &crate::integration::OwnerOrg,
    objects: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, Option<ObjectSchema>>, IntegrationError> {
    let mut distinct: Vec<String> = objects.map(str::to_ascii_lowercase).collect();
    distinct.sort();
    distinct.dedup();
    stream::iter(distinct)
        .map(|object| async move {
            let described = tokio::time::timeout(DESCRIBE_TIMEOUT, settings.describes.refresh_with(&org.client, &org.org_id, &object)).await;
            match described {
                Ok(Ok(schema)) => Ok((object, schema)),
                Ok(Err(e)) if e.is_refresh_revoked() => Err(IntegrationError::OwnerNeedsReauthentication { owner: String::from("The owner") }),
                Ok(Err(e)) => Err(IntegrationError::Salesforce(e.to_string())),
                Err(_) => Err(IntegrationError::Salesforce(format!(
                    "{} did not describe {object} within {} seconds; nothing was changed, try again later.",
                    org.org_name,
                    DESCRIBE_TIMEOUT.as_secs()
                ))),
            }
        })
        .buffer_unordered(DESCRIBE_CONCURRENCY)
        .try_collect()
        .await
}

impl crate::App {
    /// The check a person asked for on the project's Salesforce page:
    /// refused within `min_gap` of the last one, since it costs the owner's
    /// API calls. Anyone who may edit the project may ask; it changes no
    /// mapping.
    pub async fn check_salesforce_fields(&self, project: &Project) -> Result<SchemaCheck, AppError> {
        crate::projects::require_edit(project)?;
        let settings = self.settings()?;
        if self.store.integration(project.id).await?.is_none_or(|i| i.mappings.is_empty()) {
            return Err(AppError::Invalid("This survey maps nothing into Salesforce yet, so there are no fields to check.".into()));
        }
        let gap = self.schema_checks.min_gap.as_millis() as i64;
        if !self.store.claim_schema_check(project.id, store::now_ms() - gap).await? {
            return Err(AppError::Conflict(format!(
                "Salesforce fields were checked less than {} seconds ago; wait a moment and check again.",
                self.schema_checks.min_gap.as_secs()
            )));
        }
        check_project(&self.store, settings, project).await
    }

    /// What the last schema check found.
    pub async fn schema_check(&self, project: &Project) -> Result<store::integrations::SchemaCheck, AppError> {
        Ok(self.store.schema_check(project.id).await?)
    }

    /// Checks every mapped project whose owner has a link, each once per
    /// `interval`, until `stop`. Projects are claimed before they are
    /// checked, so several servers on one database check each once.
    pub async fn run_schema_checks(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let interval = self.schema_checks.interval;
        let Some(settings) = self.salesforce.clone() else { return };
        if interval.is_zero() {
            return;
        }
        // Look for due projects often enough to keep to short intervals.
        let poll = interval.min(Duration::from_secs(60));
        loop {
            if *stop.borrow() {
                return;
            }
            if let Err(e) = self.schema_checks_once(&settings, interval).await {
                tracing::error!(error = %e, "schema checks could not reach the database");
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => return,
            }
        }
    }

    async fn schema_checks_once(&self, settings: &SalesforceSettings, interval: Duration) -> store::Result<()> {
        let due_before = store::now_ms() - interval.as_millis() as i64;
        for project_id in self.store.projects_due_for_schema_check(due_before, 100).await? {
            if !self.store.claim_schema_check(project_id, due_before).await? {
                continue;
            }
            let Some(project) = self.store.project_as_owner(project_id).await? else { continue };
            match check_project(&self.store, settings, &project).await {
                Ok(check) if !check.fits() => tracing::info!(project = project_id, drifted = check.drifted.len(), "scheduled schema check: mappings drifted"),
                Ok(_) => {}
                // The next round tries again; a check that failed changed nothing.
                Err(e) => tracing::warn!(project = project_id, error = %e, "scheduled schema check failed"),
            }
        }
        Ok(())
    }
}
