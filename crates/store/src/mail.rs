//! The mail outbox: every mail Insight sends is a row here first, queued in
//! the same transaction as the event it is for, then claimed by a mail
//! worker with a lease (no transaction is held across the SMTP
//! conversation), sent, and marked sent. A failure is retried later; after
//! many attempts the row is marked failed and stays, with its last error.
//! Bodies carry links that sign people in, so they are sealed at rest.

use crate::columns::Column;
use crate::sealed::Secret;
use crate::{now_ms, Backend, Result, Store, StoreError};

/// A mail to queue. `dedupe_key` names the event it is for ("signup:12"):
/// queueing the same key twice queues one mail.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub dedupe_key: String,
    pub recipient: String,
    pub subject: String,
    pub text: Secret,
    pub html: Option<Secret>,
    /// Not sent before this time (ms since the epoch); now when `None`.
    pub not_before: Option<i64>,
    /// The display name on From ("Acme Support"); the address stays
    /// INSIGHT_MAIL_FROM's. No CR, LF or other control characters.
    pub from_name: Option<String>,
    /// A one-click unsubscribe URL (http or https), sent as
    /// `List-Unsubscribe` with `List-Unsubscribe-Post` (RFC 8058). It carries
    /// a token, so it is sealed like the bodies.
    pub unsubscribe_url: Option<Secret>,
}

/// Why a mail's own headers were refused: a value that would end its header
/// early and start another (header injection), or a URL that is not a web
/// address a mail client may fetch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeHeader {
    #[error("the sender name {0:?} holds a line break or another control character")]
    FromNameControl(String),
    #[error("the sender name is longer than {MAX_FROM_NAME} characters")]
    FromNameTooLong,
    #[error("the unsubscribe URL holds a line break, a space, a control character or an angle bracket")]
    UnsubscribeUrlCharacters,
    #[error("the unsubscribe URL is not an http or https URL with a host")]
    UnsubscribeUrlScheme,
    #[error("the unsubscribe URL is longer than {MAX_UNSUBSCRIBE_URL} characters")]
    UnsubscribeUrlTooLong,
}

const MAX_FROM_NAME: usize = 200;
const MAX_UNSUBSCRIBE_URL: usize = 2000;

/// The one rule for a mail's own headers, asked when a mail is queued and
/// again when it is sent. The URL is checked raw: `url::Url` silently drops
/// CR, LF and tabs while parsing, so parsing alone would pass an injection.
pub fn check_headers(from_name: Option<&str>, unsubscribe_url: Option<&str>) -> std::result::Result<(), UnsafeHeader> {
    if let Some(name) = from_name {
        if name.chars().any(char::is_control) {
            return Err(UnsafeHeader::FromNameControl(name.escape_debug().to_string()));
        }
        if name.chars().count() > MAX_FROM_NAME {
            return Err(UnsafeHeader::FromNameTooLong);
        }
    }
    if let Some(raw) = unsubscribe_url {
        if raw.len() > MAX_UNSUBSCRIBE_URL {
            return Err(UnsafeHeader::UnsubscribeUrlTooLong);
        }
        if raw.chars().any(|c| c.is_control() || c.is_whitespace() || c == '<' || c == '>') {
            return Err(UnsafeHeader::UnsubscribeUrlCharacters);
        }
        match url::Url::parse(raw) {
            Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => {}
            _ => return Err(UnsafeHeader::UnsubscribeUrlScheme),
        }
    }
    Ok(())
}

/// Where a mail stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailStatus {
    Pending,
    Sent,
    /// Given up after many attempts; the row keeps the last error.
    Failed,
}


/// A mail a worker holds the lease on, its bodies opened.
#[derive(Debug, Clone)]
pub struct ClaimedMail {
    pub id: i64,
    pub dedupe_key: String,
    pub recipient: String,
    pub subject: String,
    pub text: Secret,
    pub html: Option<Secret>,
    pub from_name: Option<String>,
    pub unsubscribe_url: Option<Secret>,
    /// Including this one.
    pub attempts: i64,
}

/// What the outbox shows of a mail (never its body).
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub id: i64,
    pub dedupe_key: String,
    pub recipient: String,
    pub subject: String,
    pub status: MailStatus,
    pub attempts: i64,
    pub not_before: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: i64,
    dedupe_key: String,
    recipient: String,
    subject: String,
    status: String,
    attempts: i64,
    not_before: i64,
    last_error: Option<String>,
    created_at: i64,
    sent_at: Option<i64>,
}

