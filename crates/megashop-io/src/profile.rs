//! Mapping profiles: which column of a file becomes which catalogue field.
//!
//! A profile is a TOML file (or the same as JSON through the API). Built-in profiles cover
//! the Megashop canonical format (what export writes), WooCommerce and Shopify product CSV
//! exports, and a plain price list. [`detect`] proposes a profile from a header row.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Catalogue fields a column can fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The product's key (slug / handle): rows with the same key are one product.
    Product,
    /// Product title.
    Title,
    /// Product description.
    Description,
    /// Category path (`Электроника > Телефоны`).
    Category,
    /// `active`, `draft` or `archived` (see [`Column::values`] to translate other words).
    Status,
    /// Image URLs, split by [`Column::split`].
    Images,
    /// SEO title.
    SeoTitle,
    /// SEO description.
    SeoDescription,
    /// One attribute: its name is [`Column::attribute`] or the header after `attr:`.
    Attribute,
    /// Name of attribute number [`Column::pair`] (WooCommerce `Attribute 1 name`).
    AttributeName,
    /// Value of attribute number [`Column::pair`].
    AttributeValue,
    /// Variant SKU (the default key).
    Sku,
    /// Barcode (EAN/UPC).
    Barcode,
    /// Variant title.
    VariantTitle,
    /// One variant option: its name is [`Column::option`] or the header after `option:`.
    Option,
    /// Name of option number [`Column::pair`] (Shopify `Option1 Name`).
    OptionName,
    /// Value of option number [`Column::pair`].
    OptionValue,
    /// Weight; multiplied by [`Column::scale`] into grams (1000 for kilograms).
    Weight,
    /// Price in the currency's major units (`1 299,00`) for [`Column::price_type`].
    Price,
    /// Stock quantity in [`Column::warehouse`].
    Stock,
    /// An id from another system, the key in `--key external-id` mode.
    ExternalId,
    /// SKU of the parent product (WooCommerce variations).
    ParentSku,
    /// Row kind (WooCommerce `Type`: `variable` rows are products without a variant).
    RowType,
    /// Currency of the prices in the row (checked against the price type's).
    Currency,
    /// Read but not imported.
    Ignore,
}

/// One column rule.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// Header to match (case and outer spaces do not matter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Other headers meaning the same (`Артикул`, `Код`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Matches every header starting with this; the rest names the price type, warehouse,
    /// attribute or option (`price:retail`, `stock:msk`, `attr:brand`, `option:Цвет`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The field filled.
    pub field: Option<Field>,
    /// Price type code for [`Field::Price`]; `$default` is the store's default region's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_type: Option<String>,
    /// Warehouse code for [`Field::Stock`]; `$default` is the default region's first one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouse: Option<String>,
    /// Attribute name for [`Field::Attribute`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// Option name for [`Field::Option`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
    /// Pair number linking `*_name` and `*_value` columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<u32>,
    /// Splits a list cell (images; several categories, of which the first is used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// Factor for [`Field::Weight`] into grams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// Translates cell values (`"1" = "active"`), compared case-insensitively.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
}

/// How rows form products.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    /// Consecutive rows with the same [`Field::Product`] key are one product; a row with
    /// an empty key continues the product above (Shopify, Vendure). Without a product
    /// column every row is its own product.
    #[default]
    Key,
    /// Rows point at their product's SKU with [`Field::ParentSku`] (WooCommerce); the file
    /// is read whole before writing, so it suits files up to some hundred thousand rows.
    Parent,
}

/// How rows find what they update.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkuSource {
    /// The SKU column; a row without one is an error.
    #[default]
    Column,
    /// The SKU column, or, when empty, made from the product key and option values
    /// (Shopify files often have no SKUs).
    Generate,
    /// Made from the title (price lists whose code column is unusable).
    Title,
}

