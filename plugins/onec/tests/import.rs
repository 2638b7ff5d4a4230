//! CommerceML files from real 1C exchanges into a real database (SQLite file, or
//! PostgreSQL when `MEGASHOP_TEST_PG_URL` is set), through the plugin API.

use megashop_core::entity::{
    category, external_ref, price, price_type, product, product_attribute, stock, variant, warehouse,
};
use megashop_core::tenancy::TenantCx;
use megashop_onec::import::{import_file, ImportFailure, MappingSettings, Outcome, Progress};
use megashop_onec::OneC;
use megashop_plugin::{Engine, EngineOptions, Keyring, NewInstance, Registry, SyncContext};
use megashop_test_support::TestDb;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/1c").join(name)
}

struct Setup {
    db: TestDb,
    cx: TenantCx,
    onec: SyncContext,
}

async fn setup() -> Setup {
    let db = TestDb::new().await;
    let cx = megashop_test_support::store_with_prices(&db.conn, "a").await;
    let registry = Arc::new(Registry::new().with(Arc::new(OneC::new())).unwrap());
    let opts = EngineOptions { data_dir: db.dir.path().to_path_buf(), ..EngineOptions::default() };
    let engine = Engine::new(db.conn.clone(), registry, Keyring::new(&[7; 32], &[]), opts);
    let mut settings = serde_json::Map::new();
    settings.insert("login".into(), "exchange".into());
    let mut credentials = serde_json::Map::new();
    credentials.insert("password".into(), "secret-password".into());
    engine
        .add(&cx, NewInstance { plugin: "1c".into(), settings, credentials, enabled: true, ..NewInstance::default() })
        .await
        .unwrap();
    let onec = engine.context(&cx, "1c").await.unwrap();
    Setup { db, cx, onec }
}

async fn import(s: &Setup, file: &str) -> Result<Outcome, ImportFailure> {
    import_path(s, &fixture(file)).await
}

async fn import_path(s: &Setup, path: &Path) -> Result<Outcome, ImportFailure> {
    let since = chrono::Utc::now();
    import_file(&s.onec, path, &MappingSettings::default(), since, Arc::new(Progress::default())).await
}

async fn products(cx: &TenantCx) -> Vec<product::Model> {
    cx.select::<product::Entity>().all(&cx.db).await.unwrap()
}

