//! The `hello` plugin as the engine runs it: a real database (a SQLite file, or
//! PostgreSQL when `MEGASHOP_TEST_PG_URL` is set), runs through `Engine::run_now` (so the
//! run and its log are recorded), and a fake feed server on 127.0.0.1.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use megashop_core::catalog::{inventory, pricing};
use megashop_core::entity::{category, external_ref, price, price_type, product, stock, variant, warehouse};
use megashop_core::tenancy::{self, NewTenant, TenantCx};
use megashop_hello_plugin::Hello;
use megashop_plugin::{
    Engine, EngineOptions, HttpPolicy, InstancePatch, Keyring, LogLine, NewInstance, Registry, RunView, Task,
};
use megashop_test_support::TestDb;
use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---- The remote system: a feed on 127.0.0.1 ------------------------------------------

/// An answer to give instead of the feed: a status and a `Retry-After` header.
type Failure = (u16, Option<&'static str>);

/// A fake of the remote system: serves `/feed.json`, can be told to fail the next
/// requests, and remembers the `Authorization` header of each request.
#[derive(Clone, Default)]
struct FakeFeed {
    feed: Arc<Mutex<Value>>,
    /// Answers to give before the feed, in order.
    failures: Arc<Mutex<VecDeque<Failure>>>,
    /// The `Authorization` header of every request, in order.
    requests: Arc<Mutex<Vec<Option<String>>>>,
}

impl FakeFeed {
    /// Starts serving `feed`; returns the fake and the feed's URL.
    async fn start(feed: Value) -> (FakeFeed, String) {
        let fake = FakeFeed::default();
        fake.set(feed);
        let app = axum::Router::new().route("/feed.json", get(serve)).with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/feed.json", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (fake, url)
    }

    fn set(&self, feed: Value) {
        *self.feed.lock().unwrap() = feed;
    }

    fn fail_next(&self, status: u16, retry_after: Option<&'static str>) {
        self.failures.lock().unwrap().push_back((status, retry_after));
    }

    fn requests(&self) -> Vec<Option<String>> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve(State(fake): State<FakeFeed>, headers: HeaderMap) -> Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    fake.requests.lock().unwrap().push(auth);
    let failure = fake.failures.lock().unwrap().pop_front();
    if let Some((status, retry_after)) = failure {
        let mut res = (StatusCode::from_u16(status).unwrap(), "busy, try later").into_response();
        if let Some(secs) = retry_after {
            res.headers_mut().insert("retry-after", secs.parse().unwrap());
        }
        return res;
    }
    axum::Json(fake.feed.lock().unwrap().clone()).into_response()
}

/// Three products: one with two variants sharing the product's price, two without.
fn catalogue() -> Value {
    json!({"products": [
        {"id": "A-1", "title": "Чайник", "description": "Стальной, 1,7 л", "category": "Кухня", "price": "1299.50",
         "variants": [
            {"id": "A-1-W", "sku": "K-1-W", "title": "белый", "stock": 3},
            {"id": "A-1-B", "sku": "K-1-B", "title": "чёрный", "price": "1349.00", "stock": 2}
         ]},
        {"id": "B-7", "title": "Кружка", "category": "Кухня", "sku": "MUG-7", "price": "349", "stock": 40},
        {"id": "C-3", "title": "Плед", "category": "Текстиль", "sku": "PLAID-3", "price": 2490, "stock": 0}
    ]})
}

/// The product with id `id` in `feed`, to change it.
fn product_mut<'a>(feed: &'a mut Value, id: &str) -> &'a mut Value {
    feed["products"].as_array_mut().unwrap().iter_mut().find(|p| p["id"] == id).unwrap()
}

// ---- The store side ------------------------------------------------------------------

/// A database with a store `a` and an engine that knows the `hello` plugin.
struct World {
    db: TestDb,
    engine: Engine,
    a: TenantCx,
}

async fn world() -> World {
    let db = TestDb::new().await;
    let a = store(&db, "a").await;
    // What the `megashop` command does at start, with this one plugin.
    let registry = Arc::new(Registry::new().with(Arc::new(Hello)).unwrap());
    let opts = EngineOptions {
        data_dir: db.dir.path().to_path_buf(),
        // Quick retries, no pacing: the fake answers at once.
        http: HttpPolicy { requests_per_second: 0.0, base_delay: Duration::from_millis(10), ..HttpPolicy::default() },
        ..EngineOptions::default()
    };
    let engine = Engine::new(db.conn.clone(), registry, Keyring::new(&[7; 32], &[]), opts);
    World { db, engine, a }
}

