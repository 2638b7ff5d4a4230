//! The HTTP side of the exchange: 1C is the client, we only answer, in plain text lines
//! (`success`, `progress`, `failure`, `zip=…`), exactly as 1C-Bitrix does (facts in
//! `shared/specs/1c-commerceml.md`, §1).
//!
//! `checkauth` checks HTTP Basic against the instance's login and password and opens a
//! session (a cookie, kept in the instance's state so any server of a cluster knows it);
//! `init` starts an exchange over; `file` appends uploaded bytes; `import` runs the import
//! of one file on a task of its own and answers `progress` while it runs, so no request is
//! held longer than `step_secs`; `deactivate` hides what a full exchange did not touch.

use crate::files::{self, FileError, ZipLimits};
use crate::import::{self, ImportFailure, MappingSettings, Outcome, Progress};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use megashop_plugin::{PluginError, PluginState, SyncContext, SyncReport};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The cookie 1C sends back on every request of a session.
pub const COOKIE: &str = "megashop_1c";
/// How long a session lives without `checkauth` (1C repeats it when a cookie stops working).
const SESSION_TTL: Duration = Duration::from_secs(24 * 3600);
/// Failed logins allowed per instance in [`FAILURE_WINDOW`].
const MAX_FAILURES: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The settings of a 1C instance (validated by the manifest's schema first).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Login 1C sends (HTTP Basic).
    pub login: String,
    /// Largest chunk 1C may send in one `file` request.
    pub file_limit: u64,
    /// Most bytes the files of one exchange may take (unpacked archives included).
    pub max_exchange_bytes: u64,
    /// Longest an `import` request is held before answering `progress`.
    pub step_secs: u64,
    /// Offer zip archives to 1C.
    pub zip: bool,
    /// Charset of the answers: `windows-1251` (as 1C-Bitrix) or `utf-8`.
    pub answer_charset: String,
    /// Language of the texts 1C shows: `ru` or `en`.
    pub language: String,
    /// `Ид`-based (`id`) or article-based (`article`) SKUs.
    pub sku: String,
    /// `1C name or Ид=store code` pairs separated by `;` for price types.
    pub price_types: String,
    /// The same for warehouses.
    pub warehouses: String,
    /// The store's warehouse for totals (`Количество` without warehouses).
    pub stock_warehouse: String,
    /// Hide products a full catalogue no longer lists.
    pub hide_missing: bool,
    /// Currency for price types that name none.
    pub currency: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            login: String::new(),
            file_limit: 8 << 20,
            max_exchange_bytes: 2 << 30,
            step_secs: 20,
            zip: true,
            answer_charset: "windows-1251".into(),
            language: "ru".into(),
            sku: "id".into(),
            price_types: String::new(),
            warehouses: String::new(),
            stock_warehouse: String::new(),
            hide_missing: true,
            currency: "RUB".into(),
        }
    }
}

/// `a=b; c=d` pairs.
fn pairs(s: &str) -> std::collections::BTreeMap<String, String> {
    s.split([';', '\n'])
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let (k, v) = (k.trim(), v.trim());
            (!k.is_empty() && !v.is_empty()).then(|| (k.to_string(), v.to_string()))
        })
        .collect()
}

impl Settings {
    /// The settings of this instance (defaults for what is not set).
    pub fn of(cx: &SyncContext) -> Settings {
        serde_json::from_value(cx.settings().clone()).unwrap_or_default()
    }

    fn mapping(&self) -> MappingSettings {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        MappingSettings {
            sku: Some(self.sku.clone()),
            price_types: pairs(&self.price_types),
            warehouses: pairs(&self.warehouses),
            stock_warehouse: opt(&self.stock_warehouse),
            hide_missing: Some(self.hide_missing),
            currency: opt(&self.currency),
        }
    }

    fn ru(&self) -> bool {
        self.language != "en"
    }
}

/// One exchange session (per cookie).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Session {
    /// When `checkauth` opened it (unix seconds): a full exchange hides what was not
    /// touched since.
    started: i64,
    /// The CSRF-like token newer 1C sends back as `sessid`.
    sessid: String,
    /// The CommerceML version 1C asked for at `init`.
    version: Option<String>,
}

/// How an `import` ended, kept so a repeated request (or another server) gets the answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Finished {
    ok: bool,
    text: String,
}

/// An import running on this server.
struct Running {
    done: watch::Receiver<Option<Finished>>,
    progress: Arc<Progress>,
}

