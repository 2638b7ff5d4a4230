//! The feed: the JSON document the plugin downloads, and the checks every record passes
//! before anything is written.
//!
//! ```json
//! {"products": [
//!   {"id": "A-1", "title": "Чайник", "description": "Стальной, 1,7 л", "category": "Кухня",
//!    "price": "1299.50",
//!    "variants": [
//!      {"id": "A-1-W", "sku": "K-1-W", "title": "белый", "stock": 3},
//!      {"id": "A-1-B", "sku": "K-1-B", "title": "чёрный", "price": "1349.00", "stock": 2}
//!    ]},
//!   {"id": "B-7", "title": "Кружка", "sku": "MUG-7", "price": "349", "stock": 40}
//! ]}
//! ```
//!
//! A product is sold as its `variants`; a product without them is sold as one variant whose
//! id is the product's and whose SKU is `sku` (the id when absent). A variant without its
//! own `price` or `stock` takes the product's. Prices are decimal strings in the price
//! type's currency (`"1299.50"`, at most two decimals; plain JSON numbers are read too);
//! stock is a whole number, 0 when absent. Fields the plugin does not know are ignored.
//!
//! Records are read one by one: a bad one is rejected with its id and a reason, the others
//! go on.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;

/// Products a feed may list; a longer one fails the run (a feed is read whole into memory).
pub const MAX_PRODUCTS: usize = 100_000;
/// Longest id of a product or variant, in characters (the limit of `external_ref`).
pub const MAX_ID: usize = 255;
/// Longest SKU, in characters.
pub const MAX_SKU: usize = 100;
/// Longest title, in characters.
pub const MAX_TITLE: usize = 500;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 100_000;
/// Longest category name, in characters.
pub const MAX_CATEGORY: usize = 200;
/// Largest stock quantity.
pub const MAX_STOCK: i64 = 1_000_000_000;

/// The whole document. Its records stay raw JSON here and are read one by one by
/// [`check`], so that one bad record cannot spoil the others.
#[derive(Debug, Deserialize)]
pub struct Feed {
    /// The products, as sent.
    pub products: Vec<Value>,
}

/// A product that passed the checks, with defaults applied. Its JSON is what the payload
/// hash is computed from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Product {
    /// The product's id in the remote system.
    pub id: String,
    /// Title, trimmed.
    pub title: String,
    /// Description, when given.
    pub description: Option<String>,
    /// Category name, when given (one level).
    pub category: Option<String>,
    /// At least one variant.
    pub variants: Vec<Variant>,
}

/// A variant that passed the checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Variant {
    /// The variant's id in the remote system.
    pub id: String,
    /// SKU.
    pub sku: String,
    /// Title (`белый`), when given.
    pub title: Option<String>,
    /// Price in minor units (kopecks): `"1299.50"` is 129950.
    pub price: i64,
    /// Quantity in stock.
    pub stock: i64,
}

/// A record that did not pass: its id when one could be read, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The record's `id`, if it has a usable one.
    pub id: Option<String>,
    /// Every problem found, for people (`title: must not be empty; price: missing`).
    pub reason: String,
}

/// A product as sent: serde checks the shape (strings where strings belong), the rest is
/// checked by hand for clearer messages.
#[derive(Deserialize)]
struct RawProduct {
    id: String,
    title: String,
    description: Option<String>,
    category: Option<String>,
    sku: Option<String>,
    price: Option<Value>,
    stock: Option<Value>,
    #[serde(default)]
    variants: Vec<RawVariant>,
}

#[derive(Deserialize)]
struct RawVariant {
    id: String,
    sku: String,
    title: Option<String>,
    price: Option<Value>,
    stock: Option<Value>,
}

/// Checks every record of the feed, in order. Besides each record's own checks, a product
/// is rejected when its id, one of its variant ids or one of its SKUs was already taken
/// by an earlier product of the feed: the first one wins.
pub fn check(feed: Feed) -> Vec<Result<Product, Rejected>> {
    let mut taken = HashSet::new();
    feed.products
        .into_iter()
        .map(|raw| {
            let p = product(raw)?;
            claim(&mut taken, &p)?;
            Ok(p)
        })
        .collect()
}

/// Records the ids and SKUs of `p` as taken, or rejects it if one already is.
fn claim(taken: &mut HashSet<String>, p: &Product) -> Result<(), Rejected> {
    let mut keys = vec![format!("product id {:?}", p.id)];
    for v in &p.variants {
        keys.push(format!("variant id {:?}", v.id));
        keys.push(format!("SKU {:?}", v.sku));
    }
    let mut mine = HashSet::new();
    for k in &keys {
        if taken.contains(k) || !mine.insert(k) {
            return Err(Rejected { id: Some(p.id.clone()), reason: format!("{k} is listed twice in the feed") });
        }
    }
    taken.extend(keys);
    Ok(())
}

/// The record's `id` when it is a usable string, for messages about a record that fails.
fn id_of(raw: &Value) -> Option<String> {
    raw.get("id").and_then(Value::as_str).filter(|id| id_problem(id).is_none()).map(str::to_string)
}

