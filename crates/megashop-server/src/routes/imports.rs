//! Catalogue import and export over HTTP, for staff.
//!
//! An upload is streamed to a temporary file (never held in memory) and imported by a
//! background task with `megashop_io::import::run`; the client polls the job. Jobs started
//! by this process, dry runs included, live in [`ImportJobs`]; imports that write are also
//! recorded in the `import_job` table, which serves them after a restart. An export is
//! written to a temporary file by `megashop_io::export::run` and streamed back.

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{perm, Can, Staff};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures_util::{FutureExt, StreamExt};
use megashop_core::entity::import_job;
use megashop_core::error::Problems;
use megashop_core::i18n::{self, Locale};
use megashop_core::tenancy::TenantCx;
use megashop_core::Error;
use megashop_io::export::{self, ExportFormat, ExportOptions};
use megashop_io::import::{self, ImportOptions, ImportReport, Progress};
use megashop_io::problem::{self, Problem, Severity};
use megashop_io::profile::{self, Profile};
use megashop_io::writer::{Key, Mode, WriteOptions};
use megashop_io::{Encoding, ImportError, SheetChoice};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use utoipa::{IntoParams, ToSchema};

/// Largest file `POST /imports` accepts: 512 MiB.
pub const MAX_UPLOAD_BYTES: usize = 512 * 1024 * 1024;
/// Problems shown in a job's JSON; the downloadable report has them all.
const SHOWN_PROBLEMS: usize = 100;
/// Finished jobs this process remembers (the oldest are forgotten first).
const KEEP_FINISHED: usize = 200;
/// How long this process remembers a finished job.
const KEEP_FOR: Duration = Duration::from_secs(24 * 3600);
/// Jobs listed by `GET /imports`.
const LIST_LIMIT: u64 = 50;
/// Message arguments problems use (kept with persisted reports).
const ARG_NAMES: [&str; 5] = ["column", "expected", "first_row", "max", "reason"];
const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const CSV_TYPE: &str = "text/csv; charset=utf-8";
/// Temporary files are named so; errors mentioning them show the uploaded file's name.
const UPLOAD_PREFIX: &str = "megashop-import-";

// ---------------------------------------------------------------------------------------
// The registry of this process's jobs.

/// Import jobs started by this server process: progress while running, the report when
/// finished. Dry runs are only here; imports that write are also in `import_job`.
pub struct ImportJobs {
    jobs: Mutex<HashMap<String, Arc<Job>>>,
    ids: AtomicU64,
    seed: RandomState,
}

impl Default for ImportJobs {
    fn default() -> Self {
        ImportJobs { jobs: Mutex::new(HashMap::new()), ids: AtomicU64::new(0), seed: RandomState::new() }
    }
}

impl ImportJobs {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Job>>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh id that is hard to guess and unlike a job number: `r` and 16 hex digits.
    fn new_id(&self) -> String {
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        let mut h = self.seed.build_hasher();
        n.hash(&mut h);
        Utc::now().timestamp_nanos_opt().unwrap_or_default().hash(&mut h);
        format!("r{:016x}", h.finish())
    }

    fn insert(&self, job: Arc<Job>) {
        let mut jobs = self.lock();
        let now = Utc::now();
        jobs.retain(|_, j| j.finished_at().is_none_or(|at| (now - at).to_std().unwrap_or_default() < KEEP_FOR));
        let mut finished: Vec<(DateTime<Utc>, String)> =
            jobs.values().filter_map(|j| j.finished_at().map(|at| (at, j.id.clone()))).collect();
        if finished.len() >= KEEP_FINISHED {
            finished.sort();
            for (_, id) in finished.iter().take(finished.len() + 1 - KEEP_FINISHED) {
                jobs.remove(id);
            }
        }
        jobs.insert(job.id.clone(), job);
    }

    /// A job of this store, by the id `POST /imports` returned or by its `import_job` number.
    fn find(&self, tenant_id: i64, id: &str) -> Option<Arc<Job>> {
        let jobs = self.lock();
        if let Some(j) = jobs.get(id).filter(|j| j.tenant_id == tenant_id) {
            return Some(j.clone());
        }
        let number: i64 = id.parse().ok()?;
        jobs.values().find(|j| j.tenant_id == tenant_id && j.job_number() == Some(number)).cloned()
    }
}

/// One import run by this process.
struct Job {
    id: String,
    tenant_id: i64,
    dry_run: bool,
    file_name: String,
    started_at: DateTime<Utc>,
    cancel: Arc<AtomicBool>,
    state: Mutex<JobState>,
}

#[derive(Default)]
struct JobState {
    progress: Progress,
    finished: Option<Finished>,
}

struct Finished {
    at: DateTime<Utc>,
    status: &'static str,
    report: Option<Arc<ImportReport>>,
    failure: Option<Failure>,
}

/// Why a job stopped without a report.
#[derive(Clone)]
struct Failure {
    code: String,
    message: Message,
}

#[derive(Clone)]
enum Message {
    /// Already readable (the file reader's own words, in English).
    Text(String),
    /// A Fluent message, rendered in the reader's language.
    Fluent(&'static str, Vec<(&'static str, String)>),
}

impl Message {
    fn render(&self, locale: Locale) -> String {
        match self {
            Message::Text(t) => t.clone(),
            Message::Fluent(id, args) => i18n::message(locale, id, args),
        }
    }
}

