//! The `megashop` binary as a sysadmin uses it: real processes, real database.

use megashop_test_support::TestDb;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_megashop");

/// A command with a private data dir and, on the PostgreSQL pass, the test database.
fn megashop(data: &Path, db: &TestDb) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MEGASHOP_DATA_DIR", data)
        .env("MEGASHOP_LOG__LEVEL", "warn");
    if db.kind == "postgres" {
        c.env("MEGASHOP_DATABASE__URL", &db.url);
    }
    c
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run megashop")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Starts `quickstart` and returns the child and the base URL it printed.
fn start_quickstart(data: &Path, db: &TestDb, extra: &[&str]) -> (Child, String, String) {
    let mut child = megashop(data, db)
        .args(["quickstart", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn quickstart");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut banner = String::new();
    loop {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collect quickstart output");
            panic!("quickstart did not print its URLs within 60 s; it said:\n{banner}\n{}", text(&out.stderr));
        };
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("Press Ctrl-C") {
            break;
        }
    }
    let url = banner
        .lines()
        .find_map(|l| {
            l.trim().strip_prefix("Store API").map(|r| r.trim().trim_end_matches("/api/v1/store").to_string())
        })
        .expect("banner has the store URL");
    (child, url, banner)
}

fn interrupt_and_wait(mut child: Child) -> (bool, String) {
    let pid = child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().expect("kill -INT");
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                e.read_to_string(&mut err).ok();
            }
            return (status.success(), err);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().ok();
    panic!("quickstart did not stop within 10 s of Ctrl-C");
}

