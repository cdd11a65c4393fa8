//! `GET /api/openapi.json`: the OpenAPI 3.1 description of central's whole HTTP API,
//! generated from the route table (`routes::table`, which the router is built from too):
//! method, path, summary and security per route, query parameters and request bodies from
//! the schemas of the types the handlers read them into (`schemars`); path parameters and
//! responses by rule below.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::access::Auth;
use super::routes::{Route, table};

/// Path parameters (from the path itself) and query parameters (from the schema of the
/// handler's `Query<T>` type, so a field added to the type is documented).
fn parameters(route: &Route) -> Vec<Value> {
    let path = route.path;
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
    if path.ends_with("/{path}") {
        out.push(json!({"name": "path", "in": "path", "required": true, "schema": {"type": "string"}}));
    }
    if let Some(query) = route.query {
        out.extend(query_parameters(&query().to_value()));
    }
    out
}

/// One query parameter per property of a query type's schema. An `Option` field is an
/// absent parameter, never a null one, so `null` leaves its type.
fn query_parameters(schema: &Value) -> Vec<Value> {
    let required: Vec<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let mut out = Vec::new();
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        let mut property = property.clone();
        let description = property.as_object_mut().and_then(|p| p.remove("description"));
        if let Some(Value::Array(types)) = property.get_mut("type") {
            types.retain(|t| t != "null");
            if let [only] = types.as_slice() {
                property["type"] = only.clone();
            }
        }
        let mut parameter =
            json!({"name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": property});
        if let Some(description) = description {
            parameter["description"] = description;
        }
        out.push(parameter);
    }
    out
}

/// The JSON body, from the schema of the type the handler reads it into.
fn request_body(route: &Route) -> Option<Value> {
    let mut schema = (route.body?)().to_value();
    if let Some(o) = schema.as_object_mut() {
        o.remove("$schema");
    }
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
        ("get", "/api/v1/export/datapackage.json") => (
            "200",
            json!({
                "description": "a Frictionless tabular data package descriptor",
                "content": {"application/json": {"schema": {"type": "object"}}}
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
        ("get", "/api/v1/cameras/{id}/snapshot.jpg") => {
            ("200", json!({"description": "the picture", "content": {"image/jpeg": {"schema": {"type": "string"}}}}))
        }
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
        || path.starts_with("/api/v1/export/")
        || method == "post"
        || path == "/api/v1/alerts"
        || path == "/api/v1/audit"
    {
        add(&mut r, "400");
    }
    // Unknown ids and files, and the junction, police and login routes while `[signals]`,
    // `[police]` / `[auth]` are not configured.
    if path.contains('{')
        || path.starts_with("/api/v1/export/")
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
                    "content": {"application/json": {"schema": {"type": "object"}}}
                }),
            );
        }
        ("post", "/api/v1/junctions/{id}/override")
        | ("put", "/api/v1/cameras/{id}/config")
        | ("post", "/api/v1/cameras/{id}/config/rollback") => {
            add(&mut r, "422");
            // Another save of the same camera won the race (PostgreSQL): reload, then decide.
            if path.contains("/config") {
                add(&mut r, "409");
            }
        }
        ("post", "/api/v1/alerts/{id}/ack") => add(&mut r, "409"),
        // The camera refuses (its `allow_snapshots = false`), or does not answer in time.
        ("post", "/api/v1/cameras/{id}/snapshot") => {
            add(&mut r, "409");
            add(&mut r, "504");
        }
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
        || path.starts_with("/api/v1/export/")
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
            json!({"summary": summary, "parameters": parameters(&route), "responses": responses(method, path, auth)});
        match auth {
            Auth::Bearer => op["security"] = json!([{"bearer": []}]),
            Auth::Session | Auth::Operator => op["security"] = json!([{"session": []}, {"bearer": []}, {}]),
            Auth::None => {}
        }
        if let Some(body) = request_body(&route) {
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
        // Self-contained: no schema refers to a definition the document does not hold.
        let text = doc.to_string();
        assert!(!text.contains("$defs") && !text.contains("\"$ref\":\"#/$defs"), "{text}");
    }

    #[test]
    fn query_parameters_and_bodies_come_from_the_handlers_types() {
        let doc = document();
        let params = |method: &str, path: &str| -> Vec<Value> {
            doc["paths"][path][method]["parameters"].as_array().unwrap().clone()
        };
        let named = |list: &[Value], name: &str| list.iter().find(|p| p["name"] == name).cloned().unwrap();
        let audit = params("get", "/api/v1/audit");
        let limit = named(&audit, "limit");
        assert_eq!(limit["required"], false);
        assert_eq!(limit["schema"]["type"], "integer");
        assert_eq!(
            (limit["schema"]["minimum"].as_f64(), limit["schema"]["maximum"].as_f64()),
            (Some(1.0), Some(5000.0))
        );
        assert_eq!(limit["schema"]["default"], 200);
        let export = params("get", "/api/v1/export/counts");
        assert_eq!(named(&export, "camera")["required"], true);
        assert_eq!(named(&export, "format")["schema"]["enum"], json!(["csv", "json"]));
        assert_eq!(named(&export, "from")["schema"]["type"], "string", "an Option is absent, never null");
        assert!(named(&export, "from")["description"].as_str().unwrap().contains("a day before"));
        let package = params("get", "/api/v1/export/datapackage.json");
        assert_eq!(named(&package, "camera")["required"], true);
        assert!(package.iter().all(|p| p["name"] != "format"), "the package's CSV is always CSV");
        for path in ["/api/v1/cameras/{id}/counts", "/api/v1/junctions/{id}/detectors"] {
            let names: Vec<String> =
                params("get", path).iter().filter_map(|p| p["name"].as_str().map(String::from)).collect();
            assert_eq!(names, ["id", "from", "to"], "{path}");
        }
        let json_body =
            |path: &str| doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"].clone();
        let body = &json_body("/api/v1/junctions/{id}/override");
        assert_eq!(body["additionalProperties"], false, "{body}");
        assert_eq!(body["required"], json!(["greens_ms", "duration_s"]));
        assert_eq!(body["properties"]["duration_s"]["maximum"].as_f64(), Some(28800.0));
        let login = &json_body("/api/v1/auth/login");
        assert_eq!(login["required"], json!(["username", "password"]));
        let geometry =
            &doc["paths"]["/api/v1/cameras/{id}/config"]["put"]["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(geometry["properties"]["lines"]["items"]["required"], json!(["name", "a", "b"]), "{geometry}");
        assert!(!geometry.to_string().contains("$ref"), "nested types are inlined: {geometry}");
        assert_eq!(json_body("/api/v1/cameras/{id}/config/rollback")["required"], json!(["version"]));
    }
}
