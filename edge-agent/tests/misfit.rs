//! A config drawn on another stream: `edge-agent run` on the 640-px overhead clip with a
//! line drawn for a 1080p picture (it never meets the frame). Before, the camera reported
//! `online` with zero counts, an empty road to anyone reading it. Now its status says
//! `degraded` (published as soon as the state changes, not a heartbeat later) and its log
//! names each point outside the frame. Real Mosquitto.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn config(dir: &Path, port: u16) -> std::path::PathBuf {
    let path = dir.join("camera.toml");
    let clip = edge_agent::assets::assets_dir().join("clips/overhead_road_short.mp4");
    std::fs::write(
        &path,
        format!(
            "[camera]\nid = \"cam-misfit\"\nsource = \"{}\"\ninterval_s = 1\n\
             [[lines]]\nname = \"main\"\na = [0, 700]\nb = [1919, 700]\n{}",
            clip.display(),
            common::mqtt_and_outbox(dir, port)
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_camera_whose_lines_miss_the_picture_reports_degraded_not_online() {
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(&conf, format!("listener {port} 127.0.0.1\nallow_anonymous true\n")).unwrap();
    let mut broker =
        Command::new("mosquitto").args(["-c", conf.to_str().unwrap()]).stderr(Stdio::null()).spawn().unwrap();

    // A reader of the camera's status, ready once the broker acknowledged its subscription.
    let (lines_tx, lines) = mpsc::channel::<String>();
    let t = Instant::now();
    let mut reader = loop {
        let mut child = Command::new("stdbuf")
            .args(["-oL", "mosquitto_sub", "-d", "-h", "127.0.0.1", "-p", &port.to_string()])
            .args(["-t", "tac/v1/cameras/cam-misfit/status", "-W", "60"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (sub_tx, subscribed) = mpsc::channel();
        let tx = lines_tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if line.contains("received SUBACK") {
                    let _ = sub_tx.send(());
                } else if line.starts_with('{') {
                    let _ = tx.send(line);
                }
            }
        });
        if subscribed.recv_timeout(Duration::from_secs(2)).is_ok() {
            break child;
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(t.elapsed() < Duration::from_secs(20), "the broker never acknowledged the status reader");
    };

    let agent = Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(["run", "--config", config(dir.path(), port).to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let _ = reader.kill();
    let _ = reader.wait();
    let _ = broker.kill();
    let _ = broker.wait();
    let log = String::from_utf8_lossy(&agent.stderr);
    assert!(agent.status.success(), "{log}");
    assert!(log.contains("counting geometry outside the frame"), "{log}");
    assert!(log.contains("lines[0].a") && log.contains("lines[0].b"), "each point is named: {log}");

    let states: Vec<String> = lines
        .try_iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
        .filter_map(|v| v["state"].as_str().map(String::from))
        .collect();
    // `online` on connecting (no frame decoded yet), `degraded` from the first interval
    // on, and never `online` again while nothing can be counted; `offline` at the end.
    let degraded = states.iter().position(|s| s == "degraded").unwrap_or_else(|| panic!("{states:?}"));
    assert!(states[degraded..].iter().all(|s| s != "online"), "{states:?}");
}
