//! The sync engine against a real database (SQLite, or PostgreSQL with
//! `MEGASHOP_TEST_PG_URL`) and a fake remote API on 127.0.0.1: retries, `Retry-After`,
//! giving up, the run lock across "servers", credentials at rest, settings checks,
//! external ids per store, the state store, and the scheduler.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use megashop_core::entity::{integration, sync_error, sync_run};
use megashop_core::tenancy::{self, NewTenant, TenantCx};
use megashop_plugin::engine::{parse_schedule, RunError};
use megashop_plugin::{
    async_trait, payload_hash, Capability, Engine, EngineOptions, HttpPolicy, InstancePatch, Integration, Keyring,
    Manifest, NewInstance, PluginError, Registry, SyncContext, SyncReport, Task,
};
use megashop_test_support::TestDb;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "s3cret-token-9f8e7d";

/// A plugin written the way a plugin author would: it reads `url` (with a bearer
/// token), maps each item by its id and counts what changed.
struct Feed;

#[async_trait]
impl Integration for Feed {
    fn manifest(&self) -> Manifest {
        Manifest {
            id: "feed".into(),
            name: "Feed".into(),
            version: "1.0.0".into(),
            description: "Test feed.".into(),
            capabilities: vec![Capability::PullCatalog, Capability::PullStock],
            config_schema: json!({
                "type": "object",
                "properties": {
                    "url": {"type": "string", "format": "uri", "title": "Feed URL"},
                    "token": {"type": "string", "format": "password"},
                    "page_size": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
                    "mode": {"type": "string", "enum": ["full", "changes"], "default": "full"},
                    "max_attempts": {"type": "integer", "minimum": 1, "maximum": 10, "default": 4},
                    "requests_per_second": {"type": "number", "minimum": 0.1, "default": 100}
                },
                "required": ["url", "token"]
            }),
        }
    }

    async fn pull_catalog(&self, cx: &SyncContext) -> Result<SyncReport, PluginError> {
        let url = cx.setting_str("url").unwrap_or_default();
        let token = cx.credential("token").unwrap_or_default();
        let items: Vec<Value> = cx.http().json(cx.http().get(url).bearer_auth(token)).await?;
        let ids: Vec<String> = items.iter().filter_map(|i| i["id"].as_str().map(str::to_string)).collect();
        let known = cx.refs().lookup_many("item", &ids).await?;
        let mut report = SyncReport::default();
        for (n, item) in items.iter().enumerate() {
            let Some(id) = item["id"].as_str() else {
                cx.log().error(None, format!("item {n} has no id")).await;
                report.failed += 1;
                continue;
            };
            let hash = payload_hash(item.to_string().as_bytes());
            match known.get(id) {
                Some(r) if r.payload_hash.as_deref() == Some(hash.as_str()) => report.unchanged += 1,
                Some(_) => report.updated += 1,
                None => report.created += 1,
            }
            cx.refs().upsert("item", id, 1000 + n as i64, Some(&hash)).await?;
        }
        report.message = Some(format!("{} items", items.len()));
        Ok(report)
    }

    async fn pull_stock(&self, cx: &SyncContext) -> Result<SyncReport, PluginError> {
        cx.log().info("stock checked").await;
        Ok(SyncReport { unchanged: 1, ..Default::default() })
    }
}

/// The fake remote: answers scripted (status, Retry-After) replies first, then the items;
/// counts requests and remembers the last Authorization header.
/// Replies to give before the items: (status, Retry-After).
type Script = Arc<Mutex<VecDeque<(u16, Option<String>)>>>;

#[derive(Clone, Default)]
struct Remote {
    script: Script,
    hits: Arc<AtomicUsize>,
    auth: Arc<Mutex<Option<String>>>,
    items: Arc<Mutex<Value>>,
}

