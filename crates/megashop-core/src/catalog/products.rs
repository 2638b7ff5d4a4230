//! Products: listing with filters for a region, the product page, and staff writes.

use super::categories::{self, CategoryRef};
use super::variants::{self, NewVariant, VariantView};
use super::{patch_field, taken_or, Money};
use crate::entity::{category, price, product, product_attribute, stock, variant};
use crate::error::{Error, Problems, Result};
use crate::regions::RegionCx;
use crate::tenancy::TenantCx;
use crate::validate;
use sea_orm::sea_query::{
    Alias, BinOper, Expr, Func, JoinType, NullOrdering, Order, Query, SimpleExpr, SubQueryStatement,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;

/// Largest page a list request may ask for.
pub const MAX_PAGE_SIZE: u64 = 100;
/// Page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

/// Longest text search accepted.
pub const MAX_SEARCH_CHARS: usize = 200;

/// Product statuses. Only `active` products are shown to shoppers.
pub const STATUSES: [&str; 3] = ["active", "draft", "archived"];

/// A product page, priced and stocked for one region.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProductView {
    /// Id.
    pub id: i64,
    /// URL slug.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Description (HTML allowed, sanitized by the storefront).
    pub description: Option<String>,
    /// `active`, `draft` or `archived`.
    pub status: String,
    /// Category.
    pub category: Option<CategoryRef>,
    /// Typed attributes: strings, numbers, booleans.
    #[schema(value_type = Object)]
    pub attributes: BTreeMap<String, Value>,
    /// Image URLs.
    pub images: Vec<String>,
    /// SEO title.
    pub seo_title: Option<String>,
    /// SEO description.
    pub seo_description: Option<String>,
    /// Lowest variant price in the region.
    pub price_from: Option<Money>,
    /// True when any variant is in stock in the region.
    pub in_stock: bool,
    /// Variants in display order.
    pub variants: Vec<VariantView>,
    /// Region code the prices and stock are for.
    pub region: String,
    /// Created at.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed at.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A product in a list.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProductSummary {
    /// Id.
    pub id: i64,
    /// Slug.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Category.
    pub category: Option<CategoryRef>,
    /// First image.
    pub image: Option<String>,
    /// Lowest variant price in the region.
    pub price_from: Option<Money>,
    /// Any variant in stock in the region.
    pub in_stock: bool,
    /// Number of variants.
    pub variant_count: usize,
}

/// One page of products.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProductPage {
    /// The products.
    pub items: Vec<ProductSummary>,
    /// Page number, from 1.
    pub page: u64,
    /// Page size.
    pub limit: u64,
    /// Products matching the filters.
    pub total: u64,
    /// Number of pages.
    pub pages: u64,
    /// Region code the prices and stock are for.
    pub region: String,
}

/// Sort orders for product lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Sort {
    /// Newest first (default).
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
    /// Title A→Я.
    TitleAsc,
    /// Title Я→A.
    TitleDesc,
    /// Cheapest first (unpriced last).
    PriceAsc,
    /// Most expensive first (unpriced last).
    PriceDesc,
}

impl Sort {
    /// Parses `new`, `old`, `title`, `-title`, `price`, `-price`.
    pub fn parse(s: &str) -> Option<Sort> {
        Some(match s {
            "new" | "-created" => Sort::Newest,
            "old" | "created" => Sort::Oldest,
            "title" => Sort::TitleAsc,
            "-title" => Sort::TitleDesc,
            "price" => Sort::PriceAsc,
            "-price" => Sort::PriceDesc,
            _ => return None,
        })
    }
}

