//! A survey's Salesforce integration: its mappings and the org they were
//! validated against.

use crate::columns::json;
use crate::{now_ms, Result, Store, StoreError};
use domain::mapping::DriftedMapping;
use domain::{Mapping, Validation};

#[derive(Debug, Clone)]
pub struct Integration {
    pub project_id: i64,
    pub mappings: Vec<Mapping>,
    /// The org every mapping was last checked against and fit; `None` while
    /// some mapping does not fit (or was never checked).
    pub validated_org_id: Option<String>,
    /// The owner whose link the validation was made with.
    pub validated_owner_id: Option<i64>,
    pub validated_at: Option<i64>,
    pub version: i64,
    /// What the last schema check found drifted (see `schema_drift`).
    pub drift: Option<Vec<DriftedMapping>>,
}

impl Integration {
    /// What the mappings were validated against, as the decision of where
    /// Salesforce work goes needs it (`domain::SalesforceWork::decide`).
    pub fn validation(&self, current_owner_id: i64) -> Validation {
        if self.mappings.is_empty() {
            return Validation::NoMappings;
        }
        match &self.validated_org_id {
            None => match &self.drift {
                Some(drifted) => Validation::Drifted { changes: DriftedMapping::summary(drifted) },
                None => Validation::NotValidated,
            },
            Some(org_id) => Validation::Validated { org_id: org_id.clone(), by_current_owner: self.validated_owner_id == Some(current_owner_id) },
        }
    }
}

/// The validation of a project without an integration row.
pub fn validation_of(integration: Option<&Integration>, current_owner_id: i64) -> Validation {
    integration.map_or(Validation::NoMappings, |i| i.validation(current_owner_id))
}

#[derive(sqlx::FromRow)]
pub(crate) struct Row {
    project_id: i64,
    mappings: String,
    validated_org_id: Option<String>,
    validated_owner_id: Option<i64>,
    validated_at: Option<i64>,
    version: i64,
    drift: Option<String>,
}

impl TryFrom<Row> for Integration {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Integration> {
        Ok(Integration {
            project_id: r.project_id,
            mappings: json("mappings of project", r.project_id, &r.mappings)?,
            validated_org_id: r.validated_org_id,
            validated_owner_id: r.validated_owner_id,
            validated_at: r.validated_at,
            version: r.version,
            drift: r.drift.as_deref().map(|d| json("schema drift of project", r.project_id, d)).transpose()?,
        })
    }
}

/// A project of an owner that uses Salesforce, for switch previews.
#[derive(Debug, Clone)]
pub struct OwnedIntegration {
    pub project_id: i64,
    pub project_name: String,
    pub integration: Integration,
}

impl Store {
    pub async fn integration(&self, project_id: i64) -> Result<Option<Integration>> {
        let row = sqlx::query_as::<_, Row>(
            "SELECT project_id, mappings, validated_org_id, validated_owner_id, validated_at, version, drift FROM salesforce_integrations WHERE project_id = $1",
        )
        .bind(project_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Integration::try_from).transpose()
    }

