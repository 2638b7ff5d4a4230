//! The category tree.

use super::{patch_field, taken_or};
use crate::entity::{category, product};
use crate::error::{Error, Problems, Result};
use crate::tenancy::TenantCx;
use crate::validate;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// A category with its children, as served by `GET /categories`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CategoryNode {
    /// Id.
    pub id: i64,
    /// URL slug, unique in the store.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Order among siblings.
    pub position: i32,
    /// Parent's slug; `null` for top-level categories.
    pub parent: Option<String>,
    /// Sub-categories.
    #[schema(no_recursion)]
    pub children: Vec<CategoryNode>,
}

/// A reference to a category inside a product.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CategoryRef {
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
}

/// Body of `POST /categories`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategory {
    /// Slug; made from the name when absent.
    pub slug: Option<String>,
    /// Display name.
    pub name: String,
    /// Parent category slug.
    pub parent: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Order among siblings (default 0).
    pub position: Option<i32>,
}

/// Body of `PATCH /categories/{slug}`: absent fields are kept, `null` clears.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryPatch {
    /// New slug.
    pub slug: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New parent slug, or `null` to make it top-level.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub parent: Option<Option<String>>,
    /// New description, or `null`.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// New position.
    pub position: Option<i32>,
}

/// All categories of the store, by id.
pub async fn all(cx: &TenantCx) -> Result<Vec<category::Model>> {
    Ok(cx
        .select::<category::Entity>()
        .order_by_asc(category::Column::Position)
        .order_by_asc(category::Column::Name)
        .all(&cx.db)
        .await?)
}

