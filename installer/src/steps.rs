//! The steps of an install: planned from what is there, applied in order.

use crate::answers::{Answers, Db, Redis};
use crate::{Error, Layout, SERVICE_USER};
use megashop_core::accounts::{staff, Accounts};
use megashop_core::config::Config;
use megashop_core::tenancy::{self, TenantCx};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a step will do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Make something that is not there.
    Create,
    /// Change what is there; the difference (secrets masked).
    Update(String),
    /// Already as wanted.
    Keep,
    /// Not done, and why (`--root`, `--no-nginx`, …).
    Skip(String),
}

#[derive(Clone, Debug)]
enum Action {
    Dir(PathBuf, u32),
    File {
        path: PathBuf,
        content: String,
        mode: u32,
    },
    Link {
        link: PathBuf,
        target: PathBuf,
    },
    Database,
    Store,
    Admin,
    Command(Vec<String>),
    /// A shell script with extra environment (secrets go there, never on a command line).
    Shell {
        script: String,
        env: Vec<(String, String)>,
    },
    User,
    Start,
    None,
}

/// One step of the plan.
#[derive(Clone, Debug)]
pub struct Step {
    /// What it is about (`config /etc/megashop/megashop.toml`).
    pub name: String,
    /// What it will do.
    pub change: Change,
    action: Action,
}

/// The ordered steps for some answers on some machine.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Steps, in the order they run.
    pub steps: Vec<Step>,
    answers: Answers,
    layout: Layout,
    config: Config,
}

fn step(name: impl Into<String>, change: Change, action: Action) -> Step {
    Step { name: name.into(), change, action }
}

/// Lines of `new` against `old`, as `-`/`+` lines, with secret values masked.
fn diff(old: &str, new: &str) -> String {
    let mask = |l: &str| -> String {
        let t = l.trim_start();
        if ["jwt_secret", "url", "password"].iter().any(|k| t.starts_with(k)) && l.contains('=') {
            match l.split_once('=') {
                Some((k, _)) => format!("{k}= <secret>"),
                None => l.to_string(),
            }
        } else {
            l.to_string()
        }
    };
    let mut out = String::new();
    for change in similar::TextDiff::from_lines(old, new).iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => continue,
        };
        let _ = writeln!(out, "      {sign} {}", mask(change.value().trim_end_matches('\n')));
    }
    out
}

fn file_step(name: &str, path: &Path, content: String, mode: u32) -> Step {
    let change = match std::fs::read_to_string(path) {
        Ok(old) if old == content => Change::Keep,
        Ok(old) => Change::Update(diff(&old, &content)),
        Err(_) => Change::Create,
    };
    step(format!("{name} {}", path.display()), change, Action::File { path: path.to_path_buf(), content, mode })
}

/// The `jwt_secret` of an existing config file, kept across re-runs (a new one would log
/// everyone out).
fn existing_secret(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: toml::Value = toml::from_str(&text).ok()?;
    v.get("auth")?.get("jwt_secret")?.as_str().filter(|s| s.len() >= 32).map(str::to_string)
}

