//! In-memory state: orgs (schema, records, usage, faults), users, tokens, sessions.

use crate::config::{ConnectedAppConfig, EmulatorConfig};
use crate::faults::Faults;
use crate::ids;
use crate::outbound::OutboundState;
use crate::schema::{self, ObjectDef};
use parking_lot::{Mutex, RwLock};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub type Record = Map<String, Value>;

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: String,
    pub email: String,
}
impl User {
    pub fn name(&self) -> String {
        match &self.first_name { Some(f) => format!("{f} {}", self.last_name), None => self.last_name.clone() }
    }
}

#[derive(Default)]
pub struct Table {
    pub records: BTreeMap<String, Record>,
    /// lower-case field name -> normalized value -> ids (for externalId/unique fields).
    /// B-trees rather than hash maps here and in `Org::ids`: no rehash of the whole map
    /// when it grows (a 65 ms stall of every writer at ~115k records).
    pub index: HashMap<String, BTreeMap<String, Vec<String>>>,
    /// The last auto-number given (a Case's `CaseNumber`); 0 until the first
    /// insert after a start, which reads the highest one held.
    pub last_auto_number: u64,
    /// Deleted records (`IsDeleted = true`), which `queryAll` still returns; purged by an
    /// org reset. Kept in memory only, like the `/deleted` log.
    pub recycle_bin: BTreeMap<String, Record>,
}

pub struct Org {
    pub id: String,
    pub name: String,
    pub is_sandbox: bool,
    pub instance_name: String,
    pub created: String,
    pub users: Vec<User>,
    /// The objects as the org started; an admin's schema changes (see
    /// `schema_admin`) replace an object in `by_name`/`by_prefix` only.
    pub objects: Vec<Arc<ObjectDef>>,
    by_name: RwLock<HashMap<String, &'static Arc<ObjectDef>>>,
    by_prefix: RwLock<HashMap<String, &'static Arc<ObjectDef>>>,
    pub data: RwLock<HashMap<String, Table>>,
    pub usage: AtomicU64,
    pub max: AtomicU64,
    /// Calls refused with REQUEST_LIMIT_EXCEEDED (Salesforce does not count
    /// them in the daily use; the admin API shows them, so a test can see
    /// how hard a client presses an exhausted org).
    pub refused: AtomicU64,
    pub faults: RwLock<Faults>,
    pub outbound: Mutex<OutboundState>,
    /// Ids of every stored record (for reference checks without taking the data lock).
    pub ids: RwLock<BTreeSet<String>>,
    /// (object, id, deletedDate) for GET /sobjects/T/deleted
    pub deleted: Mutex<Vec<(String, String, String)>>,
    /// Records changed since the last write to the SQLite file (persistence only).
    pub journal: Journal,
    /// Bulk API 2.0 ingest jobs (in memory only).
    pub bulk_jobs: crate::bulk2::Jobs,
    /// When the org's metadata last changed (Unix seconds): its start, then each schema
    /// change. Describe answers `If-Modified-Since` with it.
    pub schema_modified: std::sync::atomic::AtomicI64,
}

/// Which records of an org changed since the last flush to SQLite. Only ids are
/// kept: a flush writes each id's *current* state (or deletes it when gone), so
/// rollbacks and repeated updates need no special handling. Disabled (and free)
/// when persistence is off.
#[derive(Default)]
pub struct Journal {
    enabled: bool,
    inner: Mutex<JournalEntries>,
}

#[derive(Default)]
pub struct JournalEntries {
    /// Every record of the org was deleted (admin reset) before the `dirty` changes.
    pub wiped: bool,
    /// (object name, record id)
    pub dirty: HashSet<(String, String)>,
}

