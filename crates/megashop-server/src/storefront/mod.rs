//! The storefront: server-rendered HTML pages of a store (home, catalogue, product,
//! search, region picker) for shoppers' browsers, next to the JSON API.
//!
//! Handlers take a [`Visit`] (the [`Shop`] plus language, URL and origin), call core
//! services and render a minijinja template. Templates are compiled in and auto-escaped
//! (their names end in `.html`). Every link keeps the region's path prefix (`/msk/...`)
//! and an explicit `?lang=`. Failures become HTML pages in the store's language
//! ([`PageError`]); the JSON error document stays for `/api`.

mod format;
mod handlers;
mod links;
mod view;

use crate::extract::Shop;
use crate::net;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use links::Origin;
use megashop_core::i18n::{self, Locale};
use megashop_core::regions::RegionCx;
use megashop_core::routing::Strategy;
use megashop_core::Error;
use minijinja::value::Kwargs;
use minijinja::{AutoEscape, Environment, Output, State, Value};
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::OnceLock;

/// The storefront's routes, to be merged at the root of the application. Its fallback
/// answers browsers with an HTML 404 page (API clients still get the JSON error).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(handlers::home))
        .route("/catalog", get(handlers::catalog))
        .route("/catalog/{slug}", get(handlers::category))
        .route("/product/{slug}", get(handlers::product))
        .route("/search", get(handlers::search))
        .route("/region", get(handlers::region_page).post(handlers::set_region))
        .fallback(handlers::not_found)
}

const TEMPLATES: [(&str, &str); 7] = [
    ("base.html", include_str!("templates/base.html.j2")),
    ("cards.html", include_str!("templates/cards.html.j2")),
    ("home.html", include_str!("templates/home.html.j2")),
    ("listing.html", include_str!("templates/listing.html.j2")),
    ("product.html", include_str!("templates/product.html.j2")),
    ("region.html", include_str!("templates/region.html.j2")),
    ("error.html", include_str!("templates/error.html.j2")),
];

/// `{{ t("sf-id", name=value) }}`: a Fluent message in the page's language (`lang`).
fn translate(state: &State, id: &str, kwargs: Kwargs) -> Result<String, minijinja::Error> {
    let locale = state.lookup("lang").and_then(|v| v.as_str().and_then(Locale::parse)).unwrap_or(Locale::Ru);
    let mut args = vec![];
    for key in kwargs.args() {
        let v: Value = kwargs.get(key)?;
        args.push((key, v.to_string()));
    }
    Ok(i18n::message(locale, id, &args))
}

/// Writes values into HTML-escaped templates escaping `& < > " '` only: minijinja's
/// default also writes `/` as `&#x2f;`, which is safe but makes every link unreadable.
fn html_formatter(out: &mut Output, state: &State, value: &Value) -> Result<(), minijinja::Error> {
    if state.auto_escape() != AutoEscape::Html || value.is_safe() || value.is_undefined() || value.is_none() {
        return minijinja::escape_formatter(out, state, value);
    }
    let text = match value.as_str() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(value.to_string()),
    };
    let mut last = 0;
    for (i, b) in text.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.write_str(&text[last..i])?;
        out.write_str(entity)?;
        last = i + 1;
    }
    Ok(out.write_str(&text[last..])?)
}

/// The template environment, built once. A template that does not compile is a bug
/// caught by the tests; it renders as an error page rather than taking the server down.
fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_formatter(html_formatter);
        for (name, src) in TEMPLATES {
            if let Err(e) = env.add_template(name, src) {
                tracing::error!(template = name, error = %e, "storefront template does not compile");
            }
        }
        env.add_function("t", translate);
        env
    })
}

/// One storefront request: the store and region, the page's language, and its URL.
#[derive(Clone)]
pub struct Visit {
    /// Store, region and how the region was chosen.
    pub shop: Shop,
    /// The page's language: `?lang=`, else the store's default.
    pub locale: Locale,
    /// `?lang=` when the shopper chose one; links and forms keep it.
    pub lang: Option<Locale>,
    /// The routed path, without the region prefix (`/product/x`).
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
    /// Scheme, host and port for absolute URLs.
    pub origin: Origin,
    /// Which GeoIP data the server uses, for the attribution its licence requires.
    pub geo_credit: Option<&'static str>,
}