#[tokio::test]
async fn quickstart_serves_the_demo_store_stops_on_ctrl_c_and_reuses_data() {
    let db = TestDb::empty().await;
    let data = db.dir.path().join("data");
    let (child, url, banner) = start_quickstart(&data, &db, &[]);
    assert!(banner.contains("demo store created"), "{banner}");
    let token = banner.lines().map(str::trim).find(|l| l.starts_with("eyJ")).expect("banner prints the admin token");
    let client = reqwest::Client::new();
    let list: serde_json::Value =
        client.get(format!("{url}/api/v1/products?limit=5")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["total"], 50, "{list}");
    let kzn: serde_json::Value =
        client.get(format!("{url}/api/v1/store?region=kzn")).send().await.unwrap().json().await.unwrap();
    assert_eq!(kzn["regions"].as_array().unwrap().len(), 3);
    let created = client
        .post(format!("{url}/api/v1/categories"))
        .bearer_auth(token)
        .json(&serde_json::json!({"name": "Новинки"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    // The bundled GeoIP database locates a Saint Petersburg address (loopback is a trusted proxy).
    let located = client.get(format!("{url}/api/v1/store")).header("x-forwarded-for", "5.18.0.1").send().await.unwrap();
    assert_eq!(located.headers()["x-megashop-region"], "spb; by=geoip");
    assert!(data.join("GeoLite2-City.mmdb").exists());
    let (ok, stderr) = interrupt_and_wait(child);
    assert!(ok, "quickstart exited with an error after Ctrl-C: {stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    if db.kind == "sqlite" {
        assert!(data.join("megashop.db").exists());
    }

    // Second run: the same data, including the category created above.
    let (child, url, banner) = start_quickstart(&data, &db, &[]);
    assert!(banner.contains("existing data reused"), "{banner}");
    let tree: serde_json::Value = reqwest::get(format!("{url}/api/v1/categories")).await.unwrap().json().await.unwrap();
    assert!(tree.as_array().unwrap().iter().any(|c| c["slug"] == "novinki"), "{tree}");
    interrupt_and_wait(child);

    // --reset starts over.
    let (child, url, banner) = start_quickstart(&data, &db, &["--reset"]);
    assert!(banner.contains("demo store created"), "{banner}");
    let tree: serde_json::Value = reqwest::get(format!("{url}/api/v1/categories")).await.unwrap().json().await.unwrap();
    assert!(!tree.as_array().unwrap().iter().any(|c| c["slug"] == "novinki"));
    interrupt_and_wait(child);
}

#[tokio::test]
async fn tenants_regions_and_tokens_from_the_command_line() {
    let db = TestDb::empty().await;
    let data = db.dir.path().join("data");
    let out = run(megashop(&data, &db).args([
        "tenant",
        "create",
        "--slug",
        "shop",
        "--name",
        "Мой магазин",
        "--domain",
        "shop.example",
        "--domain",
        "www.shop.example",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(megashop(&data, &db).args([
        "region",
        "create",
        "--tenant",
        "shop",
        "--code",
        "ekb",
        "--name",
        "Екатеринбург",
        "--price-type",
        "retail-ekb",
        "--warehouse",
        "ekb-1",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("price type \"retail-ekb\" created"), "{}", text(&out.stdout));
    let out = run(megashop(&data, &db).args(["region", "list", "--tenant", "shop"]));
    let listing = text(&out.stdout);
    assert!(listing.contains("ekb") && listing.contains("Екатеринбург") && listing.contains("ekb-1"), "{listing}");
    let out = run(megashop(&data, &db).args(["tenant", "list"]));
    assert!(text(&out.stdout).contains("shop.example, www.shop.example"), "{}", text(&out.stdout));

    let out = run(megashop(&data, &db).args(["token", "create", "--tenant", "shop", "--role", "manager"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_string();
    let secret = std::fs::read_to_string(data.join("jwt.secret")).expect("secret generated in the data dir");
    let keys = megashop_core::auth::Keys::from_secret(&megashop_core::config::Secret::new(secret.trim()), 60);
    let claims = keys.verify(&token).expect("token verifies with the data dir's secret");
    assert_eq!(claims.role, "manager");

    // Bad input: a clear error with the stable code and the field, exit status 2, nothing written.
    let out = run(megashop(&data, &db).args([
        "tenant",
        "create",
        "--slug",
        "Bad Slug",
        "--name",
        "x",
        "--domain",
        "x.example",
    ]));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("validation_failed") && err.contains("slug"), "{err}");
    let out = run(megashop(&data, &db).env("LANG", "ru_RU.UTF-8").args([
        "tenant",
        "create",
        "--slug",
        "other",
        "--name",
        "Другой",
        "--domain",
        "shop.example",
    ]));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("domain_taken") && err.contains("уже занято"), "{err}");
    let out = run(megashop(&data, &db).args(["tenant", "list"]));
    assert!(!text(&out.stdout).contains("other"), "a failed create wrote a store");
    let out = run(megashop(&data, &db).args(["token", "create", "--tenant", "nope"]));
    assert!(text(&out.stderr).contains("tenant_not_found"), "{}", text(&out.stderr));
}

#[tokio::test]
async fn migrations_go_up_down_and_report_status() {
    let db = TestDb::empty().await;
    let data = db.dir.path().join("data");
    let out = run(megashop(&data, &db).args(["migrate", "status"]));
    assert!(text(&out.stdout).contains("pending"), "{}", text(&out.stdout));
    let out = run(megashop(&data, &db).args(["migrate", "up"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("applied") && !text(&out.stdout).contains("pending"));
    let out = run(megashop(&data, &db).args(["migrate", "down", "--steps", "1"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("pending"), "{}", text(&out.stdout));
}

#[test]
fn config_check_lists_every_invalid_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("megashop.toml");
    std::fs::write(
        &cfg,
        "[server]\nlisten = \"localhost\"\n[database]\nurl = \"mysql://db/shop\"\n[auth]\njwt_secret = \"short\"\n",
    )
    .unwrap();
    let out = Command::new(BIN).args(["--config"]).arg(&cfg).args(["config", "check"]).env_clear().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for key in ["server.listen", "database.url", "auth.jwt_secret"] {
        assert!(err.contains(key), "{key} not reported: {err}");
    }
    assert!(!err.contains("short\""), "the secret's value must not be printed: {err}");
    std::fs::write(&cfg, "[database]\nurl = \"postgres://u:hunter2@db/shop\"\n").unwrap();
    let out = Command::new(BIN).args(["--config"]).arg(&cfg).args(["config", "check"]).env_clear().output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("hunter2"), "secrets are never printed");
    let out = Command::new(BIN)
        .args(["config", "check"])
        .env_clear()
        .env("MEGASHOP_DATABASE__MAX_CONNECTIONS", "lots")
        .output()
        .unwrap();
    assert!(text(&out.stderr).contains("database.max_connections"), "{}", text(&out.stderr));
}

#[tokio::test]
async fn a_domain_with_a_scheme_is_refused() {
    let db = TestDb::empty().await;
    let data = db.dir.path().join("data");
    let out = run(megashop(&data, &db).args([
        "tenant",
        "create",
        "--slug",
        "s",
        "--name",
        "S",
        "--domain",
        "http://shop.ru",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("domains.0"), "{}", text(&out.stderr));
    let out = run(Command::new(BIN).args(["--data-dir"]).arg(&data).args(["tenant", "list"]).env_clear());
    assert!(out.status.success(), "--data-dir works on admin commands: {}", text(&out.stderr));
}

#[tokio::test]
async fn import_and_export_from_the_command_line() {
    let db = TestDb::new().await;
    let data = db.dir.path().join("data");
    let ok = |o: &Output| assert!(o.status.success(), "{}\n{}", text(&o.stdout), text(&o.stderr));
    ok(&run(megashop(&data, &db).args(["demo", "seed", "--products", "0"])));
    // --detect proposes a profile for a 1C-style price list, as TOML to edit.
    let tyres = megashop_test_support::fixture("catalogues/price-list-tyres-1c-style.xlsx");
    let out = run(megashop(&data, &db).args(["import", "--detect"]).arg(&tyres));
    ok(&out);
    let proposed = text(&out.stdout);
    assert!(
        proposed.contains("header = \"Наименование товара\"") && proposed.contains("field = \"price\""),
        "{proposed}"
    );
    // Export, then a dry run of a broken copy: a table of problems in Russian, saved as CSV
    // and XLSX, exit code 2, nothing written.
    let export = db.dir.path().join("catalog.csv");
    ok(&run(megashop(&data, &db).arg("export").arg(&export)));
    let exported = std::fs::read_to_string(&export).unwrap();
    assert!(exported.starts_with("\u{feff}product,title,"), "{}", &exported[..200]);
    let rows = exported.lines().count();
    let broken = exported.replacen(",active,", ",продано,", 1);
    let bad = db.dir.path().join("bad.csv");
    std::fs::write(&bad, broken).unwrap();
    let out = run(megashop(&data, &db).env("LANG", "ru_RU.UTF-8").args(["import", "--dry-run"]).arg(&bad));
    assert_eq!(out.status.code(), Some(2), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("Строка") && said.contains("bad_status") && said.contains("Неизвестный статус"), "{said}");
    let report = std::fs::read_to_string(db.dir.path().join("bad.report.csv")).unwrap();
    assert!(report.contains("bad_status"), "{report}");
    assert!(db.dir.path().join("bad.report.xlsx").exists());
    // The export imported back changes nothing; a second run says so.
    let out = run(megashop(&data, &db).args(["import", "--json"]).arg(&export));
    ok(&out);
    let out = run(megashop(&data, &db).args(["import", "--json"]).arg(&export));
    ok(&out);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["counts"]["created"], 0);
    assert_eq!(r["counts"]["updated"], 0);
    assert_eq!(r["counts"]["unchanged"], 50, "{r}");
    assert!(rows > 50);
    // XLSX export.
    let xlsx = db.dir.path().join("catalog.xlsx");
    ok(&run(megashop(&data, &db).arg("export").arg(&xlsx)));
    assert!(std::fs::read(&xlsx).unwrap().starts_with(b"PK"));
}

#[tokio::test]
async fn staff_accounts_are_created_re_run_safely_and_given_roles() {
    let db = TestDb::new().await;
    let data = db.dir.path().join("data");
    let pw = db.dir.path().join("pw.txt");
    std::fs::write(&pw, "Длинный-пароль-админа-1\n").unwrap();
    let out = run(on_db(&data, &db).args([
        "tenant",
        "create",
        "--slug",
        "shop",
        "--name",
        "Shop",
        "--domain",
        "shop.example",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));

    let create = |extra: &[&str]| {
        let mut c = on_db(&data, &db);
        c.args(["user", "create", "--email", "Admin@Shop.Example", "--superadmin", "--password-file"])
            .arg(&pw)
            .args(extra);
        run(&mut c)
    };
    let out = create(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("superadmin admin@shop.example created"), "{}", text(&out.stdout));
    let out = create(&[]);
    assert!(text(&out.stdout).contains("updated"), "re-running updates: {}", text(&out.stdout));

    let weak = db.dir.path().join("weak.txt");
    std::fs::write(&weak, "qwerty123").unwrap();
    let out = run(on_db(&data, &db)
        .args(["user", "create", "--email", "m@shop.example", "--password-file"])
        .arg(&weak)
        .args(["--role", "manager", "--tenant", "shop"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("password_too_common"), "{}", text(&out.stderr));
    let out = run(on_db(&data, &db)
        .args(["user", "create", "--email", "m@shop.example", "--password-file"])
        .arg(&pw)
        .args(["--role", "manager", "--tenant", "shop"]));
    assert!(text(&out.stdout).contains("m@shop.example is manager of shop"), "{}", text(&out.stdout));
    let out = run(on_db(&data, &db).args([
        "user",
        "grant",
        "--email",
        "m@shop.example",
        "--tenant",
        "shop",
        "--role",
        "support",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(on_db(&data, &db).args([
        "user",
        "grant",
        "--email",
        "m@shop.example",
        "--tenant",
        "shop",
        "--role",
        "admin",
    ]));
    assert!(text(&out.stderr).contains("invalid_role"), "{}", text(&out.stderr));
    let out = run(on_db(&data, &db).args([
        "user",
        "grant",
        "--email",
        "x@shop.example",
        "--tenant",
        "shop",
        "--role",
        "owner",
    ]));
    assert!(text(&out.stderr).contains("staff_not_found"), "{}", text(&out.stderr));

    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let accounts = megashop_core::entity::account::Entity::find().all(&db.conn).await.unwrap();
    assert_eq!(accounts.len(), 2, "one superadmin, one manager; no half-created account: {accounts:?}");
    let admin = accounts.iter().find(|a| a.email.as_deref() == Some("admin@shop.example")).unwrap();
    assert!(admin.is_superadmin && admin.password_hash.as_deref().unwrap_or("").starts_with("$argon2id$"));
    let roles = megashop_core::entity::staff_role::Entity::find()
        .filter(megashop_core::entity::staff_role::Column::Role.eq("support"))
        .all(&db.conn)
        .await
        .unwrap();
    assert_eq!(roles.len(), 1, "the grant replaced the manager role");
}

/// A command on the test's own database (SQLite too), so the test can read what it wrote.
fn on_db(data: &Path, db: &TestDb) -> Command {
    let mut c = megashop(data, db);
    c.env("MEGASHOP_DATABASE__URL", &db.url);
    c
}
