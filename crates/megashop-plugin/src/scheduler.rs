//! Scheduled runs. A server runs [`run`] next to its HTTP listener: every
//! `[integrations] scheduler_poll_secs` it looks, across all stores, for enabled instances
//! with a schedule whose `next_run_at` has come and whose lock is free, takes their lock
//! (the same lease as any run, so two servers never run one instance at once) and runs
//! what the plugin can: the catalogue, then stock. Finishing a run sets `next_run_at` an
//! interval later. At most `scheduler_concurrency` runs at once per server.
//!
//! This is one of the few places that read across stores (like `tenancy::match_host`):
//! it finds due instances, then works on each through its own store's `TenantCx`.

use crate::engine::{execute, Engine, RunView, Task};
use crate::error::PluginError;
use chrono::Utc;
use megashop_core::entity::{integration, tenant};
use megashop_core::tenancy::TenantCx;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// How long in-flight runs may go on after shutdown is asked before they are cut off
/// (and recorded as `abandoned`).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Runs due instances until `shutdown` turns true (or its sender is dropped).
pub async fn run(engine: Engine, mut shutdown: watch::Receiver<bool>) {
    let poll = engine.options().scheduler_poll;
    let slots = Arc::new(Semaphore::new(engine.options().scheduler_concurrency.max(1)));
    let mut tasks: JoinSet<()> = JoinSet::new();
    let mut last_purge = Instant::now();
    tracing::info!(plugins = engine.registry().len(), poll_secs = poll.as_secs(), "integration scheduler started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        while tasks.try_join_next().is_some() {}
        let free = slots.available_permits();
        if free > 0 {
            match start_due(&engine, free).await {
                Ok(started) => {
                    for (fut, permit) in started.into_iter().zip(acquire(&slots, free)) {
                        tasks.spawn(async move {
                            let _permit = permit;
                            fut.await;
                        });
                    }
                }
                Err(e) => tracing::error!(error = %e, "integration scheduler: cannot look for due runs"),
            }
        }
        if last_purge.elapsed() > Duration::from_secs(60) {
            last_purge = Instant::now();
            if let Err(e) = crate::state::purge_expired(engine.db()).await {
                tracing::warn!(error = %e, "cannot purge expired integration state");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            changed = shutdown.changed() => if changed.is_err() { break },
        }
    }
    if !tasks.is_empty() {
        tracing::info!(runs = tasks.len(), "waiting for scheduled integration runs to finish");
        let waited = tokio::time::timeout(SHUTDOWN_GRACE, async { while tasks.join_next().await.is_some() {} }).await;
        if waited.is_err() {
            tracing::warn!(runs = tasks.len(), "stopping scheduled integration runs that did not finish");
            tasks.shutdown().await;
        }
    }
    tracing::info!("integration scheduler stopped");
}

fn acquire(slots: &Arc<Semaphore>, n: usize) -> Vec<tokio::sync::OwnedSemaphorePermit> {
    (0..n).filter_map(|_| slots.clone().try_acquire_owned().ok()).collect()
}

/// Runs every due instance once (up to `limit`) and waits for the runs: one pass of the
/// scheduler, for tests and one-off commands. Returns the finished runs.
pub async fn run_due(engine: &Engine, limit: usize) -> Result<Vec<RunView>, PluginError> {
    let started = start_due(engine, limit).await?;
    let mut out = Vec::new();
    for f in started {
        if let Some(v) = f.await {
            out.push(v);
        }
    }
    Ok(out)
}

type Pending = std::pin::Pin<Box<dyn std::future::Future<Output = Option<RunView>> + Send>>;

/// Takes the lock of up to `limit` due instances and returns their runs, not yet polled.
async fn start_due(engine: &Engine, limit: usize) -> Result<Vec<Pending>, PluginError> {
    let db = engine.db();
    let now = Utc::now();
    let due = integration::Entity::find()
        .filter(integration::Column::Enabled.eq(true))
        .filter(integration::Column::ScheduleSecs.is_not_null())
        .filter(integration::Column::NextRunAt.lte(now))
        .filter(
            Condition::any()
                .add(integration::Column::LockedUntil.is_null())
                .add(integration::Column::LockedUntil.lt(now)),
        )
        .order_by_asc(integration::Column::NextRunAt)
        .limit(limit as u64 * 2)
        .all(db)
        .await?;
    let mut out: Vec<Pending> = Vec::new();
    for row in due {
        if out.len() >= limit {
            break;
        }
        let Some(store) = tenant::Entity::find_by_id(row.tenant_id).one(db).await? else { continue };
        let cx = TenantCx::new(Arc::new(store), db.clone());
        let Some(plugin) = engine.registry().get(&row.plugin_id) else {
            // Not in this build: push it back rather than look at it every few seconds.
            tracing::warn!(plugin = %row.plugin_id, tenant = row.tenant_id, "scheduled integration of a plugin this server does not have");
            postpone(&cx, &row).await;
            continue;
        };
        let steps = match Task::All.steps_for(&plugin.manifest()) {
            Ok(s) => s,
            Err(_) => {
                postpone(&cx, &row).await;
                continue;
            }
        };
        let ctx = match engine.context_for(&cx, &row) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(plugin = %row.plugin_id, tenant = row.tenant_id, error = %e, "cannot prepare a scheduled run");
                postpone(&cx, &row).await;
                continue;
            }
        };
        let label = steps.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("+");
        let run_cx = match ctx.begin("schedule", Some(&label)).await {
            Ok(r) => r,
            Err(PluginError::Busy) => continue,
            Err(e) => {
                tracing::error!(plugin = %row.plugin_id, tenant = row.tenant_id, error = %e, "cannot start a scheduled run");
                continue;
            }
        };
        out.push(Box::pin(async move {
            let outcome = execute(plugin, &run_cx, &steps).await;
            match run_cx.finish_run(&outcome).await {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::error!(error = %e, "cannot record the end of a scheduled run");
                    None
                }
            }
        }));
    }
    Ok(out)
}

/// Moves an instance's next run one interval later.
async fn postpone(cx: &TenantCx, row: &integration::Model) {
    let next = Utc::now() + chrono::TimeDelta::seconds(row.schedule_secs.unwrap_or(3600).max(60));
    let r = cx
        .update_many::<integration::Entity>()
        .col_expr(integration::Column::NextRunAt, Expr::value(next))
        .filter(integration::Column::Id.eq(row.id))
        .exec(&cx.db)
        .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "cannot postpone a scheduled integration");
    }
}
