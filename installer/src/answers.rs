//! The answers an install needs: from flags, from an answer file (`--answers
//! install.toml`), or from the questions of the interactive mode, in that order of
//! precedence (a flag beats the file). Checked all at once: every missing or bad answer is
//! listed by its flag name.

use megashop_core::config::Secret;
use serde::Deserialize;
use std::path::PathBuf;

/// Where the database comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Db {
    /// The embedded SQLite file in the data directory.
    Sqlite,
    /// An existing PostgreSQL server.
    Postgres(Secret),
    /// PostgreSQL installed from apt, with a role and database created for Megashop.
    InstallPostgres,
}

/// Where Redis comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redis {
    /// No Redis: rate limits are counted in the process.
    None,
    /// An existing Redis.
    Url(Secret),
    /// Redis installed from apt, listening on 127.0.0.1.
    Install,
}

/// How requests pick their region (the store's routing strategies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionMode {
    /// `msk.shop.ru`, then an explicit choice, GeoIP, the default.
    Subdomain,
    /// `shop.ru/msk/…`, then an explicit choice, GeoIP, the default.
    Path,
    /// Only an explicit choice and GeoIP (one address for every region).
    Geoip,
    /// Path, subdomain, explicit choice, GeoIP, default (the built-in order).
    All,
}

impl RegionMode {
    /// The strategies, in order, as `tenant.region_strategies` stores them.
    pub fn strategies(self) -> &'static str {
        match self {
            RegionMode::Subdomain => "subdomain,explicit,geoip,default",
            RegionMode::Path => "path,explicit,geoip,default",
            RegionMode::Geoip => "explicit,geoip,default",
            RegionMode::All => "path,subdomain,explicit,geoip,default",
        }
    }

    /// The answer's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RegionMode::Subdomain => "subdomain",
            RegionMode::Path => "path",
            RegionMode::Geoip => "geoip",
            RegionMode::All => "all",
        }
    }
}

/// Answers as given (flags or the answer file): everything optional, names as the flags.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawAnswers {
    /// Store name (default: the domain).
    pub store_name: Option<String>,
    /// The store's domain (`shop.ru`).
    pub domain: Option<String>,
    /// The first admin's email.
    pub admin_email: Option<String>,
    /// The first admin's password (prefer `admin-password-file`).
    pub admin_password: Option<String>,
    /// A file whose first line is the admin's password.
    pub admin_password_file: Option<PathBuf>,
    /// `sqlite`, a `postgres://` URL, or `install-postgres`.
    pub db: Option<String>,
    /// `none`, a `redis://` URL, or `install-redis`.
    pub redis: Option<String>,
    /// `subdomain`, `path`, `geoip` or `all`.
    pub region_mode: Option<String>,
    /// Code of the first region (`msk`).
    pub region_code: Option<String>,
    /// Name of the first region (`Москва`).
    pub region_name: Option<String>,
    /// Currency of the store (`RUB`).
    pub currency: Option<String>,
    /// Language of the store (`ru`, `en`).
    pub locale: Option<String>,
    /// `IP:PORT` the server listens on (nginx proxies to it).
    pub listen: Option<String>,
    /// Write an nginx site.
    pub nginx: Option<bool>,
    /// Write (and enable) a systemd unit.
    pub systemd: Option<bool>,
    /// Start the service and check `/readyz`.
    pub start: Option<bool>,
    /// Ask certbot for a certificate.
    pub tls: Option<bool>,
}

