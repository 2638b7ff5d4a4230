//! `quickstart` and `serve`: load config, open and migrate the database, serve until
//! Ctrl-C / SIGTERM.

use crate::ServeArgs;
use anyhow::Context;
use megashop_core::auth::Keys;
use megashop_core::config::Config;
use megashop_core::{db, demo};
use megashop_server::AppState;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the configuration comes from: a file (optional) and global flag overrides.
pub struct ConfigSource {
    /// `--config`
    pub file: Option<PathBuf>,
    /// `--data-dir`
    pub data_dir: Option<PathBuf>,
}

/// Loads the configuration and applies command-line overrides.
pub fn load_config(src: &ConfigSource, args: &ServeArgs) -> anyhow::Result<Config> {
    let mut cfg = Config::load(src.file.as_deref())?;
    if let Some(d) = &src.data_dir {
        cfg.data_dir = d.clone();
    }
    if let Some(l) = &args.listen {
        cfg.server.listen = l.clone();
    }
    cfg.validate()?;
    Ok(cfg)
}

/// Opens the database (creating the data directory), resetting it first when asked.
pub async fn open_db(cfg: &Config, reset: bool) -> anyhow::Result<megashop_core::db::DatabaseConnection> {
    std::fs::create_dir_all(&cfg.data_dir).with_context(|| format!("cannot create {}", cfg.data_dir.display()))?;
    let url = cfg.database_url();
    let conn = db::connect(&url, cfg.database.max_connections).await?;
    if reset {
        eprintln!("--reset: dropping every table and starting from an empty database");
        db::reset(&conn).await?;
    }
    db::migrate_up(&conn).await?;
    Ok(conn)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    eprintln!("\nshutting down…");
}

fn init_logging(cfg: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(format!("{},sqlx=warn", cfg.log.level)));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if cfg.log.format == "json" { builder.json().try_init() } else { builder.try_init() };
}

async fn run_server(
    cfg: Config,
    conn: megashop_core::db::DatabaseConnection,
    banner: impl FnOnce(&str),
) -> anyhow::Result<ExitCode> {
    let addr = cfg.listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let host = if local.ip().is_unspecified() { format!("localhost:{}", local.port()) } else { local.to_string() };
    let accounts = megashop_core::accounts::Accounts::from_config(&cfg)?;
    banner(&format!("http://{host}"));
    let state = AppState::new(conn.clone(), accounts, cfg).with_plugins(crate::integration::registry()?);
    megashop_server::serve(state, listener, shutdown_signal()).await?;
    conn.close().await.ok();
    eprintln!("stopped.");
    Ok(ExitCode::SUCCESS)
}

/// A small GeoIP database (Russian networks of GeoLite2 City 2019-12-24, CC BY-SA 4.0;
/// see `cli/assets/README.md`) so that the quickstart routes Russian addresses by location.
const BUNDLED_GEOIP: &[u8] = include_bytes!("../assets/GeoLite2-City-RU.mmdb");

/// Puts the bundled GeoIP database into the data directory unless one is configured or present.
fn install_bundled_geoip(cfg: &Config) -> anyhow::Result<()> {
    let path = cfg.geoip_path();
    if cfg.geoip.database.as_os_str().is_empty() && !path.exists() {
        std::fs::write(&path, BUNDLED_GEOIP).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// `megashop quickstart`
pub async fn quickstart(src: &ConfigSource, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let cfg = load_config(src, &args)?;
    init_logging(&cfg);
    let conn = open_db(&cfg, args.reset).await?;
    install_bundled_geoip(&cfg)?;
    let (store, created) = demo::ensure_demo_store(&conn).await?;
    let keys = Keys::from_secret(&cfg.jwt_secret()?, cfg.auth.access_token_ttl_secs);
    let token = keys.issue_staff(&store, "quickstart", "owner", Some(24 * 3600))?;
    let data_dir = cfg.data_dir.display().to_string();
    let db_kind = if cfg.database_url().starts_with("sqlite") { "SQLite" } else { "PostgreSQL" };
    run_server(cfg, conn, |base| {
        println!();
        println!("  Megashop is running ({}).", if created { "demo store created" } else { "existing data reused" });
        println!();
        let port = base.rsplit(':').next().unwrap_or("8080");
        println!("  Storefront        {base}/   (Kazan: http://kzn.localhost:{port}/, Saint Petersburg: {base}/spb/)");
        println!("  Store API         {base}/api/v1/store");
        println!("  Products (Moscow) {base}/api/v1/products");
        println!("  Products (Kazan)  {base}/api/v1/products?region=kzn");
        println!("  By location       curl -H 'X-Forwarded-For: 5.18.0.1' {base}/api/v1/store   (Saint Petersburg)");
        println!("  Categories        {base}/api/v1/categories");
        println!("  API reference     {base}/api/docs");
        println!("  OpenAPI           {base}/api/openapi.json");
        println!();
        println!("  Database          {db_kind} in {data_dir}");
        println!(
            "  Admin token       (owner of store \"{}\", valid 24 h; new one: megashop token create --tenant demo)",
            store.slug
        );
        println!("  {token}");
        println!();
        println!("  Try: curl -H 'Authorization: Bearer <token>' -H 'Content-Type: application/json' \\");
        println!("         -d '{{\"name\":\"Новинки\"}}' {base}/api/v1/categories");
        println!();
        println!("  Press Ctrl-C to stop.");
    })
    .await
}

/// `megashop serve`
pub async fn serve(src: &ConfigSource, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let cfg = load_config(src, &args)?;
    init_logging(&cfg);
    let conn = open_db(&cfg, args.reset).await?;
    if megashop_core::tenancy::list(&conn).await?.is_empty() {
        eprintln!("note: no store exists yet; create one with `megashop tenant create` (every request gets 404 unknown_host until then)");
    }
    run_server(cfg, conn, |base| println!("Megashop listening on {base} (API reference: {base}/api/docs)")).await
}
