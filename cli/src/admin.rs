//! Administrative commands: migrations, stores, regions, tokens, configuration, demo data.

use crate::output::table;
use crate::run::{load_config, open_db, ConfigSource};
use crate::{MigrateAction, ServeArgs};
use clap::Subcommand;
use megashop_core::auth::Keys;
use megashop_core::catalog::inventory::{self, NewWarehouse};
use megashop_core::catalog::pricing::{self, NewPriceType};
use megashop_core::config::Config;
use megashop_core::regions::{self, NewRegion};
use megashop_core::tenancy::{self, NewTenant, TenantCx};
use megashop_core::{db, demo, Error};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum TenantAction {
    /// Create a store.
    Create {
        /// Short identifier (a-z, 0-9, -).
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Host name serving the store; repeat for several (the first is primary).
        #[arg(long = "domain", required = true)]
        domains: Vec<String>,
        /// Default language: ru or en.
        #[arg(long, default_value = "ru")]
        locale: String,
        /// Default currency (ISO 4217).
        #[arg(long, default_value = "RUB")]
        currency: String,
    },
    /// List stores.
    List,
}

#[derive(Subcommand)]
pub enum RegionAction {
    /// Create a region. Missing price type and warehouses are created too.
    Create {
        /// Store slug.
        #[arg(long)]
        tenant: String,
        /// Region code (msk, spb...).
        #[arg(long)]
        code: String,
        /// Name in the store's language.
        #[arg(long)]
        name: String,
        /// English name.
        #[arg(long)]
        name_en: Option<String>,
        /// Price type code shown in this region (created when missing).
        #[arg(long)]
        price_type: String,
        /// Currency, used when the price type has to be created.
        #[arg(long, default_value = "RUB")]
        currency: String,
        /// Warehouse code supplying the region (created when missing); repeatable.
        #[arg(long = "warehouse")]
        warehouses: Vec<String>,
        /// Make it the default region.
        #[arg(long)]
        default: bool,
    },
    /// List regions of a store.
    List {
        /// Store slug.
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand)]
pub enum TokenAction {
    /// Issue a staff access token for a store (printed on stdout).
    Create {
        /// Store slug.
        #[arg(long)]
        tenant: String,
        /// owner, manager, content or support.
        #[arg(long, default_value = "owner")]
        role: String,
        /// Lifetime in seconds (default: auth.access_token_ttl_secs).
        #[arg(long)]
        ttl: Option<u64>,
        /// Who the token is for (goes into the `sub` claim).
        #[arg(long, default_value = "cli")]
        subject: String,
    },
}

