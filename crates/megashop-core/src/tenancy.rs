//! Tenants (stores) and the tenant-scoped context.
//!
//! Isolation lives here and only here: every read or write of a tenant-owned table goes
//! through a [`TenantCx`], whose helpers add `tenant_id = <this store>` to the query.
//! Services never call `Entity::find()` on tenant-owned tables directly.

use crate::entity::{
    account, category, content_block, delivery_method, external_ref, import_job, integration, integration_state,
    notification_job, price, price_type, product, product_attribute, refresh_token, region, region_warehouse,
    staff_role, stock, sync_error, sync_run, tenant, tenant_domain, variant, verification_code, warehouse,
};
use crate::error::{Error, Problems, Result};
use crate::validate;
use sea_orm::sea_query::IntoCondition;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DeleteMany, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Select, Set, TransactionTrait, UpdateMany,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A table whose rows belong to one tenant.
pub trait TenantOwned: EntityTrait {
    /// The `tenant_id` column.
    fn tenant_column() -> Self::Column;
}

macro_rules! tenant_owned {
    ($($m:ident),*) => {$(
        impl TenantOwned for $m::Entity {
            fn tenant_column() -> Self::Column { $m::Column::TenantId }
        }
    )*};
}
tenant_owned!(
    account,
    category,
    content_block,
    delivery_method,
    external_ref,
    import_job,
    integration,
    integration_state,
    notification_job,
    price,
    price_type,
    product,
    product_attribute,
    refresh_token,
    region,
    region_warehouse,
    staff_role,
    stock,
    sync_error,
    sync_run,
    tenant_domain,
    variant,
    verification_code,
    warehouse
);

/// The context of one store: its row and a database handle. Everything tenant-owned is
/// reached through it.
#[derive(Clone, Debug)]
pub struct TenantCx {
    /// The store.
    pub tenant: Arc<tenant::Model>,
    /// The database (pool or open transaction handle).
    pub db: DatabaseConnection,
}

impl TenantCx {
    /// Wraps a tenant row and a connection.
    pub fn new(tenant: Arc<tenant::Model>, db: DatabaseConnection) -> Self {
        TenantCx { tenant, db }
    }

    /// The store's id.
    pub fn id(&self) -> i64 {
        self.tenant.id
    }

    /// `SELECT ... FROM E WHERE tenant_id = <this store>`.
    pub fn select<E: TenantOwned>(&self) -> Select<E> {
        E::find().filter(E::tenant_column().eq(self.id()))
    }

    /// `UPDATE E ... WHERE tenant_id = <this store>`.
    pub fn update_many<E: TenantOwned>(&self) -> UpdateMany<E> {
        E::update_many().filter(E::tenant_column().eq(self.id()))
    }

    /// `DELETE FROM E WHERE tenant_id = <this store> AND <cond>`.
    pub fn delete_where<E: TenantOwned>(&self, cond: impl IntoCondition) -> DeleteMany<E> {
        E::delete_many().filter(E::tenant_column().eq(self.id())).filter(cond)
    }
}

/// What `tenant create` and the API accept to create a store.
#[derive(Clone, Debug, Deserialize)]
pub struct NewTenant {
    /// Short identifier, `[a-z0-9-]`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Host names that serve this store (`shop.ru`, `www.shop.ru`).
    pub domains: Vec<String>,
    /// `ru` or `en`.
    pub default_locale: String,
    /// ISO 4217 code.
    pub default_currency: String,
}

/// A store with its domains, as listed by `tenant list`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TenantView {
    /// Store id.
    pub id: i64,
    /// Short identifier.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Default locale.
    pub default_locale: String,
    /// Default currency.
    pub default_currency: String,
    /// Host names, primary first.
    pub domains: Vec<String>,
}

