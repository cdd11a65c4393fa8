//! The `edge-agent` binary as a user runs it: the JSON contract, and bad input ending in
//! one clear line naming the cause, a non-zero exit status and no panic.
mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn edge_agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edge-agent")).args(args).output().expect("run edge-agent")
}

fn edge_agent_env(args: &[&str], key: &str, value: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edge-agent")).args(args).env(key, value).output().expect("run edge-agent")
}

/// Fails the test unless the run failed cleanly with one error line containing `needles`.
fn assert_clean_failure(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "should fail: {stderr}");
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("edge-agent: error:")).collect();
    assert_eq!(errors.len(), 1, "one error line expected: {stderr}");
    for n in needles {
        assert!(errors[0].contains(n), "{n:?} missing from {:?}", errors[0]);
    }
}

#[test]
fn count_json_follows_the_contract() {
    let clip = common::asset("clips/overhead_road_short.mp4");
    let out = edge_agent(&["count", "--source", clip.to_str().unwrap(), "--line", "mid:0,200,639,200", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(keys, vec!["frames", "lines", "seconds", "source"]);
    assert_eq!(v["frames"], 92);
    assert!((v["seconds"].as_f64().unwrap() - 3.83).abs() < 0.05, "{}", v["seconds"]);
    for dir in ["forward", "backward"] {
        let c = v["lines"]["mid"][dir].as_object().unwrap();
        let classes: Vec<&str> = c.keys().map(|k| k.as_str()).collect();
        assert_eq!(classes, vec!["bicycle", "bus", "car", "motorcycle", "truck"]);
    }
    let total: u64 = ["forward", "backward"]
        .iter()
        .flat_map(|d| v["lines"]["mid"][*d].as_object().unwrap().values().map(|n| n.as_u64().unwrap()))
        .sum();
    assert!(total > 0, "the dense overhead clip crosses the middle line: {v}");
}

#[test]
fn missing_file() {
    let out = edge_agent(&["count", "--source", "/no/such/clip.mp4", "--line", "l:0,1,10,1"]);
    assert_clean_failure(&out, &["/no/such/clip.mp4", "No such file"]);
}

#[test]
fn unreachable_rtsp() {
    let t = Instant::now();
    // Nothing listens on port 1 of the loopback address.
    let out = edge_agent(&["count", "--source", "rtsp://127.0.0.1:1/stream", "--line", "l:0,1,10,1"]);
    assert_clean_failure(&out, &["rtsp://127.0.0.1:1/stream", "connection refused at 127.0.0.1:1"]);
    assert!(t.elapsed() < Duration::from_secs(30), "took {:?}", t.elapsed());
}

#[test]
fn corrupt_mp4() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.mp4");
    let mut bytes = std::fs::read(common::asset("clips/overhead_road_short.mp4")).unwrap();
    bytes.truncate(20_000);
    for b in bytes.iter_mut().skip(100).step_by(7) {
        *b ^= 0x5a;
    }
    std::fs::write(&path, bytes).unwrap();
    let out = edge_agent(&["count", "--source", path.to_str().unwrap(), "--line", "l:0,1,10,1"]);
    assert_clean_failure(&out, &["broken.mp4"]);
}

#[test]
fn a_truncated_mp4_is_an_error_not_a_short_count() {
    // The first 200 kB of the clip: it decodes, then ends seconds into a 47.6 s container.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.mp4");
    let mut bytes = std::fs::read(common::asset("clips/multilane_road_360p.mp4")).unwrap();
    bytes.truncate(200_000);
    std::fs::write(&path, bytes).unwrap();
    let out = edge_agent(&["count", "--source", path.to_str().unwrap(), "--line", "l:0,200,639,200"]);
    assert_clean_failure(&out, &["cut.mp4", "container says 47.6 s", "truncated"]);
}

#[test]
fn model_with_the_wrong_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(common::asset("models/yolox_nano_416.onnx")).unwrap();
    bytes[5000] ^= 1;
    std::fs::write(dir.path().join("yolox_nano_416.onnx"), bytes).unwrap();
    let clip = common::asset("clips/overhead_road_short.mp4");
    let out = edge_agent_env(
        &["count", "--source", clip.to_str().unwrap(), "--line", "l:0,1,10,1"],
        "TRAFFIC_MODEL_DIR",
        dir.path().to_str().unwrap(),
    );
    assert_clean_failure(&out, &["sha256", "yolox_nano_416"]);
}