/// A store with one price type, `retail` (RUB), and one warehouse, `msk`: where the
/// plugin puts prices and stock when no setting says otherwise.
async fn store(db: &TestDb, slug: &str) -> TenantCx {
    let new = NewTenant {
        slug: slug.into(),
        name: slug.into(),
        domains: vec![format!("{slug}.test")],
        default_locale: "ru".into(),
        default_currency: "RUB".into(),
    };
    let cx = TenantCx::new(Arc::new(tenancy::create(&db.conn, new).await.unwrap()), db.conn.clone());
    add_price_type_and_warehouse(&cx, "retail", "msk").await;
    cx
}

async fn add_price_type_and_warehouse(cx: &TenantCx, price_type: &str, warehouse: &str) {
    let pt = pricing::NewPriceType { code: price_type.into(), name: price_type.into(), currency: "RUB".into() };
    pricing::create(cx, pt).await.unwrap();
    inventory::create(cx, inventory::NewWarehouse { code: warehouse.into(), name: warehouse.into() }).await.unwrap();
}

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// Sets the plugin up for a store, as `megashop integration add hello` does.
async fn add(w: &World, cx: &TenantCx, settings: Value, credentials: Value) {
    let new = NewInstance {
        plugin: "hello".into(),
        settings: map(settings),
        credentials: map(credentials),
        ..NewInstance::default()
    };
    w.engine.add(cx, new).await.unwrap();
}

/// Runs a task now and waits for it, as `megashop integration run hello` does.
async fn run(w: &World, cx: &TenantCx, task: Task) -> RunView {
    w.engine.run_now(cx, "hello", task, "manual").await.unwrap()
}

/// The counts of a run: (created, updated, unchanged, failed).
fn counts(r: &RunView) -> (i64, i64, i64, i64) {
    (r.created, r.updated, r.unchanged, r.failed)
}

async fn log_of(w: &World, cx: &TenantCx, r: &RunView) -> Vec<LogLine> {
    w.engine.run_errors(cx, r.id, 1000).await.unwrap()
}

/// The store's catalogue, one line per variant, sorted by SKU:
/// `K-1-W Чайник / белый [Кухня] retail=129950 msk=3`.
async fn catalogue_of(cx: &TenantCx) -> Vec<String> {
    let db = &cx.db;
    let products: HashMap<i64, product::Model> =
        cx.select::<product::Entity>().all(db).await.unwrap().into_iter().map(|p| (p.id, p)).collect();
    let cats: HashMap<i64, String> =
        cx.select::<category::Entity>().all(db).await.unwrap().into_iter().map(|c| (c.id, c.name)).collect();
    let pts: HashMap<i64, String> =
        cx.select::<price_type::Entity>().all(db).await.unwrap().into_iter().map(|p| (p.id, p.code)).collect();
    let whs: HashMap<i64, String> =
        cx.select::<warehouse::Entity>().all(db).await.unwrap().into_iter().map(|w| (w.id, w.code)).collect();
    let prices = cx.select::<price::Entity>().all(db).await.unwrap();
    let stock = cx.select::<stock::Entity>().all(db).await.unwrap();
    let mut lines = Vec::new();
    for v in cx.select::<variant::Entity>().all(db).await.unwrap() {
        let p = &products[&v.product_id];
        let mut line = format!("{} {}", v.sku, p.title);
        if let Some(t) = &v.title {
            line += &format!(" / {t}");
        }
        if let Some(c) = p.category_id {
            line += &format!(" [{}]", cats[&c]);
        }
        if p.status != "active" {
            line += &format!(" ({})", p.status);
        }
        let mut values: Vec<String> = prices
            .iter()
            .filter(|x| x.variant_id == v.id)
            .map(|x| format!("{}={}", pts[&x.price_type_id], x.amount))
            .chain(
                stock
                    .iter()
                    .filter(|s| s.variant_id == v.id)
                    .map(|s| format!("{}={}", whs[&s.warehouse_id], s.quantity)),
            )
            .collect();
        values.sort();
        for x in values {
            line += &format!(" {x}");
        }
        lines.push(line);
    }
    lines.sort();
    lines
}

