//! Import and export against a real database (SQLite file, or PostgreSQL when
//! `MEGASHOP_TEST_PG_URL` is set), with real files.

use megashop_core::entity::{price, product, stock, variant};
use megashop_core::tenancy::TenantCx;
use megashop_io::export::{self, ExportFormat, ExportOptions};
use megashop_io::import::{self, ImportOptions, ImportReport};
use megashop_io::profile;
use megashop_io::writer::{Mode, WriteOptions};
use megashop_test_support::{fixture, TestDb};
use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

async fn store(db: &TestDb, slug: &str) -> TenantCx {
    megashop_test_support::store_with_prices(&db.conn, slug).await
}

async fn run(cx: &TenantCx, path: &Path, opts: ImportOptions) -> ImportReport {
    import::run(cx, path, opts, |_| {}, Arc::new(AtomicBool::new(false))).await.unwrap()
}

fn canonical() -> ImportOptions {
    ImportOptions { profile: profile::builtin("canonical"), ..ImportOptions::default() }
}

async fn export_to(cx: &TenantCx, path: &Path, format: ExportFormat) {
    export::run(cx, path, &ExportOptions { format, ..ExportOptions::default() }, |_| {}).await.unwrap();
}

async fn count_products(cx: &TenantCx) -> u64 {
    cx.select::<product::Entity>().count(&cx.db).await.unwrap()
}

const SAMPLE: &str = "\
product,title,description,category,status,images,attr:brand,attr:power_w:number,attr:wifi:bool,sku,barcode,option:Цвет,weight_grams,price:retail,price:opt,stock:msk,stock:spb
kettle,Чайник Bosch,\"Кипятит быстро.
Две строки, \"\"кавычки\"\".\",Техника > Кухня,active,https://img.test/k1.jpg|https://img.test/k2.jpg,Bosch,2200,false,K-1-W,4600000000011,белый,1200,\"1 299,50\",1000,5,0
kettle,Чайник Bosch,,,,,,,,K-1-B,,чёрный,1200,1299.50,,0,3
gadget,Гаджет,,Техника,draft,,,,,G-1,,,,10,,,
mug,Кружка,,Посуда,archived,,,,,,,,,,,,
";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[tokio::test]
async fn canonical_file_creates_products_variants_prices_and_stock() {
    let db = TestDb::new().await;
    let cx = store(&db, "a").await;
    let path = write(db.dir.path(), "sample.csv", SAMPLE);
    let r = run(&cx, &path, canonical()).await;
    assert_eq!(r.errors, 0, "{:?}", r.problems);
    assert!(r.applied);
    assert_eq!((r.counts.created, r.counts.updated, r.counts.unchanged), (3, 0, 0));
    let kettle =
        cx.select::<product::Entity>().filter(product::Column::Slug.eq("kettle")).one(&cx.db).await.unwrap().unwrap();
    assert_eq!(kettle.description.as_deref(), Some("Кипятит быстро.\nДве строки, \"кавычки\"."));
    let v = cx.select::<variant::Entity>().filter(variant::Column::Sku.eq("K-1-W")).one(&cx.db).await.unwrap().unwrap();
    assert_eq!(v.product_id, kettle.id);
    assert_eq!(v.options, serde_json::json!({"Цвет": "белый"}));
    let amounts: Vec<i64> = cx
        .select::<price::Entity>()
        .filter(price::Column::VariantId.eq(v.id))
        .all(&cx.db)
        .await
        .unwrap()
        .iter()
        .map(|p| p.amount)
        .collect();
    assert_eq!(amounts.iter().sum::<i64>(), 129_950 + 100_000);
    let qty: i64 = cx
        .select::<stock::Entity>()
        .filter(stock::Column::VariantId.eq(v.id))
        .all(&cx.db)
        .await
        .unwrap()
        .iter()
        .map(|s| s.quantity)
        .sum();
    assert_eq!(qty, 5);
    let mug =
        cx.select::<product::Entity>().filter(product::Column::Slug.eq("mug")).one(&cx.db).await.unwrap().unwrap();
    assert_eq!(mug.status, "archived");
    let n = cx.select::<variant::Entity>().filter(variant::Column::ProductId.eq(mug.id)).count(&cx.db).await.unwrap();
    assert_eq!(n, 0, "a row with an empty SKU is a product without variants");
}

