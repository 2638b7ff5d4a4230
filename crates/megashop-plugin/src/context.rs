//! [`SyncContext`]: everything a plugin gets for one store's instance, and the run
//! lifecycle (`begin_run` → work → `finish_run`) with its lock and log.
//!
//! The run lock is a lease on the instance's row: `integration.locked_by` /
//! `locked_until`, taken by one conditional `UPDATE … WHERE locked_until IS NULL OR
//! locked_until < now`, so one run per instance at a time across every server on the
//! database. A heartbeat renews the lease while the run lives; a server that dies leaves
//! a lease that runs out, and the next run takes it over and marks the abandoned run
//! `failed` (`abandoned`).

use crate::engine::{RunView, Runtime};
use crate::error::PluginError;
use crate::http_client::HttpClient;
use crate::refs::Refs;
use crate::state::StateStore;
use crate::SyncReport;
use chrono::Utc;
use megashop_core::entity::{integration, sync_error, sync_run};
use megashop_core::tenancy::TenantCx;
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, QueryFilter, Set};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Longest log message stored, in characters.
const MAX_MESSAGE_CHARS: usize = 2000;

/// The context of one instance (a plugin set up for one store), optionally bound to a
/// run. Cheap to clone. Plugins reach the store only through it.
#[derive(Clone)]
pub struct SyncContext {
    /// The store: the one way to its data (catalogue writes in `catalog.rs`).
    pub(crate) tenant: TenantCx,
    /// The current run, when this context is bound to one.
    pub(crate) run: Option<i64>,
    pub(crate) inst: Arc<InstanceCx>,
    pub(crate) log: SyncLog,
    pub(crate) http: HttpClient,
    pub(crate) lease: Option<Arc<Lease>>,
}

/// What does not change while an instance is used: its identity, settings, credentials.
pub(crate) struct InstanceCx {
    pub(crate) id: i64,
    pub(crate) plugin_id: String,
    pub(crate) settings: Value,
    pub(crate) credentials: Map<String, Value>,
    pub(crate) data_dir: PathBuf,
    pub(crate) rt: Arc<Runtime>,
}

impl std::fmt::Debug for SyncContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncContext")
            .field("tenant_id", &self.tenant.id())
            .field("instance_id", &self.inst.id)
            .field("plugin_id", &self.inst.plugin_id)
            .field("run_id", &self.run)
            .finish_non_exhaustive()
    }
}

impl SyncContext {
    pub(crate) fn new(tenant: TenantCx, inst: Arc<InstanceCx>) -> SyncContext {
        let log = SyncLog::new(tenant.clone(), inst.plugin_id.clone(), None, inst.rt.opts.max_log_lines);
        let http = inst.rt.http_client(&inst, log.clone());
        SyncContext { tenant, run: None, inst, log, http, lease: None }
    }

    /// The store's id.
    pub fn tenant_id(&self) -> i64 {
        self.tenant.id()
    }

    /// The store's slug (for messages and file names).
    pub fn tenant_slug(&self) -> &str {
        &self.tenant.tenant.slug
    }

    /// The instance's id (`integration.id`).
    pub fn instance_id(&self) -> i64 {
        self.inst.id
    }

    /// The plugin's id (`1c`).
    pub fn plugin_id(&self) -> &str {
        &self.inst.plugin_id
    }

    /// The current run, when this context is bound to one ([`SyncContext::begin_run`]).
    pub fn run_id(&self) -> Option<i64> {
        self.run
    }

    /// The instance's settings (a JSON object), checked against the manifest's schema,
    /// with defaults filled in. Credentials are not here.
    pub fn settings(&self) -> &Value {
        &self.inst.settings
    }

    /// One setting as a string, if set and a string.
    pub fn setting_str(&self, key: &str) -> Option<&str> {
        self.inst.settings.get(key).and_then(Value::as_str)
    }

