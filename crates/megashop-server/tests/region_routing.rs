//! Every way a request reaches a region: subdomain, path prefix, explicit choice
//! (query, header, cookie), GeoIP with real databases, the default — and their order.

mod common;

use common::{Resp, TestServer};
use megashop_core::demo;
use megashop_test_support::fixture;
use reqwest::Method;
use serde_json::json;

const PRODUCT: &str = "/api/v1/products/smartfon-apple-iphone-15";

async fn demo_server(configure: impl FnOnce(&mut megashop_core::config::Config)) -> TestServer {
    let s = TestServer::start_with(configure).await;
    demo::ensure_demo_store(&s.db.conn).await.unwrap();
    s
}

fn region(r: &Resp) -> &str {
    r.headers.get("x-megashop-region").and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn from(s: &TestServer, host: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    s.raw(Method::GET, host, path, None, None, headers).await
}

#[tokio::test]
async fn subdomains_name_the_region() {
    let s = demo_server(|_| {}).await;
    let kzn = s.get("kzn.localhost", PRODUCT).await;
    assert_eq!(region(&kzn), "kzn; by=subdomain");
    assert_eq!(kzn.body["region"], "kzn");
    // Any of the store's domains works as the base, and case does not matter.
    assert_eq!(region(&s.get("SPB.demo.localhost:8080", PRODUCT).await), "spb; by=subdomain");
    // www is the store itself, not a region.
    assert_eq!(region(&s.get("www.localhost", PRODUCT).await), "msk; by=default");
    // A subdomain that is no region is a clear 404, not a silent fallback.
    let unknown = s.get("ekb.localhost", PRODUCT).await;
    assert_eq!((unknown.status.as_u16(), unknown.code()), (404, "region_not_found"));
    // Two labels deep is not a store at all.
    let deep = s.get("a.b.localhost", PRODUCT).await;
    assert_eq!(deep.code(), "unknown_host");
    s.stop().await;
}

#[tokio::test]
async fn a_path_prefix_names_the_region_and_is_stripped() {
    let s = demo_server(|_| {}).await;
    let spb = s.get("localhost", &format!("/spb{PRODUCT}?x=1").replace("?x=1", "")).await;
    assert_eq!(spb.status, 200, "{:?}", spb.body);
    assert_eq!(region(&spb), "spb; by=path");
    assert_eq!(spb.body["region"], "spb");
    let list = s.get("localhost", "/kzn/api/v1/products?limit=1").await;
    assert_eq!((list.body["region"].as_str(), region(&list)), (Some("kzn"), "kzn; by=path"));
    // The path wins over a subdomain (default order: path, subdomain, explicit, geoip, default).
    assert_eq!(region(&s.get("kzn.localhost", &format!("/spb{PRODUCT}")).await), "spb; by=path");
    // An ordinary first segment is not a region.
    assert_eq!(region(&s.get("localhost", PRODUCT).await), "msk; by=default");
    assert_eq!(s.get("localhost", "/nope/api/v1/products").await.code(), "route_not_found");
    s.stop().await;
}

#[tokio::test]
async fn explicit_choice_by_query_header_or_cookie() {
    let s = demo_server(|_| {}).await;
    assert_eq!(region(&s.get("localhost", &format!("{PRODUCT}?region=spb")).await), "spb; by=explicit");
    assert_eq!(region(&from(&s, "localhost", PRODUCT, &[("x-region", "KZN")]).await), "kzn; by=explicit");
    assert_eq!(
        region(&from(&s, "localhost", PRODUCT, &[("cookie", "theme=dark; region=kzn")]).await),
        "kzn; by=explicit"
    );
    // The query beats the cookie; a stale cookie is ignored; a bad explicit code is an error.
    let both = from(&s, "localhost", &format!("{PRODUCT}?region=spb"), &[("cookie", "region=kzn")]).await;
    assert_eq!(region(&both), "spb; by=explicit");
    assert_eq!(region(&from(&s, "localhost", PRODUCT, &[("cookie", "region=gone")]).await), "msk; by=default");
    let bad = s.get("localhost", &format!("{PRODUCT}?region=%3Cscript%3E")).await;
    assert_eq!((bad.status.as_u16(), bad.code()), (404, "region_not_found"));
    s.stop().await;
}

fn geo_config(file: &str, trusted: &[&str]) -> impl FnOnce(&mut megashop_core::config::Config) {
    let path = fixture(&format!("geo/{file}"));
    let trusted: Vec<String> = trusted.iter().map(|s| s.to_string()).collect();
    move |c| {
        c.geoip.database = path;
        c.server.trusted_proxies = trusted;
    }
}

#[tokio::test]
async fn geoip_with_geolite2_behind_a_trusted_proxy() {
    let s = demo_server(geo_config("GeoLite2-City-2019-12-24-RU.mmdb", &["127.0.0.1/32"])).await;
    let xff = |ip: &'static str| [("x-forwarded-for", ip)];
    // 5.18.0.1 is Saint Petersburg (city 498817), 95.165.0.1 Moscow.
    assert_eq!(region(&from(&s, "localhost", PRODUCT, &xff("5.18.0.1")).await), "spb; by=geoip");
    assert_eq!(region(&from(&s, "localhost", PRODUCT, &xff("95.165.0.1")).await), "msk; by=geoip");
    assert_eq!(region(&from(&s, "localhost", PRODUCT, &[("forwarded", "for=5.18.0.1")]).await), "spb; by=geoip");
    // Ufa matches no region; Yandex's address has no city: both fall through to the default.
    assert_eq!(region(&from(&s, "localhost", PRODUCT, &xff("46.191.128.1")).await), "msk; by=default");
    assert_eq!(region(&from(&s, "localhost", PRODUCT, &xff("77.88.55.60")).await), "msk; by=default");
    // A region in the URL always beats the location; crawlers are never located.
    assert_eq!(region(&from(&s, "kzn.localhost", PRODUCT, &xff("5.18.0.1")).await), "kzn; by=subdomain");
    let bot = [("x-forwarded-for", "5.18.0.1"), ("user-agent", "Mozilla/5.0 (compatible; YandexBot/3.0)")];
    assert_eq!(region(&from(&s, "localhost", PRODUCT, &bot).await), "msk; by=default");
    // Hostile headers fall through, never fail.
    let flood = vec!["garbage"; 500].join(", ");
    for h in [flood.as_str(), "fe80::1%eth0", "::ffff:5.18.0.1", "[2a02:6b8::2:242]:443", "1.2.3.4.5, , ;"] {
        let r = from(&s, "localhost", PRODUCT, &[("x-forwarded-for", h)]).await;
        assert_eq!(r.status, 200, "X-Forwarded-For {h:?}");
    }
    assert_eq!(region(&from(&s, "localhost", PRODUCT, &xff("::ffff:5.18.0.1")).await), "spb; by=geoip");
    s.stop().await;
}

#[tokio::test]
async fn forwarding_headers_from_untrusted_peers_are_ignored() {
    let s = demo_server(geo_config("GeoLite2-City-2019-12-24-RU.mmdb", &[])).await;
    let r = from(&s, "localhost", PRODUCT, &[("x-forwarded-for", "5.18.0.1")]).await;
    assert_eq!(
        region(&r),
        "msk; by=default",
        "the peer 127.0.0.1 is private: no location, and its header is not believed"
    );
    s.stop().await;
}

#[tokio::test]
async fn geoip_with_dbip_english_names() {
    let s = demo_server(geo_config("dbip-city-lite-2026-06-RU.mmdb", &["127.0.0.1"])).await;
    // DB-IP has no GeoNames ids: the demo regions match its English names and district suffixes.
    for (ip, want) in [("92.100.0.1", "spb; by=geoip"), ("5.18.0.1", "spb; by=geoip"), ("77.88.55.60", "msk; by=geoip")]
    {
        assert_eq!(region(&from(&s, "localhost", PRODUCT, &[("x-forwarded-for", ip)]).await), want, "{ip}");
    }
    s.stop().await;
}

#[tokio::test]
async fn a_corrupt_or_missing_database_only_turns_geoip_off() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.mmdb");
    std::fs::write(&bad, b"\xab\xcd\xefMaxMind.com not really").unwrap();
    let s = demo_server(move |c| {
        c.geoip.database = bad;
    })
    .await;
    let r = from(&s, "localhost", PRODUCT, &[("x-forwarded-for", "5.18.0.1")]).await;
    assert_eq!((r.status.as_u16(), region(&r)), (200, "msk; by=default"));
    s.stop().await;
}