/// Normalizes a `Host` header value: lower case, no port, no trailing dot.
pub fn normalize_host(host: &str) -> String {
    let h = host.trim().to_ascii_lowercase();
    let h = if h.starts_with('[') {
        h.split(']').next().map(|s| format!("{s}]")).unwrap_or(h.clone())
    } else {
        h.rsplit_once(':').map(|(a, _)| a.to_string()).unwrap_or(h.clone())
    };
    h.trim_end_matches('.').to_string()
}

/// Finds the store served at `host` (exact domain match after normalization).
pub async fn by_host(db: &DatabaseConnection, host: &str) -> Result<tenant::Model> {
    let host = normalize_host(host);
    let domain = tenant_domain::Entity::find().filter(tenant_domain::Column::Domain.eq(host.clone())).one(db).await?;
    let Some(domain) = domain else { return Err(Error::UnknownHost { host }) };
    tenant::Entity::find_by_id(domain.tenant_id).one(db).await?.ok_or(Error::UnknownHost { host })
}

/// A `Host` resolved to a store: the store, the domain of it that matched, and the label
/// in front of that domain when the host is a subdomain (`msk` in `msk.shop.ru`).
#[derive(Clone, Debug)]
pub struct HostMatch {
    /// The store.
    pub tenant: Arc<tenant::Model>,
    /// The store domain that matched (`shop.ru`), used e.g. as the region cookie's domain.
    pub domain: String,
    /// The first label when the host is `<label>.<store domain>`.
    pub subdomain: Option<String>,
}

/// Finds the store for a host: an exact domain, or `<label>.<domain>` for any of the
/// store's domains (region subdomains). Hosts that are IP addresses only match exactly.
pub async fn match_host(db: &DatabaseConnection, host: &str) -> Result<HostMatch> {
    let host = normalize_host(host);
    if host.is_empty() || host.len() > 253 {
        return Err(Error::UnknownHost { host: host.chars().take(253).collect() });
    }
    let mut candidates = vec![(host.clone(), None)];
    if host.parse::<std::net::IpAddr>().is_err() && !host.starts_with('[') {
        if let Some((label, rest)) = host.split_once('.') {
            if !label.is_empty() && rest.contains(|c: char| c.is_ascii_alphabetic()) {
                candidates.push((rest.to_string(), Some(label.to_string())));
            }
        }
    }
    let names: Vec<String> = candidates.iter().map(|(d, _)| d.clone()).collect();
    let found = tenant_domain::Entity::find().filter(tenant_domain::Column::Domain.is_in(names)).all(db).await?;
    for (domain, sub) in candidates {
        if let Some(d) = found.iter().find(|f| f.domain == domain) {
            if let Some(t) = tenant::Entity::find_by_id(d.tenant_id).one(db).await? {
                return Ok(HostMatch { tenant: Arc::new(t), domain, subdomain: sub });
            }
        }
    }
    Err(Error::UnknownHost { host })
}

/// Finds a store by slug.
pub async fn by_slug(db: &DatabaseConnection, slug: &str) -> Result<tenant::Model> {
    tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound { entity: "tenant", key: slug.to_string() })
}

/// Every store with its domains.
pub async fn list(db: &DatabaseConnection) -> Result<Vec<TenantView>> {
    let tenants = tenant::Entity::find().order_by_asc(tenant::Column::Id).all(db).await?;
    let domains = tenant_domain::Entity::find()
        .order_by_desc(tenant_domain::Column::IsPrimary)
        .order_by_asc(tenant_domain::Column::Id)
        .all(db)
        .await?;
    Ok(tenants
        .into_iter()
        .map(|t| TenantView {
            domains: domains.iter().filter(|d| d.tenant_id == t.id).map(|d| d.domain.clone()).collect(),
            id: t.id,
            slug: t.slug,
            name: t.name,
            default_locale: t.default_locale,
            default_currency: t.default_currency,
        })
        .collect())
}

