//! Emails and SMS to people: one-time codes, confirmation links, "your password was
//! changed". Callers [`enqueue`] a message (inside their own transaction, so it is sent
//! only when what it talks about was committed); a worker sends due jobs through the
//! configured providers and retries failures with backoff. Nothing is lost when a provider
//! is down or the server restarts: the job row stays until it is sent or gives up.
//!
//! - [`enqueue`] — add a job (callers);
//! - [`templates`] — the texts, per locale;
//! - [`Provider`] — a way to deliver ([`LogProvider`], [`SmtpProvider`], [`ProstorProvider`]);
//! - [`send_due`] / [`run_worker`] — the worker that claims, sends and retries.
//!
//! Configured by `[notify]` ([`NotifyConfig`]); see `docs/en/configuration.md`.

use crate::entity::notification_job;
use crate::error::Result;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde::{Deserialize, Serialize};

mod config;
mod prostor;
mod provider;
mod smtp;
pub mod templates;
mod worker;

pub use config::{
    EmailConfig, NotifyConfig, ProstorConfig, SmsConfig, SmtpConfig, EMAIL_PROVIDERS, SMS_PROVIDERS, SMTP_TLS_MODES,
};
pub use prostor::ProstorProvider;
pub use provider::{LogProvider, Provider, Rendered, SendError};
pub use smtp::SmtpProvider;
pub use worker::{backoff, run_worker, send_due, Senders, LEASE, MAX_BACKOFF};

/// How a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Email (SMTP, or the log in development).
    Email,
    /// SMS (prostor-sms, or the log in development).
    Sms,
}

impl Channel {
    /// The name stored in `notification_job.channel`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    /// The channel stored as `s` in `notification_job.channel`.
    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            _ => None,
        }
    }
}

/// A message to send: a template and the values it needs.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// The store it is sent for (its name and domain appear in it); `None` for the deployment.
    pub tenant_id: Option<i64>,
    /// Email or SMS.
    pub channel: Channel,
    /// Email address or E.164 phone number.
    pub recipient: String,
    /// Template name (see the templates directory), e.g. `email_confirm`.
    pub template: String,
    /// `ru` or `en`.
    pub locale: String,
    /// Values for the template (`code`, `link`, `store_name`, ...).
    pub payload: serde_json::Value,
}

/// Queues `msg` for sending; returns the job id. Run it in the transaction that makes the
/// message true (the account, the code), so a rollback takes the message with it.
pub async fn enqueue(db: &impl ConnectionTrait, msg: Outgoing) -> Result<i64> {
    let now = chrono::Utc::now();
    let job = notification_job::ActiveModel {
        tenant_id: Set(msg.tenant_id),
        channel: Set(msg.channel.as_str().into()),
        recipient: Set(msg.recipient),
        template: Set(msg.template),
        locale: Set(msg.locale),
        payload: Set(msg.payload.to_string()),
        status: Set("pending".into()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(job.id)
}
