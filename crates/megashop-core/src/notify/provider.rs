//! What a delivery provider is ([`Provider`]), what it is given ([`Rendered`]) and how it
//! fails ([`SendError`]); plus the `log` provider used in development.

use super::Channel;
use std::future::Future;
use std::pin::Pin;

/// A message ready to go out: rendered text and where to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The `notification_job` id (SMS providers get it as their correlation id).
    pub job_id: i64,
    /// Email or SMS.
    pub channel: Channel,
    /// Template name, for logs.
    pub template: String,
    /// Email address or E.164 phone number.
    pub to: String,
    /// Email subject (`None` for SMS).
    pub subject: Option<String>,
    /// Plain-text body; the whole text of an SMS. May hold a one-time code: never log it
    /// outside the `log` provider.
    pub body: String,
}

/// Why a provider did not deliver a message, and whether trying again later can help.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The provider is down, busy, out of credit or refused our credentials: retry with
    /// backoff (an operator may fix the cause meanwhile).
    #[error("{0}")]
    Temporary(String),
    /// This message can never be delivered (invalid recipient, rejected text): give up now.
    #[error("{0}")]
    Permanent(String),
}

impl SendError {
    /// True when a later attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Temporary(_))
    }
}

/// A way to deliver rendered messages (SMTP, prostor-sms, the log...).
///
/// Implement it with `async fn send(&self, msg: &Rendered) -> Result<(), SendError>`.
/// Errors must not contain secrets (passwords, API keys): they are stored in
/// `notification_job.last_error` and logged.
pub trait Provider: Send + Sync + 'static {
    /// Delivers `msg` or says why not.
    fn send(&self, msg: &Rendered) -> impl Future<Output = Result<(), SendError>> + Send;
}

/// A boxed future, so providers can be chosen at run time (`dyn`).
pub(crate) type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// The object-safe face of [`Provider`].
pub(crate) trait DynProvider: Send + Sync {
    fn send_boxed<'a>(&'a self, msg: &'a Rendered) -> SendFuture<'a>;
}

impl<P: Provider> DynProvider for P {
    fn send_boxed<'a>(&'a self, msg: &'a Rendered) -> SendFuture<'a> {
        Box::pin(self.send(msg))
    }
}

/// Development provider: writes every message, code included, to the log at `info`
/// level instead of sending it. That is its purpose; never configure it in production.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogProvider;

impl Provider for LogProvider {
    async fn send(&self, msg: &Rendered) -> Result<(), SendError> {
        tracing::info!(
            job = msg.job_id,
            channel = msg.channel.as_str(),
            template = %msg.template,
            to = %msg.to,
            subject = msg.subject.as_deref().unwrap_or(""),
            body = %msg.body,
            "notification written to the log (provider \"log\"; not sent)"
        );
        Ok(())
    }
}
