//! Typed configuration: defaults, then a TOML file, then `MEGASHOP_*` environment
//! variables (`MEGASHOP_DATABASE__URL` sets `database.url`: sections are separated by a
//! double underscore). [`Config::load`] reports every invalid value with its key.

use crate::error::{Error, FieldError, Result};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A secret string: never printed by `Debug` or `Display`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself; call only where it is used, never to log.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// True when no secret was configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "<unset>" } else { "<redacted>" })
    }
}

/// The whole Megashop configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Directory for the embedded database, generated keys and uploads.
    pub data_dir: PathBuf,
    /// HTTP server settings.
    pub server: ServerConfig,
    /// Database settings.
    pub database: DatabaseConfig,
    /// Token signing settings.
    pub auth: AuthConfig,
    /// Optional Redis (shared cache, rate limits).
    pub redis: RedisConfig,
    /// Logging.
    pub log: LogConfig,
    /// In-process caches.
    pub cache: CacheConfig,
    /// GeoIP database for location-based region routing.
    pub geoip: GeoipConfig,
    /// Delivery of emails and SMS (codes, confirmations).
    pub notify: crate::notify::NotifyConfig,
    /// Integrations (plugins): credential encryption, the scheduler, HTTP retries.
    pub integrations: IntegrationsConfig,
}

/// `[integrations]`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntegrationsConfig {
    /// Key that encrypts integration credentials at rest: 32 bytes, base64. Empty: derived
    /// from the JWT signing secret (`auth.jwt_secret` or `data_dir/jwt.secret`).
    pub secret_key: Secret,
    /// Earlier keys (base64), still used to decrypt credentials they encrypted.
    pub previous_secret_keys: Vec<Secret>,
    /// Run scheduled integrations in this server process.
    pub scheduler: bool,
    /// How often the scheduler looks for due integrations, in seconds.
    pub scheduler_poll_secs: u64,
    /// Scheduled runs this server process runs at once.
    pub scheduler_concurrency: u32,
    /// Lifetime of a run's lock, renewed while the run is alive, in seconds.
    pub lease_secs: u64,
    /// Timeout of one HTTP request of a plugin, in seconds.
    pub http_timeout_secs: u64,
    /// First delay before retrying a failed HTTP request, in milliseconds (it doubles).
    pub retry_base_ms: u64,
    /// Longest total wait for retries of one HTTP request, in seconds.
    pub retry_max_wait_secs: u64,
    /// Log lines kept per run; more are counted, not stored.
    pub max_log_lines: u64,
    /// Largest request body a plugin's own routes accept (1C uploads), in bytes.
    pub max_body_bytes: usize,
}

impl Default for IntegrationsConfig {
    fn default() -> Self {
        IntegrationsConfig {
            secret_key: Secret::default(),
            previous_secret_keys: Vec::new(),
            scheduler: true,
            scheduler_poll_secs: 5,
            scheduler_concurrency: 2,
            lease_secs: 60,
            http_timeout_secs: 30,
            retry_base_ms: 500,
            retry_max_wait_secs: 120,
            max_log_lines: 10_000,
            max_body_bytes: 64 * 1024 * 1024,
        }
    }
}

impl IntegrationsConfig {
    /// Problems of this section, each with its key.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errs = vec![];
        let key_ok = |s: &Secret| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(s.expose().trim()).is_ok_and(|k| k.len() == 32)
        };
        if !self.secret_key.is_empty() && !key_ok(&self.secret_key) {
            errs.push(FieldError::new(
                "integrations.secret_key",
                "invalid_key",
                "must be 32 random bytes in base64 (openssl rand -base64 32)",
            ));
        }
        for (i, k) in self.previous_secret_keys.iter().enumerate() {
            if !key_ok(k) {
                errs.push(FieldError::new(
                    format!("integrations.previous_secret_keys.{i}"),
                    "invalid_key",
                    "must be 32 bytes in base64",
                ));
            }
        }
        for (key, value, lo, hi) in [
            ("integrations.scheduler_poll_secs", self.scheduler_poll_secs, 1, 3600),
            ("integrations.scheduler_concurrency", u64::from(self.scheduler_concurrency), 1, 64),
            ("integrations.lease_secs", self.lease_secs, 1, 3600),
            ("integrations.http_timeout_secs", self.http_timeout_secs, 1, 3600),
            ("integrations.retry_base_ms", self.retry_base_ms, 1, 60_000),
            ("integrations.retry_max_wait_secs", self.retry_max_wait_secs, 0, 3600),
            ("integrations.max_log_lines", self.max_log_lines, 10, 1_000_000),
            ("integrations.max_body_bytes", self.max_body_bytes as u64, 1024, 1 << 40),
        ] {
            if !(lo..=hi).contains(&value) {
                errs.push(FieldError::new(key, "out_of_range", format!("must be between {lo} and {hi}")));
            }
        }
        errs
    }
}