impl Journal {
    pub fn new(enabled: bool) -> Self { Journal { enabled, inner: Mutex::new(JournalEntries::default()) } }
    pub fn enabled(&self) -> bool { self.enabled }
    #[inline]
    pub fn mark(&self, object: &str, id: &str) {
        if self.enabled { self.inner.lock().dirty.insert((object.to_string(), id.to_string())); }
    }
    pub fn wipe(&self) {
        if self.enabled { let mut j = self.inner.lock(); j.wiped = true; j.dirty.clear(); }
    }
    pub fn is_empty(&self) -> bool { let j = self.inner.lock(); !j.wiped && j.dirty.is_empty() }
    pub fn take(&self) -> JournalEntries { std::mem::take(&mut *self.inner.lock()) }
    /// Put entries back after a failed flush (newer marks are kept too).
    pub fn restore(&self, e: JournalEntries) {
        let mut j = self.inner.lock();
        if e.wiped && !j.wiped {
            // The wipe happened before anything now in `j`: keep the newer marks after it.
            j.wiped = true;
        }
        j.dirty.extend(e.dirty);
    }
}

impl Org {
    pub fn object(&self, name: &str) -> Option<&Arc<ObjectDef>> {
        self.by_name.read().get(&name.to_ascii_lowercase()).copied()
    }
    pub fn object_by_prefix(&self, id: &str) -> Option<&Arc<ObjectDef>> {
        self.by_prefix.read().get(id.get(..3)?).copied()
    }
    /// The object as the org started, before any schema change.
    pub fn original_object(&self, name: &str) -> Option<&Arc<ObjectDef>> {
        self.objects.iter().find(|o| o.name.eq_ignore_ascii_case(name))
    }
    /// Puts a changed definition of an object in place, as Setup does: every
    /// request from now on sees it. Each definition is leaked so `object`
    /// can keep handing out plain references while requests still hold the
    /// old one; admin changes are few, so the cost is a few KB per change.
    pub fn replace_object(&self, def: ObjectDef) {
        let def: &'static Arc<ObjectDef> = Box::leak(Box::new(Arc::new(def.finish())));
        self.by_name.write().insert(def.name.to_ascii_lowercase(), def);
        self.by_prefix.write().insert(def.key_prefix.clone(), def);
        self.schema_modified.store(time::OffsetDateTime::now_utc().unix_timestamp(), Ordering::Release);
    }
    pub fn environment(&self) -> &'static str { if self.is_sandbox { "sandbox" } else { "production" } }
    pub fn user(&self, id: &str) -> Option<&User> { self.users.iter().find(|u| u.id == id) }
}

#[derive(Debug, Clone)]
pub struct AccessToken {
    pub org_id: String,
    pub user_id: String,
    pub client_id: String,
    pub expires: Instant,
    pub refresh: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub org_id: String,
    pub user_id: String,
    pub client_id: String,
    pub scope: String,
}

#[derive(Debug, Clone)]
pub struct AuthCode {
    pub org_id: String,
    pub user_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub scope: String,
    pub expires: Instant,
}

#[derive(Debug, Clone)]
pub struct BrowserSession {
    pub org_id: String,
    pub user_id: String,
    pub sandbox: bool,
}

pub struct Cursor {
    pub records: Vec<Value>,
    pub pos: usize,
    pub batch: usize,
    pub total: usize,
    pub created: Instant,
}

#[derive(Debug, Clone, Default)]
pub struct Urls {
    pub http: String,
    pub https: Option<String>,
    pub pem_path: Option<String>,
}

