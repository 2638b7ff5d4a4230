//! The plugin API: what an integration crate implements ([`Integration`]) and what it
//! gets from Megashop ([`SyncContext`]: the store's settings and decrypted credentials,
//! an HTTP client that retries and keeps to a rate limit, external-id mapping
//! ([`Refs`]), a small persistent key-value store ([`StateStore`]), a run log
//! ([`SyncLog`]) and the run lock).
//!
//! Around it, the sync engine ([`Engine`]) keeps one instance of a plugin per store in
//! the `integration` table (settings checked against the plugin's [`Manifest`], credentials
//! encrypted at rest), runs it on demand or on a schedule ([`scheduler`]), and records each
//! run in `sync_run` with its log in `sync_error`. Built-in plugins are collected in a
//! [`Registry`].
//!
//! A plugin sees only this crate's API, never the database directly.
//!
//! ```no_run
//! use megashop_plugin::{async_trait, Capability, Integration, Manifest, PluginError, SyncContext, SyncReport};
//!
//! struct Hello;
//!
//! #[async_trait]
//! impl Integration for Hello {
//!     fn manifest(&self) -> Manifest {
//!         Manifest {
//!             id: "hello".into(),
//!             name: "Hello".into(),
//!             version: "1.0.0".into(),
//!             description: "Says hello.".into(),
//!             capabilities: vec![Capability::PullCatalog],
//!             config_schema: serde_json::json!({"type": "object", "properties": {}}),
//!         }
//!     }
//!
//!     async fn pull_catalog(&self, cx: &SyncContext) -> Result<SyncReport, PluginError> {
//!         cx.log().info("hello").await;
//!         Ok(SyncReport::default())
//!     }
//! }
//! ```

pub mod catalog;
mod context;
mod crypto;
pub mod engine;
mod error;
mod http_client;
mod refs;
pub mod registry;
pub mod scheduler;
mod schema;
mod state;

pub use async_trait::async_trait;
pub use context::{SyncContext, SyncLog};
pub use crypto::Keyring;
pub use engine::{Engine, EngineOptions, Instance, InstancePatch, LogLine, NewInstance, RunDetail, RunView, Task};
pub use error::PluginError;
pub use http_client::{HttpClient, HttpPolicy, Retry};
pub use megashop_io::mapping::{Present, ProductRec, VariantRec};
pub use megashop_io::writer::Counts;
pub use refs::{payload_hash, RefRow, Refs};
pub use registry::Registry;
pub use state::StateStore;
// The catalogue write path plugins share with the importer (see `catalog`).
pub use catalog::{CatalogOptions, CatalogTxn, Mapped};
pub use megashop_io::problem::Problem;
pub use megashop_io::profile::Field;
pub use megashop_io::writer::{Key, Mode};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a plugin is: its id, name, version, what it can do, and the settings it takes.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Manifest {
    /// Stable id, `[a-z0-9][a-z0-9_-]*` (`1c`, `moysklad`, `hello`): the name of the
    /// plugin in URLs, commands and `external_ref.integration`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// One or two sentences for people choosing a plugin.
    pub description: String,
    /// What the plugin implements.
    pub capabilities: Vec<Capability>,
    /// The settings an instance takes, as a JSON Schema subset: `{"type": "object",
    /// "properties": {...}, "required": [...]}`, each property with `type` (`string`,
    /// `integer`, `number`, `boolean`) and optionally `title`, `description`, `default`,
    /// `enum`, `minimum`/`maximum`, `minLength`/`maxLength` and `format`: `uri` (an http or
    /// https URL) or `password` (a credential: stored encrypted, never shown back).
    ///
    /// Two property names are understood by the engine when a plugin declares them:
    /// `requests_per_second` (the HTTP rate limit of the instance) and `max_attempts`
    /// (attempts per HTTP request, retries included).
    #[schema(value_type = Object)]
    pub config_schema: serde_json::Value,
}

impl Manifest {
    /// True when the plugin declares `c`.
    pub fn can(&self, c: Capability) -> bool {
        self.capabilities.contains(&c)
    }
}

/// Something a plugin can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Reads the catalogue from the remote system ([`Integration::pull_catalog`]).
    PullCatalog,
    /// Reads stock (and prices) from the remote system ([`Integration::pull_stock`]).
    PullStock,
    /// Sends orders to the remote system ([`Integration::push_order`]).
    PushOrder,
    /// Takes `POST /integrations/{id}/webhook` ([`Integration::on_webhook`]).
    Webhook,
    /// Serves its own HTTP routes under `/integrations/{id}/` ([`Integration::routes`]).
    Routes,
}

impl Capability {
    /// The snake_case name (`pull_catalog`).
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::PullCatalog => "pull_catalog",
            Capability::PullStock => "pull_stock",
            Capability::PushOrder => "push_order",
            Capability::Webhook => "webhook",
            Capability::Routes => "routes",
        }
    }
}

