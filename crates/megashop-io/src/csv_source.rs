//! Opening a CSV file: detecting its encoding and delimiter from the first bytes, then
//! streaming records through a decoder (never the whole file in memory).

use crate::source::{Format, RawRows};
use crate::Error;
use encoding_rs_io::DecodeReaderBytesBuilder;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How many bytes are looked at to guess encoding and delimiter.
const SNIFF_BYTES: usize = 64 * 1024;

/// Text encodings found in catalogue files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 starting with the byte-order mark Excel writes.
    Utf8Bom,
    /// windows-1251 (Cyrillic), what 1C and older Excel save as "CSV".
    Windows1251,
}

/// What [`sniff`] found out about a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sniffed {
    /// Text encoding.
    pub encoding: Encoding,
    /// Field delimiter.
    pub delimiter: u8,
}

/// Overrides for what is otherwise detected.
#[derive(Clone, Copy, Debug, Default)]
pub struct CsvOptions {
    /// Field delimiter; detected when `None`.
    pub delimiter: Option<u8>,
    /// Encoding; detected when `None`.
    pub encoding: Option<Encoding>,
}

/// True when `head` is valid UTF-8, allowing a multi-byte character cut off at the end.
fn is_utf8(head: &[u8]) -> bool {
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    }
}

/// Guesses encoding and delimiter from the first bytes of a file.
///
/// The delimiter is the candidate (`,` `;` tab `|`) that appears, outside quotes, the
/// same non-zero number of times on the most lines among the first ones; ties go to the
/// order just given.
pub fn sniff(head: &[u8]) -> Sniffed {
    let encoding = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        Encoding::Utf8Bom
    } else if is_utf8(head) {
        Encoding::Utf8
    } else {
        Encoding::Windows1251
    };
    Sniffed { encoding, delimiter: guess_delimiter(head) }
}

fn guess_delimiter(head: &[u8]) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
    // Count candidates per logical line (quotes may hide delimiters and newlines).
    let mut lines: Vec<[usize; 4]> = vec![[0; 4]];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => {
                if lines.len() >= 50 {
                    break;
                }
                lines.push([0; 4]);
            }
            _ if !quoted => {
                if let Some(i) = CANDIDATES.iter().position(|c| *c == b) {
                    if let Some(last) = lines.last_mut() {
                        last[i] += 1;
                    }
                }
            }
            _ => {}
        }
    }
    // Drop a last line that may be cut off, unless it is the only one.
    if lines.len() > 1 {
        lines.pop();
    }
    let header = lines[0];
    let mut best = (0usize, b',');
    for (i, c) in CANDIDATES.iter().enumerate() {
        if header[i] == 0 {
            continue;
        }
        let agreeing = lines.iter().filter(|l| l[i] == header[i]).count();
        if agreeing > best.0 {
            best = (agreeing, *c);
        }
    }
    best.1
}

/// Opens a CSV file for streaming: detects what `opts` leaves open, skips a BOM, decodes
/// windows-1251 to UTF-8 on the fly, and accepts rows of varying length (the caller's
/// validation reports them). Empty and binary files are refused with a clear error.
pub fn open_csv(path: &Path, opts: CsvOptions) -> Result<(csv::Reader<Box<dyn Read>>, Sniffed), Error> {
    let io = |source| Error::Io { path: path.display().to_string(), source };
    let head = read_head(path)?;
    let sniffed = check_and_sniff(path, &head, opts)?;
    let file = BufReader::with_capacity(256 * 1024, File::open(path).map_err(io)?);
    let reader: Box<dyn Read> = Box::new(decoder(sniffed, file));
    let csv =
        csv::ReaderBuilder::new().delimiter(sniffed.delimiter).flexible(true).has_headers(true).from_reader(reader);
    Ok((csv, sniffed))
}

fn read_head(path: &Path) -> Result<Vec<u8>, Error> {
    let io = |source| Error::Io { path: path.display().to_string(), source };
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    File::open(path).map_err(io)?.take(SNIFF_BYTES as u64).read_to_end(&mut head).map_err(io)?;
    Ok(head)
}

