//! From rows of cells to products with variants, checking every cell on the way.
//!
//! [`Mapper`] turns one row into a [`Row`] (reporting bad cells as [`Problem`]s), and
//! [`Grouper`] gathers rows into [`ProductRec`]s the writer applies. Nothing here touches
//! the database: what the store has (price types, warehouses) comes in as [`Targets`].

use crate::cells::{self, NumberError};
use crate::problem::Problem;
use crate::profile::{Binding, Field, Grouping, Profile, SkuSource};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Longest title, SEO title, variant title.
pub const MAX_TITLE: usize = 500;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 100_000;
/// Longest attribute value.
pub const MAX_ATTRIBUTE: usize = 500;
/// Longest attribute or option name.
pub const MAX_NAME: usize = 100;
/// Longest barcode and external id.
pub const MAX_CODE: usize = 64;
/// Longest category name.
pub const MAX_CATEGORY: usize = 200;

/// A price type of the store, as the import sees it.
#[derive(Clone, Debug)]
pub struct PriceTarget {
    /// Code.
    pub code: String,
    /// Currency (ISO 4217).
    pub currency: String,
}

/// What the store has that columns refer to.
#[derive(Clone, Debug, Default)]
pub struct Targets {
    /// Price types.
    pub price_types: Vec<PriceTarget>,
    /// Warehouse codes.
    pub warehouses: Vec<String>,
    /// Index of the price type `$default` means.
    pub default_price_type: Option<usize>,
    /// Index of the warehouse `$default` means.
    pub default_warehouse: Option<usize>,
}

/// Which fields the file carries: a field absent from the file is left as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Present {
    /// Product fields present (title, description, ...).
    pub fields: Vec<Field>,
    /// Price types (by index into [`Targets::price_types`]) with a column.
    pub price_types: Vec<usize>,
    /// Warehouses (by index) with a column.
    pub warehouses: Vec<usize>,
}

impl Present {
    /// True when the file has a column for `f`.
    pub fn has(&self, f: Field) -> bool {
        self.fields.contains(&f)
    }
}

/// One row, mapped and checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    /// Row number.
    pub row: u64,
    /// Product key.
    pub product: Option<String>,
    /// Parent SKU.
    pub parent: Option<String>,
    /// Row kind (`variable`, `variation`, `simple`).
    pub row_type: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Category path.
    pub category: Option<Vec<String>>,
    /// Status.
    pub status: Option<String>,
    /// Images.
    pub images: Vec<String>,
    /// SEO title.
    pub seo_title: Option<String>,
    /// SEO description.
    pub seo_description: Option<String>,
    /// Attributes; `None` clears.
    pub attributes: Vec<(String, Option<Value>)>,
    /// SKU.
    pub sku: Option<String>,
    /// Barcode.
    pub barcode: Option<String>,
    /// Variant title.
    pub variant_title: Option<String>,
    /// Options.
    pub options: Vec<(String, String)>,
    /// Weight in grams.
    pub weight: Option<i32>,
    /// Prices by price type index; `None` clears.
    pub prices: Vec<(usize, Option<i64>)>,
    /// Stock by warehouse index; `None` clears.
    pub stock: Vec<(usize, Option<i64>)>,
    /// External id.
    pub external_id: Option<String>,
}

impl Row {
    /// True when the row carries variant data (a SKU, options, prices or stock).
    pub fn has_variant(&self) -> bool {
        self.sku.is_some()
            || !self.options.is_empty()
            || self.prices.iter().any(|(_, p)| p.is_some())
            || self.stock.iter().any(|(_, s)| s.is_some())
            || self.barcode.is_some()
    }
}

/// A product to write, with its variants.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProductRec {
    /// First row of the product in the file.
    pub row: u64,
    /// Slug, when the file gives one (canonical `product`, Shopify `Handle`).
    pub slug: Option<String>,
    /// The product's id in another system (plugins): it finds the product before the slug
    /// does, and is recorded in `external_ref` (kind `product`) when written.
    pub external_id: Option<String>,
    /// A hash of the other system's payload for this product, stored with its
    /// `external_ref` so the next sync can skip it when unchanged.
    pub external_hash: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Category path.
    pub category: Option<Vec<String>>,
    /// The category's id, when the caller resolved it (plugins map their own groups); it
    /// wins over `category`.
    pub category_id: Option<i64>,
    /// Status.
    pub status: Option<String>,
    /// Images.
    pub images: Vec<String>,
    /// SEO title.
    pub seo_title: Option<String>,
    /// SEO description.
    pub seo_description: Option<String>,
    /// Attributes to set (`Some`) or clear (`None`).
    pub attributes: BTreeMap<String, Option<Value>>,
    /// Variants.
    pub variants: Vec<VariantRec>,
}

/// A variant to write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VariantRec {
    /// Row in the file.
    pub row: u64,
    /// SKU.
    pub sku: String,
    /// Barcode.
    pub barcode: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Options.
    pub options: BTreeMap<String, String>,
    /// Weight in grams.
    pub weight: Option<i32>,
    /// Prices by price type index; `None` clears.
    pub prices: Vec<(usize, Option<i64>)>,
    /// Stock by warehouse index; `None` clears.
    pub stock: Vec<(usize, Option<i64>)>,
    /// External id.
    pub external_id: Option<String>,
    /// A hash of the other system's payload for this variant (see
    /// [`ProductRec::external_hash`]).
    pub external_hash: Option<String>,
}