/// `[geoip]`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GeoipConfig {
    /// Path of a MaxMind-format database (GeoLite2/GeoIP2 City or Country, DB-IP Lite).
    /// Empty: `data_dir/GeoLite2-City.mmdb`, watched even while missing.
    pub database: PathBuf,
    /// How often to check whether the file changed (and reload it), in seconds.
    pub reload_check_secs: u64,
}

impl Default for GeoipConfig {
    fn default() -> Self {
        GeoipConfig { database: PathBuf::new(), reload_check_secs: 60 }
    }
}

/// `[server]`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on, `IP:PORT`.
    pub listen: String,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Reverse proxies (IP or CIDR) whose `X-Forwarded-For` / `Forwarded` headers are
    /// believed. Requests from anyone else are located by their socket address.
    pub trusted_proxies: Vec<String>,
}

/// `[database]`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://path?mode=rwc` or `postgres://user:pass@host/db`. Empty: SQLite in `data_dir`.
    pub url: Secret,
    /// Connection pool size.
    pub max_connections: u32,
}

/// `[auth]`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// HS256 signing secret (32+ bytes). Empty: generated once into `data_dir/jwt.secret`.
    pub jwt_secret: Secret,
    /// Earlier signing secrets, still accepted for tokens they signed (each token names its
    /// key by id): rotate by moving the current secret here and setting a new one.
    pub jwt_previous_secrets: Vec<Secret>,
    /// Lifetime of access tokens, in seconds.
    pub access_token_ttl_secs: u64,
    /// Lifetime of refresh tokens (a session unused this long ends), in seconds.
    pub refresh_token_ttl_secs: u64,
    /// Shortest password accepted.
    pub password_min_length: usize,
    /// argon2id memory cost in KiB (OWASP: 19456 with 2 iterations).
    pub argon2_memory_kib: u32,
    /// argon2id iterations.
    pub argon2_iterations: u32,
    /// How long a one-time code (SMS, email) is valid, in seconds.
    pub code_ttl_secs: u64,
    /// Wrong guesses after which a code is locked.
    pub code_max_attempts: u32,
    /// How long an email confirmation or password reset link is valid, in seconds.
    pub link_ttl_secs: u64,
    /// Rate limits on login, code requests and resets.
    pub limits: AuthLimits,
}

/// `[auth.limits]`: at most `*_per_ip` / `*_per_account` attempts per `window_secs`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthLimits {
    /// Window of every limit, in seconds.
    pub window_secs: u64,
    /// Logins (password or code) per client IP.
    pub login_per_ip: u32,
    /// Logins per email or phone.
    pub login_per_account: u32,
    /// Codes and links requested (registration, login, reset) per client IP.
    pub codes_per_ip: u32,
    /// Codes and links requested per email or phone.
    pub codes_per_account: u32,
}

impl Default for AuthLimits {
    fn default() -> Self {
        AuthLimits { window_secs: 900, login_per_ip: 30, login_per_account: 10, codes_per_ip: 20, codes_per_account: 5 }
    }
}

/// `[redis]`
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// `redis://host:port/db`; empty disables Redis.
    pub url: Secret,
}

/// `[log]`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `pretty` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `megashop=debug,sqlx=warn`.
    pub level: String,
}

