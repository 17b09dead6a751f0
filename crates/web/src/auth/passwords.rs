//! Password hashing with argon2 (the crate's defaults: Argon2id, OWASP's
//! recommended cost). Hashing is slow and takes 19 MiB on purpose, so it runs
//! off the async threads, and only a few at a time: a burst of sign-ins
//! queues for `PasswordWork` instead of each taking a thread and its memory.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use domain::NewPassword;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Hashes a password without waiting for `PasswordWork`: for seeding
/// accounts outside a request (the demo, benchmarks, tests).
pub async fn hash(password: NewPassword) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_now(&password)).await?
}

fn hash_now(password: &NewPassword) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))
}

/// With no stored hash (unknown email) it checks against a dummy one, so
/// both cases take the same time and the answer does not reveal which
/// emails have accounts.
fn verify_now(password: &str, stored: Option<&str>) -> bool {
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| dummy_hash());
    let ok = PasswordHash::new(stored).map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()).unwrap_or(false);
    known && ok
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(b"not a password anyone has", &salt).map(|h| h.to_string()).unwrap_or_default()
    })
}

/// Too many password checks are already waiting; the person should retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub retry_after: Duration,
}

/// Every hash and verification of a request goes through here (sign in,
/// sign up, password changes): at most `at_once` run, at most `waiting`
/// more queue, and past that the request is refused as `Busy`.
pub struct PasswordWork {
    permits: Arc<Semaphore>,
    at_once: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl PasswordWork {
    pub fn new(at_once: usize, max_waiting: usize) -> PasswordWork {
        let at_once = at_once.max(1);
        PasswordWork { permits: Arc::new(Semaphore::new(at_once)), at_once, waiting: AtomicUsize::new(0), max_waiting }
    }

    /// As many at once as the machine has cores.
    pub fn default_at_once() -> usize {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
    }

    pub async fn hash(&self, password: NewPassword) -> Result<anyhow::Result<String>, Busy> {
        let permit = self.permit().await?;
        let done = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hash_now(&password)
        })
        .await;
        Ok(done.map_err(anyhow::Error::from).and_then(|r| r))
    }

    /// True only for the right password of a known account.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, Busy> {
        let permit = self.permit().await?;
        // The permit moves into the blocking task: a client that hangs up
        // does not free a slot while its hash is still being computed.
        let done = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            verify_now(&password, stored.as_deref())
        })
        .await;
        Ok(done.unwrap_or(false))
    }

    async fn permit(&self) -> Result<OwnedSemaphorePermit, Busy> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let queued = Queued::join(&self.waiting);
        if queued.ahead >= self.max_waiting {
            // About how long the queue ahead takes to drain, one check being
            // a few tens of milliseconds.
            let secs = (self.max_waiting / (self.at_once * 20)).max(1) as u64;
            return Err(Busy { retry_after: Duration::from_secs(secs) });
        }
        let permit = self.permits.clone().acquire_owned().await.expect("the semaphore is never closed");
        drop(queued);
        Ok(permit)
    }
}

/// One place in the queue, given back however the wait ends (a client
/// hanging up drops the waiting future).
struct Queued<'a> {
    waiting: &'a AtomicUsize,
    ahead: usize,
}

impl<'a> Queued<'a> {
    fn join(waiting: &'a AtomicUsize) -> Queued<'a> {
        let ahead = waiting.fetch_add(1, Ordering::SeqCst);
        Queued { waiting, ahead }
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let work = PasswordWork::new(2, 8);
        let h = work.hash(NewPassword::parse("correct horse battery").unwrap()).await.unwrap().unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert_eq!(work.verify("correct horse battery".into(), Some(h.clone())).await, Ok(true));
        assert_eq!(work.verify("wrong horse battery".into(), Some(h)).await, Ok(false));
        assert_eq!(work.verify("anything".into(), None).await, Ok(false));
    }

    #[tokio::test]
    async fn a_burst_queues_behind_the_running_checks_and_past_the_queue_is_refused() {
        let work = Arc::new(PasswordWork::new(1, 1));
        let running = work.permit().await.unwrap();
        let queued = tokio::spawn({
            let work = work.clone();
            async move { work.permit().await.map(drop) }
        });
        while work.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let refused = work.permit().await.unwrap_err();
        assert!(refused.retry_after >= Duration::from_secs(1));
        assert_eq!(work.waiting.load(Ordering::SeqCst), 1, "the refused check left the queue");
        drop(running);
        assert_eq!(queued.await.unwrap(), Ok(()), "the queued check ran once a slot was free");
        assert_eq!(work.waiting.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_client_that_hangs_up_while_queued_gives_its_place_back() {
        let work = Arc::new(PasswordWork::new(1, 4));
        let _running = work.permit().await.unwrap();
        let waiting = tokio::spawn({
            let work = work.clone();
            async move { work.permit().await.map(drop) }
        });
        while work.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        waiting.abort();
        let _ = waiting.await;
        assert_eq!(work.waiting.load(Ordering::SeqCst), 0);
    }
}
