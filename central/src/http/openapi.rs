//! `GET /api/openapi.json`: the OpenAPI 3.1 description of central's whole HTTP API,
//! written next to the routes it describes. `ROUTES` is the one list both the router
//! test and the document are checked against (`central/tests/forecast.rs` requests every
//! documented GET), so a route cannot be added or dropped without the document noticing.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Every route: (method, path, summary, auth).
pub const ROUTES: &[(&str, &str, &str, Auth)] = &[
    (
        "get",
        "/api/v1/cameras",
        "Every camera: status (online, degraded, offline, silent, unknown), last seen, fps, coverage, outbox depth",
        Auth::Session,
    ),
    (
        "get",
        "/api/v1/cameras/{id}/counts",
        "Stored intervals overlapping [from, to) and the gaps no interval covers",
        Auth::Session,
    ),
    (
        "get",
        "/api/v1/cameras/{id}/forecast",
        "Latest 15/30/60-minute forecast of each of the camera's approaches",
        Auth::Session,
    ),
    (
        "get",
        "/api/v1/junctions",
        "Every timed junction: plan issued, plan history, status reported, recent acknowledgements, override",
        Auth::Session,
    ),
    (
        "get",
        "/api/v1/junctions/{id}",
        "One junction: plan issued, plan history, status reported, recent acknowledgements, override",
        Auth::Session,
    ),
    (
        "post",
        "/api/v1/junctions/{id}/override",
        "Operator override of a junction's greens until it expires (validated, audited, issued at once)",
        Auth::Operator,
    ),
    ("delete", "/api/v1/junctions/{id}/override", "End an operator override now (audited)", Auth::Operator),
    (
        "get",
        "/api/v1/junctions/{id}/detectors",
        "NTCIP 1202-style volume / occupancy per approach detector (camera line and zone) and interval, with gaps",
        Auth::Session,
    ),
    (
        "get",
        "/api/v1/alerts",
        "Alerts, newest first: congestion ahead, camera offline, plan rejected, camera moved, incidents (active=true: \
            only active ones)",
        Auth::Session,
    ),
    ("post", "/api/v1/alerts/{id}/ack", "Acknowledge an alert (audited)", Auth::Operator),
    (
        "get",
        "/api/v1/overview",
        "Every camera and junction with position, status and congestion level, for the dashboard's overview",
        Auth::Session,
    ),
    ("get", "/api/v1/map", "Where cameras and junctions are ([map])", Auth::Session),
    (
        "get",
        "/api/v1/live",
        "Dashboard live events (server-sent): interval, status, alert, junction, resync",
        Auth::Session,
    ),
    (
        "post",
        "/api/v1/auth/login",
        "Log in: a session cookie (HttpOnly, SameSite=Strict) and the same token for bearer use",
        Auth::None,
    ),
    ("post", "/api/v1/auth/logout", "Log out: ends the session", Auth::None),
    (
        "get",
        "/api/v1/auth/me",
        "Who the session belongs to, their role, and whether logins are configured",
        Auth::Session,
    ),
    ("get", "/api/v1/audit", "Audit log, newest first: logins, overrides, acknowledgements", Auth::Operator),
    (
        "get",
        "/api/v1/public/congestion",
        "Public congestion feed: per approach level, trend and 15/30-minute forecast levels; cacheable, rate-limited",
        Auth::None,
    ),
    (
        "get",
        "/api/v1/export/counts",
        "Open data: counts per interval, line, direction and class (CSV or JSON), with coverage and gap rows",
        Auth::None,
    ),
    (
        "get",
        "/api/v1/feeds/police/stream",
        "Traffic-police feed: server-sent congestion alerts and camera offline/online events",
        Auth::Bearer,
    ),
    ("get", "/api/openapi.json", "This document", Auth::None),
    ("get", "/healthz", "200 when the store answers and the MQTT session is up, else 503", Auth::None),
    ("get", "/metrics", "Prometheus metrics", Auth::None),
    ("get", "/", "The operator dashboard (HTML)", Auth::None),
    ("get", "/ui/{path}", "The dashboard's scripts, styles and vendored libraries", Auth::None),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Public.
    None,
    /// A police consumer's bearer token.
    Bearer,
    /// A session (cookie or bearer) of any role when `[auth]` is configured; open otherwise.
    Session,
    /// A session with the operator role or above, or the signals override token.
    Operator,
}

