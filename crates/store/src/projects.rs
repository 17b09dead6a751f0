//! Projects and sharing. Every read that serves a person goes through
//! `project_for`, which answers `None` to an account with no role, so a
//! stranger cannot tell a project exists.

use crate::columns::Column;
use crate::{now_ms, Result, Store, StoreError};
use domain::{ProjectName, Role, SurveyDefinition, SurveyStatus};

/// A project as an account sees it: with the account's role in it.
#[derive(Debug, Clone)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub owner_email: String,
    pub role: Role,
    /// The owner's grant on this account's share: may change what the
    /// project writes into the owner's Salesforce org.
    pub salesforce_changes: bool,
    pub status: SurveyStatus,
    pub response_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct ProjectRow {
    id: i64,
    name: String,
    owner_id: i64,
    owner_name: String,
    owner_email: String,
    role: String,
    salesforce_changes: i64,
    status: String,
    response_count: i64,
    created_at: i64,
    updated_at: i64,
}

/// A role as stored: a project's owner is named `owner` by the queries, a
/// share's role is its `project_shares.role`.
fn role_from_column(raw: &str) -> Result<Role> {
    Role::from_column("project_shares", "role", raw)
}

impl TryFrom<ProjectRow> for Project {
    type Error = StoreError;
    fn try_from(r: ProjectRow) -> Result<Project> {
        let role = role_from_column(&r.role)?;
        Ok(Project {
            id: r.id,
            name: r.name,
            owner_id: r.owner_id,
            owner_name: r.owner_name,
            owner_email: r.owner_email,
            role,
            salesforce_changes: role == Role::Editor && r.salesforce_changes != 0,
            status: SurveyStatus::from_column("surveys", "status", &r.status)?,
            response_count: r.response_count,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// One account a project is shared with.
#[derive(Debug, Clone)]
pub struct Share {
    pub account_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The owner granted this editor Salesforce changes.
    pub salesforce_changes: bool,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
struct ShareRow {
    account_id: i64,
    email: String,
    name: String,
    role: String,
    salesforce_changes: i64,
    created_at: i64,
}

impl TryFrom<ShareRow> for Share {
    type Error = StoreError;
    fn try_from(r: ShareRow) -> Result<Share> {
        let role = role_from_column(&r.role)?;
        Ok(Share { account_id: r.account_id, email: r.email, name: r.name, role, salesforce_changes: r.salesforce_changes != 0, created_at: r.created_at })
    }
}

const PROJECT_COLUMNS: &str = "p.id, p.name, p.owner_id, o.name AS owner_name, o.email AS owner_email,
    s.status, s.response_count, p.created_at, p.updated_at";

impl Store {
    /// Creates a project owned by `owner_id`, with its empty survey.
    pub async fn create_project(&self, owner_id: i64, name: &ProjectName, slug: &str) -> Result<i64> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO projects (name, owner_id, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id",
        )
        .bind(name.as_str())
        .bind(owner_id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let definition = serde_json::to_string(&SurveyDefinition::default()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query("INSERT INTO surveys (project_id, definition, slug, updated_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(definition)
            .bind(slug)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The projects an account owns or was shared, newest first.
    pub async fn projects_of(&self, account_id: i64) -> Result<Vec<Project>> {
        let sql = format!(
            "SELECT * FROM (
             SELECT {PROJECT_COLUMNS}, 'owner' AS role, 0 AS salesforce_changes
               FROM projects p JOIN accounts o ON o.id = p.owner_id JOIN surveys s ON s.project_id = p.id
              WHERE p.owner_id = $1 AND p.deleted_at IS NULL
             UNION ALL
             SELECT {PROJECT_COLUMNS}, sh.role AS role, sh.salesforce_changes
               FROM project_shares sh JOIN projects p ON p.id = sh.project_id
               JOIN accounts o ON o.id = p.owner_id JOIN surveys s ON s.project_id = p.id
              WHERE sh.account_id = $1 AND p.deleted_at IS NULL
             ) mine ORDER BY created_at DESC, id DESC"
        );
        let rows = sqlx::query_as::<_, ProjectRow>(&sql).bind(account_id).fetch_all(&self.pool).await?;
        rows.into_iter().map(Project::try_from).collect()
    }

    /// The project as `account_id` may see it, or `None` when the account has
    /// no role in it or it was deleted.
    pub async fn project_for(&self, project_id: i64, account_id: i64) -> Result<Option<Project>> {
        let sql = format!(
            "SELECT {PROJECT_COLUMNS},
                    CASE WHEN p.owner_id = $2 THEN 'owner' ELSE sh.role END AS role,
                    CASE WHEN p.owner_id = $2 THEN 0 ELSE sh.salesforce_changes END AS salesforce_changes
               FROM projects p JOIN accounts o ON o.id = p.owner_id JOIN surveys s ON s.project_id = p.id
               LEFT JOIN project_shares sh ON sh.project_id = p.id AND sh.account_id = $2
              WHERE p.id = $1 AND p.deleted_at IS NULL AND (p.owner_id = $2 OR sh.account_id IS NOT NULL)"
        );
        let row = sqlx::query_as::<_, ProjectRow>(&sql).bind(project_id).bind(account_id).fetch_optional(&self.pool).await?;
        row.map(Project::try_from).transpose()
    }

    pub async fn rename_project(&self, project_id: i64, name: &ProjectName) -> Result<()> {
        sqlx::query("UPDATE projects SET name = $1, updated_at = $2 WHERE id = $3 AND deleted_at IS NULL")
            .bind(name.as_str())
            .bind(now_ms())
            .bind(project_id)
            .execute(&self.pool)
            .await?;
        self.links.forget(project_id);
        Ok(())
    }

    /// Deletes a project for everyone. Its responses stay on disk (marked by
    /// the project's deletion time) so an accidental delete can be undone by
    /// an operator; its survey link stops accepting responses at once (on
    /// another server of the same database, within `LINK_CACHE_TTL`).
    pub async fn delete_project(&self, project_id: i64) -> Result<()> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE projects SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL")
            .bind(now)
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE surveys SET status = 'draft', updated_at = $1 WHERE project_id = $2")
            .bind(now)
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.links.forget(project_id);
        Ok(())
    }

    pub async fn shares(&self, project_id: i64) -> Result<Vec<Share>> {
        let rows = sqlx::query_as::<_, ShareRow>(
            "SELECT a.id AS account_id, a.email, a.name, sh.role, sh.salesforce_changes, sh.created_at
               FROM project_shares sh JOIN accounts a ON a.id = sh.account_id
              WHERE sh.project_id = $1 ORDER BY sh.created_at, a.id",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Share::try_from).collect()
    }

    /// Shares a project with an account, or changes the role it was shared
    /// with. The Salesforce grant is set with the share; a viewer never
    /// holds one, so sharing as viewer clears it.
    pub async fn share_project(&self, project_id: i64, account_id: i64, role: Role, salesforce_changes: bool) -> Result<()> {
        debug_assert!(role != Role::Owner, "a project is never shared as owner");
        let grant = i64::from(salesforce_changes && domain::project::grant_applies(role));
        sqlx::query(
            "INSERT INTO project_shares (project_id, account_id, role, salesforce_changes, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (project_id, account_id) DO UPDATE SET role = excluded.role, salesforce_changes = excluded.salesforce_changes",
        )
        .bind(project_id)
        .bind(account_id)
        .bind(role.to_column())
        .bind(grant)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Grants or revokes an editor's Salesforce changes; `false` when the
    /// account holds no editor share of the project.
    pub async fn set_salesforce_changes(&self, project_id: i64, account_id: i64, granted: bool) -> Result<bool> {
        let r = sqlx::query("UPDATE project_shares SET salesforce_changes = $1 WHERE project_id = $2 AND account_id = $3 AND role = 'editor'")
            .bind(i64::from(granted))
            .bind(project_id)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Revokes a share; `false` when there was none.
    pub async fn revoke_share(&self, project_id: i64, account_id: i64) -> Result<bool> {
        let r = sqlx::query("DELETE FROM project_shares WHERE project_id = $1 AND account_id = $2")
            .bind(project_id)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }
}