/// A column bound to what it fills, with store codes resolved.
#[derive(Clone, Debug)]
struct Slot {
    index: usize,
    header: String,
    field: Field,
    /// Price type or warehouse index.
    target: usize,
    /// Attribute/option name, or attribute type suffix handled at bind time.
    name: String,
    kind: AttrKind,
    pair: u32,
    split: Option<String>,
    scale: f64,
    values: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AttrKind {
    Text,
    Number,
    Bool,
}

/// Maps rows of one file with one profile.
pub struct Mapper {
    profile: Profile,
    slots: Vec<Slot>,
    width: usize,
    targets: Targets,
    /// The file's shape: which fields it carries.
    pub present: Present,
    /// Problems with the header row itself (unknown price types, columns).
    pub header_problems: Vec<Problem>,
    /// Current category from a category row (1C price lists).
    section: Option<Vec<String>>,
    /// Option/attribute names of the current product's first row, and its key: Shopify
    /// writes `Option1 Name` on a product's first row only.
    pair_names: (Option<String>, BTreeMap<(bool, u32), String>),
    /// Slot of the product key column, when rows are grouped by it and nothing else reads
    /// product cells (SKUs from titles, category rows).
    key_slot: Option<usize>,
    /// The previous row's product key and a hash of each of its product cells (by slot; 0
    /// when the cell had a problem): see [`Mapper::map`].
    prev_key: Option<u64>,
    prev_cells: Vec<u64>,
}

/// Fields of the product, not the variant: a file with a row per variant repeats them on
/// every row of the product.
fn product_level(f: Field) -> bool {
    matches!(
        f,
        Field::Title
            | Field::Description
            | Field::Category
            | Field::Status
            | Field::Images
            | Field::SeoTitle
            | Field::SeoDescription
            | Field::Attribute
    )
}

impl Mapper {
    /// Binds a profile to a header row.
    pub fn new(profile: Profile, headers: &[String], binding: Binding, targets: Targets) -> Mapper {
        let mut header_problems = Vec::new();
        let mut slots = Vec::new();
        let mut present = Present::default();
        for b in binding.columns {
            let Some(field) = b.rule.field else { continue };
            let mut slot = Slot {
                index: b.index,
                header: b.header.clone(),
                field,
                target: 0,
                name: String::new(),
                kind: AttrKind::Text,
                pair: b.rule.pair.unwrap_or(0),
                split: b.rule.split.clone(),
                scale: b.rule.scale.unwrap_or(1.0),
                values: b.rule.values.iter().map(|(k, v)| (k.to_lowercase(), v.clone())).collect(),
            };
            match field {
                Field::Price => {
                    let code = b.name.clone().or(b.rule.price_type.clone()).unwrap_or_default();
                    let found = if code == "$default" {
                        targets.default_price_type
                    } else {
                        targets.price_types.iter().position(|p| p.code == code)
                    };
                    match found {
                        Some(i) => {
                            slot.target = i;
                            present.price_types.push(i);
                        }
                        None => {
                            header_problems.push(Problem::cell(1, &b.header, &code, "unknown_price_type"));
                            continue;
                        }
                    }
                }
                Field::Stock => {
                    let code = b.name.clone().or(b.rule.warehouse.clone()).unwrap_or_default();
                    let found = if code == "$default" {
                        targets.default_warehouse
                    } else {
                        targets.warehouses.iter().position(|w| *w == code)
                    };
                    match found {
                        Some(i) => {
                            slot.target = i;
                            present.warehouses.push(i);
                        }
                        None => {
                            header_problems.push(Problem::cell(1, &b.header, &code, "unknown_warehouse"));
                            continue;
                        }
                    }
                }
                Field::Attribute => {
                    let name = b.name.clone().or(b.rule.attribute.clone()).unwrap_or_default();
                    let (name, kind) = match name.rsplit_once(':') {
                        Some((n, "number")) => (n.to_string(), AttrKind::Number),
                        Some((n, "bool")) => (n.to_string(), AttrKind::Bool),
                        _ => (name, AttrKind::Text),
                    };
                    if name.is_empty() || longer(&name, MAX_NAME) {
                        header_problems
                            .push(Problem::cell(1, &b.header, &name, "too_long").arg("max", MAX_NAME).warning());
                        continue;
                    }
                    slot.name = name;
                    slot.kind = kind;
                }
                Field::Option => slot.name = b.name.clone().or(b.rule.option.clone()).unwrap_or_default(),
                _ => {}
            }
            if !present.fields.contains(&field) {
                present.fields.push(field);
            }
            slots.push(slot);
        }
        if !profile.ignore_unknown {
            for (_, h) in &binding.unknown {
                header_problems.push(Problem::cell(1, h, h, "unknown_column").warning());
            }
        }
        let has_key = present.has(Field::Sku)
            || present.has(Field::Product)
            || (profile.sku == SkuSource::Title && present.has(Field::Title));
        if !has_key {
            header_problems.push(Problem::row(1, "no_key_column"));
        }
        let key_slot = (profile.grouping == Grouping::Key && profile.sku != SkuSource::Title && !profile.category_rows)
            .then(|| slots.iter().position(|s| s.field == Field::Product))
            .flatten();
        let prev_cells = vec![0; slots.len()];
        Mapper {
            profile,
            slots,
            width: headers.len(),
            targets,
            present,
            header_problems,
            section: None,
            pair_names: (None, BTreeMap::new()),
            key_slot,
            prev_key: None,
            prev_cells,
        }
    }

