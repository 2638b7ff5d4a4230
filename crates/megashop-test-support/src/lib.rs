//! Helpers shared by Megashop's integration tests.
//!
//! [`TestDb`] gives each test its own database: a temp SQLite file, or — when
//! `MEGASHOP_TEST_PG_URL` is set (as `.ci/run` does for its second pass) — a fresh
//! PostgreSQL database created on that server. Tests never mock our own storage.

pub mod fake_mail;
pub mod fake_sms;

use megashop_core::db::{self, DatabaseConnection};
use rand::Rng;
use sea_orm::ConnectionTrait;
use std::path::PathBuf;

/// A fresh, migrated database for one test.
pub struct TestDb {
    /// Connection URL (give it to a CLI via `MEGASHOP_DATABASE__URL`).
    pub url: String,
    /// A pool on it.
    pub conn: DatabaseConnection,
    /// Which engine this is.
    pub kind: &'static str,
    /// Keeps the SQLite file's directory alive.
    pub dir: tempfile::TempDir,
}

/// The PostgreSQL server tests should use, if any.
pub fn pg_url() -> Option<String> {
    std::env::var("MEGASHOP_TEST_PG_URL").ok().filter(|s| !s.is_empty())
}

impl TestDb {
    /// Creates an empty (not migrated) database.
    pub async fn empty() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match pg_url() {
            Some(base) => {
                let name: String = format!(
                    "mt_{}",
                    rand::thread_rng()
                        .sample_iter(&rand::distributions::Alphanumeric)
                        .take(16)
                        .map(|c| (c as char).to_ascii_lowercase())
                        .collect::<String>()
                );
                let admin = db::connect(&base, 1).await.expect("connect to MEGASHOP_TEST_PG_URL");
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
                admin.close().await.ok();
                let (prefix, _) = base.rsplit_once('/').expect("MEGASHOP_TEST_PG_URL has a database path");
                let url = format!("{prefix}/{name}");
                let conn = db::connect(&url, 5).await.expect("connect to the test database");
                TestDb { url, conn, kind: "postgres", dir }
            }
            None => {
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                let conn = db::connect(&url, 5).await.expect("open SQLite");
                TestDb { url, conn, kind: "sqlite", dir }
            }
        }
    }

    /// Creates a database with every migration applied.
    pub async fn new() -> TestDb {
        let t = TestDb::empty().await;
        db::migrate_up(&t.conn).await.expect("migrations apply");
        t
    }
}

/// Path of a file under `../shared/fixtures` (relative to the workspace root). Panics with
/// the place it looked when the fixtures are not there, so a missing checkout never
/// passes silently.
pub fn fixture(rel: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    let p = root.join(rel);
    assert!(p.exists(), "fixture {rel} not found: looked at {}", p.display());
    p
}

/// A store `slug` (domain `<slug>.test`) with price types `retail` and `opt` (RUB),
/// warehouses `msk` and `spb`, and a default region `msk` using `retail` and `msk`: the
/// smallest shop import and export tests need.
pub async fn store_with_prices(conn: &DatabaseConnection, slug: &str) -> megashop_core::tenancy::TenantCx {
    use megashop_core::catalog::{inventory, pricing};
    use megashop_core::regions::{self, NewRegion};
    use megashop_core::tenancy::{self, NewTenant, TenantCx};
    let t = tenancy::create(
        conn,
        NewTenant {
            slug: slug.into(),
            name: slug.into(),
            domains: vec![format!("{slug}.test")],
            default_locale: "ru".into(),
            default_currency: "RUB".into(),
        },
    )
    .await
    .expect("create store");
    let cx = TenantCx::new(std::sync::Arc::new(t), conn.clone());
    for code in ["retail", "opt"] {
        pricing::create(&cx, pricing::NewPriceType { code: code.into(), name: code.into(), currency: "RUB".into() })
            .await
            .expect("create price type");
    }
    for code in ["msk", "spb"] {
        inventory::create(&cx, inventory::NewWarehouse { code: code.into(), name: code.into() })
            .await
            .expect("create warehouse");
    }
    regions::create(
        &cx,
        NewRegion {
            code: "msk".into(),
            name: "Москва".into(),
            name_en: None,
            price_type: "retail".into(),
            warehouses: vec!["msk".into()],
            parent: None,
            is_default: true,
            position: None,
            geo: Default::default(),
        },
    )
    .await
    .expect("create region");
    cx
}
