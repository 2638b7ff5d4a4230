//! Rows of a spreadsheet, whatever the file: CSV, XLSX, XLS or ODS.
//!
//! [`open`] looks at a file's first bytes (not its name: a `.csv` that is really a zip is
//! told apart) and returns a [`RowSource`] that yields the header and then one row at a
//! time, with the row number a person sees in a spreadsheet program.

use crate::csv_source::{self, CsvOptions};
use crate::Error;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Largest record (one CSV row, quoted newlines included) accepted: 64 MiB. A longer one
/// (a 2 GB single line, say) is refused before it is held in memory.
pub const MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;

/// File formats [`open`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Delimited text.
    Csv,
    /// Office Open XML workbook (Excel 2007+).
    Xlsx,
    /// Legacy Excel 97-2003 workbook (BIFF8).
    Xls,
    /// OpenDocument spreadsheet (LibreOffice).
    Ods,
}

impl Format {
    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Xls => "xls",
            Format::Ods => "ods",
        }
    }
}

/// Which sheet of a workbook to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SheetChoice {
    /// The first sheet.
    #[default]
    First,
    /// A sheet by name.
    Name(String),
    /// A sheet by position, from 0.
    Index(usize),
}

impl SheetChoice {
    /// Parses a command-line value: a number is an index from 1 (as people count sheets),
    /// anything else a name.
    pub fn parse(s: &str) -> SheetChoice {
        match s.trim().parse::<usize>() {
            Ok(n) if n >= 1 => SheetChoice::Index(n - 1),
            _ => SheetChoice::Name(s.to_string()),
        }
    }
}

/// How to open a file.
#[derive(Clone, Debug, Default)]
pub struct SourceOptions {
    /// CSV delimiter and encoding overrides.
    pub csv: CsvOptions,
    /// Sheet of a workbook.
    pub sheet: SheetChoice,
    /// Rows above the header to skip (a price list's title lines). `None` finds the header
    /// row by itself: the first row, among the first 30, with at least two non-empty cells
    /// that is followed by a row of data.
    pub header_row: Option<usize>,
}

/// A stream of rows. Cells are text as a person would see it: numbers without a spurious
/// `.0`, dates as `YYYY-MM-DD`, booleans as `TRUE`/`FALSE`, empty cells as `""`.
pub trait RowSource: Send {
    /// The format read.
    fn format(&self) -> Format;
    /// The header row's cells.
    fn headers(&self) -> &[String];
    /// Reads the next data row into `row` (cleared first) and returns its 1-based row
    /// number in the file (the header of a plain CSV is row 1, its first data row 2), or
    /// `None` at the end. Rows may be shorter or longer than the header.
    fn next_row(&mut self, row: &mut Vec<String>) -> Result<Option<u64>, Error>;
    /// Fraction of the input consumed, 0.0..=1.0, for progress bars (approximate).
    fn progress(&self) -> f64;
    /// Row number of the header in the file (1 unless title lines come first).
    fn header_row(&self) -> u64 {
        1
    }
}

/// Rows of a file before the header is known: what each format's reader implements.
pub trait RawRows: Send {
    /// The format read.
    fn format(&self) -> Format;
    /// Reads the next row (header included) into `row`, replacing what it held (its strings
    /// may be reused); returns its 1-based number in the file, or `None` at the end.
    fn next_raw(&mut self, row: &mut Vec<String>) -> Result<Option<u64>, Error>;
    /// Fraction of the input consumed, 0.0..=1.0 (approximate).
    fn progress(&self) -> f64;
}

impl<R: RawRows + ?Sized> RawRows for Box<R> {
    fn format(&self) -> Format {
        (**self).format()
    }
    fn next_raw(&mut self, row: &mut Vec<String>) -> Result<Option<u64>, Error> {
        (**self).next_raw(row)
    }
    fn progress(&self) -> f64 {
        (**self).progress()
    }
}

/// How many rows are looked at to find the header.
const HEADER_SCAN_ROWS: usize = 30;

