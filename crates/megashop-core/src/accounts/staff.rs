//! Staff: deployment accounts with a role per store, and superadmins.
//!
//! A staff account is not any store's data (`tenant_id` NULL, `realm` 0): one person may
//! work for several stores. What they may do in a store comes from their `staff_role` row
//! there (read through the store's [`TenantCx`]); a superadmin may do everything in every
//! store. Staff log in on a store's host and get a token for that store only.

use super::{codes::Purpose, contact, password, AccountView, Accounts, PasswordLogin, Request, Session};
use super::{is_unique_violation, KIND_STAFF, STAFF_REALM};
use crate::auth::ROLES;
use crate::entity::{account, staff_role};
use crate::error::{Error, Result};
use crate::notify::{self, Channel, Outgoing};
use crate::tenancy::TenantCx;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};

/// A staff member of a store, as the staff list shows them.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StaffMember {
    /// Account id.
    pub account_id: i64,
    /// Email.
    pub email: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Role in this store.
    pub role: String,
    /// Whether they have set a password (an invitation not yet accepted: false).
    pub active: bool,
}

/// `POST /api/v1/staff`: give someone a role in the store (invited by email when they have
/// no staff account yet).
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct StaffGrant {
    /// Their email.
    pub email: String,
    /// `owner`, `manager`, `content` or `support`.
    pub role: String,
}

/// Accepting an invitation: the link token and a password.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct AcceptInvite {
    /// The token from the invitation link.
    pub token: String,
    /// The password to set.
    pub password: String,
}

fn check_role(role: &str) -> Result<()> {
    if ROLES.contains(&role) {
        Ok(())
    } else {
        Err(Error::invalid("role", "invalid_role", "must be owner, manager, content or support"))
    }
}

/// The staff account with this email, if any.
pub async fn by_email(db: &impl ConnectionTrait, email: &str) -> Result<Option<account::Model>> {
    Ok(account::Entity::find()
        .filter(account::Column::Realm.eq(STAFF_REALM))
        .filter(account::Column::Kind.eq(KIND_STAFF))
        .filter(account::Column::Email.eq(email))
        .filter(account::Column::Status.eq("active"))
        .one(db)
        .await?)
}

/// The role `a` has in the store (`owner` for a superadmin), if any.
pub async fn role_in(cx: &TenantCx, a: &account::Model) -> Result<Option<String>> {
    if a.kind != KIND_STAFF || a.status != "active" {
        return Ok(None);
    }
    if a.is_superadmin {
        return Ok(Some("owner".into()));
    }
    Ok(cx
        .select::<staff_role::Entity>()
        .filter(staff_role::Column::AccountId.eq(a.id))
        .one(&cx.db)
        .await?
        .map(|r| r.role))
}

