//! The operator dashboard in a real browser: Debian's headless Chromium driven by
//! Playwright (`central/web/tests/dashboard.mjs`) against real processes — Mosquitto,
//! central with `[auth]`, `[map]` and `[signals]`, and `junction-agent` running
//! central's plans (dry-run). Steps: log in; the overview lists every configured camera;
//! a count published to the broker shows on the camera view within 5 s; an operator
//! override is accepted, issued, acknowledged by the junction and audited; an alert is
//! acknowledged; a viewer cannot override; Vietnamese text; the wall-screen layout.
//! Screenshots and `metrics.json` (page weight, first paint, publish→screen) go to
//! `target/test-output/dashboard/`.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{Central, Mosquitto, mqtt_publish, plan_key, sample_junction};

const CAMERAS: [&str; 4] = ["cam-n", "cam-s", "cam-e", "cam-w"];

fn publish(port: u16, topic: &str, msg: &str) {
    mqtt_publish(port, 1, topic, msg);
}

fn status(camera: &str, seq: u64, state: &str) -> String {
    serde_json::json!({
        "schema_version": "1.0",
        "agent_id": camera,
        "epoch": 1,
        "seq": seq,
        "camera_id": camera,
        "state": state,
        "fps": 12.5,
        "coverage": 1.0,
        "outbox_depth": 0,
        "dropped": 0,
        "uptime_s": 5,
        "model": null
    })
    .to_string()
}

fn report(camera: &str, seq: u64, cars: u32, motorcycles: u32) -> String {
    let end = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 / 60_000
        * 60_000;
    serde_json::json!({
        "schema_version": "1.1", "agent_id": camera, "epoch": 1, "seq": seq, "camera_id": camera,
        "model": {"id": "yolox_nano_416", "sha256": "cd".repeat(32)},
        "interval": {"start_ms": end - 60_000, "end_ms": end, "coverage": 1.0, "fps": 12.5, "frames": 750,
            "lines": {"stopline": {"forward": {
                "car": cars,
                "motorcycle": motorcycles,
                "bus": 1,
                "truck": 0,
                "bicycle": 0
            },
                                   "backward": {"car": 0, "motorcycle": 2, "bus": 0, "truck": 0, "bicycle": 0}}},
            "zones": {}, "movements": [],
            // A calibrated camera (1.1): the speeds of the crossings.
            "speeds": {"stopline": {"all": {"vehicles": 4, "mean_kmh": 31.4, "p85_kmh": 38.0},
                "classes": {"car": {"vehicles": 3, "mean_kmh": 33.0, "p85_kmh": 38.0}}}}}
    })
    .to_string()
}

