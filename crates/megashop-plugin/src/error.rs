//! What a plugin (or the engine around it) can fail with.

/// A failure of a plugin operation or of a run. Each variant has a stable
/// [`PluginError::code`]; the message never contains credentials or URLs with their query
/// (where API keys often travel).
#[derive(thiserror::Error, Debug)]
pub enum PluginError {
    /// The plugin does not implement this operation.
    #[error("the plugin does not support {0}")]
    Unsupported(&'static str),
    /// The instance's settings or credentials are unusable (missing, wrong, undecryptable).
    #[error("configuration: {0}")]
    Config(String),
    /// The remote system answered with an error.
    #[error("remote system{}: {message}", .status.map(|s| format!(" answered {s}")).unwrap_or_default())]
    Remote {
        /// HTTP status, when there was an answer.
        status: Option<u16>,
        /// What went wrong, for people.
        message: String,
    },
    /// The remote system could not be reached (connection, TLS, timeout).
    #[error("HTTP: {0}")]
    Http(String),
    /// The remote data is unusable (bad JSON, missing fields).
    #[error("data: {0}")]
    Data(String),
    /// Another run of this instance holds the lock.
    #[error("another run of this integration is in progress")]
    Busy,
    /// A database failure.
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// Writing to the catalogue failed.
    #[error("catalogue write: {0}")]
    Import(#[from] megashop_io::ImportError),
    /// Anything else (a bug, an I/O failure).
    #[error("internal error: {0}")]
    Internal(String),
}

impl PluginError {
    /// The stable snake_case code (`sync_busy`, `remote_error`...), stored in
    /// `sync_run.error_code` and shown by the API and the CLI.
    pub fn code(&self) -> &'static str {
        match self {
            PluginError::Unsupported(_) => "unsupported",
            PluginError::Config(_) => "integration_config",
            PluginError::Remote { .. } => "remote_error",
            PluginError::Http(_) => "http_error",
            PluginError::Data(_) => "remote_data",
            PluginError::Busy => "sync_busy",
            PluginError::Db(_) => "internal_error",
            PluginError::Import(_) => "import_failed",
            PluginError::Internal(_) => "internal_error",
        }
    }

    /// True for failures that are our fault rather than the remote's or the settings'.
    pub fn is_internal(&self) -> bool {
        matches!(self, PluginError::Db(_) | PluginError::Internal(_))
    }
}

impl From<megashop_core::Error> for PluginError {
    fn from(e: megashop_core::Error) -> Self {
        match e {
            megashop_core::Error::Db(e) => PluginError::Db(e),
            megashop_core::Error::Internal(m) => PluginError::Internal(m),
            megashop_core::Error::Config(_) => PluginError::Config(e.to_string()),
            other => PluginError::Data(other.to_string()),
        }
    }
}

impl From<reqwest::Error> for PluginError {
    fn from(e: reqwest::Error) -> Self {
        // The URL may carry an API key in its query: never in a message.
        let e = e.without_url();
        if e.is_decode() {
            PluginError::Data(e.to_string())
        } else {
            PluginError::Http(e.to_string())
        }
    }
}

impl From<serde_json::Error> for PluginError {
    fn from(e: serde_json::Error) -> Self {
        PluginError::Data(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(PluginError::Busy.code(), "sync_busy");
        assert_eq!(PluginError::Remote { status: Some(503), message: "x".into() }.code(), "remote_error");
        assert_eq!(
            PluginError::Remote { status: Some(503), message: "down".into() }.to_string(),
            "remote system answered 503: down"
        );
        assert_eq!(PluginError::Remote { status: None, message: "down".into() }.to_string(), "remote system: down");
    }
}