impl TryFrom<EntryRow> for OutboxEntry {
    type Error = StoreError;
    fn try_from(r: EntryRow) -> Result<OutboxEntry> {
        Ok(OutboxEntry {
            status: MailStatus::from_column("mail_outbox", "status", &r.status)?,
            id: r.id,
            dedupe_key: r.dedupe_key,
            recipient: r.recipient,
            subject: r.subject,
            attempts: r.attempts,
            not_before: r.not_before,
            last_error: r.last_error,
            created_at: r.created_at,
            sent_at: r.sent_at,
        })
    }
}

const ENTRY_COLUMNS: &str = "id, dedupe_key, recipient, subject, status, attempts, not_before, last_error, created_at, sent_at";

impl Store {
    /// Queues a mail; `false` when a mail with its key was queued before.
    pub async fn queue_mail(&self, mail: &NewMail) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let queued = self.queue_mail_in(&mut tx, mail).await?;
        tx.commit().await?;
        Ok(queued)
    }

    /// Queues a mail inside the transaction of the event it is for, so the
    /// event is never stored without its mail. A mail whose own headers are
    /// unsafe (`check_headers`) is refused and nothing is written.
    pub(crate) async fn queue_mail_in(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, mail: &NewMail) -> Result<bool> {
        check_headers(mail.from_name.as_deref(), mail.unsubscribe_url.as_ref().map(Secret::expose))?;
        let sealer = self.sealer()?;
        let now = now_ms();
        let r = sqlx::query(
            "INSERT INTO mail_outbox (dedupe_key, recipient, subject, sealed_text, sealed_html, from_name, sealed_unsubscribe_url, status, attempts, not_before, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $9)
             ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(&mail.dedupe_key)
        .bind(&mail.recipient)
        .bind(&mail.subject)
        .bind(sealer.seal(&mail.text))
        .bind(mail.html.as_ref().map(|h| sealer.seal(h)))
        .bind(mail.from_name.as_deref())
        .bind(mail.unsubscribe_url.as_ref().map(|u| sealer.seal(u)))
        .bind(mail.not_before.unwrap_or(now))
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Claims up to `limit` due mails for `lease_ms`. Several workers (and
    /// processes, on PostgreSQL) never claim the same mail at once; a
    /// worker that dies mid-send frees its mails when the lease runs out.
    pub async fn claim_mail(&self, limit: i64, lease_ms: i64) -> Result<Vec<ClaimedMail>> {
        let sealer = self.sealer()?;
        let now = now_ms();
        // PostgreSQL: rows another worker is claiming right now are skipped,
        // not waited for. SQLite has one writer at a time, so no lock is needed.
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE mail_outbox SET lease_until = $1, attempts = attempts + 1
              WHERE id IN (SELECT id FROM mail_outbox
                            WHERE status = 'pending' AND not_before <= $2 AND (lease_until IS NULL OR lease_until < $2)
                            ORDER BY id LIMIT $3{lock})
             RETURNING id, dedupe_key, recipient, subject, sealed_text, sealed_html, from_name, sealed_unsubscribe_url, attempts"
        );
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, String, String, String, String, Option<String>, Option<String>, Option<String>, i64)> =
            sqlx::query_as(&sql).bind(now + lease_ms).bind(now).bind(limit).fetch_all(&self.pool).await?;
        let open = |sealed: &str| sealer.open(sealed).map_err(|_| StoreError::Corrupt("a sealed mail does not open with the configured key".into()));
        let mut claimed = Vec::with_capacity(rows.len());
        for (id, dedupe_key, recipient, subject, text, html, from_name, unsubscribe_url, attempts) in rows {
            claimed.push(ClaimedMail {
                id,
                dedupe_key,
                recipient,
                subject,
                text: open(&text)?,
                html: html.as_deref().map(open).transpose()?,
                from_name,
                unsubscribe_url: unsubscribe_url.as_deref().map(open).transpose()?,
                attempts,
            });
        }
        claimed.sort_by_key(|m| m.id);
        Ok(claimed)
    }

    pub async fn mark_mail_sent(&self, id: i64) -> Result<()> {
        self.mark_mails_sent(&[id]).await
    }

    /// Marks a claim's sent mails in one statement: one commit for the
    /// batch rather than one per mail.
    pub async fn mark_mails_sent(&self, ids: &[i64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "UPDATE mail_outbox SET status = 'sent', sent_at = $1, lease_until = NULL, last_error = NULL WHERE status = 'pending' AND id IN ({})",
            placeholders(2, ids.len())
        );
        let mut query = sqlx::query(&sql).bind(now_ms());
        for id in ids {
            query = query.bind(*id);
        }
        query.execute(&self.pool).await?;
        Ok(())
    }

    /// Hands back claimed mails the worker did not try after all (its lease
    /// was running short): due again at once, and the claim not counted as
    /// an attempt.
    pub async fn release_mail(&self, ids: &[i64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "UPDATE mail_outbox SET lease_until = NULL, attempts = attempts - 1 WHERE status = 'pending' AND attempts > 0 AND id IN ({})",
            placeholders(1, ids.len())
        );
        let mut query = sqlx::query(&sql);
        for id in ids {
            query = query.bind(*id);
        }
        query.execute(&self.pool).await?;
        Ok(())
    }

    /// A failed attempt: try again at `not_before`.
    pub async fn retry_mail_later(&self, id: i64, error: &str, not_before: i64) -> Result<()> {
        sqlx::query("UPDATE mail_outbox SET last_error = $1, not_before = $2, lease_until = NULL WHERE id = $3 AND status = 'pending'")
            .bind(error)
            .bind(not_before)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Gives up on a mail after its last attempt; the row stays, with why.
    pub async fn give_up_mail(&self, id: i64, error: &str) -> Result<()> {
        sqlx::query("UPDATE mail_outbox SET status = 'failed', last_error = $1, lease_until = NULL WHERE id = $2 AND status = 'pending'")
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The outbox, newest first, without bodies: for operators and tests.
    pub async fn outbox(&self, limit: i64) -> Result<Vec<OutboxEntry>> {
        let rows = sqlx::query_as::<_, EntryRow>(&format!("SELECT {ENTRY_COLUMNS} FROM mail_outbox ORDER BY id DESC LIMIT $1"))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(OutboxEntry::try_from).collect()
    }
}

/// `$first, $first+1, …`: `n` parameters for an `IN (…)` list.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sealed::Sealer;
    use crate::testing::TestDatabase;

    fn mail(key: &str) -> NewMail {
        NewMail {
            dedupe_key: key.into(),
            recipient: "ada@example.com".into(),
            subject: "Hello".into(),
            text: Secret::new("a link that signs Ada in"),
            html: None,
            not_before: None,
            from_name: None,
            unsubscribe_url: None,
        }
    }

    #[tokio::test]
    async fn one_event_queues_one_mail_and_its_body_is_sealed() {
        for db in TestDatabase::all().await {
            let store = db.store().await.with_sealer(Sealer::from_encoded_key(Some(&Sealer::generate_key())).unwrap());
            assert!(store.queue_mail(&mail("signup:1")).await.unwrap());
            assert!(!store.queue_mail(&mail("signup:1")).await.unwrap(), "the same event again queues nothing");
            let (sealed,): (String,) = sqlx::query_as("SELECT sealed_text FROM mail_outbox").fetch_one(store.pool()).await.unwrap();
            assert!(!sealed.contains("signs Ada in"));
            let claimed = store.claim_mail(10, 60_000).await.unwrap();
            assert_eq!(claimed.len(), 1);
            assert_eq!(claimed[0].text.expose(), "a link that signs Ada in");
            assert_eq!(claimed[0].attempts, 1);
            assert!(store.claim_mail(10, 60_000).await.unwrap().is_empty(), "a leased mail is not claimed twice");
            store.mark_mail_sent(claimed[0].id).await.unwrap();
            let entry = &store.outbox(10).await.unwrap()[0];
            assert_eq!(entry.status, MailStatus::Sent);
            assert!(entry.sent_at.is_some());
        }
    }

    #[tokio::test]
    async fn a_mail_whose_worker_died_is_claimed_again_after_its_lease() {
        for db in TestDatabase::all().await {
            let store = db.store().await.with_sealer(Sealer::from_encoded_key(Some(&Sealer::generate_key())).unwrap());
            store.queue_mail(&mail("invitation:7")).await.unwrap();
            let first = store.claim_mail(10, 0).await.unwrap();
            assert_eq!(first.len(), 1);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            let again = store.claim_mail(10, 60_000).await.unwrap();
            assert_eq!(again.len(), 1, "the dead worker's lease ran out");
            assert_eq!(again[0].id, first[0].id);
            assert_eq!(again[0].attempts, 2);
            store.retry_mail_later(again[0].id, "421 try later", now_ms() + 60_000).await.unwrap();
            assert!(store.claim_mail(10, 60_000).await.unwrap().is_empty(), "not before its retry time");
            store.give_up_mail(again[0].id, "421 try later").await.unwrap();
            let entry = &store.outbox(10).await.unwrap()[0];
            assert_eq!((entry.status, entry.last_error.as_deref()), (MailStatus::Failed, Some("421 try later")));
        }
    }

    #[tokio::test]
    async fn the_sender_name_and_a_sealed_unsubscribe_url_come_back_with_the_claim() {
        for db in TestDatabase::all().await {
            let store = db.store().await.with_sealer(Sealer::from_encoded_key(Some(&Sealer::generate_key())).unwrap());
            let invitation = NewMail {
                from_name: Some("Acme Support".into()),
                unsubscribe_url: Some(Secret::new("https://insight.example/unsubscribe?token=s3cr3t-token")),
                ..mail("invitation:1")
            };
            store.queue_mail(&invitation).await.unwrap();
            let (sealed,): (String,) = sqlx::query_as("SELECT sealed_unsubscribe_url FROM mail_outbox").fetch_one(store.pool()).await.unwrap();
            assert!(!sealed.contains("s3cr3t-token"), "the unsubscribe token is sealed at rest");
            let claimed = store.claim_mail(10, 60_000).await.unwrap().remove(0);
            assert_eq!(claimed.from_name.as_deref(), Some("Acme Support"));
            assert_eq!(claimed.unsubscribe_url.as_ref().map(Secret::expose), Some("https://insight.example/unsubscribe?token=s3cr3t-token"));
        }
    }

    #[tokio::test]
    async fn a_header_injection_in_the_sender_name_or_unsubscribe_url_is_refused_and_queues_nothing() {
        let db = TestDatabase::sqlite();
        let store = db.store().await.with_sealer(Sealer::from_encoded_key(Some(&Sealer::generate_key())).unwrap());
        let attacks = [
            NewMail { from_name: Some("Acme\r\nBcc: everyone@example.com".into()), ..mail("a:1") },
            NewMail { from_name: Some("Acme\nX-Evil: 1".into()), ..mail("a:2") },
            NewMail { unsubscribe_url: Some(Secret::new("https://insight.example/u?t=1\r\nBcc: everyone@example.com")), ..mail("a:3") },
            NewMail { unsubscribe_url: Some(Secret::new("https://insight.example/u?t=1>, <mailto:x@example.com")), ..mail("a:4") },
            NewMail { unsubscribe_url: Some(Secret::new("javascript:alert(1)")), ..mail("a:5") },
            NewMail { unsubscribe_url: Some(Secret::new("mailto:unsubscribe@example.com")), ..mail("a:6") },
            NewMail { unsubscribe_url: Some(Secret::new("not a url")), ..mail("a:7") },
        ];
        for attack in &attacks {
            let refused = store.queue_mail(attack).await;
            assert!(matches!(refused, Err(StoreError::UnsafeMailHeader(_))), "{:?} was not refused: {refused:?}", attack.dedupe_key);
        }
        assert!(store.outbox(100).await.unwrap().is_empty(), "nothing was queued");
    }

    #[test]
    fn header_rule_accepts_names_with_accents_and_plain_web_urls() {
        assert_eq!(check_headers(Some("Zoë's Café, Support"), Some("http://localhost:8080/u/abc?x=1&y=2")), Ok(()));
        assert_eq!(check_headers(None, None), Ok(()));
        assert_eq!(check_headers(Some("a\u{0}b"), None), Err(UnsafeHeader::FromNameControl("a\\0b".into())));
        assert_eq!(check_headers(None, Some("ftp://example.com/u")), Err(UnsafeHeader::UnsubscribeUrlScheme));
        assert_eq!(check_headers(None, Some("https://ex ample.com/u")), Err(UnsafeHeader::UnsubscribeUrlCharacters));
    }

    #[tokio::test]
    async fn a_claim_is_marked_sent_in_one_statement_and_unsent_mails_can_be_handed_back() {
        for db in TestDatabase::all().await {
            let store = db.store().await.with_sealer(Sealer::from_encoded_key(Some(&Sealer::generate_key())).unwrap());
            for i in 0..5 {
                store.queue_mail(&mail(&format!("batch:{i}"))).await.unwrap();
            }
            let claimed = store.claim_mail(10, 60_000).await.unwrap();
            let ids: Vec<i64> = claimed.iter().map(|m| m.id).collect();
            store.mark_mails_sent(&ids[..3]).await.unwrap();
            store.release_mail(&ids[3..]).await.unwrap();
            let outbox = store.outbox(10).await.unwrap();
            assert_eq!(outbox.iter().filter(|m| m.status == MailStatus::Sent).count(), 3);
            let again = store.claim_mail(10, 60_000).await.unwrap();
            assert_eq!(again.iter().map(|m| m.id).collect::<Vec<_>>(), ids[3..].to_vec(), "handed-back mails are due at once");
            assert!(again.iter().all(|m| m.attempts == 1), "a claim handed back untried is not counted as an attempt");
            store.mark_mails_sent(&ids).await.unwrap();
            assert!(store.outbox(10).await.unwrap().iter().all(|m| m.status == MailStatus::Sent));
        }
    }
}
