//! Mail: where Insight sends it (an SMTP server, or a folder of `.eml`
//! files for the demo and tests), and the mail worker, which takes due mails
//! from the outbox with a lease — never a transaction across the SMTP
//! conversation — sends them with lettre, and marks them sent. A failure is
//! retried with backoff and given up only after many attempts; the row
//! stays, with its last error. Every mail's Message-ID is made from its
//! outbox row, so a mail sent again after a crash (sent, but not yet marked
//! sent) is recognisably the same mail.
//!
//! The worker is built for bursts of survey invitations: it claims a batch,
//! sends its mails concurrently over a pool of reused SMTP connections, and
//! marks the sent ones in one statement. A permanent refusal (SMTP 5xx) gives
//! a mail up at once; a temporary one (4xx, or no connection) retries later.
//!
//! Bodies carry links that sign people in, and unsubscribe URLs carry
//! tokens: they are never logged.

use futures_util::StreamExt;
use lettre::message::header::{ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use store::mail::ClaimedMail;
use store::{now_ms, Store};
use tracing::Instrument;

/// Where mail goes, from `INSIGHT_SMTP_URL`.
#[derive(Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// `smtp://host:port` (plain, or `?tls=required` for STARTTLS) or
    /// `smtps://host:port`, with optional `user:password@`.
    Smtp(String),
    /// `file:///path` or a plain path: each mail is written there as an
    /// `.eml` file, for the demo and tests.
    Folder(PathBuf),
}

impl std::fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailTransport::Smtp(url) => f.debug_tuple("Smtp").field(&store::redact_url(url)).finish(),
            MailTransport::Folder(path) => f.debug_tuple("Folder").field(path).finish(),
        }
    }
}

impl std::fmt::Display for MailTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailTransport::Smtp(url) => f.write_str(&store::redact_url(url)),
            MailTransport::Folder(path) => write!(f, "the folder {}", path.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    #[error("INSIGHT_SMTP_URL {0:?} is neither smtp://, smtps://, file:// nor a folder")]
    UnknownScheme(String),
    #[error("INSIGHT_SMTP_URL is not a usable SMTP URL: {0}")]
    BadSmtpUrl(String),
    #[error("INSIGHT_MAIL_FROM {value:?} is not a mailbox such as \"Insight <insight@example.com>\": {reason}")]
    BadFrom { value: String, reason: String },
    #[error("the mail folder {path} cannot be made: {reason}")]
    Folder { path: String, reason: String },
}

impl MailTransport {
    pub fn parse(raw: &str) -> Result<MailTransport, MailConfigError> {
        let raw = raw.trim();
        if raw.starts_with("smtp://") || raw.starts_with("smtps://") {
            // Checked now, so a typo stops the server at start, not at the first mail.
            AsyncSmtpTransport::<Tokio1Executor>::from_url(raw).map_err(|e| MailConfigError::BadSmtpUrl(e.to_string()))?;
            return Ok(MailTransport::Smtp(raw.to_string()));
        }
        if let Some(path) = raw.strip_prefix("file://") {
            return Ok(MailTransport::Folder(PathBuf::from(path)));
        }
        if raw.is_empty() || raw.contains("://") {
            return Err(MailConfigError::UnknownScheme(store::redact_url(raw)));
        }
        Ok(MailTransport::Folder(PathBuf::from(raw)))
    }
}

/// How Insight sends mail, read once at start.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub transport: MailTransport,
    /// `INSIGHT_MAIL_FROM`.
    pub from: Mailbox,
    /// SMTP connections kept open and reused (`SMTP_CONNECTIONS` unless set).
    pub connections: usize,
}

/// The sender when `INSIGHT_MAIL_FROM` is not set.
pub const DEFAULT_FROM: &str = "Insight <insight@localhost>";

impl MailSettings {
    pub fn parse(smtp_url: &str, from: &str) -> Result<MailSettings, MailConfigError> {
        let from = from.trim().parse::<Mailbox>().map_err(|e| MailConfigError::BadFrom { value: from.to_string(), reason: e.to_string() })?;
        Ok(MailSettings { transport: MailTransport::parse(smtp_url)?, from, connections: SMTP_CONNECTIONS })
    }

    /// Mail written into a folder, from the default sender.
    pub fn folder(path: impl Into<PathBuf>) -> MailSettings {
        MailSettings {
            transport: MailTransport::Folder(path.into()),
            from: DEFAULT_FROM.parse().expect("the default sender is a mailbox"),
            connections: SMTP_CONNECTIONS,
        }
    }
}

