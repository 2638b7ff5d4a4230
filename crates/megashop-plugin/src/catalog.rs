//! The catalogue as a plugin writes it: one transaction ([`CatalogTxn`]) over the same
//! batched upsert path the file importer uses ([`megashop_io::writer::Writer`]), plus what
//! an external system brings that a spreadsheet does not: its own price types, warehouses
//! and category tree, each mapped to ours through `external_ref`.
//!
//! Nothing is visible to shoppers until [`CatalogTxn::commit`]; dropping the transaction
//! (an error, a panic, a lost connection) leaves the catalogue exactly as it was.

use crate::{PluginError, Refs, SyncContext, SyncLog};
use megashop_core::entity::{category, external_ref, price_type, product, warehouse};
use megashop_core::tenancy::TenantCx;
use megashop_io::mapping::{Present, PriceTarget, ProductRec, Targets};
use megashop_io::problem::Problem;
use megashop_io::writer::{Counts, Key, Mode, WriteOptions, Writer};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use std::collections::{HashMap, HashSet};

/// How a plugin's records are matched to the catalogue.
#[derive(Clone, Debug)]
pub struct CatalogOptions {
    /// Variants are found by their external id (default) or by SKU.
    pub key: Key,
    /// Create-or-update (default), or update only.
    pub mode: Mode,
}

impl Default for CatalogOptions {
    fn default() -> Self {
        CatalogOptions { key: Key::ExternalId, mode: Mode::Upsert }
    }
}

/// A mapping row: the internal id an external id stands for, and the hash of the payload
/// last written for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapped {
    /// Internal id.
    pub id: i64,
    /// Hash of the payload last written, if the plugin recorded one.
    pub payload_hash: Option<String>,
}

/// One transaction of catalogue writes by one plugin instance.
pub struct CatalogTxn {
    cx: TenantCx,
    integration: String,
    refs: Refs,
    log: SyncLog,
    /// Run-log lines kept until the transaction ends: on SQLite the log, which writes
    /// through another connection, would wait behind this transaction's write lock.
    notes: Vec<Note>,
    txn: DatabaseTransaction,
    opts: CatalogOptions,
    writer: Option<Writer>,
    /// The store's price types and warehouses, in the order [`Targets`] indexes them.
    targets: Targets,
    /// Ids and codes of the same, in the same order.
    price_type_ids: Vec<(i64, String)>,
    warehouse_ids: Vec<(i64, String)>,
    /// Price types or warehouses were added since the writer was built.
    stale: bool,
    done: Counts,
    /// Products counted unchanged by the caller.
    seen: HashSet<i64>,
    now: chrono::DateTime<chrono::Utc>,
}

impl SyncContext {
    /// Opens a catalogue transaction for this store, under this plugin's external ids.
    pub async fn catalog(&self, opts: CatalogOptions) -> Result<CatalogTxn, PluginError> {
        let cx = self.tenant.clone();
        let txn = cx.db.begin().await?;
        let mut c = CatalogTxn {
            cx,
            integration: self.plugin_id().to_string(),
            refs: self.refs(),
            log: self.log().clone(),
            notes: Vec::new(),
            txn,
            opts,
            writer: None,
            targets: Targets::default(),
            price_type_ids: Vec::new(),
            warehouse_ids: Vec::new(),
            stale: true,
            done: Counts::default(),
            seen: HashSet::new(),
            now: chrono::DateTime::from_timestamp_micros(chrono::Utc::now().timestamp_micros()).unwrap_or_default(),
        };
        c.load_targets().await?;
        Ok(c)
    }
}

