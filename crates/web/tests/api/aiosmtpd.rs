//! aiosmtpd (PyPI), a real SMTP server nobody here wrote, for the mail
//! tests: each test starts its own on a free port, with its own Maildir,
//! and reads what reached it with `wait_for_mail`, parsed by `mail-parser`.
//!
//! The Python that has aiosmtpd is `INSIGHT_TEST_PYTHON` (scripts/test makes
//! a venv and sets it), else `artifacts/venv/bin/python` of the workspace,
//! else `python3`. Without aiosmtpd a test is skipped outside CI (and the
//! skip is logged to `INSIGHT_TEST_SKIP_LOG`, like a skipped PostgreSQL
//! half); under CI (`CI=true`) it fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which aiosmtpd handler takes the mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// `aiosmtpd.handlers.Mailbox`: accepts everything into the Maildir.
    Mailbox,
    /// `smtp_answers.RefusingMailbox` (smtp_answers.py beside this file):
    /// a Mailbox that answers `reject-…@` with 550, `busy-…@` with 451
    /// always, and `busyN-…@` with 451 the first N times.
    Refusing,
}

/// A running aiosmtpd, killed when dropped.
pub struct Aiosmtpd {
    child: Child,
    /// `smtp://127.0.0.1:PORT`, for `INSIGHT_SMTP_URL`.
    pub url: String,
    root: PathBuf,
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A mail as it reached the server, parsed.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// RCPT TO as the server took it (aiosmtpd's `X-RcptTo`).
    pub envelope_to: Vec<String>,
    pub from_name: Option<String>,
    pub from_address: String,
    pub to: String,
    pub subject: String,
    /// With its angle brackets, as sent.
    pub message_id: String,
    /// The outbox row it was sent from, read off its Message-ID.
    pub outbox_id: i64,
    pub text: String,
    pub html: Option<String>,
    headers: Vec<(String, String)>,
}

impl ReceivedMail {
    pub fn parse(raw: &[u8]) -> ReceivedMail {
        let message = mail_parser::MessageParser::default().parse(raw).expect("the server holds a mail that parses");
        let from = message.from().and_then(|a| a.first());
        let headers = message
            .headers()
            .iter()
            .map(|h| {
                let raw = std::str::from_utf8(&raw[h.offset_start as usize..h.offset_end as usize]).unwrap_or_default();
                (h.name.as_str().to_string(), raw.replace("\r\n", "").replace('\n', "").trim().to_string())
            })
            .collect::<Vec<_>>();
        let header = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()).unwrap_or_default();
        let message_id = header("Message-ID");
        let outbox_id = message_id.trim_start_matches("<insight.").split('.').next().and_then(|n| n.parse().ok()).unwrap_or(-1);
        let html = message.parts.iter().find_map(|p| match &p.body {
            mail_parser::PartType::Html(h) => Some(h.to_string()),
            _ => None,
        });
        ReceivedMail {
            envelope_to: header("X-RcptTo").split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
            from_name: from.and_then(|a| a.name()).map(str::to_string),
            from_address: from.and_then(|a| a.address()).unwrap_or_default().to_string(),
            to: message.to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_string(),
            subject: message.subject().unwrap_or_default().to_string(),
            message_id,
            outbox_id,
            text: message.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
            html,
            headers,
        }
    }

    /// A header's value as sent, unfolded; `None` when absent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every header of that name (to see that one was not smuggled in twice).
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    /// The first link in the text body containing `marker`.
    pub fn link(&self, marker: &str) -> Option<String> {
        self.text.split_whitespace().find(|w| w.contains(marker)).map(|w| w.trim_end_matches(['.', ',', ')']).to_string())
    }
}

/// The Python that has aiosmtpd, or `None`.
pub fn python() -> Option<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let candidates = [
        std::env::var_os("INSIGHT_TEST_PYTHON").map(PathBuf::from),
        Some(workspace.join("artifacts/venv/bin/python")),
        Some(PathBuf::from("python3")),
    ];
    candidates.into_iter().flatten().find(|python| {
        Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

impl Aiosmtpd {
    /// aiosmtpd with the plain Mailbox handler; `None` (outside CI only)
    /// when no Python here has aiosmtpd.
    pub async fn start() -> Option<Aiosmtpd> {
        Aiosmtpd::start_with(Handler::Mailbox).await
    }

    pub async fn start_with(handler: Handler) -> Option<Aiosmtpd> {
        let Some(python) = python() else {
            assert!(
                !under_ci(),
                "aiosmtpd is missing under CI: scripts/test installs it and sets INSIGHT_TEST_PYTHON to that venv's python"
            );
            eprintln!("skipping this test: no Python with aiosmtpd (run scripts/test, or set INSIGHT_TEST_PYTHON)");
            if let Ok(path) = std::env::var("INSIGHT_TEST_SKIP_LOG") {
                use std::io::Write;
                if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
                    let _ = writeln!(f, "aiosmtpd");
                }
            }
            return None;
        };
        let n: u64 = rand::random();
        let root = std::env::temp_dir().join(format!("insight-aiosmtpd-{n:016x}"));
        let maildir = root.join("Maildir");
        std::fs::create_dir_all(&root).unwrap();
        // A free port: bind port 0, note it, let it go for aiosmtpd to take.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let class = match handler {
            Handler::Mailbox => "aiosmtpd.handlers.Mailbox",
            Handler::Refusing => "smtp_answers.RefusingMailbox",
        };
        let log = std::fs::File::create(root.join("aiosmtpd.log")).unwrap();
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", class])
            .arg(&maildir)
            .env("PYTHONPATH", concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start aiosmtpd with {}: {e}", python.display()));
        let mut server = Aiosmtpd { child, url: format!("smtp://127.0.0.1:{port}"), root };
        server.wait_until_listening(port).await;
        Some(server)
    }

    async fn wait_until_listening(&mut self, port: u16) {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("aiosmtpd exited ({status}) before it listened: {}", self.log());
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "aiosmtpd never listened on {port}: {}", self.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("aiosmtpd.log")).unwrap_or_default()
    }

    /// Every mail the server has taken so far.
    pub fn received(&self) -> Vec<ReceivedMail> {
        let mut mails: Vec<ReceivedMail> = ["new", "cur"]
            .iter()
            .flat_map(|sub| std::fs::read_dir(self.root.join("Maildir").join(sub)).into_iter().flatten().flatten())
            .filter_map(|e| std::fs::read(e.path()).ok())
            .map(|raw| ReceivedMail::parse(&raw))
            .collect();
        mails.sort_by_key(|m| m.outbox_id);
        mails
    }

    /// The mails taken for a recipient so far (by RCPT TO).
    pub fn mails_to(&self, recipient: &str) -> Vec<ReceivedMail> {
        self.received().into_iter().filter(|m| m.envelope_to.iter().any(|r| r.eq_ignore_ascii_case(recipient))).collect()
    }

    /// Waits for the first mail to `recipient`; fails after `timeout` (a
    /// bound against hanging, not a speed claim).
    pub async fn wait_for_mail(&self, recipient: &str, timeout: Duration) -> ReceivedMail {
        let start = Instant::now();
        loop {
            if let Some(mail) = self.mails_to(recipient).into_iter().next() {
                return mail;
            }
            assert!(start.elapsed() < timeout, "aiosmtpd got no mail to {recipient} in {timeout:?}: {}", self.log());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
