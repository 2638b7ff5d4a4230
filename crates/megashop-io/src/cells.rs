//! Reading and writing single cells the way spreadsheets from Russian-speaking shops
//! write them: `1 234,50` and `1234.50` are the same price, and cells that would run as
//! formulas in Excel are neutralized on export (CSV injection).

/// Why a cell is not a number we accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NumberError {
    /// Nothing in the cell.
    Empty,
    /// Not a number at all (`abc`, `1.2.3`).
    NotANumber,
    /// More fractional digits than the currency has (`1,234` with 2 allowed is ambiguous).
    TooPrecise,
    /// Does not fit.
    TooLarge,
}

/// Currency signs and codes accepted after an amount, lower case, longest first.
const CURRENCY_SUFFIXES: [&str; 13] =
    ["руб.", "руб", "rub", "rur", "usd", "eur", "kzt", "byn", "р.", "тг", "₽", "$", "€"];

/// Parses a money amount into minor units with `scale` fractional digits (2 for roubles).
///
/// Accepts `1234`, `1234.5`, `1234,50`, `1 234,50` (spaces, no-break spaces and thin
/// spaces as thousands separators), `1,234.50` and `1.234,50` (the last separator is the
/// decimal one when both appear), a leading `-`, and a trailing currency sign or code
/// (`₽`, `руб.`, `RUB`). Rejects anything else rather than guessing.
pub fn parse_minor(cell: &str, scale: u32) -> Result<i64, NumberError> {
    if let Some(v) = plain_minor(cell.as_bytes(), scale) {
        return Ok(v);
    }
    let mut t = cell.trim();
    // A currency sign or code after the number (`1 299 ₽`, `12 руб.`, `5 RUB`).
    let lower = t.to_lowercase();
    for suffix in CURRENCY_SUFFIXES {
        if lower.ends_with(suffix) && lower.len() > suffix.len() {
            if let Some(rest) = t.get(..t.len() - suffix.len()) {
                t = rest.trim_end();
                break;
            }
        }
    }
    let mut s: String = t.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\'')).collect();
    if s.is_empty() {
        return Err(if cell.trim().is_empty() { NumberError::Empty } else { NumberError::NotANumber });
    }
    let negative = s.starts_with('-');
    if negative {
        s.remove(0);
    }
    let last_dot = s.rfind('.');
    let last_comma = s.rfind(',');
    let decimal = match (last_dot, last_comma) {
        (Some(d), Some(c)) => Some(d.max(c)),
        (Some(d), None) => (s.matches('.').count() == 1).then_some(d),
        (None, Some(c)) => (s.matches(',').count() == 1).then_some(c),
        (None, None) => None,
    };
    let (int_part, frac_part) = match decimal {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s.as_str(), ""),
    };
    let int_digits: String = int_part.chars().filter(|c| *c != '.' && *c != ',').collect();
    if int_digits.is_empty() && frac_part.is_empty()
        || !int_digits.chars().all(|c| c.is_ascii_digit())
        || !frac_part.chars().all(|c| c.is_ascii_digit())
    {
        return Err(NumberError::NotANumber);
    }
    // Separators of thousands must group by three ("1.234,50", not "12.34,5").
    if decimal.is_some() && int_part.contains(['.', ',']) {
        let groups: Vec<&str> = int_part.split(['.', ',']).collect();
        if groups.iter().skip(1).any(|g| g.len() != 3) {
            return Err(NumberError::NotANumber);
        }
    }
    if frac_part.len() > scale as usize {
        return Err(NumberError::TooPrecise);
    }
    let mut value: i64 = 0;
    for c in
        int_digits.chars().chain(frac_part.chars()).chain(std::iter::repeat_n('0', scale as usize - frac_part.len()))
    {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(c as u8 - b'0')))
            .ok_or(NumberError::TooLarge)?;
    }
    Ok(if negative { -value } else { value })
}

