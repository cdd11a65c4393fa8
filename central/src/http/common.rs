//! Helpers every resource shares: store access on the blocking pool, JSON bodies, time
//! ranges from query values, RFC 3339 rendering.

use axum::http::StatusCode;

use super::ApiState;
use super::error::ApiError;
use crate::clock::now_ms;
use crate::store::Store;

/// Most intervals one request returns (a day of 1-minute intervals is 1,440).
pub const MAX_INTERVALS: usize = 10_000;

pub async fn with_store<T: Send + 'static>(
    state: &ApiState,
    f: impl FnOnce(&mut dyn Store) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = store.lock();
        f(guard.as_mut())
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(ApiError::from)
}

/// A JSON request body as `T`: 400 saying what is wrong (serde names the field and where).
pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("body: {e}")))
}

pub fn rfc3339(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

/// The `from` and `to` of a read over a period (`?from=&to=`).
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct TimeRange {
    /// RFC 3339 or Unix milliseconds; default: an hour before `to`.
    pub from: Option<String>,
    /// RFC 3339 or Unix milliseconds (exclusive); default: now.
    pub to: Option<String>,
}

/// `[from, to)` from optional query values: `to` defaults to now, `from` to
/// `default_span_ms` before `to`'s default; 400 with the field when unreadable or empty.
pub fn time_range(from: Option<&str>, to: Option<&str>, default_span_ms: i64) -> Result<(i64, i64), ApiError> {
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

/// 400 for an id that cannot be a topic segment, 404 for a camera central does not know.
pub async fn known_camera(state: &ApiState, id: &str) -> Result<(), ApiError> {
    protocol::topics::check_id(id).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("camera id: {e}")))?;
    if state.map.cameras.iter().any(|p| p.id == id) {
        return Ok(());
    }
    let rows = with_store(state, |s| s.cameras()).await?;
    if rows.iter().any(|r| r.camera_id == id) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("camera {id:?} is unknown (not on the map, and never heard from)"),
        ))
    }
}
