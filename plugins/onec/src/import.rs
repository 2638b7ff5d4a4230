//! One CommerceML file into the catalogue, in one transaction: groups → categories,
//! properties → attribute names (kept between exchanges), price types and warehouses →
//! the store's, products → products, offers → variants with prices and stock.
//!
//! The file is parsed on a blocking thread ([`crate::cml::CmlReader`] streams it: a 500 MB
//! file needs memory for a batch, not the file) and written in batches through the
//! plugin API's [`CatalogTxn`], which is the importer's own batched upsert path. Records
//! whose payload hash did not change since the last exchange are not written at all.

use crate::cml::{self, CmlReader, Item};
use megashop_plugin::catalog::{currency_code, CatalogOptions, CatalogTxn};
use megashop_plugin::{Field, PluginError, Present, ProductRec, SyncContext, VariantRec};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Products (or offers) written per batch.
const BATCH: usize = 1000;
/// Parsed items handed from the parsing thread at once.
const CHUNK: usize = 256;
/// State key of the property dictionary.
const DICTIONARY: &str = "classifier";

/// How 1C's records become the store's (the instance's settings).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct MappingSettings {
    /// `id` (default): a variant's SKU is its 1C `Ид`, always unique; `article`: the
    /// `Артикул` when it is set and not used by another offer of the file, else the `Ид`.
    pub sku: Option<String>,
    /// 1C price type (`Ид` or name) → the store's price type code.
    pub price_types: BTreeMap<String, String>,
    /// 1C warehouse (`Ид` or name) → the store's warehouse code.
    pub warehouses: BTreeMap<String, String>,
    /// The store's warehouse for offers that give only a total `Количество`.
    pub stock_warehouse: Option<String>,
    /// Hide the products a full catalogue does not list (default true).
    pub hide_missing: Option<bool>,
    /// Currency of price types that name none (default RUB).
    pub currency: Option<String>,
}

/// One property of the classifier, as kept between exchanges.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct PropDef {
    name: String,
    numeric: bool,
    /// `ИдЗначения` → text of enumerated values.
    values: HashMap<String, String>,
}

/// What an import did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    /// Schema version of the file.
    pub version: Option<String>,
    /// Groups created or updated.
    pub groups: u64,
    /// Products created.
    pub created: u64,
    /// Products updated.
    pub updated: u64,
    /// Products (or offers) unchanged since the last exchange.
    pub unchanged: u64,
    /// Offers written (variants created or updated with their prices and stock).
    pub offers: u64,
    /// Records refused (unknown product of an offer, bad values).
    pub failed: u64,
    /// Products hidden: marked deleted in 1C, or missing from a full catalogue.
    pub hidden: u64,
    /// The file was a full catalogue (not `СодержитТолькоИзменения`).
    pub full: bool,
}

impl Outcome {
    /// One line for 1C's answer and the log, in Russian or English.
    pub fn summary(&self, ru: bool) -> String {
        if ru {
            format!(
                "Товары: создано {}, обновлено {}, без изменений {}, скрыто {}; предложений записано {}; ошибок {}",
                self.created, self.updated, self.unchanged, self.hidden, self.offers, self.failed
            )
        } else {
            format!(
                "Products: {} created, {} updated, {} unchanged, {} hidden; {} offers written; {} failed",
                self.created, self.updated, self.unchanged, self.hidden, self.offers, self.failed
            )
        }
    }
}

/// A hash of everything 1C sent for one record (xxh3-128 of its fields, as hex).
fn hash_of<T: std::hash::Hash>(v: &T) -> String {
    use std::hash::Hasher;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    v.hash(&mut h);
    // Bumped when what the import makes of a record changes: every record is then
    // written once more.
    h.write_u32(1);
    format!("{:032x}", h.digest128())
}

/// Items parsed so far, for progress answers.
#[derive(Debug, Default)]
pub struct Progress {
    /// Products and offers read from the file.
    pub records: AtomicU64,
}

enum Msg {
    Items(Vec<Item>),
    /// One item was unreadable (too long, a bad number, no `Ид`); the reader goes on.
    Skipped(cml::CmlError),
    Failed(cml::CmlError),
}