async fn items(State(r): State<Remote>, headers: HeaderMap) -> Response {
    r.hits.fetch_add(1, Ordering::SeqCst);
    *r.auth.lock().unwrap() = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let next = r.script.lock().unwrap().pop_front();
    match next {
        Some((status, retry_after)) => {
            let mut res = (StatusCode::from_u16(status).unwrap(), "try later").into_response();
            if let Some(ra) = retry_after {
                res.headers_mut().insert("retry-after", ra.parse().unwrap());
            }
            res
        }
        None => axum::Json(r.items.lock().unwrap().clone()).into_response(),
    }
}

impl Remote {
    async fn start() -> (Remote, String) {
        let r = Remote::default();
        *r.items.lock().unwrap() =
            json!([{"id": "A-1", "title": "Чайник"}, {"id": "A-2", "title": "Утюг"}, {"title": "no id"}]);
        let app = axum::Router::new().route("/items", get(items)).with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/items?api_key={TOKEN}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, url)
    }

    fn script(&self, replies: &[(u16, Option<&str>)]) {
        *self.script.lock().unwrap() = replies.iter().map(|(s, r)| (*s, r.map(str::to_string))).collect();
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

struct World {
    db: TestDb,
    engine: Engine,
    a: TenantCx,
    b: TenantCx,
}

async fn store(db: &TestDb, slug: &str) -> TenantCx {
    let t = tenancy::create(
        &db.conn,
        NewTenant {
            slug: slug.into(),
            name: slug.into(),
            domains: vec![format!("{slug}.test")],
            default_locale: "ru".into(),
            default_currency: "RUB".into(),
        },
    )
    .await
    .unwrap();
    TenantCx::new(Arc::new(t), db.conn.clone())
}

fn options(db: &TestDb, lease: Duration) -> EngineOptions {
    EngineOptions {
        data_dir: db.dir.path().to_path_buf(),
        lease,
        http: HttpPolicy {
            base_delay: Duration::from_millis(20),
            max_total_wait: Duration::from_secs(10),
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn world_with(lease: Duration) -> World {
    let db = TestDb::new().await;
    let registry = Arc::new(Registry::new().with(Arc::new(Feed)).unwrap());
    let engine = Engine::new(db.conn.clone(), registry, Keyring::new(&[7; 32], &[]), options(&db, lease));
    let a = store(&db, "a").await;
    let b = store(&db, "b").await;
    World { db, engine, a, b }
}

async fn world() -> World {
    world_with(Duration::from_secs(30)).await
}

fn new_feed(url: &str) -> NewInstance {
    NewInstance {
        plugin: "feed".into(),
        settings: json!({"url": url}).as_object().cloned().unwrap(),
        credentials: json!({"token": TOKEN}).as_object().cloned().unwrap(),
        enabled: true,
        ..Default::default()
    }
}

async fn log_of(w: &World, run_id: i64) -> Vec<sync_error::Model> {
    sync_error::Entity::find()
        .filter(sync_error::Column::RunId.eq(run_id))
        .order_by_asc(sync_error::Column::Id)
        .all(&w.db.conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_run_retries_503_then_records_counts_and_errors() {
    let w = world().await;
    let (remote, url) = Remote::start().await;
    w.engine.add(&w.a, new_feed(&url)).await.unwrap();
    remote.script(&[(503, None), (503, None)]);
    let run = w.engine.run_now(&w.a, "feed", Task::PullCatalog, "manual").await.unwrap();
    assert_eq!(remote.hits(), 3, "two 503s, then the answer");
    assert_eq!(remote.auth.lock().unwrap().as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!((run.status.as_str(), run.created, run.updated, run.unchanged, run.failed), ("succeeded", 2, 0, 0, 1));
    assert_eq!(run.task.as_deref(), Some("pull_catalog"));
    assert_eq!(run.message.as_deref(), Some("3 items"));
    let row = sync_run::Entity::find_by_id(run.id).one(&w.db.conn).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.created, row.failed, row.trigger.as_str()), ("succeeded", 2, 1, "manual"));
    assert!(row.finished_at.is_some());

    let log = log_of(&w, run.id).await;
    let retries: Vec<&str> = log.iter().filter(|l| l.level == "warn").map(|l| l.message.as_str()).collect();
    assert_eq!(retries.len(), 2, "{log:?}");
    assert!(retries[0].contains("answered 503") && retries[0].contains("retry 1 of 3"), "{}", retries[0]);
    assert!(log.iter().any(|l| l.level == "error" && l.message == "item 2 has no id"));
    for l in &log {
        assert!(!l.message.contains(TOKEN), "a secret reached the log: {}", l.message);
    }

    // The same data again: unchanged, by the payload hashes kept with the refs.
    let again = w.engine.run_now(&w.a, "feed", Task::PullCatalog, "manual").await.unwrap();
    assert_eq!((again.created, again.unchanged), (0, 2));
    // All: the catalogue, then stock, in one run.
    let all = w.engine.run_now(&w.a, "feed", Task::All, "manual").await.unwrap();
    assert_eq!((all.task.as_deref(), all.unchanged), (Some("pull_catalog+pull_stock"), 3));
    let detail = w.engine.run(&w.a, all.id, 100).await.unwrap();
    assert!(detail.log.iter().any(|l| l.message == "stock checked"));
    let runs = w.engine.runs(&w.a, "feed", 10).await.unwrap();
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), [all.id, again.id, run.id]);
}

#[tokio::test]
async fn retry_after_is_honoured_and_a_remote_that_stays_down_fails_the_run_clearly() {
    let w = world().await;
    let (remote, url) = Remote::start().await;
    w.engine.add(&w.a, new_feed(&url)).await.unwrap();
    remote.script(&[(429, Some("1"))]);
    let started = Instant::now();
    let run = w.engine.run_now(&w.a, "feed", Task::PullCatalog, "manual").await.unwrap();
    assert_eq!(run.status, "succeeded");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 was not honoured: {:?}",
        started.elapsed()
    );
    assert_eq!(remote.hits(), 2);

    // Down for good: max_attempts (3 here) attempts, then a failed run with the reason.
    w.engine
        .update(
            &w.a,
            "feed",
            InstancePatch { settings: json!({"max_attempts": 3}).as_object().cloned(), ..Default::default() },
        )
        .await
        .unwrap();
    remote.script(&[(503, None); 10]);
    let before = remote.hits();
    let run = w.engine.run_now(&w.a, "feed", Task::PullCatalog, "manual").await.unwrap();
    assert_eq!(remote.hits() - before, 3);
    assert_eq!(run.status, "failed");
    assert_eq!(run.error_code.as_deref(), Some("remote_error"));
    let msg = run.error_message.unwrap();
    assert!(msg.contains("503") && msg.contains("3 time(s)") && msg.contains("giving up"), "{msg}");
    assert!(!msg.contains(TOKEN) && !msg.contains("api_key"), "the URL's query must not show: {msg}");

    // A Retry-After beyond the retry budget fails at once instead of sleeping.
    remote.script(&[(503, Some("3600"))]);
    let started = Instant::now();
    let run = w.engine.run_now(&w.a, "feed", Task::PullCatalog, "manual").await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(run.error_code.as_deref(), Some("remote_error"));
    assert!(run.error_message.unwrap().contains("retry budget"));

    // Nobody listening: an HTTP error after the retries.
    w.engine
        .update(
            &w.a,
            "feed",
            InstancePatch {
                settings: json!({"url": "http://127.0.0.1:9/items"}).as_object().cloned(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let run = w.engine.run_now(&w.a, "feed", Task::PullCatalog, "manual").await.unwrap();
    assert_eq!(run.error_code.as_deref(), Some("http_error"), "{run:?}");
}

#[tokio::test]
async fn one_run_at_a_time_and_a_dead_servers_lease_is_taken_over() {
    let w = world().await;
    w.engine.add(&w.a, new_feed("http://127.0.0.1:9/")).await.unwrap();
    let cx = w.engine.context(&w.a, "feed").await.unwrap();
    let first = cx.begin_run("exchange").await.unwrap();
    assert!(first.run_id().is_some());
    assert!(matches!(cx.begin_run("manual").await, Err(PluginError::Busy)));
    let busy = w.engine.run_now(&w.a, "feed", Task::PullCatalog, "manual").await;
    assert!(matches!(busy, Err(RunError::Plugin(PluginError::Busy))));
    assert!(w.engine.get(&w.a, "feed").await.unwrap().running);
    // Another store's instance of the same plugin is not locked by this one.
    w.engine.add(&w.b, new_feed("http://127.0.0.1:9/")).await.unwrap();
    let other = w.engine.context(&w.b, "feed").await.unwrap().begin_run("manual").await.unwrap();
    other.finish_run(&Ok(SyncReport::default())).await.unwrap();

    let done = first.finish_run(&Ok(SyncReport { created: 5, ..Default::default() })).await.unwrap();
    assert_eq!((done.status.as_str(), done.created, done.trigger.as_str()), ("succeeded", 5, "exchange"));
    assert_eq!(
        first.finish_run(&Ok(SyncReport::default())).await.unwrap().created,
        5,
        "finishing twice changes nothing"
    );
    let row = integration::Entity::find_by_id(cx.instance_id()).one(&w.db.conn).await.unwrap().unwrap();
    assert_eq!((row.locked_by, row.locked_until), (None, None));

    // A server died holding the lock: its lease is still valid for a while, then it is
    // taken over and its run is recorded as abandoned.
    let dead_run = sync_run::ActiveModel {
        tenant_id: Set(w.a.id()),
        integration_id: Set(cx.instance_id()),
        trigger: Set("schedule".into()),
        status: Set("running".into()),
        started_at: Set(chrono::Utc::now()),
        created: Set(0),
        updated: Set(0),
        unchanged: Set(0),
        failed: Set(0),
        ..Default::default()
    }
    .insert(&w.db.conn)
    .await
    .unwrap();
    let mut am: integration::ActiveModel =
        integration::Entity::find_by_id(cx.instance_id()).one(&w.db.conn).await.unwrap().unwrap().into();
    am.locked_by = Set(Some("other-server:1/0000".into()));
    am.locked_until = Set(Some(chrono::Utc::now() + chrono::TimeDelta::seconds(60)));
    am.update(&w.db.conn).await.unwrap();
    assert!(matches!(cx.begin_run("manual").await, Err(PluginError::Busy)));
    let mut am: integration::ActiveModel =
        integration::Entity::find_by_id(cx.instance_id()).one(&w.db.conn).await.unwrap().unwrap().into();
    am.locked_until = Set(Some(chrono::Utc::now() - chrono::TimeDelta::seconds(1)));
    am.update(&w.db.conn).await.unwrap();
    let taken = cx.begin_run("manual").await.unwrap();
    let dead = sync_run::Entity::find_by_id(dead_run.id).one(&w.db.conn).await.unwrap().unwrap();
    assert_eq!((dead.status.as_str(), dead.error_code.as_deref()), ("failed", Some("abandoned")));
    assert!(dead.finished_at.is_some());

    // A run context dropped without finish_run frees the lock and is recorded.
    let dropped_id = taken.run_id().unwrap();
    drop(taken);
    let mut freed = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let r = sync_run::Entity::find_by_id(dropped_id).one(&w.db.conn).await.unwrap().unwrap();
        let i = integration::Entity::find_by_id(cx.instance_id()).one(&w.db.conn).await.unwrap().unwrap();
        if r.status == "failed" && i.locked_by.is_none() {
            assert_eq!(r.error_code.as_deref(), Some("abandoned"));
            freed = true;
            break;
        }
    }
    assert!(freed, "a dropped run must be recorded and unlocked");
    let again = cx.begin_run("manual").await.unwrap();
    again.finish_run(&Err(PluginError::Data("bad XML".into()))).await.unwrap();
    let last = w.engine.runs(&w.a, "feed", 1).await.unwrap().remove(0);
    assert_eq!((last.status.as_str(), last.error_code.as_deref()), ("failed", Some("remote_data")));
    assert_eq!(last.error_message.as_deref(), Some("data: bad XML"));
}

#[tokio::test]
async fn a_long_run_keeps_its_lease_alive() {
    let w = world_with(Duration::from_millis(300)).await;
    w.engine.add(&w.a, new_feed("http://127.0.0.1:9/")).await.unwrap();
    let cx = w.engine.context(&w.a, "feed").await.unwrap();
    let run = cx.begin_run("manual").await.unwrap();
    // Three lease lifetimes later the heartbeat has kept it.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(matches!(cx.begin_run("manual").await, Err(PluginError::Busy)));
    run.finish_run(&Ok(SyncReport::default())).await.unwrap();
    cx.begin_run("manual").await.unwrap().finish_run(&Ok(SyncReport::default())).await.unwrap();
}

#[tokio::test]
async fn credentials_are_encrypted_at_rest_and_never_shown_back() {
    let w = world().await;
    let inst = w.engine.add(&w.a, new_feed("https://erp.example.com/items")).await.unwrap();
    assert_eq!(inst.credentials.get("token").map(String::as_str), Some("••••"));
    assert_eq!(
        inst.settings,
        json!({"url": "https://erp.example.com/items", "page_size": 100, "mode": "full", "max_attempts": 4, "requests_per_second": 100.0})
    );
    let shown = serde_json::to_string(&inst).unwrap();
    assert!(!shown.contains(TOKEN));

    let raw = integration::Entity::find_by_id(inst.id).one(&w.db.conn).await.unwrap().unwrap();
    let sealed = raw.credentials_encrypted.clone().unwrap();
    assert!(sealed.starts_with("v1."), "{sealed}");
    assert!(!sealed.contains(TOKEN) && !raw.settings.contains(TOKEN));
    assert!(!serde_json::to_string(&raw).unwrap().contains(&sealed), "the entity never serializes the blob");

    let cx = w.engine.context(&w.a, "feed").await.unwrap();
    assert_eq!(cx.credential("token"), Some(TOKEN));
    assert_eq!(cx.settings()["page_size"], 100);

    // A password given among the settings is kept as a credential too; "" or the mask
    // keep the stored one; null removes it (then the required check fails).
    let patch = |c: Value| InstancePatch { credentials: c.as_object().cloned(), ..Default::default() };
    w.engine.update(&w.a, "feed", patch(json!({"token": "••••"}))).await.unwrap();
    w.engine.update(&w.a, "feed", patch(json!({"token": ""}))).await.unwrap();
    assert_eq!(w.engine.context(&w.a, "feed").await.unwrap().credential("token"), Some(TOKEN));
    let err = w.engine.update(&w.a, "feed", patch(json!({"token": null}))).await.unwrap_err();
    assert_eq!(fields(&err), [("credentials.token".to_string(), "required")]);
    let moved = InstancePatch { settings: json!({"token": "new-one"}).as_object().cloned(), ..Default::default() };
    let i = w.engine.update(&w.a, "feed", moved).await.unwrap();
    assert!(i.settings.get("token").is_none());
    assert_eq!(w.engine.context(&w.a, "feed").await.unwrap().credential("token"), Some("new-one"));

    // Another key cannot read them (invalid_config, naming the key to fix); the old key
    // listed as a previous one can.
    let wrong = Engine::new(
        w.db.conn.clone(),
        Arc::new(Registry::new().with(Arc::new(Feed)).unwrap()),
        Keyring::new(&[8; 32], &[]),
        options(&w.db, Duration::from_secs(30)),
    );
    let err = wrong.context(&w.a, "feed").await.unwrap_err();
    assert_eq!(err.code(), "invalid_config");
    assert!(!err.to_string().contains("new-one"));
    let rotated = Engine::new(
        w.db.conn.clone(),
        Arc::new(Registry::new().with(Arc::new(Feed)).unwrap()),
        Keyring::new(&[8; 32], &[[7; 32]]),
        options(&w.db, Duration::from_secs(30)),
    );
    assert_eq!(rotated.context(&w.a, "feed").await.unwrap().credential("token"), Some("new-one"));
    // A value copied into another store's row does not decrypt there.
    w.engine.add(&w.b, new_feed("https://erp.example.com/items")).await.unwrap();
    let b_id = w.engine.get(&w.b, "feed").await.unwrap().id;
    let mut am: integration::ActiveModel =
        integration::Entity::find_by_id(b_id).one(&w.db.conn).await.unwrap().unwrap().into();
    am.credentials_encrypted = Set(Some(sealed));
    am.update(&w.db.conn).await.unwrap();
    assert_eq!(w.engine.context(&w.b, "feed").await.unwrap_err().code(), "invalid_config");
}

fn fields(e: &megashop_core::Error) -> Vec<(String, &'static str)> {
    match e {
        megashop_core::Error::Validation(f) => {
            let mut v: Vec<_> = f.iter().map(|f| (f.field.clone(), f.code)).collect();
            v.sort();
            v
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn settings_are_checked_against_the_manifest_with_every_problem_by_field() {
    let w = world().await;
    let err = w
        .engine
        .add(
            &w.a,
            NewInstance {
                plugin: "feed".into(),
                name: Some(" ".into()),
                settings: json!({"url": "not a url", "page_size": 0, "mode": "sometimes", "colour": "red"})
                    .as_object()
                    .cloned()
                    .unwrap(),
                schedule: Some(megashop_plugin::engine::Schedule::Text("5s".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        fields(&err),
        [
            ("credentials.token".to_string(), "required"),
            ("name".to_string(), "required"),
            ("schedule".to_string(), "out_of_range"),
            ("settings.colour".to_string(), "unknown_field"),
            ("settings.mode".to_string(), "invalid_choice"),
            ("settings.page_size".to_string(), "out_of_range"),
            ("settings.url".to_string(), "invalid_url"),
        ]
    );
    let err = w.engine.add(&w.a, NewInstance { plugin: "nope".into(), ..Default::default() }).await.unwrap_err();
    assert_eq!(err.code(), "plugin_not_found");
    w.engine.add(&w.a, new_feed("https://x.example/")).await.unwrap();
    assert_eq!(w.engine.add(&w.a, new_feed("https://x.example/")).await.unwrap_err().code(), "integration_taken");
    assert_eq!(w.engine.get(&w.b, "feed").await.unwrap_err().code(), "integration_not_found");
    let err = w.engine.run_now(&w.b, "feed", Task::All, "manual").await.unwrap_err();
    assert!(matches!(err, RunError::Core(ref e) if e.code() == "integration_not_found"), "{err:?}");
    assert_eq!(parse_schedule("15m"), Some(900));
    assert_eq!(parse_schedule("2h"), Some(7200));
    assert_eq!(parse_schedule("90"), Some(90));
    assert_eq!(parse_schedule("soon"), None);
}

#[tokio::test]
async fn external_refs_belong_to_one_store() {
    let w = world().await;
    w.engine.add(&w.a, new_feed("https://x.example/")).await.unwrap();
    w.engine.add(&w.b, new_feed("https://x.example/")).await.unwrap();
    let a = w.engine.context(&w.a, "feed").await.unwrap().refs();
    let b = w.engine.context(&w.b, "feed").await.unwrap().refs();
    a.upsert("product", "00-1", 11, Some("h1")).await.unwrap();
    a.upsert_many("product", &[("00-2", 12, None), ("00-3", 13, Some("h3")), ("00-2", 14, None)]).await.unwrap();
    assert_eq!(
        a.lookup("product", "00-1").await.unwrap().map(|r| (r.internal_id, r.payload_hash)),
        Some((11, Some("h1".into())))
    );
    assert_eq!(
        a.lookup("product", "00-2").await.unwrap().map(|r| r.internal_id),
        Some(14),
        "the last of a repeated id wins, as with one upsert after another"
    );
    assert_eq!(b.lookup("product", "00-1").await.unwrap(), None, "store B must not see store A's refs");
    assert!(b.lookup_many("product", &["00-1", "00-2"]).await.unwrap().is_empty());
    b.upsert("product", "00-1", 99, None).await.unwrap();
    assert_eq!(a.lookup("product", "00-1").await.unwrap().unwrap().internal_id, 11);
    let many = a.lookup_many("product", &["00-1", "00-3", "missing"]).await.unwrap();
    assert_eq!(many.len(), 2);
    assert_eq!(a.external_id("product", 13).await.unwrap().as_deref(), Some("00-3"));
    assert_eq!(a.lookup("variant", "00-1").await.unwrap(), None, "kinds are separate");
    a.upsert("product", "00-1", 21, Some("h9")).await.unwrap();
    assert_eq!(a.lookup("product", "00-1").await.unwrap().unwrap().internal_id, 21);
    assert!(!b.remove("product", "00-3").await.unwrap(), "B cannot remove A's ref");
    assert!(a.remove("product", "00-3").await.unwrap());
    assert_eq!(a.lookup("product", "00-3").await.unwrap(), None);
    assert!(matches!(a.lookup("product", "").await, Err(PluginError::Data(_))));
}

#[tokio::test]
async fn the_state_store_keeps_values_until_they_expire() {
    let w = world().await;
    w.engine.add(&w.a, new_feed("https://x.example/")).await.unwrap();
    w.engine.add(&w.b, new_feed("https://x.example/")).await.unwrap();
    let s = w.engine.context(&w.a, "feed").await.unwrap().state();
    let other = w.engine.context(&w.b, "feed").await.unwrap().state();
    s.put("cursor", &json!({"page": 3}), None).await.unwrap();
    s.put("session:abc", &"cookie-1", Some(Duration::from_millis(300))).await.unwrap();
    s.put("session:def", &"cookie-2", None).await.unwrap();
    s.put("Session:xyz", &"other case", None).await.unwrap();
    assert_eq!(s.get::<Value>("cursor").await.unwrap(), Some(json!({"page": 3})));
    assert_eq!(s.get::<String>("session:abc").await.unwrap().as_deref(), Some("cookie-1"));
    assert_eq!(other.get::<Value>("cursor").await.unwrap(), None, "another store's instance has its own state");
    s.put("cursor", &json!({"page": 4}), None).await.unwrap();
    assert_eq!(s.get::<Value>("cursor").await.unwrap(), Some(json!({"page": 4})));
    assert!(matches!(s.get::<u32>("cursor").await, Err(PluginError::Data(_))));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(s.get::<String>("session:abc").await.unwrap(), None, "expired");
    assert_eq!(s.delete_prefix("session:").await.unwrap(), 2);
    assert_eq!(s.get::<String>("Session:xyz").await.unwrap().as_deref(), Some("other case"));
    assert!(s.delete("cursor").await.unwrap());
    assert!(!s.delete("cursor").await.unwrap());
    // Removing the instance removes its state.
    s.put("k", &1, None).await.unwrap();
    w.engine.remove(&w.a, "feed").await.unwrap();
    assert!(megashop_core::entity::integration_state::Entity::find()
        .filter(megashop_core::entity::integration_state::Column::TenantId.eq(w.a.id()))
        .all(&w.db.conn)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn the_scheduler_runs_due_instances_once_and_plans_the_next_run() {
    let w = world().await;
    let (remote, url) = Remote::start().await;
    let mut new = new_feed(&url);
    new.schedule = Some(megashop_plugin::engine::Schedule::Text("15m".into()));
    let inst = w.engine.add(&w.a, new).await.unwrap();
    assert_eq!(inst.schedule_secs, Some(900));
    assert!(inst.next_run_at.unwrap() <= chrono::Utc::now(), "the first run is due at once");
    // A disabled instance and one without a schedule are not run.
    let mut off = new_feed(&url);
    off.schedule = Some(megashop_plugin::engine::Schedule::Secs(60));
    off.enabled = false;
    w.engine.add(&w.b, off).await.unwrap();

    let runs = megashop_plugin::scheduler::run_due(&w.engine, 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].trigger.as_str(), runs[0].status.as_str(), runs[0].created), ("schedule", "succeeded", 2));
    assert_eq!(runs[0].task.as_deref(), Some("pull_catalog+pull_stock"));
    assert_eq!(remote.hits(), 1);
    let after = w.engine.get(&w.a, "feed").await.unwrap();
    let next = after.next_run_at.unwrap() - chrono::Utc::now();
    assert!(next > chrono::TimeDelta::seconds(890) && next <= chrono::TimeDelta::seconds(900), "{next:?}");
    assert!(megashop_plugin::scheduler::run_due(&w.engine, 10).await.unwrap().is_empty(), "not due again yet");

    // The background scheduler does the same on its own.
    let mut am: integration::ActiveModel =
        integration::Entity::find_by_id(after.id).one(&w.db.conn).await.unwrap().unwrap().into();
    am.next_run_at = Set(Some(chrono::Utc::now()));
    am.update(&w.db.conn).await.unwrap();
    let fast = Engine::new(
        w.db.conn.clone(),
        Arc::new(Registry::new().with(Arc::new(Feed)).unwrap()),
        Keyring::new(&[7; 32], &[]),
        EngineOptions { scheduler_poll: Duration::from_millis(100), ..options(&w.db, Duration::from_secs(30)) },
    );
    let finished = Arc::new(AtomicUsize::new(0));
    let f = finished.clone();
    fast.on_run_finished(Arc::new(move |_| {
        f.fetch_add(1, Ordering::SeqCst);
    }));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(megashop_plugin::scheduler::run(fast, stopped));
    for _ in 0..100 {
        if finished.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    task.await.unwrap();
    assert_eq!(finished.load(Ordering::SeqCst), 1);
    assert_eq!(remote.hits(), 2);
    assert_eq!(w.engine.runs(&w.a, "feed", 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn registry_checks_manifests() {
    struct Bad(&'static str, Value, Vec<Capability>);
    #[async_trait]
    impl Integration for Bad {
        fn manifest(&self) -> Manifest {
            Manifest {
                id: self.0.into(),
                name: "Bad".into(),
                version: "0".into(),
                description: String::new(),
                capabilities: self.2.clone(),
                config_schema: self.1.clone(),
            }
        }
    }
    let ok = json!({"type": "object", "properties": {}});
    let mut r = Registry::new();
    r.register(Arc::new(Feed)).unwrap();
    assert!(r.register(Arc::new(Feed)).is_err(), "a second plugin with the same id");
    assert!(r.register(Arc::new(Bad("Bad Id", ok.clone(), vec![]))).is_err());
    assert!(r
        .register(Arc::new(Bad("bad", json!({"type": "object", "properties": {"x": {"type": "date"}}}), vec![])))
        .is_err());
    assert!(
        r.register(Arc::new(Bad("bad", ok.clone(), vec![Capability::Routes]))).is_err(),
        "routes promised, none given"
    );
    r.register(Arc::new(Bad("1c-like", ok, vec![]))).unwrap();
    assert_eq!(r.list().iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["1c-like", "feed"]);
    // A capability the plugin does not have cannot be run.
    let w = world().await;
    let e = Engine::new(
        w.db.conn.clone(),
        Arc::new(r),
        Keyring::new(&[1; 32], &[]),
        options(&w.db, Duration::from_secs(5)),
    );
    let scheduled = NewInstance {
        plugin: "1c-like".into(),
        schedule: Some(megashop_plugin::engine::Schedule::Secs(600)),
        ..Default::default()
    };
    assert_eq!(fields(&e.add(&w.a, scheduled).await.unwrap_err()), [("schedule".to_string(), "not_schedulable")]);
    e.add(&w.a, NewInstance { plugin: "1c-like".into(), enabled: true, ..Default::default() }).await.unwrap();
    let err = e.run_now(&w.a, "1c-like", Task::All, "manual").await.unwrap_err();
    assert!(matches!(err, RunError::Core(ref c) if c.code() == "validation_failed"), "{err:?}");
    // Default methods answer Unsupported.
    let cx = e.context(&w.a, "1c-like").await.unwrap();
    let p = e.registry().get("1c-like").unwrap();
    assert!(matches!(p.pull_stock(&cx).await, Err(PluginError::Unsupported("pull_stock"))));
    assert!(cx.data_dir().unwrap().ends_with(format!("integrations/{}/{}", w.a.id(), cx.instance_id())));
    assert!(cx.data_dir().unwrap().is_dir());
}