/// Filters, sort and page of a product list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ProductQuery {
    /// Category slug; includes its sub-categories.
    pub category: Option<String>,
    /// Lowest price in minor units (inclusive), in the region's price type.
    pub min_price: Option<i64>,
    /// Highest price in minor units (inclusive).
    pub max_price: Option<i64>,
    /// Only products with stock in the region.
    pub in_stock: bool,
    /// Attribute filters: key → accepted values (any of them).
    pub attributes: Vec<(String, Vec<String>)>,
    /// Sort order.
    pub sort: Sort,
    /// Page number from 1.
    pub page: u64,
    /// Page size, 1..=100.
    pub limit: u64,
    /// Status filter (staff only); shoppers always get `active`.
    pub status: Option<String>,
    /// Text search: products whose title contains this (case-insensitive, see [`title_contains`]).
    pub q: Option<String>,
}

/// Body of `POST /products`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    /// Slug; made from the title when absent (Cyrillic is transliterated).
    pub slug: Option<String>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Category slug.
    pub category: Option<String>,
    /// `active` (default), `draft` or `archived`.
    pub status: Option<String>,
    /// Typed attributes (`{"brand": "Bosch", "power_w": 2200, "wifi": false}`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: BTreeMap<String, Value>,
    /// Image URLs.
    #[serde(default)]
    pub images: Vec<String>,
    /// SEO title.
    pub seo_title: Option<String>,
    /// SEO description.
    pub seo_description: Option<String>,
    /// Variants with prices and stock.
    #[serde(default)]
    pub variants: Vec<NewVariant>,
}

/// Body of `PATCH /products/{slug}`: absent fields are kept, `null` clears.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    /// New slug.
    pub slug: Option<String>,
    /// New title.
    pub title: Option<String>,
    /// New description or `null`.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// New category slug or `null`.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub category: Option<Option<String>>,
    /// New status.
    pub status: Option<String>,
    /// Replaces all attributes.
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<BTreeMap<String, Value>>,
    /// Replaces the image list.
    pub images: Option<Vec<String>>,
    /// New SEO title or `null`.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub seo_title: Option<Option<String>>,
    /// New SEO description or `null`.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub seo_description: Option<Option<String>>,
}

fn check_attributes(p: &mut Problems, attrs: &BTreeMap<String, Value>) {
    for (k, v) in attrs {
        if k.is_empty() || k.len() > 100 {
            p.push(format!("attributes.{k}"), "invalid_key", "attribute names are 1-100 characters");
        }
        match v {
            Value::String(s) if s.chars().count() <= 500 => {}
            Value::Number(_) | Value::Bool(_) => {}
            Value::String(_) => p.push(format!("attributes.{k}"), "too_long", "must be at most 500 characters"),
            _ => p.push(format!("attributes.{k}"), "invalid_type", "must be a string, a number or a boolean"),
        }
    }
}

fn attribute_row(v: &Value) -> (String, &'static str) {
    match v {
        Value::String(s) => (s.clone(), "string"),
        Value::Number(n) => (n.to_string(), "number"),
        Value::Bool(b) => (b.to_string(), "bool"),
        other => (other.to_string(), "string"),
    }
}

fn attribute_value(value: &str, kind: &str) -> Value {
    match kind {
        "number" => {
            serde_json::from_str::<serde_json::Number>(value).map(Value::Number).unwrap_or(Value::String(value.into()))
        }
        "bool" => Value::Bool(value == "true"),
        _ => Value::String(value.into()),
    }
}

fn check_status(p: &mut Problems, s: &str) {
    if !STATUSES.contains(&s) {
        p.push("status", "invalid_status", "must be active, draft or archived");
    }
}

fn check_images(p: &mut Problems, images: &[String]) {
    for (i, url) in images.iter().enumerate() {
        if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/')) || url.len() > 2000 {
            p.push(format!("images.{i}"), "invalid_url", "use an http(s) URL or a path starting with /");
        }
    }
}

/// The row of a product by slug.
pub async fn row_by_slug(cx: &TenantCx, slug: &str) -> Result<product::Model> {
    cx.select::<product::Entity>()
        .filter(product::Column::Slug.eq(slug))
        .one(&cx.db)
        .await?
        .ok_or_else(|| Error::NotFound { entity: "product", key: slug.to_string() })
}