/// A currency as 1C and other systems write it (`руб`, `RUB`, `643`) as an ISO code.
pub fn currency_code(raw: &str) -> Option<String> {
    let t = raw.trim().trim_end_matches('.').to_lowercase();
    let iso = match t.as_str() {
        "руб" | "рубль" | "рублей" | "р" | "rub" | "rur" | "643" | "810" => "RUB",
        "usd" | "$" | "840" | "долл" | "доллар" => "USD",
        "eur" | "€" | "978" | "евро" => "EUR",
        "kzt" | "тенге" | "тг" | "398" => "KZT",
        "byn" | "бел. руб" | "бел руб" | "933" => "BYN",
        "uah" | "грн" | "980" => "UAH",
        "cny" | "юань" | "156" => "CNY",
        _ if t.len() == 3 && t.bytes().all(|b| b.is_ascii_lowercase()) => return Some(t.to_uppercase()),
        _ => return None,
    };
    Some(iso.to_string())
}

/// A code (`a-z0-9-_`, ≤ 32) for a name: its transliterated slug, else `fallback`.
fn code_for(name: &str, fallback: &str) -> String {
    let mut s = megashop_core::validate::slugify(name);
    s.truncate(28);
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() {
        fallback.to_string()
    } else {
        s
    }
}

impl CatalogTxn {
    async fn load_targets(&mut self) -> Result<(), PluginError> {
        // In creation order on every database (the first is the oldest).
        let pts = self.cx.select::<price_type::Entity>().order_by_asc(price_type::Column::Id).all(&self.txn).await?;
        let whs = self.cx.select::<warehouse::Entity>().order_by_asc(warehouse::Column::Id).all(&self.txn).await?;
        self.price_type_ids = pts.iter().map(|p| (p.id, p.code.clone())).collect();
        self.warehouse_ids = whs.iter().map(|w| (w.id, w.code.clone())).collect();
        self.targets = Targets {
            price_types: pts
                .iter()
                .map(|p| PriceTarget { code: p.code.clone(), currency: p.currency.clone() })
                .collect(),
            warehouses: whs.iter().map(|w| w.code.clone()).collect(),
            default_price_type: (!pts.is_empty()).then_some(0),
            default_warehouse: (!whs.is_empty()).then_some(0),
        };
        self.stale = true;
        Ok(())
    }

    /// The store's price types and warehouses; [`megashop_io::mapping::VariantRec`]
    /// prices and stock refer to them by index.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// Index of the price type `code` in [`CatalogTxn::targets`].
    pub fn price_type_index(&self, code: &str) -> Option<usize> {
        self.targets.price_types.iter().position(|p| p.code == code)
    }

    /// Index of the warehouse `code` in [`CatalogTxn::targets`].
    pub fn warehouse_index(&self, code: &str) -> Option<usize> {
        self.targets.warehouses.iter().position(|w| w == code)
    }

    /// Mapped records of `kind` for these external ids, read inside the transaction.
    pub async fn lookup(&self, kind: &str, ids: &[String]) -> Result<HashMap<String, Mapped>, PluginError> {
        let rows = self.refs.lookup_many_in(&self.txn, kind, ids).await?;
        Ok(rows.into_iter().map(|(e, r)| (e, Mapped { id: r.internal_id, payload_hash: r.payload_hash })).collect())
    }

    /// Records (or moves) the mapping of one external id, with an optional payload hash.
    pub async fn map(&self, kind: &str, external_id: &str, id: i64, hash: Option<&str>) -> Result<(), PluginError> {
        self.refs.upsert_many_in(&self.txn, kind, &[(external_id, id, hash)]).await
    }

    /// The store's price type or warehouse (`kind`) an external one stands for, creating
    /// nothing: the store's `code` if it has it (the owner's choice, which also re-maps
    /// it), else the one mapped before.
    async fn existing(&self, kind: &str, external_id: &str, code: Option<&str>) -> Result<Option<String>, PluginError> {
        let rows = if kind == "price_type" { &self.price_type_ids } else { &self.warehouse_ids };
        if let Some((id, c)) = code.and_then(|code| rows.iter().find(|(_, c)| c == code)) {
            self.map(kind, external_id, *id, None).await?;
            return Ok(Some(c.clone()));
        }
        let mapped = self.lookup(kind, &[external_id.to_string()]).await?.remove(external_id);
        Ok(mapped.and_then(|m| rows.iter().find(|(id, _)| *id == m.id)).map(|(_, c)| c.clone()))
    }

