//! Incidents end to end, all real: `edge-agent run` counts the shared
//! vn_intersection_1080p clip (real decoding and detector) with its counting line
//! declared one-way against the traffic, publishes each wrong-way crossing on
//! `tac/v1/cameras/{id}/events` through Mosquitto; central turns each into one operator
//! alert (never two for one incident id) next to the intervals it stores.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Central, Mosquitto, assets_dir, sibling_binary};

#[test]
fn wrong_way_crossings_on_real_video_become_one_alert_each() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path(), "");
    let central = Central::start(dir.path(), broker.port, "kind = \"sqlite\"\npath = \"c.db\"", "");
    central.wait_healthy(Duration::from_secs(20));
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "[camera]\nid = \"vn-cam\"\nsource = \"{}\"\ninterval_s = 10\n\
             [[lines]]\nname = \"main\"\na = [0, 540]\nb = [1919, 540]\none_way = \"forward\"\n\
             [mqtt]\nhost = \"127.0.0.1\"\nport = {}\nkeep_alive_s = 5\n[outbox]\ndir = \"{}\"\n",
            assets_dir().join("clips/vn_intersection_1080p.mp4").display(),
            broker.port,
            dir.path().join("outbox").display()
        ),
    )
    .unwrap();
    let agent = Command::new(sibling_binary("edge-agent"))
        .args(["run", "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(agent.status.success());
    // What the agent counted against the one-way direction, from its printed intervals.
    let backward: u64 = String::from_utf8_lossy(&agent.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            let b = &v["interval"]["lines"]["main"]["backward"];
            ["car", "motorcycle", "bus", "truck", "bicycle"].iter().map(|k| b[k].as_u64().unwrap_or(0)).sum::<u64>()
        })
        .sum();
    assert!(backward > 5, "the clip's traffic crosses backward: {backward}");
    let t = Instant::now();
    let incidents = loop {
        let (code, body) = central.get("/api/v1/alerts");
        assert_eq!(code, 200, "{body}");
        let alerts: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
        let incidents: Vec<serde_json::Value> = alerts.into_iter().filter(|a| a["kind"] == "incident").collect();
        if incidents.len() as u64 >= backward || t.elapsed() > Duration::from_secs(15) {
            break incidents;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(incidents.len() as u64, backward, "one alert per wrong-way crossing: {incidents:#?}");
    assert!(incidents.iter().all(|a| a["active"] == true
        && a["subject"].as_str().is_some_and(|s| s.starts_with("vn-cam/"))
        && a["detail"].as_str().is_some_and(|d| d.starts_with("wrong-way "))));
    let (_, metrics) = central.get("/metrics");
    assert_eq!(common::metric(&metrics, "central_incidents_total") as u64, backward);
}
