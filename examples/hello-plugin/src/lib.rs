//! `hello`: a small, complete Megashop plugin, written to be copied.
//!
//! It downloads a catalogue from one JSON document (the format is in [`feed`]) and writes
//! it to the store: products, their variants, a category, prices and stock.
//! Read it from the top: [`Hello::manifest`] says what the plugin is and which settings
//! it takes, [`Hello::pull_catalog`] creates and updates products, [`Hello::pull_stock`]
//! updates only prices and stock. Along the way it shows what a plugin gets from
//! [`SyncContext`] for free:
//!
//! - settings checked against the manifest's schema, and a credential stored encrypted
//!   ([`SyncContext::setting_str`], [`SyncContext::credential`]);
//! - an HTTP client that keeps to a rate limit and retries 429 and 5xx answers, honouring
//!   `Retry-After` ([`SyncContext::http`]);
//! - a run log where each bad record is reported by its id while the rest is synced
//!   ([`SyncContext::log`]);
//! - external ids with payload hashes, so an unchanged record is skipped
//!   ([`CatalogTxn::lookup`], [`ProductRec::external_hash`]);
//! - one catalogue transaction per run: the store sees all of it at commit, or nothing
//!   ([`SyncContext::catalog`]).
//!
//! The engine around it records every run (`megashop integration runs hello`), runs it on
//! a schedule and keeps one run per store at a time.

pub mod feed;

use feed::{Feed, Product, Rejected, Variant};
use megashop_plugin::{
    async_trait, payload_hash, Capability, CatalogOptions, CatalogTxn, Field, Integration, Manifest, Mode, PluginError,
    Present, Problem, ProductRec, SyncContext, SyncReport, VariantRec,
};
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// Products handed to [`CatalogTxn::write`] at once: the writer turns a batch into a few
/// multi-row statements, so batches are much faster than one product at a time.
const BATCH: usize = 500;

/// The plugin. It keeps nothing itself: one value serves every store, and what differs
/// per store (settings, credentials, the run) comes in the [`SyncContext`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Hello;

#[async_trait]
impl Integration for Hello {
    /// Who the plugin is and which settings an instance takes. The engine checks every
    /// instance's settings against `config_schema` before the plugin ever sees them, and
    /// keeps `format: "password"` fields apart, encrypted, never shown back.
    fn manifest(&self) -> Manifest {
        Manifest {
            id: "hello".into(),
            name: "Hello (example)".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Reads products, prices and stock from a JSON feed over HTTP. \
                          The example plugin to copy when writing your own."
                .into(),
            // What the plugin implements: `megashop integration run` and the scheduler
            // call exactly these.
            capabilities: vec![Capability::PullCatalog, Capability::PullStock],
            config_schema: json!({
                "type": "object",
                "properties": {
                    "url": {
                        "type": "string", "format": "uri", "title": "Feed URL",
                        "description": "Where the JSON catalogue is (http or https)."
                    },
                    "price_type": {
                        "type": "string", "maxLength": 32, "title": "Price type",
                        "description": "Code of the store's price type the feed's prices go to. \
                                        Needed when the store has several; otherwise its only one is used."
                    },
                    "warehouse": {
                        "type": "string", "maxLength": 32, "title": "Warehouse",
                        "description": "Code of the store's warehouse the feed's stock goes to. \
                                        Needed when the store has several; otherwise its only one is used."
                    },
                    "token": {
                        "type": "string", "format": "password", "title": "API token",
                        "description": "Sent as `Authorization: Bearer <token>` when set."
                    }
                },
                "required": ["url"]
            }),
        }
    }

    /// Creates and updates products from the feed. Unchanged products are skipped by their
    /// payload hash; bad records are logged and counted failed, and the rest is written.
    async fn pull_catalog(&self, cx: &SyncContext) -> Result<SyncReport, PluginError> {
        let mut report = SyncReport::default();
        let products = fetch(cx, &mut report).await?;
        let listed = products.len() as u64 + report.failed;

        // One transaction for the whole run: nothing is visible to shoppers before
        // `commit`, and an error (or a crash) leaves the catalogue as it was.
        let mut txn = cx.catalog(CatalogOptions::default()).await?;
        let to = Target::resolve(cx, &txn)?;

        // What we wrote last time, by the remote id: the store's id and the payload hash.
        let ids: Vec<String> = products.iter().map(|p| p.id.clone()).collect();
        let known = txn.lookup("product", &ids).await?;

        let mut unchanged = Vec::new();
        let mut records = Vec::new();
        let mut categories = HashMap::new();
        for (i, p) in products.iter().enumerate() {
            let hash = to.product_hash(p)?;
            if let Some(m) = known.get(&p.id) {
                if m.payload_hash.as_deref() == Some(hash.as_str()) {
                    unchanged.push(m.id);
                    continue;
                }
            }
            let category_id = match &p.category {
                Some(name) => Some(category(&mut txn, &mut categories, name).await?),
                None => None,
            };
            let variants = p.variants.iter().map(|v| to.variant_rec(row(i), v)).collect::<Result<_, _>>()?;
            records.push(ProductRec {
                row: row(i),
                external_id: Some(p.id.clone()),
                // Recorded with the mapping when the product is written: next run compares.
                external_hash: Some(hash),
                title: Some(p.title.clone()),
                description: p.description.clone(),
                category_id,
                variants,
                // No slug (made from the title) and no status: new products are active, and
                // a product the owner hid in the admin stays hidden.
                ..ProductRec::default()
            });
        }
        // Counted, and remembered as seen in this run.
        txn.unchanged(&unchanged).await?;

        // The fields this feed carries: the writer updates these and leaves the rest (SEO
        // texts, images, attributes set in the admin) alone.
        let present = Present {
            fields: vec![Field::Title, Field::Description, Field::Category, Field::VariantTitle],
            price_types: vec![to.price_type],
            warehouses: vec![to.warehouse],
        };
        let problems = write(&mut txn, records, &present).await?;
        let counts = txn.commit().await?;
        report.add(&counts);
        report.failed += log_problems(cx, &problems, &products).await;
        report.message = Some(format!("{listed} products in the feed"));
        Ok(report)
    }

