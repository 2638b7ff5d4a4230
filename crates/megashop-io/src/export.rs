//! Export in the canonical format, CSV or XLSX, a page of products at a time (the whole
//! catalogue is never in memory). What this writes, [`crate::import`] reads back as it was.

use crate::cells::escape_formula;
use crate::ImportError;
use futures_util::TryStreamExt;
use megashop_core::entity::{category, external_ref, price, price_type, product, product_attribute};
use megashop_core::entity::{stock, variant, warehouse};
use megashop_core::tenancy::TenantCx;
use sea_orm::{ColumnTrait, DbErr, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;

/// Output formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// UTF-8 CSV with a BOM (Excel opens it right), comma-separated.
    #[default]
    Csv,
    /// Excel workbook.
    Xlsx,
}

impl ExportFormat {
    /// From a file name's extension.
    pub fn from_path(p: &Path) -> Option<ExportFormat> {
        match p.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(ExportFormat::Csv),
            "xlsx" => Some(ExportFormat::Xlsx),
            _ => None,
        }
    }
}

/// What to export.
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// Format.
    pub format: ExportFormat,
    /// Only this category (by slug) and its sub-categories.
    pub category: Option<String>,
    /// Only this region's price type and warehouses.
    pub region: Option<String>,
    /// Only products with this status.
    pub status: Option<String>,
    /// Products per page read.
    pub page: u64,
}

/// What was exported.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ExportSummary {
    /// Products written.
    pub products: u64,
    /// Rows written (one per variant; one for a product without variants).
    pub rows: u64,
    /// The header row.
    pub columns: Vec<String>,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
}

/// Most rows an XLSX sheet holds (header included).
pub const XLSX_MAX_ROWS: u64 = 1_048_576;

fn db(e: DbErr) -> ImportError {
    ImportError::Db(e)
}

