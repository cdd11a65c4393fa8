//! The route table: every route's method, path, summary, declared auth and handler, in
//! one list. The router is built from it (each route behind `access::refusal` for its
//! declared auth) and so is the OpenAPI document (`openapi`): a route cannot be served
//! without being documented, nor documented with an auth it does not enforce. A test
//! sends an anonymous request to every route and checks the answer against the table.

use axum::routing::{self, MethodRouter};
use schemars::{JsonSchema, Schema};

use super::access::Auth;
use super::common::TimeRange;
use super::{
    ApiState, alerts, camera_config, cameras, dashboard, detectors, export, feeds, junctions, openapi, session,
    snapshot, system,
};

pub struct Route {
    /// `get`, `put`, `post` or `delete`: the OpenAPI operation and the method `handler` answers.
    pub method: &'static str,
    /// The OpenAPI path; a final `{path}` segment is a catch-all in the router (`{*path}`).
    pub path: &'static str,
    pub summary: &'static str,
    pub auth: Auth,
    pub handler: MethodRouter<ApiState>,
    /// The schema of the type the handler reads its query string into (`Query<T>`): the
    /// document's query parameters come from it, so they change when the type does.
    pub query: Option<fn() -> Schema>,
    /// The schema of the type the handler reads its JSON body into: the request body.
    pub body: Option<fn() -> Schema>,
}

/// `T`'s schema with nested types inlined: the document embeds it, where a `$defs`
/// reference would not resolve.
fn schema<T: JsonSchema>() -> Schema {
    schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<T>()
}

impl Route {
    fn new(
        method: &'static str,
        path: &'static str,
        summary: &'static str,
        auth: Auth,
        handler: MethodRouter<ApiState>,
    ) -> Route {
        Route { method, path, summary, auth, handler, query: None, body: None }
    }

    /// The handler takes `Query<T>`.
    fn query<T: JsonSchema>(mut self) -> Route {
        self.query = Some(schema::<T>);
        self
    }

    /// The handler takes a JSON body of type `T`.
    fn body<T: JsonSchema>(mut self) -> Route {
        self.body = Some(schema::<T>);
        self
    }

    /// The path as axum matches it.
    pub fn router_path(&self) -> String {
        match self.path.strip_suffix("/{path}") {
            Some(base) => format!("{base}/{{*path}}"),
            None => self.path.to_string(),
        }
    }
}

