//! The 1C exchange driven over HTTP exactly as 1C drives it (checkauth → init → file ×n
//! in chunks → import until success), with real fixture files, plain and zipped, against
//! the real server and database (SQLite file, or PostgreSQL with `MEGASHOP_TEST_PG_URL`).

use base64::Engine as _;
use megashop_core::config::{Config, Secret};
use megashop_core::entity::{price, product, stock, variant};
use megashop_core::tenancy::TenantCx;
use megashop_onec::OneC;
use megashop_plugin::Registry;
use megashop_server::AppState;
use megashop_test_support::TestDb;
use sea_orm::PaginatorTrait;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::oneshot;

const PASSWORD: &str = "обмен-секрет-1С";

struct Srv {
    base: String,
    db: TestDb,
    cx: TenantCx,
    owner: String,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// One answer of the exchange: its lines, decoded from the declared charset.
struct Answer {
    lines: Vec<String>,
    content_type: String,
}

impl Answer {
    fn first(&self) -> &str {
        self.lines.first().map(String::as_str).unwrap_or("")
    }
    fn text(&self) -> String {
        self.lines.join("\n")
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/1c").join(name)).unwrap()
}

impl Srv {
    async fn start(settings: Value) -> Srv {
        let db = TestDb::new().await;
        let mut config = Config { data_dir: db.dir.path().join("data"), ..Default::default() };
        config.auth.jwt_secret = Secret::new("test-secret-test-secret-test-secret!");
        config.auth.argon2_memory_kib = 256;
        config.auth.argon2_iterations = 1;
        let accounts = megashop_core::accounts::Accounts::from_config(&config).unwrap();
        let keys = accounts.keys.clone();
        let registry = Arc::new(Registry::new().with(Arc::new(OneC::new())).unwrap());
        let cx = megashop_test_support::store_with_prices(&db.conn, "a").await;
        let owner = keys.issue_staff(&cx.tenant, "test", "owner", None).unwrap();
        let state = AppState::new(db.conn.clone(), accounts, config).with_plugins(registry);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            megashop_server::serve(state, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        let srv = Srv { base, db, cx, owner, http: reqwest::Client::new(), stop: Some(tx), task: Some(task) };
        // The store's owner enables the plugin through the staff API.
        let res = srv
            .http
            .post(format!("{}/api/v1/integrations", srv.base))
            .header("host", "a.test")
            .bearer_auth(&srv.owner)
            .json(&json!({"plugin": "1c", "settings": settings, "credentials": {"password": PASSWORD}}))
            .send()
            .await
            .unwrap();
        let status = res.status();
        assert!(status.is_success(), "{status}: {}", res.text().await.unwrap());
        srv
    }

    /// One request of the exchange. `auth`: Basic credentials; `cookie`: the session's.
    async fn ex(&self, query: &str, auth: Option<(&str, &str)>, cookie: Option<&str>, body: Option<Vec<u8>>) -> Answer {
        let url = format!("{}/integrations/1c/exchange?{query}", self.base);
        let mut req = match &body {
            Some(_) => self.http.post(url),
            None => self.http.get(url),
        }
        .header("host", "a.test");
        if let Some((l, p)) = auth {
            let b = base64::engine::general_purpose::STANDARD.encode(format!("{l}:{p}"));
            req = req.header("authorization", format!("Basic {b}"));
        }
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/octet-stream").body(b);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200, "1C reads the first line, not the status");
        let content_type =
            res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let bytes = res.bytes().await.unwrap();
        let text = if content_type.contains("windows-1251") {
            encoding_rs::WINDOWS_1251.decode(&bytes).0.into_owned()
        } else {
            String::from_utf8(bytes.to_vec()).unwrap()
        };
        Answer { lines: text.lines().map(str::to_string).collect(), content_type }
    }

    /// checkauth + init; returns the cookie header 1C would send.
    async fn begin(&self) -> String {
        let a = self.ex("type=catalog&mode=checkauth", Some(("exchange", PASSWORD)), None, None).await;
        assert_eq!(a.first(), "success", "{}", a.text());
        assert!(a.lines[3].starts_with("sessid="), "{}", a.text());
        assert!(a.lines[4].starts_with("timestamp="), "{}", a.text());
        let cookie = format!("{}={}", a.lines[1], a.lines[2]);
        let a = self.ex("type=catalog&mode=init", None, Some(&cookie), None).await;
        assert_eq!(a.lines[0], "zip=yes", "{}", a.text());
        assert_eq!(a.lines[1], "file_limit=65536", "{}", a.text());
        cookie
    }

    /// Uploads a file in chunks of 64 KiB, as 1C does above `file_limit`.
    async fn upload(&self, cookie: &str, name: &str, data: &[u8]) {
        for chunk in data.chunks(65536) {
            let a = self
                .ex(&format!("type=catalog&mode=file&filename={name}"), None, Some(cookie), Some(chunk.to_vec()))
                .await;
            assert_eq!(a.first(), "success", "{}", a.text());
        }
    }

    /// `import` until it is not `progress` any more.
    async fn import(&self, cookie: &str, name: &str) -> Answer {
        self.import_counting(cookie, name).await.0
    }

    /// `import` until it is not `progress` any more; also how many `progress` answers came.
    async fn import_counting(&self, cookie: &str, name: &str) -> (Answer, usize) {
        for n in 0..600 {
            let a = self.ex(&format!("type=catalog&mode=import&filename={name}"), None, Some(cookie), None).await;
            if a.first() != "progress" {
                return (a, n);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the import of {name} never ended");
    }

    async fn count<E>(&self) -> u64
    where
        E: megashop_core::tenancy::TenantOwned + sea_orm::EntityTrait,
        E::Model: Sync,
    {
        self.cx.select::<E>().count(&self.cx.db).await.unwrap()
    }

    async fn runs(&self) -> Value {
        let res = self
            .http
            .get(format!("{}/api/v1/integrations/1c/runs", self.base))
            .header("host", "a.test")
            .bearer_auth(&self.owner)
            .send()
            .await
            .unwrap();
        res.json().await.unwrap()
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

fn settings() -> Value {
    json!({"login": "exchange", "file_limit": 65536, "step_secs": 1})
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap();
    }
    buf.into_inner()
}

#[tokio::test]
async fn a_full_exchange_twice_then_a_partial_one() {
    let srv = Srv::start(settings()).await;
    let cookie = srv.begin().await;
    srv.upload(&cookie, "import.xml", &fixture("carono-import.xml")).await;
    srv.upload(&cookie, "offers.xml", &fixture("carono-offers.xml")).await;
    let a = srv.import(&cookie, "import.xml").await;
    assert_eq!(a.first(), "success", "{}", a.text());
    assert!(a.content_type.contains("windows-1251"), "{}", a.content_type);
    assert!(a.lines[1].contains("создано 2"), "{}", a.text());
    let a = srv.import(&cookie, "offers.xml").await;
    assert_eq!(a.first(), "success", "{}", a.text());
    assert!(a.lines[1].contains("предложений записано 5"), "{}", a.text());
    // A repeated import request of the same file in the same exchange is harmless.
    let again = srv.import(&cookie, "offers.xml").await;
    assert_eq!(again.text(), a.text());
    assert_eq!(srv.ex("type=catalog&mode=complete", None, Some(&cookie), None).await.first(), "success");
    assert_eq!(srv.count::<product::Entity>().await, 2);
    assert_eq!(srv.count::<variant::Entity>().await, 5);
    assert_eq!(srv.count::<price::Entity>().await, 5);

    // The next exchange, zipped and in chunks, with the same files: nothing changes.
    let cookie = srv.begin().await;
    let zip = zip_of(&[("import.xml", &fixture("carono-import.xml")), ("offers.xml", &fixture("carono-offers.xml"))]);
    srv.upload(&cookie, "exchange.zip", &zip).await;
    let a = srv.import(&cookie, "import.xml").await;
    assert_eq!(a.first(), "success", "{}", a.text());
    assert!(a.lines[1].contains("создано 0, обновлено 0, без изменений 2"), "{}", a.text());
    let a = srv.import(&cookie, "offers.xml").await;
    assert!(a.lines[1].contains("без изменений 5"), "{}", a.text());

    // A partial exchange (УТ 11 style, prices only) changes prices and nothing else.
    let stock_before = srv.count::<stock::Entity>().await;
    let offers = String::from_utf8(fixture("carono-offers.xml")).unwrap();
    let cheaper = offers.replacen("<ЦенаЗаЕдиницу>1719</ЦенаЗаЕдиницу>", "<ЦенаЗаЕдиницу>1500.50</ЦенаЗаЕдиницу>", 1);
    assert_ne!(cheaper, offers, "the fixture has the price the test changes");
    let cookie = srv.begin().await;
    srv.upload(&cookie, "offers___x.xml", cheaper.as_bytes()).await;
    let a = srv.import(&cookie, "offers___x.xml").await;
    assert!(a.lines[1].contains("предложений записано 1"), "{}", a.text());
    let prices = amounts(&srv.cx).await;
    assert!(prices.contains(&150_050), "{prices:?}");
    assert_eq!(srv.count::<stock::Entity>().await, stock_before);

    // Every import is a run in the sync log, with its counts.
    let runs = srv.runs().await;
    let list = runs.as_array().or_else(|| runs["runs"].as_array()).cloned().unwrap_or_default();
    assert!(list.len() >= 5, "{runs}");
    assert!(list.iter().all(|r| r["status"] == "succeeded"), "{runs}");
    srv.stop().await;
}

async fn amounts(cx: &TenantCx) -> Vec<i64> {
    cx.select::<price::Entity>().all(&cx.db).await.unwrap().into_iter().map(|p| p.amount).collect()
}

#[tokio::test]
async fn the_3_1_exchange_split_in_directories() {
    let srv = Srv::start(settings()).await;
    let cookie = srv.begin().await;
    let files = [
        ("import___1.xml", "irpsv-bm6-import-classifier-3.1.xml"),
        ("goods/1/import___2.xml", "irpsv-bm6-goods-import-3.1.xml"),
        ("goods/1/offers___3.xml", "irpsv-bm6-goods-offers-3.1.xml"),
        ("goods/1/prices___4.xml", "irpsv-bm6-goods-prices-3.1.xml"),
        ("goods/1/rests___5.xml", "irpsv-bm6-goods-rests-3.1.xml"),
    ];
    for (name, f) in files {
        // 1C on Windows sends backslashes; the server takes both.
        srv.upload(&cookie, &name.replace('/', "%5C"), &fixture(f)).await;
    }
    for (name, _) in files {
        let a = srv.import(&cookie, name).await;
        assert_eq!(a.first(), "success", "{name}: {}", a.text());
    }
    assert_eq!(srv.count::<product::Entity>().await, 21);
    assert_eq!(srv.count::<variant::Entity>().await, 86);
    assert_eq!(srv.count::<price::Entity>().await, 86);
    srv.stop().await;
}

#[tokio::test]
async fn wrong_credentials_bad_files_and_broken_exchanges() {
    let srv =
        Srv::start(json!({"login": "exchange", "file_limit": 65536, "step_secs": 1, "answer_charset": "utf-8"})).await;
    // Credentials.
    let a = srv.ex("type=catalog&mode=checkauth", Some(("exchange", "wrong")), None, None).await;
    assert_eq!(a.first(), "failure");
    assert!(a.content_type.contains("utf-8"));
    assert!(a.lines[1].contains("Неверный логин или пароль"), "{}", a.text());
    let a = srv.ex("type=catalog&mode=init", None, None, None).await;
    assert_eq!((a.first(), a.lines[1].as_str()), ("failure", "Требуется авторизация"));
    let a = srv.ex("type=catalog&mode=init", None, Some("megashop_1c=abcdef0123"), None).await;
    assert!(a.text().starts_with("failure\nСессия истекла"), "{}", a.text());
    // Basic auth on every request works without a cookie.
    let a = srv.ex("type=catalog&mode=init", Some(("exchange", PASSWORD)), None, None).await;
    assert_eq!(a.first(), "zip=yes", "{}", a.text());

    let cookie = srv.begin().await;
    // Orders are not exchanged yet: a clear failure.
    let a = srv.ex("type=sale&mode=query", None, Some(&cookie), None).await;
    assert_eq!(a.first(), "failure");
    assert!(a.lines[1].contains("Обмен заказами"), "{}", a.text());
    // Names that climb out of the exchange's directory.
    let a =
        srv.ex("type=catalog&mode=file&filename=..%2F..%2Fevil.xml", None, Some(&cookie), Some(b"x".to_vec())).await;
    assert!(a.text().starts_with("failure\nНедопустимое имя файла"), "{}", a.text());
    // A chunk over file_limit.
    let a = srv.ex("type=catalog&mode=file&filename=big.xml", None, Some(&cookie), Some(vec![b' '; 70_000])).await;
    assert_eq!(a.first(), "failure", "{}", a.text());
    // A file never uploaded.
    let a = srv.import(&cookie, "nothing.xml").await;
    assert_eq!(a.first(), "failure", "{}", a.text());
    // A zip with a path out of the directory.
    srv.upload(&cookie, "evil.zip", &zip_of(&[("../../x.xml", b"<a/>")])).await;
    let a = srv.import(&cookie, "x.xml").await;
    assert!(a.text().starts_with("failure\nНедопустимое имя файла"), "{}", a.text());

    // A connection dropped mid-upload: the truncated file fails and writes nothing...
    let cookie = srv.begin().await;
    let whole = fixture("carono-import.xml");
    srv.upload(&cookie, "import.xml", &whole[..whole.len() / 2]).await;
    let a = srv.import(&cookie, "import.xml").await;
    assert!(a.text().starts_with("failure\nФайл import.xml не прочитан, каталог не изменён"), "{}", a.text());
    assert_eq!(srv.count::<product::Entity>().await, 0);
    // ...and the next exchange recovers.
    let cookie = srv.begin().await;
    srv.upload(&cookie, "import.xml", &whole).await;
    let a = srv.import(&cookie, "import.xml").await;
    assert_eq!(a.first(), "success", "{}", a.text());
    assert_eq!(srv.count::<product::Entity>().await, 2);

    // Another store without the plugin does not answer for it.
    let res = srv
        .http
        .get(format!("{}/integrations/1c/exchange?type=catalog&mode=checkauth", srv.base))
        .header("host", "b.test")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    srv.stop().await;
}

#[tokio::test]
async fn a_long_import_answers_progress_until_it_is_done() {
    // step_secs 0: no request waits for the import, so the first answers are `progress`.
    let srv = Srv::start(json!({"login": "exchange", "file_limit": 65536, "step_secs": 0})).await;
    let cookie = srv.begin().await;
    let mut file = Vec::new();
    megashop_onec::cml::gen::write_import(&mut file, 3000, 7).unwrap();
    let zip = zip_of(&[("import.xml", &file)]);
    srv.upload(&cookie, "big.zip", &zip).await;
    let (a, progress) = srv.import_counting(&cookie, "import.xml").await;
    assert_eq!(a.first(), "success", "{}", a.text());
    assert!(a.lines[1].contains("создано 3000"), "{}", a.text());
    assert!(progress >= 1, "the import ran on its own task while 1C asked again");
    assert_eq!(srv.count::<product::Entity>().await, 3000);
    srv.stop().await;
}

#[tokio::test]
async fn a_zip_bomb_is_refused_and_nothing_is_written() {
    // 1 MiB of disk per exchange; the archive is a few KiB and unpacks into 8 MiB.
    let srv =
        Srv::start(json!({"login": "exchange", "file_limit": 65536, "step_secs": 1, "max_exchange_bytes": 1048576}))
            .await;
    let cookie = srv.begin().await;
    let zeros = vec![b' '; 8 << 20];
    let bomb = zip_of(&[("import.xml", &zeros)]);
    assert!(bomb.len() < 65536, "{}", bomb.len());
    srv.upload(&cookie, "bomb.zip", &bomb).await;
    let a = srv.import(&cookie, "import.xml").await;
    assert!(a.text().starts_with("failure\nАрхив bomb.zip распаковывается в слишком большой объём"), "{}", a.text());
    assert_eq!(srv.count::<product::Entity>().await, 0);
    srv.stop().await;
}

#[tokio::test]
async fn too_many_failed_logins_lock_checkauth() {
    let srv = Srv::start(settings()).await;
    for _ in 0..10 {
        let a = srv.ex("type=catalog&mode=checkauth", Some(("exchange", "nope")), None, None).await;
        assert_eq!(a.first(), "failure");
    }
    let a = srv.ex("type=catalog&mode=checkauth", Some(("exchange", PASSWORD)), None, None).await;
    assert_eq!(a.first(), "failure", "locked even with the right password: {}", a.text());
    assert!(a.lines[1].contains("Слишком много"), "{}", a.text());
    let _ = &srv.db;
    srv.stop().await;
}
