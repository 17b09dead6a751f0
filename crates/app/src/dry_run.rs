//! A dry run: the records a response would write into the owner's org,
//! field by field with each value as it would travel, built by the very
//! functions the delivery worker uses — and nothing written. A stored
//! response, or a sample one made from the survey, can be tried; a stored
//! one can then be sent now.

use crate::consent::require_salesforce_changes;
use crate::integration::{check_with_survey, CheckedMapping};
use crate::projects::require_edit;
use crate::sobject::{wire_record, WireKey};
use crate::{App, AppError};
use domain::mapping::{SampleResponse, ValueSource};
use domain::response::display_stored;
use domain::{EmbeddedProvenance, ResponseId, ResponseValues, SurveyDefinition};
use serde_json::Value;
use store::projects::Project;

/// Which response a dry run tried.
#[derive(Debug, Clone, PartialEq)]
pub enum Tried {
    /// Made up from the survey: one answer per question.
    Sample,
    Stored { public_id: String, finished_at: i64 },
}

/// What a dry run found: per mapping, the record it would write or why not.
#[derive(Debug, Clone)]
pub struct DryRun {
    pub org_name: String,
    pub org_id: String,
    pub tried: Tried,
    pub writes: Vec<PlannedWrite>,
}

#[derive(Debug, Clone)]
pub struct PlannedWrite {
    pub object: String,
    /// The object's label in the org, when it has the object.
    pub object_label: Option<String>,
    pub result: Result<PlannedRecord, String>,
}

#[derive(Debug, Clone)]
pub struct PlannedRecord {
    /// Upsert by which key value, or update which record.
    pub how: WireKey,
    pub fields: Vec<PlannedField>,
}

/// One field of a planned record.
#[derive(Debug, Clone)]
pub struct PlannedField {
    pub field: String,
    pub label: String,
    pub kind: String,
    /// Where the value comes from, in words.
    pub from: String,
    /// The value as the response holds it (blank: none).
    pub given: String,
    /// The value as it would travel in the record's JSON; `None`: left out
    /// (a blank answer leaves the record's field as it is).
    pub written: Option<Value>,
    /// A lookup to the record an earlier mapping writes: that object.
    pub points_to: Option<String>,
}

/// The dry run of `response` (or of a sample response) against the org the
/// project's owner is linked to now.
pub async fn dry_run(app: &App, project: &Project, response: Option<&ResponseId>) -> Result<DryRun, AppError> {
    require_salesforce_changes(project)?;
    let settings = app.settings()?;
    let (checked, survey) = check_with_survey(&app.store, settings, project).await?;
    let (tried, answers, embedded, started_at, finished_at, provenance, response_id) = match response {
        Some(id) => {
            let r = app.store.response(project.id, id.as_str()).await?.ok_or(AppError::NotFound)?;
            let tried = Tried::Stored { public_id: r.public_id.clone(), finished_at: r.finished_at };
            (tried, r.answers_map().clone(), r.embedded_map().clone(), r.started_at, r.finished_at, r.provenance(), r.public_id.clone())
        }
        None => {
            let pairs: Vec<_> = checked.mappings.iter().map(|c| (c.mapping.clone(), c.schema.clone())).collect();
            let sample = SampleResponse::for_survey(&survey, &pairs);
            // A sample stands in for a response from a personal invitation,
            // whose record id Insight trusts.
            (Tried::Sample, sample.answers, sample.embedded, None, store::now_ms(), EmbeddedProvenance::Invitation, sample.response_id)
        }
    };
    let values = ResponseValues { response_id: &response_id, answers: &answers, embedded: &embedded, started_at, finished_at, provenance };
    let writes = checked.mappings.iter().map(|c| planned(c, &values, &survey)).collect();
    Ok(DryRun { org_name: checked.org_name, org_id: checked.org_id, tried, writes })
}

