//! Trigger and Email Survey at rest: a survey's trigger (its rules and the
//! token in its endpoint URL), every notification it accepted (the
//! invitation log, and the queue the trigger worker works through), the
//! personal links of invitations, opt-outs and contact frequency rules.
//!
//! A notification id is recorded once per survey, so Salesforce's retries
//! and replays change nothing; an invitation and its mail are queued in one
//! transaction; a personal link is answered once, its response stored in
//! the same transaction that marks the invitation answered.

use crate::columns::json;
use crate::mail::NewMail;
use crate::responses::{insert_responses_in, NewResponse, Submitted};
use crate::sealed::Secret;
use crate::{now_ms, Backend, Result, Store, StoreError};
use domain::trigger::{FrequencyRule, TriggerRules};
use std::collections::BTreeMap;

/// A survey's trigger, its token opened.
#[derive(Debug, Clone)]
pub struct StoredTrigger {
    pub project_id: i64,
    pub rules: TriggerRules,
    pub token: Secret,
    pub updated_at: i64,
}

/// One notification of an envelope, to record.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub notification_id: String,
    pub object: String,
    pub record_id: Option<String>,
    pub fields: BTreeMap<String, Option<String>>,
    /// A test sent from the trigger's page goes to this address.
    pub test_recipient: Option<String>,
}

/// Where a notification stands in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationStatus {
    /// Recorded; the trigger worker has not decided yet.
    Received,
    /// The survey's Salesforce work is held (a switch, a transfer, no link).
    Held,
    Invited,
    /// Not for this trigger (another object, condition not met, no address).
    Skipped,
    Suppressed,
    OptedOut,
    Responded,
}

impl crate::columns::Column for NotificationStatus {
    const WORDS: &'static [(Self, &'static str)] = &[
        (NotificationStatus::Received, "received"),
        (NotificationStatus::Held, "held"),
        (NotificationStatus::Invited, "invited"),
        (NotificationStatus::Skipped, "skipped"),
        (NotificationStatus::Suppressed, "suppressed"),
        (NotificationStatus::OptedOut, "opted_out"),
        (NotificationStatus::Responded, "responded"),
    ];
}

/// A notification the trigger worker holds the lease on.
#[derive(Debug, Clone)]
pub struct ClaimedNotification {
    pub id: i64,
    pub project_id: i64,
    pub org_id: String,
    pub object: String,
    pub record_id: Option<String>,
    pub fields: BTreeMap<String, Option<String>>,
    pub test_recipient: Option<String>,
    pub received_at: i64,
    /// Including this one.
    pub attempts: i64,
}

/// The invitation the worker decided on, with its mail.
#[derive(Debug, Clone)]
pub struct NewSurveyInvitation {
    pub recipient: String,
    pub recipient_name: Option<String>,
    pub embedded: BTreeMap<String, String>,
    pub token_hash: String,
    /// The token itself, sealed, so a reminder carries the same link.
    pub token: Secret,
    pub send_at: i64,
    pub expires_at: i64,
    pub remind_at: Option<i64>,
}

/// What the trigger worker decided for one notification.
#[derive(Debug, Clone)]
pub enum Decision {
    /// No invitation, for good: skipped, suppressed or opted out, with why.
    Settle { id: i64, status: NotificationStatus, reason: String, recipient: Option<String> },
    /// The invitation and its mail.
    Invite { id: i64, invitation: NewSurveyInvitation, mail: NewMail },
    /// Not yet: held (the survey's Salesforce work is held) or still
    /// received (a lookup failed), looked at again from `not_before`.
    Defer { id: i64, held: bool, reason: String, not_before: i64 },
}

/// A survey's notifications, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotificationCounts {
    pub all: i64,
    /// Received or held: no decision yet.
    pub waiting: i64,
    pub held: i64,
}

/// What Insight knows of one address, for the contact rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressHistory {
    pub opted_out: bool,
    /// Invitations since the account rule's window began, from any survey
    /// the account owns, and since the survey rule's, from this survey.
    pub account_recent: u32,
    pub survey_recent: u32,
}

