//! Catalogue import and export.
//!
//! This first part reads spreadsheets people actually have: CSV files in UTF-8 (with or
//! without a BOM) or windows-1251, separated by `,` `;` tab or `|`, with quoted fields
//! that span lines — streamed, never loaded whole. Mapping profiles, validation reports
//! and writing to the catalogue build on it.

pub mod cells;
pub mod csv_source;

pub use csv_source::{open_csv, sniff, CsvOptions, Encoding, Sniffed};

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
    /// The file is not text (a binary file renamed .csv, say).
    #[error("{path} is not a text file (found binary data in its first bytes)")]
    NotText {
        /// The file.
        path: String,
    },
}
