//! Printing errors and tables for people, in their language (`LANG=ru_RU.UTF-8` → Russian).

use megashop_core::i18n::{self, Locale};
use megashop_core::Error;
use std::process::ExitCode;

/// The locale of the terminal user, from `LC_ALL`, `LC_MESSAGES` or `LANG`.
pub fn locale() -> Locale {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.is_empty())
        .and_then(|v| Locale::parse(&v))
        .unwrap_or(Locale::En)
}

/// Prints an error for a person and returns the exit code (2 for bad input, 1 otherwise).
pub fn report(e: &anyhow::Error) -> ExitCode {
    if let Some(core) = e.downcast_ref::<Error>() {
        let loc = locale();
        eprintln!("error [{}]: {}", core.code(), i18n::message(loc, core.message_id(), &core.message_args()));
        if let Error::Validation(fields) | Error::Config(fields) = core {
            for f in fields {
                eprintln!("  {:<28} {} ({})", f.field, f.message, f.code);
            }
        }
        if core.is_internal() {
            eprintln!("  {core}");
            return ExitCode::FAILURE;
        }
        return ExitCode::from(2);
    }
    if let Some(bad) = e.downcast_ref::<crate::install::InstallInput>() {
        eprintln!("error: the install answers are incomplete or invalid:");
        for line in bad.0.lines() {
            eprintln!("  {line}");
        }
        return ExitCode::from(2);
    }
    eprintln!("error: {e:#}");
    ExitCode::FAILURE
}

/// Prints rows as an aligned text table with a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let s: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{}{}", c, " ".repeat(widths[i].saturating_sub(c.chars().count()))))
            .collect();
        println!("{}", s.join("  ").trim_end());
    };
    line(header.iter().map(|s| s.to_string()).collect());
    line(widths.iter().map(|w| "-".repeat(*w)).collect());
    for r in rows {
        line(r.clone());
    }
}