/// Imports running in this process, by session and file.
#[derive(Clone, Default)]
pub struct Tasks(Arc<Mutex<HashMap<String, Arc<Running>>>>);

/// What we answer.
enum Answer {
    Lines(Vec<String>),
    Failure(String),
}

fn ok(lines: &[&str]) -> Answer {
    Answer::Lines(lines.iter().map(|s| s.to_string()).collect())
}

fn render(a: Answer, s: &Settings) -> Response {
    let text = match a {
        Answer::Lines(lines) => lines.join("\n"),
        Answer::Failure(reason) => format!("failure\n{reason}"),
    };
    if s.answer_charset.eq_ignore_ascii_case("utf-8") {
        ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
    } else {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&text);
        ([(header::CONTENT_TYPE, "text/plain; charset=windows-1251")], bytes.into_owned()).into_response()
    }
}

/// The words 1C shows, in the instance's language.
fn say(s: &Settings, ru: &str, en: &str) -> String {
    if s.ru() {
        ru.to_string()
    } else {
        en.to_string()
    }
}

fn query(raw: Option<&str>) -> HashMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or(""))
        .unwrap_or_default()
        .into_iter()
        .rev()
        .collect()
}

/// `a == b` in time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()?;
    // 1C sends the login in UTF-8; old platforms in windows-1251.
    let text = match String::from_utf8(raw) {
        Ok(t) => t,
        Err(e) => encoding_rs::WINDOWS_1251.decode(e.as_bytes()).0.into_owned(),
    };
    let (l, p) = text.split_once(':')?;
    Some((l.to_string(), p.to_string()))
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == COOKIE && !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| v.to_string())
    })
}

/// The router mounted at `/integrations/1c/`.
pub fn router(tasks: Tasks) -> axum::Router<PluginState> {
    let h = move |State(ps): State<PluginState>, RawQuery(q): RawQuery, headers: HeaderMap, body: Bytes| {
        let tasks = tasks.clone();
        async move {
            let s = Settings::of(&ps.cx);
            match exchange(&ps.cx, &tasks, &s, q.as_deref(), &headers, body).await {
                Ok(a) => render(a, &s),
                Err(e) => {
                    tracing::error!(error = %e, code = e.code(), "1C exchange failed");
                    render(Answer::Failure(say(&s, "Внутренняя ошибка сайта", "Internal error of the site")), &s)
                }
            }
        }
    };
    axum::Router::new().route("/exchange", axum::routing::any(h))
}

fn credentials_ok(cx: &SyncContext, s: &Settings, headers: &HeaderMap) -> bool {
    let Some((login, password)) = basic(headers) else { return false };
    let want = cx.credential("password").unwrap_or("");
    !s.login.is_empty()
        && !want.is_empty()
        && same(login.as_bytes(), s.login.as_bytes()) & same(password.as_bytes(), want.as_bytes())
}

#[derive(Default, Serialize, Deserialize)]
struct Failures {
    count: u32,
}