#[tokio::test]
async fn a_second_identical_import_changes_nothing_and_says_so() {
    let db = TestDb::new().await;
    let cx = store(&db, "a").await;
    let path = write(db.dir.path(), "sample.csv", SAMPLE);
    let first = run(&cx, &path, canonical()).await;
    assert_eq!(first.counts.created, 3, "{:?}", first.problems);
    let second = run(&cx, &path, canonical()).await;
    assert_eq!((second.counts.created, second.counts.updated, second.counts.unchanged), (0, 0, 3));
    assert_eq!(second.counts.variants, 0);
    // A change made elsewhere voids the fingerprint: the next import rewrites that product.
    megashop_core::catalog::products::update(
        &cx,
        &megashop_core::regions::resolve(&cx, None).await.unwrap(),
        "mug",
        megashop_core::catalog::products::ProductPatch { title: Some("Другая".into()), ..Default::default() },
    )
    .await
    .unwrap();
    let third = run(&cx, &path, canonical()).await;
    assert_eq!((third.counts.updated, third.counts.unchanged), (1, 2));
    let mug =
        cx.select::<product::Entity>().filter(product::Column::Slug.eq("mug")).one(&cx.db).await.unwrap().unwrap();
    assert_eq!(mug.title, "Кружка");
}

#[tokio::test]
async fn bad_rows_are_all_reported_and_nothing_is_written() {
    let db = TestDb::new().await;
    let cx = store(&db, "a").await;
    let text = "\
product,title,sku,price:retail,stock:msk,status
p1,Хороший,G-1,100,1,active
p2,Плохая цена,B-1,12abc,1,active
p3,Отрицательная,B-2,-5,1,active
p4,Дубль,G-1,100,1,active
p5,Статус,B-3,100,1,sold
p6,,B-4,100,1,active
";
    let path = write(db.dir.path(), "bad.csv", text);
    for dry_run in [true, false] {
        let r = run(&cx, &path, ImportOptions { dry_run, ..canonical() }).await;
        let got: Vec<(u64, Option<&str>, &str)> =
            r.problems.iter().map(|p| (p.row, p.column.as_deref(), p.code)).collect();
        assert_eq!(
            got,
            vec![
                (3, Some("price:retail"), "bad_number"),
                (4, Some("price:retail"), "negative_price"),
                (6, Some("status"), "bad_status"),
                (5, Some("sku"), "duplicate_sku"),
                (7, None, "missing_required"),
            ],
            "dry_run={dry_run}"
        );
        assert!(!r.applied);
        assert_eq!(count_products(&cx).await, 0, "nothing written (dry_run={dry_run})");
        // A dry run says what the import would do; a rejected one, what it did: nothing.
        assert_eq!(r.counts.created > 0, dry_run, "{:?}", r.counts);
    }
    // Messages come in Russian too.
    let r = run(&cx, &path, ImportOptions { dry_run: true, ..canonical() }).await;
    assert!(r.problems[0].message(megashop_core::i18n::Locale::Ru).contains("Не число"));
}

