//! HTTP API for the traffic control centre (axum):
//!
//! - `GET /api/v1/cameras`: every camera with its status, last_seen, fps, coverage.
//! - `GET /api/v1/cameras/{id}/counts?from=&to=`: stored intervals overlapping
//!   `[from, to)` (RFC 3339 or Unix milliseconds; default the last hour) and the `gaps`
//!   no interval covers, so "camera down" never reads as "no traffic".
//! - `GET /api/v1/export/counts?camera=&from=&to=&format=csv|json`: open data (see `export`).
//! - `GET /api/v1/feeds/police/stream`: the police feed, SSE, bearer token (see `police`).
//! - `GET /api/v1/public/congestion`: the unauthenticated public feed (see `public`).
//! - `GET /api/openapi.json`: this API as OpenAPI 3.1 (see `openapi`; `ROUTES` lists
//!   every route, keep it in step with `router`).
//! - `GET /healthz`: 200 when the store answers and the MQTT session is up, else 503.
//! - `GET /metrics`: Prometheus text.
//!
//! Store reads run on the blocking pool through the API's own store connection.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::ingest::now_ms;
use crate::metrics::Metrics;
use crate::store::{CameraRow, Store, StoredInterval, gaps};

#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<Mutex<Box<dyn Store>>>,
    pub metrics: Arc<Metrics>,
    pub silent_after_ms: i64,
    pub forecasts: crate::forecast::Latest,
    pub signals: Option<SignalsApi>,
    /// Rate limiter of the public feed (`None`: unlimited).
    pub public: Option<crate::public::PublicFeed>,
    /// The police feed (present when `[police]` is configured).
    pub police: Option<Arc<crate::police::PoliceFeed>>,
    /// Operator sessions (present when `[auth]` is configured).
    pub auth: Option<Arc<crate::auth::Sessions>>,
    /// Live events and the alert list.
    pub hub: Arc<crate::live::Hub>,
    pub map: Arc<crate::dashboard::MapSettings>,
    pub dashboard_dir: std::path::PathBuf,
}

/// What the junction endpoints need (present when `[signals]` is configured).
#[derive(Clone)]
pub struct SignalsApi {
    pub junctions: crate::signals::Junctions,
    pub retimer: Arc<Mutex<crate::signals::Retimer>>,
    /// Bearer token standing for an operator (scripts, bridges); `None`: sessions only.
    pub override_token: Option<String>,
    /// Set to make the signal worker run a round now (an override goes out at once).
    pub round_now: Arc<std::sync::atomic::AtomicBool>,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/cameras", get(cameras))
        .route("/api/v1/cameras/{id}/counts", get(counts))
        .route("/api/v1/cameras/{id}/forecast", get(forecast))
        .route("/api/v1/junctions", get(junctions))
        .route("/api/v1/junctions/{id}", get(junction))
        .route("/api/v1/junctions/{id}/override", axum::routing::post(override_plan).delete(cancel_override))
        .route("/api/v1/junctions/{id}/detectors", get(crate::detectors::detectors))
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/alerts/{id}/ack", axum::routing::post(ack_alert))
        .route("/api/v1/overview", get(crate::dashboard::overview))
        .route("/api/v1/map", get(map))
        .route("/api/v1/live", get(crate::live::stream))
        .route("/api/v1/auth/login", axum::routing::post(crate::auth::login))
        .route("/api/v1/auth/logout", axum::routing::post(crate::auth::logout))
        .route("/api/v1/auth/me", get(crate::auth::me))
        .route("/api/v1/audit", get(crate::auth::audit_log))
        .route("/", get(crate::dashboard::index))
        .route("/ui/{*path}", get(crate::dashboard::file))
        .route("/api/v1/public/congestion", get(crate::public::congestion))
        .route("/api/v1/export/counts", get(crate::export::counts))
        .route("/api/v1/feeds/police/stream", get(crate::police::stream))
        .route("/api/openapi.json", get(crate::openapi::serve))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Most intervals one request returns (a day of 1-minute intervals is 1,440).
const MAX_INTERVALS: usize = 10_000;

pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    ApiError::new(status, message).into_response()
}

