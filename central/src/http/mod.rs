//! The HTTP wing: the only part of central that speaks HTTP (axum). Everything else
//! (the store writer, the hub, forecasting, signals, the feeds' owners) is plain code this
//! wing reads or sends commands to.
//!
//! # Layout
//! - `routes`: the route table (method, path, summary, auth, handler): the router and the
//!   OpenAPI document (`openapi`) are both built from it.
//! - `access`: sessions, roles, the override token, the per-route check, the `Viewer` and
//!   `Operator` extractors, the audit log.
//! - `error`: `ApiError`, the one refusal type (`{"error": ...}`); `common`: store access
//!   on the blocking pool, time ranges, RFC 3339; `hardening`: the security headers and
//!   the JSON error shape on every answer, unknown routes included.
//! - One file per resource: `cameras`, `camera_config` (versioned geometry push),
//!   `snapshot` (a camera's picture on request),
//!   `junctions`, `detectors`, `alerts`, `dashboard`
//!   (static files, overview, map), `export` (open data), `session` (login, logout, me,
//!   audit log), `feeds` (live SSE, police SSE, public congestion), `system` (health, metrics).
//!
//! Store reads run on the blocking pool through the API's own store connection.

pub mod access;
pub mod alerts;
pub mod camera_config;
pub mod cameras;
pub mod common;
pub mod dashboard;
pub mod detectors;
pub mod error;
pub mod export;
pub mod feeds;
pub mod hardening;
pub mod junctions;
pub mod openapi;
pub mod routes;
pub mod session;
pub mod snapshot;
pub mod system;

use std::sync::Arc;

use parking_lot::Mutex;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};

pub use error::{ApiError, error};

use crate::metrics::Metrics;
use crate::store::Store;

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
    pub hub: Arc<crate::hub::Hub>,
    pub map: Arc<crate::config::MapSettings>,
    /// `[export]`: the open data's licence, publisher and what anonymous callers get.
    pub export: Arc<crate::config::ExportSettings>,
    pub dashboard_dir: std::path::PathBuf,
    /// Publishes saved camera config versions to their agents.
    pub configs: Arc<crate::config_push::ConfigPublisher>,
    /// Asks agents for snapshots and keeps the latest per camera.
    pub snapshots: Arc<crate::snapshots::SnapshotDesk>,
    /// How long a snapshot request waits for the agent.
    pub snapshot_timeout: std::time::Duration,
    /// `[http] behind_tls`: the session cookie is `Secure` and answers carry HSTS.
    pub behind_tls: bool,
}

/// What the junction endpoints need (present when `[signals]` is configured). The
/// signals worker owns the retimer and the views: the API reads snapshots and sends commands.
#[derive(Clone)]
pub struct SignalsApi {
    /// The junction views as the worker last published them.
    pub views: tokio::sync::watch::Receiver<crate::signals::Junctions>,
    pub commands: tokio::sync::mpsc::UnboundedSender<crate::signals::SignalsCommand>,
    /// The junctions' profiles (configuration; read-only).
    pub profiles: Arc<std::collections::BTreeMap<String, firmware_profiles::JunctionProfile>>,
    /// Bearer token standing for an operator (scripts, bridges); `None`: sessions only.
    pub override_token: Option<String>,
}

/// The router, from the route table: each route behind the check its declared auth needs.
pub fn router(state: ApiState) -> Router {
    let mut router = Router::new();
    for route in routes::table() {
        let auth = route.auth;
        let gate = middleware::from_fn_with_state(
            state.clone(),
            move |State(state): State<ApiState>, request: Request, next: Next| async move {
                match access::refusal(auth, &state, request.headers()) {
                    None => next.run(request).await,
                    Some(refused) => refused,
                }
            },
        );
        router = router.route(&route.router_path(), route.handler.route_layer(gate));
    }
    let behind_tls = state.behind_tls;
    hardening::harden(router.with_state(state), hardening::content_security_policy(None), behind_tls)
}
