//! The route table: every route's method, path, summary, declared auth and handler, in
//! one list. The router is built from it (each route behind `access::refusal` for its
//! declared auth) and so is the OpenAPI document (`openapi`): a route cannot be served
//! without being documented, nor documented with an auth it does not enforce. A test
//! sends an anonymous request to every route and checks the answer against the table.

use axum::routing::{self, MethodRouter};

use super::access::Auth;
use super::{ApiState, alerts, cameras, dashboard, detectors, export, feeds, junctions, openapi, session, system};

pub struct Route {
    /// `get`, `post` or `delete`: the OpenAPI operation and the method `handler` answers.
    pub method: &'static str,
    /// The OpenAPI path; a final `{path}` segment is a catch-all in the router (`{*path}`).
    pub path: &'static str,
    pub summary: &'static str,
    pub auth: Auth,
    pub handler: MethodRouter<ApiState>,
}

impl Route {
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
        Route {
            method: "get",
            path: "/api/v1/cameras",
            summary: "Every camera: status (online, degraded, offline, silent, unknown), last seen, fps, coverage, \
                outbox depth",
            auth: Auth::Session,
            handler: routing::get(cameras::cameras),
        },
        Route {
            method: "get",
            path: "/api/v1/cameras/{id}/counts",
            summary: "Stored intervals overlapping [from, to) and the gaps no interval covers",
            auth: Auth::Session,
            handler: routing::get(cameras::counts),
        },
        Route {
            method: "get",
            path: "/api/v1/cameras/{id}/forecast",
            summary: "Latest 15/30/60-minute forecast of each of the camera's approaches",
            auth: Auth::Session,
            handler: routing::get(cameras::forecast),
        },
        Route {
            method: "get",
            path: "/api/v1/junctions",
            summary: "Every timed junction: plan issued, plan history, status reported, recent acknowledgements, \
                override",
            auth: Auth::Session,
            handler: routing::get(junctions::junctions),
        },
        Route {
            method: "get",
            path: "/api/v1/junctions/{id}",
            summary: "One junction: plan issued, plan history, status reported, recent acknowledgements, override",
            auth: Auth::Session,
            handler: routing::get(junctions::junction),
        },
        Route {
            method: "post",
            path: "/api/v1/junctions/{id}/override",
            summary: "Operator override of a junction's greens until it expires (validated, audited, issued at once)",
            auth: Auth::Operator,
            handler: routing::post(junctions::override_plan),
        },
        Route {
            method: "delete",
            path: "/api/v1/junctions/{id}/override",
            summary: "End an operator override now (audited)",
            auth: Auth::Operator,
            handler: routing::delete(junctions::cancel_override),
        },
        Route {
            method: "get",
            path: "/api/v1/junctions/{id}/detectors",
            summary: "NTCIP 1202-style volume / occupancy per approach detector (camera line and zone) and interval, \
                with gaps",
            auth: Auth::Session,
            handler: routing::get(detectors::detectors),
        },
        Route {
            method: "get",
            path: "/api/v1/alerts",
            summary: "Alerts, newest first: congestion ahead, camera offline, plan rejected, camera moved, incidents \
                (active=true: \
            only active ones)",
            auth: Auth::Session,
            handler: routing::get(alerts::alerts),
        },
        Route {
            method: "post",
            path: "/api/v1/alerts/{id}/ack",
            summary: "Acknowledge an alert (audited)",
            auth: Auth::Operator,
            handler: routing::post(alerts::ack_alert),
        },
        Route {
            method: "get",
            path: "/api/v1/overview",
            summary: "Every camera and junction with position, status and congestion level, for the dashboard's \
                overview",
            auth: Auth::Session,
            handler: routing::get(dashboard::overview),
        },
        Route {
            method: "get",
            path: "/api/v1/map",
            summary: "Where cameras and junctions are ([map])",
            auth: Auth::Session,
            handler: routing::get(dashboard::map),
        },
        Route {
            method: "get",
            path: "/api/v1/live",
            summary: "Dashboard live events (server-sent): interval, status, alert, junction, resync",
            auth: Auth::Session,
            handler: routing::get(feeds::live),
        },
        Route {
            method: "post",
            path: "/api/v1/auth/login",
            summary: "Log in: a session cookie (HttpOnly, SameSite=Strict) and the same token for bearer use",
            auth: Auth::None,
            handler: routing::post(session::login),
        },
        Route {
            method: "post",
            path: "/api/v1/auth/logout",
            summary: "Log out: ends the session",
            auth: Auth::None,
            handler: routing::post(session::logout),
        },
        Route {
            method: "get",
            path: "/api/v1/auth/me",
            summary: "Who the session belongs to, their role, and whether logins are configured",
            auth: Auth::Session,
            handler: routing::get(session::me),
        },
        Route {
            method: "get",
            path: "/api/v1/audit",
            summary: "Audit log, newest first: logins, overrides, acknowledgements",
            auth: Auth::Operator,
            handler: routing::get(session::audit_log),
        },
        Route {
            method: "get",
            path: "/api/v1/public/congestion",
            summary: "Public congestion feed: per approach level, trend and 15/30-minute forecast levels; cacheable, \
                rate-limited",
            auth: Auth::None,
            handler: routing::get(feeds::public_congestion),
        },
        Route {
            method: "get",
            path: "/api/v1/export/counts",
            summary: "Open data: counts per interval, line, direction and class (CSV or JSON), with coverage and gap \
                rows",
            auth: Auth::None,
            handler: routing::get(export::counts),
        },
        Route {
            method: "get",
            path: "/api/v1/feeds/police/stream",
            summary: "Traffic-police feed: server-sent congestion alerts and camera offline/online events",
            auth: Auth::Bearer,
            handler: routing::get(feeds::police),
        },
        Route {
            method: "get",
            path: "/api/openapi.json",
            summary: "This document",
            auth: Auth::None,
            handler: routing::get(openapi::serve),
        },
        Route {
            method: "get",
            path: "/healthz",
            summary: "200 when the store answers and the MQTT session is up, else 503",
            auth: Auth::None,
            handler: routing::get(system::healthz),
        },
        Route {
            method: "get",
            path: "/metrics",
            summary: "Prometheus metrics",
            auth: Auth::None,
            handler: routing::get(system::metrics),
        },
        Route {
            method: "get",
            path: "/",
            summary: "The operator dashboard (HTML)",
            auth: Auth::None,
            handler: routing::get(dashboard::index),
        },
        Route {
            method: "get",
            path: "/ui/{path}",
            summary: "The dashboard's scripts, styles and vendored libraries",
            auth: Auth::None,
            handler: routing::get(dashboard::file),
        },
    ]
}