    /// The profile in use.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The store targets in use.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// Maps one row. Returns `None` for rows that carry nothing (blank rows, category rows
    /// of a price list, which set the category of the rows below).
    pub fn map(&mut self, n: u64, cells: &[String], problems: &mut Vec<Problem>) -> Option<Row> {
        if cells.iter().all(|c| c.trim().is_empty()) {
            return None;
        }
        if cells.len() > self.width && cells[self.width..].iter().any(|c| !c.trim().is_empty()) {
            problems.push(Problem::row(n, "extra_cells").warning());
        }
        let mut r = Row { row: n, ..Row::default() };
        let mut names: BTreeMap<(bool, u32), String> = BTreeMap::new();
        let mut values: BTreeMap<(bool, u32), (String, String)> = BTreeMap::new();
        let mut currency: Option<(String, String, String)> = None;
        let (escaped, trim) = (self.profile.formulas_escaped, self.profile.trim);
        let cell_of = |s: &Slot| {
            let raw = cells.get(s.index).map(String::as_str).unwrap_or("");
            let raw = if escaped { crate::cells::unescape_formula(raw) } else { raw };
            if trim {
                raw.trim()
            } else {
                raw
            }
        };
        // A row of the same product as the row before it that repeats a product cell
        // (a file with a row per variant) skips that cell: the first row gave it and had it
        // checked, and the product takes its fields from its first row anyway. Cells are
        // compared by a 64-bit hash; a cell that had a problem is checked again.
        let key = self.key_slot.and_then(|k| self.slots.get(k)).map(&cell_of).filter(|k| !k.is_empty());
        let key = key.map(|k| xxhash_rust::xxh3::xxh3_64(k.as_bytes()));
        let same_product = key.is_some() && key == self.prev_key;
        self.prev_key = key;
        for (slot_no, s) in self.slots.iter().enumerate() {
            let cell = cell_of(s);
            let before = problems.len();
            let hash = if self.key_slot.is_some() && product_level(s.field) {
                let h = xxhash_rust::xxh3::xxh3_64(cell.as_bytes()) | 1;
                if same_product && self.prev_cells[slot_no] == h {
                    continue;
                }
                Some(h)
            } else {
                None
            };
            let value = if cell.is_empty() { None } else { Some(cell) };
            let at = |code| Problem::cell(n, &s.header, cell, code);
            match s.field {
                Field::Ignore => {}
                Field::Product => r.product = value.map(str::to_string),
                Field::ParentSku => r.parent = value.map(str::to_string),
                Field::RowType => r.row_type = value.map(str::to_lowercase),
                Field::Title => {
                    if let Some(v) = value {
                        if longer(v, MAX_TITLE) {
                            problems.push(at("too_long").arg("max", MAX_TITLE));
                        }
                        r.title = Some(v.to_string());
                    }
                }
                Field::Description => {
                    if let Some(v) = value {
                        if longer(v, MAX_DESCRIPTION) {
                            problems.push(at("too_long").arg("max", MAX_DESCRIPTION));
                        }
                        r.description = Some(v.to_string());
                    }
                }
                Field::SeoTitle => {
                    if let Some(v) = value {
                        if longer(v, MAX_TITLE) {
                            problems.push(at("too_long").arg("max", MAX_TITLE));
                        }
                        r.seo_title = Some(v.to_string());
                    }
                }
                Field::SeoDescription => r.seo_description = value.map(str::to_string),
                Field::Category => {
                    if let Some(v) = value {
                        let first = match &s.split {
                            Some(sep) => v.split(sep.as_str()).next().unwrap_or(v),
                            None => v,
                        };
                        let path: Vec<String> = first
                            .split(self.profile.category_separator.trim())
                            .map(|p| p.trim().to_string())
                            .filter(|p| !p.is_empty())
                            .collect();
                        if path.iter().any(|p| longer(p, MAX_CATEGORY)) {
                            problems.push(at("too_long").arg("max", MAX_CATEGORY));
                        } else if !path.is_empty() {
                            r.category = Some(path);
                        }
                    }
                }
                Field::Status => {
                    if let Some(v) = value {
                        let v = s.values.get(&v.to_lowercase()).cloned().unwrap_or_else(|| v.to_lowercase());
                        if megashop_core::catalog::products::STATUSES.contains(&v.as_str()) {
                            r.status = Some(v);
                        } else {
                            problems.push(at("bad_status"));
                        }
                    }
                }
                Field::Images => {
                    if let Some(v) = value {
                        let parts: Vec<&str> = match &s.split {
                            Some(sep) => v.split(sep.as_str()).collect(),
                            None => vec![v],
                        };
                        for url in parts.iter().map(|u| u.trim()).filter(|u| !u.is_empty()) {
                            let ok =
                                (url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/'))
                                    && url.len() <= 2000
                                    && !url.contains(char::is_whitespace);
                            if ok {
                                r.images.push(url.to_string());
                            } else {
                                problems.push(Problem::cell(n, &s.header, url, "invalid_url").warning());
                            }
                        }
                    }
                }
                Field::Attribute => match value {
                    None => r.attributes.push((s.name.clone(), None)),
                    Some(v) => match typed(v, s.kind) {
                        Ok(val) => {
                            if longer(v, MAX_ATTRIBUTE) {
                                problems.push(at("too_long").arg("max", MAX_ATTRIBUTE));
                            }
                            r.attributes.push((s.name.clone(), Some(val)));
                        }
                        Err(code) => problems.push(at(code)),
                    },
                },
                Field::AttributeName | Field::OptionName => {
                    if let Some(v) = value {
                        names.insert((s.field == Field::OptionName, s.pair), v.to_string());
                    }
                }
                Field::AttributeValue | Field::OptionValue => {
                    if let Some(v) = value {
                        values.insert((s.field == Field::OptionValue, s.pair), (s.header.clone(), v.to_string()));
                    }
                }
                Field::Option => {
                    if let Some(v) = value {
                        r.options.push((s.name.clone(), v.to_string()));
                    }
                }
                Field::Sku => {
                    if let Some(v) = value {
                        check_code(n, &s.header, v, problems);
                        let mut p = megashop_core::error::Problems::default();
                        megashop_core::validate::sku(&mut p, "sku", v);
                        if p.finish().is_err() {
                            problems.push(at("invalid_sku"));
                        }
                        r.sku = Some(v.to_string());
                    }
                }
                Field::Barcode => {
                    if let Some(v) = value {
                        check_code(n, &s.header, v, problems);
                        if longer(v, MAX_CODE) {
                            problems.push(at("too_long").arg("max", MAX_CODE));
                        }
                        r.barcode = Some(v.to_string());
                    }
                }
                Field::ExternalId => {
                    if let Some(v) = value {
                        check_code(n, &s.header, v, problems);
                        if longer(v, 255) {
                            problems.push(at("too_long").arg("max", 255));
                        }
                        r.external_id = Some(v.to_string());
                    }
                }
                Field::VariantTitle => {
                    if let Some(v) = value {
                        if longer(v, MAX_TITLE) {
                            problems.push(at("too_long").arg("max", MAX_TITLE));
                        }
                        r.variant_title = Some(v.to_string());
                    }
                }
                Field::Weight => {
                    if let Some(v) = value {
                        match parse_decimal(v) {
                            Some(x) if x >= 0.0 && (x * s.scale).round() <= i32::MAX as f64 => {
                                r.weight = Some((x * s.scale).round() as i32)
                            }
                            _ => problems.push(at("bad_number")),
                        }
                    }
                }
                Field::Price => match value {
                    None => r.prices.push((s.target, None)),
                    Some(v) => match cells::parse_minor(v, 2) {
                        Ok(m) if m < 0 => problems.push(at("negative_price")),
                        Ok(m) => r.prices.push((s.target, Some(m))),
                        Err(_) => problems.push(at("bad_number")),
                    },
                },
                Field::Stock => match value {
                    None => r.stock.push((s.target, None)),
                    Some(v) => match parse_quantity(v) {
                        Ok(q) if q < 0 => problems.push(at("negative_stock")),
                        Ok(q) => r.stock.push((s.target, Some(q))),
                        Err(code) => problems.push(at(code)),
                    },
                },
                Field::Currency => {
                    if let Some(v) = value {
                        let code = v.to_uppercase();
                        let code = match code.as_str() {
                            "РУБ" | "РУБ." | "₽" | "RUR" => "RUB".to_string(),
                            _ => code,
                        };
                        if !(code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())) {
                            problems.push(at("unknown_currency"));
                        } else {
                            // Checked against the prices once the whole row is read.
                            currency = Some((s.header.clone(), cell.to_string(), code));
                        }
                    }
                }
            }
            if let Some(h) = hash {
                self.prev_cells[slot_no] = if problems.len() == before { h } else { 0 };
            }
        }
        if let Some((header, cell, code)) = currency {
            let mut reported = Vec::new();
            for (i, _) in &r.prices {
                let expected = &self.targets.price_types[*i].currency;
                if *expected != code && !reported.contains(expected) {
                    problems.push(Problem::cell(n, &header, &cell, "currency_mismatch").arg("expected", expected));
                    reported.push(expected.clone());
                }
            }
        }
        // Names carry over to the rows of the same product that leave them empty.
        let key = r.product.clone();
        if key.is_some() && key != self.pair_names.0 {
            self.pair_names = (key, names.clone());
        } else if key.is_some() || r.row_type.as_deref() == Some("variation") {
            for (k, v) in &self.pair_names.1 {
                names.entry(*k).or_insert_with(|| v.clone());
            }
        }
        // Name/value pairs: options on variant rows, attributes on product rows.
        for ((is_option, pair), (header, value)) in values {
            let Some(name) = names.get(&(is_option, pair)).cloned() else { continue };
            if longer(&name, MAX_NAME) {
                problems.push(Problem::cell(n, &header, &name, "too_long").arg("max", MAX_NAME));
                continue;
            }
            let variation = r.row_type.as_deref() == Some("variation");
            if is_option || variation {
                // Shopify's single-variant products carry `Title = Default Title`.
                if !(is_option && name == "Title" && value == "Default Title") {
                    r.options.push((name, value));
                }
            } else {
                if longer(&value, MAX_ATTRIBUTE) {
                    problems.push(Problem::cell(n, &header, &value, "too_long").arg("max", MAX_ATTRIBUTE));
                    continue;
                }
                r.attributes.push((name, Some(Value::String(value))));
            }
        }
        // A price list's group row: a title and nothing else sets the category below.
        if self.profile.category_rows
            && r.title.is_some()
            && r.sku.is_none()
            && r.prices.iter().all(|(_, p)| p.is_none())
            && r.stock.iter().all(|(_, q)| q.is_none())
            && r.product.is_none()
        {
            self.section = r.title.clone().map(|t| vec![t]);
            return None;
        }
        if r.category.is_none() && !self.present.has(Field::Category) {
            r.category = self.section.clone();
        }
        if r.sku.is_none() && self.profile.sku == SkuSource::Title {
            r.sku = r.title.as_deref().map(sku_from_title);
        }
        Some(r)
    }