    /// The store's price type for an external one: as [`CatalogTxn::mapped_price_type`]
    /// finds it, else a new one named `name` (code `code`, or made from the name).
    /// Returns its code.
    pub async fn price_type(
        &mut self,
        external_id: &str,
        code: Option<&str>,
        name: &str,
        currency: &str,
    ) -> Result<String, PluginError> {
        if let Some(c) = self.existing("price_type", external_id, code).await? {
            return Ok(c);
        }
        let base = code.map(str::to_string).unwrap_or_else(|| code_for(name, "price"));
        let code = unique(&base, |c| self.price_type_ids.iter().any(|(_, x)| x == c));
        let model = price_type::ActiveModel {
            tenant_id: Set(self.cx.id()),
            name: Set(display_name(name, &code)),
            code: Set(code),
            currency: Set(currency.to_string()),
            ..Default::default()
        }
        .insert(&self.txn)
        .await?;
        self.map("price_type", external_id, model.id, None).await?;
        self.load_targets().await?;
        Ok(model.code)
    }

    /// The store's warehouse for an external one, like [`CatalogTxn::price_type`].
    pub async fn warehouse(
        &mut self,
        external_id: &str,
        code: Option<&str>,
        name: &str,
    ) -> Result<String, PluginError> {
        if let Some(c) = self.existing("warehouse", external_id, code).await? {
            return Ok(c);
        }
        let base = code.map(str::to_string).unwrap_or_else(|| code_for(name, "warehouse"));
        let code = unique(&base, |c| self.warehouse_ids.iter().any(|(_, x)| x == c));
        let model = warehouse::ActiveModel {
            tenant_id: Set(self.cx.id()),
            name: Set(display_name(name, &code)),
            code: Set(code),
            ..Default::default()
        }
        .insert(&self.txn)
        .await?;
        self.map("warehouse", external_id, model.id, None).await?;
        self.load_targets().await?;
        Ok(model.code)
    }

    /// Creates or updates the category for an external group (the other system is the
    /// master of its tree: names and parents follow it). A parent not mapped yet puts the
    /// category at the top. Returns the category's id.
    pub async fn category(
        &mut self,
        external_id: &str,
        parent_external: Option<&str>,
        name: &str,
    ) -> Result<i64, PluginError> {
        let name: String = name.trim().chars().take(200).collect();
        let name = if name.is_empty() { external_id.chars().take(200).collect() } else { name };
        let parent = match parent_external {
            Some(p) => self.lookup("category", &[p.to_string()]).await?.remove(p).map(|m| m.id),
            None => None,
        };
        if let Some(m) = self.lookup("category", &[external_id.to_string()]).await?.remove(external_id) {
            if let Some(c) =
                self.cx.select::<category::Entity>().filter(category::Column::Id.eq(m.id)).one(&self.txn).await?
            {
                if c.name != name || c.parent_id != parent {
                    let mut a: category::ActiveModel = c.into();
                    a.name = Set(name);
                    a.parent_id = Set(parent.filter(|p| *p != m.id));
                    a.update(&self.txn).await?;
                    self.stale = true;
                }
                return Ok(m.id);
            }
        }
        let base = {
            let s = megashop_core::validate::slugify(&name);
            if s.is_empty() {
                "category".to_string()
            } else {
                s
            }
        };
        let taken: Vec<String> = self
            .cx
            .select::<category::Entity>()
            .select_only()
            .column(category::Column::Slug)
            .filter(category::Column::Slug.starts_with(&base))
            .into_tuple()
            .all(&self.txn)
            .await?;
        let slug = unique(&base, |s| taken.iter().any(|t| t == s));
        let c = category::ActiveModel {
            tenant_id: Set(self.cx.id()),
            parent_id: Set(parent),
            slug: Set(slug),
            name: Set(name),
            position: Set(0),
            ..Default::default()
        }
        .insert(&self.txn)
        .await?;
        self.map("category", external_id, c.id, None).await?;
        self.stale = true;
        Ok(c.id)
    }

