//! A camera's counting geometry, versioned: read it with its history, save a new version,
//! roll back to an old one. Saving and rolling back need the operator role; each is one
//! transaction with its audit entry (`config_save` / `config_rollback`, target the camera,
//! detail the version), then published retained to the camera's agent (`config_push`).
//!
//! - `GET …/config`: latest version and geometry, the version the agent runs (from its
//!   acks; 0 = its file config, or no answer yet), history newest first.
//! - `PUT …/config` (a `Geometry`): 422 with `problems` (`[{path, message}]`) when
//!   `Geometry::problems` finds any, or a point lies outside the latest snapshot's frame,
//!   and nothing is saved or published; else the next version.
//! - `POST …/config/rollback` (`{"version": N}`): version N's geometry as a new version
//!   (max + 1), since agents refuse versions not newer than the one they run; 404 when N
//!   was never saved.
//!
//! A camera is known when it is placed on the map (`[map]`: configured ahead of its first
//! report) or central has heard from it; any other id is 404, so a typo cannot leave a
//! retained config on the broker for a camera that does not exist.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use protocol::camera_config::{ConfigPush, Geometry};
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::access::{Operator, audit};
use super::common::{json_body, known_camera, with_store};
use super::error::{ApiError, error};
use crate::auth::Principal;
use crate::clock::now_ms;
use crate::store::{AuditEntry, ConfigVersion, NewConfig, StoreError};

/// Versions listed in the history.
const HISTORY: usize = 100;

#[derive(Serialize)]
struct ConfigView {
    camera_id: String,
    /// Newest saved version (0: none).
    version: u64,
    /// Its geometry (absent when none is saved).
    geometry: Option<Geometry>,
    /// What the agent last said it runs (0: its file config, or no answer yet).
    running_version: u64,
    history: Vec<ConfigVersion>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// The saved version whose geometry is pushed again, as a new version.
    #[schemars(range(min = 1))]
    version: u64,
}

/// `GET /api/v1/cameras/{id}/config`.
pub async fn get_config(State(state): State<ApiState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    known_camera(&state, &id).await?;
    let camera = id.clone();
    let (history, versions) = with_store(&state, move |s| {
        // The running version first: an ack commits its version's state and the running
        // version together, so a history read after it is at least as new (read the other
        // way round, a running version could show beside its version still "pending").
        let versions = s.config_versions()?.remove(&camera).unwrap_or_default();
        Ok((s.config_history(&camera, HISTORY)?, versions))
    })
    .await?;
    let geometry = match history.first() {
        Some(latest) => Some(serde_json::from_str(&latest.geometry).map_err(StoreError::from)?),
        None => None,
    };
    Ok(Json(ConfigView {
        camera_id: id,
        version: history.first().map_or(0, |v| v.version),
        geometry,
        running_version: versions.running,
        history,
    })
    .into_response())
}

/// `PUT /api/v1/cameras/{id}/config`: a `Geometry`; operator role.
pub async fn put_config(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Operator(who): Operator,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    known_camera(&state, &id).await?;
    let geometry: Geometry = json_body(&body)?;
    let mut problems = geometry.problems();
    // Points outside the frame of the camera's latest picture: the agent would refuse them.
    if let Some(p) = state.snapshots.latest(&id) {
        problems.extend(geometry.frame_problems(p.frame_width, p.frame_height));
    }
    if !problems.is_empty() {
        let detail = serde_json::json!({ "problems": problems });
        let _ = audit(&state, &who, "config_save", &id, "refused: invalid geometry", detail).await;
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({
                "error": format!("the geometry has {} problem(s)", problems.len()),
                "problems": problems,
            })),
        )
            .into_response());
    }
    save_and_push(&state, &who, id, geometry, None).await
}

/// `POST /api/v1/cameras/{id}/config/rollback` `{"version": N}`; operator role.
pub async fn rollback(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Operator(who): Operator,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    known_camera(&state, &id).await?;
    let req: RollbackRequest = json_body(&body)?;
    let camera = id.clone();
    let Some(json) = with_store(&state, move |s| s.config_geometry(&camera, req.version)).await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("camera {id:?} has no config version {}", req.version),
        ));
    };
    let geometry: Geometry = serde_json::from_str(&json).map_err(StoreError::from)?;
    save_and_push(&state, &who, id, geometry, Some(req.version)).await
}

/// Saves the next version with its audit entry, then publishes it retained.
async fn save_and_push(
    state: &ApiState,
    who: &Principal,
    camera_id: String,
    geometry: Geometry,
    rollback_of: Option<u64>,
) -> Result<Response, ApiError> {
    let now = now_ms();
    let config = NewConfig {
        camera_id: camera_id.clone(),
        geometry: serde_json::to_string(&geometry).expect("serialisable"),
        author: who.name.clone(),
        created_ms: now,
        rollback_of,
    };
    let (actor, role) = (who.name.clone(), who.role.as_str().to_string());
    let action = if rollback_of.is_some() { "config_rollback" } else { "config_save" };
    let version = with_store(state, move |s| {
        let entry = |version: u64| AuditEntry {
            id: 0,
            at_ms: now,
            actor: actor.clone(),
            role: role.clone(),
            action: action.into(),
            target: config.camera_id.clone(),
            outcome: "accepted".into(),
            detail: serde_json::json!({ "version": version, "rollback_to": rollback_of }).to_string(),
        };
        s.save_config(&config, &entry)
    })
    .await
    .inspect_err(|_| tracing::error!(actor = %who.name, camera = %camera_id, "camera config not saved"))?;
    tracing::info!(camera = %camera_id, version, user = %who.name, rollback_to = ?rollback_of, "camera config saved");
    let push = ConfigPush { camera_id: camera_id.clone(), version, geometry };
    // `Ok(false)`: a newer save went out first; the broker keeps that one, as it should.
    if let Err(e) = state.configs.publish(&push).await {
        return Ok(error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("saved as version {version} but not published ({e}); save again to push it"),
        ));
    }
    Ok(Json(serde_json::json!({ "camera_id": camera_id, "version": version, "rollback_to": rollback_of }))
        .into_response())
}
