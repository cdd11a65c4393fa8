//! The one error type of the HTTP wing: a status and a message, answered as
//! `{"error": "..."}`. Helpers return it so handlers can use `?`; it stays small (a status
//! and a string) where a whole `Response` would not.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
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

impl From<crate::store::StoreError> for ApiError {
    /// A lost race with another writer: 409 (reload, then decide). Anything else: the
    /// store did not answer, 503 (clients retry; nothing was changed).
    fn from(e: crate::store::StoreError) -> Self {
        let status = match e {
            crate::store::StoreError::Conflict(_) => StatusCode::CONFLICT,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, e.to_string())
    }
}
