//! `megashop install`: turns answers into a **plan** of idempotent steps, shows it, then
//! applies it.
//!
//! Each step compares what the machine has with what the answers want and says `create`,
//! `change` (with the difference), `keep`, or `skip` (and why). Applying runs only the
//! steps that change something, in order; re-running with the same answers finds nothing to
//! do. A failing step stops the install with the reason: the steps before it are done and
//! kept, so running the same command again continues from there.
//!
//! `--root DIR` stages every path under `DIR` (the config written there points at the
//! staged directories) and skips what needs a real system (system user, systemd, nginx
//! reload, certbot, apt): the whole install can be tested in a temporary directory.

pub mod answers;
pub mod backup;
pub mod doctor;
mod steps;

pub use answers::{Answers, Db, RawAnswers, Redis, RegionMode};
pub use steps::{Change, Plan, Step};

use std::path::{Path, PathBuf};

/// What can go wrong before or while installing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Answers missing or invalid: one line per problem, each naming its flag.
    #[error("{}", .0.join("\n"))]
    Input(Vec<String>),
    /// A step failed; the steps before it are done.
    #[error("step {step:?} failed: {reason}")]
    Step {
        /// The step's name.
        step: String,
        /// Why.
        reason: String,
    },
}

/// Where everything goes: the real paths, or the same paths under a staging root.
#[derive(Clone, Debug)]
pub struct Layout {
    /// `/` or the `--root` directory.
    pub root: PathBuf,
    /// True with `--root`: nothing outside `root` is touched.
    pub staged: bool,
    /// `/etc/megashop`.
    pub etc_dir: PathBuf,
    /// `/etc/megashop/megashop.toml`.
    pub config: PathBuf,
    /// `/var/lib/megashop`.
    pub data_dir: PathBuf,
    /// `/var/log/megashop`.
    pub log_dir: PathBuf,
    /// `/etc/systemd/system/megashop.service`.
    pub unit: PathBuf,
    /// `/etc/nginx/sites-available/megashop.conf`.
    pub nginx_site: PathBuf,
    /// `/etc/nginx/sites-enabled/megashop.conf`.
    pub nginx_enabled: PathBuf,
    /// The `megashop` binary the service runs.
    pub binary: PathBuf,
}

impl Layout {
    /// The layout of a real install (`root` `None`) or of one staged under `root`.
    pub fn new(root: Option<&Path>, binary: PathBuf) -> Layout {
        let base = root.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"));
        let at = |p: &str| base.join(p);
        Layout {
            staged: root.is_some(),
            etc_dir: at("etc/megashop"),
            config: at("etc/megashop/megashop.toml"),
            data_dir: at("var/lib/megashop"),
            log_dir: at("var/log/megashop"),
            unit: at("etc/systemd/system/megashop.service"),
            nginx_site: at("etc/nginx/sites-available/megashop.conf"),
            nginx_enabled: at("etc/nginx/sites-enabled/megashop.conf"),
            binary,
            root: base,
        }
    }
}

/// The system account the service runs as.
pub const SERVICE_USER: &str = "megashop";
