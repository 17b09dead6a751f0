//! Insight's persistence. One `Store` over sqlx's `Any` driver: SQLite is the
//! embedded default (WAL, fsync on every commit), PostgreSQL is picked by a
//! `postgres://` URL. Queries are written once in the SQL both backends speak
//! (`$N` parameters, `ON CONFLICT`, `RETURNING`); each backend has its own
//! migration folder, as their DDL differs.

pub mod accounts;
mod answer_counts;
pub mod api_budget;
pub mod attention;
pub mod backfills;
pub mod bulk_jobs;
mod columns;
pub mod deliveries;
pub mod history;
pub mod integrations;
pub mod invitations;
pub mod link_keys;
pub mod links;
pub mod mail;
pub mod projects;
pub mod responses;
pub mod response_table;
pub mod response_text;
pub mod results;
pub mod sealed;
pub mod sessions;
pub mod signups;
pub mod surveys;
pub mod testing;
pub mod tokens;
pub mod transfers;
pub mod triggers;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};
use std::time::Duration;

pub use responses::{NewResponse, ResponseWriter, StoredResponse};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL {0:?} is neither sqlite: nor postgres:")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("{table}.{column} holds {value:?}, which Insight does not know")]
    UnknownValue { table: &'static str, column: &'static str, value: String },
    #[error("{what} {id} is unreadable JSON: {reason}")]
    CorruptJson { what: &'static str, id: i64, reason: String },
    #[error("the response writer has stopped")]
    WriterStopped,
    #[error("no secret key is configured, so secrets cannot be sealed or opened")]
    NoSecretKey,
    #[error("the mail is refused: {0}")]
    UnsafeMailHeader(#[from] mail::UnsafeHeader),
}

impl StoreError {
    /// True when the error is a unique-constraint violation, which callers
    /// turn into a message for the user rather than a 500.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend named by a database URL's scheme.
    pub fn of_url(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }
}

/// A database URL with any password replaced, for logs and errors.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    sealer: Option<sealed::Sealer>,
    /// Surveys as their public links were last read (see `surveys::LinkCache`).
    links: std::sync::Arc<surveys::LinkCache>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).finish()
    }
}

impl Store {
    /// Connects to the database the URL names, creating a SQLite file (and
    /// its folder) when missing.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let (url, max) = match backend {
            Backend::Sqlite => {
                if let Some(path) = sqlite_path(url) {
                    if let Some(dir) = std::path::Path::new(&path).parent() {
                        if !dir.as_os_str().is_empty() {
                            std::fs::create_dir_all(dir).map_err(|e| StoreError::Corrupt(format!("cannot create {}: {e}", dir.display())))?;
                        }
                    }
                    create_owner_only(std::path::Path::new(&path))?;
                }
                let url = if url.contains("mode=") || url.contains(":memory:") {
                    url.to_string()
                } else if url.contains('?') {
                    format!("{url}&mode=rwc")
                } else {
                    format!("{url}?mode=rwc")
                };
                (url, 4)
            }
            Backend::Postgres => (url.to_string(), 16),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets pages read while a commit flushes; FULL makes
                        // every commit fsync, so an acknowledged response is on disk.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        Ok(Store { pool, backend, sealer: None, links: Default::default() })
    }

    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// The key that seals secrets (Salesforce tokens) in this store.
    pub fn with_sealer(mut self, sealer: sealed::Sealer) -> Store {
        self.sealer = Some(sealer);
        self
    }

    /// Begins a transaction that writes (see `begin_write`).
    pub(crate) async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        begin_write(&self.pool, self.backend).await
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Begins a transaction that writes. On SQLite it takes the write lock at
/// once (`BEGIN IMMEDIATE`): a deferred transaction that reads first fails
/// at its first write with SQLITE_BUSY, without waiting, whenever another
/// connection committed since its read (WAL keeps the reader's snapshot) —
/// the busy timeout does not cover that case. Taking the lock first makes
/// it wait its turn instead (a 500 when a worker's commit crossed a page's).
pub(crate) async fn begin_write(pool: &AnyPool, backend: Backend) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
    Ok(match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => pool.begin().await?,
    })
}

