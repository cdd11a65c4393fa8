//! Central's geometry pushes against a running agent: real Mosquitto, a real RTSP camera
//! (the shared multilane clip served by `clip-rtsp-server`), the real detector. A valid
//! newer push is acknowledged within 5 s and the next interval counts on its line; an
//! older version, a push for another camera and an invalid shape are refused with the
//! field path while the agent keeps counting on the running line; a burst of 100 pushes
//! leaves it on the last valid one. Nothing restarts. A snapshot request is answered with
//! the next frame, annotated, as a JPEG; a camera with `allow_snapshots = false` refuses.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use protocol::camera_config::{ConfigPush, Geometry, LineSpec};
use protocol::messages::Envelope;

const CAMERA: &str = "cam-cfg";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines of a child's stdout, as they come.
fn lines_of(child: &mut Child) -> Receiver<String> {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// A subscriber to `topic`, returned once the broker acknowledged its subscription.
fn subscribe(port: u16, topic: &str) -> (Killed, Receiver<String>) {
    let t = Instant::now();
    loop {
        let mut child = Command::new("stdbuf")
            .args(["-oL", "mosquitto_sub", "-d", "-h", "127.0.0.1", "-p", &port.to_string(), "-q", "1", "-t", topic])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = lines_of(&mut child);
        let (tx, rx) = mpsc::channel();
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut subscribed = false;
        while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            if line.contains("received SUBACK") {
                subscribed = true;
                break;
            }
        }
        if subscribed {
            std::thread::spawn(move || {
                for line in lines.iter().filter(|l| l.starts_with('{')) {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
            return (Killed(child), rx);
        }
        drop(Killed(child));
        assert!(t.elapsed() < Duration::from_secs(20), "the broker never acknowledged {topic}");
    }
}

fn publish(port: u16, topic: &str, payload: &str, retained: bool) {
    let mut args = vec!["-h".to_string(), "127.0.0.1".into(), "-p".into(), port.to_string(), "-q".into(), "1".into()];
    if retained {
        args.push("-r".into());
    }
    args.extend(["-t".into(), topic.into(), "-m".into(), payload.into()]);
    let status = Command::new("mosquitto_pub").args(&args).status().unwrap();
    assert!(status.success());
}

fn push(camera: &str, version: u64, line: &str, b: [f32; 2]) -> String {
    let geometry = Geometry {
        lines: vec![LineSpec { name: line.into(), a: [125.0, b[1]], b, one_way: None }],
        ..Default::default()
    };
    serde_json::to_string(&Envelope::new(
        "central",
        1,
        version,
        ConfigPush { camera_id: camera.into(), version, geometry },
    ))
    .unwrap()
}

/// The next message on `rx` matching `pred`, within `limit`.
fn next_matching(
    rx: &Receiver<String>,
    limit: Duration,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).unwrap_or_else(|_| panic!("nothing matching within {limit:?}"));
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
            && pred(&v)
        {
            return v;
        }
    }
}

fn config(dir: &Path, port: u16, source: &str) -> std::path::PathBuf {
    config_with(dir, port, source, "")
}

fn config_with(dir: &Path, port: u16, source: &str, camera_extra: &str) -> std::path::PathBuf {
    let path = dir.join("camera.toml");
    std::fs::write(
        &path,
        format!(
            "[camera]\nid = \"{CAMERA}\"\nsource = \"{source}\"\ninterval_s = 1\n{camera_extra}\n\
             [[lines]]\nname = \"old\"\na = [125, 200]\nb = [600, 200]\n{}",
            common::mqtt_and_outbox(dir, port)
        ),
    )
    .unwrap();
    path
}

fn broker(dir: &Path) -> (Killed, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(&conf, format!("listener {port} 127.0.0.1\nallow_anonymous true\n")).unwrap();
    let child = Command::new("mosquitto").args(["-c", conf.to_str().unwrap()]).stderr(Stdio::null()).spawn().unwrap();
    (Killed(child), port)
}

fn start_agent(config: &Path) -> (Killed, Receiver<String>) {
    let mut agent = Killed(
        Command::new(env!("CARGO_BIN_EXE_edge-agent"))
            .args(["run", "--config", config.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let intervals = lines_of(&mut agent.0);
    // Running once an interval with frames is out.
    next_matching(&intervals, Duration::from_secs(30), |v| v["interval"]["frames"].as_u64() > Some(0));
    (agent, intervals)
}

fn request(port: u16, camera: &str, id: &str) {
    request_drawn(port, camera, id, true)
}

fn request_drawn(port: u16, camera: &str, id: &str, annotated: bool) {
    let body = protocol::snapshot::SnapshotRequest { camera_id: camera.into(), request_id: id.into(), annotated };
    let topic = format!("tac/v1/cameras/{CAMERA}/snapshot/request");
    publish(port, &topic, &serde_json::to_string(&Envelope::new("central", 1, 1, body)).unwrap(), false);
}

fn decoded(answer: &serde_json::Value) -> image::RgbImage {
    use base64::Engine;
    let jpeg = base64::engine::general_purpose::STANDARD.decode(answer["jpeg_base64"].as_str().unwrap()).unwrap();
    assert!(jpeg.len() <= protocol::snapshot::MAX_SNAPSHOT_JPEG);
    let picture = image::load_from_memory(&jpeg).unwrap().to_rgb8();
    assert_eq!((picture.width(), picture.height(), answer["width"].as_u64()), (640, 360, Some(640)));
    picture
}

/// Per cent of the columns from x = 130 to 590 crossed by a thin red stripe at `y`: red
/// within 3 rows of it and not 8 rows above or below. The counting line (y = 200 from
/// x = 125 to 600, 3 px thick) gives most of them: the labels of vehicles crossing it at
/// that moment are drawn over it (black panels some 60 px wide), as is the line's own
/// name at its start, so not all. A red vehicle is taller than 16 rows, so the scene's
/// own red (a red car passing on the plain picture) is not taken for a drawn line.
fn red_columns_near(picture: &image::RgbImage, y: u32) -> usize {
    let red = |x: u32, y: u32| {
        let p = picture.get_pixel(x, y);
        p[0] > 170 && p[1] < 110 && p[2] < 110
    };
    let columns: Vec<u32> = (130..590).step_by(2).collect();
    let thin = |x: u32| (y - 3..=y + 3).any(|y| red(x, y)) && !red(x, y - 8) && !red(x, y + 8);
    let hits = columns.iter().filter(|&&x| thin(x)).count();
    hits * 100 / columns.len()
}

#[test]
fn a_snapshot_request_gets_the_next_frame_annotated_unless_the_camera_forbids_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_broker, port) = broker(dir.path());
    let (_sub, snapshots) = subscribe(port, &format!("tac/v1/cameras/{CAMERA}/snapshot"));
    let camera = common::RtspServer::start(&common::asset("clips/multilane_road_360p.mp4"), 0);
    let (agent, _intervals) = start_agent(&config(dir.path(), port, &camera.url));
    let asked = Instant::now();
    request(port, CAMERA, "r1");
    let answer = next_matching(&snapshots, Duration::from_secs(5), |v| v["request_id"] == "r1");
    eprintln!("snapshot answered {:?} after the request", asked.elapsed());
    assert_eq!(answer["outcome"], "taken");
    assert_eq!((answer["frame_width"].as_u64(), answer["annotated"].as_bool()), (Some(640), Some(true)));
    let picture = decoded(&answer);
    let drawn = red_columns_near(&picture, 200);
    let elsewhere = red_columns_near(&picture, 300);
    eprintln!("red along the line in {drawn} %, {elsewhere} % at y = 300");
    assert!(drawn >= 50, "the line is drawn in red along y = 200");
    assert!(elsewhere < 20, "red is where the line is, not everywhere");
    // A plain picture (what the dashboard's editor draws on) has nothing drawn.
    request_drawn(port, CAMERA, "r0", false);
    let plain = next_matching(&snapshots, Duration::from_secs(5), |v| v["request_id"] == "r0");
    assert_eq!((plain["outcome"].as_str(), plain["annotated"].as_bool()), (Some("taken"), Some(false)));
    let plain_red = red_columns_near(&decoded(&plain), 200);
    eprintln!("thin red along y = 200 on the plain picture: {plain_red} %");
    assert!(plain_red < 20, "no line on the plain picture");
    // A request for another camera on this camera's topic is refused.
    request(port, "cam-other", "r2");
    let other = next_matching(&snapshots, Duration::from_secs(5), |v| v["request_id"] == "r2");
    assert_eq!(other["outcome"], "refused");
    assert!(other["jpeg_base64"].is_null());
    drop(agent);

    // Privacy: the same camera with snapshots forbidden refuses, and sends no picture.
    let forbidden = config_with(dir.path(), port, &camera.url, "allow_snapshots = false");
    let (_agent, _intervals) = start_agent(&forbidden);
    request(port, CAMERA, "r3");
    let refused = next_matching(&snapshots, Duration::from_secs(5), |v| v["request_id"] == "r3");
    assert_eq!(refused["outcome"], "refused");
    assert!(refused["reason"].as_str().unwrap().contains("allow_snapshots = false"), "{refused}");
    assert!(refused["jpeg_base64"].is_null());
}

#[test]
fn pushed_geometry_is_applied_refused_or_superseded_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (_broker, port) = broker(dir.path());
    let (_acks_sub, acks) = subscribe(port, &format!("tac/v1/cameras/{CAMERA}/config/ack"));
    let camera = common::RtspServer::start(&common::asset("clips/multilane_road_360p.mp4"), 0);
    let mut agent = Killed(
        Command::new(env!("CARGO_BIN_EXE_edge-agent"))
            .args(["run", "--config", config(dir.path(), port, &camera.url).to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let intervals = lines_of(&mut agent.0);
    let counted_on = |v: &serde_json::Value| -> Vec<String> {
        v["interval"]["lines"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
    };
    // Counting with the file's line, frames arriving.
    next_matching(&intervals, Duration::from_secs(30), |v| {
        counted_on(v) == ["old"] && v["interval"]["frames"].as_u64() > Some(0)
    });
    let topic = format!("tac/v1/cameras/{CAMERA}/config");
    let version_of = |v: &serde_json::Value| v["version"].as_u64();

    // A newer valid push: accepted on arrival, applied at the interval boundary, the next
    // interval counts on its line.
    let sent = Instant::now();
    publish(port, &topic, &push(CAMERA, 2, "new", [600.0, 220.0]), true);
    let ack = next_matching(&acks, Duration::from_secs(5), |v| version_of(v) == Some(2));
    eprintln!("version 2 accepted {:?} after the push", sent.elapsed());
    assert_eq!((ack["outcome"].as_str(), ack["running_version"].as_u64()), (Some("accepted"), Some(0)));
    let ack = next_matching(&acks, Duration::from_secs(5), |v| version_of(v) == Some(2));
    eprintln!("version 2 applied {:?} after the push", sent.elapsed());
    assert_eq!((ack["outcome"].as_str(), ack["running_version"].as_u64()), (Some("applied"), Some(2)));
    next_matching(&intervals, Duration::from_secs(5), |v| counted_on(v) == ["new"]);

    // Older, foreign, invalid: refused with the field, counting goes on with version 2.
    publish(port, &topic, &push(CAMERA, 1, "older", [600.0, 230.0]), true);
    let older = next_matching(&acks, Duration::from_secs(5), |v| version_of(v) == Some(1));
    assert_eq!(older["outcome"], "rejected");
    assert_eq!(older["problems"][0]["path"], "version");
    publish(port, &topic, &push("cam-other", 3, "foreign", [600.0, 230.0]), true);
    let foreign = next_matching(&acks, Duration::from_secs(5), |v| version_of(v) == Some(3));
    assert_eq!(
        (foreign["outcome"].as_str(), foreign["problems"][0]["path"].as_str()),
        (Some("rejected"), Some("camera_id"))
    );
    publish(port, &topic, &push(CAMERA, 4, "dot", [126.0, 230.0]), true);
    let invalid = next_matching(&acks, Duration::from_secs(5), |v| version_of(v) == Some(4));
    assert_eq!(invalid["outcome"], "rejected");
    assert!(invalid["problems"].as_array().unwrap().iter().any(|p| p["path"] == "lines[0].b"), "{invalid}");
    assert_eq!(invalid["running_version"], 2);
    next_matching(&intervals, Duration::from_secs(5), |v| counted_on(v) == ["new"]);

    // A burst of 100: the agent ends on the last one, and answers every version.
    for v in 5..=104u64 {
        publish(port, &topic, &push(CAMERA, v, &format!("burst{v}"), [600.0, 150.0 + v as f32]), true);
    }
    let last =
        next_matching(&acks, Duration::from_secs(20), |v| version_of(v) == Some(104) && v["outcome"] == "applied");
    assert_eq!(last["running_version"], 104);
    next_matching(&intervals, Duration::from_secs(5), |v| counted_on(v) == ["burst104"]);
    assert!(agent.0.try_wait().unwrap().is_none(), "the agent never restarted");
}
