//! Which region a request is for.
//!
//! Each store has an ordered list of [`Strategy`]s. [`RegionTable::resolve`] walks it
//! with the facts of one request ([`RequestFacts`]) and returns the first region a
//! strategy names, and which strategy named it. It is a pure function over data the
//! server keeps in memory, so it costs nanoseconds (see `benches/resolver.rs`); the
//! database and the GeoIP file are read elsewhere.

pub mod geo;

use geo::NormalizedFacts;
pub use geo::{GeoFacts, GeoMatcher, GeoRules};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One way of choosing the region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// First path segment: `shop.ru/msk/catalog`.
    Path,
    /// First host label before a store domain: `msk.shop.ru`.
    Subdomain,
    /// `?region=`, the `X-Region` header, or the `region` cookie set by the region picker.
    Explicit,
    /// The client's IP address, through the GeoIP database and the regions' geo rules.
    Geoip,
    /// The store's default region.
    Default,
}

impl Strategy {
    /// The name used in settings and in `X-Megashop-Region: msk; by=<name>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Path => "path",
            Strategy::Subdomain => "subdomain",
            Strategy::Explicit => "explicit",
            Strategy::Geoip => "geoip",
            Strategy::Default => "default",
        }
    }

    /// The order used when a store has not chosen one.
    pub const DEFAULT_ORDER: [Strategy; 5] =
        [Strategy::Path, Strategy::Subdomain, Strategy::Explicit, Strategy::Geoip, Strategy::Default];
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Region codes that can never be used, because they are the first segment of our own
/// paths (a path-prefix region must not shadow them).
pub const RESERVED_CODES: [&str; 13] = [
    "api",
    "static",
    "healthz",
    "readyz",
    "metrics",
    "admin",
    "www",
    "assets",
    "catalog",
    "product",
    "search",
    "region",
    "integrations",
];

/// What the server knows about one request, borrowed from it.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestFacts<'a> {
    /// First path segment, if any (`msk` in `/msk/catalog`).
    pub path_segment: Option<&'a str>,
    /// Host label in front of the store domain (`msk` in `msk.shop.ru`), if any.
    pub subdomain: Option<&'a str>,
    /// `?region=` value.
    pub query: Option<&'a str>,
    /// `X-Region` header value.
    pub header: Option<&'a str>,
    /// `region` cookie value.
    pub cookie: Option<&'a str>,
    /// The client's location, when GeoIP knows it.
    pub geo: Option<&'a GeoFacts>,
    /// True for search-engine crawlers: they always get the URL's own region, never a
    /// location-based one, so every regional URL is indexed as itself.
    pub is_bot: bool,
}

/// The outcome of [`RegionTable::resolve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolution {
    /// Index of the region in the table.
    pub index: usize,
    /// The strategy that chose it.
    pub by: Strategy,
    /// True when the region came from the first path segment, which the server strips.
    pub strip_path_segment: bool,
}

/// A region code that a path or subdomain named but the store does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownRegion {
    /// Where it came from.
    pub by: Strategy,
    /// The code as given.
    pub code: String,
}

/// One region as the resolver needs it.
#[derive(Clone, Debug)]
pub struct RegionEntry {
    /// Code (`msk`).
    pub code: String,
    /// Geo rules, prepared for matching.
    pub geo: GeoMatcher,
}

/// A store's regions and routing order, ready for per-request resolution.
#[derive(Clone, Debug, Default)]
pub struct RegionTable {
    /// Regions in picker order.
    pub regions: Vec<RegionEntry>,
    /// Index of the default region.
    pub default: Option<usize>,
    /// Strategies in the order they are tried.
    pub strategies: Vec<Strategy>,
}

fn clean(code: &str) -> Option<&str> {
    let c = code.trim();
    (!c.is_empty() && c.len() <= 32).then_some(c)
}

impl RegionTable {
    /// Index of the region with this code (ASCII case-insensitive).
    pub fn find(&self, code: &str) -> Option<usize> {
        let code = clean(code)?;
        self.regions.iter().position(|r| r.code.eq_ignore_ascii_case(code))
    }