fn parameters(path: &str) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    if path.starts_with("/api/v1/alerts/{id}") {
        out.push(json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}));
    } else if path.contains("{id}") {
        out.push(json!({
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}
        }));
    }
    if path == "/ui/{path}" {
        out.push(json!({"name": "path", "in": "path", "required": true, "schema": {"type": "string"}}));
    }
    let time = |name: &str, what: &str| {
        json!({
            "name": name,
            "in": "query",
            "required": false,
            "description": what,
            "schema": {"type": "string"}
        })
    };
    if path.ends_with("/counts") || path.ends_with("/detectors") {
        out.push(time("from", "RFC 3339 or Unix milliseconds; default: an hour (export: a day) before `to`"));
        out.push(time("to", "RFC 3339 or Unix milliseconds; default: now"));
    }
    match path {
        "/api/v1/export/counts" => {
            out.push(json!({"name": "camera", "in": "query", "required": true, "schema": {"type": "string"}}));
            out.push(json!({
                "name": "format",
                "in": "query",
                "required": false,
                "schema": {"type": "string", "enum": ["csv", "json"], "default": "csv"}
            }));
        }
        "/api/v1/alerts" => out.push(json!({
            "name": "active",
            "in": "query",
            "required": false,
            "schema": {"type": "boolean"}
        })),
        "/api/v1/audit" => out.push(json!({
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {"type": "integer", "minimum": 1, "maximum": 5000, "default": 200}
        })),
        _ => {}
    }
    out
}

fn request_body(method: &str, path: &str) -> Option<Value> {
    let schema = match (method, path) {
        ("post", "/api/v1/junctions/{id}/override") => {
            json!({"type": "object", "additionalProperties": false, "required": ["greens_ms", "duration_s"],
            "properties": {
                "greens_ms": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 4294967295u64}},
                "duration_s": {"type": "integer", "minimum": 1, "maximum": 28800}
            }})
        }
        ("post", "/api/v1/auth/login") => {
            json!({"type": "object", "additionalProperties": false, "required": ["username", "password"],
            "properties": {"username": {"type": "string"}, "password": {"type": "string"}}})
        }
        _ => return None,
    };
    Some(json!({"required": true, "content": {"application/json": {"schema": schema}}}))
}

