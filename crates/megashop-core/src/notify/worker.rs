//! The delivery worker: claims due `notification_job` rows one at a time, renders them,
//! hands them to a provider and records the outcome.
//!
//! Claiming is safe with several servers on one database. On PostgreSQL the due row is
//! selected `FOR UPDATE SKIP LOCKED` and its `locked_until` set to now + [`LEASE`] in the
//! same transaction; on SQLite (one writer at a time) a conditional
//! `UPDATE … WHERE id = ? AND (locked_until IS NULL OR locked_until < now)` is the claim.
//! A lease that ran out (its server crashed mid-send) makes the job due again. Jobs are
//! claimed one by one rather than a batch at once, so a slow provider never lets the
//! lease of a job still waiting in a batch run out while another server could take it.
//! Delivery is therefore at least once: a server dying after the provider accepted a
//! message but before recording it makes another server send it again.

use super::config::NotifyConfig;
use super::prostor::ProstorProvider;
use super::provider::{DynProvider, LogProvider, Provider, Rendered, SendError};
use super::smtp::SmtpProvider;
use super::{templates, Channel};
use crate::entity::notification_job::{self, Column, Entity};
use crate::error::Result;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait, Unchanged,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long a claimed job stays reserved for the server that claimed it.
pub const LEASE: Duration = Duration::from_secs(60);
/// The longest delay between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Longest `last_error` stored, in characters.
const MAX_ERROR_CHARS: usize = 500;

/// The providers for each channel and the retry policy: what [`send_due`] needs.
#[derive(Clone)]
pub struct Senders {
    email: Arc<dyn DynProvider>,
    sms: Arc<dyn DynProvider>,
    max_attempts: u32,
    backoff_base_secs: u64,
    batch: u32,
}

impl std::fmt::Debug for Senders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Senders")
            .field("max_attempts", &self.max_attempts)
            .field("backoff_base_secs", &self.backoff_base_secs)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl Senders {
    /// The providers `cfg` names (`log`, `smtp`, `prostor`) with its retry policy.
    /// Fails on an invalid configuration (every problem listed) or an unusable SMTP/HTTP
    /// setup.
    pub fn from_config(cfg: &NotifyConfig) -> Result<Senders> {
        let problems = cfg.validate();
        if !problems.is_empty() {
            return Err(crate::Error::Config(problems));
        }
        let email: Arc<dyn DynProvider> = match cfg.email.provider.as_str() {
            "smtp" => Arc::new(SmtpProvider::new(&cfg.email)?),
            "log" => Arc::new(LogProvider),
            _ => return Err(crate::Error::Config(cfg.validate())),
        };
        let sms: Arc<dyn DynProvider> = match cfg.sms.provider.as_str() {
            "prostor" => Arc::new(ProstorProvider::new(&cfg.sms.prostor)?),
            "log" => Arc::new(LogProvider),
            _ => return Err(crate::Error::Config(cfg.validate())),
        };
        Ok(Senders::with_policy(email, sms, cfg))
    }

    /// Given providers (your own, or fakes) with the retry policy of `cfg`.
    pub fn new(email: impl Provider, sms: impl Provider, cfg: &NotifyConfig) -> Senders {
        Senders::with_policy(Arc::new(email), Arc::new(sms), cfg)
    }

    fn with_policy(email: Arc<dyn DynProvider>, sms: Arc<dyn DynProvider>, cfg: &NotifyConfig) -> Senders {
        Senders {
            email,
            sms,
            max_attempts: cfg.max_attempts.max(1),
            backoff_base_secs: cfg.backoff_base_secs.max(1),
            batch: cfg.batch.max(1),
        }
    }

    fn provider(&self, channel: Channel) -> &dyn DynProvider {
        match channel {
            Channel::Email => self.email.as_ref(),
            Channel::Sms => self.sms.as_ref(),
        }
    }
}

