//! Workbooks read through the public entry points: real price lists, a generated sheet of
//! 200,000 rows, and hand-made zip files that must be refused (bombs, non-workbooks).

use megashop_io::sheet_source::{self, zip_format};
use megashop_io::{Error, Format, RawRows, RowSource, SheetChoice, SourceOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn fixture(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/catalogues").join(name);
    assert!(p.exists(), "fixture not found: looked at {}", p.display());
    p
}

fn cells(row: &[&str]) -> Vec<String> {
    row.iter().map(|c| c.to_string()).collect()
}

/// Every data row of a source, with its number.
fn data_rows(src: &mut dyn RowSource) -> Vec<(u64, Vec<String>)> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    while let Some(n) = src.next_row(&mut row).unwrap() {
        rows.push((n, row.clone()));
    }
    rows
}

/// Every row of a sheet before header detection, with its number.
fn raw_rows(raw: &mut dyn RawRows) -> Vec<(u64, Vec<String>)> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    while let Some(n) = raw.next_raw(&mut row).unwrap() {
        rows.push((n, row.clone()));
    }
    rows
}

fn with_sheet(sheet: SheetChoice) -> SourceOptions {
    SourceOptions { sheet, ..SourceOptions::default() }
}

/// The reason of an [`Error::Workbook`]; fails the test on anything else.
fn workbook_reason<T>(result: Result<T, Error>) -> String {
    match result {
        Err(Error::Workbook { reason, .. }) => reason,
        Err(other) => panic!("expected a workbook error, got {other:?}"),
        Ok(_) => panic!("expected a workbook error, got a sheet"),
    }
}

// ---- hand-made zip files ---------------------------------------------------------------

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// One entry of a hand-written zip file; `size` is the uncompressed size it declares.
struct Entry {
    name: String,
    data: Vec<u8>,
    method: u16,
    size: u32,
    crc: u32,
}

impl Entry {
    /// An entry stored as is.
    fn stored(name: &str, data: &[u8]) -> Entry {
        Entry { name: name.into(), data: data.to_vec(), method: 0, size: data.len() as u32, crc: crc32(data) }
    }

    /// A deflated entry whose central directory claims `size` bytes once unpacked.
    fn claiming(name: &str, data: Vec<u8>, size: u32) -> Entry {
        Entry { name: name.into(), data, method: 8, size, crc: 0 }
    }
}

/// A zip file: local headers and data, central directory, end record.
fn zip_bytes(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = out.len() as u32;
        let name = e.name.as_bytes();
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend([20u16, 0x0800, e.method, 0, 0x21].iter().flat_map(|v| v.to_le_bytes()));
        out.extend([e.crc, e.data.len() as u32, e.size].iter().flat_map(|v| v.to_le_bytes()));
        out.extend([name.len() as u16, 0].iter().flat_map(|v| v.to_le_bytes()));
        out.extend(name);
        out.extend(&e.data);

        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend([20u16, 20, 0x0800, e.method, 0, 0x21].iter().flat_map(|v| v.to_le_bytes()));
        central.extend([e.crc, e.data.len() as u32, e.size].iter().flat_map(|v| v.to_le_bytes()));
        central.extend([name.len() as u16, 0, 0, 0, 0].iter().flat_map(|v| v.to_le_bytes()));
        central.extend([0u32, offset].iter().flat_map(|v| v.to_le_bytes()));
        central.extend(name);
    }
    let (central_offset, central_len) = (out.len() as u32, central.len() as u32);
    out.extend(central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    let count = entries.len() as u16;
    out.extend([0u16, 0, count, count].iter().flat_map(|v| v.to_le_bytes()));
    out.extend([central_len, central_offset].iter().flat_map(|v| v.to_le_bytes()));
    out.extend(0u16.to_le_bytes());
    out
}

/// Copies a real zip file entry by entry (stored), letting `edit` change contents.
fn rezip(src: &Path, edit: impl Fn(&str, Vec<u8>) -> Vec<u8>) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut entries = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().unwrap().into_owned();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        entries.push(Entry::stored(&name, &edit(&name, data)));
    }
    zip_bytes(&entries)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

