//! Import reports a person reads: the problems as a table (row, column, value, reason),
//! saved as CSV and XLSX in the reader's language.

use crate::cells::escape_formula;
use crate::problem::{Problem, Severity};
use megashop_core::i18n::Locale;
use std::path::Path;

/// Column titles of the report.
pub fn header(locale: Locale) -> [&'static str; 6] {
    match locale {
        Locale::Ru => ["Строка", "Столбец", "Значение", "Уровень", "Код", "Причина"],
        Locale::En => ["Row", "Column", "Value", "Severity", "Code", "Reason"],
    }
}

fn severity(s: Severity, locale: Locale) -> &'static str {
    match (s, locale) {
        (Severity::Error, Locale::Ru) => "ошибка",
        (Severity::Warning, Locale::Ru) => "предупреждение",
        (Severity::Error, Locale::En) => "error",
        (Severity::Warning, Locale::En) => "warning",
    }
}

/// One report line as text cells.
pub fn cells(p: &Problem, locale: Locale) -> [String; 6] {
    [
        if p.row == 0 { String::new() } else { p.row.to_string() },
        p.column.clone().unwrap_or_default(),
        p.value.clone().unwrap_or_default(),
        severity(p.severity, locale).to_string(),
        p.code.to_string(),
        p.message(locale),
    ]
}

/// Writes the problems as CSV (UTF-8 with a BOM, so Excel shows Cyrillic right).
pub fn write_csv(path: &Path, problems: &[Problem], locale: Locale) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(b"\xEF\xBB\xBF")?;
    let mut w = csv::Writer::from_writer(f);
    w.write_record(header(locale))?;
    for p in problems {
        let c = cells(p, locale);
        w.write_record(c.iter().map(|x| escape_formula(x).into_owned()))?;
    }
    w.flush()
}

/// Writes the problems as an XLSX workbook with a bold, frozen header and an autofilter.
pub fn write_xlsx(path: &Path, problems: &[Problem], locale: Locale) -> Result<(), rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(match locale {
        Locale::Ru => "Проблемы",
        Locale::En => "Problems",
    })?;
    let bold = Format::new().set_bold();
    for (i, h) in header(locale).iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, *h, &bold)?;
    }
    for (r, p) in problems.iter().enumerate() {
        let row = r as u32 + 1;
        let c = cells(p, locale);
        if p.row > 0 {
            sheet.write_number(row, 0, p.row as f64)?;
        }
        for (i, text) in c.iter().enumerate().skip(1) {
            if !text.is_empty() {
                sheet.write_string(row, i as u16, text)?;
            }
        }
    }
    for (i, w) in [8.0, 24.0, 30.0, 14.0, 20.0, 80.0].iter().enumerate() {
        sheet.set_column_width(i as u16, *w)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, problems.len() as u32, 5)?;
    book.save(path)
}
