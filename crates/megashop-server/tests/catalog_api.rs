//! The catalogue API end to end on a real server and database.

mod common;

use common::TestServer;
use megashop_core::demo;
use reqwest::Method;
use serde_json::json;

const DEMO: &str = "localhost";

#[tokio::test]
async fn demo_store_prices_and_stock_depend_on_the_region() {
    let s = TestServer::start().await;
    demo::ensure_demo_store(&s.db.conn).await.unwrap();

    let msk = s.get(DEMO, "/api/v1/products/smartfon-apple-iphone-15").await;
    assert_eq!(msk.status, 200, "{:?}", msk.body);
    assert_eq!(msk.headers["x-megashop-region"], "msk; by=default");
    let kzn = s.get(DEMO, "/api/v1/products/smartfon-apple-iphone-15?region=kzn").await;
    assert_eq!(kzn.headers["x-megashop-region"], "kzn; by=explicit");
    let spb =
        s.raw(Method::GET, DEMO, "/api/v1/products/smartfon-apple-iphone-15", None, None, &[("x-region", "spb")]).await;
    assert_eq!(spb.headers["x-megashop-region"], "spb; by=explicit");

    let price = |r: &common::Resp| r.body["variants"][0]["price"]["amount"].as_i64().unwrap();
    // Demo prices: Kazan is 92 % and Saint Petersburg 97 % of Moscow.
    assert!(price(&kzn) < price(&spb) && price(&spb) < price(&msk), "{} {} {}", price(&msk), price(&spb), price(&kzn));
    assert_eq!(msk.body["variants"][0]["price"]["currency"], "RUB");
    assert_eq!(msk.body["region"], "msk");
    assert_eq!(kzn.body["region"], "kzn");

    let list = s.get(DEMO, "/api/v1/products?limit=100").await;
    assert_eq!(list.body["total"], 50);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 50);

    let upper = s.get(DEMO, "/api/v1/products/smartfon-apple-iphone-15?region=KZN").await;
    assert_eq!(upper.headers["x-megashop-region"], "kzn; by=explicit");

    let unknown = s.get(DEMO, "/api/v1/products?region=ekb").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.code(), "region_not_found");
    // Localized errors keep the response's other headers.
    let ru =
        s.raw(Method::GET, DEMO, "/api/v1/products/nope?region=spb", None, None, &[("accept-language", "ru")]).await;
    assert_eq!(ru.code(), "product_not_found");
    assert_eq!(ru.body["error"]["message"], "Не найдено: товар «nope».");
    assert_eq!(ru.headers["x-megashop-region"], "spb; by=explicit");
    s.stop().await;
}