/// Bumps `updated_at` of a product (after a variant, price or stock change).
pub(crate) async fn touch<C: ConnectionTrait>(db: &C, cx: &TenantCx, product_id: i64) -> Result<()> {
    cx.update_many::<product::Entity>()
        .col_expr(product::Column::UpdatedAt, Expr::value(chrono::Utc::now()))
        .filter(product::Column::Id.eq(product_id))
        .exec(db)
        .await?;
    Ok(())
}

async fn category_id(cx: &TenantCx, slug: Option<&str>) -> Result<Option<i64>> {
    match slug {
        None => Ok(None),
        Some(s) => match cx.select::<category::Entity>().filter(category::Column::Slug.eq(s)).one(&cx.db).await? {
            Some(c) => Ok(Some(c.id)),
            None => Err(Error::Reference { field: "category", entity: "category", key: s.to_string() }),
        },
    }
}

fn min_price_expr(price_type_id: i64) -> SimpleExpr {
    let (v, p) = (Alias::new("mv"), Alias::new("mp"));
    let q = Query::select()
        .expr(Func::min(Expr::col((p.clone(), price::Column::Amount))))
        .from_as(price::Entity, p.clone())
        .join_as(
            JoinType::InnerJoin,
            variant::Entity,
            v.clone(),
            Expr::col((v.clone(), variant::Column::Id)).equals((p.clone(), price::Column::VariantId)),
        )
        .and_where(Expr::col((v, variant::Column::ProductId)).equals((product::Entity, product::Column::Id)))
        .and_where(Expr::col((p, price::Column::PriceTypeId)).eq(price_type_id))
        .to_owned();
    SimpleExpr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(q)))
}

/// The escape character of [`title_contains`]'s `LIKE` pattern. Not a backslash: string
/// literals quote it differently on PostgreSQL and SQLite.
const LIKE_ESCAPE: char = '!';

