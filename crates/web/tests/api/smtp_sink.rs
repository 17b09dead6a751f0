//! A small SMTP server for the tests: it speaks just enough SMTP (RFC 5321:
//! greeting, EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for lettre to hand
//! it mail, keeps what it receives, and can refuse the next transactions
//! with a transient 451, as a busy server does. Written here rather than
//! taken from a crate: `mailin-embedded`, the one well-kept embeddable
//! server, runs blocking threads of its own and has no way to refuse on
//! demand, which is what the retry test needs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One mail as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub rcpt: Vec<String>,
    /// The message, headers and body, dot-stuffing undone.
    pub data: String,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    refuse: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = SmtpSink {
            url: format!("smtp://{}", listener.local_addr().unwrap()),
            received: Default::default(),
            refuse: Default::default(),
            refused: Default::default(),
        };
        let serving = sink.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serving.clone().session(socket));
            }
        });
        sink
    }

    /// Refuses the next `n` mails with `451` (try again later).
    pub fn refuse_next(&self, n: usize) {
        self.refuse.store(n, Ordering::SeqCst);
    }

    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    async fn session(self, socket: tokio::net::TcpStream) {
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read);
        let _ = write.write_all(b"220 sink.test ESMTP ready\r\n").await;
        let mut rcpt = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let command = line.trim_end().to_ascii_uppercase();
            let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
                b"250 sink.test\r\n"
            } else if command.starts_with("MAIL FROM") {
                rcpt.clear();
                let refuse = self.refuse.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
                if refuse {
                    self.refused.fetch_add(1, Ordering::SeqCst);
                    b"451 4.3.0 Busy, try again later\r\n"
                } else {
                    b"250 2.1.0 OK\r\n"
                }
            } else if command.starts_with("RCPT TO") {
                rcpt.push(line.trim_end()[8..].trim().trim_start_matches('<').trim_end_matches('>').to_string());
                b"250 2.1.5 OK\r\n"
            } else if command == "DATA" {
                let _ = write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                self.received.lock().unwrap().push(Received { rcpt: std::mem::take(&mut rcpt), data });
                b"250 2.0.0 Queued\r\n"
            } else if command == "QUIT" {
                let _ = write.write_all(b"221 2.0.0 Bye\r\n").await;
                return;
            } else if command == "RSET" || command == "NOOP" {
                b"250 2.0.0 OK\r\n"
            } else {
                b"502 5.5.2 Command not recognized\r\n"
            };
            if write.write_all(reply).await.is_err() {
                return;
            }
        }
    }
}
