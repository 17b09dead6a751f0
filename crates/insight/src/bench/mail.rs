//! `insight bench mail`: invitation mails handed to a local SMTP server by
//! the mail worker, from a fresh SQLite store each time. Two ways side by
//! side in one run: the naive one (claim one mail, open a connection, send,
//! commit "sent", for every mail) and the worker as Insight runs it
//! (`app::mail::try_execute`: claims of a batch, sends in parallel over a
//! pool of reused connections, one "sent" statement per connection pool's worth of mails). Each run
//! checks that every mail was marked sent exactly once, on its first
//! attempt, and that the server took exactly that many.
//!
//! The server is aiosmtpd (PyPI) with its Maildir handler when a Python
//! with aiosmtpd is found, else a minimal SMTP sink inside this process.

use app::mail::{try_execute, ExecutionOutcome, MailSettings, MailWorkerSettings, Mailer};
use clap::{Args, ValueEnum};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::mail::{MailStatus, NewMail};
use store::sealed::{Sealer, Secret};
use store::testing::TestDatabase;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[derive(Args, Debug)]
pub struct MailArgs {
    /// Mails the worker sends
    #[arg(long, default_value_t = 5_000)]
    pub mails: usize,
    /// Mails the naive way sends (it takes about 45 ms a mail, so fewer)
    #[arg(long, default_value_t = 500)]
    pub naive_mails: usize,
    /// Which SMTP server takes the mail
    #[arg(long, value_enum, default_value = "auto")]
    pub smtp: SmtpServer,
    /// The Python that has aiosmtpd (else INSIGHT_TEST_PYTHON, artifacts/venv/bin/python, python3)
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Mails the worker claims at once
    #[arg(long, default_value_t = MailWorkerSettings::default().batch)]
    pub batch: i64,
    /// Mails the worker sends at once (and SMTP connections it keeps)
    #[arg(long, default_value_t = MailWorkerSettings::default().concurrency)]
    pub concurrency: usize,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum SmtpServer {
    /// aiosmtpd when a Python has it, else the in-process sink
    Auto,
    /// aiosmtpd, `aiosmtpd.handlers.Mailbox` into a temporary Maildir
    Aiosmtpd,
    /// A minimal SMTP sink in this process that counts what it takes
    Sink,
}

pub async fn mail(args: MailArgs) -> anyhow::Result<()> {
    let python = match args.smtp {
        SmtpServer::Sink => None,
        SmtpServer::Auto => find_python(args.python.clone()),
        SmtpServer::Aiosmtpd => Some(find_python(args.python.clone()).ok_or_else(|| anyhow::anyhow!("no Python with aiosmtpd: pass --python"))?),
    };
    let settings = MailWorkerSettings { batch: args.batch, concurrency: args.concurrency, ..Default::default() };
    let mut runs = Vec::new();
    for way in [Way::Naive, Way::Worker] {
        // A server of its own for each way, so each count is its own.
        let server = match &python {
            Some(python) => Server::aiosmtpd(python).await?,
            None => Server::sink().await?,
        };
        let mails = if way == Way::Naive { args.naive_mails } else { args.mails };
        runs.push(run(way, &server, mails, &settings).await?);
    }
    let server_name = if python.is_some() { "aiosmtpd (Mailbox handler, Maildir)" } else { "in-process sink" };
    if args.json {
        println!(
            "{}",
            json!({
                "bench": "mail",
                "smtp_server": server_name,
                "mails": args.mails,
                "naive_mails": args.naive_mails,
                "batch": args.batch,
                "concurrency": args.concurrency,
                "runs": runs.iter().map(|r| json!({ "way": r.way.name(), "mails": r.mails, "seconds": r.seconds, "mails_per_second": r.rate() })).collect::<Vec<_>>(),
            })
        );
    } else {
        println!("mail: to {server_name}, a fresh SQLite store for each way");
        for r in &runs {
            println!("  {:<66} {:>6.0} mails/s  ({} mails in {:.2} s)", r.way.describe(&settings), r.rate(), r.mails, r.seconds);
        }
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Way {
    Naive,
    Worker,
}

impl Way {
    fn name(self) -> &'static str {
        match self {
            Way::Naive => "naive",
            Way::Worker => "worker",
        }
    }

    fn describe(self, s: &MailWorkerSettings) -> String {
        match self {
            Way::Naive => "naive: one connection and one commit per mail".into(),
            Way::Worker => format!("worker: claims of {}, {} pooled connections, a commit per {} sent", s.batch, s.concurrency, s.concurrency),
        }
    }
}

struct RunResult {
    way: Way,
    mails: usize,
    seconds: f64,
}

impl RunResult {
    fn rate(&self) -> f64 {
        self.mails as f64 / self.seconds
    }
}

async fn run(way: Way, server: &Server, mails: usize, settings: &MailWorkerSettings) -> anyhow::Result<RunResult> {
    let db = TestDatabase::sqlite();
    let store = db.store().await.with_sealer(Sealer::from_encoded_key(Some(&Sealer::generate_key()))?);
    for i in 0..mails {
        store
            .queue_mail(&NewMail {
                dedupe_key: format!("invitation:{i}"),
                recipient: format!("respondent{i}@example.com"),
                subject: "How did we do with case 00001026?".into(),
                text: Secret::new(format!("Hello,\n\nTell us how we did: https://insight.example/s/bench?t=personal-token-{i:08}\n\nAcme Support\n")),
                html: Some(Secret::new(format!(
                    "<p>Hello,</p><p><a href=\"https://insight.example/s/bench?t=personal-token-{i:08}\">Tell us how we did</a></p><p>Acme Support</p>"
                ))),
                not_before: None,
                from_name: Some("Acme Support".into()),
                unsubscribe_url: Some(Secret::new(format!("https://insight.example/unsubscribe?t=unsub-{i:08}"))),
            })
            .await?;
    }
    let mail_settings = MailSettings { connections: settings.concurrency, ..MailSettings::parse(&server.url, "Insight <insight@insight.example>")? };
    let lease_ms = settings.lease.as_millis() as i64;
    let started = Instant::now();
    match way {
        Way::Naive => loop {
            let Some(mail) = store.claim_mail(1, lease_ms).await?.pop() else { break };
            // A mailer of its own: a new SMTP connection for every mail.
            Mailer::new(&mail_settings)?.send(&mail).await?;
            store.mark_mail_sent(mail.id).await?;
        },
        Way::Worker => {
            let mailer = Mailer::new(&mail_settings)?;
            while try_execute(&store, &mailer, settings).await? != ExecutionOutcome::EmptyQueue {}
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let outbox = store.outbox(mails as i64 + 1).await?;
    let sent_once = outbox.iter().filter(|m| m.status == MailStatus::Sent && m.attempts == 1).count();
    anyhow::ensure!(sent_once == mails, "{}: {sent_once} of {mails} mails were sent on their first attempt", way.name());
    let taken = server.taken(mails).await;
    anyhow::ensure!(taken == mails, "{}: the server took {taken} mails, not {mails}", way.name());
    store.close().await;
    Ok(RunResult { way, mails, seconds })
}

fn find_python(given: Option<PathBuf>) -> Option<PathBuf> {
    let candidates = [given, std::env::var_os("INSIGHT_TEST_PYTHON").map(PathBuf::from), Some("artifacts/venv/bin/python".into()), Some("python3".into())];
    candidates.into_iter().flatten().find(|p| {
        Command::new(p).args(["-c", "import aiosmtpd"]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
    })
}

/// The SMTP server of one run.
struct Server {
    url: String,
    kind: ServerKind,
}

enum ServerKind {
    Aiosmtpd { child: Child, root: PathBuf },
    Sink { taken: Arc<AtomicUsize> },
}

impl Drop for Server {
    fn drop(&mut self) {
        if let ServerKind::Aiosmtpd { child, root } = &mut self.kind {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(root);
        }
    }
}

impl Server {
    async fn aiosmtpd(python: &std::path::Path) -> anyhow::Result<Server> {
        let root = std::env::temp_dir().join(format!("insight-bench-mail-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&root)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(root.join("Maildir"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        let server = Server { url: format!("smtp://127.0.0.1:{port}"), kind: ServerKind::Aiosmtpd { child, root } };
        for _ in 0..400 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("aiosmtpd never listened on {port}")
    }

    async fn sink() -> anyhow::Result<Server> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("smtp://{}", listener.local_addr()?);
        let taken = Arc::new(AtomicUsize::new(0));
        let counter = taken.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(sink_session(socket, counter.clone()));
            }
        });
        Ok(Server { url, kind: ServerKind::Sink { taken } })
    }

    /// Mails the server has taken; waits a moment for `expected`, since a
    /// Maildir file lands just after the server's 250.
    async fn taken(&self, expected: usize) -> usize {
        let count = || match &self.kind {
            ServerKind::Aiosmtpd { root, .. } => std::fs::read_dir(root.join("Maildir/new")).map(|d| d.count()).unwrap_or(0),
            ServerKind::Sink { taken } => taken.load(Ordering::SeqCst),
        };
        for _ in 0..100 {
            if count() >= expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        count()
    }
}

/// Just enough SMTP (RFC 5321) for lettre to hand over mail; counts each.
async fn sink_session(socket: tokio::net::TcpStream, taken: Arc<AtomicUsize>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250 sink\r\n"
        } else if command == "DATA" {
            let _ = write.write_all(b"354 go ahead\r\n").await;
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
            }
            taken.fetch_add(1, Ordering::SeqCst);
            b"250 2.0.0 queued\r\n"
        } else if command == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
