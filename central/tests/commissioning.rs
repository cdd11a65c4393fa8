//! Commissioning a camera from the dashboard, end to end on real parts: Mosquitto, central
//! with `[auth]` and `[map]`, a real `edge-agent run` on a shared clip served over RTSP
//! (`clip-rtsp-server`), and Debian's headless Chromium driven by Playwright
//! (`central/web/tests/commissioning.mjs`). The browser asks for a snapshot, draws a line and
//! a zone on it with the mouse, saves, sees the agent run the new version within 5 s, is
//! refused a 1 px line (in the browser and by the API), rolls back, and asks an offline
//! camera for a picture; a viewer sees the editor read-only. Here: the next interval counts
//! on the drawn line, and every snapshot request and save is in the audit log.
//! Screenshots go to `target/test-output/commissioning/`.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Central, Mosquitto, sibling_binary};

const CAMERA: &str = "cam-c";
const OFFLINE: &str = "cam-off";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn login(port: u16, user: &str, password: &str) -> String {
    let body = serde_json::json!({"username": user, "password": password}).to_string();
    let out = Command::new("curl")
        .args(["-s", "-X", "POST", "-H", "content-type: application/json", "-d", &body])
        .arg(format!("http://127.0.0.1:{port}/api/v1/auth/login"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["token"].as_str().unwrap_or_else(|| panic!("login {user}: {v}")).to_string()
}

fn get_json(port: u16, path: &str, token: &str) -> serde_json::Value {
    let (code, _, body) = common::http_request(port, path, &format!("Authorization: Bearer {token}\r\n"));
    assert_eq!(code, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The clip served over RTSP, looping; returns the server and its URL once it listens.
fn rtsp_server(clip: &std::path::Path) -> (Killed, String) {
    use std::io::BufRead;
    let mut child = Command::new(sibling_binary("clip-rtsp-server"))
        .args(["--clip", clip.to_str().unwrap(), "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut url).unwrap();
    assert!(url.starts_with("rtsp://127.0.0.1:"), "server said {url:?}");
    (Killed(child), url.trim().to_string())
}

#[test]
fn an_operator_commissions_a_camera_from_the_dashboard() {
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    assert!(web.join("node_modules/playwright-core").exists(), "run scripts/setup.sh first (npm packages)");
    assert!(std::path::Path::new("/usr/bin/chromium").exists(), "run scripts/setup.sh first (chromium)");
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("test-output/commissioning");
    let _ = std::fs::remove_dir_all(&out);
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path(), "");

    let (operator_pw, viewer_pw) = ("op-pass-5531", "view-pass-7710");
    let users = common::auth_users(&[("operator", "operator", operator_pw), ("viewer", "viewer", viewer_pw)]);
    // Short snapshot timeout: the offline camera's refusal is the step that waits for it.
    let extra = format!(
        "snapshot_timeout_s = 3\n[auth]\nlogin_per_minute = 60\n{users}\n\
         [[map.camera]]\nid = \"{CAMERA}\"\nname = \"Commissioned\"\nlat = 10.78\nlon = 106.70\n\
         [[map.camera]]\nid = \"{OFFLINE}\"\nname = \"No agent\"\nlat = 10.77\nlon = 106.70\n"
    );
    let central = Central::start(dir.path(), broker.port, "kind = \"sqlite\"\npath = \"c.db\"", &extra);
    central.wait_healthy(Duration::from_secs(20));

    // The agent: its file config counts on `file-line`; 2 s intervals.
    let clip = common::assets_dir().join("clips/multilane_road_360p.mp4");
    let (_rtsp, url) = rtsp_server(&clip);
    let agent_conf = dir.path().join("camera.toml");
    std::fs::write(
        &agent_conf,
        format!(
            "[camera]\nid = \"{CAMERA}\"\nsource = \"{url}\"\ninterval_s = 2\n\
             [[lines]]\nname = \"file-line\"\na = [125, 200]\nb = [600, 200]\n\
             [mqtt]\nhost = \"127.0.0.1\"\nport = {}\nkeep_alive_s = 5\n[outbox]\ndir = \"{}\"\n",
            broker.port,
            dir.path().join("outbox").display()
        ),
    )
    .unwrap();
    let _agent = Killed(
        Command::new(sibling_binary("edge-agent"))
            .args(["run", "--config", agent_conf.to_str().unwrap()])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Ready once central has stored a counted interval from it.
    let token = login(central.http_port, "operator", operator_pw);
    let counts = |token: &str| {
        get_json(central.http_port, &format!("/api/v1/cameras/{CAMERA}/counts?from=0&to=99999999999999"), token)
    };
    let t0 = Instant::now();
    while counts(&token)["intervals"].as_array().is_none_or(|a| a.is_empty()) {
        assert!(t0.elapsed() < Duration::from_secs(60), "no interval from the agent within 60 s");
        std::thread::sleep(Duration::from_millis(250));
    }

    let node = Command::new("node")
        .arg(web.join("tests/commissioning.mjs"))
        .current_dir(&web)
        .env("BASE", format!("http://127.0.0.1:{}", central.http_port))
        .env("CAMERA", CAMERA)
        .env("OFFLINE", OFFLINE)
        .env("PASSWORD_OPERATOR", operator_pw)
        .env("PASSWORD_VIEWER", viewer_pw)
        .env("OUT", &out)
        .output()
        .expect("node runs");
    let log = format!("{}{}", String::from_utf8_lossy(&node.stdout), String::from_utf8_lossy(&node.stderr));
    println!("{log}");
    assert!(node.status.success(), "browser steps failed:\n{log}");
    for shot in
        ["01-snapshot.png", "02-drawn.png", "03-applied.png", "04-refused.png", "05-rolled-back.png", "06-offline.png"]
    {
        assert!(out.join(shot).metadata().is_ok_and(|m| m.len() > 10_000), "screenshot {shot} missing or empty");
    }
    assert!(out.join("07-viewer.png").exists() && out.join("08-fleet.png").exists());

    // After the rollback the agent runs the first drawn version again: an interval that
    // ends after it was applied counts on the browser's line (`line-1`), not the file's.
    let config = get_json(central.http_port, &format!("/api/v1/cameras/{CAMERA}/config"), &token);
    let running = config["running_version"].as_u64().unwrap();
    assert_eq!(running, config["version"].as_u64().unwrap(), "the agent runs the latest version: {config}");
    let applied_ms = config["history"][0]["acked_ms"].as_i64().unwrap();
    let t0 = Instant::now();
    let latest_lines = loop {
        let c = counts(&token);
        let last = c["intervals"].as_array().unwrap().last().cloned().unwrap();
        if last["start_ms"].as_i64().unwrap() >= applied_ms - 2_000 && last["end_ms"].as_i64().unwrap() > applied_ms {
            break last["lines"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "no interval after version {running} was applied");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(latest_lines, ["line-1"], "the next interval counts on the drawn line");

    // The fleet view's facts, as the API gives them.
    let overview = get_json(central.http_port, "/api/v1/overview", &token);
    let cam = overview["cameras"].as_array().unwrap().iter().find(|c| c["camera_id"] == CAMERA).unwrap().clone();
    assert!(cam["model_id"].as_str().is_some_and(|m| m.starts_with("yolox")), "{cam}");
    assert!(cam["box_profile"].as_str().is_some_and(|b| !b.is_empty()), "{cam}");
    assert!(cam["calibration"].is_null() && cam["last_snapshot_ms"].as_i64().is_some(), "{cam}");

    // Audited: each snapshot request (the offline camera's too) and each save and rollback.
    let audit: Vec<serde_json::Value> =
        serde_json::from_value(get_json(central.http_port, "/api/v1/audit", &token)).unwrap();
    let by =
        |action: &str, target: &str| audit.iter().filter(|e| e["action"] == action && e["target"] == target).count();
    assert!(by("snapshot_request", CAMERA) >= 1, "{audit:?}");
    assert_eq!(by("snapshot_request", OFFLINE), 1, "{audit:?}");
    assert!(by("config_save", CAMERA) >= 2 && by("config_rollback", CAMERA) == 1, "{audit:?}");
    assert!(!audit.iter().any(|e| e["actor"] == "viewer" && e["outcome"] == "accepted" && e["action"] != "login"));
}