/// The delay before the next attempt after the `attempt`-th one failed (1-based):
/// `base`, `2 × base`, `4 × base`… at most [`MAX_BACKOFF`].
pub fn backoff(base_secs: u64, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(32);
    Duration::from_secs(base_secs.saturating_mul(1u64 << doublings).min(MAX_BACKOFF.as_secs()))
}

/// Sends up to one batch (`[notify] batch`) of due jobs and returns how many were
/// attempted (sent, rescheduled or failed). Tests call it directly; servers run
/// [`run_worker`].
pub async fn send_due(db: &DatabaseConnection, senders: &Senders) -> Result<usize> {
    pass(db, senders, None).await
}

async fn pass(db: &DatabaseConnection, senders: &Senders, stop: Option<&watch::Receiver<bool>>) -> Result<usize> {
    let mut done = 0;
    while done < senders.batch as usize {
        if stop.is_some_and(|s| *s.borrow()) {
            break;
        }
        let Some(job) = claim(db).await? else { break };
        process(db, senders, job).await?;
        done += 1;
    }
    Ok(done)
}

/// Runs until `shutdown` turns `true` (or its sender is dropped): sends due jobs, then
/// waits `[notify] poll_interval_ms` when the queue is idle. Fails at once only when the
/// providers of `cfg` cannot be built; database errors are logged and retried.
///
/// ```no_run
/// # async fn demo(db: megashop_core::db::DatabaseConnection, cfg: megashop_core::notify::NotifyConfig) {
/// let (stop, shutdown) = tokio::sync::watch::channel(false);
/// let worker = tokio::spawn(megashop_core::notify::run_worker(db, cfg, shutdown));
/// // ... serve ...
/// let _ = stop.send(true);
/// let _ = worker.await;
/// # }
/// ```
pub async fn run_worker(db: DatabaseConnection, cfg: NotifyConfig, mut shutdown: watch::Receiver<bool>) -> Result<()> {
    let senders = Senders::from_config(&cfg)?;
    if cfg.email.provider == "log" {
        tracing::warn!("notify.email.provider is \"log\": emails are written to the log, not sent");
    }
    if cfg.sms.provider == "log" {
        tracing::warn!("notify.sms.provider is \"log\": SMS are written to the log, not sent");
    }
    tracing::info!(email = %cfg.email.provider, sms = %cfg.sms.provider, "notification worker started");
    let idle = Duration::from_millis(cfg.poll_interval_ms.max(1));
    loop {
        if *shutdown.borrow() {
            break;
        }
        let pause = match pass(&db, &senders, Some(&shutdown)).await {
            Ok(n) if n >= senders.batch as usize => Duration::ZERO,
            Ok(_) => idle,
            Err(e) => {
                tracing::error!(error = %e, "notification worker: cannot work the queue");
                idle.max(Duration::from_secs(5))
            }
        };
        if pause.is_zero() {
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    tracing::info!("notification worker stopped");
    Ok(())
}

/// A short std duration as a chrono one (our durations are at most an hour).
fn delta(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::milliseconds(i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 1_000_000))
}

/// Due: pending, its time has come, and nobody holds a live lease on it.
fn due(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(Column::Status.eq("pending"))
        .add(Column::NextAttemptAt.lte(now))
        .add(Condition::any().add(Column::LockedUntil.is_null()).add(Column::LockedUntil.lt(now)))
}

/// Reserves the next due job for this server, if any.
async fn claim(db: &DatabaseConnection) -> Result<Option<notification_job::Model>> {
    let now = Utc::now();
    let lease = now + delta(LEASE);
    let next = || Entity::find().filter(due(now)).order_by_asc(Column::NextAttemptAt).order_by_asc(Column::Id);
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let txn = db.begin().await?;
            let job = next().lock_with_behavior(LockType::Update, LockBehavior::SkipLocked).one(&txn).await?;
            let Some(mut job) = job else {
                txn.commit().await?;
                return Ok(None);
            };
            Entity::update_many()
                .col_expr(Column::LockedUntil, Expr::value(lease))
                .filter(Column::Id.eq(job.id))
                .exec(&txn)
                .await?;
            txn.commit().await?;
            job.locked_until = Some(lease);
            Ok(Some(job))
        }
        _ => {
            // Another server may claim the row between our SELECT and UPDATE: then the
            // UPDATE changes nothing and we look for the next one.
            for _ in 0..16 {
                let Some(mut job) = next().one(db).await? else { return Ok(None) };
                let claimed = Entity::update_many()
                    .col_expr(Column::LockedUntil, Expr::value(lease))
                    .filter(Column::Id.eq(job.id))
                    .filter(due(now))
                    .exec(db)
                    .await?;
                if claimed.rows_affected == 1 {
                    job.locked_until = Some(lease);
                    return Ok(Some(job));
                }
            }
            Ok(None)
        }
    }
}

