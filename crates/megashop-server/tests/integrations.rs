//! Integrations over HTTP, on the real server with a test plugin registered: the staff
//! API (owner only, per store), runs and their logs, the run lock as `409 sync_busy`,
//! the plugin's own routes and webhook chosen by `Host`, and the scheduler in `serve`.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode as AxStatus};
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine as _;
use megashop_core::auth::Keys;
use megashop_core::config::{Config, Secret};
use megashop_core::entity::tenant;
use megashop_core::tenancy::{self, NewTenant};
use megashop_plugin::{
    async_trait, Capability, Integration, Manifest, PluginError, PluginState, Registry, SyncContext, SyncReport,
    WebhookReply, WebhookRequest,
};
use megashop_server::AppState;
use megashop_test_support::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

const PASSWORD: &str = "exchange-pass-42";

/// A plugin with everything: a catalogue pull (slow when asked), its own route that checks
/// Basic auth against its credentials, and a webhook.
struct Echo;

#[async_trait]
impl Integration for Echo {
    fn manifest(&self) -> Manifest {
        Manifest {
            id: "echo".into(),
            name: "Echo".into(),
            version: "0.1.0".into(),
            description: "Test plugin.".into(),
            capabilities: vec![Capability::PullCatalog, Capability::Routes, Capability::Webhook],
            config_schema: json!({
                "type": "object",
                "properties": {
                    "login": {"type": "string", "minLength": 1, "title": "Exchange login"},
                    "password": {"type": "string", "format": "password"},
                    "delay_ms": {"type": "integer", "minimum": 0, "maximum": 60000, "default": 0}
                },
                "required": ["login", "password"]
            }),
        }
    }

    async fn pull_catalog(&self, cx: &SyncContext) -> Result<SyncReport, PluginError> {
        let delay = cx.settings()["delay_ms"].as_u64().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        cx.log().info("2 products read").await;
        cx.log().error(Some("SKU-9"), "no price").await;
        Ok(SyncReport { created: 2, failed: 1, message: Some("done".into()), ..Default::default() })
    }

    async fn on_webhook(&self, cx: &SyncContext, req: WebhookRequest) -> Result<WebhookReply, PluginError> {
        if req.headers.get("x-signature").and_then(|v| v.to_str().ok()) != Some("good") {
            return Err(PluginError::Data("bad signature".into()));
        }
        cx.state().put("last-webhook", &String::from_utf8_lossy(&req.body).to_string(), None).await?;
        Ok(WebhookReply::json(&json!({"ok": true, "store": cx.tenant_slug(), "query": req.query})))
    }

    fn routes(&self) -> Option<axum::Router<PluginState>> {
        Some(axum::Router::new().route("/exchange", get(exchange)))
    }
}

/// What 1C's exchange would call: Basic auth with the instance's login and password.
async fn exchange(State(s): State<PluginState>, headers: HeaderMap, req: Request) -> axum::response::Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            s.cx.setting_str("login").unwrap_or_default(),
            s.cx.credential("password").unwrap_or_default()
        ))
    );
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (AxStatus::UNAUTHORIZED, "failure\nauth").into_response();
    }
    format!("success\nstore={} path={} query={}", s.cx.tenant_slug(), req.uri().path(), req.uri().query().unwrap_or(""))
        .into_response()
}

struct Srv {
    base: String,
    db: TestDb,
    keys: Keys,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

struct Resp {
    status: StatusCode,
    body: Value,
    text: String,
}

impl Resp {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl Srv {
    async fn start(configure: impl FnOnce(&mut Config)) -> Srv {
        let db = TestDb::new().await;
        let mut config = Config { data_dir: db.dir.path().join("data"), ..Default::default() };
        config.auth.jwt_secret = Secret::new("test-secret-test-secret-test-secret!");
        config.auth.argon2_memory_kib = 256;
        config.auth.argon2_iterations = 1;
        configure(&mut config);
        let accounts = megashop_core::accounts::Accounts::from_config(&config).unwrap();
        let keys = accounts.keys.clone();
        let registry = Arc::new(Registry::new().with(Arc::new(Echo)).unwrap());
        let state = AppState::new(db.conn.clone(), accounts, config).with_plugins(registry);
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
        Srv { base, db, keys, client: reqwest::Client::new(), stop: Some(tx), task: Some(task) }
    }

    async fn store(&self, slug: &str) -> (tenant::Model, String) {
        let t = tenancy::create(
            &self.db.conn,
            NewTenant {
                slug: slug.into(),
                name: slug.into(),
                domains: vec![format!("{slug}.test")],
                default_locale: "ru".into(),
                default_currency: "RUB".into(),
            },
        )
        .await
        .unwrap();
        let token = self.keys.issue_staff(&t, "test", "owner", None).unwrap();
        (t, token)
    }

