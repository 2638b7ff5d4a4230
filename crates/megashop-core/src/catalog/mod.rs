//! The catalogue: categories, products with typed attributes, variants (offers), price
//! types and prices, warehouses and stock. Every function takes a [`TenantCx`] and so
//! only ever sees one store.
//!
//! [`TenantCx`]: crate::tenancy::TenantCx

pub mod categories;
pub mod inventory;
pub mod pricing;
pub mod products;
pub mod variants;

use serde::{Deserialize, Deserializer, Serialize};

/// An amount of money: integer minor units (kopecks, cents) and an ISO 4217 currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Money {
    /// Minor units: 129900 RUB is 1 299,00 ₽.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
}

/// Deserializes a field that may be absent (keep), `null` (clear) or a value (set).
pub(crate) fn patch_field<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Maps a unique-constraint violation to [`crate::Error::Taken`], passing other errors on.
pub(crate) fn taken_or(err: sea_orm::DbErr, field: &'static str, value: &str) -> crate::Error {
    match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => crate::Error::Taken { field, value: value.to_string() },
        _ => crate::Error::Db(err),
    }
}
