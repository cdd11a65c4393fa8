//! Health and metrics, for load balancers and Prometheus (no credentials).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ApiState;
use super::common::with_store;

/// `GET /healthz`: 200 when the store answers and the MQTT session is up, else 503.
pub async fn healthz(State(state): State<ApiState>) -> Response {
    let store_ok = with_store(&state, |s| s.ping()).await.is_ok();
    let mqtt_ok = state.metrics.mqtt_connected.get() == 1;
    let code = if store_ok && mqtt_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(serde_json::json!({ "store": store_ok, "mqtt": mqtt_ok }))).into_response()
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(state): State<ApiState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}
