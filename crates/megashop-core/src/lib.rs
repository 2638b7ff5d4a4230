//! Megashop core: the domain of a multi-tenant, multi-region shop.
//!
//! Depends on nothing else of ours. The server, the CLI, importers and plugins all call
//! the services here with a [`tenancy::TenantCx`], so one rule serves every entry point.

pub mod accounts;
pub mod auth;
pub mod catalog;
pub mod config;
pub mod content;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod entity;
pub mod error;
pub mod i18n;
pub mod limits;
pub mod notify;
pub mod regions;
pub mod routing;
pub mod tenancy;
pub mod validate;

pub use error::{Error, Result};