#[tokio::test]
async fn staff_choose_the_order_of_strategies() {
    let s = demo_server(|_| {}).await;
    let (store, _) = demo::ensure_demo_store(&s.db.conn).await.unwrap();
    let token = s.keys.issue_staff(&store, "t", "owner", None).unwrap();
    let r = s.call(Method::GET, "localhost", "/api/v1/settings/region-routing", Some(&token), None).await;
    assert_eq!(r.body["strategies"], json!(["path", "subdomain", "explicit", "geoip", "default"]));

    let r = s
        .put("localhost", "/api/v1/settings/region-routing", &token, json!({"strategies": ["explicit", "default"]}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // Subdomains and paths no longer choose; an explicit choice still does.
    assert_eq!(region(&s.get("kzn.localhost", PRODUCT).await), "msk; by=default");
    assert_eq!(region(&s.get("localhost", &format!("{PRODUCT}?region=spb")).await), "spb; by=explicit");

    for bad in [
        json!({"strategies": ["geoip"]}),
        json!({"strategies": ["path", "path", "default"]}),
        json!({"strategies": ["teleport", "default"]}),
    ] {
        let r = s.put("localhost", "/api/v1/settings/region-routing", &token, bad.clone()).await;
        assert!(r.status.is_client_error(), "{bad} → {:?}", r.body);
    }
    let r = s.call(Method::GET, "localhost", "/api/v1/settings/region-routing", Some(&token), None).await;
    assert_eq!(r.body["strategies"], json!(["explicit", "default"]), "a refused change wrote nothing");
    s.stop().await;
}

#[tokio::test]
async fn regions_carry_geo_rules_and_reserved_codes_are_refused() {
    let s = demo_server(|_| {}).await;
    let (store, _) = demo::ensure_demo_store(&s.db.conn).await.unwrap();
    let token = s.keys.issue_staff(&store, "t", "owner", None).unwrap();
    let r = s.get("localhost", "/api/v1/regions/spb").await;
    assert_eq!(r.body["geo"]["cities"], json!([498817]));
    let r = s
        .post(
            "localhost",
            "/api/v1/regions",
            &token,
            json!({"code": "ekb", "name": "Екатеринбург", "price_type": "retail-msk",
            "geo": {"cities": [1486209], "subdivisions": ["RU-SVE"], "countries": ["RU"]}}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(region(&s.get("ekb.localhost", PRODUCT).await), "ekb; by=subdomain");
    let r = s
        .post("localhost", "/api/v1/regions", &token, json!({"code": "api", "name": "API", "price_type": "retail-msk"}))
        .await;
    assert_eq!(r.body["error"]["details"]["fields"][0]["code"], "reserved");
    let r = s
        .post(
            "localhost",
            "/api/v1/regions",
            &token,
            json!({"code": "x", "name": "X", "price_type": "retail-msk", "geo": {"countries": ["Russia"]}}),
        )
        .await;
    assert_eq!(r.body["error"]["details"]["fields"][0]["field"], "geo.countries.0");
    s.stop().await;
}

/// Writes a small GeoIP2-City database: Kazan by GeoNames id, Saint Petersburg by name
/// (IPv6), Kazakhstan by country only.
fn write_mmdb(path: &std::path::Path, kazan_net: &str) {
    use serde::Serialize;
    use std::collections::BTreeMap;
    #[derive(Serialize)]
    struct Names {
        names: BTreeMap<String, String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        geoname_id: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        iso_code: Option<String>,
    }
    #[derive(Serialize)]
    struct Record {
        country: Names,
        #[serde(skip_serializing_if = "Option::is_none")]
        city: Option<Names>,
    }
    let n = |ru: &str, id: Option<u32>, iso: Option<&str>| Names {
        names: [("ru".to_string(), ru.to_string())].into(),
        geoname_id: id,
        iso_code: iso.map(str::to_string),
    };
    let mut w = mmdb_writer::Writer::new("GeoIP2-City");
    let kazan =
        Record { country: n("Россия", None, Some("RU")), city: Some(n("Казань", Some(551487), None)) };
    w.insert(kazan_net.parse::<ipnet::IpNet>().unwrap(), &kazan).unwrap();
    let spb = Record {
        country: n("Россия", None, Some("RU")), city: Some(n("Санкт-Петербург", None, None))
    };
    w.insert("2a00:1450::/32".parse::<ipnet::IpNet>().unwrap(), &spb).unwrap();
    let kz = Record { country: n("Казахстан", None, Some("KZ")), city: None };
    w.insert("37.150.0.0/16".parse::<ipnet::IpNet>().unwrap(), &kz).unwrap();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, w.to_bytes().unwrap()).unwrap();
    std::fs::rename(&tmp, path).unwrap(); // as geoipupdate does: never a half-written file
}

#[tokio::test]
async fn geoip_with_a_database_the_test_writes_and_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("city.mmdb");
    write_mmdb(&path, "31.13.64.0/24");
    let db_path = path.clone();
    let s = demo_server(move |c| {
        c.geoip.database = db_path;
        c.geoip.reload_check_secs = 1;
    })
    .await;
    let (store, _) = demo::ensure_demo_store(&s.db.conn).await.unwrap();
    let token = s.keys.issue_staff(&store, "t", "owner", None).unwrap();
    let r = s
        .post(
            "localhost",
            "/api/v1/regions",
            &token,
            json!({"code": "ala", "name": "Алматы", "price_type": "retail-msk", "geo": {"countries": ["KZ"]}}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let xff = |ip: &'static str| [("x-forwarded-for", ip)];
    assert_eq!(region(&from(&s, "localhost", PRODUCT, &xff("31.13.64.7")).await), "kzn; by=geoip");
    assert_eq!(region(&from(&s, "localhost", PRODUCT, &xff("2a00:1450::1")).await), "spb; by=geoip");
    assert_eq!(region(&from(&s, "localhost", PRODUCT, &xff("37.150.1.1")).await), "ala; by=geoip");
    assert_eq!(region(&from(&s, "localhost", PRODUCT, &xff("31.13.65.7")).await), "msk; by=default");

    // Replace the file as geoipupdate would: the server picks it up without a restart.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    write_mmdb(&path, "31.13.65.0/24");
    let mut moved = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if region(&from(&s, "localhost", PRODUCT, &xff("31.13.65.7")).await) == "kzn; by=geoip" {
            moved = true;
            break;
        }
    }
    assert!(moved, "the replaced database was not picked up within 5 s");
    assert_eq!(region(&from(&s, "localhost", PRODUCT, &xff("31.13.64.7")).await), "msk; by=default");
    s.stop().await;
}

#[tokio::test]
async fn hostile_hosts_get_a_clear_404_and_no_store() {
    let s = demo_server(|_| {}).await;
    let long = format!("{}.localhost", "a".repeat(300));
    for host in [long.as_str(), "..", ".localhost", "%00.localhost", "msk..localhost", "[::1]:80", "-"] {
        let r = s.get(host, PRODUCT).await;
        assert!(r.status == 404 || r.status == 400, "{host:?} → {}", r.status);
        assert!(r.body.get("variants").is_none(), "{host:?} must not see a store");
    }
    // Trailing dots (the FQDN form) name the same store, never another one.
    assert_eq!(s.get("localhost.", PRODUCT).await.body["region"], "msk");
    // An odd region code in the path is just an unknown page, in a subdomain a clear 404.
    assert_eq!(s.get("localhost", "/%D0%BC%D1%81%D0%BA/api/v1/products").await.code(), "route_not_found");
    assert_eq!(s.get("xn--80adxhks.localhost", PRODUCT).await.code(), "region_not_found");
    s.stop().await;
}
