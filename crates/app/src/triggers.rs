//! Trigger and Email Survey: a survey's trigger (its rules, and the token in
//! the endpoint URL Salesforce posts to), receiving outbound messages
//! (recorded in one commit, then acknowledged), the trigger worker that turns
//! each notification into a personal invitation or a logged reason why not,
//! reminders, the personal link (opened, answered once, unsubscribed from),
//! and the invitation log.
//!
//! The reply to Salesforce never waits on mail or Salesforce: lookups,
//! invitations and their mail run in the worker, beside deliveries.

use crate::consent::{actor, record, require_salesforce_changes};
use crate::projects::Project;
use crate::responses::Submission;
use crate::surveys::Survey;
use crate::{now_ms, App, AppError};
use domain::trigger::{self, Addressee, History, NoInvitation, Recipient, TriggerRules, RECIPIENT_NAME, SURVEY_LINK};
use domain::{EmbeddedFieldName, EmbeddedProvenance, SurveyStatus};
use salesforce::outbound::{self, OutboundError, OutboundMessage};
use salesforce::{OrgId, SalesforceId};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use store::mail::NewMail;
use store::sealed::Secret;
use store::triggers::{ClaimedNotification, Decision, InvitedSubmit, NewNotification, NewSurveyInvitation};
use store::{NewResponse, Store};

pub use store::triggers::{LogEntry, LogFilter, NotificationStatus};

/// The largest envelope Insight reads: 100 notifications of many fields fit
/// well inside it; anything larger is refused before it is parsed.
pub const MAX_ENVELOPE_BYTES: usize = 1024 * 1024;

/// Notifications decided per commit: enough to batch the lookup and the
/// bookkeeping, few enough that the commit never holds SQLite's one writer
/// long while Salesforce waits for its acknowledgements.
const CLAIM: i64 = 50;

/// How long a held notification waits before it is looked at again.
const HELD_RECHECK_MS: i64 = 60_000;

/// What the database keeps of a trigger's or an invitation's token.
fn token_hash(token: &str) -> String {
    crate::accounts::token_hash(token.trim())
}

fn new_token() -> String {
    crate::accounts::bearer_token()
}

/// What a trigger's page shows.
#[derive(Debug, Clone)]
pub struct TriggerPage {
    pub rules: Option<TriggerRules>,
    /// The URL to paste into Salesforce; only for those who may change the
    /// trigger (it lets a sender in, with the right org id).
    pub endpoint_url: Option<String>,
    /// The org whose notifications the trigger accepts: the owner's link's.
    pub accepts_org: Option<(String, String)>,
    /// Why notifications are held now, if they are.
    pub held_because: Option<String>,
    pub held: i64,
    pub survey_rule: Option<domain::trigger::FrequencyRule>,
    pub account_rule: Option<domain::trigger::FrequencyRule>,
    pub may_change: bool,
    /// The owner's org's address: a record id after it opens the record.
    pub record_base: Option<String>,
}

/// What a person typed on the trigger's form (the page posts it as is:
/// the object, sender, subject and body must be there; a missing delay
/// unit is "now").
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TriggerForm {
    pub object: String,
    /// `field` or `contact_lookup`.
    #[serde(default)]
    pub recipient_kind: String,
    #[serde(default)]
    pub email_field: String,
    #[serde(default)]
    pub name_field: String,
    #[serde(default)]
    pub lookup_field: String,
    /// Comma- or space-separated field names.
    #[serde(default)]
    pub embedded: String,
    pub sender_name: String,
    pub subject: String,
    pub body: String,
    #[serde(default)]
    pub delay_amount: String,
    #[serde(default = "right_away")]
    pub delay_unit: String,
    #[serde(default)]
    pub condition: String,
    #[serde(default)]
    pub reminder_days: String,
    #[serde(default)]
    pub link_valid_days: String,
    #[serde(default)]
    pub frequency_max: String,
    #[serde(default)]
    pub frequency_days: String,
}

fn right_away() -> String {
    "now".into()
}

