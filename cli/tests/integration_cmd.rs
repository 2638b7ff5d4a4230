//! `megashop plugins` and `megashop integration ...` as a store owner uses them: a real
//! process, a real database, the built-in example plugin `hello` reading a feed from a
//! local HTTP server.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use megashop_test_support::TestDb;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

const BIN: &str = env!("CARGO_BIN_EXE_megashop");
const TOKEN: &str = "feed-token-0a9b8c";

fn megashop(data: &Path, db: &TestDb) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MEGASHOP_DATA_DIR", data)
        .env("MEGASHOP_LOG__LEVEL", "warn")
        // Quick retries: the failing feed below is retried five times.
        .env("MEGASHOP_INTEGRATIONS__RETRY_BASE_MS", "10");
    if db.kind == "postgres" {
        c.env("MEGASHOP_DATABASE__URL", &db.url);
    }
    c
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("run megashop")
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    let (o, e) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "failed ({:?}):\n{o}\n{e}", out.status.code());
    o.into_owned()
}

/// The feed server: answers the current document to requests with the right token, or
/// the status set with `fail`.
#[derive(Clone)]
struct Feed {
    doc: Arc<Mutex<Value>>,
    fail: Arc<Mutex<Option<u16>>>,
}

async fn feed(State(f): State<Feed>, headers: HeaderMap) -> axum::response::Response {
    if let Some(s) = *f.fail.lock().unwrap() {
        return (StatusCode::from_u16(s).unwrap(), "down").into_response();
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
        return (StatusCode::UNAUTHORIZED, "who are you").into_response();
    }
    axum::Json(f.doc.lock().unwrap().clone()).into_response()
}

async fn start_feed() -> (Feed, String) {
    let f = Feed {
        doc: Arc::new(Mutex::new(json!({"products": [
            {"id": "A-1", "title": "Чайник", "price": "1299.50", "stock": 3},
            {"id": "B-7", "title": "Кружка", "sku": "MUG-7", "price": "349", "stock": 40}
        ]}))),
        fail: Arc::new(Mutex::new(None)),
    };
    let app = axum::Router::new().route("/feed.json", axum::routing::get(feed)).with_state(f.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/feed.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (f, url)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_owner_sets_up_runs_and_removes_an_integration() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (remote, url) = start_feed().await;
    let m = || megashop(&data, &db);

    let plugins = ok(m().arg("plugins"));
    assert!(plugins.lines().any(|l| l.starts_with("hello ") && l.contains("pull_catalog, pull_stock")), "{plugins}");

    ok(m().args(["tenant", "create", "--slug", "a", "--name", "A", "--domain", "a.test"]));
    ok(m().args([
        "region",
        "create",
        "--tenant",
        "a",
        "--code",
        "msk",
        "--name",
        "Москва",
        "--price-type",
        "retail",
        "--warehouse",
        "main",
        "--default",
    ]));

    // Bad settings: every problem by field, exit status 2, in the terminal's language.
    let bad = run(m().env("LANG", "ru_RU.UTF-8").args([
        "integration",
        "add",
        "hello",
        "--set",
        "url=ftp://x",
        "--set",
        "colour=red",
        "--schedule",
        "often",
    ]));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(err.contains("error [validation_failed]: 3 поля заполнены неверно."), "{err}");
    for f in ["settings.url", "settings.colour", "schedule"] {
        assert!(err.contains(f), "{f} missing in {err}");
    }

    // The token from a file: never on the command line, never printed back.
    let secret = dir.path().join("token.txt");
    std::fs::write(&secret, format!("{TOKEN}\n")).unwrap();
    let added = ok(m()
        .args(["integration", "add", "hello", "--set", &format!("url={url}")])
        .arg("--secret")
        .arg(format!("token=@{}", secret.display())));
    assert!(added.contains("integration \"hello\" added to store \"a\""), "{added}");
    assert!(added.lines().any(|l| l.trim_start().starts_with("token") && l.trim_end().ends_with("set")), "{added}");
    assert!(!added.contains(TOKEN));
    let again = run(m().args(["integration", "add", "hello", "--set", &format!("url={url}")]));
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("integration_taken"));

    let run1 = ok(m().args(["integration", "run", "hello"]));
    let row = run1.lines().nth(2).unwrap_or_default().to_string();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert!(cells.contains(&"succeeded") && cells.contains(&"manual"), "{run1}");
    // The catalogue (2 created), then stock (2 products whose prices and stock are as written).
    assert_eq!(&cells[cells.len() - 4..], ["2", "0", "2", "0"], "{run1}");
    assert!(cells.contains(&"pull_catalog+pull_stock"), "{run1}");
    let run2 = ok(m().args(["integration", "run", "hello", "--store", "a", "--catalog"]));
    let cells: Vec<String> = run2.lines().nth(2).unwrap().split_whitespace().map(str::to_string).collect();
    assert_eq!(&cells[cells.len() - 4..], ["0", "0", "2", "0"], "unchanged the second time: {run2}");

    // A bad record: reported with its id, the rest synced, the run still succeeds.
    remote.doc.lock().unwrap()["products"].as_array_mut().unwrap().push(json!({"id": "C-3", "title": "Без цены"}));
    let run3 = ok(m().args(["integration", "run", "hello"]));
    assert!(run3.lines().any(|l| l.starts_with("error") && l.contains("C-3") && l.contains("price")), "{run3}");

    // The feed down: retried, then a failed run and exit status 1.
    *remote.fail.lock().unwrap() = Some(503);
    let down = run(m().args(["integration", "run", "hello"]));
    let (out, err) = (String::from_utf8_lossy(&down.stdout), String::from_utf8_lossy(&down.stderr));
    assert_eq!(down.status.code(), Some(1), "{out}\n{err}");
    assert!(out.contains("failed") && err.contains("error [remote_error]") && err.contains("503"), "{out}\n{err}");
    assert!(out.lines().filter(|l| l.starts_with("warn") && l.contains("retry")).count() >= 4, "{out}");
    *remote.fail.lock().unwrap() = None;

    let runs = ok(m().args(["integration", "runs", "hello"]));
    assert_eq!(runs.lines().count(), 2 + 4, "{runs}");
    assert!(runs.lines().nth(2).unwrap().contains("remote_error"), "newest first: {runs}");
    let list = ok(m().args(["integration", "list"]));
    assert!(list.lines().any(|l| l.starts_with("hello") && l.contains("failed")), "{list}");

    // Update: a schedule, disabled; then show.
    ok(m().args(["integration", "update", "hello", "--schedule", "2h", "--disable"]));
    let shown = ok(m().args(["integration", "show", "hello"]));
    assert!(shown.contains("schedule     2h") && shown.contains("enabled      no"), "{shown}");
    assert!(shown.contains(&url) && !shown.contains(TOKEN), "{shown}");
    let first_run = runs.lines().last().unwrap().split_whitespace().next().unwrap().to_string();
    let log = ok(m().args(["integration", "log", &first_run]));
    assert!(log.contains("2 products read from the feed"), "{log}");

    ok(m().args(["integration", "remove", "hello"]));
    let gone = run(m().args(["integration", "show", "hello"]));
    assert_eq!(gone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("error [integration_not_found]"));
}
