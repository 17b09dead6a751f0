//! A survey's responses: storing a respondent's submission (acknowledged
//! only once it is durable, its embedded data's provenance decided from the
//! signed link), the pages of responses with their Salesforce deliveries, one
//! response, the rows an export reads, and retrying a failed delivery.

use crate::projects::{require_edit, Project};
use crate::surveys::Survey;
use crate::{App, AppError};
use domain::response::Answers;
use domain::ResponseId;
use std::collections::{BTreeMap, HashMap};
use store::{NewResponse, StoreError};

pub use store::deliveries::{Delivery, DeliveryCounts, LogQuery};
pub use store::responses::Submitted;
pub use store::StoredResponse;

/// A respondent's submission, its answers already validated against the survey.
#[derive(Debug, Clone)]
pub struct Submission {
    pub response_id: ResponseId,
    pub answers: Answers,
    pub embedded: BTreeMap<String, String>,
    /// When the respondent's browser says it started, if plausible.
    pub started_at: Option<i64>,
    pub finished_at: i64,
    /// The signed link's signature and expiry, as they came.
    pub signature: Option<String>,
    pub expires: Option<String>,
}

/// A page of responses, newest first, with the delivery of each that has one.
#[derive(Debug, Clone)]
pub struct ResponsePage {
    pub rows: Vec<StoredResponse>,
    /// By response id.
    pub deliveries: HashMap<String, Delivery>,
}

/// One response and its delivery to Salesforce, if any.
#[derive(Debug, Clone)]
pub struct ResponseDetail {
    pub response: StoredResponse,
    pub delivery: Option<Delivery>,
    /// Where a record of the org the delivery went to opens (`{base}/{id}`):
    /// the owner's org instance, while their link still points at that org.
    pub record_base: Option<String>,
}

fn to_json(value: &impl serde::Serialize) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|e| AppError::Store(StoreError::Corrupt(e.to_string())))
}

impl App {
    /// Stores a response and returns once it is durable. An unsigned, edited
    /// or expired link is still stored (the respondent is not punished); its
    /// provenance keeps it from picking a record.
    pub async fn submit_response(&self, survey: &Survey, submission: Submission) -> Result<Submitted, AppError> {
        let provenance = crate::signed_links::provenance(
            &self.store,
            survey.project_id,
            &submission.embedded,
            submission.signature.as_deref(),
            submission.expires.as_deref(),
            submission.finished_at / 1000,
        )
        .await?;
        let response = NewResponse {
            public_id: submission.response_id.to_string(),
            project_id: survey.project_id,
            answers: to_json(&submission.answers)?,
            embedded: to_json(&submission.embedded)?,
            started_at: submission.started_at,
            finished_at: submission.finished_at,
            provenance,
        };
        let took = std::time::Instant::now();
        let outcome = self.responses.submit(response).await?;
        self.metrics.accepted(took.elapsed());
        if outcome == Submitted::AlreadyStored {
            tracing::info!(response = %submission.response_id, "duplicate submission acknowledged");
        }
        Ok(outcome)
    }

    /// Up to `limit` responses older than the one with id `before`.
    pub async fn responses(&self, project: &Project, before: Option<i64>, limit: i64) -> Result<ResponsePage, AppError> {
        let rows = self.store.responses(project.id, before, limit).await?;
        let ids: Vec<String> = rows.iter().map(|r| r.public_id.clone()).collect();
        let deliveries = self.store.deliveries_of(project.id, &ids).await?;
        Ok(ResponsePage { rows, deliveries })
    }

    /// Up to `limit` responses after the one with id `after`, oldest first:
    /// an export reads them a page at a time.
    pub async fn responses_after(&self, project: &Project, after: i64, limit: i64) -> Result<Vec<StoredResponse>, AppError> {
        Ok(self.store.responses_after(project.id, after, limit).await?)
    }

    pub async fn response(&self, project: &Project, response_id: &str) -> Result<ResponseDetail, AppError> {
        let response = self.store.response(project.id, response_id).await?.ok_or(AppError::NotFound)?;
        let delivery = self.store.delivery_of(project.id, response_id).await?;
        let link = self.store.link(project.owner_id).await?;
        let record_base = match (&delivery, link) {
            (Some(d), Some(link)) if d.org_id.as_deref() == Some(link.org_id.as_str()) => Some(link.instance_url.trim_end_matches('/').to_string()),
            _ => None,
        };
        Ok(ResponseDetail { response, delivery, record_base })
    }

    /// Tries a failed delivery again, for an account that may edit.
    pub async fn retry_delivery(&self, project: &Project, response_id: &str) -> Result<(), AppError> {
        require_edit(project)?;
        let delivery = self.store.delivery_of(project.id, response_id).await?.ok_or(AppError::NotFound)?;
        if !self.store.retry_delivery(project.id, delivery.id).await? {
            return Err(AppError::Conflict("Only a failed delivery can be retried; this one is not failed (any more).".into()));
        }
        Ok(())
    }

    /// Tries every failed delivery of the project again; returns how many.
    pub async fn retry_failed(&self, project: &Project) -> Result<u64, AppError> {
        require_edit(project)?;
        Ok(self.store.retry_failed(project.id).await?)
    }

    /// A page of the project's delivery log, newest first, and the id to
    /// pass as `before` for the next page, if there is one.
    pub async fn delivery_log(&self, project: &Project, query: &LogQuery) -> Result<DeliveryLog, AppError> {
        let limit = query.limit.clamp(1, 200);
        let mut rows = self.store.delivery_log(project.id, &LogQuery { limit: limit + 1, ..query.clone() }).await?;
        let next_before = match rows.len() as i64 > limit {
            true => {
                rows.truncate(limit as usize);
                rows.last().map(|d| d.id)
            }
            false => None,
        };
        let counts = self.store.delivery_counts(project.id).await?;
        Ok(DeliveryLog { rows, next_before, counts })
    }

    /// A person gives up on a response's delivery (pending, held or failed,
    /// and not being sent right now): it is discarded, noting who and when.
    pub async fn give_up_delivery(&self, project: &Project, by: &store::history::Actor, response_id: &str) -> Result<(), AppError> {
        require_edit(project)?;
        let delivery = self.store.delivery_of(project.id, response_id).await?.ok_or(AppError::NotFound)?;
        let note = format!("given up by {} ({})", by.name, by.email);
        if !self.store.give_up_delivery(project.id, delivery.id, by.account_id, &note).await? {
            return Err(AppError::Conflict(
                "Only a delivery that is waiting, held or failed can be given up; this one was delivered, given up already, or is being sent right now.".into(),
            ));
        }
        tracing::info!(project = project.id, delivery = delivery.id, account = by.account_id, "a delivery was given up");
        Ok(())
    }
}

/// A page of a project's delivery log.
#[derive(Debug, Clone)]
pub struct DeliveryLog {
    pub rows: Vec<Delivery>,
    pub next_before: Option<i64>,
    pub counts: DeliveryCounts,
}
