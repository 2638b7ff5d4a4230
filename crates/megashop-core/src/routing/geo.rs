//! GeoIP: reading MaxMind-format databases (GeoLite2/GeoIP2 City or Country, DB-IP Lite
//! city or country) and matching a location against a region's rules.
//!
//! The database file is reloaded when it changes on disk, so `geoipupdate` (or a cron
//! job replacing a DB-IP file) needs no restart. A missing, unreadable or corrupt file is
//! logged and simply means "no location": routing falls through to the next strategy.

use maxminddb::Reader;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// Where a client is, as far as the database knows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GeoFacts {
    /// ISO 3166-1 country code (`RU`).
    pub country: Option<String>,
    /// ISO 3166-2 subdivision codes without the country (`MOW`), most general first.
    pub subdivisions: Vec<String>,
    /// Subdivision names (any language the database has).
    pub subdivision_names: Vec<String>,
    /// GeoNames id of the city (GeoLite2/GeoIP2 only).
    pub city_geoname_id: Option<u32>,
    /// City name (Russian when the database has it, else English).
    pub city_name: Option<String>,
}

/// A region's geo rules: which locations belong to it. Empty rules match nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeoRules {
    /// ISO country codes (`RU`, `KZ`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// ISO 3166-2 subdivision codes, with or without the country (`MOW`, `RU-MOS`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subdivisions: Vec<String>,
    /// GeoNames city ids (`524901` is Moscow).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cities: Vec<u32>,
    /// City or subdivision names in any language (`Москва`, `Moscow`, `St.-Petersburg`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

/// Lower case, no district in parentheses, no dots/apostrophes/dashes: so that
/// `St.-Petersburg`, `St Petersburg (Tsentralnyy rayon)` and `st petersburg` compare equal.
pub fn normalize_name(s: &str) -> String {
    let base = s.split('(').next().unwrap_or(s);
    let mut out = String::with_capacity(base.len());
    let mut space = false;
    for c in base.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(if c == 'ё' { 'е' } else { c });
        } else if matches!(c, ' ' | '-' | '.' | '_') {
            space = true;
        }
    }
    out
}

impl GeoRules {
    /// True when no rule is set.
    pub fn is_empty(&self) -> bool {
        self.countries.is_empty() && self.subdivisions.is_empty() && self.cities.is_empty() && self.names.is_empty()
    }
}

/// [`GeoRules`] prepared for matching: codes upper-cased, names normalized once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GeoMatcher {
    countries: Vec<String>,
    /// (country or "", subdivision code), upper case.
    subdivisions: Vec<(String, String)>,
    cities: Vec<u32>,
    names: Vec<String>,
}

impl From<&GeoRules> for GeoMatcher {
    fn from(r: &GeoRules) -> Self {
        GeoMatcher {
            countries: r.countries.iter().map(|c| c.to_ascii_uppercase()).collect(),
            subdivisions: r
                .subdivisions
                .iter()
                .map(|s| match s.split_once('-') {
                    Some((country, code)) => (country.to_ascii_uppercase(), code.to_ascii_uppercase()),
                    None => (String::new(), s.to_ascii_uppercase()),
                })
                .collect(),
            cities: r.cities.clone(),
            names: r.names.iter().map(|n| normalize_name(n)).filter(|n| !n.is_empty()).collect(),
        }
    }
}

/// A location with its names normalized once, to be scored against many regions.
pub struct NormalizedFacts<'a> {
    facts: &'a GeoFacts,
    city: Option<String>,
    subdivisions: Vec<String>,
}

impl<'a> NormalizedFacts<'a> {
    /// Normalizes the names of `facts` (only worth it when some region matches by name).
    pub fn new(facts: &'a GeoFacts, with_names: bool) -> Self {
        NormalizedFacts {
            facts,
            city: if with_names { facts.city_name.as_deref().map(normalize_name) } else { None },
            subdivisions: if with_names {
                facts.subdivision_names.iter().map(|n| normalize_name(n)).collect()
            } else {
                vec![]
            },
        }
    }
}

impl GeoMatcher {
    /// True when some rule matches by name.
    pub fn has_names(&self) -> bool {
        !self.names.is_empty()
    }

    /// How specifically the rules match: 3 city, 2 subdivision, 1 country, 0 no match.
    pub fn score(&self, n: &NormalizedFacts<'_>) -> u8 {
        let g = n.facts;
        if g.city_geoname_id.is_some_and(|id| self.cities.contains(&id))
            || n.city.as_ref().is_some_and(|c| self.names.contains(c))
        {
            return 3;
        }
        let country = g.country.as_deref().unwrap_or("");
        if g.subdivisions.iter().any(|s| {
            self.subdivisions
                .iter()
                .any(|(c, r)| r.eq_ignore_ascii_case(s) && (c.is_empty() || c.eq_ignore_ascii_case(country)))
        }) || n.subdivisions.iter().any(|s| self.names.contains(s))
        {
            return 2;
        }
        if g.country.as_deref().is_some_and(|c| self.countries.iter().any(|x| x.eq_ignore_ascii_case(c))) {
            return 1;
        }
        0
    }
}