    /// Updates only prices and stock from the same feed. It never creates a product (the
    /// catalogue pull does) and leaves titles, descriptions and categories alone.
    async fn pull_stock(&self, cx: &SyncContext) -> Result<SyncReport, PluginError> {
        let mut report = SyncReport::default();
        let products = fetch(cx, &mut report).await?;
        let listed = products.len() as u64 + report.failed;

        // Update-only: a variant the store does not have is reported, not created.
        let opts = CatalogOptions { mode: Mode::UpdateOnly, ..CatalogOptions::default() };
        let mut txn = cx.catalog(opts).await?;
        let to = Target::resolve(cx, &txn)?;

        // Each variant's hash covers only its price and stock (see `Target::variant_rec`),
        // so a new title does not count as a stock change.
        let variant_ids: Vec<String> = products.iter().flat_map(|p| p.variants.iter().map(|v| v.id.clone())).collect();
        let known_variants = txn.lookup("variant", &variant_ids).await?;
        let ids: Vec<String> = products.iter().map(|p| p.id.clone()).collect();
        let known_products = txn.lookup("product", &ids).await?;

        let mut unchanged = Vec::new();
        let mut records = Vec::new();
        for (i, p) in products.iter().enumerate() {
            let mut changed = Vec::new();
            for v in &p.variants {
                // No title: this pull changes prices and stock only.
                let rec = VariantRec { title: None, ..to.variant_rec(row(i), v)? };
                let before = known_variants.get(&v.id).and_then(|m| m.payload_hash.as_deref());
                if before != rec.external_hash.as_deref() {
                    changed.push(rec);
                }
            }
            match known_products.get(&p.id) {
                Some(m) if changed.is_empty() => unchanged.push(m.id),
                // Only the product's id and the changed variants: with no title and no
                // fields present, the writer touches nothing else.
                _ => records.push(ProductRec {
                    row: row(i),
                    external_id: Some(p.id.clone()),
                    variants: changed,
                    ..ProductRec::default()
                }),
            }
        }
        txn.unchanged(&unchanged).await?;
        let present = Present { fields: Vec::new(), price_types: vec![to.price_type], warehouses: vec![to.warehouse] };
        let problems = write(&mut txn, records, &present).await?;
        let counts = txn.commit().await?;
        report.add(&counts);
        report.failed += log_problems(cx, &problems, &products).await;
        report.message = Some(format!("prices and stock of {listed} products in the feed"));
        Ok(report)
    }
}

/// Downloads the feed and checks its records. The products that passed come back; the
/// others are logged by id and counted in `report.failed`.
///
/// A feed that cannot be had or read at all (the server is down after every retry, the
/// body is not JSON) fails the run with the error: there is nothing to sync.
async fn fetch(cx: &SyncContext, report: &mut SyncReport) -> Result<Vec<Product>, PluginError> {
    // Required by the schema, so always there; still, a plugin never unwraps settings.
    let url = cx.setting_str("url").ok_or_else(|| PluginError::Config("the url setting is missing".into()))?;
    let mut req = cx.http().get(url);
    if let Some(token) = cx.credential("token") {
        req = req.bearer_auth(token);
    }
    // `json` sends through the instance's client: paced, retried on 429/5xx and network
    // failures (each retry is logged to the run), then reads the body as JSON. A final
    // answer other than 2xx is `PluginError::Remote` with the status.
    let feed: Feed = cx.http().json(req).await?;
    if feed.products.len() > feed::MAX_PRODUCTS {
        return Err(PluginError::Data(format!(
            "the feed lists {} products, more than {}",
            feed.products.len(),
            feed::MAX_PRODUCTS
        )));
    }
    cx.log().info(format!("{} products read from the feed", feed.products.len())).await;

    let mut products = Vec::with_capacity(feed.products.len());
    for checked in feed::check(feed) {
        match checked {
            Ok(p) => products.push(p),
            Err(Rejected { id, reason }) => {
                // One line per bad record, with its remote id: the run goes on.
                cx.log().error(id.as_deref(), reason).await;
                report.failed += 1;
            }
        }
    }
    Ok(products)
}