impl TriggerForm {
    /// The form for a trigger that exists, or a sensible start for a new one.
    pub fn of(rules: Option<&TriggerRules>) -> TriggerForm {
        let Some(r) = rules else {
            return TriggerForm {
                object: "Case".into(),
                recipient_kind: "contact_lookup".into(),
                lookup_field: "ContactId".into(),
                email_field: "SuppliedEmail".into(),
                embedded: "CaseNumber".into(),
                sender_name: String::new(),
                subject: "How did we do with case {{CaseNumber}}?".into(),
                body: "Hello {{recipient_name}},\n\nYour case {{CaseNumber}} was closed. Would you tell us how we did? It takes a minute:\n\n{{survey_link}}\n\nThank you!".into(),
                delay_unit: "now".into(),
                condition: "Status = Closed".into(),
                link_valid_days: TriggerRules::DEFAULT_LINK_DAYS.to_string(),
                ..TriggerForm::default()
            };
        };
        let (recipient_kind, email_field, name_field, lookup_field) = match &r.recipient {
            Recipient::Field { email, name } => ("field", email.clone(), name.clone().unwrap_or_default(), String::new()),
            Recipient::ContactLookup { field } => ("contact_lookup", String::new(), String::new(), field.clone()),
        };
        let (delay_amount, delay_unit) = match r.delay.seconds {
            0 => (String::new(), "now"),
            s if s % 86_400 == 0 => ((s / 86_400).to_string(), "days"),
            s if s % 3600 == 0 => ((s / 3600).to_string(), "hours"),
            s => ((s / 60).to_string(), "minutes"),
        };
        TriggerForm {
            object: r.object.clone(),
            recipient_kind: recipient_kind.into(),
            email_field,
            name_field,
            lookup_field,
            embedded: r.embedded.join(", "),
            sender_name: r.mail.sender_name.clone(),
            subject: r.mail.subject.clone(),
            body: r.mail.body.clone(),
            delay_amount,
            delay_unit: delay_unit.into(),
            condition: r.condition.to_string(),
            reminder_days: r.reminder_after_days.map(|d| d.to_string()).unwrap_or_default(),
            link_valid_days: r.link_valid_days.to_string(),
            frequency_max: r.frequency.map(|f| f.max.to_string()).unwrap_or_default(),
            frequency_days: r.frequency.map(|f| f.days.to_string()).unwrap_or_default(),
        }
    }

    fn rules(&self) -> Result<TriggerRules, domain::Invalid> {
        let recipient = match self.recipient_kind.as_str() {
            "field" => Recipient::Field { email: self.email_field.clone(), name: Some(self.name_field.clone()) },
            "contact_lookup" => Recipient::ContactLookup { field: self.lookup_field.clone() },
            other => return Err(domain::Invalid::new(format!("\"{other}\" is not a way to find the recipient."))),
        };
        let embedded: Vec<String> = self.embedded.split([',', ' ', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
        let mail = trigger::MailTemplate::new(&self.sender_name, &self.subject, &self.body)?;
        let delay = trigger::Delay::parse(&self.delay_amount, &self.delay_unit)?;
        let condition = trigger::Condition::parse(&self.condition)?;
        let reminder = match self.reminder_days.trim() {
            "" => None,
            d => Some(d.parse::<u32>().map_err(|_| domain::Invalid::new("The reminder goes a whole number of days after the invitation."))?),
        };
        let link_days = match self.link_valid_days.trim() {
            "" => TriggerRules::DEFAULT_LINK_DAYS,
            d => d.parse::<u32>().map_err(|_| domain::Invalid::new("A personal link stays valid a whole number of days."))?,
        };
        let frequency = match (self.frequency_max.trim(), self.frequency_days.trim()) {
            ("", "") => None,
            (max, days) => Some(trigger::FrequencyRule::new(max, days)?),
        };
        let mut rules = TriggerRules::new(&self.object, recipient, &embedded, mail, delay, condition, reminder, link_days)?;
        rules.frequency = frequency;
        Ok(rules)
    }
}

/// The acknowledgement Salesforce waits for.
pub fn ack_xml() -> String {
    outbound::ack_response(true)
}

/// A SOAP fault: Salesforce retries the message later.
pub fn fault_xml(reason: &str) -> String {
    outbound::fault_response(reason)
}

/// Why an envelope was refused: a SOAP fault, with the HTTP status it goes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub status: u16,
    pub reason: String,
}

impl Refused {
    fn new(status: u16, reason: impl Into<String>) -> Refused {
        Refused { status, reason: reason.into() }
    }
}

/// What a personal link leads to.
#[derive(Debug, Clone)]
pub enum OpenedInvitation {
    Open { survey: Survey, recipient_name: Option<String> },
    AnsweredBefore { survey_name: String },
    Expired { survey_name: String },
    /// The survey was closed or deleted since the invitation went.
    Closed { survey_name: String },
}

/// What an answer to a personal link came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvitedAnswer {
    Stored,
    AnsweredBefore,
    Expired,
}

