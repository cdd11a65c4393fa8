//! Incidents survive a broken link and a crash: `edge-agent run` counts the shared
//! vn_intersection_1080p clip with its line declared one-way against the traffic while
//! no broker is reachable; once it has reported at least three wrong-way crossings it is
//! SIGKILLed. Its incident outbox holds them. The broker comes up, a reader's persistent
//! session is acknowledged, and the agent is restarted (its line no longer one-way, so it raises no new
//! incident): every stored incident arrives, each exactly once.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use edge_agent::report::outbox::{DEFAULT_MAX_BYTES, Outbox};

fn config(dir: &Path, clip: &str, one_way: bool, port: u16) -> std::path::PathBuf {
    let path = dir.join(if one_way { "first.toml" } else { "second.toml" });
    let clip = edge_agent::assets::assets_dir().join("clips").join(clip);
    let one_way = if one_way { "one_way = \"forward\"\n" } else { "" };
    std::fs::write(
        &path,
        format!(
            "[camera]\nid = \"vn-cam\"\nsource = \"{}\"\ninterval_s = 2\n\
             [[lines]]\nname = \"main\"\na = [0, 540]\nb = [1919, 540]\n{one_way}{}",
            clip.display(),
            common::mqtt_and_outbox(dir, port)
        ),
    )
    .unwrap();
    path
}

fn backward(line: &str) -> u64 {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { return 0 };
    let b = &v["interval"]["lines"]["main"]["backward"];
    ["car", "motorcycle", "bus", "truck", "bicycle"].iter().map(|k| b[k].as_u64().unwrap_or(0)).sum()
}

#[test]
fn incidents_stored_while_the_link_is_down_arrive_once_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();

    // Link down: nothing listens on `port`.
    let mut agent = Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(["run", "--config", config(dir.path(), "vn_intersection_1080p.mp4", true, port).to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = 0;
    for line in BufReader::new(agent.stdout.take().unwrap()).lines().map_while(Result::ok) {
        seen += backward(&line);
        if seen >= 3 {
            break;
        }
    }
    agent.kill().unwrap(); // SIGKILL
    let _ = agent.wait();
    assert!(seen >= 3, "the clip's traffic crosses the one-way line backward: {seen}");

    let (events, _) = Outbox::open(&dir.path().join("outbox/events"), DEFAULT_MAX_BYTES).unwrap();
    let stored: BTreeSet<String> = events
        .pending_from(0, 10_000)
        .unwrap()
        .into_iter()
        .map(|(_, p)| serde_json::from_slice::<serde_json::Value>(&p).unwrap()["incident_id"].as_str().unwrap().into())
        .collect();
    drop(events);
    assert!(stored.len() as u64 >= seen, "every reported wrong-way crossing was stored: {stored:?}");

    // Link up: a broker, and a reader whose session exists before the agent returns.
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(&conf, format!("listener {port} 127.0.0.1\nallow_anonymous true\n")).unwrap();
    let mut broker =
        Command::new("mosquitto").args(["-c", conf.to_str().unwrap()]).stderr(Stdio::null()).spawn().unwrap();
    let topic = "tac/v1/cameras/vn-cam/events";
    let t = Instant::now();
    while !Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-i", "reader", "-c", "-q", "1", "-t", topic, "-E"])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
    {
        assert!(t.elapsed() < Duration::from_secs(20), "broker never acknowledged the reader's subscription");
        std::thread::sleep(Duration::from_millis(100));
    }
    let restarted = Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .args(["run", "--config", config(dir.path(), "vn_intersection_1080p.mp4", false, port).to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(restarted.success());
    // The restarted agent drained its outboxes before exiting; read everything queued for
    // the reader (a duplicate would show as more messages than incidents).
    let read = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-i", "reader", "-c", "-q", "1", "-t", topic])
        .args(["-W", "5"])
        .output()
        .unwrap();
    let _ = broker.kill();
    let _ = broker.wait();
    let received: Vec<String> = String::from_utf8_lossy(&read.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["incident_id"].as_str().unwrap().into())
        .collect();
    let unique: BTreeSet<String> = received.iter().cloned().collect();
    assert_eq!(unique, stored, "every stored incident arrived");
    assert_eq!(received.len(), unique.len(), "each once: {received:?}");
    let (events, _) = Outbox::open(&dir.path().join("outbox/events"), DEFAULT_MAX_BYTES).unwrap();
    assert_eq!(events.depth(), 0, "the incident outbox emptied on the broker's acknowledgements");
}