/// Writes `records` in batches; returns the problems the writer found with single
/// records (a variant unknown in update-only mode...): they do not stop the others.
async fn write(txn: &mut CatalogTxn, records: Vec<ProductRec>, present: &Present) -> Result<Vec<Problem>, PluginError> {
    let mut problems = Vec::new();
    let mut records = records.into_iter().peekable();
    while records.peek().is_some() {
        let batch: Vec<ProductRec> = records.by_ref().take(BATCH).collect();
        problems.extend(txn.write(batch, present).await?);
    }
    Ok(problems)
}

/// Logs the writer's problems, each by the id of its product; returns how many products
/// failed.
///
/// Call it after the commit: the run log is written outside the catalogue transaction,
/// and on SQLite it would wait for the transaction's lock.
async fn log_problems(cx: &SyncContext, problems: &[Problem], products: &[Product]) -> u64 {
    let mut failed = HashSet::new();
    for problem in problems {
        // `row` is the one we gave the record: its place in `products`, from 1.
        let id = usize::try_from(problem.row).ok().and_then(|r| products.get(r.checked_sub(1)?));
        cx.log().error(id.map(|p| p.id.as_str()), explain(problem)).await;
        failed.insert(problem.row);
    }
    failed.len() as u64
}

/// The row number of the `i`th checked product, as problems report it back.
fn row(i: usize) -> u64 {
    i as u64 + 1
}

/// A writer's problem, for the run log.
fn explain(p: &Problem) -> String {
    let what = match p.code {
        "unknown_sku" => "not in the store yet (the catalogue pull creates it)",
        code => code,
    };
    match (&p.column, &p.value) {
        (Some(c), Some(v)) => format!("{what} ({c} {v:?})"),
        _ => what.to_string(),
    }
}

/// The store's category for a name from the feed, created on first sight. The name is
/// its remote id too; `cache` spares a lookup for every product of a category.
async fn category(txn: &mut CatalogTxn, cache: &mut HashMap<String, i64>, name: &str) -> Result<i64, PluginError> {
    if let Some(id) = cache.get(name) {
        return Ok(*id);
    }
    let id = txn.category(name, None, name).await?;
    cache.insert(name.to_string(), id);
    Ok(id)
}

/// Where the feed's prices and stock go in this store.
struct Target {
    /// Index of the price type in [`CatalogTxn::targets`].
    price_type: usize,
    /// Index of the warehouse in [`CatalogTxn::targets`].
    warehouse: usize,
    /// Their codes: part of every hash, so that choosing another price type or warehouse
    /// writes every record again instead of skipping it as unchanged.
    codes: (String, String),
}

impl Target {
    /// The price type and warehouse the settings name; without a setting, the store's
    /// only one.
    fn resolve(cx: &SyncContext, txn: &CatalogTxn) -> Result<Target, PluginError> {
        let targets = txn.targets();
        let price_types: Vec<&str> = targets.price_types.iter().map(|p| p.code.as_str()).collect();
        let warehouses: Vec<&str> = targets.warehouses.iter().map(String::as_str).collect();
        let price_type = pick(cx, "price_type", &price_types)?;
        let warehouse = pick(cx, "warehouse", &warehouses)?;
        let codes = (price_types[price_type].to_string(), warehouses[warehouse].to_string());
        Ok(Target { price_type, warehouse, codes })
    }

    /// The payload hash of a whole product: its checked record (so unknown fields and
    /// the feed's formatting do not matter) and where its prices and stock go.
    fn product_hash(&self, p: &Product) -> Result<String, PluginError> {
        Ok(payload_hash(&serde_json::to_vec(&(&self.codes, p))?))
    }

    /// A variant to write, with the hash of its price and stock only: what
    /// [`Hello::pull_stock`] compares.
    fn variant_rec(&self, row: u64, v: &Variant) -> Result<VariantRec, PluginError> {
        let offer = serde_json::to_vec(&(&self.codes, v.price, v.stock))?;
        Ok(VariantRec {
            row,
            sku: v.sku.clone(),
            title: v.title.clone(),
            prices: vec![(self.price_type, Some(v.price))],
            stock: vec![(self.warehouse, Some(v.stock))],
            external_id: Some(v.id.clone()),
            external_hash: Some(payload_hash(&offer)),
            ..VariantRec::default()
        })
    }
}

/// The index, in `codes`, of the code the `setting` names; without the setting, of the
/// store's only code. A store with several must choose: putting retail prices into the
/// wholesale price list by a guess is worse than asking.
fn pick(cx: &SyncContext, setting: &str, codes: &[&str]) -> Result<usize, PluginError> {
    let wanted = cx.setting_str(setting).filter(|c| !c.is_empty());
    let found = match (wanted, codes) {
        (Some(code), _) => codes.iter().position(|c| *c == code).ok_or_else(|| format!("the store has no {code:?}")),
        (None, [_]) => Ok(0),
        (None, []) => Err("the store has none yet: create one".to_string()),
        (None, _) => Err("the store has several: set the one to use".to_string()),
    };
    found.map_err(|why| PluginError::Config(format!("{setting}: {why} (the store has {codes:?})")))
}