/// Creates a store and its domains in one transaction.
pub async fn create(db: &DatabaseConnection, input: NewTenant) -> Result<tenant::Model> {
    let mut p = Problems::default();
    validate::slug(&mut p, "slug", &input.slug);
    validate::text(&mut p, "name", &input.name, 1, 200);
    if crate::i18n::Locale::parse(&input.default_locale).is_none() {
        p.push("default_locale", "unsupported_locale", "must be \"ru\" or \"en\"");
    }
    validate::currency(&mut p, "default_currency", &input.default_currency);
    if input.domains.is_empty() {
        p.push("domains", "required", "at least one domain is required");
    }
    let domains: Vec<String> = input.domains.iter().map(|d| normalize_host(d)).collect();
    for (i, (raw, d)) in input.domains.iter().zip(&domains).enumerate() {
        if raw.contains('/') || raw.contains('@') {
            p.push(format!("domains.{i}"), "invalid_domain", "give a host name only, without scheme or path");
        } else {
            validate::domain(&mut p, &format!("domains.{i}"), d);
        }
    }
    p.finish()?;
    if tenant::Entity::find().filter(tenant::Column::Slug.eq(&input.slug)).count(db).await? > 0 {
        return Err(Error::Taken { field: "slug", value: input.slug });
    }
    for d in &domains {
        if tenant_domain::Entity::find().filter(tenant_domain::Column::Domain.eq(d)).count(db).await? > 0 {
            return Err(Error::Taken { field: "domain", value: d.clone() });
        }
    }
    let txn = db.begin().await?;
    let t = tenant::ActiveModel {
        slug: Set(input.slug),
        name: Set(input.name),
        default_locale: Set(crate::i18n::Locale::parse(&input.default_locale).map_or("ru", |l| l.tag()).to_string()),
        default_currency: Set(input.default_currency.to_ascii_uppercase()),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for (i, d) in domains.into_iter().enumerate() {
        tenant_domain::ActiveModel {
            tenant_id: Set(t.id),
            domain: Set(d),
            is_primary: Set(i == 0),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(t)
}

/// The domains of a store, primary first.
pub async fn domains(db: &DatabaseConnection, t: &tenant::Model) -> Result<Vec<String>> {
    Ok(tenant_domain::Entity::find()
        .filter(tenant_domain::Column::TenantId.eq(t.id))
        .order_by_desc(tenant_domain::Column::IsPrimary)
        .order_by_asc(tenant_domain::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|d| d.domain)
        .collect())
}

/// Adds a domain to a store (`Taken` when another store serves it; nothing when this one
/// already does).
pub async fn add_domain(db: &DatabaseConnection, t: &tenant::Model, domain: &str) -> Result<()> {
    let d = normalize_host(domain);
    let mut p = Problems::default();
    validate::domain(&mut p, "domain", &d);
    p.finish()?;
    match tenant_domain::Entity::find().filter(tenant_domain::Column::Domain.eq(&d)).one(db).await? {
        Some(row) if row.tenant_id == t.id => Ok(()),
        Some(_) => Err(Error::Taken { field: "domain", value: d }),
        None => {
            let first =
                tenant_domain::Entity::find().filter(tenant_domain::Column::TenantId.eq(t.id)).count(db).await? == 0;
            tenant_domain::ActiveModel {
                tenant_id: Set(t.id),
                domain: Set(d),
                is_primary: Set(first),
                ..Default::default()
            }
            .insert(db)
            .await?;
            Ok(())
        }
    }
}

/// Renames a store.
pub async fn rename(db: &DatabaseConnection, t: tenant::Model, name: &str) -> Result<tenant::Model> {
    let mut p = Problems::default();
    validate::text(&mut p, "name", name, 1, 200);
    p.finish()?;
    let mut am: tenant::ActiveModel = t.into();
    am.name = Set(name.to_string());
    Ok(am.update(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_normalized() {
        assert_eq!(normalize_host("Shop.RU:8080"), "shop.ru");
        assert_eq!(normalize_host("shop.ru."), "shop.ru");
        assert_eq!(normalize_host("[::1]:8080"), "[::1]");
    }
}