    /// True when a category column or category rows give products a category.
    pub fn sets_category(&self) -> bool {
        self.present.has(Field::Category) || self.profile.category_rows
    }
}

/// A fingerprint of a variant's content (its row number aside), to tell an identical
/// repeated row from a conflicting one.
pub fn variant_fingerprint(v: &VariantRec) -> u128 {
    crate::writer::variant_hash(v)
}

fn product_fingerprint(p: &ProductRec) -> u128 {
    let mut p = p.clone();
    p.row = 0;
    p.variants.clear();
    xxhash_rust::xxh3::xxh3_128(format!("{p:?}").as_bytes())
}

/// True when `v` has more than `max` characters (counted only when its bytes could be).
fn longer(v: &str, max: usize) -> bool {
    v.len() > max && v.chars().count() > max
}

/// A SKU made from a title: its slug, cut to 100 characters.
pub fn sku_from_title(title: &str) -> String {
    let mut s = megashop_core::validate::slugify(title);
    s.truncate(100);
    s.trim_end_matches('-').to_string()
}

/// Codes (SKU, barcode) a spreadsheet turned into numbers: `3.65275E+11`, or a float
/// like `54398267125.00001`.
fn check_code(n: u64, header: &str, v: &str, problems: &mut Vec<Problem>) {
    let sci = {
        let up = v.to_ascii_uppercase();
        match up.split_once("E+") {
            Some((m, e)) => {
                m.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',')
                    && !e.is_empty()
                    && e.chars().all(|c| c.is_ascii_digit())
            }
            None => false,
        }
    };
    let float_noise = v.split_once('.').is_some_and(|(i, f)| {
        i.len() >= 8 && i.bytes().all(|b| b.is_ascii_digit()) && f.len() >= 3 && f.bytes().all(|b| b.is_ascii_digit())
    });
    if sci || float_noise {
        problems.push(Problem::cell(n, header, v, "precision_lost"));
    }
}

