//! Workbooks: XLSX (streamed), XLS and ODS, read with calamine.
//!
//! Supplier price lists come as workbooks as often as CSV. This module turns the chosen
//! sheet into [`RawRows`]: text cells as a person sees them in a spreadsheet program,
//! numbered with the row numbers shown in its margin.
//!
//! - XLSX is streamed: a reader thread walks the sheet's XML with calamine's cell reader and
//!   hands rows over a bounded channel, so a sheet of a million rows never sits in memory
//!   (the shared-string table does, as calamine loads it).
//! - XLS (at most 65,536 rows) and ODS are loaded by calamine as a whole range.
//! - Zip-based workbooks are checked before calamine opens them: a zip bomb (a few KiB
//!   declaring gigabytes inside) is refused from its central directory alone.
//!
//! Rows without any non-empty cell are skipped, and empty cells at the end of a row are
//! dropped; empty cells before a filled one come through as `""`.

use crate::source::{Format, RawRows, SheetChoice};
use crate::Error;
use calamine::{Data, DataRef, ExcelDateTime, Ods, Range, Reader, Sheet, SheetType, SheetVisible, Xls, Xlsx};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;

/// Most bytes a workbook may unpack to, summed over its entries: 1 GiB.
const MAX_UNPACKED_BYTES: u64 = 1 << 30;
/// Most entries a workbook may hold.
const MAX_ENTRIES: usize = 10_000;
/// Highest compression ratio accepted for an entry larger than [`RATIO_CHECKED_FROM`].
const MAX_RATIO: u64 = 200;
/// Entries up to this size (10 MiB) may compress as well as they like.
const RATIO_CHECKED_FROM: u64 = 10 << 20;
/// Excel's last column is XFD, the 16,384th; a cell beyond it means a damaged file.
const MAX_COLUMNS: u32 = 16_384;
/// Rows sent at once from the XLSX reader thread.
const BATCH_ROWS: usize = 256;
/// Batches the XLSX reader thread may run ahead of the consumer.
const BATCHES_AHEAD: usize = 4;
/// The `mimetype` entry of an OpenDocument spreadsheet.
const ODS_MIMETYPE: &str = "application/vnd.oasis.opendocument.spreadsheet";

fn refused(path: &Path, reason: impl Into<String>) -> Error {
    Error::Workbook { path: path.display().to_string(), reason: reason.into() }
}

/// Tells XLSX from ODS (both are zip files) by their entries, after refusing zip bombs.
///
/// ODS has a `mimetype` entry reading `application/vnd.oasis.opendocument.spreadsheet` (or,
/// without one, a `content.xml`); XLSX has `xl/workbook.xml` (or declares a spreadsheet
/// in `[Content_Types].xml`). Any other zip file is an [`Error::Workbook`].
pub fn zip_format(path: &Path) -> Result<Format, Error> {
    let mut zip = open_zip(path)?;
    if let Some(mime) = read_small_entry(&mut zip, "mimetype") {
        let mime = mime.trim();
        if mime == ODS_MIMETYPE {
            return Ok(Format::Ods);
        }
        if mime.starts_with("application/vnd.oasis.opendocument.") {
            return Err(refused(path, format!("an OpenDocument file, but not a spreadsheet ({mime})")));
        }
    }
    let has = |name: &str| zip.index_for_name(name).is_some();
    if has("xl/workbook.xml") {
        return Ok(Format::Xlsx);
    }
    if has("xl/workbook.bin") {
        return Err(refused(path, "a binary Excel workbook (XLSB), which is not supported: save it as XLSX"));
    }
    if has("content.xml") {
        return Ok(Format::Ods);
    }
    let declares_sheet = read_small_entry(&mut zip, "[Content_Types].xml")
        .is_some_and(|types| types.contains("spreadsheetml.sheet.main+xml"));
    if declares_sheet {
        return Ok(Format::Xlsx);
    }
    Err(refused(path, "a zip file, but not an XLSX or ODS workbook"))
}

