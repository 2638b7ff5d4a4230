//! sea-orm entities, one module per table. The shapes mirror `migrations/`.
//!
//! Entities are plain row types: tenant scoping and business rules live in the
//! services (`tenancy`, `regions`, `catalog`), never here.

pub mod account;
pub mod category;
pub mod content_block;
pub mod delivery_method;
pub mod external_ref;
pub mod import_job;
pub mod integration;
pub mod integration_state;
pub mod notification_job;
pub mod price;
pub mod price_type;
pub mod product;
pub mod product_attribute;
pub mod refresh_token;
pub mod region;
pub mod region_warehouse;
pub mod staff_role;
pub mod stock;
pub mod sync_error;
pub mod sync_run;
pub mod tenant;
pub mod tenant_domain;
pub mod variant;
pub mod verification_code;
pub mod warehouse;