fn typed(v: &str, kind: AttrKind) -> Result<Value, &'static str> {
    match kind {
        AttrKind::Text => Ok(Value::String(v.to_string())),
        AttrKind::Bool => match v.to_lowercase().as_str() {
            "true" | "1" | "yes" | "да" => Ok(Value::Bool(true)),
            "false" | "0" | "no" | "нет" => Ok(Value::Bool(false)),
            _ => Err("bad_boolean"),
        },
        AttrKind::Number => {
            let t = v.replace([' ', '\u{a0}'], "").replace(',', ".");
            serde_json::from_str::<serde_json::Number>(&t).map(Value::Number).map_err(|_| "bad_number")
        }
    }
}

/// Parses a decimal written either way (`226.796185`, `0,5`, `1 234,5`).
fn parse_decimal(v: &str) -> Option<f64> {
    let t: String = v.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
    let t = if t.contains(',') && !t.contains('.') { t.replace(',', ".") } else { t.replace(',', "") };
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-') {
        return None;
    }
    t.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Parses a stock quantity: `4`, `1 234`, `4.0` (spreadsheets write integers as floats).
fn parse_quantity(v: &str) -> Result<i64, &'static str> {
    match cells::parse_minor(v, 3) {
        Ok(milli) if milli % 1000 == 0 => Ok(milli / 1000),
        Ok(_) => Err("bad_integer"),
        Err(NumberError::TooLarge) => Err("bad_integer"),
        Err(_) => Err("bad_integer"),
    }
}

/// Gathers rows into products.
pub struct Grouper {
    grouping: Grouping,
    sku: SkuSource,
    present: Present,
    current: Option<ProductRec>,
    /// First row of each product key seen (keys must not come back later), by a 64-bit
    /// hash of the key.
    seen_keys: rustc_hash::FxHashMap<u64, u64>,
    /// Parent grouping: products by SKU, in file order.
    parents: indexmap::IndexMap<String, ProductRec>,
    orphans: Vec<Row>,
    /// First row of each value of a product field (to report conflicts).
    first_rows: HashMap<&'static str, u64>,
}

