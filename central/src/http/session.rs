//! Login, logout, who-am-I and the audit log over HTTP, and the role check every operator
//! endpoint calls (`require`).

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Principal, Role};
use subtle::ConstantTimeEq;

use crate::api::{ApiError, ApiState, error, with_store};
use crate::ingest::now_ms;
use crate::store::AuditEntry;

pub const COOKIE: &str = "tac_session";

/// The session token a request carries: the dashboard's cookie, else a bearer token.
fn presented_token(headers: &HeaderMap) -> Option<&str> {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix("tac_session="));
    cookie.or_else(|| bearer(headers))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
}

/// Who is asking. Without `[auth]`, everyone is an anonymous viewer; with it, a live
/// session is needed (401). The signals override token (for scripts and the SCATS-style
/// bridge) stands for an operator either way.
pub fn principal(state: &ApiState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    if let (Some(token), Some(presented)) =
        (state.signals.as_ref().and_then(|s| s.override_token.as_deref()), bearer(headers))
        && bool::from(token.as_bytes().ct_eq(presented.as_bytes()))
    {
        return Ok(Principal { name: "override-token".into(), role: Role::Operator });
    }
    match &state.auth {
        None => Ok(Principal { name: "anonymous".into(), role: Role::Viewer }),
        Some(sessions) => presented_token(headers)
            .and_then(|t| sessions.check(t, now_ms()))
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
}

/// `POST /api/v1/auth/login` `{"username","password"}` → session cookie and token.
pub async fn login(State(state): State<ApiState>, request: Request) -> Response {
    let Some(sessions) = state.auth.clone() else {
        return error(
            StatusCode::NOT_FOUND,
            "logins are not configured ([auth] is absent); the API is open on its listen address",
        );
    };
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    if sessions.login_limiter.check_key(&client).is_err() {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, HeaderValue::from_static("60"))],
            Json(serde_json::json!({"error": "too many login attempts; wait a minute"})),
        )
            .into_response();
    }
    let body = match axum::body::to_bytes(request.into_body(), 16 * 1024).await {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("body: {e}")),
    };
    let req: LoginRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("body: {e}")),
    };
    let name = req.username.clone();
    let checker = sessions.clone();
    let outcome =
        tokio::task::spawn_blocking(move || checker.login(&req.username, &req.password, now_ms())).await.ok().flatten();
    let Some((token, who)) = outcome else {
        let shown: String =
            name.chars().filter(|c| c.is_ascii_alphanumeric() || "-_.@".contains(*c)).take(64).collect();
        let _ = audit(
            &state,
            &Principal { name: shown, role: Role::Viewer },
            "login_failed",
            "",
            "bad name or password",
            serde_json::json!({"client": client.to_string()}),
        )
        .await;
        return error(StatusCode::UNAUTHORIZED, "wrong user name or password");
    };
    if let Err(r) =
        audit(&state, &who, "login", &who.name, "accepted", serde_json::json!({"client": client.to_string()})).await
    {
        sessions.logout(&token);
        return r.into_response();
    }
    let max_age = sessions.ttl_ms() / 1000;
    let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}");
    let body = serde_json::json!({"user": who.name, "role": who.role, "token": token, "expires_in_s": max_age});
    ([(header::SET_COOKIE, cookie)], Json(body)).into_response()
}

/// `POST /api/v1/auth/logout`.
pub async fn logout(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let clear = [(header::SET_COOKIE, format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"))];
    let who = match (&state.auth, presented_token(&headers)) {
        (Some(sessions), Some(token)) => sessions.logout(token),
        _ => None,
    };
    if let Some(who) = who {
        let _ = audit(&state, &who, "logout", &who.name, "accepted", serde_json::Value::Null).await;
    }
    (clear, StatusCode::NO_CONTENT).into_response()
}

/// `GET /api/v1/auth/me`: who the session is, and whether logins are on.
pub async fn me(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    match principal(&state, &headers) {
        Ok(p) => {
            Json(serde_json::json!({"user": p.name, "role": p.role, "auth": state.auth.is_some()})).into_response()
        }
        Err(r) => r.into_response(),
    }
}

#[derive(Deserialize)]
pub struct AuditQuery {
    limit: Option<usize>,
}

/// `GET /api/v1/audit?limit=`: newest first; operators and admins.
pub async fn audit_log(State(state): State<ApiState>, headers: HeaderMap, Query(q): Query<AuditQuery>) -> Response {
    if let Err(r) = require(&state, &headers, Role::Operator) {
        return r.into_response();
    }
    let limit = q.limit.unwrap_or(200);
    if !(1..=5_000).contains(&limit) {
        return error(StatusCode::BAD_REQUEST, "limit: must be within 1..=5000");
    }
    match with_store(&state, move |s| s.audit(limit)).await {
        Ok(rows) => Json(rows).into_response(),
        Err(r) => r.into_response(),
    }
}
