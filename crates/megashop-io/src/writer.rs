//! Writing products to the catalogue in batches: a few multi-row statements per batch
//! (upserts keyed by slug and SKU), inside the caller's transaction.
//!
//! Every statement names the store: inserts carry its `tenant_id`, lookups and deletes go
//! through [`TenantCx`], and conflict targets (`tenant_id, slug`, `tenant_id, sku`) can
//! only ever meet the store's own rows.

use crate::mapping::{Present, ProductRec, Targets};
use crate::problem::Problem;
use crate::profile::Field;
use megashop_core::entity::warehouse;
use megashop_core::entity::{category, external_ref, price, price_type, product, product_attribute, stock, variant};
use megashop_core::tenancy::TenantCx;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbErr, QueryFilter, QueryResult, QuerySelect,
    Statement, Value,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use xxhash_rust::xxh3::Xxh3;

/// What an import may do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Create what is new, update what exists (default).
    #[default]
    Upsert,
    /// Only update existing variants; rows with unknown SKUs are reported.
    UpdateOnly,
}

/// What identifies a variant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Key {
    /// The SKU (default).
    #[default]
    Sku,
    /// The `external_id` column; the SKU may then change.
    ExternalId,
}

/// Options of the writer.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct WriteOptions {
    /// Create-or-update, or update only.
    pub mode: Mode,
    /// Variant key.
    pub key: Key,
    /// Create categories named in the file that do not exist.
    pub create_categories: bool,
    /// Whose external ids (`external_ref.integration`) the records carry: `import` for
    /// files, a plugin's id for its syncs.
    #[serde(default = "default_integration")]
    pub integration: String,
    /// Rewrite an existing product's row (its `updated_at` and fingerprint) even when the
    /// records carry only variant data. Files need it (the fingerprint is what makes a
    /// re-import fast); plugins, which skip unchanged records by their own payload hashes,
    /// turn it off and save rewriting every product row of a price or stock update.
    #[serde(default = "yes")]
    pub touch_products: bool,
}

fn yes() -> bool {
    true
}

fn default_integration() -> String {
    EXTERNAL_INTEGRATION.to_string()
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            mode: Mode::Upsert,
            key: Key::Sku,
            create_categories: true,
            integration: default_integration(),
            touch_products: true,
        }
    }
}

/// Counts of what an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Products created.
    pub created: u64,
    /// Products changed.
    pub updated: u64,
    /// Products found exactly as the file has them.
    pub unchanged: u64,
    /// Variants written (created or updated).
    pub variants: u64,
    /// Products hidden because the file does not list them.
    pub hidden: u64,
}

/// Records after which PostgreSQL's statistics are first refreshed inside an import (then
/// each time the count doubles).
const FIRST_ANALYZE: u64 = 4000;

/// The integration name external ids of imports are kept under.
pub const EXTERNAL_INTEGRATION: &str = "import";

/// Resolved ids of the store's price types and warehouses, and the category cache.
pub struct Writer {
    cx: TenantCx,
    opts: WriteOptions,
    price_type_ids: Vec<(i64, String)>,
    warehouse_ids: Vec<i64>,
    /// Category path (names joined by `\u{1f}`) → id.
    categories: HashMap<String, i64>,
    category_slugs: HashSet<String>,
    /// The store's product slugs, once a generated slug needed them (see step 2).
    slugs: Option<HashSet<String>>,
    /// Records written so far, and when to refresh PostgreSQL's statistics next.
    written: u64,
    next_analyze: u64,
    now: chrono::DateTime<chrono::Utc>,
    /// Ids of every product the file lists (for "hide missing").
    pub seen: HashSet<i64>,
    /// Counts so far.
    pub counts: Counts,
}

fn db(e: DbErr) -> crate::ImportError {
    crate::ImportError::Db(e)
}

/// The store's price types and warehouses as [`Targets`], with `$default` resolved to the
/// default region's price type and first warehouse.
pub async fn targets(cx: &TenantCx) -> Result<Targets, DbErr> {
    let pts = cx.select::<price_type::Entity>().all(&cx.db).await?;
    let whs = cx.select::<warehouse::Entity>().all(&cx.db).await?;
    let default_region = match megashop_core::regions::resolve(cx, None).await {
        Ok(r) => Some(r),
        Err(megashop_core::Error::Db(e)) => return Err(e),
        Err(_) => None, // no region yet: the first price type and warehouse stand in
    };
    let mut t = Targets {
        price_types: pts
            .iter()
            .map(|p| crate::mapping::PriceTarget { code: p.code.clone(), currency: p.currency.clone() })
            .collect(),
        warehouses: whs.iter().map(|w| w.code.clone()).collect(),
        default_price_type: None,
        default_warehouse: None,
    };
    if let Some(r) = default_region {
        t.default_price_type = pts.iter().position(|p| p.id == r.price_type.id);
        t.default_warehouse = whs.iter().position(|w| r.warehouse_ids.contains(&w.id));
    }
    if t.default_price_type.is_none() && !pts.is_empty() {
        t.default_price_type = Some(0);
    }
    if t.default_warehouse.is_none() && !whs.is_empty() {
        t.default_warehouse = Some(0);
    }
    Ok(t)
}

impl Writer {
    /// Prepares a writer: loads ids of price types and warehouses (in [`Targets`] order)
    /// and the category tree.
    pub async fn new(cx: &TenantCx, opts: WriteOptions, t: &Targets) -> Result<Writer, DbErr> {
        Writer::load(&cx.db, cx, opts, t).await
    }