/// Opens `path` as a zip archive and refuses it when its central directory promises more
/// than a workbook can reasonably hold.
fn open_zip(path: &Path) -> Result<zip::ZipArchive<BufReader<File>>, Error> {
    let file = File::open(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
    let zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| refused(path, format!("not a readable zip file, maybe incomplete or damaged ({e})")))?;
    check_zip_sizes(path, &zip)?;
    Ok(zip)
}

/// Refuses too many entries, too much unpacked data in all, or one big entry compressed
/// suspiciously well; uses only the sizes the central directory declares (the zip reader
/// refuses to unpack more than declared).
fn check_zip_sizes<R: Read + std::io::Seek>(path: &Path, zip: &zip::ZipArchive<R>) -> Result<(), Error> {
    if zip.len() > MAX_ENTRIES {
        return Err(refused(
            path,
            format!("refused: the workbook holds {} files (more than {MAX_ENTRIES}; a zip bomb?)", zip.len()),
        ));
    }
    let mut total: u128 = 0;
    let mut too_dense: Option<(String, u64, u64)> = None;
    for i in 0..zip.len() {
        let entry = zip.by_index_data(i).map_err(|e| refused(path, format!("a damaged zip file ({e})")))?;
        let (size, packed) = (entry.size(), entry.compressed_size());
        total += u128::from(size);
        let dense = u128::from(size) > u128::from(packed) * u128::from(MAX_RATIO);
        if size > RATIO_CHECKED_FROM && dense && too_dense.is_none() {
            let name = entry.name().map(|n| n.into_owned()).unwrap_or_else(|_| format!("entry {}", i + 1));
            too_dense = Some((name, packed, size));
        }
    }
    if total > u128::from(MAX_UNPACKED_BYTES) {
        return Err(refused(
            path,
            format!(
                "refused: the workbook would unpack to {} (more than {}; a zip bomb?)",
                human_size(total),
                human_size(MAX_UNPACKED_BYTES.into())
            ),
        ));
    }
    if let Some((name, packed, size)) = too_dense {
        return Err(refused(
            path,
            format!(
                "refused: `{name}` would unpack from {} to {} ({}:1; a zip bomb?)",
                human_size(packed.into()),
                human_size(size.into()),
                size / packed.max(1)
            ),
        ));
    }
    Ok(())
}