/// Reads and checks one product.
fn product(raw: Value) -> Result<Product, Rejected> {
    let id = id_of(&raw);
    let reject = |reason: String| Rejected { id: id.clone(), reason };
    if !raw.is_object() {
        return Err(reject("a product must be a JSON object".into()));
    }
    let raw: RawProduct = serde_json::from_value(raw).map_err(|e| reject(e.to_string()))?;

    // Every problem of the record is collected, so one run tells the sender all of them.
    let mut errors = Vec::new();
    if let Some(why) = id_problem(&raw.id) {
        errors.push(format!("id: {why}"));
    }
    let title = raw.title.trim().to_string();
    if let Some(why) = text_problem(&title, MAX_TITLE) {
        errors.push(format!("title: {why}"));
    }
    let description = raw.description.filter(|d| !d.trim().is_empty());
    if description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
        errors.push(format!("description: longer than {MAX_DESCRIPTION} characters"));
    }
    let category = raw.category.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    if let Some(why) = category.as_deref().and_then(|c| text_problem(c, MAX_CATEGORY)) {
        errors.push(format!("category: {why}"));
    }

    // A product without variants is sold as one variant: its own id, `sku`, price, stock.
    let (variants, prefix) = if raw.variants.is_empty() {
        let sku = raw.sku.clone().unwrap_or_else(|| raw.id.clone());
        let only = RawVariant { id: raw.id.clone(), sku, title: None, price: None, stock: None };
        (vec![only], false)
    } else {
        if raw.sku.is_some() {
            errors.push("sku: a product with variants has no SKU of its own; give one to each variant".into());
        }
        (raw.variants, true)
    };
    let mut checked = Vec::with_capacity(variants.len());
    for (i, v) in variants.into_iter().enumerate() {
        // Messages name the field as the sender wrote it: `variants[1].price`, or `price`.
        let at = |field: &str| if prefix { format!("variants[{i}].{field}") } else { field.to_string() };
        if prefix {
            if let Some(why) = id_problem(&v.id) {
                errors.push(format!("{}: {why}", at("id")));
            }
        }
        if let Some(why) = sku_problem(&v.sku) {
            errors.push(format!("{}: {why}", at("sku")));
        }
        let price = match v.price.as_ref().or(raw.price.as_ref()) {
            None => {
                errors.push(format!("{}: missing", at("price")));
                0
            }
            Some(p) => price(p).unwrap_or_else(|why| {
                errors.push(format!("{}: {why}", at("price")));
                0
            }),
        };
        let stock = match v.stock.as_ref().or(raw.stock.as_ref()) {
            None => 0,
            Some(s) => stock(s).unwrap_or_else(|why| {
                errors.push(format!("{}: {why}", at("stock")));
                0
            }),
        };
        let title = v.title.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        if title.as_ref().is_some_and(|t| t.chars().count() > MAX_TITLE) {
            errors.push(format!("{}: longer than {MAX_TITLE} characters", at("title")));
        }
        checked.push(Variant { id: v.id, sku: v.sku, title, price, stock });
    }

    if !errors.is_empty() {
        return Err(reject(errors.join("; ")));
    }
    Ok(Product { id: raw.id, title, description, category, variants: checked })
}

/// Why `id` cannot be a remote id, if it cannot.
fn id_problem(id: &str) -> Option<String> {
    if id.trim().is_empty() {
        Some("must not be empty".into())
    } else if id.chars().count() > MAX_ID {
        Some(format!("longer than {MAX_ID} characters"))
    } else if id.chars().any(char::is_control) {
        Some("contains control characters".into())
    } else {
        None
    }
}

/// Why `sku` cannot be a SKU, if it cannot (the store's rule: 1-100 printable characters,
/// no spaces at the ends).
fn sku_problem(sku: &str) -> Option<String> {
    if sku.is_empty() || sku.chars().count() > MAX_SKU || sku.trim() != sku || sku.chars().any(char::is_control) {
        Some(format!("{sku:?} is not a SKU (1-{MAX_SKU} printable characters, no spaces at the ends)"))
    } else {
        None
    }
}

/// Why a trimmed text cannot be used, if it cannot.
fn text_problem(text: &str, max: usize) -> Option<String> {
    if text.is_empty() {
        Some("must not be empty".into())
    } else if text.chars().count() > max {
        Some(format!("longer than {max} characters"))
    } else {
        None
    }
}

/// A price as minor units: a string (`"1299.50"`) or a JSON number (`1299.5`).
fn price(v: &Value) -> Result<i64, String> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err("must be a string like \"1299.50\"".into()),
    };
    parse_price(&text).ok_or_else(|| format!("{text:?} is not a price like \"1299.50\""))
}

/// A stock quantity: a whole number from 0 to [`MAX_STOCK`].
fn stock(v: &Value) -> Result<i64, String> {
    match v.as_i64() {
        Some(q) if (0..=MAX_STOCK).contains(&q) => Ok(q),
        _ => Err(format!("{v} is not a quantity (a whole number from 0 to {MAX_STOCK})")),
    }
}

