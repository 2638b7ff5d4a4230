//! Running an import: read and check on one thread, write in batches on the other, all in
//! one transaction (or one per `commit_every` rows, resumable), report every problem.

use crate::mapping::{Grouper, Mapper, Present, ProductRec};
use crate::problem::{Problem, Severity};
use crate::profile::{self, Grouping, Profile};
use crate::source::{self, Format, RowSource, SourceOptions};
use crate::writer::{self, Counts, WriteOptions, Writer};
use crate::ImportError;
use megashop_core::entity::import_job;
use megashop_core::tenancy::TenantCx;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, Set, TransactionTrait};
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

/// Everything an import can be told.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Mapping profile; detected from the header when `None`.
    pub profile: Option<Profile>,
    /// How to open the file.
    pub source: SourceOptions,
    /// Create-or-update, key, categories.
    pub write: WriteOptions,
    /// Archive products the file does not list.
    pub hide_missing: bool,
    /// Check everything, write nothing.
    pub dry_run: bool,
    /// Commit after about this many rows (at a product boundary); `None` is all or nothing.
    pub commit_every: Option<u64>,
    /// Continue after the last committed row of an earlier run of the same file.
    pub resume: bool,
    /// Products per write batch.
    pub batch: usize,
    /// Problems kept in the report (all are counted).
    pub max_problems: usize,
    /// Name to record (the uploaded file's name; the path's file name when `None`).
    pub file_name: Option<String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            profile: None,
            source: SourceOptions::default(),
            write: WriteOptions::default(),
            hide_missing: false,
            dry_run: false,
            commit_every: None,
            resume: false,
            batch: 500,
            max_problems: 10_000,
            file_name: None,
        }
    }
}

/// Progress, reported after every batch.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Progress {
    /// Rows read so far.
    pub rows: u64,
    /// Share of the file read, 0.0..=1.0.
    pub fraction: f64,
    /// What was written so far.
    pub counts: Counts,
    /// Errors found so far.
    pub errors: u64,
}

/// The outcome of an import.
#[derive(Clone, Debug, Serialize)]
pub struct ImportReport {
    /// File name.
    pub file: String,
    /// Format read.
    pub format: Format,
    /// Profile used.
    pub profile: String,
    /// Data rows read (blank rows included).
    pub rows: u64,
    /// What changed.
    pub counts: Counts,
    /// Problems (up to `max_problems`).
    pub problems: Vec<Problem>,
    /// Errors found (all of them, kept or not).
    pub errors: u64,
    /// Warnings found.
    pub warnings: u64,
    /// True when the changes were committed.
    pub applied: bool,
    /// True for a dry run.
    pub dry_run: bool,
    /// With `commit_every`: the last row whose changes are committed.
    pub committed_through: Option<u64>,
    /// With `resume`: the row the run continued after.
    pub resumed_after: Option<u64>,
    /// The job row recording this run.
    pub job: Option<i64>,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
}

impl ImportReport {
    /// Rows per second.
    pub fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / (self.elapsed_ms.max(1) as f64 / 1000.0)
    }
}

/// What the reading thread sends.
enum Msg {
    Ready { format: Format, profile: String, grouping: Grouping, present: Present, header_problems: Vec<Problem> },
    Batch { products: Vec<ProductRec>, problems: Vec<Problem>, rows: u64, last_row: u64, fraction: f64 },
    Done { problems: Vec<Problem>, rows: u64 },
    Failed(ImportError),
}

/// xxh3-128 of a file's bytes, hex.
pub fn file_hash(path: &Path) -> Result<String, crate::Error> {
    let io = |source| crate::Error::Io { path: path.display().to_string(), source };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:032x}", h.digest128()))
}

