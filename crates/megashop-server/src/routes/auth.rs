//! Accounts over HTTP: registration, login, sessions, password reset, the customer's own
//! profile, staff login and the store's staff list. Each handler calls one flow of
//! [`megashop_core::accounts`]; the flows decide, rate-limit and answer.

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{perm, ApiJson, Can, Client, Customer, Shop, Staff};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use megashop_core::accounts::staff::{AcceptInvite, StaffGrant, StaffMember};
use megashop_core::accounts::{
    sessions, AccountView, CodeLogin, CodeRequest, PasswordLogin, ProfileUpdate, RegisterEmail, RegisterPhone,
    ResetPassword, Session,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An accepted request whose outcome arrives by email or SMS.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// `sent`: if the address can receive it, a message is on its way.
    pub status: &'static str,
}

const SENT: Accepted = Accepted { status: "sent" };

/// A token from a link.
#[derive(Deserialize, ToSchema)]
pub struct TokenBody {
    /// The token.
    pub token: String,
}

/// A refresh token.
#[derive(Deserialize, ToSchema)]
pub struct RefreshBody {
    /// The refresh token of the session.
    pub refresh_token: String,
}

/// A login (email or phone).
#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    /// Email or phone.
    pub login: String,
}

/// A one-time code.
#[derive(Deserialize, ToSchema)]
pub struct CodeBody {
    /// The 6-digit code.
    pub code: String,
}

/// Registers a customer by email; a confirmation link goes to the address.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterEmail,
    responses((status = 202, body = Accepted), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    shop: Shop,
    Client(req): Client,
    ApiJson(body): ApiJson<RegisterEmail>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    state.accounts.register_email(&shop.cx, &req, body).await?;
    Ok((StatusCode::ACCEPTED, Json(SENT)))
}

/// Confirms an email with the token from the link, and logs in.
#[utoipa::path(post, path = "/api/v1/auth/confirm-email", tag = "auth", request_body = TokenBody,
    responses((status = 200, body = Session), (status = 401, body = ErrorBody)))]
pub async fn confirm_email(
    State(state): State<AppState>,
    shop: Shop,
    Client(req): Client,
    ApiJson(body): ApiJson<TokenBody>,
) -> ApiResult<Json<Session>> {
    Ok(Json(state.accounts.confirm_email(&shop.cx, &req, &body.token).await?))
}

/// Sends a one-time code by SMS (phone) or email for registration, login or a reset.
#[utoipa::path(post, path = "/api/v1/auth/code", tag = "auth", request_body = CodeRequest,
    responses((status = 202, body = Accepted), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn request_code(
    State(state): State<AppState>,
    shop: Shop,
    Client(req): Client,
    ApiJson(body): ApiJson<CodeRequest>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    state.accounts.request_code(&shop.cx, &req, body).await?;
    Ok((StatusCode::ACCEPTED, Json(SENT)))
}

/// Registers with a phone and the SMS code (201); a phone that already has an account is
/// logged in (200).
#[utoipa::path(post, path = "/api/v1/auth/register/phone", tag = "auth", request_body = RegisterPhone,
    responses((status = 201, body = Session), (status = 200, body = Session), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn register_phone(
    State(state): State<AppState>,
    shop: Shop,
    Client(req): Client,
    ApiJson(body): ApiJson<RegisterPhone>,
) -> ApiResult<(StatusCode, Json<Session>)> {
    let (s, created) = state.accounts.register_phone(&shop.cx, &req, body).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(s)))
}

/// Logs a customer in with email or phone and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = PasswordLogin,
    responses((status = 200, body = Session), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    shop: Shop,
    Client(req): Client,
    ApiJson(body): ApiJson<PasswordLogin>,
) -> ApiResult<Json<Session>> {
    Ok(Json(state.accounts.login_password(&shop.cx, &req, body).await?))
}