/// A refused request: its status and the message that becomes `{"error": ...}`. Helpers return it
/// so handlers can use `?`; it stays small (a status and a string) where a `Response` would not.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError { status, message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(serde_json::json!({ "error": self.message }))).into_response()
    }
}

pub(crate) async fn with_store<T: Send + 'static>(
    state: &ApiState,
    f: impl FnOnce(&mut dyn Store) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = store.lock().unwrap_or_else(|e| e.into_inner());
        f(guard.as_mut())
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))
}

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
}

pub(crate) fn rfc3339(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

/// What the API calls a camera's status: what its agent said, or `silent` when nothing
/// was heard for `silent_after_ms` (and it did not say offline).
pub(crate) fn camera_status(c: &CameraRow, now: i64, silent_after_ms: i64) -> String {
    if now - c.last_seen_ms > silent_after_ms && c.state != "offline" { "silent".to_string() } else { c.state.clone() }
}

fn view(c: CameraRow, now: i64, silent_after_ms: i64) -> CameraView {
    let status = camera_status(&c, now, silent_after_ms);
    CameraView {
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
    }
}

/// 401/403 unless the request may read the operator API.
fn viewer(state: &ApiState, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    crate::auth::require(state, headers, crate::auth::Role::Viewer).map(|_| ())
}

async fn cameras(State(state): State<ApiState>, headers: axum::http::HeaderMap) -> Response {
    if let Err(r) = viewer(&state, &headers) {
        return r.into_response();
    }
    match with_store(&state, |s| s.cameras()).await {
        Ok(rows) => {
            let now = now_ms();
            Json(rows.into_iter().map(|c| view(c, now, state.silent_after_ms)).collect::<Vec<_>>()).into_response()
        }
        Err(r) => r.into_response(),
    }
}

#[derive(Deserialize)]
struct Range {
    from: Option<String>,
    to: Option<String>,
}

/// `[from, to)` from optional query values: `to` defaults to now, `from` to
/// `default_span_ms` before `to`'s default; 400 with the field when unreadable or empty.
pub(crate) fn time_range(from: Option<&str>, to: Option<&str>, default_span_ms: i64) -> Result<(i64, i64), ApiError> {
    let now = now_ms();
    let parse = |field: &str, v: Option<&str>, default: i64| v.map_or(Ok(default), |s| parse_time(field, s));
    match (parse("from", from, now - default_span_ms), parse("to", to, now)) {
        (Ok(f), Ok(t)) if f < t => Ok((f, t)),
        (Ok(_), Ok(_)) => Err(ApiError::new(StatusCode::BAD_REQUEST, "from must be before to")),
        (Err(e), _) | (_, Err(e)) => Err(ApiError::new(StatusCode::BAD_REQUEST, e)),
    }
}

/// Unix milliseconds or RFC 3339.
pub fn parse_time(field: &str, s: &str) -> Result<i64, String> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    humantime::parse_rfc3339_weak(s)
        .map(|t| t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0))
        .map_err(|e| format!("{field}: {s:?} is neither Unix milliseconds nor RFC 3339 ({e})"))
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
    gaps: Vec<Gap>,
    truncated: bool,
}

#[derive(Serialize)]
struct Gap {
    start_ms: i64,
    end_ms: i64,
}