/// The `database.url` of an existing config file.
fn existing_database_url(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: toml::Value = toml::from_str(&text).ok()?;
    v.get("database")?.get("url")?.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

fn random_secret() -> String {
    use rand::Rng;
    rand::thread_rng().sample_iter(&rand::distributions::Alphanumeric).take(48).map(char::from).collect()
}

fn render(name: &str, source: &str, ctx: minijinja::Value) -> Result<String, Error> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template(name, source).map_err(|e| Error::Step { step: name.into(), reason: e.to_string() })?;
    let t = env.get_template(name).map_err(|e| Error::Step { step: name.into(), reason: e.to_string() })?;
    let mut out = t.render(ctx).map_err(|e| Error::Step { step: name.into(), reason: e.to_string() })?;
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// The config file the answers ask for (the secret of an existing one kept).
fn config_text(a: &Answers, l: &Layout) -> Result<String, Error> {
    let secret = existing_secret(&l.config).unwrap_or_else(random_secret);
    let database_url = match &a.db {
        Db::Sqlite => String::new(),
        Db::Postgres(u) => u.expose().to_string(),
        // A generated password, kept across re-runs (it is in the config already).
        Db::InstallPostgres => existing_database_url(&l.config)
            .filter(|u| u.starts_with("postgres://megashop:"))
            .unwrap_or_else(|| format!("postgres://megashop:{}@127.0.0.1:5432/megashop", random_secret())),
    };
    let redis_url = match &a.redis {
        Redis::None => String::new(),
        Redis::Url(u) => u.expose().to_string(),
        Redis::Install => "redis://127.0.0.1:6379/0".into(),
    };
    // The date changes every day: an unchanged install must not rewrite the file for it.
    let date = std::fs::read_to_string(&l.config)
        .ok()
        .and_then(|t| {
            t.lines().next().and_then(|l| l.rsplit_once(" on ").map(|(_, d)| d.trim_end_matches('.').to_string()))
        })
        .unwrap_or_else(chrono_date);
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    render(
        "megashop.toml",
        include_str!("../templates/megashop.toml.j2"),
        minijinja::context! {
            date => date,
            config_path => l.config.display().to_string(),
            data_dir => esc(&l.data_dir.display().to_string()),
            listen => a.listen,
            database_url => esc(&database_url),
            jwt_secret => secret,
            redis_url => esc(&redis_url),
            store_name => esc(&a.store_name),
            domain => a.domain,
        },
    )
}

fn chrono_date() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    // Days since 1970 → a civil date (Howard Hinnant's algorithm).
    let z = (secs / 86400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The configuration the written file will load as (for the database steps).
fn config_of(text: &str) -> Result<Config, Error> {
    let cfg: Config = toml::from_str(text).map_err(|e| Error::Step { step: "config".into(), reason: e.to_string() })?;
    cfg.validate().map_err(|e| Error::Step { step: "config".into(), reason: e.to_string() })?;
    Ok(cfg)
}

impl Plan {
    /// Looks at the machine (files, the database) and plans what `answers` need. Reads
    /// only; the database is opened only if it already exists.
    pub async fn build(answers: Answers, layout: Layout) -> Result<Plan, Error> {
        if layout.staged && matches!(answers.db, Db::InstallPostgres) {
            return Err(Error::Input(vec![
                "--db install-postgres cannot be staged under --root: give --db sqlite or a postgres:// URL".into(),
            ]));
        }
        let a = &answers;
        let l = &layout;
        let real = |what: &str| if l.staged { Change::Skip(format!("--root: {what}")) } else { Change::Create };
        let mut steps = Vec::new();

        let config = config_text(a, l)?;
        let cfg = config_of(&config)?;
        if matches!(a.db, Db::InstallPostgres) {
            // Re-run every time: each part is idempotent, and the role's password must
            // match the one in the config.
            let password = cfg
                .database_url()
                .strip_prefix("postgres://megashop:")
                .and_then(|r| r.split('@').next())
                .unwrap_or_default()
                .to_string();
            let reachable = !l.staged
                && tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    megashop_core::db::connect(&cfg.database_url(), 1),
                )
                .await
                .is_ok_and(|r| r.is_ok());
            steps.push(step(
                "PostgreSQL (apt): role and database megashop, the role's password as in the config",
                if reachable { Change::Keep } else { Change::Create },
                Action::Shell { script: INSTALL_POSTGRES.into(), env: vec![("MEGASHOP_DB_PASSWORD".into(), password)] },
            ));
        }
        if matches!(a.redis, Redis::Install) {
            steps.push(step(
                "install Redis (apt), listening on 127.0.0.1",
                if l.staged {
                    Change::Skip("--root: no packages are installed".into())
                } else if which("redis-server") {
                    Change::Keep
                } else {
                    Change::Create
                },
                Action::Command(vec![
                    "sh".into(),
                    "-c".into(),
                    "DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server".into(),
                ]),
            ));
        }
        steps.push(step(
            format!("system user {SERVICE_USER}"),
            if l.staged {
                Change::Skip("--root: no system user".into())
            } else if user_exists(SERVICE_USER) {
                Change::Keep
            } else {
                Change::Create
            },
            Action::User,
        ));
        for (dir, mode) in [(&l.etc_dir, 0o750), (&l.data_dir, 0o750), (&l.log_dir, 0o750)] {
            let change = if dir.is_dir() { Change::Keep } else { Change::Create };
            steps.push(step(format!("directory {}", dir.display()), change, Action::Dir(dir.clone(), mode)));
        }
        steps.push(file_step("config", &l.config, config, 0o600));

        // The database: migrations, the store, the admin.
        let existing = database_exists(&cfg);
        let conn = if existing { megashop_core::db::connect(&cfg.database_url(), 2).await.ok() } else { None };
        let migrations = match &conn {
            None => Change::Create,
            Some(c) => match megashop_core::db::migration_status(c).await {
                Ok(s) if s.iter().all(|(_, done)| *done) => Change::Keep,
                Ok(s) => Change::Update(format!(
                    "      {} pending: {}\n",
                    s.iter().filter(|(_, d)| !d).count(),
                    s.iter().filter(|(_, d)| !d).map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                )),
                Err(e) => Change::Update(format!("      cannot read the migration status: {e}\n")),
            },
        };
        steps.push(step(format!("database {} and its migrations", db_label(&cfg)), migrations, Action::Database));
        let store = match &conn {
            None => Change::Create,
            Some(c) => store_change(c, a).await,
        };
        steps.push(step(
            format!("store {:?} at {} with region {:?}", a.store_name, a.domain, a.region_code),
            store,
            Action::Store,
        ));
        let admin = match &conn {
            None => Change::Create,
            Some(c) => admin_change(c, a, &cfg).await,
        };
        steps.push(step(
            format!("administrator {} (superadmin, owner of the store)", a.admin_email),
            admin,
            Action::Admin,
        ));
        if let Some(c) = conn {
            let _ = c.close().await;
        }

        if a.systemd {
            let unit = render(
                "megashop.service",
                include_str!("../templates/megashop.service.j2"),
                minijinja::context! {
                    domain => a.domain, user => SERVICE_USER,
                    binary => l.binary.display().to_string(),
                    config_path => l.config.display().to_string(), data_dir => l.data_dir.display().to_string(),
                    log_dir => l.log_dir.display().to_string(),
                    postgres_local => matches!(a.db, Db::InstallPostgres), redis_local => matches!(a.redis, Redis::Install),
                },
            )?;
            steps.push(file_step("systemd unit", &l.unit, unit, 0o644));
            steps.push(step(
                "systemd: daemon-reload, enable megashop",
                real("no init system"),
                Action::Command(vec![
                    "sh".into(),
                    "-c".into(),
                    "systemctl daemon-reload && systemctl enable megashop".into(),
                ]),
            ));
        } else {
            steps.push(step("systemd unit", Change::Skip("--no-systemd".into()), Action::None));
        }
        if a.nginx {
            let site = render(
                "nginx-site.conf",
                include_str!("../templates/nginx-site.conf.j2"),
                minijinja::context! { domain => a.domain, listen => a.listen, tls => a.tls },
            )?;
            steps.push(file_step("nginx site", &l.nginx_site, site, 0o644));
            let linked = std::fs::read_link(&l.nginx_enabled).map(|t| t == l.nginx_site).unwrap_or(false);
            steps.push(step(
                format!("nginx: enable the site ({})", l.nginx_enabled.display()),
                if linked { Change::Keep } else { Change::Create },
                Action::Link { link: l.nginx_enabled.clone(), target: l.nginx_site.clone() },
            ));
            steps.push(step(
                "nginx: check (nginx -t) and reload",
                real("nginx is not reloaded"),
                Action::Command(vec!["sh".into(), "-c".into(), "nginx -t && systemctl reload nginx".into()]),
            ));
            if a.tls {
                steps.push(step(
                    format!("TLS certificate for {0} and www.{0} (certbot)", a.domain),
                    real("no certificate is requested"),
                    Action::Command(vec![
                        "certbot".into(),
                        "--nginx".into(),
                        "--non-interactive".into(),
                        "--agree-tos".into(),
                        "-m".into(),
                        a.admin_email.clone(),
                        "-d".into(),
                        a.domain.clone(),
                        "-d".into(),
                        format!("www.{}", a.domain),
                    ]),
                ));
            }
        } else {
            steps.push(step("nginx site", Change::Skip("--no-nginx".into()), Action::None));
        }
        steps.push(step(
            format!("start megashop and check http://{}/readyz", a.listen),
            if !a.start {
                Change::Skip("--no-start".into())
            } else if l.staged {
                Change::Skip("--root: the service is not started".into())
            } else if !a.systemd {
                Change::Skip("--no-systemd: start it yourself".into())
            } else {
                Change::Create
            },
            Action::Start,
        ));
        Ok(Plan { steps, answers, layout, config: cfg })
    }

    /// The store's domain.
    pub fn domain(&self) -> &str {
        &self.answers.domain
    }

    /// True when every step is `keep` or `skip`.
    pub fn is_noop(&self) -> bool {
        self.steps.iter().all(|s| matches!(s.change, Change::Keep | Change::Skip(_)))
    }

    /// The plan as a person reads it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Plan for {} ({}){}:",
            self.answers.domain,
            self.answers.store_name,
            if self.layout.staged { format!(", staged under {}", self.layout.root.display()) } else { String::new() }
        );
        for s in &self.steps {
            let (mark, word) = match &s.change {
                Change::Create => ('+', "create"),
                Change::Update(_) => ('~', "change"),
                Change::Keep => ('=', "keep  "),
                Change::Skip(_) => ('-', "skip  "),
            };
            let _ = write!(out, "  {mark} {word} {}", s.name);
            if let Change::Skip(why) = &s.change {
                let _ = write!(out, " ({why})");
            }
            out.push('\n');
            if let Change::Update(d) = &s.change {
                out.push_str(d);
            }
        }
        if self.is_noop() {
            out.push_str("Nothing to change: the installation already matches these answers.\n");
        }
        out
    }

    /// Runs the steps that change something, reporting each through `progress`. Stops at
    /// the first failure (the steps before it stay done).
    pub async fn apply(&self, mut progress: impl FnMut(&Step)) -> Result<(), Error> {
        let fail = |s: &Step, reason: String| Error::Step { step: s.name.clone(), reason };
        let mut conn: Option<megashop_core::db::DatabaseConnection> = None;
        for s in &self.steps {
            if matches!(s.change, Change::Keep | Change::Skip(_)) {
                continue;
            }
            match &s.action {
                Action::Database => {
                    if let Some(dir) = sqlite_dir(&self.config) {
                        std::fs::create_dir_all(dir).map_err(|e| fail(s, e.to_string()))?;
                    }
                    let c = megashop_core::db::connect(&self.config.database_url(), 2)
                        .await
                        .map_err(|e| fail(s, e.to_string()))?;
                    megashop_core::db::migrate_up(&c).await.map_err(|e| fail(s, e.to_string()))?;
                    conn = Some(c);
                }
                Action::None => {}
                Action::Dir(dir, mode) => {
                    std::fs::create_dir_all(dir).map_err(|e| fail(s, e.to_string()))?;
                    set_mode(dir, *mode).map_err(|e| fail(s, e.to_string()))?;
                    if !self.layout.staged {
                        chown_service_user(dir);
                    }
                }
                Action::File { path, content, mode } => {
                    write_atomic(path, content, *mode).map_err(|e| fail(s, e.to_string()))?;
                    if !self.layout.staged && *path == self.layout.config {
                        // Mode 0600, owned by the account the service runs as.
                        chown_service_user(path);
                    }
                }
                Action::Link { link, target } => {
                    if let Some(dir) = link.parent() {
                        std::fs::create_dir_all(dir).map_err(|e| fail(s, e.to_string()))?;
                    }
                    let _ = std::fs::remove_file(link);
                    symlink(target, link).map_err(|e| fail(s, e.to_string()))?;
                }
                Action::Store | Action::Admin => {
                    if conn.is_none() {
                        let c = megashop_core::db::connect(&self.config.database_url(), 2)
                            .await
                            .map_err(|e| fail(s, e.to_string()))?;
                        megashop_core::db::migrate_up(&c).await.map_err(|e| fail(s, e.to_string()))?;
                        conn = Some(c);
                    }
                    let Some(c) = &conn else { return Err(fail(s, "no database".into())) };
                    if matches!(s.action, Action::Store) {
                        ensure_store(c, &self.answers).await.map_err(|e| fail(s, e.to_string()))?;
                    } else {
                        ensure_admin(c, &self.answers, &self.config).await.map_err(|e| fail(s, e.to_string()))?;
                    }
                }
                Action::Command(argv) => run(argv).map_err(|e| fail(s, e))?,
                Action::Shell { script, env } => {
                    let out = std::process::Command::new("sh")
                        .arg("-c")
                        .arg(script)
                        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                        .output()
                        .map_err(|e| fail(s, e.to_string()))?;
                    if !out.status.success() {
                        let err = String::from_utf8_lossy(&out.stderr);
                        return Err(fail(s, err.lines().last().unwrap_or("").trim().to_string()));
                    }
                }
                Action::User => run(&[
                    "useradd".into(),
                    "--system".into(),
                    "--home-dir".into(),
                    self.layout.data_dir.display().to_string(),
                    "--shell".into(),
                    "/usr/sbin/nologin".into(),
                    SERVICE_USER.into(),
                ])
                .map_err(|e| fail(s, e))?,
                Action::Start => {
                    run(&["systemctl".into(), "restart".into(), "megashop".into()]).map_err(|e| fail(s, e))?;
                    wait_ready(&self.answers.listen).await.map_err(|e| fail(s, e))?;
                }
            }
            progress(s);
        }
        if let Some(c) = conn {
            let _ = c.close().await;
        }
        Ok(())
    }
}

