//! A project's Salesforce history: every change to what it writes into its
//! owner's org (mappings, transitions, grants, ownership), who made it, when.

use crate::{now_ms, Result, Store};

/// Who made a change.
#[derive(Debug, Clone)]
pub struct Actor {
    pub account_id: i64,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub id: i64,
    pub project_id: i64,
    pub project_name: String,
    pub actor_name: String,
    pub actor_email: String,
    /// False when a collaborator made the change: the owner sees those.
    pub by_owner: bool,
    pub change: String,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    project_id: i64,
    project_name: String,
    actor_name: String,
    actor_email: String,
    by_owner: i64,
    change: String,
    created_at: i64,
}

impl From<Row> for HistoryEntry {
    fn from(r: Row) -> HistoryEntry {
        HistoryEntry {
            id: r.id,
            project_id: r.project_id,
            project_name: r.project_name,
            actor_name: r.actor_name,
            actor_email: r.actor_email,
            by_owner: r.by_owner != 0,
            change: r.change,
            created_at: r.created_at,
        }
    }
}

const COLUMNS: &str = "h.id, h.project_id, p.name AS project_name, h.actor_name, h.actor_email, h.by_owner, h.change, h.created_at";

impl Store {
    pub async fn record_salesforce_change(&self, project_id: i64, actor: &Actor, by_owner: bool, change: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO salesforce_history (project_id, account_id, actor_name, actor_email, by_owner, change, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(project_id)
        .bind(actor.account_id)
        .bind(&actor.name)
        .bind(&actor.email)
        .bind(i64::from(by_owner))
        .bind(change)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A project's history, newest first.
    pub async fn salesforce_history(&self, project_id: i64, limit: i64) -> Result<Vec<HistoryEntry>> {
        let sql = format!("SELECT {COLUMNS} FROM salesforce_history h JOIN projects p ON p.id = h.project_id WHERE h.project_id = $1 ORDER BY h.id DESC LIMIT $2");
        let rows = sqlx::query_as::<_, Row>(&sql).bind(project_id).bind(limit).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(HistoryEntry::from).collect())
    }

    /// Changes collaborators made to the projects an account owns now, newest first.
    pub async fn collaborator_changes_for_owner(&self, owner_id: i64, limit: i64) -> Result<Vec<HistoryEntry>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM salesforce_history h JOIN projects p ON p.id = h.project_id
              WHERE p.owner_id = $1 AND p.deleted_at IS NULL AND h.by_owner = 0 AND (h.account_id IS NULL OR h.account_id <> $1)
              ORDER BY h.id DESC LIMIT $2"
        );
        let rows = sqlx::query_as::<_, Row>(&sql).bind(owner_id).bind(limit).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(HistoryEntry::from).collect())
    }
}