fn login(port: u16, user: &str, password: &str) -> String {
    let body = serde_json::json!({"username": user, "password": password}).to_string();
    let out = Command::new("curl")
        .args([
            "-s",
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "-d",
            &body,
            &format!("http://127.0.0.1:{port}/api/v1/auth/login"),
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("login {user}: {e}: {}", String::from_utf8_lossy(&out.stdout)));
    v["token"].as_str().unwrap_or_else(|| panic!("login {user}: {v}")).to_string()
}

#[test]
fn dashboard_in_headless_chromium() {
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    assert!(
        web.join("node_modules/playwright-core").exists(),
        "run scripts/setup.sh first: it installs the dashboard's npm packages (central/web/node_modules)"
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "run scripts/setup.sh first: it installs Debian's chromium"
    );
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("test-output/dashboard");
    let _ = std::fs::remove_dir_all(&out);

    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path(), "");
    let public = plan_key(dir.path());
    let (operator_pw, viewer_pw, admin_pw) = ("op-pass-4821", "view-pass-9917", "admin-pass-3310");
    let users = common::auth_users(&[
        ("admin", "admin", admin_pw),
        ("operator", "operator", operator_pw),
        ("viewer", "viewer", viewer_pw),
    ]);
    let places: String = CAMERAS
        .iter()
        .zip([(10.7800, 106.7000), (10.7760, 106.7002), (10.7781, 106.7025), (10.7779, 106.6975)])
        .map(|(id, (lat, lon))| {
            format!("[[map.camera]]\nid = \"{id}\"\nname = \"{id} approach\"\nlat = {lat}\nlon = {lon}\n")
        })
        .collect();
    let extra = format!(
        "[signals]\njunctions = [\"hcmc_sample_4arm\"]\nsigning_key_file = \"plan.key\"\nkey_id = \"central-test\"\n\
            retime_every_s = 10\n\
         [auth]\nlogin_per_minute = 30\n{users}\n{places}\n[[map.junction]]\nid = \"hcmc_sample_4arm\"\n\
             name = \"Sample junction\"\nlat = 10.7780\nlon = 106.7000\n"
    );
    let central = Central::start(dir.path(), broker.port, "kind = \"sqlite\"\npath = \"c.db\"", &extra);
    central.wait_healthy(Duration::from_secs(20));
    let _junction = sample_junction(broker.port, &public);
    // Three cameras report; cam-e's agent says it is offline (an alert to acknowledge);
    // cam-w never reports (listed as "no data", never missing).
    publish(broker.port, "tac/v1/cameras/cam-n/status", &status("cam-n", 1, "online"));
    publish(broker.port, "tac/v1/cameras/cam-s/status", &status("cam-s", 1, "degraded"));
    publish(broker.port, "tac/v1/cameras/cam-e/status", &status("cam-e", 1, "offline"));

    let (cars, bikes) = (7, 41);
    let node = Command::new("node")
        .arg(web.join("tests/dashboard.mjs"))
        .current_dir(&web)
        .env("BASE", format!("http://127.0.0.1:{}", central.http_port))
        .env("MQTT_PORT", broker.port.to_string())
        .env("COUNT_TOPIC", "tac/v1/cameras/cam-n/counts")
        .env("COUNT_REPORT", report("cam-n", 1, cars, bikes))
        .env("COUNT_TOTAL", (cars + bikes + 1 + 2).to_string())
        .env("CAMERAS", CAMERAS.join(","))
        .env("JUNCTION", "hcmc_sample_4arm")
        .env("PASSWORD_OPERATOR", operator_pw)
        .env("PASSWORD_VIEWER", viewer_pw)
        .env("OUT", &out)
        .output()
        .expect("node runs");
    let log = format!("{}{}", String::from_utf8_lossy(&node.stdout), String::from_utf8_lossy(&node.stderr));
    println!("{log}");
    assert!(node.status.success(), "browser steps failed:\n{log}");
    for shot in [
        "02-overview.png",
        "03-camera-live.png",
        "04-junction-override.png",
        "05-audit.png",
        "06-alerts-acked.png",
        "07-viewer-junction.png",
        "08-overview-vi.png",
    ] {
        assert!(out.join(shot).metadata().is_ok_and(|m| m.len() > 10_000), "screenshot {shot} missing or empty");
    }

    // The audit log, read by an admin through the API: the override and the ack, by the
    // operator, and the viewer's refused override is not in it as accepted.
    let token = login(central.http_port, "admin", admin_pw);
    let (code, _, body) =
        common::http_request(central.http_port, "/api/v1/audit", &format!("Authorization: Bearer {token}\r\n"));
    assert_eq!(code, 200, "{body}");
    let log: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let has = |action: &str, actor: &str| {
        log.iter().any(|e| e["action"] == action && e["actor"] == actor && e["outcome"] == "accepted")
    };
    assert!(has("override", "operator"), "override audited: {body}");
    assert!(has("alert_ack", "operator"), "ack audited: {body}");
    assert!(has("login", "viewer"));
    assert!(!has("override", "viewer"));
    // The NTCIP-style volume/occupancy view: cam-n's line carried the published count;
    // cam-w never reported: no periods, and no gaps either (it has no record yet,
    // `since_ms` null), never a zero volume.
    let (code, _, body) = common::http_request(
        central.http_port,
        "/api/v1/junctions/hcmc_sample_4arm/detectors",
        &format!("Authorization: Bearer {token}\r\n"),
    );
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let detector = |camera: &str| {
        v["detectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["camera_id"] == camera)
            .cloned()
            .unwrap_or_else(|| panic!("{camera}: {body}"))
    };
    let north = detector("cam-n");
    assert_eq!((north["approach"].as_str(), north["line"].as_str()), (Some("north"), Some("stopline")));
    assert_eq!(north["periods"][0]["volume"], cars + bikes + 1 + 2);
    assert!((north["periods"][0]["flow_per_hour"].as_f64().unwrap() - 60.0 * (cars + bikes + 3) as f64).abs() < 1e-6);
    let west = detector("cam-w");
    assert!(west["periods"].as_array().unwrap().is_empty());
    assert_eq!((&west["gaps"], &west["since_ms"]), (&serde_json::json!([]), &serde_json::Value::Null), "{west}");
    // Without a session the operator API answers 401, and a viewer's token is refused 403.
    assert_eq!(central.get("/api/v1/cameras").0, 401);
    let viewer = login(central.http_port, "viewer", viewer_pw);
    assert_eq!(
        common::http_request(central.http_port, "/api/v1/audit", &format!("Authorization: Bearer {viewer}\r\n")).0,
        403
    );
}