impl FromRequestParts<AppState> for Visit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let shop = Shop::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let https = net::is_https(peer, &parts.headers, &state.trusted_proxies);
        let host_header = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        let origin = Origin::new(https, host_header, &shop.host, &shop.domain);
        let query = parts.uri.query().map(str::to_string);
        let lang = query_pairs(query.as_deref())
            .into_iter()
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Locale::parse(&v).filter(|l| l.tag() == v.to_ascii_lowercase()));
        let locale = lang.or_else(|| Locale::parse(&shop.cx.tenant.default_locale)).unwrap_or(Locale::Ru);
        // GeoLite2 (CC BY-SA) and DB-IP Lite (CC BY) both require a credit on pages that use them.
        let geo_credit = state.geo.current().map(|db| {
            let kind = db.database_type().to_ascii_lowercase();
            if kind.contains("geolite") || kind.contains("geoip2") {
                "maxmind"
            } else {
                "dbip"
            }
        });
        Ok(Visit { shop, locale, lang, path: parts.uri.path().to_string(), query, origin, geo_credit })
    }
}

/// The pairs of a query string; an undecodable one counts as empty.
fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default()
}

/// A region as the header shows it.
#[derive(Serialize)]
struct RegionLabel {
    code: String,
    name: String,
}

/// `<link rel="alternate">` of the page in another region.
#[derive(Serialize)]
struct Alternate {
    code: String,
    href: String,
}

/// A language switch link.
#[derive(Serialize)]
struct LangLink {
    tag: &'static str,
    label: &'static str,
    href: String,
    current: bool,
}

/// What every page's frame (head, header, footer) shows.
#[derive(Serialize)]
struct Chrome {
    store: String,
    /// `?lang=` value to carry in GET forms.
    lang_param: Option<&'static str>,
    home: String,
    catalog: String,
    search_action: String,
    region_action: String,
    region_page: String,
    region: Option<RegionLabel>,
    /// Show "Your city is X?" (the region was guessed from the IP address).
    suggest: bool,
    return_to: String,
    canonical: String,
    alternates: Vec<Alternate>,
    langs: Vec<LangLink>,
    q: String,
    /// `maxmind` or `dbip` when a GeoIP database is in use.
    geo_credit: Option<&'static str>,
}

/// The name of a region in `locale`.
fn region_name(locale: Locale, name: &str, name_en: Option<&str>) -> String {
    match (locale, name_en) {
        (Locale::En, Some(en)) if !en.trim().is_empty() => en.to_string(),
        _ => name.to_string(),
    }
}

impl Visit {
    /// A storefront link: the region prefix, `path` (with its query, if any), and the
    /// chosen `lang`.
    pub fn href(&self, path: &str) -> String {
        let mut s = format!("{}{path}", self.shop.path_prefix());
        if let Some(l) = self.lang {
            s.push(if path.contains('?') { '&' } else { '?' });
            s.push_str("lang=");
            s.push_str(l.tag());
        }
        s
    }

    /// `path` with a query string (empty: none), as a link.
    pub fn href_query(&self, path: &str, query: &str) -> String {
        if query.is_empty() {
            self.href(path)
        } else {
            self.href(&format!("{path}?{query}"))
        }
    }

    /// The current page's path and query as the browser sees them (with the prefix).
    pub fn here(&self) -> String {
        let mut s = format!("{}{}", self.shop.path_prefix(), self.path);
        if let Some(q) = self.query.as_deref().filter(|q| !q.is_empty()) {
            s.push('?');
            s.push_str(q);
        }
        s
    }

    /// The query string's pairs.
    pub fn pairs(&self) -> Vec<(String, String)> {
        query_pairs(self.query.as_deref())
    }

    /// The routed path with the query, minus `region=` (the URL form carries the region).
    fn path_for_links(&self) -> String {
        let full = match self.query.as_deref().filter(|q| !q.is_empty()) {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        };
        links::without_param(&full, "region")
    }

    /// The request's region, or the "store not open yet" page.
    pub fn region(&self) -> Result<&RegionCx, PageError> {
        self.shop.region.as_deref().ok_or_else(|| self.fail(Failure::NoRegion))
    }

    /// A failure page for this visit.
    pub fn fail(&self, f: Failure) -> PageError {
        PageError { visit: Box::new(self.clone()), failure: f }
    }