#[test]
fn malformed_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("camera.toml");
    // The clip exists (validate checks that), so the unknown field is the one problem.
    std::fs::write(dir.path().join("x.mp4"), b"").unwrap();
    std::fs::write(
        &path,
        "[camera]\nid = \"c1\"\nsource = \"x.mp4\"\n[[lines]]\nname = \"l\"\na = [0, 1]\nb = [10, 1]\nwidth = 3\n",
    )
    .unwrap();
    let out = edge_agent(&["validate", "--config", path.to_str().unwrap()]);
    assert_clean_failure(&out, &["camera.toml", "1 problem"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("lines[0].width") && stderr.contains("unknown field"), "{stderr}");

    // Every problem in one pass: two unknown fields, a wrong type, a missing clip.
    std::fs::write(
        &path,
        "[camera]\nid = \"c1\"\nsource = \"missing.mp4\"\ninterval_s = \"ten\"\n\
         [[lines]]\nname = \"l\"\na = [0, 1]\nb = [10, 1]\nwidth = 3\n[tracker]\nhigh_scor = 0.5\n",
    )
    .unwrap();
    let out = edge_agent(&["validate", "--config", path.to_str().unwrap()]);
    assert_clean_failure(&out, &["camera.toml", "4 problem"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for field in ["camera.interval_s", "lines[0].width", "tracker.high_scor", "camera.source"] {
        assert!(stderr.contains(&format!("camera.toml: {field}: ")), "{field} missing: {stderr}");
    }
    assert!(stderr.contains("missing.mp4: no such file"), "{stderr}");

    std::fs::write(&path, "[camera\nid = 1\n").unwrap();
    let out = edge_agent(&["validate", "--config", path.to_str().unwrap()]);
    assert_clean_failure(&out, &["camera.toml"]);

    let out = edge_agent(&["count", "--config", path.to_str().unwrap(), "--source", "x.mp4", "--line", "l:0,1,10,1"]);
    assert_clean_failure(&out, &["camera.toml"]);
}

#[test]
fn count_with_a_config_alone_counts_what_run_would_deploy() {
    let clip = common::asset("clips/overhead_road_short.mp4");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("camera.toml");
    let config = format!(
        "[camera]\nid = \"c1\"\nsource = {:?}\n[[lines]]\nname = \"mid\"\na = [0, 200]\nb = [639, 200]\n",
        clip.to_str().unwrap()
    );
    std::fs::write(&path, config).unwrap();
    let from_config = edge_agent(&["count", "--config", path.to_str().unwrap(), "--json"]);
    assert!(from_config.status.success(), "{}", String::from_utf8_lossy(&from_config.stderr));
    let from_flags =
        edge_agent(&["count", "--source", clip.to_str().unwrap(), "--line", "mid:0,200,639,200", "--json"]);
    assert!(from_flags.status.success(), "{}", String::from_utf8_lossy(&from_flags.stderr));
    let (a, b): (serde_json::Value, serde_json::Value) =
        (serde_json::from_slice(&from_config.stdout).unwrap(), serde_json::from_slice(&from_flags.stdout).unwrap());
    assert_eq!(a["lines"], b["lines"], "the config's line counts as the same line given by flag");
    assert_eq!(a["frames"], 92);
    // Lines given on the command line still replace the config's.
    let replaced =
        edge_agent(&["count", "--config", path.to_str().unwrap(), "--line", "other:0,100,639,100", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&replaced.stdout).unwrap();
    let names: Vec<&str> = v["lines"].as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(names, ["other"]);
}

#[test]
fn count_without_a_config_needs_a_source_and_a_line() {
    let out = edge_agent(&["count", "--source", "x.mp4"]);
    assert_clean_failure(&out, &["--line", "--config"]);
    let out = edge_agent(&["count", "--line", "l:0,1,10,1"]);
    assert_clean_failure(&out, &["--source", "--config"]);
}

#[test]
fn a_line_outside_the_picture_is_refused_not_counted_as_zero() {
    let clip = common::asset("clips/overhead_road_short.mp4");
    // Drawn on a 1080p main stream, run on this 640-px clip: it never meets the picture.
    let out = edge_agent(&["count", "--source", clip.to_str().unwrap(), "--line", "main:0,700,1919,700"]);
    assert_clean_failure(&out, &["--line main: A", "(0, 700) is outside the 640×", "--line main: B"]);
}

#[test]
fn malformed_line_argument() {
    let out = edge_agent(&["count", "--source", "x.mp4", "--line", "main:0,540,1919"]);
    assert_clean_failure(&out, &["--line", "main:0,540,1919"]);
}

#[test]
fn validate_accepts_the_shipped_sample_configs() {
    for name in ["multilane_road_360p.toml", "vn_intersection_1080p.toml"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs").join(name);
        let out = edge_agent(&["validate", "--config", path.to_str().unwrap()]);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let out = edge_agent(&["generate-config"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("example.toml");
    std::fs::write(&path, &out.stdout).unwrap();
    assert!(edge_agent(&["validate", "--config", path.to_str().unwrap()]).status.success());
    // Its sub-stream URL goes with coordinates for a sub-stream's frame, not the main one's.
    let example = edge_agent::config::AgentConfig::parse(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert!(example.camera.source.as_deref().is_some_and(|s| s.ends_with("/102")));
    let outside = edge_agent::fit::FrameFit::new(&example, None).check(640, 360);
    assert!(outside.is_empty(), "the example's shapes fit a 640×360 sub-stream: {outside:?}");
}
