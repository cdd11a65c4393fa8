//! `GET /api/openapi.json`: the OpenAPI 3.1 description of central's whole HTTP API,
//! generated from the route table (`routes::table`, which the router is built from too):
//! method, path, summary and security per route; parameters, bodies and responses below.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::access::Auth;
use super::routes::table;

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
    for route in table() {
        let (method, path, summary, auth) = (route.method, route.path, route.summary, route.auth);
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
        for route in table() {
            let (method, path, auth) = (route.method, route.path, route.auth);
            let op = &paths[path][method];
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}");
            assert_eq!(op["security"].is_array(), auth != Auth::None, "{method} {path}");
        }
        assert_eq!(paths.values().map(|p| p.as_object().unwrap().len()).sum::<usize>(), table().len());
    }
}
