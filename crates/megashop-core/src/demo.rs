//! The demo store created by `megashop quickstart`, and a bulk seeder for benchmarks.
//!
//! The demo store sells in Moscow, Saint Petersburg and Kazan, each with its own price
//! type and warehouse, so region-dependent prices and stock can be seen at once.

use crate::catalog::categories::{self, NewCategory};
use crate::catalog::inventory::{self, NewWarehouse};
use crate::catalog::pricing::{self, NewPriceType};
use crate::catalog::products::{self, NewProduct};
use crate::catalog::variants::NewVariant;
use crate::content::{self, PutContent};
use crate::delivery::{self, PutDeliveryMethod};
use crate::entity::{price, price_type, product, stock, tenant, variant, warehouse};
use crate::error::Result;
use crate::regions::{self, NewRegion};
use crate::routing::GeoRules;
use crate::tenancy::{self, NewTenant, TenantCx};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set, TransactionTrait};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Slug of the demo store.
pub const DEMO_SLUG: &str = "demo";

/// (code, name, English name, price multiplier in percent)
const REGIONS: [(&str, &str, &str, i64); 3] = [
    ("msk", "Москва", "Moscow", 100),
    ("spb", "Санкт-Петербург", "Saint Petersburg", 97),
    ("kzn", "Казань", "Kazan", 92),
];

/// Geo rules of the demo regions: GeoNames city ids, ISO 3166-2 subdivisions (the city
/// and its surrounding oblast), and names as GeoLite2 (Russian) and DB-IP (English) spell them.
fn demo_geo(code: &str) -> GeoRules {
    let (cities, subdivisions, names): (&[u32], &[&str], &[&str]) = match code {
        "msk" => (&[524901], &["MOW", "MOS"], &["Москва", "Moscow", "Moscow Oblast"]),
        "spb" => {
            (&[498817], &["SPE", "LEN"], &["Санкт-Петербург", "St Petersburg", "St.-Petersburg", "Leningrad Oblast"])
        }
        _ => (&[551487], &["TA"], &["Казань", "Kazan", "Tatarstan Republic"]),
    };
    GeoRules {
        countries: vec![],
        subdivisions: subdivisions.iter().map(|s| s.to_string()).collect(),
        cities: cities.to_vec(),
        names: names.iter().map(|s| s.to_string()).collect(),
    }
}

/// (slug, name, parent)
const CATEGORIES: [(&str, &str, Option<&str>); 10] = [
    ("electronics", "Электроника", None),
    ("smartphones", "Смартфоны", Some("electronics")),
    ("laptops", "Ноутбуки", Some("electronics")),
    ("headphones", "Наушники", Some("electronics")),
    ("appliances", "Бытовая техника", None),
    ("kettles", "Чайники", Some("appliances")),
    ("vacuums", "Пылесосы", Some("appliances")),
    ("clothing", "Одежда", None),
    ("t-shirts", "Футболки", Some("clothing")),
    ("jackets", "Куртки", Some("clothing")),
];

