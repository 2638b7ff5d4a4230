//! The storefront's URLs: a page's address in each region form (path prefix `/msk/...`,
//! subdomain `msk.shop.ru`, plain), where the region picker may send the shopper back to,
//! and the region cookie. Pure functions over strings, so the rules are unit-tested.

use megashop_core::routing::Strategy;
use std::net::IpAddr;

/// Where the request came in: enough to build absolute URLs for this store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// The host the client used, normalized, without port (`msk.localhost`).
    pub host: String,
    /// The store domain that host matched (`localhost`), base of region subdomains.
    pub domain: String,
    /// The port from the `Host` header, unless it is the scheme's default.
    pub port: Option<u16>,
}

impl Origin {
    /// Builds the origin from the scheme, the raw `Host` header and the matched names.
    pub fn new(https: bool, host_header: &str, host: &str, domain: &str) -> Origin {
        let scheme = if https { "https" } else { "http" };
        let default = if https { 443 } else { 80 };
        Origin {
            scheme,
            host: host.to_string(),
            domain: domain.to_string(),
            port: port_of(host_header).filter(|p| *p != default),
        }
    }

    fn url(&self, host: &str, path: &str) -> String {
        match self.port {
            Some(p) => format!("{}://{host}:{p}{path}", self.scheme),
            None => format!("{}://{host}{path}", self.scheme),
        }
    }

    /// `path` on the host the client used.
    pub fn plain(&self, path: &str) -> String {
        self.url(&self.host, path)
    }

    /// `path` under the region's path prefix, on the host the client used.
    pub fn with_prefix(&self, code: &str, path: &str) -> String {
        self.url(&self.host, &prefixed(code, path))
    }

    /// `path` on the region's subdomain of the store domain.
    pub fn on_subdomain(&self, code: &str, path: &str) -> String {
        self.url(&format!("{code}.{}", self.domain), path)
    }
}

/// The port of a `Host` header value (`localhost:8080`, `[::1]:8080`).
pub fn port_of(host_header: &str) -> Option<u16> {
    let h = host_header.trim();
    let after_host = match h.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map(|(_, r)| r)?,
        None => h,
    };
    let (_, port) = after_host.rsplit_once(':')?;
    port.parse().ok()
}

/// `/{code}` in front of a path (`/` gives `/spb/`).
pub fn prefixed(code: &str, path: &str) -> String {
    format!("/{code}{path}")
}

/// The page's canonical URL: its region's own URL form, or the plain URL when the
/// region did not come from the URL.
pub fn canonical(by: Strategy, region: Option<&str>, path: &str, o: &Origin) -> String {
    match (by, region) {
        (Strategy::Path, Some(code)) => o.with_prefix(code, path),
        (Strategy::Subdomain, Some(code)) => o.on_subdomain(code, path),
        _ => o.plain(path),
    }
}

/// The same page in region `code`: on its subdomain when the visitor came by subdomain,
/// else under its path prefix.
pub fn alternate(by: Strategy, code: &str, path: &str, o: &Origin) -> String {
    match by {
        Strategy::Subdomain => o.on_subdomain(code, path),
        _ => o.with_prefix(code, path),
    }
}

/// `return_to` when it is a path on this site: starts with one `/`, no backslash (which
/// browsers read as `/`), no control characters. `//evil.example`, `https://evil.example`
/// and `/\evil.example` are refused.
pub fn safe_return_to(s: &str) -> Option<&str> {
    let ok = s.starts_with('/')
        && !s.starts_with("//")
        && !s.contains('\\')
        && !s.chars().any(|c| c.is_control() || c.is_whitespace())
        && s.len() <= 2000;
    ok.then_some(s)
}

