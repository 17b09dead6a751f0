//! A project's survey: reading it, changing its questions and embedded data
//! (re-applied to the latest saved definition when another editor saved in
//! between), publishing it, and opening it behind its public link. An edit
//! never loses collected answers: an answered question is hidden rather than
//! deleted and keeps its type, and an edit that breaks a Salesforce mapping
//! is named and done only once confirmed.

use crate::accounts::Account;
use crate::projects::{require_edit, Project};
use crate::{App, AppError};
use domain::mapping::{broken_by, BrokenUse, SurveyEdit};
use domain::{EmbeddedFieldName, Invalid, QuestionId, QuestionKind, QuestionText, SurveyDefinition, SurveyIntroduction, SurveyStatus, ThankYouMessage};

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

    /// How many stored responses answer the question.
    pub async fn answer_count(&self, project: &Project, question: &QuestionId) -> Result<u64, AppError> {
        Ok(self.store.answer_count(project.id, question).await?)
    }

    /// Deletes a question: an answered one is only hidden from respondents.
    pub async fn remove_question(&self, project: &Project, by: &Account, question: &QuestionId, confirmed: bool) -> Result<Edited, AppError> {
        let answers = self.answer_count(project, question).await?;
        let edit = SurveyEdit::RemoveQuestion(question.clone());
        self.edit_survey(project, by, |_| Some(edit), confirmed, |def| def.remove_question(question, answers)).await
    }

    /// Asks a removed question again.
    pub async fn restore_question(&self, project: &Project, by: &Account, question: &QuestionId) -> Result<Edited, AppError> {
        self.edit_survey(project, by, |_| None, false, |def| def.restore_question(question)).await
    }

    /// Changes a question; an answered one keeps its type.
    pub async fn update_question(
        &self,
        project: &Project,
        by: &Account,
        question: &QuestionId,
        (text, kind, required): (QuestionText, QuestionKind, bool),
        confirmed: bool,
    ) -> Result<Edited, AppError> {
        let answers = self.answer_count(project, question).await?;
        let edit = |current: &SurveyDefinition| {
            let retyped = current.questions.iter().any(|q| &q.id == question && q.kind.type_name() != kind.type_name());
            retyped.then(|| SurveyEdit::ChangeQuestionType(question.clone()))
        };
        self.edit_survey(project, by, edit, confirmed, |def| def.update_question(question, text.clone(), kind.clone(), required, answers)).await
    }

    /// Stops taking an embedded data field from the link.
    pub async fn remove_embedded(&self, project: &Project, by: &Account, name: &EmbeddedFieldName, confirmed: bool) -> Result<Edited, AppError> {
        let edit = SurveyEdit::RemoveEmbedded(name.clone());
        self.edit_survey(project, by, |_| Some(edit), confirmed, |def| def.remove_embedded(name)).await
    }

    /// A survey edit that may take away what a mapping reads (`edit` says
    /// what it changes, from the definition as it is): tried on the
    /// current definition first (so a refusal comes before any question),
    /// then, when it breaks mappings and is not yet confirmed, returned for
    /// confirmation. A confirmed breaking edit changes what the project
    /// writes into the owner's org, so it needs the owner's grant, goes into
    /// the project's Salesforce history, and holds the deliveries until the
    /// mappings fit again.
    async fn edit_survey(
        &self,
        project: &Project,
        by: &Account,
        edit: impl FnOnce(&SurveyDefinition) -> Option<SurveyEdit>,
        confirmed: bool,
        op: impl Fn(&mut SurveyDefinition) -> Result<(), Invalid>,
    ) -> Result<Edited, AppError> {
        require_edit(project)?;
        let mut trial = self.survey(project).await?.definition;
        let edit = edit(&trial);
        op(&mut trial)?;
        let mappings = self.store.integration(project.id).await?.map(|i| i.mappings).unwrap_or_default();
        let broken = edit.as_ref().map(|e| broken_by(e, &mappings)).unwrap_or_default();
        if !broken.is_empty() {
            crate::consent::require_salesforce_changes(project)?;
            if !confirmed {
                return Ok(Edited::NeedsConfirmation(broken));
            }
        }
        self.change_survey(project, op).await?;
        if !broken.is_empty() {
            let fields: Vec<&str> = broken.iter().map(|b| b.message.as_str()).collect();
            let described = format!("changed the survey so that mappings no longer fit: {}", fields.join(" "));
            crate::consent::record(&self.store, project, &crate::consent::actor(by), &described).await?;
            crate::integration::hold_after_survey_edit(&self.store, project).await?;
        }
        Ok(Edited::Done)
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

    /// Saves what the survey says around its questions, by an account that may edit.
    pub async fn set_survey_texts(&self, project: &Project, introduction: &SurveyIntroduction, thank_you: &ThankYouMessage) -> Result<(), AppError> {
        require_edit(project)?;
        self.store.save_survey_texts(project.id, introduction, thank_you).await?;
        tracing::info!(project = project.id, "survey introduction and thank-you message saved");
        Ok(())
    }

    /// The survey behind a public link, whatever its state.
    pub async fn survey_at(&self, slug: &str) -> Result<Survey, AppError> {
        self.store.survey_by_slug(slug).await?.ok_or(AppError::NotFound)
    }

    /// The survey behind a public link, if it takes responses; otherwise the
    /// error that tells the respondent why not.
    pub async fn open_survey(&self, slug: &str) -> Result<Survey, AppError> {
        let survey = self.store.survey_for_respondents(slug).await?.ok_or(AppError::NotFound)?;
        if survey.project_deleted {
            return Err(AppError::SurveyDeleted);
        }
        if survey.status != SurveyStatus::Published {
            return Err(AppError::SurveyClosed);
        }
        Ok(survey)
    }
}

/// What became of a survey edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edited {
    Done,
    /// The edit breaks these uses in the project's mappings; nothing was
    /// changed, and it is done only when asked again, confirmed.
    NeedsConfirmation(Vec<BrokenUse>),
}