    /// Like [`Writer::new`], reading through `conn`: a transaction that has just created
    /// price types, warehouses or categories sees them.
    pub async fn load<C: ConnectionTrait>(
        conn: &C,
        cx: &TenantCx,
        opts: WriteOptions,
        t: &Targets,
    ) -> Result<Writer, DbErr> {
        let pts = cx.select::<price_type::Entity>().all(conn).await?;
        let whs = cx.select::<warehouse::Entity>().all(conn).await?;
        let price_type_ids = t
            .price_types
            .iter()
            .map(|p| (pts.iter().find(|x| x.code == p.code).map(|x| x.id).unwrap_or(0), p.currency.clone()))
            .collect();
        let warehouse_ids =
            t.warehouses.iter().map(|c| whs.iter().find(|x| x.code == *c).map(|x| x.id).unwrap_or(0)).collect();
        let cats = cx.select::<category::Entity>().all(conn).await?;
        let by_id: HashMap<i64, &category::Model> = cats.iter().map(|c| (c.id, c)).collect();
        let mut categories = HashMap::new();
        for c in &cats {
            let mut names = vec![c.name.to_lowercase()];
            let mut at = c.parent_id;
            let mut guard = 0;
            while let (Some(pid), true) = (at, guard < 64) {
                match by_id.get(&pid) {
                    Some(p) => {
                        names.push(p.name.to_lowercase());
                        at = p.parent_id;
                    }
                    None => break,
                }
                guard += 1;
            }
            names.reverse();
            categories.entry(names.join("\u{1f}")).or_insert(c.id);
        }
        let category_slugs = cats.iter().map(|c| c.slug.clone()).collect();
        let now = chrono::DateTime::from_timestamp_micros(chrono::Utc::now().timestamp_micros()).unwrap_or_default();
        Ok(Writer {
            cx: cx.clone(),
            opts,
            price_type_ids,
            warehouse_ids,
            categories,
            category_slugs,
            slugs: None,
            written: 0,
            next_analyze: FIRST_ANALYZE,
            now,
            seen: HashSet::new(),
            counts: Counts::default(),
        })
    }

    /// Finds or (when allowed) creates a category path; `None` with a problem otherwise.
    async fn category(
        &mut self,
        txn: &DatabaseTransaction,
        path: &[String],
        row: u64,
        problems: &mut Vec<Problem>,
    ) -> Result<Option<i64>, crate::ImportError> {
        let mut parent: Option<i64> = None;
        let mut key = String::new();
        for name in path {
            if !key.is_empty() {
                key.push('\u{1f}');
            }
            key.push_str(&name.to_lowercase());
            if let Some(id) = self.categories.get(&key) {
                parent = Some(*id);
                continue;
            }
            if !self.opts.create_categories {
                problems.push(Problem::cell(row, "category", &path.join(" > "), "unknown_category"));
                return Ok(None);
            }
            let base = {
                let s = megashop_core::validate::slugify(name);
                if s.is_empty() {
                    "category".to_string()
                } else {
                    s
                }
            };
            let mut slug = base.clone();
            let mut n = 2;
            while self.category_slugs.contains(&slug) {
                slug = format!("{base}-{n}");
                n += 1;
            }
            let ins = Query::insert()
                .into_table(category::Entity)
                .columns([
                    category::Column::TenantId,
                    category::Column::ParentId,
                    category::Column::Slug,
                    category::Column::Name,
                    category::Column::Position,
                ])
                .values([self.cx.id().into(), parent.into(), slug.clone().into(), name.clone().into(), 0i32.into()])
                .map_err(|e| crate::ImportError::Internal(e.to_string()))?
                .returning_col(category::Column::Id)
                .to_owned();
            let row = txn.query_one(txn.get_database_backend().build(&ins)).await.map_err(db)?;
            let id: i64 = match row {
                Some(r) => r.try_get("", "id").map_err(db)?,
                None => return Err(crate::ImportError::Internal("category insert returned nothing".into())),
            };
            self.category_slugs.insert(slug);
            self.categories.insert(key.clone(), id);
            parent = Some(id);
        }
        Ok(parent)
    }