// ---- real files ------------------------------------------------------------------------

#[test]
fn the_tyre_price_list_finds_its_header_after_the_preamble() {
    let path = fixture("price-list-tyres-1c-style.xlsx");
    let mut src = megashop_io::open(&path, &SourceOptions::default()).unwrap();
    assert_eq!(src.format(), Format::Xlsx);
    assert_eq!(src.headers(), cells(&["№ по каталогу", "Наименование товара", "Опт. цена", "Ед", "Остаток", "Фото"]));
    assert!((0.0..=1.0).contains(&src.progress()));
    let rows = data_rows(src.as_mut());
    // A group row (merged B7:D7) comes through as a row of its own.
    assert_eq!(rows[0], (7, cells(&["", "21.Автошина летняя, всесезонная"])));
    // Prices and stock are text in the file and stay as people typed them; no photo here.
    assert_eq!(rows[1], (8, cells(&["матиз", "Автошина 155/65 Р13 THREE A P306 73Т", "3500", "шт.", "4"])));
    assert_eq!(
        rows[2],
        (9, cells(&[" ", "Автошина 155/65 Р13 НК-241 б/к 73T", "2550", "шт.", "4", "./img/Foto/Кама -241 (365).jpg"]))
    );
    assert_eq!(
        rows[22],
        (
            29,
            cells(&[
                "нива",
                "Автошина 175/80 R16C Вли -5 АШК 85Р(в сборе диски Р16 5*16 5*139,7 еt58)",
                "8500",
                "шт.",
                "4"
            ])
        )
    );
    assert_eq!(rows.len(), 240, "rows 7 to 246, none empty");
    assert_eq!(rows.last().map(|(n, _)| *n), Some(246));
    assert!(rows.windows(2).all(|w| w[1].0 == w[0].0 + 1), "row numbers are the sheet's own");
    assert_eq!(src.progress(), 1.0);
}

#[test]
fn the_tyre_price_list_sheets_are_chosen_by_name_or_position() {
    let path = fixture("price-list-tyres-1c-style.xlsx");
    for choice in [SheetChoice::Name("Лист2".into()), SheetChoice::Index(1), SheetChoice::parse("2")] {
        let mut src = megashop_io::open(&path, &with_sheet(choice.clone())).unwrap();
        assert_eq!(src.headers()[1], "Наименование товара", "{choice:?}");
        let rows = data_rows(src.as_mut());
        assert_eq!(rows[0], (7, cells(&["", "21.1 Автошина зима (шип, лип)"])), "{choice:?}");
        assert_eq!(
            rows[1],
            (
                8,
                cells(&[
                    " ",
                    "Автошина 135/80 R12  Кама-503 б/к 68Q шип.",
                    "3100",
                    "шт.",
                    "5",
                    "./img/Foto/А503 шип.jpg"
                ])
            ),
            "{choice:?}"
        );
        assert_eq!(rows.len(), 365, "{choice:?}");
        assert_eq!(rows.last().map(|(n, _)| *n), Some(371), "{choice:?}");
    }
    let mut third = megashop_io::open(&path, &with_sheet(SheetChoice::Index(2))).unwrap();
    assert_eq!(third.headers().len(), 5, "Лист3 has no photo column");
    assert_eq!(
        data_rows(third.as_mut())[2],
        (9, cells(&["вент", "Диск колес Р15 УАЗ IKON SNC006 7х15 5х139.7 D 110.5 ЕТ-0 черный", "4400", "шт.", "8"]))
    );
}

#[test]
fn an_unknown_sheet_names_the_sheets_there_are() {
    let path = fixture("price-list-tyres-1c-style.xlsx");
    let reason = workbook_reason(megashop_io::open(&path, &with_sheet(SheetChoice::Name("Прайс".into()))));
    assert!(reason.contains("Прайс"), "{reason}");
    for name in ["Sheet1", "Лист2", "Лист3"] {
        assert!(reason.contains(name), "{reason}");
    }
    let reason = workbook_reason(megashop_io::open(&path, &with_sheet(SheetChoice::Index(3))));
    assert!(reason.contains("number 4") && reason.contains("Лист3"), "{reason}");
}