/// Creates a staff account, or updates the password (and superadmin flag) of an existing
/// one with the same email (the installer and `megashop user create` re-run safely).
/// Returns the account and whether it was created.
pub async fn upsert_account(
    acc: &Accounts,
    db: &DatabaseConnection,
    email: &str,
    password_text: &str,
    superadmin: bool,
) -> Result<(account::Model, bool)> {
    let email = contact::email("email", email)?;
    password::check("password", password_text, acc.cfg.password_min_length, &[&email])?;
    let hash = acc.hash_password(password_text).await?;
    let now = chrono::Utc::now();
    if let Some(a) = by_email(db, &email).await? {
        let mut am: account::ActiveModel = a.into();
        am.password_hash = Set(Some(hash));
        am.is_superadmin = Set(superadmin);
        am.updated_at = Set(now);
        return Ok((am.update(db).await?, false));
    }
    let a = account::ActiveModel {
        tenant_id: Set(None),
        realm: Set(STAFF_REALM),
        kind: Set(KIND_STAFF.into()),
        email: Set(Some(email)),
        email_verified_at: Set(Some(now)),
        password_hash: Set(Some(hash)),
        is_superadmin: Set(superadmin),
        status: Set("active".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((a, true))
}

/// Gives staff account `account_id` `role` in the store (replacing an earlier role).
pub async fn set_role(cx: &TenantCx, db: &impl ConnectionTrait, account_id: i64, role: &str) -> Result<()> {
    check_role(role)?;
    let existing =
        cx.select::<staff_role::Entity>().filter(staff_role::Column::AccountId.eq(account_id)).one(db).await?;
    match existing {
        Some(r) if r.role == role => {}
        Some(r) => {
            let mut am: staff_role::ActiveModel = r.into();
            am.role = Set(role.into());
            am.update(db).await?;
        }
        None => {
            staff_role::ActiveModel {
                account_id: Set(account_id),
                tenant_id: Set(cx.id()),
                role: Set(role.into()),
                created_at: Set(chrono::Utc::now()),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

impl Accounts {
    /// Logs a staff member in on the store's host: email, password, and a role there.
    pub async fn staff_login(&self, cx: &TenantCx, req: &Request, body: PasswordLogin) -> Result<Session> {
        let bad = || Error::Unauthorized { reason: "invalid_credentials" };
        let email = contact::email("login", &body.login).map_err(|_| bad())?;
        self.limit_login(cx, req, &format!("staff:{email}")).await?;
        if body.password.chars().count() > password::MAX_LENGTH {
            return Err(bad());
        }
        let a = by_email(&cx.db, &email).await?;
        let ok = self.verify_password(&body.password, a.as_ref().and_then(|a| a.password_hash.as_deref())).await?;
        let a = a.filter(|_| ok).ok_or_else(bad)?;
        // Staff of another store learn nothing more than a wrong password would tell.
        let role = role_in(cx, &a).await?.ok_or_else(bad)?;
        let txn = cx.db.begin().await?;
        let refresh = super::sessions::start(cx, &txn, a.id, self.refresh_ttl(), &req.meta).await?;
        txn.commit().await?;
        self.session(cx, &a, refresh, Some(role))
    }

    /// The store's staff, owners first.
    pub async fn staff_list(&self, cx: &TenantCx) -> Result<Vec<StaffMember>> {
        let roles = cx.select::<staff_role::Entity>().order_by_asc(staff_role::Column::Id).all(&cx.db).await?;
        let ids: Vec<i64> = roles.iter().map(|r| r.account_id).collect();
        let accounts = account::Entity::find().filter(account::Column::Id.is_in(ids)).all(&cx.db).await?;
        let mut out: Vec<StaffMember> = roles
            .into_iter()
            .filter_map(|r| {
                let a = accounts.iter().find(|a| a.id == r.account_id)?;
                Some(StaffMember {
                    account_id: a.id,
                    email: a.email.clone(),
                    name: a.name.clone(),
                    role: r.role,
                    active: a.password_hash.is_some(),
                })
            })
            .collect();
        out.sort_by_key(|m| ROLES.iter().position(|r| *r == m.role).unwrap_or(ROLES.len()));
        Ok(out)
    }

    /// Gives `body.email` `body.role` in the store. Someone without a staff account gets
    /// one without a password and an invitation link to set it.
    pub async fn staff_grant(&self, cx: &TenantCx, req: &Request, body: StaffGrant) -> Result<StaffMember> {
        check_role(&body.role)?;
        let email = contact::email("email", &body.email)?;
        let txn = cx.db.begin().await?;
        let a = match by_email(&txn, &email).await? {
            Some(a) => a,
            None => {
                let now = chrono::Utc::now();
                let a = account::ActiveModel {
                    tenant_id: Set(None),
                    realm: Set(STAFF_REALM),
                    kind: Set(KIND_STAFF.into()),
                    email: Set(Some(email.clone())),
                    is_superadmin: Set(false),
                    status: Set("active".into()),
                    locale: Set(Some(super::locale_of(&req.locale))),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(&txn)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        Error::Taken { field: "email", value: email.clone() }
                    } else {
                        e.into()
                    }
                })?;
                let token = self.codes.issue_link(cx, &txn, Some(a.id), Purpose::Invite, &email).await?;
                let link = format!("{}/admin/invite?token={token}", req.base_url);
                notify::enqueue(
                    &txn,
                    Outgoing {
                        tenant_id: Some(cx.id()),
                        channel: Channel::Email,
                        recipient: email.clone(),
                        template: "staff_invite".into(),
                        locale: super::locale_of(&req.locale),
                        payload: serde_json::json!({
                            "link": link, "role": body.role, "store_name": cx.tenant.name,
                        }),
                    },
                )
                .await?;
                a
            }
        };
        set_role(cx, &txn, a.id, &body.role).await?;
        txn.commit().await?;
        Ok(StaffMember {
            account_id: a.id,
            email: a.email.clone(),
            name: a.name.clone(),
            role: body.role,
            active: a.password_hash.is_some(),
        })
    }

    /// Takes staff account `account_id`'s role in the store away and ends their sessions
    /// here. The last owner cannot be removed.
    pub async fn staff_revoke(&self, cx: &TenantCx, account_id: i64) -> Result<()> {
        let txn = cx.db.begin().await?;
        let role = cx
            .select::<staff_role::Entity>()
            .filter(staff_role::Column::AccountId.eq(account_id))
            .one(&txn)
            .await?
            .ok_or_else(|| Error::NotFound { entity: "staff", key: account_id.to_string() })?;
        if role.role == "owner" {
            let owners =
                cx.select::<staff_role::Entity>().filter(staff_role::Column::Role.eq("owner")).all(&txn).await?.len();
            if owners <= 1 {
                return Err(Error::InUse { entity: "staff", reason: "the store's last owner".into() });
            }
        }
        cx.delete_where::<staff_role::Entity>(staff_role::Column::Id.eq(role.id)).exec(&txn).await?;
        super::sessions::revoke_all(cx, &txn, account_id).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Accepts an invitation: sets the password and logs in.
    pub async fn staff_accept(&self, cx: &TenantCx, req: &Request, body: AcceptInvite) -> Result<Session> {
        let code = self.codes.take_link(cx, &cx.db, Purpose::Invite, &body.token).await?;
        let a = match code.account_id {
            Some(id) => account::Entity::find_by_id(id).one(&cx.db).await?,
            None => None,
        };
        let a = a.filter(|a| a.kind == KIND_STAFF).ok_or(Error::Unauthorized { reason: "link_invalid" })?;
        password::check("password", &body.password, self.cfg.password_min_length, &[a.email.as_deref().unwrap_or("")])?;
        let hash = self.hash_password(&body.password).await?;
        let txn = cx.db.begin().await?;
        let mut am: account::ActiveModel = a.into();
        am.password_hash = Set(Some(hash));
        am.email_verified_at = Set(Some(chrono::Utc::now()));
        am.updated_at = Set(chrono::Utc::now());
        let a = am.update(&txn).await?;
        let refresh = super::sessions::start(cx, &txn, a.id, self.refresh_ttl(), &req.meta).await?;
        txn.commit().await?;
        let role = role_in(cx, &a).await?.ok_or(Error::Unauthorized { reason: "link_invalid" })?;
        self.session(cx, &a, refresh, Some(role))
    }

    /// Starts a staff password reset: a link to the email, if it is a staff account with a
    /// role in this store (the answer is the same otherwise, and nothing is sent).
    pub async fn staff_forgot(&self, cx: &TenantCx, req: &Request, login: &str) -> Result<()> {
        let email = contact::email("login", login)?;
        self.limit_codes(cx, req, &format!("staff:{email}")).await?;
        let txn = cx.db.begin().await?;
        if let Some(a) = by_email(&txn, &email).await? {
            if role_in(cx, &a).await?.is_some() {
                let token = self.codes.issue_link(cx, &txn, Some(a.id), Purpose::StaffReset, &email).await?;
                let link = format!("{}/admin/reset?token={token}", req.base_url);
                notify::enqueue(
                    &txn,
                    Outgoing {
                        tenant_id: Some(cx.id()),
                        channel: Channel::Email,
                        recipient: email.clone(),
                        template: "password_reset_link".into(),
                        locale: super::locale_of(a.locale.as_deref().unwrap_or(&req.locale)),
                        payload: serde_json::json!({ "link": link, "store_name": cx.tenant.name }),
                    },
                )
                .await?;
            }
        }
        txn.commit().await?;
        Ok(())
    }

    /// Sets a staff member's new password with the reset link token; ends their sessions in
    /// every store and tells them.
    pub async fn staff_reset(&self, cx: &TenantCx, req: &Request, body: AcceptInvite) -> Result<()> {
        let row = self.codes.peek_link(cx, &cx.db, Purpose::StaffReset, &body.token).await?;
        let a = match row.account_id {
            Some(id) => account::Entity::find_by_id(id).one(&cx.db).await?,
            None => None,
        };
        let a = a
            .filter(|a| a.kind == KIND_STAFF && a.status == "active")
            .ok_or(Error::Unauthorized { reason: "link_invalid" })?;
        password::check("password", &body.password, self.cfg.password_min_length, &[&row.target])?;
        let row = self.codes.consume(cx, &cx.db, row).await?;
        let hash = self.hash_password(&body.password).await?;
        let txn = cx.db.begin().await?;
        let mut am: account::ActiveModel = a.clone().into();
        am.password_hash = Set(Some(hash));
        am.updated_at = Set(chrono::Utc::now());
        am.update(&txn).await?;
        super::sessions::revoke_everywhere(&txn, a.id).await?;
        notify::enqueue(
            &txn,
            Outgoing {
                tenant_id: Some(cx.id()),
                channel: Channel::Email,
                recipient: row.target,
                template: "password_changed".into(),
                locale: super::locale_of(a.locale.as_deref().unwrap_or(&req.locale)),
                payload: serde_json::json!({ "store_name": cx.tenant.name }),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The staff member's own view (with their role here).
    pub async fn staff_me(&self, cx: &TenantCx, id: i64) -> Result<AccountView> {
        let a = account::Entity::find_by_id(id)
            .filter(account::Column::Kind.eq(KIND_STAFF))
            .one(&cx.db)
            .await?
            .ok_or(Error::Unauthorized { reason: "invalid_token" })?;
        let role = role_in(cx, &a).await?.ok_or(Error::Forbidden)?;
        Ok(AccountView::of(&a, Some(role)))
    }
}