impl Job {
    fn state(&self) -> MutexGuard<'_, JobState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.state().finished.as_ref().map(|f| f.at)
    }

    fn job_number(&self) -> Option<i64> {
        self.state().finished.as_ref().and_then(|f| f.report.as_ref()).and_then(|r| r.job)
    }

    fn finish(&self, result: Result<ImportReport, ImportError>) {
        let (status, report, failure) = match result {
            Ok(r) => {
                let status = if r.applied || (r.dry_run && r.errors == 0) { "done" } else { "rejected" };
                (status, Some(Arc::new(r)), None)
            }
            Err(ImportError::Cancelled) => ("cancelled", None, None),
            Err(e) => ("failed", None, Some(failure(&e, &self.file_name))),
        };
        let mut st = self.state();
        if let Some(r) = &report {
            st.progress.rows = r.rows;
            st.progress.fraction = 1.0;
            st.progress.counts = r.counts.clone();
            st.progress.errors = r.errors;
        }
        st.finished = Some(Finished { at: Utc::now(), status, report, failure });
    }
}

/// Replaces the temporary upload's path in a reader's message with the uploaded name.
fn hide_temp_path(text: &str, file_name: &str) -> String {
    let Some(at) = text.find(UPLOAD_PREFIX) else { return text.to_string() };
    let start = text[..at].rfind(' ').map(|i| i + 1).unwrap_or(0);
    let end = text[at..].find([' ', ',', ':']).map(|i| at + i).unwrap_or(text.len());
    format!("{}{}{}", &text[..start], file_name, &text[end..])
}

fn failure(e: &ImportError, file_name: &str) -> Failure {
    match e {
        ImportError::File(f) => Failure {
            code: "unreadable_file".into(),
            message: Message::Text(hide_temp_path(&f.to_string(), file_name)),
        },
        ImportError::Profile(p) => Failure { code: "invalid_profile".into(), message: Message::Text(p.to_string()) },
        ImportError::Core(c) if !c.is_internal() => {
            Failure { code: c.code(), message: Message::Fluent(c.message_id(), c.message_args()) }
        }
        other => {
            tracing::error!(error = %other, "import failed");
            Failure { code: "internal_error".into(), message: Message::Fluent("internal-error", vec![]) }
        }
    }
}

/// The failure recorded in an `import_job` row (`error`, English), as the API shows it.
fn stored_failure(text: &str, file_name: &str) -> Failure {
    if text.starts_with("database error") || text.starts_with("internal error") {
        return Failure { code: "internal_error".into(), message: Message::Fluent("internal-error", vec![]) };
    }
    if let Some(rest) = text.strip_prefix("profile: ") {
        return Failure { code: "invalid_profile".into(), message: Message::Text(rest.to_string()) };
    }
    let code = if text.contains(UPLOAD_PREFIX) { "unreadable_file" } else { "import_failed" };
    Failure { code: code.into(), message: Message::Text(hide_temp_path(text, file_name)) }
}

// ---------------------------------------------------------------------------------------
// What the API returns.

/// Counts of what an import did (or would do, in a dry run).
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ImportCounts {
    /// Products created.
    pub created: u64,
    /// Products changed.
    pub updated: u64,
    /// Products found exactly as the file has them.
    pub unchanged: u64,
    /// Variants written (created or updated).
    pub variants: u64,
    /// Products archived because the file does not list them (`hide_missing`).
    pub hidden: u64,
}

impl From<&megashop_io::writer::Counts> for ImportCounts {
    fn from(c: &megashop_io::writer::Counts) -> Self {
        ImportCounts {
            created: c.created,
            updated: c.updated,
            unchanged: c.unchanged,
            variants: c.variants,
            hidden: c.hidden,
        }
    }
}

/// How far a job is.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct ImportProgress {
    /// Rows read so far.
    pub rows: u64,
    /// Share of the file read, 0.0 to 1.0 (approximate).
    pub fraction: f64,
    /// What was written so far (not yet committed while running).
    pub counts: ImportCounts,
    /// Errors found so far.
    pub errors: u64,
}

/// The outcome of a finished import.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ImportSummary {
    /// Format read: `csv`, `xlsx`, `xls` or `ods`.
    pub format: String,
    /// Mapping profile used.
    pub profile: String,
    /// Data rows read.
    pub rows: u64,
    /// What changed.
    pub counts: ImportCounts,
    /// Errors found (all of them).
    pub errors: u64,
    /// Warnings found.
    pub warnings: u64,
    /// True when the changes were committed.
    pub applied: bool,
    /// True for a dry run (nothing is ever written).
    pub dry_run: bool,
    /// The last row whose changes are committed, for imports committed in parts.
    pub committed_through: Option<u64>,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
}

/// One problem of the file, with its reason in the request's language.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ImportProblem {
    /// Row as a spreadsheet program numbers it (0: the file as a whole).
    pub row: u64,
    /// Column header, when the problem is in one cell.
    pub column: Option<String>,
    /// The cell's value (cut to 200 characters).
    pub value: Option<String>,
    /// `error` or `warning`.
    pub severity: String,
    /// Stable code (`bad_number`, `duplicate_sku`, ...).
    pub code: String,
    /// The reason, in the request's language.
    pub message: String,
}

