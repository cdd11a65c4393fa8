//! `GET /api/v1/junctions/{id}/detectors?from=&to=`: an NTCIP 1202-style volume /
//! occupancy view of a junction — one "detector" per camera line that measures an
//! approach (the junction profile's `approach.cameras`), with, per stored interval, the
//! volume (vehicles over the line, both directions, all classes) and, where the approach
//! names a camera zone, that zone's mean and peak occupancy and longest standing queue.
//!
//! Occupancy here is vehicles in the zone (mean over processed frames), not NTCIP's
//! percent of time a loop is occupied: a camera zone holds several vehicles at once, so
//! the loop measure does not carry over. Intervals a camera did not cover are `gaps`, as
//! everywhere: a down camera is never a zero volume.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::ApiState;
use super::common::{TimeRange, time_range, with_store};
use super::error::error;
use crate::availability::availability;
use crate::clock::now_ms;

#[derive(Serialize)]
struct Period {
    start_ms: i64,
    end_ms: i64,
    coverage: f64,
    volume: u32,
    /// Volume scaled to an hour of covered time.
    flow_per_hour: f64,
    occupancy_mean_vehicles: Option<f64>,
    occupancy_max_vehicles: Option<u32>,
    queue_max_vehicles: Option<u32>,
}

#[derive(Serialize)]
struct Detector {
    approach: String,
    camera_id: String,
    line: String,
    zone: Option<String>,
    periods: Vec<Period>,
    /// Start of the camera's first stored interval (`null`: none yet, so no record and
    /// no gaps: not a zero volume either).
    since_ms: Option<i64>,
    /// Spans the camera should have covered and did not.
    gaps: Vec<[i64; 2]>,
}

/// Intervals per camera one request reads (a day of 1-minute intervals).
const MAX_PER_CAMERA: usize = 1_440;

pub async fn detectors(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Query(range): Query<TimeRange>,
) -> Response {
    let Some(signals) = state.signals.clone() else {
        return error(StatusCode::NOT_FOUND, "central times no junctions ([signals] is not configured)");
    };
    let (from, to) = match time_range(range.from.as_deref(), range.to.as_deref(), 3_600_000) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let wanted: Vec<(String, firmware_profiles::junction::CameraLine)> = {
        let Some(profile) = signals.profiles.get(&id) else {
            return error(StatusCode::NOT_FOUND, format!("junction {id:?} is not configured"));
        };
        profile.approaches.iter().flat_map(|a| a.cameras.iter().map(|c| (a.id.clone(), c.clone()))).collect()
    };
    let cameras: Vec<String> = wanted.iter().map(|(_, c)| c.camera.clone()).collect();
    let rows = match with_store(&state, move |s| {
        cameras
            .iter()
            .map(|c| Ok((s.counts(c, from, to, MAX_PER_CAMERA)?, s.first_interval_ms(c)?)))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let now = now_ms();
    let detectors: Vec<Detector> = wanted
        .into_iter()
        .zip(rows)
        .map(|((approach, cam), (intervals, since))| {
            let periods = intervals
                .iter()
                .map(|s| {
                    let i = &s.interval;
                    let volume = i.lines.get(&cam.line).map_or(0, |d| d.forward.total() + d.backward.total());
                    let covered_h = (i.end_ms - i.start_ms) as f64 * i.coverage / 3_600_000.0;
                    let zone = cam.zone.as_ref().and_then(|z| i.zones.get(z));
                    Period {
                        start_ms: i.start_ms,
                        end_ms: i.end_ms,
                        coverage: i.coverage,
                        volume,
                        flow_per_hour: if covered_h > 0.0 { volume as f64 / covered_h } else { 0.0 },
                        occupancy_mean_vehicles: zone.map(|z| z.occupancy_mean),
                        occupancy_max_vehicles: zone.map(|z| z.occupancy_max),
                        queue_max_vehicles: zone.map(|z| z.queue_max),
                    }
                })
                .collect();
            let seen = availability(&intervals, from, to, since, now, state.silent_after_ms);
            let gaps = seen.gaps.into_iter().map(|(a, b)| [a, b]).collect();
            Detector { approach, camera_id: cam.camera, line: cam.line, zone: cam.zone, periods, since_ms: since, gaps }
        })
        .collect();
    Json(serde_json::json!({"junction_id": id, "from_ms": from, "to_ms": to, "detectors": detectors})).into_response()
}