pub struct App {
    pub cfg: EmulatorConfig,
    /// The REST API versions served (v31.0..=v68.0, plus the configured next one).
    pub versions: crate::versions::ServedVersions,
    pub orgs: Vec<Arc<Org>>,
    org_by_id: HashMap<String, Arc<Org>>,
    pub apps: Vec<ConnectedAppConfig>,
    pub tokens: RwLock<HashMap<String, AccessToken>>,
    pub refresh_tokens: RwLock<HashMap<String, RefreshToken>>,
    pub codes: Mutex<HashMap<String, AuthCode>>,
    pub sessions: Mutex<HashMap<String, BrowserSession>>,
    pub approvals: Mutex<HashSet<(String, String)>>,
    pub cursors: Mutex<HashMap<String, Cursor>>,
    pub urls: RwLock<Urls>,
    pub token_lifetime: RwLock<Duration>,
    pub http_client: reqwest::Client,
    /// The SQLite store when `persistence_path` is set (opened by `Emulator::start`).
    pub store: std::sync::OnceLock<Arc<crate::persist::Store>>,
    /// Access/refresh tokens or approvals changed since the last flush to SQLite.
    pub tokens_dirty: std::sync::atomic::AtomicBool,
}

/// An object definition that lives as long as the emulator (see `Org::replace_object`).
fn leak(o: &Arc<ObjectDef>) -> &'static Arc<ObjectDef> {
    Box::leak(Box::new(o.clone()))
}

pub fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()
}

/// Salesforce's REST datetime format: 2024-01-31T12:34:56.000+0000
pub fn sf_datetime_now() -> String { sf_datetime(time::OffsetDateTime::now_utc()) }

/// A UTC time as Salesforce writes datetimes: `2026-01-31T09:05:00.000+0000`.
pub fn sf_datetime(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000", t.year(), t.month() as u8, t.day(),
        t.hour(), t.minute(), t.second(), t.millisecond())
}

pub fn random_token(len: usize) -> String {
    use rand::Rng;
    const CH: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut r = rand::thread_rng();
    (0..len).map(|_| CH[r.gen_range(0..CH.len())] as char).collect()
}

impl App {
    pub fn new(cfg: EmulatorConfig) -> anyhow::Result<Self> {
        cfg.validate()?;
        let mut objects: Vec<ObjectDef> = schema::standard_objects();
        for o in objects.iter_mut() {
            if let Some(extra) = cfg.custom_fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(&o.name)) {
                for c in extra.1 {
                    o.fields.push(schema::custom_field(c));
                }
            }
        }
        for (i, c) in cfg.custom_objects.iter().enumerate() {
            objects.push(schema::custom_object(c, format!("a0{}", (b'0' + (i % 10) as u8) as char)));
        }
        for (k, extra) in &cfg.custom_fields {
            if let Some(o) = objects.iter_mut().find(|o| o.custom && o.name.eq_ignore_ascii_case(k)) {
                o.fields.extend(extra.iter().map(schema::custom_field));
            }
        }
        objects.extend(schema::virtual_objects());
        let objects: Vec<Arc<ObjectDef>> = objects.into_iter().map(|o| Arc::new(o.finish())).collect();

