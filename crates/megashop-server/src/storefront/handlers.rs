//! Storefront handlers: each takes a [`Visit`], calls core services for the request's
//! store and region, and renders one page.

use super::view::{self, Card, Crumb, Filters};
use super::{format, links, Failure, OrPage, PageError, Visit};
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use megashop_core::catalog::categories::{self, CategoryNode};
use megashop_core::catalog::products::{self, ProductQuery, ProductSummary};
use megashop_core::i18n::{self, Locale};
use megashop_core::regions;
use minijinja::context;
use serde::Serialize;

fn t(v: &Visit, id: &str) -> String {
    i18n::message(v.locale, id, &[])
}

fn cards(v: &Visit, items: &[ProductSummary]) -> Vec<Card> {
    items.iter().map(|p| Card::new(v.locale, p, v.href(&format!("/product/{}", p.slug)))).collect()
}

fn category_href(v: &Visit, slug: &str) -> String {
    v.href(&format!("/catalog/{slug}"))
}

/// Home, then the catalogue, then each category of `trail`.
fn crumbs(v: &Visit, trail: &[&CategoryNode]) -> Vec<Crumb> {
    let mut out = vec![
        Crumb { name: t(v, "sf-home"), href: v.href("/") },
        Crumb { name: t(v, "sf-catalog"), href: v.href("/catalog") },
    ];
    out.extend(trail.iter().map(|c| Crumb { name: c.name.clone(), href: category_href(v, &c.slug) }));
    out
}

/// `GET /`: categories, newest products, search.
pub async fn home(v: Visit) -> Result<Response, PageError> {
    let region = v.region()?;
    let tree = categories::tree(&v.shop.cx).await.or_page(&v)?;
    let newest = ProductQuery { page: 1, limit: view::HOME_PRODUCTS, ..Default::default() };
    let newest = products::list(&v.shop.cx, region, &newest).await.or_page(&v)?;
    let data = context! {
        categories => view::category_links(&tree, None, &|s| category_href(&v, s)),
        products => cards(&v, &newest.items),
        all_href => v.href("/catalog"),
    };
    v.page("home.html", "", data)
}

/// `GET /catalog`: every product, with filters.
pub async fn catalog(v: Visit) -> Result<Response, PageError> {
    listing(v, None, false).await
}

/// `GET /catalog/{slug}`: a category (with its sub-categories), with filters.
pub async fn category(v: Visit, Path(slug): Path<String>) -> Result<Response, PageError> {
    listing(v, Some(slug), false).await
}

/// `GET /search?q=`: products whose title contains `q`, with filters.
pub async fn search(v: Visit) -> Result<Response, PageError> {
    listing(v, None, true).await
}

#[derive(Serialize)]
struct SortOption {
    value: &'static str,
    label: String,
    selected: bool,
}

async fn listing(v: Visit, category: Option<String>, search: bool) -> Result<Response, PageError> {
    let region = v.region()?;
    let f = Filters::parse(&v.pairs());
    let tree = categories::tree(&v.shop.cx).await.or_page(&v)?;
    let trail = match &category {
        Some(slug) => view::trail(&tree, slug).ok_or_else(|| v.fail(Failure::NotFound("sf-category-not-found")))?,
        None => vec![],
    };
    let base = match (&category, search) {
        (Some(slug), _) => format!("/catalog/{slug}"),
        (None, true) => "/search".to_string(),
        (None, false) => "/catalog".to_string(),
    };
    let heading = match (search, &f.q, trail.last()) {
        (true, Some(q), _) => i18n::message(v.locale, "sf-search-heading", &[("q", q.clone())]),
        (true, None, _) => t(&v, "sf-search-title"),
        (false, _, Some(c)) => c.name.clone(),
        (false, _, None) => t(&v, "sf-all-products"),
    };
    // A search page without a query only asks for one.
    let found = if search && f.q.is_none() {
        None
    } else {
        let q = f.query(category.as_deref(), view::PAGE_SIZE);
        Some(products::list(&v.shop.cx, region, &q).await.or_page(&v)?)
    };
    let pager = found.as_ref().and_then(|p| view::pager(f.page, p.pages, &|n| v.href_query(&base, &f.query_string(n))));
    let sorts: Vec<SortOption> = view::SORTS
        .iter()
        .map(|(value, _, label)| SortOption { value, label: t(&v, label), selected: *value == f.sort })
        .collect();
    let currency = match (v.locale, region.region.currency.as_str()) {
        (Locale::Ru, "RUB") => "₽".to_string(),
        (_, c) => c.to_string(),
    };
    let reset = match &f.q {
        Some(q) if search => serde_urlencoded::to_string([("q", q)]).unwrap_or_default(),
        _ => String::new(),
    };
    let mut crumbs = crumbs(&v, &trail);
    if search {
        crumbs.truncate(1);
    }
    let data = context! {
        heading,
        crumbs,
        search,
        categories => view::category_links(&tree, category.as_deref(), &|s| category_href(&v, s)),
        catalog_href => v.href("/catalog"),
        all_current => category.is_none() && !search,
        count => found.as_ref().map(|p| format::found(v.locale, p.total)),
        products => found.as_ref().map(|p| cards(&v, &p.items)).unwrap_or_default(),
        pager,
        form => context! {
            action => format!("{}{base}", v.shop.path_prefix()),
            q => f.q.clone(),
            min => f.min.as_ref().map(|(typed, _)| typed.clone()).unwrap_or_default(),
            max => f.max.as_ref().map(|(typed, _)| typed.clone()).unwrap_or_default(),
            in_stock => f.in_stock,
            sorts,
            currency,
            reset => v.href_query(&base, &reset),
        },
    };
    v.page("listing.html", &heading, data)
}

