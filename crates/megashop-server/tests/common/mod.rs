//! A real Megashop server on 127.0.0.1:<random port>, on a fresh SQLite file or
//! PostgreSQL database (see `megashop_test_support::TestDb`), with helpers that read
//! like the requests a client makes.
#![allow(dead_code)]

use megashop_core::auth::Keys;
use megashop_core::config::{Config, Secret};
use megashop_core::entity::tenant;
use megashop_core::tenancy::{self, NewTenant};
use megashop_server::AppState;
use megashop_test_support::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;

pub struct TestServer {
    pub base: String,
    pub db: TestDb,
    pub keys: Keys,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    /// The stable error code of an error response.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl TestServer {
    /// Starts a server with the given in-process cache TTL (ms).
    pub async fn start_with_ttl(ttl_ms: u64) -> TestServer {
        Self::start_with(|c| c.cache.catalog_ttl_ms = ttl_ms).await
    }

    /// Starts a server with a configuration adjusted by `configure`.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> TestServer {
        let db = TestDb::new().await;
        let mut config = Config::default();
        config.server.max_body_bytes = 64 * 1024;
        config.auth.jwt_secret = Secret::new("test-secret-test-secret-test-secret!");
        config.auth.access_token_ttl_secs = 600;
        // Cheap hashing: tests register many accounts (production keeps the OWASP cost).
        config.auth.argon2_memory_kib = 256;
        config.auth.argon2_iterations = 1;
        configure(&mut config);
        let accounts = megashop_core::accounts::Accounts::from_config(&config).unwrap();
        let keys = accounts.keys.clone();
        let state = AppState::new(db.conn.clone(), accounts, config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            megashop_server::serve(state, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestServer { base, db, keys, client: reqwest::Client::new(), stop: Some(tx), task: Some(task) }
    }

    pub async fn start() -> TestServer {
        Self::start_with_ttl(2000).await
    }

    /// Creates a store served at `domain` and returns it with an owner token.
    pub async fn store(&self, slug: &str, domain: &str) -> (tenant::Model, String) {
        let t = tenancy::create(
            &self.db.conn,
            NewTenant {
                slug: slug.into(),
                name: format!("Store {slug}"),
                domains: vec![domain.into()],
                default_locale: "ru".into(),
                default_currency: "RUB".into(),
            },
        )
        .await
        .unwrap();
        let token = self.keys.issue_staff(&t, "test", "owner", None).unwrap();
        (t, token)
    }

    pub async fn call(&self, method: Method, host: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        self.raw(method, host, path, token, body.map(|b| b.to_string()), &[]).await
    }

    pub async fn raw(
        &self,
        method: Method,
        host: &str,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self.client.request(method, format!("{}{}", self.base, path)).header("host", host);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Resp { status, headers, body }
    }

    pub async fn get(&self, host: &str, path: &str) -> Resp {
        self.call(Method::GET, host, path, None, None).await
    }

    pub async fn post(&self, host: &str, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, host, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, host: &str, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::PATCH, host, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, host: &str, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::PUT, host, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, host: &str, path: &str, token: &str) -> Resp {
        self.call(Method::DELETE, host, path, Some(token), None).await
    }

    /// A minimal sellable setup for a store: price type, warehouse and region `msk`.
    pub async fn basic_region(&self, host: &str, token: &str) {
        let r = self
            .post(
                host,
                "/api/v1/price-types",
                token,
                serde_json::json!({"code": "retail", "name": "Розница", "currency": "RUB"}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let r =
            self.post(host, "/api/v1/warehouses", token, serde_json::json!({"code": "main", "name": "Склад"})).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let r = self
            .post(
                host,
                "/api/v1/regions",
                token,
                serde_json::json!({"code": "msk", "name": "Москва", "price_type": "retail", "warehouses": ["main"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}
