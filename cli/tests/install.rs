//! `megashop install` as a sysadmin runs it, staged under `--root` in a temporary
//! directory: on SQLite, or on the PostgreSQL that `.ci/run` starts (second pass). The
//! staged install is then served from the config it wrote and used through its hosts.

use megashop_test_support::TestDb;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_megashop");
const PASSWORD: &str = "Пароль-админа-2026";

fn megashop() -> Command {
    let mut c = Command::new(BIN);
    c.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).env("MEGASHOP_LOG__LEVEL", "warn");
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Staged {
    root: PathBuf,
    pw: PathBuf,
    db: String,
    port: u16,
}

impl Staged {
    fn new(db: &TestDb) -> Staged {
        let pw = db.dir.path().join("pw");
        std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
        let db_answer = if db.kind == "postgres" { db.url.clone() } else { "sqlite".into() };
        Staged { root: db.dir.path().join("root"), pw, db: db_answer, port: free_port() }
    }

    fn install(&self, extra: &[&str]) -> Output {
        megashop()
            .args(["install", "--root"])
            .arg(&self.root)
            .args(["--domain", "shop.test", "--admin-email", "admin@shop.test", "--admin-password-file"])
            .arg(&self.pw)
            .args(["--db", &self.db, "--region-code", "msk", "--region-name", "Москва"])
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .args(extra)
            .output()
            .unwrap()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Serves the staged install from its config; returns the child once it answers.
fn serve(s: &Staged) -> Child {
    let mut child = megashop()
        .args(["--config"])
        .arg(s.path("etc/megashop/megashop.toml"))
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", s.port)).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    panic!("the staged install did not start: {}", text(&out.stderr));
}

#[tokio::test]
async fn a_staged_install_serves_its_store_through_region_subdomains_and_re_running_changes_nothing() {
    let db = TestDb::empty().await;
    let s = Staged::new(&db);
    let out = s.install(&["--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("+ create config"), "{}", text(&out.stdout));
    assert!(!s.path("etc/megashop/megashop.toml").exists(), "a dry run writes nothing");

    let out = s.install(&["--yes"]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let config = s.path("etc/megashop/megashop.toml");
    assert_eq!(mode(&config), 0o600, "the config holds secrets");
    let cfg = std::fs::read_to_string(&config).unwrap();
    assert!(!cfg.contains(PASSWORD), "the admin password is not in the config");
    assert!(s.path("etc/systemd/system/megashop.service").is_file());
    let site = std::fs::read_to_string(s.path("etc/nginx/sites-available/megashop.conf")).unwrap();
    assert!(site.contains("server_name shop.test www.shop.test *.shop.test;"), "{site}");
    assert!(site.contains(&format!("server 127.0.0.1:{};", s.port)), "{site}");
    assert_eq!(
        std::fs::read_link(s.path("etc/nginx/sites-enabled/megashop.conf")).unwrap(),
        s.path("etc/nginx/sites-available/megashop.conf")
    );
    let out = megashop().arg("--config").arg(&config).args(["config", "check"]).output().unwrap();
    assert!(out.status.success(), "the written config is valid: {}", text(&out.stderr));

    // Again with the same answers: nothing to do, and the secret is kept.
    let out = s.install(&["--yes"]);
    assert!(text(&out.stdout).contains("Nothing to change"), "{}", text(&out.stdout));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), cfg, "an unchanged install rewrites nothing");

    // Served from what it wrote: the store, its region by subdomain, the admin's login.
    let mut server = serve(&s);
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", s.port);
    let r = http.get(format!("{base}/api/v1/store")).header("host", "shop.test").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = http.get(format!("{base}/api/v1/store")).header("host", "msk.shop.test").send().await.unwrap();
    assert_eq!(r.headers()["x-megashop-region"], "msk; by=subdomain");
    let r = http
        .post(format!("{base}/api/v1/staff/auth/login"))
        .header("host", "shop.test")
        .json(&serde_json::json!({"login": "admin@shop.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (body["account"]["role"].as_str(), body["account"]["superadmin"].as_bool()),
        (Some("owner"), Some(true))
    );
    let _ = server.kill();
    let _ = server.wait();

    // Other answers: the difference is shown, then applied.
    let out = s.install(&["--yes", "--store-name", "Чайная лавка", "--region-mode", "path"]);
    let plan = text(&out.stdout);
    assert!(out.status.success(), "{plan}\n{}", text(&out.stderr));
    assert!(plan.contains("~ change store") && plan.contains("+ name \"Чайная лавка\""), "{plan}");
    assert!(plan.contains("+ region routing path,explicit,geoip,default"), "{plan}");
    assert!(!plan.contains(cfg.lines().find(|l| l.starts_with("jwt_secret")).unwrap()), "secrets never shown");
    let out = s.install(&["--yes", "--store-name", "Чайная лавка", "--region-mode", "path"]);
    assert!(text(&out.stdout).contains("Nothing to change"), "{}", text(&out.stdout));
}

#[test]
fn missing_answers_are_listed_by_flag_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        megashop().args(["install", "--yes", "--root"]).arg(dir.path()).args(["--db", "mysql://x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for flag in ["--domain", "--admin-email", "--admin-password or --admin-password-file", "--db must be"] {
        assert!(err.contains(flag), "{flag} in: {err}");
    }
    let out = megashop()
        .args(["install", "--yes", "--root"])
        .arg(dir.path())
        .args(["--domain", "shop.test", "--admin-email", "a@shop.test", "--admin-password", "12345678"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("password_too_common"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing written");
}

#[test]
fn the_example_answer_file_installs_with_flags_overriding_it() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, PASSWORD).unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/install.toml");
    let out = megashop()
        .args(["install", "--yes", "--answers"])
        .arg(&example)
        .arg("--root")
        .arg(dir.path().join("root"))
        .arg("--admin-password-file")
        .arg(&pw)
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let plan = text(&out.stdout);
    assert!(plan.contains("store \"Чайная лавка\" at shop.example with region \"msk\""), "{plan}");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "domian = \"typo.example\"\n").unwrap();
    let out = megashop().args(["install", "--yes", "--answers"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown field `domian`"), "{}", text(&out.stderr));
}

#[test]
fn nginx_accepts_the_generated_site() {
    let Some(nginx) = ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().find(|p| Path::new(p).is_file()) else {
        eprintln!("nginx is not installed: skipped (bash .ci/run installs it)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, PASSWORD).unwrap();
    let root = dir.path().join("root");
    let out = megashop()
        .args(["install", "--yes", "--root"])
        .arg(&root)
        .args(["--domain", "shop.test", "--admin-email", "admin@shop.test", "--admin-password-file"])
        .arg(&pw)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A minimal main config that includes the generated site, as Debian's does.
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "pid {0}/nginx.pid;\nerror_log {0}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  include {1}/etc/nginx/sites-enabled/*;\n}}\n",
            dir.path().display(),
            root.display()
        ),
    )
    .unwrap();
    let out = Command::new(nginx).arg("-t").arg("-c").arg(&conf).arg("-p").arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "nginx -t: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("syntax is ok"), "{}", text(&out.stderr));
}

/// The questions, in Russian, answered in a pseudo-terminal the way a person does: typing
/// the required answers, taking defaults with Enter, picking "path" with the arrow key.
#[cfg(unix)]
#[test]
fn the_interactive_install_asks_in_russian_and_applies_after_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LANG", "ru_RU.UTF-8")
        .env("TERM", "xterm")
        .env("MEGASHOP_LOG__LEVEL", "warn")
        .args(["install", "--root"])
        .arg(&root)
        .args(["--listen", &format!("127.0.0.1:{}", free_port())]);
    let mut p = expectrl::Session::spawn(cmd).expect("spawn in a pty");
    p.set_expect_timeout(Some(Duration::from_secs(30)));
    let mut step = |prompt: &str, keys: &str| {
        p.expect(prompt).unwrap_or_else(|e| panic!("waiting for {prompt:?}: {e}"));
        p.send(keys).unwrap();
    };
    step("Домен магазина", "shop.test\r");
    step("Название магазина", "Чайная лавка\r");
    step("Почта администратора", "admin@shop.test\r");
    step("Пароль администратора", &format!("{PASSWORD}\r"));
    step("Повторите", &format!("{PASSWORD}\r"));
    step("База данных", "\r");
    step("Redis", "\r");
    step("Выбор региона", "\x1b[B\r");
    step("Первый регион: код", "\r");
    step("Первый регион: название", "\r");
    step("службу systemd", "\r");
    step("сайт nginx", "\r");
    step("сертификат TLS", "\r");
    step("Выполнить этот план?", "\r");
    p.expect("Готово").expect("the install finishes");
    let plan_file = std::fs::read_to_string(root.join("etc/megashop/megashop.toml")).unwrap();
    assert!(plan_file.contains("Чайная лавка"), "{plan_file}");
    // The answers landed: a re-run with them as flags has nothing to do.
    let pw = dir.path().join("pw");
    std::fs::write(&pw, PASSWORD).unwrap();
    let listen = plan_file.lines().find(|l| l.starts_with("listen")).unwrap().split('"').nth(1).unwrap().to_string();
    let out = megashop()
        .args(["install", "--yes", "--root"])
        .arg(&root)
        .args(["--domain", "shop.test", "--store-name", "Чайная лавка", "--admin-email", "admin@shop.test"])
        .arg("--admin-password-file")
        .arg(&pw)
        .args(["--region-mode", "path", "--region-code", "msk", "--region-name", "Москва", "--listen", &listen])
        .output()
        .unwrap();
    assert!(text(&out.stdout).contains("Nothing to change"), "{}", text(&out.stdout));
}

fn doctor(config: &Path, root: &Path) -> (Option<i32>, serde_json::Value) {
    let out = megashop().arg("--config").arg(config).args(["doctor", "--json", "--root"]).arg(root).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor --json: {e}: {}{}", text(&out.stdout), text(&out.stderr)));
    (out.status.code(), report)
}

fn status<'a>(report: &'a serde_json::Value, name: &str) -> &'a str {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().is_some_and(|n| n.starts_with(name)))
        .and_then(|c| c["status"].as_str())
        .unwrap_or_else(|| panic!("no check {name:?} in {report}"))
}

#[tokio::test]
async fn doctor_reports_each_check_with_a_fix_and_fails_on_errors() {
    let db = TestDb::empty().await;
    let s = Staged::new(&db);
    let out = s.install(&["--yes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let config = s.path("etc/megashop/megashop.toml");

    // Installed, not started: warnings only (no GeoIP file, nothing on the port, no DNS, no
    // TLS) — unless this machine's disk is nearly full, which is an error of its own.
    let (code, r) = doctor(&config, &s.root);
    let errors: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "error")
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(errors.iter().all(|n| *n == "disk space"), "{r}");
    assert_eq!(code, Some(if errors.is_empty() { 0 } else { 1 }), "the exit status follows the errors: {r}");
    for (name, want) in
        [("config", "ok"), ("data directory", "ok"), ("database", "ok"), ("stores", "ok"), ("nginx", "ok")]
    {
        assert_eq!(status(&r, name), want, "{name}: {r}");
    }
    assert_eq!(status(&r, "port"), "warning");
    assert_eq!(status(&r, "geoip"), "warning");
    assert!(
        r["checks"].as_array().unwrap().iter().filter(|c| c["status"] != "ok").all(|c| c["fix"].is_string()),
        "every problem has a fix: {r}"
    );

    // Running: the port check sees megashop itself.
    let mut server = serve(&s);
    let (_, r) = doctor(&config, &s.root);
    assert_eq!(status(&r, "port"), "ok", "{r}");
    let _ = server.kill();
    let _ = server.wait();

    // An nginx site that proxies elsewhere is an error, and the exit status says so.
    let site = s.path("etc/nginx/sites-available/megashop.conf");
    let text_site = std::fs::read_to_string(&site).unwrap();
    std::fs::write(&site, text_site.replace(&format!("server 127.0.0.1:{};", s.port), "server 127.0.0.1:1;")).unwrap();
    let (code, r) = doctor(&config, &s.root);
    assert_eq!((code, status(&r, "nginx")), (Some(1), "error"), "{r}");
    assert_eq!(r["errors"].as_u64(), Some(1 + errors.len() as u64), "{r}");

    // Redis configured but unreachable; a config that does not load.
    let cfg_text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, cfg_text.replace("[redis]\nurl = \"\"", "[redis]\nurl = \"redis://127.0.0.1:1/0\""))
        .unwrap();
    let (_, r) = doctor(&config, &s.root);
    assert_eq!(status(&r, "redis"), "error", "{r}");
    std::fs::write(&config, "[server]\nlisten = \"nowhere\"\n").unwrap();
    let (code, r) = doctor(&config, &s.root);
    assert_eq!((code, status(&r, "config")), (Some(1), "error"), "{r}");
    assert!(r["checks"][0]["detail"].as_str().unwrap().contains("server.listen"), "{r}");
}

/// `megashop` with the staged install's config.
fn with_config(s: &Staged, args: &[&str]) -> Output {
    megashop().arg("--config").arg(s.path("etc/megashop/megashop.toml")).args(args).output().unwrap()
}

#[tokio::test]
async fn backup_then_damage_then_restore_gives_the_same_data_back() {
    let db = TestDb::empty().await;
    let s = Staged::new(&db);
    assert!(s.install(&["--yes"]).status.success());
    let dir = db.dir.path();
    let out = with_config(&s, &["demo", "seed", "--products", "40", "--variants", "2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let before = dir.join("before.csv");
    let out = with_config(&s, &["export", before.to_str().unwrap(), "--store", "demo"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let archive = dir.join("backup.tar.gz");
    let out = with_config(&s, &["backup", "-o", archive.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("backup written to"), "{}", text(&out.stdout));

    // Damage: one product renamed, every other hidden, and the config changed.
    let csv = std::fs::read_to_string(&before).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    let first = lines.next().unwrap();
    let damaged = dir.join("damage.csv");
    std::fs::write(&damaged, format!("{header}\n{first}\n")).unwrap();
    let out = with_config(&s, &["import", damaged.to_str().unwrap(), "--store", "demo", "--hide-missing"]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let hurt = dir.join("hurt.csv");
    with_config(&s, &["export", hurt.to_str().unwrap(), "--store", "demo", "--status", "active"]);
    assert_ne!(std::fs::read(&hurt).unwrap(), std::fs::read(&before).unwrap(), "the damage is real");
    let config = s.path("etc/megashop/megashop.toml");
    let cfg_before = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, cfg_before.replace("level = \"info\"", "level = \"debug\"")).unwrap();

    // Without --yes: the archive is checked and nothing is changed.
    let out = with_config(&s, &["restore", archive.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stdout).contains("intact"), "{}", text(&out.stdout));
    let out = with_config(&s, &["restore", archive.to_str().unwrap(), "--yes"]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));

    let after = dir.join("after.csv");
    let out = with_config(&s, &["export", after.to_str().unwrap(), "--store", "demo"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&after).unwrap(), csv, "the catalogue is back, byte for byte");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), cfg_before, "the config is back");

    // A damaged archive is refused before anything is touched.
    let bytes = std::fs::read(&archive).unwrap();
    let broken = dir.join("broken.tar.gz");
    std::fs::write(&broken, &bytes[..bytes.len() / 2]).unwrap();
    let out = with_config(&s, &["restore", broken.to_str().unwrap(), "--yes"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("not a Megashop backup") || err.contains("damaged") || err.contains("missing"), "{err}");
    let out = with_config(&s, &["export", after.to_str().unwrap(), "--store", "demo"]);
    assert!(out.status.success());
    assert_eq!(std::fs::read_to_string(&after).unwrap(), csv, "a refused restore changed nothing");
}

#[tokio::test]
async fn upgrade_applies_pending_migrations_and_rolls_back_when_the_server_is_not_ready() {
    let db = TestDb::empty().await;
    let s = Staged::new(&db);
    assert!(s.install(&["--yes"]).status.success());
    let status = |s: &Staged| text(&with_config(s, &["migrate", "status"]).stdout);
    // An older database: the last migration not applied yet.
    assert!(with_config(&s, &["migrate", "down", "--steps", "1"]).status.success());
    assert!(status(&s).contains("pending"));

    // The server does not come up (nothing answers there): back to the backup.
    let out = with_config(
        &s,
        &["upgrade", "--no-restart", "--ready-url", "http://127.0.0.1:1/readyz", "--ready-timeout-secs", "2"],
    );
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("migrations applied: 1"), "it did migrate first: {}", text(&out.stdout));
    assert!(text(&out.stderr).contains("Restored"), "{}", text(&out.stderr));
    assert!(status(&s).contains("pending"), "the rollback undid the migration: {}", status(&s));

    // With the server up, the upgrade goes through and keeps its backup. (The server
    // migrates when it starts, so the database is made older again while it runs.)
    let mut server = serve(&s);
    assert!(with_config(&s, &["migrate", "down", "--steps", "1"]).status.success());
    let out = with_config(&s, &["upgrade", "--no-restart"]);
    let _ = server.kill();
    let _ = server.wait();
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("migrations applied: 1"), "{}", text(&out.stdout));
    assert!(!status(&s).contains("pending"), "{}", status(&s));
    let backups = std::fs::read_dir(s.path("var/lib/megashop/backups")).unwrap().count();
    assert!(backups >= 1, "the pre-upgrade backup is kept");
}