fn decoder<R: Read>(sniffed: Sniffed, inner: R) -> encoding_rs_io::DecodeReaderBytes<R, Vec<u8>> {
    DecodeReaderBytesBuilder::new()
        .encoding(match sniffed.encoding {
            Encoding::Windows1251 => Some(encoding_rs::WINDOWS_1251),
            Encoding::Utf8 | Encoding::Utf8Bom => Some(encoding_rs::UTF_8),
        })
        .bom_override(true)
        // UTF-8 goes through as it is, BOM dropped: each record is checked once when it is
        // read (`CsvRows::next_raw`), so a second pass here would only copy.
        .utf8_passthru(true)
        .strip_bom(true)
        .build(inner)
}

/// Refuses empty and binary files; detects what `opts` leaves open.
fn check_and_sniff(path: &Path, head: &[u8], opts: CsvOptions) -> Result<Sniffed, Error> {
    let body = head.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(head);
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::Empty { path: path.display().to_string() });
    }
    if body.iter().take(4096).any(|b| *b == 0) {
        return Err(Error::NotText { path: path.display().to_string() });
    }
    let found = sniff(head);
    Ok(Sniffed {
        encoding: opts.encoding.unwrap_or(found.encoding),
        delimiter: opts.delimiter.unwrap_or(found.delimiter),
    })
}

/// Counts bytes read and refuses to go on when one record grows past
/// [`MAX_RECORD_BYTES`](crate::source::MAX_RECORD_BYTES), so a 2 GB line never sits in memory.
struct Guard<R> {
    inner: R,
    read: Arc<AtomicU64>,
    record_start: Arc<AtomicU64>,
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.read.load(Ordering::Relaxed);
        if read - self.record_start.load(Ordering::Relaxed) > crate::source::MAX_RECORD_BYTES {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, RecordTooLong));
        }
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The marker error [`Guard`] returns.
#[derive(Debug)]
struct RecordTooLong;

impl std::fmt::Display for RecordTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a record is longer than {} MiB", crate::source::MAX_RECORD_BYTES >> 20)
    }
}

impl std::error::Error for RecordTooLong {}

/// A CSV file as [`RawRows`]: the header is an ordinary row here.
pub struct CsvRows {
    path: String,
    reader: csv::Reader<Box<dyn Read + Send>>,
    record: csv::ByteRecord,
    raw_read: Arc<AtomicU64>,
    record_start: Arc<AtomicU64>,
    size: u64,
    rows: u64,
}

impl CsvRows {
    /// Opens `path` (see [`open_csv`] for what is detected and refused).
    pub fn open(path: &Path, opts: CsvOptions) -> Result<CsvRows, Error> {
        let io = |source| Error::Io { path: path.display().to_string(), source };
        let head = read_head(path)?;
        let sniffed = check_and_sniff(path, &head, opts)?;
        let size = std::fs::metadata(path).map_err(io)?.len().max(1);
        let raw_read = Arc::new(AtomicU64::new(0));
        let record_start = Arc::new(AtomicU64::new(0));
        let file = BufReader::with_capacity(256 * 1024, File::open(path).map_err(io)?);
        let guarded = Guard { inner: file, read: raw_read.clone(), record_start: record_start.clone() };
        let reader: Box<dyn Read + Send> = Box::new(decoder(sniffed, guarded));
        let reader = csv::ReaderBuilder::new()
            .delimiter(sniffed.delimiter)
            .flexible(true)
            .has_headers(false)
            .buffer_capacity(256 * 1024)
            .from_reader(reader);
        Ok(CsvRows {
            path: path.display().to_string(),
            reader,
            record: csv::ByteRecord::new(),
            raw_read,
            record_start,
            size,
            rows: 0,
        })
    }
}

impl RawRows for CsvRows {
    fn format(&self) -> Format {
        Format::Csv
    }