#[tokio::test]
async fn list_filters_sort_and_pages() {
    let s = TestServer::start().await;
    demo::ensure_demo_store(&s.db.conn).await.unwrap();

    // Category filter includes sub-categories: electronics = 8 phones + 7 laptops + 6 headphones.
    let r = s.get(DEMO, "/api/v1/products?category=electronics&limit=100").await;
    assert_eq!(r.body["total"], 21, "{:?}", r.body);
    let r = s.get(DEMO, "/api/v1/products?category=kettles").await;
    assert_eq!(r.body["total"], 7);
    assert!(r.body["items"].as_array().unwrap().iter().all(|i| i["category"]["slug"] == "kettles"));

    // Price range in the region's price type (minor units).
    let r = s.get(DEMO, "/api/v1/products?min_price=1000000&max_price=2000000&limit=100").await;
    let items = r.body["items"].as_array().unwrap().clone();
    assert!(!items.is_empty());
    for it in &items {
        // price_from is the cheapest variant; the matching one may be dearer but within range.
        let slug = it["slug"].as_str().unwrap();
        let p = s.get(DEMO, &format!("/api/v1/products/{slug}")).await;
        let ok = p.body["variants"].as_array().unwrap().iter().any(|v| {
            let a = v["price"]["amount"].as_i64().unwrap();
            (1_000_000..=2_000_000).contains(&a)
        });
        assert!(ok, "{slug} has no variant in range");
    }

    // Sort by price, cheapest first; then dearest first.
    let r = s.get(DEMO, "/api/v1/products?sort=price&limit=100").await;
    let prices: Vec<i64> =
        r.body["items"].as_array().unwrap().iter().map(|i| i["price_from"]["amount"].as_i64().unwrap()).collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
    let r = s.get(DEMO, "/api/v1/products?sort=-price&limit=5").await;
    let desc: Vec<i64> =
        r.body["items"].as_array().unwrap().iter().map(|i| i["price_from"]["amount"].as_i64().unwrap()).collect();
    assert!(desc.windows(2).all(|w| w[0] >= w[1]), "{desc:?}");
    assert_eq!(desc[0], *prices.last().unwrap());

    // In-stock filter: every item reports stock in the region.
    let all = s.get(DEMO, "/api/v1/products?limit=100&region=spb").await;
    let in_stock = s.get(DEMO, "/api/v1/products?limit=100&region=spb&in_stock=true").await;
    let expected = all.body["items"].as_array().unwrap().iter().filter(|i| i["in_stock"] == true).count();
    assert_eq!(in_stock.body["total"].as_u64().unwrap() as usize, expected);
    assert!(expected < 50, "demo data should have some products out of stock in spb");

    // Attribute filters, typed values compared as text, several values = any of them.
    let r = s.get(DEMO, "/api/v1/products?attr.brand=Apple&limit=100").await;
    assert_eq!(r.body["total"], 3, "iPhone, MacBook, AirPods: {:?}", r.body);
    let r = s.get(DEMO, "/api/v1/products?attr.brand=Apple,Sony&attr.wireless=true").await;
    assert_eq!(r.body["total"], 2, "{:?}", r.body);

    // Pages.
    let p1 = s.get(DEMO, "/api/v1/products?limit=20&page=1").await;
    let p3 = s.get(DEMO, "/api/v1/products?limit=20&page=3").await;
    assert_eq!(p1.body["pages"], 3);
    assert_eq!(p3.body["items"].as_array().unwrap().len(), 10);
    assert_ne!(p1.body["items"][0]["slug"], p3.body["items"][0]["slug"]);

    // Bad parameters: every one reported, with a stable code.
    let r = s.get(DEMO, "/api/v1/products?limit=101&page=x&in_stock=maybe&sort=cheap&colour=red").await;
    assert_eq!(r.status, 422);
    assert_eq!(r.code(), "validation_failed");
    let fields: Vec<&str> =
        r.body["error"]["details"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    for f in ["page", "in_stock", "sort", "colour"] {
        assert!(fields.contains(&f), "{f} missing in {fields:?}");
    }
    // Range checks and parse errors are reported together.
    let r = s.get(DEMO, "/api/v1/products?limit=500&sort=cheap&min_price=-1").await;
    assert_eq!(r.body["error"]["details"]["fields"].as_array().unwrap().len(), 3, "{:?}", r.body);
    let r = s.get(DEMO, "/api/v1/products?limit=101").await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["error"]["details"]["fields"][0]["field"], "limit");
    let r = s.get(DEMO, "/api/v1/products?category=nope").await;
    assert_eq!(r.code(), "category_not_found");
    s.stop().await;
}

