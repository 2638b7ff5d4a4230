//! Property: export → import → export of generated catalogues is lossless, for text with
//! Cyrillic, quotes, commas, newlines, formula-looking cells and empty values.

use megashop_core::entity::{product, variant};
use megashop_core::tenancy::TenantCx;
use megashop_io::cells::escape_formula;
use megashop_io::export::{self, ExportFormat, ExportOptions};
use megashop_io::import::{self, ImportOptions};
use megashop_test_support::TestDb;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use sea_orm::{ColumnTrait, QueryFilter};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[derive(Clone, Debug)]
struct GenVariant {
    barcode: Option<String>,
    title: Option<String>,
    options: BTreeMap<String, String>,
    weight: Option<u16>,
    prices: [Option<u32>; 2],
    stock: [Option<u16>; 2],
}

#[derive(Clone, Debug)]
struct GenProduct {
    title: String,
    description: Option<String>,
    category: Option<Vec<String>>,
    status: &'static str,
    images: Vec<String>,
    seo_title: Option<String>,
    attrs: BTreeMap<String, serde_json::Value>,
    variants: Vec<GenVariant>,
}

/// Text people put in catalogues, and what breaks CSV writers.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("Чайник".to_string()),
            Just("ёлка".to_string()),
            Just("\"кавычки\"".to_string()),
            Just(", ".to_string()),
            Just(";".to_string()),
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("=SUM(A1)".to_string()),
            Just("+7 999".to_string()),
            Just("-".to_string()),
            Just("@x".to_string()),
            Just("'".to_string()),
            Just("  ".to_string()),
            Just("日本".to_string()),
            Just("😀".to_string()),
            "[a-zA-Z0-9 ]{1,8}",
        ],
        1..6,
    )
    .prop_map(|parts| parts.concat())
}

/// Non-empty text without outer spaces (names, titles).
fn name() -> impl Strategy<Value = String> {
    text()
        .prop_map(|t| t.replace(['\n', '\r', '>', '|'], " ").trim().to_string())
        .prop_filter("not empty", |s| !s.is_empty())
}

fn variant() -> impl Strategy<Value = GenVariant> {
    (
        proptest::option::of("[0-9]{8,13}"),
        proptest::option::of(name()),
        prop::collection::btree_map(prop_oneof![Just("Цвет".to_string()), Just("size".to_string())], name(), 0..3),
        proptest::option::of(0u16..5000),
        [proptest::option::of(0u32..10_000_000), proptest::option::of(0u32..10_000_000)],
        [proptest::option::of(0u16..1000), proptest::option::of(0u16..1000)],
    )
        .prop_map(|(barcode, title, options, weight, prices, stock)| GenVariant {
            barcode,
            title,
            options,
            weight,
            prices,
            stock,
        })
}

fn attr_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        name().prop_map(serde_json::Value::String),
        (-1000i64..100_000).prop_map(serde_json::Value::from),
        any::<bool>().prop_map(serde_json::Value::Bool),
    ]
}

fn product_strategy() -> impl Strategy<Value = GenProduct> {
    (
        name(),
        proptest::option::of(text()),
        proptest::option::of(prop::collection::vec(name(), 1..3)),
        prop_oneof![Just("active"), Just("draft"), Just("archived")],
        prop::collection::vec("https://img\\.test/[a-z0-9]{1,6}\\.jpg", 0..3),
        proptest::option::of(name()),
        prop::collection::btree_map("[a-z]{1,6}", attr_value(), 0..3),
        prop::collection::vec(variant(), 0..4),
    )
        .prop_map(|(title, description, category, status, images, seo_title, attrs, variants)| GenProduct {
            title,
            description,
            category,
            status,
            images,
            seo_title,
            attrs,
            variants,
        })
}

async fn store(db: &TestDb, slug: &str) -> TenantCx {
    megashop_test_support::store_with_prices(&db.conn, slug).await
}