async fn exchange(
    cx: &SyncContext,
    tasks: &Tasks,
    s: &Settings,
    raw: Option<&str>,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Answer, PluginError> {
    let q = query(raw);
    let kind = q.get("type").map(String::as_str).unwrap_or("");
    let mode = q.get("mode").map(String::as_str).unwrap_or("");
    if !matches!(kind, "catalog" | "sale") {
        return Ok(Answer::Failure(say(s, "Неизвестный тип обмена", "Unknown exchange type")));
    }
    if mode == "checkauth" {
        let failures: Failures = cx.state().get("auth_failures").await?.unwrap_or_default();
        if failures.count >= MAX_FAILURES {
            return Ok(Answer::Failure(say(
                s,
                "Слишком много неудачных попыток входа, попробуйте через 15 минут",
                "Too many failed logins; try again in 15 minutes",
            )));
        }
        if !credentials_ok(cx, s, headers) {
            cx.state().put("auth_failures", &Failures { count: failures.count + 1 }, Some(FAILURE_WINDOW)).await?;
            cx.log().warn("1C: a checkauth with a wrong login or password").await;
            return Ok(Answer::Failure(say(s, "Неверный логин или пароль", "Wrong login or password")));
        }
        let token = random_token();
        let session = Session { started: chrono::Utc::now().timestamp(), sessid: random_token(), version: None };
        cx.state().put(&format!("session:{token}"), &session, Some(SESSION_TTL)).await?;
        return Ok(Answer::Lines(vec![
            "success".into(),
            COOKIE.into(),
            token,
            format!("sessid={}", session.sessid),
            format!("timestamp={}", session.started),
        ]));
    }
    // Every other request: the session's cookie, or Basic auth again (then the newest
    // session of the instance is not needed: a one-request session is made).
    let (token, mut session) = match cookie(headers) {
        Some(t) => match cx.state().get::<Session>(&format!("session:{t}")).await? {
            Some(sess) => (t, sess),
            None => {
                return Ok(Answer::Failure(say(
                    s,
                    "Сессия истекла, повторите авторизацию",
                    "Session expired; log in again",
                )))
            }
        },
        None if credentials_ok(cx, s, headers) => {
            let t = format!("basic{}", hex_of(s.login.as_bytes()));
            let t: String = t.chars().take(64).collect();
            let sess = match cx.state().get::<Session>(&format!("session:{t}")).await? {
                Some(sess) => sess,
                None => {
                    let sess =
                        Session { started: chrono::Utc::now().timestamp(), sessid: String::new(), version: None };
                    cx.state().put(&format!("session:{t}"), &sess, Some(SESSION_TTL)).await?;
                    sess
                }
            };
            (t, sess)
        }
        None => return Ok(Answer::Failure(say(s, "Требуется авторизация", "Authorization required"))),
    };
    if let Some(given) = q.get("sessid") {
        if !session.sessid.is_empty() && !same(given.as_bytes(), session.sessid.as_bytes()) {
            return Ok(Answer::Failure(say(s, "Неверный sessid", "Wrong sessid")));
        }
    }
    let dir = cx.data_dir()?.join("sessions").join(&token);
    match (kind, mode) {
        (_, "init") => {
            // A new exchange: what the previous one uploaded and answered is gone.
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| PluginError::Internal(e.to_string()))?;
            }
            std::fs::create_dir_all(&dir).map_err(|e| PluginError::Internal(e.to_string()))?;
            cx.state().delete_prefix(&format!("import:{token}:")).await?;
            let mut lines =
                vec![format!("zip={}", if s.zip { "yes" } else { "no" }), format!("file_limit={}", s.file_limit)];
            if let Some(v) = q.get("version") {
                session.version = Some(v.chars().take(10).collect());
                cx.state().put(&format!("session:{token}"), &session, Some(SESSION_TTL)).await?;
                if kind == "sale" {
                    lines.push(format!("sessid={}", session.sessid));
                    lines.push(format!("version={}", v.chars().take(10).collect::<String>()));
                }
            }
            Ok(Answer::Lines(lines))
        }
        ("sale", _) => Ok(Answer::Failure(say(
            s,
            "Обмен заказами с 1С пока не включён на этом сайте: выгружайте только каталог",
            "Order exchange with 1C is not enabled on this site yet: exchange the catalogue only",
        ))),
        (_, "file") => {
            let Some(name) = q.get("filename") else {
                return Ok(Answer::Failure(say(s, "Не указано имя файла", "No filename given")));
            };
            let rel = match files::clean_name(name) {
                Ok(r) => r,
                Err(e) => return Ok(Answer::Failure(file_error(s, &e))),
            };
            if body.len() as u64 > s.file_limit.max(1) {
                return Ok(Answer::Failure(say(
                    s,
                    &format!("Часть файла больше file_limit ({} байт)", s.file_limit),
                    &format!("A chunk is larger than file_limit ({} bytes)", s.file_limit),
                )));
            }
            std::fs::create_dir_all(&dir).map_err(|e| PluginError::Internal(e.to_string()))?;
            match files::append(&dir, &rel, &body, s.max_exchange_bytes) {
                Ok(_) => Ok(ok(&["success"])),
                Err(e) => Ok(Answer::Failure(file_error(s, &e))),
            }
        }
        (_, "import") => {
            let Some(name) = q.get("filename") else {
                return Ok(Answer::Failure(say(s, "Не указано имя файла", "No filename given")));
            };
            import(cx, tasks, s, &token, &session, &dir, name).await
        }
        (_, "complete") => Ok(ok(&["success"])),
        (_, "deactivate") => {
            if !s.hide_missing {
                return Ok(ok(&[
                    "success",
                    &say(s, "Скрытие отключено в настройках", "Hiding is off in the settings"),
                ]));
            }
            let since = chrono::DateTime::from_timestamp(session.started, 0).unwrap_or_default();
            let run = match cx.begin_run("exchange").await {
                Ok(r) => r,
                Err(PluginError::Busy) => return Ok(waiting(s)),
                Err(e) => return Err(e),
            };
            let res: Result<SyncReport, PluginError> = async {
                let mut cat = run.catalog(Default::default()).await?;
                let n = cat.archive_stale(since).await?;
                cat.commit().await?;
                Ok(SyncReport { updated: n, message: Some(format!("hidden {n}")), ..SyncReport::default() })
            }
            .await;
            run.finish_run(&res).await?;
            let n = res?.updated;
            Ok(Answer::Lines(vec![
                "success".into(),
                say(s, &format!("Скрыто товаров: {n}"), &format!("Products hidden: {n}")),
            ]))
        }
        _ => Ok(Answer::Failure(say(s, "Неизвестная команда", "Unknown command"))),
    }
}

