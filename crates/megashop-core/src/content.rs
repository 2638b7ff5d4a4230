//! Region-specific content: banners, notices and pages keyed by name, each either for
//! one region or for all (`*`). A region's own version wins over the all-regions one, so
//! "a page that exists in one region only" is a block stored for that region alone.

use crate::entity::{content_block, region};
use crate::error::{Error, Problems, Result};
use crate::tenancy::TenantCx;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The scope value meaning "every region".
pub const ALL_REGIONS: &str = "*";

/// A content block.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ContentView {
    /// Key (`banner`, `page:delivery`).
    pub key: String,
    /// Region code, or `*` for every region.
    pub region: String,
    /// Title.
    pub title: String,
    /// Body (HTML; the storefront shows it as given, so only staff write it).
    pub body: String,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Body of `PUT /content/{key}`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutContent {
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Region code; absent or `*` for every region.
    pub region: Option<String>,
}

fn view(m: content_block::Model) -> ContentView {
    ContentView { key: m.key, region: m.region_code, title: m.title, body: m.body, updated_at: m.updated_at }
}

fn check_key(p: &mut Problems, key: &str) {
    let ok = !key.is_empty()
        && key.len() <= 100
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b':'));
    if !ok {
        p.push("key", "invalid_key", "use 1-100 characters: a-z, 0-9, '-', '_' and ':'");
    }
}

/// The block `key` as region `region_code` sees it: its own version, else the
/// all-regions one.
pub async fn get(cx: &TenantCx, region_code: &str, key: &str) -> Result<ContentView> {
    let rows = cx
        .select::<content_block::Entity>()
        .filter(content_block::Column::Key.eq(key))
        .filter(content_block::Column::RegionCode.is_in([region_code, ALL_REGIONS]))
        .all(&cx.db)
        .await?;
    let own = rows.iter().position(|r| r.region_code == region_code);
    let pick = own.or_else(|| rows.iter().position(|r| r.region_code == ALL_REGIONS));
    match pick {
        Some(i) => Ok(view(rows[i].clone())),
        None => Err(Error::NotFound { entity: "content", key: key.to_string() }),
    }
}

/// Every block, for staff.
pub async fn list(cx: &TenantCx) -> Result<Vec<ContentView>> {
    Ok(cx
        .select::<content_block::Entity>()
        .order_by_asc(content_block::Column::Key)
        .order_by_asc(content_block::Column::RegionCode)
        .all(&cx.db)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// Creates or replaces a block for one region or all.
pub async fn put(cx: &TenantCx, key: &str, body: PutContent) -> Result<ContentView> {
    let scope =
        body.region.as_deref().map(|r| r.trim().to_ascii_lowercase()).unwrap_or_else(|| ALL_REGIONS.to_string());
    let mut p = Problems::default();
    check_key(&mut p, key);
    crate::validate::text(&mut p, "title", &body.title, 1, 255);
    if body.body.len() > 200_000 {
        p.push("body", "too_long", "must be at most 200000 bytes");
    }
    p.finish()?;
    if scope != ALL_REGIONS
        && cx.select::<region::Entity>().filter(region::Column::Code.eq(&scope)).one(&cx.db).await?.is_none()
    {
        return Err(Error::Reference { field: "region", entity: "region", key: scope });
    }
    content_block::Entity::insert(content_block::ActiveModel {
        tenant_id: Set(cx.id()),
        region_code: Set(scope.clone()),
        key: Set(key.to_string()),
        title: Set(body.title.trim().to_string()),
        body: Set(body.body),
        updated_at: Set(chrono::Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            content_block::Column::TenantId,
            content_block::Column::Key,
            content_block::Column::RegionCode,
        ])
        .update_columns([content_block::Column::Title, content_block::Column::Body, content_block::Column::UpdatedAt])
        .to_owned(),
    )
    .exec(&cx.db)
    .await?;
    let row = cx
        .select::<content_block::Entity>()
        .filter(content_block::Column::Key.eq(key))
        .filter(content_block::Column::RegionCode.eq(&scope))
        .one(&cx.db)
        .await?
        .ok_or_else(|| Error::Internal("content block vanished after upsert".into()))?;
    Ok(view(row))
}

/// Deletes the block `key` of one scope (a region code or `*`).
pub async fn delete(cx: &TenantCx, key: &str, scope: &str) -> Result<()> {
    let res = cx
        .delete_where::<content_block::Entity>(
            content_block::Column::Key.eq(key).and(content_block::Column::RegionCode.eq(scope)),
        )
        .exec(&cx.db)
        .await?;
    if res.rows_affected == 0 {
        return Err(Error::NotFound { entity: "content", key: format!("{key} ({scope})") });
    }
    Ok(())
}