#[test]
fn raw_rows_skip_empty_rows_but_keep_sheet_numbers() {
    let path = fixture("price-list-tyres-1c-style.xlsx");
    let mut raw = sheet_source::open(&path, Format::Xlsx, &SheetChoice::First).unwrap();
    let first: Vec<u64> = raw_rows(raw.as_mut()).iter().take(5).map(|(n, _)| *n).collect();
    assert_eq!(first, [1, 2, 3, 6, 7], "rows 4 and 5 are empty");
}

#[test]
fn the_odoo_template_keeps_its_float_barcode_exact() {
    let path = fixture("odoo-product_template.xls");
    let mut src = megashop_io::open(&path, &with_sheet(SheetChoice::Name("Template".into()))).unwrap();
    assert_eq!(src.format(), Format::Xls);
    assert_eq!(
        src.headers(),
        cells(&[
            "External ID",
            "Name",
            "Product Type",
            "Internal Reference",
            "Barcode",
            "Sales Price",
            "Cost",
            "Weight",
            "Sales Description"
        ])
    );
    let rows = data_rows(src.as_mut());
    assert_eq!(rows.len(), 25);
    assert_eq!(rows.iter().map(|(n, _)| *n).collect::<Vec<_>>(), (2..=26).collect::<Vec<u64>>());
    let (n, ipad) = &rows[5];
    assert_eq!(*n, 7);
    assert_eq!(
        ipad[..8],
        cells(&["product_template_6", "iPad Mini", "Consumable", "E-COM07", "54398267125.00001", "320", "260", "0.33"])
    );
    assert!(ipad[8].starts_with("Color: White\nCapacity: 16GB"), "{:?}", ipad[8]);
    // Prices: integers without `.0`, decimals as written; an empty barcode cell stays empty.
    assert_eq!(rows[0].1[4..8], cells(&["", "79", "7044", ""]));
    assert_eq!(rows[3].1[7], "9.54");
    assert_eq!(rows[10].1[..6], cells(&["product_template_11", "Mouse, Wireless", "Consumable", "M-Wir", "", "12.5"]));
    // Memberships have nothing after the price: their rows end there.
    assert_eq!(rows[24], (26, cells(&["product_template_25", "Gold Membership", "Service", "", "", "180"])));
    assert_eq!(src.progress(), 1.0);
}

#[test]
fn the_odoo_faq_sheet_is_selectable() {
    let path = fixture("odoo-product_template.xls");
    let mut raw = sheet_source::open(&path, Format::Xls, &SheetChoice::Name("Import FAQ".into())).unwrap();
    let rows = raw_rows(raw.as_mut());
    assert_eq!(rows[0], (1, cells(&["How to customize the file?"])));
    assert_eq!(rows[6], (8, cells(&["How to import this file?"])), "empty row 7 skipped");
    assert_eq!(rows.last().map(|(n, _)| *n), Some(33));
    assert_eq!(rows.len(), 33 - 6, "six empty rows");
}

// ---- generated workbooks -----------------------------------------------------------------

const ROWS: u32 = 200_000;
const GAP_ROW: u32 = 1000;

/// Cells of data row `i` (from 0) of the generated sheet, as written; `None` for no row.
fn generated_row(i: u32) -> Option<Vec<String>> {
    if i == GAP_ROW + 1 {
        return None;
    }
    if i == GAP_ROW {
        return Some(cells(&[&format!("SKU-{i}"), "", "", "", &format!("n{i}")]));
    }
    let mut row = vec![format!("SKU-{i}"), format!("Товар {i}"), format!("{i}.25"), (i % 100).to_string()];
    if i % 10 == 0 {
        row.push(format!("n{i}"));
    }
    Some(row)
}

fn write_generated(path: &Path) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet_with_constant_memory();
    for (col, name) in ["SKU", "Name", "Price", "Stock", "Note"].iter().enumerate() {
        sheet.write_string(0, col as u16, *name).unwrap();
    }
    for i in 0..ROWS {
        let Some(row) = generated_row(i) else { continue };
        let r = i + 1;
        sheet.write_string(r, 0, &row[0]).unwrap();
        if i != GAP_ROW {
            sheet.write_string(r, 1, &row[1]).unwrap();
            sheet.write_number(r, 2, f64::from(i) + 0.25).unwrap();
            sheet.write_number(r, 3, f64::from(i % 100)).unwrap();
        }
        if let Some(note) = row.get(4) {
            sheet.write_string(r, 4, note).unwrap();
        }
    }
    book.save(path).unwrap();
}