    /// Writes a batch of products through the importer's writer. Problems with single
    /// records (bad values, unknown SKUs in update-only mode) come back; they do not stop
    /// the transaction.
    pub async fn write(&mut self, batch: Vec<ProductRec>, present: &Present) -> Result<Vec<Problem>, PluginError> {
        if self.stale || self.writer.is_none() {
            let opts = WriteOptions {
                mode: self.opts.mode,
                key: self.opts.key,
                create_categories: true,
                integration: self.integration.clone(),
                touch_products: false,
            };
            let w = Writer::load(&self.txn, &self.cx, opts, &self.targets).await?;
            if let Some(old) = self.writer.replace(w) {
                add(&mut self.done, &old.counts);
            }
            self.stale = false;
        }
        let mut problems = Vec::new();
        if let Some(w) = self.writer.as_mut() {
            w.write(&self.txn, batch, present, &mut problems).await?;
        }
        Ok(problems)
    }

    /// Counts products the caller found unchanged without writing them (by payload hash)
    /// and marks their mappings as seen now, so [`CatalogTxn::archive_stale`] keeps them.
    pub async fn unchanged(&mut self, product_ids: &[i64]) -> Result<(), PluginError> {
        let fresh: Vec<i64> = product_ids.iter().copied().filter(|id| self.seen.insert(*id)).collect();
        self.done.unchanged += fresh.len() as u64;
        for chunk in fresh.chunks(5000) {
            self.cx
                .update_many::<external_ref::Entity>()
                .col_expr(external_ref::Column::UpdatedAt, Expr::value(self.now))
                .filter(external_ref::Column::Integration.eq(self.integration.as_str()))
                .filter(external_ref::Column::EntityKind.eq("product"))
                .filter(external_ref::Column::InternalId.is_in(chunk.to_vec()))
                .exec(&self.txn)
                .await?;
        }
        Ok(())
    }

    /// Archives (never deletes) this integration's products whose mapping was not written
    /// or seen since `since`: what a full export from the other system no longer lists.
    /// Returns how many.
    pub async fn archive_stale(&mut self, since: chrono::DateTime<chrono::Utc>) -> Result<u64, PluginError> {
        let stale: Vec<i64> = self
            .cx
            .select::<external_ref::Entity>()
            .select_only()
            .column(external_ref::Column::InternalId)
            .filter(external_ref::Column::Integration.eq(self.integration.as_str()))
            .filter(external_ref::Column::EntityKind.eq("product"))
            .filter(external_ref::Column::UpdatedAt.lt(since))
            .into_tuple()
            .all(&self.txn)
            .await?;
        self.archive(&stale).await
    }

    /// The code of the store's price type mapped to this external one, if any.
    pub async fn mapped_price_type(&self, external_id: &str) -> Result<Option<String>, PluginError> {
        self.existing("price_type", external_id, None).await
    }

    /// The code of the store's warehouse mapped to this external one, if any.
    pub async fn mapped_warehouse(&self, external_id: &str) -> Result<Option<String>, PluginError> {
        self.existing("warehouse", external_id, None).await
    }