/// Why a job failed.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ImportFailure {
    /// `unreadable_file`, `invalid_profile`, `internal_error`, ...
    pub code: String,
    /// What happened.
    pub message: String,
}

/// Where to go next.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ImportLinks {
    /// This job.
    #[serde(rename = "self")]
    pub self_: String,
    /// The full problem report as CSV.
    pub report_csv: String,
    /// The full problem report as XLSX.
    pub report_xlsx: String,
}

impl ImportLinks {
    fn new(id: &str) -> Self {
        ImportLinks {
            self_: format!("/api/v1/imports/{id}"),
            report_csv: format!("/api/v1/imports/{id}/report.csv"),
            report_xlsx: format!("/api/v1/imports/{id}/report.xlsx"),
        }
    }
}

/// An import job.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ImportJobView {
    /// The id to poll: the one `POST /imports` returned, or a job number from the list.
    pub id: String,
    /// The `import_job` number, once known (never for a dry run).
    pub job: Option<i64>,
    /// `running`, `done`, `rejected` (errors: nothing written), `failed` or `cancelled`.
    pub status: String,
    /// True for a dry run.
    pub dry_run: bool,
    /// The uploaded file's name.
    pub file_name: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// True once `DELETE` asked it to stop.
    pub cancel_requested: bool,
    /// How far it is.
    pub progress: ImportProgress,
    /// The outcome, once finished with a report.
    pub summary: Option<ImportSummary>,
    /// The first 100 problems, in the request's language.
    pub problems: Vec<ImportProblem>,
    /// Problems in the full report (`report.csv`).
    pub problems_total: u64,
    /// Why it failed (`status` = `failed`).
    pub error: Option<ImportFailure>,
    /// Related URLs.
    pub links: ImportLinks,
}

/// A recorded import, as listed.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ImportListItem {
    /// The job number, usable as `{id}`.
    pub id: String,
    /// The job number.
    pub job: i64,
    /// `running`, `done`, `rejected`, `failed` or `cancelled`.
    pub status: String,
    /// The uploaded file's name.
    pub file_name: String,
    /// Rows read.
    pub rows: u64,
    /// Products created.
    pub created: u64,
    /// Products changed.
    pub updated: u64,
    /// Products unchanged.
    pub unchanged: u64,
    /// Errors found.
    pub errors: u64,
    /// Warnings found.
    pub warnings: u64,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}

fn summary_of(r: &ImportReport) -> ImportSummary {
    ImportSummary {
        format: r.format.extension().to_string(),
        profile: r.profile.clone(),
        rows: r.rows,
        counts: (&r.counts).into(),
        errors: r.errors,
        warnings: r.warnings,
        applied: r.applied,
        dry_run: r.dry_run,
        committed_through: r.committed_through,
        elapsed_ms: r.elapsed_ms,
    }
}

fn problem_view(p: &Problem, locale: Locale) -> ImportProblem {
    ImportProblem {
        row: p.row,
        column: p.column.clone(),
        value: p.value.clone(),
        severity: match p.severity {
            Severity::Error => "error".into(),
            Severity::Warning => "warning".into(),
        },
        code: p.code.to_string(),
        message: p.message(locale),
    }
}

fn job_view(job: &Job, locale: Locale) -> ImportJobView {
    let st = job.state();
    let fin = st.finished.as_ref();
    let report = fin.and_then(|f| f.report.as_deref());
    ImportJobView {
        id: job.id.clone(),
        job: report.and_then(|r| r.job),
        status: fin.map(|f| f.status).unwrap_or("running").to_string(),
        dry_run: job.dry_run,
        file_name: job.file_name.clone(),
        started_at: job.started_at,
        finished_at: fin.map(|f| f.at),
        cancel_requested: job.cancel.load(Ordering::Relaxed),
        progress: ImportProgress {
            rows: st.progress.rows,
            fraction: st.progress.fraction,
            counts: (&st.progress.counts).into(),
            errors: st.progress.errors,
        },
        summary: report.map(summary_of),
        problems: report
            .map(|r| r.problems.iter().take(SHOWN_PROBLEMS).map(|p| problem_view(p, locale)).collect())
            .unwrap_or_default(),
        problems_total: report.map(|r| r.problems.len() as u64).unwrap_or(0),
        error: fin
            .and_then(|f| f.failure.as_ref())
            .map(|f| ImportFailure { code: f.code.clone(), message: f.message.render(locale) }),
        links: ImportLinks::new(&job.id),
    }
}

/// A problem read back from a persisted report (with its message arguments).
fn stored_problem(v: &serde_json::Value) -> Option<Problem> {
    let code = v.get("code")?.as_str()?;
    let code = *problem::CODES.iter().find(|c| **c == code)?;
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let mut p = Problem {
        row: v.get("row").and_then(|x| x.as_u64()).unwrap_or(0),
        column: text("column"),
        value: text("value"),
        code,
        severity: if v.get("severity").and_then(|x| x.as_str()) == Some("warning") {
            Severity::Warning
        } else {
            Severity::Error
        },
        args: Vec::new(),
    };
    if let Some(args) = v.get("args").and_then(|a| a.as_object()) {
        for (k, x) in args {
            if let (Some(name), Some(value)) = (ARG_NAMES.iter().find(|n| **n == k), x.as_str()) {
                p.args.push((name, value.to_string()));
            }
        }
    }
    Some(p)
}