/// Reads the first 64 KiB of an entry as text; `None` when absent or unreadable.
fn read_small_entry<R: Read + std::io::Seek>(zip: &mut zip::ZipArchive<R>, name: &str) -> Option<String> {
    let entry = zip.by_name(name).ok()?;
    let mut bytes = Vec::new();
    entry.take(64 * 1024).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// A byte count for people: `512 bytes`, `1.5 GiB`, `50 GiB`.
fn human_size(bytes: u128) -> String {
    const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value >= 10.0 || value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Opens a sheet of a workbook: the first visible worksheet, or the one `sheet` names.
///
/// An unknown sheet name or position is an [`Error::Workbook`] listing the sheets there
/// are. XLSX and ODS are checked for zip bombs first (see [`zip_format`]).
pub fn open(path: &Path, format: Format, sheet: &SheetChoice) -> Result<Box<dyn RawRows>, Error> {
    if matches!(format, Format::Xlsx | Format::Ods) {
        open_zip(path)?;
    }
    let file =
        BufReader::new(File::open(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?);
    let unreadable = |e: &dyn std::fmt::Display| refused(path, format!("cannot read the workbook: {e}"));
    without_panics(path, || match format {
        Format::Xlsx => {
            let book: Xlsx<_> = Xlsx::new(file).map_err(|e| unreadable(&e))?;
            let name = choose_sheet(path, book.sheets_metadata(), sheet)?;
            Ok(Box::new(XlsxRows::start(path, book, name)?) as Box<dyn RawRows>)
        }
        Format::Ods => {
            let mut book: Ods<_> = Ods::new(file).map_err(|e| unreadable(&e))?;
            let name = choose_sheet(path, book.sheets_metadata(), sheet)?;
            let range = book.worksheet_range(&name).map_err(|e| unreadable(&e))?;
            Ok(Box::new(RangeRows::new(Format::Ods, range)) as Box<dyn RawRows>)
        }
        Format::Xls => {
            let mut book: Xls<_> = Xls::new(file).map_err(|e| unreadable(&e))?;
            let name = choose_sheet(path, book.sheets_metadata(), sheet)?;
            let range = book.worksheet_range(&name).map_err(|e| unreadable(&e))?;
            Ok(Box::new(RangeRows::new(Format::Xls, range)) as Box<dyn RawRows>)
        }
        Format::Csv => Err(refused(path, "a CSV file, not a workbook")),
    })
}

/// Runs calamine on a file that may be damaged: calamine asserts (panics) on some broken
/// XLS files, and a person must get an error naming the file instead.
fn without_panics<T>(path: &Path, read: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    // Nothing `read` touches outlives a panic but `path`, which it only reads.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|_| Err(refused(path, DAMAGED)))
}

/// The name of the sheet `choice` points at. [`SheetChoice::First`] is the first visible
/// worksheet (what a spreadsheet program shows on opening), else the first sheet.
fn choose_sheet(path: &Path, sheets: &[Sheet], choice: &SheetChoice) -> Result<String, Error> {
    let listed = || sheets.iter().map(|s| format!("`{}`", s.name)).collect::<Vec<_>>().join(", ");
    let found = match choice {
        SheetChoice::First => sheets
            .iter()
            .find(|s| s.typ == SheetType::WorkSheet && s.visible == SheetVisible::Visible)
            .or_else(|| sheets.first()),
        SheetChoice::Name(name) => sheets.iter().find(|s| s.name == *name).or_else(|| {
            // `лист2` for `Лист2`, `Sheet1 ` typed with a space: unambiguous enough.
            let wanted = name.trim().to_lowercase();
            let mut like = sheets.iter().filter(|s| s.name.trim().to_lowercase() == wanted);
            like.next().filter(|_| like.next().is_none())
        }),
        SheetChoice::Index(i) => sheets.get(*i),
    };
    match (found, choice) {
        (Some(s), _) => Ok(s.name.clone()),
        (None, _) if sheets.is_empty() => Err(refused(path, "the workbook has no sheets")),
        (None, SheetChoice::Name(name)) => {
            Err(refused(path, format!("there is no sheet named `{name}`; the sheets are {}", listed())))
        }
        (None, SheetChoice::Index(i)) => Err(refused(
            path,
            format!("there is no sheet number {} (counting from 1); the sheets are {}", i + 1, listed()),
        )),
        (None, SheetChoice::First) => Err(refused(path, "the workbook has no sheets")),
    }
}

/// A cell as text, as a person sees it (see [`crate::RowSource`]).
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => bool_text(*b).to_string(),
        Data::DateTime(d) => datetime_text(d),
        Data::Error(e) => e.to_string(),
        Data::Empty => String::new(),
    }
}

/// [`cell_text`] for the borrowed cells of calamine's XLSX cell reader.
fn cell_ref_text(cell: &DataRef<'_>) -> String {
    match cell {
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => float_text(*f),
        DataRef::Bool(b) => bool_text(*b).to_string(),
        DataRef::DateTime(d) => datetime_text(d),
        DataRef::Error(e) => e.to_string(),
        DataRef::Empty => String::new(),
    }
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "TRUE"
    } else {
        "FALSE"
    }
}

