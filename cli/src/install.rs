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
    let answers = raw.resolve().map_err(input)?;
    let binary = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/usr/local/bin/megashop"));
    let layout = Layout::new(args.root.as_deref(), binary);
    let plan = Plan::build(answers, layout).await.map_err(input)?;
    print!("{}", plan.render());
    if args.dry_run || plan.is_noop() {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes {
        eprintln!("Run again with --yes to apply this plan (questions in the terminal are not available yet).");
        return Ok(ExitCode::from(2));
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
            println!("Done. Sign in as the administrator at http://{}/ (API: /api/docs).", plan_domain(&plan));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("The steps before it are done. Fix the problem and run the same command again: it continues from there.");
            Ok(ExitCode::from(1))
        }
    }
}

fn plan_domain(plan: &Plan) -> String {
    plan.render().lines().next().and_then(|l| l.split_whitespace().nth(2)).unwrap_or("").to_string()
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