    fn next_raw(&mut self, row: &mut Vec<String>) -> Result<Option<u64>, Error> {
        // Bytes consumed so far (buffered but unparsed bytes included) mark where the next
        // record starts, closely enough for the size guard.
        self.record_start.store(self.raw_read.load(Ordering::Relaxed), Ordering::Relaxed);
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => {
                row.clear();
                Ok(None)
            }
            Ok(true) => {
                self.rows += 1;
                // Reuse the caller's strings: no allocation per cell once they have grown.
                // The record's bytes are checked as UTF-8 once, with SIMD (what csv's
                // `StringRecord` does without); a cell is then a slice of that text, cut at
                // character boundaries. Invalid bytes become U+FFFD, cell by cell.
                row.truncate(self.record.len());
                let text = simdutf8::basic::from_utf8(self.record.as_slice()).ok();
                for i in 0..self.record.len() {
                    let range = self.record.range(i).unwrap_or(0..0);
                    let checked = text.and_then(|t| t.get(range.clone()));
                    let cell = match checked {
                        Some(cell) => std::borrow::Cow::Borrowed(cell),
                        None => String::from_utf8_lossy(self.record.as_slice().get(range).unwrap_or_default()),
                    };
                    match row.get_mut(i) {
                        Some(s) => {
                            s.clear();
                            s.push_str(&cell);
                        }
                        None => row.push(cell.into_owned()),
                    }
                }
                Ok(Some(self.rows))
            }
            Err(e) => {
                row.clear();
                let line = e.position().map(|p| p.line()).unwrap_or(self.rows + 1);
                let reason = match e.kind() {
                    csv::ErrorKind::Io(io) if io.get_ref().is_some_and(|r| r.is::<RecordTooLong>()) => {
                        format!("record {} is longer than {} MiB", self.rows + 1, crate::source::MAX_RECORD_BYTES >> 20)
                    }
                    _ => e.to_string(),
                };
                Err(Error::Malformed { path: self.path.clone(), line, reason })
            }
        }
    }

    fn progress(&self) -> f64 {
        (self.raw_read.load(Ordering::Relaxed) as f64 / self.size as f64).min(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_found_outside_quotes() {
        assert_eq!(sniff(b"a;b;c\n1;\"x,y,z\";3\n").delimiter, b';');
        assert_eq!(sniff(b"a,b\n\"1;2;3\",4\n").delimiter, b',');
        assert_eq!(sniff(b"a\tb\tc\n1\t2\t3\n").delimiter, b'\t');
        assert_eq!(sniff(b"single column\nvalue\n").delimiter, b',');
    }

    fn read_all(bytes: &[u8]) -> Vec<Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, bytes).unwrap();
        let mut rows = CsvRows::open(&path, CsvOptions::default()).unwrap();
        let mut out = Vec::new();
        let mut row = Vec::new();
        while rows.next_raw(&mut row).unwrap().is_some() {
            out.push(row.clone());
        }
        out
    }

    #[test]
    fn utf8_is_read_as_is_with_its_bom_dropped_and_bad_bytes_replaced() {
        let rows = read_all("\u{feff}sku,Название\nA-1,\"Лампа, \"\"Профи\"\"\nдве строки\"\n".as_bytes());
        assert_eq!(rows, vec![vec!["sku", "Название"], vec!["A-1", "Лампа, \"Профи\"\nдве строки"]]);
        // Past the sniffed bytes, a byte that is not UTF-8 spoils its own cell only.
        let mut file = b"sku,name\n".to_vec();
        while file.len() < SNIFF_BYTES + 100 {
            file.extend_from_slice(b"A-0,plain\n");
        }
        file.extend_from_slice("B-1,Лампа,ок\n".as_bytes());
        let at = file.len() - "па,ок\n".len();
        file.insert(at, 0xFF);
        let rows = read_all(&file);
        assert_eq!(rows.last().unwrap(), &vec!["B-1".to_string(), "Лам\u{fffd}па".into(), "ок".into()]);
        assert_eq!(rows[1], vec!["A-0", "plain"]);
    }

    #[test]
    fn encodings_are_told_apart() {
        assert_eq!(sniff("SKU;Название\n".as_bytes()).encoding, Encoding::Utf8);
        assert_eq!(sniff(b"\xEF\xBB\xBFSKU,Name\n").encoding, Encoding::Utf8Bom);
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("SKU;Название\n");
        assert_eq!(sniff(&cp1251).encoding, Encoding::Windows1251);
        // A Cyrillic letter cut in half at the end of the sniffed bytes is still UTF-8.
        let cut = &"ab Ж".as_bytes()[..4];
        assert_eq!(sniff(cut).encoding, Encoding::Utf8);
    }
}