/// Reads `path` on a thread of its own: maps, groups and de-duplicates rows and sends
/// batches of products.
fn reader(
    path: PathBuf,
    opts: ImportOptions,
    targets: crate::mapping::Targets,
    skip_through: u64,
    tx: tokio::sync::mpsc::Sender<Msg>,
    cancel: Arc<AtomicBool>,
) {
    let fail = |tx: &tokio::sync::mpsc::Sender<Msg>, e: ImportError| {
        let _ = tx.blocking_send(Msg::Failed(e));
    };
    // Parsing the file runs ahead on a thread of its own; this one maps and checks.
    let mut src = match source::open(&path, &opts.source).and_then(source::prefetch) {
        Ok(s) => s,
        Err(e) => return fail(&tx, e.into()),
    };
    let headers = src.headers().to_vec();
    let profile = match opts.profile.clone() {
        Some(p) => p,
        None => profile::detect(&headers).profile,
    };
    let binding = profile.bind(&headers);
    let mut mapper = Mapper::new(profile, &headers, binding, targets);
    // Header problems name the header's own row (row 6 of a price list with title lines).
    for p in &mut mapper.header_problems {
        p.row = src.header_row();
    }
    let mut grouper = Grouper::new(&mapper);
    let by_parent = mapper.profile().grouping == Grouping::Parent;
    if tx
        .blocking_send(Msg::Ready {
            format: src.format(),
            profile: mapper.profile().name.clone(),
            grouping: mapper.profile().grouping,
            present: mapper.present.clone(),
            header_problems: mapper.header_problems.clone(),
        })
        .is_err()
    {
        return;
    }
    // First row and content of each SKU: an identical repeat is skipped with a warning,
    // a different one is an error.
    // Keyed by a 64-bit hash of the SKU (or slug), valued by the first row (high half) and a
    // 32-bit fingerprint of its content: 16 bytes an entry, since a file of millions of
    // rows keeps one per variant (a false match among a million SKUs is ~1 in 10⁷ files).
    let mut seen_skus: rustc_hash::FxHashMap<u64, u64> = rustc_hash::FxHashMap::default();
    let mut seen_slugs: rustc_hash::FxHashMap<u64, u64> = rustc_hash::FxHashMap::default();
    let mut dedupe = |mut p: ProductRec, problems: &mut Vec<Problem>| -> Option<ProductRec> {
        if let Some(slug) = &p.slug {
            let h = xxh3_64(slug.as_bytes());
            if let Some(first) = seen_slugs.get(&h) {
                // Reported by the grouper when rows are apart; here for batches that meet again.
                if !problems.iter().any(|x| x.code == "duplicate_product" && x.row == p.row) {
                    problems.push(Problem::cell(p.row, "product", slug, "duplicate_product").arg("first_row", *first));
                }
                return None;
            }
            seen_slugs.insert(h, p.row);
        }
        p.variants.retain(|v| {
            if v.sku.is_empty() {
                return true;
            }
            let h = xxh3_64(v.sku.as_bytes());
            let content = crate::mapping::variant_fingerprint(v) as u32;
            match seen_skus.get(&h) {
                Some(seen) => {
                    let (first, same) = (seen >> 32, *seen as u32);
                    let p = Problem::cell(v.row, "sku", &v.sku, "duplicate_sku").arg("first_row", first);
                    problems.push(if same == content { p.warning() } else { p });
                    false
                }
                None => {
                    seen_skus.insert(h, (v.row.min(u64::from(u32::MAX)) << 32) | u64::from(content));
                    true
                }
            }
        });
        // A product's variants without a SKU (only in the canonical format: a product
        // with no variants is a row with an empty SKU) carry nothing to write.
        p.variants.retain(|v| !v.sku.is_empty());
        Some(p)
    };
    let mut batch = Vec::with_capacity(opts.batch);
    let mut problems = Vec::new();
    let mut rows = 0u64;
    let mut last_row = 0u64;
    let mut cells = Vec::new();
    loop {
        if cancel.load(Ordering::Relaxed) {
            return fail(&tx, ImportError::Cancelled);
        }
        let n = match src.next_row(&mut cells) {
            Ok(Some(n)) => n,
            Ok(None) => break,
            Err(e) => {
                problems.push(Problem::row(last_row + 1, "read_failed").arg("reason", e.to_string()));
                break;
            }
        };
        rows += 1;
        if n <= skip_through {
            continue;
        }
        let Some(row) = mapper.map(n, &cells, &mut problems) else { continue };
        if let Some(done) = grouper.push(row, &mut problems) {
            if let Some(p) = dedupe(done, &mut problems) {
                batch.push(p);
            }
        }
        last_row = n;
        if batch.len() >= opts.batch && !by_parent {
            // The product just closed ended the row before this one.
            let through = batch.last().map(|p: &ProductRec| p.variants.last().map(|v| v.row).unwrap_or(p.row));
            let msg = Msg::Batch {
                products: std::mem::replace(&mut batch, Vec::with_capacity(opts.batch)),
                problems: std::mem::take(&mut problems),
                rows,
                last_row: through.unwrap_or(last_row),
                fraction: src.progress(),
            };
            if tx.blocking_send(msg).is_err() {
                return;
            }
        }
    }
    for p in grouper.finish(&mut problems) {
        if let Some(p) = dedupe(p, &mut problems) {
            batch.push(p);
        }
    }
    let mut rest = batch.into_iter().peekable();
    while rest.peek().is_some() {
        let products: Vec<ProductRec> = rest.by_ref().take(opts.batch.max(1)).collect();
        let msg =
            Msg::Batch { products, problems: std::mem::take(&mut problems), rows, last_row, fraction: src.progress() };
        if tx.blocking_send(msg).is_err() {
            return;
        }
    }
    let _ = tx.blocking_send(Msg::Done { problems, rows });
}

