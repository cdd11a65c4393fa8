//! What every answer of central carries for browsers, checked over the whole route table
//! (and an unknown path): the CSP with `frame-ancestors 'none'`, `X-Frame-Options`,
//! `nosniff`, `no-referrer`; JSON on every error, axum's own rejections included; with
//! `[http] behind_tls` the session cookie is `Secure` and HSTS is sent. Also the badge
//! colours of the dashboard's stylesheet against WCAG AA contrast.

mod common;

use std::time::Duration;

use common::{Central, Mosquitto};

fn headers_of(raw: &str) -> Vec<(String, String)> {
    raw.lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect()
}

/// The status line, headers and body of one request, as raw HTTP/1.1.
fn call(port: u16, method: &str, path: &str, body: &str) -> (u16, Vec<(String, String)>, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    // SSE routes never end: what arrived before the timeout is enough (headers).
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let code = raw.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (code, headers_of(&raw), body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn start(dir: &std::path::Path, broker: u16, extra: &str) -> Central {
    let users = common::auth_users(&[("olga", "operator", "op-pass-5521")]);
    let central = Central::start(dir, broker, "kind = \"sqlite\"\npath = \"c.db\"", &format!("{extra}{users}"));
    central.wait_healthy(Duration::from_secs(20));
    central
}

#[test]
fn every_answer_carries_the_browser_hardening_and_errors_are_json() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path(), "");
    let central = start(dir.path(), broker.port, "");
    let port = central.http_port;
    let mut paths: Vec<(String, String)> = central::http::routes::table()
        .iter()
        .filter(|r| !r.path.contains("/live") && !r.path.contains("/stream"))
        .map(|r| (r.method.to_ascii_uppercase(), r.path.replace(['{', '}'], "")))
        .collect();
    paths.push(("GET".into(), "/no/such/thing".into()));
    paths.push(("GET".into(), "/".into()));
    assert!(paths.len() > 25, "the whole route table: {}", paths.len());
    for (method, path) in &paths {
        let (code, h, body) = call(port, method, path, "");
        let csp = header(&h, "content-security-policy").unwrap_or_else(|| panic!("{method} {path}: no CSP {h:?}"));
        for directive in ["default-src 'self'", "frame-ancestors 'none'", "script-src 'self'", "style-src 'self'"] {
            assert!(csp.contains(directive), "{method} {path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{method} {path}: {csp}");
        assert_eq!(header(&h, "x-frame-options"), Some("DENY"), "{method} {path}");
        assert_eq!(header(&h, "x-content-type-options"), Some("nosniff"), "{method} {path}");
        assert_eq!(header(&h, "referrer-policy"), Some("no-referrer"), "{method} {path}");
        assert_eq!(header(&h, "strict-transport-security"), None, "no HSTS without behind_tls: {path}");
        if code >= 400 {
            let ct = header(&h, "content-type").unwrap_or_default();
            assert!(ct.starts_with("application/json"), "{method} {path} {code}: {ct} {body:?}");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e} {body:?}"));
            assert!(v["error"].as_str().is_some_and(|m| !m.is_empty()), "{method} {path}: {v}");
        }
    }
    // axum's own rejections, as JSON: a missing query field, a bad body, a wrong method.
    let (code, _, body) = call(port, "GET", "/api/v1/export/counts", "");
    assert_eq!(code, 400, "{body}");
    assert!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["error"].as_str().unwrap().contains("camera"));
    let (code, _, body) = call(port, "POST", "/api/v1/auth/login", "{not json");
    assert!(code == 400 || code == 422, "{code} {body}");
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok(), "{body}");
    let (code, h, body) = call(port, "DELETE", "/healthz", "");
    assert_eq!(code, 405, "{body}");
    assert!(header(&h, "allow").is_some(), "405 keeps its Allow header: {h:?}");
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok(), "{body}");
    // Without TLS in front the cookie must stay usable over plain HTTP.
    let login = r#"{"username":"olga","password":"op-pass-5521"}"#;
    let (code, h, _) = call(port, "POST", "/api/v1/auth/login", login);
    assert_eq!(code, 200);
    assert!(!header(&h, "set-cookie").unwrap().contains("Secure"));
}

#[test]
fn behind_tls_the_cookie_is_secure_and_hsts_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path(), "");
    let central = start(dir.path(), broker.port, "behind_tls = true\n");
    let login = r#"{"username":"olga","password":"op-pass-5521"}"#;
    let (code, h, body) = call(central.http_port, "POST", "/api/v1/auth/login", login);
    assert_eq!(code, 200, "{body}");
    let cookie = header(&h, "set-cookie").unwrap();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(header(&h, "strict-transport-security").is_some_and(|v| v.starts_with("max-age=")), "{h:?}");
    let (_, h, _) = call(central.http_port, "GET", "/healthz", "");
    assert!(header(&h, "strict-transport-security").is_some(), "on every answer: {h:?}");
}

/// WCAG 2.x relative luminance of `#rrggbb`.
fn luminance(hex: &str) -> f64 {
    let c = |i: usize| {
        let v = u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as f64 / 255.0;
        if v <= 0.03928 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * c(1) + 0.7152 * c(3) + 0.0722 * c(5)
}

#[test]
fn badges_meet_wcag_aa_contrast() {
    let css = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/web/app/style.css")).unwrap();
    let mut checked = Vec::new();
    for line in css.lines().filter(|l| l.starts_with(".lvl-") || l.starts_with(".st-")) {
        let value = |prop: &str| {
            let at = line.find(&format!(" {prop}: #")).unwrap_or_else(|| panic!("no {prop} in {line:?}"));
            line[at + prop.len() + 3..at + prop.len() + 10].to_string()
        };
        let (bg, fg) = (luminance(&value("background")), luminance(&value("color")));
        let ratio = (bg.max(fg) + 0.05) / (bg.min(fg) + 0.05);
        assert!(ratio >= 4.5, "{line}: contrast {ratio:.2} < 4.5");
        checked.push(line.split_whitespace().next().unwrap().to_string());
    }
    for needed in [".lvl-A", ".lvl-B", ".lvl-C", ".lvl-D", ".lvl-E", ".lvl-F", ".st-online", ".st-degraded"] {
        assert!(checked.iter().any(|c| c.starts_with(needed)), "{needed} not checked: {checked:?}");
    }
}
