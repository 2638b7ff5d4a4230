//! Sessions: opaque refresh tokens, rotated on every use.
//!
//! A login starts a *family*. Each refresh marks the presented token used and issues the
//! next one of the family. Presenting a used token again means it was copied (or the
//! legitimate client lost a race with a thief): the whole family is revoked, so both
//! sides must log in again. Only the SHA-256 of a token is stored. Sessions belong to the
//! store they were opened in and are found only through its [`TenantCx`].

use crate::entity::refresh_token;
use crate::error::{Error, Result};
use crate::tenancy::TenantCx;
use base64::Engine;
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

/// Where a request came from (kept with the session, shown in "your sessions").
#[derive(Clone, Debug, Default)]
pub struct ClientMeta {
    /// Client IP.
    pub ip: Option<String>,
    /// `User-Agent`, cut to 300 characters.
    pub user_agent: Option<String>,
}

fn random_token() -> String {
    let bytes: [u8; 32] = rand::thread_rng().gen();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Opens a session for `account` in the store: returns the refresh token.
pub async fn start(
    cx: &TenantCx,
    db: &impl ConnectionTrait,
    account: i64,
    ttl: chrono::Duration,
    meta: &ClientMeta,
) -> Result<String> {
    let family: String = random_token().chars().take(22).collect();
    insert(cx, db, account, &family, ttl, meta).await
}

async fn insert(
    cx: &TenantCx,
    db: &impl ConnectionTrait,
    account: i64,
    family: &str,
    ttl: chrono::Duration,
    meta: &ClientMeta,
) -> Result<String> {
    let token = random_token();
    let now = chrono::Utc::now();
    refresh_token::ActiveModel {
        account_id: Set(account),
        tenant_id: Set(cx.id()),
        family: Set(family.to_string()),
        token_hash: Set(hash(&token)),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        user_agent: Set(meta.user_agent.as_ref().map(|s| s.chars().take(300).collect())),
        ip: Set(meta.ip.as_ref().map(|s| s.chars().take(64).collect())),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Uses `token`: marks it used and returns the session's row and the next token.
/// `invalid_refresh` for an unknown or revoked token, `refresh_expired` after its
/// lifetime, `refresh_reused` (and the family revoked) for a token already used.
pub async fn rotate(
    cx: &TenantCx,
    token: &str,
    ttl: chrono::Duration,
    meta: &ClientMeta,
) -> Result<(refresh_token::Model, String)> {
    let invalid = || Error::Unauthorized { reason: "invalid_refresh" };
    if token.is_empty() || token.len() > 100 {
        return Err(invalid());
    }
    let row = cx
        .select::<refresh_token::Entity>()
        .filter(refresh_token::Column::TokenHash.eq(hash(token.trim())))
        .one(&cx.db)
        .await?
        .ok_or_else(invalid)?;
    if row.revoked_at.is_some() {
        return Err(invalid());
    }
    if row.used_at.is_some() {
        revoke_family(cx, &row.family).await?;
        tracing::warn!(
            account = row.account_id,
            tenant = row.tenant_id,
            "refresh token reused: session family revoked"
        );
        return Err(Error::Unauthorized { reason: "refresh_reused" });
    }
    let now = chrono::Utc::now();
    if row.expires_at <= now {
        return Err(Error::Unauthorized { reason: "refresh_expired" });
    }
    // Exactly one request may use a token, however many race for it.
    let res = cx
        .update_many::<refresh_token::Entity>()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&cx.db)
        .await?;
    if res.rows_affected != 1 {
        revoke_family(cx, &row.family).await?;
        return Err(Error::Unauthorized { reason: "refresh_reused" });
    }
    let next = insert(cx, &cx.db, row.account_id, &row.family, ttl, meta).await?;
    Ok((row, next))
}

/// Ends every session of a family.
pub async fn revoke_family(cx: &TenantCx, family: &str) -> Result<()> {
    cx.update_many::<refresh_token::Entity>()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(chrono::Utc::now()))
        .filter(refresh_token::Column::Family.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&cx.db)
        .await?;
    Ok(())
}

/// Ends the session `token` belongs to (logout). Unknown tokens are ignored: logging out
/// twice is not an error.
pub async fn revoke(cx: &TenantCx, token: &str) -> Result<()> {
    if token.is_empty() || token.len() > 100 {
        return Ok(());
    }
    let row = cx
        .select::<refresh_token::Entity>()
        .filter(refresh_token::Column::TokenHash.eq(hash(token.trim())))
        .one(&cx.db)
        .await?;
    if let Some(row) = row {
        revoke_family(cx, &row.family).await?;
    }
    Ok(())
}

/// Ends every session of `account` in the store (log out everywhere, password changed).
pub async fn revoke_all(cx: &TenantCx, db: &impl ConnectionTrait, account: i64) -> Result<u64> {
    let res = cx
        .update_many::<refresh_token::Entity>()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(chrono::Utc::now()))
        .filter(refresh_token::Column::AccountId.eq(account))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Ends every session of a staff account in every store (its password changed). Staff
/// accounts are the deployment's, not a store's: this is the one query on sessions that is
/// not scoped to a store, and it only ever touches that account's own rows.
pub async fn revoke_everywhere(db: &impl ConnectionTrait, account: i64) -> Result<u64> {
    use sea_orm::EntityTrait;
    let res = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(chrono::Utc::now()))
        .filter(refresh_token::Column::AccountId.eq(account))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
