//! `megashop import` and `megashop export`: catalogue files in and out.

use crate::output::{locale, table};
use crate::run::{load_config, open_db, ConfigSource};
use clap::{Args, ValueEnum};
use megashop_core::i18n::Locale;
use megashop_core::tenancy::{self, TenantCx};
use megashop_io::export::{ExportFormat, ExportOptions};
use megashop_io::import::{ImportOptions, ImportReport};
use megashop_io::profile::{self, Profile};
use megashop_io::writer::{Key, Mode, WriteOptions};
use megashop_io::{CsvOptions, Encoding, SheetChoice, SourceOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Problems printed in the terminal; the saved report has them all.
const SHOWN: usize = 40;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum KeyArg {
    /// Variants are found by SKU.
    Sku,
    /// Variants are found by the `external_id` column.
    ExternalId,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum EncodingArg {
    /// UTF-8 (with or without a BOM).
    Utf8,
    /// windows-1251 (Cyrillic; 1C, older Excel).
    Windows1251,
}

/// `megashop import`
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// CSV, XLSX, XLS or ODS file.
    pub file: Option<PathBuf>,
    /// Store slug (default: the only store).
    #[arg(long)]
    pub store: Option<String>,
    /// Mapping profile: a built-in name (canonical, woocommerce, shopify, pricelist) or a
    /// TOML file. Detected from the header row when absent.
    #[arg(long)]
    pub profile: Option<String>,
    /// Print the profile proposed for FILE (as TOML, ready to edit) and exit.
    #[arg(long)]
    pub detect: bool,
    /// List built-in profiles, or print one with --profile NAME, and exit.
    #[arg(long)]
    pub profiles: bool,
    /// Sheet of a workbook: name, or number from 1.
    #[arg(long)]
    pub sheet: Option<String>,
    /// Row of the header, from 1 (default: found among the first rows).
    #[arg(long)]
    pub header_row: Option<usize>,
    /// CSV delimiter (default: detected). `tab` for a tab.
    #[arg(long)]
    pub delimiter: Option<String>,
    /// CSV encoding (default: detected).
    #[arg(long, value_enum)]
    pub encoding: Option<EncodingArg>,
    /// Only update existing variants; never create products.
    #[arg(long)]
    pub update_only: bool,
    /// What identifies a variant.
    #[arg(long, value_enum, default_value = "sku")]
    pub key: KeyArg,
    /// Report unknown categories instead of creating them.
    #[arg(long)]
    pub no_create_categories: bool,
    /// Archive products that the file does not list.
    #[arg(long)]
    pub hide_missing: bool,
    /// Check everything and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Commit every N rows (huge files); with --resume a later run continues after the
    /// last committed row.
    #[arg(long)]
    pub commit_every: Option<u64>,
    /// Continue an earlier --commit-every run of the same file.
    #[arg(long)]
    pub resume: bool,
    /// Where to save the report (`.csv` and `.xlsx` are added). Default: next to FILE.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `megashop export`
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Output file; `.csv` or `.xlsx` chooses the format.
    pub file: PathBuf,
    /// Store slug (default: the only store).
    #[arg(long)]
    pub store: Option<String>,
    /// Only this category (slug) and its sub-categories.
    #[arg(long)]
    pub category: Option<String>,
    /// Only this region's price type and warehouses.
    #[arg(long)]
    pub region: Option<String>,
    /// Only products with this status.
    #[arg(long)]
    pub status: Option<String>,
}

async fn store(conn: &sea_orm::DatabaseConnection, slug: Option<&str>) -> anyhow::Result<TenantCx> {
    let t = match slug {
        Some(s) => tenancy::by_slug(conn, s).await?,
        None => {
            let all = tenancy::list(conn).await?;
            match all.as_slice() {
                [one] => tenancy::by_slug(conn, &one.slug).await?,
                [] => anyhow::bail!(
                    "there is no store yet: create one with `megashop tenant create` or `megashop quickstart`"
                ),
                _ => anyhow::bail!(
                    "there are {} stores: choose one with --store ({})",
                    all.len(),
                    all.iter().map(|t| t.slug.as_str()).collect::<Vec<_>>().join(", ")
                ),
            }
        }
    };
    Ok(TenantCx::new(Arc::new(t), conn.clone()))
}

fn load_profile(name: &str) -> anyhow::Result<Profile> {
    if let Some(p) = profile::builtin(name) {
        return Ok(p);
    }
    let path = Path::new(name);
    if !path.exists() {
        anyhow::bail!(
            "no built-in profile `{name}` and no such file (built-in: {})",
            profile::builtin_names().join(", ")
        );
    }
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?;
    let p = if name.ends_with(".json") { Profile::from_json(&text) } else { Profile::from_toml(&text) };
    p.map_err(|e| anyhow::anyhow!("profile {name}: {e}"))
}

fn bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{spinner}} {what} [{{bar:40}}] {{percent}}% · {{msg}} · eta {{eta}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// `megashop import`
pub async fn import(src: &ConfigSource, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let loc = locale();
    if args.profiles {
        match &args.profile {
            Some(name) => match profile::builtin_source(name) {
                Some(src) => print!("{src}"),
                None => anyhow::bail!("no built-in profile `{name}` ({})", profile::builtin_names().join(", ")),
            },
            None => {
                let rows: Vec<Vec<String>> = profile::builtin_names()
                    .into_iter()
                    .filter_map(profile::builtin)
                    .map(|p| vec![p.name, p.description])
                    .collect();
                table(&["profile", "for"], &rows);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(file) = args.file.clone() else {
        anyhow::bail!("give the file to import: megashop import FILE (see --help)");
    };
    let sopts = SourceOptions {
        csv: CsvOptions {
            delimiter: match args.delimiter.as_deref() {
                None => None,
                Some("tab" | "\\t") => Some(b'\t'),
                Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
                Some(d) => anyhow::bail!("--delimiter must be one character or `tab`, not `{d}`"),
            },
            encoding: args.encoding.map(|e| match e {
                EncodingArg::Utf8 => Encoding::Utf8,
                EncodingArg::Windows1251 => Encoding::Windows1251,
            }),
        },
        sheet: args.sheet.as_deref().map(SheetChoice::parse).unwrap_or_default(),
        header_row: args.header_row.map(|n| n.saturating_sub(1)),
    };
    if args.detect {
        let rows = megashop_io::open(&file, &sopts)?;
        let d = profile::detect(rows.headers());
        let note = if d.builtin { "built-in profile" } else { "proposed profile" };
        println!("# {note} `{}`: maps {:.0}% of the columns of {}", d.profile.name, d.coverage * 100.0, file.display());
        if d.builtin {
            println!("# use it with: megashop import {} --profile {}", file.display(), d.profile.name);
        } else {
            println!("# save this as a .toml file, check it, and pass it with --profile FILE");
        }
        print!("{}", d.profile.to_toml());
        return Ok(ExitCode::SUCCESS);
    }
    let cfg = load_config(src, &crate::ServeArgs::default())?;
    let conn = open_db(&cfg, false).await?;
    let cx = store(&conn, args.store.as_deref()).await?;
    let opts = ImportOptions {
        profile: args.profile.as_deref().map(load_profile).transpose()?,
        source: sopts,
        write: WriteOptions {
            mode: if args.update_only { Mode::UpdateOnly } else { Mode::Upsert },
            key: match args.key {
                KeyArg::Sku => Key::Sku,
                KeyArg::ExternalId => Key::ExternalId,
            },
            create_categories: !args.no_create_categories,
            ..WriteOptions::default()
        },
        hide_missing: args.hide_missing,
        dry_run: args.dry_run,
        commit_every: args.commit_every,
        resume: args.resume,
        ..ImportOptions::default()
    };
    let pb = bar(1000, "importing");
    let started = std::time::Instant::now();
    let progress = |p: &megashop_io::import::Progress| {
        pb.set_position((p.fraction * 1000.0) as u64);
        let secs = started.elapsed().as_secs_f64().max(0.001);
        pb.set_message(format!("{} rows, {:.0} rows/s", p.rows, p.rows as f64 / secs));
    };
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        });
    }
    let result = megashop_io::import::run(&cx, &file, opts, progress, cancel).await;
    pb.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(megashop_io::ImportError::Cancelled) => {
            eprintln!(
                "{}",
                t(
                    loc,
                    "cancelled: nothing after the last commit was written",
                    "прервано: после последней фиксации ничего не записано"
                )
            );
            return Ok(ExitCode::from(130));
        }
        Err(megashop_io::ImportError::File(e)) => {
            eprintln!("error [unreadable_file]: {e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report, loc);
    }
    let stem = args.report.clone().unwrap_or_else(|| {
        let mut p = file.clone();
        let name = file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "import".into());
        p.set_file_name(format!("{name}.report"));
        p
    });
    let csv_path = PathBuf::from(format!("{}.csv", stem.display()));
    let xlsx_path = PathBuf::from(format!("{}.xlsx", stem.display()));
    if report.problems.is_empty() {
        // A report left by an earlier run would now be wrong.
        let _ = std::fs::remove_file(&csv_path);
        let _ = std::fs::remove_file(&xlsx_path);
    } else {
        let saved_csv = megashop_io::report::write_csv(&csv_path, &report.problems, loc);
        let saved_xlsx = megashop_io::report::write_xlsx(&xlsx_path, &report.problems, loc);
        match (saved_csv, saved_xlsx) {
            (Ok(()), Ok(())) => {
                eprintln!(
                    "{}: {} , {}",
                    t(loc, "report saved", "отчёт сохранён"),
                    csv_path.display(),
                    xlsx_path.display()
                )
            }
            (a, b) => eprintln!(
                "{}: {}",
                t(loc, "the report could not be saved", "отчёт сохранить не удалось"),
                a.err().map(|e| e.to_string()).or(b.err().map(|e| e.to_string())).unwrap_or_default()
            ),
        }
    }
    Ok(if report.errors > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

fn t(loc: Locale, en: &'static str, ru: &'static str) -> &'static str {
    match loc {
        Locale::Ru => ru,
        Locale::En => en,
    }
}

fn print_report(r: &ImportReport, loc: Locale) {
    let shown: Vec<Vec<String>> =
        r.problems.iter().take(SHOWN).map(|p| megashop_io::report::cells(p, loc).to_vec()).collect();
    if !shown.is_empty() {
        let h = megashop_io::report::header(loc);
        table(&[h[0], h[1], h[2], h[3], h[4], h[5]], &shown);
        if r.problems.len() > SHOWN {
            println!(
                "… {} {}",
                r.problems.len() - SHOWN,
                t(loc, "more in the saved report", "ещё — в сохранённом отчёте")
            );
        }
        println!();
    }
    let c = &r.counts;
    let rate = r.rows_per_sec();
    match loc {
        Locale::Ru => println!(
            "{}: строк {}, товаров создано {}, изменено {}, без изменений {}, скрыто {}; вариантов записано {}; ошибок {}, предупреждений {} — {:.1} с, {:.0} строк/с",
            r.file, r.rows, c.created, c.updated, c.unchanged, c.hidden, c.variants, r.errors, r.warnings, r.elapsed_ms as f64 / 1000.0, rate
        ),
        Locale::En => println!(
            "{}: {} rows, products created {}, updated {}, unchanged {}, hidden {}; variants written {}; {} errors, {} warnings — {:.1} s, {:.0} rows/s",
            r.file, r.rows, c.created, c.updated, c.unchanged, c.hidden, c.variants, r.errors, r.warnings, r.elapsed_ms as f64 / 1000.0, rate
        ),
    }
    let outcome = match (r.dry_run, r.applied, r.committed_through) {
        (true, _, _) if r.errors == 0 => {
            t(loc, "dry run: the file is fine; nothing was written", "проверка: файл в порядке; ничего не записано")
        }
        (true, _, _) => t(
            loc,
            "dry run: fix the errors above; nothing was written",
            "проверка: исправьте ошибки выше; ничего не записано",
        ),
        (false, true, _) => t(loc, "applied", "применено"),
        (false, false, Some(_)) => t(
            loc,
            "stopped: rows up to the last commit are saved; fix the errors and run again with --resume",
            "остановлено: строки до последней фиксации сохранены; исправьте ошибки и запустите снова с --resume",
        ),
        (false, false, None) => t(
            loc,
            "not applied: nothing was written; fix the errors above",
            "не применено: ничего не записано; исправьте ошибки выше",
        ),
    };
    println!("{outcome}");
    if let (false, false, Some(n)) = (r.dry_run, r.applied, r.committed_through) {
        println!("{} {n}", t(loc, "committed through row", "зафиксировано по строку"));
    }
}

/// `megashop export`
pub async fn export(src: &ConfigSource, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let Some(format) = ExportFormat::from_path(&args.file) else {
        anyhow::bail!("the output file must end in .csv or .xlsx");
    };
    if let Some(s) = args.status.as_deref() {
        if !megashop_core::catalog::products::STATUSES.contains(&s) {
            anyhow::bail!("--status must be one of {}", megashop_core::catalog::products::STATUSES.join(", "));
        }
    }
    let cfg = load_config(src, &crate::ServeArgs::default())?;
    let conn = open_db(&cfg, false).await?;
    let cx = store(&conn, args.store.as_deref()).await?;
    let total = {
        use sea_orm::PaginatorTrait;
        cx.select::<megashop_core::entity::product::Entity>().count(&cx.db).await.unwrap_or(0)
    };
    let pb = bar(total, "exporting");
    let opts = ExportOptions { format, category: args.category, region: args.region, status: args.status, page: 500 };
    let summary = megashop_io::export::run(&cx, &args.file, &opts, |n| {
        pb.set_position(n);
        pb.set_message(format!("{n} products"));
    })
    .await?;
    pb.finish_and_clear();
    println!(
        "{}: {} products, {} rows, {} columns — {:.1} s",
        args.file.display(),
        summary.products,
        summary.rows,
        summary.columns.len(),
        summary.elapsed_ms as f64 / 1000.0
    );
    Ok(ExitCode::SUCCESS)
}