/// How the mail worker paces itself.
#[derive(Debug, Clone, Copy)]
pub struct MailWorkerSettings {
    /// A worker that dies mid-send frees its mails after this long.
    pub lease: Duration,
    /// The wait after the first failure; it doubles with each one, to at most an hour.
    pub first_retry: Duration,
    /// Attempts before the mail is given up (and left, failed, in the outbox).
    pub max_attempts: i64,
    /// Mails claimed at once.
    pub batch: i64,
    /// Mails of a claim in flight at once, each on its own pooled connection.
    pub concurrency: usize,
}

/// SMTP connections a mailer keeps open and reuses; the worker sends this
/// many mails at once. So many because lettre 0.11.23 leaves Nagle on: the
/// `.` that ends each mail waits for the server's delayed ACK, about 40 ms a
/// mail on each connection whatever the server (fixed upstream in lettre
/// PR #1159, not yet released). 32 connections make that ≥ 500 mails/s.
pub const SMTP_CONNECTIONS: usize = 32;

impl Default for MailWorkerSettings {
    fn default() -> MailWorkerSettings {
        // 15 attempts from 30 s doubling to an hour: about ten hours of trying.
        // 200 mails at a time over 32 connections: a burst of invitations
        // costs one claim and one "sent" commit per 200 mails.
        MailWorkerSettings {
            lease: Duration::from_secs(300),
            first_retry: Duration::from_secs(30),
            max_attempts: 15,
            batch: 200,
            concurrency: SMTP_CONNECTIONS,
        }
    }
}

impl MailWorkerSettings {
    /// The wait before the attempt after `attempts` failed ones.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let doubled = self.first_retry.saturating_mul(1u32 << attempts.clamp(1, 20).saturating_sub(1) as u32);
        doubled.min(Duration::from_secs(3600))
    }
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(AsyncFileTransport<Tokio1Executor>),
}

/// Sends the outbox's mails through the configured transport.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// The right-hand side of Message-IDs: the sender's domain.
    domain: String,
}

/// Why one mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The mail itself cannot be made (an address that is not one, an
    /// unsafe header): trying again cannot help.
    #[error("the mail cannot be made: {0}")]
    Unsendable(String),
    /// The server refused it for good (SMTP 5xx, such as 550 no such
    /// user): trying again cannot help. Holds the server's words.
    #[error("{0}")]
    Refused(String),
    /// A temporary failure (SMTP 4xx, or no connection): try again later.
    #[error("{0}")]
    Transport(String),
}

impl From<lettre::transport::smtp::Error> for SendError {
    fn from(e: lettre::transport::smtp::Error) -> SendError {
        if e.is_permanent() {
            SendError::Refused(e.to_string())
        } else {
            SendError::Transport(e.to_string())
        }
    }
}