#[test]
fn a_large_generated_sheet_streams_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.xlsx");
    write_generated(&path);
    assert_eq!(zip_format(&path).unwrap(), Format::Xlsx);

    let mut src = megashop_io::open(&path, &SourceOptions::default()).unwrap();
    assert_eq!(src.headers(), cells(&["SKU", "Name", "Price", "Stock", "Note"]));
    let mut row = Vec::new();
    let mut expected = (0..ROWS).filter_map(|i| generated_row(i).map(|cells| (u64::from(i) + 2, cells)));
    let mut count = 0u32;
    let mut last_progress = 0.0;
    while let Some(n) = src.next_row(&mut row).unwrap() {
        let (want_n, want) = expected.next().expect("more rows than written");
        assert_eq!((n, &row), (want_n, &want));
        count += 1;
        let progress = src.progress();
        assert!(progress >= last_progress && progress <= 1.0, "progress {progress} after {last_progress}");
        last_progress = progress;
        if count == ROWS / 2 {
            assert!((0.4..0.6).contains(&progress), "halfway, progress is {progress}");
        }
    }
    assert!(expected.next().is_none(), "rows missing after {count}");
    assert_eq!(count, ROWS - 1, "every row but the skipped empty one");
    assert_eq!(src.progress(), 1.0);

    // Dropping a half-read sheet stops its reader thread promptly (the drop waits for it).
    let mut raw = sheet_source::open(&path, Format::Xlsx, &SheetChoice::First).unwrap();
    for _ in 0..10 {
        raw.next_raw(&mut row).unwrap();
    }
    let dropping = Instant::now();
    drop(raw);
    assert!(dropping.elapsed() < Duration::from_secs(2), "drop took {:?}", dropping.elapsed());
}

#[test]
fn generated_cells_read_as_people_see_them() {
    use rust_xlsxwriter::{ExcelDateTime, Format as CellFormat, Workbook};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("types.xlsx");
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Цены").unwrap();
    let date = CellFormat::new().set_num_format("yyyy-mm-dd");
    let stamp = CellFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let bold = CellFormat::new().set_bold();
    for (col, name) in ["Text", "Int", "Float", "Barcode", "Bool", "Date", "Stamp", "Error"].iter().enumerate() {
        sheet.write_string(0, col as u16, *name).unwrap();
    }
    sheet.write_string(1, 0, "Шина").unwrap();
    sheet.write_number(1, 1, 3500.0).unwrap();
    sheet.write_number(1, 2, 0.1 + 0.2).unwrap();
    sheet.write_number(1, 3, 54398267125.00001).unwrap();
    sheet.write_boolean(1, 4, true).unwrap();
    sheet.write_datetime_with_format(1, 5, ExcelDateTime::from_ymd(2023, 2, 2).unwrap(), &date).unwrap();
    let at = ExcelDateTime::from_ymd(2025, 10, 13).unwrap().and_hms(12, 59, 2).unwrap();
    sheet.write_datetime_with_format(1, 6, at, &stamp).unwrap();
    sheet.write_formula(1, 7, "=1/0").unwrap().set_formula_result(1, 7, "#DIV/0!");
    // Styled but empty cells, in the middle and at the end of a row, count as empty.
    sheet.write_string(2, 0, "B").unwrap();
    sheet.write_blank(2, 1, &bold).unwrap();
    sheet.write_string(2, 2, "").unwrap();
    sheet.write_number(2, 3, -7.5).unwrap();
    sheet.write_blank(2, 7, &bold).unwrap();
    // A row of styled blanks is an empty row.
    sheet.write_blank(3, 0, &bold).unwrap();
    sheet.write_string(4, 2, "end").unwrap();
    book.save(&path).unwrap();

    let mut raw = sheet_source::open(&path, Format::Xlsx, &SheetChoice::Name("Цены".into())).unwrap();
    let rows = raw_rows(raw.as_mut());
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[1],
        (
            2,
            cells(&[
                "Шина",
                "3500",
                "0.30000000000000004",
                "54398267125.00001",
                "TRUE",
                "2023-02-02",
                "2025-10-13 12:59:02",
                "#DIV/0!"
            ])
        )
    );
    assert_eq!(rows[2], (3, cells(&["B", "", "", "-7.5"])));
    assert_eq!(rows[3], (5, cells(&["", "", "end"])));
}