#[tokio::test]
async fn update_only_changes_prices_and_reports_unknown_skus() {
    let db = TestDb::new().await;
    let cx = store(&db, "a").await;
    let path = write(db.dir.path(), "sample.csv", SAMPLE);
    run(&cx, &path, canonical()).await;
    let list = write(db.dir.path(), "prices.csv", "Артикул;Цена;Остаток\nK-1-W;1 500,00;7\nNOPE-1;10;1\n");
    let opts = ImportOptions {
        profile: profile::builtin("pricelist"),
        write: WriteOptions { mode: Mode::UpdateOnly, ..WriteOptions::default() },
        ..ImportOptions::default()
    };
    let r = run(&cx, &list, opts.clone()).await;
    assert_eq!(r.problems.iter().map(|p| (p.row, p.code)).collect::<Vec<_>>(), vec![(3, "unknown_sku")]);
    assert!(!r.applied, "an error anywhere means nothing is applied");
    let fixed = write(db.dir.path(), "prices.csv", "Артикул;Цена;Остаток\nK-1-W;1 500,00;7\n");
    let r = run(&cx, &fixed, opts).await;
    assert!(r.applied, "{:?}", r.problems);
    let v = cx.select::<variant::Entity>().filter(variant::Column::Sku.eq("K-1-W")).one(&cx.db).await.unwrap().unwrap();
    let prices = cx.select::<price::Entity>().filter(price::Column::VariantId.eq(v.id)).all(&cx.db).await.unwrap();
    let mut amounts: Vec<i64> = prices.iter().map(|p| p.amount).collect();
    amounts.sort();
    assert_eq!(amounts, vec![100_000, 150_000], "retail changed, opt kept");
    assert_eq!(count_products(&cx).await, 3);
}

#[tokio::test]
async fn hide_missing_archives_products_not_in_the_file() {
    let db = TestDb::new().await;
    let cx = store(&db, "a").await;
    let path = write(db.dir.path(), "sample.csv", SAMPLE);
    run(&cx, &path, canonical()).await;
    let only = write(db.dir.path(), "only.csv", "product,title,sku\nkettle,Чайник Bosch,K-1-W\n");
    let r = run(&cx, &only, ImportOptions { hide_missing: true, ..canonical() }).await;
    assert_eq!(r.counts.hidden, 1, "gadget; mug was archived already: {r:?}");
    let archived =
        cx.select::<product::Entity>().filter(product::Column::Status.eq("archived")).count(&cx.db).await.unwrap();
    assert_eq!(archived, 2);
}

#[tokio::test]
async fn export_then_import_is_lossless_csv_and_xlsx() {
    let db = TestDb::new().await;
    let a = store(&db, "a").await;
    let path = write(db.dir.path(), "sample.csv", SAMPLE);
    assert!(run(&a, &path, canonical()).await.applied);
    for format in [ExportFormat::Csv, ExportFormat::Xlsx] {
        let ext = if format == ExportFormat::Csv { "csv" } else { "xlsx" };
        let out_a = db.dir.path().join(format!("a.{ext}"));
        export_to(&a, &out_a, format).await;
        let b = store(&db, &format!("b{ext}")).await;
        let r = run(&b, &out_a, canonical()).await;
        assert!(r.applied, "{ext}: {:?}", r.problems);
        let (csv_a, csv_b) = (db.dir.path().join(format!("a-{ext}.csv")), db.dir.path().join(format!("b-{ext}.csv")));
        export_to(&a, &csv_a, ExportFormat::Csv).await;
        export_to(&b, &csv_b, ExportFormat::Csv).await;
        assert_eq!(std::fs::read_to_string(&csv_a).unwrap(), std::fs::read_to_string(&csv_b).unwrap(), "{ext}");
        // The same file again changes nothing.
        let again = run(&b, &out_a, canonical()).await;
        assert_eq!(again.counts.unchanged, 3, "{ext}: {:?}", again.counts);
    }
    let text = std::fs::read_to_string(db.dir.path().join("a-csv.csv")).unwrap();
    assert!(text.contains("\"Кипятит быстро.\nДве строки, \"\"кавычки\"\".\""));
}