    /// Picks the region for a request.
    ///
    /// * A path segment or subdomain that is a region code wins when its strategy comes
    ///   up. A path segment that is not a region is an ordinary path and falls through; a
    ///   subdomain that is not a region is an error (`UnknownRegion`), because the host
    ///   itself names it. `www` is never a region.
    /// * An explicit code that is not a region is an error too, so typos are visible.
    /// * GeoIP never fails: no database, no match or a crawler falls through.
    pub fn resolve(&self, f: &RequestFacts<'_>) -> Result<Option<Resolution>, UnknownRegion> {
        let hit = |index, by| Ok(Some(Resolution { index, by, strip_path_segment: by == Strategy::Path }));
        for s in &self.strategies {
            match s {
                Strategy::Path => {
                    if let Some(i) = f.path_segment.and_then(|seg| self.find(seg)) {
                        return hit(i, Strategy::Path);
                    }
                }
                Strategy::Subdomain => {
                    if let Some(sub) = f.subdomain.filter(|s| !s.eq_ignore_ascii_case("www")) {
                        return match self.find(sub) {
                            Some(i) => hit(i, Strategy::Subdomain),
                            None => Err(UnknownRegion { by: Strategy::Subdomain, code: sub.to_string() }),
                        };
                    }
                }
                Strategy::Explicit => {
                    if let Some(code) = f.query.or(f.header) {
                        return match self.find(code) {
                            Some(i) => hit(i, Strategy::Explicit),
                            None => Err(UnknownRegion { by: Strategy::Explicit, code: code.to_string() }),
                        };
                    }
                    // A stale cookie (the region was deleted) is ignored, not an error.
                    if let Some(i) = f.cookie.and_then(|c| self.find(c)) {
                        return hit(i, Strategy::Explicit);
                    }
                }
                Strategy::Geoip => {
                    if f.is_bot {
                        continue;
                    }
                    if let Some(i) = f.geo.and_then(|g| self.match_geo(g)) {
                        return hit(i, Strategy::Geoip);
                    }
                }
                Strategy::Default => {
                    if let Some(i) = self.default.or((!self.regions.is_empty()).then_some(0)) {
                        return hit(i, Strategy::Default);
                    }
                }
            }
        }
        Ok(None)
    }

