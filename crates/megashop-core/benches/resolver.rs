//! Cost of choosing a request's region (issue target: < 2 µs with GeoIP, < 200 ns
//! otherwise). Run: `cargo bench -p megashop-core --bench resolver`.

use criterion::{criterion_group, criterion_main, Criterion};
use megashop_core::routing::geo::GeoDb;
use megashop_core::routing::{GeoMatcher, GeoRules, RegionEntry, RegionTable, RequestFacts, Strategy};
use std::hint::black_box;
use std::net::IpAddr;
use std::path::PathBuf;

fn table() -> RegionTable {
    let rules = |v: serde_json::Value| GeoMatcher::from(&serde_json::from_value::<GeoRules>(v).unwrap());
    let mut regions = vec![
        RegionEntry {
            code: "msk".into(),
            geo: rules(
                serde_json::json!({"cities": [524901], "subdivisions": ["MOW", "MOS"], "names": ["Москва", "Moscow"]}),
            ),
        },
        RegionEntry {
            code: "spb".into(),
            geo: rules(
                serde_json::json!({"cities": [498817], "subdivisions": ["SPE", "LEN"], "names": ["Санкт-Петербург", "St Petersburg"]}),
            ),
        },
        RegionEntry {
            code: "kzn".into(),
            geo: rules(serde_json::json!({"cities": [551487], "subdivisions": ["TA"], "names": ["Казань", "Kazan"]})),
        },
    ];
    // A store with 20 regions, the searched ones at the end.
    for i in 0..17 {
        regions.insert(
            0,
            RegionEntry {
                code: format!("r{i}"),
                geo: rules(serde_json::json!({"cities": [i], "names": [format!("Город {i}")]})),
            },
        );
    }
    RegionTable { regions, default: Some(0), strategies: Strategy::DEFAULT_ORDER.to_vec() }
}

fn bench(c: &mut Criterion) {
    let t = table();
    let mut g = c.benchmark_group("resolve");
    g.bench_function("subdomain", |b| {
        b.iter(|| t.resolve(black_box(&RequestFacts { subdomain: Some("kzn"), ..Default::default() })))
    });
    g.bench_function("path", |b| {
        b.iter(|| t.resolve(black_box(&RequestFacts { path_segment: Some("spb"), ..Default::default() })))
    });
    g.bench_function("cookie", |b| {
        b.iter(|| {
            t.resolve(black_box(&RequestFacts { path_segment: Some("api"), cookie: Some("kzn"), ..Default::default() }))
        })
    });
    g.bench_function("default", |b| {
        b.iter(|| t.resolve(black_box(&RequestFacts { path_segment: Some("api"), ..Default::default() })))
    });
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/geo/GeoLite2-City-2019-12-24-RU.mmdb");
    let db = GeoDb::open(&path).unwrap_or_else(|e| panic!("GeoIP fixture needed at {}: {e}", path.display()));
    let ip: IpAddr = "5.18.0.1".parse().unwrap();
    g.bench_function("geoip (lookup + match)", |b| {
        b.iter(|| {
            let geo = db.lookup(black_box(ip));
            t.resolve(&RequestFacts { path_segment: Some("api"), geo: geo.as_ref(), ..Default::default() })
        })
    });
    let dbip = GeoDb::open(&path.with_file_name("dbip-city-lite-2026-06-RU.mmdb")).expect("DB-IP fixture");
    g.bench_function("geoip DB-IP (lookup + name match)", |b| {
        b.iter(|| {
            let geo = dbip.lookup(black_box(ip));
            t.resolve(&RequestFacts { path_segment: Some("api"), geo: geo.as_ref(), ..Default::default() })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
