//! How the storefront writes money, counts and attribute values in each language:
//! `1 299 ₽` in Russian, `RUB 1,299` in English; plural forms come from Fluent.

use megashop_core::catalog::Money;
use megashop_core::i18n::{self, Locale};
use serde_json::Value;

/// No-break space: Russian thousands separator, and between an amount and `₽`.
const NBSP: char = '\u{a0}';

/// Digits of `n` in groups of three.
fn grouped(n: u64, sep: char) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(d);
    }
    out
}

/// An amount for people: `1 299 ₽`, `1 299,50 ₽` (ru); `RUB 1,299`, `RUB 1,299.50` (en).
/// Minor units are shown only when they are not zero. Every currency is taken to have
/// two decimals, as the catalogue stores them.
pub fn money(locale: Locale, m: &Money) -> String {
    let sign = if m.amount < 0 { "-" } else { "" };
    let abs = m.amount.unsigned_abs();
    let (major, minor) = (abs / 100, abs % 100);
    let (group, decimal) = match locale {
        Locale::Ru => (NBSP, ','),
        Locale::En => (',', '.'),
    };
    let mut number = format!("{sign}{}", grouped(major, group));
    if minor != 0 {
        number.push_str(&format!("{decimal}{minor:02}"));
    }
    match locale {
        Locale::Ru if m.currency == "RUB" => format!("{number}{NBSP}₽"),
        Locale::Ru => format!("{number}{NBSP}{}", m.currency),
        Locale::En => format!("{}{NBSP}{number}", m.currency),
    }
}

/// "Найдено 21 товар" / "21 products found": the count line of a product list.
pub fn found(locale: Locale, count: u64) -> String {
    i18n::message(locale, "sf-found", &[("count", count.to_string())])
}

/// A price typed by a shopper in major units (`1299`, `1 299,50`, `1299.5`) as minor
/// units; `None` for anything else, negatives and absurd amounts included.
pub fn parse_major(s: &str) -> Option<i64> {
    let s: String = s.chars().filter(|c| !c.is_whitespace() && *c != NBSP && *c != '\u{202f}').collect();
    let s = s.replace(',', ".");
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
        return None;
    }
    let major: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let minor: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    major.checked_mul(100)?.checked_add(minor).filter(|v| *v <= 1_000_000_000_000)
}

/// An attribute value for the product page: numbers with the language's decimal mark,
/// booleans as yes/no.
pub fn attribute(locale: Locale, v: &Value) -> String {
    match v {
        Value::Bool(b) => i18n::message(locale, if *b { "sf-yes" } else { "sf-no" }, &[]),
        Value::Number(n) => {
            let s = n.to_string();
            match locale {
                Locale::Ru => s.replace('.', ","),
                Locale::En => s,
            }
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The label of an attribute key: its `sf-attr-<key>` message, else the key itself.
pub fn attribute_label(locale: Locale, key: &str) -> String {
    let id = format!("sf-attr-{key}");
    let label = i18n::message(locale, &id, &[]);
    if label == id {
        key.to_string()
    } else {
        label
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rub(amount: i64) -> Money {
        Money { amount, currency: "RUB".into() }
    }

    #[test]
    fn roubles_in_russian_and_english() {
        assert_eq!(money(Locale::Ru, &rub(129_900)), "1\u{a0}299\u{a0}₽");
        assert_eq!(money(Locale::Ru, &rub(129_950)), "1\u{a0}299,50\u{a0}₽");
        assert_eq!(money(Locale::Ru, &rub(99_900)), "999\u{a0}₽");
        assert_eq!(money(Locale::Ru, &rub(1_234_567_805)), "12\u{a0}345\u{a0}678,05\u{a0}₽");
        assert_eq!(money(Locale::Ru, &rub(0)), "0\u{a0}₽");
        assert_eq!(money(Locale::En, &rub(129_900)), "RUB\u{a0}1,299");
        assert_eq!(money(Locale::En, &rub(100_000_001)), "RUB\u{a0}1,000,000.01");
        assert_eq!(money(Locale::Ru, &Money { amount: 1_000_000, currency: "KZT".into() }), "10\u{a0}000\u{a0}KZT");
        assert!(!money(Locale::Ru, &rub(129_900)).starts_with('₽'));
    }

    #[test]
    fn count_lines_use_russian_plural_forms() {
        assert_eq!(found(Locale::Ru, 1), "Найдено 1 товар");
        assert_eq!(found(Locale::Ru, 2), "Найдено 2 товара");
        assert_eq!(found(Locale::Ru, 5), "Найдено 5 товаров");
        assert_eq!(found(Locale::Ru, 12), "Найдено 12 товаров");
        assert_eq!(found(Locale::Ru, 21), "Найдено 21 товар");
        assert_eq!(found(Locale::Ru, 104), "Найдено 104 товара");
        assert_eq!(found(Locale::Ru, 111), "Найдено 111 товаров");
        assert_eq!(found(Locale::En, 1), "1 product found");
        assert_eq!(found(Locale::En, 2), "2 products found");
    }

    #[test]
    fn typed_prices_become_minor_units() {
        assert_eq!(parse_major("1299"), Some(129_900));
        assert_eq!(parse_major(" 1 299,5 "), Some(129_950));
        assert_eq!(parse_major("1\u{a0}299.05"), Some(129_905));
        assert_eq!(parse_major(".5"), Some(50));
        for bad in ["", " ", "-5", "1e3", "12.345", "abc", "1.2.3", "99999999999999999999"] {
            assert_eq!(parse_major(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn attribute_values_and_labels() {
        assert_eq!(attribute(Locale::Ru, &serde_json::json!(6.1)), "6,1");
        assert_eq!(attribute(Locale::En, &serde_json::json!(6.1)), "6.1");
        assert_eq!(attribute(Locale::Ru, &serde_json::json!(true)), "да");
        assert_eq!(attribute_label(Locale::Ru, "brand"), "Бренд");
        assert_eq!(attribute_label(Locale::En, "no_such_key"), "no_such_key");
    }
}