    /// The moment this transaction stamps on what it writes.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.now
    }

    /// Archives these products (of this store); returns how many changed.
    pub async fn archive(&mut self, ids: &[i64]) -> Result<u64, PluginError> {
        let mut n = 0;
        for chunk in ids.chunks(5000) {
            let r = self
                .cx
                .update_many::<product::Entity>()
                .col_expr(product::Column::Status, Expr::value("archived"))
                .col_expr(product::Column::UpdatedAt, Expr::value(self.now))
                .col_expr(product::Column::ImportHash, Expr::value(Option::<String>::None))
                .filter(product::Column::Id.is_in(chunk.to_vec()))
                .filter(product::Column::Status.ne("archived"))
                .exec(&self.txn)
                .await?;
            n += r.rows_affected;
            // What comes back later must be written again (shown), not skipped as unchanged.
            self.cx
                .update_many::<external_ref::Entity>()
                .col_expr(external_ref::Column::PayloadHash, Expr::value(Option::<String>::None))
                .filter(external_ref::Column::Integration.eq(self.integration.as_str()))
                .filter(external_ref::Column::EntityKind.eq("product"))
                .filter(external_ref::Column::InternalId.is_in(chunk.to_vec()))
                .exec(&self.txn)
                .await?;
        }
        self.done.hidden += n;
        Ok(n)
    }

    /// What was done so far.
    pub fn counts(&self) -> Counts {
        let mut c = self.done.clone();
        if let Some(w) = &self.writer {
            add(&mut c, &w.counts);
        }
        c
    }

    /// Notes an error about one record (its external id, if known) for the run log; it is
    /// written when the transaction ends ([`CatalogTxn::commit`] or [`CatalogTxn::rollback`]).
    pub fn error(&mut self, external_id: Option<&str>, msg: impl Into<String>) {
        self.notes.push(Note::Error(external_id.map(str::to_string), msg.into()));
    }

    /// Notes a warning for the run log, like [`CatalogTxn::error`].
    pub fn warn(&mut self, msg: impl Into<String>) {
        self.notes.push(Note::Warn(msg.into()));
    }

    /// Makes everything visible at once, then writes the noted log lines; returns the
    /// counts.
    pub async fn commit(self) -> Result<Counts, PluginError> {
        let counts = self.counts();
        self.txn.commit().await?;
        write_notes(&self.log, self.notes).await;
        Ok(counts)
    }

    /// Undoes everything, then writes the noted log lines (dropping the transaction also
    /// undoes it, but loses them).
    pub async fn rollback(self) -> Result<(), PluginError> {
        self.txn.rollback().await?;
        write_notes(&self.log, self.notes).await;
        Ok(())
    }
}

enum Note {
    Error(Option<String>, String),
    Warn(String),
}

async fn write_notes(log: &SyncLog, notes: Vec<Note>) {
    for n in notes {
        match n {
            Note::Error(ext, msg) => log.error(ext.as_deref(), msg).await,
            Note::Warn(msg) => log.warn(msg).await,
        }
    }
}

fn add(to: &mut Counts, c: &Counts) {
    to.created += c.created;
    to.updated += c.updated;
    to.unchanged += c.unchanged;
    to.variants += c.variants;
    to.hidden += c.hidden;
}

/// A name for a created price type or warehouse: the other system's, else its code.
fn display_name(name: &str, code: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        code.to_string()
    } else {
        name.chars().take(255).collect()
    }
}

/// `base`, or `base-2`, `base-3`… the first that `taken` says is free.
fn unique(base: &str, taken: impl Fn(&str) -> bool) -> String {
    let mut s = base.to_string();
    let mut n = 2;
    while taken(&s) {
        s = format!("{base}-{n}");
        n += 1;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_as_other_systems_write_them() {
        for (raw, iso) in
            [("руб", "RUB"), ("руб.", "RUB"), ("RUB", "RUB"), ("643", "RUB"), (" Тенге ", "KZT"), ("usd", "USD")]
        {
            assert_eq!(currency_code(raw).as_deref(), Some(iso), "{raw}");
        }
        assert_eq!(currency_code("у.е."), None);
        assert_eq!(currency_code(""), None);
    }

    #[test]
    fn codes_from_names() {
        assert_eq!(code_for("Розничная", "price"), "roznichnaia");
        assert_eq!(code_for("!!!", "price"), "price");
        assert!(code_for(&"Оптовая цена ".repeat(10), "p").len() <= 28);
        assert_eq!(unique("a", |s| s == "a" || s == "a-2"), "a-3");
    }
}