/// A recorded job: its summary and problems from the stored report.
struct Stored {
    row: import_job::Model,
    summary: Option<ImportSummary>,
    problems: Vec<Problem>,
}

impl Stored {
    fn new(row: import_job::Model) -> Self {
        let parsed: Option<serde_json::Value> = row.report.as_deref().and_then(|r| serde_json::from_str(r).ok());
        let summary = parsed.as_ref().and_then(|v| serde_json::from_value::<ImportSummary>(v.clone()).ok());
        let problems = parsed
            .as_ref()
            .and_then(|v| v.get("problems"))
            .and_then(|p| p.as_array())
            .map(|list| list.iter().filter_map(stored_problem).collect())
            .unwrap_or_default();
        Stored { row, summary, problems }
    }

    fn view(&self, locale: Locale) -> ImportJobView {
        let r = &self.row;
        let id = r.id.to_string();
        let finished = r.status != "running";
        let counts = self.summary.as_ref().map(|s| s.counts.clone()).unwrap_or(ImportCounts {
            created: r.created.max(0) as u64,
            updated: r.updated.max(0) as u64,
            unchanged: r.unchanged.max(0) as u64,
            ..ImportCounts::default()
        });
        ImportJobView {
            id: id.clone(),
            job: Some(r.id),
            status: r.status.clone(),
            dry_run: false,
            file_name: r.file_name.clone(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            cancel_requested: false,
            progress: ImportProgress {
                rows: r.rows_done.max(0) as u64,
                fraction: if finished { 1.0 } else { 0.0 },
                counts,
                errors: r.errors.max(0) as u64,
            },
            summary: self.summary.clone(),
            problems: self.problems.iter().take(SHOWN_PROBLEMS).map(|p| problem_view(p, locale)).collect(),
            problems_total: self.problems.len() as u64,
            error: r
                .error
                .as_deref()
                .filter(|_| r.status == "failed")
                .map(|t| stored_failure(t, &r.file_name))
                .map(|f| ImportFailure { code: f.code, message: f.message.render(locale) }),
            links: ImportLinks::new(&id),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Helpers.

fn locale_of(headers: &HeaderMap) -> Locale {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Locale::from_accept_language)
        .unwrap_or(Locale::En)
}

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::Core(Error::Internal(format!("{what}: {e}")))
}

fn not_found(id: &str) -> ApiError {
    ApiError::Core(Error::NotFound { entity: "import", key: id.chars().take(64).collect() })
}

/// Where temporary uploads and exports go: `data_dir/tmp` when the data directory exists,
/// else the system's temporary directory.
fn temp_dir(state: &AppState) -> PathBuf {
    let data = &state.config.data_dir;
    let dir = data.join("tmp");
    if data.is_dir() && std::fs::create_dir_all(&dir).is_ok() {
        dir
    } else {
        std::env::temp_dir()
    }
}

fn parse_bool(p: &mut Problems, key: &str, v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => {
            p.push(key, "not_a_boolean", "use true or false");
            None
        }
    }
}

fn pairs(raw: Option<&str>) -> ApiResult<Vec<(String, String)>> {
    serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|e| ApiError::query(e.to_string()))
}

/// Reads a file into a streamed response body and deletes it when the body is done (or
/// dropped, when the client goes away).
fn file_body(file: tokio::fs::File, path: tempfile::TempPath) -> Body {
    let stream = futures_util::stream::unfold(Some((file, path)), |state| async move {
        let (mut file, path) = state?;
        let mut buf = BytesMut::with_capacity(64 * 1024);
        match file.read_buf(&mut buf).await {
            Ok(0) => None,
            Ok(_) => Some((Ok::<Bytes, std::io::Error>(buf.freeze()), Some((file, path)))),
            Err(e) => Some((Err(e), None)),
        }
    });
    Body::from_stream(stream)
}

/// A download of a temporary file, deleted once sent.
async fn download(path: tempfile::TempPath, content_type: &'static str, file_name: &str) -> ApiResult<Response> {
    let file = tokio::fs::File::open(&path).await.map_err(|e| internal("open download", e))?;
    let len = file.metadata().await.map_err(|e| internal("download size", e))?.len();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let mut res = file_body(file, path).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_DISPOSITION, disposition);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

fn new_temp(state: &AppState, prefix: &str, suffix: &str) -> ApiResult<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(prefix)
        .suffix(suffix)
        .tempfile_in(temp_dir(state))
        .map_err(|e| internal("create a temporary file", e))
}

// ---------------------------------------------------------------------------------------
// Import.

/// Options of `POST /api/v1/imports`, as query parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ImportParams {
    /// Built-in mapping profile: `canonical` (what export writes), `woocommerce`,
    /// `shopify`, `pricelist`. Detected from the header row when absent. A custom profile
    /// goes as JSON in the `X-Import-Profile` header instead.
    profile: Option<String>,
    /// Check everything and write nothing (default false).
    dry_run: Option<bool>,
    /// `upsert` (default: create what is new, update what exists) or `update-only`.
    mode: Option<String>,
    /// What identifies a variant: `sku` (default) or `external-id`.
    key: Option<String>,
    /// Create categories named in the file that do not exist (default true).
    create_categories: Option<bool>,
    /// Archive products the file does not list (default false).
    hide_missing: Option<bool>,
    /// Sheet of a workbook: a name, or a number from 1 (default: the first).
    sheet: Option<String>,
    /// CSV delimiter: one character, or `tab` (default: detected).
    delimiter: Option<String>,
    /// CSV encoding: `utf-8` or `windows-1251` (default: detected).
    encoding: Option<String>,
    /// Row of the header, from 1 (default: found among the first rows).
    header_row: Option<u64>,
    /// The file's name, shown in the job and its report (default `upload`).
    file_name: Option<String>,
}