#[tokio::test]
async fn formula_cells_are_escaped_on_export() {
    let db = TestDb::new().await;
    let a = store(&db, "a").await;
    let text = "product,title,sku,price:retail\nevil,\"=HYPERLINK(\"\"http://x\"\")\",@SUM,1\n";
    let path = write(db.dir.path(), "f.csv", text);
    assert!(run(&a, &path, canonical()).await.applied);
    let p = a.select::<product::Entity>().one(&a.db).await.unwrap().unwrap();
    assert_eq!(p.title, "=HYPERLINK(\"http://x\")", "stored as the text it is");
    let out = db.dir.path().join("out.csv");
    export_to(&a, &out, ExportFormat::Csv).await;
    let exported = std::fs::read_to_string(&out).unwrap();
    assert!(exported.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{exported}");
    assert!(exported.contains(",'@SUM,"), "{exported}");
}

#[tokio::test]
async fn a_batched_import_stopped_midway_resumes_after_the_last_commit() {
    let db = TestDb::new().await;
    let cx = store(&db, "a").await;
    let mut text = String::from("product,title,sku,price:retail\n");
    for i in 0..2000 {
        text.push_str(&format!("p{i},Товар {i},S-{i},{}\n", 100 + i));
    }
    let path = write(db.dir.path(), "big.csv", &text);
    let cancel = Arc::new(AtomicBool::new(false));
    let opts = ImportOptions { commit_every: Some(500), batch: 100, ..canonical() };
    let stop = cancel.clone();
    let first = import::run(
        &cx,
        &path,
        opts.clone(),
        move |p| {
            if p.rows >= 900 {
                stop.store(true, Ordering::Relaxed);
            }
        },
        cancel,
    )
    .await;
    assert!(matches!(first, Err(megashop_io::ImportError::Cancelled)), "{first:?}");
    let kept = count_products(&cx).await;
    assert!(kept > 0 && kept < 2000 && kept % 100 == 0, "committed batches only: {kept}");
    let second = run(&cx, &path, ImportOptions { resume: true, ..opts }).await;
    assert!(second.applied, "{:?}", second.problems);
    assert!(second.resumed_after.is_some());
    assert_eq!(second.counts.created, 2000 - kept);
    assert_eq!(count_products(&cx).await, 2000);
}

#[tokio::test]
async fn real_exports_from_other_systems_import() {
    let db = TestDb::new().await;
    let cx = store(&db, "a").await;
    // WooCommerce's own sample data: variable products with variations by parent SKU.
    let woo = run(&cx, &fixture("catalogues/woocommerce-sample_products.csv"), ImportOptions::default()).await;
    assert_eq!(woo.profile, "woocommerce");
    assert!(woo.applied, "{:?}", woo.problems);
    let hoodie = cx
        .select::<variant::Entity>()
        .filter(variant::Column::Sku.eq("woo-hoodie-blue-logo"))
        .one(&cx.db)
        .await
        .unwrap();
    let hoodie = hoodie.expect("a variation of woo-hoodie");
    let parent = cx
        .select::<product::Entity>()
        .filter(product::Column::Id.eq(hoodie.product_id))
        .one(&cx.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(parent.title, "Hoodie");
    assert_eq!(hoodie.options["Color"], "Blue");
    // Shopify: variants by handle, option names from the first row, SKUs made up when absent.
    let shop = run(&cx, &fixture("catalogues/shopify-partners-apparel.csv"), ImportOptions::default()).await;
    assert_eq!(shop.profile, "shopify");
    assert!(shop.applied, "{:?}", shop.problems);
    // Shopify's template: barcodes a spreadsheet rounded to 3.65275E+11 are refused, not imported.
    let tpl = run(&cx, &fixture("catalogues/shopify-product_template-2025.csv"), ImportOptions::default()).await;
    assert!(!tpl.applied);
    assert!(tpl.problems.iter().all(|p| p.code == "precision_lost"), "{:?}", tpl.problems);
    assert!(tpl.problems.iter().any(|p| p.value.as_deref() == Some("3.65275E+11")));
}

#[tokio::test]
async fn bad_files_get_clear_errors_and_nothing_is_written() {
    let db = TestDb::new().await;
    let cx = store(&db, "a").await;
    let dir = db.dir.path();
    let opts = ImportOptions::default;
    let go = |p: PathBuf, o: ImportOptions| {
        let cx = cx.clone();
        async move { import::run(&cx, &p, o, |_| {}, Arc::new(AtomicBool::new(false))).await }
    };
    // Empty, and binary garbage named .csv: refused with what is wrong.
    let e = go(write(dir, "empty.csv", ""), opts()).await.unwrap_err();
    assert!(e.to_string().contains("is empty"), "{e}");
    let mut garbage = vec![0u8; 4096];
    garbage[..4].copy_from_slice(b"\x7fELF");
    std::fs::write(dir.join("garbage.csv"), &garbage).unwrap();
    let e = go(dir.join("garbage.csv"), opts()).await.unwrap_err();
    assert!(e.to_string().contains("not a text file"), "{e}");
    // Header only: nothing to do is an error too.
    let r = go(
        write(dir, "header.csv", "product,title,sku\n"),
        ImportOptions { profile: profile::builtin("canonical"), ..opts() },
    )
    .await
    .unwrap();
    assert_eq!(r.problems.iter().map(|p| p.code).collect::<Vec<_>>(), vec!["no_rows"]);
    assert!(!r.applied);
    // A zip bomb named .xlsx is refused from its directory, before anything is unpacked.
    let bomb = dir.join("bomb.xlsx");
    std::fs::write(&bomb, zip_bomb()).unwrap();
    let e = go(bomb, opts()).await.unwrap_err();
    assert!(e.to_string().contains("zip bomb"), "{e}");
    // A 2 GB line (sparse file): the reader stops at 64 MiB, reports it, writes nothing.
    let long = dir.join("long.csv");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&long).unwrap();
        f.write_all(b"product,title,sku\np1,Good,S-1\np2,").unwrap();
        f.write_all(&vec![b'x'; 8192]).unwrap();
        f.set_len(2 * 1024 * 1024 * 1024).unwrap();
    }
    let e = go(long, ImportOptions { profile: profile::builtin("canonical"), ..opts() }).await.unwrap_err();
    assert!(e.to_string().contains("record 3 is longer than 64 MiB"), "{e}");
    // Past the first rows (where the header is looked for), the same is a row problem.
    let late = dir.join("late.csv");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&late).unwrap();
        f.write_all(b"product,title,sku\n").unwrap();
        for i in 0..40 {
            writeln!(f, "p{i},Good,S-{i}").unwrap();
        }
        f.write_all(b"p-long,").unwrap();
        f.write_all(&vec![b'x'; 8192]).unwrap();
        f.set_len(200 * 1024 * 1024).unwrap();
    }
    let r = go(late, ImportOptions { profile: profile::builtin("canonical"), ..opts() }).await.unwrap();
    let codes: Vec<&str> = r.problems.iter().map(|p| p.code).collect();
    assert_eq!(codes, vec!["read_failed"], "{:?}", r.problems);
    assert!(r.problems[0].message(megashop_core::i18n::Locale::En).contains("longer than 64 MiB"));
    assert!(!r.applied);
    assert_eq!(count_products(&cx).await, 0);
}

