//! Alerts: the list (newest first) and an operator's acknowledgement (audited).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::ApiState;
use super::access::{Operator, audit};
use super::error::error;
use crate::clock::now_ms;

#[derive(Deserialize, schemars::JsonSchema)]
pub struct AlertQuery {
    /// Only the alerts still active (not cleared); default: all.
    active: Option<bool>,
}

/// `GET /api/v1/alerts?active=true`: newest first.
pub async fn alerts(State(state): State<ApiState>, Query(q): Query<AlertQuery>) -> Response {
    Json(state.hub.alerts().list(q.active.unwrap_or(false))).into_response()
}

/// `POST /api/v1/alerts/{id}/ack`: operator role; audited.
pub async fn ack_alert(State(state): State<ApiState>, Operator(who): Operator, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return error(StatusCode::BAD_REQUEST, format!("alert id {id:?} is not a number"));
    };
    if !state.hub.alerts().list(false).iter().any(|a| a.id == id) {
        return error(StatusCode::NOT_FOUND, format!("no alert {id}"));
    }
    if let Err(r) = audit(&state, &who, "alert_ack", &id.to_string(), "accepted", serde_json::Value::Null).await {
        return r.into_response();
    }
    let result = state.hub.alerts().ack(id, &who.name, now_ms());
    match result {
        Ok(alert) => {
            state.hub.acked(alert.clone());
            Json(alert).into_response()
        }
        Err(crate::alerts::AckError::AlreadyAcked(by)) => {
            error(StatusCode::CONFLICT, format!("alert {id} was already acknowledged by {by}"))
        }
        Err(crate::alerts::AckError::Unknown) => error(StatusCode::NOT_FOUND, format!("no alert {id}")),
    }
}