impl App {
    /// The project's trigger and what its page shows.
    pub async fn trigger_page(&self, project: &Project) -> Result<TriggerPage, AppError> {
        let stored = self.store.trigger(project.id).await?;
        let may_change = crate::consent::access(project).can_change_salesforce();
        let link = self.store.link(project.owner_id).await?;
        let integration = self.store.integration(project.id).await?;
        let work = domain::SalesforceWork::decide(
            crate::ownership::owner_of(project),
            link.as_ref().map(|l| l.facts()),
            store::integrations::validation_of(integration.as_ref(), project.owner_id),
        );
        let held = if stored.is_some() { self.store.notification_counts(project.id).await?.held } else { 0 };
        Ok(TriggerPage {
            endpoint_url: stored.as_ref().filter(|_| may_change).map(|t| self.endpoint_url(&t.token)),
            survey_rule: stored.as_ref().and_then(|t| t.rules.frequency),
            rules: stored.map(|t| t.rules),
            accepts_org: link.as_ref().map(|l| (l.facts().org_id.clone(), l.facts().org_name.clone())),
            held_because: work.held_because(),
            held,
            account_rule: self.store.account_contact_rule(project.owner_id).await?,
            may_change,
            record_base: link.as_ref().map(|l| l.instance_url.trim_end_matches('/').to_string()),
        })
    }

    /// The owner's org's address, where a record id opens its record.
    pub async fn record_base(&self, project: &Project) -> Result<Option<String>, AppError> {
        Ok(self.store.link(project.owner_id).await?.map(|l| l.instance_url.trim_end_matches('/').to_string()))
    }

    fn endpoint_url(&self, token: &Secret) -> String {
        format!("{}/salesforce/outbound/{}", self.public_url.trim_end_matches('/'), token.expose())
    }

    /// Creates or changes the trigger, for the owner or an editor the owner
    /// granted Salesforce changes. The survey gains the embedded data fields
    /// the trigger fills, so mappings can use them.
    pub async fn save_trigger(&self, project: &Project, by: &crate::accounts::Account, form: &TriggerForm) -> Result<TriggerRules, AppError> {
        require_salesforce_changes(project)?;
        let rules = form.rules()?;
        self.check_against_org(project, &rules).await?;
        let names: Vec<EmbeddedFieldName> = rules.embedded_names().iter().map(|n| EmbeddedFieldName::parse(n)).collect::<Result<_, _>>()?;
        self.change_survey(project, |def| {
            for name in &names {
                if !def.embedded.contains(name) {
                    def.add_embedded(name.clone())?;
                }
            }
            Ok(())
        })
        .await?;
        let existed = self.store.trigger(project.id).await?.is_some();
        let token = Secret::new(new_token());
        self.store.save_trigger(project.id, &rules, (&token_hash(token.expose()), &token), by.id).await?;
        let what = if existed { "changed the Trigger and Email Survey" } else { "created a Trigger and Email Survey" };
        record(&self.store, project, &actor(by), &format!("{what} on {} notifications", rules.object)).await?;
        Ok(rules)
    }

    /// Checks the trigger against the owner's org when it can be reached: the
    /// object and every field it names must exist. When the owner has no
    /// working link, the trigger is saved unchecked (its notifications wait).
    async fn check_against_org(&self, project: &Project, rules: &TriggerRules) -> Result<(), AppError> {
        let Some(settings) = self.salesforce.as_ref() else { return Ok(()) };
        let Some(link) = self.store.link(project.owner_id).await? else { return Ok(()) };
        let Ok(client) = settings.sessions.client(&self.store, settings, project.owner_id).await else { return Ok(()) };
        let schema = match settings.describes.describe_with(&client, &link.facts().org_id, &rules.object).await {
            Ok(Some(schema)) => schema,
            Ok(None) => return Err(AppError::Invalid(format!("The org {} has no object {}: use the API name of the object whose records send the notifications.", link.facts().org_name, rules.object))),
            Err(e) => {
                tracing::warn!(project = project.id, error = %e, "trigger saved without checking it against the org");
                return Ok(());
            }
        };
        match rules.problems_with(&schema).as_slice() {
            [] => Ok(()),
            problems => Err(AppError::Invalid(format!("{}.", problems.join("; ")))),
        }
    }

    /// Replaces the endpoint token: the old URL stops working at once.
    pub async fn regenerate_trigger_token(&self, project: &Project, by: &crate::accounts::Account) -> Result<(), AppError> {
        require_salesforce_changes(project)?;
        let token = Secret::new(new_token());
        if !self.store.replace_trigger_token(project.id, &token_hash(token.expose()), &token).await? {
            return Err(AppError::NotFound);
        }
        record(&self.store, project, &actor(by), "regenerated the Trigger and Email Survey endpoint URL (the old one no longer works)").await
    }

    pub async fn delete_trigger(&self, project: &Project, by: &crate::accounts::Account) -> Result<(), AppError> {
        require_salesforce_changes(project)?;
        if !self.store.delete_trigger(project.id).await? {
            return Err(AppError::NotFound);
        }
        record(&self.store, project, &actor(by), "deleted the Trigger and Email Survey").await
    }