/// Writes generated products as a canonical CSV (the way a person's tool would).
fn write_csv(path: &std::path::Path, products: &[GenProduct]) {
    let keys: std::collections::BTreeSet<(String, &'static str)> = products
        .iter()
        .flat_map(|p| {
            p.attrs.iter().map(|(k, v)| {
                (
                    k.clone(),
                    match v {
                        serde_json::Value::Number(_) => ":number",
                        serde_json::Value::Bool(_) => ":bool",
                        _ => "",
                    },
                )
            })
        })
        .collect();
    let mut w = csv::Writer::from_path(path).unwrap();
    let mut header: Vec<String> =
        ["product", "title", "description", "category", "status", "images", "seo_title"].map(String::from).to_vec();
    header.extend(keys.iter().map(|(k, t)| format!("attr:{k}{t}")));
    header.extend(["sku", "barcode", "variant_title", "option:Цвет", "option:size", "weight_grams"].map(String::from));
    header.extend(["price:retail", "price:opt", "stock:msk", "stock:spb"].map(String::from));
    w.write_record(&header).unwrap();
    for (i, p) in products.iter().enumerate() {
        let mut head = vec![
            format!("p{i}"),
            p.title.clone(),
            p.description.clone().unwrap_or_default(),
            p.category.as_ref().map(|c| c.join(" > ")).unwrap_or_default(),
            p.status.to_string(),
            p.images.join("|"),
            p.seo_title.clone().unwrap_or_default(),
        ];
        for (k, t) in &keys {
            let v = p.attrs.get(k).filter(|v| {
                let kind = match v {
                    serde_json::Value::Number(_) => ":number",
                    serde_json::Value::Bool(_) => ":bool",
                    _ => "",
                };
                kind == *t
            });
            head.push(match v {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            });
        }
        let money = |v: Option<u32>| v.map(|m| format!("{}.{:02}", m / 100, m % 100)).unwrap_or_default();
        let rows: Vec<Option<(usize, &GenVariant)>> =
            if p.variants.is_empty() { vec![None] } else { p.variants.iter().enumerate().map(Some).collect() };
        for v in rows {
            let mut row = head.clone();
            match v {
                Some((j, v)) => row.extend([
                    format!("S-{i}-{j}"),
                    v.barcode.clone().unwrap_or_default(),
                    v.title.clone().unwrap_or_default(),
                    v.options.get("Цвет").cloned().unwrap_or_default(),
                    v.options.get("size").cloned().unwrap_or_default(),
                    v.weight.map(|w| w.to_string()).unwrap_or_default(),
                    money(v.prices[0]),
                    money(v.prices[1]),
                    v.stock[0].map(|s| s.to_string()).unwrap_or_default(),
                    v.stock[1].map(|s| s.to_string()).unwrap_or_default(),
                ]),
                None => row.extend(std::iter::repeat_n(String::new(), 10)),
            }
            w.write_record(row.iter().map(|c| escape_formula(c).into_owned())).unwrap();
        }
    }
    w.flush().unwrap();
}

async fn check(db: &TestDb, case: usize, products: Vec<GenProduct>) -> Result<(), TestCaseError> {
    let dir = db.dir.path();
    let a = store(db, &format!("a{case}")).await;
    let b = store(db, &format!("b{case}")).await;
    let input = dir.join(format!("in-{case}.csv"));
    write_csv(&input, &products);
    let opts = || ImportOptions { profile: megashop_io::profile::builtin("canonical"), ..ImportOptions::default() };
    let never = || Arc::new(AtomicBool::new(false));
    let r = import::run(&a, &input, opts(), |_| {}, never()).await.unwrap();
    prop_assert!(r.applied, "{:?}", r.problems);
    // What the store holds is what was generated.
    for (i, p) in products.iter().enumerate() {
        let row =
            a.select::<product::Entity>().filter(product::Column::Slug.eq(format!("p{i}"))).one(&a.db).await.unwrap();
        let row = row.expect("product imported");
        prop_assert_eq!(&row.title, &p.title);
        prop_assert_eq!(&row.description, &p.description);
        prop_assert_eq!(&row.status, p.status);
        let n = a.select::<variant::Entity>().filter(variant::Column::ProductId.eq(row.id)).all(&a.db).await.unwrap();
        prop_assert_eq!(n.len(), p.variants.len());
        for (j, v) in p.variants.iter().enumerate() {
            let got = n.iter().find(|x| x.sku == format!("S-{i}-{j}")).expect("variant");
            prop_assert_eq!(&got.barcode, &v.barcode);
            prop_assert_eq!(&got.title, &v.title);
            prop_assert_eq!(got.weight_grams, v.weight.map(i32::from));
        }
    }
    for format in [ExportFormat::Csv, ExportFormat::Xlsx] {
        let ext = if format == ExportFormat::Csv { "csv" } else { "xlsx" };
        let out_a = dir.join(format!("a-{case}.{ext}"));
        export::run(&a, &out_a, &ExportOptions { format, ..ExportOptions::default() }, |_| {}).await.unwrap();
        let r = import::run(&b, &out_a, opts(), |_| {}, never()).await.unwrap();
        prop_assert!(r.applied, "{ext}: {:?}", r.problems);
        let (ca, cb) = (dir.join(format!("ca-{case}-{ext}.csv")), dir.join(format!("cb-{case}-{ext}.csv")));
        export::run(&a, &ca, &ExportOptions::default(), |_| {}).await.unwrap();
        export::run(&b, &cb, &ExportOptions::default(), |_| {}).await.unwrap();
        let (ta, tb) = (std::fs::read_to_string(&ca).unwrap(), std::fs::read_to_string(&cb).unwrap());
        prop_assert_eq!(ta, tb, "{} round trip differs", ext);
    }
    Ok(())
}

#[test]
fn export_import_export_is_lossless() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::new());
    let cases = if std::env::var("MEGASHOP_TEST_PG_URL").is_ok() { 12 } else { 24 };
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let counter = std::cell::Cell::new(0usize);
    runner
        .run(&prop::collection::vec(product_strategy(), 1..6), |products| {
            counter.set(counter.get() + 1);
            rt.block_on(check(&db, counter.get(), products))
        })
        .unwrap();
}