    /// The instance's credentials (the schema's `format: "password"` fields), decrypted.
    pub fn credentials(&self) -> &Map<String, Value> {
        &self.inst.credentials
    }

    /// One credential as a string, if set.
    pub fn credential(&self, key: &str) -> Option<&str> {
        self.inst.credentials.get(key).and_then(Value::as_str)
    }

    /// The HTTP client of this instance: rate limited, retrying, logging retries to the
    /// run log.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The run log (rows in `sync_error` while a run is open; the server log always).
    pub fn log(&self) -> &SyncLog {
        &self.log
    }

    /// External-id mapping of this plugin in this store (`external_ref`, integration =
    /// the plugin id).
    pub fn refs(&self) -> Refs {
        Refs::new(self.tenant.clone(), self.inst.plugin_id.clone())
    }

    /// The instance's small persistent key-value store (`integration_state`), shared by
    /// every server.
    pub fn state(&self) -> StateStore {
        StateStore::new(self.tenant.clone(), self.inst.id)
    }

    /// The instance's own directory, `<data_dir>/integrations/<store id>/<instance id>/`,
    /// created when missing (uploaded exchange files, caches).
    pub fn data_dir(&self) -> Result<PathBuf, PluginError> {
        std::fs::create_dir_all(&self.inst.data_dir)
            .map_err(|e| PluginError::Internal(format!("cannot create {}: {e}", self.inst.data_dir.display())))?;
        Ok(self.inst.data_dir.clone())
    }

    /// Opens a run: takes the instance's lock (a lease in the database, kept alive while
    /// the returned context lives), records a `sync_run` (status `running`) and returns a
    /// context bound to it. [`PluginError::Busy`] when another run holds the lock. Close
    /// it with [`SyncContext::finish_run`]; a run context dropped without it is recorded
    /// as failed (`abandoned`).
    pub async fn begin_run(&self, trigger: &str) -> Result<SyncContext, PluginError> {
        self.begin(trigger, None).await
    }

    pub(crate) async fn begin(&self, trigger: &str, task: Option<&str>) -> Result<SyncContext, PluginError> {
        if self.run.is_some() {
            return Err(PluginError::Internal("this context already has an open run".into()));
        }
        let rt = &self.inst.rt;
        let db = &self.tenant.db;
        let now = Utc::now();
        let nonce: u64 = rand::thread_rng().gen();
        let owner = format!("{}/{nonce:016x}", rt.node);
        let taken = self
            .tenant
            .update_many::<integration::Entity>()
            .col_expr(integration::Column::LockedBy, Expr::value(owner.clone()))
            .col_expr(integration::Column::LockedUntil, Expr::value(now + delta(rt.opts.lease)))
            .filter(integration::Column::Id.eq(self.inst.id))
            .filter(
                Condition::any()
                    .add(integration::Column::LockedUntil.is_null())
                    .add(integration::Column::LockedUntil.lt(now)),
            )
            .exec(db)
            .await?;
        if taken.rows_affected != 1 {
            let exists = self
                .tenant
                .select::<integration::Entity>()
                .filter(integration::Column::Id.eq(self.inst.id))
                .one(db)
                .await?;
            return Err(match exists {
                Some(_) => PluginError::Busy,
                None => PluginError::Config("the integration was removed".into()),
            });
        }
        // We hold the lease, so a run still marked running was left by a server that died
        // (or a context dropped without finish_run).
        self.tenant
            .update_many::<sync_run::Entity>()
            .col_expr(sync_run::Column::Status, Expr::value("failed"))
            .col_expr(sync_run::Column::ErrorCode, Expr::value("abandoned"))
            .col_expr(
                sync_run::Column::ErrorMessage,
                Expr::value("the run stopped without finishing (its server stopped or lost the lock)"),
            )
            .col_expr(sync_run::Column::FinishedAt, Expr::value(now))
            .filter(sync_run::Column::IntegrationId.eq(self.inst.id))
            .filter(sync_run::Column::Status.eq("running"))
            .exec(db)
            .await?;
        let run = sync_run::ActiveModel {
            tenant_id: Set(self.tenant.id()),
            integration_id: Set(self.inst.id),
            trigger: Set(trigger.chars().take(32).collect()),
            task: Set(task.map(str::to_string)),
            status: Set("running".into()),
            started_at: Set(now),
            created: Set(0),
            updated: Set(0),
            unchanged: Set(0),
            failed: Set(0),
            ..Default::default()
        }
        .insert(db)
        .await;
        let run = match run {
            Ok(r) => r,
            Err(e) => {
                release(&self.tenant, self.inst.id, &owner, None).await;
                return Err(e.into());
            }
        };
        let lease = Arc::new(Lease::start(self.tenant.clone(), self.inst.id, run.id, owner, rt.opts.lease));
        let log = SyncLog::new(self.tenant.clone(), self.inst.plugin_id.clone(), Some(run.id), rt.opts.max_log_lines);
        let http = rt.http_client(&self.inst, log.clone());
        tracing::info!(plugin = %self.inst.plugin_id, tenant = self.tenant.id(), run = run.id, trigger, "sync run started");
        Ok(SyncContext {
            tenant: self.tenant.clone(),
            run: Some(run.id),
            inst: self.inst.clone(),
            log,
            http,
            lease: Some(lease),
        })
    }

