//! `megashop plugins` and `megashop integration ...`: the built-in plugins, and setting
//! them up and running them for a store. The same engine calls as the staff API.

use crate::output::{locale, table};
use crate::run::{load_config, open_db, ConfigSource};
use crate::ServeArgs;
use anyhow::Context;
use clap::Subcommand;
use megashop_core::i18n;
use megashop_core::tenancy::{self, TenantCx};
use megashop_plugin::engine::{RunError, Schedule};
use megashop_plugin::{Capability, Engine, Instance, InstancePatch, NewInstance, PluginError, Registry, RunView, Task};
use serde_json::{Map, Value};
use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;

/// The plugins built into this `megashop`: the one place they are listed.
pub fn registry() -> anyhow::Result<Arc<Registry>> {
    let r = Registry::new().with(Arc::new(megashop_onec::OneC::new()))?.with(Arc::new(megashop_hello_plugin::Hello))?;
    Ok(Arc::new(r))
}

/// Log lines shown after a run; `integration log` shows them all.
const SHOWN: u64 = 20;

#[derive(Subcommand)]
pub enum IntegrationAction {
    /// Set up a plugin for a store (settings are checked against the plugin's schema).
    Add {
        /// Plugin id (see `megashop plugins`).
        plugin: String,
        /// Store slug (default: the only store).
        #[arg(long)]
        store: Option<String>,
        /// A setting, `key=value`; repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// A credential, `key=value`, `key=@file` (its first line) or `key=-` (a line of
        /// standard input); stored encrypted. Repeatable.
        #[arg(long = "secret", value_name = "KEY=VALUE")]
        secret: Vec<String>,
        /// Run on a schedule: `15m`, `2h`, `1d` or seconds (60 s to 30 days).
        #[arg(long)]
        schedule: Option<String>,
        /// Display name (default: the plugin's).
        #[arg(long)]
        name: Option<String>,
        /// Add it disabled (no schedule, no routes) to try it with `integration run` first.
        #[arg(long)]
        disabled: bool,
    },
    /// Change an integration: settings, credentials, schedule, enabled.
    Update {
        /// Plugin id.
        plugin: String,
        /// Store slug (default: the only store).
        #[arg(long)]
        store: Option<String>,
        /// A setting, `key=value`; repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Reset a setting to its default, or remove a credential; repeatable.
        #[arg(long = "unset", value_name = "KEY")]
        unset: Vec<String>,
        /// A credential, `key=value`, `key=@file` or `key=-`; repeatable.
        #[arg(long = "secret", value_name = "KEY=VALUE")]
        secret: Vec<String>,
        /// New schedule (`15m`, `2h`...), or `off`.
        #[arg(long)]
        schedule: Option<String>,
        /// Enable it.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Disable it (no schedule, no routes).
        #[arg(long)]
        disable: bool,
    },
    /// The store's integrations.
    List {
        /// Store slug (default: the only store).
        #[arg(long)]
        store: Option<String>,
    },
    /// One integration: settings, which credentials are set, schedule, last run.
    Show {
        /// Plugin id.
        plugin: String,
        /// Store slug (default: the only store).
        #[arg(long)]
        store: Option<String>,
    },
    /// Remove an integration with its runs and state.
    Remove {
        /// Plugin id.
        plugin: String,
        /// Store slug (default: the only store).
        #[arg(long)]
        store: Option<String>,
    },
    /// Run an integration now and print what it did (exit status 1 when the run failed).
    Run {
        /// Plugin id.
        plugin: String,
        /// Store slug (default: the only store).
        #[arg(long)]
        store: Option<String>,
        /// Only stock (and prices).
        #[arg(long, conflicts_with = "catalog")]
        stock: bool,
        /// Only the catalogue.
        #[arg(long)]
        catalog: bool,
    },
    /// The latest runs of an integration.
    Runs {
        /// Plugin id.
        plugin: String,
        /// Store slug (default: the only store).
        #[arg(long)]
        store: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// The log of one run.
    Log {
        /// Run id (from `integration runs`).
        run: i64,
        /// Store slug (default: the only store).
        #[arg(long)]
        store: Option<String>,
    },
}

async fn open(src: &ConfigSource) -> anyhow::Result<Engine> {
    let cfg = load_config(src, &ServeArgs::default())?;
    let conn = open_db(&cfg, false).await?;
    Ok(Engine::from_config(conn, registry()?, &cfg))
}

async fn store(engine: &Engine, slug: Option<&str>) -> anyhow::Result<TenantCx> {
    let conn = engine.db();
    let t = match slug {
        Some(s) => tenancy::by_slug(conn, s).await?,
        None => {
            let all = tenancy::list(conn).await?;
            match all.as_slice() {
                [one] => tenancy::by_slug(conn, &one.slug).await?,
                [] => anyhow::bail!("there is no store yet: create one with `megashop tenant create`"),
                _ => anyhow::bail!("there are several stores: choose one with --store <slug>"),
            }
        }
    };
    Ok(TenantCx::new(Arc::new(t), conn.clone()))
}

/// `key=value` pairs into a JSON object of strings (the engine reads them as the schema's types).
fn pairs(items: &[String], flag: &str) -> anyhow::Result<Map<String, Value>> {
    let mut out = Map::new();
    for item in items {
        let Some((k, v)) = item.split_once('=') else {
            anyhow::bail!("{flag} {item:?}: write key=value");
        };
        out.insert(k.trim().to_string(), Value::String(v.to_string()));
    }
    Ok(out)
}

/// Credentials: `key=value`, `key=@file` (first line) or `key=-` (a line of stdin).
fn secrets(items: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut out = pairs(items, "--secret")?;
    for (k, v) in out.iter_mut() {
        let Some(s) = v.as_str() else { continue };
        let value = if s == "-" {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).with_context(|| format!("reading --secret {k} from stdin"))?;
            line.trim_end_matches(['\r', '\n']).to_string()
        } else if let Some(path) = s.strip_prefix('@') {
            std::fs::read_to_string(path)
                .with_context(|| format!("--secret {k}: cannot read {path}"))?
                .lines()
                .next()
                .unwrap_or_default()
                .to_string()
        } else {
            continue;
        };
        *v = Value::String(value);
    }
    Ok(out)
}

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_else(|| "-".into())
}