impl Grouper {
    /// A grouper for a mapper's profile and file shape.
    pub fn new(mapper: &Mapper) -> Grouper {
        Grouper {
            grouping: mapper.profile.grouping,
            sku: mapper.profile.sku,
            present: mapper.present.clone(),
            current: None,
            seen_keys: rustc_hash::FxHashMap::default(),
            parents: indexmap::IndexMap::new(),
            orphans: Vec::new(),
            first_rows: HashMap::new(),
        }
    }

    /// Adds a row; returns a product when the row closes one (key grouping).
    pub fn push(&mut self, row: Row, problems: &mut Vec<Problem>) -> Option<ProductRec> {
        match self.grouping {
            Grouping::Parent => {
                self.push_parent(row, problems);
                None
            }
            Grouping::Key => self.push_key(row, problems),
        }
    }

    fn push_key(&mut self, row: Row, problems: &mut Vec<Problem>) -> Option<ProductRec> {
        let has_key_column = self.present.has(Field::Product);
        let continues = match (&self.current, &row.product) {
            (Some(cur), Some(k)) => cur.slug.as_deref() == Some(k.as_str()),
            (Some(_), None) => has_key_column,
            (None, _) => false,
        };
        if continues {
            if let Some(cur) = self.current.as_mut() {
                merge(cur, row, self.sku, &mut self.first_rows, problems);
            }
            return None;
        }
        let done = self.current.take();
        if let Some(k) = &row.product {
            let h = xxhash_rust::xxh3::xxh3_64(k.as_bytes());
            if let Some(first) = self.seen_keys.get(&h) {
                problems.push(Problem::cell(row.row, "product", k, "duplicate_product").arg("first_row", *first));
            } else {
                self.seen_keys.insert(h, row.row);
            }
        }
        self.first_rows.clear();
        let mut p = ProductRec { row: row.row, slug: row.product.clone(), ..ProductRec::default() };
        merge(&mut p, row, self.sku, &mut self.first_rows, problems);
        self.current = Some(p);
        done
    }

    fn push_parent(&mut self, row: Row, problems: &mut Vec<Problem>) {
        match (&row.parent, row.row_type.as_deref()) {
            (Some(parent), _) => {
                let parent = parent.clone();
                match self.parents.get_mut(&parent) {
                    Some(p) => add_variant(p, row, self.sku, problems),
                    None => self.orphans.push(row),
                }
            }
            (None, kind) => {
                let Some(key) = row.sku.clone().or_else(|| row.title.as_deref().map(sku_from_title)) else {
                    self.orphans.push(row);
                    return;
                };
                let variable = kind == Some("variable");
                let mut p = ProductRec { row: row.row, ..ProductRec::default() };
                let mut first = HashMap::new();
                let mut product_row = row.clone();
                if variable {
                    // The parent row's SKU names the product; its variants come on their own rows.
                    product_row.sku = None;
                    product_row.prices.clear();
                    product_row.stock.clear();
                    product_row.barcode = None;
                }
                merge(&mut p, product_row, self.sku, &mut first, problems);
                if let Some(earlier) = self.parents.get(&key) {
                    let d = Problem::cell(row.row, "sku", &key, "duplicate_product").arg("first_row", earlier.row);
                    // An identical repeat (files concatenated twice) is skipped with a warning.
                    let same = product_fingerprint(earlier) == product_fingerprint(&p)
                        && p.variants
                            .iter()
                            .zip(&earlier.variants)
                            .all(|(a, b)| variant_fingerprint(a) == variant_fingerprint(b));
                    problems.push(if same { d.warning() } else { d });
                    return;
                }
                self.parents.insert(key, p);
            }
        }
    }

    /// Ends the file: returns the products still held.
    pub fn finish(&mut self, problems: &mut Vec<Problem>) -> Vec<ProductRec> {
        let mut out: Vec<ProductRec> = self.current.take().into_iter().collect();
        for row in std::mem::take(&mut self.orphans) {
            match row.parent.clone() {
                // Variations may come before their parent row.
                Some(parent) if self.parents.contains_key(&parent) => {
                    if let Some(p) = self.parents.get_mut(&parent) {
                        add_variant(p, row, self.sku, problems);
                    }
                }
                Some(parent) => problems.push(Problem::cell(row.row, "Parent", &parent, "unknown_parent")),
                None => problems.push(Problem::row(row.row, "missing_required").arg("column", "SKU")),
            }
        }
        out.extend(std::mem::take(&mut self.parents).into_values());
        out
    }
}

