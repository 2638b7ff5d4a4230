//! The core error type: every failure a user can cause or see, with a stable code.
//!
//! Codes are part of the API contract (documented in `docs/*/api.md`); messages are
//! localized through [`crate::i18n`] using the code as the Fluent message id.

use serde::Serialize;

/// One invalid input value: which field, a stable reason code, and the message args.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Dotted path of the offending field (`variants.0.sku`, `limit`, `database.url`).
    pub field: String,
    /// Stable reason code (`required`, `too_long`, `negative`, `invalid_currency`, ...).
    pub code: &'static str,
    /// Human explanation in English; the localized text is rendered from `code`.
    pub message: String,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code, message: message.into() }
    }
}

/// Everything that can go wrong in a core operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request's `Host` does not belong to any store.
    #[error("no store is served at host {host:?}")]
    UnknownHost { host: String },
    /// A looked-up entity does not exist (in this tenant).
    #[error("{entity} {key:?} not found")]
    NotFound { entity: &'static str, key: String },
    /// A referenced entity (in a body or query) does not exist in this tenant.
    #[error("{field} refers to a {entity} that does not exist: {key}")]
    Reference { field: &'static str, entity: &'static str, key: String },
    /// A unique value (slug, SKU, code, domain) is already used in this tenant.
    #[error("{field} {value:?} is already taken")]
    Taken { field: &'static str, value: String },
    /// One or more input values are invalid.
    #[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Validation(Vec<FieldError>),
    /// The entity cannot be deleted while other rows depend on it.
    #[error("{entity} is still in use: {reason}")]
    InUse { entity: &'static str, reason: String },
    /// No credentials, or credentials that do not verify.
    #[error("authentication required: {reason}")]
    Unauthorized { reason: &'static str },
    /// Valid credentials that do not grant this operation in this store.
    #[error("not allowed")]
    Forbidden,
    /// Too many attempts (logins, codes, resets) from this client or for this account.
    #[error("too many attempts; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// Configuration is invalid; every problem is listed with its key.
    #[error("invalid configuration: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Config(Vec<FieldError>),
    /// A database failure. Never shown to clients beyond "internal error".
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// Any other internal failure (I/O, signing keys...). Never shown to clients verbatim.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result alias for core operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The stable, snake_case error code clients can match on.
    pub fn code(&self) -> String {
        match self {
            Error::UnknownHost { .. } => "unknown_host".into(),
            Error::NotFound { entity, .. } => format!("{entity}_not_found"),
            Error::Reference { entity, .. } => format!("{entity}_not_found"),
            Error::Taken { field, .. } => format!("{field}_taken"),
            Error::Validation(_) => "validation_failed".into(),
            Error::InUse { entity, .. } => format!("{entity}_in_use"),
            Error::Unauthorized { reason } => (*reason).into(),
            Error::Forbidden => "forbidden".into(),
            Error::RateLimited { .. } => "rate_limited".into(),
            Error::Config(_) => "invalid_config".into(),
            Error::Db(_) | Error::Internal(_) => "internal_error".into(),
        }
    }

    /// Fluent message id used to localize this error.
    pub fn message_id(&self) -> &'static str {
        match self {
            Error::UnknownHost { .. } => "unknown-host",
            Error::NotFound { .. } => "not-found",
            Error::Reference { .. } => "reference-not-found",
            Error::Taken { .. } => "taken",
            Error::Validation(_) => "validation-failed",
            Error::InUse { .. } => "in-use",
            Error::Unauthorized { reason } => match *reason {
                "token_expired" => "token-expired",
                "invalid_token" => "invalid-token",
                "invalid_credentials" => "invalid-credentials",
                "invalid_refresh" => "invalid-refresh",
                "refresh_reused" => "refresh-reused",
                "refresh_expired" => "refresh-expired",
                "code_invalid" => "code-invalid",
                "code_expired" => "code-expired",
                "code_locked" => "code-locked",
                "link_invalid" => "link-invalid",
                "not_verified" => "not-verified",
                "account_disabled" => "account-disabled",
                _ => "unauthorized",
            },
            Error::Forbidden => "forbidden",
            Error::RateLimited { .. } => "rate-limited",
            Error::Config(_) => "invalid-config",
            Error::Db(_) | Error::Internal(_) => "internal-error",
        }
    }

    /// Named arguments for the localized message.
    pub fn message_args(&self) -> Vec<(&'static str, String)> {
        match self {
            Error::UnknownHost { host } => vec![("host", host.clone())],
            Error::NotFound { entity, key } => vec![("entity", (*entity).into()), ("key", key.clone())],
            Error::Reference { field, entity, key } => {
                vec![("field", (*field).into()), ("entity", (*entity).into()), ("key", key.clone())]
            }
            Error::Taken { field, value } => vec![("field", (*field).into()), ("value", value.clone())],
            Error::Validation(errs) | Error::Config(errs) => vec![("count", errs.len().to_string())],
            Error::InUse { entity, .. } => vec![("entity", (*entity).into())],
            Error::RateLimited { retry_after_secs } => vec![("seconds", retry_after_secs.to_string())],
            _ => vec![],
        }
    }

    /// Structured details for the client (`error.details`), if any.
    pub fn details(&self) -> Option<serde_json::Value> {
        match self {
            Error::Validation(errs) | Error::Config(errs) => Some(serde_json::json!({ "fields": errs })),
            Error::NotFound { entity, key } => Some(serde_json::json!({ "entity": entity, "key": key })),
            Error::Reference { field, entity, key } => {
                Some(serde_json::json!({ "field": field, "entity": entity, "key": key }))
            }
            Error::Taken { field, value } => Some(serde_json::json!({ "field": field, "value": value })),
            Error::InUse { reason, .. } => Some(serde_json::json!({ "reason": reason })),
            Error::RateLimited { retry_after_secs } => Some(serde_json::json!({ "retry_after": retry_after_secs })),
            _ => None,
        }
    }

    /// True for failures that are the server's fault (logged, 5xx).
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Db(_) | Error::Internal(_))
    }

    /// Shorthand for a single-field validation error.
    pub fn invalid(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, code, message)])
    }
}

/// Collects field errors while validating an input, then fails once with all of them.
#[derive(Default, Debug)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    /// Records one invalid field.
    pub fn push(&mut self, field: impl Into<String>, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }

    /// `Ok(())` when nothing was recorded, otherwise [`Error::Validation`] with everything.
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.0))
        }
    }

    /// The value of `r`, or `None` with its field errors recorded here; other errors
    /// (database, internal) pass through. For checks that report all fields at once.
    pub fn absorb<T>(&mut self, r: Result<T>) -> Result<Option<T>> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(Error::Validation(v)) => {
                self.0.extend(v);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The recorded problems.
    pub fn into_inner(self) -> Vec<FieldError> {
        self.0
    }
}
