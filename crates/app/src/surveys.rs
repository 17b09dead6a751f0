//! A project's survey: reading it, changing its questions and embedded data
//! (re-applied to the latest saved definition when another editor saved in
//! between), publishing it, and opening it behind its public link.

use crate::projects::{require_edit, Project};
use crate::{App, AppError};
use domain::{Invalid, SurveyDefinition, SurveyStatus};

pub use store::surveys::Survey;

/// How often a change is re-applied when other editors keep saving first.
const ATTEMPTS: usize = 5;

impl App {
    /// The project's survey.
    pub async fn survey(&self, project: &Project) -> Result<Survey, AppError> {
        self.store.survey(project.id).await?.ok_or(AppError::NotFound)
    }

    /// Applies a change to the latest saved definition, by an account that
    /// may edit. When another editor saved in between, the change is
    /// re-applied to theirs rather than overwriting it.
    pub async fn change_survey(&self, project: &Project, op: impl Fn(&mut SurveyDefinition) -> Result<(), Invalid>) -> Result<(), AppError> {
        require_edit(project)?;
        for _ in 0..ATTEMPTS {
            let survey = self.survey(project).await?;
            let mut definition = survey.definition.clone();
            op(&mut definition)?;
            if self.store.save_definition(project.id, &definition, survey.version).await? {
                return Ok(());
            }
        }
        Err(AppError::Conflict("The survey is being changed by someone else right now. Reload the page and try again.".into()))
    }

    /// Publishes (once the survey can take responses) or unpublishes it.
    pub async fn set_survey_status(&self, project: &Project, status: SurveyStatus) -> Result<(), AppError> {
        require_edit(project)?;
        let survey = self.survey(project).await?;
        if status == SurveyStatus::Published {
            survey.definition.check_publishable()?;
        }
        self.store.set_survey_status(project.id, status).await?;
        tracing::info!(project = project.id, status = status.as_str(), "survey status changed");
        Ok(())
    }

    /// The survey behind a public link, whatever its state.
    pub async fn survey_at(&self, slug: &str) -> Result<Survey, AppError> {
        self.store.survey_by_slug(slug).await?.ok_or(AppError::NotFound)
    }

    /// The survey behind a public link, if it takes responses; otherwise the
    /// error that tells the respondent why not.
    pub async fn open_survey(&self, slug: &str) -> Result<Survey, AppError> {
        let survey = self.survey_at(slug).await?;
        if survey.project_deleted {
            return Err(AppError::SurveyDeleted);
        }
        if survey.status != SurveyStatus::Published {
            return Err(AppError::SurveyClosed);
        }
        Ok(survey)
    }
}
