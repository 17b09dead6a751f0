//! Fresh databases for tests, on both backends. Every store and web test runs
//! against SQLite and PostgreSQL. PostgreSQL is looked for at
//! `INSIGHT_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//! When it cannot be reached, the test fails — a skipped half must be asked
//! for: with `INSIGHT_TEST_SKIP_POSTGRES=1` (never honoured under CI,
//! `CI=true`) the PostgreSQL half is skipped, and each skip is appended to
//! the file named by `INSIGHT_TEST_SKIP_LOG`, so the test run's closing line
//! can say how many were skipped.

use crate::Store;
use rand::Rng;
use std::path::PathBuf;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database made for one test and removed when dropped.
pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    Postgres { admin_url: String, name: String },
}

fn random_suffix() -> String {
    let n: u64 = rand::thread_rng().gen();
    format!("{n:016x}")
}

impl TestDatabase {
    pub fn sqlite() -> TestDatabase {
        let dir = std::env::temp_dir().join(format!("insight-test-{}", random_suffix()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TestDatabase { url: format!("sqlite://{}/insight.db", dir.display()), cleanup: Cleanup::Dir(dir) }
    }

    /// A fresh PostgreSQL database, or `None` (outside CI) when PostgreSQL
    /// cannot be reached.
    pub async fn postgres() -> Option<TestDatabase> {
        sqlx::any::install_default_drivers();
        let admin_url = std::env::var("INSIGHT_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
        let name = format!("insight_test_{}", random_suffix());
        let created = async {
            use sqlx::Connection;
            let mut conn = sqlx::AnyConnection::connect(&admin_url).await?;
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await?;
            conn.close().await
        }
        .await;
        match created {
            Ok(()) => {
                let mut url = url::Url::parse(&admin_url).expect("INSIGHT_TEST_POSTGRES_URL is a URL");
                url.set_path(&format!("/{name}"));
                Some(TestDatabase { url: url.to_string(), cleanup: Cleanup::Postgres { admin_url, name } })
            }
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("PostgreSQL at {} is unreachable under CI: {e}", crate::redact_url(&admin_url))
            }
            Err(e) if !std::env::var("INSIGHT_TEST_SKIP_POSTGRES").is_ok_and(|v| v == "1") => panic!(
                "PostgreSQL at {} is unreachable ({e}). Start it, point INSIGHT_TEST_POSTGRES_URL at one, \
                 or skip the PostgreSQL half explicitly with INSIGHT_TEST_SKIP_POSTGRES=1.",
                crate::redact_url(&admin_url)
            ),
            Err(e) => {
                eprintln!("skipping the PostgreSQL half of this test: {} unreachable ({e})", crate::redact_url(&admin_url));
                if let Ok(path) = std::env::var("INSIGHT_TEST_SKIP_LOG") {
                    use std::io::Write;
                    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
                        let _ = writeln!(f, "postgres");
                    }
                }
                None
            }
        }
    }

    /// Every backend this machine can test: SQLite always, PostgreSQL when
    /// reachable (always under CI).
    pub async fn all() -> Vec<TestDatabase> {
        let mut dbs = vec![TestDatabase::sqlite()];
        dbs.extend(TestDatabase::postgres().await);
        dbs
    }

    /// Connects and migrates.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url).await.expect("connect to test database");
        store.migrate().await.expect("migrate test database");
        store
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop cannot await; a short-lived runtime on its own thread can.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    rt.block_on(async {
                        use sqlx::Connection;
                        let mut conn = sqlx::AnyConnection::connect(&admin_url).await.ok()?;
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await.ok()?;
                        conn.close().await.ok()
                    })
                })
                .join();
            }
        }
    }
}