/// Renders and sends one claimed job, then records what happened.
async fn process(db: &DatabaseConnection, senders: &Senders, job: notification_job::Model) -> Result<()> {
    let outcome = match Channel::parse(&job.channel) {
        None => Err(SendError::Permanent(format!("unknown channel {:?}", job.channel))),
        Some(channel) => match serde_json::from_str::<serde_json::Value>(&job.payload) {
            Err(e) => Err(SendError::Permanent(format!("payload is not JSON: {e}"))),
            Ok(payload) => match templates::render(channel, &job.template, &job.locale, &payload) {
                Err(e) => Err(SendError::Permanent(e.to_string())),
                Ok(content) => {
                    let msg = Rendered {
                        job_id: job.id,
                        channel,
                        template: job.template.clone(),
                        to: job.recipient.clone(),
                        subject: content.subject,
                        body: content.body,
                    };
                    senders.provider(channel).send_boxed(&msg).await
                }
            },
        },
    };
    record(db, senders, &job, outcome).await
}

/// Stores the outcome of one attempt: sent (payload wiped), rescheduled, or failed.
async fn record(
    db: &DatabaseConnection,
    senders: &Senders,
    job: &notification_job::Model,
    outcome: Result<(), SendError>,
) -> Result<()> {
    let now = Utc::now();
    let attempts = job.attempts.saturating_add(1);
    let mut row = notification_job::ActiveModel {
        id: Unchanged(job.id),
        attempts: Set(attempts),
        locked_until: Set(None),
        ..Default::default()
    };
    let (id, template, channel) = (job.id, job.template.as_str(), job.channel.as_str());
    match outcome {
        Ok(()) => {
            row.status = Set("sent".into());
            row.sent_at = Set(Some(now));
            // The payload may hold a one-time code; the row stays as a record without it.
            row.payload = Set("{}".into());
            row.last_error = Set(None);
            tracing::info!(job = id, template, channel, attempts, "notification sent");
        }
        Err(e) => {
            let error: String = e.to_string().chars().take(MAX_ERROR_CHARS).collect();
            let retry = e.is_retryable() && u32::try_from(attempts).unwrap_or(u32::MAX) < senders.max_attempts;
            if retry {
                let delay = backoff(senders.backoff_base_secs, u32::try_from(attempts).unwrap_or(u32::MAX));
                row.next_attempt_at = Set(now + delta(delay));
                tracing::warn!(
                    job = id,
                    template,
                    channel,
                    attempts,
                    retry_in_secs = delay.as_secs(),
                    error = %error,
                    "notification not sent; will retry"
                );
            } else {
                row.status = Set("failed".into());
                // Nobody will send it now: do not keep a live code or link around.
                row.payload = Set("{}".into());
                tracing::error!(job = id, template, channel, attempts, error = %error, "notification failed; giving up");
            }
            row.last_error = Set(Some(error));
        }
    }
    row.update(db).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let secs = |a| backoff(5, a).as_secs();
        assert_eq!([secs(1), secs(2), secs(3), secs(4)], [5, 10, 20, 40]);
        assert_eq!(secs(10), 2560);
        assert_eq!(secs(11), 3600);
        assert_eq!(secs(1000), 3600);
        assert_eq!(backoff(5, 0).as_secs(), 5);
    }
}
