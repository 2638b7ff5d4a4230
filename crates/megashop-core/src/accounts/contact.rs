//! Emails and phone numbers as people type them, normalised for storage and lookup.
//!
//! Emails are trimmed and lower-cased (the whole address: mail providers treat the local
//! part case-insensitively in practice, and two accounts differing only by case are a
//! support nightmare). Phones become E.164 (`+79161234567`); Russian habits are understood:
//! `8 (916) 123-45-67`, `+7 916 123 45 67`, `9161234567`.

use crate::error::{Error, Result};

/// Longest email accepted (RFC 5321 path limit).
pub const MAX_EMAIL: usize = 254;

/// A normalised email, or `invalid_email` for `field`.
pub fn email(field: &str, raw: &str) -> Result<String> {
    let e = raw.trim().to_lowercase();
    let bad = || Error::invalid(field, "invalid_email", "is not an email address such as anna@example.ru");
    if e.len() > MAX_EMAIL || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = e.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || local.len() > 64
        || local.contains('@')
        || domain.len() < 3
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
        || domain.chars().any(|c| !(c.is_alphanumeric() || c == '.' || c == '-'))
    {
        return Err(bad());
    }
    Ok(e)
}

/// A phone number in E.164 (`+` and 8–15 digits), or `invalid_phone` for `field`.
/// Numbers without a country code are taken as Russian: `8XXXXXXXXXX` and `XXXXXXXXXX`
/// (10 digits starting with 9) become `+7XXXXXXXXXX`.
pub fn phone(field: &str, raw: &str) -> Result<String> {
    let bad = || Error::invalid(field, "invalid_phone", "is not a phone number such as +7 916 123-45-67");
    let t = raw.trim();
    let plus = t.starts_with('+');
    let mut digits = String::with_capacity(16);
    for (i, c) in t.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            ' ' | '-' | '(' | ')' | '.' | '\u{a0}' => {}
            _ => return Err(bad()),
        }
    }
    let e164 = if plus {
        digits
    } else if digits.len() == 11 && (digits.starts_with('8') || digits.starts_with('7')) {
        format!("7{}", &digits[1..])
    } else if digits.len() == 10 && digits.starts_with('9') {
        format!("7{digits}")
    } else {
        return Err(bad());
    };
    if !(8..=15).contains(&e164.len()) || e164.starts_with('0') {
        return Err(bad());
    }
    // Russian numbers have exactly 10 digits after +7.
    if e164.starts_with('7') && e164.len() != 11 {
        return Err(bad());
    }
    Ok(format!("+{e164}"))
}

/// An email or a phone, told apart by the `@`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contact {
    /// A normalised email.
    Email(String),
    /// A phone in E.164.
    Phone(String),
}

impl Contact {
    /// Parses a login that may be either.
    pub fn parse(field: &str, raw: &str) -> Result<Contact> {
        if raw.contains('@') {
            email(field, raw).map(Contact::Email)
        } else {
            phone(field, raw).map(Contact::Phone)
        }
    }

    /// The normalised value.
    pub fn value(&self) -> &str {
        match self {
            Contact::Email(s) | Contact::Phone(s) => s,
        }
    }

    /// `email` or `sms`: how a message reaches it.
    pub fn channel(&self) -> crate::notify::Channel {
        match self {
            Contact::Email(_) => crate::notify::Channel::Email,
            Contact::Phone(_) => crate::notify::Channel::Sms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_phone_habits_become_e164() {
        for raw in ["+7 (916) 123-45-67", "89161234567", "8 916 123 45 67", "9161234567", "7-916-123-45-67"] {
            assert_eq!(phone("phone", raw).unwrap(), "+79161234567", "{raw}");
        }
        assert_eq!(phone("phone", "+375 29 123-45-67").unwrap(), "+375291234567");
        for bad in ["", "12345", "+7 916 123", "8916123456", "+7916123456789", "phone", "+0123456789", "916-ABC"] {
            assert_eq!(phone("phone", bad).unwrap_err().code(), "validation_failed", "{bad}");
        }
    }

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(email("email", "  Anna.Petrova@Mail.RU ").unwrap(), "anna.petrova@mail.ru");
        assert_eq!(email("email", "пётр@почта.рф").unwrap(), "пётр@почта.рф");
        for bad in ["anna", "anna@", "@mail.ru", "anna@mail", "an na@mail.ru", "anna@mail..ru", "a@b@c.ru"] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
        assert_eq!(Contact::parse("login", "8 916 123-45-67").unwrap(), Contact::Phone("+79161234567".into()));
        assert_eq!(Contact::parse("login", "A@B.ru").unwrap(), Contact::Email("a@b.ru".into()));
    }
}