#[tokio::test]
async fn staff_builds_a_catalogue_and_shoppers_see_it() {
    let s = TestServer::start().await;
    let (_, token) = s.store("a", "a.test").await;
    let h = "a.test";
    s.basic_region(h, &token).await;

    let r = s.post(h, "/api/v1/categories", &token, json!({"name": "Бытовая техника", "slug": "appliances"})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = s.post(h, "/api/v1/categories", &token, json!({"name": "Чайники", "parent": "appliances"})).await;
    assert_eq!(r.body["slug"], "chainiki");
    let tree = s.get(h, "/api/v1/categories").await;
    assert_eq!(tree.body[0]["children"][0]["slug"], "chainiki");

    let r = s
        .post(
            h,
            "/api/v1/products",
            &token,
            json!({
                "title": "Чайник Bosch TWK 3P420",
                "category": "chainiki",
                "attributes": {"power_w": 2400, "glass": false, "color": "белый"},
                "variants": [{"sku": "BOSCH-1", "prices": {"retail": 349000}, "stock": {"main": 3}}]
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["slug"], "chainik-bosch-twk-3p420");
    assert_eq!(r.body["attributes"]["power_w"], 2400);
    assert_eq!(r.body["attributes"]["glass"], false);

    let p = s.get(h, "/api/v1/products/chainik-bosch-twk-3p420").await;
    assert_eq!(p.body["price_from"], json!({"amount": 349000, "currency": "RUB"}));
    assert_eq!(p.body["variants"][0]["stock"], 3);

    // Price and stock changes are visible at once (writes invalidate the cache).
    let r = s.put(h, "/api/v1/variants/BOSCH-1/prices/retail", &token, json!({"amount": 299000})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = s.put(h, "/api/v1/variants/BOSCH-1/stock/main", &token, json!({"quantity": 0})).await;
    assert_eq!(r.body["stock"]["main"], 0);
    let p = s.get(h, "/api/v1/products/chainik-bosch-twk-3p420").await;
    assert_eq!(p.body["price_from"]["amount"], 299000);
    assert_eq!(p.body["in_stock"], false);

    // A second variant, then a patch, then drafts are hidden from shoppers but not staff.
    let r = s
        .post(
            h,
            "/api/v1/products/chainik-bosch-twk-3p420/variants",
            &token,
            json!({"sku": "BOSCH-2", "options": {"color": "чёрный"}, "prices": {"retail": 359000}}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = s
        .patch(
            h,
            "/api/v1/products/chainik-bosch-twk-3p420",
            &token,
            json!({"status": "draft", "description": "Новинка"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(s.get(h, "/api/v1/products/chainik-bosch-twk-3p420").await.status, 404);
    let staff_view = s.call(Method::GET, h, "/api/v1/products/chainik-bosch-twk-3p420", Some(&token), None).await;
    assert_eq!(staff_view.body["variants"].as_array().unwrap().len(), 2);
    let drafts = s.call(Method::GET, h, "/api/v1/products?status=draft", Some(&token), None).await;
    assert_eq!(drafts.body["total"], 1);
    assert_eq!(s.get(h, "/api/v1/products?status=draft").await.status, 401);

    // Deletes.
    assert_eq!(s.delete(h, "/api/v1/variants/BOSCH-2", &token).await.status, 204);
    assert_eq!(s.delete(h, "/api/v1/categories/appliances", &token).await.code(), "category_in_use");
    assert_eq!(s.delete(h, "/api/v1/categories/chainiki", &token).await.status, 204);
    assert_eq!(s.delete(h, "/api/v1/products/chainik-bosch-twk-3p420", &token).await.status, 204);
    assert_eq!(
        s.call(Method::GET, h, "/api/v1/variants/BOSCH-1", Some(&token), None).await.code(),
        "variant_not_found"
    );
    s.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_written() {
    let s = TestServer::start().await;
    let (_, token) = s.store("a", "a.test").await;
    let h = "a.test";
    s.basic_region(h, &token).await;
    let ok = s
        .post(h, "/api/v1/products", &token, json!({"title": "Первый", "slug": "first", "variants": [{"sku": "S-1"}]}))
        .await;
    assert_eq!(ok.status, 201);

    let cases = [
        (json!({"title": "X", "variants": [{"sku": "N-1", "prices": {"retail": -1}}]}), 422, "validation_failed"),
        (json!({"title": "X", "category": "nope"}), 422, "category_not_found"),
        (json!({"title": "X", "slug": "first"}), 409, "slug_taken"),
        (json!({"title": "X", "slug": "Not A Slug"}), 422, "validation_failed"),
        (json!({"title": "X", "unknown": 1}), 400, "invalid_json"),
        (json!({"title": 5}), 400, "invalid_json"),
        (
            json!({"title": "X", "variants": [{"sku": "N-1", "prices": {"wholesale": 100}}]}),
            422,
            "price_type_not_found",
        ),
        (json!({"title": "X", "variants": [{"sku": "N-1", "stock": {"main": -3}}]}), 422, "validation_failed"),
        (json!({"title": "X", "attributes": {"nested": {"a": 1}}}), 422, "validation_failed"),
        // The second variant's SKU is taken: the whole product must be rolled back.
        (json!({"title": "X", "slug": "x", "variants": [{"sku": "N-1"}, {"sku": "S-1"}]}), 409, "sku_taken"),
        (json!({"title": "X", "variants": [{"sku": "D"}, {"sku": "D"}]}), 422, "validation_failed"),
    ];
    for (body, status, code) in cases {
        let r = s.post(h, "/api/v1/products", &token, body.clone()).await;
        assert_eq!((r.status.as_u16(), r.code()), (status, code), "{body} → {:?}", r.body);
        assert!(r.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let malformed = s.raw(Method::POST, h, "/api/v1/products", Some(&token), Some("{\"title\": ".into()), &[]).await;
    assert_eq!(malformed.code(), "invalid_json");
    let huge = s
        .raw(
            Method::POST,
            h,
            "/api/v1/products",
            Some(&token),
            Some(format!("{{\"title\":\"{}\"}}", "я".repeat(70_000))),
            &[],
        )
        .await;
    assert_eq!(huge.code(), "payload_too_large");

    let list = s.call(Method::GET, h, "/api/v1/products?limit=100", Some(&token), None).await;
    assert_eq!(list.body["total"], 1, "a failed request wrote something: {:?}", list.body);
    let v = s.call(Method::GET, h, "/api/v1/variants/N-1", Some(&token), None).await;
    assert_eq!(v.code(), "variant_not_found");

    // Other endpoints validate too.
    let r = s.put(h, "/api/v1/variants/S-1/prices/retail", &token, json!({"amount": 100, "currency": "USD"})).await;
    assert_eq!(r.code(), "validation_failed");
    let r = s.put(h, "/api/v1/variants/S-1/stock/main", &token, json!({"quantity": -1})).await;
    assert_eq!(r.code(), "validation_failed");
    let r = s.post(h, "/api/v1/regions", &token, json!({"code": "spb", "name": "СПб", "price_type": "nope"})).await;
    assert_eq!(r.code(), "price_type_not_found");
    let r =
        s.post(h, "/api/v1/price-types", &token, json!({"code": "retail", "name": "Дубль", "currency": "RUB"})).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "code_taken"));
    let r = s.post(h, "/api/v1/price-types", &token, json!({"code": "opt", "name": "Опт", "currency": "rub"})).await;
    assert_eq!(r.body["error"]["details"]["fields"][0]["code"], "invalid_currency");
    assert_eq!(s.delete(h, "/api/v1/price-types/retail", &token).await.code(), "price_type_in_use");
    assert_eq!(s.delete(h, "/api/v1/regions/msk", &token).await.status, 204, "the only region may be deleted");

    // No route / wrong method answer in the same error format.
    assert_eq!(s.get(h, "/api/v1/nothing").await.code(), "route_not_found");
    assert_eq!(s.call(Method::PUT, h, "/api/v1/products", Some(&token), None).await.code(), "method_not_allowed");
    s.stop().await;
}

#[tokio::test]
async fn staff_endpoints_need_a_valid_token_for_this_store() {
    let s = TestServer::start().await;
    let (a, token_a) = s.store("a", "a.test").await;
    let (_, token_b) = s.store("b", "b.test").await;
    let body = json!({"name": "Новинки"});

    let none = s.call(Method::POST, "a.test", "/api/v1/categories", None, Some(body.clone())).await;
    assert_eq!((none.status.as_u16(), none.code()), (401, "unauthorized"));
    let garbage = s.post("a.test", "/api/v1/categories", "not-a-jwt", body.clone()).await;
    assert_eq!((garbage.status.as_u16(), garbage.code()), (401, "invalid_token"));
    let other_store = s.post("a.test", "/api/v1/categories", &token_b, body.clone()).await;
    assert_eq!((other_store.status.as_u16(), other_store.code()), (401, "invalid_token"), "not valid here at all");
    let expired = s.keys.issue_staff(&a, "t", "owner", Some(0)).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = s.post("a.test", "/api/v1/categories", &expired, body.clone()).await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "token_expired"));
    let forged = megashop_core::auth::Keys::from_secret(&megashop_core::config::Secret::new("x".repeat(40)), 60)
        .issue_staff(&a, "t", "owner", None)
        .unwrap();
    assert_eq!(s.post("a.test", "/api/v1/categories", &forged, body.clone()).await.code(), "invalid_token");
    assert_eq!(s.post("a.test", "/api/v1/categories", &token_a, body).await.status, 201);
    s.stop().await;
}

#[tokio::test]
async fn errors_speak_the_clients_language() {
    let s = TestServer::start().await;
    let ru = s
        .raw(Method::GET, "nowhere.test", "/api/v1/products", None, None, &[("accept-language", "ru-RU,ru;q=0.9")])
        .await;
    assert_eq!(ru.code(), "unknown_host");
    assert_eq!(ru.body["error"]["message"], "На адресе nowhere.test нет магазина.");
    assert_eq!(ru.headers["content-language"], "ru");
    let en = s.get("nowhere.test", "/api/v1/products").await;
    assert_eq!(en.body["error"]["message"], "No store is served at nowhere.test.");
    s.stop().await;
}

#[tokio::test]
async fn database_errors_do_not_leak_sql() {
    use sea_orm::ConnectionTrait;
    let s = TestServer::start_with_ttl(0).await;
    demo::ensure_demo_store(&s.db.conn).await.unwrap();
    s.db.conn.execute_unprepared("DROP TABLE product_attribute").await.unwrap();
    let r = s.get(DEMO, "/api/v1/products/smartfon-apple-iphone-15").await;
    assert_eq!((r.status.as_u16(), r.code()), (500, "internal_error"));
    let text = r.body.to_string().to_lowercase();
    assert!(!text.contains("product_attribute") && !text.contains("select") && !text.contains("sql"), "{text}");
    s.stop().await;
}

#[tokio::test]
async fn health_and_readiness() {
    let s = TestServer::start().await;
    let r = s.client.get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "ok");
    let r = s.client.get(format!("{}/readyz", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    s.stop().await;
}