#[derive(Serialize)]
struct Row {
    label: String,
    value: String,
}

#[derive(Serialize)]
struct Offer {
    name: String,
    sku: String,
    price: Option<String>,
    in_stock: bool,
    stock: String,
}

/// `GET /product/{slug}`: the product with its variants priced and stocked for the region.
pub async fn product(v: Visit, Path(slug): Path<String>) -> Result<Response, PageError> {
    let region = v.region()?;
    let p = products::get(&v.shop.cx, region, &slug, false).await.or_page(&v)?;
    let tree = categories::tree(&v.shop.cx).await.or_page(&v)?;
    let trail = p.category.as_ref().and_then(|c| view::trail(&tree, &c.slug)).unwrap_or_default();
    let loc = v.locale;
    let attributes: Vec<Row> = p
        .attributes
        .iter()
        .map(|(k, val)| Row { label: format::attribute_label(loc, k), value: format::attribute(loc, val) })
        .collect();
    let offers: Vec<Offer> = p
        .variants
        .iter()
        .map(|x| Offer {
            name: x.title.clone().unwrap_or_else(|| {
                let o: Vec<&str> = x.options.values().map(String::as_str).collect();
                if o.is_empty() {
                    p.title.clone()
                } else {
                    o.join(", ")
                }
            }),
            sku: x.sku.clone(),
            price: x.price.as_ref().map(|m| format::money(loc, m)),
            in_stock: x.in_stock,
            stock: if x.in_stock {
                i18n::message(loc, "sf-stock-count", &[("count", x.stock.to_string())])
            } else {
                t(&v, "sf-out-of-stock")
            },
        })
        .collect();
    let prices: Vec<i64> = p.variants.iter().filter_map(|x| x.price.as_ref().map(|m| m.amount)).collect();
    let varies = prices.iter().any(|a| Some(a) != prices.first());
    let price = p.price_from.as_ref().map(|m| {
        let amount = format::money(loc, m);
        if varies {
            i18n::message(loc, "sf-price-from", &[("price", amount)])
        } else {
            amount
        }
    });
    let description: Vec<&str> =
        p.description.as_deref().unwrap_or("").lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let title = p.seo_title.clone().unwrap_or_else(|| p.title.clone());
    let data = context! {
        crumbs => crumbs(&v, &trail),
        product => context! {
            title => p.title,
            image => p.images.first(),
            price,
            in_stock => p.in_stock,
            attributes,
            offers,
            description,
        },
        description => p.seo_description,
    };
    v.page("product.html", &title, data)
}

#[derive(Serialize)]
struct RegionChoice {
    code: String,
    name: String,
    current: bool,
}

/// `GET /region`: every region as a button; `?return_to=` is where to go back to.
pub async fn region_page(v: Visit) -> Result<Response, PageError> {
    let list = regions::list(&v.shop.cx).await.or_page(&v)?;
    let current = v.shop.region.as_deref().map(|r| r.region.code.as_str());
    let pairs = v.pairs();
    let back = pairs
        .iter()
        .find(|(k, _)| k == "return_to")
        .and_then(|(_, r)| links::safe_return_to(r).map(str::to_string))
        .unwrap_or_else(|| v.href("/"));
    let choices: Vec<RegionChoice> = list
        .into_iter()
        .map(|r| RegionChoice {
            current: Some(r.code.as_str()) == current,
            name: match v.locale {
                Locale::En => r.name_en.filter(|n| !n.trim().is_empty()).unwrap_or(r.name),
                Locale::Ru => r.name,
            },
            code: r.code,
        })
        .collect();
    let data = context! { regions => choices, return_to => back, action => v.href("/region") };
    let title = t(&v, "sf-region-title");
    v.page("region.html", &title, data)
}

/// `POST /region` (form: `code`, `return_to`): remembers the region in a cookie and goes
/// back with 303 — to the other region's URL when the region comes from the URL.
pub async fn set_region(v: Visit, body: Bytes) -> Result<Response, PageError> {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, val)| val.as_str());
    let asked = field("code").unwrap_or("");
    let Some(i) = v.shop.table.find(asked) else { return Err(v.fail(Failure::BadRegion(asked.to_string()))) };
    let code = v.shop.table.regions[i].code.as_str();
    let back = field("return_to").and_then(links::safe_return_to).unwrap_or("/");
    let current = v.shop.region.as_deref().map(|r| r.region.code.as_str());
    let target = links::switch_target(v.shop.by, current, code, back, &v.origin);
    let cookie = links::region_cookie(code, &v.shop.domain, v.origin.scheme == "https");
    let mut res = StatusCode::SEE_OTHER.into_response();
    let h = res.headers_mut();
    h.insert(header::LOCATION, HeaderValue::from_str(&target).unwrap_or(HeaderValue::from_static("/")));
    if let Ok(c) = HeaderValue::from_str(&cookie) {
        h.insert(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// Fallback: browsers asking for a page that does not exist get the HTML 404 page; API
/// clients (and anything under `/api`) get a plain 404, which becomes the JSON error.
pub async fn not_found(v: Visit, method: Method, headers: HeaderMap) -> Response {
    let wants_html = headers.get(header::ACCEPT).and_then(|a| a.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    let api = v.path == "/api" || v.path.starts_with("/api/");
    if !wants_html || api || !matches!(method, Method::GET | Method::HEAD) {
        return StatusCode::NOT_FOUND.into_response();
    }
    v.fail(Failure::NotFound("sf-not-found-title")).into_response()
}