/// Creates a missing SQLite file readable by its owner only: it holds
/// responses, password hashes and sealed tokens. SQLite gives the `-wal` and
/// `-shm` files it creates later the database file's mode, so they follow.
/// An existing file keeps the mode its administrator gave it.
fn create_owner_only(path: &std::path::Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Corrupt(format!("cannot create {}: {e}", path.display()))),
    }
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// Milliseconds since the Unix epoch: how every time is stored.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_url_scheme() {
        assert_eq!(Backend::of_url("sqlite://data/insight.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of_url("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert!(Backend::of_url("mysql://u@h/db").is_err());
    }

    #[test]
    fn passwords_never_reach_error_messages() {
        let err = Backend::of_url("mysql://u:hunter2@h/db").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_sqlite_database_and_its_wal_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("insight-mode-{}-{}", std::process::id(), now_ms()));
        let path = dir.join("insight.db");
        // Under the usual umask (022) a file made without care is 0644.
        let store = Store::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        store.migrate().await.unwrap();
        sqlx::query("CREATE TABLE mode_probe (x INTEGER)").execute(store.pool()).await.unwrap();
        for name in ["insight.db", "insight.db-wal", "insight.db-shm"] {
            let mode = std::fs::metadata(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")).permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name} has mode {mode:o}");
        }
        store.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The failure `begin_write` exists for, then its cure: a transaction
    /// that read before another connection committed cannot write after it
    /// on SQLite unless it took the write lock first.
    #[tokio::test]
    async fn a_write_transaction_that_reads_first_survives_a_commit_from_elsewhere() {
        let dir = std::env::temp_dir().join(format!("insight-busy-{}-{}", std::process::id(), now_ms()));
        let store = Store::connect(&format!("sqlite://{}", dir.join("insight.db").display())).await.unwrap();
        sqlx::query("CREATE TABLE busy_probe (x INTEGER)").execute(store.pool()).await.unwrap();
        let elsewhere = |x: i64| {
            let pool = store.pool().clone();
            async move { sqlx::query("INSERT INTO busy_probe (x) VALUES ($1)").bind(x).execute(&pool).await }
        };

        // Deferred: read, another connection commits, then write — refused at once.
        let mut deferred = store.pool().begin().await.unwrap();
        sqlx::query("SELECT COUNT(*) FROM busy_probe").fetch_one(&mut *deferred).await.unwrap();
        elsewhere(1).await.unwrap();
        let refused = sqlx::query("INSERT INTO busy_probe (x) VALUES (2)").execute(&mut *deferred).await;
        assert!(refused.is_err(), "SQLite refuses the deferred transaction's write");
        drop(deferred);

        // Immediate: the other connection waits for this commit, and both land.
        let mut tx = store.write_tx().await.unwrap();
        sqlx::query("SELECT COUNT(*) FROM busy_probe").fetch_one(&mut *tx).await.unwrap();
        let other = tokio::spawn(elsewhere(3));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        sqlx::query("INSERT INTO busy_probe (x) VALUES (4)").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        other.await.unwrap().unwrap();
        let xs: Vec<(i64,)> = sqlx::query_as("SELECT x FROM busy_probe ORDER BY x").fetch_all(store.pool()).await.unwrap();
        assert_eq!(xs, [(1,), (3,), (4,)]);
        store.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sqlite_paths_are_read_from_urls() {
        assert_eq!(sqlite_path("sqlite://data/x.db?mode=rwc").as_deref(), Some("data/x.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }
}

/// `param` (a JSON array of objects) as a table `j` with `columns`
/// (`name TYPE, …`), in the backend's SQL: one bound value however many
/// rows, so a batch is one statement whose text does not change with its
/// size (parsed once, no parameter per value).
pub(crate) fn json_rows(backend: Backend, param: &str, columns: &str) -> String {
    match backend {
        Backend::Postgres => format!("jsonb_to_recordset(CAST({param} AS JSONB)) AS j({columns})"),
        Backend::Sqlite => {
            let fields: Vec<String> = columns
                .split(',')
                .map(|c| c.split_whitespace().next().unwrap_or_default().to_string())
                .map(|name| format!("json_extract(value, '$.{name}') AS {name}"))
                .collect();
            format!("(SELECT {} FROM json_each({param})) AS j", fields.join(", "))
        }
    }
}
