//! The traffic-police feed end to end: a consumer with its token holds an SSE stream
//! open; an agent's status goes offline over MQTT (Mosquitto) and the consumer has the
//! `camera_offline` event within 2 s, and the same event is on
//! `tac/v1/feeds/police/alerts`. A wrong or missing token gets 401 and no stream.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Central, Mosquitto, Subscriber, http_request, mqtt_publish};
use sha2::{Digest, Sha256};

const TOKEN: &str = "police-7f3a-test-token";

fn status(port: u16, camera: &str, seq: u64, state: &str) {
    let msg = serde_json::json!({
        "schema_version": "1.0",
        "agent_id": camera,
        "epoch": 1,
        "seq": seq,
        "camera_id": camera,
        "state": state,
        "fps": 10.0,
        "coverage": 1.0,
        "outbox_depth": 0,
        "dropped": 0,
        "uptime_s": 5,
        "model": null
    });
    mqtt_publish(port, 1, &format!("tac/v1/cameras/{camera}/status"), &msg.to_string());
}

#[test]
fn police_consumer_gets_camera_offline_within_two_seconds_and_bad_tokens_get_401() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path(), "");
    let hash: String = Sha256::digest(TOKEN.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let police = format!("[police]\nconsumers = [{{ id = \"pc-hcmc\", token_sha256 = \"{hash}\" }}]\n");
    let central = Central::start(dir.path(), broker.port, "kind = \"sqlite\"\npath = \"c.db\"", &police);
    central.wait_healthy(Duration::from_secs(20));

    let path = "/api/v1/feeds/police/stream";
    assert_eq!(http_request(central.http_port, path, "").0, 401);
    assert_eq!(http_request(central.http_port, path, "Authorization: Bearer not-the-token\r\n").0, 401);

    status(broker.port, "cam-p", 1, "online");
    let sub = Subscriber::start(broker.port, &["-q", "1", "-t", "tac/v1/feeds/police/alerts", "-C", "1", "-W", "20"]);
    let mut s = TcpStream::connect(("127.0.0.1", central.http_port)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n").unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(s).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    // Ready: the handler subscribes to the feed before it sends the response head.
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");

    let sent = Instant::now();
    status(broker.port, "cam-p", 2, "offline");
    let mut event = None;
    while sent.elapsed() < Duration::from_secs(2) {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100))
            && line == "event: camera_offline"
        {
            let data = rx.recv_timeout(Duration::from_secs(1)).unwrap();
            event = Some((sent.elapsed(), data));
            break;
        }
    }
    let (after, data) = event.expect("camera_offline on the SSE stream within 2 s");
    let v: serde_json::Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!((v["kind"].as_str(), v["camera_id"].as_str()), (Some("camera_offline"), Some("cam-p")), "{v}");
    assert!(after < Duration::from_secs(2), "{after:?}");

    // An incident an agent reports reaches the consumer too, once, though the agent's
    // QoS 1 resend delivers it twice.
    let incident = serde_json::json!({
        "schema_version": "1.0",
        "agent_id": "cam-p",
        "epoch": 1,
        "seq": 1,
        "camera_id": "cam-p",
        "incident_id": "1-42-wrong_way-main",
        "kind": "wrong_way",
        "at_ms": 1_000,
        "line": "main",
        "zone": null,
        "class": "motorcycle",
        "stopped_s": null});
    let sent = Instant::now();
    for _ in 0..2 {
        mqtt_publish(broker.port, 1, "tac/v1/cameras/cam-p/events", &incident.to_string());
    }
    let mut seen = Vec::new();
    while sent.elapsed() < Duration::from_secs(3) {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100))
            && line == "event: wrong_way"
        {
            seen.push((sent.elapsed(), rx.recv_timeout(Duration::from_secs(1)).unwrap()));
        }
    }
    assert_eq!(seen.len(), 1, "one wrong_way event: {seen:?}");
    assert!(seen[0].0 < Duration::from_secs(2), "{:?}", seen[0].0);
    let v: serde_json::Value = serde_json::from_str(seen[0].1.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(
        (v["camera_id"].as_str(), v["line"].as_str(), v["class"].as_str()),
        (Some("cam-p"), Some("main"), Some("motorcycle")),
        "{v}"
    );
    // An incident whose topic names another camera is refused (no event).
    let forged = incident.to_string().replace("1-42", "1-43");
    mqtt_publish(broker.port, 1, "tac/v1/cameras/cam-q/events", &forged);
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(1) {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            assert_ne!(line, "event: wrong_way", "a forged incident was announced");
        }
    }

    let out = sub.output();
    let on_mqtt: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("no MQTT event: {out:?}"));
    assert_eq!(on_mqtt["kind"], "camera_offline");
}
