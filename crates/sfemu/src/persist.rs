//! Optional persistence in a SQLite file (`persistence_path`), so a demo org keeps its
//! records — and a client linked through OAuth keeps its refresh token — across restarts.
//!
//! * At start every org's records, the refresh tokens, the remembered approvals and the
//!   unexpired access tokens are loaded from the file; config seeds are applied only
//!   when the file is new.
//! * Every change is written as it happens: record operations mark (object, id) in the
//!   org's [`crate::state::Journal`]; a middleware ([`flush_layer`]) writes the current
//!   state of the marked records (one transaction, one statement per kind) before the
//!   response leaves, so an acknowledged write survives `kill -9`. Tokens and approvals
//!   are rewritten when they changed (they are few).
//! * Concurrent requests share commits: the flush holds the connection's lock while it
//!   takes the marks and commits, so a request whose marks were taken by another flush
//!   waits for that commit before answering.
//! * The file is in WAL mode with `synchronous=NORMAL`: a committed transaction survives
//!   the process being killed; an OS crash or power loss may lose the last commits.
//! * A path ending in `.json` (the earlier snapshot format) is migrated: the database is
//!   the same path with the extension `.sqlite`, and the JSON snapshot, if present, is
//!   imported into it once when that database is created. The JSON file is left as is.
//!
//! sqlx (already in the workspace, bundled SQLite) rather than rusqlite: no new crate in
//! the dependency tree. Batches go through `json_each(?)`, so a flush costs one statement
//! per kind whatever the number of records.

