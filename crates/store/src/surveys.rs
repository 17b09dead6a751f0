//! A project's survey: its definition (JSON), status and public link slug.

use crate::columns::{json, Column};
use crate::{now_ms, Result, Store, StoreError};
use domain::{SurveyDefinition, SurveyIntroduction, SurveyStatus, ThankYouMessage};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a survey read through its public link serves respondents
/// before it is read again: a change made through this store is seen at
/// once, one made by another process (another server on the same
/// PostgreSQL) within this long.
pub const LINK_CACHE_TTL: Duration = Duration::from_secs(1);
/// Surveys kept at most; past it the cache starts over.
const LINK_CACHE_ENTRIES: usize = 10_000;

/// Surveys as their public links were last read, so that a response (and
/// its form) costs no query for its survey: on SQLite each query is a hop
/// to the connection's thread and back, and the survey read was most of a
/// response's own work. Only respondents' pages read through it; every
/// change to a survey's definition, texts, status, name or deletion made through
/// this store forgets it.
#[derive(Debug, Default)]
pub(crate) struct LinkCache {
    entries: Mutex<HashMap<String, (Instant, Survey)>>,
}

impl LinkCache {
    fn get(&self, slug: &str) -> Option<Survey> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(slug).filter(|(at, _)| at.elapsed() < LINK_CACHE_TTL).map(|(_, s)| s.clone())
    }

    fn put(&self, survey: &Survey) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= LINK_CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(survey.slug.clone(), (Instant::now(), survey.clone()));
    }

    pub(crate) fn forget(&self, project_id: i64) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, (_, s)| s.project_id != project_id);
    }
}

#[derive(Debug, Clone)]
pub struct Survey {
    pub project_id: i64,
    pub project_name: String,
    pub definition: SurveyDefinition,
    pub status: SurveyStatus,
    pub slug: String,
    pub published_at: Option<i64>,
    /// Bumped by every save, so two editors never overwrite each other blind.
    pub version: i64,
    pub response_count: i64,
    pub project_deleted: bool,
    /// Shown above the questions (and in preview).
    pub introduction: SurveyIntroduction,
    /// Shown on the thank-you page instead of the standard words.
    pub thank_you: ThankYouMessage,
}

#[derive(sqlx::FromRow)]
struct SurveyRow {
    project_id: i64,
    project_name: String,
    definition: String,
    status: String,
    slug: String,
    published_at: Option<i64>,
    version: i64,
    response_count: i64,
    deleted_at: Option<i64>,
    introduction: String,
    thank_you_message: String,
}

impl TryFrom<SurveyRow> for Survey {
    type Error = StoreError;
    fn try_from(r: SurveyRow) -> Result<Survey> {
        let definition = json("definition of survey", r.project_id, &r.definition)?;
        let unreadable = |column: &str, e: domain::Invalid| StoreError::Corrupt(format!("surveys.{column} of project {}: {e}", r.project_id));
        let introduction = SurveyIntroduction::parse(&r.introduction).map_err(|e| unreadable("introduction", e))?;
        let thank_you = ThankYouMessage::parse(&r.thank_you_message).map_err(|e| unreadable("thank_you_message", e))?;
        Ok(Survey {
            project_id: r.project_id,
            project_name: r.project_name,
            definition,
            status: SurveyStatus::from_column("surveys", "status", &r.status)?,
            slug: r.slug,
            published_at: r.published_at,
            version: r.version,
            response_count: r.response_count,
            project_deleted: r.deleted_at.is_some(),
            introduction,
            thank_you,
        })
    }
}

const SURVEY_SELECT: &str = "SELECT s.project_id, p.name AS project_name, s.definition, s.status, s.slug,
        s.published_at, s.version, s.response_count, p.deleted_at,
        s.introduction, s.thank_you_message
   FROM surveys s JOIN projects p ON p.id = s.project_id";

impl Store {
    pub async fn survey(&self, project_id: i64) -> Result<Option<Survey>> {
        let row = sqlx::query_as::<_, SurveyRow>(&format!("{SURVEY_SELECT} WHERE s.project_id = $1"))
            .bind(project_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Survey::try_from).transpose()
    }

    /// The survey behind a public link, deleted or not (the caller says which
    /// message the respondent gets).
    /// As `survey_by_slug`, for respondents: as read at most
    /// [`LINK_CACHE_TTL`] ago (its response count may lag).
    pub async fn survey_for_respondents(&self, slug: &str) -> Result<Option<Survey>> {
        if let Some(survey) = self.links.get(slug) {
            return Ok(Some(survey));
        }
        let survey = self.survey_by_slug(slug).await?;
        if let Some(s) = &survey {
            self.links.put(s);
        }
        Ok(survey)
    }

    pub async fn survey_by_slug(&self, slug: &str) -> Result<Option<Survey>> {
        let row = sqlx::query_as::<_, SurveyRow>(&format!("{SURVEY_SELECT} WHERE s.slug = $1"))
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Survey::try_from).transpose()
    }

    /// Saves a definition if nobody saved since `expected_version` was read;
    /// `false` means someone else's save came first.
    pub async fn save_definition(&self, project_id: i64, definition: &SurveyDefinition, expected_version: i64) -> Result<bool> {
        let json = serde_json::to_string(definition).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let now = now_ms();
        let r = sqlx::query(
            "UPDATE surveys SET definition = $1, version = version + 1, updated_at = $2
              WHERE project_id = $3 AND version = $4",
        )
        .bind(json)
        .bind(now)
        .bind(project_id)
        .bind(expected_version)
        .execute(&self.pool)
        .await?;
        self.links.forget(project_id);
        if r.rows_affected() == 1 {
            sqlx::query("UPDATE projects SET updated_at = $1 WHERE id = $2").bind(now).bind(project_id).execute(&self.pool).await?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    pub async fn set_survey_status(&self, project_id: i64, status: SurveyStatus) -> Result<()> {
        let now = now_ms();
        let published_at = (status == SurveyStatus::Published).then_some(now);
        sqlx::query(
            "UPDATE surveys SET status = $1, published_at = COALESCE($2, published_at), updated_at = $3 WHERE project_id = $4",
        )
        .bind(status.to_column())
        .bind(published_at)
        .bind(now)
        .bind(project_id)
        .execute(&self.pool)
        .await?;
        self.links.forget(project_id);
        Ok(())
    }

    /// Saves the survey's introduction and thank-you message.
    pub async fn save_survey_texts(&self, project_id: i64, introduction: &SurveyIntroduction, thank_you: &ThankYouMessage) -> Result<()> {
        let now = now_ms();
        sqlx::query("UPDATE surveys SET introduction = $1, thank_you_message = $2, updated_at = $3 WHERE project_id = $4")
            .bind(introduction.as_str())
            .bind(thank_you.as_str())
            .bind(now)
            .bind(project_id)
            .execute(&self.pool)
            .await?;
        sqlx::query("UPDATE projects SET updated_at = $1 WHERE id = $2").bind(now).bind(project_id).execute(&self.pool).await?;
        self.links.forget(project_id);
        Ok(())
    }
}
