//! The files of one exchange: names 1C sends checked and confined to the session's
//! upload directory, chunks appended, zip archives unpacked with limits.
//!
//! 1C names files freely (`goods/1/import___<guid>.xml`, `import_files\3b\x.jpg`, or with
//! the `/tmp/` prefix of a Linux 1C server); nothing it sends may leave the directory, and
//! an archive may not unpack into more than the limits allow.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

/// Why a file of the exchange was refused.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The name is empty, absolute, climbs out (`..`), or has a script extension.
    #[error("file name {0:?} is not allowed")]
    BadName(String),
    /// The file does not exist in the session's directory.
    #[error("file {0:?} was not uploaded in this exchange")]
    Missing(String),
    /// The uploads of one exchange exceed the limit.
    #[error("the exchange's files exceed {limit} bytes")]
    TooBig {
        /// The limit in bytes.
        limit: u64,
    },
    /// The archive could not be read.
    #[error("the zip archive {name:?} is damaged: {reason}")]
    BadZip {
        /// Archive name.
        name: String,
        /// What the zip reader said.
        reason: String,
    },
    /// The archive unpacks into more than allowed (a zip bomb).
    #[error("the zip archive {name:?} unpacks into more than {limit} bytes or {entries} entries")]
    ZipBomb {
        /// Archive name.
        name: String,
        /// Byte limit.
        limit: u64,
        /// Entry limit.
        entries: usize,
    },
    /// Reading or writing the disk failed.
    #[error("file system: {0}")]
    Io(#[from] io::Error),
}

impl FileError {
    /// Stable code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            FileError::BadName(_) => "bad_file_name",
            FileError::Missing(_) => "file_missing",
            FileError::TooBig { .. } => "files_too_big",
            FileError::BadZip { .. } => "bad_zip",
            FileError::ZipBomb { .. } => "zip_bomb",
            FileError::Io(_) => "io",
        }
    }
}

/// Extensions never accepted: nothing uploaded may be executable by a web server.
const SCRIPT_EXTENSIONS: &[&str] =
    &["php", "php3", "php4", "php5", "phtml", "phar", "cgi", "pl", "py", "sh", "asp", "aspx", "jsp", "exe", "htaccess"];

/// Prefixes 1C on Linux (or the 1C-Bitrix module) puts before the name; they are dropped.
const DROPPED_PREFIXES: &[&str] = &["/tmp/", "tmp/", "/upload/1c/webdata/", "upload/1c/webdata/"];

/// The relative path a name from 1C stands for, or [`FileError::BadName`].
pub fn clean_name(raw: &str) -> Result<PathBuf, FileError> {
    let bad = || FileError::BadName(raw.chars().take(200).collect());
    let mut name = raw.trim().replace('\\', "/");
    for p in DROPPED_PREFIXES {
        if let Some(rest) = name.strip_prefix(p) {
            name = rest.to_string();
            break;
        }
    }
    if name.is_empty() || name.len() > 1024 || name.starts_with('/') || name.chars().any(|c| c.is_control()) {
        return Err(bad());
    }
    // A drive letter (`C:/...`) is an absolute Windows path.
    if name.as_bytes().get(1) == Some(&b':') {
        return Err(bad());
    }
    let mut out = PathBuf::new();
    for part in name.split('/') {
        if part.is_empty() || part == "." {
            continue;
        }
        if part == ".." || part.len() > 255 {
            return Err(bad());
        }
        out.push(part);
    }
    // Anything but plain names would be a way out.
    if out.as_os_str().is_empty() || out.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(bad());
    }
    let ext = out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
    let file = out.file_name().and_then(|f| f.to_str()).unwrap_or_default().to_ascii_lowercase();
    if SCRIPT_EXTENSIONS.contains(&ext.as_str()) || file == ".htaccess" {
        return Err(bad());
    }
    Ok(out)
}

/// Bytes used by the files under `dir` (recursively).
pub fn used_bytes(dir: &Path) -> u64 {
    fn walk(p: &Path, sum: &mut u64) {
        let Ok(rd) = fs::read_dir(p) else { return };
        for e in rd.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => walk(&e.path(), sum),
                Ok(t) if t.is_file() => *sum += e.metadata().map(|m| m.len()).unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut sum = 0;
    walk(dir, &mut sum);
    sum
}

/// Appends `body` to the file `name` under `dir` (a file larger than 1C's chunk limit
/// comes in several requests); refuses when the directory would exceed `limit` bytes.
/// Returns the file's new length.
pub fn append(dir: &Path, name: &Path, body: &[u8], limit: u64) -> Result<u64, FileError> {
    if used_bytes(dir) + body.len() as u64 > limit {
        return Err(FileError::TooBig { limit });
    }
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut f = OpenOptions::new().create(true).append(true).open(&path)?;
    f.write_all(body)?;
    f.sync_data()?;
    Ok(f.metadata()?.len())
}

/// Limits of unpacking one archive.
#[derive(Clone, Copy, Debug)]
pub struct ZipLimits {
    /// Most bytes all entries may unpack into.
    pub max_bytes: u64,
    /// Most entries.
    pub max_entries: usize,
}

/// The name of a zip entry: UTF-8 when it is, else CP866 (1C on Windows writes names in
/// the OEM code page without the UTF-8 flag).
fn entry_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::IBM866.decode_without_bom_handling(raw).0.into_owned(),
    }
}

