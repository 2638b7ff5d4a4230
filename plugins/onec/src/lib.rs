//! The 1C plugin: the site side of the standard 1C ↔ website exchange (CommerceML).

pub mod cml;
pub mod files;