fn parse_import(raw: Option<&str>, custom: Option<&HeaderValue>) -> ApiResult<ImportOptions> {
    let mut p = Problems::default();
    let mut opts = ImportOptions { file_name: Some("upload".into()), ..ImportOptions::default() };
    let mut write = WriteOptions::default();
    let mut named_profile = false;
    for (k, v) in pairs(raw)? {
        match k.as_str() {
            "region" => {}
            "profile" => match profile::builtin(v.trim()) {
                Some(prof) => {
                    opts.profile = Some(prof);
                    named_profile = true;
                }
                None => p.push(
                    k,
                    "unknown_profile",
                    format!("no built-in profile {v:?}: use {}", profile::builtin_names().join(", ")),
                ),
            },
            "dry_run" => opts.dry_run = parse_bool(&mut p, &k, &v).unwrap_or(false),
            "hide_missing" => opts.hide_missing = parse_bool(&mut p, &k, &v).unwrap_or(false),
            "create_categories" => write.create_categories = parse_bool(&mut p, &k, &v).unwrap_or(true),
            "mode" => match v.trim() {
                "upsert" => write.mode = Mode::Upsert,
                "update-only" | "update_only" => write.mode = Mode::UpdateOnly,
                _ => p.push(k, "invalid_mode", "use upsert or update-only"),
            },
            "key" => match v.trim() {
                "sku" => write.key = Key::Sku,
                "external-id" | "external_id" => write.key = Key::ExternalId,
                _ => p.push(k, "invalid_key", "use sku or external-id"),
            },
            "sheet" if !v.trim().is_empty() => opts.source.sheet = SheetChoice::parse(&v),
            "sheet" => {}
            "delimiter" => match v.as_str() {
                "tab" | "\\t" | "\t" => opts.source.csv.delimiter = Some(b'\t'),
                d if d.len() == 1 && d.is_ascii() && !matches!(d, "\"" | "\r" | "\n") => {
                    opts.source.csv.delimiter = d.bytes().next();
                }
                _ => p.push(k, "invalid_delimiter", "one ASCII character other than a quote or newline, or tab"),
            },
            "encoding" => match v.trim().to_ascii_lowercase().as_str() {
                "utf-8" | "utf8" => opts.source.csv.encoding = Some(Encoding::Utf8),
                "windows-1251" | "cp1251" => opts.source.csv.encoding = Some(Encoding::Windows1251),
                _ => p.push(k, "invalid_encoding", "use utf-8 or windows-1251"),
            },
            "header_row" => match v.trim().parse::<usize>() {
                Ok(n) if n >= 1 => opts.source.header_row = Some(n - 1),
                _ => p.push(k, "out_of_range", "a row number from 1"),
            },
            "file_name" => {
                let name = v.trim();
                if name.chars().count() > 255 {
                    p.push(k, "too_long", "at most 255 characters");
                } else if !name.is_empty() {
                    opts.file_name = Some(name.to_string());
                }
            }
            _ => p.push(k.clone(), "unknown_parameter", format!("unknown parameter {k:?}")),
        }
    }
    if let Some(h) = custom {
        if named_profile {
            p.push("X-Import-Profile", "conflict", "give either ?profile= or the X-Import-Profile header, not both");
        } else {
            match std::str::from_utf8(h.as_bytes())
                .map_err(|e| e.to_string())
                .and_then(|s| Profile::from_json(s).map_err(|e| e.to_string()))
            {
                Ok(prof) => opts.profile = Some(prof),
                Err(e) => p.push("X-Import-Profile", "invalid_profile", e),
            }
        }
    }
    p.finish()?;
    opts.write = write;
    Ok(opts)
}

/// Streams the request body into a temporary file, refusing more than the limit.
async fn save_upload(state: &AppState, body: Body) -> ApiResult<tempfile::TempPath> {
    let (file, path) = new_temp(state, UPLOAD_PREFIX, ".upload")?.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    let mut stream = body.into_data_stream();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::invalid("body", "upload_failed", format!("the upload broke off: {e}")))?;
        total += chunk.len();
        if total > MAX_UPLOAD_BYTES {
            return Err(ApiError::Http {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "payload_too_large",
                message_id: "payload-too-large",
                details: Some(
                    serde_json::json!({ "reason": format!("files up to {MAX_UPLOAD_BYTES} bytes are accepted") }),
                ),
            });
        }
        file.write_all(&chunk).await.map_err(|e| internal("save upload", e))?;
    }
    file.flush().await.map_err(|e| internal("save upload", e))?;
    if total == 0 {
        return Err(Error::invalid("body", "required", "send the file as the request body").into());
    }
    Ok(path)
}