/// A number as its shortest text that reads back to the same `f64`: `3500`, not `3500.0`,
/// and `54398267125.00001` kept as it is (rounding it would hide a damaged barcode).
/// Very large and very small magnitudes use Excel's `1E+21` notation.
fn float_text(f: f64) -> String {
    if f == 0.0 {
        return "0".to_string();
    }
    if f.is_finite() && (f.abs() >= 1e21 || f.abs() < 1e-7) {
        let e = format!("{f:e}");
        return match e.split_once('e') {
            Some((mantissa, exp)) if exp.starts_with('-') => format!("{mantissa}E{exp}"),
            Some((mantissa, exp)) => format!("{mantissa}E+{exp}"),
            None => e,
        };
    }
    f.to_string()
}

/// A date as `YYYY-MM-DD`, with ` HH:MM:SS` when it has a time of day; a time alone (a
/// serial below 1) as `HH:MM:SS`; a duration as `[h]:mm:ss` (`36:00:00`).
fn datetime_text(d: &ExcelDateTime) -> String {
    let serial = d.as_f64();
    if d.is_duration() {
        let seconds = (serial.abs() * 86_400.0).round() as u64;
        let sign = if serial < 0.0 { "-" } else { "" };
        return format!("{sign}{}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60);
    }
    let (year, month, day, hour, minute, second, milli) = d.to_ymd_hms_milli();
    if (0.0..1.0).contains(&serial) {
        return format!("{hour:02}:{minute:02}:{second:02}");
    }
    if (hour, minute, second, milli) == (0, 0, 0, 0) {
        format!("{year:04}-{month:02}-{day:02}")
    } else {
        format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
    }
}

/// Drops empty cells at the end of a row.
fn trim_row_end(row: &mut Vec<String>) {
    while row.last().is_some_and(String::is_empty) {
        row.pop();
    }
}

/// A whole sheet loaded by calamine (XLS, ODS).
struct RangeRows {
    format: Format,
    range: Range<Data>,
    /// Sheet row number (1-based) of the range's first row.
    first_row: u64,
    /// Next row of the range to read, from 0.
    next: usize,
}

impl RangeRows {
    fn new(format: Format, range: Range<Data>) -> RangeRows {
        let first_row = range.start().map(|(row, _)| u64::from(row) + 1).unwrap_or(1);
        RangeRows { format, range, first_row, next: 0 }
    }
}

impl RawRows for RangeRows {
    fn format(&self) -> Format {
        self.format
    }

    fn next_raw(&mut self, row: &mut Vec<String>) -> Result<Option<u64>, Error> {
        let width = self.range.width();
        while self.next < self.range.height() {
            let at = self.next;
            self.next += 1;
            row.clear();
            row.extend((0..width).map(|col| self.range.get((at, col)).map(cell_text).unwrap_or_default()));
            trim_row_end(row);
            if !row.is_empty() {
                return Ok(Some(self.first_row + at as u64));
            }
        }
        row.clear();
        Ok(None)
    }

    fn progress(&self) -> f64 {
        match self.range.height() {
            0 => 1.0,
            height => (self.next as f64 / height as f64).min(1.0),
        }
    }
}

/// A row numbered as in the sheet (from 1), with its cells.
type NumberedRow = (u64, Vec<String>);

/// What the XLSX reader thread sends.
enum Message {
    /// The sheet is open; it declares this many rows (0 when it does not say).
    Started { rows: u64 },
    /// Rows in sheet order.
    Rows(Vec<NumberedRow>),
    /// The end of the sheet.
    Done,
    /// Reading stopped: why, for a person.
    Failed(String),
}

/// Gathers cells, arriving in sheet order, into rows.
#[derive(Default)]
struct RowAssembler {
    current: Option<(u32, Vec<String>)>,
}

impl RowAssembler {
    /// Adds the cell at 0-based (`row`, `col`); returns the previous row when this cell
    /// starts another one. Empty cells only matter as gaps, filled with `""`.
    fn push(&mut self, row: u32, col: u32, text: String) -> Result<Option<NumberedRow>, String> {
        if text.is_empty() {
            return Ok(None);
        }
        if col >= MAX_COLUMNS {
            return Err(format!("row {} has a cell beyond the last column (XFD)", u64::from(row) + 1));
        }
        let finished = match &self.current {
            Some((r, _)) if *r == row => None,
            _ => self.finish(),
        };
        let (_, cells) = self.current.get_or_insert_with(|| (row, Vec::new()));
        let col = col as usize;
        if col < cells.len() {
            cells[col] = text;
        } else {
            cells.resize(col, String::new());
            cells.push(text);
        }
        Ok(finished)
    }

    /// The row being gathered, if any.
    fn finish(&mut self) -> Option<NumberedRow> {
        self.current.take().map(|(r, cells)| (u64::from(r) + 1, cells))
    }
}

/// An XLSX sheet streamed by a reader thread (calamine's cell reader borrows the workbook,
/// so the thread owns both; the bounded channel keeps memory flat).
struct XlsxRows {
    path: String,
    /// `None` only while dropping.
    rx: Option<Receiver<Message>>,
    thread: Option<JoinHandle<()>>,
    batch: std::vec::IntoIter<NumberedRow>,
    /// Rows the sheet declares, 0 if unknown.
    declared_rows: u64,
    /// Number of the last row handed out.
    last_row: u64,
    done: bool,
}

impl XlsxRows {
    /// Starts the reader thread and waits until the sheet is open, so that a missing or
    /// unreadable sheet is an error here rather than on the first row.
    fn start(path: &Path, book: Xlsx<BufReader<File>>, sheet: String) -> Result<XlsxRows, Error> {
        let (tx, rx) = std::sync::mpsc::sync_channel(BATCHES_AHEAD);
        let thread = std::thread::Builder::new()
            .name("megashop-xlsx".into())
            .spawn(move || stream_sheet(book, &sheet, &tx))
            .map_err(|e| refused(path, format!("cannot start reading: {e}")))?;
        let mut rows = XlsxRows {
            path: path.display().to_string(),
            rx: Some(rx),
            thread: Some(thread),
            batch: Vec::new().into_iter(),
            declared_rows: 0,
            last_row: 0,
            done: false,
        };
        match rows.receive() {
            Ok(Message::Started { rows: declared }) => {
                rows.declared_rows = declared;
                Ok(rows)
            }
            Ok(Message::Failed(reason)) => Err(refused(path, reason)),
            Ok(Message::Rows(_) | Message::Done) | Err(()) => Err(refused(path, DAMAGED)),
        }
    }

    fn receive(&self) -> Result<Message, ()> {
        self.rx.as_ref().ok_or(())?.recv().map_err(|_| ())
    }
}

/// Why reading stopped when calamine gave up on the file with a panic.
const DAMAGED: &str = "the workbook is damaged: it could not be read to the end";

/// The reader thread: walks the sheet's cells and sends rows until the end, an error, or
/// the consumer hanging up.
fn stream_sheet(mut book: Xlsx<BufReader<File>>, sheet: &str, tx: &SyncSender<Message>) {
    let mut cells = match book.worksheet_cells_reader(sheet) {
        Ok(cells) => cells,
        Err(e) => {
            let _ = tx.send(Message::Failed(format!("cannot read sheet `{sheet}`: {e}")));
            return;
        }
    };
    let end = cells.dimensions().end.0;
    let declared = if end > 0 { u64::from(end) + 1 } else { 0 };
    if tx.send(Message::Started { rows: declared }).is_err() {
        return;
    }
    let mut rows = RowAssembler::default();
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let mut last = 0;
    let outcome = loop {
        let (row, col, text) = match cells.next_cell() {
            Ok(Some(cell)) => {
                let (row, col) = cell.get_position();
                (row, col, cell_ref_text(cell.get_value()))
            }
            Ok(None) => break Message::Done,
            Err(e) if last == 0 => break Message::Failed(format!("cannot read sheet `{sheet}`: {e}")),
            Err(e) => break Message::Failed(format!("cannot read sheet `{sheet}` after row {last}: {e}")),
        };
        match rows.push(row, col, text) {
            Ok(Some(finished)) => {
                last = finished.0;
                batch.push(finished);
                if batch.len() >= BATCH_ROWS {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
                    if tx.send(Message::Rows(full)).is_err() {
                        return; // The consumer is gone.
                    }
                }
            }
            Ok(None) => {}
            Err(reason) => break Message::Failed(reason),
        }
    };
    if matches!(outcome, Message::Done) {
        batch.extend(rows.finish());
    }
    if !batch.is_empty() && tx.send(Message::Rows(batch)).is_err() {
        return;
    }
    let _ = tx.send(outcome);
}

impl RawRows for XlsxRows {
    fn format(&self) -> Format {
        Format::Xlsx
    }

    fn next_raw(&mut self, row: &mut Vec<String>) -> Result<Option<u64>, Error> {
        row.clear();
        loop {
            if let Some((number, cells)) = self.batch.next() {
                *row = cells;
                self.last_row = number;
                return Ok(Some(number));
            }
            if self.done {
                return Ok(None);
            }
            match self.receive() {
                Ok(Message::Rows(rows)) => self.batch = rows.into_iter(),
                Ok(Message::Done) => self.done = true,
                Ok(Message::Started { .. }) => {}
                Ok(Message::Failed(reason)) => {
                    self.done = true;
                    return Err(Error::Workbook { path: self.path.clone(), reason });
                }
                Err(()) => {
                    self.done = true;
                    return Err(Error::Workbook { path: self.path.clone(), reason: DAMAGED.into() });
                }
            }
        }
    }

    fn progress(&self) -> f64 {
        if self.done && self.batch.len() == 0 {
            1.0
        } else if self.declared_rows > 0 {
            (self.last_row as f64 / self.declared_rows as f64).min(1.0)
        } else {
            0.0
        }
    }
}

impl Drop for XlsxRows {
    fn drop(&mut self) {
        // Hanging up makes the thread's next send fail; it then returns within one batch.
        drop(self.rx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{CellErrorType, ExcelDateTimeType};

    fn date(serial: f64) -> Data {
        Data::DateTime(ExcelDateTime::new(serial, ExcelDateTimeType::DateTime, false))
    }

    #[test]
    fn numbers_read_as_people_see_them() {
        assert_eq!(cell_text(&Data::Float(3500.0)), "3500");
        assert_eq!(cell_text(&Data::Float(-12.5)), "-12.5");
        assert_eq!(cell_text(&Data::Float(9.54)), "9.54");
        assert_eq!(cell_text(&Data::Float(-0.0)), "0");
        assert_eq!(cell_text(&Data::Float(4607034171234.0)), "4607034171234");
        assert_eq!(cell_text(&Data::Int(-42)), "-42");
        assert_eq!(cell_text(&Data::Float(1e21)), "1E+21");
        assert_eq!(cell_text(&Data::Float(1.5e-8)), "1.5E-8");
    }

    #[test]
    fn a_float_barcode_keeps_its_rounding_error() {
        assert_eq!(cell_text(&Data::Float(54398267125.00001)), "54398267125.00001");
        assert_eq!(cell_text(&Data::Float(0.1 + 0.2)), "0.30000000000000004");
    }

    #[test]
    fn other_cells_read_as_people_see_them() {
        assert_eq!(cell_text(&Data::Bool(true)), "TRUE");
        assert_eq!(cell_text(&Data::Bool(false)), "FALSE");
        assert_eq!(cell_text(&Data::Error(CellErrorType::Div0)), "#DIV/0!");
        assert_eq!(cell_text(&Data::Error(CellErrorType::NA)), "#N/A");
        assert_eq!(cell_text(&Data::Empty), "");
        assert_eq!(cell_text(&Data::String(" as is ".into())), " as is ");
        assert_eq!(cell_text(&Data::DateTimeIso("2023-02-02".into())), "2023-02-02");
        assert_eq!(cell_text(&Data::DurationIso("PT1H30M".into())), "PT1H30M");
        assert_eq!(cell_ref_text(&DataRef::SharedString("общий")), "общий");
        assert_eq!(cell_ref_text(&DataRef::Float(2550.0)), "2550");
    }

    #[test]
    fn dates_show_a_time_only_when_they_have_one() {
        assert_eq!(cell_text(&date(44959.0)), "2023-02-02");
        assert_eq!(cell_text(&date(45943.5)), "2025-10-13 12:00:00");
        assert_eq!(cell_text(&date(45943.541)), "2025-10-13 12:59:02");
        assert_eq!(cell_text(&date(0.75)), "18:00:00");
        let leap = date(60.0); // Excel's own 1900-02-29.
        assert_eq!(cell_text(&leap), "1900-02-29");
        let duration = Data::DateTime(ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false));
        assert_eq!(cell_text(&duration), "36:00:00");
        let in_1904 = Data::DateTime(ExcelDateTime::new(43497.0, ExcelDateTimeType::DateTime, true));
        assert_eq!(cell_text(&in_1904), "2023-02-02");
    }

    #[test]
    fn sizes_read_for_people() {
        assert_eq!(human_size(512), "512 bytes");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(50 << 30), "50 GiB");
        assert_eq!(human_size(3 << 29), "1.5 GiB");
    }

    #[test]
    fn cells_gather_into_rows_with_gaps_filled() {
        let mut rows = RowAssembler::default();
        assert_eq!(rows.push(0, 0, "a".into()), Ok(None));
        assert_eq!(rows.push(0, 3, "d".into()), Ok(None));
        assert_eq!(rows.push(0, 5, String::new()), Ok(None));
        // An empty row 2 never shows; row 3 starts.
        assert_eq!(rows.push(1, 0, String::new()), Ok(None));
        assert_eq!(rows.push(2, 1, "b".into()), Ok(Some((1, vec!["a".into(), "".into(), "".into(), "d".into()]))));
        assert_eq!(rows.finish(), Some((3, vec!["".into(), "b".into()])));
        assert_eq!(rows.finish(), None);
        assert!(rows.push(0, MAX_COLUMNS, "x".into()).is_err());
    }

    #[test]
    fn sheets_are_chosen_by_position_name_or_visibility() {
        let sheet = |name: &str, typ, visible| Sheet { name: name.into(), typ, visible };
        let sheets = [
            sheet("Chart", SheetType::ChartSheet, SheetVisible::Visible),
            sheet("Hidden", SheetType::WorkSheet, SheetVisible::Hidden),
            sheet("Товары", SheetType::WorkSheet, SheetVisible::Visible),
            sheet("Лист2", SheetType::WorkSheet, SheetVisible::Visible),
        ];
        let path = Path::new("book.xlsx");
        assert_eq!(choose_sheet(path, &sheets, &SheetChoice::First).ok(), Some("Товары".into()));
        assert_eq!(choose_sheet(path, &sheets, &SheetChoice::Index(1)).ok(), Some("Hidden".into()));
        assert_eq!(choose_sheet(path, &sheets, &SheetChoice::Name("лист2 ".into())).ok(), Some("Лист2".into()));
        let Err(Error::Workbook { reason, .. }) = choose_sheet(path, &sheets, &SheetChoice::Name("Прайс".into()))
        else {
            panic!("an unknown sheet must be refused");
        };
        assert!(reason.contains("`Прайс`") && reason.contains("`Товары`, `Лист2`"), "{reason}");
        let Err(Error::Workbook { reason, .. }) = choose_sheet(path, &sheets, &SheetChoice::Index(4)) else {
            panic!("an unknown position must be refused");
        };
        assert!(reason.contains("number 5") && reason.contains("`Chart`"), "{reason}");
        assert!(choose_sheet(path, &[], &SheetChoice::First).is_err());
    }
}
