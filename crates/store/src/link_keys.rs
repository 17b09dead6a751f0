//! Each survey's key for signing its links, sealed at rest like the
//! Salesforce tokens (the key is kept as its 64 hex characters).

use crate::sealed::Secret;
use crate::{now_ms, Result, Store, StoreError};

impl Store {
    /// The survey's signing key, if it has one.
    pub async fn survey_link_key(&self, project_id: i64) -> Result<Option<Secret>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT sealed_key FROM survey_link_keys WHERE project_id = $1")
            .bind(project_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            None => Ok(None),
            Some((sealed,)) => {
                let key = self.sealer()?.open(&sealed).map_err(|e| StoreError::Corrupt(format!("survey {project_id} signing key: {e}")))?;
                Ok(Some(key))
            }
        }
    }

    /// Stores `key` as the survey's first signing key, unless another
    /// request stored one first; returns the key in force either way, so two
    /// first uses never sign with different keys.
    pub async fn first_survey_link_key(&self, project_id: i64, key: &Secret) -> Result<Secret> {
        sqlx::query("INSERT INTO survey_link_keys (project_id, sealed_key, created_at) VALUES ($1, $2, $3) ON CONFLICT (project_id) DO NOTHING")
            .bind(project_id)
            .bind(self.sealer()?.seal(key))
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        self.survey_link_key(project_id).await?.ok_or_else(|| StoreError::Corrupt(format!("survey {project_id} lost its signing key")))
    }

    /// Replaces the survey's signing key: links signed with the old one stop
    /// being trusted.
    pub async fn replace_survey_link_key(&self, project_id: i64, key: &Secret) -> Result<()> {
        sqlx::query(
            "INSERT INTO survey_link_keys (project_id, sealed_key, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (project_id) DO UPDATE SET sealed_key = excluded.sealed_key, created_at = excluded.created_at",
        )
        .bind(project_id)
        .bind(self.sealer()?.seal(key))
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