/// The common case without allocating: ASCII digits with at most one `.` or `,` followed
/// by 1..=`scale` digits (`1234`, `1234.5`, `0,99`). `None` for anything else (signs,
/// spaces, currency, grouping, too many digits), which [`parse_minor`] then parses in full.
fn plain_minor(b: &[u8], scale: u32) -> Option<i64> {
    let (int, frac) = match b.iter().position(|c| matches!(c, b'.' | b',')) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b[b.len()..]),
    };
    let sep = int.len() < b.len();
    // 18 digits always fit an i64 (scale included).
    if int.is_empty()
        || (sep && frac.is_empty())
        || frac.len() > scale as usize
        || int.len() + scale as usize > 18
        || !int.iter().chain(frac).all(u8::is_ascii_digit)
    {
        return None;
    }
    let mut value: i64 = 0;
    for c in int.iter().chain(frac) {
        value = value * 10 + i64::from(c - b'0');
    }
    for _ in frac.len()..scale as usize {
        value *= 10;
    }
    Some(value)
}

/// Makes a text cell safe to open in a spreadsheet (use it on text columns only, not on
/// numbers, where `-5` is meant): a cell starting with `=`, `+`, `-`,
/// `@`, tab or carriage return would run as a formula, so it gets a leading `'`
/// (which spreadsheets hide and importers strip, see [`unescape_formula`]).
pub fn escape_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        Some('\'') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// Reverses [`escape_formula`]: one leading `'` is dropped.
pub fn unescape_formula(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_and_english_number_formats() {
        for (cell, minor) in [
            ("1234", 123_400),
            ("1234,5", 123_450),
            ("1 234,50", 123_450),
            ("1\u{a0}234,50 ₽", 123_450),
            ("1\u{202f}234 руб.", 123_400),
            ("1,234.50", 123_450),
            ("1.234,50", 123_450),
            ("0,99", 99),
            ("-5", -500),
            ("12 RUB", 1_200),
        ] {
            assert_eq!(parse_minor(cell, 2), Ok(minor), "{cell:?}");
        }
    }

    #[test]
    fn the_fast_path_agrees_with_the_full_parser() {
        for cell in [
            "0",
            "7",
            "1234",
            "1234.5",
            "1234,50",
            "0,99",
            "12.",
            ".5",
            "1.234",
            "1,2,3",
            "00012",
            "1.2.3",
            "999999999999999999",
            "9999999999999999",
            "12a",
            "",
            "١٢",
            "1.",
            "5,",
        ] {
            for scale in [0, 2, 3] {
                if let Some(fast) = plain_minor(cell.as_bytes(), scale) {
                    // Force the general path by adding what only it accepts (a currency sign).
                    assert_eq!(parse_minor(&format!("{cell} ₽"), scale), Ok(fast), "{cell:?} scale {scale}");
                }
            }
        }
        assert_eq!(plain_minor(b"1234.5", 2), Some(123_450));
        assert_eq!(plain_minor(b"0,99", 2), Some(99));
        assert_eq!(plain_minor(b"4", 3), Some(4000));
        assert_eq!(plain_minor(b"1,234", 2), None, "three decimals for a scale of 2 go the long way");
        assert_eq!(plain_minor(b"12.", 2), None);
        assert_eq!(plain_minor(b".5", 2), None);
        assert_eq!(plain_minor(b"-5", 2), None);
    }

    #[test]
    fn ambiguous_or_broken_numbers_are_refused() {
        assert_eq!(parse_minor("", 2), Err(NumberError::Empty));
        assert_eq!(parse_minor("  ", 2), Err(NumberError::Empty));
        assert_eq!(parse_minor("abc", 2), Err(NumberError::NotANumber));
        assert_eq!(parse_minor("1.2.3,4", 2), Err(NumberError::NotANumber));
        assert_eq!(parse_minor("12.34,5", 2), Err(NumberError::NotANumber));
        assert_eq!(parse_minor("1,234", 2), Err(NumberError::TooPrecise));
        assert_eq!(parse_minor("99999999999999999999", 2), Err(NumberError::TooLarge));
        assert_eq!(parse_minor("1e5", 2), Err(NumberError::NotANumber));
    }

    #[test]
    fn formulas_are_neutralized_and_round_trip() {
        for cell in ["=HYPERLINK(\"http://x\")", "+7 999", "-1", "@SUM(A1)", "'quoted", "plain", ""] {
            let escaped = escape_formula(cell);
            assert!(!escaped.starts_with(['=', '+', '-', '@']), "{cell:?} → {escaped:?}");
            assert_eq!(unescape_formula(&escaped), cell);
        }
    }
}
