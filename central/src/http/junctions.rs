//! Junctions: what central last issued and heard for each, and the operator override
//! (validated like every plan, audited, issued at once).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::access::{Operator, audit};
use super::error::{ApiError, error};
use super::{ApiState, SignalsApi};
use crate::clock::now_ms;
use crate::signals::{JunctionView, SignalsCommand};

fn signals(state: &ApiState) -> Result<&SignalsApi, ApiError> {
    state
        .signals
        .as_ref()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "central times no junctions ([signals] is not configured)"))
}

/// `GET /api/v1/junctions`.
pub async fn junctions(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let s = signals(&state)?;
    let views = s.views.borrow().values().map(|v| JunctionView::clone(v)).collect::<Vec<_>>();
    Ok(Json(views).into_response())
}

/// `GET /api/v1/junctions/{id}`.
pub async fn junction(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    let s = match signals(&state) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let views = s.views.borrow().clone();
    let (Some(v), Some(profile)) = (views.get(&id), s.profiles.get(&id)) else {
        return error(StatusCode::NOT_FOUND, format!("junction {id:?} is not configured"));
    };
    // The view, plus the limits an override form must keep to (the same ones `validate`
    // enforces): the form shows and enforces them instead of letting a person guess.
    let mut body = serde_json::to_value(JunctionView::clone(v)).expect("serialisable");
    let rules = profile.rules();
    // Per stage of the template an override is built on: its movements and the greens it
    // may have (a pedestrian phase's walk and clearance must fit in its green).
    let stages: Vec<serde_json::Value> = profile
        .local_plan(0)
        .stages
        .iter()
        .map(|st| {
            let walking = st.pedestrian.as_ref().map_or(0, |p| p.walk_ms + p.clearance_ms);
            serde_json::json!({
                "movements": st.movements,
                "min_green_ms": st.min_green_ms.max(rules.min_green_ms).max(walking),
                "max_green_ms": st.max_green_ms.min(rules.max_green_ms),
            })
        })
        .collect();
    body["limits"] = serde_json::json!({
        "min_green_ms": rules.min_green_ms,
        "max_green_ms": rules.max_green_ms,
        "max_cycle_ms": rules.max_cycle_ms,
        "override_max_s": 28_800,
        "stages": stages,
    });
    Json(body).into_response()
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideRequest {
    /// Green per stage of the junction's stage sequence, ms.
    #[schemars(inner(range(max = 4_294_967_295u32)))]
    greens_ms: Vec<u32>,
    /// How long the override lasts, seconds (1 s .. 8 h).
    #[schemars(range(min = 1, max = 28800))]
    duration_s: u32,
}

/// Operator override: validated like every plan, audited, then issued at once (the
/// signal worker is woken). Operator role (a session, or the override token).
pub async fn override_plan(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Operator(who): Operator,
    body: axum::body::Bytes,
) -> Response {
    let s = match signals(&state) {
        Ok(s) => s.clone(),
        Err(r) => return r.into_response(),
    };
    let req: OverrideRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("body: {e}")),
    };
    let detail = serde_json::json!({"greens_ms": req.greens_ms, "duration_s": req.duration_s});
    if !(1..=28_800).contains(&req.duration_s) {
        let _ = audit(&state, &who, "override", &id, "refused: duration_s out of range", detail).await;
        return error(StatusCode::BAD_REQUEST, "duration_s: must be within 1..=28800");
    }
    let now = now_ms();
    let until_ms = now + req.duration_s as i64 * 1000;
    let (reply, answer) = tokio::sync::oneshot::channel();
    let command =
        SignalsCommand::SetOverride { junction: id.clone(), greens_ms: req.greens_ms.clone(), until_ms, reply };
    let Some(result) = ask(&s, command, answer).await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the signals worker is not running");
    };
    let outcome = match &result {
        Ok(()) => "accepted".to_string(),
        Err(e) => format!("refused: {e}"),
    };
    if matches!(result, Err(crate::signals::RetimeError::UnknownJunction(_))) {
        return error(StatusCode::NOT_FOUND, format!("junction {id:?} is not configured"));
    }
    if let Err(r) = audit(&state, &who, "override", &id, &outcome, detail).await {
        if result.is_ok() {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let _ = ask(&s, SignalsCommand::CancelOverride { junction: id.clone(), reply }, answer).await;
        }
        return r.into_response();
    }
    match result {
        Ok(()) => {
            tracing::info!(
                junction = %id,
                user = %who.name,
                greens_ms = ?req.greens_ms,
                duration_s = req.duration_s,
                "operator override accepted"
            );
            let _ = s.commands.send(SignalsCommand::OverrideAccepted {
                junction: id.clone(),
                until_ms,
                by: who.name.clone(),
            });
            (StatusCode::ACCEPTED, Json(serde_json::json!({"junction_id": id, "until_ms": until_ms, "by": who.name})))
                .into_response()
        }
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    }
}

/// `DELETE …/override`: back to central's computed plan at once. Operator role.
pub async fn cancel_override(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Operator(who): Operator,
) -> Response {
    let s = match signals(&state) {
        Ok(s) => s.clone(),
        Err(r) => return r.into_response(),
    };
    if !s.views.borrow().contains_key(&id) {
        return error(StatusCode::NOT_FOUND, format!("junction {id:?} is not configured"));
    }
    if let Err(r) = audit(&state, &who, "override_cancel", &id, "accepted", serde_json::Value::Null).await {
        return r.into_response();
    }
    let (reply, answer) = tokio::sync::oneshot::channel();
    let Some(had) = ask(&s, SignalsCommand::CancelOverride { junction: id.clone(), reply }, answer).await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the signals worker is not running");
    };
    let had = had.unwrap_or(false);
    Json(serde_json::json!({"junction_id": id, "cancelled": had})).into_response()
}

/// Sends `command` to the signals worker and waits for its answer; `None` when the worker
/// has stopped (shutdown) and will not answer.
async fn ask<T>(signals: &SignalsApi, command: SignalsCommand, answer: tokio::sync::oneshot::Receiver<T>) -> Option<T> {
    signals.commands.send(command).ok()?;
    answer.await.ok()
}