    /// Writes one batch of products. Problems that need the database (unknown SKUs in
    /// update-only mode, unknown categories) are added to `problems`.
    pub async fn write(
        &mut self,
        txn: &DatabaseTransaction,
        batch: Vec<ProductRec>,
        present: &Present,
        problems: &mut Vec<Problem>,
    ) -> Result<(), crate::ImportError> {
        let tid = self.cx.id();
        // 0. Products named by slug: looked up once (step 1 reuses them). Those whose
        // fingerprint still matches are unchanged: nothing more to look up or write for them
        // (this is what makes a re-import fast).
        let mut batch = batch;
        // Products found unchanged still had their external ids seen now (and the other
        // system's payload hash moves on): `archive_stale` must not take them for gone.
        let mut unchanged_refs: Vec<(String, i64, Option<String>)> = Vec::new();
        let mut products: HashMap<i64, (String, chrono::DateTime<chrono::Utc>, Option<String>)> = HashMap::new();
        let mut by_slug: HashMap<String, i64> = HashMap::new();
        let slugs: Vec<String> = batch.iter().filter_map(|p| p.slug.clone()).collect();
        for (id, slug, at, hash) in self.products(txn, product::Column::Slug, &slugs).await? {
            by_slug.insert(slug.clone(), id);
            products.insert(id, (slug, at, hash));
        }
        // Products named by external id (plugins): the id they map to wins over the slug.
        let ext_products: Vec<String> = batch.iter().filter_map(|p| p.external_id.clone()).collect();
        let by_ext_product = self.refs(txn, "product", &ext_products).await?;
        if !by_ext_product.is_empty() {
            let ids: Vec<i64> = by_ext_product.values().copied().filter(|id| !products.contains_key(id)).collect();
            for (id, slug, at, hash) in self.products(txn, product::Column::Id, &ids).await? {
                by_slug.insert(slug.clone(), id);
                products.insert(id, (slug, at, hash));
            }
        }
        type Known = HashMap<i64, (String, chrono::DateTime<chrono::Utc>, Option<String>)>;
        let product_of = |rec: &ProductRec, products: &Known, by_slug: &HashMap<String, i64>| -> Option<i64> {
            if let Some(id) = rec.external_id.as_ref().and_then(|e| by_ext_product.get(e)) {
                if products.contains_key(id) {
                    return Some(*id);
                }
            }
            by_slug.get(rec.slug.as_ref()?).copied()
        };
        {
            let known = |rec: &ProductRec| {
                let id = &product_of(rec, &products, &by_slug)?;
                let (_, at, hash) = products.get(id)?;
                (hash.as_deref()? == stamp(content_hash(rec, present), at)).then_some(*id)
            };
            if !products.is_empty() {
                let mut rest = Vec::with_capacity(batch.len());
                for rec in batch {
                    match known(&rec) {
                        Some(id) => {
                            self.seen.insert(id);
                            self.counts.unchanged += 1;
                            if let Some(ext) = rec.external_id {
                                unchanged_refs.push((ext, id, rec.external_hash));
                            }
                        }
                        None => rest.push(rec),
                    }
                }
                batch = rest;
            }
        }
        if batch.is_empty() {
            return self.put_refs(txn, "product", unchanged_refs).await;
        }

        // 1. Who is who: existing variants by SKU (or external id), products by slug.
        let mut skus: Vec<String> = batch.iter().flat_map(|p| p.variants.iter().map(|v| v.sku.clone())).collect();
        let mut by_external: HashMap<String, i64> = HashMap::new();
        if self.opts.key == Key::ExternalId {
            let ext: Vec<String> =
                batch.iter().flat_map(|p| p.variants.iter().filter_map(|v| v.external_id.clone())).collect();
            by_external = self.refs(txn, "variant", &ext).await?;
        }
        skus.sort_unstable();
        skus.dedup();
        let mut variants_by_sku: HashMap<String, (i64, i64)> = HashMap::new();
        let mut variants_by_id: HashMap<i64, (String, i64)> = HashMap::new();
        for chunk in skus.chunks(5000) {
            let rows: Vec<(i64, String, i64)> = self
                .cx
                .select::<variant::Entity>()
                .select_only()
                .columns([variant::Column::Id, variant::Column::Sku, variant::Column::ProductId])
                .filter(variant::Column::Sku.is_in(chunk.to_vec()))
                .into_tuple()
                .all(txn)
                .await
                .map_err(db)?;
            for (id, sku, pid) in rows {
                variants_by_sku.insert(sku.clone(), (id, pid));
                variants_by_id.insert(id, (sku, pid));
            }
        }
        if !by_external.is_empty() {
            let ids: Vec<i64> = by_external.values().copied().filter(|id| !variants_by_id.contains_key(id)).collect();
            for chunk in ids.chunks(5000) {
                let rows: Vec<(i64, String, i64)> = self
                    .cx
                    .select::<variant::Entity>()
                    .select_only()
                    .columns([variant::Column::Id, variant::Column::Sku, variant::Column::ProductId])
                    .filter(variant::Column::Id.is_in(chunk.to_vec()))
                    .into_tuple()
                    .all(txn)
                    .await
                    .map_err(db)?;
                for (id, sku, pid) in rows {
                    variants_by_id.insert(id, (sku, pid));
                }
            }
        }
        // The existing variant each record means.
        let key = self.opts.key;
        let existing_variant = |v: &crate::mapping::VariantRec| -> Option<(i64, i64)> {
            if key == Key::ExternalId {
                if let Some(id) = v.external_id.as_ref().and_then(|e| by_external.get(e)) {
                    return variants_by_id.get(id).map(|(_, pid)| (*id, *pid));
                }
            }
            variants_by_sku.get(&v.sku).copied()
        };
        let via_variants: Vec<i64> = batch
            .iter()
            .flat_map(|p| p.variants.iter().filter_map(|v| existing_variant(v).map(|x| x.1)))
            .filter(|id| !products.contains_key(id))
            .collect();
        for (id, slug, at, hash) in self.products(txn, product::Column::Id, &via_variants).await? {
            by_slug.insert(slug.clone(), id);
            products.insert(id, (slug, at, hash));
        }

        // 2. Decide per product: unchanged, update, create.
        struct Plan {
            rec: ProductRec,
            id: Option<i64>,
            slug: String,
            content: u128,
        }
        let mut plans: Vec<Plan> = Vec::with_capacity(batch.len());
        let mut planned: HashMap<i64, usize> = HashMap::new();
        let mut new_slugs: Vec<String> = Vec::new();
        for rec in batch {
            let id = match product_of(&rec, &products, &by_slug) {
                Some(id) => Some(id),
                None if rec.slug.is_some() => None,
                None => rec.variants.iter().find_map(|v| existing_variant(v).map(|x| x.1)),
            };
            let mut rec = rec;
            if id.is_some() && self.opts.mode == Mode::UpdateOnly {
                // Update-only never creates, not even a variant of an existing product.
                rec.variants.retain(|v| {
                    let known = existing_variant(v).is_some();
                    if !known {
                        problems.push(Problem::cell(v.row, "sku", &v.sku, "unknown_sku"));
                    }
                    known
                });
            }
            let content = content_hash(&rec, present);
            if let Some(id) = id {
                self.seen.insert(id);
                // Rows of one product that the file does not group (a price list listing two
                // SKUs of it) are written as one product.
                if let Some(i) = planned.get(&id) {
                    let plan: &mut Plan = &mut plans[*i];
                    plan.rec.variants.append(&mut rec.variants);
                    plan.content = content_hash(&plan.rec, present);
                    continue;
                }
                if let Some((_, at, Some(stored))) = products.get(&id) {
                    if *stored == stamp(content, at) {
                        self.counts.unchanged += 1;
                        if let Some(ext) = rec.external_id {
                            unchanged_refs.push((ext, id, rec.external_hash));
                        }
                        continue;
                    }
                }
            } else if self.opts.mode == Mode::UpdateOnly {
                for v in &rec.variants {
                    problems.push(Problem::cell(v.row, "sku", &v.sku, "unknown_sku"));
                }
                if rec.variants.is_empty() {
                    problems.push(Problem::row(rec.row, "unknown_sku"));
                }
                continue;
            } else if rec.title.is_none() {
                problems.push(Problem::row(rec.row, "missing_required").arg("column", "title"));
                continue;
            }
            let slug = match (id, &rec.slug) {
                (Some(id), _) => products.get(&id).map(|p| p.0.clone()).unwrap_or_default(),
                (None, Some(s)) => {
                    let mut p = megashop_core::error::Problems::default();
                    megashop_core::validate::slug(&mut p, "product", s);
                    if p.finish().is_err() {
                        problems.push(Problem::cell(rec.row, "product", s, "invalid_slug"));
                        continue;
                    }
                    s.clone()
                }
                (None, None) => {
                    let base = megashop_core::validate::slugify(rec.title.as_deref().unwrap_or(""));
                    let base = if base.is_empty() { "product".to_string() } else { base };
                    new_slugs.push(base.clone());
                    base
                }
            };
            if let Some(id) = id {
                planned.insert(id, plans.len());
            }
            plans.push(Plan { rec, id, slug, content });
        }
        self.put_refs(txn, "product", std::mem::take(&mut unchanged_refs)).await?;
        if plans.is_empty() {
            return Ok(());
        }
        // Generated slugs must not meet an existing product or each other.
        if !new_slugs.is_empty() {
            // Every slug of the store, loaded once per import: one indexed read instead of
            // a prefix search per batch (which scans the table and grows with it).
            if self.slugs.is_none() {
                let all: Vec<String> = self
                    .cx
                    .select::<product::Entity>()
                    .select_only()
                    .column(product::Column::Slug)
                    .into_tuple()
                    .all(txn)
                    .await
                    .map_err(db)?;
                self.slugs = Some(all.into_iter().collect());
            }
            let taken = self.slugs.get_or_insert_with(HashSet::new);
            taken.extend(plans.iter().filter(|p| p.id.is_some() || p.rec.slug.is_some()).map(|p| p.slug.clone()));
            for plan in plans.iter_mut().filter(|p| p.id.is_none() && p.rec.slug.is_none()) {
                let base = plan.slug.clone();
                let mut n = 2;
                while taken.contains(&plan.slug) {
                    plan.slug = format!("{base}-{n}");
                    n += 1;
                }
                taken.insert(plan.slug.clone());
            }
        }

        // 3. Categories.
        let mut category_of: Vec<Option<i64>> = Vec::with_capacity(plans.len());
        for plan in &plans {
            match (plan.rec.category_id, &plan.rec.category) {
                (Some(id), _) => category_of.push(Some(id)),
                (None, Some(path)) => category_of.push(self.category(txn, path, plan.rec.row, problems).await?),
                (None, None) => category_of.push(None),
            }
        }

        // 4. Products: one upsert keyed by (tenant_id, slug).
        let sets_category = present.has(Field::Category) || category_of.iter().any(Option::is_some);
        let mut update_cols = vec!["updated_at", "import_hash"];
        for (f, c) in [
            // Title and status cannot be empty: an empty cell keeps what the product has.
            (Field::Title, "title?"),
            (Field::Description, "description"),
            (Field::Status, "status?"),
            (Field::Images, "images"),
            (Field::SeoTitle, "seo_title"),
            (Field::SeoDescription, "seo_description"),
        ] {
            if present.has(f) {
                update_cols.push(c);
            }
        }
        if present.has(Field::Category) {
            update_cols.push("category_id");
        } else if sets_category {
            // Categories from group rows only: a product outside any group keeps its own.
            update_cols.push("category_id?");
        }
        let mut ids_by_slug: HashMap<String, i64> = HashMap::new();
        let bulk = Bulk::upsert(
            "product",
            &[
                "tenant_id",
                "category_id",
                "slug",
                "title",
                "description",
                "status",
                "images",
                "seo_title",
                "seo_description",
                "created_at",
                "updated_at",
                "import_hash",
            ],
            &["tenant_id", "slug"],
            &update_cols,
            &["id", "slug"],
        );
        // Records with variant data only, for products that exist: their rows stay as they
        // are unless the options ask to touch them.
        let variants_only = !self.opts.touch_products
            && !sets_category
            && !present.fields.iter().any(|f| {
                matches!(
                    f,
                    Field::Title
                        | Field::Description
                        | Field::Status
                        | Field::Images
                        | Field::SeoTitle
                        | Field::SeoDescription
                        | Field::Attribute
                        | Field::AttributeName
                        | Field::AttributeValue
                )
            });
        let mut values: Vec<Value> = Vec::with_capacity(plans.len() * 12);
        for (plan, cat) in plans.iter().zip(&category_of) {
            let r = &plan.rec;
            if let (true, Some(id)) = (variants_only, plan.id) {
                ids_by_slug.insert(plan.slug.clone(), id);
                continue;
            }
            values.extend([
                tid.into(),
                (*cat).into(),
                plan.slug.clone().into(),
                r.title.clone().unwrap_or_default().into(),
                r.description.clone().into(),
                // New products default to active; an existing one keeps its status.
                r.status
                    .clone()
                    .unwrap_or_else(|| if plan.id.is_some() { String::new() } else { "active".into() })
                    .into(),
                serde_json::Value::from(r.images.clone()).into(),
                r.seo_title.clone().into(),
                r.seo_description.clone().into(),
                self.now.into(),
                self.now.into(),
                stamp(plan.content, &self.now).into(),
            ]);
        }
        for row in bulk.run(txn, values).await? {
            let id: i64 = row.try_get("", "id").map_err(db)?;
            let slug: String = row.try_get("", "slug").map_err(db)?;
            ids_by_slug.insert(slug, id);
        }
        let mut pids = Vec::with_capacity(plans.len());
        for plan in &plans {
            let Some(id) = ids_by_slug.get(&plan.slug).copied() else {
                return Err(crate::ImportError::Internal(format!("product {} was not written", plan.slug)));
            };
            if plan.id.is_some() {
                self.counts.updated += 1;
            } else {
                self.counts.created += 1;
            }
            self.seen.insert(id);
            pids.push(id);
        }
        if let Some(taken) = self.slugs.as_mut() {
            taken.extend(plans.iter().map(|p| p.slug.clone()));
        }
        let product_refs: Vec<(String, i64, Option<String>)> = plans
            .iter()
            .zip(&pids)
            .filter_map(|(plan, id)| Some((plan.rec.external_id.clone()?, *id, plan.rec.external_hash.clone())))
            .collect();
        self.put_refs(txn, "product", product_refs).await?;

        // 5. Attributes: clear the keys the file names, insert the values it gives.
        // Existing products only (new ones have nothing to clear), grouped by the set of
        // keys, so the delete is a few `product_id IN (..) AND key IN (..)` index scans.
        let mut clear: std::collections::BTreeMap<Vec<String>, Vec<i64>> = std::collections::BTreeMap::new();
        let mut attr_rows: Vec<Value> = Vec::new();
        for (plan, pid) in plans.iter().zip(&pids) {
            if plan.rec.attributes.is_empty() {
                continue;
            }
            if plan.id.is_some() {
                clear.entry(plan.rec.attributes.keys().cloned().collect()).or_default().push(*pid);
            }
            for (k, v) in &plan.rec.attributes {
                if let Some(v) = v {
                    let (text, kind) = match v {
                        serde_json::Value::Number(n) => (n.to_string(), "number"),
                        serde_json::Value::Bool(b) => (b.to_string(), "bool"),
                        serde_json::Value::String(s) => (s.clone(), "string"),
                        other => (other.to_string(), "string"),
                    };
                    attr_rows.extend([tid.into(), (*pid).into(), k.clone().into(), text.into(), kind.into()]);
                }
            }
        }
        for (keys, ids) in clear {
            for chunk in ids.chunks(5000) {
                self.cx
                    .delete_where::<product_attribute::Entity>(
                        Condition::all()
                            .add(product_attribute::Column::ProductId.is_in(chunk.to_vec()))
                            .add(product_attribute::Column::Key.is_in(keys.clone())),
                    )
                    .exec(txn)
                    .await
                    .map_err(db)?;
            }
        }
        Bulk::insert("product_attribute", &["tenant_id", "product_id", "key", "value", "kind"])
            .run(txn, attr_rows)
            .await?;

        // 6. Variants: renames by external id first, then one upsert keyed by (tenant_id, sku).
        let mut moved_from: HashSet<i64> = HashSet::new();
        let mut var_rows: Vec<(i64, &crate::mapping::VariantRec, i32)> = Vec::new();
        for (plan, pid) in plans.iter().zip(&pids) {
            for (pos, v) in plan.rec.variants.iter().enumerate() {
                if let Some((vid, old_pid)) = existing_variant(v) {
                    if old_pid != *pid {
                        moved_from.insert(old_pid);
                    }
                    if let Some((old_sku, _)) = variants_by_id.get(&vid) {
                        if *old_sku != v.sku {
                            self.cx
                                .update_many::<variant::Entity>()
                                .col_expr(variant::Column::Sku, Expr::value(v.sku.clone()))
                                .filter(variant::Column::Id.eq(vid))
                                .exec(txn)
                                .await
                                .map_err(db)?;
                        }
                    }
                }
                var_rows.push((*pid, v, pos as i32));
            }
        }
        let mut var_update = vec!["product_id"];
        if present.has(Field::Product) || present.has(Field::ParentSku) {
            // The file lists each product's variants in order.
            var_update.push("position");
        }
        for (f, c) in [(Field::Barcode, "barcode"), (Field::VariantTitle, "title"), (Field::Weight, "weight_grams")] {
            if present.has(f) {
                var_update.push(c);
            }
        }
        if present.has(Field::Option) || present.has(Field::OptionValue) || present.has(Field::AttributeValue) {
            var_update.push("options");
        }
        let mut vid_by_sku: HashMap<String, i64> = HashMap::new();
        let bulk = Bulk::upsert(
            "variant",
            &["tenant_id", "product_id", "sku", "barcode", "title", "options", "weight_grams", "position"],
            &["tenant_id", "sku"],
            &var_update,
            &["id", "sku"],
        );
        let mut values: Vec<Value> = Vec::with_capacity(var_rows.len() * 8);
        for (pid, v, pos) in &var_rows {
            let options: serde_json::Map<String, serde_json::Value> =
                v.options.iter().map(|(k, x)| (k.clone(), serde_json::Value::String(x.clone()))).collect();
            values.extend([
                tid.into(),
                (*pid).into(),
                v.sku.clone().into(),
                v.barcode.clone().into(),
                v.title.clone().into(),
                serde_json::Value::Object(options).into(),
                v.weight.into(),
                (*pos).into(),
            ]);
        }
        for row in bulk.run(txn, values).await? {
            let id: i64 = row.try_get("", "id").map_err(db)?;
            let sku: String = row.try_get("", "sku").map_err(db)?;
            vid_by_sku.insert(sku, id);
        }
        self.counts.variants += var_rows.len() as u64;
        // Products that lost a variant to another one are changed too.
        moved_from.retain(|id| !pids.contains(id));
        if !moved_from.is_empty() {
            self.cx
                .update_many::<product::Entity>()
                .col_expr(product::Column::UpdatedAt, Expr::value(self.now))
                .col_expr(product::Column::ImportHash, Expr::value(Option::<String>::None))
                .filter(product::Column::Id.is_in(moved_from.into_iter().collect::<Vec<_>>()))
                .exec(txn)
                .await
                .map_err(db)?;
        }
        let vid = |sku: &str| vid_by_sku.get(sku).copied();

        // External ids.
        if self.opts.key == Key::ExternalId || var_rows.iter().any(|(_, v, _)| v.external_id.is_some()) {
            let refs: Vec<(String, i64, Option<String>)> = var_rows
                .iter()
                .filter_map(|(_, v, _)| Some((v.external_id.clone()?, vid(&v.sku)?, v.external_hash.clone())))
                .collect();
            self.put_refs(txn, "variant", refs).await?;
        }

        // 7. Prices and stock: upsert the values, delete the cleared. Variants created just
        // now have none yet: theirs are plain inserts (no conflict to look for).
        let mut price_rows: Vec<Value> = Vec::new();
        let mut price_new: Vec<Value> = Vec::new();
        let mut price_clear: HashMap<usize, Vec<i64>> = HashMap::new();
        let mut stock_rows: Vec<Value> = Vec::new();
        let mut stock_new: Vec<Value> = Vec::new();
        let mut stock_clear: HashMap<usize, Vec<i64>> = HashMap::new();
        for (_, v, _) in &var_rows {
            let Some(id) = vid(&v.sku) else { continue };
            let created = existing_variant(v).is_none();
            for (i, amount) in &v.prices {
                let (pt, currency) = &self.price_type_ids[*i];
                match amount {
                    Some(a) => (if created { &mut price_new } else { &mut price_rows }).extend([
                        tid.into(),
                        id.into(),
                        (*pt).into(),
                        (*a).into(),
                        currency.clone().into(),
                    ]),
                    None if created => {}
                    None => price_clear.entry(*i).or_default().push(id),
                }
            }
            for (i, q) in &v.stock {
                let wh = self.warehouse_ids[*i];
                match q {
                    Some(q) => (if created { &mut stock_new } else { &mut stock_rows }).extend([
                        tid.into(),
                        id.into(),
                        wh.into(),
                        (*q).into(),
                    ]),
                    None if created => {}
                    None => stock_clear.entry(*i).or_default().push(id),
                }
            }
        }
        const PRICE_COLS: [&str; 5] = ["tenant_id", "variant_id", "price_type_id", "amount", "currency"];
        const STOCK_COLS: [&str; 4] = ["tenant_id", "variant_id", "warehouse_id", "quantity"];
        Bulk::insert("price", &PRICE_COLS).run(txn, price_new).await?;
        Bulk::insert("stock", &STOCK_COLS).run(txn, stock_new).await?;
        Bulk::upsert("price", &PRICE_COLS, &["variant_id", "price_type_id"], &["amount", "currency"], &[])
            .run(txn, price_rows)
            .await?;
        for (i, ids) in price_clear {
            let pt = self.price_type_ids[i].0;
            for chunk in ids.chunks(5000) {
                self.cx
                    .delete_where::<price::Entity>(
                        Condition::all()
                            .add(price::Column::PriceTypeId.eq(pt))
                            .add(price::Column::VariantId.is_in(chunk.to_vec())),
                    )
                    .exec(txn)
                    .await
                    .map_err(db)?;
            }
        }
        Bulk::upsert("stock", &STOCK_COLS, &["variant_id", "warehouse_id"], &["quantity"], &[])
            .run(txn, stock_rows)
            .await?;
        for (i, ids) in stock_clear {
            let wh = self.warehouse_ids[i];
            for chunk in ids.chunks(5000) {
                self.cx
                    .delete_where::<stock::Entity>(
                        Condition::all()
                            .add(stock::Column::WarehouseId.eq(wh))
                            .add(stock::Column::VariantId.is_in(chunk.to_vec())),
                    )
                    .exec(txn)
                    .await
                    .map_err(db)?;
            }
        }
        self.written += (plans.len() + var_rows.len()) as u64;
        self.refresh_statistics(txn).await?;
        Ok(())
    }