/// A personal link, found by its token.
#[derive(Debug, Clone)]
pub struct SurveyInvitation {
    pub id: i64,
    pub project_id: i64,
    pub owner_id: i64,
    pub recipient: String,
    pub recipient_name: Option<String>,
    pub record_id: Option<String>,
    pub embedded: BTreeMap<String, String>,
    pub expires_at: i64,
    pub responded_at: Option<i64>,
    pub response_id: Option<String>,
}

/// A row of the invitation log, with the state of its mail.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub id: i64,
    pub notification_id: String,
    pub object: String,
    pub record_id: Option<String>,
    pub status: NotificationStatus,
    pub reason: Option<String>,
    pub recipient: Option<String>,
    pub is_test: bool,
    pub received_at: i64,
    pub send_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub opened_at: Option<i64>,
    pub responded_at: Option<i64>,
    pub response_id: Option<String>,
    pub reminded_at: Option<i64>,
    /// The invitation mail's outbox state: pending, sent or failed.
    pub mail_status: Option<String>,
    pub mail_sent_at: Option<i64>,
    pub mail_error: Option<String>,
}

/// What an invited response came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitedSubmit {
    Stored,
    /// This link was answered before: nothing changed.
    AnsweredBefore,
    /// The response id is another response's: nothing changed.
    IdTaken,
}

/// The mail key of an invitation and of its reminder: one mail each, ever.
pub fn invitation_mail_key(notification: i64) -> String {
    format!("invite:{notification}")
}

pub fn reminder_mail_key(notification: i64) -> String {
    format!("remind:{notification}")
}

#[derive(sqlx::FromRow)]
struct LogRow {
    id: i64,
    notification_id: String,
    object: String,
    record_id: Option<String>,
    status: String,
    reason: Option<String>,
    recipient: Option<String>,
    test_recipient: Option<String>,
    received_at: i64,
    send_at: Option<i64>,
    expires_at: Option<i64>,
    opened_at: Option<i64>,
    responded_at: Option<i64>,
    response_id: Option<String>,
    reminded_at: Option<i64>,
    mail_status: Option<String>,
    mail_sent_at: Option<i64>,
    mail_error: Option<String>,
}

/// The filters of the invitation log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFilter {
    #[default]
    All,
    Invited,
    Responded,
    NotInvited,
    Waiting,
}