#[test]
fn a_minimal_ods_is_told_apart_and_read() {
    let content = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
<office:body><office:spreadsheet>
<table:table table:name="Товары">
<table:table-row><table:table-cell office:value-type="string"><text:p>Артикул</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>Цена</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>Дата</text:p></table:table-cell></table:table-row>
<table:table-row table:number-rows-repeated="2"><table:table-cell table:number-columns-repeated="3"/></table:table-row>
<table:table-row><table:table-cell office:value-type="string"><text:p>A-1</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="3500"><text:p>3500</text:p></table:table-cell><table:table-cell office:value-type="date" office:date-value="2023-02-02"><text:p>02.02.23</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell/><table:table-cell office:value-type="float" office:value="54398267125.00001"><text:p>54398267125</text:p></table:table-cell><table:table-cell office:value-type="boolean" office:boolean-value="true"><text:p>TRUE</text:p></table:table-cell></table:table-row>
</table:table>
<table:table table:name="Второй"><table:table-row><table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row></table:table>
</office:spreadsheet></office:body></office:document-content>"#;
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"#;
    let dir = tempfile::tempdir().unwrap();
    let bytes = zip_bytes(&[
        Entry::stored("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
        Entry::stored("META-INF/manifest.xml", manifest.as_bytes()),
        Entry::stored("content.xml", content.as_bytes()),
    ]);
    // The name says CSV; the content says ODS.
    let path = write(dir.path(), "prices.csv", &bytes);
    assert_eq!(zip_format(&path).unwrap(), Format::Ods);
    let mut src = megashop_io::open(&path, &SourceOptions::default()).unwrap();
    assert_eq!(src.format(), Format::Ods);
    assert_eq!(src.headers(), cells(&["Артикул", "Цена", "Дата"]));
    let rows = data_rows(src.as_mut());
    assert_eq!(rows, [(4, cells(&["A-1", "3500", "2023-02-02"])), (5, cells(&["", "54398267125.00001", "TRUE"]))]);
    assert_eq!(src.progress(), 1.0);
    let mut second = sheet_source::open(&path, Format::Ods, &SheetChoice::Index(1)).unwrap();
    assert_eq!(raw_rows(second.as_mut()), [(1, cells(&["x"]))]);
}

// ---- files that must be refused ----------------------------------------------------------

#[test]
fn a_zip_bomb_is_refused_from_its_central_directory() {
    let dir = tempfile::tempdir().unwrap();
    // Thirteen "sheets" of 4 GiB each, declared by a file of a few hundred bytes.
    let mut entries = vec![Entry::stored("xl/workbook.xml", b"<workbook/>")];
    for i in 1..=13 {
        entries.push(Entry::claiming(&format!("xl/worksheets/sheet{i}.xml"), vec![0x03, 0x00], 0xFFFF_FFFE));
    }
    let path = write(dir.path(), "bomb.xlsx", &zip_bytes(&entries));
    assert!(std::fs::metadata(&path).unwrap().len() < 4096);
    let started = Instant::now();
    let reason = workbook_reason(megashop_io::open(&path, &SourceOptions::default()));
    assert!(reason.contains("52 GiB") && reason.contains("zip bomb"), "{reason}");
    // Also when the format is given rather than detected.
    let direct = workbook_reason(sheet_source::open(&path, Format::Xlsx, &SheetChoice::First));
    assert_eq!(direct, reason);
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[test]
fn one_entry_compressed_too_well_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let entries = [
        Entry::stored("xl/workbook.xml", b"<workbook/>"),
        Entry::claiming("xl/worksheets/sheet1.xml", vec![0; 60 * 1024], 20 << 20),
    ];
    let path = write(dir.path(), "dense.xlsx", &zip_bytes(&entries));
    let reason = workbook_reason(megashop_io::open(&path, &SourceOptions::default()));
    assert!(
        reason.contains("xl/worksheets/sheet1.xml") && reason.contains("20 MiB") && reason.contains("341:1"),
        "{reason}"
    );
}

#[test]
fn too_many_entries_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut entries: Vec<Entry> = (0..10_001).map(|i| Entry::stored(&format!("f{i}"), b"")).collect();
    entries[0] = Entry::stored("xl/workbook.xml", b"<workbook/>");
    let path = write(dir.path(), "many.xlsx", &zip_bytes(&entries));
    let reason = workbook_reason(megashop_io::open(&path, &SourceOptions::default()));
    assert!(reason.contains("10001 files") && reason.contains("zip bomb"), "{reason}");
}

