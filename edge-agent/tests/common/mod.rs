//! Shared helpers for integration tests: asset paths and loaders.
#![allow(dead_code)]

use std::path::PathBuf;

use edge_agent::detect::{DetectSettings, OnnxDetector};
use edge_agent::frame::Frame;
use firmware_profiles::EdgeBoxProfile;
use models::Manifest;

/// The `[mqtt]` and `[outbox]` sections of an agent config for a test broker on `port`:
/// reports leave on the broker's PUBACK, the outbox lives in `<dir>/outbox`.
pub fn mqtt_and_outbox(dir: &std::path::Path, port: u16) -> String {
    format!(
        "[mqtt]\nhost = \"127.0.0.1\"\nport = {port}\nkeep_alive_s = 5\nack = \"broker\"\n[outbox]\ndir = \"{}\"\n",
        dir.join("outbox").display()
    )
}

pub fn asset(rel: &str) -> PathBuf {
    let p = edge_agent::assets::assets_dir().join(rel);
    assert!(p.is_file(), "missing asset {} (run `make setup`, or set TRAFFIC_ASSETS)", p.display());
    p
}

pub fn load_image(rel: &str) -> Frame {
    let img = image::open(asset(rel)).expect("decode image").to_rgb8();
    let (w, h) = img.dimensions();
    Frame::from_rgb(w, h, img.into_raw()).unwrap()
}

pub fn detector(model: &str) -> OnnxDetector {
    let manifest = Manifest::builtin(model).unwrap();
    let profile = EdgeBoxProfile::builtin("generic_x86").unwrap();
    OnnxDetector::load(&manifest, &edge_agent::assets::model_path(&manifest), &profile, DetectSettings::default())
        .expect("load detector")
}

/// A `clip-rtsp-server` child process serving one clip; killed on drop.
pub struct RtspServer {
    pub child: std::process::Child,
    pub url: String,
    pub port: u16,
}

impl RtspServer {
    /// Starts serving `clip` on `port` (0: any free port) and waits until it listens.
    pub fn start(clip: &std::path::Path, port: u16) -> RtspServer {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_clip-rtsp-server"))
            .args(["--clip", clip.to_str().unwrap(), "--port", &port.to_string()])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn clip-rtsp-server");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("server prints its URL");
        let url = line.trim().to_string();
        assert!(url.starts_with("rtsp://127.0.0.1:"), "server said {url:?}");
        let port = url.rsplit(':').next().unwrap().split('/').next().unwrap().parse().unwrap();
        RtspServer { child, url, port }
    }

    /// SIGKILL, as a crash or a pulled cable would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Score = 1 − Σ|counted − truth| / Σ truth over line × direction × class, with the
/// per-cell differences, from the hand-made ground truth JSON ("up" = backward).
pub fn score(
    groundtruth: &str,
    lines: &std::collections::BTreeMap<String, protocol::DirectionCounts>,
) -> (f64, Vec<String>) {
    let gt: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(asset(groundtruth)).unwrap()).unwrap();
    let (mut total, mut err, mut rows) = (0i64, 0i64, Vec::new());
    for line in gt["lines"].as_array().unwrap() {
        let name = line["name"].as_str().unwrap();
        for (dir, ours) in [("up", &lines[name].backward), ("down", &lines[name].forward)] {
            for class in protocol::VehicleClass::ALL {
                let truth = gt["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e["line"] == name && e["direction"] == dir && e["class"] == class.name())
                    .count() as i64;
                let counted = ours.get(class) as i64;
                total += truth;
                err += (counted - truth).abs();
                if truth > 0 || counted > 0 {
                    rows.push(format!("{name} {dir} {class}: truth {truth} counted {counted}"));
                }
            }
        }
    }
    (1.0 - err as f64 / total as f64, rows)
}
