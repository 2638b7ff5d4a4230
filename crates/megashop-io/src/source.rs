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

/// Rows per hand-over between the thread reading ahead and its consumer.
const PREFETCH_ROWS: usize = 512;
/// Hand-overs in flight: at most this many chunks are read ahead.
const PREFETCH_CHUNKS: usize = 4;

/// What the reading-ahead thread hands over.
enum Chunk {
    /// Rows with their numbers, and the fraction of the input read after them.
    Rows(Vec<(u64, Vec<String>)>, f64),
    /// The end of the input, or where reading failed.
    End(Option<Error>),
}

/// A [`RowSource`] read ahead by a thread of its own, so parsing the file and what the
/// caller does with each row run on two cores. Rows come in chunks whose strings go back
/// to the reading thread to be filled again (no allocation per row once warm). Dropping
/// it stops the thread at its next hand-over.
pub struct Prefetched {
    format: Format,
    headers: Vec<String>,
    header_row: u64,
    rx: std::sync::mpsc::Receiver<Chunk>,
    recycle: std::sync::mpsc::SyncSender<Vec<(u64, Vec<String>)>>,
    current: Vec<(u64, Vec<String>)>,
    at: usize,
    fraction: f64,
    ended: bool,
}

/// Reads `src` ahead on a thread of its own (see [`Prefetched`]); fails only when the
/// system cannot start a thread.
pub fn prefetch(mut src: Box<dyn RowSource>) -> Result<Prefetched, Error> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(PREFETCH_CHUNKS);
    let (recycle, recycled) = std::sync::mpsc::sync_channel::<Vec<(u64, Vec<String>)>>(PREFETCH_CHUNKS + 2);
    let (format, headers, header_row) = (src.format(), src.headers().to_vec(), src.header_row());
    let reading = move || loop {
        let mut chunk = recycled.try_recv().unwrap_or_default();
        let mut filled = 0;
        let mut end = None;
        while filled < PREFETCH_ROWS {
            if filled == chunk.len() {
                chunk.push((0, Vec::new()));
            }
            match src.next_row(&mut chunk[filled].1) {
                Ok(Some(n)) => {
                    chunk[filled].0 = n;
                    filled += 1;
                }
                Ok(None) => {
                    end = Some(None);
                    break;
                }
                Err(e) => {
                    end = Some(Some(e));
                    break;
                }
            }
        }
        chunk.truncate(filled);
        if !chunk.is_empty() && tx.send(Chunk::Rows(chunk, src.progress())).is_err() {
            return;
        }
        if let Some(end) = end {
            let _ = tx.send(Chunk::End(end));
            return;
        }
    };
    std::thread::Builder::new()
        .name("import-parse".into())
        .spawn(reading)
        .map_err(|source| Error::Io { path: "(a thread reading ahead)".into(), source })?;
    Ok(Prefetched { format, headers, header_row, rx, recycle, current: Vec::new(), at: 0, fraction: 0.0, ended: false })
}

