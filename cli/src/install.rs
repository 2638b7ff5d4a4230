//! `megashop install`: answers from flags and an answer file, the plan, then the steps.
//! The logic lives in the `megashop-installer` crate; this module is the command line.

use clap::Args;
use megashop_installer::{Change, Layout, Plan, RawAnswers};
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `megashop install` (each also a key of the answer file, same spelling).
#[derive(Args, Debug, Default)]
pub struct InstallArgs {
    /// Answer file (TOML, keys as these flags: `domain = "shop.ru"`); flags override it.
    #[arg(long)]
    answers: Option<PathBuf>,
    /// Apply without asking.
    #[arg(long, short = 'y')]
    yes: bool,
    /// Print the plan only.
    #[arg(long)]
    dry_run: bool,
    /// Stage every path under DIR and skip what needs a real system (for tests).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Store name (default: the domain).
    #[arg(long)]
    store_name: Option<String>,
    /// The store's domain, e.g. shop.ru (regions get msk.shop.ru).
    #[arg(long)]
    domain: Option<String>,
    /// Email of the first administrator (superadmin, owner of the store).
    #[arg(long)]
    admin_email: Option<String>,
    /// Their password (prefer --admin-password-file: command lines are visible to others).
    #[arg(long, conflicts_with = "admin_password_file")]
    admin_password: Option<String>,
    /// File whose first line is the administrator's password.
    #[arg(long)]
    admin_password_file: Option<PathBuf>,
    /// sqlite (default), a postgres:// URL, or install-postgres.
    #[arg(long)]
    db: Option<String>,
    /// none (default), a redis:// URL, or install-redis.
    #[arg(long)]
    redis: Option<String>,
    /// How requests find their region: subdomain (default), path, geoip or all.
    #[arg(long)]
    region_mode: Option<String>,
    /// Code of the first region (default: main).
    #[arg(long)]
    region_code: Option<String>,
    /// Name of the first region.
    #[arg(long)]
    region_name: Option<String>,
    /// Currency (default: RUB).
    #[arg(long)]
    currency: Option<String>,
    /// Store language, ru (default) or en.
    #[arg(long)]
    locale: Option<String>,
    /// IP:PORT the server listens on behind nginx (default: 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<String>,
    /// Do not write an nginx site.
    #[arg(long)]
    no_nginx: bool,
    /// Do not write a systemd unit.
    #[arg(long)]
    no_systemd: bool,
    /// Do not start the service.
    #[arg(long)]
    no_start: bool,
    /// Request a TLS certificate with certbot.
    #[arg(long)]
    tls: bool,
}

impl InstallArgs {
    fn raw(&self) -> RawAnswers {
        RawAnswers {
            store_name: self.store_name.clone(),
            domain: self.domain.clone(),
            admin_email: self.admin_email.clone(),
            admin_password: self.admin_password.clone(),
            admin_password_file: self.admin_password_file.clone(),
            db: self.db.clone(),
            redis: self.redis.clone(),
            region_mode: self.region_mode.clone(),
            region_code: self.region_code.clone(),
            region_name: self.region_name.clone(),
            currency: self.currency.clone(),
            locale: self.locale.clone(),
            listen: self.listen.clone(),
            nginx: self.no_nginx.then_some(false),
            systemd: self.no_systemd.then_some(false),
            start: self.no_start.then_some(false),
            tls: self.tls.then_some(true),
        }
    }
}