/// Imports one CommerceML file. `since` is when the exchange began: a full catalogue
/// hides this integration's products not written or seen since then. Errors roll the
/// whole file back.
pub async fn import_file(
    cx: &SyncContext,
    path: &Path,
    settings: &MappingSettings,
    since: chrono::DateTime<chrono::Utc>,
    progress: Arc<Progress>,
) -> Result<Outcome, ImportFailure> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Msg>(8);
    let file: PathBuf = path.to_path_buf();
    let counter = progress.clone();
    let parser = tokio::task::spawn_blocking(move || {
        let mut reader = match CmlReader::from_path(&file) {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.blocking_send(Msg::Failed(e));
                return;
            }
        };
        let mut chunk = Vec::with_capacity(CHUNK);
        loop {
            match reader.next_item() {
                Ok(Some(item)) => {
                    if matches!(item, Item::Product(_) | Item::Offer(_)) {
                        counter.records.fetch_add(1, Ordering::Relaxed);
                    }
                    chunk.push(item);
                    if chunk.len() == CHUNK && tx.blocking_send(Msg::Items(std::mem::take(&mut chunk))).is_err() {
                        return;
                    }
                }
                Ok(None) => {
                    if !chunk.is_empty() {
                        let _ = tx.blocking_send(Msg::Items(chunk));
                    }
                    return;
                }
                Err(e) if e.is_recoverable() => {
                    if tx.blocking_send(Msg::Skipped(e)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Msg::Failed(e));
                    return;
                }
            }
        }
    });

    let mut st = Importer::new(cx, settings).await?;
    let mut result = Ok(());
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Items(items) => {
                for item in items {
                    if let Err(e) = st.item(item).await {
                        result = Err(e);
                        break;
                    }
                }
                if result.is_err() {
                    break;
                }
            }
            Msg::Skipped(e) => {
                st.out.failed += 1;
                st.cat.error(None, e.to_string());
            }
            Msg::Failed(e) => {
                result = Err(ImportFailure::Xml(e));
                break;
            }
        }
    }
    drop(rx);
    let _ = parser.await;
    if let Err(e) = result {
        // Undone, and what was noted on the way still reaches the run log.
        st.cat.rollback().await?;
        return Err(e);
    }
    st.finish(since).await
}

/// Why a file was not imported (nothing of it was written).
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// The XML is malformed, truncated, too big in places, or not CommerceML.
    #[error("{0}")]
    Xml(#[from] cml::CmlError),
    /// The file holds orders, which the catalogue exchange does not take.
    #[error("the file holds orders, not a catalogue")]
    Orders,
    /// Writing failed.
    #[error("{0}")]
    Plugin(#[from] PluginError),
}

#[derive(Clone, Copy)]
enum Kind {
    PriceType,
    Warehouse,
}

struct Importer<'a> {
    cx: &'a SyncContext,
    settings: &'a MappingSettings,
    cat: CatalogTxn,
    dict: HashMap<String, PropDef>,
    dict_changed: bool,
    /// 1C group → category id.
    groups: HashMap<String, i64>,
    /// 1C price type → the store's code (this file's and looked up ones).
    price_types: HashMap<String, Option<String>>,
    /// 1C warehouse → the store's code.
    warehouses: HashMap<String, Option<String>>,
    currency: String,
    products: Vec<cml::Product>,
    offers: Vec<cml::Offer>,
    full_catalog: bool,
    out: Outcome,
    /// References already reported once (unknown price types, warehouses, properties).
    reported: HashSet<String>,
}

