//! The streaming and feed handlers: the dashboard's live events (SSE), the traffic-police
//! feed (SSE, consumer bearer token) and the public congestion feed (cacheable, rate-limited).
//! What each carries is decided by its owner (`crate::hub`, `crate::police`, `crate::public`);
//! this file only speaks HTTP for them.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

use super::access::bearer;
use super::{ApiState, error};
use crate::hub::HubEvent;

/// `GET /api/v1/live`: the dashboard's server-sent events (`interval`, `status`, `alert`,
/// `junction`); viewer role when `[auth]` is configured.
pub async fn live(State(state): State<ApiState>) -> Response {
    let rx = state.hub.subscribe();
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(ev) => {
                let kind = match &ev {
                    HubEvent::Interval { .. } => "interval",
                    HubEvent::Status { .. } => "status",
                    HubEvent::Alert { .. } => "alert",
                    HubEvent::Junction { .. } => "junction",
                    HubEvent::Forecast { .. } => "forecast",
                };
                Event::default().event(kind).data(serde_json::to_string(&ev).unwrap_or_default())
            }
            // The page re-reads the API on `resync`.
            Err(broadcast::error::RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok::<Event, Infallible>(event), rx))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

pub async fn police(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let Some(feed) = state.police.clone() else {
        return error(StatusCode::NOT_FOUND, "no police feed ([police] is not configured)");
    };
    // The route's gate checked the token already; the consumer's name is for the log.
    let consumer = bearer(&headers).and_then(|t| feed.consumer(&t).map(str::to_string)).unwrap_or_default();
    tracing::info!(%consumer, "police feed consumer connected");
    let rx = feed.subscribe();
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(ev) => {
                    let event = Event::default()
                        .event(ev.kind)
                        .json_data(&ev)
                        .unwrap_or_else(|_| Event::default().comment("unencodable event"));
                    return Some((Ok::<Event, Infallible>(event), rx));
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "police feed consumer too slow; events skipped")
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

pub async fn public_congestion(State(state): State<ApiState>, request: Request) -> Response {
    if let Some(feed) = &state.public {
        // Behind no proxy the peer address is the client; unknown peers share one bucket.
        let client =
            request.extensions().get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        if let Err(wait) = feed.admit(client) {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, wait.to_string())],
                axum::Json(serde_json::json!({ "error": "rate limit: try again later (see Retry-After)" })),
            )
                .into_response();
        }
    }
    let segments: Vec<crate::public::Segment> = {
        let latest = state.forecasts.lock();
        let place = |camera: &str| state.map.cameras.iter().find(|p| p.id == camera);
        let forecast =
            latest.values().flat_map(|lines| lines.values()).map(|r| crate::public::segment(r, place(&r.camera_id)));
        let waiting = state.map.cameras.iter().filter(|p| !latest.contains_key(&p.id)).map(crate::public::waiting);
        forecast.chain(waiting).collect()
    };
    let body = match serde_json::to_vec(&serde_json::json!({ "segments": segments })) {
        Ok(b) => b,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let digest = Sha256::digest(&body);
    let etag = format!("\"{}\"", digest.iter().take(16).map(|b| format!("{b:02x}")).collect::<String>());
    let cache = format!("public, max-age={}", crate::public::MAX_AGE_S);
    let matches = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    let headers = response.headers_mut();
    for (name, value) in
        [(header::ETAG, etag), (header::CACHE_CONTROL, cache), (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_string())]
    {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    response
}
