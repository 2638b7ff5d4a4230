//! `megashop backup` / `megashop restore`: one archive (`.tar.gz`) with the database, the
//! configuration and the files of the data directory, described by a manifest.
//!
//! The database is copied consistently while the server runs: SQLite with `VACUUM INTO`
//! (a transactionally consistent copy), PostgreSQL with `pg_dump --format=custom`. Restore
//! reads the manifest first and refuses an archive of another format, of a newer Megashop,
//! or whose files do not match their SHA-256; then it replaces the database and the files.

use megashop_core::config::Config;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Format of the archive; restore refuses others.
pub const FORMAT: u32 = 1;

/// What an archive holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Archive format (see [`FORMAT`]).
    pub format: u32,
    /// Megashop version that wrote it.
    pub megashop_version: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// Migrations applied in the database when it was copied.
    pub migrations: Vec<String>,
    /// Every file in the archive (besides the manifest) with its SHA-256.
    pub files: Vec<FileEntry>,
}

/// One file of the archive.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path inside the archive (`database.sqlite`, `config/megashop.toml`, `data/…`).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

/// Backup and restore failures, each with what to do.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The database could not be copied or restored.
    #[error("database: {0}")]
    Db(String),
    /// The archive is not one restore accepts.
    #[error("{0}")]
    Refused(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.display().to_string(), source }
}

fn sha256_file(path: &Path) -> Result<(u64, String), BackupError> {
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((size, h.finalize().iter().map(|b| format!("{b:02x}")).collect()))
}

fn is_sqlite(cfg: &Config) -> bool {
    cfg.database_url().starts_with("sqlite")
}

