//! The sync engine: instances of plugins per store (add, change, list, remove), their
//! contexts, and runs (on demand here, on a schedule in [`crate::scheduler`]).
//!
//! Every function takes the store's [`TenantCx`] and reaches only that store's rows.
//! Settings are checked against the plugin's manifest with every problem listed by field;
//! credentials are encrypted with the [`Keyring`] and never returned.

use crate::context::{InstanceCx, SyncContext};
use crate::crypto::Keyring;
use crate::error::PluginError;
use crate::http_client::{HttpClient, HttpPolicy, RateLimiter};
use crate::registry::Registry;
use crate::{schema, Capability, Integration, SyncReport};
use chrono::{DateTime, Utc};
use megashop_core::config::Config;
use megashop_core::entity::{integration, sync_error, sync_run};
use megashop_core::error::{Error, Problems, Result};
use megashop_core::tenancy::TenantCx;
use megashop_core::validate;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Shortest schedule interval, in seconds.
pub const MIN_SCHEDULE_SECS: i64 = 60;
/// Longest schedule interval, in seconds (30 days).
pub const MAX_SCHEDULE_SECS: i64 = 30 * 86400;
/// What the API and the CLI show for a credential that is set.
pub const MASK: &str = "••••";

/// Tunables of the engine (from `[integrations]` and `data_dir`).
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// The deployment's data directory; instances get
    /// `<data_dir>/integrations/<store id>/<instance id>/`.
    pub data_dir: PathBuf,
    /// Lifetime of a run's lock; renewed every third of it while the run lives.
    pub lease: Duration,
    /// Timeout of one HTTP request.
    pub http_timeout: Duration,
    /// Pacing and retries of HTTP requests, unless the instance's settings say otherwise
    /// (`requests_per_second`, `max_attempts`).
    pub http: HttpPolicy,
    /// Log lines stored per run.
    pub max_log_lines: u64,
    /// How often the scheduler looks for due instances.
    pub scheduler_poll: Duration,
    /// Scheduled runs at once in this process.
    pub scheduler_concurrency: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions::from_config(&Config::default())
    }
}

impl EngineOptions {
    /// The options a configuration asks for.
    pub fn from_config(cfg: &Config) -> EngineOptions {
        let i = &cfg.integrations;
        EngineOptions {
            data_dir: cfg.data_dir.clone(),
            lease: Duration::from_secs(i.lease_secs.max(1)),
            http_timeout: Duration::from_secs(i.http_timeout_secs.max(1)),
            http: HttpPolicy {
                base_delay: Duration::from_millis(i.retry_base_ms.max(1)),
                max_total_wait: Duration::from_secs(i.retry_max_wait_secs),
                ..HttpPolicy::default()
            },
            max_log_lines: i.max_log_lines.max(1),
            scheduler_poll: Duration::from_secs(i.scheduler_poll_secs.max(1)),
            scheduler_concurrency: i.scheduler_concurrency.max(1) as usize,
        }
    }
}

/// A callback run after every finished run (the server clears its cache).
pub type RunHook = Arc<dyn Fn(&RunView) + Send + Sync>;

/// What every context of an engine shares.
pub(crate) struct Runtime {
    pub(crate) db: DatabaseConnection,
    pub(crate) registry: Arc<Registry>,
    keys: std::result::Result<Keyring, String>,
    pub(crate) opts: EngineOptions,
    /// This server, in lease owners (`host:pid`).
    pub(crate) node: String,
    limiters: Mutex<HashMap<i64, Arc<RateLimiter>>>,
    client: reqwest::Client,
    hooks: RwLock<Vec<RunHook>>,
}