use crate::state::{AccessToken, App, JournalEntries, Record, RefreshToken};
use serde_json::{json, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Row, SqliteConnection};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (org TEXT NOT NULL, object TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (org, object, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS refresh_tokens (token TEXT PRIMARY KEY, org TEXT NOT NULL, user_id TEXT NOT NULL,
    client_id TEXT NOT NULL, scope TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS access_tokens (token TEXT PRIMARY KEY, org TEXT NOT NULL, user_id TEXT NOT NULL,
    client_id TEXT NOT NULL, expires_unix_ms INTEGER NOT NULL, refresh TEXT);
CREATE TABLE IF NOT EXISTS approvals (user_id TEXT NOT NULL, client_id TEXT NOT NULL, PRIMARY KEY (user_id, client_id));
";

/// The SQLite file behind a persistent emulator.
pub struct Store {
    path: PathBuf,
    conn: tokio::sync::Mutex<Option<SqliteConnection>>,
}

/// Where the database lives for a configured `persistence_path` (`x.json` -> `x.sqlite`),
/// and the JSON snapshot to import when the database is new.
pub fn database_path(configured: &Path) -> (PathBuf, Option<PathBuf>) {
    let is_json = configured.extension().map(|e| e.eq_ignore_ascii_case("json")).unwrap_or(false);
    if is_json { (configured.with_extension("sqlite"), Some(configured.to_path_buf())) } else { (configured.to_path_buf(), None) }
}

fn unix_ms() -> i64 { crate::state::now_ms() as i64 }

impl Store {
    /// Open (or create) the database. Returns the store and whether it was already initialized.
    pub async fn open(path: &Path) -> anyhow::Result<(Store, bool)> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) { std::fs::create_dir_all(dir)?; }
        // Refuse a JSON snapshot (or anything else) under a database name rather than overwrite it.
        if let Ok(mut f) = std::fs::File::open(path) {
            use std::io::Read;
            let mut head = Vec::with_capacity(16);
            f.by_ref().take(16).read_to_end(&mut head)?;
            anyhow::ensure!(head.is_empty() || head.starts_with(b"SQLite format 3"),
                "{} is not a SQLite database (an old JSON snapshot must be named *.json to be imported)", path.display());
        }
        let opts = SqliteConnectOptions::new().filename(path).create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal).synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10)).disable_statement_logging();
        let mut conn = opts.connect().await.map_err(|e| anyhow::anyhow!("opening {}: {e}", path.display()))?;
        sqlx::raw_sql(SCHEMA).execute(&mut conn).await?;
        let initialized = sqlx::query("SELECT value FROM meta WHERE key = 'initialized'").fetch_optional(&mut conn).await?.is_some();
        Ok((Store { path: path.to_path_buf(), conn: tokio::sync::Mutex::new(Some(conn)) }, initialized))
    }

    pub fn path(&self) -> &Path { &self.path }

    /// Record that the initial content (seeds or an imported snapshot) is in the file.
    pub async fn mark_initialized(&self) -> anyhow::Result<()> {
        let mut g = self.conn.lock().await;
        let conn = g.as_mut().ok_or_else(|| anyhow::anyhow!("store closed"))?;
        sqlx::query("INSERT OR REPLACE INTO meta(key, value) VALUES ('initialized', ?1)").bind(crate::state::sf_datetime_now()).execute(conn).await?;
        Ok(())
    }

    /// Load records, tokens and approvals into `app`. Returns the number of records.
    pub async fn load(&self, app: &App) -> anyhow::Result<usize> {
        let mut g = self.conn.lock().await;
        let conn = g.as_mut().ok_or_else(|| anyhow::anyhow!("store closed"))?;
        let rows = sqlx::query("SELECT org, object, id, data FROM records").fetch_all(&mut *conn).await?;
        let mut n = 0;
        for row in rows {
            let (org_id, obj_name, id, data): (String, String, String, String) = (row.get(0), row.get(1), row.get(2), row.get(3));
            let Some(org) = app.org(&org_id).cloned() else { continue };
            let Some(obj) = org.object(&obj_name).cloned() else { continue };
            let Ok(Value::Object(rec)) = serde_json::from_str::<Value>(&data) else { continue };
            crate::ids::bump_past(&id);
            let mut d = org.data.write();
            let table = d.entry(obj.name.clone()).or_default();
            crate::records::load_locked(&org, &obj, table, &id, rec as Record);
            n += 1;
        }
        let now_ms = unix_ms();
        let now = Instant::now();
        // Fetch first: no lock is held across an await.
        let rts = sqlx::query("SELECT token, org, user_id, client_id, scope FROM refresh_tokens").fetch_all(&mut *conn).await?;
        let ats = sqlx::query("SELECT token, org, user_id, client_id, expires_unix_ms, refresh FROM access_tokens WHERE expires_unix_ms > ?1")
            .bind(now_ms).fetch_all(&mut *conn).await?;
        let aps = sqlx::query("SELECT user_id, client_id FROM approvals").fetch_all(&mut *conn).await?;
        {
            let mut rt = app.refresh_tokens.write();
            for row in rts {
                rt.insert(row.get(0), RefreshToken { org_id: row.get(1), user_id: row.get(2), client_id: row.get(3), scope: row.get(4) });
            }
        }
        {
            let mut at = app.tokens.write();
            for row in ats {
                let left = Duration::from_millis((row.get::<i64, _>(4) - now_ms).max(0) as u64);
                at.insert(row.get(0), AccessToken { org_id: row.get(1), user_id: row.get(2), client_id: row.get(3), expires: now + left, refresh: row.get(5) });
            }
        }
        app.approvals.lock().extend(aps.into_iter().map(|row| (row.get(0), row.get(1))));
        Ok(n)
    }

    /// Write every change noted since the last flush, in one transaction. Returns once the
    /// changes noted before the call are committed (by this call or a concurrent one).
    pub async fn flush(&self, app: &App) -> anyhow::Result<()> {
        let mut g = self.conn.lock().await;
        let Some(conn) = g.as_mut() else {
            // Closed (emulator shut down): refuse to acknowledge changes that cannot be stored.
            let pending = app.tokens_dirty.load(Ordering::Acquire) || app.orgs.iter().any(|o| !o.journal.is_empty());
            return if pending { Err(anyhow::anyhow!("the persistence file is closed (emulator shutting down)")) } else { Ok(()) };
        };
        let tokens = app.tokens_dirty.swap(false, Ordering::AcqRel);
        let mut taken: Vec<(usize, JournalEntries)> = vec![];
        for (i, org) in app.orgs.iter().enumerate() {
            let e = org.journal.take();
            if e.wiped || !e.dirty.is_empty() { taken.push((i, e)); }
        }
        if taken.is_empty() && !tokens { return Ok(()); }
        match write(conn, app, &taken, tokens).await {
            Ok(()) => Ok(()),
            Err(e) => {
                // Keep the marks so that the next flush retries them.
                if tokens { app.tokens_changed(); }
                for (i, entries) in taken { app.orgs[i].journal.restore(entries); }
                Err(e)
            }
        }
    }

    /// Flush and fold the WAL into the main file (`POST /_emulator/save`).
    pub async fn checkpoint(&self, app: &App) -> anyhow::Result<()> {
        self.flush(app).await?;
        let mut g = self.conn.lock().await;
        if let Some(conn) = g.as_mut() { sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(conn).await?; }
        Ok(())
    }

    /// Flush and close the connection (at shutdown).
    pub async fn close(&self, app: &App) -> anyhow::Result<()> {
        let r = self.checkpoint(app).await;
        if let Some(c) = self.conn.lock().await.take() { c.close().await?; }
        r
    }
}