    /// The region whose geo rules match the location most specifically (city over
    /// subdivision over country); ties go to the earlier region.
    pub fn match_geo(&self, g: &GeoFacts) -> Option<usize> {
        let best = |n: &NormalizedFacts<'_>| {
            let mut best: Option<(u8, usize)> = None;
            for (i, r) in self.regions.iter().enumerate() {
                let score = r.geo.score(n);
                if score > 0 && best.is_none_or(|(b, _)| score > b) {
                    best = Some((score, i));
                }
            }
            best
        };
        // Ids and codes first; names (which must be normalized, i.e. allocated) only when
        // they could still find a more specific match.
        let by_codes = best(&NormalizedFacts::new(g, false));
        if by_codes.is_some_and(|(s, _)| s == 3) || !self.regions.iter().any(|r| r.geo.has_names()) {
            return by_codes.map(|(_, i)| i);
        }
        let by_names = best(&NormalizedFacts::new(g, true));
        match (by_codes, by_names) {
            (Some((a, i)), Some((b, j))) => Some(if b > a || (b == a && j < i) { j } else { i }),
            (x, y) => x.or(y).map(|(_, i)| i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RegionTable {
        let rules = |json: serde_json::Value| GeoMatcher::from(&serde_json::from_value::<GeoRules>(json).unwrap());
        RegionTable {
            regions: vec![
                RegionEntry {
                    code: "msk".into(),
                    geo: rules(serde_json::json!({"cities": [524901], "subdivisions": ["MOW", "MOS"]})),
                },
                RegionEntry {
                    code: "spb".into(),
                    geo: rules(serde_json::json!({"names": ["Санкт-Петербург", "St Petersburg"]})),
                },
                RegionEntry { code: "kzn".into(), geo: rules(serde_json::json!({"countries": ["RU"]})) },
            ],
            default: Some(0),
            strategies: Strategy::DEFAULT_ORDER.to_vec(),
        }
    }

    fn code(t: &RegionTable, f: RequestFacts<'_>) -> (String, &'static str) {
        let r = t.resolve(&f).unwrap().unwrap();
        (t.regions[r.index].code.clone(), r.by.as_str())
    }

    #[test]
    fn each_strategy_and_the_default_order() {
        let t = table();
        let moscow = GeoFacts { city_geoname_id: Some(524901), country: Some("RU".into()), ..Default::default() };
        let f = RequestFacts {
            path_segment: Some("spb"),
            subdomain: Some("kzn"),
            query: Some("msk"),
            geo: Some(&moscow),
            ..Default::default()
        };
        assert_eq!(code(&t, f), ("spb".into(), "path"));
        let f = RequestFacts { path_segment: Some("catalog"), ..f };
        assert_eq!(code(&t, f), ("kzn".into(), "subdomain"));
        let f = RequestFacts { subdomain: None, ..f };
        assert_eq!(code(&t, f), ("msk".into(), "explicit"));
        let f = RequestFacts { query: None, header: Some("SPB"), ..f };
        assert_eq!(code(&t, f), ("spb".into(), "explicit"));
        let f = RequestFacts { header: None, cookie: Some("kzn"), ..f };
        assert_eq!(code(&t, f), ("kzn".into(), "explicit"));
        let f = RequestFacts { cookie: Some("deleted-region"), ..f };
        assert_eq!(code(&t, f), ("msk".into(), "geoip"));
        let f = RequestFacts { is_bot: true, ..f };
        assert_eq!(code(&t, f), ("msk".into(), "default"));
        assert_eq!(code(&t, RequestFacts::default()), ("msk".into(), "default"));
    }

    #[test]
    fn a_store_can_reorder_or_drop_strategies() {
        let mut t = table();
        t.strategies = vec![Strategy::Explicit, Strategy::Subdomain, Strategy::Default];
        let f = RequestFacts {
            subdomain: Some("kzn"),
            query: Some("spb"),
            path_segment: Some("msk"),
            ..Default::default()
        };
        assert_eq!(code(&t, f), ("spb".into(), "explicit"));
        t.strategies = vec![Strategy::Geoip];
        assert_eq!(t.resolve(&RequestFacts::default()).unwrap(), None);
    }

    #[test]
    fn unknown_codes_in_hosts_and_explicit_choices_are_errors_www_is_not_a_region() {
        let t = table();
        let e = t.resolve(&RequestFacts { subdomain: Some("ekb"), ..Default::default() }).unwrap_err();
        assert_eq!(e, UnknownRegion { by: Strategy::Subdomain, code: "ekb".into() });
        assert!(t.resolve(&RequestFacts { query: Some("<script>"), ..Default::default() }).is_err());
        let www = RequestFacts { subdomain: Some("www"), ..Default::default() };
        assert_eq!(code(&t, www), ("msk".into(), "default"));
        let long = "x".repeat(1000);
        assert_eq!(t.find(&long), None);
    }

    #[test]
    fn most_specific_geo_rule_wins() {
        let t = table();
        let spb = GeoFacts {
            city_name: Some("St Petersburg (Tsentralnyy rayon)".into()),
            country: Some("RU".into()),
            ..Default::default()
        };
        assert_eq!(t.regions[t.match_geo(&spb).unwrap()].code, "spb");
        let ufa = GeoFacts { city_geoname_id: Some(479561), country: Some("RU".into()), ..Default::default() };
        assert_eq!(t.regions[t.match_geo(&ufa).unwrap()].code, "kzn", "country-level rule catches the rest of Russia");
        let oblast = GeoFacts { subdivisions: vec!["MOS".into()], country: Some("RU".into()), ..Default::default() };
        assert_eq!(t.regions[t.match_geo(&oblast).unwrap()].code, "msk");
        let us = GeoFacts { country: Some("US".into()), ..Default::default() };
        assert_eq!(t.match_geo(&us), None);
    }
}