/// `text` as a `LIKE` pattern matching it anywhere, with `%`, `_` and the escape
/// character taken literally.
fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | LIKE_ESCAPE) {
            out.push(LIKE_ESCAPE);
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// `LOWER(product.title) LIKE LOWER(<%text%>) ESCAPE '!'`: the title contains `text`,
/// ignoring case. Both sides are lowered in SQL so the database compares like with like.
///
/// PostgreSQL lowers every script. SQLite's built-in `LOWER` (and its `LIKE`) fold ASCII
/// only, so on SQLite "bosch" finds "Bosch" but "чайник" does not find "Чайник"; a search
/// in the title's own case ("Чайник") works on both.
pub fn title_contains(text: &str) -> SimpleExpr {
    let pattern = SimpleExpr::Binary(
        Box::new(Func::lower(Expr::val(contains_pattern(text))).into()),
        BinOper::Escape,
        Box::new(SimpleExpr::Constant(LIKE_ESCAPE.to_string().into())),
    );
    Expr::expr(Func::lower(Expr::col((product::Entity, product::Column::Title)))).binary(BinOper::Like, pattern)
}

impl ProductQuery {
    /// Records every out-of-range value (page size, page, negative prices, status).
    pub fn check(&self, p: &mut Problems) {
        let q = self;
        if q.limit == 0 || q.limit > MAX_PAGE_SIZE {
            p.push("limit", "out_of_range", format!("must be between 1 and {MAX_PAGE_SIZE}"));
        }
        if q.page == 0 {
            p.push("page", "out_of_range", "pages are numbered from 1");
        }
        if q.min_price.is_some_and(|v| v < 0) {
            p.push("min_price", "negative", "must not be negative");
        }
        if q.max_price.is_some_and(|v| v < 0) {
            p.push("max_price", "negative", "must not be negative");
        }
        if let Some(s) = &q.status {
            check_status(p, s);
        }
        if q.q.as_ref().is_some_and(|t| t.chars().count() > MAX_SEARCH_CHARS) {
            p.push("q", "too_long", format!("must be at most {MAX_SEARCH_CHARS} characters"));
        }
    }

    /// Key of everything that selects products (not the page, not the sort).
    pub fn filter_key(&self) -> String {
        format!(
            "{:?}|{:?}|{:?}|{}|{:?}|{:?}|{:?}",
            self.category, self.min_price, self.max_price, self.in_stock, self.attributes, self.status, self.q
        )
    }
}

/// One page of products for a region, with filters and sort.
pub async fn list(cx: &TenantCx, region: &RegionCx, q: &ProductQuery) -> Result<ProductPage> {
    list_with_total(cx, region, q, None).await
}

/// Like [`list`], reusing `known_total` (the count for the same filters) when given.
/// Counting is the dearest part of a deep page, and it does not change with the page.
pub async fn list_with_total(
    cx: &TenantCx,
    region: &RegionCx,
    q: &ProductQuery,
    known_total: Option<u64>,
) -> Result<ProductPage> {
    let mut p = Problems::default();
    q.check(&mut p);
    p.finish()?;

    let mut sel =
        cx.select::<product::Entity>().filter(product::Column::Status.eq(q.status.as_deref().unwrap_or("active")));
    let cats = categories::all(cx).await?;
    if let Some(slug) = &q.category {
        let root = cats.iter().find(|c| &c.slug == slug).ok_or_else(|| Error::Reference {
            field: "category",
            entity: "category",
            key: slug.clone(),
        })?;
        sel = sel.filter(product::Column::CategoryId.is_in(categories::subtree_ids(&cats, root.id)));
    }
    if q.min_price.is_some() || q.max_price.is_some() {
        let mut sub = Query::select()
            .column((variant::Entity, variant::Column::ProductId))
            .from(price::Entity)
            .inner_join(
                variant::Entity,
                Expr::col((variant::Entity, variant::Column::Id)).equals((price::Entity, price::Column::VariantId)),
            )
            .and_where(Expr::col((price::Entity, price::Column::PriceTypeId)).eq(region.price_type.id))
            .to_owned();
        if let Some(min) = q.min_price {
            sub.and_where(Expr::col((price::Entity, price::Column::Amount)).gte(min));
        }
        if let Some(max) = q.max_price {
            sub.and_where(Expr::col((price::Entity, price::Column::Amount)).lte(max));
        }
        sel = sel.filter(product::Column::Id.in_subquery(sub));
    }
    if q.in_stock {
        let sub = Query::select()
            .column((variant::Entity, variant::Column::ProductId))
            .from(stock::Entity)
            .inner_join(
                variant::Entity,
                Expr::col((variant::Entity, variant::Column::Id)).equals((stock::Entity, stock::Column::VariantId)),
            )
            .and_where(Expr::col((stock::Entity, stock::Column::WarehouseId)).is_in(region.warehouse_ids.clone()))
            .and_where(Expr::col((stock::Entity, stock::Column::Quantity)).gt(0))
            .to_owned();
        sel = sel.filter(product::Column::Id.in_subquery(sub));
    }
    for (key, values) in &q.attributes {
        let sub = Query::select()
            .column(product_attribute::Column::ProductId)
            .from(product_attribute::Entity)
            .and_where(product_attribute::Column::TenantId.eq(cx.id()))
            .and_where(product_attribute::Column::Key.eq(key.clone()))
            .and_where(product_attribute::Column::Value.is_in(values.clone()))
            .to_owned();
        sel = sel.filter(product::Column::Id.in_subquery(sub));
    }
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        sel = sel.filter(title_contains(text));
    }
    let total = match known_total {
        Some(t) => t,
        None => sel.clone().count(&cx.db).await?,
    };
    sel = match q.sort {
        Sort::Newest => sel.order_by_desc(product::Column::Id),
        Sort::Oldest => sel.order_by_asc(product::Column::Id),
        Sort::TitleAsc => sel.order_by_asc(product::Column::Title).order_by_asc(product::Column::Id),
        Sort::TitleDesc => sel.order_by_desc(product::Column::Title).order_by_desc(product::Column::Id),
        Sort::PriceAsc | Sort::PriceDesc => {
            let order = if q.sort == Sort::PriceAsc { Order::Asc } else { Order::Desc };
            let mut s = sel;
            QueryTrait::query(&mut s).order_by_expr_with_nulls(
                min_price_expr(region.price_type.id),
                order,
                NullOrdering::Last,
            );
            s.order_by_asc(product::Column::Id)
        }
    };
    let rows = sel.offset((q.page - 1) * q.limit).limit(q.limit).all(&cx.db).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let offers = load_offers(cx, region, &ids).await?;
    let items = rows
        .into_iter()
        .map(|r| {
            let vs = offers.get(&r.id).map(Vec::as_slice).unwrap_or(&[]);
            ProductSummary {
                id: r.id,
                category: category_ref(&cats, r.category_id),
                image: images(&r.images).into_iter().next(),
                price_from: price_from(vs),
                in_stock: vs.iter().any(|v| v.in_stock),
                variant_count: vs.len(),
                slug: r.slug,
                title: r.title,
            }
        })
        .collect();
    Ok(ProductPage {
        items,
        page: q.page,
        limit: q.limit,
        total,
        pages: total.div_ceil(q.limit),
        region: region.region.code.clone(),
    })
}

