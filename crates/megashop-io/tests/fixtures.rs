//! Real catalogue exports from other systems (`../shared/fixtures/catalogues`).

use megashop_io::{open_csv, CsvOptions, Encoding};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/catalogues").join(name);
    assert!(p.exists(), "fixture not found: looked at {}", p.display());
    p
}

/// Reads a whole file; returns the header and the records.
fn read(path: &std::path::Path, opts: CsvOptions) -> (megashop_io::Sniffed, Vec<String>, Vec<Vec<String>>) {
    let (mut r, sniffed) = open_csv(path, opts).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r.records().map(|rec| rec.unwrap().iter().map(str::to_string).collect()).collect();
    (sniffed, header, rows)
}

#[test]
fn every_fixture_csv_opens_with_the_right_delimiter() {
    let expect = [
        ("bitrix-iblock-export-it-catalog.csv", b';'),
        ("prestashop-products_import.csv", b';'),
        ("prestashop-combinations_import.csv", b';'),
        ("prestashop-categories_import.csv", b';'),
        ("woocommerce-ru-blinds-export.csv", b','),
        ("woocommerce-sample_products.csv", b','),
        ("shopify-partners-apparel.csv", b','),
        ("shopify-partners-home-and-garden.csv", b','),
        ("shopify-product_template-2025.csv", b','),
        ("magento-luma-configurable-products.csv", b','),
        ("magento2-products_to_import_with_non_latin_url_keys.csv", b','),
        ("vendure-products.csv", b','),
        ("vendure-product-import-multi-languages.csv", b','),
    ];
    for (name, delimiter) in expect {
        let (sniffed, header, rows) = read(&fixture(name), CsvOptions::default());
        assert_eq!(sniffed.delimiter, delimiter, "{name}");
        assert!(header.len() > 2, "{name}: header {header:?}");
        assert!(!rows.is_empty(), "{name}: no records");
        assert!(!header[0].starts_with('\u{feff}'), "{name}: the BOM must not reach the first column name");
    }
}

#[test]
fn the_russian_woocommerce_export_reads_the_same_in_utf8_and_windows_1251() {
    let src = fixture("woocommerce-ru-blinds-export.csv");
    let (sniffed, header, rows) = read(&src, CsvOptions::default());
    assert_eq!(sniffed.encoding, Encoding::Utf8Bom);
    assert_eq!(header[2], "SKU");
    assert!(rows.iter().flatten().any(|c| c.chars().any(|ch| ('а'..='я').contains(&ch))), "Cyrillic text expected");

    // The same file as 1C or an old Excel would save it.
    let text = std::fs::read_to_string(&src).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(text);
    let dir = tempfile::tempdir().unwrap();
    let cp = dir.path().join("export-1251.csv");
    std::fs::write(&cp, &bytes).unwrap();
    let (sniffed, header2, rows2) = read(&cp, CsvOptions::default());
    assert_eq!(sniffed.encoding, Encoding::Windows1251);
    assert_eq!(header2, header);
    if !unmappable {
        assert_eq!(rows2, rows);
    } else {
        assert_eq!(rows2.len(), rows.len());
    }
}

#[test]
fn empty_and_binary_files_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, b"\xEF\xBB\xBF  \n").unwrap();
    let err = open_csv(&empty, CsvOptions::default()).err().expect("empty file refused");
    assert!(err.to_string().contains("empty"), "{err}");
    let binary = dir.path().join("photo.csv");
    std::fs::write(&binary, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").unwrap();
    let err = open_csv(&binary, CsvOptions::default()).err().expect("binary file refused");
    assert!(err.to_string().contains("not a text file"), "{err}");
    let missing = open_csv(&dir.path().join("nope.csv"), CsvOptions::default()).err().expect("missing file");
    assert!(missing.to_string().contains("nope.csv"), "{missing}");
}