impl Runtime {
    /// The HTTP client of an instance, logging to `log`.
    pub(crate) fn http_client(&self, inst: &InstanceCx, log: crate::SyncLog) -> HttpClient {
        let mut policy = self.opts.http.clone();
        if let Some(r) = inst.settings.get("requests_per_second").and_then(Value::as_f64) {
            policy.requests_per_second = r;
        }
        if let Some(n) = inst.settings.get("max_attempts").and_then(Value::as_u64) {
            policy.max_attempts = u32::try_from(n.clamp(1, 100)).unwrap_or(5);
        }
        let limiter = match self.limiters.lock() {
            Ok(mut map) => {
                let l = map.entry(inst.id).or_insert_with(|| Arc::new(RateLimiter::new(policy.requests_per_second)));
                l.set_rate(policy.requests_per_second);
                l.clone()
            }
            Err(_) => Arc::new(RateLimiter::new(policy.requests_per_second)),
        };
        HttpClient::new(self.client.clone(), policy, limiter, log)
    }

    pub(crate) fn finished(&self, run: &RunView) {
        if let Ok(hooks) = self.hooks.read() {
            for h in hooks.iter() {
                h(run);
            }
        }
    }

    fn keys(&self) -> std::result::Result<&Keyring, Error> {
        self.keys.as_ref().map_err(|why| {
            Error::Config(vec![megashop_core::error::FieldError::new(
                "integrations.secret_key",
                "unavailable",
                why.clone(),
            )])
        })
    }
}

/// The sync engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) rt: Arc<Runtime>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("plugins", &self.rt.registry)
            .field("node", &self.rt.node)
            .finish_non_exhaustive()
    }
}

/// Which pulls a run makes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// What the plugin can: the catalogue, then stock.
    #[default]
    All,
    /// [`Integration::pull_catalog`].
    PullCatalog,
    /// [`Integration::pull_stock`].
    PullStock,
}

impl Task {
    /// The steps of this task the plugin can do, or a validation error.
    pub(crate) fn steps_for(self, manifest: &crate::Manifest) -> Result<Vec<Capability>> {
        let wanted = match self {
            Task::All => vec![Capability::PullCatalog, Capability::PullStock],
            Task::PullCatalog => vec![Capability::PullCatalog],
            Task::PullStock => vec![Capability::PullStock],
        };
        let steps: Vec<Capability> = wanted.into_iter().filter(|c| manifest.can(*c)).collect();
        if steps.is_empty() {
            let what = match self {
                Task::All => "pulls nothing (no pull_catalog or pull_stock capability)".to_string(),
                t => format!("cannot {}", t.name()),
            };
            return Err(Error::invalid("task", "unsupported_task", format!("plugin {:?} {what}", manifest.id)));
        }
        Ok(steps)
    }

    fn name(self) -> &'static str {
        match self {
            Task::All => "all",
            Task::PullCatalog => "pull_catalog",
            Task::PullStock => "pull_stock",
        }
    }
}

/// A schedule as given: seconds, or text such as `90s`, `15m`, `2h`, `1d`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Schedule {
    /// Seconds.
    Secs(i64),
    /// `<number><s|m|h|d>` or seconds as text.
    Text(String),
}

