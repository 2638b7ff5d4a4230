//! Parse throughput of the CommerceML reader on generated УТ 11-style files (target: more
//! than 200,000 products/s on one core). Run: `cargo bench -p megashop-onec --bench cml`.
//! `CML_BENCH_PRODUCTS` (100000) sets the size; the file sizes are printed first.

use std::hint::black_box;
use std::io::Cursor;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use megashop_onec::cml::{gen, CmlReader, Item};

/// Reads a whole document; returns the products and offers seen.
fn read(bytes: &[u8]) -> usize {
    let mut reader = CmlReader::new(Cursor::new(bytes));
    let mut records = 0;
    while let Some(item) = reader.next_item().expect("generated files are valid") {
        if matches!(item, Item::Product(_) | Item::Offer(_)) {
            records += 1;
        }
        black_box(item);
    }
    records
}

fn bench(c: &mut Criterion) {
    let products = std::env::var("CML_BENCH_PRODUCTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let mut import = Vec::new();
    gen::write_import(&mut import, products, 42).expect("in memory");
    let mut offers = Vec::new();
    gen::write_offers(&mut offers, products, 42).expect("in memory");
    eprintln!(
        "{products} products: import {:.1} MB, offers {:.1} MB ({} offers)",
        import.len() as f64 / 1e6,
        offers.len() as f64 / 1e6,
        gen::offer_count(products)
    );

    let mut group = c.benchmark_group("cml");
    group.sample_size(10);
    group.throughput(Throughput::Elements(products as u64));
    group.bench_function("import (products)", |b| b.iter(|| read(black_box(&import))));
    group.throughput(Throughput::Elements(gen::offer_count(products) as u64));
    group.bench_function("offers (offers)", |b| b.iter(|| read(black_box(&offers))));
    group.throughput(Throughput::Bytes(import.len() as u64));
    group.bench_function("import (bytes)", |b| b.iter(|| read(black_box(&import))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
