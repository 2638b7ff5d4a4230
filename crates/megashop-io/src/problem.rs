//! Problems found in a file: row, column, value and a reason in the reader's language.

use megashop_core::i18n::{self, Locale};
use serde::Serialize;

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The import cannot be applied while it is there.
    Error,
    /// The value was skipped; the rest of the row is imported.
    Warning,
}

/// One problem.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Problem {
    /// Row number in the file as a spreadsheet program shows it (0 for the file as a whole).
    pub row: u64,
    /// Header of the column, when the problem is in one cell.
    pub column: Option<String>,
    /// The cell's value (cut to 200 characters).
    pub value: Option<String>,
    /// Stable code (`bad_number`, `duplicate_sku`, ...).
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// Message arguments (`max`, `first_row`, ...).
    #[serde(serialize_with = "args_as_map")]
    pub args: Vec<(&'static str, String)>,
}

impl Problem {
    /// An error in a cell.
    pub fn cell(row: u64, column: &str, value: &str, code: &'static str) -> Problem {
        Problem {
            row,
            column: Some(column.to_string()),
            value: Some(cut(value)),
            code,
            severity: Severity::Error,
            args: Vec::new(),
        }
    }

    /// An error about a row as a whole.
    pub fn row(row: u64, code: &'static str) -> Problem {
        Problem { row, column: None, value: None, code, severity: Severity::Error, args: Vec::new() }
    }

    /// Adds a message argument.
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Problem {
        self.args.push((name, value.to_string()));
        self
    }

    /// Makes it a warning.
    pub fn warning(mut self) -> Problem {
        self.severity = Severity::Warning;
        self
    }

    /// The reason, in `locale`.
    pub fn message(&self, locale: Locale) -> String {
        let id = format!("import-{}", self.code.replace('_', "-"));
        let mut args = self.args.clone();
        if let Some(c) = &self.column {
            args.push(("column", c.clone()));
        }
        i18n::message(locale, &id, &args)
    }
}

fn args_as_map<S: serde::Serializer>(args: &[(&'static str, String)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(args.len()))?;
    for (k, v) in args {
        m.serialize_entry(k, v)?;
    }
    m.end()
}

/// Cuts a value for display.
fn cut(v: &str) -> String {
    if v.chars().count() <= 200 {
        v.to_string()
    } else {
        let mut s: String = v.chars().take(199).collect();
        s.push('…');
        s
    }
}

/// Every problem code, for docs and the test that each has a message in every language.
pub const CODES: [&str; 28] = [
    "bad_number",
    "bad_integer",
    "bad_boolean",
    "negative_price",
    "negative_stock",
    "precision_lost",
    "missing_required",
    "duplicate_sku",
    "duplicate_product",
    "conflicting_value",
    "too_long",
    "invalid_sku",
    "invalid_slug",
    "invalid_url",
    "bad_status",
    "unknown_currency",
    "currency_mismatch",
    "unknown_category",
    "unknown_price_type",
    "unknown_warehouse",
    "unknown_column",
    "unknown_sku",
    "unknown_parent",
    "extra_cells",
    "read_failed",
    "no_key_column",
    "too_many_problems",
    "no_rows",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_message_in_both_languages() {
        for code in CODES {
            for locale in [Locale::En, Locale::Ru] {
                let p = Problem::cell(2, "Цена", "abc", code)
                    .arg("max", 500)
                    .arg("first_row", 2)
                    .arg("expected", "RUB")
                    .arg("reason", "x");
                let m = p.message(locale);
                assert!(!m.starts_with("import-"), "{code} has no {locale:?} message");
                assert!(!m.contains("{"), "{code}: unfilled argument in {m}");
            }
        }
    }
}