/// Drops every `name=...` pair from the query of `path_and_query`.
pub fn without_param(path_and_query: &str, name: &str) -> String {
    let Some((path, query)) = path_and_query.split_once('?') else { return path_and_query.to_string() };
    let kept: Vec<&str> = query.split('&').filter(|kv| !kv.is_empty() && kv.split('=').next() != Some(name)).collect();
    if kept.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

/// `path_and_query` without the `/{code}` prefix, when it has it.
fn strip_prefix(path_and_query: &str, code: &str) -> String {
    let Some(rest) = path_and_query.strip_prefix('/').and_then(|p| p.strip_prefix(code)) else {
        return path_and_query.to_string();
    };
    match rest.chars().next() {
        None => "/".to_string(),
        Some('/') => rest.to_string(),
        Some('?') => format!("/{rest}"),       // "/msk?x" → "/?x"
        Some(_) => path_and_query.to_string(), // "/mskx/..." is another path
    }
}

/// Where the region picker sends the shopper after choosing `new`: the other region's
/// URL when the region comes from the URL (path prefix replaced, or its subdomain),
/// else `return_to` itself. A `region=` query parameter is dropped so it cannot
/// override the choice.
pub fn switch_target(by: Strategy, current: Option<&str>, new: &str, return_to: &str, o: &Origin) -> String {
    let back = without_param(return_to, "region");
    match by {
        Strategy::Path => prefixed(new, &current.map_or(back.clone(), |c| strip_prefix(&back, c))),
        Strategy::Subdomain => o.on_subdomain(new, &back),
        _ => back,
    }
}

/// The `Domain` for the region cookie, so it holds across region subdomains: only for
/// a domain with a dot that is not an IP address (browsers refuse `Domain=localhost`).
pub fn cookie_domain(domain: &str) -> Option<&str> {
    let is_ip = domain.starts_with('[') || domain.parse::<IpAddr>().is_ok();
    (domain.contains('.') && !is_ip).then_some(domain)
}

/// The `Set-Cookie` value that remembers the chosen region for a year.
pub fn region_cookie(code: &str, domain: &str, secure: bool) -> String {
    let mut c = format!("region={code}; Path=/; Max-Age=31536000; SameSite=Lax");
    if let Some(d) = cookie_domain(domain) {
        c.push_str("; Domain=");
        c.push_str(d);
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(host: &str, domain: &str, header: &str) -> Origin {
        Origin::new(false, header, host, domain)
    }

    #[test]
    fn ports_come_from_the_host_header() {
        assert_eq!(port_of("localhost:8080"), Some(8080));
        assert_eq!(port_of("[::1]:3000"), Some(3000));
        assert_eq!(port_of("[::1]"), None);
        assert_eq!(port_of("shop.ru"), None);
        assert_eq!(port_of("shop.ru:x"), None);
        assert_eq!(Origin::new(true, "shop.ru:443", "shop.ru", "shop.ru").port, None);
        assert_eq!(Origin::new(false, "shop.ru:443", "shop.ru", "shop.ru").port, Some(443));
    }

    #[test]
    fn canonical_and_alternate_urls_follow_the_region_form() {
        let o = origin("localhost", "localhost", "localhost:8080");
        assert_eq!(
            canonical(Strategy::Path, Some("spb"), "/catalog?page=2", &o),
            "http://localhost:8080/spb/catalog?page=2"
        );
        assert_eq!(canonical(Strategy::Path, Some("spb"), "/", &o), "http://localhost:8080/spb/");
        assert_eq!(canonical(Strategy::Default, Some("msk"), "/", &o), "http://localhost:8080/");
        assert_eq!(canonical(Strategy::Geoip, Some("msk"), "/search?q=x", &o), "http://localhost:8080/search?q=x");
        let sub = Origin::new(true, "kzn.shop.ru", "kzn.shop.ru", "shop.ru");
        assert_eq!(canonical(Strategy::Subdomain, Some("kzn"), "/product/a", &sub), "https://kzn.shop.ru/product/a");
        assert_eq!(alternate(Strategy::Subdomain, "spb", "/product/a", &sub), "https://spb.shop.ru/product/a");
        assert_eq!(alternate(Strategy::Default, "spb", "/product/a", &o), "http://localhost:8080/spb/product/a");
    }

    #[test]
    fn only_same_site_paths_are_return_targets() {
        assert_eq!(safe_return_to("/catalog?page=2"), Some("/catalog?page=2"));
        assert_eq!(safe_return_to("/"), Some("/"));
        for bad in ["//evil.example", "https://evil.example", "/\\evil.example", "evil", "", "/a\nb", " /x", "/ /"] {
            assert_eq!(safe_return_to(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn switching_region_replaces_the_prefix_or_the_subdomain() {
        let o = origin("localhost", "localhost", "localhost:8080");
        assert_eq!(switch_target(Strategy::Path, Some("msk"), "spb", "/msk/product/a", &o), "/spb/product/a");
        assert_eq!(switch_target(Strategy::Path, Some("msk"), "spb", "/msk", &o), "/spb/");
        assert_eq!(switch_target(Strategy::Path, Some("msk"), "spb", "/msk?lang=en", &o), "/spb/?lang=en");
        assert_eq!(switch_target(Strategy::Path, Some("msk"), "spb", "/catalog", &o), "/spb/catalog");
        assert_eq!(switch_target(Strategy::Path, Some("msk"), "spb", "/mskx/a", &o), "/spb/mskx/a");
        let sub = origin("msk.localhost", "localhost", "msk.localhost:8080");
        assert_eq!(
            switch_target(Strategy::Subdomain, Some("msk"), "kzn", "/a?b=1", &sub),
            "http://kzn.localhost:8080/a?b=1"
        );
        assert_eq!(switch_target(Strategy::Explicit, Some("msk"), "kzn", "/a?region=msk&b=1", &o), "/a?b=1");
        assert_eq!(switch_target(Strategy::Default, None, "kzn", "/a?region=msk", &o), "/a");
    }

    #[test]
    fn the_cookie_names_a_domain_only_when_browsers_accept_it() {
        assert_eq!(region_cookie("spb", "localhost", false), "region=spb; Path=/; Max-Age=31536000; SameSite=Lax");
        assert_eq!(
            region_cookie("spb", "shop.ru", true),
            "region=spb; Path=/; Max-Age=31536000; SameSite=Lax; Domain=shop.ru; Secure"
        );
        assert_eq!(cookie_domain("127.0.0.1"), None);
        assert_eq!(cookie_domain("[::1]"), None);
        assert_eq!(cookie_domain("demo.localhost"), Some("demo.localhost"));
    }
}