    /// The account's contact frequency rule over all of its surveys.
    pub async fn set_account_contact_rule(&self, account: &crate::accounts::Account, max: &str, days: &str) -> Result<(), AppError> {
        let rule = match (max.trim(), days.trim()) {
            ("", "") => None,
            (m, d) => Some(trigger::FrequencyRule::new(m, d)?),
        };
        Ok(self.store.set_account_contact_rule(account.id, rule).await?)
    }

    /// Sends a sample notification through the whole path, to `account`'s
    /// own address: `values` are the notified fields, `record_id` the
    /// (optional) record the answer may be written back onto.
    pub async fn send_test_notification(&self, project: &Project, account: &crate::accounts::Account, record_id: &str, values: &[(String, String)]) -> Result<(), AppError> {
        require_salesforce_changes(project)?;
        let stored = self.store.trigger(project.id).await?.ok_or(AppError::NotFound)?;
        let record_id = match record_id.trim() {
            "" => None,
            id => Some(SalesforceId::parse(id).map_err(|e| AppError::Invalid(format!("\"{id}\" is not a Salesforce record id: {e}")))?.as_str().to_string()),
        };
        let link = self.store.link(project.owner_id).await?.ok_or_else(|| AppError::Invalid(format!("{} (the owner) has not linked Salesforce, so the trigger cannot run yet.", project.owner_name)))?;
        let mut fields: BTreeMap<String, Option<String>> = values.iter().map(|(k, v)| (k.clone(), Some(v.clone()).filter(|v| !v.is_empty()))).collect();
        if let Some(id) = &record_id {
            fields.insert("Id".into(), Some(id.clone()));
        }
        let note = NewNotification {
            notification_id: format!("test-{}", new_token()),
            object: stored.rules.object.clone(),
            record_id,
            fields,
            test_recipient: Some(account.email.clone()),
        };
        self.store.record_notifications(project.id, &link.facts().org_id, &[note]).await?;
        Ok(())
    }

    /// Receives an outbound message posted to a trigger's URL: refused with
    /// nothing recorded, or every notification recorded in one commit and
    /// the number of notifications returned (the caller acknowledges).
    pub async fn receive_outbound(&self, token: &str, body: &[u8]) -> Result<usize, Refused> {
        if body.len() > MAX_ENVELOPE_BYTES {
            return Err(Refused::new(413, format!("the message is larger than {} bytes", MAX_ENVELOPE_BYTES)));
        }
        let unknown = || Refused::new(404, "no trigger has this endpoint URL: copy the current URL from the survey's Trigger and Email Survey page in Insight");
        if token.len() > 128 {
            return Err(unknown());
        }
        let internal = |e: store::StoreError| {
            tracing::error!(error = %e, "outbound message could not be recorded");
            Refused::new(500, "Insight could not record the message right now; Salesforce will retry it")
        };
        let Some((project_id, _rules)) = self.store.trigger_by_token(&token_hash(token)).await.map_err(internal)? else {
            return Err(unknown());
        };
        let message: OutboundMessage = outbound::parse_notifications(body).map_err(|e: OutboundError| Refused::new(400, e.to_string()))?;
        let project = self.store.project_as_owner(project_id).await.map_err(internal)?.ok_or_else(unknown)?;
        let link = self.store.link(project.owner_id).await.map_err(internal)?;
        let Some(link) = link else {
            return Err(Refused::new(403, format!("the survey's owner, {}, has not linked Salesforce in Insight", project.owner_name)));
        };
        let linked = OrgId::parse(&link.facts().org_id).map_err(|_| Refused::new(500, "the owner's link holds an unreadable org id"))?;
        if message.organization_id != linked {
            tracing::warn!(project = project_id, from = %message.organization_id, "outbound message from another org refused");
            return Err(Refused::new(
                403,
                format!("the message comes from org {}, but this survey's owner is linked to org {}", message.organization_id, linked),
            ));
        }
        let notes: Vec<NewNotification> = message
            .notifications
            .iter()
            .map(|n| NewNotification {
                notification_id: n.id.as_str().to_string(),
                object: n.record.sobject_type.clone(),
                record_id: n.record.id.as_ref().map(|id| id.as_str().to_string()),
                fields: n.record.fields.clone(),
                test_recipient: None,
            })
            .collect();
        let new = self.store.record_notifications(project_id, linked.as_str(), &notes).await.map_err(internal)?;
        tracing::info!(project = project_id, notifications = notes.len(), new, "outbound message recorded");
        Ok(notes.len())
    }