/// Pages SQLite may keep in memory during an import (in KiB, negative as SQLite wants):
/// a large transaction otherwise spills pages to disk while it runs.
const SQLITE_IMPORT_CACHE_KIB: i64 = 65_536;

/// Begins a transaction; on SQLite with a page cache sized for bulk writes.
async fn begin(cx: &TenantCx) -> Result<sea_orm::DatabaseTransaction, ImportError> {
    let txn = cx.db.begin().await.map_err(ImportError::Db)?;
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        txn.execute_unprepared(&format!("PRAGMA cache_size = -{SQLITE_IMPORT_CACHE_KIB}"))
            .await
            .map_err(ImportError::Db)?;
    }
    Ok(txn)
}

/// Imports `path` into the store. `progress` is called after every batch; setting
/// `cancel` stops the import at the next row and rolls back what is not committed.
pub async fn run(
    cx: &TenantCx,
    path: &Path,
    opts: ImportOptions,
    progress: impl Fn(&Progress) + Send,
    cancel: Arc<AtomicBool>,
) -> Result<ImportReport, ImportError> {
    let started = std::time::Instant::now();
    let file = opts
        .file_name
        .clone()
        .unwrap_or_else(|| path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default());
    let hash = {
        let p = path.to_path_buf();
        tokio::task::spawn_blocking(move || file_hash(&p)).await.map_err(|e| ImportError::Internal(e.to_string()))??
    };
    let mut resumed_after = None;
    if opts.resume {
        let last = cx
            .select::<import_job::Entity>()
            .filter(import_job::Column::FileHash.eq(hash.clone()))
            .filter(import_job::Column::Kind.eq("import"))
            .order_by_desc(import_job::Column::Id)
            .one(&cx.db)
            .await
            .map_err(ImportError::Db)?;
        // The same file, or (after fixing the rows that stopped it) the file of the same name.
        let last = match last {
            Some(j) => Some(j),
            None => cx
                .select::<import_job::Entity>()
                .filter(import_job::Column::FileName.eq(file.clone()))
                .filter(import_job::Column::Kind.eq("import"))
                .order_by_desc(import_job::Column::Id)
                .one(&cx.db)
                .await
                .map_err(ImportError::Db)?,
        };
        if let Some(j) = last {
            if j.status != "done" && j.rows_committed > 0 {
                resumed_after = Some(j.rows_committed as u64);
            }
        }
    }
    let targets = writer::targets(cx).await.map_err(ImportError::Db)?;
    let mut writer = Writer::new(cx, opts.write.clone(), &targets).await.map_err(ImportError::Db)?;
    let job = if opts.dry_run {
        None
    } else {
        let row = import_job::ActiveModel {
            tenant_id: Set(cx.id()),
            kind: Set("import".into()),
            status: Set("running".into()),
            file_name: Set(file.chars().take(500).collect()),
            file_hash: Set(hash.clone()),
            options: Set(serde_json::to_string(&opts.write).unwrap_or_default()),
            started_at: Set(chrono::Utc::now()),
            ..Default::default()
        }
        .insert(&cx.db)
        .await
        .map_err(ImportError::Db)?;
        Some(row.id)
    };

    let (tx, mut rx) = tokio::sync::mpsc::channel::<Msg>(4);
    let thread = {
        let (path, opts, cancel) = (path.to_path_buf(), opts.clone(), cancel.clone());
        std::thread::Builder::new()
            .name("import-reader".into())
            .spawn(move || reader(path, opts, targets, resumed_after.unwrap_or(0), tx, cancel))
            .map_err(|e| ImportError::Internal(e.to_string()))?
    };

    let mut report = ImportReport {
        file,
        format: Format::Csv,
        profile: String::new(),
        rows: 0,
        counts: Counts::default(),
        problems: Vec::new(),
        errors: 0,
        warnings: 0,
        applied: false,
        dry_run: opts.dry_run,
        committed_through: None,
        resumed_after,
        job,
        elapsed_ms: 0,
    };
    let keep = |report: &mut ImportReport, list: Vec<Problem>| {
        for p in list {
            match p.severity {
                Severity::Error => report.errors += 1,
                Severity::Warning => report.warnings += 1,
            }
            if report.problems.len() < opts.max_problems {
                report.problems.push(p);
            }
        }
    };
    let mut present = Present::default();
    let mut txn = Some(begin(cx).await?);
    let mut stopped: Option<ImportError> = None;
    let mut stopped_early = false;
    let mut commit_every = opts.commit_every;
    let mut committed_counts = Counts::default();
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Ready { format, profile, grouping, present: p, header_problems } => {
                if grouping == Grouping::Parent {
                    // Products are complete only at the end of such a file: no partial commits.
                    commit_every = None;
                }
                report.format = format;
                report.profile = profile;
                present = p;
                keep(&mut report, header_problems);
            }
            Msg::Batch { products, problems, rows, last_row, fraction } => {
                let errors_before = report.errors;
                keep(&mut report, problems);
                let Some(t) = txn.as_ref() else { break };
                let mut db_problems = Vec::new();
                if let Err(e) = writer.write(t, products, &present, &mut db_problems).await {
                    stopped = Some(e);
                    break;
                }
                keep(&mut report, db_problems);
                report.rows = rows;
                // (PostgreSQL's statistics are refreshed by the writer as the tables grow.)
                progress(&Progress { rows, fraction, counts: writer.counts.clone(), errors: report.errors });
                if let Some(every) = commit_every.filter(|_| !opts.dry_run) {
                    if report.errors > errors_before {
                        // A bad batch ends a batched import: what came before stays committed.
                        stopped_early = true;
                        break;
                    }
                    if rows - report.committed_through.unwrap_or(resumed_after.unwrap_or(0)).min(rows) >= every {
                        let t = txn.take().ok_or_else(|| ImportError::Internal("no transaction".into()))?;
                        if let Some(id) = job {
                            cx.update_many::<import_job::Entity>()
                                .col_expr(import_job::Column::RowsCommitted, Expr::value(last_row as i64))
                                .col_expr(import_job::Column::RowsDone, Expr::value(rows as i64))
                                .filter(import_job::Column::Id.eq(id))
                                .exec(&t)
                                .await
                                .map_err(ImportError::Db)?;
                        }
                        t.commit().await.map_err(ImportError::Db)?;
                        report.committed_through = Some(last_row);
                        committed_counts = writer.counts.clone();
                        txn = Some(begin(cx).await?);
                    }
                }
            }
            Msg::Done { problems, rows } => {
                keep(&mut report, problems);
                report.rows = rows;
                if rows == 0 && resumed_after.is_none() {
                    keep(&mut report, vec![Problem::row(0, "no_rows")]);
                }
            }
            Msg::Failed(e) => {
                stopped = Some(e);
                break;
            }
        }
    }
    drop(rx);
    let _ = thread.join();
    if stopped.is_none() && !stopped_early && report.errors == 0 && opts.hide_missing && resumed_after.is_none() {
        if let Some(t) = txn.as_ref() {
            if let Err(e) = writer.hide_missing(t).await {
                stopped = Some(e);
            }
        }
    }
    report.counts = writer.counts.clone();
    if report.problems.len() < (report.errors + report.warnings) as usize {
        report.problems.push(Problem::row(0, "too_many_problems").warning());
    }
    let commit = stopped.is_none() && !stopped_early && report.errors == 0 && !opts.dry_run;
    if let Some(t) = txn.take() {
        if commit {
            if let Some(id) = job {
                cx.update_many::<import_job::Entity>()
                    .col_expr(import_job::Column::RowsCommitted, Expr::value(report.rows as i64))
                    .filter(import_job::Column::Id.eq(id))
                    .exec(&t)
                    .await
                    .map_err(ImportError::Db)?;
            }
            t.commit().await.map_err(ImportError::Db)?;
            report.applied = true;
            if commit_every.is_some() {
                report.committed_through = Some(report.rows);
            }
        } else {
            t.rollback().await.map_err(ImportError::Db)?;
            if !opts.dry_run {
                // What stays is what was committed (nothing, unless in batches); a dry run
                // reports what the import would do.
                report.counts = committed_counts.clone();
            }
        }
    }
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    if let Some(id) = job {
        let status = match (&stopped, commit) {
            (Some(ImportError::Cancelled), _) => "cancelled",
            (Some(_), _) => "failed",
            (None, true) => "done",
            (None, false) => "rejected",
        };
        let summary = serde_json::to_string(&report).unwrap_or_default();
        cx.update_many::<import_job::Entity>()
            .col_expr(import_job::Column::Status, Expr::value(status))
            .col_expr(import_job::Column::RowsTotal, Expr::value(report.rows as i64))
            .col_expr(import_job::Column::RowsDone, Expr::value(report.rows as i64))
            .col_expr(import_job::Column::Created, Expr::value(report.counts.created as i64))
            .col_expr(import_job::Column::Updated, Expr::value(report.counts.updated as i64))
            .col_expr(import_job::Column::Unchanged, Expr::value(report.counts.unchanged as i64))
            .col_expr(import_job::Column::Errors, Expr::value(report.errors as i64))
            .col_expr(import_job::Column::Warnings, Expr::value(report.warnings as i64))
            .col_expr(import_job::Column::Report, Expr::value(summary))
            .col_expr(import_job::Column::Error, Expr::value(stopped.as_ref().map(|e| e.to_string())))
            .col_expr(import_job::Column::FinishedAt, Expr::value(chrono::Utc::now()))
            .filter(import_job::Column::Id.eq(id))
            .exec(&cx.db)
            .await
            .map_err(ImportError::Db)?;
    }
    match stopped {
        Some(e) => Err(e),
        None => Ok(report),
    }
}
