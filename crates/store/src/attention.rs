//! What My Projects needs to say at a glance: the facts behind "what needs
//! attention" for every project an account sees, and the getting-started
//! checklist's progress. A fixed number of queries however many projects
//! the account has (My Projects may list hundreds).

use crate::integrations::{Integration, Row as IntegrationRow};
use crate::links::{Link, LinkRow, LINK_SELECT};
use crate::{now_ms, Result, Store};
use domain::attention::DeliveryTally;
use domain::getting_started::Progress;
use std::collections::{HashMap, HashSet};

/// The projects `$1` owns or was shared (not deleted), as a subquery.
const VISIBLE: &str = "SELECT id FROM projects WHERE owner_id = $1 AND deleted_at IS NULL
    UNION SELECT sh.project_id FROM project_shares sh JOIN projects p ON p.id = sh.project_id WHERE sh.account_id = $1 AND p.deleted_at IS NULL";

/// The attention facts of every project an account sees, keyed by project
/// (links by owner account).
#[derive(Debug, Default)]
pub struct AttentionFacts {
    pub deliveries: HashMap<i64, DeliveryTally>,
    pub integrations: HashMap<i64, Integration>,
    /// Projects with a trigger.
    pub triggers: HashSet<i64>,
    /// The links of the projects' owners, by owner.
    pub owner_links: HashMap<i64, Link>,
}

impl Store {
    /// Four queries for all of an account's projects: delivery tallies,
    /// integrations, triggers, and the owners' links.
    pub async fn attention_facts(&self, account_id: i64) -> Result<AttentionFacts> {
        let tallies: Vec<(i64, i64, i64, i64)> = sqlx::query_as(&format!(
            "SELECT project_id,
                    CAST(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS BIGINT),
                    CAST(SUM(CASE WHEN status = 'held' THEN 1 ELSE 0 END) AS BIGINT),
                    CAST(SUM(CASE WHEN status = 'pending' AND note LIKE $2 THEN 1 ELSE 0 END) AS BIGINT)
               FROM deliveries
              WHERE status IN ('failed', 'held', 'pending') AND project_id IN ({VISIBLE})
              GROUP BY project_id"
        ))
        .bind(account_id)
        .bind(format!("{}%", domain::budget::WAIT_PREFIX))
        .persistent(false)
        .fetch_all(&self.pool)
        .await?;
        let deliveries = tallies
            .into_iter()
            .map(|(id, failed, held, waiting_for_budget)| (id, DeliveryTally { failed, held, waiting_for_budget }))
            .collect();

        let rows = sqlx::query_as::<_, IntegrationRow>(&format!(
            "SELECT project_id, mappings, validated_org_id, validated_owner_id, validated_at, version, drift
               FROM salesforce_integrations WHERE project_id IN ({VISIBLE})"
        ))
        .bind(account_id)
        .persistent(false)
        .fetch_all(&self.pool)
        .await?;
        let mut integrations = HashMap::new();
        for row in rows {
            let integration = Integration::try_from(row)?;
            integrations.insert(integration.project_id, integration);
        }

        let triggers: Vec<(i64,)> = sqlx::query_as(&format!("SELECT project_id FROM survey_triggers WHERE project_id IN ({VISIBLE})"))
            .bind(account_id)
            .persistent(false)
            .fetch_all(&self.pool)
            .await?;

        let links = sqlx::query_as::<_, LinkRow>(&format!(
            "{LINK_SELECT} WHERE l.account_id IN (SELECT owner_id FROM projects WHERE id IN ({VISIBLE}))"
        ))
        .bind(account_id)
        .persistent(false)
        .fetch_all(&self.pool)
        .await?;
        let mut owner_links = HashMap::new();
        for row in links {
            let link = Link::try_from(row)?;
            owner_links.insert(link.account_id, link);
        }
        Ok(AttentionFacts { deliveries, integrations, triggers: triggers.into_iter().map(|(id,)| id).collect(), owner_links })
    }

    /// How far the account got with the getting-started steps (its own
    /// projects only), and whether it hid the checklist: one query.
    pub async fn getting_started(&self, account_id: i64) -> Result<(Progress, bool)> {
        let owned = "SELECT id FROM projects WHERE owner_id = $1 AND deleted_at IS NULL";
        let (linked, mapped, published, triggered, newest, hidden): (i64, i64, i64, i64, Option<i64>, i64) = sqlx::query_as(&format!(
            "SELECT
                CAST(CASE WHEN EXISTS (SELECT 1 FROM salesforce_links WHERE account_id = $1) THEN 1 ELSE 0 END AS BIGINT),
                CAST(CASE WHEN EXISTS (SELECT 1 FROM salesforce_integrations WHERE mappings <> '[]' AND project_id IN ({owned})) THEN 1 ELSE 0 END AS BIGINT),
                CAST(CASE WHEN EXISTS (SELECT 1 FROM surveys WHERE status = 'published' AND project_id IN ({owned})) THEN 1 ELSE 0 END AS BIGINT),
                CAST(CASE WHEN EXISTS (SELECT 1 FROM survey_triggers WHERE project_id IN ({owned})) THEN 1 ELSE 0 END AS BIGINT),
                (SELECT MAX(id) FROM projects WHERE owner_id = $1 AND deleted_at IS NULL),
                CAST(CASE WHEN EXISTS (SELECT 1 FROM accounts WHERE id = $1 AND getting_started_hidden_at IS NOT NULL) THEN 1 ELSE 0 END AS BIGINT)"
        ))
        .bind(account_id)
        .persistent(false)
        .fetch_one(&self.pool)
        .await?;
        let progress = Progress { linked: linked != 0, mapped: mapped != 0, published: published != 0, triggered: triggered != 0, newest_project: newest };
        Ok((progress, hidden != 0))
    }

    /// The account hides its getting-started checklist for good.
    pub async fn hide_getting_started(&self, account_id: i64) -> Result<()> {
        sqlx::query("UPDATE accounts SET getting_started_hidden_at = $1 WHERE id = $2 AND getting_started_hidden_at IS NULL")
            .bind(now_ms())
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