        let mut orgs = Vec::new();
        let mut org_by_id = HashMap::new();
        for (i, oc) in cfg.orgs.iter().enumerate() {
            let id = match &oc.id { Some(id) => ids::parse(id).unwrap(), None => ids::seeded_id("00D", 1000 + i as u64) };
            let users = oc.users.iter().enumerate().map(|(j, u)| User {
                id: u.id.as_deref().and_then(ids::parse).unwrap_or_else(|| ids::seeded_id("005", 100_000 * (i as u64 + 1) + j as u64)),
                username: u.username.clone(), password: u.password.clone(), first_name: u.first_name.clone(),
                last_name: u.last_name.clone(), email: u.email.clone().unwrap_or_else(|| u.username.clone()),
            }).collect();
            let org = Arc::new(Org {
                id: id.clone(), name: oc.name.clone(), is_sandbox: oc.is_sandbox,
                instance_name: if oc.is_sandbox { format!("CS{}", 100 + i) } else { format!("NA{}", 100 + i) },
                created: sf_datetime_now(), users,
                by_name: RwLock::new(objects.iter().map(|o| (o.name.to_ascii_lowercase(), leak(o))).collect()),
                by_prefix: RwLock::new(objects.iter().map(|o| (o.key_prefix.clone(), leak(o))).collect()),
                objects: objects.clone(),
                data: RwLock::new(HashMap::new()),
                usage: AtomicU64::new(0),
                refused: AtomicU64::new(0),
                max: AtomicU64::new(oc.api_daily_limit.unwrap_or(cfg.api_daily_limit)),
                faults: RwLock::new(Faults::default()),
                outbound: Mutex::new(OutboundState::new(oc.outbound_rules.clone())),
                deleted: Mutex::new(Vec::new()),
                ids: RwLock::new(BTreeSet::new()),
                journal: Journal::new(cfg.persistence_path.is_some()),
                bulk_jobs: Default::default(),
                schema_modified: std::sync::atomic::AtomicI64::new(time::OffsetDateTime::now_utc().unix_timestamp()),
            });
            org_by_id.insert(id[..15].to_string(), org.clone());
            org_by_id.insert(id.clone(), org.clone());
            orgs.push(org);
        }
        let apps = if cfg.connected_apps.is_empty() {
            EmulatorConfig::default_demo().connected_apps
        } else { cfg.connected_apps.clone() };
        Ok(App {
            versions: cfg.served_versions()?,
            token_lifetime: RwLock::new(Duration::from_secs(cfg.token_lifetime_secs)),
            cfg, orgs, org_by_id, apps,
            tokens: RwLock::new(HashMap::new()),
            refresh_tokens: RwLock::new(HashMap::new()),
            codes: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            approvals: Mutex::new(HashSet::new()),
            cursors: Mutex::new(HashMap::new()),
            urls: RwLock::new(Urls::default()),
            http_client: reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?,
            store: std::sync::OnceLock::new(),
            tokens_dirty: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn org(&self, id: &str) -> Option<&Arc<Org>> {
        self.org_by_id.get(id).or_else(|| self.org_by_id.get(id.get(..15)?))
    }

    pub fn find_user(&self, username: &str) -> Option<(Arc<Org>, User)> {
        for o in &self.orgs {
            if let Some(u) = o.users.iter().find(|u| u.username.eq_ignore_ascii_case(username)) {
                return Some((o.clone(), u.clone()));
            }
        }
        None
    }

    pub fn connected_app(&self, client_id: &str) -> Option<&ConnectedAppConfig> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    pub fn issue_access_token(&self, org: &Org, user_id: &str, client_id: &str, refresh: Option<String>) -> String {
        let tok = format!("{}!{}", &org.id[..15], random_token(96));
        let lifetime = *self.token_lifetime.read();
        self.tokens.write().insert(tok.clone(), AccessToken {
            org_id: org.id.clone(), user_id: user_id.into(), client_id: client_id.into(),
            expires: Instant::now() + lifetime, refresh,
        });
        self.tokens_changed();
        tok
    }

    pub fn base_url(&self, https: bool) -> String {
        let u = self.urls.read();
        if https { u.https.clone().unwrap_or_else(|| u.http.clone()) } else { u.http.clone() }
    }

    /// The login host stand-in for an environment: production is the server root,
    /// the sandbox ("test.salesforce.com") login host lives under /sandbox.
    pub fn login_url(base: &str, sandbox: bool) -> String {
        if sandbox { format!("{base}/sandbox") } else { base.to_string() }
    }

    /// Per-org instance URL ("MyDomain" stand-in): the server root plus /org/{orgId}.
    pub fn instance_url(base: &str, org: &Org) -> String {
        format!("{base}/org/{}", org.id)
    }

    /// Note that tokens, refresh tokens or approvals changed (persisted at the end of the request).
    pub fn tokens_changed(&self) {
        self.tokens_dirty.store(true, Ordering::Release);
    }

    pub fn count_usage(&self, org: &Org) -> u64 {
        org.usage.fetch_add(1, Ordering::Relaxed) + 1
    }
}
