//! Catalogue import and export over HTTP, on a real server and database: uploads run as
//! jobs that are polled, reports download in the reader's language, jobs stay inside
//! their store, and an export imports back unchanged.

mod common;

use common::TestServer;
use megashop_core::demo;
use megashop_core::tenancy::TenantCx;
use megashop_io::import::{self, ImportOptions};
use megashop_io::profile;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// A canonical file: two products (one with two variants) in the `basic_region` store.
const GOOD: &str = "\
product,title,category,status,sku,option:Цвет,price:retail,stock:main
kettle,Чайник Bosch,Техника > Кухня,active,K-1-W,белый,1299.50,5
kettle,Чайник Bosch,Техника > Кухня,active,K-1-B,чёрный,1299.50,0
mug,Кружка,Посуда,active,M-1,,250,3
";

/// Rows 3 and 4 are wrong: a price that is no number, negative stock, a repeated SKU with
/// other values.
const BAD: &str = "\
product,title,category,status,sku,price:retail,stock:main
kettle,Чайник,Техника,active,K-1,100,1
pot,Кастрюля,Посуда,active,P-1,abc,1
pan,Сковорода,Посуда,active,PAN-1,300,-2
pan2,Сковорода 2,Посуда,active,K-1,999,1
";

struct Upload {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

/// `POST /api/v1/imports?{query}` with a raw body.
async fn upload(
    s: &TestServer,
    host: &str,
    token: Option<&str>,
    query: &str,
    body: impl Into<reqwest::Body>,
    headers: &[(&str, &[u8])],
) -> Upload {
    let mut req = s
        .client
        .post(format!("{}/api/v1/imports?{query}", s.base))
        .header("host", host)
        .header("content-type", "text/csv")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, reqwest::header::HeaderValue::from_bytes(v).unwrap());
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.json().await.unwrap_or(Value::Null);
    Upload { status, headers, body }
}

/// Polls a job until it leaves `running` (at most 100 × 50 ms).
async fn wait(s: &TestServer, host: &str, token: &str, id: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let r = s.call(Method::GET, host, &format!("/api/v1/imports/{id}"), Some(token), None).await;
        assert_eq!(r.status, 200, "polling {id}: {:?}", r.body);
        if r.body["status"] != "running" {
            return r.body;
        }
        last = r.body;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import {id} still running after 5 s: {last}");
}

/// A GET whose body is a file.
async fn fetch(
    s: &TestServer,
    host: &str,
    token: Option<&str>,
    path: &str,
    lang: &str,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = s.client.get(format!("{}{path}", s.base)).header("host", host).header("accept-language", lang);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.unwrap().to_vec())
}

async fn started(s: &TestServer, host: &str, token: &str, query: &str, body: &str) -> String {
    let r = upload(s, host, Some(token), query, body.to_string(), &[]).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_uploaded_file_becomes_products_in_the_catalogue() {
    let s = TestServer::start().await;
    let (_, token) = s.store("a", "a.test").await;
    s.basic_region("a.test", &token).await;

    let r = upload(&s, "a.test", Some(&token), "profile=canonical&file_name=catalog.csv", GOOD, &[]).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(r.body["status"], "running");
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.headers["location"], format!("/api/v1/imports/{id}").as_str());
    assert_eq!(r.body["links"]["self"], format!("/api/v1/imports/{id}"));
    assert_eq!(r.body["links"]["report_csv"], format!("/api/v1/imports/{id}/report.csv"));

    let job = wait(&s, "a.test", &token, &id).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["file_name"], "catalog.csv");
    assert_eq!(job["dry_run"], false);
    assert_eq!(job["summary"]["applied"], true);
    assert_eq!(job["summary"]["format"], "csv");
    assert_eq!(job["summary"]["profile"], "canonical");
    assert_eq!(job["summary"]["counts"]["created"], 2);
    assert_eq!(job["summary"]["counts"]["variants"], 3);
    assert_eq!(job["progress"]["fraction"], 1.0);
    assert_eq!(job["problems"], serde_json::json!([]));
    let number = job["job"].as_i64().expect("a recorded import has a job number");

    // Visible to shoppers right away (the cache is invalidated when the import commits).
    let kettle = s.get("a.test", "/api/v1/products/kettle").await;
    assert_eq!(kettle.status, 200, "{:?}", kettle.body);
    assert_eq!(kettle.body["title"], "Чайник Bosch");
    assert_eq!(kettle.body["variants"].as_array().unwrap().len(), 2);
    assert_eq!(kettle.body["price_from"]["amount"], 129950);
    let list = s.get("a.test", "/api/v1/products").await;
    assert_eq!(list.body["total"], 2);

    // The recorded job: in the list, and by its number.
    let listed = s.call(Method::GET, "a.test", "/api/v1/imports", Some(&token), None).await;
    assert_eq!(listed.status, 200);
    let items = listed.body.as_array().unwrap();
    assert_eq!(items.len(), 1, "{:?}", listed.body);
    assert_eq!(items[0]["id"], number.to_string());
    assert_eq!(items[0]["status"], "done");
    assert_eq!(items[0]["file_name"], "catalog.csv");
    assert_eq!(items[0]["created"], 2);
    let by_number = s.call(Method::GET, "a.test", &format!("/api/v1/imports/{number}"), Some(&token), None).await;
    assert_eq!(by_number.body["status"], "done");
    assert_eq!(by_number.body["summary"]["counts"]["created"], 2);

    // Cancelling a finished job changes nothing.
    let del = s.delete("a.test", &format!("/api/v1/imports/{id}"), &token).await;
    assert_eq!(del.status, 200);
    assert_eq!(del.body["status"], "done");

    // The same file again: nothing changes.
    let again = started(&s, "a.test", &token, "profile=canonical", GOOD).await;
    let job = wait(&s, "a.test", &token, &again).await;
    assert_eq!(job["summary"]["counts"]["unchanged"], 2, "{job}");
    s.stop().await;
}