/// Returns the demo store, creating it (with regions, catalogue, prices, stock) if absent.
/// The boolean is true when it was created now.
pub async fn ensure_demo_store(db: &DatabaseConnection) -> Result<(tenant::Model, bool)> {
    if let Ok(t) = tenancy::by_slug(db, DEMO_SLUG).await {
        return Ok((t, false));
    }
    let t = tenancy::create(
        db,
        NewTenant {
            slug: DEMO_SLUG.into(),
            name: "Megashop Demo".into(),
            domains: vec!["localhost".into(), "demo.localhost".into(), "127.0.0.1".into()],
            default_locale: "ru".into(),
            default_currency: "RUB".into(),
        },
    )
    .await?;
    let cx = TenantCx::new(Arc::new(t.clone()), db.clone());
    for (position, (code, name, name_en, _)) in REGIONS.into_iter().enumerate() {
        pricing::create(
            &cx,
            NewPriceType {
                code: format!("retail-{code}"), name: format!("Розница {name}"), currency: "RUB".into()
            },
        )
        .await?;
        inventory::create(&cx, NewWarehouse { code: format!("{code}-main"), name: format!("Склад {name}") }).await?;
        regions::create(
            &cx,
            NewRegion {
                code: code.into(),
                name: name.into(),
                name_en: Some(name_en.into()),
                price_type: format!("retail-{code}"),
                warehouses: vec![format!("{code}-main")],
                parent: None,
                is_default: code == "msk",
                position: Some(position as i32),
                geo: demo_geo(code),
            },
        )
        .await?;
    }
    for (slug, name, parent) in CATEGORIES {
        categories::create(
            &cx,
            NewCategory {
                slug: Some(slug.into()),
                name: name.into(),
                parent: parent.map(Into::into),
                description: None,
                position: None,
            },
        )
        .await?;
    }
    for (region, code, name, price, free_from, min_days, max_days) in [
        ("msk", "courier", "Курьер по Москве", 39_900, Some(500_000), 1, 2),
        ("msk", "pickup", "Самовывоз с Лесной ул.", 0, None, 0, 1),
        ("spb", "courier", "Курьер по Санкт-Петербургу", 44_900, Some(700_000), 1, 3),
        ("kzn", "post", "Почта России", 29_900, None, 3, 7),
    ] {
        delivery::put(
            &cx,
            region,
            code,
            PutDeliveryMethod { name: name.into(), price, free_from, min_days, max_days, position: None },
        )
        .await?;
    }
    for (key, region, title, body) in [
        ("banner", None, "Доставка по всей России", "<p>Доставим в Москву, Санкт-Петербург и Казань.</p>"),
        ("banner", Some("msk"), "Бесплатная доставка от 5 000 ₽", "<p>Курьером по Москве — бесплатно от 5 000 ₽.</p>"),
        ("page:pickup", Some("msk"), "Пункт самовывоза", "<p>Москва, Лесная ул., 5. Ежедневно с 10 до 21.</p>"),
    ] {
        content::put(&cx, key, PutContent { title: title.into(), body: body.into(), region: region.map(Into::into) })
            .await?;
    }
    let region = regions::resolve(&cx, None).await?;
    for p in demo_products() {
        products::create(&cx, &region, p).await?;
    }
    Ok((t, true))
}

fn prices(base_rub: i64) -> BTreeMap<String, i64> {
    REGIONS.iter().map(|(code, _, _, pct)| (format!("retail-{code}"), base_rub * pct / 100 * 100)).collect()
}

fn stock(seed: usize) -> BTreeMap<String, i64> {
    REGIONS
        .iter()
        .enumerate()
        .map(|(i, (code, ..))| (format!("{code}-main"), ((seed * 7 + i * 5) % 13) as i64 - 2))
        .map(|(k, q)| (k, q.max(0)))
        .collect()
}