/// Starts an import of the request body (staff). Answers at once; poll the job.
///
/// The body is the file itself, sent as is with any content type (`text/csv`,
/// `application/octet-stream`, the XLSX type): CSV, XLSX, XLS or ODS, recognised by its
/// content, up to 512 MiB.
// The body is not declared as a `request_body`: the `/api/docs` template only renders
// JSON request bodies.
#[utoipa::path(post, path = "/api/v1/imports", tag = "imports", params(ImportParams,
        ("X-Import-Profile" = Option<String>, Header, description = "A custom mapping profile as JSON (the same fields as a profile TOML file), instead of `profile`")),
    security(("bearer" = [])),
    responses((status = 202, body = ImportJobView, description = "Started: poll `links.self`"),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody, description = "payload_too_large"),
        (status = 422, body = ErrorBody, description = "validation_failed: a bad option or profile, or an empty body")))]
pub async fn start_import(
    State(state): State<AppState>,
    Can(staff, _): Can<perm::Import>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let opts = parse_import(raw.as_deref(), headers.get("x-import-profile"))?;
    let path = save_upload(&state, body).await?;
    let jobs = state.imports.clone();
    let job = Arc::new(Job {
        id: jobs.new_id(),
        tenant_id: staff.shop.cx.id(),
        dry_run: opts.dry_run,
        file_name: opts.file_name.clone().unwrap_or_default(),
        started_at: Utc::now(),
        cancel: Arc::new(AtomicBool::new(false)),
        state: Mutex::new(JobState::default()),
    });
    jobs.insert(job.clone());
    let cx = staff.shop.cx.clone();
    let cache = state.cache.clone();
    let task_job = job.clone();
    tokio::spawn(async move {
        let job = task_job;
        let progress = {
            let job = job.clone();
            move |p: &Progress| job.state().progress = p.clone()
        };
        let run = import::run(&cx, &path, opts, progress, job.cancel.clone());
        let result = match std::panic::AssertUnwindSafe(run).catch_unwind().await {
            Ok(r) => r,
            Err(_) => Err(ImportError::Internal("the import panicked".into())),
        };
        drop(path);
        let applied = matches!(&result, Ok(r) if r.applied);
        job.finish(result);
        if applied {
            cache.invalidate();
        }
    });
    let view = job_view(&job, locale_of(&headers));
    let mut res = (StatusCode::ACCEPTED, Json(view)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/imports/{}", job.id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// This process's job, or the recorded one.
enum Found {
    Live(Arc<Job>),
    Stored(Box<Stored>),
}

async fn find(state: &AppState, cx: &TenantCx, id: &str) -> ApiResult<Found> {
    if let Some(j) = state.imports.find(cx.id(), id) {
        return Ok(Found::Live(j));
    }
    let Ok(number) = id.parse::<i64>() else { return Err(not_found(id)) };
    let row = cx
        .select::<import_job::Entity>()
        .filter(import_job::Column::Id.eq(number))
        .filter(import_job::Column::Kind.eq("import"))
        .one(&cx.db)
        .await
        .map_err(Error::from)?
        .ok_or_else(|| not_found(id))?;
    Ok(Found::Stored(Box::new(Stored::new(row))))
}

/// An import job: status, progress, and when finished the summary and first problems.
#[utoipa::path(get, path = "/api/v1/imports/{id}", tag = "imports", security(("bearer" = [])),
    params(("id" = String, Path, description = "The id `POST /imports` returned, or a job number from the list")),
    responses((status = 200, body = ImportJobView), (status = 404, body = ErrorBody, description = "import_not_found")))]
pub async fn get_import(
    State(state): State<AppState>,
    Can(staff, _): Can<perm::Import>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<ImportJobView>> {
    let locale = locale_of(&headers);
    Ok(Json(match find(&state, &staff.shop.cx, &id).await? {
        Found::Live(j) => job_view(&j, locale),
        Found::Stored(s) => s.view(locale),
    }))
}

/// Asks a running import to stop (staff): what is not committed is rolled back.
#[utoipa::path(delete, path = "/api/v1/imports/{id}", tag = "imports", security(("bearer" = [])),
    params(("id" = String, Path, description = "The id `POST /imports` returned")),
    responses((status = 202, body = ImportJobView, description = "Stopping: poll until `status` is `cancelled`"),
        (status = 200, body = ImportJobView, description = "Already finished: nothing changed"),
        (status = 404, body = ErrorBody, description = "import_not_found")))]
pub async fn cancel_import(
    State(state): State<AppState>,
    Can(staff, _): Can<perm::Import>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let locale = locale_of(&headers);
    Ok(match find(&state, &staff.shop.cx, &id).await? {
        Found::Live(j) if j.finished_at().is_none() => {
            j.cancel.store(true, Ordering::Relaxed);
            (StatusCode::ACCEPTED, Json(job_view(&j, locale))).into_response()
        }
        Found::Live(j) => Json(job_view(&j, locale)).into_response(),
        Found::Stored(s) => Json(s.view(locale)).into_response(),
    })
}

/// The store's recent recorded imports, newest first (at most 50; dry runs are not recorded).
#[utoipa::path(get, path = "/api/v1/imports", tag = "imports", security(("bearer" = [])),
    responses((status = 200, body = [ImportListItem]), (status = 401, body = ErrorBody)))]