#[tokio::test]
async fn a_dry_run_reports_bad_rows_in_the_readers_language_and_writes_nothing() {
    let s = TestServer::start().await;
    let (_, token) = s.store("a", "a.test").await;
    s.basic_region("a.test", &token).await;

    let id = started(&s, "a.test", &token, "profile=canonical&dry_run=true&file_name=bad.csv", BAD).await;
    let job = wait(&s, "a.test", &token, &id).await;
    assert_eq!(job["status"], "rejected", "{job}");
    assert_eq!(job["dry_run"], true);
    assert_eq!(job["job"], Value::Null, "dry runs are not recorded");
    assert_eq!(job["summary"]["applied"], false);
    assert_eq!(job["summary"]["errors"], 3, "{job}");
    let problems = job["problems"].as_array().unwrap();
    let found: Vec<(u64, &str)> =
        problems.iter().map(|p| (p["row"].as_u64().unwrap(), p["code"].as_str().unwrap())).collect();
    assert!(found.contains(&(3, "bad_number")), "{found:?}");
    assert!(found.contains(&(4, "negative_stock")), "{found:?}");
    assert!(found.contains(&(5, "duplicate_sku")), "{found:?}");
    let bad_number = problems.iter().find(|p| p["code"] == "bad_number").unwrap();
    assert_eq!(bad_number["column"], "price:retail");
    assert_eq!(bad_number["value"], "abc");
    assert_eq!(bad_number["message"], "Not a number: write it like 1299.50 or 1 299,50.");

    // Messages follow Accept-Language, arguments included.
    let ru = s
        .raw(Method::GET, "a.test", &format!("/api/v1/imports/{id}"), Some(&token), None, &[("accept-language", "ru")])
        .await;
    let msg = |code: &str| {
        ru.body["problems"].as_array().unwrap().iter().find(|p| p["code"] == code).unwrap()["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(msg("bad_number"), "Не число: пишите как 1299.50 или 1 299,50.");
    assert_eq!(msg("duplicate_sku"), "Этот артикул уже есть в строке 2 файла.");

    // Nothing was written, and nothing was recorded.
    assert_eq!(s.get("a.test", "/api/v1/products").await.body["total"], 0);
    let listed = s.call(Method::GET, "a.test", "/api/v1/imports", Some(&token), None).await;
    assert_eq!(listed.body, serde_json::json!([]));

    // The full report downloads in Russian.
    let (status, headers, bytes) =
        fetch(&s, "a.test", Some(&token), &format!("/api/v1/imports/{id}/report.csv"), "ru").await;
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;") && disposition.contains(".csv"), "{disposition}");
    let text = String::from_utf8(bytes).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("the report starts with a BOM for Excel");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("Строка,Столбец,Значение,Уровень,Код,Причина"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(
        rows.contains(&"3,price:retail,abc,ошибка,bad_number,\"Не число: пишите как 1299.50 или 1 299,50.\""),
        "{text}"
    );
    // Cells that a spreadsheet would run as a formula are escaped.
    assert!(rows.contains(&"4,stock:main,'-2,ошибка,negative_stock,Остаток не может быть меньше нуля."), "{text}");
    assert!(rows.iter().any(|l| l.contains("duplicate_sku,Этот артикул уже есть в строке 2 файла.")), "{text}");

    // And as a workbook, in English by default.
    let (status, headers, bytes) =
        fetch(&s, "a.test", Some(&token), &format!("/api/v1/imports/{id}/report.xlsx"), "en").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert!(bytes.starts_with(b"PK"), "an XLSX file is a zip archive");
    s.stop().await;
}

#[tokio::test]
async fn jobs_belong_to_their_store() {
    let s = TestServer::start().await;
    let (_, a) = s.store("a", "a.test").await;
    let (_, b) = s.store("b", "b.test").await;
    s.basic_region("a.test", &a).await;
    s.basic_region("b.test", &b).await;

    let id = started(&s, "a.test", &a, "profile=canonical", GOOD).await;
    let job = wait(&s, "a.test", &a, &id).await;
    let number = job["job"].as_i64().unwrap().to_string();
    for key in [id.as_str(), number.as_str()] {
        for path in [
            format!("/api/v1/imports/{key}"),
            format!("/api/v1/imports/{key}/report.csv"),
            format!("/api/v1/imports/{key}/report.xlsx"),
        ] {
            let r = s.call(Method::GET, "b.test", &path, Some(&b), None).await;
            assert_eq!(r.status, 404, "{path} through store B: {:?}", r.body);
            assert_eq!(r.code(), "import_not_found");
        }
        let r = s.delete("b.test", &format!("/api/v1/imports/{key}"), &b).await;
        assert_eq!(r.status, 404);
        // Store A's token is no key to store B.
        let r = s.call(Method::GET, "b.test", &format!("/api/v1/imports/{key}"), Some(&a), None).await;
        assert_eq!((r.status.as_u16(), r.code()), (401, "invalid_token"));
    }
    let listed = s.call(Method::GET, "b.test", "/api/v1/imports", Some(&b), None).await;
    assert_eq!(listed.body, serde_json::json!([]));
    assert_eq!(s.get("b.test", "/api/v1/products").await.body["total"], 0);
    assert_eq!(s.get("a.test", "/api/v1/products").await.body["total"], 2);
    s.stop().await;
}

#[tokio::test]
async fn imports_recorded_by_another_process_are_served_from_the_database() {
    let s = TestServer::start().await;
    let (tenant, token) = s.store("a", "a.test").await;
    s.basic_region("a.test", &token).await;
    // As `megashop import` (or another server process) would run it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, BAD).unwrap();
    let cx = TenantCx::new(Arc::new(tenant), s.db.conn.clone());
    let opts = ImportOptions { profile: profile::builtin("canonical"), ..ImportOptions::default() };
    let report = import::run(&cx, &path, opts, |_| {}, Arc::new(AtomicBool::new(false))).await.unwrap();
    let number = report.job.unwrap();

    let listed = s.call(Method::GET, "a.test", "/api/v1/imports", Some(&token), None).await;
    assert_eq!(listed.body[0]["id"], number.to_string());
    assert_eq!(listed.body[0]["status"], "rejected");
    assert_eq!(listed.body[0]["file_name"], "bad.csv");
    let job = s
        .raw(
            Method::GET,
            "a.test",
            &format!("/api/v1/imports/{number}"),
            Some(&token),
            None,
            &[("accept-language", "ru")],
        )
        .await
        .body;
    assert_eq!(job["status"], "rejected", "{job}");
    assert_eq!(job["job"], number);
    assert_eq!(job["summary"]["errors"], 3);
    assert_eq!(job["summary"]["applied"], false);
    assert_eq!(job["problems_total"], 3);
    let bad_number = job["problems"].as_array().unwrap().iter().find(|p| p["code"] == "bad_number").unwrap();
    assert_eq!(bad_number["row"], 3);
    assert_eq!(bad_number["message"], "Не число: пишите как 1299.50 или 1 299,50.");
    let (status, _, bytes) =
        fetch(&s, "a.test", Some(&token), &format!("/api/v1/imports/{number}/report.csv"), "en").await;
    assert_eq!(status, 200);
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.contains("negative_stock,Stock cannot be below zero."), "{text}");
    // Nothing to stop: answered with the job as it is.
    let del = s.delete("a.test", &format!("/api/v1/imports/{number}"), &token).await;
    assert_eq!((del.status.as_u16(), del.body["status"].as_str()), (200, Some("rejected")));
    s.stop().await;
}

#[tokio::test]
async fn import_and_export_are_for_staff_only() {
    let s = TestServer::start().await;
    let (_, token) = s.store("a", "a.test").await;
    s.basic_region("a.test", &token).await;

    let r = upload(&s, "a.test", None, "profile=canonical", GOOD, &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"]["code"], "unauthorized");
    for path in ["/api/v1/imports", "/api/v1/imports/1", "/api/v1/imports/1/report.csv", "/api/v1/export"] {
        let r = s.get("a.test", path).await;
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.code(), "unauthorized");
    }
    let r = s.call(Method::DELETE, "a.test", "/api/v1/imports/1", None, None).await;
    assert_eq!(r.status, 401);
    assert_eq!(s.get("a.test", "/api/v1/products").await.body["total"], 0);
    s.stop().await;
}

#[tokio::test]
async fn bad_options_and_unknown_jobs_get_standard_errors() {
    let s = TestServer::start().await;
    let (_, token) = s.store("a", "a.test").await;
    s.basic_region("a.test", &token).await;

    let r = upload(&s, "a.test", Some(&token), "profile=nope&mode=sideways&dry_run=maybe&colour=red", GOOD, &[]).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["error"]["code"], "validation_failed");
    let codes: Vec<&str> =
        r.body["error"]["details"]["fields"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["unknown_profile", "invalid_mode", "not_a_boolean", "unknown_parameter"]);

    // A custom profile as JSON in a header: checked before the file is read.
    let wrong = br#"{"name": "mine", "column": [{"header": "Price", "field": "price"}]}"#;
    let r = upload(&s, "a.test", Some(&token), "", GOOD, &[("x-import-profile", wrong)]).await;
    assert_eq!(r.status, 422, "{:?}", r.body);
    let field = &r.body["error"]["details"]["fields"][0];
    assert_eq!(field["field"], "X-Import-Profile");
    assert_eq!(field["code"], "invalid_profile");
    assert!(field["message"].as_str().unwrap().contains("price_type"), "{field}");
    let r = upload(&s, "a.test", Some(&token), "", GOOD, &[("x-import-profile", b"{not json")]).await;
    assert_eq!(r.status, 422);

    // A custom profile that fits the file, with Cyrillic headers sent as UTF-8.
    let profile = concat!(
        r#"{"name": "прайс", "column": [{"header": "Артикул", "field": "sku"}, "#,
        r#"{"header": "Название", "field": "title"}, {"header": "Цена", "field": "price", "price_type": "retail"}]}"#
    );
    let file = "Артикул;Название;Цена\nA-1;Тарелка;99,90\nA-2;Вилка;15\n";
    let r =
        upload(&s, "a.test", Some(&token), "file_name=прайс.csv", file, &[("x-import-profile", profile.as_bytes())])
            .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let job = wait(&s, "a.test", &token, r.body["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["file_name"], "прайс.csv");
    assert_eq!(job["summary"]["profile"], "прайс");
    assert_eq!(job["summary"]["counts"]["created"], 2);

    let r = upload(&s, "a.test", Some(&token), "profile=canonical", "", &[]).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["error"]["details"]["fields"][0]["field"], "body");

    // A file that is not a spreadsheet fails as a job, with the uploaded name in the reason.
    let id = started(&s, "a.test", &token, "file_name=photo.csv", "\u{0}\u{1}\u{2}binary").await;
    let job = wait(&s, "a.test", &token, &id).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "unreadable_file");
    let reason = job["error"]["message"].as_str().unwrap();
    assert!(reason.contains("photo.csv") && !reason.contains("megashop-import-"), "{reason}");
    let r = s.call(Method::GET, "a.test", &format!("/api/v1/imports/{id}/report.csv"), Some(&token), None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.code(), "report_not_found");

    for id in ["r0000000000000000", "999999", "../etc"] {
        let r = s.call(Method::GET, "a.test", &format!("/api/v1/imports/{id}"), Some(&token), None).await;
        assert_eq!(r.status, 404, "{id}");
    }
    let r = s.call(Method::GET, "a.test", "/api/v1/imports/nope", Some(&token), None).await;
    assert_eq!(r.code(), "import_not_found");

    let r = s.call(Method::GET, "a.test", "/api/v1/export?format=pdf&status=gone", Some(&token), None).await;
    assert_eq!(r.status, 422);
    let codes: Vec<&str> =
        r.body["error"]["details"]["fields"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["invalid_format", "invalid_status"]);
    let r = s.call(Method::GET, "a.test", "/api/v1/export?category=nope", Some(&token), None).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.code(), "category_not_found");
    s.stop().await;
}