fn demo_products() -> Vec<NewProduct> {
    let mut out = vec![];
    let mut n = 0usize;
    let mut push = |category: &str,
                    title: String,
                    brand: &str,
                    attrs: serde_json::Value,
                    variants: Vec<(String, BTreeMap<String, String>, i64)>| {
        n += 1;
        let mut a: BTreeMap<String, serde_json::Value> = serde_json::from_value(attrs).unwrap_or_default();
        a.insert("brand".into(), json!(brand));
        let slug = crate::validate::slugify(&title);
        out.push(NewProduct {
            slug: Some(slug.clone()),
            title: title.clone(),
            description: Some(format!("{title} — в наличии в Москве, Санкт-Петербурге и Казани.")),
            category: Some(category.into()),
            status: None,
            attributes: a,
            images: vec![format!("/static/demo/{slug}.jpg")],
            seo_title: Some(format!("Купить {title}")),
            seo_description: None,
            variants: variants
                .into_iter()
                .enumerate()
                .map(|(j, (suffix, options, base))| NewVariant {
                    sku: format!("DEMO-{n:03}{suffix}"),
                    barcode: Some(format!("46{:011}", n * 10 + j)),
                    title: if options.is_empty() {
                        None
                    } else {
                        Some(options.values().cloned().collect::<Vec<_>>().join(", "))
                    },
                    options,
                    weight_grams: Some(200 + (n as i32) * 10),
                    prices: prices(base),
                    stock: stock(n + j),
                })
                .collect(),
        });
    };
    let opt =
        |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
    for (i, (brand, model)) in [
        ("Xiaomi", "Redmi Note 13"),
        ("Samsung", "Galaxy A55"),
        ("Apple", "iPhone 15"),
        ("Honor", "X8b"),
        ("Realme", "C67"),
        ("Tecno", "Spark 20"),
        ("Poco", "X6 Pro"),
        ("Infinix", "Hot 40"),
    ]
    .iter()
    .enumerate()
    {
        let base = 15_990 + (i as i64) * 7_000;
        push(
            "smartphones",
            format!("Смартфон {brand} {model}"),
            brand,
            json!({"screen_in": 6.1 + (i as f64) / 10.0, "nfc": i % 2 == 0, "os": if *brand == "Apple" { "iOS" } else { "Android" }}),
            vec![
                ("-128".into(), opt(&[("memory", "128 ГБ")]), base),
                ("-256".into(), opt(&[("memory", "256 ГБ")]), base + 4_000),
            ],
        );
    }
    for (i, (brand, model)) in [
        ("Lenovo", "IdeaPad Slim 3"),
        ("ASUS", "Vivobook 15"),
        ("HUAWEI", "MateBook D16"),
        ("Acer", "Aspire 5"),
        ("HP", "Pavilion 15"),
        ("MSI", "Modern 14"),
        ("Apple", "MacBook Air 13"),
    ]
    .iter()
    .enumerate()
    {
        push(
            "laptops",
            format!("Ноутбук {brand} {model}"),
            brand,
            json!({"ram_gb": 8 + (i % 3) * 8, "ssd_gb": 512, "screen_in": 14 + (i % 3)}),
            vec![("".into(), BTreeMap::new(), 45_990 + (i as i64) * 9_000)],
        );
    }
    for (i, (brand, model)) in [
        ("Sony", "WH-1000XM5"),
        ("JBL", "Tune 520BT"),
        ("Apple", "AirPods Pro 2"),
        ("Xiaomi", "Buds 5"),
        ("Marshall", "Major IV"),
        ("Sennheiser", "Momentum 4"),
    ]
    .iter()
    .enumerate()
    {
        push(
            "headphones",
            format!("Наушники {brand} {model}"),
            brand,
            json!({"wireless": true, "anc": i % 2 == 0}),
            vec![
                ("-BLK".into(), opt(&[("color", "чёрный")]), 3_990 + (i as i64) * 4_500),
                ("-WHT".into(), opt(&[("color", "белый")]), 3_990 + (i as i64) * 4_500),
            ],
        );
    }
    for (i, (brand, model)) in [
        ("Bosch", "TWK 3P420"),
        ("Redmond", "RK-G178"),
        ("Polaris", "PWK 1725CGL"),
        ("Tefal", "KO 2408"),
        ("Xiaomi", "Mi Smart Kettle 2"),
        ("Kitfort", "KT-6125"),
        ("Philips", "HD9350"),
    ]
    .iter()
    .enumerate()
    {
        push(
            "kettles",
            format!("Чайник {brand} {model}"),
            brand,
            json!({"volume_l": 1.5 + (i % 3) as f64 / 10.0, "power_w": 2000 + (i as i64) * 50, "glass": i % 3 == 1}),
            vec![("".into(), BTreeMap::new(), 1_990 + (i as i64) * 600)],
        );
    }
    for (i, (brand, model)) in [
        ("Dyson", "V15 Detect"),
        ("Dreame", "T20 Pro"),
        ("Samsung", "Jet 75"),
        ("Tefal", "X-Force Flex 8.60"),
        ("Karcher", "VC 4s"),
        ("Thomas", "DryBOX Amfibia"),
    ]
    .iter()
    .enumerate()
    {
        push(
            "vacuums",
            format!("Пылесос {brand} {model}"),
            brand,
            json!({"cordless": i % 2 == 0, "power_w": 400 + (i as i64) * 150}),
            vec![("".into(), BTreeMap::new(), 9_990 + (i as i64) * 6_000)],
        );
    }
    for (i, (brand, model)) in [
        ("Uniqlo", "Supima Cotton"),
        ("Befree", "Oversize"),
        ("Gloria Jeans", "Базовая"),
        ("Zarina", "Принт"),
        ("Lacoste", "Polo"),
        ("Adidas", "Essentials"),
        ("Puma", "Logo"),
        ("Nike", "Dri-FIT"),
    ]
    .iter()
    .enumerate()
    {
        push(
            "t-shirts",
            format!("Футболка {brand} {model}"),
            brand,
            json!({"material": "хлопок", "gender": if i % 2 == 0 { "унисекс" } else { "мужской" }}),
            ["S", "M", "L"].iter().map(|s| (format!("-{s}"), opt(&[("size", s)]), 990 + (i as i64) * 400)).collect(),
        );
    }
    for (i, (brand, model)) in [
        ("The North Face", "Nuptse"),
        ("Columbia", "Powder Lite"),
        ("Finn Flare", "Пуховик"),
        ("O'stin", "Парка"),
        ("Outventure", "Softshell"),
        ("Sela", "Ветровка"),
        ("Zolla", "Бомбер"),
        ("Baon", "Пальто"),
    ]
    .iter()
    .enumerate()
    {
        push(
            "jackets",
            format!("Куртка {brand} {model}"),
            brand,
            json!({"season": if i % 2 == 0 { "зима" } else { "демисезон" }, "waterproof": i % 3 == 0}),
            ["M", "L", "XL"]
                .iter()
                .map(|s| (format!("-{s}"), opt(&[("size", s)]), 5_990 + (i as i64) * 2_500))
                .collect(),
        );
    }
    out
}