/// What the first sync of [`catalogue`] gives.
fn first_catalogue() -> Vec<&'static str> {
    vec![
        "K-1-B Чайник / чёрный [Кухня] msk=2 retail=134900",
        "K-1-W Чайник / белый [Кухня] msk=3 retail=129950",
        "MUG-7 Кружка [Кухня] msk=40 retail=34900",
        "PLAID-3 Плед [Текстиль] msk=0 retail=249000",
    ]
}

// ---- The stories -----------------------------------------------------------------------

#[tokio::test]
async fn the_first_sync_creates_products_variants_categories_prices_and_stock() {
    let w = world().await;
    let (fake, url) = FakeFeed::start(catalogue()).await;
    add(&w, &w.a, json!({"url": url}), json!({})).await;

    let r = run(&w, &w.a, Task::PullCatalog).await;
    assert_eq!(r.status, "succeeded", "{r:?}");
    assert_eq!(counts(&r), (3, 0, 0, 0));
    assert_eq!(r.message.as_deref(), Some("3 products in the feed"));
    assert_eq!(
        catalogue_of(&w.a).await,
        first_catalogue(),
        "prices in the first price type, stock in the first warehouse"
    );

    let kettle =
        w.a.select::<product::Entity>().filter(product::Column::Title.eq("Чайник")).one(&w.a.db).await.unwrap();
    let kettle = kettle.unwrap();
    assert_eq!(kettle.description.as_deref(), Some("Стальной, 1,7 л"));
    assert_eq!(kettle.status, "active");
    assert_eq!(w.a.select::<category::Entity>().count(&w.a.db).await.unwrap(), 2);

    // The remote ids are mapped, under the plugin's id, each with the hash of its payload.
    let refs = w.a.select::<external_ref::Entity>().all(&w.a.db).await.unwrap();
    let mut kinds: Vec<(String, String)> =
        refs.iter().map(|r| (r.entity_kind.clone(), r.external_id.clone())).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("category", "Кухня"),
            ("category", "Текстиль"),
            ("product", "A-1"),
            ("product", "B-7"),
            ("product", "C-3"),
            ("variant", "A-1-B"),
            ("variant", "A-1-W"),
            ("variant", "B-7"),
            ("variant", "C-3"),
        ]
        .map(|(k, e)| (k.to_string(), e.to_string()))
    );
    assert!(refs.iter().all(|r| r.integration == "hello"));
    assert!(refs.iter().filter(|r| r.entity_kind != "category").all(|r| r.payload_hash.is_some()));
    assert_eq!(refs.iter().find(|r| r.external_id == "A-1").unwrap().internal_id, kettle.id);

    let log = log_of(&w, &w.a, &r).await;
    assert!(log.iter().any(|l| l.level == "info" && l.message == "3 products read from the feed"), "{log:?}");
    assert_eq!(fake.requests(), [None], "no token, no Authorization header");
}

#[tokio::test]
async fn a_second_sync_of_the_same_feed_changes_nothing() {
    let w = world().await;
    let (_fake, url) = FakeFeed::start(catalogue()).await;
    add(&w, &w.a, json!({"url": url}), json!({})).await;
    run(&w, &w.a, Task::PullCatalog).await;
    let before = w.a.select::<product::Entity>().all(&w.a.db).await.unwrap();

    let r = run(&w, &w.a, Task::PullCatalog).await;
    assert_eq!((r.status.as_str(), counts(&r)), ("succeeded", (0, 0, 3, 0)));
    assert_eq!(w.a.select::<product::Entity>().all(&w.a.db).await.unwrap(), before, "not even updated_at moved");
    assert_eq!(catalogue_of(&w.a).await, first_catalogue());

    // A stock pull of the same feed finds every price and stock as it is, too.
    let r = run(&w, &w.a, Task::PullStock).await;
    assert_eq!((r.status.as_str(), counts(&r)), ("succeeded", (0, 0, 3, 0)));
}