/// Another import of the store holds the run lock: 1C repeats a `progress` request.
fn waiting(s: &Settings) -> Answer {
    Answer::Lines(vec![
        "progress".into(),
        say(s, "Ожидание окончания другого обмена", "Waiting for another exchange to finish"),
    ])
}

fn hex_of(b: &[u8]) -> String {
    b.iter().take(28).map(|x| format!("{x:02x}")).collect()
}

fn file_error(s: &Settings, e: &FileError) -> String {
    match e {
        FileError::BadName(n) => {
            say(s, &format!("Недопустимое имя файла: {n}"), &format!("File name not allowed: {n}"))
        }
        FileError::Missing(n) => say(s, &format!("Файл {n} не был загружен"), &format!("File {n} was not uploaded")),
        FileError::TooBig { limit } => say(
            s,
            &format!("Файлы обмена больше допустимых {limit} байт"),
            &format!("The exchange's files exceed {limit} bytes"),
        ),
        FileError::BadZip { name, .. } => {
            say(s, &format!("Архив {name} повреждён"), &format!("The archive {name} is damaged"))
        }
        FileError::ZipBomb { name, .. } => say(
            s,
            &format!("Архив {name} распаковывается в слишком большой объём"),
            &format!("The archive {name} unpacks into too much data"),
        ),
        FileError::Io(_) => say(s, "Ошибка записи файла на сайте", "The site could not write the file"),
    }
}

/// Unpacks the archives of the session not unpacked yet.
fn unpack(dir: &Path, s: &Settings) -> Result<(), FileError> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Ok(()) };
    let zips: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("zip")))
        .collect();
    for z in zips {
        let limits = ZipLimits { max_bytes: s.max_exchange_bytes, max_entries: 100_000 };
        files::unzip(&z, dir, limits)?;
        // Unpacked once: kept under another name for the record.
        std::fs::rename(&z, z.with_extension("zip.unpacked"))?;
    }
    Ok(())
}

async fn import(
    cx: &SyncContext,
    tasks: &Tasks,
    s: &Settings,
    token: &str,
    session: &Session,
    dir: &Path,
    name: &str,
) -> Result<Answer, PluginError> {
    let rel = match files::clean_name(name) {
        Ok(r) => r,
        Err(e) => return Ok(Answer::Failure(file_error(s, &e))),
    };
    let key = format!("import:{token}:{}", rel.to_string_lossy());
    if let Some(f) = cx.state().get::<Finished>(&key).await? {
        return Ok(finished(f));
    }
    let running = tasks.0.lock().ok().and_then(|m| m.get(&key).cloned());
    let running = match running {
        Some(r) => r,
        None => {
            let (d, s2) = (dir.to_path_buf(), s.clone());
            let unpacked = tokio::task::spawn_blocking(move || unpack(&d, &s2))
                .await
                .map_err(|e| PluginError::Internal(e.to_string()))?;
            if let Err(e) = unpacked {
                return Ok(Answer::Failure(file_error(s, &e)));
            }
            let path = dir.join(&rel);
            if !path.is_file() {
                return Ok(Answer::Failure(file_error(s, &FileError::Missing(name.chars().take(200).collect()))));
            }
            let run = match cx.begin_run("exchange").await {
                Ok(r) => r,
                Err(PluginError::Busy) => return Ok(waiting(s)),
                Err(e) => return Err(e),
            };
            let (tx, rx) = watch::channel(None);
            let progress = Arc::new(Progress::default());
            let r = Arc::new(Running { done: rx, progress: progress.clone() });
            if let Ok(mut m) = tasks.0.lock() {
                m.insert(key.clone(), r.clone());
            }
            let (s2, key2, tasks2) = (s.clone(), key.clone(), tasks.clone());
            let since = chrono::DateTime::from_timestamp(session.started, 0).unwrap_or_default();
            let file_name = rel.to_string_lossy().into_owned();
            tokio::spawn(async move {
                let res = import::import_file(&run, &path, &s2.mapping(), since, progress).await;
                let f = conclude(&run, &s2, &file_name, res).await;
                if let Err(e) = run.state().put(&key2, &f, Some(SESSION_TTL)).await {
                    tracing::error!(error = %e, "1C: the outcome of an import could not be stored");
                }
                let _ = tx.send(Some(f));
                if let Ok(mut m) = tasks2.0.lock() {
                    m.remove(&key2);
                }
            });
            r
        }
    };
    let mut done = running.done.clone();
    let wait = tokio::time::timeout(Duration::from_secs(s.step_secs), done.wait_for(|v| v.is_some())).await;
    if let Ok(Ok(v)) = wait {
        if let Some(f) = v.clone() {
            return Ok(finished(f));
        }
    }
    let n = running.progress.records.load(Ordering::Relaxed);
    Ok(Answer::Lines(vec![
        "progress".into(),
        say(s, &format!("Обработано записей: {n}"), &format!("Records processed: {n}")),
    ]))
}