/// Installs PostgreSQL if missing, creates the role and database `megashop` if missing,
/// and sets the role's password from `$MEGASHOP_DB_PASSWORD` (read by psql from stdin, so
/// it never appears in a process list).
const INSTALL_POSTGRES: &str = "set -e
command -v psql >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
systemctl start postgresql 2>/dev/null || true
runuser -u postgres -- psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='megashop'\" | grep -q 1 \\
    || runuser -u postgres -- createuser --login megashop
printf \"ALTER ROLE megashop WITH LOGIN PASSWORD '%s';\\n\" \"$MEGASHOP_DB_PASSWORD\" | runuser -u postgres -- psql -q -v ON_ERROR_STOP=1
runuser -u postgres -- psql -tAc \"SELECT 1 FROM pg_database WHERE datname='megashop'\" | grep -q 1 \\
    || runuser -u postgres -- createdb -O megashop megashop";

fn which(cmd: &str) -> bool {
    std::env::var_os("PATH").map(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file())).unwrap_or(false)
}

fn user_exists(name: &str) -> bool {
    std::fs::read_to_string("/etc/passwd")
        .map(|t| t.lines().any(|l| l.split(':').next() == Some(name)))
        .unwrap_or(false)
}

fn run(argv: &[String]) -> Result<(), String> {
    let Some((cmd, args)) = argv.split_first() else { return Ok(()) };
    let out = std::process::Command::new(cmd).args(args).output().map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!("{cmd} exited with {}: {}", out.status, err.lines().last().unwrap_or("").trim()))
    }
}