#[tokio::test]
async fn a_changed_price_updates_that_product_only() {
    let w = world().await;
    let (fake, url) = FakeFeed::start(catalogue()).await;
    add(&w, &w.a, json!({"url": url}), json!({})).await;
    run(&w, &w.a, Task::PullCatalog).await;

    let mut feed = catalogue();
    product_mut(&mut feed, "A-1")["variants"][1]["price"] = json!("1399.00");
    fake.set(feed);
    let r = run(&w, &w.a, Task::PullCatalog).await;
    assert_eq!((r.status.as_str(), counts(&r)), ("succeeded", (0, 1, 2, 0)));
    let mut want = first_catalogue();
    want[0] = "K-1-B Чайник / чёрный [Кухня] msk=2 retail=139900";
    assert_eq!(catalogue_of(&w.a).await, want);
}

#[tokio::test]
async fn a_bad_record_is_logged_by_its_id_and_the_others_are_written() {
    let w = world().await;
    let mut feed = catalogue();
    product_mut(&mut feed, "B-7")["price"] = json!("34,9");
    feed["products"].as_array_mut().unwrap().push(json!({"title": "Без id", "price": "1"}));
    let (_fake, url) = FakeFeed::start(feed).await;
    add(&w, &w.a, json!({"url": url}), json!({})).await;

    let r = run(&w, &w.a, Task::PullCatalog).await;
    assert_eq!(r.status, "succeeded", "one bad record does not fail the run: {r:?}");
    assert_eq!(counts(&r), (2, 0, 0, 2));
    assert_eq!(r.message.as_deref(), Some("4 products in the feed"));
    let errors: Vec<(Option<String>, String)> = log_of(&w, &w.a, &r)
        .await
        .into_iter()
        .filter(|l| l.level == "error")
        .map(|l| (l.external_id, l.message))
        .collect();
    assert_eq!(
        errors,
        [
            (Some("B-7".to_string()), "price: \"34,9\" is not a price like \"1299.50\"".to_string()),
            (None, "missing field `id`".to_string()),
        ]
    );
    let skus: Vec<String> = catalogue_of(&w.a).await.iter().map(|l| l.split(' ').next().unwrap().to_string()).collect();
    assert_eq!(skus, ["K-1-B", "K-1-W", "PLAID-3"]);

    // Fixed at the source, it arrives with the next sync.
    let (_fake, url) = FakeFeed::start(catalogue()).await;
    set(&w, json!({"url": url})).await;
    let r = run(&w, &w.a, Task::PullCatalog).await;
    assert_eq!(counts(&r), (1, 0, 2, 0));
    assert_eq!(catalogue_of(&w.a).await, first_catalogue());
}

#[tokio::test]
async fn a_503_is_retried_after_retry_after_and_the_run_succeeds() {
    let w = world().await;
    let (fake, url) = FakeFeed::start(catalogue()).await;
    add(&w, &w.a, json!({"url": url}), json!({})).await;
    fake.fail_next(503, Some("1"));

    let started = Instant::now();
    let r = run(&w, &w.a, Task::PullCatalog).await;
    assert_eq!((r.status.as_str(), counts(&r)), ("succeeded", (3, 0, 0, 0)), "{r:?}");
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was honoured");
    assert_eq!(fake.requests().len(), 2);
    let warnings: Vec<String> =
        log_of(&w, &w.a, &r).await.into_iter().filter(|l| l.level == "warn").map(|l| l.message).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("answered 503") && warnings[0].contains("retry 1 of 4 in 1.0 s"), "{warnings:?}");
}

#[tokio::test]
async fn a_feed_that_cannot_be_had_or_read_fails_the_run_and_writes_nothing() {
    let w = world().await;
    let (fake, url) = FakeFeed::start(catalogue()).await;
    add(&w, &w.a, json!({"url": url}), json!({})).await;
    for _ in 0..5 {
        fake.fail_next(502, None);
    }
    let r = run(&w, &w.a, Task::PullCatalog).await;
    assert_eq!((r.status.as_str(), r.error_code.as_deref()), ("failed", Some("remote_error")), "{r:?}");
    assert_eq!(fake.requests().len(), 5, "every attempt of the default policy");

    fake.set(json!({"items": []}));
    let r = run(&w, &w.a, Task::PullCatalog).await;
    assert_eq!((r.status.as_str(), r.error_code.as_deref()), ("failed", Some("remote_data")), "{r:?}");
    assert!(r.error_message.as_deref().unwrap_or("").contains("missing field `products`"), "{r:?}");
    assert!(catalogue_of(&w.a).await.is_empty());
}