/// Unpacks `archive` into `dest`, checking every entry's name like [`clean_name`] and
/// counting the bytes actually written (declared sizes can lie). Returns the relative
/// paths of the files unpacked, in archive order.
pub fn unzip(archive: &Path, dest: &Path, limits: ZipLimits) -> Result<Vec<PathBuf>, FileError> {
    let name = archive.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let bad = |e: zip::result::ZipError| FileError::BadZip { name: name.clone(), reason: e.to_string() };
    let bomb = || FileError::ZipBomb { name: name.clone(), limit: limits.max_bytes, entries: limits.max_entries };
    let mut zip = zip::ZipArchive::new(io::BufReader::new(File::open(archive)?)).map_err(bad)?;
    if zip.len() > limits.max_entries {
        return Err(bomb());
    }
    let mut written: u64 = 0;
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(bad)?;
        if entry.is_dir() {
            continue;
        }
        if entry.is_symlink() {
            return Err(FileError::BadName(entry_name(entry.name_raw())));
        }
        let rel = clean_name(&entry_name(entry.name_raw()))?;
        if written.saturating_add(entry.size()) > limits.max_bytes {
            return Err(bomb());
        }
        let path = dest.join(&rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut f = File::create(&path)?;
        // Read one byte more than the budget left: reaching it means the entry lied.
        let budget = limits.max_bytes - written;
        let n = io::copy(&mut (&mut entry).take(budget + 1), &mut f)
            .map_err(|e| FileError::BadZip { name: name.clone(), reason: e.to_string() })?;
        if n > budget {
            drop(f);
            let _ = fs::remove_file(&path);
            return Err(bomb());
        }
        written += n;
        out.push(rel);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_1c_are_confined() {
        assert_eq!(clean_name("import.xml").unwrap(), PathBuf::from("import.xml"));
        assert_eq!(
            clean_name("goods\\1\\import___a1.xml").unwrap(),
            PathBuf::from("goods").join("1").join("import___a1.xml")
        );
        assert_eq!(clean_name("/tmp/offers.xml").unwrap(), PathBuf::from("offers.xml"));
        assert_eq!(clean_name("upload/1c/webdata/import_files/3b/x.jpg").unwrap(), Path::new("import_files/3b/x.jpg"));
        assert_eq!(clean_name("./a//b.xml").unwrap(), Path::new("a/b.xml"));
        for bad in ["", "/etc/passwd", "../x.xml", "a/../../x", "C:\\x.xml", "shell.php", "a/.htaccess", "x\0.xml", "."]
        {
            assert!(matches!(clean_name(bad), Err(FileError::BadName(_))), "{bad:?}");
        }
    }

    #[test]
    fn chunks_append_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let name = clean_name("a/import.xml").unwrap();
        assert_eq!(append(dir.path(), &name, b"<a>", 10).unwrap(), 3);
        assert_eq!(append(dir.path(), &name, b"</a>", 10).unwrap(), 7);
        assert_eq!(fs::read(dir.path().join(&name)).unwrap(), b"<a></a>");
        assert!(matches!(append(dir.path(), &name, b"1234", 10), Err(FileError::TooBig { limit: 10 })));
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut buf = io::Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            for (name, data) in entries {
                w.start_file(*name, opts).unwrap();
                w.write_all(data).unwrap();
            }
            w.finish().unwrap();
        }
        buf.into_inner()
    }

    #[test]
    fn archives_unpack_inside_the_directory_and_bombs_stop() {
        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join("x.zip");
        fs::write(&zip, zip_of(&[("import.xml", b"<a/>"), ("import_files/1/p.jpg", b"jpg")])).unwrap();
        let dest = dir.path().join("out");
        let limits = ZipLimits { max_bytes: 1 << 20, max_entries: 100 };
        let files = unzip(&zip, &dest, limits).unwrap();
        assert_eq!(files, [PathBuf::from("import.xml"), PathBuf::from("import_files/1/p.jpg")]);
        assert_eq!(fs::read(dest.join("import.xml")).unwrap(), b"<a/>");

        fs::write(&zip, zip_of(&[("../evil.xml", b"x")])).unwrap();
        assert!(matches!(unzip(&zip, &dest, limits), Err(FileError::BadName(_))));
        assert!(!dir.path().join("evil.xml").exists());

        let zeros = vec![0u8; 4 << 20];
        fs::write(&zip, zip_of(&[("big.xml", &zeros)])).unwrap();
        assert!(fs::metadata(&zip).unwrap().len() < 64 << 10, "4 MiB of zeros compress well");
        assert!(matches!(unzip(&zip, &dest, limits), Err(FileError::ZipBomb { .. })));
        assert!(!dest.join("big.xml").exists(), "the partial entry is removed");

        fs::write(&zip, b"PK\x03\x04 not really a zip").unwrap();
        assert!(matches!(unzip(&zip, &dest, limits), Err(FileError::BadZip { .. })));
    }
}
