//! Who is asking, and whether they may: sessions (cookie or bearer), the signals override
//! token (compared in constant time), roles, the per-route check the route table applies,
//! the `Viewer`/`Operator` extractors for handlers that need the person, and the audit log
//! every operator action writes before it takes effect.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::headers::authorization::Bearer;
use axum_extra::headers::{Authorization, HeaderMapExt};
use subtle::ConstantTimeEq;

use super::ApiState;
use super::common::with_store;
use super::error::{ApiError, error};
use crate::auth::{Principal, Role};
use crate::clock::now_ms;
use crate::store::AuditEntry;

pub const COOKIE: &str = "tac_session";

/// The session token a request carries: the dashboard's cookie, else a bearer token.
pub fn presented_token(headers: &HeaderMap) -> Option<String> {
    CookieJar::from_headers(headers).get(COOKIE).map(|c| c.value().to_string()).or_else(|| bearer(headers))
}

/// The `Authorization: Bearer` token, if any.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    headers.typed_get::<Authorization<Bearer>>().map(|a| a.token().to_string())
}

/// Who is asking. Without `[auth]`, everyone is an anonymous viewer; with it, a live
/// session is needed (401). The signals override token (for scripts and the SCATS-style
/// bridge) stands for an operator either way.
pub fn principal(state: &ApiState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    if let (Some(token), Some(presented)) =
        (state.signals.as_ref().and_then(|s| s.override_token.as_deref()), bearer(headers).as_deref())
        && bool::from(token.as_bytes().ct_eq(presented.as_bytes()))
    {
        return Ok(Principal { name: "override-token".into(), role: Role::Operator });
    }
    match &state.auth {
        None => Ok(Principal { name: "anonymous".into(), role: Role::Viewer }),
        Some(sessions) => presented_token(headers)
            .and_then(|t| sessions.check(&t, now_ms()))
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "log in first (POST /api/v1/auth/login)")),
    }
}

/// `principal`, refused with 403 below `role`.
pub fn require(state: &ApiState, headers: &HeaderMap, role: Role) -> Result<Principal, ApiError> {
    let p = principal(state, headers)?;
    if p.role < role && state.auth.is_none() {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            format!(
                "the {} role is needed: present the override token as a bearer token ([auth] is not configured)",
                role.as_str()
            ),
        ));
    }
    if p.role < role {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("the {} role is needed; {} is a {}", role.as_str(), p.name, p.role.as_str()),
        ));
    }
    Ok(p)
}

/// Appends to the audit log; `Err` (503) when it could not be stored.
pub async fn audit(
    state: &ApiState,
    who: &Principal,
    action: &str,
    target: &str,
    outcome: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    let entry = AuditEntry {
        id: 0,
        at_ms: now_ms(),
        actor: who.name.clone(),
        role: who.role.as_str().into(),
        action: action.into(),
        target: target.into(),
        outcome: outcome.into(),
        detail: detail.to_string(),
    };
    let result = with_store(state, move |s| s.append_audit(&entry)).await;
    if result.is_err() {
        tracing::error!(actor = %who.name, action, target, "audit entry not stored; the action is refused");
    }
    result
}

/// A request from someone with at least the viewer role (see `principal`).
pub struct Viewer(pub Principal);

/// A request from an operator or above: a session with that role, or the override token.
pub struct Operator(pub Principal);

impl FromRequestParts<ApiState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        require(state, &parts.headers, Role::Viewer).map(Viewer)
    }
}

impl FromRequestParts<ApiState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        require(state, &parts.headers, Role::Operator).map(Operator)
    }
}

/// What a route declares in the route table, and what `gate` enforces before its handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Public.
    None,
    /// A police consumer's bearer token.
    Bearer,
    /// A session (cookie or bearer) of any role when `[auth]` is configured; open otherwise.
    Session,
    /// A session with the operator role or above, or the signals override token.
    Operator,
}

/// The answer refusing a request that does not meet `auth` (401/403, or 404 for the
/// police feed when `[police]` is not configured); `None` lets it through to the handler.
pub fn refusal(auth: Auth, state: &ApiState, headers: &HeaderMap) -> Option<Response> {
    match auth {
        Auth::None => None,
        Auth::Session => require(state, headers, Role::Viewer).err().map(IntoResponse::into_response),
        Auth::Operator => require(state, headers, Role::Operator).err().map(IntoResponse::into_response),
        Auth::Bearer => {
            let Some(feed) = state.police.as_ref() else {
                return Some(error(StatusCode::NOT_FOUND, "no police feed ([police] is not configured)"));
            };
            match bearer(headers).and_then(|t| feed.consumer(&t).map(str::to_string)) {
                Some(_) => None,
                None => Some(
                    (
                        StatusCode::UNAUTHORIZED,
                        [(header::WWW_AUTHENTICATE, "Bearer")],
                        "a valid consumer token is required\n",
                    )
                        .into_response(),
                ),
            }
        }
    }
}