#[tokio::test]
async fn a_2_07_catalogue_and_its_offers() {
    let s = setup().await;
    let o = import(&s, "carono-import.xml").await.unwrap();
    assert_eq!((o.created, o.updated, o.failed), (2, 0, 0), "{o:?}");
    assert!(o.full);
    let cats = s.cx.select::<category::Entity>().count(&s.cx.db).await.unwrap();
    assert_eq!(cats, 22, "every Группа is a category");
    let ps = products(&s.cx).await;
    let boots = ps.iter().find(|p| p.title == "Женские ботфорты коричневые").expect("product by its 1C name");
    assert_eq!(boots.status, "active");
    let cat =
        s.cx.select::<category::Entity>()
            .filter(category::Column::Id.eq(boots.category_id.unwrap()))
            .one(&s.cx.db)
            .await
            .unwrap()
            .unwrap();
    let group_ref =
        s.cx.select::<external_ref::Entity>()
            .filter(external_ref::Column::EntityKind.eq("category"))
            .filter(external_ref::Column::InternalId.eq(cat.id))
            .one(&s.cx.db)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(group_ref.external_id, "e5a4c309-a659-11dd-acee-0015e9b8c48d");
    assert_eq!(group_ref.integration, "1c");
    let article =
        s.cx.select::<product_attribute::Entity>()
            .filter(product_attribute::Column::ProductId.eq(boots.id))
            .filter(product_attribute::Column::Key.eq("Артикул"))
            .one(&s.cx.db)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(article.value, "Б-130001");

    let o = import(&s, "carono-offers.xml").await.unwrap();
    assert_eq!((o.offers, o.failed), (5, 0), "{o:?}");
    let v = s
        .cx
        .select::<variant::Entity>()
        .filter(variant::Column::Sku.eq("bd72d910-55bc-11d9-848a-00112f43529a#90c55447-d3a8-11e4-9423-e0cb4ed5eed4"))
        .one(&s.cx.db)
        .await
        .unwrap()
        .expect("a variant per offer, keyed by the offer's Ид");
    assert_eq!(v.product_id, boots.id);
    let prices = s.cx.select::<price::Entity>().filter(price::Column::VariantId.eq(v.id)).all(&s.cx.db).await.unwrap();
    assert_eq!(prices.iter().map(|p| p.amount).collect::<Vec<_>>(), [171_900]);
    let pt =
        s.cx.select::<price_type::Entity>()
            .filter(price_type::Column::Id.eq(prices[0].price_type_id))
            .one(&s.cx.db)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(pt.currency, "RUB");
    let st = s.cx.select::<stock::Entity>().filter(stock::Column::VariantId.eq(v.id)).all(&s.cx.db).await.unwrap();
    assert_eq!(st.iter().map(|s| s.quantity).sum::<i64>(), 20);
    let wh =
        s.cx.select::<warehouse::Entity>()
            .filter(warehouse::Column::Id.eq(st[0].warehouse_id))
            .one(&s.cx.db)
            .await
            .unwrap()
            .unwrap();
    assert!(!["msk", "spb"].contains(&wh.code.as_str()), "1C's warehouse is created: {}", wh.code);
    assert_eq!(s.cx.select::<variant::Entity>().count(&s.cx.db).await.unwrap(), 5);

    // The same exchange again changes nothing.
    let o = import(&s, "carono-import.xml").await.unwrap();
    assert_eq!((o.created, o.updated, o.unchanged), (0, 0, 2), "{o:?}");
    let o = import(&s, "carono-offers.xml").await.unwrap();
    assert_eq!((o.offers, o.unchanged), (0, 5), "{o:?}");
    assert_eq!(products(&s.cx).await.len(), 2);

    // A product deleted in the admin comes back with the next exchange (its external ids
    // went with it, so it is not skipped as unchanged).
    megashop_core::catalog::products::delete(&s.cx, &boots.slug).await.unwrap();
    let o = import(&s, "carono-import.xml").await.unwrap();
    assert_eq!((o.created, o.unchanged), (1, 1), "{o:?}");
    let o = import(&s, "carono-offers.xml").await.unwrap();
    assert_eq!((o.offers, o.unchanged), (2, 3), "{o:?}");
}

async fn stock_rows(cx: &TenantCx) -> Vec<(i64, i64, i64)> {
    let mut v: Vec<(i64, i64, i64)> = cx
        .select::<stock::Entity>()
        .all(&cx.db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.variant_id, s.warehouse_id, s.quantity))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn the_3_1_split_exchange_classifier_goods_offers_prices_rests() {
    let s = setup().await;
    for f in ["irpsv-bm6-import-classifier-3.1.xml", "irpsv-bm6-goods-import-3.1.xml"] {
        let o = import(&s, f).await.unwrap();
        assert_eq!(o.failed, 0, "{f}: {o:?}");
    }
    assert_eq!(products(&s.cx).await.len(), 21);
    let pts = s.cx.select::<price_type::Entity>().count(&s.cx.db).await.unwrap();
    assert_eq!(pts, 2 + 8, "the store's two and the classifier's eight price types");
    let whs = s.cx.select::<warehouse::Entity>().count(&s.cx.db).await.unwrap();
    assert_eq!(whs, 2 + 12);

    let o = import(&s, "irpsv-bm6-goods-offers-3.1.xml").await.unwrap();
    assert_eq!(o.offers, 86, "{o:?}");
    let variants = s.cx.select::<variant::Entity>().all(&s.cx.db).await.unwrap();
    assert_eq!(variants.len(), 86);
    assert!(variants.iter().all(|v| v.sku.contains('#')), "characteristic offers: product#characteristic");
    assert_eq!(s.cx.select::<price::Entity>().count(&s.cx.db).await.unwrap(), 0, "offers carry no prices");

    let stock_before: Vec<(i64, i64, i64)> = stock_rows(&s.cx).await;
    let o = import(&s, "irpsv-bm6-goods-prices-3.1.xml").await.unwrap();
    assert_eq!(o.failed, 0, "{o:?}");
    let n_prices = s.cx.select::<price::Entity>().count(&s.cx.db).await.unwrap();
    assert_eq!(n_prices, 86, "one price per offer");
    let p = s
        .cx
        .select::<variant::Entity>()
        .filter(variant::Column::Sku.eq("235ccc6d-ab81-11e4-944a-00155d020201#a5abd77f-93f6-11e5-9468-00155d020201"))
        .one(&s.cx.db)
        .await
        .unwrap()
        .unwrap();
    let amount =
        s.cx.select::<price::Entity>().filter(price::Column::VariantId.eq(p.id)).one(&s.cx.db).await.unwrap().unwrap();
    assert_eq!(amount.amount, 204_266, "2042.66 exactly, not the 2 042,66 of Представление");
    assert_eq!(stock_rows(&s.cx).await, stock_before, "a prices file leaves stock alone");

    let o = import(&s, "irpsv-bm6-goods-rests-3.1.xml").await.unwrap();
    assert_eq!(o.failed, 0, "{o:?}");
    assert_ne!(stock_rows(&s.cx).await, stock_before, "rests per warehouse");
    assert_eq!(
        s.cx.select::<price::Entity>().count(&s.cx.db).await.unwrap(),
        n_prices,
        "a rests file leaves prices alone"
    );
}