/// `"1299.50"` → `129950`: digits, then optionally a dot and one or two digits.
///
/// Strict on purpose: a program wrote the feed, and a price read wrong (`1,299` as 1.299)
/// is worse than a record rejected with its reason.
pub fn parse_price(text: &str) -> Option<i64> {
    let (units, cents) = match text.split_once('.') {
        Some((u, c)) if !c.is_empty() && c.len() <= 2 => (u, c),
        Some(_) => return None,
        None => (text, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(units) || (!cents.is_empty() && !digits(cents)) {
        return None;
    }
    // "5" after the dot is fifty kopecks, not five.
    let cents: i64 = format!("{cents:0<2}").parse().ok()?;
    units.parse::<i64>().ok()?.checked_mul(100)?.checked_add(cents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(record: Value) -> Result<Product, Rejected> {
        check(Feed { products: vec![record] }).remove(0)
    }

    #[test]
    fn prices_are_read_exactly() {
        for (text, minor) in [("1299.50", 129_950), ("1299.5", 129_950), ("349", 34_900), ("0.07", 7), ("0", 0)] {
            assert_eq!(parse_price(text), Some(minor), "{text}");
        }
        for text in ["", "1,5", "1 299", "-5", "1.", ".5", "1.234", "1e3", "12.5 руб", "9999999999999"] {
            assert_eq!(parse_price(text), None, "{text}");
        }
        assert_eq!(price(&json!(1299.5)), Ok(129_950), "JSON numbers too");
        assert!(price(&json!(true)).is_err());
    }

    #[test]
    fn a_product_without_variants_is_one_variant() {
        let p = one(json!({"id": "B-7", "title": " Кружка ", "sku": "MUG-7", "price": "349", "stock": 40})).unwrap();
        assert_eq!(p.title, "Кружка");
        assert_eq!(
            p.variants,
            [Variant { id: "B-7".into(), sku: "MUG-7".into(), title: None, price: 34_900, stock: 40 }]
        );
        let p = one(json!({"id": "C-1", "title": "Ложка", "price": 10})).unwrap();
        assert_eq!((p.variants[0].sku.as_str(), p.variants[0].stock), ("C-1", 0), "the id is the SKU, stock 0");
    }

    #[test]
    fn variants_take_the_products_price_and_stock_when_they_have_none() {
        let p = one(json!({"id": "A-1", "title": "Чайник", "price": "1299.50", "stock": 1, "variants": [
            {"id": "A-1-W", "sku": "K-1-W", "title": "белый", "stock": 3},
            {"id": "A-1-B", "sku": "K-1-B", "price": "1349"}
        ]}))
        .unwrap();
        let got: Vec<(i64, i64)> = p.variants.iter().map(|v| (v.price, v.stock)).collect();
        assert_eq!(got, [(129_950, 3), (134_900, 1)]);
    }

    #[test]
    fn a_bad_record_is_rejected_with_its_id_and_every_reason() {
        let r = one(json!({"id": "A-2", "title": "  ", "variants": [{"id": "A-2-1", "sku": " X", "price": "1,5"}]}));
        let r = r.unwrap_err();
        assert_eq!(r.id.as_deref(), Some("A-2"));
        assert_eq!(
            r.reason,
            "title: must not be empty; variants[0].sku: \" X\" is not a SKU (1-100 printable characters, no spaces \
             at the ends); variants[0].price: \"1,5\" is not a price like \"1299.50\""
        );
        let r = one(json!({"id": "A-3", "title": "Без цены"})).unwrap_err();
        assert_eq!(r.reason, "price: missing");
        let r = one(json!({"title": "Без id", "price": "1"})).unwrap_err();
        assert_eq!((r.id, r.reason.as_str()), (None, "missing field `id`"));
        let r = one(json!({"id": "A-4", "title": "x", "price": "1", "stock": -1})).unwrap_err();
        assert_eq!(r.reason, "stock: -1 is not a quantity (a whole number from 0 to 1000000000)");
        assert_eq!(one(json!([1, 2])).unwrap_err().reason, "a product must be a JSON object");
    }

    #[test]
    fn the_first_of_two_records_with_one_id_or_sku_wins() {
        let feed = Feed {
            products: vec![
                json!({"id": "A", "title": "a", "sku": "S", "price": "1"}),
                json!({"id": "A", "title": "again", "sku": "T", "price": "1"}),
                json!({"id": "B", "title": "b", "sku": "S", "price": "1"}),
                json!({"id": "C", "title": "c", "variants": [
                    {"id": "C-1", "sku": "C", "price": "1"}, {"id": "C-1", "sku": "D", "price": "1"}]}),
                json!({"id": "D", "title": "d", "sku": "T", "price": "1"}),
            ],
        };
        let reasons: Vec<String> =
            check(feed).into_iter().map(|r| r.map(|p| p.id).unwrap_or_else(|e| e.reason)).collect();
        assert_eq!(
            reasons,
            [
                "A",
                "product id \"A\" is listed twice in the feed",
                "SKU \"S\" is listed twice in the feed",
                "variant id \"C-1\" is listed twice in the feed",
                "D",
            ],
            "a rejected record takes nothing: D may use the SKU of the rejected second A"
        );
    }
}
