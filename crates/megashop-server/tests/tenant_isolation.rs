//! A request for store A never sees store B, even when both use the same slugs and SKUs.

mod common;

use common::TestServer;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn two_stores_with_the_same_slugs_see_only_their_own() {
    let s = TestServer::start().await;
    let (_, ta) = s.store("alpha", "alpha.test").await;
    let (_, tb) = s.store("beta", "beta.test").await;
    for (h, t, title, price) in [("alpha.test", &ta, "Альфа-чайник", 1000), ("beta.test", &tb, "Бета-чайник", 2000)]
    {
        s.basic_region(h, t).await;
        let r = s.post(h, "/api/v1/categories", t, json!({"slug": "kettles", "name": title})).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let r = s
            .post(
                h,
                "/api/v1/products",
                t,
                json!({"slug": "kettle", "title": title, "category": "kettles",
                "variants": [{"sku": "K-1", "prices": {"retail": price}, "stock": {"main": 1}}]}),
            )
            .await;
        assert_eq!(r.status, 201, "same slug and SKU in another store must be allowed: {:?}", r.body);
    }
    let a = s.get("alpha.test", "/api/v1/products/kettle").await;
    let b = s.get("beta.test", "/api/v1/products/kettle").await;
    assert_eq!(a.body["title"], "Альфа-чайник");
    assert_eq!(b.body["title"], "Бета-чайник");
    assert_eq!(a.body["variants"][0]["price"]["amount"], 1000);
    assert_eq!(b.body["variants"][0]["price"]["amount"], 2000);
    let list_a = s.get("alpha.test", "/api/v1/products?limit=100").await;
    assert_eq!(list_a.body["total"], 1);
    assert_eq!(list_a.body["items"][0]["title"], "Альфа-чайник");
    // Host matching ignores case and port.
    let upper = s.get("ALPHA.test:8080", "/api/v1/products/kettle").await;
    assert_eq!(upper.body["title"], "Альфа-чайник");

    // Store B's token cannot change store A, and changing B leaves A alone.
    let r = s.patch("alpha.test", "/api/v1/products/kettle", &tb, json!({"title": "взлом"})).await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "invalid_token"));
    let r = s.delete("beta.test", "/api/v1/products/kettle", &tb).await;
    assert_eq!(r.status, 204);
    assert_eq!(s.get("alpha.test", "/api/v1/products/kettle").await.body["title"], "Альфа-чайник");
    assert_eq!(s.get("beta.test", "/api/v1/products/kettle").await.status, 404);
    let v = s.call(Method::GET, "alpha.test", "/api/v1/variants/K-1", Some(&ta), None).await;
    assert_eq!(v.status, 200);

    // Unknown hosts get 404 and no store's data.
    let r = s.get("gamma.test", "/api/v1/products").await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "unknown_host"));
    assert!(r.body.get("items").is_none());
    s.stop().await;
}