#[derive(Subcommand)]
pub enum UserAction {
    /// Create a staff account (or set the password of an existing one), optionally a
    /// superadmin of the whole deployment; re-running is safe.
    Create {
        /// Email (the login).
        #[arg(long)]
        email: String,
        /// Password (prefer --password-file: command lines are visible to other users).
        #[arg(long, conflicts_with = "password_file")]
        password: Option<String>,
        /// File whose first line is the password.
        #[arg(long)]
        password_file: Option<std::path::PathBuf>,
        /// Every permission in every store.
        #[arg(long)]
        superadmin: bool,
        /// Also give the account this role in a store (`--tenant`).
        #[arg(long, requires = "tenant")]
        role: Option<String>,
        /// Store slug for --role.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Give an existing staff account a role in a store.
    Grant {
        /// Email of the staff account.
        #[arg(long)]
        email: String,
        /// Store slug.
        #[arg(long)]
        tenant: String,
        /// owner, manager, content or support.
        #[arg(long)]
        role: String,
    },
}

#[derive(Subcommand)]
pub enum DemoAction {
    /// Create the demo store (if absent) and add generated products, for benchmarks.
    Seed {
        /// Number of generated products.
        #[arg(long, default_value_t = 1000)]
        products: usize,
        /// Variants per product.
        #[arg(long, default_value_t = 3)]
        variants: usize,
    },
}

async fn open(src: &ConfigSource) -> anyhow::Result<(Config, megashop_core::db::DatabaseConnection)> {
    let cfg = load_config(src, &ServeArgs::default())?;
    let conn = open_db(&cfg, false).await?;
    Ok((cfg, conn))
}

async fn store_cx(conn: &megashop_core::db::DatabaseConnection, slug: &str) -> anyhow::Result<TenantCx> {
    let t = tenancy::by_slug(conn, slug).await?;
    Ok(TenantCx::new(Arc::new(t), conn.clone()))
}

/// `megashop migrate ...`
pub async fn migrate(src: &ConfigSource, action: MigrateAction) -> anyhow::Result<ExitCode> {
    let cfg = load_config(src, &ServeArgs::default())?;
    std::fs::create_dir_all(&cfg.data_dir)?;
    let conn = db::connect(&cfg.database_url(), cfg.database.max_connections).await?;
    match action {
        MigrateAction::Up => {
            db::migrate_up(&conn).await?;
            println!("all migrations applied");
        }
        MigrateAction::Down { steps } => {
            db::migrate_down(&conn, steps).await?;
            println!("rolled back {steps} migration(s)");
        }
        MigrateAction::Status => {}
    }
    let rows: Vec<Vec<String>> = db::migration_status(&conn)
        .await?
        .into_iter()
        .map(|(name, done)| vec![name, if done { "applied" } else { "pending" }.to_string()])
        .collect();
    table(&["migration", "status"], &rows);
    Ok(ExitCode::SUCCESS)
}

/// `megashop tenant ...`
pub async fn tenant(src: &ConfigSource, action: TenantAction) -> anyhow::Result<ExitCode> {
    let (_, conn) = open(src).await?;
    match action {
        TenantAction::Create { slug, name, domains, locale, currency } => {
            let t = tenancy::create(
                &conn,
                NewTenant { slug, name, domains, default_locale: locale, default_currency: currency },
            )
            .await?;
            println!("store {:?} created (id {}). Next: megashop region create --tenant {} ...", t.slug, t.id, t.slug);
        }
        TenantAction::List => {
            let rows: Vec<Vec<String>> = tenancy::list(&conn)
                .await?
                .into_iter()
                .map(|t| {
                    vec![t.id.to_string(), t.slug, t.name, t.default_locale, t.default_currency, t.domains.join(", ")]
                })
                .collect();
            table(&["id", "slug", "name", "locale", "currency", "domains"], &rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `megashop region ...`
pub async fn region(src: &ConfigSource, action: RegionAction) -> anyhow::Result<ExitCode> {
    let (_, conn) = open(src).await?;
    match action {
        RegionAction::Create { tenant, code, name, name_en, price_type, currency, warehouses, default } => {
            let cx = store_cx(&conn, &tenant).await?;
            if let Err(Error::NotFound { .. }) = pricing::row_by_code(&cx, &price_type).await {
                pricing::create(&cx, NewPriceType { code: price_type.clone(), name: name.clone(), currency }).await?;
                println!("price type {price_type:?} created");
            }
            for w in &warehouses {
                if let Err(Error::NotFound { .. }) = inventory::row_by_code(&cx, w).await {
                    inventory::create(&cx, NewWarehouse { code: w.clone(), name: w.clone() }).await?;
                    println!("warehouse {w:?} created");
                }
            }
            let r = regions::create(
                &cx,
                NewRegion {
                    code,
                    name,
                    name_en,
                    price_type,
                    warehouses,
                    parent: None,
                    is_default: default,
                    position: None,
                    geo: Default::default(),
                },
            )
            .await?;
            println!("region {:?} created{}", r.code, if r.is_default { " (default)" } else { "" });
        }
        RegionAction::List { tenant } => {
            let cx = store_cx(&conn, &tenant).await?;
            let rows: Vec<Vec<String>> = regions::list(&cx)
                .await?
                .into_iter()
                .map(|r| {
                    vec![
                        r.code,
                        r.name,
                        r.currency,
                        r.price_type,
                        r.warehouses.join(", "),
                        if r.is_default { "yes" } else { "" }.to_string(),
                    ]
                })
                .collect();
            table(&["code", "name", "currency", "price type", "warehouses", "default"], &rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `megashop token create`
pub async fn token(src: &ConfigSource, action: TokenAction) -> anyhow::Result<ExitCode> {
    let (cfg, conn) = open(src).await?;
    let TokenAction::Create { tenant, role, ttl, subject } = action;
    if let Some(t) = ttl {
        if !(60..=86400 * 30).contains(&t) {
            return Err(Error::invalid("ttl", "out_of_range", "must be between 60 seconds and 30 days").into());
        }
    }
    let store = tenancy::by_slug(&conn, &tenant).await?;
    let keys = Keys::from_secret(&cfg.jwt_secret()?, cfg.auth.access_token_ttl_secs);
    println!("{}", keys.issue_staff(&store, &subject, &role, ttl)?);
    Ok(ExitCode::SUCCESS)
}

/// `megashop user create|grant`
pub async fn user(src: &ConfigSource, action: UserAction) -> anyhow::Result<ExitCode> {
    let (cfg, conn) = open(src).await?;
    let accounts = megashop_core::accounts::Accounts::from_config(&cfg)?;
    match action {
        UserAction::Create { email, password, password_file, superadmin, role, tenant } => {
            let password = match (password, password_file) {
                (Some(p), _) => p,
                (None, Some(f)) => std::fs::read_to_string(&f)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.display()))?
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                (None, None) => {
                    return Err(Error::invalid("password", "required", "give --password or --password-file").into())
                }
            };
            let (a, created) =
                megashop_core::accounts::staff::upsert_account(&accounts, &conn, &email, &password, superadmin).await?;
            if let (Some(role), Some(slug)) = (role, tenant) {
                let store = tenancy::by_slug(&conn, &slug).await?;
                let cx = tenancy::TenantCx::new(std::sync::Arc::new(store), conn.clone());
                megashop_core::accounts::staff::set_role(&cx, &conn, a.id, &role).await?;
                println!("{} is {role} of {slug}", a.email.as_deref().unwrap_or_default());
            }
            let what = if superadmin { "superadmin" } else { "staff account" };
            println!(
                "{what} {} {} (id {})",
                a.email.as_deref().unwrap_or_default(),
                if created { "created" } else { "updated" },
                a.id
            );
        }
        UserAction::Grant { email, tenant, role } => {
            let email = megashop_core::accounts::contact::email("email", &email)?;
            let a = megashop_core::accounts::staff::by_email(&conn, &email)
                .await?
                .ok_or_else(|| Error::NotFound { entity: "staff", key: email.clone() })?;
            let store = tenancy::by_slug(&conn, &tenant).await?;
            let cx = tenancy::TenantCx::new(std::sync::Arc::new(store), conn.clone());
            megashop_core::accounts::staff::set_role(&cx, &conn, a.id, &role).await?;
            println!("{email} is {role} of {tenant}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `megashop config check`
pub fn config_check(src: &ConfigSource) -> anyhow::Result<ExitCode> {
    let cfg = load_config(src, &ServeArgs::default())?;
    println!("configuration is valid");
    println!("  data_dir        {}", cfg.data_dir.display());
    println!("  server.listen   {}", cfg.server.listen);
    let url = cfg.database_url();
    println!("  database        {}", if url.starts_with("sqlite") { url.as_str() } else { "postgres (URL hidden)" });
    println!("  redis           {}", if cfg.redis.url.is_empty() { "off" } else { "configured" });
    Ok(ExitCode::SUCCESS)
}

/// `megashop demo seed`
pub async fn demo(src: &ConfigSource, action: DemoAction) -> anyhow::Result<ExitCode> {
    let (_, conn) = open(src).await?;
    let DemoAction::Seed { products, variants } = action;
    let (store, _) = demo::ensure_demo_store(&conn).await?;
    let bar = indicatif::ProgressBar::new(products as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} seeding [{bar:40}] {pos}/{len} products, {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    demo::seed_bulk(&conn, &store, products, variants, |n| bar.set_position(n as u64)).await?;
    bar.finish();
    println!("seeded {products} products × {variants} variants in {:.1}s", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}
