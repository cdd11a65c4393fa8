//! What every HTTP answer carries, whichever route (or none) produced it:
//! - browser hardening: a strict Content-Security-Policy (scripts, styles, images and
//!   connections from this origin only; no inline script or style attribute; never framed,
//!   so the override form cannot be clickjacked), `X-Frame-Options: DENY` for browsers
//!   without CSP level 2, `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
//!   and with `[http] behind_tls` HSTS (the session cookie is `Secure` then too: `session`);
//! - errors as JSON: an answer of 400 or more that is not JSON already (axum's own
//!   rejections of a path, query or body, an unknown route, a wrong method) becomes
//!   `{"error": "..."}` with the same status, so clients parse one shape.
//!
//! Invariant: headers a handler set itself are kept (a route may be stricter).

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// `img-src data:` is the empty favicon and Leaflet's inline marker images; `blob:` the
/// snapshot shown in the editor. A tile server configured for the map is added to it.
pub fn content_security_policy(extra_img_src: Option<&str>) -> String {
    let img = match extra_img_src {
        Some(origin) => format!("'self' data: blob: {origin}"),
        None => "'self' data: blob:".to_string(),
    };
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src {img}; connect-src 'self'; \
         font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// `router` with the headers and the JSON error shape on every answer, unknown routes included.
pub fn harden(router: Router, csp: String, behind_tls: bool) -> Router {
    let mut fixed: Vec<(HeaderName, HeaderValue)> = vec![
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_str(&csp).expect("ASCII policy")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
    ];
    if behind_tls {
        // A year, as browsers' preload lists ask; only sent when the operator said TLS is in front.
        fixed.push((header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000")));
    }
    router.fallback(unknown_route).layer(middleware::from_fn(move |request: Request, next: Next| {
        let fixed = fixed.clone();
        async move {
            let mut response = json_errors(next.run(request).await).await;
            let headers = response.headers_mut();
            for (name, value) in fixed {
                headers.entry(name).or_insert(value);
            }
            response
        }
    }))
}

async fn unknown_route(request: Request) -> Response {
    ApiError::new(StatusCode::NOT_FOUND, format!("no such resource: {} {}", request.method(), request.uri().path()))
        .into_response()
}

/// An error answer that is not JSON, as `{"error": its text}` (or the status's reason).
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    // axum's rejections are one short line; anything longer is cut, not buffered.
    let text = match axum::body::to_bytes(body, 16 * 1024).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { text };
    let mut json = ApiError::new(status, message).into_response();
    // Keep what the refusal said besides its body (`Allow` on a 405, `WWW-Authenticate`).
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().entry(name.clone()).or_insert(value.clone());
        }
    }
    json
}