fn category_ref(cats: &[category::Model], id: Option<i64>) -> Option<CategoryRef> {
    id.and_then(|id| cats.iter().find(|c| c.id == id))
        .map(|c| CategoryRef { slug: c.slug.clone(), name: c.name.clone() })
}

fn images(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default()
}

fn price_from(vs: &[VariantView]) -> Option<Money> {
    vs.iter().filter_map(|v| v.price.clone()).min_by_key(|m| m.amount)
}

/// Variants of the given products with the region's price and stock, by product id.
async fn load_offers(cx: &TenantCx, region: &RegionCx, product_ids: &[i64]) -> Result<HashMap<i64, Vec<VariantView>>> {
    if product_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let vars = cx
        .select::<variant::Entity>()
        .filter(variant::Column::ProductId.is_in(product_ids.to_vec()))
        .order_by_asc(variant::Column::ProductId)
        .order_by_asc(variant::Column::Position)
        .order_by_asc(variant::Column::Id)
        .all(&cx.db)
        .await?;
    let vids: Vec<i64> = vars.iter().map(|v| v.id).collect();
    let prices: HashMap<i64, price::Model> = cx
        .select::<price::Entity>()
        .filter(price::Column::PriceTypeId.eq(region.price_type.id))
        .filter(price::Column::VariantId.is_in(vids.clone()))
        .all(&cx.db)
        .await?
        .into_iter()
        .map(|p| (p.variant_id, p))
        .collect();
    let mut stock_by_variant: HashMap<i64, i64> = HashMap::new();
    if !region.warehouse_ids.is_empty() {
        for s in cx
            .select::<stock::Entity>()
            .filter(stock::Column::VariantId.is_in(vids))
            .filter(stock::Column::WarehouseId.is_in(region.warehouse_ids.clone()))
            .all(&cx.db)
            .await?
        {
            *stock_by_variant.entry(s.variant_id).or_default() += s.quantity;
        }
    }
    let mut out: HashMap<i64, Vec<VariantView>> = HashMap::new();
    for v in vars {
        let qty = stock_by_variant.get(&v.id).copied().unwrap_or(0);
        out.entry(v.product_id).or_default().push(VariantView {
            price: prices.get(&v.id).map(|p| Money { amount: p.amount, currency: p.currency.clone() }),
            stock: qty,
            in_stock: qty > 0,
            options: serde_json::from_value(v.options).unwrap_or_default(),
            sku: v.sku,
            barcode: v.barcode,
            title: v.title,
            weight_grams: v.weight_grams,
        });
    }
    Ok(out)
}