    /// Saves the mappings and the org they were validated against with the
    /// project's current owner's link (`None`: some mapping does not fit), if
    /// nobody saved since `expected_version` (0: there was no integration yet;
    /// accepting a transfer moves the version on too).
    pub async fn save_integration(&self, project_id: i64, mappings: &[Mapping], validated_org_id: Option<&str>, expected_version: i64) -> Result<bool> {
        let json = serde_json::to_string(mappings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let now = now_ms();
        let validated_at = validated_org_id.map(|_| now);
        let r = if expected_version == 0 {
            sqlx::query(
                "INSERT INTO salesforce_integrations (project_id, mappings, validated_org_id, validated_owner_id, validated_at, version, updated_at)
                 VALUES ($1, $2, $3, CASE WHEN $3 IS NULL THEN NULL ELSE (SELECT owner_id FROM projects WHERE id = $1) END, $4, 1, $5)
                 ON CONFLICT (project_id) DO NOTHING",
            )
            .bind(project_id)
            .bind(json)
            .bind(validated_org_id)
            .bind(validated_at)
            .bind(now)
            .execute(&self.pool)
            .await?
        } else {
            sqlx::query(
                "UPDATE salesforce_integrations SET mappings = $1, validated_org_id = $2,
                        validated_owner_id = CASE WHEN $2 IS NULL THEN NULL ELSE (SELECT owner_id FROM projects WHERE id = $5) END,
                        validated_at = $3, version = version + 1, updated_at = $4,
                        drift = CASE WHEN $2 IS NULL THEN drift ELSE NULL END
                  WHERE project_id = $5 AND version = $6",
            )
            .bind(json)
            .bind(validated_org_id)
            .bind(validated_at)
            .bind(now)
            .bind(project_id)
            .bind(expected_version)
            .execute(&self.pool)
            .await?
        };
        Ok(r.rows_affected() == 1)
    }

    /// Saves remapped mappings of a pinned survey, keeping what it was
    /// validated against: only its transition re-enables it.
    pub async fn save_pinned_mappings(&self, project_id: i64, mappings: &[Mapping], expected_version: i64) -> Result<bool> {
        let json = serde_json::to_string(mappings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let r = sqlx::query("UPDATE salesforce_integrations SET mappings = $1, version = version + 1, updated_at = $2 WHERE project_id = $3 AND version = $4")
            .bind(json)
            .bind(now_ms())
            .bind(project_id)
            .bind(expected_version)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The Salesforce-integrated projects an account owns.
    pub async fn integrations_owned_by(&self, owner_id: i64) -> Result<Vec<OwnedIntegration>> {
        #[derive(sqlx::FromRow)]
        struct Owned {
            project_id: i64,
            project_name: String,
            mappings: String,
            validated_org_id: Option<String>,
            validated_owner_id: Option<i64>,
            validated_at: Option<i64>,
            version: i64,
            drift: Option<String>,
        }
        let rows = sqlx::query_as::<_, Owned>(
            "SELECT i.project_id, p.name AS project_name, i.mappings, i.validated_org_id, i.validated_owner_id, i.validated_at, i.version, i.drift
               FROM salesforce_integrations i JOIN projects p ON p.id = i.project_id
              WHERE p.owner_id = $1 AND p.deleted_at IS NULL AND i.mappings <> '[]'
              ORDER BY p.name, p.id",
        )
        .bind(owner_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let integration = Integration::try_from(Row {
                    project_id: r.project_id,
                    mappings: r.mappings,
                    validated_org_id: r.validated_org_id,
                    validated_owner_id: r.validated_owner_id,
                    validated_at: r.validated_at,
                    version: r.version,
                    drift: r.drift,
                })?;
                Ok(OwnedIntegration { project_id: r.project_id, project_name: r.project_name, integration })
            })
            .collect()
    }
}

/// What the last schema check of a project found.
#[derive(Debug, Clone)]
pub struct SchemaCheck {
    pub checked_at: Option<i64>,
    /// `None` while every mapping fits.
    pub drift: Option<Vec<DriftedMapping>>,
}

impl Store {
    /// Records a schema check's finding (`None`: every mapping fits). Not
    /// versioned: it changes no mapping, and what it flags is re-found by
    /// the next check.
    pub async fn save_schema_check(&self, project_id: i64, drift: Option<&[DriftedMapping]>, checked_at: i64) -> Result<()> {
        let json = drift.map(serde_json::to_string).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query("UPDATE salesforce_integrations SET drift = $1, drift_checked_at = $2 WHERE project_id = $3")
            .bind(json)
            .bind(checked_at)
            .bind(project_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Claims a project's schema check unless one started after `since`
    /// (milliseconds): of several servers or a double click, one checks.
    pub async fn claim_schema_check(&self, project_id: i64, since: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE salesforce_integrations SET drift_claimed_at = $1
              WHERE project_id = $2 AND (drift_claimed_at IS NULL OR drift_claimed_at <= $3)",
        )
        .bind(now_ms())
        .bind(project_id)
        .bind(since)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn schema_check(&self, project_id: i64) -> Result<SchemaCheck> {
        let row: Option<(Option<i64>, Option<String>)> = sqlx::query_as("SELECT drift_checked_at, drift FROM salesforce_integrations WHERE project_id = $1")
            .bind(project_id)
            .fetch_optional(&self.pool)
            .await?;
        let (checked_at, drift) = row.unwrap_or((None, None));
        let drift = drift.as_deref().map(|d| json("schema drift of project", project_id, d)).transpose()?;
        Ok(SchemaCheck { checked_at, drift })
    }

    /// The mapped projects whose owner has a Salesforce link and whose last
    /// schema check started before `before` (milliseconds), oldest first.
    /// Mappings saved since `before` were just checked by their save.
    pub async fn projects_due_for_schema_check(&self, before: i64, limit: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT i.project_id FROM salesforce_integrations i
               JOIN projects p ON p.id = i.project_id
               JOIN salesforce_links l ON l.account_id = p.owner_id
              WHERE p.deleted_at IS NULL AND i.mappings <> '[]' AND i.updated_at <= $1
                AND (i.drift_claimed_at IS NULL OR i.drift_claimed_at <= $1)
              ORDER BY COALESCE(i.drift_claimed_at, 0), i.project_id
              LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}