impl LogFilter {
    fn sql(self) -> &'static str {
        match self {
            LogFilter::All => "",
            LogFilter::Invited => " AND n.status IN ('invited', 'responded')",
            LogFilter::Responded => " AND n.status = 'responded'",
            LogFilter::NotInvited => " AND n.status IN ('skipped', 'suppressed', 'opted_out')",
            LogFilter::Waiting => " AND n.status IN ('received', 'held')",
        }
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    pub async fn trigger(&self, project_id: i64) -> Result<Option<StoredTrigger>> {
        let row: Option<(String, String, i64)> = sqlx::query_as("SELECT rules, sealed_token, updated_at FROM survey_triggers WHERE project_id = $1")
            .bind(project_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some((rules, sealed, updated_at)) = row else { return Ok(None) };
        let token = self.sealer()?.open(&sealed).map_err(|_| StoreError::Corrupt("a trigger token does not open with the configured key".into()))?;
        Ok(Some(StoredTrigger { project_id, rules: json("trigger rules of project", project_id, &rules)?, token, updated_at }))
    }

    /// The survey whose trigger has the token with this SHA-256.
    pub async fn trigger_by_token(&self, token_hash: &str) -> Result<Option<(i64, TriggerRules)>> {
        let row: Option<(i64, String)> = sqlx::query_as("SELECT project_id, rules FROM survey_triggers WHERE token_hash = $1").bind(token_hash).fetch_optional(&self.pool).await?;
        row.map(|(p, r)| Ok((p, json("trigger rules of project", p, &r)?))).transpose()
    }

    /// Saves a trigger's rules. A new trigger needs its first token
    /// (`token_hash`, `token`); an existing one keeps its token.
    pub async fn save_trigger(&self, project_id: i64, rules: &TriggerRules, first_token: (&str, &Secret), by: i64) -> Result<()> {
        let now = now_ms();
        let rules = to_json(rules)?;
        sqlx::query(
            "INSERT INTO survey_triggers (project_id, token_hash, sealed_token, rules, created_at, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, $5, $6)
             ON CONFLICT (project_id) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(project_id)
        .bind(first_token.0)
        .bind(self.sealer()?.seal(first_token.1))
        .bind(rules)
        .bind(now)
        .bind(by)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Replaces the token: the old endpoint URL stops working at once.
    pub async fn replace_trigger_token(&self, project_id: i64, token_hash: &str, token: &Secret) -> Result<bool> {
        let r = sqlx::query("UPDATE survey_triggers SET token_hash = $1, sealed_token = $2, updated_at = $3 WHERE project_id = $4")
            .bind(token_hash)
            .bind(self.sealer()?.seal(token))
            .bind(now_ms())
            .bind(project_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn delete_trigger(&self, project_id: i64) -> Result<bool> {
        let r = sqlx::query("DELETE FROM survey_triggers WHERE project_id = $1").bind(project_id).execute(&self.pool).await?;
        Ok(r.rows_affected() == 1)
    }

    /// Records an envelope's notifications in one commit; returns how many
    /// were new. A notification id recorded before for this survey is left
    /// as it was.
    pub async fn record_notifications(&self, project_id: i64, org_id: &str, notifications: &[NewNotification]) -> Result<usize> {
        const COLUMNS: usize = 10;
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        let mut new = 0;
        // Up to 100 notifications × 10 parameters: far below both backends' limits.
        for chunk in notifications.chunks(200) {
            let mut sql = String::from(
                "INSERT INTO trigger_notifications (project_id, notification_id, org_id, object, record_id, fields, test_recipient, status, received_at, not_before) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * COLUMNS;
                if i > 0 {
                    sql.push(',');
                }
                sql.push('(');
                sql.push_str(&(1..=COLUMNS).map(|k| format!("${}", b + k)).collect::<Vec<_>>().join(","));
                sql.push(')');
            }
            sql.push_str(" ON CONFLICT (project_id, notification_id) DO NOTHING");
            let mut query = sqlx::query(&sql);
            for n in chunk {
                query = query
                    .bind(project_id)
                    .bind(&n.notification_id)
                    .bind(org_id)
                    .bind(&n.object)
                    .bind(&n.record_id)
                    .bind(to_json(&n.fields)?)
                    .bind(&n.test_recipient)
                    .bind("received")
                    .bind(now)
                    .bind(now);
            }
            new += query.persistent(false).execute(&mut *tx).await?.rows_affected() as usize;
        }
        tx.commit().await?;
        Ok(new)
    }

    /// Claims up to `limit` notifications due for a decision, for `lease_ms`.
    pub async fn claim_notifications(&self, limit: i64, lease_ms: i64) -> Result<Vec<ClaimedNotification>> {
        let now = now_ms();
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE trigger_notifications SET lease_until = $1, attempts = attempts + 1
              WHERE id IN (SELECT id FROM trigger_notifications
                            WHERE status IN ('received', 'held') AND not_before <= $2 AND (lease_until IS NULL OR lease_until < $2)
                            ORDER BY id LIMIT $3{lock})
             RETURNING id, project_id, org_id, object, record_id, fields, test_recipient, received_at, attempts"
        );
        type Row = (i64, i64, String, String, Option<String>, String, Option<String>, i64, i64);
        let rows: Vec<Row> = sqlx::query_as(&sql).bind(now + lease_ms).bind(now).bind(limit).fetch_all(&self.pool).await?;
        let mut claimed = rows
            .into_iter()
            .map(|(id, project_id, org_id, object, record_id, fields, test_recipient, received_at, attempts)| {
                Ok(ClaimedNotification {
                    id,
                    project_id,
                    org_id,
                    object,
                    record_id,
                    fields: json("fields of notification", id, &fields)?,
                    test_recipient,
                    received_at,
                    attempts,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        claimed.sort_by_key(|n| n.id);
        Ok(claimed)
    }

    /// Writes a batch's decisions in one commit; returns the invitations
    /// made (a notification decided meanwhile by another worker is left).
    pub async fn apply_decisions(&self, decisions: &[Decision]) -> Result<usize> {
        use crate::columns::Column;
        let now = now_ms();
        let sealer = self.sealer()?;
        let mut tx = self.write_tx().await?;
        let mut invited = 0;
        for d in decisions {
            match d {
                Decision::Settle { id, status, reason, recipient } => {
                    sqlx::query(
                        "UPDATE trigger_notifications SET status = $1, reason = $2, recipient = COALESCE($3, recipient), lease_until = NULL
                          WHERE id = $4 AND status IN ('received', 'held')",
                    )
                    .bind(status.to_column())
                    .bind(reason)
                    .bind(recipient)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                Decision::Defer { id, held, reason, not_before } => {
                    sqlx::query("UPDATE trigger_notifications SET status = $1, reason = $2, not_before = $3, lease_until = NULL WHERE id = $4 AND status IN ('received', 'held')")
                        .bind(if *held { "held" } else { "received" })
                        .bind(reason)
                        .bind(not_before)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                Decision::Invite { id, invitation, mail } => {
                    let r = sqlx::query(
                        "UPDATE trigger_notifications
                            SET status = 'invited', reason = NULL, recipient = $1, recipient_name = $2, embedded = $3, token_hash = $4,
                                invited_at = $5, send_at = $6, expires_at = $7, remind_at = $8, lease_until = NULL, sealed_token = $10
                          WHERE id = $9 AND status IN ('received', 'held')",
                    )
                    .bind(&invitation.recipient)
                    .bind(&invitation.recipient_name)
                    .bind(to_json(&invitation.embedded)?)
                    .bind(&invitation.token_hash)
                    .bind(now)
                    .bind(invitation.send_at)
                    .bind(invitation.expires_at)
                    .bind(invitation.remind_at)
                    .bind(id)
                    .bind(sealer.seal(&invitation.token))
                    .execute(&mut *tx)
                    .await?;
                    if r.rows_affected() == 1 {
                        self.queue_mail_in(&mut tx, mail).await?;
                        invited += 1;
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(invited)
    }

    /// The contact-rule history of each of `emails` (lower-cased), in two
    /// queries for the batch.
    pub async fn address_histories(&self, owner_id: i64, project_id: i64, emails: &[String], account_since: i64, survey_since: i64) -> Result<std::collections::HashMap<String, AddressHistory>> {
        let mut out: std::collections::HashMap<String, AddressHistory> = emails.iter().map(|e| (e.clone(), AddressHistory::default())).collect();
        for chunk in emails.chunks(500) {
            let list = |first: usize| (0..chunk.len()).map(|i| format!("${}", first + i)).collect::<Vec<_>>().join(",");
            let sql = format!("SELECT email FROM mail_opt_outs WHERE account_id = $1 AND email IN ({})", list(2));
            let mut q = sqlx::query_as::<_, (String,)>(&sql).bind(owner_id);
            for e in chunk {
                q = q.bind(e);
            }
            for (email,) in q.persistent(false).fetch_all(&self.pool).await? {
                out.entry(email).or_default().opted_out = true;
            }
            let sql = format!(
                "SELECT n.recipient,
                        COALESCE(SUM(CASE WHEN n.invited_at >= $1 THEN 1 ELSE 0 END), 0),
                        COALESCE(SUM(CASE WHEN n.project_id = $2 AND n.invited_at >= $3 THEN 1 ELSE 0 END), 0)
                   FROM trigger_notifications n JOIN projects p ON p.id = n.project_id
                  WHERE p.owner_id = $4 AND n.invited_at IS NOT NULL AND n.test_recipient IS NULL AND n.recipient IN ({})
                  GROUP BY n.recipient",
                list(5)
            );
            let mut q = sqlx::query_as::<_, (String, i64, i64)>(&sql).bind(account_since).bind(project_id).bind(survey_since).bind(owner_id);
            for e in chunk {
                q = q.bind(e);
            }
            for (email, account, survey) in q.persistent(false).fetch_all(&self.pool).await? {
                let h = out.entry(email).or_default();
                h.account_recent = account as u32;
                h.survey_recent = survey as u32;
            }
        }
        Ok(out)
    }

    /// Records an opt-out; `false` when the address had opted out before.
    pub async fn opt_out(&self, account_id: i64, email: &str) -> Result<bool> {
        let r = sqlx::query("INSERT INTO mail_opt_outs (account_id, email, created_at) VALUES ($1, $2, $3) ON CONFLICT (account_id, email) DO NOTHING")
            .bind(account_id)
            .bind(email)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn account_contact_rule(&self, account_id: i64) -> Result<Option<FrequencyRule>> {
        let row: Option<(i64, i64)> = sqlx::query_as("SELECT max_invitations, period_days FROM account_contact_rules WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(max, days)| FrequencyRule { max: max as u32, days: days as u32 }))
    }

    pub async fn set_account_contact_rule(&self, account_id: i64, rule: Option<FrequencyRule>) -> Result<()> {
        match rule {
            None => {
                sqlx::query("DELETE FROM account_contact_rules WHERE account_id = $1").bind(account_id).execute(&self.pool).await?;
            }
            Some(rule) => {
                sqlx::query(
                    "INSERT INTO account_contact_rules (account_id, max_invitations, period_days, updated_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (account_id) DO UPDATE SET max_invitations = excluded.max_invitations, period_days = excluded.period_days, updated_at = excluded.updated_at",
                )
                .bind(account_id)
                .bind(rule.max as i64)
                .bind(rule.days as i64)
                .bind(now_ms())
                .execute(&self.pool)
                .await?;
            }
        }
        Ok(())
    }

    /// The invitation whose personal link has the token with this SHA-256.
    pub async fn survey_invitation(&self, token_hash: &str) -> Result<Option<SurveyInvitation>> {
        type Row = (i64, i64, i64, String, Option<String>, Option<String>, String, i64, Option<i64>, Option<String>);
        let row: Option<Row> = sqlx::query_as(
            "SELECT n.id, n.project_id, p.owner_id, n.recipient, n.recipient_name, n.record_id, n.embedded, n.expires_at, n.responded_at, n.response_id
               FROM trigger_notifications n JOIN projects p ON p.id = n.project_id
              WHERE n.token_hash = $1 AND n.status IN ('invited', 'responded')",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(id, project_id, owner_id, recipient, recipient_name, record_id, embedded, expires_at, responded_at, response_id)| {
            Ok(SurveyInvitation {
                id,
                project_id,
                owner_id,
                recipient,
                recipient_name,
                record_id,
                embedded: json("embedded data of invitation", id, &embedded)?,
                expires_at,
                responded_at,
                response_id,
            })
        })
        .transpose()
    }

    /// Notes the first time a personal link was opened.
    pub async fn mark_invitation_opened(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE trigger_notifications SET opened_at = $1 WHERE id = $2 AND opened_at IS NULL").bind(now_ms()).bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// Stores the answer to a personal link, once: the invitation is marked
    /// answered and the response stored (with its delivery) in one commit.
    pub async fn submit_invited(&self, invitation_id: i64, response: &NewResponse) -> Result<InvitedSubmit> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        let r = sqlx::query(
            "UPDATE trigger_notifications SET status = 'responded', responded_at = $1, response_id = $2
              WHERE id = $3 AND status = 'invited' AND responded_at IS NULL",
        )
        .bind(now)
        .bind(&response.public_id)
        .bind(invitation_id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(InvitedSubmit::AnsweredBefore);
        }
        match insert_responses_in(&mut tx, self.backend, &[response]).await?.as_slice() {
            [Submitted::Stored] => {}
            // The respondent's browser reused a response id: change nothing
            // rather than mark the invitation answered by another response.
            _ => return Ok(InvitedSubmit::IdTaken),
        }
        tx.commit().await?;
        Ok(InvitedSubmit::Stored)
    }

    /// Invitations due a reminder: not answered, not reminded, not expired.
    pub async fn due_reminders(&self, limit: i64) -> Result<Vec<i64>> {
        let now = now_ms();
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT id FROM trigger_notifications
              WHERE remind_at IS NOT NULL AND remind_at <= $1 AND reminded_at IS NULL AND responded_at IS NULL
                AND status = 'invited' AND expires_at > $1
              ORDER BY remind_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Queues a reminder and notes it, in one transaction; `false` when it
    /// was queued before or the invitation was answered meanwhile.
    pub async fn remind(&self, id: i64, mail: &NewMail) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let r = sqlx::query("UPDATE trigger_notifications SET reminded_at = $1 WHERE id = $2 AND reminded_at IS NULL AND responded_at IS NULL AND status = 'invited'")
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() != 1 {
            return Ok(false);
        }
        self.queue_mail_in(&mut tx, mail).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// What a reminder needs of an invitation: its project, recipient and
    /// name, the notified fields (for the template) and the token.
    pub async fn invitation_for_reminder(&self, id: i64) -> Result<Option<(i64, String, Option<String>, BTreeMap<String, Option<String>>, Secret)>> {
        let row: Option<(i64, String, Option<String>, String, String)> = sqlx::query_as(
            "SELECT project_id, recipient, recipient_name, fields, sealed_token FROM trigger_notifications WHERE id = $1 AND status = 'invited'",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some((p, r, n, f, sealed)) = row else { return Ok(None) };
        let token = self.sealer()?.open(&sealed).map_err(|_| StoreError::Corrupt("an invitation token does not open with the configured key".into()))?;
        Ok(Some((p, r, n, json("fields of notification", id, &f)?, token)))
    }

    /// The invitation log, newest first: up to `limit` rows older than `before`.
    pub async fn invitation_log(&self, project_id: i64, filter: LogFilter, before: Option<i64>, limit: i64) -> Result<Vec<LogEntry>> {
        let sql = format!(
            "SELECT n.id, n.notification_id, n.object, n.record_id, n.status, n.reason, n.recipient, n.test_recipient, n.received_at,
                    n.send_at, n.expires_at, n.opened_at, n.responded_at, n.response_id, n.reminded_at,
                    m.status AS mail_status, m.sent_at AS mail_sent_at, m.last_error AS mail_error
               FROM trigger_notifications n LEFT JOIN mail_outbox m ON m.dedupe_key = 'invite:' || CAST(n.id AS TEXT)
              WHERE n.project_id = $1 AND n.id < $2{}
              ORDER BY n.id DESC LIMIT $3",
            filter.sql()
        );
        let rows: Vec<LogRow> = sqlx::query_as(&sql).bind(project_id).bind(before.unwrap_or(i64::MAX)).bind(limit).fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|r| {
                use crate::columns::Column;
                Ok(LogEntry {
                    status: NotificationStatus::from_column("trigger_notifications", "status", &r.status)?,
                    id: r.id,
                    notification_id: r.notification_id,
                    object: r.object,
                    record_id: r.record_id,
                    reason: r.reason,
                    recipient: r.recipient,
                    is_test: r.test_recipient.is_some(),
                    received_at: r.received_at,
                    send_at: r.send_at,
                    expires_at: r.expires_at,
                    opened_at: r.opened_at,
                    responded_at: r.responded_at,
                    response_id: r.response_id,
                    reminded_at: r.reminded_at,
                    mail_status: r.mail_status,
                    mail_sent_at: r.mail_sent_at,
                    mail_error: r.mail_error,
                })
            })
            .collect()
    }

    /// How many notifications the survey recorded, how many still wait for
    /// a decision (received or held), and how many of those are held.
    pub async fn notification_counts(&self, project_id: i64) -> Result<NotificationCounts> {
        let (all, waiting, held): (i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*),
                    COALESCE(SUM(CASE WHEN status IN ('received', 'held') THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN status = 'held' THEN 1 ELSE 0 END), 0)
               FROM trigger_notifications WHERE project_id = $1",
        )
        .bind(project_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(NotificationCounts { all, waiting, held })
    }
}