/// The product page for a region. Shoppers (`staff == false`) only see active products.
pub async fn get(cx: &TenantCx, region: &RegionCx, slug: &str, staff: bool) -> Result<ProductView> {
    let row = row_by_slug(cx, slug).await?;
    if !staff && row.status != "active" {
        return Err(Error::NotFound { entity: "product", key: slug.to_string() });
    }
    let cats = categories::all(cx).await?;
    let attrs = cx
        .select::<product_attribute::Entity>()
        .filter(product_attribute::Column::ProductId.eq(row.id))
        .order_by_asc(product_attribute::Column::Key)
        .all(&cx.db)
        .await?;
    let mut offers = load_offers(cx, region, &[row.id]).await?;
    let vs = offers.remove(&row.id).unwrap_or_default();
    Ok(ProductView {
        id: row.id,
        category: category_ref(&cats, row.category_id),
        attributes: attrs.iter().map(|a| (a.key.clone(), attribute_value(&a.value, &a.kind))).collect(),
        images: images(&row.images),
        price_from: price_from(&vs),
        in_stock: vs.iter().any(|v| v.in_stock),
        variants: vs,
        region: region.region.code.clone(),
        slug: row.slug,
        title: row.title,
        description: row.description,
        status: row.status,
        seo_title: row.seo_title,
        seo_description: row.seo_description,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

async fn write_attributes<C: ConnectionTrait>(
    db: &C,
    cx: &TenantCx,
    product_id: i64,
    attrs: &BTreeMap<String, Value>,
) -> Result<()> {
    cx.delete_where::<product_attribute::Entity>(product_attribute::Column::ProductId.eq(product_id)).exec(db).await?;
    if attrs.is_empty() {
        return Ok(());
    }
    let rows = attrs.iter().map(|(k, v)| {
        let (value, kind) = attribute_row(v);
        product_attribute::ActiveModel {
            tenant_id: Set(cx.id()),
            product_id: Set(product_id),
            key: Set(k.clone()),
            value: Set(value),
            kind: Set(kind.to_string()),
            ..Default::default()
        }
    });
    product_attribute::Entity::insert_many(rows).exec(db).await?;
    Ok(())
}

/// Creates a product with its attributes and variants (prices, stock) in one transaction.
pub async fn create(cx: &TenantCx, region: &RegionCx, input: NewProduct) -> Result<ProductView> {
    let slug = input.slug.clone().unwrap_or_else(|| validate::slugify(&input.title));
    let mut p = Problems::default();
    validate::slug(&mut p, "slug", &slug);
    validate::text(&mut p, "title", &input.title, 1, 500);
    if let Some(s) = &input.status {
        check_status(&mut p, s);
    }
    check_attributes(&mut p, &input.attributes);
    check_images(&mut p, &input.images);
    let mut skus = std::collections::HashSet::new();
    for (i, v) in input.variants.iter().enumerate() {
        variants::check_new(&mut p, &format!("variants.{i}."), v);
        if !skus.insert(v.sku.as_str()) {
            p.push(format!("variants.{i}.sku"), "duplicate", "the same SKU appears twice in this request");
        }
    }
    p.finish()?;
    let category_id = category_id(cx, input.category.as_deref()).await?;
    let all_prices: BTreeMap<String, i64> =
        input.variants.iter().flat_map(|v| v.prices.iter().map(|(k, a)| (k.clone(), *a))).collect();
    let all_stock: BTreeMap<String, i64> =
        input.variants.iter().flat_map(|v| v.stock.iter().map(|(k, a)| (k.clone(), *a))).collect();
    let (pts, whs) = variants::resolve_codes(cx, &all_prices, &all_stock).await?;
    let now = chrono::Utc::now();
    let txn = cx.db.begin().await?;
    let row = product::ActiveModel {
        tenant_id: Set(cx.id()),
        category_id: Set(category_id),
        slug: Set(slug.clone()),
        title: Set(input.title.trim().to_string()),
        description: Set(input.description),
        status: Set(input.status.unwrap_or_else(|| "active".into())),
        images: Set(serde_json::to_value(&input.images).unwrap_or_default()),
        seo_title: Set(input.seo_title),
        seo_description: Set(input.seo_description),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| taken_or(e, "slug", &slug))?;
    write_attributes(&txn, cx, row.id, &input.attributes).await?;
    for (i, v) in input.variants.iter().enumerate() {
        variants::insert(&txn, cx, row.id, i as i32, v, &pts, &whs).await?;
    }
    txn.commit().await?;
    get(cx, region, &slug, true).await
}

/// Updates a product.
pub async fn update(cx: &TenantCx, region: &RegionCx, slug: &str, patch: ProductPatch) -> Result<ProductView> {
    let row = row_by_slug(cx, slug).await?;
    let mut p = Problems::default();
    if let Some(s) = &patch.slug {
        validate::slug(&mut p, "slug", s);
    }
    if let Some(t) = &patch.title {
        validate::text(&mut p, "title", t, 1, 500);
    }
    if let Some(s) = &patch.status {
        check_status(&mut p, s);
    }
    if let Some(a) = &patch.attributes {
        check_attributes(&mut p, a);
    }
    if let Some(i) = &patch.images {
        check_images(&mut p, i);
    }
    p.finish()?;
    let new_slug = patch.slug.clone().unwrap_or_else(|| row.slug.clone());
    let mut am = row.clone().into_active_model();
    if let Some(c) = &patch.category {
        am.category_id = Set(category_id(cx, c.as_deref()).await?);
    }
    if let Some(s) = patch.slug {
        am.slug = Set(s);
    }
    if let Some(t) = patch.title {
        am.title = Set(t.trim().to_string());
    }
    if let Some(d) = patch.description {
        am.description = Set(d);
    }
    if let Some(s) = patch.status {
        am.status = Set(s);
    }
    if let Some(i) = &patch.images {
        am.images = Set(serde_json::to_value(i).unwrap_or_default());
    }
    if let Some(s) = patch.seo_title {
        am.seo_title = Set(s);
    }
    if let Some(s) = patch.seo_description {
        am.seo_description = Set(s);
    }
    am.updated_at = Set(chrono::Utc::now());
    let txn = cx.db.begin().await?;
    am.update(&txn).await.map_err(|e| taken_or(e, "slug", &new_slug))?;
    if let Some(a) = &patch.attributes {
        write_attributes(&txn, cx, row.id, a).await?;
    }
    txn.commit().await?;
    get(cx, region, &new_slug, true).await
}

/// Deletes a product with its variants, prices, stock and attributes.
///
/// Its external ids (imports, plugins) go too: the next sync then creates it anew instead
/// of skipping it as unchanged.
pub async fn delete(cx: &TenantCx, slug: &str) -> Result<()> {
    let row = row_by_slug(cx, slug).await?;
    let txn = cx.db.begin().await?;
    let variant_ids: Vec<i64> = cx
        .select::<variant::Entity>()
        .select_only()
        .column(variant::Column::Id)
        .filter(variant::Column::ProductId.eq(row.id))
        .into_tuple()
        .all(&txn)
        .await?;
    forget_external(&txn, cx, "variant", &variant_ids).await?;
    forget_external(&txn, cx, "product", &[row.id]).await?;
    cx.delete_where::<product::Entity>(product::Column::Id.eq(row.id)).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Removes the external ids that point at these rows of `kind`.
pub(crate) async fn forget_external(
    txn: &sea_orm::DatabaseTransaction,
    cx: &TenantCx,
    kind: &str,
    ids: &[i64],
) -> Result<()> {
    use crate::entity::external_ref;
    for chunk in ids.chunks(5000) {
        cx.delete_where::<external_ref::Entity>(
            sea_orm::Condition::all()
                .add(external_ref::Column::EntityKind.eq(kind))
                .add(external_ref::Column::InternalId.is_in(chunk.to_vec())),
        )
        .exec(txn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(contains_pattern("Bosch"), "%Bosch%");
        assert_eq!(contains_pattern("100%_x!"), "%100!%!_x!!%");
        assert_eq!(contains_pattern("Чайник"), "%Чайник%");
    }
}