#[tokio::test]
async fn the_token_is_stored_encrypted_and_sent_as_a_bearer_header() {
    let w = world().await;
    let (fake, url) = FakeFeed::start(catalogue()).await;
    add(&w, &w.a, json!({"url": url}), json!({"token": "s3cret-t0ken"})).await;

    let inst = w.engine.get(&w.a, "hello").await.unwrap();
    assert_eq!(inst.credentials.get("token").map(String::as_str), Some("••••"), "never shown back");
    assert!(!inst.settings.to_string().contains("s3cret"));
    let r = run(&w, &w.a, Task::PullCatalog).await;
    assert_eq!(r.status, "succeeded", "{r:?}");
    assert_eq!(fake.requests(), [Some("Bearer s3cret-t0ken".to_string())]);
    let log = log_of(&w, &w.a, &r).await;
    assert!(log.iter().all(|l| !l.message.contains("s3cret")), "{log:?}");
}

#[tokio::test]
async fn a_store_never_sees_another_stores_products() {
    let w = world().await;
    let b = store(&w.db, "b").await;
    // The same remote ids and SKUs in both stores' feeds, with other titles and prices.
    let mut feed_b = catalogue();
    for p in feed_b["products"].as_array_mut().unwrap() {
        p["title"] = json!(format!("B: {}", p["title"].as_str().unwrap()));
        p["price"] = json!("1.00");
        for v in p.get_mut("variants").and_then(Value::as_array_mut).into_iter().flatten() {
            v["price"] = json!("1.00");
        }
    }
    let (_fa, url_a) = FakeFeed::start(catalogue()).await;
    let (_fb, url_b) = FakeFeed::start(feed_b).await;
    add(&w, &w.a, json!({"url": url_a}), json!({})).await;
    add(&w, &b, json!({"url": url_b}), json!({})).await;

    run(&w, &w.a, Task::PullCatalog).await;
    assert!(catalogue_of(&b).await.is_empty(), "store A's sync wrote nothing in store B");
    assert_eq!(b.select::<external_ref::Entity>().count(&b.db).await.unwrap(), 0);

    let r = run(&w, &b, Task::PullCatalog).await;
    assert_eq!(counts(&r), (3, 0, 0, 0), "store A's mapping of the same ids is not store B's");
    assert_eq!(catalogue_of(&w.a).await, first_catalogue(), "store B's sync left store A alone");
    assert_eq!(
        catalogue_of(&b).await,
        [
            "K-1-B B: Чайник / чёрный [Кухня] msk=2 retail=100",
            "K-1-W B: Чайник / белый [Кухня] msk=3 retail=100",
            "MUG-7 B: Кружка [Кухня] msk=40 retail=100",
            "PLAID-3 B: Плед [Текстиль] msk=0 retail=100",
        ]
    );
    assert!(w.engine.runs(&b, "hello", 10).await.unwrap().len() == 1, "each store has its own run log");
}

#[tokio::test]
async fn the_stock_pull_updates_prices_and_stock_only_and_creates_nothing() {
    let w = world().await;
    let (fake, url) = FakeFeed::start(catalogue()).await;
    add(&w, &w.a, json!({"url": url}), json!({})).await;
    run(&w, &w.a, Task::PullCatalog).await;

    let mut feed = catalogue();
    let mug = product_mut(&mut feed, "B-7");
    mug["title"] = json!("Кружка большая");
    mug["stock"] = json!(35);
    product_mut(&mut feed, "A-1")["variants"][0]["price"] = json!("1199.00");
    product_mut(&mut feed, "C-3")["description"] = json!("Шерсть");
    feed["products"].as_array_mut().unwrap().push(json!({"id": "D-9", "title": "Новинка", "price": "10"}));
    fake.set(feed);

    let r = run(&w, &w.a, Task::PullStock).await;
    assert_eq!(r.status, "succeeded", "{r:?}");
    assert_eq!(r.task.as_deref(), Some("pull_stock"));
    assert_eq!(counts(&r), (0, 2, 1, 1), "the kettle and the mug changed; the plaid's description is not stock");
    assert_eq!(
        catalogue_of(&w.a).await,
        [
            "K-1-B Чайник / чёрный [Кухня] msk=2 retail=134900",
            "K-1-W Чайник / белый [Кухня] msk=3 retail=119900",
            "MUG-7 Кружка [Кухня] msk=35 retail=34900",
            "PLAID-3 Плед [Текстиль] msk=0 retail=249000",
        ],
        "the old title stays, the new product is not created"
    );
    let errors: Vec<(Option<String>, String)> = log_of(&w, &w.a, &r)
        .await
        .into_iter()
        .filter(|l| l.level == "error")
        .map(|l| (l.external_id, l.message))
        .collect();
    assert_eq!(
        errors,
        [(Some("D-9".into()), "not in the store yet (the catalogue pull creates it) (sku \"D-9\")".into())]
    );

    // The catalogue pull then brings the rest: the title, the description, the new product.
    let r = run(&w, &w.a, Task::PullCatalog).await;
    assert_eq!((r.status.as_str(), counts(&r)), ("succeeded", (1, 3, 0, 0)), "{r:?}");
    let lines = catalogue_of(&w.a).await;
    assert!(lines.contains(&"MUG-7 Кружка большая [Кухня] msk=35 retail=34900".to_string()), "{lines:?}");
    assert!(lines.contains(&"D-9 Новинка msk=0 retail=1000".to_string()), "{lines:?}");
}