#[tokio::test]
async fn broken_files_change_nothing() {
    let s = setup().await;
    import(&s, "carono-import.xml").await.unwrap();
    let before = products(&s.cx).await;
    // Truncated in the middle of the offers: not one offer may land.
    let full = std::fs::read(fixture("carono-offers.xml")).unwrap();
    let cut = s.db.dir.path().join("offers.xml");
    std::fs::write(&cut, &full[..full.len() * 2 / 3]).unwrap();
    let err = import_path(&s, &cut).await.unwrap_err();
    assert!(matches!(err, ImportFailure::Xml(_)), "{err:?}");
    assert_eq!(s.cx.select::<variant::Entity>().count(&s.cx.db).await.unwrap(), 0);
    assert_eq!(products(&s.cx).await, before);
    // An orders document is refused as such.
    let err = import(&s, "carono-orders.xml").await.unwrap_err();
    assert!(matches!(err, ImportFailure::Orders), "{err:?}");
    // An offer for a product 1C never sent creates nothing and is counted.
    let s2 = setup().await;
    let o = import(&s2, "carono-offers.xml").await.unwrap();
    assert_eq!((o.offers, o.failed), (0, 5), "{o:?}");
    assert_eq!(products(&s2.cx).await.len(), 0);
}

#[tokio::test]
async fn deleted_and_missing_products_are_hidden_not_deleted() {
    let s = setup().await;
    import(&s, "carono-import.xml").await.unwrap();
    // The same full catalogue without the second product, and the first marked deleted.
    let text = std::fs::read_to_string(fixture("carono-import.xml")).unwrap();
    let start = text.rfind("<Товар>").unwrap();
    let end = text.rfind("</Товар>").unwrap() + "</Товар>".len();
    let mut one = format!("{}{}", &text[..start], &text[end..]);
    one = one.replacen("<Товар>", "<Товар Статус=\"Удален\">", 1);
    let path = s.db.dir.path().join("import.xml");
    std::fs::write(&path, one).unwrap();
    let o = import_path(&s, &path).await.unwrap();
    assert_eq!(o.hidden, 2, "{o:?}");
    let ps = products(&s.cx).await;
    assert_eq!(ps.len(), 2, "hidden, never deleted");
    assert!(ps.iter().all(|p| p.status == "archived"), "{:?}", ps.iter().map(|p| &p.status).collect::<Vec<_>>());
    // Back in the next full exchange: shown again.
    let o = import(&s, "carono-import.xml").await.unwrap();
    assert_eq!(o.updated, 2, "{o:?}");
    assert!(products(&s.cx).await.iter().all(|p| p.status == "active"));
}