#[derive(Deserialize)]
struct Names<'a> {
    #[serde(borrow, default)]
    ru: Option<&'a str>,
    #[serde(borrow, default)]
    en: Option<&'a str>,
}

impl<'a> Names<'a> {
    fn best(&self) -> Option<&'a str> {
        self.ru.or(self.en)
    }
}

#[derive(Deserialize)]
struct Country<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct Subdivision<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
    #[serde(borrow, default)]
    names: Option<Names<'a>>,
}

#[derive(Deserialize)]
struct City<'a> {
    #[serde(default)]
    geoname_id: Option<u32>,
    #[serde(borrow, default)]
    names: Option<Names<'a>>,
}

/// GeoIP2/GeoLite2 records (`city` is an object) ...
#[derive(Deserialize)]
struct Geoip2Record<'a> {
    #[serde(borrow, default)]
    country: Option<Country<'a>>,
    #[serde(borrow, default)]
    subdivisions: Option<Vec<Subdivision<'a>>>,
    #[serde(borrow, default)]
    city: Option<City<'a>>,
}

/// ... and DB-IP Lite records (flat, `city` is a string).
#[derive(Deserialize)]
struct DbipRecord<'a> {
    #[serde(borrow, default)]
    country_code: Option<&'a str>,
    #[serde(borrow, default)]
    city: Option<&'a str>,
    #[serde(borrow, default)]
    state1: Option<&'a str>,
    #[serde(borrow, default)]
    state2: Option<&'a str>,
}

/// Which record layout a database uses, from its metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Schema {
    Geoip2,
    Dbip,
}

/// An open GeoIP database.
pub struct GeoDb {
    reader: Reader<Vec<u8>>,
    schema: Schema,
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoDb").field("type", &self.reader.metadata().database_type).finish()
    }
}

impl GeoDb {
    /// Opens a database file (checked: a corrupt file is an error here, not a panic later).
    pub fn open(path: &Path) -> Result<GeoDb, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        GeoDb::from_bytes(bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Opens a database from its bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<GeoDb, String> {
        let reader = Reader::from_source(bytes).map_err(|e| format!("not a MaxMind DB file: {e}"))?;
        let t = reader.metadata().database_type.to_ascii_lowercase();
        let schema = if t.contains("geoip2") || t.contains("geolite2") { Schema::Geoip2 } else { Schema::Dbip };
        Ok(GeoDb { reader, schema })
    }

    /// The database type from its metadata (`GeoLite2-City`, `country ipvAll`, ...).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// Looks an address up. IPv4-mapped IPv6 addresses are canonicalized first (some
    /// databases have no `::ffff:0:0/96` alias). Private, loopback and unknown addresses,
    /// and records the database cannot decode, give `None`.
    pub fn lookup(&self, ip: IpAddr) -> Option<GeoFacts> {
        let ip = ip.to_canonical();
        if !is_public(ip) {
            return None;
        }
        let found = self.reader.lookup(ip).ok()?;
        // The layout is told by the record itself: DB-IP's own files say "DBIP-City-Lite"
        // yet use GeoIP2 records, while rebuilt DB-IP files are flat.
        let geoip2 = match self.schema {
            Schema::Geoip2 => found.decode::<Geoip2Record<'_>>().ok().flatten(),
            Schema::Dbip => found.decode::<Geoip2Record<'_>>().ok().flatten().filter(|r| r.country.is_some()),
        };
        match geoip2 {
            Some(r) => {
                let subs = r.subdivisions.unwrap_or_default();
                let facts = GeoFacts {
                    country: r.country.and_then(|c| c.iso_code).map(str::to_string),
                    subdivisions: subs.iter().filter_map(|s| s.iso_code.map(str::to_string)).collect(),
                    subdivision_names: subs
                        .iter()
                        .filter_map(|s| s.names.as_ref())
                        .flat_map(|n| [n.ru, n.en])
                        .flatten()
                        .map(str::to_string)
                        .collect(),
                    city_geoname_id: r.city.as_ref().and_then(|c| c.geoname_id),
                    city_name: r.city.as_ref().and_then(|c| c.names.as_ref()).and_then(Names::best).map(str::to_string),
                };
                (facts != GeoFacts::default()).then_some(facts)
            }
            None => {
                let r: DbipRecord<'_> = found.decode().ok()??;
                let facts = GeoFacts {
                    country: r.country_code.map(str::to_string),
                    subdivisions: vec![],
                    subdivision_names: [r.state1, r.state2]
                        .into_iter()
                        .flatten()
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect(),
                    city_geoname_id: None,
                    city_name: r.city.filter(|s| !s.is_empty()).map(str::to_string),
                };
                (facts != GeoFacts::default()).then_some(facts)
            }
        }
    }
}

/// False for loopback, private, link-local, documentation and other non-routable addresses.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64) // CGNAT 100.64/10
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation
        }
    }
}

