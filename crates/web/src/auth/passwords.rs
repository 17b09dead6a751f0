//! Password hashing with argon2 (the crate's defaults: Argon2id, OWASP's
//! recommended cost). Hashing is slow and takes 19 MiB on purpose, so it runs
//! off the async threads, and only a few at a time: a burst of sign-ins
//! queues for `PasswordWork` instead of each taking a thread and its memory.
//! The work runs on a few threads of its own rather than tokio's blocking
//! pool: the allocator keeps freed memory per thread, so every new thread
//! that hashed once would keep its 19 MiB.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;
use domain::NewPassword;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
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
    let ok = matches_hash(password, stored).unwrap_or(false);
    known && ok
}

thread_local! {
    /// Argon2's working memory, kept per password thread and reused: a
    /// fresh 19 MiB for each check is what the allocator fails to give back.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2's own check (`PasswordVerifier`), computed in reused memory.
fn matches_hash(password: &str, stored: &str) -> Option<bool> {
    let parsed = PasswordHash::new(stored).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).ok()?;
    let expected = parsed.hash?;
    let mut salt_buf = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt_buf).ok()?;
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    MEMORY
        .with(|memory| {
            let mut memory = memory.borrow_mut();
            memory.resize(params.block_count(), Block::default());
            argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..])
        })
        .ok()?;
    // Output compares in constant time.
    Some(Output::new(&out).ok()? == expected)
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
    jobs: mpsc::Sender<Job>,
    at_once: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl PasswordWork {
    pub fn new(at_once: usize, max_waiting: usize) -> PasswordWork {
        let at_once = at_once.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..at_once {
            let queue = queue.clone();
            // The threads end when `PasswordWork` is dropped (the channel closes).
            let _ = std::thread::Builder::new().name(format!("passwords-{i}")).spawn(move || loop {
                let job = match queue.lock() {
                    Ok(q) => q.recv(),
                    Err(_) => return,
                };
                match job {
                    Ok(job) => job(),
                    Err(_) => return,
                }
            });
        }
        PasswordWork { permits: Arc::new(Semaphore::new(at_once)), jobs, at_once, waiting: AtomicUsize::new(0), max_waiting }
    }

    /// Runs `work` on a password thread once a permit is held; the permit
    /// goes with the work, so a client that hangs up does not free a slot
    /// while its hash is still being computed.
    async fn run<T: Send + 'static>(&self, permit: OwnedSemaphorePermit, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _permit = permit;
            let _ = done.send(work());
        });
        self.jobs.send(job).ok()?;
        result.await.ok()
    }

    /// As many at once as the machine has cores.
    pub fn default_at_once() -> usize {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
    }

    pub async fn hash(&self, password: NewPassword) -> Result<anyhow::Result<String>, Busy> {
        let permit = self.permit().await?;
        let done = self.run(permit, move || hash_now(&password)).await;
        Ok(done.unwrap_or_else(|| Err(anyhow::anyhow!("the password threads stopped"))))
    }

    /// True only for the right password of a known account.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, Busy> {
        let permit = self.permit().await?;
        let done = self.run(permit, move || verify_now(&password, stored.as_deref())).await;
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

type Job = Box<dyn FnOnce() + Send>;

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

    #[test]
    fn the_check_in_reused_memory_agrees_with_argon2s_own() {
        use argon2::password_hash::PasswordVerifier;
        let seeded = hash_now(&NewPassword::parse("correct horse battery").unwrap()).unwrap();
        for _ in 0..2 {
            assert!(verify_now("correct horse battery", Some(&seeded)));
            assert!(!verify_now("correct horse batterz", Some(&seeded)));
        }
        let parsed = PasswordHash::new(&seeded).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
        assert!(!verify_now("x", Some("not a hash")));
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