pub async fn list_imports(Can(staff, _): Can<perm::Import>) -> ApiResult<Json<Vec<ImportListItem>>> {
    let cx = &staff.shop.cx;
    let rows = cx
        .select::<import_job::Entity>()
        .filter(import_job::Column::Kind.eq("import"))
        .order_by_desc(import_job::Column::Id)
        .limit(LIST_LIMIT)
        .all(&cx.db)
        .await
        .map_err(Error::from)?;
    let n = |v: i64| v.max(0) as u64;
    Ok(Json(
        rows.into_iter()
            .map(|r| ImportListItem {
                id: r.id.to_string(),
                job: r.id,
                status: r.status,
                file_name: r.file_name,
                rows: n(r.rows_done),
                created: n(r.created),
                updated: n(r.updated),
                unchanged: n(r.unchanged),
                errors: n(r.errors),
                warnings: n(r.warnings),
                started_at: r.started_at,
                finished_at: r.finished_at,
            })
            .collect(),
    ))
}

async fn report(state: &AppState, staff: &Staff, id: &str, headers: &HeaderMap, xlsx: bool) -> ApiResult<Response> {
    let locale = locale_of(headers);
    let problems: Arc<Vec<Problem>> = match find(state, &staff.shop.cx, id).await? {
        Found::Live(j) => {
            let st = j.state();
            let report = st.finished.as_ref().and_then(|f| f.report.clone());
            match report {
                Some(r) => Arc::new(r.problems.clone()),
                None => return Err(Error::NotFound { entity: "report", key: id.chars().take(64).collect() }.into()),
            }
        }
        // As for this process's jobs: a report once finished with one (not failed or cancelled).
        Found::Stored(s) if s.row.report.is_some() && matches!(s.row.status.as_str(), "done" | "rejected") => {
            Arc::new(s.problems)
        }
        Found::Stored(_) => return Err(Error::NotFound { entity: "report", key: id.chars().take(64).collect() }.into()),
    };
    let suffix = if xlsx { ".xlsx" } else { ".csv" };
    let path = new_temp(state, "megashop-report-", suffix)?.into_temp_path();
    let written = {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || {
            if xlsx {
                megashop_io::report::write_xlsx(&path, &problems, locale).map_err(|e| e.to_string())
            } else {
                megashop_io::report::write_csv(&path, &problems, locale).map_err(|e| e.to_string())
            }
        })
        .await
        .map_err(|e| internal("write report", e))?
    };
    written.map_err(|e| internal("write report", e))?;
    let safe_id: String = id.chars().filter(|c| c.is_ascii_alphanumeric()).take(32).collect();
    let name = format!("import-{safe_id}-report{suffix}");
    download(path, if xlsx { XLSX_TYPE } else { CSV_TYPE }, &name).await
}

/// The full problem report of a finished import as CSV (UTF-8 with a BOM), in the
/// request's language.
#[utoipa::path(get, path = "/api/v1/imports/{id}/report.csv", tag = "imports", security(("bearer" = [])),
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, description = "A CSV download (text/csv): row, column, value, severity, code, reason"),
        (status = 404, body = ErrorBody, description = "import_not_found, or report_not_found while it runs or when it failed")))]
pub async fn report_csv(
    State(state): State<AppState>,
    Can(staff, _): Can<perm::Import>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    report(&state, &staff, &id, &headers, false).await
}

/// The full problem report of a finished import as an XLSX workbook, in the request's language.
#[utoipa::path(get, path = "/api/v1/imports/{id}/report.xlsx", tag = "imports", security(("bearer" = [])),
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, description = "An XLSX download"),
        (status = 404, body = ErrorBody, description = "import_not_found, or report_not_found while it runs or when it failed")))]
pub async fn report_xlsx(
    State(state): State<AppState>,
    Can(staff, _): Can<perm::Import>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    report(&state, &staff, &id, &headers, true).await
}

// ---------------------------------------------------------------------------------------
// Export.

/// Options of `GET /api/v1/export`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ExportParams {
    /// `csv` (default; UTF-8 with a BOM) or `xlsx`.
    format: Option<String>,
    /// Only this category (slug) and its sub-categories.
    category: Option<String>,
    /// Only this region's price type and warehouses (also the request's region).
    region: Option<String>,
    /// Only products with this status: `active`, `draft` or `archived`.
    status: Option<String>,
}

fn parse_export(raw: Option<&str>) -> ApiResult<ExportOptions> {
    let mut p = Problems::default();
    let mut opts = ExportOptions { page: 500, ..ExportOptions::default() };
    for (k, v) in pairs(raw)? {
        let v = v.trim().to_string();
        match k.as_str() {
            "format" => match v.to_ascii_lowercase().as_str() {
                "csv" => opts.format = ExportFormat::Csv,
                "xlsx" => opts.format = ExportFormat::Xlsx,
                _ => p.push(k, "invalid_format", "use csv or xlsx"),
            },
            "category" if !v.is_empty() => opts.category = Some(v),
            "region" if !v.is_empty() => opts.region = Some(v.to_ascii_lowercase()),
            "status" if v.is_empty() => {}
            "status" if matches!(v.as_str(), "active" | "draft" | "archived") => opts.status = Some(v),
            "status" => p.push(k, "invalid_status", "use active, draft or archived"),
            "category" | "region" => {}
            _ => p.push(k.clone(), "unknown_parameter", format!("unknown parameter {k:?}")),
        }
    }
    p.finish()?;
    Ok(opts)
}