    /// The invitation log, newest first.
    pub async fn invitation_log(&self, project: &Project, filter: LogFilter, before: Option<i64>, limit: i64) -> Result<Vec<LogEntry>, AppError> {
        Ok(self.store.invitation_log(project.id, filter, before, limit.clamp(1, 1000)).await?)
    }

    /// Opens a personal link (and notes that it was opened).
    pub async fn open_invitation(&self, token: &str) -> Result<OpenedInvitation, AppError> {
        let invitation = self.store.survey_invitation(&token_hash(token)).await?.ok_or(AppError::NotFound)?;
        let survey = self.store.survey(invitation.project_id).await?.ok_or(AppError::NotFound)?;
        let survey_name = survey.project_name.clone();
        if invitation.responded_at.is_some() {
            return Ok(OpenedInvitation::AnsweredBefore { survey_name });
        }
        if invitation.expires_at <= now_ms() {
            return Ok(OpenedInvitation::Expired { survey_name });
        }
        if survey.project_deleted || survey.status != SurveyStatus::Published {
            return Ok(OpenedInvitation::Closed { survey_name });
        }
        self.store.mark_invitation_opened(invitation.id).await?;
        Ok(OpenedInvitation::Open { survey, recipient_name: invitation.recipient_name })
    }

    /// Stores the answer to a personal link, once. Its embedded data is the
    /// invitation's (whatever the form sent), so its record id is trusted.
    pub async fn submit_invited(&self, token: &str, submission: Submission) -> Result<InvitedAnswer, AppError> {
        let invitation = self.store.survey_invitation(&token_hash(token)).await?.ok_or(AppError::NotFound)?;
        if invitation.responded_at.is_some() {
            return Ok(InvitedAnswer::AnsweredBefore);
        }
        if invitation.expires_at <= submission.finished_at {
            return Ok(InvitedAnswer::Expired);
        }
        let survey = self.store.survey(invitation.project_id).await?.ok_or(AppError::NotFound)?;
        if survey.project_deleted {
            return Err(AppError::SurveyDeleted);
        }
        if survey.status != SurveyStatus::Published {
            return Err(AppError::SurveyClosed);
        }
        let corrupt = |e: serde_json::Error| AppError::Store(store::StoreError::Corrupt(e.to_string()));
        let response = NewResponse {
            public_id: submission.response_id.to_string(),
            project_id: invitation.project_id,
            answers: serde_json::to_string(&submission.answers).map_err(corrupt)?,
            embedded: serde_json::to_string(&invitation.embedded).map_err(corrupt)?,
            started_at: submission.started_at,
            finished_at: submission.finished_at,
            provenance: EmbeddedProvenance::Invitation,
        };
        match self.store.submit_invited(invitation.id, &response).await? {
            InvitedSubmit::Stored => Ok(InvitedAnswer::Stored),
            InvitedSubmit::AnsweredBefore => Ok(InvitedAnswer::AnsweredBefore),
            InvitedSubmit::IdTaken => Err(AppError::Conflict("This form was sent before: reload the page and answer again.".into())),
        }
    }

    /// Whether a personal link exists (for the unsubscribe page).
    pub async fn invitation_exists(&self, token: &str) -> Result<(), AppError> {
        self.store.survey_invitation(&token_hash(token)).await?.map(drop).ok_or(AppError::NotFound)
    }

    /// Unsubscribes a personal link's recipient from every invitation of the
    /// survey owner's account; returns the address and whether it is new.
    pub async fn unsubscribe(&self, token: &str) -> Result<(String, bool), AppError> {
        let invitation = self.store.survey_invitation(&token_hash(token)).await?.ok_or(AppError::NotFound)?;
        let new = self.store.opt_out(invitation.owner_id, &invitation.recipient).await?;
        if new {
            tracing::info!(project = invitation.project_id, "a recipient unsubscribed");
        }
        Ok((invitation.recipient, new))
    }