/// Problems land in the run's log with the 1C `Ид`, even while the import's transaction
/// holds SQLite's write lock (the lines are written when it ends).
#[tokio::test]
async fn an_unknown_product_of_an_offer_is_logged_with_its_id() {
    use megashop_core::entity::sync_error;
    let s = setup().await;
    import(&s, "carono-import.xml").await.unwrap();
    let offers = std::fs::read_to_string(fixture("carono-offers.xml")).unwrap();
    let stray = "00000000-0000-0000-0000-000000000001#00000000-0000-0000-0000-000000000002";
    let changed = offers.replacen(
        "<Ид>bd72d913-55bc-11d9-848a-00112f43529a#ad5de1b6-ca90-11dd-ad02-0015e9b8c48d</Ид>",
        &format!("<Ид>{stray}</Ид>"),
        1,
    );
    assert_ne!(changed, offers);
    let path = s.db.dir.path().join("offers.xml");
    std::fs::write(&path, changed).unwrap();
    let run = s.onec.begin_run("test").await.unwrap();
    let started = std::time::Instant::now();
    let o = import_file(&run, &path, &MappingSettings::default(), chrono::Utc::now(), Arc::new(Progress::default()))
        .await
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "the log never waits for the write lock");
    run.finish_run(&Ok(megashop_plugin::SyncReport::default())).await.unwrap();
    assert_eq!((o.offers, o.failed), (4, 1), "{o:?}");
    let lines = sync_error::Entity::find()
        .filter(sync_error::Column::RunId.eq(run.run_id().unwrap()))
        .all(&s.cx.db)
        .await
        .unwrap();
    let line = lines.iter().find(|l| l.external_id.as_deref() == Some(stray)).expect("the offer's Ид in the log");
    assert!(line.message.contains("00000000-0000-0000-0000-000000000001"), "{}", line.message);
}

/// The owner maps 1C's price types and warehouses to the store's (by name or `Ид`), also
/// after they were first created on their own: prices and stock then land where the
/// store's regions look.
#[tokio::test]
async fn mapped_price_types_and_warehouses() {
    let s = setup().await;
    import(&s, "carono-import.xml").await.unwrap();
    import(&s, "carono-offers.xml").await.unwrap(); // unmapped: 1C's own price type and warehouses
    let mut m = MappingSettings::default();
    m.price_types.insert("Розничная".into(), "retail".into());
    m.warehouses.insert("b6112590-41ba-11dd-ac9d-0015e9b8c48d".into(), "msk".into());
    // A changed price makes the offers new to the hashes, so they are written again.
    let offers =
        std::fs::read_to_string(fixture("carono-offers.xml")).unwrap().replace("<ЦенаЗаЕдиницу>", "<ЦенаЗаЕдиницу>1");
    let path = s.db.dir.path().join("offers.xml");
    std::fs::write(&path, offers).unwrap();
    let o = import_file(&s.onec, &path, &m, chrono::Utc::now(), Arc::new(Progress::default())).await.unwrap();
    assert_eq!(o.offers, 5, "{o:?}");
    let retail =
        s.cx.select::<price_type::Entity>()
            .filter(price_type::Column::Code.eq("retail"))
            .one(&s.cx.db)
            .await
            .unwrap()
            .unwrap();
    let msk =
        s.cx.select::<warehouse::Entity>()
            .filter(warehouse::Column::Code.eq("msk"))
            .one(&s.cx.db)
            .await
            .unwrap()
            .unwrap();
    let retail_prices =
        s.cx.select::<price::Entity>().filter(price::Column::PriceTypeId.eq(retail.id)).count(&s.cx.db).await.unwrap();
    assert_eq!(retail_prices, 5);
    let msk_stock: i64 =
        s.cx.select::<stock::Entity>()
            .filter(stock::Column::WarehouseId.eq(msk.id))
            .all(&s.cx.db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.quantity)
            .sum();
    assert_eq!(msk_stock, 219, "the Обувь shop's stock of the five offers");
}