    async fn call(
        &self,
        method: Method,
        host: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self.client.request(method, format!("{}{}", self.base, path)).header("host", host);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, body, text }
    }

    async fn get(&self, host: &str, path: &str, token: &str) -> Resp {
        self.call(Method::GET, host, path, Some(token), None, &[]).await
    }

    async fn post(&self, host: &str, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, host, path, Some(token), Some(body), &[]).await
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

fn echo(delay_ms: u64) -> Value {
    json!({"plugin": "echo", "settings": {"login": "1c", "delay_ms": delay_ms}, "credentials": {"password": PASSWORD}})
}

/// Polls a run until it is no longer running.
async fn finished(s: &Srv, host: &str, token: &str, id: i64) -> Value {
    for _ in 0..200 {
        let r = s.get(host, &format!("/api/v1/integrations/runs/{id}"), token).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        if r.body["status"] != "running" {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {id} did not finish");
}

#[tokio::test]
async fn owners_set_up_run_and_inspect_integrations() {
    let s = Srv::start(|_| {}).await;
    let (_, t) = s.store("a").await;
    let plugins = s.get("a.test", "/api/v1/plugins", &t).await;
    assert_eq!(plugins.status, 200);
    assert_eq!(plugins.body[0]["id"], "echo");
    assert_eq!(plugins.body[0]["capabilities"], json!(["pull_catalog", "routes", "webhook"]));
    assert_eq!(plugins.body[0]["config_schema"]["properties"]["password"]["format"], "password");

    // Every bad field at once, in the standard error document (here in Russian).
    let bad = s
        .call(
            Method::POST,
            "a.test",
            "/api/v1/integrations",
            Some(&t),
            Some(json!({"plugin": "echo", "settings": {"delay_ms": -1, "colour": 1}, "schedule": "often"})),
            &[("accept-language", "ru")],
        )
        .await;
    assert_eq!((bad.status, bad.code()), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), "{:?}", bad.body);
    let mut fields: Vec<&str> = bad.body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["credentials.password", "schedule", "settings.colour", "settings.delay_ms", "settings.login"]);
    assert_eq!(bad.body["error"]["message"], "5 полей заполнены неверно.");
    let unknown = s.post("a.test", "/api/v1/integrations", &t, json!({"plugin": "nope"})).await;
    assert_eq!((unknown.status, unknown.code()), (StatusCode::NOT_FOUND, "plugin_not_found"));

    let added = s.post("a.test", "/api/v1/integrations", &t, echo(0)).await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    assert_eq!(added.body["credentials"], json!({"password": "••••"}));
    assert_eq!(added.body["settings"], json!({"login": "1c", "delay_ms": 0}));
    assert!(!added.text.contains(PASSWORD));
    let again = s.post("a.test", "/api/v1/integrations", &t, echo(0)).await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "integration_taken"));

    let list = s.get("a.test", "/api/v1/integrations", &t).await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert!(!list.text.contains(PASSWORD));