async fn write(conn: &mut SqliteConnection, app: &App, taken: &[(usize, JournalEntries)], tokens: bool) -> anyhow::Result<()> {
    // Read the current state of the marked records (the data lock is held only while serializing).
    let mut wiped: Vec<&str> = vec![];
    let mut ups: Vec<Value> = vec![];
    let mut dels: Vec<Value> = vec![];
    for (i, e) in taken {
        let org = &app.orgs[*i];
        if e.wiped { wiped.push(&org.id); }
        let data = org.data.read();
        for (obj, id) in &e.dirty {
            match data.get(obj).and_then(|t| t.records.get(id)) {
                Some(r) => ups.push(json!([org.id, obj, id, serde_json::to_string(r)?])),
                None => dels.push(json!([org.id, obj, id])),
            }
        }
    }
    let mut tx = conn.begin().await?;
    for org in wiped {
        sqlx::query("DELETE FROM records WHERE org = ?1").bind(org).execute(&mut *tx).await?;
    }
    if !dels.is_empty() {
        sqlx::query("DELETE FROM records WHERE (org, object, id) IN (SELECT value->>0, value->>1, value->>2 FROM json_each(?1))")
            .bind(Value::Array(dels).to_string()).execute(&mut *tx).await?;
    }
    if !ups.is_empty() {
        sqlx::query("INSERT INTO records(org, object, id, data) SELECT value->>0, value->>1, value->>2, value->>3 FROM json_each(?1) WHERE true
            ON CONFLICT(org, object, id) DO UPDATE SET data = excluded.data")
            .bind(Value::Array(ups).to_string()).execute(&mut *tx).await?;
    }
    if tokens {
        let now = Instant::now();
        let now_ms = unix_ms();
        let rts: Vec<Value> = app.refresh_tokens.read().iter()
            .map(|(k, t)| json!([k, t.org_id, t.user_id, t.client_id, t.scope])).collect();
        let ats: Vec<Value> = app.tokens.read().iter().filter(|(_, t)| t.expires > now)
            .map(|(k, t)| json!([k, t.org_id, t.user_id, t.client_id, now_ms + t.expires.duration_since(now).as_millis() as i64, t.refresh])).collect();
        let aps: Vec<Value> = app.approvals.lock().iter().map(|(u, c)| json!([u, c])).collect();
        sqlx::query("DELETE FROM refresh_tokens").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM access_tokens").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM approvals").execute(&mut *tx).await?;
        sqlx::query("INSERT INTO refresh_tokens SELECT value->>0, value->>1, value->>2, value->>3, value->>4 FROM json_each(?1)")
            .bind(Value::Array(rts).to_string()).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO access_tokens SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5 FROM json_each(?1)")
            .bind(Value::Array(ats).to_string()).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO approvals SELECT value->>0, value->>1 FROM json_each(?1)")
            .bind(Value::Array(aps).to_string()).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Middleware (only installed when persistence is on): after the handler ran and before
/// the response is sent, write the changes to SQLite. A failed write answers 500 so that
/// nothing is acknowledged that was not stored.
pub async fn flush_layer(axum::extract::State(app): axum::extract::State<Arc<App>>, req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let resp = next.run(req).await;
    if let Some(store) = app.store.get() {
        if let Err(e) = store.flush(&app).await {
            tracing::error!("sfemu: writing {}: {e}", store.path().display());
            return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!([{"errorCode": "UNKNOWN_EXCEPTION",
                "message": format!("sfemu could not write its persistence file: {e}")}]))).into_response();
        }
    }
    resp
}

/// Import a JSON snapshot written by earlier versions ({"orgs": {orgId: {Object: [record, ...]}}}).
/// The records are marked for the next flush. Returns the number of records.
pub fn import_json(app: &App, path: &Path) -> anyhow::Result<usize> {
    let v: Value = serde_json::from_slice(&std::fs::read(path)?).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut n = 0;
    for (org_id, objs) in v["orgs"].as_object().into_iter().flatten() {
        let Some(org) = app.org(org_id).cloned() else { continue };
        let mut data = org.data.write();
        for (obj_name, recs) in objs.as_object().into_iter().flatten() {
            let Some(obj) = org.object(obj_name).cloned() else { continue };
            let table = data.entry(obj.name.clone()).or_default();
            for r in recs.as_array().into_iter().flatten() {
                let Some(rec) = r.as_object().cloned() else { continue };
                let Some(id) = rec.get("Id").and_then(|v| v.as_str()).map(String::from) else { continue };
                crate::ids::bump_past(&id);
                crate::records::load_locked(&org, &obj, table, &id, rec as Record);
                org.journal.mark(&obj.name, &id);
                n += 1;
            }
        }
    }
    Ok(n)
}
