//! Benchmark of the 1C catalogue import (run by `scripts/bench-1c`).
//!
//! Generates a CommerceML 2.09 exchange (`cml::gen`: an `import.xml` of N products with a
//! classifier, an `offers.xml` with prices of two price types and stock in two
//! warehouses), then in one process and one database (SQLite file; PostgreSQL when
//! `MEGASHOP_TEST_PG_URL` is set), measures:
//!
//! - `parse`: reading both files with the streaming reader alone (the ceiling of the
//!   import: what it costs to only look at the XML);
//! - `import`: both files into an empty store, as 1C's `mode=import` runs them;
//! - `re-import`: the same files again (everything unchanged).
//!
//! Prints one line of JSON per phase and the peak RSS of the process (`VmHWM`).
//! `BENCH_PRODUCTS` (100000) sets the size.

use megashop_onec::cml::{gen, CmlReader};
use megashop_onec::import::{import_file, MappingSettings, Progress};
use megashop_onec::OneC;
use megashop_plugin::{Engine, EngineOptions, Keyring, NewInstance, Registry};
use megashop_test_support::TestDb;
use std::io::BufWriter;
use std::sync::Arc;
use std::time::Instant;

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("BENCH_PRODUCTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let engine_name = if std::env::var("MEGASHOP_TEST_PG_URL").is_ok() { "postgres" } else { "sqlite" };
    let db = TestDb::new().await;
    let dir = db.dir.path().to_path_buf();
    let import_xml = dir.join("import.xml");
    let offers_xml = dir.join("offers.xml");
    gen::write_import(BufWriter::new(std::fs::File::create(&import_xml)?), n, 42)?;
    gen::write_offers(BufWriter::new(std::fs::File::create(&offers_xml)?), n, 42)?;
    let size_mb = (std::fs::metadata(&import_xml)?.len() + std::fs::metadata(&offers_xml)?.len()) as f64 / 1e6;

    let t = Instant::now();
    let mut items = 0u64;
    for f in [&import_xml, &offers_xml] {
        let mut r = CmlReader::from_path(f)?;
        while r.next_item()?.is_some() {
            items += 1;
        }
    }
    let parse = t.elapsed().as_secs_f64();
    println!(
        "{{\"engine\":\"{engine_name}\",\"phase\":\"parse\",\"products\":{n},\"mb\":{size_mb:.1},\"items\":{items},\"secs\":{parse:.3},\"products_per_sec\":{:.0}}}",
        n as f64 / parse
    );

    let cx = megashop_test_support::store_with_prices(&db.conn, "bench").await;
    let registry = Arc::new(Registry::new().with(Arc::new(OneC::new()))?);
    let opts = EngineOptions { data_dir: dir.clone(), ..EngineOptions::default() };
    let engine = Engine::new(db.conn.clone(), registry, Keyring::new(&[7; 32], &[]), opts);
    let mut settings = serde_json::Map::new();
    settings.insert("login".into(), "bench".into());
    let mut credentials = serde_json::Map::new();
    credentials.insert("password".into(), "bench-password".into());
    engine
        .add(&cx, NewInstance { plugin: "1c".into(), settings, credentials, enabled: true, ..NewInstance::default() })
        .await?;
    let onec = engine.context(&cx, "1c").await?;
    for phase in ["import", "re-import"] {
        let since = chrono::Utc::now();
        let t = Instant::now();
        let mut created = 0;
        let mut unchanged = 0;
        let mut per_file = Vec::new();
        for f in [&import_xml, &offers_xml] {
            let tf = Instant::now();
            let o = import_file(&onec, f, &MappingSettings::default(), since, Arc::new(Progress::default()))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            anyhow::ensure!(o.failed == 0, "{o:?}");
            created += o.created;
            unchanged += o.unchanged;
            per_file.push(format!("{:.3}", tf.elapsed().as_secs_f64()));
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{{\"engine\":\"{engine_name}\",\"phase\":\"{phase}\",\"products\":{n},\"created\":{created},\"unchanged\":{unchanged},\"secs\":{secs:.3},\"import_xml_offers_xml_secs\":[{}],\"products_per_sec\":{:.0},\"x_parse\":{:.2}}}",
            per_file.join(","),
            n as f64 / secs,
            secs / parse
        );
    }
    println!("{{\"engine\":\"{engine_name}\",\"phase\":\"peak_rss\",\"mb\":{:.0}}}", peak_rss_mb());
    Ok(())
}