#[tokio::test]
async fn settings_choose_the_price_type_and_the_warehouse() {
    let w = world().await;
    add_price_type_and_warehouse(&w.a, "opt", "spb").await;
    let (_fake, url) = FakeFeed::start(catalogue()).await;
    add(&w, &w.a, json!({"url": url}), json!({})).await;

    // With two price types and no setting, the plugin does not guess.
    let r = run(&w, &w.a, Task::PullCatalog).await;
    assert_eq!((r.status.as_str(), r.error_code.as_deref()), ("failed", Some("integration_config")), "{r:?}");
    let msg = r.error_message.unwrap_or_default();
    assert!(msg.contains("price_type: the store has several") && msg.contains("\"opt\""), "{msg}");
    assert!(catalogue_of(&w.a).await.is_empty());

    set(&w, json!({"price_type": "opt", "warehouse": "spb"})).await;
    let r = run(&w, &w.a, Task::PullCatalog).await;
    assert_eq!(counts(&r), (3, 0, 0, 0), "{r:?}");
    assert_eq!(catalogue_of(&w.a).await[0], "K-1-B Чайник / чёрный [Кухня] opt=134900 spb=2");

    // Another price type writes every product again (the hash covers the settings).
    set(&w, json!({"price_type": "retail"})).await;
    let r = run(&w, &w.a, Task::PullCatalog).await;
    assert_eq!(counts(&r), (0, 3, 0, 0), "{r:?}");
    assert_eq!(catalogue_of(&w.a).await[0], "K-1-B Чайник / чёрный [Кухня] opt=134900 retail=134900 spb=2");

    // A code the store does not have fails the run, saying which codes there are.
    set(&w, json!({"price_type": "wholesale"})).await;
    let r = run(&w, &w.a, Task::PullCatalog).await;
    assert_eq!((r.status.as_str(), r.error_code.as_deref()), ("failed", Some("integration_config")));
    let msg = r.error_message.unwrap_or_default();
    assert!(msg.contains("no \"wholesale\"") && msg.contains("\"retail\"") && msg.contains("\"opt\""), "{msg}");
}

/// Changes settings of store A's instance (merged into the stored ones).
async fn set(w: &World, settings: Value) {
    let patch = InstancePatch { settings: Some(map(settings)), ..InstancePatch::default() };
    w.engine.update(&w.a, "hello", patch).await.unwrap();
}

#[tokio::test]
async fn the_settings_are_checked_against_the_manifest() {
    let w = world().await;
    let manifest = w.engine.registry().manifest("hello").unwrap();
    assert_eq!(manifest.capabilities.len(), 2);
    for (settings, field) in [
        (json!({}), "settings.url"),
        (json!({"url": "ftp://example.com/feed.json"}), "settings.url"),
        (json!({"url": "http://127.0.0.1/feed.json", "colour": "red"}), "settings.colour"),
    ] {
        let new = NewInstance { plugin: "hello".into(), settings: map(settings), ..NewInstance::default() };
        let err = w.engine.add(&w.a, new).await.unwrap_err();
        assert!(format!("{err:?}").contains(field), "{field}: {err:?}");
    }
    assert!(w.engine.list(&w.a).await.unwrap().is_empty());
}
