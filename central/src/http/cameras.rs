//! Cameras: the list with each one's status, its stored counts with explicit gaps (a camera
//! that is down never reads as zero traffic), and its latest forecast. Each camera in the
//! list carries its newest saved config version and the one its agent runs (`camera_config`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::ApiState;
use super::common::{MAX_INTERVALS, TimeRange, known_camera, rfc3339, time_range, with_store};
use super::error::{ApiError, error};
use crate::availability::availability;
use crate::clock::now_ms;
use crate::store::{CameraRow, ConfigVersions, StoredInterval};

#[derive(Serialize)]
struct CameraView {
    camera_id: String,
    agent_id: String,
    /// online | degraded | offline (the agent said so or its last will fired) |
    /// silent (nothing heard for `silent_after_s`) | unknown (no status yet).
    status: String,
    last_seen: String,
    last_seen_ms: i64,
    fps: f64,
    coverage: f64,
    outbox_depth: u64,
    dropped: u64,
    intervals: u64,
    last_interval_end: Option<String>,
    /// Newest geometry version saved at central (0: none).
    config_version: u64,
    /// The version the agent last said it runs (0: its file config, or no answer yet).
    running_config_version: u64,
    #[serde(flatten)]
    box_facts: BoxFacts,
}

/// What the fleet view shows of a camera's box: its profile, model and calibration (from
/// its latest status) and when central last received a snapshot of it.
#[derive(Serialize, Default)]
pub struct BoxFacts {
    box_profile: Option<String>,
    model_id: Option<String>,
    /// Absent: not calibrated (no speeds).
    calibration: Option<protocol::messages::CalibrationInfo>,
    last_snapshot_ms: Option<i64>,
}

impl BoxFacts {
    pub fn of(row: Option<&CameraRow>, last_snapshot_ms: Option<i64>) -> BoxFacts {
        BoxFacts {
            box_profile: row.and_then(|r| r.box_profile.clone()),
            model_id: row.and_then(|r| r.model_id.clone()),
            calibration: row.and_then(|r| r.calibration),
            last_snapshot_ms,
        }
    }
}

/// What the API calls a camera's status: what its agent said, or `silent` when nothing
/// was heard for `silent_after_ms` (and it did not say offline).
pub fn camera_status(c: &CameraRow, now: i64, silent_after_ms: i64) -> String {
    if now - c.last_seen_ms > silent_after_ms && c.state != "offline" { "silent".to_string() } else { c.state.clone() }
}

fn view(c: CameraRow, config: ConfigVersions, now: i64, silent_after_ms: i64, snapshot: Option<i64>) -> CameraView {
    let status = camera_status(&c, now, silent_after_ms);
    let box_facts = BoxFacts::of(Some(&c), snapshot);
    CameraView {
        box_facts,
        last_seen: rfc3339(c.last_seen_ms),
        last_interval_end: c.last_interval_end_ms.map(rfc3339),
        camera_id: c.camera_id,
        agent_id: c.agent_id,
        status,
        last_seen_ms: c.last_seen_ms,
        fps: c.fps,
        coverage: c.coverage,
        outbox_depth: c.outbox_depth,
        dropped: c.dropped,
        intervals: c.intervals,
        config_version: config.latest,
        running_config_version: config.running,
    }
}

/// `GET /api/v1/cameras`.
pub async fn cameras(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let (rows, mut configs) = with_store(&state, |s| Ok((s.cameras()?, s.config_versions()?))).await?;
    let now = now_ms();
    let snapshots = state.snapshots.received_times();
    let views = rows.into_iter().map(|c| {
        let config = configs.remove(&c.camera_id).unwrap_or_default();
        let snapshot = snapshots.get(&c.camera_id).copied();
        view(c, config, now, state.silent_after_ms, snapshot)
    });
    Ok(Json(views.collect::<Vec<_>>()).into_response())
}

#[derive(Serialize)]
struct IntervalView {
    start: String,
    end: String,
    #[serde(flatten)]
    stored: StoredInterval,
}

#[derive(Serialize)]
struct CountsView {
    camera_id: String,
    from_ms: i64,
    to_ms: i64,
    intervals: Vec<IntervalView>,
    /// Start of the camera's first stored interval: nothing before it is a gap (`null`:
    /// it has never reported one, so there is no record to have gaps in).
    since_ms: Option<i64>,
    /// Spans the camera should have covered and did not (down, or its link).
    gaps: Vec<Gap>,
    /// The interval being counted now: reported at its end, not missing.
    in_progress: Option<Gap>,
    truncated: bool,
}

#[derive(Serialize)]
struct Gap {
    start_ms: i64,
    end_ms: i64,
}

/// `GET /api/v1/cameras/{id}/counts?from=&to=`.
pub async fn counts(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Query(range): Query<TimeRange>,
) -> Result<Response, ApiError> {
    let (from, to) = time_range(range.from.as_deref(), range.to.as_deref(), 3_600_000)?;
    known_camera(&state, &id).await?;
    let camera = id.clone();
    let (rows, since) = with_store(&state, move |s| {
        Ok((s.counts(&camera, from, to, MAX_INTERVALS + 1)?, s.first_interval_ms(&camera)?))
    })
    .await?;
    let truncated = rows.len() > MAX_INTERVALS;
    let rows: Vec<StoredInterval> = rows.into_iter().take(MAX_INTERVALS).collect();
    let mut seen = availability(&rows, from, to, since, now_ms(), state.silent_after_ms);
    if truncated {
        seen.gaps.clear();
    }
    let span = |(start_ms, end_ms)| Gap { start_ms, end_ms };
    Ok(Json(CountsView {
        camera_id: id,
        from_ms: from,
        to_ms: to,
        since_ms: seen.since_ms,
        gaps: seen.gaps.into_iter().map(span).collect(),
        in_progress: seen.in_progress.map(span),
        intervals: rows
            .into_iter()
            .map(|r| IntervalView { start: rfc3339(r.interval.start_ms), end: rfc3339(r.interval.end_ms), stored: r })
            .collect(),
        truncated,
    })
    .into_response())
}

/// The latest forecast of each of the camera's approaches (lines).
pub async fn forecast(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    let latest = state.forecasts.lock();
    match latest.get(&id) {
        Some(lines) => Json(serde_json::json!({ "camera_id": id, "approaches": lines.values().collect::<Vec<_>>() }))
            .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("no forecast for camera {id:?} yet (unknown camera, or no interval since central started)"),
        ),
    }
}