    /// Runs the trigger worker until `stop` says so.
    pub async fn run_triggers(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let idle = match self.work_triggers_once().await {
                Ok(0) => Some(Duration::from_millis(250)),
                // A breath between batches: the endpoint's commits (Salesforce
                // waits on them) get the database between the worker's.
                Ok(_) => Some(Duration::from_millis(20)),
                Err(e) => {
                    tracing::error!(error = %e, "trigger worker could not reach the database");
                    Some(Duration::from_secs(2))
                }
            };
            if let Some(wait) = idle {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// Decides one claim's worth of notifications and queues due reminders;
    /// returns how many it worked on.
    pub async fn work_triggers_once(&self) -> Result<usize, store::StoreError> {
        let claimed = self.store.claim_notifications(CLAIM, 60_000).await?;
        let n = claimed.len();
        let mut by_project: BTreeMap<i64, Vec<ClaimedNotification>> = BTreeMap::new();
        for c in claimed {
            by_project.entry(c.project_id).or_default().push(c);
        }
        for (project_id, batch) in by_project {
            self.decide_project(project_id, batch).await?;
        }
        Ok(n + self.queue_reminders().await?)
    }

    async fn decide_project(&self, project_id: i64, batch: Vec<ClaimedNotification>) -> Result<(), store::StoreError> {
        let store = &self.store;
        let Some(trigger) = store.trigger(project_id).await? else {
            return settle_all(store, &batch, "the survey's trigger was deleted").await;
        };
        let Some(project) = store.project_as_owner(project_id).await? else {
            return settle_all(store, &batch, "the project was deleted").await;
        };
        let rules = trigger.rules;
        let link = store.link(project.owner_id).await?;
        let integration = store.integration(project_id).await?;
        let work = domain::SalesforceWork::decide(
            crate::ownership::owner_of(&project),
            link.as_ref().map(|l| l.facts()),
            store::integrations::validation_of(integration.as_ref(), project.owner_id),
        );
        if let Some(why) = work.held_because() {
            let reason = format!("held: {why}");
            let held: Vec<Decision> = batch.iter().map(|c| Decision::Defer { id: c.id, held: true, reason: reason.clone(), not_before: now_ms() + HELD_RECHECK_MS }).collect();
            store.apply_decisions(&held).await?;
            return Ok(());
        }
        // Screen first: what does not concern the trigger costs no lookup.
        let mut decisions: Vec<Decision> = Vec::with_capacity(batch.len());
        let skip = |id: i64, why: &NoInvitation, recipient: Option<&str>| {
            let status = match why {
                NoInvitation::OptedOut => NotificationStatus::OptedOut,
                NoInvitation::Suppressed(_) => NotificationStatus::Suppressed,
                _ => NotificationStatus::Skipped,
            };
            Decision::Settle { id, status, reason: why.to_string(), recipient: recipient.map(str::to_string) }
        };
        let mut admitted: Vec<ClaimedNotification> = Vec::with_capacity(batch.len());
        for c in batch {
            match trigger::screen(&rules, &c.object, c.record_id.as_deref(), &c.fields) {
                Ok(()) => admitted.push(c),
                Err(why) => decisions.push(skip(c.id, &why, None)),
            }
        }
        // A notification is only a claim: anyone holding the endpoint URL
        // could post one. Insight acts on each record as the owner's org
        // holds it, read in one query for the batch (with the Contact a
        // lookup names), and on nothing the org does not have.
        let to_confirm: Vec<String> = admitted.iter().filter(|c| c.test_recipient.is_none()).filter_map(record_id_of).collect();
        let confirmed = match self.read_from_org(project.owner_id, &rules, &to_confirm).await {
            Ok(found) => found,
            Err(why) => {
                let reason = format!("waiting to read the records from Salesforce: {why}");
                decisions.extend(admitted.iter().map(|c| Decision::Defer { id: c.id, held: false, reason: reason.clone(), not_before: now_ms() + backoff_ms(c.attempts) }));
                store.apply_decisions(&decisions).await?;
                return Ok(());
            }
        };
        let mut addressed: Vec<(ClaimedNotification, Addressee)> = Vec::with_capacity(admitted.len());
        for mut c in admitted {
            let addressee = if let Some(me) = &c.test_recipient {
                Ok(Addressee { email: me.clone(), name: None })
            } else {
                match record_id_of(&c).and_then(|id| confirmed.get(&id)) {
                    None => Err(NoInvitation::NotInOrg),
                    Some((fields, contact)) => {
                        c.fields = fields.clone();
                        trigger::screen(&rules, &c.object, c.record_id.as_deref(), &c.fields).and_then(|()| match &rules.recipient {
                            Recipient::Field { email, name } => trigger::addressee_from_fields(email, name.as_deref(), &c.fields),
                            Recipient::ContactLookup { field } => contact.clone().ok_or_else(|| NoInvitation::NoEmail(format!("the Contact named by {field} (none, or it has no Email)"))),
                        })
                    }
                }
            };
            match addressee {
                Ok(a) => addressed.push((c, Addressee { email: a.email.trim().to_ascii_lowercase(), name: a.name })),
                Err(why) => decisions.push(skip(c.id, &why, None)),
            }
        }
        // The contact rules: the batch's history in two queries, then counted
        // on here, so two notifications to one person in one batch count twice.
        let now = now_ms();
        let account_rule = store.account_contact_rule(project.owner_id).await?;
        let window = |r: Option<trigger::FrequencyRule>| r.map(|r| now - r.window_ms()).unwrap_or(i64::MAX);
        let mut emails: Vec<String> = addressed.iter().filter(|(c, _)| c.test_recipient.is_none()).map(|(_, a)| a.email.clone()).collect();
        emails.sort();
        emails.dedup();
        let mut histories = store.address_histories(project.owner_id, project_id, &emails, window(account_rule), window(rules.frequency)).await?;
        for (c, addressee) in addressed {
            let is_test = c.test_recipient.is_some();
            let (history, account_rule, survey_rule) = if is_test {
                (History::default(), None, None)
            } else {
                let h = histories.get(&addressee.email).copied().unwrap_or_default();
                (History { opted_out: h.opted_out, account_recent: h.account_recent, survey_recent: h.survey_recent }, account_rule, rules.frequency)
            };
            if let Err(why) = trigger::admit(&addressee, &history, account_rule, survey_rule) {
                decisions.push(skip(c.id, &why, Some(&addressee.email)));
                continue;
            }
            if !is_test {
                let h = histories.entry(addressee.email.clone()).or_default();
                h.account_recent += 1;
                h.survey_recent += 1;
            }
            decisions.push(self.invitation(&rules, &c, &addressee));
        }
        let invited = store.apply_decisions(&decisions).await?;
        tracing::info!(project = project_id, decided = decisions.len(), invited, "notifications decided");
        Ok(())
    }

    /// One SOQL query for the batch: record id (18 characters) → the
    /// trigger's fields as the org holds them, and the Contact a lookup names.
    async fn read_from_org(&self, owner_id: i64, rules: &TriggerRules, ids: &[String]) -> Result<HashMap<String, Confirmed>, String> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let settings = self.salesforce.as_ref().ok_or("Salesforce is not configured on this server")?;
        let client = settings.sessions.client(&self.store, settings, owner_id).await.map_err(|e| e.to_string())?;
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let rows: Vec<serde_json::Map<String, serde_json::Value>> = client.query_all(&rules.confirmation_soql(&ids)).await.map_err(|e| e.to_string())?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let id = SalesforceId::parse(row.get("Id")?.as_str()?).ok()?.as_str().to_string();
                Some((id, rules.confirmed_fields(&row)))
            })
            .collect())
    }

    /// The invitation for an admitted notification, with its mail.
    fn invitation(&self, rules: &TriggerRules, c: &ClaimedNotification, to: &Addressee) -> Decision {
        let token = new_token();
        let now = now_ms();
        // A test goes right away and is not reminded: the person is waiting for it.
        let is_test = c.test_recipient.is_some();
        let send_at = if is_test { now } else { (c.received_at + rules.delay.seconds * 1000).max(now) };
        let record_id = c.record_id.clone().unwrap_or_default();
        let invitation = NewSurveyInvitation {
            recipient: to.email.clone(),
            recipient_name: to.name.clone(),
            embedded: rules.embedded_of(&record_id, &c.fields),
            token_hash: token_hash(&token),
            token: Secret::new(token.clone()),
            send_at,
            expires_at: send_at + rules.link_valid_days as i64 * 86_400_000,
            remind_at: rules.reminder_after_days.filter(|_| !is_test).map(|d| send_at + d as i64 * 86_400_000),
        };
        let mail = self.invitation_mail(rules, &c.fields, to.name.as_deref(), &token, store::triggers::invitation_mail_key(c.id), &to.email, Some(send_at), false);
        Decision::Invite { id: c.id, invitation, mail }
    }

    #[allow(clippy::too_many_arguments)]
    fn invitation_mail(
        &self,
        rules: &TriggerRules,
        fields: &BTreeMap<String, Option<String>>,
        name: Option<&str>,
        token: &str,
        dedupe_key: String,
        recipient: &str,
        not_before: Option<i64>,
        reminder: bool,
    ) -> NewMail {
        let base = self.public_url.trim_end_matches('/');
        let link = format!("{base}/i/{token}");
        let unsubscribe = format!("{base}/i/{token}/unsubscribe");
        let mut values: BTreeMap<String, String> = fields.iter().filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v))).collect();
        values.insert(RECIPIENT_NAME.into(), name.unwrap_or("").to_string());
        values.insert(SURVEY_LINK.into(), link.clone());
        let subject = trigger::MailTemplate::fill(&rules.mail.subject, &values, |v| v.replace(['\r', '\n'], " "));
        let subject = if reminder { format!("Reminder: {subject}") } else { subject };
        let text = format!(
            "{}\n\n--\nYou received this because of your contact with {}. To receive no more surveys from them: {unsubscribe}\n",
            trigger::MailTemplate::fill(&rules.mail.body, &values, str::to_string),
            rules.mail.sender_name
        );
        let html = invitation_html(&rules.mail.body, &values, &link, &unsubscribe, &rules.mail.sender_name);
        NewMail {
            dedupe_key,
            recipient: recipient.to_string(),
            subject,
            text: Secret::new(text),
            html: Some(Secret::new(html)),
            not_before,
            from_name: Some(rules.mail.sender_name.clone()),
            // RFC 8058 one-click: the mail client POSTs to it, which the
            // unsubscribe route takes without a session.
            unsubscribe_url: Some(Secret::new(unsubscribe)),
        }
    }

    /// Queues the reminders that are due; returns how many.
    async fn queue_reminders(&self) -> Result<usize, store::StoreError> {
        let due = self.store.due_reminders(50).await?;
        let mut n = 0;
        for id in due {
            let Some((project_id, recipient, name, fields, token)) = self.store.invitation_for_reminder(id).await? else { continue };
            let Some(trigger) = self.store.trigger(project_id).await? else { continue };
            let mail = self.invitation_mail(&trigger.rules, &fields, name.as_deref(), token.expose(), store::triggers::reminder_mail_key(id), &recipient, None, true);
            if self.store.remind(id, &mail).await? {
                n += 1;
            }
        }
        Ok(n)
    }
}

