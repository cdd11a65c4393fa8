//! The operator dashboard: its static files and the one-call overview it polls.
//!
//! The page code lives in `central/web/app/` (plain ES modules, no build step); the map
//! (Leaflet, no tile layer: cameras and junctions on a schematic from their configured
//! coordinates, so it works with no internet) and the charts (uPlot) come from npm into
//! `central/web/node_modules` (`scripts/setup.sh` runs `npm ci`). Only the files in
//! `ASSETS` are served, so no path from the request ever reaches the file system.
//!
//! `[map]` places cameras and junctions; a camera that reports but is not placed is
//! still listed (without a position), and a placed camera that never reported is listed
//! as `unknown` — never silently missing.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::config::Place;

use super::ApiState;
use super::common::with_store;
use super::error::error;

/// URL path → (file under the dashboard directory, content type).
const ASSETS: &[(&str, &str, &str)] = &[
    ("index.html", "app/index.html", "text/html; charset=utf-8"),
    ("app.js", "app/app.js", "text/javascript; charset=utf-8"),
    ("views.js", "app/views.js", "text/javascript; charset=utf-8"),
    ("i18n.js", "app/i18n.js", "text/javascript; charset=utf-8"),
    ("editor.js", "app/editor.js", "text/javascript; charset=utf-8"),
    ("style.css", "app/style.css", "text/css; charset=utf-8"),
    ("vendor/leaflet.js", "node_modules/leaflet/dist/leaflet.js", "text/javascript; charset=utf-8"),
    ("vendor/leaflet.css", "node_modules/leaflet/dist/leaflet.css", "text/css; charset=utf-8"),
    ("vendor/uplot.js", "node_modules/uplot/dist/uPlot.iife.min.js", "text/javascript; charset=utf-8"),
    ("vendor/uplot.css", "node_modules/uplot/dist/uPlot.min.css", "text/css; charset=utf-8"),
];

/// `GET /` and `GET /ui/{file}`.
pub async fn index(State(state): State<ApiState>) -> Response {
    asset(&state, "index.html").await
}

pub async fn file(State(state): State<ApiState>, Path(path): Path<String>) -> Response {
    asset(&state, &path).await
}

async fn asset(state: &ApiState, path: &str) -> Response {
    let Some((_, file, content_type)) = ASSETS.iter().find(|(p, _, _)| *p == path) else {
        return error(StatusCode::NOT_FOUND, format!("no dashboard file {path:?}"));
    };
    let full = state.dashboard_dir.join(file);
    match tokio::task::spawn_blocking({
        let f = full.clone();
        move || std::fs::read(f)
    })
    .await
    .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    {
        // Re-validated on every load: an upgrade of central shows at the next reload.
        Ok(bytes) => {
            ([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, "no-cache")], bytes).into_response()
        }
        Err(e) => {
            tracing::warn!(
                file = %full.display(),
                error = %e,
                "dashboard file missing (run scripts/setup.sh: it installs the npm packages)"
            );
            error(StatusCode::NOT_FOUND, format!("dashboard file {} is missing: {e}", full.display()))
        }
    }
}

#[derive(Serialize)]
struct OverviewCamera {
    camera_id: String,
    name: String,
    lat: Option<f64>,
    lon: Option<f64>,
    status: String,
    last_seen_ms: Option<i64>,
    fps: f64,
    coverage: f64,
    /// Worst current level over the camera's approaches (A–F), if forecast.
    level: Option<protocol::forecast::CongestionLevel>,
    /// Worst 15/30-minute forecast level.
    level_ahead: Option<protocol::forecast::CongestionLevel>,
    /// Newest config version saved and the one the agent runs (0: its file config / unknown).
    config_version: u64,
    running_config_version: u64,
    #[serde(flatten)]
    box_facts: super::cameras::BoxFacts,
}