/// Finds the header among the first rows: the first one with at least two non-empty cells
/// and at least half as many as the fullest row seen.
pub fn find_header(rows: &[Vec<String>]) -> Option<usize> {
    let filled = |r: &Vec<String>| r.iter().filter(|c| !c.trim().is_empty()).count();
    let most = rows.iter().map(filled).max().unwrap_or(0);
    rows.iter().position(|r| {
        let n = filled(r);
        n >= 2 && n * 2 >= most
    })
}

/// A [`RawRows`] with its header found: the [`RowSource`] callers use.
struct Headered<R: RawRows> {
    raw: R,
    headers: Vec<String>,
    header_row: u64,
    buffered: std::collections::VecDeque<(u64, Vec<String>)>,
}

impl<R: RawRows> Headered<R> {
    fn new(mut raw: R, path: &Path, header_row: Option<usize>) -> Result<Self, Error> {
        let mut rows = Vec::new();
        let want = header_row.map(|h| h + 1).unwrap_or(HEADER_SCAN_ROWS);
        while rows.len() < want {
            let mut row = Vec::new();
            match raw.next_raw(&mut row)? {
                Some(n) => rows.push((n, row)),
                None => break,
            }
        }
        let cells: Vec<Vec<String>> = rows.iter().map(|(_, r)| r.clone()).collect();
        let at = match header_row {
            Some(h) if h < rows.len() => h,
            Some(_) => return Err(Error::Empty { path: path.display().to_string() }),
            None => find_header(&cells)
                .or_else(|| (!rows.is_empty()).then_some(0))
                .ok_or_else(|| Error::Empty { path: path.display().to_string() })?,
        };
        let mut rows: std::collections::VecDeque<_> = rows.into();
        rows.drain(..at);
        let (header_row, mut headers) =
            rows.pop_front().ok_or_else(|| Error::Empty { path: path.display().to_string() })?;
        for h in &mut headers {
            // Headers are names: outer spaces (`Опт. цена `) and a stray BOM mean nothing.
            *h = h.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}').to_string();
        }
        if headers.iter().all(String::is_empty) {
            return Err(Error::Empty { path: path.display().to_string() });
        }
        Ok(Headered { raw, headers, header_row, buffered: rows })
    }
}

impl<R: RawRows> RowSource for Headered<R> {
    fn format(&self) -> Format {
        self.raw.format()
    }
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn next_row(&mut self, row: &mut Vec<String>) -> Result<Option<u64>, Error> {
        if let Some((n, r)) = self.buffered.pop_front() {
            *row = r;
            return Ok(Some(n));
        }
        self.raw.next_raw(row)
    }
    fn progress(&self) -> f64 {
        self.raw.progress()
    }
    fn header_row(&self) -> u64 {
        self.header_row
    }
}

/// Opens `path`, telling the format by its content, and finds the header row.
pub fn open(path: &Path, opts: &SourceOptions) -> Result<Box<dyn RowSource>, Error> {
    match detect_format(path)? {
        Format::Csv => Ok(Box::new(Headered::new(csv_source::CsvRows::open(path, opts.csv)?, path, opts.header_row)?)),
        f @ (Format::Xlsx | Format::Xls | Format::Ods) => {
            let raw = crate::sheet_source::open(path, f, &opts.sheet)?;
            Ok(Box::new(Headered::new(raw, path, opts.header_row)?))
        }
    }
}

/// Tells the format of a file from its first bytes (and, for zip files, their content).
pub fn detect_format(path: &Path) -> Result<Format, Error> {
    let io = |source| Error::Io { path: path.display().to_string(), source };
    let mut head = [0u8; 8];
    let mut f = File::open(path).map_err(io)?;
    let n = f.read(&mut head).map_err(io)?;
    let head = &head[..n];
    if head.starts_with(b"PK\x03\x04") {
        return crate::sheet_source::zip_format(path);
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Ok(Format::Xls);
    }
    Ok(Format::Csv)
}
