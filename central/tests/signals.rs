//! Closed loop without a simulator, all real processes: count reports from four
//! approach cameras → central forecasts demand → retimes the sample junction → publishes
//! a signed plan → `junction-agent` verifies, runs and acknowledges it → central's
//! API shows the plan, the ack and the junction's status. An operator override needs the
//! bearer token, is validated (an unsafe one is refused with the violation) and reaches
//! the junction.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{Central, Mosquitto, mqtt_publish, plan_key, sample_junction};

fn post(port: u16, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\
            Connection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let code = buf.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, buf.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

fn report(camera: &str, seq: u64, motorcycles: u32) -> String {
    // The last complete 5-minute step: forecasts start from complete steps only.
    let end = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 / 300_000
        * 300_000;
    serde_json::json!({
        "schema_version": "1.0", "agent_id": camera, "epoch": 1, "seq": seq, "camera_id": camera,
        "model": {"id": "yolox_nano_416", "sha256": "cd".repeat(32)},
        "interval": {"start_ms": end - 300_000, "end_ms": end, "coverage": 1.0, "fps": 10.0, "frames": 3000,
            "lines": {"stopline": {"forward": {"car": 5, "motorcycle": motorcycles, "bus": 0, "truck": 0, "bicycle": 0},
                                   "backward": {"car": 0, "motorcycle": 0, "bus": 0, "truck": 0, "bicycle": 0}}},
            "zones": {}, "movements": []}
    })
    .to_string()
}

fn wait_json(
    central: &Central,
    path: &str,
    what: &str,
    limit: Duration,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let t = Instant::now();
    loop {
        let (code, body) = central.get(path);
        if code == 200
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&body)
            && ok(&v)
        {
            return v;
        }
        assert!(t.elapsed() < limit, "{what}: last {path} → {code} {body}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn counts_become_signed_plans_that_the_junction_runs_and_overrides_need_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path(), "");
    let public = plan_key(dir.path());
    // SAFETY: set before any thread of this test binary reads the environment.
    unsafe { std::env::set_var("TAC_TEST_OVERRIDE_TOKEN", "s3cret") };
    let signals = "[signals]\njunctions = [\"hcmc_sample_4arm\"]\nsigning_key_file = \"plan.key\"\n\
        key_id = \"central-test\"\nretime_every_s = 10\noverride_token_env = \"TAC_TEST_OVERRIDE_TOKEN\"\n";
    let central = Central::start(dir.path(), broker.port, "kind = \"sqlite\"\npath = \"c.db\"", signals);
    central.wait_healthy(Duration::from_secs(20));
    let _junction = sample_junction(broker.port, &public);
    // Heavy north-south, light east-west.
    for (seq, (camera, bikes)) in [("cam-n", 600), ("cam-s", 560), ("cam-e", 30), ("cam-w", 25)].into_iter().enumerate()
    {
        let topic = format!("tac/v1/cameras/{camera}/counts");
        mqtt_publish(broker.port, 1, &topic, &report(camera, seq as u64 + 1, bikes));
    }
    let v = wait_json(
        &central,
        "/api/v1/junctions/hcmc_sample_4arm",
        "plan issued, accepted and running",
        Duration::from_secs(60),
        |v| {
            v["acks"].as_array().is_some_and(|a| a.iter().any(|a| a["outcome"] == "accepted"))
                && v["status"]["source"] == "central"
        },
    );
    let greens = v["issued"]["plan"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["green_ms"].as_u64().unwrap())
        .collect::<Vec<_>>();
    assert!(greens[0] > greens[2], "north-south through gets more green than east-west: {greens:?}");
    assert_eq!(v["status"]["version"], v["issued"]["plan"]["version"]);

    let body = r#"{"greens_ms": [45000, 10000, 25000], "duration_s": 600}"#;
    assert_eq!(post(central.http_port, "/api/v1/junctions/hcmc_sample_4arm/override", None, body).0, 401);
    assert_eq!(post(central.http_port, "/api/v1/junctions/hcmc_sample_4arm/override", Some("wrong"), body).0, 401);
    let (code, text) = post(
        central.http_port,
        "/api/v1/junctions/hcmc_sample_4arm/override",
        Some("s3cret"),
        r#"{"greens_ms": [45000, 10000, 5000], "duration_s": 600}"#,
    );
    assert_eq!(code, 422, "an override too short for the crossing's pedestrians is refused: {text}");
    assert!(text.contains("unsafe"), "{text}");
    assert_eq!(post(central.http_port, "/api/v1/junctions/hcmc_sample_4arm/override", Some("s3cret"), body).0, 202);
    let v = wait_json(
        &central,
        "/api/v1/junctions/hcmc_sample_4arm",
        "override running at the junction",
        Duration::from_secs(60),
        |v| v["status"]["plan_id"] == "operator-override",
    );
    assert_eq!(v["status"]["greens_ms"][0], 45_000);
}