    /// On PostgreSQL, refreshes the planner's statistics of the tables an import grows once
    /// the records written double. Without it, tables that were empty when last analysed
    /// look empty all through a long transaction, and the planner filters lookups by SKU or
    /// external id instead of seeking the unique index: each batch then scans what the
    /// import wrote so far. `ANALYZE` counts the transaction's own rows.
    async fn refresh_statistics(&mut self, txn: &DatabaseTransaction) -> Result<(), crate::ImportError> {
        if self.written < self.next_analyze || txn.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        self.next_analyze = self.written.saturating_mul(2);
        txn.execute_unprepared("ANALYZE external_ref, product, variant, price, stock, product_attribute")
            .await
            .map_err(db)?;
        Ok(())
    }

    /// Internal ids of the records of `kind` with these external ids (of this writer's
    /// integration).
    async fn refs(
        &self,
        txn: &DatabaseTransaction,
        kind: &str,
        ext: &[String],
    ) -> Result<HashMap<String, i64>, crate::ImportError> {
        let mut out = HashMap::new();
        for chunk in ext.chunks(5000) {
            let rows: Vec<(String, i64)> = self
                .cx
                .select::<external_ref::Entity>()
                .select_only()
                .columns([external_ref::Column::ExternalId, external_ref::Column::InternalId])
                .filter(external_ref::Column::Integration.eq(self.opts.integration.as_str()))
                .filter(external_ref::Column::EntityKind.eq(kind))
                .filter(external_ref::Column::ExternalId.is_in(chunk.to_vec()))
                .into_tuple()
                .all(txn)
                .await
                .map_err(db)?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Records external id → internal id pairs of `kind` (of this writer's integration),
    /// with the hash of the payload written (none keeps the one recorded: a record written
    /// only for its variants keeps its own payload's hash).
    async fn put_refs(
        &self,
        txn: &DatabaseTransaction,
        kind: &str,
        refs: Vec<(String, i64, Option<String>)>,
    ) -> Result<(), crate::ImportError> {
        if refs.is_empty() {
            return Ok(());
        }
        let mut values: Vec<Value> = Vec::with_capacity(refs.len() * 7);
        for (ext, id, hash) in refs {
            values.extend([
                self.cx.id().into(),
                self.opts.integration.clone().into(),
                kind.into(),
                ext.into(),
                id.into(),
                hash.into(),
                self.now.into(),
            ]);
        }
        Bulk::upsert(
            "external_ref",
            &["tenant_id", "integration", "entity_kind", "external_id", "internal_id", "payload_hash", "updated_at"],
            &["tenant_id", "integration", "entity_kind", "external_id"],
            &["internal_id", "payload_hash?", "updated_at"],
            &[],
        )
        .run(txn, values)
        .await?;
        Ok(())
    }

    /// Id, slug, `updated_at` and fingerprint of the store's products whose `col` is one of
    /// `keys` (in chunks the drivers accept).
    async fn products<V>(
        &self,
        txn: &DatabaseTransaction,
        col: product::Column,
        keys: &[V],
    ) -> Result<Vec<(i64, String, chrono::DateTime<chrono::Utc>, Option<String>)>, crate::ImportError>
    where
        V: Into<Value> + Clone,
    {
        let mut out = Vec::new();
        for chunk in keys.chunks(5000) {
            let rows: Vec<(i64, String, chrono::DateTime<chrono::Utc>, Option<String>)> = self
                .cx
                .select::<product::Entity>()
                .select_only()
                .columns([
                    product::Column::Id,
                    product::Column::Slug,
                    product::Column::UpdatedAt,
                    product::Column::ImportHash,
                ])
                .filter(col.is_in(chunk.iter().cloned().map(Into::into)))
                .into_tuple()
                .all(txn)
                .await
                .map_err(db)?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Archives the store's products the file did not list; returns how many.
    pub async fn hide_missing(&mut self, txn: &DatabaseTransaction) -> Result<u64, crate::ImportError> {
        let ids: Vec<i64> = self
            .cx
            .select::<product::Entity>()
            .select_only()
            .column(product::Column::Id)
            .filter(product::Column::Status.ne("archived"))
            .into_tuple()
            .all(txn)
            .await
            .map_err(db)?;
        let gone: Vec<i64> = ids.into_iter().filter(|id| !self.seen.contains(id)).collect();
        for chunk in gone.chunks(5000) {
            self.cx
                .update_many::<product::Entity>()
                .col_expr(product::Column::Status, Expr::value("archived"))
                .col_expr(product::Column::UpdatedAt, Expr::value(self.now))
                .filter(product::Column::Id.is_in(chunk.to_vec()))
                .exec(txn)
                .await
                .map_err(db)?;
        }
        self.counts.hidden = gone.len() as u64;
        Ok(self.counts.hidden)
    }
}

/// A multi-row `INSERT` (optionally `ON CONFLICT … DO UPDATE` and `RETURNING`), run in
/// chunks whose row counts are powers of two: each statement text recurs, so the driver's
/// prepared-statement cache serves it instead of parsing thousands of placeholders anew.
/// Table and column names are constants of this module, never input.
struct Bulk {
    table: &'static str,
    cols: Vec<&'static str>,
    tail: String,
}

/// Most parameters in one statement (SQLite allows 32,766, PostgreSQL 65,535).
const MAX_PARAMS: usize = 30_000;

impl Bulk {
    fn insert(table: &'static str, cols: &[&'static str]) -> Bulk {
        Bulk { table, cols: cols.to_vec(), tail: String::new() }
    }

    fn upsert(
        table: &'static str,
        cols: &[&'static str],
        conflict: &[&str],
        update: &[&str],
        returning: &[&str],
    ) -> Bulk {
        // `col?` keeps the stored value when the file gives none: an empty text (NOT NULL
        // columns) or NULL.
        let set: Vec<String> = update
            .iter()
            .map(|c| match c.strip_suffix('?') {
                Some(c) => format!(
                    "{c} = CASE WHEN excluded.{c} IS NULL OR CAST(excluded.{c} AS TEXT) = '' THEN {table}.{c} ELSE excluded.{c} END"
                ),
                None => format!("{c} = excluded.{c}"),
            })
            .collect();
        let mut tail = format!(" ON CONFLICT ({}) DO UPDATE SET {}", conflict.join(", "), set.join(", "));
        if !returning.is_empty() {
            tail.push_str(&format!(" RETURNING {}", returning.join(", ")));
        }
        Bulk { table, cols: cols.to_vec(), tail }
    }

    fn sql(&self, backend: sea_orm::DatabaseBackend, rows: usize) -> String {
        let n = self.cols.len();
        let mut sql = format!("INSERT INTO {} ({}) VALUES ", self.table, self.cols.join(", "));
        let mut k = 0;
        for r in 0..rows {
            if r > 0 {
                sql.push(',');
            }
            sql.push('(');
            for c in 0..n {
                if c > 0 {
                    sql.push(',');
                }
                k += 1;
                match backend {
                    sea_orm::DatabaseBackend::Postgres => {
                        sql.push('$');
                        sql.push_str(&k.to_string());
                    }
                    _ => sql.push('?'),
                }
            }
            sql.push(')');
        }
        sql.push_str(&self.tail);
        sql
    }

    /// Runs the insert for `values` (row after row, `cols.len()` values each).
    async fn run(
        &self,
        txn: &DatabaseTransaction,
        mut values: Vec<Value>,
    ) -> Result<Vec<QueryResult>, crate::ImportError> {
        let n = self.cols.len();
        let mut out = Vec::new();
        if values.is_empty() || values.len() % n != 0 {
            return Ok(out);
        }
        let backend = txn.get_database_backend();
        if backend == sea_orm::DatabaseBackend::Postgres {
            return self.run_unnest(txn, values).await;
        }
        let most = (MAX_PARAMS / n).max(1);
        let mut rows = values.len() / n;
        let mut rest = values.split_off(0);
        while rows > 0 {
            let take = 1usize << (usize::BITS - 1 - rows.min(most).leading_zeros());
            let tail = rest.split_off(take * n);
            let chunk = std::mem::replace(&mut rest, tail);
            let stmt = Statement::from_sql_and_values(backend, self.sql(backend, take), chunk);
            if self.tail.contains("RETURNING") {
                out.extend(txn.query_all(stmt).await.map_err(db)?);
            } else {
                txn.execute(stmt).await.map_err(db)?;
            }
            rows -= take;
        }
        Ok(out)
    }
}

impl Bulk {
    /// PostgreSQL: one parameter per column, each an array literal, spread by `unnest`.
    /// The statement text is the same for every batch (one prepared statement, no
    /// parameter limit), and the server neither parses nor plans thousands of placeholders.
    async fn run_unnest(
        &self,
        txn: &DatabaseTransaction,
        values: Vec<Value>,
    ) -> Result<Vec<QueryResult>, crate::ImportError> {
        let n = self.cols.len();
        let rows = values.len() / n;
        let types: Vec<&'static str> = values[..n].iter().map(pg_array_type).collect();
        let args: Vec<String> = types.iter().enumerate().map(|(i, t)| format!("${}::text::{t}[]", i + 1)).collect();
        let sql = format!(
            "INSERT INTO {table} ({cols}) SELECT * FROM unnest({args}){tail}",
            table = self.table,
            cols = self.cols.join(", "),
            args = args.join(", "),
            tail = self.tail
        );
        let mut out = Vec::new();
        for start in (0..rows).step_by(UNNEST_ROWS) {
            let end = (start + UNNEST_ROWS).min(rows);
            let mut params = Vec::with_capacity(n);
            for c in 0..n {
                let mut lit = String::with_capacity((end - start) * 12);
                lit.push('{');
                for r in start..end {
                    if r > start {
                        lit.push(',');
                    }
                    pg_array_element(&mut lit, &values[r * n + c])?;
                }
                lit.push('}');
                params.push(Value::from(lit));
            }
            let stmt = Statement::from_sql_and_values(sea_orm::DatabaseBackend::Postgres, sql.clone(), params);
            if self.tail.contains("RETURNING") {
                out.extend(txn.query_all(stmt).await.map_err(db)?);
            } else {
                txn.execute(stmt).await.map_err(db)?;
            }
        }
        Ok(out)
    }
}

/// Rows per `unnest` statement on PostgreSQL (bounds the size of one message).
const UNNEST_ROWS: usize = 10_000;

/// The PostgreSQL element type of an array holding values like `v`.
fn pg_array_type(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "boolean",
        Value::TinyInt(_) | Value::SmallInt(_) | Value::Int(_) => "integer",
        Value::BigInt(_) | Value::Unsigned(_) | Value::BigUnsigned(_) => "bigint",
        Value::Json(_) => "json",
        Value::ChronoDateTimeUtc(_) => "timestamptz",
        _ => "text",
    }
}

/// Appends `v` to a PostgreSQL array literal: numbers bare, text double-quoted (quotes and
/// backslashes escaped), `NULL` for none.
fn pg_array_element(out: &mut String, v: &Value) -> Result<(), crate::ImportError> {
    use std::fmt::Write;
    let quoted = |out: &mut String, s: &str| {
        out.push('"');
        for ch in s.chars() {
            if ch == '"' || ch == '\\' {
                out.push('\\');
            }
            out.push(ch);
        }
        out.push('"');
    };
    let fail = |e: std::fmt::Error| crate::ImportError::Internal(e.to_string());
    match v {
        Value::Bool(Some(b)) => out.push_str(if *b { "true" } else { "false" }),
        Value::TinyInt(Some(x)) => write!(out, "{x}").map_err(fail)?,
        Value::SmallInt(Some(x)) => write!(out, "{x}").map_err(fail)?,
        Value::Int(Some(x)) => write!(out, "{x}").map_err(fail)?,
        Value::BigInt(Some(x)) => write!(out, "{x}").map_err(fail)?,
        Value::Unsigned(Some(x)) => write!(out, "{x}").map_err(fail)?,
        Value::BigUnsigned(Some(x)) => write!(out, "{x}").map_err(fail)?,
        Value::String(Some(s)) => quoted(out, s),
        Value::Json(Some(j)) => quoted(out, &j.to_string()),
        Value::ChronoDateTimeUtc(Some(t)) => quoted(out, &t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()),
        Value::Bool(None)
        | Value::TinyInt(None)
        | Value::SmallInt(None)
        | Value::Int(None)
        | Value::BigInt(None)
        | Value::Unsigned(None)
        | Value::BigUnsigned(None)
        | Value::String(None)
        | Value::Json(None)
        | Value::ChronoDateTimeUtc(None) => out.push_str("NULL"),
        other => return Err(crate::ImportError::Internal(format!("no array form for {other:?}"))),
    }
    Ok(())
}

/// The fingerprint stored with a product: its content hash bound to the `updated_at` the
/// import wrote, so any later change elsewhere (which moves `updated_at`) voids it.
fn stamp(content: u128, at: &chrono::DateTime<chrono::Utc>) -> String {
    let mut h = Xxh3::new();
    h.update(&content.to_le_bytes());
    h.update(&at.timestamp_micros().to_le_bytes());
    format!("{:032x}", h.digest128())
}

/// Appends a length-prefixed field to a hash buffer.
fn put(buf: &mut Vec<u8>, b: &[u8]) {
    buf.extend_from_slice(&(b.len() as u32).to_le_bytes());
    buf.extend_from_slice(b);
}

fn put_opt(buf: &mut Vec<u8>, v: &Option<String>) {
    match v {
        Some(s) => put(buf, s.as_bytes()),
        None => buf.extend_from_slice(&u32::MAX.to_le_bytes()),
    }
}

/// A hash of one variant's content (its row number aside).
pub fn variant_hash(v: &crate::mapping::VariantRec) -> u128 {
    let mut buf = Vec::with_capacity(256);
    put_variant(&mut buf, v);
    xxhash_rust::xxh3::xxh3_128(&buf)
}

fn put_variant(buf: &mut Vec<u8>, v: &crate::mapping::VariantRec) {
    put(buf, b"variant");
    put(buf, v.sku.as_bytes());
    put_opt(buf, &v.barcode);
    put_opt(buf, &v.title);
    put_opt(buf, &v.external_id);
    for (k, x) in &v.options {
        put(buf, k.as_bytes());
        put(buf, x.as_bytes());
    }
    buf.extend_from_slice(&v.weight.unwrap_or(-1).to_le_bytes());
    for (i, a) in &v.prices {
        buf.extend_from_slice(&(*i as u32).to_le_bytes());
        buf.extend_from_slice(&a.unwrap_or(-1).to_le_bytes());
    }
    for (i, q) in &v.stock {
        buf.extend_from_slice(&(*i as u32).to_le_bytes());
        buf.extend_from_slice(&q.unwrap_or(-1).to_le_bytes());
    }
}

/// A hash of everything the file says about a product, and of which fields it carries.
pub fn content_hash(p: &ProductRec, present: &Present) -> u128 {
    let mut buf = Vec::with_capacity(1024);
    for f in &present.fields {
        buf.push(*f as u8);
    }
    for i in &present.price_types {
        buf.extend_from_slice(&(*i as u32).to_le_bytes());
    }
    buf.push(0xff);
    for i in &present.warehouses {
        buf.extend_from_slice(&(*i as u32).to_le_bytes());
    }
    put_opt(&mut buf, &p.slug);
    put_opt(&mut buf, &p.external_id);
    put_opt(&mut buf, &p.title);
    put_opt(&mut buf, &p.description);
    put_opt(&mut buf, &p.status);
    put_opt(&mut buf, &p.seo_title);
    put_opt(&mut buf, &p.seo_description);
    for c in p.category.iter().flatten() {
        put(&mut buf, c.as_bytes());
    }
    buf.extend_from_slice(&p.category_id.unwrap_or(-1).to_le_bytes());
    put(&mut buf, b"images");
    for i in &p.images {
        put(&mut buf, i.as_bytes());
    }
    put(&mut buf, b"attributes");
    for (k, v) in &p.attributes {
        put(&mut buf, k.as_bytes());
        match v {
            Some(v) => put(&mut buf, v.to_string().as_bytes()),
            None => buf.extend_from_slice(&u32::MAX.to_le_bytes()),
        }
    }
    for v in &p.variants {
        put_variant(&mut buf, v);
    }
    xxhash_rust::xxh3::xxh3_128(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literal(values: &[Value]) -> String {
        let mut out = String::from("{");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            pg_array_element(&mut out, v).expect("array element");
        }
        out.push('}');
        out
    }

    #[test]
    fn array_literals_quote_what_postgres_would_split_on() {
        let texts = [
            Value::from("a,b"),
            Value::from(r#"say "hi""#),
            Value::from(r"back\slash"),
            Value::from("{braces}"),
            Value::from("NULL"),
            Value::String(None),
            Value::from("Привет"),
        ];
        assert_eq!(literal(&texts), r#"{"a,b","say \"hi\"","back\\slash","{braces}","NULL",NULL,"Привет"}"#);
        assert_eq!(literal(&[Value::from(-5i64), Value::BigInt(None), Value::from(7i32)]), "{-5,NULL,7}");
        let json = serde_json::json!({"Размер": "M \"slim\""});
        assert_eq!(literal(&[Value::from(json)]), r#"{"{\"Размер\":\"M \\\"slim\\\"\"}"}"#);
        assert_eq!(pg_array_type(&Value::BigInt(None)), "bigint");
        assert_eq!(pg_array_type(&Value::Json(None)), "json");
        assert!(pg_array_element(&mut String::new(), &Value::Double(Some(1.5))).is_err());
    }
}