async fn counts(
    State(state): State<ApiState>,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
    Query(range): Query<Range>,
) -> Response {
    if let Err(r) = viewer(&state, &headers) {
        return r.into_response();
    }
    if let Err(e) = protocol::topics::check_id(&id) {
        return error(StatusCode::BAD_REQUEST, format!("camera id: {e}"));
    }
    let (from, to) = match time_range(range.from.as_deref(), range.to.as_deref(), 3_600_000) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let camera = id.clone();
    let rows = match with_store(&state, move |s| s.counts(&camera, from, to, MAX_INTERVALS + 1)).await {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let truncated = rows.len() > MAX_INTERVALS;
    let rows: Vec<StoredInterval> = rows.into_iter().take(MAX_INTERVALS).collect();
    let gaps = if truncated { Vec::new() } else { gaps(&rows, from, to) };
    Json(CountsView {
        camera_id: id,
        from_ms: from,
        to_ms: to,
        gaps: gaps.into_iter().map(|(start_ms, end_ms)| Gap { start_ms, end_ms }).collect(),
        intervals: rows
            .into_iter()
            .map(|r| IntervalView { start: rfc3339(r.interval.start_ms), end: rfc3339(r.interval.end_ms), stored: r })
            .collect(),
        truncated,
    })
    .into_response()
}

async fn healthz(State(state): State<ApiState>) -> Response {
    let store_ok = with_store(&state, |s| s.ping()).await.is_ok();
    let mqtt_ok = state.metrics.mqtt_connected.get() == 1;
    let code = if store_ok && mqtt_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(serde_json::json!({ "store": store_ok, "mqtt": mqtt_ok }))).into_response()
}

async fn metrics(State(state): State<ApiState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}

/// The latest forecast of each of the camera's approaches (lines).
async fn forecast(State(state): State<ApiState>, headers: axum::http::HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = viewer(&state, &headers) {
        return r.into_response();
    }
    let latest = state.forecasts.lock().unwrap_or_else(|e| e.into_inner());
    match latest.get(&id) {
        Some(lines) => Json(serde_json::json!({ "camera_id": id, "approaches": lines.values().collect::<Vec<_>>() }))
            .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("no forecast for camera {id:?} yet (unknown camera, or no interval since central started)"),
        ),
    }
}

fn signals(state: &ApiState) -> Result<&SignalsApi, ApiError> {
    state
        .signals
        .as_ref()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "central times no junctions ([signals] is not configured)"))
}

async fn junctions(State(state): State<ApiState>, headers: axum::http::HeaderMap) -> Response {
    if let Err(r) = viewer(&state, &headers) {
        return r.into_response();
    }
    match signals(&state) {
        Ok(s) => Json(s.junctions.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect::<Vec<_>>())
            .into_response(),
        Err(r) => r.into_response(),
    }
}

async fn junction(State(state): State<ApiState>, headers: axum::http::HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = viewer(&state, &headers) {
        return r.into_response();
    }
    let s = match signals(&state) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    match s.junctions.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
        Some(v) => Json(v.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("junction {id:?} is not configured")),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideRequest {
    /// Green per stage of the junction's stage sequence, ms.
    greens_ms: Vec<u32>,
    /// How long the override lasts, seconds (1 s .. 8 h).
    duration_s: u32,
}

/// Operator override: validated like every plan, audited, then issued at once (the
/// signal worker is woken). Operator role (a session, or the override token).
async fn override_plan(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let s = match signals(&state) {
        Ok(s) => s.clone(),
        Err(r) => return r.into_response(),
    };
    let who = match crate::auth::require(&state, &headers, crate::auth::Role::Operator) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let req: OverrideRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("body: {e}")),
    };
    let detail = serde_json::json!({"greens_ms": req.greens_ms, "duration_s": req.duration_s});
    if !(1..=28_800).contains(&req.duration_s) {
        let _ = crate::auth::audit(&state, &who, "override", &id, "refused: duration_s out of range", detail).await;
        return error(StatusCode::BAD_REQUEST, "duration_s: must be within 1..=28800");
    }
    let now = now_ms();
    let until_ms = now + req.duration_s as i64 * 1000;
    let result = s.retimer.lock().unwrap_or_else(|e| e.into_inner()).set_override(&id, &req.greens_ms, until_ms, now);
    let outcome = match &result {
        Ok(()) => "accepted".to_string(),
        Err(e) => format!("refused: {e}"),
    };
    if matches!(result, Err(crate::signals::RetimeError::UnknownJunction(_))) {
        return error(StatusCode::NOT_FOUND, format!("junction {id:?} is not configured"));
    }
    if let Err(r) = crate::auth::audit(&state, &who, "override", &id, &outcome, detail).await {
        if result.is_ok() {
            let _ = s.retimer.lock().unwrap_or_else(|e| e.into_inner()).cancel_override(&id);
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
            if let Some(view) = s.junctions.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&id) {
                view.override_until_ms = Some(until_ms);
                view.override_by = Some(who.name.clone());
            }
            s.round_now.store(true, std::sync::atomic::Ordering::SeqCst);
            state.hub.junction_changed(&id);
            (StatusCode::ACCEPTED, Json(serde_json::json!({"junction_id": id, "until_ms": until_ms, "by": who.name})))
                .into_response()
        }
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    }
}