/// Files of the data directory that go into a backup (not the live database).
fn data_files(cfg: &Config) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![cfg.data_dir.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_dir() {
                stack.push(p);
            } else if !(name.starts_with("megashop.db") || name.starts_with('.')) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Writes a backup of the deployment of `cfg` (with its config file `config_file`, if
/// any) to `out`; returns the manifest.
pub async fn backup(cfg: &Config, config_file: Option<&Path>, out: &Path) -> Result<Manifest, BackupError> {
    let work = tempdir_near(out)?;
    let conn = megashop_core::db::connect(&cfg.database_url(), 2).await.map_err(|e| BackupError::Db(e.to_string()))?;
    let migrations: Vec<String> = megashop_core::db::migration_status(&conn)
        .await
        .map_err(|e| BackupError::Db(e.to_string()))?
        .into_iter()
        .filter(|(_, done)| *done)
        .map(|(n, _)| n)
        .collect();
    let (db_kind, db_name) = if is_sqlite(cfg) {
        let copy = work.join("database.sqlite");
        let sql = format!("VACUUM INTO '{}'", copy.display().to_string().replace('\'', "''"));
        sea_orm::ConnectionTrait::execute_unprepared(&conn, &sql).await.map_err(|e| BackupError::Db(e.to_string()))?;
        ("sqlite", "database.sqlite")
    } else {
        let dump = work.join("database.pgdump");
        let status = std::process::Command::new("pg_dump")
            .args(["--format=custom", "--no-owner", "--file"])
            .arg(&dump)
            .arg("--dbname")
            .arg(cfg.database_url())
            .output()
            .map_err(|e| BackupError::Db(format!("pg_dump: {e} (install postgresql-client)")))?;
        if !status.status.success() {
            return Err(BackupError::Db(format!("pg_dump: {}", String::from_utf8_lossy(&status.stderr).trim())));
        }
        ("postgres", "database.pgdump")
    };
    let _ = conn.close().await;

    let mut entries: Vec<(String, PathBuf)> = vec![(db_name.to_string(), work.join(db_name))];
    if let Some(c) = config_file.filter(|c| c.is_file()) {
        entries.push(("config/megashop.toml".into(), c.to_path_buf()));
    }
    for f in data_files(cfg) {
        if let Ok(rel) = f.strip_prefix(&cfg.data_dir) {
            entries.push((format!("data/{}", rel.display()), f.clone()));
        }
    }
    let mut files = Vec::new();
    for (name, path) in &entries {
        let (size, sha256) = sha256_file(path)?;
        files.push(FileEntry { path: name.clone(), size, sha256 });
    }
    let manifest = Manifest {
        format: FORMAT,
        megashop_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: chrono::Utc::now().to_rfc3339(),
        database: db_kind.into(),
        migrations,
        files,
    };
    let tmp = out.with_extension("partial");
    {
        let file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Db(e.to_string()))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(json.len() as u64);
        header.set_mode(0o600);
        header.set_cksum();
        tar.append_data(&mut header, "manifest.json", json.as_slice()).map_err(io(&tmp))?;
        for (name, path) in &entries {
            let mut f = std::fs::File::open(path).map_err(io(path))?;
            tar.append_file(name, &mut f).map_err(io(path))?;
        }
        let gz = tar.into_inner().map_err(io(&tmp))?;
        let file = gz.finish().map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
    }
    set_private(&tmp);
    std::fs::rename(&tmp, out).map_err(io(out))?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(manifest)
}

/// Reads and checks an archive's manifest and files (nothing is changed).
pub fn inspect(archive: &Path, into: &Path) -> Result<Manifest, BackupError> {
    let file = std::fs::File::open(archive).map_err(io(archive))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let not_ours = |why: String| BackupError::Refused(format!("{} is not a Megashop backup: {why}", archive.display()));
    for entry in tar.entries().map_err(|e| not_ours(e.to_string()))? {
        let mut entry = entry.map_err(|e| not_ours(e.to_string()))?;
        let path = entry.path().map_err(|e| not_ours(e.to_string()))?.into_owned();
        // Only plain relative paths: no `..`, no absolute paths, no links.
        if path.is_absolute()
            || path.components().any(|c| !matches!(c, std::path::Component::Normal(_)))
            || !entry.header().entry_type().is_file()
        {
            return Err(not_ours(format!("unsafe entry {}", path.display())));
        }
        let dest = into.join(&path);
        if let Some(d) = dest.parent() {
            std::fs::create_dir_all(d).map_err(io(d))?;
        }
        entry.unpack(&dest).map_err(|e| not_ours(e.to_string()))?;
    }
    let text = std::fs::read(into.join("manifest.json")).map_err(|_| not_ours("no manifest.json".into()))?;
    let m: Manifest = serde_json::from_slice(&text).map_err(|e| not_ours(format!("manifest: {e}")))?;
    if m.format != FORMAT {
        return Err(BackupError::Refused(format!("archive format {} (this Megashop reads {FORMAT})", m.format)));
    }
    if version_newer(&m.megashop_version, env!("CARGO_PKG_VERSION")) {
        return Err(BackupError::Refused(format!(
            "the backup was written by Megashop {} and this is {}: upgrade first",
            m.megashop_version,
            env!("CARGO_PKG_VERSION")
        )));
    }
    for f in &m.files {
        let (size, sha) = sha256_file(&into.join(&f.path))
            .map_err(|_| BackupError::Refused(format!("{} is listed but missing", f.path)))?;
        if size != f.size || sha != f.sha256 {
            return Err(BackupError::Refused(format!(
                "{} is damaged (its SHA-256 does not match the manifest)",
                f.path
            )));
        }
    }
    Ok(m)
}

fn version_newer(a: &str, b: &str) -> bool {
    let parse = |v: &str| v.split('.').map(|p| p.parse::<u64>().unwrap_or(0)).collect::<Vec<_>>();
    parse(a) > parse(b)
}

/// Restores `archive` over the deployment of `cfg` (its database, data files, and the
/// config file at `config_file` when given). The server should be stopped.
pub async fn restore(cfg: &Config, config_file: Option<&Path>, archive: &Path) -> Result<Manifest, BackupError> {
    let work = tempdir_near(&cfg.data_dir.join("restore"))?;
    let m = inspect(archive, &work)?;
    if (m.database == "sqlite") != is_sqlite(cfg) {
        return Err(BackupError::Refused(format!(
            "the backup holds a {} database but this configuration uses {}",
            m.database,
            if is_sqlite(cfg) { "SQLite" } else { "PostgreSQL" }
        )));
    }
    if is_sqlite(cfg) {
        let live = cfg.data_dir.join("megashop.db");
        let staged = cfg.data_dir.join(".megashop.db.restore");
        std::fs::copy(work.join("database.sqlite"), &staged).map_err(io(&staged))?;
        for ext in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(cfg.data_dir.join(format!("megashop.db{ext}")));
        }
        std::fs::rename(&staged, &live).map_err(io(&live))?;
    } else {
        // The dump as SQL, replayed in one transaction onto an emptied schema: tables a
        // later migration added go too, and a failure leaves the database as it was.
        let sql = work.join("restore.sql");
        let out = std::process::Command::new("pg_restore")
            .args(["--no-owner", "--no-privileges", "--file"])
            .arg(&sql)
            .arg(work.join("database.pgdump"))
            .output()
            .map_err(|e| BackupError::Db(format!("pg_restore: {e} (install postgresql-client)")))?;
        if !out.status.success() {
            return Err(BackupError::Db(format!("pg_restore: {}", String::from_utf8_lossy(&out.stderr).trim())));
        }
        let wrapper = work.join("restore-all.sql");
        std::fs::write(
            &wrapper,
            format!(
                "DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n\\i '{}'\n",
                sql.display().to_string().replace('\'', "''")
            ),
        )
        .map_err(io(&wrapper))?;
        let out = std::process::Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f"])
            .arg(&wrapper)
            .arg(cfg.database_url())
            .output()
            .map_err(|e| BackupError::Db(format!("psql: {e} (install postgresql-client)")))?;
        if !out.status.success() {
            return Err(BackupError::Db(format!("psql: {}", String::from_utf8_lossy(&out.stderr).trim())));
        }
    }
    for f in &m.files {
        if let Some(rel) = f.path.strip_prefix("data/") {
            let dest = cfg.data_dir.join(rel);
            if let Some(d) = dest.parent() {
                std::fs::create_dir_all(d).map_err(io(d))?;
            }
            std::fs::copy(work.join(&f.path), &dest).map_err(io(&dest))?;
        } else if f.path == "config/megashop.toml" {
            if let Some(c) = config_file {
                let tmp = c.with_extension("toml.restore");
                std::fs::copy(work.join(&f.path), &tmp).map_err(io(&tmp))?;
                set_private(&tmp);
                std::fs::rename(&tmp, c).map_err(io(c))?;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(m)
}

fn tempdir_near(path: &Path) -> Result<PathBuf, BackupError> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let dir = parent.join(format!(".megashop-backup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    Ok(dir)
}

#[cfg(unix)]
fn set_private(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn set_private(_: &Path) {}