impl<'a> Importer<'a> {
    async fn new(cx: &'a SyncContext, settings: &'a MappingSettings) -> Result<Importer<'a>, ImportFailure> {
        let dict = cx.state().get::<HashMap<String, PropDef>>(DICTIONARY).await?.unwrap_or_default();
        let cat = cx.catalog(CatalogOptions::default()).await?;
        let currency = settings.currency.as_deref().and_then(currency_code).unwrap_or_else(|| "RUB".into());
        Ok(Importer {
            cx,
            settings,
            cat,
            dict,
            dict_changed: false,
            groups: HashMap::new(),
            price_types: HashMap::new(),
            warehouses: HashMap::new(),
            currency,
            products: Vec::new(),
            offers: Vec::new(),
            full_catalog: false,
            out: Outcome::default(),
            reported: HashSet::new(),
        })
    }

    async fn item(&mut self, item: Item) -> Result<(), ImportFailure> {
        match item {
            Item::Document { version, .. } => self.out.version = version,
            Item::Orders => return Err(ImportFailure::Orders),
            Item::ClassifierStart { .. } | Item::Unit(_) => {}
            Item::Group(g) => {
                if !g.deleted {
                    let id = self.cat.category(&g.id, g.parent_id.as_deref(), &g.name).await?;
                    self.groups.insert(g.id, id);
                    self.out.groups += 1;
                }
            }
            Item::Property(p) => {
                let numeric = p.value_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("Число"));
                let e = self.dict.entry(p.id).or_default();
                e.name = p.name;
                e.numeric = numeric;
                e.values.extend(p.values);
                self.dict_changed = true;
            }
            Item::PriceType(p) => {
                let code = self.settings.price_types.get(&p.id).or_else(|| self.settings.price_types.get(&p.name));
                let currency = p.currency.as_deref().and_then(currency_code).unwrap_or_else(|| self.currency.clone());
                let code = self.cat.price_type(&p.id, code.map(String::as_str), &p.name, &currency).await?;
                self.price_types.insert(p.id, Some(code));
            }
            Item::Warehouse(w) => {
                let code = self.settings.warehouses.get(&w.id).or_else(|| self.settings.warehouses.get(&w.name));
                let code = self.cat.warehouse(&w.id, code.map(String::as_str), &w.name).await?;
                self.warehouses.insert(w.id, Some(code));
            }
            Item::CatalogStart { only_changes, .. } => {
                self.full_catalog = !only_changes;
                self.out.full = !only_changes;
            }
            Item::OffersStart { .. } => {}
            Item::Product(p) => {
                self.products.push(p);
                if self.products.len() >= BATCH {
                    self.flush_products().await?;
                }
            }
            Item::Offer(o) => {
                if !self.products.is_empty() {
                    self.flush_products().await?;
                }
                self.offers.push(o);
                if self.offers.len() >= BATCH {
                    self.flush_offers().await?;
                }
            }
        }
        Ok(())
    }

    /// The text of one property value: enumerated values by their id, numbers as numbers.
    fn attribute(&mut self, prop: &str, value: &str) -> Option<(String, serde_json::Value)> {
        let Some(def) = self.dict.get(prop) else {
            if self.reported.insert(format!("property:{prop}")) {
                tracing::debug!(property = prop, "a property missing from the classifier is skipped");
            }
            return None;
        };
        let text = def.values.get(value).cloned().unwrap_or_else(|| value.to_string());
        let name: String = def.name.chars().take(100).collect();
        if def.numeric {
            if let Ok(n) = text.replace(',', ".").parse::<f64>() {
                if let Some(n) = serde_json::Number::from_f64(n) {
                    return Some((name, serde_json::Value::Number(n)));
                }
            }
        }
        Some((name, serde_json::Value::String(text.chars().take(500).collect())))
    }

    async fn flush_products(&mut self) -> Result<(), ImportFailure> {
        let batch = std::mem::take(&mut self.products);
        let ids: Vec<String> = batch.iter().map(|p| p.id.clone()).collect();
        let known = self.cat.lookup("product", &ids).await?;
        let mut recs = Vec::with_capacity(batch.len());
        let mut unchanged = Vec::new();
        let mut by_row: HashMap<u64, String> = HashMap::new();
        for (i, p) in batch.into_iter().enumerate() {
            let hash = hash_of(&p);
            if let Some(m) = known.get(&p.id) {
                if m.payload_hash.as_deref() == Some(hash.as_str()) {
                    unchanged.push(m.id);
                    continue;
                }
            }
            let mut attributes = BTreeMap::new();
            for (prop, value) in &p.properties {
                if let Some((k, v)) = self.attribute(prop, value) {
                    // Several values of one property (`Множественное`) join into one.
                    match attributes.get_mut(&k) {
                        Some(Some(serde_json::Value::String(s))) => {
                            s.push_str(", ");
                            s.push_str(&v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
                        }
                        _ => {
                            attributes.insert(k, Some(v));
                        }
                    }
                }
            }
            for (k, v) in [("Артикул", &p.article), ("Производитель", &p.manufacturer), ("Страна", &p.country)]
            {
                if let Some(v) = v {
                    attributes.insert(k.to_string(), Some(serde_json::Value::String(v.chars().take(500).collect())));
                }
            }
            let title: String = p.name.trim().chars().take(500).collect();
            let title = if title.is_empty() { p.full_name.clone().unwrap_or_else(|| p.id.clone()) } else { title };
            let row = i as u64 + 1;
            by_row.insert(row, p.id.clone());
            if p.deleted {
                self.out.hidden += 1;
            }
            recs.push(ProductRec {
                row,
                external_id: Some(p.id.clone()),
                external_hash: Some(hash),
                title: Some(title),
                description: p.description.clone().map(|d| d.chars().take(100_000).collect()),
                category_id: p.groups.iter().find_map(|g| self.groups.get(g).copied()),
                status: Some(if p.deleted { "archived" } else { "active" }.to_string()),
                attributes,
                ..ProductRec::default()
            });
        }
        self.cat.unchanged(&unchanged).await?;
        if recs.is_empty() {
            return Ok(());
        }
        let present = Present {
            fields: vec![Field::Title, Field::Description, Field::Status, Field::Attribute],
            ..Present::default()
        };
        let problems = self.cat.write(recs, &present).await?;
        for p in problems {
            self.out.failed += 1;
            let what =
                format!("{} {}: {:?}", p.code, p.column.as_deref().unwrap_or(""), p.value.as_deref().unwrap_or(""));
            self.cat.error(by_row.get(&p.row).map(String::as_str), what);
        }
        Ok(())
    }

    /// The store's code for a 1C price type or warehouse not in this file (looked up once;
    /// an unknown one is reported once and its values skipped).
    async fn mapped(&mut self, kind: Kind, ext: &str) -> Result<Option<String>, ImportFailure> {
        let cache = match kind {
            Kind::PriceType => &self.price_types,
            Kind::Warehouse => &self.warehouses,
        };
        if let Some(c) = cache.get(ext) {
            return Ok(c.clone());
        }
        let code = match kind {
            Kind::PriceType => self.cat.mapped_price_type(ext).await?,
            Kind::Warehouse => self.cat.mapped_warehouse(ext).await?,
        };
        let cache = match kind {
            Kind::PriceType => &mut self.price_types,
            Kind::Warehouse => &mut self.warehouses,
        };
        cache.insert(ext.to_string(), code.clone());
        if code.is_none() {
            let what = match kind {
                Kind::PriceType => format!("prices of an unknown price type {ext} are skipped"),
                Kind::Warehouse => format!("stock of an unknown warehouse {ext} is skipped"),
            };
            self.cat.warn(what);
        }
        Ok(code)
    }

    /// The warehouse that takes a total `Количество`.
    async fn total_warehouse(&mut self) -> Result<Option<usize>, ImportFailure> {
        if let Some(code) = &self.settings.stock_warehouse {
            return Ok(self.cat.warehouse_index(code));
        }
        if let Some(code) = self.warehouses.values().flatten().next() {
            return Ok(self.cat.warehouse_index(code));
        }
        if self.cat.targets().warehouses.is_empty() {
            let code = self.cat.warehouse("1c:total", Some("1c"), "1С").await?;
            return Ok(self.cat.warehouse_index(&code));
        }
        Ok(Some(0))
    }

    async fn flush_offers(&mut self) -> Result<(), ImportFailure> {
        let batch = std::mem::take(&mut self.offers);
        let product_ids: Vec<String> = batch.iter().map(|o| o.product_id.clone()).collect();
        let products = self.cat.lookup("product", &product_ids).await?;
        let offer_ids: Vec<String> = batch.iter().map(|o| o.id.clone()).collect();
        let known = self.cat.lookup("variant", &offer_ids).await?;
        let articles: HashMap<&str, usize> =
            batch.iter().filter_map(|o| o.article.as_deref()).fold(HashMap::new(), |mut m, a| {
                *m.entry(a).or_default() += 1;
                m
            });
        let by_article = self.settings.sku.as_deref() == Some("article");
        let mut present = Present {
            fields: vec![Field::Sku, Field::Barcode, Field::VariantTitle, Field::Option],
            ..Present::default()
        };
        let mut recs: BTreeMap<String, ProductRec> = BTreeMap::new();
        let mut by_row: HashMap<u64, String> = HashMap::new();
        for (i, o) in batch.iter().enumerate() {
            if !products.contains_key(&o.product_id) {
                self.out.failed += 1;
                self.cat.error(
                    Some(&o.id),
                    format!("an offer for product {} that 1C never sent; nothing created", o.product_id),
                );
                continue;
            }
            let hash = hash_of(o);
            if known.get(&o.id).and_then(|m| m.payload_hash.as_deref()) == Some(hash.as_str()) {
                self.out.unchanged += 1;
                continue;
            }
            let mut prices = Vec::new();
            for p in o.prices.iter().flatten() {
                if let Some(code) = self.mapped(Kind::PriceType, &p.price_type_id).await? {
                    if let Some(idx) = self.cat.price_type_index(&code) {
                        prices.push((idx, Some(p.amount_minor.max(0))));
                    }
                }
            }
            let mut stock = Vec::new();
            if o.deleted {
                stock = (0..self.cat.targets().warehouses.len()).map(|i| (i, Some(0))).collect();
            } else if let Some(stocks) = &o.stocks {
                for (wh, q) in stocks {
                    if let Some(code) = self.mapped(Kind::Warehouse, wh).await? {
                        if let Some(idx) = self.cat.warehouse_index(&code) {
                            stock.push((idx, Some(q.floor().max(0))));
                        }
                    }
                }
            } else if let Some(q) = o.quantity {
                if let Some(idx) = self.total_warehouse().await? {
                    stock.push((idx, Some(q.floor().max(0))));
                }
            }
            for (i, _) in &prices {
                if !present.price_types.contains(i) {
                    present.price_types.push(*i);
                }
            }
            for (i, _) in &stock {
                if !present.warehouses.contains(i) {
                    present.warehouses.push(*i);
                }
            }
            let options: BTreeMap<String, String> = o
                .characteristics
                .iter()
                .filter_map(|c| {
                    Some((c.name.chars().take(100).collect(), c.value.clone()?.chars().take(500).collect()))
                })
                .collect();
            let title =
                if options.is_empty() { None } else { Some(options.values().cloned().collect::<Vec<_>>().join(", ")) };
            let sku = match o.article.as_deref() {
                Some(a) if by_article && articles.get(a) == Some(&1) && a.chars().count() <= 100 => a.to_string(),
                _ => o.id.clone(),
            };
            let row = i as u64 + 1;
            by_row.insert(row, o.id.clone());
            recs.entry(o.product_id.clone())
                .or_insert_with(|| ProductRec { row, external_id: Some(o.product_id.clone()), ..ProductRec::default() })
                .variants
                .push(VariantRec {
                    row,
                    sku,
                    barcode: o.barcode.clone().filter(|b| b.len() <= 64),
                    title,
                    options,
                    prices,
                    stock,
                    external_id: Some(o.id.clone()),
                    external_hash: Some(hash),
                    ..VariantRec::default()
                });
            self.out.offers += 1;
        }
        if recs.is_empty() {
            return Ok(());
        }
        let problems = self.cat.write(recs.into_values().collect(), &present).await?;
        for p in problems {
            self.out.failed += 1;
            let what =
                format!("{} {}: {:?}", p.code, p.column.as_deref().unwrap_or(""), p.value.as_deref().unwrap_or(""));
            self.cat.error(by_row.get(&p.row).map(String::as_str), what);
        }
        Ok(())
    }

    async fn finish(mut self, since: chrono::DateTime<chrono::Utc>) -> Result<Outcome, ImportFailure> {
        if !self.products.is_empty() {
            self.flush_products().await?;
        }
        if !self.offers.is_empty() {
            self.flush_offers().await?;
        }
        if self.full_catalog && self.settings.hide_missing.unwrap_or(true) {
            self.cat.archive_stale(since).await?;
        }
        let counts = self.cat.counts();
        self.out.created = counts.created;
        self.out.updated = counts.updated;
        self.out.unchanged += counts.unchanged;
        self.out.hidden += counts.hidden;
        self.cat.commit().await?;
        if self.dict_changed {
            self.cx.state().put(DICTIONARY, &self.dict, None).await?;
        }
        Ok(self.out)
    }
}