/// Reads `90`, `90s`, `15m`, `2h` or `1d` as seconds.
pub fn parse_schedule(s: &str) -> Option<i64> {
    let s = s.trim().to_ascii_lowercase();
    let (num, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s.as_str(), "s"),
    };
    let n: i64 = num.parse().ok()?;
    let mult = match unit.trim() {
        "s" | "sec" | "secs" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn schedule_secs(p: &mut Problems, s: &Schedule) -> Option<i64> {
    let secs = match s {
        Schedule::Secs(n) => Some(*n),
        Schedule::Text(t) => parse_schedule(t),
    };
    match secs {
        Some(n) if (MIN_SCHEDULE_SECS..=MAX_SCHEDULE_SECS).contains(&n) => Some(n),
        Some(_) => {
            p.push("schedule", "out_of_range", "must be between 60 seconds and 30 days");
            None
        }
        None => {
            p.push("schedule", "invalid_schedule", "give seconds, or a number with s, m, h or d (15m)");
            None
        }
    }
}

/// Records a problem when a plugin has nothing to run on a schedule (it only answers
/// the other system, like the 1C exchange).
fn not_schedulable(p: &mut Problems, manifest: &crate::Manifest) {
    if Task::All.steps_for(manifest).is_err() {
        p.push(
            "schedule",
            "not_schedulable",
            "this plugin pulls nothing on its own (the other system calls it): it takes no schedule",
        );
    }
}

/// A plugin to set up for a store.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInstance {
    /// The plugin's id (`GET /plugins`).
    pub plugin: String,
    /// Display name; the plugin's name by default.
    pub name: Option<String>,
    /// Settings, as the plugin's schema describes them. Credentials given here are kept
    /// with the credentials.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
    /// Credentials (the schema's `password` fields): stored encrypted, never shown back.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub credentials: Map<String, Value>,
    /// Run on a schedule: seconds or `15m`, `2h`, `1d` (60 s to 30 days). The first run
    /// is due at once.
    pub schedule: Option<Schedule>,
    /// Whether it runs on schedule and serves its routes (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// A change to an instance; absent fields stay as they are.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstancePatch {
    /// New display name.
    pub name: Option<String>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// Settings to change; `null` resets one to its default.
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Map<String, Value>>,
    /// Credentials to change; `null` removes one; `""` or the mask `••••` keeps it.
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<Map<String, Value>>,
    /// New schedule; `null` removes it.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<Schedule>)]
    pub schedule: Option<Option<Schedule>>,
}

fn some<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// An instance as the API and the CLI show it (credentials masked).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Instance {
    /// Instance id.
    pub id: i64,
    /// The plugin's id.
    pub plugin: String,
    /// The plugin's name; `None` when this build does not have the plugin.
    pub plugin_name: Option<String>,
    /// Display name.
    pub name: String,
    /// Runs on schedule and serves its routes.
    pub enabled: bool,
    /// Settings with defaults.
    #[schema(value_type = Object)]
    pub settings: Value,
    /// Each credential that is set, masked (`••••`).
    pub credentials: BTreeMap<String, String>,
    /// Schedule interval in seconds, if scheduled.
    pub schedule_secs: Option<i64>,
    /// When the next scheduled run is due.
    pub next_run_at: Option<DateTime<Utc>>,
    /// A run holds the lock now.
    pub running: bool,
    /// The latest run.
    pub last_run: Option<RunView>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// One run of an instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunView {
    /// Run id.
    pub id: i64,
    /// The plugin's id.
    pub plugin: String,
    /// What started it: `manual`, `schedule`, `webhook`, `exchange`...
    pub trigger: String,
    /// What it does (`pull_catalog`, `pull_catalog+pull_stock`), when known.
    pub task: Option<String>,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Records created.
    pub created: i64,
    /// Records changed.
    pub updated: i64,
    /// Records found unchanged.
    pub unchanged: i64,
    /// Records that failed.
    pub failed: i64,
    /// The plugin's summary.
    pub message: Option<String>,
    /// Why it failed: a stable code (`remote_error`, `http_error`, `abandoned`...).
    pub error_code: Option<String>,
    /// Why it failed, for people.
    pub error_message: Option<String>,
}

impl RunView {
    pub(crate) fn from_row(r: sync_run::Model, plugin: &str) -> RunView {
        RunView {
            id: r.id,
            plugin: plugin.to_string(),
            trigger: r.trigger,
            task: r.task,
            status: r.status,
            started_at: r.started_at,
            finished_at: r.finished_at,
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            failed: r.failed,
            message: r.message,
            error_code: r.error_code,
            error_message: r.error_message,
        }
    }
}

/// One line of a run's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LogLine {
    /// `info`, `warn` or `error`.
    pub level: String,
    /// The remote record it is about.
    pub external_id: Option<String>,
    /// What happened.
    pub message: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A run with its log.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RunDetail {
    /// The run.
    #[serde(flatten)]
    pub run: RunView,
    /// Its log lines, oldest first (at most the number asked for).
    pub log: Vec<LogLine>,
}