#[test]
fn a_zip_that_is_no_workbook_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "hello.xlsx", &zip_bytes(&[Entry::stored("hello.txt", b"hello")]));
    let reason = workbook_reason(megashop_io::open(&path, &SourceOptions::default()));
    assert_eq!(reason, "a zip file, but not an XLSX or ODS workbook");
    let odt = zip_bytes(&[
        Entry::stored("mimetype", b"application/vnd.oasis.opendocument.text"),
        Entry::stored("content.xml", b"<x/>"),
    ]);
    let reason = workbook_reason(zip_format(&write(dir.path(), "letter.ods", &odt)));
    assert!(reason.contains("not a spreadsheet"), "{reason}");
}

#[test]
fn a_truncated_workbook_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(fixture("price-list-tyres-1c-style.xlsx")).unwrap();
    let path = write(dir.path(), "half.xlsx", &whole[..whole.len() / 2]);
    let reason = workbook_reason(megashop_io::open(&path, &SourceOptions::default()));
    assert!(reason.contains("zip"), "{reason}");
    assert!(sheet_source::open(&path, Format::Xlsx, &SheetChoice::First).is_err());

    // calamine panics on some cut XLS files (an assertion, an index out of bounds): those
    // panics must come back as errors too.
    let xls = std::fs::read(fixture("odoo-product_template.xls")).unwrap();
    for percent in [2, 50, 96, 97] {
        let path = write(dir.path(), &format!("cut-{percent}.xls"), &xls[..xls.len() * percent / 100]);
        let reason = workbook_reason(megashop_io::open(&path, &SourceOptions::default()));
        assert!(!reason.is_empty());
    }

    // A complete zip whose sheet XML stops half-way: rows before the damage, then an error.
    let cut = rezip(&fixture("price-list-tyres-1c-style.xlsx"), |name, data| {
        if name == "xl/worksheets/sheet1.xml" {
            data[..data.len() / 2].to_vec()
        } else {
            data
        }
    });
    let path = write(dir.path(), "cut.xlsx", &cut);
    let mut src = megashop_io::open(&path, &SourceOptions::default()).unwrap();
    let mut row = Vec::new();
    let mut last = 0;
    let failure = loop {
        match src.next_row(&mut row) {
            Ok(Some(n)) => last = n,
            Ok(None) => panic!("a cut sheet must not end quietly (last row {last})"),
            Err(e) => break e,
        }
    };
    assert!(last > 50, "rows before the damage come through (last {last})");
    let reason = workbook_reason::<()>(Err(failure));
    assert!(reason.contains(&format!("after row {last}")), "{reason}");
    // The end of the stream stays the end.
    assert!(matches!(src.next_row(&mut row), Ok(None)));
}

#[test]
fn a_text_file_named_xlsx_is_read_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "prices.xlsx", "SKU;Цена\nA-1;3500\n".as_bytes());
    let mut src = megashop_io::open(&path, &SourceOptions::default()).unwrap();
    assert_eq!(src.format(), Format::Csv);
    assert_eq!(src.headers(), cells(&["SKU", "Цена"]));
    assert_eq!(data_rows(src.as_mut()), [(2, cells(&["A-1", "3500"]))]);
}
