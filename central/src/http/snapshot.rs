//! A camera's picture on an operator's request, and the geometry check the editor runs
//! while an operator draws on it.
//!
//! - `POST …/snapshot` (`{"annotated": bool}`, default false: the picture the editor draws
//!   on): operator role; audited before it is sent (`snapshot_request`: no picture leaves a
//!   box without a record of who asked); waits for the agent. 200 with the picture's
//!   metadata, 409 when the camera refuses (its `allow_snapshots = false`), 504 when it
//!   does not answer in time, saying when the camera was last heard from.
//! - `GET …/snapshot`: the latest picture's metadata; `GET …/snapshot.jpg`: the JPEG.
//!   Both 404 until one has arrived (central keeps them in memory only).
//! - `POST …/config/check` (a `Geometry`): the problems `PUT …/config` would refuse it for,
//!   and the points outside the latest picture's frame (the agent's refusal), each with
//!   its field path; nothing is saved.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::camera_config::Geometry;
use serde::Deserialize;

use super::ApiState;
use super::access::{Operator, audit};
use super::common::{json_body, known_camera, with_store};
use super::error::ApiError;
use crate::clock::now_ms;
use crate::snapshots::{Answer, SnapshotError};

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotAsk {
    /// Draw the running lines, zones, boxes and track ids on it (default false).
    #[serde(default)]
    annotated: bool,
}

/// `POST /api/v1/cameras/{id}/snapshot`; operator role.
pub async fn ask(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Operator(who): Operator,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    known_camera(&state, &id).await?;
    let ask: SnapshotAsk =
        if body.iter().all(u8::is_ascii_whitespace) { SnapshotAsk::default() } else { json_body(&body)? };
    let detail = serde_json::json!({ "annotated": ask.annotated });
    audit(&state, &who, "snapshot_request", &id, "requested", detail).await?;
    match state.snapshots.ask(&id, ask.annotated, state.snapshot_timeout).await {
        Ok(Answer::Taken(picture)) => Ok(Json(picture).into_response()),
        Ok(Answer::Refused(reason)) => {
            Err(ApiError::new(StatusCode::CONFLICT, format!("camera {id} refused the snapshot: {reason}")))
        }
        Err(SnapshotError::NoAnswer(s)) => {
            Err(ApiError::new(StatusCode::GATEWAY_TIMEOUT, no_answer(&state, &id, s).await))
        }
        Err(e) => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("snapshot not requested: {e}"))),
    }
}

/// Why a camera may not have answered, with when central last heard from it.
async fn no_answer(state: &ApiState, id: &str, waited_s: u64) -> String {
    let camera = id.to_string();
    let last = with_store(state, move |s| Ok(s.cameras()?.into_iter().find(|c| c.camera_id == camera)))
        .await
        .ok()
        .flatten()
        .map(|c| c.last_seen_ms);
    let heard = match last {
        Some(ms) => format!("last heard from {} s ago", (now_ms() - ms).max(0) / 1000),
        None => "never heard from".to_string(),
    };
    format!(
        "camera {id} did not answer within {waited_s} s ({heard}): its agent is offline, cannot reach the \
         broker, or has no frames"
    )
}

/// `GET /api/v1/cameras/{id}/snapshot`.
pub async fn latest(State(state): State<ApiState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let picture = state.snapshots.latest(&id).ok_or_else(|| none_yet(&id))?;
    Ok(Json(picture).into_response())
}

/// `GET /api/v1/cameras/{id}/snapshot.jpg`.
pub async fn latest_jpeg(State(state): State<ApiState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let picture = state.snapshots.latest(&id).ok_or_else(|| none_yet(&id))?;
    // A picture of a road: never cached by the browser or a proxy.
    let jpeg = axum::body::Bytes::copy_from_slice(&picture.jpeg);
    Ok(([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "no-store")], jpeg).into_response())
}

fn none_yet(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("no snapshot of camera {id} since central started"))
}

/// `POST /api/v1/cameras/{id}/config/check`: a `Geometry`'s problems (empty: it would
/// save), and the points outside the latest picture's frame (the agent refuses those).
pub async fn check(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    protocol::topics::check_id(&id).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("camera id: {e}")))?;
    let geometry: Geometry = json_body(&body)?;
    let mut problems = geometry.problems();
    let frame = state.snapshots.latest(&id).map(|p| (p.frame_width, p.frame_height));
    if let Some((width, height)) = frame {
        problems.extend(geometry.frame_problems(width, height));
    }
    Ok(Json(serde_json::json!({ "problems": problems, "frame": frame })).into_response())
}
