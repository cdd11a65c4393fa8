//! Every route of the route table answers an anonymous request as its declared auth says
//! (the table is the only place auth is declared: the router's per-route check and the
//! OpenAPI document are both built from it), and a viewer's session is refused by every
//! operator route. Real central binary with `[auth]`, `[signals]` and `[police]`, real
//! Mosquitto.

mod common;

use std::time::Duration;

use central::http::access::Auth;
use central::http::routes::table;
use common::{Central, Mosquitto, http_call, plan_key};

/// A concrete request path for a documented one.
fn concrete(path: &str) -> String {
    path.replace("/junctions/{id}", "/junctions/hcmc_sample_4arm")
        .replace("/cameras/{id}", "/cameras/cam-a")
        .replace("/alerts/{id}", "/alerts/1")
        .replace("{path}", "app.js")
}

#[test]
fn every_route_refuses_or_serves_an_anonymous_request_as_the_table_declares() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path(), "");
    plan_key(dir.path());
    let viewer_hash = central::auth::hash_password("view-pass-1234").unwrap();
    let police_hash = {
        use sha2::Digest;
        sha2::Sha256::digest(b"police-token").iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let extra = format!(
        "[signals]\njunctions = [\"hcmc_sample_4arm\"]\nsigning_key_file = \"plan.key\"\nkey_id = \"k\"\n\
         [auth]\nlogin_per_minute = 1000\n[[auth.users]]\nname = \"vera\"\nrole = \"viewer\"\n\
         password_argon2 = \"{viewer_hash}\"\n\
         [police]\nconsumers = [{{ id = \"pc\", token_sha256 = \"{police_hash}\" }}]\n"
    );
    let central = Central::start(dir.path(), broker.port, "kind = \"sqlite\"\npath = \"c.db\"", &extra);
    central.wait_healthy(Duration::from_secs(20));
    let port = central.http_port;

    let (code, body) =
        http_call(port, "POST", "/api/v1/auth/login", "", r#"{"username":"vera","password":"view-pass-1234"}"#);
    assert_eq!(code, 200, "{body}");
    let token = serde_json::from_str::<serde_json::Value>(&body).unwrap()["token"].as_str().unwrap().to_string();
    let as_viewer = format!("Authorization: Bearer {token}\r\n");

    let routes = table();
    assert!(routes.len() >= 25, "the table lists every route");
    for route in &routes {
        let method = route.method.to_uppercase();
        let path = concrete(route.path);
        // The SSE routes stay open once allowed: only refusals are read to the end.
        let streams = path.ends_with("/live") || path.ends_with("/stream");
        let body = if method == "POST" { "{}" } else { "" };
        if route.auth != Auth::None || !streams {
            let (code, text) = http_call(port, &method, &path, "", body);
            match route.auth {
                Auth::Session | Auth::Operator | Auth::Bearer => {
                    assert_eq!(code, 401, "{method} {path} is declared {:?}: {text}", route.auth)
                }
                Auth::None => assert!(
                    ![401, 403, 404, 405].contains(&code),
                    "{method} {path} is declared public but answered {code}: {text}"
                ),
            }
        }
        if route.auth == Auth::Operator {
            let (code, text) = http_call(port, &method, &path, &as_viewer, body);
            assert_eq!(code, 403, "{method} {path} let a viewer through: {text}");
        }
        if route.auth == Auth::Session && !streams {
            let (code, text) = http_call(port, &method, &path, &as_viewer, body);
            assert!(![401, 403, 405].contains(&code), "{method} {path} refused a viewer ({code}): {text}");
        }
    }
}