    fn chrome(&self) -> Chrome {
        let region = self.shop.region.as_deref().map(|r| RegionLabel {
            code: r.region.code.clone(),
            name: region_name(self.locale, &r.region.name, r.region.name_en.as_deref()),
        });
        let code = region.as_ref().map(|r| r.code.as_str());
        let path = self.path_for_links();
        let alternates = self
            .shop
            .table
            .regions
            .iter()
            .filter(|r| Some(r.code.as_str()) != code)
            .map(|r| Alternate {
                code: r.code.clone(),
                href: links::alternate(self.shop.by, &r.code, &path, &self.origin),
            })
            .collect();
        let here = self.here();
        let without_lang = links::without_param(&here, "lang");
        let langs = [(Locale::Ru, "Русский"), (Locale::En, "English")]
            .into_iter()
            .map(|(l, label)| LangLink {
                tag: l.tag(),
                label,
                href: format!("{without_lang}{}lang={}", if without_lang.contains('?') { '&' } else { '?' }, l.tag()),
                current: l == self.locale,
            })
            .collect();
        let picker = serde_urlencoded::to_string([("return_to", here.as_str())]).unwrap_or_default();
        let canonical = links::canonical(self.shop.by, code, &path, &self.origin);
        Chrome {
            store: self.shop.cx.tenant.name.clone(),
            lang_param: self.lang.map(Locale::tag),
            home: self.href("/"),
            catalog: self.href("/catalog"),
            search_action: format!("{}/search", self.shop.path_prefix()),
            region_action: self.href("/region"),
            region_page: self.href_query("/region", &picker),
            suggest: self.shop.by == Strategy::Geoip && region.is_some(),
            region,
            return_to: here,
            canonical,
            alternates,
            langs,
            q: self.pairs().into_iter().find(|(k, _)| k == "q").map(|(_, v)| v).unwrap_or_default(),
            geo_credit: self.geo_credit,
        }
    }

    /// Renders `template` with the page frame, `title` and the page's own `data`.
    pub fn render(&self, status: StatusCode, template: &str, title: &str, data: Value) -> Response {
        let rendered = env().get_template(template).and_then(|t| {
            t.render(minijinja::context! {
                lang => self.locale.tag(),
                page => Value::from_serialize(self.chrome()),
                title => title,
                ..data
            })
        });
        match rendered {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(template, error = %e, "storefront template failed");
                (StatusCode::INTERNAL_SERVER_ERROR, Html(fallback_page(self.locale))).into_response()
            }
        }
    }

    /// Renders a page answered with 200 OK.
    pub fn page(&self, template: &str, title: &str, data: Value) -> Result<Response, PageError> {
        Ok(self.render(StatusCode::OK, template, title, data))
    }
}

/// A page that needs no template, for when templates themselves fail.
fn fallback_page(locale: Locale) -> String {
    format!(
        "<!doctype html><html lang=\"{}\"><meta charset=\"utf-8\"><title>{}</title><h1>{}</h1><p><a href=\"/\">{}</a></p></html>",
        locale.tag(),
        i18n::message(locale, "sf-error-title", &[]),
        i18n::message(locale, "sf-error-title", &[]),
        i18n::message(locale, "sf-back-home", &[]),
    )
}

/// Why a storefront page cannot be shown.
#[derive(Debug)]
pub enum Failure {
    /// 404 with the message id of its title (`sf-product-not-found`, ...).
    NotFound(&'static str),
    /// 400: the region picker got a code the store does not have.
    BadRegion(String),
    /// 503: the store has no region yet, so nothing can be priced.
    NoRegion,
    /// 500: logged, shown as "something went wrong".
    Internal,
}

/// A failed storefront request; renders as an HTML page in the visit's language.
pub struct PageError {
    visit: Box<Visit>,
    failure: Failure,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let v = &self.visit;
        let (status, title, text, args) = match &self.failure {
            Failure::NotFound(id) => (StatusCode::NOT_FOUND, *id, "sf-not-found-text", vec![]),
            Failure::BadRegion(code) => (
                StatusCode::BAD_REQUEST,
                "sf-bad-region-title",
                "sf-bad-region-text",
                vec![("code", code.chars().take(32).collect::<String>())],
            ),
            Failure::NoRegion => (StatusCode::SERVICE_UNAVAILABLE, "sf-no-region-title", "sf-no-region-text", vec![]),
            Failure::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "sf-error-title", "sf-error-text", vec![]),
        };
        let title = i18n::message(v.locale, title, &[]);
        let data = minijinja::context! {
            heading => title,
            text => i18n::message(v.locale, text, &args),
            show_regions => matches!(self.failure, Failure::BadRegion(_)),
            regions_href => v.href("/region"),
        };
        v.render(status, "error.html", &title, data)
    }
}

/// Turns core results into storefront pages: `.or_page(&visit)?`.
pub trait OrPage<T> {
    /// The value, or the page for the error.
    fn or_page(self, v: &Visit) -> Result<T, PageError>;
}

impl<T> OrPage<T> for Result<T, Error> {
    fn or_page(self, v: &Visit) -> Result<T, PageError> {
        self.map_err(|e| {
            let failure = match &e {
                Error::NotFound { entity: "product", .. } => Failure::NotFound("sf-product-not-found"),
                Error::NotFound { entity: "category", .. } | Error::Reference { entity: "category", .. } => {
                    Failure::NotFound("sf-category-not-found")
                }
                Error::NotFound { entity: "region", .. } => Failure::NoRegion,
                _ => {
                    tracing::error!(error = %e, "storefront page failed");
                    Failure::Internal
                }
            };
            v.fail(failure)
        })
    }
}