    /// Closes the run this context is bound to: records its outcome (status `succeeded`
    /// or `failed`, the counts, the error's code and message), releases the lock and sets
    /// the next scheduled run. Calling it again changes nothing.
    pub async fn finish_run(&self, outcome: &Result<SyncReport, PluginError>) -> Result<RunView, PluginError> {
        let (Some(run_id), Some(lease)) = (self.run, self.lease.as_ref()) else {
            return Err(PluginError::Internal("finish_run on a context without a run".into()));
        };
        let db = &self.tenant.db;
        if lease.done.swap(true, Ordering::AcqRel) {
            return self.run_view(run_id).await;
        }
        lease.stop_heartbeat();
        let now = Utc::now();
        let dropped = self.log.dropped();
        if dropped > 0 {
            let note = format!("{dropped} more log lines were not stored (limit {} per run)", self.log.max);
            self.log.store(run_id, "warn", None, note).await;
        }
        let mut am = sync_run::ActiveModel {
            id: sea_orm::ActiveValue::Unchanged(run_id),
            finished_at: Set(Some(now)),
            ..Default::default()
        };
        match outcome {
            Ok(r) => {
                am.status = Set("succeeded".into());
                am.created = Set(clamp(r.created));
                am.updated = Set(clamp(r.updated));
                am.unchanged = Set(clamp(r.unchanged));
                am.failed = Set(clamp(r.failed));
                am.message = Set(r.message.as_ref().map(|m| truncate(m, MAX_MESSAGE_CHARS)));
                tracing::info!(plugin = %self.inst.plugin_id, tenant = self.tenant.id(), run = run_id,
                    created = r.created, updated = r.updated, unchanged = r.unchanged, failed = r.failed, "sync run succeeded");
            }
            Err(e) => {
                am.status = Set("failed".into());
                am.error_code = Set(Some(e.code().into()));
                am.error_message = Set(Some(truncate(&e.to_string(), MAX_MESSAGE_CHARS)));
                if e.is_internal() {
                    tracing::error!(plugin = %self.inst.plugin_id, tenant = self.tenant.id(), run = run_id, error = %e, "sync run failed");
                } else {
                    tracing::warn!(plugin = %self.inst.plugin_id, tenant = self.tenant.id(), run = run_id, error = %e, "sync run failed");
                }
            }
        }
        // Scoped to the store like every write: the run id came from this store's insert.
        let updated = self
            .tenant
            .update_many::<sync_run::Entity>()
            .set(am)
            .filter(sync_run::Column::Id.eq(run_id))
            .exec(db)
            .await;
        let schedule = self
            .tenant
            .select::<integration::Entity>()
            .filter(integration::Column::Id.eq(self.inst.id))
            .one(db)
            .await?
            .and_then(|i| i.schedule_secs);
        release(&self.tenant, self.inst.id, &lease.owner, schedule.map(|s| now + chrono::TimeDelta::seconds(s))).await;
        updated?;
        let view = self.run_view(run_id).await?;
        self.inst.rt.finished(&view);
        Ok(view)
    }

