//! A streaming reader of CommerceML 2.x/3.x catalogue documents — the files 1C uploads to
//! the site (`import*.xml`, `offers*.xml`, `prices*.xml`, `rests*.xml`).
//!
//! Large stores send files of hundreds of megabytes, so the reader never builds a tree: it
//! hands out one [`Item`] at a time ([`CmlReader::next_item`]) and forgets it. It is pure —
//! no database, no HTTP — and decides nothing about the store; mapping items to the
//! catalogue is the caller's job. The facts it follows (element names per version, the
//! quirks of real files) are in `shared/specs/1c-commerceml.md`, sections 2, 3, 6 and 8.
//!
//! What a file holds is decided by its content, never by its name: the items tell (a
//! [`Item::CatalogStart`], an [`Item::OffersStart`], or [`Item::Orders`] for an order
//! exchange document).

#![warn(missing_docs)]

mod decimal;
mod error;
pub mod gen;
mod input;
mod model;
mod reader;
mod tag;

pub use decimal::{parse_scaled, Decimal};
pub use error::CmlError;
pub use model::{Characteristic, Group, Item, Offer, Price, PriceType, Product, Property, Unit, Warehouse};
pub use reader::{CmlReader, Limits};