#[derive(Serialize)]
struct OverviewJunction {
    junction_id: String,
    name: String,
    lat: Option<f64>,
    lon: Option<f64>,
    /// `central`, `local` (its fallback plan), or null before any status.
    source: Option<protocol::plan::PlanSource>,
    cycle_ms: Option<u32>,
    rejected: bool,
}

/// `GET /api/v1/overview`: every camera and junction with position, status and level,
/// in one request (the overview refreshes it and listens to `/api/v1/live`).
pub async fn overview(State(state): State<ApiState>) -> Response {
    let (rows, configs) = match with_store(&state, |s| Ok((s.cameras()?, s.config_versions()?))).await {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let now = crate::clock::now_ms();
    let place = |id: &str, places: &[Place]| places.iter().find(|p| p.id == id).cloned();
    let mut cameras: Vec<OverviewCamera> = Vec::new();
    let mut ids: Vec<String> = state.map.cameras.iter().map(|p| p.id.clone()).collect();
    ids.extend(rows.iter().map(|r| r.camera_id.clone()).filter(|id| !state.map.cameras.iter().any(|p| &p.id == id)));
    let forecasts = state.forecasts.lock().clone();
    let snapshots = state.snapshots.received_times();
    for id in ids {
        let p = place(&id, &state.map.cameras);
        let row = rows.iter().find(|r| r.camera_id == id);
        let lines = forecasts.get(&id);
        let level = lines.and_then(|l| l.values().filter_map(|r| r.current_level).max());
        let level_ahead = lines.and_then(|l| {
            l.values().flat_map(|r| r.horizons.iter().filter(|h| h.minutes <= 30).filter_map(|h| h.level)).max()
        });
        cameras.push(OverviewCamera {
            name: p.as_ref().map_or(String::new(), |p| p.name.clone()),
            lat: p.as_ref().map(|p| p.lat),
            lon: p.as_ref().map(|p| p.lon),
            status: row.map_or("unknown".into(), |r| super::cameras::camera_status(r, now, state.silent_after_ms)),
            last_seen_ms: row.map(|r| r.last_seen_ms),
            fps: row.map_or(0.0, |r| r.fps),
            coverage: row.map_or(0.0, |r| r.coverage),
            config_version: configs.get(&id).map_or(0, |c| c.latest),
            running_config_version: configs.get(&id).map_or(0, |c| c.running),
            box_facts: super::cameras::BoxFacts::of(row, snapshots.get(&id).copied()),
            camera_id: id,
            level,
            level_ahead,
        });
    }
    let mut junctions = Vec::new();
    if let Some(signals) = &state.signals {
        let views = signals.views.borrow().clone();
        for (id, v) in views.iter() {
            let p = place(id, &state.map.junctions);
            junctions.push(OverviewJunction {
                junction_id: id.clone(),
                name: p.as_ref().map_or(String::new(), |p| p.name.clone()),
                lat: p.as_ref().map(|p| p.lat),
                lon: p.as_ref().map(|p| p.lon),
                source: v.status.as_ref().map(|s| s.source),
                cycle_ms: v.status.as_ref().map(|s| s.cycle_ms),
                rejected: v.acks.front().is_some_and(|a| a.outcome == protocol::plan::PlanOutcome::Rejected),
            });
        }
    }
    let active_alerts = state.hub.alerts().list(true).len();
    Json(serde_json::json!({"cameras": cameras, "junctions": junctions, "active_alerts": active_alerts, "now_ms": now}))
        .into_response()
}

/// `GET /api/v1/map`: where cameras and junctions are (`[map]`), each camera's road
/// (null when not configured) and the time zone the cameras are in.
pub async fn map(State(state): State<ApiState>) -> Response {
    let cameras: Vec<serde_json::Value> = state
        .map
        .cameras
        .iter()
        .map(|p| serde_json::json!({"id": p.id, "name": p.name, "lat": p.lat, "lon": p.lon, "road": p.road}))
        .collect();
    Json(serde_json::json!({"cameras": cameras, "junctions": state.map.junctions, "timezone": state.map.timezone}))
        .into_response()
}