/// A mapping profile.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Short name (`canonical`, `woocommerce`, ...).
    pub name: String,
    /// What files it is for.
    #[serde(default)]
    pub description: String,
    /// How rows form products.
    #[serde(default)]
    pub grouping: Grouping,
    /// Where SKUs come from.
    #[serde(default)]
    pub sku: SkuSource,
    /// Separator between category levels.
    #[serde(default = "default_category_separator")]
    pub category_separator: String,
    /// Rows with a title and nothing else set the category of the rows below them (the
    /// group rows of a 1C price list).
    #[serde(default)]
    pub category_rows: bool,
    /// Trim spaces around every cell (columns padded to line up). Off in the canonical
    /// format, whose cells are exact.
    #[serde(default = "yes")]
    pub trim: bool,
    /// Text cells were escaped against formula injection on export (a leading `'` is
    /// dropped on import; see [`crate::cells::unescape_formula`]).
    #[serde(default)]
    pub formulas_escaped: bool,
    /// Columns of the file not listed here are ignored without a warning.
    #[serde(default)]
    pub ignore_unknown: bool,
    /// Column rules.
    #[serde(default, rename = "column")]
    pub columns: Vec<Column>,
}

fn default_category_separator() -> String {
    " > ".to_string()
}

fn yes() -> bool {
    true
}

const BUILTIN: [(&str, &str); 4] = [
    ("canonical", include_str!("../profiles/canonical.toml")),
    ("woocommerce", include_str!("../profiles/woocommerce.toml")),
    ("shopify", include_str!("../profiles/shopify.toml")),
    ("pricelist", include_str!("../profiles/pricelist.toml")),
];

/// Names of the built-in profiles.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _)| *n).collect()
}

/// A built-in profile by name.
pub fn builtin(name: &str) -> Option<Profile> {
    BUILTIN.iter().find(|(n, _)| *n == name).and_then(|(_, src)| toml::from_str(src).ok())
}

/// The TOML text of a built-in profile (a starting point for a custom one).
pub fn builtin_source(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Why a profile file is refused.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Not valid TOML/JSON for a profile.
    #[error("{0}")]
    Syntax(String),
    /// Valid syntax, wrong content.
    #[error("{0}")]
    Invalid(String),
}

impl Profile {
    /// Parses a TOML profile.
    pub fn from_toml(src: &str) -> Result<Profile, ProfileError> {
        let p: Profile = toml::from_str(src).map_err(|e| ProfileError::Syntax(e.to_string()))?;
        p.check()?;
        Ok(p)
    }

    /// Parses a JSON profile.
    pub fn from_json(src: &str) -> Result<Profile, ProfileError> {
        let p: Profile = serde_json::from_str(src).map_err(|e| ProfileError::Syntax(e.to_string()))?;
        p.check()?;
        Ok(p)
    }

    /// The profile as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks rules that serde cannot: every column has a header or a prefix and a field,
    /// prices name a price type, and so on.
    pub fn check(&self) -> Result<(), ProfileError> {
        for (i, c) in self.columns.iter().enumerate() {
            let at = || format!("column {} ({})", i + 1, c.header.as_deref().or(c.prefix.as_deref()).unwrap_or("?"));
            if c.header.is_none() && c.prefix.is_none() {
                return Err(ProfileError::Invalid(format!("{}: give `header` or `prefix`", at())));
            }
            let Some(field) = c.field else {
                return Err(ProfileError::Invalid(format!("{}: give `field`", at())));
            };
            let named = c.prefix.is_some();
            let missing = match field {
                Field::Price => !named && c.price_type.is_none(),
                Field::Stock => !named && c.warehouse.is_none(),
                Field::Attribute => !named && c.attribute.is_none(),
                Field::Option => !named && c.option.is_none(),
                Field::AttributeName | Field::AttributeValue | Field::OptionName | Field::OptionValue => {
                    c.pair.is_none()
                }
                _ => false,
            };
            if missing {
                return Err(ProfileError::Invalid(format!(
                    "{}: field `{}` needs {}",
                    at(),
                    field_name(field),
                    match field {
                        Field::Price => "`price_type`",
                        Field::Stock => "`warehouse`",
                        Field::Attribute => "`attribute`",
                        Field::Option => "`option`",
                        _ => "`pair`",
                    }
                )));
            }
        }
        Ok(())
    }
}

