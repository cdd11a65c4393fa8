//! A rogue client publishes every kind of bad message at central (real Mosquitto, real
//! central binary, PostgreSQL store): each is rejected and counted by reason in
//! `/metrics`, central keeps serving, the good report sent among them is stored once
//! and acknowledged to its agent, and the API serves it.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Central, Mosquitto, Postgres, Subscriber, metric};

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn report(camera: &str, agent: &str, end_ms: i64, seq: u64) -> String {
    format!(
        concat!(
            r#"{{"schema_version":"1.0","agent_id":"{agent}","epoch":77,"seq":{seq},"#,
            r#""camera_id":"{camera}","model":{{"id":"yolox_nano_416","sha256":"{sha}"}},"#,
            r#""interval":{{"start_ms":{start},"end_ms":{end_ms},"coverage":1.0,"fps":12.0,"frames":120,"#,
            r#""lines":{{"stop":{{"forward":{{"car":2,"motorcycle":9,"bus":0,"truck":1,"bicycle":0}},"#,
            r#""backward":{{"car":0,"motorcycle":1,"bus":0,"truck":0,"bicycle":0}}}}}},"zones":{{}},"#,
            r#""movements":[]}}}}"#,
        ),
        agent = agent,
        seq = seq,
        camera = camera,
        sha = "ab".repeat(32),
        start = end_ms - 10_000,
        end_ms = end_ms,
    )
}

fn publish(port: u16, topic: &str, payload: &[u8]) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), payload).unwrap();
    let out = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q", "1", "-t", topic, "-f", file.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "mosquitto_pub: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn every_bad_message_is_rejected_by_reason_and_good_data_survives() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path(), "");
    let pg = Postgres::start();
    let mut central =
        Central::start(dir.path(), broker.port, &format!("kind = \"postgres\"\nurl = \"{}\"", pg.url), "");
    central.wait_healthy(Duration::from_secs(20));

    let acks =
        Subscriber::start(broker.port, &["-q", "1", "-t", "tac/v1/cameras/cam-r/counts/ack", "-C", "2", "-W", "30"]);

    let topic = "tac/v1/cameras/cam-r/counts";
    let end = now_ms() - 1_000;
    let good = report("cam-r", "cam-r", end, 1);
    publish(broker.port, topic, good.as_bytes());
    publish(broker.port, topic, b"{\"schema_version\": \"1.0\", oops");
    publish(broker.port, topic, good.replace("\"1.0\"", "\"2.0\"").as_bytes());
    publish(broker.port, topic, &vec![b' '; 300 * 1024]);
    publish(broker.port, topic, good.replace("\"car\":2", "\"car\":-2").as_bytes());
    publish(broker.port, topic, report("cam-r", "cam-r", now_ms() + 3_600_000, 2).as_bytes());
    publish(broker.port, "tac/v1/cameras/cam-x/counts", good.as_bytes());
    publish(broker.port, topic, report("cam-r", "cam-evil", end, 3).as_bytes());
    publish(broker.port, topic, b"{}");
    // Redelivered copy of the good report.
    publish(broker.port, topic, good.as_bytes());

    let expected = [
        ("malformed", 1.0),
        ("unsupported_version", 1.0),
        ("too_large", 1.0),
        ("invalid", 1.0),
        ("future", 1.0),
        ("topic_mismatch", 2.0),
        ("no_version", 1.0),
    ];
    let t = Instant::now();
    let text = loop {
        let (_, text) = central.get("/metrics");
        if metric(&text, "central_duplicates_total") >= 1.0
            && expected
                .iter()
                .all(|(r, n)| metric(&text, &format!("central_messages_rejected_total{{reason=\"{r}\"}}")) >= *n)
        {
            break text;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "metrics never showed every rejection:\n{text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    for (reason, n) in expected {
        assert_eq!(metric(&text, &format!("central_messages_rejected_total{{reason=\"{reason}\"}}")), n, "{reason}");
    }
    assert_eq!(metric(&text, "central_messages_accepted_total"), 1.0);
    assert_eq!(metric(&text, "central_duplicates_total"), 1.0);
    assert!(metric(&text, "central_ingest_latency_seconds_count") >= 2.0, "{text}");

    // Still serving, the good report stored once and acked twice (stored, duplicate).
    assert!(central.is_running());
    assert_eq!(central.get("/healthz").0, 200);
    let out = acks.output();
    let outcomes: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(outcomes, ["stored", "duplicate"]);

    let (code, body) = central.get("/api/v1/cameras");
    assert_eq!(code, 200, "{body}");
    let cams: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(cams.as_array().unwrap().len(), 1, "only the good camera: {body}");
    assert_eq!(cams[0]["camera_id"], "cam-r");
    assert_eq!(cams[0]["intervals"], 1);

    let (code, body) = central.get(&format!("/api/v1/cameras/cam-r/counts?from={}&to={}", end - 20_000, end + 10_000));
    assert_eq!(code, 200, "{body}");
    let counts: serde_json::Value = serde_json::from_str(&body).unwrap();
    let intervals = counts["intervals"].as_array().unwrap();
    assert_eq!(intervals.len(), 1, "{body}");
    assert_eq!(
        (intervals[0]["agent_id"].as_str(), intervals[0]["epoch"].as_u64(), intervals[0]["seq"].as_u64()),
        (Some("cam-r"), Some(77), Some(1))
    );
    assert_eq!(intervals[0]["lines"]["stop"]["forward"]["motorcycle"], 9);
    // Before its first interval the camera did not exist, and the interval after it is
    // being counted now: neither is an outage.
    assert_eq!(counts["gaps"], serde_json::json!([]), "{body}");
    assert_eq!(counts["since_ms"], intervals[0]["start_ms"], "{body}");
    assert_eq!(counts["in_progress"]["start_ms"].as_i64(), Some(end), "{body}");
    // An unknown camera is a 404 with a JSON error, in the API and in the export.
    let (code, body) = central.get("/api/v1/cameras/nope/counts");
    assert_eq!(code, 404, "{body}");
    assert!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["error"].as_str().unwrap().contains("nope"));
    let (code, body) = central.get("/api/v1/export/counts?camera=nope");
    assert_eq!(code, 404, "{body}");

    let (code, body) = central.get("/api/v1/cameras/cam-r/counts?from=yesterday");
    assert_eq!(code, 400);
    assert!(body.contains("from"), "{body}");
    central.stop();
}
