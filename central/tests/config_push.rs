//! Camera config push end to end against real Mosquitto and the real central binary, on
//! SQLite and on PostgreSQL: an operator saves a geometry, the agent's topic gets it
//! retained (a late subscriber too), the agent's acks show in the API and the fleet view,
//! an invalid geometry is refused with its field path and never published, a viewer
//! cannot save, a rollback is a new version with the old geometry, and the audit log has
//! each change. The test plays the agent with `mosquitto_pub`.

mod common;

use std::time::{Duration, Instant};

use common::{Central, Mosquitto, Postgres, Subscriber, http_call, mqtt_publish};
use protocol::camera_config::{ConfigAck, ConfigOutcome, ConfigPush, Geometry, LineSpec, Problem};
use protocol::messages::{AgentState, Envelope, Status};
use serde_json::Value;

const CONFIG: &str = "tac/v1/cameras/cam-a/config";

fn geometry(x: f32) -> Geometry {
    let line = LineSpec { name: "stop-line".into(), a: [10.0, 200.0], b: [x, 200.0], one_way: None };
    Geometry { lines: vec![line], ..Default::default() }
}

fn call(port: u16, method: &str, path: &str, token: &str, body: &str) -> (u16, Value) {
    let (code, text) = http_call(port, method, path, &format!("Authorization: Bearer {token}\r\n"), body);
    (code, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn login(port: u16, user: &str, password: &str) -> String {
    let body = serde_json::json!({"username": user, "password": password}).to_string();
    let (code, text) = http_call(port, "POST", "/api/v1/auth/login", "", &body);
    assert_eq!(code, 200, "{text}");
    serde_json::from_str::<Value>(&text).unwrap()["token"].as_str().unwrap().to_string()
}

/// Polls `GET path` until `done` holds, for at most 10 s.
fn wait_for(port: u16, token: &str, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let t = Instant::now();
    loop {
        let (code, v) = call(port, "GET", path, token, "");
        if code == 200 && done(&v) {
            return v;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "{what}: last answer {code} {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The one push a subscriber received (`-F "%r %p"`: retained flag, payload).
fn received_push(sub: Subscriber) -> (bool, ConfigPush) {
    let out = sub.output();
    let line = out.lines().next().unwrap_or_else(|| panic!("no push received: {out:?}"));
    let (retained, payload) = line.split_once(' ').unwrap();
    let envelope: Envelope<ConfigPush> = serde_json::from_str(payload).unwrap();
    (retained == "1", envelope.body)
}

fn ack(port: u16, version: u64, outcome: ConfigOutcome, problems: Vec<Problem>, running_version: u64) {
    let body = ConfigAck { camera_id: "cam-a".into(), version, outcome, problems, running_version };
    let json = serde_json::to_string(&Envelope::new("cam-a", 1, version, body)).unwrap();
    mqtt_publish(port, 1, "tac/v1/cameras/cam-a/config/ack", &json);
}

fn scenario(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Mosquitto::start(dir.path(), "");
    let users = common::auth_users(&[("olga", "operator", "op-pass-5521"), ("vera", "viewer", "view-pass-7713")]);
    let extra = format!(
        "[auth]\nlogin_per_minute = 100\n{users}[[map.camera]]\nid = \"cam-m\"\nname = \"placed\"\nlat = 10.7\n\
         lon = 106.7\n"
    );
    let central = Central::start(dir.path(), broker.port, store, &extra);
    central.wait_healthy(Duration::from_secs(20));
    let port = central.http_port;
    let op = login(port, "olga", "op-pass-5521");
    let viewer = login(port, "vera", "view-pass-7713");

    // cam-a's agent reports in, so central knows it; cam-m is only on the map.
    let status = Status {
        camera_id: "cam-a".into(),
        state: AgentState::Online,
        fps: 10.0,
        coverage: 1.0,
        outbox_depth: 0,
        dropped: 0,
        uptime_s: 5,
        model: None,
        calibration: None,
        box_profile: None,
    };
    let status = serde_json::to_string(&Envelope::new("cam-a", 1, 1, status)).unwrap();
    mqtt_publish(broker.port, 1, "tac/v1/cameras/cam-a/status", &status);
    let cameras = wait_for(port, &viewer, "/api/v1/cameras", "cam-a listed", |v| v.to_string().contains("cam-a"));
    assert_eq!(
        (cameras[0]["config_version"].as_u64(), cameras[0]["running_config_version"].as_u64()),
        (Some(0), Some(0))
    );
    let (code, placed) = call(port, "GET", "/api/v1/cameras/cam-m/config", &viewer, "");
    assert_eq!((code, &placed["version"], &placed["running_version"]), (200, &Value::from(0), &Value::from(0)));
    assert_eq!(placed["history"], serde_json::json!([]));
    let g1 = serde_json::to_string(&geometry(300.0)).unwrap();
    assert_eq!(call(port, "PUT", "/api/v1/cameras/cam-zz/config", &op, &g1).0, 404, "an unknown camera");

    // Save version 1: a subscriber gets it, and so does one that subscribes afterwards.
    let early = Subscriber::start(broker.port, &["-q", "1", "-t", CONFIG, "-F", "%r %p", "-C", "1", "-W", "10"]);
    let (code, saved) = call(port, "PUT", "/api/v1/cameras/cam-a/config", &op, &g1);
    assert_eq!((code, &saved["version"]), (200, &Value::from(1)), "{saved}");
    let (_, push) = received_push(early);
    assert_eq!((push.camera_id.as_str(), push.version, &push.geometry), ("cam-a", 1, &geometry(300.0)));
    let late = Subscriber::start(broker.port, &["-q", "1", "-t", CONFIG, "-F", "%r %p", "-C", "1", "-W", "10"]);
    assert_eq!(received_push(late), (true, push), "retained for agents that connect later");

    // The agent applies it.
    ack(broker.port, 1, ConfigOutcome::Applied, vec![], 1);
    let path = "/api/v1/cameras/cam-a/config";
    let got = wait_for(port, &viewer, path, "running version 1", |v| v["running_version"] == 1);
    assert_eq!((got["version"].as_u64(), got["history"][0]["state"].as_str()), (Some(1), Some("applied")));
    assert_eq!(got["geometry"], serde_json::to_value(geometry(300.0)).unwrap());
    assert_eq!(got["history"][0]["author"], "olga");

    // A 1 px line is refused with its path and never published; a viewer may not save.
    let next = Subscriber::start(broker.port, &["-q", "1", "-t", CONFIG, "-R", "-F", "%r %p", "-C", "1", "-W", "10"]);
    let (code, refused) = call(port, "PUT", path, &op, &serde_json::to_string(&geometry(11.0)).unwrap());
    assert_eq!(code, 422, "{refused}");
    assert_eq!(refused["problems"][0]["path"], "lines[0].b", "{refused}");
    // A calibration whose points lie on one line defines no road plane: refused with why.
    let mut on_a_line = geometry(300.0);
    on_a_line.calibration = Some(protocol::camera_config::CalibrationSpec {
        points: (0..4)
            .map(|i| protocol::camera_config::SurveyPoint {
                image: [100.0 * i as f64, 50.0],
                ground: [3.0 * i as f64, 0.0],
            })
            .collect(),
        max_error_m: 0.5,
    });
    let (code, refused) = call(port, "PUT", path, &op, &serde_json::to_string(&on_a_line).unwrap());
    assert_eq!(code, 422, "{refused}");
    assert_eq!(refused["problems"][0]["path"], "calibration.points", "{refused}");
    assert!(refused["problems"][0]["message"].as_str().unwrap().contains("collinear"), "{refused}");
    let (code, text) = call(port, "PUT", path, &viewer, &g1);
    assert_eq!(code, 403, "{text}");
    assert_eq!(call(port, "PUT", path, &op, "{\"lines\": 3}").0, 400);
    let (code, saved) = call(port, "PUT", path, &op, &serde_json::to_string(&geometry(500.0)).unwrap());
    assert_eq!((code, &saved["version"]), (200, &Value::from(2)), "{saved}");
    let (_, push) = received_push(next);
    assert_eq!((push.version, &push.geometry), (2, &geometry(500.0)), "the refused geometry was not published");

    // Rollback to 1: version 3 with version 1's geometry, retained.
    let (code, text) = call(port, "POST", &format!("{path}/rollback"), &op, "{\"version\": 9}");
    assert_eq!(code, 404, "{text}");
    let (code, rolled) = call(port, "POST", &format!("{path}/rollback"), &op, "{\"version\": 1}");
    assert_eq!((code, &rolled["version"], &rolled["rollback_to"]), (200, &Value::from(3), &Value::from(1)));
    let late = Subscriber::start(broker.port, &["-q", "1", "-t", CONFIG, "-F", "%r %p", "-C", "1", "-W", "10"]);
    let (retained, push) = received_push(late);
    assert!(retained);
    assert_eq!((push.version, &push.geometry), (3, &geometry(300.0)));

    // The broker restarts without its retained store: central republishes the newest
    // version when it reconnects, so an agent connecting afterwards still gets it.
    broker.kill9();
    broker.restart();
    let first = Subscriber::start(broker.port, &["-q", "1", "-t", CONFIG, "-F", "%r %p", "-C", "1", "-W", "20"]);
    assert_eq!(received_push(first).1.version, 3, "republished after the broker lost it");
    let late = Subscriber::start(broker.port, &["-q", "1", "-t", CONFIG, "-F", "%r %p", "-C", "1", "-W", "10"]);
    assert_eq!(received_push(late), (true, push), "retained again");

    // The agent refuses version 3: the problems show in the history, it still runs 1.
    let problem = Problem { path: "lines[0].a".into(), message: "outside the 640x360 frame".into() };
    ack(broker.port, 3, ConfigOutcome::Rejected, vec![problem], 1);
    let got = wait_for(port, &viewer, path, "v3 rejected", |v| v["history"][0]["state"] == "rejected");
    let history = got["history"].as_array().unwrap();
    assert_eq!(history.iter().map(|h| h["version"].as_u64().unwrap()).collect::<Vec<_>>(), [3, 2, 1]);
    assert_eq!(history[0]["problems"][0]["path"], "lines[0].a");
    assert_eq!((&history[0]["rollback_of"], &history[1]["state"]), (&Value::from(1), &Value::from("pending")));
    assert_eq!((got["version"].as_u64(), got["running_version"].as_u64()), (Some(3), Some(1)));
    assert_eq!(got["geometry"], serde_json::to_value(geometry(300.0)).unwrap());

    // The fleet view and the audit log.
    let (_, cameras) = call(port, "GET", "/api/v1/cameras", &viewer, "");
    let cam = cameras.as_array().unwrap().iter().find(|c| c["camera_id"] == "cam-a").unwrap().clone();
    assert_eq!((cam["config_version"].as_u64(), cam["running_config_version"].as_u64()), (Some(3), Some(1)));
    let (_, overview) = call(port, "GET", "/api/v1/overview", &viewer, "");
    let cam = overview["cameras"].as_array().unwrap().iter().find(|c| c["camera_id"] == "cam-a").unwrap().clone();
    assert_eq!((cam["config_version"].as_u64(), cam["running_config_version"].as_u64()), (Some(3), Some(1)));
    let (code, log) = call(port, "GET", "/api/v1/audit", &op, "");
    assert_eq!(code, 200, "{log}");
    let entries: Vec<(String, String, String, Value)> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"] == "cam-a")
        .map(|e| {
            let detail = serde_json::from_str(e["detail"].as_str().unwrap()).unwrap();
            (
                e["actor"].as_str().unwrap().into(),
                e["action"].as_str().unwrap().into(),
                e["outcome"].to_string(),
                detail,
            )
        })
        .collect();
    let has = |action: &str, version: u64| {
        entries.iter().any(|(actor, a, outcome, d)| {
            actor == "olga" && a == action && outcome.contains("accepted") && d["version"] == version
        })
    };
    assert!(has("config_save", 1) && has("config_save", 2), "{entries:?}");
    assert!(has("config_rollback", 3), "{entries:?}");
    assert!(entries.iter().any(|(_, a, _, d)| a == "config_rollback" && d["rollback_to"] == 1), "{entries:?}");
    assert!(entries.iter().any(|(_, _, outcome, _)| outcome.contains("refused")), "the refusal is audited too");
}

#[test]
fn config_push_on_sqlite() {
    scenario("kind = \"sqlite\"\npath = \"c.db\"");
}

#[test]
fn config_push_on_postgres() {
    let pg = Postgres::start();
    scenario(&format!("kind = \"postgres\"\nurl = \"{}\"", pg.url));
}