/// Logs a customer in with a one-time code.
#[utoipa::path(post, path = "/api/v1/auth/login/code", tag = "auth", request_body = CodeLogin,
    responses((status = 200, body = Session), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login_code(
    State(state): State<AppState>,
    shop: Shop,
    Client(req): Client,
    ApiJson(body): ApiJson<CodeLogin>,
) -> ApiResult<Json<Session>> {
    Ok(Json(state.accounts.login_code(&shop.cx, &req, body).await?))
}

/// New tokens for a refresh token (which is used up; presenting it again ends the session).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses((status = 200, body = Session), (status = 401, body = ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    shop: Shop,
    Client(req): Client,
    ApiJson(body): ApiJson<RefreshBody>,
) -> ApiResult<Json<Session>> {
    Ok(Json(state.accounts.refresh(&shop.cx, &req, &body.refresh_token).await?))
}

/// Ends the session of a refresh token.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshBody,
    responses((status = 204)))]
pub async fn logout(shop: Shop, ApiJson(body): ApiJson<RefreshBody>) -> ApiResult<StatusCode> {
    sessions::revoke(&shop.cx, &body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of the calling customer in this store.
#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout_all(State(state): State<AppState>, me: Customer) -> ApiResult<StatusCode> {
    state.accounts.logout_all(&me.shop.cx, me.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts a password reset: a link by email, a code by SMS.
#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "auth", request_body = LoginBody,
    responses((status = 202, body = Accepted), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn forgot_password(
    State(state): State<AppState>,
    shop: Shop,
    Client(req): Client,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    state.accounts.request_reset(&shop.cx, &req, &body.login).await?;
    Ok((StatusCode::ACCEPTED, Json(SENT)))
}

/// Sets a new password with the reset link token or the reset code; every session ends.
#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "auth", request_body = ResetPassword,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reset_password(
    State(state): State<AppState>,
    shop: Shop,
    Client(req): Client,
    ApiJson(body): ApiJson<ResetPassword>,
) -> ApiResult<StatusCode> {
    state.accounts.reset_password(&shop.cx, &req, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The calling customer's profile.
#[utoipa::path(get, path = "/api/v1/account", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = AccountView), (status = 401, body = ErrorBody)))]
pub async fn get_account(State(state): State<AppState>, me: Customer) -> ApiResult<Json<AccountView>> {
    let a = state.accounts.customer(&me.shop.cx, me.id).await?;
    Ok(Json(AccountView::of(&a, None)))
}

/// Changes the calling customer's profile.
#[utoipa::path(patch, path = "/api/v1/account", tag = "account", request_body = ProfileUpdate, security(("bearer" = [])),
    responses((status = 200, body = AccountView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_account(
    State(state): State<AppState>,
    me: Customer,
    Client(req): Client,
    ApiJson(body): ApiJson<ProfileUpdate>,
) -> ApiResult<Json<AccountView>> {
    Ok(Json(state.accounts.update_profile(&me.shop.cx, &req, me.id, body).await?))
}

/// Confirms a changed phone with the SMS code.
#[utoipa::path(post, path = "/api/v1/account/phone/confirm", tag = "account", request_body = CodeBody,
    security(("bearer" = [])), responses((status = 200, body = AccountView), (status = 401, body = ErrorBody)))]
pub async fn confirm_phone(
    State(state): State<AppState>,
    me: Customer,
    Client(req): Client,
    ApiJson(body): ApiJson<CodeBody>,
) -> ApiResult<Json<AccountView>> {
    Ok(Json(state.accounts.confirm_phone(&me.shop.cx, &req, me.id, &body.code).await?))
}

/// Deletes the calling customer's account (personal data erased, orders kept).
#[utoipa::path(delete, path = "/api/v1/account", tag = "account", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn delete_account(State(state): State<AppState>, me: Customer) -> ApiResult<StatusCode> {
    state.accounts.delete_account(&me.shop.cx, me.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Logs a staff member in on this store's host.
#[utoipa::path(post, path = "/api/v1/staff/auth/login", tag = "staff", request_body = PasswordLogin,
    responses((status = 200, body = Session), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn staff_login(
    State(state): State<AppState>,
    shop: Shop,
    Client(req): Client,
    ApiJson(body): ApiJson<PasswordLogin>,
) -> ApiResult<Json<Session>> {
    Ok(Json(state.accounts.staff_login(&shop.cx, &req, body).await?))
}

/// Accepts a staff invitation: sets the password and logs in.
#[utoipa::path(post, path = "/api/v1/staff/auth/accept-invite", tag = "staff", request_body = AcceptInvite,
    responses((status = 200, body = Session), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn staff_accept(
    State(state): State<AppState>,
    shop: Shop,
    Client(req): Client,
    ApiJson(body): ApiJson<AcceptInvite>,
) -> ApiResult<Json<Session>> {
    Ok(Json(state.accounts.staff_accept(&shop.cx, &req, body).await?))
}

/// Starts a staff password reset: a link by email (for staff of this store only; the
/// answer is the same for anyone).
#[utoipa::path(post, path = "/api/v1/staff/auth/password/forgot", tag = "staff", request_body = LoginBody,
    responses((status = 202, body = Accepted), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn staff_forgot(
    State(state): State<AppState>,
    shop: Shop,
    Client(req): Client,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    state.accounts.staff_forgot(&shop.cx, &req, &body.login).await?;
    Ok((StatusCode::ACCEPTED, Json(SENT)))
}

/// Sets a staff member's new password with the reset link token; their sessions end.
#[utoipa::path(post, path = "/api/v1/staff/auth/password/reset", tag = "staff", request_body = AcceptInvite,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn staff_reset(
    State(state): State<AppState>,
    shop: Shop,
    Client(req): Client,
    ApiJson(body): ApiJson<AcceptInvite>,
) -> ApiResult<StatusCode> {
    state.accounts.staff_reset(&shop.cx, &req, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The calling staff member, with their role here.
#[utoipa::path(get, path = "/api/v1/staff/me", tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = AccountView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn staff_me(State(state): State<AppState>, staff: Staff) -> ApiResult<Json<AccountView>> {
    let id = staff.claims.account_id().ok_or(megashop_core::Error::Forbidden)?;
    Ok(Json(state.accounts.staff_me(&staff.shop.cx, id).await?))
}

/// The store's staff.
#[utoipa::path(get, path = "/api/v1/staff", tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = [StaffMember]), (status = 403, body = ErrorBody)))]
pub async fn list_staff(
    State(state): State<AppState>,
    Can(staff, _): Can<perm::StaffManage>,
) -> ApiResult<Json<Vec<StaffMember>>> {
    Ok(Json(state.accounts.staff_list(&staff.shop.cx).await?))
}

/// Gives someone a role in the store (invites them by email when they have no account).
#[utoipa::path(post, path = "/api/v1/staff", tag = "staff", request_body = StaffGrant, security(("bearer" = [])),
    responses((status = 201, body = StaffMember), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn grant_staff(
    State(state): State<AppState>,
    Can(staff, _): Can<perm::StaffManage>,
    Client(req): Client,
    ApiJson(body): ApiJson<StaffGrant>,
) -> ApiResult<(StatusCode, Json<StaffMember>)> {
    Ok((StatusCode::CREATED, Json(state.accounts.staff_grant(&staff.shop.cx, &req, body).await?)))
}

/// Takes a staff member's role in the store away (not the last owner).
#[utoipa::path(delete, path = "/api/v1/staff/{account_id}", tag = "staff", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke_staff(
    State(state): State<AppState>,
    Can(staff, _): Can<perm::StaffManage>,
    Path(account_id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = account_id
        .parse::<i64>()
        .map_err(|_| megashop_core::Error::NotFound { entity: "staff", key: account_id.chars().take(32).collect() })?;
    state.accounts.staff_revoke(&staff.shop.cx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