/// Formats minor units as a decimal with two places: `129950` → `1299.50`.
pub fn format_minor(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

enum Sink {
    Csv(Box<csv::Writer<std::io::BufWriter<std::fs::File>>>),
    Xlsx { book: Box<rust_xlsxwriter::Workbook>, row: u32, path: std::path::PathBuf },
}

/// A cell of the output.
enum Cell {
    Text(String),
    Number(f64, String),
}

impl Sink {
    fn write(&mut self, cells: &[Cell]) -> Result<(), ImportError> {
        match self {
            Sink::Csv(w) => {
                let rec = cells.iter().map(|c| match c {
                    Cell::Text(t) => escape_formula(t).into_owned(),
                    Cell::Number(_, s) => s.clone(),
                });
                w.write_record(rec).map_err(|e| ImportError::Internal(e.to_string()))
            }
            Sink::Xlsx { book, row, .. } => {
                if u64::from(*row) + 1 >= XLSX_MAX_ROWS {
                    return Err(ImportError::Internal(format!(
                        "more than {XLSX_MAX_ROWS} rows do not fit in an XLSX sheet: export as CSV"
                    )));
                }
                let sheet = book.worksheet_from_index(0).map_err(|e| ImportError::Internal(e.to_string()))?;
                for (col, c) in cells.iter().enumerate() {
                    let col = col as u16;
                    let r = match c {
                        Cell::Text(t) if t.is_empty() => Ok(&mut *sheet),
                        Cell::Text(t) => sheet.write_string(*row, col, escape_formula(t).as_ref()),
                        Cell::Number(n, _) => sheet.write_number(*row, col, *n),
                    };
                    r.map_err(|e| ImportError::Internal(e.to_string()))?;
                }
                *row += 1;
                Ok(())
            }
        }
    }

    fn finish(self) -> Result<(), ImportError> {
        match self {
            Sink::Csv(mut w) => w.flush().map_err(|e| ImportError::Internal(e.to_string())),
            Sink::Xlsx { mut book, path, .. } => book.save(&path).map_err(|e| ImportError::Internal(e.to_string())),
        }
    }
}

/// Exports the store's catalogue to `out`; `progress` gets the number of products written.
pub async fn run(
    cx: &TenantCx,
    out: &Path,
    opts: &ExportOptions,
    progress: impl Fn(u64),
) -> Result<ExportSummary, ImportError> {
    let started = std::time::Instant::now();
    // Columns: price types and warehouses (all, or the region's), attribute keys and kinds,
    // option names.
    let mut pts =
        cx.select::<price_type::Entity>().order_by_asc(price_type::Column::Code).all(&cx.db).await.map_err(db)?;
    let mut whs =
        cx.select::<warehouse::Entity>().order_by_asc(warehouse::Column::Code).all(&cx.db).await.map_err(db)?;
    if let Some(code) = &opts.region {
        let r = megashop_core::regions::resolve(cx, Some(code)).await?;
        pts.retain(|p| p.id == r.price_type.id);
        whs.retain(|w| r.warehouse_ids.contains(&w.id));
    }
    let attr_kinds: Vec<(String, String)> = cx
        .select::<product_attribute::Entity>()
        .select_only()
        .columns([product_attribute::Column::Key, product_attribute::Column::Kind])
        .distinct()
        .into_tuple()
        .all(&cx.db)
        .await
        .map_err(db)?;
    let mut attr_cols: BTreeSet<(String, String)> = attr_kinds.into_iter().collect();
    // Option names: one pass over the store's variants. (Pages by id would each be a scan
    // of the store on SQLite, where variants have no index on (tenant_id, id).)
    let option_names: BTreeSet<String> = {
        let mut names = BTreeSet::new();
        let mut rows = cx
            .select::<variant::Entity>()
            .select_only()
            .column(variant::Column::Options)
            .into_tuple::<serde_json::Value>()
            .stream(&cx.db)
            .await
            .map_err(db)?;
        while let Some(o) = rows.try_next().await.map_err(db)? {
            if let serde_json::Value::Object(m) = o {
                names.extend(m.keys().cloned());
            }
        }
        names
    };
    let has_external = cx
        .select::<external_ref::Entity>()
        .filter(external_ref::Column::Integration.eq(crate::writer::EXTERNAL_INTEGRATION))
        .filter(external_ref::Column::EntityKind.eq("variant"))
        .one(&cx.db)
        .await
        .map_err(db)?
        .is_some();
    let attr_header = |key: &str, kind: &str| match kind {
        "number" => format!("attr:{key}:number"),
        "bool" => format!("attr:{key}:bool"),
        _ => format!("attr:{key}"),
    };
    // A string attribute whose key ends in `:number` would read back as a number column.
    attr_cols.retain(|(k, _)| !k.is_empty());
    let mut columns: Vec<String> =
        ["product", "title", "description", "category", "status", "images", "seo_title", "seo_description"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    columns.extend(attr_cols.iter().map(|(k, kind)| attr_header(k, kind)));
    columns.extend(["sku", "barcode", "variant_title"].iter().map(|s| s.to_string()));
    columns.extend(option_names.iter().map(|n| format!("option:{n}")));
    columns.push("weight_grams".into());
    if has_external {
        columns.push("external_id".into());
    }
    columns.extend(pts.iter().map(|p| format!("price:{}", p.code)));
    columns.extend(whs.iter().map(|w| format!("stock:{}", w.code)));

    // Categories: paths by id, and the filter's subtree.
    let cats = cx.select::<category::Entity>().all(&cx.db).await.map_err(db)?;
    let by_id: HashMap<i64, &category::Model> = cats.iter().map(|c| (c.id, c)).collect();
    let path_of = |id: i64| -> String {
        let mut names = Vec::new();
        let mut at = Some(id);
        while let Some(i) = at {
            match by_id.get(&i) {
                Some(c) if names.len() < 64 => {
                    names.push(c.name.clone());
                    at = c.parent_id;
                }
                _ => break,
            }
        }
        names.reverse();
        names.join(" > ")
    };
    let subtree = match &opts.category {
        Some(slug) => {
            let root = cats.iter().find(|c| c.slug == *slug).ok_or_else(|| {
                ImportError::Core(megashop_core::Error::NotFound { entity: "category", key: slug.clone() })
            })?;
            Some(megashop_core::catalog::categories::subtree_ids(&cats, root.id))
        }
        None => None,
    };

    let mut sink = match opts.format {
        ExportFormat::Csv => {
            let file = std::fs::File::create(out)
                .map_err(|e| ImportError::File(crate::Error::Io { path: out.display().to_string(), source: e }))?;
            let mut buf = std::io::BufWriter::with_capacity(1 << 20, file);
            buf.write_all(b"\xEF\xBB\xBF")
                .map_err(|e| ImportError::File(crate::Error::Io { path: out.display().to_string(), source: e }))?;
            Sink::Csv(Box::new(csv::WriterBuilder::new().from_writer(buf)))
        }
        ExportFormat::Xlsx => {
            let mut book = rust_xlsxwriter::Workbook::new();
            book.add_worksheet_with_constant_memory()
                .set_name("catalog")
                .map_err(|e| ImportError::Internal(e.to_string()))?;
            Sink::Xlsx { book: Box::new(book), row: 0, path: out.to_path_buf() }
        }
    };
    sink.write(&columns.iter().map(|c| Cell::Text(c.clone())).collect::<Vec<_>>())?;

    let attr_index: HashMap<String, usize> =
        attr_cols.iter().enumerate().map(|(i, (k, kind))| (format!("{k}\u{1f}{kind}"), i)).collect();
    let option_index: HashMap<&str, usize> = option_names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let pt_index: HashMap<i64, usize> = pts.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
    let wh_index: HashMap<i64, usize> = whs.iter().enumerate().map(|(i, w)| (w.id, i)).collect();
    let page = if opts.page == 0 { 500 } else { opts.page };
    let mut summary = ExportSummary { columns: columns.clone(), ..ExportSummary::default() };
    let mut last = 0i64;
    loop {
        let mut q = cx.select::<product::Entity>().filter(product::Column::Id.gt(last));
        if let Some(ids) = &subtree {
            q = q.filter(product::Column::CategoryId.is_in(ids.clone()));
        }
        if let Some(s) = &opts.status {
            q = q.filter(product::Column::Status.eq(s.as_str()));
        }
        let products = q.order_by_asc(product::Column::Id).limit(page).all(&cx.db).await.map_err(db)?;
        let Some(p) = products.last() else { break };
        last = p.id;
        let pids: Vec<i64> = products.iter().map(|p| p.id).collect();
        let variants = cx
            .select::<variant::Entity>()
            .filter(variant::Column::ProductId.is_in(pids.clone()))
            .order_by_asc(variant::Column::ProductId)
            .order_by_asc(variant::Column::Position)
            .order_by_asc(variant::Column::Id)
            .all(&cx.db)
            .await
            .map_err(db)?;
        let vids: Vec<i64> = variants.iter().map(|v| v.id).collect();
        let attrs = cx
            .select::<product_attribute::Entity>()
            .filter(product_attribute::Column::ProductId.is_in(pids.clone()))
            .all(&cx.db)
            .await
            .map_err(db)?;
        let mut prices: HashMap<i64, Vec<(usize, i64)>> = HashMap::new();
        let mut stocks: HashMap<i64, Vec<(usize, i64)>> = HashMap::new();
        let mut externals: HashMap<i64, String> = HashMap::new();
        for chunk in vids.chunks(5000) {
            let rows: Vec<(i64, i64, i64)> = cx
                .select::<price::Entity>()
                .select_only()
                .columns([price::Column::VariantId, price::Column::PriceTypeId, price::Column::Amount])
                .filter(price::Column::VariantId.is_in(chunk.to_vec()))
                .into_tuple()
                .all(&cx.db)
                .await
                .map_err(db)?;
            for (v, pt, a) in rows {
                if let Some(i) = pt_index.get(&pt) {
                    prices.entry(v).or_default().push((*i, a));
                }
            }
            let rows: Vec<(i64, i64, i64)> = cx
                .select::<stock::Entity>()
                .select_only()
                .columns([stock::Column::VariantId, stock::Column::WarehouseId, stock::Column::Quantity])
                .filter(stock::Column::VariantId.is_in(chunk.to_vec()))
                .into_tuple()
                .all(&cx.db)
                .await
                .map_err(db)?;
            for (v, wh, q) in rows {
                if let Some(i) = wh_index.get(&wh) {
                    stocks.entry(v).or_default().push((*i, q));
                }
            }
            if has_external {
                let rows: Vec<(i64, String)> = cx
                    .select::<external_ref::Entity>()
                    .select_only()
                    .columns([external_ref::Column::InternalId, external_ref::Column::ExternalId])
                    .filter(external_ref::Column::Integration.eq(crate::writer::EXTERNAL_INTEGRATION))
                    .filter(external_ref::Column::EntityKind.eq("variant"))
                    .filter(external_ref::Column::InternalId.is_in(chunk.to_vec()))
                    .into_tuple()
                    .all(&cx.db)
                    .await
                    .map_err(db)?;
                externals.extend(rows);
            }
        }
        let mut attrs_by: HashMap<i64, Vec<&product_attribute::Model>> = HashMap::new();
        for a in &attrs {
            attrs_by.entry(a.product_id).or_default().push(a);
        }
        let mut vars_by: BTreeMap<i64, Vec<&variant::Model>> = BTreeMap::new();
        for v in &variants {
            vars_by.entry(v.product_id).or_default().push(v);
        }
        for p in &products {
            let images: Vec<String> = serde_json::from_value(p.images.clone()).unwrap_or_default();
            let mut head = vec![
                Cell::Text(p.slug.clone()),
                Cell::Text(p.title.clone()),
                Cell::Text(p.description.clone().unwrap_or_default()),
                Cell::Text(p.category_id.map(path_of).unwrap_or_default()),
                Cell::Text(p.status.clone()),
                Cell::Text(images.join("|")),
                Cell::Text(p.seo_title.clone().unwrap_or_default()),
                Cell::Text(p.seo_description.clone().unwrap_or_default()),
            ];
            let mut attr_cells: Vec<String> = vec![String::new(); attr_cols.len()];
            for a in attrs_by.get(&p.id).into_iter().flatten() {
                if let Some(i) = attr_index.get(&format!("{}\u{1f}{}", a.key, a.kind)) {
                    attr_cells[*i] = a.value.clone();
                }
            }
            head.extend(attr_cells.into_iter().map(Cell::Text));
            let vs = vars_by.get(&p.id).cloned().unwrap_or_default();
            let blank: [Option<&variant::Model>; 1] = [None];
            let rows: Vec<Option<&variant::Model>> =
                if vs.is_empty() { blank.to_vec() } else { vs.into_iter().map(Some).collect() };
            for v in rows {
                let mut cells: Vec<Cell> = head
                    .iter()
                    .map(|c| match c {
                        Cell::Text(t) => Cell::Text(t.clone()),
                        Cell::Number(n, s) => Cell::Number(*n, s.clone()),
                    })
                    .collect();
                let mut options = vec![String::new(); option_names.len()];
                if let Some(v) = v {
                    cells.push(Cell::Text(v.sku.clone()));
                    cells.push(Cell::Text(v.barcode.clone().unwrap_or_default()));
                    cells.push(Cell::Text(v.title.clone().unwrap_or_default()));
                    if let serde_json::Value::Object(m) = &v.options {
                        for (k, x) in m {
                            if let Some(i) = option_index.get(k.as_str()) {
                                options[*i] = match x {
                                    serde_json::Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                };
                            }
                        }
                    }
                } else {
                    cells.extend([Cell::Text(String::new()), Cell::Text(String::new()), Cell::Text(String::new())]);
                }
                cells.extend(options.into_iter().map(Cell::Text));
                cells.push(match v.and_then(|v| v.weight_grams) {
                    Some(w) => Cell::Number(w as f64, w.to_string()),
                    None => Cell::Text(String::new()),
                });
                if has_external {
                    cells.push(Cell::Text(v.and_then(|v| externals.get(&v.id).cloned()).unwrap_or_default()));
                }
                let mut pcells: Vec<Cell> = (0..pts.len()).map(|_| Cell::Text(String::new())).collect();
                let mut scells: Vec<Cell> = (0..whs.len()).map(|_| Cell::Text(String::new())).collect();
                if let Some(v) = v {
                    for (i, a) in prices.get(&v.id).into_iter().flatten() {
                        pcells[*i] = Cell::Number(*a as f64 / 100.0, format_minor(*a));
                    }
                    for (i, q) in stocks.get(&v.id).into_iter().flatten() {
                        scells[*i] = Cell::Number(*q as f64, q.to_string());
                    }
                }
                cells.extend(pcells);
                cells.extend(scells);
                sink.write(&cells)?;
                summary.rows += 1;
            }
            summary.products += 1;
        }
        progress(summary.products);
    }
    sink.finish()?;
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}