struct Loaded {
    db: Option<Arc<GeoDb>>,
    modified: Option<SystemTime>,
}

/// A GeoIP database file that is reloaded when it changes. Lookups only take a read
/// lock; reloading happens in [`GeoSource::reload_if_changed`], which a background task
/// calls (see [`GeoSource::spawn_watcher`]), never on a request.
pub struct GeoSource {
    path: Option<PathBuf>,
    state: RwLock<Loaded>,
}

impl GeoSource {
    /// Watches `path` (`None`: GeoIP off). A file that does not exist yet is picked up
    /// when it appears.
    pub fn new(path: Option<PathBuf>) -> GeoSource {
        let src = GeoSource { path, state: RwLock::new(Loaded { db: None, modified: None }) };
        src.reload_if_changed();
        src
    }

    /// A source with no database.
    pub fn disabled() -> GeoSource {
        GeoSource::new(None)
    }

    /// Loads the file again when its modification time changed. A file that fails to
    /// load leaves the previous database in service. Returns true when a new one loaded.
    pub fn reload_if_changed(&self) -> bool {
        let Some(path) = &self.path else { return false };
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let known = self.state.read().map(|s| s.modified).unwrap_or(None);
        if modified.is_none() || modified == known {
            return false;
        }
        match GeoDb::open(path) {
            Ok(db) => {
                tracing::info!(path = %path.display(), kind = db.database_type(), "GeoIP database loaded");
                if let Ok(mut s) = self.state.write() {
                    *s = Loaded { db: Some(Arc::new(db)), modified };
                }
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "GeoIP database not loaded; keeping the previous one, if any");
                if let Ok(mut s) = self.state.write() {
                    s.modified = modified;
                }
                false
            }
        }
    }

    /// Checks the file every `every` in a background task (inside a tokio runtime).
    pub fn spawn_watcher(self: &Arc<Self>, every: Duration) {
        if self.path.is_none() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
        let weak = Arc::downgrade(self);
        rt.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(src) = weak.upgrade() else { break };
                let _ = tokio::task::spawn_blocking(move || src.reload_if_changed()).await;
            }
        });
    }

    /// The database in service.
    pub fn current(&self) -> Option<Arc<GeoDb>> {
        self.state.read().ok()?.db.clone()
    }

    /// Looks up an address in the current database.
    pub fn lookup(&self, ip: IpAddr) -> Option<GeoFacts> {
        self.current()?.lookup(ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_across_spellings() {
        assert_eq!(normalize_name("St.-Petersburg"), normalize_name("St Petersburg (Tsentralnyy rayon)"));
        assert_eq!(normalize_name("Орёл"), "орел");
        assert_eq!(normalize_name("  Москва "), "москва");
    }

    #[test]
    fn private_addresses_are_not_looked_up() {
        for ip in ["127.0.0.1", "10.1.2.3", "192.168.0.1", "100.64.0.1", "::1", "fd00::1", "fe80::1"] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        assert!(is_public("95.165.0.1".parse().unwrap()));
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_a_panic() {
        assert!(GeoDb::from_bytes(b"definitely not an mmdb".to_vec()).is_err());
        assert!(GeoDb::from_bytes(vec![]).is_err());
        let src = GeoSource::new(Some(PathBuf::from("/nonexistent/GeoLite2-City.mmdb")));
        assert!(src.lookup("95.165.0.1".parse().unwrap()).is_none());
    }

    #[test]
    fn subdivision_rules_with_a_country_only_match_that_country() {
        let m = GeoMatcher::from(&GeoRules { subdivisions: vec!["RU-AL".into()], ..Default::default() });
        let us = GeoFacts { country: Some("US".into()), subdivisions: vec!["AL".into()], ..Default::default() };
        let ru = GeoFacts { country: Some("RU".into()), subdivisions: vec!["AL".into()], ..Default::default() };
        assert_eq!(m.score(&NormalizedFacts::new(&us, false)), 0);
        assert_eq!(m.score(&NormalizedFacts::new(&ru, false)), 2);
    }

    #[test]
    fn a_database_appearing_or_changing_later_is_picked_up_and_a_broken_one_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("GeoLite2-City.mmdb");
        let src = GeoSource::new(Some(path.clone()));
        assert!(src.current().is_none());
        let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/geo/GeoLite2-City-2019-12-24-RU.mmdb");
        std::fs::copy(&fixture, &path).unwrap_or_else(|e| panic!("fixture {}: {e}", fixture.display()));
        assert!(src.reload_if_changed());
        assert_eq!(src.lookup("5.18.0.1".parse().unwrap()).and_then(|g| g.city_geoname_id), Some(498817));
        std::fs::write(&path, b"broken").unwrap();
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(SystemTime::now() + Duration::from_secs(5)).unwrap();
        assert!(!src.reload_if_changed());
        assert!(src.lookup("5.18.0.1".parse().unwrap()).is_some(), "the previous database stays in service");
    }
}
