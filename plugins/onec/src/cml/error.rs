//! What can go wrong while reading a CommerceML file, with stable codes for the exchange log.
//!
//! Two kinds: *fatal* errors (broken XML, I/O, limits of the XML structure) end the reading;
//! *recoverable* ones ([`CmlError::is_recoverable`]) concern one item (a product without
//! `Ид`, a price that is not a number, an over-long name) — the reader has already skipped
//! to the end of that item and the next call goes on with the next one.

use std::fmt;

/// An error from [`CmlReader`](super::CmlReader). Messages are English; use
/// [`CmlError::code`] to localise.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CmlError {
    /// Reading the underlying file or stream failed.
    #[error("cannot read the CommerceML file: {0}")]
    Io(#[source] std::io::Error),

    /// Not well-formed XML, or the file ends in the middle (an interrupted upload).
    #[error("malformed XML at byte {position} in {path}: {message}")]
    Malformed {
        /// Byte offset (of the UTF-8 text; equals the file offset for UTF-8 files).
        position: u64,
        /// Element path where the problem was found (`КоммерческаяИнформация/Каталог/…`).
        path: String,
        /// What the XML parser reported.
        message: String,
    },

    /// The root element is not `КоммерческаяИнформация`.
    #[error("not a CommerceML document: the root element is <{root}>, expected <КоммерческаяИнформация>")]
    NotCommerceMl {
        /// The root element's local name.
        root: String,
    },

    /// The XML declaration names an encoding we cannot decode.
    #[error("unsupported encoding {label:?} in the XML declaration")]
    UnsupportedEncoding {
        /// The `encoding="…"` label.
        label: String,
    },

    /// The text of one element is longer than its limit (recoverable: the item is skipped).
    #[error("the text of {path} at byte {position} is longer than {limit} bytes{}", item(.id))]
    TooLong {
        /// Element path.
        path: String,
        /// The limit in bytes.
        limit: usize,
        /// Byte offset.
        position: u64,
        /// `Ид` of the item being read, when known.
        id: Option<String>,
    },

    /// The texts of one item add up to more than the limit (recoverable: the item is
    /// skipped).
    #[error("the item ending at byte {position} in {path} holds more than {limit} bytes of text{}", item(.id))]
    ItemTooLarge {
        /// Element path where the limit was passed.
        path: String,
        /// The limit in bytes.
        limit: usize,
        /// Byte offset.
        position: u64,
        /// `Ид` of the item being read, when known.
        id: Option<String>,
    },

    /// One XML token (a text run, a tag with its attributes, a comment) is larger than the
    /// reader buffers; fatal.
    #[error("an XML token at byte {position} in {path} is longer than {limit} bytes")]
    TokenTooLong {
        /// Element path.
        path: String,
        /// The limit in bytes.
        limit: usize,
        /// Byte offset.
        position: u64,
    },

    /// Elements nested deeper than the limit; fatal.
    #[error("elements nested deeper than {limit} levels at byte {position} in {path}")]
    TooDeep {
        /// Element path (up to the limit).
        path: String,
        /// The limit.
        limit: usize,
        /// Byte offset.
        position: u64,
    },

    /// More entries of one list inside one item than the limit (recoverable).
    #[error("more than {limit} entries of {path} in one item at byte {position}{}", item(.id))]
    TooMany {
        /// Path of the repeated element.
        path: String,
        /// The limit.
        limit: usize,
        /// Byte offset.
        position: u64,
        /// `Ид` of the item being read, when known.
        id: Option<String>,
    },

    /// A required element is missing or empty (recoverable).
    #[error("{path} ending at byte {position} has no {field}{}", item(.id))]
    MissingField {
        /// Path of the element that lacks the field.
        path: String,
        /// The missing child (`Ид`, `ИдТипаЦены`, `ЦенаЗаЕдиницу`, …).
        field: &'static str,
        /// Byte offset.
        position: u64,
        /// `Ид` of the enclosing item, when known.
        id: Option<String>,
    },

    /// A value element that must be a number is not (recoverable).
    #[error("{path} at byte {position}: {value:?} is not a number{}", item(.id))]
    BadNumber {
        /// Element or attribute path.
        path: String,
        /// The text found (cut to 100 characters).
        value: String,
        /// Byte offset.
        position: u64,
        /// `Ид` of the item being read, when known.
        id: Option<String>,
    },
}

fn item(id: &Option<String>) -> ItemSuffix<'_> {
    ItemSuffix(id.as_deref())
}

struct ItemSuffix<'a>(Option<&'a str>);

impl fmt::Display for ItemSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(id) => write!(f, " (item Ид {id})"),
            None => Ok(()),
        }
    }
}

impl CmlError {
    /// A stable snake_case code for logs and localised messages.
    pub fn code(&self) -> &'static str {
        match self {
            CmlError::Io(_) => "io_error",
            CmlError::Malformed { .. } => "malformed_xml",
            CmlError::NotCommerceMl { .. } => "not_commerceml",
            CmlError::UnsupportedEncoding { .. } => "unsupported_encoding",
            CmlError::TooLong { .. } => "text_too_long",
            CmlError::ItemTooLarge { .. } => "item_too_large",
            CmlError::TokenTooLong { .. } => "token_too_long",
            CmlError::TooDeep { .. } => "nesting_too_deep",
            CmlError::TooMany { .. } => "too_many_entries",
            CmlError::MissingField { .. } => "missing_field",
            CmlError::BadNumber { .. } => "bad_number",
        }
    }

    /// Whether the error concerns one item only: the reader skipped that item and the next
    /// [`next_item`](super::CmlReader::next_item) continues. After any other error the
    /// reader is finished and returns `Ok(None)`.
    pub fn is_recoverable(&self) -> bool {
        matches!(
            self,
            CmlError::TooLong { .. }
                | CmlError::ItemTooLarge { .. }
                | CmlError::TooMany { .. }
                | CmlError::MissingField { .. }
                | CmlError::BadNumber { .. }
        )
    }

    /// Fills in the item's `Ид` once it is known (errors found before `Ид` was read).
    pub(crate) fn with_item_id(mut self, item_id: Option<&str>) -> Self {
        if let (
            CmlError::TooLong { id, .. }
            | CmlError::ItemTooLarge { id, .. }
            | CmlError::TooMany { id, .. }
            | CmlError::MissingField { id, .. }
            | CmlError::BadNumber { id, .. },
            Some(item_id),
        ) = (&mut self, item_id)
        {
            if id.is_none() {
                *id = Some(item_id.to_owned());
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_item() {
        let e = CmlError::BadNumber {
            path: "КоммерческаяИнформация/ПакетПредложений/Предложения/Предложение/Цены/Цена/ЦенаЗаЕдиницу".into(),
            value: "12,5".into(),
            position: 120,
            id: None,
        }
        .with_item_id(Some("abc"));
        assert_eq!(e.code(), "bad_number");
        assert!(e.is_recoverable());
        assert_eq!(
            e.to_string(),
            "КоммерческаяИнформация/ПакетПредложений/Предложения/Предложение/Цены/Цена/ЦенаЗаЕдиницу at byte 120: \"12,5\" is not a number (item Ид abc)"
        );
        let fatal = CmlError::NotCommerceMl { root: "html".into() };
        assert!(!fatal.is_recoverable());
        assert_eq!(fatal.code(), "not_commerceml");
    }
}