/// A zip whose central directory declares 8 entries of 4 GiB each.
fn zip_bomb() -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for i in 0..8u32 {
        let name = format!("xl/worksheets/sheet{i}.xml");
        let offset = out.len() as u32;
        let local = |v: &mut Vec<u8>| {
            v.extend_from_slice(&0x04034b50u32.to_le_bytes());
            v.extend_from_slice(&[20, 0, 0, 0, 8, 0, 0, 0, 0, 0]);
            v.extend_from_slice(&0u32.to_le_bytes()); // crc
            v.extend_from_slice(&2u32.to_le_bytes()); // compressed
            v.extend_from_slice(&u32::MAX.to_le_bytes()); // uncompressed
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
            v.extend_from_slice(name.as_bytes());
        };
        local(&mut out);
        out.extend_from_slice(&[3, 0]);
        central.extend_from_slice(&0x02014b50u32.to_le_bytes());
        central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0]);
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&2u32.to_le_bytes());
        central.extend_from_slice(&u32::MAX.to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x06054b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 8, 0, 8, 0]);
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[tokio::test]
async fn partial_files_leave_what_they_do_not_say_alone() {
    let db = TestDb::new().await;
    let cx = store(&db, "a").await;
    assert!(run(&cx, &write(db.dir.path(), "sample.csv", SAMPLE), canonical()).await.applied);
    // A price list naming two SKUs of one product (no product column): one product, updated
    // once, its variant order kept (PostgreSQL refused this before).
    let list = write(db.dir.path(), "list.csv", "sku,price:retail\nK-1-B,1400\nK-1-W,1500\n");
    let r = run(&cx, &list, canonical()).await;
    assert!(r.applied, "{:?}", r.problems);
    assert_eq!((r.counts.updated, r.counts.created), (1, 0));
    let white =
        cx.select::<variant::Entity>().filter(variant::Column::Sku.eq("K-1-W")).one(&cx.db).await.unwrap().unwrap();
    assert_eq!(white.position, 0, "positions kept");
    // Empty status and title cells keep what the product has.
    let blank = write(db.dir.path(), "blank.csv", "product,title,status,sku\ngadget,,,G-1\n");
    let r = run(&cx, &blank, canonical()).await;
    assert!(r.applied, "{:?}", r.problems);
    let g =
        cx.select::<product::Entity>().filter(product::Column::Slug.eq("gadget")).one(&cx.db).await.unwrap().unwrap();
    assert_eq!((g.title.as_str(), g.status.as_str()), ("Гаджет", "draft"));
    // Update-only does not add a new variant to an existing product.
    let opts =
        ImportOptions { write: WriteOptions { mode: Mode::UpdateOnly, ..WriteOptions::default() }, ..canonical() };
    let r = run(&cx, &write(db.dir.path(), "upd.csv", "product,sku,price:retail\nkettle,K-1-NEW,10\n"), opts).await;
    assert_eq!(r.problems.iter().map(|p| (p.row, p.code)).collect::<Vec<_>>(), vec![(2, "unknown_sku")]);
    // A row with a price but no SKU is an error, not silently dropped.
    let r =
        run(&cx, &write(db.dir.path(), "nosku.csv", "product,title,sku,price:retail\nx,X,,10\n"), canonical()).await;
    assert_eq!(r.problems.iter().map(|p| (p.row, p.code)).collect::<Vec<_>>(), vec![(2, "missing_required")]);
    assert!(!r.applied);
}

