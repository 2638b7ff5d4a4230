//! Delivery methods and content follow the request's region.

mod common;

use common::TestServer;
use megashop_core::demo;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn delivery_methods_depend_on_the_region() {
    let s = TestServer::start().await;
    let (store, _) = demo::ensure_demo_store(&s.db.conn).await.unwrap();
    let token = s.keys.issue_staff(&store, "t", "owner", None).unwrap();
    let msk = s.get("localhost", "/api/v1/delivery-methods").await;
    let codes: Vec<&str> = msk.body.as_array().unwrap().iter().map(|m| m["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["courier", "pickup"]);
    assert_eq!(msk.body[0]["price"], json!({"amount": 39900, "currency": "RUB"}));
    assert_eq!(msk.body[0]["free_from"]["amount"], 500000);
    let kzn = s.get("kzn.localhost", "/api/v1/delivery-methods").await;
    assert_eq!(kzn.body.as_array().unwrap().len(), 1);
    assert_eq!(kzn.body[0]["code"], "post");

    let r = s
        .put(
            "localhost",
            "/api/v1/regions/kzn/delivery-methods/courier",
            &token,
            json!({"name": "Курьер по Казани", "price": 25000, "min_days": 1, "max_days": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(s.get("localhost", "/kzn/api/v1/delivery-methods").await.body.as_array().unwrap().len(), 2);
    // Replacing keeps one row; bad values are refused with every field named.
    let r = s
        .put(
            "localhost",
            "/api/v1/regions/kzn/delivery-methods/courier",
            &token,
            json!({"name": "Курьер", "price": 27000, "min_days": 1, "max_days": 2}),
        )
        .await;
    assert_eq!(r.body["price"]["amount"], 27000);
    let r = s
        .put(
            "localhost",
            "/api/v1/regions/kzn/delivery-methods/courier",
            &token,
            json!({"name": "", "price": -1, "min_days": 3, "max_days": 1}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["error"]["details"]["fields"].as_array().unwrap().len(), 3, "{:?}", r.body);
    assert_eq!(s.get("localhost", "/api/v1/regions/kzn/delivery-methods").await.body[0]["price"]["amount"], 27000);
    let r = s
        .put(
            "localhost",
            "/api/v1/regions/ekb/delivery-methods/courier",
            &token,
            json!({"name": "x", "price": 1, "min_days": 1, "max_days": 1}),
        )
        .await;
    assert_eq!(r.code(), "region_not_found");
    assert_eq!(s.delete("localhost", "/api/v1/regions/kzn/delivery-methods/courier", &token).await.status, 204);
    assert_eq!(
        s.delete("localhost", "/api/v1/regions/kzn/delivery-methods/courier", &token).await.code(),
        "delivery_method_not_found"
    );
    s.stop().await;
}

#[tokio::test]
async fn content_for_one_region_wins_over_content_for_all() {
    let s = TestServer::start().await;
    let (store, _) = demo::ensure_demo_store(&s.db.conn).await.unwrap();
    let token = s.keys.issue_staff(&store, "t", "owner", None).unwrap();
    let msk = s.get("localhost", "/api/v1/content/banner").await;
    assert_eq!(
        (msk.body["region"].as_str(), msk.body["title"].as_str()),
        (Some("msk"), Some("Бесплатная доставка от 5 000 ₽"))
    );
    let spb = s.get("spb.localhost", "/api/v1/content/banner").await;
    assert_eq!(spb.body["region"], "*");
    // A page that exists in one region only.
    assert_eq!(s.get("localhost", "/api/v1/content/page:pickup").await.status, 200);
    let r = s.get("spb.localhost", "/api/v1/content/page:pickup").await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "content_not_found"));

    let r = s
        .put(
            "localhost",
            "/api/v1/content/banner",
            &token,
            json!({"title": "Белые ночи", "body": "<p>СПб</p>", "region": "spb"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(s.get("spb.localhost", "/api/v1/content/banner").await.body["title"], "Белые ночи");
    let r = s.put("localhost", "/api/v1/content/Bad Key", &token, json!({"title": "x", "body": ""})).await;
    assert_eq!(r.code(), "validation_failed");
    let r =
        s.put("localhost", "/api/v1/content/banner", &token, json!({"title": "x", "body": "", "region": "ekb"})).await;
    assert_eq!(r.code(), "region_not_found");
    let all = s.call(Method::GET, "localhost", "/api/v1/content", Some(&token), None).await;
    assert_eq!(all.body.as_array().unwrap().len(), 4);
    assert_eq!(s.delete("localhost", "/api/v1/content/banner?scope=spb", &token).await.status, 204);
    assert_eq!(s.get("spb.localhost", "/api/v1/content/banner").await.body["region"], "*");
    // Deleting a region deletes its content (and its delivery methods).
    assert_eq!(s.delete("localhost", "/api/v1/regions/kzn", &token).await.status, 204);
    s.stop().await;
}