async fn wait_ready(listen: &str) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for _ in 0..60 {
        if let Ok(mut s) = tokio::net::TcpStream::connect(listen).await {
            let req = format!("GET /readyz HTTP/1.1\r\nHost: {listen}\r\nConnection: close\r\n\r\n");
            if s.write_all(req.as_bytes()).await.is_ok() {
                let mut buf = Vec::new();
                let _ = s.read_to_end(&mut buf).await;
                if buf.starts_with(b"HTTP/1.1 200") {
                    return Ok(());
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Err(format!("http://{listen}/readyz did not answer 200 within 30 s: see journalctl -u megashop"))
}

fn db_label(cfg: &Config) -> String {
    let url = cfg.database_url();
    if url.starts_with("sqlite") {
        format!("SQLite {}/megashop.db", cfg.data_dir.display())
    } else {
        "PostgreSQL".into()
    }
}

fn sqlite_dir(cfg: &Config) -> Option<PathBuf> {
    cfg.database_url().starts_with("sqlite").then(|| cfg.data_dir.clone())
}

fn database_exists(cfg: &Config) -> bool {
    match sqlite_dir(cfg) {
        Some(dir) => dir.join("megashop.db").is_file(),
        None => true,
    }
}

/// What the store step would change.
async fn store_change(c: &megashop_core::db::DatabaseConnection, a: &Answers) -> Change {
    let Ok(t) = tenancy::by_slug(c, &a.slug()).await else { return Change::Create };
    let cx = TenantCx::new(Arc::new(t.clone()), c.clone());
    let mut d = String::new();
    let domains = tenancy::domains(c, &t).await.unwrap_or_default();
    if !domains.contains(&a.domain) {
        let _ = writeln!(d, "      + domain {}", a.domain);
    }
    if t.name != a.store_name {
        let _ = writeln!(d, "      - name {:?}\n      + name {:?}", t.name, a.store_name);
    }
    if t.region_strategies != a.region_mode.strategies() {
        let _ = writeln!(
            d,
            "      - region routing {}\n      + region routing {}",
            t.region_strategies,
            a.region_mode.strategies()
        );
    }
    if megashop_core::regions::get(&cx, &a.region_code).await.is_err() {
        let _ = writeln!(d, "      + region {} ({})", a.region_code, a.region_name);
    }
    if d.is_empty() {
        Change::Keep
    } else {
        Change::Update(d)
    }
}

/// Creates or completes the store: domain, name, routing, first region (with a price type
/// and a warehouse named after it).
async fn ensure_store(c: &megashop_core::db::DatabaseConnection, a: &Answers) -> megashop_core::Result<()> {
    use megashop_core::catalog::{inventory, pricing};
    let t = match tenancy::by_slug(c, &a.slug()).await {
        Ok(t) => t,
        Err(_) => {
            tenancy::create(
                c,
                tenancy::NewTenant {
                    slug: a.slug(),
                    name: a.store_name.clone(),
                    domains: vec![a.domain.clone()],
                    default_locale: a.locale.clone(),
                    default_currency: a.currency.clone(),
                },
            )
            .await?
        }
    };
    let mut t = t;
    let domains = tenancy::domains(c, &t).await?;
    if !domains.contains(&a.domain) {
        tenancy::add_domain(c, &t, &a.domain).await?;
    }
    if t.name != a.store_name {
        t = tenancy::rename(c, t, &a.store_name).await?;
    }
    let cx = TenantCx::new(Arc::new(t), c.clone());
    if cx.tenant.region_strategies != a.region_mode.strategies() {
        megashop_core::regions::set_strategies(
            &cx,
            &megashop_core::regions::parse_strategies(a.region_mode.strategies()),
        )
        .await?;
    }
    if megashop_core::regions::get(&cx, &a.region_code).await.is_err() {
        if pricing::row_by_code(&cx, "retail").await.is_err() {
            pricing::create(
                &cx,
                pricing::NewPriceType {
                    code: "retail".into(), name: "Розница".into(), currency: a.currency.clone()
                },
            )
            .await?;
        }
        if inventory::row_by_code(&cx, &a.region_code).await.is_err() {
            inventory::create(
                &cx,
                inventory::NewWarehouse { code: a.region_code.clone(), name: a.region_name.clone() },
            )
            .await?;
        }
        megashop_core::regions::create(
            &cx,
            megashop_core::regions::NewRegion {
                code: a.region_code.clone(),
                name: a.region_name.clone(),
                name_en: None,
                price_type: "retail".into(),
                warehouses: vec![a.region_code.clone()],
                parent: None,
                is_default: true,
                position: None,
                geo: Default::default(),
            },
        )
        .await?;
    }
    Ok(())
}

fn accounts_for(cfg: &Config) -> megashop_core::Result<Accounts> {
    Accounts::new(&cfg.auth, &cfg.jwt_secret()?, Arc::new(megashop_core::limits::Limiter::memory()))
}

/// What the admin step would change.
async fn admin_change(c: &megashop_core::db::DatabaseConnection, a: &Answers, cfg: &Config) -> Change {
    let Ok(Some(acc)) = staff::by_email(c, &a.admin_email).await else { return Change::Create };
    let Ok(accounts) = accounts_for(cfg) else { return Change::Create };
    let mut d = String::new();
    if !acc.is_superadmin {
        let _ = writeln!(d, "      + superadmin");
    }
    if !accounts.verify_password(a.admin_password.expose(), acc.password_hash.as_deref()).await.unwrap_or(false) {
        let _ = writeln!(d, "      ~ password");
    }
    if let Ok(t) = tenancy::by_slug(c, &a.slug()).await {
        let cx = TenantCx::new(Arc::new(t), c.clone());
        use sea_orm::{ColumnTrait, QueryFilter};
        let role = cx
            .select::<megashop_core::entity::staff_role::Entity>()
            .filter(megashop_core::entity::staff_role::Column::AccountId.eq(acc.id))
            .one(c)
            .await
            .ok()
            .flatten();
        if role.map(|r| r.role) != Some("owner".into()) {
            let _ = writeln!(d, "      + owner of the store");
        }
    }
    if d.is_empty() {
        Change::Keep
    } else {
        Change::Update(d)
    }
}

async fn ensure_admin(
    c: &megashop_core::db::DatabaseConnection,
    a: &Answers,
    cfg: &Config,
) -> megashop_core::Result<()> {
    let accounts = accounts_for(cfg)?;
    let (acc, _) = staff::upsert_account(&accounts, c, &a.admin_email, a.admin_password.expose(), true).await?;
    let t = tenancy::by_slug(c, &a.slug()).await?;
    let cx = TenantCx::new(Arc::new(t), c.clone());
    staff::set_role(&cx, c, acc.id, "owner").await
}

/// Writes `content` to `path` atomically (a temporary file in the same directory, then a
/// rename) with `mode`: a crash never leaves a half-written file.
fn write_atomic(path: &Path, content: &str, mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("megashop")));
    {
        let mut f = std::fs::File::create(&tmp)?;
        set_mode(&tmp, mode)?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::fs::copy(target, link).map(|_| ())
}

fn chown_service_user(dir: &Path) {
    let _ = run(&["chown".into(), "-R".into(), format!("{SERVICE_USER}:{SERVICE_USER}"), dir.display().to_string()]);
}