#[tokio::test]
async fn header_problems_name_the_header_row_below_title_lines() {
    let db = TestDb::new().await;
    let cx = store(&db, "a").await;
    let text = "Прайс-лист\n02.02.23\nПо складу Гл.Склад\nsku,title,price:wholesale\nA-1,Товар,10\n";
    let r = run(&cx, &write(db.dir.path(), "titled.csv", text), canonical()).await;
    let got: Vec<(u64, &str)> = r.problems.iter().map(|p| (p.row, p.code)).collect();
    assert_eq!(got, vec![(4, "unknown_price_type")], "{:?}", r.problems);
}

/// Plugins key products and variants by their own ids: a renamed product (new title, no
/// slug) is found again by its external id, and refs of one integration do not meet
/// another's.
#[tokio::test]
async fn products_keyed_by_a_plugins_external_ids() {
    use megashop_core::entity::external_ref;
    use megashop_io::mapping::{Present, ProductRec, VariantRec};
    use megashop_io::profile::Field;
    use megashop_io::writer::{self, Key, Writer};
    use sea_orm::TransactionTrait;

    let db = TestDb::new().await;
    let cx = store(&db, "a").await;
    let targets = writer::targets(&cx).await.unwrap();
    let present = Present { fields: vec![Field::Title, Field::Sku], ..Present::default() };
    let opts = WriteOptions { key: Key::ExternalId, integration: "1c".into(), ..WriteOptions::default() };
    let rec = |title: &str, sku: &str| ProductRec {
        external_id: Some("guid-1".into()),
        title: Some(title.into()),
        variants: vec![VariantRec { sku: sku.into(), external_id: Some("guid-1".into()), ..VariantRec::default() }],
        ..ProductRec::default()
    };
    for (title, sku) in [("Чайник", "K-1"), ("Чайник электрический", "K-1"), ("Чайник электрический", "K-2")]
    {
        let txn = cx.db.begin().await.unwrap();
        let mut w = Writer::new(&cx, opts.clone(), &targets).await.unwrap();
        let mut problems = Vec::new();
        w.write(&txn, vec![rec(title, sku)], &present, &mut problems).await.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        txn.commit().await.unwrap();
    }
    let products = cx.select::<product::Entity>().all(&cx.db).await.unwrap();
    assert_eq!(products.len(), 1, "one product, found again by its external id");
    assert_eq!(products[0].title, "Чайник электрический");
    let variants = cx.select::<variant::Entity>().all(&cx.db).await.unwrap();
    assert_eq!(variants.iter().map(|v| v.sku.as_str()).collect::<Vec<_>>(), ["K-2"], "renamed, not duplicated");
    let refs = cx.select::<external_ref::Entity>().all(&cx.db).await.unwrap();
    let mut kinds: Vec<(String, String, i64)> =
        refs.iter().map(|r| (r.integration.clone(), r.entity_kind.clone(), r.internal_id)).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [("1c".to_string(), "product".to_string(), products[0].id), ("1c".into(), "variant".into(), variants[0].id)]
    );
    // The same external id under another integration is someone else's product.
    let txn = cx.db.begin().await.unwrap();
    let other = WriteOptions { integration: "moysklad".into(), ..opts.clone() };
    let mut w = Writer::new(&cx, other, &targets).await.unwrap();
    let mut problems = Vec::new();
    w.write(&txn, vec![rec("Другой", "M-1")], &present, &mut problems).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(count_products(&cx).await, 2);
}