    async fn run_view(&self, run_id: i64) -> Result<RunView, PluginError> {
        let row = self
            .tenant
            .select::<sync_run::Entity>()
            .filter(sync_run::Column::Id.eq(run_id))
            .one(&self.tenant.db)
            .await?
            .ok_or_else(|| PluginError::Internal(format!("run {run_id} vanished")))?;
        Ok(RunView::from_row(row, &self.inst.plugin_id))
    }
}

/// Releases the lease `owner` holds (if it still does) and sets the next scheduled run.
async fn release(tenant: &TenantCx, instance_id: i64, owner: &str, next_run_at: Option<chrono::DateTime<Utc>>) {
    let mut q = tenant
        .update_many::<integration::Entity>()
        .col_expr(integration::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(integration::Column::LockedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None));
    if let Some(at) = next_run_at {
        q = q.col_expr(integration::Column::NextRunAt, Expr::value(at));
    }
    let r = q
        .filter(integration::Column::Id.eq(instance_id))
        .filter(integration::Column::LockedBy.eq(owner))
        .exec(&tenant.db)
        .await;
    if let Err(e) = r {
        tracing::error!(error = %e, instance = instance_id, "cannot release the integration's lock (it runs out by itself)");
    }
}

/// A held run lock: renews itself until the run finishes or the context is dropped.
pub(crate) struct Lease {
    pub(crate) owner: String,
    heartbeat: tokio::task::AbortHandle,
    pub(crate) done: AtomicBool,
    tenant: TenantCx,
    instance_id: i64,
    run_id: i64,
}

impl Lease {
    fn start(tenant: TenantCx, instance_id: i64, run_id: i64, owner: String, lease: Duration) -> Lease {
        let (t, o) = (tenant.clone(), owner.clone());
        let every = (lease / 3).max(Duration::from_millis(50));
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let r = t
                    .update_many::<integration::Entity>()
                    .col_expr(integration::Column::LockedUntil, Expr::value(Utc::now() + delta(lease)))
                    .filter(integration::Column::Id.eq(instance_id))
                    .filter(integration::Column::LockedBy.eq(o.as_str()))
                    .exec(&t.db)
                    .await;
                match r {
                    Ok(r) if r.rows_affected == 1 => {}
                    Ok(_) => {
                        tracing::warn!(
                            instance = instance_id,
                            run = run_id,
                            "sync run lost its lock (it ran out and another run took it)"
                        );
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(instance = instance_id, run = run_id, error = %e, "cannot renew the sync run's lock")
                    }
                }
            }
        });
        Lease { owner, heartbeat: task.abort_handle(), done: AtomicBool::new(false), tenant, instance_id, run_id }
    }

    fn stop_heartbeat(&self) {
        self.heartbeat.abort();
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.heartbeat.abort();
        if self.done.load(Ordering::Acquire) {
            return;
        }
        // The run context went away without finish_run (a panic, a cancelled task, a
        // plugin that forgot): record it and free the lock now rather than when it runs out.
        let (tenant, instance_id, run_id, owner) =
            (self.tenant.clone(), self.instance_id, self.run_id, std::mem::take(&mut self.owner));
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let r = tenant
                    .update_many::<sync_run::Entity>()
                    .col_expr(sync_run::Column::Status, Expr::value("failed"))
                    .col_expr(sync_run::Column::ErrorCode, Expr::value("abandoned"))
                    .col_expr(sync_run::Column::ErrorMessage, Expr::value("the run ended without being finished"))
                    .col_expr(sync_run::Column::FinishedAt, Expr::value(Utc::now()))
                    .filter(sync_run::Column::Id.eq(run_id))
                    .filter(sync_run::Column::Status.eq("running"))
                    .exec(&tenant.db)
                    .await;
                if let Err(e) = r {
                    tracing::warn!(run = run_id, error = %e, "cannot record an abandoned run");
                }
                release(&tenant, instance_id, &owner, None).await;
            });
        }
    }
}