/// Adds `count` generated products with `variants` variants each (prices in every price
/// type, stock in every warehouse) to an existing store, in batches. Used by benchmarks.
/// `progress` is called with the number of products written so far.
pub async fn seed_bulk(
    db: &DatabaseConnection,
    store: &tenant::Model,
    count: usize,
    variants: usize,
    mut progress: impl FnMut(usize),
) -> Result<()> {
    const BATCH: usize = 500;
    let pts = price_type::Entity::find().filter(price_type::Column::TenantId.eq(store.id)).all(db).await?;
    let whs = warehouse::Entity::find().filter(warehouse::Column::TenantId.eq(store.id)).all(db).await?;
    let cats = categories::all(&TenantCx::new(Arc::new(store.clone()), db.clone())).await?;
    let leaf: Vec<i64> = cats.iter().filter(|c| c.parent_id.is_some()).map(|c| c.id).collect();
    let now = chrono::Utc::now();
    // Continue numbering after earlier seeds, so the command can be run again.
    let first = product::Entity::find()
        .filter(product::Column::TenantId.eq(store.id))
        .filter(product::Column::Slug.starts_with(format!("bench-{}-", store.id)))
        .count(db)
        .await? as usize;
    let mut done = 0;
    while done < count {
        let n = BATCH.min(count - done);
        let txn = db.begin().await?;
        let slugs: Vec<String> = (first + done..first + done + n).map(|i| format!("bench-{}-{i}", store.id)).collect();
        product::Entity::insert_many(slugs.iter().enumerate().map(|(j, slug)| product::ActiveModel {
            tenant_id: Set(store.id),
            category_id: Set(leaf.get((done + j) % leaf.len().max(1)).copied()),
            slug: Set(slug.clone()),
            title: Set(format!("Товар для нагрузочного теста №{}", first + done + j)),
            description: Set(None),
            status: Set("active".into()),
            images: Set(json!([])),
            seo_title: Set(None),
            seo_description: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }))
        .exec(&txn)
        .await?;
        let rows = product::Entity::find()
            .filter(product::Column::TenantId.eq(store.id))
            .filter(product::Column::Slug.is_in(slugs.clone()))
            .all(&txn)
            .await?;
        let mut vrows = vec![];
        for p in &rows {
            for k in 0..variants {
                vrows.push(variant::ActiveModel {
                    tenant_id: Set(store.id),
                    product_id: Set(p.id),
                    sku: Set(format!("{}-{k}", p.slug)),
                    barcode: Set(None),
                    title: Set(None),
                    options: Set(json!({"size": k.to_string()})),
                    weight_grams: Set(None),
                    position: Set(k as i32),
                    ..Default::default()
                });
            }
        }
        for chunk in vrows.chunks(BATCH) {
            variant::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
        }
        let vs = variant::Entity::find()
            .filter(variant::Column::ProductId.is_in(rows.iter().map(|p| p.id).collect::<Vec<_>>()))
            .all(&txn)
            .await?;
        let mut prows = vec![];
        let mut srows = vec![];
        for v in &vs {
            for pt in &pts {
                prows.push(price::ActiveModel {
                    tenant_id: Set(store.id),
                    variant_id: Set(v.id),
                    price_type_id: Set(pt.id),
                    amount: Set(((v.id * 7919) % 100_000 + 100) * 100),
                    currency: Set(pt.currency.clone()),
                    ..Default::default()
                });
            }
            for w in &whs {
                srows.push(stock::ActiveModel {
                    tenant_id: Set(store.id),
                    variant_id: Set(v.id),
                    warehouse_id: Set(w.id),
                    quantity: Set((v.id + w.id) % 5),
                    ..Default::default()
                });
            }
        }
        for chunk in prows.chunks(BATCH) {
            price::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
        }
        for chunk in srows.chunks(BATCH) {
            stock::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
        }
        txn.commit().await?;
        done += n;
        progress(done);
    }
    Ok(())
}