/// What one mapping would write for the response: the worker's own
/// `record_for` and `wire_record`, laid out field by field.
fn planned(c: &CheckedMapping, values: &ResponseValues, survey: &SurveyDefinition) -> PlannedWrite {
    let object = c.mapping.object.as_str().to_string();
    let object_label = c.schema.as_ref().map(|s| s.label.clone());
    let result = (|| {
        let schema = c.schema.as_ref().ok_or_else(|| format!("The org has no object {object}."))?;
        if !c.problems.is_empty() {
            let problems: Vec<&str> = c.problems.iter().map(|p| p.message.as_str()).collect();
            return Err(format!("This mapping does not fit the org, so its responses are held: {}", problems.join(" ")));
        }
        if let Some(condition) = c.mapping.condition.as_ref().filter(|cond| !cond.holds(values)) {
            return Err(format!("Skipped: the response does not meet this mapping's condition, {}.", condition.describe(survey)));
        }
        if let Some(why) = c.mapping.nothing_to_match(values) {
            return Err(format!("Skipped: {why}."));
        }
        let record = wire_record(c.mapping.record_for(values, schema)?, schema);
        let fields = c
            .mapping
            .rules
            .iter()
            .filter(|rule| !matches!(&record.key, WireKey::Upsert { field, .. } if field.eq_ignore_ascii_case(rule.field.as_str())))
            .map(|rule| {
                let field = schema.field(rule.field.as_str());
                let name = field.map(|f| f.name.clone()).unwrap_or_else(|| rule.field.as_str().to_string());
                PlannedField {
                    label: field.map(|f| f.label.clone()).unwrap_or_else(|| name.clone()),
                    kind: field.map(|f| f.kind.label()).unwrap_or_default(),
                    from: match &rule.convert {
                        Some(c) => format!("{}, {}", rule.source.describe(survey), c.describe()),
                        None => rule.source.describe(survey),
                    },
                    given: given(&rule.source, values),
                    written: record.fields.get(&name).cloned(),
                    points_to: record.related.iter().find(|(f, _)| f.eq_ignore_ascii_case(&name)).map(|(_, o)| o.clone()),
                    field: name,
                }
            })
            .collect();
        Ok(PlannedRecord { how: record.key, fields })
    })();
    PlannedWrite { object, object_label, result }
}

/// The value a source gives, as the response holds it.
fn given(source: &ValueSource, r: &ResponseValues) -> String {
    let moment = |ms: i64| {
        time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_default()
    };
    match source {
        ValueSource::Answer { question } => r.answers.get(question.as_str()).map(display_stored).unwrap_or_default(),
        ValueSource::Embedded { name } => r.embedded.get(name.as_str()).cloned().unwrap_or_default(),
        ValueSource::ResponseId => r.response_id.to_string(),
        ValueSource::StartedAt => r.started_at.map(moment).unwrap_or_default(),
        ValueSource::FinishedAt => moment(r.finished_at),
        ValueSource::Static { value } => value.clone(),
        ValueSource::RecordOf { object } => format!("the id of the {} record, once written", object.as_str()),
    }
}

impl App {
    /// The dry run of a stored response, or of a sample one (see `dry_run`).
    pub async fn dry_run(&self, project: &Project, response: Option<&ResponseId>) -> Result<DryRun, AppError> {
        dry_run(self, project, response).await
    }

    /// Sends a stored response to Salesforce now, whatever became of it
    /// before: delivered ones again (upserts by its key and updates by id,
    /// so nothing is duplicated), failed or waiting ones at once. A held
    /// response stays held: what holds it holds it still.
    pub async fn send_now(&self, project: &Project, response: &ResponseId) -> Result<(), AppError> {
        require_edit(project)?;
        let delivery = self.store.delivery_of(project.id, response.as_str()).await?.ok_or(AppError::NotFound)?;
        if !self.store.send_delivery_now(project.id, delivery.id).await? {
            return Err(AppError::Invalid("This response is held, so it cannot be sent now; the project's Salesforce page says why.".into()));
        }
        Ok(())
    }
}