#[tokio::test]
async fn a_running_import_can_be_cancelled_and_writes_nothing() {
    let s = TestServer::start().await;
    let (_, token) = s.store("a", "a.test").await;
    s.basic_region("a.test", &token).await;
    // Far larger than server.max_body_bytes (64 KiB here): uploads have their own limit.
    let mut file = String::from("product,title,sku,price:retail,stock:main\n");
    for i in 0..60_000 {
        file.push_str(&format!("p-{i},Товар {i},SKU-{i},{}.00,{}\n", 100 + i % 900, i % 7));
    }
    let id = started(&s, "a.test", &token, "profile=canonical", &file).await;
    let r = s.delete("a.test", &format!("/api/v1/imports/{id}"), &token).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(r.body["cancel_requested"], true);
    let mut job = Value::Null;
    for _ in 0..400 {
        job = s.call(Method::GET, "a.test", &format!("/api/v1/imports/{id}"), Some(&token), None).await.body;
        if job["status"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(job["status"], "cancelled", "{job}");
    assert_eq!(s.get("a.test", "/api/v1/products").await.body["total"], 0);
    let listed = s.call(Method::GET, "a.test", "/api/v1/imports", Some(&token), None).await;
    assert_eq!(listed.body[0]["status"], "cancelled", "{:?}", listed.body);
    s.stop().await;
}

#[tokio::test]
async fn an_export_downloads_and_imports_back_unchanged() {
    let s = TestServer::start().await;
    let (demo, _) = demo::ensure_demo_store(&s.db.conn).await.unwrap();
    let token = s.keys.issue_staff(&demo, "test", "owner", None).unwrap();
    let host = "localhost";

    let (status, headers, csv) = fetch(&s, host, Some(&token), "/api/v1/export", "en").await;
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment; filename=\"catalog-demo-") && disposition.ends_with(".csv\""));
    assert_eq!(headers["x-export-products"], "50");
    assert_eq!(headers["content-length"].to_str().unwrap(), csv.len().to_string());
    assert!(csv.starts_with(b"\xEF\xBB\xBFproduct,title,"), "{:?}", String::from_utf8_lossy(&csv[..40]));

    // The demo catalogue was not imported, so the first upload has no fingerprints to
    // compare with: it rewrites every product with the same values.
    let r = upload(&s, host, Some(&token), "profile=canonical&file_name=export.csv", csv.clone(), &[]).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let job = wait(&s, host, &token, r.body["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["summary"]["counts"]["created"], 0, "{job}");
    assert_eq!(job["summary"]["errors"], 0, "{job}");
    let (_, _, again) = fetch(&s, host, Some(&token), "/api/v1/export", "en").await;
    assert!(again == csv, "the catalogue changed on the way through an import");

    // From then on, the same file changes nothing.
    let r = upload(&s, host, Some(&token), "profile=canonical&file_name=export.csv", again, &[]).await;
    let job = wait(&s, host, &token, r.body["id"].as_str().unwrap()).await;
    let counts = &job["summary"]["counts"];
    assert_eq!(counts["unchanged"], 50, "{job}");
    assert_eq!((counts["created"].as_u64(), counts["updated"].as_u64()), (Some(0), Some(0)), "{job}");

    let (status, headers, xlsx) = fetch(&s, host, Some(&token), "/api/v1/export?format=xlsx", "en").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert!(xlsx.starts_with(b"PK"), "an XLSX file is a zip archive");
    let r = upload(&s, host, Some(&token), "profile=canonical&file_name=export.xlsx", xlsx, &[]).await;
    let job = wait(&s, host, &token, r.body["id"].as_str().unwrap()).await;
    assert_eq!(job["summary"]["format"], "xlsx");
    assert_eq!(job["summary"]["counts"]["unchanged"], 50, "{job}");

    // Filters: one category, one region's prices and stock, one status.
    let (status, headers, kettles) =
        fetch(&s, host, Some(&token), "/api/v1/export?category=kettles&region=kzn&status=active", "en").await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-export-products"], "7");
    let head = String::from_utf8_lossy(&kettles).lines().next().unwrap_or_default().to_string();
    assert!(head.contains("price:retail-kzn") && !head.contains("price:retail-msk"), "{head}");
    s.stop().await;
}
