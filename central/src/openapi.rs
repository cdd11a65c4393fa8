//! `GET /api/openapi.json`: the OpenAPI 3.1 description of central's whole HTTP API,
//! written next to the routes it describes. `ROUTES` is the one list both the router
//! test and the document are checked against (`central/tests/forecast.rs` requests every
//! documented GET), so a route cannot be added or dropped without the document noticing.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Every route: (method, path, summary, auth).
pub const ROUTES: &[(&str, &str, &str, Auth)] = &[
    ("get", "/api/v1/cameras", "Every camera: status (online, degraded, offline, silent, unknown), last seen, fps, coverage, outbox depth", Auth::None),
    ("get", "/api/v1/cameras/{id}/counts", "Stored intervals overlapping [from, to) and the gaps no interval covers", Auth::None),
    ("get", "/api/v1/cameras/{id}/forecast", "Latest 15/30/60-minute forecast of each of the camera's approaches", Auth::None),
    ("get", "/api/v1/junctions", "Every timed junction: plan issued, status reported, recent acknowledgements", Auth::None),
    ("get", "/api/v1/junctions/{id}", "One junction: plan issued, status reported, recent acknowledgements", Auth::None),
    ("post", "/api/v1/junctions/{id}/override", "Operator override of a junction's greens until it expires (validated before it is issued)", Auth::Bearer),
    ("get", "/api/v1/public/congestion", "Public congestion feed: per approach level, trend and 15/30-minute forecast levels; cacheable, rate-limited", Auth::None),
    ("get", "/api/v1/export/counts", "Open data: counts per interval, line, direction and class (CSV or JSON), with coverage and gap rows", Auth::None),
    ("get", "/api/v1/feeds/police/stream", "Traffic-police feed: server-sent congestion alerts and camera offline/online events", Auth::Bearer),
    ("get", "/api/openapi.json", "This document", Auth::None),
    ("get", "/healthz", "200 when the store answers and the MQTT session is up, else 503", Auth::None),
    ("get", "/metrics", "Prometheus metrics", Auth::None),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    None,
    Bearer,
}

fn parameters(path: &str) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    if path.contains("{id}") {
        out.push(json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}));
    }
    let time = |name: &str, what: &str| json!({"name": name, "in": "query", "required": false, "description": what, "schema": {"type": "string"}});
    if path.ends_with("/counts") {
        out.push(time("from", "RFC 3339 or Unix milliseconds; default: an hour (export: a day) before `to`"));
        out.push(time("to", "RFC 3339 or Unix milliseconds; default: now"));
    }
    if path == "/api/v1/export/counts" {
        out.push(json!({"name": "camera", "in": "query", "required": true, "schema": {"type": "string"}}));
        out.push(json!({"name": "format", "in": "query", "required": false, "schema": {"type": "string", "enum": ["csv", "json"], "default": "csv"}}));
    }
    out
}

fn responses(method: &str, path: &str, auth: Auth) -> Value {
    let mut r = serde_json::Map::new();
    let ok = match path {
        "/api/v1/export/counts" => json!({"description": "rows", "content": {"text/csv": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}}),
        "/api/v1/feeds/police/stream" => json!({"description": "event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}}),
        "/metrics" => json!({"description": "Prometheus text", "content": {"text/plain": {"schema": {"type": "string"}}}}),
        _ => json!({"description": "OK", "content": {"application/json": {"schema": {"type": ["object", "array"]}}}}),
    };
    r.insert(if method == "post" { "202".into() } else { "200".into() }, ok);
    let error = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    if path.contains("{id}") || path.contains("counts") {
        r.insert("400".into(), error.clone());
    }
    // Unknown ids, and the junction and police routes while `[signals]` / `[police]`
    // are not configured.
    if path.contains("{id}") || path.starts_with("/api/v1/junctions") || path.starts_with("/api/v1/feeds/") {
        r.insert("404".into(), error.clone());
    }
    match path {
        "/api/v1/public/congestion" => {
            r.insert("304".into(), json!({"description": "not modified (If-None-Match)"}));
            r.insert("429".into(), json!({"description": "rate limit; see Retry-After"}));
        }
        "/api/v1/junctions/{id}/override" => {
            r.insert("403".into(), error.clone());
            r.insert("422".into(), error.clone());
        }
        "/healthz" => {
            r.insert("503".into(), json!({"description": "store or MQTT down"}));
        }
        _ => {}
    }
    if auth == Auth::Bearer {
        r.insert("401".into(), json!({"description": "missing or wrong bearer token"}));
    }
    Value::Object(r)
}

pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for &(method, path, summary, auth) in ROUTES {
        let mut op = json!({"summary": summary, "parameters": parameters(path), "responses": responses(method, path, auth)});
        if auth == Auth::Bearer {
            op["security"] = json!([{"bearer": []}]);
        }
        if method == "post" {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["greens_ms", "duration_s"], "properties": {"greens_ms": {"type": "array", "items": {"type": "integer", "minimum": 0}}, "duration_s": {"type": "integer", "minimum": 1}}}}}});
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Traffic analytics central", "version": env!("CARGO_PKG_VERSION"), "description": "Counts, forecasts, signal plans and feeds for the traffic control centre, the traffic police and open data. MQTT topics and message schemas: docs/protocol.md."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
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
            assert_eq!(op["security"].is_array(), auth == Auth::Bearer, "{method} {path}");
        }
        assert_eq!(paths.values().map(|p| p.as_object().unwrap().len()).sum::<usize>(), ROUTES.len());
    }
}