    // Run and wait.
    let run =
        s.post("a.test", "/api/v1/integrations/echo/runs", &t, json!({"task": "pull_catalog", "wait": true})).await;
    assert_eq!(run.status, 200, "{:?}", run.body);
    assert_eq!(
        (run.body["status"].as_str(), run.body["created"].as_i64(), run.body["failed"].as_i64()),
        (Some("succeeded"), Some(2), Some(1))
    );
    assert_eq!(run.body["trigger"], "manual");
    // Run without waiting: 202, then poll.
    let started = s.call(Method::POST, "a.test", "/api/v1/integrations/echo/runs", Some(&t), None, &[]).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    assert_eq!(started.body["status"], "running");
    let id = started.body["id"].as_i64().unwrap();
    let done = finished(&s, "a.test", &t, id).await;
    assert_eq!(done["status"], "succeeded");
    let levels: Vec<(&str, Option<&str>)> = done["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["level"].as_str().unwrap(), l["external_id"].as_str()))
        .collect();
    assert_eq!(levels, [("info", None), ("error", Some("SKU-9"))]);
    let runs = s.get("a.test", "/api/v1/integrations/echo/runs?limit=5", &t).await;
    assert_eq!(runs.body.as_array().unwrap().len(), 2);
    assert_eq!(runs.body[0]["id"].as_i64(), Some(id));
    let bad_task = s.post("a.test", "/api/v1/integrations/echo/runs", &t, json!({"task": "pull_stock"})).await;
    assert_eq!((bad_task.status, bad_task.code()), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"));

    // Change and remove.
    let patched = s
        .call(
            Method::PATCH,
            "a.test",
            "/api/v1/integrations/echo",
            Some(&t),
            Some(json!({"enabled": false, "schedule": "2h", "credentials": {"password": "••••"}})),
            &[],
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    assert_eq!((patched.body["enabled"].as_bool(), patched.body["schedule_secs"].as_i64()), (Some(false), Some(7200)));
    assert_eq!(patched.body["last_run"]["id"].as_i64(), Some(id));
    let gone = s.call(Method::DELETE, "a.test", "/api/v1/integrations/echo", Some(&t), None, &[]).await;
    assert_eq!(gone.status, 204);
    let missing = s.get("a.test", "/api/v1/integrations/echo", &t).await;
    assert_eq!((missing.status, missing.code()), (StatusCode::NOT_FOUND, "integration_not_found"));
    let old_run = s.get("a.test", &format!("/api/v1/integrations/runs/{id}"), &t).await;
    assert_eq!(old_run.code(), "run_not_found", "runs go with their integration");
    s.stop().await;
}

#[tokio::test]
async fn only_owners_of_the_store_reach_its_integrations() {
    let s = Srv::start(|_| {}).await;
    let (a, ta) = s.store("a").await;
    let (_, tb) = s.store("b").await;
    let added = s.post("a.test", "/api/v1/integrations", &ta, echo(0)).await;
    assert_eq!(added.status, 201);
    let run = s.post("a.test", "/api/v1/integrations/echo/runs", &ta, json!({"wait": true})).await;
    let run_id = run.body["id"].as_i64().unwrap();

    for role in ["manager", "content", "support"] {
        let tok = s.keys.issue_staff(&a, "x", role, None).unwrap();
        for path in
            ["/api/v1/integrations", "/api/v1/plugins", "/api/v1/integrations/echo", "/api/v1/integrations/echo/runs"]
        {
            let r = s.get("a.test", path, &tok).await;
            assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "{role} {path}");
        }
        let r = s.post("a.test", "/api/v1/integrations/echo/runs", &tok, json!({})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role} must not run integrations");
    }
    let anon = s.call(Method::GET, "a.test", "/api/v1/integrations", None, None, &[]).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    // Store B's owner does not see store A's instance or runs; A's token is not valid on B.
    let other = s.get("b.test", "/api/v1/integrations/echo", &tb).await;
    assert_eq!((other.status, other.code()), (StatusCode::NOT_FOUND, "integration_not_found"));
    let other_run = s.get("b.test", &format!("/api/v1/integrations/runs/{run_id}"), &tb).await;
    assert_eq!((other_run.status, other_run.code()), (StatusCode::NOT_FOUND, "run_not_found"));
    assert_eq!(s.get("b.test", "/api/v1/integrations", &tb).await.body, json!([]));
    let cross = s.get("b.test", "/api/v1/integrations", &ta).await;
    assert_eq!(cross.status, StatusCode::UNAUTHORIZED);
    let del = s.call(Method::DELETE, "b.test", "/api/v1/integrations/echo", Some(&tb), None, &[]).await;
    assert_eq!(del.status, StatusCode::NOT_FOUND);
    assert_eq!(s.get("a.test", "/api/v1/integrations/echo", &ta).await.status, 200);
    s.stop().await;
}

#[tokio::test]
async fn a_second_run_while_one_is_in_progress_is_409_sync_busy() {
    let s = Srv::start(|_| {}).await;
    let (_, t) = s.store("a").await;
    assert_eq!(s.post("a.test", "/api/v1/integrations", &t, echo(1500)).await.status, 201);
    let first = s.post("a.test", "/api/v1/integrations/echo/runs", &t, json!({})).await;
    assert_eq!(first.status, 202);
    let second = s
        .call(
            Method::POST,
            "a.test",
            "/api/v1/integrations/echo/runs",
            Some(&t),
            Some(json!({})),
            &[("accept-language", "ru")],
        )
        .await;
    assert_eq!((second.status, second.code()), (StatusCode::CONFLICT, "sync_busy"), "{:?}", second.body);
    assert!(second.body["error"]["message"].as_str().unwrap().contains("уже выполняется"), "{:?}", second.body);
    assert_eq!(s.get("a.test", "/api/v1/integrations/echo", &t).await.body["running"], true);
    let busy_delete = s.call(Method::DELETE, "a.test", "/api/v1/integrations/echo", Some(&t), None, &[]).await;
    assert_eq!((busy_delete.status, busy_delete.code()), (StatusCode::CONFLICT, "integration_in_use"));
    let done = finished(&s, "a.test", &t, first.body["id"].as_i64().unwrap()).await;
    assert_eq!(done["status"], "succeeded");
    let third = s.post("a.test", "/api/v1/integrations/echo/runs", &t, json!({"wait": true})).await;
    assert_eq!(third.status, 200);
    s.stop().await;
}

#[tokio::test]
async fn plugin_routes_and_webhooks_are_served_for_the_store_of_the_host() {
    let s = Srv::start(|_| {}).await;
    let (_, ta) = s.store("a").await;
    let (_, tb) = s.store("b").await;
    assert_eq!(s.post("a.test", "/api/v1/integrations", &ta, echo(0)).await.status, 201);
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("1c:{PASSWORD}")));

