//! The open-data export as another agency gets it (real central binary, SQLite store, real
//! Mosquitto): a camera placed in `[map]` with its road and line labels reports three
//! intervals (one minute missing between them). The CSV names the camera, its position,
//! road, interval length, unit and what each direction means; an anonymous download has
//! only all-vehicle totals (`class = all`, as `[export] public_classes` is off) equal to
//! the per-class sums a logged-in download has; the gap is a row without a count; an
//! unknown camera is a 404 on both routes. The data package descriptor, saved next to
//! the CSV, passes `frictionless validate` (installed by `scripts/setup.sh`).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{Central, Mosquitto, Subscriber, http_call, http_request};
use serde_json::{Value, json};

const CAMERA: &str = "cam-1";
const STEP_MS: i64 = 60_000;
const HEADER: &str = "kind,camera_id,camera_name,lat,lon,road,start,end,interval_s,coverage,line,direction,\
                      direction_label,class,count,unit";

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Counts per class for one direction, from a seed so each interval differs.
fn classes(seed: u32) -> Value {
    json!({"car": seed, "motorcycle": 3 * seed + 1, "bus": seed % 2, "truck": 1, "bicycle": 0})
}

fn report(seq: u64, start_ms: i64) -> String {
    let k = seq as u32;
    json!({
        "schema_version": "1.0", "agent_id": CAMERA, "epoch": 5, "seq": seq, "camera_id": CAMERA,
        "model": {"id": "yolox_nano_416", "sha256": "ab".repeat(32)},
        "interval": {
            "start_ms": start_ms, "end_ms": start_ms + STEP_MS, "coverage": 1.0, "fps": 12.0, "frames": 720,
            "lines": {
                "stopline": {"forward": classes(2 * k), "backward": classes(k + 4)},
                "exit": {"forward": classes(k), "backward": classes(0)}
            },
            "zones": {}, "movements": []
        }
    })
    .to_string()
}

/// CSV text as header → value maps, one per row.
fn records(csv_text: &str) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records().map(|rec| header.iter().cloned().zip(rec.unwrap().iter().map(String::from)).collect()).collect()
}

/// The `frictionless` command from the repository's Python environment.
fn frictionless() -> std::path::PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/frictionless");
    assert!(bin.exists(), "{} is missing: run scripts/setup.sh (it installs frictionless into .venv)", bin.display());
    bin
}

/// Saves `package` (its resource pointed at the local `counts.csv`) and `csv` in a folder
/// and runs `frictionless validate` on it: whether it exited 0, its JSON report, and all
/// it printed.
fn frictionless_validate(package: &Value, csv: &str) -> (bool, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut local = package.clone();
    local["resources"][0]["path"] = json!("counts.csv");
    std::fs::write(dir.path().join("datapackage.json"), serde_json::to_string_pretty(&local).unwrap()).unwrap();
    std::fs::write(dir.path().join("counts.csv"), csv).unwrap();
    let out = Command::new(frictionless())
        .args(["validate", "--json", "datapackage.json"])
        .current_dir(dir.path())
        .output()
        .expect("run frictionless");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {text}"));
    (out.status.success(), report, text)
}

fn assert_valid(package: &Value, csv: &str, what: &str) {
    let (exit_0, report, text) = frictionless_validate(package, csv);
    assert!(exit_0, "frictionless validate ({what}) failed:\n{text}");
    assert_eq!(report["valid"], true, "frictionless ({what}):\n{text}");
    assert_eq!(report["warnings"], json!([]), "frictionless ({what}):\n{text}");
}