fn responses(method: &str, path: &str, auth: Auth) -> Value {
    let mut r = serde_json::Map::new();
    let json_ok = |what: &str| {
        json!({
            "description": what,
            "content": {"application/json": {"schema": {"type": ["object", "array"]}}}
        })
    };
    let (code, ok) = match (method, path) {
        ("get", "/api/v1/export/counts") => (
            "200",
            json!({
                "description": "rows",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}
                }
            }),
        ),
        ("get", "/api/v1/feeds/police/stream" | "/api/v1/live") => (
            "200",
            json!({"description": "event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}}),
        ),
        ("get", "/metrics") => (
            "200",
            json!({"description": "Prometheus text", "content": {"text/plain": {"schema": {"type": "string"}}}}),
        ),
        ("get", "/") => {
            ("200", json!({"description": "the dashboard", "content": {"text/html": {"schema": {"type": "string"}}}}))
        }
        ("get", "/ui/{path}") => (
            "200",
            json!({
                "description": "a dashboard file",
                "content": {
                    "text/javascript": {"schema": {"type": "string"}},
                    "text/css": {"schema": {"type": "string"}},
                    "text/html": {"schema": {"type": "string"}}
                }
            }),
        ),
        ("post", "/api/v1/junctions/{id}/override") => ("202", json_ok("accepted; issued at once")),
        ("post", "/api/v1/auth/logout") => ("204", json!({"description": "logged out"})),
        _ => ("200", json_ok("OK")),
    };
    r.insert(code.into(), ok);
    let error = json!({
        "description": "error",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}},
            "text/plain": {"schema": {"type": "string"}}
        }
    });
    let add = |r: &mut serde_json::Map<String, Value>, code: &str| {
        r.insert(code.into(), error.clone());
    };
    if path.contains("{id}")
        || path.contains("counts")
        || method == "post"
        || path == "/api/v1/alerts"
        || path == "/api/v1/audit"
    {
        add(&mut r, "400");
    }
    // Unknown ids and files, and the junction, police and login routes while `[signals]`,
    // `[police]` / `[auth]` are not configured.
    if path.contains('{')
        || path.starts_with("/api/v1/junctions")
        || path.starts_with("/api/v1/feeds/")
        || path == "/api/v1/auth/login"
    {
        add(&mut r, "404");
    }
    match (method, path) {
        (_, "/api/v1/public/congestion") => {
            r.insert("304".into(), json!({"description": "not modified (If-None-Match)"}));
            r.insert(
                "429".into(),
                json!({
                    "description": "rate limit; see Retry-After",
                    "content": {"text/plain": {"schema": {"type": "string"}}}
                }),
            );
        }
        ("post", "/api/v1/junctions/{id}/override") => add(&mut r, "422"),
        ("post", "/api/v1/alerts/{id}/ack") => add(&mut r, "409"),
        ("post", "/api/v1/auth/login") => {
            add(&mut r, "401");
            add(&mut r, "429");
        }
        (_, "/healthz") => {
            r.insert(
                "503".into(),
                json!({
                    "description": "store or MQTT down",
                    "content": {"application/json": {"schema": {"type": "object"}}}
                }),
            );
        }
        _ => {}
    }
    match auth {
        Auth::Bearer => add(&mut r, "401"),
        Auth::Session => add(&mut r, "401"),
        Auth::Operator => {
            add(&mut r, "401");
            add(&mut r, "403");
        }
        Auth::None => {}
    }
    // Reads through the store answer 503 while it is down; operator actions too when
    // their audit entry cannot be stored (the action is then refused).
    if auth == Auth::Operator
        || path.starts_with("/api/v1/cameras")
        || path == "/api/v1/overview"
        || path.ends_with("/detectors")
        || path == "/api/v1/export/counts"
        || path == "/api/v1/auth/login"
    {
        add(&mut r, "503");
    }
    Value::Object(r)
}

pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for &(method, path, summary, auth) in ROUTES {
        let mut op =
            json!({"summary": summary, "parameters": parameters(path), "responses": responses(method, path, auth)});
        match auth {
            Auth::Bearer => op["security"] = json!([{"bearer": []}]),
            Auth::Session | Auth::Operator => op["security"] = json!([{"session": []}, {"bearer": []}, {}]),
            Auth::None => {}
        }
        if let Some(body) = request_body(method, path) {
            op["requestBody"] = body;
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Traffic analytics central",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Counts, forecasts, signal plans, alerts and feeds for the traffic control centre, the \
                traffic police and open data. With [auth] configured, the operator API needs a session (POST \
                    /api/v1/auth/login; cookie or bearer); roles viewer < operator < admin. MQTT topics and message \
                        schemas: docs/protocol.md."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A session token from /api/v1/auth/login, the signals override token, or (police \
                        feed) a consumer token"
                },
                "session": {"type": "apiKey", "in": "cookie", "name": "tac_session"}
            },
            "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}}
        }
    })
}

pub async fn serve() -> Response {
    Json(document()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_once_with_its_responses() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        for &(method, path, _, auth) in ROUTES {
            let op = &paths[path][method];
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}");
            assert_eq!(op["security"].is_array(), auth != Auth::None, "{method} {path}");
        }
        assert_eq!(paths.values().map(|p| p.as_object().unwrap().len()).sum::<usize>(), ROUTES.len());
    }
}