fn every(secs: Option<i64>) -> String {
    match secs {
        None => "-".into(),
        Some(s) if s % 86400 == 0 => format!("{}d", s / 86400),
        Some(s) if s % 3600 == 0 => format!("{}h", s / 3600),
        Some(s) if s % 60 == 0 => format!("{}m", s / 60),
        Some(s) => format!("{s}s"),
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn run_row(r: &RunView) -> Vec<String> {
    vec![
        r.id.to_string(),
        r.trigger.clone(),
        r.task.clone().unwrap_or_default(),
        r.status.clone(),
        when(Some(r.started_at)),
        r.finished_at
            .map(|f| format!("{:.1} s", (f - r.started_at).num_milliseconds() as f64 / 1000.0))
            .unwrap_or_default(),
        r.created.to_string(),
        r.updated.to_string(),
        r.unchanged.to_string(),
        r.failed.to_string(),
        r.error_code.clone().unwrap_or_default(),
    ]
}

const RUN_HEADER: [&str; 11] =
    ["run", "trigger", "task", "status", "started", "took", "created", "updated", "unchanged", "failed", "error"];

fn show(i: &Instance) {
    println!("{} ({}), id {}", i.name, i.plugin, i.id);
    if i.plugin_name.is_none() {
        println!("  warning: this megashop does not have the plugin {:?}", i.plugin);
    }
    println!("  enabled      {}", if i.enabled { "yes" } else { "no" });
    println!("  schedule     {}", every(i.schedule_secs));
    println!("  next run     {}", when(i.next_run_at));
    println!("  running      {}", if i.running { "yes" } else { "no" });
    let settings: Vec<Vec<String>> = i
        .settings
        .as_object()
        .map(|m| m.iter().map(|(k, v)| vec![format!("  {k}"), value_text(v)]).collect())
        .unwrap_or_default();
    if !settings.is_empty() {
        println!();
        table(&["  setting", "value"], &settings);
    }
    if !i.credentials.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = i.credentials.keys().map(|k| vec![format!("  {k}"), "set".into()]).collect();
        table(&["  credential", ""], &rows);
    }
    if let Some(r) = &i.last_run {
        println!();
        table(&RUN_HEADER, &[run_row(r)]);
    }
}

/// The message of a failure to start a run, in the terminal's language.
fn plugin_failure(e: &PluginError) -> ExitCode {
    let id = match e {
        PluginError::Busy => "sync-busy",
        PluginError::Unsupported(_) => "plugin-unsupported",
        PluginError::Config(_) => "integration-config",
        PluginError::Remote { .. } => "remote-error",
        PluginError::Http(_) => "http-error",
        PluginError::Data(_) => "remote-data",
        PluginError::Import(_) => "import-failed",
        PluginError::Db(_) | PluginError::Internal(_) => "internal-error",
    };
    eprintln!("error [{}]: {}", e.code(), i18n::message(locale(), id, &[]));
    if !matches!(e, PluginError::Busy) {
        eprintln!("  {e}");
    }
    if e.is_internal() {
        ExitCode::FAILURE
    } else {
        ExitCode::from(2)
    }
}

/// `megashop plugins`
pub fn plugins() -> anyhow::Result<ExitCode> {
    let rows: Vec<Vec<String>> = registry()?
        .list()
        .into_iter()
        .map(|m| {
            let caps: Vec<&str> = m.capabilities.iter().map(|c| c.as_str()).collect();
            vec![m.id, m.name, m.version, caps.join(", ")]
        })
        .collect();
    table(&["id", "name", "version", "capabilities"], &rows);
    Ok(ExitCode::SUCCESS)
}

/// `megashop integration ...`
pub async fn integration(src: &ConfigSource, action: IntegrationAction) -> anyhow::Result<ExitCode> {
    let engine = open(src).await?;
    match action {
        IntegrationAction::Add { plugin, store: slug, set, secret, schedule, name, disabled } => {
            let cx = store(&engine, slug.as_deref()).await?;
            let new = NewInstance {
                plugin,
                name,
                settings: pairs(&set, "--set")?,
                credentials: secrets(&secret)?,
                schedule: schedule.map(Schedule::Text),
                enabled: !disabled,
            };
            let i = engine.add(&cx, new).await?;
            println!("integration {:?} added to store {:?}", i.plugin, cx.tenant.slug);
            show(&i);
            let caps = engine.registry().manifest(&i.plugin).map(|m| m.capabilities.clone()).unwrap_or_default();
            let pulls = caps.iter().any(|c| matches!(c, Capability::PullCatalog | Capability::PullStock));
            if i.enabled && i.schedule_secs.is_none() && pulls {
                println!("\nrun it with: megashop integration run {} --store {}", i.plugin, cx.tenant.slug);
            } else if i.enabled && caps.contains(&Capability::Routes) {
                // Pushed to, not pulled from (1C): the other system calls the store's address.
                let domains = tenancy::domains(&cx.db, &cx.tenant).await.unwrap_or_default();
                let host = domains.first().cloned().unwrap_or_else(|| "<store domain>".into());
                println!("\nthe other system connects to: https://{host}/integrations/{}/", i.plugin);
            }
        }
        IntegrationAction::Update { plugin, store: slug, set, unset, secret, schedule, enable, disable } => {
            let cx = store(&engine, slug.as_deref()).await?;
            let mut settings = pairs(&set, "--set")?;
            let mut credentials = secrets(&secret)?;
            for k in unset {
                settings.insert(k.clone(), Value::Null);
                credentials.insert(k, Value::Null);
            }
            let schedule = match schedule.as_deref() {
                None => None,
                Some("off" | "none") => Some(None),
                Some(s) => Some(Some(Schedule::Text(s.to_string()))),
            };
            let patch = InstancePatch {
                name: None,
                enabled: (enable || disable).then_some(enable),
                settings: (!settings.is_empty()).then_some(settings),
                credentials: (!credentials.is_empty()).then_some(credentials),
                schedule,
            };
            show(&engine.update(&cx, &plugin, patch).await?);
        }
        IntegrationAction::List { store: slug } => {
            let cx = store(&engine, slug.as_deref()).await?;
            let rows: Vec<Vec<String>> = engine
                .list(&cx)
                .await?
                .into_iter()
                .map(|i| {
                    let last = i.last_run.as_ref().map(|r| format!("{} {}", r.status, when(Some(r.started_at))));
                    vec![
                        i.plugin,
                        i.name,
                        if i.enabled { "yes" } else { "no" }.into(),
                        every(i.schedule_secs),
                        when(i.next_run_at),
                        last.unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            table(&["plugin", "name", "enabled", "schedule", "next run", "last run"], &rows);
        }
        IntegrationAction::Show { plugin, store: slug } => {
            let cx = store(&engine, slug.as_deref()).await?;
            show(&engine.get(&cx, &plugin).await?);
        }
        IntegrationAction::Remove { plugin, store: slug } => {
            let cx = store(&engine, slug.as_deref()).await?;
            engine.remove(&cx, &plugin).await?;
            println!("integration {plugin:?} removed from store {:?}", cx.tenant.slug);
        }
        IntegrationAction::Run { plugin, store: slug, stock, catalog } => {
            let cx = store(&engine, slug.as_deref()).await?;
            let task = if stock {
                Task::PullStock
            } else if catalog {
                Task::PullCatalog
            } else {
                Task::All
            };
            let run = match engine.run_now(&cx, &plugin, task, "manual").await {
                Ok(r) => r,
                Err(RunError::Core(e)) => return Err(e.into()),
                Err(RunError::Plugin(e)) => return Ok(plugin_failure(&e)),
            };
            table(&RUN_HEADER, &[run_row(&run)]);
            if let Some(m) = &run.message {
                println!("\n{m}");
            }
            let log = engine.run_errors(&cx, run.id, SHOWN + 1).await?;
            let problems: Vec<Vec<String>> = log
                .iter()
                .filter(|l| l.level != "info")
                .take(SHOWN as usize)
                .map(|l| vec![l.level.clone(), l.external_id.clone().unwrap_or_default(), l.message.clone()])
                .collect();
            if !problems.is_empty() {
                println!();
                table(&["level", "external id", "message"], &problems);
                if log.len() as u64 > SHOWN {
                    println!("(the whole log: megashop integration log {} --store {})", run.id, cx.tenant.slug);
                }
            }
            if run.status != "succeeded" {
                eprintln!(
                    "\nerror [{}]: {}",
                    run.error_code.as_deref().unwrap_or("failed"),
                    run.error_message.as_deref().unwrap_or("the run failed")
                );
                return Ok(ExitCode::FAILURE);
            }
        }
        IntegrationAction::Runs { plugin, store: slug, limit } => {
            let cx = store(&engine, slug.as_deref()).await?;
            let rows: Vec<Vec<String>> = engine.runs(&cx, &plugin, limit).await?.iter().map(run_row).collect();
            table(&RUN_HEADER, &rows);
        }
        IntegrationAction::Log { run, store: slug } => {
            let cx = store(&engine, slug.as_deref()).await?;
            let detail = engine.run(&cx, run, 100_000).await?;
            table(&RUN_HEADER, &[run_row(&detail.run)]);
            if let Some(e) = &detail.run.error_message {
                println!("\n{e}");
            }
            println!();
            let rows: Vec<Vec<String>> = detail
                .log
                .iter()
                .map(|l| {
                    vec![
                        l.at.format("%H:%M:%S").to_string(),
                        l.level.clone(),
                        l.external_id.clone().unwrap_or_default(),
                        l.message.clone(),
                    ]
                })
                .collect();
            table(&["at", "level", "external id", "message"], &rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}