/// A run's log: every line goes to the server log (`tracing`); while a run is open, lines
/// are also stored in `sync_error` for the run (at most `[integrations] max_log_lines`
/// per run; the rest are counted). Writing a line never fails the run.
#[derive(Clone)]
pub struct SyncLog {
    tenant: TenantCx,
    plugin: Arc<str>,
    run: Option<i64>,
    counters: Arc<Counters>,
    max: u64,
}

#[derive(Default)]
struct Counters {
    stored: AtomicU64,
    dropped: AtomicU64,
    errors: AtomicU64,
    warnings: AtomicU64,
}

impl SyncLog {
    fn new(tenant: TenantCx, plugin: String, run: Option<i64>, max: u64) -> SyncLog {
        SyncLog { tenant, plugin: plugin.into(), run, counters: Arc::default(), max }
    }

    /// Progress worth keeping with the run ("312 products read").
    pub async fn info(&self, msg: impl Into<String>) {
        let msg = msg.into();
        tracing::info!(plugin = %self.plugin, tenant = self.tenant.id(), run = self.run, "{msg}");
        self.insert("info", None, msg).await;
    }

    /// Something odd that did not stop anything (a retry, a skipped field).
    pub async fn warn(&self, msg: impl Into<String>) {
        let msg = msg.into();
        self.counters.warnings.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(plugin = %self.plugin, tenant = self.tenant.id(), run = self.run, "{msg}");
        self.insert("warn", None, msg).await;
    }

    /// A record that could not be synced, by its remote id when known.
    pub async fn error(&self, external_id: Option<&str>, msg: impl Into<String>) {
        let msg = msg.into();
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(plugin = %self.plugin, tenant = self.tenant.id(), run = self.run, external_id, "sync error: {msg}");
        self.insert("error", external_id, msg).await;
    }

    /// How many [`SyncLog::error`] lines this run logged.
    pub fn errors(&self) -> u64 {
        self.counters.errors.load(Ordering::Relaxed)
    }

    /// How many [`SyncLog::warn`] lines this run logged.
    pub fn warnings(&self) -> u64 {
        self.counters.warnings.load(Ordering::Relaxed)
    }

    /// Lines not stored because the run reached its limit.
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    async fn insert(&self, level: &str, external_id: Option<&str>, msg: String) {
        let Some(run_id) = self.run else { return };
        let room = self
            .counters
            .stored
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.max).then_some(n + 1))
            .is_ok();
        if !room {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.store(run_id, level, external_id, msg).await;
    }

    /// Stores one line whatever the limit (the note about dropped lines).
    async fn store(&self, run_id: i64, level: &str, external_id: Option<&str>, msg: String) {
        let row = sync_error::ActiveModel {
            run_id: Set(run_id),
            tenant_id: Set(self.tenant.id()),
            level: Set(level.into()),
            external_id: Set(external_id.map(|e| truncate(e, 255))),
            message: Set(truncate(&msg, MAX_MESSAGE_CHARS)),
            at: Set(Utc::now()),
            ..Default::default()
        };
        if let Err(e) = row.insert(&self.tenant.db).await {
            tracing::warn!(run = run_id, error = %e, "cannot store a sync log line");
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A std duration as a chrono one (leases are at most an hour).
pub(crate) fn delta(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::milliseconds(i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 1_000_000))
}