async fn settle_all(store: &Store, batch: &[ClaimedNotification], why: &str) -> Result<(), store::StoreError> {
    let skipped: Vec<Decision> = batch.iter().map(|c| Decision::Settle { id: c.id, status: NotificationStatus::Skipped, reason: why.to_string(), recipient: None }).collect();
    store.apply_decisions(&skipped).await.map(drop)
}

/// What the org said about one notified record.
type Confirmed = (BTreeMap<String, Option<String>>, Option<Addressee>);

/// A notification's record id as an 18-character id; anything that is not a
/// Salesforce id is no id (and never reaches a query).
fn record_id_of(c: &ClaimedNotification) -> Option<String> {
    SalesforceId::parse(c.record_id.as_deref()?.trim()).ok().map(|id| id.as_str().to_string())
}

fn backoff_ms(attempts: i64) -> i64 {
    (30_000i64 << attempts.clamp(0, 7) as u32).min(3_600_000)
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// The HTML part: the template's text escaped, paragraphs kept, the survey
/// link as a link, and the unsubscribe link in the footer.
fn invitation_html(body: &str, values: &BTreeMap<String, String>, link: &str, unsubscribe: &str, sender: &str) -> String {
    let marker = "\u{0}survey-link\u{0}";
    let mut plain = values.clone();
    plain.insert(SURVEY_LINK.into(), marker.into());
    let filled = trigger::MailTemplate::fill(body, &plain, str::to_string);
    let escaped = escape_html(&filled);
    let link_html = format!("<a href=\"{}\">{}</a>", escape_html(link), escape_html(link));
    let paragraphs: Vec<String> = escaped.split("\n\n").map(|p| format!("<p>{}</p>", p.replace('\n', "<br>\n"))).collect();
    let body = paragraphs.join("\n").replace(&escape_html(marker), &link_html);
    format!(
        "<!doctype html><html><body>\n{body}\n<hr>\n<p style=\"font-size:small;color:#666\">You received this because of your contact with {}. <a href=\"{}\">Unsubscribe</a> to receive no more surveys from them.</p>\n</body></html>\n",
        escape_html(sender),
        escape_html(unsubscribe)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_values_and_keeps_the_link() {
        let values: BTreeMap<String, String> = [("recipient_name".to_string(), "<Pat>".to_string())].into();
        let html = invitation_html("Hi {{recipient_name}},\n\n{{survey_link}}", &values, "https://x.test/i/abc", "https://x.test/i/abc/unsubscribe", "Acme & Co");
        assert!(html.contains("<p>Hi &lt;Pat&gt;,</p>"), "{html}");
        assert!(html.contains("<a href=\"https://x.test/i/abc\">https://x.test/i/abc</a>"), "{html}");
        assert!(html.contains("Acme &amp; Co"));
        assert!(html.contains("https://x.test/i/abc/unsubscribe"));
    }

    #[test]
    fn only_salesforce_ids_reach_the_query() {
        let claim = |id: Option<&str>| ClaimedNotification { id: 1, project_id: 1, org_id: String::new(), object: "Case".into(), record_id: id.map(str::to_string), fields: BTreeMap::new(), test_recipient: None, received_at: 0, attempts: 1 };
        assert_eq!(record_id_of(&claim(Some("500000000000001"))).unwrap().len(), 18);
        assert_eq!(record_id_of(&claim(Some("x') OR Id != ('"))), None);
        assert_eq!(record_id_of(&claim(None)), None);
    }
}
