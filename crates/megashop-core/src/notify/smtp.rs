//! Email over SMTP (lettre), with STARTTLS, implicit TLS or — for a local relay — none.

use super::config::EmailConfig;
use super::provider::{Provider, Rendered, SendError};
use crate::error::{Error, Result};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// How long one SMTP conversation may take (well under the job's 60 s lease).
const TIMEOUT: Duration = Duration::from_secs(20);

/// SMTP reply codes that mean "your credentials or sender are not accepted": the operator
/// can fix them, so the message is retried rather than dropped.
const RETRY_PERMANENT_CODES: [u16; 4] = [530, 534, 535, 538];

/// Sends emails through the SMTP server of `[notify.email.smtp]`.
pub struct SmtpProvider {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpProvider").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl SmtpProvider {
    /// Builds the transport (no connection is made until the first message).
    pub fn new(cfg: &EmailConfig) -> Result<SmtpProvider> {
        let bad =
            |key: &str, msg: String| Error::Config(vec![crate::error::FieldError::new(key, "invalid_value", msg)]);
        let from: Mailbox =
            cfg.from.parse().map_err(|e| bad("notify.email.from", format!("{:?} is not an address: {e}", cfg.from)))?;
        let s = &cfg.smtp;
        let builder = match s.tls.as_str() {
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)
                .map_err(|e| bad("notify.email.smtp.host", format!("cannot use TLS with {:?}: {e}", s.host)))?,
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                .map_err(|e| bad("notify.email.smtp.host", format!("cannot use STARTTLS with {:?}: {e}", s.host)))?,
            "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
            other => return Err(bad("notify.email.smtp.tls", format!("{other:?} is not starttls, tls or none"))),
        };
        let mut builder = builder.port(s.port).timeout(Some(TIMEOUT));
        if !s.username.is_empty() {
            builder = builder.credentials(Credentials::new(s.username.clone(), s.password.expose().to_string()));
        }
        Ok(SmtpProvider { transport: builder.build(), from })
    }
}

impl Provider for SmtpProvider {
    async fn send(&self, msg: &Rendered) -> Result<(), SendError> {
        let to: Mailbox =
            msg.to.parse().map_err(|e| SendError::Permanent(format!("invalid recipient address {:?}: {e}", msg.to)))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(msg.subject.clone().unwrap_or_default())
            .header(ContentType::TEXT_PLAIN)
            .body(msg.body.clone())
            .map_err(|e| SendError::Permanent(format!("cannot build the email: {e}")))?;
        self.transport.send(email).await.map(|_| ()).map_err(classify)
    }
}

/// Permanent (5xx) replies give up, except authentication problems; everything else —
/// 4xx replies, timeouts, refused connections, TLS trouble — is retried.
fn classify(e: lettre::transport::smtp::Error) -> SendError {
    let text = format!("SMTP: {e}");
    let code = e.status().map(u16::from);
    if e.is_permanent() && !code.is_some_and(|c| RETRY_PERMANENT_CODES.contains(&c)) {
        SendError::Permanent(text)
    } else {
        SendError::Temporary(text)
    }
}