/// `DELETE …/override`: back to central's computed plan at once. Operator role.
async fn cancel_override(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    let s = match signals(&state) {
        Ok(s) => s.clone(),
        Err(r) => return r.into_response(),
    };
    let who = match crate::auth::require(&state, &headers, crate::auth::Role::Operator) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    if !s.junctions.lock().unwrap_or_else(|e| e.into_inner()).contains_key(&id) {
        return error(StatusCode::NOT_FOUND, format!("junction {id:?} is not configured"));
    }
    if let Err(r) = crate::auth::audit(&state, &who, "override_cancel", &id, "accepted", serde_json::Value::Null).await
    {
        return r.into_response();
    }
    let had = s.retimer.lock().unwrap_or_else(|e| e.into_inner()).cancel_override(&id).unwrap_or(false);
    if let Some(view) = s.junctions.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&id) {
        view.override_until_ms = None;
        view.override_by = None;
    }
    s.round_now.store(true, std::sync::atomic::Ordering::SeqCst);
    state.hub.junction_changed(&id);
    Json(serde_json::json!({"junction_id": id, "cancelled": had})).into_response()
}

#[derive(Deserialize)]
struct AlertQuery {
    active: Option<bool>,
}

/// `GET /api/v1/alerts?active=true`: newest first.
async fn alerts(
    State(state): State<ApiState>,
    headers: axum::http::HeaderMap,
    Query(q): Query<AlertQuery>,
) -> Response {
    if let Err(r) = viewer(&state, &headers) {
        return r.into_response();
    }
    Json(state.hub.alerts().list(q.active.unwrap_or(false))).into_response()
}

/// `POST /api/v1/alerts/{id}/ack`: operator role; audited.
async fn ack_alert(State(state): State<ApiState>, headers: axum::http::HeaderMap, Path(id): Path<String>) -> Response {
    let who = match crate::auth::require(&state, &headers, crate::auth::Role::Operator) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let Ok(id) = id.parse::<u64>() else {
        return error(StatusCode::BAD_REQUEST, format!("alert id {id:?} is not a number"));
    };
    if !state.hub.alerts().list(false).iter().any(|a| a.id == id) {
        return error(StatusCode::NOT_FOUND, format!("no alert {id}"));
    }
    if let Err(r) =
        crate::auth::audit(&state, &who, "alert_ack", &id.to_string(), "accepted", serde_json::Value::Null).await
    {
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

/// `GET /api/v1/map`: where cameras and junctions are (`[map]`).
async fn map(State(state): State<ApiState>, headers: axum::http::HeaderMap) -> Response {
    if let Err(r) = viewer(&state, &headers) {
        return r.into_response();
    }
    Json(serde_json::json!({"cameras": state.map.cameras, "junctions": state.map.junctions})).into_response()
}
