//! Small validators shared by services. Each records problems into [`Problems`] so a
//! request reports every bad field at once.

use crate::error::Problems;

/// A URL slug: 1–200 chars of `a-z`, `0-9`, `-`, not starting or ending with `-`.
pub fn slug(p: &mut Problems, field: &str, v: &str) {
    let ok = !v.is_empty()
        && v.len() <= 200
        && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !v.starts_with('-')
        && !v.ends_with('-');
    if !ok {
        p.push(field, "invalid_slug", "use 1-200 characters: a-z, 0-9 and '-' (not at the ends)");
    }
}

/// A short code (region, warehouse, price type): 1–32 chars of `a-z`, `0-9`, `-`, `_`.
pub fn code(p: &mut Problems, field: &str, v: &str) {
    let ok = !v.is_empty()
        && v.len() <= 32
        && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !ok {
        p.push(field, "invalid_code", "use 1-32 characters: a-z, 0-9, '-' and '_'");
    }
}

/// A region code: 1–32 chars of `a-z`, `0-9`, `-` (it appears in host names and paths).
pub fn region_code(p: &mut Problems, field: &str, v: &str) {
    let ok = !v.is_empty()
        && v.len() <= 32
        && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !v.starts_with('-')
        && !v.ends_with('-');
    if !ok {
        p.push(field, "invalid_code", "use 1-32 characters: a-z, 0-9 and '-' (region codes appear in host names)");
    }
}

/// A SKU: 1–100 printable characters without spaces at the ends.
pub fn sku(p: &mut Problems, field: &str, v: &str) {
    if v.is_empty() || v.chars().count() > 100 || v.trim() != v || v.chars().any(char::is_control) {
        p.push(field, "invalid_sku", "use 1-100 printable characters, no spaces at the ends");
    }
}

/// Free text of `min..=max` characters (after trimming).
pub fn text(p: &mut Problems, field: &str, v: &str, min: usize, max: usize) {
    let n = v.trim().chars().count();
    if n < min {
        p.push(field, "required", "must not be empty");
    } else if n > max {
        p.push(field, "too_long", format!("must be at most {max} characters"));
    }
}

/// An ISO 4217 currency code: three upper-case letters.
pub fn currency(p: &mut Problems, field: &str, v: &str) {
    if !(v.len() == 3 && v.bytes().all(|b| b.is_ascii_uppercase())) {
        p.push(field, "invalid_currency", "must be an ISO 4217 code such as RUB, KZT, USD");
    }
}

/// A host name (no scheme, no port).
pub fn domain(p: &mut Problems, field: &str, v: &str) {
    let ok = !v.is_empty()
        && v.len() <= 253
        && v.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if !ok {
        p.push(field, "invalid_domain", "must be a host name such as shop.ru (no scheme, no port)");
    }
}

/// Turns a title (Cyrillic too) into a slug: `Чайник Bosch 1,7 л` → `chainik-bosch-1-7-l`.
pub fn slugify(s: &str) -> String {
    // Soft and hard signs carry no sound of their own: drop them rather than turn them into '-'.
    let s: String = s.chars().filter(|c| !matches!(c, 'ь' | 'Ь' | 'ъ' | 'Ъ')).collect();
    let mut out = slug::slugify(s);
    out.truncate(200);
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugify_transliterates_cyrillic() {
        assert_eq!(slugify("Чайник Bosch 1,7 л"), "chainik-bosch-1-7-l");
        assert_eq!(slugify("Пальто Объём"), "palto-obiom");
        let mut p = Problems::default();
        slug(&mut p, "slug", &slugify("Смартфон «Сяоми» 12/256 ГБ"));
        assert!(p.finish().is_ok());
    }

    #[test]
    fn validators_reject_bad_values() {
        let mut p = Problems::default();
        slug(&mut p, "a", "Bad Slug");
        currency(&mut p, "b", "rub");
        domain(&mut p, "c", "http://shop.ru");
        code(&mut p, "d", "");
        sku(&mut p, "e", " X ");
        text(&mut p, "f", "   ", 1, 10);
        assert_eq!(p.into_inner().len(), 6);
    }
}
