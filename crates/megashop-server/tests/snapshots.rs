//! Snapshots of the OpenAPI document and of representative responses. Review diffs with
//! `cargo insta review`; never accept them blindly.

mod common;

use common::TestServer;
use megashop_core::demo;

#[tokio::test]
async fn openapi_document() {
    let s = TestServer::start().await;
    let doc: serde_json::Value =
        s.client.get(format!("{}/api/openapi.json", s.base)).send().await.unwrap().json().await.unwrap();
    insta::assert_json_snapshot!("openapi", doc);
    let page = s.client.get(format!("{}/api/docs", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("/api/v1/products/{slug}") && page.contains("ProductView"), "docs page lacks operations");
    s.stop().await;
}

#[tokio::test]
async fn representative_responses() {
    let s = TestServer::start().await;
    demo::ensure_demo_store(&s.db.conn).await.unwrap();
    let product = s.get("localhost", "/api/v1/products/chainik-bosch-twk-3p420?region=spb").await;
    insta::assert_json_snapshot!("product_spb", product.body, {
        ".id" => "[id]", ".created_at" => "[time]", ".updated_at" => "[time]"
    });
    let list = s.get("localhost", "/api/v1/products?category=kettles&sort=price&limit=3").await;
    insta::assert_json_snapshot!("kettles_by_price", list.body, { ".items[].id" => "[id]" });
    let cats = s.get("localhost", "/api/v1/categories").await;
    insta::assert_json_snapshot!("category_tree", cats.body, { "[].id" => "[id]", "[].children[].id" => "[id]" });
    let err = s.get("localhost", "/api/v1/products?limit=1000").await;
    insta::assert_json_snapshot!("error_limit", err.body);
    s.stop().await;
}