/// `List-Unsubscribe: <https://…>` (RFC 2369), the URL checked by
/// `store::mail::check_headers` before it gets here.
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.trim().trim_start_matches('<').trim_end_matches('>').to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): the
/// mail client may unsubscribe with one POST, without opening a page.
#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> Result<Mailer, MailConfigError> {
        let transport = match &settings.transport {
            MailTransport::Smtp(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| MailConfigError::BadSmtpUrl(e.to_string()))?
                    .timeout(Some(Duration::from_secs(60)))
                    .pool_config(PoolConfig::new().max_size(settings.connections.max(1) as u32))
                    .build(),
            ),
            MailTransport::Folder(path) => {
                std::fs::create_dir_all(path).map_err(|e| MailConfigError::Folder { path: path.display().to_string(), reason: e.to_string() })?;
                Transport::Folder(AsyncFileTransport::<Tokio1Executor>::new(path))
            }
        };
        let domain = settings.from.email.domain().to_string();
        Ok(Mailer { transport, from: settings.from.clone(), domain })
    }

    /// The Message-ID of an outbox row: the same however often it is sent.
    pub fn message_id(&self, mail: &ClaimedMail) -> String {
        let key = hex::encode(&Sha256::digest(mail.dedupe_key.as_bytes())[..8]);
        format!("<insight.{}.{key}@{}>", mail.id, self.domain)
    }

    fn message(&self, mail: &ClaimedMail) -> Result<Message, SendError> {
        let to = mail.recipient.parse::<Mailbox>().map_err(|e| SendError::Unsendable(format!("{:?} is not an address: {e}", mail.recipient)))?;
        // Asked again here, for rows queued before the rule existed.
        let unsubscribe = mail.unsubscribe_url.as_ref().map(|u| u.expose());
        store::mail::check_headers(mail.from_name.as_deref(), unsubscribe).map_err(|e| SendError::Unsendable(e.to_string()))?;
        let from = match &mail.from_name {
            Some(name) => Mailbox::new(Some(name.clone()), self.from.email.clone()),
            None => self.from.clone(),
        };
        // Quoted-printable keeps long links intact through any relay.
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .header(ContentTransferEncoding::QuotedPrintable)
            .body(mail.text.expose().to_string());
        let mut builder = Message::builder().from(from).to(to).subject(mail.subject.clone()).message_id(Some(self.message_id(mail)));
        if let Some(url) = unsubscribe {
            builder = builder.header(ListUnsubscribe(url.to_string())).header(ListUnsubscribePost);
        }
        let built = match &mail.html {
            None => builder.singlepart(text),
            Some(html) => builder.multipart(
                MultiPart::alternative().singlepart(text).singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .header(ContentTransferEncoding::QuotedPrintable)
                        .body(html.expose().to_string()),
                ),
            ),
        };
        built.map_err(|e| SendError::Unsendable(e.to_string()))
    }

    pub async fn send(&self, mail: &ClaimedMail) -> Result<(), SendError> {
        let message = self.message(mail)?;
        match &self.transport {
            Transport::Smtp(t) => t.send(message).await.map(drop).map_err(SendError::from),
            Transport::Folder(t) => t.send(message).await.map(drop).map_err(|e| SendError::Transport(e.to_string())),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum ExecutionOutcome {
    Worked(usize),
    EmptyQueue,
}

/// What became of one mail of a claim.
enum Outcome {
    Sent,
    Retry { error: String, not_before: i64 },
    GiveUp(String),
    /// Not tried: the claim's lease was running short.
    NotTried,
}

/// Sends one claim's worth of due mails, `concurrency` at a time, and
/// records what became of them: the sent ones a statement per `concurrency`
/// mails. A mail sent but not yet recorded when the worker dies is sent
/// again after its lease, with the same Message-ID; none is lost.
pub async fn try_execute(store: &Store, mailer: &Mailer, settings: &MailWorkerSettings) -> store::Result<ExecutionOutcome> {
    let lease_ms = settings.lease.as_millis() as i64;
    let claimed = store.claim_mail(settings.batch.max(1), lease_ms).await?;
    if claimed.is_empty() {
        return Ok(ExecutionOutcome::EmptyQueue);
    }
    // A send starts only in the first half of the lease, so every started
    // send (each SMTP step has its own 60 s timeout) ends before another
    // worker may take the mail over.
    let start_by = Instant::now() + settings.lease / 2;
    let claimed_count = claimed.len();
    // Owned mails, not borrowed ones: a stream of borrows makes the future
    // too general for the compiler to prove it `Send` for `tokio::spawn`.
    let mut outcomes = futures_util::stream::iter(claimed)
        .map(|mail| {
            let span = tracing::info_span!("mail", id = mail.id, attempt = mail.attempts);
            async move { (mail.id, send_one(mailer, settings, &mail, start_by).await) }.instrument(span)
        })
        .buffer_unordered(settings.concurrency.max(1));
    // Sent mails are recorded as they go, a connection pool's worth per
    // commit: a worker that dies mid-claim sends again at most that many
    // (with the same Message-ID), not the whole claim.
    let flush_at = settings.concurrency.max(1);
    let mut sent: Vec<i64> = Vec::with_capacity(flush_at);
    let mut not_tried = Vec::new();
    let mut settled: Vec<(i64, Outcome)> = Vec::new();
    while let Some((id, outcome)) = outcomes.next().await {
        match outcome {
            Outcome::Sent => {
                sent.push(id);
                if sent.len() >= flush_at {
                    store.mark_mails_sent(&sent).await?;
                    sent.clear();
                }
            }
            Outcome::NotTried => not_tried.push(id),
            other => settled.push((id, other)),
        }
    }
    // The sent ones first: if the database fails after this, only mails
    // that were not sent are tried again.
    store.mark_mails_sent(&sent).await?;
    for (id, outcome) in settled {
        match outcome {
            Outcome::Retry { error, not_before } => store.retry_mail_later(id, &error, not_before).await?,
            Outcome::GiveUp(error) => store.give_up_mail(id, &error).await?,
            Outcome::Sent | Outcome::NotTried => {}
        }
    }
    store.release_mail(&not_tried).await?;
    Ok(ExecutionOutcome::Worked(claimed_count))
}

async fn send_one(mailer: &Mailer, settings: &MailWorkerSettings, mail: &ClaimedMail, start_by: Instant) -> Outcome {
    if Instant::now() >= start_by {
        return Outcome::NotTried;
    }
    match mailer.send(mail).await {
        Ok(()) => {
            tracing::info!("mail sent");
            Outcome::Sent
        }
        Err(e @ SendError::Unsendable(_)) => {
            tracing::warn!(error = %e, "mail given up: it cannot be made");
            Outcome::GiveUp(e.to_string())
        }
        Err(e @ SendError::Refused(_)) => {
            tracing::warn!(error = %e, "mail given up: the server refused it for good");
            Outcome::GiveUp(e.to_string())
        }
        Err(e) if mail.attempts >= settings.max_attempts => {
            tracing::warn!(error = %e, "mail given up after its last attempt");
            Outcome::GiveUp(e.to_string())
        }
        Err(e) => {
            let wait = settings.backoff(mail.attempts);
            tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "mail will be retried");
            Outcome::Retry { error: e.to_string(), not_before: now_ms() + wait.as_millis() as i64 }
        }
    }
}

/// Runs until `stop` says so: a plain loop over `try_execute`.
pub async fn run(store: Store, mailer: std::sync::Arc<Mailer>, settings: MailWorkerSettings, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let idle = match try_execute(&store, &mailer, &settings).await {
            Ok(ExecutionOutcome::Worked(_)) => None,
            Ok(ExecutionOutcome::EmptyQueue) => Some(Duration::from_millis(250)),
            Err(e) => {
                tracing::error!(error = %e, "mail worker could not reach the database");
                Some(Duration::from_secs(2))
            }
        };
        if let Some(wait) = idle {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// A mail for a use case to queue: the words, without where it goes.
pub(crate) struct Letter {
    pub subject: String,
    pub text: String,
}

impl Letter {
    pub(crate) fn to(self, dedupe_key: String, recipient: &str) -> store::mail::NewMail {
        store::mail::NewMail {
            dedupe_key,
            recipient: recipient.to_string(),
            subject: self.subject,
            text: store::sealed::Secret::new(self.text),
            html: None,
            not_before: None,
            from_name: None,
            unsubscribe_url: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transport_is_read_from_the_url() {
        assert_eq!(MailTransport::parse("smtp://127.0.0.1:2525").unwrap(), MailTransport::Smtp("smtp://127.0.0.1:2525".into()));
        assert!(matches!(MailTransport::parse("smtps://u:p@mail.example.com").unwrap(), MailTransport::Smtp(_)));
        assert_eq!(MailTransport::parse("file:///tmp/mail").unwrap(), MailTransport::Folder("/tmp/mail".into()));
        assert_eq!(MailTransport::parse("insight-data/mail").unwrap(), MailTransport::Folder("insight-data/mail".into()));
        assert!(MailTransport::parse("http://mail.example.com").is_err());
        assert!(MailTransport::parse("").is_err());
    }

    #[test]
    fn an_smtp_password_never_reaches_logs() {
        let t = MailTransport::parse("smtps://user:hunter2@mail.example.com:465").unwrap();
        assert!(!format!("{t:?}").contains("hunter2"));
        assert!(!t.to_string().contains("hunter2"));
    }

    #[test]
    fn the_sender_must_be_a_mailbox() {
        assert!(MailSettings::parse("smtp://localhost:25", "Insight <insight@example.com>").is_ok());
        assert!(MailSettings::parse("smtp://localhost:25", "not a mailbox").is_err());
    }

    #[test]
    fn retries_back_off_doubling_to_an_hour() {
        let s = MailWorkerSettings::default();
        assert_eq!(s.backoff(1), Duration::from_secs(30));
        assert_eq!(s.backoff(2), Duration::from_secs(60));
        assert_eq!(s.backoff(4), Duration::from_secs(240));
        assert_eq!(s.backoff(40), Duration::from_secs(3600));
    }

    #[test]
    fn a_resent_mail_keeps_its_message_id() {
        let mailer = Mailer::new(&MailSettings::folder(std::env::temp_dir().join("insight-mail-id-test"))).unwrap();
        let mail = |attempts| ClaimedMail {
            id: 42,
            dedupe_key: "signup:42".into(),
            recipient: "ada@example.com".into(),
            subject: "s".into(),
            text: store::sealed::Secret::new("t"),
            html: None,
            from_name: None,
            unsubscribe_url: None,
            attempts,
        };
        assert_eq!(mailer.message_id(&mail(1)), mailer.message_id(&mail(2)));
        assert!(mailer.message_id(&mail(1)).starts_with("<insight.42."));
    }
}