/// The whole tree, top-level categories first, siblings ordered by position then name.
pub async fn tree(cx: &TenantCx) -> Result<Vec<CategoryNode>> {
    let rows = all(cx).await?;
    let slugs: HashMap<i64, String> = rows.iter().map(|c| (c.id, c.slug.clone())).collect();
    let mut by_parent: HashMap<Option<i64>, Vec<&category::Model>> = HashMap::new();
    for c in &rows {
        by_parent.entry(c.parent_id).or_default().push(c);
    }
    fn build(
        parent: Option<i64>,
        by_parent: &HashMap<Option<i64>, Vec<&category::Model>>,
        slugs: &HashMap<i64, String>,
        depth: usize,
    ) -> Vec<CategoryNode> {
        if depth > 64 {
            return vec![];
        }
        by_parent
            .get(&parent)
            .map(|cs| {
                cs.iter()
                    .map(|c| CategoryNode {
                        id: c.id,
                        slug: c.slug.clone(),
                        name: c.name.clone(),
                        description: c.description.clone(),
                        position: c.position,
                        parent: c.parent_id.and_then(|p| slugs.get(&p).cloned()),
                        children: build(Some(c.id), by_parent, slugs, depth + 1),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    Ok(build(None, &by_parent, &slugs, 0))
}

/// One category (with its subtree) by slug.
pub async fn by_slug(cx: &TenantCx, slug: &str) -> Result<CategoryNode> {
    fn find(nodes: Vec<CategoryNode>, slug: &str) -> Option<CategoryNode> {
        for n in nodes {
            if n.slug == slug {
                return Some(n);
            }
            if let Some(found) = find(n.children, slug) {
                return Some(found);
            }
        }
        None
    }
    find(tree(cx).await?, slug).ok_or_else(|| Error::NotFound { entity: "category", key: slug.to_string() })
}

/// The row of a category by slug.
pub async fn row_by_slug(cx: &TenantCx, slug: &str) -> Result<category::Model> {
    cx.select::<category::Entity>()
        .filter(category::Column::Slug.eq(slug))
        .one(&cx.db)
        .await?
        .ok_or_else(|| Error::NotFound { entity: "category", key: slug.to_string() })
}

/// Ids of the category and all its descendants.
pub fn subtree_ids(rows: &[category::Model], root: i64) -> Vec<i64> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i];
        out.extend(rows.iter().filter(|c| c.parent_id == Some(cur)).map(|c| c.id));
        i += 1;
        if out.len() > rows.len() + 1 {
            break; // defensive: a cycle cannot be created through this API
        }
    }
    out
}

async fn parent_id(cx: &TenantCx, parent: Option<&str>) -> Result<Option<i64>> {
    match parent {
        None => Ok(None),
        Some(slug) => {
            match cx.select::<category::Entity>().filter(category::Column::Slug.eq(slug)).one(&cx.db).await? {
                Some(c) => Ok(Some(c.id)),
                None => Err(Error::Reference { field: "parent", entity: "category", key: slug.to_string() }),
            }
        }
    }
}

/// Creates a category.
pub async fn create(cx: &TenantCx, input: NewCategory) -> Result<CategoryNode> {
    let slug = input.slug.clone().unwrap_or_else(|| validate::slugify(&input.name));
    let mut p = Problems::default();
    validate::slug(&mut p, "slug", &slug);
    validate::text(&mut p, "name", &input.name, 1, 255);
    p.finish()?;
    let parent = parent_id(cx, input.parent.as_deref()).await?;
    category::ActiveModel {
        tenant_id: Set(cx.id()),
        parent_id: Set(parent),
        slug: Set(slug.clone()),
        name: Set(input.name.trim().to_string()),
        description: Set(input.description),
        position: Set(input.position.unwrap_or(0)),
        ..Default::default()
    }
    .insert(&cx.db)
    .await
    .map_err(|e| taken_or(e, "slug", &slug))?;
    by_slug(cx, &slug).await
}

/// Updates a category; refuses to move it under itself or its descendants.
pub async fn update(cx: &TenantCx, slug: &str, patch: CategoryPatch) -> Result<CategoryNode> {
    let row = row_by_slug(cx, slug).await?;
    let mut p = Problems::default();
    if let Some(s) = &patch.slug {
        validate::slug(&mut p, "slug", s);
    }
    if let Some(n) = &patch.name {
        validate::text(&mut p, "name", n, 1, 255);
    }
    p.finish()?;
    let mut am = row.clone().into_active_model();
    if let Some(parent) = &patch.parent {
        let pid = parent_id(cx, parent.as_deref()).await?;
        if let Some(pid) = pid {
            if subtree_ids(&all(cx).await?, row.id).contains(&pid) {
                return Err(Error::invalid("parent", "cycle", "a category cannot be moved under itself"));
            }
        }
        am.parent_id = Set(pid);
    }
    let new_slug = patch.slug.clone().unwrap_or_else(|| row.slug.clone());
    if let Some(s) = patch.slug {
        am.slug = Set(s);
    }
    if let Some(n) = patch.name {
        am.name = Set(n.trim().to_string());
    }
    if let Some(d) = patch.description {
        am.description = Set(d);
    }
    if let Some(pos) = patch.position {
        am.position = Set(pos);
    }
    am.update(&cx.db).await.map_err(|e| taken_or(e, "slug", &new_slug))?;
    by_slug(cx, &new_slug).await
}

/// Deletes an empty category (no sub-categories; its products become uncategorized).
pub async fn delete(cx: &TenantCx, slug: &str) -> Result<()> {
    let row = row_by_slug(cx, slug).await?;
    let children = cx.select::<category::Entity>().filter(category::Column::ParentId.eq(row.id)).count(&cx.db).await?;
    if children > 0 {
        return Err(Error::InUse { entity: "category", reason: format!("it has {children} sub-categories") });
    }
    let txn = cx.db.begin().await?;
    cx.update_many::<product::Entity>()
        .col_expr(product::Column::CategoryId, sea_orm::sea_query::Expr::value(Option::<i64>::None))
        .col_expr(product::Column::UpdatedAt, sea_orm::sea_query::Expr::value(chrono::Utc::now()))
        .filter(product::Column::CategoryId.eq(row.id))
        .exec(&txn)
        .await?;
    cx.delete_where::<category::Entity>(category::Column::Id.eq(row.id)).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}