/// `megashop install`
pub async fn install(args: InstallArgs) -> anyhow::Result<ExitCode> {
    let mut raw = args.raw();
    if let Some(f) = &args.answers {
        raw = raw.or(RawAnswers::from_file(f).map_err(input)?);
    }
    let interactive = !args.yes && !args.dry_run && std::io::IsTerminal::is_terminal(&std::io::stdin());
    if interactive {
        raw = ask(raw).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let answers = raw.resolve().map_err(input)?;
    let binary = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/usr/local/bin/megashop"));
    let layout = Layout::new(args.root.as_deref(), binary);
    let plan = Plan::build(answers, layout).await.map_err(input)?;
    print!("{}", plan.render());
    if args.dry_run || plan.is_noop() {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes {
        if !interactive {
            eprintln!(
                "{}",
                t(
                    "Run again with --yes to apply this plan.",
                    "Чтобы выполнить этот план, запустите команду ещё раз с --yes."
                )
            );
            return Ok(ExitCode::from(2));
        }
        let go = dialoguer::Confirm::new()
            .with_prompt(t("Apply this plan?", "Выполнить этот план?"))
            .default(true)
            .interact()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if !go {
            println!("{}", t("Nothing was changed.", "Ничего не изменено."));
            return Ok(ExitCode::SUCCESS);
        }
    }
    let result = plan
        .apply(|s| {
            let word = match s.change {
                Change::Create => "created",
                Change::Update(_) => "changed",
                _ => "done",
            };
            println!("  ✓ {word}: {}", s.name);
        })
        .await;
    match result {
        Ok(()) => {
            println!(
                "{} http://{}/ (API: /api/docs).",
                t("Done. The administrator signs in at", "Готово. Администратор входит на"),
                plan.domain()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("The steps before it are done. Fix the problem and run the same command again: it continues from there.");
            Ok(ExitCode::from(1))
        }
    }
}

/// An installer input error as a CLI error (exit status 2, every problem on its line).
fn input(e: megashop_installer::Error) -> anyhow::Error {
    anyhow::Error::new(InstallInput(e.to_string()))
}

/// Missing or invalid install answers.
#[derive(Debug)]
pub struct InstallInput(pub String);

impl std::fmt::Display for InstallInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InstallInput {}

/// The text in the terminal's language (`LANG=ru_…` → Russian).
fn t(en: &'static str, ru: &'static str) -> &'static str {
    match crate::output::locale() {
        megashop_core::i18n::Locale::Ru => ru,
        megashop_core::i18n::Locale::En => en,
    }
}

/// Asks, in the terminal, every question the flags and the answer file left open. Each
/// has a default where one makes sense and a line saying what it is for.
fn ask(mut raw: RawAnswers) -> Result<RawAnswers, dialoguer::Error> {
    use dialoguer::{Confirm, Input, Password, Select};
    let note = |en: &str, ru: &str| eprintln!("\n{}", t_owned(en, ru));
    eprintln!(
        "{}",
        t(
            "Megashop installation. Press Enter to take the [default]; Ctrl-C stops without changing anything.",
            "Установка Megashop. Enter — принять [значение по умолчанию]; Ctrl-C — выйти, ничего не меняя.",
        )
    );
    if raw.domain.is_none() {
        note(
            "The domain customers open. Regions get subdomains of it (msk.<domain>).",
            "Домен, который открывают покупатели. Регионы получат его поддомены (msk.<домен>).",
        );
        let d: String = Input::new()
            .with_prompt(t("Store domain", "Домен магазина"))
            .validate_with(|v: &String| -> Result<(), String> {
                let mut p = megashop_core::error::Problems::default();
                megashop_core::validate::domain(&mut p, "domain", &v.trim().to_lowercase());
                p.finish()
                    .map_err(|_| t("not a domain name such as shop.ru", "это не доменное имя вида shop.ru").to_string())
            })
            .interact_text()?;
        raw.domain = Some(d.trim().to_lowercase());
    }
    if raw.store_name.is_none() {
        let d = raw.domain.clone().unwrap_or_default();
        let n: String = Input::new().with_prompt(t("Store name", "Название магазина")).default(d).interact_text()?;
        raw.store_name = Some(n);
    }
    if raw.admin_email.is_none() {
        note(
            "The administrator signs in with this email; they may do everything.",
            "Под этой почтой входит администратор; ему доступно всё.",
        );
        let e: String = Input::new()
            .with_prompt(t("Administrator email", "Почта администратора"))
            .validate_with(|v: &String| -> Result<(), String> {
                megashop_core::accounts::contact::email("email", v)
                    .map(|_| ())
                    .map_err(|_| t("not an email address", "это не адрес почты").to_string())
            })
            .interact_text()?;
        raw.admin_email = Some(e);
    }
    if raw.admin_password.is_none() && raw.admin_password_file.is_none() {
        let email = raw.admin_email.clone().unwrap_or_default();
        let p = Password::new()
            .with_prompt(t("Administrator password (8+ characters)", "Пароль администратора (от 8 символов)"))
            .with_confirmation(t("Repeat it", "Повторите"), t("The two passwords differ", "Пароли не совпадают"))
            .validate_with(move |v: &String| -> Result<(), String> {
                megashop_core::accounts::password::check("password", v, 8, &[&email]).map_err(|e| match e {
                    megashop_core::Error::Validation(f) => f.first().map(|f| f.message.clone()).unwrap_or_default(),
                    other => other.to_string(),
                })
            })
            .interact()?;
        raw.admin_password = Some(p);
    }
    if raw.db.is_none() {
        note(
            "Embedded SQLite needs nothing else and suits one server; PostgreSQL suits several.",
            "Встроенный SQLite ничего не требует и подходит для одного сервера; PostgreSQL — для нескольких.",
        );
        let choice = Select::new()
            .with_prompt(t("Database", "База данных"))
            .items(&[
                t("embedded SQLite", "встроенный SQLite"),
                t("an existing PostgreSQL (URL)", "существующий PostgreSQL (URL)"),
                t("install PostgreSQL here (apt)", "установить PostgreSQL здесь (apt)"),
            ])
            .default(0)
            .interact()?;
        raw.db = Some(match choice {
            1 => Input::<String>::new().with_prompt("postgres://user:password@host/db").interact_text()?,
            2 => "install-postgres".into(),
            _ => "sqlite".into(),
        });
    }
    if raw.redis.is_none() {
        note(
            "Redis shares rate limits between several servers; one server does without.",
            "Redis делает ограничения частоты общими для нескольких серверов; одному серверу он не нужен.",
        );
        let choice = Select::new()
            .with_prompt("Redis")
            .items(&[
                t("none", "не нужен"),
                t("an existing Redis (URL)", "существующий Redis (URL)"),
                t("install Redis here (apt)", "установить Redis здесь (apt)"),
            ])
            .default(0)
            .interact()?;
        raw.redis = Some(match choice {
            1 => Input::<String>::new().with_prompt("redis://host:6379/0").interact_text()?,
            2 => "install-redis".into(),
            _ => "none".into(),
        });
    }
    if raw.region_mode.is_none() {
        note(
            "How a visitor lands in a region (city): prices, stock and delivery follow it.",
            "Как посетитель попадает в регион (город): от него зависят цены, остатки и доставка.",
        );
        let modes = ["subdomain", "path", "geoip", "all"];
        let choice = Select::new()
            .with_prompt(t("Region routing", "Выбор региона"))
            .items(&[
                t("subdomain: msk.shop.ru", "поддомен: msk.shop.ru"),
                t("path: shop.ru/msk/…", "путь: shop.ru/msk/…"),
                t("by the visitor's location only (GeoIP)", "только по местоположению посетителя (GeoIP)"),
                t("all of them", "все способы"),
            ])
            .default(0)
            .interact()?;
        raw.region_mode = Some(modes[choice.min(3)].into());
    }
    if raw.region_code.is_none() {
        let c: String = Input::new()
            .with_prompt(t("First region: code", "Первый регион: код"))
            .default("msk".into())
            .interact_text()?;
        raw.region_code = Some(c);
    }
    if raw.region_name.is_none() {
        let n: String = Input::new()
            .with_prompt(t("First region: name", "Первый регион: название"))
            .default(t("Moscow", "Москва").into())
            .interact_text()?;
        raw.region_name = Some(n);
    }
    if raw.listen.is_none() {
        let l: String = Input::new()
            .with_prompt(t(
                "Address Megashop listens on (nginx proxies to it)",
                "Адрес, на котором слушает Megashop (к нему обращается nginx)",
            ))
            .default("127.0.0.1:8080".into())
            .interact_text()?;
        raw.listen = Some(l);
    }
    if raw.systemd.is_none() {
        raw.systemd = Some(
            Confirm::new()
                .with_prompt(t("Run it as a systemd service?", "Запускать как службу systemd?"))
                .default(true)
                .interact()?,
        );
    }
    if raw.nginx.is_none() {
        raw.nginx = Some(
            Confirm::new()
                .with_prompt(t(
                    "Write an nginx site for the domain and its subdomains?",
                    "Создать сайт nginx для домена и его поддоменов?",
                ))
                .default(true)
                .interact()?,
        );
    }
    if raw.tls.is_none() && raw.nginx != Some(false) {
        raw.tls = Some(
            Confirm::new()
                .with_prompt(t(
                    "Get a TLS certificate from Let's Encrypt (certbot)? The domain must point here.",
                    "Получить сертификат TLS от Let's Encrypt (certbot)? Домен должен указывать на этот сервер.",
                ))
                .default(false)
                .interact()?,
        );
    }
    Ok(raw)
}

fn t_owned(en: &str, ru: &str) -> String {
    match crate::output::locale() {
        megashop_core::i18n::Locale::Ru => ru.to_string(),
        megashop_core::i18n::Locale::En => en.to_string(),
    }
}

/// Flags of `megashop doctor`.
#[derive(Args, Debug, Default)]
pub struct DoctorArgs {
    /// Print the report as JSON (for monitoring).
    #[arg(long)]
    json: bool,
    /// Look for the nginx site and certificates under DIR (an install staged with --root).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
}

/// `megashop doctor`: exit status 0 when no check is an error, 1 otherwise.
pub async fn doctor(src: &crate::run::ConfigSource, args: DoctorArgs) -> anyhow::Result<ExitCode> {
    use megashop_installer::doctor::{self, Status};
    let cfg = crate::run::load_config(src, &crate::ServeArgs::default()).map_err(|e| {
        match e.downcast_ref::<megashop_core::Error>() {
            Some(megashop_core::Error::Config(fields)) => {
                fields.iter().map(|f| format!("{}: {} ({})", f.field, f.message, f.code)).collect::<Vec<_>>().join("; ")
            }
            _ => format!("{e:#}"),
        }
    });
    let paths = doctor::Paths::under(args.root.as_deref().unwrap_or(std::path::Path::new("/")));
    let report = doctor::run(cfg, &paths).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for c in &report.checks {
            let mark = match c.status {
                Status::Ok => "ok     ",
                Status::Warning => "warning",
                Status::Error => "error  ",
            };
            println!("{mark}  {:<22} {}", c.name, c.detail);
            if let Some(fix) = &c.fix {
                println!("         {:<22} → {fix}", "");
            }
        }
        println!(
            "{} {}, {} {}",
            report.errors,
            t("errors", "ошибок"),
            report.warnings,
            t("warnings", "предупреждений")
        );
    }
    Ok(if report.errors > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Flags of `megashop backup`.
#[derive(Args, Debug, Default)]
pub struct BackupArgs {
    /// The archive to write (default: megashop-backup-<date>-<time>.tar.gz here).
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
}

/// Flags of `megashop restore`.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The archive `megashop backup` wrote.
    archive: PathBuf,
    /// Replace the database and files without asking (stop the service first).
    #[arg(long, short = 'y')]
    yes: bool,
}

/// `megashop backup`
pub async fn backup(src: &crate::run::ConfigSource, args: BackupArgs) -> anyhow::Result<ExitCode> {
    let cfg = crate::run::load_config(src, &crate::ServeArgs::default())?;
    let out = args.output.unwrap_or_else(|| {
        PathBuf::from(format!("megashop-backup-{}.tar.gz", chrono::Utc::now().format("%Y%m%d-%H%M%S")))
    });
    let m = megashop_installer::backup::backup(&cfg, src.file.as_deref(), &out).await?;
    let bytes: u64 = m.files.iter().map(|f| f.size).sum();
    println!(
        "{} {} ({} {}, {} {}, {:.1} MB)",
        t("backup written to", "резервная копия записана в"),
        out.display(),
        m.database,
        t("database", "база"),
        m.files.len(),
        t("files", "файлов"),
        bytes as f64 / 1e6
    );
    Ok(ExitCode::SUCCESS)
}

/// `megashop restore`
pub async fn restore(src: &crate::run::ConfigSource, args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let cfg = crate::run::load_config(src, &crate::ServeArgs::default())?;
    if !args.yes {
        let dir = std::env::temp_dir().join(format!("megashop-inspect-{}", std::process::id()));
        let m = megashop_installer::backup::inspect(&args.archive, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        let m = m?;
        println!(
            "{} {} ({}, Megashop {}, {} {}).",
            t("The backup is intact:", "Копия цела:"),
            args.archive.display(),
            m.created_at,
            m.megashop_version,
            m.files.len(),
            t("files", "файлов")
        );
        eprintln!(
            "{}",
            t(
                "Restoring replaces the database and files: stop the service, then run again with --yes.",
                "Восстановление заменит базу и файлы: остановите службу и запустите команду ещё раз с --yes."
            )
        );
        return Ok(ExitCode::from(2));
    }
    let m = megashop_installer::backup::restore(&cfg, src.file.as_deref(), &args.archive).await?;
    println!("{} {} ({})", t("restored from", "восстановлено из"), args.archive.display(), m.created_at);
    Ok(ExitCode::SUCCESS)
}

/// Flags of `megashop upgrade`.
#[derive(Args, Debug, Default)]
pub struct UpgradeArgs {
    /// Do not restart the service (when it is started some other way).
    #[arg(long)]
    no_restart: bool,
    /// Readiness URL checked after the restart (default: http://<server.listen>/readyz).
    #[arg(long)]
    ready_url: Option<String>,
    /// Seconds to wait for it.
    #[arg(long, default_value_t = 30)]
    ready_timeout_secs: u64,
}

/// `megashop upgrade`: backup, migrations, restart, `/readyz`; back to the backup when any
/// of it fails.
pub async fn upgrade(src: &crate::run::ConfigSource, args: UpgradeArgs) -> anyhow::Result<ExitCode> {
    let cfg = crate::run::load_config(src, &crate::ServeArgs::default())?;
    let dir = cfg.data_dir.join("backups");
    std::fs::create_dir_all(&dir)?;
    let archive = dir.join(format!("pre-upgrade-{}.tar.gz", chrono::Utc::now().format("%Y%m%d-%H%M%S")));
    megashop_installer::backup::backup(&cfg, src.file.as_deref(), &archive).await?;
    println!("  ✓ {} {}", t("backup:", "резервная копия:"), archive.display());
    let restart = !args.no_restart;
    let rollback = |why: String| {
        let (cfg, file, archive) = (cfg.clone(), src.file.clone(), archive.clone());
        async move {
            eprintln!("error: {why}");
            eprintln!(
                "{}",
                t(
                    "Restoring the backup taken before the upgrade…",
                    "Восстанавливаю копию, сделанную перед обновлением…"
                )
            );
            match megashop_installer::backup::restore(&cfg, file.as_deref(), &archive).await {
                Ok(_) => {
                    eprintln!(
                        "{}",
                        t(
                            "Restored: the data is as it was before the upgrade.",
                            "Восстановлено: данные такие же, как до обновления."
                        )
                    );
                    if restart {
                        let _ = std::process::Command::new("systemctl").args(["restart", "megashop"]).output();
                    }
                }
                Err(e) => eprintln!("error: the restore failed too: {e}; the backup is {}", archive.display()),
            }
            ExitCode::FAILURE
        }
    };
    let conn = megashop_core::db::connect(&cfg.database_url(), 2).await?;
    let pending: Vec<String> =
        megashop_core::db::migration_status(&conn).await?.into_iter().filter(|(_, d)| !d).map(|(n, _)| n).collect();
    if let Err(e) = megashop_core::db::migrate_up(&conn).await {
        let _ = conn.close().await;
        return Ok(rollback(format!("migrations failed: {e}")).await);
    }
    let _ = conn.close().await;
    println!("  ✓ {} {}", t("migrations applied:", "применено миграций:"), pending.len());
    if !args.no_restart {
        let out = std::process::Command::new("systemctl").args(["restart", "megashop"]).output();
        match out {
            Ok(o) if o.status.success() => println!("  ✓ {}", t("service restarted", "служба перезапущена")),
            Ok(o) => {
                return Ok(rollback(format!(
                    "systemctl restart megashop: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ))
                .await)
            }
            Err(e) => return Ok(rollback(format!("systemctl: {e}")).await),
        }
    }
    let url = args.ready_url.unwrap_or_else(|| format!("http://{}/readyz", cfg.server.listen));
    let mut ready = false;
    for _ in 0..args.ready_timeout_secs.max(1) {
        if let Ok(r) = reqwest::get(&url).await {
            if r.status().is_success() {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    if !ready {
        return Ok(rollback(format!("{url} did not answer 200 within {} s", args.ready_timeout_secs)).await);
    }
    println!("  ✓ {url} {}", t("answers", "отвечает"));
    Ok(ExitCode::SUCCESS)
}