/// Exports read a store's products a page at a time in id order: on SQLite each page must be
/// a range read of `ix_product_tenant_id`, not a sort of every product of the store (which
/// made a full export quadratic).
#[tokio::test]
async fn product_pages_in_id_order_read_an_index_range() {
    use sea_orm::{ConnectionTrait, QueryOrder, QuerySelect, QueryTrait, Statement};
    let db = TestDb::new().await;
    let cx = store(&db, "a").await;
    let backend = cx.db.get_database_backend();
    let page = cx
        .select::<product::Entity>()
        .filter(product::Column::Id.gt(0))
        .order_by_asc(product::Column::Id)
        .limit(500)
        .build(backend);
    let plan: Vec<String> = match backend {
        sea_orm::DatabaseBackend::Sqlite => {
            let sql = format!("EXPLAIN QUERY PLAN {}", page.sql);
            let rows =
                cx.db.query_all(Statement::from_sql_and_values(backend, sql, page.values.unwrap())).await.unwrap();
            rows.iter().map(|r| r.try_get::<String>("", "detail").unwrap()).collect()
        }
        _ => {
            let sql = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_product_tenant_id'";
            let rows = cx.db.query_all(Statement::from_string(backend, sql)).await.unwrap();
            rows.iter().map(|r| r.try_get::<String>("", "indexdef").unwrap()).collect()
        }
    };
    assert!(plan.iter().any(|d| d.contains("ix_product_tenant_id")), "{plan:?}");
    assert!(!plan.iter().any(|d| d.contains("TEMP B-TREE")), "a page sorts the store: {plan:?}");
}