fn finished(f: Finished) -> Answer {
    if f.ok {
        Answer::Lines(vec!["success".into(), f.text])
    } else {
        Answer::Failure(f.text)
    }
}

/// Closes the run with the outcome of the import and the words for 1C.
async fn conclude(run: &SyncContext, s: &Settings, file: &str, res: Result<Outcome, ImportFailure>) -> Finished {
    let (report, f) = match res {
        Ok(o) => {
            let report = SyncReport {
                created: o.created,
                updated: o.updated + o.offers,
                unchanged: o.unchanged,
                failed: o.failed,
                message: Some(format!("{file}: {}", o.summary(false))),
            };
            (Ok(report), Finished { ok: true, text: format!("{file}: {}", o.summary(s.ru())) })
        }
        Err(e) => {
            let text = match &e {
                ImportFailure::Xml(x) => say(
                    s,
                    &format!("Файл {file} не прочитан, каталог не изменён: {x}"),
                    &format!("File {file} could not be read; the catalogue is unchanged: {x}"),
                ),
                ImportFailure::Orders => say(
                    s,
                    &format!("Файл {file} содержит заказы, а не каталог; обмен заказами не включён"),
                    &format!("File {file} holds orders, not a catalogue; order exchange is not enabled"),
                ),
                ImportFailure::Plugin(p) => say(
                    s,
                    &format!("Файл {file} не загружен, каталог не изменён: {p}"),
                    &format!("File {file} was not imported; the catalogue is unchanged: {p}"),
                ),
            };
            let err = match e {
                ImportFailure::Plugin(p) => p,
                other => PluginError::Data(other.to_string()),
            };
            (Err(err), Finished { ok: false, text })
        }
    };
    if let Err(e) = run.finish_run(&report).await {
        tracing::error!(error = %e, "1C: the run could not be closed");
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_and_queries() {
        let m = pairs("Розничная=retail; Оптовая = opt;bad;=x");
        assert_eq!(m.get("Розничная").map(String::as_str), Some("retail"));
        assert_eq!(m.get("Оптовая").map(String::as_str), Some("opt"));
        assert_eq!(m.len(), 2);
        let q = query(Some("type=catalog&mode=file&filename=import_files%2F1%2Fa.jpg"));
        assert_eq!(q.get("filename").map(String::as_str), Some("import_files/1/a.jpg"));
    }

    #[test]
    fn basic_and_cookie_headers() {
        let mut h = HeaderMap::new();
        let b = base64::engine::general_purpose::STANDARD.encode("обмен:секрет");
        h.insert(header::AUTHORIZATION, format!("Basic {b}").parse().unwrap());
        h.insert(header::COOKIE, format!("a=b; {COOKIE}=abc123").parse().unwrap());
        assert_eq!(basic(&h), Some(("обмен".into(), "секрет".into())));
        assert_eq!(cookie(&h).as_deref(), Some("abc123"));
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"ab", b"abc"));
    }
}