/// Every route central serves.
pub fn table() -> Vec<Route> {
    vec![
        Route::new(
            "get",
            "/api/v1/cameras",
            "Every camera: status (online, degraded, offline, silent, unknown), last seen, fps, coverage, \
                outbox depth",
            Auth::Session,
            routing::get(cameras::cameras),
        ),
        Route::new(
            "get",
            "/api/v1/cameras/{id}/counts",
            "Stored intervals overlapping [from, to) and the gaps no interval covers",
            Auth::Session,
            routing::get(cameras::counts),
        )
        .query::<TimeRange>(),
        Route::new(
            "get",
            "/api/v1/cameras/{id}/forecast",
            "Latest 15/30/60-minute forecast of each of the camera's approaches",
            Auth::Session,
            routing::get(cameras::forecast),
        ),
        Route::new(
            "get",
            "/api/v1/cameras/{id}/config",
            "The camera's counting geometry: latest version, the version its agent runs (0: its file config), \
                history newest first with each version's answer (pending, applied, rejected with problems)",
            Auth::Session,
            routing::get(camera_config::get_config),
        ),
        Route::new(
            "put",
            "/api/v1/cameras/{id}/config",
            "Save a geometry (lines, zones, calibration) as the camera's next version and push it (retained); \
                422 with the problems, each with its field path, when it is invalid (audited)",
            Auth::Operator,
            routing::put(camera_config::put_config),
        )
        .body::<protocol::camera_config::Geometry>(),
        Route::new(
            "post",
            "/api/v1/cameras/{id}/config/rollback",
            "Push an earlier version's geometry again, as a new version (audited)",
            Auth::Operator,
            routing::post(camera_config::rollback),
        )
        .body::<camera_config::RollbackRequest>(),
        Route::new(
            "post",
            "/api/v1/cameras/{id}/config/check",
            "The problems saving this geometry would be refused for, each with its field path (nothing is saved)",
            Auth::Session,
            routing::post(snapshot::check),
        )
        .body::<protocol::camera_config::Geometry>(),
        Route::new(
            "post",
            "/api/v1/cameras/{id}/snapshot",
            "Ask the camera's agent for a picture of its next frame (audited); 409 when the camera refuses, \
                504 when it does not answer",
            Auth::Operator,
            routing::post(snapshot::ask),
        )
        .body::<snapshot::SnapshotAsk>(),
        Route::new(
            "get",
            "/api/v1/cameras/{id}/snapshot",
            "The latest picture's metadata: when, its size and the stream's frame size (the geometry's space)",
            Auth::Session,
            routing::get(snapshot::latest),
        ),
        Route::new(
            "get",
            "/api/v1/cameras/{id}/snapshot.jpg",
            "The latest picture (JPEG)",
            Auth::Session,
            routing::get(snapshot::latest_jpeg),
        ),
        Route::new(
            "get",
            "/api/v1/junctions",
            "Every timed junction: plan issued, plan history, status reported, recent acknowledgements, \
                override",
            Auth::Session,
            routing::get(junctions::junctions),
        ),
        Route::new(
            "get",
            "/api/v1/junctions/{id}",
            "One junction: plan issued, plan history, status reported, recent acknowledgements, override",
            Auth::Session,
            routing::get(junctions::junction),
        ),
        Route::new(
            "post",
            "/api/v1/junctions/{id}/override",
            "Operator override of a junction's greens until it expires (validated, audited, issued at once)",
            Auth::Operator,
            routing::post(junctions::override_plan),
        )
        .body::<junctions::OverrideRequest>(),
        Route::new(
            "delete",
            "/api/v1/junctions/{id}/override",
            "End an operator override now (audited)",
            Auth::Operator,
            routing::delete(junctions::cancel_override),
        ),
        Route::new(
            "get",
            "/api/v1/junctions/{id}/detectors",
            "NTCIP 1202-style volume / occupancy per approach detector (camera line and zone) and interval, \
                with gaps",
            Auth::Session,
            routing::get(detectors::detectors),
        )
        .query::<TimeRange>(),
        Route::new(
            "get",
            "/api/v1/alerts",
            "Alerts, newest first: congestion ahead, camera offline, plan rejected, camera moved, incidents \
                (active=true: \
            only active ones)",
            Auth::Session,
            routing::get(alerts::alerts),
        )
        .query::<alerts::AlertQuery>(),
        Route::new(
            "post",
            "/api/v1/alerts/{id}/ack",
            "Acknowledge an alert (audited)",
            Auth::Operator,
            routing::post(alerts::ack_alert),
        ),
        Route::new(
            "get",
            "/api/v1/overview",
            "Every camera and junction with position, status and congestion level, for the dashboard's \
                overview",
            Auth::Session,
            routing::get(dashboard::overview),
        ),
        Route::new(
            "get",
            "/api/v1/map",
            "Where cameras and junctions are ([map])",
            Auth::Session,
            routing::get(dashboard::map),
        ),
        Route::new(
            "get",
            "/api/v1/live",
            "Dashboard live events (server-sent): interval, status, alert, junction, resync",
            Auth::Session,
            routing::get(feeds::live),
        ),
        Route::new(
            "post",
            "/api/v1/auth/login",
            "Log in: a session cookie (HttpOnly, SameSite=Strict) and the same token for bearer use",
            Auth::None,
            routing::post(session::login),
        )
        .body::<session::LoginRequest>(),
        Route::new(
            "post",
            "/api/v1/auth/logout",
            "Log out: ends the session",
            Auth::None,
            routing::post(session::logout),
        ),
        Route::new(
            "get",
            "/api/v1/auth/me",
            "Who the session belongs to, their role, and whether logins are configured",
            Auth::Session,
            routing::get(session::me),
        ),
        Route::new(
            "get",
            "/api/v1/audit",
            "Audit log, newest first: logins, overrides, acknowledgements",
            Auth::Operator,
            routing::get(session::audit_log),
        )
        .query::<session::AuditQuery>(),
        Route::new(
            "get",
            "/api/v1/public/congestion",
            "Public congestion feed: per approach level, trend and 15/30-minute forecast levels; cacheable, \
                rate-limited",
            Auth::None,
            routing::get(feeds::public_congestion),
        ),
        Route::new(
            "get",
            "/api/v1/export/counts",
            "Open data: counts per interval, line and direction (CSV or JSON) with the camera's name, position \
                and road, direction labels, interval length, unit, coverage and gap rows; per vehicle class with a \
                session or [export] public_classes, else totals (class = all)",
            Auth::None,
            routing::get(export::counts),
        )
        .query::<export::ExportQuery>(),
        Route::new(
            "get",
            "/api/v1/export/datapackage.json",
            "Open data: the Frictionless data package describing a counts export (licence, publisher, the CSV's \
                Table Schema)",
            Auth::None,
            routing::get(export::datapackage),
        )
        .query::<export::PackageQuery>(),
        Route::new(
            "get",
            "/api/v1/feeds/police/stream",
            "Traffic-police feed: server-sent congestion alerts and camera offline/online events",
            Auth::Bearer,
            routing::get(feeds::police),
        ),
        Route::new("get", "/api/openapi.json", "This document", Auth::None, routing::get(openapi::serve)),
        Route::new(
            "get",
            "/healthz",
            "200 when the store answers and the MQTT session is up, else 503",
            Auth::None,
            routing::get(system::healthz),
        ),
        Route::new("get", "/metrics", "Prometheus metrics", Auth::None, routing::get(system::metrics)),
        Route::new("get", "/", "The operator dashboard (HTML)", Auth::None, routing::get(dashboard::index)),
        Route::new(
            "get",
            "/ui/{path}",
            "The dashboard's scripts, styles and vendored libraries",
            Auth::None,
            routing::get(dashboard::file),
        ),
    ]
}