fn export_error(e: ImportError) -> ApiError {
    match e {
        ImportError::Core(Error::NotFound { entity, key }) => {
            ApiError::Core(Error::Reference { field: entity, entity, key })
        }
        ImportError::Core(e) => ApiError::Core(e),
        ImportError::Db(e) => ApiError::Core(Error::Db(e)),
        other => internal("export", other),
    }
}

/// The catalogue in the canonical format (what import reads back), as a download (staff).
#[utoipa::path(get, path = "/api/v1/export", tag = "imports", params(ExportParams), security(("bearer" = [])),
    responses((status = 200, description = "A CSV (text/csv) or XLSX download; `X-Export-Products` and `X-Export-Rows` count what it holds"),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "validation_failed, or category_not_found / region_not_found")))]
pub async fn export_catalog(
    State(state): State<AppState>,
    Can(staff, _): Can<perm::Import>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let opts = parse_export(raw.as_deref())?;
    let (ext, content_type) = match opts.format {
        ExportFormat::Csv => ("csv", CSV_TYPE),
        ExportFormat::Xlsx => ("xlsx", XLSX_TYPE),
    };
    let path = new_temp(&state, "megashop-export-", &format!(".{ext}"))?.into_temp_path();
    let summary = export::run(&staff.shop.cx, &path, &opts, |_| {}).await.map_err(export_error)?;
    let slug: String =
        staff.shop.cx.tenant.slug.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(64).collect();
    let name = format!("catalog-{slug}-{}.{ext}", Utc::now().format("%Y%m%d-%H%M"));
    let mut res = download(path, content_type, &name).await?;
    res.headers_mut().insert("x-export-products", HeaderValue::from(summary.products));
    res.headers_mut().insert("x-export-rows", HeaderValue::from(summary.rows));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_paths_are_replaced_by_the_uploaded_name() {
        let msg = "cannot read /tmp/x y/megashop-import-AbC123.upload: permission denied";
        assert_eq!(hide_temp_path(msg, "price.csv"), "cannot read /tmp/x price.csv: permission denied");
        let msg = "/var/lib/megashop/tmp/megashop-import-Q1.upload, line 7: broken quote";
        assert_eq!(hide_temp_path(msg, "a.csv"), "a.csv, line 7: broken quote");
        assert_eq!(hide_temp_path("no path here", "a.csv"), "no path here");
    }

    #[test]
    fn stored_problems_keep_their_message_arguments() {
        let v = serde_json::json!({"row": 5, "column": "sku", "value": "K-1", "code": "duplicate_sku",
            "severity": "error", "args": {"first_row": "2", "unknown": "x"}});
        let p = stored_problem(&v).map(|p| p.message(Locale::Ru));
        assert_eq!(p.as_deref(), Some("Этот артикул уже есть в строке 2 файла."));
        let warning = serde_json::json!({"row": 0, "code": "too_many_problems", "severity": "warning"});
        assert_eq!(stored_problem(&warning).map(|p| p.severity), Some(Severity::Warning));
        assert!(stored_problem(&serde_json::json!({"row": 1, "code": "no_such_code"})).is_none());
    }

    #[test]
    fn options_are_checked_all_at_once() {
        let err = parse_import(Some("mode=sideways&dry_run=maybe&delimiter=ab&profile=nope&colour=red"), None)
            .err()
            .map(|e| match e {
                ApiError::Core(Error::Validation(f)) => f.into_iter().map(|f| f.code).collect::<Vec<_>>(),
                _ => vec![],
            })
            .unwrap_or_default();
        assert_eq!(err, ["invalid_mode", "not_a_boolean", "invalid_delimiter", "unknown_profile", "unknown_parameter"]);
        let ok = parse_import(
            Some("profile=canonical&dry_run=true&mode=update-only&key=external-id&create_categories=false&delimiter=tab&sheet=2&file_name=a.csv"),
            None,
        )
        .ok()
        .unwrap_or_default();
        assert!(ok.dry_run && ok.profile.is_some());
        assert_eq!(ok.write.mode, Mode::UpdateOnly);
        assert_eq!(ok.write.key, Key::ExternalId);
        assert!(!ok.write.create_categories);
        assert_eq!(ok.source.csv.delimiter, Some(b'\t'));
        assert_eq!(ok.source.sheet, SheetChoice::Index(1));
        assert_eq!(ok.file_name.as_deref(), Some("a.csv"));
    }

    #[test]
    fn a_custom_profile_comes_as_json_in_a_header() {
        let good =
            HeaderValue::from_bytes(r#"{"name":"mine","column":[{"header":"Артикул","field":"sku"}]}"#.as_bytes()).ok();
        let opts = parse_import(None, good.as_ref()).ok().and_then(|o| o.profile);
        assert_eq!(opts.map(|p| p.name), Some("mine".to_string()));
        let bad = HeaderValue::from_static(r#"{"name":"x","column":[{"header":"Price","field":"price"}]}"#);
        match parse_import(None, Some(&bad)) {
            Err(ApiError::Core(Error::Validation(f))) => {
                assert_eq!(f[0].code, "invalid_profile");
                assert!(f[0].message.contains("price_type"), "{}", f[0].message);
            }
            _ => panic!("a profile whose price column names no price type must be refused"),
        }
    }
}
