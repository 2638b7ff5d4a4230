//! What the templates get: small serializable views built from core types, with every
//! link and amount already written out, so templates only lay things out.

use super::format;
use megashop_core::catalog::categories::CategoryNode;
use megashop_core::catalog::products::{ProductQuery, ProductSummary, Sort, MAX_SEARCH_CHARS};
use megashop_core::i18n::{self, Locale};
use serde::Serialize;

/// Products per catalogue page (divides evenly into rows of 2, 3 and 4).
pub const PAGE_SIZE: u64 = 24;
/// Newest products on the home page.
pub const HOME_PRODUCTS: u64 = 12;

/// A product card in a grid.
#[derive(Serialize)]
pub struct Card {
    pub title: String,
    pub href: String,
    pub image: Option<String>,
    /// `от 29 990 ₽` when variants differ in price, `29 990 ₽` when there is one.
    pub price: Option<String>,
    pub in_stock: bool,
}

impl Card {
    /// A card for `p`, linking with `href`.
    pub fn new(locale: Locale, p: &ProductSummary, href: String) -> Card {
        let price = p.price_from.as_ref().map(|m| {
            let amount = format::money(locale, m);
            if p.variant_count > 1 {
                i18n::message(locale, "sf-price-from", &[("price", amount)])
            } else {
                amount
            }
        });
        Card { title: p.title.clone(), href, image: p.image.clone(), price, in_stock: p.in_stock }
    }
}

/// A category in the tree, with its link.
#[derive(Serialize)]
pub struct CategoryLink {
    pub name: String,
    pub href: String,
    pub current: bool,
    pub children: Vec<CategoryLink>,
}

/// The category tree as links; `href` makes a link from a slug.
pub fn category_links(
    nodes: &[CategoryNode],
    current: Option<&str>,
    href: &dyn Fn(&str) -> String,
) -> Vec<CategoryLink> {
    nodes
        .iter()
        .map(|n| CategoryLink {
            name: n.name.clone(),
            href: href(&n.slug),
            current: current == Some(n.slug.as_str()),
            children: category_links(&n.children, current, href),
        })
        .collect()
}

/// The category with `slug` and its ancestors, root first; `None` when there is none.
pub fn trail<'a>(nodes: &'a [CategoryNode], slug: &str) -> Option<Vec<&'a CategoryNode>> {
    for n in nodes {
        if n.slug == slug {
            return Some(vec![n]);
        }
        if let Some(mut rest) = trail(&n.children, slug) {
            rest.insert(0, n);
            return Some(rest);
        }
    }
    None
}

/// A breadcrumb step.
#[derive(Serialize)]
pub struct Crumb {
    pub name: String,
    pub href: String,
}

/// The sort orders the storefront offers, with their query values and labels.
pub const SORTS: [(&str, Sort, &str); 4] = [
    ("new", Sort::Newest, "sf-sort-new"),
    ("price", Sort::PriceAsc, "sf-sort-price"),
    ("-price", Sort::PriceDesc, "sf-sort-price-desc"),
    ("title", Sort::TitleAsc, "sf-sort-title"),
];

/// The catalogue filters of a page, read leniently from its query string: a value the
/// storefront cannot use is ignored rather than refused, as a shopper can type anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// Search text.
    pub q: Option<String>,
    /// Lowest price as typed (major units) and in minor units.
    pub min: Option<(String, i64)>,
    /// Highest price as typed and in minor units.
    pub max: Option<(String, i64)>,
    /// Only products in stock.
    pub in_stock: bool,
    /// Sort value (`new`, `price`, `-price`, `title`).
    pub sort: &'static str,
    /// Page number from 1.
    pub page: u64,
}

impl Filters {
    /// Reads `q`, `min_price`, `max_price` (major units), `in_stock`, `sort` and `page`.
    pub fn parse(pairs: &[(String, String)]) -> Filters {
        let mut f = Filters { sort: "new", page: 1, ..Default::default() };
        for (k, v) in pairs {
            let v = v.trim();
            match k.as_str() {
                "q" if !v.is_empty() => f.q = Some(v.chars().take(MAX_SEARCH_CHARS).collect()),
                "min_price" => f.min = format::parse_major(v).map(|m| (v.to_string(), m)),
                "max_price" => f.max = format::parse_major(v).map(|m| (v.to_string(), m)),
                "in_stock" => f.in_stock = matches!(v, "1" | "on" | "true" | "yes"),
                "sort" => f.sort = SORTS.iter().find(|(s, ..)| *s == v).map_or("new", |(s, ..)| *s),
                "page" => f.page = v.parse::<u64>().ok().filter(|p| (1..=100_000).contains(p)).unwrap_or(1),
                _ => {}
            }
        }
        f
    }

