//! Shared server state and the in-process catalogue cache.

use bytes::Bytes;
use megashop_core::accounts::Accounts;
use megashop_core::auth::Keys;
use megashop_core::config::Config;
use megashop_core::regions::RegionCx;
use megashop_core::routing::geo::GeoSource;
use megashop_core::routing::RegionTable;
use megashop_core::tenancy::HostMatch;
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Everything handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Database pool.
    pub db: DatabaseConnection,
    /// Token keys (the same as `accounts.keys`).
    pub keys: Arc<Keys>,
    /// Accounts: registration, login, sessions, staff.
    pub accounts: Arc<Accounts>,
    /// Loaded configuration.
    pub config: Arc<Config>,
    /// Hot-read cache.
    pub cache: Arc<Cache>,
    /// GeoIP database (reloaded when its file changes).
    pub geo: Arc<GeoSource>,
    /// Proxies whose forwarding headers are believed.
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    /// Catalogue import jobs run by this process.
    pub imports: Arc<crate::routes::imports::ImportJobs>,
    /// Integrations: the plugins of this build and the sync engine that runs them.
    pub plugins: megashop_plugin::Engine,
}

impl AppState {
    /// Builds the state from a pool, the accounts service and configuration, with no
    /// plugins (add them with [`AppState::with_plugins`]).
    pub fn new(db: DatabaseConnection, accounts: Accounts, config: Config) -> Self {
        let ttl = Duration::from_millis(config.cache.catalog_ttl_ms);
        let geo = Arc::new(GeoSource::new(Some(config.geoip_path())));
        geo.spawn_watcher(Duration::from_secs(config.geoip.reload_check_secs.max(1)));
        let cache = Arc::new(Cache::new(ttl));
        let plugins =
            megashop_plugin::Engine::from_config(db.clone(), Arc::new(megashop_plugin::Registry::new()), &config);
        // A run changes the catalogue outside any request: show it at once.
        let c = cache.clone();
        plugins.on_run_finished(Arc::new(move |_| c.invalidate()));
        AppState {
            db,
            keys: Arc::new(accounts.keys.clone()),
            accounts: Arc::new(accounts),
            trusted_proxies: Arc::new(config.trusted_proxies()),
            config: Arc::new(config),
            cache,
            geo,
            imports: Arc::default(),
            plugins,
        }
    }

    /// The same state serving the plugins of `registry` (the built-ins the `megashop`
    /// command registers).
    pub fn with_plugins(mut self, registry: Arc<megashop_plugin::Registry>) -> Self {
        self.plugins = self.plugins.with_registry(registry);
        self
    }
}

struct Entry<V> {
    generation: u64,
    at: Instant,
    value: V,
}

/// A small TTL map whose entries also die when the cache generation moves on.
struct TtlMap<K, V> {
    map: Mutex<HashMap<K, Entry<V>>>,
}

const MAX_ENTRIES: usize = 20_000;

impl<K: Eq + Hash, V: Clone> TtlMap<K, V> {
    fn new() -> Self {
        TtlMap { map: Mutex::new(HashMap::new()) }
    }

    fn get(&self, k: &K, generation: u64, ttl: Duration) -> Option<V> {
        let map = self.map.lock().ok()?;
        map.get(k).filter(|e| e.generation == generation && e.at.elapsed() < ttl).map(|e| e.value.clone())
    }

    fn put(&self, k: K, generation: u64, value: V) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(k, Entry { generation, at: Instant::now(), value });
        }
    }
}

/// In-process cache of tenants by host, regions, and rendered catalogue responses.
///
/// Any successful write through this server bumps the generation, which invalidates
/// everything at once; the TTL (`cache.catalog_ttl_ms`) bounds how stale a read can be
/// after a write made by another server process. A TTL of 0 disables caching.
pub struct Cache {
    generation: AtomicU64,
    ttl: Duration,
    tenants: TtlMap<String, Arc<HostMatch>>,
    tables: TtlMap<i64, Arc<RegionTable>>,
    regions: TtlMap<(i64, String), Arc<RegionCx>>,
    responses: TtlMap<String, Bytes>,
    inflight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Cache {
    /// A cache whose entries live at most `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Cache {
            generation: AtomicU64::new(0),
            ttl,
            tenants: TtlMap::new(),
            tables: TtlMap::new(),
            regions: TtlMap::new(),
            responses: TtlMap::new(),
            inflight: Mutex::new(HashMap::new()),
        }
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Forgets everything (called after every successful write).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// A cached store match for a normalized host.
    pub fn tenant(&self, host: &str) -> Option<Arc<HostMatch>> {
        if !self.enabled() {
            return None;
        }
        self.tenants.get(&host.to_string(), self.generation(), self.ttl)
    }

    /// Remembers the store match of a host.
    pub fn put_tenant(&self, host: String, t: Arc<HostMatch>) {
        if self.enabled() {
            self.tenants.put(host, self.generation(), t);
        }
    }

    /// A cached routing table of a store.
    pub fn table(&self, tenant_id: i64) -> Option<Arc<RegionTable>> {
        if !self.enabled() {
            return None;
        }
        self.tables.get(&tenant_id, self.generation(), self.ttl)
    }

    /// Remembers a store's routing table.
    pub fn put_table(&self, tenant_id: i64, t: Arc<RegionTable>) {
        if self.enabled() {
            self.tables.put(tenant_id, self.generation(), t);
        }
    }

    /// A cached region context (`code` empty for the default region).
    pub fn region(&self, tenant_id: i64, code: &str) -> Option<Arc<RegionCx>> {
        if !self.enabled() {
            return None;
        }
        self.regions.get(&(tenant_id, code.to_string()), self.generation(), self.ttl)
    }

    /// Remembers a region context.
    pub fn put_region(&self, tenant_id: i64, code: String, r: Arc<RegionCx>) {
        if self.enabled() {
            self.regions.put((tenant_id, code), self.generation(), r);
        }
    }

    /// A cached response body by key, with the generation it must be stored under.
    pub fn response(&self, key: &str) -> (Option<Bytes>, u64) {
        let g = self.generation();
        if !self.enabled() {
            return (None, g);
        }
        (self.responses.get(&key.to_string(), g, self.ttl), g)
    }

    /// A lock per cache key, so that when an entry expires one request recomputes it while
    /// the others wait for its result instead of all hitting the database at once.
    pub fn flight(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let Ok(mut map) = self.inflight.lock() else { return Arc::new(tokio::sync::Mutex::new(())) };
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, m| Arc::strong_count(m) > 1);
        }
        map.entry(key.to_string()).or_default().clone()
    }

    /// Stores a response body computed while the cache was at `generation`.
    pub fn put_response(&self, key: String, generation: u64, body: Bytes) {
        if self.enabled() {
            self.responses.put(key, generation, body);
        }
    }
}