/// Folds a row into a product: product fields from the first row that has them (later
/// different values are reported), and the row's variant.
fn merge(
    p: &mut ProductRec,
    mut row: Row,
    sku: SkuSource,
    first: &mut HashMap<&'static str, u64>,
    problems: &mut Vec<Problem>,
) {
    let n = row.row;
    let mut set = |name: &'static str, slot: &mut Option<String>, v: Option<String>| {
        if let Some(v) = v {
            match slot {
                None => {
                    *slot = Some(v);
                    first.insert(name, n);
                }
                Some(old) if *old != v => problems.push(
                    Problem::cell(n, name, &v, "conflicting_value")
                        .arg("first_row", first.get(name).copied().unwrap_or(0)),
                ),
                Some(_) => {}
            }
        }
    };
    set("title", &mut p.title, row.title.take());
    set("description", &mut p.description, row.description.take());
    set("status", &mut p.status, row.status.take());
    set("seo_title", &mut p.seo_title, row.seo_title.take());
    set("seo_description", &mut p.seo_description, row.seo_description.take());
    if p.category.is_none() {
        p.category = row.category.take();
    }
    for img in std::mem::take(&mut row.images) {
        if !p.images.contains(&img) {
            p.images.push(img);
        }
    }
    for (k, v) in std::mem::take(&mut row.attributes) {
        match p.attributes.get(&k) {
            Some(Some(_)) => {}
            _ => {
                p.attributes.insert(k, v);
            }
        }
    }
    let _ = first;
    if row.has_variant() || (p.variants.is_empty() && sku == SkuSource::Title) {
        add_variant(p, row, sku, problems);
    }
}