    /// The core query for these filters in `category`.
    pub fn query(&self, category: Option<&str>, limit: u64) -> ProductQuery {
        ProductQuery {
            category: category.map(str::to_string),
            min_price: self.min.as_ref().map(|(_, m)| *m),
            max_price: self.max.as_ref().map(|(_, m)| *m),
            in_stock: self.in_stock,
            sort: SORTS.iter().find(|(s, ..)| *s == self.sort).map_or(Sort::Newest, |(_, s, _)| *s),
            page: self.page,
            limit,
            q: self.q.clone(),
            ..Default::default()
        }
    }

    /// The query string of these filters on page `page` (`None`: first page), without
    /// defaults, so pagination links keep the filters.
    pub fn query_string(&self, page: u64) -> String {
        let mut pairs: Vec<(&str, &str)> = vec![];
        if let Some(q) = &self.q {
            pairs.push(("q", q));
        }
        if let Some((typed, _)) = &self.min {
            pairs.push(("min_price", typed));
        }
        if let Some((typed, _)) = &self.max {
            pairs.push(("max_price", typed));
        }
        if self.in_stock {
            pairs.push(("in_stock", "1"));
        }
        if self.sort != "new" {
            pairs.push(("sort", self.sort));
        }
        let page = page.to_string();
        if page != "1" {
            pairs.push(("page", &page));
        }
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }
}

/// A pagination link; `href` is `None` for the gap marker `…`.
#[derive(Serialize)]
pub struct PageLink {
    pub label: String,
    pub href: Option<String>,
    pub current: bool,
}

/// Pagination: previous/next and a window of page numbers around the current page.
#[derive(Serialize)]
pub struct Pager {
    pub prev: Option<String>,
    pub next: Option<String>,
    pub pages: Vec<PageLink>,
}

/// The pager for `pages` pages at `current`; `href(n)` links page `n`. `None` for one page.
pub fn pager(current: u64, pages: u64, href: &dyn Fn(u64) -> String) -> Option<Pager> {
    if pages <= 1 {
        return None;
    }
    let mut links = vec![];
    let mut last = 0;
    for n in 1..=pages {
        let near = n == 1 || n == pages || n.abs_diff(current) <= 2;
        if !near {
            continue;
        }
        if n > last + 1 {
            links.push(PageLink { label: "…".into(), href: None, current: false });
        }
        links.push(PageLink { label: n.to_string(), href: Some(href(n)), current: n == current });
        last = n;
    }
    Some(Pager {
        prev: (current > 1).then(|| href((current - 1).min(pages))),
        next: (current < pages).then(|| href(current + 1)),
        pages: links,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(q).unwrap()
    }

    #[test]
    fn filters_read_leniently_and_round_trip() {
        let f = Filters::parse(&pairs("min_price=1+000&max_price=abc&in_stock=on&sort=-price&page=3&q=+Bosch+"));
        assert_eq!(f.min, Some(("1 000".into(), 100_000)));
        assert_eq!(f.max, None);
        assert!(f.in_stock);
        assert_eq!((f.sort, f.page, f.q.as_deref()), ("-price", 3, Some("Bosch")));
        let q = f.query(Some("kettles"), PAGE_SIZE);
        assert_eq!((q.min_price, q.max_price, q.sort, q.page), (Some(100_000), None, Sort::PriceDesc, 3));
        assert_eq!(f.query_string(2), "q=Bosch&min_price=1+000&in_stock=1&sort=-price&page=2");
        assert_eq!(Filters::parse(&pairs(&f.query_string(3))), f);
        let d = Filters::parse(&pairs("sort=evil&page=0&q="));
        assert_eq!((d.sort, d.page, d.q.as_deref()), ("new", 1, None));
        assert_eq!(d.query_string(1), "");
    }

    #[test]
    fn pager_shows_a_window_with_gaps() {
        let p = pager(5, 10, &|n| format!("?page={n}")).unwrap();
        let labels: Vec<&str> = p.pages.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["1", "…", "3", "4", "5", "6", "7", "…", "10"]);
        assert_eq!((p.prev.as_deref(), p.next.as_deref()), (Some("?page=4"), Some("?page=6")));
        assert!(p.pages.iter().any(|l| l.current && l.label == "5"));
        assert!(pager(1, 1, &|n| n.to_string()).is_none());
        let last = pager(3, 3, &|n| n.to_string()).unwrap();
        assert_eq!(last.next, None);
    }
}
