//! The `[notify]` configuration section: which providers deliver emails and SMS, their
//! credentials, and how the worker retries. Every field has a default, so an empty
//! section gives a working development setup (messages are written to the log).

use crate::config::Secret;
use crate::error::FieldError;
use serde::{Deserialize, Serialize};

/// `[notify]`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// How emails are sent.
    pub email: EmailConfig,
    /// How SMS are sent.
    pub sms: SmsConfig,
    /// Attempts (the first one included) after which a job that keeps failing is given up.
    pub max_attempts: u32,
    /// Delay before the first retry, in seconds; doubles with every failure, at most 1 hour.
    pub backoff_base_secs: u64,
    /// How often the worker looks for due jobs when the queue is idle, in milliseconds.
    pub poll_interval_ms: u64,
    /// Jobs sent per pass of the worker.
    pub batch: u32,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            email: EmailConfig::default(),
            sms: SmsConfig::default(),
            max_attempts: 8,
            backoff_base_secs: 5,
            poll_interval_ms: 1000,
            batch: 20,
        }
    }
}

/// `[notify.email]`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// `log` (development: write messages to the log) or `smtp`.
    pub provider: String,
    /// The `From` of every email, `Name <address>` or a bare address.
    pub from: String,
    /// SMTP server, used when `provider = "smtp"`.
    pub smtp: SmtpConfig,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            provider: "log".into(),
            from: "Megashop <no-reply@localhost>".into(),
            smtp: SmtpConfig::default(),
        }
    }
}

/// `[notify.email.smtp]`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// Host name of the SMTP server (also checked against its TLS certificate).
    pub host: String,
    /// Port: 587 for `starttls`, 465 for `tls`, often 25 for `none`.
    pub port: u16,
    /// Login; empty sends without authentication.
    pub username: String,
    /// Password for `username`.
    pub password: Secret,
    /// `starttls` (upgrade a plain connection; required), `tls` (TLS from the first byte)
    /// or `none` (plain text: only for a relay on the same host or network).
    pub tls: String,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: String::new(),
            port: 587,
            username: String::new(),
            password: Secret::default(),
            tls: "starttls".into(),
        }
    }
}

/// `[notify.sms]`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    /// `log` (development: write messages to the log) or `prostor` (prostor-sms.ru).
    pub provider: String,
    /// prostor-sms account, used when `provider = "prostor"`.
    pub prostor: ProstorConfig,
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig { provider: "log".into(), prostor: ProstorConfig::default() }
    }
}

/// `[notify.sms.prostor]`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProstorConfig {
    /// API address, without a trailing path.
    pub base_url: String,
    /// API login.
    pub login: String,
    /// API password.
    pub password: Secret,
    /// Sender name approved by prostor-sms; empty uses the account's default.
    pub sender: Option<String>,
}

impl Default for ProstorConfig {
    fn default() -> Self {
        ProstorConfig {
            base_url: "https://api.prostor-sms.ru".into(),
            login: String::new(),
            password: Secret::default(),
            sender: None,
        }
    }
}

/// Email provider names [`EmailConfig::provider`] accepts.
pub const EMAIL_PROVIDERS: [&str; 2] = ["log", "smtp"];
/// SMS provider names [`SmsConfig::provider`] accepts.
pub const SMS_PROVIDERS: [&str; 2] = ["log", "prostor"];
/// TLS modes [`SmtpConfig::tls`] accepts.
pub const SMTP_TLS_MODES: [&str; 3] = ["starttls", "tls", "none"];