fn add_variant(p: &mut ProductRec, row: Row, sku: SkuSource, problems: &mut Vec<Problem>) {
    let carries_data = row.has_variant() || row.variant_title.is_some();
    let sku = match (row.sku, sku) {
        (Some(s), _) => s,
        (None, SkuSource::Generate) => {
            let base = p.slug.clone().or_else(|| p.title.as_deref().map(sku_from_title)).unwrap_or_default();
            let opts: Vec<&str> = row.options.iter().map(|(_, v)| v.as_str()).collect();
            if opts.is_empty() {
                base
            } else {
                let mut s = format!("{base}-{}", megashop_core::validate::slugify(&opts.join(" ")));
                s.truncate(100);
                s
            }
        }
        (None, _) => String::new(),
    };
    if sku.is_empty() {
        // A row without a SKU is a product without variants, unless it carries variant
        // data, which would otherwise be lost.
        if carries_data {
            problems.push(Problem::row(row.row, "missing_required").arg("column", "sku"));
        }
        return;
    }
    p.variants.push(VariantRec {
        row: row.row,
        sku,
        barcode: row.barcode,
        title: row.variant_title,
        options: row.options.into_iter().collect(),
        weight: row.weight,
        prices: row.prices,
        stock: row.stock,
        external_id: row.external_id,
        external_hash: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::builtin;

    fn targets() -> Targets {
        Targets {
            price_types: vec![
                PriceTarget { code: "retail".into(), currency: "RUB".into() },
                PriceTarget { code: "opt".into(), currency: "RUB".into() },
            ],
            warehouses: vec!["msk".into()],
            default_price_type: Some(0),
            default_warehouse: Some(0),
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn mapper(profile: &str, headers: &[&str]) -> Mapper {
        let p = builtin(profile).unwrap();
        let h = strings(headers);
        let b = p.bind(&h);
        Mapper::new(p, &h, b, targets())
    }

    #[test]
    fn canonical_rows_map_to_typed_fields() {
        let mut m =
            mapper("canonical", &["product", "title", "sku", "price:retail", "stock:msk", "attr:power_w:number"]);
        assert!(m.header_problems.is_empty(), "{:?}", m.header_problems);
        let mut problems = vec![];
        let r = m.map(2, &strings(&["kettle", "Чайник", "K-1", "1 299,50", "4", "2200"]), &mut problems).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(r.prices, vec![(0, Some(129950))]);
        assert_eq!(r.stock, vec![(0, Some(4))]);
        assert_eq!(r.attributes, vec![("power_w".to_string(), Some(serde_json::json!(2200)))]);
    }

    #[test]
    fn a_currency_column_is_checked_against_every_price_in_the_row() {
        let mut m = mapper("canonical", &["sku", "price:retail"]);
        let mut problems = vec![];
        m.map(2, &strings(&["A", "10"]), &mut problems);
        assert!(problems.is_empty());
        let p = builtin("pricelist").unwrap();
        let h = strings(&["Валюта", "Артикул", "Цена"]);
        let mut p = p;
        p.columns.push(crate::profile::Column {
            header: Some("Валюта".into()),
            field: Some(Field::Currency),
            ..Default::default()
        });
        let b = p.bind(&h);
        let mut m = Mapper::new(p, &h, b, targets());
        m.map(2, &strings(&["USD", "A-1", "10"]), &mut problems);
        m.map(3, &strings(&["руб.", "A-2", "10"]), &mut problems);
        let got: Vec<(u64, &str)> = problems.iter().map(|p| (p.row, p.code)).collect();
        assert_eq!(got, vec![(2, "currency_mismatch")]);
    }

    #[test]
    fn bad_cells_are_reported_with_row_column_and_value() {
        let mut m = mapper("canonical", &["product", "title", "sku", "price:retail", "stock:msk", "status"]);
        let mut problems = vec![];
        m.map(7, &strings(&["k", "T", "3.65275E+11", "-5", "2,5", "gone"]), &mut problems);
        let got: Vec<(u64, &str, &str)> =
            problems.iter().map(|p| (p.row, p.column.as_deref().unwrap(), p.code)).collect();
        assert_eq!(
            got,
            vec![
                (7, "sku", "precision_lost"),
                (7, "price:retail", "negative_price"),
                (7, "stock:msk", "bad_integer"),
                (7, "status", "bad_status")
            ]
        );
    }

    #[test]
    fn repeated_product_cells_are_read_once_and_still_checked() {
        let headers = ["product", "title", "status", "attr:power_w:number", "sku", "price:retail"];
        let mut m = mapper("canonical", &headers);
        let mut g = Grouper::new(&m);
        let mut problems = vec![];
        let long = "Я".repeat(MAX_TITLE + 1);
        let rows = [
            ["lamp", "Лампа", "active", "1800", "L-1", "10"],
            ["lamp", "Лампа", "active", "1800", "L-2", "11"],
            // A repeated bad cell is reported on every row that has it.
            ["lamp", "Лампа", "gone", "1800", "L-3", "12"],
            ["lamp", "Лампа", "gone", "1800", "L-4", "13"],
            // A different value on a later row is still a conflict.
            ["lamp", "Лампа 2", "active", "1800", "L-5", "14"],
            // The next product reads all its cells, the same text or not.
            ["bulb", "Лампа", "active", "abc", "B-1", "1"],
            ["bulb", long.as_str(), "active", "abc", "B-2", "1"],
        ];
        let mut done = vec![];
        for (i, r) in rows.iter().enumerate() {
            let row = m.map(i as u64 + 2, &strings(r), &mut problems).unwrap();
            if i == 1 {
                assert_eq!(row.title, None, "a repeated cell of the same product is skipped");
                assert!(row.attributes.is_empty());
                assert_eq!(row.sku.as_deref(), Some("L-2"), "variant cells are always read");
            }
            done.extend(g.push(row, &mut problems));
        }
        done.extend(g.finish(&mut problems));
        let got: Vec<(u64, &str, &str)> =
            problems.iter().map(|p| (p.row, p.column.as_deref().unwrap(), p.code)).collect();
        assert_eq!(
            got,
            vec![
                (4, "status", "bad_status"),
                (5, "status", "bad_status"),
                (6, "title", "conflicting_value"),
                (7, "attr:power_w:number", "bad_number"),
                (8, "title", "too_long"),
                (8, "attr:power_w:number", "bad_number"),
                (8, "title", "conflicting_value"),
            ]
        );
        assert_eq!(done.len(), 2);
        assert_eq!(done[0].title.as_deref(), Some("Лампа"));
        assert_eq!(done[0].status.as_deref(), Some("active"));
        assert_eq!(done[0].attributes.get("power_w"), Some(&Some(serde_json::json!(1800))));
        assert_eq!(done[0].variants.len(), 5);
        assert_eq!(done[1].title.as_deref(), Some("Лампа"));
    }

    #[test]
    fn unknown_price_types_and_warehouses_are_header_problems() {
        let m = mapper("canonical", &["sku", "price:wholesale", "stock:nowhere"]);
        let codes: Vec<&str> = m.header_problems.iter().map(|p| p.code).collect();
        assert_eq!(codes, vec!["unknown_price_type", "unknown_warehouse"]);
    }

    #[test]
    fn shopify_rows_group_by_handle_and_generate_skus() {
        let mut m = mapper(
            "shopify",
            &["Handle", "Title", "Option1 Name", "Option1 Value", "Variant SKU", "Variant Price", "Image Src"],
        );
        let mut g = Grouper::new(&m);
        let mut problems = vec![];
        let rows = [
            ["shirt", "Shirt", "Size", "S", "", "10", "https://x/1.jpg"],
            ["shirt", "", "", "M", "", "11", ""],
            ["shirt", "", "", "", "", "", "https://x/2.jpg"],
            ["mug", "Mug", "Title", "Default Title", "MUG-1", "5", ""],
        ];
        let mut out = vec![];
        for (i, r) in rows.iter().enumerate() {
            let row = m.map(i as u64 + 2, &strings(r), &mut problems).unwrap();
            out.extend(g.push(row, &mut problems));
        }
        out.extend(g.finish(&mut problems));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(out.len(), 2);
        let skus: Vec<&str> = out[0].variants.iter().map(|v| v.sku.as_str()).collect();
        assert_eq!(skus, vec!["shirt-s", "shirt-m"]);
        assert_eq!(out[0].images.len(), 2);
        assert!(out[1].variants[0].options.is_empty());
    }

    #[test]
    fn price_list_group_rows_become_categories() {
        let p = crate::profile::detect(&strings(&["№", "Наименование товара", "Опт. цена", "Остаток"])).profile;
        let h = strings(&["№", "Наименование товара", "Опт. цена", "Остаток"]);
        let b = p.bind(&h);
        let mut m = Mapper::new(p, &h, b, targets());
        let mut problems = vec![];
        assert!(m.map(6, &strings(&["", "21.Автошина летняя", "", ""]), &mut problems).is_none());
        let r = m.map(7, &strings(&["матиз", "Кама-241 155/70 R13", "3500", "4"]), &mut problems).unwrap();
        assert_eq!(r.category, Some(vec!["21.Автошина летняя".to_string()]));
        assert_eq!(r.sku.as_deref(), Some("kama-241-155-70-r13"));
        assert_eq!(r.prices, vec![(0, Some(350000))]);
    }
}
