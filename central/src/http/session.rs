//! Login, logout, who-am-I and the audit log over HTTP (who may do what: `access`).

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::ApiState;
use super::access::{COOKIE, Viewer, audit, presented_token};
use super::common::with_store;
use super::error::error;
use crate::auth::{Principal, Role};
use crate::clock::now_ms;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
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
    let secure = if state.behind_tls { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    let body = serde_json::json!({"user": who.name, "role": who.role, "token": token, "expires_in_s": max_age});
    ([(header::SET_COOKIE, cookie)], Json(body)).into_response()
}

/// `POST /api/v1/auth/logout`.
pub async fn logout(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let secure = if state.behind_tls { "; Secure" } else { "" };
    let clear = [(header::SET_COOKIE, format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"))];
    let who = match (&state.auth, presented_token(&headers)) {
        (Some(sessions), Some(token)) => sessions.logout(&token),
        _ => None,
    };
    if let Some(who) = who {
        let _ = audit(&state, &who, "logout", &who.name, "accepted", serde_json::Value::Null).await;
    }
    (clear, StatusCode::NO_CONTENT).into_response()
}

/// `GET /api/v1/auth/me`: who the session is, and whether logins are on.
pub async fn me(State(state): State<ApiState>, Viewer(p): Viewer) -> Response {
    Json(serde_json::json!({"user": p.name, "role": p.role, "auth": state.auth.is_some()})).into_response()
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct AuditQuery {
    /// How many entries, newest first.
    #[schemars(range(min = 1, max = 5000), extend("default" = 200))]
    limit: Option<usize>,
}

/// `GET /api/v1/audit?limit=`: newest first; operators and admins.
pub async fn audit_log(State(state): State<ApiState>, Query(q): Query<AuditQuery>) -> Response {
    let limit = q.limit.unwrap_or(200);
    if !(1..=5_000).contains(&limit) {
        return error(StatusCode::BAD_REQUEST, "limit: must be within 1..=5000");
    }
    match with_store(&state, move |s| s.audit(limit)).await {
        Ok(rows) => Json(rows).into_response(),
        Err(r) => r.into_response(),
    }
}