/// An integration with an external system. One value serves every store: what differs
/// per store (settings, credentials, state, the run) is in the [`SyncContext`].
///
/// Every method but [`Integration::manifest`] has a default that answers
/// [`PluginError::Unsupported`]: implement what the manifest's capabilities promise.
#[async_trait]
pub trait Integration: Send + Sync + 'static {
    /// Id, name, version, capabilities and settings schema. Called once at registration.
    fn manifest(&self) -> Manifest;

    /// Reads the remote catalogue and writes it to the store. Runs inside a run (the
    /// context's [`SyncContext::run_id`] is set and the instance is locked).
    async fn pull_catalog(&self, cx: &SyncContext) -> Result<SyncReport, PluginError> {
        let _ = cx;
        Err(PluginError::Unsupported("pull_catalog"))
    }

    /// Reads remote stock (and prices) and writes them to the store. Runs inside a run.
    async fn pull_stock(&self, cx: &SyncContext) -> Result<SyncReport, PluginError> {
        let _ = cx;
        Err(PluginError::Unsupported("pull_stock"))
    }

    /// Sends an order to the remote system and returns the remote id it got.
    async fn push_order(&self, cx: &SyncContext, order: &OrderView) -> Result<ExternalRef, PluginError> {
        let _ = (cx, order);
        Err(PluginError::Unsupported("push_order"))
    }

    /// Answers `POST /integrations/{id}/webhook` for a plugin with [`Capability::Webhook`].
    /// No run is open: call [`SyncContext::begin_run`] for work worth recording.
    async fn on_webhook(&self, cx: &SyncContext, req: WebhookRequest) -> Result<WebhookReply, PluginError> {
        let _ = (cx, req);
        Err(PluginError::Unsupported("on_webhook"))
    }

    /// The plugin's own HTTP routes, served at `/integrations/{id}/...` of each store that
    /// has an enabled instance (the router sees the path after the plugin id:
    /// `/integrations/1c/exchange?type=catalog` → `/exchange?type=catalog`). No staff token
    /// is checked there: the plugin authenticates its callers itself. Called once, at
    /// registration.
    fn routes(&self) -> Option<axum::Router<PluginState>> {
        None
    }
}

/// The state of a plugin's routes: the context of the store and instance the request is
/// for, built for each request.
#[derive(Clone)]
pub struct PluginState {
    /// The instance's context (no run open).
    pub cx: SyncContext,
}

/// What a run did: counts of products (or whatever the plugin syncs) and a summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncReport {
    /// Records created in the store.
    pub created: u64,
    /// Records changed.
    pub updated: u64,
    /// Records found as they were.
    pub unchanged: u64,
    /// Records that could not be synced (each one logged with [`SyncLog::error`]).
    pub failed: u64,
    /// A one-line summary for people.
    pub message: Option<String>,
}

impl SyncReport {
    /// Adds the counts of a catalogue write.
    pub fn add(&mut self, c: &Counts) {
        self.created += c.created;
        self.updated += c.updated;
        self.unchanged += c.unchanged;
    }

    /// Adds another report's counts (and keeps the messages of both).
    pub fn merge(&mut self, other: &SyncReport) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.failed += other.failed;
        self.message = match (self.message.take(), &other.message) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or_else(|| b.clone()),
        };
    }
}

/// An order as a plugin sees it (read only), for [`Integration::push_order`].
///
/// Orders arrive in a later version: nothing produces an `OrderView` yet, and no engine
/// path calls `push_order`. The shape is here so plugins can be written against it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    /// The store's order id.
    pub id: i64,
    /// The order number shown to the customer.
    pub number: String,
    /// When it was placed.
    pub created_at: DateTime<Utc>,
    /// ISO 4217 currency of every amount.
    pub currency: String,
    /// Sum of the lines, in minor units.
    pub subtotal_minor: i64,
    /// Delivery price, in minor units.
    pub delivery_minor: i64,
    /// Discount, in minor units (positive).
    pub discount_minor: i64,
    /// What the customer pays, in minor units.
    pub total_minor: i64,
    /// Who ordered.
    pub customer: OrderCustomer,
    /// What was ordered.
    pub lines: Vec<OrderLine>,
    /// How it is delivered, when chosen.
    pub delivery: Option<OrderDelivery>,
    /// The customer's comment.
    pub comment: Option<String>,
}

/// The customer of an [`OrderView`]. Not yet produced by anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCustomer {
    /// Full name as given.
    pub name: String,
    /// Email, when given.
    pub email: Option<String>,
    /// Phone (E.164), when given.
    pub phone: Option<String>,
}

/// One line of an [`OrderView`]: a snapshot of the variant at purchase. Not yet produced
/// by anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The variant's SKU.
    pub sku: String,
    /// The variant's id in this plugin's system (`external_ref`), when it has one.
    pub external_id: Option<String>,
    /// Title at purchase.
    pub title: String,
    /// Quantity.
    pub quantity: i64,
    /// Unit price, in minor units.
    pub price_minor: i64,
}

/// Delivery of an [`OrderView`]. Not yet produced by anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDelivery {
    /// The region the order was placed in.
    pub region: String,
    /// The delivery method's code.
    pub method: String,
    /// Its name at purchase.
    pub method_name: String,
    /// Address, as one line.
    pub address: Option<String>,
}

/// A record's id in the remote system, as a plugin returns it (an order it created).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalRef {
    /// What it is (`order`).
    pub kind: String,
    /// Its remote id.
    pub external_id: String,
}

/// A webhook call as [`Integration::on_webhook`] gets it.
#[derive(Clone, Debug)]
pub struct WebhookRequest {
    /// Request headers (for signatures).
    pub headers: http::HeaderMap,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The raw body.
    pub body: bytes::Bytes,
}

/// What to answer a webhook call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookReply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` of the body.
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
}

impl WebhookReply {
    /// `200 OK` with a plain-text body.
    pub fn text(body: impl Into<String>) -> Self {
        WebhookReply { status: 200, content_type: "text/plain; charset=utf-8".into(), body: body.into().into_bytes() }
    }

    /// `200 OK` with a JSON body.
    pub fn json(v: &serde_json::Value) -> Self {
        WebhookReply { status: 200, content_type: "application/json".into(), body: v.to_string().into_bytes() }
    }
}