/// Why a run could not be started or waited for. Failures of the plugin itself are not
/// here: they are the run's outcome (`status: failed`).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Not found, invalid, or a database failure.
    #[error(transparent)]
    Core(#[from] Error),
    /// The run could not start ([`PluginError::Busy`] when another run holds the lock).
    #[error(transparent)]
    Plugin(#[from] PluginError),
}

fn node_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "megashop".into());
    format!("{}:{}", host.chars().take(100).collect::<String>(), std::process::id())
}

fn aad(tenant_id: i64, plugin_id: &str) -> String {
    format!("integration:{tenant_id}:{plugin_id}")
}

impl Engine {
    /// An engine on `db` with the plugins of `registry`.
    pub fn new(db: DatabaseConnection, registry: Arc<Registry>, keys: Keyring, opts: EngineOptions) -> Engine {
        Engine::build(db, registry, Ok(keys), opts, Vec::new())
    }

    fn build(
        db: DatabaseConnection,
        registry: Arc<Registry>,
        keys: std::result::Result<Keyring, String>,
        opts: EngineOptions,
        hooks: Vec<RunHook>,
    ) -> Engine {
        let client = reqwest::Client::builder()
            .timeout(opts.http_timeout)
            .connect_timeout(opts.http_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("Megashop/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Engine {
            rt: Arc::new(Runtime {
                db,
                registry,
                keys,
                opts,
                node: node_name(),
                limiters: Mutex::default(),
                client,
                hooks: RwLock::new(hooks),
            }),
        }
    }

    /// The engine a configuration describes: keys from `[integrations]` (or derived from
    /// the JWT secret), options from `[integrations]` and `data_dir`. When the keys cannot
    /// be had, the engine still works but refuses to store or read credentials (the
    /// reason is logged and returned as `invalid_config`).
    pub fn from_config(db: DatabaseConnection, registry: Arc<Registry>, cfg: &Config) -> Engine {
        let keys = Keyring::from_config(cfg).map_err(|e| {
            tracing::error!(error = %e, "integration credentials cannot be encrypted or decrypted");
            e.to_string()
        });
        Engine::build(db, registry, keys, EngineOptions::from_config(cfg), Vec::new())
    }

    /// The same engine (keys, options, hooks) with other plugins.
    pub fn with_registry(&self, registry: Arc<Registry>) -> Engine {
        let keys = self.rt.keys.clone();
        let hooks = self.rt.hooks.read().map(|h| h.clone()).unwrap_or_default();
        Engine::build(self.rt.db.clone(), registry, keys, self.rt.opts.clone(), hooks)
    }

    /// Calls `hook` after every run of this engine finishes (the server clears its cache).
    pub fn on_run_finished(&self, hook: RunHook) {
        if let Ok(mut h) = self.rt.hooks.write() {
            h.push(hook);
        }
    }

    /// The plugins this engine knows.
    pub fn registry(&self) -> &Registry {
        &self.rt.registry
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.rt.opts
    }

    /// The database the engine works on.
    pub fn db(&self) -> &DatabaseConnection {
        &self.rt.db
    }

    async fn row(&self, cx: &TenantCx, plugin_id: &str) -> Result<integration::Model> {
        cx.select::<integration::Entity>()
            .filter(integration::Column::PluginId.eq(plugin_id))
            .one(&cx.db)
            .await?
            .ok_or_else(|| Error::NotFound { entity: "integration", key: plugin_id.chars().take(64).collect() })
    }

    fn credentials_of(&self, row: &integration::Model) -> Result<Map<String, Value>> {
        let Some(blob) = row.credentials_encrypted.as_deref() else { return Ok(Map::new()) };
        let plain = self.rt.keys()?.decrypt(blob, &aad(row.tenant_id, &row.plugin_id)).map_err(|e| {
            Error::Config(vec![megashop_core::error::FieldError::new(
                "integrations.secret_key",
                "cannot_decrypt",
                format!("integration {:?}: {e}", row.plugin_id),
            )])
        })?;
        serde_json::from_slice(&plain).map_err(|e| Error::Internal(format!("stored credentials are not JSON: {e}")))
    }

    fn seal(&self, tenant_id: i64, plugin_id: &str, creds: &Map<String, Value>) -> Result<Option<String>> {
        if creds.is_empty() {
            return Ok(None);
        }
        let plain = serde_json::to_vec(creds).map_err(|e| Error::Internal(e.to_string()))?;
        let sealed =
            self.rt.keys()?.encrypt(&plain, &aad(tenant_id, plugin_id)).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(Some(sealed))
    }

    async fn view(&self, cx: &TenantCx, row: integration::Model) -> Result<Instance> {
        let last = cx
            .select::<sync_run::Entity>()
            .filter(sync_run::Column::IntegrationId.eq(row.id))
            .order_by_desc(sync_run::Column::StartedAt)
            .order_by_desc(sync_run::Column::Id)
            .one(&cx.db)
            .await?;
        let manifest = self.rt.registry.manifest(&row.plugin_id);
        let credentials = match row.credentials_encrypted {
            None => BTreeMap::new(),
            Some(_) => match self.credentials_of(&row) {
                Ok(c) => c.keys().map(|k| (k.clone(), MASK.to_string())).collect(),
                Err(_) => BTreeMap::from([("*".to_string(), "cannot be decrypted".to_string())]),
            },
        };
        let settings = serde_json::from_str(&row.settings).unwrap_or_else(|_| Value::Object(Map::new()));
        Ok(Instance {
            id: row.id,
            plugin_name: manifest.map(|m| m.name.clone()),
            last_run: last.map(|r| RunView::from_row(r, &row.plugin_id)),
            running: row.locked_until.is_some_and(|t| t > Utc::now()),
            plugin: row.plugin_id,
            name: row.name,
            enabled: row.enabled,
            settings,
            credentials,
            schedule_secs: row.schedule_secs,
            next_run_at: row.next_run_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// Sets a plugin up for the store: settings checked against its schema (every problem
    /// listed by field), credentials encrypted. One instance per plugin per store
    /// (`integration_taken`).
    pub async fn add(&self, cx: &TenantCx, new: NewInstance) -> Result<Instance> {
        let manifest = self
            .rt
            .registry
            .manifest(&new.plugin)
            .ok_or_else(|| Error::NotFound { entity: "plugin", key: new.plugin.chars().take(64).collect() })?
            .clone();
        let mut p = Problems::default();
        let name = new.name.clone().unwrap_or_else(|| manifest.name.clone());
        validate::text(&mut p, "name", &name, 1, 200);
        let checked = schema::validate(&manifest.config_schema, new.settings, new.credentials, &mut p);
        let schedule = new.schedule.as_ref().and_then(|s| schedule_secs(&mut p, s));
        if schedule.is_some() {
            not_schedulable(&mut p, &manifest);
        }
        p.finish()?;
        if self.row(cx, &manifest.id).await.is_ok() {
            return Err(Error::Taken { field: "integration", value: manifest.id });
        }
        let now = Utc::now();
        let row = integration::ActiveModel {
            tenant_id: Set(cx.id()),
            plugin_id: Set(manifest.id.clone()),
            name: Set(name.trim().to_string()),
            enabled: Set(new.enabled),
            settings: Set(Value::Object(checked.settings).to_string()),
            credentials_encrypted: Set(self.seal(cx.id(), &manifest.id, &checked.credentials)?),
            schedule_secs: Set(schedule),
            next_run_at: Set(schedule.map(|_| now)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&cx.db)
        .await?;
        self.view(cx, row).await
    }

    /// Changes an instance: settings and credentials are merged into the stored ones and
    /// checked again as a whole.
    pub async fn update(&self, cx: &TenantCx, plugin_id: &str, patch: InstancePatch) -> Result<Instance> {
        let row = self.row(cx, plugin_id).await?;
        let schema_value = self.rt.registry.manifest(plugin_id).map(|m| m.config_schema.clone());
        let mut p = Problems::default();
        let mut am: integration::ActiveModel = row.clone().into();
        if let Some(name) = &patch.name {
            validate::text(&mut p, "name", name, 1, 200);
            am.name = Set(name.trim().to_string());
        }
        if let Some(e) = patch.enabled {
            am.enabled = Set(e);
        }
        if patch.settings.is_some() || patch.credentials.is_some() {
            let Some(schema_value) = schema_value else {
                return Err(Error::NotFound { entity: "plugin", key: plugin_id.chars().take(64).collect() });
            };
            let mut settings_patch = patch.settings.unwrap_or_default();
            let mut creds_patch = patch.credentials.unwrap_or_default();
            // A password given among the settings changes the credential.
            for k in schema::credential_keys(&schema_value) {
                if let Some(v) = settings_patch.remove(&k) {
                    creds_patch.entry(k).or_insert(v);
                }
            }
            let mut settings: Map<String, Value> = serde_json::from_str(&row.settings).unwrap_or_default();
            for (k, v) in settings_patch {
                settings.insert(k, v);
            }
            let mut creds = self.credentials_of(&row)?;
            for (k, v) in creds_patch {
                match v.as_str() {
                    Some("") | Some(MASK) => {}
                    _ => {
                        creds.insert(k, v);
                    }
                }
            }
            let mut sp = Problems::default();
            let checked = schema::validate(&schema_value, settings, creds, &mut sp);
            let errs = sp.into_inner();
            if errs.is_empty() {
                am.settings = Set(Value::Object(checked.settings).to_string());
                am.credentials_encrypted = Set(self.seal(cx.id(), plugin_id, &checked.credentials)?);
            }
            for e in errs {
                p.push(e.field, e.code, e.message);
            }
        }
        if let Some(s) = &patch.schedule {
            let now = Utc::now();
            match s.as_ref().map(|s| schedule_secs(&mut p, s)) {
                None => {
                    am.schedule_secs = Set(None);
                    am.next_run_at = Set(None);
                }
                Some(Some(secs)) => {
                    if let Some(m) = self.rt.registry.manifest(plugin_id) {
                        not_schedulable(&mut p, m);
                    }
                    am.schedule_secs = Set(Some(secs));
                    let next = match row.next_run_at {
                        Some(n) if row.schedule_secs.is_some() => n.min(now + chrono::TimeDelta::seconds(secs)),
                        _ => now,
                    };
                    am.next_run_at = Set(Some(next));
                }
                Some(None) => {}
            }
        }
        p.finish()?;
        am.updated_at = Set(Utc::now());
        let row = am.update(&cx.db).await?;
        self.view(cx, row).await
    }

    /// The store's instances, by plugin id.
    pub async fn list(&self, cx: &TenantCx) -> Result<Vec<Instance>> {
        let rows = cx.select::<integration::Entity>().order_by_asc(integration::Column::PluginId).all(&cx.db).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.view(cx, r).await?);
        }
        Ok(out)
    }

    /// The store's instance of `plugin_id` (`integration_not_found`).
    pub async fn get(&self, cx: &TenantCx, plugin_id: &str) -> Result<Instance> {
        let row = self.row(cx, plugin_id).await?;
        self.view(cx, row).await
    }

    /// Removes the store's instance of `plugin_id` with its runs, log, state and
    /// directory (`integration_in_use` while a run holds the lock). The external-id
    /// mapping stays, so adding the plugin again finds the same products.
    pub async fn remove(&self, cx: &TenantCx, plugin_id: &str) -> Result<()> {
        let row = self.row(cx, plugin_id).await?;
        let now = Utc::now();
        let r = cx
            .delete_where::<integration::Entity>(
                integration::Column::Id
                    .eq(row.id)
                    .and(integration::Column::LockedUntil.is_null().or(integration::Column::LockedUntil.lt(now))),
            )
            .exec(&cx.db)
            .await?;
        if r.rows_affected == 0 {
            return Err(Error::InUse { entity: "integration", reason: "a run is in progress".into() });
        }
        let dir = self.data_dir(cx.id(), row.id);
        if dir.exists() {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                tracing::warn!(error = %e, dir = %dir.display(), "cannot remove the integration's directory");
            }
        }
        Ok(())
    }

    fn data_dir(&self, tenant_id: i64, instance_id: i64) -> PathBuf {
        self.rt.opts.data_dir.join("integrations").join(tenant_id.to_string()).join(instance_id.to_string())
    }

    pub(crate) fn context_for(&self, cx: &TenantCx, row: &integration::Model) -> Result<SyncContext> {
        let settings = serde_json::from_str(&row.settings).unwrap_or_else(|_| Value::Object(Map::new()));
        let inst = InstanceCx {
            id: row.id,
            plugin_id: row.plugin_id.clone(),
            settings,
            credentials: self.credentials_of(row)?,
            data_dir: self.data_dir(cx.id(), row.id),
            rt: self.rt.clone(),
        };
        Ok(SyncContext::new(cx.clone(), Arc::new(inst)))
    }

    /// The context of the store's instance of `plugin_id` (no run open), enabled or not.
    /// What tests and the server's plugin routes use.
    pub async fn context(&self, cx: &TenantCx, plugin_id: &str) -> Result<SyncContext> {
        let row = self.row(cx, plugin_id).await?;
        self.context_for(cx, &row)
    }

    /// The context of the store's *enabled* instance of `plugin_id`: what a plugin's
    /// routes and webhooks get (`integration_not_found` when absent or disabled).
    pub async fn enabled_context(&self, cx: &TenantCx, plugin_id: &str) -> Result<SyncContext> {
        let row = self.row(cx, plugin_id).await?;
        if !row.enabled {
            return Err(Error::NotFound { entity: "integration", key: plugin_id.chars().take(64).collect() });
        }
        self.context_for(cx, &row)
    }

    /// The plugin and the context of an instance, for a run of `task`.
    async fn prepare(
        &self,
        cx: &TenantCx,
        plugin_id: &str,
        task: Task,
    ) -> Result<(Arc<dyn Integration>, SyncContext, Vec<Capability>)> {
        let row = self.row(cx, plugin_id).await?;
        let plugin = self
            .rt
            .registry
            .get(plugin_id)
            .ok_or_else(|| Error::NotFound { entity: "plugin", key: plugin_id.chars().take(64).collect() })?;
        let manifest = plugin.manifest();
        let steps = task.steps_for(&manifest)?;
        Ok((plugin, self.context_for(cx, &row)?, steps))
    }

    /// Runs `task` of the store's instance of `plugin_id` now and waits for it: takes the
    /// lock ([`PluginError::Busy`] when held), records the run, calls the plugin, records
    /// the outcome. A failing plugin gives `Ok` with `status: "failed"`. Runs on disabled
    /// instances too (to try a setup before enabling it).
    pub async fn run_now(
        &self,
        cx: &TenantCx,
        plugin_id: &str,
        task: Task,
        trigger: &str,
    ) -> std::result::Result<RunView, RunError> {
        let (_, handle) = self.start_run(cx, plugin_id, task, trigger).await?;
        handle.await.map_err(|e| RunError::Plugin(PluginError::Internal(format!("the run task failed: {e}"))))
    }

    /// Starts a run like [`Engine::run_now`] and returns at once with the run (status
    /// `running`) and a handle that gives the finished run.
    pub async fn start_run(
        &self,
        cx: &TenantCx,
        plugin_id: &str,
        task: Task,
        trigger: &str,
    ) -> std::result::Result<(RunView, tokio::task::JoinHandle<RunView>), RunError> {
        let (plugin, ctx, steps) = self.prepare(cx, plugin_id, task).await?;
        let label = steps.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("+");
        let run_cx = ctx.begin(trigger, Some(&label)).await?;
        let started = RunView {
            id: run_cx.run.unwrap_or_default(),
            plugin: plugin_id.to_string(),
            trigger: trigger.chars().take(32).collect(),
            task: Some(label),
            status: "running".into(),
            started_at: Utc::now(),
            finished_at: None,
            created: 0,
            updated: 0,
            unchanged: 0,
            failed: 0,
            message: None,
            error_code: None,
            error_message: None,
        };
        let fallback = started.clone();
        let handle = tokio::spawn(async move {
            let outcome = execute(plugin, &run_cx, &steps).await;
            match run_cx.finish_run(&outcome).await {
                Ok(v) => v,
                Err(e) => {
                    tracing::error!(error = %e, run = fallback.id, "cannot record the end of a sync run");
                    RunView { status: "failed".into(), error_code: Some(e.code().into()), ..fallback }
                }
            }
        });
        Ok((started, handle))
    }

    /// The latest runs of the store's instance of `plugin_id`, newest first.
    pub async fn runs(&self, cx: &TenantCx, plugin_id: &str, limit: u64) -> Result<Vec<RunView>> {
        let row = self.row(cx, plugin_id).await?;
        let rows = cx
            .select::<sync_run::Entity>()
            .filter(sync_run::Column::IntegrationId.eq(row.id))
            .order_by_desc(sync_run::Column::StartedAt)
            .order_by_desc(sync_run::Column::Id)
            .limit(limit.clamp(1, 1000))
            .all(&cx.db)
            .await?;
        Ok(rows.into_iter().map(|r| RunView::from_row(r, plugin_id)).collect())
    }

    /// One run of the store with the first `log_limit` lines of its log (`run_not_found`).
    pub async fn run(&self, cx: &TenantCx, run_id: i64, log_limit: u64) -> Result<RunDetail> {
        let run = cx
            .select::<sync_run::Entity>()
            .filter(sync_run::Column::Id.eq(run_id))
            .one(&cx.db)
            .await?
            .ok_or_else(|| Error::NotFound { entity: "run", key: run_id.to_string() })?;
        let plugin = cx
            .select::<integration::Entity>()
            .filter(integration::Column::Id.eq(run.integration_id))
            .one(&cx.db)
            .await?
            .map(|i| i.plugin_id)
            .unwrap_or_default();
        let log = self.run_errors(cx, run_id, log_limit).await?;
        Ok(RunDetail { run: RunView::from_row(run, &plugin), log })
    }

    /// The first `limit` lines of a run's log, oldest first.
    pub async fn run_errors(&self, cx: &TenantCx, run_id: i64, limit: u64) -> Result<Vec<LogLine>> {
        let rows = cx
            .select::<sync_error::Entity>()
            .filter(sync_error::Column::RunId.eq(run_id))
            .order_by_asc(sync_error::Column::Id)
            .limit(limit.clamp(1, 100_000))
            .all(&cx.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| LogLine { level: r.level, external_id: r.external_id, message: r.message, at: r.at })
            .collect())
    }
}

/// Calls the plugin for each step on a task of its own (so a panic becomes a failed run),
/// adding up the reports; stops at the first failure.
pub(crate) async fn execute(
    plugin: Arc<dyn Integration>,
    cx: &SyncContext,
    steps: &[Capability],
) -> std::result::Result<SyncReport, PluginError> {
    let mut total = SyncReport::default();
    for (i, step) in steps.iter().enumerate() {
        let (p, c, s) = (plugin.clone(), cx.clone(), *step);
        let r = tokio::spawn(async move {
            match s {
                Capability::PullStock => p.pull_stock(&c).await,
                _ => p.pull_catalog(&c).await,
            }
        })
        .await
        .unwrap_or_else(|e| Err(PluginError::Internal(format!("the plugin's {} stopped: {e}", s.as_str()))));
        match r {
            Ok(report) => {
                if steps.len() > 1 && i + 1 < steps.len() {
                    cx.log()
                        .info(format!(
                            "{}: {} created, {} updated, {} unchanged, {} failed",
                            s.as_str(),
                            report.created,
                            report.updated,
                            report.unchanged,
                            report.failed
                        ))
                        .await;
                }
                total.merge(&report);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}
