//! The `megashop` command. It wires the crates together; decisions live in core.

mod admin;
mod install;
mod integration;
mod io;
mod output;
mod run;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Megashop: a self-hosted, multi-tenant, multi-region eCommerce backend.
#[derive(Parser)]
#[command(name = "megashop", version, about, propagate_version = true)]
struct Cli {
    /// Configuration file (TOML). `MEGASHOP_*` environment variables override it.
    #[arg(short, long, global = true, env = "MEGASHOP_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (embedded database, keys). Default: ./megashop-data
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// Flags shared by `quickstart` and `serve`.
#[derive(Args, Clone, Debug, Default)]
struct ServeArgs {
    /// Address to listen on. Default: 127.0.0.1:8080
    #[arg(long)]
    listen: Option<String>,
    /// Delete all data and start from an empty database (destructive).
    #[arg(long)]
    reset: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Install a production deployment in one command: config, database, first store and
    /// administrator, systemd unit, nginx site (plans first; re-running is safe).
    Install(Box<install::InstallArgs>),
    /// Check a deployment (config, database, Redis, disk, GeoIP, port, nginx, DNS, TLS,
    /// clock) and say how to fix what is wrong; non-zero exit status on any error.
    Doctor(install::DoctorArgs),
    /// Write one archive with the database, the config and the data files (while running).
    Backup(install::BackupArgs),
    /// Restore an archive from `megashop backup` (checks it first; stop the service).
    Restore(install::RestoreArgs),
    /// Upgrade in place: back up, apply migrations, restart, check /readyz; restore the
    /// backup when any of it fails.
    Upgrade(install::UpgradeArgs),
    /// Create a demo store on embedded SQLite (first run) and serve it.
    Quickstart(ServeArgs),
    /// Serve the API (runs pending migrations first).
    Serve(ServeArgs),
    /// Database migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Stores (tenants).
    Tenant {
        #[command(subcommand)]
        action: admin::TenantAction,
    },
    /// Regions of a store.
    Region {
        #[command(subcommand)]
        action: admin::RegionAction,
    },
    /// Staff accounts: create (superadmin), grant roles in stores.
    User {
        #[command(subcommand)]
        action: admin::UserAction,
    },
    /// Staff API tokens.
    Token {
        #[command(subcommand)]
        action: admin::TokenAction,
    },
    /// Configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Import a catalogue file (CSV, XLSX, XLS, ODS): check it, then create or update products.
    Import(io::ImportArgs),
    /// Export the catalogue in the canonical format (CSV or XLSX).
    Export(io::ExportArgs),
    /// The plugins built into this megashop (integrations with 1C, ERPs, CRMs).
    Plugins,
    /// Integrations of a store: set a plugin up, run it, see its runs.
    Integration {
        #[command(subcommand)]
        action: integration::IntegrationAction,
    },
    /// Demo and benchmark data.
    Demo {
        #[command(subcommand)]
        action: admin::DemoAction,
    },
}

#[derive(Subcommand)]
enum MigrateAction {
    /// Apply all pending migrations.
    Up,
    /// Roll back migrations.
    Down {
        /// How many to roll back.
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Validate the configuration and report every invalid value with its key.
    Check,
}

/// mimalloc instead of the system allocator: with glibc malloc, rows allocated on the import's
/// reading thread and freed on its writing thread contended for one arena lock.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => output::report(&e),
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let cfg = run::ConfigSource { file: cli.config, data_dir: cli.data_dir };
    let cfg_path = &cfg;
    match cli.command {
        Command::Install(args) => install::install(*args).await,
        Command::Doctor(args) => install::doctor(cfg_path, args).await,
        Command::Backup(args) => install::backup(cfg_path, args).await,
        Command::Upgrade(args) => install::upgrade(cfg_path, args).await,
        Command::Restore(args) => install::restore(cfg_path, args).await,
        Command::Quickstart(args) => run::quickstart(cfg_path, args).await,
        Command::Serve(args) => run::serve(cfg_path, args).await,
        Command::Migrate { action } => admin::migrate(cfg_path, action).await,
        Command::Tenant { action } => admin::tenant(cfg_path, action).await,
        Command::Region { action } => admin::region(cfg_path, action).await,
        Command::Token { action } => admin::token(cfg_path, action).await,
        Command::User { action } => admin::user(cfg_path, action).await,
        Command::Config { action: ConfigAction::Check } => admin::config_check(cfg_path),
        Command::Demo { action } => admin::demo(cfg_path, action).await,
        Command::Import(args) => io::import(cfg_path, args).await,
        Command::Export(args) => io::export(cfg_path, args).await,
        Command::Plugins => integration::plugins(),
        Command::Integration { action } => integration::integration(cfg_path, action).await,
    }
}