/// The snake_case name of a field, as written in profiles.
pub fn field_name(f: Field) -> String {
    serde_json::to_value(f).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// Header comparison key: lower case, single spaces, no outer spaces.
pub fn header_key(h: &str) -> String {
    h.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// A column of the file bound to a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    /// Position in the row.
    pub index: usize,
    /// The header as written in the file.
    pub header: String,
    /// The rule.
    pub rule: Column,
    /// What the prefix left (`retail` for `price:retail`).
    pub name: Option<String>,
}

/// A profile bound to one file's header row.
#[derive(Clone, Debug)]
pub struct Binding {
    /// Columns that map to a field.
    pub columns: Vec<Bound>,
    /// Headers no rule matches.
    pub unknown: Vec<(usize, String)>,
}

impl Profile {
    /// Matches the rules to a header row. Exact headers win over prefixes.
    pub fn bind(&self, headers: &[String]) -> Binding {
        let mut columns = Vec::new();
        let mut unknown = Vec::new();
        for (index, h) in headers.iter().enumerate() {
            let key = header_key(h);
            if key.is_empty() {
                continue;
            }
            let exact = self.columns.iter().find(|c| {
                c.header.as_deref().is_some_and(|x| header_key(x) == key)
                    || c.aliases.iter().any(|a| header_key(a) == key)
            });
            if let Some(rule) = exact {
                columns.push(Bound { index, header: h.clone(), rule: rule.clone(), name: None });
                continue;
            }
            let by_prefix = self.columns.iter().find_map(|c| {
                let p = c.prefix.as_deref()?;
                let rest = h.trim().get(p.len()..)?;
                (h.trim().get(..p.len())?.eq_ignore_ascii_case(p) && !rest.is_empty()).then(|| (c, rest.to_string()))
            });
            match by_prefix {
                Some((rule, rest)) => {
                    columns.push(Bound { index, header: h.clone(), rule: rule.clone(), name: Some(rest) })
                }
                None => unknown.push((index, h.clone())),
            }
        }
        Binding { columns, unknown }
    }
}

/// A profile proposed for a header row, with how well it fits.
#[derive(Clone, Debug, Serialize)]
pub struct Detected {
    /// The profile (a built-in one, or one made from header names).
    pub profile: Profile,
    /// Share of the file's columns it maps, 0.0..=1.0.
    pub coverage: f64,
    /// True when a built-in profile was recognised.
    pub builtin: bool,
}

/// Headers that identify each built-in profile.
const SIGNATURES: [(&str, &[&str]); 3] = [
    ("woocommerce", &["type", "sku", "regular price", "parent", "categories"]),
    ("shopify", &["handle", "title", "variant sku", "variant price", "option1 name"]),
    ("canonical", &["product", "sku", "title"]),
];

/// Words that name each field in files people make by hand (ru, en).
const SYNONYMS: [(Field, &[&str]); 10] = [
    (Field::Sku, &["sku", "артикул", "код", "код товара", "арт.", "артикул товара", "vendor code"]),
    (Field::Title, &["name", "title", "наименование", "название", "наименование товара", "товар", "номенклатура"]),
    (Field::Price, &["price", "цена", "опт. цена", "розничная цена", "цена, руб.", "цена руб", "стоимость"]),
    (Field::Stock, &["stock", "qty", "quantity", "остаток", "количество", "кол-во", "наличие", "остатки"]),
    (Field::Category, &["category", "категория", "группа", "раздел"]),
    (Field::Description, &["description", "описание"]),
    (Field::Barcode, &["barcode", "ean", "штрихкод", "штрих-код", "ean13"]),
    (Field::Images, &["image", "images", "photo", "фото", "изображение", "картинка"]),
    (Field::Weight, &["weight", "вес", "вес, кг"]),
    (Field::Currency, &["currency", "валюта"]),
];

/// Proposes a profile for a header row: a built-in one when its signature headers are
/// there, otherwise one made from column names in Russian or English.
pub fn detect(headers: &[String]) -> Detected {
    let keys: Vec<String> = headers.iter().map(|h| header_key(h)).collect();
    let filled = keys.iter().filter(|k| !k.is_empty()).count().max(1);
    // The canonical format is recognised by its prefixed columns too.
    let canonical_like = keys.iter().any(|k| k.starts_with("price:") || k.starts_with("stock:"));
    for (name, sig) in SIGNATURES {
        let hits = sig.iter().filter(|s| keys.iter().any(|k| k == *s)).count();
        if hits == sig.len() || (name == "canonical" && canonical_like && keys.iter().any(|k| k == "sku")) {
            if let Some(profile) = builtin(name) {
                let bound = profile.bind(headers).columns.len();
                return Detected { profile, coverage: bound as f64 / filled as f64, builtin: true };
            }
        }
    }
    let mut profile = Profile {
        name: "custom".into(),
        description: "Proposed from the header row; check it, then save it and pass it with --profile.".into(),
        sku: SkuSource::Column,
        category_rows: true,
        trim: true,
        category_separator: default_category_separator(),
        ..Profile::default()
    };
    let mut used = Vec::new();
    for h in headers {
        let key = header_key(h);
        let field =
            SYNONYMS.iter().find(|(f, words)| !used.contains(f) && words.contains(&key.as_str())).map(|(f, _)| *f);
        let Some(field) = field else { continue };
        used.push(field);
        let mut c = Column { header: Some(h.trim().to_string()), field: Some(field), ..Column::default() };
        match field {
            Field::Price => c.price_type = Some("$default".into()),
            Field::Stock => c.warehouse = Some("$default".into()),
            Field::Weight => c.scale = Some(if key.contains("кг") || key.contains("kg") { 1000.0 } else { 1.0 }),
            Field::Images => c.split = Some(",".into()),
            _ => {}
        }
        profile.columns.push(c);
    }
    if !used.contains(&Field::Sku) && used.contains(&Field::Title) {
        profile.sku = SkuSource::Title;
    }
    let coverage = profile.columns.len() as f64 / filled as f64;
    Detected { profile, coverage, builtin: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn builtin_profiles_parse_and_pass_their_own_checks() {
        for name in builtin_names() {
            let src = builtin_source(name).unwrap();
            let p = Profile::from_toml(src).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(p.name, name);
            assert!(!p.columns.is_empty());
        }
    }

    #[test]
    fn a_price_column_without_a_price_type_is_refused() {
        let err = Profile::from_toml("name = \"x\"\n[[column]]\nheader = \"Цена\"\nfield = \"price\"\n").unwrap_err();
        assert!(err.to_string().contains("price_type"), "{err}");
        let err = Profile::from_toml("name = \"x\"\n[[column]]\nheader = \"Цена\"\nfield = \"prise\"\n").unwrap_err();
        assert!(matches!(err, ProfileError::Syntax(_)), "{err}");
    }

    #[test]
    fn binding_prefers_exact_headers_and_reads_prefixes() {
        let p = builtin("canonical").unwrap();
        let b = p.bind(&strings(&["SKU", "price:retail", "Stock:msk", "attr:power_w:number", "what"]));
        assert_eq!(b.columns.len(), 4);
        assert_eq!(b.columns[1].name.as_deref(), Some("retail"));
        assert_eq!(b.columns[2].name.as_deref(), Some("msk"));
        assert_eq!(b.columns[3].name.as_deref(), Some("power_w:number"));
        assert_eq!(b.unknown, vec![(4, "what".to_string())]);
    }

    #[test]
    fn detection_recognises_exports_and_proposes_for_price_lists() {
        let woo = detect(&strings(&["ID", "Type", "SKU", "Name", "Regular price", "Categories", "Parent"]));
        assert_eq!(woo.profile.name, "woocommerce");
        let shop = detect(&strings(&["Handle", "Title", "Option1 Name", "Variant SKU", "Variant Price"]));
        assert_eq!(shop.profile.name, "shopify");
        let list = detect(&strings(&["№ по каталогу", "Наименование товара", "Опт. цена", "Ед", "Остаток", "Фото"]));
        assert!(!list.builtin);
        let fields: Vec<_> = list.profile.columns.iter().map(|c| c.field.unwrap()).collect();
        assert_eq!(fields, vec![Field::Title, Field::Price, Field::Stock, Field::Images]);
        assert_eq!(list.profile.sku, SkuSource::Title);
        assert!(Profile::from_toml(&list.profile.to_toml()).is_ok(), "{}", list.profile.to_toml());
    }
}