impl RawAnswers {
    /// Reads an answer file (TOML, keys as the long flags: `admin-email = "…"`).
    pub fn from_file(path: &std::path::Path) -> Result<RawAnswers, crate::Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| crate::Error::Input(vec![format!("--answers: cannot read {}: {e}", path.display())]))?;
        toml::from_str(&text).map_err(|e| crate::Error::Input(vec![format!("--answers {}: {e}", path.display())]))
    }

    /// `self`, with `other`'s answers where `self` has none.
    pub fn or(self, other: RawAnswers) -> RawAnswers {
        RawAnswers {
            store_name: self.store_name.or(other.store_name),
            domain: self.domain.or(other.domain),
            admin_email: self.admin_email.or(other.admin_email),
            admin_password: self.admin_password.or(other.admin_password),
            admin_password_file: self.admin_password_file.or(other.admin_password_file),
            db: self.db.or(other.db),
            redis: self.redis.or(other.redis),
            region_mode: self.region_mode.or(other.region_mode),
            region_code: self.region_code.or(other.region_code),
            region_name: self.region_name.or(other.region_name),
            currency: self.currency.or(other.currency),
            locale: self.locale.or(other.locale),
            listen: self.listen.or(other.listen),
            nginx: self.nginx.or(other.nginx),
            systemd: self.systemd.or(other.systemd),
            start: self.start.or(other.start),
            tls: self.tls.or(other.tls),
        }
    }

    /// The answers checked and completed with defaults; every problem listed by flag.
    pub fn resolve(self) -> Result<Answers, crate::Error> {
        let mut problems = Vec::new();
        let domain = match self.domain.as_deref().map(|d| d.trim().trim_end_matches('.').to_lowercase()) {
            None => {
                problems.push("--domain is required (the store's domain, e.g. shop.ru)".to_string());
                String::new()
            }
            Some(d) => {
                let mut p = megashop_core::error::Problems::default();
                megashop_core::validate::domain(&mut p, "domain", &d);
                if p.finish().is_err() {
                    problems.push(format!("--domain {d:?} is not a domain name such as shop.ru"));
                }
                d
            }
        };
        let admin_email = match self.admin_email.as_deref() {
            None => {
                problems.push("--admin-email is required (the first administrator's login)".to_string());
                String::new()
            }
            Some(e) => match megashop_core::accounts::contact::email("admin-email", e) {
                Ok(e) => e,
                Err(_) => {
                    problems.push(format!("--admin-email {e:?} is not an email address"));
                    String::new()
                }
            },
        };
        let admin_password = match (&self.admin_password, &self.admin_password_file) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(f)) => match std::fs::read_to_string(f) {
                Ok(t) => Some(t.lines().next().unwrap_or_default().to_string()),
                Err(e) => {
                    problems.push(format!("--admin-password-file {}: {e}", f.display()));
                    None
                }
            },
            (None, None) => {
                problems.push("--admin-password or --admin-password-file is required".to_string());
                None
            }
        };
        if let Some(p) = &admin_password {
            if let Err(megashop_core::Error::Validation(v)) =
                megashop_core::accounts::password::check("admin-password", p, 8, &[&admin_email])
            {
                for f in v {
                    problems.push(format!("--admin-password {} ({})", f.message, f.code));
                }
            }
        }
        let db = match self.db.as_deref().unwrap_or("sqlite") {
            "sqlite" => Db::Sqlite,
            "install-postgres" => Db::InstallPostgres,
            u if u.starts_with("postgres://") || u.starts_with("postgresql://") => Db::Postgres(Secret::new(u)),
            other => {
                problems.push(format!(
                    "--db must be sqlite, a postgres:// URL or install-postgres, not {:?}",
                    other.chars().take(40).collect::<String>()
                ));
                Db::Sqlite
            }
        };
        let redis = match self.redis.as_deref().unwrap_or("none") {
            "none" => Redis::None,
            "install-redis" => Redis::Install,
            u if u.starts_with("redis://") || u.starts_with("rediss://") => Redis::Url(Secret::new(u)),
            other => {
                problems.push(format!(
                    "--redis must be none, a redis:// URL or install-redis, not {:?}",
                    other.chars().take(40).collect::<String>()
                ));
                Redis::None
            }
        };
        let region_mode = match self.region_mode.as_deref().unwrap_or("subdomain") {
            "subdomain" => RegionMode::Subdomain,
            "path" => RegionMode::Path,
            "geoip" => RegionMode::Geoip,
            "all" => RegionMode::All,
            other => {
                problems.push(format!("--region-mode must be subdomain, path, geoip or all, not {other:?}"));
                RegionMode::Subdomain
            }
        };
        let region_code = self.region_code.unwrap_or_else(|| "main".into()).trim().to_lowercase();
        let mut p = megashop_core::error::Problems::default();
        megashop_core::validate::region_code(&mut p, "region-code", &region_code);
        if p.finish().is_err() {
            problems.push(format!("--region-code {region_code:?} must be 2–32 lowercase letters, digits or dashes"));
        }
        let currency = self.currency.unwrap_or_else(|| "RUB".into()).trim().to_uppercase();
        let mut p = megashop_core::error::Problems::default();
        megashop_core::validate::currency(&mut p, "currency", &currency);
        if p.finish().is_err() {
            problems.push(format!("--currency {currency:?} is not an ISO 4217 code such as RUB"));
        }
        let locale = self.locale.unwrap_or_else(|| "ru".into());
        if !matches!(locale.as_str(), "ru" | "en") {
            problems.push(format!("--locale must be ru or en, not {locale:?}"));
        }
        let listen = self.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
        if listen.parse::<std::net::SocketAddr>().is_err() {
            problems.push(format!("--listen {listen:?} is not an IP:PORT address such as 127.0.0.1:8080"));
        }
        if !problems.is_empty() {
            return Err(crate::Error::Input(problems));
        }
        let store_name = self.store_name.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| domain.clone());
        Ok(Answers {
            region_name: self.region_name.unwrap_or_else(|| {
                if locale == "ru" {
                    "Основной".into()
                } else {
                    "Main".into()
                }
            }),
            store_name,
            domain,
            admin_email,
            admin_password: Secret::new(admin_password.unwrap_or_default()),
            db,
            redis,
            region_mode,
            region_code,
            currency,
            locale,
            listen,
            nginx: self.nginx.unwrap_or(true),
            systemd: self.systemd.unwrap_or(true),
            start: self.start.unwrap_or(true),
            tls: self.tls.unwrap_or(false),
        })
    }
}

/// Complete, checked answers.
#[derive(Clone, Debug)]
pub struct Answers {
    /// Store name.
    pub store_name: String,
    /// The store's domain, lower case.
    pub domain: String,
    /// The first admin's email (a superadmin, owner of the store).
    pub admin_email: String,
    /// Their password.
    pub admin_password: Secret,
    /// Database.
    pub db: Db,
    /// Redis.
    pub redis: Redis,
    /// Region routing.
    pub region_mode: RegionMode,
    /// First region's code.
    pub region_code: String,
    /// First region's name.
    pub region_name: String,
    /// Currency.
    pub currency: String,
    /// Language.
    pub locale: String,
    /// `IP:PORT` to listen on.
    pub listen: String,
    /// Write an nginx site.
    pub nginx: bool,
    /// Write a systemd unit.
    pub systemd: bool,
    /// Start and check the service.
    pub start: bool,
    /// Request a certificate with certbot.
    pub tls: bool,
}

impl Answers {
    /// The store's slug, from its domain (`shop.ru` → `shop-ru`).
    pub fn slug(&self) -> String {
        let s = megashop_core::validate::slugify(&self.domain);
        if s.is_empty() {
            "shop".into()
        } else {
            s.chars().take(60).collect()
        }
    }
}