impl NotifyConfig {
    /// Problems of this section, keyed `notify.*`: every one at once.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let mut push = |key: &str, code: &'static str, message: String| {
            errs.push(FieldError::new(format!("notify.{key}"), code, message));
        };

        let email = &self.email;
        if !EMAIL_PROVIDERS.contains(&email.provider.as_str()) {
            push(
                "email.provider",
                "unknown_provider",
                format!(
                    "{:?} is not an email provider (expected one of: {})",
                    email.provider,
                    EMAIL_PROVIDERS.join(", ")
                ),
            );
        }
        if email.from.parse::<lettre::message::Mailbox>().is_err() {
            push(
                "email.from",
                "invalid_address",
                format!("{:?} is not an address such as \"Shop <no-reply@example.com>\"", email.from),
            );
        }
        let smtp = &email.smtp;
        if !SMTP_TLS_MODES.contains(&smtp.tls.as_str()) {
            push(
                "email.smtp.tls",
                "invalid_value",
                format!("{:?} is not a TLS mode (expected one of: {})", smtp.tls, SMTP_TLS_MODES.join(", ")),
            );
        }
        if email.provider == "smtp" {
            if smtp.host.trim().is_empty() {
                push(
                    "email.smtp.host",
                    "required",
                    "the SMTP server's host name is required when provider = \"smtp\"".into(),
                );
            }
            if smtp.port == 0 {
                push("email.smtp.port", "out_of_range", "must be between 1 and 65535".into());
            }
            if !smtp.username.is_empty() && smtp.password.is_empty() {
                push("email.smtp.password", "required", "a password is required when a username is set".into());
            }
            if smtp.username.is_empty() && !smtp.password.is_empty() {
                push("email.smtp.username", "required", "a username is required when a password is set".into());
            }
        }

        let sms = &self.sms;
        if !SMS_PROVIDERS.contains(&sms.provider.as_str()) {
            push(
                "sms.provider",
                "unknown_provider",
                format!("{:?} is not an SMS provider (expected one of: {})", sms.provider, SMS_PROVIDERS.join(", ")),
            );
        }
        if sms.provider == "prostor" {
            let p = &sms.prostor;
            if !(p.base_url.starts_with("https://") || p.base_url.starts_with("http://")) {
                push("sms.prostor.base_url", "invalid_url", "must start with https:// or http://".into());
            }
            if p.login.trim().is_empty() {
                push("sms.prostor.login", "required", "the API login is required when provider = \"prostor\"".into());
            }
            if p.password.is_empty() {
                push(
                    "sms.prostor.password",
                    "required",
                    "the API password is required when provider = \"prostor\"".into(),
                );
            }
            if p.sender.as_deref().is_some_and(|s| s.trim().is_empty()) {
                push(
                    "sms.prostor.sender",
                    "invalid_value",
                    "must not be blank (leave it out to use the default)".into(),
                );
            }
        }

        for (key, value, lo, hi) in [
            ("max_attempts", u64::from(self.max_attempts), 1, 100),
            ("backoff_base_secs", self.backoff_base_secs, 1, 3600),
            ("poll_interval_ms", self.poll_interval_ms, 50, 600_000),
            ("batch", u64::from(self.batch), 1, 1000),
        ] {
            if !(lo..=hi).contains(&value) {
                push(key, "out_of_range", format!("must be between {lo} and {hi}"));
            }
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(cfg: &NotifyConfig) -> Vec<String> {
        cfg.validate().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(keys(&NotifyConfig::default()), Vec::<String>::new());
    }

    #[test]
    fn every_problem_is_listed_by_key() {
        let mut cfg = NotifyConfig::default();
        cfg.email.provider = "smtp".into();
        cfg.email.from = "not an address".into();
        cfg.email.smtp.tls = "ssl".into();
        cfg.email.smtp.username = "shop".into();
        cfg.sms.provider = "twilio".into();
        cfg.max_attempts = 0;
        cfg.batch = 5000;
        assert_eq!(
            keys(&cfg),
            [
                "notify.email.from",
                "notify.email.smtp.tls",
                "notify.email.smtp.host",
                "notify.email.smtp.password",
                "notify.sms.provider",
                "notify.max_attempts",
                "notify.batch",
            ]
        );
    }

    #[test]
    fn prostor_needs_credentials() {
        let mut cfg = NotifyConfig::default();
        cfg.sms.provider = "prostor".into();
        cfg.sms.prostor.base_url = "api.prostor-sms.ru".into();
        assert_eq!(
            keys(&cfg),
            ["notify.sms.prostor.base_url", "notify.sms.prostor.login", "notify.sms.prostor.password"]
        );
        cfg.sms.prostor.base_url = "https://api.prostor-sms.ru".into();
        cfg.sms.prostor.login = "shop".into();
        cfg.sms.prostor.password = Secret::new("pw");
        assert_eq!(keys(&cfg), Vec::<String>::new());
    }

    #[test]
    fn secrets_are_not_in_debug_output() {
        let mut cfg = NotifyConfig::default();
        cfg.email.smtp.password = Secret::new("smtp-pass-123");
        cfg.sms.prostor.password = Secret::new("sms-pass-456");
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("smtp-pass-123") && !shown.contains("sms-pass-456"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
