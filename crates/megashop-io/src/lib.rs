//! Catalogue import and export.
//!
//! This first part reads spreadsheets people actually have: CSV files in UTF-8 (with or
//! without a BOM) or windows-1251, separated by `,` `;` tab or `|`, with quoted fields
//! that span lines — streamed, never loaded whole. Mapping profiles, validation reports
//! and writing to the catalogue build on it.

pub mod cells;
pub mod csv_source;
pub mod export;
pub mod import;
pub mod mapping;
pub mod problem;
pub mod profile;
pub mod report;
pub mod sheet_source;
pub mod source;
pub mod writer;

pub use csv_source::{open_csv, sniff, CsvOptions, Encoding, Sniffed};
pub use source::{open, prefetch, Format, Prefetched, RawRows, RowSource, SheetChoice, SourceOptions};

/// What stops an import or export as a whole (problems in rows are reported instead).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read.
    #[error(transparent)]
    File(#[from] Error),
    /// The database refused.
    #[error("database error: {0}")]
    Db(sea_orm::DbErr),
    /// The profile is wrong.
    #[error("profile: {0}")]
    Profile(#[from] profile::ProfileError),
    /// A catalogue rule (an unknown region or category asked for).
    #[error(transparent)]
    Core(#[from] megashop_core::Error),
    /// Stopped by the user.
    #[error("cancelled")]
    Cancelled,
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What can go wrong reading a file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file cannot be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file has no header row.
    #[error("{path} is empty: a header row is needed")]
    Empty {
        /// The file.
        path: String,
    },
    /// The file cannot be parsed at some point (a broken quote, a record too long).
    #[error("{path}, line {line}: {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// Line (or row) where reading stopped.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A workbook cannot be read, or is refused (a zip bomb, a missing sheet).
    #[error("{path}: {reason}")]
    Workbook {
        /// The file.
        path: String,
        /// What is wrong, for a person.
        reason: String,
    },
    /// The file is not text (a binary file renamed .csv, say).
    #[error("{path} is not a text file (found binary data in its first bytes)")]
    NotText {
        /// The file.
        path: String,
    },
}