/// `[cache]`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// How long a catalogue read may be served from memory, in milliseconds (0 disables).
    /// Writes through this server invalidate at once; the TTL bounds staleness across nodes.
    pub catalog_ttl_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("megashop-data"),
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            auth: AuthConfig::default(),
            redis: RedisConfig::default(),
            log: LogConfig::default(),
            cache: CacheConfig::default(),
            geoip: GeoipConfig::default(),
            notify: crate::notify::NotifyConfig::default(),
            integrations: IntegrationsConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: 2 * 1024 * 1024,
            trusted_proxies: vec!["127.0.0.1/32".into(), "::1/128".into()],
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig { url: Secret::default(), max_connections: 16 }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            jwt_secret: Secret::default(),
            jwt_previous_secrets: Vec::new(),
            access_token_ttl_secs: 900,
            refresh_token_ttl_secs: 30 * 86400,
            password_min_length: 8,
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            code_ttl_secs: 300,
            code_max_attempts: 5,
            link_ttl_secs: 86400,
            limits: AuthLimits::default(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { format: "pretty".into(), level: "info".into() }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig { catalog_ttl_ms: 2000 }
    }
}

impl Config {
    /// Loads defaults ← `file` (when given) ← `MEGASHOP_*` env, then validates.
    /// Every problem is reported at once, each with its dotted key.
    pub fn load(file: Option<&Path>) -> Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(Error::Config(vec![FieldError::new(
                    "config",
                    "not_found",
                    format!("configuration file {} does not exist", path.display()),
                )]));
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        fig = fig.merge(
            Env::prefixed("MEGASHOP_")
                .filter(|k| k.as_str().contains("__") || k.as_str().eq_ignore_ascii_case("data_dir"))
                .split("__"),
        );
        let cfg: Config = fig.extract().map_err(|e| {
            Error::Config(
                e.into_iter()
                    .map(|e| {
                        let key = if e.path.is_empty() { "config".to_string() } else { e.path.join(".") };
                        FieldError::new(key, "invalid_value", e.kind.to_string())
                    })
                    .collect(),
            )
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks value ranges and formats; lists every problem with its key.
    pub fn validate(&self) -> Result<()> {
        let mut errs = vec![];
        if self.server.listen.parse::<SocketAddr>().is_err() {
            errs.push(FieldError::new(
                "server.listen",
                "invalid_address",
                format!("{:?} is not an IP:PORT address", self.server.listen),
            ));
        }
        for (i, p) in self.server.trusted_proxies.iter().enumerate() {
            if parse_net(p).is_none() {
                errs.push(FieldError::new(
                    format!("server.trusted_proxies.{i}"),
                    "invalid_cidr",
                    format!("{p:?} is not an IP address or CIDR such as 10.0.0.0/8"),
                ));
            }
        }
        if !self.geoip.database.as_os_str().is_empty() && !self.geoip.database.is_file() {
            errs.push(FieldError::new(
                "geoip.database",
                "not_found",
                format!("{} does not exist (GeoIP routing needs a .mmdb file)", self.geoip.database.display()),
            ));
        }
        if self.server.max_body_bytes < 1024 {
            errs.push(FieldError::new("server.max_body_bytes", "too_small", "must be at least 1024"));
        }
        let url = self.database.url.expose();
        if !(url.is_empty()
            || url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            errs.push(FieldError::new(
                "database.url",
                "unsupported_database",
                "must start with sqlite:, postgres:// or postgresql://",
            ));
        }
        if !(1..=1000).contains(&self.database.max_connections) {
            errs.push(FieldError::new("database.max_connections", "out_of_range", "must be between 1 and 1000"));
        }
        if !self.auth.jwt_secret.is_empty() && self.auth.jwt_secret.expose().len() < 32 {
            errs.push(FieldError::new("auth.jwt_secret", "too_short", "must be at least 32 bytes long"));
        }
        if !(60..=86400 * 30).contains(&self.auth.access_token_ttl_secs) {
            errs.push(FieldError::new(
                "auth.access_token_ttl_secs",
                "out_of_range",
                "must be between 60 and 2592000 seconds",
            ));
        }
        for (i, s) in self.auth.jwt_previous_secrets.iter().enumerate() {
            if s.expose().len() < 32 {
                errs.push(FieldError::new(
                    format!("auth.jwt_previous_secrets.{i}"),
                    "too_short",
                    "must be at least 32 bytes long",
                ));
            }
        }
        let a = &self.auth;
        for (key, value, lo, hi) in [
            ("auth.refresh_token_ttl_secs", a.refresh_token_ttl_secs, 300, 86400 * 365),
            ("auth.password_min_length", a.password_min_length as u64, 6, 64),
            ("auth.argon2_memory_kib", u64::from(a.argon2_memory_kib), 8, 1 << 21),
            ("auth.argon2_iterations", u64::from(a.argon2_iterations), 1, 16),
            ("auth.code_ttl_secs", a.code_ttl_secs, 30, 3600),
            ("auth.code_max_attempts", u64::from(a.code_max_attempts), 1, 20),
            ("auth.link_ttl_secs", a.link_ttl_secs, 300, 86400 * 14),
            ("auth.limits.window_secs", a.limits.window_secs, 1, 86400),
            ("auth.limits.login_per_ip", u64::from(a.limits.login_per_ip), 1, 1_000_000),
            ("auth.limits.login_per_account", u64::from(a.limits.login_per_account), 1, 1_000_000),
            ("auth.limits.codes_per_ip", u64::from(a.limits.codes_per_ip), 1, 1_000_000),
            ("auth.limits.codes_per_account", u64::from(a.limits.codes_per_account), 1, 1_000_000),
        ] {
            if !(lo..=hi).contains(&value) {
                errs.push(FieldError::new(key, "out_of_range", format!("must be between {lo} and {hi}")));
            }
        }
        errs.extend(self.notify.validate());
        errs.extend(self.integrations.validate());
        let r = self.redis.url.expose();
        if !(r.is_empty() || r.starts_with("redis://") || r.starts_with("rediss://")) {
            errs.push(FieldError::new("redis.url", "invalid_url", "must start with redis:// or rediss://"));
        }
        if !matches!(self.log.format.as_str(), "pretty" | "json") {
            errs.push(FieldError::new("log.format", "invalid_value", "must be \"pretty\" or \"json\""));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(errs))
        }
    }

    /// The database URL to use: the configured one, or SQLite inside `data_dir`.
    pub fn database_url(&self) -> String {
        let url = self.database.url.expose();
        if url.is_empty() {
            format!("sqlite://{}?mode=rwc", self.data_dir.join("megashop.db").display())
        } else {
            url.to_string()
        }
    }

    /// The trusted proxy networks (invalid entries were reported by [`Config::validate`]).
    pub fn trusted_proxies(&self) -> Vec<ipnet::IpNet> {
        self.server.trusted_proxies.iter().filter_map(|p| parse_net(p)).collect()
    }

    /// The GeoIP database file: the configured one, else `data_dir/GeoLite2-City.mmdb`
    /// (watched even while it does not exist, so dropping a file there turns GeoIP on).
    pub fn geoip_path(&self) -> PathBuf {
        if self.geoip.database.as_os_str().is_empty() {
            self.data_dir.join("GeoLite2-City.mmdb")
        } else {
            self.geoip.database.clone()
        }
    }

    /// The listen address (validated by [`Config::validate`]).
    pub fn listen_addr(&self) -> Result<SocketAddr> {
        self.server
            .listen
            .parse()
            .map_err(|_| Error::Config(vec![FieldError::new("server.listen", "invalid_address", "not IP:PORT")]))
    }

    /// The JWT secret: configured, or read from (created once in) `data_dir/jwt.secret`.
    pub fn jwt_secret(&self) -> Result<Secret> {
        if !self.auth.jwt_secret.is_empty() {
            return Ok(self.auth.jwt_secret.clone());
        }
        let path = self.data_dir.join("jwt.secret");
        match std::fs::read_to_string(&path) {
            Ok(s) if s.trim().len() >= 32 => Ok(Secret::new(s.trim())),
            // Never replace an existing key silently: that would log every session out.
            Ok(_) => Err(Error::Config(vec![FieldError::new(
                "auth.jwt_secret",
                "too_short",
                format!(
                    "{} holds fewer than 32 characters; put a longer secret there or delete the file",
                    path.display()
                ),
            )])),
            Err(_) => {
                use rand::Rng;
                let secret: String = rand::thread_rng()
                    .sample_iter(&rand::distributions::Alphanumeric)
                    .take(48)
                    .map(char::from)
                    .collect();
                std::fs::create_dir_all(&self.data_dir)
                    .and_then(|_| write_private(&path, &secret))
                    .map_err(|e| Error::Internal(format!("cannot write {}: {e}", path.display())))?;
                Ok(Secret::new(secret))
            }
        }
    }
}

/// Parses `10.0.0.0/8` or a bare address (`127.0.0.1` = `/32`).
pub fn parse_net(s: &str) -> Option<ipnet::IpNet> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>().ok().or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Tests that load a configuration run inside `figment::Jail`: it serialises them with
    // `environment_overrides_the_file`, whose `MEGASHOP_*` variables are process-wide
    // while it runs (they made these tests flaky when run in parallel).

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure signature
    fn every_invalid_value_is_reported_with_its_key() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "m.toml",
                "[server]\nlisten = \"nope\"\n[database]\nurl = \"mysql://x\"\nmax_connections = 0\n[log]\nformat = \"xml\"\n",
            )?;
            let Err(Error::Config(errs)) = Config::load(Some(Path::new("m.toml"))) else {
                panic!("expected config errors")
            };
            let keys: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(keys, ["server.listen", "database.url", "database.max_connections", "log.format"]);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure signature
    fn type_errors_and_unknown_keys_name_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("m.toml", "[database]\nmax_connections = \"many\"\n")?;
            let Err(Error::Config(errs)) = Config::load(Some(Path::new("m.toml"))) else {
                panic!("expected config errors")
            };
            assert_eq!(errs[0].field, "database.max_connections");
            jail.create_file("m.toml", "[databse]\nurl = \"x\"\n")?;
            let Err(Error::Config(errs)) = Config::load(Some(Path::new("m.toml"))) else {
                panic!("expected config errors")
            };
            assert!(errs[0].message.contains("databse"), "{errs:?}");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure signature
    fn environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("m.toml", "[database]\nmax_connections = 5\n")?;
            jail.set_env("MEGASHOP_DATABASE__MAX_CONNECTIONS", "7");
            jail.set_env("MEGASHOP_DATA_DIR", "/srv/megashop");
            jail.set_env("MEGASHOP_TEST_PG_URL", "ignored: not a config key");
            let c = Config::load(Some(Path::new("m.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(c.database.max_connections, 7);
            assert_eq!(c.data_dir, PathBuf::from("/srv/megashop"));
            Ok(())
        });
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let mut c = Config::default();
        c.database.url = Secret::new("postgres://u:hunter2@h/db");
        c.integrations.secret_key = Secret::new("aHVudGVyMmh1bnRlcjJodW50ZXIyaHVudGVyMjEyMzQ=");
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("aHVudGVy"), "{shown}");
    }

    #[test]
    fn integration_keys_must_be_32_bytes_of_base64() {
        let mut c = Config::default();
        c.integrations.secret_key = Secret::new("short");
        c.integrations.previous_secret_keys = vec![Secret::new("AAAA")];
        c.integrations.scheduler_poll_secs = 0;
        let Err(Error::Config(errs)) = c.validate() else { panic!("expected config errors") };
        let keys: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            keys,
            ["integrations.secret_key", "integrations.previous_secret_keys.0", "integrations.scheduler_poll_secs"]
        );
        c.integrations = IntegrationsConfig::default();
        c.integrations.secret_key = Secret::new("aHVudGVyMmh1bnRlcjJodW50ZXIyaHVudGVyMjEyMzQ=");
        assert!(c.validate().is_ok());
    }
}