    let ok = s
        .call(
            Method::GET,
            "a.test",
            "/integrations/echo/exchange?type=catalog&mode=checkauth",
            None,
            None,
            &[("authorization", &basic)],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.text, "success\nstore=a path=/exchange query=type=catalog&mode=checkauth");
    let wrong = s
        .call(Method::GET, "a.test", "/integrations/echo/exchange", None, None, &[("authorization", "Basic eDp5")])
        .await;
    assert_eq!((wrong.status, wrong.text.as_str()), (StatusCode::UNAUTHORIZED, "failure\nauth"));
    // Store B has no instance of the plugin: its host gets 404, never A's instance.
    let b =
        s.call(Method::GET, "b.test", "/integrations/echo/exchange", None, None, &[("authorization", &basic)]).await;
    assert_eq!((b.status, b.code()), (StatusCode::NOT_FOUND, "integration_not_found"));
    let unknown = s.call(Method::GET, "a.test", "/integrations/nope/exchange", None, None, &[]).await;
    assert_eq!((unknown.status, unknown.code()), (StatusCode::NOT_FOUND, "plugin_not_found"));
    let no_route = s.call(Method::GET, "a.test", "/integrations/echo/elsewhere", None, None, &[]).await;
    assert_eq!(no_route.status, StatusCode::NOT_FOUND);
    let host = s.call(Method::GET, "nowhere.test", "/integrations/echo/exchange", None, None, &[]).await;
    assert_eq!(host.code(), "unknown_host");

    // The webhook.
    let hook = s
        .call(
            Method::POST,
            "a.test",
            "/integrations/echo/webhook?x=1",
            None,
            Some(json!({"event": "stock"})),
            &[("x-signature", "good")],
        )
        .await;
    assert_eq!(hook.status, 200, "{}", hook.text);
    assert_eq!(hook.body, json!({"ok": true, "store": "a", "query": "x=1"}));
    let forged = s
        .call(Method::POST, "a.test", "/integrations/echo/webhook", None, Some(json!({})), &[("x-signature", "bad")])
        .await;
    assert_eq!((forged.status, forged.code()), (StatusCode::BAD_REQUEST, "remote_data"));

    // A disabled instance serves nothing.
    let off = s
        .call(Method::PATCH, "a.test", "/api/v1/integrations/echo", Some(&ta), Some(json!({"enabled": false})), &[])
        .await;
    assert_eq!(off.status, 200);
    let r =
        s.call(Method::GET, "a.test", "/integrations/echo/exchange", None, None, &[("authorization", &basic)]).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "integration_not_found"));
    let _ = tb;
    s.stop().await;
}

#[tokio::test]
async fn the_server_runs_due_scheduled_integrations() {
    let s = Srv::start(|c| c.integrations.scheduler_poll_secs = 1).await;
    let (_, t) = s.store("a").await;
    let mut body = echo(0);
    body["schedule"] = json!("1m");
    let added = s.post("a.test", "/api/v1/integrations", &t, body).await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    let mut runs = Value::Null;
    for _ in 0..100 {
        runs = s.get("a.test", "/api/v1/integrations/echo/runs", &t).await.body;
        if runs.as_array().is_some_and(|r| r.iter().any(|r| r["status"] == "succeeded")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!((runs[0]["trigger"].as_str(), runs[0]["status"].as_str()), (Some("schedule"), Some("succeeded")));
    let inst = s.get("a.test", "/api/v1/integrations/echo", &t).await.body;
    let next: chrono::DateTime<chrono::Utc> = serde_json::from_value(inst["next_run_at"].clone()).unwrap();
    assert!(next > chrono::Utc::now() + chrono::TimeDelta::seconds(50), "the next run is an interval later: {next}");
    s.stop().await;
}
