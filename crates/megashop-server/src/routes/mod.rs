//! HTTP routes. `/api/v1/*` is the store API (tenant from `Host`); `/healthz`, `/readyz`,
//! `/api/openapi.json` and `/api/docs` are served for any host; `/integrations/{plugin}/*`
//! are the plugins' own routes (tenant from `Host`, no staff token).

pub mod auth;
pub mod catalog;
pub mod docs;
pub mod health;
pub mod imports;
pub mod integrations;
pub mod regional;