impl RowSource for Prefetched {
    fn format(&self) -> Format {
        self.format
    }
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn next_row(&mut self, row: &mut Vec<String>) -> Result<Option<u64>, Error> {
        loop {
            if let Some((n, cells)) = self.current.get_mut(self.at) {
                // The caller's old row goes back in its place, to be refilled.
                std::mem::swap(row, cells);
                self.at += 1;
                return Ok(Some(*n));
            }
            if self.ended {
                row.clear();
                return Ok(None);
            }
            let used = std::mem::take(&mut self.current);
            if !used.is_empty() {
                // A full queue only means the reader has enough buffers already.
                let _ = self.recycle.try_send(used);
            }
            self.at = 0;
            match self.rx.recv() {
                Ok(Chunk::Rows(rows, fraction)) => {
                    self.current = rows;
                    self.fraction = fraction;
                }
                Ok(Chunk::End(None)) | Err(_) => self.ended = true,
                Ok(Chunk::End(Some(e))) => {
                    self.ended = true;
                    row.clear();
                    return Err(e);
                }
            }
        }
    }
    fn progress(&self) -> f64 {
        if self.ended {
            1.0
        } else {
            self.fraction
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `rows` numbered rows, then an error or the end.
    struct Numbers {
        next: u64,
        rows: u64,
        fail: bool,
    }

    impl RowSource for Numbers {
        fn format(&self) -> Format {
            Format::Csv
        }
        fn headers(&self) -> &[String] {
            &[]
        }
        fn next_row(&mut self, row: &mut Vec<String>) -> Result<Option<u64>, Error> {
            if self.next == self.rows {
                return if self.fail {
                    Err(Error::Malformed { path: "x.csv".into(), line: self.rows + 2, reason: "broken quote".into() })
                } else {
                    Ok(None)
                };
            }
            self.next += 1;
            row.clear();
            row.push(format!("cell {}", self.next));
            row.push(String::new());
            Ok(Some(self.next + 1))
        }
        fn progress(&self) -> f64 {
            self.next as f64 / self.rows.max(1) as f64
        }
        fn header_row(&self) -> u64 {
            1
        }
    }

    fn drain(src: &mut Prefetched) -> (Vec<(u64, Vec<String>)>, Option<Error>) {
        let mut out = Vec::new();
        let mut row = Vec::new();
        loop {
            match src.next_row(&mut row) {
                Ok(Some(n)) => out.push((n, row.clone())),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn rows_read_ahead_come_in_order_and_complete() {
        for rows in [0, 1, PREFETCH_ROWS as u64, 3 * PREFETCH_ROWS as u64 + 7] {
            let mut src = prefetch(Box::new(Numbers { next: 0, rows, fail: false })).unwrap();
            let (got, err) = drain(&mut src);
            assert!(err.is_none());
            assert_eq!(got.len() as u64, rows);
            for (i, (n, cells)) in got.iter().enumerate() {
                assert_eq!(*n, i as u64 + 2);
                assert_eq!(cells, &vec![format!("cell {}", i + 1), String::new()]);
            }
            assert_eq!(src.progress(), 1.0);
            // The end stays the end.
            assert!(matches!(src.next_row(&mut Vec::new()), Ok(None)));
        }
    }

    #[test]
    fn an_error_reading_ahead_comes_after_the_rows_before_it() {
        let mut src = prefetch(Box::new(Numbers { next: 0, rows: 1000, fail: true })).unwrap();
        let (got, err) = drain(&mut src);
        assert_eq!(got.len(), 1000);
        match err {
            Some(Error::Malformed { line, reason, .. }) => assert_eq!((line, reason.as_str()), (1002, "broken quote")),
            other => panic!("expected the reading error, got {other:?}"),
        }
    }

    /// Counts the rows it gives, forever.
    struct Endless(std::sync::Arc<std::sync::atomic::AtomicU64>);

    impl RowSource for Endless {
        fn format(&self) -> Format {
            Format::Csv
        }
        fn headers(&self) -> &[String] {
            &[]
        }
        fn next_row(&mut self, row: &mut Vec<String>) -> Result<Option<u64>, Error> {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            row.clear();
            row.push("x".into());
            Ok(Some(n + 2))
        }
        fn progress(&self) -> f64 {
            0.0
        }
    }

    #[test]
    fn reading_ahead_is_bounded_and_stops_when_dropped() {
        use std::sync::atomic::Ordering::SeqCst;
        let read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let src = prefetch(Box::new(Endless(read.clone()))).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let ahead = read.load(SeqCst);
        // The chunks in flight, the one being filled, and the row that found the queue full.
        let bound = ((PREFETCH_CHUNKS + 2) * PREFETCH_ROWS) as u64;
        assert!(ahead > 0 && ahead <= bound, "read {ahead} rows ahead (bound {bound})");
        drop(src);
        std::thread::sleep(std::time::Duration::from_millis(100));
        let after = read.load(SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert_eq!(read.load(SeqCst), after, "the thread stopped reading");
    }
}