#[test]
fn an_agency_downloads_counts_with_metadata_and_a_valid_data_package() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path(), "");
    let users = common::auth_users(&[("vera", "viewer", "view-pass-5521")]);
    let extra = format!(
        "[auth]\nlogin_per_minute = 30\n{users}\
         [map]\ntimezone = \"Asia/Ho_Chi_Minh\"\n\
         [[map.camera]]\nid = \"{CAMERA}\"\nname = \"Điện Biên Phủ × Đinh Tiên Hoàng\"\nlat = 10.7925\nlon = 106.699\n\
         road = \"Điện Biên Phủ\"\n\
         [map.camera.lines.stopline]\nforward_label = \"northbound\"\nbackward_label = \"towards Bến Thành\"\n\
         [export]\npublisher = \"Test Transport Department\"\n"
    );
    let central = Central::start(dir.path(), broker.port, "kind = \"sqlite\"\npath = \"c.db\"", &extra);
    central.wait_healthy(std::time::Duration::from_secs(20));
    let port = central.http_port;

    // Three intervals, the third a minute after the second ends: one gap between them.
    let t0 = now_ms() / STEP_MS * STEP_MS - 10 * STEP_MS;
    let starts = [t0, t0 + STEP_MS, t0 + 3 * STEP_MS];
    let (from, to) = (t0, t0 + 4 * STEP_MS);
    let acks = Subscriber::start(
        broker.port,
        &["-q", "1", "-t", &format!("tac/v1/cameras/{CAMERA}/counts/ack"), "-C", "3", "-W", "30"],
    );
    for (i, start) in starts.iter().enumerate() {
        common::mqtt_publish(broker.port, 1, &format!("tac/v1/cameras/{CAMERA}/counts"), &report(i as u64 + 1, *start));
    }
    // Central acknowledges a report only once it is committed.
    let out = acks.output();
    let outcomes: Vec<String> =
        out.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["outcome"].as_str().unwrap().into()).collect();
    assert_eq!(outcomes, ["stored", "stored", "stored"], "{out}");

    // An unknown camera: 404 (JSON) from both routes.
    for path in ["/api/v1/export/counts?camera=nobody", "/api/v1/export/datapackage.json?camera=nobody"] {
        let (code, _, body) = http_request(port, path, "");
        assert_eq!(code, 404, "{path}: {body}");
        assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string(), "{path}: {body}");
    }

    // Anonymous: totals over the classes only, with the camera's metadata on every row.
    let query = format!("camera={CAMERA}&from={from}&to={to}");
    let (code, head, anonymous) = http_request(port, &format!("/api/v1/export/counts?{query}"), "");
    assert_eq!(code, 200, "{head}\n{anonymous}");
    assert_eq!(anonymous.lines().next(), Some(HEADER));
    let rows = records(&anonymous);
    let (counts, gaps): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r["kind"] == "count");
    assert_eq!(counts.len(), 3 * 2 * 2, "interval × line × direction: {anonymous}");
    assert_eq!(gaps.len(), 1, "{anonymous}");
    for r in &rows {
        assert_eq!(
            (&*r["camera_id"], &*r["camera_name"], &*r["lat"], &*r["lon"], &*r["road"], &*r["interval_s"]),
            (CAMERA, "Điện Biên Phủ × Đinh Tiên Hoàng", "10.7925", "106.699", "Điện Biên Phủ", "60.0"),
            "{r:?}"
        );
    }
    assert!(counts.iter().all(|r| r["class"] == "all" && r["unit"] == "vehicles"), "{anonymous}");
    let label = |line: &str, direction: &str| {
        let r = counts.iter().find(|r| r["line"] == line && r["direction"] == direction).unwrap();
        r["direction_label"].clone()
    };
    assert_eq!(label("stopline", "forward"), "northbound");
    assert_eq!(label("stopline", "backward"), "towards Bến Thành");
    assert_eq!(label("exit", "forward"), "", "no label configured");
    let gap = gaps[0];
    assert_eq!((&*gap["count"], &*gap["class"], &*gap["unit"], &*gap["coverage"]), ("", "", "", "0.0"), "{gap:?}");
    let (code, _, json_rows) = http_request(port, &format!("/api/v1/export/counts?{query}&format=json"), "");
    assert_eq!(code, 200);
    let json_rows: Vec<Value> = serde_json::from_str(&json_rows).unwrap();
    assert!(json_rows.iter().filter(|r| r["kind"] == "count").all(|r| r["class"] == "all"), "{json_rows:?}");

    // A logged-in viewer: a row per class, summing to the anonymous totals.
    let (code, body) =
        http_call(port, "POST", "/api/v1/auth/login", "", r#"{"username":"vera","password":"view-pass-5521"}"#);
    assert_eq!(code, 200, "{body}");
    let token = serde_json::from_str::<Value>(&body).unwrap()["token"].as_str().unwrap().to_string();
    let bearer = format!("Authorization: Bearer {token}\r\n");
    let (code, _, logged_in) = http_request(port, &format!("/api/v1/export/counts?{query}"), &bearer);
    assert_eq!(code, 200, "{logged_in}");
    assert_eq!(logged_in.lines().next(), Some(HEADER));
    let per_class = records(&logged_in);
    let classes_seen: std::collections::BTreeSet<&str> =
        per_class.iter().filter(|r| r["kind"] == "count").map(|r| r["class"].as_str()).collect();
    assert_eq!(classes_seen, ["bicycle", "bus", "car", "motorcycle", "truck"].into(), "{logged_in}");
    assert_eq!(per_class.iter().filter(|r| r["kind"] == "count").count(), 3 * 2 * 2 * 5);
    let mut sums: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for r in per_class.iter().filter(|r| r["kind"] == "count") {
        *sums.entry((r["start"].clone(), r["line"].clone(), r["direction"].clone())).or_default() +=
            r["count"].parse::<u64>().unwrap();
    }
    let totals: BTreeMap<(String, String, String), u64> = counts
        .iter()
        .map(|r| ((r["start"].clone(), r["line"].clone(), r["direction"].clone()), r["count"].parse().unwrap()))
        .collect();
    assert_eq!(totals, sums);
    // Seq 1's stopline forward as published: car 2, motorcycle 7, bus 0, truck 1, bicycle 0.
    let first = counts.iter().find(|r| r["line"] == "stopline" && r["direction"] == "forward").unwrap();
    assert_eq!(first["count"], "10", "{first:?}");

    // The map names the road and the time zone.
    let (code, _, map) = http_request(port, "/api/v1/map", &bearer);
    assert_eq!(code, 200, "{map}");
    let map: Value = serde_json::from_str(&map).unwrap();
    assert_eq!((&map["timezone"], &map["cameras"][0]["road"]), (&json!("Asia/Ho_Chi_Minh"), &json!("Điện Biên Phủ")));

    // The data package: its resource is this export's CSV, relative to the descriptor.
    let (code, _, package) = http_request(port, &format!("/api/v1/export/datapackage.json?{query}"), "");
    assert_eq!(code, 200, "{package}");
    let package: Value = serde_json::from_str(&package).unwrap();
    assert_eq!(package["profile"], "tabular-data-package");
    assert_eq!(package["licenses"], json!([{"name": "CC-BY-4.0"}]));
    assert_eq!(package["contributors"][0]["title"], "Test Transport Department");
    let resource = &package["resources"][0];
    let fields: Vec<&str> =
        resource["schema"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(fields.join(","), HEADER);
    let path = resource["path"].as_str().unwrap();
    assert_eq!(path, format!("counts?{query}&format=csv"));
    let (code, _, linked) = http_request(port, &format!("/api/v1/export/{path}"), "");
    assert_eq!((code, linked.as_str()), (200, anonymous.as_str()), "the package's path is the anonymous CSV");
    assert_valid(&package, &anonymous, "anonymous totals with a gap");
    assert_valid(&package, &logged_in, "per class");
    // The check is real: an unknown class and a count that is not an integer are refused.
    let mut lines: Vec<String> = logged_in.lines().map(String::from).collect();
    let class = fields.iter().position(|f| *f == "class").unwrap();
    for (row, (column, value)) in [(1, (class, "scooter")), (2, (class + 1, "ten"))] {
        let mut values: Vec<&str> = lines[row].split(',').collect();
        values[column] = value;
        lines[row] = values.join(",");
    }
    let (exit_0, report, text) = frictionless_validate(&package, &(lines.join("\n") + "\n"));
    assert!(!exit_0 && report["valid"] == false, "a broken CSV passed:\n{text}");
    let errors: Vec<&str> =
        report["tasks"][0]["errors"].as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(errors, ["constraint-error", "type-error"], "{text}");
}
