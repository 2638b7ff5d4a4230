//! `hello`: the example plugin. It reads a JSON list of items from a URL and reports how
//! many are new, changed or unchanged since its last run (by a hash of each item, kept in
//! its state). It does not touch the catalogue. It shows a plugin author the whole API
//! (manifest and settings schema, credentials, the HTTP client, the run log, the state
//! store) and lets an operator check that scheduling and outbound HTTP work.
//!
//! The feed is a JSON array of objects, each with an `id` (string or number):
//! `[{"id": "A-1", "title": "Kettle"}, ...]`. An item without an id is logged as an
//! error and counted as failed.

use crate::{async_trait, payload_hash, Capability, Integration, Manifest, PluginError, SyncContext, SyncReport};
use serde_json::{json, Value};

/// Items a feed may list.
pub const MAX_ITEMS: usize = 10_000;

/// The example plugin.
#[derive(Clone, Copy, Debug, Default)]
pub struct Hello;

#[async_trait]
impl Integration for Hello {
    fn manifest(&self) -> Manifest {
        Manifest {
            id: "hello".into(),
            name: "Hello (example)".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Reads a JSON list of items from a URL and counts new, changed and unchanged ones. \
                          An example for plugin authors; it does not change the catalogue."
                .into(),
            capabilities: vec![Capability::PullCatalog],
            config_schema: json!({
                "type": "object",
                "properties": {
                    "url": {"type": "string", "format": "uri", "title": "Feed URL",
                            "description": "Where the JSON array of items is."},
                    "token": {"type": "string", "format": "password", "title": "Bearer token",
                              "description": "Sent as Authorization: Bearer, when set."},
                    "requests_per_second": {"type": "number", "minimum": 0.1, "maximum": 100, "default": 5},
                    "max_attempts": {"type": "integer", "minimum": 1, "maximum": 10, "default": 5}
                },
                "required": ["url"]
            }),
        }
    }

    async fn pull_catalog(&self, cx: &SyncContext) -> Result<SyncReport, PluginError> {
        let url = cx.setting_str("url").ok_or_else(|| PluginError::Config("url is not set".into()))?;
        let mut req = cx.http().get(url);
        if let Some(token) = cx.credential("token") {
            req = req.bearer_auth(token);
        }
        let items: Vec<Value> = cx.http().json(req).await?;
        if items.len() > MAX_ITEMS {
            return Err(PluginError::Data(format!("the feed lists {} items, more than {MAX_ITEMS}", items.len())));
        }
        cx.log().info(format!("{} items read", items.len())).await;
        let state = cx.state();
        let mut report = SyncReport::default();
        for item in &items {
            let id = match item.get("id") {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => {
                    cx.log().error(None, "an item has no id").await;
                    report.failed += 1;
                    continue;
                }
            };
            let hash = payload_hash(item.to_string().as_bytes());
            let key = format!("item:{}", id.chars().take(190).collect::<String>());
            match state.get::<String>(&key).await? {
                Some(h) if h == hash => report.unchanged += 1,
                Some(_) => report.updated += 1,
                None => report.created += 1,
            }
            state.put(&key, &hash, None).await?;
        }
        report.message = Some(format!("{} items", items.len()));
        Ok(report)
    }
}
