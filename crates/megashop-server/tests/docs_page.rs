//! The API reference page in a real browser (headless Chromium): it renders offline,
//! lists every operation and links each body to its schema.

mod common;

use common::TestServer;
use std::path::PathBuf;
use std::process::Command;

/// The Chromium binary: `MEGASHOP_TEST_CHROMIUM`, else `chromium` or `chromium-browser` on PATH.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("MEGASHOP_TEST_CHROMIUM") {
        return PathBuf::from(p);
    }
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("sh").args(["-c", &format!("command -v {name}")]).output() {
            let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && !path.is_empty() {
                return PathBuf::from(path);
            }
        }
    }
    panic!("headless Chromium is needed for this test: apt-get install -y chromium (or set MEGASHOP_TEST_CHROMIUM)");
}

fn headless(profile: &std::path::Path) -> Command {
    let mut c = Command::new(chromium());
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1600",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[tokio::test]
async fn api_reference_renders_in_a_browser() {
    let s = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/api/docs", s.base);
    let (dom_cmd, shot_cmd) = {
        let mut dom = headless(&dir.path().join("p1"));
        dom.args(["--dump-dom", &url]);
        let shot = dir.path().join("docs.png");
        let mut sc = headless(&dir.path().join("p2"));
        sc.arg(format!("--screenshot={}", shot.display())).arg(&url);
        (dom, (sc, shot))
    };
    let dom = tokio::task::spawn_blocking(move || {
        let mut dom_cmd = dom_cmd;
        dom_cmd.output().expect("run chromium --dump-dom")
    })
    .await
    .unwrap();
    let html = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert!(html.contains("Megashop API"), "page did not render: {}", String::from_utf8_lossy(&dom.stderr));
    for op in ["list_products", "get_product", "create_product", "set_price", "delete_warehouse"] {
        assert!(html.contains(&format!("id=\"{op}\"")), "operation {op} missing from the rendered page");
    }
    assert!(html.contains("href=\"#schema-NewProduct\""), "request bodies link to their schema");
    assert!(html.contains("id=\"schema-ErrorBody\""));
    assert!(!html.contains("cannot render"), "template error on the page");
    let (mut sc, shot) = shot_cmd;
    let out = tokio::task::spawn_blocking(move || sc.output().expect("run chromium --screenshot")).await.unwrap();
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "screenshot missing or blank ({size} bytes): {}", String::from_utf8_lossy(&out.stderr));
    if let Ok(dest) = std::env::var("MEGASHOP_SCREENSHOT_DIR") {
        std::fs::copy(&shot, PathBuf::from(dest).join("api-docs.png")).ok();
    }
    s.stop().await;
}
